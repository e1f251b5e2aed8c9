/* ref_exec.c — the reference executor: each operator of NN_OP_MAP as plain C loops.
 *
 * Operator semantics follow the ONNX specification (onnx/docs/Operators.md, opsets 9–13)
 * as graph.h prescribes: NCHW activations, numpy broadcasting, Conv weights
 * [O, I/group, kH, kW], Slice clamping, Softmax over one axis (opset 13). Conv, Gemm,
 * the pools' averages, Softmax, BatchNormalization and the reductions accumulate in
 * double, so this executor is a tighter oracle than any float kernel it checks.
 *
 * Every shape is computed here from the operands (not by nn_graph_infer_shapes) and
 * checked: an op given shapes it cannot take fails with MIEN_ERR_SHAPE naming the node.
 * Conv loops are ordered (output plane, input channel, tap, row, column) so the inner
 * loop is a contiguous row: MobileFaceNet at 112×112 takes a fraction of a second.
 */
#include "nn/ref_exec.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* Everything one operator needs: the node, its operands and where its output goes. */
typedef struct op_ctx {
    const nn_graph *g;
    const nn_node *n;
    const nn_shape *sh;    /* [n->n_inputs] input shapes */
    const void *const *in; /* [n->n_inputs] input data, NULL when absent */
    const nn_dtype *dt;    /* [n->n_inputs] input dtypes */
    nn_shape *out_shape;   /* output 0 */
    void **out;
    nn_dtype *out_dtype;
    mien_error *err;
} op_ctx;

/* Fills err with "node 'name' (Op): message" and returns code. */
static mien_status fail(const op_ctx *c, mien_status code, const char *fmt, ...)
    BASE_PRINTF(3, 4);

static mien_status fail(const op_ctx *c, mien_status code, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return base_error_set(c->err, code, "node '%s' (%s): %s",
                          c->n->name != NULL ? c->n->name : "?", nn_op_name(c->n->op), msg);
}

/* Elements of a shape, or -1 when a dim is negative or the product overflows. */
static int64_t elems_of(const nn_shape *s)
{
    if (s->rank < 0 || s->rank > NN_MAX_RANK) {
        return -1;
    }
    return nn_dims_elems_within(s->rank, s->dims, INT64_MAX);
}

/* Product of dims[from, to). Shapes were checked by elems_of, so it cannot overflow. */
static int64_t dims_prod(const nn_shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) {
        p *= s->dims[i];
    }
    return p;
}

/* Allocates output 0 with shape s and dtype dt. */
static mien_status out_alloc(const op_ctx *c, const nn_shape *s, nn_dtype dt)
{
    int64_t count = elems_of(s);
    size_t esz = nn_dtype_size(dt);
    if (count < 0 || (uint64_t)count > SIZE_MAX / 2 / esz) {
        return fail(c, MIEN_ERR_SHAPE, "output is too large");
    }
    *c->out = malloc(count > 0 ? (size_t)count * esz : 1);
    if (*c->out == NULL) {
        return fail(c, MIEN_ERR_NOMEM, "out of memory for the output");
    }
    *c->out_shape = *s;
    *c->out_dtype = dt;
    return MIEN_OK;
}

/* True when input k is present. */
static bool has_in(const op_ctx *c, int k)
{
    return k < c->n->n_inputs && c->n->inputs[k] >= 0 && c->in[k] != NULL;
}

/* Checks that inputs [0, count) are present and, when f32, of dtype F32. */
static mien_status need(const op_ctx *c, int count, bool f32)
{
    for (int k = 0; k < count; k++) {
        if (!has_in(c, k)) {
            return fail(c, MIEN_ERR_SHAPE, "input %d is missing", k);
        }
        if (f32 && c->dt[k] != NN_F32) {
            return fail(c, MIEN_ERR_UNSUPPORTED, "input %d must be float32", k);
        }
    }
    return MIEN_OK;
}

static bool is_int(nn_dtype dt)
{
    return dt == NN_I64 || dt == NN_I32;
}

/* Element i of an integer tensor as int64. */
static int64_t load_int(const void *p, nn_dtype dt, int64_t i)
{
    return dt == NN_I32 ? ((const int32_t *)p)[i] : ((const int64_t *)p)[i];
}

static void store_int(void *p, nn_dtype dt, int64_t i, int64_t v)
{
    if (dt == NN_I32) {
        ((int32_t *)p)[i] = (int32_t)v;
    } else {
        ((int64_t *)p)[i] = v;
    }
}

/* Reads input k, a 0-D or 1-D integer tensor of at most `max` elements, into vals. */
static mien_status read_ints(const op_ctx *c, int k, int64_t *vals, int max, int *count)
{
    int64_t m;
    if (!has_in(c, k) || !is_int(c->dt[k]) || c->sh[k].rank > 1) {
        return fail(c, MIEN_ERR_SHAPE, "input %d must be a 1-D integer tensor", k);
    }
    m = elems_of(&c->sh[k]);
    if (m < 0 || m > max) {
        return fail(c, MIEN_ERR_SHAPE, "input %d has too many entries", k);
    }
    for (int64_t i = 0; i < m; i++) {
        vals[i] = load_int(c->in[k], c->dt[k], i);
    }
    *count = (int)m;
    return MIEN_OK;
}

/* Normalises a possibly negative axis against rank; false when out of [0, rank). */
static bool norm_axis(int64_t axis, int rank, int *out)
{
    if (axis < 0) {
        axis += rank;
    }
    if (axis < 0 || axis >= rank) {
        return false;
    }
    *out = (int)axis;
    return true;
}

/* Copies the elements of an `out`-shaped view of src (element i of dim d advancing the
 * source by st[d] elements, starting at element `base`) into dst, row-major. */
static void strided_copy(void *dst, const void *src, size_t esz, const nn_shape *out,
                         int64_t base, const int64_t *st)
{
    int64_t idx[NN_MAX_RANK] = {0};
    int64_t total = elems_of(out), off = base;
    int r = out->rank;
    for (int64_t i = 0; i < total; i++) {
        if (esz == 8) {
            ((uint64_t *)dst)[i] = ((const uint64_t *)src)[off];
        } else {
            ((uint32_t *)dst)[i] = ((const uint32_t *)src)[off];
        }
        for (int d = r - 1; d >= 0; d--) {
            idx[d]++;
            off += st[d];
            if (idx[d] < out->dims[d]) {
                break;
            }
            off -= st[d] * out->dims[d];
            idx[d] = 0;
        }
    }
}

/* Applies a fused activation to y[count]. */
static void apply_act(const nn_attrs *a, float *y, int64_t count)
{
    if (a->act == NN_ACT_RELU) {
        for (int64_t i = 0; i < count; i++) {
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        }
    } else if (a->act == NN_ACT_CLIP) {
        for (int64_t i = 0; i < count; i++) {
            y[i] = y[i] < a->act_min ? a->act_min : (y[i] > a->act_max ? a->act_max : y[i]);
        }
    }
}

/* ceil(a / b) and floor(a / b) for b > 0 and any sign of a. */
static int64_t div_ceil(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static int64_t div_floor(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- Conv, Gemm, pools, BatchNormalization ---------------------------------------------- */

/* Fills the defaults of a Conv/Pool's attributes: stride and dilation 1. */
static void conv_defaults(nn_attrs *a)
{
    for (int d = 0; d < 2; d++) {
        a->stride[d] = a->stride[d] > 0 ? a->stride[d] : 1;
        a->dilation[d] = a->dilation[d] > 0 ? a->dilation[d] : 1;
    }
}

/* Allocates the NCHW output of a Conv or pool over c's first input with `channels` output
 * channels after filling a's defaults: *ys its shape, pads[4] the padding (nn_conv_geometry).
 * MIEN_ERR_SHAPE when the input is smaller than the window. */
static mien_status window_out(const op_ctx *c, nn_attrs *a, int64_t channels, int64_t pads[4],
                              nn_shape *ys)
{
    const nn_shape *xs = &c->sh[0];
    int64_t in_hw[2] = {xs->dims[2], xs->dims[3]}, out_hw[2];
    conv_defaults(a);
    if (nn_conv_geometry(a, in_hw, pads, out_hw) != MIEN_OK) {
        return fail(c, MIEN_ERR_SHAPE, "input %lldx%lld is smaller than the kernel",
                    (long long)in_hw[0], (long long)in_hw[1]);
    }
    ys->rank = 4;
    ys->dims[0] = xs->dims[0], ys->dims[1] = channels;
    ys->dims[2] = out_hw[0], ys->dims[3] = out_hw[1];
    return out_alloc(c, ys, NN_F32);
}

static mien_status op_conv(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0], *ws = &c->sh[1];
    const float *x, *w, *b = NULL;
    nn_attrs a = c->n->a;
    int64_t group = a.group > 0 ? a.group : 1;
    int64_t N, C, H, W, O, CG, KH, KW, OG, OH, OW, pads[4];
    nn_shape ys;
    double *acc;
    float *y;
    mien_status s = need(c, 2, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (xs->rank != 4 || ws->rank != 4) {
        return fail(c, MIEN_ERR_SHAPE, "input and weights must be 4-D (NCHW, OIHW)");
    }
    N = xs->dims[0], C = xs->dims[1], H = xs->dims[2], W = xs->dims[3];
    O = ws->dims[0], CG = ws->dims[1], KH = ws->dims[2], KW = ws->dims[3];
    if (C != CG * group || O % group != 0 || KH <= 0 || KW <= 0 || O <= 0) {
        return fail(c, MIEN_ERR_SHAPE, "weights [%lld,%lld,%lld,%lld] do not fit %lld "
                    "input channels in %lld groups", (long long)O, (long long)CG,
                    (long long)KH, (long long)KW, (long long)C, (long long)group);
    }
    if ((a.kernel[0] > 0 && a.kernel[0] != KH) || (a.kernel[1] > 0 && a.kernel[1] != KW)) {
        return fail(c, MIEN_ERR_SHAPE, "kernel attribute differs from the weights");
    }
    if (has_in(c, 2)) {
        if (c->dt[2] != NN_F32 || elems_of(&c->sh[2]) != O) {
            return fail(c, MIEN_ERR_SHAPE, "bias must have %lld float elements", (long long)O);
        }
        b = c->in[2];
    }
    a.kernel[0] = KH;
    a.kernel[1] = KW;
    if ((s = window_out(c, &a, O, pads, &ys)) != MIEN_OK) {
        return s;
    }
    OH = ys.dims[2], OW = ys.dims[3];
    acc = malloc((size_t)(OH * OW > 0 ? OH * OW : 1) * sizeof(*acc));
    if (acc == NULL) {
        free(*c->out);
        *c->out = NULL;
        return fail(c, MIEN_ERR_NOMEM, "out of memory for the accumulator");
    }
    x = c->in[0], w = c->in[1], y = *c->out;
    OG = O / group;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t o = 0; o < O; o++) {
            int64_t gi = o / OG;
            double init = b != NULL ? b[o] : 0.0;
            for (int64_t i = 0; i < OH * OW; i++) {
                acc[i] = init;
            }
            for (int64_t ic = 0; ic < CG; ic++) {
                const float *xp = x + ((n * C + gi * CG + ic) * H) * W;
                const float *wk = w + ((o * CG + ic) * KH) * KW;
                for (int64_t ky = 0; ky < KH; ky++) {
                    for (int64_t kx = 0; kx < KW; kx++) {
                        double wv = wk[ky * KW + kx];
                        int64_t shift = kx * a.dilation[1] - pads[1];
                        int64_t lo = div_ceil(-shift, a.stride[1]);
                        int64_t hi = div_floor(W - 1 - shift, a.stride[1]) + 1;
                        lo = lo < 0 ? 0 : lo;
                        hi = hi > OW ? OW : hi;
                        for (int64_t oy = 0; oy < OH; oy++) {
                            int64_t iy = oy * a.stride[0] - pads[0] + ky * a.dilation[0];
                            const float *row;
                            double *arow;
                            if (iy < 0 || iy >= H) {
                                continue;
                            }
                            row = xp + iy * W;
                            arow = acc + oy * OW;
                            for (int64_t ox = lo; ox < hi; ox++) {
                                arow[ox] += wv * row[ox * a.stride[1] + shift];
                            }
                        }
                    }
                }
            }
            for (int64_t i = 0; i < OH * OW; i++) {
                y[(n * O + o) * OH * OW + i] = (float)acc[i];
            }
        }
    }
    free(acc);
    return MIEN_OK;
}

static mien_status op_gemm(const op_ctx *c)
{
    const nn_shape *as = &c->sh[0], *bs = &c->sh[1];
    const nn_attrs *a = &c->n->a;
    const float *A, *B, *Cc = NULL;
    int64_t M, K, Kb, N, cM = 1, cN = 1;
    nn_shape ys;
    float *y;
    mien_status s = need(c, 2, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (as->rank != 2 || bs->rank != 2) {
        return fail(c, MIEN_ERR_SHAPE, "operands must be 2-D");
    }
    M = a->trans_a ? as->dims[1] : as->dims[0];
    K = a->trans_a ? as->dims[0] : as->dims[1];
    Kb = a->trans_b ? bs->dims[1] : bs->dims[0];
    N = a->trans_b ? bs->dims[0] : bs->dims[1];
    if (K != Kb) {
        return fail(c, MIEN_ERR_SHAPE, "inner dimensions differ (%lld vs %lld)", (long long)K,
                    (long long)Kb);
    }
    if (has_in(c, 2)) {
        const nn_shape *cs = &c->sh[2];
        if (c->dt[2] != NN_F32 || cs->rank > 2) {
            return fail(c, MIEN_ERR_SHAPE, "C must be a float tensor of rank <= 2");
        }
        cM = cs->rank == 2 ? cs->dims[0] : 1;
        cN = cs->rank >= 1 ? cs->dims[cs->rank - 1] : 1;
        if ((cM != 1 && cM != M) || (cN != 1 && cN != N)) {
            return fail(c, MIEN_ERR_SHAPE, "C does not broadcast to [%lld,%lld]", (long long)M,
                        (long long)N);
        }
        Cc = c->in[2];
    }
    ys.rank = 2;
    ys.dims[0] = M, ys.dims[1] = N;
    s = out_alloc(c, &ys, NN_F32);
    if (s != MIEN_OK) {
        return s;
    }
    A = c->in[0], B = c->in[1], y = *c->out;
    for (int64_t m = 0; m < M; m++) {
        for (int64_t j = 0; j < N; j++) {
            double sum = 0.0, v;
            for (int64_t k = 0; k < K; k++) {
                double av = a->trans_a ? A[k * M + m] : A[m * K + k];
                double bv = a->trans_b ? B[j * K + k] : B[k * N + j];
                sum += av * bv;
            }
            v = (double)a->alpha * sum;
            if (Cc != NULL) {
                v += (double)a->beta * Cc[(cM == 1 ? 0 : m) * cN + (cN == 1 ? 0 : j)];
            }
            y[m * N + j] = (float)v;
        }
    }
    return MIEN_OK;
}

static mien_status op_pool(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    nn_attrs a = c->n->a;
    bool is_max = c->n->op == NN_OP_MAXPOOL;
    int64_t N, C, H, W, OH, OW, pads[4];
    const float *x;
    float *y;
    nn_shape ys;
    mien_status s = need(c, 1, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (xs->rank != 4) {
        return fail(c, MIEN_ERR_SHAPE, "input must be 4-D NCHW");
    }
    if (a.kernel[0] <= 0 || a.kernel[1] <= 0) {
        return fail(c, MIEN_ERR_SHAPE, "kernel size is not set");
    }
    N = xs->dims[0], C = xs->dims[1], H = xs->dims[2], W = xs->dims[3];
    if ((s = window_out(c, &a, C, pads, &ys)) != MIEN_OK) {
        return s;
    }
    OH = ys.dims[2], OW = ys.dims[3];
    x = c->in[0], y = *c->out;
    for (int64_t p = 0; p < N * C; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oy = 0; oy < OH; oy++) {
            for (int64_t ox = 0; ox < OW; ox++) {
                double best = -INFINITY, sum = 0.0;
                int64_t valid = 0, padded = 0;
                for (int64_t ky = 0; ky < a.kernel[0]; ky++) {
                    int64_t iy = oy * a.stride[0] - pads[0] + ky * a.dilation[0];
                    for (int64_t kx = 0; kx < a.kernel[1]; kx++) {
                        int64_t ix = ox * a.stride[1] - pads[1] + kx * a.dilation[1];
                        double v;
                        if (iy >= -pads[0] && iy < H + pads[2] && ix >= -pads[1] &&
                            ix < W + pads[3]) {
                            padded++;
                        }
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                            continue;
                        }
                        v = xp[iy * W + ix];
                        best = v > best ? v : best;
                        sum += v;
                        valid++;
                    }
                }
                if (is_max) {
                    y[(p * OH + oy) * OW + ox] = (float)best;
                } else {
                    int64_t div = a.count_include_pad ? padded : valid;
                    y[(p * OH + oy) * OW + ox] = div > 0 ? (float)(sum / (double)div) : 0.0f;
                }
            }
        }
    }
    return MIEN_OK;
}

static mien_status op_batchnorm(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int64_t C, inner, outer;
    const float *x, *sc, *bi, *mean, *var;
    float *y;
    mien_status s = need(c, 5, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (xs->rank < 2) {
        return fail(c, MIEN_ERR_SHAPE, "input must have a channel dimension");
    }
    C = xs->dims[1];
    for (int k = 1; k < 5; k++) {
        if (elems_of(&c->sh[k]) != C) {
            return fail(c, MIEN_ERR_SHAPE, "parameter %d must have %lld elements", k,
                        (long long)C);
        }
    }
    s = out_alloc(c, xs, NN_F32);
    if (s != MIEN_OK) {
        return s;
    }
    x = c->in[0], sc = c->in[1], bi = c->in[2], mean = c->in[3], var = c->in[4];
    y = *c->out;
    outer = xs->dims[0];
    inner = dims_prod(xs, 2, xs->rank);
    for (int64_t n = 0; n < outer; n++) {
        for (int64_t ch = 0; ch < C; ch++) {
            double k = sc[ch] / sqrt((double)var[ch] + (double)c->n->a.epsilon);
            double off = bi[ch] - mean[ch] * k;
            const float *xp = x + (n * C + ch) * inner;
            float *yp = y + (n * C + ch) * inner;
            for (int64_t i = 0; i < inner; i++) {
                yp[i] = (float)(xp[i] * k + off);
            }
        }
    }
    return MIEN_OK;
}

/* ---- elementwise ------------------------------------------------------------------------ */

static mien_status op_unary(const op_ctx *c)
{
    const float *x;
    float *y;
    int64_t count;
    float lo = c->n->a.clip_min, hi = c->n->a.clip_max;
    mien_status s = need(c, 1, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (c->n->op == NN_OP_CLIP) {
        /* opset 11+: min/max may come as optional scalar inputs */
        for (int k = 1; k <= 2; k++) {
            if (has_in(c, k)) {
                if (c->dt[k] != NN_F32 || elems_of(&c->sh[k]) != 1) {
                    return fail(c, MIEN_ERR_SHAPE, "min/max must be float scalars");
                }
                *(k == 1 ? &lo : &hi) = *(const float *)c->in[k];
            }
        }
    }
    s = out_alloc(c, &c->sh[0], NN_F32);
    if (s != MIEN_OK) {
        return s;
    }
    x = c->in[0], y = *c->out;
    count = elems_of(&c->sh[0]);
    switch (c->n->op) {
    case NN_OP_RELU:
        for (int64_t i = 0; i < count; i++) {
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        }
        break;
    case NN_OP_CLIP:
        for (int64_t i = 0; i < count; i++) {
            y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
        }
        break;
    case NN_OP_NEG:
        for (int64_t i = 0; i < count; i++) {
            y[i] = -x[i];
        }
        break;
    case NN_OP_ABS:
        for (int64_t i = 0; i < count; i++) {
            y[i] = fabsf(x[i]);
        }
        break;
    case NN_OP_EXP:
        for (int64_t i = 0; i < count; i++) {
            y[i] = (float)exp((double)x[i]);
        }
        break;
    case NN_OP_IDENTITY:
    default:
        memcpy(y, x, (size_t)count * sizeof(*y));
        break;
    }
    return MIEN_OK;
}

/* Numpy broadcast of a and b into out; sa/sb receive per-out-dim element strides of a
 * and b (0 along broadcast dims). False when the shapes do not broadcast. */
static bool bcast_setup(const nn_shape *a, const nn_shape *b, nn_shape *out, int64_t *sa,
                        int64_t *sb)
{
    int64_t st_a[NN_MAX_RANK], st_b[NN_MAX_RANK];
    int r = a->rank > b->rank ? a->rank : b->rank;
    nn_shape_strides(a, st_a);
    nn_shape_strides(b, st_b);
    out->rank = r;
    for (int d = 0; d < r; d++) {
        int da = d - (r - a->rank), db = d - (r - b->rank);
        int64_t xa = da >= 0 ? a->dims[da] : 1, xb = db >= 0 ? b->dims[db] : 1;
        if (xa != xb && xa != 1 && xb != 1) {
            return false;
        }
        out->dims[d] = xa == 1 ? xb : xa;
        sa[d] = xa == 1 ? 0 : st_a[da];
        sb[d] = xb == 1 ? 0 : st_b[db];
    }
    return true;
}

/* y = a (op) b over a broadcast float shape; PRELU means a < 0 ? a * b : a. */
static void bcast_f32(nn_op op, const float *a, const int64_t *sa, const float *b,
                      const int64_t *sb, float *y, const nn_shape *out)
{
    int r = out->rank;
    int64_t inner = r > 0 ? out->dims[r - 1] : 1;
    int64_t ia = r > 0 ? sa[r - 1] : 0, ib = r > 0 ? sb[r - 1] : 0;
    int64_t total = elems_of(out), outer, idx[NN_MAX_RANK] = {0}, offa = 0, offb = 0;
    if (total == 0) {
        return;
    }
    outer = total / inner;
    for (int64_t o = 0; o < outer; o++) {
        const float *pa = a + offa, *pb = b + offb;
        switch (op) {
        case NN_OP_ADD:
            for (int64_t i = 0; i < inner; i++) {
                y[i] = pa[i * ia] + pb[i * ib];
            }
            break;
        case NN_OP_SUB:
            for (int64_t i = 0; i < inner; i++) {
                y[i] = pa[i * ia] - pb[i * ib];
            }
            break;
        case NN_OP_MUL:
            for (int64_t i = 0; i < inner; i++) {
                y[i] = pa[i * ia] * pb[i * ib];
            }
            break;
        case NN_OP_DIV:
            for (int64_t i = 0; i < inner; i++) {
                y[i] = pa[i * ia] / pb[i * ib];
            }
            break;
        case NN_OP_PRELU:
        default:
            for (int64_t i = 0; i < inner; i++) {
                float v = pa[i * ia];
                y[i] = v < 0.0f ? v * pb[i * ib] : v;
            }
            break;
        }
        y += inner;
        for (int d = r - 2; d >= 0; d--) {
            idx[d]++;
            offa += sa[d];
            offb += sb[d];
            if (idx[d] < out->dims[d]) {
                break;
            }
            offa -= sa[d] * out->dims[d];
            offb -= sb[d] * out->dims[d];
            idx[d] = 0;
        }
    }
}

/* Add/Sub/Mul/Div (float, or integer for shape arithmetic) and PRelu. */
static mien_status op_binary(const op_ctx *c)
{
    int64_t sa[NN_MAX_RANK], sb[NN_MAX_RANK];
    nn_shape ys;
    bool prelu = c->n->op == NN_OP_PRELU;
    mien_status s = need(c, 2, false);
    if (s != MIEN_OK) {
        return s;
    }
    if (c->dt[0] != c->dt[1] || (prelu && c->dt[0] != NN_F32)) {
        return fail(c, MIEN_ERR_UNSUPPORTED, "operand dtypes differ or are not supported");
    }
    if (!bcast_setup(&c->sh[0], &c->sh[1], &ys, sa, sb)) {
        return fail(c, MIEN_ERR_SHAPE, "operands cannot be broadcast together");
    }
    if (prelu && elems_of(&ys) != elems_of(&c->sh[0])) {
        return fail(c, MIEN_ERR_SHAPE, "slope does not broadcast to the input");
    }
    if (prelu) {
        ys = c->sh[0];
    }
    s = out_alloc(c, &ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    if (c->dt[0] == NN_F32) {
        bcast_f32(c->n->op, c->in[0], sa, c->in[1], sb, *c->out, &ys);
        return MIEN_OK;
    }
    /* integer shape arithmetic: tiny tensors, one element at a time */
    for (int64_t i = 0, total = elems_of(&ys); i < total; i++) {
        int64_t rem = i, oa = 0, ob = 0, va, vb, v;
        for (int d = ys.rank - 1; d >= 0; d--) {
            int64_t k = rem % ys.dims[d];
            rem /= ys.dims[d];
            oa += k * sa[d];
            ob += k * sb[d];
        }
        va = load_int(c->in[0], c->dt[0], oa);
        vb = load_int(c->in[1], c->dt[1], ob);
        switch (c->n->op) {
        /* wrapping (unsigned) arithmetic: overflow in a corrupt model is not UB here */
        case NN_OP_ADD:
            v = (int64_t)((uint64_t)va + (uint64_t)vb);
            break;
        case NN_OP_SUB:
            v = (int64_t)((uint64_t)va - (uint64_t)vb);
            break;
        case NN_OP_MUL:
            v = (int64_t)((uint64_t)va * (uint64_t)vb);
            break;
        default:
            if (vb == 0) {
                free(*c->out);
                *c->out = NULL;
                return fail(c, MIEN_ERR_SHAPE, "integer division by zero");
            }
            v = vb == -1 ? (int64_t)(0 - (uint64_t)va) : va / vb;
            break;
        }
        store_int(*c->out, c->dt[0], i, v);
    }
    return MIEN_OK;
}

/* ---- softmax and reductions ------------------------------------------------------------- */

static mien_status op_softmax(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int ax;
    int64_t outer, len, inner;
    const float *x;
    float *y;
    mien_status s = need(c, 1, true);
    if (s != MIEN_OK) {
        return s;
    }
    if (!norm_axis(c->n->a.axis, xs->rank, &ax)) {
        return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range for rank %d",
                    (long long)c->n->a.axis, xs->rank);
    }
    s = out_alloc(c, xs, NN_F32);
    if (s != MIEN_OK) {
        return s;
    }
    outer = dims_prod(xs, 0, ax);
    len = xs->dims[ax];
    inner = dims_prod(xs, ax + 1, xs->rank);
    x = c->in[0], y = *c->out;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const float *xp = x + o * len * inner + i;
            float *yp = y + o * len * inner + i;
            double mx = -INFINITY, sum = 0.0;
            for (int64_t k = 0; k < len; k++) {
                mx = xp[k * inner] > mx ? xp[k * inner] : mx;
            }
            for (int64_t k = 0; k < len; k++) {
                sum += exp(xp[k * inner] - mx);
            }
            for (int64_t k = 0; k < len; k++) {
                yp[k * inner] = (float)(exp(xp[k * inner] - mx) / sum);
            }
        }
    }
    return MIEN_OK;
}

static mien_status op_reduce(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    bool red[NN_MAX_RANK] = {false}, is_max = c->n->op == NN_OP_REDUCE_MAX;
    int64_t axes[NN_MAX_RANK], ost[NN_MAX_RANK], map[NN_MAX_RANK];
    int64_t idx[NN_MAX_RANK] = {0}, total, out_n, off = 0;
    int n_axes = c->n->a.n_axes;
    nn_shape ys, full;
    double *acc;
    const float *x;
    mien_status s = need(c, 1, true);
    if (s != MIEN_OK) {
        return s;
    }
    memcpy(axes, c->n->a.axes, sizeof(axes));
    if (n_axes == 0 && has_in(c, 1)) {
        s = read_ints(c, 1, axes, NN_MAX_RANK, &n_axes); /* opset 13/18: axes as input */
        if (s != MIEN_OK) {
            return s;
        }
    }
    for (int i = 0; i < xs->rank; i++) {
        red[i] = n_axes == 0; /* ONNX: no axes reduces all */
    }
    for (int i = 0; i < n_axes; i++) {
        int ax;
        if (!norm_axis(axes[i], xs->rank, &ax)) {
            return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range for rank %d",
                        (long long)axes[i], xs->rank);
        }
        red[ax] = true;
    }
    ys.rank = 0;
    full.rank = xs->rank;
    for (int i = 0; i < xs->rank; i++) {
        full.dims[i] = red[i] ? 1 : xs->dims[i];
        if (!red[i]) {
            ys.dims[ys.rank++] = xs->dims[i];
        } else if (c->n->a.keepdims) {
            ys.dims[ys.rank++] = 1;
        }
        if (red[i] && xs->dims[i] == 0 && is_max) {
            return fail(c, MIEN_ERR_SHAPE, "max over an empty axis");
        }
    }
    out_n = elems_of(&full);
    s = out_alloc(c, &ys, NN_F32);
    if (s != MIEN_OK) {
        return s;
    }
    acc = malloc((size_t)(out_n > 0 ? out_n : 1) * sizeof(*acc));
    if (acc == NULL) {
        free(*c->out);
        *c->out = NULL;
        return fail(c, MIEN_ERR_NOMEM, "out of memory for the accumulator");
    }
    for (int64_t i = 0; i < out_n; i++) {
        acc[i] = is_max ? -INFINITY : 0.0;
    }
    nn_shape_strides(&full, ost);
    for (int d = 0; d < xs->rank; d++) {
        map[d] = red[d] ? 0 : ost[d];
    }
    x = c->in[0];
    total = elems_of(xs);
    for (int64_t i = 0; i < total; i++) {
        if (is_max) {
            acc[off] = x[i] > acc[off] ? x[i] : acc[off];
        } else {
            acc[off] += x[i];
        }
        for (int d = xs->rank - 1; d >= 0; d--) {
            idx[d]++;
            off += map[d];
            if (idx[d] < xs->dims[d]) {
                break;
            }
            off -= map[d] * xs->dims[d];
            idx[d] = 0;
        }
    }
    for (int64_t i = 0; i < out_n; i++) {
        ((float *)*c->out)[i] = (float)acc[i];
    }
    free(acc);
    return MIEN_OK;
}

/* ---- data movement (any dtype) ---------------------------------------------------------- */

/* Output = input 0's bytes under a new shape ys (Reshape, Flatten, Squeeze, ...). */
static mien_status copy_as(const op_ctx *c, const nn_shape *ys)
{
    mien_status s;
    if (elems_of(ys) != elems_of(&c->sh[0])) {
        return fail(c, MIEN_ERR_SHAPE, "element count changes");
    }
    s = out_alloc(c, ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    memcpy(*c->out, c->in[0], (size_t)elems_of(ys) * nn_dtype_size(c->dt[0]));
    return MIEN_OK;
}

static mien_status op_reshape(const op_ctx *c)
{
    int64_t spec[NN_MAX_RANK];
    int n = 0;
    nn_shape ys;
    const char *why;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    s = read_ints(c, 1, spec, NN_MAX_RANK, &n);
    if (s != MIEN_OK) {
        return s;
    }
    why = nn_reshape_resolve(&c->sh[0], spec, n, &ys);
    if (why != NULL) {
        char want[96], got[96];
        return fail(c, MIEN_ERR_SHAPE, "cannot reshape %s to %s: %s",
                    nn_dims_str(c->sh[0].rank, c->sh[0].dims, got, sizeof(got)),
                    nn_dims_str(n, spec, want, sizeof(want)), why);
    }
    return copy_as(c, &ys);
}

static mien_status op_flatten(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int64_t axis = c->n->a.axis < 0 ? c->n->a.axis + xs->rank : c->n->a.axis;
    nn_shape ys;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    if (axis < 0 || axis > xs->rank) {
        return fail(c, MIEN_ERR_SHAPE, "axis out of range");
    }
    ys.rank = 2;
    ys.dims[0] = dims_prod(xs, 0, (int)axis);
    ys.dims[1] = dims_prod(xs, (int)axis, xs->rank);
    return copy_as(c, &ys);
}

static mien_status op_transpose(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int64_t perm[NN_MAX_RANK], xst[NN_MAX_RANK], st[NN_MAX_RANK];
    bool seen[NN_MAX_RANK] = {false};
    nn_shape ys;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    if (c->n->a.n_perm != 0 && c->n->a.n_perm != xs->rank) {
        return fail(c, MIEN_ERR_SHAPE, "perm has %d entries for rank %d", c->n->a.n_perm,
                    xs->rank);
    }
    for (int i = 0; i < xs->rank; i++) {
        perm[i] = c->n->a.n_perm ? c->n->a.perm[i] : xs->rank - 1 - i; /* default: reverse */
        if (perm[i] < 0 || perm[i] >= xs->rank || seen[perm[i]]) {
            return fail(c, MIEN_ERR_SHAPE, "perm is not a permutation");
        }
        seen[perm[i]] = true;
    }
    nn_shape_strides(xs, xst);
    ys.rank = xs->rank;
    for (int i = 0; i < xs->rank; i++) {
        ys.dims[i] = xs->dims[perm[i]];
        st[i] = xst[perm[i]];
    }
    s = out_alloc(c, &ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    strided_copy(*c->out, c->in[0], nn_dtype_size(c->dt[0]), &ys, 0, st);
    return MIEN_OK;
}

static mien_status op_concat(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    size_t esz;
    int ax;
    int64_t outer, inner, done = 0;
    nn_shape ys;
    mien_status s = need(c, c->n->n_inputs, false);
    if (s != MIEN_OK) {
        return s;
    }
    if (!norm_axis(c->n->a.axis, xs->rank, &ax)) {
        return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range for rank %d",
                    (long long)c->n->a.axis, xs->rank);
    }
    ys = *xs;
    ys.dims[ax] = 0;
    for (int k = 0; k < c->n->n_inputs; k++) {
        const nn_shape *ks = &c->sh[k];
        if (c->dt[k] != c->dt[0] || ks->rank != xs->rank) {
            return fail(c, MIEN_ERR_SHAPE, "input %d differs in dtype or rank", k);
        }
        for (int d = 0; d < xs->rank; d++) {
            if (d != ax && ks->dims[d] != xs->dims[d]) {
                return fail(c, MIEN_ERR_SHAPE, "input %d differs off the concat axis", k);
            }
        }
        ys.dims[ax] += ks->dims[ax];
    }
    s = out_alloc(c, &ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    esz = nn_dtype_size(c->dt[0]);
    outer = dims_prod(&ys, 0, ax);
    inner = dims_prod(&ys, ax + 1, ys.rank);
    for (int k = 0; k < c->n->n_inputs; k++) {
        int64_t chunk = c->sh[k].dims[ax] * inner;
        for (int64_t o = 0; o < outer; o++) {
            memcpy((char *)*c->out + (size_t)((o * ys.dims[ax] * inner + done) * (int64_t)esz),
                   (const char *)c->in[k] + (size_t)(o * chunk * (int64_t)esz),
                   (size_t)chunk * esz);
        }
        done += chunk;
    }
    return MIEN_OK;
}

static mien_status op_slice(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int64_t starts[NN_MAX_RANK], ends[NN_MAX_RANK], axes[NN_MAX_RANK], steps[NN_MAX_RANK];
    int64_t xst[NN_MAX_RANK], st[NN_MAX_RANK], base = 0;
    int n = c->n->a.n_axes;
    nn_shape ys;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    memcpy(starts, c->n->a.starts, sizeof(starts));
    memcpy(ends, c->n->a.ends, sizeof(ends));
    memcpy(axes, c->n->a.axes, sizeof(axes));
    memcpy(steps, c->n->a.steps, sizeof(steps));
    if (has_in(c, 1)) { /* opset 10+: starts, ends, axes?, steps? as inputs */
        int ne = 0, na, ns;
        s = read_ints(c, 1, starts, NN_MAX_RANK, &n);
        if (s == MIEN_OK) {
            s = read_ints(c, 2, ends, NN_MAX_RANK, &ne);
        }
        for (int i = 0; i < n; i++) {
            axes[i] = i;
            steps[i] = 1;
        }
        if (s == MIEN_OK && has_in(c, 3)) {
            s = read_ints(c, 3, axes, NN_MAX_RANK, &na);
            ne = s == MIEN_OK && na != n ? -1 : ne;
        }
        if (s == MIEN_OK && has_in(c, 4)) {
            s = read_ints(c, 4, steps, NN_MAX_RANK, &ns);
            ne = s == MIEN_OK && ns != n ? -1 : ne;
        }
        if (s != MIEN_OK) {
            return s;
        }
        if (ne != n) {
            return fail(c, MIEN_ERR_SHAPE, "starts, ends, axes and steps differ in length");
        }
    }
    nn_shape_strides(xs, xst);
    ys = *xs;
    memcpy(st, xst, sizeof(st));
    for (int i = 0; i < n; i++) {
        int ax;
        int64_t dim, start = starts[i], end = ends[i], step = steps[i] ? steps[i] : 1;
        if (step == INT64_MIN) {
            return fail(c, MIEN_ERR_SHAPE, "step out of range");
        }
        if (!norm_axis(axes[i], xs->rank, &ax)) {
            return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range for rank %d",
                        (long long)axes[i], xs->rank);
        }
        dim = xs->dims[ax];
        /* ONNX Slice: negative indices count from the end, then clamp. */
        start = start < 0 ? start + dim : start;
        end = end < 0 ? end + dim : end;
        if (step > 0) {
            start = start < 0 ? 0 : (start > dim ? dim : start);
            end = end < 0 ? 0 : (end > dim ? dim : end);
            ys.dims[ax] = end > start ? (end - start - 1) / step + 1 : 0;
        } else {
            start = start < 0 ? 0 : (start > dim - 1 ? dim - 1 : start);
            end = end < -1 ? -1 : (end > dim - 1 ? dim - 1 : end);
            ys.dims[ax] = start > end ? (start - end - 1) / (-step) + 1 : 0;
        }
        if (ys.dims[ax] > 0) {
            base += start * xst[ax];
        }
        st[ax] = xst[ax] * step;
    }
    s = out_alloc(c, &ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    strided_copy(*c->out, c->in[0], nn_dtype_size(c->dt[0]), &ys, base, st);
    return MIEN_OK;
}

static mien_status op_shape(const op_ctx *c)
{
    nn_shape ys;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    ys.rank = 1;
    ys.dims[0] = c->sh[0].rank;
    s = out_alloc(c, &ys, NN_I64);
    if (s != MIEN_OK) {
        return s;
    }
    for (int i = 0; i < c->sh[0].rank; i++) {
        ((int64_t *)*c->out)[i] = c->sh[0].dims[i];
    }
    return MIEN_OK;
}

static mien_status op_gather(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0], *is = &c->sh[1];
    int ax;
    int64_t outer, inner, n_idx, dim;
    size_t esz;
    nn_shape ys;
    mien_status s = need(c, 2, false);
    if (s != MIEN_OK) {
        return s;
    }
    if (!is_int(c->dt[1])) {
        return fail(c, MIEN_ERR_UNSUPPORTED, "indices must be int64 or int32");
    }
    if (!norm_axis(c->n->a.axis, xs->rank, &ax) || xs->rank - 1 + is->rank > NN_MAX_RANK) {
        return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range for rank %d",
                    (long long)c->n->a.axis, xs->rank);
    }
    dim = xs->dims[ax];
    n_idx = elems_of(is);
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = load_int(c->in[1], c->dt[1], j);
        if (v < -dim || v >= dim) {
            return fail(c, MIEN_ERR_SHAPE, "index %lld out of range [%lld, %lld)", (long long)v,
                        (long long)-dim, (long long)dim);
        }
    }
    ys.rank = 0;
    for (int i = 0; i < ax; i++) {
        ys.dims[ys.rank++] = xs->dims[i];
    }
    for (int i = 0; i < is->rank; i++) {
        ys.dims[ys.rank++] = is->dims[i];
    }
    for (int i = ax + 1; i < xs->rank; i++) {
        ys.dims[ys.rank++] = xs->dims[i];
    }
    s = out_alloc(c, &ys, c->dt[0]);
    if (s != MIEN_OK) {
        return s;
    }
    esz = nn_dtype_size(c->dt[0]);
    outer = dims_prod(xs, 0, ax);
    inner = dims_prod(xs, ax + 1, xs->rank);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < n_idx; j++) {
            int64_t v = load_int(c->in[1], c->dt[1], j);
            v = v < 0 ? v + dim : v;
            memcpy((char *)*c->out + (size_t)(((o * n_idx + j) * inner) * (int64_t)esz),
                   (const char *)c->in[0] + (size_t)(((o * dim + v) * inner) * (int64_t)esz),
                   (size_t)inner * esz);
        }
    }
    return MIEN_OK;
}

static mien_status op_squeeze(const op_ctx *c)
{
    const nn_shape *xs = &c->sh[0];
    int64_t axes[NN_MAX_RANK];
    int n = c->n->a.n_axes;
    bool mark[NN_MAX_RANK] = {false};
    bool unsq = c->n->op == NN_OP_UNSQUEEZE;
    nn_shape ys;
    mien_status s = need(c, 1, false);
    if (s != MIEN_OK) {
        return s;
    }
    memcpy(axes, c->n->a.axes, sizeof(axes));
    if (n == 0 && has_in(c, 1)) {
        s = read_ints(c, 1, axes, NN_MAX_RANK, &n); /* opset 13: axes as input */
        if (s != MIEN_OK) {
            return s;
        }
    }
    if (unsq) {
        int rank = xs->rank + n, src = 0;
        if (rank > NN_MAX_RANK) {
            return fail(c, MIEN_ERR_SHAPE, "rank %d is too large", rank);
        }
        for (int i = 0; i < n; i++) {
            int ax;
            if (!norm_axis(axes[i], rank, &ax) || mark[ax]) {
                return fail(c, MIEN_ERR_SHAPE, "axis %lld out of range or repeated",
                            (long long)axes[i]);
            }
            mark[ax] = true;
        }
        ys.rank = rank;
        for (int i = 0; i < rank; i++) {
            ys.dims[i] = mark[i] ? 1 : xs->dims[src++];
        }
        return copy_as(c, &ys);
    }
    for (int i = 0; i < n; i++) {
        int ax;
        if (!norm_axis(axes[i], xs->rank, &ax) || xs->dims[ax] != 1) {
            return fail(c, MIEN_ERR_SHAPE, "axis %lld is out of range or not of size 1",
                        (long long)axes[i]);
        }
        mark[ax] = true;
    }
    ys.rank = 0;
    for (int i = 0; i < xs->rank; i++) {
        if (n == 0 ? xs->dims[i] != 1 : !mark[i]) {
            ys.dims[ys.rank++] = xs->dims[i];
        }
    }
    return copy_as(c, &ys);
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* Evaluates c->n; output 0 only. */
static mien_status eval_op(const op_ctx *c)
{
    switch (c->n->op) {
    case NN_OP_CONV:
        return op_conv(c);
    case NN_OP_GEMM:
        return op_gemm(c);
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        return op_pool(c);
    case NN_OP_RELU:
    case NN_OP_CLIP:
    case NN_OP_NEG:
    case NN_OP_ABS:
    case NN_OP_EXP:
        return op_unary(c);
    case NN_OP_PRELU:
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
        return op_binary(c);
    case NN_OP_SOFTMAX:
        return op_softmax(c);
    case NN_OP_REDUCE_MAX:
    case NN_OP_REDUCE_SUM:
        return op_reduce(c);
    case NN_OP_RESHAPE:
        return op_reshape(c);
    case NN_OP_FLATTEN:
        return op_flatten(c);
    case NN_OP_TRANSPOSE:
        return op_transpose(c);
    case NN_OP_CONCAT:
        return op_concat(c);
    case NN_OP_SLICE:
        return op_slice(c);
    case NN_OP_SHAPE:
        return op_shape(c);
    case NN_OP_GATHER:
        return op_gather(c);
    case NN_OP_UNSQUEEZE:
    case NN_OP_SQUEEZE:
        return op_squeeze(c);
    case NN_OP_IDENTITY: {
        mien_status s = need(c, 1, false);
        return s != MIEN_OK ? s : copy_as(c, &c->sh[0]);
    }
    case NN_OP_BATCHNORM:
        return op_batchnorm(c);
    case NN_OP_COUNT:
        break;
    }
    return fail(c, MIEN_ERR_UNSUPPORTED, "operator not implemented");
}

/* Evaluates node n with known input dtypes (see nn_ref_eval_node). */
static mien_status eval_typed(const nn_graph *g, const nn_node *n, const nn_shape *in_shapes,
                              const void *const *in_data, const nn_dtype *in_dtypes,
                              nn_shape *out_shapes, void **out_data, nn_dtype *out_dtypes,
                              mien_error *err)
{
    op_ctx c = {g, n, in_shapes, in_data, in_dtypes, &out_shapes[0], &out_data[0],
                &out_dtypes[0], err};
    mien_status s;
    for (int k = 0; k < n->n_outputs; k++) {
        out_data[k] = NULL;
        out_shapes[k].rank = 0;
        out_dtypes[k] = NN_F32;
    }
    if (n->n_outputs < 1 || n->n_inputs < 1 || n->n_inputs > NN_MAX_NODE_INPUTS) {
        return fail(&c, MIEN_ERR_MODEL, "node has %d inputs and %d outputs", n->n_inputs,
                    n->n_outputs);
    }
    if (n->a.n_axes < 0 || n->a.n_axes > NN_MAX_RANK || n->a.n_perm < 0 ||
        n->a.n_perm > NN_MAX_RANK) {
        return fail(&c, MIEN_ERR_MODEL, "axes or perm count out of range");
    }
    for (int k = 0; k < n->n_inputs; k++) {
        if (has_in(&c, k) && elems_of(&in_shapes[k]) < 0) {
            return fail(&c, MIEN_ERR_SHAPE, "input %d has an invalid shape", k);
        }
    }
    s = eval_op(&c);
    if (s != MIEN_OK) {
        free(out_data[0]);
        out_data[0] = NULL;
        return s;
    }
    if (out_dtypes[0] == NN_F32 && n->a.act != NN_ACT_NONE) {
        apply_act(&n->a, out_data[0], elems_of(&out_shapes[0]));
    }
    return MIEN_OK;
}

/* Index of the node producing tensor t, or -1 (constant or graph input). */
static int producer_of(const nn_graph *g, int t)
{
    for (int i = 0; i < g->n_nodes; i++) {
        for (int k = 0; k < g->nodes[i].n_outputs; k++) {
            if (g->nodes[i].outputs[k] == t) {
                return i;
            }
        }
    }
    return -1;
}

/* The dtype a value of tensor t has when computed (see nn_ref_eval_node). */
static nn_dtype value_dtype(const nn_graph *g, int t)
{
    for (int hops = 0; hops <= g->n_nodes; hops++) {
        int p;
        if (t < 0 || t >= g->n_tensors) {
            return NN_F32;
        }
        if (nn_tensor_is_const(&g->tensors[t])) {
            return g->tensors[t].dtype;
        }
        p = producer_of(g, t);
        if (p < 0) {
            return NN_F32; /* a graph input */
        }
        switch (g->nodes[p].op) {
        case NN_OP_SHAPE:
            return NN_I64;
        case NN_OP_ADD:
        case NN_OP_SUB:
        case NN_OP_MUL:
        case NN_OP_DIV:
        case NN_OP_RESHAPE:
        case NN_OP_FLATTEN:
        case NN_OP_TRANSPOSE:
        case NN_OP_CONCAT:
        case NN_OP_SLICE:
        case NN_OP_GATHER:
        case NN_OP_UNSQUEEZE:
        case NN_OP_SQUEEZE:
        case NN_OP_IDENTITY:
            t = g->nodes[p].inputs[0];
            break;
        default:
            return NN_F32;
        }
    }
    return NN_F32;
}

mien_status nn_ref_eval_node(const nn_graph *g, const nn_node *n, const nn_shape *in_shapes,
                             const void *const *in_data, nn_shape *out_shapes, void **out_data,
                             nn_dtype *out_dtypes, mien_error *err)
{
    nn_dtype dts[NN_MAX_NODE_INPUTS];
    if (g == NULL || n == NULL || in_shapes == NULL || in_data == NULL || out_shapes == NULL ||
        out_data == NULL || out_dtypes == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "nn_ref_eval_node: NULL argument");
    }
    for (int k = 0; k < n->n_inputs && k < NN_MAX_NODE_INPUTS; k++) {
        dts[k] = n->inputs[k] >= 0 ? value_dtype(g, n->inputs[k]) : NN_F32;
    }
    return eval_typed(g, n, in_shapes, in_data, dts, out_shapes, out_data, out_dtypes, err);
}

/* ---- whole graph ------------------------------------------------------------------------ */

/* One tensor's value during a run. */
typedef struct ref_value {
    void *data;   /* NULL until computed */
    bool owned;   /* malloc'd by this run (not a constant or a caller's input) */
    nn_shape shape;
    nn_dtype dtype;
    int last_use; /* index of the last node reading it; -1 when none */
    bool is_output;
} ref_value;

/* Fills v[g->n_tensors] with the graph's constants and its inputs (checked against their
 * declared shapes) and marks each tensor's last reader and the outputs. MIEN_ERR_SHAPE for
 * an input that does not fit. */
static mien_status bind_values(const nn_graph *g, const float *const *inputs,
                               const nn_shape *in_shapes, ref_value *v, mien_error *err)
{
    char want[96], got[96];
    for (int t = 0; t < g->n_tensors; t++) {
        const nn_tensor *tt = &g->tensors[t];
        v[t].last_use = -1;
        if (nn_tensor_is_const(tt)) {
            v[t].data = tt->data;
            v[t].dtype = tt->dtype;
            v[t].shape.rank = tt->rank;
            memcpy(v[t].shape.dims, tt->dims, sizeof(tt->dims));
        }
    }
    for (int k = 0; k < g->n_inputs; k++) {
        const nn_tensor *tt = &g->tensors[g->inputs[k]];
        const nn_shape *is = &in_shapes[k];
        bool fits = is->rank == tt->rank && inputs[k] != NULL;
        for (int d = 0; fits && d < tt->rank; d++) {
            fits = is->dims[d] >= 0 && (tt->dims[d] < 0 || tt->dims[d] == is->dims[d]);
        }
        if (!fits) {
            return base_error_set(err, MIEN_ERR_SHAPE, "input '%s' expects %s, got %s", tt->name,
                                  nn_dims_str(tt->rank, tt->dims, want, sizeof(want)),
                                  nn_dims_str(is->rank, is->dims, got, sizeof(got)));
        }
        v[g->inputs[k]].data = (void *)(uintptr_t)inputs[k];
        v[g->inputs[k]].shape = *is;
        v[g->inputs[k]].dtype = NN_F32;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            if (g->nodes[i].inputs[k] >= 0) {
                v[g->nodes[i].inputs[k]].last_use = i;
            }
        }
    }
    for (int k = 0; k < g->n_outputs; k++) {
        v[g->outputs[k]].is_output = true;
    }
    return MIEN_OK;
}

/* Forgets a value, freeing its data when this run owns it. */
static void drop_value(ref_value *v)
{
    if (v->owned) {
        free(v->data);
    }
    v->data = NULL;
    v->owned = false;
}

/* Stores the outputs of node n (odata, owned) in v, dropping those nobody reads, then frees
 * the inputs whose last reader n is. */
static void store_outputs(const nn_node *n, int i, ref_value *v, const nn_shape *osh,
                          void **odata, const nn_dtype *odt)
{
    for (int k = 0; k < n->n_outputs; k++) {
        int t = n->outputs[k];
        if (t < 0 || odata[k] == NULL) {
            free(odata[k]);
            continue;
        }
        drop_value(&v[t]); /* a tensor written twice: the later value wins */
        v[t].data = odata[k];
        v[t].owned = true;
        v[t].shape = osh[k];
        v[t].dtype = odt[k];
        if (v[t].last_use < 0 && !v[t].is_output) {
            drop_value(&v[t]); /* nobody reads it */
        }
    }
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        if (t >= 0 && v[t].owned && v[t].last_use == i && !v[t].is_output) {
            drop_value(&v[t]);
        }
    }
}

/* Evaluates node i of g on the values v. MIEN_ERR_MODEL for an input no node computed,
 * else eval_typed's status. */
static mien_status run_node(const nn_graph *g, int i, ref_value *v, mien_error *err)
{
    const nn_node *n = &g->nodes[i];
    nn_shape ish[NN_MAX_NODE_INPUTS], osh[NN_MAX_NODE_OUTPUTS];
    const void *idata[NN_MAX_NODE_INPUTS];
    nn_dtype idt[NN_MAX_NODE_INPUTS], odt[NN_MAX_NODE_OUTPUTS];
    void *odata[NN_MAX_NODE_OUTPUTS];
    mien_status s;
    for (int k = 0; k < n->n_inputs; k++) {
        int t = n->inputs[k];
        idata[k] = NULL;
        ish[k].rank = 0;
        idt[k] = NN_F32;
        if (t < 0) {
            continue;
        }
        if (v[t].data == NULL) {
            return base_error_set(err, MIEN_ERR_MODEL,
                                  "node '%s' (%s): input '%s' was never computed", n->name,
                                  nn_op_name(n->op), g->tensors[t].name);
        }
        idata[k] = v[t].data;
        ish[k] = v[t].shape;
        idt[k] = v[t].dtype;
    }
    s = eval_typed(g, n, ish, idata, idt, osh, odata, odt, err);
    if (s == MIEN_OK) {
        store_outputs(n, i, v, osh, odata, odt);
    }
    return s;
}

/* Hands the graph's outputs over to the caller (outputs[k], malloc'd) with their shapes.
 * On failure the outputs already handed over are freed again. */
static mien_status take_outputs(const nn_graph *g, ref_value *v, float **outputs,
                                nn_shape *out_shapes, mien_error *err)
{
    mien_status s = MIEN_OK;
    for (int k = 0; k < g->n_outputs && s == MIEN_OK; k++) {
        ref_value *o = &v[g->outputs[k]];
        size_t bytes;
        if (o->data == NULL || o->dtype != NN_F32) {
            s = base_error_set(err, o->data == NULL ? MIEN_ERR_MODEL : MIEN_ERR_UNSUPPORTED,
                               "output '%s' was never computed or is not float32",
                               g->tensors[g->outputs[k]].name);
        } else if (o->owned) {
            outputs[k] = o->data; /* hand over */
            o->owned = false;
        } else {
            bytes = (size_t)elems_of(&o->shape) * sizeof(float);
            outputs[k] = malloc(bytes > 0 ? bytes : 1);
            if (outputs[k] == NULL) {
                s = base_error_set(err, MIEN_ERR_NOMEM, "nn_ref_run: out of memory");
            } else {
                memcpy(outputs[k], o->data, bytes);
            }
        }
        out_shapes[k] = o->shape;
    }
    for (int k = 0; s != MIEN_OK && k < g->n_outputs; k++) {
        free(outputs[k]);
        outputs[k] = NULL;
        out_shapes[k].rank = 0;
    }
    return s;
}

mien_status nn_ref_run(const nn_graph *g, const float *const *inputs, const nn_shape *in_shapes,
                       float **outputs, nn_shape *out_shapes, mien_error *err)
{
    ref_value *v;
    mien_status s;
    if (g == NULL || inputs == NULL || in_shapes == NULL || outputs == NULL ||
        out_shapes == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "nn_ref_run: NULL argument");
    }
    for (int k = 0; k < g->n_outputs; k++) {
        outputs[k] = NULL;
        out_shapes[k].rank = 0;
    }
    v = calloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1), sizeof(*v));
    if (v == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "nn_ref_run: out of memory");
    }
    s = bind_values(g, inputs, in_shapes, v, err);
    for (int i = 0; i < g->n_nodes && s == MIEN_OK; i++) {
        s = run_node(g, i, v, err);
    }
    if (s == MIEN_OK) {
        s = take_outputs(g, v, outputs, out_shapes, err);
    }
    for (int t = 0; t < g->n_tensors; t++) {
        drop_value(&v[t]); /* computed but never read, or what a failure left */
    }
    free(v);
    return s;
}

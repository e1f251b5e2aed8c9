/* exec.c — planning and running a graph on oneDNN 2.6 (C API, v2 `*_desc_init` style).
 *
 * Vocabulary:
 *   value  — the runtime form of one IR tensor: which memory reference holds it now, plus
 *            cached copies in other layouts (so two consumers wanting NHWC share a reorder).
 *   ref    — a memory reference: a oneDNN memory descriptor (logical dims + layout) over a
 *            buffer of the workspace, a constant, or a graph input (bound at run time).
 *   buffer — a span of the workspace with a lifetime [first step, last step]; buffers whose
 *            lifetimes do not overlap share bytes (first-fit, largest first).
 *   step   — one thing run in order: a oneDNN primitive with its arguments, or a C kernel.
 *
 * Layout choices, measured with oneDNN 2.6 on AVX2 (DESIGN.md §3): convolutions choose
 * their own activation and weight layouts (format "any", usually nChw8c); elementwise ops,
 * PReLU and binary ops run in whatever layout their input has; a convolution with few
 * input channels is fed NHWC because NCHW sends it to the reference kernel; PReLU is its
 * own primitive because as a post-op it pushes convolutions to `ref:any`.
 *
 * Precision (nn_plan_options, docs/precision.md): a bfloat16 plan runs its dense
 * convolutions on bf16 activations and weights with float32 accumulation and output; the
 * conversions ride on the PReLU before (CK_PRELU_NHWC_BF16) or the convolution before
 * (bf16 output) where they can, and are reorders elsewhere. Such plans take oneDNN's first
 * kernel choice instead of timing candidates, so that their results are reproducible.
 */
#include "nn/exec.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "base/cpu.h"
#include "base/error.h"
#include "nn/kernels.h"

#define MAX_STEP_ARGS (NN_MAX_NODE_INPUTS + 2)
#define WORKSPACE_ALIGN 64

/* Convolutions timed once per backend: which oneDNN candidate won for a descriptor. */
#define TUNE_CACHE_SIZE 512
#define TUNE_MAX_CANDIDATES 4
typedef struct tune_entry {
    dnnl_convolution_desc_t desc;
    nn_act act;
    int choice; /* index among the layout-compatible candidates */
} tune_entry;

struct nn_backend {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    bool bf16; /* the CPU has native bfloat16 convolutions (avx512_core_bf16 or better) */
    tune_entry *tune; /* [TUNE_CACHE_SIZE], filled round-robin */
    int n_tune;
};

typedef struct mem_ref {
    dnnl_memory_desc_t md;
    int buf;          /* workspace buffer index, or -1 */
    void *ptr;        /* constant / owned / graph-input pointer when buf < 0; resolved later */
    int graph_input;  /* index of the graph input bound at run time, or -1 */
    bool alias;       /* a view of bytes that belong to another tensor (no in-place writes) */
    dnnl_memory_t mem; /* created at finalize */
} mem_ref;

typedef struct value {
    int ref;       /* current primary form, -1 until produced */
    int plain_ref; /* row-major copy or alias, -1 if none yet */
    int alt_ref;   /* one more layout (e.g. NHWC for a first convolution), -1 if none */
} value;

typedef struct buffer {
    size_t size;
    int first, last; /* step indices */
    size_t offset;
    bool pinned; /* never shared (pre-padded borders must stay zero) */
} buffer;

typedef enum c_kernel {
    CK_UNARY,
    CK_BINARY,
    CK_PRELU,
    CK_SOFTMAX,
    CK_REDUCE,
    CK_CONCAT,
    CK_SLICE,
    CK_TRANSPOSE,
    CK_GATHER,
    CK_GEMM,
    CK_PRELU_NHWC, /* in place, channels-last (nn_kernel_prelu_nhwc) */
    CK_PRELU_NHWC_BF16, /* the same, stored as bfloat16 for a bf16 convolution */
} c_kernel;

typedef struct step {
    dnnl_primitive_t prim; /* NULL for a C step */
    char impl[48];         /* oneDNN's name for prim's kernel ("jit:avx2", ...), "" for C */
    int n_args;
    int arg_kind[MAX_STEP_ARGS]; /* DNNL_ARG_* */
    int arg_ref[MAX_STEP_ARGS];  /* ref index, or -1 for the shared scratchpad */
    dnnl_exec_arg_t args[MAX_STEP_ARGS];
    /* C step */
    c_kernel kernel;
    const nn_node *node;
    int n_in;
    int in_ref[NN_MAX_NODE_INPUTS];
    nn_shape in_shape[NN_MAX_NODE_INPUTS];
    int out_ref;
    nn_shape out_shape;
} step;

struct nn_plan {
    nn_backend *backend;
    const nn_graph *g;
    int threads;
    bool bf16;          /* NN_PRECISION_BF16 asked and the CPU has it */
    bool deterministic; /* no timed kernel choice (create_fastest_conv) */
    int bf16_convs;     /* convolutions planned in bfloat16 */
    nn_shape *shapes; /* [g->n_tensors] */
    value *values;    /* [g->n_tensors] */
    mem_ref *refs;
    int n_refs, cap_refs;
    buffer *bufs;
    int n_bufs, cap_bufs;
    step *steps;
    int n_steps, cap_steps;
    void **owned; /* reordered weights and other plan-lifetime allocations */
    int n_owned, cap_owned;
    size_t owned_bytes;
    size_t scratch_size;
    dnnl_memory_t scratch_mem;
    void *scratch;
    void *workspace;
    size_t workspace_size;
    int out_ref[NN_MAX_GRAPH_IO];
    int *consumers; /* [n_tensors]: node inputs reading each tensor, + 1 per graph output */
    bool *fused;    /* [n_nodes]: node folded into an earlier primitive's post-ops */
    double *profile_ms; /* per step, with nn_plan_options.profile */
    long profile_runs;
};

/* ---- small helpers -------------------------------------------------------------------- */

static mien_status dnnl_fail(mien_error *err, dnnl_status_t st, const nn_node *n,
                             const char *what)
{
    return base_error_set(err, MIEN_ERR_BACKEND, "oneDNN: %s failed (status %d) at node '%s' (%s)",
                          what, (int)st, n != NULL ? n->name : "-",
                          n != NULL ? nn_op_name(n->op) : "-");
}

#define DNNL_TRY(call, node, what)                                \
    do {                                                          \
        dnnl_status_t st_ = (call);                               \
        if (st_ != dnnl_success) {                                \
            return dnnl_fail(err, st_, (node), (what));           \
        }                                                         \
    } while (0)

static void *aligned_zalloc(size_t size)
{
    size_t rounded = (size + WORKSPACE_ALIGN - 1) / WORKSPACE_ALIGN * WORKSPACE_ALIGN;
    void *p = aligned_alloc(WORKSPACE_ALIGN, rounded ? rounded : WORKSPACE_ALIGN);
    if (p != NULL) {
        memset(p, 0, rounded ? rounded : WORKSPACE_ALIGN);
    }
    return p;
}

#define GROW(arr, n, cap)                                                     \
    do {                                                                      \
        if ((n) == (cap)) {                                                   \
            int c_ = (cap) ? 2 * (cap) : 64;                                  \
            void *g_ = realloc((arr), (size_t)c_ * sizeof(*(arr)));           \
            if (g_ == NULL) {                                                 \
                return -1;                                                    \
            }                                                                 \
            (arr) = g_;                                                       \
            (cap) = c_;                                                       \
        }                                                                     \
    } while (0)

/* Appends a ref. `md` may point into p->refs itself: it is copied before the array grows. */
static int add_ref(nn_plan *p, const dnnl_memory_desc_t *md_in, int buf, void *ptr)
{
    dnnl_memory_desc_t md_copy = *md_in;
    const dnnl_memory_desc_t *md = &md_copy;
    GROW(p->refs, p->n_refs, p->cap_refs);
    mem_ref *r = &p->refs[p->n_refs];
    memset(r, 0, sizeof(*r));
    r->md = *md;
    r->buf = buf;
    r->ptr = ptr;
    r->graph_input = -1;
    return p->n_refs++;
}

static int add_buf(nn_plan *p, size_t size)
{
    GROW(p->bufs, p->n_bufs, p->cap_bufs);
    buffer *b = &p->bufs[p->n_bufs];
    memset(b, 0, sizeof(*b));
    b->size = size;
    b->first = p->n_steps;
    b->last = p->n_steps;
    return p->n_bufs++;
}

static int add_owned(nn_plan *p, void *ptr, size_t size)
{
    GROW(p->owned, p->n_owned, p->cap_owned);
    p->owned[p->n_owned] = ptr;
    p->owned_bytes += size;
    return p->n_owned++;
}

static step *add_step(nn_plan *p)
{
    if (p->n_steps == p->cap_steps) {
        int c = p->cap_steps ? 2 * p->cap_steps : 64;
        step *g = realloc(p->steps, (size_t)c * sizeof(*g));
        if (g == NULL) {
            return NULL;
        }
        p->steps = g;
        p->cap_steps = c;
    }
    step *s = &p->steps[p->n_steps];
    memset(s, 0, sizeof(*s));
    s->out_ref = -1;
    p->n_steps++;
    return s;
}

/* Marks that the step being built (index n_steps - 1) reads ref r. */
static void touch(nn_plan *p, int r)
{
    int b = p->refs[r].buf;
    if (b >= 0 && p->bufs[b].last < p->n_steps - 1) {
        p->bufs[b].last = p->n_steps - 1;
    }
}

static void step_arg(nn_plan *p, step *s, int kind, int r)
{
    s->arg_kind[s->n_args] = kind;
    s->arg_ref[s->n_args] = r;
    s->n_args++;
    if (r >= 0) {
        touch(p, r);
    }
}

static void plain_md(dnnl_memory_desc_t *md, const nn_shape *s)
{
    dnnl_dims_t dims, strides;
    int64_t stride = 1;
    int rank = s->rank > 0 ? s->rank : 1;
    for (int i = rank - 1; i >= 0; i--) {
        dims[i] = s->rank > 0 ? s->dims[i] : 1;
        strides[i] = stride;
        stride *= dims[i] > 0 ? dims[i] : 1;
    }
    dnnl_memory_desc_init_by_strides(md, rank, dims, dnnl_f32, strides);
}

static bool md_is_plain(const dnnl_memory_desc_t *md)
{
    nn_shape s;
    dnnl_memory_desc_t want;
    s.rank = md->ndims;
    for (int i = 0; i < md->ndims; i++) {
        s.dims[i] = md->dims[i];
    }
    plain_md(&want, &s);
    return dnnl_memory_desc_equal(md, &want) != 0;
}

static const nn_shape *shape_of(const nn_plan *p, int t)
{
    return &p->shapes[t];
}

/* oneDNN's name for the kernel it chose for pd ("jit:avx2", "ref:any", ...), or NULL. */
static const char *impl_name(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success
               ? impl
               : NULL;
}

/* True when `impl` (impl_name) names one of oneDNN's reference kernels (plain C++ loops,
 * often 10-100x slower than its JIT kernels), or no kernel is known. */
static bool impl_name_is_reference(const char *impl)
{
    return impl == NULL || impl[0] == '\0' || strstr(impl, "ref") != NULL;
}

static bool impl_is_reference(const_dnnl_primitive_desc_t pd)
{
    return impl_name_is_reference(impl_name(pd));
}

static void need_scratch(nn_plan *p, const_dnnl_primitive_desc_t pd)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (md != NULL) {
        size_t sz = dnnl_memory_desc_get_size(md);
        if (sz > p->scratch_size) {
            p->scratch_size = sz;
        }
    }
}

/* Primitive attributes: user-managed scratchpad (one buffer per plan), the fused
 * activation of `a` if any, then a PReLU post-op when prelu_mask >= 0. */
static mien_status make_attr_prelu(dnnl_primitive_attr_t *attr, const nn_attrs *a,
                                   int prelu_mask, const nn_node *n, mien_error *err)
{
    DNNL_TRY(dnnl_primitive_attr_create(attr), n, "attr create");
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user), n,
             "scratchpad mode");
    if ((a != NULL && a->act != NN_ACT_NONE) || prelu_mask >= 0) {
        dnnl_post_ops_t po;
        DNNL_TRY(dnnl_post_ops_create(&po), n, "post-ops create");
        if (a != NULL && a->act == NN_ACT_RELU) {
            dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
        } else if (a != NULL && a->act == NN_ACT_CLIP) {
            dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip, a->act_min, a->act_max);
        }
        if (prelu_mask >= 0) {
            dnnl_post_ops_append_prelu(po, prelu_mask);
        }
        dnnl_primitive_attr_set_post_ops(*attr, po);
        dnnl_post_ops_destroy(po);
    }
    return MIEN_OK;
}

static mien_status make_attr(dnnl_primitive_attr_t *attr, const nn_attrs *a, const nn_node *n,
                             mien_error *err)
{
    return make_attr_prelu(attr, a, -1, n, err);
}

/* Asks oneDNN for the primitive descriptor *pd (owned by the caller) of node n for the
 * operation descriptor `desc`, with the activation of `a` fused (NULL: none); *ds is its
 * answer, *pd valid only when that is dnnl_success. Fails only when the attributes cannot
 * be made. */
static mien_status try_pd(nn_plan *p, const nn_node *n, const_dnnl_op_desc_t desc,
                          const nn_attrs *a, dnnl_primitive_desc_t *pd, dnnl_status_t *ds,
                          mien_error *err)
{
    dnnl_primitive_attr_t attr;
    mien_status st = make_attr(&attr, a, n, err);
    *ds = dnnl_runtime_error;
    if (st != MIEN_OK) {
        return st;
    }
    *ds = dnnl_primitive_desc_create(pd, desc, attr, p->backend->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return MIEN_OK;
}

/* try_pd, with oneDNN's refusal an error (MIEN_ERR_BACKEND naming `what`). */
static mien_status make_pd(nn_plan *p, const nn_node *n, const_dnnl_op_desc_t desc,
                           const nn_attrs *a, const char *what, dnnl_primitive_desc_t *pd,
                           mien_error *err)
{
    dnnl_status_t ds;
    mien_status st = try_pd(p, n, desc, a, pd, &ds, err);
    if (st == MIEN_OK && ds != dnnl_success) {
        st = dnnl_fail(err, ds, n, what);
    }
    return st;
}

/* Creates the primitive for pd as a new step, taking ownership of pd. */
static step *prim_step(nn_plan *p, dnnl_primitive_desc_t pd, const nn_node *n, mien_error *err,
                       mien_status *st)
{
    step *s = add_step(p);
    *st = MIEN_OK;
    if (s == NULL) {
        dnnl_primitive_desc_destroy(pd);
        *st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory planning '%s'", n ? n->name : "-");
        return NULL;
    }
    const char *impl = impl_name(pd);
    s->node = n;
    need_scratch(p, pd);
    snprintf(s->impl, sizeof(s->impl), "%s", impl != NULL ? impl : "");
    dnnl_status_t ds = dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (ds != dnnl_success) {
        s->prim = NULL;
        *st = dnnl_fail(err, ds, n, "primitive create");
        return NULL;
    }
    step_arg(p, s, DNNL_ARG_SCRATCHPAD, -1);
    return s;
}

/* A new workspace buffer + ref for a tensor in layout md. */
static int new_buf_ref(nn_plan *p, const dnnl_memory_desc_t *md)
{
    int b = add_buf(p, dnnl_memory_desc_get_size(md));
    if (b < 0) {
        return -1;
    }
    return add_ref(p, md, b, NULL);
}

/* Reorders ref `src` into a new ref of layout `md` (a step), returning the new ref. */
static mien_status reorder_to(nn_plan *p, int src, const dnnl_memory_desc_t *md, int *out,
                              mien_error *err)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    mien_status st;
    DNNL_TRY(dnnl_primitive_attr_create(&attr), NULL, "attr create");
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_status_t ds = dnnl_reorder_primitive_desc_create(&pd, &p->refs[src].md,
                                                          p->backend->engine, md,
                                                          p->backend->engine, attr);
    dnnl_primitive_attr_destroy(attr);
    if (ds != dnnl_success) {
        return dnnl_fail(err, ds, NULL, "reorder");
    }
    int dst = new_buf_ref(p, md);
    if (dst < 0) {
        dnnl_primitive_desc_destroy(pd);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    step *s = prim_step(p, pd, NULL, err, &st);
    if (s == NULL) {
        return st;
    }
    step_arg(p, s, DNNL_ARG_FROM, src);
    step_arg(p, s, DNNL_ARG_TO, dst);
    *out = dst;
    return MIEN_OK;
}

/* True when md is a dense 4-D tensor of data type `dt` laid out channels-last (NHWC). */
static bool md_is_nhwc_of(const dnnl_memory_desc_t *md, dnnl_data_type_t dt)
{
    dnnl_memory_desc_t want;
    if (md->ndims != 4 || md->data_type != dt) {
        return false;
    }
    dnnl_memory_desc_init_by_tag(&want, 4, md->dims, dt, dnnl_nhwc);
    return dnnl_memory_desc_equal(md, &want) != 0;
}

/* When tensor t was made by the step just planned, an in-place channels-last PReLU, and the
 * consumer being planned now is its only reader and wants it as bfloat16 NHWC (`md`), that
 * step stores t as bfloat16 into a new buffer instead (CK_PRELU_NHWC_BF16): one pass over
 * the activations instead of a float32 store plus a reorder. t's float32 ref is then never
 * written, which is safe because nothing else reads t. Returns the new ref, or -1 when the
 * pattern does not apply (the caller reorders). */
static int fuse_bf16_store(nn_plan *p, int t, const dnnl_memory_desc_t *md)
{
    value *v = &p->values[t];
    step *s = p->n_steps > 0 ? &p->steps[p->n_steps - 1] : NULL;
    int r;
    if (s == NULL || s->prim != NULL || s->kernel != CK_PRELU_NHWC || s->out_ref != v->ref ||
        s->node == NULL || s->node->outputs[0] != t || p->consumers[t] != 1 ||
        !md_is_nhwc_of(md, dnnl_bf16)) {
        return -1;
    }
    r = new_buf_ref(p, md);
    if (r < 0) {
        return -1;
    }
    p->bufs[p->refs[r].buf].first = p->n_steps - 1; /* written by that step */
    s->kernel = CK_PRELU_NHWC_BF16;
    s->out_ref = r;
    return r;
}

/* The ref holding tensor t in layout md, reordering (once) when needed. */
static mien_status value_as(nn_plan *p, int t, const dnnl_memory_desc_t *md_in, int *out,
                            mien_error *err)
{
    const dnnl_memory_desc_t md_copy = *md_in; /* md_in may point into p->refs */
    const dnnl_memory_desc_t *md = &md_copy;
    value *v = &p->values[t];
    int cands[3] = {v->ref, v->plain_ref, v->alt_ref};
    for (int i = 0; i < 3; i++) {
        if (cands[i] >= 0 && dnnl_memory_desc_equal(&p->refs[cands[i]].md, md)) {
            *out = cands[i];
            return MIEN_OK;
        }
    }
    if ((*out = fuse_bf16_store(p, t, md)) >= 0) {
        v->alt_ref = *out;
        return MIEN_OK;
    }
    mien_status st = reorder_to(p, v->ref, md, out, err);
    if (st != MIEN_OK) {
        return st;
    }
    if (md_is_plain(md)) {
        v->plain_ref = *out;
    } else {
        v->alt_ref = *out;
    }
    return MIEN_OK;
}

static mien_status value_plain(nn_plan *p, int t, int *out, mien_error *err)
{
    dnnl_memory_desc_t md;
    if (p->values[t].plain_ref >= 0) {
        *out = p->values[t].plain_ref;
        return MIEN_OK;
    }
    plain_md(&md, shape_of(p, t));
    return value_as(p, t, &md, out, err);
}

static bool is_const(const nn_plan *p, int t)
{
    return t >= 0 && nn_tensor_is_const(&p->g->tensors[t]);
}

/* Sets the output value of tensor t to ref r (its primary form). */
static void produce(nn_plan *p, int t, int r)
{
    p->values[t].ref = r;
    p->values[t].plain_ref = md_is_plain(&p->refs[r].md) ? r : -1;
    p->values[t].alt_ref = -1;
}

/* One input of a step: oneDNN's argument (DNNL_ARG_*) and the ref bound to it. */
typedef struct step_in {
    int arg;
    int ref; /* < 0: the argument is left out */
} step_in;

/* Adds the step of pd (taken over) for node n, reading in[n_in] and writing ref y, which
 * becomes the value of n's output. The arguments keep this order after the scratchpad. */
static mien_status emit_step(nn_plan *p, dnnl_primitive_desc_t pd, const nn_node *n,
                             const step_in *in, int n_in, int y, mien_error *err)
{
    mien_status st;
    step *s = prim_step(p, pd, n, err, &st);
    if (s == NULL) {
        return st;
    }
    for (int i = 0; i < n_in; i++) {
        if (in[i].ref >= 0) {
            step_arg(p, s, in[i].arg, in[i].ref);
        }
    }
    step_arg(p, s, DNNL_ARG_DST, y);
    produce(p, n->outputs[0], y);
    return MIEN_OK;
}

/* Copies a constant into an owned buffer laid out as `md` (via a one-off reorder from the
 * constant's row-major form described by src_md). Returns the new ref in *out. */
static mien_status const_as(nn_plan *p, const void *data, const dnnl_memory_desc_t *src_md,
                            const dnnl_memory_desc_t *md, const nn_node *n, int *out,
                            mien_error *err)
{
    size_t size = dnnl_memory_desc_get_size(md);
    void *dst = aligned_zalloc(size);
    dnnl_memory_t ms = NULL, md_mem = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    mien_status st = MIEN_OK;
    if (dst == NULL || add_owned(p, dst, size) < 0) {
        free(dst);
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (dnnl_memory_desc_equal(src_md, md)) {
        memcpy(dst, data, size);
    } else {
        dnnl_exec_arg_t args[2];
        if (dnnl_memory_create(&ms, src_md, p->backend->engine, (void *)data) != dnnl_success ||
            dnnl_memory_create(&md_mem, md, p->backend->engine, dst) != dnnl_success ||
            dnnl_reorder_primitive_desc_create(&pd, src_md, p->backend->engine, md,
                                               p->backend->engine, NULL) != dnnl_success ||
            dnnl_primitive_create(&prim, pd) != dnnl_success) {
            st = dnnl_fail(err, dnnl_runtime_error, n, "weights reorder");
            goto done;
        }
        args[0].arg = DNNL_ARG_FROM;
        args[0].memory = ms;
        args[1].arg = DNNL_ARG_TO;
        args[1].memory = md_mem;
        if (dnnl_primitive_execute(prim, p->backend->stream, 2, args) != dnnl_success ||
            dnnl_stream_wait(p->backend->stream) != dnnl_success) {
            st = dnnl_fail(err, dnnl_runtime_error, n, "weights reorder run");
        }
    }
done:
    if (prim != NULL) {
        dnnl_primitive_destroy(prim);
    }
    if (pd != NULL) {
        dnnl_primitive_desc_destroy(pd);
    }
    if (ms != NULL) {
        dnnl_memory_destroy(ms);
    }
    if (md_mem != NULL) {
        dnnl_memory_destroy(md_mem);
    }
    if (st == MIEN_OK) {
        *out = add_ref(p, md, -1, dst);
        if (*out < 0) {
            st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
    }
    return st;
}

/* The ref of a constant tensor in row-major form (no copy), dims padded to `rank`
 * with leading 1s when rank > its own. */
static int const_plain_ref(nn_plan *p, int t, int rank)
{
    const nn_tensor *ct = &p->g->tensors[t];
    nn_shape s;
    dnnl_memory_desc_t md;
    s.rank = rank > ct->rank ? rank : ct->rank;
    for (int i = 0; i < s.rank; i++) {
        int src = i - (s.rank - ct->rank);
        s.dims[i] = src >= 0 ? ct->dims[src] : 1;
    }
    plain_md(&md, &s);
    return add_ref(p, &md, -1, ct->data);
}

/* ---- C steps ---------------------------------------------------------------------------- */

static mien_status c_step(nn_plan *p, const nn_node *n, c_kernel k, mien_error *err)
{
    int in_refs[NN_MAX_NODE_INPUTS];
    dnnl_memory_desc_t md;
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        in_refs[i] = -1;
        if (t < 0) {
            continue;
        }
        if (is_const(p, t)) {
            in_refs[i] = const_plain_ref(p, t, 0);
        } else {
            mien_status st = value_plain(p, t, &in_refs[i], err);
            if (st != MIEN_OK) {
                return st;
            }
        }
        if (in_refs[i] < 0) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
    }
    /* the output buffer's lifetime starts at this step: make it before the step */
    plain_md(&md, shape_of(p, n->outputs[0]));
    int out_ref = new_buf_ref(p, &md);
    step *s = out_ref >= 0 ? add_step(p) : NULL;
    if (s == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    s->out_ref = out_ref;
    s->kernel = k;
    s->node = n;
    s->n_in = n->n_inputs;
    for (int i = 0; i < n->n_inputs; i++) {
        s->in_ref[i] = in_refs[i];
        if (n->inputs[i] >= 0) {
            s->in_shape[i] = *shape_of(p, n->inputs[i]);
            touch(p, in_refs[i]);
        }
    }
    s->out_shape = *shape_of(p, n->outputs[0]);
    produce(p, n->outputs[0], s->out_ref);
    return MIEN_OK;
}

static float apply_act(const nn_attrs *a, float v)
{
    if (a->act == NN_ACT_RELU) {
        return v > 0.0f ? v : 0.0f;
    }
    if (a->act == NN_ACT_CLIP) {
        return v < a->act_min ? a->act_min : (v > a->act_max ? a->act_max : v);
    }
    return v;
}

/* out = broadcast(x, y) elementwise; shapes are right-aligned (numpy). */
static inline float binary_op(nn_op op, float a, float b)
{
    switch (op) {
    case NN_OP_ADD:
        return a + b;
    case NN_OP_SUB:
        return a - b;
    case NN_OP_MUL:
        return a * b;
    case NN_OP_DIV:
        return a / b;
    case NN_OP_PRELU:
        return a >= 0.0f ? a : a * b;
    default:
        return 0.0f;
    }
}

/* One loop per operator so the compiler vectorises it; sx/sy are 0 (broadcast one value)
 * or 1 (walk the operand). */
#define BINARY_LOOP(expr)                                                           \
    for (int64_t i = 0; i < n; i++) {                                               \
        float a_ = x[i * sx], b_ = y[i * sy];                                       \
        out[i] = (expr);                                                            \
    }

/* Same-shape operands, or one of them a single value: a flat loop. */
static bool run_binary_flat(const step *s, const float *x, const float *y, float *out)
{
    int64_t n = nn_shape_elems(&s->out_shape);
    int64_t nx = nn_shape_elems(&s->in_shape[0]), ny = nn_shape_elems(&s->in_shape[1]);
    int64_t sx = nx == 1 ? 0 : 1, sy = ny == 1 ? 0 : 1;
    if ((nx != n && nx != 1) || (ny != n && ny != 1)) {
        return false;
    }
    switch (s->node->op) {
    case NN_OP_ADD:
        BINARY_LOOP(a_ + b_);
        break;
    case NN_OP_SUB:
        BINARY_LOOP(a_ - b_);
        break;
    case NN_OP_MUL:
        BINARY_LOOP(a_ * b_);
        break;
    case NN_OP_DIV:
        BINARY_LOOP(a_ / b_);
        break;
    default:
        BINARY_LOOP(binary_op(s->node->op, a_, b_));
        break;
    }
    if (s->node->a.act != NN_ACT_NONE) {
        for (int64_t i = 0; i < n; i++) {
            out[i] = apply_act(&s->node->a, out[i]);
        }
    }
    return true;
}
#undef BINARY_LOOP

static void run_binary(const step *s, const float *x, const float *y, float *out)
{
    if (run_binary_flat(s, x, y, out)) {
        return;
    }
    const nn_shape *o = &s->out_shape;
    int64_t sx[NN_MAX_RANK] = {0}, sy[NN_MAX_RANK] = {0}, idx[NN_MAX_RANK] = {0};
    int64_t tx[NN_MAX_RANK], ty[NN_MAX_RANK], n = nn_shape_elems(o);
    nn_shape_strides(&s->in_shape[0], tx);
    nn_shape_strides(&s->in_shape[1], ty);
    for (int i = 0; i < o->rank; i++) {
        int ix = i - (o->rank - s->in_shape[0].rank), iy = i - (o->rank - s->in_shape[1].rank);
        sx[i] = ix >= 0 && s->in_shape[0].dims[ix] != 1 ? tx[ix] : 0;
        sy[i] = iy >= 0 && s->in_shape[1].dims[iy] != 1 ? ty[iy] : 0;
    }
    int64_t ox = 0, oy = 0;
    for (int64_t k = 0; k < n; k++) {
        out[k] = apply_act(&s->node->a, binary_op(s->node->op, x[ox], y[oy]));
        /* odometer increment over the output index */
        for (int i = o->rank - 1; i >= 0; i--) {
            idx[i]++;
            ox += sx[i];
            oy += sy[i];
            if (idx[i] < o->dims[i]) {
                break;
            }
            ox -= sx[i] * idx[i];
            oy -= sy[i] * idx[i];
            idx[i] = 0;
        }
    }
}

static void run_unary(const step *s, const float *x, float *out)
{
    int64_t n = nn_shape_elems(&s->out_shape);
    const nn_attrs *a = &s->node->a;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        switch (s->node->op) {
        case NN_OP_RELU:
            v = v > 0.0f ? v : 0.0f;
            break;
        case NN_OP_CLIP:
            v = v < a->clip_min ? a->clip_min : (v > a->clip_max ? a->clip_max : v);
            break;
        case NN_OP_NEG:
            v = -v;
            break;
        case NN_OP_ABS:
            v = fabsf(v);
            break;
        case NN_OP_EXP:
            v = expf(v);
            break;
        default:
            break;
        }
        out[i] = v;
    }
}

/* Splits shape at axis into outer × len × inner. */
static void split_axis(const nn_shape *s, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; i++) {
        *outer *= s->dims[i];
    }
    *len = s->dims[axis];
    for (int i = axis + 1; i < s->rank; i++) {
        *inner *= s->dims[i];
    }
}

static void run_softmax(const step *s, const float *x, float *out)
{
    int axis = (int)(s->node->a.axis < 0 ? s->node->a.axis + s->out_shape.rank : s->node->a.axis);
    int64_t outer, len, inner;
    split_axis(&s->out_shape, axis, &outer, &len, &inner);
    if (len == 2 && inner == 1) {
        /* two classes (face / not face): softmax = logistic of the difference, one exp */
        for (int64_t o = 0; o < outer; o++) {
            float p1 = 1.0f / (1.0f + expf(x[2 * o] - x[2 * o + 1]));
            out[2 * o] = 1.0f - p1;
            out[2 * o + 1] = p1;
        }
        return;
    }
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            const float *xp = x + o * len * inner + i;
            float *op = out + o * len * inner + i;
            float m = xp[0], sum = 0.0f;
            for (int64_t k = 1; k < len; k++) {
                m = xp[k * inner] > m ? xp[k * inner] : m;
            }
            for (int64_t k = 0; k < len; k++) {
                op[k * inner] = expf(xp[k * inner] - m);
                sum += op[k * inner];
            }
            for (int64_t k = 0; k < len; k++) {
                op[k * inner] /= sum;
            }
        }
    }
}

static void run_reduce(const step *s, const float *x, float *out)
{
    const nn_shape *in = &s->in_shape[0];
    bool red[NN_MAX_RANK] = {false};
    int64_t st_in[NN_MAX_RANK], idx[NN_MAX_RANK] = {0}, ost[NN_MAX_RANK];
    int64_t n_out = nn_shape_elems(&s->out_shape), n_in = nn_shape_elems(in);
    bool is_max = s->node->op == NN_OP_REDUCE_MAX;
    nn_shape kept = *in;
    for (int i = 0; i < s->node->a.n_axes; i++) {
        int ax = (int)(s->node->a.axes[i] < 0 ? s->node->a.axes[i] + in->rank : s->node->a.axes[i]);
        red[ax] = true;
    }
    if (s->node->a.n_axes == 0) {
        for (int i = 0; i < in->rank; i++) {
            red[i] = true;
        }
    }
    for (int i = 0; i < in->rank; i++) {
        kept.dims[i] = red[i] ? 1 : in->dims[i];
    }
    nn_shape_strides(&kept, ost);
    nn_shape_strides(in, st_in);
    for (int64_t k = 0; k < n_out; k++) {
        out[k] = is_max ? -INFINITY : 0.0f;
    }
    for (int64_t k = 0; k < n_in; k++) {
        int64_t o = 0, rem = k;
        for (int i = 0; i < in->rank; i++) {
            idx[i] = rem / st_in[i];
            rem %= st_in[i];
            o += red[i] ? 0 : idx[i] * ost[i];
        }
        out[o] = is_max ? (x[k] > out[o] ? x[k] : out[o]) : out[o] + x[k];
    }
}

/* Copies `count` blocks of `block` floats from src (stride src_stride) to dst (stride
 * dst_stride). Short blocks (the detector's 2- and 4-float rows) go element by element:
 * memcpy's call costs more than the copy there. */
static void copy_blocks(float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                        int64_t block, int64_t count)
{
    if (block == 2) {
        for (int64_t o = 0; o < count; o++) {
            dst[o * dst_stride] = src[o * src_stride];
            dst[o * dst_stride + 1] = src[o * src_stride + 1];
        }
    } else if (block < 16) {
        for (int64_t o = 0; o < count; o++) {
            for (int64_t k = 0; k < block; k++) {
                dst[o * dst_stride + k] = src[o * src_stride + k];
            }
        }
    } else {
        for (int64_t o = 0; o < count; o++) {
            memcpy(dst + o * dst_stride, src + o * src_stride, (size_t)block * sizeof(float));
        }
    }
}

static void run_concat(const step *s, const float *const *in, float *out)
{
    int axis = (int)(s->node->a.axis < 0 ? s->node->a.axis + s->out_shape.rank : s->node->a.axis);
    int64_t outer, len, inner, pos = 0;
    split_axis(&s->out_shape, axis, &outer, &len, &inner);
    for (int i = 0; i < s->n_in; i++) {
        int64_t l = s->in_shape[i].dims[axis];
        copy_blocks(out + pos * inner, len * inner, in[i], l * inner, l * inner, outer);
        pos += l;
    }
}

/* Slice along one axis with step 1 (UltraFace's box decoding): contiguous block copies. */
static bool run_slice_contiguous(const step *s, const float *x, float *out)
{
    const nn_attrs *a = &s->node->a;
    const nn_shape *in = &s->in_shape[0];
    int64_t outer, len, inner, out_len, start;
    int ax;
    if (a->n_axes != 1 || (a->steps[0] != 0 && a->steps[0] != 1)) {
        return false;
    }
    ax = (int)(a->axes[0] < 0 ? a->axes[0] + in->rank : a->axes[0]);
    split_axis(in, ax, &outer, &len, &inner);
    out_len = s->out_shape.dims[ax];
    start = a->starts[0] < 0 ? a->starts[0] + len : a->starts[0];
    start = start < 0 ? 0 : (start > len ? len : start);
    copy_blocks(out, out_len * inner, x + start * inner, len * inner, out_len * inner, outer);
    return true;
}

static void run_slice(const step *s, const float *x, float *out)
{
    if (run_slice_contiguous(s, x, out)) {
        return;
    }
    const nn_shape *in = &s->in_shape[0], *o = &s->out_shape;
    int64_t start[NN_MAX_RANK] = {0}, step_[NN_MAX_RANK], st[NN_MAX_RANK], idx[NN_MAX_RANK] = {0};
    int64_t n = nn_shape_elems(o);
    const nn_attrs *a = &s->node->a;
    for (int i = 0; i < in->rank; i++) {
        step_[i] = 1;
    }
    for (int i = 0; i < a->n_axes; i++) {
        int ax = (int)(a->axes[i] < 0 ? a->axes[i] + in->rank : a->axes[i]);
        int64_t dim = in->dims[ax], b = a->starts[i], stp = a->steps[i] ? a->steps[i] : 1;
        b = b < 0 ? b + dim : b;
        b = stp > 0 ? (b < 0 ? 0 : (b > dim ? dim : b)) : (b < 0 ? -1 : (b > dim - 1 ? dim - 1 : b));
        start[ax] = b;
        step_[ax] = stp;
    }
    nn_shape_strides(in, st);
    for (int64_t k = 0; k < n; k++) {
        int64_t off = 0;
        for (int i = 0; i < in->rank; i++) {
            off += (start[i] + idx[i] * step_[i]) * st[i];
        }
        out[k] = x[off];
        for (int i = o->rank - 1; i >= 0; i--) {
            if (++idx[i] < o->dims[i]) {
                break;
            }
            idx[i] = 0;
        }
    }
}

static void run_gemm(const step *s, const float *a, const float *b, const float *c, float *out)
{
    const nn_attrs *at = &s->node->a;
    int64_t m = s->out_shape.dims[0], nn = s->out_shape.dims[1];
    int64_t k = at->trans_a ? s->in_shape[0].dims[0] : s->in_shape[0].dims[1];
    int64_t sc0 = 0, sc1 = 0;
    if (c != NULL) {
        const nn_shape *cs = &s->in_shape[2];
        sc1 = cs->rank >= 1 && cs->dims[cs->rank - 1] != 1 ? 1 : 0;
        sc0 = cs->rank == 2 && cs->dims[0] != 1 ? cs->dims[1] : 0;
    }
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < nn; j++) {
            float acc = 0.0f;
            for (int64_t q = 0; q < k; q++) {
                float av = at->trans_a ? a[q * m + i] : a[i * k + q];
                float bv = at->trans_b ? b[j * k + q] : b[q * nn + j];
                acc += av * bv;
            }
            acc *= at->alpha;
            if (c != NULL) {
                acc += at->beta * c[i * sc0 + j * sc1];
            }
            out[i * nn + j] = apply_act(at, acc);
        }
    }
}

static void run_c_step(nn_plan *p, const step *s)
{
    const float *in[NN_MAX_NODE_INPUTS];
    float *out = p->refs[s->out_ref].ptr;
    for (int i = 0; i < s->n_in; i++) {
        in[i] = s->in_ref[i] >= 0 ? p->refs[s->in_ref[i]].ptr : NULL;
    }
    switch (s->kernel) {
    case CK_UNARY:
        run_unary(s, in[0], out);
        break;
    case CK_BINARY:
    case CK_PRELU:
        run_binary(s, in[0], in[1], out);
        break;
    case CK_SOFTMAX:
        run_softmax(s, in[0], out);
        break;
    case CK_REDUCE:
        run_reduce(s, in[0], out);
        break;
    case CK_CONCAT:
        run_concat(s, in, out);
        break;
    case CK_SLICE:
        run_slice(s, in[0], out);
        break;
    case CK_GEMM:
        run_gemm(s, in[0], in[1], s->n_in > 2 ? in[2] : NULL, out);
        break;
    case CK_PRELU_NHWC:
        nn_kernel_prelu_nhwc(out, nn_shape_elems(&s->out_shape), in[1],
                             p->refs[s->in_ref[1]].md.dims[0]);
        break;
    case CK_PRELU_NHWC_BF16:
        nn_kernel_prelu_nhwc_bf16(in[0], p->refs[s->out_ref].ptr, nn_shape_elems(&s->out_shape),
                                  in[1], p->refs[s->in_ref[1]].md.dims[0]);
        break;
    case CK_TRANSPOSE:
    case CK_GATHER:
        break;
    }
}

/* ---- planning per operator --------------------------------------------------------------- */

static void dims_of(const nn_shape *s, dnnl_dims_t d)
{
    for (int i = 0; i < s->rank; i++) {
        d[i] = s->dims[i];
    }
}

/* The PReLU node that is the only reader of conv n's output, with a constant per-channel
 * (or single) slope, or NULL. */
static const nn_node *fusable_prelu(const nn_plan *p, const nn_node *n)
{
    int y = n->outputs[0];
    const nn_shape *ys = shape_of(p, y);
    if (n->a.act != NN_ACT_NONE || p->consumers[y] != 1) {
        return NULL;
    }
    for (const nn_node *k = n + 1; k < p->g->nodes + p->g->n_nodes; k++) {
        if (k->n_inputs > 0 && k->inputs[0] == y) {
            int64_t c;
            if (k->op != NN_OP_PRELU || !is_const(p, k->inputs[1])) {
                return NULL;
            }
            c = nn_tensor_elems(&p->g->tensors[k->inputs[1]]);
            return c == 1 || c == ys->dims[1] ? k : NULL;
        }
    }
    return NULL;
}

/* Whether convolution n runs in bfloat16: where it pays and costs no precision that matters
 * (exec.h, nn_precision) — dense, not a first layer, not the 1×1-pixel embedding head. */
static bool conv_is_bf16(const nn_plan *p, const nn_node *n)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]), *ys = shape_of(p, n->outputs[0]);
    int64_t group = n->a.group > 0 ? n->a.group : 1;
    return p->bf16 && n->op == NN_OP_CONV && group == 1 && xs->rank == 4 &&
           xs->dims[1] >= NN_BF16_MIN_CHANNELS && ys->dims[2] * ys->dims[3] > 1;
}

/* True when the output of conv n has one reader, a convolution running in bfloat16 that
 * takes it as its activation input. */
static bool feeds_bf16_conv(const nn_plan *p, const nn_node *n)
{
    int y = n->outputs[0];
    if (p->consumers[y] != 1) {
        return false;
    }
    for (const nn_node *k = n + 1; k < p->g->nodes + p->g->n_nodes; k++) {
        for (int i = 0; i < k->n_inputs; i++) {
            if (k->inputs[i] == y) {
                return i == 0 && conv_is_bf16(p, k);
            }
        }
    }
    return false;
}

/* Best of a few timed runs of pd's primitive on scratch buffers (contents irrelevant to the
 * time of a dense fp32 convolution); a large number when it cannot run. */
static double time_candidate(nn_plan *p, const_dnnl_primitive_desc_t pd)
{
    static const dnnl_query_t queries[4] = {dnnl_query_src_md, dnnl_query_weights_md,
                                            dnnl_query_weights_md, dnnl_query_dst_md};
    static const int kinds[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};
    static const int index[4] = {0, 0, 1, 0};
    dnnl_exec_arg_t args[5];
    void *bufs[5] = {NULL};
    dnnl_memory_t mems[5] = {NULL};
    dnnl_primitive_t prim = NULL;
    double best = 1e30;
    int n = 0;
    for (int i = 0; i < 5; i++) {
        const dnnl_memory_desc_t *md =
            i < 4 ? dnnl_primitive_desc_query_md(pd, queries[i], index[i])
                  : dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (md == NULL || md->ndims == 0) {
            continue;
        }
        bufs[n] = aligned_zalloc(dnnl_memory_desc_get_size(md));
        if (bufs[n] == NULL ||
            dnnl_memory_create(&mems[n], md, p->backend->engine, bufs[n]) != dnnl_success) {
            goto done;
        }
        args[n].arg = i < 4 ? kinds[i] : DNNL_ARG_SCRATCHPAD;
        args[n].memory = mems[n];
        n++;
    }
    if (dnnl_primitive_create(&prim, pd) != dnnl_success) {
        goto done;
    }
    for (int r = 0; r < 6; r++) {
        double t0 = mien_now_ms(), t;
        if (dnnl_primitive_execute(prim, p->backend->stream, n, args) != dnnl_success ||
            dnnl_stream_wait(p->backend->stream) != dnnl_success) {
            best = 1e30;
            break;
        }
        t = mien_now_ms() - t0;
        if (r > 0 && t < best) { /* the first run warms caches */
            best = t;
        }
    }
done:
    if (prim != NULL) {
        dnnl_primitive_destroy(prim);
    }
    for (int i = 0; i < 5; i++) {
        if (mems[i] != NULL) {
            dnnl_memory_destroy(mems[i]);
        }
        free(bufs[i]);
    }
    return best;
}

/* Creates the convolution primitive descriptor of `cd`: oneDNN's first choice, or among
 * the candidates that keep its activation layouts (so nothing around it changes) the
 * fastest when timed here. oneDNN ranks kernels by ISA, not by shape; on small channel
 * counts and depthwise convolutions another JIT kernel is sometimes faster on this CPU.
 * The choice is cached per backend, so each distinct convolution is timed once.
 * Kernels sum in different orders, so a timed choice makes results depend on which kernel
 * won the race in this process: about 2e-7 in float32, but in a bfloat16 plan such a
 * difference can flip a later rounding to bfloat16, and embeddings then differ by up to
 * 1e-3 per element from session to session (measured on LFW faces, docs/precision.md).
 * A deterministic plan (every bfloat16 plan, and plans that feed one: nn_plan_options)
 * therefore takes oneDNN's first choice: 1–6 % slower, and reproducible. */
static dnnl_status_t create_fastest_conv(nn_plan *p, const dnnl_convolution_desc_t *cd,
                                         const_dnnl_primitive_attr_t attr, nn_act act,
                                         dnnl_primitive_desc_t *out)
{
    dnnl_primitive_desc_iterator_t it;
    dnnl_primitive_desc_t cands[TUNE_MAX_CANDIDATES];
    nn_backend *b = p->backend;
    int n = 0, choice = -1;
    dnnl_status_t st = dnnl_primitive_desc_iterator_create(&it, cd, attr, b->engine, NULL);
    *out = NULL;
    if (st != dnnl_success) {
        return st;
    }
    do {
        dnnl_primitive_desc_t pd = dnnl_primitive_desc_iterator_fetch(it);
        if (pd == NULL) {
            break;
        }
        if (n == 0 ||
            (!impl_is_reference(pd) &&
             dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0),
                                    dnnl_primitive_desc_query_md(cands[0], dnnl_query_src_md,
                                                                 0)) &&
             dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                                    dnnl_primitive_desc_query_md(cands[0], dnnl_query_dst_md,
                                                                 0)))) {
            cands[n++] = pd;
        } else {
            dnnl_primitive_desc_destroy(pd);
        }
    } while (n < TUNE_MAX_CANDIDATES && dnnl_primitive_desc_iterator_next(it) == dnnl_success);
    dnnl_primitive_desc_iterator_destroy(it);
    if (n == 0) {
        return dnnl_unimplemented;
    }
    if (p->deterministic) {
        choice = 0; /* reproducible: see above (and no timed choice from the cache) */
    }
    for (int i = 0; choice < 0 && i < b->n_tune && i < TUNE_CACHE_SIZE; i++) {
        if (b->tune[i].act == act && memcmp(&b->tune[i].desc, cd, sizeof(*cd)) == 0) {
            choice = b->tune[i].choice < n ? b->tune[i].choice : 0;
        }
    }
    if (choice < 0) {
        double best = 1e30;
        choice = 0;
        for (int i = 0; n > 1 && i < n; i++) {
            double t = time_candidate(p, cands[i]);
            if (t < best * 0.97) { /* a clear win only: ties keep oneDNN's order */
                best = t;
                choice = i;
            }
        }
        if (b->tune == NULL) {
            b->tune = calloc(TUNE_CACHE_SIZE, sizeof(*b->tune));
        }
        if (b->tune != NULL) {
            tune_entry *e = &b->tune[b->n_tune++ % TUNE_CACHE_SIZE];
            e->desc = *cd;
            e->act = act;
            e->choice = choice;
        }
    }
    for (int i = 0; i < n; i++) {
        if (i != choice) {
            dnnl_primitive_desc_destroy(cands[i]);
        }
    }
    *out = cands[choice];
    return dnnl_success;
}

/* Activation layouts a convolution is offered, in order (plan_conv). Which layout has a
 * JIT kernel depends on the ISA and the destination layout, not on a rule (DESIGN.md §3):
 * with 3 input channels, oneDNN 2.6 has an AVX-512 kernel for NHWC source with a blocked
 * destination but runs that on `ref:any` at AVX2, where an NCHW source has a JIT kernel. */
typedef struct conv_layout {
    dnnl_format_tag_t src, dst;
} conv_layout;

#define CONV_N_LAYOUTS 5
/* Below this many input channels (the pixels of a first convolution), NHWC is tried first:
 * it saves a reorder of the picture where oneDNN has a kernel for it (AVX-512). */
#define CONV_FEW_CHANNELS 8
static const conv_layout CONV_LAYOUTS_FEW[CONV_N_LAYOUTS] = {
    {dnnl_nhwc, dnnl_format_tag_any}, {dnnl_nchw, dnnl_format_tag_any},
    {dnnl_format_tag_any, dnnl_format_tag_any}, {dnnl_nhwc, dnnl_nhwc}, {dnnl_nchw, dnnl_nchw},
};
static const conv_layout CONV_LAYOUTS[CONV_N_LAYOUTS] = {
    {dnnl_format_tag_any, dnnl_format_tag_any}, {dnnl_nhwc, dnnl_nhwc},
    {dnnl_nhwc, dnnl_format_tag_any}, {dnnl_nchw, dnnl_format_tag_any}, {dnnl_nchw, dnnl_nchw},
};

/* The primitive descriptor for convolution `cd` of node n: with the PReLU that follows it
 * as a post-op when oneDNN has a JIT kernel for that (it saves a pass over the activations;
 * DESIGN.md §3 saw the post-op push convolutions to `ref:any` on AVX2, hence the check),
 * else plain (create_fastest_conv). *prelu is the fused node or NULL; *pd is NULL when
 * oneDNN has nothing for this descriptor. */
static mien_status conv_pd_for_layout(nn_plan *p, const nn_node *n,
                                      const dnnl_convolution_desc_t *cd,
                                      dnnl_primitive_desc_t *pd, const nn_node **prelu,
                                      mien_error *err)
{
    dnnl_primitive_attr_t attr;
    mien_status st;
    *pd = NULL;
    *prelu = fusable_prelu(p, n);
    if (*prelu != NULL) {
        int64_t c = nn_tensor_elems(&p->g->tensors[(*prelu)->inputs[1]]);
        if ((st = make_attr_prelu(&attr, &n->a, c == 1 ? 0 : 2, n, err)) != MIEN_OK) {
            return st;
        }
        if (dnnl_primitive_desc_create(pd, cd, attr, p->backend->engine, NULL) !=
            dnnl_success) {
            *pd = NULL;
        } else if (impl_is_reference(*pd)) {
            dnnl_primitive_desc_destroy(*pd);
            *pd = NULL;
        }
        dnnl_primitive_attr_destroy(attr);
        if (*pd != NULL) {
            return MIEN_OK;
        }
        *prelu = NULL;
    }
    if ((st = make_attr(&attr, &n->a, n, err)) != MIEN_OK) {
        return st;
    }
    if (create_fastest_conv(p, cd, attr, n->a.act, pd) != dnnl_success) {
        *pd = NULL;
    }
    dnnl_primitive_attr_destroy(attr);
    return MIEN_OK;
}

/* What a convolution's primitive descriptor is made from: shapes, types and geometry. */
typedef struct conv_args {
    dnnl_dims_t sd, dd, strides, dil, pl, pr; /* src and dst NCHW dims; oneDNN's geometry */
    dnnl_data_type_t ct, dst_type;            /* compute (src, weights) and dst types */
    dnnl_memory_desc_t w_md, w_plain, b_md;   /* weights as wanted (any) and as stored */
    bool has_bias;
} conv_args;

/* Fills c for Conv node n (bfloat16 when `bf16`). */
static void conv_args_init(const nn_plan *p, const nn_node *n, bool bf16, conv_args *c)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]), *ws = shape_of(p, n->inputs[1]);
    const nn_shape *ys = shape_of(p, n->outputs[0]);
    int64_t group = n->a.group > 0 ? n->a.group : 1;
    int64_t pads[4], out_hw[2], in_hw[2] = {xs->dims[2], xs->dims[3]};
    dnnl_dims_t wd = {0}, bd = {0};
    nn_attrs a = n->a;
    memset(c, 0, sizeof(*c));
    c->ct = bf16 ? dnnl_bf16 : dnnl_f32;
    /* float32 out, unless the only reader is another bf16 convolution (no PReLU between):
     * then bf16 straight away, saving a reorder */
    c->dst_type = bf16 && feeds_bf16_conv(p, n) ? dnnl_bf16 : dnnl_f32;
    a.kernel[0] = ws->dims[2];
    a.kernel[1] = ws->dims[3];
    nn_conv_geometry(&a, in_hw, pads, out_hw);
    dims_of(xs, c->sd);
    dims_of(ys, c->dd);
    for (int i = 0; i < 2; i++) {
        c->strides[i] = a.stride[i] > 0 ? a.stride[i] : 1;
        c->dil[i] = (a.dilation[i] > 0 ? a.dilation[i] : 1) - 1; /* oneDNN counts extra gaps */
        c->pl[i] = pads[i];
        c->pr[i] = pads[i + 2];
    }
    if (group == 1) {
        dims_of(ws, wd);
        dnnl_memory_desc_init_by_tag(&c->w_md, 4, wd, c->ct, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&c->w_plain, 4, wd, dnnl_f32, dnnl_oihw);
    } else {
        wd[0] = group;
        wd[1] = ws->dims[0] / group;
        wd[2] = ws->dims[1];
        wd[3] = ws->dims[2];
        wd[4] = ws->dims[3];
        dnnl_memory_desc_init_by_tag(&c->w_md, 5, wd, dnnl_f32, dnnl_format_tag_any);
        dnnl_memory_desc_init_by_tag(&c->w_plain, 5, wd, dnnl_f32, dnnl_goihw);
    }
    c->has_bias = n->n_inputs > 2 && n->inputs[2] >= 0;
    if (c->has_bias) {
        bd[0] = ys->dims[1];
        dnnl_memory_desc_init_by_tag(&c->b_md, 1, bd, dnnl_f32, dnnl_a);
    }
}

/* The primitive descriptor for Conv node n (*pd, owned by the caller) and the PReLU fused
 * into it (*prelu, NULL when none). Layouts are offered in turn until oneDNN has a kernel
 * that is not a reference one for them (CONV_LAYOUTS); when none has, the first layout's
 * reference kernel runs and the plan reports it (nn_plan_ref_steps). */
static mien_status conv_choose(nn_plan *p, const nn_node *n, const conv_args *c,
                               dnnl_primitive_desc_t *pd, const nn_node **prelu, mien_error *err)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]);
    const conv_layout *order = xs->dims[1] < CONV_FEW_CHANNELS ? CONV_LAYOUTS_FEW : CONV_LAYOUTS;
    dnnl_primitive_desc_t fallback = NULL;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_convolution_desc_t cd;
    mien_status st;
    *pd = NULL;
    *prelu = NULL;
    for (int li = 0; li < CONV_N_LAYOUTS && *pd == NULL; li++) {
        dnnl_memory_desc_init_by_tag(&src_md, 4, c->sd, c->ct, order[li].src);
        dnnl_memory_desc_init_by_tag(&dst_md, 4, c->dd, c->dst_type, order[li].dst);
        if (dnnl_dilated_convolution_forward_desc_init(
                &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &c->w_md,
                c->has_bias ? &c->b_md : NULL, &dst_md, c->strides, c->dil, c->pl,
                c->pr) != dnnl_success) {
            continue;
        }
        if ((st = conv_pd_for_layout(p, n, &cd, pd, prelu, err)) != MIEN_OK) {
            if (fallback != NULL) {
                dnnl_primitive_desc_destroy(fallback);
            }
            return st;
        }
        if (*pd != NULL && impl_is_reference(*pd)) {
            if (fallback == NULL) {
                fallback = *pd;
            } else {
                dnnl_primitive_desc_destroy(*pd);
            }
            *pd = NULL;
            *prelu = NULL;
        }
    }
    if (*pd == NULL) {
        if (fallback == NULL) {
            return base_error_set(err, MIEN_ERR_BACKEND,
                                  "oneDNN has no convolution for node '%s' in any layout",
                                  n->name);
        }
        *pd = fallback;
    } else if (fallback != NULL) {
        dnnl_primitive_desc_destroy(fallback);
    }
    return MIEN_OK;
}

/* The ref of the slope of the PReLU fused into a convolution with `channels` outputs (one
 * per channel, or one for all); the PReLU is marked fused. */
static int conv_prelu_slope(nn_plan *p, const nn_node *prelu, int64_t channels)
{
    dnnl_memory_desc_t slope_md;
    dnnl_dims_t slope_dims = {1, channels, 1, 1};
    if (nn_tensor_elems(&p->g->tensors[prelu->inputs[1]]) == 1) {
        slope_dims[1] = 1;
    }
    dnnl_memory_desc_init_by_tag(&slope_md, 4, slope_dims, dnnl_f32, dnnl_acdb);
    p->fused[prelu - p->g->nodes] = true;
    return add_ref(p, &slope_md, -1, p->g->tensors[prelu->inputs[1]].data);
}

static mien_status plan_conv(nn_plan *p, const nn_node *n, mien_error *err)
{
    const nn_tensor *wt = &p->g->tensors[n->inputs[1]];
    int bias = n->n_inputs > 2 && n->inputs[2] >= 0 ? n->inputs[2] : -1;
    dnnl_memory_desc_t src_md, w_md, dst_md;
    dnnl_primitive_desc_t pd;
    const nn_node *prelu;
    conv_args c;
    mien_status st;
    int x_ref, w_ref, b_ref = -1, slope_ref = -1, y_ref;
    bool bf16;

    if (!is_const(p, n->inputs[1]) || (bias >= 0 && !is_const(p, bias))) {
        return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                              "node '%s' (Conv): weights must be constant", n->name);
    }
    bf16 = conv_is_bf16(p, n);
    conv_args_init(p, n, bf16, &c);
    if ((st = conv_choose(p, n, &c, &pd, &prelu, err)) != MIEN_OK) {
        return st;
    }
    src_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    w_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);

    if ((st = value_as(p, n->inputs[0], &src_md, &x_ref, err)) != MIEN_OK ||
        (st = const_as(p, wt->data, &c.w_plain, &w_md, n, &w_ref, err)) != MIEN_OK) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    if (bias >= 0) {
        b_ref = add_ref(p, &c.b_md, -1, p->g->tensors[bias].data);
    }
    y_ref = new_buf_ref(p, &dst_md);
    if (prelu != NULL) {
        slope_ref = conv_prelu_slope(p, prelu, shape_of(p, n->outputs[0])->dims[1]);
    }
    const step_in in[] = {{DNNL_ARG_SRC, x_ref},
                          {DNNL_ARG_WEIGHTS, w_ref},
                          {DNNL_ARG_BIAS, b_ref},
                          {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_WEIGHTS, slope_ref}};
    if ((st = emit_step(p, pd, n, in, 4, y_ref, err)) != MIEN_OK) {
        return st;
    }
    p->bf16_convs += bf16 ? 1 : 0;
    if (prelu != NULL) {
        produce(p, prelu->outputs[0], y_ref); /* the PReLU's output is the convolution's */
    }
    return MIEN_OK;
}

static mien_status plan_pool(nn_plan *p, const nn_node *n, mien_error *err)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]), *ys = shape_of(p, n->outputs[0]);
    int64_t pads[4], out_hw[2], in_hw[2] = {xs->dims[2], xs->dims[3]};
    dnnl_dims_t dd = {0}, strides, kernel, dil = {0, 0}, pl, pr;
    dnnl_memory_desc_t dst_md;
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_primitive_desc_t pd;
    dnnl_alg_kind_t alg;
    mien_status st;
    int x = p->values[n->inputs[0]].ref, y;
    nn_conv_geometry(&n->a, in_hw, pads, out_hw);
    for (int i = 0; i < 2; i++) {
        strides[i] = n->a.stride[i] > 0 ? n->a.stride[i] : 1;
        kernel[i] = n->a.kernel[i];
        pl[i] = pads[i];
        /* oneDNN derives the output size from the padding: make the right pad fit it
         * (ceil_mode windows may hang over the edge; they are excluded from the max/avg). */
        pr[i] = (out_hw[i] - 1) * strides[i] + kernel[i] - in_hw[i] - pl[i];
    }
    if (n->op == NN_OP_MAXPOOL) {
        alg = dnnl_pooling_max;
    } else {
        alg = n->a.count_include_pad ? dnnl_pooling_avg_include_padding
                                     : dnnl_pooling_avg_exclude_padding;
    }
    dims_of(ys, dd);
    dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32, dnnl_format_tag_any);
    DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, alg,
                                               &p->refs[x].md, &dst_md, strides, kernel, dil,
                                               pl, pr),
             n, "pooling desc");
    if ((st = make_pd(p, n, &pdsc, &n->a, "pooling primitive desc", &pd, err)) != MIEN_OK) {
        return st;
    }
    dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    y = new_buf_ref(p, &dst_md);
    return emit_step(p, pd, n, &(step_in){DNNL_ARG_SRC, x}, 1, y, err);
}

/* The ref an elementwise op on tensor t (held in ref x) writes to: x itself when this op is
 * t's only reader and x is a workspace buffer (oneDNN's eltwise, PReLU and binary run
 * in place; activations stay in cache), else a new buffer of the same layout. */
static bool can_write_in_place(const nn_plan *p, int t, int x)
{
    return p->consumers[t] == 1 && p->refs[x].buf >= 0 && !p->refs[x].alias &&
           p->values[t].ref == x;
}

static int inplace_or_new(nn_plan *p, int t, int x)
{
    if (can_write_in_place(p, t, x)) {
        return x;
    }
    return new_buf_ref(p, &p->refs[x].md);
}

/* True when md is a 4-D tensor laid out channels-last (NHWC), dense. */
static bool md_is_nhwc(const dnnl_memory_desc_t *md)
{
    return md_is_nhwc_of(md, dnnl_f32);
}

/* The step of elementwise primitive pd (taken over) on tensor a, in a's layout and in place
 * where a has no other reader; src1 >= 0 is the ref of a second operand (binary ops). */
static mien_status elementwise_step(nn_plan *p, const nn_node *n, dnnl_primitive_desc_t pd, int a,
                                    int src1, mien_error *err)
{
    int x = p->values[a].ref, y = inplace_or_new(p, a, x);
    /* DNNL_ARG_SRC_0 is DNNL_ARG_SRC */
    const step_in in[] = {{DNNL_ARG_SRC_0, x}, {DNNL_ARG_SRC_1, src1}};
    return emit_step(p, pd, n, in, 2, y, err);
}

/* Elementwise unary on oneDNN, in the input's own layout. */
static mien_status plan_eltwise(nn_plan *p, const nn_node *n, mien_error *err)
{
    dnnl_alg_kind_t alg;
    float alpha = 0.0f, beta = 0.0f;
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    mien_status st;
    int x = p->values[n->inputs[0]].ref;
    switch (n->op) {
    case NN_OP_RELU:
        alg = dnnl_eltwise_relu;
        break;
    case NN_OP_CLIP:
        alg = dnnl_eltwise_clip;
        alpha = n->a.clip_min;
        beta = n->a.clip_max;
        break;
    case NN_OP_NEG:
        alg = dnnl_eltwise_linear;
        alpha = -1.0f;
        break;
    case NN_OP_ABS:
        alg = dnnl_eltwise_abs;
        break;
    case NN_OP_EXP:
    default:
        alg = dnnl_eltwise_exp;
        break;
    }
    DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &p->refs[x].md,
                                            alpha, beta),
             n, "eltwise desc");
    if ((st = make_pd(p, n, &ed, NULL, "eltwise primitive desc", &pd, err)) != MIEN_OK) {
        return st;
    }
    return elementwise_step(p, n, pd, n->inputs[0], -1, err);
}

/* Per-channel PReLU of a 4-D (or 2-D) activation with a constant slope, on oneDNN. */
static mien_status plan_prelu(nn_plan *p, const nn_node *n, mien_error *err)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]);
    int x = p->values[n->inputs[0]].ref, y, w_ref, plain_w;
    dnnl_memory_desc_t w_md;
    dnnl_prelu_desc_t prd;
    dnnl_primitive_desc_t pd;
    mien_status st;
    if (!is_const(p, n->inputs[1])) {
        return c_step(p, n, CK_PRELU, err);
    }
    if (xs->rank == 4 && nn_tensor_elems(&p->g->tensors[n->inputs[1]]) == xs->dims[1] &&
        md_is_nhwc(&p->refs[x].md) && can_write_in_place(p, n->inputs[0], x)) {
        /* channels-last, in place: our kernel (kernels.h says why) */
        int64_t c = xs->dims[1], period = nn_kernel_prelu_period(c);
        const float *src = p->g->tensors[n->inputs[1]].data;
        float *rep = aligned_zalloc((size_t)period * sizeof(float));
        dnnl_memory_desc_t rep_md;
        dnnl_dims_t rep_dims = {period};
        int slope;
        if (rep == NULL || add_owned(p, rep, (size_t)period * sizeof(float)) < 0) {
            free(rep);
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
        for (int64_t k = 0; k < period; k++) {
            rep[k] = src[k % c];
        }
        dnnl_memory_desc_init_by_tag(&rep_md, 1, rep_dims, dnnl_f32, dnnl_a);
        slope = add_ref(p, &rep_md, -1, rep);
        step *s = slope >= 0 ? add_step(p) : NULL;
        if (s == NULL) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
        s->kernel = CK_PRELU_NHWC;
        s->node = n;
        s->n_in = 2;
        s->in_ref[0] = x;
        s->in_ref[1] = slope;
        s->out_ref = x;
        s->out_shape = *xs;
        touch(p, x);
        produce(p, n->outputs[0], x);
        return MIEN_OK;
    }
    plain_w = const_plain_ref(p, n->inputs[1], xs->rank);
    if (plain_w < 0) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    dnnl_memory_desc_init_by_tag(&w_md, xs->rank, p->refs[plain_w].md.dims, dnnl_f32,
                                 dnnl_format_tag_any);
    DNNL_TRY(dnnl_prelu_forward_desc_init(&prd, dnnl_forward_inference, &p->refs[x].md, &w_md),
             n, "prelu desc");
    if ((st = make_pd(p, n, &prd, NULL, "prelu primitive desc", &pd, err)) != MIEN_OK) {
        return st;
    }
    if (impl_is_reference(pd)) { /* below AVX2 oneDNN 2.6 has no PReLU kernel: ours */
        dnnl_primitive_desc_destroy(pd);
        return c_step(p, n, CK_PRELU, err);
    }
    w_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if ((st = const_as(p, p->refs[plain_w].ptr, &p->refs[plain_w].md, &w_md, n, &w_ref, err)) !=
        MIEN_OK) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    y = inplace_or_new(p, n->inputs[0], x);
    const step_in in[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w_ref}};
    return emit_step(p, pd, n, in, 2, y, err);
}

/* x·c or x + c for a scalar constant c as oneDNN's eltwise `linear` (alpha·x + beta), in x's
 * layout and in place: a JIT kernel on every ISA, where oneDNN 2.6's binary with a broadcast second
 * operand on a blocked layout runs `ref:any` at AVX2 (UltraFace's Mul_44: 5 ms). */
static mien_status plan_scalar_binary(nn_plan *p, const nn_node *n, int a, float c,
                                      mien_error *err)
{
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    mien_status st;
    float alpha = 1.0f, beta = 0.0f;
    int x = p->values[a].ref;
    if (n->op == NN_OP_MUL) {
        alpha = c;
    } else {
        beta = c;
    }
    DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, dnnl_eltwise_linear,
                                            &p->refs[x].md, alpha, beta),
             n, "eltwise desc");
    dnnl_status_t ds;
    if ((st = try_pd(p, n, &ed, &n->a, &pd, &ds, err)) != MIEN_OK) {
        return st;
    }
    if (ds != dnnl_success) {
        return c_step(p, n, CK_BINARY, err);
    }
    return elementwise_step(p, n, pd, a, -1, err);
}

/* Add/Sub/Mul/Div on oneDNN when the first operand has the output's shape and the second
 * is an activation of the same shape or a broadcastable constant; otherwise in C. */
static mien_status plan_binary(nn_plan *p, const nn_node *n, mien_error *err)
{
    int a = n->inputs[0], b = n->inputs[1], x, y_in;
    const nn_shape *os = shape_of(p, n->outputs[0]);
    dnnl_alg_kind_t alg;
    dnnl_binary_desc_t bd;
    dnnl_primitive_desc_t pd;
    mien_status st;
    if (is_const(p, a) && !is_const(p, b) && (n->op == NN_OP_ADD || n->op == NN_OP_MUL)) {
        int t = a; /* commutative: put the activation first */
        a = b;
        b = t;
    }
    /* Row-major tensors that are not feature maps (the detector's 4420×2 box decoding)
     * run in C: oneDNN's generic binary kernel takes ~40 µs on them, C ~3 µs. */
    if (is_const(p, a) || !nn_shape_equal(shape_of(p, a), os) ||
        shape_of(p, b)->rank > os->rank || os->rank != 4) {
        return c_step(p, n, CK_BINARY, err);
    }
    x = p->values[a].ref;
    if (is_const(p, b) && nn_tensor_elems(&p->g->tensors[b]) == 1 &&
        (n->op == NN_OP_MUL || n->op == NN_OP_ADD)) {
        return plan_scalar_binary(p, n, a, *(const float *)p->g->tensors[b].data, err);
    }
    if (is_const(p, b)) {
        y_in = const_plain_ref(p, b, os->rank);
    } else if (nn_shape_equal(shape_of(p, b), os)) {
        if ((st = value_as(p, b, &p->refs[x].md, &y_in, err)) != MIEN_OK) {
            return st;
        }
    } else {
        return c_step(p, n, CK_BINARY, err);
    }
    switch (n->op) {
    case NN_OP_ADD:
        alg = dnnl_binary_add;
        break;
    case NN_OP_SUB:
        alg = dnnl_binary_sub;
        break;
    case NN_OP_MUL:
        alg = dnnl_binary_mul;
        break;
    case NN_OP_DIV:
    default:
        alg = dnnl_binary_div;
        break;
    }
    DNNL_TRY(dnnl_binary_desc_init(&bd, alg, &p->refs[x].md, &p->refs[y_in].md, &p->refs[x].md),
             n, "binary desc");
    dnnl_status_t ds;
    if ((st = try_pd(p, n, &bd, &n->a, &pd, &ds, err)) != MIEN_OK) {
        return st;
    }
    if (ds != dnnl_success) {
        return c_step(p, n, CK_BINARY, err); /* e.g. a broadcast oneDNN cannot do */
    }
    if (impl_is_reference(pd)) { /* a broadcast on a blocked layout, at AVX2: C is faster */
        dnnl_primitive_desc_destroy(pd);
        return c_step(p, n, CK_BINARY, err);
    }
    return elementwise_step(p, n, pd, a, y_in, err);
}

/* Gemm with a constant B as a oneDNN inner product (TFLite FULLY_CONNECTED, trans_b). */
static mien_status plan_gemm(nn_plan *p, const nn_node *n, mien_error *err)
{
    const nn_shape *as = shape_of(p, n->inputs[0]), *bs = shape_of(p, n->inputs[1]);
    const nn_shape *ys = shape_of(p, n->outputs[0]);
    int bias = n->n_inputs > 2 && n->inputs[2] >= 0 ? n->inputs[2] : -1;
    dnnl_memory_desc_t src_md, w_md, w_plain, b_md, dst_md;
    dnnl_dims_t sd, wd, bd, dd, wstr;
    dnnl_inner_product_desc_t ipd;
    dnnl_primitive_desc_t pd;
    mien_status st;
    int x, w_ref, b_ref = -1, y;
    if (n->a.trans_a || n->a.alpha != 1.0f || !is_const(p, n->inputs[1]) ||
        (bias >= 0 && (!is_const(p, bias) || n->a.beta != 1.0f ||
                       nn_shape_elems(shape_of(p, bias)) != ys->dims[1]))) {
        return c_step(p, n, CK_GEMM, err);
    }
    if ((st = value_plain(p, n->inputs[0], &x, err)) != MIEN_OK) {
        return st;
    }
    dims_of(as, sd);
    dims_of(ys, dd);
    wd[0] = ys->dims[1]; /* oneDNN weights are {OC, IC} */
    wd[1] = as->dims[1];
    if (n->a.trans_b) { /* B is [N, K]: row-major {OC, IC} */
        wstr[0] = bs->dims[1];
        wstr[1] = 1;
    } else { /* B is [K, N] */
        wstr[0] = 1;
        wstr[1] = bs->dims[1];
    }
    dnnl_memory_desc_init_by_strides(&w_plain, 2, wd, dnnl_f32, wstr);
    dnnl_memory_desc_init_by_tag(&src_md, 2, sd, dnnl_f32, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&w_md, 2, wd, dnnl_f32, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&dst_md, 2, dd, dnnl_f32, dnnl_ab);
    if (bias >= 0) {
        bd[0] = ys->dims[1];
        dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a);
    }
    DNNL_TRY(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &src_md, &w_md,
                                                  bias >= 0 ? &b_md : NULL, &dst_md),
             n, "inner product desc");
    if ((st = make_pd(p, n, &ipd, &n->a, "inner product primitive desc", &pd, err)) != MIEN_OK) {
        return st;
    }
    if (impl_is_reference(pd)) {
        dnnl_primitive_desc_destroy(pd);
        return c_step(p, n, CK_GEMM, err);
    }
    w_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    if ((st = const_as(p, p->g->tensors[n->inputs[1]].data, &w_plain, &w_md, n, &w_ref, err)) !=
        MIEN_OK) {
        dnnl_primitive_desc_destroy(pd);
        return st;
    }
    if (bias >= 0) {
        b_ref = add_ref(p, &b_md, -1, p->g->tensors[bias].data);
    }
    y = new_buf_ref(p, &dst_md);
    const step_in in[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w_ref}, {DNNL_ARG_BIAS, b_ref}};
    return emit_step(p, pd, n, in, 3, y, err);
}

/* Reshape-like ops on a row-major tensor: a new descriptor over the same bytes. */
static mien_status plan_alias(nn_plan *p, const nn_node *n, mien_error *err)
{
    int x, y;
    dnnl_memory_desc_t md;
    mien_status st = value_plain(p, n->inputs[0], &x, err);
    if (st != MIEN_OK) {
        return st;
    }
    plain_md(&md, shape_of(p, n->outputs[0]));
    y = add_ref(p, &md, p->refs[x].buf, p->refs[x].ptr);
    if (y < 0) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    p->refs[y].graph_input = p->refs[x].graph_input;
    p->refs[y].alias = true;
    produce(p, n->outputs[0], y);
    return MIEN_OK;
}

/* Transpose: of a row-major tensor, a strided view (no copy); otherwise one reorder from
 * the input's layout straight into the transposed row-major layout. */
static mien_status plan_transpose(nn_plan *p, const nn_node *n, mien_error *err)
{
    const nn_shape *xs = shape_of(p, n->inputs[0]), *ys = shape_of(p, n->outputs[0]);
    value *v = &p->values[n->inputs[0]];
    dnnl_memory_desc_t md;
    dnnl_dims_t dims, strides;
    int64_t ost[NN_MAX_RANK];
    mien_status st;
    int y;
    nn_shape_strides(ys, ost);
    if (v->plain_ref >= 0) {
        /* view: output axis i walks input axis perm[i] */
        int64_t ist[NN_MAX_RANK];
        const mem_ref r_copy = p->refs[v->plain_ref]; /* add_ref may move p->refs */
        const mem_ref *r = &r_copy;
        nn_shape_strides(xs, ist);
        for (int i = 0; i < ys->rank; i++) {
            dims[i] = ys->dims[i];
            strides[i] = ist[n->a.perm[i]];
        }
        dnnl_memory_desc_init_by_strides(&md, ys->rank, dims, dnnl_f32, strides);
        y = add_ref(p, &md, r->buf, r->ptr);
        if (y < 0) {
            return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        }
        p->refs[y].graph_input = r->graph_input;
        p->refs[y].alias = true;
        p->values[n->outputs[0]].ref = y;
        p->values[n->outputs[0]].plain_ref = md_is_plain(&md) ? y : -1;
        p->values[n->outputs[0]].alt_ref = -1;
        return MIEN_OK;
    }
    /* input axis perm[i] is written with the output's stride i */
    for (int i = 0; i < xs->rank; i++) {
        dims[i] = xs->dims[i];
    }
    for (int i = 0; i < ys->rank; i++) {
        strides[n->a.perm[i]] = ost[i];
    }
    dnnl_memory_desc_init_by_strides(&md, xs->rank, dims, dnnl_f32, strides);
    if (dnnl_memory_desc_equal(&p->refs[v->ref].md, &md)) {
        y = v->ref; /* e.g. NHWC-laid activations transposed to [N,H,W,C]: same bytes */
    } else if ((st = reorder_to(p, v->ref, &md, &y, err)) != MIEN_OK) {
        return st;
    }
    plain_md(&md, ys);
    int out = add_ref(p, &md, p->refs[y].buf, p->refs[y].ptr);
    if (out < 0) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    p->refs[out].graph_input = p->refs[y].graph_input;
    p->refs[out].alias = y == v->ref;
    produce(p, n->outputs[0], out);
    return MIEN_OK;
}

/* Layouts a channel concat is offered when its inputs' own do not give a JIT kernel. */
static const dnnl_format_tag_t CONCAT_LAYOUTS[] = {dnnl_nChw8c, dnnl_nChw16c, dnnl_nhwc,
                                                   dnnl_nchw};

/* Concat of feature maps along channels on oneDNN, in their own (blocked) layouts, so the
 * RFB branches need no round trip through row-major; anything else in C. */
static mien_status plan_concat(nn_plan *p, const nn_node *n, mien_error *err)
{
    dnnl_memory_desc_t srcs[NN_MAX_NODE_INPUTS], dst_md;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    mien_status st;
    step_in in[NN_MAX_NODE_INPUTS];
    int refs[NN_MAX_NODE_INPUTS], y;
    int rank = shape_of(p, n->outputs[0])->rank;
    int axis = (int)(n->a.axis < 0 ? n->a.axis + rank : n->a.axis);
    if (rank != 4 || axis != 1) {
        return c_step(p, n, CK_CONCAT, err);
    }
    for (int i = 0; i < n->n_inputs; i++) {
        if (n->inputs[i] < 0 || is_const(p, n->inputs[i])) {
            return c_step(p, n, CK_CONCAT, err);
        }
        refs[i] = p->values[n->inputs[i]].ref;
        srcs[i] = p->refs[refs[i]].md;
    }
    if ((st = make_attr(&attr, NULL, n, err)) != MIEN_OK) {
        return st;
    }
    /* The inputs as they are, then all in one layout (oneDNN 2.6 at AVX2 runs a concat of
     * mixed layouts on `ref:any`); the inputs are reordered only for a layout that has a
     * kernel other than the reference one. None has: C, on row-major copies. */
    dnnl_status_t ds = dnnl_unimplemented;
    for (int li = -1; li < (int)(sizeof(CONCAT_LAYOUTS) / sizeof(CONCAT_LAYOUTS[0])); li++) {
        if (li >= 0) {
            for (int i = 0; i < n->n_inputs; i++) {
                dnnl_memory_desc_init_by_tag(&srcs[i], 4, p->refs[refs[i]].md.dims, dnnl_f32,
                                             CONCAT_LAYOUTS[li]);
            }
        }
        ds = dnnl_concat_primitive_desc_create(&pd, NULL, n->n_inputs, axis, srcs, attr,
                                               p->backend->engine);
        if (ds == dnnl_success && !impl_is_reference(pd)) {
            break;
        }
        if (ds == dnnl_success) {
            dnnl_primitive_desc_destroy(pd);
            ds = dnnl_unimplemented;
        }
    }
    dnnl_primitive_attr_destroy(attr);
    if (ds != dnnl_success) {
        return c_step(p, n, CK_CONCAT, err);
    }
    for (int i = 0; i < n->n_inputs; i++) {
        if ((st = value_as(p, n->inputs[i], &srcs[i], &refs[i], err)) != MIEN_OK) {
            dnnl_primitive_desc_destroy(pd);
            return st;
        }
    }
    for (int i = 0; i < n->n_inputs; i++) {
        in[i] = (step_in){DNNL_ARG_MULTIPLE_SRC + i, refs[i]};
    }
    dst_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    y = new_buf_ref(p, &dst_md);
    return emit_step(p, pd, n, in, n->n_inputs, y, err);
}

static mien_status plan_node(nn_plan *p, const nn_node *n, mien_error *err)
{
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        if (t >= 0 && !is_const(p, t) && p->values[t].ref < 0) {
            return base_error_set(err, MIEN_ERR_MODEL, "node '%s' reads '%s' before it is made",
                                  n->name, p->g->tensors[t].name);
        }
    }
    switch (n->op) {
    case NN_OP_CONV:
        return plan_conv(p, n, err);
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL:
        return plan_pool(p, n, err);
    case NN_OP_RELU:
    case NN_OP_CLIP:
    case NN_OP_NEG:
    case NN_OP_ABS:
    case NN_OP_EXP:
        return plan_eltwise(p, n, err);
    case NN_OP_PRELU:
        return plan_prelu(p, n, err);
    case NN_OP_ADD:
    case NN_OP_SUB:
    case NN_OP_MUL:
    case NN_OP_DIV:
        return plan_binary(p, n, err);
    case NN_OP_GEMM:
        return plan_gemm(p, n, err);
    case NN_OP_SOFTMAX:
        return c_step(p, n, CK_SOFTMAX, err);
    case NN_OP_REDUCE_MAX:
    case NN_OP_REDUCE_SUM:
        return c_step(p, n, CK_REDUCE, err);
    case NN_OP_CONCAT:
        return plan_concat(p, n, err);
    case NN_OP_SLICE:
        return c_step(p, n, CK_SLICE, err);
    case NN_OP_RESHAPE:
    case NN_OP_FLATTEN:
    case NN_OP_SQUEEZE:
    case NN_OP_UNSQUEEZE:
    case NN_OP_IDENTITY:
        return plan_alias(p, n, err);
    case NN_OP_TRANSPOSE:
        return plan_transpose(p, n, err);
    case NN_OP_SHAPE:
    case NN_OP_GATHER:
    case NN_OP_BATCHNORM:
    case NN_OP_COUNT:
        break;
    }
    return base_error_set(err, MIEN_ERR_UNSUPPORTED,
                          "node '%s': operator %s is not supported by the oneDNN executor "
                          "(it should have been folded at load)",
                          n->name, nn_op_name(n->op));
}

/* ---- workspace layout and finalisation ---------------------------------------------------- */

static int cmp_size_desc(const void *a, const void *b, void *ctx)
{
    const buffer *bufs = ctx;
    size_t sa = bufs[*(const int *)a].size, sb = bufs[*(const int *)b].size;
    return sa < sb ? 1 : (sa > sb ? -1 : 0);
}

/* First-fit, largest first: each buffer takes the lowest offset not overlapping a placed
 * buffer whose lifetime intersects its own. */
static mien_status layout_workspace(nn_plan *p, mien_error *err)
{
    int *order = malloc((size_t)(p->n_bufs > 0 ? p->n_bufs : 1) * sizeof(*order));
    int placed = 0;
    if (order == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < p->n_bufs; i++) {
        order[i] = i;
        p->bufs[i].size = (p->bufs[i].size + WORKSPACE_ALIGN - 1) / WORKSPACE_ALIGN *
                          WORKSPACE_ALIGN;
    }
    qsort_r(order, (size_t)p->n_bufs, sizeof(*order), cmp_size_desc, p->bufs);
    p->workspace_size = 0;
    for (int k = 0; k < p->n_bufs; k++) {
        buffer *b = &p->bufs[order[k]];
        size_t off = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (int j = 0; j < placed; j++) {
                const buffer *o = &p->bufs[order[j]];
                bool live = !(o->last < b->first || b->last < o->first) || o->pinned ||
                            b->pinned;
                if (live && off < o->offset + o->size && o->offset < off + b->size) {
                    off = o->offset + o->size;
                    moved = true;
                }
            }
        }
        b->offset = off;
        placed++;
        if (off + b->size > p->workspace_size) {
            p->workspace_size = off + b->size;
        }
    }
    free(order);
    return MIEN_OK;
}

static mien_status finalize(nn_plan *p, mien_error *err)
{
    mien_status st = layout_workspace(p, err);
    if (st != MIEN_OK) {
        return st;
    }
    p->workspace = aligned_zalloc(p->workspace_size);
    p->scratch = aligned_zalloc(p->scratch_size);
    if (p->workspace == NULL || p->scratch == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory for a %zu-byte workspace",
                              p->workspace_size);
    }
    {
        dnnl_memory_desc_t smd;
        dnnl_dims_t sd = {(dnnl_dim_t)(p->scratch_size ? p->scratch_size : 1)};
        dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_u8, dnnl_a);
        DNNL_TRY(dnnl_memory_create(&p->scratch_mem, &smd, p->backend->engine, p->scratch), NULL,
                 "scratchpad memory");
    }
    for (int i = 0; i < p->n_refs; i++) {
        mem_ref *r = &p->refs[i];
        if (r->buf >= 0) {
            r->ptr = (char *)p->workspace + p->bufs[r->buf].offset;
        }
        DNNL_TRY(dnnl_memory_create(&r->mem, &r->md, p->backend->engine,
                                    r->ptr != NULL ? r->ptr : DNNL_MEMORY_NONE),
                 NULL, "memory create");
    }
    for (int k = 0; k < p->n_steps; k++) {
        step *s = &p->steps[k];
        for (int a = 0; a < s->n_args; a++) {
            s->args[a].arg = s->arg_kind[a];
            s->args[a].memory = s->arg_ref[a] >= 0 ? p->refs[s->arg_ref[a]].mem : p->scratch_mem;
        }
    }
    return MIEN_OK;
}

/* ---- public --------------------------------------------------------------------------------- */

mien_status nn_backend_new(nn_backend **out, mien_error *err)
{
    nn_backend *b = calloc(1, sizeof(*b));
    *out = NULL;
    if (b == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (dnnl_engine_create(&b->engine, dnnl_cpu, 0) != dnnl_success) {
        free(b);
        return base_error_set(err, MIEN_ERR_BACKEND, "oneDNN: cannot create the CPU engine");
    }
    if (dnnl_stream_create(&b->stream, b->engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(b->engine);
        free(b);
        return base_error_set(err, MIEN_ERR_BACKEND, "oneDNN: cannot create a stream");
    }
    /* the ISA values are nested bit sets: every later ISA contains avx512_core_bf16's bits
     * except avx2_vnni, which lacks avx512 */
    b->bf16 = ((unsigned)dnnl_get_effective_cpu_isa() & (unsigned)dnnl_cpu_isa_avx512_core_bf16) ==
              (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    *out = b;
    return MIEN_OK;
}

void nn_backend_free(nn_backend *b)
{
    if (b == NULL) {
        return;
    }
    dnnl_stream_destroy(b->stream);
    dnnl_engine_destroy(b->engine);
    free(b->tune);
    free(b);
}

long nn_plan_profile(const nn_plan *p, mien_step_time *steps)
{
    if (p->profile_ms == NULL || p->profile_runs == 0) {
        return 0;
    }
    for (int k = 0; k < p->n_steps; k++) {
        const step *s = &p->steps[k];
        const nn_node *n = s->node;
        const char *impl = s->impl[0] != '\0' ? s->impl : NULL;
        const dnnl_memory_desc_t *md = s->n_args > 1 ? &p->refs[s->arg_ref[1]].md : NULL;
        nn_shape sh = s->out_shape;
        if (md != NULL) {
            sh.rank = md->ndims;
            for (int i = 0; i < md->ndims; i++) {
                sh.dims[i] = md->dims[i];
            }
        }
        nn_dims_str(sh.rank, sh.dims, steps[k].dims, sizeof(steps[k].dims));
        steps[k].ms = p->profile_ms[k] / (double)p->profile_runs;
        steps[k].op = n != NULL ? nn_op_name(n->op) : "reorder";
        steps[k].node = n != NULL ? n->name : "";
        steps[k].kernel = s->prim == NULL ? "C" : (impl ? impl : "");
    }
    return p->profile_runs;
}

void nn_plan_free(nn_plan *p)
{
    if (p == NULL) {
        return;
    }
    free(p->profile_ms);
    for (int i = 0; i < p->n_steps; i++) {
        if (p->steps[i].prim != NULL) {
            dnnl_primitive_destroy(p->steps[i].prim);
        }
    }
    for (int i = 0; i < p->n_refs; i++) {
        if (p->refs[i].mem != NULL) {
            dnnl_memory_destroy(p->refs[i].mem);
        }
    }
    if (p->scratch_mem != NULL) {
        dnnl_memory_destroy(p->scratch_mem);
    }
    for (int i = 0; i < p->n_owned; i++) {
        free(p->owned[i]);
    }
    free(p->fused);
    free(p->consumers);
    free(p->owned);
    free(p->steps);
    free(p->bufs);
    free(p->refs);
    free(p->values);
    free(p->shapes);
    free(p->workspace);
    free(p->scratch);
    free(p);
}

bool nn_backend_has_bf16(const nn_backend *b)
{
    return b != NULL && b->bf16;
}

int nn_plan_bf16_convs(const nn_plan *p)
{
    return p->bf16_convs;
}

mien_status nn_plan_new(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                        int threads, nn_plan **out, mien_error *err)
{
    const nn_plan_options opt = {.threads = threads};
    return nn_plan_new_opts(b, g, in_shapes, &opt, out, err);
}

mien_status nn_plan_new_layout(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                               int threads, bool input_channels_last, nn_plan **out,
                               mien_error *err)
{
    const nn_plan_options opt = {.threads = threads, .input_channels_last = input_channels_last};
    return nn_plan_new_opts(b, g, in_shapes, &opt, out, err);
}

mien_status nn_plan_new_opts(nn_backend *b, const nn_graph *g, const nn_shape *in_shapes,
                             const nn_plan_options *opt, nn_plan **out, mien_error *err)
{
    static const nn_plan_options defaults = {.threads = 1};
    nn_plan *p = calloc(1, sizeof(*p));
    mien_status st;
    bool input_channels_last;
    *out = NULL;
    if (p == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
    }
    if (opt == NULL) {
        opt = &defaults;
    }
    input_channels_last = opt->input_channels_last;
    p->backend = b;
    p->g = g;
    p->threads = opt->threads > 0 ? opt->threads : 1;
    p->bf16 = opt->precision == NN_PRECISION_BF16 && b->bf16;
    p->deterministic = opt->deterministic || p->bf16;
    p->shapes = calloc((size_t)g->n_tensors, sizeof(*p->shapes));
    p->values = calloc((size_t)g->n_tensors, sizeof(*p->values));
    p->fused = calloc((size_t)(g->n_nodes > 0 ? g->n_nodes : 1), sizeof(*p->fused));
    p->consumers = calloc((size_t)g->n_tensors, sizeof(*p->consumers));
    if (p->shapes == NULL || p->values == NULL || p->fused == NULL ||
        p->consumers == NULL) {
        st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = nn_graph_infer_shapes(g, in_shapes, p->shapes, err)) != MIEN_OK) {
        goto fail;
    }
    for (int i = 0; i < g->n_tensors; i++) {
        p->values[i].ref = p->values[i].plain_ref = p->values[i].alt_ref = -1;
    }
    omp_set_num_threads(p->threads); /* primitives are generated for this thread count */
    for (int i = 0; i < g->n_inputs; i++) {
        dnnl_memory_desc_t md;
        int r;
        plain_md(&md, &p->shapes[g->inputs[i]]);
        if (input_channels_last && md.ndims == 4) {
            dnnl_memory_desc_init_by_tag(&md, 4, md.dims, dnnl_f32, dnnl_nhwc);
        }
        r = add_ref(p, &md, -1, NULL);
        if (r < 0) {
            st = base_error_set(err, MIEN_ERR_NOMEM, "out of memory");
            goto fail;
        }
        p->refs[r].graph_input = i;
        produce(p, g->inputs[i], r);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            if (g->nodes[i].inputs[k] >= 0) {
                p->consumers[g->nodes[i].inputs[k]]++;
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        p->consumers[g->outputs[i]]++;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (p->fused[i]) {
            continue; /* computed by an earlier primitive's post-op */
        }
        if ((st = plan_node(p, &g->nodes[i], err)) != MIEN_OK) {
            goto fail;
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int t = g->outputs[i];
        if (is_const(p, t) || p->values[t].ref < 0) {
            st = base_error_set(err, MIEN_ERR_MODEL, "graph output '%s' is never computed",
                                g->tensors[t].name);
            goto fail;
        }
        if ((st = value_plain(p, t, &p->out_ref[i], err)) != MIEN_OK) {
            goto fail;
        }
        if (p->refs[p->out_ref[i]].graph_input >= 0) { /* output aliases an input: copy */
            dnnl_memory_desc_t md = p->refs[p->out_ref[i]].md;
            if ((st = reorder_to(p, p->out_ref[i], &md, &p->out_ref[i], err)) != MIEN_OK) {
                goto fail;
            }
        }
    }
    for (int i = 0; i < g->n_outputs; i++) { /* outputs live until the next run */
        int bi = p->refs[p->out_ref[i]].buf;
        if (bi >= 0) {
            p->bufs[bi].last = p->n_steps;
        }
    }
    if ((st = finalize(p, err)) != MIEN_OK) {
        goto fail;
    }
    if (opt->profile) {
        p->profile_ms = calloc((size_t)p->n_steps, sizeof(*p->profile_ms));
    }
    *out = p;
    return MIEN_OK;
fail:
    nn_plan_free(p);
    return st;
}

/* Denormal floats (below 1.2e-38) cost Intel cores ~100 cycles per operation: a MobileFaceNet
 * whose activations decay into that range ran 63 ms instead of 6 in float32 on a Xeon
 * (AMD's cores barely notice). Their contribution to a template is nil, so inference runs
 * with flush-to-zero and denormals-are-zero set (MXCSR, the SSE/AVX control register; ONNX
 * Runtime offers the same as set_denormal_as_zero). The caller's own setting is restored
 * after the run; OpenMP's worker threads, which only ever run inference, keep it. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define MXCSR_FTZ_DAZ 0x8040u /* FTZ (bit 15) | DAZ (bit 6) */
static unsigned denormals_off(int threads)
{
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | MXCSR_FTZ_DAZ);
    if (threads > 1) {
#pragma omp parallel num_threads(threads)
        _mm_setcsr(_mm_getcsr() | MXCSR_FTZ_DAZ);
    }
    return saved;
}
static void denormals_restore(unsigned saved)
{
    _mm_setcsr(saved);
}
#else
static unsigned denormals_off(int threads)
{
    (void)threads;
    return 0;
}
static void denormals_restore(unsigned saved)
{
    (void)saved;
}
#endif

static mien_status plan_run_steps(nn_plan *p, const float *const *inputs, mien_error *err);

mien_status nn_plan_run(nn_plan *p, const float *const *inputs, mien_error *err)
{
    unsigned saved;
    mien_status st;
    omp_set_num_threads(p->threads);
    saved = denormals_off(p->threads);
    st = plan_run_steps(p, inputs, err);
    denormals_restore(saved);
    return st;
}

static mien_status plan_run_steps(nn_plan *p, const float *const *inputs, mien_error *err)
{
    for (int i = 0; i < p->n_refs; i++) {
        mem_ref *r = &p->refs[i];
        if (r->graph_input >= 0 && r->buf < 0) {
            r->ptr = (void *)inputs[r->graph_input]; /* only read */
            if (dnnl_memory_set_data_handle(r->mem, r->ptr) != dnnl_success) {
                return base_error_set(err, MIEN_ERR_BACKEND, "oneDNN: cannot bind input %d",
                                      r->graph_input);
            }
        }
    }
    for (int k = 0; k < p->n_steps; k++) {
        step *s = &p->steps[k];
        double t0 = 0;
        if (p->profile_ms != NULL) {
            dnnl_stream_wait(p->backend->stream);
            t0 = mien_now_ms();
        }
        if (s->prim != NULL) {
            dnnl_status_t ds = dnnl_primitive_execute(s->prim, p->backend->stream, s->n_args,
                                                      s->args);
            if (ds != dnnl_success) {
                return dnnl_fail(err, ds, s->node, "execute");
            }
        } else {
            run_c_step(p, s);
        }
        if (p->profile_ms != NULL) {
            dnnl_stream_wait(p->backend->stream);
            p->profile_ms[k] += mien_now_ms() - t0;
        }
    }
    p->profile_runs++;
    if (dnnl_stream_wait(p->backend->stream) != dnnl_success) {
        return base_error_set(err, MIEN_ERR_BACKEND, "oneDNN: stream wait failed");
    }
    return MIEN_OK;
}

const float *nn_plan_output(const nn_plan *p, int i, nn_shape *shape)
{
    if (i < 0 || i >= p->g->n_outputs) {
        return NULL;
    }
    if (shape != NULL) {
        *shape = p->shapes[p->g->outputs[i]];
    }
    return p->refs[p->out_ref[i]].ptr;
}

size_t nn_plan_workspace_bytes(const nn_plan *p)
{
    return p->workspace_size + p->scratch_size + p->owned_bytes;
}

const char *nn_plan_impl(const nn_plan *p, int node_index)
{
    if (node_index < 0 || node_index >= p->g->n_nodes) {
        return NULL;
    }
    /* the node's first oneDNN step: each step keeps the name of its own kernel */
    for (int k = 0; k < p->n_steps; k++) {
        const step *s = &p->steps[k];
        if (s->node == &p->g->nodes[node_index] && s->impl[0] != '\0') {
            return s->impl;
        }
    }
    return NULL;
}

int nn_plan_steps(const nn_plan *p)
{
    return p->n_steps;
}

int nn_plan_ref_steps(const nn_plan *p, char *names, size_t cap)
{
    int count = 0;
    size_t used = 0;
    if (names != NULL && cap > 0) {
        names[0] = '\0';
    }
    for (int i = 0; i < p->n_steps; i++) {
        const step *s = &p->steps[i];
        if (s->prim == NULL || !impl_name_is_reference(s->impl)) {
            continue;
        }
        if (names != NULL && used < cap) {
            int w = snprintf(names + used, cap - used, "%s%s (%s)", count ? ", " : "",
                             s->node != NULL ? s->node->name : "reorder", s->impl);
            used += w > 0 ? (size_t)w : 0;
        }
        count++;
    }
    return count;
}

const char *nn_isa_name(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
        return "sse41";
    case dnnl_cpu_isa_avx:
        return "avx";
    case dnnl_cpu_isa_avx2:
        return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
    case dnnl_cpu_isa_avx512_mic_4ops:
        return "avx512_mic";
    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";
    case dnnl_cpu_isa_all:
    default:
        return "unknown";
    }
}

mien_status nn_set_max_isa(mien_isa cap, mien_error *err)
{
    dnnl_cpu_isa_t isa;
    switch (cap) {
    case MIEN_ISA_C: /* oneDNN's lowest level; mien's own kernels go down to C */
    case MIEN_ISA_SSE41:
        isa = dnnl_cpu_isa_sse41;
        break;
    case MIEN_ISA_AVX2:
        isa = dnnl_cpu_isa_avx2;
        break;
    case MIEN_ISA_AVX512:
        isa = dnnl_cpu_isa_avx512_core;
        break;
    case MIEN_ISA_AVX512_BF16:
        isa = dnnl_cpu_isa_avx512_core_bf16;
        break;
    case MIEN_ISA_NATIVE:
    default:
        return MIEN_OK; /* nothing to lift; $ONEDNN_MAX_CPU_ISA keeps working */
    }
    if (dnnl_set_max_cpu_isa(isa) != dnnl_success) {
        return base_error_set(err, MIEN_ERR_ARG,
                              "cannot cap oneDNN at '%s': it has already run in this process "
                              "(set the cap before the first engine, or in another process)",
                              base_isa_name(cap));
    }
    return MIEN_OK;
}

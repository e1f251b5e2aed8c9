/* passes.c — simplifying the IR: constant folding, PReLU/softmax recovery, activation
 * fusion, identity and dead-node removal (see passes.h).
 *
 * The patterns matched are the exact node sequences found in the catalogue models
 * (DESIGN.md §3, §4), read from the files with the TFLite loader:
 *   MTCNN P/R/O-Net (every PReLU, 4-D after Conv and 2-D after FULLY_CONNECTED):
 *       RELU(x), NEG(x) → RELU → NEG → MUL(alpha[C], ·) → ADD(relu, mul)
 *     relu(x) + alpha·(−relu(−x)) = x for x ≥ 0 and alpha·x for x < 0: PRelu(x, alpha).
 *   MobileFaceNet.tflite (33 PReLUs):
 *       RELU(x), ABS(x) → SUB(x, abs) → MUL(alpha'[C], ·) → ADD(relu, mul)
 *     x − |x| = 2·min(x, 0), so this is PRelu(x, 2·alpha'); doubling a float is exact, so
 *     the fused form computes bit-identical results.
 *   MTCNN softmax: REDUCE_MAX(x, axis, keep) → SUB(x, max) → EXP → SUM(axis, keep) →
 *     DIV(exp, sum): Softmax(x, axis) (NHWC axis 3, which the loader maps to NCHW 1).
 *
 * Each pass marks nodes to drop and compacts the node array at its end; lookups
 * (producer, consumer count) skip marked nodes. Node order stays topological: a fused node
 * takes the place of the last node of its pattern.
 */
#include "nn/passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/ref_exec.h"

/* Upper bound of optimisation rounds. Each round that changes something removes at least
 * one node or tensor, so real graphs settle in 2–3 rounds; the bound only guards against
 * a bug making two passes undo each other. */
#define MAX_ROUNDS 64

/* A pass in progress: the graph and the nodes it has marked for removal. */
typedef struct pass_ctx {
    nn_graph *g;
    bool *drop;             /* [g->n_nodes] */
    const nn_shape *shapes; /* every tensor's static shape, for remove_identity; else NULL */
} pass_ctx;

static mien_status ctx_open(pass_ctx *c, nn_graph *g, mien_error *err)
{
    c->g = g;
    c->shapes = NULL;
    c->drop = calloc((size_t)(g->n_nodes > 0 ? g->n_nodes : 1), sizeof(*c->drop));
    if (c->drop == NULL) {
        return base_error_set(err, MIEN_ERR_NOMEM, "graph passes: out of memory");
    }
    return MIEN_OK;
}

/* Removes the marked nodes (freeing their names), keeping the order, and frees the mask. */
static void ctx_close(pass_ctx *c)
{
    nn_graph *g = c->g;
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (c->drop[i]) {
            free(g->nodes[i].name);
            continue;
        }
        g->nodes[kept++] = g->nodes[i];
    }
    g->n_nodes = kept;
    free(c->drop);
    c->drop = NULL;
}

/* A pass's rule at node i: rewrites the node or its producers (marking the nodes it
 * replaces in c->drop); *done when it changed something. */
typedef mien_status (*node_rule)(pass_ctx *c, int i, bool *done, mien_error *err);

/* Applies `rule` at every node not marked for removal, in order, then removes the marked
 * nodes. *changed (when not NULL) gets the number of rewrites. Stops at the first failure,
 * the rewrites before it kept. `shapes` is handed to the rule through c->shapes. */
static mien_status run_node_pass(nn_graph *g, node_rule rule, const nn_shape *shapes,
                                 int *changed, mien_error *err)
{
    pass_ctx c;
    int count = 0;
    mien_status s = ctx_open(&c, g, err);
    if (s != MIEN_OK) {
        return s;
    }
    c.shapes = shapes;
    for (int i = 0; i < g->n_nodes && s == MIEN_OK; i++) {
        bool done = false;
        if (!c.drop[i]) {
            s = rule(&c, i, &done, err);
            count += done;
        }
    }
    ctx_close(&c);
    if (changed != NULL) {
        *changed = count;
    }
    return s;
}

/* Index of the live node producing tensor t, or -1. */
static int producer(const pass_ctx *c, int t)
{
    for (int i = 0; t >= 0 && i < c->g->n_nodes; i++) {
        if (c->drop[i]) {
            continue;
        }
        for (int k = 0; k < c->g->nodes[i].n_outputs; k++) {
            if (c->g->nodes[i].outputs[k] == t) {
                return i;
            }
        }
    }
    return -1;
}

static bool is_graph_output(const nn_graph *g, int t)
{
    for (int k = 0; k < g->n_outputs; k++) {
        if (g->outputs[k] == t) {
            return true;
        }
    }
    return false;
}

static bool is_graph_input(const nn_graph *g, int t)
{
    for (int k = 0; k < g->n_inputs; k++) {
        if (g->inputs[k] == t) {
            return true;
        }
    }
    return false;
}

/* Number of reads of tensor t by live nodes, plus one per graph output naming it. */
static int uses(const pass_ctx *c, int t)
{
    int count = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        if (c->drop[i]) {
            continue;
        }
        for (int k = 0; k < c->g->nodes[i].n_inputs; k++) {
            count += c->g->nodes[i].inputs[k] == t;
        }
    }
    for (int k = 0; k < c->g->n_outputs; k++) {
        count += c->g->outputs[k] == t;
    }
    return count;
}

/* The live producer of t when t is an activation read exactly once and its producer
 * is of op `op` with no fused activation; else NULL. */
static nn_node *sole_producer(const pass_ctx *c, int t, nn_op op, int *index)
{
    int p;
    if (t < 0 || nn_tensor_is_const(&c->g->tensors[t]) || uses(c, t) != 1) {
        return NULL;
    }
    p = producer(c, t);
    if (p < 0 || c->g->nodes[p].op != op || c->g->nodes[p].a.act != NN_ACT_NONE) {
        return NULL;
    }
    if (index != NULL) {
        *index = p;
    }
    return &c->g->nodes[p];
}

/* Makes every live reader of tensor `from` read `to` instead. */
static void replace_uses(pass_ctx *c, int from, int to)
{
    for (int i = 0; i < c->g->n_nodes; i++) {
        for (int k = 0; !c->drop[i] && k < c->g->nodes[i].n_inputs; k++) {
            if (c->g->nodes[i].inputs[k] == from) {
                c->g->nodes[i].inputs[k] = to;
            }
        }
    }
}

/* Removes node `i`, whose output `out` equals its input `in` in value and shape. Readers
 * of `out` read `in`; when `out` is a graph output, in's producer writes `out` instead
 * (so graph outputs keep their names). False (nothing changed) when neither is possible. */
static bool bypass(pass_ctx *c, int i, int in, int out)
{
    int p;
    if (!is_graph_output(c->g, out)) {
        replace_uses(c, out, in);
        c->drop[i] = true;
        return true;
    }
    if (is_graph_output(c->g, in) || is_graph_input(c->g, in) || uses(c, in) != 1) {
        return false;
    }
    p = producer(c, in);
    if (p < 0) {
        return false;
    }
    for (int k = 0; k < c->g->nodes[p].n_outputs; k++) {
        if (c->g->nodes[p].outputs[k] == in) {
            c->g->nodes[p].outputs[k] = out;
        }
    }
    c->drop[i] = true;
    return true;
}

/* Static shapes of every tensor when every graph input dim is declared: *shapes is a
 * malloc'd [g->n_tensors] array (caller frees), computed over the first `upto` nodes.
 * Returns false (and *shapes NULL) when not known or inference fails there. */
static bool static_shapes(const nn_graph *g, int upto, nn_shape **shapes)
{
    nn_shape in_shapes[NN_MAX_GRAPH_IO];
    nn_graph prefix = *g;
    *shapes = NULL;
    for (int k = 0; k < g->n_inputs; k++) {
        const nn_tensor *t = &g->tensors[g->inputs[k]];
        in_shapes[k].rank = t->rank;
        for (int d = 0; d < t->rank; d++) {
            if (t->dims[d] < 0) {
                return false;
            }
            in_shapes[k].dims[d] = t->dims[d];
        }
    }
    *shapes = malloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1) * sizeof(**shapes));
    if (*shapes == NULL) {
        return false;
    }
    prefix.n_nodes = upto;
    if (nn_graph_infer_shapes(&prefix, in_shapes, *shapes, NULL) != MIEN_OK) {
        free(*shapes);
        *shapes = NULL;
        return false;
    }
    return true;
}

/* ---- constant folding ------------------------------------------------------------------- */

/* Evaluates node i (all inputs constant, or a Shape of known shape `known`) and turns its
 * output into a constant. */
static mien_status fold_node(pass_ctx *c, int i, const nn_shape *known, mien_error *err)
{
    nn_node *n = &c->g->nodes[i];
    nn_shape ish[NN_MAX_NODE_INPUTS], osh[NN_MAX_NODE_OUTPUTS];
    const void *idata[NN_MAX_NODE_INPUTS];
    void *odata[NN_MAX_NODE_OUTPUTS];
    nn_dtype odt[NN_MAX_NODE_OUTPUTS];
    nn_tensor *t;
    mien_status s;
    static const float dummy = 0.0f; /* Shape reads no data, only the shape */
    for (int k = 0; k < n->n_inputs; k++) {
        const nn_tensor *in = n->inputs[k] >= 0 ? &c->g->tensors[n->inputs[k]] : NULL;
        idata[k] = in != NULL ? in->data : NULL;
        ish[k].rank = in != NULL ? in->rank : 0;
        if (in != NULL) {
            memcpy(ish[k].dims, in->dims, sizeof(in->dims));
        }
    }
    if (known != NULL) {
        ish[0] = *known;
        idata[0] = &dummy;
    }
    s = nn_ref_eval_node(c->g, n, ish, idata, osh, odata, odt, err);
    if (s != MIEN_OK) {
        return s;
    }
    for (int k = 1; k < n->n_outputs; k++) {
        free(odata[k]);
    }
    t = &c->g->tensors[n->outputs[0]];
    free(t->data);
    t->data = odata[0];
    t->dtype = odt[0];
    t->rank = osh[0].rank;
    memset(t->dims, 0, sizeof(t->dims));
    memcpy(t->dims, osh[0].dims, sizeof(osh[0].dims[0]) * (size_t)osh[0].rank);
    c->drop[i] = true;
    return MIEN_OK;
}

/* Folds node i when every input is constant, or when it is a Shape of a statically known
 * shape. */
static mien_status fold_at(pass_ctx *c, int i, bool *done, mien_error *err)
{
    nn_graph *g = c->g;
    nn_node *n = &g->nodes[i];
    bool all_const = n->n_inputs > 0;
    int out = n->outputs[0];
    bool single_out = true;
    mien_status s = MIEN_OK;
    for (int k = 1; k < n->n_outputs; k++) {
        single_out = single_out && n->outputs[k] < 0;
    }
    if (n->n_outputs < 1 || out < 0 || !single_out || is_graph_output(g, out)) {
        return MIEN_OK;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        all_const = all_const &&
                    (n->inputs[k] < 0 || nn_tensor_is_const(&g->tensors[n->inputs[k]]));
    }
    if (n->n_inputs > 0 && n->inputs[0] < 0) {
        all_const = false;
    }
    if (all_const) {
        s = fold_node(c, i, NULL, err);
        *done = s == MIEN_OK;
    } else if (n->op == NN_OP_SHAPE && n->n_inputs >= 1 && n->inputs[0] >= 0) {
        nn_shape *shapes;
        if (static_shapes(g, i, &shapes)) {
            s = fold_node(c, i, &shapes[n->inputs[0]], err);
            *done = s == MIEN_OK;
            free(shapes);
        }
    }
    return s;
}

mien_status nn_pass_fold_constants(nn_graph *g, int *changed, mien_error *err)
{
    return run_node_pass(g, fold_at, NULL, changed, err);
}

/* ---- PReLU ------------------------------------------------------------------------------ */

/* When node `mul` is Mul(const F32 alpha, v) in either order, returns v and sets *alpha. */
static int mul_by_const(const nn_graph *g, const nn_node *mul, int *alpha)
{
    for (int k = 0; k < 2 && mul->n_inputs == 2; k++) {
        int a = mul->inputs[k], v = mul->inputs[1 - k];
        if (a >= 0 && v >= 0 && nn_tensor_is_const(&g->tensors[a]) &&
            g->tensors[a].dtype == NN_F32 && !nn_tensor_is_const(&g->tensors[v])) {
            *alpha = a;
            return v;
        }
    }
    return -1;
}

/* True when constant `slope` broadcasts to activation x without growing it (as PRelu
 * requires); x's declared dims decide, -1 (free) dims trusted when the slope is 1 there
 * or x's dim is free. An activation of unknown rank (0) is accepted. */
static bool slope_fits(const nn_graph *g, int slope, int x)
{
    const nn_tensor *s = &g->tensors[slope], *t = &g->tensors[x];
    if (t->rank == 0) {
        return true;
    }
    if (s->rank > t->rank) {
        return false;
    }
    for (int d = 0; d < s->rank; d++) {
        int64_t xd = t->dims[t->rank - s->rank + d];
        if (s->dims[d] != 1 && xd >= 0 && xd != s->dims[d]) {
            return false;
        }
    }
    return true;
}

/* Tries to match the MTCNN form on the Mul operand v = Neg(Relu(Neg(x))); returns x. */
static int match_neg_relu_neg(const pass_ctx *c, int v, int nodes[3])
{
    nn_node *n2, *r2, *n1;
    n2 = sole_producer(c, v, NN_OP_NEG, &nodes[0]);
    r2 = n2 != NULL ? sole_producer(c, n2->inputs[0], NN_OP_RELU, &nodes[1]) : NULL;
    n1 = r2 != NULL ? sole_producer(c, r2->inputs[0], NN_OP_NEG, &nodes[2]) : NULL;
    return n1 != NULL ? n1->inputs[0] : -1;
}

/* Tries to match the MobileFaceNet form v = Sub(x, Abs(x)); returns x. */
static int match_sub_abs(const pass_ctx *c, int v, int nodes[2])
{
    nn_node *sub, *ab;
    sub = sole_producer(c, v, NN_OP_SUB, &nodes[0]);
    if (sub == NULL || sub->n_inputs != 2) {
        return -1;
    }
    ab = sole_producer(c, sub->inputs[1], NN_OP_ABS, &nodes[1]);
    if (ab == NULL || ab->inputs[0] != sub->inputs[0]) {
        return -1;
    }
    return sub->inputs[0];
}

/* Adds a constant F32 tensor named "<base><suffix>" (made unique) with data taken over.
 * Returns its index or -1 (data freed) when out of memory. */
static int add_const(nn_graph *g, const char *base, const char *suffix, int rank,
                     const int64_t *dims, float *data)
{
    char name[256];
    int idx;
    snprintf(name, sizeof(name), "%s%s", base, suffix);
    for (int k = 1; nn_graph_find_tensor(g, name) >= 0 && k < 1000; k++) {
        snprintf(name, sizeof(name), "%s%s%d", base, suffix, k);
    }
    idx = nn_graph_add_tensor(g, name, NN_F32, rank, dims, data);
    if (idx < 0) {
        free(data);
    }
    return idx;
}

/* A new slope constant: alpha's values times `factor`, its dims padded with leading 1s
 * to `rank` (numpy broadcasting makes that the same operand: [C] on [N,C] is [1,C]).
 * Returns its index, or -1 when out of memory. */
static int new_slope(nn_graph *g, int alpha, float factor, int rank)
{
    const nn_tensor *at = &g->tensors[alpha];
    int64_t count = nn_tensor_elems(at), dims[NN_MAX_RANK];
    int pad = rank > at->rank ? rank - at->rank : 0;
    float *d = malloc((size_t)(count > 0 ? count : 1) * sizeof(*d));
    if (d == NULL) {
        return -1;
    }
    for (int64_t k = 0; k < count; k++) {
        d[k] = factor * ((const float *)at->data)[k]; /* ×2 is exact in float */
    }
    for (int i = 0; i < pad; i++) {
        dims[i] = 1;
    }
    memcpy(dims + pad, at->dims, sizeof(int64_t) * (size_t)at->rank);
    return add_const(g, at->name, ":prelu_slope", at->rank + pad, dims, d);
}

/* Matches both PReLU forms ending at Add node i; rewrites it on success. */
static mien_status fuse_prelu_at(pass_ctx *c, int i, bool *fused, mien_error *err)
{
    nn_graph *g = c->g;
    *fused = false;
    for (int order = 0; order < 2; order++) {
        nn_node *add = &g->nodes[i], *relu, *mul;
        int relu_i, mul_i, alpha = -1, v, x, chain[3], slope;
        bool doubled = false;
        if (add->n_inputs != 2 || add->a.act != NN_ACT_NONE) {
            return MIEN_OK;
        }
        relu = sole_producer(c, add->inputs[order], NN_OP_RELU, &relu_i);
        mul = sole_producer(c, add->inputs[1 - order], NN_OP_MUL, &mul_i);
        if (relu == NULL || mul == NULL || (v = mul_by_const(g, mul, &alpha)) < 0) {
            continue;
        }
        x = match_neg_relu_neg(c, v, chain);
        if (x < 0) {
            x = match_sub_abs(c, v, chain);
            doubled = x >= 0;
        }
        if (x < 0 || x != relu->inputs[0] || !slope_fits(g, alpha, x)) {
            continue;
        }
        slope = alpha;
        if (doubled || g->tensors[x].rank > g->tensors[alpha].rank) {
            slope = new_slope(g, alpha, doubled ? 2.0f : 1.0f, g->tensors[x].rank);
            if (slope < 0) {
                return base_error_set(err, MIEN_ERR_NOMEM, "fuse_prelu: out of memory");
            }
        }
        c->drop[relu_i] = true;
        c->drop[mul_i] = true;
        for (int k = 0; k < (doubled ? 2 : 3); k++) {
            c->drop[chain[k]] = true;
        }
        add->op = NN_OP_PRELU;
        add->n_inputs = 2;
        add->inputs[0] = x;
        add->inputs[1] = slope;
        memset(&add->a, 0, sizeof(add->a));
        *fused = true;
        return MIEN_OK;
    }
    return MIEN_OK;
}

/* fuse_prelu_at for the Add nodes. */
static mien_status prelu_at(pass_ctx *c, int i, bool *done, mien_error *err)
{
    return c->g->nodes[i].op == NN_OP_ADD ? fuse_prelu_at(c, i, done, err) : MIEN_OK;
}

mien_status nn_pass_fuse_prelu(nn_graph *g, int *changed, mien_error *err)
{
    return run_node_pass(g, prelu_at, NULL, changed, err);
}

/* ---- softmax ---------------------------------------------------------------------------- */

/* The single reduction axis of a ReduceMax/ReduceSum with keepdims (attribute, or a
 * constant axes input), normalised with `rank` when that is known (> 0). */
static bool single_axis(const nn_graph *g, const nn_node *r, int rank, int64_t *axis)
{
    int64_t ax;
    if (!r->a.keepdims) {
        return false;
    }
    if (r->a.n_axes == 1) {
        ax = r->a.axes[0];
    } else if (r->a.n_axes == 0 && r->n_inputs >= 2 && r->inputs[1] >= 0 &&
               nn_tensor_is_const(&g->tensors[r->inputs[1]]) &&
               g->tensors[r->inputs[1]].dtype != NN_F32 &&
               nn_tensor_elems(&g->tensors[r->inputs[1]]) == 1) {
        const nn_tensor *t = &g->tensors[r->inputs[1]];
        ax = t->dtype == NN_I32 ? ((const int32_t *)t->data)[0] : ((const int64_t *)t->data)[0];
    } else {
        return false;
    }
    if (ax < 0 && rank > 0) {
        ax += rank;
    }
    *axis = ax;
    return true;
}

/* Rewrites Div(Exp(Sub(x, ReduceMax(x))), ReduceSum(...)) over one axis, ending at Div node
 * i, as Softmax(x). */
static mien_status softmax_at(pass_ctx *c, int i, bool *done, mien_error *err)
{
    nn_graph *g = c->g;
    nn_node *div = &g->nodes[i], *ex, *sub, *mx, *sum;
    int ex_i, sub_i, mx_i, sum_i, e, x, rank;
    int64_t ax_max, ax_sum;
    (void)err;
    if (div->op != NN_OP_DIV || div->n_inputs != 2 ||
        div->a.act != NN_ACT_NONE) {
        return MIEN_OK;
    }
    e = div->inputs[0];
    /* e is read twice (ReduceSum and Div), so look its producer up directly */
    if (e < 0 || nn_tensor_is_const(&g->tensors[e]) || uses(c, e) != 2 ||
        is_graph_output(g, e) || (ex_i = producer(c, e)) < 0) {
        return MIEN_OK;
    }
    ex = &g->nodes[ex_i];
    sum = sole_producer(c, div->inputs[1], NN_OP_REDUCE_SUM, &sum_i);
    if (ex->op != NN_OP_EXP || ex->a.act != NN_ACT_NONE || sum == NULL ||
        sum->inputs[0] != e) {
        return MIEN_OK;
    }
    sub = sole_producer(c, ex->inputs[0], NN_OP_SUB, &sub_i);
    if (sub == NULL || sub->n_inputs != 2) {
        return MIEN_OK;
    }
    x = sub->inputs[0];
    mx = sole_producer(c, sub->inputs[1], NN_OP_REDUCE_MAX, &mx_i);
    if (mx == NULL || mx->inputs[0] != x) {
        return MIEN_OK;
    }
    rank = g->tensors[x].rank;
    if (!single_axis(g, mx, rank, &ax_max) || !single_axis(g, sum, rank, &ax_sum) ||
        ax_max != ax_sum) {
        return MIEN_OK;
    }
    c->drop[ex_i] = c->drop[sub_i] = c->drop[mx_i] = c->drop[sum_i] = true;
    div->op = NN_OP_SOFTMAX;
    div->n_inputs = 1;
    div->inputs[0] = x;
    div->inputs[1] = -1;
    memset(&div->a, 0, sizeof(div->a));
    div->a.axis = ax_max;
    *done = true;
    return MIEN_OK;
}

mien_status nn_pass_fuse_softmax(nn_graph *g, int *changed, mien_error *err)
{
    return run_node_pass(g, softmax_at, NULL, changed, err);
}

/* ---- activation fusion ------------------------------------------------------------------ */

/* Fuses Relu or Clip node i into the Conv, Gemm or Add producing its input. */
static mien_status activation_at(pass_ctx *c, int i, bool *done, mien_error *err)
{
    nn_graph *g = c->g;
    nn_node *act = &g->nodes[i], *p;
    int p_i, x;
    bool clip = act->op == NN_OP_CLIP;
    (void)err;
    if ((act->op != NN_OP_RELU && !clip) || act->a.act != NN_ACT_NONE ||
        act->n_outputs != 1) {
        return MIEN_OK;
    }
    if (clip && ((act->n_inputs > 1 && act->inputs[1] >= 0) ||
                 (act->n_inputs > 2 && act->inputs[2] >= 0))) {
        return MIEN_OK; /* bounds as inputs: leave it */
    }
    x = act->inputs[0];
    if (x < 0 || is_graph_output(g, x) || uses(c, x) != 1 || (p_i = producer(c, x)) < 0) {
        return MIEN_OK;
    }
    p = &g->nodes[p_i];
    if ((p->op != NN_OP_CONV && p->op != NN_OP_GEMM && p->op != NN_OP_ADD) ||
        p->a.act != NN_ACT_NONE || p->n_outputs != 1) {
        return MIEN_OK;
    }
    p->a.act = clip ? NN_ACT_CLIP : NN_ACT_RELU;
    p->a.act_min = clip ? act->a.clip_min : 0.0f;
    p->a.act_max = clip ? act->a.clip_max : 0.0f;
    p->outputs[0] = act->outputs[0];
    c->drop[i] = true;
    *done = true;
    return MIEN_OK;
}

mien_status nn_pass_fuse_activation(nn_graph *g, int *changed, mien_error *err)
{
    return run_node_pass(g, activation_at, NULL, changed, err);
}

/* ---- identities ------------------------------------------------------------------------- */

/* True when Transpose(Transpose(x, p1), p2) is x. */
static bool perms_cancel(const nn_node *t1, const nn_node *t2)
{
    if (t1->a.n_perm == 0 || t1->a.n_perm != t2->a.n_perm) {
        return false;
    }
    for (int i = 0; i < t2->a.n_perm; i++) {
        int64_t j = t2->a.perm[i];
        if (j < 0 || j >= t1->a.n_perm || t1->a.perm[j] != i) {
            return false;
        }
    }
    return true;
}

/* Bypasses node i when it is an Identity, a Transpose undoing the one before it, or a
 * Reshape to the shape it already has (c->shapes known). */
static mien_status identity_at(pass_ctx *c, int i, bool *done, mien_error *err)
{
    nn_graph *g = c->g;
    nn_node *n = &g->nodes[i];
    int in = n->n_inputs > 0 ? n->inputs[0] : -1, out = n->outputs[0];
    (void)err;
    if (in < 0 || out < 0 || n->n_outputs != 1 || n->a.act != NN_ACT_NONE) {
        return MIEN_OK;
    }
    if (n->op == NN_OP_IDENTITY) {
        *done = bypass(c, i, in, out);
    } else if (n->op == NN_OP_TRANSPOSE) {
        int p = producer(c, in);
        if (p >= 0 && g->nodes[p].op == NN_OP_TRANSPOSE && g->nodes[p].n_inputs >= 1 &&
            g->nodes[p].inputs[0] >= 0 && perms_cancel(&g->nodes[p], n)) {
            *done = bypass(c, i, g->nodes[p].inputs[0], out);
        }
    } else if (n->op == NN_OP_RESHAPE && c->shapes != NULL &&
               nn_shape_equal(&c->shapes[in], &c->shapes[out])) {
        *done = bypass(c, i, in, out);
    }
    return MIEN_OK;
}

mien_status nn_pass_remove_identity(nn_graph *g, int *changed, mien_error *err)
{
    nn_shape *shapes = NULL;
    mien_status s;
    (void)static_shapes(g, g->n_nodes, &shapes); /* NULL when not statically known */
    s = run_node_pass(g, identity_at, shapes, changed, err);
    free(shapes);
    return s;
}

/* ---- dead nodes ------------------------------------------------------------------------- */

mien_status nn_pass_remove_dead(nn_graph *g, int *changed, mien_error *err)
{
    bool *live_t;
    int *remap;
    pass_ctx c;
    int count = 0, kept = 0;
    mien_status s = ctx_open(&c, g, err);
    if (s != MIEN_OK) {
        return s;
    }
    live_t = calloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1), sizeof(*live_t));
    if (live_t == NULL) {
        s = base_error_set(err, MIEN_ERR_NOMEM, "remove_dead: out of memory");
        goto fail_live;
    }
    remap = malloc((size_t)(g->n_tensors > 0 ? g->n_tensors : 1) * sizeof(*remap));
    if (remap == NULL) {
        s = base_error_set(err, MIEN_ERR_NOMEM, "remove_dead: out of memory");
        goto fail_remap;
    }
    for (int k = 0; k < g->n_outputs; k++) {
        live_t[g->outputs[k]] = true;
    }
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const nn_node *n = &g->nodes[i];
        bool live = false;
        for (int k = 0; k < n->n_outputs; k++) {
            live = live || (n->outputs[k] >= 0 && live_t[n->outputs[k]]);
        }
        if (!live) {
            c.drop[i] = true;
            count++;
            continue;
        }
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] >= 0) {
                live_t[n->inputs[k]] = true;
            }
        }
        for (int k = 0; k < n->n_outputs; k++) {
            if (n->outputs[k] >= 0) {
                live_t[n->outputs[k]] = true; /* a live node's other outputs stay */
            }
        }
    }
    for (int k = 0; k < g->n_inputs; k++) {
        live_t[g->inputs[k]] = true;
    }
    ctx_close(&c);
    for (int t = 0; t < g->n_tensors; t++) {
        if (!live_t[t]) {
            free(g->tensors[t].name);
            free(g->tensors[t].data);
            remap[t] = -1;
            count++;
            continue;
        }
        remap[t] = kept;
        g->tensors[kept++] = g->tensors[t];
    }
    g->n_tensors = kept;
    for (int i = 0; i < g->n_nodes; i++) {
        nn_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            n->inputs[k] = n->inputs[k] >= 0 ? remap[n->inputs[k]] : -1;
        }
        for (int k = 0; k < n->n_outputs; k++) {
            n->outputs[k] = n->outputs[k] >= 0 ? remap[n->outputs[k]] : -1;
        }
    }
    for (int k = 0; k < g->n_inputs; k++) {
        g->inputs[k] = remap[g->inputs[k]];
    }
    for (int k = 0; k < g->n_outputs; k++) {
        g->outputs[k] = remap[g->outputs[k]];
    }
    free(remap);
    free(live_t);
    if (changed != NULL) {
        *changed = count;
    }
    return MIEN_OK;

fail_remap:
    free(live_t);
fail_live:
    ctx_close(&c);
    return s;
}

/* ---- driver ----------------------------------------------------------------------------- */

mien_status nn_graph_optimize(nn_graph *g, mien_error *err)
{
    typedef mien_status (*pass_fn)(nn_graph *, int *, mien_error *);
    static const pass_fn passes[] = {
        nn_pass_fold_constants, nn_pass_remove_identity, nn_pass_fuse_prelu,
        nn_pass_fuse_softmax,   nn_pass_fuse_activation, nn_pass_remove_dead,
    };
    if (g == NULL) {
        return base_error_set(err, MIEN_ERR_ARG, "nn_graph_optimize: NULL graph");
    }
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int total = 0;
        for (size_t p = 0; p < sizeof(passes) / sizeof(passes[0]); p++) {
            int changed = 0;
            mien_status s = passes[p](g, &changed, err);
            if (s != MIEN_OK) {
                return s;
            }
            total += changed;
        }
        if (total == 0) {
            return MIEN_OK;
        }
    }
    return MIEN_OK;
}

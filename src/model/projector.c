/* The gemma4uv / gemma4ua projector: loading, validation and the per-token forward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops.h"
#include "model/gguf_weights.h"
#include "model/projector.h"

#define LAYERNORM_EPS 1e-5f  /* hard-coded in the reference; the GGUF key is the RMS eps */
#define DEFAULT_RMS_EPS 1e-6f

static bool flag_set(const gguf_file *f, const char *key)
{
    bool value = false;
    return gguf_get_bool(f, key, &value, NULL) == G4_OK && value;
}

static g4_status check_projector_type(const gguf_file *f, const char *key, const char *want,
                                      g4_err *err)
{
    gguf_str type;
    if (gguf_get_str(f, key, &type, err) != G4_OK)
        return g4_fail_context(err, "not a Gemma 4 projector");
    if (!gguf_str_eq(type, want))
        return g4_fail(err, G4_ERR_UNSUPPORTED, "projector type '%.*s' is not supported "
                       "(g4 runs Gemma 4 12B's '%s')", (int)(type.len < 64 ? type.len : 64),
                       type.ptr, want);
    return G4_OK;
}

static float read_eps(const gguf_file *f, const char *key)
{
    float eps = DEFAULT_RMS_EPS;
    if (gguf_get_f32(f, key, &eps, NULL) != G4_OK || !(eps > 0.0f && eps < 1.0f))
        eps = DEFAULT_RMS_EPS;
    return eps;
}

static g4_status check_output_width(const matmul_weight *w, const char *name, int64_t n_out,
                                    g4_err *err)
{
    if (w->n_out != n_out)
        return g4_fail(err, G4_ERR_FORMAT, "'%s' projects to %lld values but the model's "
                       "hidden size is %lld: the projector belongs to a different model",
                       name, (long long)w->n_out, (long long)n_out);
    return G4_OK;
}

/* v.position_embd.weight, [n_embd, rows, 2]: the x table, then the y table. */
static g4_status load_position_tables(const gguf_file *f, projector_vision *v, g4_err *err)
{
    const char *name = "v.position_embd.weight";
    const gguf_tensor *t = weights_find(f, name, err);
    if (!t)
        return G4_ERR_FORMAT;
    if (t->n_dims != 3 || t->ne[0] != (uint64_t)v->n_embd || t->ne[1] < 1 ||
        t->ne[1] > 65536 || t->ne[2] != 2)
        return g4_fail(err, G4_ERR_FORMAT, "tensor '%s' has shape [%llu, %llu, %llu], "
                       "expected [%lld, rows, 2]", name, (unsigned long long)t->ne[0],
                       (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                       (long long)v->n_embd);
    v->pos_rows = (int64_t)t->ne[1];
    int64_t n = v->pos_rows * v->n_embd;
    g4_status st = weights_to_float(t, name, (uint64_t)(2 * n), &v->pos_x, err);
    v->pos_y = st == G4_OK ? v->pos_x + n : NULL;
    return st;
}

static g4_status load_patch_embedding(const gguf_file *f, projector_vision *v, bool exact,
                                      g4_err *err)
{
    const gguf_tensor *t = weights_find(f, "v.patch_embd.weight", err);
    if (!t)
        return G4_ERR_FORMAT;
    int64_t side = (int64_t)sqrt((double)t->ne[0] / 3.0 + 0.5);
    if (t->n_dims != 2 || side < 1 || 3 * side * side != (int64_t)t->ne[0] || t->ne[1] < 1)
        return g4_fail(err, G4_ERR_FORMAT, "tensor 'v.patch_embd.weight' has %llu inputs, "
                       "which is not 3 x side x side", (unsigned long long)t->ne[0]);
    v->patch_side = side;
    v->patch_values = (int64_t)t->ne[0];
    v->n_embd = (int64_t)t->ne[1];
    return matmul_weight_init(&v->patch_embd, t, exact, err);
}

static g4_status load_vision_vectors(const gguf_file *f, projector_vision *v, g4_err *err)
{
    const struct {
        const char *name;
        int64_t n;
        float **dst;
    } vectors[] = {
        {"v.patch_norm.1.weight", v->patch_values, &v->ln1_w},
        {"v.patch_norm.1.bias", v->patch_values, &v->ln1_b},
        {"v.patch_embd.bias", v->n_embd, &v->patch_bias},
        {"v.patch_norm.2.weight", v->n_embd, &v->ln2_w},
        {"v.patch_norm.2.bias", v->n_embd, &v->ln2_b},
        {"v.patch_norm.3.weight", v->n_embd, &v->ln3_w},
        {"v.patch_norm.3.bias", v->n_embd, &v->ln3_b},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        g4_status st = weights_load_vector(f, vectors[i].name, (uint64_t)vectors[i].n,
                                           vectors[i].dst, err);
        if (st != G4_OK)
            return st;
    }
    return G4_OK;
}

static g4_status load_vision(const gguf_file *f, int64_t n_out, bool exact,
                             projector_vision *v, g4_err *err)
{
    g4_status st;
    if ((st = check_projector_type(f, "clip.vision.projector_type", "gemma4uv", err)) ||
        (st = load_patch_embedding(f, v, exact, err)) ||
        (st = load_vision_vectors(f, v, err)) || (st = load_position_tables(f, v, err)) ||
        (st = weights_load_matrix(f, "mm.input_projection.weight", (uint64_t)v->n_embd,
                                  (uint64_t)v->n_embd, exact, &v->projection, err)))
        return st;
    v->rms_eps = read_eps(f, "clip.vision.attention.layer_norm_epsilon");
    return check_output_width(&v->projection, "mm.input_projection.weight", n_out, err);
}

static g4_status load_audio(const gguf_file *f, int64_t n_out, bool exact, projector_audio *a,
                            g4_err *err)
{
    const char *name = "mm.a.input_projection.weight";
    g4_status st = check_projector_type(f, "clip.audio.projector_type", "gemma4ua", err);
    if (st != G4_OK)
        return st;
    const gguf_tensor *t = weights_find(f, name, err);
    if (!t)
        return G4_ERR_FORMAT;
    if (t->n_dims != 2 || t->ne[0] < 1 || t->ne[0] > 65536)
        return g4_fail(err, G4_ERR_FORMAT, "tensor '%s' is not a [frame, hidden] matrix",
                       name);
    if ((st = matmul_weight_init(&a->projection, t, exact, err)))
        return st;
    a->frame = (int64_t)t->ne[0];
    a->rms_eps = read_eps(f, "clip.audio.attention.layer_norm_epsilon");
    return check_output_width(&a->projection, name, n_out, err);
}

static g4_status load_parts(const gguf_file *f, int64_t n_out, bool exact, projector *p,
                            g4_err *err)
{
    gguf_str arch;
    if (gguf_get_str(f, "general.architecture", &arch, NULL) != G4_OK ||
        !gguf_str_eq(arch, "clip"))
        return g4_fail(err, G4_ERR_FORMAT, "not a multimodal projector (mmproj) file: "
                       "general.architecture is not 'clip'");
    p->n_out = n_out;
    p->has_vision = flag_set(f, "clip.has_vision_encoder");
    p->has_audio = flag_set(f, "clip.has_audio_encoder");
    if (!p->has_vision && !p->has_audio)
        return g4_fail(err, G4_ERR_FORMAT, "the projector has neither vision nor audio");
    g4_status st = G4_OK;
    if (p->has_vision && (st = load_vision(f, n_out, exact, &p->vision, err)))
        return g4_fail_context(err, "vision projector");
    if (p->has_audio && (st = load_audio(f, n_out, exact, &p->audio, err)))
        return g4_fail_context(err, "audio projector");
    return st;
}

g4_status projector_load(const gguf_file *f, int64_t n_out, bool exact_math, projector *p,
                         g4_err *err)
{
    memset(p, 0, sizeof *p);
    g4_status st = load_parts(f, n_out, exact_math, p, err);
    if (st != G4_OK)
        projector_free(p);
    return st;
}

void projector_free(projector *p)
{
    projector_vision *v = &p->vision;
    float *owned[] = {v->ln1_w, v->ln1_b, v->patch_bias, v->ln2_w, v->ln2_b, v->ln3_w,
                      v->ln3_b, v->pos_x};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
    memset(p, 0, sizeof *p);
}

static void add_bias_rows(float *x, const float *bias, int64_t n, int64_t dim)
{
    for (int64_t r = 0; r < n; r++)
        add_rows(x + r * dim, bias, dim);
}

static g4_status check_positions(const projector_vision *v, const int32_t *xs,
                                 const int32_t *ys, int64_t n, g4_err *err)
{
    for (int64_t i = 0; i < n; i++)
        if (xs[i] < 0 || ys[i] < 0 || xs[i] >= v->pos_rows || ys[i] >= v->pos_rows)
            return g4_fail(err, G4_ERR_INVALID_ARG, "patch position (%d, %d) is outside the "
                           "projector's %lld x %lld grid", xs[i], ys[i],
                           (long long)v->pos_rows, (long long)v->pos_rows);
    return G4_OK;
}

static void add_positions(const projector_vision *v, float *h, const int32_t *xs,
                          const int32_t *ys, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        add_rows(h + i * v->n_embd, v->pos_x + (int64_t)xs[i] * v->n_embd, v->n_embd);
        add_rows(h + i * v->n_embd, v->pos_y + (int64_t)ys[i] * v->n_embd, v->n_embd);
    }
}

/* LN1 -> dense + bias -> LN2 -> + positions -> LN3 -> RMSNorm -> projection, with a and
 * h as work buffers. */
static void vision_forward(const projector_vision *v, threadpool *pool, matmul_scratch *mm,
                           const float *patches, float *a, float *h, const int32_t *xs,
                           const int32_t *ys, int64_t n, float *out)
{
    layernorm_rows(a, patches, v->ln1_w, v->ln1_b, n, v->patch_values, LAYERNORM_EPS);
    matmul(pool, mm, &v->patch_embd, a, n, h);
    add_bias_rows(h, v->patch_bias, n, v->n_embd);
    layernorm_rows(h, h, v->ln2_w, v->ln2_b, n, v->n_embd, LAYERNORM_EPS);
    add_positions(v, h, xs, ys, n);
    layernorm_rows(h, h, v->ln3_w, v->ln3_b, n, v->n_embd, LAYERNORM_EPS);
    rmsnorm_rows(h, h, NULL, n, v->n_embd, v->rms_eps);
    matmul(pool, mm, &v->projection, h, n, out);
}

g4_status projector_embed_patches(const projector *p, threadpool *pool, const float *patches,
                                  const int32_t *xs, const int32_t *ys, int64_t n, float *out,
                                  g4_err *err)
{
    const projector_vision *v = &p->vision;
    if (!p->has_vision)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the projector has no vision part");
    if (n <= 0 || check_positions(v, xs, ys, n, err) != G4_OK)
        return n <= 0 ? G4_OK : err->code;
    matmul_scratch mm = {0};
    float *a = malloc((size_t)(n * v->patch_values) * sizeof(float));
    float *h = malloc((size_t)(n * v->n_embd) * sizeof(float));
    g4_status st = a && h ? matmul_scratch_init(&mm, v->patch_values, n,
                                                threadpool_size(pool), err)
                          : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for %lld patches",
                                    (long long)n);
    if (st == G4_OK)
        vision_forward(v, pool, &mm, patches, a, h, xs, ys, n, out);
    matmul_scratch_free(&mm);
    free(a);
    free(h);
    return st;
}

g4_status projector_embed_frames(const projector *p, threadpool *pool, const float *frames,
                                 int64_t n, float *out, g4_err *err)
{
    const projector_audio *au = &p->audio;
    if (!p->has_audio)
        return g4_fail(err, G4_ERR_UNSUPPORTED, "the projector has no audio part");
    if (n <= 0)
        return G4_OK;
    matmul_scratch mm = {0};
    float *h = malloc((size_t)(n * au->frame) * sizeof(float));
    g4_status st = h ? matmul_scratch_init(&mm, au->frame, n, threadpool_size(pool), err)
                     : g4_fail(err, G4_ERR_NO_MEMORY, "out of memory for %lld audio frames",
                               (long long)n);
    if (st == G4_OK) {
        rmsnorm_rows(h, frames, NULL, n, au->frame, au->rms_eps);
        matmul(pool, &mm, &au->projection, h, n, out);
    }
    matmul_scratch_free(&mm);
    free(h);
    return st;
}

/*
 * config.c -- model hyper-parameters from GGUF metadata or HF config.json.
 *
 * Both formats are normalized into sg_config. The two differ in names
 * (`llama.embedding_length` vs `hidden_size`), defaults and conventions:
 * GGUF llama-arch files store Q/K rows permuted for interleaved RoPE pairs,
 * while HF checkpoints and GGUF qwen2/qwen3 files use rotate-half (NEOX).
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"

static const char *const arch_names[SG_ARCH_COUNT] = {"llama", "qwen2", "qwen3", "mistral", "gpt2"};

const char *sg_arch_name(sg_arch a)
{
    return (unsigned)a < SG_ARCH_COUNT ? arch_names[a] : "unknown";
}

static int arch_from_name(const char *s, size_t n)
{
    for (int i = 0; i < SG_ARCH_COUNT; i++)
        if (strlen(arch_names[i]) == n && memcmp(arch_names[i], s, n) == 0) return i;
    return -1;
}

static void config_defaults(sg_config *c)
{
    memset(c, 0, sizeof *c);
    c->rope_theta = 10000.0f;
    c->norm_eps = 1e-5f;
    c->rope_factor = 1.0f;
    c->n_ctx_train = 2048;
}

/* ------------------------------------------------------------------ GGUF */

/* Reads "<arch>.<suffix>" as u32 into *out; absent keeps the default. */
static sg_status gguf_u32(const sg_gguf *g, const char *arch, const char *suffix, int *out, bool required,
                          sg_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v;
    sg_status s = sg_gguf_get_u32(g, key, &v, err);
    if (s == SG_ERR_MISSING) {
        if (required) return sg_fail(err, SG_ERR_MISSING, "%s: missing metadata key '%s'", g->name, key);
        return SG_OK;
    }
    if (s != SG_OK) return s;
    if (v > (uint32_t)INT32_MAX) return sg_fail(err, SG_ERR_FORMAT, "%s: '%s' = %u is out of range", g->name, key, v);
    *out = (int)v;
    return SG_OK;
}

static sg_status gguf_f32(const sg_gguf *g, const char *arch, const char *suffix, float *out, sg_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    sg_status s = sg_gguf_get_f32(g, key, out, err);
    return s == SG_ERR_MISSING ? SG_OK : s;
}

sg_status sg_config_from_gguf(const sg_gguf *g, sg_config *c, sg_error *err)
{
    config_defaults(c);
    sg_gguf_str a;
    sg_status s = sg_gguf_get_str(g, "general.architecture", &a, err);
    if (s == SG_ERR_MISSING) return sg_fail(err, SG_ERR_MISSING, "%s: missing metadata key 'general.architecture'", g->name);
    if (s != SG_OK) return s;
    int ai = arch_from_name(a.ptr, (size_t)a.len);
    if (ai < 0)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unsupported architecture '%.*s' (supported: llama, qwen2, qwen3, mistral, gpt2)",
                       g->name, (int)(a.len > 64 ? 64 : a.len), a.ptr);
    c->arch = (sg_arch)ai;
    char arch[16];
    snprintf(arch, sizeof arch, "%s", arch_names[ai]);

    if ((s = gguf_u32(g, arch, "embedding_length", &c->n_embd, true, err))) return s;
    if ((s = gguf_u32(g, arch, "block_count", &c->n_layer, true, err))) return s;
    if ((s = gguf_u32(g, arch, "feed_forward_length", &c->n_ff, true, err))) return s;
    if ((s = gguf_u32(g, arch, "attention.head_count", &c->n_head, true, err))) return s;
    c->n_head_kv = c->n_head;
    if ((s = gguf_u32(g, arch, "attention.head_count_kv", &c->n_head_kv, false, err))) return s;
    if ((s = gguf_u32(g, arch, "context_length", &c->n_ctx_train, false, err))) return s;
    if ((s = gguf_u32(g, arch, "vocab_size", &c->n_vocab, false, err))) return s;
    if ((s = gguf_u32(g, arch, "attention.key_length", &c->head_dim, false, err))) return s;
    if ((s = gguf_u32(g, arch, "attention.sliding_window", &c->sliding_window, false, err))) return s;
    if (c->head_dim == 0 && c->n_head > 0) {
        if (c->n_embd % c->n_head)
            return sg_fail(err, SG_ERR_FORMAT, "%s: embedding_length %d is not divisible by head_count %d", g->name,
                           c->n_embd, c->n_head);
        c->head_dim = c->n_embd / c->n_head;
    }
    c->rope_dim = c->head_dim;
    if ((s = gguf_u32(g, arch, "rope.dimension_count", &c->rope_dim, false, err))) return s;
    if ((s = gguf_f32(g, arch, "rope.freq_base", &c->rope_theta, err))) return s;
    if (c->arch == SG_ARCH_GPT2) {
        if ((s = gguf_f32(g, arch, "attention.layer_norm_epsilon", &c->norm_eps, err))) return s;
        c->rope_style = SG_ROPE_NONE;
    } else {
        if ((s = gguf_f32(g, arch, "attention.layer_norm_rms_epsilon", &c->norm_eps, err))) return s;
        /* llama.cpp converts llama/mistral with Q/K permuted for adjacent-pair RoPE */
        c->rope_style = (c->arch == SG_ARCH_LLAMA || c->arch == SG_ARCH_MISTRAL) ? SG_ROPE_INTERLEAVED : SG_ROPE_NEOX;
    }
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    sg_gguf_str st;
    s = sg_gguf_get_str(g, key, &st, err);
    if (s == SG_OK) {
        if (st.len == 6 && !memcmp(st.ptr, "linear", 6)) {
            c->rope_scaling = SG_ROPE_SCALING_LINEAR;
            if ((s = gguf_f32(g, arch, "rope.scaling.factor", &c->rope_factor, err))) return s;
        } else if (!(st.len == 4 && !memcmp(st.ptr, "none", 4))) {
            return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unsupported rope scaling type '%.*s'", g->name,
                           (int)(st.len > 32 ? 32 : st.len), st.ptr);
        }
    } else if (s != SG_ERR_MISSING) {
        return s;
    }
    /* Llama 3.1 scaling arrives as the rope_freqs.weight tensor (see load.c). */
    const sg_gguf_tensor *emb = sg_gguf_find_tensor(g, "token_embd.weight");
    if (c->n_vocab == 0 && emb && emb->n_dims == 2 && emb->ne[1] <= INT32_MAX) c->n_vocab = (int)emb->ne[1];
    c->tied_embeddings = sg_gguf_find_tensor(g, "output.weight") == NULL;
    return sg_config_validate(c, g->name, err);
}

/* ------------------------------------------------------------- config.json */

/* Integer field: absent -> keep default (or fail when required); wrong type -> error. */
static sg_status json_int(const cJSON *o, const char *k, int *out, bool required, const char *path, sg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) {
        if (required) return sg_fail(err, SG_ERR_MISSING, "%s: missing field '%s'", path, k);
        return SG_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 2147483647.0)
        return sg_fail(err, SG_ERR_FORMAT, "%s: field '%s' must be a non-negative integer", path, k);
    *out = (int)v->valuedouble;
    return SG_OK;
}

static sg_status json_float(const cJSON *o, const char *k, float *out, const char *path, sg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return SG_OK;
    if (!cJSON_IsNumber(v)) return sg_fail(err, SG_ERR_FORMAT, "%s: field '%s' must be a number", path, k);
    *out = (float)v->valuedouble;
    return SG_OK;
}

static sg_status json_bool(const cJSON *o, const char *k, bool *out, const char *path, sg_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return SG_OK;
    if (!cJSON_IsBool(v)) return sg_fail(err, SG_ERR_FORMAT, "%s: field '%s' must be true or false", path, k);
    *out = cJSON_IsTrue(v);
    return SG_OK;
}

static sg_status hf_rope_scaling(const cJSON *root, sg_config *c, const char *path, sg_error *err)
{
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (!rs || cJSON_IsNull(rs)) return SG_OK;
    if (!cJSON_IsObject(rs)) return sg_fail(err, SG_ERR_FORMAT, "%s: field 'rope_scaling' must be an object", path);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    if (!t) t = cJSON_GetObjectItemCaseSensitive(rs, "type");
    if (!cJSON_IsString(t)) return sg_fail(err, SG_ERR_FORMAT, "%s: rope_scaling has no 'rope_type'", path);
    sg_status s;
    if ((s = json_float(rs, "factor", &c->rope_factor, path, err))) return s;
    if (!strcmp(t->valuestring, "default")) return SG_OK;
    if (!strcmp(t->valuestring, "linear")) {
        c->rope_scaling = SG_ROPE_SCALING_LINEAR;
    } else if (!strcmp(t->valuestring, "llama3")) {
        c->rope_scaling = SG_ROPE_SCALING_LLAMA3;
        c->rope_low_freq_factor = 1.0f;
        c->rope_high_freq_factor = 4.0f;
        c->rope_orig_ctx = 8192;
        if ((s = json_float(rs, "low_freq_factor", &c->rope_low_freq_factor, path, err))) return s;
        if ((s = json_float(rs, "high_freq_factor", &c->rope_high_freq_factor, path, err))) return s;
        if ((s = json_int(rs, "original_max_position_embeddings", &c->rope_orig_ctx, false, path, err))) return s;
    } else {
        return sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unsupported rope_scaling type '%s'", path, t->valuestring);
    }
    if (!(c->rope_factor > 0)) return sg_fail(err, SG_ERR_FORMAT, "%s: rope_scaling factor must be > 0", path);
    return SG_OK;
}

sg_status sg_config_from_hf_json(const char *json, const char *path, sg_config *c, sg_error *err)
{
    config_defaults(c);
    cJSON *root = cJSON_Parse(json);
    if (!root) return sg_fail(err, SG_ERR_FORMAT, "%s: not valid JSON", path);
    sg_status s = SG_OK;
    if (!cJSON_IsObject(root)) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: top level is not a JSON object", path);
        goto done;
    }
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt)) {
        s = sg_fail(err, SG_ERR_MISSING, "%s: missing field 'model_type'", path);
        goto done;
    }
    int ai = arch_from_name(mt->valuestring, strlen(mt->valuestring));
    if (ai < 0) {
        s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unsupported model_type '%.64s' (supported: llama, qwen2, qwen3, mistral, gpt2)",
                    path, mt->valuestring);
        goto done;
    }
    c->arch = (sg_arch)ai;
    c->rope_style = SG_ROPE_NEOX;
    if (c->arch == SG_ARCH_GPT2) {
        c->rope_style = SG_ROPE_NONE;
        c->tied_embeddings = true;
        if ((s = json_int(root, "vocab_size", &c->n_vocab, true, path, err))) goto done;
        if ((s = json_int(root, "n_embd", &c->n_embd, true, path, err))) goto done;
        if ((s = json_int(root, "n_layer", &c->n_layer, true, path, err))) goto done;
        if ((s = json_int(root, "n_head", &c->n_head, true, path, err))) goto done;
        if ((s = json_int(root, "n_positions", &c->n_ctx_train, true, path, err))) goto done;
        c->n_ff = 4 * c->n_embd;
        if ((s = json_int(root, "n_inner", &c->n_ff, false, path, err))) goto done;
        if ((s = json_float(root, "layer_norm_epsilon", &c->norm_eps, path, err))) goto done;
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
        if (act && !(cJSON_IsString(act) && (!strcmp(act->valuestring, "gelu_new") ||
                                             !strcmp(act->valuestring, "gelu_pytorch_tanh")))) {
            s = sg_fail(err, SG_ERR_UNSUPPORTED, "%s: unsupported activation_function (only gelu_new)", path);
            goto done;
        }
        c->n_head_kv = c->n_head;
        if (c->n_head > 0) c->head_dim = c->n_embd / c->n_head;
        c->rope_dim = 0;
    } else {
        c->norm_eps = 1e-6f;
        if ((s = json_int(root, "vocab_size", &c->n_vocab, true, path, err))) goto done;
        if ((s = json_int(root, "hidden_size", &c->n_embd, true, path, err))) goto done;
        if ((s = json_int(root, "num_hidden_layers", &c->n_layer, true, path, err))) goto done;
        if ((s = json_int(root, "num_attention_heads", &c->n_head, true, path, err))) goto done;
        if ((s = json_int(root, "intermediate_size", &c->n_ff, true, path, err))) goto done;
        c->n_head_kv = c->n_head;
        if ((s = json_int(root, "num_key_value_heads", &c->n_head_kv, false, path, err))) goto done;
        if ((s = json_int(root, "max_position_embeddings", &c->n_ctx_train, false, path, err))) goto done;
        if ((s = json_int(root, "head_dim", &c->head_dim, false, path, err))) goto done;
        if (c->head_dim == 0 && c->n_head > 0) {
            if (c->n_embd % c->n_head) {
                s = sg_fail(err, SG_ERR_FORMAT, "%s: hidden_size %d is not divisible by num_attention_heads %d", path,
                            c->n_embd, c->n_head);
                goto done;
            }
            c->head_dim = c->n_embd / c->n_head;
        }
        c->rope_dim = c->head_dim;
        if ((s = json_float(root, "rms_norm_eps", &c->norm_eps, path, err))) goto done;
        if ((s = json_float(root, "rope_theta", &c->rope_theta, path, err))) goto done;
        if ((s = json_bool(root, "tie_word_embeddings", &c->tied_embeddings, path, err))) goto done;
        if ((s = hf_rope_scaling(root, c, path, err))) goto done;
        /* sliding window: mistral uses it when set; qwen2 only with use_sliding_window */
        bool use_sw = c->arch == SG_ARCH_MISTRAL;
        if ((s = json_bool(root, "use_sliding_window", &use_sw, path, err))) goto done;
        if (use_sw && (s = json_int(root, "sliding_window", &c->sliding_window, false, path, err))) goto done;
        if (!use_sw) c->sliding_window = 0;
    }
    s = sg_config_validate(c, path, err);
done:
    cJSON_Delete(root);
    return s;
}

/* ------------------------------------------------------------- validation */

sg_status sg_config_validate(const sg_config *c, const char *path, sg_error *err)
{
#define BAD(...) return sg_fail(err, SG_ERR_FORMAT, __VA_ARGS__)
    if (c->n_embd <= 0 || c->n_embd > (1 << 20)) BAD("%s: hidden size %d is out of range", path, c->n_embd);
    if (c->n_layer <= 0 || c->n_layer > 4096) BAD("%s: layer count %d is out of range", path, c->n_layer);
    if (c->n_head <= 0 || c->n_head > 4096) BAD("%s: head count %d is out of range", path, c->n_head);
    if (c->n_head_kv <= 0 || c->n_head_kv > c->n_head) BAD("%s: key/value head count %d is out of range (heads %d)", path, c->n_head_kv, c->n_head);
    if (c->n_head % c->n_head_kv) BAD("%s: head count %d is not a multiple of key/value head count %d", path, c->n_head, c->n_head_kv);
    if (c->head_dim <= 0 || c->head_dim > 4096) BAD("%s: head dimension %d is out of range", path, c->head_dim);
    if (c->n_ff <= 0 || c->n_ff > (1 << 22)) BAD("%s: feed-forward size %d is out of range", path, c->n_ff);
    if (c->n_vocab <= 0 || c->n_vocab > (1 << 24)) BAD("%s: vocabulary size %d is out of range", path, c->n_vocab);
    if (c->n_ctx_train <= 0 || c->n_ctx_train > (1 << 24)) BAD("%s: context length %d is out of range", path, c->n_ctx_train);
    if (!(c->norm_eps > 0) || c->norm_eps > 1) BAD("%s: norm epsilon %g is out of range", path, (double)c->norm_eps);
    if (c->rope_style != SG_ROPE_NONE) {
        if (c->rope_dim <= 0 || c->rope_dim > c->head_dim || c->rope_dim % 2)
            BAD("%s: rope dimension %d is invalid for head dimension %d", path, c->rope_dim, c->head_dim);
        if (!(c->rope_theta > 0) || !isfinite(c->rope_theta)) BAD("%s: rope theta %g is invalid", path, (double)c->rope_theta);
    }
    if (c->sliding_window < 0) BAD("%s: sliding window %d is invalid", path, c->sliding_window);
    if (c->arch == SG_ARCH_GPT2 && c->n_embd != c->n_head * c->head_dim)
        BAD("%s: n_embd %d is not divisible by n_head %d", path, c->n_embd, c->n_head);
#undef BAD
    return SG_OK;
}

/* ------------------------------------------------------------------- RoPE */

double sg_rope_inv_freq(const sg_config *c, int i)
{
    return pow((double)c->rope_theta, -2.0 * i / (double)c->rope_dim);
}

/* HF's llama3 rule: keep high frequencies, divide low ones by `factor`,
 * blend smoothly in between. We express it as inv_freq / factor_i. */
void sg_rope_llama3_factors(const sg_config *c, float *factors)
{
    const double pi = 3.14159265358979323846;
    double lo_wavelen = c->rope_orig_ctx / c->rope_low_freq_factor;
    double hi_wavelen = c->rope_orig_ctx / c->rope_high_freq_factor;
    for (int i = 0; i < c->rope_dim / 2; i++) {
        double f = sg_rope_inv_freq(c, i);
        double wavelen = 2 * pi / f;
        double scaled;
        if (wavelen < hi_wavelen) scaled = f;
        else if (wavelen > lo_wavelen) scaled = f / c->rope_factor;
        else {
            double smooth = (c->rope_orig_ctx / wavelen - c->rope_low_freq_factor) /
                            (c->rope_high_freq_factor - c->rope_low_freq_factor);
            scaled = (1 - smooth) * f / c->rope_factor + smooth * f;
        }
        factors[i] = (float)(f / scaled);
    }
}

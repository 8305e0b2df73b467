/*
 * checkpoint.c -- everything needed to continue a run bit for bit.
 *
 * File layout (little-endian):
 *   "SGCKPT01"            magic, 8 bytes
 *   u32 header_len        then header_len bytes of JSON: the model shape,
 *                         step, data position, RNG state, tokens seen
 *   f32 params[n]         the parameters (sg_tmodel layout)
 *   f32 adam_m[n]         AdamW first moments
 *   f32 adam_v[n]         AdamW second moments
 *   u64 fnv1a             FNV-1a 64 of every byte before it
 *
 * Files are written through base/afile.c (temp file, fsync, rename, fsync of the
 * directory): a crash leaves the previous checkpoint intact, and a torn or
 * corrupted file fails the checksum instead of resuming from garbage. The
 * header carries no clock or host, so two runs that reach the same state
 * write byte-identical checkpoints.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "train/train.h"

#define CKPT_MAGIC "SGCKPT01"

static cJSON *shape_json(const sg_tshape *s)
{
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "arch", s->arch == SG_ARCH_GPT2 ? "gpt2" : "llama");
    cJSON_AddNumberToObject(h, "vocab_size", s->V);
    cJSON_AddNumberToObject(h, "n_embd", s->C);
    cJSON_AddNumberToObject(h, "n_layer", s->L);
    cJSON_AddNumberToObject(h, "n_head", s->H);
    cJSON_AddNumberToObject(h, "n_head_kv", s->KV);
    cJSON_AddNumberToObject(h, "head_dim", s->D);
    cJSON_AddNumberToObject(h, "n_ff", s->F);
    cJSON_AddNumberToObject(h, "n_ctx", s->maxT);
    cJSON_AddNumberToObject(h, "norm_eps", s->eps);
    cJSON_AddNumberToObject(h, "rope_theta", s->theta);
    cJSON_AddBoolToObject(h, "tied", s->tied);
    return h;
}

sg_status sg_checkpoint_save(const sg_tmodel *m, const sg_train_state *st, const char *path, sg_error *err)
{
    cJSON *h = shape_json(&m->s);
    char num[32];
    cJSON_AddStringToObject(h, "format", "stargate-train-checkpoint");
    cJSON_AddNumberToObject(h, "version", 1);
    cJSON_AddNumberToObject(h, "n_params", (double)m->n_params);
    cJSON_AddNumberToObject(h, "step", st->step);
    snprintf(num, sizeof num, "%llu", (unsigned long long)st->data_pos);
    cJSON_AddStringToObject(h, "data_pos", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)st->rng);
    cJSON_AddStringToObject(h, "rng", num);
    snprintf(num, sizeof num, "%llu", (unsigned long long)st->tokens);
    cJSON_AddStringToObject(h, "tokens", num);
    char *text = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    if (!text) return sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
    sg_afile a;
    sg_status s = sg_afile_open(&a, path, err);
    if (s) {
        free(text);
        return s;
    }
    uint32_t hl = (uint32_t)strlen(text);
    sg_afile_write(&a, CKPT_MAGIC, 8);
    sg_afile_write(&a, &hl, 4);
    sg_afile_write(&a, text, hl);
    free(text);
    sg_afile_write(&a, m->params, m->n_params * sizeof(float));
    sg_afile_write(&a, m->adam_m, m->n_params * sizeof(float));
    sg_afile_write(&a, m->adam_v, m->n_params * sizeof(float));
    uint64_t sum = a.hash;
    sg_afile_write(&a, &sum, 8);
    return sg_afile_commit(&a, err);
}

static bool get_num(const cJSON *h, const char *k, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, k);
    if (!cJSON_IsNumber(v)) return false;
    *out = v->valuedouble;
    return true;
}

static bool get_u64(const cJSON *h, const char *k, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, k);
    if (!cJSON_IsString(v)) return false;
    char *end;
    *out = strtoull(v->valuestring, &end, 10);
    return *end == 0 && end != v->valuestring;
}

sg_status sg_checkpoint_load(sg_tmodel *m, sg_train_state *st, const char *path, sg_error *err)
{
    sg_mapped_file f;
    sg_status s = sg_file_map(&f, path, err);
    if (s) return s;
    size_t n = m->n_params, need = 3 * n * sizeof(float) + 8;
    cJSON *h = NULL;
    uint32_t hl = 0;
    if (f.size < 12 + need || memcmp(f.data, CKPT_MAGIC, 8)) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: not a stargate checkpoint (or a truncated one)", path);
        goto done;
    }
    memcpy(&hl, f.data + 8, 4);
    if ((size_t)hl != f.size - 12 - need) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: size does not match a model of %zu parameters", path, n);
        goto done;
    }
    uint64_t sum;
    memcpy(&sum, f.data + f.size - 8, 8);
    if (sg_fnv1a(SG_FNV_INIT, f.data, f.size - 8) != sum) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: checksum mismatch (corrupted checkpoint)", path);
        goto done;
    }
    char *text = malloc((size_t)hl + 1);
    if (!text) {
        s = sg_fail(err, SG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(text, f.data + 12, hl);
    text[hl] = 0;
    h = cJSON_Parse(text);
    free(text);
    cJSON *want = shape_json(&m->s);
    bool same = h != NULL;
    const char *fields[] = {"arch", "vocab_size", "n_embd", "n_layer", "n_head", "n_head_kv", "head_dim", "n_ff",
                            "n_ctx", "norm_eps", "rope_theta", "tied"};
    for (size_t i = 0; same && i < sizeof fields / sizeof fields[0]; i++)
        same = cJSON_Compare(cJSON_GetObjectItemCaseSensitive(h, fields[i]),
                             cJSON_GetObjectItemCaseSensitive(want, fields[i]), true);
    cJSON_Delete(want);
    if (!same) {
        s = sg_fail(err, SG_ERR_INVALID, "%s: the checkpoint's model shape differs from the configured model", path);
        goto done;
    }
    double step;
    if (!get_num(h, "step", &step) || step < 0 || step > 2e9 || !get_u64(h, "data_pos", &st->data_pos) ||
        !get_u64(h, "rng", &st->rng) || !get_u64(h, "tokens", &st->tokens)) {
        s = sg_fail(err, SG_ERR_FORMAT, "%s: header lacks step/data_pos/rng/tokens", path);
        goto done;
    }
    st->step = (int)step;
    const uint8_t *p = f.data + 12 + hl;
    memcpy(m->params, p, n * sizeof(float));
    memcpy(m->adam_m, p + n * sizeof(float), n * sizeof(float));
    memcpy(m->adam_v, p + 2 * n * sizeof(float), n * sizeof(float));
done:
    cJSON_Delete(h);
    sg_file_unmap(&f);
    return s;
}

bool sg_checkpoint_latest(const char *dir, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* exactly "ckpt-" + 8 digits + ".bin" */
        const char *nm = e->d_name;
        if (strlen(nm) != 17 || strncmp(nm, "ckpt-", 5) || strcmp(nm + 13, ".bin")) continue;
        long step = 0;
        bool digits = true;
        for (int i = 5; i < 13; i++) {
            if (nm[i] < '0' || nm[i] > '9') digits = false;
            step = step * 10 + (nm[i] - '0');
        }
        if (digits && step > best) best = step;
    }
    closedir(d);
    if (best < 0) return false;
    snprintf(out, n, "%s/ckpt-%08ld.bin", dir, best);
    return true;
}

/*
 * trainer.c -- the training loop.
 *
 * One optimizer step, on every rank:
 *   1. load this rank's grad_accum micro-batches; sequence numbers are
 *        data_pos + (a * world + rank) * B + b    (micro-batch a, row b)
 *      so the global batch is the same set of sequences whatever the split
 *      between processes and accumulation (MPI equivalence), and resuming
 *      needs only data_pos;
 *   2. sum the target weights (loss mask) over the global batch (all-reduce);
 *   3. forward + backward each micro-batch with loss scale 1 / that sum, the
 *      gradients adding up in m->grads;
 *   4. all-reduce (sum) the gradients: every rank now holds the gradient of
 *      the global batch's mean loss;
 *   5. clip to the global norm, AdamW with the scheduled learning rate.
 * Rank 0 prints progress, writes train.log, checkpoints and exports.
 *
 * Determinism: the init RNG is seeded by `seed`; data order is fixed by
 * data_pos; reductions have a fixed order; so a run is reproducible for a
 * given seed, thread count and world size, and resuming from a checkpoint
 * continues it bit for bit.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "model/model.h"
#include "train/train.h"

typedef struct run {
    const sg_train_config *c;
    sg_dist dist;
    sg_data train, val;
    bool have_val;
    sg_tmodel m;
    sg_train_state st;
    int B, T, A;
    int32_t *inp, *tgt, *pos; /* (A, B*T) */
    float *mask;        /* (A, B*T) */
    FILE *log;
    char tokenizer[SG_TCFG_STR]; /* GGUF the export's tokenizer.* keys come from; empty: none */
    sg_tokenizer *tok;           /* loaded from it for text samples (NULL: print ids)          */
} run;

/* mkdir -p */
static int make_dirs(const char *path)
{
    char buf[SG_TCFG_STR];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* The tokenizer of the run (config, data manifest, or a GGUF init): its
 * vocabulary must fit the model's; a GGUF one goes into the export. */
static sg_status check_tokenizer(run *r, sg_error *err)
{
    const sg_train_config *c = r->c;
    const char *t = c->tokenizer[0] ? c->tokenizer : r->train.tokenizer ? r->train.tokenizer
                                                   : ends_with(c->init, ".gguf") ? c->init : "";
    if (!t[0]) return SG_OK;
    sg_tokenizer *tok = NULL;
    sg_status st = sg_tokenizer_load(t, &tok, err);
    if (st) return st;
    int n = sg_tokenizer_n_vocab(tok);
    sg_tokenizer_free(tok);
    if (n > r->m.s.V)
        return sg_fail(err, SG_ERR_INVALID,
                       "tokenizer %s has %d tokens but the model's vocabulary is %d (vocab_size must be >= %d)", t, n,
                       r->m.s.V, n);
    if (ends_with(t, ".gguf")) snprintf(r->tokenizer, sizeof r->tokenizer, "%s", t);
    else if (r->dist.rank == 0 && c->export_gguf[0])
        fprintf(stderr, "stargate: warning: tokenizer %s is not a GGUF: the GGUF export carries no tokenizer\n", t);
    return SG_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_duration(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

/* The model's shape from the config (from scratch) or from `init`. */
static sg_status build_model(run *r, sg_error *err)
{
    const sg_train_config *c = r->c;
    sg_tshape s = {0};
    sg_model *src = NULL;
    sg_status st;
    if (c->init[0]) {
        if ((st = sg_model_load(c->init, &src, err))) return st;
        if ((st = sg_tshape_from_model(src, &s, err))) goto done;
        if (s.arch == SG_ARCH_GPT2 && r->T > s.maxT) {
            st = sg_fail(err, SG_ERR_INVALID, "%s: seq_len %d exceeds the model's %d positions", c->init, r->T, s.maxT);
            goto done;
        }
    } else {
        s.arch = c->arch;
        s.V = c->vocab_size ? c->vocab_size : (int)r->train.vocab_size;
        if (!s.V) return sg_fail(err, SG_ERR_INVALID, "config: vocab_size is required (the data does not declare one)");
        s.C = c->n_embd;
        s.L = c->n_layer;
        s.H = c->n_head;
        s.KV = c->n_head_kv ? c->n_head_kv : c->n_head;
        s.D = c->head_dim ? c->head_dim : c->n_embd / c->n_head;
        s.F = c->n_ff ? c->n_ff : c->arch == SG_ARCH_GPT2 ? 4 * c->n_embd : (8 * c->n_embd / 3 + 31) / 32 * 32;
        s.maxT = c->n_ctx ? c->n_ctx : r->T;
        s.eps = (float)c->norm_eps;
        s.theta = (float)c->rope_theta;
        s.tied = c->arch == SG_ARCH_GPT2 || c->tied_embeddings;
    }
    if (r->train.max_token >= (uint32_t)s.V) {
        st = sg_fail(err, SG_ERR_INVALID, "%s: token id %u is outside the model's vocabulary of %d", c->train_data,
                     r->train.max_token, s.V);
        goto done;
    }
    if (r->have_val && r->val.max_token >= (uint32_t)s.V) {
        st = sg_fail(err, SG_ERR_INVALID, "%s: token id %u is outside the model's vocabulary of %d", c->val_data,
                     r->val.max_token, s.V);
        goto done;
    }
    int Tmax = r->T > c->sample_tokens + 8 ? r->T : c->sample_tokens + 8;
    if (s.arch == SG_ARCH_GPT2 && Tmax > s.maxT) Tmax = s.maxT;
    if ((st = sg_tmodel_new(&r->m, &s, r->B, Tmax, c->threads, err))) goto done;
    if (src) sg_tmodel_import(&r->m, src);
    else sg_tmodel_init_weights(&r->m, c->init_std, &r->st.rng);
done:
    sg_model_free(src);
    return st;
}

/* Mean loss over val_batches micro-batches of validation data (all ranks). */
static double validate(run *r)
{
    double acc[2] = {0, 0};
    size_t BT = (size_t)r->B * r->T;
    for (int i = 0; i < r->c->val_batches; i++) {
        uint64_t first = ((uint64_t)i * r->dist.world + (uint64_t)r->dist.rank) * (uint64_t)r->B;
        sg_data_fill(&r->val, first, r->B, r->inp, r->tgt, r->mask, r->pos);
        acc[0] += sg_tmodel_forward_docs(&r->m, r->inp, r->pos, r->tgt, r->mask, r->B, r->T);
        for (size_t k = 0; k < BT; k++) acc[1] += r->mask[k];
    }
    sg_dist_allreduce_f64(&r->dist, acc, 2);
    return acc[1] > 0 ? acc[0] / acc[1] : 0;
}

/* Print ids as text when the run has a vocabulary, else as ids. */
static void print_tokens(const run *r, const int32_t *ids, int n)
{
    char *text = NULL;
    size_t len;
    if (r->tok && sg_detokenize(r->tok, ids, (size_t)n, 0, &text, &len, NULL) == SG_OK) {
        for (size_t i = 0; i < len; i++) putchar(text[i] == '\n' ? ' ' : text[i]); /* one line */
        free(text);
        return;
    }
    for (int i = 0; i < n; i++) printf(" %d", ids[i]);
}

/* Greedy continuation of a short prompt (rank 0), by full recomputation;
 * shown as text when the run knows its vocabulary. */
static void sample(run *r, int step)
{
    const sg_data *d = r->have_val ? &r->val : &r->train;
    int n_prompt = r->T < 8 ? r->T : 8, cap = r->m.Tmax;
    int32_t *toks = malloc((size_t)cap * sizeof *toks);
    if (!toks) return;
    if (!r->tok && r->tokenizer[0] && sg_tokenizer_load(r->tokenizer, &r->tok, NULL) != SG_OK) r->tok = NULL;
    sg_data_fill(d, 0, 1, r->inp, r->tgt, NULL, NULL);
    memcpy(toks, r->inp, (size_t)n_prompt * sizeof *toks);
    int n = n_prompt;
    for (int k = 0; k < r->c->sample_tokens && n < cap; k++) {
        sg_tmodel_forward(&r->m, toks, NULL, NULL, 1, n);
        const float *l = r->m.a.logits + (size_t)(n - 1) * r->m.s.V;
        int best = 0;
        for (int i = 1; i < r->m.s.V; i++)
            if (l[i] > l[best]) best = i;
        toks[n++] = best;
    }
    printf("sample step %d: prompt [", step);
    print_tokens(r, toks, n_prompt);
    printf("] -> [");
    print_tokens(r, toks + n_prompt, n - n_prompt);
    printf("]\n");
    fflush(stdout);
    free(toks);
}

static sg_status save_checkpoint(run *r, sg_error *err)
{
    char path[SG_TCFG_STR + 32];
    snprintf(path, sizeof path, "%s/ckpt-%08d.bin", r->c->out_dir, r->st.step);
    sg_status s = sg_checkpoint_save(&r->m, &r->st, path, err);
    if (!s && r->log) {
        fprintf(r->log, "checkpoint step %d %s\n", r->st.step, path);
        fflush(r->log);
    }
    return s;
}

/* Logits of training sequence 0 with the final weights (test aid). */
static sg_status dump_logits(run *r, sg_error *err)
{
    sg_data_fill(&r->train, 0, 1, r->inp, r->tgt, NULL, r->pos);
    sg_tmodel_forward_docs(&r->m, r->inp, r->pos, NULL, NULL, 1, r->T);
    FILE *f = fopen(r->c->dump_logits, "wb");
    if (!f) return sg_fail(err, SG_ERR_IO, "%s: cannot create: %s", r->c->dump_logits, strerror(errno));
    size_t n = (size_t)r->T * r->m.s.V;
    bool ok = fwrite(r->m.a.logits, sizeof(float), n, f) == n;
    if (fclose(f) != 0) ok = false;
    return ok ? SG_OK : sg_fail(err, SG_ERR_IO, "%s: write failed", r->c->dump_logits);
}

/* One optimizer step; returns the mean loss of the global batch. A loss or
 * gradient norm that is not finite skips the update (*skipped) and leaves
 * the weights as they were; the caller stops or goes on (on_nan). */
static double train_step(run *r, double *norm_out, bool dump, bool *skipped)
{
    const sg_train_config *c = r->c;
    size_t BT = (size_t)r->B * r->T;
    double acc[2] = {0, 0}; /* sum(mask * loss), sum(mask) */
    for (int a = 0; a < r->A; a++) {
        uint64_t first = r->st.data_pos + ((uint64_t)a * r->dist.world + (uint64_t)r->dist.rank) * (uint64_t)r->B;
        sg_data_fill(&r->train, first, r->B, r->inp + a * BT, r->tgt + a * BT, r->mask + a * BT, r->pos + a * BT);
        for (size_t k = 0; k < BT; k++) acc[1] += r->mask[a * BT + k];
    }
    double total = acc[1];
    sg_dist_allreduce_f64(&r->dist, &total, 1);
    float scale = total > 0 ? (float)(1.0 / total) : 0.0f;
    memset(r->m.grads, 0, r->m.n_params * sizeof(float));
    for (int a = 0; a < r->A; a++) {
        acc[0] += sg_tmodel_forward_docs(&r->m, r->inp + a * BT, r->pos + a * BT, r->tgt + a * BT, r->mask + a * BT,
                                         r->B, r->T);
        sg_tmodel_backward(&r->m, scale);
    }
    sg_dist_allreduce_f32(&r->dist, r->m.grads, r->m.n_params);
    sg_dist_allreduce_f64(&r->dist, acc, 1);
    if (dump && r->dist.rank == 0) {
        sg_error e = {0};
        if (sg_export_safetensors(&r->m, r->m.grads, c->dump_grads, false, &e))
            fprintf(stderr, "stargate: warning: %s\n", e.msg);
    }
    double norm = sg_grad_norm(&r->m);
    double loss = total > 0 ? acc[0] / total : 0;
    *skipped = !isfinite(loss) || !isfinite(norm);
    if (!*skipped) {
        sg_grad_clip(&r->m, norm, c->grad_clip);
        double lr = sg_lr_at(c, r->st.step);
        sg_adamw_step(&r->m, c, lr, r->st.step + 1);
    }
    r->st.step++;
    r->st.data_pos += (uint64_t)r->A * (uint64_t)r->dist.world * (uint64_t)r->B;
    r->st.tokens += (uint64_t)r->A * (uint64_t)r->dist.world * BT;
    *norm_out = norm;
    return loss;
}

static sg_status run_loop(run *r, sg_error *err)
{
    const sg_train_config *c = r->c;
    bool lead = r->dist.rank == 0;
    sg_status s;
    int start = r->st.step, stop = c->max_steps;
    if (c->halt_after && start + c->halt_after < stop) stop = start + c->halt_after;
    if (lead && !c->quiet) {
        const sg_tshape *sh = &r->m.s;
        printf("train: %s, %zu parameters (V %d, C %d, L %d, H %d/%d, D %d, F %d%s), %d process%s x %d thread%s\n",
               sh->arch == SG_ARCH_GPT2 ? "gpt2" : "llama", r->m.n_params, sh->V, sh->C, sh->L, sh->H, sh->KV, sh->D,
               sh->F, sh->tied ? ", tied" : "", r->dist.world, r->dist.world > 1 ? "es" : "", r->m.n_threads,
               r->m.n_threads > 1 ? "s" : "");
        printf("train: global batch %d x %d tokens (%d per micro-batch x %d accumulation x %d processes), steps %d..%d\n",
               r->A * r->dist.world * r->B, r->T, r->B, r->A, r->dist.world, start + 1, stop);
        fflush(stdout);
    }
    double t_start = now(), t_last = t_start;
    int steps_since = 0, n_skipped = 0;
    for (int step = start; step < stop; step++) {
        double norm, t0 = now();
        bool skipped;
        double loss = train_step(r, &norm, c->dump_grads[0] && step == start, &skipped);
        double dt = now() - t0;
        if (skipped) {
            const char *what = !isfinite(loss) ? "loss" : "gradient norm";
            double v = !isfinite(loss) ? loss : norm;
            if (!c->on_nan_skip)
                return sg_fail(err, SG_ERR_INVALID,
                               "training diverged: %s is %g at step %d (weights of step %d kept; on_nan = skip "
                               "skips such batches)",
                               what, v, r->st.step, r->st.step - 1);
            n_skipped++;
            if (lead) {
                fprintf(stderr, "stargate: warning: %s is %g at step %d: batch skipped (on_nan = skip)\n", what, v,
                        r->st.step);
                if (r->log) fprintf(r->log, "skip %d %s %g\n", r->st.step, what, v);
            }
            if (n_skipped >= 100 && n_skipped == r->st.step - start)
                return sg_fail(err, SG_ERR_INVALID, "training diverged: the first %d steps all had a non-finite loss",
                               n_skipped);
            continue;
        }
        double lr = sg_lr_at(c, step);
        double tok = (double)r->A * r->dist.world * r->B * r->T;
        steps_since++;
        if (lead && r->log) {
            fprintf(r->log, "step %d loss %.9g lr %.9g norm %.9g tok_s %.1f\n", r->st.step, loss, lr, norm, tok / dt);
            fflush(r->log);
        }
        if (lead && !c->quiet && (r->st.step % c->log_every == 0 || step + 1 == stop)) {
            double t = now(), per = (t - t_last) / steps_since;
            char eta[32];
            fmt_duration(eta, sizeof eta, per * (stop - r->st.step));
            printf("step %6d/%d | loss %.6f | lr %.3e | norm %.4f | %8.0f tok/s | %.1f ms/step | ETA %s\n", r->st.step,
                   c->max_steps, loss, lr, norm, tok / per, per * 1e3, eta);
            fflush(stdout);
            t_last = t;
            steps_since = 0;
        }
        if (c->val_every && r->have_val && (r->st.step % c->val_every == 0 || r->st.step == c->max_steps)) {
            double vl = validate(r);
            if (lead) {
                if (!c->quiet) printf("val step %d | loss %.6f\n", r->st.step, vl);
                if (r->log) fprintf(r->log, "val %d loss %.9g\n", r->st.step, vl);
            }
        }
        if (lead && c->sample_every && r->st.step % c->sample_every == 0) sample(r, r->st.step);
        if (c->checkpoint_every && r->st.step % c->checkpoint_every == 0 && lead && (s = save_checkpoint(r, err))) {
            /* the other ranks are already in the next step's all-reduce */
            if (r->dist.world > 1) {
                fprintf(stderr, "stargate: error: %s\n", err ? err->msg : "checkpoint failed");
                sg_dist_abort(&r->dist, 1);
            }
            return s;
        }
    }
    if (lead && !c->quiet && stop > start) {
        double el = now() - t_start;
        printf("train: %d steps in %.2f s, %.0f tokens/s\n", stop - start, el,
               (double)(stop - start) * r->A * r->dist.world * r->B * r->T / el);
    }
    if (lead && c->out_dir[0] && !(c->checkpoint_every && r->st.step % c->checkpoint_every == 0 && stop > start) &&
        (s = save_checkpoint(r, err)))
        return s;
    return SG_OK;
}

static sg_status finish(run *r, sg_error *err)
{
    const sg_train_config *c = r->c;
    sg_status s = SG_OK;
    if (r->dist.rank != 0) return SG_OK;
    if (c->export_gguf[0] &&
        (s = sg_export_gguf(&r->m, r->m.params, c->export_gguf, c->export_f16, r->tokenizer, err)))
        return s;
    if (c->export_hf[0] &&
        (s = sg_export_hf(&r->m, r->m.params, c->export_hf, c->export_f16, r->tokenizer, err)))
        return s;
    if (c->dump_logits[0] && (s = dump_logits(r, err))) return s;
    return s;
}

sg_status sg_train_run(const sg_train_config *c, sg_error *err)
{
    sg_status s = sg_train_config_check(c, err);
    if (s) return s;
    run r;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.B = c->batch_size;
    r.T = c->seq_len;
    r.A = c->grad_accum;
    r.st.rng = c->seed;
    if ((s = sg_dist_init(&r.dist, err))) return s;
    sg_dist_set_timeout(&r.dist, c->dist_timeout);
    if ((s = sg_data_open(&r.train, c->train_data, r.T, err))) goto done;
    if (c->val_data[0]) {
        if ((s = sg_data_open(&r.val, c->val_data, r.T, err))) goto done;
        r.have_val = true;
    }
    if ((s = build_model(&r, err))) goto done;
    if ((s = check_tokenizer(&r, err))) goto done;
    /* parallelism comes from the pool: tiles of single-threaded sgemm */
    openblas_set_num_threads(1);
    size_t n = (size_t)r.A * r.B * r.T;
    r.inp = malloc(n * sizeof *r.inp);
    r.tgt = malloc(n * sizeof *r.tgt);
    r.mask = malloc(n * sizeof *r.mask);
    r.pos = malloc(n * sizeof *r.pos);
    if (!r.inp || !r.tgt || !r.mask || !r.pos) {
        s = sg_fail(err, SG_ERR_NOMEM, "out of memory for %zu batch tokens", n);
        goto done;
    }
    char ck[SG_TCFG_STR + 32] = "";
    if (!strcmp(c->resume, "auto")) sg_checkpoint_latest(c->out_dir, ck, sizeof ck);
    else if (c->resume[0]) snprintf(ck, sizeof ck, "%s", c->resume);
    if (ck[0]) {
        if ((s = sg_checkpoint_load(&r.m, &r.st, ck, err))) goto done;
        if (r.dist.rank == 0 && !c->quiet) printf("train: resumed from %s at step %d\n", ck, r.st.step);
    }
    if (r.dist.rank == 0 && c->out_dir[0]) {
        if (make_dirs(c->out_dir) != 0) {
            s = sg_fail(err, SG_ERR_IO, "%s: cannot create directory: %s", c->out_dir, strerror(errno));
            goto done;
        }
        char lp[SG_TCFG_STR + 32];
        snprintf(lp, sizeof lp, "%s/train.log", c->out_dir);
        r.log = fopen(lp, ck[0] ? "a" : "w");
        if (!r.log) {
            s = sg_fail(err, SG_ERR_IO, "%s: cannot open: %s", lp, strerror(errno));
            goto done;
        }
    }
    if ((s = run_loop(&r, err))) goto done;
    s = finish(&r, err);
done:
    if (sg_dist_any(&r.dist, s != SG_OK) && s == SG_OK)
        s = sg_fail(err, SG_ERR_IO, "another process failed (rank %d stops too)", r.dist.rank);
    if (r.log) fclose(r.log);
    free(r.inp);
    free(r.tgt);
    free(r.mask);
    free(r.pos);
    if (r.m.params) sg_tmodel_free(&r.m);
    sg_tokenizer_free(r.tok);
    sg_data_close(&r.train);
    if (r.have_val) sg_data_close(&r.val);
    return s;
}

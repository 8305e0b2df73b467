/*
 * pool.c -- a persistent worker pool with dynamic task scheduling.
 *
 * One job at a time: sg_pool_run() publishes (fn, arg, n_tasks) under the
 * mutex and bumps a generation counter; workers wake, claim task indices from
 * an atomic counter until none are left, and the last one to finish signals
 * the caller, which also works on tasks meanwhile. Workers spin briefly after
 * a job (decode issues jobs back to back, microseconds apart) and then sleep
 * on the condition variable, so an idle process uses no CPU.
 */
#include "base/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

struct sg_pool {
    int n_threads; /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* workers wait for a new generation */
    pthread_cond_t done; /* caller waits for the job to finish */
    /* current job */
    sg_task_fn fn;
    void *arg;
    int n_tasks;
    atomic_int next;     /* next task index to claim       */
    atomic_int finished; /* tasks completed                */
    atomic_uint gen;     /* job generation                 */
    int active_workers;  /* workers still inside the job (under mu) */
    bool stop;
};

typedef struct {
    sg_pool *p;
    int id;
} worker_arg;

static void work_on(sg_pool *p, int thread)
{
    for (;;) {
        int t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->n_tasks) break;
        p->fn(p->arg, t, thread);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_release);
    }
}

static void *worker_main(void *v)
{
    worker_arg *wa = v;
    sg_pool *p = wa->p;
    int id = wa->id;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        /* brief spin for back-to-back jobs, then sleep */
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int spin = 0; g == seen && spin < 20000; spin++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        pthread_mutex_lock(&p->mu);
        while (!p->stop && atomic_load(&p->gen) == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->gen);
        p->active_workers++;
        pthread_mutex_unlock(&p->mu);

        work_on(p, id);

        pthread_mutex_lock(&p->mu);
        if (--p->active_workers == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int sg_physical_cores(void)
{
    /* Count distinct (physical id, core id) pairs in /proc/cpuinfo. */
    FILE *fp = fopen("/proc/cpuinfo", "r");
    int n = 0;
    if (fp) {
        char line[256];
        int phys = 0, pairs[1024][2], np = 0;
        while (fgets(line, sizeof line, fp)) {
            int v;
            if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
            else if (sscanf(line, "core id : %d", &v) == 1) {
                bool dup = false;
                for (int i = 0; i < np; i++)
                    if (pairs[i][0] == phys && pairs[i][1] == v) dup = true;
                if (!dup && np < 1024) {
                    pairs[np][0] = phys;
                    pairs[np][1] = v;
                    np++;
                }
            }
        }
        fclose(fp);
        n = np;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0 || (online > 0 && n > online)) n = online > 0 ? (int)online : 1;
    return n;
}

sg_pool *sg_pool_new(int n_threads)
{
    if (n_threads <= 0) n_threads = sg_physical_cores();
    if (n_threads > 512) n_threads = 512;
    sg_pool *p = sg_xcalloc(1, sizeof *p);
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->gen, 0);
    p->threads = sg_xcalloc((size_t)n_threads, sizeof(pthread_t));
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = sg_xmalloc(sizeof *wa);
        wa->p = p;
        wa->id = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n_threads = i; /* run with the workers we have */
            break;
        }
    }
    return p;
}

void sg_pool_free(sg_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int sg_pool_size(const sg_pool *p)
{
    return p ? p->n_threads : 1;
}

void sg_pool_run(sg_pool *p, sg_task_fn fn, void *arg, int n_tasks)
{
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(arg, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    /* a worker that woke late for the previous job may still be leaving it */
    while (p->active_workers > 0) pthread_cond_wait(&p->done, &p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next, 0);
    atomic_store(&p->finished, 0);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    work_on(p, 0);

    /* all tasks claimed; wait until every claimed task has finished */
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < n_tasks) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* make sure no worker still reads the job fields before the next publish */
    pthread_mutex_lock(&p->mu);
    while (p->active_workers > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

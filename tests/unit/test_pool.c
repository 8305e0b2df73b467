/* test_pool.c -- the thread pool runs every task exactly once, for many jobs
 * in a row, with any thread count, and a pool of 1 runs inline. */
#include <stdatomic.h>

#include "base/pool.h"
#include "test.h"

typedef struct {
    atomic_int hits[1000];
    atomic_int bad_thread;
    int n_threads;
} job;

static void task(void *arg, int t, int thread)
{
    job *j = arg;
    atomic_fetch_add(&j->hits[t], 1);
    if (thread < 0 || thread >= j->n_threads) atomic_fetch_add(&j->bad_thread, 1);
}

static void run_with(int n_threads)
{
    sg_pool *p = sg_pool_new(n_threads);
    CHECK(sg_pool_size(p) == n_threads);
    static job j;
    for (int rep = 0; rep < 200; rep++) {
        int n = 1 + (rep * 37) % 1000;
        for (int i = 0; i < 1000; i++) atomic_store(&j.hits[i], 0);
        atomic_store(&j.bad_thread, 0);
        j.n_threads = n_threads;
        sg_pool_run(p, task, &j, n);
        int ok = 1;
        for (int i = 0; i < 1000; i++) ok &= atomic_load(&j.hits[i]) == (i < n);
        CHECK_MSG(ok, "threads %d rep %d n %d", n_threads, rep, n);
        CHECK(atomic_load(&j.bad_thread) == 0);
    }
    sg_pool_run(p, task, &j, 0); /* no tasks: returns at once */
    sg_pool_free(p);
}

TEST_MAIN({
    run_with(1);
    run_with(2);
    run_with(3);
    run_with(8);
    CHECK(sg_physical_cores() >= 1);
})

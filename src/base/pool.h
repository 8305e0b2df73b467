/*
 * pool.h -- the one thread pool shared by every kernel.
 *
 * sg_pool_run() hands out task indices 0..n_tasks-1 through an atomic counter
 * (dynamic scheduling, so uneven tasks balance), the calling thread works too,
 * and it returns when all tasks are done. Idle workers sleep on a condition
 * variable after a short spin, so an idle server burns no core.
 */
#ifndef SG_BASE_POOL_H
#define SG_BASE_POOL_H

typedef struct sg_pool sg_pool;

/* fn(arg, task, thread): thread is in [0, sg_pool_size()) and identifies
 * per-thread scratch space. */
typedef void (*sg_task_fn)(void *arg, int task, int thread);

sg_pool *sg_pool_new(int n_threads); /* n_threads includes the caller; <= 0: physical cores */
void sg_pool_free(sg_pool *p);
int sg_pool_size(const sg_pool *p);
void sg_pool_run(sg_pool *p, sg_task_fn fn, void *arg, int n_tasks);

/* Number of physical cores (falls back to online CPUs). */
int sg_physical_cores(void);

#endif

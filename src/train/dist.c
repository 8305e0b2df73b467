/*
 * dist.c -- data parallelism over MPI.
 *
 * Every process (rank) holds the whole model, runs forward and backward on
 * its own slice of the global batch, and the gradients are summed with
 * MPI_Allreduce before the optimizer, so every rank takes the same step.
 * The trainer scales each rank's loss by 1 / (target weights of the whole
 * global batch), so the sum is the average gradient over the global batch.
 *
 * MPI is optional at build time (SG_HAVE_MPI, from find_package(MPI)) and at
 * run time: MPI_Init is only called when the process was started by an MPI
 * launcher, so a plain `stargate train` never touches the network stack.
 * Without MPI every function here is the one-process identity.
 *
 * Failures: a rank that dies is normally noticed by the launcher (OpenMPI's
 * mpirun kills the job and exits non-zero: "mpirun noticed that process
 * rank 1 ... exited on signal 9"). Besides, errors of collectives return
 * (MPI_ERRORS_RETURN) and end the process with a message naming the rank
 * and the MPI error, and a watchdog thread ends a process whose collective
 * has waited more than `dist_timeout` seconds (a peer that hangs, is
 * stopped, or whose node vanished without the launcher noticing), so no rank
 * waits forever. The interface (init, all-reduce of floats / doubles, any,
 * abort) is all the trainer uses, so another transport (NCCL for a GPU
 * trainer) can replace this file.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "train/train.h"

#ifdef SG_HAVE_MPI
#include <mpi.h>

static _Atomic double wait_since; /* monotonic start of the pending collective; 0: none */
static double timeout_s;
static int my_rank;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        sleep(1);
        double t = atomic_load(&wait_since);
        if (t > 0 && timeout_s > 0 && mono() - t > timeout_s) {
            fprintf(stderr,
                    "stargate: error: rank %d: waited %.0f s for the other processes in an all-reduce (dist_timeout): "
                    "a peer died or hangs; exiting\n",
                    my_rank, mono() - t);
            fflush(stderr);
            _exit(1);
        }
    }
    return NULL;
}

static void check(int rc, const char *what)
{
    atomic_store(&wait_since, 0.0);
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "stargate: error: rank %d: %s failed (a peer process died?): %.*s\n", my_rank, what, len, msg);
    fflush(stderr);
    _exit(1);
}

static void begin(void)
{
    atomic_store(&wait_since, mono());
}

static void finalize_mpi(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}
#endif

bool sg_dist_have_mpi(void)
{
#ifdef SG_HAVE_MPI
    return true;
#else
    return false;
#endif
}

sg_status sg_dist_init(sg_dist *d, sg_error *err)
{
    d->rank = 0;
    d->world = 1;
    d->mpi = false;
    bool launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
#ifdef SG_HAVE_MPI
    if (!launched) return SG_OK;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return sg_fail(err, SG_ERR_IO, "MPI_Init failed");
        atexit(finalize_mpi);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->world);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    my_rank = d->rank;
    d->mpi = d->world > 1;
    return SG_OK;
#else
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    if (launched && ws && atoi(ws) > 1)
        return sg_fail(err, SG_ERR_UNSUPPORTED, "launched by mpirun with %s processes, but stargate was built without MPI",
                       ws);
    return SG_OK;
#endif
}

void sg_dist_allreduce_f32(const sg_dist *d, float *buf, size_t n)
{
#ifdef SG_HAVE_MPI
    if (!d->mpi) return;
    while (n > 0) {
        int k = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        begin();
        check(MPI_Allreduce(MPI_IN_PLACE, buf, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
        buf += k;
        n -= (size_t)k;
    }
#else
    (void)d, (void)buf, (void)n;
#endif
}

void sg_dist_allreduce_f64(const sg_dist *d, double *buf, int n)
{
#ifdef SG_HAVE_MPI
    if (!d->mpi) return;
    begin();
    check(MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
#else
    (void)d, (void)buf, (void)n;
#endif
}

bool sg_dist_any(const sg_dist *d, bool bad)
{
#ifdef SG_HAVE_MPI
    if (!d->mpi) return bad;
    int v = bad ? 1 : 0;
    begin();
    check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return v != 0;
#else
    (void)d;
    return bad;
#endif
}

void sg_dist_set_timeout(const sg_dist *d, double seconds)
{
#ifdef SG_HAVE_MPI
    static bool started;
    timeout_s = seconds;
    if (!d->mpi || seconds <= 0 || started) return;
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog, NULL) == 0) {
        pthread_detach(t);
        started = true;
    }
#else
    (void)d, (void)seconds;
#endif
}

void sg_dist_abort(const sg_dist *d, int code)
{
#ifdef SG_HAVE_MPI
    if (d->mpi) MPI_Abort(MPI_COMM_WORLD, code);
#endif
    (void)d;
    exit(code);
}

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
 */
#include <limits.h>
#include <stdlib.h>

#include "train/train.h"

#ifdef SG_HAVE_MPI
#include <mpi.h>

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
        MPI_Allreduce(MPI_IN_PLACE, buf, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
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
    if (d->mpi) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
    (void)d, (void)buf, (void)n;
#endif
}

bool sg_dist_any(const sg_dist *d, bool bad)
{
#ifdef SG_HAVE_MPI
    if (!d->mpi) return bad;
    int v = bad ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v != 0;
#else
    (void)d;
    return bad;
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

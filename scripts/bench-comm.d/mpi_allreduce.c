/* MPI_Allreduce bandwidth, measured as nccl-tests and `cann comm bench`
 * measure it: float32 sum, size_bytes per rank, the slowest rank's mean
 * time per call, algbw = size/time, busbw = algbw * 2(n-1)/n. The result
 * is checked, and WARMUP calls made, before timing.
 * Usage: mpi_allreduce ITERS WARMUP SIZE_BYTES...
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	MPI_Init(&argc, &argv);
	int rank, n;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	if (argc < 4) {
		if (rank == 0) fprintf(stderr, "usage: %s ITERS WARMUP SIZE_BYTES...\n", argv[0]);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	int iters = atoi(argv[1]), warmup = atoi(argv[2]);
	if (rank == 0) printf("size_bytes time_us algbw_gbps busbw_gbps\n");
	for (int a = 3; a < argc; a++) {
		long bytes = atol(argv[a]);
		long count = bytes / 4;
		float *send = malloc(count * sizeof(float)), *recv = malloc(count * sizeof(float));
		for (long i = 0; i < count; i++) send[i] = (float)((rank + i) % 3);
		MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		for (long i = 0; i < count; i++) {
			float want = 0;
			for (int q = 0; q < n; q++) want += (float)((q + i) % 3);
			if (recv[i] != want) {
				fprintf(stderr, "rank %d: element %ld is %g, want %g\n", rank, i, recv[i], want);
				MPI_Abort(MPI_COMM_WORLD, 1);
			}
		}
		for (int i = 0; i < warmup; i++) MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		MPI_Barrier(MPI_COMM_WORLD);
		double t0 = MPI_Wtime();
		for (int i = 0; i < iters; i++) MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		double t = (MPI_Wtime() - t0) / iters, slowest;
		MPI_Reduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
		if (rank == 0) {
			double algbw = (double)(count * 4) / slowest / 1e9;
			printf("%ld %.1f %.3f %.3f\n", count * 4, slowest * 1e6, algbw, algbw * 2.0 * (n - 1) / n);
		}
		free(send);
		free(recv);
	}
	MPI_Finalize();
	return 0;
}

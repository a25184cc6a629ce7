/*
 * msync_bench: how fast msync finds and writes dirty pages, on whatever kernel
 * runs it. Each figure is the median of REPS runs, timed in the guest with
 * clock_gettime(CLOCK_MONOTONIC), and printed as one line
 *
 *     bench NAME VALUE UNIT
 *
 * for the runner to put side by side with the same program on Linux, after
 * one line "reps N".
 *
 * Usage: msync_bench [DIR]   (files are created in DIR, default /)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Host noise under TCG moves single runs by tens of percent: eleven keep the
 * median steady enough for a ratio. */
#define REPS 11
#define MIB (1024UL * 1024UL)
#define PAGE 4096UL
#define BIG (64 * MIB)
#define SPARSE (1024 * MIB)

static char dir[256] = "/";

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *values)
{
	qsort(values, REPS, sizeof *values, compare);
	return values[REPS / 2];
}

static void die(const char *what)
{
	printf("bench-error %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of `size` bytes (sparse), mapped MAP_SHARED read-write. */
static unsigned char *map_file(const char *name, size_t size, int *fd_out)
{
	char path[512];
	int fd;
	void *map;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	if (ftruncate(fd, (off_t)size))
		die("ftruncate");
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	*fd_out = fd;
	return map;
}

static void dirty(unsigned char *map, size_t size, unsigned char value)
{
	for (size_t offset = 0; offset < size; offset += PAGE)
		map[offset] = value;
}

static double timed_msync(void *map, size_t size, int flags)
{
	double start = now_us();

	if (msync(map, size, flags))
		die("msync");
	return now_us() - start;
}

static void report(const char *name, double value, const char *unit)
{
	printf("bench %s %.1f %s\n", name, value, unit);
	fflush(stdout);
}

/* 64 MiB fully dirtied, msync(MS_SYNC): write-back throughput. */
static void full_writeback(void)
{
	int fd;
	unsigned char *map = map_file("bench-64m", BIG, &fd);
	double rates[REPS];

	for (int rep = 0; rep < REPS; rep++) {
		dirty(map, BIG, (unsigned char)(rep + 1));
		rates[rep] = (BIG / (double)MIB) / (timed_msync(map, BIG, MS_SYNC) / 1e6);
	}
	report("writeback_64mib_ms_sync", median(rates), "MiB/s");

	/* Every page mapped and clean: the cost of finding nothing. */
	for (int rep = 0; rep < REPS; rep++)
		rates[rep] = timed_msync(map, BIG, MS_SYNC);
	report("clean_64mib_ms_sync", median(rates), "us");

	/* MS_ASYNC: time to return, then time until the data is on disk (fsync
	 * waits for the write-back already started and writes what is left). */
	double returned[REPS], clean[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		dirty(map, BIG, (unsigned char)(rep + 100));
		double start = now_us();
		if (msync(map, BIG, MS_ASYNC))
			die("msync(MS_ASYNC)");
		returned[rep] = now_us() - start;
		if (fsync(fd))
			die("fsync");
		clean[rep] = (now_us() - start) / 1e3;
	}
	report("ms_async_64mib_return", median(returned), "us");
	report("ms_async_64mib_until_clean", median(clean), "ms");
	munmap(map, BIG);
	close(fd);
}

/* A 1 GiB sparse mapping with one dirty page, then with none. */
static void sparse_scan(void)
{
	int fd;
	unsigned char *map = map_file("bench-1g-sparse", SPARSE, &fd);
	double one[REPS], none[REPS];

	for (int rep = 0; rep < REPS; rep++) {
		map[SPARSE / 2] = (unsigned char)(rep + 1);
		one[rep] = timed_msync(map, SPARSE, MS_SYNC);
		none[rep] = timed_msync(map, SPARSE, MS_SYNC);
	}
	report("sparse_1gib_one_dirty_ms_sync", median(one), "us");
	report("sparse_1gib_clean_ms_sync", median(none), "us");
	munmap(map, SPARSE);
	close(fd);
}

/* fork, _exit and waitpid of this (small) process: the cost of a process's
 * life, averaged over a batch of FORKS. */
#define FORKS 20
static void fork_exit_wait(void)
{
	double each[REPS];

	for (int rep = 0; rep < REPS; rep++) {
		double start = now_us();
		for (int i = 0; i < FORKS; i++) {
			int status;
			pid_t child = fork();

			if (child < 0)
				die("fork");
			if (child == 0)
				_exit(0);
			if (waitpid(child, &status, 0) != child || status != 0)
				die("waitpid");
		}
		each[rep] = (now_us() - start) / FORKS;
	}
	report("fork_exit_wait", median(each), "us");
}

/* fork of a process whose 64 MiB shared file mapping is all dirty, and the
 * child's msync(MS_SYNC) of it: the child must find and write the pages the
 * parent dirtied, until waitpid sees it done. */
static void fork_then_child_ms_sync(void)
{
	int fd;
	unsigned char *map = map_file("bench-fork-64m", BIG, &fd);
	double times[REPS];

	for (int rep = 0; rep < REPS; rep++) {
		int status;
		pid_t child;
		double start;

		dirty(map, BIG, (unsigned char)(rep + 1));
		start = now_us();
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0)
			_exit(msync(map, BIG, MS_SYNC) == 0 ? 0 : 1);
		if (waitpid(child, &status, 0) != child || status != 0)
			die("the child's msync");
		times[rep] = (now_us() - start) / 1e3;
	}
	report("fork_64mib_dirty_child_ms_sync", median(times), "ms");
	munmap(map, BIG);
	close(fd);
}

/* The device limit: 64 MiB written with O_DIRECT in 8 MiB chunks. */
static void direct_writes(void)
{
	char path[512];
	size_t chunk = 8 * MIB;
	void *buffer;
	double rates[REPS];
	int fd;

	snprintf(path, sizeof path, "%s/bench-direct", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0)
		die("open(O_DIRECT)");
	if (posix_memalign(&buffer, PAGE, chunk))
		die("posix_memalign");
	memset(buffer, 0x5a, chunk);
	for (int rep = 0; rep < REPS; rep++) {
		double start = now_us();
		for (size_t offset = 0; offset < BIG; offset += chunk)
			if (pwrite(fd, buffer, chunk, (off_t)offset) != (ssize_t)chunk)
				die("pwrite(O_DIRECT)");
		if (fsync(fd))
			die("fsync");
		rates[rep] = (BIG / (double)MIB) / ((now_us() - start) / 1e6);
	}
	report("direct_64mib_write", median(rates), "MiB/s");
	free(buffer);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		snprintf(dir, sizeof dir, "%s", argv[1]);
	printf("reps %d\n", REPS);
	fork_exit_wait();
	full_writeback();
	sparse_scan();
	fork_then_child_ms_sync();
	direct_writes();
	printf("bench done\n");
	return 0;
}

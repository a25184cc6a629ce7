/*
 * durability: stores a pattern into a file through a MAP_SHARED mapping and
 * then never exits, so that the host can kill the machine and look at the
 * disk image with debugfs.
 *
 * Usage: durability MODE FILE SEED SIZE [SECONDS]
 *
 *   sync   store, msync(MS_SYNC), print DURABILITY-MARKER, sleep forever
 *   async  store, msync(MS_ASYNC), sleep SECONDS, print the marker, sleep forever
 *   read   write the pattern to FILE.src with write(), then read() it straight
 *          into the mapping of FILE (the kernel is the one storing), msync(MS_SYNC),
 *          print the marker, sleep forever
 *   fsync  store, fsync(FILE) without any msync, print the marker, sleep forever
 *          (stores through a mapping are the file's dirty data: fsync writes them)
 *   flusher store, sleep SECONDS without any msync, print the marker, sleep
 *          forever (the kernel's flusher must write the data by itself)
 *   none   store, print the marker at once, sleep forever (the negative control:
 *          nothing asked for write-back, so the disk need not hold the data)
 *   child-stores       a forked child stores and exits without msync; the
 *          parent calls msync(MS_SYNC) and prints the marker
 *   live-child-stores  a forked child stores and stays alive, still mapping
 *          the dirty pages; the parent calls msync(MS_SYNC), the marker
 *   child-syncs        the parent stores, a forked child calls
 *          msync(MS_SYNC) and exits; the parent prints the marker
 *   moved-syncs        store, move the mapping with mremap(MREMAP_FIXED),
 *          msync(MS_SYNC) at the new address, print the marker
 *
 * FILE is created (or truncated) to SIZE bytes. The byte at file offset i is
 *
 *     (SEED * 131 + i * 7) mod 251
 *
 * (pattern.h), so the host recomputes it from SEED and SIZE alone.
 * Errors print "DURABILITY-ERROR ..." and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

static int error(const char *what)
{
	printf("DURABILITY-ERROR %s: %s\n", what, strerror(errno));
	return 1;
}

static void sleep_seconds(long seconds)
{
	struct timespec t = { .tv_sec = seconds, .tv_nsec = 0 };

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		;
}

/* Writes the pattern to PATH.src with write(), then read()s it back into `map`. */
static int read_pattern_into(unsigned char *map, const char *path, size_t size, unsigned seed)
{
	char source[512];
	unsigned char *bytes = malloc(size);
	int fd;

	if (!bytes)
		return error("malloc");
	snprintf(source, sizeof source, "%s.src", path);
	fd = open(source, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return error("open(source)");
	pattern_fill(bytes, 0, size, seed);
	if (write(fd, bytes, size) != (ssize_t)size)
		return error("write(source)");
	if (lseek(fd, 0, SEEK_SET) != 0)
		return error("lseek(source)");
	if (read(fd, map, size) != (ssize_t)size)
		return error("read(source) into the mapping");
	free(bytes);
	return close(fd) ? error("close(source)") : 0;
}

/*
 * A forked child stores the pattern into `map`; it exits, or with `stay`
 * tells the parent through a pipe and sleeps on (still mapping the pages).
 * Returns once the child has stored.
 */
static int store_in_a_child(unsigned char *map, size_t size, unsigned seed, int stay)
{
	int stored[2], status;
	char byte;
	pid_t child;

	if (pipe(stored))
		return error("pipe");
	child = fork();
	if (child < 0)
		return error("fork");
	if (child == 0) {
		pattern_fill(map, 0, size, seed);
		if (write(stored[1], "!", 1) != 1)
			_exit(1);
		if (stay)
			for (;;)
				sleep_seconds(3600);
		_exit(0);
	}
	if (read(stored[0], &byte, 1) != 1)
		return error("the storing child did not report");
	if (!stay && (waitpid(child, &status, 0) != child || status != 0))
		return error("the storing child failed");
	return 0;
}

/* A forked child calls msync(MS_SYNC) on `map`; returns once it succeeded. */
static int sync_in_a_child(unsigned char *map, size_t size)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return error("fork");
	if (child == 0)
		_exit(msync(map, size, MS_SYNC) == 0 ? 0 : 1);
	if (waitpid(child, &status, 0) != child || status != 0)
		return error("msync(MS_SYNC) in the child");
	return 0;
}

/*
 * Moves the mapping with mremap (onto a range mapped for the purpose, so it
 * cannot stay in place), then msyncs it at its new address: the dirty pages'
 * D bits went with their page-table entries.
 */
static int sync_after_a_move(unsigned char *map, size_t size)
{
	void *target = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *moved;

	if (target == MAP_FAILED)
		return error("mmap of the target");
	moved = mremap(map, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	if (moved != target)
		return error("mremap");
	if (msync(moved, size, MS_SYNC))
		return error("msync(MS_SYNC) at the new address");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;
	unsigned seed;
	size_t size;
	long wait = 0;
	unsigned char *map;
	int fd;

	if (argc < 5 || ((strcmp(argv[1], "async") == 0 || strcmp(argv[1], "flusher") == 0) && argc < 6)) {
		printf("usage: durability sync|async|read|fsync|flusher|none|child-stores|live-child-stores|child-syncs|moved-syncs FILE SEED SIZE [SECONDS (async, flusher)]\n");
		return 2;
	}
	mode = argv[1];
	seed = (unsigned)strtoul(argv[3], NULL, 0);
	size = (size_t)strtoul(argv[4], NULL, 0);
	if (strcmp(mode, "async") == 0 || strcmp(mode, "flusher") == 0)
		wait = strtol(argv[5], NULL, 0);
	else if (strcmp(mode, "sync") != 0 && strcmp(mode, "read") != 0 && strcmp(mode, "fsync") != 0 &&
		 strcmp(mode, "none") != 0 && strcmp(mode, "child-stores") != 0 &&
		 strcmp(mode, "live-child-stores") != 0 && strcmp(mode, "child-syncs") != 0 &&
		 strcmp(mode, "moved-syncs") != 0) {
		printf("durability: unknown mode %s\n", mode);
		return 2;
	}
	if (size == 0) {
		printf("durability: SIZE must be above 0\n");
		return 2;
	}

	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return error("open");
	if (ftruncate(fd, (off_t)size))
		return error("ftruncate");
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return error("mmap");
	if (strcmp(mode, "read") == 0) {
		if (read_pattern_into(map, argv[2], size, seed))
			return 1;
	} else if (strcmp(mode, "child-stores") == 0 || strcmp(mode, "live-child-stores") == 0) {
		if (store_in_a_child(map, size, seed, strcmp(mode, "live-child-stores") == 0))
			return 1;
	} else {
		pattern_fill(map, 0, size, seed);
	}
	printf("durability: stored %zu bytes of seed %u into %s (%s)\n", size, seed, argv[2], mode);

	if ((strcmp(mode, "sync") == 0 || strcmp(mode, "read") == 0 ||
	     strcmp(mode, "child-stores") == 0 || strcmp(mode, "live-child-stores") == 0) &&
	    msync(map, size, MS_SYNC))
		return error("msync(MS_SYNC)");
	if (strcmp(mode, "child-syncs") == 0 && sync_in_a_child(map, size))
		return 1;
	if (strcmp(mode, "moved-syncs") == 0 && sync_after_a_move(map, size))
		return 1;
	if (strcmp(mode, "async") == 0) {
		if (msync(map, size, MS_ASYNC))
			return error("msync(MS_ASYNC)");
		sleep_seconds(wait);
	}
	if (strcmp(mode, "fsync") == 0 && fsync(fd))
		return error("fsync");
	if (strcmp(mode, "flusher") == 0)
		sleep_seconds(wait);
	printf("DURABILITY-MARKER\n");
	fflush(stdout);
	for (;;)
		sleep_seconds(3600);
}

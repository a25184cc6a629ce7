/*
 * file_times: when a file's times move — a store through a shared mapping
 * (before and at msync, and at munmap), write(), truncate and ftruncate,
 * and reads under the relatime policy — one case per rule, each passing on
 * Linux 6.1. Times are whole seconds on these file systems, so each case
 * waits a little over a second before the change it looks for.
 *
 * Usage: file_times [DIR]    (default "/"; the test files are created there)
 *
 * Prints one "PASS name -- source" or "FAIL name: ... -- source" line per
 * case, then "times of DIR/times-on-disk.dat: mtime M ctime C" for the
 * runner to compare with the inode on the disk, and ends with
 * "N passed, N failed"; exit status 0 only if none failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pattern_file.h"

#define SEED 21

static const char *test_dir = "/";
static size_t page;

/* Waits long enough for the next whole second to differ from this one. */
static void next_second(void)
{
	struct timespec wait = { 1, 200 * 1000 * 1000 };

	while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
		;
}

/* DIR/times-TAG with one page of the pattern, open read-write; -1 on failure. */
static int times_file(const char *tag, char *path, size_t path_size)
{
	snprintf(path, path_size, "%s/times-%s", test_dir, tag);
	return pattern_file(path, page, SEED);
}

static int stat_of(int fd, struct stat *status)
{
	if (fstat(fd, status) != 0)
		return fail("fstat: %s", errno_name(errno));
	return 0;
}

/* Checks that mtime and ctime moved past `before`'s (or stayed, if `moved` is 0). */
static int expect_times(const char *when, const struct stat *before, const struct stat *after,
			int moved)
{
	int mtime_moved = after->st_mtime > before->st_mtime;
	int ctime_moved = after->st_ctime > before->st_ctime;

	if (moved && (!mtime_moved || !ctime_moved))
		return fail("%s: expected mtime and ctime to advance from %ld/%ld got %ld/%ld", when,
			    (long)before->st_mtime, (long)before->st_ctime, (long)after->st_mtime,
			    (long)after->st_ctime);
	if (!moved && (after->st_mtime != before->st_mtime || after->st_ctime != before->st_ctime))
		return fail("%s: expected mtime and ctime to stay %ld/%ld got %ld/%ld", when,
			    (long)before->st_mtime, (long)before->st_ctime, (long)after->st_mtime,
			    (long)after->st_ctime);
	return 0;
}

/* Maps `fd` shared, waits a second, stores a byte; NULL on failure. */
static unsigned char *store_after_a_second(int fd)
{
	unsigned char *map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (map == MAP_FAILED) {
		fail("mmap: %s", errno_name(errno));
		return NULL;
	}
	next_second();
	map[17] ^= 0xff;
	return map;
}

static int a_store_through_a_mapping_moves_the_times_by_msync(void)
{
	char path[256];
	struct stat before, after;
	unsigned char *map;
	int fd = times_file("msync", path, sizeof path);
	int result;

	if (fd < 0 || stat_of(fd, &before))
		return -1;
	map = store_after_a_second(fd);
	if (!map)
		return -1;
	next_second();
	if (msync(map, page, MS_SYNC) != 0)
		result = fail("msync: %s", errno_name(errno));
	else
		result = stat_of(fd, &after) ? -1 : expect_times("after msync", &before, &after, 1);
	munmap(map, page);
	close(fd);
	unlink(path);
	return result;
}

static int a_store_through_a_mapping_is_seen_by_fstat_before_msync(void)
{
	char path[256];
	struct stat before, after;
	unsigned char *map;
	int fd = times_file("fstat", path, sizeof path);
	int result;

	if (fd < 0 || stat_of(fd, &before))
		return -1;
	map = store_after_a_second(fd);
	if (!map)
		return -1;
	result = stat_of(fd, &after) ? -1 : expect_times("after the store", &before, &after, 1);
	munmap(map, page);
	close(fd);
	unlink(path);
	return result;
}

static int a_store_then_munmap_moves_the_times(void)
{
	char path[256];
	struct stat before, after;
	unsigned char *map;
	int fd = times_file("munmap", path, sizeof path);
	int result;

	if (fd < 0 || stat_of(fd, &before))
		return -1;
	map = store_after_a_second(fd);
	if (!map)
		return -1;
	munmap(map, page);
	result = stat_of(fd, &after) ? -1 : expect_times("after munmap", &before, &after, 1);
	close(fd);
	unlink(path);
	return result;
}

static int write_moves_mtime_and_ctime(void)
{
	char path[256];
	struct stat before, after;
	int fd = times_file("write", path, sizeof path);
	int result;

	if (fd < 0 || stat_of(fd, &before))
		return -1;
	next_second();
	if (pwrite(fd, "x", 1, 10) != 1)
		result = fail("pwrite: %s", errno_name(errno));
	else
		result = stat_of(fd, &after) ? -1 : expect_times("after pwrite", &before, &after, 1);
	close(fd);
	unlink(path);
	return result;
}

static int truncate_and_ftruncate_move_the_times_even_to_the_same_size(void)
{
	char path[256];
	struct stat before, after;
	int fd = times_file("truncate", path, sizeof path);
	int result;

	if (fd < 0 || stat_of(fd, &before))
		return -1;
	next_second();
	if (truncate(path, (off_t)page) != 0)
		return fail("truncate: %s", errno_name(errno));
	result = stat_of(fd, &after) ? -1
				      : expect_times("truncate to the same size", &before, &after, 1);
	if (result == 0 && stat_of(fd, &before) == 0) {
		next_second();
		if (ftruncate(fd, (off_t)page) != 0)
			result = fail("ftruncate: %s", errno_name(errno));
		else
			result = stat_of(fd, &after) ? -1
						      : expect_times("ftruncate to the same size",
								     &before, &after, 1);
	}
	close(fd);
	unlink(path);
	return result;
}

static int a_read_after_a_change_moves_the_access_time_relatime(void)
{
	char path[256];
	char byte;
	struct stat status;
	int fd = times_file("atime", path, sizeof path);
	struct timespec times[2];
	int result = 0;

	if (fd < 0 || stat_of(fd, &status))
		return -1;
	/* The access time before the modification: the next read refreshes it. */
	times[0].tv_sec = status.st_mtime - 100;
	times[0].tv_nsec = 0;
	times[1].tv_sec = 0;
	times[1].tv_nsec = UTIME_OMIT;
	if (futimens(fd, times) != 0)
		return fail("futimens: %s", errno_name(errno));
	if (pread(fd, &byte, 1, 0) != 1 || stat_of(fd, &status))
		result = fail("pread: %s", errno_name(errno));
	else if (status.st_atime < status.st_mtime)
		result = fail("after a read: atime %ld still before mtime %ld", (long)status.st_atime,
			      (long)status.st_mtime);
	/* An access time after the modification, less than a day old, stays. */
	times[0].tv_sec = status.st_mtime + 100;
	if (result == 0 && futimens(fd, times) != 0)
		result = fail("futimens: %s", errno_name(errno));
	if (result == 0 && (pread(fd, &byte, 1, 0) != 1 || stat_of(fd, &status)))
		result = fail("pread: %s", errno_name(errno));
	else if (result == 0 && status.st_atime != times[0].tv_sec)
		result = fail("a fresh atime moved from %ld to %ld", (long)times[0].tv_sec,
			      (long)status.st_atime);
	close(fd);
	unlink(path);
	return result;
}

/*
 * Stores through a mapping, msyncs, and leaves the file for the runner,
 * which reads the inode's times off the disk (debugfs) and compares them
 * with the ones printed here.
 */
static int times_after_msync_reach_the_disk(void)
{
	char path[256];
	struct stat after;
	unsigned char *map;
	int fd = times_file("on-disk.dat", path, sizeof path);
	int result;

	if (fd < 0)
		return -1;
	map = store_after_a_second(fd);
	if (!map)
		return -1;
	if (msync(map, page, MS_SYNC) != 0)
		result = fail("msync: %s", errno_name(errno));
	else
		result = stat_of(fd, &after);
	if (result == 0) {
		sync();
		printf("times of %s: mtime %ld ctime %ld\n", path, (long)after.st_mtime,
		       (long)after.st_ctime);
	}
	munmap(map, page);
	close(fd);
	return result;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *source;
		int (*run)(void);
	} cases[] = {
#define CASE(name, source) { #name, source, name }
		CASE(a_store_through_a_mapping_moves_the_times_by_msync,
		     "POSIX msync: st_ctime and st_mtime marked between a write reference and msync"),
		CASE(a_store_through_a_mapping_is_seen_by_fstat_before_msync,
		     "Linux: page_mkwrite sets the times at the write fault"),
		CASE(a_store_then_munmap_moves_the_times,
		     "POSIX mmap: a write reference marks the times for update"),
		CASE(write_moves_mtime_and_ctime,
		     "man 2 write: st_mtime and st_ctime are updated on success"),
		CASE(truncate_and_ftruncate_move_the_times_even_to_the_same_size,
		     "man 2 truncate: st_ctime and st_mtime are updated (Linux 6.1 ext4: also for the same size)"),
		CASE(a_read_after_a_change_moves_the_access_time_relatime,
		     "man 8 mount: relatime updates atime if it is earlier than mtime or ctime"),
		CASE(times_after_msync_reach_the_disk,
		     "man 2 msync MS_SYNC, man 2 sync: the inode's times are written to the disk"),
#undef CASE
	};

	if (argc > 1)
		test_dir = argv[1];
	page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		report(cases[i].name, cases[i].source, cases[i].run());
	return summary();
}

/*
 * regressions: the data bugs a differential fuzzer found (each passed on
 * Linux and failed on this kernel), one case per rule.
 *
 * Usage: regressions [DIR]    (default "/"; the test files are created there)
 *
 * Prints one "PASS name -- source" or "FAIL name: ... -- source" line per
 * case and ends with "N passed, N failed"; exit status 0 only if none failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "pattern_file.h"

#define SEED_FILE 5
#define SEED_OTHER 6

static const char *test_dir = "/";
static size_t page;

/* DIR/regress-TAG, created afresh with `size` bytes of the `seed` pattern; -1 on failure. */
static int regression_file(const char *tag, size_t size, unsigned seed, char *path, size_t path_size)
{
	snprintf(path, path_size, "%s/regress-%s", test_dir, tag);
	return pattern_file(path, size, seed);
}

/*
 * Maps `fd` (or anonymous memory for -1) shared and read-only, reads the
 * first page so that it is mapped without write permission, then makes the
 * mapping PROT_NONE first if `via_none`, and finally read-write.
 */
static unsigned char *map_read_only_then_writable(int fd, int via_none)
{
	int flags = fd < 0 ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED;
	unsigned char *map = mmap(NULL, 2 * page, PROT_READ, flags, fd, 0);
	volatile unsigned char sink;

	if (map == MAP_FAILED) {
		fail("mmap: %s", errno_name(errno));
		return NULL;
	}
	sink = map[0];
	(void)sink;
	if ((via_none && mprotect(map, 2 * page, PROT_NONE) != 0) ||
	    mprotect(map, 2 * page, PROT_READ | PROT_WRITE) != 0) {
		fail("mprotect: %s", errno_name(errno));
		munmap(map, 2 * page);
		return NULL;
	}
	return map;
}

/* A store to a shared file page faulted in read-only, after mprotect adds write, reaches the file. */
static int store_after_mprotect_adds_write(int via_none)
{
	char path[256];
	unsigned char back[16];
	unsigned char *map;
	int fd = regression_file("mprotect", 2 * page, SEED_FILE, path, sizeof path);
	int result = -1;

	if (fd < 0)
		return -1;
	map = map_read_only_then_writable(fd, via_none);
	if (map) {
		memcpy(map + 100, "stored", 6);
		if (msync(map, 2 * page, MS_SYNC) != 0)
			result = fail("msync: %s", errno_name(errno));
		else if (pread(fd, back, 6, 100) != 6 || memcmp(back, "stored", 6) != 0)
			result = fail("the file does not hold the store");
		else
			result = expect_pattern("the mapping", map, 0, 100, SEED_FILE);
		munmap(map, 2 * page);
	}
	close(fd);
	unlink(path);
	return result;
}

static int store_after_mprotect_adds_write_to_shared_file_page(void)
{
	return store_after_mprotect_adds_write(0);
}

static int store_after_prot_none_and_back_reaches_the_file(void)
{
	return store_after_mprotect_adds_write(1);
}

/* The same for shared anonymous memory: the store lands, the page keeps its other bytes. */
static int store_after_mprotect_adds_write_to_shared_anonymous_page(void)
{
	unsigned char *map = map_read_only_then_writable(-1, 0);

	if (!map)
		return -1;
	map[1] = 0x5a;
	if (map[0] != 0 || map[1] != 0x5a) {
		munmap(map, 2 * page);
		return fail("expected 00 5a got %02x %02x", map[0], map[1]);
	}
	munmap(map, 2 * page);
	return 0;
}

/* read() into a shared page faulted in read-only, after mprotect adds write, fills it. */
static int read_into_page_after_mprotect_adds_write_fills_it(void)
{
	char path[256];
	unsigned char *map;
	int fd = regression_file("read-into", 2 * page, SEED_FILE, path, sizeof path);
	int source, result;

	if (fd < 0)
		return -1;
	source = open(path, O_RDONLY);
	map = map_read_only_then_writable(fd, 0);
	if (!map || source < 0) {
		result = fail("setup: %s", errno_name(errno));
	} else {
		ssize_t got = pread(source, map + page, 64, 0);

		if (got != 64)
			result = fail("read into the page: expected 64 got %zd %s", got,
				      errno_name(errno));
		else
			result = expect_pattern("the page", map + page, 0, 64, SEED_FILE);
	}
	if (map)
		munmap(map, 2 * page);
	close(source);
	close(fd);
	unlink(path);
	return result;
}

/* brk(2^64 - 1) cannot be met: the break stays, the image stays mapped. */
static int brk_of_2_to_the_64_minus_1_returns_the_current_break(void)
{
	static volatile int in_the_image = 41;
	long current = syscall(SYS_brk, 0);
	long answer = syscall(SYS_brk, ~0UL);

	if (answer != current)
		return fail("expected the break %#lx got %#lx", current, answer);
	in_the_image++;
	if (in_the_image != 42 || syscall(SYS_brk, 0) != current)
		return fail("the image or the break changed");
	return 0;
}

/* brk may not grow into the next mapping, nor flush against it (a page must stay free). */
static int brk_must_leave_a_page_before_the_next_mapping(void)
{
	long current = syscall(SYS_brk, 0);
	uintptr_t top = ((uintptr_t)current + page - 1) & ~(uintptr_t)(page - 1);
	void *next = mmap((void *)(top + 2 * page), page, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	long flush, room;
	int result = 0;

	if (next == MAP_FAILED)
		return fail("setup: mmap above the break: %s", errno_name(errno));
	flush = syscall(SYS_brk, top + 2 * page);
	room = syscall(SYS_brk, top + page);
	if (flush != current)
		result = fail("brk up to the mapping: expected %#lx got %#lx", current, flush);
	else if (room != (long)(top + page))
		result = fail("brk a page below the mapping: expected %#lx got %#lx",
			      (long)(top + page), room);
	syscall(SYS_brk, current);
	munmap(next, page);
	return result;
}

/*
 * An unlinked file that is still mapped keeps its inode and its bytes: a
 * new file gets another inode and neither sees the other's data.
 */
static int unlinked_mapped_file_keeps_its_inode_and_bytes(void)
{
	char path[256], other_path[256];
	struct stat old_status, new_status;
	unsigned char back[64];
	unsigned char *map;
	int fd = regression_file("unlinked", 2 * page, SEED_FILE, path, sizeof path);
	int other, result = 0;

	if (fd < 0)
		return -1;
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || fstat(fd, &old_status) != 0) {
		close(fd);
		return fail("setup: %s", errno_name(errno));
	}
	close(fd);
	unlink(path);
	other = regression_file("newcomer", 2 * page, SEED_OTHER, other_path, sizeof other_path);
	if (other < 0) {
		munmap(map, 2 * page);
		return -1;
	}
	if (fstat(other, &new_status) != 0 || new_status.st_ino == old_status.st_ino)
		result = fail("the new file got the unlinked file's inode %lu",
			      (unsigned long)old_status.st_ino);
	if (result == 0)
		result = expect_pattern("the unlinked mapping", map, 0, 2 * page, SEED_FILE);
	memset(map, 0xee, 64);
	if (result == 0 && msync(map, 2 * page, MS_SYNC) != 0)
		result = fail("msync of the unlinked mapping: %s", errno_name(errno));
	if (result == 0 && pread(other, back, sizeof back, 0) != (ssize_t)sizeof back)
		result = fail("pread of the new file: %s", errno_name(errno));
	if (result == 0)
		result = expect_pattern("the new file", back, 0, sizeof back, SEED_OTHER);
	munmap(map, 2 * page);
	close(other);
	unlink(other_path);
	return result;
}

/* An unlinked file still open reads and writes on; its blocks come back only at the last close. */
static int unlinked_open_file_reads_and_writes_until_closed(void)
{
	char path[256];
	unsigned char back[64];
	int fd = regression_file("open-unlinked", page, SEED_FILE, path, sizeof path);
	int result = 0;

	if (fd < 0)
		return -1;
	unlink(path);
	if (pwrite(fd, "after", 5, 10) != 5)
		result = fail("pwrite after unlink: %s", errno_name(errno));
	else if (pread(fd, back, sizeof back, 0) != (ssize_t)sizeof back)
		result = fail("pread after unlink: %s", errno_name(errno));
	else if (memcmp(back + 10, "after", 5) != 0)
		result = fail("the write after unlink is not read back");
	else
		result = expect_pattern("the unlinked file", back, 0, 10, SEED_FILE);
	if (result == 0 && fsync(fd) != 0)
		result = fail("fsync after unlink: %s", errno_name(errno));
	close(fd);
	if (result == 0 && access(path, F_OK) == 0)
		result = fail("the name came back");
	return result;
}

/*
 * ftruncate takes away private copy-on-write copies of pages past the new
 * end: the page is then past EOF (a write() from it is EFAULT), and once
 * the file grows back it reads as zeros, not as the old copy.
 */
static int ftruncate_takes_private_copies_past_the_new_end(void)
{
	char path[256], sink_path[256];
	unsigned char *map;
	int fd = regression_file("cow-truncate", 2 * page, SEED_FILE, path, sizeof path);
	int sink = regression_file("sink", 0, SEED_OTHER, sink_path, sizeof sink_path);
	int result = 0;
	ssize_t written;

	if (fd < 0 || sink < 0)
		return -1;
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		unlink(path);
		return fail("setup: %s", errno_name(errno));
	}
	memset(map + page, 0xcc, page);
	if (ftruncate(fd, page) != 0)
		result = fail("ftruncate down: %s", errno_name(errno));
	written = result ? 0 : write(sink, map + page, 16);
	if (result == 0 && (written != -1 || errno != EFAULT))
		result = fail("write from the copy past EOF: expected EFAULT got %zd %s",
			      written, errno_name(errno));
	if (result == 0 && ftruncate(fd, 2 * page) != 0)
		result = fail("ftruncate up: %s", errno_name(errno));
	for (size_t i = 0; result == 0 && i < page; i++)
		if (map[page + i] != 0)
			result = fail("after growing back, byte %zu is 0x%02x, not 0", i,
				      map[page + i]);
	if (result == 0)
		result = expect_pattern("the page below the end", map, 0, page, SEED_FILE);
	munmap(map, 2 * page);
	close(sink);
	unlink(sink_path);
	close(fd);
	unlink(path);
	return result;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		test_dir = argv[1];
	page = (size_t)sysconf(_SC_PAGESIZE);
	report("store_after_mprotect_adds_write_to_shared_file_page",
	       "Linux behaviour: do_wp_page makes a VM_SHARED page writable in place",
	       store_after_mprotect_adds_write_to_shared_file_page());
	report("store_after_mprotect_adds_write_to_shared_anonymous_page",
	       "Linux behaviour: do_wp_page makes a VM_SHARED page writable in place",
	       store_after_mprotect_adds_write_to_shared_anonymous_page());
	report("store_after_prot_none_and_back_reaches_the_file",
	       "Linux behaviour: PROT_NONE keeps the page; PROT_WRITE later lets stores reach it",
	       store_after_prot_none_and_back_reaches_the_file());
	report("read_into_page_after_mprotect_adds_write_fills_it",
	       "man read: EFAULT only if buf is outside your accessible address space",
	       read_into_page_after_mprotect_adds_write_fills_it());
	report("brk_of_2_to_the_64_minus_1_returns_the_current_break",
	       "man brk: on failure, the system call returns the current break",
	       brk_of_2_to_the_64_minus_1_returns_the_current_break());
	report("brk_must_leave_a_page_before_the_next_mapping",
	       "Linux behaviour: sys_brk fails if newbrk + PAGE_SIZE > vm_start_gap(next)",
	       brk_must_leave_a_page_before_the_next_mapping());
	report("unlinked_mapped_file_keeps_its_inode_and_bytes",
	       "man unlink: if any process still has the file open it remains in existence",
	       unlinked_mapped_file_keeps_its_inode_and_bytes());
	report("unlinked_open_file_reads_and_writes_until_closed",
	       "man unlink: the file remains in existence until the last descriptor is closed",
	       unlinked_open_file_reads_and_writes_until_closed());
	report("ftruncate_takes_private_copies_past_the_new_end",
	       "Linux behaviour: truncate_pagecache unmaps even private COW pages past EOF",
	       ftruncate_takes_private_copies_past_the_new_end());
	return summary();
}

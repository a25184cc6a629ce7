/*
 * msync_conformance: msync(2) checked sentence by sentence.
 *
 * Usage: msync_conformance [DIR]
 *
 * DIR (default "/", the ext2 root on our kernel) is where the test files are
 * created; on a Linux host pass a temporary directory. Each case is named
 * after the rule it pins and prints one line,
 *
 *     PASS name -- source
 *     FAIL name: expected X got Y -- source
 *
 * where the source is the man-page sentence (msync(2), or the system
 * programming text quoted as "LSP") or "Linux behaviour: ..." for what the
 * man page leaves open and Linux 6.x does. The run ends with
 * "N passed, N failed"; the exit status is 0 only if no case failed.
 *
 * Reading a file back with pread goes through the page cache, on Linux as on
 * our kernel, so these cases show that data reaches the file; that it
 * reaches the disk is checked from the host by durability.c and debugfs.
 *
 * Every case runs in a child process of its own: a case that crashes fails
 * alone, with its signal named, and one that hangs is killed after
 * CASE_TIMEOUT_SECONDS; the run goes on. The cross-process cases fork
 * helpers of their own (and exec this program as "msync_conformance --role
 * exit" for the exec case).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pattern_file.h"

/* The seed of what a test file holds when it is created (see pattern.h). */
#define SEED_INITIAL 1
/* Seeds of the data the cases store later. */
#define SEED_STORE 2
#define SEED_WRITE 3

static const char *test_dir = "/";
static const char *self;
static size_t page;
/* How long one case may run before it is killed and failed. */
#define CASE_TIMEOUT_SECONDS 60

/* The files and mappings a case made, released by cleanup() after every case. */
static struct {
	int fd;
	char path[256];
} files[4];
static int file_count;
static struct {
	void *addr;
	size_t len;
} maps[8];
static int map_count;

/*
 * Creates DIR/msync-TAG.dat holding `size` bytes of the SEED_INITIAL pattern,
 * written with write(). Returns the file opened read-write, or -1.
 */
static int new_file(const char *tag, size_t size)
{
	int fd;

	if (file_count == (int)(sizeof files / sizeof files[0]))
		return fail("setup: too many files in one case");
	snprintf(files[file_count].path, sizeof files[file_count].path, "%s/msync-%s.dat",
		 test_dir, tag);
	fd = pattern_file(files[file_count].path, size, SEED_INITIAL);
	if (fd < 0)
		return -1;
	files[file_count++].fd = fd;
	return fd;
}

/* mmap of `fd` (or -1 for an anonymous mapping); returns NULL on failure. */
static unsigned char *map(size_t len, int prot, int flags, int fd, off_t offset)
{
	void *addr;

	if (map_count == (int)(sizeof maps / sizeof maps[0])) {
		fail("setup: too many mappings in one case");
		return NULL;
	}
	addr = mmap(NULL, len, prot, flags, fd, offset);
	if (addr == MAP_FAILED) {
		fail("setup: mmap: expected a mapping got %s", errno_name(errno));
		return NULL;
	}
	maps[map_count].addr = addr;
	maps[map_count++].len = len;
	return addr;
}

/* A read-write MAP_SHARED mapping of the first `len` bytes of `fd`. */
static unsigned char *map_shared(int fd, size_t len)
{
	return map(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

/* Unmaps everything the case mapped, closes and removes its files. */
static void cleanup(void)
{
	while (map_count > 0) {
		map_count--;
		munmap(maps[map_count].addr, maps[map_count].len);
	}
	while (file_count > 0) {
		file_count--;
		close(files[file_count].fd);
		unlink(files[file_count].path);
	}
}

/* Reads the file range back with pread and checks that it holds the pattern of `seed`. */
static int expect_file(int fd, size_t offset, size_t len, unsigned seed)
{
	unsigned char chunk[4096];

	for (size_t done = 0; done < len; done += sizeof chunk) {
		size_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
		ssize_t got = pread(fd, chunk, n, offset + done);

		if (got != (ssize_t)n)
			return fail("pread at %zu: expected %zu bytes got %zd (%s)", offset + done,
				    n, got, errno_name(errno));
		if (expect_pattern("pread", chunk, offset + done, n, seed))
			return -1;
	}
	return 0;
}

/* Stores the pattern of `seed` for file range [offset, offset + len) at `addr`. */
static void store(unsigned char *addr, size_t offset, size_t len, unsigned seed)
{
	pattern_fill(addr, offset, len, seed);
}

/* mlock, raising a low RLIMIT_MEMLOCK soft limit once if the first try fails. */
static int lock(void *addr, size_t len)
{
	struct rlimit limit;

	if (mlock(addr, len) == 0)
		return 0;
	if ((errno == EPERM || errno == ENOMEM) && getrlimit(RLIMIT_MEMLOCK, &limit) == 0) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_MEMLOCK, &limit) == 0 && mlock(addr, len) == 0)
			return 0;
	}
	return fail("setup: mlock: expected 0 got %s (RLIMIT_MEMLOCK too low to lock %zu bytes?)",
		    errno_name(errno), len);
}

/* --- EINVAL ---------------------------------------------------------------------------- */

static int msync_unknown_flag_bit_is_einval(void)
{
	static const int bad[] = { 8, MS_SYNC | 8, MS_ASYNC | 0x10, 0x100, INT32_MIN };
	int fd = new_file("flags", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p)
		return -1;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char what[48];

		snprintf(what, sizeof what, "msync(flags=%#x)", (unsigned)bad[i]);
		if (expect_result(what, msync(p, page, bad[i]), EINVAL))
			return -1;
	}
	return 0;
}

static int msync_sync_and_async_together_is_einval(void)
{
	int fd = new_file("both", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p)
		return -1;
	if (expect_result("msync(MS_SYNC|MS_ASYNC)", msync(p, page, MS_SYNC | MS_ASYNC), EINVAL))
		return -1;
	return expect_result("msync(MS_SYNC|MS_ASYNC|MS_INVALIDATE)",
			     msync(p, page, MS_SYNC | MS_ASYNC | MS_INVALIDATE), EINVAL);
}

static int msync_unaligned_addr_is_einval(void)
{
	int fd = new_file("unaligned", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p)
		return -1;
	if (expect_result("msync(addr+1)", msync(p + 1, page, MS_SYNC), EINVAL))
		return -1;
	return expect_result("msync(addr+page/2)", msync(p + page / 2, page, MS_ASYNC), EINVAL);
}

static int msync_einval_is_checked_before_the_range(void)
{
	unsigned char *p = map(page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!p)
		return -1;
	if (munmap(p, page))
		return fail("setup: munmap: expected 0 got %s", errno_name(errno));
	if (expect_result("msync(unmapped addr+1)", msync(p + 1, page, MS_SYNC), EINVAL))
		return -1;
	if (expect_result("msync(unmapped, flags=8)", msync(p, page, 8), EINVAL))
		return -1;
	return expect_result("msync(len=0, MS_SYNC|MS_ASYNC)", msync(p, 0, MS_SYNC | MS_ASYNC),
			     EINVAL);
}

/* --- flags that are accepted ----------------------------------------------------------- */

static int msync_flags_zero_is_accepted(void)
{
	int fd = new_file("flags0", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p)
		return -1;
	store(p, 0, page, SEED_STORE);
	if (expect_result("msync(flags=0)", msync(p, page, 0), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int msync_invalidate_alone_is_accepted(void)
{
	int fd = new_file("inval", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p)
		return -1;
	store(p, 0, page, SEED_STORE);
	if (expect_result("msync(MS_INVALIDATE)", msync(p, page, MS_INVALIDATE), 0))
		return -1;
	if (expect_result("msync(MS_SYNC|MS_INVALIDATE)", msync(p, page, MS_SYNC | MS_INVALIDATE), 0))
		return -1;
	if (expect_result("msync(MS_ASYNC|MS_INVALIDATE)",
			  msync(p, page, MS_ASYNC | MS_INVALIDATE), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

/* --- length ---------------------------------------------------------------------------- */

static int msync_len_zero_returns_0(void)
{
	int fd = new_file("len0", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	unsigned char *gone = map(page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!p || !gone)
		return -1;
	if (munmap(gone, page))
		return fail("setup: munmap: expected 0 got %s", errno_name(errno));
	if (expect_result("msync(mapped, len=0)", msync(p, 0, MS_SYNC), 0))
		return -1;
	return expect_result("msync(unmapped, len=0)", msync(gone, 0, MS_SYNC), 0);
}

static int msync_len_is_rounded_up_to_whole_pages(void)
{
	int fd = new_file("roundup", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p)
		return -1;
	/* Unmap our own second page: the page after a fresh mapping may be someone else's. */
	if (munmap(p + page, page))
		return fail("setup: munmap of the page after: expected 0 got %s",
			    errno_name(errno));
	store(p, 0, page, SEED_STORE);
	if (expect_result("msync(len=1)", msync(p, 1, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, 0, page, SEED_STORE))
		return -1;
	if (expect_result("msync(len=page-1)", msync(p, page - 1, MS_SYNC), 0))
		return -1;
	return expect_result("msync(len=page+1, reaching the unmapped next page)",
			     msync(p, page + 1, MS_SYNC), ENOMEM);
}

static int msync_addr_plus_len_wrapping_is_enomem(void)
{
	int fd = new_file("wrap", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	size_t len;

	if (!p)
		return -1;
	/* A page-aligned length that carries addr + len past the top of the address space. */
	len = SIZE_MAX - (uintptr_t)p + 1 + page;
	return expect_result("msync(addr, len past 2^64)", msync(p, len, MS_SYNC), ENOMEM);
}

static int msync_len_rounding_past_2_64_returns_0(void)
{
	int fd = new_file("roundwrap", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p)
		return -1;
	return expect_result("msync(addr, SIZE_MAX)", msync(p, SIZE_MAX, MS_SYNC), 0);
}

/* --- ENOMEM ---------------------------------------------------------------------------- */

static int msync_unmapped_range_is_enomem(void)
{
	unsigned char *p = map(2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!p)
		return -1;
	if (munmap(p, 2 * page))
		return fail("setup: munmap: expected 0 got %s", errno_name(errno));
	if (expect_result("msync(MS_SYNC)", msync(p, 2 * page, MS_SYNC), ENOMEM))
		return -1;
	if (expect_result("msync(MS_ASYNC)", msync(p, 2 * page, MS_ASYNC), ENOMEM))
		return -1;
	return expect_result("msync(flags=0)", msync(p, 2 * page, 0), ENOMEM);
}

/* Maps 3 pages of a new file, stores SEED_STORE in pages 0 and 2 and unmaps page 1. */
static unsigned char *map_with_hole(const char *tag, int *fd)
{
	unsigned char *p;

	*fd = new_file(tag, 3 * page);
	p = *fd < 0 ? NULL : map_shared(*fd, 3 * page);
	if (!p)
		return NULL;
	store(p, 0, page, SEED_STORE);
	store(p + 2 * page, 2 * page, page, SEED_STORE);
	if (munmap(p + page, page)) {
		fail("setup: munmap of the middle page: expected 0 got %s", errno_name(errno));
		return NULL;
	}
	return p;
}

/* The file of map_with_hole after its stores reached it: pages 0 and 2
 * written, page 1 as it was. */
static int expect_both_sides_written(int fd)
{
	if (expect_file(fd, 0, page, SEED_STORE) || expect_file(fd, page, page, SEED_INITIAL))
		return -1;
	return expect_file(fd, 2 * page, page, SEED_STORE);
}

static int msync_sync_over_a_hole_is_enomem_and_syncs_both_sides(void)
{
	int fd;
	unsigned char *p = map_with_hole("hole-sync", &fd);

	if (!p)
		return -1;
	if (expect_result("msync(3 pages, MS_SYNC)", msync(p, 3 * page, MS_SYNC), ENOMEM))
		return -1;
	return expect_both_sides_written(fd);
}

static int msync_async_over_a_hole_is_enomem(void)
{
	int fd;
	unsigned char *p = map_with_hole("hole-async", &fd);

	if (!p)
		return -1;
	if (expect_result("msync(3 pages, MS_ASYNC)", msync(p, 3 * page, MS_ASYNC), ENOMEM))
		return -1;
	if (expect_result("fsync", fsync(fd), 0))
		return -1;
	return expect_both_sides_written(fd);
}

static int msync_range_starting_in_a_hole_is_enomem(void)
{
	int fd;
	unsigned char *p = map_with_hole("hole-start", &fd);

	if (!p)
		return -1;
	if (expect_result("msync(hole and page 2, MS_SYNC)", msync(p + page, 2 * page, MS_SYNC),
			  ENOMEM))
		return -1;
	return expect_file(fd, 2 * page, page, SEED_STORE);
}

static int msync_after_partial_munmap_is_enomem(void)
{
	int fd = new_file("partial", 4 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 4 * page);

	if (!p)
		return -1;
	store(p, 0, 4 * page, SEED_STORE);
	if (munmap(p + 2 * page, 2 * page))
		return fail("setup: munmap of the last 2 pages: expected 0 got %s",
			    errno_name(errno));
	if (expect_result("msync(original 4 pages, MS_SYNC)", msync(p, 4 * page, MS_SYNC), ENOMEM))
		return -1;
	if (expect_result("msync(remaining 2 pages, MS_SYNC)", msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

/* --- EBUSY ----------------------------------------------------------------------------- */

static int msync_invalidate_on_locked_mapping_is_ebusy(void)
{
	int fd = new_file("locked", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p || lock(p, 2 * page))
		return -1;
	store(p, 0, 2 * page, SEED_STORE);
	if (expect_result("msync(MS_SYNC|MS_INVALIDATE)", msync(p, 2 * page, MS_SYNC | MS_INVALIDATE),
			  EBUSY))
		return -1;
	if (expect_result("msync(MS_ASYNC|MS_INVALIDATE)",
			  msync(p, 2 * page, MS_ASYNC | MS_INVALIDATE), EBUSY))
		return -1;
	if (expect_result("msync(MS_INVALIDATE)", msync(p, 2 * page, MS_INVALIDATE), EBUSY))
		return -1;
	if (expect_result("munlock", munlock(p, 2 * page), 0))
		return -1;
	if (expect_result("msync(MS_SYNC|MS_INVALIDATE) after munlock",
			  msync(p, 2 * page, MS_SYNC | MS_INVALIDATE), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

static int msync_without_invalidate_on_locked_mapping_returns_0(void)
{
	int fd = new_file("locked-sync", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);

	if (!p || lock(p, page))
		return -1;
	store(p, 0, page, SEED_STORE);
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	if (expect_result("msync(MS_ASYNC)", msync(p, page, MS_ASYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int msync_invalidate_beside_a_locked_page_returns_0(void)
{
	int fd = new_file("locked-part", 3 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 3 * page);

	if (!p || lock(p + 2 * page, page))
		return -1;
	if (expect_result("msync(pages 0-1, MS_SYNC|MS_INVALIDATE)",
			  msync(p, 2 * page, MS_SYNC | MS_INVALIDATE), 0))
		return -1;
	return expect_result("msync(pages 0-2, MS_SYNC|MS_INVALIDATE)",
			     msync(p, 3 * page, MS_SYNC | MS_INVALIDATE), EBUSY);
}

static int msync_ebusy_wins_over_a_hole(void)
{
	int fd;
	unsigned char *p = map_with_hole("locked-hole", &fd);

	if (!p || lock(p + 2 * page, page))
		return -1;
	return expect_result("msync(page 0, hole, locked page 2, MS_SYNC|MS_INVALIDATE)",
			     msync(p, 3 * page, MS_SYNC | MS_INVALIDATE), EBUSY);
}

/* --- kinds of mappings ----------------------------------------------------------------- */

static int msync_private_mapping_returns_0_and_file_is_unchanged(void)
{
	int fd = new_file("private", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	if (!p)
		return -1;
	store(p, 0, 2 * page, SEED_STORE);
	if (expect_result("msync(MS_SYNC)", msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_result("msync(MS_ASYNC|MS_INVALIDATE)",
			  msync(p, 2 * page, MS_ASYNC | MS_INVALIDATE), 0))
		return -1;
	if (expect_result("fsync", fsync(fd), 0))
		return -1;
	if (expect_file(fd, 0, 2 * page, SEED_INITIAL))
		return -1;
	return expect_pattern("private mapping", p, 0, 2 * page, SEED_STORE);
}

static int msync_anonymous_mapping_returns_0(void)
{
	unsigned char *shared = map(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				    -1, 0);
	unsigned char *private = map(2 * page, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (!shared || !private)
		return -1;
	store(shared, 0, 2 * page, SEED_STORE);
	store(private, 0, 2 * page, SEED_STORE);
	if (expect_result("msync(shared anonymous, MS_SYNC)", msync(shared, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_result("msync(shared anonymous, MS_ASYNC|MS_INVALIDATE)",
			  msync(shared, 2 * page, MS_ASYNC | MS_INVALIDATE), 0))
		return -1;
	if (expect_result("msync(private anonymous, MS_SYNC)", msync(private, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_pattern("shared anonymous", shared, 0, 2 * page, SEED_STORE))
		return -1;
	return expect_pattern("private anonymous", private, 0, 2 * page, SEED_STORE);
}

static int msync_over_vmas_with_different_protections_returns_0(void)
{
	int fd = new_file("mprotect", 3 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 3 * page);

	if (!p)
		return -1;
	store(p, 0, 3 * page, SEED_STORE);
	if (mprotect(p + page, page, PROT_READ))
		return fail("setup: mprotect: expected 0 got %s", errno_name(errno));
	if (expect_result("msync(RW, R, RW pages, MS_SYNC)", msync(p, 3 * page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, 3 * page, SEED_STORE);
}

static int msync_read_only_shared_mapping_returns_0(void)
{
	int fd = new_file("readonly", 2 * page);
	int ro = fd < 0 ? -1 : open(files[file_count - 1].path, O_RDONLY);
	unsigned char *p;

	if (fd < 0)
		return -1;
	if (ro < 0)
		return fail("setup: open O_RDONLY: expected a file got %s", errno_name(errno));
	p = map(2 * page, PROT_READ, MAP_SHARED, ro, 0);
	close(ro);
	if (!p)
		return -1;
	if (expect_result("msync(MS_SYNC)", msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_result("msync(MS_ASYNC|MS_INVALIDATE)",
			  msync(p, 2 * page, MS_ASYNC | MS_INVALIDATE), 0))
		return -1;
	if (expect_pattern("read-only mapping", p, 0, 2 * page, SEED_INITIAL))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_INITIAL);
}

static int msync_prot_none_mapping_returns_0(void)
{
	int fd = new_file("protnone", page);
	unsigned char *p = fd < 0 ? NULL : map(page, PROT_NONE, MAP_SHARED, fd, 0);

	if (!p)
		return -1;
	return expect_result("msync(PROT_NONE, MS_SYNC)", msync(p, page, MS_SYNC), 0);
}

static int msync_mapping_at_a_file_offset_updates_that_part(void)
{
	int fd = new_file("offset", 4 * page);
	unsigned char *p = fd < 0 ? NULL : map(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
					       (off_t)(2 * page));

	if (!p)
		return -1;
	store(p + page, 3 * page, page, SEED_STORE);
	if (expect_result("msync(second page, MS_SYNC)", msync(p + page, page, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, 0, 3 * page, SEED_INITIAL))
		return -1;
	return expect_file(fd, 3 * page, page, SEED_STORE);
}

/* --- two mappings, MS_INVALIDATE, one page cache ---------------------------------------- */

static int msync_through_another_mapping_writes_the_store(void)
{
	int fd = new_file("twomaps", 2 * page);
	unsigned char *a = fd < 0 ? NULL : map_shared(fd, 2 * page);
	unsigned char *b = a ? map_shared(fd, 2 * page) : NULL;

	if (!b)
		return -1;
	store(a, 0, 2 * page, SEED_STORE);
	if (expect_result("msync(second mapping, MS_SYNC)", msync(b, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, 0, 2 * page, SEED_STORE))
		return -1;
	return expect_pattern("second mapping", b, 0, 2 * page, SEED_STORE);
}

static int msync_invalidate_lets_other_mappings_see_fresh_values(void)
{
	int fd = new_file("invalidate", page);
	unsigned char *a = fd < 0 ? NULL : map_shared(fd, page);
	unsigned char *b = a ? map(page, PROT_READ, MAP_SHARED, fd, 0) : NULL;

	if (!b)
		return -1;
	if (expect_pattern("second mapping before", b, 0, page, SEED_INITIAL))
		return -1;
	store(a, 0, page, SEED_STORE);
	if (expect_result("msync(MS_SYNC|MS_INVALIDATE)", msync(a, page, MS_SYNC | MS_INVALIDATE), 0))
		return -1;
	return expect_pattern("second mapping after", b, 0, page, SEED_STORE);
}

static int msync_async_then_fsync_puts_the_data_in_the_file(void)
{
	int fd = new_file("async", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p)
		return -1;
	store(p, 0, 2 * page, SEED_STORE);
	if (expect_result("msync(MS_ASYNC)", msync(p, 2 * page, MS_ASYNC), 0))
		return -1;
	if (expect_result("fsync", fsync(fd), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

static int msync_sync_data_is_visible_to_pread(void)
{
	int fd = new_file("sync", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p)
		return -1;
	store(p + 100, 100, page, SEED_STORE);
	if (expect_result("msync(MS_SYNC)", msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, 0, 100, SEED_INITIAL) || expect_file(fd, 100, page, SEED_STORE))
		return -1;
	return expect_file(fd, 100 + page, page - 100, SEED_INITIAL);
}

static int msync_sync_of_one_mebibyte(void)
{
	size_t len = 1 << 20;
	int fd = new_file("mebibyte", len);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, len);

	if (!p)
		return -1;
	store(p, 0, len, SEED_STORE);
	if (expect_result("msync(1 MiB, MS_SYNC)", msync(p, len, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, len, SEED_STORE);
}

static int read_and_pread_see_stores_before_any_msync(void)
{
	int fd = new_file("pagecache", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	unsigned char buf[64];

	if (!p)
		return -1;
	store(p + page, page, page, SEED_STORE);
	if (expect_file(fd, 0, page, SEED_INITIAL) || expect_file(fd, page, page, SEED_STORE))
		return -1;
	if (lseek(fd, (off_t)page, SEEK_SET) != (off_t)page)
		return fail("lseek: expected %zu got %s", page, errno_name(errno));
	if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		return fail("read: expected %zu bytes got %s", sizeof buf, errno_name(errno));
	return expect_pattern("read", buf, page, sizeof buf, SEED_STORE);
}

static int write_is_visible_through_an_existing_mapping(void)
{
	int fd = new_file("write", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	unsigned char buf[512];

	if (!p)
		return -1;
	if (expect_pattern("mapping before write", p, 0, 2 * page, SEED_INITIAL))
		return -1;
	pattern_fill(buf, page - 256, sizeof buf, SEED_WRITE);
	if (pwrite(fd, buf, sizeof buf, (off_t)(page - 256)) != (ssize_t)sizeof buf)
		return fail("pwrite: expected %zu bytes got %s", sizeof buf, errno_name(errno));
	if (expect_pattern("mapping after pwrite", p + page - 256, page - 256, sizeof buf,
			    SEED_WRITE))
		return -1;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return fail("lseek: expected 0 got %s", errno_name(errno));
	pattern_fill(buf, 0, sizeof buf, SEED_WRITE);
	if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		return fail("write: expected %zu bytes got %s", sizeof buf, errno_name(errno));
	return expect_pattern("mapping after write", p, 0, sizeof buf, SEED_WRITE);
}

static int munmap_without_msync_keeps_the_stores(void)
{
	int fd = new_file("munmap", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);

	if (!p)
		return -1;
	store(p, 0, 2 * page, SEED_STORE);
	if (expect_result("munmap", munmap(p, 2 * page), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

/* --- across processes ------------------------------------------------------------------ */

/* A pipe pair for one process to tell another "go on". */
struct baton {
	int read_fd, write_fd;
};

static int baton_new(struct baton *baton)
{
	int fds[2];

	if (pipe(fds) != 0)
		return fail("setup: pipe: %s", errno_name(errno));
	baton->read_fd = fds[0];
	baton->write_fd = fds[1];
	return 0;
}

static void baton_pass(struct baton *baton)
{
	if (write(baton->write_fd, "!", 1) != 1)
		_exit(90);
}

static int baton_wait(struct baton *baton)
{
	char byte;

	return read(baton->read_fd, &byte, 1) == 1 ? 0 : fail("the other process never answered");
}

/* Waits for `child` and checks it exited with 0 (a helper's verdict). */
static int reap_helper(pid_t child, const char *what)
{
	int status;

	if (child < 0)
		return fail("setup: fork: %s", errno_name(errno));
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid of %s: %s", what, errno_name(errno));
	if (WIFSIGNALED(status))
		return fail("%s was killed by signal %d", what, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return fail("%s failed with status %d", what, WEXITSTATUS(status));
	return 0;
}

static int cross_store_in_child_exit_then_msync_in_parent(void)
{
	int fd = new_file("x-child-store", 4 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 4 * page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		store(p + page, page, 2 * page, SEED_STORE);
		_exit(0);
	}
	if (reap_helper(child, "the storing child"))
		return -1;
	if (expect_result("msync(MS_SYNC) in the parent", msync(p, 4 * page, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, page, 2 * page, SEED_STORE))
		return -1;
	return expect_file(fd, 0, page, SEED_INITIAL);
}

static int cross_store_in_running_child_msync_in_parent(void)
{
	int fd = new_file("x-live-child", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	struct baton stored, done;
	pid_t child;

	if (!p || baton_new(&stored) || baton_new(&done))
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, 2 * page, SEED_STORE);
		baton_pass(&stored);
		/* stay alive, still mapping the dirty pages, until the parent synced */
		_exit(baton_wait(&done) ? 1 : 0);
	}
	if (baton_wait(&stored))
		return -1;
	if (expect_result("msync(MS_SYNC) while the child maps the pages",
			  msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	if (expect_file(fd, 0, 2 * page, SEED_STORE))
		return -1;
	baton_pass(&done);
	return reap_helper(child, "the storing child");
}

static int cross_store_in_parent_before_fork_msync_in_child(void)
{
	int fd = new_file("x-parent-store", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	pid_t child;

	if (!p)
		return -1;
	store(p, 0, 2 * page, SEED_STORE);
	child = fork();
	if (child == 0)
		_exit(msync(p, 2 * page, MS_SYNC) == 0 ? 0 : 1);
	if (reap_helper(child, "the child calling msync"))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

static int cross_store_in_parent_after_fork_msync_in_child(void)
{
	int fd = new_file("x-after-fork", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	struct baton stored;
	pid_t child;

	if (!p || baton_new(&stored))
		return -1;
	child = fork();
	if (child == 0) {
		if (baton_wait(&stored))
			_exit(2);
		_exit(msync(p, page, MS_SYNC) == 0 ? 0 : 1);
	}
	store(p, 0, page, SEED_STORE);
	baton_pass(&stored);
	if (reap_helper(child, "the child calling msync"))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_stores_are_seen_by_the_other_process_at_once(void)
{
	int fd = new_file("x-at-once", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	struct baton stored, checked;
	pid_t child;

	if (!p || baton_new(&stored) || baton_new(&checked))
		return -1;
	child = fork();
	if (child == 0) {
		p[7] = 0x77;
		baton_pass(&stored);
		if (baton_wait(&checked))
			_exit(2);
		/* the parent's store, seen without any msync */
		_exit(p[8] == 0x88 ? 0 : 1);
	}
	if (baton_wait(&stored))
		return -1;
	if (p[7] != 0x77)
		return fail("the child's store is not seen: 0x%02x", p[7]);
	p[8] = 0x88;
	baton_pass(&checked);
	return reap_helper(child, "the child checking the parent's store");
}

static int cross_two_children_store_parent_msync_writes_both(void)
{
	int fd = new_file("x-two", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	pid_t children[2];

	if (!p)
		return -1;
	for (int i = 0; i < 2; i++) {
		children[i] = fork();
		if (children[i] == 0) {
			store(p + i * page, i * page, page, SEED_STORE);
			_exit(0);
		}
	}
	for (int i = 0; i < 2; i++)
		if (reap_helper(children[i], "a storing child"))
			return -1;
	if (expect_result("msync(MS_SYNC)", msync(p, 2 * page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

static int cross_child_killed_after_a_store_leaves_the_data(void)
{
	int fd = new_file("x-killed", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	int status;
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, page, SEED_STORE);
		raise(SIGKILL);
		_exit(1);
	}
	if (waitpid(child, &status, 0) != child || !WIFSIGNALED(status))
		return fail("the child was not killed: status %#x", status);
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_child_store_then_exec_keeps_the_data(void)
{
	int fd = new_file("x-exec", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		char *argv[] = { (char *)self, "--role", "exit", NULL };

		store(p, 0, page, SEED_STORE);
		execv(self, argv);
		_exit(3);
	}
	if (reap_helper(child, "the child that stored and exec'd"))
		return -1;
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_child_munmap_then_exit_leaves_the_data(void)
{
	int fd = new_file("x-munmap", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, page, SEED_STORE);
		_exit(munmap(p, page) == 0 ? 0 : 1);
	}
	if (reap_helper(child, "the child that stored and unmapped"))
		return -1;
	if (p[0] != pattern_byte(SEED_STORE, 0))
		return fail("the parent lost its mapping's view of the child's store");
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_private_store_in_child_never_reaches_the_file(void)
{
	int fd = new_file("x-private", page);
	unsigned char *p = fd < 0 ? NULL : map(page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, page, SEED_STORE);
		_exit(msync(p, page, MS_SYNC) == 0 ? 0 : 1);
	}
	if (reap_helper(child, "the child storing privately"))
		return -1;
	if (expect_pattern("the parent's private mapping", p, 0, page, SEED_INITIAL))
		return -1;
	return expect_file(fd, 0, page, SEED_INITIAL);
}

static int cross_private_copy_before_fork_stays_private(void)
{
	int fd = new_file("x-cow", page);
	unsigned char *p = fd < 0 ? NULL : map(page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	pid_t child;

	if (!p)
		return -1;
	store(p, 0, page, SEED_STORE);
	child = fork();
	if (child == 0) {
		/* the child sees the parent's private copy, and keeps it private */
		if (expect_pattern("the child's view", p, 0, page, SEED_STORE))
			_exit(1);
		store(p, 0, page, SEED_WRITE);
		_exit(msync(p, page, MS_SYNC) == 0 ? 0 : 2);
	}
	if (reap_helper(child, "the child of a private copy"))
		return -1;
	if (expect_pattern("the parent's private copy", p, 0, page, SEED_STORE))
		return -1;
	if (expect_result("msync(MS_SYNC) of the private mapping", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_INITIAL);
}

static int cross_write_in_another_process_is_seen_after_ms_invalidate(void)
{
	int fd = new_file("x-invalidate", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	unsigned char chunk[64];
	pid_t child;

	if (!p)
		return -1;
	(void)p[0];
	child = fork();
	if (child == 0) {
		pattern_fill(chunk, 0, sizeof chunk, SEED_WRITE);
		_exit(pwrite(fd, chunk, sizeof chunk, 0) == (ssize_t)sizeof chunk ? 0 : 1);
	}
	if (reap_helper(child, "the child calling write"))
		return -1;
	if (expect_result("msync(MS_INVALIDATE)", msync(p, page, MS_INVALIDATE), 0))
		return -1;
	return expect_pattern("the mapping after the other process's write", p, 0, 64, SEED_WRITE);
}

static int cross_locks_are_not_inherited_but_a_childs_own_lock_is_ebusy(void)
{
	int fd = new_file("x-lock", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	pid_t child;

	if (!p || lock(p, page))
		return -1;
	child = fork();
	if (child == 0) {
		if (msync(p, page, MS_INVALIDATE) != 0)
			_exit(1); /* the parent's lock was inherited */
		if (mlock(p, page) != 0)
			_exit(2);
		if (msync(p, page, MS_INVALIDATE) != -1 || errno != EBUSY)
			_exit(3);
		_exit(0);
	}
	if (reap_helper(child, "the child checking locks"))
		return -1;
	if (expect_result("msync(MS_INVALIDATE) in the locking parent",
			  msync(p, page, MS_INVALIDATE), EBUSY))
		return -1;
	munlock(p, page);
	return 0;
}

static int cross_munmap_in_child_leaves_the_parent_mapping(void)
{
	int fd = new_file("x-partial", 3 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 3 * page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		if (munmap(p + page, page) != 0)
			_exit(1);
		if (msync(p, 3 * page, MS_SYNC) != -1 || errno != ENOMEM)
			_exit(2);
		_exit(0);
	}
	if (reap_helper(child, "the child with a hole"))
		return -1;
	store(p + page, page, page, SEED_STORE);
	if (expect_result("msync(MS_SYNC) in the parent", msync(p, 3 * page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, page, page, SEED_STORE);
}

static sigjmp_buf bus_escape;
static volatile int bus_code;
static volatile void *bus_address;

static void on_sigbus(int signal, siginfo_t *info, void *context)
{
	(void)signal;
	(void)context;
	bus_code = info->si_code;
	bus_address = info->si_addr;
	siglongjmp(bus_escape, 1);
}

static int cross_sigbus_past_eof_after_another_process_ftruncate(void)
{
	int fd = new_file("x-truncated", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	struct sigaction action = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO }, old;
	volatile unsigned char *beyond;
	pid_t child;

	if (!p)
		return -1;
	(void)p[page];
	child = fork();
	if (child == 0)
		_exit(ftruncate(fd, page) == 0 ? 0 : 1);
	if (reap_helper(child, "the child calling ftruncate"))
		return -1;
	sigemptyset(&action.sa_mask);
	sigaction(SIGBUS, &action, &old);
	bus_code = 0;
	beyond = p + page + 40;
	if (sigsetjmp(bus_escape, 1) == 0)
		(void)*beyond;
	sigaction(SIGBUS, &old, NULL);
	if (bus_code != BUS_ADRERR || bus_address != beyond)
		return fail("expected SIGBUS BUS_ADRERR at %p got code %d at %p", (void *)beyond,
			    bus_code, (void *)bus_address);
	return expect_pattern("the page below the new end", p, 0, page, SEED_INITIAL);
}

static unsigned char *read_only_mapping;

static void grant_write(int signal, siginfo_t *info, void *context)
{
	(void)signal;
	(void)info;
	(void)context;
	mprotect(read_only_mapping, page, PROT_READ | PROT_WRITE);
}

static int cross_sigsegv_handler_mprotects_then_msync_writes_the_store(void)
{
	int fd = new_file("x-segv", page);
	struct sigaction action = { .sa_sigaction = grant_write, .sa_flags = SA_SIGINFO }, old;
	pid_t child;

	if (fd < 0)
		return -1;
	read_only_mapping = map(page, PROT_READ, MAP_SHARED, fd, 0);
	if (!read_only_mapping)
		return -1;
	sigemptyset(&action.sa_mask);
	sigaction(SIGSEGV, &action, &old);
	store(read_only_mapping, 0, page, SEED_STORE);
	sigaction(SIGSEGV, &old, NULL);
	/* a second process syncs: the store is in the one page cache */
	child = fork();
	if (child == 0)
		_exit(msync(read_only_mapping, page, MS_SYNC) == 0 ? 0 : 1);
	if (reap_helper(child, "the child calling msync"))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_ms_async_in_child_then_fsync_in_parent(void)
{
	int fd = new_file("x-async", 2 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 2 * page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, 2 * page, SEED_STORE);
		_exit(msync(p, 2 * page, MS_ASYNC) == 0 ? 0 : 1);
	}
	if (reap_helper(child, "the child calling MS_ASYNC"))
		return -1;
	if (expect_result("fsync in the parent", fsync(fd), 0))
		return -1;
	return expect_file(fd, 0, 2 * page, SEED_STORE);
}

static int cross_vfork_child_store_is_synced_by_the_parent(void)
{
	int fd = new_file("x-vfork", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	int status;
	pid_t child;

	if (!p)
		return -1;
	child = vfork();
	if (child == 0) {
		p[0] = 0x5e;
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	if (pread(fd, &p[1], 1, 0) != 1 || p[1] != 0x5e)
		return fail("the vfork child's store is not in the file");
	return 0;
}

static int cross_shared_anonymous_memory_msync_returns_0(void)
{
	unsigned char *p = map(page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		p[0] = 0x41;
		_exit(msync(p, page, MS_SYNC) == 0 ? 0 : 1);
	}
	if (reap_helper(child, "the child syncing shared anonymous memory"))
		return -1;
	if (p[0] != 0x41)
		return fail("the child's store is not seen");
	return expect_result("msync(MS_SYNC) in the parent", msync(p, page, MS_SYNC), 0);
}

static int cross_msync_of_a_never_touched_range_after_fork_returns_0(void)
{
	int fd = new_file("x-untouched", 4 * page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, 4 * page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0)
		_exit(msync(p, 4 * page, MS_SYNC | MS_INVALIDATE) == 0 ? 0 : 1);
	if (reap_helper(child, "the child syncing untouched pages"))
		return -1;
	return expect_file(fd, 0, 4 * page, SEED_INITIAL);
}

static int cross_parent_and_child_stores_in_one_page_both_reach_the_file(void)
{
	int fd = new_file("x-one-page", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	struct baton stored;
	pid_t child;

	if (!p || baton_new(&stored))
		return -1;
	child = fork();
	if (child == 0) {
		store(p, 0, page / 2, SEED_STORE);
		baton_pass(&stored);
		_exit(0);
	}
	if (baton_wait(&stored))
		return -1;
	store(p + page / 2, page / 2, page / 2, SEED_STORE);
	if (reap_helper(child, "the child storing the first half"))
		return -1;
	if (expect_result("msync(MS_SYNC)", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

static int cross_grandchild_store_is_synced_by_the_grandparent(void)
{
	int fd = new_file("x-grandchild", page);
	unsigned char *p = fd < 0 ? NULL : map_shared(fd, page);
	pid_t child;

	if (!p)
		return -1;
	child = fork();
	if (child == 0) {
		pid_t grandchild = fork();
		int status;

		if (grandchild == 0) {
			store(p, 0, page, SEED_STORE);
			_exit(0);
		}
		_exit(waitpid(grandchild, &status, 0) == grandchild && status == 0 ? 0 : 1);
	}
	if (reap_helper(child, "the child of the storing grandchild"))
		return -1;
	if (expect_result("msync(MS_SYNC) in the grandparent", msync(p, page, MS_SYNC), 0))
		return -1;
	return expect_file(fd, 0, page, SEED_STORE);
}

/* --- the cases, in man-page order ------------------------------------------------------- */

#define EINVAL_SENTENCE "msync(2) ERRORS: \"EINVAL addr is not a multiple of PAGESIZE; or any bit " \
	"other than MS_ASYNC | MS_INVALIDATE | MS_SYNC is set in flags; or both MS_SYNC and " \
	"MS_ASYNC are set in flags\""
#define ENOMEM_SENTENCE "msync(2) ERRORS: \"ENOMEM The indicated memory (or part of it) was " \
	"not mapped.\""
#define LSP_HOLE_SENTENCE "LSP: \"Linux will return ENOMEM ... when asked to synchronize a " \
	"region that is only partly unmapped, but it will still synchronize any valid mappings " \
	"in the region\""
#define EBUSY_SENTENCE "msync(2) ERRORS: \"EBUSY MS_INVALIDATE was specified in flags, and a " \
	"memory lock exists for the specified address range.\""
#define UPDATED_SENTENCE "msync(2): \"the part of the file that corresponds to the memory area " \
	"starting at addr and having length length is updated\""
#define ONE_CACHE_SENTENCE "msync(2): \"msync() flushes changes made to the in-core copy of a " \
	"file\" (one in-core copy, whichever process stored)"
#define MAP_SHARED_SENTENCE "mmap(2) MAP_SHARED: \"Updates to the mapping are visible to other " \
	"processes mapping the same region\""

static const struct {
	const char *name;
	const char *source;
	int (*run)(void);
} cases[] = {
#define CASE(function, source) { #function, source, function }
	CASE(msync_unknown_flag_bit_is_einval, EINVAL_SENTENCE),
	CASE(msync_sync_and_async_together_is_einval, EINVAL_SENTENCE),
	CASE(msync_unaligned_addr_is_einval, EINVAL_SENTENCE),
	CASE(msync_einval_is_checked_before_the_range,
	     "Linux behaviour: flags and addr alignment are checked before the range, so EINVAL "
	     "wins over ENOMEM and over len 0"),
	CASE(msync_flags_zero_is_accepted,
	     "msync(2) NOTES: \"Linux permits a call to msync() that specifies neither of these "
	     "flags, with semantics that are (currently) equivalent to specifying MS_ASYNC\""),
	CASE(msync_invalidate_alone_is_accepted,
	     "msync(2): \"exactly one of MS_ASYNC and MS_SYNC, and may additionally include the "
	     "MS_INVALIDATE bit\"; Linux behaviour: MS_INVALIDATE alone is accepted like flags 0"),
	CASE(msync_len_zero_returns_0,
	     "Linux behaviour: a zero length returns 0 after the flag and alignment checks, even "
	     "where nothing is mapped"),
	CASE(msync_len_is_rounded_up_to_whole_pages,
	     UPDATED_SENTENCE "; Linux behaviour: length is rounded up to a page multiple"),
	CASE(msync_addr_plus_len_wrapping_is_enomem,
	     ENOMEM_SENTENCE "; Linux behaviour: addr + len past the top of the address space"),
	CASE(msync_len_rounding_past_2_64_returns_0,
	     "Linux behaviour: len = SIZE_MAX rounds up to 0 (mod 2^64) and is then a zero "
	     "length, returning 0"),
	CASE(msync_unmapped_range_is_enomem, ENOMEM_SENTENCE),
	CASE(msync_sync_over_a_hole_is_enomem_and_syncs_both_sides, LSP_HOLE_SENTENCE),
	CASE(msync_async_over_a_hole_is_enomem,
	     ENOMEM_SENTENCE "; Linux behaviour: MS_ASYNC stops at the hole (nothing to do)"),
	CASE(msync_range_starting_in_a_hole_is_enomem, LSP_HOLE_SENTENCE),
	CASE(msync_after_partial_munmap_is_enomem, LSP_HOLE_SENTENCE),
	CASE(msync_invalidate_on_locked_mapping_is_ebusy, EBUSY_SENTENCE),
	CASE(msync_without_invalidate_on_locked_mapping_returns_0,
	     EBUSY_SENTENCE " (only with MS_INVALIDATE)"),
	CASE(msync_invalidate_beside_a_locked_page_returns_0,
	     EBUSY_SENTENCE " (only a lock inside the range counts)"),
	CASE(msync_ebusy_wins_over_a_hole,
	     "Linux behaviour: EBUSY from a locked VMA is returned instead of the ENOMEM of an "
	     "earlier hole"),
	CASE(msync_private_mapping_returns_0_and_file_is_unchanged,
	     "msync(2): \"flushes changes made to the in-core copy of a file that was mapped\"; "
	     "mmap(2) MAP_PRIVATE: \"Updates to the mapping are not carried through to the "
	     "underlying file\""),
	CASE(msync_anonymous_mapping_returns_0,
	     "msync(2): \"On success, zero is returned.\"; Linux behaviour: nothing to write for "
	     "anonymous memory"),
	CASE(msync_over_vmas_with_different_protections_returns_0, UPDATED_SENTENCE),
	CASE(msync_read_only_shared_mapping_returns_0,
	     "msync(2): \"On success, zero is returned.\"; Linux behaviour: a PROT_READ shared "
	     "mapping has nothing dirty"),
	CASE(msync_prot_none_mapping_returns_0,
	     "Linux behaviour: a PROT_NONE mapping is mapped memory, not ENOMEM"),
	CASE(msync_mapping_at_a_file_offset_updates_that_part, UPDATED_SENTENCE),
	CASE(msync_through_another_mapping_writes_the_store,
	     "msync(2): \"msync() flushes changes made to the in-core copy of a file\" (one "
	     "in-core copy for all mappings)"),
	CASE(msync_invalidate_lets_other_mappings_see_fresh_values,
	     "msync(2): \"MS_INVALIDATE Asks to invalidate other mappings of the same file (so "
	     "that they can be updated with the fresh values just written)\""),
	CASE(msync_async_then_fsync_puts_the_data_in_the_file,
	     "msync(2): \"MS_ASYNC Specifies that an update be scheduled, but the call returns "
	     "immediately.\""),
	CASE(msync_sync_data_is_visible_to_pread,
	     "msync(2): \"MS_SYNC Requests an update and waits for it to complete.\""),
	CASE(msync_sync_of_one_mebibyte,
	     "msync(2): \"MS_SYNC Requests an update and waits for it to complete.\""),
	CASE(read_and_pread_see_stores_before_any_msync,
	     "LSP: \"the process directly modifies the file's pages in the kernel's page cache\""),
	CASE(write_is_visible_through_an_existing_mapping,
	     "Linux behaviour: write() and a MAP_SHARED mapping share one page cache"),
	CASE(munmap_without_msync_keeps_the_stores,
	     "msync(2): \"there is no guarantee that changes are written back before munmap(2) "
	     "is called\"; Linux behaviour: the stores stay in the file after munmap"),
	CASE(cross_store_in_child_exit_then_msync_in_parent, ONE_CACHE_SENTENCE),
	CASE(cross_store_in_running_child_msync_in_parent, ONE_CACHE_SENTENCE),
	CASE(cross_store_in_parent_before_fork_msync_in_child, ONE_CACHE_SENTENCE),
	CASE(cross_store_in_parent_after_fork_msync_in_child, ONE_CACHE_SENTENCE),
	CASE(cross_stores_are_seen_by_the_other_process_at_once, MAP_SHARED_SENTENCE),
	CASE(cross_two_children_store_parent_msync_writes_both, ONE_CACHE_SENTENCE),
	CASE(cross_child_killed_after_a_store_leaves_the_data,
	     ONE_CACHE_SENTENCE "; Linux behaviour: a killed process's stores stay in the cache"),
	CASE(cross_child_store_then_exec_keeps_the_data,
	     ONE_CACHE_SENTENCE "; Linux behaviour: execve drops the mapping, not the stores"),
	CASE(cross_child_munmap_then_exit_leaves_the_data,
	     "msync(2): \"there is no guarantee that changes are written back before munmap(2) "
	     "is called\"; Linux behaviour: the stores stay for the other mapping"),
	CASE(cross_private_store_in_child_never_reaches_the_file,
	     "mmap(2) MAP_PRIVATE: \"Updates to the mapping are not carried through to the "
	     "underlying file\"; fork(2): the child's copy-on-write pages"),
	CASE(cross_private_copy_before_fork_stays_private,
	     "mmap(2) MAP_PRIVATE: \"Updates to the mapping are not visible to other processes\""),
	CASE(cross_write_in_another_process_is_seen_after_ms_invalidate,
	     "msync(2): \"MS_INVALIDATE Asks to invalidate other mappings of the same file\""),
	CASE(cross_locks_are_not_inherited_but_a_childs_own_lock_is_ebusy,
	     EBUSY_SENTENCE "; mlock(2): \"Memory locks are not inherited by a child created "
	     "via fork(2)\""),
	CASE(cross_munmap_in_child_leaves_the_parent_mapping,
	     ENOMEM_SENTENCE "; fork(2): mappings are per process"),
	CASE(cross_sigbus_past_eof_after_another_process_ftruncate,
	     "mmap(2): \"SIGBUS Attempted access to a page of the buffer that lies beyond the end "
	     "of the mapped file\""),
	CASE(cross_sigsegv_handler_mprotects_then_msync_writes_the_store,
	     "mprotect(2): \"If the calling process tries to access memory in a manner that "
	     "violates the protections, then the kernel generates a SIGSEGV signal\""),
	CASE(cross_ms_async_in_child_then_fsync_in_parent,
	     "msync(2): \"MS_ASYNC Specifies that an update be scheduled\"; fsync(2)"),
	CASE(cross_vfork_child_store_is_synced_by_the_parent,
	     ONE_CACHE_SENTENCE "; vfork(2): the child runs in the parent's memory"),
	CASE(cross_shared_anonymous_memory_msync_returns_0,
	     "msync(2): \"On success, zero is returned.\"; Linux behaviour: shared anonymous "
	     "memory has no file to write"),
	CASE(cross_msync_of_a_never_touched_range_after_fork_returns_0,
	     "msync(2): \"On success, zero is returned.\""),
	CASE(cross_parent_and_child_stores_in_one_page_both_reach_the_file, ONE_CACHE_SENTENCE),
	CASE(cross_grandchild_store_is_synced_by_the_grandparent, ONE_CACHE_SENTENCE),
#undef CASE
};

/*
 * Runs case `index` in a child process: its verdict comes back as the exit
 * status (0 pass, 1 fail) with the reason on `reasons`; a crash or a hang
 * is a failure named after the signal or the timeout.
 */
static volatile sig_atomic_t timed_out;

static void on_case_timeout(int signal)
{
	(void)signal;
	timed_out = 1;
}

static int run_case(size_t index)
{
	struct sigaction action = { .sa_handler = on_case_timeout }, old;
	int reasons[2], status;
	ssize_t got;
	pid_t child;

	if (pipe(reasons) != 0)
		return fail("harness: pipe: %s", errno_name(errno));
	fflush(stdout);
	child = fork();
	if (child < 0)
		return fail("harness: fork: %s", errno_name(errno));
	if (child == 0) {
		int result;

		close(reasons[0]);
		result = cases[index].run();
		cleanup();
		if (result != 0 && write(reasons[1], check_why, strlen(check_why)) < 0)
			_exit(2);
		_exit(result == 0 ? 0 : 1);
	}
	close(reasons[1]);
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, &old);
	timed_out = 0;
	alarm(CASE_TIMEOUT_SECONDS);
	while (waitpid(child, &status, 0) != child) {
		if (errno != EINTR)
			return fail("harness: waitpid: %s", errno_name(errno));
		if (timed_out)
			kill(child, SIGKILL);
	}
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	got = read(reasons[0], check_why, sizeof check_why - 1);
	check_why[got > 0 ? got : 0] = 0;
	close(reasons[0]);
	if (timed_out)
		return fail("timed out after %d s", CASE_TIMEOUT_SECONDS);
	if (WIFSIGNALED(status))
		return fail("the case was killed by signal %d (%s)", WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
	return WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 2 && strcmp(argv[1], "--role") == 0)
		return 0;
	if (argc > 1)
		test_dir = argv[1];
	page = (size_t)sysconf(_SC_PAGESIZE);
	printf("msync conformance: %zu cases, files in %s, page size %zu\n",
	       sizeof cases / sizeof cases[0], test_dir, page);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		report(cases[i].name, cases[i].source, run_case(i));
	return summary();
}

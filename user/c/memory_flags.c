/*
 * memory_flags: the mmap flags beyond the mapping type (MAP_LOCKED,
 * MAP_POPULATE, MAP_NORESERVE, MAP_STACK, MAP_GROWSDOWN, MAP_HUGETLB,
 * MAP_SHARED_VALIDATE, MAP_SYNC, MAP_FIXED_NOREPLACE, MAP_32BIT), mremap,
 * mincore, madvise's visible effects and mlock2, one case per rule, each
 * passing on Linux 6.1.
 *
 * Usage: memory_flags [DIR]    (default "/"; the test files are created there)
 *
 * Prints one "PASS name -- source" or "FAIL name: ... -- source" line per
 * case and ends with "N passed, N failed"; exit status 0 only if none failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "child.h"
#include "pattern_file.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define SEED_FILE 11
#define SEED_STORE 12
#define SEED_LATER 13

static const char *test_dir = "/";
static const char *self;
static size_t page;

/* mmap through the system call itself, so that all 64 bits of `flags` reach the kernel. */
static void *raw_mmap(void *addr, size_t len, int prot, unsigned long flags, int fd, off_t offset)
{
	long got = syscall(SYS_mmap, addr, len, prot, flags, fd, offset);

	return got == -1 ? MAP_FAILED : (void *)got;
}

/* An anonymous private read-write mapping of `pages` pages with `extra` flags, or NULL. */
static unsigned char *anonymous(size_t pages, int extra)
{
	void *addr = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	if (addr == MAP_FAILED) {
		fail("setup: mmap: %s", errno_name(errno));
		return NULL;
	}
	return addr;
}

/* DIR/flags-TAG holding `pages` pages of the SEED_FILE pattern, open read-write; -1 on failure. */
static int test_file(const char *tag, size_t pages)
{
	char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/flags-%s", test_dir, tag);
	fd = pattern_file(path, pages * page, SEED_FILE);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Checks that the result of a call is -1 with `expected` in errno. */
static int expect_errno(const char *call, long result, int expected)
{
	if (result != -1)
		return fail("%s: expected %s got %ld", call, errno_name(expected), result);
	if (errno != expected)
		return fail("%s: expected %s got %s", call, errno_name(expected), errno_name(errno));
	return 0;
}

/* Checks that mmap failed with `expected`. */
static int expect_mmap_errno(const char *what, void *result, int expected)
{
	return expect_errno(what, result == MAP_FAILED ? -1 : 0, expected);
}

/* Checks that mincore reports `expected` (a string of '0' and '1', one per page) at `addr`. */
static int expect_resident(const char *what, void *addr, const char *expected)
{
	size_t pages = strlen(expected);
	unsigned char vec[64];

	if (mincore(addr, pages * page, vec) != 0)
		return fail("%s: mincore: %s", what, errno_name(errno));
	for (size_t i = 0; i < pages; i++)
		if ((vec[i] & 1) != (unsigned char)(expected[i] - '0'))
			return fail("%s: page %zu: expected resident=%c got %d", what, i,
				    expected[i], vec[i] & 1);
	return 0;
}

/* Checks that nothing is mapped at [addr, addr + len): mincore says ENOMEM. */
static int expect_unmapped(const char *what, void *addr, size_t len)
{
	unsigned char vec[64];

	return expect_errno(what, mincore(addr, len, vec), ENOMEM);
}

/* ---- mmap flags ---- */

static int map_locked_locks_the_vma_so_ms_invalidate_is_ebusy(void)
{
	int fd = test_file("locked", 2);
	unsigned char *p;
	int result;

	if (fd < 0)
		return -1;
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap MAP_LOCKED: %s", errno_name(errno));
	result = expect_errno("msync(MS_INVALIDATE)", msync(p, 2 * page, MS_INVALIDATE), EBUSY);
	if (result == 0)
		result = expect_resident("locked", p, "11");
	munmap(p, 2 * page);
	return result;
}

/* A private read-write mapping of a file with `extra`, then a pwrite of the file under it. */
static int private_mapping_then_pwrite(int extra, unsigned expect_seed)
{
	int fd = test_file(extra & MAP_LOCKED ? "private-locked" : "private-populate", 1);
	unsigned char later[64];
	unsigned char *p;
	int result;

	if (fd < 0)
		return -1;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | extra, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return fail("mmap: %s", errno_name(errno));
	}
	pattern_fill(later, 0, sizeof later, SEED_LATER);
	if (pwrite(fd, later, sizeof later, 0) != (ssize_t)sizeof later)
		result = fail("pwrite: %s", errno_name(errno));
	else
		result = expect_pattern("mapping after pwrite", p, 0, sizeof later, expect_seed);
	munmap(p, page);
	close(fd);
	return result;
}

static int map_locked_private_writable_file_mapping_holds_its_own_copies(void)
{
	return private_mapping_then_pwrite(MAP_LOCKED, SEED_FILE);
}

static int map_populate_private_writable_file_mapping_holds_its_own_copies(void)
{
	return private_mapping_then_pwrite(MAP_POPULATE, SEED_FILE);
}

static int map_populate_read_only_private_mapping_still_sees_the_file(void)
{
	int fd = test_file("populate-ro", 1);
	unsigned char later[64];
	unsigned char *p;
	int result;

	if (fd < 0)
		return -1;
	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return fail("mmap: %s", errno_name(errno));
	}
	pattern_fill(later, 0, sizeof later, SEED_LATER);
	if (pwrite(fd, later, sizeof later, 0) != (ssize_t)sizeof later)
		result = fail("pwrite: %s", errno_name(errno));
	else
		result = expect_pattern("read-only mapping after pwrite", p, 0, sizeof later,
					SEED_LATER);
	munmap(p, page);
	close(fd);
	return result;
}

static int map_populate_makes_anonymous_pages_resident_at_return(void)
{
	unsigned char *plain = anonymous(4, 0);
	unsigned char *populated = anonymous(4, MAP_POPULATE);
	unsigned char *nonblock = anonymous(4, MAP_POPULATE | MAP_NONBLOCK);
	int result;

	if (!plain || !populated || !nonblock)
		return -1;
	result = expect_resident("plain", plain, "0000");
	if (result == 0)
		result = expect_resident("MAP_POPULATE", populated, "1111");
	if (result == 0)
		result = expect_resident("MAP_POPULATE|MAP_NONBLOCK", nonblock, "0000");
	munmap(plain, 4 * page);
	munmap(populated, 4 * page);
	munmap(nonblock, 4 * page);
	return result;
}

static int map_noreserve_and_map_stack_map_ordinary_memory(void)
{
	unsigned char *noreserve = anonymous(2, MAP_NORESERVE);
	unsigned char *stack = anonymous(2, MAP_STACK);

	if (!noreserve || !stack)
		return -1;
	noreserve[page] = 7;
	stack[page] = 9;
	if (noreserve[page] != 7 || stack[page] != 9 || noreserve[0] != 0 || stack[0] != 0)
		return fail("stores did not read back");
	munmap(noreserve, 2 * page);
	munmap(stack, 2 * page);
	return 0;
}

/* Where the MAP_GROWSDOWN cases put their stack: a free stretch found by mapping and unmapping. */
static unsigned char *free_stretch(size_t pages)
{
	unsigned char *p = anonymous(pages, 0);

	if (p)
		munmap(p, pages * page);
	return p;
}

static int map_growsdown_grows_when_touched_below(void)
{
	size_t stretch = 1024;
	unsigned char *base = free_stretch(stretch);
	unsigned char *top, *deep;
	void *got;
	int result;

	if (!base)
		return -1;
	top = base + (stretch - 1) * page;
	got = mmap(top, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
	if (got != top)
		return fail("mmap MAP_GROWSDOWN: %s", errno_name(errno));
	deep = top - 100 * page;
	deep[16] = 0x5a;
	result = deep[16] == 0x5a && deep[17] == 0 ? 0 : fail("the store below did not read back");
	if (result == 0)
		result = expect_resident("grown stack", deep, "1");
	if (result == 0)
		result = expect_resident("between", deep + page, "0");
	munmap(deep, top + page - deep);
	return result;
}

static int map_growsdown_is_einval_for_shared_memory_and_files(void)
{
	int fd = test_file("growsdown", 1);
	int result;

	if (fd < 0)
		return -1;
	result = expect_mmap_errno("shared anonymous",
				   mmap(NULL, page, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0),
				   EINVAL);
	if (result == 0)
		result = expect_mmap_errno(
			"private file",
			mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, fd, 0), EINVAL);
	if (result == 0)
		result = expect_mmap_errno(
			"shared file",
			mmap(NULL, page, PROT_READ, MAP_SHARED | MAP_GROWSDOWN, fd, 0), EINVAL);
	close(fd);
	return result;
}

static int map_hugetlb_without_huge_pages_is_enomem_or_einval(void)
{
	size_t len = 2 << 20;
	int fd = test_file("hugetlb", 1);
	int result;

	if (fd < 0)
		return -1;
	result = expect_mmap_errno("default size",
				   mmap(NULL, len, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0),
				   ENOMEM);
	if (result == 0)
		result = expect_mmap_errno(
			"2 MiB", mmap(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT),
				      -1, 0),
			ENOMEM);
	if (result == 0)
		result = expect_mmap_errno(
			"16 KiB: no such size",
			mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (14 << MAP_HUGE_SHIFT), -1, 0),
			EINVAL);
	if (result == 0)
		result = expect_mmap_errno(
			"a file not on hugetlbfs",
			mmap(NULL, page, PROT_READ, MAP_SHARED | MAP_HUGETLB, fd, 0), EINVAL);
	close(fd);
	return result;
}

static int map_shared_validate_with_an_unknown_flag_is_eopnotsupp(void)
{
	int fd = test_file("validate", 1);
	unsigned long unknown[] = { 0x200, 1UL << 31, 1UL << 32 };
	int result = 0;

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0] && result == 0; i++) {
		void *plain = raw_mmap(NULL, page, PROT_READ, MAP_SHARED | unknown[i], fd, 0);

		result = expect_mmap_errno(
			"MAP_SHARED_VALIDATE",
			raw_mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | unknown[i], fd, 0),
			EOPNOTSUPP);
		if (result == 0 && plain == MAP_FAILED)
			result = fail("MAP_SHARED with flag %#lx: expected a mapping got %s",
				      unknown[i], errno_name(errno));
		if (plain != MAP_FAILED)
			munmap(plain, page);
	}
	if (result == 0) {
		void *known = mmap(NULL, page, PROT_READ,
				   MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_NORESERVE, fd, 0);

		if (known == MAP_FAILED)
			result = fail("known flags: expected a mapping got %s", errno_name(errno));
		else
			munmap(known, page);
	}
	close(fd);
	return result;
}

static int map_sync_is_eopnotsupp_on_a_file_without_dax(void)
{
	int fd = test_file("sync", 1);
	int types[] = { MAP_SHARED_VALIDATE, MAP_SHARED, MAP_PRIVATE };
	unsigned char *anon;
	int result = 0;

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof types / sizeof types[0] && result == 0; i++)
		result = expect_mmap_errno(
			"MAP_SYNC", mmap(NULL, page, PROT_READ, types[i] | MAP_SYNC, fd, 0),
			EOPNOTSUPP);
	close(fd);
	if (result)
		return result;
	anon = anonymous(1, MAP_SYNC);
	if (!anon)
		return -1;
	munmap(anon, page);
	return 0;
}

static int map_fixed_noreplace_over_a_mapping_is_eexist(void)
{
	unsigned char *p = anonymous(3, 0);
	void *beside;
	int result;

	if (!p)
		return -1;
	munmap(p + 2 * page, page);
	result = expect_mmap_errno("over the mapping",
				   mmap(p + page, 2 * page, PROT_READ,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
				   EEXIST);
	beside = mmap(p + 2 * page, page, PROT_READ,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (result == 0 && beside != p + 2 * page)
		result = fail("beside the mapping: expected %p got %p (%s)", (void *)(p + 2 * page),
			      beside, errno_name(errno));
	munmap(p, 3 * page);
	return result;
}

static int map_32bit_places_the_mapping_in_the_second_gib(void)
{
	unsigned char *p = anonymous(4, MAP_32BIT);
	uintptr_t at = (uintptr_t)p;

	if (!p)
		return -1;
	munmap(p, 4 * page);
	if (at < (1UL << 30) || at + 4 * page > (2UL << 30))
		return fail("expected an address in [1 GiB, 2 GiB) got %p", (void *)p);
	return 0;
}

static int mmap_hint_below_mmap_min_addr_is_raised_to_it(void)
{
	void *p = mmap((void *)0x1000, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	munmap(p, page);
	if (p != (void *)0x10000)
		return fail("expected 0x10000 (vm.mmap_min_addr) got %p", p);
	return 0;
}

static int mmap_fixed_at_address_zero_works_for_root(void)
{
	void *got = mmap(NULL, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	/* Laundered through a volatile, so the compiler cannot see a null pointer being used. */
	volatile uintptr_t address = (uintptr_t)got;
	volatile unsigned char *byte = (volatile unsigned char *)(address + 100);
	int result = 0;

	if (got == MAP_FAILED)
		return fail("mmap at 0: expected a mapping got %s", errno_name(errno));
	if (address != 0)
		result = fail("expected address 0 got %p", got);
	*byte = 0x5a;
	if (result == 0 && *byte != 0x5a)
		result = fail("the store at 100 did not read back");
	munmap(got, page);
	return result;
}

/* ---- mremap ---- */

/* A private anonymous mapping of `pages` pages with `free_after` free pages after it, or NULL. */
static unsigned char *with_room_after(size_t pages, size_t free_after)
{
	unsigned char *p = anonymous(pages + free_after, 0);

	if (p && free_after)
		munmap(p + pages * page, free_after * page);
	return p;
}

static int mremap_grows_in_place_when_the_pages_after_are_free(void)
{
	unsigned char *p = with_room_after(2, 2);
	unsigned char *got;
	int result = 0;

	if (!p)
		return -1;
	pattern_fill(p, 0, 2 * page, SEED_STORE);
	got = mremap(p, 2 * page, 4 * page, 0);
	if (got != p)
		return fail("expected %p got %p (%s)", (void *)p, (void *)got, errno_name(errno));
	result = expect_pattern("kept", p, 0, 2 * page, SEED_STORE);
	if (result == 0 && (p[2 * page] != 0 || p[4 * page - 1] != 0))
		result = fail("the new pages are not zero");
	munmap(p, 4 * page);
	return result;
}

static int mremap_without_maymove_cannot_grow_into_a_mapping(void)
{
	unsigned char *p = anonymous(3, 0);
	int result;

	if (!p)
		return -1;
	munmap(p + page, page);
	result = expect_errno("grow into the next mapping", (long)mremap(p, page, 3 * page, 0),
			      ENOMEM);
	munmap(p, 3 * page);
	return result;
}

static int mremap_maymove_moves_the_data_and_unmaps_the_old_range(void)
{
	unsigned char *p = anonymous(3, 0);
	unsigned char *got;
	int result;

	if (!p)
		return -1;
	pattern_fill(p, 0, 2 * page, SEED_STORE);
	got = mremap(p, 2 * page, 8 * page, MREMAP_MAYMOVE);
	if (got == MAP_FAILED)
		return fail("mremap: %s", errno_name(errno));
	if (got == p)
		return fail("expected a move (the page after is mapped) got the same address");
	result = expect_pattern("moved", got, 0, 2 * page, SEED_STORE);
	if (result == 0)
		result = expect_unmapped("old range", p, 2 * page);
	if (result == 0)
		result = expect_resident("moved pages", got, "11000000");
	munmap(got, 8 * page);
	munmap(p + 2 * page, page);
	return result;
}

static int mremap_shrink_unmaps_the_tail(void)
{
	unsigned char *p = anonymous(4, 0);
	unsigned char *got;
	int result;

	if (!p)
		return -1;
	memset(p, 1, 4 * page);
	got = mremap(p, 4 * page, page, 0);
	if (got != p)
		return fail("expected %p got %p (%s)", (void *)p, (void *)got, errno_name(errno));
	result = expect_unmapped("tail", p + page, 3 * page);
	if (result == 0 && p[0] != 1)
		result = fail("the head lost its data");
	munmap(p, page);
	return result;
}

static int mremap_fixed_moves_to_the_address_replacing_what_was_there(void)
{
	unsigned char *p = anonymous(2, 0);
	unsigned char *target = anonymous(2, 0);
	unsigned char *got;
	int result;

	if (!p || !target)
		return -1;
	pattern_fill(p, 0, 2 * page, SEED_STORE);
	memset(target, 0x77, 2 * page);
	got = mremap(p, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	if (got != target)
		return fail("expected %p got %p (%s)", (void *)target, (void *)got,
			    errno_name(errno));
	result = expect_pattern("at the target", target, 0, 2 * page, SEED_STORE);
	if (result == 0)
		result = expect_unmapped("old range", p, 2 * page);
	munmap(target, 2 * page);
	return result;
}

static int mremap_bad_arguments_get_linux_errnos(void)
{
	unsigned char *p = anonymous(4, 0);
	unsigned char *hole;
	int result;

	if (!p)
		return -1;
	hole = p + 3 * page;
	munmap(hole, page);
	result = expect_errno("unaligned", (long)mremap(p + 1, page, 2 * page, MREMAP_MAYMOVE),
			      EINVAL);
	if (result == 0)
		result = expect_errno("new size 0", (long)mremap(p, page, 0, MREMAP_MAYMOVE), EINVAL);
	if (result == 0)
		result = expect_errno("unknown flag", (long)mremap(p, page, page, 8), EINVAL);
	if (result == 0)
		result = expect_errno("MREMAP_FIXED without MREMAP_MAYMOVE",
				      (long)mremap(p, page, page, MREMAP_FIXED, hole), EINVAL);
	if (result == 0)
		result = expect_errno("MREMAP_DONTUNMAP resizing",
				      (long)mremap(p, page, 2 * page,
						   MREMAP_MAYMOVE | MREMAP_DONTUNMAP),
				      EINVAL);
	if (result == 0)
		result = expect_errno("overlapping MREMAP_FIXED",
				      (long)mremap(p, 2 * page, 2 * page,
						   MREMAP_MAYMOVE | MREMAP_FIXED, p + page),
				      EINVAL);
	if (result == 0)
		result = expect_errno("unmapped", (long)mremap(hole, page, 2 * page, MREMAP_MAYMOVE),
				      EFAULT);
	if (result == 0)
		result = expect_errno("old size past the mapping",
				      (long)mremap(p, 4 * page, 5 * page, MREMAP_MAYMOVE), EFAULT);
	if (result == 0)
		result = expect_errno("old size 0 of private memory",
				      (long)mremap(p, 0, page, MREMAP_MAYMOVE), EINVAL);
	munmap(p, 3 * page);
	return result;
}

static int mremap_dontunmap_leaves_the_old_range_mapped_and_empty(void)
{
	unsigned char *p = anonymous(2, 0);
	unsigned char *got;
	int result;

	if (!p)
		return -1;
	pattern_fill(p, 0, 2 * page, SEED_STORE);
	got = mremap(p, 2 * page, 2 * page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	if (got == MAP_FAILED)
		return fail("mremap: %s", errno_name(errno));
	result = expect_pattern("moved", got, 0, 2 * page, SEED_STORE);
	if (result == 0 && (p[0] != 0 || p[2 * page - 1] != 0))
		result = fail("the old range does not read zeros");
	munmap(got, 2 * page);
	munmap(p, 2 * page);
	return result;
}

static int mremap_old_size_zero_maps_shared_memory_twice(void)
{
	unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *twin;
	int result = 0;

	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	p[5] = 42;
	twin = mremap(p, 0, 2 * page, MREMAP_MAYMOVE);
	if (twin == MAP_FAILED)
		return fail("mremap: %s", errno_name(errno));
	if (twin == p)
		result = fail("expected a second address got the same");
	twin[page + 9] = 43;
	if (result == 0 && (twin[5] != 42 || p[page + 9] != 43))
		result = fail("the two mappings do not show the same pages");
	munmap(twin, 2 * page);
	munmap(p, 2 * page);
	return result;
}

static int mremap_of_a_shared_file_mapping_writes_back_at_the_new_address(void)
{
	int fd = test_file("mremap-shared", 2);
	unsigned char *region = anonymous(3, 0);
	unsigned char back[2 * 4096];
	unsigned char *p, *got;
	int result;

	if (fd < 0 || !region)
		return -1;
	/* The region's third page stays mapped after the file, so the growth has to move. */
	p = mmap(region, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p != region) {
		close(fd);
		return fail("mmap: %s", errno_name(errno));
	}
	pattern_fill(p, 0, 2 * page, SEED_STORE);
	got = mremap(p, 2 * page, 4 * page, MREMAP_MAYMOVE);
	if (got == MAP_FAILED) {
		close(fd);
		return fail("mremap: %s", errno_name(errno));
	}
	if (got == p)
		result = fail("expected a move got the same address");
	else if (msync(got, 2 * page, MS_SYNC) != 0)
		result = fail("msync at the new address: %s", errno_name(errno));
	else if (pread(fd, back, 2 * page, 0) != (ssize_t)(2 * page))
		result = fail("pread: %s", errno_name(errno));
	else
		result = expect_pattern("file after msync", back, 0, 2 * page, SEED_STORE);
	munmap(got, 4 * page);
	munmap(region + 2 * page, page);
	close(fd);
	return result;
}

static int mremap_growth_of_a_locked_mapping_is_resident(void)
{
	unsigned char *p = with_room_after(1, 3);
	int result;

	if (!p)
		return -1;
	if (mlock(p, page) != 0)
		return fail("mlock: %s", errno_name(errno));
	if (mremap(p, page, 4 * page, 0) != p)
		return fail("mremap: %s", errno_name(errno));
	result = expect_resident("grown locked mapping", p, "1111");
	munmap(p, 4 * page);
	return result;
}

/* ---- mincore ---- */

static int mincore_reports_touched_anonymous_pages(void)
{
	unsigned char *p = anonymous(4, 0);
	int result;

	if (!p)
		return -1;
	p[page] = 1;
	p[3 * page + 100] = 1;
	result = expect_resident("anonymous", p, "0101");
	munmap(p, 4 * page);
	return result;
}

static int mincore_bad_arguments_get_linux_errnos(void)
{
	unsigned char *p = anonymous(2, 0);
	unsigned char vec[4];
	int result;

	if (!p)
		return -1;
	result = expect_errno("unaligned", mincore(p + 1, page, vec), EINVAL);
	if (result == 0)
		result = expect_errno("bad vector", mincore(p, page, (unsigned char *)8), EFAULT);
	if (result == 0)
		result = expect_errno("past user space",
				      mincore((void *)0x7ffffffff000UL, 2 * page, vec), ENOMEM);
	if (result == 0 && mincore(p, 0, vec) != 0)
		result = fail("length 0: expected 0 got %s", errno_name(errno));
	munmap(p, 2 * page);
	return result;
}

static int mincore_fills_the_bytes_before_a_hole(void)
{
	unsigned char *p = anonymous(3, 0);
	unsigned char vec[3] = { 0xee, 0xee, 0xee };
	int result;

	if (!p)
		return -1;
	munmap(p + page, page);
	p[0] = 1;
	result = expect_errno("hole", mincore(p, 3 * page, vec), ENOMEM);
	if (result == 0 && (vec[0] & 1) != 1)
		result = fail("the byte before the hole: expected 1 got %#x", vec[0]);
	munmap(p, 3 * page);
	return result;
}

static int touch_shared_page(void *memory)
{
	((unsigned char *)memory)[0] = 1;
	return 0;
}

static int mincore_sees_a_shared_page_another_process_touched(void)
{
	unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int result;

	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	result = expect_exit(run_child(touch_shared_page, p), 0);
	if (result == 0)
		result = expect_resident("after the child's store", p, "10");
	munmap(p, 2 * page);
	return result;
}

/* ---- madvise ---- */

static int madvise_dontneed_private_anonymous_memory_reads_zeros(void)
{
	unsigned char *p = anonymous(2, 0);
	int result = 0;

	if (!p)
		return -1;
	memset(p, 0x33, 2 * page);
	if (madvise(p, 2 * page, MADV_DONTNEED) != 0)
		result = fail("madvise: %s", errno_name(errno));
	else if (p[0] != 0 || p[2 * page - 1] != 0)
		result = fail("expected zeros got 0x%02x", p[0]);
	munmap(p, 2 * page);
	return result;
}

static int madvise_dontneed_keeps_the_stores_of_a_shared_file_mapping(void)
{
	int fd = test_file("dontneed-shared", 1);
	unsigned char *p;
	unsigned char back[4096];
	int result;

	if (fd < 0)
		return -1;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return fail("mmap: %s", errno_name(errno));
	}
	pattern_fill(p, 0, page, SEED_STORE);
	if (madvise(p, page, MADV_DONTNEED) != 0)
		result = fail("madvise: %s", errno_name(errno));
	else
		result = expect_pattern("mapping after MADV_DONTNEED", p, 0, page, SEED_STORE);
	if (result == 0 && msync(p, page, MS_SYNC) != 0)
		result = fail("msync: %s", errno_name(errno));
	if (result == 0 && pread(fd, back, page, 0) != (ssize_t)page)
		result = fail("pread: %s", errno_name(errno));
	if (result == 0)
		result = expect_pattern("file", back, 0, page, SEED_STORE);
	munmap(p, page);
	close(fd);
	return result;
}

static int madvise_dontneed_private_file_mapping_shows_the_file_again(void)
{
	int fd = test_file("dontneed-private", 1);
	unsigned char *p;
	int result;

	if (fd < 0)
		return -1;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	pattern_fill(p, 0, page, SEED_STORE);
	if (madvise(p, page, MADV_DONTNEED) != 0)
		result = fail("madvise: %s", errno_name(errno));
	else
		result = expect_pattern("after MADV_DONTNEED", p, 0, page, SEED_FILE);
	munmap(p, page);
	return result;
}

static int madvise_willneed_brings_the_file_pages_into_memory(void)
{
	int fd = open(self, O_RDONLY);
	struct stat st;
	unsigned char *p;
	unsigned char vec[256];
	size_t pages;
	int result = 0;

	if (fd < 0 || fstat(fd, &st) != 0)
		return fail("setup: open %s: %s", self, errno_name(errno));
	pages = ((size_t)st.st_size + page - 1) / page;
	if (pages > sizeof vec)
		pages = sizeof vec;
	p = mmap(NULL, pages * page, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	if (madvise(p, pages * page, MADV_WILLNEED) != 0)
		result = fail("madvise: %s", errno_name(errno));
	else if (mincore(p, pages * page, vec) != 0)
		result = fail("mincore: %s", errno_name(errno));
	for (size_t i = 0; result == 0 && i < pages; i++)
		if ((vec[i] & 1) == 0)
			result = fail("page %zu of %zu of the program is not resident", i, pages);
	munmap(p, pages * page);
	return result;
}

static int madvise_remove_punches_a_hole_under_a_shared_file_mapping(void)
{
	int fd = test_file("remove", 4);
	struct stat before, after;
	unsigned char back[4096];
	unsigned char *p;
	int result = 0;

	if (fd < 0 || fstat(fd, &before) != 0)
		return fail("setup: %s", errno_name(errno));
	p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return fail("mmap: %s", errno_name(errno));
	}
	memset(p + page, 0x44, page);
	if (madvise(p + page, 2 * page, MADV_REMOVE) != 0)
		result = fail("madvise: %s", errno_name(errno));
	for (size_t i = page; result == 0 && i < 3 * page; i++)
		if (p[i] != 0)
			result = fail("byte %zu of the hole: expected 0 got 0x%02x", i, p[i]);
	if (result == 0)
		result = expect_pattern("page 0", p, 0, page, SEED_FILE);
	if (result == 0)
		result = expect_pattern("page 3", p + 3 * page, 3 * page, page, SEED_FILE);
	if (result == 0 && (pread(fd, back, page, 2 * page) != (ssize_t)page || back[100] != 0))
		result = fail("pread of the hole: expected zeros (%s)", errno_name(errno));
	if (result == 0 && fstat(fd, &after) != 0)
		result = fail("fstat: %s", errno_name(errno));
	if (result == 0 && after.st_size != before.st_size)
		result = fail("size: expected %ld got %ld", (long)before.st_size, (long)after.st_size);
	if (result == 0 && after.st_blocks >= before.st_blocks)
		result = fail("st_blocks: expected fewer than %ld got %ld", (long)before.st_blocks,
			      (long)after.st_blocks);
	munmap(p, 4 * page);
	close(fd);
	return result;
}

static int madvise_remove_refuses_private_or_read_only_mappings(void)
{
	char path[256];
	int fd, read_only_fd;
	unsigned char *anon = anonymous(1, 0);
	unsigned char *private, *read_only;
	int result;

	snprintf(path, sizeof path, "%s/flags-remove-refused", test_dir);
	fd = pattern_file(path, page, SEED_FILE);
	read_only_fd = open(path, O_RDONLY);
	unlink(path);
	if (fd < 0 || read_only_fd < 0 || !anon)
		return fail("setup: %s", errno_name(errno));
	private = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	read_only = mmap(NULL, page, PROT_READ, MAP_SHARED, read_only_fd, 0);
	close(fd);
	close(read_only_fd);
	if (private == MAP_FAILED || read_only == MAP_FAILED)
		return fail("setup: mmap: %s", errno_name(errno));
	result = expect_errno("private anonymous", madvise(anon, page, MADV_REMOVE), EINVAL);
	if (result == 0)
		result = expect_errno("private file", madvise(private, page, MADV_REMOVE), EACCES);
	if (result == 0)
		result = expect_errno("shared, of a file opened read-only",
				      madvise(read_only, page, MADV_REMOVE), EACCES);
	munmap(anon, page);
	munmap(private, page);
	munmap(read_only, page);
	return result;
}

static int madvise_remove_empties_shared_anonymous_memory(void)
{
	unsigned char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int result = 0;

	if (p == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	memset(p, 0x55, 2 * page);
	if (madvise(p, page, MADV_REMOVE) != 0)
		result = fail("madvise: %s", errno_name(errno));
	else if (p[0] != 0 || p[page - 1] != 0)
		result = fail("the removed page reads 0x%02x", p[0]);
	else if (p[page] != 0x55)
		result = fail("the page after it lost its data");
	munmap(p, 2 * page);
	return result;
}

static int madvise_free_is_for_private_anonymous_memory(void)
{
	unsigned char *private = anonymous(1, 0);
	unsigned char *shared = mmap(NULL, page, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int result = 0;

	if (!private || shared == MAP_FAILED)
		return fail("setup: mmap");
	private[0] = 1;
	if (madvise(private, page, MADV_FREE) != 0)
		result = fail("private anonymous: expected 0 got %s", errno_name(errno));
	if (result == 0)
		result = expect_errno("shared", madvise(shared, page, MADV_FREE), EINVAL);
	munmap(private, page);
	munmap(shared, page);
	return result;
}

/* ---- mlock and the stack ---- */

static int mlock_faults_the_pages_in(void)
{
	unsigned char *p = anonymous(3, 0);
	int result;

	if (!p)
		return -1;
	if (mlock(p, 2 * page) != 0)
		return fail("mlock: %s", errno_name(errno));
	result = expect_resident("after mlock", p, "110");
	munlock(p, 2 * page);
	munmap(p, 3 * page);
	return result;
}

static int mlock_of_pages_that_cannot_be_faulted_in_is_enomem(void)
{
	unsigned char *none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = test_file("mlock-eof", 1);
	unsigned char *past;
	int result;

	if (none == MAP_FAILED || fd < 0)
		return fail("setup: mmap: %s", errno_name(errno));
	past = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (past == MAP_FAILED)
		return fail("setup: mmap of the file: %s", errno_name(errno));
	result = expect_errno("PROT_NONE", mlock(none, page), ENOMEM);
	if (result == 0)
		result = expect_errno("past the end of the file", mlock(past, 2 * page), ENOMEM);
	if (result == 0)
		result = expect_resident("the page before the end", past, "1");
	munlock(past, 2 * page);
	munlock(none, page);
	munmap(past, 2 * page);
	munmap(none, page);
	return result;
}

static int mlock2_onfault_locks_pages_as_they_are_touched(void)
{
	unsigned char *p = anonymous(3, 0);
	int result;

	if (!p)
		return -1;
	result = expect_errno("unknown flag", syscall(SYS_mlock2, p, 3 * page, 2), EINVAL);
	if (result == 0 && syscall(SYS_mlock2, p, 3 * page, MLOCK_ONFAULT) != 0)
		result = fail("mlock2(MLOCK_ONFAULT): %s", errno_name(errno));
	if (result == 0)
		result = expect_resident("before a touch", p, "000");
	p[page] = 1;
	if (result == 0)
		result = expect_resident("after a touch", p, "010");
	munlock(p, 3 * page);
	munmap(p, 3 * page);
	return result;
}

/* Uses about `depth` KiB of stack, 1 KiB per call, and returns a sum of it. */
static int __attribute__((noinline)) deep(int depth)
{
	volatile unsigned char frame[1000];

	frame[0] = (unsigned char)depth;
	frame[sizeof frame - 1] = 1;
	if (depth == 0)
		return frame[0] + frame[sizeof frame - 1];
	return deep(depth - 1) + frame[0] - (unsigned char)depth + frame[sizeof frame - 1] - 1;
}

static int use_four_mebibytes_of_stack(void *unused)
{
	(void)unused;
	return deep(4096) == 1 ? 0 : 1;
}

static int the_main_stack_grows_as_it_is_used(void)
{
	return expect_exit(run_child(use_four_mebibytes_of_stack, NULL), 0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		const char *source;
		int (*run)(void);
	} cases[] = {
#define CASE(name, source) { #name, source, name }
		CASE(map_locked_locks_the_vma_so_ms_invalidate_is_ebusy,
		     "man msync: EBUSY MS_INVALIDATE was specified and a memory lock exists"),
		CASE(map_locked_private_writable_file_mapping_holds_its_own_copies,
		     "Linux populate_vma_page_range: writable private memory is faulted with FOLL_WRITE"),
		CASE(map_populate_private_writable_file_mapping_holds_its_own_copies,
		     "Linux populate_vma_page_range: writable private memory is faulted with FOLL_WRITE"),
		CASE(map_populate_read_only_private_mapping_still_sees_the_file,
		     "man mmap: MAP_PRIVATE: it is unspecified whether later file changes are visible"),
		CASE(map_populate_makes_anonymous_pages_resident_at_return,
		     "man mmap: MAP_POPULATE prefault page tables; MAP_NONBLOCK: do not prefault"),
		CASE(map_noreserve_and_map_stack_map_ordinary_memory,
		     "man mmap: MAP_NORESERVE, MAP_STACK (no effect on Linux)"),
		CASE(map_growsdown_grows_when_touched_below,
		     "man mmap: MAP_GROWSDOWN: touching the guard page grows the mapping"),
		CASE(map_growsdown_is_einval_for_shared_memory_and_files,
		     "Linux do_mmap: VM_GROWSDOWN only for private anonymous memory"),
		CASE(map_hugetlb_without_huge_pages_is_enomem_or_einval,
		     "Linux ksys_mmap_pgoff: no huge page reserved is ENOMEM, an unknown size EINVAL"),
		CASE(map_shared_validate_with_an_unknown_flag_is_eopnotsupp,
		     "man mmap: MAP_SHARED_VALIDATE fails with EOPNOTSUPP for unknown flags"),
		CASE(map_sync_is_eopnotsupp_on_a_file_without_dax,
		     "man mmap: MAP_SYNC is available only with MAP_SHARED_VALIDATE on DAX files"),
		CASE(map_fixed_noreplace_over_a_mapping_is_eexist,
		     "man mmap: MAP_FIXED_NOREPLACE fails with EEXIST if the range collides"),
		CASE(map_32bit_places_the_mapping_in_the_second_gib,
		     "man mmap: MAP_32BIT: the mapping is placed in the first 2 GiB"),
		CASE(mmap_hint_below_mmap_min_addr_is_raised_to_it,
		     "Linux: a hint below vm.mmap_min_addr (65536 on Debian) is raised to it"),
		CASE(mmap_fixed_at_address_zero_works_for_root,
		     "Linux security_mmap_addr: below vm.mmap_min_addr needs CAP_SYS_RAWIO, which root has"),
		CASE(mremap_grows_in_place_when_the_pages_after_are_free,
		     "man mremap: expands the mapping, the new part zero-filled"),
		CASE(mremap_without_maymove_cannot_grow_into_a_mapping,
		     "man mremap: ENOMEM the area cannot be expanded at the current address"),
		CASE(mremap_maymove_moves_the_data_and_unmaps_the_old_range,
		     "man mremap: MREMAP_MAYMOVE: the mapping may be relocated"),
		CASE(mremap_shrink_unmaps_the_tail,
		     "man mremap: shrinking leaves the mapping at its address"),
		CASE(mremap_fixed_moves_to_the_address_replacing_what_was_there,
		     "man mremap: MREMAP_FIXED: a previous mapping at new_address is unmapped"),
		CASE(mremap_bad_arguments_get_linux_errnos,
		     "man mremap: EINVAL, EFAULT"),
		CASE(mremap_dontunmap_leaves_the_old_range_mapped_and_empty,
		     "man mremap: MREMAP_DONTUNMAP: the original mapping is not unmapped"),
		CASE(mremap_old_size_zero_maps_shared_memory_twice,
		     "man mremap: old_size 0 with a shareable mapping creates a new mapping of the same pages"),
		CASE(mremap_of_a_shared_file_mapping_writes_back_at_the_new_address,
		     "man msync: flushes changes to the file; mremap keeps the pages"),
		CASE(mremap_growth_of_a_locked_mapping_is_resident,
		     "man mremap: a lock is maintained when the segment is resized"),
		CASE(mincore_reports_touched_anonymous_pages,
		     "man mincore: the least significant bit is set if the page is resident"),
		CASE(mincore_bad_arguments_get_linux_errnos,
		     "man mincore: EINVAL, EFAULT, ENOMEM"),
		CASE(mincore_fills_the_bytes_before_a_hole,
		     "Linux do_mincore: the vector is copied out VMA by VMA"),
		CASE(mincore_sees_a_shared_page_another_process_touched,
		     "Linux mincore_page: a shared object's page is resident if it is in memory"),
		CASE(madvise_dontneed_private_anonymous_memory_reads_zeros,
		     "man madvise: MADV_DONTNEED: private anonymous pages are zero-fill-on-demand"),
		CASE(madvise_dontneed_keeps_the_stores_of_a_shared_file_mapping,
		     "man madvise: MADV_DONTNEED: shared mappings repopulate from the file"),
		CASE(madvise_dontneed_private_file_mapping_shows_the_file_again,
		     "man madvise: MADV_DONTNEED: private file mappings repopulate from the file"),
		CASE(madvise_willneed_brings_the_file_pages_into_memory,
		     "man madvise: MADV_WILLNEED: it might be a good idea to read some pages ahead"),
		CASE(madvise_remove_punches_a_hole_under_a_shared_file_mapping,
		     "man madvise: MADV_REMOVE frees the pages and their backing store"),
		CASE(madvise_remove_refuses_private_or_read_only_mappings,
		     "Linux madvise_remove: EINVAL without a file, EACCES unless shared and may be written"),
		CASE(madvise_remove_empties_shared_anonymous_memory,
		     "man madvise: MADV_REMOVE on shmem: subsequent accesses see zeros"),
		CASE(madvise_free_is_for_private_anonymous_memory,
		     "man madvise: MADV_FREE ... only on private anonymous pages"),
		CASE(mlock_faults_the_pages_in,
		     "man mlock: the pages are guaranteed to be resident in RAM"),
		CASE(mlock_of_pages_that_cannot_be_faulted_in_is_enomem,
		     "Linux __mm_populate: a page GUP cannot fault in makes mlock ENOMEM"),
		CASE(mlock2_onfault_locks_pages_as_they_are_touched,
		     "man mlock2: MLOCK_ONFAULT: nonresident pages are locked when faulted in"),
		CASE(the_main_stack_grows_as_it_is_used,
		     "man getrlimit: RLIMIT_STACK: the maximum size of the process stack (8 MiB)"),
#undef CASE
	};

	self = argv[0];
	if (argc > 1)
		test_dir = argv[1];
	page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		report(cases[i].name, cases[i].source, cases[i].run());
	return summary();
}

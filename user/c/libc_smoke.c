/*
 * libc_smoke: does musl's libc work on this kernel? printf, malloc/free,
 * file I/O and mmap, each checked as one case.
 *
 * Usage: libc_smoke [DIR]    (default "/"; the test file is created there)
 *
 * Prints one "PASS name" or "FAIL name: expected X got Y" line per case and
 * ends with "N passed, N failed"; exit status 0 only if none failed.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pattern.h"

static char path[256];

static int printf_formats_numbers_and_strings(void)
{
	char buf[128];
	const char *want = "42 -7 0x2a 3.25 hello [  ab]";

	snprintf(buf, sizeof buf, "%d %ld %#x %.2f %s [%4s]", 42, -7L, 42u, 3.25, "hello", "ab");
	if (strcmp(buf, want) != 0)
		return fail("expected \"%s\" got \"%s\"", want, buf);
	return 0;
}

static int malloc_and_free_of_many_sizes(void)
{
	static const size_t sizes[] = { 1, 7, 16, 100, 1000, 4096, 5000, 65536, 300000, 1 << 20 };
	unsigned char *blocks[sizeof sizes / sizeof sizes[0]];
	size_t count = sizeof sizes / sizeof sizes[0];

	for (size_t i = 0; i < count; i++) {
		blocks[i] = malloc(sizes[i]);
		if (!blocks[i])
			return fail("malloc(%zu): expected memory got NULL", sizes[i]);
		pattern_fill(blocks[i], 0, sizes[i], (unsigned)i + 1);
	}
	for (size_t i = 0; i < count; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			if (blocks[i][j] != pattern_byte((unsigned)i + 1, j))
				return fail("block of %zu bytes at %zu: expected 0x%02x got 0x%02x",
					    sizes[i], j, pattern_byte((unsigned)i + 1, j),
					    blocks[i][j]);
		free(blocks[i]);
	}
	for (int round = 0; round < 1000; round++) {
		void *small = malloc((size_t)(round % 200) + 1);

		if (!small)
			return fail("malloc round %d: expected memory got NULL", round);
		free(small);
	}
	return 0;
}

static int realloc_keeps_the_contents(void)
{
	unsigned char *p = malloc(100);
	int result = 0;

	if (!p)
		return fail("malloc(100): expected memory got NULL");
	pattern_fill(p, 0, 100, 5);
	for (size_t size = 200; size <= 200000 && result == 0; size *= 10) {
		unsigned char *bigger = realloc(p, size);

		if (bigger)
			p = bigger;
		else
			result = fail("realloc(%zu): expected memory got NULL", size);
	}
	for (size_t i = 0; i < 100 && result == 0; i++)
		if (p[i] != pattern_byte(5, i))
			result = fail("byte %zu after realloc: expected 0x%02x got 0x%02x", i,
				      pattern_byte(5, i), p[i]);
	free(p);
	return result;
}

static int file_write_read_seek_stat_truncate_unlink(void)
{
	char text[] = "hello, file\n";
	char back[sizeof text];
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("open %s: expected a file got %s", path, errno_name(errno));
	if (write(fd, text, sizeof text) != (ssize_t)sizeof text)
		return fail("write: expected %zu bytes got %s", sizeof text, errno_name(errno));
	if (lseek(fd, 0, SEEK_SET) != 0)
		return fail("lseek(0): expected 0 got %s", errno_name(errno));
	if (read(fd, back, sizeof back) != (ssize_t)sizeof back || memcmp(back, text, sizeof text))
		return fail("read back: expected \"%s\" got something else", text);
	if (lseek(fd, 0, SEEK_END) != (off_t)sizeof text)
		return fail("lseek(SEEK_END): expected %zu", sizeof text);
	if (fstat(fd, &st) || st.st_size != (off_t)sizeof text || !S_ISREG(st.st_mode))
		return fail("fstat: expected a regular file of %zu bytes got %lld bytes",
			    sizeof text, (long long)st.st_size);
	if (ftruncate(fd, 5) || fstat(fd, &st) || st.st_size != 5)
		return fail("ftruncate(5): expected size 5 got %lld", (long long)st.st_size);
	if (ftruncate(fd, 8192) || pread(fd, back, 4, 4096) != 4 || memcmp(back, "\0\0\0\0", 4))
		return fail("ftruncate(8192): expected zeros past the old end");
	if (close(fd))
		return fail("close: expected 0 got %s", errno_name(errno));
	if (unlink(path))
		return fail("unlink: expected 0 got %s", errno_name(errno));
	if (open(path, O_RDONLY) != -1 || errno != ENOENT)
		return fail("open after unlink: expected ENOENT got %s", errno_name(errno));
	return 0;
}

static int stdio_fopen_fprintf_fgets(void)
{
	char line[64];
	FILE *f = fopen(path, "w+");

	if (!f)
		return fail("fopen: expected a stream got %s", errno_name(errno));
	fprintf(f, "line %d\n", 1);
	rewind(f);
	if (!fgets(line, sizeof line, f) || strcmp(line, "line 1\n") != 0) {
		fclose(f);
		return fail("fgets: expected \"line 1\" got something else");
	}
	fclose(f);
	return expect_result("unlink", unlink(path), 0);
}

static int anonymous_mmap_is_zeroed_and_writable(void)
{
	size_t len = 3 * 4096;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		return fail("mmap: expected a mapping got %s", errno_name(errno));
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return fail("byte %zu of fresh anonymous memory: expected 0 got 0x%02x", i,
				    p[i]);
	pattern_fill(p, 0, len, 9);
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(9, i))
			return fail("byte %zu: expected 0x%02x got 0x%02x", i, pattern_byte(9, i),
				    p[i]);
	return expect_result("munmap", munmap(p, len), 0);
}

static int file_mmap_shows_the_file(void)
{
	unsigned char data[5000];
	unsigned char *p;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("open %s: expected a file got %s", path, errno_name(errno));
	pattern_fill(data, 0, sizeof data, 11);
	if (write(fd, data, sizeof data) != (ssize_t)sizeof data)
		return fail("write: expected %zu bytes got %s", sizeof data, errno_name(errno));
	p = mmap(NULL, sizeof data, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap: expected a mapping got %s", errno_name(errno));
	if (memcmp(p, data, sizeof data) != 0)
		return fail("mapping: expected the file's bytes got others");
	for (size_t i = sizeof data; i < 8192; i++)
		if (p[i] != 0)
			return fail("byte %zu past EOF in the last page: expected 0 got 0x%02x", i,
				    p[i]);
	if (munmap(p, sizeof data))
		return fail("munmap: expected 0 got %s", errno_name(errno));
	return expect_result("unlink", unlink(path), 0);
}

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

/* __vdso_clock_gettime, looked up as a dynamic linker would: the ELF image
 * at AT_SYSINFO_EHDR, its PT_LOAD and PT_DYNAMIC, then DT_HASH (whose chain
 * count is the number of symbols), DT_SYMTAB and DT_STRTAB. */
static clock_gettime_fn vdso_clock_gettime(void)
{
	const unsigned char *image = (const void *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *header = (const void *)image;
	const Elf64_Dyn *dynamic = NULL;
	const Elf64_Sym *symbols = NULL;
	const Elf64_Word *hash = NULL;
	const char *strings = NULL;
	uintptr_t base = 0;
	int loaded = 0;

	if (!image || memcmp(image, ELFMAG, SELFMAG) != 0)
		return NULL;
	for (int i = 0; i < header->e_phnum; i++) {
		const Elf64_Phdr *segment =
			(const void *)(image + header->e_phoff + (size_t)i * header->e_phentsize);

		if (segment->p_type == PT_LOAD && !loaded) {
			base = (uintptr_t)image + segment->p_offset - segment->p_vaddr;
			loaded = 1;
		} else if (segment->p_type == PT_DYNAMIC) {
			dynamic = (const void *)(image + segment->p_offset);
		}
	}
	if (!loaded || !dynamic)
		return NULL;
	for (; dynamic->d_tag != DT_NULL; dynamic++) {
		const void *at = (const void *)(base + dynamic->d_un.d_ptr);

		if (dynamic->d_tag == DT_HASH)
			hash = at;
		else if (dynamic->d_tag == DT_SYMTAB)
			symbols = at;
		else if (dynamic->d_tag == DT_STRTAB)
			strings = at;
	}
	if (!hash || !symbols || !strings)
		return NULL;
	for (Elf64_Word i = 0; i < hash[1]; i++)
		if (symbols[i].st_shndx != SHN_UNDEF &&
		    strcmp(strings + symbols[i].st_name, "__vdso_clock_gettime") == 0)
			return (clock_gettime_fn)(base + symbols[i].st_value);
	return NULL;
}

static int earlier(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int clock_gettime_in_the_vdso_agrees_with_the_system_call(void)
{
	static const clockid_t clocks[] = { CLOCK_REALTIME,	    CLOCK_MONOTONIC,
					    CLOCK_MONOTONIC_RAW,    CLOCK_REALTIME_COARSE,
					    CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME };
	clock_gettime_fn vdso = vdso_clock_gettime();

	if (!vdso)
		return fail("expected a vDSO with __vdso_clock_gettime got none");
	for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec before, during, after;
		int result;

		if (syscall(SYS_clock_gettime, clocks[i], &before))
			return fail("clock %d: expected the system call to work got %s",
				    (int)clocks[i], errno_name(errno));
		result = vdso(clocks[i], &during);
		syscall(SYS_clock_gettime, clocks[i], &after);
		if (result != 0)
			return fail("clock %d: expected 0 got %d", (int)clocks[i], result);
		if (during.tv_nsec < 0 || during.tv_nsec >= 1000000000 || earlier(&during, &before) ||
		    earlier(&after, &during))
			return fail("clock %d: expected %lld.%09ld <= %lld.%09ld <= %lld.%09ld",
				    (int)clocks[i], (long long)before.tv_sec, before.tv_nsec,
				    (long long)during.tv_sec, during.tv_nsec,
				    (long long)after.tv_sec, after.tv_nsec);
	}
	return 0;
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof path, "%s/libc-smoke.dat", argc > 1 ? argv[1] : "/");
	report("printf_formats_numbers_and_strings", "musl stdio",
	       printf_formats_numbers_and_strings());
	report("malloc_and_free_of_many_sizes", "musl malloc (brk and mmap)",
	       malloc_and_free_of_many_sizes());
	report("realloc_keeps_the_contents", "musl malloc", realloc_keeps_the_contents());
	report("file_write_read_seek_stat_truncate_unlink", "open/write/read/lseek/fstat/ftruncate/unlink",
	       file_write_read_seek_stat_truncate_unlink());
	report("stdio_fopen_fprintf_fgets", "musl stdio on a file", stdio_fopen_fprintf_fgets());
	report("anonymous_mmap_is_zeroed_and_writable", "mmap(2) MAP_ANONYMOUS",
	       anonymous_mmap_is_zeroed_and_writable());
	report("file_mmap_shows_the_file", "mmap(2) MAP_SHARED of a file", file_mmap_shows_the_file());
	report("clock_gettime_in_the_vdso_agrees_with_the_system_call",
	       "vdso(7): __vdso_clock_gettime",
	       clock_gettime_in_the_vdso_agrees_with_the_system_call());
	return summary();
}

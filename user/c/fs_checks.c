/*
 * fs_checks: reads the files the runner put on the ext2 root and checks
 * every byte, then writes, extends, truncates, creates and unlinks, for the
 * runner to check on the host afterwards (debugfs, e2fsck).
 *
 * Usage: fs_checks [DIR]     (DIR defaults to "/")
 *
 * DIR/data holds what qemu-tests/src/cases/storage.rs made: files of the
 * sizes in `inputs` holding pattern.h's pattern of their seed, and a sparse
 * file with data only in `sparse_extents`. Keep the names, sizes, seeds and
 * offsets here in step with storage.rs, which also knows what each writing
 * case leaves behind. The run ends with "N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pattern.h"

static const char *dir = "/";

static const struct {
	const char *name;
	size_t size;
	unsigned seed;
} inputs[] = {
	{ "empty", 0, 11 },
	{ "one", 1, 12 },
	{ "4095", 4095, 13 },
	{ "4096", 4096, 14 },
	{ "12k1", 12 * 1024 + 1, 15 },
	{ "5m", 5 << 20, 16 },
};

#define SPARSE_SIZE (8UL << 20)
#define SPARSE_SEED 17
static const struct {
	size_t offset, len;
} sparse_extents[] = {
	{ 0, 4096 },
	{ (1 << 20) + 100, 4900 },
	{ (5 << 20) - 10, 20 },
	{ SPARSE_SIZE - 3, 3 },
};

static char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

/* What the byte at `offset` of the sparse file must be. */
static unsigned char sparse_byte(size_t offset)
{
	for (size_t i = 0; i < sizeof sparse_extents / sizeof sparse_extents[0]; i++)
		if (offset >= sparse_extents[i].offset &&
		    offset < sparse_extents[i].offset + sparse_extents[i].len)
			return pattern_byte(SPARSE_SEED, offset);
	return 0;
}

/* The expected byte of input file `file` (or the sparse file for -1). */
static unsigned char expected(int file, size_t offset)
{
	return file < 0 ? sparse_byte(offset) : pattern_byte(inputs[file].seed, offset);
}

static int compare(const char *how, int file, const unsigned char *bytes, size_t offset,
		   size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i] != expected(file, offset + i))
			return fail("%s at offset %zu: expected 0x%02x got 0x%02x", how, offset + i,
				    expected(file, offset + i), bytes[i]);
	return 0;
}

static int open_input(int file, int flags, size_t *size)
{
	const char *name = file < 0 ? "data/sparse" : NULL;
	char buf[64];
	struct stat st;
	int fd;

	if (!name) {
		snprintf(buf, sizeof buf, "data/%s", inputs[file].name);
		name = buf;
	}
	fd = open(path_of(name), flags);
	if (fd < 0)
		return fail("open %s: %s", name, errno_name(errno));
	if (fstat(fd, &st) != 0)
		return fail("fstat %s: %s", name, errno_name(errno));
	*size = (size_t)st.st_size;
	if (*size != (file < 0 ? SPARSE_SIZE : inputs[file].size)) {
		close(fd);
		return fail("%s: expected size %zu got %zu", name,
			    file < 0 ? SPARSE_SIZE : inputs[file].size, *size);
	}
	return fd;
}

/* read() front to back in odd-sized pieces, then 0 at the end. */
static int check_read(int file)
{
	static unsigned char buf[3001];
	size_t size, done = 0;
	int fd = open_input(file, O_RDONLY, &size);
	int result = 0;

	if (fd < 0)
		return -1;
	while (result == 0) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0)
			result = fail("read: %s", errno_name(errno));
		else if (n == 0)
			break;
		else
			result = compare("read", file, buf, done, (size_t)n);
		done += n > 0 ? (size_t)n : 0;
	}
	if (result == 0 && done != size)
		result = fail("read: expected %zu bytes got %zu", size, done);
	close(fd);
	return result;
}

/* pread() of pieces around page and block boundaries, and past the end. */
static int check_pread(int file)
{
	static unsigned char buf[5000];
	size_t size, offsets[] = { 0, 1, 1023, 1024, 4095, 4096, 12287, 12288, 1 << 20,
				   (1 << 20) + 4000, (5 << 20) - 2500, (8 << 20) - 100 };
	int fd = open_input(file, O_RDONLY, &size);
	int result = 0;

	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0] && result == 0; i++) {
		size_t want = offsets[i] >= size ? 0 : size - offsets[i];
		ssize_t n;

		if (want > sizeof buf)
			want = sizeof buf;
		n = pread(fd, buf, sizeof buf, (off_t)offsets[i]);
		if (n != (ssize_t)want)
			result = fail("pread at %zu: expected %zu got %zd", offsets[i], want, n);
		else
			result = compare("pread", file, buf, offsets[i], want);
	}
	close(fd);
	return result;
}

/* A MAP_SHARED read-only mapping of the whole file, every byte. */
static int check_mmap(int file)
{
	size_t size;
	int fd = open_input(file, O_RDONLY, &size);
	unsigned char *map;
	int result;

	if (fd < 0)
		return -1;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (size == 0) {
		/* Linux: a zero-length mapping is EINVAL. */
		result = map == MAP_FAILED && errno == EINVAL
				 ? 0
				 : fail("mmap of 0 bytes: expected EINVAL got %s", errno_name(errno));
	} else if (map == MAP_FAILED) {
		result = fail("mmap: %s", errno_name(errno));
	} else {
		result = compare("mmap", file, map, 0, size);
		munmap(map, size);
	}
	close(fd);
	return result;
}

/* Writes `len` bytes of `seed`'s pattern at `offset` of `fd` with pwrite. */
static int write_pattern(int fd, size_t offset, size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return fail("malloc");
	pattern_fill(buf, offset, len, seed);
	n = pwrite(fd, buf, len, (off_t)offset);
	free(buf);
	if (n != (ssize_t)len)
		return fail("pwrite of %zu at %zu: got %zd %s", len, offset, n, errno_name(errno));
	return 0;
}

/* Reads [offset, offset + len) back and checks it against `seed` (0: zeros). */
static int read_back(int fd, size_t offset, size_t len, unsigned seed, int zeros)
{
	unsigned char *buf = malloc(len);
	int result = 0;

	if (!buf)
		return fail("malloc");
	if (pread(fd, buf, len, (off_t)offset) != (ssize_t)len)
		result = fail("pread of %zu at %zu: %s", len, offset, errno_name(errno));
	for (size_t i = 0; i < len && result == 0; i++) {
		unsigned char want = zeros ? 0 : pattern_byte(seed, offset + i);

		if (buf[i] != want)
			result = fail("read back at %zu: expected 0x%02x got 0x%02x", offset + i,
				      want, buf[i]);
	}
	free(buf);
	return result;
}

static int open_path(const char *name, int flags)
{
	int fd = open(path_of(name), flags, 0644);

	if (fd < 0)
		fail("open %s: %s", name, errno_name(errno));
	return fd;
}

static int finish(int fd, int result)
{
	if (result == 0 && fsync(fd) != 0)
		result = fail("fsync: %s", errno_name(errno));
	close(fd);
	return result;
}

static int append(void)
{
	int fd = open_path("data/4095", O_WRONLY | O_APPEND);
	unsigned char buf[5000];

	if (fd < 0)
		return -1;
	pattern_fill(buf, 4095, sizeof buf, 13);
	if (write(fd, buf, sizeof buf) != sizeof buf)
		return finish(fd, fail("append: %s", errno_name(errno)));
	close(fd);
	fd = open_path("data/4095", O_RDWR);
	if (fd < 0)
		return -1;
	return finish(fd, read_back(fd, 0, 4095 + 5000, 13, 0));
}

static int overwrite_double_indirect(void)
{
	int fd = open_path("data/5m", O_RDWR);
	size_t start = (1 << 20) + 123;
	int result;

	if (fd < 0)
		return -1;
	result = write_pattern(fd, start, 70000, 60);
	if (result == 0)
		result = read_back(fd, start, 70000, 60, 0);
	if (result == 0)
		result = read_back(fd, start + 70000, 10000, 16, 0);
	return finish(fd, result);
}

static int write_into_hole(void)
{
	int fd = open_path("data/sparse", O_RDWR);
	size_t start = (3 << 20) - 17;
	int result;

	if (fd < 0)
		return -1;
	result = write_pattern(fd, start, 4130, 70);
	if (result == 0)
		result = read_back(fd, start, 4130, 70, 0);
	if (result == 0)
		result = read_back(fd, start + 4130, 8192, 0, 1);
	return finish(fd, result);
}

static int truncate_shrink(void)
{
	int fd = open_path("data/12k1", O_RDWR);
	struct stat st;
	int result = 0;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, 5000) != 0)
		result = fail("ftruncate: %s", errno_name(errno));
	else if (fstat(fd, &st) != 0 || st.st_size != 5000)
		result = fail("size after ftruncate: expected 5000 got %lld", (long long)st.st_size);
	else
		result = read_back(fd, 0, 5000, 15, 0);
	return finish(fd, result);
}

static int truncate_shrink_then_grow(void)
{
	int fd = open_path("out/grown", O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *map;
	int result;

	if (fd < 0)
		return -1;
	result = write_pattern(fd, 0, 3000, 51);
	if (result == 0 && (ftruncate(fd, 1000) != 0 || ftruncate(fd, 20000) != 0))
		result = fail("ftruncate: %s", errno_name(errno));
	if (result == 0)
		result = read_back(fd, 0, 1000, 51, 0);
	if (result == 0)
		result = read_back(fd, 1000, 19000, 0, 1);
	if (result == 0) {
		map = mmap(NULL, 20000, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return finish(fd, fail("mmap: %s", errno_name(errno)));
		for (size_t i = 1000; i < 20000 && result == 0; i++)
			if (map[i] != 0)
				result = fail("mapped grown tail at %zu: got 0x%02x", i, map[i]);
		munmap(map, 20000);
	}
	return finish(fd, result);
}

static int create_and_write(void)
{
	int fd = open_path("out/new", O_RDWR | O_CREAT | O_EXCL);
	int result;

	if (fd < 0)
		return -1;
	result = write_pattern(fd, 0, 10000, 50);
	if (result == 0)
		result = read_back(fd, 0, 10000, 50, 0);
	return finish(fd, result);
}

static int store_through_mapping(void)
{
	int fd = open_path("out/mapped", O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *map;
	int result = 0;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, 3 * 4096) != 0)
		return finish(fd, fail("ftruncate: %s", errno_name(errno)));
	map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return finish(fd, fail("mmap: %s", errno_name(errno)));
	pattern_fill(map, 0, 3 * 4096, 52);
	if (msync(map, 3 * 4096, MS_SYNC) != 0)
		result = fail("msync: %s", errno_name(errno));
	munmap(map, 3 * 4096);
	if (result == 0)
		result = read_back(fd, 0, 3 * 4096, 52, 0);
	return finish(fd, result);
}

static int mkdir_and_create_inside(void)
{
	int fd;

	if (mkdir(path_of("out/sub"), 0755) != 0)
		return fail("mkdir out/sub: %s", errno_name(errno));
	if (expect_result("mkdir out/sub again", mkdir(path_of("out/sub"), 0755), EEXIST))
		return -1;
	fd = open_path("out/sub/file", O_RDWR | O_CREAT | O_EXCL);
	if (fd < 0)
		return -1;
	return finish(fd, write_pattern(fd, 0, 100, 53));
}

static int unlink_files(void)
{
	const char *names[] = { "out/doomed", "out/sub/doomed" };

	for (int i = 0; i < 2; i++) {
		int fd = open_path(names[i], O_RDWR | O_CREAT | O_EXCL);

		if (fd < 0)
			return -1;
		if (finish(fd, write_pattern(fd, 0, 9000, 54)) != 0)
			return -1;
		if (unlink(path_of(names[i])) != 0)
			return fail("unlink %s: %s", names[i], errno_name(errno));
		if (expect_result("open after unlink", open(path_of(names[i]), O_RDONLY), ENOENT))
			return -1;
	}
	return 0;
}

/*
 * O_DIRECT: a pwrite of several MiB (more than one device request, ending
 * past the end of file) over pages a buffered write left dirty in the cache.
 * The cache's older bytes must not overwrite the direct ones, and a buffered
 * read afterwards sees the direct bytes. An unaligned offset is EINVAL.
 */
static int direct_write(void)
{
	const size_t start = 4096, len = (3 << 20) + 8192;
	int fd = open_path("out/direct", O_RDWR | O_CREAT | O_EXCL);
	int direct_fd, result;
	void *buf;
	ssize_t n;

	if (fd < 0)
		return -1;
	if (write_pattern(fd, 0, (2 << 20) + 100, 55) != 0)
		return finish(fd, -1);
	direct_fd = open_path("out/direct", O_RDWR | O_DIRECT);
	if (direct_fd < 0)
		return finish(fd, -1);
	if (posix_memalign(&buf, 4096, len) != 0) {
		close(direct_fd);
		return finish(fd, fail("posix_memalign"));
	}
	pattern_fill(buf, start, len, 56);
	n = pwrite(direct_fd, buf, len, (off_t)start);
	if (n != (ssize_t)len)
		result = fail("O_DIRECT pwrite of %zu: got %zd %s", len, n, errno_name(errno));
	else
		result = expect_result("O_DIRECT pwrite at offset 100",
				       pwrite(direct_fd, buf, 4096, 100), EINVAL);
	free(buf);
	close(direct_fd);
	if (result == 0)
		result = read_back(fd, 0, start, 55, 0);
	if (result == 0)
		result = read_back(fd, start, len, 56, 0);
	return finish(fd, result);
}

/*
 * O_DIRECT from a buffer whose second half is unmapped: Linux's ext4 fails
 * the whole write with EFAULT (no short count) and the file does not grow.
 */
static int direct_write_fault(void)
{
	const size_t len = 4 << 20;
	int fd = open_path("out/direct-fault", O_RDWR | O_CREAT | O_EXCL | O_DIRECT);
	unsigned char *buf;
	struct stat st;
	int result;

	if (fd < 0)
		return -1;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return finish(fd, fail("mmap: %s", errno_name(errno)));
	pattern_fill(buf, 0, len / 2, 57);
	munmap(buf + len / 2, len / 2);
	result = expect_result("O_DIRECT pwrite from a half-unmapped buffer",
			       pwrite(fd, buf, len, 0), EFAULT);
	munmap(buf, len / 2);
	if (result == 0 && fstat(fd, &st) != 0)
		result = fail("fstat: %s", errno_name(errno));
	if (result == 0 && st.st_size != 0)
		result = fail("size after the failed write: %lld, expected 0", (long long)st.st_size);
	return finish(fd, result);
}

int main(int argc, char **argv)
{
	char name[64];

	if (argc > 1)
		dir = argv[1];
	printf("fs checks: files in %s\n", dir);
	for (int file = -1; file < (int)(sizeof inputs / sizeof inputs[0]); file++) {
		const char *label = file < 0 ? "sparse" : inputs[file].name;

		snprintf(name, sizeof name, "read_%s", label);
		report(name, "read(2) returns the file's bytes, holes as zeros", check_read(file));
		snprintf(name, sizeof name, "pread_%s", label);
		report(name, "pread(2) at block and page boundaries", check_pread(file));
		snprintf(name, sizeof name, "mmap_%s", label);
		report(name, "mmap(2) MAP_SHARED shows the file's bytes", check_mmap(file));
	}
	if (mkdir(path_of("out"), 0755) != 0)
		fprintf(stderr, "mkdir out: %s\n", strerror(errno));
	report("append", "O_APPEND write extends a file across a page", append());
	report("overwrite_double_indirect", "pwrite into double-indirect blocks at 1 KiB",
	       overwrite_double_indirect());
	report("write_into_hole", "pwrite into a hole allocates; the rest stays zero",
	       write_into_hole());
	report("truncate_shrink", "ftruncate(2) to a smaller size", truncate_shrink());
	report("truncate_shrink_then_grow", "ftruncate(2): a grown tail reads zeros",
	       truncate_shrink_then_grow());
	report("create_and_write", "open O_CREAT|O_EXCL, write", create_and_write());
	report("store_through_mapping", "stores through MAP_SHARED, msync MS_SYNC",
	       store_through_mapping());
	report("mkdir_and_create_inside", "mkdir(2), EEXIST twice, a file inside",
	       mkdir_and_create_inside());
	report("unlink_files", "unlink(2): the name is gone", unlink_files());
	report("direct_write", "O_DIRECT pwrite of 3 MiB over dirty cached pages",
	       direct_write());
	report("direct_write_fault", "O_DIRECT pwrite that faults: EFAULT, the file does not grow",
	       direct_write_fault());
	sync();
	return summary();
}

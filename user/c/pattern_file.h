/*
 * pattern_file.h: files holding the pattern of pattern.h, and checks that
 * memory holds it. Needs check.h first (for `fail` and `errno_name`).
 */
#ifndef PATTERN_FILE_H
#define PATTERN_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "pattern.h"

/*
 * Creates (or truncates) `path` holding `size` bytes of the `seed` pattern,
 * written with write(). Returns it open read-write, or -1 with the reason
 * recorded.
 */
static inline int pattern_file(const char *path, size_t size, unsigned seed)
{
	unsigned char chunk[4096];
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("setup: open %s: %s", path, errno_name(errno));
	for (size_t done = 0; done < size; done += sizeof chunk) {
		size_t n = size - done < sizeof chunk ? size - done : sizeof chunk;

		pattern_fill(chunk, done, n, seed);
		if (write(fd, chunk, n) != (ssize_t)n) {
			close(fd);
			return fail("setup: write %s: %s", path, errno_name(errno));
		}
	}
	return fd;
}

/* Checks that `len` bytes at `bytes` hold file range [offset, offset + len) of the `seed` pattern. */
static inline int expect_pattern(const char *where, const unsigned char *bytes, size_t offset,
			  size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char want = pattern_byte(seed, offset + i);

		if (bytes[i] != want)
			return fail("%s at file offset %zu: expected 0x%02x (seed %u) got 0x%02x",
				    where, offset + i, want, seed, bytes[i]);
	}
	return 0;
}

#endif

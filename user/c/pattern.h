/*
 * pattern.h: the reproducible byte pattern the user programs store into files.
 *
 * The byte at file offset i for a given seed is
 *
 *     (seed * 131 + i * 7) mod 251
 *
 * 251 is prime, so the pattern does not repeat with the page size, and two
 * different seeds (below 251) differ at every offset: a page that holds the
 * wrong seed's data, or zeros, is always noticed. The host-side durability
 * check computes the same formula to compare what debugfs extracts.
 */
#ifndef PATTERN_H
#define PATTERN_H

#include <stddef.h>

/* The pattern byte at file offset `offset` for `seed`. */
static inline unsigned char pattern_byte(unsigned seed, size_t offset)
{
	return (unsigned char)((seed * 131UL + offset * 7UL) % 251UL);
}

/* Fills `len` bytes at `dst` with the pattern of the file range starting at `offset`. */
static inline void pattern_fill(unsigned char *dst, size_t offset, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = pattern_byte(seed, offset + i);
}

#endif

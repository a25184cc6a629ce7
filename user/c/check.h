/*
 * check.h: PASS/FAIL reporting shared by the C test programs.
 *
 * A case is a function that returns 0 when it passes, or `fail(...)` (which
 * returns -1) with the reason in the form "expected X got Y". `report` prints
 * one line per case:
 *
 *     PASS name -- source
 *     FAIL name: expected X got Y -- source
 *
 * and `summary` ends the run with "N passed, N failed".
 */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static int check_passed;
static int check_failed;
static char check_why[512];

/* Records why the current case failed. Returns -1, so a case can `return fail(...)`. */
static inline int fail(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(check_why, sizeof check_why, format, args);
	va_end(args);
	return -1;
}

/* Prints the PASS or FAIL line of a case and counts it; `result` is the case's return value. */
static inline void report(const char *name, const char *source, int result)
{
	if (result == 0) {
		check_passed++;
		printf("PASS %s -- %s\n", name, source);
	} else {
		check_failed++;
		printf("FAIL %s: %s -- %s\n", name, check_why, source);
	}
	fflush(stdout);
}

/* Prints "N passed, N failed" and returns the exit status: 0 only if no case failed. */
static inline int summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	fflush(stdout);
	return check_failed == 0 ? 0 : 1;
}

/* The symbolic name of an errno value, such as "EINVAL". */
static inline const char *errno_name(int error)
{
	switch (error) {
	case 0: return "no error";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case E2BIG: return "E2BIG";
	case ENOEXEC: return "ENOEXEC";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case EPIPE: return "EPIPE";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ELOOP: return "ELOOP";
	case ENOSYS: return "ENOSYS";
	case ENXIO: return "ENXIO";
	case EXDEV: return "EXDEV";
	case EMFILE: return "EMFILE";
	case EFBIG: return "EFBIG";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EMLINK: return "EMLINK";
	case ERANGE: return "ERANGE";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTTY: return "ENOTTY";
	case ETXTBSY: return "ETXTBSY";
	case ENFILE: return "ENFILE";
	case EOVERFLOW: return "EOVERFLOW";
	default: return "another errno";
	}
}

/*
 * Checks the result of a call that returns 0 or -1 with errno: `expected` is 0
 * for success or the errno the call must fail with. `what` names the call in
 * the failure message.
 */
static inline int expect_result(const char *what, int ret, int expected)
{
	int error = errno;

	if (expected == 0 && ret == 0)
		return 0;
	if (expected != 0 && ret == -1 && error == expected)
		return 0;
	if (ret == 0)
		return fail("%s: expected %s got 0", what, errno_name(expected));
	if (ret == -1)
		return fail("%s: expected %s got -1 %s (%d)", what,
			    expected ? errno_name(expected) : "0", errno_name(error), error);
	return fail("%s: expected %s got %d", what, expected ? errno_name(expected) : "0", ret);
}

#endif

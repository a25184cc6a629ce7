/*
 * child.h: running a piece of a test in a child process, and checking how
 * the child ended. Needs check.h first (for `fail` and `errno_name`).
 */
#ifndef CHILD_H
#define CHILD_H

#include <errno.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Forks; the child runs `body` and exits with its return value. Returns the
 * child's wait status, or -1 (with the reason recorded) if fork or wait
 * failed.
 */
static inline int run_child(int (*body)(void *), void *argument)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return fail("fork: %s", errno_name(errno));
	if (child == 0)
		_exit(body(argument));
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return status;
}

/* Checks that a wait status says "exited with `code`". */
static inline int expect_exit(int status, int code)
{
	if (status == -1)
		return -1;
	if (!WIFEXITED(status))
		return fail("expected exit %d got status %#x", code, status);
	if (WEXITSTATUS(status) != code)
		return fail("expected exit %d got exit %d", code, WEXITSTATUS(status));
	return 0;
}

/* Checks that a wait status says "killed by `signal`". */
static inline int expect_killed(int status, int signal)
{
	if (status == -1)
		return -1;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != signal)
		return fail("expected death by signal %d got status %#x", signal, status);
	return 0;
}

#endif

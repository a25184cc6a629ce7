/*
 * processes: fork, exec, exit and wait, signals, pipes and descriptors,
 * process groups — each rule of Linux 6.1 checked as one case.
 *
 * Usage: processes [DIR]    (default "/"; scratch files are created there)
 *
 * The program also runs itself (through argv[0]) in helper roles for the
 * exec cases: "processes --role NAME ...". Prints one "PASS name -- source"
 * or "FAIL name: ... -- source" line per case and ends with
 * "N passed, N failed"; exit status 0 only if none failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child.h"

extern char **environ;

static const char *test_dir = "/";
static const char *self;
static size_t page;

/* Sleeps `ms` milliseconds (restarting after handlers). */
static void sleep_ms(long ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
}

/* ---- fork and copy-on-write ---- */

static int child_reports_its_ids(void *parent)
{
	return getppid() == *(pid_t *)parent ? 0 : 1;
}

static int fork_returns_zero_in_the_child_and_its_pid_in_the_parent(void)
{
	pid_t parent = getpid();
	int status = run_child(child_reports_its_ids, &parent);

	return expect_exit(status, 0);
}

static int store_and_report(void *memory)
{
	volatile unsigned char *bytes = memory;
	int saw = bytes[0];

	bytes[0] = 0x22;
	return saw;
}

static int fork_private_memory_is_copy_on_write(void)
{
	unsigned char *map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	static unsigned char in_data[64];
	int status;

	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	map[0] = 0x11;
	in_data[0] = 0x11;
	status = run_child(store_and_report, map);
	if (expect_exit(status, 0x11) != 0 || map[0] != 0x11)
		return fail("after the child's store the parent sees 0x%02x (status %#x)", map[0],
			    status);
	status = run_child(store_and_report, in_data);
	if (expect_exit(status, 0x11) != 0 || in_data[0] != 0x11)
		return fail("the image's data: parent sees 0x%02x", in_data[0]);
	map[0] = 0x33;
	munmap(map, page);
	return 0;
}

static int fork_shared_anonymous_memory_stays_shared(void)
{
	unsigned char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;

	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	map[0] = 0x11;
	/* page 1 is touched by nobody before the fork */
	status = run_child(store_and_report, map);
	if (expect_exit(status, 0x11) != 0)
		return -1;
	if (map[0] != 0x22)
		return fail("the child's store is not seen: 0x%02x", map[0]);
	status = run_child(store_and_report, map + page);
	if (expect_exit(status, 0) != 0 || map[page] != 0x22)
		return fail("an untouched page: parent sees 0x%02x", map[page]);
	munmap(map, 2 * page);
	return 0;
}

static int touch_and_report(void *memory)
{
	return *(volatile unsigned char *)memory;
}

static int madvise_dontfork_leaves_the_range_out_of_the_child(void)
{
	unsigned char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;

	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	map[page] = 7;
	if (madvise(map + page, page, MADV_DONTFORK) != 0)
		return fail("madvise: %s", errno_name(errno));
	status = run_child(touch_and_report, map + page);
	munmap(map, 2 * page);
	return expect_killed(status, SIGSEGV);
}

static int madvise_wipeonfork_gives_the_child_zeros(void)
{
	unsigned char *map = mmap(NULL, page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;

	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	map[0] = 9;
	if (madvise(map, page, MADV_WIPEONFORK) != 0)
		return fail("madvise: %s", errno_name(errno));
	status = run_child(touch_and_report, map);
	if (expect_exit(status, 0) != 0)
		return -1;
	if (map[0] != 9)
		return fail("the parent lost its byte");
	munmap(map, page);
	return 0;
}

static int unmap_and_exit(void *memory)
{
	if (mprotect(memory, page, PROT_NONE) != 0)
		return 1;
	return munmap(memory, page) == 0 ? 0 : 2;
}

static int mprotect_and_munmap_in_the_child_leave_the_parent_mapped(void)
{
	unsigned char *map = mmap(NULL, page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;

	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	map[0] = 5;
	status = run_child(unmap_and_exit, map);
	if (expect_exit(status, 0) != 0)
		return -1;
	if (map[0] != 5)
		return fail("the parent's page changed");
	munmap(map, page);
	return 0;
}

struct shared_offset {
	int fd;
};

static int write_one_byte(void *argument)
{
	return write(((struct shared_offset *)argument)->fd, "c", 1) == 1 ? 0 : 1;
}

static int fork_shares_the_open_file_description(void)
{
	char path[256];
	struct shared_offset shared;
	int status;
	off_t offset;

	snprintf(path, sizeof path, "%s/proc-offset", test_dir);
	shared.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (shared.fd < 0)
		return fail("open: %s", errno_name(errno));
	if (write(shared.fd, "ab", 2) != 2)
		return fail("write: %s", errno_name(errno));
	status = run_child(write_one_byte, &shared);
	offset = lseek(shared.fd, 0, SEEK_CUR);
	close(shared.fd);
	unlink(path);
	if (expect_exit(status, 0) != 0)
		return -1;
	if (offset != 3)
		return fail("expected the shared offset 3 got %ld", (long)offset);
	return 0;
}

static int vfork_parent_runs_again_when_the_child_exits(void)
{
	static volatile int written_by_child;
	int status;
	pid_t child;

	written_by_child = 0;
	child = vfork();
	if (child < 0)
		return fail("vfork: %s", errno_name(errno));
	if (child == 0) {
		written_by_child = 42;
		_exit(3);
	}
	/* The child ran in our memory and has ended before we run. */
	if (written_by_child != 42)
		return fail("vfork: the child's store is not seen (%d)", written_by_child);
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return expect_exit(status, 3);
}

static int posix_spawn_runs_a_program_and_reports_its_exit(void)
{
	char *argv[] = { (char *)self, "--role", "exit-with", "7", NULL };
	int status;
	pid_t child;
	int error = posix_spawn(&child, self, NULL, NULL, argv, environ);

	if (error != 0)
		return fail("posix_spawn: %s", errno_name(error));
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return expect_exit(status, 7);
}

/* ---- exec ---- */

/* Runs self with `role` and the arguments, feeding nothing, and collects its
 * stdout into `out`. Returns its wait status or -1. */
static int run_role(char *const argv[], char *const envp[], char *out, size_t out_size)
{
	int pipe_fds[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t child;

	if (pipe(pipe_fds) != 0)
		return fail("pipe: %s", errno_name(errno));
	child = fork();
	if (child < 0)
		return fail("fork: %s", errno_name(errno));
	if (child == 0) {
		dup2(pipe_fds[1], 1);
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(pipe_fds[1]);
	while (got + 1 < out_size && (n = read(pipe_fds[0], out + got, out_size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(pipe_fds[0]);
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return status;
}

static int execve_passes_argv_and_envp_to_the_new_image(void)
{
	char *argv[] = { (char *)self, "--role", "print-args", "one", "two words", NULL };
	char *envp[] = { "ALPHA=1", "BETA=two", NULL };
	char out[512];
	const char *want = "argv: --role print-args one [two words]\nenv: ALPHA=1 BETA=two\n";
	int status = run_role(argv, envp, out, sizeof out);

	if (expect_exit(status, 0) != 0)
		return -1;
	if (strcmp(out, want) != 0)
		return fail("the new image printed \"%s\"", out);
	return 0;
}

static int execve_keeps_descriptors_except_close_on_exec_ones(void)
{
	char kept[16], closed[16];
	char *argv[] = { (char *)self, "--role", "check-fds", kept, closed, NULL };
	char out[128];
	int plain = open(test_dir, O_RDONLY | O_DIRECTORY);
	int cloexec = open(test_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int status;

	if (plain < 0 || cloexec < 0)
		return fail("open: %s", errno_name(errno));
	snprintf(kept, sizeof kept, "%d", plain);
	snprintf(closed, sizeof closed, "%d", cloexec);
	status = run_role(argv, environ, out, sizeof out);
	close(plain);
	close(cloexec);
	if (expect_exit(status, 0) != 0)
		return fail("%s", out);
	return 0;
}

static void record_signal(int signal)
{
	(void)signal;
}

static int execve_resets_caught_signals_and_keeps_ignored_ones(void)
{
	char *argv[] = { (char *)self, "--role", "check-dispositions", NULL };
	char out[128];
	struct sigaction caught = { .sa_handler = record_signal }, ignored = { .sa_handler = SIG_IGN };
	struct sigaction old_usr1, old_usr2;
	int status;

	sigaction(SIGUSR1, &caught, &old_usr1);
	sigaction(SIGUSR2, &ignored, &old_usr2);
	status = run_role(argv, environ, out, sizeof out);
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGUSR2, &old_usr2, NULL);
	if (expect_exit(status, 0) != 0)
		return fail("%s", out);
	return 0;
}

static int execve_of_a_script_runs_its_interpreter(void)
{
	char path[256], line[512], out[512], want[512];
	char *argv[] = { path, "extra", NULL };
	int fd, status;

	snprintf(path, sizeof path, "%s/proc-script", test_dir);
	snprintf(line, sizeof line, "#!%s --role\nthe rest is not read\n", self);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		return fail("writing the script: %s", errno_name(errno));
	close(fd);
	/* The interpreter gets: itself, "--role", the script's path, "extra". */
	status = run_role(argv, environ, out, sizeof out);
	unlink(path);
	if (expect_exit(status, 0) != 0)
		return fail("status %#x, output \"%s\"", status, out);
	snprintf(want, sizeof want, "script: %s extra\n", path);
	if (strcmp(out, want) != 0)
		return fail("expected \"%s\" got \"%s\"", want, out);
	return 0;
}

static int run_execveat(int dirfd, const char *path, int flags)
{
	char *argv[] = { (char *)self, "--role", "exit-with", "9", NULL };
	int status;
	pid_t child = fork();

	if (child < 0)
		return fail("fork: %s", errno_name(errno));
	if (child == 0) {
		syscall(SYS_execveat, dirfd, path, argv, environ, flags);
		_exit(errno == 0 ? 100 : 100 + errno);
	}
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return status;
}

static int execveat_runs_a_path_relative_to_a_directory_or_an_open_file(void)
{
	char directory[256];
	const char *slash = strrchr(self, '/');
	int dirfd, fd;

	if (!slash || slash == self)
		return fail("setup: argv[0] %s has no directory", self);
	snprintf(directory, sizeof directory, "%.*s", (int)(slash - self), self);
	dirfd = open(directory, O_RDONLY | O_DIRECTORY);
	fd = open(self, O_RDONLY);
	if (dirfd < 0 || fd < 0)
		return fail("setup: open: %s", errno_name(errno));
	if (expect_exit(run_execveat(dirfd, slash + 1, 0), 9) ||
	    expect_exit(run_execveat(fd, "", AT_EMPTY_PATH), 9) ||
	    expect_exit(run_execveat(fd, slash + 1, 0), 100 + ENOTDIR) ||
	    expect_exit(run_execveat(fd, "", 0), 100 + ENOENT))
		return -1;
	close(dirfd);
	close(fd);
	return 0;
}

/* execve's failures return to the caller, which keeps running. */
static int execve_errors_are_linux_errnos(void)
{
	char missing[256], no_exec[256], garbage[256], through[300];
	char *argv[] = { "x", NULL };
	char *huge[] = { "x", NULL, NULL };
	size_t huge_len = 200 * 1024;
	int fd;

	snprintf(missing, sizeof missing, "%s/proc-missing", test_dir);
	snprintf(no_exec, sizeof no_exec, "%s/proc-no-exec", test_dir);
	snprintf(garbage, sizeof garbage, "%s/proc-garbage", test_dir);
	snprintf(through, sizeof through, "%s/x", no_exec);
	fd = open(no_exec, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	fd = open(garbage, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (write(fd, "garbage, not a program\n", 23) != 23)
		return fail("write: %s", errno_name(errno));
	close(fd);
	if (expect_result("execve of a missing file", execve(missing, argv, environ), ENOENT) ||
	    expect_result("execve without execute permission", execve(no_exec, argv, environ),
			  EACCES) ||
	    expect_result("execve of a directory", execve(test_dir, argv, environ), EACCES) ||
	    expect_result("execve of garbage", execve(garbage, argv, environ), ENOEXEC) ||
	    expect_result("execve through a file", execve(through, argv, environ), ENOTDIR) ||
	    expect_result("execve of a bad path", (int)syscall(SYS_execve, 16, argv, environ),
			  EFAULT))
		return -1;
	huge[1] = malloc(huge_len + 1);
	memset(huge[1], 'a', huge_len);
	huge[1][huge_len] = 0;
	if (expect_result("execve of a 200 KiB argument", execve(self, huge, environ), E2BIG))
		return -1;
	free(huge[1]);
	unlink(no_exec);
	unlink(garbage);
	return 0;
}

/* ---- exit and wait ---- */

static int exit_with_three(void *unused)
{
	(void)unused;
	return 3;
}

static int die_of_sigterm(void *unused)
{
	(void)unused;
	raise(SIGTERM);
	return 99;
}

static int wait_status_tells_exit_code_and_killing_signal(void)
{
	if (expect_exit(run_child(exit_with_three, NULL), 3) != 0)
		return -1;
	return expect_killed(run_child(die_of_sigterm, NULL), SIGTERM);
}

static int wait_with_wnohang_returns_zero_while_the_child_runs(void)
{
	int status;
	pid_t child = fork();

	if (child == 0) {
		sleep_ms(100);
		_exit(0);
	}
	if (waitpid(child, &status, WNOHANG) != 0)
		return fail("expected 0 while the child runs");
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return expect_exit(status, 0);
}

static int wait_without_children_is_echild(void)
{
	int status;

	if (expect_result("waitpid of a process that is no child",
			  waitpid(getpid() + 1000, &status, 0) == -1 ? -1 : 0, ECHILD))
		return -1;
	return expect_result("waitpid with an unknown option",
			     waitpid(-1, &status, 0x100) == -1 ? -1 : 0, EINVAL);
}

static int waitid_reports_with_siginfo_and_wnowait_leaves_the_child(void)
{
	siginfo_t info;
	int status;
	pid_t child = fork();

	if (child == 0)
		_exit(5);
	memset(&info, 0, sizeof info);
	if (waitid(P_PID, child, &info, WEXITED | WNOWAIT) != 0)
		return fail("waitid: %s", errno_name(errno));
	if (info.si_signo != SIGCHLD || info.si_code != CLD_EXITED || info.si_pid != child ||
	    info.si_status != 5)
		return fail("siginfo: signo %d code %d pid %d status %d", info.si_signo,
			    info.si_code, info.si_pid, info.si_status);
	if (waitpid(child, &status, 0) != child)
		return fail("after WNOWAIT the child is gone: %s", errno_name(errno));
	return expect_result("waitid without an event", waitid(P_ALL, 0, &info, WNOHANG), EINVAL);
}

static int orphaned_grandchild_is_adopted(void)
{
	int pipe_fds[2], status;
	pid_t reported[2] = { 0, 0 };
	pid_t child;

	if (pipe(pipe_fds) != 0)
		return fail("pipe: %s", errno_name(errno));
	child = fork();
	if (child == 0) {
		pid_t me = getpid();
		pid_t grandchild = fork();

		if (grandchild == 0) {
			pid_t parents[2];

			parents[0] = me;
			/* wait for the parent to end */
			while (getppid() == me)
				sleep_ms(10);
			parents[1] = getppid();
			if (write(pipe_fds[1], parents, sizeof parents) != sizeof parents)
				_exit(1);
			_exit(0);
		}
		_exit(0);
	}
	close(pipe_fds[1]);
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	if (read(pipe_fds[0], reported, sizeof reported) != sizeof reported)
		return fail("the grandchild reported nothing");
	close(pipe_fds[0]);
	if (reported[1] == child || reported[1] == 0)
		return fail("after its parent ended, the grandchild's parent is %d", reported[1]);
	return 0;
}

static int ignoring_sigchld_reaps_children_automatically(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	int status, error;
	pid_t child, waited;

	sigaction(SIGCHLD, &ignore, &old);
	child = fork();
	if (child == 0)
		_exit(0);
	waited = waitpid(child, &status, 0);
	error = errno;
	sigaction(SIGCHLD, &old, NULL);
	if (waited != -1 || error != ECHILD)
		return fail("expected ECHILD got %d %s", waited, errno_name(error));
	return 0;
}

/* ---- signals ---- */

static volatile sig_atomic_t handled_signal;
static volatile int handled_code, handled_pid;
static volatile void *handled_address;
static volatile uint64_t blocked_in_handler;

static void record_info(int signal, siginfo_t *info, void *context)
{
	sigset_t now;

	(void)context;
	handled_signal = signal;
	handled_code = info->si_code;
	handled_pid = info->si_pid;
	handled_address = info->si_addr;
	sigprocmask(SIG_BLOCK, NULL, &now);
	blocked_in_handler = 0;
	for (int s = 1; s < 64; s++)
		if (sigismember(&now, s))
			blocked_in_handler |= 1ULL << (s - 1);
}

static int install(int signal, int flags, struct sigaction *old)
{
	struct sigaction action = { .sa_sigaction = record_info, .sa_flags = SA_SIGINFO | flags };

	sigemptyset(&action.sa_mask);
	handled_signal = 0;
	return sigaction(signal, &action, old);
}

static int kill_runs_the_handler_with_sender_info(void)
{
	struct sigaction old;

	install(SIGUSR1, 0, &old);
	if (kill(getpid(), SIGUSR1) != 0)
		return fail("kill: %s", errno_name(errno));
	sigaction(SIGUSR1, &old, NULL);
	if (handled_signal != SIGUSR1)
		return fail("the handler did not run before kill returned");
	if (handled_code != SI_USER || handled_pid != getpid())
		return fail("si_code %d si_pid %d", handled_code, handled_pid);
	if (!(blocked_in_handler & (1ULL << (SIGUSR1 - 1))))
		return fail("the signal was not blocked in its handler");
	return 0;
}

static int blocked_signal_waits_until_unblocked(void)
{
	struct sigaction old;
	sigset_t block, pending;

	install(SIGUSR2, 0, &old);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	kill(getpid(), SIGUSR2);
	if (handled_signal != 0)
		return fail("a blocked signal was delivered");
	sigpending(&pending);
	if (!sigismember(&pending, SIGUSR2))
		return fail("sigpending does not show it");
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	sigaction(SIGUSR2, &old, NULL);
	if (handled_signal != SIGUSR2)
		return fail("unblocking did not deliver it");
	return 0;
}

static int sa_resethand_and_sa_nodefer(void)
{
	struct sigaction old, now;

	install(SIGUSR1, SA_RESETHAND | SA_NODEFER, &old);
	raise(SIGUSR1);
	sigaction(SIGUSR1, NULL, &now);
	sigaction(SIGUSR1, &old, NULL);
	if (handled_signal != SIGUSR1)
		return fail("the handler did not run");
	if (now.sa_handler != SIG_DFL)
		return fail("SA_RESETHAND left the handler in place");
	if (blocked_in_handler & (1ULL << (SIGUSR1 - 1)))
		return fail("SA_NODEFER: the signal was blocked in its handler");
	return 0;
}

static int sa_mask_is_blocked_while_the_handler_runs(void)
{
	struct sigaction action = { .sa_sigaction = record_info, .sa_flags = SA_SIGINFO }, old;

	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &action, &old);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	if (!(blocked_in_handler & (1ULL << (SIGUSR2 - 1))))
		return fail("sa_mask was not blocked in the handler");
	return 0;
}

static int sigkill_and_sigstop_cannot_be_caught(void)
{
	struct sigaction action = { .sa_handler = record_signal };

	if (expect_result("sigaction(SIGKILL)", sigaction(SIGKILL, &action, NULL), EINVAL) ||
	    expect_result("sigaction(SIGSTOP)", sigaction(SIGSTOP, &action, NULL), EINVAL) ||
	    expect_result("kill with signal 65", kill(getpid(), 65), EINVAL) ||
	    expect_result("kill of a missing process", kill(999999, 0), ESRCH))
		return -1;
	return 0;
}

static unsigned char *fixable;

static void make_writable(int signal, siginfo_t *info, void *context)
{
	record_info(signal, info, context);
	mprotect(fixable, page, PROT_READ | PROT_WRITE);
}

static int sigsegv_handler_that_mprotects_lets_the_store_retry(void)
{
	struct sigaction action = { .sa_sigaction = make_writable, .sa_flags = SA_SIGINFO }, old;

	fixable = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fixable == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	sigemptyset(&action.sa_mask);
	handled_signal = 0;
	sigaction(SIGSEGV, &action, &old);
	fixable[100] = 0x5a;
	sigaction(SIGSEGV, &old, NULL);
	if (handled_signal != SIGSEGV || handled_code != SEGV_ACCERR ||
	    handled_address != fixable + 100)
		return fail("signal %d code %d address %p (expected %p)", handled_signal,
			    handled_code, (void *)handled_address, (void *)(fixable + 100));
	if (fixable[100] != 0x5a)
		return fail("the store did not happen after the handler");
	munmap(fixable, page);
	return 0;
}

static sigjmp_buf escape;

static void jump_out(int signal, siginfo_t *info, void *context)
{
	record_info(signal, info, context);
	siglongjmp(escape, 1);
}

/*
 * Loads from `address` with a handler that jumps out, and checks the signal,
 * its si_code and its si_addr (`reported`).
 */
static int load_expecting(volatile unsigned char *address, int signal, int code,
			  volatile unsigned char *reported)
{
	struct sigaction action = { .sa_sigaction = jump_out, .sa_flags = SA_SIGINFO }, old;

	sigemptyset(&action.sa_mask);
	handled_signal = 0;
	sigaction(signal, &action, &old);
	if (sigsetjmp(escape, 1) == 0)
		(void)*address;
	sigaction(signal, &old, NULL);
	if (handled_signal != signal || handled_code != code || handled_address != reported)
		return fail("expected signal %d code %d at %p got %d code %d at %p", signal, code,
			    (void *)reported, handled_signal, handled_code,
			    (void *)handled_address);
	return 0;
}

/* Touches `address` expecting `signal` with `code` reported at that address. */
static int touch_expecting(volatile unsigned char *address, int signal, int code)
{
	return load_expecting(address, signal, code, address);
}

static int user_load_from_a_kernel_address_is_sigsegv(void)
{
	volatile unsigned char *kernel = (volatile unsigned char *)0xffff888000000000UL;
	volatile unsigned char *non_canonical = (volatile unsigned char *)0x8000000000000000UL;
	int result = load_expecting(kernel, SIGSEGV, SEGV_MAPERR, kernel);

	if (result == 0)
		result = load_expecting(non_canonical, SIGSEGV, SI_KERNEL, NULL);
	return result;
}

static int sigsegv_in_no_mapping_is_segv_maperr(void)
{
	unsigned char *map = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(map, page);
	return touch_expecting(map + 8, SIGSEGV, SEGV_MAPERR);
}

static int access_past_the_end_of_a_mapped_file_is_sigbus_adrerr(void)
{
	char path[256];
	unsigned char *map;
	int fd, result;

	snprintf(path, sizeof path, "%s/proc-sigbus", test_dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, page) != 0)
		return fail("setup: %s", errno_name(errno));
	map = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	if (map == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	result = touch_expecting(map + page + 16, SIGBUS, BUS_ADRERR);
	munmap(map, 2 * page);
	return result;
}

static volatile uintptr_t handler_stack_address;

static void note_stack(int signal)
{
	volatile int local;
	stack_t now;

	(void)signal;
	handler_stack_address = (uintptr_t)&local;
	sigaltstack(NULL, &now);
	handled_code = now.ss_flags;
}

static int sigaltstack_runs_sa_onstack_handlers_on_the_alternate_stack(void)
{
	static unsigned char alternate[64 * 1024];
	stack_t stack = { .ss_sp = alternate, .ss_size = sizeof alternate }, old;
	struct sigaction action = { .sa_handler = note_stack, .sa_flags = SA_ONSTACK }, old_action;
	uintptr_t low = (uintptr_t)alternate, high = low + sizeof alternate;

	if (sigaltstack(&stack, &old) != 0)
		return fail("sigaltstack: %s", errno_name(errno));
	sigemptyset(&action.sa_mask);
	sigaction(SIGUSR1, &action, &old_action);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old_action, NULL);
	sigaltstack(&old, NULL);
	if (handler_stack_address < low || handler_stack_address >= high)
		return fail("the handler ran at %#lx, not on [%#lx, %#lx)",
			    (unsigned long)handler_stack_address, (unsigned long)low,
			    (unsigned long)high);
	if (handled_code != SS_ONSTACK)
		return fail("sigaltstack in the handler: flags %d, not SS_ONSTACK", handled_code);
	stack.ss_size = 100;
	return expect_result("sigaltstack below MINSIGSTKSZ", sigaltstack(&stack, NULL), ENOMEM);
}

static void clobber_xmm(int signal)
{
	(void)signal;
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm7, %%xmm7" ::: "xmm0", "xmm7");
}

static int rt_sigreturn_restores_the_sse_registers(void)
{
	struct sigaction action = { .sa_handler = clobber_xmm }, old;
	uint64_t before = 0x0123456789abcdefULL, after0 = 0, after7 = 0;
	long pid = getpid();

	sigemptyset(&action.sa_mask);
	sigaction(SIGUSR1, &action, &old);
	/* xmm0 and xmm7 hold the pattern across a kill system call whose
	 * return delivers the signal. */
	__asm__ volatile("movq %[value], %%xmm0\n\t"
			 "movq %[value], %%xmm7\n\t"
			 "mov $62, %%eax\n\t"
			 "mov %[pid], %%rdi\n\t"
			 "mov $10, %%esi\n\t"
			 "syscall\n\t"
			 "movq %%xmm0, %[out0]\n\t"
			 "movq %%xmm7, %[out7]"
			 : [out0] "=r"(after0), [out7] "=r"(after7)
			 : [value] "r"(before), [pid] "r"(pid)
			 : "rax", "rdi", "rsi", "rcx", "r11", "xmm0", "xmm7", "memory");
	sigaction(SIGUSR1, &old, NULL);
	if (after0 != before || after7 != before)
		return fail("xmm0 %#llx xmm7 %#llx after the handler, expected %#llx",
			    (unsigned long long)after0, (unsigned long long)after7,
			    (unsigned long long)before);
	return 0;
}

static int send_sigusr1_later(void *parent)
{
	sleep_ms(50);
	return kill(*(pid_t *)parent, SIGUSR1) == 0 ? 0 : 1;
}

static int sigsuspend_waits_for_a_signal_and_restores_the_mask(void)
{
	struct sigaction old;
	sigset_t block, wait_mask, after;
	pid_t parent = getpid(), child;
	int result, error, status;

	install(SIGUSR1, 0, &old);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	child = fork();
	if (child == 0)
		_exit(send_sigusr1_later(&parent));
	sigemptyset(&wait_mask);
	result = sigsuspend(&wait_mask);
	error = errno;
	sigprocmask(SIG_BLOCK, NULL, &after);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	sigaction(SIGUSR1, &old, NULL);
	waitpid(child, &status, 0);
	if (result != -1 || error != EINTR)
		return fail("sigsuspend: expected -1 EINTR got %d %s", result, errno_name(error));
	if (handled_signal != SIGUSR1)
		return fail("the handler did not run");
	if (!sigismember(&after, SIGUSR1))
		return fail("the mask was not restored after sigsuspend");
	return 0;
}

static int arm_timer_ms(long ms)
{
	struct itimerval timer = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	return setitimer(ITIMER_REAL, &timer, NULL);
}

static int setitimer_delivers_sigalrm_and_pause_returns_eintr(void)
{
	struct sigaction old;
	int result, error;

	install(SIGALRM, 0, &old);
	arm_timer_ms(30);
	result = pause();
	error = errno;
	sigaction(SIGALRM, &old, NULL);
	if (result != -1 || error != EINTR || handled_signal != SIGALRM)
		return fail("pause: %d %s, handled %d", result, errno_name(error), handled_signal);
	if (handled_code != SI_KERNEL)
		return fail("SIGALRM si_code %d, not SI_KERNEL", handled_code);
	if (alarm(0) != 0)
		return fail("a timer is still armed");
	return 0;
}

static int nanosleep_interrupted_reports_the_time_left(void)
{
	struct sigaction old;
	struct timespec request = { 1, 0 }, left = { 0, 0 };
	int result, error;

	install(SIGALRM, 0, &old);
	arm_timer_ms(50);
	result = nanosleep(&request, &left);
	error = errno;
	sigaction(SIGALRM, &old, NULL);
	if (result != -1 || error != EINTR)
		return fail("nanosleep: expected -1 EINTR got %d %s", result, errno_name(error));
	if (left.tv_sec != 0 || left.tv_nsec < 500000000L)
		return fail("time left %ld.%09ld, expected between 0.5 and 1 s", (long)left.tv_sec,
			    left.tv_nsec);
	return 0;
}

static int write_later(void *fd)
{
	sleep_ms(150);
	return write(*(int *)fd, "x", 1) == 1 ? 0 : 1;
}

/* A read of an empty pipe interrupted by SIGALRM: restarted with
 * SA_RESTART (so it returns the byte written later), EINTR without. */
static int read_on_a_pipe(int restart, ssize_t *result, int *error)
{
	struct sigaction old;
	int pipe_fds[2], status;
	char byte;
	pid_t child;

	if (pipe(pipe_fds) != 0)
		return fail("pipe: %s", errno_name(errno));
	install(SIGALRM, restart ? SA_RESTART : 0, &old);
	child = fork();
	if (child == 0)
		_exit(write_later(&pipe_fds[1]));
	arm_timer_ms(30);
	*result = read(pipe_fds[0], &byte, 1);
	*error = errno;
	sigaction(SIGALRM, &old, NULL);
	waitpid(child, &status, 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	if (handled_signal != SIGALRM)
		return fail("SIGALRM was not handled");
	return 0;
}

static int sa_restart_restarts_a_blocked_read_and_without_it_eintr(void)
{
	ssize_t result;
	int error;

	if (read_on_a_pipe(1, &result, &error) != 0)
		return -1;
	if (result != 1)
		return fail("with SA_RESTART: expected 1 got %zd %s", result, errno_name(error));
	if (read_on_a_pipe(0, &result, &error) != 0)
		return -1;
	if (result != -1 || error != EINTR)
		return fail("without SA_RESTART: expected -1 EINTR got %zd %s", result,
			    errno_name(error));
	return 0;
}

static int stop_continue_and_kill_are_reported_to_wait(void)
{
	int status;
	pid_t child = fork();

	if (child == 0) {
		for (;;)
			pause();
	}
	kill(child, SIGSTOP);
	if (waitpid(child, &status, WUNTRACED) != child || !WIFSTOPPED(status) ||
	    WSTOPSIG(status) != SIGSTOP)
		return fail("after SIGSTOP: status %#x", status);
	kill(child, SIGCONT);
	if (waitpid(child, &status, WCONTINUED) != child || !WIFCONTINUED(status))
		return fail("after SIGCONT: status %#x", status);
	kill(child, SIGKILL);
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return expect_killed(status, SIGKILL);
}

static int sigchld_handler_learns_how_the_child_ended(void)
{
	struct sigaction old;
	int status;
	pid_t child;

	install(SIGCHLD, 0, &old);
	child = fork();
	if (child == 0)
		_exit(4);
	while (handled_signal != SIGCHLD)
		sleep_ms(5);
	sigaction(SIGCHLD, &old, NULL);
	waitpid(child, &status, 0);
	if (handled_code != CLD_EXITED || handled_pid != child)
		return fail("SIGCHLD: code %d pid %d (child %d)", handled_code, handled_pid, child);
	return 0;
}

/* ---- pipes and descriptors ---- */

static int pipe_carries_bytes_and_reads_end_of_file_after_the_last_writer(void)
{
	int pipe_fds[2];
	char buffer[16];

	if (pipe(pipe_fds) != 0)
		return fail("pipe: %s", errno_name(errno));
	if (write(pipe_fds[1], "hello", 5) != 5)
		return fail("write: %s", errno_name(errno));
	if (read(pipe_fds[0], buffer, sizeof buffer) != 5 || memcmp(buffer, "hello", 5) != 0)
		return fail("read did not return the 5 bytes");
	close(pipe_fds[1]);
	if (read(pipe_fds[0], buffer, sizeof buffer) != 0)
		return fail("no end of file after the writer closed");
	close(pipe_fds[0]);
	return 0;
}

static int write_to_closed_pipe(void *unused)
{
	int pipe_fds[2];

	(void)unused;
	pipe(pipe_fds);
	close(pipe_fds[0]);
	(void)write(pipe_fds[1], "x", 1);
	return 0;
}

static int write_without_reader_is_epipe_and_sigpipe(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old;
	int pipe_fds[2];
	ssize_t written;
	int error;

	if (expect_killed(run_child(write_to_closed_pipe, NULL), SIGPIPE) != 0)
		return -1;
	sigaction(SIGPIPE, &ignore, &old);
	pipe(pipe_fds);
	close(pipe_fds[0]);
	written = write(pipe_fds[1], "x", 1);
	error = errno;
	close(pipe_fds[1]);
	sigaction(SIGPIPE, &old, NULL);
	if (written != -1 || error != EPIPE)
		return fail("expected EPIPE got %zd %s", written, errno_name(error));
	return 0;
}

static int pipe2_flags_nonblocking_and_close_on_exec(void)
{
	int pipe_fds[2];
	char byte;

	if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
		return fail("pipe2: %s", errno_name(errno));
	if (!(fcntl(pipe_fds[0], F_GETFD) & FD_CLOEXEC) || !(fcntl(pipe_fds[1], F_GETFL) & O_NONBLOCK))
		return fail("the flags are not set");
	if (expect_result("read of an empty non-blocking pipe",
			  read(pipe_fds[0], &byte, 1) == -1 ? -1 : 0, EAGAIN))
		return -1;
	fcntl(pipe_fds[0], F_SETFL, 0);
	if (fcntl(pipe_fds[0], F_GETFL) & O_NONBLOCK)
		return fail("F_SETFL did not clear O_NONBLOCK");
	if (expect_result("pipe2 with O_TRUNC", pipe2(pipe_fds, O_TRUNC), EINVAL))
		return -1;
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return 0;
}

static int reader(void *fd)
{
	static char buffer[8192];
	long total = 0;
	ssize_t n;

	while ((n = read(*(int *)fd, buffer, sizeof buffer)) > 0)
		total += n;
	return total == 256 * 1024 ? 0 : 1;
}

static int full_pipe_blocks_the_writer_until_the_reader_reads(void)
{
	static char chunk[32 * 1024];
	int pipe_fds[2], status;
	pid_t child;

	if (pipe(pipe_fds) != 0)
		return fail("pipe: %s", errno_name(errno));
	child = fork();
	if (child == 0) {
		close(pipe_fds[1]);
		_exit(reader(&pipe_fds[0]));
	}
	close(pipe_fds[0]);
	for (int i = 0; i < 8; i++)
		if (write(pipe_fds[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
			return fail("write %d: %s", i, errno_name(errno));
	close(pipe_fds[1]);
	if (waitpid(child, &status, 0) != child)
		return fail("waitpid: %s", errno_name(errno));
	return expect_exit(status, 0);
}

static int dup_family_shares_the_description_and_follows_the_rules(void)
{
	int pipe_fds[2], copy, high;
	char byte;

	pipe(pipe_fds);
	copy = dup(pipe_fds[1]);
	if (copy < 0 || write(copy, "d", 1) != 1 || read(pipe_fds[0], &byte, 1) != 1 || byte != 'd')
		return fail("dup: %s", errno_name(errno));
	if (dup2(copy, copy) != copy)
		return fail("dup2 to itself");
	if (expect_result("dup3 to itself", dup3(copy, copy, 0), EINVAL) ||
	    /* musl's dup3 passes flags without O_CLOEXEC to dup2: ask the kernel */
	    expect_result("dup3 with a bad flag", (int)syscall(SYS_dup3, copy, 100, O_NONBLOCK),
			  EINVAL) ||
	    expect_result("dup2 of a closed descriptor", dup2(1000, 5) == -1 ? -1 : 0, EBADF) ||
	    expect_result("dup2 to descriptor -1", dup2(copy, -1) == -1 ? -1 : 0, EBADF))
		return -1;
	high = fcntl(copy, F_DUPFD_CLOEXEC, 100);
	if (high < 100 || !(fcntl(high, F_GETFD) & FD_CLOEXEC))
		return fail("F_DUPFD_CLOEXEC gave %d", high);
	if (dup2(pipe_fds[0], high) != high || (fcntl(high, F_GETFD) & FD_CLOEXEC))
		return fail("dup2 over a close-on-exec descriptor keeps the flag");
	close(high);
	close(copy);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	return 0;
}

static int poll_and_select_report_pipe_readiness(void)
{
	int pipe_fds[2];
	struct pollfd fds[2];
	fd_set read_set;
	struct timeval zero = { 0, 0 };

	pipe(pipe_fds);
	fds[0] = (struct pollfd){ .fd = pipe_fds[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = pipe_fds[1], .events = POLLOUT };
	if (poll(fds, 2, 0) != 1 || fds[0].revents != 0 || fds[1].revents != POLLOUT)
		return fail("an empty pipe: revents %#x %#x", fds[0].revents, fds[1].revents);
	write(pipe_fds[1], "p", 1);
	if (poll(fds, 1, 0) != 1 || fds[0].revents != POLLIN)
		return fail("after a write: revents %#x", fds[0].revents);
	FD_ZERO(&read_set);
	FD_SET(pipe_fds[0], &read_set);
	if (select(pipe_fds[0] + 1, &read_set, NULL, NULL, &zero) != 1 ||
	    !FD_ISSET(pipe_fds[0], &read_set))
		return fail("select does not see the byte");
	close(pipe_fds[1]);
	if (poll(fds, 1, 100) != 1 || fds[0].revents != (POLLIN | POLLHUP))
		return fail("after the writer closed: revents %#x", fds[0].revents);
	fds[0].fd = 1000;
	if (poll(fds, 1, 0) != 1 || fds[0].revents != POLLNVAL)
		return fail("a closed descriptor: revents %#x", fds[0].revents);
	close(pipe_fds[0]);
	return 0;
}

static int a_busy_process_does_not_starve_another(void)
{
	volatile unsigned long *counter = mmap(NULL, page, PROT_READ | PROT_WRITE,
					       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned long seen;
	int status;
	pid_t child;

	if (counter == MAP_FAILED)
		return fail("mmap: %s", errno_name(errno));
	child = fork();
	if (child == 0) {
		for (;;)
			(*counter)++;
	}
	/* Never sleeping: only preemption lets the child run. */
	for (seen = 0; seen < 1000; seen = *counter)
		;
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	munmap((void *)counter, page);
	return expect_killed(status, SIGKILL);
}

/* ---- process groups and sessions ---- */

static int in_own_group(void *unused)
{
	(void)unused;
	if (setpgid(0, 0) != 0 || getpgid(0) != getpid() || getpgrp() != getpid())
		return 1;
	if (setsid() != -1 || errno != EPERM)
		return 2;
	return 0;
}

static int new_session(void *unused)
{
	(void)unused;
	if (setsid() != getpid() || getsid(0) != getpid() || getpgid(0) != getpid())
		return 1;
	if (setpgid(0, 0) != -1 || errno != EPERM)
		return 2;
	return 0;
}

static int process_groups_and_sessions_follow_linux(void)
{
	if (expect_exit(run_child(in_own_group, NULL), 0) ||
	    expect_exit(run_child(new_session, NULL), 0) ||
	    expect_result("getpgid of a missing process", getpgid(999999), ESRCH) ||
	    expect_result("setpgid to a negative group", setpgid(0, -1), EINVAL))
		return -1;
	return 0;
}

static int kill_of_a_process_group_reaches_every_member(void)
{
	pid_t children[2];
	int status;

	for (int i = 0; i < 2; i++) {
		children[i] = fork();
		if (children[i] == 0) {
			for (;;)
				pause();
		}
		setpgid(children[i], children[0]);
	}
	if (kill(-children[0], SIGTERM) != 0)
		return fail("kill of the group: %s", errno_name(errno));
	for (int i = 0; i < 2; i++) {
		if (waitpid(children[i], &status, 0) != children[i] ||
		    expect_killed(status, SIGTERM) != 0)
			return fail("member %d: status %#x", i, status);
	}
	return 0;
}

/* ---- helper roles (run through exec) ---- */

static int role(int argc, char **argv)
{
	const char *name = argv[2];

	if (strcmp(name, "exit-with") == 0)
		return atoi(argv[3]);
	if (strcmp(name, "print-args") == 0) {
		printf("argv:");
		for (int i = 1; i < argc; i++)
			printf(strchr(argv[i], ' ') ? " [%s]" : " %s", argv[i]);
		printf("\nenv:");
		for (char **env = environ; *env; env++)
			printf(" %s", *env);
		printf("\n");
		return 0;
	}
	if (strcmp(name, "check-fds") == 0) {
		if (fcntl(atoi(argv[3]), F_GETFD) < 0) {
			printf("descriptor %s was closed\n", argv[3]);
			return 1;
		}
		if (fcntl(atoi(argv[4]), F_GETFD) != -1 || errno != EBADF) {
			printf("close-on-exec descriptor %s is open\n", argv[4]);
			return 1;
		}
		return 0;
	}
	if (strcmp(name, "check-dispositions") == 0) {
		struct sigaction usr1, usr2;

		sigaction(SIGUSR1, NULL, &usr1);
		sigaction(SIGUSR2, NULL, &usr2);
		if (usr1.sa_handler != SIG_DFL) {
			printf("the caught SIGUSR1 is not back to SIG_DFL\n");
			return 1;
		}
		if (usr2.sa_handler != SIG_IGN) {
			printf("the ignored SIGUSR2 is not ignored\n");
			return 1;
		}
		return 0;
	}
	/* Run as a script's interpreter: argv[2] is the script. */
	printf("script:");
	for (int i = 2; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 2 && strcmp(argv[1], "--role") == 0)
		return role(argc, argv);
	if (argc > 1)
		test_dir = argv[1];
	page = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	report("fork_returns_zero_in_the_child_and_its_pid_in_the_parent",
	       "man fork: on success the PID of the child is returned in the parent, 0 in the child",
	       fork_returns_zero_in_the_child_and_its_pid_in_the_parent());
	report("fork_private_memory_is_copy_on_write",
	       "man fork: the child and the parent run in separate memory spaces",
	       fork_private_memory_is_copy_on_write());
	report("fork_shared_anonymous_memory_stays_shared",
	       "man mmap: MAP_SHARED updates are visible to other processes mapping the region",
	       fork_shared_anonymous_memory_stays_shared());
	report("madvise_dontfork_leaves_the_range_out_of_the_child",
	       "man madvise: MADV_DONTFORK pages are not available to the child after fork",
	       madvise_dontfork_leaves_the_range_out_of_the_child());
	report("madvise_wipeonfork_gives_the_child_zeros",
	       "man madvise: MADV_WIPEONFORK presents the child with zero-filled memory",
	       madvise_wipeonfork_gives_the_child_zeros());
	report("mprotect_and_munmap_in_the_child_leave_the_parent_mapped",
	       "man fork: memory mappings performed by one process do not affect the other",
	       mprotect_and_munmap_in_the_child_leave_the_parent_mapped());
	report("fork_shares_the_open_file_description",
	       "man fork: the child's descriptors refer to the same open file descriptions",
	       fork_shares_the_open_file_description());
	report("vfork_parent_runs_again_when_the_child_exits",
	       "man vfork: the calling thread is suspended until the child terminates or execs",
	       vfork_parent_runs_again_when_the_child_exits());
	report("posix_spawn_runs_a_program_and_reports_its_exit",
	       "man posix_spawn: the child runs the file and its status is collected by waitpid",
	       posix_spawn_runs_a_program_and_reports_its_exit());
	report("execve_passes_argv_and_envp_to_the_new_image",
	       "man execve: argv and envp are passed to the new program",
	       execve_passes_argv_and_envp_to_the_new_image());
	report("execve_keeps_descriptors_except_close_on_exec_ones",
	       "man execve: descriptors remain open unless FD_CLOEXEC is set",
	       execve_keeps_descriptors_except_close_on_exec_ones());
	report("execve_resets_caught_signals_and_keeps_ignored_ones",
	       "man execve: caught signals are reset to default, ignored ones stay ignored",
	       execve_resets_caught_signals_and_keeps_ignored_ones());
	report("execve_of_a_script_runs_its_interpreter",
	       "man execve: a #! script runs as interpreter [optional-arg] pathname arg...",
	       execve_of_a_script_runs_its_interpreter());
	report("execveat_runs_a_path_relative_to_a_directory_or_an_open_file",
	       "man execveat: a relative path from dirfd; AT_EMPTY_PATH runs dirfd itself",
	       execveat_runs_a_path_relative_to_a_directory_or_an_open_file());
	report("execve_errors_are_linux_errnos",
	       "man execve: ENOENT, EACCES, ENOEXEC, EFAULT, E2BIG",
	       execve_errors_are_linux_errnos());
	report("wait_status_tells_exit_code_and_killing_signal",
	       "man wait: WIFEXITED/WEXITSTATUS and WIFSIGNALED/WTERMSIG",
	       wait_status_tells_exit_code_and_killing_signal());
	report("wait_with_wnohang_returns_zero_while_the_child_runs",
	       "man wait: WNOHANG returns 0 if children exist but none changed state",
	       wait_with_wnohang_returns_zero_while_the_child_runs());
	report("wait_without_children_is_echild",
	       "man wait: ECHILD the process has no such child; EINVAL for invalid options",
	       wait_without_children_is_echild());
	report("waitid_reports_with_siginfo_and_wnowait_leaves_the_child",
	       "man waitid: si_pid, si_status, si_code CLD_EXITED; WNOWAIT leaves the child",
	       waitid_reports_with_siginfo_and_wnowait_leaves_the_child());
	report("orphaned_grandchild_is_adopted",
	       "man wait: an orphan is adopted by init (or the nearest subreaper)",
	       orphaned_grandchild_is_adopted());
	report("ignoring_sigchld_reaps_children_automatically",
	       "man wait: with SIGCHLD set to SIG_IGN, children do not become zombies",
	       ignoring_sigchld_reaps_children_automatically());
	report("kill_runs_the_handler_with_sender_info",
	       "man sigaction: si_code SI_USER and si_pid for kill; the signal is blocked in its handler",
	       kill_runs_the_handler_with_sender_info());
	report("blocked_signal_waits_until_unblocked",
	       "man sigprocmask: blocked signals stay pending until unblocked",
	       blocked_signal_waits_until_unblocked());
	report("sa_resethand_and_sa_nodefer",
	       "man sigaction: SA_RESETHAND restores SIG_DFL; SA_NODEFER does not block the signal",
	       sa_resethand_and_sa_nodefer());
	report("sa_mask_is_blocked_while_the_handler_runs",
	       "man sigaction: sa_mask is blocked during the handler",
	       sa_mask_is_blocked_while_the_handler_runs());
	report("sigkill_and_sigstop_cannot_be_caught",
	       "man sigaction: EINVAL for SIGKILL and SIGSTOP; man kill: EINVAL, ESRCH",
	       sigkill_and_sigstop_cannot_be_caught());
	report("sigsegv_handler_that_mprotects_lets_the_store_retry",
	       "Linux behaviour: the faulting instruction runs again after the handler returns",
	       sigsegv_handler_that_mprotects_lets_the_store_retry());
	report("sigsegv_in_no_mapping_is_segv_maperr",
	       "man sigaction: SEGV_MAPERR address not mapped to object",
	       sigsegv_in_no_mapping_is_segv_maperr());
	report("user_load_from_a_kernel_address_is_sigsegv",
	       "Linux x86: SEGV_MAPERR at a kernel address; a non-canonical one is #GP: SI_KERNEL, no address",
	       user_load_from_a_kernel_address_is_sigsegv());
	report("access_past_the_end_of_a_mapped_file_is_sigbus_adrerr",
	       "man mmap: SIGBUS for access to a page beyond the end of the file",
	       access_past_the_end_of_a_mapped_file_is_sigbus_adrerr());
	report("sigaltstack_runs_sa_onstack_handlers_on_the_alternate_stack",
	       "man sigaltstack: SA_ONSTACK handlers run on the alternate stack; ENOMEM below MINSIGSTKSZ",
	       sigaltstack_runs_sa_onstack_handlers_on_the_alternate_stack());
	report("rt_sigreturn_restores_the_sse_registers",
	       "Linux behaviour: the signal frame saves the FPU state and sigreturn restores it",
	       rt_sigreturn_restores_the_sse_registers());
	report("sigsuspend_waits_for_a_signal_and_restores_the_mask",
	       "man sigsuspend: returns -1 EINTR after the handler; the mask is restored",
	       sigsuspend_waits_for_a_signal_and_restores_the_mask());
	report("setitimer_delivers_sigalrm_and_pause_returns_eintr",
	       "man setitimer: ITIMER_REAL delivers SIGALRM; man pause: returns -1 EINTR",
	       setitimer_delivers_sigalrm_and_pause_returns_eintr());
	report("nanosleep_interrupted_reports_the_time_left",
	       "man nanosleep: EINTR, and the remaining time is written to rem",
	       nanosleep_interrupted_reports_the_time_left());
	report("sa_restart_restarts_a_blocked_read_and_without_it_eintr",
	       "man signal(7): with SA_RESTART a blocked read on a pipe is restarted",
	       sa_restart_restarts_a_blocked_read_and_without_it_eintr());
	report("stop_continue_and_kill_are_reported_to_wait",
	       "man wait: WUNTRACED/WIFSTOPPED, WCONTINUED/WIFCONTINUED",
	       stop_continue_and_kill_are_reported_to_wait());
	report("sigchld_handler_learns_how_the_child_ended",
	       "man sigaction: SIGCHLD si_code CLD_EXITED and si_pid",
	       sigchld_handler_learns_how_the_child_ended());
	report("pipe_carries_bytes_and_reads_end_of_file_after_the_last_writer",
	       "man pipe(7): read returns 0 once all write ends are closed",
	       pipe_carries_bytes_and_reads_end_of_file_after_the_last_writer());
	report("write_without_reader_is_epipe_and_sigpipe",
	       "man pipe(7): writing with no reader raises SIGPIPE, or EPIPE if it is ignored",
	       write_without_reader_is_epipe_and_sigpipe());
	report("pipe2_flags_nonblocking_and_close_on_exec",
	       "man pipe2: O_NONBLOCK and O_CLOEXEC; EINVAL for other flags; EAGAIN on empty",
	       pipe2_flags_nonblocking_and_close_on_exec());
	report("full_pipe_blocks_the_writer_until_the_reader_reads",
	       "man pipe(7): a write to a full pipe blocks until data is read",
	       full_pipe_blocks_the_writer_until_the_reader_reads());
	report("dup_family_shares_the_description_and_follows_the_rules",
	       "man dup: EBADF, EINVAL for dup3 with the same descriptor, F_DUPFD_CLOEXEC",
	       dup_family_shares_the_description_and_follows_the_rules());
	report("poll_and_select_report_pipe_readiness",
	       "man poll: POLLIN, POLLOUT, POLLHUP, POLLNVAL; man select",
	       poll_and_select_report_pipe_readiness());
	report("a_busy_process_does_not_starve_another",
	       "man sched(7): the scheduler shares the CPU between runnable threads",
	       a_busy_process_does_not_starve_another());
	report("process_groups_and_sessions_follow_linux",
	       "man setpgid, man setsid: a group leader cannot start a session (EPERM)",
	       process_groups_and_sessions_follow_linux());
	report("kill_of_a_process_group_reaches_every_member",
	       "man kill: a negative pid sends to every process in the group",
	       kill_of_a_process_group_reaches_every_member());
	return summary();
}

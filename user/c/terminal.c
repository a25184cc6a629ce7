/*
 * terminal: the console as a terminal — its termios settings, window size,
 * and job control (a controlling terminal, the foreground process group,
 * SIGTTOU for background groups; no SIGTTIN on /dev/console, as Linux),
 * one case per rule, each passing on Linux 6.1 on its serial console.
 *
 * Usage: terminal    (stdin must be the console; nothing is typed)
 *
 * Prints one "PASS name -- source" or "FAIL name: ... -- source" line per
 * case and ends with "N passed, N failed"; exit status 0 only if none failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "check.h"
#include "child.h"

/* Checks that a call returned -1 with `expected` in errno. */
static int expect_errno(const char *call, long result, int expected)
{
	if (result != -1)
		return fail("%s: expected %s got %ld", call, errno_name(expected), result);
	if (errno != expected)
		return fail("%s: expected %s got %s", call, errno_name(expected), errno_name(errno));
	return 0;
}

static int the_console_is_a_terminal_with_linux_serial_defaults(void)
{
	struct termios t;

	if (!isatty(0))
		return fail("isatty(0): expected 1 got 0 (%s)", errno_name(errno));
	if (tcgetattr(0, &t) != 0)
		return fail("tcgetattr: %s", errno_name(errno));
	if ((t.c_iflag & (ICRNL | IXON)) != (ICRNL | IXON))
		return fail("c_iflag %#o lacks ICRNL|IXON", t.c_iflag);
	if ((t.c_oflag & (OPOST | ONLCR)) != (OPOST | ONLCR))
		return fail("c_oflag %#o lacks OPOST|ONLCR", t.c_oflag);
	if ((t.c_lflag & (ISIG | ICANON | ECHO | ECHOE | IEXTEN)) !=
	    (ISIG | ICANON | ECHO | ECHOE | IEXTEN))
		return fail("c_lflag %#o lacks ISIG|ICANON|ECHO|ECHOE|IEXTEN", t.c_lflag);
	if (t.c_cc[VINTR] != 3 || t.c_cc[VQUIT] != 034 || t.c_cc[VERASE] != 0177 ||
	    t.c_cc[VKILL] != 025 || t.c_cc[VEOF] != 4 || t.c_cc[VMIN] != 1 || t.c_cc[VSUSP] != 032)
		return fail("control characters %d %d %d %d %d %d %d", t.c_cc[VINTR], t.c_cc[VQUIT],
			    t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VMIN],
			    t.c_cc[VSUSP]);
	return 0;
}

static int tcsetattr_changes_the_settings_and_tcgetattr_shows_them(void)
{
	struct termios saved, raw, now;
	int result = 0;

	if (tcgetattr(0, &saved) != 0)
		return fail("tcgetattr: %s", errno_name(errno));
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 1;
	if (tcsetattr(0, TCSANOW, &raw) != 0)
		return fail("tcsetattr: %s", errno_name(errno));
	if (tcgetattr(0, &now) != 0)
		result = fail("tcgetattr: %s", errno_name(errno));
	else if ((now.c_lflag & (ICANON | ECHO)) != 0 || now.c_cc[VMIN] != 0 || now.c_cc[VTIME] != 1)
		result = fail("after tcsetattr: c_lflag %#o VMIN %d VTIME %d", now.c_lflag,
			      now.c_cc[VMIN], now.c_cc[VTIME]);
	if (tcsetattr(0, TCSAFLUSH, &saved) != 0)
		result = fail("restoring: %s", errno_name(errno));
	return result;
}

static int a_non_canonical_read_with_vtime_returns_nothing_when_nothing_is_typed(void)
{
	struct termios saved, timed;
	char byte;
	ssize_t got;

	if (tcgetattr(0, &saved) != 0)
		return fail("tcgetattr: %s", errno_name(errno));
	timed = saved;
	timed.c_lflag &= ~ICANON;
	timed.c_cc[VMIN] = 0;
	timed.c_cc[VTIME] = 2;
	tcsetattr(0, TCSANOW, &timed);
	got = read(0, &byte, 1);
	tcsetattr(0, TCSANOW, &saved);
	if (got != 0)
		return fail("read: expected 0 got %zd (%s)", got, errno_name(errno));
	return 0;
}

static int the_serial_console_window_starts_empty_and_can_be_set(void)
{
	struct winsize size, set = { .ws_row = 40, .ws_col = 120 }, empty = { 0 };
	int result = 0;

	if (ioctl(0, TIOCGWINSZ, &size) != 0)
		return fail("TIOCGWINSZ: %s", errno_name(errno));
	if (size.ws_row != 0 || size.ws_col != 0)
		return fail("expected 0x0 got %dx%d", size.ws_row, size.ws_col);
	if (ioctl(0, TIOCSWINSZ, &set) != 0)
		return fail("TIOCSWINSZ: %s", errno_name(errno));
	if (ioctl(0, TIOCGWINSZ, &size) != 0 || size.ws_row != 40 || size.ws_col != 120)
		result = fail("after TIOCSWINSZ: %dx%d", size.ws_row, size.ws_col);
	ioctl(0, TIOCSWINSZ, &empty);
	return result;
}

/* In a child that leads no session: exits 0 if every check holds. */
static int check_without_a_controlling_terminal(void *unused)
{
	pid_t group = getpgrp();
	int result = expect_errno("tcgetpgrp", tcgetpgrp(0), ENOTTY);

	(void)unused;
	if (result == 0)
		result = expect_errno("tcgetsid", tcgetsid(0), ENOTTY);
	if (result == 0)
		result = expect_errno("TIOCSPGRP", ioctl(0, TIOCSPGRP, &group), ENOTTY);
	if (result == 0)
		result = expect_errno("TIOCSCTTY as no session leader", ioctl(0, TIOCSCTTY, 0),
				      EPERM);
	if (result != 0)
		printf("  %s\n", check_why);
	return result == 0 ? 0 : 1;
}

static int a_process_without_a_controlling_terminal_has_no_foreground_group(void)
{
	return expect_exit(run_child(check_without_a_controlling_terminal, NULL), 0);
}

/*
 * A background reader on /dev/console, which Linux never stops with SIGTTIN:
 * with SIGTTOU ignored it may set a 0.1 s read timeout, and the read then
 * returns 0. Exits 0 if so.
 */
static int read_in_the_background(void *unused)
{
	struct termios saved, timed;
	char byte;
	ssize_t got;

	(void)unused;
	signal(SIGTTOU, SIG_IGN);
	if (tcgetattr(0, &saved) != 0)
		return 1;
	timed = saved;
	timed.c_lflag &= ~ICANON;
	timed.c_cc[VMIN] = 0;
	timed.c_cc[VTIME] = 1;
	if (tcsetattr(0, TCSANOW, &timed) != 0)
		return 2;
	got = read(0, &byte, 1);
	tcsetattr(0, TCSANOW, &saved);
	return got == 0 ? 0 : 3;
}

/* A background process changing the settings, which SIGTTOU stops. */
static int change_settings_in_the_background(void *unused)
{
	struct termios t;

	(void)unused;
	tcgetattr(0, &t);
	tcsetattr(0, TCSANOW, &t);
	return 3;
}

/* Forks a child in a process group of its own running `body`; returns its wait status. */
static int in_a_new_group(int (*body)(void *), void *argument)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		return -1;
	if (child == 0) {
		setpgid(0, 0);
		_exit(body(argument));
	}
	setpgid(child, child);
	if (waitpid(child, &status, WUNTRACED) != child)
		return -1;
	if (WIFSTOPPED(status)) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return status;
}

/* The session leader's side: all checks in one child, exit code = first failure. */
static int lead_a_session(void *unused)
{
	pid_t self = getpid();
	int status;

	(void)unused;
	if (setsid() != self)
		return 10;
	if (ioctl(0, TIOCSCTTY, 0) != 0)
		return 11;
	if (tcgetpgrp(0) != self || tcgetsid(0) != self)
		return 12;
	status = in_a_new_group(change_settings_in_the_background, NULL);
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTTOU)
		return 13;
	status = in_a_new_group(read_in_the_background, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 14;
	if (tcsetpgrp(0, 99999) != -1 || errno != ESRCH)
		return 16;
	/* Giving the terminal up sends SIGHUP to the foreground group: ours. */
	signal(SIGHUP, SIG_IGN);
	if (ioctl(0, TIOCNOTTY) != 0)
		return 17;
	if (tcgetpgrp(0) != -1 || errno != ENOTTY)
		return 18;
	return 0;
}

static int a_session_leader_takes_the_terminal_and_background_changes_stop(void)
{
	return expect_exit(run_child(lead_a_session, NULL), 0);
}

int main(void)
{
	static const struct {
		const char *name;
		const char *source;
		int (*run)(void);
	} cases[] = {
#define CASE(name, source) { #name, source, name }
		CASE(the_console_is_a_terminal_with_linux_serial_defaults,
		     "Linux tty_std_termios: ICRNL IXON, OPOST ONLCR, ISIG ICANON ECHO..., INIT_C_CC"),
		CASE(tcsetattr_changes_the_settings_and_tcgetattr_shows_them,
		     "man tcsetattr: TCSANOW: the change occurs immediately"),
		CASE(a_non_canonical_read_with_vtime_returns_nothing_when_nothing_is_typed,
		     "man termios: MIN == 0, TIME > 0: read returns 0 if the timer expires"),
		CASE(the_serial_console_window_starts_empty_and_can_be_set,
		     "man ioctl_tty: TIOCGWINSZ/TIOCSWINSZ; Linux's serial console starts at 0x0"),
		CASE(a_process_without_a_controlling_terminal_has_no_foreground_group,
		     "man ioctl_tty: TIOCGPGRP ENOTTY without a controlling terminal; TIOCSCTTY EPERM"),
		CASE(a_session_leader_takes_the_terminal_and_background_changes_stop,
		     "man termios: SIGTTOU for a background tcsetattr; Linux n_tty: no SIGTTIN on /dev/console; TIOCNOTTY"),
#undef CASE
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		report(cases[i].name, cases[i].source, cases[i].run());
	return summary();
}

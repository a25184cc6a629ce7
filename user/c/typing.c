/*
 * typing: the half of the interactive terminal check that runs in the guest.
 * It prompts, and the runner types at each prompt (qemu-tests/src/cases.rs,
 * "terminal-typing"): a line edited with DEL, a line killed with ^U, ^D at
 * the start of a line, ^C for the foreground group, and bytes in raw mode.
 * It prints what each read returned, escaped, for the runner to compare on
 * both kernels.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void note_interrupt(int signal)
{
	(void)signal;
	interrupted = 1;
}

/* Prints `prompt`, reads once from the console and prints what came back. */
static void prompt_and_read(const char *prompt)
{
	char line[256];
	ssize_t got;

	fputs(prompt, stdout);
	fflush(stdout);
	got = read(0, line, sizeof line);
	if (got < 0) {
		printf("got %s%s\n", errno == EINTR ? "EINTR" : strerror(errno),
		       interrupted ? " after SIGINT" : "");
		return;
	}
	if (got == 0) {
		printf("got end of file\n");
		return;
	}
	printf("got [");
	for (ssize_t i = 0; i < got; i++) {
		if (line[i] == '\n')
			printf("\\n");
		else
			putchar(line[i]);
	}
	printf("]\n");
}

/*
 * Prompts and waits for ^C: SIGINT is blocked until ppoll unblocks it
 * atomically, so the interrupt cannot come between the prompt and the wait.
 */
static void wait_for_interrupt(void)
{
	struct pollfd console = { .fd = 0, .events = POLLIN };
	sigset_t blocked, waiting;

	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigprocmask(SIG_BLOCK, &blocked, &waiting);
	sigdelset(&waiting, SIGINT);
	fputs("interrupt> ", stdout);
	if (ppoll(&console, 1, NULL, &waiting) < 0 && errno == EINTR && interrupted)
		printf("got SIGINT\n");
	else
		printf("got no SIGINT (%s)\n", strerror(errno));
	sigprocmask(SIG_UNBLOCK, &blocked, NULL);
}

int main(void)
{
	struct sigaction action = { .sa_handler = note_interrupt };
	struct termios saved, raw;

	setvbuf(stdout, NULL, _IONBF, 0);
	prompt_and_read("edit> ");
	prompt_and_read("kill> ");
	prompt_and_read("eof> ");

	/* The console becomes this session's terminal: ^C reaches us. */
	setsid();
	if (ioctl(0, TIOCSCTTY, 0) != 0)
		printf("TIOCSCTTY: %s\n", strerror(errno));
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	wait_for_interrupt();

	tcgetattr(0, &saved);
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 3;
	raw.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &raw);
	prompt_and_read("raw> ");
	tcsetattr(0, TCSANOW, &saved);
	printf("done\n");
	return 0;
}

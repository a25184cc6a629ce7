/*
 * linux_init.c: the initramfs's /init when the runner boots the real Linux
 * kernel (see docs/linux-comparison.md). It makes Linux end a run the way
 * our kernel does, so that the same test program and the same checks work on
 * both:
 *
 *   1. loads /modules/NN-NAME.ko in name order (the runner numbered them in
 *      dependency order; there is no modprobe here);
 *   2. mounts devtmpfs on /dev and the ext2 root image /dev/vda on /mnt;
 *   3. runs /mnt/sbin/init, chrooted into /mnt, with our argv[1..] (Linux
 *      hands init the kernel command-line words after "--") and the
 *      environment our kernel gives init;
 *   4. prints "init exited with status N" or "init killed by SIGNAME";
 *   5. syncs, unmounts /mnt, and leaves QEMU through isa-debug-exit with the
 *      values our kernel writes: 0x10 when init exited 0 and the unmount
 *      succeeded, 0x11 otherwise.
 *
 * The program runs as a child, not as pid 1: a fatal signal in pid 1 would
 * panic Linux instead of being reported.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODULE_DIR "/modules"
#define ROOT_DEVICE "/dev/vda"
#define ROOT_MOUNT "/mnt"
/* isa-debug-exit, as the runner's QEMU command line configures it. */
#define DEBUG_EXIT_PORT 0xf4
#define EXIT_SUCCESS_VALUE 0x10
#define EXIT_FAILURE_VALUE 0x11
/* How long to wait for virtio-blk's node to appear in devtmpfs. */
#define DEVICE_WAIT_MS 5000

/* The environment our kernel starts init with (kernel/src/init.rs). */
static char *const init_environment[] = {"HOME=/", "PATH=/sbin:/bin", "TERM=vt100", NULL};

/* Ends the VM with an isa-debug-exit value; never returns. */
static _Noreturn void power_off(int value)
{
	fflush(NULL);
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) == 0)
		outl(value, DEBUG_EXIT_PORT);
	perror("linux_init: isa-debug-exit");
	/* Without the device, a power-off still ends QEMU (with status 0, never success). */
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static _Noreturn void fail(const char *what)
{
	printf("linux_init: %s: %s\n", what, strerror(errno));
	power_off(EXIT_FAILURE_VALUE);
}

static int is_module(const struct dirent *entry)
{
	size_t length = strlen(entry->d_name);

	return length > 3 && strcmp(entry->d_name + length - 3, ".ko") == 0;
}

/* Loads every module in MODULE_DIR in name order; returns how many. */
static int load_modules(void)
{
	struct dirent **entries;
	int count = scandir(MODULE_DIR, &entries, is_module, alphasort);

	if (count < 0)
		fail("scandir " MODULE_DIR);
	for (int i = 0; i < count; i++) {
		char path[512];
		int fd;

		snprintf(path, sizeof path, MODULE_DIR "/%s", entries[i]->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0)
			fail(path);
		close(fd);
		free(entries[i]);
	}
	free(entries);
	return count;
}

/* Waits until virtio-blk's probe has made the disk's node. */
static void wait_for_root_device(void)
{
	struct stat status;

	for (int waited = 0; stat(ROOT_DEVICE, &status) != 0; waited += 10) {
		if (waited >= DEVICE_WAIT_MS)
			fail("waiting for " ROOT_DEVICE);
		usleep(10 * 1000);
	}
}

static const char *signal_name(int signal)
{
	switch (signal) {
	case SIGILL: return "SIGILL";
	case SIGTRAP: return "SIGTRAP";
	case SIGABRT: return "SIGABRT";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGKILL: return "SIGKILL";
	case SIGSEGV: return "SIGSEGV";
	case SIGPIPE: return "SIGPIPE";
	case SIGTERM: return "SIGTERM";
	default: return NULL;
	}
}

/* Runs /sbin/init of the mounted root with `argv[1..]`; returns its wait status. */
static int run_init(char **argv)
{
	int status;
	pid_t child = fork();

	if (child < 0)
		fail("fork");
	if (child == 0) {
		argv[0] = "/sbin/init";
		if (chdir(ROOT_MOUNT) != 0 || chroot(".") != 0)
			fail("chroot " ROOT_MOUNT);
		execve(argv[0], argv, init_environment);
		fail("execve /sbin/init");
	}
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	return status;
}

int main(int argc, char **argv)
{
	int modules, status, value;
	const char *name;

	(void)argc;
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
		fail("mount devtmpfs on /dev");
	modules = load_modules();
	wait_for_root_device();
	/* The ext4 module serves ext2 (CONFIG_EXT4_USE_FOR_EXT2). */
	if (mount(ROOT_DEVICE, ROOT_MOUNT, "ext2", 0, NULL) != 0)
		fail("mount " ROOT_DEVICE " on " ROOT_MOUNT);
	printf("linux_init: loaded %d modules, mounted " ROOT_DEVICE " (ext2) on " ROOT_MOUNT "\n",
	       modules);
	fflush(stdout);

	status = run_init(argv);
	if (WIFEXITED(status)) {
		printf("init exited with status %d\n", WEXITSTATUS(status));
	} else if ((name = signal_name(WTERMSIG(status))) != NULL) {
		printf("init killed by %s\n", name);
	} else {
		printf("init killed by signal %d\n", WTERMSIG(status));
	}
	fflush(stdout);
	value = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EXIT_SUCCESS_VALUE
							       : EXIT_FAILURE_VALUE;
	sync();
	if (umount(ROOT_MOUNT) != 0) {
		printf("linux_init: umount " ROOT_MOUNT ": %s\n", strerror(errno));
		value = EXIT_FAILURE_VALUE;
	}
	power_off(value);
}

/*
 * faults.c: one deliberate fault per run, for the kernel's fault tests.
 *
 *     faults MODE [DIR]
 *
 * Each mode prints the address it is about to touch ("fault address: 0x...")
 * and then does one thing a kernel must answer exactly as Linux does:
 *
 *   segv-unmapped   store to an address no mapping covers      -> SIGSEGV
 *   segv-readonly   store into a PROT_READ mapping             -> SIGSEGV
 *   segv-nx         call into a PROT_READ|PROT_WRITE page      -> SIGSEGV
 *   sigbus-eof      read a mapped file page past end of file   -> SIGBUS
 *   sigbus-after-truncate
 *                   touch page 2 of a shared 2-page file mapping,
 *                   ftruncate the file to 1 page, touch it again -> SIGBUS
 *   efault          write(2) from a bad pointer                -> EFAULT, goes on
 *   enosys          a system call number that does not exist   -> ENOSYS, goes on
 *   exit3           exit(3)
 *
 * The modes that survive print "survived: ..." and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void announce(const void *address)
{
	printf("fault address: %p\n", address);
	fflush(stdout);
}

static void *map_page(int prot)
{
	void *page = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		perror("mmap");
		_exit(2);
	}
	return page;
}

static int segv_unmapped(void)
{
	volatile int *nowhere = (int *)0x1000;

	announce((void *)nowhere);
	*nowhere = 1;
	return 1;
}

static int segv_readonly(void)
{
	volatile char *page = map_page(PROT_READ);

	announce((void *)page);
	page[0] = 1;
	return 1;
}

static int segv_nx(void)
{
	unsigned char *page = map_page(PROT_READ | PROT_WRITE);
	void (*function)(void);

	page[0] = 0xc3; /* ret */
	memcpy(&function, &page, sizeof function);
	announce(page);
	function();
	return 1;
}

static int sigbus_eof(const char *dir)
{
	char path[256];
	int fd;
	volatile char *map;

	snprintf(path, sizeof path, "%s/faults-short-file", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "short", 5) != 5) {
		perror(path);
		return 2;
	}
	map = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	announce((void *)(map + 4096));
	return map[4096];
}

static int sigbus_after_truncate(const char *dir)
{
	char path[256];
	char page[4096];
	int fd;
	volatile char *map;

	snprintf(path, sizeof path, "%s/faults-truncated-file", dir);
	memset(page, 'x', sizeof page);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, page, sizeof page) != sizeof page ||
	    write(fd, page, sizeof page) != sizeof page) {
		perror(path);
		return 2;
	}
	map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	map[4096] = 'y';
	if (ftruncate(fd, 4096) != 0) {
		perror("ftruncate");
		return 2;
	}
	announce((void *)(map + 4096));
	return map[4096];
}

static int efault(void)
{
	ssize_t written = write(1, (void *)1, 10);

	printf("survived: write from a bad pointer returned %zd, errno %s\n", written,
	       errno == EFAULT ? "EFAULT" : strerror(errno));
	return written == -1 && errno == EFAULT ? 0 : 1;
}

static int enosys(void)
{
	long result = syscall(999);

	printf("survived: system call 999 returned %ld, errno %s\n", result,
	       errno == ENOSYS ? "ENOSYS" : strerror(errno));
	return result == -1 && errno == ENOSYS ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *dir = argc > 2 ? argv[2] : "/";

	if (strcmp(mode, "segv-unmapped") == 0)
		return segv_unmapped();
	if (strcmp(mode, "segv-readonly") == 0)
		return segv_readonly();
	if (strcmp(mode, "segv-nx") == 0)
		return segv_nx();
	if (strcmp(mode, "sigbus-eof") == 0)
		return sigbus_eof(dir);
	if (strcmp(mode, "sigbus-after-truncate") == 0)
		return sigbus_after_truncate(dir);
	if (strcmp(mode, "efault") == 0)
		return efault();
	if (strcmp(mode, "enosys") == 0)
		return enosys();
	if (strcmp(mode, "exit3") == 0)
		return 3;
	fprintf(stderr, "usage: faults segv-unmapped|segv-readonly|segv-nx|sigbus-eof|sigbus-after-truncate|efault|enosys|exit3 [DIR]\n");
	return 2;
}

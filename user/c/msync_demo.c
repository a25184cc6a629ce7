/*
 * msync_demo: the init program `make run` boots by default. It shows, one
 * step at a time, how a store into a MAP_SHARED mapping reaches a file:
 *
 *   1. create a file one page long
 *   2. map it MAP_SHARED
 *   3. store a message into the mapping (no write() call!)
 *   4. msync(MS_SYNC): ask the kernel to write the dirty page to the disk
 *   5. read the file back with pread and compare
 *
 * Usage: msync_demo [DIR]    (default "/"; the file is DIR/msync-demo.txt)
 * Exit status 0 when the message came back from the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char message[] = "Hello from a MAP_SHARED mapping, written back by msync(MS_SYNC)!";

/* Prints why a step failed and returns the exit status for main. */
static int step_failed(const char *what)
{
	printf("  ... %s failed: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/";
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char path[256];
	char back[sizeof message];
	char *map;
	int fd;

	snprintf(path, sizeof path, "%s/msync-demo.txt", dir);
	printf("msync demo: a store into memory becomes file contents\n\n");

	printf("1. Creating %s, one page (%zu bytes) of zeros.\n", path, page);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return step_failed("open");
	if (ftruncate(fd, (off_t)page))
		return step_failed("ftruncate");

	printf("2. Mapping it with mmap(MAP_SHARED): the file's page cache page is now our memory.\n");
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return step_failed("mmap");
	printf("   The mapping is at %p.\n", (void *)map);

	printf("3. Storing the message with memcpy; the CPU sets the page's dirty bit.\n");
	memcpy(map, message, sizeof message);
	printf("   Memory now says: \"%s\"\n", map);

	printf("4. Calling msync(addr, %zu, MS_SYNC): the kernel finds the dirty page and writes it.\n",
	       page);
	if (msync(map, page, MS_SYNC))
		return step_failed("msync");
	printf("   msync returned 0: the page is on the disk.\n");

	printf("5. Reading the file back with pread (no mapping involved).\n");
	if (pread(fd, back, sizeof back, 0) != (ssize_t)sizeof back)
		return step_failed("pread");
	printf("   The file says: \"%s\"\n", back);

	munmap(map, page);
	close(fd);
	if (memcmp(back, message, sizeof message) != 0) {
		printf("\nThe file does not hold the message: msync lost the store.\n");
		return 1;
	}
	printf("\nSuccess: the store went from memory to the file. The file stays in %s.\n", dir);
	return 0;
}

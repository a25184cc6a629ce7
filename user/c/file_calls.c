/*
 * file_calls: the POSIX file-system calls a test harness needs — the
 * current directory, every *at call with its dirfd, the path walk
 * (symlinks, trailing slashes, limits), open's flags, stat and statfs,
 * access, chmod, chown, links, rename, unlink and rmdir, mknod, truncate,
 * utimensat, getdents, SEEK_DATA and SEEK_HOLE, pwrite with O_APPEND,
 * resource limits, sysinfo, times, getrusage and sched_getaffinity — one
 * case per rule of Linux 6.1, each passing there.
 *
 * Usage: file_calls [DIR]    (default "/"; the files go in DIR/file_calls.d)
 *
 * The program also runs itself (through argv[0]) in helper roles for the
 * exec cases: "file_calls --role NAME ...". Prints one "PASS name -- source"
 * or "FAIL name: ... -- source" line per case, then, once its files are
 * gone and synced, one "statfs figures: ..." line that the QEMU case
 * compares with the disk, and ends with "N passed, N failed"; exit status 0
 * only if none failed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "child.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif
#define EXT2_SUPER_MAGIC 0xEF53
#define PIPEFS_MAGIC 0x50495045
#define ST_VALID_FLAG 0x20
#define ST_RDONLY_FLAG 0x1
/* Linux's MAXSYMLINKS. */
#define MAX_SYMLINKS 40

static const char *test_dir = "/";
static const char *self;
/* The absolute path of the directory the cases work in (the current one). */
static char scratch[PATH_MAX];

/* Checks that `call` returns 0 (`expected` 0) or fails with errno `expected`. */
#define CHECK(call, expected)                                                     \
	do {                                                                      \
		errno = 0;                                                        \
		if (expect_result(#call, (int)(call), (expected)) != 0)           \
			return -1;                                                \
	} while (0)

/* Checks that two integers are equal. */
#define CHECK_EQ(what, got, want)                                                 \
	do {                                                                      \
		long long got_ = (long long)(got), want_ = (long long)(want);     \
		if (got_ != want_)                                                \
			return fail("%s: expected %lld got %lld", (what), want_, got_); \
	} while (0)

/* Opens `path`, failing the case if it cannot. */
#define OPEN(fd, ...)                                                             \
	do {                                                                      \
		(fd) = open(__VA_ARGS__);                                         \
		if ((fd) < 0)                                                     \
			return fail("open %s: %s", #__VA_ARGS__, errno_name(errno)); \
	} while (0)

/* Creates (or truncates) the file `path` holding `text`, with `mode`. */
static int make_file(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return fail("creating %s: %s", path, errno_name(errno));
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return fail("writing %s: %s", path, errno_name(errno));
	}
	close(fd);
	return 0;
}

/* Removes `path` and everything below it (no error if it is missing). */
static void remove_tree(const char *path)
{
	struct stat status;
	DIR *dir;
	struct dirent *entry;
	char child[PATH_MAX];

	if (lstat(path, &status) != 0)
		return;
	if (!S_ISDIR(status.st_mode)) {
		unlink(path);
		return;
	}
	dir = opendir(path);
	while (dir && (entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
		remove_tree(child);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

/* The inode number of `path` (not followed), or 0. */
static ino_t inode_of(const char *path)
{
	struct stat status;

	return lstat(path, &status) == 0 ? status.st_ino : 0;
}

/* The permission and type bits of `path` (not followed), or 0. */
static mode_t mode_of(const char *path)
{
	struct stat status;

	return lstat(path, &status) == 0 ? status.st_mode : 0;
}

/* ---- the current directory ---- */

static int getcwd_returns_the_path_chdir_went_to(void)
{
	char expected[PATH_MAX + 32], got[PATH_MAX];

	CHECK(mkdir("cwd-a", 0755), 0);
	CHECK(mkdir("cwd-a/b", 0755), 0);
	CHECK(chdir("cwd-a/b"), 0);
	snprintf(expected, sizeof expected, "%s/cwd-a/b", strcmp(scratch, "/") ? scratch : "");
	if (getcwd(got, sizeof got) == NULL || strcmp(got, expected) != 0)
		return fail("getcwd: expected %s got %s", expected, got);
	CHECK(chdir("../.."), 0);
	if (getcwd(got, sizeof got) == NULL || strcmp(got, scratch) != 0)
		return fail("getcwd after chdir ../..: expected %s got %s", scratch, got);
	CHECK(rmdir("cwd-a/b"), 0);
	CHECK(rmdir("cwd-a"), 0);
	return 0;
}

static int getcwd_is_erange_below_the_path_and_its_nul(void)
{
	char buffer[PATH_MAX];
	long len = (long)strlen(scratch) + 1;

	CHECK_EQ("getcwd with room for the path and its NUL", syscall(SYS_getcwd, buffer, len), len);
	CHECK(syscall(SYS_getcwd, buffer, len - 1), ERANGE);
	CHECK(syscall(SYS_getcwd, buffer, 0), ERANGE);
	CHECK(syscall(SYS_getcwd, (char *)8, sizeof buffer), EFAULT);
	return 0;
}

static int in_a_removed_directory(void *unused)
{
	char buffer[PATH_MAX];
	struct stat status;
	int fd;

	(void)unused;
	if (mkdir("gone", 0755) != 0 || chdir("gone") != 0)
		return 10;
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (rmdir("../gone") != 0)
		return 11;
	if (syscall(SYS_getcwd, buffer, sizeof buffer) != -1 || errno != ENOENT)
		return 12;
	if (open("new", O_CREAT | O_WRONLY, 0644) != -1 || errno != ENOENT)
		return 13;
	if (mkdir("new", 0755) != -1 || errno != ENOENT)
		return 14;
	if (syscall(SYS_getdents64, fd, buffer, sizeof buffer) != -1 || errno != ENOENT)
		return 15;
	if (stat(".", &status) != 0 || status.st_nlink != 0 || status.st_size != 0)
		return 16;
	if (chdir(scratch) != 0 || fchdir(fd) != 0)
		return 17;
	return 0;
}

static int a_removed_current_directory_has_no_path_and_takes_no_names(void)
{
	return expect_exit(run_child(in_a_removed_directory, NULL), 0);
}

static int chdir_needs_a_directory(void)
{
	CHECK(make_file("chdir-file", 0644, "x"), 0);
	CHECK(symlink("chdir-missing", "chdir-dangling"), 0);
	CHECK(chdir("chdir-missing"), ENOENT);
	CHECK(chdir("chdir-file"), ENOTDIR);
	CHECK(chdir("chdir-file/"), ENOTDIR);
	CHECK(chdir("chdir-dangling"), ENOENT);
	CHECK(chdir(""), ENOENT);
	CHECK(chdir((char *)8), EFAULT);
	CHECK(unlink("chdir-dangling"), 0);
	CHECK(unlink("chdir-file"), 0);
	return 0;
}

static int fchdir_goes_to_an_open_directory(void)
{
	int dir, file, pipes[2];

	CHECK(mkdir("fchdir-d", 0755), 0);
	CHECK(make_file("fchdir-d/inside", 0644, "x"), 0);
	OPEN(dir, "fchdir-d", O_RDONLY | O_DIRECTORY);
	OPEN(file, "fchdir-d/inside", O_RDONLY);
	CHECK(pipe(pipes), 0);
	CHECK(fchdir(dir), 0);
	CHECK(access("inside", F_OK), 0);
	CHECK(chdir(scratch), 0);
	CHECK(fchdir(file), ENOTDIR);
	CHECK(fchdir(pipes[0]), ENOTDIR);
	CHECK(fchdir(999), EBADF);
	close(dir);
	close(file);
	close(pipes[0]);
	close(pipes[1]);
	CHECK(unlink("fchdir-d/inside"), 0);
	CHECK(rmdir("fchdir-d"), 0);
	return 0;
}

/* The exec'd child's check: the current directory, umask and NOFILE it was given. */
static int role_inherited(const char *cwd, const char *mask, const char *nofile)
{
	char buffer[PATH_MAX];
	struct rlimit limit;

	if (getcwd(buffer, sizeof buffer) == NULL || strcmp(buffer, cwd) != 0)
		return 2;
	if (umask(0) != (mode_t)strtol(mask, NULL, 8))
		return 3;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur != (rlim_t)atol(nofile))
		return 4;
	return 0;
}

static int change_and_exec(void *cwd)
{
	struct rlimit limit = { 100, 200 };
	char *argv[] = { (char *)self, "--role", "inherited", cwd, "027", "100", NULL };
	char *envp[] = { NULL };

	if (chdir(cwd) != 0 || setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 10;
	umask(027);
	execve(self, argv, envp);
	return 11;
}

static int fork_inherits_and_exec_keeps_cwd_umask_and_limits(void)
{
	char sub[PATH_MAX + 16], got[PATH_MAX];
	struct rlimit before, after;
	mode_t mask = umask(022);

	umask(mask);
	snprintf(sub, sizeof sub, "%s/exec-cwd", strcmp(scratch, "/") ? scratch : "");
	CHECK(mkdir("exec-cwd", 0755), 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &before), 0);
	if (expect_exit(run_child(change_and_exec, sub), 0) != 0)
		return -1;
	if (getcwd(got, sizeof got) == NULL || strcmp(got, scratch) != 0)
		return fail("the parent's cwd moved to %s", got);
	CHECK_EQ("the parent's umask", umask(mask), mask);
	CHECK(getrlimit(RLIMIT_NOFILE, &after), 0);
	CHECK_EQ("the parent's NOFILE", after.rlim_cur, before.rlim_cur);
	CHECK(rmdir("exec-cwd"), 0);
	return 0;
}

/* ---- dirfd and AT_FDCWD ---- */

static int at_calls_start_relative_paths_at_dirfd(void)
{
	int dir, fd;
	struct stat status;
	char target[16];
	struct timespec times[2] = { { 1000000000, 0 }, { 1200000000, 0 } };

	CHECK(mkdir("at-d", 0755), 0);
	OPEN(dir, "at-d", O_RDONLY | O_DIRECTORY);
	OPEN(fd, "f", O_CREAT | O_WRONLY, 0644);
	close(fd);
	fd = openat(dir, "f", O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		return fail("openat(dir, f, O_EXCL): %s (f exists in the cwd only)", errno_name(errno));
	close(fd);
	CHECK(fstatat(dir, "f", &status, 0), 0);
	CHECK_EQ("fstatat's inode", status.st_ino, inode_of("at-d/f"));
	CHECK(mkdirat(dir, "sub", 0755), 0);
	CHECK(symlinkat("f", dir, "ln"), 0);
	CHECK_EQ("readlinkat", readlinkat(dir, "ln", target, sizeof target), 1);
	CHECK(linkat(dir, "f", dir, "hard", 0), 0);
	CHECK(renameat(dir, "hard", dir, "sub/moved"), 0);
	CHECK(mknodat(dir, "fifo", S_IFIFO | 0600, 0), 0);
	CHECK(fchmodat(dir, "f", 0600, 0), 0);
	CHECK(fchownat(dir, "f", 7, 8, 0), 0);
	CHECK(faccessat(dir, "f", R_OK, 0), 0);
	CHECK(utimensat(dir, "f", times, 0), 0);
	CHECK(stat("at-d/f", &status), 0);
	if ((status.st_mode & 07777) != 0600 || status.st_uid != 7 || status.st_gid != 8 ||
	    status.st_mtime != 1200000000)
		return fail("at-d/f: mode %o uid %d gid %d mtime %ld", status.st_mode, status.st_uid,
			    status.st_gid, (long)status.st_mtime);
	CHECK(access("at-d/sub/moved", F_OK), 0);
	CHECK(unlinkat(dir, "sub/moved", 0), 0);
	CHECK(unlinkat(dir, "sub", AT_REMOVEDIR), 0);
	CHECK(unlinkat(dir, "fifo", 0), 0);
	CHECK(unlinkat(dir, "ln", 0), 0);
	CHECK(unlinkat(dir, "f", 0), 0);
	CHECK(unlinkat(AT_FDCWD, "f", 0), 0);
	close(dir);
	CHECK(rmdir("at-d"), 0);
	return 0;
}

static int at_calls_check_dirfd_only_for_relative_paths(void)
{
	char absolute[PATH_MAX + 16];
	int file;
	struct stat status;

	CHECK(make_file("at-file", 0644, "x"), 0);
	OPEN(file, "at-file", O_RDONLY);
	snprintf(absolute, sizeof absolute, "%s/at-file", strcmp(scratch, "/") ? scratch : "");
	CHECK(fstatat(999, absolute, &status, 0), 0);
	CHECK(fstatat(999, "at-file", &status, 0), EBADF);
	CHECK(fstatat(file, "at-file", &status, 0), ENOTDIR);
	CHECK(mkdirat(999, "at-x", 0755), EBADF);
	CHECK(mkdirat(file, "at-x", 0755), ENOTDIR);
	CHECK(unlinkat(file, "at-x", 0), ENOTDIR);
	CHECK(openat(file, "at-x", O_RDONLY), ENOTDIR);
	CHECK(fstatat(file, "", &status, AT_EMPTY_PATH), 0);
	CHECK_EQ("AT_EMPTY_PATH names dirfd", status.st_ino, inode_of("at-file"));
	CHECK(fstatat(AT_FDCWD, "", &status, AT_EMPTY_PATH), 0);
	CHECK_EQ("AT_EMPTY_PATH with AT_FDCWD names the cwd", status.st_ino, inode_of("."));
	CHECK(fstatat(file, "", &status, 0), ENOENT);
	close(file);
	CHECK(unlink("at-file"), 0);
	return 0;
}

/* ---- the path walk ---- */

static int symlinks_in_the_middle_of_a_path_are_followed(void)
{
	struct stat status;

	CHECK(mkdir("walk-d", 0755), 0);
	CHECK(make_file("walk-d/f", 0644, "hello"), 0);
	CHECK(symlink("walk-d", "walk-rel"), 0);
	CHECK(symlink(scratch, "walk-abs"), 0);
	CHECK(symlink("walk-d/f", "walk-file"), 0);
	CHECK(stat("walk-rel/f", &status), 0);
	CHECK_EQ("walk-rel/f", status.st_ino, inode_of("walk-d/f"));
	CHECK(stat("walk-abs/walk-rel/./f", &status), 0);
	CHECK_EQ("walk-abs/walk-rel/./f", status.st_ino, inode_of("walk-d/f"));
	CHECK(stat("walk-file/x", &status), ENOTDIR);
	CHECK(stat("walk-rel/missing", &status), ENOENT);
	CHECK(stat("/..", &status), 0);
	CHECK_EQ("/.. is /", status.st_ino, inode_of("/"));
	CHECK(unlink("walk-file"), 0);
	CHECK(unlink("walk-abs"), 0);
	CHECK(unlink("walk-rel"), 0);
	CHECK(unlink("walk-d/f"), 0);
	CHECK(rmdir("walk-d"), 0);
	return 0;
}

static int forty_symlinks_are_followed_and_forty_one_are_eloop(void)
{
	char name[32], target[32];
	struct stat status;
	int index;

	CHECK(make_file("loop-file", 0644, "x"), 0);
	CHECK(symlink("loop-file", "loop0"), 0);
	for (index = 1; index <= MAX_SYMLINKS; index++) {
		snprintf(name, sizeof name, "loop%d", index);
		snprintf(target, sizeof target, "loop%d", index - 1);
		CHECK(symlink(target, name), 0);
	}
	CHECK(symlink("loop-self", "loop-self"), 0);
	snprintf(name, sizeof name, "loop%d", MAX_SYMLINKS - 1);
	CHECK(stat(name, &status), 0);
	snprintf(name, sizeof name, "loop%d", MAX_SYMLINKS);
	CHECK(stat(name, &status), ELOOP);
	CHECK(lstat(name, &status), 0);
	CHECK(open("loop-self", O_RDONLY), ELOOP);
	CHECK(stat("loop-self/x", &status), ELOOP);
	CHECK(open("loop-self", O_CREAT | O_WRONLY, 0644), ELOOP);
	for (index = 0; index <= MAX_SYMLINKS; index++) {
		snprintf(name, sizeof name, "loop%d", index);
		CHECK(unlink(name), 0);
	}
	CHECK(unlink("loop-self"), 0);
	CHECK(unlink("loop-file"), 0);
	return 0;
}

static int a_trailing_slash_needs_a_directory(void)
{
	struct stat status;

	CHECK(make_file("slash-file", 0644, "x"), 0);
	CHECK(mkdir("slash-d", 0755), 0);
	CHECK(symlink("slash-d", "slash-ln"), 0);
	CHECK(symlink("slash-file", "slash-fln"), 0);
	CHECK(stat("slash-file/", &status), ENOTDIR);
	CHECK(open("slash-file/", O_RDONLY), ENOTDIR);
	CHECK(stat("slash-d/", &status), 0);
	CHECK(lstat("slash-ln/", &status), 0);
	if (!S_ISDIR(status.st_mode))
		return fail("lstat of link/ did not follow the link: mode %o", status.st_mode);
	CHECK(lstat("slash-fln/", &status), ENOTDIR);
	CHECK(unlink("slash-fln"), 0);
	CHECK(unlink("slash-ln"), 0);
	CHECK(rmdir("slash-d"), 0);
	CHECK(unlink("slash-file"), 0);
	return 0;
}

static int names_of_256_bytes_and_paths_of_4096_are_enametoolong(void)
{
	char name[300], path[PATH_MAX + 8];
	struct stat status;
	size_t at;

	memset(name, 'n', 256);
	name[256] = 0;
	CHECK(stat(name, &status), ENAMETOOLONG);
	CHECK(open(name, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	CHECK(mkdir(name, 0755), ENAMETOOLONG);
	name[255] = 0;
	CHECK(make_file(name, 0644, ""), 0);
	CHECK(unlink(name), 0);
	/* 4095 bytes (and a NUL) are walked; 4096 are refused before. */
	for (at = 0; at < PATH_MAX - 1; at += 2)
		memcpy(path + at, "./", 2);
	path[PATH_MAX - 1] = 0;
	path[PATH_MAX - 2] = 'x';
	CHECK(stat(path, &status), ENOENT);
	path[PATH_MAX - 1] = 'x';
	path[PATH_MAX] = 0;
	CHECK(stat(path, &status), ENAMETOOLONG);
	return 0;
}

static int empty_paths_are_enoent_and_bad_pointers_efault(void)
{
	struct stat status;

	CHECK(open("", O_RDONLY), ENOENT);
	CHECK(stat("", &status), ENOENT);
	CHECK(lstat("", &status), ENOENT);
	CHECK(mkdir("", 0755), ENOENT);
	CHECK(unlink(""), ENOENT);
	CHECK(rmdir(""), ENOENT);
	CHECK(access("", F_OK), ENOENT);
	CHECK(truncate("", 0), ENOENT);
	CHECK(open((char *)8, O_RDONLY), EFAULT);
	CHECK(stat((char *)8, &status), EFAULT);
	CHECK(mkdir((char *)8, 0755), EFAULT);
	CHECK(rename((char *)8, "x"), EFAULT);
	CHECK(syscall(SYS_stat, ".", (void *)8), EFAULT);
	return 0;
}

/* ---- open ---- */

static int open_nofollow_on_a_symlink_is_eloop(void)
{
	int fd;

	CHECK(make_file("nofollow-file", 0644, "x"), 0);
	CHECK(symlink("nofollow-file", "nofollow-ln"), 0);
	CHECK(open("nofollow-ln", O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK(open("nofollow-ln", O_CREAT | O_WRONLY | O_NOFOLLOW, 0644), ELOOP);
	OPEN(fd, "nofollow-file", O_RDONLY | O_NOFOLLOW);
	close(fd);
	OPEN(fd, "nofollow-ln", O_RDONLY);
	close(fd);
	CHECK(unlink("nofollow-ln"), 0);
	CHECK(unlink("nofollow-file"), 0);
	return 0;
}

static int open_creat_through_a_dangling_symlink_creates_its_target(void)
{
	int fd;

	CHECK(mkdir("dangle-d", 0755), 0);
	CHECK(symlink("dangle-d/target", "dangle-ln"), 0);
	CHECK(symlink("dangle-missing/target", "dangle-nowhere"), 0);
	CHECK(open("dangle-ln", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	OPEN(fd, "dangle-ln", O_CREAT | O_WRONLY, 0644);
	close(fd);
	if (!S_ISREG(mode_of("dangle-d/target")))
		return fail("the target was not created as a regular file");
	CHECK(open("dangle-nowhere", O_CREAT | O_WRONLY, 0644), ENOENT);
	CHECK(unlink("dangle-nowhere"), 0);
	CHECK(unlink("dangle-ln"), 0);
	CHECK(unlink("dangle-d/target"), 0);
	CHECK(rmdir("dangle-d"), 0);
	return 0;
}

static int open_o_directory_needs_a_directory(void)
{
	int fd;

	CHECK(make_file("odir-file", 0644, "x"), 0);
	CHECK(mkdir("odir-d", 0755), 0);
	CHECK(symlink("odir-d", "odir-ln"), 0);
	CHECK(open("odir-file", O_RDONLY | O_DIRECTORY), ENOTDIR);
	OPEN(fd, "odir-ln", O_RDONLY | O_DIRECTORY);
	close(fd);
	CHECK(unlink("odir-ln"), 0);
	CHECK(rmdir("odir-d"), 0);
	CHECK(unlink("odir-file"), 0);
	return 0;
}

static int open_refuses_to_create_or_write_directories(void)
{
	CHECK(mkdir("owr-d", 0755), 0);
	CHECK(make_file("owr-file", 0644, "x"), 0);
	CHECK(open("owr-new/", O_CREAT | O_WRONLY, 0644), EISDIR);
	CHECK(open("owr-file/", O_CREAT | O_WRONLY, 0644), EISDIR);
	CHECK(open("owr-d", O_CREAT | O_RDONLY, 0644), EISDIR);
	CHECK(open("owr-d", O_CREAT | O_EXCL | O_RDONLY, 0644), EEXIST);
	CHECK(open(".", O_CREAT | O_RDONLY, 0644), EISDIR);
	CHECK(open("owr-d", O_WRONLY), EISDIR);
	CHECK(open("owr-d", O_RDWR), EISDIR);
	CHECK(open("owr-d", O_RDONLY | O_TRUNC), EISDIR);
	CHECK(open("owr-file", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CHECK(open("owr-missing/x", O_CREAT | O_WRONLY, 0644), ENOENT);
	CHECK(open("owr-file/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	CHECK(access("owr-new", F_OK), ENOENT);
	CHECK(rmdir("owr-d"), 0);
	CHECK(unlink("owr-file"), 0);
	return 0;
}

static int umask_masks_open_mkdir_and_mknod_but_not_symlink(void)
{
	mode_t old = umask(027);
	int fd;

	CHECK_EQ("umask returns the mask it replaced", umask(01777), 027);
	CHECK_EQ("umask keeps only the permission bits", umask(027), 0777);
	OPEN(fd, "umask-file", O_CREAT | O_WRONLY, 0666);
	close(fd);
	CHECK(mkdir("umask-d", 0777), 0);
	CHECK(mknod("umask-fifo", S_IFIFO | 0666, 0), 0);
	CHECK(symlink("umask-file", "umask-ln"), 0);
	umask(old);
	CHECK_EQ("open 0666 with umask 027", mode_of("umask-file"), S_IFREG | 0640);
	CHECK_EQ("mkdir 0777 with umask 027", mode_of("umask-d"), S_IFDIR | 0750);
	CHECK_EQ("mknod 0666 with umask 027", mode_of("umask-fifo"), S_IFIFO | 0640);
	CHECK_EQ("symlink is 0777 whatever the umask", mode_of("umask-ln"), S_IFLNK | 0777);
	CHECK(unlink("umask-ln"), 0);
	CHECK(unlink("umask-fifo"), 0);
	CHECK(rmdir("umask-d"), 0);
	CHECK(unlink("umask-file"), 0);
	return 0;
}

static int new_files_keep_set_id_bits_and_directories_drop_them(void)
{
	mode_t old = umask(0);
	int fd;

	CHECK(mkdir("setid-d", 07777), 0);
	OPEN(fd, "setid-file", O_CREAT | O_WRONLY, 07777);
	close(fd);
	umask(old);
	CHECK_EQ("mkdir 07777", mode_of("setid-d"), S_IFDIR | 01777);
	CHECK_EQ("open 07777", mode_of("setid-file"), S_IFREG | 07777);
	CHECK(rmdir("setid-d"), 0);
	CHECK(unlink("setid-file"), 0);
	return 0;
}

static int a_set_group_id_directory_passes_on_its_group(void)
{
	struct stat status;
	int fd;

	CHECK(mkdir("sgid-d", 0755), 0);
	CHECK(chown("sgid-d", 0, 55), 0);
	CHECK(chmod("sgid-d", 02775), 0);
	CHECK(mkdir("sgid-d/sub", 0755), 0);
	OPEN(fd, "sgid-d/file", O_CREAT | O_WRONLY, 0644);
	close(fd);
	CHECK(stat("sgid-d/sub", &status), 0);
	if (status.st_gid != 55 || !(status.st_mode & S_ISGID))
		return fail("new directory: gid %d mode %o", status.st_gid, status.st_mode);
	CHECK(stat("sgid-d/file", &status), 0);
	if (status.st_gid != 55 || (status.st_mode & S_ISGID))
		return fail("new file: gid %d mode %o", status.st_gid, status.st_mode);
	CHECK(unlink("sgid-d/file"), 0);
	CHECK(rmdir("sgid-d/sub"), 0);
	CHECK(rmdir("sgid-d"), 0);
	return 0;
}

static int creat_opens_write_only_and_truncates(void)
{
	char buffer[8];
	struct stat status;
	int fd;

	CHECK(make_file("creat-file", 0644, "old contents"), 0);
	fd = (int)syscall(SYS_creat, "creat-file", 0600);
	if (fd < 0)
		return fail("creat: %s", errno_name(errno));
	CHECK(fstat(fd, &status), 0);
	CHECK_EQ("creat truncates", status.st_size, 0);
	CHECK(read(fd, buffer, sizeof buffer), EBADF);
	CHECK_EQ("creat writes", write(fd, "new", 3), 3);
	close(fd);
	CHECK(unlink("creat-file"), 0);
	return 0;
}

/* ---- stat ---- */

static int stat_follows_symlinks_and_lstat_does_not(void)
{
	struct stat followed, link;

	CHECK(make_file("lstat-file", 0644, "twelve bytes"), 0);
	CHECK(symlink("lstat-file", "lstat-ln"), 0);
	CHECK(stat("lstat-ln", &followed), 0);
	CHECK(lstat("lstat-ln", &link), 0);
	CHECK_EQ("stat follows", followed.st_ino, inode_of("lstat-file"));
	CHECK_EQ("stat size", followed.st_size, 12);
	if (!S_ISLNK(link.st_mode) || link.st_size != 10 || link.st_nlink != 1)
		return fail("lstat: mode %o size %ld nlink %ld", link.st_mode, (long)link.st_size,
			    (long)link.st_nlink);
	CHECK(unlink("lstat-ln"), 0);
	CHECK(unlink("lstat-file"), 0);
	return 0;
}

static int stat_reports_each_kind_and_its_links(void)
{
	struct stat status, parent;

	CHECK(mkdir("kinds", 0755), 0);
	CHECK(stat("kinds", &parent), 0);
	CHECK_EQ("a new directory's links", parent.st_nlink, 2);
	CHECK(mkdir("kinds/sub", 0755), 0);
	CHECK(stat("kinds", &parent), 0);
	CHECK_EQ("links after a subdirectory", parent.st_nlink, 3);
	CHECK(mknod("kinds/chr", S_IFCHR | 0600, makedev(1, 3)), 0);
	CHECK(mknod("kinds/blk", S_IFBLK | 0600, makedev(254, 16)), 0);
	CHECK(mknod("kinds/big", S_IFCHR | 0600, makedev(300, 70000)), 0);
	CHECK(mknod("kinds/sock", S_IFSOCK | 0600, 0), 0);
	CHECK(stat("kinds/chr", &status), 0);
	if (!S_ISCHR(status.st_mode) || major(status.st_rdev) != 1 || minor(status.st_rdev) != 3)
		return fail("chr: mode %o rdev %#lx", status.st_mode, (long)status.st_rdev);
	CHECK(stat("kinds/blk", &status), 0);
	if (!S_ISBLK(status.st_mode) || status.st_rdev != makedev(254, 16))
		return fail("blk: mode %o rdev %#lx", status.st_mode, (long)status.st_rdev);
	CHECK(stat("kinds/big", &status), 0);
	if (major(status.st_rdev) != 300 || minor(status.st_rdev) != 70000)
		return fail("big: rdev %#lx", (long)status.st_rdev);
	CHECK(stat("kinds/sock", &status), 0);
	CHECK_EQ("socket type", status.st_mode & S_IFMT, S_IFSOCK);
	CHECK(stat("kinds/sub", &status), 0);
	CHECK_EQ("st_dev is the same disk", status.st_dev, parent.st_dev);
	remove_tree("kinds");
	return 0;
}

static int st_blksize_is_the_file_system_block(void)
{
	struct stat status;
	struct statfs figures;

	CHECK(stat(".", &status), 0);
	CHECK(statfs(".", &figures), 0);
	CHECK_EQ("st_blksize", status.st_blksize, figures.f_bsize);
	return 0;
}

static int fstatat_refuses_unknown_flags(void)
{
	struct stat status;

	CHECK(fstatat(AT_FDCWD, ".", &status, 0x1), EINVAL);
	CHECK(fstatat(AT_FDCWD, ".", &status, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT), 0);
	return 0;
}

/* ---- access ---- */

static int access_as_root_checks_existence_and_execute_bits(void)
{
	CHECK(make_file("acc-plain", 0644, "x"), 0);
	CHECK(make_file("acc-exec", 0744, "x"), 0);
	CHECK(make_file("acc-none", 0000, "x"), 0);
	CHECK(mkdir("acc-d", 0600), 0);
	CHECK(access("acc-plain", F_OK), 0);
	CHECK(access("acc-missing", F_OK), ENOENT);
	CHECK(access("acc-none", R_OK | W_OK), 0);
	CHECK(access("acc-plain", X_OK), EACCES);
	CHECK(access("acc-exec", X_OK), 0);
	CHECK(access("acc-d", X_OK), 0);
	CHECK(access("acc-plain", 8), EINVAL);
	CHECK(rmdir("acc-d"), 0);
	CHECK(unlink("acc-none"), 0);
	CHECK(unlink("acc-exec"), 0);
	CHECK(unlink("acc-plain"), 0);
	return 0;
}

static int faccessat2_takes_eaccess_nofollow_and_empty_path(void)
{
	int fd;

	CHECK(symlink("fa-missing", "fa-dangling"), 0);
	OPEN(fd, ".", O_RDONLY | O_DIRECTORY);
	CHECK(syscall(SYS_faccessat2, AT_FDCWD, "fa-dangling", F_OK, 0), ENOENT);
	CHECK(syscall(SYS_faccessat2, AT_FDCWD, "fa-dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(syscall(SYS_faccessat2, AT_FDCWD, ".", R_OK, AT_EACCESS), 0);
	CHECK(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH), 0);
	CHECK(syscall(SYS_faccessat2, fd, "", R_OK, 0), ENOENT);
	CHECK(syscall(SYS_faccessat2, AT_FDCWD, ".", F_OK, 0x8), EINVAL);
	CHECK(syscall(SYS_faccessat2, AT_FDCWD, (char *)8, F_OK, 0x8), EINVAL);
	close(fd);
	CHECK(unlink("fa-dangling"), 0);
	return 0;
}

/* ---- chmod and chown ---- */

static int chmod_sets_every_permission_bit_through_links(void)
{
	int fd;

	CHECK(make_file("chmod-file", 0644, "x"), 0);
	CHECK(symlink("chmod-file", "chmod-ln"), 0);
	CHECK(chmod("chmod-ln", 07777), 0);
	CHECK_EQ("chmod through a link", mode_of("chmod-file"), S_IFREG | 07777);
	CHECK_EQ("the link itself", mode_of("chmod-ln"), S_IFLNK | 0777);
	OPEN(fd, "chmod-file", O_RDONLY);
	CHECK(fchmod(fd, 0400), 0);
	close(fd);
	CHECK_EQ("fchmod", mode_of("chmod-file"), S_IFREG | 0400);
	CHECK(chmod("chmod-missing", 0644), ENOENT);
	CHECK(fchmod(999, 0644), EBADF);
	CHECK(unlink("chmod-ln"), 0);
	CHECK(unlink("chmod-file"), 0);
	return 0;
}

static int chown_lchown_and_fchownat_change_owners(void)
{
	struct stat status;
	int fd;

	CHECK(make_file("own-file", 0644, "x"), 0);
	CHECK(symlink("own-file", "own-ln"), 0);
	CHECK(chown("own-ln", 10, 20), 0);
	CHECK(stat("own-file", &status), 0);
	if (status.st_uid != 10 || status.st_gid != 20)
		return fail("chown through a link: %d:%d", status.st_uid, status.st_gid);
	CHECK(chown("own-file", -1, 21), 0);
	CHECK(stat("own-file", &status), 0);
	if (status.st_uid != 10 || status.st_gid != 21)
		return fail("chown -1 21: %d:%d", status.st_uid, status.st_gid);
	CHECK(lchown("own-ln", 30, 40), 0);
	CHECK(lstat("own-ln", &status), 0);
	if (status.st_uid != 30 || status.st_gid != 40)
		return fail("lchown: %d:%d", status.st_uid, status.st_gid);
	CHECK(fchownat(AT_FDCWD, "own-ln", 31, 41, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(lstat("own-ln", &status), 0);
	CHECK_EQ("fchownat NOFOLLOW", status.st_uid, 31);
	OPEN(fd, "own-file", O_RDONLY);
	CHECK(fchownat(fd, "", 70000, 70001, AT_EMPTY_PATH), 0);
	CHECK(fstat(fd, &status), 0);
	if (status.st_uid != 70000 || status.st_gid != 70001)
		return fail("32-bit ids by AT_EMPTY_PATH: %d:%d", status.st_uid, status.st_gid);
	CHECK(fchown(fd, 0, 0), 0);
	close(fd);
	CHECK(fchownat(AT_FDCWD, "own-file", 0, 0, 0x4), EINVAL);
	CHECK(fchownat(AT_FDCWD, "", 0, 0, 0), ENOENT);
	CHECK(fchown(999, 0, 0), EBADF);
	CHECK(unlink("own-ln"), 0);
	CHECK(unlink("own-file"), 0);
	return 0;
}

static int chown_clears_set_user_id_and_executable_set_group_id(void)
{
	CHECK(make_file("suid-file", 0644, "x"), 0);
	CHECK(chmod("suid-file", 06755), 0);
	CHECK(chown("suid-file", -1, -1), 0);
	CHECK_EQ("after chown -1 -1", mode_of("suid-file"), S_IFREG | 0755);
	CHECK(chmod("suid-file", 06745), 0);
	CHECK(chown("suid-file", 5, 6), 0);
	CHECK_EQ("set-group-ID without group execute stays", mode_of("suid-file"), S_IFREG | 02745);
	CHECK(mkdir("suid-d", 0755), 0);
	CHECK(chmod("suid-d", 06755), 0);
	CHECK(chown("suid-d", 1, 1), 0);
	CHECK_EQ("a directory keeps its bits", mode_of("suid-d"), S_IFDIR | 06755);
	CHECK(rmdir("suid-d"), 0);
	CHECK(unlink("suid-file"), 0);
	return 0;
}

/* ---- links ---- */

static int link_adds_a_name_to_the_same_inode(void)
{
	struct stat status;
	char buffer[8] = { 0 };
	int fd;

	CHECK(make_file("link-old", 0644, "data"), 0);
	CHECK(link("link-old", "link-new"), 0);
	CHECK(stat("link-old", &status), 0);
	CHECK_EQ("links", status.st_nlink, 2);
	CHECK_EQ("same inode", inode_of("link-new"), status.st_ino);
	CHECK(unlink("link-old"), 0);
	OPEN(fd, "link-new", O_RDONLY);
	CHECK_EQ("read through the other name", read(fd, buffer, sizeof buffer), 4);
	close(fd);
	CHECK(stat("link-new", &status), 0);
	CHECK_EQ("links after unlink", status.st_nlink, 1);
	CHECK(unlink("link-new"), 0);
	return 0;
}

static int link_errors_are_linux_errnos(void)
{
	CHECK(make_file("linkerr-file", 0644, "x"), 0);
	CHECK(mkdir("linkerr-d", 0755), 0);
	CHECK(link("linkerr-file", "linkerr-file"), EEXIST);
	CHECK(link("linkerr-d", "linkerr-x"), EPERM);
	CHECK(link("linkerr-missing", "linkerr-x"), ENOENT);
	CHECK(link("linkerr-file", "linkerr-x/"), ENOENT);
	CHECK(link("linkerr-file/", "linkerr-x"), ENOTDIR);
	CHECK(link("linkerr-file", "linkerr-d/."), EEXIST);
	CHECK(link("linkerr-file", "linkerr-missing/x"), ENOENT);
	CHECK(rmdir("linkerr-d"), 0);
	CHECK(unlink("linkerr-file"), 0);
	return 0;
}

static int linkat_follows_a_symlink_only_when_asked(void)
{
	int fd;

	CHECK(make_file("la-file", 0644, "x"), 0);
	CHECK(symlink("la-file", "la-ln"), 0);
	CHECK(linkat(AT_FDCWD, "la-ln", AT_FDCWD, "la-same", 0), 0);
	CHECK(linkat(AT_FDCWD, "la-ln", AT_FDCWD, "la-target", AT_SYMLINK_FOLLOW), 0);
	CHECK_EQ("without AT_SYMLINK_FOLLOW: the link", inode_of("la-same"), inode_of("la-ln"));
	CHECK_EQ("with AT_SYMLINK_FOLLOW: its target", inode_of("la-target"), inode_of("la-file"));
	OPEN(fd, "la-file", O_RDONLY);
	CHECK(linkat(fd, "", AT_FDCWD, "la-empty", AT_EMPTY_PATH), 0);
	close(fd);
	CHECK_EQ("AT_EMPTY_PATH links dirfd", inode_of("la-empty"), inode_of("la-file"));
	CHECK(linkat(AT_FDCWD, "la-file", AT_FDCWD, "la-x", 0x2), EINVAL);
	CHECK(unlink("la-empty"), 0);
	CHECK(unlink("la-target"), 0);
	CHECK(unlink("la-same"), 0);
	CHECK(unlink("la-ln"), 0);
	CHECK(unlink("la-file"), 0);
	return 0;
}

static int symlinks_keep_short_and_long_targets(void)
{
	char long_target[201], buffer[256];
	struct stat status;

	memset(long_target, 't', 200);
	long_target[200] = 0;
	CHECK(symlink("short/target", "sym-short"), 0);
	CHECK(symlink(long_target, "sym-long"), 0);
	CHECK_EQ("readlink short", readlink("sym-short", buffer, sizeof buffer), 12);
	if (memcmp(buffer, "short/target", 12) != 0)
		return fail("the short target came back as %.12s", buffer);
	CHECK_EQ("readlink long", readlink("sym-long", buffer, sizeof buffer), 200);
	if (memcmp(buffer, long_target, 200) != 0)
		return fail("the long target came back changed");
	CHECK(lstat("sym-short", &status), 0);
	if (status.st_size != 12 || status.st_blocks != 0)
		return fail("a fast symlink: size %ld blocks %ld", (long)status.st_size,
			    (long)status.st_blocks);
	CHECK(lstat("sym-long", &status), 0);
	if (status.st_size != 200 || status.st_blocks == 0)
		return fail("a slow symlink: size %ld blocks %ld", (long)status.st_size,
			    (long)status.st_blocks);
	CHECK(unlink("sym-long"), 0);
	CHECK(unlink("sym-short"), 0);
	return 0;
}

static int symlink_and_readlink_errors_are_linux_errnos(void)
{
	char buffer[16];
	int dir;

	CHECK(make_file("rl-file", 0644, "x"), 0);
	CHECK(symlink("rl-file", "rl-ln"), 0);
	CHECK(symlink("", "rl-empty"), ENOENT);
	CHECK(symlink("x", "rl-file"), EEXIST);
	CHECK(symlink("x", "rl-new/"), ENOENT);
	CHECK(symlink("x", "."), EEXIST);
	CHECK_EQ("readlink truncates", readlink("rl-ln", buffer, 3), 3);
	if (memcmp(buffer, "rl-", 3) != 0)
		return fail("truncated target %.3s", buffer);
	CHECK(readlink("rl-file", buffer, sizeof buffer), EINVAL);
	CHECK(syscall(SYS_readlink, "rl-ln", buffer, 0), EINVAL);
	CHECK(syscall(SYS_readlink, "rl-ln", buffer, -1), EINVAL);
	CHECK(readlink("rl-missing", buffer, sizeof buffer), ENOENT);
	CHECK(readlink("", buffer, sizeof buffer), ENOENT);
	OPEN(dir, ".", O_RDONLY | O_DIRECTORY);
	CHECK_EQ("readlinkat from dirfd", readlinkat(dir, "rl-ln", buffer, sizeof buffer), 7);
	CHECK(readlinkat(dir, "", buffer, sizeof buffer), ENOENT);
	close(dir);
	CHECK(unlink("rl-ln"), 0);
	CHECK(unlink("rl-file"), 0);
	return 0;
}

/* ---- unlink and rmdir ---- */

static int unlink_errors_are_linux_errnos(void)
{
	CHECK(make_file("ul-file", 0644, "x"), 0);
	CHECK(mkdir("ul-d", 0755), 0);
	CHECK(unlink("ul-d"), EISDIR);
	CHECK(unlink("ul-d/"), EISDIR);
	CHECK(unlink("ul-file/"), ENOTDIR);
	CHECK(unlink("ul-missing"), ENOENT);
	CHECK(unlink("ul-missing/"), ENOENT);
	CHECK(unlink("."), EISDIR);
	CHECK(unlink("/"), EISDIR);
	CHECK(unlinkat(AT_FDCWD, "ul-d", AT_REMOVEDIR | 0x1), EINVAL);
	CHECK(unlinkat(AT_FDCWD, "ul-file", AT_REMOVEDIR), ENOTDIR);
	CHECK(unlinkat(AT_FDCWD, "ul-d", AT_REMOVEDIR), 0);
	CHECK(unlinkat(AT_FDCWD, "ul-file", 0), 0);
	return 0;
}

static int rmdir_errors_are_linux_errnos(void)
{
	CHECK(mkdir("rd-full", 0755), 0);
	CHECK(mkdir("rd-full/sub", 0755), 0);
	CHECK(make_file("rd-file", 0644, "x"), 0);
	CHECK(symlink("rd-full", "rd-ln"), 0);
	CHECK(rmdir("rd-full"), ENOTEMPTY);
	CHECK(rmdir("rd-file"), ENOTDIR);
	CHECK(rmdir("rd-ln"), ENOTDIR);
	CHECK(rmdir("rd-ln/"), ENOTDIR);
	CHECK(rmdir("rd-full/sub/."), EINVAL);
	CHECK(rmdir("rd-full/sub/.."), ENOTEMPTY);
	CHECK(rmdir("/"), EBUSY);
	CHECK(rmdir("rd-missing"), ENOENT);
	CHECK(rmdir("rd-full/sub/"), 0);
	CHECK(rmdir("rd-full"), 0);
	CHECK(unlink("rd-ln"), 0);
	CHECK(unlink("rd-file"), 0);
	return 0;
}

/* ---- rename ---- */

static int rename_moves_names_and_replaces_files(void)
{
	struct stat status;
	ino_t moved;
	int fd;
	char buffer[8] = { 0 };

	CHECK(make_file("rn-a", 0644, "aaa"), 0);
	CHECK(make_file("rn-b", 0644, "bbb"), 0);
	moved = inode_of("rn-a");
	OPEN(fd, "rn-b", O_RDONLY);
	CHECK(rename("rn-a", "rn-b"), 0);
	CHECK_EQ("the new name names the moved inode", inode_of("rn-b"), moved);
	CHECK(access("rn-a", F_OK), ENOENT);
	CHECK_EQ("the replaced file stays readable while open", read(fd, buffer, 3), 3);
	if (memcmp(buffer, "bbb", 3) != 0)
		return fail("the replaced file now holds %.3s", buffer);
	close(fd);
	CHECK(rename("rn-b", "rn-b"), 0);
	CHECK(mkdir("rn-from", 0755), 0);
	CHECK(mkdir("rn-to", 0755), 0);
	CHECK(mkdir("rn-from/d", 0755), 0);
	CHECK(rename("rn-from/d", "rn-to/d"), 0);
	CHECK(stat("rn-to/d/..", &status), 0);
	CHECK_EQ("a moved directory's ..", status.st_ino, inode_of("rn-to"));
	CHECK(stat("rn-from", &status), 0);
	CHECK_EQ("the old parent's links", status.st_nlink, 2);
	CHECK(stat("rn-to", &status), 0);
	CHECK_EQ("the new parent's links", status.st_nlink, 3);
	CHECK(mkdir("rn-empty", 0755), 0);
	CHECK(rename("rn-to/d", "rn-empty"), 0);
	CHECK(stat("rn-to", &status), 0);
	CHECK_EQ("links after moving over an empty directory", status.st_nlink, 2);
	CHECK(rmdir("rn-empty"), 0);
	CHECK(rmdir("rn-to"), 0);
	CHECK(rmdir("rn-from"), 0);
	CHECK(unlink("rn-b"), 0);
	return 0;
}

static int rename_errors_are_linux_errnos(void)
{
	CHECK(mkdir("rne-d", 0755), 0);
	CHECK(mkdir("rne-d/sub", 0755), 0);
	CHECK(mkdir("rne-full", 0755), 0);
	CHECK(make_file("rne-full/x", 0644, "x"), 0);
	CHECK(make_file("rne-file", 0644, "x"), 0);
	CHECK(rename("rne-d", "rne-d/sub/inside"), EINVAL);
	CHECK(rename("rne-d/sub", "rne-d"), ENOTEMPTY);
	CHECK(rename("rne-d", "rne-full"), ENOTEMPTY);
	CHECK(rename("rne-file", "rne-d"), EISDIR);
	CHECK(rename("rne-d", "rne-file"), ENOTDIR);
	CHECK(rename("rne-missing", "rne-x"), ENOENT);
	CHECK(rename("rne-file", "rne-missing/x"), ENOENT);
	CHECK(rename(".", "rne-x"), EBUSY);
	CHECK(rename("rne-file", "rne-d/.."), EBUSY);
	CHECK(rename("/", "rne-x"), EBUSY);
	CHECK(rename("rne-file/", "rne-x"), ENOTDIR);
	CHECK(rename("rne-file", "rne-x/"), ENOTDIR);
	CHECK(rename("rne-d/", "rne-moved/"), 0);
	CHECK(rename("rne-moved", "rne-d"), 0);
	remove_tree("rne-d");
	remove_tree("rne-full");
	CHECK(unlink("rne-file"), 0);
	return 0;
}

static int renameat2_noreplace_and_its_flag_checks(void)
{
	CHECK(make_file("rn2-a", 0644, "a"), 0);
	CHECK(make_file("rn2-b", 0644, "b"), 0);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-a", AT_FDCWD, "rn2-b", RENAME_NOREPLACE),
	      EEXIST);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-a", AT_FDCWD, ".", RENAME_NOREPLACE), EEXIST);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-a", AT_FDCWD, "rn2-c", RENAME_NOREPLACE), 0);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-c", AT_FDCWD, "rn2-b",
		      RENAME_NOREPLACE | RENAME_EXCHANGE),
	      EINVAL);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-c", AT_FDCWD, "rn2-b", 8), EINVAL);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "rn2-c", AT_FDCWD, "rn2-b", 0), 0);
	CHECK(access("rn2-c", F_OK), ENOENT);
	CHECK(unlink("rn2-b"), 0);
	return 0;
}

static int renameat2_exchange_swaps_two_names(void)
{
	struct stat status;
	ino_t file, dir;

	CHECK(make_file("ex-a", 0644, "a"), 0);
	CHECK(make_file("ex-b", 0644, "b"), 0);
	CHECK(mkdir("ex-x", 0755), 0);
	CHECK(mkdir("ex-y", 0755), 0);
	CHECK(mkdir("ex-x/dir", 0755), 0);
	CHECK(make_file("ex-y/file", 0644, "f"), 0);
	file = inode_of("ex-a");
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-a", AT_FDCWD, "ex-b", RENAME_EXCHANGE), 0);
	CHECK_EQ("ex-b after the exchange", inode_of("ex-b"), file);
	dir = inode_of("ex-x/dir");
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-x/dir", AT_FDCWD, "ex-y/file", RENAME_EXCHANGE),
	      0);
	CHECK_EQ("the directory's new name", inode_of("ex-y/file"), dir);
	CHECK(stat("ex-y/file/..", &status), 0);
	CHECK_EQ("its .. follows it", status.st_ino, inode_of("ex-y"));
	CHECK(stat("ex-x", &status), 0);
	CHECK_EQ("the parent it left", status.st_nlink, 2);
	CHECK(stat("ex-y", &status), 0);
	CHECK_EQ("the parent it joined", status.st_nlink, 3);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-a", AT_FDCWD, "ex-missing", RENAME_EXCHANGE),
	      ENOENT);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-y", AT_FDCWD, "ex-y/file/x", RENAME_EXCHANGE),
	      ENOENT);
	CHECK(mkdir("ex-y/file/x", 0755), 0);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-y", AT_FDCWD, "ex-y/file/x", RENAME_EXCHANGE),
	      EINVAL);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-a/", AT_FDCWD, "ex-x", RENAME_EXCHANGE), ENOTDIR);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "ex-x", AT_FDCWD, "ex-a/", RENAME_EXCHANGE), ENOTDIR);
	remove_tree("ex-x");
	remove_tree("ex-y");
	CHECK(unlink("ex-a"), 0);
	CHECK(unlink("ex-b"), 0);
	return 0;
}

static int renameat2_whiteout_leaves_a_whiteout_behind(void)
{
	struct stat status;
	ino_t moved;

	CHECK(make_file("wo-a", 0644, "a"), 0);
	moved = inode_of("wo-a");
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "wo-a", AT_FDCWD, "wo-b", RENAME_WHITEOUT), 0);
	CHECK_EQ("the new name", inode_of("wo-b"), moved);
	CHECK(lstat("wo-a", &status), 0);
	if (status.st_mode != S_IFCHR || status.st_rdev != makedev(0, 0))
		return fail("the whiteout: mode %o rdev %#lx", status.st_mode, (long)status.st_rdev);
	CHECK(syscall(SYS_renameat2, AT_FDCWD, "wo-b", AT_FDCWD, "wo-a",
		      RENAME_WHITEOUT | RENAME_EXCHANGE),
	      EINVAL);
	CHECK(unlink("wo-a"), 0);
	CHECK(unlink("wo-b"), 0);
	return 0;
}

/* ---- mknod ---- */

static int mknod_makes_special_files_and_refuses_directories(void)
{
	CHECK(mknod("mk-fifo", S_IFIFO | 0644, 0), 0);
	CHECK(mknod("mk-plain", 0644, 0), 0);
	CHECK(mknod("mk-reg", S_IFREG | 0644, 0), 0);
	CHECK_EQ("a FIFO", mode_of("mk-fifo"), S_IFIFO | 0644);
	CHECK_EQ("type 0 is a regular file", mode_of("mk-plain"), S_IFREG | 0644);
	CHECK_EQ("S_IFREG", mode_of("mk-reg"), S_IFREG | 0644);
	CHECK(mknod("mk-dir", S_IFDIR | 0755, 0), EPERM);
	CHECK(mknod("mk-bad", 0170000 | 0644, 0), EINVAL);
	CHECK(mknod("mk-fifo", S_IFIFO | 0644, 0), EEXIST);
	CHECK(mknod("mk-new/", S_IFIFO | 0644, 0), ENOENT);
	CHECK(mknodat(AT_FDCWD, "mk-missing/x", S_IFIFO | 0644, 0), ENOENT);
	CHECK(unlink("mk-reg"), 0);
	CHECK(unlink("mk-plain"), 0);
	CHECK(unlink("mk-fifo"), 0);
	return 0;
}

/* ---- truncate ---- */

static int truncate_sets_the_size_by_path(void)
{
	struct stat status;
	char buffer[8];
	int fd;

	CHECK(make_file("tr-file", 0644, "0123456789"), 0);
	CHECK(symlink("tr-file", "tr-ln"), 0);
	CHECK(truncate("tr-ln", 4), 0);
	CHECK(stat("tr-file", &status), 0);
	CHECK_EQ("shrunk through a link", status.st_size, 4);
	CHECK(truncate("tr-file", 8192), 0);
	OPEN(fd, "tr-file", O_RDONLY);
	CHECK_EQ("pread in the new tail", pread(fd, buffer, 4, 6000), 4);
	if (memcmp(buffer, "\0\0\0\0", 4) != 0)
		return fail("the grown tail does not read zeros");
	close(fd);
	CHECK(mkdir("tr-d", 0755), 0);
	CHECK(mknod("tr-fifo", S_IFIFO | 0644, 0), 0);
	CHECK(truncate("tr-missing", -1), EINVAL);
	CHECK(truncate("tr-missing", 0), ENOENT);
	CHECK(truncate("tr-d", 0), EISDIR);
	CHECK(truncate("tr-fifo", 0), EINVAL);
	CHECK(unlink("tr-fifo"), 0);
	CHECK(rmdir("tr-d"), 0);
	CHECK(unlink("tr-ln"), 0);
	CHECK(unlink("tr-file"), 0);
	return 0;
}

static int ftruncate_needs_a_regular_file_open_for_writing(void)
{
	int reader, writer, dir;

	CHECK(make_file("ftr-file", 0644, "x"), 0);
	OPEN(reader, "ftr-file", O_RDONLY);
	OPEN(writer, "ftr-file", O_WRONLY);
	OPEN(dir, ".", O_RDONLY | O_DIRECTORY);
	CHECK(ftruncate(reader, 0), EINVAL);
	CHECK(ftruncate(dir, 0), EINVAL);
	CHECK(ftruncate(writer, -1), EINVAL);
	CHECK(ftruncate(999, -1), EINVAL);
	CHECK(ftruncate(999, 0), EBADF);
	CHECK(ftruncate(writer, 0), 0);
	close(dir);
	close(writer);
	close(reader);
	CHECK(unlink("ftr-file"), 0);
	return 0;
}

/* ---- utimensat ---- */

static int utimensat_sets_times_omits_and_takes_now(void)
{
	struct timespec given[2] = { { 1000000000, 0 }, { 1234567890, 500 } };
	struct timespec omit_atime[2] = { { 0, UTIME_OMIT }, { 1300000000, 0 } };
	struct timespec now_mtime[2] = { { 1100000000, 0 }, { 0, UTIME_NOW } };
	struct stat status;
	time_t before = time(NULL);

	CHECK(make_file("ut-file", 0644, "x"), 0);
	CHECK(utimensat(AT_FDCWD, "ut-file", given, 0), 0);
	CHECK(stat("ut-file", &status), 0);
	CHECK_EQ("atime", status.st_atime, 1000000000);
	CHECK_EQ("mtime", status.st_mtime, 1234567890);
	if (status.st_ctime < before)
		return fail("ctime %ld is before the call (%ld)", (long)status.st_ctime, (long)before);
	CHECK(utimensat(AT_FDCWD, "ut-file", omit_atime, 0), 0);
	CHECK(stat("ut-file", &status), 0);
	CHECK_EQ("UTIME_OMIT keeps atime", status.st_atime, 1000000000);
	CHECK_EQ("mtime set", status.st_mtime, 1300000000);
	CHECK(utimensat(AT_FDCWD, "ut-file", now_mtime, 0), 0);
	CHECK(stat("ut-file", &status), 0);
	CHECK_EQ("atime set", status.st_atime, 1100000000);
	if (status.st_mtime < before)
		return fail("UTIME_NOW gave mtime %ld before %ld", (long)status.st_mtime, (long)before);
	CHECK(utimensat(AT_FDCWD, "ut-file", given, 0), 0);
	CHECK(utimensat(AT_FDCWD, "ut-file", NULL, 0), 0);
	CHECK(stat("ut-file", &status), 0);
	if (status.st_atime < before || status.st_mtime < before)
		return fail("NULL times: atime %ld mtime %ld", (long)status.st_atime,
			    (long)status.st_mtime);
	CHECK(unlink("ut-file"), 0);
	return 0;
}

static int utimensat_by_descriptor_and_without_following(void)
{
	struct timespec given[2] = { { 1000000000, 0 }, { 1000000001, 0 } };
	struct stat status;
	int fd;

	CHECK(make_file("utd-file", 0644, "x"), 0);
	CHECK(symlink("utd-file", "utd-ln"), 0);
	OPEN(fd, "utd-file", O_RDONLY);
	CHECK(syscall(SYS_utimensat, fd, NULL, given, 0), 0);
	CHECK(fstat(fd, &status), 0);
	CHECK_EQ("through the descriptor", status.st_mtime, 1000000001);
	CHECK(syscall(SYS_utimensat, fd, NULL, given, AT_SYMLINK_NOFOLLOW), EINVAL);
	CHECK(futimens(fd, NULL), 0);
	close(fd);
	CHECK(utimensat(AT_FDCWD, "utd-ln", given, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(lstat("utd-ln", &status), 0);
	CHECK_EQ("the link's own mtime", status.st_mtime, 1000000001);
	CHECK(stat("utd-ln", &status), 0);
	if (status.st_mtime == 1000000001)
		return fail("AT_SYMLINK_NOFOLLOW changed the target");
	CHECK(unlink("utd-ln"), 0);
	CHECK(unlink("utd-file"), 0);
	return 0;
}

static int utimensat_errors_come_in_linux_order(void)
{
	struct timespec omit[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	struct timespec bad[2] = { { 5, 1000000000 }, { 5, 0 } };

	CHECK(make_file("ute-file", 0644, "x"), 0);
	CHECK(utimensat(AT_FDCWD, "ute-missing", omit, 0), 0);
	CHECK(utimensat(AT_FDCWD, "ute-missing", bad, 0), ENOENT);
	CHECK(utimensat(AT_FDCWD, "ute-file", bad, 0), EINVAL);
	CHECK(utimensat(AT_FDCWD, "ute-file", NULL, 0x1), EINVAL);
	CHECK(syscall(SYS_utimensat, AT_FDCWD, NULL, NULL, 0), EFAULT);
	CHECK(syscall(SYS_utimensat, AT_FDCWD, "ute-file", (void *)8, 0), EFAULT);
	CHECK(utimensat(AT_FDCWD, "", NULL, 0), ENOENT);
	CHECK(unlink("ute-file"), 0);
	return 0;
}

/* ---- getdents ---- */

/* `struct linux_dirent64` as getdents64 writes it. */
struct dirent64_record {
	uint64_t ino;
	int64_t off;
	uint16_t reclen;
	uint8_t type;
	char name[];
};

/* `struct linux_dirent` as the old getdents writes it (d_type is last). */
struct dirent_record {
	unsigned long ino;
	long off;
	unsigned short reclen;
	char name[];
};

/* Makes the directory `gd` with one file of each kind the cases list. */
static int make_listing_directory(void)
{
	CHECK(mkdir("gd", 0755), 0);
	CHECK(make_file("gd/file", 0644, "x"), 0);
	CHECK(mkdir("gd/dir", 0755), 0);
	CHECK(symlink("file", "gd/link"), 0);
	CHECK(mknod("gd/fifo", S_IFIFO | 0644, 0), 0);
	CHECK(mknod("gd/chr", S_IFCHR | 0644, makedev(1, 3)), 0);
	CHECK(mknod("gd/a-rather-longer-name-for-padding", S_IFREG | 0644, 0), 0);
	return 0;
}

/* The d_type each name of `gd` must have; -1 for a name that is not there. */
static int expected_type(const char *name)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
		{ ".", DT_DIR },     { "..", DT_DIR },  { "file", DT_REG },
		{ "dir", DT_DIR },   { "link", DT_LNK }, { "fifo", DT_FIFO },
		{ "chr", DT_CHR },   { "a-rather-longer-name-for-padding", DT_REG },
	};
	size_t index;

	for (index = 0; index < sizeof types / sizeof types[0]; index++)
		if (strcmp(types[index].name, name) == 0)
			return types[index].type;
	return -1;
}

static int getdents64_lists_each_name_once_with_its_type(void)
{
	char buffer[4096], path[PATH_MAX];
	int fd, seen = 0;
	long got, at;

	if (make_listing_directory() != 0)
		return -1;
	OPEN(fd, "gd", O_RDONLY | O_DIRECTORY);
	got = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
	if (got <= 0)
		return fail("getdents64: %ld %s", got, errno_name(errno));
	for (at = 0; at < got;) {
		struct dirent64_record *entry = (void *)(buffer + at);
		size_t want_len = (19 + strlen(entry->name) + 1 + 7) & ~(size_t)7;
		int type = expected_type(entry->name);

		if (type < 0 || entry->type != type)
			return fail("%s: d_type %d, expected %d", entry->name, entry->type, type);
		if (entry->reclen != want_len)
			return fail("%s: d_reclen %d, expected %zu", entry->name, entry->reclen, want_len);
		snprintf(path, sizeof path, "gd/%s", entry->name);
		if (entry->ino != inode_of(path))
			return fail("%s: d_ino %llu", entry->name, (unsigned long long)entry->ino);
		seen++;
		at += entry->reclen;
	}
	CHECK_EQ("names listed", seen, 8);
	CHECK_EQ("then the end", syscall(SYS_getdents64, fd, buffer, sizeof buffer), 0);
	close(fd);
	remove_tree("gd");
	return 0;
}

static int getdents_old_layout_puts_the_type_in_the_last_byte(void)
{
	char buffer[4096];
	int fd, seen = 0;
	long got, at;

	if (make_listing_directory() != 0)
		return -1;
	OPEN(fd, "gd", O_RDONLY | O_DIRECTORY);
	got = syscall(SYS_getdents, fd, buffer, sizeof buffer);
	if (got <= 0)
		return fail("getdents: %ld %s", got, errno_name(errno));
	for (at = 0; at < got;) {
		struct dirent_record *entry = (void *)(buffer + at);
		size_t want_len = (18 + strlen(entry->name) + 2 + 7) & ~(size_t)7;
		int type = buffer[at + entry->reclen - 1];

		if (type != expected_type(entry->name))
			return fail("%s: type byte %d", entry->name, type);
		if (entry->reclen != want_len)
			return fail("%s: d_reclen %d, expected %zu", entry->name, entry->reclen, want_len);
		seen++;
		at += entry->reclen;
	}
	CHECK_EQ("names listed", seen, 8);
	close(fd);
	remove_tree("gd");
	return 0;
}

/* Reads the whole directory `fd` with getdents64 calls of `size` bytes: names and d_offs. */
static int read_listing(int fd, long size, char names[][64], int64_t *offsets, int *count)
{
	char buffer[4096];
	long got, at;

	*count = 0;
	while ((got = syscall(SYS_getdents64, fd, buffer, size)) > 0) {
		for (at = 0; at < got && *count < 16; (*count)++) {
			struct dirent64_record *entry = (void *)(buffer + at);

			snprintf(names[*count], 64, "%s", entry->name);
			offsets[*count] = entry->off;
			at += entry->reclen;
		}
	}
	if (got < 0)
		return fail("getdents64 of %ld bytes: %s", size, errno_name(errno));
	return 0;
}

static int getdents_d_off_resumes_after_its_entry(void)
{
	char whole[16][64], piecewise[16][64], buffer[4096];
	int64_t offsets[16], piece_offsets[16];
	int fd, count, pieces, index;
	long got;

	if (make_listing_directory() != 0)
		return -1;
	OPEN(fd, "gd", O_RDONLY | O_DIRECTORY);
	if (read_listing(fd, sizeof buffer, whole, offsets, &count) != 0)
		return -1;
	CHECK_EQ("names in one read", count, 8);
	for (index = 0; index < count; index++) {
		if (lseek(fd, offsets[index], SEEK_SET) != offsets[index])
			return fail("lseek to d_off %lld: %s", (long long)offsets[index],
				    errno_name(errno));
		got = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
		if (index + 1 == count) {
			CHECK_EQ("after the last entry's d_off", got, 0);
			break;
		}
		if (got <= 0)
			return fail("getdents64 after lseek: %ld", got);
		if (strcmp(((struct dirent64_record *)buffer)->name, whole[index + 1]) != 0)
			return fail("after %s's d_off came %s, not %s", whole[index],
				    ((struct dirent64_record *)buffer)->name, whole[index + 1]);
	}
	/* 56 bytes hold the longest record here: the reads go on where the last stopped. */
	CHECK(lseek(fd, 0, SEEK_SET), 0);
	if (read_listing(fd, 56, piecewise, piece_offsets, &pieces) != 0)
		return -1;
	CHECK_EQ("names in 56-byte reads", pieces, count);
	for (index = 0; index < count; index++)
		if (strcmp(piecewise[index], whole[index]) != 0)
			return fail("read %d: %s, not %s", index, piecewise[index], whole[index]);
	close(fd);
	remove_tree("gd");
	return 0;
}

static int getdents_errors_are_linux_errnos(void)
{
	char buffer[256];
	int dir, file;

	CHECK(make_file("gde-file", 0644, "x"), 0);
	OPEN(dir, ".", O_RDONLY | O_DIRECTORY);
	OPEN(file, "gde-file", O_RDONLY);
	CHECK(syscall(SYS_getdents64, dir, buffer, 10), EINVAL);
	CHECK(syscall(SYS_getdents64, dir, buffer, 0), EINVAL);
	CHECK(syscall(SYS_getdents, dir, buffer, 10), EINVAL);
	CHECK(syscall(SYS_getdents64, dir, (void *)8, sizeof buffer), EFAULT);
	CHECK(syscall(SYS_getdents64, file, buffer, sizeof buffer), ENOTDIR);
	CHECK(syscall(SYS_getdents64, 999, buffer, sizeof buffer), EBADF);
	close(file);
	close(dir);
	CHECK(unlink("gde-file"), 0);
	return 0;
}

/* ---- statfs, fsync, lseek, pwrite ---- */

static int statfs_and_fstatfs_report_the_ext2_file_system(void)
{
	struct statfs by_path, by_fd, of_pipe;
	int fd, pipes[2];

	CHECK(statfs(".", &by_path), 0);
	OPEN(fd, ".", O_RDONLY | O_DIRECTORY);
	CHECK(fstatfs(fd, &by_fd), 0);
	close(fd);
	CHECK_EQ("f_type", by_path.f_type, EXT2_SUPER_MAGIC);
	CHECK_EQ("f_namelen", by_path.f_namelen, 255);
	CHECK_EQ("f_frsize", by_path.f_frsize, by_path.f_bsize);
	if (by_path.f_bavail > by_path.f_bfree || by_path.f_bfree > by_path.f_blocks ||
	    by_path.f_ffree > by_path.f_files)
		return fail("blocks %lu free %lu available %lu, files %lu free %lu",
			    (unsigned long)by_path.f_blocks, (unsigned long)by_path.f_bfree,
			    (unsigned long)by_path.f_bavail, (unsigned long)by_path.f_files,
			    (unsigned long)by_path.f_ffree);
	if ((by_path.f_flags & (ST_VALID_FLAG | ST_RDONLY_FLAG)) != ST_VALID_FLAG)
		return fail("f_flags %#lx", (unsigned long)by_path.f_flags);
	if (by_fd.f_blocks != by_path.f_blocks || by_fd.f_files != by_path.f_files ||
	    memcmp(&by_fd.f_fsid, &by_path.f_fsid, sizeof by_fd.f_fsid) != 0)
		return fail("fstatfs differs from statfs");
	CHECK(pipe(pipes), 0);
	CHECK(fstatfs(pipes[0], &of_pipe), 0);
	close(pipes[0]);
	close(pipes[1]);
	CHECK_EQ("a pipe's f_type", of_pipe.f_type, PIPEFS_MAGIC);
	CHECK(statfs("statfs-missing", &by_path), ENOENT);
	CHECK(syscall(SYS_statfs, ".", (void *)8), EFAULT);
	CHECK(fstatfs(999, &by_fd), EBADF);
	return 0;
}

static int fsync_and_fdatasync_of_a_directory_succeed(void)
{
	int dir, pipes[2];

	OPEN(dir, ".", O_RDONLY | O_DIRECTORY);
	CHECK(fsync(dir), 0);
	CHECK(fdatasync(dir), 0);
	close(dir);
	CHECK(pipe(pipes), 0);
	CHECK(fsync(pipes[0]), EINVAL);
	close(pipes[0]);
	close(pipes[1]);
	return 0;
}

/* Checks lseek(fd, offset, whence) returns `want` (a position, or -errno). */
static int expect_seek(int fd, off_t offset, int whence, off_t want)
{
	off_t got;

	errno = 0;
	got = lseek(fd, offset, whence);
	if (want < 0 && got == -1 && errno == -want)
		return 0;
	if (got != want)
		return fail("lseek(%lld, %s): expected %lld got %lld (%s)", (long long)offset,
			    whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE", (long long)want,
			    (long long)got, errno_name(errno));
	return 0;
}

/* The holes of seek-file: data in blocks 0, 3 and 8 (100 bytes). */
static int check_holes(int fd)
{
	return expect_seek(fd, 0, SEEK_DATA, 0) || expect_seek(fd, 0, SEEK_HOLE, 4096) ||
	       expect_seek(fd, 4096, SEEK_DATA, 12288) || expect_seek(fd, 5000, SEEK_HOLE, 5000) ||
	       expect_seek(fd, 12288, SEEK_HOLE, 16384) ||
	       expect_seek(fd, 20000, SEEK_DATA, 32768) ||
	       expect_seek(fd, 32800, SEEK_HOLE, 32868);
}

static int seek_data_and_seek_hole_find_the_holes(void)
{
	char block[4096];
	int fd;

	memset(block, 'x', sizeof block);
	OPEN(fd, "seek-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
	CHECK_EQ("pwrite block 0", pwrite(fd, block, 4096, 0), 4096);
	CHECK_EQ("pwrite block 3", pwrite(fd, block, 4096, 3 * 4096), 4096);
	CHECK_EQ("pwrite into block 8", pwrite(fd, block, 100, 8 * 4096), 100);
	if (check_holes(fd) != 0)
		return -1;
	CHECK(fsync(fd), 0);
	if (check_holes(fd) != 0)
		return -1;
	if (expect_seek(fd, 32868, SEEK_DATA, -ENXIO) || expect_seek(fd, 32868, SEEK_HOLE, -ENXIO) ||
	    expect_seek(fd, -1, SEEK_DATA, -ENXIO))
		return -1;
	CHECK(ftruncate(fd, 50000), 0);
	if (expect_seek(fd, 40000, SEEK_DATA, -ENXIO) || expect_seek(fd, 40000, SEEK_HOLE, 40000))
		return -1;
	CHECK_EQ("whence 5", lseek(fd, 0, 5), -1);
	close(fd);
	CHECK(unlink("seek-file"), 0);
	return 0;
}

static int pwrite_on_an_append_descriptor_appends(void)
{
	char buffer[16] = { 0 };
	int fd;

	OPEN(fd, "append-file", O_CREAT | O_RDWR | O_APPEND | O_TRUNC, 0644);
	CHECK_EQ("write", write(fd, "hello", 5), 5);
	CHECK_EQ("pwrite at 0", pwrite(fd, "XY", 2, 0), 2);
	CHECK_EQ("the offset is unchanged", lseek(fd, 0, SEEK_CUR), 5);
	CHECK_EQ("pread", pread(fd, buffer, sizeof buffer, 0), 7);
	if (strcmp(buffer, "helloXY") != 0)
		return fail("the file holds %s", buffer);
	close(fd);
	CHECK(unlink("append-file"), 0);
	return 0;
}

/* ---- resource limits ---- */

/* Whether nothing stood between this process and the kernel's defaults. */
static int started_by_the_kernel(void)
{
	return getpid() == 1 || getppid() == 1;
}

static int resource_limits_start_as_linux_gives_init(void)
{
	static const struct {
		int resource;
		rlim_t soft, hard;
	} defaults[] = {
		{ RLIMIT_CPU, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_FSIZE, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_STACK, 8 << 20, RLIM_INFINITY },
		{ RLIMIT_CORE, 0, RLIM_INFINITY },
		{ RLIMIT_RSS, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_NOFILE, 1024, 4096 },
		{ RLIMIT_MEMLOCK, 8 << 20, 8 << 20 },
		{ RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_LOCKS, RLIM_INFINITY, RLIM_INFINITY },
		{ RLIMIT_MSGQUEUE, 819200, 819200 },
		{ RLIMIT_NICE, 0, 0 },
		{ RLIMIT_RTPRIO, 0, 0 },
		{ RLIMIT_RTTIME, RLIM_INFINITY, RLIM_INFINITY },
	};
	struct rlimit limit, processes, signals;
	struct sysinfo info;
	unsigned long long memory, by_memory;
	size_t index;

	for (index = 0; index < sizeof defaults / sizeof defaults[0]; index++) {
		CHECK(getrlimit(defaults[index].resource, &limit), 0);
		if (limit.rlim_cur > limit.rlim_max)
			return fail("resource %d: soft %llu above hard %llu", defaults[index].resource,
				    (unsigned long long)limit.rlim_cur,
				    (unsigned long long)limit.rlim_max);
		if (started_by_the_kernel() && (limit.rlim_cur != defaults[index].soft ||
						limit.rlim_max != defaults[index].hard))
			return fail("resource %d: %llu/%llu, Linux gives %llu/%llu",
				    defaults[index].resource, (unsigned long long)limit.rlim_cur,
				    (unsigned long long)limit.rlim_max,
				    (unsigned long long)defaults[index].soft,
				    (unsigned long long)defaults[index].hard);
	}
	/* fork_init: NPROC = memory / (8 kernel stacks of 16 KiB) / 2, SIGPENDING the same. */
	CHECK(getrlimit(RLIMIT_NPROC, &processes), 0);
	CHECK(getrlimit(RLIMIT_SIGPENDING, &signals), 0);
	CHECK(sysinfo(&info), 0);
	memory = (unsigned long long)info.totalram * info.mem_unit;
	by_memory = memory / (16384 * 8) / 2;
	if (started_by_the_kernel() &&
	    (processes.rlim_cur != processes.rlim_max || signals.rlim_cur != processes.rlim_cur ||
	     processes.rlim_cur > by_memory || processes.rlim_cur < by_memory * 9 / 10))
		return fail("NPROC %llu/%llu SIGPENDING %llu for %llu bytes (about %llu)",
			    (unsigned long long)processes.rlim_cur,
			    (unsigned long long)processes.rlim_max,
			    (unsigned long long)signals.rlim_cur, memory, by_memory);
	return 0;
}

static int with_eight_descriptors(void *unused)
{
	struct rlimit limit = { 8, 4096 };
	int fd, last = -1, pipes[2];

	(void)unused;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 10;
	while ((fd = open("/", O_RDONLY)) >= 0)
		last = fd;
	if (errno != EMFILE || last < 3 || last > 7)
		return 11;
	if (pipe(pipes) != -1 || errno != EMFILE)
		return 12;
	if (dup(0) != -1 || errno != EMFILE)
		return 13;
	close(last);
	if (dup2(0, 8) != -1 || errno != EBADF)
		return 14;
	if (fcntl(0, F_DUPFD, 8) != -1 || errno != EINVAL)
		return 15;
	if (fcntl(0, F_DUPFD, 3) != last)
		return 16;
	limit.rlim_cur = 16;
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0 || dup2(0, 12) != 12)
		return 17;
	return 0;
}

static int rlimit_nofile_bounds_new_descriptors(void)
{
	return expect_exit(run_child(with_eight_descriptors, NULL), 0);
}

static int setrlimit_errors_are_linux_errnos(void)
{
	struct rlimit limit, saved;

	CHECK(getrlimit(RLIMIT_NOFILE, &saved), 0);
	limit.rlim_cur = 10;
	limit.rlim_max = 5;
	CHECK(setrlimit(RLIMIT_NOFILE, &limit), EINVAL);
	limit.rlim_max = (1 << 20) + 1;
	CHECK(setrlimit(RLIMIT_NOFILE, &limit), EPERM);
	CHECK(syscall(SYS_getrlimit, 16, &limit), EINVAL);
	CHECK(syscall(SYS_setrlimit, 16, &saved), EINVAL);
	CHECK(syscall(SYS_prlimit64, 0, 16, NULL, &limit), EINVAL);
	CHECK(syscall(SYS_getrlimit, RLIMIT_NOFILE, (void *)8), EFAULT);
	CHECK(syscall(SYS_setrlimit, RLIMIT_NOFILE, (void *)8), EFAULT);
	CHECK(syscall(SYS_prlimit64, 99999, RLIMIT_NOFILE, NULL, &limit), ESRCH);
	CHECK(getrlimit(RLIMIT_NOFILE, &limit), 0);
	if (limit.rlim_cur != saved.rlim_cur || limit.rlim_max != saved.rlim_max)
		return fail("a refused setrlimit changed the limit");
	return 0;
}

static int lowering_and_raising_hard_limits(void *unused)
{
	struct rlimit lower = { 64, 128 }, higher = { 64, 8192 }, got;

	(void)unused;
	if (setrlimit(RLIMIT_NOFILE, &lower) != 0)
		return 10;
	/* Root (CAP_SYS_RESOURCE, which the kernel's init has) may raise it again. */
	if (setrlimit(RLIMIT_NOFILE, &higher) != 0)
		return started_by_the_kernel() || errno != EPERM ? 11 : 0;
	if (getrlimit(RLIMIT_NOFILE, &got) != 0 || got.rlim_max != 8192)
		return 12;
	return 0;
}

static int root_may_lower_and_raise_a_hard_limit(void)
{
	return expect_exit(run_child(lowering_and_raising_hard_limits, NULL), 0);
}

static int wait_for_signal(void *unused)
{
	(void)unused;
	pause();
	return 0;
}

static int prlimit64_reads_and_sets_another_process(void)
{
	struct rlimit set = { 33, 44 }, old, got;
	pid_t child = fork();
	int status;

	if (child < 0)
		return fail("fork: %s", errno_name(errno));
	if (child == 0)
		_exit(wait_for_signal(NULL));
	CHECK(syscall(SYS_prlimit64, child, RLIMIT_CORE, &set, &old), 0);
	CHECK(syscall(SYS_prlimit64, child, RLIMIT_CORE, NULL, &got), 0);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	if (got.rlim_cur != 33 || got.rlim_max != 44)
		return fail("the child's RLIMIT_CORE reads %llu/%llu", (unsigned long long)got.rlim_cur,
			    (unsigned long long)got.rlim_max);
	CHECK(syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, &got), 0);
	if (got.rlim_cur != old.rlim_cur || got.rlim_max != old.rlim_max)
		return fail("the parent's RLIMIT_CORE changed");
	return 0;
}

/* Uses about `depth` KiB of stack. */
static int recurse(int depth)
{
	volatile char frame[1024];

	frame[0] = (char)depth;
	if (depth == 0)
		return frame[0];
	return recurse(depth - 1) + frame[0];
}

static int grow_past_a_small_stack_limit(void *unused)
{
	struct rlimit limit = { 256 << 10, RLIM_INFINITY };

	(void)unused;
	if (setrlimit(RLIMIT_STACK, &limit) != 0)
		return 10;
	return recurse(2048) == 12345 ? 11 : 12;
}

static int exec_with_arguments(void *stack_limit)
{
	/* 300 KiB of arguments, each below MAX_ARG_STRLEN (128 KiB). */
	static char big[100 << 10];
	struct rlimit limit = { *(rlim_t *)stack_limit, RLIM_INFINITY };
	char *argv[] = { (char *)self, "--role", "exit0", big, big, big, NULL };
	char *envp[] = { NULL };

	memset(big, 'a', sizeof big - 1);
	if (setrlimit(RLIMIT_STACK, &limit) != 0)
		return 10;
	execve(self, argv, envp);
	return errno == E2BIG ? 20 : 21;
}

static int rlimit_stack_bounds_the_stack_and_exec_arguments(void)
{
	rlim_t small = 1 << 20, normal = 8 << 20;

	if (expect_killed(run_child(grow_past_a_small_stack_limit, NULL), SIGSEGV) != 0)
		return -1;
	/* A quarter of the stack limit holds the arguments: 256 KiB of 1 MiB. */
	if (expect_exit(run_child(exec_with_arguments, &small), 20) != 0)
		return -1;
	return expect_exit(run_child(exec_with_arguments, &normal), 0);
}

/* ---- sysinfo, times, getrusage, affinity, yield ---- */

static int sysinfo_reports_uptime_memory_and_processes(void)
{
	struct sysinfo info;
	struct timespec boot;
	long expected;

	CHECK(clock_gettime(CLOCK_BOOTTIME, &boot), 0);
	CHECK(sysinfo(&info), 0);
	expected = boot.tv_sec + (boot.tv_nsec ? 1 : 0);
	if (info.uptime < expected - 1 || info.uptime > expected + 1)
		return fail("uptime %ld, CLOCK_BOOTTIME says %ld", info.uptime, expected);
	if (info.mem_unit < 1 || (unsigned long long)info.totalram * info.mem_unit < (32ull << 20))
		return fail("totalram %lu x %u", info.totalram, info.mem_unit);
	if (info.freeram > info.totalram || info.procs < 1)
		return fail("freeram %lu of %lu, %u processes", info.freeram, info.totalram,
			    info.procs);
	CHECK(syscall(SYS_sysinfo, (void *)8), EFAULT);
	return 0;
}

static int spin(void *milliseconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do
		clock_gettime(CLOCK_MONOTONIC, &now);
	while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
	       *(long *)milliseconds);
	return 0;
}

static int times_and_getrusage_count_cpu_time(void)
{
	struct tms before, after;
	struct rusage self_usage, children;
	clock_t start = times(&before), end;
	long busy = 300;

	if (spin(&busy) != 0 || expect_exit(run_child(spin, &busy), 0) != 0)
		return -1;
	end = times(&after);
	if (end <= start)
		return fail("times() went from %ld to %ld", (long)start, (long)end);
	if (after.tms_utime + after.tms_stime <= before.tms_utime + before.tms_stime)
		return fail("no CPU time counted for 300 ms of spinning");
	if (after.tms_cutime + after.tms_cstime <= before.tms_cutime + before.tms_cstime)
		return fail("no CPU time counted for the reaped child");
	CHECK(getrusage(RUSAGE_SELF, &self_usage), 0);
	CHECK(getrusage(RUSAGE_CHILDREN, &children), 0);
	if (self_usage.ru_utime.tv_sec + self_usage.ru_stime.tv_sec == 0 &&
	    self_usage.ru_utime.tv_usec + self_usage.ru_stime.tv_usec == 0)
		return fail("getrusage(RUSAGE_SELF) counted nothing");
	if (children.ru_utime.tv_sec + children.ru_stime.tv_sec == 0 &&
	    children.ru_utime.tv_usec + children.ru_stime.tv_usec == 0)
		return fail("getrusage(RUSAGE_CHILDREN) counted nothing");
	CHECK(getrusage(-2, &self_usage), EINVAL);
	CHECK(sched_yield(), 0);
	return 0;
}

static int sched_getaffinity_reports_the_mask_and_its_size(void)
{
	unsigned long mask[16];

	long size;

	memset(mask, 0, sizeof mask);
	CHECK_EQ("len 8", syscall(SYS_sched_getaffinity, 0, 8, mask), 8);
	if ((mask[0] & 1) == 0)
		return fail("CPU 0 is not in the mask %#lx", mask[0]);
	/* The kernel's cpumask: 8 bytes for Debian's Linux 6.1 on one CPU. */
	size = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
	if (size < 8 || size % 8 != 0 || (started_by_the_kernel() && size != 8))
		return fail("len 128 returned %ld", size);
	CHECK_EQ("of this pid", syscall(SYS_sched_getaffinity, getpid(), sizeof mask, mask), size);
	CHECK(syscall(SYS_sched_getaffinity, 0, 4, mask), EINVAL);
	CHECK(syscall(SYS_sched_getaffinity, 0, 12, mask), EINVAL);
	CHECK(syscall(SYS_sched_getaffinity, 0, 0, mask), EINVAL);
	CHECK(syscall(SYS_sched_getaffinity, 99999, 8, mask), ESRCH);
	CHECK(syscall(SYS_sched_getaffinity, 0, 8, (void *)8), EFAULT);
	return 0;
}

/* ---- the end ---- */

/*
 * Prints what statfs says once the files are gone and synced, for the QEMU
 * case to compare with dumpe2fs on the disk afterwards.
 */
static void print_statfs_figures(void)
{
	struct statfs figures;

	sync();
	if (statfs(test_dir, &figures) != 0) {
		printf("statfs figures: statfs failed: %s\n", errno_name(errno));
		return;
	}
	printf("statfs figures: type=%#lx bsize=%ld blocks=%llu bfree=%llu bavail=%llu "
	       "files=%llu ffree=%llu fsid=%08x:%08x namelen=%ld frsize=%ld flags=%#lx\n",
	       (unsigned long)figures.f_type, (long)figures.f_bsize,
	       (unsigned long long)figures.f_blocks, (unsigned long long)figures.f_bfree,
	       (unsigned long long)figures.f_bavail, (unsigned long long)figures.f_files,
	       (unsigned long long)figures.f_ffree, (unsigned)figures.f_fsid.__val[0],
	       (unsigned)figures.f_fsid.__val[1], (long)figures.f_namelen, (long)figures.f_frsize,
	       (unsigned long)figures.f_flags);
}

/*
 * Whether `fd`'s file is extent-mapped (ext4's EXT4_EXTENTS_FL through
 * FS_IOC_GETFLAGS): true for a host's ext4 file, false on the project's ext2
 * images under either kernel.
 */
static int uses_extents(int fd)
{
	const unsigned long fs_ioc_getflags = 0x80086601;
	const int extents_flag = 0x80000;
	int flags = 0;

	return ioctl(fd, fs_ioc_getflags, &flags) == 0 && (flags & extents_flag) != 0;
}

static int fallocate_punches_holes_and_refuses_what_ext4_cannot_do_here(void)
{
	char block[4096];
	struct stat before, after;
	int fd, read_only;

	OPEN(fd, "holes", O_CREAT | O_TRUNC | O_RDWR, 0644);
	memset(block, 'h', sizeof block);
	for (int i = 0; i < 4; i++)
		if (write(fd, block, sizeof block) != (ssize_t)sizeof block)
			return fail("write: %s", errno_name(errno));
	if (fsync(fd) != 0 || fstat(fd, &before) != 0)
		return fail("fsync: %s", errno_name(errno));
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192), 0);
	CHECK(fstat(fd, &after), 0);
	CHECK_EQ("size after the hole", after.st_size, before.st_size);
	if (after.st_blocks >= before.st_blocks)
		return fail("st_blocks: expected fewer than %ld got %ld", (long)before.st_blocks,
			    (long)after.st_blocks);
	CHECK_EQ("pread of the hole", pread(fd, block, 10, 5000), 10);
	CHECK_EQ("a byte of the hole", block[3], 0);
	CHECK_EQ("pread after the hole", pread(fd, block, 1, 12288), 1);
	CHECK_EQ("the byte after the hole", block[0], 'h');
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	/* ext4 preallocates in extent-mapped files only: the project's images map blocks. */
	CHECK(fallocate(fd, 0, 0, 4096), uses_extents(fd) ? 0 : EOPNOTSUPP);
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4096), uses_extents(fd) ? 0 : EOPNOTSUPP);
	CHECK(fallocate(fd, 0x100, 0, 4096), EOPNOTSUPP);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, -1, 4096), EINVAL);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 0), EINVAL);
	close(fd);
	OPEN(read_only, "holes", O_RDONLY);
	CHECK(fallocate(read_only, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), EBADF);
	close(read_only);
	OPEN(fd, ".", O_RDONLY | O_DIRECTORY);
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), EBADF);
	close(fd);
	unlink("holes");
	return 0;
}

static int role(int argc, char **argv)
{
	if (strcmp(argv[2], "exit0") == 0)
		return 0;
	if (strcmp(argv[2], "inherited") == 0 && argc == 6)
		return role_inherited(argv[3], argv[4], argv[5]);
	return 99;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];

	self = argv[0];
	if (argc > 2 && strcmp(argv[1], "--role") == 0)
		return role(argc, argv);
	if (argc > 1)
		test_dir = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(path, sizeof path, "%s/file_calls.d", strcmp(test_dir, "/") ? test_dir : "");
	remove_tree(path);
	if (mkdir(path, 0755) != 0 || chdir(path) != 0 || getcwd(scratch, sizeof scratch) == NULL) {
		printf("cannot work in %s: %s\n", path, errno_name(errno));
		return 1;
	}
	umask(022);

	report("getcwd_returns_the_path_chdir_went_to",
	       "man getcwd: the absolute pathname of the current working directory",
	       getcwd_returns_the_path_chdir_went_to());
	report("getcwd_is_erange_below_the_path_and_its_nul",
	       "man getcwd: ERANGE if size is less than the path's length plus the NUL; returns that length",
	       getcwd_is_erange_below_the_path_and_its_nul());
	report("a_removed_current_directory_has_no_path_and_takes_no_names",
	       "man getcwd: ENOENT if the current working directory has been unlinked; Linux: creating in or listing a removed directory is ENOENT",
	       a_removed_current_directory_has_no_path_and_takes_no_names());
	report("chdir_needs_a_directory",
	       "man chdir: ENOENT, ENOTDIR for a non-directory component, ELOOP, EFAULT",
	       chdir_needs_a_directory());
	report("fchdir_goes_to_an_open_directory",
	       "man fchdir: the directory referred to by fd; EBADF, ENOTDIR",
	       fchdir_goes_to_an_open_directory());
	report("fork_inherits_and_exec_keeps_cwd_umask_and_limits",
	       "man fork/execve: the child inherits the cwd, umask and resource limits; execve keeps them",
	       fork_inherits_and_exec_keeps_cwd_umask_and_limits());
	report("at_calls_start_relative_paths_at_dirfd",
	       "man openat: a relative pathname is interpreted relative to the directory referred to by dirfd",
	       at_calls_start_relative_paths_at_dirfd());
	report("at_calls_check_dirfd_only_for_relative_paths",
	       "man openat: an absolute pathname ignores dirfd; EBADF, ENOTDIR for a relative one; AT_EMPTY_PATH",
	       at_calls_check_dirfd_only_for_relative_paths());
	report("symlinks_in_the_middle_of_a_path_are_followed",
	       "man path_resolution: a symlink component is replaced by its contents, relative to its directory",
	       symlinks_in_the_middle_of_a_path_are_followed());
	report("forty_symlinks_are_followed_and_forty_one_are_eloop",
	       "man path_resolution: Linux allows at most 40 symbolic links in one resolution (ELOOP)",
	       forty_symlinks_are_followed_and_forty_one_are_eloop());
	report("a_trailing_slash_needs_a_directory",
	       "man path_resolution: a trailing slash makes the last component a directory, following a link",
	       a_trailing_slash_needs_a_directory());
	report("names_of_256_bytes_and_paths_of_4096_are_enametoolong",
	       "man open: ENAMETOOLONG; Linux: NAME_MAX 255, PATH_MAX 4096 bytes with the NUL",
	       names_of_256_bytes_and_paths_of_4096_are_enametoolong());
	report("empty_paths_are_enoent_and_bad_pointers_efault",
	       "man path_resolution: an empty pathname is ENOENT; EFAULT for a bad pointer",
	       empty_paths_are_enoent_and_bad_pointers_efault());
	report("open_nofollow_on_a_symlink_is_eloop",
	       "man open: O_NOFOLLOW - if the trailing component is a symbolic link, the open fails with ELOOP",
	       open_nofollow_on_a_symlink_is_eloop());
	report("open_creat_through_a_dangling_symlink_creates_its_target",
	       "Linux: O_CREAT follows a dangling symlink and creates the file it points to; O_EXCL: EEXIST",
	       open_creat_through_a_dangling_symlink_creates_its_target());
	report("open_o_directory_needs_a_directory",
	       "man open: O_DIRECTORY - if pathname is not a directory, the open fails (ENOTDIR)",
	       open_o_directory_needs_a_directory());
	report("open_refuses_to_create_or_write_directories",
	       "man open: EISDIR for a directory opened for writing or a trailing slash with O_CREAT; EEXIST",
	       open_refuses_to_create_or_write_directories());
	report("umask_masks_open_mkdir_and_mknod_but_not_symlink",
	       "man umask: the mask is applied to open, mkdir and mknod modes; returns the previous mask",
	       umask_masks_open_mkdir_and_mknod_but_not_symlink());
	report("new_files_keep_set_id_bits_and_directories_drop_them",
	       "man mkdir: mode & ~umask & 01777; Linux: open keeps the set-ID bits for root",
	       new_files_keep_set_id_bits_and_directories_drop_them());
	report("a_set_group_id_directory_passes_on_its_group",
	       "man mkdir: in a set-group-ID directory new files take its group, new directories the bit",
	       a_set_group_id_directory_passes_on_its_group());
	report("creat_opens_write_only_and_truncates",
	       "man open: creat() is open() with O_CREAT|O_WRONLY|O_TRUNC",
	       creat_opens_write_only_and_truncates());
	report("stat_follows_symlinks_and_lstat_does_not",
	       "man stat: lstat() is stat() except that a symbolic link is stat-ed itself (size = target length)",
	       stat_follows_symlinks_and_lstat_does_not());
	report("stat_reports_each_kind_and_its_links",
	       "man inode: st_mode file types, st_rdev for devices, st_nlink",
	       stat_reports_each_kind_and_its_links());
	report("st_blksize_is_the_file_system_block",
	       "Linux ext4 on ext2: st_blksize is the block size statfs reports",
	       st_blksize_is_the_file_system_block());
	report("fstatat_refuses_unknown_flags",
	       "man fstatat: EINVAL for an invalid flag",
	       fstatat_refuses_unknown_flags());
	report("access_as_root_checks_existence_and_execute_bits",
	       "man access: root gets R and W; X only if some execute bit is set or for a directory; EINVAL",
	       access_as_root_checks_existence_and_execute_bits());
	report("faccessat2_takes_eaccess_nofollow_and_empty_path",
	       "man faccessat2: AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH; EINVAL for other flags",
	       faccessat2_takes_eaccess_nofollow_and_empty_path());
	report("chmod_sets_every_permission_bit_through_links",
	       "man chmod: chmod follows symbolic links; fchmod takes a descriptor; ENOENT, EBADF",
	       chmod_sets_every_permission_bit_through_links());
	report("chown_lchown_and_fchownat_change_owners",
	       "man chown: -1 leaves an id; lchown does not follow links; AT_EMPTY_PATH; EINVAL",
	       chown_lchown_and_fchownat_change_owners());
	report("chown_clears_set_user_id_and_executable_set_group_id",
	       "man chown: chown of an executable clears S_ISUID and S_ISGID (Linux: also for root, not for directories)",
	       chown_clears_set_user_id_and_executable_set_group_id());
	report("link_adds_a_name_to_the_same_inode",
	       "man link: a new link (hard link) to an existing file",
	       link_adds_a_name_to_the_same_inode());
	report("link_errors_are_linux_errnos",
	       "man link: EEXIST, EPERM for a directory, ENOENT, ENOTDIR",
	       link_errors_are_linux_errnos());
	report("linkat_follows_a_symlink_only_when_asked",
	       "man linkat: AT_SYMLINK_FOLLOW dereferences oldpath; AT_EMPTY_PATH; EINVAL",
	       linkat_follows_a_symlink_only_when_asked());
	report("symlinks_keep_short_and_long_targets",
	       "man readlink: the contents of the link; ext2 fast and slow symlinks",
	       symlinks_keep_short_and_long_targets());
	report("symlink_and_readlink_errors_are_linux_errnos",
	       "man readlink: truncates to bufsiz; EINVAL for a non-link or bufsiz <= 0; man symlink: EEXIST, ENOENT",
	       symlink_and_readlink_errors_are_linux_errnos());
	report("unlink_errors_are_linux_errnos",
	       "man unlink: EISDIR (Linux for directories), ENOTDIR, ENOENT; unlinkat AT_REMOVEDIR, EINVAL",
	       unlink_errors_are_linux_errnos());
	report("rmdir_errors_are_linux_errnos",
	       "man rmdir: ENOTEMPTY, ENOTDIR, EINVAL for ., EBUSY for the root, ENOENT",
	       rmdir_errors_are_linux_errnos());
	report("rename_moves_names_and_replaces_files",
	       "man rename: newpath is atomically replaced; a moved directory's .. follows",
	       rename_moves_names_and_replaces_files());
	report("rename_errors_are_linux_errnos",
	       "man rename: EINVAL into its own subdirectory, ENOTEMPTY, EISDIR, ENOTDIR, EBUSY, ENOENT",
	       rename_errors_are_linux_errnos());
	report("renameat2_noreplace_and_its_flag_checks",
	       "man renameat2: RENAME_NOREPLACE - EEXIST if newpath exists; EINVAL with RENAME_EXCHANGE or unknown flags",
	       renameat2_noreplace_and_its_flag_checks());
	report("renameat2_exchange_swaps_two_names",
	       "man renameat2: RENAME_EXCHANGE atomically exchanges oldpath and newpath (Linux's ext4 driver serves ext2 disks)",
	       renameat2_exchange_swaps_two_names());
	report("renameat2_whiteout_leaves_a_whiteout_behind",
	       "man renameat2: RENAME_WHITEOUT creates a whiteout (a character device 0:0) at the source",
	       renameat2_whiteout_leaves_a_whiteout_behind());
	report("mknod_makes_special_files_and_refuses_directories",
	       "man mknod: S_IFREG (or 0), S_IFIFO, devices; EPERM for S_IFDIR on Linux, EINVAL, EEXIST",
	       mknod_makes_special_files_and_refuses_directories());
	report("truncate_sets_the_size_by_path",
	       "man truncate: the file is truncated or extended with zeros; EINVAL, EISDIR, ENOENT",
	       truncate_sets_the_size_by_path());
	report("ftruncate_needs_a_regular_file_open_for_writing",
	       "man ftruncate: EINVAL if fd is not open for writing or not a regular file, or the length is negative",
	       ftruncate_needs_a_regular_file_open_for_writing());
	report("utimensat_sets_times_omits_and_takes_now",
	       "man utimensat: UTIME_NOW, UTIME_OMIT; NULL sets both to now",
	       utimensat_sets_times_omits_and_takes_now());
	report("utimensat_by_descriptor_and_without_following",
	       "man utimensat: a NULL pathname changes fd itself (futimens); AT_SYMLINK_NOFOLLOW",
	       utimensat_by_descriptor_and_without_following());
	report("utimensat_errors_come_in_linux_order",
	       "man utimensat: both UTIME_OMIT succeed at once; EINVAL for tv_nsec or flags; EFAULT; ENOENT",
	       utimensat_errors_come_in_linux_order());
	report("getdents64_lists_each_name_once_with_its_type",
	       "man getdents: linux_dirent64 records with d_ino, d_reclen and d_type",
	       getdents64_lists_each_name_once_with_its_type());
	report("getdents_old_layout_puts_the_type_in_the_last_byte",
	       "man getdents: linux_dirent's d_type is the last byte of the record",
	       getdents_old_layout_puts_the_type_in_the_last_byte());
	report("getdents_d_off_resumes_after_its_entry",
	       "man getdents: d_off is the offset to the next entry (lseek takes it back)",
	       getdents_d_off_resumes_after_its_entry());
	report("getdents_errors_are_linux_errnos",
	       "man getdents: EINVAL for a too small buffer, ENOTDIR, EBADF, EFAULT",
	       getdents_errors_are_linux_errnos());
	report("statfs_and_fstatfs_report_the_ext2_file_system",
	       "man statfs: EXT2_SUPER_MAGIC, f_namelen, f_frsize, ST_VALID; a pipe is pipefs; ENOENT, EFAULT, EBADF",
	       statfs_and_fstatfs_report_the_ext2_file_system());
	report("fsync_and_fdatasync_of_a_directory_succeed",
	       "man fsync: fsync of a directory's descriptor syncs its entries; EINVAL for a pipe",
	       fsync_and_fdatasync_of_a_directory_succeed());
	report("seek_data_and_seek_hole_find_the_holes",
	       "man lseek: SEEK_DATA/SEEK_HOLE - the next data or hole at or after offset; ENXIO at or past EOF",
	       seek_data_and_seek_hole_find_the_holes());
	report("pwrite_on_an_append_descriptor_appends",
	       "man pwrite BUGS: with O_APPEND, pwrite() appends data to the end of the file regardless of offset",
	       pwrite_on_an_append_descriptor_appends());
	report("resource_limits_start_as_linux_gives_init",
	       "Linux 6.1 INIT_RLIMITS and fork_init (checked exactly when started by the kernel's init)",
	       resource_limits_start_as_linux_gives_init());
	report("rlimit_nofile_bounds_new_descriptors",
	       "man getrlimit: RLIMIT_NOFILE - EMFILE; man dup: EBADF above it; man fcntl: F_DUPFD EINVAL",
	       rlimit_nofile_bounds_new_descriptors());
	report("setrlimit_errors_are_linux_errnos",
	       "man getrlimit: EINVAL for rlim_cur > rlim_max or a bad resource, EPERM above nr_open, EFAULT, ESRCH",
	       setrlimit_errors_are_linux_errnos());
	report("root_may_lower_and_raise_a_hard_limit",
	       "man getrlimit: a privileged process (CAP_SYS_RESOURCE) may make arbitrary changes to either limit",
	       root_may_lower_and_raise_a_hard_limit());
	report("prlimit64_reads_and_sets_another_process",
	       "man prlimit: sets and gets the resource limits of the process pid",
	       prlimit64_reads_and_sets_another_process());
	report("rlimit_stack_bounds_the_stack_and_exec_arguments",
	       "man getrlimit: RLIMIT_STACK - SIGSEGV beyond it; man execve: E2BIG beyond a quarter of it",
	       rlimit_stack_bounds_the_stack_and_exec_arguments());
	report("sysinfo_reports_uptime_memory_and_processes",
	       "man sysinfo: uptime in seconds, totalram/freeram in mem_unit, procs; EFAULT",
	       sysinfo_reports_uptime_memory_and_processes());
	report("times_and_getrusage_count_cpu_time",
	       "man times/getrusage: CPU time of the process and its waited-for children; EINVAL",
	       times_and_getrusage_count_cpu_time());
	report("sched_getaffinity_reports_the_mask_and_its_size",
	       "man sched_getaffinity: returns the size of the kernel's cpumask; EINVAL for a short or unaligned len",
	       sched_getaffinity_reports_the_mask_and_its_size());
	report("fallocate_punches_holes_and_refuses_what_ext4_cannot_do_here",
	       "man fallocate: PUNCH_HOLE|KEEP_SIZE frees the range; ext4 preallocates only in extent files",
	       fallocate_punches_holes_and_refuses_what_ext4_cannot_do_here());

	if (chdir(test_dir) != 0)
		printf("chdir %s: %s\n", test_dir, errno_name(errno));
	remove_tree(path);
	print_statfs_figures();
	return summary();
}

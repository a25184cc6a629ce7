//! File-system ABI numbers: `open` and `fcntl` flags, the `*at` calls'
//! flags, `lseek` whences, mode bits, `access` modes, directory-entry
//! types, `utimensat`'s special times, `statfs` magic numbers and mount
//! flags, and the path limits (include/uapi/linux/fcntl.h, stat.h, fs.h,
//! magic.h, statfs.h, limits.h).

/// `open(2)` flags; the access mode is the low two bits.
pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0o0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECT: u32 = 0o40000;
/// Set on every file Linux opens on a 64-bit kernel; F_GETFL shows it.
pub const O_LARGEFILE: u32 = 0o100000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_CLOEXEC: u32 = 0o2000000;

/// `fcntl(2)` commands and the descriptor flag.
pub const F_DUPFD: u32 = 0;
pub const F_GETFD: u32 = 1;
pub const F_SETFD: u32 = 2;
pub const F_GETFL: u32 = 3;
pub const F_SETFL: u32 = 4;
pub const F_DUPFD_CLOEXEC: u32 = 1030;
pub const FD_CLOEXEC: u64 = 1;

/// The `dirfd` that means "the current directory".
pub const AT_FDCWD: i32 = -100;
/// `*at` flags (several share a bit: each call knows only its own).
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
/// unlinkat: remove a directory.
pub const AT_REMOVEDIR: u32 = 0x200;
/// faccessat2: check with the effective ids.
pub const AT_EACCESS: u32 = 0x200;
/// linkat: follow a symlink given as the old path.
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
/// stat: do not trigger an automount (nothing to trigger here).
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
/// An empty path names the file `dirfd` refers to.
pub const AT_EMPTY_PATH: u32 = 0x1000;
/// statx's synchronisation choices, which fstatat also accepts.
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;

/// `renameat2(2)` flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// `lseek(2)` whences.
pub const SEEK_SET: u64 = 0;
pub const SEEK_CUR: u64 = 1;
pub const SEEK_END: u64 = 2;
pub const SEEK_DATA: u64 = 3;
pub const SEEK_HOLE: u64 = 4;

/// The file-type bits of `st_mode`.
pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
/// The permission bits of `st_mode`.
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
/// Read, write and execute for owner, group and others.
pub const S_IRWXUGO: u32 = 0o777;
/// Every permission bit, the set-id and sticky bits included.
pub const S_IALLUGO: u32 = 0o7777;
/// Execute by anyone.
pub const S_IXUGO: u32 = 0o111;
/// Execute by the group.
pub const S_IXGRP: u32 = 0o010;

/// `access(2)` modes.
pub const F_OK: u32 = 0;
pub const X_OK: u32 = 1;
pub const W_OK: u32 = 2;
pub const R_OK: u32 = 4;

/// `d_type` of a directory entry (getdents).
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

/// `utimensat(2)`: a `tv_nsec` that means "now" or "leave as it is".
pub const UTIME_NOW: u64 = (1 << 30) - 1;
pub const UTIME_OMIT: u64 = (1 << 30) - 2;

/// `statfs(2)` `f_type` values.
pub const EXT2_SUPER_MAGIC: u64 = 0xEF53;
pub const PIPEFS_MAGIC: u64 = 0x5049_5045;
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// `statfs(2)` `f_flags`: the mount's flags, ST_VALID always set.
pub const ST_RDONLY: u64 = 0x0001;
pub const ST_VALID: u64 = 0x0020;
pub const ST_RELATIME: u64 = 0x1000;

/// The most `struct iovec`s one readv/writev takes (`UIO_MAXIOV`).
pub const IOV_MAX: u64 = 1024;

/// The longest path a call takes, its NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;
/// The longest name in a directory (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// How many symlinks one path walk may follow (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// `fallocate(2)` modes.
pub const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
pub const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
pub const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
pub const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
pub const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;
/// The modes `vfs_fallocate` knows (Linux's `FALLOC_FL_SUPPORTED_MASK`).
pub const FALLOC_FL_SUPPORTED_MASK: u32 = FALLOC_FL_KEEP_SIZE
    | FALLOC_FL_PUNCH_HOLE
    | FALLOC_FL_COLLAPSE_RANGE
    | FALLOC_FL_ZERO_RANGE
    | FALLOC_FL_INSERT_RANGE
    | FALLOC_FL_UNSHARE_RANGE;

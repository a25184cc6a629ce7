//! What a file is and how it may be used: the stat family, statfs and
//! fstatfs, access checks, chmod, chown, utimensat and truncate — by
//! path (following symlinks unless told not to), by `*at` path, or by
//! descriptor. Every process is root: permission checks pass, except
//! execution of a file no one may execute (Linux's `generic_permission`
//! with CAP_DAC_OVERRIDE).

use super::path::{
    LookupFlags, Named, descriptor, file_system, lookup_at, named_by, read_path, resolve, user_path,
};
use crate::fs::file::{FileKind, FileRef};
use crate::fs::path::{Follow, Names};
use crate::process::user_memory::{read_user, write_user};
use abi::Errno;
use abi::fs::*;
use ext2::{FileType, InodeNumber};

/// What `struct stat` or `struct statfs` describes.
enum Described {
    Console,
    Pipe,
    Inode(InodeNumber),
}

impl Described {
    fn of_file(file: &FileRef) -> Described {
        match &file.lock().kind {
            FileKind::Console => Described::Console,
            FileKind::Pipe(_) => Described::Pipe,
            FileKind::Regular(inode) | FileKind::Directory(inode) => Described::Inode(*inode),
        }
    }

    fn of(named: Named) -> Described {
        match named {
            Named::Inode(inode) => Described::Inode(inode),
            Named::File(file) => Described::of_file(&file),
        }
    }
}

/// A little-endian record being filled in: `put(offset, value, width)`.
struct Record<const N: usize>([u8; N]);

impl<const N: usize> Record<N> {
    fn put(&mut self, offset: usize, value: u64, width: usize) {
        self.0[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    }
}

/// The `st_mode` type bits of a file type.
fn type_bits(file_type: FileType) -> u32 {
    match file_type {
        FileType::Regular => S_IFREG,
        FileType::Directory => S_IFDIR,
        FileType::Symlink => S_IFLNK,
        FileType::CharDevice => S_IFCHR,
        FileType::BlockDevice => S_IFBLK,
        FileType::Fifo => S_IFIFO,
        FileType::Socket => S_IFSOCK,
        FileType::Unknown => 0,
    }
}

/// A device number as `st_rdev` holds it (Linux's `new_encode_dev`).
fn encode_device((major, minor): (u32, u32)) -> u64 {
    u64::from((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

/// `struct stat` for x86_64 (144 bytes). Times have whole seconds: ext2's
/// inodes keep no more.
fn stat_bytes(of: Described) -> Result<[u8; 144], Errno> {
    let mut stat = Record([0u8; 144]);
    match of {
        Described::Console => {
            stat.put(16, 1, 8); // nlink
            stat.put(24, u64::from(S_IFCHR | 0o620), 4);
            stat.put(40, encode_device((4, 64)), 8); // ttyS0
            stat.put(56, 1024, 8); // blksize
        }
        Described::Pipe => {
            stat.put(16, 1, 8);
            stat.put(24, u64::from(S_IFIFO | 0o600), 4);
            stat.put(56, 4096, 8);
        }
        Described::Inode(inode) => {
            let fs = file_system()?;
            let metadata = fs.metadata_for_stat(inode)?;
            let mode = type_bits(metadata.file_type) | u32::from(metadata.permissions);
            stat.put(0, 0xfe00, 8); // dev: the first virtio disk, 254:0
            stat.put(8, u64::from(inode), 8);
            stat.put(16, u64::from(metadata.links), 8);
            stat.put(24, u64::from(mode), 4);
            stat.put(28, u64::from(metadata.uid), 4);
            stat.put(32, u64::from(metadata.gid), 4);
            stat.put(40, metadata.device.map_or(0, encode_device), 8);
            stat.put(48, metadata.size, 8);
            stat.put(56, u64::from(fs.info().block_size as u32), 8);
            stat.put(64, u64::from(metadata.sectors), 8);
            stat.put(72, u64::from(metadata.atime), 8);
            stat.put(88, u64::from(metadata.mtime), 8);
            stat.put(104, u64::from(metadata.ctime), 8);
        }
    }
    Ok(stat.0)
}

pub fn fstat(fd: u64, buffer: u64) -> Result<u64, Errno> {
    let of = Described::of_file(&descriptor(fd)?);
    write_user(buffer, &stat_bytes(of)?).map(|()| 0)
}

/// The flags newfstatat accepts (Linux's `vfs_statx`): AT_NO_AUTOMOUNT and
/// the AT_STATX_SYNC_TYPE bits change nothing here.
const FSTATAT_FLAGS: u32 =
    AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;

/// newfstatat(2), and stat(2) and lstat(2) with AT_FDCWD: EINVAL for other
/// flags, checked once the path is read.
pub fn newfstatat(dirfd: u64, path_at: u64, buffer: u64, flags: u64) -> Result<u64, Errno> {
    let path = read_path(path_at)?;
    let lookup = LookupFlags::from_at_flags(flags, FSTATAT_FLAGS)?;
    let named = named_by(dirfd, &path, lookup)?;
    write_user(buffer, &stat_bytes(Described::of(named))?).map(|()| 0)
}

/// `struct statfs` for x86_64 (120 bytes): ext2's figures as Linux 6.1
/// reports them for an ext2 disk (`ext4_statfs`), a pipe's as pipefs's,
/// the console's as devtmpfs's (without counts).
fn statfs_bytes(of: Described) -> Result<[u8; 120], Errno> {
    let mut statfs = Record([0u8; 120]);
    let (magic, block_size, flags) = match of {
        Described::Inode(_) => {
            let fs = file_system()?;
            let info = fs.info();
            let block_size = info.block_size as u64;
            statfs.put(16, u64::from(info.blocks_count - info.overhead_blocks), 8);
            statfs.put(24, u64::from(info.free_blocks), 8);
            let available = info.free_blocks.saturating_sub(info.reserved_blocks);
            statfs.put(32, u64::from(available), 8);
            statfs.put(40, u64::from(info.inodes_count), 8);
            statfs.put(48, u64::from(info.free_inodes), 8);
            statfs.put(56, info.fsid & 0xffff_ffff, 4);
            statfs.put(60, info.fsid >> 32, 4);
            let read_only = if info.read_only { ST_RDONLY } else { 0 };
            (
                EXT2_SUPER_MAGIC,
                block_size,
                ST_VALID | ST_RELATIME | read_only,
            )
        }
        Described::Pipe => (PIPEFS_MAGIC, 4096, ST_VALID),
        Described::Console => (TMPFS_MAGIC, 4096, ST_VALID),
    };
    statfs.put(0, magic, 8);
    statfs.put(8, block_size, 8);
    statfs.put(64, NAME_MAX as u64, 8);
    statfs.put(72, block_size, 8); // f_frsize
    statfs.put(80, flags, 8);
    Ok(statfs.0)
}

/// statfs(2): the file system of the path (followed).
pub fn statfs(path_at: u64, buffer: u64) -> Result<u64, Errno> {
    let named = lookup_at(AT_FDCWD as u64, path_at, LookupFlags::FOLLOW)?;
    write_user(buffer, &statfs_bytes(Described::of(named))?).map(|()| 0)
}

pub fn fstatfs(fd: u64, buffer: u64) -> Result<u64, Errno> {
    let of = Described::of_file(&descriptor(fd)?);
    write_user(buffer, &statfs_bytes(of)?).map(|()| 0)
}

/// faccessat2(2), and access(2) and faccessat(2) without flags: whether
/// root may use the file as `mode` asks (F_OK or R_OK|W_OK|X_OK). EINVAL
/// for other mode bits or flags (before the path is read); EACCES for X_OK
/// on a non-directory no one may execute; EROFS for W_OK on a read-only
/// file system (not for device, FIFO and socket files).
pub fn faccessat2(dirfd: u64, path_at: u64, mode: u64, flags: u64) -> Result<u64, Errno> {
    let mode = mode as u32;
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    let allowed = AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH;
    let lookup = LookupFlags::from_at_flags(flags, allowed)?;
    let Described::Inode(inode) = Described::of(lookup_at(dirfd, path_at, lookup)?) else {
        return Ok(0);
    };
    let fs = file_system()?;
    let metadata = fs.metadata(inode)?;
    let executable = u32::from(metadata.permissions) & S_IXUGO != 0;
    if mode & X_OK != 0 && metadata.file_type != FileType::Directory && !executable {
        return Err(Errno::EACCES);
    }
    let special = matches!(
        metadata.file_type,
        FileType::CharDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket
    );
    if mode & W_OK != 0 && !special && fs.is_read_only() {
        return Err(Errno::EROFS);
    }
    Ok(0)
}

/// The inode a change of attributes applies to: `None` for a pipe or the
/// console, whose attributes live nowhere here (Linux changes its pipefs
/// or devtmpfs inode; the call succeeds and changes nothing).
fn changed_inode(named: Named) -> Option<InodeNumber> {
    match Described::of(named) {
        Described::Inode(inode) => Some(inode),
        Described::Console | Described::Pipe => None,
    }
}

/// chmod's change: the permission bits of `mode` (`& 0o7777`). EROFS on
/// a read-only file system.
fn change_mode(named: Named, mode: u64) -> Result<u64, Errno> {
    let Some(inode) = changed_inode(named) else {
        return Ok(0);
    };
    let fs = file_system()?;
    if fs.is_read_only() {
        return Err(Errno::EROFS);
    }
    fs.set_permissions(inode, (mode as u32 & S_IALLUGO) as u16)
        .map(|()| 0)
}

/// fchmodat(2) (Linux 6.1's has no flags), and chmod(2) with AT_FDCWD.
pub fn fchmodat(dirfd: u64, path_at: u64, mode: u64) -> Result<u64, Errno> {
    change_mode(lookup_at(dirfd, path_at, LookupFlags::FOLLOW)?, mode)
}

pub fn fchmod(fd: u64, mode: u64) -> Result<u64, Errno> {
    change_mode(Named::File(descriptor(fd)?), mode)
}

/// chown's change: owner and group, each unless -1. EROFS on a read-only
/// file system.
fn change_owner(named: Named, uid: u64, gid: u64) -> Result<u64, Errno> {
    let Some(inode) = changed_inode(named) else {
        return Ok(0);
    };
    let fs = file_system()?;
    if fs.is_read_only() {
        return Err(Errno::EROFS);
    }
    let id = |value: u64| Some(value as u32).filter(|&id| id != u32::MAX);
    fs.set_owner(inode, id(uid), id(gid)).map(|()| 0)
}

/// fchownat(2), and chown(2) and lchown(2) with AT_FDCWD: EINVAL for flags
/// other than AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH, before the path is read.
pub fn fchownat(dirfd: u64, path_at: u64, uid: u64, gid: u64, flags: u64) -> Result<u64, Errno> {
    let lookup = LookupFlags::from_at_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
    change_owner(lookup_at(dirfd, path_at, lookup)?, uid, gid)
}

pub fn fchown(fd: u64, uid: u64, gid: u64) -> Result<u64, Errno> {
    change_owner(Named::File(descriptor(fd)?), uid, gid)
}

/// One `struct timespec` of utimensat: seconds, or "now", or "leave it".
fn new_time(seconds: u64, nanoseconds: u64) -> Result<Option<u32>, Errno> {
    match nanoseconds {
        UTIME_OMIT => Ok(None),
        UTIME_NOW => Ok(Some(crate::time::unix_seconds())),
        0..=999_999_999 => Ok(Some(seconds as u32)),
        _ => Err(Errno::EINVAL),
    }
}

/// utimensat(2): atime and mtime from the two timespecs at `times_at`
/// (now for both if it is NULL; UTIME_NOW and UTIME_OMIT per time), of the
/// path — or of the descriptor `dirfd` when the path is NULL. As Linux
/// does it: both UTIME_OMIT changes nothing and looks at nothing else;
/// EINVAL for flags other than AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH (any
/// flag with a NULL path); the path's errors; EINVAL for a `tv_nsec` out
/// of range.
pub fn utimensat(dirfd: u64, path_at: u64, times_at: u64, flags: u64) -> Result<u64, Errno> {
    let times = if times_at == 0 {
        None
    } else {
        let mut raw = [0u8; 32];
        read_user(times_at, &mut raw)?;
        let word = |index: usize| {
            u64::from_le_bytes(raw[index * 8..index * 8 + 8].try_into().expect("8 bytes"))
        };
        if word(1) == UTIME_OMIT && word(3) == UTIME_OMIT {
            return Ok(0);
        }
        Some([(word(0), word(1)), (word(2), word(3))])
    };
    let named = if path_at == 0 && dirfd as i32 != AT_FDCWD {
        if flags as u32 != 0 {
            return Err(Errno::EINVAL);
        }
        Named::File(descriptor(u64::from(dirfd as u32))?)
    } else {
        let lookup = LookupFlags::from_at_flags(flags, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
        lookup_at(dirfd, path_at, lookup)?
    };
    let (atime, mtime) = match times {
        Some([(atime_s, atime_ns), (mtime_s, mtime_ns)]) => {
            (new_time(atime_s, atime_ns)?, new_time(mtime_s, mtime_ns)?)
        }
        None => {
            let now = Some(crate::time::unix_seconds());
            (now, now)
        }
    };
    let Some(inode) = changed_inode(named) else {
        return Ok(0);
    };
    let fs = file_system()?;
    if fs.is_read_only() {
        return Err(Errno::EROFS);
    }
    fs.set_times(inode, atime, mtime).map(|()| 0)
}

/// truncate(2): the regular file at the path (followed) gets `length`
/// bytes. EINVAL for a negative length (before the path is read) or a
/// file that is not regular; EISDIR for a directory; EROFS; EFBIG.
pub fn truncate(path_at: u64, length: u64) -> Result<u64, Errno> {
    if (length as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(path_at)?;
    let inode = resolve(AT_FDCWD as u64, &path, Follow::Yes)?;
    let fs = file_system()?;
    match fs.file_type(inode)? {
        FileType::Regular => {}
        FileType::Directory => return Err(Errno::EISDIR),
        _ => return Err(Errno::EINVAL),
    }
    if fs.is_read_only() {
        return Err(Errno::EROFS);
    }
    fs.set_len(inode, length).map(|()| 0)
}

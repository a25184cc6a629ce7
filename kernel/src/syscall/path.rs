//! Path arguments: reading them from user memory, and where they start —
//! the root for an absolute path, else the process's current directory
//! (AT_FDCWD) or the directory a `*at` call's `dirfd` names. The walk
//! itself is `fs::path`'s (see docs/abi.md, "Paths").

use crate::fs::file::{FileKind, FileRef};
use crate::fs::path::{Follow, Parent, Walk};
use crate::fs::{FileSystem, root};
use crate::process::user_memory::read_user_string;
use crate::sched;
use abi::Errno;
use abi::fs::{AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, PATH_MAX};
use alloc::vec::Vec;
use ext2::InodeNumber;

/// The root file system: ENOENT when none is mounted (every path fails).
pub fn file_system() -> Result<&'static FileSystem, Errno> {
    root().ok_or(Errno::ENOENT)
}

/// The open file description behind descriptor `fd`: EBADF if none.
pub fn descriptor(fd: u64) -> Result<FileRef, Errno> {
    sched::current_process().files.lock().get(fd)
}

/// A path argument, which may be empty: EFAULT for a bad pointer,
/// ENAMETOOLONG for one of PATH_MAX (4096) bytes or more, as Linux's
/// `getname` counts them.
pub fn read_path(addr: u64) -> Result<Vec<u8>, Errno> {
    let path = read_user_string(addr, PATH_MAX)?;
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(path)
}

/// A path argument that must not be empty: as [`read_path`], and ENOENT
/// for an empty one.
pub fn user_path(addr: u64) -> Result<Vec<u8>, Errno> {
    let path = read_path(addr)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(path)
}

/// Whether a `dirfd` argument (an `int`) is AT_FDCWD.
fn is_cwd(dirfd: u64) -> bool {
    dirfd as i32 == AT_FDCWD
}

/// The directory `path` starts from: the root for an absolute path (`dirfd`
/// is not even looked at), the current directory for AT_FDCWD, else the
/// directory `dirfd` names: EBADF if it is no descriptor, ENOTDIR if it is
/// not a directory.
pub fn start_directory(dirfd: u64, path: &[u8]) -> Result<InodeNumber, Errno> {
    if path.starts_with(b"/") {
        return Ok(ext2::ROOT_INODE);
    }
    let process = sched::current_process();
    if is_cwd(dirfd) {
        return Ok(process.cwd());
    }
    let file = process.files.lock().get(u64::from(dirfd as u32))?;
    match file.lock().kind {
        FileKind::Directory(inode) => Ok(inode),
        _ => Err(Errno::ENOTDIR),
    }
}

/// What a `*at` call acts on.
pub enum Named {
    /// An inode reached by a path.
    Inode(InodeNumber),
    /// The open file `dirfd` refers to: an empty path with AT_EMPTY_PATH.
    File(FileRef),
}

/// The `*at` flags that change a lookup: AT_SYMLINK_NOFOLLOW (the last name
/// is not followed) and AT_EMPTY_PATH (an empty path names `dirfd`).
#[derive(Clone, Copy)]
pub struct LookupFlags {
    pub follow: Follow,
    pub empty_path: bool,
}

impl LookupFlags {
    /// Follows the last symlink; an empty path is ENOENT.
    pub const FOLLOW: LookupFlags = LookupFlags {
        follow: Follow::Yes,
        empty_path: false,
    };

    /// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH from `flags` (an `int`: the
    /// upper half of the register is ignored): EINVAL if a bit outside
    /// `allowed` is set.
    pub fn from_at_flags(flags: u64, allowed: u32) -> Result<LookupFlags, Errno> {
        let flags = flags as u32;
        if flags & !allowed != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(LookupFlags {
            follow: if flags & AT_SYMLINK_NOFOLLOW != 0 {
                Follow::No
            } else {
                Follow::Yes
            },
            empty_path: flags & AT_EMPTY_PATH != 0,
        })
    }
}

/// What the path at `path_at` names, from `dirfd`: the walk's errors
/// (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), the path's (EFAULT, ENOENT
/// for an empty one unless `flags.empty_path`) and the dirfd's (EBADF,
/// ENOTDIR). An empty path with AT_EMPTY_PATH names `dirfd`'s file, or the
/// current directory for AT_FDCWD.
pub fn lookup_at(dirfd: u64, path_at: u64, flags: LookupFlags) -> Result<Named, Errno> {
    named_by(dirfd, &read_path(path_at)?, flags)
}

/// What `path` (already read) names, from `dirfd`, as [`lookup_at`].
pub fn named_by(dirfd: u64, path: &[u8], flags: LookupFlags) -> Result<Named, Errno> {
    if path.is_empty() {
        if !flags.empty_path {
            return Err(Errno::ENOENT);
        }
        if is_cwd(dirfd) {
            return Ok(Named::Inode(sched::current_process().cwd()));
        }
        return descriptor(u64::from(dirfd as u32)).map(Named::File);
    }
    resolve(dirfd, path, flags.follow).map(Named::Inode)
}

/// The inode at `path` (not empty) from `dirfd`, following the last name
/// as `follow` says.
pub fn resolve(dirfd: u64, path: &[u8], follow: Follow) -> Result<InodeNumber, Errno> {
    let start = start_directory(dirfd, path)?;
    Walk::new(file_system()?).resolve(start, path, follow)
}

/// The directory and last name of `path` (read, not empty) from `dirfd`,
/// for a call that creates, removes or renames a name: errors as
/// [`lookup_at`] for the names before the last.
pub fn parent_at(dirfd: u64, path: &[u8]) -> Result<Parent, Errno> {
    let start = start_directory(dirfd, path)?;
    Walk::new(file_system()?).parent(start, path)
}

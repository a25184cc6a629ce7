//! The calls that make, remove and rename names: mkdirat, mknodat,
//! symlinkat, linkat, unlinkat (unlink, rmdir), renameat2 (rename,
//! renameat), and readlinkat. The old calls without `at` are these with
//! AT_FDCWD. Errors come in the order of Linux 6.1's fs/namei.c.

use super::path::{
    LookupFlags, Named, descriptor, file_system, lookup_at, parent_at, read_path, user_path,
};
use crate::fs::FileSystem;
use crate::fs::names::NewNode;
use crate::fs::path::{Follow, Last, Names, Parent};
use crate::process::user_memory::write_user;
use crate::sched;
use abi::Errno;
use abi::fs::*;
use ext2::{FileType, InodeNumber};

/// The name a call that creates one makes, from its path's `parent`, as
/// Linux's `filename_create` checks it: EEXIST for a path ending in `.`,
/// `..` or naming `/` (they exist); for a path ending in `/` — which only
/// mkdir (`directory`) may create — EEXIST if the name exists, else ENOENT.
fn name_to_create<'p>(
    fs: &FileSystem,
    parent: &'p Parent,
    directory: bool,
) -> Result<&'p [u8], Errno> {
    let Last::Name(name) = &parent.last else {
        return Err(Errno::EEXIST);
    };
    if parent.trailing_slash && !directory {
        return Err(match fs.lookup_name(parent.dir, name) {
            Ok(_) => Errno::EEXIST,
            Err(errno) => errno,
        });
    }
    Ok(name)
}

/// The permission bits a new inode gets from a requested `mode`: `keep`
/// of them, less the process's umask.
fn masked(mode: u64, keep: u32) -> u16 {
    let umask = sched::current_process().umask();
    (mode as u32 & keep & !umask) as u16
}

/// mkdirat(2): a directory at `path_at` with `mode & 0o1777` less the
/// umask (a trailing slash is allowed).
pub fn mkdirat(dirfd: u64, path_at: u64, mode: u64) -> Result<u64, Errno> {
    let path = user_path(path_at)?;
    let parent = parent_at(dirfd, &path)?;
    let fs = file_system()?;
    let name = name_to_create(fs, &parent, true)?;
    let permissions = masked(mode, S_IRWXUGO | S_ISVTX);
    fs.make_node(parent.dir, name, NewNode::Directory, permissions)
        .map(|_| 0)
}

/// mknodat(2): a regular file (type 0 or S_IFREG), character or block
/// device, FIFO or socket, its permissions less the umask; `dev` as Linux
/// encodes it (`new_decode_dev`). EPERM for S_IFDIR, EINVAL for another
/// type, checked once the path is read and before it is walked.
pub fn mknodat(dirfd: u64, path_at: u64, mode: u64, dev: u64) -> Result<u64, Errno> {
    let path = user_path(path_at)?;
    let mode = mode as u32;
    let dev = dev as u32;
    let device = ((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
    let node = match mode & S_IFMT {
        0 | S_IFREG => NewNode::Regular,
        S_IFCHR => NewNode::Special(FileType::CharDevice, device),
        S_IFBLK => NewNode::Special(FileType::BlockDevice, device),
        S_IFIFO => NewNode::Special(FileType::Fifo, device),
        S_IFSOCK => NewNode::Special(FileType::Socket, device),
        S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    };
    let parent = parent_at(dirfd, &path)?;
    let fs = file_system()?;
    let name = name_to_create(fs, &parent, false)?;
    let permissions = masked(u64::from(mode), S_IALLUGO);
    fs.make_node(parent.dir, name, node, permissions).map(|_| 0)
}

/// symlinkat(2): a symlink at `path_at` to the string at `target_at`
/// (ENOENT if empty), mode 0777 whatever the umask.
pub fn symlinkat(target_at: u64, dirfd: u64, path_at: u64) -> Result<u64, Errno> {
    let target = user_path(target_at)?;
    let path = user_path(path_at)?;
    let parent = parent_at(dirfd, &path)?;
    let fs = file_system()?;
    let name = name_to_create(fs, &parent, false)?;
    fs.make_node(
        parent.dir,
        name,
        NewNode::Symlink(&target),
        S_IRWXUGO as u16,
    )
    .map(|_| 0)
}

/// linkat(2): a new name at `new_at` for what `old_at` names — a symlink
/// in the last place only followed with AT_SYMLINK_FOLLOW, an empty path
/// naming `old_dirfd` with AT_EMPTY_PATH. EINVAL for other flags, EPERM
/// for a directory, EXDEV for a pipe or the console.
pub fn linkat(
    old_dirfd: u64,
    old_at: u64,
    new_dirfd: u64,
    new_at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let flags = flags as u32;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let lookup = LookupFlags {
        follow: if flags & AT_SYMLINK_FOLLOW != 0 {
            Follow::Yes
        } else {
            Follow::No
        },
        empty_path: flags & AT_EMPTY_PATH != 0,
    };
    let inode = match lookup_at(old_dirfd, old_at, lookup)? {
        Named::Inode(inode) => inode,
        Named::File(file) => file.lock().kind.inode().ok_or(Errno::EXDEV)?,
    };
    let path = user_path(new_at)?;
    let parent = parent_at(new_dirfd, &path)?;
    let fs = file_system()?;
    let name = name_to_create(fs, &parent, false)?;
    fs.link(inode, parent.dir, name).map(|()| 0)
}

/// unlinkat(2): unlink, or rmdir with AT_REMOVEDIR; EINVAL for other flags.
pub fn unlinkat(dirfd: u64, path_at: u64, flags: u64) -> Result<u64, Errno> {
    let flags = flags as u32;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = user_path(path_at)?;
    let parent = parent_at(dirfd, &path)?;
    let fs = file_system()?;
    if flags & AT_REMOVEDIR != 0 {
        rmdir(fs, &parent)
    } else {
        unlink(fs, &parent)
    }
    .map(|()| 0)
}

/// rmdir of the last name of `parent`: ENOTEMPTY for `..`, EINVAL for
/// `.`, EBUSY for `/`; then ENOENT, ENOTDIR (a symlink too), ENOTEMPTY.
fn rmdir(fs: &FileSystem, parent: &Parent) -> Result<(), Errno> {
    match &parent.last {
        Last::DotDot => Err(Errno::ENOTEMPTY),
        Last::Dot => Err(Errno::EINVAL),
        Last::Root => Err(Errno::EBUSY),
        Last::Name(name) => fs.rmdir(parent.dir, name),
    }
}

/// unlink of the last name of `parent`: EISDIR for `.`, `..` and `/`;
/// with a trailing slash ENOENT, EISDIR or ENOTDIR, as the name is missing,
/// a directory or anything else; then ext2's ENOENT and EISDIR.
fn unlink(fs: &FileSystem, parent: &Parent) -> Result<(), Errno> {
    let Last::Name(name) = &parent.last else {
        return Err(Errno::EISDIR);
    };
    if parent.trailing_slash {
        let inode = fs.lookup_name(parent.dir, name)?;
        return Err(if fs.file_type(inode)? == FileType::Directory {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    fs.unlink(parent.dir, name)
}

/// renameat2(2) (and rename, renameat): `old_at` becomes `new_at`,
/// replacing what is there unless RENAME_NOREPLACE. Errors in Linux's
/// order: EINVAL for unknown flags or RENAME_EXCHANGE with another flag;
/// the old path's walk, then the new one's; EBUSY for a path ending in
/// `.`, `..` or naming `/` (EEXIST for the new one with RENAME_NOREPLACE);
/// ENOENT for a missing old name; EEXIST with RENAME_NOREPLACE; ENOTDIR
/// for a trailing slash on either path when the old name is not a
/// directory; then ext2's (EINVAL, ENOTEMPTY, EISDIR, ENOTDIR, EMLINK).
///
/// Linux 6.1 serves ext2 disks with its ext4 driver, which also does
/// RENAME_EXCHANGE (the two names trade inodes: ENOENT if the new one is
/// missing, ENOTDIR for a trailing slash on a non-directory, then ext2's
/// `exchange` errors) and RENAME_WHITEOUT (a whiteout — a character device
/// 0:0 with no permissions — takes the old name's place).
pub fn renameat2(
    old_dirfd: u64,
    old_at: u64,
    new_dirfd: u64,
    new_at: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let flags = flags as u32;
    let exchange = flags & RENAME_EXCHANGE != 0;
    let known = RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT;
    if flags & !known != 0 || exchange && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    let no_replace = flags & RENAME_NOREPLACE != 0;
    let old_path = user_path(old_at)?;
    let old = parent_at(old_dirfd, &old_path)?;
    let new_path = user_path(new_at)?;
    let new = parent_at(new_dirfd, &new_path)?;
    let Last::Name(old_name) = &old.last else {
        return Err(Errno::EBUSY);
    };
    let Last::Name(new_name) = &new.last else {
        return Err(if no_replace {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    };
    let fs = file_system()?;
    let moved = fs.lookup_name(old.dir, old_name)?;
    let replaced = match fs.lookup_name(new.dir, new_name) {
        Ok(inode) => Some(inode),
        Err(Errno::ENOENT) => None,
        Err(errno) => return Err(errno),
    };
    if no_replace && replaced.is_some() {
        return Err(Errno::EEXIST);
    }
    let is_directory = |inode| Ok::<_, Errno>(fs.file_type(inode)? == FileType::Directory);
    if exchange {
        let replaced = replaced.ok_or(Errno::ENOENT)?;
        if new.trailing_slash && !is_directory(replaced)?
            || old.trailing_slash && !is_directory(moved)?
        {
            return Err(Errno::ENOTDIR);
        }
        return fs
            .exchange(old.dir, old_name, new.dir, new_name)
            .map(|()| 0);
    }
    if (old.trailing_slash || new.trailing_slash) && !is_directory(moved)? {
        return Err(Errno::ENOTDIR);
    }
    fs.rename(old.dir, old_name, new.dir, new_name, no_replace)?;
    if flags & RENAME_WHITEOUT != 0 {
        let whiteout = NewNode::Special(FileType::CharDevice, (0, 0));
        fs.make_node(old.dir, old_name, whiteout, 0)?;
    }
    Ok(0)
}

/// readlinkat(2): up to `size` bytes of the target of the symlink at
/// `path_at` (not followed), without a NUL; returns how many. EINVAL for a
/// size of 0 or less (an `int`) or for what is no symlink; ENOENT for an
/// empty path (it would name `dirfd`, which cannot be a symlink here).
pub fn readlinkat(dirfd: u64, path_at: u64, buffer: u64, size: u64) -> Result<u64, Errno> {
    let size = size as i32;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(path_at)?;
    if path.is_empty() {
        if dirfd as i32 != AT_FDCWD {
            descriptor(u64::from(dirfd as u32))?;
        }
        return Err(Errno::ENOENT);
    }
    let inode: InodeNumber = super::path::resolve(dirfd, &path, Follow::No)?;
    let fs = file_system()?;
    if fs.file_type(inode)? != FileType::Symlink {
        return Err(Errno::EINVAL);
    }
    let target = fs.read_link(inode)?;
    let len = target.len().min(size as usize);
    write_user(buffer, &target[..len])?;
    Ok(len as u64)
}

//! Names and attributes on the root file system: what the system calls do
//! once a path has been walked (`path.rs`) to a directory and a name, or to
//! an inode. ext2 does the disk side; this layer adds what Linux's VFS adds
//! around it: removed directories refuse new names, the set-group-ID bit of
//! a directory passes to what is created in it, and an inode that loses its
//! last name lives on while it is used (`in_use.rs`).

use super::FileSystem;
use super::path::Names;
use abi::Errno;
use abi::fs::S_ISGID;
use alloc::vec::Vec;
use ext2::{DirEntry, Ext2, FileType, FsInfo, InodeNumber, Unlinked};

type RootExt2 = Ext2<&'static crate::block::Disk>;

impl Names for FileSystem {
    fn lookup_name(&self, dir: InodeNumber, name: &[u8]) -> Result<InodeNumber, Errno> {
        self.ext2.lock().lookup(dir, name)
    }

    fn file_type(&self, inode: InodeNumber) -> Result<FileType, Errno> {
        Ok(self.metadata(inode)?.file_type)
    }

    fn read_link(&self, inode: InodeNumber) -> Result<Vec<u8>, Errno> {
        self.ext2.lock().read_link(inode)
    }
}

/// What a new inode is, for [`FileSystem::make_node`].
pub enum NewNode<'a> {
    Regular,
    Directory,
    /// A device, FIFO or socket (ext2's `mknod`), with `(major, minor)`.
    Special(FileType, (u32, u32)),
    Symlink(&'a [u8]),
}

fn now() -> u32 {
    crate::time::unix_seconds()
}

/// Checks that `dir` may get a new name: a directory not removed (Linux's
/// `IS_DEADDIR` check: ENOENT once rmdir left it without links).
fn check_live_directory(ext2: &mut RootExt2, dir: InodeNumber) -> Result<(), Errno> {
    let metadata = ext2.metadata(dir)?;
    if metadata.file_type != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if metadata.links == 0 {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

impl FileSystem {
    /// Creates `name` in the directory `dir` as `node`, with `permissions`
    /// (the caller has applied the umask). In a set-group-ID directory the
    /// new inode takes the directory's group, and a new directory the bit
    /// too (Linux's `inode_init_owner`). Errors: ENOENT for a removed
    /// directory, then ext2's (EEXIST, ENAMETOOLONG, ENOSPC, ...).
    pub fn make_node(
        &self,
        dir: InodeNumber,
        name: &[u8],
        node: NewNode,
        permissions: u16,
    ) -> Result<InodeNumber, Errno> {
        let mut ext2 = self.ext2.lock();
        check_live_directory(&mut ext2, dir)?;
        let parent = ext2.metadata(dir)?;
        let inherits_group = u32::from(parent.permissions) & S_ISGID != 0;
        let setgid = if inherits_group { S_ISGID as u16 } else { 0 };
        let time = now();
        let inode = match node {
            NewNode::Regular => ext2.create(dir, name, permissions, time),
            NewNode::Directory => ext2.mkdir(dir, name, permissions | setgid, time),
            NewNode::Special(file_type, device) => {
                ext2.mknod(dir, name, file_type, permissions, device, time)
            }
            NewNode::Symlink(target) => ext2.symlink(dir, name, target, time),
        }?;
        if inherits_group {
            ext2.set_owner(inode, None, Some(parent.gid), time)?;
        }
        Ok(inode)
    }

    /// link(2): the name `name` in `dir` for the existing `inode`. ENOENT
    /// for a removed directory, then ext2's checks (EPERM for a directory,
    /// EEXIST, EMLINK).
    pub fn link(&self, inode: InodeNumber, dir: InodeNumber, name: &[u8]) -> Result<(), Errno> {
        let mut ext2 = self.ext2.lock();
        check_live_directory(&mut ext2, dir)?;
        ext2.link(inode, dir, name, now())
    }

    /// unlink(2) of `name` in `dir` (a non-directory: EISDIR otherwise). An
    /// inode left without links is freed at once if nothing uses it, or when
    /// its last use ends.
    pub fn unlink(&self, dir: InodeNumber, name: &[u8]) -> Result<(), Errno> {
        self.remove_name(dir, |ext2, time| ext2.unlink(dir, name, time))
    }

    /// rmdir(2) of the empty directory `name` in `dir`. A directory that is
    /// some process's current directory or open stays, removed, until then.
    pub fn rmdir(&self, dir: InodeNumber, name: &[u8]) -> Result<(), Errno> {
        self.remove_name(dir, |ext2, time| ext2.rmdir(dir, name, time))
    }

    /// Removes a name from `dir` with `remove` (ext2's unlink or rmdir, given
    /// the time), ENOENT first for a removed directory, and lets the inode
    /// go as [`FileSystem::release_unlinked`] says.
    fn remove_name(
        &self,
        dir: InodeNumber,
        remove: impl FnOnce(&mut RootExt2, u32) -> Result<Unlinked, Errno>,
    ) -> Result<(), Errno> {
        let removed = {
            let mut ext2 = self.ext2.lock();
            check_live_directory(&mut ext2, dir)?;
            remove(&mut ext2, now())?
        };
        self.release_unlinked(removed)
    }

    /// rename(2) and renameat2(2) with RENAME_NOREPLACE (`no_replace`), with
    /// ext2's checks in Linux's order; ENOENT for a removed directory. A
    /// replaced inode left without links goes as after unlink.
    pub fn rename(
        &self,
        old_dir: InodeNumber,
        old_name: &[u8],
        new_dir: InodeNumber,
        new_name: &[u8],
        no_replace: bool,
    ) -> Result<(), Errno> {
        let replaced = {
            let mut ext2 = self.ext2.lock();
            check_live_directory(&mut ext2, old_dir)?;
            check_live_directory(&mut ext2, new_dir)?;
            ext2.rename(old_dir, old_name, new_dir, new_name, now(), no_replace)?
        };
        match replaced {
            Some(unlinked) => self.release_unlinked(unlinked),
            None => Ok(()),
        }
    }

    /// renameat2(2) with RENAME_EXCHANGE: the two names trade inodes, as
    /// Linux 6.1's ext4 driver does it on an ext2 disk (ext2's `exchange`,
    /// with its errors); ENOENT for a removed directory.
    pub fn exchange(
        &self,
        old_dir: InodeNumber,
        old_name: &[u8],
        new_dir: InodeNumber,
        new_name: &[u8],
    ) -> Result<(), Errno> {
        let mut ext2 = self.ext2.lock();
        check_live_directory(&mut ext2, old_dir)?;
        check_live_directory(&mut ext2, new_dir)?;
        ext2.exchange(old_dir, old_name, new_dir, new_name, now())
    }

    /// chmod(2): the permission bits (`& 0o7777`), and ctime.
    pub fn set_permissions(&self, inode: InodeNumber, permissions: u16) -> Result<(), Errno> {
        self.ext2.lock().set_permissions(inode, permissions, now())
    }

    /// chown(2): owner and group, each unless `None`, and ctime. A regular
    /// file (anything but a directory) loses its set-user-ID bit, and its
    /// set-group-ID bit when group execution is allowed, as Linux's
    /// `notify_change` clears them for every chown — also by root and also
    /// when nothing changes.
    pub fn set_owner(
        &self,
        inode: InodeNumber,
        uid: Option<u32>,
        gid: Option<u32>,
    ) -> Result<(), Errno> {
        let mut ext2 = self.ext2.lock();
        let time = now();
        ext2.set_owner(inode, uid, gid, time)?;
        let metadata = ext2.metadata(inode)?;
        if metadata.file_type == FileType::Directory {
            return Ok(());
        }
        let mut permissions = u32::from(metadata.permissions) & !abi::fs::S_ISUID;
        let group_executes = permissions & abi::fs::S_IXGRP != 0;
        if group_executes {
            permissions &= !S_ISGID;
        }
        if permissions != u32::from(metadata.permissions) {
            ext2.set_permissions(inode, permissions as u16, time)?;
        }
        Ok(())
    }

    /// utimensat(2): atime and mtime in seconds, each unless `None`, and
    /// ctime set to now.
    pub fn set_times(
        &self,
        inode: InodeNumber,
        atime: Option<u32>,
        mtime: Option<u32>,
    ) -> Result<(), Errno> {
        self.ext2.lock().set_times(inode, atime, mtime, now())
    }

    /// Up to `max` entries of the directory `dir` from byte `position` on
    /// (getdents). ENOENT for a removed directory, as Linux's
    /// `iterate_dir` says.
    pub fn read_dir_at(
        &self,
        dir: InodeNumber,
        position: u64,
        max: usize,
    ) -> Result<Vec<DirEntry>, Errno> {
        let mut ext2 = self.ext2.lock();
        check_live_directory(&mut ext2, dir)?;
        ext2.read_dir_at(dir, position, max)
    }

    /// The geometry and counters statfs reports.
    pub fn info(&self) -> FsInfo {
        self.ext2.lock().info()
    }
}

//! Names: path lookup, create, mkdir, mknod, link, unlink, rmdir, and
//! freeing an inode when its last link goes. Symlinks are in `symlink.rs`,
//! rename in `rename.rs`.

use abi::Errno;

use crate::block_map::MappedBlock;
use crate::bytes::LittleEndian;
use crate::device::BlockDevice;
use crate::dir::MAX_NAME_LEN;
use crate::fs::Ext2;
use crate::inode::{FileType, Inode, InodeNumber, ROOT_INODE};

/// The largest link count we create (Linux's `EXT2_LINK_MAX`); ext2
/// stores it in 16 bits.
pub(crate) const MAX_LINKS: u16 = 32000;

/// The largest major and minor device numbers: Linux's `dev_t` has 12 and
/// 20 bits for them (include/linux/kdev_t.h).
const MAX_DEVICE_MAJOR: u32 = (1 << 12) - 1;
const MAX_DEVICE_MINOR: u32 = (1 << 20) - 1;

/// Header magic of an extended-attribute block, and where its reference
/// count lives (several inodes may share one block).
const XATTR_BLOCK_MAGIC: u32 = 0xEA02_0000;
const XATTR_REFCOUNT_OFFSET: usize = 4;

/// The inode a removed name led to ([`Ext2::unlink`], [`Ext2::rmdir`], or
/// the name an [`Ext2::rename`] replaced), and whether that left it an orphan (no
/// links, still allocated): then the kernel frees it with
/// [`Ext2::release_orphan`] once nothing uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unlinked {
    pub inode: InodeNumber,
    pub orphaned: bool,
}

/// Checks a name for a new entry: not empty, no `/`, no NUL, not too long.
pub(crate) fn check_new_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.contains(&b'/') || name.contains(&0) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

impl<D: BlockDevice> Ext2<D> {
    /// The inode `name` names in `directory`: ENOTDIR if `directory` is no
    /// directory, ENOENT if it has no such entry.
    pub fn lookup(&mut self, directory: InodeNumber, name: &[u8]) -> Result<InodeNumber, Errno> {
        if name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let inode = self.read_inode(directory)?;
        if inode.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let found = self.find_entry(&inode, name)?.ok_or(Errno::ENOENT)?;
        Ok(found.inode)
    }

    /// Resolves a path from the root directory. Empty components and a
    /// leading `/` are ignored; `.` and `..` are looked up like any name
    /// (every directory has them). Symlinks are not followed.
    pub fn lookup_path(&mut self, path: &[u8]) -> Result<InodeNumber, Errno> {
        self.lookup_path_from(ROOT_INODE, path)
    }

    /// Resolves a path relative to the directory `start` (from the root if
    /// it begins with `/`), as [`Ext2::lookup_path`] does.
    pub fn lookup_path_from(
        &mut self,
        start: InodeNumber,
        path: &[u8],
    ) -> Result<InodeNumber, Errno> {
        let start = if path.first() == Some(&b'/') {
            ROOT_INODE
        } else {
            start
        };
        path.split(|&byte| byte == b'/')
            .filter(|component| !component.is_empty())
            .try_fold(start, |directory, name| self.lookup(directory, name))
    }

    /// Creates an empty regular file `name` in `directory`.
    pub fn create(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        now: u32,
    ) -> Result<InodeNumber, Errno> {
        let inode = Inode::new(FileType::Regular, permissions, now);
        self.create_inode(directory, name, inode, now, |_, _, _| Ok(()))
    }

    /// Creates a device file, FIFO or socket `name` in `directory`, as
    /// Linux's `ext2_mknod` does: a character or block device keeps
    /// `device` = `(major, minor)` in `i_block` (see
    /// [`Metadata::device`](crate::Metadata::device)); a FIFO or socket
    /// ignores `device`. EINVAL for any other type, and for a device number
    /// Linux's `dev_t` cannot hold (major above 4095, minor above 2^20 − 1).
    pub fn mknod(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        file_type: FileType,
        permissions: u16,
        device: (u32, u32),
        now: u32,
    ) -> Result<InodeNumber, Errno> {
        let (major, minor) = device;
        let mut inode = Inode::new(file_type, permissions, now);
        match file_type {
            FileType::CharDevice | FileType::BlockDevice => {
                if major > MAX_DEVICE_MAJOR || minor > MAX_DEVICE_MINOR {
                    return Err(Errno::EINVAL);
                }
                inode.set_device(major, minor);
            }
            FileType::Fifo | FileType::Socket => {}
            _ => return Err(Errno::EINVAL),
        }
        self.create_inode(directory, name, inode, now, |_, _, _| Ok(()))
    }

    /// Creates the inode `name` in `directory` from `inode`: allocates an
    /// inode number near the directory, lets `fill` complete the inode (a
    /// directory's first block, a symlink's target; it gets the new number,
    /// which allocating blocks needs), writes it and links it in. If a step
    /// fails, everything is undone.
    pub(crate) fn create_inode(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        mut inode: Inode,
        now: u32,
        fill: impl FnOnce(&mut Self, InodeNumber, &mut Inode) -> Result<(), Errno>,
    ) -> Result<InodeNumber, Errno> {
        let file_type = inode.file_type();
        let (mut parent, child) = self.new_inode_in(directory, name, file_type)?;
        let linked = fill(self, child, &mut inode)
            .and_then(|()| self.write_new_inode(child, &inode))
            .and_then(|()| self.add_entry(directory, &mut parent, name, child, file_type, now));
        self.undo_new_inode_on_error(child, &mut inode, linked, now)
    }

    /// Creates an empty directory `name` in `directory`: one block holding
    /// `.` and `..`, two links (its entry and its own `.`), and one more
    /// link on the parent (the new `..`).
    pub fn mkdir(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        now: u32,
    ) -> Result<InodeNumber, Errno> {
        let inode = Inode::new(FileType::Directory, permissions, now);
        let child = self.create_inode(directory, name, inode, now, |fs, child, inode| {
            fs.init_directory(directory, child, inode)
        })?;
        self.update_inode(directory, |parent| {
            parent.set_links_count(parent.links_count() + 1);
        })?;
        Ok(child)
    }

    /// Gives a new directory its first block, holding `.` and `..`, and its
    /// two links. EMLINK if the parent already has [`MAX_LINKS`]: the new
    /// `..` would be one too many (Linux's `vfs_mkdir`).
    fn init_directory(
        &mut self,
        parent: InodeNumber,
        child: InodeNumber,
        inode: &mut Inode,
    ) -> Result<(), Errno> {
        if self.read_inode(parent)?.links_count() >= MAX_LINKS {
            return Err(Errno::EMLINK);
        }
        let mut mapped = [MappedBlock::default()];
        self.allocate_range(child, inode, 0, &mut mapped)?;
        inode.set_size(self.block_size() as u64);
        inode.set_links_count(2);
        let block = self.new_directory_block(child, parent);
        self.write_metadata_block(mapped[0].disk_block, &block)
    }

    /// If linking a new inode failed, frees it again (with any blocks it
    /// got), so that e2fsck finds no trace of it.
    fn undo_new_inode_on_error(
        &mut self,
        number: InodeNumber,
        inode: &mut Inode,
        linked: Result<(), Errno>,
        now: u32,
    ) -> Result<InodeNumber, Errno> {
        match linked {
            Ok(()) => Ok(number),
            Err(errno) => {
                inode.set_links_count(0);
                self.release_inode(number, inode, now)?;
                Err(errno)
            }
        }
    }

    /// Common start of everything that adds a name: checks the name, that
    /// `directory` is one, and that it has no entry `name` yet (EEXIST).
    /// Returns the directory's inode.
    fn check_new_entry(&mut self, directory: InodeNumber, name: &[u8]) -> Result<Inode, Errno> {
        check_new_name(name)?;
        let parent = self.read_inode(directory)?;
        if parent.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if self.find_entry(&parent, name)?.is_some() {
            return Err(Errno::EEXIST);
        }
        Ok(parent)
    }

    /// Common start of every creation ([`Ext2::create_inode`]): checks the
    /// name and the parent, and allocates an inode near the parent.
    fn new_inode_in(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        file_type: FileType,
    ) -> Result<(Inode, InodeNumber), Errno> {
        let parent = self.check_new_entry(directory, name)?;
        self.begin_change()?;
        let child = self.allocate_inode(
            self.group_of_inode(directory),
            file_type == FileType::Directory,
        )?;
        Ok((parent, child))
    }

    /// Adds the name `name` in `directory` for the existing `inode` (a hard
    /// link, Linux's `vfs_link` and `ext2_link`): bumps its link count and
    /// ctime, and the directory's mtime and ctime. After the name checks of
    /// [`Ext2::create`] (ENOTDIR, EEXIST, ...): EPERM if `inode` is a
    /// directory, ENOENT if it has no links left (an orphan), EMLINK if it
    /// already has [`MAX_LINKS`] (32000).
    pub fn link(
        &mut self,
        inode: InodeNumber,
        directory: InodeNumber,
        name: &[u8],
        now: u32,
    ) -> Result<(), Errno> {
        let mut parent = self.check_new_entry(directory, name)?;
        let mut target = self.read_inode(inode)?;
        match target.file_type() {
            FileType::Directory => return Err(Errno::EPERM),
            _ if target.links_count() == 0 => return Err(Errno::ENOENT),
            _ if target.links_count() >= MAX_LINKS => return Err(Errno::EMLINK),
            _ => {}
        }
        self.begin_change()?;
        self.add_entry(directory, &mut parent, name, inode, target.file_type(), now)?;
        target.set_links_count(target.links_count() + 1);
        target.set_ctime(now);
        self.write_inode(inode, &target)
    }

    /// Removes the name of a non-directory (a symlink goes like a file; it
    /// is not followed). An inode left without links is
    /// an orphan: still allocated, its data readable and writable, its
    /// number not given to new files, until [`Ext2::release_orphan`] frees
    /// it — which the kernel calls when no open file or mapping uses it any
    /// more (Linux's `ext2_evict_inode`). Directories are EISDIR (use rmdir).
    pub fn unlink(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        now: u32,
    ) -> Result<Unlinked, Errno> {
        let mut parent = self.read_inode(directory)?;
        let found = self.find_entry(&parent, name)?.ok_or(Errno::ENOENT)?;
        let mut child = self.read_inode(found.inode)?;
        if child.file_type() == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        self.begin_change()?;
        self.remove_entry(directory, &mut parent, &found, now)?;
        let links = child.links_count().saturating_sub(1);
        child.set_links_count(links);
        child.set_ctime(now);
        self.write_inode(found.inode, &child)?;
        Ok(Unlinked {
            inode: found.inode,
            orphaned: links == 0,
        })
    }

    /// Frees an orphan — an inode [`Ext2::unlink`], [`Ext2::rmdir`] or
    /// [`Ext2::rename`] left without links — with its blocks, now that nothing uses it. EINVAL if
    /// the inode still has a link.
    pub fn release_orphan(&mut self, number: InodeNumber, now: u32) -> Result<(), Errno> {
        let mut inode = self.read_inode(number)?;
        if inode.links_count() != 0 {
            return Err(Errno::EINVAL);
        }
        self.begin_change()?;
        self.release_inode(number, &mut inode, now)
    }

    /// Removes an empty directory: ENOTEMPTY if it has entries besides `.`
    /// and `..`, EINVAL for the name `.`, ENOTDIR for a non-directory. The
    /// directory is left an orphan, as Linux's `ext2_rmdir` leaves it: no
    /// links, size 0 (nothing can be looked up or listed in it), its block
    /// and number kept until [`Ext2::release_orphan`] frees them — which the
    /// kernel does once no process works in it or has it open. The parent
    /// loses the link the directory's `..` gave it.
    pub fn rmdir(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        now: u32,
    ) -> Result<Unlinked, Errno> {
        match name {
            b"." => return Err(Errno::EINVAL),
            b".." => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        let mut parent = self.read_inode(directory)?;
        let found = self.find_entry(&parent, name)?.ok_or(Errno::ENOENT)?;
        let mut child = self.read_inode(found.inode)?;
        if child.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        if !self.is_empty_directory(&child)? {
            return Err(Errno::ENOTEMPTY);
        }
        self.begin_change()?;
        self.remove_entry(directory, &mut parent, &found, now)?;
        parent.set_links_count(parent.links_count().saturating_sub(1));
        self.write_inode(directory, &parent)?;
        child.set_links_count(0);
        child.set_size(0);
        child.set_ctime(now);
        self.write_inode(found.inode, &child)?;
        Ok(Unlinked {
            inode: found.inode,
            orphaned: true,
        })
    }

    /// Frees an inode whose last link is gone: its blocks, its
    /// extended-attribute block, and its bit in the inode bitmap.
    fn release_inode(
        &mut self,
        number: InodeNumber,
        inode: &mut Inode,
        now: u32,
    ) -> Result<(), Errno> {
        if inode.has_block_pointers(self.block_size()) {
            self.free_blocks_from(inode, 0)?;
        }
        self.release_xattr_block(inode)?;
        inode.set_size(0);
        inode.set_dtime(now);
        self.write_inode(number, inode)?;
        self.free_inode(number, inode.file_type() == FileType::Directory)
    }

    /// Drops this inode's reference to its shared extended-attribute block,
    /// freeing the block with its last reference.
    fn release_xattr_block(&mut self, inode: &mut Inode) -> Result<(), Errno> {
        if inode.xattr_block() == 0 {
            return Ok(());
        }
        let block = self.check_block(inode.xattr_block())?;
        let mut contents = self.metadata_block(block)?.to_vec();
        if u32::read(&contents, 0) != XATTR_BLOCK_MAGIC {
            return Err(Errno::EIO);
        }
        let references = u32::read(&contents, XATTR_REFCOUNT_OFFSET);
        if references <= 1 {
            self.free_block(block)?;
        } else {
            (references - 1).write(&mut contents, XATTR_REFCOUNT_OFFSET);
            self.write_metadata_block(block, &contents)?;
        }
        inode.set_xattr_block(0);
        inode.set_sectors(inode.sectors().saturating_sub(self.sectors_per_block()));
        Ok(())
    }
}

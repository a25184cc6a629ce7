//! Symbolic links, stored as Linux's ext2 stores them (fs/ext2/namei.c,
//! `ext2_symlink`): a target shorter than 60 bytes is a *fast* symlink,
//! kept in `i_block` with its terminating NUL and no data block; a longer
//! one is a *slow* symlink, kept in one data block. `i_size` is the target's
//! length either way. Following a symlink is the caller's job: lookups here
//! return the symlink's own inode.

use alloc::vec::Vec;

use abi::Errno;

use crate::block_map::MappedBlock;
use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::{BLOCK_AREA_SIZE, FileType, Inode, InodeNumber};

/// A symlink's mode: type symlink, permissions 0777 (`S_IFLNK | S_IRWXUGO`).
const SYMLINK_PERMISSIONS: u16 = 0o777;

impl<D: BlockDevice> Ext2<D> {
    /// Creates the symlink `name` in `directory` pointing at `target`.
    /// ENOENT for an empty target (as `getname` refuses it), EINVAL for a
    /// NUL in it (a C string holds none, and e2fsck measures the target up
    /// to the first NUL), ENAMETOOLONG if the target and its NUL do not fit
    /// in one block; then the name checks of [`Ext2::create`]. If a step
    /// fails, nothing is left behind.
    pub fn symlink(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        target: &[u8],
        now: u32,
    ) -> Result<InodeNumber, Errno> {
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        if target.contains(&0) {
            return Err(Errno::EINVAL);
        }
        if target.len() + 1 > self.block_size() {
            return Err(Errno::ENAMETOOLONG);
        }
        let inode = Inode::new(FileType::Symlink, SYMLINK_PERMISSIONS, now);
        self.create_inode(directory, name, inode, now, |fs, number, inode| {
            fs.store_link_target(number, inode, target)
        })
    }

    /// Puts a new symlink's target in its inode (fast) or at the start of
    /// a new, otherwise zeroed data block (slow), and sets `i_size`.
    /// `inode` is written by the caller.
    fn store_link_target(
        &mut self,
        number: InodeNumber,
        inode: &mut Inode,
        target: &[u8],
    ) -> Result<(), Errno> {
        if target.len() < BLOCK_AREA_SIZE {
            inode.set_block_area(target);
        } else {
            let mut mapped = [MappedBlock::default()];
            self.allocate_range(number, inode, 0, &mut mapped)?;
            let mut block = alloc::vec![0; self.block_size()];
            block[..target.len()].copy_from_slice(target);
            self.write_blocks(mapped[0].disk_block, &block)?;
        }
        inode.set_size(target.len() as u64);
        Ok(())
    }

    /// The target of the symlink `inode` (readlink(2)): EINVAL if it is no
    /// symlink. It is fast (the target in `i_block`) if it has no data
    /// blocks, an extended-attribute block not counting, as Linux's
    /// `ext2_inode_is_fast_symlink` decides; a size that does not fit where
    /// the target lives is EIO.
    pub fn read_link(&mut self, inode: InodeNumber) -> Result<Vec<u8>, Errno> {
        let link = self.read_inode(inode)?;
        if link.file_type() != FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        let size = link.size() as usize;
        if link.is_fast_symlink(self.block_size()) {
            if size >= BLOCK_AREA_SIZE {
                return Err(Errno::EIO);
            }
            return Ok(link.block_area()[..size].to_vec());
        }
        if size >= self.block_size() {
            return Err(Errno::EIO);
        }
        let block = self.lookup_block(&link, 0)?.ok_or(Errno::EIO)?;
        let mut contents = self.read_data_block(block)?;
        contents.truncate(size);
        Ok(contents)
    }
}

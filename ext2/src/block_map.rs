//! The block map: which disk block holds block `n` of a file.
//!
//! `i_block[0..12]` point straight at the first 12 file blocks. `i_block[12]`
//! points at an indirect block: a block full of pointers (block size / 4 of
//! them) to the next file blocks. `i_block[13]` adds one more level of
//! indirection, `i_block[14]` two more. A zero pointer is a hole: the file
//! block reads as zeros and has no disk block.

use abi::Errno;

use crate::bytes::LittleEndian;
use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::{DIRECT_POINTERS, Inode, InodeNumber, POINTER_SLOTS};

/// The pointers to follow to reach one file block: a slot of `i_block`, then
/// one index per level of indirection (`depth` of them).
struct BlockPath {
    slot: usize,
    indices: [usize; 3],
    depth: usize,
}

/// Finds the path to `file_block`; EFBIG past what triple indirection reaches.
fn block_path(file_block: u64, pointers_per_block: u64) -> Result<BlockPath, Errno> {
    if file_block < DIRECT_POINTERS as u64 {
        return Ok(BlockPath {
            slot: file_block as usize,
            indices: [0; 3],
            depth: 0,
        });
    }
    let mut rest = file_block - DIRECT_POINTERS as u64;
    let mut blocks_at_depth = pointers_per_block;
    for depth in 1..=3 {
        if rest < blocks_at_depth {
            let mut indices = [0; 3];
            for level in (0..depth).rev() {
                indices[level] = (rest % pointers_per_block) as usize;
                rest /= pointers_per_block;
            }
            return Ok(BlockPath {
                slot: DIRECT_POINTERS - 1 + depth,
                indices,
                depth,
            });
        }
        rest -= blocks_at_depth;
        blocks_at_depth *= pointers_per_block;
    }
    Err(Errno::EFBIG)
}

/// A file block mapped to disk, as [`Ext2::map_blocks_allocating`] reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MappedBlock {
    pub disk_block: u32,
    /// The block was allocated by this call and holds stale data: the caller
    /// must write all of it (zeros where the file has none) before it is read.
    pub newly_allocated: bool,
}

impl<D: BlockDevice> Ext2<D> {
    /// One block in `i_blocks` units (512 bytes, whatever the device's sector size).
    pub(crate) fn sectors_per_block(&self) -> u32 {
        (self.block_size() / 512) as u32
    }

    pub(crate) fn pointers_per_block(&self) -> u64 {
        (self.block_size() / 4) as u64
    }

    /// How many file blocks the block map can address at all.
    pub(crate) fn addressable_blocks(&self) -> u64 {
        let n = self.pointers_per_block();
        DIRECT_POINTERS as u64 + n + n * n + n * n * n
    }

    /// The disk block holding `file_block`, or `None` for a hole.
    pub(crate) fn lookup_block(
        &mut self,
        inode: &Inode,
        file_block: u64,
    ) -> Result<Option<u32>, Errno> {
        let path = block_path(file_block, self.pointers_per_block())?;
        let mut block = inode.block_pointer(path.slot);
        for &index in &path.indices[..path.depth] {
            if block == 0 {
                return Ok(None);
            }
            let table = self.read_block(self.check_block(block)?)?;
            block = u32::read(&table, 4 * index);
        }
        if block == 0 {
            return Ok(None);
        }
        self.check_block(block).map(Some)
    }

    /// Maps `file_block`, allocating it (and any missing indirect blocks)
    /// if it is a hole. New blocks are taken as close after `goal` as the
    /// bitmaps allow. `inode` is changed in memory (`i_block`, `i_blocks`);
    /// the caller writes it back.
    fn map_or_allocate(
        &mut self,
        inode: &mut Inode,
        file_block: u64,
        mut goal: u32,
    ) -> Result<MappedBlock, Errno> {
        let path = block_path(file_block, self.pointers_per_block())?;
        let mut table: Option<u32> = None;
        let mut newly_allocated = false;
        let mut block = 0;
        for level in 0..=path.depth {
            let is_data = level == path.depth;
            let pointer = match table {
                None => inode.block_pointer(path.slot),
                Some(table) => u32::read(&self.read_block(table)?, 4 * path.indices[level - 1]),
            };
            block = if pointer != 0 {
                self.check_block(pointer)?
            } else {
                let new_block = self.allocate_file_block(inode, goal)?;
                if !is_data {
                    self.write_block(new_block, &alloc::vec![0; self.block_size()])?;
                }
                match table {
                    None => inode.set_block_pointer(path.slot, new_block),
                    Some(table) => {
                        let mut pointers = self.read_block(table)?;
                        new_block.write(&mut pointers, 4 * path.indices[level - 1]);
                        self.write_block(table, &pointers)?;
                    }
                }
                goal = new_block + 1;
                newly_allocated = is_data;
                new_block
            };
            table = Some(block);
        }
        Ok(MappedBlock {
            disk_block: block,
            newly_allocated,
        })
    }

    /// Maps `out.len()` file blocks from `first_file_block` on, allocating
    /// holes. Each new block goes right after the file's previous block if
    /// that is free (the first, after the start of the inode's group).
    ///
    /// Returns how many blocks were mapped: all of them, or fewer if the
    /// disk filled up part way (an error only if none could be mapped).
    /// `inode` is changed in memory; the caller writes it back.
    pub(crate) fn allocate_range(
        &mut self,
        number: InodeNumber,
        inode: &mut Inode,
        first_file_block: u64,
        out: &mut [MappedBlock],
    ) -> Result<usize, Errno> {
        let previous = match first_file_block.checked_sub(1) {
            Some(previous) => self.lookup_block(inode, previous)?,
            None => None,
        };
        let mut goal = match previous {
            Some(block) => block + 1,
            None => self.first_block_of_group(self.group_of_inode(number)),
        };
        for (index, slot) in out.iter_mut().enumerate() {
            match self.map_or_allocate(inode, first_file_block + index as u64, goal) {
                Ok(mapped) => {
                    *slot = mapped;
                    goal = mapped.disk_block + 1;
                }
                Err(errno) if index == 0 => return Err(errno),
                Err(_) => return Ok(index),
            }
        }
        Ok(out.len())
    }

    /// Allocates one block for `inode` and counts it in `i_blocks`, checking
    /// first that the count cannot overflow.
    fn allocate_file_block(&mut self, inode: &mut Inode, goal: u32) -> Result<u32, Errno> {
        let sectors = inode
            .sectors()
            .checked_add(self.sectors_per_block())
            .ok_or(Errno::EFBIG)?;
        let block = self.allocate_block(goal)?;
        inode.set_sectors(sectors);
        Ok(block)
    }

    /// Frees every block of the file from `keep_blocks` on, including
    /// indirect blocks left with no pointers, and lowers `i_blocks`.
    pub(crate) fn free_blocks_from(
        &mut self,
        inode: &mut Inode,
        keep_blocks: u64,
    ) -> Result<(), Errno> {
        let n = self.pointers_per_block();
        let mut first_block_of_slot = 0u64;
        let mut freed = 0u32;
        for slot in 0..POINTER_SLOTS {
            let depth = slot.saturating_sub(DIRECT_POINTERS - 1) as u32;
            let span = n.pow(depth);
            let pointer = inode.block_pointer(slot);
            if pointer != 0 && first_block_of_slot + span > keep_blocks {
                let block = self.check_block(pointer)?;
                if self.free_subtree(block, depth, first_block_of_slot, keep_blocks, &mut freed)? {
                    inode.set_block_pointer(slot, 0);
                }
            }
            first_block_of_slot += span;
        }
        let freed_sectors = freed
            .checked_mul(self.sectors_per_block())
            .ok_or(Errno::EIO)?;
        inode.remove_sectors(freed_sectors)
    }

    /// Frees the blocks under `block` (an indirect block of the given depth,
    /// or a data block at depth 0) that map file blocks `keep_blocks` and
    /// up. `first` is the first file block under `block`. Returns whether
    /// `block` itself was freed.
    fn free_subtree(
        &mut self,
        block: u32,
        depth: u32,
        first: u64,
        keep_blocks: u64,
        freed: &mut u32,
    ) -> Result<bool, Errno> {
        if depth == 0 {
            if first < keep_blocks {
                return Ok(false);
            }
            self.free_block(block)?;
            *freed += 1;
            return Ok(true);
        }
        let span = self.pointers_per_block().pow(depth - 1);
        let mut pointers = self.read_block(block)?;
        let mut changed = false;
        let mut still_used = false;
        for index in 0..self.pointers_per_block() as usize {
            let child = u32::read(&pointers, 4 * index);
            if child == 0 {
                continue;
            }
            let child_first = first + index as u64 * span;
            if child_first + span <= keep_blocks {
                still_used = true;
                continue;
            }
            let child = self.check_block(child)?;
            if self.free_subtree(child, depth - 1, child_first, keep_blocks, freed)? {
                0u32.write(&mut pointers, 4 * index);
                changed = true;
            } else {
                still_used = true;
            }
        }
        if !still_used {
            self.free_block(block)?;
            *freed += 1;
            return Ok(true);
        }
        if changed {
            self.write_block(block, &pointers)?;
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::block_path;

    #[test]
    fn block_path_walks_direct_then_single_double_triple() {
        let n = 256;
        let direct = block_path(11, n).unwrap();
        assert_eq!((direct.slot, direct.depth), (11, 0));
        let single = block_path(12 + 255, n).unwrap();
        assert_eq!((single.slot, single.depth, single.indices[0]), (12, 1, 255));
        let double = block_path(12 + 256 + 257, n).unwrap();
        assert_eq!((double.slot, double.depth), (13, 2));
        assert_eq!(double.indices[..2], [1, 1]);
        let triple = block_path(12 + 256 + 256 * 256, n).unwrap();
        assert_eq!((triple.slot, triple.depth), (14, 3));
        assert_eq!(triple.indices, [0, 0, 0]);
        let past_end = 12 + 256 + 256 * 256 + 256 * 256 * 256;
        assert_eq!(block_path(past_end, n).err(), Some(abi::Errno::EFBIG));
    }
}

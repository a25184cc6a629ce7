//! Block and inode allocation from the group bitmaps.
//!
//! Each group has one block of block bitmap (bit `i` = block
//! `s_first_data_block + group * s_blocks_per_group + i`) and one block of
//! inode bitmap (bit `i` = inode `group * s_inodes_per_group + i + 1`). A set
//! bit is in use. Bitmaps are changed in the metadata cache; they and the
//! free counts in the group descriptors and the superblock reach the disk
//! at `sync`.
//!
//! Policy: a run of blocks starts at the goal if it is free, else at the
//! next free block after it in the same group, else at the first free block
//! in the following groups (wrapping around), and extends over the free
//! blocks right after its start, up to the number wanted. Callers pass "the
//! block after the file's previous block" as the goal, so sequential writes
//! come out contiguous. An inode is taken in its parent directory's group
//! if possible, else in the next group with a free inode.

use core::ops::Range;

use abi::Errno;

use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::InodeNumber;

fn bit_is_set(bitmap: &[u8], bit: usize) -> bool {
    bitmap[bit / 8] & (1 << (bit % 8)) != 0
}

fn set_bit(bitmap: &mut [u8], bit: usize, value: bool) {
    if value {
        bitmap[bit / 8] |= 1 << (bit % 8);
    } else {
        bitmap[bit / 8] &= !(1 << (bit % 8));
    }
}

/// The first run of clear bits in `start..end`, at most `max_len` long.
fn find_clear_run(bitmap: &[u8], start: usize, end: usize, max_len: usize) -> Option<Range<usize>> {
    let first = (start..end).find(|&bit| !bit_is_set(bitmap, bit))?;
    let limit = end.min(first.saturating_add(max_len));
    let run_end = (first..limit)
        .find(|&bit| bit_is_set(bitmap, bit))
        .unwrap_or(limit);
    Some(first..run_end)
}

/// Which bitmap of a group an allocation uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitmapKind {
    Blocks,
    Inodes,
}

impl<D: BlockDevice> Ext2<D> {
    /// Allocates a run of 1 to `max_count` (> 0) contiguous free blocks,
    /// starting at `goal` if it is free, else as close after it as the
    /// bitmaps allow. One bitmap update and one counter update per run.
    pub(crate) fn allocate_blocks(
        &mut self,
        goal: u32,
        max_count: usize,
    ) -> Result<Range<u32>, Errno> {
        let first_data_block = self.superblock.first_data_block();
        let goal = goal.clamp(first_data_block, self.superblock.blocks_count() - 1);
        let per_group = self.superblock.blocks_per_group();
        let goal_group = (goal - first_data_block) / per_group;
        let goal_bit = ((goal - first_data_block) % per_group) as usize;
        let (group, bits) =
            self.allocate_bits(BitmapKind::Blocks, goal_group, goal_bit, max_count)?;
        let count = bits.len() as u32;
        let free = self.superblock.free_blocks_count().saturating_sub(count);
        self.superblock.set_free_blocks_count(free);
        let first = first_data_block + group * per_group + bits.start as u32;
        Ok(first..first + count)
    }

    /// Returns a block to its group's bitmap. Freeing a free block means the
    /// metadata is corrupt: EIO.
    pub(crate) fn free_block(&mut self, block: u32) -> Result<(), Errno> {
        let block = self.check_block(block)?;
        let offset = block - self.superblock.first_data_block();
        let per_group = self.superblock.blocks_per_group();
        let group = offset / per_group;
        self.free_bit(BitmapKind::Blocks, group, (offset % per_group) as usize)?;
        self.forget_metadata_block(block);
        let free = self.superblock.free_blocks_count() + 1;
        self.superblock.set_free_blocks_count(free);
        Ok(())
    }

    /// Allocates an inode, preferring the group `near_group`.
    pub(crate) fn allocate_inode(
        &mut self,
        near_group: u32,
        is_directory: bool,
    ) -> Result<InodeNumber, Errno> {
        let (group, bits) = self.allocate_bits(BitmapKind::Inodes, near_group, 0, 1)?;
        let inode = group * self.superblock.inodes_per_group() + bits.start as u32 + 1;
        let free = self.superblock.free_inodes_count().saturating_sub(1);
        self.superblock.set_free_inodes_count(free);
        if is_directory {
            let descriptor = &mut self.groups[group as usize];
            descriptor.set_used_dirs_count(descriptor.used_dirs_count().saturating_add(1));
        }
        Ok(inode)
    }

    pub(crate) fn free_inode(
        &mut self,
        inode: InodeNumber,
        is_directory: bool,
    ) -> Result<(), Errno> {
        let index = inode - 1;
        let per_group = self.superblock.inodes_per_group();
        let group = index / per_group;
        self.free_bit(BitmapKind::Inodes, group, (index % per_group) as usize)?;
        let free = self.superblock.free_inodes_count() + 1;
        self.superblock.set_free_inodes_count(free);
        if is_directory {
            let descriptor = &mut self.groups[group as usize];
            descriptor.set_used_dirs_count(descriptor.used_dirs_count().saturating_sub(1));
        }
        Ok(())
    }

    /// The group that holds inode `inode`.
    pub(crate) fn group_of_inode(&self, inode: InodeNumber) -> u32 {
        (inode - 1) / self.superblock.inodes_per_group()
    }

    /// The first block of group `group`: the start of its search for blocks.
    pub(crate) fn first_block_of_group(&self, group: u32) -> u32 {
        self.superblock.first_data_block() + group * self.superblock.blocks_per_group()
    }

    /// How many bits of a group's bitmap stand for real blocks or inodes
    /// (the last group may be short).
    fn bits_in_group(&self, kind: BitmapKind, group: u32) -> usize {
        match kind {
            BitmapKind::Inodes => self.superblock.inodes_per_group() as usize,
            BitmapKind::Blocks => {
                let per_group = self.superblock.blocks_per_group();
                let start = group * per_group;
                let data_blocks =
                    self.superblock.blocks_count() - self.superblock.first_data_block();
                (data_blocks - start).min(per_group) as usize
            }
        }
    }

    fn bitmap_block(&self, kind: BitmapKind, group: u32) -> u32 {
        let descriptor = &self.groups[group as usize];
        match kind {
            BitmapKind::Blocks => descriptor.block_bitmap(),
            BitmapKind::Inodes => descriptor.inode_bitmap(),
        }
    }

    fn group_free_count(&self, kind: BitmapKind, group: u32) -> u16 {
        let descriptor = &self.groups[group as usize];
        match kind {
            BitmapKind::Blocks => descriptor.free_blocks_count(),
            BitmapKind::Inodes => descriptor.free_inodes_count(),
        }
    }

    fn set_group_free_count(&mut self, kind: BitmapKind, group: u32, count: u16) {
        let descriptor = &mut self.groups[group as usize];
        match kind {
            BitmapKind::Blocks => descriptor.set_free_blocks_count(count),
            BitmapKind::Inodes => descriptor.set_free_inodes_count(count),
        }
    }

    /// Finds and sets a run of 1 to `max_len` clear bits, searching from
    /// `start_bit` in `start_group`, then the following groups, then the
    /// start of `start_group`. Returns (group, bits).
    fn allocate_bits(
        &mut self,
        kind: BitmapKind,
        start_group: u32,
        start_bit: usize,
        max_len: usize,
    ) -> Result<(u32, Range<usize>), Errno> {
        let group_count = self.superblock.group_count();
        let reserved_inodes = (self.superblock.first_inode() - 1) as usize;
        for attempt in 0..=group_count {
            let group = (start_group + attempt) % group_count;
            if self.group_free_count(kind, group) == 0 {
                continue;
            }
            let mut from = if attempt == 0 { start_bit } else { 0 };
            if kind == BitmapKind::Inodes && group == 0 {
                from = from.max(reserved_inodes);
            }
            let bitmap_block = self.bitmap_block(kind, group);
            let bits_in_group = self.bits_in_group(kind, group);
            let bitmap = self.metadata_block(bitmap_block)?;
            let Some(bits) = find_clear_run(bitmap, from, bits_in_group, max_len) else {
                continue;
            };
            self.update_metadata_block(bitmap_block, |bitmap| {
                for bit in bits.clone() {
                    set_bit(bitmap, bit, true);
                }
            })?;
            let free = self
                .group_free_count(kind, group)
                .saturating_sub(bits.len() as u16);
            self.set_group_free_count(kind, group, free);
            return Ok((group, bits));
        }
        Err(Errno::ENOSPC)
    }

    fn free_bit(&mut self, kind: BitmapKind, group: u32, bit: usize) -> Result<(), Errno> {
        let bitmap_block = self.bitmap_block(kind, group);
        if !bit_is_set(self.metadata_block(bitmap_block)?, bit) {
            return Err(Errno::EIO);
        }
        self.update_metadata_block(bitmap_block, |bitmap| set_bit(bitmap, bit, false))?;
        let free = self.group_free_count(kind, group).saturating_add(1);
        self.set_group_free_count(kind, group, free);
        Ok(())
    }
}

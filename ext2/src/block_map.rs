//! The block map: which disk block holds block `n` of a file.
//!
//! `i_block[0..12]` point straight at the first 12 file blocks. `i_block[12]`
//! points at an indirect block: a block full of pointers (block size / 4 of
//! them) to the next file blocks. `i_block[13]` adds one more level of
//! indirection, `i_block[14]` two more. A zero pointer is a hole: the file
//! block reads as zeros and has no disk block.

use alloc::vec::Vec;
use core::ops::Range;

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
            let table = self.check_block(block)?;
            block = u32::read(self.metadata_block(table)?, 4 * index);
        }
        if block == 0 {
            return Ok(None);
        }
        self.check_block(block).map(Some)
    }

    /// Maps file blocks from `first_file_block` on that share one table of
    /// pointers (the direct slots of `i_block`, or one indirect block) and
    /// are allocated, without allocating: fills `out` from its start up to
    /// the first hole or the end of the table, reading each table on the way
    /// once. Returns how many blocks were mapped (0 if the first is a hole).
    pub(crate) fn lookup_span(
        &mut self,
        inode: &Inode,
        first_file_block: u64,
        out: &mut [MappedBlock],
    ) -> Result<usize, Errno> {
        let path = block_path(first_file_block, self.pointers_per_block())?;
        let mut table = None;
        for level in 0..path.depth {
            let pointer = self.pointer_at(inode, &path, table, level)?;
            if pointer == 0 {
                return Ok(0);
            }
            table = Some(self.check_block(pointer)?);
        }
        let valid = self.superblock.first_data_block().max(1)..self.superblock.blocks_count();
        let mapped_block = |pointer: u32| match pointer {
            0 => Ok(None),
            _ if valid.contains(&pointer) => Ok(Some(MappedBlock {
                disk_block: pointer,
                newly_allocated: false,
            })),
            _ => Err(Errno::EIO),
        };
        let (first_slot, slots_in_table) = match table {
            None => (path.slot, DIRECT_POINTERS),
            Some(_) => (
                path.indices[path.depth - 1],
                self.pointers_per_block() as usize,
            ),
        };
        let count = out.len().min(slots_in_table - first_slot);
        let bytes = match table {
            None => None,
            Some(table) => Some(self.metadata_block(table)?),
        };
        for (offset, slot) in out[..count].iter_mut().enumerate() {
            let pointer = match bytes {
                None => inode.block_pointer(first_slot + offset),
                Some(bytes) => u32::read(bytes, 4 * (first_slot + offset)),
            };
            match mapped_block(pointer)? {
                Some(block) => *slot = block,
                None => return Ok(offset),
            }
        }
        Ok(count)
    }

    /// The pointer at `level` of `path`: a slot of `i_block` at level 0,
    /// else an entry of the indirect block `table`.
    fn pointer_at(
        &mut self,
        inode: &Inode,
        path: &BlockPath,
        table: Option<u32>,
        level: usize,
    ) -> Result<u32, Errno> {
        match table {
            None => Ok(inode.block_pointer(path.slot)),
            Some(table) => Ok(u32::read(
                self.metadata_block(table)?,
                4 * path.indices[level - 1],
            )),
        }
    }

    /// The indirect block that holds the pointer to `path`'s data block
    /// (`None` when `i_block` holds it), allocating missing indirect blocks
    /// at `goal` on the way.
    fn leaf_table_allocating(
        &mut self,
        inode: &mut Inode,
        path: &BlockPath,
        goal: &mut u32,
    ) -> Result<Option<u32>, Errno> {
        let mut table = None;
        for level in 0..path.depth {
            let pointer = self.pointer_at(inode, path, table, level)?;
            let block = if pointer != 0 {
                self.check_block(pointer)?
            } else {
                let new_block = self.allocate_file_blocks(inode, *goal, 1)?.start;
                self.write_metadata_block(new_block, &alloc::vec![0; self.block_size()])?;
                match table {
                    None => inode.set_block_pointer(path.slot, new_block),
                    Some(table) => {
                        let index = path.indices[level - 1];
                        self.update_metadata_block(table, |pointers| {
                            new_block.write(pointers, 4 * index)
                        })?;
                    }
                }
                *goal = new_block + 1;
                new_block
            };
            table = Some(block);
        }
        Ok(table)
    }

    /// Maps file blocks from `first_file_block` on that share one table of
    /// pointers (the direct slots of `i_block`, or one indirect block),
    /// filling `out` from its start; holes get runs of new blocks taken from
    /// `goal` on, and the table is updated once. Returns how many blocks were
    /// mapped (at least one, or an error).
    fn map_or_allocate_span(
        &mut self,
        inode: &mut Inode,
        first_file_block: u64,
        out: &mut [MappedBlock],
        goal: &mut u32,
    ) -> Result<usize, Errno> {
        let path = block_path(first_file_block, self.pointers_per_block())?;
        let table = self.leaf_table_allocating(inode, &path, goal)?;
        let (first_slot, slots_in_table) = match table {
            None => (path.slot, DIRECT_POINTERS),
            Some(_) => (
                path.indices[path.depth - 1],
                self.pointers_per_block() as usize,
            ),
        };
        let slots = first_slot..first_slot + out.len().min(slots_in_table - first_slot);
        let mut pointers = self.read_pointers(inode, table, slots)?;
        let (mapped, failure) = self.map_or_allocate_pointers(inode, &mut pointers, out, goal);
        if out[..mapped].iter().any(|block| block.newly_allocated) {
            self.store_pointers(inode, table, first_slot, &pointers[..mapped])?;
        }
        match failure {
            Some(errno) if mapped == 0 => Err(errno),
            _ => Ok(mapped),
        }
    }

    /// Maps each pointer of `pointers` into `out`, filling runs of holes
    /// with runs of new blocks (the pointers are updated, not stored).
    /// Returns how many were mapped and, if that is not all, why not.
    fn map_or_allocate_pointers(
        &mut self,
        inode: &mut Inode,
        pointers: &mut [u32],
        out: &mut [MappedBlock],
        goal: &mut u32,
    ) -> (usize, Option<Errno>) {
        let mut mapped = 0;
        while mapped < pointers.len() {
            if pointers[mapped] != 0 {
                match self.check_block(pointers[mapped]) {
                    Ok(disk_block) => {
                        out[mapped] = MappedBlock {
                            disk_block,
                            newly_allocated: false,
                        };
                        *goal = disk_block + 1;
                        mapped += 1;
                    }
                    Err(errno) => return (mapped, Some(errno)),
                }
                continue;
            }
            let holes = pointers[mapped..].iter().take_while(|&&p| p == 0).count();
            let run = match self.allocate_file_blocks(inode, *goal, holes) {
                Ok(run) => run,
                Err(errno) => return (mapped, Some(errno)),
            };
            for disk_block in run.clone() {
                pointers[mapped] = disk_block;
                out[mapped] = MappedBlock {
                    disk_block,
                    newly_allocated: true,
                };
                mapped += 1;
            }
            *goal = run.end;
        }
        (mapped, None)
    }

    /// The pointers in `slots` of `i_block` (`table` is `None`) or of the
    /// indirect block `table`.
    fn read_pointers(
        &mut self,
        inode: &Inode,
        table: Option<u32>,
        slots: Range<usize>,
    ) -> Result<Vec<u32>, Errno> {
        Ok(match table {
            None => slots.map(|slot| inode.block_pointer(slot)).collect(),
            Some(table) => {
                let bytes = self.metadata_block(table)?;
                slots.map(|slot| u32::read(bytes, 4 * slot)).collect()
            }
        })
    }

    /// Stores `pointers` from slot `first_slot` on, where
    /// [`Ext2::read_pointers`] read them.
    fn store_pointers(
        &mut self,
        inode: &mut Inode,
        table: Option<u32>,
        first_slot: usize,
        pointers: &[u32],
    ) -> Result<(), Errno> {
        match table {
            None => {
                for (offset, &pointer) in pointers.iter().enumerate() {
                    inode.set_block_pointer(first_slot + offset, pointer);
                }
                Ok(())
            }
            Some(table) => self.update_metadata_block(table, |bytes| {
                for (offset, &pointer) in pointers.iter().enumerate() {
                    pointer.write(bytes, 4 * (first_slot + offset));
                }
            }),
        }
    }

    /// Maps `out.len()` file blocks from `first_file_block` on, allocating
    /// holes. Each new block goes right after the file's previous block if
    /// that is free (the first, after the start of the inode's group), and
    /// consecutive holes get contiguous runs where the bitmap allows.
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
        let mut mapped = 0;
        while mapped < out.len() {
            let file_block = first_file_block + mapped as u64;
            match self.map_or_allocate_span(inode, file_block, &mut out[mapped..], &mut goal) {
                Ok(count) => mapped += count,
                Err(errno) if mapped == 0 => return Err(errno),
                Err(_) => break,
            }
        }
        Ok(mapped)
    }

    /// Allocates a run of 1 to `max_count` blocks for `inode` and counts
    /// them in `i_blocks`, never letting the count overflow (EFBIG).
    fn allocate_file_blocks(
        &mut self,
        inode: &mut Inode,
        goal: u32,
        max_count: usize,
    ) -> Result<Range<u32>, Errno> {
        let per_block = self.sectors_per_block();
        let countable = ((u32::MAX - inode.sectors()) / per_block) as usize;
        if countable == 0 {
            return Err(Errno::EFBIG);
        }
        let run = self.allocate_blocks(goal, max_count.min(countable))?;
        inode.set_sectors(inode.sectors() + run.len() as u32 * per_block);
        Ok(run)
    }

    /// Frees every block of the file from `keep_blocks` on (truncation),
    /// including indirect blocks left with no pointers, and lowers
    /// `i_blocks`.
    pub(crate) fn free_blocks_from(
        &mut self,
        inode: &mut Inode,
        keep_blocks: u64,
    ) -> Result<(), Errno> {
        self.free_blocks_in(inode, keep_blocks..u64::MAX)
    }

    /// Frees the data blocks of the file blocks in `range` and lowers
    /// `i_blocks`. An indirect block is freed with them when it is left
    /// with no pointers and `range` reaches the end of the file blocks it
    /// maps; one the range ends inside stays, empty or not, as
    /// `ext4_ind_remove_space` leaves it (it frees a branch only up to the
    /// range's end). For a truncation (`range` up to `u64::MAX`) that is
    /// every indirect block left empty.
    pub(crate) fn free_blocks_in(
        &mut self,
        inode: &mut Inode,
        range: Range<u64>,
    ) -> Result<(), Errno> {
        let n = self.pointers_per_block();
        let mut first_block_of_slot = 0u64;
        let mut freed = 0u32;
        for slot in 0..POINTER_SLOTS {
            let depth = slot.saturating_sub(DIRECT_POINTERS - 1) as u32;
            let span = n.pow(depth);
            let pointer = inode.block_pointer(slot);
            let under_slot = first_block_of_slot..first_block_of_slot + span;
            if pointer != 0 && overlaps(&under_slot, &range) {
                let block = self.check_block(pointer)?;
                if self.free_subtree(block, depth, under_slot.start, &range, &mut freed)? {
                    inode.set_block_pointer(slot, 0);
                }
            }
            first_block_of_slot = under_slot.end;
        }
        let freed_sectors = freed
            .checked_mul(self.sectors_per_block())
            .ok_or(Errno::EIO)?;
        inode.remove_sectors(freed_sectors)
    }

    /// Frees the blocks under `block` (an indirect block of the given depth,
    /// or a data block at depth 0) that map file blocks in `range`, and
    /// `block` itself as [`Ext2::free_blocks_in`] says. `first` is the first
    /// file block under `block`, whose span overlaps `range`. Returns
    /// whether `block` was freed.
    fn free_subtree(
        &mut self,
        block: u32,
        depth: u32,
        first: u64,
        range: &Range<u64>,
        freed: &mut u32,
    ) -> Result<bool, Errno> {
        if depth == 0 {
            if !range.contains(&first) {
                return Ok(false);
            }
            self.free_block(block)?;
            *freed += 1;
            return Ok(true);
        }
        let span = self.pointers_per_block().pow(depth - 1);
        let mut pointers = self.metadata_block(block)?.to_vec();
        let mut changed = false;
        let mut still_used = false;
        for index in 0..self.pointers_per_block() as usize {
            let child = u32::read(&pointers, 4 * index);
            if child == 0 {
                continue;
            }
            let child_first = first + index as u64 * span;
            if !overlaps(&(child_first..child_first + span), range) {
                still_used = true;
                continue;
            }
            let child = self.check_block(child)?;
            if self.free_subtree(child, depth - 1, child_first, range, freed)? {
                0u32.write(&mut pointers, 4 * index);
                changed = true;
            } else {
                still_used = true;
            }
        }
        let mapped_end = first + span * self.pointers_per_block();
        if !still_used && mapped_end <= range.end {
            self.free_block(block)?;
            *freed += 1;
            return Ok(true);
        }
        if changed {
            self.write_metadata_block(block, &pointers)?;
        }
        Ok(false)
    }
}

/// Whether two ranges of file blocks share a block.
fn overlaps(a: &Range<u64>, b: &Range<u64>) -> bool {
    a.start.max(b.start) < a.end.min(b.end)
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

//! The metadata block cache ("buffer cache"): bitmaps, inode-table blocks,
//! indirect blocks and directory blocks, keyed by block number.
//!
//! Reads are served from memory once a block has been read; changes update
//! the cached copy and mark it dirty, and reach the disk only when
//! [`BlockCache::write_back`] runs (at sync) or when the cache is full of
//! dirty blocks. File data is never kept here: the kernel's page cache owns
//! it, and the file system keeps this cache coherent with its direct data
//! transfers ([`BlockCache::overlay_dirty`], [`BlockCache::forget_range`]).
//!
//! The cache holds at most `capacity` blocks. When a new block needs room,
//! the least recently used clean block goes; if every block is dirty, all of
//! them are written back first (sorted and merged, as at sync).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use abi::Errno;

use crate::device::{BlockDevice, SECTOR_SIZE};

/// The cache size [`crate::Ext2::mount`] uses.
pub const DEFAULT_CACHE_BYTES: usize = 4 << 20;

/// The largest write-back request: runs of dirty blocks are merged up to this.
const MAX_WRITE_BACK_BYTES: usize = 1 << 20;

struct CachedBlock {
    bytes: Box<[u8]>,
    dirty: bool,
    /// When the block was last used: its key in `BlockCache::by_last_use`.
    last_use: u64,
}

pub(crate) struct BlockCache {
    block_size: usize,
    capacity: usize,
    blocks: BTreeMap<u32, CachedBlock>,
    /// Block numbers by the time of their last use, oldest first.
    by_last_use: BTreeMap<u64, u32>,
    clock: u64,
}

impl BlockCache {
    /// A cache of at most `capacity_bytes` of blocks (at least one block).
    pub(crate) fn new(block_size: usize, capacity_bytes: usize) -> BlockCache {
        BlockCache {
            block_size,
            capacity: (capacity_bytes / block_size).max(1),
            blocks: BTreeMap::new(),
            by_last_use: BTreeMap::new(),
            clock: 0,
        }
    }

    fn first_sector(&self, block: u32) -> u64 {
        u64::from(block) * (self.block_size / SECTOR_SIZE) as u64
    }

    /// The cached block, read from the device first if needed, marked as
    /// just used.
    fn entry(
        &mut self,
        device: &mut impl BlockDevice,
        block: u32,
    ) -> Result<&mut CachedBlock, Errno> {
        if !self.blocks.contains_key(&block) {
            let mut bytes = vec![0; self.block_size].into_boxed_slice();
            device.read_sectors(self.first_sector(block), &mut bytes)?;
            self.insert(device, block, bytes, false)?;
        }
        self.clock += 1;
        let clock = self.clock;
        let entry = self.blocks.get_mut(&block).ok_or(Errno::EIO)?;
        self.by_last_use.remove(&entry.last_use);
        self.by_last_use.insert(clock, block);
        entry.last_use = clock;
        Ok(entry)
    }

    /// Adds a block that is not cached yet, making room first.
    fn insert(
        &mut self,
        device: &mut impl BlockDevice,
        block: u32,
        bytes: Box<[u8]>,
        dirty: bool,
    ) -> Result<(), Errno> {
        while self.blocks.len() >= self.capacity {
            self.evict_one(device)?;
        }
        self.clock += 1;
        self.by_last_use.insert(self.clock, block);
        self.blocks.insert(
            block,
            CachedBlock {
                bytes,
                dirty,
                last_use: self.clock,
            },
        );
        Ok(())
    }

    /// Drops the least recently used clean block, writing every dirty block
    /// back first if no clean one is left.
    fn evict_one(&mut self, device: &mut impl BlockDevice) -> Result<(), Errno> {
        let oldest_clean = self
            .by_last_use
            .values()
            .copied()
            .find(|block| self.blocks.get(block).is_some_and(|entry| !entry.dirty));
        let victim = match oldest_clean {
            Some(block) => block,
            None => {
                self.write_back(device)?;
                match self.by_last_use.values().next() {
                    Some(&block) => block,
                    None => return Ok(()),
                }
            }
        };
        self.forget(victim);
        Ok(())
    }

    /// The contents of `block`.
    pub(crate) fn read(
        &mut self,
        device: &mut impl BlockDevice,
        block: u32,
    ) -> Result<&[u8], Errno> {
        Ok(&self.entry(device, block)?.bytes)
    }

    /// Changes `block` in memory and marks it dirty.
    pub(crate) fn update<R>(
        &mut self,
        device: &mut impl BlockDevice,
        block: u32,
        change: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, Errno> {
        let entry = self.entry(device, block)?;
        entry.dirty = true;
        Ok(change(&mut entry.bytes))
    }

    /// Replaces the whole of `block` (a newly allocated indirect or directory
    /// block) without reading its stale contents from the device.
    pub(crate) fn overwrite(
        &mut self,
        device: &mut impl BlockDevice,
        block: u32,
        contents: &[u8],
    ) -> Result<(), Errno> {
        if self.blocks.contains_key(&block) {
            return self.update(device, block, |bytes| bytes.copy_from_slice(contents));
        }
        self.insert(device, block, contents.into(), true)
    }

    /// Drops `block` without writing it: it was freed, so its contents no
    /// longer matter, and a later use as file data must not see them.
    pub(crate) fn forget(&mut self, block: u32) {
        if let Some(entry) = self.blocks.remove(&block) {
            self.by_last_use.remove(&entry.last_use);
        }
    }

    /// Drops every cached block in `blocks`: the device now holds newer
    /// bytes for them, written directly.
    pub(crate) fn forget_range(&mut self, blocks: Range<u32>) {
        let cached: Vec<u32> = self.blocks.range(blocks).map(|(&block, _)| block).collect();
        for block in cached {
            self.forget(block);
        }
    }

    /// Copies the dirty cached blocks among those starting at `first_block`
    /// over `buf`, which was just read from the device, so that a direct read
    /// never returns a block older than the cache's.
    pub(crate) fn overlay_dirty(&self, first_block: u32, buf: &mut [u8]) {
        let count = (buf.len() / self.block_size) as u32;
        let range = first_block..first_block.saturating_add(count);
        for (&block, entry) in self.blocks.range(range) {
            if entry.dirty {
                let start = (block - first_block) as usize * self.block_size;
                buf[start..start + self.block_size].copy_from_slice(&entry.bytes);
            }
        }
    }

    /// Writes every dirty block to the device in block order, one request per
    /// run of consecutive dirty blocks (up to [`MAX_WRITE_BACK_BYTES`]), and
    /// marks them clean.
    pub(crate) fn write_back(&mut self, device: &mut impl BlockDevice) -> Result<(), Errno> {
        let max_run_bytes = MAX_WRITE_BACK_BYTES.max(self.block_size);
        // (first block, bytes of the run)
        let mut runs: Vec<(u32, Vec<u8>)> = Vec::new();
        for (&block, entry) in self.blocks.iter().filter(|(_, entry)| entry.dirty) {
            match runs.last_mut() {
                Some((first, bytes))
                    if u64::from(*first) + (bytes.len() / self.block_size) as u64
                        == u64::from(block)
                        && bytes.len() < max_run_bytes =>
                {
                    bytes.extend_from_slice(&entry.bytes);
                }
                _ => runs.push((block, entry.bytes.to_vec())),
            }
        }
        for (first, bytes) in &runs {
            device.write_sectors(self.first_sector(*first), bytes)?;
            let written = *first..*first + (bytes.len() / self.block_size) as u32;
            for (_, entry) in self.blocks.range_mut(written) {
                entry.dirty = false;
            }
        }
        Ok(())
    }

    /// How many blocks are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.blocks.len()
    }

    /// How many cached blocks are dirty.
    #[cfg(test)]
    pub(crate) fn dirty_len(&self) -> usize {
        self.blocks.values().filter(|entry| entry.dirty).count()
    }
}

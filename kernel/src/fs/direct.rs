//! `O_DIRECT` writes: the bytes go from the caller's buffer to the file's
//! disk blocks without dirtying the page cache, one device request per run of
//! consecutive blocks, all in flight together.
//!
//! Coherence with the page cache: dirty cached pages of the range are written
//! back first (so an older cached write cannot later overwrite the direct
//! one), and cached pages of the range are updated with the new bytes, so the
//! cache keeps matching the disk and stays clean. Linux requires alignment to
//! the device's logical block; this kernel requires the file system's block
//! size (EINVAL otherwise), which keeps every write whole blocks.

use super::FileSystem;
use super::page_cache::frame_bytes;
use crate::block::{DmaBuffer, MAX_REQUEST_BYTES, SECTOR_SIZE};
use abi::Errno;
use alloc::vec::Vec;
use ext2::{InodeNumber, MappedBlock};
use mm::frame::PAGE_SIZE;

impl FileSystem {
    /// Writes `data` at `offset` of `inode` straight to the disk and waits
    /// for it. `offset` and `data.len()` must be multiples of the block size.
    pub fn write_direct(
        &self,
        inode: InodeNumber,
        offset: u64,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let block_size = u64::from(self.block_size);
        if !offset.is_multiple_of(block_size) || !(data.len() as u64).is_multiple_of(block_size) {
            return Err(Errno::EINVAL);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        let pages = offset / PAGE_SIZE..end.div_ceil(PAGE_SIZE);
        self.write_back(inode, pages.clone(), true)?;
        let mut ext2 = self.ext2.lock();
        if end > ext2.metadata(inode)?.size {
            ext2.set_len(inode, end, crate::time::unix_seconds())?;
        }
        let first_block = offset / block_size;
        let mut blocks = alloc::vec![
            MappedBlock {
                disk_block: 0,
                newly_allocated: false,
            };
            data.len() / block_size as usize
        ];
        ext2.map_blocks_allocating(inode, first_block, &mut blocks)?;
        let sectors_per_block = block_size / SECTOR_SIZE as u64;
        let max_blocks = MAX_REQUEST_BYTES / block_size as usize;
        let mut tickets = Vec::new();
        let mut start = 0;
        while start < blocks.len() {
            let mut len = 1;
            while start + len < blocks.len()
                && len < max_blocks
                && blocks[start + len].disk_block == blocks[start].disk_block + len as u32
            {
                len += 1;
            }
            let bytes = &data[start * block_size as usize..(start + len) * block_size as usize];
            let mut buffer = DmaBuffer::new(bytes.len())?;
            buffer.as_mut_slice().copy_from_slice(bytes);
            let sector = u64::from(blocks[start].disk_block) * sectors_per_block;
            tickets.push(self.disk.submit_write(sector, buffer)?);
            start += len;
        }
        drop(ext2);
        let mut result = Ok(data.len());
        for ticket in tickets {
            if let Err(errno) = ticket.wait() {
                result = result.and(Err(errno));
            }
        }
        self.update_cached_pages(inode, offset, data);
        result
    }

    /// Copies `data` (at `offset`) into the cached pages it covers, which
    /// stay clean: the disk holds the same bytes now.
    fn update_cached_pages(&self, inode: InodeNumber, offset: u64, data: &[u8]) {
        let cache = self.cache.lock();
        let mut done = 0;
        while done < data.len() {
            let position = offset + done as u64;
            let within = (position % PAGE_SIZE) as usize;
            let len = (PAGE_SIZE as usize - within).min(data.len() - done);
            if let Some(page) = cache.page(u64::from(inode), position / PAGE_SIZE) {
                // SAFETY: a cached frame, written with the cache lock held.
                let bytes = unsafe { frame_bytes(page.frame) };
                bytes[within..within + len].copy_from_slice(&data[done..done + len]);
            }
            done += len;
        }
    }
}

//! `O_DIRECT` writes: the bytes go from the caller's memory to the file's
//! disk blocks without dirtying the page cache, one device request per run of
//! consecutive blocks.
//!
//! The write is cut into pieces of [`MAX_REQUEST_BYTES`]. Each piece is copied
//! once, from the caller straight into the DMA buffer the device reads (no
//! intermediate kernel copy), and submitted without waiting, so the device
//! works on earlier pieces while later ones are copied. At most
//! [`MAX_PENDING`] requests stay uncollected, which bounds the memory a long
//! write holds.
//!
//! Coherence with the page cache: dirty cached pages of the range are written
//! back first (so an older cached write cannot later overwrite the direct
//! one), and cached pages of the range are updated with the new bytes of each
//! request that succeeded, so the cache keeps matching the disk and stays
//! clean. Linux requires alignment to the device's logical block; this kernel
//! requires the file system's block size (EINVAL otherwise), which keeps every
//! write whole blocks.
//!
//! Errors, as Linux's ext4 has them: any error (the caller's memory faults,
//! the disk fills up, the device fails a request) is the write's error, never
//! a short count, even if some pieces reached the disk, and a write that grew
//! the file shrinks it back to its old size. A piece is copied in before its
//! blocks are allocated, so a fault allocates nothing for it.

use super::FileSystem;
use super::page_cache::frame_bytes;
use crate::block::{DmaBuffer, MAX_REQUEST_BYTES, SECTOR_SIZE, Ticket};
use abi::Errno;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use ext2::{InodeNumber, MappedBlock};
use mm::frame::PAGE_SIZE;

/// Requests a write leaves uncollected before it waits for the oldest: more
/// than the device queue holds (five), so the queue never runs dry while the
/// next piece is copied.
const MAX_PENDING: usize = 8;

/// A submitted request and the file offset of its first byte.
struct Pending {
    offset: u64,
    ticket: Ticket,
}

impl FileSystem {
    /// Writes `len` bytes at `offset` of `inode` straight to the disk and
    /// waits for them; `fill(done, bytes)` supplies the bytes from `done`
    /// bytes into the write. `offset` and `len` must be multiples of the
    /// block size. Returns `len`, or the first error (see the module's
    /// rule for errors).
    pub fn write_direct(
        &self,
        inode: InodeNumber,
        offset: u64,
        len: usize,
        mut fill: impl FnMut(usize, &mut [u8]) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let block_size = u64::from(self.block_size);
        if !offset.is_multiple_of(block_size) || !(len as u64).is_multiple_of(block_size) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        let end = offset.checked_add(len as u64).ok_or(Errno::EFBIG)?;
        self.write_back(inode, offset / PAGE_SIZE..end.div_ceil(PAGE_SIZE), true)?;
        let old_size = self.metadata(inode)?.size;
        let mut pending = VecDeque::new();
        let mut failure = None;
        let mut written = 0;
        while written < len && failure.is_none() {
            let piece_len = (len - written).min(MAX_REQUEST_BYTES);
            let submitted =
                DmaBuffer::filled(piece_len, |bytes| fill(written, bytes)).and_then(|piece| {
                    let piece_offset = offset + written as u64;
                    self.submit_piece(inode, piece_offset, piece, &mut pending, &mut failure)
                });
            if let Err(errno) = submitted {
                failure.get_or_insert(errno);
            }
            written += piece_len;
        }
        for request in pending {
            self.collect(inode, request, &mut failure);
        }
        match failure {
            Some(errno) if end > old_size => self.set_len(inode, old_size).and(Err(errno)),
            Some(errno) => Err(errno),
            None => Ok(len),
        }
    }

    /// Grows the file to cover `piece` at `offset`, allocates its blocks and
    /// submits one request per run of consecutive blocks. A request the
    /// device refuses goes into `failure`; an error before any is submitted
    /// is returned. When the disk fills up, the blocks it could allocate
    /// are written (they must not keep stale bytes) and the result is ENOSPC.
    fn submit_piece(
        &self,
        inode: InodeNumber,
        offset: u64,
        piece: DmaBuffer,
        pending: &mut VecDeque<Pending>,
        failure: &mut Option<Errno>,
    ) -> Result<(), Errno> {
        let block_size = self.block_size as usize;
        let piece_end = offset + piece.len() as u64;
        let mut ext2 = self.ext2.lock();
        if piece_end > ext2.metadata(inode)?.size {
            ext2.set_len(inode, piece_end, crate::time::unix_seconds())?;
        }
        let unmapped = MappedBlock {
            disk_block: 0,
            newly_allocated: false,
        };
        let mut blocks = alloc::vec![unmapped; piece.len() / block_size];
        let mapped = ext2.map_blocks_allocating(inode, offset / block_size as u64, &mut blocks)?;
        let runs =
            super::consecutive_runs(blocks[..mapped].iter().map(|block| Some(block.disk_block)));
        let sectors_per_block = (block_size / SECTOR_SIZE) as u64;
        let mut requests = Vec::with_capacity(runs.len());
        if let [(_, count)] = runs[..]
            && count * block_size == piece.len()
        {
            requests.push((0, piece));
        } else {
            for &(start, count) in &runs {
                let range = start * block_size..(start + count) * block_size;
                let buffer = DmaBuffer::filled(range.len(), |bytes| {
                    bytes.copy_from_slice(&piece.as_slice()[range.clone()]);
                    Ok(())
                })?;
                requests.push((start, buffer));
            }
        }
        for (start, buffer) in requests {
            if pending.len() == MAX_PENDING {
                let oldest = pending.pop_front().expect("full");
                self.collect(inode, oldest, failure);
            }
            let sector = u64::from(blocks[start].disk_block) * sectors_per_block;
            match self.disk.submit_write(sector, buffer) {
                Ok(ticket) => pending.push_back(Pending {
                    offset: offset + (start * block_size) as u64,
                    ticket,
                }),
                Err(errno) => {
                    failure.get_or_insert(errno);
                    break;
                }
            }
        }
        if mapped < blocks.len() {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// Waits for `request`; a written request's bytes go into the cached
    /// pages it covers, a failed one's errno into `failure`.
    fn collect(&self, inode: InodeNumber, request: Pending, failure: &mut Option<Errno>) {
        match request.ticket.wait() {
            Ok(buffer) => self.update_cached_pages(inode, request.offset, buffer.as_slice()),
            Err(errno) => {
                failure.get_or_insert(errno);
            }
        }
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

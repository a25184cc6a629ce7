//! `O_DIRECT` writes: the bytes go from the caller's memory to the file's
//! disk blocks without passing through the page cache and without a copy:
//! the device reads the caller's frames (resolved, and faulted in, by the
//! caller before each piece), one device request per run of consecutive
//! blocks (more if the frames are scattered beyond what one request takes).
//!
//! The write is cut into pieces of [`MAX_REQUEST_BYTES`], each submitted
//! without waiting, so the device works on earlier pieces while later ones
//! are mapped. At most [`MAX_PENDING`] pieces stay uncollected.
//!
//! Coherence with the page cache: dirty cached pages of the range are written
//! back first (so an older cached write cannot later overwrite the direct
//! one), and cached pages of the range are updated with the new bytes of each
//! run that was written, so the cache keeps matching the disk and stays
//! clean. Linux requires alignment to the device's logical block; this kernel
//! requires the file system's block size (EINVAL otherwise), which keeps every
//! write whole blocks.
//!
//! Errors, as Linux's ext4 has them: any error (the caller's memory faults,
//! the disk fills up, the device fails a request) is the write's error, never
//! a short count, even if some pieces reached the disk, and a write that grew
//! the file shrinks it back to its old size. A piece's memory is resolved
//! before its blocks are allocated, so a fault allocates nothing for it.

use super::FileSystem;
use super::page_cache::frame_bytes;
use crate::block::{MAX_REQUEST_BYTES, PhysSegment, SECTOR_SIZE, Ticket, segments_within};
use crate::memory::phys_to_virt;
use abi::Errno;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::ops::Range;
use ext2::{InodeNumber, MappedBlock};
use mm::frame::PAGE_SIZE;

/// Pieces a write leaves uncollected before it waits for the oldest: enough
/// to keep the device queue busy while the next piece is mapped.
const MAX_PENDING: usize = 8;

/// A submitted piece: the file offset of its first byte, the caller's
/// memory holding it, and its runs.
struct Pending {
    offset: u64,
    segments: Vec<PhysSegment>,
    runs: Vec<PendingRun>,
}

/// The requests writing `bytes` (offsets within the piece) of one run of
/// consecutive blocks.
struct PendingRun {
    bytes: Range<usize>,
    tickets: Vec<Ticket<()>>,
}

impl FileSystem {
    /// Writes `len` bytes at `offset` of `inode` straight to the disk and
    /// waits for them; `source(done, count)` gives the memory holding
    /// `count` bytes from `done` bytes into the write, in pieces whose
    /// lengths are multiples of [`SECTOR_SIZE`], which must stay allocated
    /// until this returns. `offset` and `len` must be multiples of the block
    /// size. Returns `len`, or the first error (see the module's rule for
    /// errors).
    pub fn write_direct(
        &self,
        inode: InodeNumber,
        offset: u64,
        len: usize,
        mut source: impl FnMut(usize, usize) -> Result<Vec<PhysSegment>, Errno>,
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
            let piece_offset = offset + written as u64;
            let submitted = source(written, piece_len).and_then(|segments| {
                self.submit_piece(inode, piece_offset, segments, &mut pending, &mut failure)
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

    /// Grows the file to cover the piece held in `segments` at `offset`,
    /// allocates its blocks and submits the requests of each run of
    /// consecutive blocks. A request the device refuses goes into `failure`;
    /// an error before any is submitted is returned. When the disk fills up,
    /// the blocks it could allocate are written (they must not keep stale
    /// bytes) and the result is ENOSPC.
    #[allow(unsafe_code)]
    fn submit_piece(
        &self,
        inode: InodeNumber,
        offset: u64,
        segments: Vec<PhysSegment>,
        pending: &mut VecDeque<Pending>,
        failure: &mut Option<Errno>,
    ) -> Result<(), Errno> {
        let block_size = self.block_size as usize;
        let piece_len: usize = segments.iter().map(|segment| segment.len).sum();
        let piece_end = offset + piece_len as u64;
        let mut ext2 = self.ext2.lock();
        if piece_end > ext2.metadata(inode)?.size {
            ext2.set_len(inode, piece_end, crate::time::unix_seconds())?;
        }
        let unmapped = MappedBlock {
            disk_block: 0,
            newly_allocated: false,
        };
        let mut blocks = alloc::vec![unmapped; piece_len / block_size];
        let mapped = ext2.map_blocks_allocating(inode, offset / block_size as u64, &mut blocks)?;
        drop(ext2);
        if pending.len() == MAX_PENDING {
            let oldest = pending.pop_front().expect("full");
            self.collect(inode, oldest, failure);
        }
        let sectors_per_block = (block_size / SECTOR_SIZE) as u64;
        let mut piece = Pending {
            offset,
            segments,
            runs: Vec::new(),
        };
        let block_runs =
            super::consecutive_runs(blocks[..mapped].iter().map(|block| Some(block.disk_block)));
        for (start, count) in block_runs {
            let bytes = start * block_size..(start + count) * block_size;
            let sector = u64::from(blocks[start].disk_block) * sectors_per_block;
            let mut tickets = Vec::new();
            // SAFETY: the caller keeps the piece's memory allocated until
            // `write_direct` returns, after every ticket is collected.
            let submitted = unsafe {
                self.disk.submit_gathered_write(
                    sector,
                    segments_within(&piece.segments, bytes.clone()),
                    &mut tickets,
                )
            };
            piece.runs.push(PendingRun { bytes, tickets });
            if let Err(errno) = submitted {
                failure.get_or_insert(errno);
                break;
            }
        }
        pending.push_back(piece);
        if mapped < blocks.len() {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// Waits for the requests of `piece`; the bytes of each run written go
    /// into the cached pages they cover, a failure's errno into `failure`.
    fn collect(&self, inode: InodeNumber, piece: Pending, failure: &mut Option<Errno>) {
        for run in piece.runs {
            let mut written = Ok(());
            for ticket in run.tickets {
                written = written.and(ticket.wait());
            }
            match written {
                Ok(()) => self.update_cached_pages(
                    inode,
                    piece.offset + run.bytes.start as u64,
                    segments_within(&piece.segments, run.bytes),
                ),
                Err(errno) => {
                    failure.get_or_insert(errno);
                }
            }
        }
    }

    /// Copies the bytes of `segments` (at file `offset`) into the cached
    /// pages they cover, which stay clean: the disk holds the same bytes now.
    #[allow(unsafe_code)]
    fn update_cached_pages(
        &self,
        inode: InodeNumber,
        offset: u64,
        segments: impl Iterator<Item = PhysSegment>,
    ) {
        let cache = self.cache.lock();
        let mut position = offset;
        for segment in segments {
            // SAFETY: the caller's memory, which stays allocated until the
            // write returns and which the device only read.
            let data = unsafe {
                core::slice::from_raw_parts(phys_to_virt(segment.start).as_ptr::<u8>(), segment.len)
            };
            let mut done = 0;
            while done < data.len() {
                let within = (position % PAGE_SIZE) as usize;
                let len = (PAGE_SIZE as usize - within).min(data.len() - done);
                if let Some(page) = cache.page(u64::from(inode), position / PAGE_SIZE) {
                    // SAFETY: a cached frame, written with the cache lock held.
                    let bytes = unsafe { frame_bytes(page.frame) };
                    bytes[within..within + len].copy_from_slice(&data[done..done + len]);
                }
                done += len;
                position += len as u64;
            }
        }
    }
}

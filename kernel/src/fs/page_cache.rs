//! The page cache at work: filling pages from disk, reads and writes through
//! cached pages, and write-back — `mm::page_cache` keeps the states and plans
//! the device requests; this module moves the bytes.
//!
//! Write-back takes the range's dirty pages (dirty → under write-back), asks
//! ext2 for their disk blocks (allocating where the file has holes), groups
//! them into one device request per run of consecutive blocks, and submits
//! every request before waiting for any. A synchronous caller then waits for
//! its batch; an asynchronous one leaves it in `in_flight`, where
//! [`FileSystem::reap_completed`] finds it finished. Pages turn clean only
//! when their request succeeded.

use super::FileSystem;
use crate::block::{MAX_REQUEST_BYTES, PhysSegment, SECTOR_SIZE, Ticket};
use crate::memory::machine::{DirectMap, HardwareTlb, KernelFrames};
use crate::memory::{frames, phys_to_virt};
use abi::Errno;
use alloc::vec::Vec;
use core::ops::Range;
use ext2::{Ext2, InodeNumber, MappedBlock};
use mm::frame::PAGE_SIZE;
use mm::page_cache::{PageCache, PageState, PageToWrite, WriteRun, plan_write_runs};
use mm::walk::PageTableWalker;
use x86_64::PhysAddr;

const PAGE: usize = PAGE_SIZE as usize;
/// Pages planned and submitted at a time by one write-back (1 MiB).
const PAGES_PER_SUBMISSION: usize = 256;
/// The most file-system blocks a page holds (1 KiB blocks).
const MAX_BLOCKS_PER_PAGE: usize = 4;

/// The device requests of one write-back call, and the pages they carry.
pub struct InFlightWrite {
    file: InodeNumber,
    pages: Vec<PageToWrite>,
    tickets: Vec<Ticket<()>>,
}

/// A walker over the page tables at `root`, a root the reverse map lists.
#[allow(unsafe_code)]
pub(super) fn reverse_mapped(root: PhysAddr) -> PageTableWalker<'static, DirectMap> {
    // SAFETY: the reverse map lists a PTE only while it exists: an address
    // space takes its entries out (munmap, exit's teardown) before its page
    // tables are freed, and calls on page tables are serialised (one process
    // runs at a time, with the cache lock held here).
    unsafe { PageTableWalker::new(&DirectMap, root) }
}

/// A day: relatime refreshes an access time this old even if the file did
/// not change.
const RELATIME_REFRESH_SECONDS: u32 = 24 * 60 * 60;

/// A read of `inode` (read(2), mmap(2)), under the relatime policy that is
/// Linux's default mount option: the access time becomes now if it is not
/// later than the modification or change time, or is a day old; otherwise
/// it stays (no inode write). A read-only file system keeps it as it is.
fn refresh_access_time(ext2: &mut Ext2<&'static crate::block::Disk>, inode: InodeNumber) {
    let Ok(metadata) = ext2.metadata(inode) else {
        return;
    };
    let now = crate::time::unix_seconds();
    let stale = metadata.atime <= metadata.mtime
        || metadata.atime <= metadata.ctime
        || now.saturating_sub(metadata.atime) >= RELATIME_REFRESH_SECONDS;
    if stale && metadata.atime != now {
        let _ = ext2.set_access_time(inode, now);
    }
}

/// The bytes of a frame, through the direct map.
///
/// # Safety
/// The caller must own the frame's contents for the borrow: a page-cache frame
/// with the cache lock held, or a frame nobody else can reach yet.
#[allow(unsafe_code)]
pub(super) unsafe fn frame_bytes<'a>(frame: PhysAddr) -> &'a mut [u8] {
    // SAFETY: a whole frame in the direct map; exclusivity is the caller's.
    unsafe { core::slice::from_raw_parts_mut(phys_to_virt(frame).as_mut_ptr(), PAGE) }
}

impl FileSystem {
    fn blocks_per_page(&self) -> u64 {
        PAGE_SIZE / u64::from(self.block_size)
    }

    /// The frame of page `index` of `inode`, read in if it is not cached.
    pub(super) fn page_frame(
        &self,
        ext2: &mut Ext2<&'static crate::block::Disk>,
        cache: &mut PageCache,
        inode: InodeNumber,
        index: u64,
    ) -> Result<PhysAddr, Errno> {
        if let Some(page) = cache.page(u64::from(inode), index) {
            return Ok(page.frame);
        }
        let frame = frames::alloc_zeroed_frame().ok_or(Errno::ENOMEM)?;
        if let Err(errno) = self.fill_page(ext2, inode, index, frame) {
            frames::free_frame(frame);
            return Err(errno);
        }
        cache.insert(u64::from(inode), index, frame, PageState::UP_TO_DATE);
        Ok(frame)
    }

    /// Reads the blocks of page `index` into the zeroed `frame`, one device
    /// request per run of consecutive blocks; holes stay zero.
    #[allow(unsafe_code)]
    fn fill_page(
        &self,
        ext2: &mut Ext2<&'static crate::block::Disk>,
        inode: InodeNumber,
        index: u64,
        frame: PhysAddr,
    ) -> Result<(), Errno> {
        let per_page = self.blocks_per_page();
        let block_size = self.block_size as usize;
        let blocks_in_file = ext2.metadata(inode)?.size.div_ceil(block_size as u64);
        let count = blocks_in_file
            .saturating_sub(index * per_page)
            .min(per_page) as usize;
        let mut blocks = [None; MAX_BLOCKS_PER_PAGE];
        ext2.map_blocks(inode, index * per_page, &mut blocks[..count])?;
        // SAFETY: the frame is not in the cache yet; only we can reach it.
        let bytes = unsafe { frame_bytes(frame) };
        for (slot, len) in super::consecutive_runs(blocks[..count].iter().copied()) {
            let first = blocks[slot].expect("runs hold mapped blocks");
            ext2.read_blocks(
                first,
                &mut bytes[slot * block_size..(slot + len) * block_size],
            )?;
        }
        Ok(())
    }

    /// read(2) of a regular file: up to `buffer.len()` bytes at `offset`,
    /// fewer at the end of the file.
    #[allow(unsafe_code)]
    pub fn read_at(
        &self,
        inode: InodeNumber,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, Errno> {
        let mut ext2 = self.ext2.lock();
        let size = ext2.metadata(inode)?.size;
        refresh_access_time(&mut ext2, inode);
        let end = size.min(offset.saturating_add(buffer.len() as u64));
        let mut cache = self.cache.lock();
        let mut done = 0;
        for (position, len) in page_pieces(offset..end) {
            let frame = self.page_frame(&mut ext2, &mut cache, inode, position / PAGE_SIZE)?;
            let within = (position % PAGE_SIZE) as usize;
            // SAFETY: a cached frame, read with the cache lock held.
            let bytes = unsafe { frame_bytes(frame) };
            buffer[done..done + len].copy_from_slice(&bytes[within..within + len]);
            done += len;
        }
        Ok(done)
    }

    /// mmap(2) of `inode`: a read for the access time (Linux's
    /// `file_accessed` in `generic_file_mmap`).
    pub fn note_mapped(&self, inode: InodeNumber) {
        refresh_access_time(&mut self.ext2.lock(), inode);
    }

    /// write(2) of a regular file: the bytes land in cached pages, which turn
    /// dirty; the file grows first if the write ends past its end; mtime and
    /// ctime become now (Linux's `file_modified`).
    ///
    /// The disk blocks under the bytes are allocated here, before the copy,
    /// as Linux's ext2 does in `write_begin`: a full disk is ENOSPC now (or
    /// a short count, the size cut back to the bytes written), not a page
    /// that can never be written back, and st_blocks counts the data at
    /// once. Write-back then only looks the blocks up.
    pub fn write_at(&self, inode: InodeNumber, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        let mut ext2 = self.ext2.lock();
        let now_seconds = crate::time::unix_seconds();
        let old_size = ext2.metadata(inode)?.size;
        if end > old_size {
            ext2.set_len(inode, end, now_seconds)?;
        } else if !data.is_empty() {
            ext2.set_times(inode, None, Some(now_seconds), now_seconds)?;
        }
        let mut cache = self.cache.lock();
        let (done, outcome) = self.copy_into_pages(&mut ext2, &mut cache, inode, offset, data);
        if done == data.len() {
            return Ok(done);
        }
        let written_end = offset + done as u64;
        let mut past_end = mm::page_cache::Truncated::default();
        if end > old_size {
            // Nothing may stay past what was written: the size goes back
            // (freeing blocks allocated for the rest) and so do cached pages
            // wholly past it, which no mapping can hold (a fault there is
            // SIGBUS).
            let size = old_size.max(written_end);
            ext2.set_len(inode, size, now_seconds)?;
            past_end = cache.truncate(u64::from(inode), size.div_ceil(PAGE_SIZE));
        }
        drop(cache);
        drop(ext2);
        self.evict(past_end);
        match outcome {
            Err(errno) if done == 0 => Err(errno),
            _ => Ok(done),
        }
    }

    /// Copies `data` into the cached pages of `inode` from `offset` on, page
    /// by page, allocating each piece's blocks first. Returns the bytes
    /// copied and why it stopped short, if it did.
    #[allow(unsafe_code)]
    fn copy_into_pages(
        &self,
        ext2: &mut Ext2<&'static crate::block::Disk>,
        cache: &mut PageCache,
        inode: InodeNumber,
        offset: u64,
        data: &[u8],
    ) -> (usize, Result<(), Errno>) {
        let block_size = u64::from(self.block_size);
        let now = crate::time::now_ns();
        let mut done = 0;
        for (position, len) in page_pieces(offset..offset + data.len() as u64) {
            let index = position / PAGE_SIZE;
            // The page is read before its holes get blocks, so that it holds
            // zeros there and not the stale bytes of the new blocks.
            let frame = match self.page_frame(ext2, cache, inode, index) {
                Ok(frame) => frame,
                Err(errno) => return (done, Err(errno)),
            };
            let first_block = position / block_size;
            let blocks = ((position + len as u64).div_ceil(block_size) - first_block) as usize;
            let mut mapped = [MappedBlock::default(); MAX_BLOCKS_PER_PAGE];
            let allocated = ext2.map_blocks_allocating(inode, first_block, &mut mapped[..blocks]);
            if allocated != Ok(blocks) {
                // Blocks allocated inside the file hold stale bytes on disk:
                // the page (zeros there) must be written over them.
                if matches!(allocated, Ok(some) if some > 0) {
                    cache.mark_dirty(u64::from(inode), index, now);
                }
                return (done, Err(allocated.err().unwrap_or(Errno::ENOSPC)));
            }
            let within = (position % PAGE_SIZE) as usize;
            // SAFETY: a cached frame, written with the cache lock held.
            let bytes = unsafe { frame_bytes(frame) };
            bytes[within..within + len].copy_from_slice(&data[done..done + len]);
            cache.mark_dirty(u64::from(inode), index, now);
            done += len;
        }
        (done, Ok(()))
    }

    /// truncate(2), ftruncate(2), open(O_TRUNC): the new size on disk, and the
    /// cache cut to match. Bytes past the new end in the last page become
    /// zeros, so that a later extension reads zeros there. mtime and ctime
    /// become now, also for the size the file had (as Linux 6.1's ext4 does).
    #[allow(unsafe_code)]
    pub fn set_len(&self, inode: InodeNumber, size: u64) -> Result<(), Errno> {
        let mut ext2 = self.ext2.lock();
        ext2.set_len(inode, size, crate::time::unix_seconds())?;
        self.drop_cached_pages(inode, size.div_ceil(PAGE_SIZE))?;
        let mut cache = self.cache.lock();
        let tail = (size % PAGE_SIZE) as usize;
        if tail != 0
            && let Some(page) = cache.page(u64::from(inode), size / PAGE_SIZE)
        {
            // SAFETY: a cached frame, written with the cache lock held.
            unsafe { frame_bytes(page.frame)[tail..].fill(0) };
            cache.mark_dirty(u64::from(inode), size / PAGE_SIZE, crate::time::now_ns());
        }
        Ok(())
    }

    /// Removes the pages of `inode` from index `first` on, after their
    /// writes finish, and frees them.
    pub(super) fn drop_cached_pages(&self, inode: InodeNumber, first: u64) -> Result<(), Errno> {
        self.wait_for_writes(inode, first..u64::MAX);
        let truncated = self.cache.lock().truncate(u64::from(inode), first);
        // Later accesses through these mappings fault, find the page past
        // the end of the file, and get SIGBUS.
        self.evict(truncated);
        Ok(())
    }

    /// A hole punched in `inode` over `[offset, offset + len)` (MADV_REMOVE,
    /// fallocate's PUNCH_HOLE): the cached pages wholly inside go, unmapped
    /// from every process, so that the next access reads the hole (zeros);
    /// the cached pages it cuts keep their other bytes and zeros in the
    /// hole; ext2 frees the blocks. Dirty data in the hole is discarded, as
    /// Linux discards it. The size stays.
    #[allow(unsafe_code)]
    pub fn punch_hole(&self, inode: InodeNumber, offset: u64, len: u64) -> Result<(), Errno> {
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        let whole = offset.div_ceil(PAGE_SIZE)..end / PAGE_SIZE;
        self.wait_for_writes(inode, offset / PAGE_SIZE..end.div_ceil(PAGE_SIZE));
        let punched = self.cache.lock().punch(u64::from(inode), whole.clone());
        self.evict(punched);
        {
            let mut cache = self.cache.lock();
            for (position, len) in page_pieces(offset..end) {
                let index = position / PAGE_SIZE;
                if whole.contains(&index) {
                    continue;
                }
                if let Some(page) = cache.page(u64::from(inode), index) {
                    let within = (position % PAGE_SIZE) as usize;
                    // SAFETY: a cached frame, written with the cache lock held.
                    unsafe { frame_bytes(page.frame)[within..within + len].fill(0) };
                    cache.mark_dirty(u64::from(inode), index, crate::time::now_ns());
                }
            }
        }
        self.ext2
            .lock()
            .punch_hole(inode, offset, len, crate::time::unix_seconds())
    }

    /// The bound Linux's vfs_fallocate holds `offset + len` to on this disk
    /// (its `s_maxbytes`: EFBIG beyond).
    pub fn fallocate_limit(&self) -> u64 {
        self.ext2.lock().linux_max_bytes()
    }

    /// Frees what truncation or a punched hole took from the cache: each PTE
    /// of the pages is unmapped (through the reverse map, in every process),
    /// then the frames; a private copy's frame is its mapping's own and goes
    /// with its last user.
    fn evict(&self, truncated: mm::page_cache::Truncated) {
        for mapping in truncated.mappings {
            let pending = reverse_mapped(mapping.root).unmap(mapping.virt);
            pending.finish(&mut HardwareTlb, &mut KernelFrames, |_| {});
        }
        for copy in truncated.private_copies {
            let pending = reverse_mapped(copy.root).unmap(copy.virt);
            pending.finish(&mut HardwareTlb, &mut KernelFrames, |leaf| {
                crate::process::fault::release(copy.root, leaf, None)
            });
        }
        for page in truncated.pages {
            frames::free_frame(page.frame);
        }
    }

    /// Writes back the dirty pages of `inode` with index in `indices`. With
    /// `wait`, waits first for writes already in flight there, then for its
    /// own, and returns the first error; without, returns once submitted.
    /// Returns the bytes submitted to the device.
    pub fn write_back(
        &self,
        inode: InodeNumber,
        indices: Range<u64>,
        wait: bool,
    ) -> Result<u64, Errno> {
        self.reap_completed();
        if wait {
            self.wait_for_writes(inode, indices.clone());
        }
        let mut ext2 = self.ext2.lock();
        let pages = self.cache.lock().begin_writeback(u64::from(inode), indices);
        if pages.is_empty() {
            return Ok(0);
        }
        // Planned and submitted a slice at a time, so that the device writes
        // the first requests while the later ones are planned.
        let mut bytes = 0;
        let mut tickets = Vec::new();
        let submitted = pages.chunks(PAGES_PER_SUBMISSION).try_for_each(|chunk| {
            let runs = self.plan_runs(&mut ext2, inode, chunk)?;
            bytes += runs
                .iter()
                .map(|run| run.blocks * u64::from(self.block_size))
                .sum::<u64>();
            self.submit(&runs, &mut tickets)
        });
        drop(ext2);
        if let Err(errno) = submitted {
            // The requests already submitted finish first; then none of the
            // pages counts as written (some are written twice later).
            for ticket in tickets {
                let _ = ticket.wait();
            }
            if errno == Errno::ENOMEM {
                // Nothing was lost: the pages are dirty again and the caller
                // gets ENOMEM (fsync will not report it).
                self.cache
                    .lock()
                    .abort_writeback(u64::from(inode), pages.iter().map(|page| page.index));
            } else {
                self.finish_pages(inode, &pages, Err(errno));
            }
            return Err(errno);
        }
        let batch = InFlightWrite {
            file: inode,
            pages,
            tickets,
        };
        if wait {
            self.complete(batch).map(|()| bytes)
        } else {
            self.in_flight.lock().push(batch);
            Ok(bytes)
        }
    }

    /// The device requests for `pages`: their blocks (allocated where the
    /// file has holes), grouped by [`plan_write_runs`].
    fn plan_runs(
        &self,
        ext2: &mut Ext2<&'static crate::block::Disk>,
        inode: InodeNumber,
        pages: &[PageToWrite],
    ) -> Result<Vec<WriteRun>, Errno> {
        let max_blocks = MAX_REQUEST_BYTES as u64 / u64::from(self.block_size);
        let blocks = self.map_pages(ext2, inode, pages)?;
        Ok(plan_write_runs(pages, self.block_size, max_blocks, |n| {
            let block = blocks[n].disk_block;
            (block != 0).then_some(u64::from(block))
        }))
    }

    /// The disk blocks of `pages` (in index order): each page's file-system
    /// blocks in turn, disk block 0 (which never holds file data) past the
    /// end of the file. One `map_blocks_allocating` call per run of
    /// consecutive pages, so that ext2 allocates their holes as one
    /// contiguous run and updates its (cached) metadata once; pages whose
    /// blocks exist cost a lookup.
    fn map_pages(
        &self,
        ext2: &mut Ext2<&'static crate::block::Disk>,
        inode: InodeNumber,
        pages: &[PageToWrite],
    ) -> Result<Vec<MappedBlock>, Errno> {
        let per_page = self.blocks_per_page() as usize;
        let blocks_in_file = ext2
            .metadata(inode)?
            .size
            .div_ceil(u64::from(self.block_size));
        let mut blocks = alloc::vec![MappedBlock::default(); pages.len() * per_page];
        let mut start = 0;
        while start < pages.len() {
            let first_index = pages[start].index;
            let len = pages[start..]
                .iter()
                .zip(first_index..)
                .take_while(|(page, index)| page.index == *index)
                .count();
            let first = first_index * per_page as u64;
            let count = blocks_in_file
                .saturating_sub(first)
                .min((len * per_page) as u64) as usize;
            let mapped = &mut blocks[start * per_page..][..count];
            if count > 0 && ext2.map_blocks_allocating(inode, first, mapped)? < count {
                return Err(Errno::ENOSPC);
            }
            start += len;
        }
        Ok(blocks)
    }

    /// Submits each run straight from the pages' frames (no copy), adding
    /// the tickets to `tickets`.
    #[allow(unsafe_code)]
    fn submit(&self, runs: &[WriteRun], tickets: &mut Vec<Ticket<()>>) -> Result<(), Errno> {
        let sectors_per_block = u64::from(self.block_size) / SECTOR_SIZE as u64;
        for run in runs {
            let segments = run.segments.iter().map(|segment| PhysSegment {
                start: segment.frame + u64::from(segment.offset),
                len: segment.len as usize,
            });
            // SAFETY: the frames belong to pages under write-back, which stay
            // in the cache (truncation and eviction wait for write-back to
            // end) until `finish_pages`, after every ticket is collected.
            unsafe {
                self.disk.submit_gathered_write(
                    run.first_block * sectors_per_block,
                    segments,
                    tickets,
                )?;
            }
        }
        Ok(())
    }

    /// Waits for every request of `batch` and settles its pages.
    fn complete(&self, batch: InFlightWrite) -> Result<(), Errno> {
        let mut result = Ok(());
        for ticket in batch.tickets {
            if let Err(errno) = ticket.wait() {
                result = result.and(Err(errno));
            }
        }
        self.finish_pages(batch.file, &batch.pages, result);
        result
    }

    fn finish_pages(&self, inode: InodeNumber, pages: &[PageToWrite], result: Result<(), Errno>) {
        if let Err(errno) = result {
            log::warn!("write-back of inode {inode} failed: {errno}");
        }
        let indices = pages.iter().map(|page| page.index);
        self.cache
            .lock()
            .end_writeback(u64::from(inode), indices, result, crate::time::now_ns());
    }

    /// Settles every asynchronous write-back whose requests have all
    /// finished. Never waits.
    pub fn reap_completed(&self) {
        let finished: Vec<InFlightWrite> = {
            let Some(mut in_flight) = self.in_flight.try_lock() else {
                return;
            };
            if in_flight.is_empty() {
                return;
            }
            let (finished, pending) = core::mem::take(&mut *in_flight)
                .into_iter()
                .partition(|batch| batch.tickets.iter().all(Ticket::is_complete));
            *in_flight = pending;
            finished
        };
        for batch in finished {
            let _ = self.complete(batch);
        }
    }

    /// Waits until no page of `inode` in `indices` is under write-back.
    /// The completions come from the disk's interrupt, so this must not
    /// run with interrupts off (it would halt forever).
    fn wait_for_writes(&self, inode: InodeNumber, indices: Range<u64>) {
        loop {
            self.reap_completed();
            if !self
                .cache
                .lock()
                .writeback_in_flight(u64::from(inode), indices.clone())
            {
                return;
            }
            assert!(
                arch::cpu::interrupts_enabled(),
                "waiting for write-back with interrupts off"
            );
            arch::cpu::halt();
        }
    }
}

/// Splits a byte range into pieces that do not cross page boundaries:
/// `(position, len)`.
fn page_pieces(range: Range<u64>) -> impl Iterator<Item = (u64, usize)> {
    let mut position = range.start;
    core::iter::from_fn(move || {
        if position >= range.end {
            return None;
        }
        let len = (PAGE_SIZE - position % PAGE_SIZE).min(range.end - position);
        let piece = (position, len as usize);
        position += len;
        Some(piece)
    })
}

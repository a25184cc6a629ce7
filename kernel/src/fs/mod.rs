//! The root file system: ext2 on a virtio-blk disk, with every file's data
//! going through one page cache.
//!
//! Lock order, outermost first: `FileSystem::ext2` → `FileSystem::cache` →
//! `FileSystem::in_flight` → the disk's device lock; `uses` and `queued` are
//! leaves. The ext2 lock is held
//! across device waits: there is one process, and the timer's deferred work
//! only ever `try_lock`s it, so nothing spins on it. Nothing here is touched
//! from interrupt context; completions the interrupt handler reaps are turned
//! into page states by [`FileSystem::reap_completed`], run by system calls and
//! by the timer when it interrupts user mode.

pub mod direct;
pub mod file;
pub mod in_use;
pub mod mapping;
pub mod names;
pub mod page_cache;
pub mod path;
pub mod pipe;
pub mod seek;

/// Tests that need a mounted root (`test=kernel::fs::`).
mod tests;

use crate::block::Disk;
use abi::Errno;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use ext2::{Ext2, InodeNumber, Metadata};
use mm::page_cache::{ErrorCursor, PageCache};
use page_cache::InFlightWrite;
use spin::{Mutex, Once};

/// A mounted ext2 file system and its page cache.
pub struct FileSystem {
    ext2: Mutex<Ext2<&'static Disk>>,
    cache: Mutex<PageCache>,
    in_flight: Mutex<Vec<InFlightWrite>>,
    /// Write-backs asked for with MS_ASYNC, started by the next background
    /// work. A leaf lock: held only to push or take one request. The queue
    /// keeps its memory, so that MS_ASYNC allocates nothing.
    queued: Mutex<VecDeque<QueuedWriteback>>,
    /// Inodes kept by open files and mappings (see `in_use`). A leaf lock.
    uses: Mutex<in_use::InodeUses>,
    disk: &'static Disk,
    block_size: u32,
}

/// An MS_ASYNC request: the file pages to write back once the D bits of
/// their mappings were collected.
pub struct QueuedWriteback {
    pub inode: InodeNumber,
    pub file_pages: core::ops::Range<u64>,
}

static ROOT: Once<FileSystem> = Once::new();

/// Where `poll` and `select` sleep: every change of a pipe wakes it.
pub fn poll_channel() -> crate::sched::Channel {
    crate::sched::Channel::of(&ROOT)
}

/// The root file system, if a disk was mounted.
pub fn root() -> Option<&'static FileSystem> {
    ROOT.get()
}

/// Memory for ext2's metadata blocks (bitmaps, inode tables, indirect and
/// directory blocks): an eighth of the 32 MiB kernel heap, enough for the
/// indirect blocks of several GiB of mapped files at 4 KiB blocks.
const EXT2_METADATA_CACHE_BYTES: usize = 4 << 20;

/// Mounts the ext2 file system on disk `index` (from `root=vdX`) as the root.
pub fn mount_root(index: usize) -> Result<&'static FileSystem, Errno> {
    let disk = crate::block::disks().get(index).ok_or(Errno::ENODEV)?;
    let ext2 = Ext2::mount_with_cache(disk, crate::time::unix_seconds(), EXT2_METADATA_CACHE_BYTES)
        .map_err(|error| {
            log::warn!("root file system: {error}");
            error.errno()
        })?;
    let info = ext2.info();
    log::info!(
        "root: ext2 revision {}, {}-byte blocks, {} of {} blocks free{}",
        info.revision,
        info.block_size,
        info.free_blocks,
        info.blocks_count,
        if ext2.is_read_only() {
            ", read-only"
        } else {
            ""
        }
    );
    let block_size = ext2.block_size() as u32;
    Ok(ROOT.call_once(|| FileSystem {
        ext2: Mutex::new(ext2),
        cache: Mutex::new(PageCache::new()),
        in_flight: Mutex::new(Vec::new()),
        queued: Mutex::new(VecDeque::new()),
        uses: Mutex::new(in_use::InodeUses::default()),
        disk,
        block_size,
    }))
}

impl FileSystem {
    /// The inode at the absolute `path`, following symlinks (`path.rs`).
    pub fn lookup(&self, path: &[u8]) -> Result<InodeNumber, Errno> {
        self.lookup_from(ext2::ROOT_INODE, path)
    }

    /// The inode at `path`, relative to the directory `dir` unless
    /// absolute, following symlinks (`path.rs`).
    pub fn lookup_from(&self, dir: InodeNumber, path: &[u8]) -> Result<InodeNumber, Errno> {
        path::Walk::new(self).resolve(dir, path, path::Follow::Yes)
    }

    pub fn metadata(&self, inode: InodeNumber) -> Result<Metadata, Errno> {
        self.ext2.lock().metadata(inode)
    }

    /// Whether the file system refuses changes (EROFS): mounted read-only
    /// because of features ext2 here does not maintain.
    pub fn is_read_only(&self) -> bool {
        self.ext2.lock().is_read_only()
    }

    /// Device requests so far (for the msync trace line).
    pub fn requests_submitted(&self) -> u64 {
        self.disk.requests_submitted()
    }

    /// Where a newly opened description starts in the file's error sequence.
    pub fn error_cursor(&self, inode: InodeNumber) -> ErrorCursor {
        self.cache.lock().file_mut(u64::from(inode)).errors.cursor()
    }

    /// Makes the writes so far durable: file-system metadata, then a device
    /// flush, both done by ext2's sync (the tail of `fsync` and
    /// `msync(MS_SYNC)`). The clock is read only to stamp metadata.
    pub fn make_durable(&self) -> Result<(), Errno> {
        let mut ext2 = self.ext2.lock();
        if ext2.has_unsynced_changes() {
            ext2.sync(crate::time::unix_seconds())
        } else {
            // No metadata to write: what ext2's sync would do is flush the
            // device (nothing, if nothing was written since its last flush).
            self.disk.flush()
        }
    }

    /// The write-back errors recorded for `inode` since `cursor`, advancing it.
    pub fn unseen_errors(&self, inode: InodeNumber, cursor: &mut ErrorCursor) -> Result<(), Errno> {
        match self.cache.lock().file(u64::from(inode)) {
            Some(cache) => cache.errors.check_and_advance(cursor),
            // Nothing cached, nothing ever written: no error to see.
            None => Ok(()),
        }
    }

    /// fsync(2): the file's dirty pages, the file system's metadata, a device
    /// flush; then any write-back error `cursor` has not yet seen. Stores
    /// through shared mappings count: their D bits move to the cache first,
    /// as Linux's pages are already dirty from the write fault.
    pub fn fsync(&self, inode: InodeNumber, cursor: &mut ErrorCursor) -> Result<(), Errno> {
        self.collect_dirty_bits(inode, 0..u64::MAX);
        let written = self.write_back(inode, 0..u64::MAX, true).map(|_| ());
        self.make_durable()?;
        let unseen = self.unseen_errors(inode, cursor);
        written.and(unseen)
    }

    /// Writes back every dirty page, the file-system metadata, and flushes
    /// the disk: `sync(2)`, and what a clean shutdown does.
    pub fn sync_all(&self) -> Result<(), Errno> {
        self.collect_all_dirty_bits();
        let files: Vec<u64> = self.cache.lock().files().collect();
        let mut result = Ok(());
        for file in files {
            let written = self.write_back(file as InodeNumber, 0..u64::MAX, true);
            result = result.and(written.map(|_| ()));
        }
        self.make_durable()?;
        result
    }
}

/// The runs of consecutive disk blocks in `blocks` (file order, `None` for a
/// hole, which belongs to no run), as (first index, count): each run is one
/// device request.
fn consecutive_runs(blocks: impl IntoIterator<Item = Option<u32>>) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize, u32)> = Vec::new();
    for (index, block) in blocks.into_iter().enumerate() {
        let Some(block) = block else { continue };
        match runs.last_mut() {
            Some((start, count, first))
                if *start + *count == index && *first + *count as u32 == block =>
            {
                *count += 1;
            }
            _ => runs.push((index, 1, block)),
        }
    }
    runs.into_iter()
        .map(|(start, count, _)| (start, count))
        .collect()
}

/// Dirty pages older than this are written back without being asked, as
/// Linux's flusher does after `dirty_expire_centisecs` (30 s there).
const DIRTY_EXPIRE_NS: u64 = 5_000_000_000;

impl FileSystem {
    /// Starts write-back of the pages that have been dirty too long.
    fn flush_expired(&self) {
        let deadline = crate::time::now_ns().saturating_sub(DIRTY_EXPIRE_NS);
        let expired = self.cache.lock().expired_dirty(deadline);
        let mut ranges: Vec<(u64, core::ops::Range<u64>)> = Vec::new();
        for (file, index) in expired {
            match ranges.last_mut() {
                Some((last_file, range)) if *last_file == file && range.end == index => {
                    range.end += 1;
                }
                _ => ranges.push((file, index..index + 1)),
            }
        }
        for (file, range) in ranges {
            if let Err(errno) = self.write_back(file as InodeNumber, range, false) {
                log::warn!("flusher: inode {file}: {errno}");
            }
        }
    }
}

/// How often the flusher looks for expired pages, in timer ticks.
const FLUSHER_PERIOD_TICKS: u64 = crate::time::TICK_HZ as u64;

/// Work that must happen without a system call: settling finished
/// asynchronous writes, and (once a second) the flusher. Called by the timer
/// when it interrupts user mode (no kernel lock can be held then) and by
/// sleeping system calls.
pub fn background_work() {
    if let Some(fs) = root() {
        fs.start_queued_writebacks();
        fs.reap_completed();
        if crate::time::ticks().is_multiple_of(FLUSHER_PERIOD_TICKS) {
            fs.collect_all_dirty_bits();
            fs.flush_expired();
            fs.sync_metadata_when_idle();
        }
    }
}

impl FileSystem {
    /// msync(MS_ASYNC): remembers the range; the next background work (a
    /// timer tick interrupting user mode, or a sleep) collects its D bits and
    /// starts the write-back, so the call returns at once and the data still
    /// reaches the disk with no further system call.
    pub fn queue_writeback(&self, request: QueuedWriteback) {
        self.queued.lock().push_back(request);
    }

    /// Starts every queued MS_ASYNC write-back without waiting for it.
    pub fn start_queued_writebacks(&self) {
        loop {
            let Some(QueuedWriteback { inode, file_pages }) = self.queued.lock().pop_front() else {
                return;
            };
            self.collect_dirty_bits(inode, file_pages.clone());
            if let Err(errno) = self.write_back(inode, file_pages, false) {
                log::warn!("MS_ASYNC write-back of inode {inode}: {errno}");
            }
        }
    }

    /// Writes the file system's metadata (superblock and group counters) and
    /// flushes the disk once no write-back is in flight, as Linux's periodic
    /// write-back does for a file system's own buffers, so that the disk is
    /// consistent a few seconds after the last change even if nobody syncs.
    fn sync_metadata_when_idle(&self) {
        let idle = self
            .in_flight
            .try_lock()
            .is_some_and(|in_flight| in_flight.is_empty());
        let Some(mut ext2) = self.ext2.try_lock() else {
            return;
        };
        if idle
            && ext2.has_unsynced_changes()
            && let Err(errno) = ext2.sync(crate::time::unix_seconds())
        {
            log::warn!("flusher: syncing the file system: {errno}");
        }
    }
}

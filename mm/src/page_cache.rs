//! The page cache's bookkeeping: one 4 KiB page per (file, page index), its
//! state, the user mappings that map it (kept per run of pages, as Linux's
//! `i_mmap` keeps VMAs), the private copies of its pages that copy-on-write
//! made in private mappings (which truncation must take away too), and the
//! error a failed write-back leaves for the file's next fsync. The kernel owns the frames and does the
//! I/O; this module decides which pages a write-back takes and what state they
//! end in, so that the rules are tested on the host.
//!
//! A page's life: it enters *up to date* (read from disk, or zero-filled for a
//! hole) or not yet up to date; it turns *dirty* when written through
//! `write()` or when a D bit found in one of its mappings is moved to it;
//! write-back moves it from dirty to *under write-back* (clearing dirty first,
//! so that a store racing with the write makes it dirty again) and back to
//! clean when the device reports success. On an I/O error the page is dirty
//! again and the error is remembered for the file ("clean" means the disk
//! holds the bytes in memory; after a failed write it does not).

mod owners;
mod pages;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use abi::Errno;
use bitflags::bitflags;

use crate::frame::{PAGE_SIZE, PhysAddr};
use owners::FrameOwners;
use pages::{FilePages, by_chunk, locate};

/// Names a cached file (the kernel uses its inode number).
pub type FileId = u64;

bitflags! {
    /// The state of a cached page.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PageState: u8 {
        /// The frame holds the file's bytes (or zeros for a hole).
        const UP_TO_DATE = 1 << 0;
        /// The frame holds bytes the disk does not have.
        const DIRTY = 1 << 1;
        /// A write of this page to the device is in flight.
        const WRITEBACK = 1 << 2;
        /// Someone is filling or changing the frame; others must wait.
        const LOCKED = 1 << 3;
    }
}

/// A user page-table entry that maps a cached page: the address space (its
/// page-table root) and the virtual page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mapper {
    pub root: PhysAddr,
    pub page: u64,
}

/// Consecutive virtual pages of one address space mapping consecutive pages
/// of a file, each through its own PTE: one entry of the reverse map (what a
/// VMA is in Linux's `i_mmap`, but covering only pages actually mapped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub root: PhysAddr,
    /// Page-aligned virtual addresses.
    pub virt: Range<u64>,
    /// The file page that `virt.start` maps.
    pub first_index: u64,
}

impl Mapping {
    /// The file page the virtual page `page` maps (for `virt.end`, the page
    /// after the last).
    fn index_at(&self, page: u64) -> u64 {
        self.first_index + (page - self.virt.start) / PAGE_SIZE
    }

    /// The part of this mapping inside the virtual range `virt`.
    fn within_virt(&self, virt: Range<u64>) -> Option<Mapping> {
        let start = self.virt.start.max(virt.start);
        let end = self.virt.end.min(virt.end);
        (start < end).then(|| Mapping {
            root: self.root,
            virt: start..end,
            first_index: self.index_at(start),
        })
    }

    /// The part of this mapping that maps file pages in `indices`.
    fn within_indices(&self, indices: Range<u64>) -> Option<Mapping> {
        let first = indices.start.max(self.first_index);
        let end = indices.end.min(self.index_at(self.virt.end));
        (first < end).then(|| {
            let start = self.virt.start + (first - self.first_index) * PAGE_SIZE;
            Mapping {
                root: self.root,
                virt: start..start + (end - first) * PAGE_SIZE,
                first_index: first,
            }
        })
    }

    /// This mapping less the virtual range `except` of one address space:
    /// none, one or two pieces.
    fn without(
        &self,
        except: Option<&(PhysAddr, Range<u64>)>,
    ) -> impl Iterator<Item = Mapping> + use<> {
        let pieces = match except {
            Some((root, virt)) if *root == self.root => [
                self.within_virt(0..virt.start),
                self.within_virt(virt.end..u64::MAX),
            ],
            _ => [Some(self.clone()), None],
        };
        pieces.into_iter().flatten()
    }
}

/// The reverse map of one file: every PTE that maps one of its cached pages,
/// kept as maximal runs ([`Mapping`]) keyed by address space and first
/// virtual page. Finding the mappings of a range of pages costs one look at
/// each run, not one per page, and nothing is copied per page.
#[derive(Debug, Default)]
struct ReverseMap {
    runs: BTreeMap<(PhysAddr, u64), Mapping>,
}

impl ReverseMap {
    /// The run holding the virtual page of `mapper`, if any.
    fn run_holding(&self, mapper: Mapper) -> Option<&Mapping> {
        let (_, run) = self.runs.range(..=(mapper.root, mapper.page)).next_back()?;
        (run.root == mapper.root && run.virt.contains(&mapper.page)).then_some(run)
    }

    /// Records that `mapper` maps file page `index`, merging it with the
    /// runs it continues so that runs stay maximal.
    fn add(&mut self, index: u64, mapper: Mapper) {
        debug_assert!(
            self.run_holding(mapper).is_none(),
            "{mapper:?} mapped twice"
        );
        let mut run = Mapping {
            root: mapper.root,
            virt: mapper.page..mapper.page + PAGE_SIZE,
            first_index: index,
        };
        if let Some((&key, before)) = self.runs.range(..(mapper.root, mapper.page)).next_back()
            && before.root == mapper.root
            && before.virt.end == mapper.page
            && before.index_at(mapper.page) == index
        {
            run.virt.start = before.virt.start;
            run.first_index = before.first_index;
            self.runs.remove(&key);
        }
        let after_key = (mapper.root, run.virt.end);
        if let Some(after) = self.runs.get(&after_key)
            && after.first_index == index + 1
        {
            run.virt.end = after.virt.end;
            self.runs.remove(&after_key);
        }
        self.runs.insert((run.root, run.virt.start), run);
    }

    /// Forgets `mapper` (its PTE was removed), splitting its run.
    fn remove(&mut self, index: u64, mapper: Mapper) {
        let Some(run) = self.run_holding(mapper).cloned() else {
            return;
        };
        debug_assert_eq!(run.index_at(mapper.page), index, "{mapper:?}");
        self.runs.remove(&(run.root, run.virt.start));
        let removed = (mapper.root, mapper.page..mapper.page + PAGE_SIZE);
        for piece in run.without(Some(&removed)) {
            self.runs.insert((piece.root, piece.virt.start), piece);
        }
    }

    /// The mappings of file pages in `indices`, cut to them.
    fn of_indices(&self, indices: Range<u64>) -> impl Iterator<Item = Mapping> + '_ {
        self.runs
            .values()
            .filter_map(move |run| run.within_indices(indices.clone()))
    }

    /// Removes the mappings of the file pages in `indices`, and returns
    /// them (cut to those pages); the parts of their runs outside stay.
    fn take_range(&mut self, indices: Range<u64>) -> Vec<Mapping> {
        let reaching: Vec<(PhysAddr, u64)> = self
            .runs
            .iter()
            .filter(|(_, run)| run.within_indices(indices.clone()).is_some())
            .map(|(&key, _)| key)
            .collect();
        reaching
            .into_iter()
            .map(|key| {
                let run = self.runs.remove(&key).expect("a listed run");
                let outside = [
                    run.within_indices(0..indices.start),
                    run.within_indices(indices.end..u64::MAX),
                ];
                for piece in outside.into_iter().flatten() {
                    self.runs.insert((piece.root, piece.virt.start), piece);
                }
                run.within_indices(indices.clone())
                    .expect("the run maps pages in the range")
            })
            .collect()
    }
}

/// One cached page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPage {
    pub frame: PhysAddr,
    pub state: PageState,
    /// When the page last went from clean to dirty (nanoseconds), for the
    /// flusher's expiry.
    pub dirtied_at: u64,
}

/// A page taken for write-back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageToWrite {
    pub index: u64,
    pub frame: PhysAddr,
}

/// A page removed from the cache by truncation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvictedPage {
    pub index: u64,
    pub frame: PhysAddr,
}

/// What truncation removed. The kernel must unmap every mapping before
/// freeing the frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Truncated {
    pub pages: Vec<EvictedPage>,
    pub mappings: Vec<Mapping>,
    /// PTEs of private mappings that hold copies of removed pages: they go
    /// too (Linux's truncate unmaps even COW copies), with their frames.
    pub private_copies: Vec<Mapping>,
}

/// Errors a file's write-backs met, as Linux's `errseq_t`: each reader
/// (an open file, for fsync) sees each error once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorSequence {
    /// Bumped on every recorded error.
    sequence: u32,
    last: Option<Errno>,
}

/// Where a reader of an [`ErrorSequence`] is: errors recorded after this
/// point are news to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCursor(u32);

impl ErrorSequence {
    pub fn record(&mut self, errno: Errno) {
        self.sequence = self.sequence.wrapping_add(1);
        self.last = Some(errno);
    }

    /// A cursor that has seen everything so far (taken at open).
    pub fn cursor(&self) -> ErrorCursor {
        ErrorCursor(self.sequence)
    }

    /// The latest error recorded since `cursor`, advancing it.
    pub fn check_and_advance(&self, cursor: &mut ErrorCursor) -> Result<(), Errno> {
        if cursor.0 == self.sequence {
            return Ok(());
        }
        cursor.0 = self.sequence;
        Err(self.last.expect("a bumped sequence has an error"))
    }
}

/// The cached pages of one file.
#[derive(Debug, Default)]
pub struct FileCache {
    pages: FilePages,
    mappings: ReverseMap,
    /// PTEs that map a private copy of one of the file's pages, by the
    /// index of the page copied.
    private_copies: ReverseMap,
    pub errors: ErrorSequence,
    /// A store through a mapping was found (a D bit) since the file's
    /// modification times were last set: they are due (POSIX: somewhere
    /// between the store and the next msync).
    stored_through_mapping: bool,
}

/// All cached files.
#[derive(Debug, Default)]
pub struct PageCache {
    files: BTreeMap<FileId, FileCache>,
    /// Which file page each cached frame holds, so that a frame leaving a
    /// page table can be recognised as the cache's (not the mapping's own).
    owners: FrameOwners,
}

impl PageCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The files with cached pages.
    pub fn files(&self) -> impl Iterator<Item = FileId> + '_ {
        self.files.keys().copied()
    }

    pub fn file(&self, file: FileId) -> Option<&FileCache> {
        self.files.get(&file)
    }

    pub fn file_mut(&mut self, file: FileId) -> &mut FileCache {
        self.files.entry(file).or_default()
    }

    pub fn page(&self, file: FileId, index: u64) -> Option<CachedPage> {
        self.files.get(&file)?.pages.get(index)
    }

    /// The file page a frame holds, if the frame is a cached page.
    pub fn owner_of(&self, frame: PhysAddr) -> Option<(FileId, u64)> {
        self.owners.get(frame)
    }

    /// Adds a page the kernel just filled (or is about to fill, with
    /// `state` holding LOCKED and not UP_TO_DATE).
    ///
    /// # Panics
    /// If the page is already cached: one copy of each file page.
    pub fn insert(&mut self, file: FileId, index: u64, frame: PhysAddr, state: PageState) {
        let added = self.file_mut(file).pages.insert(index, frame, state);
        assert!(added, "page {index} of file {file} cached twice");
        self.owners.insert(frame, (file, index));
    }

    /// Marks a cached page dirty at time `now`; returns false if it is not
    /// cached.
    pub fn mark_dirty(&mut self, file: FileId, index: u64, now: u64) -> bool {
        let (key, bit) = locate(index);
        self.files
            .get_mut(&file)
            .is_some_and(|cache| cache.pages.mark_dirty(key, bit, now) != 0)
    }

    /// Marks dirty at time `now` the cached pages that `frames` hold (the
    /// frames whose D bits were found set); frames that are not the cache's
    /// are left alone. Returns how many of `frames` were the cache's.
    /// Frames that follow each other in memory and in their file cost a few
    /// word operations per 64 pages.
    pub fn mark_frames_dirty(
        &mut self,
        frames: impl IntoIterator<Item = PhysAddr>,
        now: u64,
    ) -> usize {
        let mut owner_of = self.owners.lookup();
        let mut owned = 0;
        let pages = frames
            .into_iter()
            .filter_map(&mut owner_of)
            .inspect(|_| owned += 1);
        for (file, key, bits) in by_chunk(pages) {
            let cache = self
                .files
                .get_mut(&file)
                .expect("an owner's file is cached");
            cache.pages.mark_dirty(key, bits, now);
            cache.stored_through_mapping = true;
        }
        owned
    }

    /// Notes that a store through a mapping of `file` was found (the D bit
    /// of a PTE that went away).
    pub fn note_store_through_mapping(&mut self, file: FileId) {
        if let Some(cache) = self.files.get_mut(&file) {
            cache.stored_through_mapping = true;
        }
    }

    /// The files stored to through mappings since this was last asked,
    /// whose modification times the kernel now sets.
    pub fn take_files_stored_through_mappings(&mut self) -> Vec<FileId> {
        self.files
            .iter_mut()
            .filter(|(_, cache)| cache.stored_through_mapping)
            .map(|(&file, cache)| {
                cache.stored_through_mapping = false;
                file
            })
            .collect()
    }

    /// The dirty pages of `file` in `indices`, in index order.
    pub fn dirty_pages(&self, file: FileId, indices: Range<u64>) -> Vec<u64> {
        self.files
            .get(&file)
            .map(|cache| cache.pages.dirty(indices).collect())
            .unwrap_or_default()
    }

    /// Every mapping of the pages of `file` in `indices`, cut to them: where
    /// D bits must be collected from before a write-back. Costs one look at
    /// each run of the file's reverse map, and allocates nothing.
    pub fn mappings(
        &self,
        file: FileId,
        indices: Range<u64>,
    ) -> impl Iterator<Item = Mapping> + '_ {
        self.files
            .get(&file)
            .into_iter()
            .flat_map(move |cache| cache.mappings.of_indices(indices.clone()))
    }

    /// Starts write-back of the dirty pages of `file` in `indices` that are
    /// not already being written: each goes from dirty to under write-back.
    /// Returns them in index order.
    pub fn begin_writeback(&mut self, file: FileId, indices: Range<u64>) -> Vec<PageToWrite> {
        let mut taken = Vec::new();
        if let Some(cache) = self.files.get_mut(&file) {
            cache.pages.begin_writeback(indices, &mut taken);
        }
        taken
    }

    /// Ends the write-back of `pages` of `file` (each listed once).
    /// Success leaves each clean unless it was dirtied again meanwhile; an
    /// error makes them dirty again and is recorded for the file.
    ///
    /// # Panics
    /// If one of them is cached but not under write-back.
    pub fn end_writeback(
        &mut self,
        file: FileId,
        pages: impl IntoIterator<Item = u64>,
        result: Result<(), Errno>,
        now: u64,
    ) {
        let mut pages = pages.into_iter().peekable();
        if pages.peek().is_none() {
            return;
        }
        let cache = self.file_mut(file);
        if let Err(errno) = result {
            cache.errors.record(errno);
        }
        let failed_at = result.is_err().then_some(now);
        cache.pages.end_writeback(file, pages, failed_at);
    }

    /// Takes `pages` of `file` back from write-back that never reached the
    /// device (no memory for the request): they are dirty again, and no
    /// error is recorded, because nothing was lost — a later write-back
    /// tries again.
    ///
    /// # Panics
    /// If one of them is cached but not under write-back.
    pub fn abort_writeback(&mut self, file: FileId, pages: impl IntoIterator<Item = u64>) {
        if let Some(cache) = self.files.get_mut(&file) {
            cache.pages.abort_writeback(file, pages);
        }
    }

    /// Whether any page of `file` in `indices` is still being written.
    pub fn writeback_in_flight(&self, file: FileId, indices: Range<u64>) -> bool {
        self.files
            .get(&file)
            .is_some_and(|cache| cache.pages.first_under_writeback(indices).is_some())
    }

    /// Whether any page of `file` in `indices` is dirty or being written:
    /// whether a write-back of them has anything to write or wait for.
    /// Costs one lookup when the file has neither.
    pub fn unwritten_in(&self, file: FileId, indices: Range<u64>) -> bool {
        self.files.get(&file).is_some_and(|cache| {
            cache.pages.has_unwritten()
                && (cache.pages.dirty(indices.clone()).next().is_some()
                    || cache.pages.first_under_writeback(indices).is_some())
        })
    }

    /// Records that `mapper` maps page `index` of `file`.
    pub fn add_mapper(&mut self, file: FileId, index: u64, mapper: Mapper) {
        let cache = self
            .files
            .get_mut(&file)
            .filter(|cache| cache.pages.contains(index))
            .expect("only cached pages are mapped");
        cache.mappings.add(index, mapper);
    }

    /// Forgets `mapper` of page `index` of `file` (the PTE was removed).
    pub fn remove_mapper(&mut self, file: FileId, index: u64, mapper: Mapper) {
        if let Some(cache) = self.files.get_mut(&file) {
            cache.mappings.remove(index, mapper);
        }
    }

    /// Records that `mapper`, in a private mapping of `file`, maps its own
    /// copy of page `index` (copy-on-write broke the sharing).
    pub fn add_private_copy(&mut self, file: FileId, index: u64, mapper: Mapper) {
        self.file_mut(file).private_copies.add(index, mapper);
    }

    /// Forgets the private copy of page `index` of `file` at `mapper` (its
    /// PTE was removed).
    pub fn remove_private_copy(&mut self, file: FileId, index: u64, mapper: Mapper) {
        if let Some(cache) = self.files.get_mut(&file) {
            cache.private_copies.remove(index, mapper);
        }
    }

    /// Forgets a file that is gone (its inode freed), so that a new file
    /// given the same identity starts with nothing of it.
    ///
    /// # Panics
    /// If pages, mappings or private copies remain: the kernel truncates
    /// the file and unmaps it first.
    pub fn forget_file(&mut self, file: FileId) {
        if let Some(cache) = self.files.remove(&file) {
            assert!(
                cache.pages.is_empty()
                    && cache.mappings.runs.is_empty()
                    && cache.private_copies.runs.is_empty(),
                "forgetting file {file} while it is cached or mapped"
            );
        }
    }

    /// The pages of every file that have been dirty since before `deadline`
    /// and are not being written: what the periodic flusher takes.
    pub fn expired_dirty(&self, deadline: u64) -> Vec<(FileId, u64)> {
        self.files
            .iter()
            .flat_map(|(&file, cache)| {
                cache
                    .pages
                    .expired(deadline)
                    .map(move |index| (file, index))
            })
            .collect()
    }

    /// Removes every page of `file` from index `first` on (truncation), and
    /// returns them and their mappings for the kernel to unmap and free.
    ///
    /// # Panics
    /// If one of them is under write-back: the kernel waits for those first.
    pub fn truncate(&mut self, file: FileId, first: u64) -> Truncated {
        let Some(cache) = self.files.get_mut(&file) else {
            return Truncated::default();
        };
        if let Some(index) = cache.pages.first_under_writeback(first..u64::MAX) {
            panic!("truncating page {index} of file {file} under write-back");
        }
        let pages = cache.pages.take_range(first..u64::MAX);
        for page in &pages {
            self.owners.remove(page.frame);
        }
        Truncated {
            pages,
            mappings: cache.mappings.take_range(first..u64::MAX),
            private_copies: cache.private_copies.take_range(first..u64::MAX),
        }
    }

    /// Removes the cached pages of `file` in `indices` — a hole punched in the
    /// file (MADV_REMOVE, fallocate): the pages, and the PTEs that map them,
    /// which the kernel must unmap before freeing the frames. Private
    /// copy-on-write copies stay (Linux's `truncate_pagecache_range` leaves
    /// them). No page of the range may be under write-back.
    pub fn punch(&mut self, file: FileId, indices: Range<u64>) -> Truncated {
        let Some(cache) = self.files.get_mut(&file) else {
            return Truncated::default();
        };
        if let Some(index) = cache.pages.first_under_writeback(indices.clone()) {
            panic!("punching page {index} of file {file} under write-back");
        }
        let pages = cache.pages.take_range(indices.clone());
        for page in &pages {
            self.owners.remove(page.frame);
        }
        Truncated {
            pages,
            mappings: cache.mappings.take_range(indices),
            private_copies: Vec::new(),
        }
    }

    /// Whether any page of any file is dirty or being written.
    pub fn has_unwritten(&self) -> bool {
        self.files.values().any(|cache| cache.pages.has_unwritten())
    }
}

/// A piece of a device request: `len` bytes at `offset` in `frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub frame: PhysAddr,
    pub offset: u32,
    pub len: u32,
}

/// One device request: consecutive disk blocks from `first_block`, filled
/// from `segments` in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRun {
    pub first_block: u64,
    pub blocks: u64,
    pub segments: Vec<Segment>,
    /// The page indices whose bytes the run carries (a page may span runs).
    pub pages: Vec<u64>,
}

/// Groups pages into device requests: one per maximal run of consecutive
/// disk blocks, capped at `max_blocks` blocks. A page holds `per_page =
/// PAGE_SIZE / block_size` file-system blocks; `disk_block(n * per_page +
/// slot)` is the disk block of block `slot` of `pages[n]`, `None` where there
/// is no block to write (beyond the end of the file). The pages come in
/// index order.
pub fn plan_write_runs(
    pages: &[PageToWrite],
    block_size: u32,
    max_blocks: u64,
    disk_block: impl Fn(usize) -> Option<u64>,
) -> Vec<WriteRun> {
    let per_page = (PAGE_SIZE / u64::from(block_size)) as usize;
    let mut runs: Vec<WriteRun> = Vec::new();
    let mut current: Option<WriteRun> = None;
    let mut position = 0;
    for page in pages {
        for slot in 0..per_page {
            let block = disk_block(position);
            position += 1;
            let Some(block) = block else { continue };
            let segment = Segment {
                frame: page.frame,
                offset: slot as u32 * block_size,
                len: block_size,
            };
            match &mut current {
                Some(run) if run.first_block + run.blocks == block && run.blocks < max_blocks => {
                    run.blocks += 1;
                    match run.segments.last_mut() {
                        Some(last)
                            if last.frame == segment.frame
                                && last.offset + last.len == segment.offset =>
                        {
                            last.len += block_size;
                        }
                        _ => run.segments.push(segment),
                    }
                    if run.pages.last() != Some(&page.index) {
                        run.pages.push(page.index);
                    }
                }
                _ => {
                    // Room for the longest run that can start here, so that
                    // neither list grows block by block.
                    let room = (max_blocks as usize).min(pages.len() * per_page - position + 1);
                    let mut run = WriteRun {
                        first_block: block,
                        blocks: 1,
                        segments: Vec::with_capacity(room),
                        pages: Vec::with_capacity(room),
                    };
                    run.segments.push(segment);
                    run.pages.push(page.index);
                    runs.extend(current.replace(run));
                }
            }
        }
    }
    runs.extend(current);
    runs
}

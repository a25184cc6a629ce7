//! The page cache's bookkeeping: one 4 KiB page per (file, page index), its
//! state, the user mappings that map it, and the error a failed write-back
//! leaves for the file's next fsync. The kernel owns the frames and does the
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

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

use abi::Errno;
use bitflags::bitflags;

use crate::frame::PhysAddr;

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

/// One cached page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedPage {
    pub frame: PhysAddr,
    pub state: PageState,
    /// When the page last went from clean to dirty (nanoseconds), for the
    /// flusher's expiry.
    pub dirtied_at: u64,
    /// The reverse map: every PTE that maps this frame.
    pub mappers: Vec<Mapper>,
}

/// A page taken for write-back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageToWrite {
    pub index: u64,
    pub frame: PhysAddr,
}

/// A page removed from the cache by truncation. The kernel must unmap it from
/// every mapper before freeing the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvictedPage {
    pub index: u64,
    pub frame: PhysAddr,
    pub mappers: Vec<Mapper>,
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
    pages: BTreeMap<u64, CachedPage>,
    pub errors: ErrorSequence,
}

/// All cached files.
#[derive(Debug, Default)]
pub struct PageCache {
    files: BTreeMap<FileId, FileCache>,
    /// Which file page each cached frame holds, so that a frame leaving a
    /// page table can be recognised as the cache's (not the mapping's own).
    owners: BTreeMap<PhysAddr, (FileId, u64)>,
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

    pub fn page(&self, file: FileId, index: u64) -> Option<&CachedPage> {
        self.files.get(&file)?.pages.get(&index)
    }

    /// The file page a frame holds, if the frame is a cached page.
    pub fn owner_of(&self, frame: PhysAddr) -> Option<(FileId, u64)> {
        self.owners.get(&frame).copied()
    }

    pub fn page_mut(&mut self, file: FileId, index: u64) -> Option<&mut CachedPage> {
        self.files.get_mut(&file)?.pages.get_mut(&index)
    }

    /// Adds a page the kernel just filled (or is about to fill, with
    /// `state` holding LOCKED and not UP_TO_DATE).
    ///
    /// # Panics
    /// If the page is already cached: one copy of each file page.
    pub fn insert(&mut self, file: FileId, index: u64, frame: PhysAddr, state: PageState) {
        let previous = self.file_mut(file).pages.insert(
            index,
            CachedPage {
                frame,
                state,
                dirtied_at: 0,
                mappers: Vec::new(),
            },
        );
        assert!(
            previous.is_none(),
            "page {index} of file {file} cached twice"
        );
        self.owners.insert(frame, (file, index));
    }

    /// Marks a cached page dirty at time `now`; returns false if it is not
    /// cached.
    pub fn mark_dirty(&mut self, file: FileId, index: u64, now: u64) -> bool {
        let Some(page) = self.page_mut(file, index) else {
            return false;
        };
        if !page.state.contains(PageState::DIRTY) {
            page.state.insert(PageState::DIRTY);
            page.dirtied_at = now;
        }
        true
    }

    /// The dirty pages of `file` in `indices`, in index order.
    pub fn dirty_pages(&self, file: FileId, indices: Range<u64>) -> Vec<u64> {
        self.pages_in(file, indices)
            .filter(|(_, page)| page.state.contains(PageState::DIRTY))
            .map(|(index, _)| index)
            .collect()
    }

    /// Every page of `file` in `indices`, in index order, with its mappers
    /// (for moving D bits in from all mappings before a write-back).
    pub fn mapped_pages(&self, file: FileId, indices: Range<u64>) -> Vec<(u64, Vec<Mapper>)> {
        self.pages_in(file, indices)
            .filter(|(_, page)| !page.mappers.is_empty())
            .map(|(index, page)| (index, page.mappers.clone()))
            .collect()
    }

    fn pages_in(
        &self,
        file: FileId,
        indices: Range<u64>,
    ) -> impl Iterator<Item = (u64, &CachedPage)> {
        self.files
            .get(&file)
            .into_iter()
            .flat_map(move |cache| cache.pages.range(indices.clone()))
            .map(|(&index, page)| (index, page))
    }

    /// Starts write-back of the dirty pages of `file` in `indices` that are
    /// not already being written: each goes from dirty to under write-back.
    pub fn begin_writeback(&mut self, file: FileId, indices: Range<u64>) -> Vec<PageToWrite> {
        let Some(cache) = self.files.get_mut(&file) else {
            return Vec::new();
        };
        cache
            .pages
            .range_mut(indices)
            .filter(|(_, page)| {
                page.state.contains(PageState::DIRTY) && !page.state.contains(PageState::WRITEBACK)
            })
            .map(|(&index, page)| {
                page.state.remove(PageState::DIRTY);
                page.state.insert(PageState::WRITEBACK);
                PageToWrite {
                    index,
                    frame: page.frame,
                }
            })
            .collect()
    }

    /// Ends the write-back of one page. Success leaves it clean unless it was
    /// dirtied again meanwhile; an error makes it dirty again and is
    /// recorded for the file.
    pub fn end_writeback(&mut self, file: FileId, index: u64, result: Result<(), Errno>, now: u64) {
        let cache = self.file_mut(file);
        if let Err(errno) = result {
            cache.errors.record(errno);
        }
        let Some(page) = cache.pages.get_mut(&index) else {
            return;
        };
        assert!(
            page.state.contains(PageState::WRITEBACK),
            "page {index} of file {file} was not under write-back"
        );
        page.state.remove(PageState::WRITEBACK);
        if result.is_err() && !page.state.contains(PageState::DIRTY) {
            page.state.insert(PageState::DIRTY);
            page.dirtied_at = now;
        }
    }

    /// Takes a page back from write-back that never reached the device (no
    /// memory for the request): it is dirty again, and no error is recorded,
    /// because nothing was lost — a later write-back tries again.
    pub fn abort_writeback(&mut self, file: FileId, index: u64) {
        let Some(page) = self.page_mut(file, index) else {
            return;
        };
        assert!(
            page.state.contains(PageState::WRITEBACK),
            "page {index} of file {file} was not under write-back"
        );
        page.state.remove(PageState::WRITEBACK);
        page.state.insert(PageState::DIRTY);
    }

    /// Whether any page of `file` in `indices` is still being written.
    pub fn writeback_in_flight(&self, file: FileId, indices: Range<u64>) -> bool {
        self.pages_in(file, indices)
            .any(|(_, page)| page.state.contains(PageState::WRITEBACK))
    }

    /// Records that `mapper` maps page `index` of `file`.
    pub fn add_mapper(&mut self, file: FileId, index: u64, mapper: Mapper) {
        let page = self
            .page_mut(file, index)
            .expect("only cached pages are mapped");
        debug_assert!(!page.mappers.contains(&mapper), "{mapper:?} mapped twice");
        page.mappers.push(mapper);
    }

    /// Forgets `mapper` of page `index` of `file` (the PTE was removed).
    pub fn remove_mapper(&mut self, file: FileId, index: u64, mapper: Mapper) {
        if let Some(page) = self.page_mut(file, index) {
            page.mappers.retain(|known| *known != mapper);
        }
    }

    /// The pages of every file that have been dirty since before `deadline`
    /// and are not being written: what the periodic flusher takes.
    pub fn expired_dirty(&self, deadline: u64) -> Vec<(FileId, u64)> {
        self.files
            .iter()
            .flat_map(|(&file, cache)| {
                cache.pages.iter().filter_map(move |(&index, page)| {
                    let expired = page.state.contains(PageState::DIRTY)
                        && !page.state.contains(PageState::WRITEBACK)
                        && page.dirtied_at <= deadline;
                    expired.then_some((file, index))
                })
            })
            .collect()
    }

    /// Removes every page of `file` from index `first` on (truncation), and
    /// returns them for the kernel to unmap and free.
    ///
    /// # Panics
    /// If one of them is under write-back: the kernel waits for those first.
    pub fn truncate(&mut self, file: FileId, first: u64) -> Vec<EvictedPage> {
        let Some(cache) = self.files.get_mut(&file) else {
            return Vec::new();
        };
        let removed = cache.pages.split_off(&first);
        let owners = &mut self.owners;
        removed
            .into_iter()
            .map(|(index, page)| {
                owners.remove(&page.frame);
                assert!(
                    !page.state.contains(PageState::WRITEBACK),
                    "truncating page {index} of file {file} under write-back"
                );
                EvictedPage {
                    index,
                    frame: page.frame,
                    mappers: page.mappers,
                }
            })
            .collect()
    }

    /// Whether any page of any file is dirty or being written.
    pub fn has_unwritten(&self) -> bool {
        self.files.values().any(|cache| {
            cache.pages.values().any(|page| {
                page.state
                    .intersects(PageState::DIRTY | PageState::WRITEBACK)
            })
        })
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
/// disk blocks, capped at `max_blocks` blocks. `disk_blocks(page)` gives the
/// disk block of each file-system block of the page, `None` where there is no
/// block to write (beyond the end of the file). The pages come in index order.
pub fn plan_write_runs(
    pages: &[PageToWrite],
    block_size: u32,
    max_blocks: u64,
    mut disk_blocks: impl FnMut(u64) -> Result<Vec<Option<u64>>, Errno>,
) -> Result<Vec<WriteRun>, Errno> {
    let mut runs: Vec<WriteRun> = Vec::new();
    for page in pages {
        for (slot, block) in disk_blocks(page.index)?.into_iter().enumerate() {
            let Some(block) = block else { continue };
            let segment = Segment {
                frame: page.frame,
                offset: slot as u32 * block_size,
                len: block_size,
            };
            match runs.last_mut() {
                Some(run) if run.first_block + run.blocks == block && run.blocks < max_blocks => {
                    run.blocks += 1;
                    extend_segments(&mut run.segments, segment);
                    if run.pages.last() != Some(&page.index) {
                        run.pages.push(page.index);
                    }
                }
                _ => runs.push(WriteRun {
                    first_block: block,
                    blocks: 1,
                    segments: alloc::vec![segment],
                    pages: alloc::vec![page.index],
                }),
            }
        }
    }
    Ok(runs)
}

/// Appends `segment`, merging it into the last one when it continues it in
/// the same frame.
fn extend_segments(segments: &mut Vec<Segment>, segment: Segment) {
    match segments.last_mut() {
        Some(last) if last.frame == segment.frame && last.offset + last.len == segment.offset => {
            last.len += segment.len;
        }
        _ => segments.push(segment),
    }
}

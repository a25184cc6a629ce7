//! The cached pages of one file, 64 to a chunk: a chunk holds the frames and
//! dirtying times of 64 consecutive pages and one bitmap per page state, so
//! that a state change over a range of pages costs a few word operations per
//! chunk instead of a tree update per page (Linux's xarray keeps its dirty
//! and write-back marks per node the same way). The chunks holding a dirty
//! page or a page under write-back are listed apart, so that finding those
//! pages costs what there is to find, not what is cached.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::ops::Range;

use super::{CachedPage, EvictedPage, PageState, PageToWrite};
use crate::frame::PhysAddr;

/// Pages per chunk: one bit of a `u64` each.
const CHUNK_PAGES: u64 = 64;

/// The chunk holding page `index`, and the page's bit in it.
pub(super) fn locate(index: u64) -> (u64, u64) {
    (index / CHUNK_PAGES, 1 << (index % CHUNK_PAGES))
}

/// The bits of chunk `key` whose pages lie in `indices`.
fn bits_within(key: u64, indices: &Range<u64>) -> u64 {
    let first = key * CHUNK_PAGES;
    let start = indices.start.max(first) - first;
    let end = indices
        .end
        .min(first.saturating_add(CHUNK_PAGES))
        .saturating_sub(first);
    if start >= end {
        return 0;
    }
    (u64::MAX >> (CHUNK_PAGES - (end - start))) << start
}

/// The chunk keys that can hold pages in `indices`.
fn keys_within(indices: &Range<u64>) -> Range<u64> {
    indices.start / CHUNK_PAGES..indices.end.div_ceil(CHUNK_PAGES)
}

/// The slots of the set bits of `mask`, lowest first.
fn slots(mut mask: u64) -> impl Iterator<Item = u64> {
    core::iter::from_fn(move || {
        let slot = u64::from(mask.trailing_zeros());
        (mask != 0).then(|| {
            mask &= mask - 1;
            slot
        })
    })
}

/// Groups `(group, index)` pairs into `(group, chunk key, bits)`, one item per
/// run of consecutive pairs with the same group and chunk.
pub(super) fn by_chunk<G: Copy + PartialEq>(
    pages: impl IntoIterator<Item = (G, u64)>,
) -> impl Iterator<Item = (G, u64, u64)> {
    let mut pages = pages.into_iter().peekable();
    core::iter::from_fn(move || {
        let (group, index) = pages.next()?;
        let (key, mut bits) = locate(index);
        while let Some(&(next_group, next)) = pages.peek() {
            let (next_key, bit) = locate(next);
            if next_group != group || next_key != key {
                break;
            }
            bits |= bit;
            pages.next();
        }
        Some((group, key, bits))
    })
}

/// 64 consecutive pages of a file. Bit `n` of each bitmap is page
/// `64 * key + n`; `frames` and `dirtied_at` hold meaning only where `cached`
/// has the bit.
#[derive(Debug)]
struct Chunk {
    cached: u64,
    up_to_date: u64,
    dirty: u64,
    writeback: u64,
    locked: u64,
    frames: [PhysAddr; CHUNK_PAGES as usize],
    dirtied_at: [u64; CHUNK_PAGES as usize],
}

impl Chunk {
    fn new() -> Box<Chunk> {
        Box::new(Chunk {
            cached: 0,
            up_to_date: 0,
            dirty: 0,
            writeback: 0,
            locked: 0,
            frames: [PhysAddr::zero(); CHUNK_PAGES as usize],
            dirtied_at: [0; CHUNK_PAGES as usize],
        })
    }

    fn flags(&mut self) -> [(&mut u64, PageState); 4] {
        [
            (&mut self.up_to_date, PageState::UP_TO_DATE),
            (&mut self.dirty, PageState::DIRTY),
            (&mut self.writeback, PageState::WRITEBACK),
            (&mut self.locked, PageState::LOCKED),
        ]
    }

    fn page(&self, slot: u64) -> CachedPage {
        let has = |bitmap: u64| bitmap & (1 << slot) != 0;
        let mut state = PageState::empty();
        state.set(PageState::UP_TO_DATE, has(self.up_to_date));
        state.set(PageState::DIRTY, has(self.dirty));
        state.set(PageState::WRITEBACK, has(self.writeback));
        state.set(PageState::LOCKED, has(self.locked));
        CachedPage {
            frame: self.frames[slot as usize],
            state,
            dirtied_at: self.dirtied_at[slot as usize],
        }
    }

    /// Marks the cached pages among `bits` dirty at `now` (those already
    /// dirty keep their time).
    fn mark_dirty(&mut self, bits: u64, now: u64) {
        let newly = bits & self.cached & !self.dirty;
        self.dirty |= newly;
        for slot in slots(newly) {
            self.dirtied_at[slot as usize] = now;
        }
    }

    /// # Panics
    /// If a cached page among `bits` is not under write-back.
    fn assert_under_writeback(&self, key: u64, bits: u64, file: u64) {
        if let Some(slot) = slots(bits & self.cached & !self.writeback).next() {
            let index = key * CHUNK_PAGES + slot;
            panic!("page {index} of file {file} was not under write-back");
        }
    }
}

/// The cached pages of one file and their states.
#[derive(Debug, Default)]
pub(super) struct FilePages {
    chunks: BTreeMap<u64, Box<Chunk>>,
    /// The keys of the chunks with a dirty page, and with a page under
    /// write-back, kept in step with the chunks' bitmaps by
    /// [`FilePages::change`].
    dirty_chunks: BTreeSet<u64>,
    writeback_chunks: BTreeSet<u64>,
}

impl FilePages {
    /// Applies `change` to chunk `key` and brings the lists of chunks with
    /// dirty pages and pages under write-back up to date; `None` if no page
    /// of the chunk is cached.
    fn change<R>(&mut self, key: u64, change: impl FnOnce(&mut Chunk) -> R) -> Option<R> {
        let chunk = self.chunks.get_mut(&key)?;
        let result = change(chunk);
        set_member(&mut self.dirty_chunks, key, chunk.dirty != 0);
        set_member(&mut self.writeback_chunks, key, chunk.writeback != 0);
        Some(result)
    }

    pub(super) fn get(&self, index: u64) -> Option<CachedPage> {
        let (key, bit) = locate(index);
        let chunk = self.chunks.get(&key)?;
        (chunk.cached & bit != 0).then(|| chunk.page(u64::from(bit.trailing_zeros())))
    }

    /// Whether no page is cached.
    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    pub(super) fn contains(&self, index: u64) -> bool {
        let (key, bit) = locate(index);
        self.chunks
            .get(&key)
            .is_some_and(|chunk| chunk.cached & bit != 0)
    }

    /// Adds page `index` in `frame` with `state`; false if it is cached
    /// already (then nothing changes).
    pub(super) fn insert(&mut self, index: u64, frame: PhysAddr, state: PageState) -> bool {
        let (key, bit) = locate(index);
        let chunk = self.chunks.entry(key).or_insert_with(Chunk::new);
        if chunk.cached & bit != 0 {
            return false;
        }
        self.change(key, |chunk| {
            chunk.cached |= bit;
            for (bitmap, flag) in chunk.flags() {
                if state.contains(flag) {
                    *bitmap |= bit;
                }
            }
            let slot = (index % CHUNK_PAGES) as usize;
            chunk.frames[slot] = frame;
            chunk.dirtied_at[slot] = 0;
        });
        true
    }

    /// Marks the cached pages among `bits` of chunk `key` dirty at `now`;
    /// returns the bits of those cached.
    pub(super) fn mark_dirty(&mut self, key: u64, bits: u64, now: u64) -> u64 {
        self.change(key, |chunk| {
            chunk.mark_dirty(bits, now);
            bits & chunk.cached
        })
        .unwrap_or(0)
    }

    /// Moves the dirty pages in `indices` that are not under write-back to
    /// write-back, appending them to `taken` in index order.
    pub(super) fn begin_writeback(&mut self, indices: Range<u64>, taken: &mut Vec<PageToWrite>) {
        let keys: Vec<u64> = self
            .dirty_chunks
            .range(keys_within(&indices))
            .copied()
            .collect();
        let count: u32 = keys
            .iter()
            .map(|key| {
                let chunk = &self.chunks[key];
                (chunk.dirty & !chunk.writeback & bits_within(*key, &indices)).count_ones()
            })
            .sum();
        taken.reserve(count as usize);
        for key in keys {
            self.change(key, |chunk| {
                let ready = chunk.dirty & !chunk.writeback & bits_within(key, &indices);
                chunk.dirty &= !ready;
                chunk.writeback |= ready;
                taken.extend(slots(ready).map(|slot| PageToWrite {
                    index: key * CHUNK_PAGES + slot,
                    frame: chunk.frames[slot as usize],
                }));
            });
        }
    }

    /// Ends the write-back of `pages` (each once): they leave write-back,
    /// and with `failed_at` they are dirty again (since then, unless they
    /// were dirtied meanwhile). Pages not cached are skipped.
    ///
    /// # Panics
    /// If a cached page among them is not under write-back.
    pub(super) fn end_writeback(
        &mut self,
        file: u64,
        pages: impl IntoIterator<Item = u64>,
        failed_at: Option<u64>,
    ) {
        for ((), key, bits) in by_chunk(pages.into_iter().map(|index| ((), index))) {
            self.change(key, |chunk| {
                chunk.assert_under_writeback(key, bits, file);
                chunk.writeback &= !bits;
                if let Some(now) = failed_at {
                    chunk.mark_dirty(bits, now);
                }
            });
        }
    }

    /// Takes `pages` back from write-back, dirty again with their old
    /// dirtying time.
    ///
    /// # Panics
    /// If a cached page among them is not under write-back.
    pub(super) fn abort_writeback(&mut self, file: u64, pages: impl IntoIterator<Item = u64>) {
        for ((), key, bits) in by_chunk(pages.into_iter().map(|index| ((), index))) {
            self.change(key, |chunk| {
                chunk.assert_under_writeback(key, bits, file);
                let bits = bits & chunk.cached;
                chunk.writeback &= !bits;
                chunk.dirty |= bits;
            });
        }
    }

    /// The dirty pages in `indices`, in index order.
    pub(super) fn dirty(&self, indices: Range<u64>) -> impl Iterator<Item = u64> + '_ {
        self.dirty_chunks
            .range(keys_within(&indices))
            .flat_map(move |&key| {
                let bits = self.chunks[&key].dirty & bits_within(key, &indices);
                slots(bits).map(move |slot| key * CHUNK_PAGES + slot)
            })
    }

    /// The first page in `indices` under write-back.
    pub(super) fn first_under_writeback(&self, indices: Range<u64>) -> Option<u64> {
        self.writeback_chunks
            .range(keys_within(&indices))
            .find_map(|&key| {
                let bits = self.chunks[&key].writeback & bits_within(key, &indices);
                slots(bits).next().map(|slot| key * CHUNK_PAGES + slot)
            })
    }

    /// The dirty pages not under write-back that were dirtied at or before
    /// `deadline`, in index order.
    pub(super) fn expired(&self, deadline: u64) -> impl Iterator<Item = u64> + '_ {
        self.dirty_chunks.iter().flat_map(move |&key| {
            let chunk = &self.chunks[&key];
            slots(chunk.dirty & !chunk.writeback)
                .filter(move |&slot| chunk.dirtied_at[slot as usize] <= deadline)
                .map(move |slot| key * CHUNK_PAGES + slot)
        })
    }

    /// Whether any page is dirty or under write-back.
    pub(super) fn has_unwritten(&self) -> bool {
        !self.dirty_chunks.is_empty() || !self.writeback_chunks.is_empty()
    }

    /// Removes every page with index in `indices` and returns them in index
    /// order (truncation: `first..`; a punched hole: a range inside). The
    /// caller has checked that none is under write-back.
    pub(super) fn take_range(&mut self, indices: Range<u64>) -> Vec<EvictedPage> {
        let keys: Vec<u64> = self
            .chunks
            .range(keys_within(&indices))
            .map(|(&key, _)| key)
            .collect();
        let mut evicted = Vec::new();
        for key in keys {
            let bits = bits_within(key, &indices);
            let emptied = self
                .change(key, |chunk| {
                    evicted.extend(evicted_pages(key, chunk, bits));
                    for (bitmap, _) in chunk.flags() {
                        *bitmap &= !bits;
                    }
                    chunk.cached &= !bits;
                    chunk.cached == 0
                })
                .expect("a listed chunk");
            if emptied {
                self.chunks.remove(&key);
            }
        }
        evicted
    }
}

/// The cached pages among `bits` of chunk `key`.
fn evicted_pages(key: u64, chunk: &Chunk, bits: u64) -> impl Iterator<Item = EvictedPage> + '_ {
    slots(chunk.cached & bits).map(move |slot| EvictedPage {
        index: key * CHUNK_PAGES + slot,
        frame: chunk.frames[slot as usize],
    })
}

fn set_member(set: &mut BTreeSet<u64>, key: u64, member: bool) {
    if member {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_within_cuts_ranges_to_a_chunk() {
        assert_eq!(bits_within(0, &(0..64)), u64::MAX);
        assert_eq!(bits_within(0, &(0..u64::MAX)), u64::MAX);
        assert_eq!(bits_within(1, &(0..u64::MAX)), u64::MAX);
        assert_eq!(bits_within(1, &(66..68)), 0b1100);
        assert_eq!(bits_within(1, &(60..66)), 0b11);
        assert_eq!(bits_within(1, &(127..200)), 1 << 63);
        assert_eq!(bits_within(2, &(60..128)), 0);
        assert_eq!(bits_within(u64::MAX / 64, &(0..u64::MAX)), u64::MAX >> 1);
    }

    #[test]
    fn by_chunk_groups_consecutive_pages_of_one_chunk() {
        let pages = [(1, 0), (1, 3), (1, 64), (2, 65), (2, 66), (1, 1)];
        let groups: Vec<(u32, u64, u64)> = by_chunk(pages).collect();
        assert_eq!(
            groups,
            [(1, 0, 0b1001), (1, 1, 1), (2, 1, 0b110), (1, 0, 0b10)]
        );
    }

    #[test]
    fn slots_lists_set_bits_lowest_first() {
        assert_eq!(slots(0).count(), 0);
        assert_eq!(slots(1 << 63 | 0b101).collect::<Vec<_>>(), [0, 2, 63]);
    }
}

//! The page cache's rules: which pages a write-back takes, what state they end
//! in, what fsync sees, and how pages become device requests.

use abi::Errno;
use mm::frame::PhysAddr;
use mm::page_cache::{
    EvictedPage, Mapper, Mapping, PageCache, PageState, PageToWrite, Segment, Truncated, WriteRun,
    plan_write_runs,
};

const FILE: u64 = 12;

fn frame(n: u64) -> PhysAddr {
    PhysAddr::new(0x10_0000 + n * 0x1000)
}

/// A cache holding pages 0..count of FILE, up to date, with `dirty` dirty.
fn cache_with(count: u64, dirty: &[u64]) -> PageCache {
    let mut cache = PageCache::new();
    for index in 0..count {
        cache.insert(FILE, index, frame(index), PageState::UP_TO_DATE);
    }
    for &index in dirty {
        assert!(cache.mark_dirty(FILE, index, 100));
    }
    cache
}

fn state(cache: &PageCache, index: u64) -> PageState {
    cache.page(FILE, index).expect("cached").state
}

// POSIX msync: st_mtime and st_ctime "shall be marked for update at some point in the
// interval between a write reference to the mapped region and the next call to msync()". A D
// bit found (or a dirty PTE that went away) marks the file's times as due, once, for the
// kernel to set; a write() sets them itself and marks nothing here.
#[test]
fn stores_found_through_mappings_make_the_file_times_due_once() {
    let mut cache = cache_with(4, &[]);
    assert!(cache.take_files_stored_through_mappings().is_empty());
    assert!(cache.mark_dirty(FILE, 0, 200));
    assert!(cache.take_files_stored_through_mappings().is_empty());
    assert_eq!(cache.mark_frames_dirty([frame(2)], 300), 1);
    assert_eq!(cache.take_files_stored_through_mappings(), vec![FILE]);
    assert!(cache.take_files_stored_through_mappings().is_empty());
    cache.note_store_through_mapping(FILE);
    assert_eq!(cache.take_files_stored_through_mappings(), vec![FILE]);
}

#[test]
fn writeback_takes_only_dirty_pages_in_range_and_success_cleans_them() {
    let mut cache = cache_with(8, &[1, 2, 5, 7]);
    let taken = cache.begin_writeback(FILE, 2..7);
    assert_eq!(
        taken,
        vec![
            PageToWrite {
                index: 2,
                frame: frame(2)
            },
            PageToWrite {
                index: 5,
                frame: frame(5)
            }
        ]
    );
    assert_eq!(
        state(&cache, 2),
        PageState::UP_TO_DATE | PageState::WRITEBACK
    );
    assert!(cache.writeback_in_flight(FILE, 0..8));
    let indices: Vec<u64> = taken.iter().map(|page| page.index).collect();
    cache.end_writeback(FILE, indices, Ok(()), 200);
    assert_eq!(state(&cache, 2), PageState::UP_TO_DATE);
    assert_eq!(cache.dirty_pages(FILE, 0..8), vec![1, 7]);
    assert!(!cache.writeback_in_flight(FILE, 0..8));
}

/// A store while the page is on its way to the disk must not be lost: the
/// page stays dirty after the (older) write completes.
#[test]
fn page_dirtied_during_writeback_stays_dirty() {
    let mut cache = cache_with(1, &[0]);
    let taken = cache.begin_writeback(FILE, 0..1);
    assert_eq!(taken.len(), 1);
    cache.mark_dirty(FILE, 0, 150);
    assert!(
        cache.begin_writeback(FILE, 0..1).is_empty(),
        "already in flight"
    );
    cache.end_writeback(FILE, [0], Ok(()), 200);
    assert_eq!(state(&cache, 0), PageState::UP_TO_DATE | PageState::DIRTY);
    assert_eq!(cache.page(FILE, 0).unwrap().dirtied_at, 150);
}

/// "A page becomes clean only after its write completed successfully; on an
/// I/O error it stays dirty and the error reaches the caller."
#[test]
fn failed_write_leaves_the_page_dirty_and_records_the_error() {
    let mut cache = cache_with(2, &[0, 1]);
    let mut cursor = cache.file_mut(FILE).errors.cursor();
    cache.begin_writeback(FILE, 0..2);
    cache.end_writeback(FILE, [0], Err(Errno::EIO), 300);
    cache.end_writeback(FILE, [1], Ok(()), 300);
    assert_eq!(state(&cache, 0), PageState::UP_TO_DATE | PageState::DIRTY);
    assert_eq!(cache.page(FILE, 0).unwrap().dirtied_at, 300);
    assert_eq!(state(&cache, 1), PageState::UP_TO_DATE);
    let errors = cache.file(FILE).unwrap().errors;
    assert_eq!(errors.check_and_advance(&mut cursor), Err(Errno::EIO));
    assert_eq!(errors.check_and_advance(&mut cursor), Ok(()), "seen once");
}

/// "Running out of memory during write-back → ENOMEM with the dirty state
/// kept": the pages are dirty again and fsync has no error to report.
#[test]
fn aborted_writeback_keeps_pages_dirty_without_an_error() {
    let mut cache = cache_with(2, &[0, 1]);
    let mut cursor = cache.file_mut(FILE).errors.cursor();
    let taken = cache.begin_writeback(FILE, 0..2);
    let indices: Vec<u64> = taken.iter().map(|page| page.index).collect();
    cache.abort_writeback(FILE, indices);
    assert_eq!(cache.dirty_pages(FILE, 0..2), vec![0, 1]);
    assert!(!cache.writeback_in_flight(FILE, 0..2));
    let errors = cache.file(FILE).unwrap().errors;
    assert_eq!(errors.check_and_advance(&mut cursor), Ok(()));
}

/// Linux errseq: every file description open before the error sees it on
/// its next fsync; one opened after does not.
#[test]
fn each_opener_sees_a_writeback_error_once() {
    let mut cache = cache_with(1, &[0]);
    let mut early = cache.file_mut(FILE).errors.cursor();
    let mut other = early;
    cache.begin_writeback(FILE, 0..1);
    cache.end_writeback(FILE, [0], Err(Errno::EIO), 1);
    let mut late = cache.file(FILE).unwrap().errors.cursor();
    let errors = cache.file(FILE).unwrap().errors;
    assert_eq!(errors.check_and_advance(&mut early), Err(Errno::EIO));
    assert_eq!(errors.check_and_advance(&mut other), Err(Errno::EIO));
    assert_eq!(errors.check_and_advance(&mut late), Ok(()));
}

#[test]
#[should_panic(expected = "cached twice")]
fn a_file_page_is_cached_once() {
    let mut cache = cache_with(1, &[]);
    cache.insert(FILE, 0, frame(9), PageState::UP_TO_DATE);
}

#[test]
fn reverse_map_tracks_every_mapping_of_a_page() {
    let mut cache = cache_with(3, &[]);
    let first = Mapper {
        root: frame(100),
        page: 0x4000_0000,
    };
    let second = Mapper {
        root: frame(100),
        page: 0x5000_1000,
    };
    cache.add_mapper(FILE, 1, first);
    cache.add_mapper(FILE, 1, second);
    cache.add_mapper(
        FILE,
        2,
        Mapper {
            page: first.page + PAGE,
            ..first
        },
    );
    assert_eq!(
        cache.mappings(FILE, 0..3).collect::<Vec<_>>(),
        vec![mapping(first, 2, 1), mapping(second, 1, 1),],
        "pages 1 and 2 at consecutive addresses are one run"
    );
    cache.remove_mapper(FILE, 1, first);
    assert_eq!(
        cache.mappings(FILE, 1..2).collect::<Vec<_>>(),
        vec![mapping(second, 1, 1)]
    );
}

/// msync's "every mapping of these pages": each address space's runs, cut
/// to the pages asked for.
#[test]
fn mappings_are_cut_to_the_pages_asked_for() {
    let mut cache = cache_with(8, &[]);
    let own = Mapper {
        root: frame(100),
        page: 0x4000_0000,
    };
    let other = Mapper {
        root: frame(200),
        page: 0x7000_0000,
    };
    for index in 0..8 {
        for mapper in [own, other] {
            cache.add_mapper(
                FILE,
                index,
                Mapper {
                    page: mapper.page + index * PAGE,
                    ..mapper
                },
            );
        }
    }
    let cut = |mapper: Mapper| {
        mapping(
            Mapper {
                page: mapper.page + 2 * PAGE,
                ..mapper
            },
            3,
            2,
        )
    };
    assert_eq!(
        cache.mappings(FILE, 2..5).collect::<Vec<_>>(),
        vec![cut(own), cut(other)]
    );
    assert_eq!(cache.mappings(FILE, 8..9).count(), 0);
    assert_eq!(cache.mappings(FILE + 1, 0..8).count(), 0);
}

const PAGE: u64 = 0x1000;

/// The run of `pages` pages mapped from `start`, the first holding file page
/// `first_index`.
fn mapping(start: Mapper, pages: u64, first_index: u64) -> Mapping {
    Mapping {
        root: start.root,
        virt: start.page..start.page + pages * PAGE,
        first_index,
    }
}

#[test]
fn flusher_takes_pages_dirty_since_before_the_deadline() {
    let mut cache = cache_with(4, &[]);
    cache.mark_dirty(FILE, 0, 10);
    cache.mark_dirty(FILE, 1, 50);
    cache.mark_dirty(FILE, 3, 20);
    cache.begin_writeback(FILE, 3..4);
    assert_eq!(cache.expired_dirty(30), vec![(FILE, 0)]);
    assert!(cache.has_unwritten());
}

#[test]
fn truncation_removes_the_tail_with_its_mappers() {
    let mut cache = cache_with(4, &[3]);
    let mapper = Mapper {
        root: frame(100),
        page: 0x4000_1000,
    };
    for index in 1..4 {
        let page = mapper.page + (index - 1) * PAGE;
        cache.add_mapper(FILE, index, Mapper { page, ..mapper });
    }
    let truncated = cache.truncate(FILE, 2);
    assert_eq!(
        truncated,
        Truncated {
            pages: vec![
                EvictedPage {
                    index: 2,
                    frame: frame(2),
                },
                EvictedPage {
                    index: 3,
                    frame: frame(3),
                },
            ],
            mappings: vec![mapping(
                Mapper {
                    page: mapper.page + PAGE,
                    ..mapper
                },
                2,
                2
            )],
            private_copies: vec![],
        }
    );
    assert_eq!(
        cache.mappings(FILE, 0..u64::MAX).collect::<Vec<_>>(),
        vec![mapping(mapper, 1, 1)],
        "the mapping of the page kept stays"
    );
    assert!(cache.page(FILE, 2).is_none());
    assert!(cache.page(FILE, 1).is_some());
    assert_eq!(cache.owner_of(frame(1)), Some((FILE, 1)));
    assert_eq!(
        cache.owner_of(frame(3)),
        None,
        "evicted frames are no longer the cache's"
    );
    assert!(!cache.has_unwritten());
}

/// Linux's truncate unmaps even the private copies that copy-on-write made
/// of pages past the new end (`unmap_mapping_range(..., even_cows = 1)`):
/// truncation hands them out with the file's own mappings, and keeps those
/// of pages it keeps.
// A hole punched in the middle of a file (MADV_REMOVE, fallocate PUNCH_HOLE): the pages of
// the range leave the cache with their PTEs, cut out of the runs that map them, and the pages
// on either side stay mapped; private copies stay (Linux's truncate_pagecache_range).
#[test]
fn a_punched_hole_removes_its_pages_and_cuts_their_mappings() {
    let mut cache = cache_with(6, &[2]);
    let mapper = Mapper {
        root: frame(100),
        page: 0x4000_0000,
    };
    for index in 0..6 {
        let page = mapper.page + index * PAGE;
        cache.add_mapper(FILE, index, Mapper { page, ..mapper });
    }
    let copy = Mapper {
        root: frame(101),
        page: 0x7000_0000,
    };
    cache.add_private_copy(FILE, 3, copy);
    let punched = cache.punch(FILE, 2..4);
    assert_eq!(
        punched
            .pages
            .iter()
            .map(|page| page.index)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(
        punched.mappings,
        vec![mapping(
            Mapper {
                page: mapper.page + 2 * PAGE,
                ..mapper
            },
            2,
            2
        )]
    );
    assert!(punched.private_copies.is_empty());
    assert_eq!(
        cache.mappings(FILE, 0..u64::MAX).collect::<Vec<_>>(),
        vec![
            mapping(mapper, 2, 0),
            mapping(
                Mapper {
                    page: mapper.page + 4 * PAGE,
                    ..mapper
                },
                2,
                4
            ),
        ]
    );
    assert!(cache.page(FILE, 1).is_some() && cache.page(FILE, 4).is_some());
    assert!(cache.page(FILE, 2).is_none() && cache.page(FILE, 3).is_none());
    assert_eq!(cache.owner_of(frame(2)), None);
    assert!(!cache.has_unwritten(), "the dirty page went with the hole");
}

#[test]
fn truncation_hands_out_private_copies_of_the_pages_it_removes() {
    let mut cache = cache_with(4, &[]);
    let private = Mapper {
        root: frame(300),
        page: 0x5000_0000,
    };
    for index in 0..4 {
        let page = private.page + index * PAGE;
        cache.add_private_copy(FILE, index, Mapper { page, ..private });
    }
    let truncated = cache.truncate(FILE, 1);
    assert_eq!(
        truncated.private_copies,
        vec![mapping(
            Mapper {
                page: private.page + PAGE,
                ..private
            },
            3,
            1
        )]
    );
    assert!(truncated.mappings.is_empty());
    cache.remove_private_copy(FILE, 0, private);
    let again = cache.truncate(FILE, 0);
    assert!(again.private_copies.is_empty(), "{again:?}");
}

/// A file whose inode is freed leaves nothing behind: a new file given the
/// same number starts with no pages, mappings or error history.
#[test]
fn forgotten_file_leaves_nothing_for_the_next_file_with_its_id() {
    let mut cache = cache_with(2, &[1]);
    cache.file_mut(FILE).errors.record(Errno::EIO);
    let truncated = cache.truncate(FILE, 0);
    assert_eq!(truncated.pages.len(), 2);
    cache.forget_file(FILE);
    assert!(cache.file(FILE).is_none());
    assert_eq!(cache.files().count(), 0);
    let mut from_the_start = mm::page_cache::ErrorCursor::default();
    assert_eq!(
        cache
            .file_mut(FILE)
            .errors
            .check_and_advance(&mut from_the_start),
        Ok(()),
        "the old file's write-back error reached the new one"
    );
}

#[test]
#[should_panic(expected = "forgetting file 12 while it is cached or mapped")]
fn forgetting_a_file_with_cached_pages_panics() {
    let mut cache = cache_with(1, &[]);
    cache.forget_file(FILE);
}

fn pages(indices: &[u64]) -> Vec<PageToWrite> {
    indices
        .iter()
        .map(|&index| PageToWrite {
            index,
            frame: frame(index),
        })
        .collect()
}

/// The disk blocks of the pages `indices`, page after page, as
/// `plan_write_runs` looks them up: `disk(index)` gives one page's.
fn blocks(indices: &[u64], disk: impl Fn(u64) -> Vec<Option<u64>>) -> Vec<Option<u64>> {
    indices.iter().flat_map(|&index| disk(index)).collect()
}

fn whole_page(frame_number: u64) -> Segment {
    Segment {
        frame: frame(frame_number),
        offset: 0,
        len: 4096,
    }
}

/// "One device request per contiguous run of disk blocks."
#[test]
fn contiguous_pages_become_one_request() {
    let indices = [0, 1, 2, 3];
    let disk = blocks(&indices, |index| vec![Some(500 + index)]);
    let runs = plan_write_runs(&pages(&indices), 4096, 1024, |n| disk[n]);
    assert_eq!(
        runs,
        vec![WriteRun {
            first_block: 500,
            blocks: 4,
            segments: (0..4).map(whole_page).collect(),
            pages: vec![0, 1, 2, 3],
        }]
    );
}

#[test]
fn a_gap_on_disk_or_in_the_file_starts_a_new_request() {
    let indices = [0, 1, 2, 3, 6];
    let disk = blocks(&indices, |index| {
        vec![Some(if index < 2 { 100 + index } else { 900 + index })]
    });
    let runs = plan_write_runs(&pages(&indices), 4096, 1024, |n| disk[n]);
    let starts: Vec<(u64, u64)> = runs
        .iter()
        .map(|run| (run.first_block, run.blocks))
        .collect();
    assert_eq!(starts, vec![(100, 2), (902, 2), (906, 1)]);
}

#[test]
fn requests_are_capped_at_the_device_limit() {
    let indices = [0, 1, 2, 3, 4];
    let disk = blocks(&indices, |index| vec![Some(index)]);
    let runs = plan_write_runs(&pages(&indices), 4096, 2, |n| disk[n]);
    let sizes: Vec<u64> = runs.iter().map(|run| run.blocks).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

/// With 1 KiB blocks a page is four blocks; ext2 puts the first indirect
/// block after file block 11, so page 2 (blocks 8..12) and page 3 are split.
#[test]
fn small_blocks_split_a_page_where_the_disk_layout_breaks() {
    let disk = blocks(&[2, 3], |index| {
        (0..4u64)
            .map(|slot| {
                let file_block = index * 4 + slot;
                Some(if file_block < 12 {
                    1000 + file_block
                } else {
                    1001 + file_block
                })
            })
            .collect()
    });
    let runs = plan_write_runs(&pages(&[2, 3]), 1024, 1024, |n| disk[n]);
    assert_eq!(
        runs,
        vec![
            WriteRun {
                first_block: 1008,
                blocks: 4,
                segments: vec![Segment {
                    frame: frame(2),
                    offset: 0,
                    len: 4096
                }],
                pages: vec![2],
            },
            WriteRun {
                first_block: 1013,
                blocks: 4,
                segments: vec![Segment {
                    frame: frame(3),
                    offset: 0,
                    len: 4096
                }],
                pages: vec![3],
            },
        ]
    );
}

#[test]
fn blocks_past_the_end_of_the_file_are_not_written() {
    let disk = [Some(40), Some(41), None, None];
    let runs = plan_write_runs(&pages(&[0]), 1024, 1024, |n| disk[n]);
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].segments,
        vec![Segment {
            frame: frame(0),
            offset: 0,
            len: 2048
        }]
    );
}

/// Random sequences of the page cache's state changes and reverse-map
/// updates, against a page-by-page model: after every step each page's state,
/// the indexed answers (dirty pages, writes in flight, expiry, frame owners)
/// and the mappings must be what the model says. Page indices are drawn
/// around the edges of the cache's 64-page chunks.
mod cache_follows_a_page_by_page_model {
    use super::*;
    use mm::page_cache::CachedPage;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::collections::btree_map::Entry;
    use std::ops::Range;

    const MAPPED_PAGES: u64 = 16;
    const VIRTUAL_PAGES: u64 = 24;
    const BASE: u64 = 0x4000_0000;
    /// The page indices the operations use.
    const WINDOWS: [Range<u64>; 4] = [0..MAPPED_PAGES, 56..72, 120..136, 250..262];

    #[derive(Clone, Debug)]
    enum Op {
        Insert {
            index: u64,
        },
        MarkDirty {
            index: u64,
            now: u64,
        },
        MarkFramesDirty {
            frames: Vec<(u64, bool)>,
            now: u64,
        },
        BeginWriteback {
            start: u64,
            len: u64,
        },
        EndWriteback {
            picks: Vec<bool>,
            ok: bool,
            now: u64,
        },
        AbortWriteback {
            picks: Vec<bool>,
        },
        Truncate {
            first: u64,
        },
        Map {
            root: u64,
            page: u64,
            index: u64,
        },
        Unmap {
            root: u64,
            page: u64,
        },
    }

    fn index() -> impl Strategy<Value = u64> {
        prop_oneof![
            WINDOWS[0].clone(),
            WINDOWS[1].clone(),
            WINDOWS[2].clone(),
            WINDOWS[3].clone()
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => index().prop_map(|index| Op::Insert { index }),
            1 => (index(), 0..100u64).prop_map(|(index, now)| Op::MarkDirty { index, now }),
            // Each frame is a page's, or (false) a frame the cache does not own.
            2 => (proptest::collection::vec((index(), any::<bool>()), 0..40), 0..100u64)
                .prop_map(|(frames, now)| Op::MarkFramesDirty { frames, now }),
            1 => (index(), 0..200u64).prop_map(|(start, len)| Op::BeginWriteback { start, len }),
            1 => (proptest::collection::vec(any::<bool>(), 0..40), any::<bool>(), 0..100u64)
                .prop_map(|(picks, ok, now)| Op::EndWriteback { picks, ok, now }),
            1 => proptest::collection::vec(any::<bool>(), 0..40)
                .prop_map(|picks| Op::AbortWriteback { picks }),
            1 => index().prop_map(|first| Op::Truncate { first }),
            // Few distinct offsets between file and virtual pages, so that
            // mappings often continue each other and runs merge and split.
            3 => (0..2u64, 0..VIRTUAL_PAGES, 0..3u64).prop_map(|(root, page, offset)| Op::Map {
                root,
                page,
                index: (page + offset) % MAPPED_PAGES
            }),
            2 => (0..2u64, 0..VIRTUAL_PAGES).prop_map(|(root, page)| Op::Unmap { root, page }),
        ]
    }

    /// The frame holding page `index`: scattered over several of the
    /// owner tables' 2 MiB regions, one frame per page.
    fn frame_of(index: u64) -> PhysAddr {
        PhysAddr::new((256 + index * 97 % 4096) * PAGE)
    }

    /// A frame that is no page's.
    fn foreign(index: u64) -> PhysAddr {
        PhysAddr::new((1 << 20) * PAGE + index * PAGE)
    }

    fn mapper(root: u64, page: u64) -> Mapper {
        Mapper {
            root: frame(100 + root),
            page: BASE + page * PAGE,
        }
    }

    /// The model: each cached page's frame, state and dirtying time, and
    /// whether the file has a write-back error its reader has not seen.
    #[derive(Default)]
    struct Model {
        pages: BTreeMap<u64, CachedPage>,
        unseen_error: bool,
    }

    impl Model {
        fn mark_dirty(&mut self, index: u64, now: u64) -> bool {
            let Some(page) = self.pages.get_mut(&index) else {
                return false;
            };
            if !page.state.contains(PageState::DIRTY) {
                page.state.insert(PageState::DIRTY);
                page.dirtied_at = now;
            }
            true
        }

        fn with(&self, flag: PageState) -> Vec<u64> {
            self.pages
                .iter()
                .filter(|(_, page)| page.state.contains(flag))
                .map(|(&index, _)| index)
                .collect()
        }

        /// The pages under write-back whose `picks` entry is true.
        fn picked(&self, picks: &[bool]) -> Vec<u64> {
            self.with(PageState::WRITEBACK)
                .into_iter()
                .zip(picks.iter().chain(std::iter::repeat(&false)))
                .filter(|(_, pick)| **pick)
                .map(|(index, _)| index)
                .collect()
        }

        fn end_writeback(&mut self, pages: &[u64], ok: bool, now: u64) {
            for index in pages {
                let page = self.pages.get_mut(index).unwrap();
                page.state.remove(PageState::WRITEBACK);
                if !ok && !page.state.contains(PageState::DIRTY) {
                    page.state.insert(PageState::DIRTY);
                    page.dirtied_at = now;
                }
            }
            self.unseen_error |= !ok && !pages.is_empty();
        }
    }

    /// Every (mapper, file page) pair the reverse map's runs cover.
    fn expand(mappings: &[Mapping]) -> BTreeMap<Mapper, u64> {
        mappings
            .iter()
            .flat_map(|mapping| {
                (mapping.virt.start..mapping.virt.end)
                    .step_by(PAGE as usize)
                    .map(move |page| {
                        let index = mapping.first_index + (page - mapping.virt.start) / PAGE;
                        (
                            Mapper {
                                root: mapping.root,
                                page,
                            },
                            index,
                        )
                    })
            })
            .collect()
    }

    fn check(cache: &PageCache, model: &Model, mapped: &BTreeMap<Mapper, u64>) {
        for index in WINDOWS.into_iter().flatten() {
            let page = model.pages.get(&index);
            assert_eq!(cache.page(FILE, index).as_ref(), page, "page {index}");
            assert_eq!(
                cache.owner_of(frame_of(index)),
                page.map(|_| (FILE, index)),
                "owner of page {index}'s frame"
            );
            assert_eq!(
                cache.writeback_in_flight(FILE, index..index + 1),
                page.is_some_and(|page| page.state.contains(PageState::WRITEBACK))
            );
        }
        let dirty = model.with(PageState::DIRTY);
        let writing = model.with(PageState::WRITEBACK);
        for range in [0..u64::MAX, 3..65, 61..130, 64..128, 128..250] {
            let within = |indices: &[u64]| -> Vec<u64> {
                indices
                    .iter()
                    .copied()
                    .filter(|index| range.contains(index))
                    .collect()
            };
            assert_eq!(cache.dirty_pages(FILE, range.clone()), within(&dirty));
            assert_eq!(
                cache.writeback_in_flight(FILE, range.clone()),
                !within(&writing).is_empty()
            );
            assert_eq!(
                cache.unwritten_in(FILE, range.clone()),
                !within(&dirty).is_empty() || !within(&writing).is_empty()
            );
        }
        for deadline in [0, 50, u64::MAX] {
            let expired: Vec<(u64, u64)> = model
                .pages
                .iter()
                .filter(|(_, page)| {
                    page.state.contains(PageState::DIRTY)
                        && !page.state.contains(PageState::WRITEBACK)
                        && page.dirtied_at <= deadline
                })
                .map(|(&index, _)| (FILE, index))
                .collect();
            assert_eq!(cache.expired_dirty(deadline), expired);
        }
        assert_eq!(
            cache.has_unwritten(),
            !dirty.is_empty() || !writing.is_empty()
        );
        assert!(!cache.unwritten_in(FILE + 1, 0..u64::MAX));

        let runs: Vec<_> = cache.mappings(FILE, 0..u64::MAX).collect();
        assert_eq!(&expand(&runs), mapped);
        for pair in runs.windows(2) {
            let continues = pair[0].root == pair[1].root
                && pair[0].virt.end == pair[1].virt.start
                && pair[0].first_index + (pair[0].virt.end - pair[0].virt.start) / PAGE
                    == pair[1].first_index;
            assert!(!continues, "runs not merged: {pair:?}");
        }
        let expected: BTreeMap<Mapper, u64> = mapped
            .iter()
            .filter(|(_, index)| (2..10).contains(*index))
            .map(|(&mapper, &index)| (mapper, index))
            .collect();
        let cut: Vec<_> = cache.mappings(FILE, 2..10).collect();
        assert_eq!(expand(&cut), expected);
    }

    proptest! {
        #[test]
        fn random_sequences(ops in proptest::collection::vec(op(), 1..80)) {
            let mut cache = PageCache::new();
            let mut model = Model::default();
            let mut cursor = cache.file_mut(FILE).errors.cursor();
            let mut mapped: BTreeMap<Mapper, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert { index } => {
                        if let Entry::Vacant(entry) = model.pages.entry(index) {
                            cache.insert(FILE, index, frame_of(index), PageState::UP_TO_DATE);
                            entry.insert(CachedPage {
                                frame: frame_of(index),
                                state: PageState::UP_TO_DATE,
                                dirtied_at: 0,
                            });
                        }
                    }
                    Op::MarkDirty { index, now } => {
                        prop_assert_eq!(cache.mark_dirty(FILE, index, now), model.mark_dirty(index, now));
                    }
                    Op::MarkFramesDirty { frames, now } => {
                        let frames: Vec<PhysAddr> = frames
                            .iter()
                            .map(|&(index, ours)| if ours { frame_of(index) } else { foreign(index) })
                            .collect();
                        let owned = frames
                            .iter()
                            .filter(|&&frame| {
                                let index = (0..4096).find(|&index| frame_of(index) == frame);
                                index.is_some_and(|index| model.mark_dirty(index, now))
                            })
                            .count();
                        prop_assert_eq!(cache.mark_frames_dirty(frames, now), owned);
                    }
                    Op::BeginWriteback { start, len } => {
                        let ready: Vec<PageToWrite> = model
                            .pages
                            .iter_mut()
                            .filter(|(index, page)| {
                                (start..start + len).contains(*index)
                                    && page.state.contains(PageState::DIRTY)
                                    && !page.state.contains(PageState::WRITEBACK)
                            })
                            .map(|(&index, page)| {
                                page.state.remove(PageState::DIRTY);
                                page.state.insert(PageState::WRITEBACK);
                                PageToWrite { index, frame: page.frame }
                            })
                            .collect();
                        prop_assert_eq!(cache.begin_writeback(FILE, start..start + len), ready);
                    }
                    Op::EndWriteback { picks, ok, now } => {
                        let pages = model.picked(&picks);
                        let result = if ok { Ok(()) } else { Err(Errno::EIO) };
                        cache.end_writeback(FILE, pages.iter().copied(), result, now);
                        model.end_writeback(&pages, ok, now);
                    }
                    Op::AbortWriteback { picks } => {
                        let pages = model.picked(&picks);
                        cache.abort_writeback(FILE, pages.iter().copied());
                        for index in pages {
                            let page = model.pages.get_mut(&index).unwrap();
                            page.state.remove(PageState::WRITEBACK);
                            page.state.insert(PageState::DIRTY);
                        }
                    }
                    Op::Truncate { first } => {
                        let writing: Vec<u64> = model
                            .with(PageState::WRITEBACK)
                            .into_iter()
                            .filter(|&index| index >= first)
                            .collect();
                        cache.end_writeback(FILE, writing.iter().copied(), Ok(()), 0);
                        model.end_writeback(&writing, true, 0);
                        let truncated = cache.truncate(FILE, first);
                        let evicted: Vec<EvictedPage> = model
                            .pages
                            .split_off(&first)
                            .into_iter()
                            .map(|(index, page)| EvictedPage { index, frame: page.frame })
                            .collect();
                        prop_assert_eq!(truncated.pages, evicted);
                        let unmapped: BTreeMap<Mapper, u64> =
                            mapped.iter().filter(|(_, index)| **index >= first).map(|(&m, &i)| (m, i)).collect();
                        prop_assert_eq!(expand(&truncated.mappings), unmapped);
                        mapped.retain(|_, index| *index < first);
                    }
                    Op::Map { root, page, index } => {
                        let mapper = mapper(root, page);
                        if model.pages.contains_key(&index) && !mapped.contains_key(&mapper) {
                            cache.add_mapper(FILE, index, mapper);
                            mapped.insert(mapper, index);
                        }
                    }
                    Op::Unmap { root, page } => {
                        let mapper = mapper(root, page);
                        if let Some(index) = mapped.remove(&mapper) {
                            cache.remove_mapper(FILE, index, mapper);
                        }
                    }
                }
                check(&cache, &model, &mapped);
                let errors = cache.file(FILE).unwrap().errors;
                let unseen = std::mem::take(&mut model.unseen_error);
                prop_assert_eq!(errors.check_and_advance(&mut cursor).is_err(), unseen);
            }
        }
    }
}

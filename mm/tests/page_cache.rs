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
    for page in &taken {
        cache.end_writeback(FILE, page.index, Ok(()), 200);
    }
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
    cache.end_writeback(FILE, 0, Ok(()), 200);
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
    cache.end_writeback(FILE, 0, Err(Errno::EIO), 300);
    cache.end_writeback(FILE, 1, Ok(()), 300);
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
    for page in &taken {
        cache.abort_writeback(FILE, page.index);
    }
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
    cache.end_writeback(FILE, 0, Err(Errno::EIO), 1);
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

fn pages(indices: &[u64]) -> Vec<PageToWrite> {
    indices
        .iter()
        .map(|&index| PageToWrite {
            index,
            frame: frame(index),
        })
        .collect()
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
    let runs = plan_write_runs(&pages(&[0, 1, 2, 3]), 4096, 1024, |index| {
        Ok(vec![Some(500 + index)])
    })
    .unwrap();
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
    let disk = |index: u64| {
        Ok(vec![Some(if index < 2 {
            100 + index
        } else {
            900 + index
        })])
    };
    let runs = plan_write_runs(&pages(&[0, 1, 2, 3, 6]), 4096, 1024, disk).unwrap();
    let starts: Vec<(u64, u64)> = runs
        .iter()
        .map(|run| (run.first_block, run.blocks))
        .collect();
    assert_eq!(starts, vec![(100, 2), (902, 2), (906, 1)]);
}

#[test]
fn requests_are_capped_at_the_device_limit() {
    let runs = plan_write_runs(&pages(&[0, 1, 2, 3, 4]), 4096, 2, |index| {
        Ok(vec![Some(index)])
    })
    .unwrap();
    let sizes: Vec<u64> = runs.iter().map(|run| run.blocks).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}

/// With 1 KiB blocks a page is four blocks; ext2 puts the first indirect
/// block after file block 11, so page 2 (blocks 8..12) and page 3 are split.
#[test]
fn small_blocks_split_a_page_where_the_disk_layout_breaks() {
    let disk = |index: u64| {
        Ok((0..4u64)
            .map(|slot| {
                let file_block = index * 4 + slot;
                Some(if file_block < 12 {
                    1000 + file_block
                } else {
                    1001 + file_block
                })
            })
            .collect())
    };
    let runs = plan_write_runs(&pages(&[2, 3]), 1024, 1024, disk).unwrap();
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
    let disk = |_| Ok(vec![Some(40), Some(41), None, None]);
    let runs = plan_write_runs(&pages(&[0]), 1024, 1024, disk).unwrap();
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

#[test]
fn a_block_map_error_is_returned() {
    let result = plan_write_runs(&pages(&[0]), 4096, 8, |_| Err(Errno::ENOSPC));
    assert_eq!(result, Err(Errno::ENOSPC));
}

/// Random sequences of the page cache's state changes and reverse-map
/// updates: after every step the indexed answers (dirty pages, writes in
/// flight, expiry, mappings) must equal what the page states and a
/// page-by-page model of the mappings say.
mod indices_follow_the_states {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    const PAGES: u64 = 16;
    const VIRTUAL_PAGES: u64 = 24;
    const BASE: u64 = 0x4000_0000;

    #[derive(Clone, Debug)]
    enum Op {
        Insert { index: u64 },
        MarkDirty { index: u64, now: u64 },
        BeginWriteback { start: u64, len: u64 },
        EndWriteback { pick: usize, ok: bool, now: u64 },
        AbortWriteback { pick: usize },
        Truncate { first: u64 },
        Map { root: u64, page: u64, index: u64 },
        Unmap { root: u64, page: u64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (0..PAGES).prop_map(|index| Op::Insert { index }),
            1 => (0..PAGES, 0..100u64).prop_map(|(index, now)| Op::MarkDirty { index, now }),
            1 => (0..PAGES, 0..PAGES).prop_map(|(start, len)| Op::BeginWriteback { start, len }),
            1 => (any::<usize>(), any::<bool>(), 0..100u64)
                .prop_map(|(pick, ok, now)| Op::EndWriteback { pick, ok, now }),
            1 => any::<usize>().prop_map(|pick| Op::AbortWriteback { pick }),
            1 => (0..PAGES).prop_map(|first| Op::Truncate { first }),
            // Few distinct offsets between file and virtual pages, so that
            // mappings often continue each other and runs merge and split.
            3 => (0..2u64, 0..VIRTUAL_PAGES, 0..3u64).prop_map(|(root, page, offset)| Op::Map {
                root,
                page,
                index: (page + offset) % PAGES
            }),
            2 => (0..2u64, 0..VIRTUAL_PAGES).prop_map(|(root, page)| Op::Unmap { root, page }),
        ]
    }

    fn mapper(root: u64, page: u64) -> Mapper {
        Mapper {
            root: frame(100 + root),
            page: BASE + page * PAGE,
        }
    }

    /// Each cached page's state and when it was dirtied.
    fn states(cache: &PageCache) -> BTreeMap<u64, (PageState, u64)> {
        (0..PAGES)
            .filter_map(|index| {
                let page = cache.page(FILE, index)?;
                Some((index, (page.state, page.dirtied_at)))
            })
            .collect()
    }

    fn under_writeback(cache: &PageCache) -> Vec<u64> {
        states(cache)
            .into_iter()
            .filter(|(_, (state, _))| state.contains(PageState::WRITEBACK))
            .map(|(index, _)| index)
            .collect()
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

    fn check(cache: &PageCache, mapped: &BTreeMap<Mapper, u64>) {
        let states = states(cache);
        let with = |flag: PageState| -> Vec<u64> {
            states
                .iter()
                .filter(|(_, (state, _))| state.contains(flag))
                .map(|(&index, _)| index)
                .collect()
        };
        let dirty = with(PageState::DIRTY);
        assert_eq!(cache.dirty_pages(FILE, 0..u64::MAX), dirty);
        assert_eq!(
            cache.unwritten_in(FILE, 0..u64::MAX),
            states
                .values()
                .any(|(state, _)| state.intersects(PageState::DIRTY | PageState::WRITEBACK))
        );
        assert!(!cache.unwritten_in(FILE + 1, 0..u64::MAX));
        assert_eq!(
            cache.dirty_pages(FILE, 3..9),
            dirty
                .iter()
                .copied()
                .filter(|index| (3..9).contains(index))
                .collect::<Vec<_>>()
        );
        for index in 0..PAGES {
            let writing = states
                .get(&index)
                .is_some_and(|(state, _)| state.contains(PageState::WRITEBACK));
            assert_eq!(cache.writeback_in_flight(FILE, index..index + 1), writing);
            let dirty_or_writing = writing || dirty.contains(&index);
            assert_eq!(cache.unwritten_in(FILE, index..index + 1), dirty_or_writing);
        }
        for deadline in [0, 50, u64::MAX] {
            let expired: Vec<(u64, u64)> = states
                .iter()
                .filter(|(_, (state, dirtied_at))| {
                    state.contains(PageState::DIRTY)
                        && !state.contains(PageState::WRITEBACK)
                        && *dirtied_at <= deadline
                })
                .map(|(&index, _)| (FILE, index))
                .collect();
            assert_eq!(cache.expired_dirty(deadline), expired);
        }
        assert_eq!(
            cache.has_unwritten(),
            states
                .values()
                .any(|(state, _)| state.intersects(PageState::DIRTY | PageState::WRITEBACK))
        );

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
        fn random_sequences(ops in proptest::collection::vec(op(), 1..60)) {
            let mut cache = PageCache::new();
            let mut mapped: BTreeMap<Mapper, u64> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert { index } => {
                        if cache.page(FILE, index).is_none() {
                            cache.insert(FILE, index, frame(index), PageState::UP_TO_DATE);
                        }
                    }
                    Op::MarkDirty { index, now } => {
                        let cached = cache.page(FILE, index).is_some();
                        prop_assert_eq!(cache.mark_dirty(FILE, index, now), cached);
                    }
                    Op::BeginWriteback { start, len } => {
                        let ready: Vec<u64> = states(&cache)
                            .into_iter()
                            .filter(|(index, (state, _))| {
                                (start..start + len).contains(index)
                                    && state.contains(PageState::DIRTY)
                                    && !state.contains(PageState::WRITEBACK)
                            })
                            .map(|(index, _)| index)
                            .collect();
                        let taken: Vec<u64> = cache
                            .begin_writeback(FILE, start..start + len)
                            .iter()
                            .map(|page| page.index)
                            .collect();
                        prop_assert_eq!(taken, ready);
                    }
                    Op::EndWriteback { pick, ok, now } => {
                        let writing = under_writeback(&cache);
                        if !writing.is_empty() {
                            let result = if ok { Ok(()) } else { Err(Errno::EIO) };
                            cache.end_writeback(FILE, writing[pick % writing.len()], result, now);
                        }
                    }
                    Op::AbortWriteback { pick } => {
                        let writing = under_writeback(&cache);
                        if !writing.is_empty() {
                            cache.abort_writeback(FILE, writing[pick % writing.len()]);
                        }
                    }
                    Op::Truncate { first } => {
                        for index in under_writeback(&cache).into_iter().filter(|&i| i >= first) {
                            cache.end_writeback(FILE, index, Ok(()), 0);
                        }
                        let truncated = cache.truncate(FILE, first);
                        let unmapped: BTreeMap<Mapper, u64> =
                            mapped.iter().filter(|(_, index)| **index >= first).map(|(&m, &i)| (m, i)).collect();
                        prop_assert_eq!(expand(&truncated.mappings), unmapped);
                        mapped.retain(|_, index| *index < first);
                    }
                    Op::Map { root, page, index } => {
                        let mapper = mapper(root, page);
                        if cache.page(FILE, index).is_some() && !mapped.contains_key(&mapper) {
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
                check(&cache, &mapped);
            }
        }
    }
}

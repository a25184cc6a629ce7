//! The page cache's rules: which pages a write-back takes, what state they end
//! in, what fsync sees, and how pages become device requests.

use abi::Errno;
use mm::frame::PhysAddr;
use mm::page_cache::{
    EvictedPage, Mapper, PageCache, PageState, PageToWrite, Segment, WriteRun, plan_write_runs,
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
    cache.add_mapper(FILE, 2, first);
    assert_eq!(
        cache.mapped_pages(FILE, 0..3),
        vec![(1, vec![first, second]), (2, vec![first])]
    );
    cache.remove_mapper(FILE, 1, first);
    assert_eq!(cache.mapped_pages(FILE, 1..2), vec![(1, vec![second])]);
}

/// Linux writes back pages dirty for longer than dirty_expire_centisecs even
/// when nobody asks.
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
        page: 0x4000_3000,
    };
    cache.add_mapper(FILE, 3, mapper);
    let evicted = cache.truncate(FILE, 2);
    assert_eq!(
        evicted,
        vec![
            EvictedPage {
                index: 2,
                frame: frame(2),
                mappers: vec![]
            },
            EvictedPage {
                index: 3,
                frame: frame(3),
                mappers: vec![mapper]
            },
        ]
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

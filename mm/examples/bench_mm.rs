//! Figures for the msync path's hot loops, on the emulated machine:
//! `cargo run --release -p mm --example bench_mm`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mm::emulated::EmulatedMemory;
use mm::frame::{FrameAlloc, PAGE_SIZE, PhysAddr};
use mm::page_cache::{PageCache, PageState, plan_write_runs};
use mm::vma::{Backing, Protection, Sharing, Vma, VmaAttrs, VmaTree};
use mm::walk::{PagePermissions, PageTableWalker};

const GIB: u64 = 1 << 30;
const RANGE_START: u64 = 4 * GIB;
const RANGE_END: u64 = RANGE_START + GIB;
const ROUNDS: u32 = 10;

const USER_RW: PagePermissions = PagePermissions {
    accessible: true,
    writable: true,
    executable: false,
};

/// Shortest of `ROUNDS` runs of `run`.
fn best_of(mut run: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .expect("at least one round")
}

/// Dirty scan of `[RANGE_START, RANGE_END)` with `pages` mapped, one in
/// `dirty_every` of them dirty.
fn dirty_scan(label: &str, pages: &[u64], dirty_every: usize) {
    let (memory, mut frames) = EmulatedMemory::new(600);
    let root = frames.alloc_frame().expect("root table");
    let first_user_frame = memory.end().as_u64();
    // SAFETY: a fresh zeroed root of this emulated memory, edited only by
    // walkers.
    let mut walker = unsafe { PageTableWalker::new(&memory, root) };
    for (n, &page) in pages.iter().enumerate() {
        let frame = PhysAddr::new(first_user_frame + n as u64 * PAGE_SIZE);
        // SAFETY: a fake user frame outside the emulated memory, never
        // dereferenced.
        unsafe { walker.map_page(page, frame, USER_RW, &mut frames) }.expect("frames for tables");
    }
    for &page in pages.iter().step_by(dirty_every) {
        assert!(memory.user_store(root, page));
    }

    let mut found = 0;
    let mut stats = Default::default();
    let scan = best_of(|| {
        // SAFETY: the root mapped above, in the same emulated memory.
        let mut walker = unsafe { PageTableWalker::new(&memory, root) };
        found = black_box(walker.find_dirty(RANGE_START..RANGE_END)).len();
        stats = walker.stats();
    });
    let per_pte = scan.as_nanos() as f64 / stats.ptes_scanned as f64;
    println!(
        "{label}: dirty scan {:>9.1} µs total, {per_pte:.2} ns/PTE \
         ({} PTEs, {} tables, {found} dirty)",
        scan.as_secs_f64() * 1e6,
        stats.ptes_scanned,
        stats.tables_visited,
    );

    let mut tlb = memory.tlb();
    let started = Instant::now();
    let cleared = walker
        .clear_dirty(RANGE_START..RANGE_END)
        .invalidate_tlb(&mut tlb);
    let clear = started.elapsed();
    println!(
        "{label}: clear D    {:>9.1} µs total, {:.2} ns/PTE ({} cleared)",
        clear.as_secs_f64() * 1e6,
        clear.as_nanos() as f64 / stats.ptes_scanned as f64,
        cleared.len(),
    );
}

fn vma_lookup(count: u64) {
    let mut tree = VmaTree::new();
    for n in 0..count {
        // Gaps between the VMAs keep them from merging.
        let start = 0x1000_0000 + n * 4 * PAGE_SIZE;
        let attrs = VmaAttrs {
            protection: Protection::READ,
            sharing: Sharing::Private,
            backing: Backing::Anonymous,
            locked: false,
            lock_on_fault: false,
            may_write: true,
            dont_fork: false,
            wipe_on_fork: false,
            grows_down: false,
        };
        tree.insert(Vma {
            start,
            end: start + 2 * PAGE_SIZE,
            attrs,
        })
        .expect("disjoint VMAs");
    }
    let lookups = 1_000_000u64;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let addrs: Vec<u64> = (0..lookups)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            0x1000_0000 + seed % (count * 4 * PAGE_SIZE)
        })
        .collect();
    let mut hits = 0;
    let elapsed = best_of(|| {
        hits = addrs
            .iter()
            .filter(|&&addr| black_box(tree.find(addr)).is_some())
            .count();
    });
    println!(
        "VMA lookup, {count} VMAs: {:.1} ns/lookup ({lookups} lookups, {hits} hits)",
        elapsed.as_nanos() as f64 / lookups as f64,
    );
}

/// One msync(MS_SYNC) of a fully dirtied 64 MiB file's worth of page-cache
/// bookkeeping: the D bits' frames marked dirty, write-back begun, the
/// device requests planned (4 KiB blocks, consecutive on disk, 1 MiB
/// requests), write-back ended.
fn page_cache_writeback() {
    const PAGES: u64 = 16384;
    const FILE: u64 = 7;
    let mut cache = PageCache::new();
    let frames: Vec<PhysAddr> = (0..PAGES)
        .map(|index| PhysAddr::new(GIB + index * PAGE_SIZE))
        .collect();
    for (index, &frame) in (0..).zip(&frames) {
        cache.insert(FILE, index, frame, PageState::UP_TO_DATE);
    }
    let blocks: Vec<Option<u64>> = (0..PAGES).map(|index| Some(1000 + index)).collect();
    let mut best = [Duration::MAX; 4];
    let mut requests = 0;
    for _ in 0..ROUNDS {
        let mut phase = 0;
        let mut timed = |run: &mut dyn FnMut()| {
            let started = Instant::now();
            run();
            best[phase] = best[phase].min(started.elapsed());
            phase += 1;
        };
        let mut marked = 0;
        timed(&mut || marked = cache.mark_frames_dirty(frames.iter().copied(), 1));
        assert_eq!(marked, PAGES as usize);
        let mut pages = Vec::new();
        timed(&mut || pages = cache.begin_writeback(FILE, 0..PAGES));
        assert_eq!(pages.len(), PAGES as usize);
        timed(&mut || {
            requests = black_box(plan_write_runs(&pages, 4096, 256, |n| blocks[n])).len()
        });
        let indices = pages.iter().map(|page| page.index);
        timed(&mut || cache.end_writeback(FILE, indices.clone(), Ok(()), 2));
        assert!(!cache.has_unwritten());
    }
    let names = [
        "mark dirty by frame",
        "begin write-back",
        "plan requests",
        "end write-back",
    ];
    for (name, time) in names.iter().zip(best) {
        println!(
            "page cache, {PAGES} pages: {name:<19} {:>7.1} µs total, {:.1} ns/page",
            time.as_secs_f64() * 1e6,
            time.as_nanos() as f64 / PAGES as f64,
        );
    }
    println!("page cache, {PAGES} pages: {requests} device requests planned");
}

fn main() {
    let populated: Vec<u64> = (RANGE_START..RANGE_END)
        .step_by(PAGE_SIZE as usize)
        .collect();
    dirty_scan("1 GiB fully populated", &populated, 8);
    dirty_scan("1 GiB, one page      ", &[RANGE_START + GIB / 2], 1);
    vma_lookup(10_000);
    page_cache_writeback();
}

//! The page-table walker on emulated memory: dirty scans that skip empty
//! levels, the clear → invalidate → write-out protocol, unmapping that frees
//! emptied tables, and the failure modes of mapping.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use mm::emulated::{EmulatedFrames, EmulatedMemory};
use mm::frame::{FrameAlloc, PAGE_SIZE, PhysAddr};
use mm::walk::{MapError, PagePermissions, PageTableWalker};

const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;
/// A range spanning more than 1 GiB, crossing a 512 GiB (PML4) boundary.
const RANGE_START: u64 = (1 << 39) - GIB / 2;
const RANGE_END: u64 = RANGE_START + GIB + GIB / 2;

const USER_RW: PagePermissions = PagePermissions {
    accessible: true,
    writable: true,
    executable: false,
};

struct Machine {
    memory: EmulatedMemory,
    frames: EmulatedFrames,
    root: PhysAddr,
}

impl Machine {
    fn new(frame_count: usize) -> Self {
        let (memory, mut frames) = EmulatedMemory::new(frame_count);
        let root = frames.alloc_frame().unwrap();
        Machine {
            memory,
            frames,
            root,
        }
    }

    fn walker(&self) -> PageTableWalker<'_, EmulatedMemory> {
        walker_over(&self.memory, self.root)
    }

    /// Maps each page to its own fake frame outside emulated memory.
    fn map(&mut self, pages: &BTreeSet<u64>) {
        let first_user_frame = self.memory.end().as_u64();
        let mut walker = walker_over(&self.memory, self.root);
        for (n, &page) in pages.iter().enumerate() {
            let frame = PhysAddr::new(first_user_frame + n as u64 * PAGE_SIZE);
            // SAFETY: a fake user frame outside the emulated memory, never
            // dereferenced.
            unsafe { walker.map_page(page, frame, USER_RW, &mut self.frames) }.unwrap();
        }
    }
}

/// A walker over the tables rooted at `root` in `memory`.
fn walker_over(memory: &EmulatedMemory, root: PhysAddr) -> PageTableWalker<'_, EmulatedMemory> {
    // SAFETY: every root these tests pass is a frame of `memory` they
    // allocated as a PML4 (zeroed) and edit only through walkers; the emulated
    // frames live as long as `memory`.
    unsafe { PageTableWalker::new(memory, root) }
}

/// A deterministic xorshift generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn page_in(&mut self, start: u64, end: u64) -> u64 {
        start + self.next() % ((end - start) / PAGE_SIZE) * PAGE_SIZE
    }
}

/// Sparse pages across the range, and a random subset of them to dirty.
fn sparse_pages(rng: &mut Rng) -> (BTreeSet<u64>, BTreeSet<u64>) {
    let mapped: BTreeSet<u64> = (0..300)
        .map(|_| rng.page_in(RANGE_START, RANGE_END))
        .collect();
    let dirty = mapped
        .iter()
        .copied()
        .filter(|_| rng.next().is_multiple_of(3))
        .collect();
    (mapped, dirty)
}

/// Tables a walk of the range must read: the PML4 plus every distinct
/// PDPT, PD and PT on the way to a mapped page.
fn tables_on_the_way(pages: &BTreeSet<u64>) -> (u64, u64) {
    let distinct = |shift: u32| {
        pages
            .iter()
            .map(|p| p >> shift)
            .collect::<BTreeSet<_>>()
            .len() as u64
    };
    let page_tables = distinct(21);
    (1 + distinct(39) + distinct(30) + page_tables, page_tables)
}

#[test]
fn dirty_scan_finds_exactly_the_stored_to_pages_and_skips_empty_levels() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mapped, dirty) = sparse_pages(&mut rng);
    let mut machine = Machine::new(2048);
    machine.map(&mapped);
    for &page in &dirty {
        assert!(machine.memory.user_store(machine.root, page + 8));
    }
    let mut walker = machine.walker();
    let found = walker.find_dirty(RANGE_START..RANGE_END);
    assert_eq!(found, dirty.iter().copied().collect::<Vec<_>>());
    let (tables, page_tables) = tables_on_the_way(&mapped);
    let stats = walker.stats();
    assert_eq!(stats.tables_visited, tables);
    assert_eq!(stats.ptes_scanned, page_tables * 512);
    assert!(
        stats.tables_visited < 600,
        "a dense walk would read 768 page tables alone"
    );
}

#[test]
fn clearing_dirty_bits_hands_out_pages_only_after_invalidating_and_leaves_none_dirty() {
    let mut rng = Rng(42);
    let (mapped, dirty) = sparse_pages(&mut rng);
    let mut machine = Machine::new(2048);
    machine.map(&mapped);
    for &page in &dirty {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let mut walker = machine.walker();
    let pending = walker.clear_dirty(RANGE_START..RANGE_END);
    assert_eq!(pending.len(), dirty.len());
    let mut tlb = machine.memory.tlb();
    let written: Vec<u64> = pending
        .invalidate_tlb(&mut tlb)
        .iter()
        .map(|d| d.page)
        .collect();
    assert_eq!(written, dirty.iter().copied().collect::<Vec<_>>());
    assert_eq!((tlb.full_flushes, tlb.invalidated_pages.len()), (1, 0));
    assert_eq!(walker.find_dirty(RANGE_START..RANGE_END), Vec::<u64>::new());
    assert!(walker.clear_dirty(RANGE_START..RANGE_END).is_empty());
}

#[test]
fn a_store_after_clearing_makes_the_page_dirty_again() {
    let mut machine = Machine::new(16);
    let page = 0x40_0000;
    machine.map(&BTreeSet::from([page, page + PAGE_SIZE]));
    assert!(machine.memory.user_store(machine.root, page));
    let mut walker = machine.walker();
    let mut tlb = machine.memory.tlb();
    let cleared = walker
        .clear_dirty(page..page + 2 * PAGE_SIZE)
        .invalidate_tlb(&mut tlb);
    assert_eq!(cleared.iter().map(|d| d.page).collect::<Vec<_>>(), [page]);
    assert_eq!(tlb.invalidated_pages, [page]);
    assert!(machine.memory.user_store(machine.root, page));
    assert_eq!(walker.find_dirty(page..page + 2 * PAGE_SIZE), [page]);
}

#[test]
fn unmapping_reports_every_leaf_and_frees_the_tables_it_emptied() {
    let mut rng = Rng(7);
    let (mapped, dirty) = sparse_pages(&mut rng);
    let mut machine = Machine::new(2048);
    let free_before = machine.frames.free_count();
    machine.map(&mapped);
    for &page in &dirty {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let (tables, _) = tables_on_the_way(&mapped);
    assert_eq!(
        machine.frames.free_count(),
        free_before - (tables as usize - 1)
    );
    let pending = walker_over(&machine.memory, machine.root).unmap(RANGE_START..RANGE_END);
    assert_eq!(pending.emptied_table_count(), tables as usize - 1);
    let mut tlb = machine.memory.tlb();
    let mut leaves = Vec::new();
    pending.finish(&mut tlb, &mut machine.frames, |leaf| leaves.push(leaf));
    assert_eq!(tlb.full_flushes, 1);
    assert_eq!(machine.frames.free_count(), free_before);
    assert_eq!(
        leaves.iter().map(|l| l.page).collect::<BTreeSet<_>>(),
        mapped
    );
    let reported_dirty: BTreeSet<u64> = leaves.iter().filter(|l| l.dirty).map(|l| l.page).collect();
    assert_eq!(reported_dirty, dirty);
    assert!(leaves.iter().all(|l| l.accessed == l.dirty));
    assert_eq!(
        machine
            .memory
            .entry(machine.root, 0)
            .load(Ordering::Relaxed),
        0
    );
    assert_eq!(
        machine
            .memory
            .entry(machine.root, 1)
            .load(Ordering::Relaxed),
        0
    );
}

#[test]
fn unmapping_part_of_a_table_keeps_the_tables_still_in_use() {
    let mut machine = Machine::new(16);
    let page = 0x40_0000;
    machine.map(&BTreeSet::from([page, page + PAGE_SIZE]));
    let free_after_map = machine.frames.free_count();
    let pending = machine.walker().unmap(page..page + PAGE_SIZE);
    assert_eq!(
        (pending.leaf_count(), pending.emptied_table_count()),
        (1, 0)
    );
    let mut tlb = machine.memory.tlb();
    pending.finish(&mut tlb, &mut machine.frames, |_| {});
    assert_eq!(tlb.invalidated_pages, [page]);
    assert_eq!(machine.frames.free_count(), free_after_map);
    let mut walker = machine.walker();
    assert_eq!(walker.lookup(page), None);
    assert!(walker.lookup(page + PAGE_SIZE).is_some());
}

#[test]
fn mapping_without_frames_for_tables_is_out_of_frames() {
    let mut machine = Machine::new(3);
    let mut walker = walker_over(&machine.memory, machine.root);
    let frame = machine.memory.end();
    // SAFETY: a fake user frame (the first past the emulated memory).
    let result = unsafe { walker.map_page(0x40_0000, frame, USER_RW, &mut machine.frames) };
    assert_eq!(result, Err(MapError::OutOfFrames));
    assert_eq!(machine.frames.free_count(), 0);
    assert_eq!(walker.lookup(0x40_0000), None);
}

#[test]
fn mapping_a_mapped_page_is_refused() {
    let mut machine = Machine::new(8);
    let mut walker = walker_over(&machine.memory, machine.root);
    let frame = machine.memory.end();
    // SAFETY: a fake user frame (the first past the emulated memory).
    unsafe { walker.map_page(0x40_0000, frame, USER_RW, &mut machine.frames) }.unwrap();
    assert_eq!(
        // SAFETY: as above.
        unsafe { walker.map_page(0x40_0000, frame, USER_RW, &mut machine.frames) },
        Err(MapError::AlreadyMapped)
    );
    let leaf = walker.lookup(0x40_0000).unwrap();
    assert_eq!(
        (leaf.frame, leaf.permissions, leaf.dirty),
        (frame, USER_RW, false)
    );
}

#[test]
#[should_panic(expected = "huge Pd leaf at 0x600000")]
fn a_huge_leaf_in_user_space_is_rejected() {
    let mut machine = Machine::new(8);
    machine.map(&BTreeSet::from([0x40_0000]));
    let pdpt = machine
        .memory
        .entry(machine.root, 0)
        .load(Ordering::Relaxed)
        & !0xfff;
    let pd = machine
        .memory
        .entry(PhysAddr::new(pdpt), 0)
        .load(Ordering::Relaxed)
        & !0xfff;
    let huge_leaf = machine.memory.end().as_u64() | 0x87; // present, writable, user, 2 MiB
    machine
        .memory
        .entry(PhysAddr::new(pd), 3)
        .store(huge_leaf, Ordering::Relaxed);
    machine.walker().find_dirty(0..GIB);
}

#[test]
fn a_range_ending_inside_a_page_table_scans_only_its_entries() {
    let mut machine = Machine::new(8);
    machine.map(&BTreeSet::from([MIB2 + PAGE_SIZE]));
    let mut walker = machine.walker();
    assert_eq!(
        walker.find_dirty(MIB2..MIB2 + 16 * PAGE_SIZE),
        Vec::<u64>::new()
    );
    assert_eq!(walker.stats().ptes_scanned, 16);
    assert_eq!(walker.stats().tables_visited, 4);
}

/// The cost of finding nothing: after a page table was scanned whole, its
/// PDE's A bit stays clear until something under it is touched, so the next
/// dirty scan skips those 512 entries. Only the pages that were accessed, and
/// one address per quieted region (for the paging-structure caches), are
/// invalidated: no full TLB flush for a few pages.
#[test]
fn dirty_scans_skip_page_tables_untouched_since_their_last_whole_scan() {
    let base = 0x4000_0000;
    let region = base..base + 2 * MIB2;
    let pages: BTreeSet<u64> = region.clone().step_by(PAGE_SIZE as usize).collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let (first_page, second_page) = (base, base + MIB2 + 5 * PAGE_SIZE);
    for page in [first_page, second_page] {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let mut walker = machine.walker();
    let mut tlb = machine.memory.tlb();
    let found = walker.clear_dirty(region.clone()).invalidate_tlb(&mut tlb);
    assert_eq!(found.len(), 2);
    assert_eq!(walker.stats().ptes_scanned, 1024);
    assert_eq!(tlb.full_flushes, 0);
    let mut invalidated = tlb.invalidated_pages.clone();
    invalidated.sort_unstable();
    assert_eq!(invalidated, vec![base, base, base + MIB2, second_page]);

    let mut walker = machine.walker();
    assert!(
        walker
            .clear_dirty(region.clone())
            .invalidate_tlb(&mut tlb)
            .is_empty()
    );
    assert_eq!(walker.stats().ptes_scanned, 0, "both page tables skipped");

    let third_page = base + MIB2 + 9 * PAGE_SIZE;
    assert!(machine.memory.user_store(machine.root, third_page));
    let mut walker = machine.walker();
    let found = walker.clear_dirty(region).invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![third_page]
    );
    assert_eq!(walker.stats().ptes_scanned, 512, "only the touched table");
}

/// A scan of a small part of a page table leaves its A bits alone: the rest
/// of the table may hold D bits nobody collected yet, and looking would cost
/// more than the part.
#[test]
fn a_partial_scan_leaves_the_page_table_to_be_scanned_again() {
    let base = 0x4000_0000;
    let pages: BTreeSet<u64> = (base..base + MIB2).step_by(PAGE_SIZE as usize).collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let far_page = base + 300 * PAGE_SIZE;
    assert!(machine.memory.user_store(machine.root, far_page));
    let mut tlb = machine.memory.tlb();
    let mut walker = machine.walker();
    let part = walker.clear_dirty(base..base + 100 * PAGE_SIZE);
    assert!(part.invalidate_tlb(&mut tlb).is_empty());
    assert!(tlb.invalidated_pages.is_empty() && tlb.full_flushes == 0);
    let mut walker = machine.walker();
    let found = walker
        .clear_dirty(base..base + MIB2)
        .invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![far_page]
    );
}

/// A mapping that is not 2 MiB aligned covers most of one page table and a
/// little of another. The table it covers most of goes quiet when nothing
/// else in it was touched; the other is only scanned in its part, one entry.
#[test]
fn a_scan_of_most_of_a_page_table_quiets_it_when_the_rest_is_untouched() {
    let base = 0x4000_0000;
    let range = base + PAGE_SIZE..base + MIB2 + PAGE_SIZE;
    let pages: BTreeSet<u64> = range.clone().step_by(PAGE_SIZE as usize).collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let stored = [base + PAGE_SIZE, base + 100 * PAGE_SIZE, base + MIB2];
    for page in stored {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let mut tlb = machine.memory.tlb();
    let mut walker = machine.walker();
    let found = walker.clear_dirty(range.clone()).invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        stored
    );
    assert_eq!(
        walker.stats().ptes_scanned,
        511 + 1 + 1,
        "the rest looked at once"
    );
    let mut invalidated = tlb.invalidated_pages.clone();
    invalidated.sort_unstable();
    assert_eq!(invalidated, vec![base, stored[0], stored[1], stored[2]]);

    let mut walker = machine.walker();
    assert!(
        walker
            .clear_dirty(range.clone())
            .invalidate_tlb(&mut tlb)
            .is_empty()
    );
    assert_eq!(walker.stats().ptes_scanned, 1, "only the small end");

    let later = base + 7 * PAGE_SIZE;
    assert!(machine.memory.user_store(machine.root, later));
    let found = machine.walker().clear_dirty(range).invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![later]
    );
}

/// A page table whose rest holds a page touched since the last scan stays
/// loud after a scan of most of it, and the D bit of that page is left for
/// the scan that covers it.
#[test]
fn a_partial_scan_never_quiets_a_table_whose_rest_was_touched() {
    let base = 0x4000_0000;
    let pages: BTreeSet<u64> = (base..base + MIB2).step_by(PAGE_SIZE as usize).collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let (outside, inside) = (base, base + 5 * PAGE_SIZE);
    for page in [outside, inside] {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let most = base + PAGE_SIZE..base + MIB2;
    let mut tlb = machine.memory.tlb();
    for expected in [vec![inside], vec![]] {
        let mut walker = machine.walker();
        let found = walker.clear_dirty(most.clone()).invalidate_tlb(&mut tlb);
        assert_eq!(
            found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
            expected
        );
        assert_eq!(walker.stats().ptes_scanned, 512, "scanned again");
    }
    let found = machine
        .walker()
        .clear_dirty(base..base + MIB2)
        .invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![outside]
    );
}

/// A store the kernel makes through the direct map (a read() into a mapped
/// buffer) is recorded like the CPU's: a later scan, even of a quieted page
/// table, finds the page dirty.
#[test]
fn a_recorded_kernel_store_is_found_by_the_next_scan() {
    let base = 0x4000_0000;
    let pages: BTreeSet<u64> = (base..base + MIB2).step_by(PAGE_SIZE as usize).collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let mut tlb = machine.memory.tlb();
    let mut walker = machine.walker();
    assert!(
        walker
            .clear_dirty(base..base + MIB2)
            .invalidate_tlb(&mut tlb)
            .is_empty()
    );
    walker.record_store(base + 7 * PAGE_SIZE);
    walker.record_store(base + 4 * MIB2);
    let found = walker
        .clear_dirty(base..base + MIB2)
        .invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![base + 7 * PAGE_SIZE]
    );
}

/// A store recorded at an address with no page table under it changes no
/// entry (as the CPU sets A only in the entries it uses): the tables stay
/// empty, and pruning frees them.
#[test]
fn a_store_recorded_where_nothing_is_mapped_changes_no_entry() {
    let base = 0x4000_0000;
    let mut machine = Machine::new(8);
    machine.map(&BTreeSet::from([base]));
    let free_before = machine.frames.free_count();
    let mut walker = machine.walker();
    walker.record_store(base + GIB);
    walker.record_store(base + MIB2);
    let pending = walker.unmap(base..base + PAGE_SIZE);
    assert_eq!(pending.emptied_table_count(), 3, "PT, PD and PDPT freed");
    pending.finish(&mut machine.memory.tlb(), &mut machine.frames, |_| {});
    assert_eq!(machine.frames.free_count(), free_before + 3);
}

/// A dirty scan passes over quiet PDEs in groups; a loud one is found at any
/// place in a group and in the tail after the last whole group.
#[test]
fn dirty_scan_finds_loud_page_tables_anywhere_in_a_directory() {
    let base = GIB;
    let pages: BTreeSet<u64> = (0..512).map(|n| base + n * MIB2).collect();
    let mut machine = Machine::new(600);
    machine.map(&pages);
    let mut tlb = machine.memory.tlb();
    // Quiet every table first (each is scanned whole).
    drop(
        machine
            .walker()
            .clear_dirty(base..base + GIB)
            .invalidate_tlb(&mut tlb),
    );
    let loud = [0, 7, 8, 9, 15, 16, 500, 507, 511].map(|n| base + n * MIB2);
    for page in loud {
        assert!(machine.memory.user_store(machine.root, page));
    }
    // A range that is not a multiple of eight directory entries long.
    let range = base..base + 509 * MIB2;
    let found = machine
        .walker()
        .clear_dirty(range.clone())
        .invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        loud[..8]
    );
    let found = machine
        .walker()
        .clear_dirty(base..base + GIB)
        .invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        [loud[8]]
    );
    let mut walker = machine.walker();
    assert!(
        walker
            .clear_dirty(base..base + GIB)
            .invalidate_tlb(&mut tlb)
            .is_empty()
    );
    assert_eq!(walker.stats().ptes_scanned, 0, "every table quiet again");

    // Only the loud tables are scanned: one in a group, one in the tail.
    for page in [loud[3], loud[7]] {
        assert!(machine.memory.user_store(machine.root, page));
    }
    let mut walker = machine.walker();
    let found = walker.clear_dirty(range).invalidate_tlb(&mut tlb);
    assert_eq!(found.len(), 2);
    assert_eq!(walker.stats().ptes_scanned, 2 * 512);
}

// mremap's move: entries keep frame, permissions and D; the source tables it emptied are
// freed after the invalidation; and a dirty page moved into a page table that an earlier
// scan left quiet is still found, because the move marks the way to it accessed.
#[test]
fn moving_leaves_keeps_their_bits_and_a_quiet_table_is_scanned_again() {
    let base = 0x4000_0000;
    let target_table = base..base + MIB2;
    let hole = base + 7 * PAGE_SIZE;
    let pages: BTreeSet<u64> = target_table
        .clone()
        .step_by(PAGE_SIZE as usize)
        .filter(|&page| page != hole)
        .collect();
    let mut machine = Machine::new(64);
    machine.map(&pages);
    let mut tlb = machine.memory.tlb();
    for _ in 0..2 {
        let quiet = machine
            .walker()
            .clear_dirty(target_table.clone())
            .invalidate_tlb(&mut tlb);
        assert!(quiet.is_empty());
    }
    let source = 0x80_0000_0000;
    let frame = PhysAddr::new(machine.memory.end().as_u64() + 1000 * PAGE_SIZE);
    // SAFETY: a fake user frame outside the emulated memory.
    unsafe {
        walker_over(&machine.memory, machine.root).map_page(
            source,
            frame,
            USER_RW,
            &mut machine.frames,
        )
    }
    .unwrap();
    assert!(machine.memory.user_store(machine.root, source));
    let free_before = machine.frames.free_count();

    let mut walker = walker_over(&machine.memory, machine.root);
    let (pending, moved) = walker
        .move_range(source..source + PAGE_SIZE, hole, &mut machine.frames)
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (moved[0].from, moved[0].to, moved[0].frame),
        (source, hole, frame)
    );
    assert_eq!(
        pending.emptied_table_count(),
        3,
        "PT, PD and PDPT of the source"
    );
    pending.finish(&mut tlb, &mut machine.frames, |_| {
        panic!("a move releases no leaf")
    });
    assert!(tlb.invalidated_pages.contains(&source));
    assert_eq!(machine.frames.free_count(), free_before + 3);
    let mut walker = machine.walker();
    assert_eq!(walker.lookup(source), None);
    let leaf = walker.lookup(hole).unwrap();
    assert_eq!(
        (leaf.frame, leaf.dirty, leaf.permissions),
        (frame, true, USER_RW)
    );
    let found = walker.clear_dirty(target_table).invalidate_tlb(&mut tlb);
    assert_eq!(
        found.iter().map(|dirty| dirty.page).collect::<Vec<_>>(),
        vec![hole]
    );
}

// A move that needs page tables the allocator cannot give moves nothing.
#[test]
fn moving_without_frames_for_tables_moves_nothing() {
    let mut machine = Machine::new(8);
    let source = 0x40_0000;
    machine.map(&BTreeSet::from([source]));
    while machine.frames.alloc_frame().is_some() {}
    let mut walker = walker_over(&machine.memory, machine.root);
    let far = 0x80_0000_0000;
    assert_eq!(
        walker
            .move_range(source..source + PAGE_SIZE, far, &mut machine.frames)
            .err(),
        Some(MapError::OutOfFrames)
    );
    assert!(walker.lookup(source).is_some());
}

// The emulated TLB behaves as the hardware's: between clearing D and invalidating, a store
// through the cached translation (D known set) touches no entry — which is why the page is
// already in the list to write — and after the invalidation the next store walks and sets D.
#[test]
fn a_store_through_a_stale_translation_sets_no_dirty_bit_until_invalidated() {
    let mut machine = Machine::new(16);
    let page = 0x40_0000;
    machine.map(&BTreeSet::from([page]));
    assert!(machine.memory.user_store(machine.root, page));
    let mut tlb = machine.memory.tlb();
    let mut walker = machine.walker();
    let pending = walker.clear_dirty(page..page + PAGE_SIZE);
    assert!(machine.memory.user_store(machine.root, page));
    assert_eq!(walker.find_dirty(page..page + PAGE_SIZE), Vec::<u64>::new());
    let written: Vec<u64> = pending
        .invalidate_tlb(&mut tlb)
        .iter()
        .map(|d| d.page)
        .collect();
    assert_eq!(written, [page], "the store is in the page written out");
    assert!(!machine.memory.tlb_holds(page));
    assert!(machine.memory.user_store(machine.root, page));
    assert_eq!(walker.find_dirty(page..page + PAGE_SIZE), [page]);
}

// Taking W away changes nothing for a translation the TLB holds until it is invalidated: the
// emulated MMU keeps storing, as a CPU would, so a missed invalidation is a store that lands.
#[test]
fn write_protection_takes_effect_once_the_tlb_is_invalidated() {
    let mut machine = Machine::new(16);
    let page = 0x40_0000;
    machine.map(&BTreeSet::from([page]));
    assert!(machine.memory.user_store(machine.root, page));
    let mut tlb = machine.memory.tlb();
    let mut walker = machine.walker();
    let (_, flush) = walker.write_protect(page..page + PAGE_SIZE);
    assert!(
        machine.memory.user_store(machine.root, page),
        "the stale writable translation is still used"
    );
    flush.invalidate(&mut tlb);
    assert!(!machine.memory.user_store(machine.root, page));
    assert_eq!(tlb.invalidated_pages, [page]);
}

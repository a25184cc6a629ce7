//! A walker over x86_64 4-level page tables, generic over how physical frames
//! are reached ([`PhysAccess`]), so the same code runs on the kernel's direct
//! map and on the host tests' emulated memory.
//!
//! The walker covers user space only (the lower canonical half). It visits
//! only mapped leaves and never descends through an empty PML4, PDPT or PD
//! entry, so the cost of a walk follows what is mapped, not the range size.
//!
//! User memory is mapped with 4 KiB pages only. A 2 MiB or 1 GiB leaf in the
//! user half means somebody else wrote these tables; the walker rejects it
//! with a panic rather than misreading it as a table.
//!
//! Entries are read and changed with atomic operations because the MMU sets
//! the accessed and dirty bits concurrently. Every change that a stale TLB
//! entry could contradict is recorded in a [`TlbFlush`], and the results a
//! caller acts on (pages to write back, frames to release) are only handed
//! out once that flush has been carried out.

use alloc::vec::Vec;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::structures::paging::PageTableFlags;

use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess, PhysAddr};

/// End of the lower canonical half: the walker's ranges stay below it.
pub const LOWER_HALF_END: u64 = 1 << 47;

const ENTRIES_PER_TABLE: usize = 512;
const PRESENT: u64 = PageTableFlags::PRESENT.bits();
const WRITABLE: u64 = PageTableFlags::WRITABLE.bits();
const USER: u64 = PageTableFlags::USER_ACCESSIBLE.bits();
const ACCESSED: u64 = PageTableFlags::ACCESSED.bits();
const DIRTY: u64 = PageTableFlags::DIRTY.bits();
const HUGE_PAGE: u64 = PageTableFlags::HUGE_PAGE.bits();
const NO_EXECUTE: u64 = PageTableFlags::NO_EXECUTE.bits();
/// Software bit (ignored by the MMU): a leaf that maps a frame but was made
/// inaccessible by `PROT_NONE`, so PRESENT is clear. Such a leaf still owns
/// its frame and may still carry a D bit.
const PROT_NONE: u64 = PageTableFlags::BIT_9.bits();
const FRAME_MASK: u64 = 0x000f_ffff_ffff_f000;
/// Flags of an entry that points to a lower table; the leaf decides access.
const TABLE_FLAGS: u64 = PRESENT | WRITABLE | USER;

/// Beyond this many pages one full TLB flush is cheaper than `invlpg` each.
const MAX_SINGLE_PAGE_INVALIDATIONS: usize = 32;

type Table = [AtomicU64; ENTRIES_PER_TABLE];

/// The page table in `frame`.
#[allow(unsafe_code)]
fn table_at<P: PhysAccess>(phys: &P, frame: PhysAddr) -> &Table {
    let ptr = phys.phys_to_ptr(frame);
    debug_assert!(frame.is_aligned(PAGE_SIZE) && ptr.cast::<AtomicU64>().is_aligned());
    // SAFETY: `frame` is a page-table frame of the address space being walked
    // (`PageTableWalker::new` promises the root, and the walker follows only
    // entries that walkers wrote).
    // `PhysAccess` promises the pointer is valid for the whole 4 KiB frame, and
    // the frame is 8-byte aligned, so it holds exactly 512 `AtomicU64`. The
    // table stays allocated while the borrow of `phys` lives: the walker frees
    // no table itself, it hands emptied tables to `PendingUnmap::finish`, which
    // runs after the walk. Every access — ours, other CPUs' and the MMU's — is
    // atomic, so sharing the frame through `&` is sound.
    unsafe { &*ptr.cast::<Table>() }
}

/// One level of the 4-level hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Pml4,
    Pdpt,
    Pd,
    Pt,
}

impl Level {
    const TABLES: [Level; 3] = [Level::Pml4, Level::Pdpt, Level::Pd];

    fn shift(self) -> u32 {
        match self {
            Level::Pml4 => 39,
            Level::Pdpt => 30,
            Level::Pd => 21,
            Level::Pt => 12,
        }
    }

    /// Bytes of address space one entry at this level covers.
    fn entry_span(self) -> u64 {
        1 << self.shift()
    }

    fn index(self, addr: u64) -> usize {
        ((addr >> self.shift()) as usize) % ENTRIES_PER_TABLE
    }

    fn below(self) -> Level {
        match self {
            Level::Pml4 => Level::Pdpt,
            Level::Pdpt => Level::Pd,
            Level::Pd | Level::Pt => Level::Pt,
        }
    }
}

/// Access a user page grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagePermissions {
    /// False for `PROT_NONE`: the frame stays mapped but every access faults.
    pub accessible: bool,
    pub writable: bool,
    pub executable: bool,
}

impl PagePermissions {
    /// The bits of a leaf entry other than frame, A and D.
    fn leaf_bits(self) -> u64 {
        let mut bits = USER;
        bits |= if self.accessible { PRESENT } else { PROT_NONE };
        if self.writable {
            bits |= WRITABLE;
        }
        if !self.executable {
            bits |= NO_EXECUTE;
        }
        bits
    }
}

/// A mapped 4 KiB user page as its leaf entry describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub frame: PhysAddr,
    pub permissions: PagePermissions,
    pub accessed: bool,
    pub dirty: bool,
}

impl Leaf {
    fn decode(entry: u64) -> Leaf {
        Leaf {
            frame: frame_of(entry),
            permissions: PagePermissions {
                accessible: entry & PRESENT != 0,
                writable: entry & WRITABLE != 0,
                executable: entry & NO_EXECUTE == 0,
            },
            accessed: entry & ACCESSED != 0,
            dirty: entry & DIRTY != 0,
        }
    }
}

/// A page whose D bit was set, and the frame holding its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirtyPage {
    pub page: u64,
    pub frame: PhysAddr,
}

/// A leaf removed by [`PageTableWalker::unmap`], with the A and D bits it had
/// at the moment it was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmappedLeaf {
    pub page: u64,
    pub frame: PhysAddr,
    pub dirty: bool,
    pub accessed: bool,
}

/// A leaf [`PageTableWalker::move_range`] moved from page `from` to page
/// `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MovedLeaf {
    pub from: u64,
    pub to: u64,
    pub frame: PhysAddr,
}

/// Why a page could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A page table was needed and the frame allocator had none.
    OutOfFrames,
    /// The page is mapped already.
    AlreadyMapped,
}

/// Work counters, for tests and the kernel's trace line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// Page tables (of any level) read.
    pub tables_visited: u64,
    /// Level-1 entries examined.
    pub ptes_scanned: u64,
}

/// Invalidates TLB entries of the current address space (`invlpg` and a CR3
/// reload in the kernel; a recorder in tests).
pub trait TlbInvalidate {
    fn invalidate_page(&mut self, page: u64);
    fn invalidate_all(&mut self);
}

/// Pages whose TLB entries are stale after a page-table change.
#[must_use = "the TLB may still hold the old entries; call `invalidate`"]
#[derive(Debug, Default)]
pub struct TlbFlush {
    pages: Vec<u64>,
    whole_tlb: bool,
}

impl TlbFlush {
    fn add(&mut self, page: u64) {
        if self.whole_tlb {
            return;
        }
        if self.pages.len() == MAX_SINGLE_PAGE_INVALIDATIONS {
            self.pages = Vec::new();
            self.whole_tlb = true;
        } else {
            self.pages.push(page);
        }
    }

    /// Adds the pages of `other` to this flush.
    pub fn merge(&mut self, other: TlbFlush) {
        if other.whole_tlb {
            self.pages = Vec::new();
            self.whole_tlb = true;
        }
        for page in other.pages {
            self.add(page);
        }
    }

    /// Nothing needs invalidating.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty() && !self.whole_tlb
    }

    /// Carries out the invalidation.
    pub fn invalidate(self, tlb: &mut impl TlbInvalidate) {
        if self.whole_tlb {
            tlb.invalidate_all();
        } else {
            for page in self.pages {
                tlb.invalidate_page(page);
            }
        }
    }
}

/// Pages whose D bit was just cleared. Their list is handed out only by
/// [`PendingWriteback::invalidate_tlb`], so that no page can be written out
/// while a TLB entry with a stale D bit could still absorb a store.
#[must_use = "the cleared D bits are lost unless the pages are written back"]
#[derive(Debug)]
pub struct PendingWriteback {
    dirty: Vec<DirtyPage>,
    flush: TlbFlush,
}

impl PendingWriteback {
    /// Number of pages that were dirty.
    pub fn len(&self) -> usize {
        self.dirty.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty()
    }

    /// Invalidates the TLB entries, then returns the pages to write back.
    pub fn invalidate_tlb(self, tlb: &mut impl TlbInvalidate) -> Vec<DirtyPage> {
        self.flush.invalidate(tlb);
        self.dirty
    }
}

/// Leaves and page tables just removed from the tables. They are released by
/// [`PendingUnmap::finish`] only after the TLB (and paging-structure caches)
/// can no longer reach them.
#[must_use = "the TLB still maps the removed pages and their frames are not released"]
#[derive(Debug)]
pub struct PendingUnmap {
    leaves: Vec<UnmappedLeaf>,
    emptied_tables: Vec<PhysAddr>,
    flush: TlbFlush,
}

impl PendingUnmap {
    /// Number of leaves removed.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// Number of page tables that became empty and will be freed.
    pub fn emptied_table_count(&self) -> usize {
        self.emptied_tables.len()
    }

    /// Invalidates the TLB, frees the emptied page tables, then reports each
    /// removed leaf so the caller can move its D bit into the page cache and
    /// drop its reference to the frame.
    pub fn finish(
        self,
        tlb: &mut impl TlbInvalidate,
        frames: &mut impl FrameAlloc,
        mut on_leaf: impl FnMut(UnmappedLeaf),
    ) {
        self.flush.invalidate(tlb);
        for table in self.emptied_tables {
            frames.free_frame(table);
        }
        for leaf in self.leaves {
            on_leaf(leaf);
        }
    }
}

/// Walks the user half of one address space's page tables.
pub struct PageTableWalker<'p, P: PhysAccess> {
    phys: &'p P,
    root: PhysAddr,
    stats: WalkStats,
}

impl<'p, P: PhysAccess> PageTableWalker<'p, P> {
    /// A walker over the tables rooted at the PML4 in `root`.
    ///
    /// # Safety
    /// `root` is the top-level table of an address space's page tables,
    /// reachable through `phys`: every present non-leaf entry below it points
    /// to a page-table frame (as walkers build them), and none of those
    /// tables is freed while the walker lives. The caller holds whatever lock
    /// serialises page-table edits of this address space.
    #[allow(unsafe_code)]
    pub unsafe fn new(phys: &'p P, root: PhysAddr) -> Self {
        PageTableWalker {
            phys,
            root,
            stats: WalkStats::default(),
        }
    }

    /// Work done by this walker so far.
    pub fn stats(&self) -> WalkStats {
        self.stats
    }

    /// The leaf mapping `page`, if there is one.
    pub fn lookup(&mut self, page: u64) -> Option<Leaf> {
        self.leaf_slot(page)
            .map(|slot| Leaf::decode(slot.load(Ordering::Acquire)))
    }

    /// Maps `page` to `frame`, allocating (and zeroing) missing page tables.
    ///
    /// # Safety
    /// User code gets `frame`: it must be a frame the caller may hand to this
    /// address space — the mapping's own, a page-cache page, a shared
    /// object's page — holding nothing the kernel keeps private, and it must
    /// stay allocated while it is mapped.
    #[allow(unsafe_code)]
    pub unsafe fn map_page(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
        frames: &mut impl FrameAlloc,
    ) -> Result<(), MapError> {
        assert!(
            frame.is_aligned(PAGE_SIZE),
            "frame {frame:?} is not aligned"
        );
        let slot = self.free_slot(page, frames, false)?;
        slot.store(frame.as_u64() | permissions.leaf_bits(), Ordering::Release);
        Ok(())
    }

    /// Moves every leaf of `from` to the same offset from `to`, its entry
    /// (frame, permissions, A and D) unchanged, as mremap moves page tables:
    /// a dirty page is still dirty where it went, and a copy-on-write page
    /// still read-only. The upper-level entries above a moved leaf get their
    /// A bit, so a dirty scan that skips quiet tables still finds it. Tables
    /// for the destination are made first: running out of frames moves
    /// nothing. The destination must hold no leaves. The old range's stale
    /// TLB entries and emptied tables are released by
    /// [`PendingUnmap::finish`] (which reports no leaves).
    pub fn move_range(
        &mut self,
        from: Range<u64>,
        to: u64,
        frames: &mut impl FrameAlloc,
    ) -> Result<(PendingUnmap, Vec<MovedLeaf>), MapError> {
        check_range(to..to + (from.end - from.start));
        let mut pages = Vec::new();
        self.walk(from.clone(), None, &mut |page, _| pages.push(page));
        let mut targets = Vec::with_capacity(pages.len());
        for &page in &pages {
            let target = to + (page - from.start);
            let slot = self.free_slot(target, frames, true).inspect_err(|error| {
                assert_eq!(*error, MapError::OutOfFrames, "moving onto a mapped page");
            })?;
            targets.push((target, slot));
        }
        let mut flush = TlbFlush::default();
        let mut moved = Vec::with_capacity(pages.len());
        for (page, (target, slot)) in pages.into_iter().zip(targets) {
            let source = self.leaf_slot(page).expect("a leaf found by the walk");
            let entry = source.swap(0, Ordering::AcqRel);
            slot.store(entry, Ordering::Release);
            if entry & PRESENT != 0 {
                flush.add(page);
            }
            moved.push(MovedLeaf {
                from: page,
                to: target,
                frame: frame_of(entry),
            });
        }
        let mut emptied = Vec::new();
        self.walk(from, Some(&mut emptied), &mut |_, _| {});
        let mut emptied_tables = Vec::with_capacity(emptied.len());
        for (covered, table) in emptied {
            flush.add(covered);
            emptied_tables.push(table);
        }
        let pending = PendingUnmap {
            leaves: Vec::new(),
            emptied_tables,
            flush,
        };
        Ok((pending, moved))
    }

    /// The empty level-1 slot of `page`, allocating (and zeroing) missing
    /// page tables. With `mark_accessed`, every upper-level entry on the way
    /// gets its A bit, as if the MMU had walked there for an access.
    fn free_slot(
        &mut self,
        page: u64,
        frames: &mut impl FrameAlloc,
        mark_accessed: bool,
    ) -> Result<&'p AtomicU64, MapError> {
        check_range(page..page + PAGE_SIZE);
        let mut table = self.root;
        for level in Level::TABLES {
            self.stats.tables_visited += 1;
            let slot = &table_at(self.phys, table)[level.index(page)];
            let entry = slot.load(Ordering::Acquire);
            table = if entry & PRESENT != 0 {
                reject_huge_leaf(entry, level, page);
                frame_of(entry)
            } else {
                let new_table = frames.alloc_frame().ok_or(MapError::OutOfFrames)?;
                for entry in table_at(self.phys, new_table) {
                    entry.store(0, Ordering::Relaxed);
                }
                slot.store(new_table.as_u64() | TABLE_FLAGS, Ordering::Release);
                new_table
            };
            if mark_accessed {
                slot.fetch_or(ACCESSED, Ordering::AcqRel);
            }
        }
        self.stats.tables_visited += 1;
        let slot = &table_at(self.phys, table)[Level::Pt.index(page)];
        if is_mapped_leaf(slot.load(Ordering::Acquire)) {
            return Err(MapError::AlreadyMapped);
        }
        Ok(slot)
    }

    /// Gives the present leaf at `page` write permission, keeping its frame
    /// and its A and D bits: a shared page after mprotect added PROT_WRITE,
    /// or a private page no one else maps. Returns `None` if `page` has no
    /// present leaf.
    pub fn grant_write(&mut self, page: u64) -> Option<TlbFlush> {
        let slot = self.leaf_slot(page)?;
        if slot.load(Ordering::Acquire) & PRESENT == 0 {
            return None;
        }
        slot.fetch_or(WRITABLE, Ordering::AcqRel);
        // A TLB entry without W only faults again, but dropping it keeps the
        // TLB's view equal to the tables'.
        let mut flush = TlbFlush::default();
        flush.add(page);
        Some(flush)
    }

    /// Points the leaf at `page` to `frame` with `permissions` (a
    /// copy-on-write copy taking the place of the shared page) in one atomic
    /// store. The old leaf is handed out by [`PendingUnmap::finish`], once no
    /// TLB entry can reach its frame. `None` if `page` has no mapped leaf.
    ///
    /// # Safety
    /// As for [`PageTableWalker::map_page`]: user code gets `frame`.
    #[allow(unsafe_code)]
    pub unsafe fn replace_frame(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
    ) -> Option<PendingUnmap> {
        assert!(
            frame.is_aligned(PAGE_SIZE),
            "frame {frame:?} is not aligned"
        );
        let slot = self.leaf_slot(page)?;
        let entry = slot.swap(frame.as_u64() | permissions.leaf_bits(), Ordering::AcqRel);
        let mut flush = TlbFlush::default();
        if entry & PRESENT != 0 {
            flush.add(page);
        }
        Some(PendingUnmap {
            leaves: alloc::vec![UnmappedLeaf {
                page,
                frame: frame_of(entry),
                dirty: entry & DIRTY != 0,
                accessed: entry & ACCESSED != 0,
            }],
            emptied_tables: Vec::new(),
            flush,
        })
    }

    /// The level-1 slot of `page` if it holds a mapped leaf.
    fn leaf_slot(&mut self, page: u64) -> Option<&'p AtomicU64> {
        check_range(page..page + PAGE_SIZE);
        let mut table = self.root;
        for level in Level::TABLES {
            self.stats.tables_visited += 1;
            let entry = table_at(self.phys, table)[level.index(page)].load(Ordering::Acquire);
            if entry & PRESENT == 0 {
                return None;
            }
            reject_huge_leaf(entry, level, page);
            table = frame_of(entry);
        }
        self.stats.tables_visited += 1;
        self.stats.ptes_scanned += 1;
        let slot = &table_at(self.phys, table)[Level::Pt.index(page)];
        is_mapped_leaf(slot.load(Ordering::Acquire)).then_some(slot)
    }

    /// The pages in `range` whose D bit is set, in address order.
    pub fn find_dirty(&mut self, range: Range<u64>) -> Vec<u64> {
        let mut dirty = Vec::new();
        self.walk(range, None, &mut |page, slot| {
            if slot.load(Ordering::Relaxed) & DIRTY != 0 {
                dirty.push(page);
            }
        });
        dirty
    }

    /// Atomically clears every D bit in `range`. The pages that were dirty are
    /// released by [`PendingWriteback::invalidate_tlb`].
    ///
    /// Finding nothing is cheap: a page table whose PDE has a clear A bit is
    /// skipped, because nothing under it was touched since it was last
    /// quieted. A scan quiets a table when it leaves no A or D bit in it: it
    /// clears the A bits of the pages it scans together with their D bits
    /// (invalidating the TLB entries of those that had A: the CPU caches a
    /// translation only while its A bits are set), finds none set in the
    /// rest of the table, then clears the PDE's A bit and invalidates one
    /// address of the region, which drops the paging-structure caches. The
    /// next access walks the tables again and sets A on the way. A table
    /// scanned whole has no rest; for one scanned in part the rest is looked
    /// at only when it is no larger than the part, so that the look costs
    /// at most what it saves the next scan — so the table holding most of
    /// the end of a range that is not 2 MiB aligned (every mmap of this
    /// kernel's layout) still goes quiet. (One CPU: no store can use a stale
    /// TLB entry while the kernel runs this.)
    pub fn clear_dirty(&mut self, range: Range<u64>) -> PendingWriteback {
        check_range(range.clone());
        let mut pending = PendingWriteback {
            dirty: Vec::new(),
            flush: TlbFlush::default(),
        };
        let pml4 = self.read_table(self.root);
        for (pml4_index, part) in parts(Level::Pml4, range) {
            let Some(pdpt) = lower_table(&pml4[pml4_index], Level::Pml4, part.start) else {
                continue;
            };
            let pdpt = self.read_table(pdpt);
            for (pdpt_index, part) in parts(Level::Pdpt, part) {
                if let Some(directory) = lower_table(&pdpt[pdpt_index], Level::Pdpt, part.start) {
                    self.clear_dirty_in_directory(directory, part, &mut pending);
                }
            }
        }
        pending
    }

    /// [`PageTableWalker::clear_dirty`] in `range`, which lies within the
    /// 1 GiB of the page directory `directory`.
    fn clear_dirty_in_directory(
        &mut self,
        directory: PhysAddr,
        range: Range<u64>,
        pending: &mut PendingWriteback,
    ) {
        let span = Level::Pd.entry_span();
        let entries = self.read_table(directory);
        let base = range.start & !(Level::Pdpt.entry_span() - 1);
        let last = Level::Pd.index(range.end - 1);
        let mut index = Level::Pd.index(range.start);
        while index <= last {
            let Some(skipped) = first_loud(&entries[index..=last]) else {
                return;
            };
            index += skipped;
            let slot = &entries[index];
            let region_start = base + index as u64 * span;
            let entry = slot.load(Ordering::Acquire);
            reject_huge_leaf(entry, Level::Pd, region_start);
            let part = region_start.max(range.start)..(region_start + span).min(range.end);
            let quieting = 2 * (part.end - part.start) >= span;
            let table = frame_of(entry);
            self.clear_dirty_in_table(table, part.clone(), quieting, pending);
            if quieting && self.untouched_outside(table, part) {
                slot.fetch_and(!ACCESSED, Ordering::AcqRel);
                pending.flush.add(region_start);
            }
            index += 1;
        }
    }

    /// Clears the D bits — and with `quieting` the A bits — of the leaves in
    /// `part` of the page table `table`.
    fn clear_dirty_in_table(
        &mut self,
        table: PhysAddr,
        part: Range<u64>,
        quieting: bool,
        pending: &mut PendingWriteback,
    ) {
        let cleared = if quieting { DIRTY | ACCESSED } else { DIRTY };
        let entries = self.read_table(table);
        let first = Level::Pt.index(part.start);
        let count = ((part.end - part.start) / PAGE_SIZE) as usize;
        self.stats.ptes_scanned += count as u64;
        for (page, slot) in (part.start..)
            .step_by(PAGE_SIZE as usize)
            .zip(&entries[first..first + count])
        {
            let entry = slot.load(Ordering::Relaxed);
            if !is_mapped_leaf(entry) || entry & cleared == 0 {
                continue;
            }
            let entry = slot.fetch_and(!cleared, Ordering::AcqRel);
            if entry & DIRTY != 0 {
                pending.dirty.push(DirtyPage {
                    page,
                    frame: frame_of(entry),
                });
            }
            if entry & cleared != 0 {
                pending.flush.add(page);
            }
        }
    }

    /// The page table in `frame`, counted as visited.
    fn read_table(&mut self, frame: PhysAddr) -> &'p Table {
        self.stats.tables_visited += 1;
        table_at(self.phys, frame)
    }

    /// Records a store to `page` made by the kernel through the direct map
    /// (a `read()` into a mapped buffer) as the CPU would record one made
    /// through this mapping: A set at every level and D on the leaf, so that
    /// dirty scans see it. Does nothing if the page is not mapped.
    pub fn record_store(&mut self, page: u64) {
        check_range(page..page + PAGE_SIZE);
        let mut table = self.root;
        for level in Level::TABLES {
            let slot = &table_at(self.phys, table)[level.index(page)];
            let entry = slot.load(Ordering::Acquire);
            if entry & PRESENT == 0 {
                return;
            }
            if entry & ACCESSED == 0 {
                slot.fetch_or(ACCESSED, Ordering::AcqRel);
            }
            reject_huge_leaf(entry, level, page);
            table = frame_of(entry);
        }
        let slot = &table_at(self.phys, table)[Level::Pt.index(page)];
        let entry = slot.load(Ordering::Acquire);
        if is_mapped_leaf(entry) && entry & (ACCESSED | DIRTY) != ACCESSED | DIRTY {
            slot.fetch_or(ACCESSED | DIRTY, Ordering::AcqRel);
        }
    }

    /// Sets the permissions of every mapped page in `range`. Write access is
    /// only ever taken away here, never granted: a page that may become
    /// writable gets W from the fault handler, which knows about
    /// copy-on-write.
    pub fn change_protection(
        &mut self,
        range: Range<u64>,
        permissions: PagePermissions,
    ) -> TlbFlush {
        let mut flush = TlbFlush::default();
        self.walk(range, None, &mut |page, slot| {
            let update = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |entry| {
                let kept = entry & (FRAME_MASK | ACCESSED | DIRTY);
                let write = if permissions.writable {
                    entry & WRITABLE
                } else {
                    0
                };
                let others = permissions.leaf_bits() & !WRITABLE;
                let new = kept | write | others;
                (new != entry).then_some(new)
            });
            if let Ok(old) = update
                && old & PRESENT != 0
            {
                flush.add(page);
            }
        });
        flush
    }

    /// Takes write permission from every mapped leaf in `range` and returns
    /// them (page and leaf, now without W), for fork: the pages become
    /// copy-on-write in this address space too.
    pub fn write_protect(&mut self, range: Range<u64>) -> (Vec<(u64, Leaf)>, TlbFlush) {
        let mut leaves = Vec::new();
        let mut flush = TlbFlush::default();
        self.walk(range, None, &mut |page, slot| {
            let entry = slot.fetch_and(!WRITABLE, Ordering::AcqRel);
            if entry & WRITABLE != 0 && entry & PRESENT != 0 {
                flush.add(page);
            }
            leaves.push((page, Leaf::decode(entry & !WRITABLE)));
        });
        (leaves, flush)
    }

    /// Removes every leaf in `range` and unlinks the page tables that become
    /// empty. Nothing is released until [`PendingUnmap::finish`].
    pub fn unmap(&mut self, range: Range<u64>) -> PendingUnmap {
        let mut leaves = Vec::new();
        let mut flush = TlbFlush::default();
        let mut emptied = Vec::new();
        self.walk(range, Some(&mut emptied), &mut |page, slot| {
            let entry = slot.swap(0, Ordering::AcqRel);
            leaves.push(UnmappedLeaf {
                page,
                frame: frame_of(entry),
                dirty: entry & DIRTY != 0,
                accessed: entry & ACCESSED != 0,
            });
            if entry & PRESENT != 0 {
                flush.add(page);
            }
        });
        let mut emptied_tables = Vec::with_capacity(emptied.len());
        for (covered, table) in emptied {
            // Invalidating any address the table covered also drops the
            // paging-structure cache entries that point to it.
            flush.add(covered);
            emptied_tables.push(table);
        }
        PendingUnmap {
            leaves,
            emptied_tables,
            flush,
        }
    }

    /// Calls `visit` for every mapped leaf in `range`. With `prune`, a lower
    /// table left empty after its part of the walk is unlinked and recorded
    /// there with an address it covered.
    fn walk<V: FnMut(u64, &AtomicU64)>(
        &mut self,
        range: Range<u64>,
        mut prune: Option<&mut Vec<(u64, PhysAddr)>>,
        visit: &mut V,
    ) {
        check_range(range.clone());
        if !range.is_empty() {
            self.walk_table(self.root, Level::Pml4, range, &mut prune, visit);
        }
    }

    fn walk_table<V: FnMut(u64, &AtomicU64)>(
        &mut self,
        table: PhysAddr,
        level: Level,
        range: Range<u64>,
        prune: &mut Option<&mut Vec<(u64, PhysAddr)>>,
        visit: &mut V,
    ) {
        let entries = self.read_table(table);
        for (index, part) in parts(level, range) {
            let slot = &entries[index];
            let entry = slot.load(Ordering::Acquire);
            if level == Level::Pt {
                self.stats.ptes_scanned += 1;
                if is_mapped_leaf(entry) {
                    visit(part.start, slot);
                }
            } else if let Some(lower) = lower_table(slot, level, part.start) {
                self.walk_table(lower, level.below(), part.clone(), prune, visit);
                if let Some(emptied) = prune.as_deref_mut()
                    && table_is_empty(self.phys, lower)
                {
                    slot.store(0, Ordering::Release);
                    emptied.push((part.start, lower));
                }
            }
        }
    }

    /// Whether no entry of the page table `table` outside `part` (a range
    /// within the table's 2 MiB) has its A or D bit set.
    fn untouched_outside(&mut self, table: PhysAddr, part: Range<u64>) -> bool {
        let entries = table_at(self.phys, table);
        let first = Level::Pt.index(part.start);
        let end = first + ((part.end - part.start) / PAGE_SIZE) as usize;
        for entry in entries[..first].iter().chain(&entries[end..]) {
            self.stats.ptes_scanned += 1;
            if entry.load(Ordering::Acquire) & (ACCESSED | DIRTY) != 0 {
                return false;
            }
        }
        true
    }
}

/// The first of `entries` (upper-level entries) that is present with its A
/// bit set. Most PDEs a dirty scan reads are absent or quiet, so they are
/// passed over eight at a time: one A bit in their OR is where to look
/// closer.
fn first_loud(entries: &[AtomicU64]) -> Option<usize> {
    const LOUD: u64 = PRESENT | ACCESSED;
    const GROUP: usize = 8;
    let is_loud = |entry: &AtomicU64| entry.load(Ordering::Acquire) & LOUD == LOUD;
    let groups = entries.chunks_exact(GROUP);
    let rest = groups.remainder();
    for (group_index, group) in groups.enumerate() {
        let any = group
            .iter()
            .fold(0, |any, entry| any | entry.load(Ordering::Acquire));
        if any & ACCESSED != 0
            && let Some(within) = group.iter().position(is_loud)
        {
            return Some(group_index * GROUP + within);
        }
    }
    let tail = entries.len() - rest.len();
    rest.iter().position(is_loud).map(|within| tail + within)
}

/// The entries of a `level` table that `range` (within the table's span)
/// touches: each one's index and the part of `range` it covers.
fn parts(level: Level, range: Range<u64>) -> impl Iterator<Item = (usize, Range<u64>)> {
    let span = level.entry_span();
    let mut addr = range.start;
    core::iter::from_fn(move || {
        (addr < range.end).then(|| {
            let next = (addr | (span - 1)) + 1;
            let part = addr..next.min(range.end);
            addr = next;
            (level.index(part.start), part)
        })
    })
}

/// The table an upper-level entry at `addr` points to, if it is present.
fn lower_table(slot: &AtomicU64, level: Level, addr: u64) -> Option<PhysAddr> {
    let entry = slot.load(Ordering::Acquire);
    if entry & PRESENT == 0 {
        return None;
    }
    reject_huge_leaf(entry, level, addr);
    Some(frame_of(entry))
}

fn frame_of(entry: u64) -> PhysAddr {
    PhysAddr::new(entry & FRAME_MASK)
}

/// A level-1 entry that maps a frame, accessible or not.
fn is_mapped_leaf(entry: u64) -> bool {
    entry & (PRESENT | PROT_NONE) != 0
}

fn table_is_empty<P: PhysAccess>(phys: &P, table: PhysAddr) -> bool {
    table_at(phys, table)
        .iter()
        .all(|entry| entry.load(Ordering::Relaxed) == 0)
}

fn reject_huge_leaf(entry: u64, level: Level, addr: u64) {
    assert!(
        level == Level::Pml4 || entry & HUGE_PAGE == 0,
        "huge {level:?} leaf at {addr:#x}: user memory is mapped with 4 KiB pages only"
    );
}

fn check_range(range: Range<u64>) {
    assert!(
        range.start.is_multiple_of(PAGE_SIZE)
            && range.end.is_multiple_of(PAGE_SIZE)
            && range.start <= range.end
            && range.end <= LOWER_HALF_END,
        "{range:#x?} is not a page-aligned user range"
    );
}

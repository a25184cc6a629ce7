//! An address space: its VMA tree, its page-table root, and the memory system
//! calls with Linux x86_64 semantics. One file per system-call family:
//! [`map`] (mmap, munmap), [`remap`] (mremap, mincore), [`brk`], [`protect`]
//! (mprotect), [`lock`] (mlock family), [`advise`] (madvise), [`msync`], and
//! [`fork`]'s half of fork.
//!
//! The operations take the machine's services as a [`Machine`] and hold no
//! lock themselves: the kernel serialises calls on one address space (its
//! `mmap_lock`).

mod advise;
mod brk;
mod fault;
mod fork;
mod lock;
mod map;
mod msync;
mod protect;
mod remap;

use core::ops::Range;

use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess, PhysAddr};
use crate::vma::{FileRef, Vma, VmaTree};
use crate::walk::{PageTableWalker, TlbInvalidate, UnmappedLeaf};

pub use advise::{Advised, Removal};
pub use fault::{FaultAccess, FaultResolution, PageSource, STACK_GUARD_GAP, SegmentationFault};
pub use fork::{CopiedPage, ForkFailed};
pub use map::{FileMapping, MMAP_MIN_ADDR, MmapRequest, populates};
pub use msync::{MsyncPlan, SyncRange};
pub use remap::{MincoreCursor, MovedPage, MremapRequest, Remapped};

/// Lowest address mmap's own searches place a mapping at (Linux x86_64's
/// `low_limit`, one page). MAP_FIXED may go lower, as root may on Linux:
/// everything here runs as root, which passes `security_mmap_addr`.
pub const USER_START: u64 = 0x1000;
/// End of user space (Linux x86_64 `TASK_SIZE` with 4-level paging).
pub const USER_END: u64 = 0x7fff_ffff_f000;

/// RLIMIT_STACK's default soft limit on Linux (`_STK_LIM`): 8 MiB.
pub const DEFAULT_STACK_LIMIT: u64 = 8 << 20;

/// Where mmap looks for free space when it picks the address itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Top-down searches start below this address (room above is left for
    /// the stack).
    pub mmap_base: u64,
    /// Bottom-up fallback searches start here (Linux's `TASK_UNMAPPED_BASE`).
    pub legacy_mmap_base: u64,
}

impl Default for Layout {
    fn default() -> Self {
        const STACK_GAP: u64 = 128 << 20;
        Layout {
            mmap_base: USER_END - STACK_GAP,
            legacy_mmap_base: (USER_END / 3).next_multiple_of(PAGE_SIZE),
        }
    }
}

/// The hardware services page-table edits need: reaching frames, getting and
/// returning page-table frames, and invalidating TLB entries.
pub struct Machine<'a, P: PhysAccess, F: FrameAlloc, T: TlbInvalidate> {
    pub phys: &'a P,
    pub frames: &'a mut F,
    pub tlb: &'a mut T,
}

/// A file page and its index in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePage {
    pub file: FileRef,
    pub index: u64,
}

/// A page removed from the page tables by munmap or a replacing mmap, after
/// its TLB entry was invalidated. The kernel drops its reference to `frame`:
/// a page-cache page takes the D bit and leaves the reverse map, a private
/// copy of a file page leaves the file's list of copies, and any other frame
/// was the mapping's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmappedPage {
    pub leaf: UnmappedLeaf,
    /// The file page the mapping showed at this address, for a file mapping
    /// (shared or private).
    pub file_page: Option<FilePage>,
}

/// One process's user address space.
pub struct AddressSpace {
    vmas: VmaTree,
    page_table_root: PhysAddr,
    layout: Layout,
    /// `mlockall(MCL_FUTURE)`: new mappings start locked.
    lock_new_mappings: bool,
    /// With `lock_new_mappings`: `MCL_FUTURE | MCL_ONFAULT`.
    lock_new_on_fault: bool,
    /// The heap: from the end of the image to the program break.
    heap: Range<u64>,
    /// How large a MAP_GROWSDOWN VMA may grow (RLIMIT_STACK's soft limit).
    stack_limit: u64,
}

impl AddressSpace {
    /// An empty address space over the PML4 in `page_table_root`.
    ///
    /// # Safety
    /// `page_table_root` is a PML4 frame whose user half is empty, owned by
    /// this address space until it is dropped (nothing else frees or edits
    /// its user half), and reachable through every [`PhysAccess`] later
    /// passed to this address space's methods: they walk it as
    /// [`PageTableWalker::new`] requires.
    #[allow(unsafe_code)]
    pub unsafe fn new(page_table_root: PhysAddr) -> Self {
        // SAFETY: the caller's promise is `with_layout`'s.
        unsafe { Self::with_layout(page_table_root, Layout::default()) }
    }

    /// [`AddressSpace::new`] with mmap's search bounds given.
    ///
    /// # Safety
    /// As for [`AddressSpace::new`].
    #[allow(unsafe_code)]
    pub unsafe fn with_layout(page_table_root: PhysAddr, layout: Layout) -> Self {
        AddressSpace {
            vmas: VmaTree::new(),
            page_table_root,
            layout,
            lock_new_mappings: false,
            lock_new_on_fault: false,
            heap: 0..0,
            stack_limit: DEFAULT_STACK_LIMIT,
        }
    }

    pub fn vmas(&self) -> &VmaTree {
        &self.vmas
    }

    /// Sets how far a MAP_GROWSDOWN VMA may grow (setrlimit(RLIMIT_STACK)).
    pub fn set_stack_limit(&mut self, limit: u64) {
        self.stack_limit = limit;
    }

    /// The VMA containing `addr` (what the page-fault handler asks first).
    pub fn find_vma(&self, addr: u64) -> Option<&Vma> {
        self.vmas.find(addr)
    }

    pub fn page_table_root(&self) -> PhysAddr {
        self.page_table_root
    }

    /// A walker over this address space's page tables, borrowing the
    /// address space so that no call can free a table while it walks.
    #[allow(unsafe_code)]
    pub fn walker<'p, P: PhysAccess>(&'p self, phys: &'p P) -> PageTableWalker<'p, P> {
        // SAFETY: the root is this address space's own, reachable through
        // `phys` (`AddressSpace::new`'s promise); its tables are freed only
        // through `&mut self`, which the walker's borrow excludes.
        unsafe { PageTableWalker::new(phys, self.page_table_root) }
    }

    /// Whether `range` is free for a new mapping: nothing mapped there, and
    /// not within the guard gap below a MAP_GROWSDOWN VMA above it.
    fn is_free_for(&self, range: Range<u64>) -> bool {
        !self.vmas.intersects(range.clone())
            && self
                .vmas
                .first_ending_after(range.start)
                .is_none_or(|next| range.end <= next.start_gap())
    }

    /// Removes `range` from the VMA tree and the page tables, frees emptied
    /// page tables and reports every removed page.
    fn unmap_range<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        range: Range<u64>,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
    ) {
        let removed = self.vmas.remove_range(range.clone());
        if !removed.is_empty() {
            self.unmap_leaves(range, &removed, machine, on_unmapped);
        }
    }

    /// Removes the pages of `range` from the page tables but keeps its VMAs
    /// (MADV_DONTNEED: the next access faults a page in afresh).
    fn unmap_pages<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        range: Range<u64>,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
    ) {
        let vmas: alloc::vec::Vec<Vma> = self
            .vmas
            .overlapping(range.clone())
            .map(|vma| vma.clipped(range.clone()))
            .collect();
        self.unmap_leaves(range, &vmas, machine, on_unmapped);
    }

    /// Removes the leaves in `range`, which `vmas` (in address order) cover,
    /// frees emptied page tables and reports every removed page.
    fn unmap_leaves<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &self,
        range: Range<u64>,
        vmas: &[Vma],
        machine: &mut Machine<'_, P, F, T>,
        mut on_unmapped: impl FnMut(UnmappedPage),
    ) {
        let pending = self.walker(machine.phys).unmap(range);
        pending.finish(machine.tlb, machine.frames, |leaf| {
            let index = vmas.partition_point(|vma| vma.end <= leaf.page);
            let vma = vmas
                .get(index)
                .filter(|vma| vma.start <= leaf.page)
                .expect("a page-table entry outside every VMA");
            let file_page = vma
                .file_page(leaf.page)
                .map(|(file, index)| FilePage { file, index });
            on_unmapped(UnmappedPage { leaf, file_page });
        });
    }
}

/// `len` rounded up to whole pages, or `None` if that overflows.
fn page_align_up(len: u64) -> Option<u64> {
    len.checked_next_multiple_of(PAGE_SIZE)
}

fn is_page_aligned(addr: u64) -> bool {
    addr.is_multiple_of(PAGE_SIZE)
}

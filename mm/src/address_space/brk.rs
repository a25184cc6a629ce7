//! brk: the program break, the end of the heap that starts after the image.

use abi::mman::{MAP_ANONYMOUS, MAP_FIXED_NOREPLACE, MAP_PRIVATE, PROT_READ, PROT_WRITE};
use core::ops::Range;

use super::{AddressSpace, Machine, MmapRequest, USER_END, UnmappedPage, page_align_up};
use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess};
use crate::walk::TlbInvalidate;

impl AddressSpace {
    /// Puts the heap, still empty, at `start` (the page-aligned end of the
    /// loaded image, as Linux's `start_brk`).
    pub fn set_heap_start(&mut self, start: u64) {
        self.heap = start..start;
    }

    /// From the start of the heap to the current break (not page-aligned).
    pub fn heap(&self) -> Range<u64> {
        self.heap.clone()
    }

    /// brk(2) as Linux 6.1's `sys_brk`: moves the break to `requested` and
    /// returns it, or returns the current break unchanged when the request
    /// cannot be met — below the heap's start, rounding past the end of the
    /// address space, or growing into (or flush against) the next mapping,
    /// which must stay at least a page away. Shrinking always succeeds and
    /// unmaps the whole pages given up, reporting them to `on_unmapped`.
    pub fn brk<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        requested: u64,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
    ) -> u64 {
        let current = self.heap.end;
        if requested < self.heap.start {
            return current;
        }
        let (Some(new_top), Some(old_top)) = (page_align_up(requested), page_align_up(current))
        else {
            return current;
        };
        let moved = if new_top > old_top {
            self.grow_heap(old_top..new_top, machine)
        } else {
            self.unmap_range(new_top..old_top, machine, on_unmapped);
            true
        };
        if moved {
            self.heap.end = requested;
        }
        self.heap.end
    }

    /// Maps `range` as heap, if it and the page above it are free (and clear
    /// of a stack's guard gap).
    fn grow_heap<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        range: Range<u64>,
        machine: &mut Machine<'_, P, F, T>,
    ) -> bool {
        let guarded_end = range.end.saturating_add(PAGE_SIZE);
        if guarded_end > USER_END || !self.is_free_for(range.start..guarded_end) {
            return false;
        }
        let request = MmapRequest {
            addr: range.start,
            len: range.end - range.start,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
            file: None,
            offset: 0,
        };
        self.mmap(request, machine, |_| unreachable!("the range is free"))
            .is_ok()
    }
}

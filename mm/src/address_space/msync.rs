//! msync: validated in Linux's order, answered with a plan that the kernel
//! carries out (clear D bits, invalidate, write back, maybe wait).

use abi::Errno;
use abi::mman::{MS_ASYNC, MS_INVALIDATE, MS_SYNC};
use alloc::vec::Vec;
use core::ops::Range;

use super::{AddressSpace, is_page_aligned};
use crate::frame::PAGE_SIZE;
use crate::vma::FileRef;

/// Part of a file to write back, and the virtual range mapping it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRange {
    pub file: FileRef,
    /// File page indices to write back.
    pub file_pages: Range<u64>,
    /// The virtual pages of the range, which map `file_pages` in order.
    pub virt: Range<u64>,
}

/// What an msync call must do, in order, and what it then returns.
///
/// The kernel handles `ranges` in order: for each, clear the D bits of
/// every PTE mapping `file_pages` (this range's and any other mapping's)
/// with [`crate::walk::PageTableWalker::clear_dirty`], invalidate the TLB,
/// mark those pages dirty in the file's page cache and write back
/// `file_pages` — waiting for completion (and a device flush) when `wait` is
/// set. A write-back error ends the call with that error; otherwise the call
/// returns `result`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsyncPlan {
    /// `MS_SYNC`: wait for the writes to complete. Otherwise they are only
    /// started.
    pub wait: bool,
    /// `MS_INVALIDATE` was given (other mappings already see the page cache,
    /// so there is nothing more to do for it).
    pub invalidate: bool,
    pub ranges: Vec<SyncRange>,
    pub result: Result<(), Errno>,
}

impl AddressSpace {
    /// msync(2), following Linux's `sys_msync`: flags, alignment and
    /// overflow first, then VMA by VMA from `addr`, so that a hole makes the
    /// call fail with ENOMEM only after the mapped parts were synced (except
    /// for plain `MS_ASYNC`, which gives up at the first hole), and a locked
    /// VMA with `MS_INVALIDATE` stops the walk with EBUSY.
    pub fn msync(&self, addr: u64, len: u64, flags: u32) -> MsyncPlan {
        self.msync_reusing(addr, len, flags, Vec::new())
    }

    /// [`AddressSpace::msync`] with `ranges`, emptied, as the plan's list:
    /// a caller that hands the list back each time allocates nothing.
    pub fn msync_reusing(
        &self,
        addr: u64,
        len: u64,
        flags: u32,
        mut ranges: Vec<SyncRange>,
    ) -> MsyncPlan {
        ranges.clear();
        let result = self.plan_msync(addr, len, flags, &mut ranges);
        MsyncPlan {
            wait: flags & MS_SYNC != 0,
            invalidate: flags & MS_INVALIDATE != 0,
            ranges,
            result,
        }
    }

    fn plan_msync(
        &self,
        mut start: u64,
        len: u64,
        flags: u32,
        ranges: &mut Vec<SyncRange>,
    ) -> Result<(), Errno> {
        if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0 || !is_page_aligned(start) {
            return Err(Errno::EINVAL);
        }
        if flags & MS_ASYNC != 0 && flags & MS_SYNC != 0 {
            return Err(Errno::EINVAL);
        }
        // Rounded as C rounds a size_t: a length within a page of the top
        // wraps to zero.
        let len = len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::ENOMEM);
        }
        if end == start {
            return Ok(());
        }
        let mut skipped_hole = false;
        loop {
            let vma = self.vmas.first_ending_after(start).ok_or(Errno::ENOMEM)?;
            if start < vma.start {
                if flags == MS_ASYNC {
                    return Err(Errno::ENOMEM);
                }
                start = vma.start;
                if start >= end {
                    return Err(Errno::ENOMEM);
                }
                skipped_hole = true;
            }
            if flags & MS_INVALIDATE != 0 && vma.attrs.locked {
                return Err(Errno::EBUSY);
            }
            if vma.writes_back_to_file() {
                let piece = vma.clipped(start..end);
                let (file, first_page) = piece.file_page(piece.start).expect("a file mapping");
                ranges.push(SyncRange {
                    file,
                    file_pages: first_page..first_page + piece.pages(),
                    virt: piece.range(),
                });
            }
            start = vma.end;
            if start >= end {
                return if skipped_hole {
                    Err(Errno::ENOMEM)
                } else {
                    Ok(())
                };
            }
        }
    }
}

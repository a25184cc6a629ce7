//! madvise.

use abi::Errno;
use abi::mman::{
    MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_KEEPONFORK,
    MADV_WIPEONFORK,
};
use core::ops::Range;

use super::{AddressSpace, Machine, UnmappedPage, is_page_aligned, page_align_up};
use crate::frame::{FrameAlloc, PhysAccess};
use crate::vma::{Backing, Sharing, VmaAttrs};
use crate::walk::TlbInvalidate;

/// The advice values Linux 6.1 accepts on x86_64 with Debian's
/// configuration (KSM and transparent huge pages built in): NORMAL through
/// DONTNEED, FREE through COLLAPSE.
fn is_known_advice(advice: i32) -> bool {
    matches!(advice, 0..=4 | 8..=25)
}

impl AddressSpace {
    /// madvise(2) (`advice` is a C `int`, as in Linux), checked and walked as Linux's `do_madvise` and
    /// `madvise_walk_vmas` do: an unknown advice, an unaligned `addr` or a
    /// length that wraps is EINVAL; a hole is ENOMEM at the end, after the
    /// VMAs beyond it were advised; an advice a VMA refuses stops the walk
    /// with its error.
    ///
    /// What each advice does here: DONTNEED (and DONTNEED_LOCKED, which
    /// also takes locked VMAs) drops the pages, so that private anonymous
    /// memory reads zeros and file pages come back from the file; FREE is
    /// for private anonymous memory only and keeps the data (Linux frees it
    /// only under memory pressure); DONTFORK/DOFORK and WIPEONFORK (private
    /// anonymous only)/KEEPONFORK set what fork does with the VMA. The rest
    /// are hints this kernel has no use for.
    pub fn madvise<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        addr: u64,
        len: u64,
        advice: i32,
        machine: &mut Machine<'_, P, F, T>,
        mut on_unmapped: impl FnMut(UnmappedPage),
    ) -> Result<(), Errno> {
        if !is_known_advice(advice) || !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_align_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(());
        }
        let parts: alloc::vec::Vec<(Range<u64>, VmaAttrs)> = self
            .vmas
            .overlapping(addr..end)
            .map(|vma| (vma.start.max(addr)..vma.end.min(end), vma.attrs.clone()))
            .collect();
        let mut reached = addr;
        let mut hole = false;
        for (range, attrs) in parts {
            hole |= range.start > reached;
            reached = range.end;
            self.advise_vma(range, &attrs, advice, machine, &mut on_unmapped)?;
        }
        if hole || reached < end {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        }
    }

    /// One VMA's part of madvise.
    fn advise_vma<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        range: Range<u64>,
        attrs: &VmaAttrs,
        advice: i32,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: &mut impl FnMut(UnmappedPage),
    ) -> Result<(), Errno> {
        let private_anonymous =
            attrs.sharing == Sharing::Private && attrs.backing == Backing::Anonymous;
        match advice {
            MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
                if attrs.locked && advice == MADV_DONTNEED {
                    return Err(Errno::EINVAL);
                }
                self.unmap_pages(range, machine, on_unmapped);
            }
            MADV_FREE if attrs.locked || !private_anonymous => return Err(Errno::EINVAL),
            MADV_DONTFORK => self
                .vmas
                .update_range(range, |attrs| attrs.dont_fork = true),
            MADV_DOFORK => self
                .vmas
                .update_range(range, |attrs| attrs.dont_fork = false),
            MADV_WIPEONFORK if !private_anonymous => return Err(Errno::EINVAL),
            MADV_WIPEONFORK => self
                .vmas
                .update_range(range, |attrs| attrs.wipe_on_fork = true),
            MADV_KEEPONFORK => self
                .vmas
                .update_range(range, |attrs| attrs.wipe_on_fork = false),
            _ => {}
        }
        Ok(())
    }
}

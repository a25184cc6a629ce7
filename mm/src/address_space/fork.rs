//! fork's address-space half (Linux's `dup_mmap`).

use super::{AddressSpace, FilePage, Machine};
use crate::frame::{FrameAlloc, PhysAccess, PhysAddr};
use crate::vma::{Backing, Sharing, Vma};
use crate::walk::{MapError, PagePermissions, TlbFlush, TlbInvalidate};

/// A page the child now maps too, with the same frame: the kernel takes
/// one more reference to the frame (a page-cache page lists the child's PTE
/// in its reverse map; a private copy of a file page is listed as the
/// child's copy too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedPage {
    pub page: u64,
    pub frame: PhysAddr,
    /// The file page a private file mapping shows here.
    pub file_page: Option<FilePage>,
}

/// No page table could be had for a forked child.
pub struct ForkFailed {
    /// The child as far as it got.
    pub partial: AddressSpace,
}

impl AddressSpace {
    /// Builds a forked child's address space in the empty tables at
    /// `child_root`, as Linux's `dup_mmap` does:
    /// - a VMA marked `MADV_DONTFORK` is left out;
    /// - every other VMA is copied, unlocked (memory locks are not
    ///   inherited), and so is the heap; `MCL_FUTURE` is not inherited;
    /// - a shared VMA's pages are not copied: the child faults them in from
    ///   the same file or object, so a store in either process is seen by
    ///   the other, and the D bits stay with the parent's PTEs until then;
    /// - a private VMA's mapped pages are mapped in the child with the same
    ///   frames and made read-only in both address spaces, so that the first
    ///   store in either copies the page; `MADV_WIPEONFORK` leaves the
    ///   child's VMA empty instead.
    ///
    /// Each page the child maps is reported to `on_copied`. Fails only if
    /// no page table could be had for the child; the child as far as it got
    /// comes back with the error, for the kernel to release as it releases
    /// any address space.
    ///
    /// # Safety
    /// `child_root` is as [`AddressSpace::new`] requires, for the child.
    #[allow(unsafe_code)]
    pub unsafe fn fork<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        child_root: PhysAddr,
        machine: &mut Machine<'_, P, F, T>,
        mut on_copied: impl FnMut(CopiedPage),
    ) -> Result<AddressSpace, ForkFailed> {
        // SAFETY: the caller's promise for `child_root`.
        let mut child = unsafe { AddressSpace::with_layout(child_root, self.layout) };
        child.heap = self.heap.clone();
        child.stack_limit = self.stack_limit;
        let copied: alloc::vec::Vec<Vma> = self
            .vmas
            .iter()
            .filter(|vma| !vma.attrs.dont_fork)
            .cloned()
            .collect();
        let mut parent_flush = TlbFlush::default();
        let mut outcome = Ok(());
        for mut vma in copied {
            vma.attrs.locked = false;
            vma.attrs.lock_on_fault = false;
            let copies_pages = vma.attrs.sharing == Sharing::Private && !vma.attrs.wipe_on_fork;
            if copies_pages && outcome.is_ok() {
                outcome =
                    self.copy_pages(&vma, &mut child, machine, &mut parent_flush, &mut on_copied);
            }
            child
                .vmas
                .insert(vma)
                .expect("the parent's VMAs are disjoint");
        }
        parent_flush.invalidate(machine.tlb);
        match outcome {
            Ok(()) => Ok(child),
            Err(_) => Err(ForkFailed { partial: child }),
        }
    }

    /// Maps the private pages of `vma` in `child` read-only, and takes W
    /// from them here.
    #[allow(unsafe_code)]
    fn copy_pages<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        vma: &Vma,
        child: &mut AddressSpace,
        machine: &mut Machine<'_, P, F, T>,
        parent_flush: &mut TlbFlush,
        on_copied: &mut impl FnMut(CopiedPage),
    ) -> Result<(), MapError> {
        let (leaves, flush) = self.walker(machine.phys).write_protect(vma.range());
        parent_flush.merge(flush);
        let mut child_walker = child.walker(machine.phys);
        for (page, leaf) in leaves {
            let permissions = PagePermissions {
                writable: false,
                ..leaf.permissions
            };
            // SAFETY: the frame is mapped in the parent's private VMA already:
            // it is user memory, and the copied PTE is one more user of it
            // the kernel counts (`on_copied`) before it can be freed.
            unsafe { child_walker.map_page(page, leaf.frame, permissions, machine.frames)? };
            let file_page = match &vma.attrs.backing {
                Backing::File { .. } => vma
                    .file_page(page)
                    .map(|(file, index)| FilePage { file, index }),
                _ => None,
            };
            on_copied(CopiedPage {
                page,
                frame: leaf.frame,
                file_page,
            });
        }
        Ok(())
    }
}

//! madvise.

use abi::Errno;
use abi::mman::{
    MADV_DOFORK, MADV_DONTFORK, MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_FREE, MADV_KEEPONFORK,
    MADV_REMOVE, MADV_WIPEONFORK,
};
use alloc::vec::Vec;
use core::ops::Range;

use super::{AddressSpace, Machine, UnmappedPage, is_page_aligned, page_align_up};
use crate::frame::{FrameAlloc, PhysAccess};
use crate::vma::{Backing, FileRef, Sharing, Vma};
use crate::walk::TlbInvalidate;

/// What MADV_REMOVE takes out of the object behind a mapping, for the
/// kernel to carry out once the call's walk is done (it may wait for
/// write-back): a hole punched in a file (every mapping of those pages then
/// reads zeros), or pages dropped from a shared memory object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    File { file: FileRef, pages: Range<u64> },
    SharedMemory { object: FileRef, pages: Range<u64> },
}

/// madvise's answer: `result`, once the `removals` are carried out in
/// order — the first of them that fails gives the call's error instead.
#[derive(Debug)]
#[must_use = "MADV_REMOVE's removals must be carried out"]
pub struct Advised {
    pub result: Result<(), Errno>,
    pub removals: Vec<Removal>,
}

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
    /// only under memory pressure); REMOVE (shared mappings of a file opened
    /// for writing or of a shared memory object only: EINVAL for a locked
    /// VMA or one with no object, EACCES otherwise) names the object's pages to take
    /// out, in [`Advised::removals`], having unmapped a shared memory
    /// object's pages here (a file's go through its reverse map, from
    /// every process); DONTFORK/DOFORK and WIPEONFORK (private anonymous
    /// only)/KEEPONFORK set what fork does with the VMA. The rest are hints
    /// this kernel has no use for.
    pub fn madvise<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        addr: u64,
        len: u64,
        advice: i32,
        machine: &mut Machine<'_, P, F, T>,
        mut on_unmapped: impl FnMut(UnmappedPage),
    ) -> Advised {
        let mut removals = Vec::new();
        let result = self.advise_range(addr, len, advice, machine, &mut on_unmapped, &mut removals);
        Advised { result, removals }
    }

    fn advise_range<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        addr: u64,
        len: u64,
        advice: i32,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: &mut impl FnMut(UnmappedPage),
        removals: &mut Vec<Removal>,
    ) -> Result<(), Errno> {
        if !is_known_advice(advice) || !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        let len = page_align_up(len).ok_or(Errno::EINVAL)?;
        let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
        if end == addr {
            return Ok(());
        }
        let parts: Vec<Vma> = self
            .vmas
            .overlapping(addr..end)
            .map(|vma| vma.clipped(addr..end))
            .collect();
        let mut reached = addr;
        let mut hole = false;
        for part in parts {
            hole |= part.start > reached;
            reached = part.end;
            self.advise_vma(&part, advice, machine, on_unmapped, removals)?;
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
        part: &Vma,
        advice: i32,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: &mut impl FnMut(UnmappedPage),
        removals: &mut Vec<Removal>,
    ) -> Result<(), Errno> {
        let (range, attrs) = (part.range(), &part.attrs);
        let private_anonymous =
            attrs.sharing == Sharing::Private && attrs.backing == Backing::Anonymous;
        match advice {
            MADV_DONTNEED | MADV_DONTNEED_LOCKED => {
                if attrs.locked && advice == MADV_DONTNEED {
                    return Err(Errno::EINVAL);
                }
                self.unmap_pages(range, machine, on_unmapped);
            }
            MADV_REMOVE => {
                // Linux's madvise_remove: a locked VMA, then one with no
                // object behind it, then one not shared or never writable
                // (a file opened read-only: VM_MAYWRITE, measured on 6.1;
                // PROT_WRITE itself is not needed).
                if attrs.locked || attrs.backing == Backing::Anonymous {
                    return Err(Errno::EINVAL);
                }
                if attrs.sharing != Sharing::Shared || !attrs.may_write {
                    return Err(Errno::EACCES);
                }
                let pages = |first: u64| first..first + part.pages();
                match &attrs.backing {
                    Backing::File { file, page_offset } => removals.push(Removal::File {
                        file: file.clone(),
                        pages: pages(*page_offset),
                    }),
                    Backing::SharedAnonymous {
                        object,
                        page_offset,
                    } => {
                        self.unmap_pages(range, machine, on_unmapped);
                        removals.push(Removal::SharedMemory {
                            object: object.clone(),
                            pages: pages(*page_offset),
                        });
                    }
                    Backing::Anonymous => unreachable!("refused above"),
                }
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

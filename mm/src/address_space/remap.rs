//! mremap and mincore.
//!
//! mremap follows Linux 6.1's `mremap` syscall: a shrink unmaps the tail, a
//! growth extends the VMA in place when the old range reaches its end and
//! the space after it is free, and otherwise (with `MREMAP_MAYMOVE`) the
//! pages move to a new range with their page-table entries unchanged, so
//! dirty pages stay dirty and copy-on-write pages stay shared.

use abi::Errno;
use abi::mman::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
use core::ops::Range;

use super::{AddressSpace, FilePage, Machine, PageSource, USER_END, UnmappedPage, is_page_aligned};
use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess, PhysAddr};
use crate::vma::{Sharing, Vma};
use crate::walk::TlbInvalidate;

/// The arguments of mremap(2).
#[derive(Clone, Copy, Debug)]
pub struct MremapRequest {
    pub addr: u64,
    pub old_len: u64,
    pub new_len: u64,
    pub flags: u64,
    /// Where to move to: the place with `MREMAP_FIXED`, a hint with
    /// `MREMAP_DONTUNMAP` alone, ignored otherwise.
    pub new_addr: u64,
}

/// A page mremap moved from `from` to `to`, for the kernel's reverse maps:
/// `file_page` is the file page the mapping shows there, for a file mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovedPage {
    pub from: u64,
    pub to: u64,
    pub frame: PhysAddr,
    pub file_page: Option<FilePage>,
}

/// What mremap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remapped {
    /// The start of the mapping now.
    pub addr: u64,
    /// The pages a locked mapping gained, which the kernel faults in (as
    /// Linux's `mm_populate` after a growth).
    pub populate: Option<Range<u64>>,
}

impl AddressSpace {
    /// mremap(2): resizes or moves the mapping at `request.addr`. Pages
    /// unmapped on the way (a shrunk tail, what `MREMAP_FIXED` replaces) go
    /// to `on_unmapped`; pages that moved go to `on_moved`. Checks run in
    /// Linux's order.
    pub fn mremap<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        request: MremapRequest,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
        on_moved: impl FnMut(MovedPage),
    ) -> Result<Remapped, Errno> {
        let MremapRequest {
            addr,
            old_len,
            new_len,
            flags,
            ..
        } = request;
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        let may_move = flags & MREMAP_MAYMOVE != 0;
        if flags & MREMAP_FIXED != 0 && !may_move {
            return Err(Errno::EINVAL);
        }
        // MREMAP_DONTUNMAP always moves, and never resizes (the lengths are
        // compared before rounding, as Linux compares them).
        if flags & MREMAP_DONTUNMAP != 0 && (!may_move || old_len != new_len) {
            return Err(Errno::EINVAL);
        }
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        // PAGE_ALIGN in C: a length within a page of 2^64 wraps to 0.
        let old_len = wrapping_page_align(old_len);
        let new_len = wrapping_page_align(new_len);
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            let request = MremapRequest {
                old_len,
                new_len,
                ..request
            };
            return self.mremap_to(request, machine, on_unmapped, on_moved);
        }
        if old_len >= new_len {
            if old_len != new_len {
                self.munmap(addr + new_len, old_len - new_len, machine, on_unmapped)?;
            }
            return Ok(Remapped {
                addr,
                populate: None,
            });
        }
        let vma = self.vma_to_resize(addr, old_len)?;
        if old_len == vma.end - addr && self.expandable(&vma, new_len - old_len) {
            let grown = Vma {
                end: vma.end + (new_len - old_len),
                ..vma.clone()
            };
            self.vmas.remove_range(vma.range());
            self.vmas
                .insert(grown)
                .expect("the grown VMA fits where it was and after");
            return Ok(Remapped {
                addr,
                populate: populates_growth(&vma).then(|| addr + old_len..addr + new_len),
            });
        }
        if !may_move {
            return Err(Errno::ENOMEM);
        }
        let target = self.unmapped_area(0, new_len, false, false)?;
        let from = addr..addr + old_len;
        self.move_vma(
            &vma,
            from,
            target..target + new_len,
            flags,
            machine,
            on_moved,
        )
    }

    /// Linux's `mremap_to`: the moves with `MREMAP_FIXED` or
    /// `MREMAP_DONTUNMAP`. Lengths are page-aligned already.
    fn mremap_to<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        request: MremapRequest,
        machine: &mut Machine<'_, P, F, T>,
        mut on_unmapped: impl FnMut(UnmappedPage),
        on_moved: impl FnMut(MovedPage),
    ) -> Result<Remapped, Errno> {
        let MremapRequest {
            addr,
            mut old_len,
            new_len,
            flags,
            new_addr,
        } = request;
        let fixed = flags & MREMAP_FIXED != 0;
        if !is_page_aligned(new_addr) {
            return Err(Errno::EINVAL);
        }
        if new_len > USER_END || new_addr > USER_END - new_len {
            return Err(Errno::EINVAL);
        }
        let overlaps = addr.saturating_add(old_len) > new_addr && new_addr + new_len > addr;
        if overlaps {
            return Err(Errno::EINVAL);
        }
        if fixed {
            self.munmap(new_addr, new_len, machine, &mut on_unmapped)?;
        }
        if old_len > new_len {
            self.munmap(addr + new_len, old_len - new_len, machine, &mut on_unmapped)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(addr, old_len)?;
        let target = self.unmapped_area(new_addr, new_len, fixed, false)?;
        let from = addr..addr + old_len;
        self.move_vma(
            &vma,
            from,
            target..target + new_len,
            flags,
            machine,
            on_moved,
        )
    }

    /// Linux's `vma_to_resize`: the VMA holding `addr`, which the old range
    /// must not leave (EFAULT). A zero `old_len` asks for a second mapping
    /// of the same pages, which only a shared mapping can give (EINVAL).
    fn vma_to_resize(&self, addr: u64, old_len: u64) -> Result<Vma, Errno> {
        let vma = self.vmas.find(addr).ok_or(Errno::EFAULT)?;
        if old_len == 0 && vma.attrs.sharing != Sharing::Shared {
            return Err(Errno::EINVAL);
        }
        if old_len > vma.end - addr {
            return Err(Errno::EFAULT);
        }
        Ok(vma.clone())
    }

    /// Linux's `vma_expandable`: nothing mapped in the `delta` bytes after
    /// the VMA, and the grown VMA still inside user space.
    fn expandable(&self, vma: &Vma, delta: u64) -> bool {
        vma.end
            .checked_add(delta)
            .is_some_and(|end| end <= USER_END && !self.vmas.intersects(vma.end..end))
    }

    /// Linux's `move_vma`: a VMA for `to` with the attributes of the part of
    /// `vma` at `from`, the page-table entries of `from` moved into it, and
    /// `from` unmapped (or, with `MREMAP_DONTUNMAP`, left mapped and empty,
    /// unlocked). `from` may be empty: a shared mapping mapped twice.
    fn move_vma<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        vma: &Vma,
        from: Range<u64>,
        to: Range<u64>,
        flags: u64,
        machine: &mut Machine<'_, P, F, T>,
        mut on_moved: impl FnMut(MovedPage),
    ) -> Result<Remapped, Errno> {
        let (pending, moved) = self
            .walker(machine.phys)
            .move_range(from.clone(), to.start, machine.frames)
            .map_err(|_| Errno::ENOMEM)?;
        pending.finish(machine.tlb, machine.frames, |_| {
            unreachable!("moving page tables releases no leaves")
        });
        let mut attrs = vma.attrs.clone();
        attrs.backing = attrs
            .backing
            .advanced_by((from.start - vma.start) / PAGE_SIZE);
        let old_len = from.end - from.start;
        let moved_vma = Vma {
            start: to.start,
            end: to.end,
            attrs,
        };
        for leaf in moved {
            let file_page = match vma.page_source(leaf.from) {
                Some(PageSource::File(file_page)) => Some(file_page),
                _ => None,
            };
            on_moved(MovedPage {
                from: leaf.from,
                to: leaf.to,
                frame: leaf.frame,
                file_page,
            });
        }
        let populate = (populates_growth(&moved_vma) && to.end - to.start > old_len)
            .then(|| to.start + old_len..to.end);
        if flags & MREMAP_DONTUNMAP != 0 {
            self.vmas.update_range(from, |attrs| {
                attrs.locked = false;
                attrs.lock_on_fault = false;
            });
        } else {
            self.vmas.remove_range(from);
        }
        self.vmas
            .insert(moved_vma)
            .expect("mremap moves to a free range");
        Ok(Remapped {
            addr: to.start,
            populate,
        })
    }

    /// The next piece of a mincore(2) call, as Linux's `do_mincore`: fills
    /// `piece` from its start with one byte per page from the cursor on (1:
    /// resident, 0: not), up to the end of the VMA there or of `piece`, and
    /// returns the user address the bytes go to and how many they are. The
    /// caller copies them out before asking for the next piece. A page is
    /// resident if the page tables map it or, for a page of a file or a
    /// shared object, if `cached` finds it in memory (Linux reports the page
    /// cache, whoever brought the page in). `None` when the call is done;
    /// ENOMEM at an unmapped page.
    pub fn mincore_piece<P: PhysAccess>(
        &self,
        phys: &P,
        cursor: &mut MincoreCursor,
        piece: &mut [u8],
        mut cached: impl FnMut(&PageSource) -> bool,
    ) -> Option<Result<(u64, usize), Errno>> {
        if cursor.pages_left == 0 {
            return None;
        }
        let Some(vma) = self.vmas.find(cursor.next) else {
            return Some(Err(Errno::ENOMEM));
        };
        let count = ((vma.end - cursor.next) / PAGE_SIZE)
            .min(cursor.pages_left)
            .min(piece.len() as u64) as usize;
        let mut walker = self.walker(phys);
        for (index, byte) in piece[..count].iter_mut().enumerate() {
            let page = cursor.next + index as u64 * PAGE_SIZE;
            let resident = walker.lookup(page).is_some()
                || vma.page_source(page).is_some_and(|source| cached(&source));
            *byte = u8::from(resident);
        }
        let at = cursor.vec;
        cursor.next += count as u64 * PAGE_SIZE;
        cursor.vec += count as u64;
        cursor.pages_left -= count as u64;
        Some(Ok((at, count)))
    }
}

/// How far a mincore(2) call has got: `pages_left` pages from `next` are
/// still to report, their bytes going to user address `vec` on.
#[derive(Clone, Copy, Debug)]
pub struct MincoreCursor {
    next: u64,
    pages_left: u64,
    vec: u64,
}

impl MincoreCursor {
    /// mincore(2)'s checks of its arguments, in Linux's order: EINVAL for a
    /// start inside a page, ENOMEM for a range reaching past user space,
    /// EFAULT for a vector (one byte per page) reaching past it.
    pub fn new(addr: u64, len: u64, vec: u64) -> Result<MincoreCursor, Errno> {
        if !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if addr > USER_END || len > USER_END - addr {
            return Err(Errno::ENOMEM);
        }
        let pages = len.div_ceil(PAGE_SIZE);
        if vec > USER_END || pages > USER_END - vec {
            return Err(Errno::EFAULT);
        }
        Ok(MincoreCursor {
            next: addr,
            pages_left: pages,
            vec,
        })
    }
}

/// Whether a VMA that grew faults its new pages in at once: a locked one,
/// not locked on fault.
fn populates_growth(vma: &Vma) -> bool {
    vma.attrs.locked && !vma.attrs.lock_on_fault
}

/// `len` rounded up to whole pages as C's PAGE_ALIGN does it (wrapping).
fn wrapping_page_align(len: u64) -> u64 {
    len.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

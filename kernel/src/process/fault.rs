//! Exceptions raised in user mode: page faults are resolved through `mm`'s
//! rules; anything else, or a fault `mm` refuses, earns the signal Linux
//! would send, with Linux's `si_code` and `si_addr`.

use super::memory::UserMemory;
use super::signal::{self, SigInfo};
use crate::memory::frames::{self, alloc_frame, alloc_zeroed_frame};
use crate::memory::machine::{DirectMap, HardwareTlb, KernelFrames};
use crate::memory::phys_to_virt;
use crate::sched;
use abi::signal::{
    BUS_ADRERR, FPE_INTDIV, ILL_ILLOPN, SEGV_ACCERR, SEGV_MAPERR, SIGBUS, SIGFPE, SIGILL, SIGSEGV,
    SIGTRAP,
};
use arch::trap::TrapFrame;
use mm::address_space::{FaultAccess, FaultResolution, FilePage, MovedPage, PageSource};
use mm::frame::PAGE_SIZE;
use mm::page_cache::Mapper;
use mm::walk::PagePermissions;
use mm::walk::UnmappedLeaf;
use x86_64::PhysAddr;

/// Page-fault error-code bits.
pub const FAULT_PRESENT: u64 = 1 << 0;
pub const FAULT_WRITE: u64 = 1 << 1;
const FAULT_FETCH: u64 = 1 << 4;

/// Handles an exception from ring 3: a page fault that can be resolved
/// returns with the page mapped; anything else queues its signal for the
/// return to user mode.
pub fn user_exception(frame: &TrapFrame) {
    let info = match frame.vector {
        arch::trap::PAGE_FAULT => {
            let address = arch::trap::page_fault_address();
            let memory = sched::current_process().memory();
            let resolved = memory.lock().handle_page_fault(address, frame.error_code);
            match resolved {
                Ok(()) => return,
                Err(info) => info,
            }
        }
        0 => SigInfo::fault(SIGFPE, FPE_INTDIV, frame.rip),
        16 | 19 => SigInfo::fault(SIGFPE, 0, frame.rip),
        6 => SigInfo::fault(SIGILL, ILL_ILLOPN, frame.rip),
        1 | 3 => SigInfo::kernel(SIGTRAP),
        17 => SigInfo::fault(SIGBUS, 1, 0),
        _ => SigInfo::kernel(SIGSEGV),
    };
    signal::force_fault(info);
}

impl UserMemory {
    /// Maps what the fault at `address` needs, or says which signal it
    /// earns: SIGSEGV (SEGV_MAPERR outside every VMA, SEGV_ACCERR where the
    /// VMA forbids the access) or SIGBUS (BUS_ADRERR: past the end of a
    /// mapped file, or no memory).
    pub fn handle_page_fault(&mut self, address: u64, error_code: u64) -> Result<(), SigInfo> {
        let access = if error_code & FAULT_FETCH != 0 {
            FaultAccess::Execute
        } else if error_code & FAULT_WRITE != 0 {
            FaultAccess::Write
        } else {
            FaultAccess::Read
        };
        let present = error_code & FAULT_PRESENT != 0;
        let sigbus = SigInfo::fault(SIGBUS, BUS_ADRERR, address);
        let resolution = self
            .address_space
            .resolve_fault(address, access, present)
            .map_err(|_| {
                let code = match self.address_space.find_vma(address) {
                    Some(_) => SEGV_ACCERR,
                    None => SEGV_MAPERR,
                };
                SigInfo::fault(SIGSEGV, code, address)
            })?;
        let segv = SigInfo::fault(SIGSEGV, SEGV_ACCERR, address);
        match resolution {
            FaultResolution::ZeroFilled { page, permissions } => {
                let frame = alloc_zeroed_frame().ok_or(sigbus)?;
                self.map_new_frame(page, frame, permissions).ok_or(sigbus)
            }
            FaultResolution::GrantWrite { page, .. } => self.grant_write(page).ok_or(segv),
            FaultResolution::CopyOnWrite {
                page,
                file_page,
                permissions,
            } => {
                let old = self
                    .address_space
                    .walker(&DirectMap)
                    .lookup(page)
                    .ok_or(segv)?;
                let cached = is_cached_frame(old.frame);
                if !cached && !frames::is_shared(old.frame) {
                    // The mapping's own frame, which nobody else sees.
                    return self.grant_write(page).ok_or(segv);
                }
                let copy = copy_of(old.frame).ok_or(sigbus)?;
                self.replace_frame(page, copy, permissions).ok_or(segv)?;
                if cached {
                    self.note_private_copy(file_page.as_ref(), page);
                }
                Ok(())
            }
            FaultResolution::Spurious { .. } => Ok(()),
            FaultResolution::SharedPage {
                page,
                source: PageSource::SharedAnonymous { object, index },
                permissions,
            } => {
                let frame = super::shared_memory::page_of(&object, index).ok_or(sigbus)?;
                self.map_new_frame(page, frame, permissions).ok_or(sigbus)
            }
            FaultResolution::SharedPage {
                page,
                source: PageSource::File(source),
                permissions,
            } => self
                .map_cached_page(page, &source, permissions)
                .ok_or(sigbus),
            FaultResolution::PrivateFilePage {
                page,
                source,
                permissions,
            } if permissions.writable => {
                let frame = file_page(&source, None).ok_or(sigbus)?;
                let copy = copy_of(frame).ok_or(sigbus)?;
                self.map_new_frame(page, copy, permissions).ok_or(sigbus)?;
                self.note_private_copy(Some(&source), page);
                Ok(())
            }
            FaultResolution::PrivateFilePage {
                page,
                source,
                permissions,
            } => self
                .map_cached_page(page, &source, permissions)
                .ok_or(sigbus),
        }
    }

    /// Maps the page cache's own frame for `source` at `page`, listed in the
    /// page's reverse map.
    fn map_cached_page(
        &mut self,
        page: u64,
        source: &FilePage,
        permissions: PagePermissions,
    ) -> Option<()> {
        let mapper = Mapper {
            root: self.page_table_root(),
            page,
        };
        let frame = file_page(source, Some(mapper))?;
        self.map_new_frame(page, frame, permissions)
    }

    /// Maps `frame` at `page`. If no page table can be had, the frame is
    /// released as if it had been mapped and unmapped (a cache frame leaves
    /// the reverse map, any other loses this user): `None`.
    ///
    /// The caller hands `frame` to user space: a fresh frame of the mapping's
    /// own, a page-cache page, or a shared object's page, with the user this
    /// mapping is counted already.
    #[allow(unsafe_code)]
    fn map_new_frame(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
    ) -> Option<()> {
        let mut walker = self.address_space.walker(&DirectMap);
        // SAFETY: every caller passes a frame that is this mapping's to show
        // (see above) and stays allocated while mapped: its last user frees
        // it only after the PTE is gone.
        let mapped = unsafe { walker.map_page(page, frame, permissions, &mut KernelFrames) };
        if mapped.is_err() {
            release(self.page_table_root(), frame_leaf(page, frame), None);
        }
        mapped.ok()
    }

    /// Makes the present page at `page` writable in place.
    fn grant_write(&mut self, page: u64) -> Option<()> {
        let flush = self.address_space.walker(&DirectMap).grant_write(page)?;
        flush.invalidate(&mut HardwareTlb);
        Some(())
    }

    /// Puts `frame` (a private copy) in the place of the page mapped at
    /// `page`, releasing the old frame once the TLB has forgotten it.
    #[allow(unsafe_code)]
    fn replace_frame(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
    ) -> Option<()> {
        let root = self.page_table_root();
        let mut walker = self.address_space.walker(&DirectMap);
        // SAFETY: `frame` is a fresh copy that becomes this mapping's own.
        let Some(pending) = (unsafe { walker.replace_frame(page, frame, permissions) }) else {
            frames::free_frame(frame);
            return None;
        };
        pending.finish(&mut HardwareTlb, &mut KernelFrames, |leaf| {
            release(root, leaf, None)
        });
        Some(())
    }

    /// Lists the private copy now mapped at `page` as standing for
    /// `file_page`, so that truncating the page away unmaps the copy too.
    fn note_private_copy(&self, file_page: Option<&FilePage>, page: u64) {
        if let (Some(fs), Some(file_page)) = (crate::fs::root(), file_page) {
            let mapper = Mapper {
                root: self.page_table_root(),
                page,
            };
            fs.note_private_copy(
                file_page.file.id() as ext2::InodeNumber,
                file_page.index,
                mapper,
            );
        }
    }
}

/// Whether `frame` is a page-cache page (shared with the file), not a
/// mapping's own.
fn is_cached_frame(frame: PhysAddr) -> bool {
    crate::fs::root().is_some_and(|fs| fs.is_cached_frame(frame))
}

/// The page cache's frame for a file page (listed under `mapper`), or
/// `None` past the end of the file or on an I/O error (SIGBUS).
fn file_page(source: &FilePage, mapper: Option<Mapper>) -> Option<PhysAddr> {
    let fs = crate::fs::root()?;
    let inode = source.file.id() as ext2::InodeNumber;
    fs.map_file_page(inode, source.index, mapper).ok().flatten()
}

/// A fresh frame holding a copy of `frame`.
#[allow(unsafe_code)]
fn copy_of(frame: PhysAddr) -> Option<PhysAddr> {
    let copy = alloc_frame()?;
    // SAFETY: distinct frames reached through the direct map; `copy` is ours
    // alone and `frame` is only read.
    unsafe {
        core::ptr::copy_nonoverlapping(
            phys_to_virt(frame).as_ptr::<u8>(),
            phys_to_virt(copy).as_mut_ptr::<u8>(),
            PAGE_SIZE as usize,
        );
    }
    Some(copy)
}

/// The leaf a frame would have had, for releasing one that never got mapped.
fn frame_leaf(page: u64, frame: PhysAddr) -> UnmappedLeaf {
    UnmappedLeaf {
        page,
        frame,
        dirty: false,
        accessed: false,
    }
}

/// Gives back the frame of a page that left the address space rooted at
/// `root`: a page-cache frame stays with the cache (its D bit moving to the
/// page); any other frame loses a user, and is freed with its last — and if
/// it was a private copy of `copy_of`, the file's list of copies forgets it.
pub fn release(root: PhysAddr, leaf: UnmappedLeaf, copy_of: Option<&FilePage>) {
    let mapper = Mapper {
        root,
        page: leaf.page,
    };
    let copy_of = copy_of.map(|page| (page.file.id() as ext2::InodeNumber, page.index));
    let cached = crate::fs::root()
        .is_some_and(|fs| fs.unmap_cached_frame(leaf.frame, mapper, leaf.dirty, copy_of));
    if !cached {
        frames::put_frame(leaf.frame);
    }
}

/// A PTE of the address space rooted at `root` moved (mremap): a
/// page-cache frame's reverse map lists it at its new address, and so does
/// the file's list of private copies for a copy of `page.file_page`.
pub fn follow_move(root: PhysAddr, page: MovedPage) {
    let from = Mapper {
        root,
        page: page.from,
    };
    let to = Mapper {
        root,
        page: page.to,
    };
    if let Some(fs) = crate::fs::root() {
        fs.move_mapper(page.frame, from, to, page.file_page.as_ref());
    }
}

//! Exceptions raised in user mode: page faults are resolved through `mm`'s
//! rules; anything else, or a fault `mm` refuses, ends the process with the
//! signal Linux would send.

use super::{Exit, Process, Signal, finish, with_current};
use crate::memory::frames::{alloc_frame, alloc_zeroed_frame};
use crate::memory::machine::{DirectMap, HardwareTlb, KernelFrames, with_machine};
use crate::memory::phys_to_virt;
use arch::trap::TrapFrame;
use mm::address_space::{FaultAccess, FaultResolution, FilePage, PageSource, UnmappedPage};
use mm::frame::PAGE_SIZE;
use mm::page_cache::Mapper;
use mm::walk::PagePermissions;
use mm::walk::UnmappedLeaf;
use x86_64::PhysAddr;

/// Page-fault error-code bits.
pub const FAULT_PRESENT: u64 = 1 << 0;
pub const FAULT_WRITE: u64 = 1 << 1;
const FAULT_FETCH: u64 = 1 << 4;

/// Handles an exception from ring 3; returns only if the process may go on.
pub fn user_exception(frame: &TrapFrame) {
    let (signal, address) = match frame.vector {
        arch::trap::PAGE_FAULT => {
            let address = arch::trap::page_fault_address();
            match with_current(|process| process.handle_page_fault(address, frame.error_code)) {
                Ok(()) => return,
                Err(signal) => (signal, address),
            }
        }
        0 | 16 | 19 => (Signal::Sigfpe, frame.rip),
        6 => (Signal::Sigill, frame.rip),
        1 | 3 => (Signal::Sigtrap, frame.rip),
        17 => (Signal::Sigbus, frame.rip),
        _ => (Signal::Sigsegv, frame.rip),
    };
    finish(Exit::Killed { signal, address })
}

impl Process {
    /// Maps what the fault at `address` needs, or says which signal it earns.
    pub fn handle_page_fault(&mut self, address: u64, error_code: u64) -> Result<(), Signal> {
        let access = if error_code & FAULT_FETCH != 0 {
            FaultAccess::Execute
        } else if error_code & FAULT_WRITE != 0 {
            FaultAccess::Write
        } else {
            FaultAccess::Read
        };
        let present = error_code & FAULT_PRESENT != 0;
        let resolution = self
            .address_space
            .resolve_fault(address, access, present)
            .map_err(|_| Signal::Sigsegv)?;
        match resolution {
            FaultResolution::ZeroFilled { page, permissions } => {
                let frame = alloc_zeroed_frame().ok_or(Signal::Sigbus)?;
                self.map_new_frame(page, frame, permissions)
            }
            FaultResolution::GrantWrite { page, .. } => self.grant_write(page),
            FaultResolution::CopyOnWrite {
                page,
                file_page,
                permissions,
            } => {
                let old = self
                    .address_space
                    .walker(&DirectMap)
                    .lookup(page)
                    .ok_or(Signal::Sigsegv)?;
                if !is_cached_frame(old.frame) {
                    // The mapping's own frame: nobody else sees it.
                    return self.grant_write(page);
                }
                let copy = copy_of(old.frame)?;
                self.replace_frame(page, copy, permissions)?;
                self.note_private_copy(file_page.as_ref(), page);
                Ok(())
            }
            FaultResolution::Spurious { .. } => Ok(()),
            // One process and no mremap: a shared anonymous page has no other
            // mapping to share with, so a fresh zeroed frame serves it.
            FaultResolution::SharedPage {
                page,
                source: PageSource::SharedAnonymous { .. },
                permissions,
            } => {
                let frame = alloc_zeroed_frame().ok_or(Signal::Sigbus)?;
                self.map_new_frame(page, frame, permissions)
            }
            FaultResolution::SharedPage {
                page,
                source: PageSource::File(source),
                permissions,
            } => self.map_cached_page(page, &source, permissions),
            FaultResolution::PrivateFilePage {
                page,
                source,
                permissions,
            } if permissions.writable => {
                let frame = file_page(&source, None)?;
                self.map_new_frame(page, copy_of(frame)?, permissions)?;
                self.note_private_copy(Some(&source), page);
                Ok(())
            }
            FaultResolution::PrivateFilePage {
                page,
                source,
                permissions,
            } => self.map_cached_page(page, &source, permissions),
        }
    }

    /// Maps the page cache's own frame for `source` at `page`, listed in the
    /// page's reverse map.
    fn map_cached_page(
        &mut self,
        page: u64,
        source: &FilePage,
        permissions: PagePermissions,
    ) -> Result<(), Signal> {
        let mapper = Mapper {
            root: self.address_space.page_table_root(),
            page,
        };
        let frame = file_page(source, Some(mapper))?;
        self.map_new_frame(page, frame, permissions)
    }

    /// Maps `frame` at `page`. If no page table can be had, the frame is
    /// released as if it had been mapped and unmapped (a cache frame leaves
    /// the reverse map, the mapping's own frame is freed): SIGBUS.
    fn map_new_frame(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
    ) -> Result<(), Signal> {
        let mapped = self.address_space.walker(&DirectMap).map_page(
            page,
            frame,
            permissions,
            &mut KernelFrames,
        );
        mapped.map_err(|_| {
            release(
                self.address_space.page_table_root(),
                frame_leaf(page, frame),
                None,
            );
            Signal::Sigbus
        })
    }

    /// Makes the present page at `page` writable in place.
    fn grant_write(&mut self, page: u64) -> Result<(), Signal> {
        let flush = self
            .address_space
            .walker(&DirectMap)
            .grant_write(page)
            .ok_or(Signal::Sigsegv)?;
        flush.invalidate(&mut HardwareTlb);
        Ok(())
    }

    /// Puts `frame` (a private copy) in the place of the page mapped at
    /// `page`, releasing the old frame once the TLB has forgotten it.
    fn replace_frame(
        &mut self,
        page: u64,
        frame: PhysAddr,
        permissions: PagePermissions,
    ) -> Result<(), Signal> {
        let root = self.address_space.page_table_root();
        let Some(pending) =
            self.address_space
                .walker(&DirectMap)
                .replace_frame(page, frame, permissions)
        else {
            crate::memory::frames::free_frame(frame);
            return Err(Signal::Sigsegv);
        };
        pending.finish(&mut HardwareTlb, &mut KernelFrames, |leaf| {
            release(root, leaf, None)
        });
        Ok(())
    }

    /// Lists the private copy now mapped at `page` as standing for
    /// `file_page`, so that truncating the page away unmaps the copy too.
    fn note_private_copy(&self, file_page: Option<&FilePage>, page: u64) {
        if let (Some(fs), Some(file_page)) = (crate::fs::root(), file_page) {
            let mapper = Mapper {
                root: self.address_space.page_table_root(),
                page,
            };
            fs.note_private_copy(
                file_page.file.id() as ext2::InodeNumber,
                file_page.index,
                mapper,
            );
        }
    }

    /// The callback munmap and friends report removed pages to.
    pub fn releaser(&self) -> impl FnMut(UnmappedPage) + use<> {
        let root = self.address_space.page_table_root();
        move |page: UnmappedPage| release(root, page.leaf, page.file_page.as_ref())
    }
}

/// The page cache's frame for a file page (listed under `mapper`), or
/// SIGBUS past the end of the file or on an I/O error.
fn file_page(source: &FilePage, mapper: Option<Mapper>) -> Result<PhysAddr, Signal> {
    let fs = crate::fs::root().ok_or(Signal::Sigbus)?;
    let inode = source.file.id() as ext2::InodeNumber;
    match fs.map_file_page(inode, source.index, mapper) {
        Ok(Some(frame)) => Ok(frame),
        Ok(None) | Err(_) => Err(Signal::Sigbus),
    }
}

/// Whether `frame` is a page-cache page (shared with the file), not a
/// mapping's own.
fn is_cached_frame(frame: PhysAddr) -> bool {
    crate::fs::root().is_some_and(|fs| fs.is_cached_frame(frame))
}

/// A fresh frame holding a copy of `frame`.
fn copy_of(frame: PhysAddr) -> Result<PhysAddr, Signal> {
    let copy = alloc_frame().ok_or(Signal::Sigbus)?;
    // SAFETY: distinct frames reached through the direct map; `copy` is ours
    // alone and `frame` is only read.
    unsafe {
        core::ptr::copy_nonoverlapping(
            phys_to_virt(frame).as_ptr::<u8>(),
            phys_to_virt(copy).as_mut_ptr::<u8>(),
            PAGE_SIZE as usize,
        );
    }
    Ok(copy)
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
/// page); any other frame was the mapping's own and is freed — and if it was
/// a private copy of `copy_of`, the file's list of copies forgets it.
pub fn release(root: PhysAddr, leaf: UnmappedLeaf, copy_of: Option<&FilePage>) {
    let mapper = Mapper {
        root,
        page: leaf.page,
    };
    let copy_of = copy_of.map(|page| (page.file.id() as ext2::InodeNumber, page.index));
    let cached = crate::fs::root()
        .is_some_and(|fs| fs.unmap_cached_frame(leaf.frame, mapper, leaf.dirty, copy_of));
    if !cached {
        crate::memory::frames::free_frame(leaf.frame);
    }
}

/// Unmaps a whole address space, releasing every frame.
pub fn unmap_everything(process: &mut Process) {
    let releaser = process.releaser();
    with_machine(|machine| {
        let all = mm::address_space::USER_START..mm::address_space::USER_END;
        process
            .address_space
            .munmap(all.start, all.end - all.start, machine, releaser)
            .expect("unmapping the whole user range is valid");
    });
}

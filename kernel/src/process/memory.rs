//! A process's user memory: its address space (the VMAs and page tables,
//! with `mm`'s rules) and what the kernel keeps beside it. Several processes
//! share one while a vfork child runs (`CLONE_VM`); forking copies it.
//!
//! Page faults are resolved in `fault.rs`, copies between the kernel and
//! user memory in `user_memory.rs`.

use super::fault::{FAULT_PRESENT, FAULT_WRITE, follow_move, release};
use crate::fs::root;
use crate::memory::frames;
use crate::memory::kernel_space;
use crate::memory::machine::{DirectMap, with_machine};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;
use mm::address_space::{
    AddressSpace, CopiedPage, FaultAccess, MmapRequest, MovedPage, SyncRange, UnmappedPage,
    populates,
};
use mm::frame::PAGE_SIZE;
use mm::page_cache::Mapper;
use spin::Mutex;
use x86_64::PhysAddr;

use abi::Errno;

/// A process's memory, shared by the processes that run in it.
pub type MemoryRef = Arc<Mutex<UserMemory>>;

/// There were not enough frames for the page tables.
#[derive(Debug)]
pub struct OutOfMemory;

/// Some page of a range to populate could not be faulted in.
#[derive(Debug)]
pub struct Unpopulated;

pub struct UserMemory {
    pub address_space: AddressSpace,
    /// The list of the last msync plan, emptied and kept so that the next
    /// msync allocates nothing.
    pub msync_ranges: Vec<SyncRange>,
}

impl UserMemory {
    /// An empty user address space over a fresh top-level table that shares
    /// the kernel half.
    #[allow(unsafe_code)]
    pub fn new() -> Result<UserMemory, OutOfMemory> {
        let root = kernel_space::new_user_root().ok_or(OutOfMemory)?;
        // SAFETY: a fresh top-level table with an empty user half, owned by
        // this memory until `drop` frees it after unmapping everything; the
        // direct map reaches it.
        let address_space = unsafe { AddressSpace::new(root) };
        Ok(UserMemory {
            address_space,
            msync_ranges: Vec::new(),
        })
    }

    pub fn page_table_root(&self) -> PhysAddr {
        self.address_space.page_table_root()
    }

    /// The callback munmap and friends report removed pages to.
    pub fn releaser(&self) -> impl FnMut(UnmappedPage) + use<> {
        let root = self.page_table_root();
        move |page: UnmappedPage| release(root, page.leaf, page.file_page.as_ref())
    }

    /// The callback mremap reports moved pages to: a page-cache page's
    /// reverse map, or a private copy's place in its file's list, follows
    /// the PTE to its new address.
    pub fn move_follower(&self) -> impl FnMut(MovedPage) + use<> {
        let root = self.page_table_root();
        move |page: MovedPage| follow_move(root, page)
    }

    /// mmap(2) in this address space, unmapped pages released; populated at
    /// once where Linux would (MAP_POPULATE, MAP_LOCKED, MCL_FUTURE), what
    /// cannot be had left to fault later, as Linux ignores those errors.
    pub fn mmap(&mut self, request: MmapRequest) -> Result<u64, Errno> {
        let (flags, len) = (request.flags, request.len);
        let releaser = self.releaser();
        let addr = with_machine(|machine| self.address_space.mmap(request, machine, releaser))?;
        let vma = self
            .address_space
            .find_vma(addr)
            .expect("mmap maps what it returns");
        if populates(flags, vma) {
            let _ignored = self.populate(addr..addr + len.next_multiple_of(PAGE_SIZE));
        }
        Ok(addr)
    }

    /// Faults in the pages of `range` as Linux's `__mm_populate` does, with
    /// the access `mm` names for each VMA (a write for private writable
    /// memory, so the pages are its own at once). A page that is mapped
    /// well enough already is left as it is. A page that cannot be had
    /// (past the end of its file, out of memory) ends that VMA's part, and a
    /// PROT_NONE VMA cannot be populated at all; the next VMAs are still
    /// populated, and `Err` says something was missed.
    pub fn populate(&mut self, range: Range<u64>) -> Result<(), Unpopulated> {
        let mut outcome = Ok(());
        for (part, access) in self.address_space.population(range) {
            let Some(access) = access else {
                outcome = Err(Unpopulated);
                continue;
            };
            let write = access == FaultAccess::Write;
            for page in part.step_by(PAGE_SIZE as usize) {
                let leaf = self.address_space.walker(&DirectMap).lookup(page);
                let error_code = match leaf {
                    Some(leaf) if !write || leaf.permissions.writable => continue,
                    Some(_) => FAULT_PRESENT | FAULT_WRITE,
                    None if write => FAULT_WRITE,
                    None => 0,
                };
                if self.handle_page_fault(page, error_code).is_err() {
                    outcome = Err(Unpopulated);
                    break;
                }
            }
        }
        outcome
    }

    /// The child's copy for fork: private pages shared copy-on-write (each
    /// frame gets one more user; a page-cache page lists the child's PTE in
    /// its reverse map), shared mappings left to fault in (`mm`'s
    /// `AddressSpace::fork`).
    #[allow(unsafe_code)]
    pub fn fork(&mut self) -> Result<UserMemory, OutOfMemory> {
        let child_root = kernel_space::new_user_root().ok_or(OutOfMemory)?;
        let fs = root();
        let on_copied = |page: CopiedPage| {
            let mapper = Mapper {
                root: child_root,
                page: page.page,
            };
            let cached = fs.is_some_and(|fs| {
                fs.map_cached_frame_again(page.frame, mapper, page.file_page.as_ref())
            });
            if !cached {
                frames::share_frame(page.frame);
            }
        };
        let copied = with_machine(|machine| {
            // SAFETY: a fresh top-level table for the child, as for `new`.
            unsafe { self.address_space.fork(child_root, machine, on_copied) }
        });
        match copied {
            Ok(address_space) => Ok(UserMemory {
                address_space,
                msync_ranges: Vec::new(),
            }),
            Err(failed) => {
                // Dropping what the child got releases it.
                drop(UserMemory {
                    address_space: failed.partial,
                    msync_ranges: Vec::new(),
                });
                Err(OutOfMemory)
            }
        }
    }
}

impl Drop for UserMemory {
    /// Unmaps everything (each page's D bit moving to the page cache, each
    /// frame released, the page tables freed) and frees the root. The CPU
    /// must not be using these tables any more.
    fn drop(&mut self) {
        debug_assert_ne!(
            arch::paging::active_table_root(),
            self.page_table_root(),
            "freeing the page tables the CPU runs on"
        );
        let releaser = self.releaser();
        with_machine(|machine| {
            self.address_space
                .munmap(0, mm::address_space::USER_END, machine, releaser)
                .expect("unmapping the whole user range is valid");
        });
        frames::free_frame(self.page_table_root());
    }
}

//! A process address space on an emulated machine, with shorthands for the
//! system calls, shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::Arc;

use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MAP_TYPE, PROT_READ, PROT_WRITE,
};
use mm::address_space::{
    AddressSpace, Advised, CopiedPage, FileMapping, Layout, Machine, MincoreCursor, MmapRequest,
    MovedPage, MremapRequest, PageSource, Remapped, UnmappedPage,
};
use mm::emulated::{EmulatedFrames, EmulatedMemory, EmulatedTlb};
use mm::frame::{FrameAlloc, PAGE_SIZE, PhysAddr};
use mm::vma::{FileRef, MappedFile};

pub const PAGE: u64 = PAGE_SIZE;

/// Ids of the shared anonymous objects `mmap_request` makes, apart from the
/// test files' ids.
static NEXT_OBJECT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
pub const RW: u32 = PROT_READ | PROT_WRITE;

pub struct TestFile(pub u64);

impl MappedFile for TestFile {
    fn id(&self) -> u64 {
        self.0
    }
}

pub fn file(id: u64) -> FileRef {
    FileRef::new(Arc::new(TestFile(id)))
}

/// A file opened read-write.
pub fn rw_file(id: u64) -> FileMapping {
    FileMapping {
        file: file(id),
        readable: true,
        writable: true,
    }
}

/// A file opened read-only.
pub fn ro_file(id: u64) -> FileMapping {
    FileMapping {
        writable: false,
        ..rw_file(id)
    }
}

pub struct Process {
    pub memory: EmulatedMemory,
    pub frames: EmulatedFrames,
    pub tlb: EmulatedTlb,
    pub space: AddressSpace,
    /// Every page reported by munmap or a replacing mmap.
    pub unmapped: Vec<UnmappedPage>,
    /// The next fake user frame (outside emulated memory, never read).
    next_user_frame: u64,
}

impl Process {
    pub fn new() -> Self {
        Self::with_layout(Layout::default())
    }

    pub fn with_layout(layout: Layout) -> Self {
        let (memory, mut frames) = EmulatedMemory::new(256);
        let root = frames.alloc_frame().expect("a root table");
        let next_user_frame = memory.end().as_u64();
        Process {
            tlb: memory.tlb(),
            memory,
            frames,
            // SAFETY: a fresh zeroed frame of this process's own emulated
            // memory, which every call on the address space is given.
            space: unsafe { AddressSpace::with_layout(root, layout) },
            unmapped: Vec::new(),
            next_user_frame,
        }
    }

    /// The address space, the emulated machine it runs on, and the log of
    /// unmapped pages, borrowed apart so that a system call can take all three.
    fn parts(
        &mut self,
    ) -> (
        &mut AddressSpace,
        Machine<'_, EmulatedMemory, EmulatedFrames, EmulatedTlb>,
        &mut Vec<UnmappedPage>,
    ) {
        let machine = Machine {
            phys: &self.memory,
            frames: &mut self.frames,
            tlb: &mut self.tlb,
        };
        (&mut self.space, machine, &mut self.unmapped)
    }

    /// mmap(2) as the kernel calls it: a shared anonymous mapping gets a
    /// fresh object of its own (the kernel's shmem object).
    pub fn mmap_request(&mut self, mut request: MmapRequest) -> Result<u64, Errno> {
        let shared_anonymous =
            request.flags & MAP_ANONYMOUS != 0 && request.flags & MAP_TYPE == MAP_SHARED;
        if shared_anonymous && request.file.is_none() {
            request.file = Some(rw_file(
                NEXT_OBJECT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ));
        }
        let (space, mut machine, unmapped) = self.parts();
        space.mmap(request, &mut machine, |page| unmapped.push(page))
    }

    pub fn mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u64,
        file: Option<FileMapping>,
        offset: u64,
    ) -> Result<u64, Errno> {
        self.mmap_request(MmapRequest {
            addr,
            len,
            prot,
            flags,
            file,
            offset,
        })
    }

    /// A read-write private anonymous mapping at exactly `addr`.
    pub fn map_anonymous(&mut self, addr: u64, len: u64) -> u64 {
        self.mmap(
            addr,
            len,
            RW,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .expect("anonymous mapping")
    }

    /// A read-write shared mapping of file `id` at exactly `addr`.
    pub fn map_shared_file(&mut self, addr: u64, len: u64, id: u64, offset: u64) -> u64 {
        self.mmap(
            addr,
            len,
            RW,
            MAP_SHARED | MAP_FIXED,
            Some(rw_file(id)),
            offset,
        )
        .expect("shared file mapping")
    }

    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        let (space, mut machine, unmapped) = self.parts();
        space.munmap(addr, len, &mut machine, |page| unmapped.push(page))
    }

    /// mremap(2); the pages that moved are returned beside the answer.
    pub fn mremap(&mut self, request: MremapRequest) -> (Result<Remapped, Errno>, Vec<MovedPage>) {
        let mut moved = Vec::new();
        let (space, mut machine, unmapped) = self.parts();
        let result = space.mremap(
            request,
            &mut machine,
            |page| unmapped.push(page),
            |page| moved.push(page),
        );
        (result, moved)
    }

    /// mincore(2) into a vector at user address `vec`, with `cached` saying
    /// which file pages the page cache holds, carried out as the kernel
    /// does: the bytes copied out (in order, from `vec` on) and the answer.
    pub fn mincore_with(
        &self,
        addr: u64,
        len: u64,
        vec: u64,
        mut cached: impl FnMut(&PageSource) -> bool,
    ) -> (Vec<u8>, Result<(), Errno>) {
        let mut out = Vec::new();
        let mut cursor = match MincoreCursor::new(addr, len, vec) {
            Ok(cursor) => cursor,
            Err(errno) => return (out, Err(errno)),
        };
        let mut piece = [0u8; 512];
        while let Some(next) =
            self.space
                .mincore_piece(&self.memory, &mut cursor, &mut piece, &mut cached)
        {
            match next {
                Ok((at, count)) => {
                    assert_eq!(at, vec + out.len() as u64, "pieces out of order");
                    out.extend_from_slice(&piece[..count]);
                }
                Err(errno) => return (out, Err(errno)),
            }
        }
        (out, Ok(()))
    }

    /// mincore(2) of memory without file pages in the cache.
    pub fn mincore(&self, addr: u64, len: u64) -> Result<Vec<u8>, Errno> {
        let (bytes, result) = self.mincore_with(addr, len, 0x1000_0000, |_| false);
        result.map(|()| bytes)
    }

    pub fn brk(&mut self, requested: u64) -> u64 {
        let (space, mut machine, unmapped) = self.parts();
        space.brk(requested, &mut machine, |page| unmapped.push(page))
    }

    /// madvise(2)'s result, for advice that removes nothing from objects.
    pub fn madvise(&mut self, addr: u64, len: u64, advice: i32) -> Result<(), Errno> {
        let advised = self.madvise_removing(addr, len, advice);
        assert!(advised.removals.is_empty(), "{advised:?}");
        advised.result
    }

    /// madvise(2) with what MADV_REMOVE leaves for the kernel to take out.
    pub fn madvise_removing(&mut self, addr: u64, len: u64, advice: i32) -> Advised {
        let (space, mut machine, unmapped) = self.parts();
        space.madvise(addr, len, advice, &mut machine, |page| unmapped.push(page))
    }

    /// The emulated machine alone, for a call on another address space in
    /// the same memory (a forked child's).
    pub fn machine(&mut self) -> Machine<'_, EmulatedMemory, EmulatedFrames, EmulatedTlb> {
        self.parts().1
    }

    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> Result<(), Errno> {
        let (space, mut machine, _) = self.parts();
        space.mprotect(addr, len, prot, &mut machine)
    }

    /// fork(2)'s address-space half: the child's address space, in tables
    /// of the same emulated memory, and the pages it was given.
    pub fn fork(&mut self) -> (AddressSpace, Vec<CopiedPage>) {
        let child_root = self.frames.alloc_frame().expect("a root table");
        let mut copied = Vec::new();
        let (space, mut machine, _) = self.parts();
        // SAFETY: a fresh zeroed frame of the same emulated memory.
        let child = unsafe { space.fork(child_root, &mut machine, |page| copied.push(page)) }
            .unwrap_or_else(|_| panic!("no page tables for the child"));
        (child, copied)
    }

    /// Faults `page` in as the kernel would: a fresh frame, mapped with the
    /// VMA's permissions. Returns the frame.
    pub fn touch(&mut self, page: u64) -> PhysAddr {
        let permissions = self
            .space
            .find_vma(page)
            .expect("touching an unmapped page")
            .page_permissions();
        let frame = PhysAddr::new(self.next_user_frame);
        self.next_user_frame += PAGE;
        // SAFETY: a fake user frame outside the emulated memory, never
        // dereferenced.
        unsafe {
            self.space
                .walker(&self.memory)
                .map_page(page, frame, permissions, &mut self.frames)
        }
        .expect("mapping a page");
        frame
    }

    /// The VMAs as (start, end) pairs.
    pub fn layout(&self) -> Vec<(u64, u64)> {
        self.space.vmas().iter().map(|v| (v.start, v.end)).collect()
    }
}

impl Process {
    /// A user-mode store to `addr`, as the MMU performs it (sets A and D).
    /// False where the CPU would fault.
    pub fn store(&self, addr: u64) -> bool {
        self.memory.user_store(self.space.page_table_root(), addr)
    }
}

//! An emulated machine for host tests and benchmarks: physical memory made of
//! heap frames, a frame allocator over it that catches double frees, and a
//! TLB that records what it was asked to invalidate.
//!
//! Only page tables need real bytes; the frames that leaves point to can be
//! any aligned address outside the emulated memory, since `mm` never reads
//! user data.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess, PhysAddr};
use crate::walk::TlbInvalidate;

/// Physical address of the first emulated frame (not zero, so that a zero
/// entry can never look like a valid table address).
const BASE: u64 = 0x10_0000;

/// A run of emulated 4 KiB frames starting at physical address `BASE`.
pub struct EmulatedMemory {
    frames: Vec<Box<[AtomicU64; 512]>>,
}

impl EmulatedMemory {
    /// `frame_count` zeroed frames, and an allocator that owns all of them.
    pub fn new(frame_count: usize) -> (EmulatedMemory, EmulatedFrames) {
        let frames = (0..frame_count)
            .map(|_| Box::new([const { AtomicU64::new(0) }; 512]))
            .collect();
        let allocator = EmulatedFrames {
            free: (0..frame_count as u64)
                .rev()
                .map(|index| PhysAddr::new(BASE + index * PAGE_SIZE))
                .collect(),
            allocated: alloc::vec![false; frame_count],
        };
        (EmulatedMemory { frames }, allocator)
    }

    /// The first physical address past the emulated memory: tests use
    /// frames from here on as user pages that are never dereferenced.
    pub fn end(&self) -> PhysAddr {
        PhysAddr::new(BASE + self.frames.len() as u64 * PAGE_SIZE)
    }

    /// Entry `index` of the page table in `table`, for tests that build
    /// entries by hand.
    pub fn entry(&self, table: PhysAddr, index: usize) -> &AtomicU64 {
        let offset = table
            .as_u64()
            .checked_sub(BASE)
            .expect("below emulated memory");
        &self.frames[(offset / PAGE_SIZE) as usize][index]
    }

    /// What the MMU does for a user-mode store to `addr` under the tables
    /// rooted at `root` (with nothing cached in a TLB): translate through
    /// four levels, setting the A bit of every entry it uses and the D bit of
    /// the leaf. Returns false where the CPU would page-fault (not present,
    /// not user, or read-only).
    pub fn user_store(&self, root: PhysAddr, addr: u64) -> bool {
        const REQUIRED: u64 = 0b111; // present, writable, user
        const ACCESSED: u64 = 0x20;
        const ACCESSED_AND_DIRTY: u64 = 0x60;
        let mut table = root;
        for shift in [39, 30, 21, 12] {
            let slot = self.entry(table, ((addr >> shift) % 512) as usize);
            let entry = slot.load(Ordering::Acquire);
            if entry & REQUIRED != REQUIRED {
                return false;
            }
            let used = if shift == 12 {
                ACCESSED_AND_DIRTY
            } else {
                ACCESSED
            };
            slot.fetch_or(used, Ordering::AcqRel);
            table = PhysAddr::new(entry & 0x000f_ffff_ffff_f000);
        }
        true
    }
}

impl PhysAccess for EmulatedMemory {
    fn phys_to_ptr(&self, phys: PhysAddr) -> *mut u8 {
        let offset = phys
            .as_u64()
            .checked_sub(BASE)
            .expect("below emulated memory");
        let frame = &self.frames[(offset / PAGE_SIZE) as usize];
        frame
            .as_ptr()
            .cast::<u8>()
            .cast_mut()
            .wrapping_add((offset % PAGE_SIZE) as usize)
    }
}

/// The allocator of an [`EmulatedMemory`]'s frames.
pub struct EmulatedFrames {
    free: Vec<PhysAddr>,
    allocated: Vec<bool>,
}

impl EmulatedFrames {
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    fn index(frame: PhysAddr) -> usize {
        ((frame.as_u64() - BASE) / PAGE_SIZE) as usize
    }
}

impl FrameAlloc for EmulatedFrames {
    fn alloc_frame(&mut self) -> Option<PhysAddr> {
        let frame = self.free.pop()?;
        self.allocated[Self::index(frame)] = true;
        Some(frame)
    }

    fn free_frame(&mut self, frame: PhysAddr) {
        let allocated = &mut self.allocated[Self::index(frame)];
        assert!(*allocated, "double free of {frame:?}");
        *allocated = false;
        self.free.push(frame);
    }
}

/// A TLB that remembers the invalidations it was asked for.
#[derive(Debug, Default)]
pub struct RecordingTlb {
    pub invalidated_pages: Vec<u64>,
    pub full_flushes: usize,
}

impl TlbInvalidate for RecordingTlb {
    fn invalidate_page(&mut self, page: u64) {
        self.invalidated_pages.push(page);
    }

    fn invalidate_all(&mut self) {
        self.full_flushes += 1;
    }
}

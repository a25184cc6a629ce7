//! An emulated machine for host tests and benchmarks: physical memory made of
//! heap frames, a frame allocator over it that catches double frees, and an
//! MMU with a TLB that is wrong the way hardware is: a translation it cached
//! stays in use until it is invalidated, so a missed invalidation shows up as
//! a store that should have faulted, or a D bit that never reaches the page
//! table, rather than as a missing log entry.
//!
//! Only page tables need real bytes; the frames that leaves point to can be
//! any aligned address outside the emulated memory, since `mm` never reads
//! user data.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess, PhysAddr};
use crate::walk::TlbInvalidate;

/// Physical address of the first emulated frame (not zero, so that a zero
/// entry can never look like a valid table address).
const BASE: u64 = 0x10_0000;

/// Page-table entry bits the emulated MMU reads and sets.
const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const USER: u64 = 1 << 2;
const ACCESSED: u64 = 1 << 5;
const DIRTY: u64 = 1 << 6;
const FRAME: u64 = 0x000f_ffff_ffff_f000;

/// What a TLB entry remembers of a leaf: whether it allowed writing and
/// whether its D bit was known to be set (then a store does not touch the
/// page table at all).
#[derive(Clone, Copy, Debug)]
struct Translation {
    writable: bool,
    dirty: bool,
}

/// The one CPU's TLB: translations of the address space whose root was last
/// used (a store under another root is a CR3 load, which drops them all).
#[derive(Debug, Default)]
struct TlbEntries {
    root: Option<PhysAddr>,
    pages: BTreeMap<u64, Translation>,
}

/// A run of emulated 4 KiB frames starting at physical address `BASE`, and
/// the MMU that reaches them.
pub struct EmulatedMemory {
    frames: Vec<Box<[AtomicU64; 512]>>,
    tlb: Rc<RefCell<TlbEntries>>,
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
        let memory = EmulatedMemory {
            frames,
            tlb: Rc::default(),
        };
        (memory, allocator)
    }

    /// The TLB of this memory's MMU, as the page-table code invalidates it.
    pub fn tlb(&self) -> EmulatedTlb {
        EmulatedTlb {
            entries: Rc::clone(&self.tlb),
            invalidated_pages: Vec::new(),
            full_flushes: 0,
        }
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
    /// rooted at `root`. A cached translation that allows writing is used as
    /// it is, even if the page table changed since: with its D bit known set
    /// the store touches no entry; otherwise the MMU walks again to set D,
    /// and faults if the leaf no longer allows the store. Without a cached
    /// translation it walks the four levels, setting the A bit of every
    /// entry it uses and the D bit of the leaf, and caches the result.
    /// Returns false where the CPU would page-fault (not present, not user,
    /// or read-only); a fault drops the page's cached translation.
    pub fn user_store(&self, root: PhysAddr, addr: u64) -> bool {
        let page = addr & !(PAGE_SIZE - 1);
        let mut tlb = self.tlb.borrow_mut();
        if tlb.root != Some(root) {
            tlb.root = Some(root);
            tlb.pages.clear();
        }
        if let Some(cached) = tlb.pages.get(&page).copied() {
            if cached.writable && cached.dirty {
                return true;
            }
            tlb.pages.remove(&page);
            if !cached.writable {
                return false;
            }
        }
        let stored = self.walk_for_store(root, page);
        if stored {
            let translation = Translation {
                writable: true,
                dirty: true,
            };
            tlb.pages.insert(page, translation);
        }
        stored
    }

    /// The page walk of a store: A on every level and D on the leaf, or
    /// false if some level does not allow a user store.
    fn walk_for_store(&self, root: PhysAddr, page: u64) -> bool {
        const REQUIRED: u64 = PRESENT | WRITABLE | USER;
        let mut table = root;
        for shift in [39, 30, 21, 12] {
            let slot = self.entry(table, ((page >> shift) % 512) as usize);
            let entry = slot.load(Ordering::Acquire);
            if entry & REQUIRED != REQUIRED {
                return false;
            }
            let used = if shift == 12 {
                ACCESSED | DIRTY
            } else {
                ACCESSED
            };
            slot.fetch_or(used, Ordering::AcqRel);
            table = PhysAddr::new(entry & FRAME);
        }
        true
    }

    /// Whether a translation for the page of `addr` is cached (for tests of
    /// the invalidation protocol).
    pub fn tlb_holds(&self, addr: u64) -> bool {
        self.tlb
            .borrow()
            .pages
            .contains_key(&(addr & !(PAGE_SIZE - 1)))
    }
}

// SAFETY: every frame of the emulated memory is a boxed array of 512
// `AtomicU64` (4 KiB, 8-byte aligned) that lives as long as `self`; the
// allocator paired with it hands out only those frames.
#[allow(unsafe_code)]
unsafe impl PhysAccess for EmulatedMemory {
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

// SAFETY: a frame leaves the free list when handed out and returns only
// through `free_frame`, which panics on a double free; all of them are
// frames of the paired `EmulatedMemory`.
#[allow(unsafe_code)]
unsafe impl FrameAlloc for EmulatedFrames {
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

/// The emulated MMU's TLB as the page-table code sees it: invalidating an
/// entry drops the cached translation, and every request is also recorded.
#[derive(Debug)]
pub struct EmulatedTlb {
    entries: Rc<RefCell<TlbEntries>>,
    pub invalidated_pages: Vec<u64>,
    pub full_flushes: usize,
}

impl TlbInvalidate for EmulatedTlb {
    fn invalidate_page(&mut self, page: u64) {
        self.entries.borrow_mut().pages.remove(&page);
        self.invalidated_pages.push(page);
    }

    fn invalidate_all(&mut self) {
        self.entries.borrow_mut().pages.clear();
        self.full_flushes += 1;
    }
}

//! The kernel's physical frame allocator: `mm`'s bitmap allocator behind a lock.
// The frame bitmap lives in a static the allocator owns, and the x86_64 crate's
// `FrameAllocator` is an unsafe trait.
#![allow(unsafe_code)]

use alloc::collections::BTreeMap;
use mm::frame::{BitmapFrameAllocator, FrameAlloc};
use mm::phys_ranges::PhysRange;
use spin::{Mutex, Once};
use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

/// Physical memory the bitmap can describe; frames above are not used.
const MAX_PHYSICAL_BYTES: u64 = 16 << 30;
const BITMAP_WORDS: usize = (MAX_PHYSICAL_BYTES / 4096 / 64) as usize;

/// The allocator's bitmap, in `.bss`, handed to the allocator once.
struct Bitmap(core::cell::UnsafeCell<[u64; BITMAP_WORDS]>);

// SAFETY: borrowed only once, inside `FRAMES.call_once`.
unsafe impl Sync for Bitmap {}

static FREE_BITS: Bitmap = Bitmap(core::cell::UnsafeCell::new([0; BITMAP_WORDS]));
static FRAMES: Once<Mutex<BitmapFrameAllocator>> = Once::new();

pub fn init(usable: &[PhysRange]) {
    if usable
        .last()
        .is_some_and(|range| range.end > MAX_PHYSICAL_BYTES)
    {
        log::warn!("memory above {} GiB is not used", MAX_PHYSICAL_BYTES >> 30);
    }
    FRAMES.call_once(|| {
        // SAFETY: `FREE_BITS` is borrowed exactly once, here, inside `call_once`.
        let bits = unsafe { &mut *FREE_BITS.0.get() };
        Mutex::new(BitmapFrameAllocator::new(bits, usable))
    });
}

fn allocator() -> &'static Mutex<BitmapFrameAllocator> {
    FRAMES.get().expect("frame allocator used before init")
}

pub fn alloc_frame() -> Option<PhysAddr> {
    allocator().lock().alloc_frame()
}

/// A frame filled with zeros.
pub fn alloc_zeroed_frame() -> Option<PhysAddr> {
    let frame = alloc_frame()?;
    // SAFETY: a frame just taken from the allocator is ours alone, and the
    // direct map covers all of physical memory.
    unsafe {
        super::phys_to_virt(frame)
            .as_mut_ptr::<u8>()
            .write_bytes(0, 4096)
    };
    Some(frame)
}

pub fn free_frame(frame: PhysAddr) {
    allocator().lock().free_frame(frame);
}

/// User frames with more than one user — page-table entries of several
/// address spaces after fork, or a shared memory object and its mappings —
/// and how many users beyond the first each has. A frame not listed has
/// one user. Page-cache frames are the cache's and are not counted here.
static EXTRA_USERS: Mutex<BTreeMap<u64, u32>> = Mutex::new(BTreeMap::new());

/// `frame` has one more user.
pub fn share_frame(frame: PhysAddr) {
    *EXTRA_USERS.lock().entry(frame.as_u64()).or_default() += 1;
}

/// Whether `frame` has more than one user (a store must copy it first).
pub fn is_shared(frame: PhysAddr) -> bool {
    EXTRA_USERS.lock().contains_key(&frame.as_u64())
}

/// `frame` has one user fewer; the last user's call frees it.
pub fn put_frame(frame: PhysAddr) {
    let last = {
        let mut extra = EXTRA_USERS.lock();
        match extra.get_mut(&frame.as_u64()) {
            Some(1) => {
                extra.remove(&frame.as_u64());
                false
            }
            Some(count) => {
                *count -= 1;
                false
            }
            None => true,
        }
    };
    if last {
        free_frame(frame);
    }
}

pub fn alloc_contiguous(count: usize) -> Option<PhysAddr> {
    allocator().lock().alloc_contiguous(count)
}

/// Returns `count` frames from [`alloc_contiguous`] to the allocator.
pub fn free_contiguous(start: PhysAddr, count: usize) {
    allocator().lock().free_contiguous(start, count);
}

pub fn free_count() -> usize {
    allocator().lock().free_count()
}

/// The global allocator as the `x86_64` crate's page-table code wants it.
pub struct GlobalFrames;

// SAFETY: every frame handed out is unused and is not handed out again until freed.
unsafe impl x86_64::structures::paging::FrameAllocator<Size4KiB> for GlobalFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        alloc_zeroed_frame().map(PhysFrame::containing_address)
    }
}

crate::kernel_test!(a_shared_frame_is_freed_by_its_last_user, {
    let before = free_count();
    let frame = alloc_frame().expect("a free frame");
    share_frame(frame);
    share_frame(frame);
    assert!(is_shared(frame));
    put_frame(frame);
    put_frame(frame);
    assert!(!is_shared(frame));
    assert_eq!(
        free_count(),
        before - 1,
        "freed before its last user let go"
    );
    put_frame(frame);
    assert_eq!(free_count(), before);
});

crate::kernel_test!(frame_allocator_round_trip, {
    let before = free_count();
    let a = alloc_frame().expect("a free frame");
    let b = alloc_frame().expect("a second free frame");
    assert_ne!(a, b);
    assert_eq!(free_count(), before - 2);
    free_frame(a);
    free_frame(b);
    assert_eq!(free_count(), before);
});

//! The kernel heap behind `alloc`: a buddy allocator (the
//! `buddy_system_allocator` crate) over physically contiguous runs of frames
//! reached through the direct map. It starts at a sixteenth of usable memory
//! and grows by whole runs of frames when an allocation does not fit.
// The global allocator: handing memory to the buddy allocator and checking it.
#![allow(unsafe_code)]

use super::frames::{alloc_contiguous, free_count};
use super::phys_to_virt;
use buddy_system_allocator::{Heap, LockedHeapWithRescue};
use core::alloc::Layout;
use core::sync::atomic::{AtomicUsize, Ordering};

const HEAP_ORDER: usize = 32;
const MIN_GROWTH: usize = 1 << 20;
const MAX_INITIAL: usize = 32 << 20;

#[global_allocator]
static HEAP: LockedHeapWithRescue<HEAP_ORDER> = LockedHeapWithRescue::new(grow);

static HEAP_BYTES: AtomicUsize = AtomicUsize::new(0);

pub fn init() {
    let initial = (free_count() * 4096 / 16).clamp(MIN_GROWTH, MAX_INITIAL);
    let mut heap = HEAP.lock();
    add_frames(&mut heap, initial);
    assert!(size() > 0, "no memory for the kernel heap");
}

/// Bytes of memory the heap manages.
pub fn size() -> usize {
    HEAP_BYTES.load(Ordering::Relaxed)
}

/// Called with the heap locked when `layout` does not fit.
fn grow(heap: &mut Heap<HEAP_ORDER>, layout: &Layout) {
    let needed = layout.size().max(layout.align()).next_power_of_two() * 2;
    add_frames(heap, needed.max(MIN_GROWTH));
}

fn add_frames(heap: &mut Heap<HEAP_ORDER>, bytes: usize) {
    let pages = bytes.div_ceil(4096);
    let Some(start) = alloc_contiguous(pages) else {
        log::warn!("heap cannot grow by {bytes} bytes: no contiguous memory");
        return;
    };
    let virt = phys_to_virt(start).as_u64() as usize;
    // SAFETY: the frames were just taken from the allocator, are reached only
    // through this range of the direct map, and are never given back.
    unsafe { heap.add_to_heap(virt, virt + pages * 4096) };
    HEAP_BYTES.fetch_add(pages * 4096, Ordering::Relaxed);
}

crate::kernel_test!(heap_allocates_many_sizes_and_alignments, {
    use alloc::vec::Vec;
    let mut blocks = Vec::new();
    for shift in 0..=20 {
        for extra in [0usize, 1, 7] {
            let size = (1usize << shift) + extra;
            let align = 1usize << (shift % 13);
            let layout = Layout::from_size_align(size, align).expect("valid layout");
            // SAFETY: a non-zero size; freed below with the same layout.
            let block = unsafe { alloc::alloc::alloc(layout) };
            assert!(!block.is_null(), "allocating {size} bytes failed");
            assert_eq!(block as usize % align, 0, "misaligned {size}-byte block");
            // SAFETY: the block is ours and `size` bytes long.
            unsafe { block.write_bytes(shift as u8, size) };
            blocks.push((block, layout, shift as u8));
        }
    }
    for (block, layout, fill) in blocks {
        // SAFETY: reading back the bytes we wrote, then freeing with the same layout.
        unsafe {
            let bytes = core::slice::from_raw_parts(block, layout.size());
            assert!(
                bytes.iter().all(|&b| b == fill),
                "block of {} bytes corrupted",
                layout.size()
            );
            alloc::alloc::dealloc(block, layout);
        }
    }
});

crate::kernel_test!(heap_grows_beyond_its_initial_size, {
    use alloc::vec::Vec;
    let before = size();
    let big: Vec<u8> = alloc::vec![0xa5; before + (1 << 20)];
    assert!(size() > before, "heap did not grow");
    assert!(big.iter().all(|&b| b == 0xa5));
});

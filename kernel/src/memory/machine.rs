//! The kernel's implementations of the services `mm` asks for: frames through
//! the direct map, the global frame allocator, and the hardware TLB.

use super::{frames, phys_to_virt};
use mm::address_space::Machine;
use mm::frame::{FrameAlloc, PhysAccess};
use mm::walk::TlbInvalidate;
use x86_64::{PhysAddr, VirtAddr};

/// Every frame is reachable through the direct map.
pub struct DirectMap;

// SAFETY: the direct map covers all of physical memory with writable 4 KiB
// pages for as long as the kernel runs, so every frame's pointer is valid
// (and 8-byte aligned: frames are 4 KiB aligned).
#[allow(unsafe_code)]
unsafe impl PhysAccess for DirectMap {
    fn phys_to_ptr(&self, phys: PhysAddr) -> *mut u8 {
        phys_to_virt(phys).as_mut_ptr()
    }
}

/// The global frame allocator, one lock acquisition per call.
pub struct KernelFrames;

// SAFETY: `frames::alloc_frame` hands out each free frame once (the bitmap
// allocator's promise) and the direct map reaches it.
#[allow(unsafe_code)]
unsafe impl FrameAlloc for KernelFrames {
    fn alloc_frame(&mut self) -> Option<PhysAddr> {
        frames::alloc_frame()
    }

    fn free_frame(&mut self, frame: PhysAddr) {
        frames::free_frame(frame);
    }
}

/// `invlpg`, or a CR3 reload for many pages. User pages are never global, so
/// the reload drops them all.
pub struct HardwareTlb;

impl TlbInvalidate for HardwareTlb {
    fn invalidate_page(&mut self, page: u64) {
        arch::paging::invalidate_page(VirtAddr::new(page));
    }

    fn invalidate_all(&mut self) {
        arch::paging::invalidate_all_non_global();
    }
}

/// Runs `f` with the machine services `mm`'s address-space operations take.
pub fn with_machine<R>(
    f: impl FnOnce(&mut Machine<'_, DirectMap, KernelFrames, HardwareTlb>) -> R,
) -> R {
    let (mut frames, mut tlb) = (KernelFrames, HardwareTlb);
    f(&mut Machine {
        phys: &DirectMap,
        frames: &mut frames,
        tlb: &mut tlb,
    })
}

//! Kernel stacks, each with an unmapped guard page below it so that an
//! overflow faults instead of corrupting what lies beneath.

use super::frames::alloc_frame;
use super::kernel_space::map_page;
use arch::layout::KERNEL_STACKS_BASE;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::VirtAddr;

/// Stack sizes in 4 KiB pages.
pub const MAIN_STACK_PAGES: usize = 64;
pub const INTERRUPT_STACK_PAGES: usize = 8;

/// Virtual space per stack: the stack at the top, unmapped space (the guard
/// page and more) below.
const SLOT_BYTES: u64 = 1 << 20;

static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);

/// A mapped kernel stack. Stacks live as long as the kernel.
pub struct KernelStack {
    top: VirtAddr,
    pages: usize,
}

/// There were not enough free frames for the stack.
#[derive(Debug)]
pub struct OutOfMemory;

impl KernelStack {
    pub fn new(pages: usize) -> Result<KernelStack, OutOfMemory> {
        assert!((pages as u64 + 1) * 4096 <= SLOT_BYTES, "stack too large");
        let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        let top = VirtAddr::new(KERNEL_STACKS_BASE + (slot + 1) * SLOT_BYTES);
        for page in 1..=pages as u64 {
            let frame = alloc_frame().ok_or(OutOfMemory)?;
            map_page(top - page * 4096, frame).map_err(|_| OutOfMemory)?;
        }
        Ok(KernelStack { top, pages })
    }

    pub fn top(&self) -> VirtAddr {
        self.top
    }

    /// The unmapped page just below the stack.
    pub fn guard_page(&self) -> VirtAddr {
        self.top - (self.pages as u64 + 1) * 4096
    }
}

/// Whether `addr` lies in the slots of the stacks made so far. Only stacks are
/// mapped there, so a fault at such an address hit the unmapped space below a
/// stack: its guard page, or beyond.
pub fn in_stack_space(addr: u64) -> bool {
    let slots_end = KERNEL_STACKS_BASE + NEXT_SLOT.load(Ordering::Relaxed) * SLOT_BYTES;
    (KERNEL_STACKS_BASE..slots_end).contains(&addr)
}

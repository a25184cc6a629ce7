//! Kernel stacks, each with an unmapped guard page below it so that an
//! overflow faults instead of corrupting what lies beneath.

use super::frames::{alloc_frame, free_frame};
use super::kernel_space::{map_page, unmap_page};
use arch::layout::KERNEL_STACKS_BASE;
use spin::Mutex;
use x86_64::VirtAddr;

/// Stack sizes in 4 KiB pages.
pub const MAIN_STACK_PAGES: usize = 64;
pub const INTERRUPT_STACK_PAGES: usize = 8;

/// Virtual space per stack: the stack at the top, unmapped space (the guard
/// page and more) below.
const SLOT_BYTES: u64 = 1 << 20;

/// Stack slots, one bit each, set when in use. Freed slots are reused, so the
/// page tables covering them are built once.
const SLOT_WORDS: usize = 8;
const SLOT_COUNT: u64 = SLOT_WORDS as u64 * 64;
static SLOTS_IN_USE: Mutex<[u64; SLOT_WORDS]> = Mutex::new([0; SLOT_WORDS]);

/// A mapped kernel stack; dropping it unmaps it and frees its frames.
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
        let slot = take_slot().ok_or(OutOfMemory)?;
        let top = VirtAddr::new(KERNEL_STACKS_BASE + (slot + 1) * SLOT_BYTES);
        // Built page by page so that a failure leaves a stack `drop` can undo.
        let mut stack = KernelStack { top, pages: 0 };
        for page in 1..=pages as u64 {
            let frame = alloc_frame().ok_or(OutOfMemory)?;
            if map_page(top - page * 4096, frame).is_err() {
                free_frame(frame);
                return Err(OutOfMemory);
            }
            stack.pages += 1;
        }
        Ok(stack)
    }

    /// Keeps the stack mapped for the kernel's lifetime; returns its top.
    pub fn into_permanent(self) -> VirtAddr {
        let top = self.top;
        core::mem::forget(self);
        top
    }

    pub fn top(&self) -> VirtAddr {
        self.top
    }

    /// The unmapped page just below the stack.
    pub fn guard_page(&self) -> VirtAddr {
        self.top - (self.pages as u64 + 1) * 4096
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        for page in 1..=self.pages as u64 {
            let frame = unmap_page(self.top - page * 4096).expect("stack pages are mapped");
            free_frame(frame);
        }
        let slot = (self.top.as_u64() - KERNEL_STACKS_BASE) / SLOT_BYTES - 1;
        SLOTS_IN_USE.lock()[slot as usize / 64] &= !(1 << (slot % 64));
    }
}

fn take_slot() -> Option<u64> {
    let mut slots = SLOTS_IN_USE.lock();
    let (word, bits) = slots
        .iter_mut()
        .enumerate()
        .find(|(_, bits)| **bits != u64::MAX)?;
    let bit = bits.trailing_ones();
    *bits |= 1 << bit;
    Some(word as u64 * 64 + u64::from(bit))
}

/// Whether `addr` lies in kernel-stack space. Only stacks are mapped there,
/// so a fault at such an address hit the unmapped space below a stack: its
/// guard page, or beyond.
pub fn in_stack_space(addr: u64) -> bool {
    (KERNEL_STACKS_BASE..KERNEL_STACKS_BASE + SLOT_COUNT * SLOT_BYTES).contains(&addr)
}

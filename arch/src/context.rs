//! Switching the CPU from one kernel thread to another.
//!
//! A suspended thread is its kernel stack: the callee-saved registers pushed
//! on it and the stack pointer kept in its [`SavedContext`]. [`switch`] saves
//! the running thread that way and resumes another; the resumed thread
//! returns from its own earlier call to `switch`. A new thread's stack is
//! prepared by [`SavedContext::new_user_thread`] so that its first "return"
//! runs a start function and then enters user mode from a [`TrapFrame`].

use crate::trap::{TrapFrame, pop_general_registers};
use core::arch::naked_asm;

/// The stack pointer of a thread that is not running.
#[repr(C)]
#[derive(Debug, Default)]
pub struct SavedContext {
    rsp: u64,
}

/// The callee-saved registers in the order [`switch`] pushes them (the
/// lowest address first), as a new thread's stack starts out.
#[repr(C)]
struct CalleeSaved {
    r15: u64,
    r14: u64,
    r13: u64,
    r12: u64,
    rbx: u64,
    rbp: u64,
    return_address: u64,
}

impl SavedContext {
    /// Prepares the kernel stack ending at `stack_top` (16-byte aligned) for
    /// a thread that starts by calling `start` and then enters user mode with
    /// the registers of `frame`. Returns the context to [`switch`] to.
    ///
    /// # Safety
    /// `stack_top` must be the top of a mapped kernel stack that nothing else
    /// uses, with room for a [`TrapFrame`] and a few words below it.
    pub unsafe fn new_user_thread(
        stack_top: u64,
        frame: &TrapFrame,
        start: extern "C" fn(),
    ) -> SavedContext {
        assert!(stack_top.is_multiple_of(16), "unaligned kernel stack");
        let frame_at = stack_top - size_of::<TrapFrame>() as u64;
        let registers_at = frame_at - size_of::<CalleeSaved>() as u64;
        // SAFETY: both lie in the unused stack the caller handed over, and
        // are suitably aligned (a `TrapFrame` is a multiple of 16 bytes).
        unsafe {
            (frame_at as *mut TrapFrame).write(frame.clone());
            (registers_at as *mut CalleeSaved).write(CalleeSaved {
                r15: 0,
                r14: 0,
                r13: 0,
                r12: start as usize as u64,
                rbx: 0,
                rbp: 0,
                return_address: enter_user_from_new_thread as *const () as u64,
            });
        }
        SavedContext { rsp: registers_at }
    }
}

/// Saves the running thread's callee-saved registers on its stack and the
/// stack pointer in `from`, then resumes the thread saved in `to`. Returns
/// when some later `switch` resumes `from`.
///
/// # Safety
/// Interrupts must be off. `to` must have been saved by `switch` or made by
/// [`SavedContext::new_user_thread`], and its stack must still be mapped and
/// used by nothing else; `from` must stay valid until it is resumed.
pub unsafe fn switch(from: *mut SavedContext, to: *const SavedContext) {
    // SAFETY: forwarded to the caller.
    unsafe { switch_stacks(from, to) }
}

#[unsafe(naked)]
unsafe extern "C" fn switch_stacks(from: *mut SavedContext, to: *const SavedContext) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Where a new thread's first `switch` returns to: calls its start
/// function (in r12), then enters user mode from the [`TrapFrame`] above.
#[unsafe(naked)]
unsafe extern "C" fn enter_user_from_new_thread() {
    naked_asm!(
        // rsp points at the frame, 16-byte aligned: right for a call.
        "call r12",
        pop_general_registers!(),
        "add rsp, 16",
        "swapgs",
        "iretq",
    )
}

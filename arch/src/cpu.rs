//! Small CPU operations: halting, interrupt flag, stack switching, time stamps.

use core::arch::{asm, naked_asm};

/// Halts until the next interrupt.
pub fn halt() {
    x86_64::instructions::hlt();
}

/// Halts forever with interrupts off.
pub fn halt_forever() -> ! {
    x86_64::instructions::interrupts::disable();
    loop {
        x86_64::instructions::hlt();
    }
}

pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// Runs `f` with interrupts disabled, restoring the previous state after.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// The time-stamp counter.
pub fn read_tsc() -> u64 {
    // SAFETY: rdtsc only reads a counter; CR4.TSD is left clear.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The current frame pointer (the kernel is built with frame pointers).
#[inline(always)]
pub fn frame_pointer() -> u64 {
    let rbp: u64;
    // SAFETY: reads a register, no memory access.
    unsafe { asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    rbp
}

/// The current stack pointer.
#[inline(always)]
pub fn stack_pointer() -> u64 {
    let rsp: u64;
    // SAFETY: reads a register, no memory access.
    unsafe { asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    rsp
}

/// Abandons the current stack and calls `entry` on the stack ending at `top`.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped, otherwise unused stack
/// that stays mapped for as long as `entry` runs. Nothing on the old stack is
/// ever returned to.
pub unsafe fn switch_stack(top: u64, entry: extern "C" fn() -> !) -> ! {
    // SAFETY: forwarded to the caller.
    unsafe { switch_stack_to(top, entry) }
}

#[unsafe(naked)]
unsafe extern "C" fn switch_stack_to(top: u64, entry: extern "C" fn() -> !) -> ! {
    naked_asm!("mov rsp, rdi", "xor ebp, ebp", "call rsi", "ud2")
}

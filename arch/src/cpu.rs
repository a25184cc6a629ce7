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

pub fn disable_interrupts() {
    x86_64::instructions::interrupts::disable();
}

/// `sti; hlt`: enables interrupts and halts until the next one, with no
/// window between the two in which an interrupt could be missed.
pub fn enable_interrupts_and_halt() {
    x86_64::instructions::interrupts::enable_and_hlt();
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

/// CPUID leaf 1's EDX feature bits (what Linux passes as `AT_HWCAP`).
pub fn feature_bits() -> u32 {
    core::arch::x86_64::__cpuid(1).edx
}

/// 64 random bits: RDRAND when the CPU has it, otherwise a mix of the time
/// stamp counter (unpredictable enough for `AT_RANDOM` in a test kernel).
pub fn random_u64() -> u64 {
    const RDRAND: u32 = 1 << 30;
    if core::arch::x86_64::__cpuid(1).ecx & RDRAND != 0 {
        for _ in 0..10 {
            let (value, ok): (u64, u8);
            // SAFETY: RDRAND is present (CPUID above); it only writes registers.
            unsafe {
                core::arch::asm!("rdrand {}", "setc {}", out(reg) value, out(reg_byte) ok, options(nomem, nostack));
            }
            if ok != 0 {
                return value;
            }
        }
    }
    // splitmix64 of the TSC.
    let mut mixed = read_tsc().wrapping_add(0x9e37_79b9_7f4a_7c15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    mixed ^ (mixed >> 31)
}

/// CPU features the kernel turned on at boot.
#[derive(Clone, Copy, Debug, Default)]
pub struct EnabledFeatures {
    pub smep: bool,
    pub smap: bool,
}

/// Lets user programs use SSE (the kernel itself is soft-float and never
/// touches the vector registers, so user state survives traps untouched),
/// and turns on SMEP and SMAP where the CPU has them: the kernel never
/// executes or dereferences user addresses.
pub fn enable_features() -> EnabledFeatures {
    use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
    const SMEP: u32 = 1 << 7;
    const SMAP: u32 = 1 << 20;
    let structured = core::arch::x86_64::__cpuid_count(7, 0).ebx;
    let enabled = EnabledFeatures {
        smep: structured & SMEP != 0,
        smap: structured & SMAP != 0,
    };
    // SAFETY: SSE state is only ever used by user code; SMEP/SMAP only
    // forbid what the kernel never does.
    unsafe {
        Cr0::update(|flags| {
            flags.remove(Cr0Flags::EMULATE_COPROCESSOR | Cr0Flags::TASK_SWITCHED);
            flags.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|flags| {
            flags.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE);
            flags.set(Cr4Flags::SUPERVISOR_MODE_EXECUTION_PROTECTION, enabled.smep);
            flags.set(Cr4Flags::SUPERVISOR_MODE_ACCESS_PREVENTION, enabled.smap);
        });
        core::arch::asm!("fninit", options(nomem, nostack));
    }
    enabled
}

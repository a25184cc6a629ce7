//! Ring 3: the `syscall` entry and its two ways back (`sysretq`, or
//! `iretq` when every register must be restored), and the per-CPU block
//! the entry code reaches through GS.
//!
//! Threads enter user mode for the first time through
//! [`crate::context::SavedContext::new_user_thread`]; system calls and traps
//! from ring 3 run on the running thread's kernel stack, set with
//! [`set_kernel_stack`] at every thread switch.
//!
//! GS: in the kernel, GS base points at the per-CPU block below; in user mode
//! it holds the user's value, and `swapgs` exchanges the two on every entry
//! and exit (the trap stubs do it too when they interrupt ring 3).

use crate::gdt::{KERNEL_CODE, USER_CODE, USER_DATA};
use crate::trap::{TrapFrame, pop_general_registers, push_general_registers};
use core::arch::naked_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags, FsBase, GsBase, LStar, SFMask, Star};
use x86_64::registers::rflags::RFlags;

/// The marker `TrapFrame::vector` carries for a system call.
pub const SYSCALL_VECTOR: u64 = 0x100;

/// What `syscall_entry` reaches through GS. Layout fixed by the assembly.
#[repr(C)]
struct PerCpu {
    /// Top of the current process's kernel stack.
    kernel_rsp: u64,
    /// The user stack pointer while a system call runs.
    user_rsp: u64,
}

struct PerCpuCell(UnsafeCell<PerCpu>);

// SAFETY: one CPU; written with interrupts disabled, read by the entry code.
unsafe impl Sync for PerCpuCell {}

static PER_CPU: PerCpuCell = PerCpuCell(UnsafeCell::new(PerCpu {
    kernel_rsp: 0,
    user_rsp: 0,
}));

/// How a system call goes back to user mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnPath {
    /// `sysretq`: the fast way; rcx and r11 come back holding rip and
    /// rflags, as the `syscall` instruction left them.
    Sysret,
    /// `iretq`: every register exactly as the frame holds it — after
    /// `rt_sigreturn`, or when a signal handler's frame was set up.
    Iret,
}

/// The kernel's system-call handler: the frame holds the user registers
/// (`rax` the number, `rdi, rsi, rdx, r10, r8, r9` the arguments); the handler
/// stores the result in `rax` and says how to return.
pub type SyscallHandler = fn(&mut TrapFrame) -> ReturnPath;

static SYSCALL_HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Enables `syscall`/`sysret` and installs `handler`.
pub fn init(handler: SyscallHandler) {
    SYSCALL_HANDLER.store(handler as *mut (), Ordering::Release);
    // `sysret` loads CS from STAR[63:48] + 16 and SS from STAR[63:48] + 8, so the
    // user base is the selector just below user data.
    Star::write(USER_CODE, USER_DATA, KERNEL_CODE, crate::gdt::KERNEL_DATA)
        .expect("GDT layout fits syscall/sysret");
    LStar::write(VirtAddr::new(syscall_entry as *const () as u64));
    SFMask::write(
        RFlags::INTERRUPT_FLAG
            | RFlags::TRAP_FLAG
            | RFlags::DIRECTION_FLAG
            | RFlags::ALIGNMENT_CHECK
            | RFlags::NESTED_TASK,
    );
    GsBase::write(VirtAddr::from_ptr(PER_CPU.0.get()));
    // SAFETY: the entry point and segments are in place before SCE is set.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::SYSTEM_CALL_EXTENSIONS)) };
}

/// Sets the stack that system calls and ring-3 interrupts run on (the top of
/// the running thread's kernel stack).
pub fn set_kernel_stack(top: VirtAddr) {
    crate::gdt::set_kernel_entry_stack(top);
    crate::cpu::without_interrupts(|| {
        // SAFETY: interrupts are off; the entry code reads this only on a syscall.
        unsafe { (*PER_CPU.0.get()).kernel_rsp = top.as_u64() };
    });
}

/// Sets the user's FS base (`arch_prctl(ARCH_SET_FS)`: thread-local storage;
/// each thread's own, loaded at every switch).
pub fn set_user_fs_base(base: VirtAddr) {
    FsBase::write(base);
}

/// Returns true for the `iretq` path.
extern "C" fn syscall_dispatch(frame: &mut TrapFrame) -> bool {
    let handler = SYSCALL_HANDLER.load(Ordering::Acquire);
    assert!(!handler.is_null(), "syscall before a handler was installed");
    // SAFETY: stored from a `SyscallHandler` by `init`.
    let handler: SyscallHandler = unsafe { core::mem::transmute(handler) };
    handler(frame) == ReturnPath::Iret
}

/// Entered by `syscall` with the user's RIP in rcx, RFLAGS in r11, the user
/// stack still loaded and interrupts off (SFMASK). Builds a [`TrapFrame`] on
/// the thread's kernel stack (the same place and layout a trap from ring 3
/// uses), calls the handler, and returns with `sysretq` or `iretq`.
#[unsafe(naked)]
unsafe extern "C" fn syscall_entry() {
    naked_asm!(
        "swapgs",
        "mov gs:[8], rsp",
        "mov rsp, gs:[0]",
        "push {user_data}",
        "push qword ptr gs:[8]",
        "push r11",
        "push {user_code}",
        "push rcx",
        "push 0",
        "push {vector}",
        push_general_registers!(),
        "mov rdi, rsp",
        "cld",
        "call {dispatch}",
        // The handler may have enabled interrupts: none may arrive while
        // the user's registers and stack are loaded in ring 0 (sysretq
        // and iretq bring IF back from the user's RFLAGS).
        "cli",
        "test al, al",
        "jnz 2f",
        pop_general_registers!(),
        // skip vector and error code; then rip, cs, rflags, rsp, ss
        "mov rcx, [rsp + 16]",
        "mov r11, [rsp + 32]",
        "mov rsp, [rsp + 40]",
        "swapgs",
        "sysretq",
        "2:",
        pop_general_registers!(),
        "add rsp, 16",
        "swapgs",
        "iretq",
        user_data = const USER_DATA.0,
        user_code = const USER_CODE.0,
        vector = const SYSCALL_VECTOR,
        dispatch = sym syscall_dispatch,
    )
}

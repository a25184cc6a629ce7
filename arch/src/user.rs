//! Ring 3: entering user mode, the `syscall` entry and `sysret` exit, and the
//! way back to the kernel thread that started the user program.
//!
//! The kernel runs a user program with [`run_user`], which saves the calling
//! kernel thread's callee-saved registers and stack pointer in a
//! [`KernelResume`] and `iretq`s to ring 3. System calls and traps from ring 3
//! run on the process's own kernel stack (set with [`set_kernel_stack`]); when
//! the program is finished the kernel calls [`resume_kernel`], which abandons
//! that stack and returns from `run_user` — a setjmp/longjmp pair
//! between the kernel thread and the process.
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

/// The kernel's system-call handler: the frame holds the user registers
/// (`rax` the number, `rdi, rsi, rdx, r10, r8, r9` the arguments); the handler
/// stores the result in `rax`.
pub type SyscallHandler = fn(&mut TrapFrame);

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

/// Sets the stack that system calls and ring-3 interrupts run on.
pub fn set_kernel_stack(top: VirtAddr) {
    crate::gdt::set_kernel_entry_stack(top);
    crate::cpu::without_interrupts(|| {
        // SAFETY: interrupts are off; the entry code reads this only on a syscall.
        unsafe { (*PER_CPU.0.get()).kernel_rsp = top.as_u64() };
    });
}

/// Sets the user's FS base (`arch_prctl(ARCH_SET_FS)`: thread-local storage).
pub fn set_user_fs_base(base: VirtAddr) {
    FsBase::write(base);
}

extern "C" fn syscall_dispatch(frame: &mut TrapFrame) {
    let handler = SYSCALL_HANDLER.load(Ordering::Acquire);
    assert!(!handler.is_null(), "syscall before a handler was installed");
    // SAFETY: stored from a `SyscallHandler` by `init`.
    let handler: SyscallHandler = unsafe { core::mem::transmute(handler) };
    handler(frame);
}

/// Entered by `syscall` with the user's RIP in rcx, RFLAGS in r11, the user
/// stack still loaded and interrupts off (SFMASK). Builds a [`TrapFrame`] on the
/// process's kernel stack, calls the handler, and returns with `sysretq`.
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
        pop_general_registers!(),
        // skip vector and error code; then rip, cs, rflags, rsp, ss
        "mov rcx, [rsp + 16]",
        "mov r11, [rsp + 32]",
        "mov rsp, [rsp + 40]",
        "swapgs",
        "sysretq",
        user_data = const USER_DATA.0,
        user_code = const USER_CODE.0,
        vector = const SYSCALL_VECTOR,
        dispatch = sym syscall_dispatch,
    )
}

/// The callee-saved state of the kernel thread that called [`run_user`].
#[repr(C)]
pub struct KernelResume {
    rsp: u64,
}

impl KernelResume {
    pub const fn new() -> Self {
        KernelResume { rsp: 0 }
    }
}

impl Default for KernelResume {
    fn default() -> Self {
        Self::new()
    }
}

/// The registers a user program starts with.
#[repr(C)]
pub struct UserEntry {
    pub rip: u64,
    pub rsp: u64,
}

/// Runs user code from `entry` until the kernel calls [`resume_kernel`] with
/// `resume`.
///
/// # Safety
/// The active page tables must map `entry` for ring 3, the kernel stack must
/// be set with [`set_kernel_stack`] (and differ from the caller's stack), and
/// `resume` must stay valid until the matching `resume_kernel`.
pub unsafe fn run_user(entry: &UserEntry, resume: &mut KernelResume) {
    // SAFETY: forwarded to the caller.
    unsafe { enter_user(entry, resume) }
}

#[unsafe(naked)]
unsafe extern "C" fn enter_user(entry: &UserEntry, resume: &mut KernelResume) {
    naked_asm!(
        "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
        "mov [rsi], rsp",
        "push {user_data}",
        "push qword ptr [rdi + 8]",
        "push {rflags}",
        "push {user_code}",
        "push qword ptr [rdi]",
        "xor eax, eax", "xor ebx, ebx", "xor ecx, ecx", "xor edx, edx", "xor esi, esi",
        "xor edi, edi", "xor ebp, ebp", "xor r8d, r8d", "xor r9d, r9d", "xor r10d, r10d",
        "xor r11d, r11d", "xor r12d, r12d", "xor r13d, r13d", "xor r14d, r14d", "xor r15d, r15d",
        "swapgs",
        "iretq",
        user_data = const USER_DATA.0,
        user_code = const USER_CODE.0,
        rflags = const 0x202,
    )
}

/// Returns from the [`run_user`] call that filled `resume`.
///
/// # Safety
/// `resume` must come from a `run_user` call whose kernel thread is still
/// suspended in it. Everything on the current (process) stack is abandoned.
pub unsafe fn resume_kernel(resume: &KernelResume) -> ! {
    // SAFETY: forwarded to the caller.
    unsafe { resume_with(resume) }
}

#[unsafe(naked)]
unsafe extern "C" fn resume_with(resume: &KernelResume) -> ! {
    naked_asm!(
        "mov rsp, [rdi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbp",
        "pop rbx",
        "ret",
    )
}

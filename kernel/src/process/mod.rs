//! Processes: a user address space, a kernel stack for its system calls and
//! traps, and how it ended.
//!
//! One process runs at a time, started by the kernel's main thread with
//! [`run`], which returns when the process exits or is killed. While it runs,
//! the process is reachable from the system-call and trap handlers through
//! [`with_current`]; nothing else touches it, and interrupt handlers never do.

pub mod exec;
pub mod fault;
mod tests;
pub mod user_memory;

use crate::fs::file::FileTable;
use crate::memory::stack::KernelStack;
use crate::memory::{frames, kernel_space};
use alloc::vec::Vec;
use arch::user::{KernelResume, UserEntry};
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicPtr, Ordering};
use mm::address_space::{AddressSpace, SyncRange};

/// Kernel stack pages per process.
const KERNEL_STACK_PAGES: usize = 16;

/// Signals the kernel sends when it kills a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Signal {
    Sigill = 4,
    Sigtrap = 5,
    Sigbus = 7,
    Sigfpe = 8,
    Sigsegv = 11,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Sigill => "SIGILL",
            Signal::Sigtrap => "SIGTRAP",
            Signal::Sigbus => "SIGBUS",
            Signal::Sigfpe => "SIGFPE",
            Signal::Sigsegv => "SIGSEGV",
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit(status)`: the low 8 bits, as a parent would see them.
    Status(u8),
    /// Killed by `signal` at the faulting address `address`.
    Killed { signal: Signal, address: u64 },
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Status(status) => write!(f, "exited with status {status}"),
            Exit::Killed { signal, address } => {
                write!(f, "killed by {} at {address:#x}", signal.name())
            }
        }
    }
}

/// There was not enough memory to create the process.
#[derive(Debug)]
pub struct OutOfMemory;

pub struct Process {
    pub name: &'static str,
    pub pid: u32,
    pub address_space: AddressSpace,
    pub files: FileTable,
    /// The user's FS base (thread pointer), set with `arch_prctl`.
    pub fs_base: u64,
    /// Recorded signal dispositions (`struct sigaction`, signals 1..=64).
    pub signal_actions: [[u8; crate::syscall::SIGACTION_BYTES]; 64],
    pub blocked_signals: u64,
    /// The list of the last msync plan, emptied and kept so that the next
    /// msync allocates nothing.
    pub msync_ranges: Vec<SyncRange>,
    kernel_stack: KernelStack,
    exit: Option<Exit>,
}

impl Process {
    /// A process with an empty address space.
    pub fn new(name: &'static str, pid: u32) -> Result<Process, OutOfMemory> {
        let root = kernel_space::new_user_root().ok_or(OutOfMemory)?;
        let kernel_stack = KernelStack::new(KERNEL_STACK_PAGES).map_err(|_| OutOfMemory)?;
        Ok(Process {
            name,
            pid,
            address_space: AddressSpace::new(root),
            files: FileTable::with_console(),
            fs_base: 0,
            signal_actions: [[0; crate::syscall::SIGACTION_BYTES]; 64],
            blocked_signals: 0,
            msync_ranges: Vec::new(),
            kernel_stack,
            exit: None,
        })
    }
}

impl Drop for Process {
    /// Unmaps everything (freeing the page tables) and frees the root.
    fn drop(&mut self) {
        fault::unmap_everything(self);
        frames::free_frame(self.address_space.page_table_root());
    }
}

/// The running process, or null.
static CURRENT: AtomicPtr<Process> = AtomicPtr::new(core::ptr::null_mut());

/// Where the kernel thread waits while a process runs.
struct ResumeCell(UnsafeCell<KernelResume>);

// SAFETY: one CPU; written by `run_user` on the way out to user mode and read
// by `resume_kernel` on the way back, never at the same time.
unsafe impl Sync for ResumeCell {}

static RESUME: ResumeCell = ResumeCell(UnsafeCell::new(KernelResume::new()));

/// Runs `process` from `entry` until it exits or is killed.
pub fn run(process: &mut Process, entry: UserEntry) -> Exit {
    process.exit = None;
    let interrupts_were_enabled = arch::cpu::interrupts_enabled();
    let root = process.address_space.page_table_root();
    arch::user::set_kernel_stack(process.kernel_stack.top());
    CURRENT.store(process, Ordering::Release);
    // SAFETY: the process's tables share the kernel half, so the switch keeps
    // the kernel mapped; the process stack differs from ours; RESUME outlives
    // the call and is used by `finish` only while we are suspended in it.
    unsafe {
        arch::paging::switch_table_root(root);
        arch::user::run_user(&entry, &mut *RESUME.0.get());
        arch::paging::switch_table_root(kernel_space::kernel_root());
    }
    CURRENT.store(core::ptr::null_mut(), Ordering::Release);
    // `finish` may run in a fault handler, with interrupts off: the kernel
    // thread gets back the state it had.
    if interrupts_were_enabled {
        arch::cpu::enable_interrupts();
    }
    process
        .exit
        .expect("a process returns to the kernel only through finish")
}

/// Runs `f` on the running process. Only for system-call and trap handlers
/// interrupting ring 3 (the process is theirs until they return or finish it).
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> R {
    let process = CURRENT.load(Ordering::Acquire);
    assert!(!process.is_null(), "no process is running");
    // SAFETY: `run` stored a process it keeps alive and does not touch until
    // the process finishes; handlers run one at a time on one CPU.
    f(unsafe { &mut *process })
}

/// Ends the running process with `exit` and returns to [`run`]'s caller.
pub fn finish(exit: Exit) -> ! {
    with_current(|process| {
        log::debug!("{} (pid {}) {exit}", process.name, process.pid);
        process.exit = Some(exit);
    });
    // SAFETY: a process is running, so the kernel thread waits in `run_user`
    // with RESUME; this stack (the process's) is abandoned.
    unsafe { arch::user::resume_kernel(&*RESUME.0.get()) }
}

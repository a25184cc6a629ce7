//! Processes: pids, the process table, the tree of parents and children,
//! and a process's life — created as init or by fork, running a program
//! (`exec`), ending (exit or a signal), a zombie until its parent reaps it.
//!
//! Each process has one thread ([`crate::sched::Thread`], with the same id)
//! that runs its user code. A process's parts are behind their own locks
//! (its memory, descriptors, signal state, life), because other processes
//! reach them: a parent reaps, `kill` queues signals, the page cache's
//! reverse map finds other processes' page tables. No lock is held while a
//! thread sleeps (see [`crate::sched`]).
//!
//! Lock order: the process table → a process's `life` → its `signals`;
//! `memory` and `files` are taken alone, or before the file system's locks.

pub mod exec;
pub mod fault;
pub mod limits;
pub mod memory;
pub mod shared_memory;
pub mod signal;
mod tests;
pub mod user_memory;

use crate::fs::file::FileTable;
use crate::fs::path::WorkingDirectory;
use crate::sched::{self, Channel};
use abi::Errno;
use abi::signal::{CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, SA_NOCLDSTOP};
use abi::signal::{SA_NOCLDWAIT, SIG_IGN, SIGCHLD};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use limits::ResourceLimits;
use memory::{MemoryRef, UserMemory};
use signal::{Origin, SigInfo, SignalState};
use spin::Mutex;
use x86_64::PhysAddr;

pub type Pid = u32;

/// The pid of init, which adopts orphans; the kernel itself is "pid 0",
/// init's parent.
pub const INIT_PID: Pid = 1;
pub const KERNEL_PID: Pid = 0;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// `exit(status)`: the low 8 bits, as a parent sees them.
    Status(u8),
    /// Killed by `signal`; `fault_address` when a fault raised it.
    Killed {
        signal: u32,
        fault_address: Option<u64>,
    },
}

impl Exit {
    /// The wait(2) status word: `status << 8`, or the signal number.
    pub fn wait_status(self) -> i32 {
        match self {
            Exit::Status(status) => i32::from(status) << 8,
            Exit::Killed { signal, .. } => signal as i32,
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Status(status) => write!(f, "exited with status {status}"),
            Exit::Killed {
                signal,
                fault_address: Some(address),
            } => write!(
                f,
                "killed by {} at {address:#x}",
                abi::signal::name(*signal)
            ),
            Exit::Killed { signal, .. } => write!(f, "killed by {}", abi::signal::name(*signal)),
        }
    }
}

/// Where a process is in its life.
enum Life {
    Running,
    /// Stopped by a signal.
    Stopped,
    /// Ended; kept so that the parent can reap it.
    Zombie(Exit),
}

/// A process's life and the changes its parent has not been told about
/// by wait yet.
struct LifeState {
    life: Life,
    /// Stopped, not yet reported to a `WUNTRACED` wait.
    unreported_stop: Option<u32>,
    /// Continued, not yet reported to a `WCONTINUED` wait.
    unreported_continue: bool,
}

/// CPU time in timer ticks.
#[derive(Default)]
struct Times {
    user: AtomicU64,
    system: AtomicU64,
    /// The reaped children's (and their reaped children's) totals.
    children_user: AtomicU64,
    children_system: AtomicU64,
}

/// An ITIMER_REAL timer (alarm, setitimer): when it fires, in
/// nanoseconds of the monotonic clock, and its reload interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealTimer {
    pub deadline: Option<u64>,
    pub interval: u64,
}

pub struct Process {
    pub pid: Pid,
    /// The program's name: the last part of the path it runs.
    name: Mutex<String>,
    memory: Mutex<Option<MemoryRef>>,
    /// The page-table root of `memory`, for the scheduler's switches.
    page_table_root: AtomicU64,
    pub files: Mutex<FileTable>,
    /// Where relative paths start (chdir). Taken alone; copying it (fork)
    /// takes the file system's `uses` lock inside.
    cwd: Mutex<WorkingDirectory>,
    /// The file-mode creation mask (umask), `0o777` bits only.
    umask: AtomicU32,
    /// getrlimit/setrlimit's limits. A leaf lock.
    pub limits: Mutex<ResourceLimits>,
    pub signals: Mutex<SignalState>,
    parent: AtomicU32,
    group: AtomicU32,
    session: AtomicU32,
    life: Mutex<LifeState>,
    /// The signal the parent gets when this process ends (clone's low byte;
    /// SIGCHLD for fork), 0 for none.
    exit_signal: u32,
    times: Times,
    pub real_timer: Mutex<RealTimer>,
    /// A vfork child ran exec or ended: its parent, waiting, may go on.
    vfork_released: AtomicBool,
    /// Whether this process ran exec since fork (setpgid's EACCES).
    has_execed: AtomicBool,
    /// `set_tid_address` / CLONE_CHILD_CLEARTID: zeroed at exit.
    pub clear_child_tid: AtomicU64,
}

/// The parts a new process starts with.
struct Parts {
    name: String,
    memory: MemoryRef,
    files: FileTable,
    cwd: WorkingDirectory,
    umask: u32,
    limits: ResourceLimits,
    signals: SignalState,
    parent: Pid,
    group: Pid,
    session: Pid,
    exit_signal: u32,
}

impl Process {
    fn new(pid: Pid, parts: Parts) -> Process {
        let root = parts.memory.lock().page_table_root();
        Process {
            pid,
            name: Mutex::new(parts.name),
            memory: Mutex::new(Some(parts.memory)),
            page_table_root: AtomicU64::new(root.as_u64()),
            files: Mutex::new(parts.files),
            cwd: Mutex::new(parts.cwd),
            umask: AtomicU32::new(parts.umask),
            limits: Mutex::new(parts.limits),
            signals: Mutex::new(parts.signals),
            parent: AtomicU32::new(parts.parent),
            group: AtomicU32::new(parts.group),
            session: AtomicU32::new(parts.session),
            life: Mutex::new(LifeState {
                life: Life::Running,
                unreported_stop: None,
                unreported_continue: false,
            }),
            exit_signal: parts.exit_signal,
            times: Times::default(),
            real_timer: Mutex::new(RealTimer::default()),
            vfork_released: AtomicBool::new(false),
            has_execed: AtomicBool::new(false),
            clear_child_tid: AtomicU64::new(0),
        }
    }

    /// The memory the process runs in.
    ///
    /// # Panics
    /// If the process has ended (a zombie has no memory).
    pub fn memory(&self) -> MemoryRef {
        self.running_memory().expect("a running process has memory")
    }

    /// The memory the process runs in, `None` once it has ended.
    pub fn running_memory(&self) -> Option<MemoryRef> {
        self.memory.lock().clone()
    }

    /// Puts the process in `memory` (exec), returning the old one.
    fn replace_memory(&self, memory: MemoryRef) -> Option<MemoryRef> {
        let root = memory.lock().page_table_root();
        self.page_table_root.store(root.as_u64(), Ordering::Release);
        self.memory.lock().replace(memory)
    }

    /// The top-level page table the process runs on (the kernel's once it
    /// has ended).
    pub fn page_table_root(&self) -> PhysAddr {
        PhysAddr::new(self.page_table_root.load(Ordering::Acquire))
    }

    pub fn name(&self) -> String {
        self.name.lock().clone()
    }

    pub fn parent(&self) -> Pid {
        self.parent.load(Ordering::Acquire)
    }

    pub fn group(&self) -> Pid {
        self.group.load(Ordering::Acquire)
    }

    pub fn session(&self) -> Pid {
        self.session.load(Ordering::Acquire)
    }

    pub fn set_group(&self, group: Pid) {
        self.group.store(group, Ordering::Release);
    }

    /// setsid: a new session and process group, both named after this
    /// process.
    pub fn start_session(&self) {
        self.session.store(self.pid, Ordering::Release);
        self.group.store(self.pid, Ordering::Release);
    }

    pub fn has_execed(&self) -> bool {
        self.has_execed.load(Ordering::Acquire)
    }

    /// The current directory's inode.
    pub fn cwd(&self) -> ext2::InodeNumber {
        self.cwd.lock().inode()
    }

    /// chdir: `dir` becomes the current directory; the old one is returned
    /// for the caller to drop (its use may be the last of a removed one).
    pub fn replace_cwd(&self, dir: WorkingDirectory) -> WorkingDirectory {
        core::mem::replace(&mut *self.cwd.lock(), dir)
    }

    pub fn umask(&self) -> u32 {
        self.umask.load(Ordering::Relaxed)
    }

    /// umask(2): sets the mask (`mask & 0o777`), returns the old one.
    pub fn replace_umask(&self, mask: u32) -> u32 {
        self.umask
            .swap(mask & abi::fs::S_IRWXUGO, Ordering::Relaxed)
    }

    fn is_zombie(&self) -> bool {
        matches!(self.life.lock().life, Life::Zombie(_))
    }

    /// Counts one timer tick of CPU time, in user or in kernel mode.
    pub fn charge_tick(&self, in_user_mode: bool) {
        let counter = if in_user_mode {
            &self.times.user
        } else {
            &self.times.system
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// CPU time in ticks: (user, system, reaped children's user, system).
    pub fn times(&self) -> [u64; 4] {
        [
            &self.times.user,
            &self.times.system,
            &self.times.children_user,
            &self.times.children_system,
        ]
        .map(|counter| counter.load(Ordering::Relaxed))
    }

    /// The default action of a stop signal: the process stops (its parent
    /// told, unless SA_NOCLDSTOP) until SIGCONT or SIGKILL.
    fn stop(&self, signal: u32) {
        {
            let mut state = self.life.lock();
            state.life = Life::Stopped;
            state.unreported_stop = Some(signal);
            state.unreported_continue = false;
        }
        self.notify_parent(CLD_STOPPED, signal as i32);
        while matches!(self.life.lock().life, Life::Stopped) {
            sched::stop();
        }
    }

    /// SIGCONT or SIGKILL for a stopped process: it runs again.
    fn continue_if_stopped(&self) {
        let continued = {
            let mut state = self.life.lock();
            let stopped = matches!(state.life, Life::Stopped);
            if stopped {
                state.life = Life::Running;
                state.unreported_stop = None;
                state.unreported_continue = true;
            }
            stopped
        };
        if continued {
            self.notify_parent(CLD_CONTINUED, SIGCONT_STATUS);
            sched::wake_thread(self.pid);
        }
    }

    /// Tells the parent of a change and wakes its waits. A stop or a
    /// continue sends SIGCHLD unless the parent set SA_NOCLDSTOP; the end
    /// sends this process's exit signal (none if 0).
    fn notify_parent(&self, code: i32, status: i32) {
        wake_waiters_of(self.parent());
        let Some(parent) = lookup(self.parent()) else {
            return;
        };
        let signal = if code == CLD_STOPPED || code == CLD_CONTINUED {
            let action = parent.signals.lock().action(SIGCHLD);
            if action.flags & SA_NOCLDSTOP != 0 {
                return;
            }
            SIGCHLD
        } else {
            self.exit_signal
        };
        if signal == 0 {
            return;
        }
        let [user, system, ..] = self.times();
        let info = SigInfo {
            signal,
            code,
            origin: Origin::Child {
                pid: self.pid,
                status,
                user_ticks: user,
                system_ticks: system,
            },
        };
        signal::send(&parent, info);
    }
}

/// The `si_status` of a CLD_CONTINUED SIGCHLD.
const SIGCONT_STATUS: i32 = abi::signal::SIGCONT as i32;

/// Where a process's waits for its children sleep.
fn wait_channel(parent: Pid) -> Channel {
    Channel::keyed(&TABLE, u64::from(parent))
}

fn wake_waiters_of(parent: Pid) {
    sched::wake(wait_channel(parent));
}

/// Every process, zombies included.
static TABLE: Mutex<BTreeMap<Pid, Arc<Process>>> = Mutex::new(BTreeMap::new());
/// The last pid handed out; the next is the lowest free one above it.
static LAST_PID: AtomicU32 = AtomicU32::new(INIT_PID);
/// Linux's default `pid_max`.
const PID_MAX: Pid = 32768;

pub fn lookup(pid: Pid) -> Option<Arc<Process>> {
    TABLE.lock().get(&pid).cloned()
}

/// Every process in the table (a snapshot).
pub fn all() -> Vec<Arc<Process>> {
    TABLE.lock().values().cloned().collect()
}

/// The children of `parent`.
fn children_of(parent: Pid) -> Vec<Arc<Process>> {
    TABLE
        .lock()
        .values()
        .filter(|process| process.parent() == parent)
        .cloned()
        .collect()
}

/// A free pid: counting up from the last one, wrapping at `PID_MAX`, as
/// Linux does. The first is 1 (init).
fn allocate_pid() -> Result<Pid, Errno> {
    let table = TABLE.lock();
    let mut candidate = LAST_PID.load(Ordering::Relaxed);
    for _ in 0..PID_MAX {
        candidate = if candidate + 1 >= PID_MAX {
            2
        } else {
            candidate + 1
        };
        if !table.contains_key(&candidate) && !sched::thread_exists(candidate) {
            LAST_PID.store(candidate, Ordering::Relaxed);
            return Ok(candidate);
        }
    }
    Err(Errno::EAGAIN)
}

/// Makes the process and its thread, and lets it run from `frame`.
fn start(
    pid: Pid,
    parts: Parts,
    frame: &arch::trap::TrapFrame,
    fpu: arch::fpu::FpuState,
    fs_base: u64,
) -> Result<Arc<Process>, Errno> {
    let process = Arc::new(Process::new(pid, parts));
    let thread = sched::Thread::new_user(pid, process.clone(), frame, fpu, fs_base)
        .map_err(|_| Errno::ENOMEM)?;
    TABLE.lock().insert(pid, process.clone());
    sched::spawn(thread);
    Ok(process)
}

/// The umask init starts with, as Linux's `init_fs`.
const INIT_UMASK: u32 = 0o022;

/// The resource limits of a process the kernel starts: Linux's for init.
fn boot_limits() -> ResourceLimits {
    ResourceLimits::boot_defaults(crate::memory::stats().usable_bytes)
}

/// Starts `path` as init (pid 1), the kernel's child.
pub fn start_init(
    fs: &'static crate::fs::FileSystem,
    path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
) -> Result<Pid, Errno> {
    let mut memory = UserMemory::new().map_err(|_| Errno::ENOMEM)?;
    let program = exec::Program::Path {
        dir: ext2::ROOT_INODE,
        path,
    };
    let limits = boot_limits();
    let image = exec::load(fs, &mut memory, program, path, argv, envp, limits.stack())?;
    let parts = Parts {
        name: image.name,
        memory: Arc::new(Mutex::new(memory)),
        files: FileTable::with_console(),
        cwd: WorkingDirectory::Root,
        umask: INIT_UMASK,
        limits,
        signals: SignalState::new(),
        parent: KERNEL_PID,
        group: INIT_PID,
        session: INIT_PID,
        exit_signal: SIGCHLD,
    };
    let frame = arch::trap::TrapFrame::new_user(image.entry, image.stack_pointer);
    start(INIT_PID, parts, &frame, arch::fpu::FpuState::initial(), 0)?;
    Ok(INIT_PID)
}

/// Starts a process the kernel made by hand (the in-kernel tests): its
/// memory, and the registers it starts with. Its parent is the kernel.
pub fn start_kernel_child(
    name: &str,
    memory: UserMemory,
    frame: &arch::trap::TrapFrame,
) -> Result<Pid, Errno> {
    let pid = allocate_pid()?;
    let parts = Parts {
        name: String::from(name),
        memory: Arc::new(Mutex::new(memory)),
        files: FileTable::with_console(),
        cwd: WorkingDirectory::Root,
        umask: INIT_UMASK,
        limits: boot_limits(),
        signals: SignalState::new(),
        parent: KERNEL_PID,
        group: pid,
        session: pid,
        exit_signal: SIGCHLD,
    };
    start(pid, parts, frame, arch::fpu::FpuState::initial(), 0).map(|process| process.pid)
}

/// What fork (or clone, or vfork) was asked for.
pub struct ForkRequest {
    /// CLONE_VM: the child runs in the parent's memory (vfork).
    pub share_memory: bool,
    /// CLONE_VFORK: the parent waits until the child execs or ends.
    pub wait_for_exec: bool,
    /// The signal the parent gets when the child ends.
    pub exit_signal: u32,
    /// The child's stack pointer (0: the parent's).
    pub stack: u64,
    /// CLONE_SETTLS: the child's FS base.
    pub tls: Option<u64>,
    /// CLONE_PARENT_SETTID: where to store the child's pid in the parent.
    pub parent_tid_at: Option<u64>,
    /// CLONE_CHILD_SETTID: where to store it in the child.
    pub child_tid_at: Option<u64>,
    /// CLONE_CHILD_CLEARTID: what the child zeroes when it ends.
    pub child_clear_tid_at: Option<u64>,
}

/// fork(2) and its relatives: a child running the same program from the
/// same point (its system call returning 0), with a copy of the memory
/// (or the same memory, for vfork), the same open file descriptions, the
/// same signal dispositions and mask. Returns the child's pid.
#[allow(unsafe_code)]
pub fn fork(request: ForkRequest) -> Result<Pid, Errno> {
    let parent = sched::current_process();
    let thread = sched::current();
    // SAFETY: the running thread is in a system call.
    let mut frame = unsafe { thread.user_registers() };
    frame.rax = 0;
    if request.stack != 0 {
        frame.rsp = request.stack;
    }
    let memory = if request.share_memory {
        parent.memory()
    } else {
        let copy = parent.memory().lock().fork().map_err(|_| Errno::ENOMEM)?;
        Arc::new(Mutex::new(copy))
    };
    let pid = allocate_pid()?;
    let parts = Parts {
        name: parent.name(),
        memory: memory.clone(),
        files: parent.files.lock().clone(),
        cwd: parent.cwd.lock().clone(),
        umask: parent.umask(),
        limits: parent.limits.lock().clone(),
        signals: parent.signals.lock().for_child(),
        parent: parent.pid,
        group: parent.group(),
        session: parent.session(),
        exit_signal: request.exit_signal,
    };
    // The parent's live FPU registers are its user state; the child starts
    // with a copy.
    let mut fpu = arch::fpu::FpuState::initial();
    fpu.save();
    let fs_base = request
        .tls
        .unwrap_or_else(|| thread.fs_base.load(Ordering::Relaxed));
    if let Some(at) = request.child_tid_at {
        memory.lock().copy_to_user(at, &pid.to_le_bytes())?;
    }
    if let Some(at) = request.parent_tid_at {
        parent
            .memory()
            .lock()
            .copy_to_user(at, &pid.to_le_bytes())?;
    }
    let child = start(pid, parts, &frame, fpu, fs_base)?;
    if let Some(at) = request.child_clear_tid_at {
        child.clear_child_tid.store(at, Ordering::Relaxed);
    }
    drop(memory);
    if request.wait_for_exec {
        while !child.vfork_released.load(Ordering::Acquire) {
            sched::sleep(Channel::of(&*child), None);
        }
    }
    Ok(pid)
}

/// A vfork child ran exec or ended: wake its parent.
fn release_vfork_parent(process: &Process) {
    if !process.vfork_released.swap(true, Ordering::AcqRel) {
        sched::wake(Channel::of(process));
    }
}

/// Ends the running process and its thread. The caller must hold no
/// reference it expects to be dropped: nothing on this stack is.
pub fn exit_current(exit: Exit) -> ! {
    {
        let process = sched::current_process();
        process.finish(exit);
    }
    sched::exit()
}

impl Process {
    /// The end: its memory and descriptors go (dirty pages staying in the
    /// page cache), its children go to init, and it becomes a zombie for
    /// its parent to reap — or is reaped at once if the parent ignores
    /// SIGCHLD or set SA_NOCLDWAIT.
    #[allow(unsafe_code)]
    fn finish(self: &Arc<Self>, exit: Exit) {
        log::debug!("{} (pid {}) {exit}", self.name(), self.pid);
        crate::terminal::release_controlling(self.pid);
        let clear_tid_at = self.clear_child_tid.swap(0, Ordering::Relaxed);
        if clear_tid_at != 0 {
            // The tid address is the thread library's; a bad one is
            // ignored, as Linux ignores it.
            let _ = self
                .memory()
                .lock()
                .copy_to_user(clear_tid_at, &0u32.to_le_bytes());
        }
        // The CPU leaves these page tables before they may be freed.
        let kernel_root = crate::memory::kernel_space::kernel_root();
        self.page_table_root
            .store(kernel_root.as_u64(), Ordering::Release);
        // SAFETY: every address space shares the kernel half, where this
        // code and its stack run.
        unsafe { arch::paging::switch_table_root(kernel_root) };
        let memory = self.memory.lock().take();
        drop(memory);
        let files = core::mem::take(&mut *self.files.lock());
        drop(files);
        let cwd = self.replace_cwd(WorkingDirectory::Root);
        drop(cwd);
        self.real_timer.lock().deadline = None;
        release_vfork_parent(self);
        self.adopt_out_children();
        self.life.lock().life = Life::Zombie(exit);
        let (code, status) = match exit {
            Exit::Status(status) => (CLD_EXITED, i32::from(status)),
            Exit::Killed { signal, .. } => (CLD_KILLED, signal as i32),
        };
        let parent = lookup(self.parent());
        let reaped_at_once = parent.as_ref().is_some_and(|parent| {
            let action = parent.signals.lock().action(SIGCHLD);
            action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0
        });
        if reaped_at_once {
            TABLE.lock().remove(&self.pid);
        }
        self.notify_parent(code, status);
    }

    /// Gives this process's children to init (Linux's
    /// `forget_original_parent`), telling init of those already ended.
    fn adopt_out_children(&self) {
        for child in children_of(self.pid) {
            child.parent.store(INIT_PID, Ordering::Release);
            if child.is_zombie() {
                wake_waiters_of(INIT_PID);
                if let Some(init) = lookup(INIT_PID) {
                    signal::send(&init, SigInfo::kernel(SIGCHLD));
                }
            }
        }
    }
}

/// Which children a wait is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// What a wait is interested in, and how it waits.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    pub exited: bool,
    pub stopped: bool,
    pub continued: bool,
    pub no_hang: bool,
    /// WNOWAIT: report, but leave the child as it is.
    pub keep: bool,
    /// __WALL / __WCLONE: which children by their exit signal.
    pub all: bool,
    pub clone_only: bool,
}

/// A child's change a wait reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitReport {
    pub pid: Pid,
    /// CLD_EXITED, CLD_KILLED, CLD_STOPPED or CLD_CONTINUED.
    pub code: i32,
    /// The exit status or signal number (`si_status`).
    pub status: i32,
    /// The wait(2) status word.
    pub wait_status: i32,
    pub user_ticks: u64,
    pub system_ticks: u64,
}

/// wait4/waitid's search of the caller's children: the first change of
/// interest, reaping an ended child (unless `keep`). ECHILD if no child
/// matches; `None` with `no_hang` and nothing to report; ERESTARTSYS if a
/// signal came first.
pub fn wait(target: WaitFor, options: WaitOptions) -> Result<Option<WaitReport>, Errno> {
    let me = sched::current_process();
    loop {
        let children: Vec<Arc<Process>> = children_of(me.pid)
            .into_iter()
            .filter(|child| match target {
                WaitFor::Any => true,
                WaitFor::Pid(pid) => child.pid == pid,
                WaitFor::Group(group) => child.group() == group,
            })
            .filter(|child| options.all || options.clone_only == (child.exit_signal != SIGCHLD))
            .collect();
        if children.is_empty() {
            return Err(Errno::ECHILD);
        }
        for child in &children {
            if let Some(report) = child.report(&me, options) {
                return Ok(Some(report));
            }
        }
        if options.no_hang {
            return Ok(None);
        }
        if signal::interrupted() {
            return Err(Errno::ERESTARTSYS);
        }
        sched::sleep(wait_channel(me.pid), None);
    }
}

/// The kernel's own wait for its child `pid` (init, or a test's process):
/// sleeps until it ends, reaps it, and says how it ended.
pub fn wait_for_kernel_child(pid: Pid) -> Exit {
    loop {
        let exit = lookup(pid).and_then(|child| match child.life.lock().life {
            Life::Zombie(exit) => Some(exit),
            _ => None,
        });
        if let Some(exit) = exit {
            TABLE.lock().remove(&pid);
            return exit;
        }
        sched::sleep(wait_channel(KERNEL_PID), None);
    }
}

impl Process {
    /// The change of this child a wait with `options` by `parent` reports,
    /// taken (an ended child reaped) unless `options.keep`.
    fn report(&self, parent: &Process, options: WaitOptions) -> Option<WaitReport> {
        let [user, system, children_user, children_system] = self.times();
        let report = |code: i32, status: i32, wait_status: i32| WaitReport {
            pid: self.pid,
            code,
            status,
            wait_status,
            user_ticks: user,
            system_ticks: system,
        };
        let mut state = self.life.lock();
        if let Life::Zombie(exit) = state.life {
            if !options.exited {
                return None;
            }
            drop(state);
            let (code, status) = match exit {
                Exit::Status(status) => (CLD_EXITED, i32::from(status)),
                Exit::Killed { signal, .. } => (CLD_KILLED, signal as i32),
            };
            if !options.keep {
                TABLE.lock().remove(&self.pid);
                parent
                    .times
                    .children_user
                    .fetch_add(user + children_user, Ordering::Relaxed);
                parent
                    .times
                    .children_system
                    .fetch_add(system + children_system, Ordering::Relaxed);
            }
            return Some(report(code, status, exit.wait_status()));
        }
        if options.stopped
            && let Some(signal) = state.unreported_stop
        {
            if !options.keep {
                state.unreported_stop = None;
            }
            return Some(report(
                CLD_STOPPED,
                signal as i32,
                ((signal as i32) << 8) | 0x7f,
            ));
        }
        if options.continued && state.unreported_continue {
            if !options.keep {
                state.unreported_continue = false;
            }
            return Some(report(CLD_CONTINUED, SIGCONT_STATUS, 0xffff));
        }
        None
    }
}

/// Fires the ITIMER_REAL timers that are due: SIGALRM, and the timer
/// reloaded with its interval (part of the kernel's periodic work).
pub fn fire_expired_timers() {
    let now = crate::time::now_ns();
    for process in all() {
        let due = {
            let mut timer = process.real_timer.lock();
            match timer.deadline {
                Some(deadline) if deadline <= now => {
                    timer.deadline = (timer.interval != 0).then(|| {
                        let late = (now - deadline) / timer.interval;
                        deadline + (late + 1) * timer.interval
                    });
                    true
                }
                _ => false,
            }
        };
        if due {
            signal::send(&process, SigInfo::kernel(abi::signal::SIGALRM));
        }
    }
}

/// exec's change to the running process: the new memory and name, the
/// descriptors marked close-on-exec closed, caught signals reset, a vfork
/// parent released. The old memory goes after the CPU has left it.
#[allow(unsafe_code)]
pub fn replace_image(process: &Process, memory: UserMemory, name: String) {
    let root = memory.page_table_root();
    let memory = Arc::new(Mutex::new(memory));
    // SAFETY: the new tables share the kernel half, where this code runs.
    unsafe { arch::paging::switch_table_root(root) };
    let old = process.replace_memory(memory);
    drop(old);
    *process.name.lock() = name;
    process.files.lock().close_on_exec();
    process.signals.lock().reset_for_exec();
    process.has_execed.store(true, Ordering::Release);
    release_vfork_parent(process);
}

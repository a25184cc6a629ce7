//! The scheduler: threads (a kernel stack, the registers saved on it, the
//! user FPU state), the run queue, sleeping and waking.
//!
//! One CPU, and a kernel that is not preemptible: a thread runs kernel code
//! until it returns to user mode or sleeps. The timer takes the CPU from a
//! thread only when it interrupts user mode, where the thread holds no lock
//! (round robin, one tick each). So the rule every sleeper keeps is: **no
//! spin lock is held across [`sleep`]** — the next thread would spin on it
//! forever. Waits for the disk do not sleep: they halt in place (they are
//! short, and they may hold the file system's locks).
//!
//! Sleeping is xv6's: a thread sleeps on a [`Channel`] (the address of what
//! it waits for) with an optional deadline, and when it wakes — woken on the
//! channel, by the deadline, or by a signal — it checks its condition again
//! and sleeps again if the condition does not hold yet.
//!
//! When nothing is runnable the CPU halts in [`schedule`], on the stack of
//! the thread that went to sleep, and does the kernel's periodic work
//! (write-back, timers) at each wake-up.
// Context switches and the threads' saved registers: the scheduler is where
// one thread's stack and registers are handed to another.
#![allow(unsafe_code)]

use crate::memory::stack::KernelStack;
use crate::process::Process;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use arch::context::SavedContext;
use arch::fpu::FpuState;
use arch::trap::TrapFrame;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use spin::Mutex;
use x86_64::VirtAddr;

pub type ThreadId = u32;

/// Kernel stack pages per thread (the stack's guard page lies below).
const KERNEL_STACK_PAGES: usize = 16;

/// What a sleeping thread waits for: by convention the address of the
/// object whose change it waits for, and a key within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    object: usize,
    key: u64,
}

impl Channel {
    pub fn of<T: ?Sized>(object: &T) -> Channel {
        Channel::keyed(object, 0)
    }

    /// One of the channels of `object`: the waits for the children of one
    /// process in the process table, say.
    pub fn keyed<T: ?Sized>(object: &T, key: u64) -> Channel {
        Channel {
            object: object as *const T as *const () as usize,
            key,
        }
    }
}

/// A thread of execution. For now every process has exactly one, with the
/// process's id; the kernel's boot thread (id 0) has no process.
pub struct Thread {
    pub id: ThreadId,
    /// The process whose user code this thread runs.
    pub process: Option<Arc<Process>>,
    /// `None` for the boot thread, which runs on the kernel's main stack.
    kernel_stack: Option<KernelStack>,
    context: UnsafeCell<SavedContext>,
    fpu: UnsafeCell<FpuState>,
    /// The user FS base (the thread pointer), loaded at every switch.
    pub fs_base: AtomicU64,
}

// SAFETY: `context` and `fpu` are touched only by `switch_to`, with
// interrupts off, for the thread leaving the CPU and the one taking it.
unsafe impl Sync for Thread {}
// SAFETY: as above; everything else in a thread is Send.
unsafe impl Send for Thread {}

/// The stack could not be had.
#[derive(Debug)]
pub struct OutOfMemory;

impl Thread {
    /// A thread that will enter user mode in `process` with the registers
    /// of `frame`, the FPU state `fpu` and the FS base `fs_base`.
    pub fn new_user(
        id: ThreadId,
        process: Arc<Process>,
        frame: &TrapFrame,
        fpu: FpuState,
        fs_base: u64,
    ) -> Result<Thread, OutOfMemory> {
        let stack = KernelStack::new(KERNEL_STACK_PAGES).map_err(|_| OutOfMemory)?;
        // SAFETY: a fresh stack that only this thread will use.
        let context =
            unsafe { SavedContext::new_user_thread(stack.top().as_u64(), frame, thread_start) };
        Ok(Thread {
            id,
            process: Some(process),
            kernel_stack: Some(stack),
            context: UnsafeCell::new(context),
            fpu: UnsafeCell::new(fpu),
            fs_base: AtomicU64::new(fs_base),
        })
    }

    /// The registers the thread entered the kernel with from user mode:
    /// a copy of the frame at the top of its kernel stack (where the
    /// `syscall` entry and every trap from ring 3 put it).
    ///
    /// # Safety
    /// The thread must be the running one and be in the kernel on behalf of
    /// its user code (a system call or a trap from ring 3).
    pub unsafe fn user_registers(&self) -> TrapFrame {
        let top = self
            .kernel_stack
            .as_ref()
            .expect("a user thread has its own stack")
            .top();
        let frame = (top.as_u64() - size_of::<TrapFrame>() as u64) as *const TrapFrame;
        // SAFETY: the entry code built the frame there, and it is only read.
        unsafe { (*frame).clone() }
    }

    fn stack_top(&self) -> Option<VirtAddr> {
        self.kernel_stack.as_ref().map(KernelStack::top)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Runnable,
    Running,
    Sleeping {
        channel: Channel,
        deadline: Option<u64>,
    },
    /// Stopped by a signal until [`wake_thread`] (SIGCONT or SIGKILL).
    Stopped,
    Dead,
}

struct Entry {
    thread: Arc<Thread>,
    state: State,
}

struct Scheduler {
    threads: BTreeMap<ThreadId, Entry>,
    run_queue: VecDeque<ThreadId>,
    current: ThreadId,
    /// A thread that died and left the CPU: its stack is freed by the next
    /// thread to run, once nothing runs on it.
    departed: Option<Arc<Thread>>,
    /// When the running thread got the CPU (in ticks), for round robin.
    slice_started: u64,
}

/// What [`Scheduler::pick`] decided.
enum Pick {
    /// Keep running the current thread.
    Same,
    /// Switch from the current thread to another.
    Switch { from: Arc<Thread>, to: Arc<Thread> },
    /// Nothing can run: halt until an interrupt.
    Idle,
}

impl Scheduler {
    fn entry(&mut self, id: ThreadId) -> &mut Entry {
        self.threads.get_mut(&id).expect("a known thread")
    }

    fn make_runnable(&mut self, id: ThreadId) {
        let Some(entry) = self.threads.get_mut(&id) else {
            return;
        };
        if matches!(entry.state, State::Sleeping { .. } | State::Stopped) {
            entry.state = State::Runnable;
            self.run_queue.push_back(id);
        }
    }

    /// Wakes the sleepers whose deadline has passed.
    fn wake_expired(&mut self, now: u64) {
        let expired: alloc::vec::Vec<ThreadId> = self
            .threads
            .iter()
            .filter(|(_, entry)| {
                matches!(entry.state, State::Sleeping { deadline: Some(deadline), .. } if deadline <= now)
            })
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.make_runnable(id);
        }
    }

    fn pick(&mut self) -> Pick {
        self.wake_expired(crate::time::now_ns());
        let next = loop {
            let Some(id) = self.run_queue.pop_front() else {
                return Pick::Idle;
            };
            if self
                .threads
                .get(&id)
                .is_some_and(|entry| entry.state == State::Runnable)
            {
                break id;
            }
        };
        self.entry(next).state = State::Running;
        self.slice_started = crate::time::ticks();
        if next == self.current {
            return Pick::Same;
        }
        let previous = self.current;
        self.current = next;
        let from = if self.entry(previous).state == State::Dead {
            let departed = self.threads.remove(&previous).expect("known").thread;
            self.departed = Some(departed.clone());
            departed
        } else {
            self.entry(previous).thread.clone()
        };
        Pick::Switch {
            from,
            to: self.entry(next).thread.clone(),
        }
    }
}

static SCHEDULER: Mutex<Option<Scheduler>> = Mutex::new(None);

/// The running thread, for lock-free access (time accounting in the timer
/// interrupt, [`current`]).
static CURRENT: AtomicPtr<Thread> = AtomicPtr::new(core::ptr::null_mut());

fn with_scheduler<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    arch::cpu::without_interrupts(|| {
        f(SCHEDULER
            .lock()
            .as_mut()
            .expect("the scheduler is initialised"))
    })
}

/// Makes the code running now — the kernel's boot thread, on its main
/// stack — thread 0.
pub fn init() {
    let boot = Arc::new(Thread {
        id: 0,
        process: None,
        kernel_stack: None,
        context: UnsafeCell::new(SavedContext::default()),
        fpu: UnsafeCell::new(FpuState::initial()),
        fs_base: AtomicU64::new(0),
    });
    CURRENT.store(Arc::as_ptr(&boot).cast_mut(), Ordering::Release);
    let mut threads = BTreeMap::new();
    threads.insert(
        0,
        Entry {
            thread: boot,
            state: State::Running,
        },
    );
    *SCHEDULER.lock() = Some(Scheduler {
        threads,
        run_queue: VecDeque::new(),
        current: 0,
        departed: None,
        slice_started: 0,
    });
}

/// The running thread.
pub fn current() -> Arc<Thread> {
    let thread = CURRENT.load(Ordering::Acquire);
    assert!(!thread.is_null(), "the scheduler is not initialised");
    // SAFETY: CURRENT always points at a thread the scheduler's table holds
    // an `Arc` of (a thread leaves the table only after it left the CPU).
    unsafe {
        Arc::increment_strong_count(thread);
        Arc::from_raw(thread)
    }
}

/// The process of the running thread (every thread but the boot thread has
/// one).
pub fn current_process() -> Arc<Process> {
    current()
        .process
        .clone()
        .expect("only user threads ask for their process")
}

/// The process of the running thread, without taking a reference: for the
/// timer interrupt's time accounting.
pub fn with_current_process(f: impl FnOnce(&Process)) {
    let thread = CURRENT.load(Ordering::Acquire);
    if thread.is_null() {
        return;
    }
    // SAFETY: as in `current`; the reference does not outlive this call,
    // during which the running thread cannot leave the table.
    if let Some(process) = unsafe { &(*thread).process } {
        f(process);
    }
}

/// Adds a new thread, runnable.
pub fn spawn(thread: Thread) -> Arc<Thread> {
    let thread = Arc::new(thread);
    with_scheduler(|scheduler| {
        scheduler.threads.insert(
            thread.id,
            Entry {
                thread: thread.clone(),
                state: State::Runnable,
            },
        );
        scheduler.run_queue.push_back(thread.id);
    });
    thread
}

/// Sleeps on `channel` until [`wake`] names it, `deadline` (nanoseconds of
/// [`crate::time::now_ns`]) passes, or a signal wakes the thread. The caller
/// holds no spin lock and checks its condition again afterwards.
pub fn sleep(channel: Channel, deadline: Option<u64>) {
    with_scheduler(|scheduler| {
        let current = scheduler.current;
        scheduler.entry(current).state = State::Sleeping { channel, deadline };
    });
    schedule();
}

/// Wakes every thread sleeping on `channel`.
pub fn wake(channel: Channel) {
    with_scheduler(|scheduler| {
        let sleepers: alloc::vec::Vec<ThreadId> = scheduler
            .threads
            .iter()
            .filter(|(_, entry)| {
                matches!(entry.state, State::Sleeping { channel: waited, .. } if waited == channel)
            })
            .map(|(&id, _)| id)
            .collect();
        for id in sleepers {
            scheduler.make_runnable(id);
        }
    });
}

/// Makes thread `id` run again if it sleeps or is stopped: a signal for it
/// arrived.
pub fn wake_thread(id: ThreadId) {
    with_scheduler(|scheduler| scheduler.make_runnable(id));
}

/// Lets the other runnable threads run first.
pub fn yield_now() {
    with_scheduler(|scheduler| {
        let current = scheduler.current;
        scheduler.entry(current).state = State::Runnable;
        scheduler.run_queue.push_back(current);
    });
    schedule();
}

/// Stops the running thread until [`wake_thread`] names it.
pub fn stop() {
    with_scheduler(|scheduler| {
        let current = scheduler.current;
        scheduler.entry(current).state = State::Stopped;
    });
    schedule();
}

/// Ends the running thread; its stack is freed once the CPU has left it.
pub fn exit() -> ! {
    with_scheduler(|scheduler| {
        let current = scheduler.current;
        scheduler.entry(current).state = State::Dead;
    });
    schedule();
    unreachable!("a dead thread was scheduled again");
}

/// Whether thread `id` still exists.
pub fn thread_exists(id: ThreadId) -> bool {
    with_scheduler(|scheduler| scheduler.threads.contains_key(&id))
}

/// Gives the CPU to the next runnable thread (the current one, if it is
/// runnable and nothing else is), halting while nothing is runnable.
fn schedule() {
    let interrupts_were_enabled = arch::cpu::interrupts_enabled();
    arch::cpu::disable_interrupts();
    loop {
        let pick = with_scheduler(Scheduler::pick);
        match pick {
            Pick::Same => break,
            Pick::Switch { from, to } => {
                // Nothing of a thread that dies here is ever dropped on its
                // stack, so no reference may stay there: the table (or
                // `departed`) keeps both threads alive across the switch.
                let (from_ptr, to_ptr) = (Arc::as_ptr(&from), Arc::as_ptr(&to));
                drop((from, to));
                // SAFETY: as above, both outlive the switch.
                unsafe { switch_to(&*from_ptr, &*to_ptr) };
                finish_switch();
                break;
            }
            Pick::Idle => idle(),
        }
    }
    if interrupts_were_enabled {
        arch::cpu::enable_interrupts();
    }
}

/// Waits for an interrupt with nothing to run, then does the periodic work
/// an interrupted user program would otherwise have done (this thread holds
/// no lock: it is in `schedule`).
fn idle() {
    arch::cpu::enable_interrupts_and_halt();
    periodic_work();
    arch::cpu::disable_interrupts();
}

/// The kernel's periodic work, run where no lock can be held: by the timer
/// when it interrupts user mode, and by the idle loop.
fn periodic_work() {
    crate::terminal::process_input();
    crate::fs::background_work();
    crate::process::fire_expired_timers();
}

/// Moves the CPU from thread `from` to thread `to`: their FPU states, the
/// kernel stack for ring-3 entries, the page tables, the FS base, and the
/// kernel registers. Returns when `from` runs again.
fn switch_to(from: &Thread, to: &Thread) {
    // SAFETY: interrupts are off; `from` is running and `to` is not, so
    // nothing else touches their FPU areas now.
    unsafe {
        if from.process.is_some() {
            (*from.fpu.get()).save();
        }
        if to.process.is_some() {
            (*to.fpu.get()).restore();
        }
    }
    if let Some(top) = to.stack_top() {
        arch::user::set_kernel_stack(top);
    }
    let root = match &to.process {
        Some(process) => process.page_table_root(),
        None => crate::memory::kernel_space::kernel_root(),
    };
    if root != arch::paging::active_table_root() {
        // SAFETY: every address space shares the kernel half, which holds
        // this code, both stacks and every kernel object.
        unsafe { arch::paging::switch_table_root(root) };
    }
    arch::user::set_user_fs_base(VirtAddr::new_truncate(to.fs_base.load(Ordering::Relaxed)));
    CURRENT.store(core::ptr::from_ref(to).cast_mut(), Ordering::Release);
    // SAFETY: interrupts are off; `to` was saved by `switch` or made by
    // `new_user_thread`, its stack is mapped and unused; `from` stays alive
    // in the table (or as `departed`) until it is resumed or freed.
    unsafe { arch::context::switch(from.context.get(), to.context.get()) };
}

/// Runs on the new thread after every switch: frees the stack of a thread
/// that died in the switch.
fn finish_switch() {
    let departed = with_scheduler(|scheduler| scheduler.departed.take());
    drop(departed);
}

/// Where a new thread starts, before entering user mode.
extern "C" fn thread_start() {
    finish_switch();
}

/// The timer interrupt's part: CPU time charged to the running process,
/// and — when the tick interrupted user mode, where no lock is held — the
/// periodic work and round robin.
pub fn on_timer_tick(from_user: bool) {
    with_current_process(|process| process.charge_tick(from_user));
    if !from_user {
        return;
    }
    periodic_work();
    let slice_over = with_scheduler(|scheduler| {
        crate::time::ticks() > scheduler.slice_started && !scheduler.run_queue.is_empty()
    });
    if slice_over {
        yield_now();
    }
}

crate::kernel_test!(sleep_with_a_deadline_returns_once_it_passed, {
    let channel = Channel::of(&SCHEDULER);
    let start = crate::time::now_ns();
    let deadline = start + 30_000_000;
    sleep(channel, Some(deadline));
    let woke = crate::time::now_ns();
    assert!(woke >= deadline, "woke {} ns early", deadline - woke);
    // The idle loop looks at deadlines at every tick (10 ms).
    assert!(
        woke - deadline < 40_000_000,
        "woke {} ms late",
        (woke - deadline) / 1_000_000
    );
});

//! Signals: dispositions, the blocked and pending sets, how a signal is
//! generated (kill, a fault, a child's end, a timer) and how it is delivered
//! on the way back to user mode — the default action, or a handler run on a
//! frame the kernel builds on the user stack — and `rt_sigreturn`.
//!
//! Linux x86_64 is the reference throughout (kernel/signal.c,
//! arch/x86/kernel/signal.c): the frame is its `rt_sigframe` (return
//! address, `ucontext` with the registers, the mask and the alternate
//! stack, `siginfo`, and the `fxsave` area), and `rt_sigreturn` takes back
//! only what user code may change (RFLAGS' user bits; CS and SS stay the
//! user selectors).

use super::{Exit, Process};
use crate::sched;
use abi::Errno;
use abi::signal::*;
use abi::syscall::RESTART_SYSCALL;
use alloc::collections::VecDeque;
use arch::fpu::{FXSAVE_BYTES, FpuState};
use arch::trap::TrapFrame;
use arch::user::ReturnPath;
use mm::address_space::USER_END;

/// A signal's disposition, as `struct sigaction` holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

impl SigAction {
    pub fn from_bytes(bytes: &[u8; SIGACTION_BYTES]) -> SigAction {
        let word = |index: usize| {
            u64::from_le_bytes(bytes[index * 8..index * 8 + 8].try_into().expect("8 bytes"))
        };
        SigAction {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        }
    }

    pub fn to_bytes(self) -> [u8; SIGACTION_BYTES] {
        let mut bytes = [0u8; SIGACTION_BYTES];
        for (slot, word) in
            bytes
                .chunks_mut(8)
                .zip([self.handler, self.flags, self.restorer, self.mask])
        {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

/// What a signal does when its handler is `SIG_DFL` (signal(7)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
    Continue,
}

fn default_action(signal: u32) -> DefaultAction {
    match signal {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        // Core-dumping signals terminate too: RLIMIT_CORE is 0, as Linux
        // starts init with, so no core is written and the status has no
        // core flag.
        _ => DefaultAction::Terminate,
    }
}

/// The bit of `signal` in a signal set.
pub const fn bit(signal: u32) -> u64 {
    1 << (signal - 1)
}

/// Signals no mask can block and no handler can catch.
pub const UNBLOCKABLE: u64 = bit(SIGKILL) | bit(SIGSTOP);
/// Signals raised by the instruction that faulted: delivered before the
/// others (Linux's SYNCHRONOUS_MASK).
const SYNCHRONOUS: u64 =
    bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) | bit(SIGFPE) | bit(SIGSYS);
const STOP_SIGNALS: u64 = bit(SIGSTOP) | bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);

/// The fields of `siginfo_t` that depend on how the signal came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The kernel itself (`si_code` SI_KERNEL or a fault code).
    Kernel,
    /// A process, with `kill`, `tkill` or `tgkill`.
    Sender { pid: u32 },
    /// The faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    Fault { address: u64 },
    /// A child's change of state (SIGCHLD).
    Child {
        pid: u32,
        status: i32,
        user_ticks: u64,
        system_ticks: u64,
    },
}

/// One signal's `siginfo_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo {
    pub signal: u32,
    pub code: i32,
    pub origin: Origin,
}

impl SigInfo {
    /// A signal the faulting instruction at or on `address` raised.
    pub fn fault(signal: u32, code: i32, address: u64) -> SigInfo {
        SigInfo {
            signal,
            code,
            origin: Origin::Fault { address },
        }
    }

    /// A signal the kernel sends for its own reasons (SI_KERNEL).
    pub fn kernel(signal: u32) -> SigInfo {
        SigInfo {
            signal,
            code: SI_KERNEL,
            origin: Origin::Kernel,
        }
    }

    /// A signal process `pid` sent (`code` SI_USER for kill, SI_TKILL for
    /// tkill and tgkill).
    pub fn sent_by(signal: u32, code: i32, pid: u32) -> SigInfo {
        SigInfo {
            signal,
            code,
            origin: Origin::Sender { pid },
        }
    }

    /// The faulting address, for a fault.
    pub fn fault_address(self) -> Option<u64> {
        match self.origin {
            Origin::Fault { address } => Some(address),
            _ => None,
        }
    }

    /// The 128-byte `siginfo_t` of Linux x86_64: signo, errno, code, then
    /// the union at offset 16.
    pub fn to_bytes(self) -> [u8; SIGINFO_BYTES] {
        let mut bytes = [0u8; SIGINFO_BYTES];
        let mut put = |offset: usize, value: &[u8]| {
            bytes[offset..offset + value.len()].copy_from_slice(value);
        };
        put(0, &self.signal.to_le_bytes());
        put(8, &self.code.to_le_bytes());
        match self.origin {
            Origin::Kernel => {}
            Origin::Sender { pid } => put(16, &pid.to_le_bytes()),
            Origin::Fault { address } => put(16, &address.to_le_bytes()),
            Origin::Child {
                pid,
                status,
                user_ticks,
                system_ticks,
            } => {
                put(16, &pid.to_le_bytes());
                put(24, &status.to_le_bytes());
                put(32, &user_ticks.to_le_bytes());
                put(40, &system_ticks.to_le_bytes());
            }
        }
        bytes
    }
}

/// The alternate signal stack (`sigaltstack`): Linux's `sas_ss_sp`,
/// `sas_ss_size` and `sas_ss_flags` (the flags as they were given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub base: u64,
    pub size: u64,
    pub flags: u32,
}

impl AltStack {
    const DISABLED: AltStack = AltStack {
        base: 0,
        size: 0,
        flags: SS_DISABLE,
    };

    fn enabled(&self) -> bool {
        self.size != 0
    }

    /// Whether `sp` is on this stack (Linux's `on_sig_stack`; never with
    /// SS_AUTODISARM, whose stack is disarmed while in use).
    pub fn contains(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && sp > self.base && sp.wrapping_sub(self.base) <= self.size
    }

    /// `ss_flags` as `sigaltstack` reports them for a thread at `sp`.
    pub fn reported_flags(&self, sp: u64) -> u32 {
        let state = if !self.enabled() {
            SS_DISABLE
        } else if self.contains(sp) {
            SS_ONSTACK
        } else {
            0
        };
        state | (self.flags & SS_AUTODISARM)
    }
}

/// How a system call asked to be restarted after a signal (Linux's
/// `restart_block`): nanosleep's deadline, for `restart_syscall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartSleep {
    pub deadline: u64,
    pub remaining_at: u64,
}

/// A process's signal state.
pub struct SignalState {
    actions: [SigAction; NSIG as usize],
    pub blocked: u64,
    pending: u64,
    /// The `siginfo` of each pending signal, in arrival order: one per
    /// standard signal (a second one merges), every one for real-time ones.
    queued: VecDeque<SigInfo>,
    pub altstack: AltStack,
    /// The mask `rt_sigsuspend` replaced, restored after the handler.
    pub saved_mask: Option<u64>,
    pub restart: Option<RestartSleep>,
}

impl SignalState {
    pub fn new() -> SignalState {
        SignalState {
            actions: [SigAction::default(); NSIG as usize],
            blocked: 0,
            pending: 0,
            queued: VecDeque::new(),
            altstack: AltStack::DISABLED,
            saved_mask: None,
            restart: None,
        }
    }

    /// A forked child's: the same dispositions, mask and alternate stack,
    /// nothing pending (fork(2)).
    pub fn for_child(&self) -> SignalState {
        SignalState {
            actions: self.actions,
            blocked: self.blocked,
            altstack: self.altstack,
            ..SignalState::new()
        }
    }

    /// execve(2): caught signals go back to their default, ignored ones
    /// stay ignored (flags and masks cleared, as Linux's
    /// `flush_signal_handlers`); the mask and the pending set are kept, the
    /// alternate stack is not.
    pub fn reset_for_exec(&mut self) {
        for action in &mut self.actions {
            let handler = if action.handler == SIG_IGN {
                SIG_IGN
            } else {
                SIG_DFL
            };
            *action = SigAction {
                handler,
                ..SigAction::default()
            };
        }
        self.altstack = AltStack::DISABLED;
    }

    pub fn action(&self, signal: u32) -> SigAction {
        self.actions[signal as usize - 1]
    }

    /// Sets a disposition; making a signal ignored discards it if pending
    /// (POSIX, as Linux's `do_sigaction`).
    pub fn set_action(&mut self, signal: u32, mut action: SigAction) {
        action.mask &= !UNBLOCKABLE;
        self.actions[signal as usize - 1] = action;
        if self.ignores(signal) {
            self.discard(bit(signal));
        }
    }

    /// Whether `signal` would not reach a handler or its default action:
    /// it is ignored or blocked (the terminal's SIGTTIN/SIGTTOU rule).
    pub fn ignores_or_blocks(&self, signal: u32) -> bool {
        self.ignores(signal) || self.blocked & bit(signal) != 0
    }

    /// Whether a signal with this disposition would be thrown away.
    fn ignores(&self, signal: u32) -> bool {
        match self.action(signal).handler {
            SIG_IGN => true,
            SIG_DFL => matches!(
                default_action(signal),
                DefaultAction::Ignore | DefaultAction::Continue
            ),
            _ => false,
        }
    }

    fn discard(&mut self, signals: u64) {
        self.pending &= !signals;
        self.queued.retain(|info| bit(info.signal) & signals == 0);
    }

    /// Signals pending and not blocked: what wakes a sleeper.
    pub fn deliverable(&self) -> u64 {
        self.pending & !self.blocked
    }

    /// Pending signals that are blocked (rt_sigpending).
    pub fn pending_blocked(&self) -> u64 {
        self.pending & self.blocked
    }

    /// Adds a signal (the generation side of `send`); false if it was
    /// discarded as ignored.
    fn enqueue(&mut self, info: SigInfo) -> bool {
        let signal_bit = bit(info.signal);
        if self.ignores(info.signal) && self.blocked & signal_bit == 0 {
            return false;
        }
        let already = self.pending & signal_bit != 0;
        if !already || info.signal >= SIGRTMIN {
            self.queued.push_back(info);
        }
        self.pending |= signal_bit;
        true
    }

    /// Takes the next signal to deliver: faults first, then the lowest
    /// number (Linux's `next_signal`).
    fn dequeue(&mut self) -> Option<SigInfo> {
        let ready = self.deliverable();
        if ready == 0 {
            return None;
        }
        let choice = if ready & SYNCHRONOUS != 0 {
            ready & SYNCHRONOUS
        } else {
            ready
        };
        let signal = choice.trailing_zeros() + 1;
        let position = self
            .queued
            .iter()
            .position(|info| info.signal == signal)
            .expect("a pending signal has its siginfo");
        let info = self.queued.remove(position).expect("found");
        if !self.queued.iter().any(|other| other.signal == signal) {
            self.pending &= !bit(signal);
        }
        Some(info)
    }
}

/// Sends a signal to `process` (kill, a child's end, a timer): it is queued
/// unless ignored, SIGCONT and SIGKILL continue a stopped process, and the
/// thread is woken if the signal can be delivered to it now.
pub fn send(process: &Process, info: SigInfo) {
    let signal = info.signal;
    let wake = {
        let mut signals = process.signals.lock();
        if signal == SIGCONT || signal == SIGKILL {
            signals.discard(STOP_SIGNALS);
        } else if bit(signal) & STOP_SIGNALS != 0 {
            signals.discard(bit(SIGCONT));
        }
        let queued = signals.enqueue(info);
        queued && (signals.deliverable() & bit(signal) != 0 || signal == SIGKILL)
    };
    if signal == SIGCONT || signal == SIGKILL {
        process.continue_if_stopped();
    }
    if wake {
        sched::wake_thread(process.pid);
    }
}

/// The running process's fault: the signal is delivered on the way back to
/// user mode. If it is blocked or ignored it cannot be, so — as Linux's
/// `force_sig_info` — it is unblocked and its disposition reset to the
/// default, which ends the process.
pub fn force_fault(info: SigInfo) {
    let process = sched::current_process();
    {
        let mut signals = process.signals.lock();
        let signal_bit = bit(info.signal);
        let action = signals.action(info.signal);
        if action.handler == SIG_IGN || signals.blocked & signal_bit != 0 {
            signals.actions[info.signal as usize - 1].handler = SIG_DFL;
            signals.blocked &= !signal_bit;
        }
    }
    send(&process, info);
}

/// Whether a signal waits to be delivered to the running process: an
/// interruptible sleep ends (EINTR, or a restart).
pub fn interrupted() -> bool {
    sched::current_process().signals.lock().deliverable() != 0
}

/// What the system call that is returning asked for, for the restart rules.
#[derive(Clone, Copy, Debug)]
pub struct SyscallReturn {
    pub number: u64,
}

/// What the way back to user mode ends in.
pub enum Verdict {
    /// Return, by this path.
    Return(ReturnPath),
    /// A signal's default action ends the process.
    Exit(Exit),
}

/// Delivers the running process's pending signals on its way back to user
/// mode through `frame`: ignored ones are dropped, a default action stops
/// or ends the process, and a handler gets a signal frame (one per return).
/// After a system call, an `ERESTART*` result becomes EINTR or a restart as
/// Linux's `handle_signal` and `arch_do_signal_or_restart` decide.
pub fn deliver(frame: &mut TrapFrame, syscall: Option<SyscallReturn>, path: ReturnPath) -> Verdict {
    let process = sched::current_process();
    loop {
        let next = process.signals.lock().dequeue();
        let Some(info) = next else {
            return Verdict::Return(restart_without_handler(&process, frame, syscall, path));
        };
        let action = process.signals.lock().action(info.signal);
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(info.signal) {
                DefaultAction::Ignore | DefaultAction::Continue => continue,
                DefaultAction::Stop => {
                    process.stop(info.signal);
                    continue;
                }
                DefaultAction::Terminate => {
                    return Verdict::Exit(Exit::Killed {
                        signal: info.signal,
                        fault_address: info.fault_address(),
                    });
                }
            },
            _ => {
                if let Some(syscall) = syscall {
                    interrupt_for_handler(frame, syscall, action);
                }
                return match run_handler(&process, frame, &info, action) {
                    Ok(()) => Verdict::Return(ReturnPath::Iret),
                    // Linux's force_sigsegv: no frame could be written, so
                    // the process dies of SIGSEGV.
                    Err(()) => Verdict::Exit(Exit::Killed {
                        signal: SIGSEGV,
                        fault_address: None,
                    }),
                };
            }
        }
    }
}

/// The system call's return value in `frame.rax`, as an errno if it is one.
fn returned_errno(frame: &TrapFrame) -> Option<Errno> {
    let value = frame.rax as i64;
    (-4095..0)
        .contains(&value)
        .then(|| Errno::from_raw(-value as i32))
        .flatten()
}

/// A handler is about to run after an interrupted system call: EINTR, or
/// with SA_RESTART (for ERESTARTSYS) a restart once the handler returns.
fn interrupt_for_handler(frame: &mut TrapFrame, syscall: SyscallReturn, action: SigAction) {
    let restart = match returned_errno(frame) {
        Some(Errno::ERESTARTNOINTR) => true,
        Some(Errno::ERESTARTSYS) => action.flags & SA_RESTART != 0,
        Some(Errno::ERESTARTNOHAND | Errno::ERESTART_RESTARTBLOCK) => false,
        _ => return,
    };
    if restart {
        restart_syscall_at(frame, syscall.number);
    } else {
        frame.rax = Errno::EINTR.to_syscall_return() as u64;
    }
}

/// No handler ran: an interrupted system call starts again (through
/// `restart_syscall` for ERESTART_RESTARTBLOCK), and a mask that
/// rt_sigsuspend replaced is put back.
fn restart_without_handler(
    process: &Process,
    frame: &mut TrapFrame,
    syscall: Option<SyscallReturn>,
    path: ReturnPath,
) -> ReturnPath {
    let mut signals = process.signals.lock();
    if let Some(mask) = signals.saved_mask.take() {
        signals.blocked = mask;
    }
    let Some(syscall) = syscall else {
        return path;
    };
    match returned_errno(frame) {
        Some(Errno::ERESTARTSYS | Errno::ERESTARTNOINTR | Errno::ERESTARTNOHAND) => {
            restart_syscall_at(frame, syscall.number)
        }
        Some(Errno::ERESTART_RESTARTBLOCK) => restart_syscall_at(frame, RESTART_SYSCALL),
        _ => {}
    }
    path
}

/// Makes the `syscall` instruction (2 bytes) run again with `number`.
fn restart_syscall_at(frame: &mut TrapFrame, number: u64) {
    frame.rax = number;
    frame.rip -= 2;
}

/// Offsets in the signal frame (Linux x86_64's `struct rt_sigframe`).
mod layout {
    /// `pretcode`, the handler's return address, then the `ucontext`.
    pub const UCONTEXT: usize = 8;
    /// In the ucontext: flags, link, `stack_t`, `sigcontext`, mask.
    pub const UC_STACK: usize = 16;
    pub const UC_MCONTEXT: usize = 40;
    pub const UC_SIGMASK: usize = 296;
    pub const UCONTEXT_BYTES: usize = 304;
    pub const SIGINFO: usize = UCONTEXT + UCONTEXT_BYTES;
    pub const FRAME_BYTES: usize = SIGINFO + abi::signal::SIGINFO_BYTES;
    /// In the sigcontext: r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
    /// rip, eflags (8 bytes each), cs, gs, fs, ss (2 each), err, trapno,
    /// oldmask, cr2, fpstate.
    pub const SC_EFLAGS: usize = 17 * 8;
    pub const SC_SEGMENTS: usize = 18 * 8;
    pub const SC_ERR: usize = 19 * 8;
    pub const SC_TRAPNO: usize = 20 * 8;
    pub const SC_OLDMASK: usize = 21 * 8;
    pub const SC_CR2: usize = 22 * 8;
    pub const SC_FPSTATE: usize = 23 * 8;
    /// The red zone a handler frame keeps clear below the interrupted rsp.
    pub const RED_ZONE: u64 = 128;
}

/// The general registers in sigcontext order.
fn registers(frame: &mut TrapFrame) -> [&mut u64; 17] {
    [
        &mut frame.r8,
        &mut frame.r9,
        &mut frame.r10,
        &mut frame.r11,
        &mut frame.r12,
        &mut frame.r13,
        &mut frame.r14,
        &mut frame.r15,
        &mut frame.rdi,
        &mut frame.rsi,
        &mut frame.rbp,
        &mut frame.rbx,
        &mut frame.rdx,
        &mut frame.rax,
        &mut frame.rcx,
        &mut frame.rsp,
        &mut frame.rip,
    ]
}

/// Builds the signal frame for `info` on the user stack (or the alternate
/// stack) and points `frame` at the handler, with the mask, SA_RESETHAND
/// and SS_AUTODISARM applied. `Err` if the frame could not be written.
fn run_handler(
    process: &Process,
    frame: &mut TrapFrame,
    info: &SigInfo,
    action: SigAction,
) -> Result<(), ()> {
    let (altstack, mask_to_restore) = {
        let mut signals = process.signals.lock();
        let mask = signals.saved_mask.take().unwrap_or(signals.blocked);
        (signals.altstack, mask)
    };
    let interrupted_sp = frame.rsp;
    let mut sp = interrupted_sp.wrapping_sub(layout::RED_ZONE);
    let switch_stack =
        action.flags & SA_ONSTACK != 0 && altstack.enabled() && !altstack.contains(interrupted_sp);
    if switch_stack {
        sp = altstack.base + altstack.size;
    }
    let mut fpu = FpuState::initial();
    fpu.save();
    let fpstate_at = (sp.wrapping_sub(FXSAVE_BYTES as u64)) & !63;
    let frame_at = ((fpstate_at.wrapping_sub(layout::FRAME_BYTES as u64)) & !15).wrapping_sub(8);

    let mut bytes = [0u8; layout::FRAME_BYTES];
    let mut put = |offset: usize, value: &[u8]| {
        bytes[offset..offset + value.len()].copy_from_slice(value);
    };
    put(0, &action.restorer.to_le_bytes());
    let uc = layout::UCONTEXT;
    put(uc, &(UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS).to_le_bytes());
    put(uc + layout::UC_STACK, &altstack.base.to_le_bytes());
    put(uc + layout::UC_STACK + 8, &altstack.flags.to_le_bytes());
    put(uc + layout::UC_STACK + 16, &altstack.size.to_le_bytes());
    let sc = uc + layout::UC_MCONTEXT;
    for (index, register) in registers(frame).into_iter().enumerate() {
        put(sc + index * 8, &register.to_le_bytes());
    }
    put(sc + layout::SC_EFLAGS, &frame.rflags.to_le_bytes());
    let segments = [frame.cs as u16, 0, 0, frame.ss as u16];
    for (index, selector) in segments.into_iter().enumerate() {
        put(
            sc + layout::SC_SEGMENTS + index * 2,
            &selector.to_le_bytes(),
        );
    }
    let from_trap = frame.vector != arch::user::SYSCALL_VECTOR;
    if from_trap {
        put(sc + layout::SC_ERR, &frame.error_code.to_le_bytes());
        put(sc + layout::SC_TRAPNO, &frame.vector.to_le_bytes());
    }
    put(sc + layout::SC_OLDMASK, &mask_to_restore.to_le_bytes());
    put(
        sc + layout::SC_CR2,
        &info.fault_address().unwrap_or(0).to_le_bytes(),
    );
    put(sc + layout::SC_FPSTATE, &fpstate_at.to_le_bytes());
    put(uc + layout::UC_SIGMASK, &mask_to_restore.to_le_bytes());
    put(layout::SIGINFO, &info.to_bytes());

    let memory = process.memory();
    {
        let mut memory = memory.lock();
        memory
            .copy_to_user(fpstate_at, fpu.as_bytes())
            .and_then(|()| memory.copy_to_user(frame_at, &bytes))
            .map_err(|_| ())?;
    }

    frame.rdi = u64::from(info.signal);
    frame.rsi = frame_at + layout::SIGINFO as u64;
    frame.rdx = frame_at + uc as u64;
    frame.rax = 0;
    frame.rsp = frame_at;
    frame.rip = action.handler;
    // Linux clears DF (the ABI wants it clear at a call), TF and RF.
    const CLEARED_FLAGS: u64 = (1 << 8) | (1 << 10) | (1 << 16);
    frame.rflags &= !CLEARED_FLAGS;
    FpuState::initial().restore();

    let mut signals = process.signals.lock();
    let mut blocked = signals.blocked | action.mask;
    if action.flags & SA_NODEFER == 0 {
        blocked |= bit(info.signal);
    }
    signals.blocked = blocked & !UNBLOCKABLE;
    if action.flags & SA_RESETHAND != 0 {
        signals.actions[info.signal as usize - 1].handler = SIG_DFL;
    }
    if switch_stack && altstack.flags & SS_AUTODISARM != 0 {
        signals.altstack = AltStack::DISABLED;
    }
    Ok(())
}

/// rt_sigreturn(2): takes back the registers, the FPU state, the mask and
/// the alternate stack saved in the frame the handler returned from (just
/// below the stack pointer: the handler's `ret` popped its return address).
/// `Err` for a frame that cannot be read or that would put the program
/// counter outside user space: the process then gets SIGSEGV.
pub fn sigreturn(frame: &mut TrapFrame) -> Result<(), ()> {
    let process = sched::current_process();
    let uc_at = frame
        .rsp
        .wrapping_sub(8)
        .wrapping_add(layout::UCONTEXT as u64);
    let mut uc = [0u8; layout::UCONTEXT_BYTES];
    let memory = process.memory();
    memory
        .lock()
        .copy_from_user(uc_at, &mut uc)
        .map_err(|_| ())?;
    let word =
        |offset: usize| u64::from_le_bytes(uc[offset..offset + 8].try_into().expect("8 bytes"));
    let sc = layout::UC_MCONTEXT;
    let rip = word(sc + 16 * 8);
    if rip >= USER_END {
        return Err(());
    }
    let fpstate_at = word(sc + layout::SC_FPSTATE);
    let fpu = if fpstate_at == 0 {
        FpuState::initial()
    } else {
        let mut area = [0u8; FXSAVE_BYTES];
        memory
            .lock()
            .copy_from_user(fpstate_at, &mut area)
            .map_err(|_| ())?;
        FpuState::from_user_bytes(&area)
    };
    let altstack = AltStack {
        base: word(layout::UC_STACK),
        size: word(layout::UC_STACK + 16),
        flags: word(layout::UC_STACK + 8) as u32,
    };
    for (index, register) in registers(frame).into_iter().enumerate() {
        *register = word(sc + index * 8);
    }
    frame.set_user_flags(word(sc + layout::SC_EFLAGS));
    fpu.restore();
    let mut signals = process.signals.lock();
    signals.blocked = word(layout::UC_SIGMASK) & !UNBLOCKABLE;
    // As Linux's restore_altstack: the stack the frame recorded is set
    // again unless that is refused (then the current one stays).
    let _ = set_altstack(&mut signals, altstack, frame.rsp);
    Ok(())
}

/// sigaltstack(2)'s change: EPERM while running on the current alternate
/// stack, EINVAL for unknown flags, ENOMEM below MINSIGSTKSZ.
pub fn set_altstack(signals: &mut SignalState, new: AltStack, sp: u64) -> Result<(), Errno> {
    if signals.altstack.contains(sp) {
        return Err(Errno::EPERM);
    }
    let mode = new.flags & !SS_AUTODISARM;
    if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
        return Err(Errno::EINVAL);
    }
    if mode == SS_DISABLE {
        signals.altstack = AltStack {
            flags: new.flags,
            ..AltStack::DISABLED
        };
        return Ok(());
    }
    if new.size < MINSIGSTKSZ {
        return Err(Errno::ENOMEM);
    }
    signals.altstack = new;
    Ok(())
}

//! The serial console as a terminal: COM1's interrupt takes the received
//! bytes, the `tty` crate's line discipline decides what they do (echo,
//! editing, signals for the foreground process group), and reads, writes
//! and the terminal ioctls of console descriptors come here.
//!
//! The interrupt handler only moves bytes out of the UART; the line
//! discipline runs in the kernel's periodic work (the idle loop, a tick
//! that interrupted user mode) and before every read, where no lock is
//! held, so that it may send signals and wake readers.
//!
//! Job control as Linux's: a session leader makes the console its
//! controlling terminal (TIOCSCTTY); the terminal then has a foreground
//! process group (TIOCSPGRP), and a process of another group of that
//! session that changes the settings gets SIGTTOU (unless it ignores or
//! blocks it). The descriptors are `/dev/console`'s — what the kernel opens
//! for init — on which Linux does not stop background readers or TOSTOP
//! writers (`n_tty`'s "don't stop on /dev/console"): reads and writes here
//! do not either.

use crate::process::signal::{self, SigInfo};
use crate::process::{self, Pid};
use crate::sched::{self, Channel};
use abi::Errno;
use abi::signal::{SIGTTOU, SIGWINCH};
use abi::termios::{TCIFLUSH, TCIOFLUSH, TCOFLUSH, TERMIOS_BYTES, VMIN, WINSIZE_BYTES};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;
use tty::{LineDiscipline, Read, Termios};

/// How many received bytes wait for the line discipline at most; the
/// interrupt drops the rest, as a full UART FIFO would.
const RECEIVE_BUFFER: usize = 4096;

/// The console terminal.
pub struct Console {
    discipline: Mutex<LineDiscipline>,
    /// The session the console controls (0: none).
    session: AtomicU32,
    /// The foreground process group (0: none).
    foreground: AtomicU32,
    /// `struct winsize`: Linux's serial console starts with 0 rows, 0 columns.
    window: Mutex<[u8; WINSIZE_BYTES]>,
}

static CONSOLE: Console = Console {
    discipline: Mutex::new(LineDiscipline::new(Termios::serial_console())),
    session: AtomicU32::new(0),
    foreground: AtomicU32::new(0),
    window: Mutex::new([0; WINSIZE_BYTES]),
};

/// Bytes the interrupt took from the UART, in order. Taken with interrupts
/// off, as the interrupt handler takes it.
static RECEIVED: Mutex<VecDeque<u8>> = Mutex::new(VecDeque::new());

/// Turns the console's receive interrupt on.
pub fn init() {
    arch::serial::enable_receive_interrupt();
    arch::pic::unmask(arch::serial::COM1_IRQ);
}

/// COM1's interrupt: empties the UART's receive FIFO.
pub fn on_serial_interrupt() {
    let mut port = arch::serial::COM1_PORT.lock();
    let mut received = RECEIVED.lock();
    while let Some(byte) = port.try_read_byte() {
        if received.len() < RECEIVE_BUFFER {
            received.push_back(byte);
        }
    }
}

/// Where readers of the console sleep.
fn readers() -> Channel {
    Channel::of(&CONSOLE)
}

/// Runs the received bytes through the line discipline: the echo goes out,
/// signals go to the foreground process group, and readers wake when there
/// is something to read. Called where no lock is held.
pub fn process_input() {
    let bytes: Vec<u8> = arch::cpu::without_interrupts(|| RECEIVED.lock().drain(..).collect());
    if bytes.is_empty() {
        return;
    }
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    let mut readable = false;
    {
        let mut discipline = CONSOLE.discipline.lock();
        for byte in bytes {
            let reaction = discipline.receive(byte);
            echo.extend(reaction.echo);
            signals.extend(reaction.signal);
            readable |= reaction.readable;
        }
    }
    arch::serial::write_raw(&echo);
    for signal in signals {
        signal_foreground(signal);
    }
    if readable {
        sched::wake(readers());
    }
}

/// Sends `signal` to every process of the foreground process group.
fn signal_foreground(signal: u32) {
    let group = CONSOLE.foreground.load(Ordering::Acquire);
    if group == 0 {
        return;
    }
    for target in process::all()
        .into_iter()
        .filter(|target| target.group() == group)
    {
        signal::send(&target, SigInfo::kernel(signal));
    }
}

/// Whether the console is the caller's controlling terminal.
fn controls_caller() -> bool {
    let session = CONSOLE.session.load(Ordering::Acquire);
    session != 0 && sched::current_process().session() == session
}

/// Linux's `tty_check_change` for a process about to change the terminal:
/// one in a background group of the console's session gets SIGTTOU, sent
/// to its whole group, and the call restarts once it is continued — unless
/// it ignores or blocks SIGTTOU, which lets the change through.
fn check_foreground() -> Result<(), Errno> {
    if !controls_caller() {
        return Ok(());
    }
    let caller = sched::current_process();
    let foreground = CONSOLE.foreground.load(Ordering::Acquire);
    if foreground == 0 || caller.group() == foreground {
        return Ok(());
    }
    if caller.signals.lock().ignores_or_blocks(SIGTTOU) {
        return Ok(());
    }
    let group = caller.group();
    for target in process::all()
        .into_iter()
        .filter(|target| target.group() == group)
    {
        signal::send(&target, SigInfo::kernel(SIGTTOU));
    }
    Err(Errno::ERESTARTSYS)
}

/// read(2) from the console: a line in canonical mode, VMIN bytes (or
/// what VTIME's timer leaves) otherwise; `copy_out` gets the bytes.
pub fn read(count: usize, copy_out: impl FnOnce(&[u8]) -> Result<(), Errno>) -> Result<u64, Errno> {
    if count == 0 {
        return Ok(0);
    }
    let started = crate::time::now_ns();
    let (mut last_arrival, mut received) = (started, 0);
    loop {
        process_input();
        let (outcome, timeout, now_received, minimum) = {
            let mut discipline = CONSOLE.discipline.lock();
            let outcome = discipline.read(count);
            let minimum = discipline.termios().cc[VMIN];
            (
                outcome,
                discipline.read_timeout_tenths(),
                discipline.received(),
                minimum,
            )
        };
        match outcome {
            Read::Data(bytes) => {
                copy_out(&bytes)?;
                return Ok(bytes.len() as u64);
            }
            Read::EndOfFile => return Ok(0),
            Read::Wait => {}
        }
        let now = crate::time::now_ns();
        if now_received > received {
            (last_arrival, received) = (now, now_received);
        }
        // VTIME: from the start with VMIN 0, else from the last byte once
        // one has come.
        let deadline = timeout
            .filter(|_| minimum == 0 || received > 0)
            .map(|tenths| {
                let from = if minimum == 0 { started } else { last_arrival };
                from + u64::from(tenths) * 100_000_000
            });
        if deadline.is_some_and(|deadline| now >= deadline) {
            let bytes = CONSOLE.discipline.lock().take_available(count);
            copy_out(&bytes)?;
            return Ok(bytes.len() as u64);
        }
        if signal::interrupted() {
            return Err(Errno::ERESTARTSYS);
        }
        sched::sleep(readers(), deadline);
    }
}

/// write(2) to the console, with output translation (OPOST).
pub fn write(bytes: &[u8]) {
    let out = CONSOLE.discipline.lock().output(bytes);
    arch::serial::write_raw(&out);
}

/// Whether a read would not wait (poll).
pub fn is_readable() -> bool {
    process_input();
    CONSOLE.discipline.lock().is_readable()
}

/// What a terminal ioctl asks, with its argument read in and its answer to
/// write out: the `syscall` layer moves the bytes.
pub enum Request {
    GetAttributes,
    /// TCSETS, TCSETSW (nothing is queued for output, so no wait) and
    /// TCSETSF (which flushes input first).
    SetAttributes {
        termios: [u8; TERMIOS_BYTES],
        flush: bool,
    },
    Flush(u64),
    GetForeground,
    SetForeground(Pid),
    MakeControlling,
    GiveUpControlling,
    GetSession,
    GetWindow,
    SetWindow([u8; WINSIZE_BYTES]),
    ReadableBytes,
}

/// The answer of a terminal ioctl: bytes for the user's buffer, or none.
pub enum Answer {
    Nothing,
    Bytes(Vec<u8>),
}

/// The terminal ioctls on a console descriptor, with Linux's errnos.
pub fn ioctl(request: Request) -> Result<Answer, Errno> {
    let caller = sched::current_process();
    match request {
        Request::GetAttributes => Ok(Answer::Bytes(
            CONSOLE.discipline.lock().termios().to_bytes().to_vec(),
        )),
        Request::SetAttributes { termios, flush } => {
            check_foreground()?;
            let mut discipline = CONSOLE.discipline.lock();
            if flush {
                discipline.flush_input();
            }
            discipline.set_termios(Termios::from_bytes(&termios));
            Ok(Answer::Nothing)
        }
        Request::Flush(queue) => match queue {
            TCIFLUSH | TCIOFLUSH => {
                CONSOLE.discipline.lock().flush_input();
                Ok(Answer::Nothing)
            }
            TCOFLUSH => Ok(Answer::Nothing),
            _ => Err(Errno::EINVAL),
        },
        Request::GetForeground => {
            if !controls_caller() {
                return Err(Errno::ENOTTY);
            }
            let group = CONSOLE.foreground.load(Ordering::Acquire);
            Ok(Answer::Bytes(group.to_le_bytes().to_vec()))
        }
        Request::SetForeground(group) => {
            if !controls_caller() {
                return Err(Errno::ENOTTY);
            }
            check_foreground()?;
            if (group as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            let members: Vec<_> = process::all()
                .into_iter()
                .filter(|member| member.group() == group)
                .collect();
            if members.is_empty() {
                return Err(Errno::ESRCH);
            }
            if members
                .iter()
                .any(|member| member.session() != caller.session())
            {
                return Err(Errno::EPERM);
            }
            CONSOLE.foreground.store(group, Ordering::Release);
            Ok(Answer::Nothing)
        }
        Request::MakeControlling => {
            let session = CONSOLE.session.load(Ordering::Acquire);
            if session == caller.session() && session != 0 {
                return Ok(Answer::Nothing);
            }
            if caller.session() != caller.pid || session != 0 {
                return Err(Errno::EPERM);
            }
            CONSOLE.session.store(caller.pid, Ordering::Release);
            CONSOLE.foreground.store(caller.group(), Ordering::Release);
            Ok(Answer::Nothing)
        }
        Request::GiveUpControlling => {
            if !controls_caller() {
                return Err(Errno::ENOTTY);
            }
            if caller.session() == caller.pid {
                release_controlling(caller.pid);
            }
            Ok(Answer::Nothing)
        }
        Request::GetSession => {
            if !controls_caller() {
                return Err(Errno::ENOTTY);
            }
            let session = CONSOLE.session.load(Ordering::Acquire);
            Ok(Answer::Bytes(session.to_le_bytes().to_vec()))
        }
        Request::GetWindow => Ok(Answer::Bytes(CONSOLE.window.lock().to_vec())),
        Request::SetWindow(window) => {
            let changed = core::mem::replace(&mut *CONSOLE.window.lock(), window) != window;
            if changed {
                signal_foreground(SIGWINCH);
            }
            Ok(Answer::Nothing)
        }
        Request::ReadableBytes => {
            process_input();
            let count = CONSOLE.discipline.lock().readable_bytes() as u32;
            Ok(Answer::Bytes(count.to_le_bytes().to_vec()))
        }
    }
}

/// A session leader's exit (or TIOCNOTTY) frees the console it controlled:
/// the foreground group gets SIGHUP and SIGCONT, as Linux's
/// `disassociate_ctty` sends them, and the console controls no session.
pub fn release_controlling(leader: Pid) {
    if CONSOLE.session.load(Ordering::Acquire) != leader {
        return;
    }
    signal_foreground(abi::signal::SIGHUP);
    signal_foreground(abi::signal::SIGCONT);
    CONSOLE.session.store(0, Ordering::Release);
    CONSOLE.foreground.store(0, Ordering::Release);
}

//! Pipes (pipe(7)): a 64 KiB buffer between the open file descriptions of
//! its read end and its write end.
//!
//! A read of an empty pipe sleeps until a writer writes or the last writer
//! is gone (end of file, 0); a write to a full pipe sleeps until a reader
//! makes room; a write with no reader left is EPIPE and SIGPIPE. Writes of
//! at most `PIPE_BUF` bytes are atomic: they wait for room for all their
//! bytes. With O_NONBLOCK, what would sleep is EAGAIN instead. Sleepers
//! wake on the pipe's channel, and every change also wakes `poll`ers.

use crate::sched::{self, Channel};
use abi::Errno;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use spin::Mutex;

/// Bytes a pipe holds (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 16 * 4096;
/// Writes up to this size are atomic (POSIX PIPE_BUF; a page on Linux).
pub const PIPE_BUF: usize = 4096;

pub struct Pipe {
    state: Mutex<PipeState>,
}

struct PipeState {
    buffer: VecDeque<u8>,
    /// Open file descriptions of each end.
    readers: usize,
    writers: usize,
}

/// One end of a pipe, held by an open file description: while it lives,
/// the pipe counts it as a reader or a writer.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    writer: bool,
}

/// How a pipe end stands, for poll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipeReadiness {
    /// A read would not sleep (data, or no writer left).
    pub readable: bool,
    /// A write of a byte would not sleep.
    pub writable: bool,
    /// The read end's last writer is gone.
    pub hung_up: bool,
    /// The write end's last reader is gone.
    pub broken: bool,
}

impl Pipe {
    /// A new pipe's read end and write end.
    pub fn ends() -> (PipeEnd, PipeEnd) {
        let pipe = Arc::new(Pipe {
            state: Mutex::new(PipeState {
                buffer: VecDeque::new(),
                readers: 1,
                writers: 1,
            }),
        });
        (
            PipeEnd {
                pipe: pipe.clone(),
                writer: false,
            },
            PipeEnd { pipe, writer: true },
        )
    }

    fn channel(&self) -> Channel {
        Channel::of(self)
    }

    /// Wakes the pipe's sleepers and every poll.
    fn changed(&self) {
        sched::wake(self.channel());
        sched::wake(super::poll_channel());
    }
}

impl PipeEnd {
    /// The pipe itself, to read or write without holding the open file
    /// description's lock while sleeping.
    pub fn pipe(&self) -> Arc<Pipe> {
        self.pipe.clone()
    }

    pub fn readiness(&self) -> PipeReadiness {
        self.pipe.readiness(self.writer)
    }
}

impl Pipe {
    /// Reads up to `buffer.len()` bytes (at least one, unless the pipe is
    /// empty with no writer: 0).
    pub fn read(&self, buffer: &mut [u8], nonblocking: bool) -> Result<usize, Errno> {
        if buffer.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut state = self.state.lock();
                if !state.buffer.is_empty() {
                    let count = buffer.len().min(state.buffer.len());
                    for (slot, byte) in buffer.iter_mut().zip(state.buffer.drain(..count)) {
                        *slot = byte;
                    }
                    drop(state);
                    self.changed();
                    return Ok(count);
                }
                if state.writers == 0 {
                    return Ok(0);
                }
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            if crate::process::signal::interrupted() {
                return Err(Errno::ERESTARTSYS);
            }
            sched::sleep(self.channel(), None);
        }
    }

    /// Writes `data`: all of it, unless a signal or O_NONBLOCK cuts it
    /// short (then the count so far, or EAGAIN/ERESTARTSYS if nothing was
    /// written). EPIPE, with SIGPIPE, when no reader is left.
    pub fn write(&self, data: &[u8], nonblocking: bool) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let atomic = data.len() <= PIPE_BUF;
        let mut written = 0;
        loop {
            {
                let mut state = self.state.lock();
                if state.readers == 0 {
                    drop(state);
                    send_sigpipe();
                    return if written > 0 {
                        Ok(written)
                    } else {
                        Err(Errno::EPIPE)
                    };
                }
                let room = PIPE_CAPACITY - state.buffer.len();
                let wanted = data.len() - written;
                if room >= wanted || (!atomic && room > 0) {
                    let count = wanted.min(room);
                    state.buffer.extend(&data[written..written + count]);
                    written += count;
                    drop(state);
                    self.changed();
                    if written == data.len() {
                        return Ok(written);
                    }
                    continue;
                }
            }
            if nonblocking || crate::process::signal::interrupted() {
                return match (written, nonblocking) {
                    (0, true) => Err(Errno::EAGAIN),
                    (0, false) => Err(Errno::ERESTARTSYS),
                    (written, _) => Ok(written),
                };
            }
            sched::sleep(self.channel(), None);
        }
    }

    /// Bytes waiting in the pipe (FIONREAD).
    pub fn available(&self) -> usize {
        self.state.lock().buffer.len()
    }

    fn readiness(&self, write_end: bool) -> PipeReadiness {
        let state = self.state.lock();
        if write_end {
            PipeReadiness {
                writable: state.buffer.len() < PIPE_CAPACITY,
                broken: state.readers == 0,
                ..PipeReadiness::default()
            }
        } else {
            PipeReadiness {
                readable: !state.buffer.is_empty() || state.writers == 0,
                hung_up: state.writers == 0,
                ..PipeReadiness::default()
            }
        }
    }
}

impl Drop for PipeEnd {
    /// The description of this end closed: readers see end of file once no
    /// writer is left, writers EPIPE once no reader is.
    fn drop(&mut self) {
        {
            let mut state = self.pipe.state.lock();
            if self.writer {
                state.writers -= 1;
            } else {
                state.readers -= 1;
            }
        }
        self.pipe.changed();
    }
}

/// SIGPIPE for the writer that found no reader.
fn send_sigpipe() {
    let process = sched::current_process();
    let info = crate::process::signal::SigInfo::sent_by(
        abi::signal::SIGPIPE,
        abi::signal::SI_USER,
        process.pid,
    );
    crate::process::signal::send(&process, info);
}

//! poll, ppoll, select and pselect6: waiting until one of several
//! descriptors is ready.
//!
//! Readiness is Linux's: a regular file or directory is always readable and
//! writable; a pipe's read end is readable with data or once no writer is
//! left (POLLHUP then), its write end writable with room (POLLERR once no
//! reader is left); the console is writable, and readable when a byte has
//! arrived. A waiter sleeps on the poll channel, which every pipe change
//! wakes; with the console among the descriptors it looks again every tick.

use crate::fs::file::{FileKind, FileRef};
use crate::process::signal::UNBLOCKABLE;
use crate::process::user_memory::{read_user, write_user};
use crate::sched;
use abi::Errno;
use abi::poll::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM};
use alloc::vec::Vec;

/// What poll reports whether asked or not.
const ALWAYS_REPORTED: u16 = POLLERR | POLLHUP | POLLNVAL;

/// The readiness of an open file, as poll events.
fn readiness(file: &FileRef) -> (u16, bool) {
    let open = file.lock();
    match &open.kind {
        FileKind::Regular(_) | FileKind::Directory(_) => {
            (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM, false)
        }
        FileKind::Pipe(end) => {
            let state = end.readiness();
            let mut events = 0;
            if state.readable {
                events |= POLLIN | POLLRDNORM;
            }
            if state.hung_up {
                events |= POLLHUP;
            }
            if state.writable {
                events |= POLLOUT | POLLWRNORM;
            }
            if state.broken {
                events |= POLLERR;
            }
            (events, false)
        }
        FileKind::Console => {
            let readable = if crate::terminal::is_readable() {
                POLLIN | POLLRDNORM
            } else {
                0
            };
            (readable | POLLOUT | POLLWRNORM, true)
        }
    }
}

/// Waits until `ready` finds something (returning its count), the deadline
/// passes (0), or a signal arrives (ERESTARTNOHAND). `ready` also says
/// whether the console is involved, so that the wait looks every tick.
fn wait_until_ready(
    deadline: Option<u64>,
    mut ready: impl FnMut() -> Result<(usize, bool), Errno>,
) -> Result<usize, Errno> {
    loop {
        let (count, console) = ready()?;
        let now = crate::time::now_ns();
        if count > 0 || deadline.is_some_and(|deadline| deadline <= now) {
            return Ok(count);
        }
        if crate::process::signal::interrupted() {
            return Err(Errno::ERESTARTNOHAND);
        }
        let tick = now + 1_000_000_000 / u64::from(crate::time::TICK_HZ);
        let wake_at = match (deadline, console) {
            (Some(deadline), true) => Some(deadline.min(tick)),
            (None, true) => Some(tick),
            (deadline, false) => deadline,
        };
        sched::sleep(crate::fs::poll_channel(), wake_at);
    }
}

/// The `struct pollfd` array at `at`: (fd, events) each. EINVAL for more
/// entries than RLIMIT_NOFILE allows descriptors, as Linux's poll says.
fn read_pollfds(at: u64, count: u64) -> Result<Vec<(i32, u16)>, Errno> {
    let limit = sched::current_process().limits.lock().open_files();
    if count > limit as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = alloc::vec![0u8; count as usize * 8];
    read_user(at, &mut raw)?;
    Ok(raw
        .chunks(8)
        .map(|entry| {
            let fd = i32::from_le_bytes(entry[..4].try_into().expect("4 bytes"));
            let events = u16::from_le_bytes(entry[4..6].try_into().expect("2 bytes"));
            (fd, events)
        })
        .collect())
}

/// poll's work, with `deadline` (None: forever): fills each entry's
/// `revents` and returns how many are non-zero.
fn poll_until(at: u64, count: u64, deadline: Option<u64>) -> Result<u64, Errno> {
    let entries = read_pollfds(at, count)?;
    let process = sched::current_process();
    let mut revents = alloc::vec![0u16; entries.len()];
    let ready = wait_until_ready(deadline, || {
        let files = process.files.lock();
        let mut console = false;
        let mut ready = 0;
        for (slot, &(fd, events)) in revents.iter_mut().zip(&entries) {
            *slot = if fd < 0 {
                0
            } else {
                match files.get(fd as u64) {
                    Err(_) => POLLNVAL,
                    Ok(file) => {
                        let (state, is_console) = readiness(&file);
                        console |= is_console;
                        state & (events | ALWAYS_REPORTED)
                    }
                }
            };
            ready += usize::from(*slot != 0);
        }
        Ok((ready, console))
    })?;
    for (index, value) in revents.iter().enumerate() {
        write_user(at + index as u64 * 8 + 6, &value.to_le_bytes())?;
    }
    Ok(ready as u64)
}

/// The absolute deadline `timeout` nanoseconds from now (None: forever).
fn deadline_after(timeout: Option<u64>) -> Option<u64> {
    timeout.map(|timeout| crate::time::now_ns().saturating_add(timeout))
}

/// poll(2): `timeout` in milliseconds, negative for none.
pub fn poll(at: u64, count: u64, timeout_ms: i32) -> Result<u64, Errno> {
    let timeout = u64::try_from(timeout_ms).ok().map(|ms| ms * 1_000_000);
    poll_until(at, count, deadline_after(timeout))
}

/// A `struct timespec` argument in nanoseconds (None for a null pointer):
/// EINVAL if negative or with nanoseconds out of range.
fn read_timespec(at: u64) -> Result<Option<u64>, Errno> {
    if at == 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 16];
    read_user(at, &mut raw)?;
    let seconds = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
    let nanoseconds = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
    if seconds < 0 || !(0..1_000_000_000).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    Ok(Some(
        (seconds as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nanoseconds as u64),
    ))
}

/// Runs `wait` with the signal mask at `mask_at` (if given) in place, as
/// ppoll and pselect do; the old mask comes back after a handler ran, or
/// at once.
fn with_temporary_mask(
    mask_at: u64,
    mask_size: u64,
    wait: impl FnOnce() -> Result<u64, Errno>,
) -> Result<u64, Errno> {
    if mask_at == 0 {
        return wait();
    }
    if mask_size != abi::signal::SIGSET_BYTES as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    read_user(mask_at, &mut raw)?;
    let process = sched::current_process();
    {
        let mut signals = process.signals.lock();
        let old = signals.blocked;
        signals.saved_mask = Some(old);
        signals.blocked = u64::from_le_bytes(raw) & !UNBLOCKABLE;
    }
    let result = wait();
    if result != Err(Errno::ERESTARTNOHAND) {
        // No signal to deliver: the old mask is back now.
        let mut signals = process.signals.lock();
        if let Some(old) = signals.saved_mask.take() {
            signals.blocked = old;
        }
    }
    result
}

/// ppoll(2): a timespec timeout and a signal mask for the wait.
pub fn ppoll(
    at: u64,
    count: u64,
    timeout_at: u64,
    mask_at: u64,
    mask_size: u64,
) -> Result<u64, Errno> {
    let timeout = read_timespec(timeout_at)?;
    with_temporary_mask(mask_at, mask_size, || {
        poll_until(at, count, deadline_after(timeout))
    })
}

/// The three `fd_set`s of select, `bits` descriptors each.
struct FdSets {
    read: Option<Vec<u64>>,
    write: Option<Vec<u64>>,
    except: Option<Vec<u64>>,
}

fn read_fd_set(at: u64, words: usize) -> Result<Option<Vec<u64>>, Errno> {
    if at == 0 {
        return Ok(None);
    }
    let mut raw = alloc::vec![0u8; words * 8];
    read_user(at, &mut raw)?;
    Ok(Some(
        raw.chunks(8)
            .map(|word| u64::from_le_bytes(word.try_into().expect("8 bytes")))
            .collect(),
    ))
}

fn write_fd_set(at: u64, set: &Option<Vec<u64>>) -> Result<(), Errno> {
    match set {
        Some(words) if at != 0 => {
            let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
            write_user(at, &bytes)
        }
        _ => Ok(()),
    }
}

/// select's work: the sets at the three addresses for `count` descriptors,
/// rewritten to the ready ones; returns how many bits are set. EBADF for a
/// closed descriptor in a set.
fn select_until(count: i32, addresses: [u64; 3], deadline: Option<u64>) -> Result<u64, Errno> {
    if count < 0 {
        return Err(Errno::EINVAL);
    }
    let limit = sched::current_process().limits.lock().open_files();
    let count = (count as usize).min(limit);
    let words = count.div_ceil(64);
    let wanted = FdSets {
        read: read_fd_set(addresses[0], words)?,
        write: read_fd_set(addresses[1], words)?,
        except: read_fd_set(addresses[2], words)?,
    };
    let process = sched::current_process();
    let mut result = FdSets {
        read: wanted.read.as_ref().map(|set| alloc::vec![0; set.len()]),
        write: wanted.write.as_ref().map(|set| alloc::vec![0; set.len()]),
        except: wanted.except.as_ref().map(|set| alloc::vec![0; set.len()]),
    };
    let is_set = |set: &Option<Vec<u64>>, fd: usize| {
        set.as_ref()
            .is_some_and(|words| words[fd / 64] & (1 << (fd % 64)) != 0)
    };
    let ready = wait_until_ready(deadline, || {
        let files = process.files.lock();
        let mut console = false;
        let mut ready = 0;
        for fd in 0..count {
            let asked = [&wanted.read, &wanted.write, &wanted.except].map(|set| is_set(set, fd));
            if !asked.iter().any(|&asked| asked) {
                continue;
            }
            let file = files.get(fd as u64)?;
            let (events, is_console) = readiness(&file);
            console |= is_console;
            let got = [
                events & (POLLIN | POLLRDNORM | POLLHUP | POLLERR) != 0,
                events & (POLLOUT | POLLWRNORM | POLLERR) != 0,
                events & POLLPRI != 0,
            ];
            for ((set, asked), got) in [&mut result.read, &mut result.write, &mut result.except]
                .into_iter()
                .zip(asked)
                .zip(got)
            {
                if let Some(words) = set {
                    let bit = 1 << (fd % 64);
                    if asked && got {
                        words[fd / 64] |= bit;
                        ready += 1;
                    } else {
                        words[fd / 64] &= !bit;
                    }
                }
            }
        }
        Ok((ready, console))
    })?;
    write_fd_set(addresses[0], &result.read)?;
    write_fd_set(addresses[1], &result.write)?;
    write_fd_set(addresses[2], &result.except)?;
    Ok(ready as u64)
}

/// select(2): a `struct timeval` timeout, which is rewritten with the time
/// left, as Linux does.
pub fn select(
    count: i32,
    read_at: u64,
    write_at: u64,
    except_at: u64,
    timeout_at: u64,
) -> Result<u64, Errno> {
    let timeout = if timeout_at == 0 {
        None
    } else {
        let mut raw = [0u8; 16];
        read_user(timeout_at, &mut raw)?;
        let seconds = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        let micros = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
        if seconds < 0 || micros < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            (seconds as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add((micros as u64).saturating_mul(1000)),
        )
    };
    let deadline = deadline_after(timeout);
    let result = select_until(count, [read_at, write_at, except_at], deadline);
    if let Some(deadline) = deadline {
        let left = deadline.saturating_sub(crate::time::now_ns()) / 1000;
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&(left / 1_000_000).to_le_bytes());
        raw[8..].copy_from_slice(&(left % 1_000_000).to_le_bytes());
        write_user(timeout_at, &raw)?;
    }
    result
}

/// pselect6(2): a timespec timeout and `{ const sigset_t *ss; size_t
/// ss_len; }` for the mask.
pub fn pselect6(
    count: i32,
    read_at: u64,
    write_at: u64,
    except_at: u64,
    timeout_at: u64,
    mask_argument_at: u64,
) -> Result<u64, Errno> {
    let timeout = read_timespec(timeout_at)?;
    let (mask_at, mask_size) = if mask_argument_at == 0 {
        (0, 0)
    } else {
        let mut raw = [0u8; 16];
        read_user(mask_argument_at, &mut raw)?;
        (
            u64::from_le_bytes(raw[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(raw[8..].try_into().expect("8 bytes")),
        )
    };
    with_temporary_mask(mask_at, mask_size, || {
        select_until(
            count,
            [read_at, write_at, except_at],
            deadline_after(timeout),
        )
    })
}

//! Time system calls, from the calibrated TSC clock.

use crate::process::signal::RestartSleep;
use crate::process::user_memory::{read_user, write_user};
use crate::sched::{self, Channel};
use abi::Errno;
use abi::time::{
    CLOCK_BOOTTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME,
    CLOCK_REALTIME_COARSE,
};

const NANOS_PER_SECOND: u64 = 1_000_000_000;

fn write_timespec(addr: u64, nanoseconds: u64) -> Result<(), Errno> {
    let mut timespec = [0u8; 16];
    timespec[..8].copy_from_slice(&(nanoseconds / NANOS_PER_SECOND).to_le_bytes());
    timespec[8..].copy_from_slice(&(nanoseconds % NANOS_PER_SECOND).to_le_bytes());
    write_user(addr, &timespec)
}

pub fn clock_gettime(clock: u64, timespec: u64) -> Result<u64, Errno> {
    let now = match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => crate::time::realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            crate::time::now_ns()
        }
        _ => return Err(Errno::EINVAL),
    };
    write_timespec(timespec, now).map(|()| 0)
}

/// nanosleep(2): sleeps (other threads run) until the time has passed. A
/// signal ends the sleep early: the time left goes to `remaining`, and the
/// call returns EINTR after a handler, or goes on sleeping through
/// `restart_syscall` otherwise (Linux's ERESTART_RESTARTBLOCK).
pub fn nanosleep(request: u64, remaining: u64) -> Result<u64, Errno> {
    let mut raw = [0u8; 16];
    read_user(request, &mut raw)?;
    let seconds = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
    let nanoseconds = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
    if seconds < 0 || !(0..NANOS_PER_SECOND as i64).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    let duration = (seconds as u64)
        .saturating_mul(NANOS_PER_SECOND)
        .saturating_add(nanoseconds as u64);
    sleep_until(RestartSleep {
        deadline: crate::time::now_ns().saturating_add(duration),
        remaining_at: remaining,
    })
}

fn sleep_until(sleep: RestartSleep) -> Result<u64, Errno> {
    let process = sched::current_process();
    loop {
        let now = crate::time::now_ns();
        if now >= sleep.deadline {
            return Ok(0);
        }
        if crate::process::signal::interrupted() {
            process.signals.lock().restart = Some(sleep);
            if sleep.remaining_at != 0 {
                write_timespec(sleep.remaining_at, sleep.deadline - now)?;
            }
            return Err(Errno::ERESTART_RESTARTBLOCK);
        }
        sched::sleep(Channel::of(&*process), Some(sleep.deadline));
    }
}

/// restart_syscall(2): the rest of an interrupted nanosleep; EINTR if there
/// is nothing to restart.
pub fn restart_syscall() -> Result<u64, Errno> {
    let restart = sched::current_process().signals.lock().restart.take();
    match restart {
        Some(sleep) => sleep_until(sleep),
        None => Err(Errno::EINTR),
    }
}

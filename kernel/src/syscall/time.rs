//! Time system calls, from the calibrated TSC clock.

use crate::process::with_current;
use abi::Errno;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

fn write_timespec(addr: u64, nanoseconds: u64) -> Result<(), Errno> {
    let mut timespec = [0u8; 16];
    timespec[..8].copy_from_slice(&(nanoseconds / NANOS_PER_SECOND).to_le_bytes());
    timespec[8..].copy_from_slice(&(nanoseconds % NANOS_PER_SECOND).to_le_bytes());
    with_current(|process| process.copy_to_user(addr, &timespec))
}

pub fn clock_gettime(clock: u64, timespec: u64) -> Result<u64, Errno> {
    const CLOCK_REALTIME: u64 = 0;
    const CLOCK_MONOTONIC: u64 = 1;
    const CLOCK_MONOTONIC_RAW: u64 = 4;
    const CLOCK_REALTIME_COARSE: u64 = 5;
    const CLOCK_MONOTONIC_COARSE: u64 = 6;
    const CLOCK_BOOTTIME: u64 = 7;
    let now = match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => crate::time::realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            crate::time::now_ns()
        }
        _ => return Err(Errno::EINVAL),
    };
    write_timespec(timespec, now).map(|()| 0)
}

/// nanosleep(2): halts until the time has passed, doing the kernel's
/// background work (write-back completions, the flusher) at each wake-up.
pub fn nanosleep(request: u64, remaining: u64) -> Result<u64, Errno> {
    let mut raw = [0u8; 16];
    with_current(|process| process.copy_from_user(request, &mut raw))?;
    let seconds = i64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
    let nanoseconds = i64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
    if seconds < 0 || !(0..NANOS_PER_SECOND as i64).contains(&nanoseconds) {
        return Err(Errno::EINVAL);
    }
    let duration = (seconds as u64)
        .saturating_mul(NANOS_PER_SECOND)
        .saturating_add(nanoseconds as u64);
    let deadline = crate::time::now_ns().saturating_add(duration);
    while crate::time::now_ns() < deadline {
        crate::fs::background_work();
        arch::cpu::halt();
    }
    if remaining != 0 {
        write_timespec(remaining, 0)?;
    }
    Ok(0)
}

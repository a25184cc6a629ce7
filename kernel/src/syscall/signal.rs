//! Signal system calls: sending (kill, tkill, tgkill), dispositions
//! (rt_sigaction), the mask (rt_sigprocmask, rt_sigpending), waiting
//! (pause, rt_sigsuspend), the alternate stack, and ITIMER_REAL (alarm,
//! setitimer, getitimer). The machinery is in `process::signal`.

use crate::process::signal::{self, AltStack, SigAction, SigInfo, UNBLOCKABLE, bit};
use crate::process::user_memory::{read_user, write_user};
use crate::process::{self, Pid, RealTimer};
use crate::sched::{self, Channel};
use abi::Errno;
use abi::signal::*;
use abi::time::ITIMER_REAL;
use alloc::sync::Arc;
use alloc::vec::Vec;

const NANOS_PER_SECOND: u64 = 1_000_000_000;

fn valid_signal(signal: i32) -> bool {
    (1..=NSIG as i32).contains(&signal)
}

/// Sends `signal` (0: only the checks) from the caller to `target`.
fn send_to(target: &process::Process, signal: i32, code: i32) -> Result<(), Errno> {
    if signal == 0 {
        return Ok(());
    }
    if !valid_signal(signal) {
        return Err(Errno::EINVAL);
    }
    let sender = sched::current_process().pid;
    signal::send(target, SigInfo::sent_by(signal as u32, code, sender));
    Ok(())
}

/// Sends to each of `targets`: ESRCH if there is none, else the last error
/// unless one send succeeded (Linux's `__kill_pgrp_info`).
fn send_to_all(targets: Vec<Arc<process::Process>>, signal: i32) -> Result<u64, Errno> {
    let mut outcome = Err(Errno::ESRCH);
    let mut any = false;
    for target in targets {
        outcome = send_to(&target, signal, SI_USER);
        any |= outcome.is_ok();
    }
    if any { Ok(0) } else { outcome.map(|()| 0) }
}

/// kill(2): a process (`pid` > 0), the caller's process group (0), every
/// process but init and the caller (-1), or the group -`pid`.
pub fn kill(pid: i32, signal: i32) -> Result<u64, Errno> {
    let caller = sched::current_process();
    match pid {
        i32::MIN => Err(Errno::ESRCH),
        pid if pid > 0 => {
            let target = process::lookup(pid as Pid).ok_or(Errno::ESRCH)?;
            send_to(&target, signal, SI_USER).map(|()| 0)
        }
        -1 => {
            let targets = process::all()
                .into_iter()
                .filter(|other| other.pid > process::INIT_PID && other.pid != caller.pid)
                .collect();
            send_to_all(targets, signal)
        }
        pid => {
            let group = if pid == 0 {
                caller.group()
            } else {
                pid.unsigned_abs()
            };
            let targets = process::all()
                .into_iter()
                .filter(|other| other.group() == group)
                .collect();
            send_to_all(targets, signal)
        }
    }
}

/// tkill(2) (`group` None) and tgkill(2): one thread — here the process
/// with that id.
pub fn tgkill(group: Option<i32>, thread: i32, signal: i32) -> Result<u64, Errno> {
    if thread <= 0 || group.is_some_and(|group| group <= 0) {
        return Err(Errno::EINVAL);
    }
    let target = process::lookup(thread as Pid)
        .filter(|target| group.is_none_or(|group| target.pid == group as Pid))
        .ok_or(Errno::ESRCH)?;
    send_to(&target, signal, SI_TKILL).map(|()| 0)
}

/// rt_sigaction(2), checked in Linux's order: the set size, the new action
/// read (EFAULT), the signal (EINVAL, as is changing SIGKILL or SIGSTOP),
/// then the old action written.
pub fn rt_sigaction(signal: u64, action_at: u64, old_at: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size != SIGSET_BYTES as u64 {
        return Err(Errno::EINVAL);
    }
    let new = if action_at == 0 {
        None
    } else {
        let mut raw = [0u8; SIGACTION_BYTES];
        read_user(action_at, &mut raw)?;
        Some(SigAction::from_bytes(&raw))
    };
    let signal = signal as i32;
    if !valid_signal(signal) || (new.is_some() && bit(signal as u32) & UNBLOCKABLE != 0) {
        return Err(Errno::EINVAL);
    }
    let signal = signal as u32;
    let old = {
        let process = sched::current_process();
        let mut signals = process.signals.lock();
        let old = signals.action(signal);
        if let Some(new) = new {
            signals.set_action(signal, new);
        }
        old
    };
    if old_at != 0 {
        write_user(old_at, &old.to_bytes())?;
    }
    Ok(0)
}

/// rt_sigprocmask(2): SIGKILL and SIGSTOP can never be blocked.
pub fn rt_sigprocmask(how: i32, set_at: u64, old_at: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size != SIGSET_BYTES as u64 {
        return Err(Errno::EINVAL);
    }
    let new = if set_at == 0 {
        None
    } else {
        let mut raw = [0u8; 8];
        read_user(set_at, &mut raw)?;
        Some(u64::from_le_bytes(raw))
    };
    let previous = {
        let process = sched::current_process();
        let mut signals = process.signals.lock();
        let previous = signals.blocked;
        if let Some(set) = new {
            signals.blocked = match how as u64 {
                SIG_BLOCK => previous | set,
                SIG_UNBLOCK => previous & !set,
                SIG_SETMASK => set,
                _ => return Err(Errno::EINVAL),
            } & !UNBLOCKABLE;
        }
        previous
    };
    if old_at != 0 {
        write_user(old_at, &previous.to_le_bytes())?;
    }
    Ok(0)
}

/// rt_sigpending(2): the signals pending while blocked.
pub fn rt_sigpending(set_at: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size > SIGSET_BYTES as u64 {
        return Err(Errno::EINVAL);
    }
    let pending = sched::current_process().signals.lock().pending_blocked();
    write_user(set_at, &pending.to_le_bytes()[..set_size as usize]).map(|()| 0)
}

/// Sleeps until a signal can be delivered: ERESTARTNOHAND, so that after a
/// handler the call returns EINTR, and otherwise starts again.
fn sleep_until_signal() -> Result<u64, Errno> {
    let process = sched::current_process();
    while process.signals.lock().deliverable() == 0 {
        sched::sleep(Channel::of(&*process), None);
    }
    Err(Errno::ERESTARTNOHAND)
}

/// pause(2).
pub fn pause() -> Result<u64, Errno> {
    sleep_until_signal()
}

/// rt_sigsuspend(2): waits with the mask at `mask_at`; the old mask comes
/// back when the handler returns (it is in the signal frame).
pub fn rt_sigsuspend(mask_at: u64, set_size: u64) -> Result<u64, Errno> {
    if set_size != SIGSET_BYTES as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    read_user(mask_at, &mut raw)?;
    {
        let process = sched::current_process();
        let mut signals = process.signals.lock();
        let old = signals.blocked;
        signals.saved_mask = Some(old);
        signals.blocked = u64::from_le_bytes(raw) & !UNBLOCKABLE;
    }
    sleep_until_signal()
}

/// sigaltstack(2): reports the alternate stack as it was (for a thread at
/// `sp`), then sets the new one.
pub fn sigaltstack(sp: u64, new_at: u64, old_at: u64) -> Result<u64, Errno> {
    let new = if new_at == 0 {
        None
    } else {
        let mut raw = [0u8; STACK_T_BYTES];
        read_user(new_at, &mut raw)?;
        let word = |offset: usize| {
            u64::from_le_bytes(raw[offset..offset + 8].try_into().expect("8 bytes"))
        };
        Some(AltStack {
            base: word(0),
            flags: word(8) as u32,
            size: word(16),
        })
    };
    let process = sched::current_process();
    let old = {
        let mut signals = process.signals.lock();
        let old = signals.altstack;
        if let Some(new) = new {
            signal::set_altstack(&mut signals, new, sp)?;
        }
        old
    };
    if old_at != 0 {
        let mut raw = [0u8; STACK_T_BYTES];
        raw[..8].copy_from_slice(&old.base.to_le_bytes());
        raw[8..12].copy_from_slice(&old.reported_flags(sp).to_le_bytes());
        raw[16..].copy_from_slice(&old.size.to_le_bytes());
        write_user(old_at, &raw)?;
    }
    Ok(0)
}

/// Replaces the caller's ITIMER_REAL with `new`; returns the old one as
/// (time left, interval), in nanoseconds.
fn set_real_timer(new: RealTimer) -> (u64, u64) {
    let process = sched::current_process();
    let mut timer = process.real_timer.lock();
    let left = timer.deadline.map_or(0, |deadline| {
        deadline.saturating_sub(crate::time::now_ns()).max(1)
    });
    let old = (left, timer.interval);
    *timer = new;
    old
}

/// A timer that fires `value` nanoseconds from now (never for 0), then
/// every `interval`.
fn real_timer(value: u64, interval: u64) -> RealTimer {
    RealTimer {
        deadline: (value != 0).then(|| crate::time::now_ns().saturating_add(value)),
        interval,
    }
}

/// alarm(2): SIGALRM in `seconds` (0 cancels); returns the seconds the
/// previous alarm had left, rounded as Linux does (never 0 for a pending
/// alarm).
pub fn alarm(seconds: u32) -> Result<u64, Errno> {
    let (left, _) = set_real_timer(real_timer(u64::from(seconds) * NANOS_PER_SECOND, 0));
    let (whole, fraction) = (left / NANOS_PER_SECOND, left % NANOS_PER_SECOND);
    let round_up = (whole == 0 && fraction != 0) || fraction >= NANOS_PER_SECOND / 2;
    Ok(whole + u64::from(round_up))
}

/// The `struct itimerval { interval, value }` for (value, interval) in
/// nanoseconds.
fn itimerval_bytes(value: u64, interval: u64) -> [u8; 32] {
    let mut raw = [0u8; 32];
    for (slot, nanoseconds) in [(0, interval), (16, value)] {
        let micros = nanoseconds.div_ceil(1000);
        raw[slot..slot + 8].copy_from_slice(&(micros / 1_000_000).to_le_bytes());
        raw[slot + 8..slot + 16].copy_from_slice(&(micros % 1_000_000).to_le_bytes());
    }
    raw
}

/// Which timer: only ITIMER_REAL is kept; the CPU-time timers
/// (ITIMER_VIRTUAL, ITIMER_PROF) are EINVAL here, though Linux has them.
fn check_which(which: i32) -> Result<(), Errno> {
    if which == ITIMER_REAL {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// setitimer(2) for ITIMER_REAL; a null new value disarms, as Linux takes
/// it.
pub fn setitimer(which: i32, new_at: u64, old_at: u64) -> Result<u64, Errno> {
    check_which(which)?;
    let (value, interval) = if new_at == 0 {
        (0, 0)
    } else {
        let mut raw = [0u8; 32];
        read_user(new_at, &mut raw)?;
        let field = |offset: usize| {
            i64::from_le_bytes(raw[offset..offset + 8].try_into().expect("8 bytes"))
        };
        let to_ns = |seconds: i64, micros: i64| -> Result<u64, Errno> {
            if seconds < 0 || !(0..1_000_000).contains(&micros) {
                return Err(Errno::EINVAL);
            }
            Ok((seconds as u64)
                .saturating_mul(NANOS_PER_SECOND)
                .saturating_add(micros as u64 * 1000))
        };
        (to_ns(field(16), field(24))?, to_ns(field(0), field(8))?)
    };
    let (left, old_interval) = set_real_timer(real_timer(value, interval));
    if old_at != 0 {
        write_user(old_at, &itimerval_bytes(left, old_interval))?;
    }
    Ok(0)
}

/// getitimer(2) for ITIMER_REAL.
pub fn getitimer(which: i32, at: u64) -> Result<u64, Errno> {
    check_which(which)?;
    let timer = *sched::current_process().real_timer.lock();
    let left = timer.deadline.map_or(0, |deadline| {
        deadline.saturating_sub(crate::time::now_ns()).max(1)
    });
    write_user(at, &itimerval_bytes(left, timer.interval)).map(|()| 0)
}

//! Process system calls: identity, thread pointer, signal dispositions
//! (recorded; nothing delivers signals yet), randomness.

use crate::process::with_current;
use abi::Errno;

/// Linux `_NSIG`: signals 1..=64.
const SIGNALS: u64 = 64;
const SIGKILL: u64 = 9;
const SIGSTOP: u64 = 19;
/// `struct sigaction` as the kernel sees it on x86_64: handler, flags,
/// restorer, mask.
pub const SIGACTION_BYTES: usize = 32;
const SIGSET_BYTES: u64 = 8;

pub fn getpid() -> Result<u64, Errno> {
    Ok(with_current(|process| u64::from(process.pid)))
}

/// The only process was started by the kernel: its parent is "pid 0".
pub fn getppid() -> Result<u64, Errno> {
    Ok(0)
}

/// Everything runs as root.
pub fn id_zero() -> Result<u64, Errno> {
    Ok(0)
}

/// set_tid_address(2): the address is recorded by Linux for thread exit; a
/// single-threaded process only needs its thread id back.
pub fn set_tid_address() -> Result<u64, Errno> {
    getpid()
}

pub fn arch_prctl(code: u64, addr: u64) -> Result<u64, Errno> {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    match code {
        ARCH_SET_FS => {
            let base = x86_64::VirtAddr::try_new(addr).map_err(|_| Errno::EPERM)?;
            with_current(|process| process.fs_base = base.as_u64());
            arch::user::set_user_fs_base(base);
            Ok(0)
        }
        ARCH_GET_FS => with_current(|process| {
            let base = process.fs_base;
            process.copy_to_user(addr, &base.to_le_bytes())
        })
        .map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

/// rt_sigaction(2): checks the arguments as Linux does and records the new
/// disposition; no signal is delivered yet (see docs/abi.md).
pub fn rt_sigaction(
    signal: u64,
    action: u64,
    old_action: u64,
    set_size: u64,
) -> Result<u64, Errno> {
    if set_size != SIGSET_BYTES || !(1..=SIGNALS).contains(&signal) {
        return Err(Errno::EINVAL);
    }
    if action != 0 && (signal == SIGKILL || signal == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    with_current(|process| {
        let slot = (signal - 1) as usize;
        let previous = process.signal_actions[slot];
        if action != 0 {
            let mut new = [0u8; SIGACTION_BYTES];
            process.copy_from_user(action, &mut new)?;
            process.signal_actions[slot] = new;
        }
        if old_action != 0 {
            process.copy_to_user(old_action, &previous)?;
        }
        Ok(0)
    })
}

/// rt_sigprocmask(2): the blocked set is recorded (SIGKILL and SIGSTOP can
/// never be blocked).
pub fn rt_sigprocmask(how: u64, set: u64, old_set: u64, set_size: u64) -> Result<u64, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
    if set_size != SIGSET_BYTES {
        return Err(Errno::EINVAL);
    }
    with_current(|process| {
        let previous = process.blocked_signals;
        if set != 0 {
            let mut raw = [0u8; 8];
            process.copy_from_user(set, &mut raw)?;
            let set = u64::from_le_bytes(raw);
            process.blocked_signals = match how {
                SIG_BLOCK => previous | set,
                SIG_UNBLOCK => previous & !set,
                SIG_SETMASK => set,
                _ => return Err(Errno::EINVAL),
            } & !UNBLOCKABLE;
        }
        if old_set != 0 {
            process.copy_to_user(old_set, &previous.to_le_bytes())?;
        }
        Ok(0)
    })
}

/// getrandom(2): RDRAND (or the TSC mix) never blocks, so the flags change
/// nothing.
pub fn getrandom(buffer: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    const KNOWN_FLAGS: u64 = 0x7; // GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE
    if flags & !KNOWN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(i32::MAX as u64);
    let mut filled = 0;
    while filled < len {
        let bytes = arch::cpu::random_u64().to_le_bytes();
        let step = (len - filled).min(8);
        with_current(|process| process.copy_to_user(buffer + filled, &bytes[..step as usize]))?;
        filled += step;
    }
    Ok(len)
}

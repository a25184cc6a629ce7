//! The system and the process's place in it (Linux's kernel/sys.c and
//! friends): uname, umask, resource limits, sysinfo, CPU affinity.

use super::process_calls::process_named;
use crate::process::limits::Limit;
use crate::process::user_memory::{read_user, write_user};
use crate::process::{self, Process};
use crate::sched;
use abi::Errno;
use abi::resource::RLIMIT_STACK;

/// uname(2): `struct utsname`, six NUL-padded 65-byte fields. This kernel
/// speaks the Linux ABI, so it says "Linux" with the 6.x release whose
/// behaviour it follows; its own name is in the node name and version.
pub fn uname(buffer: u64) -> Result<u64, Errno> {
    const FIELD: usize = 65;
    let version = concat!("#1 msync-kernel ", env!("CARGO_PKG_VERSION"));
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"msync-kernel",
        b"6.1.0-msync-kernel",
        version.as_bytes(),
        b"x86_64",
        b"(none)",
    ];
    let mut utsname = [0u8; FIELD * 6];
    for (slot, field) in utsname.chunks_mut(FIELD).zip(fields) {
        slot[..field.len()].copy_from_slice(field);
    }
    write_user(buffer, &utsname)?;
    Ok(0)
}

/// umask(2): the new file-mode creation mask (`& 0o777`); returns the old.
pub fn umask(mask: u64) -> Result<u64, Errno> {
    Ok(u64::from(
        sched::current_process().replace_umask(mask as u32),
    ))
}

/// `struct rlimit` (and `struct rlimit64`): soft, then hard.
fn read_limit(at: u64) -> Result<Limit, Errno> {
    let mut raw = [0u8; 16];
    read_user(at, &mut raw)?;
    Ok(Limit {
        soft: u64::from_le_bytes(raw[..8].try_into().expect("8 bytes")),
        hard: u64::from_le_bytes(raw[8..].try_into().expect("8 bytes")),
    })
}

fn write_limit(at: u64, limit: Limit) -> Result<(), Errno> {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&limit.soft.to_le_bytes());
    raw[8..].copy_from_slice(&limit.hard.to_le_bytes());
    write_user(at, &raw)
}

/// Linux's `do_prlimit`: the old limits of `resource` of `target`, and the
/// new ones set (see `ResourceLimits::set` for EINVAL and EPERM). A new
/// RLIMIT_STACK soft limit bounds the stack's growth from now on.
fn change_limit(target: &Process, resource: u64, new: Option<Limit>) -> Result<Limit, Errno> {
    let old = {
        let mut limits = target.limits.lock();
        let old = limits.get(resource)?;
        if let Some(new) = new {
            limits.set(resource, new)?;
        }
        old
    };
    if let Some(new) = new
        && resource == RLIMIT_STACK as u64
        && let Some(memory) = target.running_memory()
    {
        memory.lock().address_space.set_stack_limit(new.soft);
    }
    Ok(old)
}

/// getrlimit(2): EINVAL for an unknown resource, EFAULT.
pub fn getrlimit(resource: u64, at: u64) -> Result<u64, Errno> {
    let limit = change_limit(&sched::current_process(), u64::from(resource as u32), None)?;
    write_limit(at, limit).map(|()| 0)
}

/// setrlimit(2): EFAULT first, then `do_prlimit`'s checks.
pub fn setrlimit(resource: u64, at: u64) -> Result<u64, Errno> {
    let new = read_limit(at)?;
    change_limit(
        &sched::current_process(),
        u64::from(resource as u32),
        Some(new),
    )
    .map(|_| 0)
}

/// prlimit64(2): getrlimit and setrlimit of any process `pid` (0: the
/// caller), either address NULL to skip it. EFAULT reading the new
/// limits, ESRCH, then `do_prlimit`'s checks; the old limits are written
/// last (EFAULT there leaves the new ones set, as on Linux).
pub fn prlimit64(pid: u64, resource: u64, new_at: u64, old_at: u64) -> Result<u64, Errno> {
    let new = if new_at == 0 {
        None
    } else {
        Some(read_limit(new_at)?)
    };
    let target = process_named(pid as i32)?;
    let old = change_limit(&target, u64::from(resource as u32), new)?;
    if old_at != 0 {
        write_limit(old_at, old)?;
    }
    Ok(0)
}

/// sysinfo(2): `struct sysinfo` (112 bytes) from the kernel's state: the
/// seconds since boot (rounded up, as Linux does), the memory the frame
/// allocator manages and has free (`mem_unit` 1: bytes), no swap, and the
/// number of processes. Load averages are not kept: 0. Shared and buffer
/// memory are not counted: 0.
pub fn sysinfo(at: u64) -> Result<u64, Errno> {
    let uptime = crate::time::now_ns().div_ceil(1_000_000_000);
    let memory = crate::memory::stats();
    let free = memory.free_frames as u64 * mm::frame::PAGE_SIZE;
    let processes = process::all().len().min(usize::from(u16::MAX)) as u64;
    let mut info = [0u8; 112];
    let mut put = |offset: usize, value: u64, width: usize| {
        info[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    };
    put(0, uptime, 8);
    put(32, memory.usable_bytes, 8); // totalram
    put(40, free, 8); // freeram
    put(80, processes, 2);
    put(104, 1, 4); // mem_unit
    write_user(at, &info).map(|()| 0)
}

/// The bytes of a CPU mask on this machine: one `unsigned long` (Linux's
/// `cpumask_size()` for fewer than 65 CPUs).
const CPU_MASK_BYTES: u64 = 8;

/// sched_getaffinity(2): the CPUs `pid` may run on — the one CPU, mask 1.
/// EINVAL for a `len` below the mask's 8 bytes or not a multiple of 8,
/// ESRCH, EFAULT; returns the bytes written.
pub fn sched_getaffinity(pid: u64, len: u64, mask_at: u64) -> Result<u64, Errno> {
    let len = u64::from(len as u32);
    if len < CPU_MASK_BYTES || !len.is_multiple_of(CPU_MASK_BYTES) {
        return Err(Errno::EINVAL);
    }
    process_named(pid as i32)?;
    write_user(mask_at, &1u64.to_le_bytes())?;
    Ok(CPU_MASK_BYTES)
}

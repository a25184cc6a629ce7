//! Process system calls: fork, vfork, clone, execve, wait4, waitid, ids,
//! process groups and sessions, the thread pointer, CPU times, randomness.

use super::Outcome;
use crate::fs::file::FileKind;
use crate::fs::path::{Follow, Names};
use crate::process::exec::{self, Program};
use crate::process::memory::UserMemory;
use crate::process::user_memory::{read_user_string, read_user_u64, write_user};
use crate::process::{self, ForkRequest, Pid, WaitFor, WaitOptions, WaitReport};
use crate::sched;
use abi::Errno;
use abi::fs::{AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use abi::process::*;
use abi::resource::{RUSAGE_CHILDREN, RUSAGE_SELF, RUSAGE_THREAD};
use abi::signal::{NSIG, SIGCHLD};
use abi::time::{GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM};
use alloc::vec::Vec;
use arch::trap::TrapFrame;
use core::sync::atomic::Ordering;
use mm::address_space::USER_END;

/// The most argv or envp entries read (each is at most MAX_ARG_STRLEN, and
/// all of them together within Linux's argument space).
const MAX_ARGUMENTS: usize = 0x7fff_ffff;

/// fork(2): a copy-on-write child that gets SIGCHLD's parent.
pub fn fork() -> Result<u64, Errno> {
    process::fork(ForkRequest::plain(SIGCHLD)).map(u64::from)
}

/// vfork(2): the child runs in the parent's memory while the parent waits
/// for it to exec or end.
pub fn vfork() -> Result<u64, Errno> {
    process::fork(ForkRequest {
        share_memory: true,
        wait_for_exec: true,
        ..ForkRequest::plain(SIGCHLD)
    })
    .map(u64::from)
}

/// The flags that would make a thread or share more than memory: this
/// kernel has no threads yet, so they are EINVAL (as are namespaces).
const UNSUPPORTED_CLONE_FLAGS: u64 = CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_PIDFD
    | CLONE_PTRACE
    | CLONE_PARENT
    | CLONE_THREAD
    | CLONE_NEWNS
    | CLONE_SYSVSEM
    | 0xfe00_0000; // CLONE_NEWCGROUP..CLONE_IO

/// clone(2) with the fork-like flag sets C libraries use: an exit signal,
/// CLONE_VM with CLONE_VFORK (posix_spawn), the tid stores and TLS.
pub fn clone(
    flags: u64,
    stack: u64,
    parent_tid_at: u64,
    child_tid_at: u64,
    tls: u64,
) -> Result<u64, Errno> {
    // Linux's own consistency rules come first.
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
        || flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
    {
        return Err(Errno::EINVAL);
    }
    let exit_signal = (flags & CSIGNAL) as u32;
    if flags & UNSUPPORTED_CLONE_FLAGS != 0 || exit_signal > NSIG {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SETTLS != 0 && tls >= USER_END {
        return Err(Errno::EPERM);
    }
    let when = |flag: u64, value: u64| (flags & flag != 0).then_some(value);
    process::fork(ForkRequest {
        share_memory: flags & CLONE_VM != 0,
        wait_for_exec: flags & CLONE_VFORK != 0,
        exit_signal,
        stack,
        tls: when(CLONE_SETTLS, tls),
        parent_tid_at: when(CLONE_PARENT_SETTID, parent_tid_at),
        child_tid_at: when(CLONE_CHILD_SETTID, child_tid_at),
        child_clear_tid_at: when(CLONE_CHILD_CLEARTID, child_tid_at),
    })
    .map(u64::from)
}

impl ForkRequest {
    /// A fork with nothing shared and nothing stored.
    fn plain(exit_signal: u32) -> ForkRequest {
        ForkRequest {
            share_memory: false,
            wait_for_exec: false,
            exit_signal,
            stack: 0,
            tls: None,
            parent_tid_at: None,
            child_tid_at: None,
            child_clear_tid_at: None,
        }
    }
}

/// The NULL-terminated array of string pointers at `at` (argv, envp); a
/// NULL array is empty, as Linux takes it.
fn read_string_array(at: u64) -> Result<Vec<Vec<u8>>, Errno> {
    let mut strings = Vec::new();
    if at == 0 {
        return Ok(strings);
    }
    for index in 0..MAX_ARGUMENTS as u64 {
        let pointer = read_user_u64(at.checked_add(index * 8).ok_or(Errno::EFAULT)?)?;
        if pointer == 0 {
            return Ok(strings);
        }
        let string = read_user_string(pointer, exec::MAX_ARG_STRLEN).map_err(|errno| {
            if errno == Errno::ENAMETOOLONG {
                Errno::E2BIG
            } else {
                errno
            }
        })?;
        strings.push(string);
    }
    Err(Errno::E2BIG)
}

/// execve(2) and execveat(2): the running process gets a new program.
/// Everything that can fail is done before the old memory is given up, so
/// a failed exec returns its errno to the old program.
pub fn execve(
    frame: &mut TrapFrame,
    dirfd: u64,
    path_at: u64,
    argv_at: u64,
    envp_at: u64,
    flags: u64,
) -> Outcome {
    match exec_program(dirfd, path_at, argv_at, envp_at, flags) {
        Ok(start) => {
            *frame = start;
            Outcome::NewRegisters
        }
        Err(errno) => Outcome::Value(Err(errno)),
    }
}

/// The work of execve: returns the registers the new program starts with.
fn exec_program(
    dirfd: u64,
    path_at: u64,
    argv_at: u64,
    envp_at: u64,
    flags: u64,
) -> Result<TrapFrame, Errno> {
    let flags = flags as u32;
    if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = super::path::read_path(path_at)?;
    let argv = read_string_array(argv_at)?;
    let envp = read_string_array(envp_at)?;
    let fs = super::path::file_system()?;
    let process = sched::current_process();
    let program = if path.is_empty() {
        if flags & AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let file = process.files.lock().get(dirfd)?;
        let FileKind::Regular(inode) = file.lock().kind else {
            return Err(Errno::EACCES);
        };
        Program::Inode(inode)
    } else if flags & AT_SYMLINK_NOFOLLOW != 0 {
        // A symlink in the last place is ELOOP (Linux's `do_open_execat`).
        let inode = super::path::resolve(dirfd, &path, Follow::No)?;
        if fs.file_type(inode)? == ext2::FileType::Symlink {
            return Err(Errno::ELOOP);
        }
        Program::Inode(inode)
    } else {
        let dir = super::path::start_directory(dirfd, &path)?;
        Program::Path { dir, path: &path }
    };
    let execfn = if path.is_empty() {
        alloc::format!("/dev/fd/{dirfd}").into_bytes()
    } else {
        path.clone()
    };
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
    let mut memory = UserMemory::new().map_err(|_| Errno::ENOMEM)?;
    let stack_limit = process.limits.lock().stack();
    let image = exec::load(fs, &mut memory, program, &execfn, &argv, &envp, stack_limit)?;
    process::replace_image(&process, memory, image.name);
    let thread = sched::current();
    thread.fs_base.store(0, Ordering::Relaxed);
    arch::user::set_user_fs_base(x86_64::VirtAddr::zero());
    arch::fpu::FpuState::initial().restore();
    Ok(TrapFrame::new_user(image.entry, image.stack_pointer))
}

/// wait4's `pid`: a child, a process group, any child (-1), or the
/// caller's group (0).
fn wait_target(pid: i32, caller: &process::Process) -> WaitFor {
    match pid {
        -1 => WaitFor::Any,
        0 => WaitFor::Group(caller.group()),
        pid if pid < 0 => WaitFor::Group(pid.unsigned_abs()),
        pid => WaitFor::Pid(pid as Pid),
    }
}

/// `struct rusage` (144 bytes): the user and system times as `timeval`s,
/// the rest zero.
fn rusage_bytes(user_ticks: u64, system_ticks: u64) -> [u8; 144] {
    let mut bytes = [0u8; 144];
    let tick_us = 1_000_000 / u64::from(crate::time::TICK_HZ);
    for (slot, ticks) in [(0, user_ticks), (16, system_ticks)] {
        let us = ticks * tick_us;
        bytes[slot..slot + 8].copy_from_slice(&(us / 1_000_000).to_le_bytes());
        bytes[slot + 8..slot + 16].copy_from_slice(&(us % 1_000_000).to_le_bytes());
    }
    bytes
}

/// wait4(2): waits for a child to end (or stop, or continue, as asked),
/// reaps it and returns its pid; 0 with WNOHANG when none is ready.
pub fn wait4(pid: i32, status_at: u64, options: u64, rusage_at: u64) -> Result<u64, Errno> {
    let known = WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL;
    if options & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let target = wait_target(pid, &sched::current_process());
    let options = WaitOptions {
        exited: true,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
        no_hang: options & WNOHANG != 0,
        keep: false,
        all: options & WALL != 0,
        clone_only: options & WCLONE != 0,
    };
    let Some(report) = process::wait(target, options)? else {
        return Ok(0);
    };
    if status_at != 0 {
        write_user(status_at, &report.wait_status.to_le_bytes())?;
    }
    if rusage_at != 0 {
        write_user(
            rusage_at,
            &rusage_bytes(report.user_ticks, report.system_ticks),
        )?;
    }
    Ok(u64::from(report.pid))
}

/// waitid(2): as wait4, with an id type, a choice of events, WNOWAIT, and
/// the report as a `siginfo_t` (all zero when WNOHANG finds nothing).
pub fn waitid(
    id_type: u64,
    id: i32,
    info_at: u64,
    options: u64,
    rusage_at: u64,
) -> Result<u64, Errno> {
    let known = WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WCLONE | WALL;
    if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let caller = sched::current_process();
    let target = match id_type {
        P_ALL => WaitFor::Any,
        P_PID if id > 0 => WaitFor::Pid(id as Pid),
        P_PGID if id == 0 => WaitFor::Group(caller.group()),
        P_PGID if id > 0 => WaitFor::Group(id as Pid),
        P_PIDFD => return Err(Errno::EBADF),
        _ => return Err(Errno::EINVAL),
    };
    let options = WaitOptions {
        exited: options & WEXITED != 0,
        stopped: options & WSTOPPED != 0,
        continued: options & WCONTINUED != 0,
        no_hang: options & WNOHANG != 0,
        keep: options & WNOWAIT != 0,
        all: options & WALL != 0,
        clone_only: options & WCLONE != 0,
    };
    let report = process::wait(target, options)?;
    if info_at != 0 {
        write_user(info_at, &waitid_info(report.as_ref()))?;
    }
    if rusage_at != 0 {
        let (user, system) = report.map_or((0, 0), |r| (r.user_ticks, r.system_ticks));
        write_user(rusage_at, &rusage_bytes(user, system))?;
    }
    Ok(0)
}

/// waitid's `siginfo_t`: SIGCHLD, the code, the child's pid and status.
fn waitid_info(report: Option<&WaitReport>) -> [u8; abi::signal::SIGINFO_BYTES] {
    let mut bytes = [0u8; abi::signal::SIGINFO_BYTES];
    if let Some(report) = report {
        bytes[0..4].copy_from_slice(&SIGCHLD.to_le_bytes());
        bytes[8..12].copy_from_slice(&report.code.to_le_bytes());
        bytes[16..20].copy_from_slice(&report.pid.to_le_bytes());
        bytes[24..28].copy_from_slice(&report.status.to_le_bytes());
    }
    bytes
}

pub fn getpid() -> Result<u64, Errno> {
    Ok(u64::from(sched::current_process().pid))
}

pub fn getppid() -> Result<u64, Errno> {
    Ok(u64::from(sched::current_process().parent()))
}

/// The process `pid` names (0: the caller), or ESRCH.
pub(super) fn process_named(pid: i32) -> Result<alloc::sync::Arc<process::Process>, Errno> {
    match pid {
        0 => Ok(sched::current_process()),
        pid if pid > 0 => process::lookup(pid as Pid).ok_or(Errno::ESRCH),
        _ => Err(Errno::ESRCH),
    }
}

pub fn getpgid(pid: i32) -> Result<u64, Errno> {
    process_named(pid).map(|process| u64::from(process.group()))
}

pub fn getsid(pid: i32) -> Result<u64, Errno> {
    process_named(pid).map(|process| u64::from(process.session()))
}

/// setpgid(2), with Linux's checks: the caller or a child of it in the
/// same session that has not exec'd, not a session leader, into a group of
/// the same session (or a new group named after it).
pub fn setpgid(pid: i32, group: i32) -> Result<u64, Errno> {
    let caller = sched::current_process();
    let pid = if pid == 0 { caller.pid } else { pid as Pid };
    let group = if group == 0 { pid as i32 } else { group };
    if group < 0 {
        return Err(Errno::EINVAL);
    }
    let group = group as Pid;
    let target = process::lookup(pid).ok_or(Errno::ESRCH)?;
    if target.parent() == caller.pid {
        if target.session() != caller.session() {
            return Err(Errno::EPERM);
        }
        if target.has_execed() {
            return Err(Errno::EACCES);
        }
    } else if target.pid != caller.pid {
        return Err(Errno::ESRCH);
    }
    if target.session() == target.pid {
        return Err(Errno::EPERM);
    }
    if group != target.pid {
        let exists_in_session = process::all()
            .iter()
            .any(|other| other.group() == group && other.session() == caller.session());
        if !exists_in_session {
            return Err(Errno::EPERM);
        }
    }
    target.set_group(group);
    Ok(0)
}

/// setsid(2): a new session and group named after the caller, unless a
/// process group of that name exists already (EPERM).
pub fn setsid() -> Result<u64, Errno> {
    let caller = sched::current_process();
    if process::all()
        .iter()
        .any(|other| other.group() == caller.pid)
    {
        return Err(Errno::EPERM);
    }
    caller.start_session();
    Ok(u64::from(caller.pid))
}

/// set_tid_address(2): where the thread's id is zeroed at its end; returns
/// the thread id.
pub fn set_tid_address(at: u64) -> Result<u64, Errno> {
    let process = sched::current_process();
    process.clear_child_tid.store(at, Ordering::Relaxed);
    Ok(u64::from(process.pid))
}

/// arch_prctl(2): the FS base, the running thread's own. A base outside
/// user space is EPERM (Linux's TASK_SIZE_MAX check).
pub fn arch_prctl(code: u64, addr: u64) -> Result<u64, Errno> {
    let thread = sched::current();
    match code {
        ARCH_SET_FS => {
            if addr >= USER_END {
                return Err(Errno::EPERM);
            }
            thread.fs_base.store(addr, Ordering::Relaxed);
            arch::user::set_user_fs_base(x86_64::VirtAddr::new(addr));
            Ok(0)
        }
        ARCH_GET_FS => {
            let base = thread.fs_base.load(Ordering::Relaxed);
            write_user(addr, &base.to_le_bytes()).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// times(2): the caller's and its reaped children's CPU times, in clock
/// ticks (100 a second, as Linux's USER_HZ); returns the ticks since boot.
pub fn times(at: u64) -> Result<u64, Errno> {
    if at != 0 {
        let bytes: Vec<u8> = sched::current_process()
            .times()
            .iter()
            .flat_map(|ticks| ticks.to_le_bytes())
            .collect();
        write_user(at, &bytes)?;
    }
    Ok(crate::time::ticks())
}

/// getrusage(2): RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD.
pub fn getrusage(who: i32, at: u64) -> Result<u64, Errno> {
    let [user, system, children_user, children_system] = sched::current_process().times();
    let (user, system) = match who {
        RUSAGE_SELF | RUSAGE_THREAD => (user, system),
        RUSAGE_CHILDREN => (children_user, children_system),
        _ => return Err(Errno::EINVAL),
    };
    write_user(at, &rusage_bytes(user, system)).map(|()| 0)
}

/// getrandom(2): RDRAND (or the TSC mix) never blocks, so the flags change
/// nothing.
pub fn getrandom(buffer: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    let len = len.min(i32::MAX as u64);
    let mut filled = 0;
    while filled < len {
        let bytes = arch::cpu::random_u64().to_le_bytes();
        let step = (len - filled).min(8);
        write_user(buffer + filled, &bytes[..step as usize])?;
        filled += step;
    }
    Ok(len)
}

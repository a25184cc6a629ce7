//! The Linux x86_64 system-call table: numbers in, results or negative errno
//! values out. One function per call, grouped by family in submodules.
//!
//! After every call, on the way back to user mode, pending signals are
//! delivered (`process::signal::deliver`), which may turn an interrupted
//! call's `ERESTART*` result into EINTR or a restart.

use crate::process::signal::{SyscallReturn, Verdict};
use crate::process::{self, Exit};
use crate::sched;
use abi::Errno;
use abi::syscall as number;
use arch::trap::TrapFrame;
use arch::user::ReturnPath;

mod attributes;
mod directory;
mod file;
mod memory;
mod names;
mod path;
mod poll;
mod process_calls;
mod signal;
mod system;
mod time;

use directory::Layout;
use file::Position;

/// A `dirfd` argument meaning the current directory, for the calls
/// without `at`.
const AT_FDCWD: u64 = abi::fs::AT_FDCWD as u64;

/// What a system call did.
enum Outcome {
    /// A value (or errno) for `rax`; back through `sysretq`.
    Value(Result<u64, Errno>),
    /// The call set every register itself (execve, rt_sigreturn): back
    /// through `iretq`.
    NewRegisters,
    /// The process ends.
    Exit(Exit),
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(result: Result<u64, Errno>) -> Outcome {
        Outcome::Value(result)
    }
}

/// A descriptor argument: Linux declares these `unsigned int`, so the upper
/// half of the register is ignored.
fn fd(argument: u64) -> u64 {
    u64::from(argument as u32)
}

/// Entered from `arch::user` on every `syscall`, on the thread's kernel
/// stack. Linux takes the number from the low 32 bits of `rax`.
pub fn handle(frame: &mut TrapFrame) -> ReturnPath {
    arch::cpu::enable_interrupts();
    let number = u64::from(frame.rax as u32);
    let outcome = dispatch(number, frame);
    let path = match outcome {
        Outcome::Value(result) => {
            frame.rax = match result {
                Ok(value) => value,
                Err(errno) => errno.to_syscall_return() as u64,
            };
            ReturnPath::Sysret
        }
        Outcome::NewRegisters => ReturnPath::Iret,
        Outcome::Exit(exit) => process::exit_current(exit),
    };
    match process::signal::deliver(frame, Some(SyscallReturn { number }), path) {
        Verdict::Return(path) => path,
        Verdict::Exit(exit) => process::exit_current(exit),
    }
}

fn dispatch(number: u64, frame: &mut TrapFrame) -> Outcome {
    let [a0, a1, a2, a3, a4, a5] = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    match number {
        number::READ => file::read(fd(a0), a1, a2, Position::Current).into(),
        number::WRITE => file::write(fd(a0), a1, a2, Position::Current).into(),
        number::OPEN => file::openat(AT_FDCWD, a0, a1, a2).into(),
        number::OPENAT => file::openat(a0, a1, a2, a3).into(),
        number::CREAT => file::creat(a0, a1).into(),
        number::CLOSE => file::close(fd(a0)).into(),
        number::LSEEK => file::lseek(fd(a0), a1 as i64, a2).into(),
        number::IOCTL => file::ioctl(fd(a0), a1, a2).into(),
        number::PREAD64 => file::read(fd(a0), a1, a2, Position::At(a3)).into(),
        number::PWRITE64 => file::write(fd(a0), a1, a2, Position::At(a3)).into(),
        number::READV => file::vectored(fd(a0), a1, a2, false).into(),
        number::WRITEV => file::vectored(fd(a0), a1, a2, true).into(),
        number::FSYNC | number::FDATASYNC => file::fsync(fd(a0)).into(),
        number::FTRUNCATE => file::ftruncate(fd(a0), a1 as i64).into(),
        number::FALLOCATE => file::fallocate(fd(a0), a1 as u32, a2 as i64, a3 as i64).into(),
        number::SYNC => file::sync().into(),
        number::STAT => attributes::newfstatat(AT_FDCWD, a0, a1, 0).into(),
        number::LSTAT => {
            let nofollow = u64::from(abi::fs::AT_SYMLINK_NOFOLLOW);
            attributes::newfstatat(AT_FDCWD, a0, a1, nofollow).into()
        }
        number::FSTAT => attributes::fstat(fd(a0), a1).into(),
        number::NEWFSTATAT => attributes::newfstatat(a0, a1, a2, a3).into(),
        number::STATFS => attributes::statfs(a0, a1).into(),
        number::FSTATFS => attributes::fstatfs(fd(a0), a1).into(),
        number::ACCESS => attributes::faccessat2(AT_FDCWD, a0, a1, 0).into(),
        number::FACCESSAT => attributes::faccessat2(a0, a1, a2, 0).into(),
        number::FACCESSAT2 => attributes::faccessat2(a0, a1, a2, a3).into(),
        number::CHMOD => attributes::fchmodat(AT_FDCWD, a0, a1).into(),
        number::FCHMODAT => attributes::fchmodat(a0, a1, a2).into(),
        number::FCHMOD => attributes::fchmod(fd(a0), a1).into(),
        number::CHOWN => attributes::fchownat(AT_FDCWD, a0, a1, a2, 0).into(),
        number::LCHOWN => {
            let nofollow = u64::from(abi::fs::AT_SYMLINK_NOFOLLOW);
            attributes::fchownat(AT_FDCWD, a0, a1, a2, nofollow).into()
        }
        number::FCHOWNAT => attributes::fchownat(a0, a1, a2, a3, a4).into(),
        number::FCHOWN => attributes::fchown(fd(a0), a1, a2).into(),
        number::UTIMENSAT => attributes::utimensat(a0, a1, a2, a3).into(),
        number::TRUNCATE => attributes::truncate(a0, a1).into(),
        number::MKDIR => names::mkdirat(AT_FDCWD, a0, a1).into(),
        number::MKDIRAT => names::mkdirat(a0, a1, a2).into(),
        number::MKNOD => names::mknodat(AT_FDCWD, a0, a1, a2).into(),
        number::MKNODAT => names::mknodat(a0, a1, a2, a3).into(),
        number::SYMLINK => names::symlinkat(a0, AT_FDCWD, a1).into(),
        number::SYMLINKAT => names::symlinkat(a0, a1, a2).into(),
        number::LINK => names::linkat(AT_FDCWD, a0, AT_FDCWD, a1, 0).into(),
        number::LINKAT => names::linkat(a0, a1, a2, a3, a4).into(),
        number::UNLINK => names::unlinkat(AT_FDCWD, a0, 0).into(),
        number::RMDIR => {
            let remove_directory = u64::from(abi::fs::AT_REMOVEDIR);
            names::unlinkat(AT_FDCWD, a0, remove_directory).into()
        }
        number::UNLINKAT => names::unlinkat(a0, a1, a2).into(),
        number::RENAME => names::renameat2(AT_FDCWD, a0, AT_FDCWD, a1, 0).into(),
        number::RENAMEAT => names::renameat2(a0, a1, a2, a3, 0).into(),
        number::RENAMEAT2 => names::renameat2(a0, a1, a2, a3, a4).into(),
        number::READLINK => names::readlinkat(AT_FDCWD, a0, a1, a2).into(),
        number::READLINKAT => names::readlinkat(a0, a1, a2, a3).into(),
        number::GETDENTS => directory::getdents(fd(a0), a1, a2, Layout::Dirent).into(),
        number::GETDENTS64 => directory::getdents(fd(a0), a1, a2, Layout::Dirent64).into(),
        number::GETCWD => directory::getcwd(a0, a1).into(),
        number::CHDIR => directory::chdir(a0).into(),
        number::FCHDIR => directory::fchdir(fd(a0)).into(),
        number::PIPE => file::pipe2(a0, 0).into(),
        number::PIPE2 => file::pipe2(a0, a1).into(),
        number::DUP => file::dup(fd(a0)).into(),
        number::DUP2 => file::dup2(fd(a0), fd(a1)).into(),
        number::DUP3 => file::dup3(fd(a0), fd(a1), a2).into(),
        number::FCNTL => file::fcntl(fd(a0), a1 as u32, a2).into(),
        number::POLL => poll::poll(a0, a1, a2 as i32).into(),
        number::PPOLL => poll::ppoll(a0, a1, a2, a3, a4).into(),
        number::SELECT => poll::select(a0 as i32, a1, a2, a3, a4).into(),
        number::PSELECT6 => poll::pselect6(a0 as i32, a1, a2, a3, a4, a5).into(),
        number::MMAP => memory::mmap(a0, a1, a2, a3, fd(a4), a5).into(),
        number::MUNMAP => memory::munmap(a0, a1).into(),
        number::MPROTECT => memory::mprotect(a0, a1, a2).into(),
        number::MREMAP => memory::mremap(a0, a1, a2, a3, a4).into(),
        number::MSYNC => memory::msync(a0, a1, a2).into(),
        number::MINCORE => memory::mincore(a0, a1, a2).into(),
        number::MLOCK => memory::mlock(a0, a1, 0).into(),
        number::MLOCK2 => memory::mlock(a0, a1, a2 as u32).into(),
        number::MUNLOCK => memory::munlock(a0, a1).into(),
        number::MLOCKALL => memory::mlockall(a0).into(),
        number::MUNLOCKALL => memory::munlockall().into(),
        number::MADVISE => memory::madvise(a0, a1, a2 as i32).into(),
        number::BRK => memory::brk(a0).into(),
        number::UNAME => system::uname(a0).into(),
        number::UMASK => system::umask(a0).into(),
        number::GETRLIMIT => system::getrlimit(a0, a1).into(),
        number::SETRLIMIT => system::setrlimit(a0, a1).into(),
        number::PRLIMIT64 => system::prlimit64(a0, a1, a2, a3).into(),
        number::SYSINFO => system::sysinfo(a0).into(),
        number::SCHED_GETAFFINITY => system::sched_getaffinity(a0, a1, a2).into(),
        number::FORK => process_calls::fork().into(),
        number::VFORK => process_calls::vfork().into(),
        number::CLONE => process_calls::clone(a0, a1, a2, a3, a4).into(),
        number::EXECVE => process_calls::execve(frame, AT_FDCWD, a0, a1, a2, 0),
        number::EXECVEAT => process_calls::execve(frame, a0, a1, a2, a3, a4),
        number::EXIT | number::EXIT_GROUP => Outcome::Exit(Exit::Status(a0 as u8)),
        number::WAIT4 => process_calls::wait4(a0 as i32, a1, a2, a3).into(),
        number::WAITID => process_calls::waitid(a0, a1 as i32, a2, a3, a4).into(),
        number::GETPID => process_calls::getpid().into(),
        number::GETTID => process_calls::getpid().into(),
        number::GETPPID => process_calls::getppid().into(),
        number::GETPGID => process_calls::getpgid(a0 as i32).into(),
        number::GETPGRP => process_calls::getpgid(0).into(),
        number::SETPGID => process_calls::setpgid(a0 as i32, a1 as i32).into(),
        number::GETSID => process_calls::getsid(a0 as i32).into(),
        number::SETSID => process_calls::setsid().into(),
        number::GETUID | number::GETEUID | number::GETGID | number::GETEGID => Ok(0).into(),
        number::SET_TID_ADDRESS => process_calls::set_tid_address(a0).into(),
        number::ARCH_PRCTL => process_calls::arch_prctl(a0, a1).into(),
        number::TIMES => process_calls::times(a0).into(),
        number::GETRUSAGE => process_calls::getrusage(a0 as i32, a1).into(),
        number::SCHED_YIELD => {
            sched::yield_now();
            Ok(0).into()
        }
        number::GETRANDOM => process_calls::getrandom(a0, a1, a2).into(),
        number::KILL => signal::kill(a0 as i32, a1 as i32).into(),
        number::TKILL => signal::tgkill(None, a0 as i32, a1 as i32).into(),
        number::TGKILL => signal::tgkill(Some(a0 as i32), a1 as i32, a2 as i32).into(),
        number::RT_SIGACTION => signal::rt_sigaction(a0, a1, a2, a3).into(),
        number::RT_SIGPROCMASK => signal::rt_sigprocmask(a0 as i32, a1, a2, a3).into(),
        number::RT_SIGPENDING => signal::rt_sigpending(a0, a1).into(),
        number::RT_SIGSUSPEND => signal::rt_sigsuspend(a0, a1).into(),
        number::RT_SIGRETURN => match crate::process::signal::sigreturn(frame) {
            Ok(()) => Outcome::NewRegisters,
            Err(()) => Outcome::Exit(Exit::Killed {
                signal: abi::signal::SIGSEGV,
                fault_address: None,
            }),
        },
        number::SIGALTSTACK => signal::sigaltstack(frame.rsp, a0, a1).into(),
        number::PAUSE => signal::pause().into(),
        number::ALARM => signal::alarm(a0 as u32).into(),
        number::SETITIMER => signal::setitimer(a0 as i32, a1, a2).into(),
        number::GETITIMER => signal::getitimer(a0 as i32, a1).into(),
        number::CLOCK_GETTIME => time::clock_gettime(a0, a1).into(),
        number::NANOSLEEP => time::nanosleep(a0, a1).into(),
        number::RESTART_SYSCALL => time::restart_syscall().into(),
        _ => {
            log::warn!("unknown system call {number}: returning ENOSYS");
            Err(Errno::ENOSYS).into()
        }
    }
}

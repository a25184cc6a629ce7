//! The Linux x86_64 system-call table: numbers in, results or negative errno
//! values out. One function per call, grouped by family in submodules.

use crate::process::{self as user_process, Exit};
use abi::Errno;
use arch::trap::TrapFrame;

mod file;
mod memory;
mod process;
mod time;

pub use process::SIGACTION_BYTES;

use file::Position;

/// Linux x86_64 system-call numbers handled here.
mod number {
    pub const READ: u64 = 0;
    pub const WRITE: u64 = 1;
    pub const OPEN: u64 = 2;
    pub const CLOSE: u64 = 3;
    pub const FSTAT: u64 = 5;
    pub const LSEEK: u64 = 8;
    pub const MMAP: u64 = 9;
    pub const MPROTECT: u64 = 10;
    pub const MUNMAP: u64 = 11;
    pub const BRK: u64 = 12;
    pub const RT_SIGACTION: u64 = 13;
    pub const RT_SIGPROCMASK: u64 = 14;
    pub const IOCTL: u64 = 16;
    pub const PREAD64: u64 = 17;
    pub const PWRITE64: u64 = 18;
    pub const READV: u64 = 19;
    pub const WRITEV: u64 = 20;
    pub const MSYNC: u64 = 26;
    pub const MADVISE: u64 = 28;
    pub const NANOSLEEP: u64 = 35;
    pub const GETPID: u64 = 39;
    pub const EXIT: u64 = 60;
    pub const UNAME: u64 = 63;
    pub const FSYNC: u64 = 74;
    pub const FDATASYNC: u64 = 75;
    pub const FTRUNCATE: u64 = 77;
    pub const MKDIR: u64 = 83;
    pub const UNLINK: u64 = 87;
    pub const GETUID: u64 = 102;
    pub const GETGID: u64 = 104;
    pub const GETEUID: u64 = 107;
    pub const GETEGID: u64 = 108;
    pub const GETPPID: u64 = 110;
    pub const MLOCK: u64 = 149;
    pub const MUNLOCK: u64 = 150;
    pub const MLOCKALL: u64 = 151;
    pub const MUNLOCKALL: u64 = 152;
    pub const ARCH_PRCTL: u64 = 158;
    pub const SYNC: u64 = 162;
    pub const GETTID: u64 = 186;
    pub const SET_TID_ADDRESS: u64 = 218;
    pub const CLOCK_GETTIME: u64 = 228;
    pub const EXIT_GROUP: u64 = 231;
    pub const OPENAT: u64 = 257;
    pub const NEWFSTATAT: u64 = 262;
    pub const GETRANDOM: u64 = 318;
}

/// `openat`'s "relative to the working directory".
const AT_FDCWD: u64 = -100i64 as u64;

/// Entered from `arch::user` on every `syscall`, on the process's kernel stack.
pub fn handle(frame: &mut TrapFrame) {
    arch::cpu::enable_interrupts();
    let number = frame.rax;
    let [a0, a1, a2, a3, a4, a5] = [
        frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8, frame.r9,
    ];
    let result = match number {
        number::READ => file::read(a0, a1, a2, Position::Current),
        number::WRITE => file::write(a0, a1, a2, Position::Current),
        number::OPEN => file::openat(AT_FDCWD, a0, a1, a2),
        number::OPENAT => file::openat(a0, a1, a2, a3),
        number::CLOSE => file::close(a0),
        number::FSTAT => file::fstat(a0, a1),
        number::NEWFSTATAT => file::newfstatat(a0, a1, a2, a3),
        number::LSEEK => file::lseek(a0, a1 as i64, a2),
        number::IOCTL => file::ioctl(a0, a1, a2),
        number::PREAD64 => file::read(a0, a1, a2, Position::At(a3)),
        number::PWRITE64 => file::write(a0, a1, a2, Position::At(a3)),
        number::READV => file::vectored(a0, a1, a2, false),
        number::WRITEV => file::vectored(a0, a1, a2, true),
        number::FSYNC | number::FDATASYNC => file::fsync(a0),
        number::FTRUNCATE => file::ftruncate(a0, a1 as i64),
        number::MKDIR => file::mkdir(a0, a1),
        number::UNLINK => file::unlink(a0),
        number::SYNC => file::sync(),
        number::MMAP => memory::mmap(a0, a1, a2, a3, a4, a5),
        number::MUNMAP => memory::munmap(a0, a1),
        number::MPROTECT => memory::mprotect(a0, a1, a2),
        number::MSYNC => memory::msync(a0, a1, a2),
        number::MLOCK => memory::mlock(a0, a1),
        number::MUNLOCK => memory::munlock(a0, a1),
        number::MLOCKALL => memory::mlockall(a0),
        number::MUNLOCKALL => memory::munlockall(),
        number::MADVISE => memory::madvise(a0, a1, a2),
        number::BRK => memory::brk(a0),
        number::UNAME => uname(a0),
        number::GETPID | number::GETTID => process::getpid(),
        number::GETPPID => process::getppid(),
        number::GETUID | number::GETEUID | number::GETGID | number::GETEGID => process::id_zero(),
        number::SET_TID_ADDRESS => process::set_tid_address(),
        number::ARCH_PRCTL => process::arch_prctl(a0, a1),
        number::RT_SIGACTION => process::rt_sigaction(a0, a1, a2, a3),
        number::RT_SIGPROCMASK => process::rt_sigprocmask(a0, a1, a2, a3),
        number::GETRANDOM => process::getrandom(a0, a1, a2),
        number::CLOCK_GETTIME => time::clock_gettime(a0, a1),
        number::NANOSLEEP => time::nanosleep(a0, a1),
        number::EXIT | number::EXIT_GROUP => crate::process::finish(Exit::Status(a0 as u8)),
        _ => {
            log::warn!("unknown system call {number}: returning ENOSYS");
            Err(Errno::ENOSYS)
        }
    };
    frame.rax = match result {
        Ok(value) => value,
        Err(errno) => errno.to_syscall_return() as u64,
    };
}

/// uname(2): `struct utsname`, six NUL-padded 65-byte fields. This kernel
/// speaks the Linux ABI, so it says "Linux" with the 6.x release whose
/// behaviour it follows; its own name is in the node name and version.
fn uname(buffer: u64) -> Result<u64, Errno> {
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
    user_process::with_current(|process| process.copy_to_user(buffer, &utsname))?;
    Ok(0)
}

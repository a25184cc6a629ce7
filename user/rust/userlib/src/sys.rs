//! Raw Linux x86_64 system calls.

use abi::Errno;
use core::arch::asm;
use core::ffi::CStr;
use core::fmt;

/// System call numbers, from `abi`.
pub use abi::syscall as nr;

/// `open` flags, from `abi`.
pub use abi::fs::{O_CREAT, O_RDONLY, O_RDWR, O_TRUNC};

/// The errno of a failed system call. Its `Debug` form is the errno's name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SysError(pub i32);

impl SysError {
    /// The errno, if `abi` knows this number.
    pub fn errno(self) -> Option<Errno> {
        Errno::from_raw(self.0)
    }
}

impl From<Errno> for SysError {
    fn from(errno: Errno) -> Self {
        SysError(errno as i32)
    }
}

impl fmt::Debug for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errno() {
            Some(errno) => f.write_str(errno.name()),
            None => write!(f, "errno {}", self.0),
        }
    }
}

/// Issues system call `number` with six arguments (unused ones are ignored by
/// the kernel) and returns the raw result: a value, or `-errno`.
///
/// # Safety
/// The call must not break Rust's guarantees: pointers must be valid for what
/// the call does with them, and memory Rust still uses must not be unmapped.
pub unsafe fn syscall(number: u64, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction clobbers only rax, rcx and r11; what the
    // call does to memory is the caller's obligation.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// A raw result: values in -4095..=-1 are `-errno`, anything else succeeded.
fn result(ret: isize) -> Result<usize, SysError> {
    if (-4095..0).contains(&ret) {
        Err(SysError(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// write(2): writes from `buf` to `fd`, returning how many bytes were written.
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, SysError> {
    // SAFETY: the kernel only reads `buf.len()` bytes of `buf`.
    result(unsafe {
        syscall(
            nr::WRITE,
            [fd as usize, buf.as_ptr() as usize, buf.len(), 0, 0, 0],
        )
    })
}

/// read(2): reads into `buf` from `fd`, returning how many bytes were read.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, SysError> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    result(unsafe {
        syscall(
            nr::READ,
            [fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
        )
    })
}

/// open(2) with `O_*` flags and a creation mode; returns the new descriptor.
pub fn open(path: &CStr, flags: u32, mode: u32) -> Result<i32, SysError> {
    // SAFETY: `path` is NUL-terminated and only read.
    let ret = unsafe {
        syscall(
            nr::OPEN,
            [
                path.as_ptr() as usize,
                flags as usize,
                mode as usize,
                0,
                0,
                0,
            ],
        )
    };
    result(ret).map(|fd| fd as i32)
}

/// close(2).
pub fn close(fd: i32) -> Result<(), SysError> {
    // SAFETY: closing a descriptor touches no memory.
    result(unsafe { syscall(nr::CLOSE, [fd as usize, 0, 0, 0, 0, 0]) }).map(|_| ())
}

/// getpid(2); it cannot fail.
pub fn getpid() -> i32 {
    // SAFETY: getpid touches no memory.
    unsafe { syscall(nr::GETPID, [0; 6]) as i32 }
}

/// `struct utsname` of Linux: six NUL-terminated fields of 65 bytes.
#[repr(C)]
pub struct Utsname {
    pub sysname: [u8; 65],
    pub nodename: [u8; 65],
    pub release: [u8; 65],
    pub version: [u8; 65],
    pub machine: [u8; 65],
    pub domainname: [u8; 65],
}

impl Utsname {
    /// A field's text up to its NUL (the whole field if there is none).
    pub fn text(field: &[u8; 65]) -> &[u8] {
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        &field[..end]
    }
}

/// uname(2).
pub fn uname() -> Result<Utsname, SysError> {
    let mut name = Utsname {
        sysname: [0; 65],
        nodename: [0; 65],
        release: [0; 65],
        version: [0; 65],
        machine: [0; 65],
        domainname: [0; 65],
    };
    // SAFETY: the kernel writes one `struct utsname` into `name`.
    result(unsafe { syscall(nr::UNAME, [&raw mut name as usize, 0, 0, 0, 0, 0]) })?;
    Ok(name)
}

/// mmap(2) with `abi::mman` protections and flags; returns the mapping's address.
///
/// # Safety
/// With `MAP_FIXED` the new mapping replaces whatever was at `addr`: no memory
/// that Rust still uses may be there.
pub unsafe fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u64,
    fd: i32,
    offset: i64,
) -> Result<*mut u8, SysError> {
    let args = [
        addr,
        len,
        prot as usize,
        flags as usize,
        fd as usize,
        offset as usize,
    ];
    // SAFETY: the caller guarantees that the mapping replaces no live memory.
    result(unsafe { syscall(nr::MMAP, args) }).map(|addr| addr as *mut u8)
}

/// munmap(2).
///
/// # Safety
/// Nothing may use the memory in `[addr, addr + len)` afterwards.
pub unsafe fn munmap(addr: *mut u8, len: usize) -> Result<(), SysError> {
    // SAFETY: the caller guarantees that the range is no longer used.
    result(unsafe { syscall(nr::MUNMAP, [addr as usize, len, 0, 0, 0, 0]) }).map(|_| ())
}

/// msync(2) with `abi::mman::MS_*` flags. It never changes what is mapped.
pub fn msync(addr: *mut u8, len: usize, flags: u32) -> Result<(), SysError> {
    // SAFETY: msync writes pages back but leaves every mapping and its contents as they are.
    result(unsafe { syscall(nr::MSYNC, [addr as usize, len, flags as usize, 0, 0, 0]) }).map(|_| ())
}

/// exit_group(2): ends the process with `status`.
pub fn exit_group(status: i32) -> ! {
    // SAFETY: the process ends; no Rust code runs afterwards.
    unsafe {
        syscall(nr::EXIT_GROUP, [status as usize, 0, 0, 0, 0, 0]);
    }
    unreachable!("exit_group returned")
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::mman::{MAP_ANONYMOUS, MAP_PRIVATE, MS_ASYNC, MS_SYNC, PROT_READ, PROT_WRITE};

    #[test]
    fn getpid_is_the_process_id() {
        assert_eq!(getpid() as u32, std::process::id());
    }

    #[test]
    fn uname_says_linux_x86_64() {
        let name = uname().unwrap();
        assert_eq!(Utsname::text(&name.sysname), b"Linux");
        assert_eq!(Utsname::text(&name.machine), b"x86_64");
    }

    #[test]
    fn anonymous_mmap_write_read_msync_munmap() {
        // SAFETY: a fresh mapping without MAP_FIXED replaces nothing.
        let p = unsafe {
            mmap(
                0,
                8192,
                PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS,
                -1,
                0,
            )
        }
        .unwrap();
        // SAFETY: the 8192 bytes at `p` are ours until munmap.
        let bytes = unsafe { core::slice::from_raw_parts_mut(p, 8192) };
        bytes.fill(0x5a);
        assert!(bytes.iter().all(|&b| b == 0x5a));
        assert_eq!(msync(p, 8192, MS_SYNC), Ok(()));
        assert_eq!(msync(p, 8192, 8), Err(Errno::EINVAL.into()));
        assert_eq!(
            msync(p, 8192, MS_SYNC | MS_ASYNC),
            Err(Errno::EINVAL.into())
        );
        // SAFETY: `bytes` is not used again.
        unsafe { munmap(p, 8192) }.unwrap();
        assert_eq!(msync(p, 8192, MS_SYNC), Err(Errno::ENOMEM.into()));
    }

    #[test]
    fn open_write_read_close() {
        let path = std::env::temp_dir().join(std::format!("userlib-{}", std::process::id()));
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let fd = open(&c_path, O_RDWR | O_CREAT | O_TRUNC, 0o600).unwrap();
        assert_eq!(write(fd, b"hello"), Ok(5));
        close(fd).unwrap();
        let fd = open(&c_path, O_RDONLY, 0).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(read(fd, &mut buf), Ok(5));
        assert_eq!(&buf[..5], b"hello");
        close(fd).unwrap();
        assert_eq!(close(fd), Err(Errno::EBADF.into()));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(open(&c_path, O_RDONLY, 0), Err(Errno::ENOENT.into()));
    }

    #[test]
    fn unknown_errno_is_kept_by_number() {
        assert_eq!(result(-4095), Err(SysError(4095)));
        assert_eq!(std::format!("{:?}", SysError(4095)), "errno 4095");
        assert_eq!(std::format!("{:?}", SysError(22)), "EINVAL");
        assert_eq!(result(-4096), Ok((-4096isize) as usize));
    }
}

//! Linux errno values (asm-generic/errno-base.h and errno.h).

use core::fmt;

macro_rules! errnos {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        /// A Linux error number. System calls return it negated.
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        #[allow(non_camel_case_types)] // Linux's names, ERESTART_RESTARTBLOCK among them
        pub enum Errno {
            $(#[doc = $text] $name = $value,)*
        }

        impl Errno {
            /// The conventional upper-case name, such as `"EINVAL"`.
            pub const fn name(self) -> &'static str {
                match self { $(Errno::$name => stringify!($name),)* }
            }

            /// The errno for a raw (positive) number, if it is one this crate knows.
            pub const fn from_raw(value: i32) -> Option<Errno> {
                match value { $($value => Some(Errno::$name),)* _ => None }
            }

            /// The human-readable description, as `strerror` would give it.
            pub const fn description(self) -> &'static str {
                match self { $(Errno::$name => $text,)* }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    ERANGE = 34, "Numerical result out of range";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    EOVERFLOW = 75, "Value too large for defined data type";
    EOPNOTSUPP = 95, "Operation not supported";
    ETIMEDOUT = 110, "Connection timed out";
    // The kernel's own codes (Linux include/linux/errno.h): a system call
    // interrupted by a signal returns one of these, and the signal code
    // turns it into EINTR or a restart before user space sees it.
    ERESTARTSYS = 512, "Interrupted system call (restart with SA_RESTART)";
    ERESTARTNOINTR = 513, "Interrupted system call (always restart)";
    ERESTARTNOHAND = 514, "Interrupted system call (restart if no handler ran)";
    ERESTART_RESTARTBLOCK = 516, "Interrupted system call (restart through restart_syscall)";
}

impl Errno {
    /// The value a system call returns for this error: `-errno`.
    pub const fn to_syscall_return(self) -> isize {
        -(self as i32 as isize)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::Errno;

    #[test]
    fn numbers_match_linux() {
        assert_eq!(Errno::EINVAL as i32, 22);
        assert_eq!(Errno::ENOMEM as i32, 12);
        assert_eq!(Errno::EBUSY as i32, 16);
        assert_eq!(Errno::EIO.to_syscall_return(), -5);
        assert_eq!(Errno::from_raw(14), Some(Errno::EFAULT));
        assert_eq!(Errno::from_raw(1000), None);
        assert_eq!(Errno::ENOSYS.name(), "ENOSYS");
    }
}

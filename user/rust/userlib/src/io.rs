//! `print!` and `println!` to standard output (descriptor 1).

use crate::sys;
use core::fmt;

/// Standard output as a `fmt::Write`; each `write_str` is written completely.
pub struct Stdout;

impl fmt::Write for Stdout {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_all(1, text.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// Writes all of `bytes` to `fd`, continuing after short writes.
pub fn write_all(fd: i32, mut bytes: &[u8]) -> Result<(), sys::SysError> {
    while !bytes.is_empty() {
        let written = sys::write(fd, bytes)?;
        bytes = &bytes[written..];
    }
    Ok(())
}

/// What `print!` expands to. Output errors are ignored, as in `std`'s `print!` to a closed pipe.
pub fn print(args: fmt::Arguments<'_>) {
    let _ = fmt::Write::write_fmt(&mut Stdout, args);
}

/// Prints to standard output, like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::print(format_args!($($arg)*)) };
}

/// Prints to standard output with a newline, like `std::println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::io::print(format_args!("{}\n", format_args!($($arg)*))) };
}

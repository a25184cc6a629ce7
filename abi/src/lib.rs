//! The Linux x86_64 ABI numbers this project speaks: system-call numbers,
//! errno values, the `mman.h` flags, signals, and process creation and
//! reaping. One definition, shared by `mm`, `ext2`, the kernel and the
//! user-space test programs, so that a number can never be spelled twice.
#![no_std]

pub mod errno;
pub mod mman;
pub mod process;
pub mod signal;
pub mod syscall;

pub use errno::Errno;

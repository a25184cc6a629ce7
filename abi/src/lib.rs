//! The Linux x86_64 ABI numbers this project speaks: system-call numbers,
//! errno values, the `mman.h` flags, file-system flags and limits, signals,
//! process creation and reaping, resource limits, and terminals. One
//! definition, shared by `mm`, `ext2`, the kernel and the user-space test
//! programs, so that a number can never be spelled twice.
#![no_std]
#![forbid(unsafe_code)]

pub mod errno;
pub mod fs;
pub mod mman;
pub mod process;
pub mod resource;
pub mod signal;
pub mod syscall;
pub mod termios;

pub use errno::Errno;

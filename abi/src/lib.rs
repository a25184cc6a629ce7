//! The Linux x86_64 ABI numbers this project speaks: system-call numbers,
//! errno values, the `mman.h` flags, file-system flags and limits, signals,
//! process creation and reaping, resource limits, terminals, poll events,
//! clocks and the auxiliary vector. One
//! definition, shared by `mm`, `ext2`, the kernel and the user-space test
//! programs, so that a number can never be spelled twice.
#![no_std]
#![forbid(unsafe_code)]

pub mod auxv;
pub mod errno;
pub mod fs;
pub mod mman;
pub mod poll;
pub mod process;
pub mod resource;
pub mod signal;
pub mod syscall;
pub mod termios;
pub mod time;

pub use errno::Errno;

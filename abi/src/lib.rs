//! The Linux x86_64 ABI numbers this project speaks: errno values and the
//! `mman.h` flags. One definition, shared by `mm`, `ext2`, the kernel and the
//! user-space test programs, so that an errno can never be spelled twice.
#![no_std]

pub mod errno;
pub mod mman;

pub use errno::Errno;

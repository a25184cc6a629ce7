//! `userlib`: what a `no_std` Rust program needs to run as a static Linux
//! x86_64 executable without any libc — on Linux and on this project's kernel.
//!
//! - [`sys`]: raw `syscall` wrappers (write, read, open, close, getpid, uname,
//!   mmap, munmap, msync, exit_group) returning [`sys::SysError`] on failure;
//! - [`entry!`]: the `_start` entry point, which hands the program its
//!   argc/argv/envp as [`rt::Args`];
//! - [`print!`]/[`println!`] to standard output;
//! - [`check`]: the `PASS name` / `FAIL name: expected X got Y` reporting of
//!   the test programs;
//! - the panic handler (prints the panic, exits 127) and the `mem*` functions
//!   the compiler expects, in [`rt`].
//!
//! The errno and `mman.h` numbers come from the `abi` crate, like the kernel's.
//!
//! The panic handler and the `mem*` functions exist only for the musl target,
//! which `.cargo/config.toml` links without any libc (`target_env = "musl"`).
//! On the host the crate is an ordinary library next to `std`, and its unit
//! tests (`cargo test -p userlib`) run the wrappers against Linux.
#![no_std]

#[cfg(test)]
extern crate std;

pub mod check;
pub mod io;
pub mod rt;
pub mod sys;

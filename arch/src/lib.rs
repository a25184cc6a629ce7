//! x86_64 hardware access: boot entry, descriptor tables, trap entry, serial,
//! legacy timers, port I/O, PCI configuration space, control registers.
//!
//! All of the kernel's hardware `unsafe` lives here, behind small safe APIs.
//! This crate knows no policy: it never imports `mm` or `kernel`. The kernel
//! installs its trap handler with [`trap::set_handler`] and receives control
//! from the boot code through [`entry_point!`].
#![no_std]

pub mod boot;
pub mod context;
pub mod cpu;
pub mod fpu;
pub mod gdt;
pub mod layout;
pub mod paging;
pub mod pci;
pub mod pic;
pub mod pit;
pub mod qemu;
pub mod rtc;
pub mod serial;
pub mod trap;
pub mod user;
pub mod vdso;

pub use x86_64::{PhysAddr, VirtAddr};

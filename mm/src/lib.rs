//! Memory management as plain, host-testable Rust.
//!
//! Nothing here touches hardware. What `mm` needs from the machine — reaching a
//! physical frame's bytes, allocating or freeing a frame, invalidating a TLB
//! entry — it asks for through the small traits in [`frame`], implemented by the
//! kernel over the direct map and by the host tests over an emulated memory.
#![no_std]

extern crate alloc;

pub mod frame;
pub mod phys_ranges;

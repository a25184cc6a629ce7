//! Memory management as plain, host-testable Rust.
//!
//! Nothing here touches hardware. What `mm` needs from the machine — reaching a
//! physical frame's bytes, allocating or freeing a frame, invalidating a TLB
//! entry — it asks for through the small traits in [`frame`] and
//! [`walk::TlbInvalidate`], implemented by the kernel over the direct map and
//! by the host tests over an emulated memory ([`emulated`], feature
//! `emulated`).
//!
//! - [`vma`]: the tree of mapped ranges.
//! - [`address_space`]: mmap, munmap, mprotect, mlock and msync with Linux
//!   semantics; msync answers with a plan the kernel carries out.
//! - [`page_cache`]: page states, write-back transitions, the reverse map
//!   and the planning of device requests for the page cache.
//! - [`walk`]: the page-table walker (dirty scan, D-bit clearing with TLB
//!   flush tokens, unmap, protection changes, mapping pages).
#![no_std]
// The unsafe parts are the promises of the frame traits and the walker's
// constructors, and the one place a page table is reached through a raw
// pointer; each is allowed where it stands.
#![deny(unsafe_code)]

extern crate alloc;

pub mod address_space;
#[cfg(feature = "emulated")]
pub mod emulated;
pub mod frame;
pub mod page_cache;
pub mod phys_ranges;
pub mod vma;
pub mod walk;

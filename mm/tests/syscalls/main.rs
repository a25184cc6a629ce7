//! One test per errno rule and behaviour of the memory system calls, named
//! after the rule, each citing the man-page sentence or the Linux 6.x
//! behaviour it pins.

#[path = "../common/mod.rs"]
mod common;

mod brk;
mod fault;
mod fork;
mod madvise;
mod mincore;
mod mlock;
mod mmap;
mod mmap_flags;
mod mprotect;
mod mremap;
mod msync;
mod munmap;

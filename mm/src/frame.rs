//! Physical frames: the traits through which `mm` reaches physical memory, and
//! the bitmap frame allocator the kernel uses.

pub use x86_64::PhysAddr;

/// Size of a base page and of a physical frame.
pub const PAGE_SIZE: u64 = 4096;

/// Hands out and takes back 4 KiB physical frames.
///
/// Running out of frames is an ordinary outcome (`None`) that callers handle.
pub trait FrameAlloc {
    /// A free frame, or `None` when physical memory is exhausted. The frame's
    /// contents are unspecified.
    fn alloc_frame(&mut self) -> Option<PhysAddr>;
    /// Returns a frame obtained from [`FrameAlloc::alloc_frame`].
    fn free_frame(&mut self, frame: PhysAddr);
}

/// Turns a physical address into a pointer the current code can dereference
/// (the kernel's direct map, or a host test's emulated memory).
pub trait PhysAccess {
    /// A pointer to the byte at `phys`. Valid for the whole 4 KiB frame that
    /// contains `phys`.
    fn phys_to_ptr(&self, phys: PhysAddr) -> *mut u8;
}

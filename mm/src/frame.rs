//! Physical frames: the traits through which `mm` reaches physical memory, and
//! the bitmap frame allocator the kernel uses.

pub use x86_64::PhysAddr;

/// Size of a base page and of a physical frame.
pub const PAGE_SIZE: u64 = 4096;

/// Hands out and takes back 4 KiB physical frames.
///
/// Running out of frames is an ordinary outcome (`None`) that callers handle.
///
/// # Safety
/// Page tables are built in the frames this hands out, so an implementor
/// promises that `alloc_frame` returns a 4 KiB-aligned frame that nothing
/// else uses — not handed out again before it is freed, not part of any live
/// object — and that the [`PhysAccess`] it is used with reaches it.
#[allow(unsafe_code)]
pub unsafe trait FrameAlloc {
    /// A free frame, or `None` when physical memory is exhausted. The frame's
    /// contents are unspecified.
    fn alloc_frame(&mut self) -> Option<PhysAddr>;
    /// Returns a frame obtained from [`FrameAlloc::alloc_frame`].
    fn free_frame(&mut self, frame: PhysAddr);
}

/// Turns a physical address into a pointer the current code can dereference
/// (the kernel's direct map, or a host test's emulated memory).
///
/// # Safety
/// The walker reads and writes page tables through these pointers, so an
/// implementor promises that `phys_to_ptr(phys)` is valid for atomic reads
/// and writes of the whole 4 KiB frame containing `phys`, 8-byte aligned, for
/// every frame its paired [`FrameAlloc`] hands out and every page table in
/// use, for as long as `self` lives.
#[allow(unsafe_code)]
pub unsafe trait PhysAccess {
    /// A pointer to the byte at `phys`. Valid for the whole 4 KiB frame that
    /// contains `phys`.
    fn phys_to_ptr(&self, phys: PhysAddr) -> *mut u8;
}

/// A bitmap allocator over physical frames: one bit per frame, set when free.
///
/// A bitmap (rather than a free list threaded through the frames) costs one bit
/// per frame, needs no access to the frames themselves, and can find runs of
/// contiguous frames for device buffers. The search resumes where the last one
/// ended, so a sequence of allocations is linear overall.
pub struct BitmapFrameAllocator {
    free_bits: &'static mut [u64],
    free_frames: usize,
    total_frames: usize,
    next_word: usize,
}

impl BitmapFrameAllocator {
    /// An allocator whose free frames are the pages of `usable`. Frames beyond
    /// what `free_bits` can describe (64 per word) are left out.
    pub fn new(free_bits: &'static mut [u64], usable: &[crate::phys_ranges::PhysRange]) -> Self {
        free_bits.fill(0);
        let capacity = free_bits.len() as u64 * 64;
        let mut allocator = BitmapFrameAllocator {
            free_bits,
            free_frames: 0,
            total_frames: 0,
            next_word: 0,
        };
        for range in usable {
            let first = range.start.div_ceil(PAGE_SIZE);
            let end = (range.end / PAGE_SIZE).min(capacity);
            for frame in first..end {
                allocator.set_free(frame as usize);
            }
        }
        allocator.total_frames = allocator.free_frames;
        allocator
    }

    /// Frames currently free.
    pub fn free_count(&self) -> usize {
        self.free_frames
    }

    /// Frames this allocator manages, free or not.
    pub fn total_count(&self) -> usize {
        self.total_frames
    }

    /// `count` physically contiguous free frames, or `None` if no run is long
    /// enough.
    pub fn alloc_contiguous(&mut self, count: usize) -> Option<PhysAddr> {
        if count == 0 || count > self.free_frames {
            return None;
        }
        // Whole words are skipped (all used) or taken (all free) at once, so
        // the scan costs a word per 64 frames, not a step per frame.
        let mut run_start = 0;
        let mut run_len = 0;
        for (word_index, &word) in self.free_bits.iter().enumerate() {
            let first_frame = word_index * 64;
            if word == 0 {
                run_len = 0;
                continue;
            }
            if word == u64::MAX && run_len + 64 < count {
                if run_len == 0 {
                    run_start = first_frame;
                }
                run_len += 64;
                continue;
            }
            for bit in 0..64 {
                if word & (1 << bit) == 0 {
                    run_len = 0;
                    continue;
                }
                if run_len == 0 {
                    run_start = first_frame + bit;
                }
                run_len += 1;
                if run_len == count {
                    for taken in run_start..run_start + count {
                        self.set_used(taken);
                    }
                    return Some(frame_address(run_start));
                }
            }
        }
        None
    }

    /// Returns `count` contiguous frames starting at `start`.
    ///
    /// # Panics
    /// If one of them is already free: a double free is a kernel bug that would
    /// otherwise hand the same frame out twice.
    pub fn free_contiguous(&mut self, start: PhysAddr, count: usize) {
        let first = frame_index(start);
        for frame in first..first + count {
            assert!(
                !self.is_free(frame),
                "frame {:#x} freed twice",
                frame as u64 * PAGE_SIZE
            );
            self.set_free(frame);
        }
        self.next_word = self.next_word.min(first / 64);
    }

    fn is_free(&self, frame: usize) -> bool {
        self.free_bits[frame / 64] & (1 << (frame % 64)) != 0
    }

    fn set_free(&mut self, frame: usize) {
        self.free_bits[frame / 64] |= 1 << (frame % 64);
        self.free_frames += 1;
    }

    fn set_used(&mut self, frame: usize) {
        self.free_bits[frame / 64] &= !(1 << (frame % 64));
        self.free_frames -= 1;
    }
}

// SAFETY: a frame's bit is cleared when it is handed out and set again only
// by `free_frame`, so no frame is handed out twice; the kernel pairs the
// allocator with the direct map, which reaches all of physical memory.
#[allow(unsafe_code)]
unsafe impl FrameAlloc for BitmapFrameAllocator {
    fn alloc_frame(&mut self) -> Option<PhysAddr> {
        let words = self.free_bits.len();
        let word = (self.next_word..words)
            .chain(0..self.next_word)
            .find(|&w| self.free_bits[w] != 0)?;
        self.next_word = word;
        let frame = word * 64 + self.free_bits[word].trailing_zeros() as usize;
        self.set_used(frame);
        Some(frame_address(frame))
    }

    fn free_frame(&mut self, frame: PhysAddr) {
        self.free_contiguous(frame, 1);
    }
}

fn frame_address(frame: usize) -> PhysAddr {
    PhysAddr::new(frame as u64 * PAGE_SIZE)
}

fn frame_index(addr: PhysAddr) -> usize {
    debug_assert!(
        addr.is_aligned(PAGE_SIZE),
        "{addr:?} is not a frame address"
    );
    (addr.as_u64() / PAGE_SIZE) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phys_ranges::PhysRange;
    use alloc::boxed::Box;
    use alloc::collections::BTreeSet;
    use alloc::vec;

    fn allocator(usable: &[PhysRange], words: usize) -> BitmapFrameAllocator {
        BitmapFrameAllocator::new(Box::leak(vec![0u64; words].into_boxed_slice()), usable)
    }

    #[test]
    fn hands_out_only_usable_frames_each_once_then_none() {
        let usable = [
            PhysRange::new(0x1000, 0x5000),
            PhysRange::new(0x10_0000, 0x10_3000),
        ];
        let mut frames = allocator(&usable, 8);
        assert_eq!(frames.total_count(), 7);
        let mut seen = BTreeSet::new();
        while let Some(frame) = frames.alloc_frame() {
            assert!(seen.insert(frame.as_u64()), "{frame:?} handed out twice");
        }
        let expected: BTreeSet<u64> = [
            0x1000, 0x2000, 0x3000, 0x4000, 0x10_0000, 0x10_1000, 0x10_2000,
        ]
        .into_iter()
        .collect();
        assert_eq!(seen, expected);
        assert_eq!(frames.free_count(), 0);
        assert_eq!(frames.alloc_frame(), None);
    }

    #[test]
    fn freed_frame_round_trips() {
        let mut frames = allocator(&[PhysRange::new(0, 0x4000)], 1);
        let a = frames.alloc_frame().unwrap();
        let b = frames.alloc_frame().unwrap();
        assert_ne!(a, b);
        frames.free_frame(a);
        assert_eq!(frames.free_count(), 3);
        let mut again = BTreeSet::new();
        while let Some(frame) = frames.alloc_frame() {
            again.insert(frame.as_u64());
        }
        assert!(again.contains(&a.as_u64()));
        assert!(!again.contains(&b.as_u64()));
    }

    #[test]
    #[should_panic(expected = "freed twice")]
    fn double_free_is_caught() {
        let mut frames = allocator(&[PhysRange::new(0, 0x4000)], 1);
        let a = frames.alloc_frame().unwrap();
        frames.free_frame(a);
        frames.free_frame(a);
    }

    #[test]
    fn contiguous_run_skips_holes() {
        let usable = [PhysRange::new(0, 0x2000), PhysRange::new(0x3000, 0x8000)];
        let mut frames = allocator(&usable, 1);
        assert_eq!(frames.alloc_contiguous(4), Some(PhysAddr::new(0x3000)));
        assert_eq!(frames.alloc_contiguous(2), Some(PhysAddr::new(0)));
        assert_eq!(frames.alloc_contiguous(2), None);
        assert_eq!(frames.free_count(), 1);
        frames.free_contiguous(PhysAddr::new(0x3000), 4);
        assert_eq!(frames.alloc_contiguous(5), Some(PhysAddr::new(0x3000)));
    }

    #[test]
    fn contiguous_runs_cross_word_boundaries() {
        // Frames 60..200 free: runs that start mid-word and span whole words.
        let mut frames = allocator(&[PhysRange::new(60 * 4096, 200 * 4096)], 4);
        assert_eq!(frames.alloc_contiguous(70), Some(PhysAddr::new(60 * 4096)));
        assert_eq!(frames.alloc_contiguous(70), Some(PhysAddr::new(130 * 4096)));
        assert_eq!(frames.alloc_contiguous(1), None);
        frames.free_contiguous(PhysAddr::new(60 * 4096), 140);
        assert_eq!(frames.alloc_contiguous(140), Some(PhysAddr::new(60 * 4096)));
    }

    #[test]
    fn frames_beyond_the_bitmap_are_left_out() {
        let mut frames = allocator(&[PhysRange::new(0, 0x100_0000)], 2);
        assert_eq!(frames.total_count(), 128);
        assert_eq!(frames.alloc_contiguous(129), None);
    }
}

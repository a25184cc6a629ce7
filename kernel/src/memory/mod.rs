//! Physical memory and the kernel's own address space.
//!
//! Lock order, outermost first: kernel page table → heap → frame allocator.
//! The frame allocator never allocates from the heap, and no interrupt
//! handler allocates, so none of these locks is taken re-entrantly.

pub mod frames;
pub mod heap;
pub mod kernel_space;
pub mod machine;
pub mod stack;

use arch::boot::BootInfo;
use arch::layout::DIRECT_MAP_BASE;
use mm::phys_ranges::{E820Entry, PhysRange, RangeSet, ram_total, usable_ranges};
use x86_64::{PhysAddr, VirtAddr};

/// Enough for QEMU's e820 maps and the kernel's reservations.
const MAX_RANGES: usize = 64;
/// Physical memory below this stays with the firmware and the boot structures.
const LOW_MEMORY_END: u64 = 1 << 20;

#[allow(unsafe_code)]
unsafe extern "C" {
    static __image_physical_start: u8;
    static __image_physical_end: u8;
}

/// The virtual address of physical address `phys` in the direct map.
pub fn phys_to_virt(phys: PhysAddr) -> VirtAddr {
    VirtAddr::new(DIRECT_MAP_BASE + phys.as_u64())
}

/// Memory figures for the banner.
pub struct MemoryStats {
    pub ram_bytes: u64,
    pub usable_bytes: u64,
    pub free_frames: usize,
    pub heap_bytes: usize,
}

static RAM_BYTES: spin::Once<(u64, u64)> = spin::Once::new();

pub fn stats() -> MemoryStats {
    let (ram_bytes, usable_bytes) = *RAM_BYTES.get().expect("memory initialised");
    MemoryStats {
        ram_bytes,
        usable_bytes,
        free_frames: frames::free_count(),
        heap_bytes: heap::size(),
    }
}

/// Brings up the frame allocator, the kernel page tables and the heap.
pub fn init(boot: &BootInfo) {
    let map: RangeSet<MAX_RANGES> = {
        let mut entries = [E820Entry {
            addr: 0,
            size: 0,
            kind: 0,
        }; MAX_RANGES];
        let firmware = boot.memory_map();
        assert!(!firmware.is_empty(), "the boot loader passed no memory map");
        for (slot, entry) in entries.iter_mut().zip(firmware) {
            *slot = E820Entry {
                addr: entry.addr,
                size: entry.size,
                kind: entry.kind,
            };
            log::debug!(
                "e820: {:#012x}..{:#012x} type {}",
                entry.addr,
                entry.addr + entry.size,
                entry.kind
            );
        }
        let entries = &entries[..firmware.len().min(MAX_RANGES)];
        let reserved = reserved_ranges(boot);
        let usable = usable_ranges::<MAX_RANGES>(entries, reserved.as_slice())
            .expect("memory map too fragmented");
        let ram = ram_total::<MAX_RANGES>(entries).expect("memory map too fragmented");
        RAM_BYTES.call_once(|| (ram, usable.total()));
        usable
    };
    frames::init(map.as_slice());
    let physical_top = map.as_slice().last().map_or(0, |range| range.end);
    kernel_space::init(physical_top);
    heap::init();
}

/// What the frame allocator must never hand out: low memory, the kernel
/// image, and everything the boot loader passed.
fn reserved_ranges(boot: &BootInfo) -> RangeSet<MAX_RANGES> {
    let mut reserved = RangeSet::new();
    let mut reserve = |(start, len): (u64, u64)| {
        reserved
            .insert(PhysRange::new(start, start + len))
            .expect("too many reserved ranges");
    };
    reserve((0, LOW_MEMORY_END));
    let image_start = &raw const __image_physical_start as u64;
    let image_end = &raw const __image_physical_end as u64;
    reserve((image_start, image_end - image_start));
    reserve(boot.start_info_range());
    reserve(boot.memory_map_range());
    reserve(boot.command_line_range());
    for module in boot.modules() {
        reserve((module.paddr, module.size));
    }
    reserved
}

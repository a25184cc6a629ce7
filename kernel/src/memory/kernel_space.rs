//! The kernel half of the address space: the direct map of all physical
//! memory (2 MiB pages), the kernel image mapped W^X, and the kernel stacks.
//!
//! The boot code's tables map 4 GiB with everything writable and executable;
//! these replace them. Kernel mappings made later (stacks) go through
//! [`map_page`].
// The kernel's own page tables: building them, switching to them, and the
// linker symbols of the image's sections.
#![allow(unsafe_code)]

use super::frames::{GlobalFrames, alloc_zeroed_frame};
use super::phys_to_virt;
use arch::layout::{DIRECT_MAP_BASE, KERNEL_IMAGE_BASE};
use spin::{Mutex, Once};
use x86_64::structures::paging::mapper::MapToError;
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size2MiB,
    Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
}

const TABLE_FLAGS: Flags = Flags::PRESENT.union(Flags::WRITABLE);
const HUGE_PAGE: u64 = 2 << 20;

static KERNEL_TABLE: Once<Mutex<OffsetPageTable<'static>>> = Once::new();

/// Builds the kernel page tables and switches to them.
pub fn init(physical_top: u64) {
    let root = alloc_zeroed_frame().expect("no memory for the kernel page tables");
    // SAFETY: a zeroed frame we own, reached through the direct map, which the
    // boot tables and the new tables both provide at the same offset.
    let mut table = unsafe {
        OffsetPageTable::new(
            &mut *phys_to_virt(root).as_mut_ptr::<PageTable>(),
            VirtAddr::new(DIRECT_MAP_BASE),
        )
    };
    let direct_map_end = physical_top
        .max(arch::layout::BOOT_MAPPED_BYTES)
        .next_multiple_of(1 << 30);
    let direct = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    for phys in (0..direct_map_end).step_by(HUGE_PAGE as usize) {
        let page = Page::<Size2MiB>::containing_address(VirtAddr::new(DIRECT_MAP_BASE + phys));
        let frame = PhysFrame::<Size2MiB>::containing_address(PhysAddr::new(phys));
        // SAFETY: the direct map aliases physical memory only in the kernel half.
        let mapped = unsafe {
            table.map_to_with_table_flags(page, frame, direct, TABLE_FLAGS, &mut GlobalFrames)
        };
        mapped.expect("no memory for the direct map").ignore();
    }
    let text = Flags::PRESENT | Flags::GLOBAL;
    let rodata = text | Flags::NO_EXECUTE;
    let data = rodata | Flags::WRITABLE;
    let sections = [
        (&raw const __text_start, &raw const __text_end, text),
        (&raw const __rodata_start, &raw const __rodata_end, rodata),
        (&raw const __data_start, &raw const __data_end, data),
    ];
    for (start, end, flags) in sections {
        for virt in (start as u64..end as u64).step_by(4096) {
            let phys = PhysAddr::new(virt - KERNEL_IMAGE_BASE);
            map_4k(&mut table, VirtAddr::new(virt), phys, flags).expect("no memory for the image");
        }
    }
    log::debug!(
        "direct map 0..{direct_map_end:#x}, image {:#x}..{:#x}",
        &raw const __text_start as u64,
        &raw const __data_end as u64
    );
    // SAFETY: the new tables map the image, the boot stack (in .bss) and the
    // direct map exactly where the boot tables did; only the identity map of
    // low memory goes, and nothing uses it past this point.
    unsafe { arch::paging::switch_table_root(root) };
    arch::paging::enable_global_pages();
    KERNEL_TABLE.call_once(|| Mutex::new(table));
}

/// A new top-level page table for a user address space: an empty user half
/// and the kernel half shared with every other address space.
///
/// The kernel half is copied as PML4 entries, so kernel mappings made later
/// appear everywhere only if their PML4 slot already existed; the kernel uses
/// the slots it creates at boot (direct map, stacks, image) and no others.
pub fn new_user_root() -> Option<PhysAddr> {
    let root = alloc_zeroed_frame()?;
    let table = KERNEL_TABLE.get().expect("kernel tables built").lock();
    // SAFETY: a zeroed frame we own, reached through the direct map.
    let user_root = unsafe { &mut *phys_to_virt(root).as_mut_ptr::<PageTable>() };
    for slot in 256..512 {
        user_root[slot] = table.level_4_table()[slot].clone();
    }
    Some(root)
}

/// The kernel's own top-level page table (no user half).
pub fn kernel_root() -> PhysAddr {
    let table = KERNEL_TABLE.get().expect("kernel tables built").lock();
    PhysAddr::new(table.level_4_table() as *const PageTable as u64 - DIRECT_MAP_BASE)
}

/// Whether `addr` is in the image's writable data (which holds the boot stack).
pub fn image_data_contains(addr: u64) -> bool {
    (&raw const __data_start as u64..&raw const __data_end as u64).contains(&addr)
}

fn map_4k(
    table: &mut OffsetPageTable<'static>,
    virt: VirtAddr,
    phys: PhysAddr,
    flags: Flags,
) -> Result<(), MapToError<Size4KiB>> {
    let page = Page::<Size4KiB>::containing_address(virt);
    let frame = PhysFrame::containing_address(phys);
    // SAFETY: callers map frames they own at kernel addresses nothing else uses.
    unsafe { table.map_to_with_table_flags(page, frame, flags, TABLE_FLAGS, &mut GlobalFrames) }
        .map(|flush| flush.flush())
}

/// Maps the 4 KiB frame `phys` at the kernel address `virt`, read/write, no execute.
pub fn map_page(virt: VirtAddr, phys: PhysAddr) -> Result<(), MapToError<Size4KiB>> {
    let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    let mut table = KERNEL_TABLE.get().expect("kernel tables built").lock();
    map_4k(&mut table, virt, phys, flags)
}

/// Removes the kernel mapping at `virt` and returns its frame.
pub fn unmap_page(virt: VirtAddr) -> Option<PhysAddr> {
    let mut table = KERNEL_TABLE.get().expect("kernel tables built").lock();
    let (frame, flush) = table
        .unmap(Page::<Size4KiB>::containing_address(virt))
        .ok()?;
    flush.flush();
    Some(frame.start_address())
}

crate::kernel_test!(fresh_page_is_visible_through_the_direct_map, {
    let frame = super::frames::alloc_zeroed_frame().expect("a free frame");
    let virt = VirtAddr::new(arch::layout::KERNEL_STACKS_BASE + (255 << 30));
    map_page(virt, frame).expect("mapping a page");
    let mapped = virt.as_mut_ptr::<u64>();
    let direct = phys_to_virt(frame).as_ptr::<u64>();
    for i in 0..512 {
        // SAFETY: both pointers reach the frame just mapped, which we own.
        unsafe { mapped.add(i).write_volatile(0x5a5a_0000_0000 + i as u64) };
    }
    for i in 0..512 {
        // SAFETY: as above.
        let read = unsafe { direct.add(i).read_volatile() };
        assert_eq!(read, 0x5a5a_0000_0000 + i as u64);
    }
    assert_eq!(unmap_page(virt), Some(frame));
    super::frames::free_frame(frame);
});

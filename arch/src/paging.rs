//! Control registers and the TLB.

use x86_64::registers::control::{Cr0, Cr0Flags, Cr3, Cr4, Cr4Flags};
use x86_64::structures::paging::PhysFrame;
use x86_64::{PhysAddr, VirtAddr};

/// Physical address of the active top-level page table.
pub fn active_table_root() -> PhysAddr {
    Cr3::read().0.start_address()
}

/// Switches to the page tables rooted at `root`.
///
/// # Safety
/// The tables must map the running code, its stack and every kernel object in
/// use, exactly as the current tables do.
pub unsafe fn switch_table_root(root: PhysAddr) {
    let (_, flags) = Cr3::read();
    // SAFETY: forwarded to the caller.
    unsafe { Cr3::write(PhysFrame::containing_address(root), flags) };
}

/// Invalidates the TLB entry for the page containing `addr`.
pub fn invalidate_page(addr: VirtAddr) {
    x86_64::instructions::tlb::flush(addr);
}

/// Invalidates all non-global TLB entries.
pub fn invalidate_all_non_global() {
    x86_64::instructions::tlb::flush_all();
}

/// Turns on global pages (kernel entries survive CR3 switches) and checks that
/// the boot code left write protection on.
pub fn enable_global_pages() {
    assert!(Cr0::read().contains(Cr0Flags::WRITE_PROTECT));
    // SAFETY: PGE only changes TLB retention; the tables mark only kernel pages global.
    unsafe { Cr4::update(|flags| flags.insert(Cr4Flags::PAGE_GLOBAL)) };
}

//! The GDT and the TSS.
//!
//! Selector layout, fixed by `syscall`/`sysret` (STAR): kernel code 0x08,
//! kernel data 0x10, user data 0x18, user code 0x20, then the TSS.

use core::cell::UnsafeCell;
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, FS, GS, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slots (1-based in the IDT, 0-based in the TSS array).
pub const DOUBLE_FAULT_IST: u16 = 1;
pub const NMI_IST: u16 = 2;
pub const MACHINE_CHECK_IST: u16 = 3;

pub const KERNEL_CODE: SegmentSelector = SegmentSelector(0x08);
pub const KERNEL_DATA: SegmentSelector = SegmentSelector(0x10);
pub const USER_DATA: SegmentSelector = SegmentSelector(0x18 | 3);
pub const USER_CODE: SegmentSelector = SegmentSelector(0x20 | 3);

/// The TSS, written only at init and by [`set_kernel_entry_stack`].
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: one CPU; the TSS is written with interrupts disabled and read by the
// CPU only on privilege changes and IST switches.
unsafe impl Sync for TssCell {}

static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
static GDT: Once<GlobalDescriptorTable<8>> = Once::new();

/// Tops of the interrupt stacks for #DF, NMI and #MC: separate known-good
/// stacks, so that a fault caused by a kernel stack overflow can still report.
pub struct InterruptStacks {
    pub double_fault: VirtAddr,
    pub nmi: VirtAddr,
    pub machine_check: VirtAddr,
}

/// Loads the GDT, reloads every segment register and loads the TSS.
pub fn init(stacks: InterruptStacks) {
    crate::cpu::without_interrupts(|| {
        // SAFETY: interrupts are off and the TSS is not yet loaded.
        let tss = unsafe { &mut *TSS.0.get() };
        tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST - 1)] = stacks.double_fault;
        tss.interrupt_stack_table[usize::from(NMI_IST - 1)] = stacks.nmi;
        tss.interrupt_stack_table[usize::from(MACHINE_CHECK_IST - 1)] = stacks.machine_check;
    });
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        assert_eq!(gdt.append(Descriptor::kernel_code_segment()), KERNEL_CODE);
        assert_eq!(gdt.append(Descriptor::kernel_data_segment()), KERNEL_DATA);
        assert_eq!(gdt.append(Descriptor::user_data_segment()), USER_DATA);
        assert_eq!(gdt.append(Descriptor::user_code_segment()), USER_CODE);
        // SAFETY: the TSS is a static that lives forever.
        gdt.append(Descriptor::tss_segment(unsafe { &*TSS.0.get() }));
        gdt
    });
    gdt.load();
    let tss_selector = SegmentSelector::new(5, x86_64::PrivilegeLevel::Ring0);
    // SAFETY: the selectors name the descriptors just loaded.
    unsafe {
        CS::set_reg(KERNEL_CODE);
        for load in [DS::set_reg, ES::set_reg, SS::set_reg] {
            load(KERNEL_DATA);
        }
        FS::set_reg(SegmentSelector(0));
        GS::set_reg(SegmentSelector(0));
        load_tss(tss_selector);
    }
}

/// Sets the stack the CPU switches to when an interrupt arrives in ring 3.
pub fn set_kernel_entry_stack(top: VirtAddr) {
    crate::cpu::without_interrupts(|| {
        // SAFETY: interrupts are off; the CPU reads RSP0 only on a ring change.
        unsafe { (*TSS.0.get()).privilege_stack_table[0] = top };
    });
}

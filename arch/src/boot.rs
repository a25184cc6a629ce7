//! PVH boot: the ELF note QEMU looks for, the 32-bit entry that switches to
//! long mode, and the `hvm_start_info` structure it hands over.
//!
//! QEMU loads the ELF segments at their physical addresses and jumps to the
//! address in the `XEN_ELFNOTE_PHYS32_ENTRY` note in 32-bit protected mode with
//! paging off and `ebx` holding the physical address of `hvm_start_info`. The
//! entry code lives in `.boot.*` sections linked at their physical addresses, so
//! it runs before any mapping exists. It maps the first 4 GiB three times with
//! 2 MiB pages — identity (for itself), at the direct-map base, and the first
//! GiB at the kernel image base — turns on long mode with NX and write
//! protection, and calls the kernel in the higher half.

use crate::layout::{BOOT_MAPPED_BYTES, DIRECT_MAP_BASE};
use core::arch::global_asm;

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 4
    .long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long pvh_start

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pds:       .skip 4096 * 4
boot_tables_end:

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .boot.text, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    mov %ebx, %esi                  /* keep hvm_start_info across the switch */

    /* zero the boot page tables */
    mov $boot_pml4, %edi
    mov $((boot_tables_end - boot_pml4) / 4), %ecx
    xor %eax, %eax
    rep stosl

    /* four page directories of 2 MiB pages covering 0..4 GiB */
    mov $boot_pds, %edi
    mov $0x83, %eax                 /* present, writable, huge */
    xor %edx, %edx
    mov $2048, %ecx
1:  mov %eax, (%edi)
    mov %edx, 4(%edi)
    add $0x200000, %eax
    adc $0, %edx
    add $8, %edi
    loop 1b

    /* low PDPT: four entries, one per page directory */
    mov $boot_pdpt_low, %edi
    mov $(boot_pds + 3), %eax
    mov $4, %ecx
2:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 2b

    /* high PDPT slot 510 (-2 GiB): the first GiB, where the image is */
    mov $(boot_pds + 3), %eax
    mov %eax, (boot_pdpt_high + 510 * 8)

    /* PML4: identity (0), direct map (256), kernel image (511) */
    mov $(boot_pdpt_low + 3), %eax
    mov %eax, (boot_pml4)
    mov %eax, (boot_pml4 + 256 * 8)
    mov $(boot_pdpt_high + 3), %eax
    mov %eax, (boot_pml4 + 511 * 8)

    mov %cr4, %eax
    or $(1 << 5), %eax              /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx           /* EFER */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | (1 << 16)), %eax /* PG, WP */
    mov %eax, %cr0

    lgdt (boot_gdt_pointer)
    ljmp $0x08, $long_mode_low

    .code64
long_mode_low:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    movabs $long_mode_high, %rax
    jmp *%rax

    .section .text.boot64, "ax"
long_mode_high:
    movabs $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi                  /* zero-extends hvm_start_info into rdi */
    call arch_boot_entry
    ud2

    .section .bss.boot_stack, "aw", @nobits
    .balign 16
boot_stack_bottom:
    .skip 64 * 1024
boot_stack_top:
    "#,
    options(att_syntax)
);

const _: () = assert!(BOOT_MAPPED_BYTES == 4 << 30 && DIRECT_MAP_BASE >> 39 & 511 == 256);

const HVM_START_MAGIC: u32 = 0x336e_c578;

/// What the boot code learned, handed to the kernel's entry function.
#[derive(Clone, Copy)]
pub struct BootInfo {
    start_info: &'static HvmStartInfo,
}

/// `struct hvm_start_info` (xen/include/public/arch-x86/hvm/start_info.h).
#[repr(C)]
struct HvmStartInfo {
    magic: u32,
    version: u32,
    flags: u32,
    nr_modules: u32,
    modlist_paddr: u64,
    cmdline_paddr: u64,
    rsdp_paddr: u64,
    memmap_paddr: u64,
    memmap_entries: u32,
    reserved: u32,
}

/// `struct hvm_memmap_table_entry`: one e820 entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MemoryMapEntry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
    reserved: u32,
}

/// `struct hvm_modlist_entry`: one module (`-initrd` file).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Module {
    pub paddr: u64,
    pub size: u64,
    pub cmdline_paddr: u64,
    reserved: u64,
}

/// A physical address as a pointer through the boot direct map.
///
/// # Safety
/// `phys .. phys + size_of::<T>()` must lie below [`BOOT_MAPPED_BYTES`] and hold
/// a valid, properly aligned `T` that nothing mutates for the kernel's lifetime.
unsafe fn phys_ref<T>(phys: u64) -> &'static T {
    debug_assert!(phys + (size_of::<T>() as u64) <= BOOT_MAPPED_BYTES);
    // SAFETY: the caller guarantees the object; the direct map covers it.
    unsafe { &*((DIRECT_MAP_BASE + phys) as *const T) }
}

/// # Safety
/// As [`phys_ref`], for `len` consecutive objects.
unsafe fn phys_slice<T>(phys: u64, len: usize) -> &'static [T] {
    debug_assert!(phys + (size_of::<T>() * len) as u64 <= BOOT_MAPPED_BYTES);
    // SAFETY: the caller guarantees the objects; the direct map covers them.
    unsafe { core::slice::from_raw_parts((DIRECT_MAP_BASE + phys) as *const T, len) }
}

impl BootInfo {
    /// Physical address and size of the `hvm_start_info` page itself.
    pub fn start_info_range(&self) -> (u64, u64) {
        let virt = self.start_info as *const HvmStartInfo as u64;
        (virt - DIRECT_MAP_BASE, size_of::<HvmStartInfo>() as u64)
    }

    /// The e820 map QEMU passed (empty if the structure predates version 1).
    pub fn memory_map(&self) -> &'static [MemoryMapEntry] {
        let info = self.start_info;
        if info.version < 1 || info.memmap_paddr == 0 {
            return &[];
        }
        // SAFETY: QEMU's start info points at `memmap_entries` entries in low memory,
        // which the kernel reserves and never writes.
        unsafe { phys_slice(info.memmap_paddr, info.memmap_entries as usize) }
    }

    /// Physical range of the memory map table, to keep it out of the allocator.
    pub fn memory_map_range(&self) -> (u64, u64) {
        let bytes = size_of_val(self.memory_map()) as u64;
        (self.start_info.memmap_paddr, bytes)
    }

    /// The kernel command line (QEMU `-append`), without its NUL.
    pub fn command_line(&self) -> &'static [u8] {
        let paddr = self.start_info.cmdline_paddr;
        if paddr == 0 {
            return &[];
        }
        let limit = (BOOT_MAPPED_BYTES - paddr).min(4096) as usize;
        // SAFETY: a NUL-terminated string in reserved low memory; the length is
        // found by scanning for the NUL within the boot mapping.
        let bytes: &[u8] = unsafe { phys_slice(paddr, limit) };
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(limit);
        &bytes[..len]
    }

    /// Physical range of the command line (including its NUL).
    pub fn command_line_range(&self) -> (u64, u64) {
        (
            self.start_info.cmdline_paddr,
            self.command_line().len() as u64 + 1,
        )
    }

    /// The modules (QEMU `-initrd`).
    pub fn modules(&self) -> &'static [Module] {
        let info = self.start_info;
        if info.nr_modules == 0 || info.modlist_paddr == 0 {
            return &[];
        }
        // SAFETY: `nr_modules` entries at `modlist_paddr`, reserved by the kernel.
        unsafe { phys_slice(info.modlist_paddr, info.nr_modules as usize) }
    }
}

/// Called by the boot code on the boot stack with the higher half mapped.
#[unsafe(no_mangle)]
extern "C" fn arch_boot_entry(start_info_phys: u64) -> ! {
    crate::serial::init();
    assert!(
        start_info_phys != 0 && start_info_phys < BOOT_MAPPED_BYTES,
        "no hvm_start_info: boot this kernel through PVH (qemu -kernel)"
    );
    // SAFETY: PVH hands over a valid hvm_start_info in low memory; checked by magic.
    let start_info: &'static HvmStartInfo = unsafe { phys_ref(start_info_phys) };
    assert_eq!(
        start_info.magic, HVM_START_MAGIC,
        "bad hvm_start_info magic"
    );
    unsafe extern "Rust" {
        /// The kernel's entry point, defined with [`entry_point!`].
        safe fn __kernel_entry(boot: BootInfo) -> !;
    }
    __kernel_entry(BootInfo { start_info })
}

/// Declares the kernel's entry function, `fn(BootInfo) -> !`, called once on
/// the boot stack after the switch to long mode.
#[macro_export]
macro_rules! entry_point {
    ($path:path) => {
        #[unsafe(export_name = "__kernel_entry")]
        fn __kernel_entry(boot: $crate::boot::BootInfo) -> ! {
            let entry: fn($crate::boot::BootInfo) -> ! = $path;
            entry(boot)
        }
    };
}

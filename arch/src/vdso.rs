//! The vDSO: one page of code the kernel maps into every process and names in
//! the auxiliary vector (`AT_SYSINFO_EHDR`), so that `clock_gettime` reads
//! the TSC in user mode instead of making a system call, as on Linux.
//!
//! The page is a minimal ELF shared object, enough for musl's `__vdsosym`
//! (and any reader of `DT_HASH`): a `PT_LOAD` covering the page, a
//! `PT_DYNAMIC`, a one-bucket hash table, and one symbol,
//! `__vdso_clock_gettime`. It ends with [`ClockData`], which the kernel fills
//! in each process's copy. The function handles the clocks the system call
//! computes from the TSC with exactly its arithmetic, and returns `-ENOSYS`
//! for any other clock, on which musl makes the system call.

use core::arch::global_asm;
use core::mem::offset_of;

/// Size of the image: one page.
pub const SIZE: usize = 4096;

/// Where [`ClockData`] sits in the image.
pub const DATA_OFFSET: usize = 0xf00;

/// Fraction bits of [`ClockData::ns_per_cycle`] (16.48 fixed point).
pub const NS_PER_CYCLE_FRACTION_BITS: u32 = 48;

/// The clock's parameters, fixed at boot: nanoseconds since calibration are
/// `((tsc - tsc_at_boot) * ns_per_cycle) >> 48`, and the wall clock adds
/// `realtime_at_boot_ns`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ClockData {
    pub tsc_at_boot: u64,
    pub ns_per_cycle: u64,
    pub realtime_at_boot_ns: u64,
}

/// The image with `data` in place, to be copied into a process.
pub fn image(data: &ClockData) -> [u8; SIZE] {
    // SAFETY: the symbol names the SIZE bytes of read-only data laid out by
    // the `global_asm!` below, never written.
    let mut image = unsafe { MSYNC_KERNEL_VDSO_IMAGE };
    let fields = [
        (offset_of!(ClockData, tsc_at_boot), data.tsc_at_boot),
        (offset_of!(ClockData, ns_per_cycle), data.ns_per_cycle),
        (
            offset_of!(ClockData, realtime_at_boot_ns),
            data.realtime_at_boot_ns,
        ),
    ];
    for (offset, value) in fields {
        let at = DATA_OFFSET + offset;
        image[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    image
}

unsafe extern "C" {
    static MSYNC_KERNEL_VDSO_IMAGE: [u8; SIZE];
}

// CLOCK_REALTIME (0) and CLOCK_REALTIME_COARSE (5); CLOCK_MONOTONIC (1),
// CLOCK_MONOTONIC_RAW (4), CLOCK_MONOTONIC_COARSE (6) and CLOCK_BOOTTIME (7):
// the clocks the system call reads from the TSC.
global_asm!(
    ".pushsection .rodata.msync_kernel_vdso, \"a\"",
    ".balign 64",
    ".globl MSYNC_KERNEL_VDSO_IMAGE",
    "MSYNC_KERNEL_VDSO_IMAGE:",
    ".Lvdso_ehdr:",
    // e_ident: ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV.
    ".byte 0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0",
    ".byte 0, 0, 0, 0, 0, 0, 0, 0",
    ".short 3",  // e_type: ET_DYN
    ".short 62", // e_machine: EM_X86_64
    ".long 1",   // e_version
    ".quad 0",   // e_entry
    ".quad .Lvdso_phdrs - .Lvdso_ehdr", // e_phoff
    ".quad 0",   // e_shoff: no section headers
    ".long 0",   // e_flags
    ".short 64", // e_ehsize
    ".short 56", // e_phentsize
    ".short 2",  // e_phnum
    ".short 64", // e_shentsize
    ".short 0",  // e_shnum
    ".short 0",  // e_shstrndx
    ".Lvdso_phdrs:",
    // PT_LOAD, readable and executable: the whole page at address 0.
    ".long 1, 5",
    ".quad 0, 0, 0",
    ".quad {size}, {size}",
    ".quad 4096",
    // PT_DYNAMIC, readable.
    ".long 2, 4",
    ".quad .Lvdso_dynamic - .Lvdso_ehdr",
    ".quad .Lvdso_dynamic - .Lvdso_ehdr",
    ".quad .Lvdso_dynamic - .Lvdso_ehdr",
    ".quad .Lvdso_dynamic_end - .Lvdso_dynamic",
    ".quad .Lvdso_dynamic_end - .Lvdso_dynamic",
    ".quad 8",
    ".Lvdso_dynamic:",
    ".quad 4, .Lvdso_hash - .Lvdso_ehdr",     // DT_HASH
    ".quad 5, .Lvdso_dynstr - .Lvdso_ehdr",   // DT_STRTAB
    ".quad 6, .Lvdso_dynsym - .Lvdso_ehdr",   // DT_SYMTAB
    ".quad 10, .Lvdso_dynstr_end - .Lvdso_dynstr", // DT_STRSZ
    ".quad 11, 24",                           // DT_SYMENT
    ".quad 14, .Lvdso_soname - .Lvdso_dynstr", // DT_SONAME
    ".quad 0, 0",                             // DT_NULL
    ".Lvdso_dynamic_end:",
    // One bucket holding the chain 1 -> end: any name hashes to it.
    ".Lvdso_hash:",
    ".long 1, 2", // nbucket, nchain (= number of symbols)
    ".long 1",    // bucket[0]
    ".long 0, 0", // chain[0], chain[1]
    ".Lvdso_dynsym:",
    ".long 0",
    ".byte 0, 0",
    ".short 0",
    ".quad 0, 0",
    ".long .Lvdso_name - .Lvdso_dynstr", // st_name
    ".byte 0x12",                        // st_info: STB_GLOBAL, STT_FUNC
    ".byte 0",                           // st_other
    ".short 1",                          // st_shndx: defined (not SHN_UNDEF)
    ".quad .Lvdso_clock_gettime - .Lvdso_ehdr",
    ".quad .Lvdso_clock_gettime_end - .Lvdso_clock_gettime",
    ".Lvdso_dynstr:",
    ".byte 0",
    ".Lvdso_name:",
    ".asciz \"__vdso_clock_gettime\"",
    ".Lvdso_soname:",
    ".asciz \"linux-vdso.so.1\"",
    ".Lvdso_dynstr_end:",
    ".balign 16",
    // int __vdso_clock_gettime(clockid_t clock (edi), struct timespec *ts (rsi))
    ".Lvdso_clock_gettime:",
    "cmp edi, 7",
    "ja 3f",
    "mov eax, 1",
    "mov ecx, edi",
    "shl eax, cl",
    "xor r8d, r8d",
    "test eax, 0xd2", // the monotonic clocks
    "jnz 1f",
    "test eax, 0x21", // the wall clocks
    "jz 3f",
    "mov r8, qword ptr [rip + .Lvdso_ehdr + {data} + {realtime}]",
    "1:",
    "rdtsc",
    "shl rdx, 32",
    "or rax, rdx",
    "sub rax, qword ptr [rip + .Lvdso_ehdr + {data} + {tsc}]",
    "jae 2f",
    "xor eax, eax", // the kernel's saturating_sub
    "2:",
    "mul qword ptr [rip + .Lvdso_ehdr + {data} + {per_cycle}]",
    "shrd rax, rdx, {bits}",
    "add rax, r8",
    "xor edx, edx",
    "mov ecx, 1000000000",
    "div rcx",
    "mov qword ptr [rsi], rax",
    "mov qword ptr [rsi + 8], rdx",
    "xor eax, eax",
    "ret",
    "3:",
    "mov eax, -38", // -ENOSYS: let the caller make the system call
    "ret",
    ".Lvdso_clock_gettime_end:",
    ".org .Lvdso_ehdr + {data}",
    ".quad 0, 0, 0",
    ".org .Lvdso_ehdr + {size}",
    ".popsection",
    size = const SIZE,
    data = const DATA_OFFSET,
    tsc = const offset_of!(ClockData, tsc_at_boot),
    per_cycle = const offset_of!(ClockData, ns_per_cycle),
    realtime = const offset_of!(ClockData, realtime_at_boot_ns),
    bits = const NS_PER_CYCLE_FRACTION_BITS,
);

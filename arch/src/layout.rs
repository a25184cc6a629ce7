//! The kernel's virtual address-space layout. The boot code builds its
//! temporary tables from these numbers, so they live here with it.

/// Where the kernel image is linked: the top 2 GiB, reachable with 32-bit
/// sign-extended addresses (`code-model=kernel`). Must match `kernel/linker.ld`.
pub const KERNEL_IMAGE_BASE: u64 = 0xffff_ffff_8000_0000;

/// Every physical address `p` is mapped at `DIRECT_MAP_BASE + p` (PML4 slot 256).
pub const DIRECT_MAP_BASE: u64 = 0xffff_8000_0000_0000;

/// Kernel stacks, each below an unmapped guard page (PML4 slot 384).
pub const KERNEL_STACKS_BASE: u64 = 0xffff_c000_0000_0000;

/// How much the boot page tables map, both identity and at [`DIRECT_MAP_BASE`].
pub const BOOT_MAPPED_BYTES: u64 = 4 << 30;

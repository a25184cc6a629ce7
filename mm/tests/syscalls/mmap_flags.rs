//! The mmap flags beyond the mapping type and placement: huge pages,
//! MAP_SYNC, MAP_GROWSDOWN stacks, MAP_32BIT, MAP_LOCKED and MAP_POPULATE.
//! Each pins what Linux 6.1 answers on this project's images (mounted by
//! ext4, no huge pages reserved), as probed in QEMU.

use abi::Errno;
use abi::mman::{
    MAP_32BIT, MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_HUGE_SHIFT, MAP_HUGETLB, MAP_LOCKED,
    MAP_NONBLOCK, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_SYNC,
    PROT_GROWSDOWN, PROT_NONE, PROT_READ,
};
use mm::address_space::{
    FaultAccess, FaultResolution, Layout, MMAP_MIN_ADDR, STACK_GUARD_GAP, SegmentationFault,
    populates,
};
use mm::vma::Protection;

use crate::common::{PAGE, Process, RW, rw_file};

const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const GIB: u64 = 1 << 30;
/// A stack's top, far from everything else the tests map.
const STACK_TOP: u64 = 0x10_0000_0000;

fn huge(log2_size: u64) -> u64 {
    MAP_HUGETLB | (log2_size << MAP_HUGE_SHIFT)
}

// Linux ksys_mmap_pgoff: with no huge pages reserved an anonymous MAP_HUGETLB of a size x86_64
// has (default, 2 MiB, 1 GiB) fails in hugetlb_file_setup with ENOMEM; a size it lacks has no
// hstate: EINVAL. A file not on hugetlbfs with MAP_HUGETLB is EINVAL.
#[test]
fn mmap_hugetlb_is_enomem_for_known_sizes_and_einval_otherwise() {
    let mut process = Process::new();
    for size in [0, 21, 30] {
        assert_eq!(
            process.mmap(0, 2 << 20, RW, ANON | huge(size), None, 0),
            Err(Errno::ENOMEM),
            "huge page size 2^{size}"
        );
    }
    assert_eq!(
        process.mmap(0, 2 << 20, RW, ANON | huge(14), None, 0),
        Err(Errno::EINVAL)
    );
    for sharing in [MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE] {
        assert_eq!(
            process.mmap(0, PAGE, RW, sharing | MAP_HUGETLB, Some(rw_file(1)), 0),
            Err(Errno::EINVAL)
        );
    }
    assert!(process.layout().is_empty());
}

// Linux do_mmap sets VM_SYNC from MAP_SYNC before it looks at the type (only MAP_SHARED's
// later LEGACY_MAP_MASK hides the bit from validation), and ext4's mmap refuses VM_SYNC
// without DAX: EOPNOTSUPP for every file mapping, after a MAP_FIXED mapping has unmapped what
// was there. Anonymous memory ignores the flag.
#[test]
fn mmap_sync_is_eopnotsupp_for_files_and_ignored_for_anonymous_memory() {
    let mut process = Process::new();
    let at = 0x40_0000;
    process.map_anonymous(at, 2 * PAGE);
    for sharing in [MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE] {
        assert_eq!(
            process.mmap(0, PAGE, RW, sharing | MAP_SYNC, Some(rw_file(1)), 0),
            Err(Errno::EOPNOTSUPP)
        );
    }
    let fixed = MAP_SHARED | MAP_FIXED | MAP_SYNC;
    assert_eq!(
        process.mmap(at, PAGE, RW, fixed, Some(rw_file(1)), 0),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(process.layout(), vec![(at + PAGE, at + 2 * PAGE)]);
    assert!(process.mmap(0, PAGE, RW, ANON | MAP_SYNC, None, 0).is_ok());
}

// Linux do_mmap: MAP_GROWSDOWN is refused for shared anonymous memory (shmem) and for files
// (ext4 mappings are not stacks): EINVAL, as for MAP_SHARED_VALIDATE | MAP_GROWSDOWN.
#[test]
fn mmap_growsdown_is_einval_except_for_private_anonymous_memory() {
    let mut process = Process::new();
    let shared_anon = MAP_SHARED | MAP_ANONYMOUS | MAP_GROWSDOWN;
    assert_eq!(
        process.mmap(0, PAGE, RW, shared_anon, None, 0),
        Err(Errno::EINVAL)
    );
    for sharing in [MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE] {
        assert_eq!(
            process.mmap(0, PAGE, RW, sharing | MAP_GROWSDOWN, Some(rw_file(1)), 0),
            Err(Errno::EINVAL)
        );
    }
    assert!(process.layout().is_empty());
}

/// A MAP_GROWSDOWN stack of `pages` pages ending at [`STACK_TOP`].
fn stack(process: &mut Process, pages: u64) -> u64 {
    let start = STACK_TOP - pages * PAGE;
    let flags = ANON | MAP_FIXED | MAP_GROWSDOWN;
    assert_eq!(
        process.mmap(start, pages * PAGE, RW, flags, None, 0),
        Ok(start)
    );
    start
}

// Linux expand_downwards: a fault below a VM_GROWSDOWN VMA extends the VMA down to the
// faulting page (not only by one page), and the page is then an ordinary zero-filled one.
#[test]
fn a_fault_below_a_growsdown_vma_extends_it_to_the_page() {
    let mut process = Process::new();
    let start = stack(&mut process, 1);
    let deep = start - 100 * PAGE + 12;
    assert_eq!(
        process.space.resolve_fault(deep, FaultAccess::Write, false),
        Ok(FaultResolution::ZeroFilled {
            page: deep - 12,
            permissions: process.space.find_vma(start).unwrap().page_permissions(),
        })
    );
    assert_eq!(process.layout(), vec![(deep - 12, STACK_TOP)]);
}

// Linux: a VMA without VM_GROWSDOWN does not grow; an address below it is SIGSEGV.
#[test]
fn a_fault_below_an_ordinary_vma_is_a_segmentation_fault() {
    let mut process = Process::new();
    process.map_anonymous(STACK_TOP - PAGE, PAGE);
    assert_eq!(
        process
            .space
            .resolve_fault(STACK_TOP - 2 * PAGE, FaultAccess::Read, false),
        Err(SegmentationFault)
    );
    assert_eq!(process.layout(), vec![(STACK_TOP - PAGE, STACK_TOP)]);
}

// Linux acct_stack_growth: the grown VMA may not exceed RLIMIT_STACK.
#[test]
fn a_growsdown_vma_does_not_grow_beyond_the_stack_limit() {
    let mut process = Process::new();
    stack(&mut process, 1);
    process.space.set_stack_limit(16 * PAGE);
    assert_eq!(
        process
            .space
            .resolve_fault(STACK_TOP - 17 * PAGE, FaultAccess::Write, false),
        Err(SegmentationFault)
    );
    assert!(
        process
            .space
            .resolve_fault(STACK_TOP - 16 * PAGE, FaultAccess::Write, false)
            .is_ok()
    );
    assert_eq!(process.layout(), vec![(STACK_TOP - 16 * PAGE, STACK_TOP)]);
}

// Linux expand_downwards: the stack keeps stack_guard_gap (256 pages) from an accessible VMA
// below it; a PROT_NONE VMA (a guard page the program made) needs no gap.
#[test]
fn a_growsdown_vma_keeps_the_guard_gap_from_an_accessible_vma_below() {
    let mut process = Process::new();
    stack(&mut process, 1);
    let below_end = STACK_TOP - PAGE - STACK_GUARD_GAP - 4 * PAGE;
    process.map_anonymous(below_end - PAGE, PAGE);
    let within_gap = below_end + STACK_GUARD_GAP - PAGE;
    assert_eq!(
        process
            .space
            .resolve_fault(within_gap, FaultAccess::Write, false),
        Err(SegmentationFault)
    );
    let at_gap = below_end + STACK_GUARD_GAP;
    assert!(
        process
            .space
            .resolve_fault(at_gap, FaultAccess::Write, false)
            .is_ok()
    );

    process.mprotect(below_end - PAGE, PAGE, PROT_NONE).unwrap();
    assert!(
        process
            .space
            .resolve_fault(below_end, FaultAccess::Write, false)
            .is_ok()
    );
    assert_eq!(process.layout()[1], (below_end, STACK_TOP));
}

// Linux vm_start_gap: an address mmap chooses leaves a growsdown VMA's guard gap free, and a
// hint inside the gap is not taken.
#[test]
fn mmap_leaves_the_guard_gap_below_a_growsdown_vma_free() {
    let mut process = Process::with_layout(Layout {
        mmap_base: STACK_TOP,
        legacy_mmap_base: GIB,
    });
    let start = stack(&mut process, 1);
    let hint = start - 8 * PAGE;
    assert_eq!(
        process.mmap(hint, PAGE, RW, ANON, None, 0),
        Ok(start - STACK_GUARD_GAP - PAGE)
    );
}

// Linux do_mprotect_pkey: PROT_GROWSDOWN on a VM_GROWSDOWN VMA extends the change down to the
// VMA's start; on any other VMA it is EINVAL.
#[test]
fn mprotect_growsdown_changes_the_stack_down_to_its_start() {
    let mut process = Process::new();
    let start = stack(&mut process, 4);
    let top_page = STACK_TOP - PAGE;
    process
        .mprotect(top_page, PAGE, PROT_READ | PROT_GROWSDOWN)
        .unwrap();
    let vma = process.space.find_vma(start).unwrap();
    assert_eq!((vma.start, vma.end), (start, STACK_TOP));
    assert_eq!(vma.attrs.protection, Protection::READ);

    process.map_anonymous(0x40_0000, 2 * PAGE);
    assert_eq!(
        process.mprotect(0x40_0000 + PAGE, PAGE, PROT_READ | PROT_GROWSDOWN),
        Err(Errno::EINVAL)
    );
}

// x86_64 Linux: MAP_32BIT searches the second GiB bottom-up; a hint inside it is honoured, one
// above it is not, and a length that cannot fit there is ENOMEM.
#[test]
fn mmap_32bit_places_mappings_in_the_second_gib_bottom_up() {
    let mut process = Process::new();
    let first = process.mmap(0, PAGE, RW, ANON | MAP_32BIT, None, 0);
    let second = process.mmap(0, PAGE, RW, ANON | MAP_32BIT, None, 0);
    assert_eq!((first, second), (Ok(GIB), Ok(GIB + PAGE)));
    let above = process.mmap(3 * GIB, PAGE, RW, ANON | MAP_32BIT, None, 0);
    assert_eq!(above, Ok(GIB + 2 * PAGE));
    let inside = process.mmap(GIB + GIB / 2, PAGE, RW, ANON | MAP_32BIT, None, 0);
    assert_eq!(inside, Ok(GIB + GIB / 2));
    assert_eq!(
        process.mmap(0, 3 * GIB, RW, ANON | MAP_32BIT, None, 0),
        Err(Errno::ENOMEM)
    );
}

// Linux: a hint below mmap_min_addr is raised to it rather than refused.
#[test]
fn mmap_raises_a_low_hint_to_mmap_min_addr() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(PAGE, PAGE, RW, ANON, None, 0),
        Ok(MMAP_MIN_ADDR)
    );
}

// man mmap: MAP_LOCKED "Lock the pages of the mapped region into memory in the manner of
// mlock(2)"; MAP_POPULATE populates unless MAP_NONBLOCK is given too (Linux do_mmap's
// `populate` decision).
#[test]
fn mmap_locked_locks_and_populate_populates_without_nonblock() {
    let mut process = Process::new();
    let cases = [
        (0, false, false),
        (MAP_LOCKED, true, true),
        (MAP_POPULATE, false, true),
        (MAP_POPULATE | MAP_NONBLOCK, false, false),
        (MAP_LOCKED | MAP_NONBLOCK, true, true),
    ];
    for (extra, locked, populated) in cases {
        let addr = process.mmap(0, PAGE, RW, ANON | extra, None, 0).unwrap();
        let vma = process.space.find_vma(addr).unwrap();
        assert_eq!(vma.attrs.locked, locked, "flags {extra:#x}");
        assert_eq!(populates(ANON | extra, vma), populated, "flags {extra:#x}");
    }
}

// Linux dup_mmap copies VM_GROWSDOWN, and the child's stack limit is the parent's
// (rlimits are inherited): the child's stack grows, within the same limit.
#[test]
fn a_forked_child_keeps_the_growsdown_stack_and_its_limit() {
    let mut process = Process::new();
    stack(&mut process, 1);
    process.space.set_stack_limit(8 * PAGE);
    let (mut child, _) = process.fork();
    assert!(
        child
            .resolve_fault(STACK_TOP - 8 * PAGE, FaultAccess::Write, false)
            .is_ok()
    );
    assert_eq!(
        child.resolve_fault(STACK_TOP - 9 * PAGE, FaultAccess::Write, false),
        Err(SegmentationFault)
    );
}

use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_POPULATE, MAP_PRIVATE, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT,
    MLOCK_ONFAULT, PROT_NONE, PROT_READ,
};
use mm::address_space::{FaultAccess, populates};

use crate::common::{PAGE, Process, RW};

const A: u64 = 0x10_0000;

fn locked(process: &Process, addr: u64) -> bool {
    process.space.find_vma(addr).unwrap().attrs.locked
}

// man mlock: "mlock() locks pages in the address range starting at addr and continuing for
// len bytes. All pages that contain a part of the specified address range" are locked.
#[test]
fn mlock_widens_the_range_to_whole_pages() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    assert_eq!(process.space.mlock(A + PAGE + 8, PAGE), Ok(()));
    assert_eq!(
        process.layout(),
        [
            (A, A + PAGE),
            (A + PAGE, A + 3 * PAGE),
            (A + 3 * PAGE, A + 4 * PAGE)
        ]
    );
    assert!(locked(&process, A + 2 * PAGE));
    assert!(!locked(&process, A));
}

// man mlock: "ENOMEM Some of the specified address range does not correspond to mapped pages
// in the address space of the process."
#[test]
fn mlock_unmapped_range_is_enomem() {
    let mut process = Process::new();
    assert_eq!(process.space.mlock(A, PAGE), Err(Errno::ENOMEM));
    assert_eq!(process.space.munlock(A, PAGE), Err(Errno::ENOMEM));
}

// Linux apply_vma_lock_flags locks VMA by VMA and stops at a hole with ENOMEM.
#[test]
fn mlock_hole_is_enomem_after_locking_the_part_before_it() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    process.map_anonymous(A + 2 * PAGE, PAGE);
    assert_eq!(process.space.mlock(A, 3 * PAGE), Err(Errno::ENOMEM));
    assert!(locked(&process, A));
    assert!(!locked(&process, A + 2 * PAGE));
}

// Linux apply_vma_lock_flags: `if (end == start) return 0;`
#[test]
fn mlock_zero_length_succeeds() {
    let mut process = Process::new();
    assert_eq!(process.space.mlock(A, 0), Ok(()));
}

// Linux apply_vma_lock_flags: `end = start + len; if (end < start) return -EINVAL;`
#[test]
fn mlock_range_wrapping_past_the_top_is_einval() {
    let mut process = Process::new();
    assert_eq!(
        process.space.mlock(0x7fff_ffff_e000, u64::MAX - 2 * PAGE),
        Err(Errno::EINVAL)
    );
}

// man mlock: munlock() "unlocks pages in the address range"; the VMAs merge again.
#[test]
fn munlock_unlocks_and_merges_back() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    process.space.mlock(A + PAGE, PAGE).unwrap();
    assert_eq!(process.space.munlock(A, 4 * PAGE), Ok(()));
    assert_eq!(process.layout(), [(A, A + 4 * PAGE)]);
    assert!(!locked(&process, A));
}

// man mlockall: "EINVAL Unknown flags were specified or MCL_ONFAULT was specified without
// either MCL_FUTURE or MCL_CURRENT." Linux also rejects flags == 0.
#[test]
fn mlockall_invalid_flags_are_einval() {
    let mut process = Process::new();
    assert_eq!(process.space.mlockall(0), Err(Errno::EINVAL));
    assert_eq!(process.space.mlockall(MCL_ONFAULT), Err(Errno::EINVAL));
    assert_eq!(process.space.mlockall(MCL_CURRENT | 8), Err(Errno::EINVAL));
}

// man mlockall: MCL_CURRENT locks "all pages which are currently mapped", MCL_FUTURE "all
// pages which will become mapped"; munlockall undoes both.
#[test]
fn mlockall_locks_current_and_future_mappings_until_munlockall() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(process.space.mlockall(MCL_FUTURE), Ok(()));
    assert!(!locked(&process, A));
    let later = process
        .mmap(0, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
        .unwrap();
    assert!(locked(&process, later));
    assert_eq!(process.space.mlockall(MCL_CURRENT), Ok(()));
    assert!(locked(&process, A));
    process.space.munlockall();
    assert!(!locked(&process, A) && !locked(&process, later));
    let after = process
        .mmap(0, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
        .unwrap();
    assert!(!locked(&process, after));
}

fn locked_on_fault(process: &Process, addr: u64) -> bool {
    process.space.find_vma(addr).unwrap().attrs.lock_on_fault
}

// man mlock2: "EINVAL Unknown flags were specified"; MLOCK_ONFAULT "Lock pages that are
// currently resident and mark the entire range so that the remaining nonresident pages are
// locked when they are populated by a page fault."
#[test]
fn mlock2_takes_mlock_onfault_and_nothing_else() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    assert_eq!(process.space.mlock2(A, PAGE, 2), Err(Errno::EINVAL));
    assert!(!locked(&process, A));
    assert_eq!(process.space.mlock2(A, PAGE, MLOCK_ONFAULT), Ok(()));
    assert!(locked(&process, A) && locked_on_fault(&process, A));
    assert_eq!(process.space.mlock2(A, PAGE, 0), Ok(()));
    assert!(locked(&process, A) && !locked_on_fault(&process, A));
    assert_eq!(process.space.population(A..A + 2 * PAGE).len(), 2);
}

// Linux apply_mlockall_flags: MCL_FUTURE without MCL_CURRENT leaves the current VMAs alone
// (MCL_ONFAULT only changes how the future ones lock), and MCL_FUTURE | MCL_ONFAULT maps new
// memory locked on fault, which is not populated.
#[test]
fn mlockall_future_on_fault_leaves_current_vmas_and_locks_new_ones_on_fault() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    process.space.mlock(A, PAGE).unwrap();
    assert_eq!(process.space.mlockall(MCL_FUTURE | MCL_ONFAULT), Ok(()));
    assert!(locked(&process, A) && !locked_on_fault(&process, A));
    let later = process
        .mmap(0, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, None, 0)
        .unwrap();
    assert!(locked(&process, later) && locked_on_fault(&process, later));
    let vma = process.space.find_vma(later).unwrap();
    assert!(!populates(MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, vma));
    assert_eq!(process.space.mlockall(MCL_CURRENT | MCL_ONFAULT), Ok(()));
    assert!(locked_on_fault(&process, A));
}

// Linux populate_vma_page_range: a writable private VMA is populated with FOLL_WRITE (its own
// copies at once), anything else by reading; PROT_NONE memory cannot be (GUP refuses it), and
// VMAs locked on fault need nothing.
#[test]
fn population_writes_private_writable_memory_and_reads_the_rest() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    process.map_shared_file(A + PAGE, PAGE, 1, 0);
    process
        .mmap(
            A + 2 * PAGE,
            PAGE,
            PROT_READ,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    process
        .mmap(
            A + 3 * PAGE,
            PAGE,
            PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    process.map_anonymous(A + 4 * PAGE, PAGE);
    process
        .space
        .mlock2(A + 4 * PAGE, PAGE, MLOCK_ONFAULT)
        .unwrap();
    assert_eq!(
        process.space.population(A + 8..A + 5 * PAGE),
        vec![
            (A + 8..A + PAGE, Some(FaultAccess::Write)),
            (A + PAGE..A + 2 * PAGE, Some(FaultAccess::Read)),
            (A + 2 * PAGE..A + 3 * PAGE, Some(FaultAccess::Read)),
            (A + 3 * PAGE..A + 4 * PAGE, None),
        ]
    );
}

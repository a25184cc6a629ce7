use abi::Errno;
use abi::mman::{MAP_ANONYMOUS, MAP_PRIVATE, MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT};

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

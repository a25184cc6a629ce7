//! madvise(2), as Linux 6.1's `do_madvise` and `madvise_walk_vmas`.

use abi::Errno;
use abi::mman::*;

use crate::common::{PAGE, Process, RW, rw_file};

const BASE: u64 = 0x4000_0000;

// do_madvise: `if (!madvise_behavior_valid(behavior)) return -EINVAL;`
#[test]
fn madvise_unknown_advice_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    for advice in [5, 6, 7, 26, 99, -1] {
        assert_eq!(
            process.madvise(BASE, PAGE, advice),
            Err(Errno::EINVAL),
            "{advice}"
        );
    }
    for advice in [
        0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 25,
    ] {
        assert_eq!(process.madvise(BASE, PAGE, advice), Ok(()), "{advice}");
    }
}

// do_madvise: an unaligned start, or a length that wraps the address space
// (also once rounded up to a page), is EINVAL; a zero length succeeds.
#[test]
fn madvise_unaligned_start_or_wrapping_length_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    assert_eq!(
        process.madvise(BASE + 1, PAGE, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.madvise(BASE, u64::MAX, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.madvise(BASE, u64::MAX - BASE, MADV_NORMAL),
        Err(Errno::EINVAL)
    );
    assert_eq!(process.madvise(0, 0, MADV_NORMAL), Ok(()));
}

// man madvise: "ENOMEM Addresses in the specified range are not currently
// mapped" — and Linux advises the VMAs past the hole first.
#[test]
fn madvise_hole_is_enomem_after_advising_the_rest() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    process.map_anonymous(BASE + 2 * PAGE, PAGE);
    assert_eq!(
        process.madvise(BASE, 3 * PAGE, MADV_DONTFORK),
        Err(Errno::ENOMEM)
    );
    assert!(
        process
            .space
            .find_vma(BASE + 2 * PAGE)
            .unwrap()
            .attrs
            .dont_fork
    );
    assert_eq!(
        process.madvise(0x7000_0000, PAGE, MADV_NORMAL),
        Err(Errno::ENOMEM)
    );
}

// man madvise: MADV_DONTNEED "subsequent accesses of pages in the range
// will succeed, but will result in ... zero-fill-on-demand pages for
// anonymous private mappings": the page-table entries go.
#[test]
fn madvise_dontneed_drops_the_pages_but_keeps_the_mapping() {
    let mut process = Process::new();
    process.map_anonymous(BASE, 2 * PAGE);
    process.touch(BASE);
    process.touch(BASE + PAGE);
    assert_eq!(process.madvise(BASE, PAGE, MADV_DONTNEED), Ok(()));
    assert_eq!(process.layout(), [(BASE, BASE + 2 * PAGE)]);
    let unmapped: Vec<u64> = process.unmapped.iter().map(|page| page.leaf.page).collect();
    assert_eq!(unmapped, [BASE]);
    assert_eq!(process.space.walker(&process.memory).lookup(BASE), None);
    assert!(
        process
            .space
            .walker(&process.memory)
            .lookup(BASE + PAGE)
            .is_some()
    );
}

// man madvise: "EINVAL advice is MADV_DONTNEED or MADV_REMOVE and the
// specified address range includes locked ... pages"; MADV_DONTNEED_LOCKED
// (since Linux 5.18) takes them.
#[test]
fn madvise_dontneed_on_a_locked_range_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    process.touch(BASE);
    process.space.mlock(BASE, PAGE).unwrap();
    assert_eq!(
        process.madvise(BASE, PAGE, MADV_DONTNEED),
        Err(Errno::EINVAL)
    );
    assert!(process.unmapped.is_empty());
    assert_eq!(process.madvise(BASE, PAGE, MADV_DONTNEED_LOCKED), Ok(()));
    assert_eq!(process.unmapped.len(), 1);
}

// Linux madvise_free_single_vma: `if (!vma_is_anonymous(vma)) return -EINVAL;`
#[test]
fn madvise_free_of_file_memory_is_einval() {
    let mut process = Process::new();
    process.map_shared_file(BASE, PAGE, 3, 0);
    process
        .mmap(
            BASE + PAGE,
            PAGE,
            RW,
            MAP_PRIVATE | MAP_FIXED,
            Some(rw_file(3)),
            0,
        )
        .unwrap();
    process.map_anonymous(BASE + 2 * PAGE, PAGE);
    assert_eq!(process.madvise(BASE, PAGE, MADV_FREE), Err(Errno::EINVAL));
    assert_eq!(
        process.madvise(BASE + PAGE, PAGE, MADV_FREE),
        Err(Errno::EINVAL)
    );
    assert_eq!(process.madvise(BASE + 2 * PAGE, PAGE, MADV_FREE), Ok(()));
}

// man madvise: MADV_WIPEONFORK "is applied only to private anonymous pages".
#[test]
fn madvise_wipeonfork_of_shared_or_file_memory_is_einval() {
    let mut process = Process::new();
    process.map_shared_file(BASE, PAGE, 3, 0);
    process
        .mmap(
            BASE + PAGE,
            PAGE,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    assert_eq!(
        process.madvise(BASE, PAGE, MADV_WIPEONFORK),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.madvise(BASE + PAGE, PAGE, MADV_WIPEONFORK),
        Err(Errno::EINVAL)
    );
}

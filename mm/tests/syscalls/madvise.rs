//! madvise(2), as Linux 6.1's `do_madvise` and `madvise_walk_vmas`.

use abi::Errno;
use abi::mman::*;

use mm::address_space::Removal;

use crate::common::{PAGE, Process, RW, file, ro_file, rw_file};

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

// man madvise: MADV_REMOVE "Free up a given range of pages and its associated backing store";
// Linux's madvise_remove refuses a locked VMA and one with no object (private anonymous
// memory) with EINVAL, and one not shared or of a file opened read-only with EACCES (a
// PROT_READ mapping of a file opened for writing may be removed: measured on Linux 6.1).
#[test]
fn madvise_remove_refuses_what_has_no_shared_writable_object() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    assert_eq!(process.madvise(BASE, PAGE, MADV_REMOVE), Err(Errno::EINVAL));
    let file = BASE + 0x10_0000;
    process
        .mmap(file, PAGE, RW, MAP_PRIVATE | MAP_FIXED, Some(rw_file(3)), 0)
        .unwrap();
    assert_eq!(process.madvise(file, PAGE, MADV_REMOVE), Err(Errno::EACCES));
    let read_only = BASE + 0x20_0000;
    process
        .mmap(
            read_only,
            PAGE,
            PROT_READ,
            MAP_SHARED | MAP_FIXED,
            Some(ro_file(3)),
            0,
        )
        .unwrap();
    assert_eq!(
        process.madvise(read_only, PAGE, MADV_REMOVE),
        Err(Errno::EACCES)
    );
    let not_now_writable = BASE + 0x28_0000;
    process
        .mmap(
            not_now_writable,
            PAGE,
            PROT_READ,
            MAP_SHARED | MAP_FIXED,
            Some(rw_file(3)),
            0,
        )
        .unwrap();
    let advised = process.madvise_removing(not_now_writable, PAGE, MADV_REMOVE);
    assert_eq!(advised.result, Ok(()));
    let locked = BASE + 0x30_0000;
    process.map_shared_file(locked, PAGE, 3, 0);
    process.space.mlock(locked, PAGE).unwrap();
    assert_eq!(
        process.madvise(locked, PAGE, MADV_REMOVE),
        Err(Errno::EINVAL)
    );
}

// A shared file mapping's part becomes a hole of the file's pages it shows (the kernel
// punches it, unmapping the pages from every process); a shared memory object's pages are
// unmapped here and named for the kernel to drop.
#[test]
fn madvise_remove_names_the_object_pages_to_take_out() {
    let mut process = Process::new();
    process.map_shared_file(BASE, 4 * PAGE, 5, 2 * PAGE);
    let advised = process.madvise_removing(BASE + PAGE, 2 * PAGE, MADV_REMOVE);
    assert_eq!(advised.result, Ok(()));
    assert_eq!(
        advised.removals,
        vec![Removal::File {
            file: file(5),
            pages: 3..5
        }]
    );
    assert!(process.unmapped.is_empty(), "the kernel unmaps file pages");

    let shared = BASE + 0x10_0000;
    process
        .mmap(
            shared,
            2 * PAGE,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    process.touch(shared + PAGE);
    let advised = process.madvise_removing(shared, 2 * PAGE, MADV_REMOVE);
    assert_eq!(advised.result, Ok(()));
    assert!(matches!(
        advised.removals.as_slice(),
        [Removal::SharedMemory { pages, .. }] if *pages == (0..2)
    ));
    assert_eq!(process.unmapped.len(), 1);
    assert_eq!(process.unmapped[0].leaf.page, shared + PAGE);
}

// Linux madvise_walk_vmas: a refusal stops the walk; what was removed before it stays named.
#[test]
fn madvise_remove_stops_at_a_refusal_after_the_parts_before_it() {
    let mut process = Process::new();
    process.map_shared_file(BASE, PAGE, 5, 0);
    process.map_anonymous(BASE + PAGE, PAGE);
    let advised = process.madvise_removing(BASE, 2 * PAGE, MADV_REMOVE);
    assert_eq!(advised.result, Err(Errno::EINVAL));
    assert_eq!(advised.removals.len(), 1);
}

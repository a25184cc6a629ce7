use abi::Errno;
use mm::address_space::USER_END;

use crate::common::{PAGE, Process};

const A: u64 = 0x10_0000;

// man munmap: "EINVAL We don't like addr, length, ... (e.g., ... not aligned on a page boundary)."
#[test]
fn munmap_unaligned_addr_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    assert_eq!(process.munmap(A + 8, PAGE), Err(Errno::EINVAL));
    assert_eq!(process.layout(), [(A, A + 2 * PAGE)]);
}

// man munmap: "EINVAL (since Linux 2.6.12) length was 0."
#[test]
fn munmap_zero_length_is_einval() {
    let mut process = Process::new();
    assert_eq!(process.munmap(A, 0), Err(Errno::EINVAL));
}

// Linux do_vmi_munmap: `start > TASK_SIZE || len > TASK_SIZE - start` is EINVAL.
#[test]
fn munmap_outside_user_space_is_einval() {
    let mut process = Process::new();
    assert_eq!(process.munmap(USER_END + PAGE, PAGE), Err(Errno::EINVAL));
    assert_eq!(
        process.munmap(USER_END - PAGE, 2 * PAGE),
        Err(Errno::EINVAL)
    );
    assert_eq!(process.munmap(USER_END - PAGE, PAGE), Ok(()));
}

// man munmap: "It is not an error if the indicated range does not contain any mapped pages."
#[test]
fn munmap_of_unmapped_range_succeeds() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(process.munmap(A + 4 * PAGE, 8 * PAGE), Ok(()));
    assert_eq!(process.munmap(A - PAGE, 3 * PAGE), Ok(()));
    assert!(process.space.vmas().is_empty());
}

// man munmap: "The address addr must be a multiple of the page size (but length need not be).
// All pages containing a part of the indicated range are unmapped."
#[test]
fn munmap_splits_a_vma_and_rounds_the_length_up() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    assert_eq!(process.munmap(A + PAGE, PAGE + 1), Ok(()));
    assert_eq!(
        process.layout(),
        [(A, A + PAGE), (A + 3 * PAGE, A + 4 * PAGE)]
    );
}

// man munmap: "subsequent references to addresses in the range generate invalid memory
// references" — the PTEs go, empty page tables are freed, each page is reported.
#[test]
fn munmap_removes_page_table_entries_and_frees_empty_tables() {
    let mut process = Process::new();
    let free_before = process.frames.free_count();
    process.map_shared_file(A, 2 * PAGE, 5, 10 * PAGE);
    let frame = process.touch(A + PAGE);
    assert!(process.store(A + PAGE));
    assert_eq!(process.frames.free_count(), free_before - 3);
    assert_eq!(process.munmap(A, 2 * PAGE), Ok(()));
    assert_eq!(process.frames.free_count(), free_before);
    assert!(!process.store(A + PAGE));
    let [page] = process.unmapped.as_slice() else {
        panic!("expected one unmapped page, got {:?}", process.unmapped)
    };
    assert_eq!(
        (page.leaf.page, page.leaf.frame, page.leaf.dirty),
        (A + PAGE, frame, true)
    );
    let file_page = page.file_page.as_ref().expect("a file page");
    assert_eq!((file_page.file.id(), file_page.index), (5, 11));
    assert!(process.tlb.invalidated_pages.contains(&(A + PAGE)));
}

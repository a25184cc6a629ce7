//! mincore(2), pinned against Linux 6.1 (probed in QEMU).

use abi::Errno;
use abi::mman::{MAP_FIXED, MAP_PRIVATE, PROT_NONE};
use mm::address_space::{PageSource, USER_END};

use crate::common::{PAGE, Process, rw_file};

const A: u64 = 0x10_0000;

// man mincore: "EINVAL addr is not a multiple of the page size"; "ENOMEM addr to addr + length
// contained unmapped memory" (Linux also for a range past user space, before looking at vec);
// "EFAULT vec points to an invalid address" (Linux's access_ok: past user space).
#[test]
fn mincore_errors_in_linux_order() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(process.mincore(A + 1, PAGE), Err(Errno::EINVAL));
    assert_eq!(
        process.mincore(USER_END - PAGE, 2 * PAGE),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        process.mincore_with(A, PAGE, USER_END, |_| false).1,
        Err(Errno::EFAULT)
    );
    assert_eq!(process.mincore(A + PAGE, PAGE), Err(Errno::ENOMEM));
    assert_eq!(process.mincore(A, 0), Ok(vec![]));
}

// man mincore: "The least significant bit of each byte will be set if the corresponding page
// is currently resident in memory"; an untouched anonymous page is not, and a length inside a
// page counts the whole page.
#[test]
fn mincore_reports_the_pages_the_tables_map() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    process.touch(A + PAGE);
    process.touch(A + 3 * PAGE);
    assert_eq!(process.mincore(A, 3 * PAGE + 1), Ok(vec![0, 1, 0, 1]));
    process.mprotect(A + PAGE, PAGE, PROT_NONE).unwrap();
    assert_eq!(process.mincore(A + PAGE, PAGE), Ok(vec![1]));
}

// Linux do_mincore: a hole ends the call with ENOMEM, after the bytes of the pages before it
// were copied out.
#[test]
fn mincore_copies_out_the_pages_before_a_hole() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    process.map_anonymous(A + 3 * PAGE, PAGE);
    process.touch(A);
    let (bytes, result) = process.mincore_with(A, 4 * PAGE, 0x2000_0000, |_| false);
    assert_eq!(result, Err(Errno::ENOMEM));
    assert_eq!(bytes, vec![1, 0]);
}

// Linux mincore_page: for a file mapping, a page this process has not mapped counts as
// resident when the page cache holds it.
#[test]
fn mincore_counts_file_pages_in_the_page_cache() {
    let mut process = Process::new();
    process
        .mmap(
            A,
            3 * PAGE,
            abi::mman::PROT_READ,
            MAP_PRIVATE | MAP_FIXED,
            Some(rw_file(6)),
            PAGE,
        )
        .unwrap();
    let cached = |source: &PageSource| matches!(source, PageSource::File(page) if page.index == 3);
    let (bytes, result) = process.mincore_with(A, 3 * PAGE, 0x2000_0000, cached);
    assert_eq!((bytes, result), (vec![0, 0, 1], Ok(())));
}

// A range longer than one piece of the copy-out comes back whole and in order.
#[test]
fn mincore_of_many_pages_is_copied_out_in_order() {
    let mut process = Process::new();
    let pages = 1500;
    process.map_anonymous(A, pages * PAGE);
    for page in (0..pages).step_by(7) {
        process.touch(A + page * PAGE);
    }
    let bytes = process.mincore(A, pages * PAGE).unwrap();
    let expected: Vec<u8> = (0..pages).map(|page| u8::from(page % 7 == 0)).collect();
    assert_eq!(bytes, expected);
}

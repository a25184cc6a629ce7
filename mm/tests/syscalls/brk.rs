//! brk(2), as Linux 6.1's `sys_brk` (mm/mmap.c): it answers with the new
//! break, or with the current one when the request cannot be met.

use abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE};
use mm::address_space::USER_END;
use mm::vma::{Backing, Protection, Sharing};

use crate::common::{PAGE, Process, RW};

/// The heap starts at the page-aligned end of the image.
const HEAP: u64 = 0x40_0000;

fn process_with_heap() -> Process {
    let mut process = Process::new();
    process.space.set_heap_start(HEAP);
    process
}

// man brk: "On failure, the system call returns the current break."
// sys_brk: `if (brk < min_brk) goto out;`
#[test]
fn brk_below_the_heap_start_returns_the_current_break() {
    let mut process = process_with_heap();
    assert_eq!(process.brk(HEAP + 3 * PAGE), HEAP + 3 * PAGE);
    assert_eq!(process.brk(HEAP - 1), HEAP + 3 * PAGE);
    assert_eq!(process.brk(0), HEAP + 3 * PAGE);
    assert_eq!(process.layout(), [(HEAP, HEAP + 3 * PAGE)]);
}

// A request that rounds past the end of the address space (2^64 - 1 wraps
// to 0 when page-aligned) must neither shrink the heap nor unmap the image:
// Linux returns the current break.
#[test]
fn brk_rounding_past_the_address_space_returns_the_current_break() {
    let mut process = process_with_heap();
    process.map_anonymous(HEAP - 4 * PAGE, 4 * PAGE);
    assert_eq!(process.brk(HEAP + PAGE), HEAP + PAGE);
    for request in [u64::MAX, u64::MAX - PAGE + 2, USER_END + 1, USER_END - 1] {
        assert_eq!(process.brk(request), HEAP + PAGE, "brk({request:#x})");
    }
    assert_eq!(process.layout(), [(HEAP - 4 * PAGE, HEAP + PAGE)]);
    assert!(process.unmapped.is_empty());
}

// The heap is private, anonymous, readable and writable, and grows in
// whole pages while the break itself need not be page-aligned.
#[test]
fn brk_grows_the_heap_with_private_anonymous_memory() {
    let mut process = process_with_heap();
    assert_eq!(process.brk(HEAP + 5000), HEAP + 5000);
    assert_eq!(process.layout(), [(HEAP, HEAP + 2 * PAGE)]);
    let heap = process.space.find_vma(HEAP).unwrap();
    assert_eq!(heap.attrs.protection, Protection::READ | Protection::WRITE);
    assert_eq!(
        (heap.attrs.sharing, &heap.attrs.backing),
        (Sharing::Private, &Backing::Anonymous)
    );
    assert_eq!(process.space.heap(), HEAP..HEAP + 5000);
}

// sys_brk: "Always allow shrinking brk": the pages wholly above the new
// break are unmapped; moving within the last page maps or unmaps nothing.
#[test]
fn brk_shrinking_unmaps_the_pages_given_up() {
    let mut process = process_with_heap();
    process.brk(HEAP + 4 * PAGE);
    for page in 0..4 {
        process.touch(HEAP + page * PAGE);
    }
    assert_eq!(process.brk(HEAP + PAGE + 1), HEAP + PAGE + 1);
    assert_eq!(process.layout(), [(HEAP, HEAP + 2 * PAGE)]);
    let unmapped: Vec<u64> = process.unmapped.iter().map(|p| p.leaf.page).collect();
    assert_eq!(unmapped, [HEAP + 2 * PAGE, HEAP + 3 * PAGE]);
    assert_eq!(process.brk(HEAP + 2 * PAGE), HEAP + 2 * PAGE);
    assert_eq!(process.unmapped.len(), 2);
    assert_eq!(process.brk(HEAP), HEAP);
    assert_eq!(process.layout(), []);
}

// sys_brk: `if (next && newbrk + PAGE_SIZE > vm_start_gap(next)) goto out;`
// — the heap may not grow into the next mapping, nor up against it.
#[test]
fn brk_must_leave_a_page_before_the_next_mapping() {
    let mut process = process_with_heap();
    let next = HEAP + 4 * PAGE;
    process
        .mmap(
            next,
            PAGE,
            RW,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    assert_eq!(process.brk(HEAP + 5 * PAGE), HEAP);
    assert_eq!(process.brk(HEAP + 4 * PAGE), HEAP);
    assert_eq!(process.brk(HEAP + 3 * PAGE), HEAP + 3 * PAGE);
    assert_eq!(
        process.layout(),
        [(HEAP, HEAP + 3 * PAGE), (next, next + PAGE)]
    );
}

use abi::Errno;
use abi::mman::{MAP_FIXED, MAP_SHARED, PROT_GROWSDOWN, PROT_NONE, PROT_READ, PROT_WRITE};
use mm::vma::Protection;

use crate::common::{PAGE, Process, RW, ro_file};

const A: u64 = 0x10_0000;

fn protection(process: &Process, addr: u64) -> Protection {
    process.space.find_vma(addr).unwrap().attrs.protection
}

// man mprotect: "EINVAL addr is not a valid pointer, or not a multiple of the system page size."
#[test]
fn mprotect_unaligned_addr_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(process.mprotect(A + 1, PAGE, PROT_READ), Err(Errno::EINVAL));
}

// man mprotect: "EINVAL Invalid flags specified in prot."
#[test]
fn mprotect_unknown_prot_bit_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(
        process.mprotect(A, PAGE, PROT_READ | 0x40),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        protection(&process, A),
        Protection::READ | Protection::WRITE
    );
}

// Linux do_mprotect_pkey: `if (!len) return 0;` comes before arch_validate_prot.
#[test]
fn mprotect_zero_length_succeeds_before_prot_is_checked() {
    let mut process = Process::new();
    assert_eq!(process.mprotect(A, 0, 0x40), Ok(()));
}

// Linux do_mprotect_pkey: `end = start + len; if (end <= start) return -ENOMEM;`
#[test]
fn mprotect_length_overflow_is_enomem() {
    let mut process = Process::new();
    assert_eq!(
        process.mprotect(A, u64::MAX - PAGE, PROT_READ),
        Err(Errno::ENOMEM)
    );
}

// man mprotect: "ENOMEM Addresses in the range [addr, addr+len-1] are invalid for the address
// space of the process, or specify one or more pages that are not mapped."
#[test]
fn mprotect_unmapped_start_is_enomem_and_changes_nothing() {
    let mut process = Process::new();
    process.map_anonymous(A + PAGE, PAGE);
    assert_eq!(process.mprotect(A, 2 * PAGE, PROT_READ), Err(Errno::ENOMEM));
    assert_eq!(
        protection(&process, A + PAGE),
        Protection::READ | Protection::WRITE
    );
}

// Linux do_mprotect_pkey applies VMA by VMA and stops at a hole with ENOMEM: the part before
// the hole keeps its new protection.
#[test]
fn mprotect_hole_is_enomem_after_changing_the_part_before_it() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    process.map_anonymous(A + 3 * PAGE, PAGE);
    assert_eq!(
        process.mprotect(A + PAGE, 3 * PAGE, PROT_READ),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        process.layout(),
        [
            (A, A + PAGE),
            (A + PAGE, A + 2 * PAGE),
            (A + 3 * PAGE, A + 4 * PAGE)
        ]
    );
    assert_eq!(protection(&process, A + PAGE), Protection::READ);
    assert_eq!(
        protection(&process, A + 3 * PAGE),
        Protection::READ | Protection::WRITE
    );
}

// man mprotect: "EACCES ... if you mmap(2) a file to which you have read-only access, then ask
// mprotect() to mark it PROT_WRITE."
#[test]
fn mprotect_write_on_shared_mapping_of_read_only_file_is_eacces() {
    let mut process = Process::new();
    let read_only = ro_file(1);
    process
        .mmap(
            A,
            PAGE,
            PROT_READ,
            MAP_SHARED | MAP_FIXED,
            Some(read_only),
            0,
        )
        .unwrap();
    assert_eq!(process.mprotect(A, PAGE, RW), Err(Errno::EACCES));
    assert_eq!(protection(&process, A), Protection::READ);
}

// Linux: PROT_GROWSDOWN needs a VM_GROWSDOWN VMA, and both grow directions together are
// EINVAL.
#[test]
fn mprotect_grows_flags_without_growable_vma_are_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(
        process.mprotect(A, PAGE, PROT_READ | PROT_GROWSDOWN),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.mprotect(A, PAGE, PROT_READ | 0x0300_0000),
        Err(Errno::EINVAL)
    );
}

// mprotect splits the VMA around the range, and restoring the protection merges it again.
#[test]
fn mprotect_splits_and_merges_back() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    assert_eq!(process.mprotect(A + PAGE, PAGE, PROT_READ), Ok(()));
    assert_eq!(
        process.layout(),
        [
            (A, A + PAGE),
            (A + PAGE, A + 2 * PAGE),
            (A + 2 * PAGE, A + 4 * PAGE)
        ]
    );
    assert_eq!(process.mprotect(A + PAGE, PAGE, RW), Ok(()));
    assert_eq!(process.layout(), [(A, A + 4 * PAGE)]);
}

// man mprotect: a later access that violates the protection faults: W goes from present PTEs
// (and their TLB entries are invalidated) on a downgrade.
#[test]
fn mprotect_read_only_removes_write_from_present_ptes() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    process.touch(A);
    assert!(process.store(A));
    assert_eq!(process.mprotect(A, 2 * PAGE, PROT_READ), Ok(()));
    assert!(!process.store(A));
    assert_eq!(process.tlb.invalidated_pages, [A]);
    let leaf = process.space.walker(&process.memory).lookup(A).unwrap();
    assert!(!leaf.permissions.writable && leaf.dirty);
}

// Write is never added to a present PTE: a private page may still be copy-on-write, so the
// fault handler grants W.
#[test]
fn mprotect_upgrade_leaves_write_to_the_fault_handler() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(process.mprotect(A, PAGE, PROT_READ), Ok(()));
    process.touch(A);
    assert_eq!(process.mprotect(A, PAGE, PROT_READ | PROT_WRITE), Ok(()));
    assert!(!process.store(A));
    assert_eq!(
        protection(&process, A),
        Protection::READ | Protection::WRITE
    );
}

// man mprotect: "PROT_NONE The memory cannot be accessed at all." The frame stays mapped and
// is still reported when unmapped.
#[test]
fn mprotect_none_keeps_the_frame_but_blocks_access() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    let frame = process.touch(A);
    assert_eq!(process.mprotect(A, PAGE, PROT_NONE), Ok(()));
    assert!(!process.store(A));
    let leaf = process.space.walker(&process.memory).lookup(A).unwrap();
    assert_eq!((leaf.frame, leaf.permissions.accessible), (frame, false));
    assert_eq!(process.munmap(A, PAGE), Ok(()));
    assert_eq!(process.unmapped.len(), 1);
    assert_eq!(process.unmapped[0].leaf.frame, frame);
}

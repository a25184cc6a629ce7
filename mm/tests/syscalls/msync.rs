use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC,
};
use mm::address_space::{MsyncPlan, USER_END};

use crate::common::{PAGE, Process, RW, ro_file, rw_file};

const A: u64 = 0x10_0000;

/// (file id, first file page, page count, first virtual page) of each range.
fn ranges(plan: &MsyncPlan) -> Vec<(u64, u64, u64, u64)> {
    plan.ranges
        .iter()
        .map(|r| {
            (
                r.file.id(),
                r.file_pages.start,
                r.file_pages.end - r.file_pages.start,
                r.virt.start,
            )
        })
        .collect()
}

/// Shared file 1 at A (2 pages), a one-page hole, shared file 2 at A+3 pages.
fn two_files_with_a_hole() -> Process {
    let mut process = Process::new();
    process.map_shared_file(A, 2 * PAGE, 1, 0);
    process.map_shared_file(A + 3 * PAGE, 2 * PAGE, 2, 0);
    process
}

// man msync: "EINVAL ... any bit other than MS_ASYNC | MS_INVALIDATE | MS_SYNC is set in flags".
#[test]
fn msync_unknown_flag_bit_is_einval() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A, PAGE, MS_SYNC | 8);
    assert_eq!(plan.result, Err(Errno::EINVAL));
    assert!(plan.ranges.is_empty());
}

// man msync: "EINVAL ... both MS_SYNC and MS_ASYNC are set in flags".
#[test]
fn msync_sync_and_async_together_is_einval() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    assert_eq!(
        process.space.msync(A, PAGE, MS_SYNC | MS_ASYNC).result,
        Err(Errno::EINVAL)
    );
}

// man msync: "EINVAL addr is not a multiple of PAGESIZE".
#[test]
fn msync_unaligned_addr_is_einval() {
    let mut process = Process::new();
    process.map_shared_file(A, 2 * PAGE, 1, 0);
    assert_eq!(
        process.space.msync(A + 8, PAGE, MS_SYNC).result,
        Err(Errno::EINVAL)
    );
}

// Linux sys_msync checks flags and alignment before the length: an unaligned
// address with an overflowing length is EINVAL, not ENOMEM.
#[test]
fn msync_einval_checks_precede_the_overflow_check() {
    let process = Process::new();
    assert_eq!(
        process
            .space
            .msync(A + 1, u64::MAX - 2 * PAGE, MS_SYNC)
            .result,
        Err(Errno::EINVAL)
    );
}

// Linux sys_msync: `end = start + len; if (end < start) goto out;` with error -ENOMEM.
#[test]
fn msync_range_wrapping_past_the_top_is_enomem() {
    let process = Process::new();
    let start = u64::MAX - PAGE + 1;
    assert_eq!(
        process.space.msync(start, 2 * PAGE, MS_SYNC).result,
        Err(Errno::ENOMEM)
    );
}

// Linux sys_msync: `if (end == start) goto out;` with error 0, before any VMA is looked at.
#[test]
fn msync_zero_length_succeeds_even_where_nothing_is_mapped() {
    let process = Process::new();
    let plan = process.space.msync(A, 0, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert!(plan.ranges.is_empty());
}

// Linux sys_msync: `len = (len + ~PAGE_MASK) & PAGE_MASK;` — a partial page counts whole.
#[test]
fn msync_length_is_rounded_up_to_whole_pages() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A, 1, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
    assert_eq!(
        process.space.msync(A, PAGE + 1, MS_SYNC).result,
        Err(Errno::ENOMEM)
    );
}

// man msync NOTES: "Linux permits a call to msync() that specifies neither of these flags,
// with semantics that are (currently) equivalent to specifying MS_ASYNC."
#[test]
fn msync_flags_zero_behaves_as_async() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A, PAGE, 0);
    assert_eq!(plan.result, Ok(()));
    assert!(!plan.wait);
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
}

// man msync: MS_SYNC "Requests an update and waits for it to complete."
#[test]
fn msync_sync_plans_a_waited_write_back() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A, PAGE, MS_SYNC | MS_INVALIDATE);
    assert_eq!(plan.result, Ok(()));
    assert!(plan.wait);
    assert!(plan.invalidate);
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
}

// man msync: "ENOMEM The indicated memory (or part of it) was not mapped."
#[test]
fn msync_unmapped_range_is_enomem() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A + 4 * PAGE, PAGE, MS_SYNC);
    assert_eq!(plan.result, Err(Errno::ENOMEM));
    assert!(plan.ranges.is_empty());
}

// Book: "Linux will return ENOMEM ... when asked to synchronize a region that is only partly
// unmapped, but it will still synchronize any valid mappings in the region."
#[test]
fn msync_hole_is_enomem_after_syncing_the_mapped_parts() {
    let process = two_files_with_a_hole();
    let plan = process.space.msync(A, 5 * PAGE, MS_SYNC);
    assert_eq!(plan.result, Err(Errno::ENOMEM));
    assert_eq!(ranges(&plan), [(1, 0, 2, A), (2, 0, 2, A + 3 * PAGE)]);
}

// Linux sys_msync: a hole with flags == MS_ASYNC exactly goes to out_unlock with -ENOMEM at
// once ("the result would be -ENOMEM anyway and there is nothing left to do").
#[test]
fn msync_async_alone_stops_at_the_first_hole_with_enomem() {
    let process = two_files_with_a_hole();
    let plan = process.space.msync(A, 5 * PAGE, MS_ASYNC);
    assert_eq!(plan.result, Err(Errno::ENOMEM));
    assert_eq!(ranges(&plan), [(1, 0, 2, A)]);
}

// Linux sys_msync: only flags == MS_ASYNC gives up at a hole; MS_ASYNC | MS_INVALIDATE (and
// flags 0) record unmapped_error and carry on.
#[test]
fn msync_async_with_invalidate_continues_past_a_hole() {
    let process = two_files_with_a_hole();
    let plan = process.space.msync(A, 5 * PAGE, MS_ASYNC | MS_INVALIDATE);
    assert_eq!(plan.result, Err(Errno::ENOMEM));
    assert_eq!(ranges(&plan), [(1, 0, 2, A), (2, 0, 2, A + 3 * PAGE)]);
    assert_eq!(process.space.msync(A, 5 * PAGE, 0).ranges.len(), 2);
}

// Linux sys_msync: `if (!vma) goto out_unlock;` with -ENOMEM — an unmapped tail fails too.
#[test]
fn msync_unmapped_tail_is_enomem_after_syncing_the_head() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    let plan = process.space.msync(A, 3 * PAGE, MS_SYNC);
    assert_eq!(plan.result, Err(Errno::ENOMEM));
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
}

// Linux returns ENOMEM for a range that is simply unmapped, also beyond user space.
#[test]
fn msync_beyond_user_space_is_enomem() {
    let process = Process::new();
    assert_eq!(
        process.space.msync(USER_END, PAGE, MS_SYNC).result,
        Err(Errno::ENOMEM)
    );
}

// man msync: "EBUSY MS_INVALIDATE was specified in flags, and a memory lock exists for the
// specified address range."
#[test]
fn msync_invalidate_on_locked_vma_is_ebusy() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    process.space.mlock(A, PAGE).unwrap();
    let plan = process.space.msync(A, PAGE, MS_SYNC | MS_INVALIDATE);
    assert_eq!(plan.result, Err(Errno::EBUSY));
    assert!(plan.ranges.is_empty());
}

// Linux sys_msync walks VMA by VMA: VMAs before the locked one were already synced when
// EBUSY stops the loop.
#[test]
fn msync_ebusy_stops_after_the_vmas_before_the_locked_one() {
    let mut process = Process::new();
    process.map_shared_file(A, 2 * PAGE, 1, 0);
    process.space.mlock(A + PAGE, PAGE).unwrap();
    let plan = process.space.msync(A, 2 * PAGE, MS_SYNC | MS_INVALIDATE);
    assert_eq!(plan.result, Err(Errno::EBUSY));
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
}

// Linux sys_msync checks `start < vma->vm_start` (the hole) before EBUSY, and the final
// `error ? : unmapped_error` lets EBUSY win over the hole's ENOMEM.
#[test]
fn msync_hole_then_locked_vma_is_ebusy() {
    let mut process = two_files_with_a_hole();
    process.space.mlock(A + 3 * PAGE, PAGE).unwrap();
    let plan = process.space.msync(A, 5 * PAGE, MS_SYNC | MS_INVALIDATE);
    assert_eq!(plan.result, Err(Errno::EBUSY));
    assert_eq!(ranges(&plan), [(1, 0, 2, A)]);
}

// man msync: EBUSY needs MS_INVALIDATE; a locked range syncs normally without it.
#[test]
fn msync_locked_vma_without_invalidate_is_synced() {
    let mut process = Process::new();
    process.map_shared_file(A, PAGE, 1, 0);
    process.space.mlock(A, PAGE).unwrap();
    let plan = process.space.msync(A, PAGE, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert_eq!(ranges(&plan), [(1, 0, 1, A)]);
}

// Linux sys_msync syncs only `file && (vma->vm_flags & VM_SHARED)`: private and anonymous
// mappings succeed with nothing to write.
#[test]
fn msync_private_and_anonymous_mappings_write_nothing() {
    let mut process = Process::new();
    process
        .mmap(A, PAGE, RW, MAP_PRIVATE | MAP_FIXED, Some(rw_file(1)), 0)
        .unwrap();
    process.map_anonymous(A + PAGE, PAGE);
    process
        .mmap(
            A + 2 * PAGE,
            PAGE,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    let plan = process.space.msync(A, 3 * PAGE, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert!(plan.ranges.is_empty());
}

// Linux do_mmap clears VM_SHARED for a shared mapping of a file not opened for writing, so
// msync never writes it back.
#[test]
fn msync_shared_mapping_of_read_only_file_writes_nothing() {
    let mut process = Process::new();
    let read_only = ro_file(1);
    process
        .mmap(
            A,
            PAGE,
            abi::mman::PROT_READ,
            MAP_SHARED | MAP_FIXED,
            Some(read_only),
            0,
        )
        .unwrap();
    let plan = process.space.msync(A, PAGE, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert!(plan.ranges.is_empty());
}

// man msync: "the part of the file that corresponds to the memory area starting at addr and
// having length length is updated" — file offsets follow the mapping's offset.
#[test]
fn msync_of_part_of_a_mapping_names_the_matching_file_pages() {
    let mut process = Process::new();
    process.map_shared_file(A, 8 * PAGE, 1, 5 * PAGE);
    let plan = process.space.msync(A + 2 * PAGE, 3 * PAGE, MS_SYNC);
    assert_eq!(plan.result, Ok(()));
    assert_eq!(ranges(&plan), [(1, 7, 3, A + 2 * PAGE)]);
    assert_eq!(plan.ranges[0].virt, A + 2 * PAGE..A + 5 * PAGE);
}

/// A caller may hand back the list of an earlier plan: it is emptied and
/// reused, and the plan is the one `msync` makes.
#[test]
fn msync_reusing_an_old_list_makes_the_same_plan_in_it() {
    let process = two_files_with_a_hole();
    let old = process.space.msync(A, 5 * PAGE, MS_SYNC).ranges;
    assert_eq!(old.len(), 2);
    let capacity = old.capacity();
    let plan = process
        .space
        .msync_reusing(A + 3 * PAGE, PAGE, MS_ASYNC, old);
    assert_eq!(plan, process.space.msync(A + 3 * PAGE, PAGE, MS_ASYNC));
    assert_eq!(ranges(&plan), [(2, 0, 1, A + 3 * PAGE)]);
    assert_eq!(plan.ranges.capacity(), capacity, "the old list's memory");
}

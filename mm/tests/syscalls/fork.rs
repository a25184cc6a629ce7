//! fork's address-space half, as Linux's `dup_mmap` (kernel/fork.c) does it.

use abi::mman::*;
use mm::address_space::FaultAccess;
use mm::address_space::FaultResolution;

use crate::common::{PAGE, Process, RW, rw_file};

const BASE: u64 = 0x4000_0000;

fn madvise(process: &mut Process, addr: u64, len: u64, advice: i32) {
    process.madvise(addr, len, advice).expect("madvise");
}

// man fork: "The child process is created with a single thread ... the
// entire virtual address space of the parent is replicated in the child";
// private pages are shared copy-on-write: read-only in both until a store.
#[test]
fn fork_maps_private_pages_read_only_in_both_address_spaces() {
    let mut process = Process::new();
    process.map_anonymous(BASE, 2 * PAGE);
    let frame = process.touch(BASE);
    assert!(process.store(BASE));
    let (mut child, copied) = process.fork();
    assert_eq!(copied.len(), 1);
    assert_eq!((copied[0].page, copied[0].frame), (BASE, frame));
    assert_eq!(copied[0].file_page, None);
    assert!(!process.store(BASE), "the parent's page must be read-only");
    assert!(!process.memory.user_store(child.page_table_root(), BASE));
    let leaf = child.walker(&process.memory).lookup(BASE).unwrap();
    assert_eq!((leaf.frame, leaf.permissions.writable), (frame, false));
    assert!(process.tlb.invalidated_pages.contains(&BASE));
    for space in [&mut process.space, &mut child] {
        assert!(matches!(
            space.resolve_fault(BASE, FaultAccess::Write, true),
            Ok(FaultResolution::CopyOnWrite { .. })
        ));
    }
    assert_eq!(child.vmas().iter().count(), 1);
}

// Linux copies no page-table entries of a VMA without anonymous pages (a
// shared mapping): the child faults the same file pages in itself, so a
// store in either is seen by the other, and the parent keeps W and D.
#[test]
fn fork_leaves_shared_pages_for_the_child_to_fault_in() {
    let mut process = Process::new();
    process.map_shared_file(BASE, 2 * PAGE, 9, 0);
    process.touch(BASE);
    assert!(process.store(BASE));
    let (mut child, copied) = process.fork();
    assert!(copied.is_empty());
    assert!(process.store(BASE), "a shared page stays writable");
    let leaf = process.space.walker(&process.memory).lookup(BASE).unwrap();
    assert!(leaf.dirty, "the D bit stays where the store was made");
    assert_eq!(child.walker(&process.memory).lookup(BASE), None);
    assert!(matches!(
        child.resolve_fault(BASE, FaultAccess::Write, false),
        Ok(FaultResolution::SharedPage { .. })
    ));
}

// A private file page reaches the child with the file page it shows, so
// the kernel can list the child's mapping of it.
#[test]
fn fork_reports_the_file_page_of_private_file_pages() {
    let mut process = Process::new();
    process
        .mmap(
            BASE,
            2 * PAGE,
            RW,
            MAP_PRIVATE | MAP_FIXED,
            Some(rw_file(4)),
            3 * PAGE,
        )
        .unwrap();
    process.touch(BASE + PAGE);
    let (_, copied) = process.fork();
    let file_page = copied[0].file_page.as_ref().expect("a file page");
    assert_eq!((file_page.file.id(), file_page.index), (4, 4));
}

// man mlock: "Memory locks are not inherited by a child created via
// fork(2)"; man mlockall: nor is MCL_FUTURE.
#[test]
fn fork_does_not_inherit_memory_locks() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    process.space.mlockall(MCL_CURRENT | MCL_FUTURE).unwrap();
    let (mut child, _) = process.fork();
    assert!(!child.find_vma(BASE).unwrap().attrs.locked);
    assert!(process.space.find_vma(BASE).unwrap().attrs.locked);
    let mut parts = process.machine();
    let addr = child
        .mmap(
            mm::address_space::MmapRequest {
                addr: 0,
                len: PAGE,
                prot: RW,
                flags: MAP_PRIVATE | MAP_ANONYMOUS,
                file: None,
                offset: 0,
            },
            &mut parts,
            |_| {},
        )
        .unwrap();
    assert!(!child.find_vma(addr).unwrap().attrs.locked);
}

// man madvise: MADV_DONTFORK "Do not make the pages in this range available
// to the child after a fork(2)".
#[test]
fn fork_leaves_out_dontfork_vmas() {
    let mut process = Process::new();
    process.map_anonymous(BASE, 4 * PAGE);
    process.touch(BASE + PAGE);
    madvise(&mut process, BASE + PAGE, PAGE, MADV_DONTFORK);
    let (child, copied) = process.fork();
    let layout: Vec<(u64, u64)> = child.vmas().iter().map(|v| (v.start, v.end)).collect();
    assert_eq!(
        layout,
        [(BASE, BASE + PAGE), (BASE + 2 * PAGE, BASE + 4 * PAGE)]
    );
    assert!(copied.is_empty());
    madvise(&mut process, BASE, 4 * PAGE, MADV_DOFORK);
    assert_eq!(process.layout(), [(BASE, BASE + 4 * PAGE)], "merged again");
}

// man madvise: MADV_WIPEONFORK "Present the child process with zero-filled
// memory in this range after a fork(2)" — private anonymous memory only.
#[test]
fn fork_gives_wipeonfork_vmas_empty() {
    let mut process = Process::new();
    process.map_anonymous(BASE, 2 * PAGE);
    process.touch(BASE);
    madvise(&mut process, BASE, 2 * PAGE, MADV_WIPEONFORK);
    let (child, copied) = process.fork();
    assert!(copied.is_empty());
    assert_eq!(child.walker(&process.memory).lookup(BASE), None);
    assert!(process.store(BASE), "the parent keeps its page, writable");
    assert_eq!(child.vmas().iter().count(), 1);
}

// The heap goes with the copy.
#[test]
fn fork_copies_the_heap() {
    let mut process = Process::new();
    process.space.set_heap_start(0x40_0000);
    process.brk(0x40_3000);
    let (child, _) = process.fork();
    assert_eq!(child.heap(), 0x40_0000..0x40_3000);
}

// man fork: the child's memory is its own: munmap, mprotect and mlock in
// the child change neither the parent's VMAs nor its page-table entries.
#[test]
fn changes_in_the_child_leave_the_parent_as_it_was() {
    let mut process = Process::new();
    process.map_shared_file(BASE, 2 * PAGE, 9, 0);
    process.map_anonymous(BASE + 4 * PAGE, 2 * PAGE);
    let shared_frame = process.touch(BASE);
    process.touch(BASE + 4 * PAGE);
    let (mut child, _) = process.fork();
    let parent_layout = process.layout();
    let mut machine = process.machine();
    child.mprotect(BASE, PAGE, PROT_READ, &mut machine).unwrap();
    child.mlock(BASE + 4 * PAGE, PAGE).unwrap();
    child
        .munmap(BASE + 4 * PAGE, 2 * PAGE, &mut machine, |_| {})
        .unwrap();
    assert_eq!(process.layout(), parent_layout);
    assert!(
        !process
            .space
            .find_vma(BASE + 4 * PAGE)
            .unwrap()
            .attrs
            .locked
    );
    assert!(
        process.store(BASE),
        "the parent's shared page is still writable"
    );
    let leaf = process.space.walker(&process.memory).lookup(BASE).unwrap();
    assert_eq!(leaf.frame, shared_frame);
    assert!(
        process
            .space
            .walker(&process.memory)
            .lookup(BASE + 4 * PAGE)
            .is_some()
    );
}

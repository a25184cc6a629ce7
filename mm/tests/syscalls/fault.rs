//! Page-fault resolution: which page a user fault maps, or SIGSEGV. Each rule
//! is Linux x86_64 behaviour (mm/memory.c, arch/x86/mm/fault.c).

use crate::common::{PAGE, Process, RW, file, rw_file};
use abi::mman::*;
use mm::address_space::{FaultAccess, FaultResolution, FilePage, PageSource, SegmentationFault};
use mm::walk::PagePermissions;

const BASE: u64 = 0x4000_0000;

fn permissions(writable: bool, executable: bool) -> PagePermissions {
    PagePermissions {
        accessible: true,
        writable,
        executable,
    }
}

/// Linux: an address in no VMA is SIGSEGV (bad_area).
#[test]
fn fault_outside_every_vma_is_segv() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    for addr in [BASE - 1, BASE + PAGE, 0] {
        assert_eq!(
            process.space.resolve_fault(addr, FaultAccess::Read, false),
            Err(SegmentationFault)
        );
    }
}

/// Linux: a write to a VMA without VM_WRITE, an instruction fetch from one
/// without VM_EXEC, or any access to PROT_NONE is SIGSEGV (access_error).
#[test]
fn access_the_protection_forbids_is_segv() {
    let mut process = Process::new();
    let read_only = process
        .mmap(
            BASE,
            PAGE,
            PROT_READ,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    let none = process
        .mmap(
            BASE + 2 * PAGE,
            PAGE,
            PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    let space = &mut process.space;
    assert_eq!(
        space.resolve_fault(read_only, FaultAccess::Write, false),
        Err(SegmentationFault)
    );
    assert_eq!(
        space.resolve_fault(read_only, FaultAccess::Write, true),
        Err(SegmentationFault)
    );
    assert_eq!(
        space.resolve_fault(read_only, FaultAccess::Execute, false),
        Err(SegmentationFault)
    );
    assert_eq!(
        space.resolve_fault(none, FaultAccess::Read, false),
        Err(SegmentationFault)
    );
}

/// x86 cannot map a page writable or executable without making it readable,
/// so Linux lets PROT_WRITE and PROT_EXEC mappings be read.
#[test]
fn write_only_and_exec_only_mappings_are_readable() {
    let mut process = Process::new();
    for (index, prot) in [PROT_WRITE, PROT_EXEC].into_iter().enumerate() {
        let addr = BASE + index as u64 * 2 * PAGE;
        process
            .mmap(
                addr,
                PAGE,
                prot,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                None,
                0,
            )
            .unwrap();
        assert!(
            process
                .space
                .resolve_fault(addr, FaultAccess::Read, false)
                .is_ok()
        );
    }
}

/// Linux: a private anonymous page is demand-zero: the first touch maps a
/// zeroed page with the VMA's permissions.
#[test]
fn private_anonymous_fault_maps_a_zeroed_page() {
    let mut process = Process::new();
    process.map_anonymous(BASE, 4 * PAGE);
    assert_eq!(
        process
            .space
            .resolve_fault(BASE + 2 * PAGE + 123, FaultAccess::Write, false),
        Ok(FaultResolution::ZeroFilled {
            page: BASE + 2 * PAGE,
            permissions: permissions(true, false),
        })
    );
}

/// MAP_SHARED file pages are the page-cache pages themselves, writable when
/// the mapping is (the D bit then records stores for msync).
#[test]
fn shared_file_fault_maps_the_cache_page_at_the_right_index() {
    let mut process = Process::new();
    process.map_shared_file(BASE, 8 * PAGE, 7, 3 * PAGE);
    let resolution = process
        .space
        .resolve_fault(BASE + 5 * PAGE, FaultAccess::Read, false);
    assert_eq!(
        resolution,
        Ok(FaultResolution::SharedPage {
            page: BASE + 5 * PAGE,
            source: PageSource::File(FilePage {
                file: file(7),
                index: 8
            }),
            permissions: permissions(true, false),
        })
    );
}

/// MAP_PRIVATE file pages are copy-on-write: a read maps the cache page
/// read-only, a write gets a private copy with write permission.
#[test]
fn private_file_read_maps_read_only_and_write_copies() {
    let mut process = Process::new();
    process
        .mmap(
            BASE,
            2 * PAGE,
            RW,
            MAP_PRIVATE | MAP_FIXED,
            Some(rw_file(3)),
            0,
        )
        .unwrap();
    let source = FilePage {
        file: file(3),
        index: 1,
    };
    assert_eq!(
        process
            .space
            .resolve_fault(BASE + PAGE, FaultAccess::Read, false),
        Ok(FaultResolution::PrivateFilePage {
            page: BASE + PAGE,
            source: source.clone(),
            permissions: permissions(false, false),
        })
    );
    assert_eq!(
        process
            .space
            .resolve_fault(BASE + PAGE, FaultAccess::Write, false),
        Ok(FaultResolution::PrivateFilePage {
            page: BASE + PAGE,
            source,
            permissions: permissions(true, false),
        })
    );
    assert_eq!(
        process
            .space
            .resolve_fault(BASE + PAGE, FaultAccess::Write, true),
        Ok(FaultResolution::CopyOnWrite {
            page: BASE + PAGE,
            file_page: Some(FilePage {
                file: file(3),
                index: 1,
            }),
            permissions: permissions(true, false),
        })
    );
}

/// MAP_SHARED | MAP_ANONYMOUS pages belong to one object that every mapping
/// of it sees (Linux backs it with shmem).
#[test]
fn shared_anonymous_fault_names_the_object_page() {
    let mut process = Process::new();
    process
        .mmap(
            BASE,
            4 * PAGE,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    let Ok(FaultResolution::SharedPage {
        page,
        source: PageSource::SharedAnonymous { index, .. },
        permissions: granted,
    }) = process
        .space
        .resolve_fault(BASE + 3 * PAGE, FaultAccess::Write, false)
    else {
        panic!("expected a shared anonymous page");
    };
    assert_eq!(
        (page, index, granted),
        (BASE + 3 * PAGE, 3, permissions(true, false))
    );
}

/// Linux (`do_wp_page` on a VM_SHARED VMA): a store to a shared page that
/// was mapped read-only before mprotect added PROT_WRITE makes that very
/// page writable — the frame stays, and the store is recorded in its D bit.
#[test]
fn store_after_mprotect_adds_write_to_shared_page_grants_write_in_place() {
    let mut process = Process::new();
    process
        .mmap(
            BASE,
            2 * PAGE,
            PROT_READ,
            MAP_SHARED | MAP_FIXED,
            Some(rw_file(4)),
            0,
        )
        .unwrap();
    let frame = process.touch(BASE);
    process.mprotect(BASE, 2 * PAGE, RW).unwrap();
    assert!(!process.store(BASE), "mprotect must not grant W itself");
    assert_eq!(
        process
            .space
            .resolve_fault(BASE + 8, FaultAccess::Write, true),
        Ok(FaultResolution::GrantWrite {
            page: BASE,
            permissions: permissions(true, false),
        })
    );
    let flush = process
        .space
        .walker(&process.memory)
        .grant_write(BASE)
        .expect("a present leaf");
    flush.invalidate(&mut process.tlb);
    assert!(process.store(BASE));
    let leaf = process.space.walker(&process.memory).lookup(BASE).unwrap();
    assert_eq!((leaf.frame, leaf.dirty), (frame, true));
}

/// The same after PROT_NONE and back: the frame kept through PROT_NONE is
/// present again without W, and the first store grants W to it.
#[test]
fn store_after_prot_none_and_back_grants_write_to_the_kept_page() {
    let mut process = Process::new();
    process
        .mmap(
            BASE,
            PAGE,
            RW,
            MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
            None,
            0,
        )
        .unwrap();
    let frame = process.touch(BASE);
    process.mprotect(BASE, PAGE, PROT_NONE).unwrap();
    process.mprotect(BASE, PAGE, RW).unwrap();
    assert!(!process.store(BASE));
    assert_eq!(
        process.space.resolve_fault(BASE, FaultAccess::Write, true),
        Ok(FaultResolution::GrantWrite {
            page: BASE,
            permissions: permissions(true, false),
        })
    );
    let mut walker = process.space.walker(&process.memory);
    walker
        .grant_write(BASE)
        .unwrap()
        .invalidate(&mut process.tlb);
    assert_eq!(walker.lookup(BASE).map(|leaf| leaf.frame), Some(frame));
    assert!(process.store(BASE));
}

/// A present page that already allows a read or an instruction fetch can
/// only fault through a stale TLB entry: nothing is mapped, the access runs
/// again.
#[test]
fn read_fault_on_present_page_is_spurious() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    process.touch(BASE);
    assert_eq!(
        process.space.resolve_fault(BASE, FaultAccess::Read, true),
        Ok(FaultResolution::Spurious { page: BASE })
    );
}

/// `replace_frame` swaps the frame of a mapped page in one store and hands
/// the old leaf, with its A and D bits, out only after the TLB flush.
#[test]
fn replace_frame_hands_out_the_old_leaf_after_the_flush() {
    let mut process = Process::new();
    process.map_anonymous(BASE, PAGE);
    let old = process.touch(BASE);
    assert!(process.store(BASE));
    let copy = mm::frame::PhysAddr::new(old.as_u64() + 64 * PAGE);
    // SAFETY: a fake user frame outside the emulated memory, never
    // dereferenced.
    let pending = unsafe {
        process
            .space
            .walker(&process.memory)
            .replace_frame(BASE, copy, permissions(true, false))
    }
    .expect("a mapped leaf");
    let mut released = Vec::new();
    pending.finish(&mut process.tlb, &mut process.frames, |leaf| {
        released.push(leaf)
    });
    assert_eq!(process.tlb.invalidated_pages, vec![BASE]);
    assert_eq!(released.len(), 1);
    assert_eq!((released[0].frame, released[0].dirty), (old, true));
    let leaf = process.space.walker(&process.memory).lookup(BASE).unwrap();
    assert_eq!((leaf.frame, leaf.dirty), (copy, false));
}

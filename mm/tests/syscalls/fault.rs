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
    let space = &process.space;
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

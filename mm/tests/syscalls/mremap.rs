//! mremap(2), pinned against Linux 6.1 (probed in QEMU where the man page
//! is silent).

use abi::Errno;
use abi::mman::{
    MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE,
};
use mm::address_space::{FaultAccess, FaultResolution, MovedPage, MremapRequest, Remapped};

use crate::common::{PAGE, Process, RW, file, rw_file};

const A: u64 = 0x10_0000;
const B: u64 = 0x80_0000;

fn request(addr: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> MremapRequest {
    MremapRequest {
        addr,
        old_len,
        new_len,
        flags,
        new_addr,
    }
}

/// The answer's address alone.
fn remap(process: &mut Process, request: MremapRequest) -> Result<u64, Errno> {
    process.mremap(request).0.map(|remapped| remapped.addr)
}

// man mremap: "EINVAL An invalid argument was given. Possible causes are: old_address was not
// page aligned; a value other than MREMAP_MAYMOVE or MREMAP_FIXED or MREMAP_DONTUNMAP was
// specified in flags; new_size was zero; ... MREMAP_FIXED ... without also specifying
// MREMAP_MAYMOVE; MREMAP_DONTUNMAP was specified, but one or more of ... old_size was not
// equal to new_size ... MREMAP_MAYMOVE was not specified".
#[test]
fn mremap_argument_errors_are_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    let cases = [
        request(A + 8, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0),
        request(A, PAGE, 2 * PAGE, 8, 0),
        request(A, PAGE, 0, MREMAP_MAYMOVE, 0),
        request(A, PAGE, PAGE, MREMAP_FIXED, B),
        request(A, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0),
        request(A, PAGE, PAGE, MREMAP_DONTUNMAP, 0),
        request(A, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, B + 8),
    ];
    for case in cases {
        assert_eq!(remap(&mut process, case), Err(Errno::EINVAL), "{case:?}");
    }
    assert_eq!(process.layout(), vec![(A, A + 2 * PAGE)]);
}

// man mremap: "EINVAL ... new_address and old_address overlap" (with MREMAP_FIXED).
#[test]
fn mremap_fixed_onto_the_old_range_is_einval() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(
        remap(
            &mut process,
            request(A, 2 * PAGE, 2 * PAGE, flags, A + PAGE)
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(process.layout(), vec![(A, A + 4 * PAGE)]);
}

// man mremap: "EFAULT Some address in the range old_address to old_address+old_size is an
// invalid virtual memory address for this process." Linux vma_to_resize: also when the range
// leaves the VMA that holds old_address, even into an adjacent one.
#[test]
fn mremap_of_unmapped_or_straddling_ranges_is_efault() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    process.map_shared_file(A + PAGE, PAGE, 1, 0);
    assert_eq!(
        remap(&mut process, request(B, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0)),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        remap(
            &mut process,
            request(A, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0)
        ),
        Err(Errno::EFAULT)
    );
}

// Linux vma_to_resize: an old_size of 0 duplicates a shared mapping; of a private one it would
// only make an unrelated new mapping, so it is EINVAL.
#[test]
fn mremap_zero_old_size_duplicates_only_shared_mappings() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    assert_eq!(
        remap(&mut process, request(A, 0, PAGE, MREMAP_MAYMOVE, 0)),
        Err(Errno::EINVAL)
    );
    process.map_shared_file(B, PAGE, 7, 0);
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(
        remap(&mut process, request(B, 0, 2 * PAGE, flags, B + 4 * PAGE)),
        Ok(B + 4 * PAGE)
    );
    let old = process.space.find_vma(B).unwrap().clone();
    let new = process.space.find_vma(B + 4 * PAGE).unwrap().clone();
    assert_eq!(old.attrs.backing, new.attrs.backing);
    assert_eq!((new.start, new.end), (B + 4 * PAGE, B + 6 * PAGE));
}

// man mremap: shrinking unmaps the tail; Linux returns old_address without looking at whether
// anything was mapped there.
#[test]
fn mremap_shrink_unmaps_the_tail() {
    let mut process = Process::new();
    process.map_shared_file(A, 3 * PAGE, 1, 0);
    process.touch(A + 2 * PAGE);
    assert_eq!(remap(&mut process, request(A, 3 * PAGE, PAGE, 0, 0)), Ok(A));
    assert_eq!(process.layout(), vec![(A, A + PAGE)]);
    assert_eq!(process.unmapped.len(), 1);
    assert_eq!(process.unmapped[0].leaf.page, A + 2 * PAGE);
    assert_eq!(remap(&mut process, request(B, PAGE, PAGE, 0, 0)), Ok(B));
}

// man mremap: without MREMAP_MAYMOVE a mapping grows in place or "ENOMEM ... the memory area
// cannot be expanded at the current virtual address". Linux grows in place only when the old
// range reaches the end of its VMA.
#[test]
fn mremap_grows_in_place_when_the_space_after_is_free() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    assert_eq!(
        remap(&mut process, request(A, 2 * PAGE, 4 * PAGE, 0, 0)),
        Ok(A)
    );
    assert_eq!(process.layout(), vec![(A, A + 4 * PAGE)]);
    assert_eq!(
        remap(&mut process, request(A, 2 * PAGE, 8 * PAGE, 0, 0)),
        Err(Errno::ENOMEM),
        "the old range does not reach the end of the VMA"
    );
    process.map_anonymous(A + 5 * PAGE, PAGE);
    assert_eq!(
        remap(&mut process, request(A, 4 * PAGE, 6 * PAGE, 0, 0)),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        process.layout(),
        vec![(A, A + 4 * PAGE), (A + 5 * PAGE, A + 6 * PAGE)]
    );
}

// man mremap: MREMAP_MAYMOVE lets the kernel relocate the mapping. The page-table entries
// move as they are: a frame keeps its A/D bits (a dirty page stays dirty for msync) and a
// copy-on-write page stays read-only. The old range is unmapped and its TLB entries dropped.
#[test]
fn mremap_maymove_moves_the_entries_as_they_are() {
    let mut process = Process::new();
    process.map_shared_file(A, 2 * PAGE, 3, 5 * PAGE);
    process.map_anonymous(A + 2 * PAGE, PAGE);
    let frame = process.touch(A + PAGE);
    assert!(process.store(A + PAGE));
    let (result, moved) = process.mremap(request(A, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0));
    let Remapped { addr: to, populate } = result.unwrap();
    assert_ne!(to, A);
    assert_eq!(populate, None);
    assert_eq!(
        moved,
        vec![MovedPage {
            from: A + PAGE,
            to: to + PAGE,
            frame,
            file_page: Some(mm::address_space::FilePage {
                file: file(3),
                index: 6
            }),
        }]
    );
    assert_eq!(process.space.walker(&process.memory).lookup(A + PAGE), None);
    let leaf = process
        .space
        .walker(&process.memory)
        .lookup(to + PAGE)
        .unwrap();
    assert_eq!((leaf.frame, leaf.dirty), (frame, true));
    assert!(process.tlb.invalidated_pages.contains(&(A + PAGE)));
    let dirty = process
        .space
        .walker(&process.memory)
        .clear_dirty(to..to + 4 * PAGE)
        .invalidate_tlb(&mut process.tlb);
    assert_eq!(
        dirty.len(),
        1,
        "a dirty scan of the new range finds the page"
    );
    assert_eq!(dirty[0].page, to + PAGE);
    let vma = process.space.find_vma(to).unwrap();
    assert_eq!((vma.start, vma.end), (to, to + 4 * PAGE));
    assert_eq!(vma.file_page(to), Some((file(3), 5)));
    assert_eq!(process.layout()[0], (A + 2 * PAGE, A + 3 * PAGE));
}

// Linux move_vma of a private page shared with a forked child: the entry stays read-only, so
// the first store after the move still copies.
#[test]
fn mremap_keeps_copy_on_write_pages_read_only() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    let frame = process.touch(A);
    let (_child, _) = process.fork();
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(remap(&mut process, request(A, PAGE, PAGE, flags, B)), Ok(B));
    let leaf = process.space.walker(&process.memory).lookup(B).unwrap();
    assert_eq!((leaf.frame, leaf.permissions.writable), (frame, false));
    assert!(matches!(
        process.space.resolve_fault(B, FaultAccess::Write, true),
        Ok(FaultResolution::CopyOnWrite { page: B, .. })
    ));
}

// man mremap: with MREMAP_FIXED "any previous mapping at the address range specified by
// new_address and new_size is unmapped"; a part of a VMA moves alone, splitting it.
#[test]
fn mremap_fixed_replaces_the_target_and_splits_the_source() {
    let mut process = Process::new();
    process.map_anonymous(A, 3 * PAGE);
    process
        .mmap(B, 2 * PAGE, RW, MAP_SHARED | MAP_FIXED, Some(rw_file(2)), 0)
        .unwrap();
    process.touch(B);
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(
        remap(&mut process, request(A + PAGE, PAGE, PAGE, flags, B)),
        Ok(B)
    );
    assert_eq!(process.unmapped.len(), 1);
    assert_eq!(process.unmapped[0].leaf.page, B);
    assert_eq!(
        process.layout(),
        vec![
            (A, A + PAGE),
            (A + 2 * PAGE, A + 3 * PAGE),
            (B, B + PAGE),
            (B + PAGE, B + 2 * PAGE)
        ]
    );
    assert!(process.space.find_vma(B).unwrap().page_source(B).is_none());
}

// man mremap: MREMAP_DONTUNMAP "the mapping is moved to a new address but the original
// mapping is not unmapped"; its pages went with the move (private anonymous memory then reads
// zeros), and Linux clears VM_LOCKED from what stays.
#[test]
fn mremap_dontunmap_leaves_the_old_range_mapped_and_empty() {
    let mut process = Process::new();
    process.map_anonymous(A, 2 * PAGE);
    process.space.mlock(A, 2 * PAGE).unwrap();
    let frame = process.touch(A);
    let flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
    let to = remap(&mut process, request(A, 2 * PAGE, 2 * PAGE, flags, 0)).unwrap();
    assert_ne!(to, A);
    let old = process.space.find_vma(A).unwrap();
    assert_eq!(
        (old.start, old.end, old.attrs.locked),
        (A, A + 2 * PAGE, false)
    );
    assert!(process.space.find_vma(to).unwrap().attrs.locked);
    assert_eq!(process.space.walker(&process.memory).lookup(A), None);
    let leaf = process.space.walker(&process.memory).lookup(to).unwrap();
    assert_eq!(leaf.frame, frame);
    assert!(matches!(
        process.space.resolve_fault(A, FaultAccess::Read, false),
        Ok(FaultResolution::ZeroFilled { .. })
    ));
}

// man mremap: "If the memory segment specified by old_address and old_size is locked (using
// mlock(2) or similar), then this lock is maintained when the segment is resized and/or
// relocated. As a consequence, the amount of memory locked by the process may change." Linux
// populates what a locked mapping gained.
#[test]
fn mremap_of_a_locked_mapping_populates_what_it_gained() {
    let mut process = Process::new();
    process.map_anonymous(A, PAGE);
    process.space.mlock(A, PAGE).unwrap();
    let (grown, _) = process.mremap(request(A, PAGE, 3 * PAGE, 0, 0));
    assert_eq!(
        grown,
        Ok(Remapped {
            addr: A,
            populate: Some(A + PAGE..A + 3 * PAGE)
        })
    );
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    let (moved, _) = process.mremap(request(A, 3 * PAGE, 4 * PAGE, flags, B));
    assert_eq!(
        moved,
        Ok(Remapped {
            addr: B,
            populate: Some(B + 3 * PAGE..B + 4 * PAGE)
        })
    );
    assert!(process.space.find_vma(B).unwrap().attrs.locked);

    process.map_anonymous(A, PAGE);
    process
        .space
        .mlock2(A, PAGE, abi::mman::MLOCK_ONFAULT)
        .unwrap();
    let (on_fault, _) = process.mremap(request(A, PAGE, 2 * PAGE, 0, 0));
    assert_eq!(on_fault.unwrap().populate, None);
}

// A private file mapping that moves keeps its place in the file: the pages after the move
// come from the same file pages.
#[test]
fn mremap_of_a_private_file_mapping_keeps_the_file_offset() {
    let mut process = Process::new();
    process
        .mmap(
            A,
            4 * PAGE,
            RW,
            MAP_PRIVATE | MAP_FIXED,
            Some(rw_file(4)),
            2 * PAGE,
        )
        .unwrap();
    let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(
        remap(
            &mut process,
            request(A + 2 * PAGE, 2 * PAGE, 2 * PAGE, flags, B)
        ),
        Ok(B)
    );
    assert_eq!(
        process.space.find_vma(B).unwrap().file_page(B + PAGE),
        Some((file(4), 5))
    );
}

use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE,
    MS_SYNC, PROT_READ,
};
use mm::address_space::{FileMapping, Layout, USER_END, USER_START};
use mm::vma::{Backing, Protection, Sharing};

use crate::common::{PAGE, Process, RW, file, ro_file, rw_file};

const ANON: u64 = MAP_PRIVATE | MAP_ANONYMOUS;
const A: u64 = 0x10_0000;

// man mmap: "EINVAL (since Linux 2.6.12) length was 0."
#[test]
fn mmap_zero_length_is_einval() {
    let mut process = Process::new();
    assert_eq!(process.mmap(0, 0, RW, ANON, None, 0), Err(Errno::EINVAL));
}

// man mmap: "EINVAL We don't like addr, length, or offset (e.g., ... not aligned on a page
// boundary)." Linux x86_64 sys_mmap checks the offset first, even for anonymous mappings.
#[test]
fn mmap_unaligned_offset_is_einval() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(0, PAGE, RW, ANON, None, 100),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.mmap(0, PAGE, RW, MAP_SHARED, None, 100),
        Err(Errno::EINVAL)
    );
}

// man mmap: "EBADF fd is not a valid file descriptor (and MAP_ANONYMOUS was not set)."
#[test]
fn mmap_file_mapping_without_a_file_is_ebadf() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(0, PAGE, RW, MAP_SHARED, None, 0),
        Err(Errno::EBADF)
    );
}

// man mmap: "EINVAL flags contained none of MAP_PRIVATE, MAP_SHARED, or MAP_SHARED_VALIDATE."
#[test]
fn mmap_neither_shared_nor_private_is_einval() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(0, PAGE, RW, MAP_ANONYMOUS, None, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.mmap(0, PAGE, RW, 0, Some(rw_file(1)), 0),
        Err(Errno::EINVAL)
    );
    assert!(process.space.vmas().is_empty());
}

// Linux: MAP_SHARED | MAP_PRIVATE is the value MAP_SHARED_VALIDATE, a shared mapping.
#[test]
fn mmap_shared_validate_maps_the_file_shared() {
    let mut process = Process::new();
    let addr = process
        .mmap(
            A,
            PAGE,
            RW,
            MAP_SHARED_VALIDATE | MAP_FIXED,
            Some(rw_file(3)),
            0,
        )
        .unwrap();
    assert_eq!(addr, A);
    assert_eq!(
        process.space.find_vma(A).unwrap().attrs.sharing,
        Sharing::Shared
    );
    assert_eq!(process.space.msync(A, PAGE, MS_SYNC).ranges.len(), 1);
}

// man mmap: MAP_SHARED_VALIDATE "... mmap() will fail with the error EOPNOTSUPP" for unknown
// flags; with plain MAP_SHARED Linux ignores them (LEGACY_MAP_MASK), bits above 31 included.
#[test]
fn mmap_shared_validate_with_unknown_flag_is_eopnotsupp() {
    let mut process = Process::new();
    for unknown in [0x8000_0000, 1 << 32, 0x200] {
        assert_eq!(
            process.mmap(
                0,
                PAGE,
                RW,
                MAP_SHARED_VALIDATE | unknown,
                Some(rw_file(1)),
                0
            ),
            Err(Errno::EOPNOTSUPP),
            "flag {unknown:#x}"
        );
        assert!(
            process
                .mmap(0, PAGE, RW, MAP_SHARED | unknown, Some(rw_file(1)), 0)
                .is_ok()
        );
    }
}

// Linux 6.x do_mmap: the anonymous switch knows MAP_SHARED and MAP_PRIVATE only, so
// MAP_SHARED_VALIDATE | MAP_ANONYMOUS falls to `default: return -EINVAL`.
#[test]
fn mmap_anonymous_shared_validate_is_einval() {
    let mut process = Process::new();
    let flags = MAP_SHARED_VALIDATE | MAP_ANONYMOUS;
    assert_eq!(
        process.mmap(0, PAGE, RW, flags, None, 0),
        Err(Errno::EINVAL)
    );
}

// man mmap: MAP_FIXED "addr must be suitably aligned"; Linux get_unmapped_area: EINVAL for
// an offset in the page.
#[test]
fn mmap_fixed_unaligned_addr_is_einval() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(A + 1, PAGE, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        process.mmap(A + 1, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, None, 0),
        Err(Errno::EINVAL)
    );
}

// Linux security_mmap_addr: below mmap_min_addr only a process with CAP_SYS_RAWIO may map —
// root, as every process here is — so MAP_FIXED at 0 works (probed on Linux 6.1 as root).
#[test]
fn mmap_fixed_at_zero_works_as_for_root() {
    let mut process = Process::new();
    assert_eq!(process.mmap(0, PAGE, RW, ANON | MAP_FIXED, None, 0), Ok(0));
    process.touch(0);
    assert!(process.store(0));
    assert_eq!(process.munmap(0, PAGE), Ok(()));
}

// Linux get_unmapped_area: `if (addr > TASK_SIZE - len) return -ENOMEM;`
#[test]
fn mmap_fixed_past_user_end_is_enomem() {
    let mut process = Process::new();
    let addr = USER_END - PAGE;
    assert_eq!(
        process.mmap(addr, 2 * PAGE, RW, ANON | MAP_FIXED, None, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        process.mmap(addr, PAGE, RW, ANON | MAP_FIXED, None, 0),
        Ok(addr)
    );
}

// Linux do_mmap: `len = PAGE_ALIGN(len); if (!len) return -ENOMEM;` — rounding overflows.
#[test]
fn mmap_length_overflowing_when_rounded_is_enomem() {
    let mut process = Process::new();
    assert_eq!(
        process.mmap(0, u64::MAX, RW, ANON, None, 0),
        Err(Errno::ENOMEM)
    );
}

// man mmap: "ENOMEM No memory is available" — here: no free range is large enough.
#[test]
fn mmap_without_a_large_enough_gap_is_enomem() {
    let mut process = Process::new();
    process.map_anonymous(0x4000_0000, PAGE);
    let everything = USER_END - USER_START;
    assert_eq!(
        process.mmap(0, everything, RW, ANON, None, 0),
        Err(Errno::ENOMEM)
    );
    assert_eq!(
        process.mmap(0, USER_END + PAGE, RW, ANON, None, 0),
        Err(Errno::ENOMEM)
    );
}

// man mmap: "The length ... rounded up to a multiple of the page size."
#[test]
fn mmap_length_is_rounded_up_to_whole_pages() {
    let mut process = Process::new();
    let addr = process.mmap(A, 1, RW, ANON | MAP_FIXED, None, 0).unwrap();
    assert_eq!(process.layout(), [(addr, addr + PAGE)]);
}

// man mmap: without MAP_FIXED "the kernel takes [addr] as a hint about where to place the
// mapping"; Linux honours a free hint.
#[test]
fn mmap_honours_a_free_hint() {
    let mut process = Process::new();
    assert_eq!(process.mmap(A + 123, 2 * PAGE, RW, ANON, None, 0), Ok(A));
}

// Linux x86_64 arch_get_unmapped_area_topdown: without a usable hint the highest gap below
// mmap_base is taken, and mappings stack downwards.
#[test]
fn mmap_without_hint_places_top_down_below_the_mmap_base() {
    let mut process = Process::new();
    let base = Layout::default().mmap_base;
    let first = process.mmap(0, 2 * PAGE, RW, ANON, None, 0).unwrap();
    assert_eq!(first, base - 2 * PAGE);
    let second = process.mmap(0, PAGE, PROT_READ, ANON, None, 0).unwrap();
    assert_eq!(second, base - 3 * PAGE);
    let occupied_hint = process.mmap(first, PAGE, PROT_READ, ANON, None, 0).unwrap();
    assert_eq!(occupied_hint, base - 4 * PAGE);
}

// Linux x86_64 falls back to a bottom-up search from TASK_UNMAPPED_BASE when nothing fits
// below mmap_base.
#[test]
fn mmap_falls_back_to_bottom_up_above_the_legacy_base() {
    let layout = Layout {
        mmap_base: 0x10_0000,
        legacy_mmap_base: 0x4000_0000,
    };
    let mut process = Process::with_layout(layout);
    assert_eq!(
        process.mmap(0, 0x10_0000, RW, ANON, None, 0),
        Ok(0x4000_0000)
    );
    assert_eq!(process.mmap(0, 0xf_0000, RW, ANON, None, 0), Ok(0x1_0000));
}

// man mmap: MAP_FIXED "If the memory region ... overlaps pages of any existing mapping(s),
// then the overlapped part of the existing mapping(s) will be discarded."
#[test]
fn mmap_fixed_replaces_what_was_mapped_including_page_tables() {
    let mut process = Process::new();
    process.map_anonymous(A, 4 * PAGE);
    process.touch(A + PAGE);
    process.touch(A + 2 * PAGE);
    process.map_shared_file(A + PAGE, PAGE, 9, 0);
    assert_eq!(
        process.layout(),
        [
            (A, A + PAGE),
            (A + PAGE, A + 2 * PAGE),
            (A + 2 * PAGE, A + 4 * PAGE)
        ]
    );
    let unmapped: Vec<u64> = process.unmapped.iter().map(|p| p.leaf.page).collect();
    assert_eq!(unmapped, [A + PAGE]);
    let mut walker = process.space.walker(&process.memory);
    assert_eq!(walker.lookup(A + PAGE), None);
    assert!(walker.lookup(A + 2 * PAGE).is_some());
}

// man mmap: MAP_FIXED_NOREPLACE "If the requested range would collide with an existing
// mapping, then this call fails with the error EEXIST."
#[test]
fn mmap_fixed_noreplace_over_a_mapping_is_eexist() {
    let mut process = Process::new();
    process.map_anonymous(A + PAGE, PAGE);
    let flags = ANON | MAP_FIXED_NOREPLACE;
    assert_eq!(
        process.mmap(A, 2 * PAGE, RW, flags, None, 0),
        Err(Errno::EEXIST)
    );
    assert_eq!(process.mmap(A, PAGE, PROT_READ, flags, None, 0), Ok(A));
    assert_eq!(process.layout(), [(A, A + PAGE), (A + PAGE, A + 2 * PAGE)]);
}

// man mmap: "EACCES ... MAP_SHARED was requested and PROT_WRITE is set, but fd is not open in
// read/write (O_RDWR) mode."
#[test]
fn mmap_shared_writable_mapping_of_read_only_file_is_eacces() {
    let mut process = Process::new();
    let read_only = ro_file(1);
    assert_eq!(
        process.mmap(0, PAGE, RW, MAP_SHARED, Some(read_only.clone()), 0),
        Err(Errno::EACCES)
    );
    assert!(
        process
            .mmap(0, PAGE, RW, MAP_PRIVATE, Some(read_only), 0)
            .is_ok()
    );
}

// man mmap: "EACCES A file descriptor refers to a non-regular file. Or a file mapping was
// requested, but fd is not open for reading."
#[test]
fn mmap_of_file_not_open_for_reading_is_eacces() {
    let mut process = Process::new();
    let write_only = FileMapping {
        file: file(1),
        readable: false,
        writable: true,
    };
    assert_eq!(
        process.mmap(0, PAGE, PROT_READ, MAP_PRIVATE, Some(write_only), 0),
        Err(Errno::EACCES)
    );
}

// man mmap: "EOVERFLOW ... the number of pages used for length plus number of pages used for
// offset would overflow" — Linux file_mmap_ok against MAX_LFS_FILESIZE.
#[test]
fn mmap_past_the_largest_file_offset_is_eoverflow() {
    let mut process = Process::new();
    let offset = (i64::MAX as u64 + 1) - PAGE;
    assert_eq!(
        process.mmap(0, 2 * PAGE, RW, MAP_SHARED, Some(rw_file(1)), offset),
        Err(Errno::EOVERFLOW)
    );
}

// The VMA records what was asked: protection, sharing, file and page offset.
#[test]
fn mmap_records_protection_sharing_and_file_offset() {
    let mut process = Process::new();
    process.map_shared_file(A, 2 * PAGE, 4, 3 * PAGE);
    let vma = process.space.find_vma(A + PAGE).unwrap();
    assert_eq!(vma.attrs.protection, Protection::READ | Protection::WRITE);
    assert_eq!(vma.attrs.sharing, Sharing::Shared);
    assert_eq!(
        vma.attrs.backing,
        Backing::File {
            file: file(4),
            page_offset: 3
        }
    );
}

//! The storage cases' files: what the runner puts on the ext2 root before
//! the boot (`mke2fs -d` copies a directory the functions here fill), and
//! what it expects to find there afterwards.
//!
//! The other halves are `user/c/fs_checks.c` (the `fs-checks-*` cases) and
//! `kernel/src/fs/tests.rs` (the `kernel-fs-*` case): keep the names, sizes,
//! seeds and offsets here in step with them. Every file byte that holds data
//! is `pattern_byte(seed, offset)` (`user/c/pattern.h`).

use crate::cases::Context;
use crate::guest::pattern_byte;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

/// The files `fs_checks` reads, under `/data`: name, size, seed.
const INPUT_FILES: [(&str, u64, u64); 6] = [
    ("empty", 0, 11),
    ("one", 1, 12),
    ("4095", 4095, 13),
    ("4096", 4096, 14),
    // Past the 12 direct blocks at 1 KiB: an indirect block.
    ("12k1", 12 * 1024 + 1, 15),
    // Past 12 + 256 blocks at 1 KiB (and 12 + 1024 at 4 KiB): double indirect.
    ("5m", 5 << 20, 16),
];

/// `/data/sparse`: its size, seed, and the only ranges holding data
/// (offset, length); everything else is a hole.
const SPARSE_SIZE: u64 = 8 << 20;
const SPARSE_SEED: u64 = 17;
const SPARSE_EXTENTS: [(u64, u64); 4] = [
    (0, 4096),
    ((1 << 20) + 100, 4900),
    ((5 << 20) - 10, 20),
    (SPARSE_SIZE - 3, 3),
];

/// The pattern of `seed` over file offsets `range`.
fn pattern(seed: u64, range: std::ops::Range<u64>) -> Vec<u8> {
    range.map(|offset| pattern_byte(seed, offset)).collect()
}

fn write_pattern_file(path: &Path, size: u64, seed: u64) -> std::io::Result<()> {
    std::fs::write(path, pattern(seed, 0..size))
}

/// The contents of `/data/sparse` as the runner made it.
fn sparse_contents() -> Vec<u8> {
    let mut bytes = vec![0; SPARSE_SIZE as usize];
    for (offset, len) in SPARSE_EXTENTS {
        let range = offset as usize..(offset + len) as usize;
        bytes[range].copy_from_slice(&pattern(SPARSE_SEED, offset..offset + len));
    }
    bytes
}

/// Fills the root directory of the `fs-checks-*` cases.
pub fn fs_check_files(root: &Path) -> std::io::Result<()> {
    let data = root.join("data");
    std::fs::create_dir_all(&data)?;
    for (name, size, seed) in INPUT_FILES {
        write_pattern_file(&data.join(name), size, seed)?;
    }
    let mut sparse = std::fs::File::create(data.join("sparse"))?;
    sparse.set_len(SPARSE_SIZE)?;
    for (offset, len) in SPARSE_EXTENTS {
        sparse.seek(SeekFrom::Start(offset))?;
        sparse.write_all(&pattern(SPARSE_SEED, offset..offset + len))?;
    }
    Ok(())
}

/// What each file holds after `fs_checks` ran: the input files it changed
/// (and some it must not have), and the files it made under `/out`.
fn fs_checks_expected() -> Vec<(&'static str, Vec<u8>)> {
    // `append`: 5000 more bytes of the file's own pattern.
    let appended = pattern(13, 0..4095 + 5000);
    // `overwrite_double_indirect`: seed 60 over [1 MiB + 123, +70000).
    let mut five = pattern(16, 0..5 << 20);
    let start = (1 << 20) + 123;
    five[start as usize..(start + 70000) as usize]
        .copy_from_slice(&pattern(60, start..start + 70000));
    // `write_into_hole`: seed 70 over [3 MiB - 17, +4130).
    let mut sparse = sparse_contents();
    let start = (3 << 20) - 17;
    sparse[start as usize..(start + 4130) as usize]
        .copy_from_slice(&pattern(70, start..start + 4130));
    // `direct_write`: seed 55 in the first 4 KiB, then seed 56 to 3 MiB + 12 KiB.
    let mut direct = pattern(55, 0..4096);
    direct.extend(pattern(56, 4096..(3 << 20) + 12288));
    // `truncate_shrink_then_grow`: 1000 bytes of seed 51, zeros to 20000.
    let mut grown = pattern(51, 0..1000);
    grown.resize(20000, 0);
    vec![
        ("/data/empty", Vec::new()),
        ("/data/one", pattern(12, 0..1)),
        ("/data/4096", pattern(14, 0..4096)),
        ("/data/4095", appended),
        ("/data/5m", five),
        ("/data/12k1", pattern(15, 0..5000)),
        ("/data/sparse", sparse),
        ("/out/new", pattern(50, 0..10000)),
        ("/out/grown", grown),
        ("/out/mapped", pattern(52, 0..3 * 4096)),
        ("/out/sub/file", pattern(53, 0..100)),
        ("/out/direct", direct),
        ("/out/direct-fault", Vec::new()),
    ]
}

/// After `fs_checks`: e2fsck finds the image clean, each file holds exactly
/// the bytes expected, and the unlinked file is gone.
pub fn check_fs_checks_image(cx: &Context) -> Result<(), String> {
    let image = cx.disk_image.ok_or("the case has no disk")?;
    crate::rootfs::check_clean(image)?;
    for (path, expected) in fs_checks_expected() {
        let found = crate::rootfs::read_file(image, path)?;
        if found != expected {
            let first_difference = found
                .iter()
                .zip(&expected)
                .position(|(found, expected)| found != expected)
                .unwrap_or(found.len().min(expected.len()));
            return Err(format!(
                "{path} on the disk: {} bytes, expected {}; first difference at offset {first_difference}",
                found.len(),
                expected.len()
            ));
        }
    }
    for path in ["/out/doomed", "/out/sub/doomed"] {
        if crate::rootfs::exists(image, path)? {
            return Err(format!("{path} was unlinked but is still on the disk"));
        }
    }
    Ok(())
}

/// The files `kernel/src/fs/tests.rs` uses, under `/kt`: name, size, seed.
const KERNEL_TEST_FILES: [(&str, u64, u64); 4] = [
    ("contiguous.bin", 2 << 20, 20),
    ("eio.bin", 8192, 21),
    ("truncate.bin", 3 * 4096, 22),
    ("bench.bin", 16 << 20, 23),
];

/// The file whose first block's first write the `kernel-fs-*` case fails.
pub const KERNEL_EIO_FILE: &str = "/kt/eio.bin";

/// Fills the root directory of the `kernel-fs-*` case.
pub fn kernel_test_files(root: &Path) -> std::io::Result<()> {
    let dir = root.join("kt");
    std::fs::create_dir_all(&dir)?;
    for (name, size, seed) in KERNEL_TEST_FILES {
        write_pattern_file(&dir.join(name), size, seed)?;
    }
    Ok(())
}

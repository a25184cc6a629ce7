//! Reading a directory from a position, as getdents64 does: resuming after
//! a full buffer, across blocks, and after entries went away.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::support::{MemoryDisk, Mkfs, Scratch, mount, now, unlink_and_release};
use crate::{DirEntry, Ext2, InodeNumber, ROOT_INODE};

/// 51-byte names: 60-byte records, 16 in the first 1 KiB block (after `.`
/// and `..`) and 17 in each further one.
fn name(index: usize) -> String {
    format!("a-rather-long-file-name-to-fill-blocks-quickly-{index:04}")
}

/// A directory `many` holding `count` files named by [`name`].
fn directory_with(fs: &mut Ext2<MemoryDisk>, count: usize) -> InodeNumber {
    let time = now();
    let dir = fs.mkdir(ROOT_INODE, b"many", 0o755, time).unwrap();
    for index in 0..count {
        fs.create(dir, name(index).as_bytes(), 0o644, time).unwrap();
    }
    dir
}

/// Reads a directory from `position` to its end, `chunk` entries at a
/// time, each call resuming at the `next_position` of the last entry of
/// the call before.
fn read_in_chunks(
    fs: &mut Ext2<MemoryDisk>,
    dir: InodeNumber,
    mut position: u64,
    chunk: usize,
) -> Vec<DirEntry> {
    let mut entries = Vec::new();
    loop {
        let batch = fs.read_dir_at(dir, position, chunk).unwrap();
        assert!(batch.len() <= chunk);
        let Some(last) = batch.last() else {
            return entries;
        };
        position = last.next_position;
        entries.extend(batch);
    }
}

fn text(entry: &DirEntry) -> &str {
    std::str::from_utf8(&entry.name).unwrap()
}

#[test]
fn read_dir_at_resumes_across_block_boundaries() {
    let scratch = Scratch::new("readdir-resume");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let dir = directory_with(&mut fs, 60);
    let all = fs.read_dir(dir).unwrap();
    assert_eq!(all.len(), 62);
    for chunk in [1, 7, 17, 18, 100] {
        assert_eq!(
            read_in_chunks(&mut fs, dir, 0, chunk),
            all,
            "chunks of {chunk}"
        );
    }
    // `.` and `..` take 12 bytes each; then 60-byte records. The 16th file
    // ends block 0 (its record runs to 1024); the 17th starts block 1.
    let positions: Vec<_> = all[..3]
        .iter()
        .map(|entry| (text(entry), entry.position, entry.next_position))
        .collect();
    assert_eq!(positions[0], (".", 0, 12));
    assert_eq!(positions[1], ("..", 12, 24));
    assert_eq!(positions[2], (name(0).as_str(), 24, 84));
    assert_eq!(
        (all[17].position, all[17].next_position),
        (24 + 15 * 60, 1024)
    );
    assert_eq!(
        (all[18].position, text(&all[18])),
        (1024, name(16).as_str())
    );
    let from_block_1 = fs.read_dir_at(dir, 1024, 2).unwrap();
    assert_eq!(from_block_1, all[18..20]);
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// Linux's ext2_readdir resumes at the first record that starts at or after
// f_pos in its block (ext2_validate_entry): a name removed after the
// reader passed it changes nothing, a name removed ahead of the reader is
// not returned, and no name is returned twice.
#[test]
fn read_dir_at_after_removals_skips_what_went_and_repeats_nothing() {
    let scratch = Scratch::new("readdir-removed");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let dir = directory_with(&mut fs, 40);
    let first = fs.read_dir_at(dir, 0, 10).unwrap();
    let resume = first.last().unwrap().next_position;
    // Entry 10 is name(8): the next one to read. Its record folds into
    // name(7)'s, and `resume` now lies inside that record.
    for index in [8, 3, 16, 17, 30] {
        unlink_and_release(&mut fs, dir, name(index).as_bytes(), time);
    }
    let rest = read_in_chunks(&mut fs, dir, resume, 4);
    let seen: Vec<_> = first
        .iter()
        .chain(&rest)
        .map(|entry| String::from(text(entry)))
        .collect();
    let expected: Vec<_> = [".", ".."]
        .into_iter()
        .map(String::from)
        .chain((0..40).filter(|i| ![8, 16, 17, 30].contains(i)).map(name))
        .collect();
    assert_eq!(seen, expected);
    // name(16) was the first record of block 1: now an unused record there.
    assert_eq!(text(&fs.read_dir_at(dir, 1024, 1).unwrap()[0]), name(18));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn read_dir_at_or_past_the_end_returns_nothing() {
    let scratch = Scratch::new("readdir-end");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let dir = directory_with(&mut fs, 20);
    let size = fs.metadata(dir).unwrap().size;
    assert_eq!(size, 2048);
    let all = fs.read_dir(dir).unwrap();
    assert_eq!(all.last().unwrap().next_position, size);
    for position in [size, size + 1, size + 5000, u64::MAX] {
        assert_eq!(fs.read_dir_at(dir, position, 10), Ok(Vec::new()));
    }
    assert_eq!(fs.read_dir_at(dir, 0, 0), Ok(Vec::new()));
}

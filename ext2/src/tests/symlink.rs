//! Symbolic links: fast (in the inode) and slow (in a block), made by
//! mke2fs, debugfs and this crate, read back by each other and by e2fsck.

use std::format;
use std::os::unix::fs::symlink;
use std::vec::Vec;

use abi::Errno;

use super::support::{Mkfs, Scratch, field, mount, now, pattern, unlink_and_release};
use crate::{FileType, ROOT_INODE};

/// A target of `len` printable bytes.
fn target(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

// mke2fs -d stores targets shorter than 60 bytes in i_block (ext2fs_symlink)
// and longer ones in one block; 59 and 60 bytes sit either side of the line.
#[test]
fn symlinks_from_mke2fs_read_back_fast_and_slow() {
    let scratch = Scratch::new("symlink-mke2fs");
    let lengths = [12, 59, 60, 100, 3000];
    for len in lengths {
        symlink(text(&target(len)), scratch.src().join(format!("link{len}"))).unwrap();
    }
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 8192)));
    for len in lengths {
        let link = fs.lookup_path(format!("/link{len}").as_bytes()).unwrap();
        let metadata = fs.metadata(link).unwrap();
        let sectors = if len < 60 { 0 } else { 8 };
        assert_eq!(
            (metadata.file_type, metadata.size, metadata.sectors),
            (FileType::Symlink, len as u64, sectors),
            "link{len}"
        );
        assert_eq!(fs.read_link(link), Ok(target(len)), "link{len}");
    }
}

#[test]
fn symlinks_from_debugfs_read_back_fast_and_slow() {
    let scratch = Scratch::new("symlink-debugfs");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    for len in [1, 40, 1000] {
        let request = format!("symlink /link{len} {}", text(&target(len)));
        scratch.debugfs_write(&mut disk, &request);
    }
    let mut fs = mount(disk);
    for len in [1, 40, 1000] {
        let link = fs.lookup_path(format!("/link{len}").as_bytes()).unwrap();
        assert_eq!(fs.read_link(link), Ok(target(len)), "link{len}");
    }
}

// ext2_symlink: a target and its NUL that fit in i_block (60 bytes) stay
// there; longer ones (up to a block minus the NUL) get one data block.
#[test]
fn symlink_keeps_short_targets_in_the_inode_and_long_ones_in_a_block() {
    let scratch = Scratch::new("symlink-create");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let dir = fs.mkdir(ROOT_INODE, b"dir", 0o755, time).unwrap();
    let fast = fs.symlink(dir, b"fast", &target(59), time).unwrap();
    let slow = fs.symlink(dir, b"slow", &target(60), time).unwrap();
    let longest = fs.symlink(dir, b"longest", &target(1023), time).unwrap();
    for (inode, len, sectors) in [(fast, 59, 0), (slow, 60, 2), (longest, 1023, 2)] {
        let metadata = fs.metadata(inode).unwrap();
        assert_eq!(
            (metadata.file_type, metadata.permissions, metadata.links),
            (FileType::Symlink, 0o777, 1)
        );
        assert_eq!((metadata.size, metadata.sectors), (len as u64, sectors));
        assert_eq!((metadata.mtime, metadata.ctime), (time, time));
        assert_eq!(fs.read_link(inode), Ok(target(len)));
    }
    // The directory's block, and one block for each slow symlink.
    assert_eq!(fs.info().free_blocks, before.free_blocks - 3);
    assert_eq!(fs.info().free_inodes, before.free_inodes - 4);
    let entries = fs.read_dir(dir).unwrap();
    assert!(
        entries[2..]
            .iter()
            .all(|entry| entry.file_type == Some(FileType::Symlink))
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = scratch.debugfs_text(&disk, "stat /dir/fast");
    assert_eq!(field(&stat, "Type:"), "symlink");
    assert_eq!(field(&stat, "Mode:"), "0777");
    assert!(
        stat.contains(&format!("Fast link dest: \"{}\"", text(&target(59)))),
        "{stat}"
    );
    let stat = scratch.debugfs_text(&disk, "stat /dir/slow");
    assert_eq!(field(&stat, "Blockcount:"), "2");
    assert_eq!(field(&stat, "TOTAL:"), "1");

    let mut fs = mount(disk);
    assert_eq!(fs.read_link(longest), Ok(target(1023)));
}

// symlink(2): ENOENT for an empty target; a C string has no NUL inside;
// ext2_symlink: ENAMETOOLONG when the target and its NUL are longer than
// a block. readlink(2): EINVAL for
// anything but a symlink.
#[test]
fn symlink_of_an_empty_target_is_enoent_with_a_nul_einval_and_block_sized_enametoolong() {
    let scratch = Scratch::new("symlink-errors");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    assert_eq!(fs.symlink(ROOT_INODE, b"l", b"", time), Err(Errno::ENOENT));
    assert_eq!(
        fs.symlink(ROOT_INODE, b"l", b"a\0b", time),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.symlink(ROOT_INODE, b"l", &target(1024), time),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        fs.symlink(ROOT_INODE, b"file", b"t", time),
        Err(Errno::EEXIST)
    );
    let file = fs.lookup_path(b"/file").unwrap();
    assert_eq!(fs.symlink(file, b"l", b"t", time), Err(Errno::ENOTDIR));
    assert_eq!(fs.read_link(file), Err(Errno::EINVAL));
    assert_eq!(fs.read_link(ROOT_INODE), Err(Errno::EINVAL));
    assert_eq!(fs.info(), before);
    assert!(!fs.has_unsynced_changes(), "refusals change nothing");
}

// A slow symlink needs a block; on a full disk it fails with ENOSPC and
// leaves neither inode nor entry behind, while a fast one still fits.
#[test]
fn symlink_on_a_full_disk_is_enospc_and_leaves_nothing_behind() {
    let scratch = Scratch::new("symlink-full");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let filler = fs.create(ROOT_INODE, b"filler", 0o644, time).unwrap();
    let data = pattern(4 << 20, 7);
    let written = fs.write_at(filler, 0, &data, time).unwrap();
    assert!(written < data.len());
    assert_eq!(fs.info().free_blocks, 0);
    let before = fs.info();
    assert_eq!(
        fs.symlink(ROOT_INODE, b"slow", &target(100), time),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.info().free_inodes, before.free_inodes);
    assert_eq!(fs.lookup(ROOT_INODE, b"slow"), Err(Errno::ENOENT));
    let fast = fs.symlink(ROOT_INODE, b"fast", &target(10), time).unwrap();
    assert_eq!(fs.read_link(fast), Ok(target(10)));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// Following a symlink is the kernel's job: a lookup returns the symlink
// itself, and unlink removes the symlink, not its target.
#[test]
fn a_symlink_is_looked_up_and_unlinked_as_a_plain_name() {
    let scratch = Scratch::new("symlink-names");
    scratch.add_file("target", b"the target");
    symlink("target", scratch.src().join("fast")).unwrap();
    symlink(text(&target(500)), scratch.src().join("slow")).unwrap();
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let target_file = fs.lookup_path(b"/target").unwrap();
    let fast = fs.lookup(ROOT_INODE, b"fast").unwrap();
    assert_ne!(fast, target_file);
    assert_eq!(fs.lookup_path(b"/fast"), Ok(fast));
    assert_eq!(fs.metadata(fast).unwrap().file_type, FileType::Symlink);
    assert_eq!(fs.lookup_path(b"/fast/x"), Err(Errno::ENOTDIR));
    unlink_and_release(&mut fs, ROOT_INODE, b"fast", time);
    unlink_and_release(&mut fs, ROOT_INODE, b"slow", time);
    let created = fs.symlink(ROOT_INODE, b"mine", &target(300), time).unwrap();
    assert_eq!(fs.lookup(ROOT_INODE, b"mine"), Ok(created));
    unlink_and_release(&mut fs, ROOT_INODE, b"mine", time);
    assert_eq!(fs.lookup_path(b"/target"), Ok(target_file));
    let after = fs.info();
    // Two inodes and the slow symlink's block came back.
    assert_eq!(after.free_inodes, before.free_inodes + 2);
    assert_eq!(after.free_blocks, before.free_blocks + 1);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/target"), b"the target");
}

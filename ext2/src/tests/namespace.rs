//! create, mkdir, unlink and rmdir, checked by e2fsck and debugfs.

use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec;

use abi::Errno;

use super::support::{
    Mkfs, Scratch, mount, now, pattern, read_all, rmdir_and_release, unlink_and_release,
};
use crate::{FileType, ROOT_INODE};

#[test]
fn mkdir_and_create_link_everything_up() {
    let scratch = Scratch::new("ns-mkdir");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let root_links = fs.metadata(ROOT_INODE).unwrap().links;
    let a = fs.mkdir(ROOT_INODE, b"a", 0o755, time).unwrap();
    let b = fs.mkdir(a, b"b", 0o700, time).unwrap();
    let file = fs.create(b, b"file.txt", 0o644, time).unwrap();
    let data = pattern(3000, 21);
    assert_eq!(fs.write_at(file, 0, &data, time), Ok(3000));

    assert_eq!(fs.metadata(ROOT_INODE).unwrap().links, root_links + 1);
    let a_metadata = fs.metadata(a).unwrap();
    assert_eq!(
        (a_metadata.file_type, a_metadata.links, a_metadata.size),
        (FileType::Directory, 3, 1024)
    );
    assert_eq!(
        (a_metadata.permissions, a_metadata.sectors, a_metadata.mtime),
        (0o755, 2, time)
    );
    assert_eq!(fs.metadata(b).unwrap().links, 2);
    assert_eq!(fs.lookup_path(b"/a/b/../b/file.txt"), Ok(file));
    assert_eq!(fs.lookup_path(b"/a/b/.."), Ok(a));
    let names: Vec<_> = fs
        .read_dir(b)
        .unwrap()
        .into_iter()
        .map(|entry| (entry.name, entry.file_type))
        .collect();
    let expected_names: [(&[u8], _); 3] = [
        (b".", Some(FileType::Directory)),
        (b"..", Some(FileType::Directory)),
        (b"file.txt", Some(FileType::Regular)),
    ];
    assert_eq!(
        names,
        expected_names.map(|(name, file_type)| (name.to_vec(), file_type))
    );

    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert!(scratch.debugfs_cat(&disk, "/a/b/file.txt") == data);
}

#[test]
fn create_refuses_bad_names_and_non_directories() {
    let scratch = Scratch::new("ns-errors");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    assert_eq!(
        fs.create(ROOT_INODE, b"file", 0o644, time),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.mkdir(ROOT_INODE, b".", 0o755, time), Err(Errno::EEXIST));
    assert_eq!(
        fs.create(ROOT_INODE, &[b'n'; 256], 0o644, time),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        fs.create(ROOT_INODE, b"a/b", 0o644, time),
        Err(Errno::EINVAL)
    );
    assert_eq!(fs.create(ROOT_INODE, b"", 0o644, time), Err(Errno::ENOENT));
    assert_eq!(fs.create(file, b"child", 0o644, time), Err(Errno::ENOTDIR));
    let longest = fs.create(ROOT_INODE, &[b'n'; 255], 0o644, time).unwrap();
    assert_eq!(fs.lookup(ROOT_INODE, &[b'n'; 255]), Ok(longest));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn unlink_of_the_last_link_frees_the_inode_and_its_blocks() {
    let scratch = Scratch::new("ns-unlink");
    scratch.add_file("old", &pattern(300 * 1024, 2));
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let file = fs.create(ROOT_INODE, b"new", 0o644, time).unwrap();
    assert_eq!(
        fs.write_at(file, 0, &pattern(50 * 1024, 3), time),
        Ok(50 * 1024)
    );
    unlink_and_release(&mut fs, ROOT_INODE, b"new", time);
    unlink_and_release(&mut fs, ROOT_INODE, b"old", time);
    let after = fs.info();
    // 300 data blocks, one single-indirect, one double-indirect, one under it.
    assert_eq!(after.free_blocks, before.free_blocks + 303);
    assert_eq!(after.free_inodes, before.free_inodes + 1);
    assert_eq!(fs.lookup_path(b"/new"), Err(Errno::ENOENT));
    assert_eq!(fs.unlink(ROOT_INODE, b"new", time), Err(Errno::ENOENT));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// path_resolution(7): "If a component of the path prefix is not a
// directory, the error ENOTDIR"; a relative path starts at the directory
// given, an absolute one at the root whatever the start.
#[test]
fn lookup_through_a_file_is_enotdir_and_relative_paths_start_where_told() {
    let scratch = Scratch::new("ns-lookup");
    scratch.add_file("dir/inner/file", b"x");
    scratch.add_file("plain", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    assert_eq!(fs.lookup_path(b"/plain/file"), Err(Errno::ENOTDIR));
    let dir = fs.lookup_path(b"/dir").unwrap();
    let file = fs.lookup_path(b"/dir/inner/file").unwrap();
    assert_eq!(fs.lookup_path_from(dir, b"inner/file"), Ok(file));
    assert_eq!(fs.lookup_path_from(dir, b"inner/../inner/file"), Ok(file));
    let plain = fs.lookup_path(b"/plain").unwrap();
    assert_eq!(fs.lookup_path_from(dir, b"/plain"), Ok(plain));
    assert_eq!(fs.lookup_path_from(dir, b"plain"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup_path_from(plain, b"x"), Err(Errno::ENOTDIR));
}

// Linux keeps an unlinked inode that is still open or mapped until its last
// user goes (ext2_evict_inode frees it then): its data stays readable and
// writable, and no new file may be given its number meanwhile.
#[test]
fn unlinked_inode_kept_as_orphan_keeps_its_data_and_number_until_released() {
    let scratch = Scratch::new("ns-orphan");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let file = fs.create(ROOT_INODE, b"doomed", 0o644, time).unwrap();
    let data = pattern(20 * 1024, 5);
    assert_eq!(fs.write_at(file, 0, &data, time), Ok(data.len()));
    let unlinked = fs.unlink(ROOT_INODE, b"doomed", time).unwrap();
    assert_eq!(unlinked.inode, file);
    assert!(unlinked.orphaned);
    assert_eq!(fs.lookup_path(b"/doomed"), Err(Errno::ENOENT));
    assert_eq!(fs.metadata(file).unwrap().links, 0);
    let mut read_back = vec![0; data.len()];
    assert_eq!(fs.read_at(file, 0, &mut read_back), Ok(data.len()));
    assert_eq!(read_back, data);
    assert_eq!(fs.write_at(file, 0, b"still here", time), Ok(10));
    let next = fs.create(ROOT_INODE, b"next", 0o644, time).unwrap();
    assert_ne!(next, file, "an orphan's number was given to a new file");

    fs.release_orphan(file, time).unwrap();
    unlink_and_release(&mut fs, ROOT_INODE, b"next", time);
    assert_eq!(fs.info().free_blocks, before.free_blocks);
    assert_eq!(fs.info().free_inodes, before.free_inodes);
    assert_eq!(fs.release_orphan(ROOT_INODE, time), Err(Errno::EINVAL));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn unlink_refuses_directories_and_rmdir_refuses_non_empty_ones() {
    let scratch = Scratch::new("ns-rmdir");
    scratch.add_file("full/file", b"x");
    scratch.add_file("plain", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let root_links = fs.metadata(ROOT_INODE).unwrap().links;
    assert_eq!(fs.unlink(ROOT_INODE, b"full", time), Err(Errno::EISDIR));
    assert_eq!(fs.rmdir(ROOT_INODE, b"full", time), Err(Errno::ENOTEMPTY));
    assert_eq!(fs.rmdir(ROOT_INODE, b"plain", time), Err(Errno::ENOTDIR));
    assert_eq!(fs.rmdir(ROOT_INODE, b".", time), Err(Errno::EINVAL));
    assert_eq!(fs.rmdir(ROOT_INODE, b"..", time), Err(Errno::ENOTEMPTY));

    fs.mkdir(ROOT_INODE, b"empty", 0o755, time).unwrap();
    rmdir_and_release(&mut fs, ROOT_INODE, b"empty", time);
    let full = fs.lookup_path(b"/full").unwrap();
    unlink_and_release(&mut fs, full, b"file", time);
    rmdir_and_release(&mut fs, ROOT_INODE, b"full", time);
    assert_eq!(fs.metadata(ROOT_INODE).unwrap().links, root_links - 1);
    let after = fs.info();
    // The directory "full" and its file are gone: two inodes, two blocks.
    assert_eq!(after.free_inodes, before.free_inodes + 2);
    assert_eq!(after.free_blocks, before.free_blocks + 2);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let listing = String::from_utf8(scratch.debugfs(&disk, "ls -l /")).unwrap();
    assert!(
        !listing.contains("full") && listing.contains("plain"),
        "{listing}"
    );
}

// Linux's ext2_rmdir drops the links and the size; the inode and its block
// go when the last user does (a process working in it, an open descriptor).
#[test]
fn rmdir_leaves_an_empty_orphan_until_released() {
    let scratch = Scratch::new("ns-rmdir-orphan");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let dir = fs.mkdir(ROOT_INODE, b"cwd", 0o755, time).unwrap();
    let removed = fs.rmdir(ROOT_INODE, b"cwd", time).unwrap();
    assert_eq!(removed.inode, dir);
    assert!(removed.orphaned);
    let orphan = fs.metadata(dir).unwrap();
    assert_eq!((orphan.links, orphan.size), (0, 0));
    assert_eq!(fs.lookup(dir, b".."), Err(Errno::ENOENT));
    assert_eq!(fs.read_dir(dir).unwrap(), []);
    assert_eq!(fs.info().free_inodes, before.free_inodes - 1);
    let next = fs.mkdir(ROOT_INODE, b"next", 0o755, time).unwrap();
    assert_ne!(next, dir, "an orphan's number was given to a new directory");

    fs.release_orphan(dir, time).unwrap();
    rmdir_and_release(&mut fs, ROOT_INODE, b"next", time);
    assert_eq!(fs.info().free_blocks, before.free_blocks);
    assert_eq!(fs.info().free_inodes, before.free_inodes);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn directories_grow_past_one_block_and_reuse_freed_entries() {
    let scratch = Scratch::new("ns-grow");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let dir = fs.mkdir(ROOT_INODE, b"many", 0o755, time).unwrap();
    let name = |index: usize| format!("a-rather-long-file-name-to-fill-blocks-quickly-{index:04}");
    for index in 0..100 {
        fs.create(dir, name(index).as_bytes(), 0o644, time).unwrap();
    }
    // 51-byte names take 60-byte records: 16 fit in the first 1 KiB block
    // (after `.` and `..`), 17 in each further block.
    assert_eq!(fs.metadata(dir).unwrap().size, 6 * 1024);
    for index in (0..100).step_by(2) {
        unlink_and_release(&mut fs, dir, name(index).as_bytes(), time);
    }
    for index in 100..140 {
        fs.create(dir, name(index).as_bytes(), 0o644, time).unwrap();
    }
    assert_eq!(
        fs.metadata(dir).unwrap().size,
        6 * 1024,
        "freed entries were reused"
    );
    assert_eq!(fs.read_dir(dir).unwrap().len(), 2 + 50 + 40);
    for index in (1..140).filter(|index| index % 2 == 1 || *index >= 100) {
        assert!(
            fs.lookup(dir, name(index).as_bytes()).is_ok(),
            "{}",
            name(index)
        );
    }
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn changing_an_indexed_directory_clears_its_index_flag() {
    let scratch = Scratch::new("ns-htree");
    for index in 0..200 {
        scratch.add_file(&format!("big/entry-with-a-long-name-{index:04}"), b"");
    }
    let mut disk = scratch.mkfs(Mkfs::new(1024, 8192));
    scratch.index_directories(&mut disk);
    let stat = String::from_utf8(scratch.debugfs(&disk, "stat /big")).unwrap();
    assert!(
        stat.contains("Flags: 0x1000"),
        "e2fsck -D should have indexed /big: {stat}"
    );

    let mut fs = mount(disk);
    let time = now();
    let big = fs.lookup_path(b"/big").unwrap();
    assert_eq!(
        fs.read_dir(big).unwrap().len(),
        202,
        "indexed directories read linearly"
    );
    fs.create(big, b"added", 0o644, time).unwrap();
    unlink_and_release(&mut fs, big, b"entry-with-a-long-name-0007", time);
    let file = fs.lookup_path(b"/big/added").unwrap();
    assert_eq!(fs.write_at(file, 0, b"hello", time), Ok(5));
    assert_eq!(read_all(&mut fs, "/big/added"), b"hello");
    let disk = fs.unmount(time).unwrap();
    let stat = String::from_utf8(scratch.debugfs(&disk, "stat /big")).unwrap();
    assert!(stat.contains("Flags: 0x0"), "{stat}");
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/big/added"), b"hello");
}

#[test]
fn revision_0_create_mkdir_unlink_without_file_types() {
    let scratch = Scratch::new("ns-rev0");
    scratch.add_file("keep", b"kept");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096).revision0()));
    let time = now();
    let dir = fs.mkdir(ROOT_INODE, b"dir", 0o755, time).unwrap();
    let file = fs.create(dir, b"file", 0o644, time).unwrap();
    let data = pattern(20 * 1024, 30);
    assert_eq!(fs.write_at(file, 0, &data, time), Ok(data.len()));
    let doomed = fs.create(ROOT_INODE, b"doomed", 0o644, time).unwrap();
    assert_eq!(fs.write_at(doomed, 0, b"bye", time), Ok(3));
    unlink_and_release(&mut fs, ROOT_INODE, b"doomed", time);
    assert!(
        fs.read_dir(dir)
            .unwrap()
            .iter()
            .all(|entry| entry.file_type.is_none())
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert!(scratch.debugfs_cat(&disk, "/dir/file") == data);
    assert_eq!(scratch.debugfs_cat(&disk, "/keep"), b"kept");
}

// vfs_mkdir: a parent with EXT2_LINK_MAX links cannot take another `..`;
// the inode allocated for the new directory is given back.
#[test]
fn mkdir_in_a_directory_with_32000_links_is_emlink_and_leaves_nothing() {
    let scratch = Scratch::new("ns-mkdir-emlink");
    scratch.add_file("full/keep", b"");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    scratch.debugfs_write(&mut disk, "sif /full links_count 32000");
    let mut fs = mount(disk);
    let time = now();
    let full = fs.lookup_path(b"/full").unwrap();
    let before = fs.info();
    assert_eq!(fs.mkdir(full, b"one-more", 0o755, time), Err(Errno::EMLINK));
    assert_eq!(fs.lookup(full, b"one-more"), Err(Errno::ENOENT));
    assert_eq!(fs.metadata(full).unwrap().links, 32000);
    let after = fs.info();
    assert_eq!(
        (after.free_inodes, after.free_blocks),
        (before.free_inodes, before.free_blocks)
    );
    fs.create(full, b"a-file-still-fits", 0o644, time).unwrap();
    let mut disk = fs.unmount(time).unwrap();
    // Back to the true count (`.` and the entry in /): nothing else is off.
    scratch.debugfs_write(&mut disk, "sif /full links_count 2");
    scratch.assert_fsck_clean(&disk);
}

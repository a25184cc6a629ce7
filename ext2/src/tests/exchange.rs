//! renameat2's RENAME_EXCHANGE as Linux 6.1's ext4 driver does it on an ext2
//! disk: the two names trade inodes, directories that change parent get
//! their `..` and the parents' link counts follow; checked by e2fsck and
//! debugfs.

use abi::Errno;

use super::support::{Mkfs, Scratch, field, mount, now};
use crate::{FileType, ROOT_INODE};

#[test]
fn exchange_of_two_files_swaps_the_names_and_their_types() {
    let scratch = Scratch::new("exchange-files");
    scratch.add_file("a", b"aaa");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let a = fs.lookup_path(b"/a").unwrap();
    let link = fs.symlink(ROOT_INODE, b"b", b"target", time).unwrap();
    assert_eq!(
        fs.exchange(ROOT_INODE, b"a", ROOT_INODE, b"b", time),
        Ok(())
    );
    assert_eq!(fs.lookup_path(b"/a"), Ok(link));
    assert_eq!(fs.lookup_path(b"/b"), Ok(a));
    let types: std::vec::Vec<_> = fs
        .read_dir(ROOT_INODE)
        .unwrap()
        .into_iter()
        .filter(|entry| entry.name == b"a" || entry.name == b"b")
        .map(|entry| (entry.name, entry.file_type))
        .collect();
    assert!(types.contains(&(b"a".to_vec(), Some(FileType::Symlink))));
    assert!(types.contains(&(b"b".to_vec(), Some(FileType::Regular))));
    assert_eq!(fs.metadata(a).unwrap().ctime, time);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/b"), b"aaa");
}

// A directory trading places with a file in another directory: its `..`
// follows it, and a link moves from the parent it leaves to the one it joins.
#[test]
fn exchange_of_a_directory_and_a_file_across_parents_moves_dot_dot_and_a_link() {
    let scratch = Scratch::new("exchange-dir-file");
    scratch.add_file("x/dir/inside", b"deep");
    scratch.add_file("y/file", b"flat");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let x = fs.lookup_path(b"/x").unwrap();
    let y = fs.lookup_path(b"/y").unwrap();
    let dir = fs.lookup(x, b"dir").unwrap();
    assert_eq!(fs.exchange(x, b"dir", y, b"file", time), Ok(()));
    assert_eq!(fs.lookup(y, b"file"), Ok(dir));
    assert_eq!(fs.lookup(dir, b".."), Ok(y));
    assert_eq!(
        (fs.metadata(x).unwrap().links, fs.metadata(y).unwrap().links),
        (2, 3)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/x/dir"), b"flat");
    assert_eq!(scratch.debugfs_cat(&disk, "/y/file/inside"), b"deep");
    let stat = scratch.debugfs_text(&disk, "stat /y");
    assert_eq!(field(&stat, "Links:"), "3");
}

#[test]
fn exchange_of_two_directories_keeps_the_link_counts() {
    let scratch = Scratch::new("exchange-dirs");
    scratch.add_file("x/one/a", b"1");
    scratch.add_file("y/two/b", b"2");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let x = fs.lookup_path(b"/x").unwrap();
    let y = fs.lookup_path(b"/y").unwrap();
    let one = fs.lookup(x, b"one").unwrap();
    let two = fs.lookup(y, b"two").unwrap();
    assert_eq!(fs.exchange(x, b"one", y, b"two", time), Ok(()));
    assert_eq!(
        (fs.lookup(one, b".."), fs.lookup(two, b"..")),
        (Ok(y), Ok(x))
    );
    assert_eq!(
        (fs.metadata(x).unwrap().links, fs.metadata(y).unwrap().links),
        (3, 3)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/y/two/a"), b"1");
}

#[test]
fn exchange_errors_are_linux_errnos() {
    let scratch = Scratch::new("exchange-errors");
    scratch.add_file("dir/sub/file", b"x");
    scratch.add_file("file", b"f");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let dir = fs.lookup_path(b"/dir").unwrap();
    let sub = fs.lookup(dir, b"sub").unwrap();
    let file = fs.lookup_path(b"/file").unwrap();
    fs.link(file, ROOT_INODE, b"same", time).unwrap();
    fs.sync(time).unwrap();
    assert_eq!(
        fs.exchange(ROOT_INODE, b"file", ROOT_INODE, b"none", time),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fs.exchange(ROOT_INODE, b"none", ROOT_INODE, b"file", time),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fs.exchange(ROOT_INODE, b"dir", sub, b"file", time),
        Err(Errno::EINVAL),
        "a directory into its own subtree"
    );
    assert_eq!(
        fs.exchange(sub, b"file", ROOT_INODE, b"dir", time),
        Err(Errno::EINVAL),
        "an ancestor of the other name's directory"
    );
    assert_eq!(
        fs.exchange(file, b"x", ROOT_INODE, b"dir", time),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        fs.exchange(ROOT_INODE, b"file", ROOT_INODE, b"same", time),
        Ok(())
    );
    assert!(
        !fs.has_unsynced_changes(),
        "a refused exchange changed the disk"
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

//! Hard links (link(2)), checked by e2fsck and debugfs.

use abi::Errno;

use super::support::{Mkfs, Scratch, field, mount, now, pattern, read_all, unlink_and_release};
use crate::ROOT_INODE;

#[test]
fn link_adds_a_name_and_counts_the_link_on_the_inode() {
    let scratch = Scratch::new("link-basic");
    let data = pattern(5000, 1);
    scratch.add_file("file", &data);
    scratch.add_file("dir/other", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let earlier = now() - 100;
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    let dir = fs.lookup_path(b"/dir").unwrap();
    fs.set_times(file, Some(earlier), Some(earlier), earlier)
        .unwrap();
    fs.link(file, dir, b"second", time).unwrap();

    assert_eq!(fs.lookup(dir, b"second"), Ok(file));
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.links, metadata.ctime, metadata.mtime),
        (2, time, earlier)
    );
    let dir_metadata = fs.metadata(dir).unwrap();
    assert_eq!((dir_metadata.mtime, dir_metadata.ctime), (time, time));
    assert_eq!(read_all(&mut fs, "/dir/second"), data);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = scratch.debugfs_text(&disk, "stat /dir/second");
    assert_eq!(field(&stat, "Links:"), "2");
    assert!(scratch.debugfs_cat(&disk, "/dir/second") == data);

    // Removing one name leaves the inode to the other.
    let mut fs = mount(disk);
    let unlinked = fs.unlink(ROOT_INODE, b"file", time).unwrap();
    assert_eq!(
        (unlinked.inode, unlinked.orphaned),
        (file, false),
        "the second link keeps the inode"
    );
    assert_eq!(fs.metadata(file).unwrap().links, 1);
    assert_eq!(read_all(&mut fs, "/dir/second"), data);
    unlink_and_release(&mut fs, dir, b"second", time);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// link(2): "EPERM oldpath is a directory", "EEXIST newpath already
// exists"; an inode without links cannot get one back (vfs_link: ENOENT).
#[test]
fn link_of_a_directory_is_eperm_and_of_an_orphan_enoent() {
    let scratch = Scratch::new("link-errors");
    scratch.add_file("file", b"x");
    scratch.add_file("taken", b"y");
    scratch.add_file("dir/inner", b"z");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    let dir = fs.lookup_path(b"/dir").unwrap();
    let before = fs.info();
    assert_eq!(fs.link(dir, ROOT_INODE, b"alias", time), Err(Errno::EPERM));
    assert_eq!(
        fs.link(file, ROOT_INODE, b"taken", time),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.link(dir, ROOT_INODE, b"taken", time), Err(Errno::EEXIST));
    assert_eq!(fs.link(file, file, b"child", time), Err(Errno::ENOTDIR));
    assert_eq!(fs.link(file, ROOT_INODE, b"", time), Err(Errno::ENOENT));
    assert_eq!(fs.link(file, ROOT_INODE, b"a/b", time), Err(Errno::EINVAL));
    assert_eq!(
        fs.link(file, ROOT_INODE, &[b'n'; 256], time),
        Err(Errno::ENAMETOOLONG)
    );
    let orphan = fs.unlink(ROOT_INODE, b"taken", time).unwrap();
    assert!(orphan.orphaned);
    assert_eq!(
        fs.link(orphan.inode, ROOT_INODE, b"back", time),
        Err(Errno::ENOENT)
    );
    fs.release_orphan(orphan.inode, time).unwrap();
    assert_eq!(fs.metadata(file).unwrap().links, 1);
    assert_eq!(fs.info().free_inodes, before.free_inodes + 1);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// EXT2_LINK_MAX is 32000; vfs_link refuses a link beyond it with EMLINK.
#[test]
fn link_of_an_inode_with_32000_links_is_emlink() {
    let scratch = Scratch::new("link-max");
    scratch.add_file("full", b"x");
    scratch.add_file("almost", b"y");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    scratch.debugfs_write(&mut disk, "sif /full links_count 32000");
    scratch.debugfs_write(&mut disk, "sif /almost links_count 31999");
    let mut fs = mount(disk);
    let time = now();
    let full = fs.lookup_path(b"/full").unwrap();
    let almost = fs.lookup_path(b"/almost").unwrap();
    assert_eq!(fs.link(full, ROOT_INODE, b"more", time), Err(Errno::EMLINK));
    assert_eq!(fs.lookup(ROOT_INODE, b"more"), Err(Errno::ENOENT));
    fs.link(almost, ROOT_INODE, b"last", time).unwrap();
    assert_eq!(fs.metadata(almost).unwrap().links, 32000);
    assert_eq!(
        fs.link(almost, ROOT_INODE, b"more", time),
        Err(Errno::EMLINK)
    );
    let mut disk = fs.unmount(time).unwrap();
    // Back to the true counts: nothing else is off.
    scratch.debugfs_write(&mut disk, "sif /full links_count 1");
    scratch.debugfs_write(&mut disk, "sif /almost links_count 2");
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn link_on_revision_0_writes_entries_without_file_types() {
    let scratch = Scratch::new("link-rev0");
    scratch.add_file("file", b"rev0");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096).revision0()));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    let dir = fs.mkdir(ROOT_INODE, b"dir", 0o755, time).unwrap();
    fs.link(file, dir, b"again", time).unwrap();
    let entry = fs
        .read_dir(dir)
        .unwrap()
        .into_iter()
        .find(|entry| entry.name == b"again")
        .unwrap();
    assert_eq!((entry.inode, entry.file_type), (file, None));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/dir/again"), b"rev0");
}

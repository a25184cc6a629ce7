//! rename(2) and RENAME_NOREPLACE: names, `..`, link counts, the replaced
//! inode, and Linux's errors, checked by e2fsck and debugfs.

use std::string::String;
use std::vec::Vec;

use abi::Errno;

use super::support::{MemoryDisk, Mkfs, Scratch, field, mount, now, pattern, read_all};
use crate::{Ext2, FileType, InodeNumber, ROOT_INODE, Unlinked};

/// The names in a directory, `.` and `..` left out.
fn names(fs: &mut Ext2<MemoryDisk>, directory: InodeNumber) -> Vec<String> {
    fs.read_dir(directory)
        .unwrap()
        .into_iter()
        .map(|entry| String::from_utf8(entry.name).unwrap())
        .filter(|name| name != "." && name != "..")
        .collect()
}

/// The inode number debugfs sees for a path (`stat` prints "Inode: N").
fn debugfs_inode(scratch: &Scratch, disk: &MemoryDisk, path: &str) -> InodeNumber {
    let stat = scratch.debugfs_text(disk, &std::format!("stat {path}"));
    field(&stat, "Inode:").parse().unwrap()
}

#[test]
fn rename_within_a_directory_changes_the_name_only() {
    let scratch = Scratch::new("rename-same-dir");
    let data = pattern(3000, 1);
    scratch.add_file("dir/old", &data);
    scratch.add_file("dir/other", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let earlier = now() - 100;
    let time = now();
    let dir = fs.lookup_path(b"/dir").unwrap();
    let file = fs.lookup(dir, b"old").unwrap();
    fs.set_times(file, None, Some(earlier), earlier).unwrap();
    let dir_links = fs.metadata(dir).unwrap().links;
    assert_eq!(fs.rename(dir, b"old", dir, b"new", time, false), Ok(None));
    assert_eq!(fs.lookup(dir, b"old"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup(dir, b"new"), Ok(file));
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.links, metadata.ctime, metadata.mtime),
        (1, time, earlier)
    );
    let dir_metadata = fs.metadata(dir).unwrap();
    assert_eq!(
        (dir_metadata.links, dir_metadata.mtime, dir_metadata.ctime),
        (dir_links, time, time)
    );
    assert_eq!(read_all(&mut fs, "/dir/new"), data);
    let mut listing = names(&mut fs, dir);
    listing.sort();
    assert_eq!(listing, ["new", "other"]);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert!(scratch.debugfs_cat(&disk, "/dir/new") == data);
}

#[test]
fn rename_moves_a_file_to_another_directory() {
    let scratch = Scratch::new("rename-move-file");
    scratch.add_file("from/file", b"moving");
    scratch.add_file("to/keep", b"kept");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let from = fs.lookup_path(b"/from").unwrap();
    let to = fs.lookup_path(b"/to").unwrap();
    let file = fs.lookup(from, b"file").unwrap();
    let links = (
        fs.metadata(from).unwrap().links,
        fs.metadata(to).unwrap().links,
    );
    assert_eq!(
        fs.rename(from, b"file", to, b"moved", time, false),
        Ok(None)
    );
    assert_eq!(fs.lookup_path(b"/to/moved"), Ok(file));
    assert_eq!(fs.lookup_path(b"/from/file"), Err(Errno::ENOENT));
    for directory in [from, to] {
        let metadata = fs.metadata(directory).unwrap();
        assert_eq!((metadata.mtime, metadata.ctime), (time, time));
    }
    assert_eq!(
        (
            fs.metadata(from).unwrap().links,
            fs.metadata(to).unwrap().links
        ),
        links,
        "moving a file changes no directory's link count"
    );
    assert_eq!(fs.metadata(file).unwrap().ctime, time);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/to/moved"), b"moving");
    assert_eq!(debugfs_inode(&scratch, &disk, "/to/moved"), file);
}

// rename(2): "If newpath already exists, it will be atomically replaced";
// the replaced inode loses that link, and with no link left it lives on as
// an orphan until the kernel releases it.
#[test]
fn rename_over_a_file_leaves_the_replaced_inode_an_orphan_until_released() {
    let scratch = Scratch::new("rename-over-file");
    scratch.add_file("source", b"new contents");
    let old_data = pattern(20 * 1024, 2);
    scratch.add_file("victim", &old_data);
    scratch.add_file("shared", b"two names");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let source = fs.lookup_path(b"/source").unwrap();
    let victim = fs.lookup_path(b"/victim").unwrap();
    let replaced = fs
        .rename(ROOT_INODE, b"source", ROOT_INODE, b"victim", time, false)
        .unwrap();
    assert_eq!(
        replaced,
        Some(Unlinked {
            inode: victim,
            orphaned: true
        })
    );
    assert_eq!(fs.lookup_path(b"/victim"), Ok(source));
    assert_eq!(fs.lookup_path(b"/source"), Err(Errno::ENOENT));
    let orphan = fs.metadata(victim).unwrap();
    assert_eq!((orphan.links, orphan.ctime), (0, time));
    let mut read_back = std::vec![0; old_data.len()];
    assert_eq!(fs.read_at(victim, 0, &mut read_back), Ok(old_data.len()));
    assert!(read_back == old_data, "an orphan keeps its data");
    fs.release_orphan(victim, time).unwrap();
    // The victim's 20 data blocks and 1 indirect block, and its inode.
    assert_eq!(fs.info().free_blocks, before.free_blocks + 21);
    assert_eq!(fs.info().free_inodes, before.free_inodes + 1);

    // A replaced inode with another name keeps it.
    let shared = fs.lookup_path(b"/shared").unwrap();
    fs.link(shared, ROOT_INODE, b"alias", time).unwrap();
    let replaced = fs
        .rename(ROOT_INODE, b"victim", ROOT_INODE, b"shared", time, false)
        .unwrap();
    assert_eq!(
        replaced,
        Some(Unlinked {
            inode: shared,
            orphaned: false
        })
    );
    assert_eq!(fs.metadata(shared).unwrap().links, 1);
    assert_eq!(read_all(&mut fs, "/shared"), b"new contents");
    assert_eq!(read_all(&mut fs, "/alias"), b"two names");
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// ext2_set_link rewrites the entry's type byte too: a symlink renamed over
// a regular file leaves an entry of type symlink.
#[test]
fn rename_over_an_entry_of_another_type_rewrites_its_file_type() {
    let scratch = Scratch::new("rename-type");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let link = fs.symlink(ROOT_INODE, b"link", b"somewhere", time).unwrap();
    let replaced = fs
        .rename(ROOT_INODE, b"link", ROOT_INODE, b"file", time, false)
        .unwrap()
        .unwrap();
    fs.release_orphan(replaced.inode, time).unwrap();
    let entry = fs
        .read_dir(ROOT_INODE)
        .unwrap()
        .into_iter()
        .find(|entry| entry.name == b"file")
        .unwrap();
    assert_eq!(
        (entry.inode, entry.file_type),
        (link, Some(FileType::Symlink))
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let listing = scratch.debugfs_text(&disk, "ls -l /");
    assert!(listing.contains("120777 (7)"), "{listing}");
}

// ext2_rename: a directory that changes parent gets its ".." pointed at the
// new parent (ext2_set_link); the old parent loses the link that ".."
// gave it and the new parent gains one.
#[test]
fn rename_of_a_directory_to_another_parent_rewrites_dot_dot_and_moves_a_link() {
    let scratch = Scratch::new("rename-move-dir");
    scratch.add_file("from/moved/inside", b"deep");
    scratch.add_file("to/keep", b"kept");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let from = fs.lookup_path(b"/from").unwrap();
    let to = fs.lookup_path(b"/to").unwrap();
    let moved = fs.lookup(from, b"moved").unwrap();
    assert_eq!(
        (
            fs.metadata(from).unwrap().links,
            fs.metadata(to).unwrap().links
        ),
        (3, 2)
    );
    assert_eq!(
        fs.rename(from, b"moved", to, b"here", time, false),
        Ok(None)
    );
    assert_eq!(
        fs.lookup_path(b"/to/here/inside"),
        fs.lookup(moved, b"inside")
    );
    assert_eq!(fs.lookup(moved, b".."), Ok(to));
    assert_eq!(fs.lookup_path(b"/to/here/.."), Ok(to));
    assert_eq!(
        (
            fs.metadata(from).unwrap().links,
            fs.metadata(to).unwrap().links
        ),
        (2, 3)
    );
    let moved_metadata = fs.metadata(moved).unwrap();
    assert_eq!((moved_metadata.links, moved_metadata.ctime), (2, time));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(debugfs_inode(&scratch, &disk, "/to/here/.."), to);
    assert_eq!(scratch.debugfs_cat(&disk, "/to/here/inside"), b"deep");
    let from_stat = scratch.debugfs_text(&disk, "stat /from");
    let to_stat = scratch.debugfs_text(&disk, "stat /to");
    assert_eq!(
        (field(&from_stat, "Links:"), field(&to_stat, "Links:")),
        ("2", "3")
    );
}

// A directory may replace an empty directory; the replaced one drops to
// no links, and its parent loses the link its ".." gave.
#[test]
fn rename_of_a_directory_over_an_empty_directory_replaces_it() {
    let scratch = Scratch::new("rename-dir-over-dir");
    scratch.add_file("a/src/file", b"content");
    scratch.add_file("b/keep", b"kept");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    let a = fs.lookup_path(b"/a").unwrap();
    let b = fs.lookup_path(b"/b").unwrap();
    let source = fs.lookup(a, b"src").unwrap();
    let empty = fs.mkdir(b, b"empty", 0o755, time).unwrap();
    let sibling = fs.mkdir(a, b"sibling", 0o755, time).unwrap();
    assert_eq!(
        (fs.metadata(a).unwrap().links, fs.metadata(b).unwrap().links),
        (4, 3)
    );

    // Across parents: a loses src's "..", b trades empty's for src's.
    let replaced = fs.rename(a, b"src", b, b"empty", time, false).unwrap();
    assert_eq!(
        replaced,
        Some(Unlinked {
            inode: empty,
            orphaned: true
        })
    );
    assert_eq!(fs.lookup(b, b"empty"), Ok(source));
    assert_eq!(fs.lookup(source, b".."), Ok(b));
    assert_eq!(
        (fs.metadata(a).unwrap().links, fs.metadata(b).unwrap().links),
        (3, 3)
    );
    let orphan = fs.metadata(empty).unwrap();
    assert_eq!((orphan.links, orphan.ctime), (0, time));
    fs.release_orphan(empty, time).unwrap();

    // Within one parent: a loses sibling's "..".
    let other = fs.mkdir(a, b"other", 0o755, time).unwrap();
    let replaced = fs.rename(a, b"other", a, b"sibling", time, false).unwrap();
    assert_eq!(
        replaced,
        Some(Unlinked {
            inode: sibling,
            orphaned: true
        })
    );
    fs.release_orphan(sibling, time).unwrap();
    assert_eq!(fs.lookup(a, b"sibling"), Ok(other));
    assert_eq!(fs.metadata(a).unwrap().links, 3);
    // One directory (other) more than at the start, one block each.
    assert_eq!(fs.info().free_inodes, before.free_inodes - 1);
    assert_eq!(fs.info().free_blocks, before.free_blocks - 1);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/b/empty/file"), b"content");
    assert_eq!(debugfs_inode(&scratch, &disk, "/b/empty/.."), b);
}

#[test]
fn rename_of_a_directory_over_a_non_empty_directory_is_enotempty() {
    let scratch = Scratch::new("rename-notempty");
    scratch.add_file("src/file", b"x");
    scratch.add_file("full/file", b"y");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    assert_eq!(
        fs.rename(ROOT_INODE, b"src", ROOT_INODE, b"full", time, false),
        Err(Errno::ENOTEMPTY)
    );
    assert!(!fs.has_unsynced_changes());
    assert_eq!(read_all(&mut fs, "/full/file"), b"y");
    assert_eq!(read_all(&mut fs, "/src/file"), b"x");
}

// may_delete: a directory can only replace a directory (ENOTDIR), and a
// non-directory only a non-directory (EISDIR).
#[test]
fn rename_of_a_file_over_a_directory_is_eisdir_and_of_a_directory_over_a_file_enotdir() {
    let scratch = Scratch::new("rename-types");
    scratch.add_file("file", b"x");
    scratch.add_file("dir/inner", b"y");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    fs.mkdir(ROOT_INODE, b"empty", 0o755, time).unwrap();
    fs.sync(time).unwrap();
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", ROOT_INODE, b"empty", time, false),
        Err(Errno::EISDIR)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"dir", ROOT_INODE, b"file", time, false),
        Err(Errno::ENOTDIR)
    );
    assert!(!fs.has_unsynced_changes());
}

// rename(2): "EINVAL The new pathname contained a path prefix of the old,
// or, more generally, an attempt was made to make a directory a
// subdirectory of itself."
#[test]
fn rename_of_a_directory_into_its_own_subtree_is_einval() {
    let scratch = Scratch::new("rename-subtree");
    scratch.add_file("a/b/c/file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let a = fs.lookup_path(b"/a").unwrap();
    let c = fs.lookup_path(b"/a/b/c").unwrap();
    assert_eq!(
        fs.rename(ROOT_INODE, b"a", c, b"a", time, false),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"a", a, b"inside", time, false),
        Err(Errno::EINVAL)
    );
    // Renaming a name to itself is a no-op, not a move into itself.
    assert_eq!(
        fs.rename(ROOT_INODE, b"a", ROOT_INODE, b"a", time, false),
        Ok(None)
    );
    assert!(!fs.has_unsynced_changes());
    let b = fs.lookup(a, b"b").unwrap();
    assert_eq!(fs.rename(b, b"c", ROOT_INODE, b"c", time, false), Ok(None));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/c/file"), b"x");
}

// do_renameat2: "target should not be an ancestor of source" is ENOTEMPTY,
// whatever the source's type (Linux 6.1: rename("a/b/file", "a")).
#[test]
fn rename_onto_an_ancestor_of_the_source_is_enotempty() {
    let scratch = Scratch::new("rename-ancestor");
    scratch.add_file("a/b/file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let a = fs.lookup_path(b"/a").unwrap();
    let b = fs.lookup_path(b"/a/b").unwrap();
    assert_eq!(
        fs.rename(b, b"file", ROOT_INODE, b"a", time, false),
        Err(Errno::ENOTEMPTY)
    );
    assert_eq!(
        fs.rename(b, b"file", a, b"b", time, false),
        Err(Errno::ENOTEMPTY)
    );
    assert!(!fs.has_unsynced_changes());
}

// renameat2(2): "RENAME_NOREPLACE Don't overwrite newpath of the rename.
// Return an error if newpath already exists" — checked before the "same
// inode" shortcut, so two links of one inode are EEXIST too.
#[test]
fn rename_with_no_replace_over_an_existing_name_is_eexist() {
    let scratch = Scratch::new("rename-noreplace");
    scratch.add_file("a", b"a");
    scratch.add_file("b", b"b");
    scratch.add_file("d1/x", b"");
    scratch.add_file("d2/y", b"");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let a = fs.lookup_path(b"/a").unwrap();
    fs.link(a, ROOT_INODE, b"a2", time).unwrap();
    fs.sync(time).unwrap();
    for (old, new) in [
        (&b"a"[..], &b"b"[..]),
        (b"a", b"a2"),
        (b"d1", b"d2"),
        (b"a", b"d1"),
    ] {
        assert_eq!(
            fs.rename(ROOT_INODE, old, ROOT_INODE, new, time, true),
            Err(Errno::EEXIST)
        );
    }
    assert!(!fs.has_unsynced_changes());
    assert_eq!(
        fs.rename(ROOT_INODE, b"a", ROOT_INODE, b"fresh", time, true),
        Ok(None)
    );
    assert_eq!(fs.lookup_path(b"/fresh"), Ok(a));
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// rename(2): "If oldpath and newpath are existing hard links referring to
// the same file, then rename() does nothing, and returns a success status."
#[test]
fn rename_of_one_hard_link_onto_another_changes_nothing() {
    let scratch = Scratch::new("rename-same-inode");
    scratch.add_file("one", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let one = fs.lookup_path(b"/one").unwrap();
    fs.link(one, ROOT_INODE, b"two", time).unwrap();
    let disk = fs.unmount(time).unwrap();
    let before = disk.bytes.clone();
    let mut fs = mount(disk);
    let before_metadata = fs.metadata(one).unwrap();
    assert_eq!(
        fs.rename(ROOT_INODE, b"one", ROOT_INODE, b"two", now(), false),
        Ok(None)
    );
    assert!(!fs.has_unsynced_changes());
    assert_eq!(fs.metadata(one), Ok(before_metadata));
    assert_eq!(fs.lookup_path(b"/one"), Ok(one));
    assert_eq!(fs.lookup_path(b"/two"), Ok(one));
    let mut disk = fs.unmount(time).unwrap();
    // Only the mount itself (count and time in the superblock) differs.
    disk.bytes[1024..2048].copy_from_slice(&before[1024..2048]);
    assert!(disk.bytes == before, "nothing but the superblock changed");
}

#[test]
fn rename_of_a_missing_name_is_enoent_and_through_a_non_directory_enotdir() {
    let scratch = Scratch::new("rename-missing");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    assert_eq!(
        fs.rename(ROOT_INODE, b"nothing", ROOT_INODE, b"new", time, false),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fs.rename(file, b"x", ROOT_INODE, b"new", time, false),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", file, b"new", time, false),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", ROOT_INODE, &[b'n'; 256], time, false),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", ROOT_INODE, b"a/b", time, false),
        Err(Errno::EINVAL)
    );
    assert!(!fs.has_unsynced_changes());
}

// vfs_rename: a directory moving to a new parent that already has
// EXT2_LINK_MAX links is EMLINK (its ".." would be one too many); a file
// may still move there.
#[test]
fn rename_of_a_directory_to_a_parent_with_32000_links_is_emlink() {
    let scratch = Scratch::new("rename-emlink");
    scratch.add_file("full/keep", b"");
    scratch.add_file("dir/inner", b"");
    scratch.add_file("file", b"f");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    scratch.debugfs_write(&mut disk, "sif /full links_count 32000");
    let mut fs = mount(disk);
    let time = now();
    let full = fs.lookup_path(b"/full").unwrap();
    assert_eq!(
        fs.rename(ROOT_INODE, b"dir", full, b"dir", time, false),
        Err(Errno::EMLINK)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", full, b"file", time, false),
        Ok(None)
    );
    assert_eq!(fs.metadata(full).unwrap().links, 32000);
    let mut disk = fs.unmount(time).unwrap();
    // Back to the true count: nothing else is off.
    scratch.debugfs_write(&mut disk, "sif /full links_count 2");
    scratch.assert_fsck_clean(&disk);
}

// Linux's ext2_add_link puts a new name in the first gap that holds it,
// which may be just before the old name; removing the old name afterwards
// must fold it into the new entry, not into the one before both.
#[test]
fn rename_in_one_block_keeps_the_entries_around_the_old_name() {
    let scratch = Scratch::new("rename-neighbours");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let dir = fs.mkdir(ROOT_INODE, b"dir", 0o755, time).unwrap();
    let first = fs.create(dir, b"first", 0o644, time).unwrap();
    fs.create(dir, b"gap-to-be", 0o644, time).unwrap();
    let old = fs.create(dir, b"old-name", 0o644, time).unwrap();
    let last = fs.create(dir, b"last", 0o644, time).unwrap();
    let unlinked = fs.unlink(dir, b"gap-to-be", time).unwrap();
    fs.release_orphan(unlinked.inode, time).unwrap();
    assert_eq!(
        fs.rename(dir, b"old-name", dir, b"new", time, false),
        Ok(None)
    );
    let positions: Vec<_> = fs
        .read_dir(dir)
        .unwrap()
        .into_iter()
        .map(|entry| (String::from_utf8(entry.name).unwrap(), entry.inode))
        .collect();
    assert_eq!(
        positions,
        [
            (String::from("."), dir),
            (String::from(".."), ROOT_INODE),
            (String::from("first"), first),
            (String::from("new"), old),
            (String::from("last"), last),
        ]
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn rename_on_revision_0_moves_directories_without_file_types() {
    let scratch = Scratch::new("rename-rev0");
    scratch.add_file("a/moved/file", b"rev0");
    scratch.add_file("b/victim", b"old");
    scratch.add_file("source", b"new");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096).revision0()));
    let time = now();
    let a = fs.lookup_path(b"/a").unwrap();
    let b = fs.lookup_path(b"/b").unwrap();
    let moved = fs.lookup(a, b"moved").unwrap();
    assert_eq!(fs.rename(a, b"moved", b, b"moved", time, false), Ok(None));
    assert_eq!(fs.lookup(moved, b".."), Ok(b));
    let replaced = fs
        .rename(ROOT_INODE, b"source", b, b"victim", time, false)
        .unwrap()
        .unwrap();
    fs.release_orphan(replaced.inode, time).unwrap();
    assert!(
        fs.read_dir(b)
            .unwrap()
            .iter()
            .all(|entry| entry.file_type.is_none())
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert_eq!(scratch.debugfs_cat(&disk, "/b/moved/file"), b"rev0");
    assert_eq!(scratch.debugfs_cat(&disk, "/b/victim"), b"new");
}

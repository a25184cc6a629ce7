//! chmod, chown and utimensat on inodes, and what statfs reports.

use std::format;
use std::string::String;

use abi::Errno;

use super::support::{Mkfs, Scratch, field, mount, now};
use crate::FileType;

#[test]
fn set_permissions_keeps_the_file_type_and_sets_ctime() {
    let scratch = Scratch::new("attr-chmod");
    scratch.add_file("file", b"x");
    scratch.add_file("dir/inner", b"y");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let earlier = now() - 100;
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    let dir = fs.lookup_path(b"/dir").unwrap();
    fs.set_times(file, Some(earlier), Some(earlier), earlier)
        .unwrap();
    fs.set_permissions(file, 0o4751, time).unwrap();
    // Bits above 07777 are not permissions: they leave the type alone.
    fs.set_permissions(dir, 0o170700, time).unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.file_type, metadata.permissions),
        (FileType::Regular, 0o4751)
    );
    assert_eq!(
        (metadata.atime, metadata.mtime, metadata.ctime),
        (earlier, earlier, time)
    );
    let dir_metadata = fs.metadata(dir).unwrap();
    assert_eq!(
        (dir_metadata.file_type, dir_metadata.permissions),
        (FileType::Directory, 0o700)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = scratch.debugfs_text(&disk, "stat /file");
    assert_eq!(
        (field(&stat, "Type:"), field(&stat, "Mode:")),
        ("regular", "04751")
    );
    assert_eq!(field(&stat, "ctime:"), format!("{time:#010x}:00000000"));
    assert_eq!(
        field(&scratch.debugfs_text(&disk, "stat /dir"), "Mode:"),
        "0700"
    );
}

/// Checks owners of 32 bits on a disk made with `options`: the high
/// halves live in `l_i_uid_high`/`l_i_gid_high`, also in 128-byte inodes.
fn assert_32_bit_owners_survive(options: Mkfs) {
    let scratch = Scratch::new("attr-chown");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(options));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    fs.set_owner(file, Some(100_000), Some(70_000), time)
        .unwrap();
    fs.set_owner(file, None, Some(4_000_000_000), time).unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.uid, metadata.gid, metadata.ctime),
        (100_000, 4_000_000_000, time)
    );
    fs.set_owner(file, Some(7), None, time).unwrap();
    assert_eq!(fs.metadata(file).unwrap().uid, 7);
    // debugfs prints ids as signed ints: stay below 2^31 for it.
    fs.set_owner(file, Some(1_000_000), Some(2_000_000_000), time)
        .unwrap();
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = scratch.debugfs_text(&disk, "stat /file");
    assert_eq!(
        (field(&stat, "User:"), field(&stat, "Group:")),
        ("1000000", "2000000000")
    );
    let mut fs = mount(disk);
    let metadata = fs.metadata(file).unwrap();
    assert_eq!((metadata.uid, metadata.gid), (1_000_000, 2_000_000_000));
}

#[test]
fn set_owner_stores_32_bit_ids_in_both_halves() {
    assert_32_bit_owners_survive(Mkfs::new(1024, 4096));
}

#[test]
fn set_owner_stores_32_bit_ids_on_revision_0() {
    assert_32_bit_owners_survive(Mkfs::new(1024, 4096).revision0());
}

// chown(2) with both ids -1 still changes ctime on Linux (notify_change
// gets ATTR_CTIME).
#[test]
fn set_owner_without_ids_only_sets_ctime() {
    let scratch = Scratch::new("attr-chown-none");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    let before = fs.metadata(file).unwrap();
    fs.set_owner(file, None, None, time + 1).unwrap();
    let after = fs.metadata(file).unwrap();
    assert_eq!((after.uid, after.gid), (before.uid, before.gid));
    assert_eq!(after.ctime, time + 1);
}

// utimensat(2): UTIME_OMIT leaves that time; ctime is set to now.
#[test]
fn set_times_changes_what_is_given_and_always_ctime() {
    let scratch = Scratch::new("attr-utimes");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    fs.set_times(file, Some(1_000_000_000), Some(1_200_000_000), time - 10)
        .unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.atime, metadata.mtime, metadata.ctime),
        (1_000_000_000, 1_200_000_000, time - 10)
    );
    fs.set_times(file, None, Some(1_300_000_000), time - 5)
        .unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.atime, metadata.mtime, metadata.ctime),
        (1_000_000_000, 1_300_000_000, time - 5)
    );
    fs.set_times(file, Some(1_100_000_000), None, time).unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.atime, metadata.mtime, metadata.ctime),
        (1_100_000_000, 1_300_000_000, time)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = scratch.debugfs_text(&disk, "stat /file");
    assert_eq!(field(&stat, "atime:"), "0x4190ab00:00000000");
    assert_eq!(field(&stat, "mtime:"), "0x4d7c6d00:00000000");
}

#[test]
fn attribute_changes_on_a_bad_inode_number_are_einval() {
    let scratch = Scratch::new("attr-bad");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let beyond = fs.info().inodes_count + 1;
    assert_eq!(fs.set_permissions(0, 0o644, time), Err(Errno::EINVAL));
    assert_eq!(
        fs.set_owner(beyond, Some(1), None, time),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        fs.set_times(beyond, Some(1), None, time),
        Err(Errno::EINVAL)
    );
    assert!(!fs.has_unsynced_changes());
}

/// `Filesystem UUID:` of debugfs `stats` as 16 bytes.
fn uuid_bytes(stats: &str) -> [u8; 16] {
    let hex: String = field(stats, "Filesystem UUID:").replace('-', "");
    let mut bytes = [0; 16];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * index..2 * index + 2], 16).unwrap();
    }
    bytes
}

/// What `info` says for statfs on a fresh disk made with `options`,
/// against debugfs: reserved blocks, fsid and the name length; returns the
/// overhead for the caller to check.
fn statfs_overhead(options: Mkfs) -> u32 {
    let scratch = Scratch::new("attr-statfs");
    let disk = scratch.mkfs(options);
    let stats = scratch.debugfs_text(&disk, "stats");
    let fs = mount(disk);
    let info = fs.info();
    let reserved: u32 = field(&stats, "Reserved block count:").parse().unwrap();
    assert_eq!(info.reserved_blocks, reserved);
    let uuid = uuid_bytes(&stats);
    let low = u64::from_le_bytes(uuid[..8].try_into().unwrap());
    let high = u64::from_le_bytes(uuid[8..].try_into().unwrap());
    assert_eq!(info.fsid, low ^ high);
    assert_eq!(info.max_name_len, 255);
    if stats.contains("Overhead clusters:") {
        let recorded: u32 = field(&stats, "Overhead clusters:").parse().unwrap();
        assert_eq!(info.overhead_blocks, recorded, "mke2fs's own count");
    }
    info.overhead_blocks
}

// ext4_statfs (Linux 6.1 mounts ext2 disks with the ext4 driver): f_blocks
// leaves out the blocks before s_first_data_block, the superblock and
// descriptor copies with their reserved GDT blocks (sparse_super: groups 0
// and 1 here; revision 0: every group), and each group's two bitmaps and
// inode table. The reserved GDT counts are what debugfs `stats` reports.
#[test]
fn info_gives_statfs_the_reserved_and_overhead_blocks() {
    // One group of 4 KiB blocks: superblock, descriptors, 2 bitmaps, 128
    // inode-table blocks.
    assert_eq!(statfs_overhead(Mkfs::new(4096, 8192)), 1 + 1 + 2 + 128);
    // Block 0, then three groups with 426 inode-table blocks, the first two
    // with a superblock, one descriptor block and 79 reserved GDT blocks.
    assert_eq!(
        statfs_overhead(Mkfs::new(1024, 20 * 1024)),
        1 + 2 * (1 + 1 + 79) + 3 * (2 + 426)
    );
    // Revision 0: no sparse_super, 214 inode-table blocks per group.
    assert_eq!(
        statfs_overhead(Mkfs::new(1024, 20 * 1024).revision0()),
        1 + 3 * (1 + 1) + 3 * (2 + 214)
    );
}

// Linux's touch_atime changes the access time alone: no ctime, no mtime.
#[test]
fn set_access_time_moves_only_the_access_time() {
    let scratch = Scratch::new("attr-atime");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    fs.set_times(file, Some(1_000_000_000), Some(1_200_000_000), time - 10)
        .unwrap();
    fs.set_access_time(file, 1_250_000_000).unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.atime, metadata.mtime, metadata.ctime),
        (1_250_000_000, 1_200_000_000, time - 10)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// Linux 6.1 (ext4 on these images, measured): truncate(2) and ftruncate(2) set mtime and
// ctime even when the size stays as it was.
#[test]
fn set_len_moves_the_times_also_to_the_same_size() {
    let scratch = Scratch::new("attr-same-size");
    scratch.add_file("file", &[7; 3000]);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.lookup_path(b"/file").unwrap();
    fs.set_times(file, Some(1_000_000_000), Some(1_200_000_000), time - 10)
        .unwrap();
    fs.set_len(file, 3000, time).unwrap();
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.size, metadata.mtime, metadata.ctime),
        (3000, time, time)
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

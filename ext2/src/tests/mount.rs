//! Mounting: geometry, feature handling, and the clean/dirty state.

use std::format;
use std::string::ToString;
use std::vec;

use abi::Errno;

use super::support::{MemoryDisk, Mkfs, Scratch, mount, now};
use crate::{Ext2, FileType, MountError, ROOT_INODE};

const SUPERBLOCK: usize = 1024;
const STATE: usize = SUPERBLOCK + 58;
const MOUNT_COUNT: usize = SUPERBLOCK + 52;
const INCOMPAT: usize = SUPERBLOCK + 96;
const RO_COMPAT: usize = SUPERBLOCK + 100;

fn u16_at(disk: &MemoryDisk, offset: usize) -> u16 {
    u16::from_le_bytes([disk.bytes[offset], disk.bytes[offset + 1]])
}

fn or_u32_at(disk: &mut MemoryDisk, offset: usize, bits: u32) {
    let mut raw = [0; 4];
    raw.copy_from_slice(&disk.bytes[offset..offset + 4]);
    let value = u32::from_le_bytes(raw) | bits;
    disk.bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn mke2fs_ext2_defaults_are_understood() {
    let scratch = Scratch::new("mount-defaults");
    let fs = mount(scratch.mkfs(Mkfs::new(4096, 8 * 1024)));
    let info = fs.info();
    assert_eq!(
        (info.revision, info.block_size, info.inode_size),
        (1, 4096, 256)
    );
    assert_eq!((info.blocks_count, info.group_count), (2048, 1));
    // ext_attr, resize_inode, dir_index.
    assert_eq!(info.compat_features & 0x38, 0x38);
    assert_eq!(info.incompat_features, crate::INCOMPAT_FILETYPE);
    assert_eq!(
        info.ro_compat_features,
        crate::RO_COMPAT_SPARSE_SUPER | crate::RO_COMPAT_LARGE_FILE
    );
    assert!(!info.read_only);
}

#[test]
fn revision_0_has_128_byte_inodes_and_no_features() {
    let scratch = Scratch::new("mount-rev0");
    let fs = mount(scratch.mkfs(Mkfs::new(1024, 20 * 1024).revision0()));
    let info = fs.info();
    assert_eq!(
        (info.revision, info.block_size, info.inode_size),
        (0, 1024, 128)
    );
    assert_eq!(info.group_count, 3);
    let features = (
        info.compat_features,
        info.incompat_features,
        info.ro_compat_features,
    );
    assert_eq!(features, (0, 0, 0));
}

#[test]
fn mount_counts_itself_and_the_first_change_marks_the_disk_unclean() {
    let scratch = Scratch::new("mount-state");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    assert_eq!(fs.info().mount_count, 1);
    let time = now();
    fs.sync(time).unwrap();
    let mut disk = fs.unmount(time).unwrap();
    assert_eq!(u16_at(&disk, MOUNT_COUNT), 1);
    assert_eq!(u16_at(&disk, STATE), 1, "clean after unmount");

    disk = {
        let mut fs = mount(disk);
        fs.create(ROOT_INODE, b"file", 0o644, time).unwrap();
        let disk = fs.unmount(time).unwrap();
        assert_eq!(u16_at(&disk, MOUNT_COUNT), 2);
        disk
    };
    assert_eq!(u16_at(&disk, STATE), 1);
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn unsynced_changes_are_reported_until_sync() {
    let scratch = Scratch::new("mount-unsynced");
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 4096)));
    let time = now();
    assert!(!fs.has_unsynced_changes(), "nothing changed yet");
    fs.create(ROOT_INODE, b"file", 0o644, time).unwrap();
    assert!(fs.has_unsynced_changes());
    fs.sync(time).unwrap();
    assert!(!fs.has_unsynced_changes());
    fs.lookup_path(b"/file").unwrap();
    assert!(!fs.has_unsynced_changes(), "a lookup changes nothing");
}

#[test]
fn changes_mark_the_disk_unclean_until_sync() {
    let scratch = Scratch::new("mount-dirty");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    fs.create(ROOT_INODE, b"a", 0o644, time).unwrap();
    fs.sync(time).unwrap();
    fs.create(ROOT_INODE, b"b", 0o644, time).unwrap();
    let disk = fs.unmount(time).unwrap();
    assert_eq!(u16_at(&disk, STATE), 1);
    // Replay the same changes but stop before sync: the state must say unclean.
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    fs.create(ROOT_INODE, b"a", 0o644, time).unwrap();
    let mut superblock = vec![0; 1024];
    crate::BlockDevice::read_sectors(fs.device_mut(), 2, &mut superblock).unwrap();
    assert_eq!(u16::from_le_bytes([superblock[58], superblock[59]]), 0);
}

#[test]
fn a_disk_mounted_unclean_stays_unclean_after_unmount() {
    let scratch = Scratch::new("mount-unclean");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    disk.bytes[STATE] = 0;
    let mut fs = mount(disk);
    fs.create(ROOT_INODE, b"file", 0o644, now()).unwrap();
    let disk = fs.unmount(now()).unwrap();
    assert_eq!(u16_at(&disk, STATE), 0);
}

#[test]
fn unknown_incompat_feature_refuses_the_mount_with_a_message() {
    let scratch = Scratch::new("mount-incompat");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    or_u32_at(&mut disk, INCOMPAT, 0x40);
    let error = Ext2::mount(disk, now()).err().unwrap();
    assert_eq!(error, MountError::UnsupportedIncompatFeatures(0x40));
    assert_eq!(error.errno(), Errno::EINVAL);
    assert_eq!(
        error.to_string(),
        "ext2: refusing to mount: unknown INCOMPAT features 0x40 (only filetype is supported)"
    );
}

#[test]
fn unknown_ro_compat_feature_mounts_read_only_and_every_change_is_erofs() {
    let scratch = Scratch::new("mount-ro-compat");
    scratch.add_file("file", b"read me");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    or_u32_at(&mut disk, RO_COMPAT, 0x1000);
    let before = disk.bytes.clone();
    let mut fs = mount(disk);
    assert!(fs.is_read_only());
    let file = fs.lookup_path(b"/file").unwrap();
    let mut buf = [0; 7];
    assert_eq!(fs.read_at(file, 0, &mut buf), Ok(7));
    assert_eq!(&buf, b"read me");
    let time = now();
    assert_eq!(fs.write_at(file, 0, b"x", time), Err(Errno::EROFS));
    assert_eq!(fs.set_len(file, 0, time), Err(Errno::EROFS));
    assert_eq!(
        fs.create(ROOT_INODE, b"new", 0o644, time),
        Err(Errno::EROFS)
    );
    assert_eq!(fs.mkdir(ROOT_INODE, b"new", 0o755, time), Err(Errno::EROFS));
    assert_eq!(fs.unlink(ROOT_INODE, b"file", time), Err(Errno::EROFS));
    assert_eq!(fs.write_blocks(100, &[0; 1024]), Err(Errno::EROFS));
    assert_eq!(fs.link(file, ROOT_INODE, b"new", time), Err(Errno::EROFS));
    assert_eq!(
        fs.symlink(ROOT_INODE, b"new", b"file", time),
        Err(Errno::EROFS)
    );
    assert_eq!(
        fs.mknod(ROOT_INODE, b"new", FileType::Fifo, 0o644, (0, 0), time),
        Err(Errno::EROFS)
    );
    assert_eq!(
        fs.rename(ROOT_INODE, b"file", ROOT_INODE, b"new", time, false),
        Err(Errno::EROFS)
    );
    assert_eq!(fs.set_permissions(file, 0o600, time), Err(Errno::EROFS));
    assert_eq!(fs.set_owner(file, Some(1), None, time), Err(Errno::EROFS));
    assert_eq!(fs.set_times(file, None, Some(1), time), Err(Errno::EROFS));
    assert_eq!(fs.read_dir_at(ROOT_INODE, 0, 2).unwrap().len(), 2);
    let disk = fs.unmount(time).unwrap();
    assert!(disk.bytes == before, "a read-only mount must not write");
}

#[test]
fn a_disk_without_the_magic_is_not_ext2() {
    let disk = MemoryDisk::new(vec![0; 64 * 1024]);
    let error = Ext2::mount(disk, now()).err().unwrap();
    assert_eq!(error, MountError::NotExt2 { magic: 0 });
    assert_eq!(
        format!("{error}"),
        "ext2: bad magic 0x0000 (expected 0xef53)"
    );
}

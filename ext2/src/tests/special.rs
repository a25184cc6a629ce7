//! Device files, FIFOs and sockets: mknod, and the two device-number
//! encodings of Linux's ext2 (`old_encode_dev` in `i_block[0]`,
//! `new_encode_dev` in `i_block[1]`).

use std::os::unix::net::UnixListener;
use std::process::Command;
use std::string::ToString;

use abi::Errno;

use super::support::{Mkfs, Scratch, field, mount, now, unlink_and_release};
use crate::{FileType, ROOT_INODE};

/// The device files the tests make: name, type, `mknod` type letter,
/// major, minor. 255:255 is the largest old-style number, 256:0 and
/// 300:70000 need the new encoding.
const DEVICES: [(&str, FileType, &str, u32, u32); 5] = [
    ("null", FileType::CharDevice, "c", 1, 3),
    ("sda1", FileType::BlockDevice, "b", 8, 1),
    ("edge", FileType::CharDevice, "c", 255, 255),
    ("wide", FileType::CharDevice, "c", 256, 0),
    ("big", FileType::BlockDevice, "b", 300, 70000),
];

#[test]
fn mknod_stores_small_device_numbers_old_style_and_large_ones_new_style() {
    let scratch = Scratch::new("mknod-create");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    for (name, file_type, _, major, minor) in DEVICES {
        let inode = fs
            .mknod(
                ROOT_INODE,
                name.as_bytes(),
                file_type,
                0o640,
                (major, minor),
                time,
            )
            .unwrap();
        let metadata = fs.metadata(inode).unwrap();
        assert_eq!(
            (metadata.file_type, metadata.permissions, metadata.device),
            (file_type, 0o640, Some((major, minor))),
            "{name}"
        );
        assert_eq!((metadata.size, metadata.sectors), (0, 0));
    }
    let fifo = fs
        .mknod(ROOT_INODE, b"fifo", FileType::Fifo, 0o600, (9, 9), time)
        .unwrap();
    let socket = fs
        .mknod(ROOT_INODE, b"socket", FileType::Socket, 0o755, (0, 0), time)
        .unwrap();
    assert_eq!(fs.metadata(fifo).unwrap().device, None);
    assert_eq!(fs.metadata(socket).unwrap().file_type, FileType::Socket);
    // Seven inodes; the root directory's block had room for the names.
    assert_eq!(fs.info().free_inodes, before.free_inodes - 7);
    assert_eq!(fs.info().free_blocks, before.free_blocks);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);

    let stat = scratch.debugfs_text(&disk, "stat /null");
    assert_eq!(field(&stat, "Type:"), "character");
    assert!(
        stat.contains("Device major/minor number: 01:03 (hex 01:03)"),
        "{stat}"
    );
    let stat = scratch.debugfs_text(&disk, "stat /edge");
    assert!(
        stat.contains("Device major/minor number: 255:255 (hex ff:ff)"),
        "{stat}"
    );
    let stat = scratch.debugfs_text(&disk, "stat /wide");
    assert!(
        stat.contains("(New-style) Device major/minor number: 256:00 (hex 100:00)"),
        "{stat}"
    );
    let stat = scratch.debugfs_text(&disk, "stat /big");
    assert_eq!(field(&stat, "Type:"), "block");
    assert!(
        stat.contains("(New-style) Device major/minor number: 300:70000 (hex 12c:11170)"),
        "{stat}"
    );
    let listing = scratch.debugfs_text(&disk, "ls -l /");
    for mode in ["20640 (3)", "60640 (4)", "10600 (5)", "140755 (6)"] {
        assert!(listing.contains(mode), "{mode} in {listing}");
    }

    // Their i_block holds no pointers: removing them frees no blocks.
    let mut fs = mount(disk);
    for name in ["null", "sda1", "edge", "wide", "big", "fifo", "socket"] {
        unlink_and_release(&mut fs, ROOT_INODE, name.as_bytes(), time);
    }
    assert_eq!(fs.info().free_inodes, before.free_inodes);
    assert_eq!(fs.info().free_blocks, before.free_blocks);
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// mknod(2): "EINVAL mode requested creation of something other than a
// regular file, device special file, FIFO or socket"; Linux's dev_t holds
// 12 bits of major and 20 of minor.
#[test]
fn mknod_of_other_types_or_numbers_beyond_dev_t_is_einval() {
    let scratch = Scratch::new("mknod-errors");
    scratch.add_file("taken", b"");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let before = fs.info();
    for file_type in [
        FileType::Regular,
        FileType::Directory,
        FileType::Symlink,
        FileType::Unknown,
    ] {
        assert_eq!(
            fs.mknod(ROOT_INODE, b"node", file_type, 0o644, (1, 1), time),
            Err(Errno::EINVAL)
        );
    }
    for device in [(4096, 0), (0, 1 << 20)] {
        assert_eq!(
            fs.mknod(
                ROOT_INODE,
                b"node",
                FileType::CharDevice,
                0o644,
                device,
                time
            ),
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(
        fs.mknod(ROOT_INODE, b"taken", FileType::Fifo, 0o644, (0, 0), time),
        Err(Errno::EEXIST)
    );
    assert_eq!(fs.info(), before);
    let largest = fs
        .mknod(
            ROOT_INODE,
            b"largest",
            FileType::CharDevice,
            0o644,
            (4095, (1 << 20) - 1),
            time,
        )
        .unwrap();
    assert_eq!(
        fs.metadata(largest).unwrap().device,
        Some((4095, (1 << 20) - 1))
    );
    let disk = fs.unmount(time).unwrap();
    scratch.assert_fsck_clean(&disk);
}

// mke2fs -d copies device files, FIFOs and sockets from the source tree
// with both encodings. Making device files needs root, which these tests
// run as (debugfs mknod below covers the encodings without root).
#[test]
fn device_files_from_mke2fs_read_back_with_their_numbers() {
    let scratch = Scratch::new("mknod-mke2fs");
    for (name, _, kind, major, minor) in DEVICES {
        let status = Command::new("mknod")
            .arg(scratch.src().join(name))
            .args([kind, &major.to_string(), &minor.to_string()])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mknod {name} failed: making device files needs root"
        );
    }
    let status = Command::new("mkfifo")
        .arg(scratch.src().join("fifo"))
        .status()
        .unwrap();
    assert!(status.success());
    let _listener = UnixListener::bind(scratch.src().join("socket")).unwrap();
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    for (name, file_type, _, major, minor) in DEVICES {
        let inode = fs.lookup(ROOT_INODE, name.as_bytes()).unwrap();
        let metadata = fs.metadata(inode).unwrap();
        assert_eq!(
            (metadata.file_type, metadata.device),
            (file_type, Some((major, minor))),
            "{name}"
        );
    }
    let fifo = fs.lookup(ROOT_INODE, b"fifo").unwrap();
    let socket = fs.lookup(ROOT_INODE, b"socket").unwrap();
    assert_eq!(
        (
            fs.metadata(fifo).unwrap().file_type,
            fs.metadata(fifo).unwrap().device
        ),
        (FileType::Fifo, None)
    );
    assert_eq!(fs.metadata(socket).unwrap().file_type, FileType::Socket);
}

#[test]
fn device_files_from_debugfs_mknod_read_back_with_their_numbers() {
    let scratch = Scratch::new("mknod-debugfs");
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    // debugfs takes numbers up to 65535 and names relative to its cwd (/).
    for request in [
        "mknod null c 1 3",
        "mknod wide b 256 0",
        "mknod big c 300 7000",
        "mknod fifo p",
    ] {
        scratch.debugfs_write(&mut disk, request);
    }
    let mut fs = mount(disk);
    for (name, file_type, device) in [
        ("null", FileType::CharDevice, Some((1, 3))),
        ("wide", FileType::BlockDevice, Some((256, 0))),
        ("big", FileType::CharDevice, Some((300, 7000))),
        ("fifo", FileType::Fifo, None),
    ] {
        let inode = fs.lookup(ROOT_INODE, name.as_bytes()).unwrap();
        let metadata = fs.metadata(inode).unwrap();
        assert_eq!(
            (metadata.file_type, metadata.device),
            (file_type, device),
            "{name}"
        );
    }
}

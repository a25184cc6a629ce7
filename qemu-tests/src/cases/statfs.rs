//! The statfs figures `user/c/file_calls.c` prints last (its files removed
//! and synced), against the superblock the disk holds afterwards: what
//! Linux 6.1's `ext4_statfs` reports for an ext2 disk, so both kernels must
//! print the same line for their disk.

use crate::cases::Context;

/// The value of `key` ("Block count:") in `dumpe2fs -h` output.
fn field<'a>(superblock: &'a str, key: &str) -> Result<&'a str, String> {
    superblock
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .map(str::trim)
        .ok_or_else(|| format!("dumpe2fs -h has no {key:?}"))
}

fn number(superblock: &str, key: &str) -> Result<u64, String> {
    let value = field(superblock, key)?;
    value
        .parse()
        .map_err(|_| format!("{key} {value:?} is no number"))
}

/// `f_fsid` as ext4 makes it from the UUID: its two little-endian halves
/// xored, printed as `val[0]:val[1]` in hex.
fn fsid(uuid: &str) -> Result<String, String> {
    let hex: String = uuid.chars().filter(|c| *c != '-').collect();
    let bytes: Vec<u8> = (0..16)
        .map(|index| u8::from_str_radix(hex.get(2 * index..2 * index + 2)?, 16).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| format!("UUID {uuid:?} is not 16 bytes of hex"))?;
    let half = |range: std::ops::Range<usize>| {
        u64::from_le_bytes(bytes[range].try_into().expect("8 bytes"))
    };
    let fsid = half(0..8) ^ half(8..16);
    Ok(format!("{:08x}:{:08x}", fsid as u32, fsid >> 32))
}

/// The `statfs figures:` line on the console is what the disk's superblock
/// says: f_blocks is the block count less the overhead mke2fs recorded
/// (ext4's count: bitmaps, inode tables, superblock and descriptor copies
/// with their reserved GDT blocks), f_bavail the free blocks less the
/// reserved ones; the mount is read-write with relatime (ST_VALID |
/// ST_RELATIME).
pub fn check_statfs_figures(cx: &Context) -> Result<(), String> {
    let printed = cx.expect_line_starting("statfs figures: ")?;
    let image = cx.disk_image.ok_or("the case has no disk")?;
    let superblock = crate::rootfs::superblock(image)?;
    let block_size = number(&superblock, "Block size:")?;
    let free = number(&superblock, "Free blocks:")?;
    let reserved = number(&superblock, "Reserved block count:")?;
    let blocks = number(&superblock, "Block count:")? - number(&superblock, "Overhead clusters:")?;
    let expected = format!(
        "statfs figures: type=0xef53 bsize={block_size} blocks={blocks} bfree={free} \
         bavail={} files={} ffree={} fsid={} namelen=255 frsize={block_size} flags=0x1020",
        free.saturating_sub(reserved),
        number(&superblock, "Inode count:")?,
        number(&superblock, "Free inodes:")?,
        fsid(field(&superblock, "Filesystem UUID:")?)?,
    );
    if printed.trim_end() != expected {
        return Err(format!(
            "the program printed\n  {printed}\nthe disk says\n  {expected}"
        ));
    }
    Ok(())
}

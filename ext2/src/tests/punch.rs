//! Punching holes (fallocate's `PUNCH_HOLE | KEEP_SIZE`) at 1 and 4 KiB
//! blocks. The block counts expected are what Linux 6.1.192 (its ext4
//! driver serving these ext2 disks) left in `st_blocks` for the same files
//! and ranges, run once under QEMU; e2fsck and debugfs check the disk after.

use core::ops::Range;
use std::format;
use std::vec;
use std::vec::Vec;

use abi::Errno;

use super::support::{MemoryDisk, Mkfs, Scratch, field, mount, now, pattern, read_all};
use crate::{Ext2, FileType, InodeNumber, ROOT_INODE};

const BLOCK_SIZES: [u64; 2] = [1024, 4096];

/// A time for punches, distinct from the files' creation time (and not in
/// the future, which e2fsck would reject).
fn punch_time() -> u32 {
    now() - 3600
}

/// A file the test follows: its inode, the bytes it must read as, for
/// each file block whether it must have a data block, and its `i_blocks`.
struct Tracked {
    path: &'static str,
    inode: InodeNumber,
    contents: Vec<u8>,
    mapped: Vec<bool>,
    sectors: u32,
}

impl Tracked {
    /// Follows `path`, whose `contents` fill all its blocks.
    fn new(fs: &mut Ext2<MemoryDisk>, path: &'static str, contents: Vec<u8>) -> Tracked {
        let inode = fs.lookup_path(path.as_bytes()).unwrap();
        let blocks = contents.len().div_ceil(fs.block_size());
        Tracked {
            path,
            inode,
            contents,
            mapped: vec![true; blocks],
            sectors: fs.metadata(inode).unwrap().sectors,
        }
    }

    /// Writes pattern data over file blocks `blocks`, up to the end of file.
    fn fill(&mut self, fs: &mut Ext2<MemoryDisk>, blocks: Range<u64>) {
        let block_size = fs.block_size();
        let start = blocks.start as usize * block_size;
        let end = (blocks.end as usize * block_size).min(self.contents.len());
        let data = pattern(end - start, start as u32);
        assert_eq!(
            fs.write_at(self.inode, start as u64, &data, now()),
            Ok(data.len())
        );
        self.contents[start..end].copy_from_slice(&data);
        self.mapped[blocks.start as usize..blocks.end as usize].fill(true);
        self.sectors = fs.metadata(self.inode).unwrap().sectors;
    }

    /// Punches `offset..offset + len` and checks what every punch leaves:
    /// the size as it was, the bytes of the range (up to the end of file)
    /// zero and the others unchanged, the whole blocks in `freed` gone from
    /// the map, `i_blocks` at Linux's `sectors`, the free count up by the
    /// blocks that went, mtime and ctime at the punch's time.
    fn punch(
        &mut self,
        fs: &mut Ext2<MemoryDisk>,
        offset: u64,
        len: u64,
        freed: Range<u64>,
        sectors: u32,
    ) {
        let before = fs.metadata(self.inode).unwrap();
        assert_eq!(
            before.sectors, self.sectors,
            "{}: i_blocks before",
            self.path
        );
        let free_before = fs.info().free_blocks;
        let time = punch_time();
        assert_eq!(fs.punch_hole(self.inode, offset, len, time), Ok(()));
        let after = fs.metadata(self.inode).unwrap();
        assert_eq!(after.size, before.size, "{}: size", self.path);
        assert_eq!(after.sectors, sectors, "{}: i_blocks", self.path);
        let sectors_per_block = (fs.block_size() / 512) as u32;
        let blocks_freed = (before.sectors - sectors) / sectors_per_block;
        assert_eq!(fs.info().free_blocks, free_before + blocks_freed);
        assert_eq!((after.mtime, after.ctime), (time, time), "{}", self.path);
        let end = offset.saturating_add(len).min(self.contents.len() as u64);
        self.contents[offset as usize..end as usize].fill(0);
        self.mapped[freed.start as usize..freed.end as usize].fill(false);
        self.sectors = sectors;
        for block in freed {
            assert_eq!(fs.block_of(self.inode, block), Ok(None), "{block}");
        }
        assert!(read_all(fs, self.path) == self.contents, "{}", self.path);
    }

    /// Checks the file on the unmounted disk: its bytes (`debugfs cat`),
    /// its `i_blocks`, its data blocks and how many indirect blocks it has
    /// (`debugfs stat`).
    fn check_on_disk(&self, scratch: &Scratch, disk: &MemoryDisk, indirect_blocks: usize) {
        assert!(
            scratch.debugfs_cat(disk, self.path) == self.contents,
            "debugfs cat {}",
            self.path
        );
        let stat = scratch.debugfs_text(disk, &format!("stat {}", self.path));
        let block_count = field(&stat, "Blockcount:").parse::<u32>().unwrap();
        assert_eq!(block_count, self.sectors, "{}: Blockcount", self.path);
        let (mapped, indirect) = mapped_in_stat(&stat, self.mapped.len());
        assert_eq!(mapped, self.mapped, "{}: data blocks", self.path);
        assert_eq!(indirect, indirect_blocks, "{}: indirect blocks", self.path);
    }
}

/// For each of the file's first `blocks` blocks, whether `debugfs stat`'s
/// output lists a data block for it; and how many indirect blocks (IND,
/// DIND, TIND) it lists.
fn mapped_in_stat(stat: &str, blocks: usize) -> (Vec<bool>, usize) {
    let listing = stat.split("BLOCKS:").nth(1).expect("a BLOCKS section");
    let listing = listing.split("TOTAL:").next().unwrap();
    let mut mapped = vec![false; blocks];
    let mut indirect = 0;
    for entry in listing.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (file_blocks, _) = entry.split_once("):").expect("(blocks):disk blocks");
        let file_blocks = file_blocks.trim_start_matches('(');
        if matches!(file_blocks, "IND" | "DIND" | "TIND") {
            indirect += 1;
            continue;
        }
        let (first, last) = file_blocks
            .split_once('-')
            .unwrap_or((file_blocks, file_blocks));
        mapped[first.parse().unwrap()..=last.parse().unwrap()].fill(true);
    }
    (mapped, indirect)
}

/// Creates the file `path` (in the root directory): `size` bytes, all
/// hole, for [`Tracked::fill`] to write data into.
fn sparse_file(fs: &mut Ext2<MemoryDisk>, path: &'static str, size: u64) -> Tracked {
    let file = fs
        .create(ROOT_INODE, &path.as_bytes()[1..], 0o644, now())
        .unwrap();
    fs.set_len(file, size, now()).unwrap();
    let mut tracked = Tracked::new(fs, path, vec![0; size as usize]);
    tracked.mapped.fill(false);
    tracked
}

/// An image with `/file` of `blocks` whole blocks of data (made by mke2fs).
fn image_with_file(scratch: &Scratch, block_size: u64, blocks: u64) -> (Ext2<MemoryDisk>, Tracked) {
    let contents = pattern((blocks * block_size) as usize, 1);
    scratch.add_file("file", &contents);
    let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 8 * 1024)));
    let file = Tracked::new(&mut fs, "/file", contents);
    (fs, file)
}

/// Unmounts, checks the disk with e2fsck, then each file with
/// [`Tracked::check_on_disk`] and the indirect blocks it must have left.
fn unmount_and_check(
    scratch: &Scratch,
    fs: Ext2<MemoryDisk>,
    files: &[(&Tracked, usize)],
) -> MemoryDisk {
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
    for (file, indirect_blocks) in files {
        file.check_on_disk(scratch, &disk, *indirect_blocks);
    }
    disk
}

#[test]
fn punching_whole_blocks_frees_them_and_keeps_the_size() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-whole");
        let (mut fs, mut file) = image_with_file(&scratch, block_size, 64);
        let spb = (block_size / 512) as u32;
        // 64 data blocks and the single-indirect block; Linux: 130 -> 122 (1 KiB), 520 -> 488 (4 KiB).
        assert_eq!(fs.metadata(file.inode).unwrap().sectors, 65 * spb);
        file.punch(&mut fs, 2 * block_size, 4 * block_size, 2..6, 61 * spb);
        unmount_and_check(&scratch, fs, &[(&file, 1)]);
    }
}

#[test]
fn punching_partial_blocks_zeroes_both_ends_in_place() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-partial");
        let (mut fs, mut file) = image_with_file(&scratch, block_size, 64);
        let spb = (block_size / 512) as u32;
        let ends = [fs.block_of(file.inode, 0), fs.block_of(file.inode, 8)];
        // Bytes B/2+3 .. 8.5B+3: blocks 1..8 go, blocks 0 and 8 are cut.
        // Linux: 130 -> 116 (1 KiB), 520 -> 464 (4 KiB).
        let offset = block_size / 2 + 3;
        file.punch(&mut fs, offset, 8 * block_size, 1..8, 58 * spb);
        let after = [fs.block_of(file.inode, 0), fs.block_of(file.inode, 8)];
        assert_eq!(after, ends, "the partial blocks are zeroed where they are");
        // Inside one block: nothing is freed, the bytes are zeroed, the times change.
        file.punch(&mut fs, 9 * block_size + 100, 200, 0..0, 58 * spb);
        unmount_and_check(&scratch, fs, &[(&file, 1)]);
    }
}

/// Four copies of a file through the direct blocks, the single-indirect
/// block and three blocks under the double-indirect one, each punched over
/// another boundary. Linux frees an indirect block when the range covers
/// all it maps, and keeps the double-indirect block and its last child
/// when the range ends (at end of file) inside them.
#[test]
fn punching_across_the_indirect_boundaries_frees_the_indirect_blocks_linux_frees() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-indirect");
        let n = block_size / 4;
        let blocks = 12 + n + 2 * n + 5;
        let contents = pattern((blocks * block_size) as usize, 2);
        for name in ["span", "dind_child", "dind_all", "ind_exact"] {
            scratch.add_file(name, &contents);
        }
        let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 64 * 1024)));
        // i_blocks after each punch as Linux 6.1 left it, for 1 KiB and 4 KiB blocks.
        let linux_sectors = |small: u32, large: u32| if block_size == 1024 { small } else { large };
        let cases = [
            ("/span", 10..12 + n + 10, linux_sectors(1042, 16456), 4),
            (
                "/dind_child",
                12 + n..12 + 2 * n,
                linux_sectors(1066, 16552),
                4,
            ),
            ("/dind_all", 12 + n..blocks, linux_sectors(542, 8312), 3),
            ("/ind_exact", 12..12 + n, linux_sectors(1066, 16552), 4),
        ];
        let mut files = Vec::new();
        for (path, range, sectors, indirect_blocks) in cases {
            let mut file = Tracked::new(&mut fs, path, contents.clone());
            let spb = (block_size / 512) as u32;
            assert_eq!(
                fs.metadata(file.inode).unwrap().sectors,
                (blocks as u32 + 5) * spb
            );
            let (offset, len) = (
                range.start * block_size,
                (range.end - range.start) * block_size,
            );
            file.punch(&mut fs, offset, len, range, sectors);
            files.push((file, indirect_blocks));
        }
        let files: Vec<_> = files.iter().map(|(file, count)| (file, *count)).collect();
        unmount_and_check(&scratch, fs, &files);
    }
}

/// `ext4_ind_remove_space` frees an indirect block only when the range
/// reaches the end of what it maps: one the range ends inside stays even
/// with no pointers left (e2fsck accepts it), until a truncation frees it.
/// One the range starts inside, with nothing before the start, goes.
#[test]
fn an_indirect_block_the_range_ends_inside_stays_even_empty() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-empty-indirect");
        let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 16 * 1024)));
        let b = block_size;
        let n = b / 4;
        let spb = (b / 512) as u32;
        let linux_sectors = |small: u32, large: u32| if b == 1024 { small } else { large };

        // Data only under the single-indirect block, all of it punched.
        let mut only_indirect = sparse_file(&mut fs, "/only_indirect", 31 * b);
        only_indirect.fill(&mut fs, 12..31);
        only_indirect.punch(&mut fs, 12 * b, 19 * b, 12..31, linux_sectors(2, 8));
        // The same, the range running past the end of file.
        let mut past_end = sparse_file(&mut fs, "/past_end", 31 * b);
        past_end.fill(&mut fs, 12..31);
        past_end.punch(&mut fs, 12 * b, 100 * b, 12..31, linux_sectors(2, 8));
        // Direct blocks kept, the indirect block's data all punched.
        let mut tail = sparse_file(&mut fs, "/tail", 31 * b);
        tail.fill(&mut fs, 0..31);
        tail.punch(&mut fs, 12 * b, 19 * b, 12..31, linux_sectors(26, 104));
        // The range inside the single-indirect span, data in the double tree too.
        let double = 12 + n..12 + n + 10;
        let mut inside = sparse_file(&mut fs, "/inside", double.end * b);
        inside.fill(&mut fs, 20..25);
        inside.fill(&mut fs, double.clone());
        inside.punch(&mut fs, 15 * b, 20 * b, 15..35, linux_sectors(26, 104));
        // Holes before the start, the range running on into the double tree:
        // the single-indirect block goes.
        let mut start_side = sparse_file(&mut fs, "/start_side", double.end * b);
        start_side.fill(&mut fs, 17..31);
        start_side.fill(&mut fs, double);
        start_side.punch(
            &mut fs,
            15 * b,
            (n + 3) * b,
            15..12 + n + 6,
            linux_sectors(12, 48),
        );
        let first_kept = fs.block_of(start_side.inode, 12 + n + 6).unwrap();
        assert!(first_kept.is_some());

        let files = [
            (&only_indirect, 1),
            (&past_end, 1),
            (&tail, 1),
            (&inside, 3),
            (&start_side, 2),
        ];
        let disk = unmount_and_check(&scratch, fs, &files);

        let mut fs = mount(disk);
        fs.set_len(only_indirect.inode, 12 * b, now()).unwrap();
        assert_eq!(fs.metadata(only_indirect.inode).unwrap().sectors, 0);
        fs.set_len(tail.inode, 12 * b, now()).unwrap();
        assert_eq!(fs.metadata(tail.inode).unwrap().sectors, 12 * spb);
        let disk = fs.unmount(now()).unwrap();
        scratch.assert_fsck_clean(&disk);
    }
}

/// A range past the end of file stops at the first 4 KiB boundary after
/// `i_size`, as `ext4_punch_hole` stops it at the end of the page holding
/// `i_size`; with 1 KiB blocks that decides whether the single-indirect
/// block (file blocks 12 to 267) goes.
#[test]
fn a_range_past_the_end_is_cut_at_the_next_4_kib_boundary() {
    let scratch = Scratch::new("punch-cut");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    // 266 KiB: cut at 268 KiB, the indirect block's end; Linux: 510 -> 0.
    let mut reaches = sparse_file(&mut fs, "/reaches", 266 * 1024);
    reaches.fill(&mut fs, 12..266);
    reaches.punch(&mut fs, 12 * 1024, 1 << 30, 12..266, 0);
    // 263 KiB: cut at 264 KiB, inside it; Linux: 504 -> 2.
    let mut short = sparse_file(&mut fs, "/short", 263 * 1024);
    short.fill(&mut fs, 12..263);
    short.punch(&mut fs, 12 * 1024, 1 << 30, 12..263, 2);
    unmount_and_check(&scratch, fs, &[(&reaches, 0), (&short, 1)]);
}

#[test]
fn punching_to_past_the_end_zeroes_the_rest_of_the_file() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-to-eof");
        let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 4096)));
        let size = 10 * block_size + 100;
        let mut file = sparse_file(&mut fs, "/file", size);
        file.fill(&mut fs, 0..11);
        // Block 5 is cut at byte 7; blocks 6 to 10 go. Linux: 22 -> 12 (1 KiB), 88 -> 48 (4 KiB).
        let spb = (block_size / 512) as u32;
        file.punch(&mut fs, 5 * block_size + 7, 1 << 30, 6..11, 6 * spb);
        unmount_and_check(&scratch, fs, &[(&file, 0)]);
    }
}

/// `ext4_punch_hole` returns at once when the range starts at or past the
/// end of file: no block, size or time changes, and the disk stays clean.
#[test]
fn punching_at_or_past_the_end_of_file_changes_nothing() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-past-eof");
        let contents = pattern((10 * block_size + 100) as usize, 3);
        scratch.add_file("file", &contents);
        let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 4096)));
        let file = fs.lookup_path(b"/file").unwrap();
        let before = fs.metadata(file).unwrap();
        let size = before.size;
        assert_eq!(fs.punch_hole(file, size, block_size, punch_time()), Ok(()));
        assert_eq!(fs.punch_hole(file, 2 * size, 1 << 30, punch_time()), Ok(()));
        assert_eq!(fs.metadata(file).unwrap(), before);
        assert!(!fs.has_unsynced_changes());
        assert!(read_all(&mut fs, "/file") == contents);
    }
}

#[test]
fn punching_a_range_of_holes_changes_only_the_times() {
    for block_size in BLOCK_SIZES {
        let scratch = Scratch::new("punch-holes");
        let mut fs = mount(scratch.mkfs(Mkfs::new(block_size as u32, 4096)));
        let spb = (block_size / 512) as u32;
        let mut file = sparse_file(&mut fs, "/holey", 64 * block_size);
        file.fill(&mut fs, 0..1);
        file.fill(&mut fs, 63..64);
        // Blocks 0 and 63 and the indirect block; Linux: 6 -> 6 (1 KiB), 24 -> 24 (4 KiB).
        let free_before = fs.info().free_blocks;
        file.punch(&mut fs, block_size, 62 * block_size, 1..63, 3 * spb);
        assert_eq!(fs.info().free_blocks, free_before);
        unmount_and_check(&scratch, fs, &[(&file, 1)]);
    }
}

/// The errors Linux gives, in its order; the ones vfs_fallocate gives
/// before the file system is reached are the kernel's.
#[test]
fn punch_hole_errors_are_linuxs() {
    let scratch = Scratch::new("punch-errors");
    scratch.add_file("file", &pattern(10 * 1024, 4));
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.lookup_path(b"/file").unwrap();
    let time = punch_time();
    assert_eq!(fs.punch_hole(ROOT_INODE, 0, 1024, time), Err(Errno::EISDIR));
    assert_eq!(fs.punch_hole(ROOT_INODE, 0, 0, time), Err(Errno::EISDIR));
    let fifo = fs.mknod(ROOT_INODE, b"fifo", FileType::Fifo, 0o644, (0, 0), now());
    let fifo = fifo.unwrap();
    assert_eq!(fs.punch_hole(fifo, 0, 1024, time), Err(Errno::ESPIPE));
    assert_eq!(fs.punch_hole(fifo, 0, 0, time), Err(Errno::EINVAL));
    let null = fs.mknod(
        ROOT_INODE,
        b"null",
        FileType::CharDevice,
        0o644,
        (1, 3),
        now(),
    );
    let null = null.unwrap();
    assert_eq!(fs.punch_hole(null, 0, 1024, time), Err(Errno::ENODEV));
    let link = fs.symlink(ROOT_INODE, b"link", b"file", now()).unwrap();
    assert_eq!(fs.punch_hole(link, 0, 1024, time), Err(Errno::ENODEV));
    assert_eq!(fs.punch_hole(file, 0, 0, time), Err(Errno::EINVAL));
    assert_eq!(fs.punch_hole(file, u64::MAX, 2, time), Err(Errno::EFBIG));
    // s_maxbytes is 2^41 - 1024 here: just past it is EFBIG, up to it punches the whole file.
    let max_bytes = (1 << 41) - 1024;
    assert_eq!(fs.punch_hole(file, 1, max_bytes, time), Err(Errno::EFBIG));
    assert_eq!(fs.metadata(file).unwrap().sectors, 20);
    assert_eq!(fs.punch_hole(file, 0, max_bytes, time), Ok(()));
    assert_eq!(fs.metadata(file).unwrap().sectors, 0);
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);

    // An unknown RO_COMPAT feature (0x1000, in byte 1 of s_feature_ro_compat) mounts read-only.
    let mut disk = disk;
    disk.bytes[1024 + 100 + 1] |= 0x10;
    let mut fs = mount(disk);
    assert!(fs.is_read_only());
    assert_eq!(fs.punch_hole(file, 0, 1024, time), Err(Errno::EROFS));
    assert_eq!(fs.punch_hole(file, 0, 0, time), Err(Errno::EROFS));
    assert_eq!(fs.punch_hole(ROOT_INODE, 0, 1024, time), Err(Errno::EISDIR));
}

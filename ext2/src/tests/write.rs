//! Writing, extending and truncating files, checked by e2fsck and debugfs.

use std::vec;
use std::vec::Vec;

use abi::Errno;

use super::support::{MemoryDisk, Mkfs, Scratch, mount, now, pattern, read_all};
use crate::{Ext2, MappedBlock, ROOT_INODE};

/// Unmounts, then checks the image with e2fsck and the file with debugfs.
fn unmount_and_check(
    scratch: &Scratch,
    fs: Ext2<MemoryDisk>,
    path: &str,
    expected: &[u8],
) -> MemoryDisk {
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
    let contents = scratch.debugfs_cat(&disk, path);
    assert_eq!(contents.len(), expected.len(), "debugfs cat {path}: length");
    assert!(contents == expected, "debugfs cat {path}: bytes differ");
    disk
}

/// Writes `data` at `offset` in chunks of `chunk` bytes, as a program would.
fn write_in_chunks(fs: &mut Ext2<MemoryDisk>, inode: u32, offset: u64, data: &[u8], chunk: usize) {
    for (index, piece) in data.chunks(chunk).enumerate() {
        let at = offset + (index * chunk) as u64;
        assert_eq!(fs.write_at(inode, at, piece, now()), Ok(piece.len()));
    }
}

#[test]
fn overwriting_inside_a_file_keeps_its_size_and_blocks() {
    let scratch = Scratch::new("write-overwrite");
    scratch.add_file("file", &pattern(13 * 1024 + 1, 1));
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.lookup_path(b"/file").unwrap();
    let free_before = fs.info().free_blocks;
    let patch = pattern(5000, 99);
    assert_eq!(fs.write_at(file, 1000, &patch, now()), Ok(5000));
    assert_eq!(fs.info().free_blocks, free_before);
    let metadata = fs.metadata(file).unwrap();
    assert_eq!((metadata.size, metadata.sectors), (13 * 1024 + 1, 2 * 15));
    let mut expected = pattern(13 * 1024 + 1, 1);
    expected[1000..6000].copy_from_slice(&patch);
    unmount_and_check(&scratch, fs, "/file", &expected);
}

#[test]
fn extending_through_double_indirect_blocks_counts_every_block() {
    let scratch = Scratch::new("write-extend");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let free_before = fs.info().free_blocks;
    let file = fs.create(ROOT_INODE, b"big", 0o644, now()).unwrap();
    let data = pattern((5 << 20) + 3, 7);
    write_in_chunks(&mut fs, file, 0, &data, 7000);
    // 5121 data blocks, 1 single indirect, 1 double indirect, 19 under it.
    let blocks = 5121 + 1 + 1 + 19;
    let metadata = fs.metadata(file).unwrap();
    assert_eq!(
        (metadata.size, metadata.sectors),
        (data.len() as u64, 2 * blocks)
    );
    assert_eq!(fs.info().free_blocks, free_before - blocks);
    assert!(read_all(&mut fs, "/big") == data);
    unmount_and_check(&scratch, fs, "/big", &data);
}

#[test]
fn sequential_writes_are_contiguous_on_disk() {
    let scratch = Scratch::new("write-contiguous-4k");
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 8 * 1024)));
    let file = fs.create(ROOT_INODE, b"seq", 0o644, now()).unwrap();
    write_in_chunks(&mut fs, file, 0, &pattern(40 * 1024, 3), 4096);
    let mut mapping = [None; 10];
    fs.map_blocks(file, 0, &mut mapping).unwrap();
    let first = mapping[0].unwrap();
    let expected: Vec<_> = (0..10).map(|index| Some(first + index)).collect();
    assert_eq!(mapping[..], expected[..]);

    // With 1 KiB blocks the single-indirect block sits between file blocks 11 and 12.
    let scratch = Scratch::new("write-contiguous-1k");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.create(ROOT_INODE, b"seq", 0o644, now()).unwrap();
    write_in_chunks(&mut fs, file, 0, &pattern(64 * 1024, 4), 4096);
    let mut mapping = [None; 64];
    fs.map_blocks(file, 0, &mut mapping).unwrap();
    let gaps: Vec<u32> = mapping
        .windows(2)
        .map(|pair| pair[1].unwrap() - pair[0].unwrap())
        .collect();
    let mut expected = vec![1; 63];
    expected[11] = 2;
    assert_eq!(gaps, expected);
}

#[test]
fn shrinking_frees_data_and_emptied_indirect_blocks() {
    let scratch = Scratch::new("write-shrink");
    let data = pattern(5 << 20, 5);
    scratch.add_file("big", &data);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let file = fs.lookup_path(b"/big").unwrap();
    let free_before = fs.info().free_blocks;
    fs.set_len(file, 12 * 1024 + 1, now()).unwrap();
    // 13 data blocks and the single-indirect block stay; 5141 - 14 go.
    assert_eq!(fs.metadata(file).unwrap().sectors, 28);
    assert_eq!(fs.info().free_blocks, free_before + 5141 - 14);
    let disk = unmount_and_check(&scratch, fs, "/big", &data[..12 * 1024 + 1]);

    let mut fs = mount(disk);
    fs.set_len(file, 12 * 1024, now()).unwrap();
    assert_eq!(
        fs.metadata(file).unwrap().sectors,
        24,
        "the indirect block went with block 12"
    );
    fs.set_len(file, 0, now()).unwrap();
    assert_eq!(fs.metadata(file).unwrap().sectors, 0);
    assert_eq!(fs.info().free_blocks, free_before + 5141);
    unmount_and_check(&scratch, fs, "/big", &[]);
}

#[test]
fn growing_after_shrinking_reads_zeros_past_the_old_end() {
    let scratch = Scratch::new("write-grow");
    scratch.add_file("file", &pattern(3000, 8));
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.lookup_path(b"/file").unwrap();
    fs.set_len(file, 500, now()).unwrap();
    fs.set_len(file, 20_000, now()).unwrap();
    let mut expected = vec![0; 20_000];
    expected[..500].copy_from_slice(&pattern(500, 8));
    assert!(read_all(&mut fs, "/file") == expected);
    assert_eq!(fs.block_of(file, 15), Ok(None), "growing allocates nothing");
    assert_eq!(fs.metadata(file).unwrap().sectors, 2);
    unmount_and_check(&scratch, fs, "/file", &expected);
}

#[test]
fn writing_past_the_end_leaves_a_hole() {
    let scratch = Scratch::new("write-hole");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.create(ROOT_INODE, b"holey", 0o600, now()).unwrap();
    assert_eq!(fs.write_at(file, 0, b"head", now()), Ok(4));
    assert_eq!(fs.write_at(file, 100_000, b"tail", now()), Ok(4));
    let mut expected = vec![0; 100_004];
    expected[..4].copy_from_slice(b"head");
    expected[100_000..].copy_from_slice(b"tail");
    assert!(read_all(&mut fs, "/holey") == expected);
    // File blocks 0 and 97, and the single-indirect block that maps 97.
    assert_eq!(fs.metadata(file).unwrap().sectors, 2 * 3);
    assert_eq!(fs.block_of(file, 50), Ok(None));
    unmount_and_check(&scratch, fs, "/holey", &expected);
}

/// Mapping a range of allocated blocks that crosses from the direct slots
/// through the single-indirect block into the double-indirect tree finds
/// exactly what the block map says, block by block; a hole in such a range
/// gets a new block and the blocks around it keep theirs.
#[test]
fn mapping_a_range_across_indirect_tables_agrees_with_the_block_map() {
    const BLOCKS: u64 = 12 + 256 + 100;
    let scratch = Scratch::new("write-map-tables");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.create(ROOT_INODE, b"tables", 0o644, now()).unwrap();
    // Backwards, so that the disk blocks are not simply consecutive.
    for block in (0..BLOCKS).rev() {
        let data = pattern(1024, block as u32);
        assert_eq!(fs.write_at(file, block * 1024, &data, now()), Ok(1024));
    }
    fs.sync(now()).unwrap();
    let expected: Vec<u32> = (0..BLOCKS)
        .map(|block| fs.block_of(file, block).unwrap().expect("allocated"))
        .collect();
    let mut mapped = vec![MappedBlock::default(); (BLOCKS - 5) as usize];
    assert_eq!(
        fs.map_blocks_allocating(file, 5, &mut mapped),
        Ok(mapped.len())
    );
    let found: Vec<u32> = mapped.iter().map(|block| block.disk_block).collect();
    assert_eq!(found, expected[5..]);
    assert!(mapped.iter().all(|block| !block.newly_allocated));
    assert!(!fs.has_unsynced_changes());

    fs.set_len(file, 300 * 1024, now()).unwrap();
    fs.set_len(file, BLOCKS * 1024, now()).unwrap();
    assert_eq!(fs.block_of(file, 300), Ok(None));
    mapped.fill(MappedBlock::default());
    assert_eq!(
        fs.map_blocks_allocating(file, 5, &mut mapped),
        Ok(mapped.len())
    );
    for (offset, block) in mapped.iter().enumerate() {
        let file_block = offset + 5;
        assert_eq!(block.newly_allocated, file_block >= 300, "{file_block}");
        if file_block < 300 {
            assert_eq!(block.disk_block, expected[file_block]);
        }
    }
}

#[test]
fn page_cache_style_writeback_through_the_block_map() {
    let scratch = Scratch::new("write-map");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.create(ROOT_INODE, b"mapped", 0o644, now()).unwrap();
    fs.set_len(file, 8192, now()).unwrap();
    // A dirty 4 KiB page covers file blocks 4..8: map them, then write the
    // run of contiguous disk blocks in one request.
    let mut mapping = [MappedBlock::default(); 4];
    assert_eq!(fs.map_blocks_allocating(file, 4, &mut mapping), Ok(4));
    assert!(mapping.iter().all(|block| block.newly_allocated));
    let first = mapping[0].disk_block;
    assert!(
        mapping
            .iter()
            .enumerate()
            .all(|(index, block)| block.disk_block == first + index as u32)
    );
    let page = pattern(4096, 11);
    fs.write_blocks(first, &page).unwrap();
    // Mapping again finds the same blocks, no longer new.
    let mut again = [MappedBlock::default(); 4];
    assert_eq!(fs.map_blocks_allocating(file, 4, &mut again), Ok(4));
    assert!(
        again
            .iter()
            .zip(&mapping)
            .all(|(a, b)| a.disk_block == b.disk_block && !a.newly_allocated)
    );
    let mut expected = vec![0; 8192];
    expected[4096..].copy_from_slice(&page);
    assert_eq!(fs.metadata(file).unwrap().sectors, 8);
    unmount_and_check(&scratch, fs, "/mapped", &expected);
}

#[test]
fn files_of_2_gib_and_more_turn_on_large_file() {
    let scratch = Scratch::new("write-large");
    // mke2fs always sets large_file on revision 1; clear it by hand.
    let mut disk = scratch.mkfs(Mkfs::new(4096, 8 * 1024));
    disk.bytes[1024 + 100] &= !(crate::RO_COMPAT_LARGE_FILE as u8);
    let mut fs = mount(disk);
    assert_eq!(
        fs.info().ro_compat_features & crate::RO_COMPAT_LARGE_FILE,
        0
    );
    let file = fs.create(ROOT_INODE, b"huge", 0o644, now()).unwrap();
    let offset = 5u64 << 30;
    assert_eq!(fs.write_at(file, offset, b"far", now()), Ok(3));
    assert_eq!(fs.metadata(file).unwrap().size, offset + 3);
    assert_ne!(
        fs.info().ro_compat_features & crate::RO_COMPAT_LARGE_FILE,
        0
    );
    let mut buf = [0; 3];
    assert_eq!(fs.read_at(file, offset, &mut buf), Ok(3));
    assert_eq!(&buf, b"far");
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
    let stat = std::string::String::from_utf8(scratch.debugfs(&disk, "stat /huge")).unwrap();
    assert!(stat.contains("Size: 5368709123"), "{stat}");
}

#[test]
fn revision_0_files_stop_below_2_gib() {
    let scratch = Scratch::new("write-rev0-limit");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096).revision0()));
    let file = fs.create(ROOT_INODE, b"file", 0o644, now()).unwrap();
    assert_eq!(fs.max_file_size(), (1 << 31) - 1);
    assert_eq!(
        fs.write_at(file, (1 << 31) - 1, b"x", now()),
        Err(Errno::EFBIG)
    );
    assert_eq!(fs.set_len(file, 1 << 31, now()), Err(Errno::EFBIG));
    assert_eq!(fs.write_at(file, (1 << 31) - 2, b"x", now()), Ok(1));
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn a_full_disk_gives_a_short_write_then_enospc() {
    let scratch = Scratch::new("write-full");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 2048)));
    let file = fs.create(ROOT_INODE, b"filler", 0o644, now()).unwrap();
    let data = pattern(4 << 20, 12);
    let written = fs.write_at(file, 0, &data, now()).unwrap();
    assert!(written > 0 && written < data.len());
    assert_eq!(fs.info().free_blocks, 0);
    assert_eq!(
        fs.write_at(file, written as u64, b"more", now()),
        Err(Errno::ENOSPC)
    );
    assert_eq!(fs.metadata(file).unwrap().size, written as u64);
    unmount_and_check(&scratch, fs, "/filler", &data[..written]);
}

#[test]
fn write_at_on_a_directory_is_eisdir() {
    let scratch = Scratch::new("write-eisdir");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    assert_eq!(fs.write_at(ROOT_INODE, 0, b"x", now()), Err(Errno::EISDIR));
    assert_eq!(fs.set_len(ROOT_INODE, 0, now()), Err(Errno::EISDIR));
}

#[test]
fn mapping_with_allocation_past_the_end_of_file_is_einval() {
    let scratch = Scratch::new("write-map-eof");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let file = fs.create(ROOT_INODE, b"short", 0o644, now()).unwrap();
    fs.set_len(file, 5000, now()).unwrap();
    let mut page = [MappedBlock::default(); 4];
    assert_eq!(
        fs.map_blocks_allocating(file, 4, &mut page),
        Err(Errno::EINVAL)
    );
    assert_eq!(fs.map_blocks_allocating(file, 4, &mut page[..1]), Ok(1));
    assert!(page[0].newly_allocated);
    fs.write_blocks(page[0].disk_block, &[b'z'; 1024]).unwrap();
    let mut expected = vec![0; 5000];
    expected[4096..].fill(b'z');
    unmount_and_check(&scratch, fs, "/short", &expected);
}

//! The metadata cache: what reaches the device when, batched allocation,
//! crashes before sync, coherence with direct data I/O, and the memory bound.

use std::format;
use std::vec;
use std::vec::Vec;

use super::support::{
    MemoryDisk, Mkfs, Scratch, mount, now, pattern, read_all, unlink_and_release,
};
use crate::{Ext2, MappedBlock, ROOT_INODE};

const STATE: usize = 1024 + 58;

fn state_on_disk(disk: &MemoryDisk) -> u16 {
    u16::from_le_bytes([disk.bytes[STATE], disk.bytes[STATE + 1]])
}

#[test]
fn metadata_reads_after_warm_up_reach_no_device() {
    let scratch = Scratch::new("cache-warm");
    scratch.add_file("big", &pattern(5 << 20, 1));
    scratch.add_file("dir/small", b"small");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let walk = |fs: &mut Ext2<MemoryDisk>| {
        let big = fs.lookup_path(b"/big").unwrap();
        let small = fs.lookup_path(b"/dir/small").unwrap();
        let blocks = fs.metadata(big).unwrap().size.div_ceil(1024) as usize;
        let mut mapping = vec![None; blocks];
        fs.map_blocks(big, 0, &mut mapping).unwrap();
        assert!(mapping.iter().all(Option::is_some));
        assert!(fs.block_of(big, blocks as u64 - 1).unwrap().is_some());
        fs.metadata(small).unwrap();
        fs.read_dir(ROOT_INODE).unwrap();
    };
    walk(&mut fs);
    fs.device_mut().reset_counters();
    walk(&mut fs);
    let disk = fs.device_mut();
    assert_eq!(
        (disk.reads, disk.writes),
        (0, 0),
        "(reads, writes) when warm"
    );
}

#[test]
fn a_sequential_extension_is_contiguous_and_written_only_at_sync() {
    const BLOCKS: usize = 4096;
    const CHUNK: usize = 256;
    let scratch = Scratch::new("cache-extend");
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 32 * 1024)));
    let file = fs.create(ROOT_INODE, b"seq", 0o644, now()).unwrap();
    fs.set_len(file, (BLOCKS * 4096) as u64, now()).unwrap();
    fs.sync(now()).unwrap();
    let free_before = fs.info().free_blocks;
    fs.device_mut().reset_counters();

    let mut mapping = vec![MappedBlock::default(); BLOCKS];
    for (index, chunk) in mapping.chunks_mut(CHUNK).enumerate() {
        let first = (index * CHUNK) as u64;
        assert_eq!(fs.map_blocks_allocating(file, first, chunk), Ok(CHUNK));
    }
    assert_eq!(
        fs.device_mut().writes,
        1,
        "only the superblock's \"not clean\" mark is written before sync"
    );

    // 12 direct blocks, 1024 under the single-indirect block, the rest
    // under the double-indirect block and 3 indirect blocks below it.
    let indirect = 1 + 1 + 3;
    let allocated = (BLOCKS + indirect) as u32;
    assert!(mapping.iter().all(|block| block.newly_allocated));
    assert!(
        mapping
            .windows(2)
            .all(|pair| pair[0].disk_block < pair[1].disk_block)
    );
    let span = mapping[BLOCKS - 1].disk_block - mapping[0].disk_block + 1;
    assert_eq!(span, allocated, "data and indirect blocks form one run");
    assert_eq!(fs.metadata(file).unwrap().sectors, allocated * 8);
    assert_eq!(fs.info().free_blocks, free_before - allocated);

    fs.device_mut().reset_counters();
    fs.sync(now()).unwrap();
    let sync_writes = fs.device_mut().writes;
    assert!(
        sync_writes <= 2 + indirect + 2,
        "sync wrote {sync_writes} times: bitmap, inode table, indirect blocks, descriptors, superblock"
    );
    assert_eq!(fs.metadata.dirty_len(), 0);
    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
}

#[test]
fn a_crash_before_sync_leaves_the_disk_marked_unclean() {
    let scratch = Scratch::new("cache-crash");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let file = fs.create(ROOT_INODE, b"file", 0o644, time).unwrap();
    assert_eq!(fs.write_at(file, 0, &pattern(20_000, 2), time), Ok(20_000));
    let crashed = MemoryDisk::new(fs.device_mut().bytes.clone());
    drop(fs);
    assert_eq!(state_on_disk(&crashed), 0, "the disk says \"check me\"");

    let fs = mount(crashed);
    let disk = fs.unmount(now()).unwrap();
    assert_eq!(state_on_disk(&disk), 0, "still unclean until e2fsck runs");
}

#[test]
fn a_freed_indirect_block_reused_as_data_is_never_read_stale() {
    let scratch = Scratch::new("cache-reuse");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let time = now();
    let first = fs.create(ROOT_INODE, b"first", 0o644, time).unwrap();
    assert_eq!(
        fs.write_at(first, 0, &pattern(13 * 1024, 3), time),
        Ok(13 * 1024)
    );
    // The single-indirect block sits right after file block 11; it is
    // dirty in the cache, never written to the disk.
    let indirect = fs.block_of(first, 11).unwrap().unwrap() + 1;
    assert_eq!(fs.block_of(first, 12), Ok(Some(indirect + 1)));
    fs.set_len(first, 12 * 1024, time).unwrap();
    // Freed before it ever reached the disk: sync must not write it.
    fs.sync(time).unwrap();
    let on_disk = |fs: &mut Ext2<MemoryDisk>| {
        let start = indirect as usize * 1024;
        fs.device_mut().bytes[start..start + 1024].to_vec()
    };
    assert!(
        on_disk(&mut fs) == vec![0; 1024],
        "a freed block was written"
    );

    let second = fs.create(ROOT_INODE, b"second", 0o644, time).unwrap();
    fs.set_len(second, 1024, time).unwrap();
    let mut mapped = [MappedBlock::default()];
    assert_eq!(fs.map_blocks_allocating(second, 0, &mut mapped), Ok(1));
    assert_eq!(
        mapped[0].disk_block, indirect,
        "the freed indirect block is the first free block"
    );
    let data = pattern(1024, 4);
    fs.write_blocks(indirect, &data).unwrap();
    let mut read_back = vec![0; 1024];
    fs.read_blocks(indirect, &mut read_back).unwrap();
    assert!(read_back == data, "read_blocks returned stale bytes");
    assert!(read_all(&mut fs, "/second") == data);

    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert!(
        scratch.debugfs_cat(&disk, "/second") == data,
        "sync overwrote the data"
    );
}

#[test]
fn the_cache_never_holds_more_than_its_limit() {
    const LIMIT_BLOCKS: usize = 16;
    let scratch = Scratch::new("cache-bound");
    let disk = scratch.mkfs(Mkfs::new(1024, 8 * 1024));
    let mut fs = Ext2::mount_with_cache(disk, now(), LIMIT_BLOCKS * 1024).unwrap();
    let time = now();
    let assert_bounded = |fs: &Ext2<MemoryDisk>| {
        let cached = fs.metadata.len();
        assert!(cached <= LIMIT_BLOCKS, "{cached} blocks cached");
    };
    let directory = fs.mkdir(ROOT_INODE, b"d", 0o755, time).unwrap();
    let mut files = Vec::new();
    for index in 0..60u32 {
        let name = format!("file{index}");
        let file = fs.create(directory, name.as_bytes(), 0o644, time).unwrap();
        let data = pattern(14 * 1024, index);
        assert_eq!(fs.write_at(file, 0, &data, time), Ok(data.len()));
        assert_bounded(&fs);
        files.push((name, data));
    }
    let big = fs.create(ROOT_INODE, b"big", 0o644, time).unwrap();
    let big_data = pattern(300 * 1024, 99);
    assert_eq!(fs.write_at(big, 0, &big_data, time), Ok(big_data.len()));
    assert_bounded(&fs);
    for (name, data) in files.iter().step_by(7) {
        assert!(read_all(&mut fs, &format!("/d/{name}")) == *data);
        assert_bounded(&fs);
    }
    unlink_and_release(&mut fs, directory, b"file3", time);
    assert_bounded(&fs);

    let disk = fs.unmount(now()).unwrap();
    scratch.assert_fsck_clean(&disk);
    assert!(scratch.debugfs_cat(&disk, "/big") == big_data);
    for (name, data) in files.iter().skip(4).step_by(9) {
        assert!(scratch.debugfs_cat(&disk, &format!("/d/{name}")) == *data);
    }
}

#[test]
fn direct_reads_of_a_changed_directory_block_see_the_change() {
    let scratch = Scratch::new("cache-overlay");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    fs.create(ROOT_INODE, b"fresh-name", 0o644, now()).unwrap();
    let block = fs.block_of(ROOT_INODE, 0).unwrap().unwrap();
    let mut bytes = vec![0; 1024];
    fs.read_blocks(block, &mut bytes).unwrap();
    assert!(bytes.windows(10).any(|window| window == b"fresh-name"));
}

#[test]
fn a_sync_with_nothing_changed_writes_nothing() {
    let scratch = Scratch::new("cache-idle-sync");
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 4096)));
    fs.create(ROOT_INODE, b"file", 0o644, now()).unwrap();
    fs.sync(now()).unwrap();
    fs.device_mut().reset_counters();
    fs.lookup_path(b"/file").unwrap();
    fs.sync(now()).unwrap();
    let disk = fs.device_mut();
    assert_eq!((disk.reads, disk.writes), (0, 0), "(reads, writes)");
}

/// Rewriting the pages of a file whose blocks exist is a lookup: the page
/// cache's write-back of such pages changes no metadata, so the disk is not
/// marked unclean and sync has nothing to write.
#[test]
fn mapping_allocated_blocks_changes_nothing() {
    let scratch = Scratch::new("cache-allocated-map");
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 4096)));
    let file = fs.create(ROOT_INODE, b"file", 0o644, now()).unwrap();
    fs.write_at(file, 0, &pattern(8 * 4096, 3), now()).unwrap();
    fs.sync(now()).unwrap();
    let mut first = [MappedBlock {
        disk_block: 0,
        newly_allocated: false,
    }; 8];
    fs.map_blocks_allocating(file, 0, &mut first).unwrap();
    fs.device_mut().reset_counters();
    let mut again = first;
    assert_eq!(fs.map_blocks_allocating(file, 0, &mut again), Ok(8));
    assert_eq!(again, first);
    assert!(again.iter().all(|block| !block.newly_allocated));
    assert!(!fs.has_unsynced_changes());
    let disk = fs.device_mut();
    assert_eq!((disk.reads, disk.writes), (0, 0), "(reads, writes)");
}

//! Page-cache tests on a mounted ext2 root: the `kernel-fs-page-cache` QEMU
//! case boots with `test=kernel::fs::` and a root disk whose `/kt` files the
//! runner made (`qemu-tests/src/cases/storage.rs`: keep names, sizes and
//! seeds in step). The first write to the first block of `/kt/eio.bin` fails
//! with EIO (QEMU's blkdebug, `once = "on"`). The disk-less `kernel-tests`
//! case excludes this module with `test=-kernel::fs::`.
//!
//! Each test leaves the file system synced, so the runner's `e2fsck -fn`
//! afterwards finds it clean.

use super::{FileSystem, root};
use crate::block::{DmaBuffer, MAX_REQUEST_BYTES, SECTOR_SIZE};
use abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use ext2::InodeNumber;
use mm::frame::PAGE_SIZE;
use mm::page_cache::PageState;

const PAGE: usize = PAGE_SIZE as usize;
const MIB: usize = 1 << 20;

/// `user/c/pattern.h`: the byte at file offset `offset` for `seed`.
fn pattern_byte(seed: u64, offset: u64) -> u8 {
    ((seed * 131 + offset * 7) % 251) as u8
}

fn pattern(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| pattern_byte(seed, offset + i))
        .collect()
}

fn fs() -> &'static FileSystem {
    root().expect("these tests need the ext2 root (root=vda)")
}

fn open(fs: &FileSystem, path: &str) -> InodeNumber {
    fs.lookup(path.as_bytes())
        .unwrap_or_else(|errno| panic!("{path}: {errno:?} (the runner makes it)"))
}

/// The state of a cached page, `None` if it is not cached.
fn page_state(fs: &FileSystem, inode: InodeNumber, index: u64) -> Option<PageState> {
    fs.cache
        .lock()
        .page(u64::from(inode), index)
        .map(|page| page.state)
}

/// Reads `len` bytes from disk block `block` on, straight from the disk.
fn read_disk(fs: &FileSystem, block: u64, len: usize) -> Vec<u8> {
    let sector = block * u64::from(fs.block_size) / SECTOR_SIZE as u64;
    let buffer = DmaBuffer::new(len).expect("DMA memory");
    let buffer = fs
        .disk
        .submit_read(sector, buffer)
        .expect("submitting a read")
        .wait()
        .expect("reading the disk");
    buffer.as_slice().to_vec()
}

/// The disk blocks of every block of the file (`None` for holes).
fn block_map(fs: &FileSystem, inode: InodeNumber) -> Vec<Option<u32>> {
    let size = fs.metadata(inode).expect("metadata").size;
    let mut blocks = vec![None; size.div_ceil(u64::from(fs.block_size)) as usize];
    fs.ext2
        .lock()
        .map_blocks(inode, 0, &mut blocks)
        .expect("mapping the file's blocks");
    blocks
}

crate::kernel_test!(one_request_for_a_megabyte_of_contiguous_dirty_pages, {
    let fs = fs();
    let inode = open(fs, "/kt/contiguous.bin");
    let per_page = PAGE / fs.block_size as usize;
    let pages = MIB / PAGE;
    // The first page-aligned megabyte whose blocks follow each other on disk
    // (an indirect block sits between file blocks 11 and 12).
    let blocks = block_map(fs, inode);
    let first_page = (0..blocks.len() / per_page - pages)
        .find(|&page| {
            let window = &blocks[page * per_page..(page + pages) * per_page];
            let start = window[0].expect("the runner's file has no holes");
            (0u32..)
                .zip(window)
                .all(|(i, block)| *block == Some(start + i))
        })
        .expect("a megabyte of consecutive blocks in /kt/contiguous.bin");
    let first_block = u64::from(blocks[first_page * per_page].expect("mapped"));
    let offset = (first_page * PAGE) as u64;
    let data = pattern(41, offset, MIB);
    assert_eq!(fs.write_at(inode, offset, &data), Ok(MIB));
    let indices = first_page as u64..(first_page + pages) as u64;
    assert!(indices.clone().all(|index| {
        page_state(fs, inode, index).is_some_and(|state| state.contains(PageState::DIRTY))
    }));

    let before = fs.requests_submitted();
    let written = fs.write_back(inode, indices.clone(), true);
    let requests = fs.requests_submitted() - before;
    assert_eq!(written, Ok(MIB as u64));
    assert_eq!(
        requests, 1,
        "device requests for 1 MiB of dirty pages on consecutive blocks"
    );
    assert!(indices.clone().all(|index| {
        page_state(fs, inode, index)
            .is_some_and(|state| !state.intersects(PageState::DIRTY | PageState::WRITEBACK))
    }));

    assert!(
        read_disk(fs, first_block, MIB) == data,
        "the disk holds the bytes written"
    );
    // Dropped from the cache, the pages are read back from the disk.
    fs.drop_cached_pages(inode, 0).expect("dropping the pages");
    assert_eq!(page_state(fs, inode, first_page as u64), None);
    let mut read = vec![0; MIB];
    assert_eq!(fs.read_at(inode, offset, &mut read), Ok(MIB));
    assert!(read == data, "read back after the pages left the cache");
    fs.sync_all().expect("sync");
});

crate::kernel_test!(
    write_back_io_error_is_eio_and_the_page_stays_dirty_until_a_retry,
    {
        let fs = fs();
        let inode = open(fs, "/kt/eio.bin");
        let mut cursor = fs.error_cursor(inode);
        let data = pattern(42, 0, PAGE);
        assert_eq!(fs.write_at(inode, 0, &data), Ok(PAGE));

        // blkdebug fails the first write to this block.
        assert_eq!(fs.write_back(inode, 0..1, true), Err(Errno::EIO));
        let state = page_state(fs, inode, 0).expect("still cached");
        assert!(state.contains(PageState::DIRTY), "{state:?} after EIO");
        assert!(!state.contains(PageState::WRITEBACK), "{state:?} after EIO");
        assert_eq!(fs.unseen_errors(inode, &mut cursor), Err(Errno::EIO));
        assert_eq!(
            fs.unseen_errors(inode, &mut cursor),
            Ok(()),
            "reported once"
        );

        // The fault is gone (once = "on"): the retry writes the page.
        assert_eq!(fs.write_back(inode, 0..1, true), Ok(PAGE as u64));
        let state = page_state(fs, inode, 0).expect("still cached");
        assert!(
            !state.intersects(PageState::DIRTY | PageState::WRITEBACK),
            "{state:?} after the retry"
        );
        let block = fs
            .ext2
            .lock()
            .block_of(inode, 0)
            .expect("mapping")
            .expect("block 0 is allocated");
        assert!(
            read_disk(fs, u64::from(block), PAGE) == data,
            "the disk holds the retried page"
        );
        assert_eq!(fs.unseen_errors(inode, &mut cursor), Ok(()));
        fs.sync_all().expect("sync");
    }
);

crate::kernel_test!(shrinking_a_file_drops_its_cached_pages_past_the_end, {
    let fs = fs();
    let inode = open(fs, "/kt/truncate.bin");
    let mut read = vec![0; 3 * PAGE];
    assert_eq!(fs.read_at(inode, 0, &mut read), Ok(3 * PAGE));
    assert!(read == pattern(22, 0, 3 * PAGE));
    assert!(matches!(fs.map_file_page(inode, 2, None), Ok(Some(_))));
    // Page 2 dirty too: a page past the new end goes without being written.
    assert_eq!(fs.write_at(inode, 2 * PAGE_SIZE, &[0xee; 16]), Ok(16));

    let new_size = PAGE + 100;
    fs.set_len(inode, new_size as u64).expect("shrinking");
    assert_eq!(page_state(fs, inode, 2), None, "page 2 left the cache");
    assert!(
        page_state(fs, inode, 1).is_some(),
        "page 1 holds the new end"
    );
    // What a page fault past the end finds: nothing, so the access is SIGBUS.
    assert_eq!(fs.map_file_page(inode, 2, None), Ok(None));
    assert!(matches!(fs.map_file_page(inode, 1, None), Ok(Some(_))));

    // Grown again, everything past the old cut reads as zeros.
    fs.set_len(inode, 3 * PAGE_SIZE).expect("growing");
    assert_eq!(fs.read_at(inode, 0, &mut read), Ok(3 * PAGE));
    assert!(read[..new_size] == pattern(22, 0, new_size)[..]);
    assert!(read[new_size..].iter().all(|&byte| byte == 0));
    fs.sync_all().expect("sync");
});

crate::kernel_test!(write_back_throughput_against_the_raw_device, {
    const TOTAL: usize = 16 * MIB;
    let fs = fs();
    let inode = open(fs, "/kt/bench.bin");
    assert_eq!(fs.metadata(inode).expect("metadata").size, TOTAL as u64);
    for offset in (0..TOTAL).step_by(MIB) {
        let data = pattern(43, offset as u64, MIB);
        assert_eq!(fs.write_at(inode, offset as u64, &data), Ok(MIB));
    }
    let pages = (TOTAL / PAGE) as u64;

    // In 4 MiB pieces: the disk keeps at most 16 uncollected requests, and a
    // write-back submits all of its requests before collecting any (one
    // with more than 16 runs never finishes; see the report).
    let piece = (4 * MIB / PAGE) as u64;
    let before = fs.requests_submitted();
    let started = crate::time::now_ns();
    let mut written = 0;
    for first in (0..pages).step_by(piece as usize) {
        written += fs
            .write_back(inode, first..first + piece, true)
            .expect("write-back");
    }
    let cache_ns = crate::time::now_ns() - started;
    let cache_requests = fs.requests_submitted() - before;
    assert_eq!(written, TOTAL as u64);

    // The same bytes to the same blocks, straight to the driver: one
    // request per run of consecutive blocks, at most 1 MiB each.
    let block_size = fs.block_size as usize;
    let blocks: Vec<u32> = block_map(fs, inode)
        .into_iter()
        .map(|block| block.expect("the runner's file has no holes"))
        .collect();
    let mut runs: Vec<(usize, u64, usize)> = Vec::new(); // (file block, disk block, blocks)
    for (index, &block) in blocks.iter().enumerate() {
        let block = u64::from(block);
        match runs.last_mut() {
            Some((_, first, count))
                if *first + *count as u64 == block
                    && (*count + 1) * block_size <= MAX_REQUEST_BYTES =>
            {
                *count += 1;
            }
            _ => runs.push((index, block, 1)),
        }
    }
    let buffers: Vec<(u64, DmaBuffer)> = runs
        .iter()
        .map(|&(file_block, disk_block, count)| {
            let mut buffer = DmaBuffer::new(count * block_size).expect("DMA memory");
            let offset = (file_block * block_size) as u64;
            let len = buffer.len();
            assert_eq!(fs.read_at(inode, offset, buffer.as_mut_slice()), Ok(len));
            let sector = disk_block * (block_size / SECTOR_SIZE) as u64;
            (sector, buffer)
        })
        .collect();
    let before = fs.requests_submitted();
    let started = crate::time::now_ns();
    // At most 8 requests uncollected at a time (see above).
    let mut tickets = alloc::collections::VecDeque::new();
    for (sector, buffer) in buffers {
        if tickets.len() == 8 {
            let ticket: crate::block::Ticket = tickets.pop_front().expect("eight");
            ticket.wait().expect("writing");
        }
        tickets.push_back(fs.disk.submit_write(sector, buffer).expect("submitting"));
    }
    for ticket in tickets {
        ticket.wait().expect("writing");
    }
    let raw_ns = crate::time::now_ns() - started;
    let raw_requests = fs.requests_submitted() - before;

    let mib_per_s = |ns: u64| (TOTAL as u64 >> 20) * 1_000_000_000 / ns.max(1);
    crate::println!(
        "page-cache write-back: {} MiB/s, raw device: {} MiB/s ({} MiB: {} ms in {} requests, {} ms in {} requests)",
        mib_per_s(cache_ns),
        mib_per_s(raw_ns),
        TOTAL / MIB,
        cache_ns / 1_000_000,
        cache_requests,
        raw_ns / 1_000_000,
        raw_requests
    );
    fs.sync_all().expect("sync");
});

//! Tests against the disks the runner attaches (`qemu-tests/src/cases.rs`).
//! Each name says which disk it needs, and the case selects by that prefix:
//! `rw_disk_` (a writable image holding [`pattern_byte`]), `ro_disk_` (the
//! same image attached `readonly=on`), `bad_sector_disk_` (writes to
//! [`BAD_SECTOR`] fail with EIO through QEMU's blkdebug).
//!
//! The runner checks afterwards, on the host, the bytes the `rw_disk_` tests
//! wrote: keep the sector numbers and fills here in step with `cases.rs`.
// The disk tests hand frames to the device and fill them through the direct map.
#![allow(unsafe_code)]

use super::{DmaBuffer, PhysSegment, SECTOR_SIZE, Transfer, disks};
use crate::block::Disk;
use crate::memory::{frames, phys_to_virt};
use abi::Errno;
use alloc::vec;
use alloc::vec::Vec;
use ext2::BlockDevice;

/// The byte the runner puts at `offset` of a fresh test image
/// (`qemu-tests/src/cases.rs`, `pattern_byte`).
fn pattern_byte(offset: u64) -> u8 {
    ((offset / SECTOR_SIZE as u64).wrapping_mul(7) + offset % SECTOR_SIZE as u64) as u8
}

/// Sectors the runner expects filled with [`WRITTEN_FILL`] after the boot.
const WRITTEN_SECTORS: core::ops::Range<u64> = 100..104;
const WRITTEN_FILL: u8 = 0xa5;
/// One MiB from this sector, written with [`MEGABYTE_FILL`] by one request.
const MEGABYTE_SECTOR: u64 = 2048;
const MEGABYTE_FILL: u8 = 0x5c;
/// [`GATHERED_PAGES`] pages from this sector, page `i` filled with
/// `GATHERED_FILL + i`, written from scattered frames.
const GATHERED_SECTOR: u64 = 8192;
const GATHERED_PAGES: usize = 70;
const GATHERED_FILL: u8 = 0x30;
/// The sector the blkdebug configuration fails writes to.
const BAD_SECTOR: u64 = 4096;

fn disk() -> &'static Disk {
    disks().first().expect("this test needs a virtio-blk disk")
}

fn assert_pattern(first_sector: u64, bytes: &[u8]) {
    let base = first_sector * SECTOR_SIZE as u64;
    for (index, &byte) in bytes.iter().enumerate() {
        let offset = base + index as u64;
        assert_eq!(
            byte,
            pattern_byte(offset),
            "byte at disk offset {offset:#x}"
        );
    }
}

crate::kernel_test!(rw_disk_reads_the_runner_pattern, {
    let mut device = disk();
    let mut buf = [0u8; 8 * SECTOR_SIZE];
    device
        .read_sectors(0, &mut buf)
        .expect("reading sectors 0..8");
    assert_pattern(0, &buf);
    device
        .read_sectors(777, &mut buf[..SECTOR_SIZE])
        .expect("reading sector 777");
    assert_pattern(777, &buf[..SECTOR_SIZE]);
});

crate::kernel_test!(rw_disk_write_then_read_back, {
    let mut device = disk();
    let sectors = (WRITTEN_SECTORS.end - WRITTEN_SECTORS.start) as usize;
    let written = vec![WRITTEN_FILL; sectors * SECTOR_SIZE];
    device
        .write_sectors(WRITTEN_SECTORS.start, &written)
        .expect("writing");
    let mut read = vec![0u8; (sectors + 2) * SECTOR_SIZE];
    device
        .read_sectors(WRITTEN_SECTORS.start - 1, &mut read)
        .expect("reading back");
    assert_pattern(WRITTEN_SECTORS.start - 1, &read[..SECTOR_SIZE]);
    assert!(read[SECTOR_SIZE..(sectors + 1) * SECTOR_SIZE] == written[..]);
    assert_pattern(WRITTEN_SECTORS.end, &read[(sectors + 1) * SECTOR_SIZE..]);
});

crate::kernel_test!(rw_disk_one_request_for_a_contiguous_megabyte, {
    let disk = disk();
    let mut buffer = DmaBuffer::new(1 << 20).expect("1 MiB of DMA memory");
    buffer.as_mut_slice().fill(MEGABYTE_FILL);
    let before = disk.requests_submitted();
    let buffer = disk
        .submit_write(MEGABYTE_SECTOR, buffer)
        .expect("submitting")
        .wait()
        .expect("writing 1 MiB");
    assert_eq!(disk.requests_submitted() - before, 1);
    let read = disk
        .submit_read(MEGABYTE_SECTOR, buffer)
        .expect("submitting")
        .wait()
        .expect("reading 1 MiB");
    assert!(read.as_slice().iter().all(|&byte| byte == MEGABYTE_FILL));
});

// Pages in frames that are not adjacent (taken in reverse order) go out as
// segments of the same requests, split where one request's segments run out.
crate::kernel_test!(rw_disk_gathered_write_from_scattered_frames, {
    let disk = disk();
    let mut pages: Vec<_> = (0..GATHERED_PAGES)
        .map(|_| frames::alloc_frame().expect("a frame"))
        .collect();
    pages.reverse();
    for (index, &frame) in pages.iter().enumerate() {
        // SAFETY: a frame just allocated, reachable only from here.
        unsafe {
            phys_to_virt(frame)
                .as_mut_ptr::<u8>()
                .write_bytes(GATHERED_FILL + index as u8, 4096)
        };
    }
    let segments = pages.iter().map(|&start| PhysSegment { start, len: 4096 });
    let before = disk.requests_submitted();
    let mut tickets = Vec::new();
    // SAFETY: the frames are freed only after every ticket is collected.
    unsafe { disk.submit_gathered_write(GATHERED_SECTOR, segments, &mut tickets) }
        .expect("submitting");
    for ticket in tickets {
        ticket.wait().expect("writing");
    }
    let requests = GATHERED_PAGES.div_ceil(disk.max_segments()) as u64;
    assert_eq!(disk.requests_submitted() - before, requests);
    for frame in pages {
        frames::free_frame(frame);
    }
    let read = disk
        .submit_read(
            GATHERED_SECTOR,
            DmaBuffer::new(GATHERED_PAGES * 4096).expect("DMA memory"),
        )
        .expect("submitting")
        .wait()
        .expect("reading back");
    for (index, page) in read.as_slice().chunks(4096).enumerate() {
        assert!(
            page.iter().all(|&byte| byte == GATHERED_FILL + index as u8),
            "page {index}"
        );
    }
});

crate::kernel_test!(rw_disk_segments_must_make_whole_sectors, {
    let disk = disk();
    let frame = frames::alloc_frame().expect("a frame");
    let half = PhysSegment {
        start: frame,
        len: SECTOR_SIZE / 2,
    };
    let before = disk.requests_submitted();
    // SAFETY: nothing is submitted; the frame is freed after.
    let refused = unsafe { disk.submit_write_segments(GATHERED_SECTOR, &[half]) };
    assert!(matches!(refused, Err(Errno::EINVAL)));
    let too_many =
        alloc::vec![PhysSegment { start: frame, len: SECTOR_SIZE }; disk.max_segments() + 1];
    // SAFETY: as above.
    let refused = unsafe { disk.submit_write_segments(GATHERED_SECTOR, &too_many) };
    assert!(matches!(refused, Err(Errno::EINVAL)));
    assert_eq!(disk.requests_submitted(), before);
    frames::free_frame(frame);
});

crate::kernel_test!(rw_disk_batch_merges_adjacent_transfers, {
    let disk = disk();
    let (mut first, mut second, mut third) = ([0u8; 4096], [0u8; 4096], [0u8; 4096]);
    let mut lone = [0u8; SECTOR_SIZE];
    let before = disk.requests_submitted();
    // Out of order on purpose: the block layer sorts before merging.
    let mut batch = [
        Transfer::Read {
            first_sector: 5008,
            buf: &mut second,
        },
        Transfer::Read {
            first_sector: 5500,
            buf: &mut lone,
        },
        Transfer::Read {
            first_sector: 5000,
            buf: &mut first,
        },
        Transfer::Read {
            first_sector: 5016,
            buf: &mut third,
        },
    ];
    disk.run_batch(&mut batch).expect("the batch");
    assert_eq!(disk.requests_submitted() - before, 2, "5000..5024 and 5500");
    assert_pattern(5000, &first);
    assert_pattern(5008, &second);
    assert_pattern(5016, &third);
    assert_pattern(5500, &lone);
});

crate::kernel_test!(rw_disk_several_requests_in_flight, {
    let disk = disk();
    let tickets: Vec<_> = (0..4)
        .map(|index| {
            let buffer = DmaBuffer::new(4096).expect("DMA memory");
            disk.submit_read(1000 + index * 8, buffer)
                .expect("submitting")
        })
        .collect();
    for (index, ticket) in (0u64..).zip(tickets) {
        let buffer = ticket.wait().expect("reading");
        assert_pattern(1000 + index * 8, buffer.as_slice());
    }
});

// Results wait for their tickets outside the queue, so holding more tickets
// than the queue has slots never blocks a new submission (write-back submits
// every run before collecting any).
crate::kernel_test!(rw_disk_more_uncollected_requests_than_queue_slots, {
    let disk = disk();
    let tickets: Vec<_> = (0..40)
        .map(|index| {
            let buffer = DmaBuffer::new(512).expect("DMA memory");
            disk.submit_read(6000 + index * 3, buffer)
                .expect("submitting")
        })
        .collect();
    for (index, ticket) in (0u64..).zip(tickets) {
        let buffer = ticket.wait().expect("reading");
        assert_pattern(6000 + index * 3, buffer.as_slice());
    }
});

crate::kernel_test!(rw_disk_interrupt_completes_without_the_submitter, {
    let disk = disk();
    assert!(disk.pci_function().interrupt_line.is_some());
    let before = disk.completions_in_interrupt();
    let ticket = disk
        .submit_read(0, DmaBuffer::new(SECTOR_SIZE).expect("DMA memory"))
        .expect("submitting");
    // Only the interrupt handler reaps while interrupts are on: halt until it has.
    while !ticket.is_complete() {
        arch::cpu::halt();
    }
    assert!(disk.completions_in_interrupt() > before);
    assert_pattern(0, ticket.wait().expect("reading").as_slice());
});

crate::kernel_test!(rw_disk_polled_completion_with_interrupts_off, {
    let disk = disk();
    let buffer = arch::cpu::without_interrupts(|| {
        let ticket = disk
            .submit_read(8, DmaBuffer::new(SECTOR_SIZE).expect("DMA memory"))
            .expect("submitting");
        ticket.wait().expect("reading")
    });
    assert_pattern(8, buffer.as_slice());
});

crate::kernel_test!(rw_disk_flush_after_a_write_is_a_device_request, {
    let mut device = disk();
    device
        .write_sectors(WRITTEN_SECTORS.start, &[WRITTEN_FILL; SECTOR_SIZE])
        .expect("writing");
    let before = device.requests_submitted();
    device.flush().expect("flush");
    assert_eq!(
        device.requests_submitted() - before,
        1,
        "QEMU offers VIRTIO_BLK_F_FLUSH"
    );
    // Nothing written since: nothing to flush, no request.
    device.flush().expect("flush");
    assert_eq!(device.requests_submitted() - before, 1);
});

crate::kernel_test!(rw_disk_past_the_end_is_eio, {
    let mut device = disk();
    let mut buf = [0u8; 2 * SECTOR_SIZE];
    let last = device.sector_count() - 1;
    assert_eq!(device.read_sectors(last, &mut buf), Err(Errno::EIO));
    device
        .read_sectors(last, &mut buf[..SECTOR_SIZE])
        .expect("the last sector");
});

crate::kernel_test!(rw_disk_write_throughput, {
    const TOTAL: usize = 16 << 20;
    const REQUEST: usize = 1 << 20;
    const FIRST_SECTOR: u64 = 16 << 11;
    let disk = disk();
    let buffers: Vec<DmaBuffer> = (0..TOTAL / REQUEST)
        .map(|_| DmaBuffer::new(REQUEST).expect("DMA memory"))
        .collect();
    let before = disk.requests_submitted();
    let started = crate::time::now_ns();
    let tickets: Vec<_> = (0u64..)
        .zip(buffers)
        .map(|(index, buffer)| {
            let sector = FIRST_SECTOR + index * (REQUEST / SECTOR_SIZE) as u64;
            disk.submit_write(sector, buffer).expect("submitting")
        })
        .collect();
    for ticket in tickets {
        ticket.wait().expect("writing");
    }
    let elapsed_ns = crate::time::now_ns() - started;
    assert_eq!(disk.requests_submitted() - before, (TOTAL / REQUEST) as u64);
    crate::println!(
        "virtio-blk write throughput: {} MiB in {} requests of {} KiB, {} ms, {} MiB/s",
        TOTAL >> 20,
        TOTAL / REQUEST,
        REQUEST >> 10,
        elapsed_ns / 1_000_000,
        (TOTAL as u64 >> 20) * 1_000_000_000 / elapsed_ns.max(1)
    );
});

crate::kernel_test!(ro_disk_refuses_writes_with_erofs, {
    let mut device = disk();
    assert!(device.is_read_only());
    let before = device.requests_submitted();
    let buf = [0u8; SECTOR_SIZE];
    assert_eq!(device.write_sectors(0, &buf), Err(Errno::EROFS));
    let buffer = DmaBuffer::new(SECTOR_SIZE).expect("DMA memory");
    assert!(matches!(device.submit_write(0, buffer), Err(Errno::EROFS)));
    assert_eq!(
        device.requests_submitted(),
        before,
        "nothing reached the device"
    );
    let mut read = [0u8; SECTOR_SIZE];
    device.read_sectors(5, &mut read).expect("reading");
    assert_pattern(5, &read);
});

crate::kernel_test!(bad_sector_disk_write_returns_eio, {
    let mut device = disk();
    let buf = [0x77u8; SECTOR_SIZE];
    assert_eq!(device.write_sectors(BAD_SECTOR, &buf), Err(Errno::EIO));
    assert_eq!(
        device.write_sectors(BAD_SECTOR - 4, &[0x77u8; 8 * SECTOR_SIZE]),
        Err(Errno::EIO)
    );
    device
        .write_sectors(BAD_SECTOR + 8, &buf)
        .expect("a good sector");
    let mut read = [0u8; SECTOR_SIZE];
    device
        .read_sectors(BAD_SECTOR, &mut read)
        .expect("reads of the bad sector still work");
    assert_pattern(BAD_SECTOR, &read);
});

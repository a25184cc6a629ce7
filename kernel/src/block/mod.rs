//! The block layer: batches of sector transfers over a virtio-blk [`Disk`],
//! adjacent transfers merged into one device request, and ext2's
//! [`BlockDevice`] on top.
//!
//! A batch's buffers may be anywhere (a kernel stack is not physically
//! contiguous), so its requests go through a [`DmaBuffer`]: a merged run is
//! copied in before a write and out after a read. Memory whose physical
//! segments are known (page-cache frames, pinned user pages) is written
//! without a copy by [`Disk::submit_gathered_write`].
//!
//! Every test in this module needs a disk (see `tests.rs`); the disk-less
//! boot excludes them with `test=-kernel::block::`.

pub mod virtio_blk;

mod tests;

use abi::Errno;
use alloc::vec::Vec;
use ext2::BlockDevice;
pub use virtio_blk::{Disk, DmaBuffer, PhysSegment, SECTOR_SIZE, Ticket, disks};

/// The largest single device request the block layer and the page cache
/// build: long runs are split so that a batch's bounce buffers stay modest
/// contiguous allocations and write-back can start the device early.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// One transfer of a batch: whole sectors from `first_sector`.
pub enum Transfer<'a> {
    Read {
        first_sector: u64,
        buf: &'a mut [u8],
    },
    Write {
        first_sector: u64,
        buf: &'a [u8],
    },
}

impl Transfer<'_> {
    fn first_sector(&self) -> u64 {
        match self {
            Transfer::Read { first_sector, .. } | Transfer::Write { first_sector, .. } => {
                *first_sector
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Transfer::Read { buf, .. } => buf.len(),
            Transfer::Write { buf, .. } => buf.len(),
        }
    }

    fn is_write(&self) -> bool {
        matches!(self, Transfer::Write { .. })
    }

    fn end_sector(&self) -> u64 {
        self.first_sector() + (self.len() / SECTOR_SIZE) as u64
    }
}

/// A device request in flight and the transfers (indices into the batch) it
/// carries, in disk order.
struct Run {
    ticket: Ticket,
    transfers: Vec<usize>,
}

impl Disk {
    /// Performs every transfer of `batch`, merging transfers of the same
    /// direction whose sectors are adjacent into one device request (up to
    /// [`MAX_REQUEST_BYTES`]), with all of the requests in flight together.
    ///
    /// The transfers must not overlap. Returns the first error after every
    /// request has finished; a read whose request failed leaves its buffer
    /// unchanged.
    pub fn run_batch(&'static self, batch: &mut [Transfer]) -> Result<(), Errno> {
        for transfer in batch.iter() {
            if transfer.len() == 0 || !transfer.len().is_multiple_of(SECTOR_SIZE) {
                return Err(Errno::EINVAL);
            }
            if transfer.end_sector() > self.sector_count() {
                return Err(Errno::EIO);
            }
            if transfer.is_write() && self.is_read_only() {
                return Err(Errno::EROFS);
            }
        }
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&index| (batch[index].is_write(), batch[index].first_sector()));
        let mut runs = Vec::new();
        let mut first_error = None;
        for transfers in merge_runs(batch, &order) {
            match self.submit_run(batch, &transfers) {
                Ok(ticket) => runs.push(Run { ticket, transfers }),
                Err(errno) => {
                    first_error.get_or_insert(errno);
                }
            }
        }
        for run in runs {
            match run.ticket.wait() {
                Ok(buffer) => copy_out(batch, &run.transfers, &buffer),
                Err(errno) => {
                    first_error.get_or_insert(errno);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// One device request for the adjacent `transfers`.
    fn submit_run(&'static self, batch: &[Transfer], transfers: &[usize]) -> Result<Ticket, Errno> {
        let bytes = transfers.iter().map(|&index| batch[index].len()).sum();
        let first_sector = batch[transfers[0]].first_sector();
        if batch[transfers[0]].is_write() {
            let buffer = DmaBuffer::filled(bytes, |bytes| {
                let mut offset = 0;
                for &index in transfers {
                    if let Transfer::Write { buf, .. } = &batch[index] {
                        bytes[offset..offset + buf.len()].copy_from_slice(buf);
                        offset += buf.len();
                    }
                }
                Ok(())
            })?;
            self.submit_write(first_sector, buffer)
        } else {
            self.submit_read(first_sector, DmaBuffer::new(bytes)?)
        }
    }
}

/// Groups `order` (batch indices sorted by direction, then sector) into runs
/// of adjacent same-direction transfers of at most [`MAX_REQUEST_BYTES`].
fn merge_runs(batch: &[Transfer], order: &[usize]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut run_bytes = 0;
    for &index in order {
        let transfer = &batch[index];
        let extends_last = runs.last().is_some_and(|run| {
            let last = &batch[*run.last().expect("runs are never empty")];
            last.is_write() == transfer.is_write()
                && last.end_sector() == transfer.first_sector()
                && run_bytes + transfer.len() <= MAX_REQUEST_BYTES
        });
        if extends_last {
            runs.last_mut().expect("checked").push(index);
            run_bytes += transfer.len();
        } else {
            runs.push(alloc::vec![index]);
            run_bytes = transfer.len();
        }
    }
    runs
}

impl Disk {
    /// Writes the memory of `segments`, one after the other, from
    /// `first_sector` on, with as few requests as the device takes:
    /// physically adjacent segments become one, and a new request starts
    /// when one holds [`Disk::max_segments`]. Each request's ticket goes into
    /// `tickets` as it is submitted, so on an error the requests already in
    /// flight are still there to wait for. A request must end on a sector
    /// boundary: `EINVAL` if the segments do not allow it.
    ///
    /// # Safety
    /// As [`Disk::submit_write_segments`]: the memory stays allocated until
    /// every ticket has been collected.
    #[allow(unsafe_code)]
    pub unsafe fn submit_gathered_write(
        &'static self,
        first_sector: u64,
        segments: impl IntoIterator<Item = PhysSegment>,
        tickets: &mut Vec<Ticket<()>>,
    ) -> Result<(), Errno> {
        let mut request: Vec<PhysSegment> = Vec::with_capacity(self.max_segments());
        let mut sector = first_sector;
        let mut submit = |request: &mut Vec<PhysSegment>| -> Result<(), Errno> {
            let bytes: usize = request.iter().map(|segment| segment.len).sum();
            // SAFETY: the caller keeps the memory allocated until collected.
            tickets.push(unsafe { self.submit_write_segments(sector, request)? });
            sector += (bytes / SECTOR_SIZE) as u64;
            request.clear();
            Ok(())
        };
        for segment in segments {
            if let Some(last) = request.last_mut()
                && last.start + last.len as u64 == segment.start
            {
                last.len += segment.len;
                continue;
            }
            if request.len() == self.max_segments() {
                submit(&mut request)?;
            }
            request.push(segment);
        }
        if request.is_empty() {
            return Ok(());
        }
        submit(&mut request)
    }
}

/// The part of the memory `segments` holds (one after the other) that lies
/// at byte offsets `range` of it.
pub fn segments_within(
    segments: &[PhysSegment],
    range: core::ops::Range<usize>,
) -> impl Iterator<Item = PhysSegment> + '_ {
    let mut position = 0;
    segments.iter().filter_map(move |segment| {
        let (start, end) = (position, position + segment.len);
        position = end;
        let (from, to) = (start.max(range.start), end.min(range.end));
        (from < to).then(|| PhysSegment {
            start: segment.start + (from - start) as u64,
            len: to - from,
        })
    })
}

/// Copies a completed read run's bytes to its transfers' buffers.
fn copy_out(batch: &mut [Transfer], transfers: &[usize], buffer: &DmaBuffer) {
    let mut offset = 0;
    for &index in transfers {
        if let Transfer::Read { buf, .. } = &mut batch[index] {
            buf.copy_from_slice(&buffer.as_slice()[offset..offset + buf.len()]);
            offset += buf.len();
        }
    }
}

/// ext2 on a virtio-blk disk: each call is a batch of one transfer.
impl BlockDevice for &'static Disk {
    fn sector_count(&self) -> u64 {
        Disk::sector_count(self)
    }

    fn read_sectors(&mut self, first_sector: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.run_batch(&mut [Transfer::Read { first_sector, buf }])
    }

    fn write_sectors(&mut self, first_sector: u64, buf: &[u8]) -> Result<(), Errno> {
        self.run_batch(&mut [Transfer::Write { first_sector, buf }])
    }

    fn flush(&mut self) -> Result<(), Errno> {
        Disk::flush(self)
    }
}

/// Scans PCI and starts the disks.
pub fn init() {
    let functions = crate::pci::scan();
    virtio_blk::init(&functions);
}

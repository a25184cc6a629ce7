//! The virtio-blk driver: requests laid out here (header, data segments,
//! status byte) on `virtio-drivers`' split virtqueue over its modern PCI
//! transport, submitted without waiting, with completions reaped by the
//! device's interrupt handler (or by polling, for a caller with interrupts
//! off). A write's data can be any list of physical segments — page-cache
//! frames, pinned user pages — so nothing is copied on the way to the disk.
//!
//! Locking: each disk's [`Device`] sits behind a `spin::Mutex` that is only
//! ever taken with interrupts disabled — by the interrupt handler (an
//! interrupt gate) and, everywhere else, inside `without_interrupts`. On this
//! single CPU the handler therefore never finds the lock held and never spins.
//! Nothing is allocated or freed while the lock is held (request records are
//! allocated at start and recycled), so the handler allocates nothing and the
//! heap and frame locks never nest inside it.
//!
//! See `docs/virtio_blk.md`.
// A DMA driver: the virtqueue's `Hal`, buffers the device reads and writes, and
// the promises of submitting memory that must outlive a request.
#![allow(unsafe_code)]

use crate::memory::{frames, phys_to_virt};
use abi::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use arch::layout::{BOOT_MAPPED_BYTES, DIRECT_MAP_BASE};
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::{Mutex, Once};
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::Transport;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::PciRoot;
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE};
use x86_64::PhysAddr;
use x86_64::instructions::interrupts;

pub use ext2::SECTOR_SIZE;

/// The request queue (virtio-blk has one unless `VIRTIO_BLK_F_MQ`).
const QUEUE: u16 = 0;
/// Descriptors in the queue: QEMU's default `queue-size`. A request takes
/// one for its header, one per data segment and one for its status byte.
const QUEUE_SIZE: usize = 256;
/// Request records per disk: the most requests in flight at once.
const SLOTS: usize = 64;
/// The most data segments one request carries (if the device takes as many):
/// four such requests fill the queue.
const MAX_SEGMENTS: usize = 62;
const VIRTIO_VENDOR: u16 = 0x1af4;
/// Transitional (QEMU's default on a PCI bus) and modern virtio-blk.
const BLOCK_DEVICE_IDS: [u16; 2] = [0x1001, 0x1040 + 2];
/// Offsets in `struct virtio_blk_config`.
const CONFIG_CAPACITY: usize = 0;
const CONFIG_SEG_MAX: usize = 12;
/// `VIRTIO_BLK_S_*`, and a value the device never writes.
const STATUS_OK: u8 = 0;
const STATUS_UNSUPPORTED: u8 = 2;
const STATUS_UNSET: u8 = 0xff;

bitflags::bitflags! {
    /// The feature bits this driver accepts.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Features: u64 {
        /// `seg_max` in the configuration says how many segments a request takes.
        const SEG_MAX = 1 << 2;
        /// The disk is read-only.
        const RO = 1 << 5;
        /// The device has a volatile cache and takes FLUSH.
        const FLUSH = 1 << 9;
        /// The modern (virtio 1.0) interface.
        const VERSION_1 = 1 << 32;
    }
}

/// The kernel's side of `virtio-drivers`: DMA memory from the frame
/// allocator, reached through the direct map.
pub struct KernelHal;

/// One PML4 slot: the direct map never reaches further (the frame allocator
/// stops at 16 GiB), and the next kernel region (stacks) is far beyond.
const DIRECT_MAP_SPAN: u64 = 1 << 39;

/// The physical address of a buffer the device will access. Every buffer
/// this driver hands the queue (request records on the heap, DMA buffers,
/// page frames) lies in the direct map, where translation is a subtraction.
fn buffer_phys(buffer: NonNull<[u8]>) -> u64 {
    let virt = buffer.as_ptr().cast::<u8>() as u64;
    virt.checked_sub(DIRECT_MAP_BASE)
        .filter(|&offset| offset < DIRECT_MAP_SPAN)
        .unwrap_or_else(|| panic!("virtio buffer {virt:#x} lies outside the direct map"))
}

// SAFETY: `dma_alloc` hands out zeroed, page-aligned frames nobody else owns
// until `dma_dealloc`; `mmio_phys_to_virt` returns direct-map addresses of
// BARs, which no Rust object aliases; `share` returns the exact physical
// address of a buffer and refuses one it cannot vouch is contiguous.
unsafe impl Hal for KernelHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (u64, NonNull<u8>) {
        let Some(start) = frames::alloc_contiguous(pages) else {
            return (0, NonNull::dangling());
        };
        let virt = phys_to_virt(start).as_mut_ptr::<u8>();
        // SAFETY: frames just taken from the allocator are ours alone.
        unsafe { virt.write_bytes(0, pages * PAGE_SIZE) };
        (
            start.as_u64(),
            NonNull::new(virt).expect("direct map is not null"),
        )
    }

    unsafe fn dma_dealloc(paddr: u64, _vaddr: NonNull<u8>, pages: usize) -> i32 {
        frames::free_contiguous(PhysAddr::new(paddr), pages);
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: u64, size: usize) -> NonNull<u8> {
        // The direct map always covers the first 4 GiB, where SeaBIOS puts the
        // 32-bit MMIO window. QEMU does not model cache types, so the direct
        // map's write-back mapping is what the device sees as uncached.
        assert!(
            paddr + size as u64 <= BOOT_MAPPED_BYTES,
            "virtio BAR region {paddr:#x}+{size:#x} lies above the direct map's first 4 GiB"
        );
        NonNull::new(phys_to_virt(PhysAddr::new(paddr)).as_mut_ptr()).expect("not null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> u64 {
        buffer_phys(buffer)
    }

    unsafe fn unshare(_paddr: u64, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

/// Physically contiguous, zeroed memory for one transfer, owned by whoever
/// holds it and returned to the frame allocator on drop.
pub struct DmaBuffer {
    start: PhysAddr,
    pages: usize,
    len: usize,
}

impl DmaBuffer {
    /// A zeroed buffer of `len` bytes, a non-zero multiple of [`SECTOR_SIZE`].
    pub fn new(len: usize) -> Result<DmaBuffer, Errno> {
        DmaBuffer::filled(len, |bytes| {
            bytes.fill(0);
            Ok(())
        })
    }

    /// A buffer of `len` bytes (a non-zero multiple of [`SECTOR_SIZE`]) that
    /// `fill` must write whole: the frames are not zeroed first, so filling a
    /// buffer for a write is one pass over it, not two. An error from `fill`
    /// frees the buffer and is returned.
    pub fn filled(
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), Errno>,
    ) -> Result<DmaBuffer, Errno> {
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE) {
            return Err(Errno::EINVAL);
        }
        let pages = len.div_ceil(PAGE_SIZE);
        let start = frames::alloc_contiguous(pages).ok_or(Errno::ENOMEM)?;
        let mut buffer = DmaBuffer { start, pages, len };
        fill(buffer.as_mut_slice())?;
        Ok(buffer)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes of frames this buffer owns, in the direct map.
        unsafe { core::slice::from_raw_parts(phys_to_virt(self.start).as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(phys_to_virt(self.start).as_mut_ptr(), self.len) }
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        frames::free_contiguous(self.start, self.pages);
    }
}

/// A physically contiguous piece of memory a request transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysSegment {
    pub start: PhysAddr,
    pub len: usize,
}

impl PhysSegment {
    /// The segment's bytes through the direct map, as the queue takes them.
    ///
    /// # Safety
    /// The memory stays allocated for `'a` and nobody else touches it
    /// meanwhile: the submitter's promise (`Disk::submit_write_segments`)
    /// for a request's segments, or the request's own buffer.
    unsafe fn as_bytes<'a>(self) -> &'a mut [u8] {
        // SAFETY: the caller's promise; the slice is only handed to the
        // crate, which turns it back into a physical address: nothing reads
        // or writes through it.
        unsafe { core::slice::from_raw_parts_mut(phys_to_virt(self.start).as_mut_ptr(), self.len) }
    }
}

/// `VIRTIO_BLK_T_*`: what a request asks of the device.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Read = 0,
    Write = 1,
    Flush = 4,
}

/// A request the device may still be reading or writing: none of it moves
/// or is touched until the device returns its token. The data lies in
/// `segments`; `buffer`, when the request owns its memory, is where they are.
struct InFlight {
    operation: Operation,
    /// `struct virtio_blk_req`'s header: type, reserved, sector (little-endian).
    header: [u8; 16],
    status: [u8; 1],
    segments: [PhysSegment; MAX_SEGMENTS],
    segment_count: usize,
    buffer: Option<DmaBuffer>,
    completion: Arc<Completion>,
}

impl InFlight {
    /// A record not in flight, its completion unshared.
    fn idle() -> InFlight {
        InFlight {
            operation: Operation::Flush,
            header: [0; 16],
            status: [STATUS_UNSET],
            segments: [PhysSegment {
                start: PhysAddr::zero(),
                len: 0,
            }; MAX_SEGMENTS],
            segment_count: 0,
            buffer: None,
            completion: Arc::new(Completion::new(None)),
        }
    }

    /// The request's buffers as the queue takes them: device-readable ones
    /// (the header, then a write's data) and device-writable ones (a read's
    /// data, then the status byte).
    fn with_buffers<R>(
        &mut self,
        f: impl for<'a> FnOnce(&'a [&'a [u8]], &'a mut [&'a mut [u8]]) -> R,
    ) -> R {
        let mut readable: [&[u8]; MAX_SEGMENTS + 1] = [&[]; MAX_SEGMENTS + 1];
        let mut writable: [&mut [u8]; MAX_SEGMENTS + 1] = core::array::from_fn(|_| &mut [][..]);
        let data = self.segments[..self.segment_count].iter().map(|segment| {
            // SAFETY: a request's segments are its own buffer or memory its
            // submitter promised to keep until the request completes, and
            // the request is in flight only while this runs.
            unsafe { segment.as_bytes() }
        });
        readable[0] = &self.header;
        let (readable_count, writable_count) = if self.operation == Operation::Read {
            for (slot, bytes) in writable.iter_mut().zip(data) {
                *slot = bytes;
            }
            writable[self.segment_count] = &mut self.status;
            (1, self.segment_count + 1)
        } else {
            for (slot, bytes) in readable[1..].iter_mut().zip(data) {
                *slot = bytes;
            }
            writable[0] = &mut self.status;
            (1 + self.segment_count, 1)
        };
        f(&readable[..readable_count], &mut writable[..writable_count])
    }
}

/// Where a finished request's result waits for its [`Ticket`]: the owned
/// buffer, if any, on success. Separate from the queue slot, which is free
/// again as soon as the request completes, so results not yet collected never
/// hold up new requests. Locked only with interrupts off (the interrupt
/// handler fills it).
type Completion = Mutex<Option<Result<Option<DmaBuffer>, Errno>>>;

/// What the lock protects: the queue and the requests on it.
struct Device {
    transport: PciTransport,
    queue: VirtQueue<KernelHal, QUEUE_SIZE>,
    /// The request records, allocated at start and never moved (the vector
    /// never grows), so that neither submitting nor reaping allocates.
    records: Vec<InFlight>,
    /// The records not in flight (room for all of them is reserved).
    free: Vec<u8>,
    /// The record each queue token (head descriptor) stands for.
    record_of_token: [Option<u8>; QUEUE_SIZE],
}

/// The device's status byte, as an errno: `VIRTIO_BLK_S_IOERR` is `EIO`,
/// `VIRTIO_BLK_S_UNSUPP` is `EOPNOTSUPP`, anything unexpected is `EIO`.
fn status_result(status: u8) -> Result<(), Errno> {
    match status {
        STATUS_OK => Ok(()),
        STATUS_UNSUPPORTED => Err(Errno::EOPNOTSUPP),
        _ => Err(Errno::EIO),
    }
}

impl Device {
    /// Moves every request the device has finished from in flight to done.
    /// Allocates and frees nothing (`free` has room for every record): this
    /// runs in the interrupt handler. Returns how many.
    fn reap(&mut self) -> u64 {
        let mut reaped = 0;
        while let Some(token) = self.queue.peek_used() {
            let index = self.record_of_token[usize::from(token)]
                .take()
                .expect("the device completed a token the driver never submitted");
            let request = &mut self.records[usize::from(index)];
            let queue = &mut self.queue;
            // SAFETY: these are the buffers submitted with `token`, untouched
            // since, and the device has returned them.
            let popped = request.with_buffers(|readable, writable| unsafe {
                queue.pop_used(token, readable, writable)
            });
            let result = match popped {
                Ok(_) => status_result(request.status[0]).map(|()| request.buffer.take()),
                Err(_) => Err(Errno::EIO),
            };
            // The ticket still holds the completion (it waits before it is
            // dropped), so this frees nothing here.
            *request.completion.lock() = Some(result);
            self.free.push(index);
            reaped += 1;
        }
        reaped
    }

    fn in_flight(&self) -> usize {
        SLOTS - self.free.len()
    }
}

/// One virtio-blk disk.
pub struct Disk {
    device: Mutex<Device>,
    pci: crate::pci::PciFunction,
    sectors: u64,
    read_only: bool,
    flush_supported: bool,
    /// The most data segments the device takes in one request.
    max_segments: usize,
    /// A write was submitted since the last flush: only then is there
    /// anything in the device's volatile cache to flush.
    written_since_flush: AtomicBool,
    /// Requests given to the device: reads, writes and flushes.
    requests: AtomicU64,
    /// Requests whose completion the interrupt handler reaped.
    completed_in_interrupt: AtomicU64,
}

/// What a finished request gives back: the buffer it owned, or nothing for
/// a request over the caller's memory.
pub trait RequestData: Sized {
    fn from_completed(buffer: Option<DmaBuffer>) -> Self;
}

impl RequestData for DmaBuffer {
    fn from_completed(buffer: Option<DmaBuffer>) -> Self {
        buffer.expect("a buffer request completes with its buffer")
    }
}

impl RequestData for () {
    fn from_completed(_: Option<DmaBuffer>) {}
}

/// A submitted request. [`Ticket::wait`] returns its result; dropping a
/// ticket waits too, so that memory the device may still use is never freed.
#[must_use = "a request's result must be collected"]
pub struct Ticket<Data: RequestData = DmaBuffer> {
    disk: &'static Disk,
    completion: Arc<Completion>,
    data: PhantomData<Data>,
}

impl<Data: RequestData> Ticket<Data> {
    /// Whether the request has completed (its result is ready to collect).
    pub fn is_complete(&self) -> bool {
        self.disk.with_device(|_| self.completion.lock().is_some())
    }

    /// Waits for the request and returns its buffer (filled, for a read).
    pub fn wait(self) -> Result<Data, Errno> {
        let result = self.collect();
        core::mem::forget(self);
        result.map(Data::from_completed)
    }

    fn collect(&self) -> Result<Option<DmaBuffer>, Errno> {
        self.disk.wait_for(|_| self.completion.lock().take())
    }
}

impl<Data: RequestData> Drop for Ticket<Data> {
    fn drop(&mut self) {
        let _ = self.collect();
    }
}

impl Disk {
    pub fn sector_count(&self) -> u64 {
        self.sectors
    }

    /// Whether the device offered `VIRTIO_BLK_F_RO`: every write is `EROFS`.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The most segments [`Disk::submit_write_segments`] takes in one request.
    pub fn max_segments(&self) -> usize {
        self.max_segments
    }

    /// How many requests (reads, writes, flushes) the device has been given.
    pub fn requests_submitted(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many completions the interrupt handler (not a waiter) reaped.
    pub fn completions_in_interrupt(&self) -> u64 {
        self.completed_in_interrupt.load(Ordering::Relaxed)
    }

    pub fn pci_function(&self) -> &crate::pci::PciFunction {
        &self.pci
    }

    /// Runs `f` on the device with interrupts off (see the module's lock rule).
    fn with_device<R>(&self, f: impl FnOnce(&mut Device) -> R) -> R {
        arch::cpu::without_interrupts(|| f(&mut self.device.lock()))
    }

    /// Calls `check` on the device until it returns a value. With interrupts
    /// on and routed, the handler reaps completions and this halts between
    /// checks; otherwise this reaps them itself.
    fn wait_for<R>(&self, mut check: impl FnMut(&mut Device) -> Option<R>) -> R {
        let interrupt_driven = self.pci.interrupt_line.is_some() && arch::cpu::interrupts_enabled();
        loop {
            if interrupt_driven {
                interrupts::disable();
                let ready = check(&mut self.device.lock());
                match ready {
                    Some(value) => {
                        interrupts::enable();
                        return value;
                    }
                    // `sti; hlt`: an interrupt arriving after the check still
                    // wakes the halt.
                    None => interrupts::enable_and_hlt(),
                }
            } else {
                let ready = self.with_device(|device| {
                    device.reap();
                    check(device)
                });
                if let Some(value) = ready {
                    return value;
                }
                core::hint::spin_loop();
            }
        }
    }

    /// Reads `buffer.len()` bytes starting at `first_sector` into `buffer`.
    pub fn submit_read(
        &'static self,
        first_sector: u64,
        buffer: DmaBuffer,
    ) -> Result<Ticket, Errno> {
        self.submit(Operation::Read, first_sector, &[], Some(buffer))
    }

    /// Writes `buffer` at `first_sector`; `EROFS` on a read-only disk.
    pub fn submit_write(
        &'static self,
        first_sector: u64,
        buffer: DmaBuffer,
    ) -> Result<Ticket, Errno> {
        self.submit(Operation::Write, first_sector, &[], Some(buffer))
    }

    /// Writes the memory of `segments`, one after the other, at
    /// `first_sector`, straight from where it lies (no copy): one request of
    /// at most [`Disk::max_segments`] segments whose lengths add up to whole
    /// sectors (`EINVAL` otherwise).
    ///
    /// # Safety
    /// The memory must stay allocated (not freed or reused) until the ticket
    /// has been collected. Stores into it meanwhile are allowed: the device
    /// writes whichever bytes it reads.
    pub unsafe fn submit_write_segments(
        &'static self,
        first_sector: u64,
        segments: &[PhysSegment],
    ) -> Result<Ticket<()>, Errno> {
        self.submit(Operation::Write, first_sector, segments, None)
    }

    /// Puts one request on the queue, waiting for room if it is full. A run
    /// past the end of the disk is `EIO`, as the block-device contract says.
    fn submit<Data: RequestData>(
        &'static self,
        operation: Operation,
        first_sector: u64,
        segments: &[PhysSegment],
        buffer: Option<DmaBuffer>,
    ) -> Result<Ticket<Data>, Errno> {
        let owned = buffer.as_ref().map(|buffer| PhysSegment {
            start: buffer.start,
            len: buffer.len,
        });
        let segments = owned.as_slice().iter().chain(segments).copied();
        let mut record_segments = [PhysSegment {
            start: PhysAddr::zero(),
            len: 0,
        }; MAX_SEGMENTS];
        let mut segment_count = 0;
        for segment in segments {
            if segment_count == self.max_segments || segment.len == 0 {
                return Err(Errno::EINVAL);
            }
            record_segments[segment_count] = segment;
            segment_count += 1;
        }
        let bytes: usize = record_segments[..segment_count]
            .iter()
            .map(|segment| segment.len)
            .sum();
        if operation != Operation::Flush && (bytes == 0 || !bytes.is_multiple_of(SECTOR_SIZE)) {
            return Err(Errno::EINVAL);
        }
        if first_sector
            .checked_add((bytes / SECTOR_SIZE) as u64)
            .is_none_or(|end| end > self.sectors)
        {
            return Err(Errno::EIO);
        }
        if operation == Operation::Write {
            if self.read_only {
                return Err(Errno::EROFS);
            }
            self.written_since_flush.store(true, Ordering::Release);
        }
        let mut header = [0; 16];
        header[..4].copy_from_slice(&(operation as u32).to_le_bytes());
        header[8..].copy_from_slice(&first_sector.to_le_bytes());
        let completion = Arc::new(Completion::new(None));
        let mut buffer = buffer;
        // The previous user's completion, dropped (perhaps freed) only once
        // the lock is released.
        let mut previous_completion = None;
        let submitted = self.wait_for(|device| {
            if device.queue.available_desc() < segment_count + 2 {
                return None;
            }
            let index = device.free.pop()?;
            let request = &mut device.records[usize::from(index)];
            previous_completion = Some(core::mem::replace(
                &mut request.completion,
                completion.clone(),
            ));
            request.operation = operation;
            request.header = header;
            request.status = [STATUS_UNSET];
            request.segments = record_segments;
            request.segment_count = segment_count;
            request.buffer = buffer.take();
            let queue = &mut device.queue;
            // SAFETY: the record, with its header and status, never moves,
            // and stays untouched until `reap` sees the token come back; the data is the owned buffer, kept in the
            // record, or memory the caller keeps allocated.
            let added =
                request.with_buffers(|readable, writable| unsafe { queue.add(readable, writable) });
            let token = match added {
                Ok(token) => token,
                Err(_) => {
                    buffer = request.buffer.take();
                    device.free.push(index);
                    return Some(Err(Errno::EIO));
                }
            };
            device.record_of_token[usize::from(token)] = Some(index);
            if device.queue.should_notify() {
                device.transport.notify(QUEUE);
            }
            Some(Ok(()))
        });
        drop(previous_completion);
        drop(buffer);
        submitted?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(Ticket {
            disk: self,
            completion,
            data: PhantomData,
        })
    }

    /// Makes every completed write durable: `VIRTIO_BLK_T_FLUSH` when the
    /// device has a volatile cache (`VIRTIO_BLK_F_FLUSH`) and something was
    /// written since the last flush, nothing otherwise. Waits first for the
    /// requests in flight, so that the flush covers every write submitted
    /// before it.
    pub fn flush(&'static self) -> Result<(), Errno> {
        // Nothing written since the last flush: only reads can be in flight,
        // and they need no waiting for.
        if !self.flush_supported || !self.written_since_flush.load(Ordering::Acquire) {
            return Ok(());
        }
        self.wait_for(|device| (device.in_flight() == 0).then_some(()));
        if !self.written_since_flush.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let flushed = self
            .submit::<()>(Operation::Flush, 0, &[], None)
            .and_then(Ticket::wait);
        if flushed.is_err() {
            self.written_since_flush.store(true, Ordering::Release);
        }
        flushed
    }

    fn handle_interrupt(&self) {
        let mut device = self.device.lock();
        device.transport.ack_interrupt();
        let reaped = device.reap();
        self.completed_in_interrupt
            .fetch_add(reaped, Ordering::Relaxed);
    }
}

static DISKS: Once<Vec<Disk>> = Once::new();

/// The virtio-blk disks found at boot, in PCI order.
pub fn disks() -> &'static [Disk] {
    DISKS.get().map_or(&[], Vec::as_slice)
}

/// Called from the trap handler for every IRQ: reaps the completions of the
/// disks wired to `irq`.
pub fn handle_irq(irq: u8) {
    for disk in disks()
        .iter()
        .filter(|disk| disk.pci.interrupt_line == Some(irq))
    {
        disk.handle_interrupt();
    }
}

/// Finds and starts every virtio-blk device among `functions`, then unmasks
/// their interrupt lines.
pub fn init(functions: &[crate::pci::PciFunction]) {
    let mut root = PciRoot::new(crate::pci::PortConfigAccess);
    let mut found = Vec::new();
    for function in functions {
        let is_block =
            function.vendor_id == VIRTIO_VENDOR && BLOCK_DEVICE_IDS.contains(&function.device_id);
        if !is_block {
            continue;
        }
        match start(&mut root, function) {
            Ok(disk) => found.push(disk),
            Err(error) => log::warn!("virtio-blk {}: not started: {error}", function.address),
        }
    }
    let disks = DISKS.call_once(|| found);
    for disk in disks {
        if let Some(irq) = disk.pci.interrupt_line {
            arch::pic::unmask(irq);
        }
    }
}

fn start(
    root: &mut PciRoot<crate::pci::PortConfigAccess>,
    function: &crate::pci::PciFunction,
) -> Result<Disk, alloc::string::String> {
    use alloc::string::ToString;
    function.enable_memory_and_dma();
    let mut transport = PciTransport::new::<KernelHal, _>(root, function.device_function())
        .map_err(|error| error.to_string())?;
    let features = transport.begin_init(Features::all());
    let config = |offset| transport.read_config_space::<u32>(offset);
    let sectors = u64::from(config(CONFIG_CAPACITY).map_err(|error| error.to_string())?)
        | u64::from(config(CONFIG_CAPACITY + 4).map_err(|error| error.to_string())?) << 32;
    // Like Linux: a device that does not say how many segments it takes
    // gets one per request.
    let max_segments = if features.contains(Features::SEG_MAX) {
        config(CONFIG_SEG_MAX).map_err(|error| error.to_string())? as usize
    } else {
        1
    };
    let queue = VirtQueue::new(&mut transport, QUEUE, false, false).map_err(|error| {
        alloc::format!("{error} (this driver needs a queue of {QUEUE_SIZE} descriptors)")
    })?;
    transport.finish_init();
    let records = (0..SLOTS).map(|_| InFlight::idle()).collect();
    let mut device = Device {
        transport,
        queue,
        records,
        free: (0..SLOTS as u8).collect(),
        record_of_token: [None; QUEUE_SIZE],
    };
    device.queue.set_dev_notify(true);
    let disk = Disk {
        sectors,
        read_only: features.contains(Features::RO),
        flush_supported: features.contains(Features::FLUSH),
        max_segments: max_segments.clamp(1, MAX_SEGMENTS),
        written_since_flush: AtomicBool::new(false),
        pci: function.clone(),
        device: Mutex::new(device),
        requests: AtomicU64::new(0),
        completed_in_interrupt: AtomicU64::new(0),
    };
    log::info!(
        "virtio-blk {}: {} sectors ({} MiB){}{}, {} segments per request, irq {:?}",
        function.address,
        disk.sectors,
        (disk.sectors * SECTOR_SIZE as u64) >> 20,
        if disk.read_only { ", read-only" } else { "" },
        if disk.flush_supported {
            ", volatile cache (flush)"
        } else {
            ""
        },
        disk.max_segments,
        function.interrupt_line,
    );
    Ok(disk)
}

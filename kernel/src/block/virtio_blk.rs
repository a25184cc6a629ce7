//! The virtio-blk driver: `virtio-drivers`' `VirtIOBlk` over its modern PCI
//! transport, with requests submitted without waiting and completions reaped
//! by the device's interrupt handler (or by polling, for a caller with
//! interrupts off).
//!
//! Locking: each disk's [`Device`] sits behind a `spin::Mutex` that is only
//! ever taken with interrupts disabled — by the interrupt handler (an
//! interrupt gate) and, everywhere else, inside `without_interrupts`. On this
//! single CPU the handler therefore never finds the lock held and never spins.
//! Nothing is allocated or freed while the lock is held, so the handler
//! allocates nothing and the heap and frame locks never nest inside it.
//!
//! See `docs/virtio_blk.md`.

use crate::memory::{frames, phys_to_virt};
use abi::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use arch::layout::{BOOT_MAPPED_BYTES, DIRECT_MAP_BASE};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::{Mutex, Once};
use virtio_drivers::device::blk::{BlkReq, BlkResp, VirtIOBlk};
use virtio_drivers::transport::Transport;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::PciRoot;
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE};
use x86_64::instructions::interrupts;
use x86_64::{PhysAddr, VirtAddr};

pub use ext2::SECTOR_SIZE;

/// Request slots per disk. `VirtIOBlk`'s queue has 16 descriptors and, with
/// the crate's `alloc` feature off (indirect descriptors would allocate in the
/// interrupt handler), each request takes three of them, so at most five are
/// in flight; the slots never run out before the queue does.
const SLOTS: usize = 16;
const VIRTIO_VENDOR: u16 = 0x1af4;
/// Transitional (QEMU's default on a PCI bus) and modern virtio-blk.
const BLOCK_DEVICE_IDS: [u16; 2] = [0x1001, 0x1040 + 2];
/// `VIRTIO_BLK_F_FLUSH`: the device has a volatile cache and takes FLUSH.
const FEATURE_FLUSH: u64 = 1 << 9;

/// The kernel's side of `virtio-drivers`: DMA memory from the frame
/// allocator, reached through the direct map.
pub struct KernelHal;

/// One PML4 slot: the direct map never reaches further (the frame allocator
/// stops at 16 GiB), and the next kernel region (stacks) is far beyond.
const DIRECT_MAP_SPAN: u64 = 1 << 39;

/// The physical address of a buffer the device will access: direct-map
/// addresses translate by subtraction; anything else (the crate keeps a
/// flush's header on the stack) must lie within one mapped page.
fn buffer_phys(buffer: NonNull<[u8]>) -> u64 {
    let virt = buffer.as_ptr().cast::<u8>() as u64;
    if let Some(offset) = virt.checked_sub(DIRECT_MAP_BASE)
        && offset < DIRECT_MAP_SPAN
    {
        return offset;
    }
    let last = virt + buffer.len() as u64 - 1;
    assert_eq!(
        virt / PAGE_SIZE as u64,
        last / PAGE_SIZE as u64,
        "virtio buffer {virt:#x}+{:#x} outside the direct map spans pages",
        buffer.len()
    );
    crate::memory::kernel_space::translate(VirtAddr::new(virt))
        .expect("virtio buffer is not mapped")
        .as_u64()
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Read,
    Write,
}

/// A request the device may still be reading or writing: none of it moves
/// or is touched until the device returns its token.
struct InFlight {
    direction: Direction,
    header: BlkReq,
    status: BlkResp,
    buffer: DmaBuffer,
    completion: Arc<Completion>,
}

/// Where a finished request's result waits for its [`Ticket`]. Separate from
/// the queue slot, which is free again as soon as the request completes, so
/// results not yet collected never hold up new requests. Locked only with
/// interrupts off (the interrupt handler fills it).
type Completion = Mutex<Option<Result<DmaBuffer, Errno>>>;

enum Slot {
    Free,
    InFlight(InFlight),
}

/// What the lock protects: the queue and the requests on it.
struct Device {
    blk: VirtIOBlk<KernelHal, PciTransport>,
    slots: [Slot; SLOTS],
    /// Which slot each queue token (head descriptor) belongs to.
    slot_of_token: [Option<u8>; SLOTS],
}

/// The device's status byte, as an errno: `VIRTIO_BLK_S_IOERR` is `EIO`,
/// `VIRTIO_BLK_S_UNSUPP` is `EOPNOTSUPP`, anything unexpected is `EIO`.
fn errno_of(error: virtio_drivers::Error) -> Errno {
    match error {
        virtio_drivers::Error::Unsupported => Errno::EOPNOTSUPP,
        _ => Errno::EIO,
    }
}

impl Device {
    /// Moves every request the device has finished from in flight to done.
    /// Allocates nothing: this runs in the interrupt handler. Returns how many.
    fn reap(&mut self) -> u64 {
        let mut reaped = 0;
        while let Some(token) = self.blk.peek_used() {
            let index = self.slot_of_token[usize::from(token)]
                .take()
                .expect("the device completed a token the driver never submitted");
            let slot = &mut self.slots[usize::from(index)];
            let Slot::InFlight(request) = slot else {
                panic!("virtio-blk slot {index} completed twice");
            };
            // SAFETY: these are the header, buffer and status submitted with
            // `token`, untouched since, and the device has returned them.
            let completed = unsafe {
                match request.direction {
                    Direction::Read => self.blk.complete_read_blocks(
                        token,
                        &request.header,
                        request.buffer.as_mut_slice(),
                        &mut request.status,
                    ),
                    Direction::Write => self.blk.complete_write_blocks(
                        token,
                        &request.header,
                        request.buffer.as_slice(),
                        &mut request.status,
                    ),
                }
            };
            let Slot::InFlight(request) = core::mem::replace(slot, Slot::Free) else {
                unreachable!("matched above");
            };
            // The ticket still holds the completion (it waits before it is
            // dropped), so dropping this reference frees nothing here.
            *request.completion.lock() = Some(completed.map(|()| request.buffer).map_err(errno_of));
            reaped += 1;
        }
        reaped
    }

    fn in_flight(&self) -> usize {
        self.slot_of_token.iter().flatten().count()
    }
}

/// One virtio-blk disk.
pub struct Disk {
    device: Mutex<Device>,
    pci: crate::pci::PciFunction,
    sectors: u64,
    read_only: bool,
    flush_supported: bool,
    /// A write was submitted since the last flush: only then is there
    /// anything in the device's volatile cache to flush.
    written_since_flush: AtomicBool,
    /// Requests given to the device: reads, writes and flushes.
    requests: AtomicU64,
    /// Requests whose completion the interrupt handler reaped.
    completed_in_interrupt: AtomicU64,
}

/// A submitted request. [`Ticket::wait`] returns its result; dropping a
/// ticket waits too, so that a buffer the device may still use is never freed.
#[must_use = "a request's result must be collected"]
pub struct Ticket {
    disk: &'static Disk,
    completion: Arc<Completion>,
}

impl Ticket {
    /// Whether the request has completed (its result is ready to collect).
    pub fn is_complete(&self) -> bool {
        self.disk.with_device(|_| self.completion.lock().is_some())
    }

    /// Waits for the request and returns its buffer (filled, for a read).
    pub fn wait(self) -> Result<DmaBuffer, Errno> {
        let result = self.collect();
        core::mem::forget(self);
        result
    }

    fn collect(&self) -> Result<DmaBuffer, Errno> {
        self.disk.wait_for(|_| self.completion.lock().take())
    }
}

impl Drop for Ticket {
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
        self.submit(Direction::Read, first_sector, buffer)
    }

    /// Writes `buffer` at `first_sector`; `EROFS` on a read-only disk.
    pub fn submit_write(
        &'static self,
        first_sector: u64,
        buffer: DmaBuffer,
    ) -> Result<Ticket, Errno> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        self.written_since_flush.store(true, Ordering::Release);
        self.submit(Direction::Write, first_sector, buffer)
    }

    /// Puts one request on the queue, waiting for room if it is full. A run
    /// past the end of the disk is `EIO`, as the block-device contract says.
    fn submit(
        &'static self,
        direction: Direction,
        first_sector: u64,
        buffer: DmaBuffer,
    ) -> Result<Ticket, Errno> {
        let sectors = (buffer.len() / SECTOR_SIZE) as u64;
        if first_sector
            .checked_add(sectors)
            .is_none_or(|end| end > self.sectors)
        {
            return Err(Errno::EIO);
        }
        let mut buffer = Some(buffer);
        let completion = Arc::new(Completion::new(None));
        self.wait_for(|device| {
            let index = device
                .slots
                .iter()
                .position(|slot| matches!(slot, Slot::Free))?;
            device.slots[index] = Slot::InFlight(InFlight {
                direction,
                header: BlkReq::default(),
                status: BlkResp::default(),
                buffer: buffer.take().expect("submitted once"),
                completion: completion.clone(),
            });
            let Device { blk, slots, .. } = device;
            let Slot::InFlight(request) = &mut slots[index] else {
                unreachable!("just stored");
            };
            // SAFETY: the header, buffer and status live in the slot, which
            // neither moves nor is touched until `reap` sees the token come
            // back from the device.
            let submitted = unsafe {
                match direction {
                    Direction::Read => blk.read_blocks_nb(
                        first_sector as usize,
                        &mut request.header,
                        request.buffer.as_mut_slice(),
                        &mut request.status,
                    ),
                    Direction::Write => blk.write_blocks_nb(
                        first_sector as usize,
                        &mut request.header,
                        request.buffer.as_slice(),
                        &mut request.status,
                    ),
                }
            };
            let token = match submitted {
                Ok(token) => token,
                Err(error) => {
                    let Slot::InFlight(request) =
                        core::mem::replace(&mut device.slots[index], Slot::Free)
                    else {
                        unreachable!("just stored");
                    };
                    if matches!(error, virtio_drivers::Error::QueueFull) {
                        buffer = Some(request.buffer);
                        return None;
                    }
                    return Some(Err(errno_of(error)));
                }
            };
            device.slot_of_token[usize::from(token)] = Some(index as u8);
            Some(Ok(()))
        })?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        Ok(Ticket {
            disk: self,
            completion,
        })
    }

    /// Makes every completed write durable: `VIRTIO_BLK_T_FLUSH` when the
    /// device has a volatile cache (`VIRTIO_BLK_F_FLUSH`) and something was
    /// written since the last flush, nothing otherwise.
    ///
    /// The crate's flush waits for its own token and cannot share the queue,
    /// so this first waits for every in-flight request, then flushes with
    /// interrupts off.
    pub fn flush(&self) -> Result<(), Errno> {
        // Nothing written since the last flush: only reads can be in flight,
        // and they need no waiting for.
        if !self.flush_supported || !self.written_since_flush.load(Ordering::Acquire) {
            return Ok(());
        }
        self.wait_for(|device| {
            (device.in_flight() == 0).then(|| {
                if !self.written_since_flush.swap(false, Ordering::AcqRel) {
                    return Ok(());
                }
                self.requests.fetch_add(1, Ordering::Relaxed);
                let flushed = device.blk.flush().map_err(errno_of);
                if flushed.is_err() {
                    self.written_since_flush.store(true, Ordering::Release);
                }
                flushed
            })
        })
    }

    fn handle_interrupt(&self) {
        let mut device = self.device.lock();
        device.blk.ack_interrupt();
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
    let flush_supported = transport.read_device_features() & FEATURE_FLUSH != 0;
    let mut blk = VirtIOBlk::<KernelHal, _>::new(transport).map_err(|error| error.to_string())?;
    assert!(usize::from(blk.virt_queue_size()) <= SLOTS);
    blk.enable_interrupts();
    let disk = Disk {
        sectors: blk.capacity(),
        read_only: blk.readonly(),
        flush_supported,
        written_since_flush: AtomicBool::new(false),
        pci: function.clone(),
        device: Mutex::new(Device {
            blk,
            slots: core::array::from_fn(|_| Slot::Free),
            slot_of_token: [None; SLOTS],
        }),
        requests: AtomicU64::new(0),
        completed_in_interrupt: AtomicU64::new(0),
    };
    log::info!(
        "virtio-blk {}: {} sectors ({} MiB){}{}, irq {:?}",
        function.address,
        disk.sectors,
        (disk.sectors * SECTOR_SIZE as u64) >> 20,
        if disk.read_only { ", read-only" } else { "" },
        if flush_supported {
            ", volatile cache (flush)"
        } else {
            ""
        },
        function.interrupt_line,
    );
    Ok(disk)
}

//! The block device the file system sits on.

use abi::Errno;

/// The unit a [`BlockDevice`] is addressed in, as for virtio-blk and ATA.
pub const SECTOR_SIZE: usize = 512;

/// A disk addressed in 512-byte sectors.
///
/// The kernel implements this over virtio-blk; the host tests over a byte
/// vector. Every transfer is a run of contiguous sectors, so one call can
/// become one device request.
pub trait BlockDevice {
    /// The size of the disk in sectors.
    fn sector_count(&self) -> u64;

    /// Reads `buf.len() / SECTOR_SIZE` sectors starting at `first_sector`.
    ///
    /// `buf.len()` is a multiple of [`SECTOR_SIZE`]. A run that does not fit
    /// on the disk, or a failed transfer, is `EIO`.
    fn read_sectors(&mut self, first_sector: u64, buf: &mut [u8]) -> Result<(), Errno>;

    /// Writes `buf.len() / SECTOR_SIZE` sectors starting at `first_sector`.
    ///
    /// Same contract as [`BlockDevice::read_sectors`]. The data may sit in a
    /// volatile device cache until [`BlockDevice::flush`] returns.
    fn write_sectors(&mut self, first_sector: u64, buf: &[u8]) -> Result<(), Errno>;

    /// Returns once every completed write is on stable storage.
    fn flush(&mut self) -> Result<(), Errno>;
}

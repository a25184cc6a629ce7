//! The mounted file system: mount, sync, unmount, and the plumbing every
//! other module uses (block I/O, inode records, the "dirty" state).
//!
//! Write policy: file data goes to the device at once ([`Ext2::write_blocks`]).
//! Metadata blocks (bitmaps, inode-table blocks, indirect and directory
//! blocks) live in the metadata cache ([`crate::cache`]) and, with the
//! summary counters (superblock free counts, group descriptor counts), reach
//! the disk at [`Ext2::sync`] and [`Ext2::unmount`] (or earlier, when the
//! cache is full of dirty blocks). Before the first change after a mount or
//! a sync, the superblock on disk is marked "not clean", so a crash leaves a
//! file system that e2fsck knows to check.

use alloc::vec;
use alloc::vec::Vec;

use abi::Errno;

use crate::cache::{BlockCache, DEFAULT_CACHE_BYTES};
use crate::device::{BlockDevice, SECTOR_SIZE};
use crate::dir::MAX_NAME_LEN;
use crate::group::{self, DESCRIPTOR_SIZE, GroupDescriptor};
use crate::inode::{Inode, InodeNumber, Metadata};
use crate::superblock::{
    MountError, RO_COMPAT_LARGE_FILE, STATE_VALID, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, Superblock,
};

/// A mounted ext2 file system on a [`BlockDevice`].
///
/// All methods take `&mut self`: the kernel wraps the whole file system in
/// one lock. Times (`now`) are seconds since the Unix epoch, given by the caller.
pub struct Ext2<D: BlockDevice> {
    pub(crate) device: D,
    pub(crate) superblock: Superblock,
    pub(crate) groups: Vec<GroupDescriptor>,
    /// Metadata blocks, newer than the disk's where dirty.
    pub(crate) metadata: BlockCache,
    /// Unknown RO_COMPAT features: every change is refused with EROFS.
    read_only: bool,
    /// `s_state` as found at mount; written back by sync and unmount. A file
    /// system mounted unclean stays marked unclean until e2fsck fixes it.
    state_at_mount: u16,
    /// The on-disk superblock currently says `state_at_mount`.
    disk_state_is_clean: bool,
    /// Something changed since the last sync (the counters in memory, at
    /// least, are newer than the disk's).
    changed_since_sync: bool,
    /// [`FsInfo::overhead_blocks`], computed once at mount.
    overhead_blocks: u32,
}

/// Geometry and counters, as `dumpe2fs -h` would show them, and what
/// statfs(2) needs besides (Linux 6.1's `ext4_statfs`, fs/ext4/super.c,
/// which serves ext2 disks; `ext2_statfs` differs only in the overhead):
/// `f_blocks` = `blocks_count − overhead_blocks`, `f_bfree` =
/// `free_blocks`, `f_bavail` = `free_blocks − reserved_blocks` (0 if
/// fewer are free), `f_files`/`f_ffree` = `inodes_count`/`free_inodes`,
/// `f_fsid` = `fsid`, `f_namelen` = `max_name_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsInfo {
    pub revision: u32,
    pub block_size: usize,
    pub inode_size: usize,
    pub blocks_count: u32,
    pub free_blocks: u32,
    /// Blocks kept for root (`s_r_blocks_count`). The allocator does not
    /// enforce the reserve; statfs reports it.
    pub reserved_blocks: u32,
    /// Blocks of the file system's own structures that statfs leaves out
    /// of `f_blocks`: superblock and descriptor copies with their reserved
    /// GDT blocks, bitmaps, inode tables, and the blocks before
    /// `s_first_data_block`.
    pub overhead_blocks: u32,
    pub inodes_count: u32,
    pub free_inodes: u32,
    /// The two little-endian halves of `s_uuid` xored, as `ext2_statfs`
    /// makes `f_fsid` (low 32 bits in `val[0]`, high in `val[1]`).
    pub fsid: u64,
    /// The longest name a directory entry holds: 255 (`EXT2_NAME_LEN`).
    pub max_name_len: usize,
    pub group_count: u32,
    pub mount_count: u16,
    pub compat_features: u32,
    pub incompat_features: u32,
    pub ro_compat_features: u32,
    pub read_only: bool,
}

impl<D: BlockDevice> Ext2<D> {
    /// Mounts the file system on `device` with a metadata cache of
    /// [`DEFAULT_CACHE_BYTES`] (4 MiB).
    ///
    /// Unknown INCOMPAT features refuse the mount
    /// ([`MountError::UnsupportedIncompatFeatures`]); unknown RO_COMPAT
    /// features mount read-only. A read-write mount counts itself in
    /// `s_mnt_count` and `s_mtime`.
    pub fn mount(device: D, now: u32) -> Result<Ext2<D>, MountError> {
        Self::mount_with_cache(device, now, DEFAULT_CACHE_BYTES)
    }

    /// Mounts like [`Ext2::mount`], keeping at most `cache_bytes` of metadata
    /// blocks in memory (at least one block).
    pub fn mount_with_cache(
        mut device: D,
        now: u32,
        cache_bytes: usize,
    ) -> Result<Ext2<D>, MountError> {
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        device
            .read_sectors(SUPERBLOCK_OFFSET / SECTOR_SIZE as u64, &mut raw)
            .map_err(MountError::Io)?;
        let superblock = Superblock::parse(raw)?;

        let block_size = superblock.block_size() as u64;
        let fs_bytes = u64::from(superblock.blocks_count()) * block_size;
        if fs_bytes > device.sector_count() * SECTOR_SIZE as u64 {
            return Err(MountError::Corrupt(
                "the file system is larger than the device",
            ));
        }

        let group_count = superblock.group_count();
        let table_bytes = group_count as usize * DESCRIPTOR_SIZE;
        let table_blocks = table_bytes.div_ceil(block_size as usize);
        let mut table = vec![0u8; table_blocks * block_size as usize];
        let table_start = u64::from(superblock.first_data_block() + 1);
        device
            .read_sectors(table_start * block_size / SECTOR_SIZE as u64, &mut table)
            .map_err(MountError::Io)?;
        let groups = group::parse_table(&table, group_count);
        let inode_table_blocks = (u64::from(superblock.inodes_per_group())
            * superblock.inode_size() as u64)
            .div_ceil(block_size);
        let blocks_count = u64::from(superblock.blocks_count());
        for descriptor in &groups {
            let in_range = |block: u32| block != 0 && u64::from(block) < blocks_count;
            if !in_range(descriptor.block_bitmap())
                || !in_range(descriptor.inode_bitmap())
                || !in_range(descriptor.inode_table())
                || u64::from(descriptor.inode_table()) + inode_table_blocks > blocks_count
            {
                return Err(MountError::Corrupt(
                    "group descriptor points outside the disk",
                ));
            }
        }

        let read_only = superblock.unknown_ro_compat_features() != 0;
        let state_at_mount = superblock.state();
        let overhead_blocks = superblock.overhead_blocks();
        let mut fs = Ext2 {
            device,
            superblock,
            groups,
            metadata: BlockCache::new(block_size as usize, cache_bytes),
            read_only,
            state_at_mount,
            disk_state_is_clean: true,
            changed_since_sync: false,
            overhead_blocks,
        };
        if !read_only {
            let mount_count = fs.superblock.mount_count().wrapping_add(1);
            fs.superblock.set_mount_count(mount_count);
            fs.superblock.set_mount_time(now);
            fs.write_superblock().map_err(MountError::Io)?;
        }
        Ok(fs)
    }

    /// Writes the dirty metadata blocks and the cached counters and marks
    /// the file system clean (if it was clean at mount), then flushes the
    /// device. With nothing changed since the last sync (or the mount, which
    /// wrote the superblock), only the flush is sent.
    pub fn sync(&mut self, now: u32) -> Result<(), Errno> {
        if self.changed_since_sync {
            self.metadata.write_back(&mut self.device)?;
            self.write_group_descriptors()?;
            self.superblock.set_state(self.state_at_mount);
            self.superblock.set_write_time(now);
            self.write_superblock()?;
            self.disk_state_is_clean = true;
            self.changed_since_sync = false;
        }
        self.device.flush()
    }

    /// Whether the disk lags behind: a change was made since the last sync.
    /// The kernel's flusher syncs such a file system once it is idle.
    pub fn has_unsynced_changes(&self) -> bool {
        self.changed_since_sync
    }

    /// Syncs and hands the device back.
    pub fn unmount(mut self, now: u32) -> Result<D, Errno> {
        self.sync(now)?;
        Ok(self.device)
    }

    /// The device, for requests the file system does not make itself (the
    /// page cache's runs of data blocks may also use [`Ext2::write_blocks`]).
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn block_size(&self) -> usize {
        self.superblock.block_size()
    }

    /// The geometry and counters (no I/O: all from the superblock in memory).
    pub fn info(&self) -> FsInfo {
        let superblock = &self.superblock;
        FsInfo {
            revision: superblock.revision(),
            block_size: superblock.block_size(),
            inode_size: superblock.inode_size(),
            blocks_count: superblock.blocks_count(),
            free_blocks: superblock.free_blocks_count(),
            reserved_blocks: superblock.reserved_blocks_count(),
            overhead_blocks: self.overhead_blocks,
            inodes_count: superblock.inodes_count(),
            free_inodes: superblock.free_inodes_count(),
            fsid: superblock.fsid(),
            max_name_len: MAX_NAME_LEN,
            group_count: superblock.group_count(),
            mount_count: superblock.mount_count(),
            compat_features: superblock.compat_features(),
            incompat_features: superblock.incompat_features(),
            ro_compat_features: superblock.ro_compat_features(),
            read_only: self.read_only,
        }
    }

    /// The inode's type, size, links and times.
    pub fn metadata(&mut self, inode: InodeNumber) -> Result<Metadata, Errno> {
        Ok(self.read_inode(inode)?.metadata(inode))
    }

    /// Reads whole file-system blocks starting at `first_block` into `buf`
    /// (a multiple of the block size) in one device request. Blocks whose
    /// metadata-cache copy is newer than the disk's read as that copy.
    pub fn read_blocks(&mut self, first_block: u32, buf: &mut [u8]) -> Result<(), Errno> {
        let first_sector = self.block_run_sector(first_block, buf.len())?;
        self.device.read_sectors(first_sector, buf)?;
        self.metadata.overlay_dirty(first_block, buf);
        Ok(())
    }

    /// Writes whole blocks starting at `first_block` in one device request,
    /// dropping any metadata-cache copy of them. The page cache uses this
    /// for runs of data blocks found with the block map; nothing stops it
    /// from overwriting metadata, so use only those.
    pub fn write_blocks(&mut self, first_block: u32, buf: &[u8]) -> Result<(), Errno> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        let first_sector = self.block_run_sector(first_block, buf.len())?;
        self.device.write_sectors(first_sector, buf)?;
        let blocks = (buf.len() / self.block_size()) as u32;
        self.metadata
            .forget_range(first_block..first_block + blocks);
        Ok(())
    }

    /// The first sector of a run of blocks, after checking that the run is
    /// whole blocks and lies inside the file system.
    fn block_run_sector(&self, first_block: u32, byte_len: usize) -> Result<u64, Errno> {
        let block_size = self.block_size();
        if !byte_len.is_multiple_of(block_size) {
            return Err(Errno::EINVAL);
        }
        let end = u64::from(first_block) + (byte_len / block_size) as u64;
        if first_block == 0 || end > u64::from(self.superblock.blocks_count()) {
            return Err(Errno::EIO);
        }
        Ok(u64::from(first_block) * (block_size / SECTOR_SIZE) as u64)
    }

    /// One file data block, read from the device.
    pub(crate) fn read_data_block(&mut self, block: u32) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0; self.block_size()];
        self.read_blocks(block, &mut buf)?;
        Ok(buf)
    }

    /// A metadata block, through the cache.
    pub(crate) fn metadata_block(&mut self, block: u32) -> Result<&[u8], Errno> {
        self.block_run_sector(block, self.block_size())?;
        self.metadata.read(&mut self.device, block)
    }

    /// Changes a metadata block in the cache; it reaches the disk at sync.
    pub(crate) fn update_metadata_block<R>(
        &mut self,
        block: u32,
        change: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, Errno> {
        self.block_run_sector(block, self.block_size())?;
        self.metadata.update(&mut self.device, block, change)
    }

    /// Replaces a whole metadata block in the cache, without reading the
    /// bytes the disk holds there (stale, for a newly allocated block).
    pub(crate) fn write_metadata_block(
        &mut self,
        block: u32,
        contents: &[u8],
    ) -> Result<(), Errno> {
        self.block_run_sector(block, contents.len())?;
        self.metadata.overwrite(&mut self.device, block, contents)
    }

    /// Forgets the cached copy of a block that was just freed.
    pub(crate) fn forget_metadata_block(&mut self, block: u32) {
        self.metadata.forget(block);
    }

    /// Checks a block number read from disk before it is followed.
    pub(crate) fn check_block(&self, block: u32) -> Result<u32, Errno> {
        if block == 0
            || block < self.superblock.first_data_block()
            || block >= self.superblock.blocks_count()
        {
            return Err(Errno::EIO);
        }
        Ok(block)
    }

    /// Must be called before any change to the disk: refuses changes on a
    /// read-only mount, and marks the superblock "not clean" on disk.
    pub(crate) fn begin_change(&mut self) -> Result<(), Errno> {
        if self.read_only {
            return Err(Errno::EROFS);
        }
        self.changed_since_sync = true;
        if self.disk_state_is_clean && self.state_at_mount & STATE_VALID != 0 {
            self.superblock
                .set_state(self.state_at_mount & !STATE_VALID);
            self.write_superblock()?;
            self.disk_state_is_clean = false;
        }
        Ok(())
    }

    /// Turns on the large_file feature the first time a file reaches 2 GiB.
    pub(crate) fn note_file_size(&mut self, size: u64) -> Result<(), Errno> {
        if size < 1 << 31 || self.superblock.has_large_file() {
            return Ok(());
        }
        if !self.superblock.can_enable_large_file() {
            return Err(Errno::EFBIG);
        }
        let features = self.superblock.ro_compat_features() | RO_COMPAT_LARGE_FILE;
        self.superblock.set_ro_compat_features(features);
        Ok(())
    }

    fn write_superblock(&mut self) -> Result<(), Errno> {
        let raw = *self.superblock.raw();
        self.device
            .write_sectors(SUPERBLOCK_OFFSET / SECTOR_SIZE as u64, &raw)
    }

    /// Writes the primary descriptor table. Backup copies in other groups
    /// are left as mke2fs wrote them; like Linux, we never update them.
    fn write_group_descriptors(&mut self) -> Result<(), Errno> {
        let block_size = self.block_size();
        let table_bytes = self.groups.len() * DESCRIPTOR_SIZE;
        let first_block = self.superblock.first_data_block() + 1;
        let mut table = vec![0u8; table_bytes.div_ceil(block_size) * block_size];
        self.read_blocks(first_block, &mut table)?;
        group::encode_table(&self.groups, &mut table);
        self.write_blocks(first_block, &table)
    }

    /// The block holding inode `inode`'s record, and the record's offset in it.
    fn inode_location(&self, inode: InodeNumber) -> Result<(u32, usize), Errno> {
        if inode == 0 || inode > self.superblock.inodes_count() {
            return Err(Errno::EINVAL);
        }
        let index = inode - 1;
        let per_group = self.superblock.inodes_per_group();
        let group = &self.groups[(index / per_group) as usize];
        let byte = (index % per_group) as usize * self.superblock.inode_size();
        let block = group.inode_table() + (byte / self.block_size()) as u32;
        Ok((block, byte % self.block_size()))
    }

    pub(crate) fn read_inode(&mut self, inode: InodeNumber) -> Result<Inode, Errno> {
        let (block, offset) = self.inode_location(inode)?;
        Ok(Inode::from_record(&self.metadata_block(block)?[offset..]))
    }

    pub(crate) fn write_inode(&mut self, number: InodeNumber, inode: &Inode) -> Result<(), Errno> {
        self.update_inode_record(number, |record| inode.store_into(record))
    }

    /// Reads inode `number`, lets `change` change it, and writes it back.
    pub(crate) fn update_inode(
        &mut self,
        number: InodeNumber,
        change: impl FnOnce(&mut Inode),
    ) -> Result<(), Errno> {
        let mut inode = self.read_inode(number)?;
        change(&mut inode);
        self.write_inode(number, &inode)
    }

    /// Writes a newly allocated inode over whatever its record held before.
    pub(crate) fn write_new_inode(
        &mut self,
        number: InodeNumber,
        inode: &Inode,
    ) -> Result<(), Errno> {
        self.update_inode_record(number, |record| inode.store_new_record(record))
    }

    fn update_inode_record(
        &mut self,
        inode: InodeNumber,
        update: impl FnOnce(&mut [u8]),
    ) -> Result<(), Errno> {
        let (block, offset) = self.inode_location(inode)?;
        let inode_size = self.superblock.inode_size();
        self.update_metadata_block(block, |buf| update(&mut buf[offset..offset + inode_size]))
    }
}

//! The superblock: the file system's geometry, free counts, state and
//! feature flags. It always starts at byte 1024 of the disk and is 1024
//! bytes long, whatever the block size.

use core::fmt;

use abi::Errno;

use crate::bytes::le_fields;
use crate::group::DESCRIPTOR_SIZE;

/// Where the superblock starts on the disk, in bytes.
pub(crate) const SUPERBLOCK_OFFSET: u64 = 1024;
/// The size of the superblock, in bytes.
pub(crate) const SUPERBLOCK_SIZE: usize = 1024;

const EXT2_MAGIC: u16 = 0xEF53;

/// Where `s_uuid` (16 bytes) starts in the superblock.
const UUID_OFFSET: usize = 104;

/// `s_state` bit: the file system was cleanly unmounted.
pub(crate) const STATE_VALID: u16 = 1;

/// Revision 0 has fixed 128-byte inodes, the first free inode is 11, and
/// there are no feature flags.
const GOOD_OLD_REVISION: u32 = 0;
/// Revision 1 ("dynamic") adds inode size, first inode and feature flags.
const DYNAMIC_REVISION: u32 = 1;
const GOOD_OLD_INODE_SIZE: u16 = 128;
const GOOD_OLD_FIRST_INODE: u32 = 11;

/// INCOMPAT: directory entries carry a file type byte.
pub const INCOMPAT_FILETYPE: u32 = 0x0002;
/// RO_COMPAT: superblock backups only in groups 0, 1 and powers of 3, 5, 7.
/// It only changes where mke2fs put backups; the bitmaps already say so.
pub const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
/// RO_COMPAT: regular files may be 2 GiB or larger (`i_size_high` is used).
pub const RO_COMPAT_LARGE_FILE: u32 = 0x0002;

/// INCOMPAT features this crate understands. Any other bit means the disk
/// format differs in a way we cannot even read safely.
const SUPPORTED_INCOMPAT: u32 = INCOMPAT_FILETYPE;
/// RO_COMPAT features this crate maintains. Any other bit still lets us
/// read, but writing could break an invariant we don't know about.
const SUPPORTED_RO_COMPAT: u32 = RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE;

/// Why a disk could not be mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountError {
    /// The device failed while reading the superblock or group descriptors.
    Io(Errno),
    /// The superblock magic is not 0xEF53.
    NotExt2 { magic: u16 },
    /// A revision other than 0 or 1.
    UnsupportedRevision(u32),
    /// `s_log_block_size` gives a block size other than 1, 2 or 4 KiB.
    UnsupportedBlockSize { log_block_size: u32 },
    /// INCOMPAT feature bits this crate does not implement (e.g. extents).
    UnsupportedIncompatFeatures(u32),
    /// The superblock or group descriptors contradict themselves or the device.
    Corrupt(&'static str),
}

impl MountError {
    /// The errno a `mount` system call would return.
    pub fn errno(self) -> Errno {
        match self {
            MountError::Io(errno) => errno,
            _ => Errno::EINVAL,
        }
    }
}

impl fmt::Display for MountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountError::Io(errno) => write!(f, "ext2: I/O error while mounting: {errno}"),
            MountError::NotExt2 { magic } => {
                write!(f, "ext2: bad magic {magic:#06x} (expected 0xef53)")
            }
            MountError::UnsupportedRevision(revision) => {
                write!(f, "ext2: unsupported revision {revision} (only 0 and 1)")
            }
            MountError::UnsupportedBlockSize { log_block_size } => write!(
                f,
                "ext2: unsupported s_log_block_size {log_block_size} (only 1, 2 and 4 KiB blocks)"
            ),
            MountError::UnsupportedIncompatFeatures(bits) => write!(
                f,
                "ext2: refusing to mount: unknown INCOMPAT features {bits:#x} (only filetype is supported)"
            ),
            MountError::Corrupt(what) => write!(f, "ext2: corrupt file system: {what}"),
        }
    }
}

/// The superblock, kept as its raw bytes.
pub(crate) struct Superblock {
    raw: [u8; SUPERBLOCK_SIZE],
}

impl Superblock {
    le_fields! {
        0 u32: get inodes_count;
        4 u32: get blocks_count;
        8 u32: get reserved_blocks_count;
        12 u32: get free_blocks_count, set set_free_blocks_count;
        16 u32: get free_inodes_count, set set_free_inodes_count;
        20 u32: get first_data_block;
        24 u32: get log_block_size;
        32 u32: get blocks_per_group;
        40 u32: get inodes_per_group;
        44 u32: set set_mount_time;
        48 u32: set set_write_time;
        52 u16: get mount_count, set set_mount_count;
        56 u16: get magic;
        58 u16: get state, set set_state;
        76 u32: get revision;
        84 u32: get dynamic_first_inode;
        88 u16: get dynamic_inode_size;
        92 u32: get compat_features;
        96 u32: get incompat_features;
        100 u32: get ro_compat_features, set set_ro_compat_features;
        206 u16: get reserved_gdt_blocks;
    }

    /// Parses and checks the superblock; everything later relies on these
    /// checks to keep arithmetic in range.
    pub(crate) fn parse(raw: [u8; SUPERBLOCK_SIZE]) -> Result<Superblock, MountError> {
        let superblock = Superblock { raw };
        superblock.validate()?;
        Ok(superblock)
    }

    fn validate(&self) -> Result<(), MountError> {
        if self.magic() != EXT2_MAGIC {
            return Err(MountError::NotExt2 {
                magic: self.magic(),
            });
        }
        if self.revision() > DYNAMIC_REVISION {
            return Err(MountError::UnsupportedRevision(self.revision()));
        }
        if self.log_block_size() > 2 {
            return Err(MountError::UnsupportedBlockSize {
                log_block_size: self.log_block_size(),
            });
        }
        let unknown_incompat = self.incompat_features() & !SUPPORTED_INCOMPAT;
        if unknown_incompat != 0 {
            return Err(MountError::UnsupportedIncompatFeatures(unknown_incompat));
        }
        let bits_per_bitmap = self.block_size() as u32 * 8;
        let expected_first_data_block = u32::from(self.block_size() == 1024);
        if self.first_data_block() != expected_first_data_block {
            return Err(MountError::Corrupt(
                "s_first_data_block does not match the block size",
            ));
        }
        if self.blocks_count() <= self.first_data_block() {
            return Err(MountError::Corrupt("s_blocks_count is too small"));
        }
        if self.blocks_per_group() == 0 || self.blocks_per_group() > bits_per_bitmap {
            return Err(MountError::Corrupt("s_blocks_per_group out of range"));
        }
        if self.inodes_per_group() == 0 || self.inodes_per_group() > bits_per_bitmap {
            return Err(MountError::Corrupt("s_inodes_per_group out of range"));
        }
        if u64::from(self.inodes_count())
            != u64::from(self.inodes_per_group()) * u64::from(self.group_count())
        {
            return Err(MountError::Corrupt(
                "s_inodes_count is not groups * inodes per group",
            ));
        }
        let inode_size = self.inode_size();
        if inode_size < usize::from(GOOD_OLD_INODE_SIZE)
            || !inode_size.is_power_of_two()
            || inode_size > self.block_size()
        {
            return Err(MountError::Corrupt("s_inode_size out of range"));
        }
        if self.first_inode() < 3 || self.first_inode() > self.inodes_count() {
            return Err(MountError::Corrupt("s_first_ino out of range"));
        }
        if self.free_blocks_count() > self.blocks_count()
            || self.free_inodes_count() > self.inodes_count()
        {
            return Err(MountError::Corrupt("free counts larger than totals"));
        }
        Ok(())
    }

    pub(crate) fn raw(&self) -> &[u8; SUPERBLOCK_SIZE] {
        &self.raw
    }

    /// statfs's `f_fsid` as Linux's `ext2_statfs` derives it from the
    /// 16-byte `s_uuid`: its two little-endian 64-bit halves xored.
    pub(crate) fn fsid(&self) -> u64 {
        let half = |offset: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&self.raw[offset..offset + 8]);
            u64::from_le_bytes(bytes)
        };
        half(UUID_OFFSET) ^ half(UUID_OFFSET + 8)
    }

    /// The blocks statfs leaves out of `f_blocks`, as Linux 6.1 counts them
    /// for an ext2 disk (which it mounts with the ext4 driver: `ext4_statfs`
    /// and `count_overhead`): those before `s_first_data_block`; in each
    /// group with a superblock copy, the copy, its group descriptor table
    /// and the reserved GDT blocks (`s_reserved_gdt_blocks`, resize_inode's
    /// room to grow); and each group's two bitmaps and inode table. Never
    /// more than `s_blocks_count`, however odd the geometry.
    pub(crate) fn overhead_blocks(&self) -> u32 {
        let groups = u64::from(self.group_count());
        let descriptor_blocks = groups.div_ceil((self.block_size() / DESCRIPTOR_SIZE) as u64);
        let inode_table_blocks = (u64::from(self.inodes_per_group()) * self.inode_size() as u64)
            .div_ceil(self.block_size() as u64);
        let with_superblock = (0..self.group_count())
            .filter(|&group| self.group_has_superblock(group))
            .count() as u64;
        let overhead = u64::from(self.first_data_block())
            + with_superblock * (1 + descriptor_blocks + u64::from(self.reserved_gdt_blocks()))
            + groups * (2 + inode_table_blocks);
        overhead.min(u64::from(self.blocks_count())) as u32
    }

    /// Whether a group holds a copy of the superblock and descriptors:
    /// all do, or with sparse_super only groups 0, 1 and the powers of 3,
    /// 5 and 7 (Linux's `ext2_bg_has_super`).
    fn group_has_superblock(&self, group: u32) -> bool {
        let is_power_of = |base: u32| {
            let mut power = base;
            while power < group {
                power = power.saturating_mul(base);
            }
            power == group
        };
        self.ro_compat_features() & RO_COMPAT_SPARSE_SUPER == 0
            || group <= 1
            || is_power_of(3)
            || is_power_of(5)
            || is_power_of(7)
    }

    pub(crate) fn block_size(&self) -> usize {
        1024 << self.log_block_size()
    }

    pub(crate) fn group_count(&self) -> u32 {
        (self.blocks_count() - self.first_data_block()).div_ceil(self.blocks_per_group())
    }

    pub(crate) fn inode_size(&self) -> usize {
        if self.revision() == GOOD_OLD_REVISION {
            usize::from(GOOD_OLD_INODE_SIZE)
        } else {
            usize::from(self.dynamic_inode_size())
        }
    }

    /// The first inode number ordinary files may use; those below are reserved.
    pub(crate) fn first_inode(&self) -> u32 {
        if self.revision() == GOOD_OLD_REVISION {
            GOOD_OLD_FIRST_INODE
        } else {
            self.dynamic_first_inode()
        }
    }

    /// RO_COMPAT bits we do not know; non-zero means "mount read-only".
    pub(crate) fn unknown_ro_compat_features(&self) -> u32 {
        self.ro_compat_features() & !SUPPORTED_RO_COMPAT
    }

    pub(crate) fn has_filetype(&self) -> bool {
        self.incompat_features() & INCOMPAT_FILETYPE != 0
    }

    pub(crate) fn has_large_file(&self) -> bool {
        self.ro_compat_features() & RO_COMPAT_LARGE_FILE != 0
    }

    /// Revision 0 has no feature flags, so it cannot hold files of 2 GiB+.
    pub(crate) fn can_enable_large_file(&self) -> bool {
        self.revision() == DYNAMIC_REVISION
    }
}

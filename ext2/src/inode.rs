//! Inodes: a file's type, size, link count, owner, times and block
//! pointers (or, instead of pointers, a device number or a short symlink's
//! target).
//!
//! Inode `n` (numbered from 1) lives in group `(n - 1) / s_inodes_per_group`
//! at index `(n - 1) % s_inodes_per_group` of that group's inode table. Each
//! record is `s_inode_size` bytes; this crate reads and writes the first 128
//! (the revision-0 layout) and leaves the rest alone, except that it zeroes
//! a new inode's record and sets `i_extra_isize`.

use abi::Errno;

use crate::bytes::{LittleEndian, le_fields};

/// An inode number. Inode 0 does not exist; directory entries use it for "unused".
pub type InodeNumber = u32;

/// The root directory is always inode 2.
pub const ROOT_INODE: InodeNumber = 2;

/// The part of every inode record this crate understands.
pub(crate) const CORE_INODE_SIZE: usize = 128;

/// `i_block` holds 12 direct pointers, then one single-, one double- and one
/// triple-indirect pointer.
pub(crate) const DIRECT_POINTERS: usize = 12;
pub(crate) const POINTER_SLOTS: usize = 15;
const BLOCK_POINTERS_OFFSET: usize = 40;
/// The size of `i_block` in bytes: where a fast symlink keeps its target.
pub(crate) const BLOCK_AREA_SIZE: usize = 4 * POINTER_SLOTS;

/// `i_flags`: the directory has an htree index (dir_index). We don't keep the
/// index up to date, so we clear this flag when we change such a directory.
const INDEX_FLAG: u32 = 0x1000;

/// What `i_extra_isize` says for new inodes in records larger than 128
/// bytes: the extra fields up to and including the creation time, as mke2fs writes.
const NEW_EXTRA_ISIZE: u16 = 32;
const EXTRA_ISIZE_OFFSET: usize = 128;

const MODE_TYPE_MASK: u16 = 0xF000;
const MODE_PERMISSION_MASK: u16 = 0o7777;

/// The type of a file, from the top bits of `i_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// A mode whose type bits are not a known type.
    Unknown,
}

impl FileType {
    fn from_mode(mode: u16) -> FileType {
        match mode & MODE_TYPE_MASK {
            0x8000 => FileType::Regular,
            0x4000 => FileType::Directory,
            0xA000 => FileType::Symlink,
            0x2000 => FileType::CharDevice,
            0x6000 => FileType::BlockDevice,
            0x1000 => FileType::Fifo,
            0xC000 => FileType::Socket,
            _ => FileType::Unknown,
        }
    }

    fn mode_bits(self) -> u16 {
        match self {
            FileType::Regular => 0x8000,
            FileType::Directory => 0x4000,
            FileType::Symlink => 0xA000,
            FileType::CharDevice => 0x2000,
            FileType::BlockDevice => 0x6000,
            FileType::Fifo => 0x1000,
            FileType::Socket => 0xC000,
            FileType::Unknown => 0,
        }
    }

    /// The `file_type` byte of a directory entry (filetype feature).
    pub(crate) fn dir_entry_code(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::Regular => 1,
            FileType::Directory => 2,
            FileType::CharDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }

    pub(crate) fn from_dir_entry_code(code: u8) -> FileType {
        match code {
            1 => FileType::Regular,
            2 => FileType::Directory,
            3 => FileType::CharDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }
}

/// What `stat` would report about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub inode: InodeNumber,
    pub file_type: FileType,
    /// The permission bits (`mode & 0o7777`).
    pub permissions: u16,
    pub size: u64,
    pub links: u16,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the Unix epoch.
    pub atime: u32,
    pub mtime: u32,
    pub ctime: u32,
    /// Allocated space in 512-byte units, indirect blocks included (`i_blocks`).
    pub sectors: u32,
    /// `(major, minor)` of a character or block device; `None` for other types.
    pub device: Option<(u32, u32)>,
}

/// The first 128 bytes of an inode record.
#[derive(Clone)]
pub(crate) struct Inode {
    raw: [u8; CORE_INODE_SIZE],
}

impl Inode {
    le_fields! {
        0 u16: get mode, set set_mode;
        2 u16: get uid_low, set set_uid_low;
        4 u32: get size_low, set set_size_low;
        8 u32: get atime, set set_atime;
        12 u32: get ctime, set set_ctime;
        16 u32: get mtime, set set_mtime;
        20 u32: set set_dtime;
        24 u16: get gid_low, set set_gid_low;
        26 u16: get links_count, set set_links_count;
        28 u32: get sectors, set set_sectors;
        32 u32: get flags, set set_flags;
        104 u32: get xattr_block, set set_xattr_block;
        108 u32: get size_high, set set_size_high;
        120 u16: get uid_high, set set_uid_high;
        122 u16: get gid_high, set set_gid_high;
    }

    pub(crate) fn from_record(record: &[u8]) -> Inode {
        let mut raw = [0; CORE_INODE_SIZE];
        raw.copy_from_slice(&record[..CORE_INODE_SIZE]);
        Inode { raw }
    }

    /// Copies the core fields into an on-disk record, leaving the rest.
    pub(crate) fn store_into(&self, record: &mut [u8]) {
        record[..CORE_INODE_SIZE].copy_from_slice(&self.raw);
    }

    /// A fresh on-disk record for a new inode: zeroed, with the core fields
    /// and, in large records, `i_extra_isize`.
    pub(crate) fn store_new_record(&self, record: &mut [u8]) {
        record.fill(0);
        self.store_into(record);
        if record.len() > CORE_INODE_SIZE {
            let room = (record.len() - CORE_INODE_SIZE) as u16;
            NEW_EXTRA_ISIZE.min(room).write(record, EXTRA_ISIZE_OFFSET);
        }
    }

    /// A new inode of the given type, one link, empty, all times `now`.
    pub(crate) fn new(file_type: FileType, permissions: u16, now: u32) -> Inode {
        let mut inode = Inode {
            raw: [0; CORE_INODE_SIZE],
        };
        inode.set_mode(file_type.mode_bits() | (permissions & MODE_PERMISSION_MASK));
        inode.set_links_count(1);
        inode.set_atime(now);
        inode.set_ctime(now);
        inode.set_mtime(now);
        inode
    }

    pub(crate) fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode())
    }

    /// Replaces the permission bits (`07777`), keeping the file type.
    pub(crate) fn set_permissions(&mut self, permissions: u16) {
        let type_bits = self.mode() & MODE_TYPE_MASK;
        self.set_mode(type_bits | (permissions & MODE_PERMISSION_MASK));
    }

    /// The 32-bit owner: the low 16 bits in `i_uid`, the high 16 in the
    /// Linux `osd2` field `l_i_uid_high` (fs/ext2/inode.c, `ext2_iget`).
    pub(crate) fn uid(&self) -> u32 {
        u32::from(self.uid_low()) | (u32::from(self.uid_high()) << 16)
    }

    /// Stores a 32-bit owner as Linux's `ext2_write_inode` does.
    pub(crate) fn set_uid(&mut self, uid: u32) {
        self.set_uid_low(uid as u16);
        self.set_uid_high((uid >> 16) as u16);
    }

    /// The 32-bit group, split like the owner (`l_i_gid_high`).
    pub(crate) fn gid(&self) -> u32 {
        u32::from(self.gid_low()) | (u32::from(self.gid_high()) << 16)
    }

    /// Stores a 32-bit group as Linux's `ext2_write_inode` does.
    pub(crate) fn set_gid(&mut self, gid: u32) {
        self.set_gid_low(gid as u16);
        self.set_gid_high((gid >> 16) as u16);
    }

    /// `i_size`, with `i_size_high` for regular files (elsewhere that word
    /// is `i_dir_acl` and not part of the size).
    pub(crate) fn size(&self) -> u64 {
        let high = if self.file_type() == FileType::Regular {
            u64::from(self.size_high())
        } else {
            0
        };
        (high << 32) | u64::from(self.size_low())
    }

    /// Sets the size; the caller has checked that only regular files get
    /// sizes of 4 GiB or more.
    pub(crate) fn set_size(&mut self, size: u64) {
        self.set_size_low(size as u32);
        if self.file_type() == FileType::Regular {
            self.set_size_high((size >> 32) as u32);
        }
    }

    pub(crate) fn block_pointer(&self, slot: usize) -> u32 {
        u32::read(&self.raw, BLOCK_POINTERS_OFFSET + 4 * slot)
    }

    pub(crate) fn set_block_pointer(&mut self, slot: usize, block: u32) {
        block.write(&mut self.raw, BLOCK_POINTERS_OFFSET + 4 * slot);
    }

    /// The raw bytes of `i_block`.
    pub(crate) fn block_area(&self) -> &[u8] {
        &self.raw[BLOCK_POINTERS_OFFSET..BLOCK_POINTERS_OFFSET + BLOCK_AREA_SIZE]
    }

    /// Fills `i_block` with `bytes` (at most [`BLOCK_AREA_SIZE`]) followed
    /// by zeros.
    pub(crate) fn set_block_area(&mut self, bytes: &[u8]) {
        let area = &mut self.raw[BLOCK_POINTERS_OFFSET..BLOCK_POINTERS_OFFSET + BLOCK_AREA_SIZE];
        area.fill(0);
        area[..bytes.len()].copy_from_slice(bytes);
    }

    /// Whether `i_block` holds block pointers. Device files keep their device
    /// number there, and a short ("fast") symlink keeps its target there.
    pub(crate) fn has_block_pointers(&self, block_size: usize) -> bool {
        match self.file_type() {
            FileType::Regular | FileType::Directory => true,
            FileType::Symlink => !self.is_fast_symlink(block_size),
            _ => false,
        }
    }

    /// Whether this is a symlink whose target lives in `i_block`: one with
    /// no data blocks, an extended-attribute block not counting (Linux's
    /// `ext2_inode_is_fast_symlink`, fs/ext2/inode.c).
    pub(crate) fn is_fast_symlink(&self, block_size: usize) -> bool {
        self.file_type() == FileType::Symlink && self.data_sectors(block_size) == 0
    }

    /// The `(major, minor)` device number of a device file, read as Linux's
    /// `ext2_iget` does: the old 8:8 encoding in the low 16 bits of
    /// `i_block[0]` if that word is not zero (`old_decode_dev`), else the
    /// new 12:20 encoding in `i_block[1]` (`new_decode_dev`).
    pub(crate) fn device(&self) -> (u32, u32) {
        if self.block_pointer(0) != 0 {
            let old = self.block_pointer(0) & 0xFFFF;
            return (old >> 8, old & 0xFF);
        }
        let new = self.block_pointer(1);
        (
            (new & 0xF_FF00) >> 8,
            (new & 0xFF) | ((new >> 12) & 0xF_FF00),
        )
    }

    /// Stores a device number (major below 4096, minor below 2^20) as
    /// Linux's `ext2_write_inode` does: `old_encode_dev` in `i_block[0]`
    /// when both parts fit in 8 bits, else zero there and `new_encode_dev`
    /// in `i_block[1]`.
    pub(crate) fn set_device(&mut self, major: u32, minor: u32) {
        let (old, new) = if major < 256 && minor < 256 {
            ((major << 8) | minor, 0)
        } else {
            (0, (minor & 0xFF) | (major << 8) | ((minor & !0xFF) << 12))
        };
        self.set_block_pointer(0, old);
        self.set_block_pointer(1, new);
    }

    /// `i_blocks` without the extended-attribute block.
    fn data_sectors(&self, block_size: usize) -> u32 {
        let xattr_sectors = if self.xattr_block() != 0 {
            (block_size / 512) as u32
        } else {
            0
        };
        self.sectors().saturating_sub(xattr_sectors)
    }

    /// Removes `delta` sectors from `i_blocks`; EIO if the count was wrong.
    pub(crate) fn remove_sectors(&mut self, delta: u32) -> Result<(), Errno> {
        let sectors = self.sectors().checked_sub(delta).ok_or(Errno::EIO)?;
        self.set_sectors(sectors);
        Ok(())
    }

    pub(crate) fn is_indexed_directory(&self) -> bool {
        self.flags() & INDEX_FLAG != 0
    }

    pub(crate) fn clear_index_flag(&mut self) {
        self.set_flags(self.flags() & !INDEX_FLAG);
    }

    pub(crate) fn touch_modified(&mut self, now: u32) {
        self.set_mtime(now);
        self.set_ctime(now);
    }

    pub(crate) fn metadata(&self, inode: InodeNumber) -> Metadata {
        let file_type = self.file_type();
        let is_device = matches!(file_type, FileType::CharDevice | FileType::BlockDevice);
        Metadata {
            inode,
            file_type,
            permissions: self.mode() & MODE_PERMISSION_MASK,
            size: self.size(),
            links: self.links_count(),
            uid: self.uid(),
            gid: self.gid(),
            atime: self.atime(),
            mtime: self.mtime(),
            ctime: self.ctime(),
            sectors: self.sectors(),
            device: is_device.then(|| self.device()),
        }
    }
}

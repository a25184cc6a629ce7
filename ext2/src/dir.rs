//! Linear directories.
//!
//! A directory's blocks hold a chain of entries: inode (u32), `rec_len`
//! (u16, distance to the next entry), `name_len`, then the name. With the
//! filetype feature `name_len` is one byte followed by a file type byte;
//! without it `name_len` is a u16. Each block's chain covers it exactly. An
//! entry with inode 0 is unused space. Removing an entry folds it into the
//! entry before it, or (first in its block) sets its inode to 0.
//!
//! An entry's *position* is its byte offset in the directory file (block
//! index × block size + offset in the block), as Linux's `ext2_readdir`
//! keeps it in `f_pos`; getdents resumes from one.
//!
//! Directories that mke2fs or e2fsck indexed (dir_index, htree) keep their
//! index in blocks that linear readers see as unused entries, so reading
//! them linearly works. We don't update the index, so changing such a
//! directory clears its index flag, as Linux's ext2 driver does.

use alloc::vec::Vec;

use abi::Errno;

use crate::block_map::MappedBlock;
use crate::bytes::LittleEndian;
use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::{FileType, Inode, InodeNumber};

/// The fixed part of an entry, before the name.
const ENTRY_HEADER_SIZE: usize = 8;
/// The longest name an entry can hold.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// One name in a directory, as [`Ext2::read_dir`] and
/// [`Ext2::read_dir_at`] return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub inode: InodeNumber,
    pub name: Vec<u8>,
    /// From the entry's type byte when the file system has the filetype
    /// feature; `None` without it (read the inode to learn the type).
    pub file_type: Option<FileType>,
    /// Where the entry starts in the directory file.
    pub position: u64,
    /// Where reading resumes after this entry: the end of its record (the
    /// next record, possibly unused space, or the next block). getdents64
    /// reports it as `d_off`.
    pub next_position: u64,
}

/// One entry's header, found at `offset` in a directory block.
#[derive(Clone, Copy)]
struct RawEntry {
    offset: usize,
    inode: InodeNumber,
    record_len: usize,
    name_len: usize,
    type_code: u8,
}

impl RawEntry {
    fn name<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        let start = self.offset + ENTRY_HEADER_SIZE;
        &block[start..start + self.name_len]
    }

    /// Bytes of the record not needed by its own name.
    fn slack(&self) -> usize {
        if self.inode == 0 {
            self.record_len
        } else {
            self.record_len - record_len_for(self.name_len)
        }
    }
}

/// The smallest record that holds a name of `name_len` bytes (4-byte aligned).
fn record_len_for(name_len: usize) -> usize {
    (ENTRY_HEADER_SIZE + name_len).next_multiple_of(4)
}

/// Parses the entry chain of one directory block, checking every record
/// stays inside the block. Corrupt chains are EIO.
fn parse_block(
    block: &[u8],
    has_filetype: bool,
    inodes_count: u32,
) -> Result<Vec<RawEntry>, Errno> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < block.len() {
        if block.len() - offset < ENTRY_HEADER_SIZE {
            return Err(Errno::EIO);
        }
        let inode = u32::read(block, offset);
        let record_len = usize::from(u16::read(block, offset + 4));
        let (name_len, type_code) = if has_filetype {
            (usize::from(block[offset + 6]), block[offset + 7])
        } else {
            (usize::from(u16::read(block, offset + 6)), 0)
        };
        let fits = record_len >= ENTRY_HEADER_SIZE
            && record_len.is_multiple_of(4)
            && record_len <= block.len() - offset
            && (inode == 0 || record_len_for(name_len) <= record_len);
        if !fits || inode > inodes_count {
            return Err(Errno::EIO);
        }
        entries.push(RawEntry {
            offset,
            inode,
            record_len,
            name_len,
            type_code,
        });
        offset += record_len;
    }
    Ok(entries)
}

/// Writes an entry header and name at `offset`.
fn write_entry(
    block: &mut [u8],
    offset: usize,
    inode: InodeNumber,
    record_len: usize,
    name: &[u8],
    type_code: Option<u8>,
) {
    inode.write(block, offset);
    (record_len as u16).write(block, offset + 4);
    match type_code {
        Some(code) => {
            block[offset + 6] = name.len() as u8;
            block[offset + 7] = code;
        }
        None => (name.len() as u16).write(block, offset + 6),
    }
    block[offset + ENTRY_HEADER_SIZE..offset + ENTRY_HEADER_SIZE + name.len()]
        .copy_from_slice(name);
}

/// Where a name was found: its directory block and its offset there.
pub(crate) struct FoundEntry {
    pub(crate) inode: InodeNumber,
    disk_block: u32,
    offset: usize,
}

impl<D: BlockDevice> Ext2<D> {
    /// The number of blocks of a directory; EIO if its size is not whole blocks.
    fn directory_blocks(&self, directory: &Inode) -> Result<u64, Errno> {
        if directory.file_type() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
        let block_size = self.block_size() as u64;
        if !directory.size().is_multiple_of(block_size) {
            return Err(Errno::EIO);
        }
        Ok(directory.size() / block_size)
    }

    /// Reads block `index` of a directory (holes are corruption: EIO) and
    /// parses its entries.
    fn read_directory_block(
        &mut self,
        directory: &Inode,
        index: u64,
    ) -> Result<(u32, Vec<u8>, Vec<RawEntry>), Errno> {
        let disk_block = self.lookup_block(directory, index)?.ok_or(Errno::EIO)?;
        let block = self.metadata_block(disk_block)?.to_vec();
        let entries = parse_block(
            &block,
            self.superblock.has_filetype(),
            self.superblock.inodes_count(),
        )?;
        Ok((disk_block, block, entries))
    }

    /// Every name in a directory, `.` and `..` included, in on-disk order.
    pub fn read_dir(&mut self, directory: InodeNumber) -> Result<Vec<DirEntry>, Errno> {
        self.read_dir_at(directory, 0, usize::MAX)
    }

    /// Up to `max_entries` names of a directory in on-disk order, from the
    /// first entry that starts at or after `position` (an entry's
    /// `position` or `next_position`). Unused records are skipped. A
    /// position inside a record — left by a removal that folded the entry
    /// there into the one before — resumes at the next record in that
    /// block, as Linux's `ext2_readdir` does with `ext2_validate_entry`
    /// (fs/ext2/dir.c). At or past the end there is nothing: an empty list.
    pub fn read_dir_at(
        &mut self,
        directory: InodeNumber,
        position: u64,
        max_entries: usize,
    ) -> Result<Vec<DirEntry>, Errno> {
        let inode = self.read_inode(directory)?;
        let block_size = self.block_size() as u64;
        let has_filetype = self.superblock.has_filetype();
        let mut result = Vec::new();
        for index in position / block_size..self.directory_blocks(&inode)? {
            if result.len() == max_entries {
                break;
            }
            let (_, block, entries) = self.read_directory_block(&inode, index)?;
            let block_start = index * block_size;
            let room = max_entries - result.len();
            result.extend(
                entries
                    .iter()
                    .filter(|entry| {
                        entry.inode != 0 && block_start + entry.offset as u64 >= position
                    })
                    .take(room)
                    .map(|entry| {
                        let entry_position = block_start + entry.offset as u64;
                        DirEntry {
                            inode: entry.inode,
                            name: entry.name(&block).to_vec(),
                            file_type: has_filetype
                                .then(|| FileType::from_dir_entry_code(entry.type_code)),
                            position: entry_position,
                            next_position: entry_position + entry.record_len as u64,
                        }
                    }),
            );
        }
        Ok(result)
    }

    /// Finds `name` in a directory.
    pub(crate) fn find_entry(
        &mut self,
        directory: &Inode,
        name: &[u8],
    ) -> Result<Option<FoundEntry>, Errno> {
        for index in 0..self.directory_blocks(directory)? {
            let (disk_block, block, entries) = self.read_directory_block(directory, index)?;
            if let Some(entry) = entries
                .iter()
                .find(|entry| entry.inode != 0 && entry.name(&block) == name)
            {
                return Ok(Some(FoundEntry {
                    inode: entry.inode,
                    disk_block,
                    offset: entry.offset,
                }));
            }
        }
        Ok(None)
    }

    /// Adds `name -> child` to a directory, in the first gap big enough or
    /// in a new block at the end. Writes the directory inode.
    pub(crate) fn add_entry(
        &mut self,
        directory_number: InodeNumber,
        directory: &mut Inode,
        name: &[u8],
        child: InodeNumber,
        child_type: FileType,
        now: u32,
    ) -> Result<(), Errno> {
        let needed = record_len_for(name.len());
        let type_code = self
            .superblock
            .has_filetype()
            .then(|| child_type.dir_entry_code());
        let block_count = self.directory_blocks(directory)?;
        for index in 0..block_count {
            let (disk_block, mut block, entries) = self.read_directory_block(directory, index)?;
            let Some(gap) = entries.iter().find(|entry| entry.slack() >= needed) else {
                continue;
            };
            if gap.inode == 0 {
                write_entry(
                    &mut block,
                    gap.offset,
                    child,
                    gap.record_len,
                    name,
                    type_code,
                );
            } else {
                let kept_len = record_len_for(gap.name_len);
                (kept_len as u16).write(&mut block, gap.offset + 4);
                let new_offset = gap.offset + kept_len;
                write_entry(
                    &mut block,
                    new_offset,
                    child,
                    gap.record_len - kept_len,
                    name,
                    type_code,
                );
            }
            self.write_metadata_block(disk_block, &block)?;
            return self.note_directory_changed(directory_number, directory, Some(now));
        }
        let new_size = (block_count + 1) * self.block_size() as u64;
        if new_size > u64::from(u32::MAX) {
            return Err(Errno::EFBIG);
        }
        let mut mapped = [MappedBlock::default()];
        let allocated = self.allocate_range(directory_number, directory, block_count, &mut mapped);
        let result = allocated.and_then(|_| {
            let mut block = alloc::vec![0; self.block_size()];
            write_entry(&mut block, 0, child, self.block_size(), name, type_code);
            self.write_metadata_block(mapped[0].disk_block, &block)?;
            directory.set_size(new_size);
            Ok(())
        });
        self.note_directory_changed(directory_number, directory, Some(now))?;
        result
    }

    /// The block of a found entry, parsed, with the index of the entry in
    /// it; EIO if the entry is no longer there.
    fn reread_found_block(
        &mut self,
        found: &FoundEntry,
    ) -> Result<(Vec<u8>, Vec<RawEntry>, usize), Errno> {
        let block = self.metadata_block(found.disk_block)?.to_vec();
        let entries = parse_block(
            &block,
            self.superblock.has_filetype(),
            self.superblock.inodes_count(),
        )?;
        let index = entries
            .iter()
            .position(|entry| entry.offset == found.offset && entry.inode == found.inode)
            .ok_or(Errno::EIO)?;
        Ok((block, entries, index))
    }

    /// Removes a found entry from its directory block and touches the
    /// directory inode. The entry before it is looked up afresh (entries
    /// may have been added to the block since it was found), as Linux's
    /// `ext2_delete_entry` walks its chunk.
    pub(crate) fn remove_entry(
        &mut self,
        directory_number: InodeNumber,
        directory: &mut Inode,
        found: &FoundEntry,
        now: u32,
    ) -> Result<(), Errno> {
        let (mut block, entries, index) = self.reread_found_block(found)?;
        match index.checked_sub(1).map(|previous| entries[previous]) {
            Some(previous) => {
                let merged = previous.record_len + entries[index].record_len;
                (merged as u16).write(&mut block, previous.offset + 4);
            }
            None => 0u32.write(&mut block, found.offset),
        }
        self.write_metadata_block(found.disk_block, &block)?;
        self.note_directory_changed(directory_number, directory, Some(now))
    }

    /// Points a found entry at another inode of type `file_type` (rename
    /// over an existing name, or a moved directory's `..`), as Linux's
    /// `ext2_set_link` does. `touch` is `Some(now)` to set the directory's
    /// mtime and ctime.
    pub(crate) fn retarget_entry(
        &mut self,
        directory_number: InodeNumber,
        directory: &mut Inode,
        found: &FoundEntry,
        inode: InodeNumber,
        file_type: FileType,
        touch: Option<u32>,
    ) -> Result<(), Errno> {
        let (mut block, _, _) = self.reread_found_block(found)?;
        inode.write(&mut block, found.offset);
        if self.superblock.has_filetype() {
            block[found.offset + 7] = file_type.dir_entry_code();
        }
        self.write_metadata_block(found.disk_block, &block)?;
        self.note_directory_changed(directory_number, directory, touch)
    }

    /// Writes a directory inode after a change to its entries: clears a
    /// stale htree flag and, with `touch` = `Some(now)`, sets mtime and ctime.
    fn note_directory_changed(
        &mut self,
        directory_number: InodeNumber,
        directory: &mut Inode,
        touch: Option<u32>,
    ) -> Result<(), Errno> {
        if let Some(now) = touch {
            directory.touch_modified(now);
        }
        if directory.is_indexed_directory() {
            directory.clear_index_flag();
        }
        self.write_inode(directory_number, directory)
    }

    /// Whether a directory holds nothing but `.` and `..`.
    pub(crate) fn is_empty_directory(&mut self, directory: &Inode) -> Result<bool, Errno> {
        for index in 0..self.directory_blocks(directory)? {
            let (_, block, entries) = self.read_directory_block(directory, index)?;
            let other = entries
                .iter()
                .any(|entry| entry.inode != 0 && !matches!(entry.name(&block), b"." | b".."));
            if other {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The first block of a new directory: `.` then `..` filling the rest.
    pub(crate) fn new_directory_block(&self, itself: InodeNumber, parent: InodeNumber) -> Vec<u8> {
        let block_size = self.block_size();
        let type_code = self
            .superblock
            .has_filetype()
            .then(|| FileType::Directory.dir_entry_code());
        let mut block = alloc::vec![0; block_size];
        let dot_len = record_len_for(1);
        write_entry(&mut block, 0, itself, dot_len, b".", type_code);
        write_entry(
            &mut block,
            dot_len,
            parent,
            block_size - dot_len,
            b"..",
            type_code,
        );
        block
    }
}

//! File contents: reading, writing, truncating, and the block-map interface
//! the kernel's page cache drives.
//!
//! `read_at` and `write_at` are built on the block map like the page cache
//! is: map the file blocks a transfer touches, then move whole blocks in
//! runs of contiguous disk blocks (one device request per run), and only
//! the partial blocks at the ends through a bounce buffer.

use alloc::vec;
use alloc::vec::Vec;
use core::ops::Range;

use abi::Errno;

use crate::block_map::MappedBlock;
use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::{FileType, Inode, InodeNumber};

/// A piece of a transfer, in the order of the caller's buffer.
#[derive(Debug, PartialEq, Eq)]
enum Segment {
    /// Whole blocks on contiguous disk blocks: one device request.
    Run {
        first_disk_block: u32,
        buf: Range<usize>,
    },
    /// Part of one block.
    Partial {
        block: MappedBlock,
        offset_in_block: usize,
        buf: Range<usize>,
    },
    /// Part or all of a hole: reads as zeros.
    Hole { buf: Range<usize> },
}

/// Splits a transfer of `len` bytes at file offset `offset` into segments.
/// `mapping[i]` is the mapping of file block `offset / block_size + i`.
fn plan_transfer(
    offset: u64,
    len: usize,
    block_size: usize,
    mapping: &[Option<MappedBlock>],
) -> Vec<Segment> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut buf_start = 0;
    let mut offset_in_block = (offset % block_size as u64) as usize;
    for mapped in mapping {
        if buf_start == len {
            break;
        }
        let piece_len = (block_size - offset_in_block).min(len - buf_start);
        let buf = buf_start..buf_start + piece_len;
        match *mapped {
            None => segments.push(Segment::Hole { buf }),
            Some(block) if piece_len < block_size => segments.push(Segment::Partial {
                block,
                offset_in_block,
                buf,
            }),
            Some(block) => match segments.last_mut() {
                Some(Segment::Run {
                    first_disk_block,
                    buf: run,
                }) if u64::from(*first_disk_block)
                    + ((run.end - run.start) / block_size) as u64
                    == u64::from(block.disk_block) =>
                {
                    run.end = buf.end;
                }
                _ => segments.push(Segment::Run {
                    first_disk_block: block.disk_block,
                    buf,
                }),
            },
        }
        buf_start += piece_len;
        offset_in_block = 0;
    }
    segments
}

/// Where `ext4_punch_hole` cuts a range that runs past the end of file:
/// at the end of the page holding `i_size` (`PAGE_SIZE`, 4 KiB on x86_64),
/// the next page boundary when `i_size` sits on one. Kept here, not taken
/// from a page cache, because it decides which indirect blocks a punch
/// frees: those whose file blocks end at or before the cut.
const PUNCH_CUT_ALIGNMENT: u64 = 4096;

/// The file blocks a transfer of `len` (> 0) bytes at `offset` touches.
fn blocks_touched(offset: u64, len: usize, block_size: usize) -> (u64, usize) {
    let block_size = block_size as u64;
    let first = offset / block_size;
    let last = (offset + len as u64 - 1) / block_size;
    (first, (last - first + 1) as usize)
}

impl<D: BlockDevice> Ext2<D> {
    /// The largest size a regular file may have here: what triple
    /// indirection addresses, what `i_blocks` can count, and below 2 GiB on
    /// revision 0 (no large_file feature there).
    pub fn max_file_size(&self) -> u64 {
        let addressable = self.addressable_blocks() * self.block_size() as u64;
        let countable = u64::from(u32::MAX) * 512;
        let by_revision =
            if self.superblock.has_large_file() || self.superblock.can_enable_large_file() {
                u64::MAX
            } else {
                (1 << 31) - 1
            };
        addressable.min(countable).min(by_revision)
    }

    /// Reads an inode whose `i_block` holds block pointers (regular file
    /// or directory); anything else has no block map: EINVAL.
    fn read_mapped_inode(&mut self, number: InodeNumber) -> Result<Inode, Errno> {
        let inode = self.read_inode(number)?;
        match inode.file_type() {
            FileType::Regular | FileType::Directory => Ok(inode),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Reads a regular file's inode: EISDIR for a directory, EINVAL for
    /// other types.
    fn read_regular_inode(&mut self, number: InodeNumber) -> Result<Inode, Errno> {
        let inode = self.read_inode(number)?;
        match inode.file_type() {
            FileType::Regular => Ok(inode),
            FileType::Directory => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Which disk block holds `file_block` of the file, without allocating:
    /// `None` for a hole.
    pub fn block_of(&mut self, inode: InodeNumber, file_block: u64) -> Result<Option<u32>, Errno> {
        let inode = self.read_mapped_inode(inode)?;
        self.lookup_block(&inode, file_block)
    }

    /// Maps `out.len()` file blocks from `first_file_block` on, without
    /// allocating (`None` for holes).
    pub fn map_blocks(
        &mut self,
        inode: InodeNumber,
        first_file_block: u64,
        out: &mut [Option<u32>],
    ) -> Result<(), Errno> {
        let inode = self.read_mapped_inode(inode)?;
        for (index, slot) in out.iter_mut().enumerate() {
            *slot = self.lookup_block(&inode, first_file_block + index as u64)?;
        }
        Ok(())
    }

    /// Maps `out.len()` file blocks from `first_file_block` on, allocating
    /// the holes (and any indirect blocks they need) close after the file's
    /// previous block. Does not change `i_size`: blocks at or past the end
    /// of file are EINVAL (grow the file with `set_len` or `write_at` first),
    /// since e2fsck counts blocks past the end as corruption.
    ///
    /// Returns how many blocks were mapped (fewer than asked if the disk
    /// filled up; ENOSPC if none). Blocks reported `newly_allocated` hold
    /// stale bytes: the caller must write them whole.
    pub fn map_blocks_allocating(
        &mut self,
        inode: InodeNumber,
        first_file_block: u64,
        out: &mut [MappedBlock],
    ) -> Result<usize, Errno> {
        let mut file = self.read_regular_inode(inode)?;
        let blocks_in_file = file.size().div_ceil(self.block_size() as u64);
        let end = first_file_block.checked_add(out.len() as u64);
        if end.is_none_or(|end| end > blocks_in_file) {
            return Err(Errno::EINVAL);
        }
        if self.map_allocated(&file, first_file_block, out)? {
            return Ok(out.len());
        }
        self.begin_change()?;
        let mapped = self.allocate_range(inode, &mut file, first_file_block, out);
        self.write_inode(inode, &file)?;
        mapped
    }

    /// Fills `out` if every block of the range is already allocated: then
    /// mapping is a lookup and changes nothing on the disk (rewriting pages
    /// of an existing file does not mark the file system unclean). Each
    /// table of pointers is read once, not once per block.
    fn map_allocated(
        &mut self,
        file: &Inode,
        first_file_block: u64,
        out: &mut [MappedBlock],
    ) -> Result<bool, Errno> {
        let mut mapped = 0;
        while mapped < out.len() {
            let file_block = first_file_block + mapped as u64;
            match self.lookup_span(file, file_block, &mut out[mapped..])? {
                0 => return Ok(false),
                count => mapped += count,
            }
        }
        Ok(true)
    }

    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read
    /// (0 at or past the end of file). Holes read as zeros.
    pub fn read_at(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        buf: &mut [u8],
    ) -> Result<usize, Errno> {
        let file = self.read_regular_inode(inode)?;
        let size = file.size();
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let len = buf
            .len()
            .min((size - offset).try_into().unwrap_or(usize::MAX));
        let buf = &mut buf[..len];
        let (first_block, block_count) = blocks_touched(offset, len, self.block_size());
        let mut mapping = vec![None; block_count];
        for (index, slot) in mapping.iter_mut().enumerate() {
            *slot = self
                .lookup_block(&file, first_block + index as u64)?
                .map(|disk_block| MappedBlock {
                    disk_block,
                    newly_allocated: false,
                });
        }
        for segment in plan_transfer(offset, len, self.block_size(), &mapping) {
            match segment {
                Segment::Run {
                    first_disk_block,
                    buf: range,
                } => {
                    self.read_blocks(first_disk_block, &mut buf[range])?;
                }
                Segment::Partial {
                    block,
                    offset_in_block,
                    buf: range,
                } => {
                    let data = self.read_data_block(block.disk_block)?;
                    buf[range.clone()]
                        .copy_from_slice(&data[offset_in_block..offset_in_block + range.len()]);
                }
                Segment::Hole { buf: range } => buf[range].fill(0),
            }
        }
        Ok(len)
    }

    /// Writes `data` at `offset`, allocating blocks as needed and growing
    /// the file. Returns how many bytes were written: all, or fewer if the
    /// disk filled up part way (ENOSPC if nothing could be written).
    pub fn write_at(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        data: &[u8],
        now: u32,
    ) -> Result<usize, Errno> {
        let mut file = self.read_regular_inode(inode)?;
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset.checked_add(data.len() as u64).ok_or(Errno::EFBIG)?;
        if end > self.max_file_size() {
            return Err(Errno::EFBIG);
        }
        self.begin_change()?;
        let old_size = file.size();
        if offset > old_size {
            self.zero_block_tail(&file, old_size)?;
        }
        let block_size = self.block_size();
        let (first_block, block_count) = blocks_touched(offset, data.len(), block_size);
        let mut mapping = vec![MappedBlock::default(); block_count];
        let mapped = match self.allocate_range(inode, &mut file, first_block, &mut mapping) {
            Ok(mapped) => mapped,
            Err(errno) => {
                self.write_inode(inode, &file)?;
                return Err(errno);
            }
        };
        let mapped_end = (first_block + mapped as u64) * block_size as u64;
        let len = (mapped_end.min(end) - offset) as usize;
        let mapping: Vec<_> = mapping[..mapped].iter().copied().map(Some).collect();
        let written = self.write_segments(&plan_transfer(offset, len, block_size, &mapping), data);
        if written.is_ok() {
            let new_size = old_size.max(offset + len as u64);
            self.note_file_size(new_size)?;
            file.set_size(new_size);
            file.touch_modified(now);
        }
        self.write_inode(inode, &file)?;
        written.map(|()| len)
    }

    fn write_segments(&mut self, segments: &[Segment], data: &[u8]) -> Result<(), Errno> {
        for segment in segments {
            match segment {
                Segment::Run {
                    first_disk_block,
                    buf,
                } => {
                    self.write_blocks(*first_disk_block, &data[buf.clone()])?;
                }
                Segment::Partial {
                    block,
                    offset_in_block,
                    buf,
                } => {
                    let mut contents = if block.newly_allocated {
                        vec![0; self.block_size()]
                    } else {
                        self.read_data_block(block.disk_block)?
                    };
                    contents[*offset_in_block..*offset_in_block + buf.len()]
                        .copy_from_slice(&data[buf.clone()]);
                    self.write_blocks(block.disk_block, &contents)?;
                }
                Segment::Hole { .. } => return Err(Errno::EIO),
            }
        }
        Ok(())
    }

    /// Sets a regular file's size (truncate/ftruncate). Shrinking frees the
    /// blocks past the new end, and indirect blocks left empty; growing
    /// leaves a hole that reads as zeros.
    pub fn set_len(&mut self, inode: InodeNumber, new_size: u64, now: u32) -> Result<(), Errno> {
        let mut file = self.read_regular_inode(inode)?;
        if new_size > self.max_file_size() {
            return Err(Errno::EFBIG);
        }
        self.begin_change()?;
        self.note_file_size(new_size)?;
        let old_size = file.size();
        let result = if new_size < old_size {
            self.zero_block_tail(&file, new_size).and_then(|()| {
                let keep_blocks = new_size.div_ceil(self.block_size() as u64);
                self.free_blocks_from(&mut file, keep_blocks)
            })
        } else {
            self.zero_block_tail(&file, old_size)
        };
        if result.is_ok() {
            file.set_size(new_size);
            file.touch_modified(now);
        }
        self.write_inode(inode, &file)?;
        result
    }

    /// Punches a hole: fallocate(2) with `FALLOC_FL_PUNCH_HOLE |
    /// FALLOC_FL_KEEP_SIZE`, as Linux 6.1 does it on this disk — with its
    /// ext4 driver, for a file mapped by indirect blocks (`ext4_punch_hole`,
    /// `ext4_ind_remove_space`).
    ///
    /// Afterwards the bytes `offset..offset + len` read as zeros and the
    /// size is what it was. The whole blocks of the range become holes:
    /// their data blocks are freed, and so is each indirect block left
    /// without pointers whose file blocks all lie before the range's end
    /// (ext4 keeps one the range ends inside, even empty; truncation frees
    /// it later). The partial blocks at either end are zeroed on the device
    /// where allocated; a hole stays a hole. A range running past the end of
    /// file is cut at the first 4 KiB boundary after `i_size`, where ext4
    /// cuts it (the end of the page holding `i_size`); that decides which
    /// indirect blocks go. `i_blocks` and the free counts drop, and mtime
    /// and ctime become `now`, even if the range held only holes — but with
    /// `offset` at or past the end of file nothing changes (Ok, as Linux).
    ///
    /// Errors, in the order Linux reaches them (the open(2) of a writable
    /// descriptor first, then vfs_fallocate): EISDIR for a directory; EROFS
    /// for a regular file on a read-only mount; EINVAL for `len` 0; ESPIPE
    /// for a FIFO, ENODEV for another non-regular file (a block device's
    /// fallocate is its driver's, not the file system's); EFBIG when
    /// `offset + len` overflows or exceeds Linux's `s_maxbytes` for this
    /// disk, 2^41 − one block (below that, a range past the end of file is
    /// fine); EIO for a corrupt block map.
    ///
    /// The kernel checks first, as vfs_fallocate does: EINVAL for a
    /// negative offset or a length ≤ 0, EOPNOTSUPP for unknown modes and for
    /// PUNCH_HOLE without KEEP_SIZE (fallocate's other modes — 0,
    /// KEEP_SIZE alone, ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE — are
    /// EOPNOTSUPP on these files too: ext4 does them only for extent files),
    /// EBADF for a descriptor not open for writing. Clearing setuid/setgid
    /// (file_modified) is the kernel's too. The page cache is the kernel's:
    /// dirty pages over the range must be written back before this call (the
    /// partial blocks are zeroed here on the device, around what the disk
    /// holds), and the cached pages over the range dropped after it, so
    /// that they read back as zeros.
    pub fn punch_hole(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        len: u64,
        now: u32,
    ) -> Result<(), Errno> {
        let mut file = self.read_inode(inode)?;
        match file.file_type() {
            FileType::Directory => return Err(Errno::EISDIR),
            FileType::Regular if self.is_read_only() => return Err(Errno::EROFS),
            _ if len == 0 => return Err(Errno::EINVAL),
            FileType::Regular => {}
            FileType::Fifo => return Err(Errno::ESPIPE),
            _ => return Err(Errno::ENODEV),
        }
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.linux_max_bytes())
            .ok_or(Errno::EFBIG)?;
        let size = file.size();
        if offset >= size {
            return Ok(());
        }
        let end = end.min((size / PUNCH_CUT_ALIGNMENT + 1) * PUNCH_CUT_ALIGNMENT);
        self.begin_change()?;
        let block_size = self.block_size() as u64;
        let whole_blocks =
            offset.div_ceil(block_size)..(end / block_size).min(self.addressable_blocks());
        let result = self
            .zero_partial_blocks(&file, offset..end)
            .and_then(|()| self.free_blocks_in(&mut file, whole_blocks));
        if result.is_ok() {
            file.touch_modified(now);
        }
        self.write_inode(inode, &file)?;
        result
    }

    /// Linux's `s_maxbytes` for this disk, the bound vfs_fallocate holds
    /// `offset + len` to: ext4's `ext4_max_size` without huge_file (a disk
    /// with it mounts read-only here), the whole blocks in what `i_blocks`
    /// counts, 2^32 − 1 sectors: 2^41 − one block. (The extent limit it is
    /// also held to, 2^32 − 1 blocks, is larger for every block size here.)
    pub fn linux_max_bytes(&self) -> u64 {
        let block_size = self.block_size() as u64;
        u64::from(u32::MAX) * 512 / block_size * block_size
    }

    /// Zeros on the device the parts of `range` that cover only part of a
    /// block: from its start to the end of that block, and from the start
    /// of its last block to its end (one piece if both lie in one block).
    fn zero_partial_blocks(&mut self, file: &Inode, range: Range<u64>) -> Result<(), Errno> {
        let block_size = self.block_size() as u64;
        let head = range.start..range.end.min(range.start.next_multiple_of(block_size));
        let tail = (range.end - range.end % block_size).max(head.end)..range.end;
        self.zero_within_block(file, head)?;
        self.zero_within_block(file, tail)
    }

    /// Zeros the bytes from `offset` to the end of its block, so that bytes
    /// past end of file read as zeros once the file grows over them.
    fn zero_block_tail(&mut self, file: &Inode, offset: u64) -> Result<(), Errno> {
        let block_end = offset.next_multiple_of(self.block_size() as u64);
        self.zero_within_block(file, offset..block_end)
    }

    /// Zeros the bytes of `range` (inside one block) on the device, if that
    /// block is allocated: a hole already reads as zeros.
    fn zero_within_block(&mut self, file: &Inode, range: Range<u64>) -> Result<(), Errno> {
        if range.is_empty() {
            return Ok(());
        }
        let block_size = self.block_size() as u64;
        let Some(disk_block) = self.lookup_block(file, range.start / block_size)? else {
            return Ok(());
        };
        let mut contents = self.read_data_block(disk_block)?;
        let start = (range.start % block_size) as usize;
        contents[start..start + (range.end - range.start) as usize].fill(0);
        self.write_blocks(disk_block, &contents)
    }
}

#[cfg(test)]
mod tests {
    use super::{MappedBlock, Segment, plan_transfer};

    fn at(disk_block: u32) -> Option<MappedBlock> {
        Some(MappedBlock {
            disk_block,
            newly_allocated: false,
        })
    }

    #[test]
    fn plan_transfer_merges_contiguous_whole_blocks_into_one_run() {
        let mapping = [at(100), at(101), at(102), None, at(7), at(50)];
        let plan = plan_transfer(512, 5 * 1024 + 100, 1024, &mapping);
        assert_eq!(
            plan,
            [
                Segment::Partial {
                    block: at(100).unwrap(),
                    offset_in_block: 512,
                    buf: 0..512
                },
                Segment::Run {
                    first_disk_block: 101,
                    buf: 512..2560
                },
                Segment::Hole { buf: 2560..3584 },
                Segment::Run {
                    first_disk_block: 7,
                    buf: 3584..4608
                },
                Segment::Partial {
                    block: at(50).unwrap(),
                    offset_in_block: 0,
                    buf: 4608..5220
                },
            ]
        );
    }
}

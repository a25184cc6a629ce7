//! lseek's SEEK_DATA and SEEK_HOLE: where a file's data and holes are.
//!
//! Linux answers from the ext4 driver's block map on our ext2 disks
//! (`ext4_llseek`, `iomap_seek_data`): a block is data if it is allocated or
//! holds written bytes whose allocation is still delayed. Here blocks are
//! allocated at write-back, so a block is data if ext2 maps it or its page
//! holds bytes the disk does not have yet (dirty, or being written).

use super::FileSystem;
use abi::Errno;
use ext2::InodeNumber;
use mm::frame::PAGE_SIZE;

/// What lseek looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    Data,
    Hole,
}

/// Blocks whose mapping is asked for at a time.
const BLOCKS_PER_LOOKUP: usize = 256;

impl FileSystem {
    /// The first offset at or after `offset` of the regular file `inode`
    /// that is in data (`Seek::Data`) or in a hole (`Seek::Hole`), at block
    /// granularity; the end of the file counts as a hole. ENXIO if `offset`
    /// is at or past the end, or if no data follows it.
    pub fn seek(&self, inode: InodeNumber, offset: u64, wanted: Seek) -> Result<u64, Errno> {
        // Stores through shared mappings make their pages dirty too.
        self.collect_dirty_bits(inode, 0..u64::MAX);
        let mut ext2 = self.ext2.lock();
        let size = ext2.metadata(inode)?.size;
        if offset >= size {
            return Err(Errno::ENXIO);
        }
        let block_size = u64::from(self.block_size);
        let end_block = size.div_ceil(block_size);
        let mut block = offset / block_size;
        let mut mapped = [None; BLOCKS_PER_LOOKUP];
        while block < end_block {
            let count = (end_block - block).min(BLOCKS_PER_LOOKUP as u64) as usize;
            ext2.map_blocks(inode, block, &mut mapped[..count])?;
            let cache = self.cache.lock();
            for (index, disk_block) in mapped[..count].iter().enumerate() {
                let at = block + index as u64;
                let page = at * block_size / PAGE_SIZE;
                let is_data =
                    disk_block.is_some() || cache.unwritten_in(u64::from(inode), page..page + 1);
                if is_data == (wanted == Seek::Data) {
                    return Ok(offset.max(at * block_size));
                }
            }
            block += count as u64;
        }
        match wanted {
            Seek::Hole => Ok(size),
            Seek::Data => Err(Errno::ENXIO),
        }
    }
}

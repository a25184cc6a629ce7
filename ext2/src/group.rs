//! Block group descriptors: where each group's bitmaps and inode table are,
//! and the group's free counts.
//!
//! The descriptor table starts in the block after the superblock's block
//! (block 2 with 1 KiB blocks, block 1 otherwise), 32 bytes per group.

use alloc::vec::Vec;

use crate::bytes::le_fields;

/// The size of one group descriptor on disk.
pub(crate) const DESCRIPTOR_SIZE: usize = 32;

/// One group descriptor, kept as its raw bytes.
#[derive(Clone)]
pub(crate) struct GroupDescriptor {
    raw: [u8; DESCRIPTOR_SIZE],
}

impl GroupDescriptor {
    le_fields! {
        0 u32: get block_bitmap;
        4 u32: get inode_bitmap;
        8 u32: get inode_table;
        12 u16: get free_blocks_count, set set_free_blocks_count;
        14 u16: get free_inodes_count, set set_free_inodes_count;
        16 u16: get used_dirs_count, set set_used_dirs_count;
    }
}

/// Splits the raw descriptor table into descriptors, one per group.
pub(crate) fn parse_table(table: &[u8], group_count: u32) -> Vec<GroupDescriptor> {
    table
        .chunks_exact(DESCRIPTOR_SIZE)
        .take(group_count as usize)
        .map(|bytes| {
            let mut raw = [0; DESCRIPTOR_SIZE];
            raw.copy_from_slice(bytes);
            GroupDescriptor { raw }
        })
        .collect()
}

/// Writes the descriptors back into a table image of `table.len()` bytes,
/// leaving the bytes past the last descriptor as they were.
pub(crate) fn encode_table(groups: &[GroupDescriptor], table: &mut [u8]) {
    for (descriptor, bytes) in groups.iter().zip(table.chunks_exact_mut(DESCRIPTOR_SIZE)) {
        bytes.copy_from_slice(&descriptor.raw);
    }
}

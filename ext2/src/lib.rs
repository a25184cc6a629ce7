//! The ext2 file system, small and clear: revisions 0 and 1, 1/2/4 KiB
//! blocks, as `mke2fs -t ext2` makes them.
//!
//! The crate reads and writes a disk through the [`BlockDevice`] trait. It
//! mounts ([`Ext2::mount`]), looks up paths, reads and writes files, grows
//! and shrinks them, punches holes in them ([`Ext2::punch_hole`]), creates
//! and removes files, directories, symlinks, device files, FIFOs and
//! sockets, makes hard links, renames and exchanges names, changes
//! permissions, owners and times, lists directories from a position (for
//! getdents), and keeps the metadata such that `e2fsck -fn` finds the disk
//! clean after [`Ext2::unmount`]. For the kernel's page cache it exposes
//! the block map ([`Ext2::block_of`], [`Ext2::map_blocks`],
//! [`Ext2::map_blocks_allocating`]) and whole-block I/O
//! ([`Ext2::read_blocks`], [`Ext2::write_blocks`]).
//!
//! See `docs/ext2.md` for the layout, the allocation policy, the metadata
//! cache and when changes reach the disk.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod allocator;
mod attributes;
mod block_map;
mod bytes;
mod cache;
mod device;
mod dir;
mod file;
mod fs;
mod group;
mod inode;
mod namespace;
mod rename;
mod superblock;
mod symlink;

#[cfg(test)]
mod tests;

pub use block_map::MappedBlock;
pub use cache::DEFAULT_CACHE_BYTES;
pub use device::{BlockDevice, SECTOR_SIZE};
pub use dir::DirEntry;
pub use fs::{Ext2, FsInfo};
pub use inode::{FileType, InodeNumber, Metadata, ROOT_INODE};
pub use namespace::Unlinked;
pub use superblock::{INCOMPAT_FILETYPE, MountError, RO_COMPAT_LARGE_FILE, RO_COMPAT_SPARSE_SUPER};

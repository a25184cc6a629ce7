//! Files in address spaces: the page cache's frames mapped into user page
//! tables, with the reverse map kept up to date, and the D bits of those
//! mappings moved into the cache.
//!
//! A cached page is owned by the cache; a mapping only borrows it and is
//! listed in the page's reverse map (`mm::page_cache::Mapper`). When the PTE
//! goes away its D bit goes to the page and the listing is removed; the frame
//! is freed only by truncation or unlink, never by an unmap.

use super::FileSystem;
use crate::memory::machine::{DirectMap, HardwareTlb};
use abi::Errno;
use alloc::vec::Vec;
use core::ops::Range;
use ext2::InodeNumber;
use mm::frame::PAGE_SIZE;
use mm::page_cache::Mapper;
use mm::vma::MappedFile;
use mm::walk::PageTableWalker;
use x86_64::PhysAddr;

/// How a file appears in a VMA: by its inode number, with the open file
/// description it was mapped through (as Linux's `vma->vm_file`), whose
/// write-back error cursor `msync(MS_SYNC)` shares with `fsync`.
pub struct InodeFile {
    pub inode: InodeNumber,
    pub open: Option<super::file::FileRef>,
}

impl MappedFile for InodeFile {
    fn id(&self) -> u64 {
        u64::from(self.inode)
    }
}

impl FileSystem {
    /// The cached frame of page `index` of `inode` for a page fault, listed
    /// under `mapper` in the reverse map. `None` if the page lies wholly
    /// past the end of the file: the access is SIGBUS.
    pub fn map_file_page(
        &self,
        inode: InodeNumber,
        index: u64,
        mapper: Option<Mapper>,
    ) -> Result<Option<PhysAddr>, Errno> {
        let mut ext2 = self.ext2.lock();
        if index >= ext2.metadata(inode)?.size.div_ceil(PAGE_SIZE) {
            return Ok(None);
        }
        let mut cache = self.cache.lock();
        let frame = self.page_frame(&mut ext2, &mut cache, inode, index)?;
        if let Some(mapper) = mapper {
            cache.add_mapper(u64::from(inode), index, mapper);
        }
        Ok(Some(frame))
    }

    /// A PTE mapping `frame` went away. If the frame is a cached page, its D
    /// bit moves to the page, `mapper` leaves its reverse map, and `true`
    /// says the cache keeps the frame; `false` means the frame was the
    /// mapping's own.
    pub fn unmap_cached_frame(&self, frame: PhysAddr, mapper: Mapper, dirty: bool) -> bool {
        let mut cache = self.cache.lock();
        let Some((file, index)) = cache.owner_of(frame) else {
            return false;
        };
        cache.remove_mapper(file, index, mapper);
        if dirty {
            cache.mark_dirty(file, index, crate::time::now_ns());
        }
        true
    }

    /// Moves the D bits of the mappings of the pages of `inode` in `indices`
    /// into the cache, clearing them (Linux's `folio_mkclean`), except the
    /// mappings of `skip` (an address space root and the virtual range the
    /// caller already scanned). Each D bit is cleared atomically and its TLB
    /// entry invalidated before the page is marked dirty, so a store after
    /// this sets D again and nothing is lost. Returns how many were dirty.
    pub fn collect_dirty_bits(
        &self,
        inode: InodeNumber,
        indices: Range<u64>,
        skip: (PhysAddr, Range<u64>),
    ) -> usize {
        let mapped = self.cache.lock().mapped_pages(u64::from(inode), indices);
        let active_root = arch::paging::active_table_root();
        let mut dirty = Vec::new();
        for (index, mappers) in mapped {
            let others = mappers
                .into_iter()
                .filter(|mapper| mapper.root != skip.0 || !skip.1.contains(&mapper.page));
            for mapper in others {
                let pending = PageTableWalker::new(&DirectMap, mapper.root)
                    .clear_dirty(mapper.page..mapper.page + PAGE_SIZE);
                // Another address space's entries are not in this CPU's TLB:
                // switching to it reloads CR3, which drops them.
                let found = if mapper.root == active_root {
                    pending.invalidate_tlb(&mut HardwareTlb)
                } else {
                    pending.invalidate_tlb(&mut NoTlb)
                };
                if !found.is_empty() {
                    dirty.push(index);
                }
            }
        }
        self.mark_pages_dirty(inode, &dirty);
        dirty.len()
    }

    /// Marks cached pages of `inode` dirty (their D bits were collected).
    pub fn mark_pages_dirty(&self, inode: InodeNumber, indices: &[u64]) {
        let mut cache = self.cache.lock();
        let now = crate::time::now_ns();
        for &index in indices {
            cache.mark_dirty(u64::from(inode), index, now);
        }
    }

    /// Makes the writes so far durable: file-system metadata, then a device
    /// flush (the tail of `fsync` and `msync(MS_SYNC)`).
    pub fn make_durable(&self) -> Result<(), Errno> {
        self.ext2.lock().sync(crate::time::unix_seconds())?;
        self.disk.flush()
    }

    /// The write-back errors recorded for `inode` since `cursor`, advancing it.
    pub fn unseen_errors(
        &self,
        inode: InodeNumber,
        cursor: &mut mm::page_cache::ErrorCursor,
    ) -> Result<(), Errno> {
        self.cache
            .lock()
            .file_mut(u64::from(inode))
            .errors
            .check_and_advance(cursor)
    }
}

/// For page tables not loaded in CR3: nothing of theirs is cached.
struct NoTlb;

impl mm::walk::TlbInvalidate for NoTlb {
    fn invalidate_page(&mut self, _page: u64) {}
    fn invalidate_all(&mut self) {}
}

//! Files in address spaces: the page cache's frames mapped into user page
//! tables, with the reverse map kept up to date, and the D bits of those
//! mappings moved into the cache.
//!
//! A cached page is owned by the cache; a mapping only borrows it and is
//! listed in the page's reverse map (`mm::page_cache::Mapper`). When the PTE
//! goes away its D bit goes to the page and the listing is removed; the frame
//! is freed only by truncation or unlink, never by an unmap.

use super::FileSystem;
use super::in_use::InodeUse;
use crate::memory::machine::HardwareTlb;
use abi::Errno;
use alloc::vec::Vec;
use core::ops::Range;
use ext2::InodeNumber;
use mm::address_space::FilePage;
use mm::frame::PAGE_SIZE;
use mm::page_cache::{Mapper, Mapping, PageCache};
use mm::vma::MappedFile;
use x86_64::PhysAddr;

/// How a file appears in a VMA: its inode, kept allocated while mapped,
/// with the open file description it was mapped through (as Linux's
/// `vma->vm_file`), whose write-back error cursor `msync(MS_SYNC)` shares
/// with `fsync`.
pub struct InodeFile {
    pub in_use: InodeUse,
    pub open: Option<super::file::FileRef>,
}

impl InodeFile {
    pub fn inode(&self) -> InodeNumber {
        self.in_use.inode()
    }
}

impl MappedFile for InodeFile {
    fn id(&self) -> u64 {
        u64::from(self.inode())
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

    /// Whether `frame` holds a cached page.
    pub fn is_cached_frame(&self, frame: PhysAddr) -> bool {
        self.cache.lock().owner_of(frame).is_some()
    }

    /// A PTE mapping `frame` went away. If the frame is a cached page, its D
    /// bit moves to the page, `mapper` leaves its reverse map, and `true`
    /// says the cache keeps the frame; `false` means the frame was the
    /// mapping's own — and if it was the private copy of a file page
    /// (`copy_of`: inode and index), the file's list of copies forgets it.
    pub fn unmap_cached_frame(
        &self,
        frame: PhysAddr,
        mapper: Mapper,
        dirty: bool,
        copy_of: Option<(InodeNumber, u64)>,
    ) -> bool {
        let mut cache = self.cache.lock();
        let Some((file, index)) = cache.owner_of(frame) else {
            if let Some((inode, index)) = copy_of {
                cache.remove_private_copy(u64::from(inode), index, mapper);
            }
            return false;
        };
        cache.remove_mapper(file, index, mapper);
        if dirty {
            cache.mark_dirty(file, index, crate::time::now_ns());
            cache.note_store_through_mapping(file);
        }
        true
    }

    /// A forked child's PTE `mapper` maps `frame` too. A cached page lists
    /// it in its reverse map, and `true` says the cache owns the frame;
    /// otherwise the frame is the parent's own (`false`: the caller counts
    /// its new user), and if it is the private copy of `copy_of` the
    /// child's PTE is listed as a copy too.
    pub fn map_cached_frame_again(
        &self,
        frame: PhysAddr,
        mapper: Mapper,
        copy_of: Option<&FilePage>,
    ) -> bool {
        let mut cache = self.cache.lock();
        if let Some((file, index)) = cache.owner_of(frame) {
            cache.add_mapper(file, index, mapper);
            return true;
        }
        if let Some(page) = copy_of {
            cache.add_private_copy(page.file.id(), page.index, mapper);
        }
        false
    }

    /// A PTE that maps `frame` moved from `from` to `to` (mremap): a cached
    /// page's reverse map follows it; otherwise, if the frame is the private
    /// copy of `copy_of`, the file's list of copies does.
    pub fn move_mapper(
        &self,
        frame: PhysAddr,
        from: Mapper,
        to: Mapper,
        copy_of: Option<&FilePage>,
    ) {
        let mut cache = self.cache.lock();
        if let Some((file, index)) = cache.owner_of(frame) {
            cache.remove_mapper(file, index, from);
            cache.add_mapper(file, index, to);
        } else if let Some(page) = copy_of {
            cache.remove_private_copy(page.file.id(), page.index, from);
            cache.add_private_copy(page.file.id(), page.index, to);
        }
    }

    /// Whether page `index` of `inode` is in the page cache (mincore).
    pub fn is_cached_page(&self, inode: InodeNumber, index: u64) -> bool {
        self.cache.lock().page(u64::from(inode), index).is_some()
    }

    /// `mapper` now maps its own copy of page `index` of `inode`, made by a
    /// copy-on-write fault in a private mapping.
    pub fn note_private_copy(&self, inode: InodeNumber, index: u64, mapper: Mapper) {
        self.cache
            .lock()
            .add_private_copy(u64::from(inode), index, mapper);
    }

    /// Moves the D bits of every mapping of the pages of `inode` in
    /// `indices` into the cache (Linux's `folio_mkclean`). The reverse map
    /// lists exactly the PTEs that exist, so the walks cover those runs and
    /// nothing else: a sparse mapping costs what is mapped, not its size.
    /// The answer also says whether those pages then hold anything to write
    /// or to wait for, in the same hold of the cache lock.
    pub fn collect_dirty_bits(&self, inode: InodeNumber, indices: Range<u64>) -> DirtyScan {
        let file = u64::from(inode);
        let scan = {
            let mut cache = self.cache.lock();
            let (mut scan, dirty) = clear_dirty_bits(cache.mappings(file, indices.clone()));
            mark_dirty_frames(&mut cache, &dirty, &mut scan);
            scan.unwritten = scan.dirty_pages > 0 || cache.unwritten_in(file, indices);
            scan
        };
        self.set_times_of_stored_files();
        scan
    }

    /// The flusher's view of stores through mappings: the D bits of every
    /// mapped cached page move to the cache, so that expiry can write them
    /// even when nobody calls msync.
    pub fn collect_all_dirty_bits(&self) -> DirtyScan {
        let scan = {
            let mut cache = self.cache.lock();
            let runs = cache
                .files()
                .flat_map(|file| cache.mappings(file, 0..u64::MAX));
            let (mut scan, dirty) = clear_dirty_bits(runs);
            mark_dirty_frames(&mut cache, &dirty, &mut scan);
            scan
        };
        self.set_times_of_stored_files();
        scan
    }

    /// The metadata stat(2) reports: stores through the file's mappings are
    /// looked for first, so that its mtime and ctime are current, as Linux's
    /// are from the write fault on.
    pub fn metadata_for_stat(&self, inode: InodeNumber) -> Result<ext2::Metadata, Errno> {
        self.collect_dirty_bits(inode, 0..u64::MAX);
        self.metadata(inode)
    }

    /// Sets mtime and ctime to now on every file a store through a mapping
    /// was found in (its D bit) since the last time: POSIX wants them marked
    /// between the store and the next msync, and Linux sets them at the
    /// write fault, which the D bit stands for here. The times reach the
    /// disk with the inode, at the next sync of the metadata. Takes ext2's
    /// lock after the cache's is released (the lock order).
    pub fn set_times_of_stored_files(&self) {
        let files = self.cache.lock().take_files_stored_through_mappings();
        if files.is_empty() {
            return;
        }
        let now = crate::time::unix_seconds();
        let mut ext2 = self.ext2.lock();
        for file in files {
            // A file freed since (its last mapping went) has no times to set.
            let _ = ext2.set_times(file as InodeNumber, None, Some(now), now);
        }
    }
}

/// Clears the D bits of each run's PTEs — atomically, the TLB entry
/// invalidated before the page is looked at — and returns the frames that
/// were dirty. A store after the clear sets D again, so nothing is lost. The
/// page tables walked are those of the address spaces the reverse map
/// lists; one process runs at a time and nothing else edits them meanwhile.
fn clear_dirty_bits(runs: impl Iterator<Item = Mapping>) -> (DirtyScan, Vec<PhysAddr>) {
    let active_root = arch::paging::active_table_root();
    let mut scan = DirtyScan::default();
    let mut dirty = Vec::new();
    for run in runs {
        let mut walker = super::page_cache::reverse_mapped(run.root);
        let pending = walker.clear_dirty(run.virt);
        let stats = walker.stats();
        scan.tables_visited += stats.tables_visited;
        scan.ptes_scanned += stats.ptes_scanned;
        // Another address space's entries are not in this CPU's TLB:
        // switching to it reloads CR3, which drops them.
        let found = if run.root == active_root {
            pending.invalidate_tlb(&mut HardwareTlb)
        } else {
            pending.invalidate_tlb(&mut NoTlb)
        };
        dirty.extend(found.iter().map(|page| page.frame));
    }
    (scan, dirty)
}

/// Marks the cached pages held by `frames` dirty.
fn mark_dirty_frames(cache: &mut PageCache, frames: &[PhysAddr], scan: &mut DirtyScan) {
    if !frames.is_empty() {
        let now = crate::time::now_ns();
        scan.dirty_pages += cache.mark_frames_dirty(frames.iter().copied(), now);
    }
}

/// What a D-bit collection found and cost (for the msync trace line).
#[derive(Clone, Copy, Debug, Default)]
pub struct DirtyScan {
    pub dirty_pages: usize,
    pub tables_visited: u64,
    pub ptes_scanned: u64,
    /// From [`FileSystem::collect_dirty_bits`]: some page asked about is
    /// dirty or under write-back, so a write-back has work to do or wait for.
    pub unwritten: bool,
}

/// For page tables not loaded in CR3: nothing of theirs is cached.
struct NoTlb;

impl mm::walk::TlbInvalidate for NoTlb {
    fn invalidate_page(&mut self, _page: u64) {}
    fn invalidate_all(&mut self) {}
}

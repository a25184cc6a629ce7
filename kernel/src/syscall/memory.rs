//! Memory system calls. Every rule lives in `mm`; these functions resolve
//! descriptors, supply the machine, and carry out what `mm` decides.

use crate::fs::file::FileKind;
use crate::fs::in_use::InodeUse;
use crate::fs::mapping::{DirtyScan, InodeFile};
use crate::fs::{FileSystem, QueuedWriteback, root};
use crate::memory::machine::{DirectMap, with_machine};
use crate::process::memory::{MemoryRef, UserMemory};
use crate::process::shared_memory::SharedMemory;
use crate::sched;
use abi::Errno;
use abi::mman::{MADV_WILLNEED, MAP_ANONYMOUS, MAP_SHARED, MAP_TYPE, MCL_CURRENT, MCL_ONFAULT};
use alloc::sync::Arc;
use core::ops::Range;
use ext2::InodeNumber;
use mm::address_space::{
    FileMapping, MincoreCursor, MmapRequest, MremapRequest, MsyncPlan, PageSource, Removal,
    USER_END,
};
use mm::frame::PAGE_SIZE;
use mm::vma::FileRef;

/// The running process's memory.
fn current_memory() -> MemoryRef {
    sched::current_process().memory()
}

/// The file (or, for `MAP_SHARED | MAP_ANONYMOUS`, the new shared memory
/// object) an mmap call maps; `None` for a bad descriptor. ENODEV for a
/// descriptor that cannot be mapped (a pipe, the console, a directory).
fn mapped_object(flags: u64, fd: u64) -> Result<Option<FileMapping>, Errno> {
    if flags & MAP_ANONYMOUS != 0 {
        let shared = flags & MAP_TYPE == MAP_SHARED;
        return Ok(shared.then(|| FileMapping {
            file: SharedMemory::new_object(),
            readable: true,
            writable: true,
        }));
    }
    let Ok(open_file) = sched::current_process().files.lock().get(fd) else {
        return Ok(None);
    };
    let open = open_file.lock();
    let FileKind::Regular(inode) = open.kind else {
        return Err(Errno::ENODEV);
    };
    let (readable, writable) = (open.readable, open.writable);
    drop(open);
    let fs = root().ok_or(Errno::ENODEV)?;
    Ok(Some(FileMapping {
        file: FileRef::new(Arc::new(InodeFile {
            in_use: InodeUse::new(fs, inode),
            open: Some(open_file),
        })),
        readable,
        writable,
    }))
}

pub fn mmap(
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> Result<u64, Errno> {
    let file = mapped_object(flags, fd)?;
    let inode = file
        .as_ref()
        .and_then(|mapping| mapped_inode_file(&mapping.file))
        .map(|mapped| mapped.in_use.inode());
    let request = MmapRequest {
        addr,
        len,
        prot: prot as u32,
        flags,
        file,
        offset,
    };
    let mapped = current_memory().lock().mmap(request)?;
    if let (Some(inode), Some(fs)) = (inode, root()) {
        fs.note_mapped(inode);
    }
    Ok(mapped)
}

pub fn munmap(addr: u64, len: u64) -> Result<u64, Errno> {
    let memory = current_memory();
    let mut memory = memory.lock();
    let releaser = memory.releaser();
    with_machine(|machine| memory.address_space.munmap(addr, len, machine, releaser)).map(|()| 0)
}

pub fn mprotect(addr: u64, len: u64, prot: u64) -> Result<u64, Errno> {
    let memory = current_memory();
    let mut memory = memory.lock();
    with_machine(|machine| {
        memory
            .address_space
            .mprotect(addr, len, prot as u32, machine)
    })
    .map(|()| 0)
}

/// mlock(2) and mlock2(2): `mm` marks the VMAs; the pages are then
/// faulted in unless the lock is MLOCK_ONFAULT's. A page that cannot be
/// had (past the end of a file) is ENOMEM, as Linux's `__mm_populate`
/// error becomes.
pub fn mlock(addr: u64, len: u64, flags: u32) -> Result<u64, Errno> {
    let memory = current_memory();
    let mut memory = memory.lock();
    memory.address_space.mlock2(addr, len, flags)?;
    let start = addr & !(PAGE_SIZE - 1);
    let end = addr.saturating_add(len).min(USER_END);
    match memory.populate(start..end) {
        Ok(()) => Ok(0),
        Err(_) => Err(Errno::ENOMEM),
    }
}

pub fn munlock(addr: u64, len: u64) -> Result<u64, Errno> {
    current_memory()
        .lock()
        .address_space
        .munlock(addr, len)
        .map(|()| 0)
}

/// mlockall(2): with MCL_CURRENT (not on fault) every mapping is faulted
/// in, what cannot be had skipped (Linux ignores those errors here).
pub fn mlockall(flags: u64) -> Result<u64, Errno> {
    let flags = flags as u32;
    let memory = current_memory();
    let mut memory = memory.lock();
    memory.address_space.mlockall(flags)?;
    if flags & (MCL_CURRENT | MCL_ONFAULT) == MCL_CURRENT {
        let _ignored = memory.populate(0..USER_END);
    }
    Ok(0)
}

pub fn munlockall() -> Result<u64, Errno> {
    current_memory().lock().address_space.munlockall();
    Ok(0)
}

/// mremap(2): the rules are `mm`'s (`AddressSpace::mremap`). Pages it
/// unmaps are released; pages it moves take their reverse-map entries with
/// them, so that msync and the flusher find their D bits where they went;
/// what a locked mapping gained is faulted in.
pub fn mremap(
    addr: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
) -> Result<u64, Errno> {
    let memory = current_memory();
    let mut memory = memory.lock();
    let releaser = memory.releaser();
    let follower = memory.move_follower();
    let request = MremapRequest {
        addr,
        old_len,
        new_len,
        flags,
        new_addr,
    };
    let remapped = with_machine(|machine| {
        memory
            .address_space
            .mremap(request, machine, releaser, follower)
    })?;
    if let Some(gained) = remapped.populate {
        let _ignored = memory.populate(gained);
    }
    Ok(remapped.addr)
}

/// mincore(2): `mm` reports the pages piece by piece; a file's page counts
/// when the page cache holds it, a shared object's when the object does.
pub fn mincore(addr: u64, len: u64, vec: u64) -> Result<u64, Errno> {
    let mut cursor = MincoreCursor::new(addr, len, vec)?;
    let memory = current_memory();
    let mut memory = memory.lock();
    let mut piece = [0u8; 256];
    while let Some(next) =
        memory
            .address_space
            .mincore_piece(&DirectMap, &mut cursor, &mut piece, is_resident)
    {
        let (at, count) = next?;
        memory.copy_to_user(at, &piece[..count])?;
    }
    Ok(0)
}

/// Whether the page behind a mapping is in memory without being mapped.
fn is_resident(source: &PageSource) -> bool {
    match source {
        PageSource::File(page) => {
            root().is_some_and(|fs| fs.is_cached_page(page.file.id() as InodeNumber, page.index))
        }
        PageSource::SharedAnonymous { object, index } => SharedMemory::has_page(object, *index),
    }
}

/// madvise(2): the rules are `mm`'s (`AddressSpace::madvise`); pages it
/// drops (MADV_DONTNEED) are released like unmapped ones.
/// MADV_WILLNEED also reads the file pages of the range into the page cache
/// at once, as Linux's readahead does (visible through mincore).
pub fn madvise(addr: u64, len: u64, advice: i32) -> Result<u64, Errno> {
    let memory = current_memory();
    let advised = {
        let mut memory = memory.lock();
        let releaser = memory.releaser();
        let advised = with_machine(|machine| {
            memory
                .address_space
                .madvise(addr, len, advice, machine, releaser)
        });
        if advice == MADV_WILLNEED && advised.result != Err(Errno::EINVAL) {
            read_ahead(&memory, addr..addr.saturating_add(len).min(USER_END));
        }
        advised
    };
    // With the memory lock released: a hole may wait for write-back.
    for removal in &advised.removals {
        remove(removal)?;
    }
    advised.result.map(|()| 0)
}

/// MADV_REMOVE's work on the object behind a mapping: a file gets a hole
/// (its pages unmapped from every process), a shared memory object drops
/// its pages. A shared memory page another process still maps stays with
/// that process (this kernel keeps no reverse map of shared memory; Linux
/// would unmap it there too).
fn remove(removal: &Removal) -> Result<(), Errno> {
    match removal {
        Removal::File { file, pages } => {
            let fs = root().ok_or(Errno::ENODEV)?;
            let inode = file.id() as InodeNumber;
            let length = (pages.end - pages.start) * PAGE_SIZE;
            fs.punch_hole(inode, pages.start * PAGE_SIZE, length)
        }
        Removal::SharedMemory { object, pages } => {
            SharedMemory::drop_pages(object, pages.clone());
            Ok(())
        }
    }
}

/// Reads the file pages that the mappings in `range` show into the page
/// cache, each VMA up to the end of its file.
fn read_ahead(memory: &UserMemory, range: Range<u64>) {
    let Some(fs) = root() else { return };
    for vma in memory.address_space.vmas().overlapping(range.clone()) {
        let start = vma.start.max(range.start) & !(PAGE_SIZE - 1);
        for page in (start..vma.end.min(range.end)).step_by(PAGE_SIZE as usize) {
            let Some(PageSource::File(file_page)) = vma.page_source(page) else {
                break;
            };
            let inode = file_page.file.id() as InodeNumber;
            if !matches!(fs.map_file_page(inode, file_page.index, None), Ok(Some(_))) {
                break;
            }
        }
    }
}

/// brk(2): the rules are `mm`'s (`AddressSpace::brk`); like Linux, answers
/// with the current break when the request cannot be met.
pub fn brk(requested: u64) -> Result<u64, Errno> {
    let memory = current_memory();
    let mut memory = memory.lock();
    let releaser = memory.releaser();
    Ok(with_machine(|machine| {
        memory.address_space.brk(requested, machine, releaser)
    }))
}

/// msync(2): `mm` validates and plans. With MS_SYNC, for each shared file
/// range the D bits of every mapping of those pages (found through the
/// reverse map, this one included) move to the page cache, the range is
/// written back, the call waits, makes the data durable, and reports
/// write-back errors not yet seen through the mapping's file. Without it
/// (MS_ASYNC, flags 0) the ranges are queued and the same work starts on the
/// next timer tick, without the caller.
pub fn msync(addr: u64, len: u64, flags: u64) -> Result<u64, Errno> {
    // The trace line's clock and request count, read only when the line is
    // printed (the level check reads one variable).
    let tracing = log::max_level() >= log::LevelFilter::Debug;
    let started = tracing.then(crate::time::now_ns);
    let memory = current_memory();
    let plan = {
        let mut memory = memory.lock();
        let ranges = core::mem::take(&mut memory.msync_ranges);
        memory
            .address_space
            .msync_reusing(addr, len, flags as u32, ranges)
    };
    let mut outcome = Ok(());
    if let Some(fs) = root() {
        let requests_before = tracing.then(|| fs.requests_submitted());
        let mut scan = DirtyScan::default();
        let mut bytes = 0;
        outcome = carry_out(fs, &plan, &mut scan, &mut bytes);
        if let (Some(started), Some(requests_before)) = (started, requests_before) {
            log::debug!(
                "msync {addr:#x}+{len:#x} flags {flags:#x}: {} VMAs, {} page tables, {} PTEs, {} dirty pages, {} device requests, {bytes} bytes written, {} us -> {:?}",
                plan.ranges.len(),
                scan.tables_visited,
                scan.ptes_scanned,
                scan.dirty_pages,
                fs.requests_submitted() - requests_before,
                (crate::time::now_ns() - started) / 1000,
                outcome.and(plan.result),
            );
        }
    }
    let MsyncPlan {
        mut ranges, result, ..
    } = plan;
    ranges.clear();
    memory.lock().msync_ranges = ranges;
    outcome.and(result).map(|()| 0)
}

/// The I/O of an msync plan, range by range; the first error ends it.
fn carry_out(
    fs: &FileSystem,
    plan: &MsyncPlan,
    scan: &mut DirtyScan,
    bytes: &mut u64,
) -> Result<(), Errno> {
    for range in &plan.ranges {
        let inode = range.file.id() as InodeNumber;
        if !plan.wait {
            fs.queue_writeback(QueuedWriteback {
                inode,
                file_pages: range.file_pages.clone(),
            });
            continue;
        }
        let found = fs.collect_dirty_bits(inode, range.file_pages.clone());
        scan.dirty_pages += found.dirty_pages;
        scan.tables_visited += found.tables_visited;
        scan.ptes_scanned += found.ptes_scanned;
        if found.unwritten {
            *bytes += fs.write_back(inode, range.file_pages.clone(), true)?;
        } else {
            // Nothing here to write or wait for; finished write-backs
            // elsewhere are settled as write_back would, so that their
            // errors count below.
            fs.reap_completed();
        }
        fs.make_durable()?;
        if let Some(mapped) = mapped_inode_file(&range.file)
            && let Some(open) = &mapped.open
        {
            fs.unseen_errors(inode, &mut open.lock().errors)?;
        }
    }
    Ok(())
}

fn mapped_inode_file(file: &FileRef) -> Option<&InodeFile> {
    let any: &dyn core::any::Any = file.file().as_ref();
    any.downcast_ref::<InodeFile>()
}

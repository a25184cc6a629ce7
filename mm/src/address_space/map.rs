//! mmap and munmap.

use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE,
    MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE,
};

use super::{
    AddressSpace, Machine, USER_END, USER_START, UnmappedPage, is_page_aligned, page_align_up,
};
use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess};
use crate::vma::{Backing, FileRef, Protection, Sharing, Vma, VmaAttrs};
use crate::walk::TlbInvalidate;

/// The flags Linux accepts with `MAP_SHARED_VALIDATE` (its
/// `LEGACY_MAP_MASK`; x86_64 values that `abi` does not name).
const VALIDATED_MAP_FLAGS: u32 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | 0x40 // MAP_32BIT
    | 0x100 // MAP_GROWSDOWN
    | 0x800 // MAP_DENYWRITE
    | 0x1000 // MAP_EXECUTABLE
    | 0x2000 // MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | 0x1_0000 // MAP_NONBLOCK
    | 0x2_0000 // MAP_STACK
    | 0x4_0000 // MAP_HUGETLB
    | 0x400_0000 // MAP_UNINITIALIZED
    | 0xfc00_0000; // MAP_HUGE_MASK

/// Largest file size a mapping may reach (Linux's `MAX_LFS_FILESIZE`).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The arguments of mmap(2), with the file descriptor already resolved.
#[derive(Clone, Debug)]
pub struct MmapRequest {
    pub addr: u64,
    pub len: u64,
    pub prot: u32,
    pub flags: u32,
    /// The file behind the descriptor; `None` means the descriptor was bad.
    /// With `MAP_ANONYMOUS` it is ignored, except that a `MAP_SHARED` one
    /// needs the object its pages will belong to, which the kernel makes
    /// for the call (as Linux makes a shmem file).
    pub file: Option<FileMapping>,
    /// The byte offset argument (checked even for anonymous mappings).
    pub offset: u64,
}

/// An open file to map, and how it was opened.
#[derive(Clone, Debug)]
pub struct FileMapping {
    pub file: FileRef,
    pub readable: bool,
    pub writable: bool,
}

impl AddressSpace {
    /// mmap(2): maps `request.len` bytes (rounded up to pages) and returns the
    /// address. Pages are not populated; the fault handler does that. With
    /// `MAP_FIXED` whatever was mapped there is unmapped first and reported to
    /// `on_unmapped`. Checks run in Linux's order.
    pub fn mmap<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        request: MmapRequest,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
    ) -> Result<u64, Errno> {
        let MmapRequest {
            addr,
            len,
            prot,
            mut flags,
            file,
            offset,
        } = request;
        if !is_page_aligned(offset) {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_ANONYMOUS == 0 && file.is_none() {
            return Err(Errno::EBADF);
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        let fixed = flags & MAP_FIXED != 0;
        let len = page_align_up(len).ok_or(Errno::ENOMEM)?;
        let start = self.unmapped_area(addr, len, fixed)?;
        let range = start..start + len;
        if flags & MAP_FIXED_NOREPLACE != 0 && self.vmas.intersects(range.clone()) {
            return Err(Errno::EEXIST);
        }
        let page_offset = offset / PAGE_SIZE;
        let protection = Protection::from_bits_truncate(prot);
        let (sharing, backing, may_write) = if flags & MAP_ANONYMOUS != 0 {
            anonymous_backing(flags, file)?
        } else {
            let mapping = file.ok_or(Errno::EBADF)?;
            file_backing(mapping, page_offset, len, protection, flags)?
        };
        if fixed {
            self.unmap_range(range.clone(), machine, on_unmapped);
        }
        let attrs = VmaAttrs {
            protection,
            sharing,
            backing,
            locked: self.lock_new_mappings,
            may_write,
            dont_fork: false,
            wipe_on_fork: false,
        };
        self.vmas
            .insert(Vma {
                start: range.start,
                end: range.end,
                attrs,
            })
            .expect("mmap chose an address range that is in use");
        Ok(start)
    }

    /// munmap(2): unmaps the pages of `[addr, addr + len)`; holes are fine.
    pub fn munmap<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        addr: u64,
        len: u64,
        machine: &mut Machine<'_, P, F, T>,
        on_unmapped: impl FnMut(UnmappedPage),
    ) -> Result<(), Errno> {
        if !is_page_aligned(addr) || addr > USER_END || len > USER_END - addr {
            return Err(Errno::EINVAL);
        }
        let len = page_align_up(len).ok_or(Errno::EINVAL)?;
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        self.unmap_range(addr..addr + len, machine, on_unmapped);
        Ok(())
    }

    /// Linux's `get_unmapped_area`: the fixed address as given, a free hint,
    /// or a free range found by searching.
    fn unmapped_area(&self, addr: u64, len: u64, fixed: bool) -> Result<u64, Errno> {
        if len > USER_END {
            return Err(Errno::ENOMEM);
        }
        let start = if fixed {
            addr
        } else {
            self.free_hint(addr, len)
                .or_else(|| self.top_down_gap(len))
                .or_else(|| self.bottom_up_gap(len))
                .ok_or(Errno::ENOMEM)?
        };
        if start > USER_END - len {
            return Err(Errno::ENOMEM);
        }
        if !is_page_aligned(start) {
            return Err(Errno::EINVAL);
        }
        if start < USER_START {
            return Err(Errno::EPERM);
        }
        Ok(start)
    }

    /// The hint (rounded down to a page, raised to `USER_START`) if the
    /// range there is free.
    fn free_hint(&self, hint: u64, len: u64) -> Option<u64> {
        let hint = hint - hint % PAGE_SIZE;
        if hint == 0 {
            return None;
        }
        let hint = hint.max(USER_START);
        (hint <= USER_END - len && !self.vmas.intersects(hint..hint + len)).then_some(hint)
    }

    /// The highest free range of `len` bytes below the mmap base.
    fn top_down_gap(&self, len: u64) -> Option<u64> {
        let floor = USER_START;
        let mut gap_end = self.layout.mmap_base;
        for vma in self.vmas.starting_below(gap_end) {
            if gap_end >= vma.end && gap_end - vma.end >= len {
                return Some(gap_end - len);
            }
            gap_end = gap_end.min(vma.start);
        }
        (gap_end >= floor && gap_end - floor >= len).then(|| gap_end - len)
    }

    /// The lowest free range of `len` bytes above the legacy mmap base: the
    /// fallback when nothing fits below the mmap base.
    fn bottom_up_gap(&self, len: u64) -> Option<u64> {
        let mut gap_start = self.layout.legacy_mmap_base;
        for vma in self.vmas.overlapping(gap_start..USER_END) {
            if vma.start >= gap_start && vma.start - gap_start >= len {
                return Some(gap_start);
            }
            gap_start = gap_start.max(vma.end);
        }
        (USER_END - gap_start >= len).then_some(gap_start)
    }
}

/// Sharing, backing and `may_write` of a file mapping, checked as Linux's
/// `do_mmap` checks them.
fn file_backing(
    mapping: FileMapping,
    page_offset: u64,
    len: u64,
    protection: Protection,
    flags: u32,
) -> Result<(Sharing, Backing, bool), Errno> {
    if page_offset > (MAX_FILE_SIZE - len) / PAGE_SIZE {
        return Err(Errno::EOVERFLOW);
    }
    let sharing = match flags & MAP_TYPE {
        MAP_SHARED => Sharing::Shared,
        MAP_SHARED_VALIDATE if flags & !VALIDATED_MAP_FLAGS != 0 => {
            return Err(Errno::EOPNOTSUPP);
        }
        MAP_SHARED_VALIDATE => Sharing::Shared,
        MAP_PRIVATE => Sharing::Private,
        _ => return Err(Errno::EINVAL),
    };
    let may_write = match sharing {
        Sharing::Shared if protection.contains(Protection::WRITE) && !mapping.writable => {
            return Err(Errno::EACCES);
        }
        Sharing::Shared => mapping.writable,
        Sharing::Private => true,
    };
    if !mapping.readable {
        return Err(Errno::EACCES);
    }
    let backing = Backing::File {
        file: mapping.file,
        page_offset,
    };
    Ok((sharing, backing, may_write))
}

/// Sharing and backing of an anonymous mapping. Linux 6.x accepts only
/// `MAP_SHARED` and `MAP_PRIVATE` here (`MAP_SHARED_VALIDATE` is EINVAL).
fn anonymous_backing(
    flags: u32,
    object: Option<FileMapping>,
) -> Result<(Sharing, Backing, bool), Errno> {
    match flags & MAP_TYPE {
        MAP_SHARED => {
            let object = object
                .expect("the kernel supplies the object of a shared anonymous mapping")
                .file;
            let backing = Backing::SharedAnonymous {
                object,
                page_offset: 0,
            };
            Ok((Sharing::Shared, backing, true))
        }
        MAP_PRIVATE => Ok((Sharing::Private, Backing::Anonymous, true)),
        _ => Err(Errno::EINVAL),
    }
}

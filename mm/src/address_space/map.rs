//! mmap and munmap.

use abi::Errno;
use abi::mman::{
    MAP_32BIT, MAP_ANONYMOUS, MAP_DENYWRITE, MAP_EXECUTABLE, MAP_FIXED, MAP_FIXED_NOREPLACE,
    MAP_GROWSDOWN, MAP_HUGE_MASK, MAP_HUGE_SHIFT, MAP_HUGETLB, MAP_LOCKED, MAP_NONBLOCK,
    MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_STACK, MAP_SYNC,
    MAP_TYPE, MAP_UNINITIALIZED,
};

use super::{
    AddressSpace, Machine, USER_END, USER_START, UnmappedPage, is_page_aligned, page_align_up,
};
use crate::frame::{FrameAlloc, PAGE_SIZE, PhysAccess};
use crate::vma::{Backing, FileRef, Protection, Sharing, Vma, VmaAttrs};
use crate::walk::TlbInvalidate;

/// The huge page sizes x86_64 Linux knows, as MAP_HUGE_SHIFT logarithms
/// (0: the default, 2 MiB).
const HUGE_PAGE_SIZES: [u64; 3] = [0, 21, 30];

/// The flags Linux accepts with `MAP_SHARED_VALIDATE` on these files: its
/// `LEGACY_MAP_MASK` (MAP_HUGE_2MB and MAP_HUGE_1GB included, the other huge
/// page bits not) and MAP_SYNC, which ext4 — Linux's driver for the project's
/// ext2 images — lists as supported (and then refuses without DAX).
const VALIDATED_MAP_FLAGS: u64 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | (21 << MAP_HUGE_SHIFT)
    | (30 << MAP_HUGE_SHIFT)
    | MAP_SYNC;

/// Hints below this are raised to it (Linux's `mmap_min_addr`, 64 KiB on
/// Debian); MAP_FIXED may go lower.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
/// Where MAP_32BIT mappings go: the second GiB, searched bottom-up (x86_64
/// Linux's `find_start_end`, without its randomisation).
const MAP_32BIT_RANGE: core::ops::Range<u64> = 0x4000_0000..0x8000_0000;

/// Largest file size a mapping may reach (Linux's `MAX_LFS_FILESIZE`).
const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// The arguments of mmap(2), with the file descriptor already resolved.
#[derive(Clone, Debug)]
pub struct MmapRequest {
    pub addr: u64,
    pub len: u64,
    pub prot: u32,
    pub flags: u64,
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
    /// address. Pages are not populated here: the fault handler does that,
    /// and the kernel populates at once where [`populates`] says so. With
    /// `MAP_FIXED` whatever was mapped there is unmapped first and reported to
    /// `on_unmapped`. Checks run in Linux's order (`ksys_mmap_pgoff`,
    /// `do_mmap`, `mmap_region`).
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
        let anonymous = flags & MAP_ANONYMOUS != 0;
        if !anonymous && file.is_none() {
            return Err(Errno::EBADF);
        }
        if flags & MAP_HUGETLB != 0 {
            return Err(huge_page_refusal(flags, anonymous));
        }
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        let fixed = flags & MAP_FIXED != 0;
        let len = page_align_up(len).ok_or(Errno::ENOMEM)?;
        let start = self.unmapped_area(addr, len, fixed, flags & MAP_32BIT != 0)?;
        let range = start..start + len;
        if flags & MAP_FIXED_NOREPLACE != 0 && self.vmas.intersects(range.clone()) {
            return Err(Errno::EEXIST);
        }
        let page_offset = offset / PAGE_SIZE;
        let protection = Protection::from_bits_truncate(prot);
        let (sharing, backing, may_write) = if anonymous {
            anonymous_backing(flags, file)?
        } else {
            let mapping = file.ok_or(Errno::EBADF)?;
            file_backing(mapping, page_offset, len, protection, flags)?
        };
        if fixed {
            self.unmap_range(range.clone(), machine, on_unmapped);
        }
        // ext4 refuses VM_SYNC without DAX in its mmap method, which Linux
        // calls after the old range is gone.
        if !anonymous && flags & MAP_SYNC != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let attrs = VmaAttrs {
            protection,
            sharing,
            backing,
            locked: self.lock_new_mappings || flags & MAP_LOCKED != 0,
            lock_on_fault: self.lock_new_mappings && self.lock_new_on_fault,
            may_write,
            dont_fork: false,
            wipe_on_fork: false,
            grows_down: flags & MAP_GROWSDOWN != 0,
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
    /// or a free range found by searching (in the second GiB, bottom-up,
    /// for MAP_32BIT).
    pub(super) fn unmapped_area(
        &self,
        addr: u64,
        len: u64,
        fixed: bool,
        below_2_gib: bool,
    ) -> Result<u64, Errno> {
        if len > USER_END {
            return Err(Errno::ENOMEM);
        }
        let start = if fixed {
            addr
        } else if below_2_gib {
            let within = MAP_32BIT_RANGE;
            self.free_hint(addr, len, within.end)
                .or_else(|| self.bottom_up_gap(len, within.clone()))
                .ok_or(Errno::ENOMEM)?
        } else {
            self.free_hint(addr, len, USER_END)
                .or_else(|| self.top_down_gap(len))
                .or_else(|| self.bottom_up_gap(len, self.layout.legacy_mmap_base..USER_END))
                .ok_or(Errno::ENOMEM)?
        };
        if start > USER_END - len {
            return Err(Errno::ENOMEM);
        }
        if !is_page_aligned(start) {
            return Err(Errno::EINVAL);
        }
        Ok(start)
    }

    /// The hint (rounded down to a page, raised to [`MMAP_MIN_ADDR`]) if the
    /// range there is free and ends by `end`.
    fn free_hint(&self, hint: u64, len: u64, end: u64) -> Option<u64> {
        let hint = hint - hint % PAGE_SIZE;
        if hint == 0 {
            return None;
        }
        let hint = hint.max(MMAP_MIN_ADDR);
        (len <= end && hint <= end - len && self.is_free_for(hint..hint + len)).then_some(hint)
    }

    /// The highest free range of `len` bytes below the mmap base.
    fn top_down_gap(&self, len: u64) -> Option<u64> {
        let floor = USER_START;
        let mut gap_end = self.layout.mmap_base;
        for vma in self.vmas.starting_below(gap_end) {
            if gap_end >= vma.end && gap_end - vma.end >= len {
                return Some(gap_end - len);
            }
            gap_end = gap_end.min(vma.start_gap());
        }
        (gap_end >= floor && gap_end - floor >= len).then(|| gap_end - len)
    }

    /// The lowest free range of `len` bytes in `within`: the fallback when
    /// nothing fits below the mmap base (from the legacy mmap base), and
    /// MAP_32BIT's search.
    fn bottom_up_gap(&self, len: u64, within: core::ops::Range<u64>) -> Option<u64> {
        let mut gap_start = within.start;
        for vma in self.vmas.overlapping(within.clone()) {
            let gap_end = vma.start_gap();
            if gap_end >= gap_start && gap_end - gap_start >= len {
                return Some(gap_start);
            }
            gap_start = gap_start.max(vma.end);
        }
        (within.end >= gap_start && within.end - gap_start >= len).then_some(gap_start)
    }
}

/// Whether the kernel populates a new mapping at once, as Linux's
/// `do_mmap` decides: locked (MAP_LOCKED, or MCL_FUTURE in force), or
/// MAP_POPULATE without MAP_NONBLOCK; never a VMA locked on fault.
pub fn populates(flags: u64, vma: &Vma) -> bool {
    let asked = vma.attrs.locked || flags & (MAP_POPULATE | MAP_NONBLOCK) == MAP_POPULATE;
    asked && !vma.attrs.lock_on_fault
}

/// The errno of MAP_HUGETLB, as Linux's `ksys_mmap_pgoff` gives it with no
/// huge pages reserved: EINVAL for a file (not on hugetlbfs) or an unknown
/// page size, ENOMEM otherwise (no huge page to be had).
fn huge_page_refusal(flags: u64, anonymous: bool) -> Errno {
    let size = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    if !anonymous || !HUGE_PAGE_SIZES.contains(&size) {
        Errno::EINVAL
    } else {
        Errno::ENOMEM
    }
}

/// Sharing, backing and `may_write` of a file mapping, checked as Linux's
/// `do_mmap` checks them.
fn file_backing(
    mapping: FileMapping,
    page_offset: u64,
    len: u64,
    protection: Protection,
    flags: u64,
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
    if flags & MAP_GROWSDOWN != 0 {
        return Err(Errno::EINVAL);
    }
    let backing = Backing::File {
        file: mapping.file,
        page_offset,
    };
    Ok((sharing, backing, may_write))
}

/// Sharing and backing of an anonymous mapping. Linux 6.x accepts only
/// `MAP_SHARED` and `MAP_PRIVATE` here (`MAP_SHARED_VALIDATE` is EINVAL), and
/// MAP_GROWSDOWN only for private memory.
fn anonymous_backing(
    flags: u64,
    object: Option<FileMapping>,
) -> Result<(Sharing, Backing, bool), Errno> {
    match flags & MAP_TYPE {
        MAP_SHARED if flags & MAP_GROWSDOWN != 0 => Err(Errno::EINVAL),
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

//! What a page fault in user space means: which page to map with which
//! permissions, or which signal the process gets. The kernel carries the
//! answer out (it owns the frames and the page cache); the rules live here.
//!
//! Linux x86_64 semantics: an access outside every VMA, or one the VMA's
//! protection forbids, is SIGSEGV. Any of read, write or exec permission makes
//! a page readable (x86 cannot map write- or exec-only pages). Private file
//! pages are copy-on-write: a read fault maps the file's page without write
//! permission, and a later write to it asks for a private copy. Private
//! anonymous pages start as fresh zeroed frames. Whether a file page lies
//! beyond the end of the file (SIGBUS) only the kernel knows.
//!
//! A write to a page that is mapped without W, in a VMA that allows writing,
//! means the VMA gained PROT_WRITE after the page was mapped (mprotect never
//! grants W to present entries) or the page is copy-on-write. In a shared
//! mapping the page itself becomes writable — stores belong to the object;
//! in a private one the kernel copies it, or makes it writable in place when
//! no one else can see the frame (Linux's `do_wp_page` reuse).

use super::{AddressSpace, FilePage};
use crate::frame::PAGE_SIZE;
use crate::vma::{Backing, FileRef, Protection, Sharing, Vma};
use crate::walk::PagePermissions;

/// The kind of access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAccess {
    Read,
    Write,
    Execute,
}

/// The shared page a mapping's page comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageSource {
    /// A page of a file, in the page cache.
    File(FilePage),
    /// A page of a shared anonymous object (`MAP_SHARED | MAP_ANONYMOUS`).
    SharedAnonymous { object: FileRef, index: u64 },
}

/// What the kernel must map at `page` to resolve a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultResolution {
    /// A fresh zero-filled frame owned by this mapping alone.
    ZeroFilled {
        page: u64,
        permissions: PagePermissions,
    },
    /// The shared page itself: stores through the mapping land in it (with
    /// `permissions.writable`).
    SharedPage {
        page: u64,
        source: PageSource,
        permissions: PagePermissions,
    },
    /// For a write, a private copy of the file page; for a read or execute,
    /// the file page itself mapped without write permission until the first
    /// write (copy-on-write).
    PrivateFilePage {
        page: u64,
        source: FilePage,
        permissions: PagePermissions,
    },
    /// A shared mapping's page is mapped without W but the VMA allows
    /// writing: give the present entry write permission, keeping its frame.
    GrantWrite {
        page: u64,
        permissions: PagePermissions,
    },
    /// A private mapping's page is mapped read-only but the VMA allows
    /// writing: replace it with a private copy of its current contents
    /// (copy-on-write), or, if the frame is this mapping's alone, make the
    /// entry writable in place.
    CopyOnWrite {
        page: u64,
        /// The file page a private file mapping shows here: a copy stands
        /// for it until truncation takes the page away.
        file_page: Option<FilePage>,
        permissions: PagePermissions,
    },
    /// The entry already allows the access (a stale TLB entry faulted):
    /// nothing to map, the access is retried.
    Spurious { page: u64 },
}

/// The fault cannot be resolved: the process gets SIGSEGV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentationFault;

impl AddressSpace {
    /// Decides how to resolve a fault at `addr`. `present` says whether the
    /// page-table entry was present (a protection fault) or not. A fault just
    /// below a MAP_GROWSDOWN VMA first extends it down to the page (Linux's
    /// `expand_stack`), where that is allowed.
    pub fn resolve_fault(
        &mut self,
        addr: u64,
        access: FaultAccess,
        present: bool,
    ) -> Result<FaultResolution, SegmentationFault> {
        if self.find_vma(addr).is_none() {
            self.grow_down_to(addr).ok_or(SegmentationFault)?;
        }
        let vma = self.find_vma(addr).ok_or(SegmentationFault)?;
        if !allows(vma, access) {
            return Err(SegmentationFault);
        }
        let page = addr & !(PAGE_SIZE - 1);
        let full = vma.page_permissions();
        let read_only = PagePermissions {
            writable: false,
            ..full
        };
        Ok(match (vma.attrs.sharing, vma.page_source(page), present) {
            // Present and allowed: only a write can lack a permission (any
            // accessible entry reads, and mprotect sets X and NX itself).
            (_, _, true) if access != FaultAccess::Write => FaultResolution::Spurious { page },
            (Sharing::Shared, _, true) => FaultResolution::GrantWrite {
                page,
                permissions: full,
            },
            (_, source, true) => FaultResolution::CopyOnWrite {
                page,
                file_page: match source {
                    Some(PageSource::File(file_page)) => Some(file_page),
                    _ => None,
                },
                permissions: full,
            },
            (Sharing::Shared, Some(source), false) => FaultResolution::SharedPage {
                page,
                source,
                permissions: full,
            },
            (_, Some(PageSource::File(source)), false) => FaultResolution::PrivateFilePage {
                page,
                source,
                permissions: if access == FaultAccess::Write {
                    full
                } else {
                    read_only
                },
            },
            (_, _, false) => FaultResolution::ZeroFilled {
                page,
                permissions: full,
            },
        })
    }
}

impl AddressSpace {
    /// Extends the MAP_GROWSDOWN VMA above `addr` down to its page, as
    /// Linux's `expand_downwards` does: not below `MMAP_MIN_ADDR`, not to
    /// within the stack guard gap of an accessible VMA below, and not
    /// beyond the stack size limit. `None` if there is no such VMA or it
    /// may not grow.
    fn grow_down_to(&mut self, addr: u64) -> Option<()> {
        let page = addr & !(PAGE_SIZE - 1);
        let above = self.vmas.first_ending_after(addr)?.clone();
        if !above.attrs.grows_down || page < super::map::MMAP_MIN_ADDR {
            return None;
        }
        if let Some(below) = self.vmas.starting_below(above.start).next()
            && (below.end > page
                || (!below.attrs.grows_down
                    && !below.attrs.protection.is_empty()
                    && page - below.end < STACK_GUARD_GAP))
        {
            return None;
        }
        if above.end - page > self.stack_limit {
            return None;
        }
        self.vmas.remove_range(above.range());
        self.vmas
            .insert(Vma {
                start: page,
                ..above
            })
            .expect("the grown VMA fits where it was and below");
        Some(())
    }
}

impl Vma {
    /// The shared page that backs `page` of this VMA: a file page or a page
    /// of a shared anonymous object. `None` for private anonymous memory.
    pub fn page_source(&self, page: u64) -> Option<PageSource> {
        match &self.attrs.backing {
            Backing::Anonymous => None,
            Backing::SharedAnonymous {
                object,
                page_offset,
            } => Some(PageSource::SharedAnonymous {
                object: object.clone(),
                index: page_offset + (page - self.start) / PAGE_SIZE,
            }),
            Backing::File { .. } => self
                .file_page(page)
                .map(|(file, index)| PageSource::File(FilePage { file, index })),
        }
    }
}

/// What a MAP_GROWSDOWN VMA keeps free below it (Linux's
/// `stack_guard_gap`: 256 pages).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// Whether the VMA's protection permits `access` (x86: any permission reads).
fn allows(vma: &Vma, access: FaultAccess) -> bool {
    let protection = vma.attrs.protection;
    match access {
        FaultAccess::Read => !protection.is_empty(),
        FaultAccess::Write => protection.contains(Protection::WRITE),
        FaultAccess::Execute => protection.contains(Protection::EXEC),
    }
}

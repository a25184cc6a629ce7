//! mprotect.

use abi::Errno;
use abi::mman::{PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE};
use core::ops::Range;

use super::{AddressSpace, Machine, is_page_aligned, page_align_up};
use crate::frame::{FrameAlloc, PhysAccess};
use crate::vma::{Protection, Vma, VmaAttrs};
use crate::walk::{PagePermissions, TlbInvalidate};

impl Vma {
    /// The most a page-table entry of this VMA may allow. Whether a private
    /// page is actually writable is the fault handler's copy-on-write call.
    pub fn page_permissions(&self) -> PagePermissions {
        let protection = self.attrs.protection;
        PagePermissions {
            accessible: !protection.is_empty(),
            writable: protection.contains(Protection::WRITE),
            executable: protection.contains(Protection::EXEC),
        }
    }
}

impl AddressSpace {
    /// mprotect(2). Like Linux, VMAs before the first hole (or the first VMA
    /// that refuses the change) are changed even when an error is returned.
    pub fn mprotect<P: PhysAccess, F: FrameAlloc, T: TlbInvalidate>(
        &mut self,
        mut addr: u64,
        len: u64,
        prot: u32,
        machine: &mut Machine<'_, P, F, T>,
    ) -> Result<(), Errno> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !grows;
        if grows == PROT_GROWSDOWN | PROT_GROWSUP || !is_page_aligned(addr) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = page_align_up(len)
            .and_then(|len| addr.checked_add(len))
            .filter(|&end| end > addr)
            .ok_or(Errno::ENOMEM)?;
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let first = self
            .vmas
            .first_ending_after(addr)
            .filter(|vma| vma.start < end)
            .ok_or(Errno::ENOMEM)?;
        match grows {
            PROT_GROWSDOWN if !first.attrs.grows_down => return Err(Errno::EINVAL),
            PROT_GROWSDOWN => addr = first.start,
            PROT_GROWSUP if first.start > addr => return Err(Errno::ENOMEM),
            PROT_GROWSUP => return Err(Errno::EINVAL),
            _ => {}
        }
        let protection = Protection::from_bits_truncate(prot);
        let (changeable, outcome) = self.changeable_prefix(addr..end, |attrs| {
            if protection.contains(Protection::WRITE) && !attrs.may_write {
                Err(Errno::EACCES)
            } else {
                Ok(())
            }
        });
        if !changeable.is_empty() {
            self.vmas
                .update_range(changeable.clone(), |attrs| attrs.protection = protection);
            let permissions = self
                .vmas
                .find(changeable.start)
                .expect("just updated")
                .page_permissions();
            self.walker(machine.phys)
                .change_protection(changeable, permissions)
                .invalidate(machine.tlb);
        }
        outcome
    }

    /// The part of `range` that Linux's VMA loops (mprotect, mlock) change:
    /// from `range.start` through contiguous VMAs that `accept`, stopping at
    /// the first hole (ENOMEM) or refusal. Returns that part and the result
    /// the system call reports.
    pub(super) fn changeable_prefix(
        &self,
        range: Range<u64>,
        accept: impl Fn(&VmaAttrs) -> Result<(), Errno>,
    ) -> (Range<u64>, Result<(), Errno>) {
        let mut reached = range.start;
        for vma in self.vmas.overlapping(range.clone()) {
            if vma.start > reached {
                break;
            }
            if let Err(errno) = accept(&vma.attrs) {
                return (range.start..reached, Err(errno));
            }
            reached = vma.end.min(range.end);
        }
        let outcome = if reached < range.end {
            Err(Errno::ENOMEM)
        } else {
            Ok(())
        };
        (range.start..reached, outcome)
    }
}

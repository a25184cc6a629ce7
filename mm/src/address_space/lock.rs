//! mlock, mlock2, munlock, mlockall, munlockall. Locking only marks VMAs;
//! faulting the pages in (and keeping them resident) is the kernel's part,
//! over the ranges [`AddressSpace::population`] lists.

use abi::Errno;
use abi::mman::{MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT};
use alloc::vec::Vec;
use core::ops::Range;

use super::AddressSpace;
use super::fault::FaultAccess;
use crate::frame::PAGE_SIZE;
use crate::vma::{Protection, Sharing};

/// A lock state for the VMAs a call changes: unlocked, locked with every
/// page faulted in, or locked as pages fault in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lock {
    Unlocked,
    Populated,
    OnFault,
}

impl AddressSpace {
    /// mlock(2): locks the pages touching `[addr, addr + len)`; the kernel
    /// then faults them in.
    pub fn mlock(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.set_locked(addr, len, Lock::Populated)
    }

    /// mlock2(2): mlock, or with `MLOCK_ONFAULT` a lock that takes pages as
    /// they fault in. Any other flag is EINVAL.
    pub fn mlock2(&mut self, addr: u64, len: u64, flags: u32) -> Result<(), Errno> {
        match flags {
            0 => self.set_locked(addr, len, Lock::Populated),
            MLOCK_ONFAULT => self.set_locked(addr, len, Lock::OnFault),
            _ => Err(Errno::EINVAL),
        }
    }

    /// munlock(2): unlocks the pages touching `[addr, addr + len)`.
    pub fn munlock(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.set_locked(addr, len, Lock::Unlocked)
    }

    /// mlockall(2), as Linux's `apply_mlockall_flags`: `MCL_FUTURE` decides
    /// whether later mappings are locked (every call resets it), and unless
    /// `MCL_FUTURE` comes without `MCL_CURRENT`, every current VMA is locked
    /// (`MCL_CURRENT`) or unlocked. `MCL_ONFAULT` makes the locks take pages
    /// as they fault in.
    pub fn mlockall(&mut self, flags: u32) -> Result<(), Errno> {
        let known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
        if flags == 0 || flags & !known != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        let on_fault = flags & MCL_ONFAULT != 0;
        self.lock_new_mappings = flags & MCL_FUTURE != 0;
        self.lock_new_on_fault = self.lock_new_mappings && on_fault;
        let current = flags & MCL_CURRENT != 0;
        if current || !self.lock_new_mappings {
            let lock = match (current, on_fault) {
                (false, _) => Lock::Unlocked,
                (true, false) => Lock::Populated,
                (true, true) => Lock::OnFault,
            };
            self.vmas.update_all(|attrs| lock.apply(attrs));
        }
        Ok(())
    }

    /// munlockall(2).
    pub fn munlockall(&mut self) {
        self.lock_new_mappings = false;
        self.lock_new_on_fault = false;
        self.vmas.update_all(|attrs| Lock::Unlocked.apply(attrs));
    }

    /// The parts of `range` the kernel faults in to populate it (Linux's
    /// `populate_vma_page_range`), in address order, with the access to
    /// fault them with: a write for a writable private VMA (so the pages are
    /// its own copies from the start, as Linux's FOLL_WRITE makes them), a
    /// read otherwise, and `None` for a PROT_NONE VMA, which cannot be
    /// populated (Linux's GUP refuses it: mlock says ENOMEM). VMAs locked on
    /// fault are left out: there is nothing to do for them.
    pub fn population(&self, range: Range<u64>) -> Vec<(Range<u64>, Option<FaultAccess>)> {
        self.vmas
            .overlapping(range.clone())
            .filter(|vma| !vma.attrs.lock_on_fault)
            .map(|vma| {
                let protection = vma.attrs.protection;
                let access = if protection.is_empty() {
                    None
                } else if vma.attrs.sharing == Sharing::Private
                    && protection.contains(Protection::WRITE)
                {
                    Some(FaultAccess::Write)
                } else {
                    Some(FaultAccess::Read)
                };
                (vma.start.max(range.start)..vma.end.min(range.end), access)
            })
            .collect()
    }

    /// Linux's `do_mlock` range widening and `apply_vma_lock_flags`: the range
    /// is widened to whole pages (with wrapping arithmetic, as in C), and VMAs
    /// up to the first hole are changed even when ENOMEM is returned.
    fn set_locked(&mut self, addr: u64, len: u64, lock: Lock) -> Result<(), Errno> {
        let start = addr - addr % PAGE_SIZE;
        let len = len
            .wrapping_add(addr % PAGE_SIZE)
            .wrapping_add(PAGE_SIZE - 1)
            & !(PAGE_SIZE - 1);
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        if self.vmas.find(start).is_none() {
            return Err(Errno::ENOMEM);
        }
        let (changeable, outcome) = self.changeable_prefix(start..end, |_| Ok(()));
        self.vmas
            .update_range(changeable, |attrs| lock.apply(attrs));
        outcome
    }
}

impl Lock {
    fn apply(self, attrs: &mut crate::vma::VmaAttrs) {
        attrs.locked = self != Lock::Unlocked;
        attrs.lock_on_fault = self == Lock::OnFault;
    }
}

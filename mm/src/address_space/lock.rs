//! mlock, munlock, mlockall, munlockall. Locking only marks VMAs; faulting the
//! pages in (and keeping them resident) is the kernel's part.

use abi::Errno;
use abi::mman::{MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT};

use super::AddressSpace;
use crate::frame::PAGE_SIZE;

impl AddressSpace {
    /// mlock(2): locks the pages touching `[addr, addr + len)`.
    pub fn mlock(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.set_locked(addr, len, true)
    }

    /// munlock(2): unlocks the pages touching `[addr, addr + len)`.
    pub fn munlock(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.set_locked(addr, len, false)
    }

    /// mlockall(2). As in Linux, any call without `MCL_FUTURE` alone sets the
    /// lock state of every current VMA to whether `MCL_CURRENT` is given.
    pub fn mlockall(&mut self, flags: u32) -> Result<(), Errno> {
        let known = MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT;
        if flags == 0 || flags & !known != 0 || flags == MCL_ONFAULT {
            return Err(Errno::EINVAL);
        }
        self.lock_new_mappings = flags & MCL_FUTURE != 0;
        if flags != MCL_FUTURE {
            let locked = flags & MCL_CURRENT != 0;
            self.vmas.update_all(|attrs| attrs.locked = locked);
        }
        Ok(())
    }

    /// munlockall(2).
    pub fn munlockall(&mut self) {
        self.lock_new_mappings = false;
        self.vmas.update_all(|attrs| attrs.locked = false);
    }

    /// Linux's `do_mlock` range widening and `apply_vma_lock_flags`: the range
    /// is widened to whole pages (with wrapping arithmetic, as in C), and VMAs
    /// up to the first hole are changed even when ENOMEM is returned.
    fn set_locked(&mut self, addr: u64, len: u64, locked: bool) -> Result<(), Errno> {
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
            .update_range(changeable, |attrs| attrs.locked = locked);
        outcome
    }
}

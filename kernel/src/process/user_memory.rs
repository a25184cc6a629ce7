//! Copies between the kernel and a process's memory.
//!
//! The kernel never dereferences a user address. It translates each page
//! through the process's page tables (faulting it in first if the VMA allows
//! the access) and copies through the direct map, so a bad pointer from user
//! space is `EFAULT`, never a kernel fault, and SMAP can stay on.

use super::fault::{FAULT_PRESENT, FAULT_WRITE};
use super::memory::UserMemory;
use crate::block::PhysSegment;
use crate::memory::machine::DirectMap;
use crate::memory::phys_to_virt;
use abi::Errno;
use alloc::vec::Vec;
use mm::address_space::USER_END;
use mm::frame::PAGE_SIZE;
use mm::walk::Leaf;
use x86_64::PhysAddr;

/// What the kernel is about to do with user memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl UserMemory {
    /// The frame behind the user page containing `addr`, mapped for `access`,
    /// faulting the page in the way a user access would.
    fn user_frame(&mut self, addr: u64, access: Access) -> Result<PhysAddr, Errno> {
        if addr >= USER_END {
            return Err(Errno::EFAULT);
        }
        let page = addr & !(PAGE_SIZE - 1);
        let usable = |leaf: &Leaf| {
            leaf.permissions.accessible && (access == Access::Read || leaf.permissions.writable)
        };
        let leaf = self.address_space.walker(&DirectMap).lookup(page);
        if let Some(leaf) = leaf.filter(usable) {
            return Ok(leaf.frame);
        }
        let present = if leaf.is_some() { FAULT_PRESENT } else { 0 };
        let write = if access == Access::Write {
            FAULT_WRITE
        } else {
            0
        };
        self.handle_page_fault(addr, present | write)
            .map_err(|_| Errno::EFAULT)?;
        let leaf = self.address_space.walker(&DirectMap).lookup(page);
        leaf.filter(usable)
            .map(|leaf| leaf.frame)
            .ok_or(Errno::EFAULT)
    }

    /// Copies `buffer.len()` bytes from user address `addr`.
    #[allow(unsafe_code)]
    pub fn copy_from_user(&mut self, addr: u64, buffer: &mut [u8]) -> Result<(), Errno> {
        self.for_each_user_chunk(addr, buffer.len(), Access::Read, |kernel, offset, len| {
            // SAFETY: `kernel` points into a mapped user frame with `len` bytes left.
            let source = unsafe { core::slice::from_raw_parts(kernel, len) };
            buffer[offset..offset + len].copy_from_slice(source);
        })
    }

    /// Copies `data` to user address `addr`.
    /// The stores land in the user's pages through the direct map, so each
    /// page's PTE is marked accessed and dirty as the CPU would mark it: a
    /// `read()` into a shared file mapping dirties the file's page.
    #[allow(unsafe_code)]
    pub fn copy_to_user(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.for_each_user_chunk(addr, data.len(), Access::Write, |kernel, offset, len| {
            // SAFETY: `kernel` points into a mapped, writable user frame with
            // `len` bytes left.
            let target = unsafe { core::slice::from_raw_parts_mut(kernel, len) };
            target.copy_from_slice(&data[offset..offset + len]);
        })?;
        let mut walker = self.address_space.walker(&DirectMap);
        let end = addr + data.len() as u64;
        for page in (addr & !(PAGE_SIZE - 1)..end).step_by(PAGE_SIZE as usize) {
            walker.record_store(page);
        }
        Ok(())
    }

    /// A NUL-terminated string from user memory (a path), without its NUL.
    pub fn copy_string_from_user(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut string = Vec::new();
        let mut cursor = addr;
        loop {
            let in_page = (PAGE_SIZE - cursor % PAGE_SIZE) as usize;
            let mut chunk = [0u8; PAGE_SIZE as usize];
            self.copy_from_user(cursor, &mut chunk[..in_page])?;
            if let Some(nul) = chunk[..in_page].iter().position(|&byte| byte == 0) {
                string.extend_from_slice(&chunk[..nul]);
                return Ok(string);
            }
            string.extend_from_slice(&chunk[..in_page]);
            if string.len() >= max {
                return Err(Errno::ENAMETOOLONG);
            }
            cursor += in_page as u64;
        }
    }

    /// The physical memory behind `addr..addr + len`, one segment per page
    /// piece, after faulting in every page as an access of the given kind
    /// would: `EFAULT` if any page is not accessible.
    ///
    /// The frames stay mapped while the calling system call runs: only the
    /// calls of the process running in this memory unmap its pages (one
    /// thread per address space, and a vfork parent waits), no other
    /// process runs while the device is waited for (the wait halts, it does
    /// not sleep), and nothing reclaims mapped pages — so a device may read
    /// or write them until the call returns.
    pub fn user_segments(
        &mut self,
        addr: u64,
        len: usize,
        access: Access,
    ) -> Result<Vec<PhysSegment>, Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mut segments = Vec::new();
        let mut cursor = addr;
        while cursor < end {
            let in_page = (PAGE_SIZE - cursor % PAGE_SIZE).min(end - cursor);
            let frame = self.user_frame(cursor, access)?;
            segments.push(PhysSegment {
                start: frame + cursor % PAGE_SIZE,
                len: in_page as usize,
            });
            cursor += in_page;
        }
        Ok(segments)
    }

    /// Calls `copy(kernel_pointer, offset, len)` for each page-sized piece of
    /// `addr..addr + len`, after checking the whole range is accessible.
    fn for_each_user_chunk(
        &mut self,
        addr: u64,
        len: usize,
        access: Access,
        mut copy: impl FnMut(*mut u8, usize, usize),
    ) -> Result<(), Errno> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        // Most copies (a timespec, a stat) stay within one page: no list.
        if len > 0 && addr / PAGE_SIZE == (end - 1) / PAGE_SIZE {
            let frame = self.user_frame(addr, access)?;
            copy(phys_to_virt(frame + addr % PAGE_SIZE).as_mut_ptr(), 0, len);
            return Ok(());
        }
        let mut offset = 0;
        for segment in self.user_segments(addr, len, access)? {
            copy(
                phys_to_virt(segment.start).as_mut_ptr(),
                offset,
                segment.len,
            );
            offset += segment.len;
        }
        Ok(())
    }
}

/// Copies `buffer.len()` bytes from `addr` in the running process's memory.
pub fn read_user(addr: u64, buffer: &mut [u8]) -> Result<(), Errno> {
    crate::sched::current_process()
        .memory()
        .lock()
        .copy_from_user(addr, buffer)
}

/// Copies `data` to `addr` in the running process's memory.
pub fn write_user(addr: u64, data: &[u8]) -> Result<(), Errno> {
    crate::sched::current_process()
        .memory()
        .lock()
        .copy_to_user(addr, data)
}

/// A little-endian `u64` at `addr` in the running process's memory.
pub fn read_user_u64(addr: u64) -> Result<u64, Errno> {
    let mut bytes = [0u8; 8];
    read_user(addr, &mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

/// A NUL-terminated string at `addr` in the running process's memory,
/// without its NUL: ENAMETOOLONG past `max` bytes.
pub fn read_user_string(addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    crate::sched::current_process()
        .memory()
        .lock()
        .copy_string_from_user(addr, max)
}

//! Ring-3 tests: small hand-assembled user programs, run as processes.

use super::memory::UserMemory;
use super::{Exit, start_kernel_child, wait_for_kernel_child};
use crate::memory::frames::alloc_zeroed_frame;
use crate::memory::machine::{DirectMap, HardwareTlb, KernelFrames};
use crate::memory::phys_to_virt;
use abi::Errno;
use abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MS_SYNC, PROT_EXEC, PROT_READ, PROT_WRITE};
use abi::signal::SIGSEGV;
use arch::trap::TrapFrame;
use mm::address_space::MmapRequest;
use mm::walk::PagePermissions;

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x50_0000;

fn mmap_fixed(memory: &mut UserMemory, addr: u64, prot: u32) {
    let request = MmapRequest {
        addr,
        len: 4096,
        prot,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        file: None,
        offset: 0,
    };
    assert_eq!(memory.mmap(request), Ok(addr));
}

/// Runs `code` (at most a page) in a fresh process, the kernel's child,
/// and says how it ended.
#[allow(unsafe_code)]
fn run_code(code: &[u8]) -> Exit {
    let mut memory = UserMemory::new().expect("memory for a process");
    mmap_fixed(&mut memory, CODE, PROT_READ | PROT_EXEC);
    mmap_fixed(&mut memory, DATA, PROT_READ | PROT_WRITE);
    let frame = alloc_zeroed_frame().expect("a frame");
    // SAFETY: a fresh frame of ours; `code` fits in it.
    unsafe {
        let target = phys_to_virt(frame).as_mut_ptr::<u8>();
        core::ptr::copy_nonoverlapping(code.as_ptr(), target, code.len());
    }
    let executable = PagePermissions {
        accessible: true,
        writable: false,
        executable: true,
    };
    let mut walker = memory.address_space.walker(&DirectMap);
    // SAFETY: a fresh frame of the test's own, mapped as the process's code
    // and freed with its address space.
    unsafe { walker.map_page(CODE, frame, executable, &mut KernelFrames) }
        .expect("mapping the code page");
    let pid = start_kernel_child("test", memory, &TrapFrame::new_user(CODE, DATA + 4096))
        .expect("a process");
    wait_for_kernel_child(pid)
}

/// How a process killed by a fault at `address` ended.
fn segfault_at(address: u64) -> Exit {
    Exit::Killed {
        signal: SIGSEGV,
        fault_address: Some(address),
    }
}

const SYSCALL: [u8; 2] = [0x0f, 0x05];
const EXIT_WITH_EAX: [u8; 9] = [0x89, 0xc7, 0xb8, 60, 0, 0, 0, 0x0f, 0x05];

fn program(parts: &[&[u8]]) -> alloc::vec::Vec<u8> {
    parts.concat()
}

crate::kernel_test!(ring3_exit_status_reaches_the_kernel, {
    // mov edi, 42; mov eax, 60; syscall
    let code = program(&[&[0xbf, 42, 0, 0, 0, 0xb8, 60, 0, 0, 0], &SYSCALL]);
    assert_eq!(run_code(&code), Exit::Status(42));
});

crate::kernel_test!(ring3_write_reaches_the_console_and_returns_its_count, {
    let message = b"hello from ring 3\n";
    let code = program(&[
        &[0x48, 0x8d, 0x35, 26, 0, 0, 0], // lea rsi, [rip + 26]: the message
        &[0xbf, 1, 0, 0, 0],              // mov edi, 1
        &[0xba, message.len() as u8, 0, 0, 0],
        &[0xb8, 1, 0, 0, 0], // mov eax, SYS_write
        &SYSCALL,
        &EXIT_WITH_EAX,
        message,
    ]);
    assert_eq!(run_code(&code), Exit::Status(message.len() as u8));
});

crate::kernel_test!(
    write_from_a_bad_pointer_is_efault_and_the_process_goes_on,
    {
        let code = program(&[
            &[0xbe, 0x10, 0, 0, 0], // mov esi, 0x10 (unmapped)
            &[0xbf, 1, 0, 0, 0],
            &[0xba, 5, 0, 0, 0],
            &[0xb8, 1, 0, 0, 0],
            &SYSCALL,
            &EXIT_WITH_EAX,
        ]);
        assert_eq!(
            run_code(&code),
            Exit::Status(Errno::EFAULT.to_syscall_return() as u8)
        );
    }
);

crate::kernel_test!(unknown_syscall_is_enosys, {
    let code = program(&[&[0xb8, 0xe7, 0x03, 0, 0], &SYSCALL, &EXIT_WITH_EAX]);
    assert_eq!(
        run_code(&code),
        Exit::Status(Errno::ENOSYS.to_syscall_return() as u8)
    );
});

crate::kernel_test!(anonymous_page_is_zero_filled_on_first_touch, {
    let code = program(&[
        &[0x8b, 0x3c, 0x25, 0, 0, 0x50, 0], // mov edi, [DATA]: reads zero
        &[0x83, 0xc7, 7],                   // add edi, 7
        &[0x89, 0x3c, 0x25, 4, 0, 0x50, 0], // mov [DATA + 4], edi
        &[0x8b, 0x3c, 0x25, 4, 0, 0x50, 0], // mov edi, [DATA + 4]
        &[0xb8, 60, 0, 0, 0],
        &SYSCALL,
    ]);
    assert_eq!(run_code(&code), Exit::Status(7));
});

crate::kernel_test!(null_dereference_is_sigsegv_at_address_zero, {
    let code = program(&[&[0x8b, 0x04, 0x25, 0, 0, 0, 0]]); // mov eax, [0]
    assert_eq!(run_code(&code), segfault_at(0));
});

crate::kernel_test!(write_to_read_only_code_is_sigsegv, {
    let code = program(&[&[0xc7, 0x04, 0x25, 0, 0, 0x40, 0, 1, 0, 0, 0]]); // mov dword [CODE], 1
    assert_eq!(run_code(&code), segfault_at(CODE));
});

crate::kernel_test!(jump_into_non_executable_data_is_sigsegv, {
    let code = program(&[&[0xb8, 0, 0, 0x50, 0, 0xff, 0xe0]]); // mov eax, DATA; jmp rax
    assert_eq!(run_code(&code), segfault_at(DATA));
});

crate::kernel_test!(process_teardown_returns_every_frame, {
    // store to DATA; exit(0)
    let code = program(&[
        &[0xc7, 0x04, 0x25, 0, 0, 0x50, 0, 1, 0, 0, 0],
        &[0xbf, 0, 0, 0, 0, 0xb8, 60, 0, 0, 0],
        &SYSCALL,
    ]);
    // The first run may build kernel page tables for a new stack slot.
    assert_eq!(run_code(&code), Exit::Status(0));
    let before = crate::memory::frames::free_count();
    assert_eq!(run_code(&code), Exit::Status(0));
    assert_eq!(crate::memory::frames::free_count(), before);
});

crate::kernel_test!(uname_fills_an_untouched_user_buffer, {
    let code = program(&[
        &[0xbf, 0, 0, 0x50, 0], // mov edi, DATA (never touched: faulted in by the copy)
        &[0xb8, 63, 0, 0, 0],   // mov eax, SYS_uname
        &SYSCALL,
        &[0x0f, 0xb6, 0x3c, 0x25, 0x82, 0, 0x50, 0], // movzx edi, byte [DATA + 130]: release[0]
        &[0xb8, 60, 0, 0, 0],
        &SYSCALL,
    ]);
    assert_eq!(run_code(&code), Exit::Status(b'6'));
});

/// A process's memory with `pages` private anonymous pages at [`DATA`].
fn memory_with_data(pages: u64) -> UserMemory {
    let mut memory = UserMemory::new().expect("memory for a process");
    let request = MmapRequest {
        addr: DATA,
        len: pages * 4096,
        prot: PROT_READ | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        file: None,
        offset: 0,
    };
    assert_eq!(memory.mmap(request), Ok(DATA));
    memory
}

// msync's rules through a real process's memory (lab 01): EINVAL for a start
// inside a page, ENOMEM for a range running into a hole, 0 otherwise.
crate::kernel_test!(msync_in_a_process_checks_its_arguments_and_finds_holes, {
    let memory = memory_with_data(2);
    let space = &memory.address_space;
    assert_eq!(
        space.msync(DATA + 1, 4096, MS_SYNC).result,
        Err(Errno::EINVAL)
    );
    assert_eq!(
        space.msync(DATA, 3 * 4096, MS_SYNC).result,
        Err(Errno::ENOMEM)
    );
    assert_eq!(space.msync(DATA, 2 * 4096, 0).result, Ok(()));
});

// The dirty-bit walker on the real page tables (lab 02): a store the kernel
// makes into user memory sets D, a scan finds it, clearing hands it out once
// the TLB entry is gone, and a second scan finds nothing.
crate::kernel_test!(a_store_into_user_memory_is_found_by_a_dirty_scan, {
    let mut memory = memory_with_data(2);
    memory
        .copy_to_user(DATA + 4096 + 8, b"dirty")
        .expect("a store into the mapping");
    let range = DATA..DATA + 2 * 4096;
    let mut walker = memory.address_space.walker(&DirectMap);
    assert_eq!(walker.find_dirty(range.clone()), [DATA + 4096]);
    let cleared = walker
        .clear_dirty(range.clone())
        .invalidate_tlb(&mut HardwareTlb);
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].page, DATA + 4096);
    assert!(walker.find_dirty(range).is_empty());
});

// fork's copy-on-write (lab 05): the child maps the parent's private page
// with the same frame, and neither may write it until the first store copies.
crate::kernel_test!(fork_maps_a_private_page_read_only_in_both_processes, {
    let mut memory = memory_with_data(1);
    memory
        .copy_to_user(DATA, b"parent")
        .expect("a store into the mapping");
    let child = memory.fork().expect("memory for the child");
    let parent_leaf = memory.address_space.walker(&DirectMap).lookup(DATA);
    let child_leaf = child.address_space.walker(&DirectMap).lookup(DATA);
    let (parent_leaf, child_leaf) = (parent_leaf.expect("mapped"), child_leaf.expect("copied"));
    assert_eq!(parent_leaf.frame, child_leaf.frame);
    assert!(!parent_leaf.permissions.writable && !child_leaf.permissions.writable);
});

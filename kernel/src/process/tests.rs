//! Ring-3 tests: small hand-assembled user programs, run as processes.

use super::memory::UserMemory;
use super::{Exit, start_kernel_child, wait_for_kernel_child};
use crate::memory::frames::alloc_zeroed_frame;
use crate::memory::machine::{DirectMap, KernelFrames};
use crate::memory::phys_to_virt;
use abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
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

use abi::Errno;

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

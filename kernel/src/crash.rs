//! Deliberate failures (`crash=KIND`), so that the runner can check that the
//! fault and panic reports are what a student debugging the kernel needs.

use crate::memory::phys_to_virt;
use crate::memory::stack::KernelStack;
use crate::process::fault::FAULT_WRITE;
use crate::process::memory::UserMemory;
use abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
use mm::address_space::MmapRequest;

/// Where the SMAP and SMEP checks map their user page.
const USER_PAGE: u64 = 0x40_0000;
/// `ret`: what the user page holds for the SMEP check.
const RET: u8 = 0xc3;

pub fn run(kind: &str) -> ! {
    log::info!("crashing on purpose: {kind}");
    match kind {
        "panic" => deliberate_panic(),
        "guard-page" => write_to_guard_page(),
        "stack-overflow" => overflow_the_stack(0),
        "smap" => read_a_user_page(),
        "smep" => run_a_user_page(),
        "kernel-text" => write_to_kernel_text(),
        _ => panic!("unknown crash kind {kind:?}"),
    }
}

#[inline(never)]
fn deliberate_panic() -> ! {
    panic!("deliberate panic (crash=panic)")
}

#[inline(never)]
#[allow(unsafe_code)]
fn write_to_guard_page() -> ! {
    let stack = KernelStack::new(1).expect("a stack");
    let guard = stack.guard_page().as_mut_ptr::<u64>();
    log::info!("writing to guard page {guard:p}");
    // SAFETY: deliberately unsound: the page is unmapped, so this write faults
    // and the fault handler reports it and stops the machine.
    unsafe { guard.write_volatile(0xdead) };
    unreachable!("the write to the guard page did not fault")
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn overflow_the_stack(depth: u64) -> ! {
    let mut frame = [depth; 64];
    core::hint::black_box(&mut frame);
    overflow_the_stack(depth + 1)
}

/// A user address space with one page at [`USER_PAGE`] holding `ret`,
/// mapped with `prot`, and the CPU running on its page tables.
#[allow(unsafe_code)]
fn switch_to_a_user_page(prot: u32) {
    let mut memory = UserMemory::new().expect("memory for the check");
    let request = MmapRequest {
        addr: USER_PAGE,
        len: 4096,
        prot: prot | PROT_WRITE,
        flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        file: None,
        offset: 0,
    };
    memory.mmap(request).expect("mapping the user page");
    memory
        .handle_page_fault(USER_PAGE, FAULT_WRITE)
        .expect("faulting the user page in");
    let frame = memory
        .address_space
        .walker(&crate::memory::machine::DirectMap)
        .lookup(USER_PAGE)
        .expect("the page just faulted in")
        .frame;
    // SAFETY: the frame is this address space's own page, reached through
    // the direct map; nothing else uses it.
    unsafe { phys_to_virt(frame).as_mut_ptr::<u8>().write(RET) };
    let root = memory.page_table_root();
    // The check ends the machine, so the address space is never torn down.
    core::mem::forget(memory);
    // SAFETY: a user address space's tables share the kernel half, which maps
    // this code, its stack and every kernel object, as the current ones do.
    unsafe { arch::paging::switch_table_root(root) };
}

#[inline(never)]
#[allow(unsafe_code)]
fn read_a_user_page() -> ! {
    switch_to_a_user_page(PROT_READ);
    log::info!("reading user page {USER_PAGE:#x} from the kernel");
    // SAFETY: deliberately unsound: SMAP makes this read fault, and the fault
    // handler reports it and stops the machine.
    let byte = unsafe { (USER_PAGE as *const u8).read_volatile() };
    unreachable!("the kernel read a user page ({byte:#x}): SMAP is off")
}

#[inline(never)]
#[allow(unsafe_code)]
fn run_a_user_page() -> ! {
    switch_to_a_user_page(PROT_READ | PROT_EXEC);
    log::info!("calling user page {USER_PAGE:#x} from the kernel");
    // SAFETY: deliberately unsound: SMEP makes the instruction fetch fault.
    let function: extern "C" fn() = unsafe { core::mem::transmute(USER_PAGE as *const ()) };
    function();
    unreachable!("the kernel ran a user page: SMEP is off")
}

#[inline(never)]
#[allow(unsafe_code)]
fn write_to_kernel_text() -> ! {
    let text = run as *const () as *mut u8;
    log::info!("writing to kernel text {text:p}");
    // SAFETY: deliberately unsound: the text is mapped read-only and CR0.WP
    // holds the kernel to that, so this write faults.
    unsafe { text.write_volatile(RET) };
    unreachable!("the kernel wrote its own text")
}

//! Deliberate failures (`crash=KIND`), so that the runner can check that the
//! fault and panic reports are what a student debugging the kernel needs.

use crate::memory::stack::KernelStack;

pub fn run(kind: &str) -> ! {
    log::info!("crashing on purpose: {kind}");
    match kind {
        "panic" => deliberate_panic(),
        "guard-page" => write_to_guard_page(),
        "stack-overflow" => overflow_the_stack(0),
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

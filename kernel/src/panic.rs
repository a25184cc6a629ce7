//! The panic handler: message, location, registers and a backtrace of return
//! addresses, which the host runner symbolises against the kernel ELF.

use crate::memory::{kernel_space, stack};
use core::panic::PanicInfo;

const MAX_FRAMES: usize = 32;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    arch::cpu::without_interrupts(|| {});
    match info.location() {
        Some(location) => arch::emergency_print!(
            "KERNEL PANIC at {}:{}:{}: {}\n",
            location.file(),
            location.line(),
            location.column(),
            info.message()
        ),
        None => arch::emergency_print!("KERNEL PANIC: {}\n", info.message()),
    }
    let rbp = arch::cpu::frame_pointer();
    arch::emergency_print!(
        "  RSP={:#018x} RBP={rbp:#018x}\n",
        arch::cpu::stack_pointer()
    );
    print_backtrace(0, rbp);
    crate::ktest::report_failure_if_testing();
    arch::qemu::exit(arch::qemu::ExitCode::Failure)
}

/// Whether `rbp` can be a frame of ours: aligned, on a kernel stack or in the
/// image's data (the boot stack), so that following it cannot fault.
fn plausible_frame(rbp: u64) -> bool {
    rbp.is_multiple_of(8) && (stack::in_stack_space(rbp) || kernel_space::image_data_contains(rbp))
}

/// Prints `rip` (if non-zero) and the return addresses found by following
/// the frame-pointer chain from `rbp`, one `  #N 0x...` line each.
#[allow(unsafe_code)]
pub fn print_backtrace(rip: u64, mut rbp: u64) {
    arch::emergency_print!("backtrace:\n");
    let mut index = 0;
    if rip != 0 {
        arch::emergency_print!("  #{index} {rip:#018x}\n");
        index += 1;
    }
    while index < MAX_FRAMES && rbp != 0 && plausible_frame(rbp) {
        // SAFETY: `rbp` is an aligned address on a mapped kernel stack (checked
        // above), where a frame stores the caller's rbp and the return address.
        let (caller_rbp, return_address) = unsafe {
            let frame = rbp as *const u64;
            (frame.read(), frame.add(1).read())
        };
        if return_address == 0 {
            break;
        }
        arch::emergency_print!("  #{index} {return_address:#018x}\n");
        index += 1;
        if caller_rbp <= rbp {
            break;
        }
        rbp = caller_rbp;
    }
    arch::emergency_print!("end of backtrace\n");
}

//! The kernel's trap handler: interrupts (the timer, the disk), exceptions
//! from user mode handed to the process, and a full report for an exception
//! in the kernel, which is always a kernel bug. On the way back to user
//! mode, the process's pending signals are delivered.

use crate::memory::stack::{INTERRUPT_STACK_PAGES, KernelStack, in_stack_space};
use arch::layout::KERNEL_IMAGE_BASE;
use arch::pic;
use arch::trap::{PAGE_FAULT, TrapFrame, vector_name};

const TIMER_IRQ: u8 = 0;

/// Loads the GDT and TSS with their interrupt stacks, routes the timer and
/// enables interrupts.
pub fn init_interrupts() {
    let stack = || {
        KernelStack::new(INTERRUPT_STACK_PAGES)
            .expect("no memory for interrupt stacks")
            .into_permanent()
    };
    arch::gdt::init(arch::gdt::InterruptStacks {
        double_fault: stack(),
        nmi: stack(),
        machine_check: stack(),
    });
    pic::init();
    crate::time::start_ticks();
    pic::unmask(TIMER_IRQ);
    crate::terminal::init();
    arch::cpu::enable_interrupts();
}

pub fn handle(frame: &mut TrapFrame) {
    match frame.vector {
        vector @ 32..48 => interrupt((vector - 32) as u8, frame.from_user()),
        _ if frame.from_user() => {
            // As a system call does: the process's work (a fault that reads
            // the file, a signal frame, an exit that waits for write-back)
            // may wait for the disk, which needs its interrupt.
            arch::cpu::enable_interrupts();
            crate::process::fault::user_exception(frame)
        }
        _ => fatal_exception(frame),
    }
    if frame.from_user() {
        arch::cpu::enable_interrupts();
        use crate::process::signal::{Verdict, deliver};
        // A trap returns with iretq whatever the verdict's path.
        if let Verdict::Exit(exit) = deliver(frame, None, arch::user::ReturnPath::Iret) {
            crate::process::exit_current(exit);
        }
    }
}

fn interrupt(irq: u8, from_user: bool) {
    if irq == arch::serial::COM1_IRQ {
        crate::terminal::on_serial_interrupt();
    }
    if irq == TIMER_IRQ {
        crate::time::on_tick();
    }
    crate::block::virtio_blk::handle_irq(irq);
    pic::end_of_interrupt(irq);
    if irq == TIMER_IRQ {
        crate::sched::on_timer_tick(from_user);
    }
}

fn fatal_exception(frame: &TrapFrame) -> ! {
    let (name, mnemonic) = vector_name(frame.vector);
    arch::emergency_print!(
        "EXCEPTION: {name} ({mnemonic}, vector {}), error code {:#x}\n",
        frame.vector,
        frame.error_code
    );
    if frame.vector == PAGE_FAULT {
        let address = arch::trap::page_fault_address();
        let code = frame.error_code;
        arch::emergency_print!(
            "  CR2={address:#018x} ({}, {}, {} mode)\n",
            if code & 0x10 != 0 {
                "instruction fetch"
            } else if code & 0x2 != 0 {
                "write"
            } else {
                "read"
            },
            if code & 0x1 != 0 {
                "protection violation"
            } else {
                "page not present"
            },
            if code & 0x4 != 0 { "user" } else { "kernel" },
        );
        let kernel_protection_fault = code & 0x5 == 0x1;
        if in_stack_space(address) && code & 0x1 == 0 {
            arch::emergency_print!(
                "  the address is in a kernel stack's guard page: stack overflow?\n"
            );
        } else if kernel_protection_fault && address < mm::address_space::USER_END {
            arch::emergency_print!(
                "  the address is a user page: SMAP forbids the kernel to read or write it and SMEP to run it (use the copy path)\n"
            );
        } else if kernel_protection_fault && code & 0x2 != 0 && address >= KERNEL_IMAGE_BASE {
            arch::emergency_print!(
                "  the address is in the kernel image, whose text and read-only data are not writable\n"
            );
        }
    }
    arch::emergency_print!("{frame}");
    crate::panic::print_backtrace(frame.rip, frame.rbp);
    crate::ktest::report_failure_if_testing();
    arch::qemu::exit(arch::qemu::ExitCode::Failure)
}

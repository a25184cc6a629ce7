//! The kernel binary: joins `arch` (hardware) and `mm` (memory-management
//! rules) into a running system.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod block;
mod cmdline;
mod console;
mod crash;
mod fs;
mod init;
mod ktest;
mod memory;
mod panic;
mod pci;
mod process;
mod sched;
mod syscall;
mod terminal;
mod time;
mod trap;

use arch::boot::BootInfo;
use cmdline::CommandLine;
use spin::Once;

arch::entry_point!(boot);

static COMMAND_LINE: Once<CommandLine> = Once::new();

/// Runs on the boot stack: traps, console, clock and memory, then moves to a
/// guarded kernel stack.
#[allow(unsafe_code)]
fn boot(boot: BootInfo) -> ! {
    arch::trap::set_handler(trap::handle);
    arch::trap::init();
    let command_line = COMMAND_LINE.call_once(|| CommandLine::parse(boot.command_line()));
    console::init(command_line.log_level);
    time::init();
    memory::init(&boot);
    let stack = memory::stack::KernelStack::new(memory::stack::MAIN_STACK_PAGES)
        .expect("no memory for the main kernel stack")
        .into_permanent();
    // SAFETY: a freshly mapped stack, used by nothing else, never freed.
    unsafe { arch::cpu::switch_stack(stack.as_u64(), main) }
}

/// Runs on the main kernel stack for the rest of the kernel's life.
extern "C" fn main() -> ! {
    sched::init();
    trap::init_interrupts();
    let features = arch::cpu::enable_features();
    arch::fpu::init();
    arch::user::init(syscall::handle);
    let command_line = COMMAND_LINE.get().expect("parsed at boot");
    print_banner(command_line);
    log::info!(
        "SMEP {}, SMAP {}",
        on_off(features.smep),
        on_off(features.smap)
    );
    block::init();
    if let Some(kind) = command_line.crash {
        crash::run(kind);
    }
    if let Some(filter) = command_line.test {
        if !block::disks().is_empty()
            && let Err(errno) = fs::mount_root(command_line.root_disk)
        {
            log::info!("tests run without a root file system: {errno}");
        }
        ktest::run_all(filter);
    }
    if block::disks().is_empty() {
        log::info!("no disk, so no init to run: shutting down");
        arch::qemu::exit(arch::qemu::ExitCode::Success)
    }
    init::run(command_line)
}

fn print_banner(command_line: &CommandLine) {
    let memory = memory::stats();
    println!(
        "msync-kernel {} (x86_64, PVH boot)",
        env!("CARGO_PKG_VERSION")
    );
    println!("command line: \"{}\"", command_line.raw);
    println!(
        "memory: {} KiB RAM, {} KiB usable, {} KiB free ({} frames), heap {} KiB",
        memory.ram_bytes / 1024,
        memory.usable_bytes / 1024,
        memory.free_frames * 4,
        memory.free_frames,
        memory.heap_bytes / 1024,
    );
    println!(
        "clock: TSC {} MHz, timer {} Hz, boot took {} us",
        time::tsc_hz() / 1_000_000,
        time::TICK_HZ,
        time::now_ns() / 1000
    );
}

fn on_off(enabled: bool) -> &'static str {
    if enabled {
        "on"
    } else {
        "off (not offered by this CPU)"
    }
}

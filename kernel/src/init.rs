//! Running the first user program, and shutting down when it ends: the
//! kernel's boot thread starts init (pid 1) and sleeps until init has
//! ended; whatever else still runs then is not waited for.

use crate::cmdline::CommandLine;
use crate::process::{self, Exit};
use alloc::vec::Vec;
use arch::qemu::{ExitCode, exit};

/// The environment init starts with.
const ENVIRONMENT: [&[u8]; 3] = [b"HOME=/", b"PATH=/sbin:/bin", b"TERM=vt100"];

/// Mounts the root, runs init to its end, writes everything back, and
/// exits QEMU: success only when init exited with status 0.
pub fn run(command_line: &CommandLine) -> ! {
    let fs = match crate::fs::mount_root(command_line.root_disk) {
        Ok(fs) => fs,
        Err(errno) => {
            crate::println!(
                "cannot mount the root file system on vd{}: {errno}",
                char::from(b'a' + command_line.root_disk as u8)
            );
            exit(ExitCode::Failure)
        }
    };
    let path = command_line.init.as_bytes();
    let argv: Vec<&[u8]> = core::iter::once(path)
        .chain(
            command_line
                .init_args
                .split_ascii_whitespace()
                .map(str::as_bytes),
        )
        .collect();
    let exit_status = match process::start_init(fs, path, &argv, &ENVIRONMENT) {
        Ok(pid) => Some(process::wait_for_kernel_child(pid)),
        Err(errno) => {
            crate::println!("cannot run {}: {errno}", command_line.init);
            None
        }
    };
    if let Some(status) = exit_status {
        crate::println!("init {status}");
    }
    let synced = fs.sync_all();
    if let Err(errno) = synced {
        crate::println!("sync at shutdown failed: {errno}");
    }
    match (exit_status, synced) {
        (Some(Exit::Status(0)), Ok(())) => exit(ExitCode::Success),
        _ => exit(ExitCode::Failure),
    }
}

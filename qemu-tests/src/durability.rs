//! The durability checks: a guest stores a pattern into a file through a
//! MAP_SHARED mapping and prints a marker; the runner kills QEMU with SIGKILL
//! the moment the marker appears — a power cut at a known point — then reads
//! the file out of the image with `debugfs` and checks the file system with
//! `e2fsck -fn`. What was made durable before the marker must be on disk.

use crate::cases::Guest;
use crate::qemu::{BootConfig, Disk, Outcome};
use std::time::Duration;

/// One power cut.
pub struct Check {
    pub name: &'static str,
    /// `user/c/durability.c` arguments after the file name: MODE, and for
    /// the waiting modes the seconds to wait before the marker.
    mode: &'static str,
    wait_seconds: Option<u32>,
    /// Whether the data must be on disk. The negative control expects it not
    /// to be, which shows that the check can fail.
    expect_durable: bool,
}

const FILE: &str = "/durable.bin";
const SEED: u64 = 42;
const SIZE: u64 = 256 * 1024;
const MARKER: &str = "DURABILITY-MARKER";

pub fn all() -> [Check; 10] {
    [
        Check {
            name: "durability-msync-ms-sync-survives-power-cut",
            mode: "sync",
            wait_seconds: None,
            expect_durable: true,
        },
        // MS_ASYNC only starts the write-back; completing it, and the flusher
        // syncing the file system's metadata (once a second), need no further
        // system call. Three seconds is longer than the flusher period.
        Check {
            name: "durability-msync-ms-async-then-wait-survives-power-cut",
            mode: "async",
            wait_seconds: Some(3),
            expect_durable: true,
        },
        // The kernel stores into the mapping (read() from another file):
        // those stores must dirty the pages just like the program's own.
        Check {
            name: "durability-read-into-mapping-then-ms-sync-survives-power-cut",
            mode: "read",
            wait_seconds: None,
            expect_durable: true,
        },
        // fsync after stores through a mapping, no msync: the mapped pages are
        // the file's dirty data (Linux marks them dirty at the write fault).
        Check {
            name: "durability-fsync-after-mapped-stores-survives-power-cut",
            mode: "fsync",
            wait_seconds: None,
            expect_durable: true,
        },
        // No msync at all: the flusher finds the D bits through the reverse map
        // and writes pages dirty for longer than 5 s; 8 s covers expiry plus
        // the flusher period.
        Check {
            name: "durability-no-msync-flusher-writes-within-seconds",
            mode: "flusher",
            wait_seconds: Some(8),
            expect_durable: true,
        },
        // Across processes: the D bits of every process's mappings are
        // collected through the reverse map — from a child that exited
        // (its PTEs' D bits went to the page cache), from a child still
        // running with the dirty pages mapped, and by a child's msync of
        // pages only the parent stored to.
        Check {
            name: "durability-child-stores-and-exits-parent-ms-sync-survives-power-cut",
            mode: "child-stores",
            wait_seconds: None,
            expect_durable: true,
        },
        Check {
            name: "durability-running-child-stores-parent-ms-sync-survives-power-cut",
            mode: "live-child-stores",
            wait_seconds: None,
            expect_durable: true,
        },
        Check {
            name: "durability-parent-stores-child-ms-sync-survives-power-cut",
            mode: "child-syncs",
            wait_seconds: None,
            expect_durable: true,
        },
        // mremap moves the page-table entries with their D bits, and the
        // reverse map follows them: msync at the new address finds the
        // stores made at the old one.
        Check {
            name: "durability-mremap-moved-mapping-ms-sync-survives-power-cut",
            mode: "moved-syncs",
            wait_seconds: None,
            expect_durable: true,
        },
        Check {
            name: "durability-negative-control-no-msync-immediate-cut-loses-data",
            mode: "none",
            wait_seconds: None,
            expect_durable: false,
        },
    ]
}

/// Boots, cuts the power at the marker, and compares the disk with the
/// pattern.
pub fn run(check: &Check, base: &BootConfig) -> Result<(), String> {
    let image = base.log.join(format!("{}.img", check.name));
    crate::rootfs::build(&image, &Guest::C("durability").build()?, None, 4096)?;
    let wait = check
        .wait_seconds
        .map_or(String::new(), |seconds| format!(" {seconds}"));
    let config = BootConfig {
        memory: "256M".into(),
        append: format!(" -- {} {FILE} {SEED} {SIZE}{wait}", check.mode),
        log: base.log.join(format!("{}.log", check.name)),
        disks: vec![Disk {
            file: image.display().to_string(),
            read_only: false,
        }],
        kill_on_line: Some(MARKER.into()),
        timeout: Duration::from_secs(120),
        ..base.clone()
    };
    let result = crate::qemu::boot(&config).map_err(|error| error.to_string())?;
    if result.outcome != Outcome::KilledAtMarker {
        return Err(format!(
            "the guest never printed {MARKER}: {}\n{}",
            result.outcome.describe(),
            crate::qemu::tail(&result.console, 20)
        ));
    }
    let on_disk = crate::rootfs::read_file(&image, FILE)?;
    let expected: Vec<u8> = (0..SIZE)
        .map(|offset| crate::guest::pattern_byte(SEED, offset))
        .collect();
    let durable = on_disk == expected;
    match (check.expect_durable, durable) {
        (true, false) => {
            let first_difference = on_disk
                .iter()
                .zip(&expected)
                .position(|(disk, memory)| disk != memory)
                .unwrap_or(on_disk.len().min(expected.len()));
            Err(format!(
                "after the power cut the file holds {} bytes, differing from the stored pattern first at offset {first_difference}",
                on_disk.len()
            ))
        }
        (false, true) => {
            Err("the negative control found the data on disk: the check cannot tell".into())
        }
        (true, true) => crate::rootfs::check_clean(&image),
        (false, false) => Ok(()),
    }
}

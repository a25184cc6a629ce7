//! The QEMU test cases: each boots the kernel once and checks the exact
//! console text and exit status.

use crate::qemu::{BootConfig, BootResult, Disk, Keystrokes, Outcome};
use crate::symbolize::{backtrace_addresses, symbolize};
use std::path::{Path, PathBuf};

mod statfs;
mod storage;

/// One boot and what it must show.
pub struct Case {
    pub name: &'static str,
    pub memory: &'static str,
    pub append: &'static str,
    pub expected: Outcome,
    /// Checks the console; returns the number of in-kernel tests it counted.
    pub check: fn(&Context) -> Result<usize, String>,
    /// The disk attached as virtio-blk, made fresh for every boot.
    pub disk: Option<TestDisk>,
}

/// The disk a case boots with: a raw test image of [`DISK_BYTES`] holding
/// [`pattern_byte`] (for the driver's tests in `kernel/src/block/tests.rs`),
/// or an ext2 root with a user program as `/sbin/init`.
#[derive(Clone, Copy)]
pub enum TestDisk {
    Writable,
    ReadOnly,
    /// Writes touching this sector fail with EIO (QEMU's blkdebug driver).
    FailingWritesAt(u64),
    /// An ext2 root (`mke2fs -d`) with `init` as `/sbin/init`, run with `args`.
    Root {
        init: Guest,
        args: &'static str,
        block_size: u32,
    },
    /// [`TestDisk::Root`] made from a directory that `files` fills first;
    /// with `fail_first_write_to`, the first write to that file's first
    /// block fails with EIO, once (blkdebug with `once = "on"`).
    RootWithFiles {
        init: Guest,
        args: &'static str,
        block_size: u32,
        files: fn(&Path) -> std::io::Result<()>,
        fail_first_write_to: Option<&'static str>,
    },
}

/// A user program from `user/`.
#[derive(Clone, Copy)]
pub enum Guest {
    /// `user/c/NAME.c`, built with musl-gcc.
    C(&'static str),
    /// `user/c/NAME.c` as a static position-independent executable.
    CStaticPie(&'static str),
    /// The Rust package NAME under `user/rust`.
    Rust(&'static str),
}

impl Guest {
    pub fn build(self) -> Result<PathBuf, String> {
        match self {
            Guest::C(name) => crate::guest::build_c(name),
            Guest::CStaticPie(name) => {
                crate::guest::build_c_linked(name, crate::guest::Linkage::StaticPie)
            }
            Guest::Rust(package) => crate::guest::build_rust(package),
        }
    }
}

pub const DISK_BYTES: usize = 32 << 20;

/// The byte a fresh test image holds at `offset`; the kernel's tests compute
/// the same (`kernel/src/block/tests.rs`, `pattern_byte`).
pub fn pattern_byte(offset: u64) -> u8 {
    ((offset / 512).wrapping_mul(7) + offset % 512) as u8
}

impl TestDisk {
    /// Makes the image (and blkdebug configuration) under `dir` as `name`;
    /// returns it, the disk to attach, and what to add to the command line.
    fn create(self, dir: &Path, name: &str) -> Result<(PathBuf, Disk, String), String> {
        std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
        let image = dir.join(format!("{name}.img"));
        let root = match self {
            TestDisk::Root {
                init,
                args,
                block_size,
            } => Some((init, args, block_size, None, None)),
            TestDisk::RootWithFiles {
                init,
                args,
                block_size,
                files,
                fail_first_write_to,
            } => Some((init, args, block_size, Some(files), fail_first_write_to)),
            _ => None,
        };
        if let Some((init, args, block_size, files, fail_first_write_to)) = root {
            let prepared = match files {
                Some(fill) => {
                    let prepared = dir.join(format!("{name}.files"));
                    let _ = std::fs::remove_dir_all(&prepared);
                    std::fs::create_dir_all(&prepared).map_err(|error| error.to_string())?;
                    fill(&prepared).map_err(|error| format!("preparing the root: {error}"))?;
                    Some(prepared)
                }
                None => None,
            };
            crate::rootfs::build(&image, &init.build()?, prepared.as_deref(), block_size)?;
            if let Some(prepared) = prepared {
                std::fs::remove_dir_all(prepared).map_err(|error| error.to_string())?;
            }
            let file = match fail_first_write_to {
                Some(path) => {
                    let block = crate::rootfs::block_of(&image, path, 0)?;
                    let sector = block * u64::from(block_size / 512);
                    blkdebug_file(dir, name, &image, sector, true)?
                }
                None => image.display().to_string(),
            };
            let disk = Disk {
                file,
                read_only: false,
            };
            return Ok((image, disk, format!(" -- {args}")));
        }
        let bytes: Vec<u8> = (0..DISK_BYTES as u64).map(pattern_byte).collect();
        std::fs::write(&image, bytes).map_err(|error| error.to_string())?;
        let file = match self {
            TestDisk::FailingWritesAt(sector) => blkdebug_file(dir, name, &image, sector, false)?,
            _ => image.display().to_string(),
        };
        let read_only = matches!(self, TestDisk::ReadOnly);
        Ok((image, Disk { file, read_only }, String::new()))
    }
}

/// Writes the blkdebug configuration that fails writes touching `sector` of
/// `image` (only the first such write with `once`); returns the `-drive`
/// file that applies it.
fn blkdebug_file(
    dir: &Path,
    name: &str,
    image: &Path,
    sector: u64,
    once: bool,
) -> Result<String, String> {
    let config = dir.join(format!("{name}.blkdebug"));
    let once = if once { "on" } else { "off" };
    // `write_aio` is the event the raw format driver raises before each
    // write; errno 5 is EIO.
    std::fs::write(
        &config,
        format!(
            "[inject-error]\nevent = \"write_aio\"\niotype = \"write\"\nerrno = \"5\"\nsector = \"{sector}\"\nonce = \"{once}\"\n"
        ),
    )
    .map_err(|error| error.to_string())?;
    Ok(format!("blkdebug:{}:{}", config.display(), image.display()))
}

/// What a check sees of a finished boot.
pub struct Context<'a> {
    pub result: &'a BootResult,
    pub kernel: &'a Path,
    /// The test disk's image after the boot, if the case had one.
    pub disk_image: Option<&'a Path>,
}

impl Context<'_> {
    fn console(&self) -> &str {
        &self.result.console
    }

    fn expect_line_starting(&self, prefix: &str) -> Result<&str, String> {
        self.console()
            .lines()
            .find(|line| line.starts_with(prefix))
            .ok_or_else(|| format!("the console has no line starting with {prefix:?}"))
    }

    fn expect_line(&self, needle: &str) -> Result<&str, String> {
        self.console()
            .lines()
            .find(|line| line.contains(needle))
            .ok_or_else(|| format!("the console has no line containing {needle:?}"))
    }
}

/// A root disk with a C program from `user/c` as init.
const fn c_root(name: &'static str, args: &'static str) -> Option<TestDisk> {
    Some(TestDisk::Root {
        init: Guest::C(name),
        args,
        block_size: 4096,
    })
}

/// A boot that runs the in-kernel tests whose names contain `filter` (the
/// grader's `kernel` tests), with the same memory and check as
/// `kernel-tests`.
pub fn kernel_tests(filter: &str) -> Case {
    Case {
        name: Box::leak(format!("kernel-tests-{filter}").into_boxed_str()),
        memory: "256M",
        append: Box::leak(format!("test={filter}").into_boxed_str()),
        expected: Outcome::KernelSuccess,
        check: kernel_tests_all_pass,
        disk: None,
    }
}

pub fn all() -> Vec<Case> {
    vec![
        Case {
            name: "kernel-tests",
            memory: "256M",
            append: "test=-kernel::block::,-kernel::fs::",
            expected: Outcome::KernelSuccess,
            check: kernel_tests_all_pass,
            disk: None,
        },
        Case {
            name: "banner-32M",
            memory: "32M",
            append: "loglevel=debug student=hello",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                expect_memory_banner(cx, 32)?;
                cx.expect_line("command line: \"loglevel=debug student=hello\"")?;
                cx.expect_line("DEBUG kernel::memory: e820:")?;
                Ok(0)
            },
            disk: None,
        },
        Case {
            name: "banner-2G",
            memory: "2G",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| expect_memory_banner(cx, 2048).map(|_| 0),
            disk: None,
        },
        Case {
            name: "banner-4G-memory-above-4GiB",
            memory: "4G",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| expect_memory_banner(cx, 4096).map(|_| 0),
            disk: None,
        },
        Case {
            name: "guard-page-write-faults",
            memory: "64M",
            append: "crash=guard-page",
            expected: Outcome::KernelFailure,
            check: guard_page_report,
            disk: None,
        },
        Case {
            name: "stack-overflow-double-faults-on-ist",
            memory: "64M",
            append: "crash=stack-overflow",
            expected: Outcome::KernelFailure,
            check: |cx| {
                cx.expect_line("EXCEPTION: double fault (#DF, vector 8), error code 0x0")?;
                cx.expect_line("RIP=0x")?;
                Ok(0)
            },
            disk: None,
        },
        Case {
            name: "kernel-read-of-a-user-page-faults-under-smap",
            memory: "64M",
            append: "crash=smap",
            expected: Outcome::KernelFailure,
            check: |cx| {
                protection_fault_report(
                    cx,
                    "reading user page 0x400000 from the kernel",
                    "CR2=0x0000000000400000 (read, protection violation, kernel mode)",
                    "the address is a user page: SMAP forbids",
                    "read_a_user_page",
                )
            },
            disk: None,
        },
        Case {
            name: "kernel-call-into-a-user-page-faults-under-smep",
            memory: "64M",
            append: "crash=smep",
            expected: Outcome::KernelFailure,
            check: |cx| {
                protection_fault_report(
                    cx,
                    "calling user page 0x400000 from the kernel",
                    "CR2=0x0000000000400000 (instruction fetch, protection violation, kernel mode)",
                    "the address is a user page: SMAP forbids",
                    // The fault is at the user page's first instruction: the
                    // frame-pointer chain starts at the caller's caller.
                    "kernel::crash::run",
                )
            },
            disk: None,
        },
        Case {
            name: "kernel-write-to-its-own-text-faults",
            memory: "64M",
            append: "crash=kernel-text",
            expected: Outcome::KernelFailure,
            check: |cx| {
                let announced = cx.expect_line("writing to kernel text 0x")?;
                let text = announced.rsplit(' ').next().unwrap_or_default();
                protection_fault_report(
                    cx,
                    "writing to kernel text 0x",
                    &format!(
                        "CR2={:#018x} (write, protection violation, kernel mode)",
                        u64::from_str_radix(text.trim_start_matches("0x"), 16)
                            .map_err(|_| format!("no address in {announced:?}"))?
                    ),
                    "the address is in the kernel image",
                    "write_to_kernel_text",
                )
            },
            disk: None,
        },
        Case {
            name: "panic-report-is-symbolized",
            memory: "64M",
            append: "crash=panic",
            expected: Outcome::KernelFailure,
            check: panic_report,
            disk: None,
        },
        Case {
            name: "virtio-blk-disk",
            memory: "256M",
            append: "test=rw_disk_",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                let passed = kernel_tests_all_pass(cx)?;
                cx.expect_line("virtio-blk write throughput: ")?;
                check_written_image(cx)?;
                Ok(passed)
            },
            disk: Some(TestDisk::Writable),
        },
        Case {
            name: "virtio-blk-read-only-disk",
            memory: "64M",
            append: "test=ro_disk_",
            expected: Outcome::KernelSuccess,
            check: kernel_tests_all_pass,
            disk: Some(TestDisk::ReadOnly),
        },
        Case {
            name: "virtio-blk-bad-sector-write-is-eio",
            memory: "64M",
            append: "test=bad_sector_disk_",
            expected: Outcome::KernelSuccess,
            check: kernel_tests_all_pass,
            disk: Some(TestDisk::FailingWritesAt(4096)),
        },
        Case {
            name: "msync-conformance-suite",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("msync_conformance", "/"),
        },
        Case {
            name: "msync-conformance-suite-1k-blocks",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: Some(TestDisk::Root {
                init: Guest::C("msync_conformance"),
                args: "/",
                block_size: 1024,
            }),
        },
        Case {
            name: "regressions-found-by-fuzzing",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("regressions", "/"),
        },
        Case {
            name: "processes-fork-exec-wait-signals-pipes",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("processes", "/"),
        },
        Case {
            name: "memory-flags-mremap-mincore-madvise",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("memory_flags", "/"),
        },
        Case {
            name: "file-calls-paths-cwd-names-attributes-limits",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                let passed = user_suite_passes(cx)?;
                statfs::check_statfs_figures(cx)?;
                Ok(passed)
            },
            disk: c_root("file_calls", "/"),
        },
        Case {
            name: "terminal-termios-window-and-job-control",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("terminal", ""),
        },
        Case {
            name: "terminal-typing",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: typed_lines_came_back,
            disk: c_root("typing", ""),
        },
        Case {
            name: "file-times-through-mappings-writes-and-truncation",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                let passed = user_suite_passes(cx)?;
                times_reached_the_disk(cx)?;
                Ok(passed)
            },
            disk: c_root("file_times", "/"),
        },
        Case {
            name: "c-libc-smoke",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: c_root("libc_smoke", "/"),
        },
        Case {
            name: "c-libc-smoke-as-static-pie",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: Some(TestDisk::Root {
                init: Guest::CStaticPie("libc_smoke"),
                args: "/",
                block_size: 4096,
            }),
        },
        Case {
            name: "rust-no-std-smoke",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: user_suite_passes,
            disk: Some(TestDisk::Root {
                init: Guest::Rust("smoke"),
                args: "",
                block_size: 4096,
            }),
        },
        Case {
            name: "msync-demo",
            memory: "128M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                cx.expect_line("msync returned 0: the page is on the disk.")?;
                cx.expect_line_starting("init exited with status 0")?;
                let image = cx.disk_image.ok_or("no disk")?;
                let file = crate::rootfs::read_file(image, "/msync-demo.txt")?;
                if !file.starts_with(b"Hello from a MAP_SHARED mapping") {
                    return Err(format!(
                        "the file on disk holds {:?}",
                        String::from_utf8_lossy(&file[..40.min(file.len())])
                    ));
                }
                expect_clean_image(cx)?;
                Ok(0)
            },
            disk: c_root("msync_demo", ""),
        },
        Case {
            name: "user-store-to-unmapped-address-is-sigsegv",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| killed_at_announced_address(cx, "SIGSEGV"),
            disk: c_root("faults", "segv-unmapped"),
        },
        Case {
            name: "user-store-to-read-only-mapping-is-sigsegv",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| killed_at_announced_address(cx, "SIGSEGV"),
            disk: c_root("faults", "segv-readonly"),
        },
        Case {
            name: "user-jump-into-non-executable-page-is-sigsegv",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| killed_at_announced_address(cx, "SIGSEGV"),
            disk: c_root("faults", "segv-nx"),
        },
        Case {
            name: "user-read-past-end-of-mapped-file-is-sigbus",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| killed_at_announced_address(cx, "SIGBUS"),
            disk: c_root("faults", "sigbus-eof /"),
        },
        Case {
            name: "user-bad-pointer-to-write-is-efault-and-goes-on",
            memory: "64M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                cx.expect_line("survived: write from a bad pointer returned -1, errno EFAULT")?;
                cx.expect_line_starting("init exited with status 0")
                    .map(|_| 0)
            },
            disk: c_root("faults", "efault"),
        },
        Case {
            name: "user-unknown-syscall-is-enosys-and-logged",
            memory: "64M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                cx.expect_line("survived: system call 999 returned -1, errno ENOSYS")?;
                cx.expect_line("unknown system call 999: returning ENOSYS")?;
                cx.expect_line_starting("init exited with status 0")
                    .map(|_| 0)
            },
            disk: c_root("faults", "enosys"),
        },
        Case {
            name: "init-exit-status-3-is-reported",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| {
                cx.expect_line_starting("init exited with status 3")?;
                match crate::qemu::exit_status(cx.result) {
                    3 => Ok(0),
                    other => Err(format!("make run would exit {other}, not 3")),
                }
            },
            disk: c_root("faults", "exit3"),
        },
        Case {
            name: "user-access-past-truncated-end-of-mapped-file-is-sigbus",
            memory: "64M",
            append: "",
            expected: Outcome::KernelFailure,
            check: |cx| killed_at_announced_address(cx, "SIGBUS"),
            disk: c_root("faults", "sigbus-after-truncate /"),
        },
        Case {
            name: "fs-checks-1k-blocks",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: fs_checks_pass,
            disk: fs_checks_root(1024),
        },
        Case {
            name: "fs-checks-4k-blocks",
            memory: "256M",
            append: "",
            expected: Outcome::KernelSuccess,
            check: fs_checks_pass,
            disk: fs_checks_root(4096),
        },
        Case {
            name: "kernel-fs-page-cache",
            memory: "512M",
            append: "test=kernel::fs::",
            expected: Outcome::KernelSuccess,
            check: |cx| {
                let passed = kernel_tests_all_pass(cx)?;
                let figures = cx.expect_line_starting("page-cache write-back: ")?;
                if !figures.contains(" MiB/s, raw device: ") {
                    return Err(format!("the benchmark line is {figures:?}"));
                }
                expect_clean_image(cx)?;
                Ok(passed)
            },
            // The tests run before init would; any program will do.
            disk: Some(TestDisk::RootWithFiles {
                init: Guest::C("faults"),
                args: "",
                block_size: 4096,
                files: storage::kernel_test_files,
                fail_first_write_to: Some(storage::KERNEL_EIO_FILE),
            }),
        },
    ]
}

/// An ext2 root of `block_size` with the files `user/c/fs_checks.c` reads,
/// and that program as init.
const fn fs_checks_root(block_size: u32) -> Option<TestDisk> {
    Some(TestDisk::RootWithFiles {
        init: Guest::C("fs_checks"),
        args: "/",
        block_size,
        files: storage::fs_check_files,
        fail_first_write_to: None,
    })
}

/// `fs_checks` passed, and the disk holds what it wrote (see `storage.rs`).
fn fs_checks_pass(cx: &Context) -> Result<usize, String> {
    let passed = user_suite_passes(cx)?;
    storage::check_fs_checks_image(cx)?;
    Ok(passed)
}

/// What the `rw_disk_` tests wrote, byte for byte, and that their neighbours
/// kept the pattern.
fn check_written_image(cx: &Context) -> Result<(), String> {
    let path = cx.disk_image.ok_or("the case has no disk")?;
    let image = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let sector = |number: usize| &image[number * 512..(number + 1) * 512];
    let expect = |what: &str, sectors: std::ops::Range<usize>, byte: Option<u8>| {
        for number in sectors {
            let expected: Vec<u8> = match byte {
                Some(byte) => vec![byte; 512],
                None => (0..512)
                    .map(|i| pattern_byte((number * 512 + i) as u64))
                    .collect(),
            };
            if sector(number) != expected.as_slice() {
                return Err(format!("{}: sector {number} is not {what}", path.display()));
            }
        }
        Ok(())
    };
    expect("the pattern", 0..100, None)?;
    expect("0xa5 (written)", 100..104, Some(0xa5))?;
    expect("the pattern", 104..2048, None)?;
    expect("0x5c (the 1 MiB write)", 2048..4096, Some(0x5c))?;
    expect("the pattern", 4096..8192, None)?;
    for page in 0..70 {
        let sectors = 8192 + page * 8..8192 + (page + 1) * 8;
        expect(
            "the gathered write's page",
            sectors,
            Some(0x30 + page as u8),
        )?;
    }
    expect("the pattern", 8752..32768, None)?;
    expect("zero (the throughput writes)", 32768..65536, Some(0))
}

/// A user test program's own summary (`N passed, 0 failed`, one `PASS` line
/// each), init's clean exit, and a file system e2fsck finds clean after.
/// What the runner types during a case, step by step: the interactive
/// terminal check (`user/c/typing.c` prompts, the runner answers).
fn keystrokes(case: &str) -> Vec<Keystrokes> {
    match case {
        "terminal-typing" => vec![
            Keystrokes {
                after: "edit> ",
                bytes: b"abc\x7fd\r",
            },
            Keystrokes {
                after: "kill> ",
                bytes: b"junk\x15ok\r",
            },
            Keystrokes {
                after: "eof> ",
                bytes: b"\x04",
            },
            Keystrokes {
                after: "interrupt> ",
                bytes: b"\x03",
            },
            Keystrokes {
                after: "raw> ",
                bytes: b"xyz",
            },
        ],
        _ => Vec::new(),
    }
}

/// The interactive check's transcript: the echo of each edit (DEL rubbed
/// out, ^U erasing the line, ^C shown as `^C`), and what each read got.
fn typed_lines_came_back(cx: &Context) -> Result<usize, String> {
    let expected = [
        "edit> abc\u{8} \u{8}d",
        "got [abd\\n]",
        "kill> junk\u{8} \u{8}\u{8} \u{8}\u{8} \u{8}\u{8} \u{8}ok",
        "got [ok\\n]",
        "eof> got end of file",
        "interrupt> ^Cgot SIGINT",
        "raw> got [xyz]",
        "done",
    ];
    for line in expected {
        cx.expect_line(line)?;
    }
    cx.expect_line_starting("init exited with status 0")?;
    Ok(expected.len())
}

/// The times `file_times` printed for its last file are the ones its inode
/// holds on the disk: they were written back, not only kept in memory.
fn times_reached_the_disk(cx: &Context) -> Result<(), String> {
    let line = cx.expect_line("times of ")?;
    let (path, times) = line
        .strip_prefix("times of ")
        .and_then(|rest| rest.split_once(": "))
        .ok_or_else(|| format!("cannot read {line:?}"))?;
    let number = |word: &str| -> Option<u64> {
        times
            .split_whitespace()
            .skip_while(|part| *part != word)
            .nth(1)?
            .parse()
            .ok()
    };
    let printed = (number("mtime"), number("ctime"));
    let image = cx.disk_image.ok_or("no disk")?;
    let on_disk = crate::rootfs::inode_times(image, path.trim_start_matches('/'))?;
    if printed != (Some(on_disk.0), Some(on_disk.1)) {
        return Err(format!(
            "{line:?}, but the inode on the disk holds {on_disk:?}"
        ));
    }
    Ok(())
}

fn user_suite_passes(cx: &Context) -> Result<usize, String> {
    let (passed, failed) = cx
        .console()
        .lines()
        .find_map(crate::guest::summary_counts)
        .ok_or("the program printed no `N passed, N failed` line")?;
    let pass_lines = cx
        .console()
        .lines()
        .filter(|line| line.starts_with("PASS "))
        .count();
    if failed != 0 || passed == 0 || pass_lines != passed {
        return Err(format!(
            "{passed} passed, {failed} failed, {pass_lines} PASS lines"
        ));
    }
    cx.expect_line_starting("init exited with status 0")?;
    expect_clean_image(cx)?;
    Ok(passed)
}

fn expect_clean_image(cx: &Context) -> Result<(), String> {
    crate::rootfs::check_clean(cx.disk_image.ok_or("the case has no disk")?)
}

/// The program announced `fault address: A`, and init was killed by
/// `signal` at exactly A.
fn killed_at_announced_address(cx: &Context, signal: &str) -> Result<usize, String> {
    let announced = cx.expect_line_starting("fault address: ")?;
    let address = announced.trim_start_matches("fault address: ").trim();
    cx.expect_line_starting(&format!("init killed by {signal} at {address}"))?;
    let status = crate::qemu::exit_status(cx.result);
    let expected = if signal == "SIGBUS" { 135 } else { 139 };
    if status != expected {
        return Err(format!("make run would exit {status}, not {expected}"));
    }
    expect_clean_image(cx)?;
    Ok(0)
}

fn kernel_tests_all_pass(cx: &Context) -> Result<usize, String> {
    let summary = cx.expect_line(" passed, ")?;
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| format!("cannot read the summary {summary:?}"))?;
    let ok_lines = cx
        .console()
        .lines()
        .filter(|line| line.starts_with("test ") && line.ends_with(" ... ok"))
        .count();
    if summary != format!("{passed} passed, 0 failed") || ok_lines != passed || passed == 0 {
        return Err(format!(
            "summary {summary:?} does not match {ok_lines} passing tests"
        ));
    }
    Ok(passed)
}

/// The banner's RAM figure must be the `-m` size less what the firmware keeps
/// (the legacy BIOS area and SeaBIOS's tables: under 1 MiB).
fn expect_memory_banner(cx: &Context, mib: u64) -> Result<(), String> {
    let line = cx.expect_line_starting("memory: ")?;
    let kib: u64 = line
        .split_once(" KiB RAM")
        .and_then(|(head, _)| head.rsplit(' ').next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("cannot read RAM in {line:?}"))?;
    if !(mib * 1024 - 1024..mib * 1024).contains(&kib) {
        return Err(format!(
            "expected {mib} MiB of RAM, the banner says {line:?}"
        ));
    }
    let free: u64 = line
        .split_once(" KiB free")
        .and_then(|(head, _)| head.rsplit(' ').next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| format!("cannot read free memory in {line:?}"))?;
    if free == 0 || free > kib {
        return Err(format!("implausible free memory in {line:?}"));
    }
    Ok(())
}

fn guard_page_report(cx: &Context) -> Result<usize, String> {
    let announced = cx.expect_line("writing to guard page 0x")?;
    let guard = announced
        .rsplit(' ')
        .next()
        .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| format!("cannot read the guard address in {announced:?}"))?;
    cx.expect_line("EXCEPTION: page fault (#PF, vector 14), error code 0x2")?;
    cx.expect_line(&format!(
        "CR2={guard:#018x} (write, page not present, kernel mode)"
    ))?;
    cx.expect_line("the address is in a kernel stack's guard page")?;
    for register in ["RIP=0x", "RAX=0x", "R15=0x"] {
        cx.expect_line(register)?;
    }
    let frames = symbolize(cx.kernel, &backtrace_addresses(cx.console()));
    if !frames
        .iter()
        .any(|frame| frame.contains("write_to_guard_page"))
    {
        return Err(format!("backtrace lacks write_to_guard_page: {frames:#?}"));
    }
    Ok(0)
}

/// The report of a deliberate kernel-mode protection fault: the announcement,
/// the page-fault lines with the hint, the registers and a backtrace through
/// the function that faulted.
fn protection_fault_report(
    cx: &Context,
    announcement: &str,
    cr2_line: &str,
    hint: &str,
    function: &str,
) -> Result<usize, String> {
    cx.expect_line(announcement)?;
    cx.expect_line("EXCEPTION: page fault (#PF, vector 14), error code 0x")?;
    cx.expect_line(cr2_line)?;
    cx.expect_line(hint)?;
    cx.expect_line("RIP=0x")?;
    let frames = symbolize(cx.kernel, &backtrace_addresses(cx.console()));
    if !frames.iter().any(|frame| frame.contains(function)) {
        return Err(format!("backtrace lacks {function}: {frames:#?}"));
    }
    Ok(0)
}

fn panic_report(cx: &Context) -> Result<usize, String> {
    cx.expect_line("KERNEL PANIC at kernel/src/crash.rs:")?;
    cx.expect_line("deliberate panic (crash=panic)")?;
    cx.expect_line("RSP=0x")?;
    let frames = symbolize(cx.kernel, &backtrace_addresses(cx.console()));
    for function in ["deliberate_panic", "kernel::crash::run"] {
        if !frames.iter().any(|frame| frame.contains(function)) {
            return Err(format!("backtrace lacks {function}: {frames:#?}"));
        }
    }
    Ok(0)
}

/// Runs one case and says why it failed, if it did.
pub fn run(case: &Case, base: &BootConfig) -> Result<usize, String> {
    let (disk_image, disks, init_args) = match case.disk {
        Some(disk) => {
            let (image, disk, init_args) = disk
                .create(&base.log, case.name)
                .map_err(|error| format!("creating the test disk: {error}"))?;
            (Some(image), vec![disk], init_args)
        }
        None => (None, Vec::new(), String::new()),
    };
    let config = BootConfig {
        memory: case.memory.into(),
        append: format!("{}{init_args}", case.append),
        log: base.log.join(format!("{}.log", case.name)),
        disks,
        typed: keystrokes(case.name),
        ..base.clone()
    };
    let result = crate::qemu::boot(&config).map_err(|error| error.to_string())?;
    let verdict = if result.outcome != case.expected {
        Err(format!(
            "expected {:?}, got {:?}: {}",
            case.expected,
            result.outcome,
            result.outcome.describe()
        ))
    } else {
        (case.check)(&Context {
            result: &result,
            kernel: &config.kernel,
            disk_image: disk_image.as_deref(),
        })
    };
    verdict.map_err(|reason| {
        format!(
            "{reason}\n--- last lines of {} ---\n{}",
            config.log.display(),
            crate::qemu::tail(&result.console, 30)
        )
    })
}

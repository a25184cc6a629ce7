//! The Linux comparison: boots Debian's Linux kernel in the same QEMU
//! configuration as ours, with the same ext2 root image, so that the user
//! programs' suites are proven right by passing on Linux
//! (docs/linux-comparison.md).
//!
//! The kernel package is fetched once with `apt-get download` and unpacked
//! under `build/linux/`; the initramfs holds the modules that reach the
//! virtio disk and mount ext2, and `user/c/linux_init.c` as `/init`.

use crate::cases::{Case, Context, Guest, TestDisk};
use crate::qemu::{BootConfig, workspace_root};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Debian 12's kernel package, and the release its files are named after.
const PACKAGE: &str = "linux-image-6.1.0-56-amd64";
const RELEASE: &str = "6.1.0-56-amd64";

/// The modules the boot needs; `modinfo -F depends` adds what they need.
/// crc32c_generic is here because ext4 and jbd2 only name it as a soft
/// dependency (`pre: crypto-crc32c`), which the kernel would resolve through
/// modprobe, and the initramfs has none.
const NEEDED_MODULES: [&str; 4] = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"];

/// The words before our kernel's: the console on the serial port, no boot
/// chatter, and an immediate reboot (so an exit under `-no-reboot`) on a panic.
pub const COMMAND_LINE: &str = "console=ttyS0 quiet panic=-1";

/// The memory the Linux cases get at least: Debian's kernel does not reach
/// init with 64M or 80M (it hangs or panics out of memory); 96M works.
const MIN_MEMORY: &str = "128M";

/// A case's boot takes 6.5 to 9 s under TCG; this leaves room for slow or
/// busy machines.
const TIMEOUT: Duration = Duration::from_secs(120);

/// `make linux-run`: `make run`'s options and root image, booting Linux.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let guest = prepare()?;
    let mut config = crate::boot_config(guest.vmlinux, args)?;
    config.initrd = Some(guest.initramfs);
    config.append = format!("{COMMAND_LINE} {}", config.append.trim_start());
    config.log = workspace_root().join("build").join("linux-run.log");
    crate::run_config(&config)
}

/// `make linux-test`: every case whose init is a user program, booted on
/// Linux; ends with `total: N passed, N failed` like `make test`.
pub fn test(filter: &str) -> Result<ExitCode, String> {
    let guest = prepare()?;
    let base = BootConfig {
        initrd: Some(guest.initramfs),
        timeout: TIMEOUT,
        ..BootConfig::new(
            guest.vmlinux,
            workspace_root().join("build").join("linux-tests"),
        )
    };
    let started = Instant::now();
    let (mut boots_passed, mut boots_failed, mut suite_cases) = (0, 0, 0);
    for case in cases().iter().filter(|case| case.name.contains(filter)) {
        match crate::cases::run(case, &base) {
            Ok(counted) => {
                boots_passed += 1;
                suite_cases += counted;
                println!("linux {} ... ok", case.name);
            }
            Err(reason) => {
                boots_failed += 1;
                println!("linux {} ... FAILED: {reason}", case.name);
            }
        }
    }
    println!(
        "Linux {RELEASE} boots: {boots_passed} passed, {boots_failed} failed (user-program cases: {suite_cases} passed) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let passed = boots_passed + suite_cases;
    println!("total: {passed} passed, {boots_failed} failed");
    Ok(if boots_failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The cases of `cases.rs` that boot a user program as init and give our
/// kernel no options: those must end on Linux exactly as on our kernel. The
/// checks that read what only our kernel prints are replaced
/// ([`linux_check`]), Linux's command line goes before init's arguments, and
/// the memory is raised to [`MIN_MEMORY`] where it is smaller.
fn cases() -> Vec<Case> {
    crate::cases::all()
        .into_iter()
        .filter_map(|case| {
            let Some(TestDisk::Root { init, args, .. }) = case.disk else {
                return None;
            };
            case.append.is_empty().then(|| Case {
                memory: at_least_min_memory(case.memory),
                append: COMMAND_LINE,
                check: linux_check(init, args).unwrap_or(case.check),
                ..case
            })
        })
        .collect()
}

/// A case's check of its finished boot (`Case::check`).
type Check = fn(&Context) -> Result<usize, String>;

/// `memory` (a QEMU `-m` size such as `64M` or `2G`), or [`MIN_MEMORY`] if that is more.
fn at_least_min_memory(memory: &'static str) -> &'static str {
    let mib = |size: &str| -> Option<u64> {
        match size.split_at(size.len().checked_sub(1)?) {
            (number, "M") => number.parse().ok(),
            (number, "G") => number.parse::<u64>().ok().map(|gib| gib * 1024),
            _ => None,
        }
    };
    if mib(memory) < mib(MIN_MEMORY) {
        MIN_MEMORY
    } else {
        memory
    }
}

/// Linux's check for a case whose own check reads our kernel's words: the
/// fault address in `init killed by SIGSEGV at A` (linux_init only learns the
/// signal) and the `unknown system call` log line.
fn linux_check(init: Guest, args: &str) -> Option<Check> {
    match (init, args) {
        (Guest::C("faults"), args) if args.starts_with("segv-") => {
            Some(|cx| killed_by(cx, "SIGSEGV", 139))
        }
        (Guest::C("faults"), args) if args.starts_with("sigbus-") => {
            Some(|cx| killed_by(cx, "SIGBUS", 135))
        }
        (Guest::C("faults"), "enosys") => Some(|cx| {
            expect_line_starting(cx, "survived: system call 999 returned -1, errno ENOSYS")?;
            expect_line_starting(cx, "init exited with status 0").map(|_| 0)
        }),
        _ => None,
    }
}

/// The program announced its fault address, init was killed by `signal`,
/// `make linux-run` would exit `status`, and the file system is clean.
fn killed_by(cx: &Context, signal: &str, status: u8) -> Result<usize, String> {
    expect_line_starting(cx, "fault address: ")?;
    expect_line_starting(cx, &format!("init killed by {signal}"))?;
    let make_status = crate::qemu::exit_status(cx.result);
    if make_status != status {
        return Err(format!(
            "make linux-run would exit {make_status}, not {status}"
        ));
    }
    crate::rootfs::check_clean(cx.disk_image.ok_or("the case has no disk")?)?;
    Ok(0)
}

fn expect_line_starting<'a>(cx: &'a Context, prefix: &str) -> Result<&'a str, String> {
    cx.result
        .console
        .lines()
        .find(|line| line.starts_with(prefix))
        .ok_or_else(|| format!("the console has no line starting with {prefix:?}"))
}

/// Where the package, its unpacked files and the initramfs are kept.
fn linux_dir() -> PathBuf {
    workspace_root().join("build").join("linux")
}

/// The kernel image and initramfs to boot.
pub struct LinuxGuest {
    /// The uncompressed ELF kernel, which QEMU boots through its PVH note as
    /// it boots ours.
    pub vmlinux: PathBuf,
    pub initramfs: PathBuf,
}

/// Fetches and unpacks the package if that was not done before, then builds
/// the initramfs afresh (it is small, and linux_init.c may have changed).
pub fn prepare() -> Result<LinuxGuest, String> {
    let dir = linux_dir();
    let unpacked = dir.join("root");
    let vmlinuz = unpacked.join("boot").join(format!("vmlinuz-{RELEASE}"));
    if !vmlinuz.exists() {
        let package = download(&dir)?;
        eprintln!("qemu-runner: unpacking {} (dpkg-deb -x)", package.display());
        let _ = std::fs::remove_dir_all(&unpacked);
        crate::qemu::host_tool_output(
            Command::new("dpkg-deb")
                .arg("-x")
                .arg(&package)
                .arg(&unpacked),
        )?;
    }
    let vmlinux = dir.join(format!("vmlinux-{RELEASE}"));
    if !vmlinux.exists() {
        decompress_kernel(&vmlinuz, &vmlinux)?;
    }
    let modules = load_order(&NEEDED_MODULES, &module_files(&unpacked)?, |path| {
        depends(path)
    })?;
    let init = crate::guest::build_c("linux_init")?;
    let initramfs = dir.join("initramfs.cpio");
    write_initramfs(&initramfs, &init, &modules)?;
    Ok(LinuxGuest { vmlinux, initramfs })
}

/// Writes the ELF kernel inside the bzImage `vmlinuz` to `vmlinux`. Booting
/// the bzImage spends most of a boot's time (8 of 14 s under TCG) in its xz
/// decompressor; the ELF boots through PVH without it.
fn decompress_kernel(vmlinuz: &Path, vmlinux: &Path) -> Result<(), String> {
    const XZ_MAGIC: &[u8] = b"\xfd7zXZ\0";
    eprintln!(
        "qemu-runner: decompressing {} into {} (xz -d)",
        vmlinuz.display(),
        vmlinux.display()
    );
    let image =
        std::fs::read(vmlinuz).map_err(|error| format!("{}: {error}", vmlinuz.display()))?;
    let start = image
        .windows(XZ_MAGIC.len())
        .position(|window| window == XZ_MAGIC)
        .ok_or_else(|| format!("{} holds no xz stream", vmlinuz.display()))?;
    let compressed = vmlinux.with_extension("xz");
    std::fs::write(&compressed, &image[start..])
        .map_err(|error| format!("{}: {error}", compressed.display()))?;
    let elf = crate::qemu::host_tool_output(
        Command::new("xz")
            .args(["-d", "-c", "--single-stream"])
            .arg(&compressed),
    )?;
    let _ = std::fs::remove_file(&compressed);
    if !elf.starts_with(b"\x7fELF") {
        return Err(format!("the xz stream in {} is no ELF", vmlinuz.display()));
    }
    std::fs::write(vmlinux, elf).map_err(|error| format!("{}: {error}", vmlinux.display()))
}

/// The package file under `dir`, downloaded with `apt-get download` unless
/// it is already there (after `apt-get update` if apt does not know it yet).
fn download(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let find = || {
        std::fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            (name.starts_with(&format!("{PACKAGE}_")) && name.ends_with(".deb"))
                .then(|| entry.path())
        })
    };
    if let Some(package) = find() {
        return Ok(package);
    }
    let mut download = Command::new("apt-get");
    download.current_dir(dir).args(["download", PACKAGE]);
    eprintln!(
        "qemu-runner: downloading the Linux kernel: {} (in {})",
        crate::qemu::shell_line(&download),
        dir.display()
    );
    if crate::qemu::host_tool_output(&mut download).is_err() {
        let mut update = if is_root() {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        update.arg("update");
        eprintln!(
            "qemu-runner: apt does not know {PACKAGE} yet: {}",
            crate::qemu::shell_line(&update)
        );
        crate::qemu::host_tool_output(&mut update)?;
        crate::qemu::host_tool_output(&mut download)?;
    }
    find().ok_or_else(|| {
        format!(
            "apt-get download left no {PACKAGE}_*.deb in {}",
            dir.display()
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Every module file of the unpacked package by module name (a file's name
/// with `-` read as `_`, as the kernel does: `crc32c-intel.ko` is `crc32c_intel`).
fn module_files(unpacked: &Path) -> Result<HashMap<String, PathBuf>, String> {
    let mut files = HashMap::new();
    let mut dirs = vec![unpacked.join("lib").join("modules").join(RELEASE)];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(name) = path.file_name().and_then(|name| name.to_str())
                && let Some(module) = name.strip_suffix(".ko")
            {
                files.insert(module.replace('-', "_"), path);
            }
        }
    }
    if files.is_empty() {
        return Err(format!(
            "no .ko files in {}: is the package's layout (or compression) different?",
            unpacked.display()
        ));
    }
    Ok(files)
}

/// The modules a module needs loaded first, as `modinfo -F depends` reads them.
fn depends(module: &Path) -> Result<Vec<String>, String> {
    let output =
        crate::qemu::host_tool_output(Command::new("modinfo").args(["-F", "depends"]).arg(module))?;
    Ok(String::from_utf8_lossy(&output)
        .trim()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect())
}

/// `needed` and everything they depend on, each after its dependencies.
fn load_order(
    needed: &[&str],
    files: &HashMap<String, PathBuf>,
    depends: impl Fn(&Path) -> Result<Vec<String>, String>,
) -> Result<Vec<(String, PathBuf)>, String> {
    /// Appends `name` after what it depends on, unless it is in `order` already.
    fn visit(
        name: &str,
        files: &HashMap<String, PathBuf>,
        depends: &dyn Fn(&Path) -> Result<Vec<String>, String>,
        order: &mut Vec<(String, PathBuf)>,
        visiting: &mut Vec<String>,
    ) -> Result<(), String> {
        if order.iter().any(|(loaded, _)| loaded == name) {
            return Ok(());
        }
        if visiting.iter().any(|open| open == name) {
            return Err(format!("modules depend on each other: {visiting:?}"));
        }
        let path = files
            .get(name)
            .ok_or_else(|| format!("the package has no module {name}"))?;
        visiting.push(name.to_owned());
        for dependency in depends(path)? {
            visit(&dependency, files, depends, order, visiting)?;
        }
        visiting.pop();
        order.push((name.to_owned(), path.clone()));
        Ok(())
    }
    let mut order = Vec::new();
    for name in needed {
        visit(name, files, &depends, &mut order, &mut Vec::new())?;
    }
    Ok(order)
}

/// Writes the initramfs: `/init`, the modules as `/modules/NN-NAME.ko`
/// numbered in load order, and the directories linux_init mounts on.
fn write_initramfs(path: &Path, init: &Path, modules: &[(String, PathBuf)]) -> Result<(), String> {
    let read =
        |file: &Path| std::fs::read(file).map_err(|error| format!("{}: {error}", file.display()));
    let mut archive = cpio::Archive::default();
    for dir in ["dev", "mnt", "modules"] {
        archive.directory(dir);
    }
    archive.char_device("dev/console", 5, 1);
    for (index, (name, file)) in modules.iter().enumerate() {
        archive.file(
            &format!("modules/{index:02}-{name}.ko"),
            0o644,
            &read(file)?,
        );
    }
    archive.file("init", 0o755, &read(init)?);
    std::fs::write(path, archive.finish())
        .map_err(|error| format!("{}: {error}", path.display()))?;
    let names: Vec<&str> = modules.iter().map(|(name, _)| name.as_str()).collect();
    eprintln!(
        "qemu-runner: initramfs {} with linux_init and the modules {}",
        path.display(),
        names.join(" ")
    );
    Ok(())
}

/// The "new ASCII" (newc) cpio format, the one the kernel unpacks as an
/// initramfs: per entry a 110-byte header of hexadecimal fields, the name,
/// the data, each padded to 4 bytes; a `TRAILER!!!` entry ends the archive.
mod cpio {
    const S_IFMT: u32 = 0o170000;
    const S_IFDIR: u32 = 0o040000;
    const S_IFCHR: u32 = 0o020000;
    const S_IFREG: u32 = 0o100000;

    #[derive(Default)]
    pub struct Archive {
        bytes: Vec<u8>,
        entries: u32,
    }

    impl Archive {
        pub fn directory(&mut self, name: &str) {
            self.entry(name, S_IFDIR | 0o755, (0, 0), &[]);
        }

        pub fn char_device(&mut self, name: &str, major: u32, minor: u32) {
            self.entry(name, S_IFCHR | 0o600, (major, minor), &[]);
        }

        pub fn file(&mut self, name: &str, permissions: u32, data: &[u8]) {
            self.entry(name, S_IFREG | permissions, (0, 0), data);
        }

        pub fn finish(mut self) -> Vec<u8> {
            self.entry("TRAILER!!!", 0, (0, 0), &[]);
            self.bytes
        }

        fn entry(&mut self, name: &str, mode: u32, (major, minor): (u32, u32), data: &[u8]) {
            self.entries += 1;
            let is_dir = mode & S_IFMT == S_IFDIR;
            let fields = [
                self.entries,               // inode
                mode,                       // mode
                0,                          // uid
                0,                          // gid
                if is_dir { 2 } else { 1 }, // nlink
                0,                          // mtime
                data.len() as u32,          // filesize
                0,                          // devmajor
                0,                          // devminor
                major,                      // rdevmajor
                minor,                      // rdevminor
                name.len() as u32 + 1,      // namesize, with the NUL
                0,                          // check
            ];
            self.bytes.extend_from_slice(b"070701");
            for field in fields {
                self.bytes
                    .extend_from_slice(format!("{field:08x}").as_bytes());
            }
            self.bytes.extend_from_slice(name.as_bytes());
            self.bytes.push(0);
            self.pad();
            self.bytes.extend_from_slice(data);
            self.pad();
        }

        fn pad(&mut self) {
            while !self.bytes.len().is_multiple_of(4) {
                self.bytes.push(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_load_after_their_dependencies_once_each() {
        let files: HashMap<String, PathBuf> = ["ext4", "jbd2", "crc16", "mbcache", "virtio"]
            .map(|name| (name.to_owned(), PathBuf::from(name)))
            .into();
        let depends = |path: &Path| -> Result<Vec<String>, String> {
            Ok(match path.to_str() {
                Some("ext4") => vec!["jbd2".into(), "mbcache".into(), "crc16".into()],
                Some("jbd2") => vec!["crc16".into()],
                _ => Vec::new(),
            })
        };
        let order = load_order(&["ext4", "jbd2", "virtio"], &files, depends).unwrap();
        let names: Vec<&str> = order.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["crc16", "jbd2", "mbcache", "ext4", "virtio"]);
        assert!(load_order(&["virtio_blk"], &files, depends).is_err());
    }

    #[test]
    fn dependency_cycles_are_reported() {
        let files: HashMap<String, PathBuf> = ["a", "b"]
            .map(|name| (name.to_owned(), PathBuf::from(name)))
            .into();
        let depends = |path: &Path| -> Result<Vec<String>, String> {
            Ok(vec![if path == Path::new("a") { "b" } else { "a" }.into()])
        };
        assert!(load_order(&["a"], &files, depends).is_err());
    }

    #[test]
    fn cpio_entries_are_newc_headers_padded_to_four_bytes() {
        let mut archive = cpio::Archive::default();
        archive.directory("dev");
        archive.file("init", 0o755, b"hello");
        let bytes = archive.finish();
        let header = |at: usize| {
            std::str::from_utf8(&bytes[at..at + 110])
                .unwrap()
                .to_owned()
        };
        let field = |header: &str, index: usize| {
            u32::from_str_radix(&header[6 + 8 * index..14 + 8 * index], 16).unwrap()
        };
        let dev = header(0);
        assert!(dev.starts_with("070701"));
        assert_eq!(field(&dev, 1), 0o040755);
        assert_eq!(&bytes[110..114], b"dev\0");
        // 110 + 4 name bytes = 114, padded to 116; a directory has no data.
        let init = header(116);
        assert_eq!(field(&init, 1), 0o100755);
        assert_eq!(field(&init, 6), 5);
        assert_eq!(field(&init, 11), 5);
        assert_eq!(&bytes[116 + 110..116 + 115], b"init\0");
        // The name ends at 231, padded to 232; the data ends at 237, padded to 240.
        assert_eq!(&bytes[232..237], b"hello");
        assert_eq!(&bytes[240 + 110..240 + 121], b"TRAILER!!!\0");
        assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn small_memory_sizes_are_raised_for_linux() {
        assert_eq!(at_least_min_memory("64M"), MIN_MEMORY);
        assert_eq!(at_least_min_memory("256M"), "256M");
        assert_eq!(at_least_min_memory("2G"), "2G");
    }
}

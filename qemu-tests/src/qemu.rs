//! One bounded QEMU boot: the command line, the console stream, the timeout,
//! and what the exit status means.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `isa-debug-exit` turns the kernel's value `v` into status `(v << 1) | 1`.
pub const STATUS_KERNEL_SUCCESS: i32 = (0x10 << 1) | 1;
pub const STATUS_KERNEL_FAILURE: i32 = (0x11 << 1) | 1;

/// How to boot.
#[derive(Clone, Debug)]
pub struct BootConfig {
    pub kernel: PathBuf,
    /// An initial RAM disk (`-initrd`): the Linux comparison's initramfs.
    pub initrd: Option<PathBuf>,
    pub memory: String,
    pub append: String,
    pub timeout: Duration,
    /// Wait for gdb on :1234 before the first instruction.
    pub gdb: bool,
    /// Echo the console to our stdout as it arrives.
    pub echo: bool,
    /// Pass our stdin to the guest's serial port.
    pub interactive: bool,
    pub log: PathBuf,
    /// Attached in order as `virtio-blk-pci` devices.
    pub disks: Vec<Disk>,
    /// Kill QEMU with SIGKILL the moment the console shows a line containing
    /// this (a power cut at a known point, for the durability checks).
    pub kill_on_line: Option<String>,
    /// What the runner types into the console, in order (the interactive
    /// checks of the terminal).
    pub typed: Vec<Keystrokes>,
}

/// Bytes typed into the guest's serial port once the console shows `after`
/// (searched from where the previous step's text was found).
#[derive(Clone, Debug)]
pub struct Keystrokes {
    pub after: &'static str,
    pub bytes: &'static [u8],
}

/// A disk image for the guest.
#[derive(Clone, Debug)]
pub struct Disk {
    /// A raw image path, or `blkdebug:CONF:IMG` to inject the errors that the
    /// blkdebug configuration file CONF describes into IMG's requests.
    pub file: String,
    pub read_only: bool,
}

impl Disk {
    /// The `-drive` value for this disk as `id`.
    fn drive_option(&self, id: &str) -> String {
        // QEMU's option syntax escapes a comma by doubling it.
        let file = self.file.replace(',', ",,");
        let read_only = if self.read_only { ",readonly=on" } else { "" };
        format!("file={file},if=none,id={id},format=raw{read_only}")
    }
}

/// How long a boot may take unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

impl BootConfig {
    /// A quiet, non-interactive boot of `kernel` in 1 GiB with no disks, the
    /// default timeout and its console logged to `log`; callers change what
    /// differs.
    pub fn new(kernel: PathBuf, log: PathBuf) -> BootConfig {
        BootConfig {
            kernel,
            initrd: None,
            memory: "1G".into(),
            append: String::new(),
            timeout: DEFAULT_TIMEOUT,
            gdb: false,
            echo: false,
            interactive: false,
            log,
            disks: Vec::new(),
            kill_on_line: None,
            typed: Vec::new(),
        }
    }
}

/// How a boot ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel reported success through `isa-debug-exit`.
    KernelSuccess,
    /// The kernel reported a failure (panic, fault, failed test).
    KernelFailure,
    /// Any other status. 0 is what a triple fault gives under `-no-reboot`.
    OtherStatus(i32),
    /// QEMU was killed by a signal.
    Killed,
    /// The runner killed QEMU when the console showed `kill_on_line`.
    KilledAtMarker,
    TimedOut(Duration),
}

impl Outcome {
    pub fn describe(&self) -> String {
        match self {
            Outcome::KernelSuccess => "kernel reported success".into(),
            Outcome::KernelFailure => "kernel reported failure".into(),
            Outcome::OtherStatus(0) => {
                "QEMU exited with status 0: the guest reset (a triple fault?)".into()
            }
            Outcome::OtherStatus(status) => format!("QEMU exited with unexpected status {status}"),
            Outcome::Killed => "QEMU was killed by a signal".into(),
            Outcome::KilledAtMarker => "QEMU was killed at the marker line".into(),
            Outcome::TimedOut(limit) => format!("timed out after {} s", limit.as_secs()),
        }
    }
}

pub struct BootResult {
    pub outcome: Outcome,
    pub console: String,
    pub elapsed: Duration,
}

/// The QEMU command line for `config`. TCG unless `ACCEL=kvm` is set.
pub fn command(config: &BootConfig) -> Command {
    let accel = std::env::var("ACCEL").unwrap_or_else(|_| "tcg".into());
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args(["-accel", &accel, "-cpu", "max", "-m", &config.memory])
        .arg("-kernel")
        .arg(&config.kernel)
        .args(
            config
                .initrd
                .iter()
                .flat_map(|initrd| [Path::new("-initrd"), initrd]),
        )
        .args(["-append", &config.append])
        .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .args([
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ]);
    for (index, disk) in config.disks.iter().enumerate() {
        let id = format!("disk{index}");
        qemu.arg("-drive").arg(disk.drive_option(&id));
        qemu.arg("-device")
            .arg(format!("virtio-blk-pci,drive={id}"));
    }
    if config.gdb {
        qemu.args(["-s", "-S"]);
    }
    qemu
}

/// Runs a host tool (mke2fs, debugfs, dpkg-deb, ...); its standard output,
/// or what went wrong with its standard error.
pub fn host_tool_output(command: &mut Command) -> Result<Vec<u8>, String> {
    let output = command.output().map_err(|error| {
        format!(
            "cannot run {:?}: {error} (run `make deps`)",
            command.get_program()
        )
    })?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "{} failed: {}",
            shell_line(command),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Renders a command as a shell line, for logs and the README.
pub fn shell_line(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(' ') {
            line += &format!(" '{arg}'");
        } else {
            line += &format!(" {arg}");
        }
    }
    line
}

/// Boots once, streaming the console to the log file (and stdout if asked),
/// and kills QEMU at the timeout.
pub fn boot(config: &BootConfig) -> std::io::Result<BootResult> {
    let mut qemu = command(config);
    qemu.stdout(Stdio::piped()).stderr(Stdio::inherit());
    qemu.stdin(if config.interactive {
        Stdio::inherit()
    } else if !config.typed.is_empty() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    if let Some(dir) = config.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut log = File::create(&config.log)?;
    writeln!(log, "# {}", shell_line(&qemu))?;
    let started = Instant::now();
    let mut child = qemu.spawn().map_err(|error| {
        std::io::Error::new(
            error.kind(),
            format!("cannot start qemu-system-x86_64 ({error}); run `make deps`"),
        )
    })?;
    let console = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut keyboard = child.stdin.take();
    let (mut next_keystrokes, mut searched_from) = (0, 0);
    let reader = {
        let console = Arc::clone(&console);
        let echo = config.echo;
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = stdout.read(&mut buffer) {
                let bytes = &buffer[..read];
                let _ = log.write_all(bytes);
                if echo {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(bytes);
                    let _ = out.flush();
                }
                console
                    .lock()
                    .expect("console lock")
                    .extend_from_slice(bytes);
            }
        })
    };
    let outcome = loop {
        if let Some(status) = child.try_wait()? {
            break match status.code() {
                Some(STATUS_KERNEL_SUCCESS) => Outcome::KernelSuccess,
                Some(STATUS_KERNEL_FAILURE) => Outcome::KernelFailure,
                Some(code) => Outcome::OtherStatus(code),
                None => Outcome::Killed,
            };
        }
        let marker_seen = config.kill_on_line.as_ref().is_some_and(|marker| {
            let console = console.lock().expect("console lock");
            console
                .windows(marker.len())
                .any(|window| window == marker.as_bytes())
        });
        if marker_seen {
            let _ = child.kill();
            let _ = child.wait();
            break Outcome::KilledAtMarker;
        }
        if let (Some(step), Some(keyboard)) = (config.typed.get(next_keystrokes), &mut keyboard) {
            let console = console.lock().expect("console lock");
            let shown = console[searched_from..]
                .windows(step.after.len())
                .position(|window| window == step.after.as_bytes());
            if let Some(at) = shown {
                searched_from += at + step.after.len();
                next_keystrokes += 1;
                keyboard.write_all(step.bytes)?;
                keyboard.flush()?;
            }
        }
        if !config.gdb && started.elapsed() > config.timeout {
            let _ = child.kill();
            let _ = child.wait();
            break Outcome::TimedOut(config.timeout);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let _ = reader.join();
    let bytes = console.lock().expect("console lock").clone();
    let console = String::from_utf8_lossy(&bytes).replace('\r', "");
    Ok(BootResult {
        outcome,
        console,
        elapsed,
    })
}

/// The last `lines` lines of a console, for failure reports.
pub fn tail(console: &str, lines: usize) -> String {
    let all: Vec<&str> = console.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set, the
/// workspace's `target/` otherwise.
pub fn cargo_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Where this workspace keeps its build outputs and logs.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("qemu-tests lives in the workspace")
        .to_path_buf()
}

/// What `make run` exits with: init's status as a shell reports it (128 +
/// the signal for a killed init), 124 for a timeout, 1 when the kernel failed
/// without init ending (a panic, no root).
pub fn exit_status(result: &BootResult) -> u8 {
    const SIGNALS: [(&str, u8); 5] = [
        ("SIGILL", 4),
        ("SIGTRAP", 5),
        ("SIGBUS", 7),
        ("SIGFPE", 8),
        ("SIGSEGV", 11),
    ];
    let init_status = result.console.lines().find_map(|line| {
        if let Some(status) = line.strip_prefix("init exited with status ") {
            return status.trim().parse::<u8>().ok();
        }
        let killed = line.strip_prefix("init killed by ")?;
        SIGNALS
            .iter()
            .find(|(name, _)| killed.starts_with(name))
            .map(|(_, number)| 128 + number)
    });
    match (&result.outcome, init_status) {
        (Outcome::TimedOut(_), _) => 124,
        (Outcome::KernelSuccess, status) => status.unwrap_or(0),
        (_, Some(status)) if status != 0 => status,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{BootResult, Outcome, exit_status};
    use std::time::Duration;

    fn result(outcome: Outcome, console: &str) -> BootResult {
        BootResult {
            outcome,
            console: console.into(),
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn make_run_exits_with_what_happened_to_init() {
        assert_eq!(
            exit_status(&result(
                Outcome::KernelSuccess,
                "init exited with status 0\n"
            )),
            0
        );
        assert_eq!(
            exit_status(&result(
                Outcome::KernelFailure,
                "init exited with status 3\n"
            )),
            3
        );
        assert_eq!(
            exit_status(&result(
                Outcome::KernelFailure,
                "init killed by SIGSEGV at 0x0\n"
            )),
            139
        );
        assert_eq!(
            exit_status(&result(
                Outcome::KernelFailure,
                "init killed by SIGBUS at 0x1000\n"
            )),
            135
        );
        assert_eq!(
            exit_status(&result(Outcome::KernelFailure, "KERNEL PANIC at x\n")),
            1
        );
        assert_eq!(
            exit_status(&result(
                Outcome::KernelFailure,
                "init exited with status 0\nsync at shutdown failed\n"
            )),
            1
        );
        assert_eq!(
            exit_status(&result(Outcome::TimedOut(Duration::from_secs(1)), "")),
            124
        );
        assert_eq!(exit_status(&result(Outcome::OtherStatus(0), "")), 1);
    }
}

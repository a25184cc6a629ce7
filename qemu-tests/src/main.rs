//! `qemu-runner`: builds the kernel, boots it in QEMU, and checks what it says.
//!
//! ```text
//! qemu-runner run  [--mem SIZE] [--append "WORDS"] [--timeout SECS]
//!                  [--init ELF] [--rootfs DIR] [--args "A B"] [--disk IMAGE]
//! qemu-runner test [NAME-FILTER]     host tests, then every QEMU case; one total
//! qemu-runner gdb  [--mem SIZE] [--append "WORDS"]
//! qemu-runner linux-run  [run's options]   the same, booting Debian's Linux
//! qemu-runner linux-test [NAME-FILTER]     the user-program cases on Linux
//! ```
//! `ACCEL=kvm` switches from TCG to KVM.

mod bench;
mod cases;
mod durability;
mod grade;
mod guest;
mod linux;
mod qemu;
mod rootfs;
mod symbolize;
#[cfg(test)]
mod tour;

use qemu::BootConfig;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

const KERNEL_TARGET: &str = "x86_64-unknown-none";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(args.get(1).map_or("", String::as_str)),
        Some("gdb") => gdb(&args[1..]),
        Some("linux-run") => linux::run(&args[1..]),
        Some("linux-test") => linux::test(args.get(1).map_or("", String::as_str)),
        Some("bench") => bench::bench(),
        Some("grade") => grade::grade(args.get(1).map(String::as_str)),
        Some("lab") => args
            .get(1)
            .ok_or_else(|| "usage: qemu-runner lab NN".to_string())
            .and_then(|number| grade::make_lab(number)),
        Some("labs-check") => grade::check_labs(),
        _ => Err(
            "usage: qemu-runner run|test|gdb|linux-run|linux-test|bench|grade|lab|labs-check [options] (see README.md)".into(),
        ),
    };
    result.unwrap_or_else(|message| {
        eprintln!("qemu-runner: {message}");
        ExitCode::FAILURE
    })
}

/// Builds the release kernel (with debug info, for symbolising) and returns its path.
fn build_kernel() -> Result<PathBuf, String> {
    let root = qemu::workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "qemu-runner: building the kernel (cargo build --release -p kernel --target {KERNEL_TARGET})"
    );
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "kernel",
            "--target",
            KERNEL_TARGET,
        ])
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err("building the kernel failed".into());
    }
    Ok(qemu::cargo_target_dir()
        .join(KERNEL_TARGET)
        .join("release")
        .join("kernel"))
}

/// Options shared by `run`, `gdb` and `linux-run`, for booting `kernel`. An
/// option given an empty value (as `make run` passes unset variables) counts
/// as not given.
fn boot_config(kernel: PathBuf, args: &[String]) -> Result<BootConfig, String> {
    let mut config = BootConfig {
        echo: true,
        interactive: true,
        ..BootConfig::new(kernel, qemu::workspace_root().join("build").join("run.log"))
    };
    let (mut init, mut rootfs, mut init_args, mut disk) = (None, None, String::new(), None);
    let mut options = args.iter();
    while let Some(option) = options.next() {
        let value = options
            .next()
            .cloned()
            .ok_or_else(|| format!("{option} needs a value"))?;
        if value.is_empty() {
            continue;
        }
        match option.as_str() {
            "--mem" => config.memory = value,
            "--append" => config.append = value,
            "--timeout" => {
                let seconds = value
                    .parse()
                    .map_err(|_| format!("--timeout takes seconds, not {value:?}"))?;
                config.timeout = Duration::from_secs(seconds);
            }
            "--init" => init = Some(PathBuf::from(value)),
            "--rootfs" => rootfs = Some(PathBuf::from(value)),
            "--args" => init_args = value,
            "--disk" => disk = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let init = match init {
        Some(init) => init,
        None => guest::build_c("msync_demo")?,
    };
    let image = match disk {
        Some(disk) => {
            eprintln!(
                "qemu-runner: installing {} as /sbin/init in {}",
                init.display(),
                disk.display()
            );
            rootfs::install_init(&disk, &init)?;
            disk
        }
        None => {
            let image = qemu::workspace_root().join("build").join("root.img");
            eprintln!(
                "qemu-runner: building the root file system {} (mke2fs -d)",
                image.display()
            );
            rootfs::build(&image, &init, rootfs.as_deref(), 4096)?
        }
    };
    config.disks.push(qemu::Disk {
        file: image.display().to_string(),
        read_only: false,
    });
    if !init_args.is_empty() {
        config.append = format!("{} -- {init_args}", config.append);
    }
    Ok(config)
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    run_config(&boot_config(build_kernel()?, args)?)
}

/// Boots `config` with the console on our terminal; exits with init's status.
fn run_config(config: &BootConfig) -> Result<ExitCode, String> {
    eprintln!("qemu-runner: {}", qemu::shell_line(&qemu::command(config)));
    let result = qemu::boot(config).map_err(|error| error.to_string())?;
    let frames = symbolize::backtrace_addresses(&result.console);
    if !frames.is_empty() {
        eprintln!("symbolized backtrace:");
        for frame in symbolize::symbolize(&config.kernel, &frames) {
            eprintln!("  {frame}");
        }
    }
    let status = qemu::exit_status(&result);
    eprintln!(
        "qemu-runner: {} after {:.2} s; exit status {status} (console log: {})",
        result.outcome.describe(),
        result.elapsed.as_secs_f64(),
        config.log.display()
    );
    Ok(ExitCode::from(status))
}

fn gdb(args: &[String]) -> Result<ExitCode, String> {
    let mut config = boot_config(build_kernel()?, args)?;
    config.gdb = true;
    eprintln!("qemu-runner: QEMU is waiting for gdb on localhost:1234. In another terminal:");
    eprintln!(
        "  gdb {} -ex 'target remote localhost:1234' -ex 'hbreak kernel::boot' -ex continue",
        config.kernel.display()
    );
    eprintln!("qemu-runner: {}", qemu::shell_line(&qemu::command(&config)));
    let result = qemu::boot(&config).map_err(|error| error.to_string())?;
    eprintln!("qemu-runner: {}", result.outcome.describe());
    Ok(ExitCode::SUCCESS)
}

/// Counts from the host tests: `cargo test` for every host crate.
fn host_tests() -> Result<(usize, usize), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("qemu-runner: host tests (cargo test --workspace --exclude kernel --exclude arch)");
    let output = Command::new(cargo)
        .current_dir(qemu::workspace_root())
        .args([
            "test",
            "--workspace",
            "--exclude",
            "kernel",
            "--exclude",
            "arch",
        ])
        .output()
        .map_err(|error| format!("cannot run cargo test: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let (mut passed, mut failed) = (0, 0);
    for line in stdout.lines() {
        let (line_passed, line_failed) = cargo_test_counts(line);
        passed += line_passed;
        failed += line_failed;
    }
    if !output.status.success() && failed == 0 {
        failed = 1;
    }
    Ok((passed, failed))
}

/// The counts of a `test result: ok. 11 passed; 0 failed; ...` line.
fn cargo_test_counts(line: &str) -> (usize, usize) {
    let Some((_, counts)) = line
        .strip_prefix("test result: ")
        .and_then(|rest| rest.split_once(". "))
    else {
        return (0, 0);
    };
    let count = |kind: &str| {
        counts
            .split(';')
            .filter_map(|part| part.trim().split_once(' '))
            .find(|(_, word)| *word == kind)
            .and_then(|(number, _)| number.parse().ok())
            .unwrap_or(0)
    };
    (count("passed"), count("failed"))
}

fn test(filter: &str) -> Result<ExitCode, String> {
    let (host_passed, host_failed) = if filter.is_empty() {
        host_tests()?
    } else {
        (0, 0)
    };
    let base = BootConfig::new(
        build_kernel()?,
        qemu::workspace_root().join("build").join("qemu-tests"),
    );
    let (mut qemu_passed, mut qemu_failed, mut kernel_tests) = (0, 0, 0);
    for case in cases::all()
        .iter()
        .filter(|case| case.name.contains(filter))
    {
        match cases::run(case, &base) {
            Ok(counted) => {
                qemu_passed += 1;
                kernel_tests += counted;
                println!("qemu {} ... ok", case.name);
            }
            Err(reason) => {
                qemu_failed += 1;
                println!("qemu {} ... FAILED: {reason}", case.name);
            }
        }
    }
    for check in durability::all()
        .iter()
        .filter(|check| check.name.contains(filter))
    {
        match durability::run(check, &base) {
            Ok(()) => {
                qemu_passed += 1;
                println!("qemu {} ... ok", check.name);
            }
            Err(reason) => {
                qemu_failed += 1;
                println!("qemu {} ... FAILED: {reason}", check.name);
            }
        }
    }
    println!(
        "host tests: {host_passed} passed, {host_failed} failed; QEMU boots: {qemu_passed} passed, {qemu_failed} failed (in-kernel tests: {kernel_tests} passed)"
    );
    let passed = host_passed + qemu_passed + kernel_tests;
    let failed = host_failed + qemu_failed;
    println!("total: {passed} passed, {failed} failed");
    Ok(if failed == 0 && passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::cargo_test_counts;

    #[test]
    fn reads_cargo_test_summaries() {
        let ok = "test result: ok. 11 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s";
        assert_eq!(cargo_test_counts(ok), (11, 0));
        let failed =
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(cargo_test_counts(failed), (3, 2));
        assert_eq!(cargo_test_counts("running 3 tests"), (0, 0));
    }
}

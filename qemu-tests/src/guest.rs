//! The guest programs: static Linux x86_64 executables that the kernel runs
//! as init (see docs/user-programs.md).
//!
//! - C programs, `user/c/NAME.c`: `musl-gcc -static -O2 -Wall -Werror` into
//!   `build/guest/NAME`, or as a static position-independent executable
//!   (`ET_DYN` without an interpreter) into `build/guest/NAME-pie`.
//! - Rust programs, `user/rust/PACKAGE`: `cargo build --release --target
//!   x86_64-unknown-linux-musl -p PACKAGE`, linked without any libc by
//!   `.cargo/config.toml`.
//!
//! The unit tests build each program and run it on the host, which is Linux:
//! that is the proof that the suites assert what Linux does.
use crate::qemu::workspace_root;
use std::path::PathBuf;
use std::process::Command;

/// The target the Rust guest programs are built for.
pub const RUST_TARGET: &str = "x86_64-unknown-linux-musl";

/// The last line of every test program: "N passed, N failed".
pub fn summary_counts(output: &str) -> Option<(usize, usize)> {
    let line = output.lines().rev().find(|line| !line.trim().is_empty())?;
    let (passed, failed) = line.trim().split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some((passed.parse().ok()?, failed.parse().ok()?))
}

/// The byte that `user/c/pattern.h` stores at file offset `offset` for `seed`:
/// `(seed * 131 + offset * 7) mod 251`.
pub fn pattern_byte(seed: u64, offset: u64) -> u8 {
    ((seed * 131 + offset * 7) % 251) as u8
}

/// How a C program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Linkage {
    /// `ET_EXEC` at a fixed address.
    Static,
    /// `ET_DYN` without `PT_INTERP`, relocating itself at start-up (musl's
    /// `rcrt1.o`). Debian's `musl-gcc -static-pie` links the wrong start file
    /// and adds an interpreter, so the link is spelled out here.
    StaticPie,
}

/// Where Debian's musl-tools keeps musl's start files and `libc.a`.
const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {what} (scripts/deps.sh installs it): {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed"))
    }
}

/// Compiles `user/c/NAME.c` into `build/guest/NAME` and returns that path.
pub fn build_c(name: &str) -> Result<PathBuf, String> {
    build_c_linked(name, Linkage::Static)
}

/// Compiles `user/c/NAME.c` with `linkage` into `build/guest/`.
pub fn build_c_linked(name: &str, linkage: Linkage) -> Result<PathBuf, String> {
    let root = workspace_root();
    let source = root.join("user").join("c").join(format!("{name}.c"));
    let out_dir = root.join("build").join("guest");
    std::fs::create_dir_all(&out_dir)
        .map_err(|error| format!("cannot create {}: {error}", out_dir.display()))?;
    let warnings = ["-O2", "-Wall", "-Werror"];
    match linkage {
        Linkage::Static => {
            let output = out_dir.join(name);
            run(
                Command::new("musl-gcc")
                    .arg("-static")
                    .args(warnings)
                    .arg("-o")
                    .arg(&output)
                    .arg(&source),
                &format!("musl-gcc on {}", source.display()),
            )?;
            Ok(output)
        }
        Linkage::StaticPie => {
            let output = out_dir.join(format!("{name}-pie"));
            let object = out_dir.join(format!("{name}-pie.o"));
            run(
                Command::new("musl-gcc")
                    .arg("-fPIE")
                    .args(warnings)
                    .arg("-c")
                    .arg("-o")
                    .arg(&object)
                    .arg(&source),
                &format!("musl-gcc on {}", source.display()),
            )?;
            let libgcc = Command::new("gcc")
                .arg("-print-libgcc-file-name")
                .output()
                .map_err(|error| format!("cannot run gcc: {error}"))?;
            let musl = |file: &str| format!("{MUSL_LIB}/{file}");
            run(
                Command::new("gcc")
                    .args(["-static-pie", "-nostdlib", "-o"])
                    .arg(&output)
                    .args([musl("rcrt1.o"), musl("crti.o")])
                    .arg(&object)
                    .args([musl("libc.a"), musl("crtn.o")])
                    .arg(String::from_utf8_lossy(&libgcc.stdout).trim()),
                "linking a static PIE with gcc",
            )?;
            Ok(output)
        }
    }
}

/// Builds the Rust program `package` (a member under `user/rust/`) and returns
/// the path of its static executable.
pub fn build_rust(package: &str) -> Result<PathBuf, String> {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--target", RUST_TARGET, "-p", package])
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("building {package} for {RUST_TARGET} failed"));
    }
    Ok(crate::qemu::cargo_target_dir()
        .join(RUST_TARGET)
        .join("release")
        .join(package))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Output, Stdio};

    /// A fresh directory for one test's files, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let path = std::env::temp_dir().join(format!("guest-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `program` with `args` and returns its output, echoing its stdout.
    fn run(program: &Path, args: &[&Path]) -> Output {
        let output = Command::new(program).args(args).output().unwrap();
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Asserts exit status 0 and a final "N passed, 0 failed" with N > 0.
    fn assert_all_passed(output: &Output) {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let counts = summary_counts(&stdout);
        assert!(
            matches!(counts, Some((passed, 0)) if passed > 0),
            "expected \"N passed, 0 failed\", got {counts:?}"
        );
        assert_eq!(output.status.code(), Some(0));
    }

    #[test]
    fn summary_line_is_read_from_the_end() {
        assert_eq!(
            summary_counts("PASS a\n33 passed, 0 failed\n"),
            Some((33, 0))
        );
        assert_eq!(summary_counts("2 passed, 1 failed\n\n"), Some((2, 1)));
        assert_eq!(summary_counts("FAIL a: expected 0 got 1\n"), None);
        assert_eq!(summary_counts(""), None);
    }

    #[test]
    fn msync_conformance_passes_on_linux() {
        let program = build_c("msync_conformance").unwrap();
        let dir = TempDir::new("msync_conformance");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn libc_smoke_passes_on_linux() {
        let program = build_c("libc_smoke").unwrap();
        let dir = TempDir::new("libc_smoke");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn regressions_pass_on_linux() {
        let program = build_c("regressions").unwrap();
        let dir = TempDir::new("regressions");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn processes_pass_on_linux() {
        let program = build_c("processes").unwrap();
        let dir = TempDir::new("processes");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn memory_flags_pass_on_linux() {
        let program = build_c("memory_flags").unwrap();
        let dir = TempDir::new("memory_flags");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn file_calls_pass_on_linux() {
        let program = build_c("file_calls").unwrap();
        let dir = TempDir::new("file_calls");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn file_times_pass_on_linux() {
        let program = build_c("file_times").unwrap();
        let dir = TempDir::new("file_times");
        assert_all_passed(&run(&program, &[&dir.0]));
    }

    #[test]
    fn rust_smoke_passes_on_linux() {
        let program = build_rust("smoke").unwrap();
        assert_all_passed(&run(&program, &[]));
    }

    #[test]
    fn msync_demo_succeeds_on_linux() {
        let program = build_c("msync_demo").unwrap();
        let dir = TempDir::new("msync_demo");
        let output = run(&program, &[&dir.0]);
        assert_eq!(output.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&output.stdout).contains("Success"));
    }

    #[test]
    fn durability_sync_leaves_the_pattern_in_the_file() {
        let program = build_c("durability").unwrap();
        let dir = TempDir::new("durability");
        let file = dir.0.join("pattern.bin");
        let (seed, size) = (7, 20_000);
        let mut child = Command::new(&program)
            .arg("sync")
            .arg(&file)
            .args([seed.to_string(), size.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let marker = stdout
            .lines()
            .map_while(Result::ok)
            .any(|line| line == "DURABILITY-MARKER");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            marker,
            "durability ended without printing DURABILITY-MARKER"
        );
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(bytes.len(), size as usize);
        let wrong = (0..size).find(|&i| bytes[i as usize] != pattern_byte(seed, i));
        assert_eq!(wrong, None, "first offset that does not hold the pattern");
    }
}

//! The coursework's tooling: `make lab LAB=NN` (a branch with the lab's work
//! taken out), `make grade [LAB=NN]` (the graded tests with their points and
//! a score), and `make labs-check` (CI: every lab's patch applies, and the
//! lab scores below 100 with the work taken out and 100 on main).
//!
//! A lab is a directory `labs/NN-name/` holding `README.md` (the handout),
//! `lab.patch` (against main) and `grade.txt`, one graded test per line:
//!
//! ```text
//! POINTS host CRATE TARGET FILTER   cargo test -p CRATE --test TARGET FILTER
//!                                    (TARGET `lib`: the crate's own unit tests)
//! POINTS qemu NAME                  the QEMU case or durability check NAME
//! POINTS kernel FILTER              the in-kernel tests whose names contain FILTER
//! ```
//!
//! `#` starts a comment; a lab's points add up to 100.

use crate::cases;
use crate::qemu::{BootConfig, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// One graded test.
#[derive(Clone, Debug)]
enum Test {
    Host {
        krate: String,
        target: String,
        filter: String,
    },
    Qemu(String),
    Kernel(String),
}

#[derive(Clone, Debug)]
struct Graded {
    points: u32,
    test: Test,
    /// The test as `grade.txt` names it (the line without its points).
    what: String,
}

struct Lab {
    number: String,
    dir: PathBuf,
    tests: Vec<Graded>,
}

/// Every lab under `labs/`, in number order.
fn labs() -> Result<Vec<Lab>, String> {
    let root = workspace_root().join("labs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|error| format!("{}: {error}", root.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("grade.txt").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().map(|dir| read_lab(&dir)).collect()
}

/// The lab whose directory starts with `number` (`01`, or `1`).
fn lab(number: &str) -> Result<Lab, String> {
    let wanted = format!("{:0>2}", number);
    labs()?
        .into_iter()
        .find(|lab| lab.number == wanted)
        .ok_or_else(|| format!("no lab {wanted} under labs/"))
}

fn read_lab(dir: &Path) -> Result<Lab, String> {
    let name = dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let number = name.split('-').next().unwrap_or_default().to_string();
    let spec = std::fs::read_to_string(dir.join("grade.txt"))
        .map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut tests = Vec::new();
    for (index, raw) in spec.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let where_ = || format!("{}/grade.txt line {}", dir.display(), index + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        let points = words[0]
            .parse()
            .map_err(|_| format!("{}: points must be a number", where_()))?;
        let test = match words[1..] {
            ["host", krate, target, filter] => Test::Host {
                krate: krate.into(),
                target: target.into(),
                filter: filter.into(),
            },
            ["qemu", name] => Test::Qemu(name.into()),
            ["kernel", filter] => Test::Kernel(filter.into()),
            _ => return Err(format!("{}: cannot read {line:?}", where_())),
        };
        tests.push(Graded {
            points,
            test,
            what: words[1..].join(" "),
        });
    }
    let total: u32 = tests.iter().map(|test| test.points).sum();
    if total != 100 {
        return Err(format!(
            "{}: points add up to {total}, not 100",
            dir.display()
        ));
    }
    Ok(Lab {
        number,
        dir: dir.to_path_buf(),
        tests,
    })
}

/// `make grade [LAB=NN]`: runs the graded tests of one lab (or of every
/// lab), prints each with the points it earned, and ends with
/// `score: X/100`.
pub fn grade(number: Option<&str>) -> Result<ExitCode, String> {
    let labs = match number {
        Some(number) => vec![lab(number)?],
        None => labs()?,
    };
    let base = BootConfig::new(
        crate::build_kernel()?,
        workspace_root().join("build").join("grade"),
    );
    let (mut earned, mut possible) = (0, 0);
    for lab in &labs {
        println!("lab {} ({}):", lab.number, lab.dir.display());
        for graded in &lab.tests {
            possible += graded.points;
            match run(&graded.test, &base) {
                Ok(()) => {
                    earned += graded.points;
                    println!(
                        "  {:>3}/{:<3} {}",
                        graded.points, graded.points, graded.what
                    );
                }
                Err(reason) => {
                    println!("  {:>3}/{:<3} {}", 0, graded.points, graded.what);
                    for line in telling_lines(&reason) {
                        println!("          {line}");
                    }
                }
            }
        }
    }
    let score = earned * 100 / possible.max(1);
    println!("score: {score}/100");
    Ok(if score == 100 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What a student needs of a failure: its first line and the lines that
/// say what went wrong (a panic and its message, a failed case, an
/// exception), not the whole log.
fn telling_lines(reason: &str) -> Vec<&str> {
    const TELLING: [&str; 6] = [
        "panicked",
        "PANIC",
        "not yet implemented",
        "FAIL ",
        "EXCEPTION",
        "assertion",
    ];
    let mut lines: Vec<&str> = reason.lines().take(1).collect();
    lines.extend(
        reason
            .lines()
            .skip(1)
            .filter(|line| TELLING.iter().any(|word| line.contains(word)))
            .take(5),
    );
    lines
}

/// Runs one graded test; the error is what a student needs to see: the
/// assertion that failed, not the whole log.
fn run(test: &Test, base: &BootConfig) -> Result<(), String> {
    match test {
        Test::Host {
            krate,
            target,
            filter,
        } => host_test(krate, target, filter),
        Test::Qemu(name) => {
            if let Some(case) = cases::all().into_iter().find(|case| case.name == name) {
                return cases::run(&case, base).map(|_| ());
            }
            let check = crate::durability::all()
                .into_iter()
                .find(|check| check.name == name)
                .ok_or_else(|| format!("no QEMU case or durability check named {name}"))?;
            crate::durability::run(&check, base)
        }
        Test::Kernel(filter) => cases::run(&cases::kernel_tests(filter), base).map(|_| ()),
    }
}

/// `cargo test -p CRATE --test TARGET FILTER`: passes if it succeeds and ran
/// at least one test; otherwise the panic lines.
fn host_test(krate: &str, target: &str, filter: &str) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["test", "-q", "-p", krate]);
    if target == "lib" {
        command.arg("--lib");
    } else {
        command.args(["--test", target]);
    }
    let output = command
        .arg(filter)
        .output()
        .map_err(|error| format!("cannot run cargo test: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (passed, _) = stdout
        .lines()
        .map(crate::cargo_test_counts)
        .fold((0, 0), |(p, f), (lp, lf)| (p + lp, f + lf));
    if output.status.success() && passed > 0 {
        return Ok(());
    }
    let mut reasons: Vec<String> = Vec::new();
    let all: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    for (index, line) in all.iter().enumerate() {
        if line.contains("panicked at") {
            reasons.push(line.trim().to_string());
            if let Some(next) = all.get(index + 1) {
                reasons.push(next.trim().to_string());
            }
        } else if line.starts_with("error") {
            reasons.push(line.trim().to_string());
        }
    }
    if reasons.is_empty() {
        reasons.push(if passed == 0 {
            format!("no test matched {filter:?}")
        } else {
            "cargo test failed".into()
        });
    }
    Err(reasons.join("\n"))
}

/// `make lab LAB=NN`: a branch `lab-NN` from the current commit with the
/// lab's patch applied and committed. Refuses on a dirty tree.
pub fn make_lab(number: &str) -> Result<ExitCode, String> {
    if number.is_empty() {
        return Err("which lab? make lab LAB=NN (labs/README.md lists them)".into());
    }
    let lab = lab(number)?;
    let root = workspace_root();
    let dirty = git(&root, &["status", "--porcelain"])?;
    if !dirty.trim().is_empty() {
        return Err("the tree has uncommitted changes: commit or stash them first".into());
    }
    let here = git(&root, &["rev-parse", "--abbrev-ref", "HEAD"])?;
    let branch = format!("lab-{}", lab.number);
    git(&root, &["checkout", "-b", &branch])?;
    let patch = lab.dir.join("lab.patch");
    git(&root, &["apply", &patch.to_string_lossy()])?;
    git(
        &root,
        &[
            "commit",
            "-q",
            "-am",
            &format!("lab {}: the work taken out", lab.number),
        ],
    )?;
    println!(
        "on branch {branch}: the work of lab {} is yours to do (handout: {}).",
        lab.number,
        lab.dir.join("README.md").display()
    );
    println!(
        "`make grade LAB={}` scores it; `git checkout {}` goes back.",
        lab.number,
        here.trim()
    );
    Ok(ExitCode::SUCCESS)
}

/// `make labs-check` (CI): for every lab, its patch applies to this commit,
/// the patched tree scores below 100 (the graded tests fail without the
/// work), and this tree scores 100.
pub fn check_labs() -> Result<ExitCode, String> {
    let root = workspace_root();
    let mut failures = Vec::new();
    // One target directory for every patched tree: the dependencies are
    // built once.
    let target_dir = root.join("build").join("labs-target");
    for lab in labs()? {
        let tree = root.join("build").join(format!("lab-{}-tree", lab.number));
        let _ = git(
            &root,
            &["worktree", "remove", "--force", &tree.to_string_lossy()],
        );
        git(
            &root,
            &[
                "worktree",
                "add",
                "--detach",
                &tree.to_string_lossy(),
                "HEAD",
            ],
        )?;
        let patched = git(
            &tree,
            &["apply", &lab.dir.join("lab.patch").to_string_lossy()],
        );
        let scored = patched.and_then(|_| score_in(&tree, &lab.number, &target_dir));
        let _ = git(
            &root,
            &["worktree", "remove", "--force", &tree.to_string_lossy()],
        );
        let main_score = score_in(&root, &lab.number, &target_dir.join("main"));
        match (scored, main_score) {
            (Ok(without), Ok(100)) if without < 100 => {
                println!(
                    "lab {}: {without}/100 with the work taken out, 100/100 on this commit",
                    lab.number
                );
            }
            (without, with) => {
                let line = format!(
                    "lab {}: taken out {without:?}, this commit {with:?}",
                    lab.number
                );
                println!("{line}");
                failures.push(line);
            }
        }
    }
    if failures.is_empty() {
        println!("labs: every patch applies; each lab fails without its work and passes with it");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("{} labs are broken", failures.len()))
    }
}

/// `make grade LAB=NN` in `tree`: the score it prints.
fn score_in(tree: &Path, number: &str, target_dir: &Path) -> Result<u32, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(tree)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["run", "-q", "-p", "qemu-tests", "--", "grade", number])
        .output()
        .map_err(|error| format!("cannot run the grader: {error}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| {
            line.strip_prefix("score: ")?
                .strip_suffix("/100")?
                .parse()
                .ok()
        })
        .ok_or_else(|| {
            format!(
                "no score from {}: {}",
                tree.display(),
                crate::qemu::tail(&String::from_utf8_lossy(&output.stderr), 5)
            )
        })
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

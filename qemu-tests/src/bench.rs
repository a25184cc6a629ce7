//! `make bench`: the same benchmark binary (`user/c/msync_bench.c`) on our
//! kernel and on Linux, in the same QEMU configuration with the same ext2
//! image recipe, and a table of the medians side by side. Only ratios from
//! one run mean anything: TCG timing is noisy and depends on the machine.

use crate::cases::Guest;
use crate::qemu::{BootConfig, BootResult, Disk, Outcome, workspace_root};
use std::process::ExitCode;
use std::time::Duration;

/// Both kernels get this much memory (the 64 MiB runs and a 1 GiB mapping).
const MEMORY: &str = "1G";
const TIMEOUT: Duration = Duration::from_secs(900);
/// Boots of each kernel. The host's state (its own write-back, other load)
/// shifts a whole boot's figures, so each line is the median over boots
/// taken in turn, ours then Linux, and a slow spell hits both.
const BOOTS: usize = 3;

/// A figure the benchmark prints: `bench NAME VALUE UNIT`.
struct Figure {
    name: String,
    value: f64,
    unit: String,
}

impl Figure {
    /// Rates are better high, times better low; the ratio is always "how
    /// many times better ours is" (≥ 1.0: ours wins).
    fn ours_over_linux(ours: &Figure, linux: &Figure) -> f64 {
        if ours.unit.ends_with("/s") {
            ours.value / linux.value
        } else {
            linux.value / ours.value
        }
    }
}

/// How many repetitions each median is of (the benchmark's `reps N` line).
fn repetitions(console: &str) -> Option<u32> {
    console
        .lines()
        .find_map(|line| line.strip_prefix("reps ")?.trim().parse().ok())
}

fn figures(console: &str) -> Vec<Figure> {
    console
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("bench ")?.split_whitespace();
            let (name, value, unit) = (words.next()?, words.next()?, words.next()?);
            Some(Figure {
                name: name.into(),
                value: value.parse().ok()?,
                unit: unit.into(),
            })
        })
        .collect()
}

/// What one kernel's run of the benchmark printed.
struct Measurement {
    figures: Vec<Figure>,
    repetitions: u32,
}

/// Boots `kernel` (with `initrd` and command-line `prefix`) on a fresh root
/// image holding the benchmark, and returns its figures.
fn measure(
    name: &str,
    kernel: std::path::PathBuf,
    initrd: Option<std::path::PathBuf>,
    prefix: &str,
) -> Result<Measurement, String> {
    let dir = workspace_root().join("build").join("bench");
    let image = dir.join(format!("{name}.img"));
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    crate::rootfs::build(&image, &Guest::C("msync_bench").build()?, None, 4096)?;
    let config = BootConfig {
        initrd,
        memory: MEMORY.into(),
        append: format!("{prefix} -- /").trim_start().into(),
        timeout: TIMEOUT,
        disks: vec![Disk {
            file: image.display().to_string(),
            read_only: false,
        }],
        ..BootConfig::new(kernel, dir.join(format!("{name}.log")))
    };
    eprintln!(
        "qemu-runner: benchmarking {name} (console log: {})",
        config.log.display()
    );
    let result: BootResult = crate::qemu::boot(&config).map_err(|error| error.to_string())?;
    let done = result.console.lines().any(|line| line == "bench done");
    if result.outcome != Outcome::KernelSuccess || !done {
        return Err(format!(
            "the benchmark on {name} did not finish: {}\n{}",
            result.outcome.describe(),
            crate::qemu::tail(&result.console, 20)
        ));
    }
    Ok(Measurement {
        figures: figures(&result.console),
        repetitions: repetitions(&result.console)
            .ok_or_else(|| format!("the benchmark on {name} printed no `reps N` line"))?,
    })
}

pub fn bench() -> Result<ExitCode, String> {
    let kernel = crate::build_kernel()?;
    let linux_guest = crate::linux::prepare()?;
    let (mut ours, mut linux) = (Vec::new(), Vec::new());
    for _ in 0..BOOTS {
        ours.push(measure("ours", kernel.clone(), None, "")?);
        linux.push(measure(
            "linux",
            linux_guest.vmlinux.clone(),
            Some(linux_guest.initramfs.clone()),
            crate::linux::COMMAND_LINE,
        )?);
    }
    let (ours, linux) = (median_over_boots(ours), median_over_boots(linux));
    println!(
        "{:<34} {:>14} {:>14}  {:>7}",
        format!("median of {BOOTS} boots x {} runs", ours.repetitions),
        "ours",
        "Linux 6.1",
        "ours/Linux"
    );
    for figure in &ours.figures {
        let Some(reference) = linux.figures.iter().find(|other| other.name == figure.name) else {
            continue;
        };
        println!(
            "{:<34} {:>9.1} {:<5}{:>9.1} {:<5} {:>6.2}x",
            figure.name,
            figure.value,
            figure.unit,
            reference.value,
            reference.unit,
            Figure::ours_over_linux(figure, reference)
        );
    }
    println!("(ours/Linux: how many times better ours is; at least 1.00x means ours is as good)");
    for (kernel, measured) in [("ours", &ours), ("Linux", &linux)] {
        if let Some(share) = share_of_device_limit(&measured.figures) {
            println!(
                "{kernel}: 64 MiB MS_SYNC write-back at {:.0}% of the device limit (O_DIRECT)",
                share * 100.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each figure of the first boot, as the median of its values over all the
/// boots (each itself a median of the benchmark's repetitions).
fn median_over_boots(boots: Vec<Measurement>) -> Measurement {
    let mut boots = boots.into_iter();
    let first = boots.next().expect("at least one boot");
    let rest: Vec<Measurement> = boots.collect();
    let figures = first
        .figures
        .into_iter()
        .map(|figure| {
            let mut values: Vec<f64> = rest
                .iter()
                .flat_map(|boot| boot.figures.iter())
                .filter(|other| other.name == figure.name)
                .map(|other| other.value)
                .chain([figure.value])
                .collect();
            values.sort_by(f64::total_cmp);
            Figure {
                value: values[values.len() / 2],
                ..figure
            }
        })
        .collect();
    Measurement {
        figures,
        repetitions: first.repetitions,
    }
}

/// Write-back throughput over O_DIRECT throughput in the same run: how close
/// msync comes to what the device and file system take at best.
fn share_of_device_limit(figures: &[Figure]) -> Option<f64> {
    let rate = |name: &str| {
        figures
            .iter()
            .find(|figure| figure.name == name)
            .map(|figure| figure.value)
    };
    Some(rate("writeback_64mib_ms_sync")? / rate("direct_64mib_write")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSOLE: &str = "reps 11\n\
                           bench writeback_64mib_ms_sync 900.0 MiB/s\n\
                           noise bench line\n\
                           bench clean_64mib_ms_sync 4.5 us\n\
                           bench direct_64mib_write 1000.0 MiB/s\n\
                           bench done\n";

    #[test]
    fn figures_are_read_from_bench_lines_only() {
        let read = figures(CONSOLE);
        let names: Vec<&str> = read.iter().map(|figure| figure.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "writeback_64mib_ms_sync",
                "clean_64mib_ms_sync",
                "direct_64mib_write"
            ]
        );
        assert_eq!(read[1].value, 4.5);
        assert_eq!(read[1].unit, "us");
        assert_eq!(repetitions(CONSOLE), Some(11));
        assert_eq!(repetitions("bench done\n"), None);
    }

    #[test]
    fn ratio_is_better_when_a_rate_is_higher_or_a_time_lower() {
        let figure = |value: f64, unit: &str| Figure {
            name: String::new(),
            value,
            unit: unit.into(),
        };
        assert_eq!(
            Figure::ours_over_linux(&figure(600.0, "MiB/s"), &figure(300.0, "MiB/s")),
            2.0
        );
        assert_eq!(
            Figure::ours_over_linux(&figure(4.0, "us"), &figure(2.0, "us")),
            0.5
        );
    }

    #[test]
    fn each_line_is_the_median_over_boots() {
        let boot = |writeback: f64, clean: f64| Measurement {
            figures: figures(&format!(
                "bench writeback_64mib_ms_sync {writeback} MiB/s\nbench clean_64mib_ms_sync {clean} us\n"
            )),
            repetitions: 11,
        };
        let combined =
            median_over_boots(vec![boot(900.0, 9.0), boot(1200.0, 2.0), boot(1000.0, 3.0)]);
        let values: Vec<f64> = combined.figures.iter().map(|figure| figure.value).collect();
        assert_eq!(values, [1000.0, 3.0]);
        assert_eq!(combined.figures[1].unit, "us");
    }

    #[test]
    fn write_back_share_of_the_device_limit() {
        assert_eq!(share_of_device_limit(&figures(CONSOLE)), Some(0.9));
        assert_eq!(share_of_device_limit(&figures("bench done\n")), None);
    }
}

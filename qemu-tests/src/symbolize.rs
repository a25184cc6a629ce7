//! Turns the kernel's backtrace lines (`  #N 0xADDR`) into function names and
//! source lines with `addr2line` and the kernel ELF.

use std::path::Path;
use std::process::Command;

/// The addresses of the backtrace in `console`, in order.
pub fn backtrace_addresses(console: &str) -> Vec<u64> {
    console
        .lines()
        .skip_while(|line| line.trim() != "backtrace:")
        .skip(1)
        .take_while(|line| line.trim() != "end of backtrace")
        .filter_map(|line| {
            let (_, hex) = line.trim().split_once(" 0x")?;
            u64::from_str_radix(hex, 16).ok()
        })
        .collect()
}

/// One line per frame: `#N 0xADDR function at file:line`, with the functions
/// inlined into it after `<-`. Return addresses are looked up one byte back,
/// inside the call instruction.
pub fn symbolize(kernel: &Path, addresses: &[u64]) -> Vec<String> {
    let lookups: Vec<String> = addresses
        .iter()
        .enumerate()
        .map(|(index, &address)| format!("{:#x}", if index == 0 { address } else { address - 1 }))
        .collect();
    let output = Command::new("addr2line")
        .args(["-a", "-f", "-i", "-C", "-e"])
        .arg(kernel)
        .args(&lookups)
        .output();
    let Some(output) = output.ok().filter(|output| output.status.success()) else {
        return vec!["(addr2line is not available: install binutils)".into()];
    };
    let root = format!("{}/", crate::qemu::workspace_root().display());
    let text = String::from_utf8_lossy(&output.stdout);
    let mut groups: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("0x") {
            groups.push(Vec::new());
        } else if let Some(group) = groups.last_mut() {
            group.push(line);
        }
    }
    addresses
        .iter()
        .zip(&groups)
        .enumerate()
        .map(|(index, (address, group))| {
            let frames: Vec<String> = group
                .chunks(2)
                .map(|pair| {
                    let location = pair.get(1).copied().unwrap_or("??");
                    format!("{} at {}", pair[0], location.trim_start_matches(&root))
                })
                .collect();
            format!("#{index} {address:#018x} {}", frames.join(" <- "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::backtrace_addresses;

    #[test]
    fn finds_the_frames_between_the_markers() {
        let console = "noise  #9 0x1\nbacktrace:\n  #0 0xffffffff8010b6e1\n  #1 0xffffffff8010b823\nend of backtrace\n  #2 0x5\n";
        assert_eq!(
            backtrace_addresses(console),
            vec![0xffff_ffff_8010_b6e1, 0xffff_ffff_8010_b823]
        );
    }
}

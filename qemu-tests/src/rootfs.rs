//! Root file-system images for the guest: ext2, made with the host's
//! `mke2fs -d` from a directory, with the program to run as `/sbin/init`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Size of a root image made from a directory: room for the tests' files
/// (the raw file is sparse, so unused space costs nothing on the host).
pub const ROOT_IMAGE_MIB: u64 = 256;

fn run(command: &mut Command) -> Result<(), String> {
    crate::qemu::host_tool_output(command).map(|_| ())
}

/// Makes `image`: an ext2 file system of [`ROOT_IMAGE_MIB`] MiB holding the
/// contents of `rootfs` (if given) and `init` as `/sbin/init`.
pub fn build(
    image: &Path,
    init: &Path,
    rootfs: Option<&Path>,
    block_size: u32,
) -> Result<PathBuf, String> {
    let staging = image.with_extension("staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join("sbin")).map_err(|error| error.to_string())?;
    if let Some(rootfs) = rootfs {
        let mut source = rootfs.as_os_str().to_owned();
        source.push("/.");
        run(Command::new("cp").arg("-a").arg(source).arg(&staging))?;
    }
    let target = staging.join("sbin").join("init");
    std::fs::copy(init, &target).map_err(|error| format!("copying {}: {error}", init.display()))?;
    run(Command::new("chmod").arg("0755").arg(&target))?;
    let _ = std::fs::remove_file(image);
    run(Command::new("mke2fs")
        .args([
            "-q",
            "-F",
            "-t",
            "ext2",
            "-b",
            &block_size.to_string(),
            "-d",
        ])
        .arg(&staging)
        .arg(image)
        .arg(format!("{ROOT_IMAGE_MIB}M")))?;
    std::fs::remove_dir_all(&staging).map_err(|error| error.to_string())?;
    Ok(image.to_path_buf())
}

/// Copies `init` into the existing ext2 image `disk` as `/sbin/init`.
pub fn install_init(disk: &Path, init: &Path) -> Result<(), String> {
    let script = format!(
        "mkdir /sbin\nrm /sbin/init\nwrite {} /sbin/init\nsif /sbin/init mode 0100755\n",
        init.display()
    );
    let script_file = disk.with_extension("debugfs");
    std::fs::write(&script_file, script).map_err(|error| error.to_string())?;
    // debugfs reports the expected failures (an existing /sbin, a missing
    // /sbin/init) and carries on; the final check is that the file is there.
    let _ = Command::new("debugfs")
        .arg("-w")
        .arg("-f")
        .arg(&script_file)
        .arg(disk)
        .output();
    let _ = std::fs::remove_file(&script_file);
    let listed = Command::new("debugfs")
        .args(["-R", "stat /sbin/init"])
        .arg(disk)
        .output()
        .map_err(|error| format!("cannot run debugfs: {error}"))?;
    if String::from_utf8_lossy(&listed.stdout).contains("Type: regular") {
        Ok(())
    } else {
        Err(format!(
            "could not install {} into {}",
            init.display(),
            disk.display()
        ))
    }
}

/// The bytes of `path` inside the ext2 image, as `debugfs -R cat` shows them.
pub fn read_file(image: &Path, path: &str) -> Result<Vec<u8>, String> {
    let output = Command::new("debugfs")
        .args(["-R", &format!("cat {path}")])
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run debugfs: {error}"))?;
    Ok(output.stdout)
}

/// The mtime and ctime (seconds) the inode at `path` holds on the image, as
/// `debugfs -R "stat PATH"` prints them (`mtime: 0x69a1b2c3 -- Fri ...`).
pub fn inode_times(image: &Path, path: &str) -> Result<(u64, u64), String> {
    let output = Command::new("debugfs")
        .args(["-R", &format!("stat {path}")])
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run debugfs: {error}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let time = |name: &str| -> Result<u64, String> {
        let field = text
            .split(&format!("{name}: 0x"))
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
            .ok_or_else(|| format!("debugfs stat {path} shows no {name}: {text}"))?;
        u64::from_str_radix(field, 16).map_err(|error| format!("{name} {field:?}: {error}"))
    };
    Ok((time("mtime")?, time("ctime")?))
}

/// Whether `e2fsck -fn` finds the image clean; its report otherwise.
pub fn check_clean(image: &Path) -> Result<(), String> {
    let output = Command::new("e2fsck")
        .args(["-fn"])
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run e2fsck: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "e2fsck -fn found problems:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The superblock's fields as `dumpe2fs -h` prints them ("Block count:   8192").
pub fn superblock(image: &Path) -> Result<String, String> {
    let output = Command::new("dumpe2fs")
        .arg("-h")
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run dumpe2fs: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "dumpe2fs -h failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether `path` exists in the ext2 image (`debugfs -R stat`).
pub fn exists(image: &Path, path: &str) -> Result<bool, String> {
    let output = Command::new("debugfs")
        .args(["-R", &format!("stat {path}")])
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run debugfs: {error}"))?;
    Ok(!String::from_utf8_lossy(&output.stderr).contains("File not found"))
}

/// The disk block holding block `index` of `path` in the ext2 image
/// (`debugfs -R bmap`).
pub fn block_of(image: &Path, path: &str, index: u64) -> Result<u64, String> {
    let output = Command::new("debugfs")
        .args(["-R", &format!("bmap {path} {index}")])
        .arg(image)
        .output()
        .map_err(|error| format!("cannot run debugfs: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.trim().parse() {
        Ok(0) | Err(_) => Err(format!(
            "debugfs bmap {path} {index}: {:?}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(block) => Ok(block),
    }
}

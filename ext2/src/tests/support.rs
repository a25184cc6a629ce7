//! Test support: a byte-vector disk, scratch directories, and the
//! e2fsprogs tools. A missing tool fails the test: these tests never skip.

use std::format;
use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use abi::Errno;

use crate::{BlockDevice, Ext2, InodeNumber, SECTOR_SIZE};

/// A disk held in memory, counting the requests made to it.
pub struct MemoryDisk {
    pub bytes: Vec<u8>,
    /// `read_sectors` calls so far.
    pub reads: usize,
    /// `write_sectors` calls so far.
    pub writes: usize,
}

impl MemoryDisk {
    pub fn new(bytes: Vec<u8>) -> MemoryDisk {
        MemoryDisk {
            bytes,
            reads: 0,
            writes: 0,
        }
    }

    /// Starts counting requests afresh.
    pub fn reset_counters(&mut self) {
        self.reads = 0;
        self.writes = 0;
    }

    fn range(&self, first_sector: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        assert_eq!(len % SECTOR_SIZE, 0, "transfers are whole sectors");
        let start = first_sector as usize * SECTOR_SIZE;
        let end = start + len;
        if end > self.bytes.len() {
            return Err(Errno::EIO);
        }
        Ok(start..end)
    }
}

impl BlockDevice for MemoryDisk {
    fn sector_count(&self) -> u64 {
        (self.bytes.len() / SECTOR_SIZE) as u64
    }

    fn read_sectors(&mut self, first_sector: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let range = self.range(first_sector, buf.len())?;
        buf.copy_from_slice(&self.bytes[range]);
        self.reads += 1;
        Ok(())
    }

    fn write_sectors(&mut self, first_sector: u64, buf: &[u8]) -> Result<(), Errno> {
        let range = self.range(first_sector, buf.len())?;
        self.bytes[range].copy_from_slice(buf);
        self.writes += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Errno> {
        Ok(())
    }
}

/// The current time, as the kernel would pass it (e2fsck rejects times in the future).
pub fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Deterministic bytes that differ block to block, so a misplaced block shows.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| {
            (i.wrapping_mul(2_654_435_761)
                .wrapping_add(seed.wrapping_mul(40_503))
                >> 24) as u8
        })
        .collect()
}

fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "e2fsprogs tool `{name}` not found in /usr/sbin, /sbin, /usr/bin or /bin; \
                 install e2fsprogs (these tests need mke2fs, e2fsck and debugfs and never skip)"
            )
        })
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|error| panic!("could not run {command:?}: {error}"))
}

fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// How to make an image.
#[derive(Clone, Copy)]
pub struct Mkfs {
    pub block_size: u32,
    pub size_kib: u32,
    pub revision0: bool,
}

impl Mkfs {
    pub const fn new(block_size: u32, size_kib: u32) -> Mkfs {
        Mkfs {
            block_size,
            size_kib,
            revision0: false,
        }
    }

    pub const fn revision0(self) -> Mkfs {
        Mkfs {
            revision0: true,
            ..self
        }
    }
}

/// A unique scratch directory with a `src` tree for `mke2fs -d` and an
/// image file; removed when dropped.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "ext2-test-{}-{}-{label}",
            std::process::id(),
            unique
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        Scratch { dir }
    }

    pub fn src(&self) -> PathBuf {
        self.dir.join("src")
    }

    pub fn image(&self) -> PathBuf {
        self.dir.join("disk.img")
    }

    /// Writes `contents` to `src/relative`, creating parent directories.
    pub fn add_file(&self, relative: &str, contents: &[u8]) {
        let path = self.src().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// A sparse file of `size` bytes with `data` written at `data_offset`
    /// (like `truncate -s` then `dd seek=`).
    pub fn add_sparse_file(&self, relative: &str, size: u64, data_offset: u64, data: &[u8]) {
        let path = self.src().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut file = fs::File::create(path).unwrap();
        file.set_len(size).unwrap();
        file.seek(SeekFrom::Start(data_offset)).unwrap();
        file.write_all(data).unwrap();
    }

    /// Runs `mke2fs -t ext2 -d src` and returns the image as a disk.
    pub fn mkfs(&self, options: Mkfs) -> MemoryDisk {
        let mut command = Command::new(tool("mke2fs"));
        command.args(["-q", "-F", "-t", "ext2", "-b"]);
        command.arg(options.block_size.to_string());
        if options.revision0 {
            command.args(["-r", "0"]);
        }
        command.arg("-d").arg(self.src()).arg(self.image());
        command.arg(format!("{}k", options.size_kib));
        let output = run(&mut command);
        assert!(
            output.status.success(),
            "mke2fs failed: {}",
            output_text(&output)
        );
        MemoryDisk::new(fs::read(self.image()).unwrap())
    }

    /// Stores the disk as the image file for the e2fsprogs tools.
    pub fn store(&self, disk: &MemoryDisk) {
        fs::write(self.image(), &disk.bytes).unwrap();
    }

    /// Asserts that `e2fsck -fn` finds the image clean (exit status 0).
    pub fn assert_fsck_clean(&self, disk: &MemoryDisk) {
        self.store(disk);
        let output = run(Command::new(tool("e2fsck")).arg("-fn").arg(self.image()));
        assert_eq!(
            output.status.code(),
            Some(0),
            "e2fsck -fn found problems:\n{}",
            output_text(&output)
        );
    }

    /// Runs one debugfs request on the image and returns its raw stdout.
    pub fn debugfs(&self, disk: &MemoryDisk, request: &str) -> Vec<u8> {
        self.store(disk);
        let output = run(Command::new(tool("debugfs"))
            .arg("-R")
            .arg(request)
            .arg(self.image()));
        assert!(
            output.status.success(),
            "debugfs failed: {}",
            output_text(&output)
        );
        output.stdout
    }

    /// Runs one debugfs request that changes the image (`debugfs -w`).
    pub fn debugfs_write(&self, disk: &mut MemoryDisk, request: &str) {
        self.store(disk);
        let output = run(Command::new(tool("debugfs"))
            .arg("-w")
            .arg("-R")
            .arg(request)
            .arg(self.image()));
        assert!(
            output.status.success(),
            "debugfs -w failed: {}",
            output_text(&output)
        );
        disk.bytes = fs::read(self.image()).unwrap();
    }

    /// Runs one debugfs request and returns its stdout as text.
    pub fn debugfs_text(&self, disk: &MemoryDisk, request: &str) -> String {
        String::from_utf8(self.debugfs(disk, request)).unwrap()
    }

    /// `debugfs -R 'cat PATH'`: the file's bytes as e2fsprogs reads them.
    pub fn debugfs_cat(&self, disk: &MemoryDisk, path: &str) -> Vec<u8> {
        self.debugfs(disk, &format!("cat {path}"))
    }

    /// Runs `e2fsck -fyD` to build htree indexes for the directories.
    pub fn index_directories(&self, disk: &mut MemoryDisk) {
        self.store(disk);
        let output = run(Command::new(tool("e2fsck")).arg("-fyD").arg(self.image()));
        assert!(
            matches!(output.status.code(), Some(0..=2)),
            "e2fsck -fyD failed: {}",
            output_text(&output)
        );
        disk.bytes = fs::read(self.image()).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Mounts a disk, failing the test with the mount error's message.
pub fn mount(disk: MemoryDisk) -> Ext2<MemoryDisk> {
    Ext2::mount(disk, now()).unwrap_or_else(|error| panic!("mount failed: {error}"))
}

/// The value after `key` on its line of debugfs or dumpe2fs output
/// (`"Links: 2   Blockcount: 0"` gives `"2"` for `"Links:"`).
pub fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in:\n{text}"))
        + key.len();
    text[start..].split_whitespace().next().unwrap()
}

/// Reads a whole file through `read_at`.
pub fn read_all(fs: &mut Ext2<MemoryDisk>, path: &str) -> Vec<u8> {
    let inode = fs.lookup_path(path.as_bytes()).unwrap();
    let size = fs.metadata(inode).unwrap().size as usize;
    let mut contents = std::vec![0xAA; size];
    assert_eq!(fs.read_at(inode, 0, &mut contents).unwrap(), size);
    contents
}

/// Removes `name` from `directory` and, when that was the last link, frees
/// the inode as a kernel does once nothing uses it.
pub fn unlink_and_release(
    fs: &mut Ext2<MemoryDisk>,
    directory: InodeNumber,
    name: &[u8],
    now: u32,
) {
    let unlinked = fs.unlink(directory, name, now).unwrap();
    if unlinked.orphaned {
        fs.release_orphan(unlinked.inode, now).unwrap();
    }
}

/// Removes the empty directory `name` from `directory` and frees the
/// orphan rmdir leaves, as a kernel does once nothing uses it.
pub fn rmdir_and_release(fs: &mut Ext2<MemoryDisk>, directory: InodeNumber, name: &[u8], now: u32) {
    let removed = fs.rmdir(directory, name, now).unwrap();
    assert!(removed.orphaned);
    fs.release_orphan(removed.inode, now).unwrap();
}

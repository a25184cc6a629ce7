//! Directories: reading their entries (getdents64, getdents), and the
//! process's current directory (chdir, fchdir, getcwd).

use super::path::{descriptor, file_system, resolve, user_path};
use crate::fs::FileSystem;
use crate::fs::file::FileKind;
use crate::fs::path::{Follow, Names, WorkingDirectory};
use crate::process::user_memory::write_user;
use crate::sched;
use abi::Errno;
use abi::fs::*;
use alloc::vec::Vec;
use ext2::{DirEntry, FileType, InodeNumber, ROOT_INODE};

/// The two record layouts: `struct linux_dirent64` (d_ino, d_off, d_reclen,
/// d_type, d_name) and the old `struct linux_dirent` (d_ino, d_off,
/// d_reclen, d_name, then d_type in the record's last byte).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Dirent64,
    Dirent,
}

impl Layout {
    /// A record's length: the fixed part, the name and its NUL (and the
    /// old layout's type byte), rounded up to 8 bytes, as Linux's
    /// `filldir64` and `filldir` make them.
    fn record_len(self, name_len: usize) -> usize {
        match self {
            Layout::Dirent64 => (19 + name_len + 1).next_multiple_of(8),
            Layout::Dirent => (18 + name_len + 2).next_multiple_of(8),
        }
    }

    fn record(self, entry: &DirEntry, d_type: u8) -> Vec<u8> {
        let len = self.record_len(entry.name.len());
        let mut record = alloc::vec![0u8; len];
        record[0..8].copy_from_slice(&u64::from(entry.inode).to_le_bytes());
        record[8..16].copy_from_slice(&entry.next_position.to_le_bytes());
        record[16..18].copy_from_slice(&(len as u16).to_le_bytes());
        let name_at = match self {
            Layout::Dirent64 => {
                record[18] = d_type;
                19
            }
            Layout::Dirent => {
                record[len - 1] = d_type;
                18
            }
        };
        record[name_at..name_at + entry.name.len()].copy_from_slice(&entry.name);
        record
    }
}

/// A directory entry's `d_type`: from the entry's type byte, or the inode's
/// type when the file system keeps none.
fn entry_type(fs: &FileSystem, entry: &DirEntry) -> Result<u8, Errno> {
    let file_type = match entry.file_type {
        Some(file_type) => file_type,
        None => fs.file_type(entry.inode)?,
    };
    Ok(match file_type {
        FileType::Regular => DT_REG,
        FileType::Directory => DT_DIR,
        FileType::Symlink => DT_LNK,
        FileType::CharDevice => DT_CHR,
        FileType::BlockDevice => DT_BLK,
        FileType::Fifo => DT_FIFO,
        FileType::Socket => DT_SOCK,
        FileType::Unknown => DT_UNKNOWN,
    })
}

/// Entries read from the directory at a time.
const ENTRIES_PER_READ: usize = 32;
/// The most bytes one getdents call fills: a caller reads on until 0.
const MAX_RECORD_BYTES: u64 = 64 << 10;

/// getdents64(2) and getdents(2): as many whole records as fit in `count`
/// bytes at `buffer` (at most 64 KiB of them), from the descriptor's position, which moves past
/// them; `d_off` is where the next entry starts (what lseek takes back).
/// Returns the bytes written, 0 at the end. EBADF, ENOTDIR for a
/// descriptor that is not a directory, ENOENT for a removed directory,
/// EINVAL if not even one record fits, EFAULT for a bad buffer.
pub fn getdents(fd: u64, buffer: u64, count: u64, layout: Layout) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let FileKind::Directory(dir) = open.kind else {
        return Err(Errno::ENOTDIR);
    };
    let fs = file_system()?;
    let room = u64::from(count as u32).min(MAX_RECORD_BYTES) as usize;
    let mut records = Vec::new();
    let mut position = open.offset;
    'reading: loop {
        let entries = fs.read_dir_at(dir, position, ENTRIES_PER_READ)?;
        if entries.is_empty() {
            break;
        }
        for entry in &entries {
            let record = layout.record(entry, entry_type(fs, entry)?);
            if records.len() + record.len() > room {
                if records.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break 'reading;
            }
            records.extend_from_slice(&record);
            position = entry.next_position;
        }
    }
    write_user(buffer, &records)?;
    open.offset = position;
    Ok(records.len() as u64)
}

/// chdir(2): the directory at the path (followed) becomes the current
/// one. ENOTDIR for anything else.
pub fn chdir(path_at: u64) -> Result<u64, Errno> {
    let path = user_path(path_at)?;
    let inode = resolve(AT_FDCWD as u64, &path, Follow::Yes)?;
    change_directory(inode)
}

/// fchdir(2): the directory `fd` is open on becomes the current one (a
/// removed one too). EBADF, ENOTDIR.
pub fn fchdir(fd: u64) -> Result<u64, Errno> {
    let FileKind::Directory(inode) = descriptor(fd)?.lock().kind else {
        return Err(Errno::ENOTDIR);
    };
    change_directory(inode)
}

fn change_directory(inode: InodeNumber) -> Result<u64, Errno> {
    let fs = file_system()?;
    if fs.file_type(inode)? != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let old = sched::current_process().replace_cwd(WorkingDirectory::at(fs, inode));
    drop(old);
    Ok(0)
}

/// The name under which `child` appears in the directory `parent`.
fn name_in(fs: &FileSystem, parent: InodeNumber, child: InodeNumber) -> Result<Vec<u8>, Errno> {
    let mut position = 0;
    loop {
        let entries = fs.read_dir_at(parent, position, ENTRIES_PER_READ)?;
        let Some(last) = entries.last() else {
            // The walk up lost its way (a corrupt directory).
            return Err(Errno::ENOENT);
        };
        position = last.next_position;
        let found = entries
            .into_iter()
            .find(|entry| entry.inode == child && !matches!(entry.name.as_slice(), b"." | b".."));
        if let Some(entry) = found {
            return Ok(entry.name);
        }
    }
}

/// getcwd(2): the current directory's absolute path and its NUL in
/// `buffer`, rebuilt by walking `..` up to the root; returns its length
/// with the NUL. ENOENT if the directory was removed, ERANGE if `size` is
/// too small, ENAMETOOLONG past PATH_MAX, EFAULT for a bad buffer.
pub fn getcwd(buffer: u64, size: u64) -> Result<u64, Errno> {
    let fs = file_system()?;
    let mut dir = sched::current_process().cwd();
    if fs.metadata(dir)?.links == 0 {
        return Err(Errno::ENOENT);
    }
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut length = 1;
    while dir != ROOT_INODE {
        let parent = fs.lookup_name(dir, b"..")?;
        let name = name_in(fs, parent, dir)?;
        length += name.len() + 1;
        if length > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        names.push(name);
        dir = parent;
    }
    let mut path = Vec::with_capacity(length);
    for name in names.iter().rev() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    path.push(0);
    if path.len() as u64 > size {
        return Err(Errno::ERANGE);
    }
    write_user(buffer, &path)?;
    Ok(path.len() as u64)
}

//! Open files and the descriptor table.

use super::in_use::InodeUse;
use super::{FileSystem, root};
use abi::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use ext2::{FileType, InodeNumber};
use mm::page_cache::ErrorCursor;
use spin::Mutex;

/// What an open file refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The serial console (descriptors 0, 1 and 2).
    Console,
    Regular(InodeNumber),
    Directory(InodeNumber),
}

/// An open file description: shared by descriptors that were duplicated.
pub struct OpenFile {
    pub kind: FileKind,
    pub readable: bool,
    pub writable: bool,
    pub append: bool,
    /// `O_DIRECT`: writes bypass the page cache (see `fs::direct`).
    pub direct: bool,
    pub offset: u64,
    /// The write-back errors this description has already reported (fsync).
    pub errors: ErrorCursor,
    /// Keeps the inode allocated while the description is open, even after
    /// its last name is unlinked (held for its `Drop`).
    _in_use: Option<InodeUse>,
}

pub type FileRef = Arc<Mutex<OpenFile>>;

/// `open(2)` flags this kernel understands.
pub mod flags {
    pub const O_ACCMODE: u32 = 0o3;
    pub const O_RDONLY: u32 = 0o0;
    pub const O_WRONLY: u32 = 0o1;
    pub const O_RDWR: u32 = 0o2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_DIRECT: u32 = 0o40000;
    pub const O_DIRECTORY: u32 = 0o200000;
}

impl OpenFile {
    fn new(kind: FileKind, access: u32, open_flags: u32) -> OpenFile {
        let errors = match kind {
            FileKind::Regular(inode) => root().map(|fs| fs.error_cursor(inode)).unwrap_or_default(),
            _ => ErrorCursor::default(),
        };
        let in_use = match kind {
            FileKind::Regular(inode) | FileKind::Directory(inode) => {
                root().map(|fs| InodeUse::new(fs, inode))
            }
            FileKind::Console => None,
        };
        OpenFile {
            kind,
            readable: access != flags::O_WRONLY,
            writable: access != flags::O_RDONLY,
            append: open_flags & flags::O_APPEND != 0,
            direct: open_flags & flags::O_DIRECT != 0,
            offset: 0,
            errors,
            _in_use: in_use,
        }
    }

    pub fn console() -> FileRef {
        Arc::new(Mutex::new(OpenFile::new(
            FileKind::Console,
            flags::O_RDWR,
            0,
        )))
    }
}

/// open(2) on the root file system.
pub fn open(fs: &FileSystem, path: &[u8], open_flags: u32, mode: u32) -> Result<FileRef, Errno> {
    use flags::*;
    let access = open_flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let inode = match fs.lookup(path) {
        Ok(_) if open_flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
        Ok(inode) => inode,
        Err(Errno::ENOENT) if open_flags & O_CREAT != 0 => {
            fs.create(path, (mode & 0o7777) as u16)?
        }
        Err(errno) => return Err(errno),
    };
    let kind = match fs.metadata(inode)?.file_type {
        FileType::Directory if access != O_RDONLY => return Err(Errno::EISDIR),
        FileType::Directory => FileKind::Directory(inode),
        _ if open_flags & O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
        FileType::Regular => FileKind::Regular(inode),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    if let FileKind::Regular(inode) = kind
        && open_flags & O_TRUNC != 0
        && access != O_RDONLY
    {
        fs.set_len(inode, 0)?;
    }
    Ok(Arc::new(Mutex::new(OpenFile::new(
        kind, access, open_flags,
    ))))
}

/// A process's descriptor table.
pub struct FileTable {
    slots: Vec<Option<FileRef>>,
}

/// Linux's default `RLIMIT_NOFILE` soft limit.
const MAX_FILES: usize = 1024;

impl FileTable {
    /// Descriptors 0, 1 and 2 on the console.
    pub fn with_console() -> FileTable {
        let console = OpenFile::console();
        FileTable {
            slots: alloc::vec![Some(console.clone()), Some(console.clone()), Some(console)],
        }
    }

    pub fn get(&self, fd: u64) -> Result<FileRef, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get(fd))
            .and_then(Option::clone)
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: FileRef) -> Result<u64, Errno> {
        let fd = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.slots.len() < MAX_FILES => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(Errno::EMFILE),
        };
        self.slots[fd] = Some(file);
        Ok(fd as u64)
    }

    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get_mut(fd))
            .ok_or(Errno::EBADF)?;
        slot.take().map(drop).ok_or(Errno::EBADF)
    }
}

//! Open file descriptions and the descriptor table.
//!
//! A descriptor names an open file description ([`OpenFile`]); `dup`,
//! `fcntl(F_DUPFD)` and fork make more descriptors for the same
//! description, which share its offset and status flags (open(2)). The
//! close-on-exec flag belongs to the descriptor.

use super::in_use::InodeUse;
use super::pipe::PipeEnd;
use super::{FileSystem, root};
use abi::Errno;
use alloc::sync::Arc;
use alloc::vec::Vec;
use ext2::{FileType, InodeNumber};
use mm::page_cache::ErrorCursor;
use spin::Mutex;

/// What an open file refers to.
pub enum FileKind {
    /// The serial console (descriptors 0, 1 and 2 of init).
    Console,
    Regular(InodeNumber),
    Directory(InodeNumber),
    Pipe(PipeEnd),
}

impl FileKind {
    /// The inode behind a file or directory.
    pub fn inode(&self) -> Option<InodeNumber> {
        match self {
            FileKind::Regular(inode) | FileKind::Directory(inode) => Some(*inode),
            FileKind::Console | FileKind::Pipe(_) => None,
        }
    }
}

/// An open file description: shared by descriptors that were duplicated.
pub struct OpenFile {
    pub kind: FileKind,
    pub readable: bool,
    pub writable: bool,
    pub append: bool,
    /// `O_DIRECT`: writes bypass the page cache (see `fs::direct`).
    pub direct: bool,
    /// `O_NONBLOCK`: what would sleep is EAGAIN instead.
    pub nonblocking: bool,
    pub offset: u64,
    /// The write-back errors this description has already reported (fsync).
    pub errors: ErrorCursor,
    /// Keeps the inode allocated while the description is open, even after
    /// its last name is unlinked (held for its `Drop`).
    _in_use: Option<InodeUse>,
}

pub type FileRef = Arc<Mutex<OpenFile>>;

/// `open(2)` and `fcntl(2)` flags this kernel understands.
pub mod flags {
    pub const O_ACCMODE: u32 = 0o3;
    pub const O_RDONLY: u32 = 0o0;
    pub const O_WRONLY: u32 = 0o1;
    pub const O_RDWR: u32 = 0o2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DIRECT: u32 = 0o40000;
    /// Set on every file Linux opens on a 64-bit kernel; F_GETFL shows it.
    pub const O_LARGEFILE: u32 = 0o100000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const O_CLOEXEC: u32 = 0o2000000;
}

impl OpenFile {
    fn new(kind: FileKind, access: u32, open_flags: u32) -> OpenFile {
        let fs = root();
        let errors = match (&kind, fs) {
            (FileKind::Regular(inode), Some(fs)) => fs.error_cursor(*inode),
            _ => ErrorCursor::default(),
        };
        let in_use = kind
            .inode()
            .and_then(|inode| fs.map(|fs| InodeUse::new(fs, inode)));
        OpenFile {
            kind,
            readable: access != flags::O_WRONLY,
            writable: access != flags::O_RDONLY,
            append: open_flags & flags::O_APPEND != 0,
            direct: open_flags & flags::O_DIRECT != 0,
            nonblocking: open_flags & flags::O_NONBLOCK != 0,
            offset: 0,
            errors,
            _in_use: in_use,
        }
    }

    fn shared(self) -> FileRef {
        Arc::new(Mutex::new(self))
    }

    pub fn console() -> FileRef {
        OpenFile::new(FileKind::Console, flags::O_RDWR, 0).shared()
    }

    /// The two ends of a new pipe, with `O_NONBLOCK` from `open_flags`.
    pub fn pipe(open_flags: u32) -> (FileRef, FileRef) {
        let (read_end, write_end) = super::pipe::Pipe::ends();
        let status = open_flags & flags::O_NONBLOCK;
        (
            OpenFile::new(FileKind::Pipe(read_end), flags::O_RDONLY, status).shared(),
            OpenFile::new(FileKind::Pipe(write_end), flags::O_WRONLY, status).shared(),
        )
    }

    /// The flags F_GETFL reports: the access mode and the status flags.
    pub fn status_flags(&self) -> u32 {
        let access = match (self.readable, self.writable) {
            (true, true) => flags::O_RDWR,
            (false, true) => flags::O_WRONLY,
            _ => flags::O_RDONLY,
        };
        let mut status = access;
        for (set, flag) in [
            (self.append, flags::O_APPEND),
            (self.nonblocking, flags::O_NONBLOCK),
            (self.direct, flags::O_DIRECT),
            (!matches!(self.kind, FileKind::Pipe(_)), flags::O_LARGEFILE),
        ] {
            if set {
                status |= flag;
            }
        }
        status
    }

    /// F_SETFL: the status flags Linux lets it change; the rest of
    /// `requested` (access mode, creation flags) is ignored.
    pub fn set_status_flags(&mut self, requested: u32) {
        self.append = requested & flags::O_APPEND != 0;
        self.nonblocking = requested & flags::O_NONBLOCK != 0;
        self.direct = requested & flags::O_DIRECT != 0 && matches!(self.kind, FileKind::Regular(_));
    }
}

/// open(2) on the root file system, `path` relative to the directory
/// `dir` unless absolute.
pub fn open(
    fs: &FileSystem,
    dir: InodeNumber,
    path: &[u8],
    open_flags: u32,
    mode: u32,
) -> Result<FileRef, Errno> {
    use flags::*;
    let access = open_flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let inode = match fs.lookup_from(dir, path) {
        Ok(_) if open_flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL => return Err(Errno::EEXIST),
        Ok(inode) => inode,
        Err(Errno::ENOENT) if open_flags & O_CREAT != 0 => {
            fs.create(dir, path, (mode & 0o7777) as u16)?
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
    Ok(OpenFile::new(kind, access, open_flags).shared())
}

/// One slot of the descriptor table.
#[derive(Clone)]
struct Descriptor {
    file: FileRef,
    close_on_exec: bool,
}

/// A process's descriptor table. Forking copies it: the child's descriptors
/// name the same open file descriptions.
#[derive(Clone, Default)]
pub struct FileTable {
    slots: Vec<Option<Descriptor>>,
}

/// Linux's default `RLIMIT_NOFILE` soft limit: descriptors are below it.
pub const MAX_FILES: usize = 1024;

impl FileTable {
    /// Descriptors 0, 1 and 2 on the console.
    pub fn with_console() -> FileTable {
        let console = OpenFile::console();
        let mut table = FileTable::default();
        for _ in 0..3 {
            table
                .insert(console.clone(), false)
                .expect("room for three");
        }
        table
    }

    fn slot(&self, fd: u64) -> Option<&Descriptor> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get(fd))
            .and_then(Option::as_ref)
    }

    pub fn get(&self, fd: u64) -> Result<FileRef, Errno> {
        self.slot(fd)
            .map(|descriptor| descriptor.file.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor: EMFILE if none is
    /// left below MAX_FILES.
    pub fn insert(&mut self, file: FileRef, close_on_exec: bool) -> Result<u64, Errno> {
        self.insert_from(0, file, close_on_exec)
    }

    /// Installs `file` at the lowest free descriptor at or above `lowest`
    /// (F_DUPFD): EINVAL if `lowest` is past the limit, EMFILE if no
    /// descriptor is free.
    pub fn insert_from(
        &mut self,
        lowest: u64,
        file: FileRef,
        close_on_exec: bool,
    ) -> Result<u64, Errno> {
        let lowest = usize::try_from(lowest)
            .ok()
            .filter(|&lowest| lowest < MAX_FILES)
            .ok_or(Errno::EINVAL)?;
        let fd = (lowest..MAX_FILES)
            .find(|&fd| self.slots.get(fd).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)?;
        self.put(fd, file, close_on_exec);
        Ok(fd as u64)
    }

    /// Installs `file` as descriptor `fd` (dup2, dup3), closing what was
    /// there; EBADF past the limit.
    pub fn insert_at(&mut self, fd: u64, file: FileRef, close_on_exec: bool) -> Result<(), Errno> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&fd| fd < MAX_FILES)
            .ok_or(Errno::EBADF)?;
        let replaced = self.put(fd, file, close_on_exec);
        drop(replaced);
        Ok(())
    }

    fn put(&mut self, fd: usize, file: FileRef, close_on_exec: bool) -> Option<Descriptor> {
        if self.slots.len() <= fd {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd].replace(Descriptor {
            file,
            close_on_exec,
        })
    }

    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get_mut(fd))
            .ok_or(Errno::EBADF)?;
        slot.take().map(drop).ok_or(Errno::EBADF)
    }

    /// FD_CLOEXEC of descriptor `fd`.
    pub fn close_on_exec_flag(&self, fd: u64) -> Result<bool, Errno> {
        self.slot(fd)
            .map(|descriptor| descriptor.close_on_exec)
            .ok_or(Errno::EBADF)
    }

    pub fn set_close_on_exec(&mut self, fd: u64, close_on_exec: bool) -> Result<(), Errno> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|fd| self.slots.get_mut(fd))
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        slot.close_on_exec = close_on_exec;
        Ok(())
    }

    /// execve(2): closes the descriptors marked close-on-exec.
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot
                .as_ref()
                .is_some_and(|descriptor| descriptor.close_on_exec)
            {
                *slot = None;
            }
        }
    }
}

//! Open file descriptions and the descriptor table.
//!
//! A descriptor names an open file description ([`OpenFile`]); `dup`,
//! `fcntl(F_DUPFD)` and fork make more descriptors for the same
//! description, which share its offset and status flags (open(2)). The
//! close-on-exec flag belongs to the descriptor.

use super::in_use::InodeUse;
use super::names::NewNode;
use super::path::{Follow, Last, Names, Walk};
use super::pipe::PipeEnd;
use super::{FileSystem, root};
use abi::Errno;
use abi::fs::{
    O_ACCMODE, O_APPEND, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOFOLLOW,
    O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY,
};
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
            readable: access != O_WRONLY,
            writable: access != O_RDONLY,
            append: open_flags & O_APPEND != 0,
            direct: open_flags & O_DIRECT != 0,
            nonblocking: open_flags & O_NONBLOCK != 0,
            offset: 0,
            errors,
            _in_use: in_use,
        }
    }

    fn shared(self) -> FileRef {
        Arc::new(Mutex::new(self))
    }

    pub fn console() -> FileRef {
        OpenFile::new(FileKind::Console, O_RDWR, 0).shared()
    }

    /// The two ends of a new pipe, with `O_NONBLOCK` from `open_flags`.
    pub fn pipe(open_flags: u32) -> (FileRef, FileRef) {
        let (read_end, write_end) = super::pipe::Pipe::ends();
        let status = open_flags & O_NONBLOCK;
        (
            OpenFile::new(FileKind::Pipe(read_end), O_RDONLY, status).shared(),
            OpenFile::new(FileKind::Pipe(write_end), O_WRONLY, status).shared(),
        )
    }

    /// The flags F_GETFL reports: the access mode and the status flags.
    pub fn status_flags(&self) -> u32 {
        let access = match (self.readable, self.writable) {
            (true, true) => O_RDWR,
            (false, true) => O_WRONLY,
            _ => O_RDONLY,
        };
        let mut status = access;
        for (set, flag) in [
            (self.append, O_APPEND),
            (self.nonblocking, O_NONBLOCK),
            (self.direct, O_DIRECT),
            (!matches!(self.kind, FileKind::Pipe(_)), O_LARGEFILE),
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
        self.append = requested & O_APPEND != 0;
        self.nonblocking = requested & O_NONBLOCK != 0;
        self.direct = requested & O_DIRECT != 0 && matches!(self.kind, FileKind::Regular(_));
    }
}

/// open(2) on the root file system: `path` (not empty) from the directory
/// `start` unless absolute, with `open_flags`; a file O_CREAT makes gets
/// `permissions` (the umask already applied). Errors, as Linux's
/// `path_openat` and `do_open` give them: the walk's (ENOENT, ENOTDIR,
/// ELOOP, ENAMETOOLONG); EINVAL for access mode 3; with O_CREAT, EEXIST
/// with O_EXCL for anything that exists (a symlink too) and EISDIR for a
/// directory or a path ending in `/`; ENOTDIR with O_DIRECTORY for anything
/// else; ELOOP for a symlink with O_NOFOLLOW; EISDIR for a directory opened
/// for writing or truncation; EOPNOTSUPP for device, FIFO and socket files.
pub fn open(
    fs: &'static FileSystem,
    start: InodeNumber,
    path: &[u8],
    open_flags: u32,
    permissions: u16,
) -> Result<FileRef, Errno> {
    let access = open_flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let inode = if open_flags & O_CREAT != 0 {
        open_or_create(fs, start, path, open_flags, permissions)?
    } else {
        let follow = if open_flags & O_NOFOLLOW != 0 {
            Follow::No
        } else {
            Follow::Yes
        };
        Walk::new(fs).resolve(start, path, follow)?
    };
    let kind = match fs.metadata(inode)?.file_type {
        FileType::Directory if open_flags & O_CREAT != 0 => return Err(Errno::EISDIR),
        FileType::Directory if access != O_RDONLY || open_flags & O_TRUNC != 0 => {
            return Err(Errno::EISDIR);
        }
        FileType::Directory => FileKind::Directory(inode),
        _ if open_flags & O_DIRECTORY != 0 => return Err(Errno::ENOTDIR),
        FileType::Symlink => return Err(Errno::ELOOP),
        FileType::Regular => FileKind::Regular(inode),
        _ => return Err(Errno::EOPNOTSUPP),
    };
    // Linux truncates with O_RDONLY | O_TRUNC too (open(2): "on many
    // systems the file is actually truncated").
    if let FileKind::Regular(inode) = kind
        && open_flags & O_TRUNC != 0
    {
        fs.set_len(inode, 0)?;
    }
    Ok(OpenFile::new(kind, access, open_flags).shared())
}

/// The inode open(O_CREAT) opens: the existing file at `path`, following a
/// symlink in the last place (unless O_NOFOLLOW) — to a new file where a
/// dangling one points —, or a new regular file.
fn open_or_create(
    fs: &'static FileSystem,
    start: InodeNumber,
    path: &[u8],
    open_flags: u32,
    permissions: u16,
) -> Result<InodeNumber, Errno> {
    let exclusive = open_flags & O_EXCL != 0;
    let mut walk = Walk::new(fs);
    let mut parent = walk.parent(start, path)?;
    loop {
        let Last::Name(name) = &parent.last else {
            // `.`, `..` or `/`: a directory that exists.
            return Err(if exclusive {
                Errno::EEXIST
            } else {
                Errno::EISDIR
            });
        };
        if parent.trailing_slash {
            return Err(Errno::EISDIR);
        }
        match fs.lookup_name(parent.dir, name) {
            Ok(_) if exclusive => return Err(Errno::EEXIST),
            Ok(inode)
                if open_flags & O_NOFOLLOW == 0 && fs.file_type(inode)? == FileType::Symlink =>
            {
                parent = walk.parent_of_target(parent.dir, inode)?;
            }
            Ok(inode) => return Ok(inode),
            Err(Errno::ENOENT) => {
                return fs.make_node(parent.dir, name, NewNode::Regular, permissions);
            }
            Err(errno) => return Err(errno),
        }
    }
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

impl FileTable {
    /// Descriptors 0, 1 and 2 on the console.
    pub fn with_console() -> FileTable {
        let console = OpenFile::console();
        let mut table = FileTable::default();
        for _ in 0..3 {
            table
                .insert(console.clone(), false, 3)
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

    /// EMFILE if no descriptor below `limit` is free: open(2) checks this
    /// before it looks at the path, as Linux allocates the descriptor first.
    pub fn check_room(&self, limit: usize) -> Result<(), Errno> {
        self.lowest_free(0, limit).map(|_| ())
    }

    /// The lowest free descriptor from `lowest` on and below `limit`:
    /// EMFILE if there is none.
    fn lowest_free(&self, lowest: usize, limit: usize) -> Result<usize, Errno> {
        (lowest..limit)
            .find(|&fd| self.slots.get(fd).is_none_or(Option::is_none))
            .ok_or(Errno::EMFILE)
    }

    /// Installs `file` at the lowest free descriptor below `limit` (the
    /// process's RLIMIT_NOFILE): EMFILE if none is free.
    pub fn insert(
        &mut self,
        file: FileRef,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<u64, Errno> {
        self.insert_from(0, file, close_on_exec, limit)
    }

    /// Installs `file` at the lowest free descriptor at or above `lowest`
    /// and below `limit` (F_DUPFD): EINVAL if `lowest` is not below the
    /// limit, EMFILE if no descriptor is free.
    pub fn insert_from(
        &mut self,
        lowest: u64,
        file: FileRef,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<u64, Errno> {
        let lowest = usize::try_from(lowest)
            .ok()
            .filter(|&lowest| lowest < limit)
            .ok_or(Errno::EINVAL)?;
        let fd = self.lowest_free(lowest, limit)?;
        self.put(fd, file, close_on_exec)?;
        Ok(fd as u64)
    }

    /// Installs `file` as descriptor `fd` (dup2, dup3), closing what was
    /// there; EBADF if `fd` is not below `limit`.
    pub fn insert_at(
        &mut self,
        fd: u64,
        file: FileRef,
        close_on_exec: bool,
        limit: usize,
    ) -> Result<(), Errno> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&fd| fd < limit)
            .ok_or(Errno::EBADF)?;
        let replaced = self.put(fd, file, close_on_exec)?;
        drop(replaced);
        Ok(())
    }

    /// Puts `file` in slot `fd`, returning what was there: ENOMEM if the
    /// table cannot grow that far (a raised RLIMIT_NOFILE allows a million).
    fn put(
        &mut self,
        fd: usize,
        file: FileRef,
        close_on_exec: bool,
    ) -> Result<Option<Descriptor>, Errno> {
        if self.slots.len() <= fd {
            self.slots
                .try_reserve(fd + 1 - self.slots.len())
                .map_err(|_| Errno::ENOMEM)?;
            self.slots.resize(fd + 1, None);
        }
        Ok(self.slots[fd].replace(Descriptor {
            file,
            close_on_exec,
        }))
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

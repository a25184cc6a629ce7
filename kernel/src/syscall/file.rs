//! File system calls on descriptors: opening, reads and writes through the
//! page cache and through pipes, seeking, durability, and the descriptor
//! table (dup, fcntl, pipes).

use super::path::{descriptor, file_system, start_directory, user_path};
use crate::fs::file::{self, FileKind, OpenFile};
use crate::fs::pipe::Pipe;
use crate::fs::root;
use crate::fs::seek::Seek;
use crate::process::user_memory::{Access, read_user, write_user};
use crate::sched;
use abi::Errno;
use abi::fs::*;
use abi::termios::{
    FIONREAD, TCFLSH, TCGETS, TCSETS, TCSETSF, TCSETSW, TERMIOS_BYTES, TIOCGPGRP, TIOCGSID,
    TIOCGWINSZ, TIOCNOTTY, TIOCSCTTY, TIOCSPGRP, TIOCSWINSZ, WINSIZE_BYTES,
};
use alloc::sync::Arc;
use alloc::vec::Vec;
use ext2::InodeNumber;

/// Bytes moved per step between user memory and a file.
const CHUNK: usize = 16 * 1024;
/// `O_DIRECT` buffers must be aligned to the device's logical block.
const DIRECT_ALIGNMENT: u64 = 512;

/// The descriptors the calling process may have (RLIMIT_NOFILE).
fn descriptor_limit() -> usize {
    sched::current_process().limits.lock().open_files()
}

/// openat(2), and open(2) with AT_FDCWD: the path from `dirfd` (see
/// `fs::file::open` for the flags and errors), a new file getting `mode`'s
/// permission bits less the umask. EMFILE, as on Linux, before the path
/// is looked at.
pub fn openat(dirfd: u64, path: u64, open_flags: u64, mode: u64) -> Result<u64, Errno> {
    let open_flags = open_flags as u32;
    let process = sched::current_process();
    let limit = descriptor_limit();
    process.files.lock().check_room(limit)?;
    let path = user_path(path)?;
    let start = start_directory(dirfd, &path)?;
    let permissions = (mode as u32 & S_IALLUGO & !process.umask()) as u16;
    let file = file::open(file_system()?, start, &path, open_flags, permissions)?;
    process
        .files
        .lock()
        .insert(file, open_flags & O_CLOEXEC != 0, limit)
}

/// creat(2): open(2) with O_CREAT | O_WRONLY | O_TRUNC.
pub fn creat(path: u64, mode: u64) -> Result<u64, Errno> {
    let flags = O_CREAT | O_WRONLY | O_TRUNC;
    openat(AT_FDCWD as u64, path, u64::from(flags), mode)
}

pub fn close(fd: u64) -> Result<u64, Errno> {
    // The description may be the last of a pipe end or an unlinked file:
    // it is dropped after the table's lock is released.
    let closed = {
        let process = sched::current_process();
        let mut files = process.files.lock();
        let file = files.get(fd)?;
        files.close(fd)?;
        file
    };
    drop(closed);
    Ok(0)
}

/// Where a read or write happens: the description's offset (advanced), or
/// an explicit position (pread/pwrite).
#[derive(Clone, Copy)]
pub enum Position {
    Current,
    At(u64),
}

/// A pipe end of `file`, and whether the description is non-blocking:
/// what a read or write needs without holding the description's lock.
fn pipe_of(file: &file::FileRef) -> Option<(Arc<Pipe>, bool)> {
    let open = file.lock();
    match &open.kind {
        FileKind::Pipe(end) => Some((end.pipe(), open.nonblocking)),
        _ => None,
    }
}

pub fn read(fd: u64, buffer: u64, count: u64, position: Position) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    if !file.lock().readable {
        return Err(Errno::EBADF);
    }
    if let Some((pipe, nonblocking)) = pipe_of(&file) {
        if let Position::At(_) = position {
            return Err(Errno::ESPIPE);
        }
        let mut chunk = alloc::vec![0u8; (count as usize).min(CHUNK)];
        let got = pipe.read(&mut chunk, nonblocking)?;
        write_user(buffer, &chunk[..got])?;
        return Ok(got as u64);
    }
    let mut open = file.lock();
    match open.kind {
        FileKind::Console => {
            // The read may sleep: no lock may be held across it.
            drop(open);
            crate::terminal::read(count.min(CHUNK as u64) as usize, |bytes| {
                write_user(buffer, bytes)
            })
        }
        FileKind::Directory(_) => Err(Errno::EISDIR),
        FileKind::Pipe(_) => unreachable!("handled above"),
        FileKind::Regular(inode) => {
            let fs = file_system()?;
            let start = match position {
                Position::Current => open.offset,
                Position::At(offset) => offset,
            };
            let mut chunk = alloc::vec![0u8; CHUNK];
            let mut done = 0u64;
            while done < count {
                let want = (count - done).min(CHUNK as u64) as usize;
                let got = fs.read_at(inode, start + done, &mut chunk[..want])?;
                if got == 0 {
                    break;
                }
                write_user(buffer + done, &chunk[..got])?;
                done += got as u64;
            }
            if let Position::Current = position {
                open.offset = start + done;
            }
            Ok(done)
        }
    }
}

pub fn write(fd: u64, buffer: u64, count: u64, position: Position) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    if !file.lock().writable {
        return Err(Errno::EBADF);
    }
    if let Some((pipe, nonblocking)) = pipe_of(&file) {
        if let Position::At(_) = position {
            return Err(Errno::ESPIPE);
        }
        let mut data = alloc::vec![0u8; count.min(crate::fs::pipe::PIPE_CAPACITY as u64) as usize];
        read_user(buffer, &mut data)?;
        return pipe.write(&data, nonblocking).map(|written| written as u64);
    }
    let mut open = file.lock();
    let direct = open.direct && matches!(open.kind, FileKind::Regular(_));
    if direct && !buffer.is_multiple_of(DIRECT_ALIGNMENT) {
        return Err(Errno::EINVAL);
    }
    // O_APPEND writes at the end, pwrite too (pwrite(2), BUGS: "if a file
    // is opened with O_APPEND, pwrite() appends data to the end of the
    // file, regardless of the value of offset").
    let start = match (&open.kind, position) {
        (FileKind::Regular(inode), _) if open.append => file_system()?.metadata(*inode)?.size,
        (_, Position::Current) => open.offset,
        (_, Position::At(offset)) => offset,
    };
    let done = match open.kind {
        // The device reads the user's frames.
        FileKind::Regular(inode) if direct => {
            file_system()?.write_direct(inode, start, count as usize, |offset, len| {
                sched::current_process().memory().lock().user_segments(
                    buffer + offset as u64,
                    len,
                    Access::Read,
                )
            })? as u64
        }
        FileKind::Regular(inode) => write_chunks(Some(inode), buffer, count, start)?,
        FileKind::Console => write_chunks(None, buffer, count, start)?,
        FileKind::Directory(_) => return Err(Errno::EISDIR),
        FileKind::Pipe(_) => unreachable!("handled above"),
    };
    if let Position::Current = position {
        open.offset = start + done;
    }
    Ok(done)
}

/// A write through the page cache (`inode`) or to the console (`None`),
/// [`CHUNK`] bytes at a time; returns how many bytes were written.
fn write_chunks(
    inode: Option<InodeNumber>,
    buffer: u64,
    count: u64,
    start: u64,
) -> Result<u64, Errno> {
    let mut chunk = alloc::vec![0u8; CHUNK.min(count as usize)];
    let mut done = 0u64;
    while done < count {
        let step = (count - done).min(CHUNK as u64) as usize;
        if let Err(errno) = read_user(buffer + done, &mut chunk[..step]) {
            // Like Linux: a fault after some bytes were written ends a short write.
            return if done > 0 { Ok(done) } else { Err(errno) };
        }
        match inode {
            None => crate::terminal::write(&chunk[..step]),
            Some(inode) => {
                if let Err(errno) = file_system()?.write_at(inode, start + done, &chunk[..step]) {
                    // A failure after some bytes is a short write, as on Linux.
                    return if done > 0 { Ok(done) } else { Err(errno) };
                }
            }
        }
        done += step as u64;
    }
    Ok(done)
}

/// readv/writev: each `struct iovec { base, len }` in turn, stopping at a
/// short transfer.
pub fn vectored(fd: u64, iov: u64, count: u64, is_write: bool) -> Result<u64, Errno> {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut total = 0;
    for index in 0..count {
        let mut raw = [0u8; 16];
        read_user(iov + index * 16, &mut raw)?;
        let base = u64::from_le_bytes(raw[..8].try_into().expect("8 bytes"));
        let len = u64::from_le_bytes(raw[8..].try_into().expect("8 bytes"));
        let moved = if is_write {
            write(fd, base, len, Position::Current)?
        } else {
            read(fd, base, len, Position::Current)?
        };
        total += moved;
        if moved < len {
            break;
        }
    }
    Ok(total)
}

/// lseek(2): SEEK_SET, SEEK_CUR, SEEK_END, and SEEK_DATA and SEEK_HOLE
/// (`fs::seek`: ENXIO at or past the end, or with no data after `offset`;
/// a directory is all data, as Linux's generic rule has it). EINVAL for
/// another whence or a negative result, ESPIPE for pipes and the console.
pub fn lseek(fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let (inode, is_directory) = match open.kind {
        FileKind::Console | FileKind::Pipe(_) => return Err(Errno::ESPIPE),
        FileKind::Regular(inode) => (inode, false),
        FileKind::Directory(inode) => (inode, true),
    };
    let target = match whence {
        SEEK_SET => offset,
        SEEK_CUR => (open.offset as i64)
            .checked_add(offset)
            .ok_or(Errno::EINVAL)?,
        SEEK_END => (size_of(inode)? as i64)
            .checked_add(offset)
            .ok_or(Errno::EINVAL)?,
        SEEK_DATA | SEEK_HOLE => {
            let wanted = if whence == SEEK_DATA {
                Seek::Data
            } else {
                Seek::Hole
            };
            let offset = u64::try_from(offset).map_err(|_| Errno::ENXIO)?;
            let found = if is_directory {
                directory_seek(size_of(inode)?, offset, wanted)?
            } else {
                file_system()?.seek(inode, offset, wanted)?
            };
            found as i64
        }
        _ => return Err(Errno::EINVAL),
    };
    if target < 0 {
        return Err(Errno::EINVAL);
    }
    open.offset = target as u64;
    Ok(target as u64)
}

fn size_of(inode: InodeNumber) -> Result<u64, Errno> {
    Ok(file_system()?.metadata(inode)?.size)
}

/// SEEK_DATA and SEEK_HOLE in a directory of `size` bytes, by Linux's
/// `generic_file_llseek_size`: everything before the end is data, the end
/// is the hole.
fn directory_seek(size: u64, offset: u64, wanted: Seek) -> Result<u64, Errno> {
    if offset >= size {
        return Err(Errno::ENXIO);
    }
    Ok(match wanted {
        Seek::Data => offset,
        Seek::Hole => size,
    })
}

pub fn fsync(fd: u64) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let OpenFile { kind, errors, .. } = &mut *open;
    match kind {
        FileKind::Regular(inode) => file_system()?.fsync(*inode, errors).map(|()| 0),
        FileKind::Directory(_) => Ok(0),
        FileKind::Console | FileKind::Pipe(_) => Err(Errno::EINVAL),
    }
}

/// ftruncate(2): EINVAL for a negative length (before the descriptor is
/// looked at), then EBADF, then EINVAL for anything but a regular file
/// open for writing (a directory too), then ext2's EFBIG.
pub fn ftruncate(fd: u64, length: i64) -> Result<u64, Errno> {
    let length = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
    let file = descriptor(fd)?;
    let open = file.lock();
    match open.kind {
        FileKind::Regular(inode) if open.writable => {
            file_system()?.set_len(inode, length).map(|()| 0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// fallocate(2), checked in Linux's order (`vfs_fallocate`, then ext4 on
/// these images): EINVAL for a negative offset or a length not above 0,
/// EOPNOTSUPP for an unknown mode, PUNCH_HOLE with ZERO_RANGE, or
/// PUNCH_HOLE without KEEP_SIZE, EINVAL for COLLAPSE_RANGE or INSERT_RANGE
/// mixed with others, EBADF unless open for writing, ESPIPE for a pipe,
/// EISDIR for a directory, ENODEV for another non-regular file, EFBIG past
/// the largest file; then a punched hole (the size stays), and EOPNOTSUPP
/// for every other mode — ext4 preallocates only in extent-mapped files, and
/// these are block-mapped.
pub fn fallocate(fd: u64, mode: u32, offset: i64, len: i64) -> Result<u64, Errno> {
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    let punch = mode & FALLOC_FL_PUNCH_HOLE != 0;
    if mode & !FALLOC_FL_SUPPORTED_MASK != 0
        || (punch && mode & FALLOC_FL_ZERO_RANGE != 0)
        || (punch && mode & FALLOC_FL_KEEP_SIZE == 0)
    {
        return Err(Errno::EOPNOTSUPP);
    }
    for exclusive in [FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE] {
        if mode & exclusive != 0 && mode & !exclusive != 0 {
            return Err(Errno::EINVAL);
        }
    }
    let file = descriptor(fd)?;
    let open = file.lock();
    if !open.writable {
        return Err(Errno::EBADF);
    }
    let inode = match open.kind {
        FileKind::Regular(inode) => inode,
        FileKind::Pipe(_) => return Err(Errno::ESPIPE),
        FileKind::Directory(_) => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    };
    drop(open);
    let (offset, len) = (offset as u64, len as u64);
    let fs = file_system()?;
    if offset
        .checked_add(len)
        .is_none_or(|end| end > fs.fallocate_limit())
    {
        return Err(Errno::EFBIG);
    }
    if !punch {
        return Err(Errno::EOPNOTSUPP);
    }
    fs.punch_hole(inode, offset, len).map(|()| 0)
}

pub fn sync() -> Result<u64, Errno> {
    if let Some(fs) = root() {
        fs.sync_all()?;
    }
    Ok(0)
}

/// ioctl(2): the terminal requests on the console (`terminal::ioctl`, with
/// their arguments copied here) and FIONREAD on pipes; ENOTTY otherwise.
pub fn ioctl(fd: u64, request: u64, argument: u64) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let open = file.lock();
    if matches!(open.kind, FileKind::Console) {
        // A terminal request may send signals and restart: no lock held.
        drop(open);
        return console_ioctl(request, argument);
    }
    match &open.kind {
        FileKind::Pipe(end) if request == FIONREAD => {
            let waiting = end.pipe().available() as u32;
            write_user(argument, &waiting.to_le_bytes()).map(|()| 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// A terminal ioctl on the console: the argument read in, the request
/// carried out, the answer written out.
fn console_ioctl(request: u64, argument: u64) -> Result<u64, Errno> {
    use crate::terminal::{Answer, Request};
    let read_array = |argument: u64| -> Result<[u8; TERMIOS_BYTES], Errno> {
        let mut bytes = [0; TERMIOS_BYTES];
        read_user(argument, &mut bytes)?;
        Ok(bytes)
    };
    let request = match request {
        TCGETS => Request::GetAttributes,
        TCSETS | TCSETSW => Request::SetAttributes {
            termios: read_array(argument)?,
            flush: false,
        },
        TCSETSF => Request::SetAttributes {
            termios: read_array(argument)?,
            flush: true,
        },
        TCFLSH => Request::Flush(argument),
        TIOCGPGRP => Request::GetForeground,
        TIOCSPGRP => {
            let mut group = [0; 4];
            read_user(argument, &mut group)?;
            Request::SetForeground(u32::from_le_bytes(group))
        }
        TIOCSCTTY => Request::MakeControlling,
        TIOCNOTTY => Request::GiveUpControlling,
        TIOCGSID => Request::GetSession,
        TIOCGWINSZ => Request::GetWindow,
        TIOCSWINSZ => {
            let mut window = [0; WINSIZE_BYTES];
            read_user(argument, &mut window)?;
            Request::SetWindow(window)
        }
        FIONREAD => Request::ReadableBytes,
        _ => return Err(Errno::ENOTTY),
    };
    match crate::terminal::ioctl(request)? {
        Answer::Nothing => Ok(0),
        Answer::Bytes(bytes) => write_user(argument, &bytes).map(|()| 0),
    }
}

/// pipe(2) and pipe2(2): two descriptors, the read end first; only
/// O_CLOEXEC and O_NONBLOCK may be given (O_DIRECT's packet mode is EINVAL
/// here).
pub fn pipe2(fds_at: u64, pipe_flags: u64) -> Result<u64, Errno> {
    let pipe_flags = pipe_flags as u32;
    if pipe_flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let close_on_exec = pipe_flags & O_CLOEXEC != 0;
    let (read_end, write_end) = OpenFile::pipe(pipe_flags);
    let process = sched::current_process();
    let limit = descriptor_limit();
    let fds = {
        let mut files = process.files.lock();
        let read_fd = files.insert(read_end, close_on_exec, limit)?;
        match files.insert(write_end, close_on_exec, limit) {
            Ok(write_fd) => [read_fd as u32, write_fd as u32],
            Err(errno) => {
                let _ = files.close(read_fd);
                return Err(errno);
            }
        }
    };
    let bytes: Vec<u8> = fds.iter().flat_map(|fd| fd.to_le_bytes()).collect();
    if let Err(errno) = write_user(fds_at, &bytes) {
        let mut files = process.files.lock();
        for fd in fds {
            let _ = files.close(u64::from(fd));
        }
        return Err(errno);
    }
    Ok(0)
}

pub fn dup(fd: u64) -> Result<u64, Errno> {
    let limit = descriptor_limit();
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(fd)?;
    files.insert(file, false, limit)
}

/// dup2(2): `new` becomes a copy of `old` (closing what it was); the same
/// descriptor twice is a no-op once `old` is known valid. EBADF for a
/// `new` at or above RLIMIT_NOFILE.
pub fn dup2(old: u64, new: u64) -> Result<u64, Errno> {
    let limit = descriptor_limit();
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(old)?;
    if old == new {
        return Ok(new);
    }
    files.insert_at(new, file, false, limit).map(|()| new)
}

/// dup3(2): dup2 with O_CLOEXEC, and EINVAL for the same descriptor twice.
pub fn dup3(old: u64, new: u64, dup_flags: u64) -> Result<u64, Errno> {
    let dup_flags = dup_flags as u32;
    if dup_flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let limit = descriptor_limit();
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(old)?;
    files
        .insert_at(new, file, dup_flags & O_CLOEXEC != 0, limit)
        .map(|()| new)
}

/// fcntl(2): duplicating (F_DUPFD, F_DUPFD_CLOEXEC: EINVAL for a lowest
/// descriptor at or above RLIMIT_NOFILE), the descriptor flag (F_GETFD,
/// F_SETFD) and the status flags (F_GETFL, F_SETFL).
pub fn fcntl(fd: u64, command: u32, argument: u64) -> Result<u64, Errno> {
    let limit = descriptor_limit();
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(fd)?;
    match command {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let lowest = u64::from(argument as u32);
            files.insert_from(lowest, file, command == F_DUPFD_CLOEXEC, limit)
        }
        F_GETFD => files
            .close_on_exec_flag(fd)
            .map(|set| if set { FD_CLOEXEC } else { 0 }),
        F_SETFD => files
            .set_close_on_exec(fd, argument & FD_CLOEXEC != 0)
            .map(|()| 0),
        F_GETFL => Ok(u64::from(file.lock().status_flags())),
        F_SETFL => {
            file.lock().set_status_flags(argument as u32);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

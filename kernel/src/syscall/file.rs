//! File system calls: descriptors, reads and writes through the page cache
//! and through pipes, metadata, and durability.

use crate::fs::file::{self, FileKind, FileRef, OpenFile, flags};
use crate::fs::{FileSystem, root};
use crate::process::user_memory::{Access, read_user, read_user_string, write_user};
use crate::sched;
use abi::Errno;
use alloc::vec::Vec;
use ext2::{FileType, InodeNumber};

/// Bytes moved per step between user memory and a file.
const CHUNK: usize = 16 * 1024;
/// `O_DIRECT` buffers must be aligned to the device's logical block.
const DIRECT_ALIGNMENT: u64 = 512;
const PATH_MAX: usize = 4096;
const AT_FDCWD: i64 = -100;

fn file_system() -> Result<&'static FileSystem, Errno> {
    root().ok_or(Errno::ENOENT)
}

fn descriptor(fd: u64) -> Result<FileRef, Errno> {
    sched::current_process().files.lock().get(fd)
}

/// The directory a `*at` call's relative `path` starts from: the working
/// directory (`/`) for AT_FDCWD, else the directory `dirfd` names
/// (ENOTDIR if it is not one). An absolute path ignores `dirfd`.
pub fn directory_for(dirfd: u64, path: &[u8]) -> Result<InodeNumber, Errno> {
    if path.first() == Some(&b'/') || dirfd as i64 as i32 == AT_FDCWD as i32 {
        return Ok(ext2::ROOT_INODE);
    }
    match descriptor(u64::from(dirfd as u32))?.lock().kind {
        FileKind::Directory(inode) => Ok(inode),
        _ => Err(Errno::ENOTDIR),
    }
}

/// A path argument: ENOENT if empty, ENAMETOOLONG past PATH_MAX.
fn user_path(addr: u64) -> Result<Vec<u8>, Errno> {
    let path = read_user_string(addr, PATH_MAX)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(path)
}

/// A path argument of a `*at` call, and the directory it starts from.
fn user_path_at(dirfd: u64, addr: u64) -> Result<(InodeNumber, Vec<u8>), Errno> {
    let path = user_path(addr)?;
    Ok((directory_for(dirfd, &path)?, path))
}

pub fn openat(dirfd: u64, path: u64, open_flags: u64, mode: u64) -> Result<u64, Errno> {
    let (dir, path) = user_path_at(dirfd, path)?;
    let open_flags = open_flags as u32;
    let file = file::open(file_system()?, dir, &path, open_flags, mode as u32)?;
    sched::current_process()
        .files
        .lock()
        .insert(file, open_flags & flags::O_CLOEXEC != 0)
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
fn pipe_of(file: &FileRef) -> Option<(alloc::sync::Arc<crate::fs::pipe::Pipe>, bool)> {
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
        FileKind::Console => read_console(buffer, count),
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
    let start = match (&open.kind, position) {
        (FileKind::Regular(inode), Position::Current) if open.append => {
            file_system()?.metadata(*inode)?.size
        }
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
            None => arch::serial::write_bytes(&chunk[..step]),
            Some(inode) => {
                file_system()?.write_at(inode, start + done, &chunk[..step])?;
            }
        }
        done += step as u64;
    }
    Ok(done)
}

/// readv/writev: each `struct iovec { base, len }` in turn, stopping at a
/// short transfer.
pub fn vectored(fd: u64, iov: u64, count: u64, is_write: bool) -> Result<u64, Errno> {
    const IOV_MAX: u64 = 1024;
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

/// Console input: sleeps until at least one byte has arrived (the serial
/// port is looked at every tick), returns what has. ERESTARTSYS if a
/// signal comes first.
fn read_console(buffer: u64, count: u64) -> Result<u64, Errno> {
    if count == 0 {
        return Ok(0);
    }
    let mut bytes = Vec::new();
    loop {
        while bytes.len() < count as usize {
            match arch::serial::COM1_PORT.lock().try_read_byte() {
                Some(byte) => bytes.push(byte),
                None => break,
            }
        }
        if !bytes.is_empty() {
            write_user(buffer, &bytes)?;
            return Ok(bytes.len() as u64);
        }
        if crate::process::signal::interrupted() {
            return Err(Errno::ERESTARTSYS);
        }
        let next_tick = crate::time::now_ns() + 1_000_000_000 / u64::from(crate::time::TICK_HZ);
        sched::sleep(crate::console::input_channel(), Some(next_tick));
    }
}

pub fn lseek(fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    const SEEK_SET: u64 = 0;
    const SEEK_CUR: u64 = 1;
    const SEEK_END: u64 = 2;
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let inode = match open.kind {
        FileKind::Console | FileKind::Pipe(_) => return Err(Errno::ESPIPE),
        FileKind::Regular(inode) | FileKind::Directory(inode) => inode,
    };
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => open.offset as i64,
        SEEK_END => file_system()?.metadata(inode)?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let target = base
        .checked_add(offset)
        .filter(|target| *target >= 0)
        .ok_or(Errno::EINVAL)?;
    open.offset = target as u64;
    Ok(target as u64)
}

/// What `struct stat` says of a file.
enum StatOf {
    Console,
    Pipe,
    Inode(InodeNumber),
}

/// `struct stat` for x86_64.
fn stat_bytes(of: StatOf) -> Result<[u8; 144], Errno> {
    const S_IFIFO: u32 = 0o010000;
    const S_IFCHR: u32 = 0o020000;
    const S_IFDIR: u32 = 0o040000;
    const S_IFREG: u32 = 0o100000;
    let mut stat = [0u8; 144];
    let mut put = |offset: usize, value: u64, width: usize| {
        stat[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    };
    match of {
        StatOf::Console => {
            put(16, 1, 8); // nlink
            put(24, u64::from(S_IFCHR | 0o620), 4);
            put(40, (4 << 8) | 64, 8); // rdev: ttyS0 (major 4, minor 64)
            put(56, 1024, 8); // blksize
        }
        StatOf::Pipe => {
            put(16, 1, 8);
            put(24, u64::from(S_IFIFO | 0o600), 4);
            put(56, 4096, 8);
        }
        StatOf::Inode(inode) => {
            let metadata = file_system()?.metadata(inode)?;
            let type_bits = match metadata.file_type {
                FileType::Directory => S_IFDIR,
                _ => S_IFREG,
            };
            put(0, 0xfe00, 8); // dev: the first disk
            put(8, u64::from(inode), 8);
            put(16, u64::from(metadata.links), 8);
            put(
                24,
                u64::from(type_bits | u32::from(metadata.permissions)),
                4,
            );
            put(28, u64::from(metadata.uid), 4);
            put(32, u64::from(metadata.gid), 4);
            put(48, metadata.size, 8);
            put(56, 4096, 8);
            put(64, u64::from(metadata.sectors), 8);
            put(72, u64::from(metadata.atime), 8);
            put(88, u64::from(metadata.mtime), 8);
            put(104, u64::from(metadata.ctime), 8);
        }
    }
    Ok(stat)
}

pub fn fstat(fd: u64, buffer: u64) -> Result<u64, Errno> {
    let of = match &descriptor(fd)?.lock().kind {
        FileKind::Console => StatOf::Console,
        FileKind::Pipe(_) => StatOf::Pipe,
        FileKind::Regular(inode) | FileKind::Directory(inode) => StatOf::Inode(*inode),
    };
    write_user(buffer, &stat_bytes(of)?).map(|()| 0)
}

pub fn newfstatat(dirfd: u64, path: u64, buffer: u64, flags: u64) -> Result<u64, Errno> {
    const AT_EMPTY_PATH: u64 = 0x1000;
    let path = read_user_string(path, PATH_MAX)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return fstat(u64::from(dirfd as u32), buffer);
    }
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let dir = directory_for(dirfd, &path)?;
    let inode = file_system()?.lookup_from(dir, &path)?;
    write_user(buffer, &stat_bytes(StatOf::Inode(inode))?).map(|()| 0)
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

pub fn ftruncate(fd: u64, length: i64) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let open = file.lock();
    match open.kind {
        FileKind::Regular(inode) if open.writable => {
            let length = u64::try_from(length).map_err(|_| Errno::EINVAL)?;
            file_system()?.set_len(inode, length).map(|()| 0)
        }
        FileKind::Directory(_) => Err(Errno::EISDIR),
        _ => Err(Errno::EINVAL),
    }
}

pub fn mkdir(path: u64, mode: u64) -> Result<u64, Errno> {
    let path = user_path(path)?;
    file_system()?
        .mkdir(&path, (mode & 0o7777) as u16)
        .map(|_| 0)
}

pub fn unlink(path: u64) -> Result<u64, Errno> {
    let path = user_path(path)?;
    let fs = file_system()?;
    if fs.metadata(fs.lookup(&path)?)?.file_type == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    fs.unlink(&path).map(|()| 0)
}

pub fn sync() -> Result<u64, Errno> {
    if let Some(fs) = root() {
        fs.sync_all()?;
    }
    Ok(0)
}

pub fn ioctl(fd: u64, request: u64, argument: u64) -> Result<u64, Errno> {
    const TIOCGWINSZ: u64 = 0x5413;
    const FIONREAD: u64 = 0x541b;
    let file = descriptor(fd)?;
    let open = file.lock();
    match (&open.kind, request) {
        (FileKind::Console, TIOCGWINSZ) => {
            let rows_columns: [u16; 4] = [24, 80, 0, 0];
            let bytes: Vec<u8> = rows_columns
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect();
            write_user(argument, &bytes).map(|()| 0)
        }
        (FileKind::Pipe(end), FIONREAD) => {
            let waiting = end.pipe().available() as u32;
            write_user(argument, &waiting.to_le_bytes()).map(|()| 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// pipe(2) and pipe2(2): two descriptors, the read end first; only
/// O_CLOEXEC and O_NONBLOCK may be given (O_DIRECT's packet mode is EINVAL
/// here).
pub fn pipe2(fds_at: u64, pipe_flags: u64) -> Result<u64, Errno> {
    let pipe_flags = pipe_flags as u32;
    if pipe_flags & !(flags::O_CLOEXEC | flags::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let close_on_exec = pipe_flags & flags::O_CLOEXEC != 0;
    let (read_end, write_end) = OpenFile::pipe(pipe_flags);
    let process = sched::current_process();
    let fds = {
        let mut files = process.files.lock();
        let read_fd = files.insert(read_end, close_on_exec)?;
        match files.insert(write_end, close_on_exec) {
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
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(fd)?;
    files.insert(file, false)
}

/// dup2(2): `new` becomes a copy of `old` (closing what it was); the same
/// descriptor twice is a no-op once `old` is known valid.
pub fn dup2(old: u64, new: u64) -> Result<u64, Errno> {
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(old)?;
    if old == new {
        return Ok(new);
    }
    files.insert_at(new, file, false).map(|()| new)
}

/// dup3(2): dup2 with O_CLOEXEC, and EINVAL for the same descriptor twice.
pub fn dup3(old: u64, new: u64, dup_flags: u64) -> Result<u64, Errno> {
    let dup_flags = dup_flags as u32;
    if dup_flags & !flags::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(old)?;
    files
        .insert_at(new, file, dup_flags & flags::O_CLOEXEC != 0)
        .map(|()| new)
}

/// fcntl(2): duplicating (F_DUPFD, F_DUPFD_CLOEXEC), the descriptor flag
/// (F_GETFD, F_SETFD) and the status flags (F_GETFL, F_SETFL).
pub fn fcntl(fd: u64, command: u32, argument: u64) -> Result<u64, Errno> {
    const F_DUPFD: u32 = 0;
    const F_GETFD: u32 = 1;
    const F_SETFD: u32 = 2;
    const F_GETFL: u32 = 3;
    const F_SETFL: u32 = 4;
    const F_DUPFD_CLOEXEC: u32 = 1030;
    const FD_CLOEXEC: u64 = 1;
    let process = sched::current_process();
    let mut files = process.files.lock();
    let file = files.get(fd)?;
    match command {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            files.insert_from(u64::from(argument as u32), file, command == F_DUPFD_CLOEXEC)
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

//! File system calls: descriptors, reads and writes through the page cache,
//! metadata, and durability.

use crate::fs::file::{self, FileKind, FileRef, OpenFile};
use crate::fs::{FileSystem, root};
use crate::process::user_memory::Access;
use crate::process::with_current;
use abi::Errno;
use alloc::vec::Vec;
use ext2::FileType;

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
    with_current(|process| process.files.get(fd))
}

/// A path argument as an absolute path (the working directory is `/`).
fn user_path(dirfd: i64, addr: u64) -> Result<Vec<u8>, Errno> {
    let path = with_current(|process| process.copy_string_from_user(addr, PATH_MAX))?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path[0] == b'/' {
        return Ok(path);
    }
    if dirfd != AT_FDCWD {
        // Only the working directory anchors relative paths here.
        descriptor(dirfd as u64)?;
        return Err(Errno::EOPNOTSUPP);
    }
    Ok([b"/".as_slice(), &path].concat())
}

pub fn openat(dirfd: u64, path: u64, flags: u64, mode: u64) -> Result<u64, Errno> {
    let path = user_path(dirfd as i64, path)?;
    let file = file::open(file_system()?, &path, flags as u32, mode as u32)?;
    with_current(|process| process.files.insert(file))
}

pub fn close(fd: u64) -> Result<u64, Errno> {
    with_current(|process| process.files.close(fd)).map(|()| 0)
}

/// Where a read or write happens: the description's offset (advanced), or
/// an explicit position (pread/pwrite).
#[derive(Clone, Copy)]
pub enum Position {
    Current,
    At(u64),
}

pub fn read(fd: u64, buffer: u64, count: u64, position: Position) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let mut open = file.lock();
    if !open.readable {
        return Err(Errno::EBADF);
    }
    match open.kind {
        FileKind::Console => read_console(buffer, count),
        FileKind::Directory(_) => Err(Errno::EISDIR),
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
                with_current(|process| process.copy_to_user(buffer + done, &chunk[..got]))?;
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
    let mut open = file.lock();
    if !open.writable {
        return Err(Errno::EBADF);
    }
    let direct = open.direct && matches!(open.kind, FileKind::Regular(_));
    if direct && !buffer.is_multiple_of(DIRECT_ALIGNMENT) {
        return Err(Errno::EINVAL);
    }
    let start = match (open.kind, position) {
        (FileKind::Regular(inode), Position::Current) if open.append => {
            file_system()?.metadata(inode)?.size
        }
        (_, Position::Current) => open.offset,
        (_, Position::At(offset)) => offset,
    };
    let done = match open.kind {
        // The device reads the user's frames.
        FileKind::Regular(inode) if direct => {
            file_system()?.write_direct(inode, start, count as usize, |offset, len| {
                with_current(|process| {
                    process.user_segments(buffer + offset as u64, len, Access::Read)
                })
            })? as u64
        }
        kind => write_chunks(kind, buffer, count, start)?,
    };
    if let Position::Current = position {
        open.offset = start + done;
    }
    Ok(done)
}

/// A write through the page cache (or to the console), [`CHUNK`] bytes at a
/// time; returns how many bytes were written.
fn write_chunks(kind: FileKind, buffer: u64, count: u64, start: u64) -> Result<u64, Errno> {
    let mut chunk = alloc::vec![0u8; CHUNK.min(count as usize)];
    let mut done = 0u64;
    while done < count {
        let step = (count - done).min(CHUNK as u64) as usize;
        let copied =
            with_current(|process| process.copy_from_user(buffer + done, &mut chunk[..step]));
        if let Err(errno) = copied {
            // Like Linux: a fault after some bytes were written ends a short write.
            return if done > 0 { Ok(done) } else { Err(errno) };
        }
        match kind {
            FileKind::Console => arch::serial::write_bytes(&chunk[..step]),
            FileKind::Directory(_) => return Err(Errno::EISDIR),
            FileKind::Regular(inode) => {
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
        with_current(|process| process.copy_from_user(iov + index * 16, &mut raw))?;
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

/// Console input: waits for at least one byte, returns what has arrived.
fn read_console(buffer: u64, count: u64) -> Result<u64, Errno> {
    if count == 0 {
        return Ok(0);
    }
    let mut bytes = Vec::new();
    while bytes.len() < count as usize {
        match arch::serial::COM1_PORT.lock().try_read_byte() {
            Some(byte) => bytes.push(byte),
            None if bytes.is_empty() => arch::cpu::halt(),
            None => break,
        }
    }
    with_current(|process| process.copy_to_user(buffer, &bytes))?;
    Ok(bytes.len() as u64)
}

pub fn lseek(fd: u64, offset: i64, whence: u64) -> Result<u64, Errno> {
    const SEEK_SET: u64 = 0;
    const SEEK_CUR: u64 = 1;
    const SEEK_END: u64 = 2;
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let inode = match open.kind {
        FileKind::Console => return Err(Errno::ESPIPE),
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

/// `struct stat` for x86_64.
fn stat_bytes(kind: FileKind) -> Result<[u8; 144], Errno> {
    const S_IFCHR: u32 = 0o020000;
    const S_IFDIR: u32 = 0o040000;
    const S_IFREG: u32 = 0o100000;
    let mut stat = [0u8; 144];
    let mut put = |offset: usize, value: u64, width: usize| {
        stat[offset..offset + width].copy_from_slice(&value.to_le_bytes()[..width]);
    };
    match kind {
        FileKind::Console => {
            put(16, 1, 8); // nlink
            put(24, u64::from(S_IFCHR | 0o620), 4);
            put(40, (4 << 8) | 64, 8); // rdev: ttyS0 (major 4, minor 64)
            put(56, 1024, 8); // blksize
        }
        FileKind::Regular(inode) | FileKind::Directory(inode) => {
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
    let kind = descriptor(fd)?.lock().kind;
    let stat = stat_bytes(kind)?;
    with_current(|process| process.copy_to_user(buffer, &stat)).map(|()| 0)
}

pub fn newfstatat(dirfd: u64, path: u64, buffer: u64, flags: u64) -> Result<u64, Errno> {
    const AT_EMPTY_PATH: u64 = 0x1000;
    let empty = with_current(|process| process.copy_string_from_user(path, PATH_MAX))?.is_empty();
    if empty && flags & AT_EMPTY_PATH != 0 {
        return fstat(dirfd, buffer);
    }
    let path = user_path(dirfd as i64, path)?;
    let fs = file_system()?;
    let inode = fs.lookup(&path)?;
    let kind = match fs.metadata(inode)?.file_type {
        FileType::Directory => FileKind::Directory(inode),
        _ => FileKind::Regular(inode),
    };
    let stat = stat_bytes(kind)?;
    with_current(|process| process.copy_to_user(buffer, &stat)).map(|()| 0)
}

pub fn fsync(fd: u64) -> Result<u64, Errno> {
    let file = descriptor(fd)?;
    let mut open = file.lock();
    let OpenFile { kind, errors, .. } = &mut *open;
    match kind {
        FileKind::Regular(inode) => file_system()?.fsync(*inode, errors).map(|()| 0),
        FileKind::Directory(_) => Ok(0),
        FileKind::Console => Err(Errno::EINVAL),
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
    let path = user_path(AT_FDCWD, path)?;
    file_system()?
        .mkdir(&path, (mode & 0o7777) as u16)
        .map(|_| 0)
}

pub fn unlink(path: u64) -> Result<u64, Errno> {
    let path = user_path(AT_FDCWD, path)?;
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
    let kind = descriptor(fd)?.lock().kind;
    match (kind, request) {
        (FileKind::Console, TIOCGWINSZ) => {
            let rows_columns: [u16; 4] = [24, 80, 0, 0];
            let bytes: Vec<u8> = rows_columns
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect();
            with_current(|process| process.copy_to_user(argument, &bytes)).map(|()| 0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

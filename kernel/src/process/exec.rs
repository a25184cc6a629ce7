//! Loading a program into a fresh address space, as execve does: a static
//! ELF executable's PT_LOAD segments mapped privately from the file through
//! the page cache, bss zeroed, the vDSO, and the System V initial stack
//! (argc, argv, envp, auxv); or a `#!` script, run by its interpreter.

use super::memory::UserMemory;
use crate::fs::FileSystem;
use crate::fs::in_use::InodeUse;
use crate::fs::mapping::InodeFile;
use crate::memory::machine::with_machine;
use abi::Errno;
use abi::auxv;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE,
};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use ext2::InodeNumber;
use mm::address_space::{FileMapping, MmapRequest};
use mm::frame::PAGE_SIZE;
use mm::vma::FileRef;

/// Where a position-independent executable is placed (Linux's
/// `ELF_ET_DYN_BASE` for x86_64, without randomisation).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// The stack ends here. It starts as 128 KiB (Linux's `stack_expand`) and,
/// being MAP_GROWSDOWN, grows as it is used, up to RLIMIT_STACK.
const STACK_TOP: u64 = 0x7fff_ff00_0000;
const INITIAL_STACK_SIZE: u64 = 128 << 10;
/// The vDSO's page, just above the stack.
const VDSO_AT: u64 = STACK_TOP;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PT_PHDR: u32 = 6;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
const HEADER_SIZE: usize = 64;
const PROGRAM_HEADER_SIZE: usize = 56;
const MAX_PROGRAM_HEADERS: usize = 64;

struct ProgramHeader {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    file_size: u64,
    memory_size: u64,
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().expect("8 bytes"))
}

/// Reads exactly `buffer.len()` bytes at `offset`, or ENOEXEC if the file
/// is shorter.
fn read_exact(
    fs: &FileSystem,
    inode: InodeNumber,
    offset: u64,
    buffer: &mut [u8],
) -> Result<(), Errno> {
    match fs.read_at(inode, offset, buffer)? {
        read if read == buffer.len() => Ok(()),
        _ => Err(Errno::ENOEXEC),
    }
}

fn page_down(addr: u64) -> u64 {
    addr & !(PAGE_SIZE - 1)
}

fn page_up(addr: u64) -> Result<u64, Errno> {
    addr.checked_next_multiple_of(PAGE_SIZE)
        .ok_or(Errno::ENOEXEC)
}

fn protection(flags: u32) -> u32 {
    let mut prot = 0;
    for (flag, bit) in [(PF_R, PROT_READ), (PF_W, PROT_WRITE), (PF_X, PROT_EXEC)] {
        if flags & flag != 0 {
            prot |= bit;
        }
    }
    prot
}

/// A program loaded and ready to start.
pub struct Image {
    pub entry: u64,
    pub stack_pointer: u64,
    /// The name the process goes by: the last part of the path run.
    pub name: String,
}

/// The most `#!` interpreters one exec may go through (Linux's limit).
const MAX_INTERPRETER_DEPTH: usize = 5;
/// The first line of a `#!` script is read this far (Linux's
/// `BINPRM_BUF_SIZE`).
const SCRIPT_LINE_MAX: usize = 256;
/// The longest single argument or environment string (`MAX_ARG_STRLEN`).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Room for argv and envp, strings and pointers, as Linux's
/// `bprm_stack_limits` computes it from the RLIMIT_STACK soft limit: a
/// quarter of it (2 MiB for the default 8 MiB), at most three quarters of
/// 8 MiB, at least `ARG_MAX` (128 KiB).
fn argument_space(stack_limit: u64) -> usize {
    const DEFAULT_STACK_LIMIT: u64 = 8 << 20;
    const ARG_MAX: u64 = 128 << 10;
    let space = (DEFAULT_STACK_LIMIT / 4 * 3)
        .min(stack_limit / 4)
        .max(ARG_MAX);
    space as usize
}

/// The file to run.
pub enum Program<'a> {
    /// A path, relative to the directory `dir` unless it is absolute.
    Path { dir: InodeNumber, path: &'a [u8] },
    /// An open file (execveat with AT_EMPTY_PATH).
    Inode(InodeNumber),
}

/// Loads `program` into `memory` (fresh and empty) with `argv` and
/// `envp`, as execve(2) would, `execfn` being the name it was run by (for
/// AT_EXECFN and the process's name), the stack growing up to
/// `stack_limit` (RLIMIT_STACK): ENOENT or ENOTDIR from the path,
/// EACCES for anything but a regular file with an execute bit, ENOEXEC for
/// what is neither ELF nor a `#!` script, E2BIG for arguments past
/// Linux's limits, ELOOP past five interpreters (resolved from the root).
pub fn load(
    fs: &'static FileSystem,
    memory: &mut UserMemory,
    program: Program,
    execfn: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    stack_limit: u64,
) -> Result<Image, Errno> {
    check_argument_size(execfn, argv, envp, argument_space(stack_limit))?;
    memory.address_space.set_stack_limit(stack_limit);
    let mut inode = match program {
        Program::Path { dir, path } => executable(fs, fs.lookup_from(dir, path)?)?,
        Program::Inode(inode) => executable(fs, inode)?,
    };
    let mut script_path: Vec<u8> = execfn.to_vec();
    let mut arguments: Vec<Vec<u8>> = argv.iter().map(|arg| arg.to_vec()).collect();
    for _ in 0..=MAX_INTERPRETER_DEPTH {
        let mut start = [0u8; SCRIPT_LINE_MAX];
        let read = fs.read_at(inode, 0, &mut start)?;
        let Some(line) = start[..read].strip_prefix(b"#!") else {
            let arguments: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
            let (entry, stack_pointer) = memory.load_elf(fs, inode, execfn, &arguments, envp)?;
            return Ok(Image {
                entry,
                stack_pointer,
                name: last_component(execfn),
            });
        };
        let (interpreter, argument) = parse_interpreter_line(line, read == SCRIPT_LINE_MAX)?;
        // The script's argv: the interpreter, its argument, the script's
        // path, then the arguments after the script's own argv[0].
        let mut replaced = alloc::vec![interpreter.to_vec()];
        replaced.extend(argument.map(<[u8]>::to_vec));
        replaced.push(script_path);
        replaced.extend(arguments.into_iter().skip(1));
        arguments = replaced;
        script_path = interpreter.to_vec();
        inode = executable(fs, fs.lookup(interpreter)?)?;
    }
    Err(Errno::ELOOP)
}

/// `inode` if it may be run: a regular file with an execute bit (root may
/// run a file any of whose execute bits is set).
fn executable(fs: &FileSystem, inode: InodeNumber) -> Result<InodeNumber, Errno> {
    let metadata = fs.metadata(inode)?;
    if metadata.file_type != ext2::FileType::Regular || metadata.permissions & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    Ok(inode)
}

/// The interpreter and its optional argument from a `#!` line (what
/// follows the `#!`), as Linux's `load_script` parses it: the line ends at
/// a newline or a NUL, blanks around the two are dropped; without a newline
/// in a full buffer, an interpreter with nothing after it may have been cut
/// short, so that is ENOEXEC, as is a line with no interpreter.
fn parse_interpreter_line(line: &[u8], full_buffer: bool) -> Result<(&[u8], Option<&[u8]>), Errno> {
    let blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let line = match line.iter().position(|&byte| byte == b'\n') {
        Some(end) => &line[..end],
        None => {
            let start = line
                .iter()
                .position(|byte| !blank(byte))
                .ok_or(Errno::ENOEXEC)?;
            let terminated = line[start..].iter().any(|byte| blank(byte) || *byte == 0);
            if full_buffer && !terminated {
                return Err(Errno::ENOEXEC);
            }
            line
        }
    };
    let line = &line[..line
        .iter()
        .position(|&byte| byte == 0)
        .unwrap_or(line.len())];
    let line = trim(line, blank);
    if line.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let split = line.iter().position(blank).unwrap_or(line.len());
    let (interpreter, rest) = line.split_at(split);
    let argument = trim(rest, blank);
    Ok((interpreter, (!argument.is_empty()).then_some(argument)))
}

fn trim(bytes: &[u8], blank: impl Fn(&u8) -> bool) -> &[u8] {
    let start = bytes
        .iter()
        .position(|byte| !blank(byte))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|byte| !blank(byte))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

/// E2BIG as Linux's `bprm_stack_limits` and `copy_strings` decide it: a
/// string longer than MAX_ARG_STRLEN, or strings and pointers together
/// beyond `space`.
fn check_argument_size(
    path: &[u8],
    argv: &[&[u8]],
    envp: &[&[u8]],
    space: usize,
) -> Result<(), Errno> {
    let strings = argv.iter().chain(envp);
    if strings
        .clone()
        .any(|string| string.len() + 1 > MAX_ARG_STRLEN)
    {
        return Err(Errno::E2BIG);
    }
    let pointers = (argv.len() + envp.len()) * 8;
    let bytes: usize = strings.map(|string| string.len() + 1).sum::<usize>() + path.len() + 1;
    if pointers >= space || bytes > space - pointers {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// The last part of a path: what a process is named after.
fn last_component(path: &[u8]) -> String {
    let name = path.rsplit(|&byte| byte == b'/').next().unwrap_or(path);
    String::from_utf8_lossy(name).into_owned()
}

impl UserMemory {
    /// Maps the static ELF executable `inode` and builds its stack; returns
    /// the entry point and the initial stack pointer.
    fn load_elf(
        &mut self,
        fs: &'static FileSystem,
        inode: InodeNumber,
        path: &[u8],
        argv: &[&[u8]],
        envp: &[&[u8]],
    ) -> Result<(u64, u64), Errno> {
        let mut header = [0u8; HEADER_SIZE];
        read_exact(fs, inode, 0, &mut header)?;
        let is_elf64_x86 = header[..4] == *b"\x7fELF"
            && header[4] == 2 // ELFCLASS64
            && header[5] == 1 // little endian
            && u16_at(&header, 18) == EM_X86_64;
        if !is_elf64_x86 {
            return Err(Errno::ENOEXEC);
        }
        let bias = match u16_at(&header, 16) {
            ET_EXEC => 0,
            ET_DYN => PIE_BASE,
            _ => return Err(Errno::ENOEXEC),
        };
        let entry = u64_at(&header, 24) + bias;
        let phoff = u64_at(&header, 32);
        let (phentsize, phnum) = (u16_at(&header, 54), u16_at(&header, 56));
        if usize::from(phentsize) != PROGRAM_HEADER_SIZE || usize::from(phnum) > MAX_PROGRAM_HEADERS
        {
            return Err(Errno::ENOEXEC);
        }
        let mut table = alloc::vec![0u8; usize::from(phnum) * PROGRAM_HEADER_SIZE];
        read_exact(fs, inode, phoff, &mut table)?;
        let headers: Vec<ProgramHeader> = table
            .chunks(PROGRAM_HEADER_SIZE)
            .map(|raw| ProgramHeader {
                kind: u32_at(raw, 0),
                flags: u32_at(raw, 4),
                offset: u64_at(raw, 8),
                vaddr: u64_at(raw, 16),
                file_size: u64_at(raw, 32),
                memory_size: u64_at(raw, 40),
            })
            .collect();
        if headers.iter().any(|header| header.kind == PT_INTERP) {
            log::warn!(
                "{}: dynamically linked programs are not supported",
                String::from_utf8_lossy(path)
            );
            return Err(Errno::ENOEXEC);
        }
        let file = FileRef::new(Arc::new(InodeFile {
            in_use: InodeUse::new(fs, inode),
            open: None,
        }));
        let mut program_headers_at = headers
            .iter()
            .find(|header| header.kind == PT_PHDR)
            .map(|header| header.vaddr + bias);
        let mut end_of_image = 0;
        for segment in headers.iter().filter(|header| header.kind == PT_LOAD) {
            self.load_segment(&file, segment, bias)?;
            let contains_table =
                (segment.offset..segment.offset + segment.file_size).contains(&phoff);
            if program_headers_at.is_none() && contains_table {
                program_headers_at = Some(segment.vaddr + bias + (phoff - segment.offset));
            }
            end_of_image = end_of_image.max(page_up(segment.vaddr + bias + segment.memory_size)?);
        }
        self.address_space.set_heap_start(end_of_image);
        self.map_vdso()?;
        let stack_pointer = self.build_stack(
            path,
            argv,
            envp,
            &[
                (auxv::AT_PHDR, program_headers_at.unwrap_or(0)),
                (auxv::AT_PHENT, PROGRAM_HEADER_SIZE as u64),
                (auxv::AT_PHNUM, u64::from(phnum)),
                (auxv::AT_PAGESZ, PAGE_SIZE),
                (auxv::AT_BASE, 0),
                (auxv::AT_FLAGS, 0),
                (auxv::AT_ENTRY, entry),
                (auxv::AT_UID, 0),
                (auxv::AT_EUID, 0),
                (auxv::AT_GID, 0),
                (auxv::AT_EGID, 0),
                (auxv::AT_HWCAP, u64::from(arch::cpu::feature_bits())),
                (auxv::AT_CLKTCK, u64::from(crate::time::TICK_HZ)),
                (auxv::AT_SECURE, 0),
                (auxv::AT_SYSINFO_EHDR, VDSO_AT),
            ],
        )?;
        Ok((entry, stack_pointer))
    }

    /// Maps one PT_LOAD segment: its file bytes privately from the file, the
    /// rest of its memory (bss) zero-filled.
    fn load_segment(
        &mut self,
        file: &FileRef,
        segment: &ProgramHeader,
        bias: u64,
    ) -> Result<(), Errno> {
        if segment.file_size > segment.memory_size
            || segment.vaddr % PAGE_SIZE != segment.offset % PAGE_SIZE
        {
            return Err(Errno::ENOEXEC);
        }
        let start = segment.vaddr.checked_add(bias).ok_or(Errno::ENOEXEC)?;
        let prot = protection(segment.flags);
        let file_end = start + segment.file_size;
        let mapped_end = page_up(file_end)?;
        if segment.file_size > 0 {
            self.mmap(MmapRequest {
                addr: page_down(start),
                len: mapped_end - page_down(start),
                prot,
                flags: MAP_PRIVATE | MAP_FIXED,
                file: Some(FileMapping {
                    file: file.clone(),
                    readable: true,
                    writable: false,
                }),
                offset: page_down(segment.offset),
            })?;
            // The file's bytes after the segment share its last page: bss
            // starts there and must read as zeros (Linux's padzero).
            let tail = (mapped_end - file_end) as usize;
            if segment.memory_size > segment.file_size && tail > 0 {
                self.copy_to_user(file_end, &alloc::vec![0u8; tail])?;
            }
        }
        let memory_end = page_up(start + segment.memory_size)?;
        if memory_end > mapped_end {
            self.mmap(MmapRequest {
                addr: mapped_end,
                len: memory_end - mapped_end,
                prot,
                flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                file: None,
                offset: 0,
            })?;
        }
        Ok(())
    }

    /// Maps this process's copy of the vDSO (`arch::vdso`) at `VDSO_AT`,
    /// readable and executable, with the clock's parameters in it.
    fn map_vdso(&mut self) -> Result<(), Errno> {
        let len = arch::vdso::SIZE as u64;
        self.mmap(MmapRequest {
            addr: VDSO_AT,
            len,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            file: None,
            offset: 0,
        })?;
        self.copy_to_user(VDSO_AT, &arch::vdso::image(&crate::time::clock_data()))?;
        with_machine(|machine| {
            self.address_space
                .mprotect(VDSO_AT, len, PROT_READ | PROT_EXEC, machine)
        })
    }

    /// Maps the stack and lays out, from its top down: the strings, the
    /// random bytes, then (16-byte aligned) argc, argv, envp and auxv.
    fn build_stack(
        &mut self,
        path: &[u8],
        argv: &[&[u8]],
        envp: &[&[u8]],
        auxiliary: &[(u64, u64)],
    ) -> Result<u64, Errno> {
        self.mmap(MmapRequest {
            addr: STACK_TOP - INITIAL_STACK_SIZE,
            len: INITIAL_STACK_SIZE,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN,
            file: None,
            offset: 0,
        })?;
        let mut top = STACK_TOP;
        let mut push = |memory: &mut UserMemory, bytes: &[u8], nul: bool| -> Result<u64, Errno> {
            top -= (bytes.len() + usize::from(nul)) as u64;
            memory.copy_to_user(top, bytes)?;
            if nul {
                memory.copy_to_user(top + bytes.len() as u64, &[0])?;
            }
            Ok(top)
        };
        let execfn = push(self, path, true)?;
        let env_addrs: Vec<u64> = envp
            .iter()
            .map(|env| push(self, env, true))
            .collect::<Result<_, _>>()?;
        let arg_addrs: Vec<u64> = argv
            .iter()
            .map(|arg| push(self, arg, true))
            .collect::<Result<_, _>>()?;
        let random: Vec<u8> = [arch::cpu::random_u64(), arch::cpu::random_u64()]
            .iter()
            .flat_map(|word| word.to_le_bytes())
            .collect();
        let random_at = push(self, &random, false)?;
        let platform = push(self, b"x86_64", true)?;
        let mut words = Vec::new();
        words.push(arg_addrs.len() as u64);
        words.extend(&arg_addrs);
        words.push(0);
        words.extend(&env_addrs);
        words.push(0);
        for &(key, value) in auxiliary {
            words.extend([key, value]);
        }
        words.extend([auxv::AT_RANDOM, random_at, auxv::AT_EXECFN, execfn]);
        words.extend([auxv::AT_PLATFORM, platform, auxv::AT_NULL, 0]);
        let table_bytes = words.len() as u64 * 8;
        // argc must sit on a 16-byte boundary (the x86_64 ABI at `_start`).
        let stack_pointer = (top - table_bytes) & !15;
        let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
        self.copy_to_user(stack_pointer, &bytes)?;
        Ok(stack_pointer)
    }
}

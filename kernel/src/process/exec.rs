//! Loading a static ELF executable into a fresh address space: its PT_LOAD
//! segments mapped privately from the file through the page cache, bss
//! zeroed, and the System V initial stack (argc, argv, envp, auxv).

use super::Process;
use crate::fs::FileSystem;
use crate::fs::in_use::InodeUse;
use crate::fs::mapping::InodeFile;
use crate::memory::machine::with_machine;
use abi::Errno;
use abi::mman::{MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE};
use alloc::sync::Arc;
use alloc::vec::Vec;
use arch::user::UserEntry;
use ext2::InodeNumber;
use mm::address_space::{FileMapping, MmapRequest};
use mm::frame::PAGE_SIZE;
use mm::vma::FileRef;

/// Where a position-independent executable is placed (Linux's
/// `ELF_ET_DYN_BASE` for x86_64, without randomisation).
const PIE_BASE: u64 = 0x5555_5555_4000;
/// The initial stack: 8 MiB (Linux's default `RLIMIT_STACK`) ending here.
const STACK_TOP: u64 = 0x7fff_ff00_0000;
const STACK_SIZE: u64 = 8 << 20;
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

/// The auxiliary-vector keys this loader provides.
mod auxv {
    pub const AT_NULL: u64 = 0;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
}

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

impl Process {
    fn mmap(&mut self, request: MmapRequest) -> Result<u64, Errno> {
        let releaser = self.releaser();
        with_machine(|machine| self.address_space.mmap(request, machine, releaser))
    }

    /// Loads the executable at `path` into this (empty) address space and
    /// returns where it starts: `execve` without the process replacement.
    pub fn exec(
        &mut self,
        fs: &'static FileSystem,
        path: &[u8],
        argv: &[&[u8]],
        envp: &[&[u8]],
    ) -> Result<UserEntry, Errno> {
        let inode = fs.lookup(path)?;
        if fs.metadata(inode)?.file_type != ext2::FileType::Regular {
            return Err(Errno::EACCES);
        }
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
                self.name
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
        Ok(UserEntry {
            rip: entry,
            rsp: stack_pointer,
        })
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
            addr: STACK_TOP - STACK_SIZE,
            len: STACK_SIZE,
            prot: PROT_READ | PROT_WRITE,
            flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            file: None,
            offset: 0,
        })?;
        let mut top = STACK_TOP;
        let mut push = |process: &mut Process, bytes: &[u8], nul: bool| -> Result<u64, Errno> {
            top -= (bytes.len() + usize::from(nul)) as u64;
            process.copy_to_user(top, bytes)?;
            if nul {
                process.copy_to_user(top + bytes.len() as u64, &[0])?;
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

//! Random sequences of memory system calls, applied both to `AddressSpace`
//! (with real page tables on emulated memory) and to a deliberately simple
//! reference model: a map from page to attributes, changed one page at a
//! time in the order Linux's VMA loops visit them. Return values, errnos,
//! msync plans, reported unmapped pages, VMA contents and page-table entries
//! must agree after every step.

#[path = "common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use abi::Errno;
use abi::mman::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MS_ASYNC,
    MS_INVALIDATE, MS_SYNC, PROT_WRITE,
};
use common::{PAGE, Process, file};
use mm::address_space::{FileMapping, Layout, USER_END, USER_START};
use mm::vma::{Backing, Sharing};
use proptest::prelude::*;

/// Operations address pages `WINDOW + n * PAGE` for small `n`.
const WINDOW: u64 = 0x40_0000;
const WINDOW_PAGES: u64 = 48;
const LAYOUT: Layout = Layout {
    mmap_base: WINDOW + 40 * PAGE,
    legacy_mmap_base: WINDOW + 64 * PAGE,
};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Anonymous,
    SharedFile { id: u64, writable: bool },
    PrivateFile { id: u64 },
}

#[derive(Clone, Copy, Debug)]
enum Placement {
    Fixed,
    FixedNoReplace,
    Hint,
    Anywhere,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Mmap {
        page: u64,
        pages: u64,
        prot: u32,
        kind: Kind,
        file_page: u64,
        placement: Placement,
    },
    Munmap {
        page: u64,
        pages: u64,
    },
    Mprotect {
        page: u64,
        pages: u64,
        prot: u32,
    },
    Mlock {
        page: u64,
        pages: u64,
        lock: bool,
    },
    Msync {
        page: u64,
        pages: u64,
        flags: u32,
    },
    Touch {
        page: u64,
    },
    Store {
        page: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let page = 0..WINDOW_PAGES;
    let pages = 0..10u64;
    let prot = prop_oneof![0..8u32, Just(0x40)];
    let kind = prop_oneof![
        Just(Kind::Anonymous),
        (1..3u64, any::<bool>()).prop_map(|(id, writable)| Kind::SharedFile { id, writable }),
        (1..3u64).prop_map(|id| Kind::PrivateFile { id }),
    ];
    let placement = prop_oneof![
        Just(Placement::Fixed),
        Just(Placement::FixedNoReplace),
        Just(Placement::Hint),
        Just(Placement::Anywhere),
    ];
    let flags = prop_oneof![
        Just(0),
        Just(MS_ASYNC),
        Just(MS_SYNC),
        Just(MS_INVALIDATE),
        Just(MS_ASYNC | MS_INVALIDATE),
        Just(MS_SYNC | MS_INVALIDATE),
    ];
    prop_oneof![
        (
            page.clone(),
            pages.clone(),
            prot.clone(),
            kind,
            0..4u64,
            placement
        )
            .prop_map(|(page, pages, prot, kind, file_page, placement)| Op::Mmap {
                page,
                pages,
                prot,
                kind,
                file_page,
                placement
            }),
        (page.clone(), pages.clone()).prop_map(|(page, pages)| Op::Munmap { page, pages }),
        (page.clone(), pages.clone(), prot).prop_map(|(page, pages, prot)| Op::Mprotect {
            page,
            pages,
            prot
        }),
        (page.clone(), pages.clone(), any::<bool>()).prop_map(|(page, pages, lock)| Op::Mlock {
            page,
            pages,
            lock
        }),
        (page.clone(), pages, flags).prop_map(|(page, pages, flags)| Op::Msync {
            page,
            pages,
            flags
        }),
        page.clone().prop_map(|page| Op::Touch { page }),
        page.prop_map(|page| Op::Store { page }),
    ]
}

fn addr(page: u64) -> u64 {
    WINDOW + page * PAGE
}

/// What the model knows about one mapped page.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PageState {
    prot: u32,
    shared: bool,
    /// (file id, file page), or `None` for anonymous memory.
    file_page: Option<(u64, u64)>,
    locked: bool,
    may_write: bool,
}

impl PageState {
    fn writes_back(&self) -> Option<(u64, u64)> {
        self.file_page.filter(|_| self.shared && self.may_write)
    }
}

/// A populated page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PteState {
    writable: bool,
    accessible: bool,
    dirty: bool,
}

/// A page an msync plan writes back: file id, file page, virtual page.
type WrittenPage = (u64, u64, u64);

/// An unmapped page as the tests compare it: page, dirty, the file page it showed.
type Unmapped = (u64, bool, Option<(u64, u64)>);

#[derive(Default)]
struct Model {
    pages: BTreeMap<u64, PageState>,
    ptes: BTreeMap<u64, PteState>,
    lock_new_mappings: bool,
}

impl Model {
    fn unmap(&mut self, start: u64, end: u64) -> Vec<Unmapped> {
        let removed: Vec<u64> = self.pages.range(start..end).map(|(&p, _)| p).collect();
        let mut unmapped = Vec::new();
        for page in removed {
            let state = self.pages.remove(&page).unwrap();
            if let Some(pte) = self.ptes.remove(&page) {
                unmapped.push((page, pte.dirty, state.file_page));
            }
        }
        unmapped
    }

    fn is_free(&self, start: u64, len: u64) -> bool {
        self.pages.range(start..start + len).next().is_none()
    }

    fn top_down_gap(&self, len: u64) -> Option<u64> {
        let mut gap_end = LAYOUT.mmap_base;
        for (&page, _) in self.pages.range(..LAYOUT.mmap_base).rev() {
            if gap_end - (page + PAGE) >= len {
                return Some(gap_end - len);
            }
            gap_end = page;
        }
        (gap_end - USER_START >= len).then(|| gap_end - len)
    }

    fn bottom_up_gap(&self, len: u64) -> u64 {
        let mut start = LAYOUT.legacy_mmap_base;
        for (&page, _) in self.pages.range(LAYOUT.legacy_mmap_base..) {
            if page - start >= len {
                return start;
            }
            start = page + PAGE;
        }
        start
    }

    fn mmap(
        &mut self,
        at: u64,
        pages: u64,
        prot: u32,
        kind: Kind,
        file_page: u64,
        placement: Placement,
    ) -> (Result<u64, Errno>, Vec<Unmapped>) {
        if pages == 0 {
            return (Err(Errno::EINVAL), Vec::new());
        }
        let len = pages * PAGE;
        let start = match placement {
            Placement::Fixed | Placement::FixedNoReplace => at,
            Placement::Hint if self.is_free(at, len) => at,
            Placement::Hint | Placement::Anywhere => self
                .top_down_gap(len)
                .unwrap_or_else(|| self.bottom_up_gap(len)),
        };
        if matches!(placement, Placement::FixedNoReplace) && !self.is_free(start, len) {
            return (Err(Errno::EEXIST), Vec::new());
        }
        let (shared, file, may_write) = match kind {
            Kind::Anonymous => (false, None, true),
            Kind::SharedFile {
                writable: false, ..
            } if prot & PROT_WRITE != 0 => {
                return (Err(Errno::EACCES), Vec::new());
            }
            Kind::SharedFile { id, writable } => (true, Some(id), writable),
            Kind::PrivateFile { id } => (false, Some(id), true),
        };
        let unmapped = if matches!(placement, Placement::Fixed) {
            self.unmap(start, start + len)
        } else {
            Vec::new()
        };
        for n in 0..pages {
            let state = PageState {
                prot: prot & 7,
                shared,
                file_page: file.map(|id| (id, file_page + n)),
                locked: self.lock_new_mappings,
                may_write,
            };
            self.pages.insert(start + n * PAGE, state);
        }
        (Ok(start), unmapped)
    }

    fn munmap(&mut self, start: u64, pages: u64) -> (Result<(), Errno>, Vec<Unmapped>) {
        if pages == 0 {
            return (Err(Errno::EINVAL), Vec::new());
        }
        (Ok(()), self.unmap(start, start + pages * PAGE))
    }

    fn mprotect(&mut self, start: u64, pages: u64, prot: u32) -> Result<(), Errno> {
        if pages == 0 {
            return Ok(());
        }
        if prot & !7 != 0 {
            return Err(Errno::EINVAL);
        }
        for n in 0..pages {
            let page = start + n * PAGE;
            let Some(state) = self.pages.get_mut(&page) else {
                return Err(Errno::ENOMEM);
            };
            if prot & PROT_WRITE != 0 && !state.may_write {
                return Err(Errno::EACCES);
            }
            state.prot = prot;
            if let Some(pte) = self.ptes.get_mut(&page) {
                pte.writable &= prot & PROT_WRITE != 0;
                pte.accessible = prot != 0;
            }
        }
        Ok(())
    }

    fn set_locked(&mut self, start: u64, pages: u64, locked: bool) -> Result<(), Errno> {
        for n in 0..pages {
            let Some(state) = self.pages.get_mut(&(start + n * PAGE)) else {
                return Err(Errno::ENOMEM);
            };
            state.locked = locked;
        }
        Ok(())
    }

    /// The result and the pages written back.
    fn msync(&self, start: u64, pages: u64, flags: u32) -> (Result<(), Errno>, Vec<WrittenPage>) {
        let mut written = Vec::new();
        let mut hole = false;
        for n in 0..pages {
            let page = start + n * PAGE;
            let Some(state) = self.pages.get(&page) else {
                if flags == MS_ASYNC {
                    return (Err(Errno::ENOMEM), written);
                }
                hole = true;
                continue;
            };
            if flags & MS_INVALIDATE != 0 && state.locked {
                return (Err(Errno::EBUSY), written);
            }
            if let Some((id, index)) = state.writes_back() {
                written.push((id, index, page));
            }
        }
        (if hole { Err(Errno::ENOMEM) } else { Ok(()) }, written)
    }

    fn touch(&mut self, page: u64) {
        if let Some(state) = self.pages.get(&page) {
            self.ptes.entry(page).or_insert(PteState {
                writable: state.prot & PROT_WRITE != 0,
                accessible: state.prot != 0,
                dirty: false,
            });
        }
    }

    fn store(&mut self, page: u64) -> bool {
        match self.ptes.get_mut(&page) {
            Some(pte) if pte.accessible && pte.writable => {
                pte.dirty = true;
                true
            }
            _ => false,
        }
    }
}

fn request(kind: Kind) -> (u64, Option<FileMapping>) {
    match kind {
        Kind::Anonymous => (MAP_PRIVATE | MAP_ANONYMOUS, None),
        Kind::SharedFile { id, writable } => (
            MAP_SHARED,
            Some(FileMapping {
                file: file(id),
                readable: true,
                writable,
            }),
        ),
        Kind::PrivateFile { id } => (
            MAP_PRIVATE,
            Some(FileMapping {
                file: file(id),
                readable: true,
                writable: true,
            }),
        ),
    }
}

/// Applies `op` to both sides and checks the answers agree.
fn step(process: &mut Process, model: &mut Model, op: Op) -> Result<(), TestCaseError> {
    match op {
        Op::Mmap {
            page,
            pages,
            prot,
            kind,
            file_page,
            placement,
        } => {
            let (flags, file) = request(kind);
            let placement_flags = match placement {
                Placement::Fixed => MAP_FIXED,
                Placement::FixedNoReplace => MAP_FIXED_NOREPLACE,
                Placement::Hint => 0,
                Placement::Anywhere => 0,
            };
            let hint = if matches!(placement, Placement::Anywhere) {
                0
            } else {
                addr(page)
            };
            let got = process.mmap(
                hint,
                pages * PAGE,
                prot,
                flags | placement_flags,
                file,
                file_page * PAGE,
            );
            let (expected, unmapped) = model.mmap(hint, pages, prot, kind, file_page, placement);
            prop_assert_eq!(got, expected);
            check_unmapped(process, unmapped)?;
        }
        Op::Munmap { page, pages } => {
            let got = process.munmap(addr(page), pages * PAGE);
            let (expected, unmapped) = model.munmap(addr(page), pages);
            prop_assert_eq!(got, expected);
            check_unmapped(process, unmapped)?;
        }
        Op::Mprotect { page, pages, prot } => {
            let got = process.mprotect(addr(page), pages * PAGE, prot);
            prop_assert_eq!(got, model.mprotect(addr(page), pages, prot));
        }
        Op::Mlock { page, pages, lock } => {
            let got = if lock {
                process.space.mlock(addr(page), pages * PAGE)
            } else {
                process.space.munlock(addr(page), pages * PAGE)
            };
            prop_assert_eq!(got, model.set_locked(addr(page), pages, lock));
        }
        Op::Msync { page, pages, flags } => {
            let plan = process.space.msync(addr(page), pages * PAGE, flags);
            let mut written = Vec::new();
            for range in &plan.ranges {
                for (n, virt) in range.virt.clone().step_by(PAGE as usize).enumerate() {
                    written.push((range.file.id(), range.file_pages.start + n as u64, virt));
                }
                prop_assert_eq!(
                    range.file_pages.end - range.file_pages.start,
                    (range.virt.end - range.virt.start) / PAGE
                );
            }
            prop_assert_eq!(
                (plan.result, written),
                model.msync(addr(page), pages, flags)
            );
            prop_assert_eq!(plan.wait, flags & MS_SYNC != 0);
        }
        Op::Touch { page } => {
            if process.space.find_vma(addr(page)).is_some()
                && process
                    .space
                    .walker(&process.memory)
                    .lookup(addr(page))
                    .is_none()
            {
                process.touch(addr(page));
            }
            model.touch(addr(page));
        }
        Op::Store { page } => {
            prop_assert_eq!(process.store(addr(page)), model.store(addr(page)));
        }
    }
    check_state(process, model)
}

fn check_unmapped(process: &mut Process, expected: Vec<Unmapped>) -> Result<(), TestCaseError> {
    let got: Vec<Unmapped> = process
        .unmapped
        .drain(..)
        .map(|p| {
            (
                p.leaf.page,
                p.leaf.dirty,
                p.file_page.map(|w| (w.file.id(), w.index)),
            )
        })
        .collect();
    prop_assert_eq!(got, expected);
    Ok(())
}

/// The VMAs, expanded to pages, and the page-table entries match the model.
fn check_state(process: &Process, model: &Model) -> Result<(), TestCaseError> {
    let mut pages = BTreeMap::new();
    for vma in process.space.vmas().iter() {
        for page in vma.range().step_by(PAGE as usize) {
            let file_page = match &vma.attrs.backing {
                Backing::Anonymous => None,
                Backing::File { file, page_offset } => {
                    Some((file.id(), page_offset + (page - vma.start) / PAGE))
                }
                Backing::SharedAnonymous { .. } => unreachable!("not generated"),
            };
            let state = PageState {
                prot: vma.attrs.protection.bits(),
                shared: vma.attrs.sharing == Sharing::Shared,
                file_page,
                locked: vma.attrs.locked,
                may_write: vma.attrs.may_write,
            };
            pages.insert(page, state);
        }
    }
    prop_assert_eq!(&pages, &model.pages);
    let mut walker = process.space.walker(&process.memory);
    let mapped: BTreeSet<u64> = pages.keys().copied().collect();
    for page in mapped {
        let leaf = walker.lookup(page).map(|leaf| PteState {
            writable: leaf.permissions.writable,
            accessible: leaf.permissions.accessible,
            dirty: leaf.dirty,
        });
        prop_assert_eq!(leaf, model.ptes.get(&page).copied(), "PTE of {:#x}", page);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn address_space_agrees_with_the_page_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut process = Process::with_layout(LAYOUT);
        let free_at_start = process.frames.free_count();
        let mut model = Model::default();
        for op in ops {
            step(&mut process, &mut model, op)?;
        }
        let all = USER_END - USER_START;
        prop_assert_eq!(process.munmap(USER_START, all), Ok(()));
        model.unmap(USER_START, USER_END);
        prop_assert_eq!(process.frames.free_count(), free_at_start, "page tables leaked");
    }
}

/// Arguments anywhere in the 64-bit range, biased towards the edges.
fn any_addr() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(0),
        Just(USER_END - PAGE),
        Just(USER_END),
        Just(u64::MAX - PAGE + 1),
        (0..WINDOW_PAGES).prop_map(addr),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever user space passes, the calls answer with an errno their man
    /// pages list (never a panic) and the VMA tree stays valid.
    #[test]
    fn extreme_arguments_get_errnos_not_panics(
        addr in any_addr(),
        len in any_addr(),
        bits in any::<u32>(),
        flag_bits in any::<u64>(),
    ) {
        let mut process = Process::with_layout(LAYOUT);
        process.map_shared_file(WINDOW, 4 * PAGE, 1, 0);
        let flags = flag_bits | MAP_ANONYMOUS;
        let mmap = process.mmap(addr, len, bits, flags, None, 0).err();
        prop_assert!(mmap.is_none_or(|e| [Errno::EINVAL, Errno::ENOMEM, Errno::EEXIST].contains(&e)), "mmap: {:?}", mmap);
        let munmap = process.munmap(addr, len).err();
        prop_assert!(munmap.is_none_or(|e| e == Errno::EINVAL), "munmap: {:?}", munmap);
        let mprotect = process.mprotect(addr, len, bits).err();
        prop_assert!(mprotect.is_none_or(|e| [Errno::EINVAL, Errno::ENOMEM, Errno::EACCES].contains(&e)), "mprotect: {:?}", mprotect);
        let mlock = process.space.mlock(addr, len).err();
        prop_assert!(mlock.is_none_or(|e| [Errno::EINVAL, Errno::ENOMEM].contains(&e)), "mlock: {:?}", mlock);
        let msync = process.space.msync(addr, len, bits).result.err();
        prop_assert!(msync.is_none_or(|e| [Errno::EINVAL, Errno::ENOMEM, Errno::EBUSY].contains(&e)), "msync: {:?}", msync);
        process.space.vmas().check_invariants();
    }
}

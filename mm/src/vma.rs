//! Virtual memory areas: the tree of `[start, end)` ranges an address space maps.
//!
//! The tree is an intrusive red-black tree keyed by start address. Nodes are
//! immutable once linked: every change removes the affected nodes and links
//! fresh ones, so a key can never change under the tree's feet.
//!
//! Invariants (checked in debug builds after every change, see
//! [`VmaTree::check_invariants`]): VMAs are sorted, disjoint, non-empty and
//! page-aligned, and no two adjacent VMAs could be merged.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use bitflags::bitflags;
use intrusive_collections::Bound::{Excluded, Included};
use intrusive_collections::{KeyAdapter, RBTree, RBTreeLink, intrusive_adapter};

use crate::frame::PAGE_SIZE;

bitflags! {
    /// Access a mapping permits, as `PROT_*` asks for it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Protection: u32 {
        const READ = abi::mman::PROT_READ;
        const WRITE = abi::mman::PROT_WRITE;
        const EXEC = abi::mman::PROT_EXEC;
    }
}

/// Whether stores reach the backing object (`MAP_SHARED`) or a private copy
/// (`MAP_PRIVATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sharing {
    Shared,
    Private,
}

/// A file (or file-like object) that can be mapped. The kernel implements it
/// for its open-file objects so that an msync plan can hand the file back
/// (`Any`, so the kernel can recover its own type from a `FileRef`).
pub trait MappedFile: core::any::Any + Send + Sync {
    /// Identity of the underlying object (an inode, say): two `FileRef`s with
    /// the same id map the same bytes.
    fn id(&self) -> u64;
}

/// A counted reference to a mapped file; equal when the ids are equal.
#[derive(Clone)]
pub struct FileRef(pub Arc<dyn MappedFile>);

impl FileRef {
    pub fn new(file: Arc<dyn MappedFile>) -> Self {
        FileRef(file)
    }

    pub fn id(&self) -> u64 {
        self.0.id()
    }

    /// The kernel's file object.
    pub fn file(&self) -> &Arc<dyn MappedFile> {
        &self.0
    }
}

impl PartialEq for FileRef {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for FileRef {}

impl fmt::Debug for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileRef({})", self.id())
    }
}

/// What supplies a mapping's pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Private zero-filled memory.
    Anonymous,
    /// Zero-filled memory shared by every mapping of the same object: the
    /// kernel's object for one `MAP_SHARED | MAP_ANONYMOUS` call (Linux backs
    /// it with an unnamed shmem file), which a forked child's copy of the
    /// VMA still names.
    SharedAnonymous { object: FileRef, page_offset: u64 },
    /// A file's pages, starting at `page_offset` pages into the file.
    File { file: FileRef, page_offset: u64 },
}

impl Backing {
    /// The backing of the part of a mapping that starts `pages` pages later.
    pub(crate) fn advanced_by(&self, pages: u64) -> Backing {
        match self {
            Backing::Anonymous => Backing::Anonymous,
            Backing::SharedAnonymous {
                object,
                page_offset,
            } => Backing::SharedAnonymous {
                object: object.clone(),
                page_offset: page_offset + pages,
            },
            Backing::File { file, page_offset } => Backing::File {
                file: file.clone(),
                page_offset: page_offset + pages,
            },
        }
    }
}

/// Everything about a VMA except where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaAttrs {
    pub protection: Protection,
    pub sharing: Sharing,
    pub backing: Backing,
    /// `mlock`ed: the pages stay resident; `msync(MS_INVALIDATE)` refuses it.
    pub locked: bool,
    /// With `locked`, locked as pages fault in rather than faulted in at once
    /// (`MLOCK_ONFAULT`, `MCL_ONFAULT`: Linux's `VM_LOCKONFAULT`).
    pub lock_on_fault: bool,
    /// Whether `PROT_WRITE` may ever be granted (Linux's `VM_MAYWRITE`): false
    /// for a shared mapping of a file opened read-only.
    pub may_write: bool,
    /// `MADV_DONTFORK`: a forked child does not get this VMA at all.
    pub dont_fork: bool,
    /// `MADV_WIPEONFORK` (private anonymous memory only): a forked child
    /// gets the VMA empty, reading zeros.
    pub wipe_on_fork: bool,
    /// `MAP_GROWSDOWN` (Linux's `VM_GROWSDOWN`, private anonymous memory
    /// only): a fault just below the VMA extends it downwards, as a stack.
    pub grows_down: bool,
}

/// A mapped range `[start, end)` and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub attrs: VmaAttrs,
}

impl Vma {
    pub fn range(&self) -> Range<u64> {
        self.start..self.end
    }

    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE_SIZE
    }

    /// Where the free space below this VMA must end (Linux's
    /// `vm_start_gap`): a MAP_GROWSDOWN VMA keeps its stack guard gap free.
    pub fn start_gap(&self) -> u64 {
        if self.attrs.grows_down {
            self.start
                .saturating_sub(crate::address_space::STACK_GUARD_GAP)
        } else {
            self.start
        }
    }

    /// The file and file page that back virtual page `addr`, if a file does.
    pub fn file_page(&self, addr: u64) -> Option<(FileRef, u64)> {
        match &self.attrs.backing {
            Backing::File { file, page_offset } => {
                Some((file.clone(), page_offset + (addr - self.start) / PAGE_SIZE))
            }
            _ => None,
        }
    }

    /// Whether stores through this mapping must eventually reach its file:
    /// the mappings msync writes back.
    pub fn writes_back_to_file(&self) -> bool {
        self.attrs.sharing == Sharing::Shared
            && self.attrs.may_write
            && matches!(self.attrs.backing, Backing::File { .. })
    }

    /// The part of this VMA inside `range`, with its backing offset adjusted.
    pub fn clipped(&self, range: Range<u64>) -> Vma {
        let start = self.start.max(range.start);
        let end = self.end.min(range.end);
        debug_assert!(start < end, "clipping {self:?} to {range:?} leaves nothing");
        let mut attrs = self.attrs.clone();
        attrs.backing = self
            .attrs
            .backing
            .advanced_by((start - self.start) / PAGE_SIZE);
        Vma { start, end, attrs }
    }

    /// Whether `next`, starting where `self` ends, continues `self` exactly:
    /// same attributes and, for objects, the following object pages.
    fn merges_with(&self, next: &Vma) -> bool {
        self.end == next.start
            && VmaAttrs {
                backing: self.attrs.backing.advanced_by(self.pages()),
                ..self.attrs.clone()
            } == next.attrs
    }
}

/// A VMA linked into the tree.
struct VmaNode {
    link: RBTreeLink,
    vma: Vma,
}

intrusive_adapter!(VmaAdapter = Box<VmaNode>: VmaNode { link => RBTreeLink });

impl<'a> KeyAdapter<'a> for VmaAdapter {
    type Key = u64;
    fn get_key(&self, node: &'a VmaNode) -> u64 {
        node.vma.start
    }
}

/// The new VMA would overlap an existing one.
#[derive(Debug, PartialEq, Eq)]
pub struct Overlap;

/// The VMAs of one address space.
pub struct VmaTree {
    tree: RBTree<VmaAdapter>,
    len: usize,
}

impl Default for VmaTree {
    fn default() -> Self {
        Self::new()
    }
}

impl VmaTree {
    pub fn new() -> Self {
        VmaTree {
            tree: RBTree::new(VmaAdapter::new()),
            len: 0,
        }
    }

    /// Number of VMAs.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        let vma = &self.tree.upper_bound(Included(&addr)).get()?.vma;
        (addr < vma.end).then_some(vma)
    }

    /// All VMAs in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.tree.iter().map(|node| &node.vma)
    }

    /// The VMAs that overlap `range`, in address order.
    pub fn overlapping(&self, range: Range<u64>) -> impl Iterator<Item = &Vma> {
        let mut cursor = self.tree.upper_bound(Included(&range.start));
        if cursor.get().is_none_or(|node| node.vma.end <= range.start) {
            if cursor.is_null() {
                cursor = self.tree.front();
            } else {
                cursor.move_next();
            }
        }
        core::iter::from_fn(move || {
            let node = cursor.get()?;
            cursor.move_next();
            Some(&node.vma)
        })
        .take_while(move |vma| vma.start < range.end)
    }

    /// The VMAs that start below `addr`, highest first.
    pub fn starting_below(&self, addr: u64) -> impl Iterator<Item = &Vma> {
        let mut cursor = self.tree.upper_bound(Excluded(&addr));
        core::iter::from_fn(move || {
            let node = cursor.get()?;
            cursor.move_prev();
            Some(&node.vma)
        })
    }

    /// The first VMA that ends above `addr` (Linux's `find_vma`).
    pub fn first_ending_after(&self, addr: u64) -> Option<&Vma> {
        self.overlapping(addr..u64::MAX).next()
    }

    /// Whether any VMA overlaps `range`.
    pub fn intersects(&self, range: Range<u64>) -> bool {
        self.overlapping(range).next().is_some()
    }

    /// Adds `vma` where nothing is mapped yet, merging it with compatible
    /// neighbours.
    pub fn insert(&mut self, vma: Vma) -> Result<(), Overlap> {
        assert_page_range(vma.range());
        if self.intersects(vma.range()) {
            return Err(Overlap);
        }
        let range = vma.range();
        self.link(vma);
        self.merge_around(range);
        self.debug_check();
        Ok(())
    }

    /// Splits the VMA that strictly contains `addr` into two at `addr`.
    pub fn split_at(&mut self, addr: u64) {
        let Some(vma) = self.find(addr).filter(|vma| vma.start != addr).cloned() else {
            return;
        };
        self.unlink(vma.start);
        self.link(vma.clipped(vma.start..addr));
        self.link(vma.clipped(addr..vma.end));
    }

    /// Unmaps `range` and returns the pieces that were mapped there, in
    /// address order. Holes are fine.
    pub fn remove_range(&mut self, range: Range<u64>) -> Vec<Vma> {
        assert_page_range(range.clone());
        if range.is_empty() {
            return Vec::new();
        }
        self.split_at(range.start);
        self.split_at(range.end);
        let starts: Vec<u64> = self.overlapping(range).map(|vma| vma.start).collect();
        let removed = starts.into_iter().map(|start| self.unlink(start)).collect();
        self.debug_check();
        removed
    }

    /// Applies `change` to the attributes of every mapped page in `range`
    /// (splitting VMAs at the edges), then merges what became mergeable.
    pub fn update_range(&mut self, range: Range<u64>, mut change: impl FnMut(&mut VmaAttrs)) {
        assert_page_range(range.clone());
        for mut vma in self.remove_range(range.clone()) {
            change(&mut vma.attrs);
            self.link(vma);
        }
        self.merge_around(range);
        self.debug_check();
    }

    /// Applies `change` to every VMA.
    pub fn update_all(&mut self, change: impl FnMut(&mut VmaAttrs)) {
        let first = self.tree.front().get().map(|node| node.vma.start);
        let last = self.tree.back().get().map(|node| node.vma.end);
        if let (Some(start), Some(end)) = (first, last) {
            self.update_range(start..end, change);
        }
    }

    /// Merges adjacent compatible VMAs from the one before `range` to the one
    /// after it.
    fn merge_around(&mut self, range: Range<u64>) {
        let from = range.start.saturating_sub(1);
        let to = range.end.saturating_add(1);
        let starts: Vec<u64> = self.overlapping(from..to).map(|vma| vma.start).collect();
        let mut current: Option<Vma> = None;
        for start in starts {
            let next = self.unlink(start);
            current = Some(match current {
                Some(mut merged) if merged.merges_with(&next) => {
                    merged.end = next.end;
                    merged
                }
                Some(done) => {
                    self.link(done);
                    next
                }
                None => next,
            });
        }
        if let Some(last) = current {
            self.link(last);
        }
    }

    fn link(&mut self, vma: Vma) {
        self.tree.insert(Box::new(VmaNode {
            link: RBTreeLink::new(),
            vma,
        }));
        self.len += 1;
    }

    fn unlink(&mut self, start: u64) -> Vma {
        let node = self
            .tree
            .find_mut(&start)
            .remove()
            .expect("unlinking a VMA that is not in the tree");
        self.len -= 1;
        node.vma
    }

    fn debug_check(&self) {
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
    }

    /// Panics unless the tree is sorted, disjoint, non-empty, page-aligned
    /// and fully merged.
    pub fn check_invariants(&self) {
        let mut previous: Option<&Vma> = None;
        let mut count = 0;
        for vma in self.iter() {
            count += 1;
            assert!(vma.start < vma.end, "empty VMA {vma:?}");
            assert_page_range(vma.range());
            if let Some(previous) = previous {
                assert!(previous.end <= vma.start, "{previous:?} overlaps {vma:?}");
                assert!(
                    !previous.merges_with(vma),
                    "{previous:?} and {vma:?} should have been merged"
                );
            }
            previous = Some(vma);
        }
        assert_eq!(count, self.len, "VMA count out of step with the tree");
    }
}

fn assert_page_range(range: Range<u64>) {
    assert!(
        range.start.is_multiple_of(PAGE_SIZE)
            && range.end.is_multiple_of(PAGE_SIZE)
            && range.start <= range.end,
        "{range:#x?} is not a page-aligned range"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestFile(u64);

    impl MappedFile for TestFile {
        fn id(&self) -> u64 {
            self.0
        }
    }

    fn file(id: u64) -> FileRef {
        FileRef::new(Arc::new(TestFile(id)))
    }

    fn attrs(protection: Protection, backing: Backing) -> VmaAttrs {
        VmaAttrs {
            protection,
            sharing: Sharing::Private,
            backing,
            locked: false,
            lock_on_fault: false,
            may_write: true,
            dont_fork: false,
            wipe_on_fork: false,
            grows_down: false,
        }
    }

    fn vma(start: u64, end: u64, attrs: VmaAttrs) -> Vma {
        Vma { start, end, attrs }
    }

    fn ranges(tree: &VmaTree) -> Vec<(u64, u64)> {
        tree.iter().map(|vma| (vma.start, vma.end)).collect()
    }

    const RW: Protection = Protection::READ.union(Protection::WRITE);

    #[test]
    fn find_returns_the_containing_vma_only() {
        let mut tree = VmaTree::new();
        tree.insert(vma(0x2000, 0x4000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        assert_eq!(tree.find(0x1fff), None);
        assert_eq!(tree.find(0x2000).map(Vma::range), Some(0x2000..0x4000));
        assert_eq!(tree.find(0x3fff).map(Vma::range), Some(0x2000..0x4000));
        assert_eq!(tree.find(0x4000), None);
    }

    #[test]
    fn insert_refuses_overlap() {
        let mut tree = VmaTree::new();
        tree.insert(vma(0x2000, 0x4000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        let overlapping = vma(0x3000, 0x5000, attrs(Protection::READ, Backing::Anonymous));
        assert_eq!(tree.insert(overlapping), Err(Overlap));
        assert_eq!(ranges(&tree), [(0x2000, 0x4000)]);
    }

    #[test]
    fn adjacent_compatible_anonymous_vmas_merge() {
        let mut tree = VmaTree::new();
        tree.insert(vma(0x2000, 0x4000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        tree.insert(vma(0x6000, 0x8000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        tree.insert(vma(0x4000, 0x6000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        assert_eq!(ranges(&tree), [(0x2000, 0x8000)]);
    }

    #[test]
    fn file_vmas_merge_only_with_contiguous_offsets_of_the_same_file() {
        let mut tree = VmaTree::new();
        let at = |id, page_offset| {
            attrs(
                RW,
                Backing::File {
                    file: file(id),
                    page_offset,
                },
            )
        };
        tree.insert(vma(0x10000, 0x12000, at(1, 0))).unwrap();
        tree.insert(vma(0x12000, 0x13000, at(1, 5))).unwrap();
        tree.insert(vma(0x13000, 0x14000, at(2, 6))).unwrap();
        tree.insert(vma(0x14000, 0x15000, at(2, 7))).unwrap();
        assert_eq!(
            ranges(&tree),
            [(0x10000, 0x12000), (0x12000, 0x13000), (0x13000, 0x15000)]
        );
    }

    #[test]
    fn split_then_update_then_restore_merges_back() {
        let mut tree = VmaTree::new();
        let backing = Backing::File {
            file: file(7),
            page_offset: 10,
        };
        tree.insert(vma(0x10000, 0x20000, attrs(RW, backing)))
            .unwrap();
        tree.update_range(0x14000..0x15000, |a| a.protection = Protection::READ);
        assert_eq!(
            ranges(&tree),
            [(0x10000, 0x14000), (0x14000, 0x15000), (0x15000, 0x20000)]
        );
        assert_eq!(
            tree.find(0x15000)
                .unwrap()
                .file_page(0x16000)
                .map(|(f, p)| (f.id(), p)),
            Some((7, 16))
        );
        tree.update_range(0x14000..0x15000, |a| a.protection = RW);
        assert_eq!(ranges(&tree), [(0x10000, 0x20000)]);
    }

    #[test]
    fn remove_range_punches_holes_and_returns_the_pieces() {
        let mut tree = VmaTree::new();
        tree.insert(vma(0x10000, 0x20000, attrs(RW, Backing::Anonymous)))
            .unwrap();
        tree.insert(vma(
            0x30000,
            0x40000,
            attrs(Protection::READ, Backing::Anonymous),
        ))
        .unwrap();
        let removed = tree.remove_range(0x1f000..0x31000);
        assert_eq!(
            removed
                .iter()
                .map(|vma| (vma.start, vma.end))
                .collect::<Vec<_>>(),
            [(0x1f000, 0x20000), (0x30000, 0x31000)]
        );
        assert_eq!(ranges(&tree), [(0x10000, 0x1f000), (0x31000, 0x40000)]);
        assert_eq!(tree.len(), 2);
    }

    #[test]
    fn overlapping_starts_inside_a_vma_and_stops_before_the_end() {
        let mut tree = VmaTree::new();
        for (start, prot) in [(0x1000, RW), (0x3000, Protection::READ), (0x5000, RW)] {
            tree.insert(vma(start, start + 0x1000, attrs(prot, Backing::Anonymous)))
                .unwrap();
        }
        let starts: Vec<u64> = tree.overlapping(0x1800..0x5000).map(|v| v.start).collect();
        assert_eq!(starts, [0x1000, 0x3000]);
        assert_eq!(
            tree.first_ending_after(0x2000).map(|v| v.start),
            Some(0x3000)
        );
        assert_eq!(tree.first_ending_after(0x6000), None);
    }
}

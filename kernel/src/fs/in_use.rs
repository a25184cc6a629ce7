//! Inodes in use. An open file description or a mapping keeps its inode
//! allocated after the last name is unlinked, as on Linux: the inode becomes
//! an orphan, its data still readable and writable through those users, and
//! its number is not given to a new file. When the last use ends, the
//! orphan's cached pages are dropped and the inode is freed with its blocks.

use super::FileSystem;
use abi::Errno;
use alloc::collections::{BTreeMap, BTreeSet};
use ext2::InodeNumber;

/// How many uses each inode has (only inodes in use are listed), and which
/// of them have lost their last name.
#[derive(Default)]
pub(super) struct InodeUses {
    counts: BTreeMap<InodeNumber, usize>,
    orphans: BTreeSet<InodeNumber>,
}

/// One use of an inode by an open file description or a mapping.
pub struct InodeUse {
    fs: &'static FileSystem,
    inode: InodeNumber,
}

impl InodeUse {
    pub fn new(fs: &'static FileSystem, inode: InodeNumber) -> InodeUse {
        *fs.uses.lock().counts.entry(inode).or_default() += 1;
        InodeUse { fs, inode }
    }

    pub fn inode(&self) -> InodeNumber {
        self.inode
    }
}

impl Drop for InodeUse {
    /// Frees the inode if this was the last use of an orphan.
    fn drop(&mut self) {
        let orphan_unused = {
            let mut uses = self.fs.uses.lock();
            let count = uses.counts.get_mut(&self.inode).expect("a use is counted");
            *count -= 1;
            *count == 0 && {
                uses.counts.remove(&self.inode);
                uses.orphans.remove(&self.inode)
            }
        };
        if orphan_unused && let Err(errno) = self.fs.free_orphan(self.inode) {
            log::warn!("freeing unlinked inode {}: {errno}", self.inode);
        }
    }
}

impl FileSystem {
    /// unlink(2): removes a name. An inode left without links is freed at
    /// once if nothing uses it, or when its last use ends.
    pub fn unlink(&self, path: &[u8]) -> Result<(), Errno> {
        let (parent, name) = self.parent_of(ext2::ROOT_INODE, path)?;
        let unlinked = self
            .ext2
            .lock()
            .unlink(parent, name, crate::time::unix_seconds())?;
        if !unlinked.orphaned {
            return Ok(());
        }
        let in_use = {
            let mut uses = self.uses.lock();
            uses.counts.contains_key(&unlinked.inode) && uses.orphans.insert(unlinked.inode)
        };
        if in_use {
            Ok(())
        } else {
            self.free_orphan(unlinked.inode)
        }
    }

    /// Frees an orphan nothing uses: its cached pages (once their writes
    /// are done), its page-cache entry, then the inode and its blocks.
    fn free_orphan(&self, inode: InodeNumber) -> Result<(), Errno> {
        self.drop_cached_pages(inode, 0)?;
        self.cache.lock().forget_file(u64::from(inode));
        self.ext2
            .lock()
            .release_orphan(inode, crate::time::unix_seconds())
    }
}

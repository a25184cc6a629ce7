//! Inodes in use. An open file description, a mapping or a process's
//! current directory keeps its inode allocated after its last name is
//! removed (unlink, rmdir, a rename over it), as on Linux: the inode becomes
//! an orphan, its data still readable and writable through those users, and
//! its number is not given to a new file. When the last use ends, the
//! orphan's cached pages are dropped and the inode is freed with its blocks.

use super::FileSystem;
use abi::Errno;
use alloc::collections::{BTreeMap, BTreeSet};
use ext2::{InodeNumber, Unlinked};

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

impl Clone for InodeUse {
    /// Another use of the same inode (a forked process's working directory).
    fn clone(&self) -> InodeUse {
        InodeUse::new(self.fs, self.inode)
    }
}

impl FileSystem {
    /// After a name was removed (unlink, rmdir, a rename that replaced it):
    /// an inode left without links is freed at once if nothing uses it, or
    /// when its last use ends.
    pub(super) fn release_unlinked(&self, unlinked: Unlinked) -> Result<(), Errno> {
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

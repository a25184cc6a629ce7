//! rename(2), and renameat2(2) with `RENAME_NOREPLACE`, as Linux 6.1 does
//! them: the checks of fs/namei.c (`do_renameat2`, `vfs_rename`,
//! `may_delete`) and the steps of fs/ext2/namei.c (`ext2_rename`); and
//! `RENAME_EXCHANGE`, which Linux 6.1 gives ext2 disks through its ext4
//! driver (`ext4_cross_rename`).

use abi::Errno;

use crate::device::BlockDevice;
use crate::dir::{FoundEntry, MAX_NAME_LEN};
use crate::fs::Ext2;
use crate::inode::{FileType, Inode, InodeNumber, ROOT_INODE};
use crate::namespace::{MAX_LINKS, Unlinked, check_new_name};

/// What a rename replaces: the entry `new_name` had, and its inode.
struct Replaced {
    entry: FoundEntry,
    inode: Inode,
}

impl Replaced {
    fn is_directory(&self) -> bool {
        self.inode.file_type() == FileType::Directory
    }
}

impl<D: BlockDevice> Ext2<D> {
    /// Renames `old_name` in `old_dir` to `new_name` in `new_dir`. The
    /// caller has refused `.` and `..` as either name.
    ///
    /// Errors, in Linux's order: the name checks of [`Ext2::create`] for
    /// `new_name` (ENAMETOOLONG also for a long `old_name`); ENOTDIR if
    /// `old_dir` or `new_dir` is no directory; ENOENT if `old_name` does
    /// not exist; EEXIST if `no_replace` and `new_name` exists (even as
    /// another link to the same inode); EINVAL if the old inode is
    /// `new_dir` or one of its ancestors (a directory into its own
    /// subtree); ENOTEMPTY if the new inode is `old_dir` or one of its
    /// ancestors. Then, if `new_name` is another link to the same inode,
    /// nothing changes: `Ok(None)`. Else ENOTDIR if a directory would
    /// replace a non-directory, EISDIR if a non-directory would replace a
    /// directory, EMLINK if a directory would move to a new parent that has
    /// 32000 links, ENOTEMPTY if the directory to be replaced has entries.
    ///
    /// Effects: `new_name` names the old inode (an existing entry is
    /// pointed at it in place), `old_name` goes. A directory that changes
    /// parent gets its `..` rewritten: the old parent loses a link, the
    /// new one gains one. The replaced inode, if any, loses its link (a
    /// replaced directory drops to 0, and its parent loses the link its
    /// `..` gave) and is returned: if it is an orphan, the caller frees it
    /// with [`Ext2::release_orphan`] once nothing uses it. ctime of the
    /// moved and the replaced inode, mtime and ctime of both directories
    /// are set to `now`.
    pub fn rename(
        &mut self,
        old_dir: InodeNumber,
        old_name: &[u8],
        new_dir: InodeNumber,
        new_name: &[u8],
        now: u32,
        no_replace: bool,
    ) -> Result<Option<Unlinked>, Errno> {
        check_new_name(new_name)?;
        if old_name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let (_, mut new_parent, old_entry) = self.rename_source(old_dir, old_name, new_dir)?;
        let replaced = match self.find_entry(&new_parent, new_name)? {
            Some(entry) => Some(Replaced {
                inode: self.read_inode(entry.inode)?,
                entry,
            }),
            None => None,
        };
        if no_replace && replaced.is_some() {
            return Err(Errno::EEXIST);
        }
        let moved_number = old_entry.inode;
        let moved_type = self.read_inode(moved_number)?.file_type();
        let moved_is_directory = moved_type == FileType::Directory;
        let changes_parent = moved_is_directory && old_dir != new_dir;
        if moved_is_directory && self.is_same_or_ancestor(moved_number, new_dir)? {
            return Err(Errno::EINVAL);
        }
        match &replaced {
            Some(replaced) => {
                if replaced.is_directory()
                    && self.is_same_or_ancestor(replaced.entry.inode, old_dir)?
                {
                    return Err(Errno::ENOTEMPTY);
                }
                if replaced.entry.inode == moved_number {
                    return Ok(None);
                }
                match (moved_is_directory, replaced.is_directory()) {
                    (true, false) => return Err(Errno::ENOTDIR),
                    (false, true) => return Err(Errno::EISDIR),
                    (true, true) if !self.is_empty_directory(&replaced.inode)? => {
                        return Err(Errno::ENOTEMPTY);
                    }
                    _ => {}
                }
            }
            None if changes_parent && new_parent.links_count() >= MAX_LINKS => {
                return Err(Errno::EMLINK);
            }
            None => {}
        }
        let moved_dot_dot = if changes_parent {
            let moved = self.read_inode(moved_number)?;
            Some(self.find_entry(&moved, b"..")?.ok_or(Errno::EIO)?)
        } else {
            None
        };

        self.begin_change()?;
        match &replaced {
            Some(replaced) => self.retarget_entry(
                new_dir,
                &mut new_parent,
                &replaced.entry,
                moved_number,
                moved_type,
                Some(now),
            )?,
            None => self.add_entry(
                new_dir,
                &mut new_parent,
                new_name,
                moved_number,
                moved_type,
                now,
            )?,
        }
        self.update_inode(moved_number, |moved| moved.set_ctime(now))?;
        let mut old_parent = self.read_inode(old_dir)?;
        self.remove_entry(old_dir, &mut old_parent, &old_entry, now)?;
        if let Some(dot_dot) = moved_dot_dot {
            let mut moved = self.read_inode(moved_number)?;
            self.retarget_entry(
                moved_number,
                &mut moved,
                &dot_dot,
                new_dir,
                FileType::Directory,
                None,
            )?;
            self.update_inode(old_dir, |parent| drop_links(parent, 1))?;
        }
        let replaces_directory = replaced.as_ref().is_some_and(Replaced::is_directory);
        match (changes_parent, replaces_directory) {
            (true, false) => self.update_inode(new_dir, |parent| {
                parent.set_links_count(parent.links_count() + 1);
            })?,
            (false, true) => self.update_inode(new_dir, |parent| drop_links(parent, 1))?,
            _ => {}
        }
        let Some(replaced) = replaced else {
            return Ok(None);
        };
        let number = replaced.entry.inode;
        let mut orphaned = false;
        self.update_inode(number, |inode| {
            drop_links(inode, if replaces_directory { 2 } else { 1 });
            inode.set_ctime(now);
            orphaned = inode.links_count() == 0;
        })?;
        Ok(Some(Unlinked {
            inode: number,
            orphaned,
        }))
    }

    /// Swaps what `old_name` in `old_dir` and `new_name` in `new_dir` name
    /// (renameat2's RENAME_EXCHANGE). The caller has refused `.` and `..`
    /// as either name.
    ///
    /// Errors, in Linux's order: ENAMETOOLONG; ENOTDIR if `old_dir` or
    /// `new_dir` is no directory; ENOENT if either name is missing; EINVAL
    /// if either inode is a directory that is the other name's directory or
    /// one of its ancestors. Then, if both names are links to one inode,
    /// nothing changes. EMLINK if a directory would move, in place of a
    /// non-directory, to a parent that has 32000 links.
    ///
    /// Effects: each name names the other's inode (its type byte too). A
    /// directory that changes parent gets its `..` rewritten; when only one
    /// of the two is a directory, the parent it leaves loses a link and the
    /// one it joins gains one. ctime of both inodes, mtime and ctime of both
    /// directories are set to `now`.
    pub fn exchange(
        &mut self,
        old_dir: InodeNumber,
        old_name: &[u8],
        new_dir: InodeNumber,
        new_name: &[u8],
        now: u32,
    ) -> Result<(), Errno> {
        if old_name.len() > MAX_NAME_LEN || new_name.len() > MAX_NAME_LEN {
            return Err(Errno::ENAMETOOLONG);
        }
        let (old_parent, new_parent, old_entry) = self.rename_source(old_dir, old_name, new_dir)?;
        let new_entry = self
            .find_entry(&new_parent, new_name)?
            .ok_or(Errno::ENOENT)?;
        let old_type = self.read_inode(old_entry.inode)?.file_type();
        let new_type = self.read_inode(new_entry.inode)?.file_type();
        let old_is_directory = old_type == FileType::Directory;
        let new_is_directory = new_type == FileType::Directory;
        if old_is_directory && self.is_same_or_ancestor(old_entry.inode, new_dir)?
            || new_is_directory && self.is_same_or_ancestor(new_entry.inode, old_dir)?
        {
            return Err(Errno::EINVAL);
        }
        if old_entry.inode == new_entry.inode {
            return Ok(());
        }
        let changes_parent = old_dir != new_dir;
        if changes_parent
            && (old_is_directory && !new_is_directory && new_parent.links_count() >= MAX_LINKS
                || new_is_directory && !old_is_directory && old_parent.links_count() >= MAX_LINKS)
        {
            return Err(Errno::EMLINK);
        }
        let dot_dot_of = |fs: &mut Self, directory: InodeNumber, is_directory: bool| {
            if !(changes_parent && is_directory) {
                return Ok(None);
            }
            let inode = fs.read_inode(directory)?;
            fs.find_entry(&inode, b"..")?.ok_or(Errno::EIO).map(Some)
        };
        let old_dot_dot = dot_dot_of(self, old_entry.inode, old_is_directory)?;
        let new_dot_dot = dot_dot_of(self, new_entry.inode, new_is_directory)?;

        self.begin_change()?;
        for (dir, entry, inode, file_type) in [
            (new_dir, &new_entry, old_entry.inode, old_type),
            (old_dir, &old_entry, new_entry.inode, new_type),
        ] {
            let mut parent = self.read_inode(dir)?;
            self.retarget_entry(dir, &mut parent, entry, inode, file_type, Some(now))?;
            self.update_inode(inode, |moved| moved.set_ctime(now))?;
        }
        for (moved, dot_dot, parent) in [
            (old_entry.inode, old_dot_dot, new_dir),
            (new_entry.inode, new_dot_dot, old_dir),
        ] {
            if let Some(dot_dot) = dot_dot {
                let mut directory = self.read_inode(moved)?;
                self.retarget_entry(
                    moved,
                    &mut directory,
                    &dot_dot,
                    parent,
                    FileType::Directory,
                    None,
                )?;
            }
        }
        if changes_parent && old_is_directory != new_is_directory {
            let (joined, left) = if old_is_directory {
                (new_dir, old_dir)
            } else {
                (old_dir, new_dir)
            };
            self.update_inode(joined, |parent| {
                parent.set_links_count(parent.links_count() + 1);
            })?;
            self.update_inode(left, |parent| drop_links(parent, 1))?;
        }
        Ok(())
    }

    /// The first checks of rename and exchange: the two parents, ENOTDIR
    /// unless both are directories, and the entry `old_name` (ENOENT).
    fn rename_source(
        &mut self,
        old_dir: InodeNumber,
        old_name: &[u8],
        new_dir: InodeNumber,
    ) -> Result<(Inode, Inode, FoundEntry), Errno> {
        let old_parent = self.read_inode(old_dir)?;
        let new_parent = self.read_inode(new_dir)?;
        if old_parent.file_type() != FileType::Directory
            || new_parent.file_type() != FileType::Directory
        {
            return Err(Errno::ENOTDIR);
        }
        let old_entry = self
            .find_entry(&old_parent, old_name)?
            .ok_or(Errno::ENOENT)?;
        Ok((old_parent, new_parent, old_entry))
    }

    /// Whether `ancestor` is `directory` or one of the directories above
    /// it, found by walking `..` up to the root. A walk longer than there
    /// are inodes, or a directory without `..`, is corruption: EIO.
    fn is_same_or_ancestor(
        &mut self,
        ancestor: InodeNumber,
        directory: InodeNumber,
    ) -> Result<bool, Errno> {
        let mut current = directory;
        for _ in 0..self.superblock.inodes_count() {
            if current == ancestor {
                return Ok(true);
            }
            if current == ROOT_INODE {
                return Ok(false);
            }
            let inode = self.read_inode(current)?;
            current = self.find_entry(&inode, b"..")?.ok_or(Errno::EIO)?.inode;
        }
        Err(Errno::EIO)
    }
}

/// Takes `count` links off an inode's link count (not below 0).
fn drop_links(inode: &mut Inode, count: u16) {
    inode.set_links_count(inode.links_count().saturating_sub(count));
}

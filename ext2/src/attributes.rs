//! Changing an inode's attributes: chmod, chown and utimensat. Each change
//! sets ctime, as Linux's `setattr_copy` does with the `ATTR_CTIME` that
//! `notify_change` adds (fs/attr.c); what a caller may change, and the
//! clearing of set-user-ID and set-group-ID bits that chown implies, are
//! the caller's (the VFS's) business.

use abi::Errno;

use crate::device::BlockDevice;
use crate::fs::Ext2;
use crate::inode::{Inode, InodeNumber};

impl<D: BlockDevice> Ext2<D> {
    /// Sets the permission bits (`permissions & 0o7777`, the file type
    /// stays) and ctime (chmod(2)).
    pub fn set_permissions(
        &mut self,
        inode: InodeNumber,
        permissions: u16,
        now: u32,
    ) -> Result<(), Errno> {
        self.change_attributes(inode, now, |inode| inode.set_permissions(permissions))
    }

    /// Sets the owner and group, each unless `None` (chown(2)'s −1), and
    /// ctime, also when both are `None`, as Linux does. The 32-bit ids keep
    /// their high halves in `l_i_uid_high`/`l_i_gid_high`, on revision 0
    /// and in 128-byte inodes too (fs/ext2/inode.c, `ext2_write_inode`).
    pub fn set_owner(
        &mut self,
        inode: InodeNumber,
        uid: Option<u32>,
        gid: Option<u32>,
        now: u32,
    ) -> Result<(), Errno> {
        self.change_attributes(inode, now, |inode| {
            if let Some(uid) = uid {
                inode.set_uid(uid);
            }
            if let Some(gid) = gid {
                inode.set_gid(gid);
            }
        })
    }

    /// Sets atime and mtime, each unless `None` (utimensat(2)'s
    /// `UTIME_OMIT`), and ctime to `now`. The caller handles "both
    /// omitted", which changes nothing, by not calling.
    pub fn set_times(
        &mut self,
        inode: InodeNumber,
        atime: Option<u32>,
        mtime: Option<u32>,
        now: u32,
    ) -> Result<(), Errno> {
        self.change_attributes(inode, now, |inode| {
            if let Some(atime) = atime {
                inode.set_atime(atime);
            }
            if let Some(mtime) = mtime {
                inode.set_mtime(mtime);
            }
        })
    }

    /// Sets the access time alone — the file was read; no other time moves
    /// (Linux's `touch_atime`).
    pub fn set_access_time(&mut self, number: InodeNumber, atime: u32) -> Result<(), Errno> {
        let mut inode = self.read_inode(number)?;
        self.begin_change()?;
        inode.set_atime(atime);
        self.write_inode(number, &inode)
    }

    /// Applies `change` to the inode and sets its ctime to `now`.
    fn change_attributes(
        &mut self,
        number: InodeNumber,
        now: u32,
        change: impl FnOnce(&mut Inode),
    ) -> Result<(), Errno> {
        let mut inode = self.read_inode(number)?;
        self.begin_change()?;
        change(&mut inode);
        inode.set_ctime(now);
        self.write_inode(number, &inode)
    }
}

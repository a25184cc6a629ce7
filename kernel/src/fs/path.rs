//! Path resolution: one walk from a starting directory through a path's
//! names, as Linux's `link_path_walk` does it (fs/namei.c).
//!
//! - A path starting with `/` starts at the root, any other at the
//!   directory given (the process's current directory, or a `*at` call's
//!   `dirfd`). Empty components (`a//b`) are skipped; `.` stays, `..` goes
//!   to the parent, and at the root stays at the root.
//! - Every name but the last must be a directory, else ENOTDIR. A symlink
//!   there is followed: its target is walked from the link's directory (or
//!   from the root if it is absolute), then the rest of the path.
//! - The last name is followed if it is a symlink unless the caller says
//!   not to (lstat, `AT_SYMLINK_NOFOLLOW`, `O_NOFOLLOW`); a trailing slash
//!   always follows it and demands a directory (ENOTDIR otherwise). The
//!   same holds for the last name of a followed link's target.
//! - At most [`MAX_SYMLINKS`] (40) symlinks are followed in one walk, in
//!   all: the 41st is ELOOP.
//! - A name longer than [`NAME_MAX`] (255) is ENAMETOOLONG.
//!
//! Calls that create or remove a name stop before the last name
//! ([`Walk::parent`]): they get its directory and the name itself, never
//! following a symlink there.
//!
//! The walk asks a file system only three things ([`Names`]), so that it is
//! tested on a tree in memory as well as used on ext2.

mod tests;

use abi::Errno;
use abi::fs::{MAX_SYMLINKS, NAME_MAX};
use alloc::vec::Vec;
use ext2::{FileType, InodeNumber, ROOT_INODE};

/// What a path walk needs from a file system.
pub trait Names {
    /// The inode `name` names in the directory `dir`: ENOENT if there is
    /// none.
    fn lookup_name(&self, dir: InodeNumber, name: &[u8]) -> Result<InodeNumber, Errno>;
    fn file_type(&self, inode: InodeNumber) -> Result<FileType, Errno>;
    /// The target of the symlink `inode`.
    fn read_link(&self, inode: InodeNumber) -> Result<Vec<u8>, Errno>;
}

/// Whether a walk follows a symlink in the last place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    Yes,
    No,
}

/// The last component of a path whose directory a walk stopped in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Last {
    Name(Vec<u8>),
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path names the root itself (`/`, `//`).
    Root,
}

/// Where a path's last name is: what calls that create, remove or rename a
/// name work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The directory holding the last name.
    pub dir: InodeNumber,
    pub last: Last,
    /// The path ended in `/`: the call must be about a directory.
    pub trailing_slash: bool,
}

/// One path walk: the symlinks it followed so far count against
/// [`MAX_SYMLINKS`], also across the steps of an `open(O_CREAT)` that
/// follows a dangling symlink to create its target.
pub struct Walk<'n, N: Names + ?Sized> {
    names: &'n N,
    links_followed: u32,
}

/// The names still to walk, the next one last, and whether the walk's end
/// must be a directory (a trailing slash).
struct Remaining {
    components: Vec<Vec<u8>>,
    must_be_directory: bool,
}

impl Remaining {
    /// Puts `path` in front of what is left, and returns the directory it
    /// starts from: the root if it is absolute, else `dir`. A trailing
    /// slash counts only if `path` ends the walk.
    fn prepend(&mut self, dir: InodeNumber, path: &[u8]) -> InodeNumber {
        if self.components.is_empty() && path.ends_with(b"/") {
            self.must_be_directory = true;
        }
        let names = path
            .split(|&byte| byte == b'/')
            .filter(|name| !name.is_empty());
        let at = self.components.len();
        self.components.extend(names.map(<[u8]>::to_vec));
        self.components[at..].reverse();
        if path.starts_with(b"/") {
            ROOT_INODE
        } else {
            dir
        }
    }
}

/// Where a walk ended.
enum End {
    /// At this inode (every name walked).
    Inode(InodeNumber),
    /// Before the last name (a parent walk).
    Parent(Parent),
}

impl<'n, N: Names + ?Sized> Walk<'n, N> {
    pub fn new(names: &'n N) -> Self {
        Walk {
            names,
            links_followed: 0,
        }
    }

    /// The inode `path` names, from the directory `start`. ENOENT for a
    /// missing name, ENOTDIR for a non-directory that is walked through or
    /// that a trailing slash names, ELOOP past 40 symlinks, ENAMETOOLONG
    /// for a name over 255 bytes. `path` must not be empty.
    pub fn resolve(
        &mut self,
        start: InodeNumber,
        path: &[u8],
        follow: Follow,
    ) -> Result<InodeNumber, Errno> {
        match self.walk(start, path, follow, false)? {
            End::Inode(inode) => Ok(inode),
            End::Parent(_) => unreachable!("only a parent walk stops early"),
        }
    }

    /// The directory holding `path`'s last name, and that name, from the
    /// directory `start`: errors as [`Walk::resolve`] for the names before
    /// the last. `path` must not be empty.
    pub fn parent(&mut self, start: InodeNumber, path: &[u8]) -> Result<Parent, Errno> {
        match self.walk(start, path, Follow::No, true)? {
            End::Parent(parent) => Ok(parent),
            End::Inode(_) => unreachable!("a parent walk stops before the last name"),
        }
    }

    /// Counts one more symlink followed: ELOOP past [`MAX_SYMLINKS`].
    fn count_link(&mut self) -> Result<(), Errno> {
        self.links_followed += 1;
        if self.links_followed > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        Ok(())
    }

    /// The parent walk of the target of the symlink `link`, which is the
    /// last name of a path in the directory `dir`: where `open(O_CREAT)`
    /// creates the file a dangling symlink points to. Counts the link.
    pub fn parent_of_target(
        &mut self,
        dir: InodeNumber,
        link: InodeNumber,
    ) -> Result<Parent, Errno> {
        self.count_link()?;
        let target = self.names.read_link(link)?;
        self.parent(dir, &target)
    }

    fn walk(
        &mut self,
        start: InodeNumber,
        path: &[u8],
        follow: Follow,
        stop_before_last: bool,
    ) -> Result<End, Errno> {
        let mut remaining = Remaining {
            components: Vec::new(),
            must_be_directory: false,
        };
        let mut dir = remaining.prepend(start, path);
        loop {
            let Some(name) = remaining.components.pop() else {
                // Only slashes were left: the directory itself.
                return Ok(if stop_before_last {
                    End::Parent(Parent {
                        dir,
                        last: Last::Root,
                        trailing_slash: true,
                    })
                } else {
                    End::Inode(dir)
                });
            };
            let is_last = remaining.components.is_empty();
            if name.len() > NAME_MAX {
                return Err(Errno::ENAMETOOLONG);
            }
            if is_last && stop_before_last {
                let last = match name.as_slice() {
                    b"." => Last::Dot,
                    b".." => Last::DotDot,
                    _ => Last::Name(name),
                };
                return Ok(End::Parent(Parent {
                    dir,
                    last,
                    trailing_slash: remaining.must_be_directory,
                }));
            }
            let next = match name.as_slice() {
                b"." => dir,
                b".." if dir == ROOT_INODE => ROOT_INODE,
                _ => self.names.lookup_name(dir, &name)?,
            };
            let file_type = self.names.file_type(next)?;
            let follows = !is_last || follow == Follow::Yes || remaining.must_be_directory;
            if file_type == FileType::Symlink && follows {
                self.count_link()?;
                let target = self.names.read_link(next)?;
                dir = remaining.prepend(dir, &target);
                continue;
            }
            let needs_directory = !is_last || remaining.must_be_directory;
            if needs_directory && file_type != FileType::Directory {
                return Err(Errno::ENOTDIR);
            }
            if is_last {
                return Ok(End::Inode(next));
            }
            dir = next;
        }
    }
}

/// A process's current directory: the root, or another directory whose
/// inode its use keeps allocated — rmdir leaves it an orphan, in which
/// nothing can be created, until the process leaves it (as on Linux).
#[derive(Clone)]
pub enum WorkingDirectory {
    Root,
    Other(super::in_use::InodeUse),
}

impl WorkingDirectory {
    /// The directory `inode` of the file system `fs`.
    pub fn at(fs: &'static super::FileSystem, inode: InodeNumber) -> WorkingDirectory {
        if inode == ROOT_INODE {
            WorkingDirectory::Root
        } else {
            WorkingDirectory::Other(super::in_use::InodeUse::new(fs, inode))
        }
    }

    pub fn inode(&self) -> InodeNumber {
        match self {
            WorkingDirectory::Root => ROOT_INODE,
            WorkingDirectory::Other(in_use) => in_use.inode(),
        }
    }
}

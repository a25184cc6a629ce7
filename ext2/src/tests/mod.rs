//! Host tests against images made by the real `mke2fs` and checked by the
//! real `e2fsck` and `debugfs`.

mod support;

mod attributes;
mod cache;
mod exchange;
mod link;
mod mount;
mod namespace;
mod punch;
mod read;
mod readdir;
mod rename;
mod special;
mod symlink;
mod write;

//! Host tests against images made by the real `mke2fs` and checked by the
//! real `e2fsck` and `debugfs`.

mod support;

mod cache;
mod mount;
mod namespace;
mod read;
mod write;

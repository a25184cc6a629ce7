//! ext2, small and clear: placeholder until the storage work lands.
#![no_std]

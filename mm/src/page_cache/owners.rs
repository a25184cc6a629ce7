//! Which file page each cached frame holds (what Linux finds in a frame's
//! `struct page`): one table per 2 MiB of physical memory that holds a cached
//! frame, so that a lookup is an array index once the table is found, and a
//! batch of nearby frames finds its table once.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::FileId;
use crate::frame::{PAGE_SIZE, PhysAddr};

/// Frames per table.
const TABLE_FRAMES: usize = 512;

/// The owners of `TABLE_FRAMES` consecutive frames; `owners[n]` holds
/// meaning only where bit `n` of `owned` is set.
#[derive(Debug)]
struct Table {
    owned: [u64; TABLE_FRAMES / 64],
    owners: Vec<(FileId, u64)>,
}

impl Table {
    fn get(&self, slot: usize) -> Option<(FileId, u64)> {
        (self.owned[slot / 64] & (1 << (slot % 64)) != 0).then(|| self.owners[slot])
    }
}

/// The table holding `frame`, and the frame's slot in it.
fn locate(frame: PhysAddr) -> (u64, usize) {
    let number = frame.as_u64() / PAGE_SIZE;
    (
        number / TABLE_FRAMES as u64,
        (number % TABLE_FRAMES as u64) as usize,
    )
}

/// The owner of every cached frame.
#[derive(Debug, Default)]
pub(super) struct FrameOwners {
    tables: BTreeMap<u64, Table>,
}

impl FrameOwners {
    pub(super) fn get(&self, frame: PhysAddr) -> Option<(FileId, u64)> {
        let (key, slot) = locate(frame);
        self.tables.get(&key)?.get(slot)
    }

    /// A lookup for many frames: consecutive frames in one table find it
    /// once.
    pub(super) fn lookup(&self) -> impl FnMut(PhysAddr) -> Option<(FileId, u64)> + '_ {
        let mut last: Option<(u64, Option<&Table>)> = None;
        move |frame| {
            let (key, slot) = locate(frame);
            let table = match last {
                Some((last_key, table)) if last_key == key => table,
                _ => {
                    let table = self.tables.get(&key);
                    last = Some((key, table));
                    table
                }
            };
            table?.get(slot)
        }
    }

    pub(super) fn insert(&mut self, frame: PhysAddr, owner: (FileId, u64)) {
        let (key, slot) = locate(frame);
        let table = self.tables.entry(key).or_insert_with(|| Table {
            owned: [0; TABLE_FRAMES / 64],
            owners: vec![(0, 0); TABLE_FRAMES],
        });
        table.owned[slot / 64] |= 1 << (slot % 64);
        table.owners[slot] = owner;
    }

    pub(super) fn remove(&mut self, frame: PhysAddr) {
        let (key, slot) = locate(frame);
        if let Some(table) = self.tables.get_mut(&key) {
            table.owned[slot / 64] &= !(1 << (slot % 64));
            if table.owned.iter().all(|&bits| bits == 0) {
                self.tables.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(number: u64) -> PhysAddr {
        PhysAddr::new(number * PAGE_SIZE)
    }

    #[test]
    fn owners_are_found_until_removed_and_empty_tables_go() {
        let mut owners = FrameOwners::default();
        owners.insert(frame(511), (1, 7));
        owners.insert(frame(512), (2, 8));
        owners.insert(frame(5000), (3, 9));
        assert_eq!(owners.get(frame(511)), Some((1, 7)));
        assert_eq!(owners.get(frame(510)), None);
        let found = {
            let mut lookup = owners.lookup();
            [512, 511, 5000, 513, 5000].map(|number| lookup(frame(number)))
        };
        assert_eq!(
            found,
            [Some((2, 8)), Some((1, 7)), Some((3, 9)), None, Some((3, 9))]
        );
        owners.remove(frame(512));
        owners.remove(frame(5000));
        assert_eq!(owners.get(frame(512)), None);
        assert_eq!(owners.tables.keys().copied().collect::<Vec<_>>(), [0]);
    }
}

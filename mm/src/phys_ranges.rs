//! From the firmware's e820 memory map to the frames the kernel may hand out.
//!
//! The map is taken as the firmware gives it (entries may be unsorted and may
//! overlap); what is usable is every page wholly inside a RAM entry, minus every
//! page touched by a reserved range (the kernel image, the boot structures, the
//! modules, or a non-RAM entry overlapping the RAM).

use crate::frame::PAGE_SIZE;

/// The e820 type of ordinary, usable RAM.
pub const E820_RAM: u32 = 1;

/// One entry of the e820 map, as `hvm_start_info` hands it over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E820Entry {
    pub addr: u64,
    pub size: u64,
    pub kind: u32,
}

/// A half-open physical range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

impl PhysRange {
    pub const fn new(start: u64, end: u64) -> Self {
        PhysRange { start, end }
    }

    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The same range shrunk to whole pages.
    fn page_aligned_inward(self) -> Self {
        let start = self.start.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
        let end = self.end / PAGE_SIZE * PAGE_SIZE;
        PhysRange { start, end }
    }

    /// The same range grown to whole pages.
    fn page_aligned_outward(self) -> Self {
        let start = self.start / PAGE_SIZE * PAGE_SIZE;
        let end = self.end.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE);
        PhysRange { start, end }
    }
}

/// A sorted set of disjoint ranges with a fixed capacity, usable before the
/// kernel has a heap.
#[derive(Clone, Debug)]
pub struct RangeSet<const N: usize> {
    ranges: [PhysRange; N],
    len: usize,
}

/// Adding a range would need more slots than the set has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeSetFull;

impl<const N: usize> Default for RangeSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RangeSet<N> {
    pub const fn new() -> Self {
        RangeSet {
            ranges: [PhysRange::new(0, 0); N],
            len: 0,
        }
    }

    pub fn as_slice(&self) -> &[PhysRange] {
        &self.ranges[..self.len]
    }

    /// Total bytes covered.
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(PhysRange::len).sum()
    }

    /// Adds `range`, merging it with the ranges it overlaps or touches.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), RangeSetFull> {
        if range.is_empty() {
            return Ok(());
        }
        let mut merged = range;
        let mut kept = 0;
        let mut insert_at = None;
        for i in 0..self.len {
            let existing = self.ranges[i];
            if existing.end < merged.start {
                self.ranges[kept] = existing;
                kept += 1;
            } else if existing.start > merged.end {
                insert_at.get_or_insert(kept);
                self.ranges[kept] = existing;
                kept += 1;
            } else {
                merged.start = merged.start.min(existing.start);
                merged.end = merged.end.max(existing.end);
            }
        }
        if kept == N {
            return Err(RangeSetFull);
        }
        let at = insert_at.unwrap_or(kept);
        self.ranges.copy_within(at..kept, at + 1);
        self.ranges[at] = merged;
        self.len = kept + 1;
        Ok(())
    }

    /// Removes `range` from every range in the set, splitting where needed.
    pub fn remove(&mut self, range: PhysRange) -> Result<(), RangeSetFull> {
        if range.is_empty() {
            return Ok(());
        }
        let mut result = RangeSet::<N>::new();
        for existing in self.as_slice() {
            let below = PhysRange::new(existing.start, existing.end.min(range.start));
            let above = PhysRange::new(existing.start.max(range.end), existing.end);
            result.insert(below)?;
            result.insert(above)?;
        }
        *self = result;
        Ok(())
    }
}

/// The page-aligned physical ranges the frame allocator may hand out: RAM
/// entries of `map`, minus the non-RAM entries and `reserved`.
pub fn usable_ranges<const N: usize>(
    map: &[E820Entry],
    reserved: &[PhysRange],
) -> Result<RangeSet<N>, RangeSetFull> {
    let mut usable = RangeSet::<N>::new();
    for entry in map.iter().filter(|e| e.kind == E820_RAM) {
        let end = entry.addr.saturating_add(entry.size);
        usable.insert(PhysRange::new(entry.addr, end).page_aligned_inward())?;
    }
    let firmware_reserved = map
        .iter()
        .filter(|e| e.kind != E820_RAM)
        .map(|e| PhysRange::new(e.addr, e.addr.saturating_add(e.size)));
    for hole in firmware_reserved.chain(reserved.iter().copied()) {
        usable.remove(hole.page_aligned_outward())?;
    }
    Ok(usable)
}

/// Bytes of RAM the firmware reports (overlaps counted once).
pub fn ram_total<const N: usize>(map: &[E820Entry]) -> Result<u64, RangeSetFull> {
    let mut ram = RangeSet::<N>::new();
    for entry in map.iter().filter(|e| e.kind == E820_RAM) {
        ram.insert(PhysRange::new(
            entry.addr,
            entry.addr.saturating_add(entry.size),
        ))?;
    }
    Ok(ram.total())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn ram(addr: u64, size: u64) -> E820Entry {
        E820Entry {
            addr,
            size,
            kind: E820_RAM,
        }
    }

    fn reserved(addr: u64, size: u64) -> E820Entry {
        E820Entry {
            addr,
            size,
            kind: 2,
        }
    }

    /// The map QEMU hands a `-m 32M` guest.
    fn qemu_32m_map() -> [E820Entry; 3] {
        [
            ram(0, 0x9fc00),
            reserved(0x9fc00, 0x400),
            ram(0x10_0000, 32 * MIB - 0x10_0000),
        ]
    }

    #[test]
    fn ram_entries_become_page_aligned_ranges() {
        let usable = usable_ranges::<8>(&qemu_32m_map(), &[]).unwrap();
        assert_eq!(
            usable.as_slice(),
            &[
                PhysRange::new(0, 0x9f000),
                PhysRange::new(0x10_0000, 32 * MIB)
            ]
        );
    }

    #[test]
    fn kernel_image_and_modules_are_removed() {
        let kernel = PhysRange::new(0x20_0000, 0x34_5678);
        let module = PhysRange::new(0x100_0000, 0x100_0001);
        let usable = usable_ranges::<8>(&qemu_32m_map(), &[kernel, module]).unwrap();
        assert_eq!(
            usable.as_slice(),
            &[
                PhysRange::new(0, 0x9f000),
                PhysRange::new(0x10_0000, 0x20_0000),
                PhysRange::new(0x34_6000, 0x100_0000),
                PhysRange::new(0x100_1000, 32 * MIB),
            ]
        );
    }

    #[test]
    fn reserved_entry_overlapping_ram_wins() {
        let map = [ram(0, 16 * MIB), reserved(8 * MIB, 0x800)];
        let usable = usable_ranges::<8>(&map, &[]).unwrap();
        assert_eq!(
            usable.as_slice(),
            &[
                PhysRange::new(0, 8 * MIB),
                PhysRange::new(8 * MIB + 0x1000, 16 * MIB)
            ]
        );
    }

    #[test]
    fn unsorted_overlapping_ram_is_merged() {
        let map = [ram(4 * MIB, 4 * MIB), ram(0, 5 * MIB), ram(8 * MIB, MIB)];
        let usable = usable_ranges::<8>(&map, &[]).unwrap();
        assert_eq!(usable.as_slice(), &[PhysRange::new(0, 9 * MIB)]);
        assert_eq!(ram_total::<8>(&map).unwrap(), 9 * MIB);
    }

    #[test]
    fn memory_above_4g_is_kept() {
        let map = [
            ram(0, 0x9fc00),
            ram(MIB, 3 * 1024 * MIB - MIB),
            reserved(0xfeff_c000, 0x4000),
            ram(4 * 1024 * MIB, 1024 * MIB),
        ];
        let usable = usable_ranges::<8>(&map, &[]).unwrap();
        assert_eq!(usable.total(), 0x9f000 + 3 * 1024 * MIB - MIB + 1024 * MIB);
        assert_eq!(
            ram_total::<8>(&map).unwrap(),
            0x9fc00 + 4 * 1024 * MIB - MIB
        );
    }

    #[test]
    fn range_set_reports_when_full() {
        let mut set = RangeSet::<2>::new();
        set.insert(PhysRange::new(0, 10)).unwrap();
        set.insert(PhysRange::new(20, 30)).unwrap();
        assert_eq!(set.insert(PhysRange::new(40, 50)), Err(RangeSetFull));
        assert_eq!(set.remove(PhysRange::new(2, 4)), Err(RangeSetFull));
        set.insert(PhysRange::new(10, 20)).unwrap();
        assert_eq!(set.as_slice(), &[PhysRange::new(0, 30)]);
    }
}

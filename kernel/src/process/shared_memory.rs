//! Shared anonymous memory (`MAP_SHARED | MAP_ANONYMOUS`): one object per
//! mmap call, holding the pages every mapping of it shows — the parent's
//! and, after fork, the children's (Linux backs it with an unnamed shmem
//! file). The object holds one use of each of its frames and each PTE one
//! more ([`crate::memory::frames::share_frame`]); a frame is freed when the
//! last mapping and the object have let go. Nothing is ever written back:
//! msync of such memory has nothing to do, as on Linux.

use crate::memory::frames;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use mm::vma::{FileRef, MappedFile};
use spin::Mutex;
use x86_64::PhysAddr;

/// Ids for the objects (an object's id only has to differ from the other
/// objects': VMAs compare backings of the same kind).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub struct SharedMemory {
    id: u64,
    pages: Mutex<BTreeMap<u64, PhysAddr>>,
}

impl MappedFile for SharedMemory {
    fn id(&self) -> u64 {
        self.id
    }
}

impl SharedMemory {
    /// A new, empty object for one `MAP_SHARED | MAP_ANONYMOUS` mapping.
    pub fn new_object() -> FileRef {
        FileRef::new(Arc::new(SharedMemory {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pages: Mutex::new(BTreeMap::new()),
        }))
    }

    /// Drops the frames of the pages of `object` in `pages` (MADV_REMOVE):
    /// a later fault there gets a fresh zeroed page. A frame a mapping still
    /// holds lives until that mapping lets go.
    pub fn drop_pages(object: &FileRef, pages: core::ops::Range<u64>) {
        let any: &dyn core::any::Any = object.file().as_ref();
        let Some(object) = any.downcast_ref::<SharedMemory>() else {
            return;
        };
        let dropped: Vec<PhysAddr> = {
            let mut map = object.pages.lock();
            let indices: Vec<u64> = map.range(pages).map(|(&index, _)| index).collect();
            indices
                .into_iter()
                .filter_map(|index| map.remove(&index))
                .collect()
        };
        for frame in dropped {
            frames::put_frame(frame);
        }
    }

    /// Whether page `index` of `object` has a frame yet (mincore: a page
    /// another process touched is resident here too).
    pub fn has_page(object: &FileRef, index: u64) -> bool {
        let any: &dyn core::any::Any = object.file().as_ref();
        any.downcast_ref::<SharedMemory>()
            .is_some_and(|object| object.pages.lock().contains_key(&index))
    }
}

impl Drop for SharedMemory {
    /// The last mapping went: the object lets go of its frames.
    fn drop(&mut self) {
        for frame in self.pages.get_mut().values() {
            frames::put_frame(*frame);
        }
    }
}

/// The frame of page `index` of `object` (zero-filled on first use), with
/// one more user for the PTE about to map it; `None` if the object is not a
/// shared memory object or no frame is free.
pub fn page_of(object: &FileRef, index: u64) -> Option<PhysAddr> {
    let any: &dyn core::any::Any = object.file().as_ref();
    let object = any.downcast_ref::<SharedMemory>()?;
    let mut pages = object.pages.lock();
    let frame = match pages.get(&index) {
        Some(frame) => *frame,
        None => {
            let frame = frames::alloc_zeroed_frame()?;
            pages.insert(index, frame);
            frame
        }
    };
    frames::share_frame(frame);
    Some(frame)
}

//! Little-endian field access for on-disk structures.
//!
//! Every on-disk structure in this crate is kept as its raw bytes and read
//! through small accessors. Fields this crate does not know survive a
//! read-modify-write untouched, and no `unsafe` transmute is ever needed.

/// An integer type stored little-endian on disk.
pub(crate) trait LittleEndian: Sized {
    /// Reads the value at `offset`; the caller guarantees the bytes exist.
    fn read(bytes: &[u8], offset: usize) -> Self;
    /// Writes the value at `offset`; the caller guarantees the bytes exist.
    fn write(self, bytes: &mut [u8], offset: usize);
}

macro_rules! impl_little_endian {
    ($($ty:ty),*) => {$(
        impl LittleEndian for $ty {
            fn read(bytes: &[u8], offset: usize) -> Self {
                let mut raw = [0u8; size_of::<$ty>()];
                raw.copy_from_slice(&bytes[offset..offset + size_of::<$ty>()]);
                <$ty>::from_le_bytes(raw)
            }

            fn write(self, bytes: &mut [u8], offset: usize) {
                bytes[offset..offset + size_of::<$ty>()].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

impl_little_endian!(u8, u16, u32);

/// Declares accessors for fields of a struct whose bytes live in `self.raw`.
///
/// Each line reads like a row of the on-disk table:
/// `offset type: get name, set set_name;` (either half may be left out).
macro_rules! le_fields {
    ($($offset:literal $ty:ident: $($kind:ident $name:ident),+;)*) => {
        $($($crate::bytes::le_fields!(@$kind $name $ty $offset);)+)*
    };
    (@get $name:ident $ty:ident $offset:literal) => {
        pub(crate) fn $name(&self) -> $ty {
            <$ty as $crate::bytes::LittleEndian>::read(&self.raw, $offset)
        }
    };
    (@set $name:ident $ty:ident $offset:literal) => {
        pub(crate) fn $name(&mut self, value: $ty) {
            $crate::bytes::LittleEndian::write(value, &mut self.raw, $offset)
        }
    };
}

pub(crate) use le_fields;

//! The x87/SSE register state of a user thread, saved and restored with
//! `fxsave64`/`fxrstor64` (the kernel is soft-float and never touches it, so
//! the live registers always belong to the running thread's user code).

use core::sync::atomic::{AtomicU32, Ordering};

/// Size of the `fxsave` area.
pub const FXSAVE_BYTES: usize = 512;
/// Offsets in the `fxsave` area.
const FCW: usize = 0;
const MXCSR: usize = 24;
const MXCSR_MASK: usize = 28;
/// The control word and MXCSR after `fninit` / at process start (all
/// exceptions masked, round to nearest).
const DEFAULT_FCW: u16 = 0x037f;
const DEFAULT_MXCSR: u32 = 0x1f80;
/// Used when the CPU reports no mask (Intel SDM: then it is 0xffbf).
const FALLBACK_MXCSR_MASK: u32 = 0xffbf;

/// The MXCSR bits this CPU accepts; `fxrstor` of any other bit is #GP.
static SUPPORTED_MXCSR: AtomicU32 = AtomicU32::new(FALLBACK_MXCSR_MASK);

/// One thread's saved FPU and SSE registers, in the `fxsave` layout.
#[repr(C, align(64))]
#[derive(Clone)]
pub struct FpuState([u8; FXSAVE_BYTES]);

impl FpuState {
    /// The state a new program starts with.
    pub fn initial() -> FpuState {
        let mut bytes = [0u8; FXSAVE_BYTES];
        bytes[FCW..FCW + 2].copy_from_slice(&DEFAULT_FCW.to_le_bytes());
        bytes[MXCSR..MXCSR + 4].copy_from_slice(&DEFAULT_MXCSR.to_le_bytes());
        FpuState(bytes)
    }

    /// A state from bytes user space supplied (a signal frame being
    /// returned from): MXCSR bits the CPU does not support are cleared, so
    /// that restoring it cannot fault.
    pub fn from_user_bytes(bytes: &[u8; FXSAVE_BYTES]) -> FpuState {
        let mut state = FpuState(*bytes);
        let mxcsr = u32::from_le_bytes(state.0[MXCSR..MXCSR + 4].try_into().expect("4 bytes"));
        let allowed = mxcsr & SUPPORTED_MXCSR.load(Ordering::Relaxed);
        state.0[MXCSR..MXCSR + 4].copy_from_slice(&allowed.to_le_bytes());
        state
    }

    pub fn as_bytes(&self) -> &[u8; FXSAVE_BYTES] {
        &self.0
    }

    /// Saves the live registers here.
    pub fn save(&mut self) {
        // SAFETY: the area is 512 bytes and 16-byte aligned; fxsave only
        // writes it.
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) self.0.as_mut_ptr(), options(nostack)) };
    }

    /// Loads the registers from here.
    pub fn restore(&self) {
        // SAFETY: the area is aligned and its MXCSR holds only supported
        // bits (every state comes from `save`, `initial` or
        // `from_user_bytes`), so fxrstor cannot fault.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) self.0.as_ptr(), options(nostack)) };
    }
}

/// Learns which MXCSR bits the CPU supports (once, at boot, after SSE is
/// enabled).
pub fn init() {
    let mut probe = FpuState([0; FXSAVE_BYTES]);
    probe.save();
    let mask = u32::from_le_bytes(
        probe.0[MXCSR_MASK..MXCSR_MASK + 4]
            .try_into()
            .expect("4 bytes"),
    );
    let mask = if mask == 0 { FALLBACK_MXCSR_MASK } else { mask };
    SUPPORTED_MXCSR.store(mask, Ordering::Relaxed);
}

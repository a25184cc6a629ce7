//! The 8254 programmable interval timer: the periodic tick (channel 0) and the
//! reference for calibrating the TSC (channel 2).

use x86_64::instructions::port::Port;

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

const CHANNEL0: u16 = 0x40;
const CHANNEL2: u16 = 0x42;
const COMMAND: u16 = 0x43;
const SPEAKER_GATE: u16 = 0x61;

fn write(port: u16, value: u8) {
    // SAFETY: PIT and speaker-gate ports; they only program timers.
    unsafe { Port::new(port).write(value) };
}

fn read(port: u16) -> u8 {
    // SAFETY: as above; reading the gate register has no side effects.
    unsafe { Port::new(port).read() }
}

/// Starts channel 0 as a rate generator firing IRQ 0 `hz` times a second.
/// Returns the exact rate achieved.
pub fn start_periodic(hz: u32) -> u64 {
    let divisor = (PIT_HZ / u64::from(hz)).clamp(1, 0xffff) as u16;
    write(COMMAND, 0b0011_0100); // channel 0, lo/hi byte, mode 2
    write(CHANNEL0, divisor as u8);
    write(CHANNEL0, (divisor >> 8) as u8);
    PIT_HZ / u64::from(divisor)
}

/// TSC ticks per second, measured against a one-shot of channel 2.
pub fn measure_tsc_hz(window_ms: u64) -> u64 {
    let count = (PIT_HZ * window_ms / 1000).min(0xffff) as u16;
    let gate = read(SPEAKER_GATE);
    write(SPEAKER_GATE, (gate & !0x02) & !0x01); // speaker off, gate low
    write(COMMAND, 0b1011_0000); // channel 2, lo/hi byte, mode 0
    write(CHANNEL2, count as u8);
    write(CHANNEL2, (count >> 8) as u8);
    write(SPEAKER_GATE, (gate & !0x02) | 0x01); // gate high: counting starts
    let start = crate::cpu::read_tsc();
    while read(SPEAKER_GATE) & 0x20 == 0 {
        core::hint::spin_loop();
    }
    let elapsed = crate::cpu::read_tsc() - start;
    write(SPEAKER_GATE, gate);
    elapsed * PIT_HZ / u64::from(count)
}

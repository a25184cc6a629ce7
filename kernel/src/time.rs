//! Time: a periodic tick from the PIT and a monotonic nanosecond clock from
//! the TSC, calibrated against the PIT at boot.

use core::sync::atomic::{AtomicU64, Ordering};

/// Timer interrupts per second.
pub const TICK_HZ: u32 = 100;
const CALIBRATION_WINDOW_MS: u64 = 10;

static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static UNIX_SECONDS_AT_BOOT: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per TSC cycle in 16.48 fixed point, so that reading the
/// clock is one multiplication (a 128-bit division is a library call of
/// hundreds of instructions, paid by every clock_gettime).
static NS_PER_CYCLE: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Measures the TSC rate; until then the clock reads zero.
pub fn init() {
    let hz = arch::pit::measure_tsc_hz(CALIBRATION_WINDOW_MS);
    UNIX_SECONDS_AT_BOOT.store(arch::rtc::unix_time(), Ordering::Relaxed);
    TSC_AT_BOOT.store(arch::cpu::read_tsc(), Ordering::Relaxed);
    TSC_HZ.store(hz, Ordering::Relaxed);
    NS_PER_CYCLE.store(ns_per_cycle(hz), Ordering::Relaxed);
    log::debug!("TSC runs at {hz} Hz");
}

/// Starts the periodic tick (the timer IRQ must be routed to [`on_tick`]).
pub fn start_ticks() {
    let achieved = arch::pit::start_periodic(TICK_HZ);
    log::debug!("timer at {achieved} Hz");
}

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since the clock was calibrated; never goes backwards.
pub fn now_ns() -> u64 {
    let elapsed = arch::cpu::read_tsc().saturating_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    cycles_to_ns(elapsed, NS_PER_CYCLE.load(Ordering::Relaxed))
}

/// Fraction bits of [`NS_PER_CYCLE`] (the vDSO's format too): a day of
/// cycles at 4 GHz is off by less than 2 ns, and any clock above 16 kHz fits.
const FRACTION_BITS: u32 = arch::vdso::NS_PER_CYCLE_FRACTION_BITS;

/// The fixed-point nanoseconds per cycle of a `hz` clock (0 for 0).
fn ns_per_cycle(hz: u64) -> u64 {
    match hz {
        0 => 0,
        hz => ((1_000_000_000u128 << FRACTION_BITS) / u128::from(hz)) as u64,
    }
}

fn cycles_to_ns(cycles: u64, ns_per_cycle: u64) -> u64 {
    ((u128::from(cycles) * u128::from(ns_per_cycle)) >> FRACTION_BITS) as u64
}

/// The clock's parameters for the vDSO, which computes [`now_ns`] and
/// [`realtime_ns`] from them in user mode.
pub fn clock_data() -> arch::vdso::ClockData {
    arch::vdso::ClockData {
        tsc_at_boot: TSC_AT_BOOT.load(Ordering::Relaxed),
        ns_per_cycle: NS_PER_CYCLE.load(Ordering::Relaxed),
        realtime_at_boot_ns: UNIX_SECONDS_AT_BOOT.load(Ordering::Relaxed) * 1_000_000_000,
    }
}

/// Wall-clock nanoseconds since the Unix epoch: the RTC at boot plus the
/// monotonic clock since.
pub fn realtime_ns() -> u64 {
    UNIX_SECONDS_AT_BOOT.load(Ordering::Relaxed) * 1_000_000_000 + now_ns()
}

/// Wall-clock seconds, as file-system timestamps want them.
pub fn unix_seconds() -> u32 {
    (realtime_ns() / 1_000_000_000) as u32
}

/// Timer interrupts since [`start_ticks`].
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

pub fn on_tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

crate::kernel_test!(monotonic_clock_follows_the_timer_tick, {
    let start_ticks = ticks();
    let start_ns = now_ns();
    while ticks() < start_ticks + 5 {
        arch::cpu::halt();
    }
    let elapsed_ns = now_ns() - start_ns;
    // Five ticks of 10 ms, give or take one tick of phase.
    assert!(
        (35_000_000..=90_000_000).contains(&elapsed_ns),
        "5 ticks took {elapsed_ns} ns"
    );
    assert!(now_ns() >= start_ns + elapsed_ns, "clock went backwards");
});

crate::kernel_test!(fixed_point_cycles_to_ns_is_off_by_at_most_2_ns_a_day, {
    const DAY_S: u64 = 86_400;
    for hz in [1_000_000_000, 2_511_234_567, 3_999_999_999, 123_456_789] {
        let fixed = ns_per_cycle(hz);
        for cycles in [0, 1, hz - 1, hz, 12_345 * hz + 678, DAY_S * hz] {
            let exact = (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64;
            let fast = cycles_to_ns(cycles, fixed);
            assert!(
                fast <= exact && exact - fast <= 2,
                "{cycles} cycles at {hz} Hz: {fast} ns, exactly {exact}"
            );
        }
    }
    assert_eq!(cycles_to_ns(u64::MAX, ns_per_cycle(0)), 0);
});

crate::kernel_test!(wall_clock_is_after_2024, {
    const JANUARY_2024: u32 = 1_704_067_200;
    assert!(unix_seconds() > JANUARY_2024, "RTC says {}", unix_seconds());
});

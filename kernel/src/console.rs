//! The serial console: `println!` and the `log` backend, each record stamped
//! with the monotonic clock.

use log::{LevelFilter, Log, Metadata, Record};

#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => { arch::serial_println!($($arg)*) };
}

struct SerialLogger;

impl Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let micros = crate::time::now_ns() / 1000;
        arch::serial_println!(
            "[{:5}.{:06}] {:5} {}: {}",
            micros / 1_000_000,
            micros % 1_000_000,
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: SerialLogger = SerialLogger;

pub fn init(level: LevelFilter) {
    log::set_logger(&LOGGER).expect("logger installed twice");
    log::set_max_level(level);
}

//! The kernel command line (QEMU `-append`): space-separated words, some of
//! them `key=value`.

/// What the kernel understood of its command line.
pub struct CommandLine {
    pub raw: &'static str,
    pub log_level: log::LevelFilter,
    /// `test` runs every in-kernel test; `test=NAME` those whose name contains
    /// NAME; `test=-NAME` all the others.
    pub test: Option<&'static str>,
    /// `crash=KIND`: a deliberate failure, for the runner's fault tests.
    pub crash: Option<&'static str>,
}

impl CommandLine {
    pub fn parse(bytes: &'static [u8]) -> CommandLine {
        let raw = core::str::from_utf8(bytes).unwrap_or("");
        let mut line = CommandLine {
            raw,
            log_level: log::LevelFilter::Info,
            test: None,
            crash: None,
        };
        for word in raw.split_ascii_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            match key {
                "loglevel" => match value.parse() {
                    Ok(level) => line.log_level = level,
                    Err(_) => arch::serial_println!("ignoring unknown log level {value:?}"),
                },
                "test" => line.test = Some(value),
                "crash" => line.crash = Some(value),
                _ => {}
            }
        }
        line
    }
}

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
    /// `root=vdX`: the virtio disk (vda is the first) holding the root file
    /// system.
    pub root_disk: usize,
    /// `init=PATH`: the first program (default `/sbin/init`).
    pub init: &'static str,
    /// The words after `--`: init's argv[1..].
    pub init_args: &'static str,
}

impl CommandLine {
    pub fn parse(bytes: &'static [u8]) -> CommandLine {
        let raw = core::str::from_utf8(bytes).unwrap_or("");
        let (kernel_words, init_args) = if let Some(init) = raw.strip_prefix("-- ") {
            ("", init)
        } else if let Some((kernel, init)) = raw.split_once(" -- ") {
            (kernel, init)
        } else {
            (raw.strip_suffix("--").unwrap_or(raw), "")
        };
        let mut line = CommandLine {
            raw,
            log_level: log::LevelFilter::Info,
            test: None,
            crash: None,
            root_disk: 0,
            init: "/sbin/init",
            init_args,
        };
        for word in kernel_words.split_ascii_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            match key {
                "loglevel" => match value.parse() {
                    Ok(level) => line.log_level = level,
                    Err(_) => arch::serial_println!("ignoring unknown log level {value:?}"),
                },
                "test" => line.test = Some(value),
                "crash" => line.crash = Some(value),
                "init" => line.init = value,
                "root" => match value.strip_prefix("vd").map(str::as_bytes) {
                    Some(&[letter @ b'a'..=b'z']) => line.root_disk = usize::from(letter - b'a'),
                    _ => arch::serial_println!("ignoring root={value:?}: expected vda, vdb, ..."),
                },
                _ => {}
            }
        }
        line
    }
}

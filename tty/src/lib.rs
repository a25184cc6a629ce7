//! A terminal's line discipline as plain Rust, after Linux's `n_tty`: what
//! each received byte does (input translation, the signal characters,
//! canonical line editing, echo), what a read takes, and how output is
//! translated. The kernel feeds it the serial port's bytes and carries out
//! what it answers: bytes to send back, a signal for the foreground process
//! group, readers to wake.
//!
//! Nothing here blocks or touches hardware, so every rule is a host test.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use abi::signal::{SIGINT, SIGQUIT, SIGTSTP};
use abi::termios::*;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// The longest line canonical mode holds (Linux's `N_TTY_BUF_SIZE` less the
/// room it keeps for the newline); further bytes are dropped.
pub const MAX_LINE: usize = 4095;

/// The kernel's `struct termios` (TCGETS/TCSETS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Termios {
    /// What Linux's 8250 driver starts a serial line with: 9600 8N1, the
    /// standard input and output translation, canonical mode with echo and
    /// the signal characters (`tty_std_termios` with the driver's
    /// `init_termios`).
    pub const fn serial_console() -> Termios {
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: B9600 | CS8 | CREAD | HUPCL | CLOCAL,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc: INITIAL_CONTROL_CHARACTERS,
        }
    }

    /// The structure as user memory holds it.
    pub fn to_bytes(&self) -> [u8; TERMIOS_BYTES] {
        let mut bytes = [0; TERMIOS_BYTES];
        for (index, word) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .into_iter()
            .enumerate()
        {
            bytes[index * 4..index * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        bytes[16] = self.line;
        bytes[17..].copy_from_slice(&self.cc);
        bytes
    }

    /// The structure from user memory.
    pub fn from_bytes(bytes: &[u8; TERMIOS_BYTES]) -> Termios {
        let word = |index: usize| {
            u32::from_le_bytes(
                bytes[index * 4..index * 4 + 4]
                    .try_into()
                    .expect("four bytes"),
            )
        };
        let mut cc = [0; NCCS];
        cc.copy_from_slice(&bytes[17..]);
        Termios {
            iflag: word(0),
            oflag: word(1),
            cflag: word(2),
            lflag: word(3),
            line: bytes[16],
            cc,
        }
    }

    fn local(&self, flag: u32) -> bool {
        self.lflag & flag != 0
    }

    fn input(&self, flag: u32) -> bool {
        self.iflag & flag != 0
    }

    /// Whether `byte` is the (enabled) control character at `index`.
    fn is(&self, byte: u8, index: usize) -> bool {
        self.cc[index] != 0 && byte == self.cc[index]
    }
}

/// What one received byte asks of the kernel.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    /// Bytes to send back to the terminal (the echo, output-translated).
    pub echo: Vec<u8>,
    /// A signal for the foreground process group.
    pub signal: Option<u32>,
    /// Whether a reader may now get data (wake the sleepers).
    pub readable: bool,
}

/// What a read may take now.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// These bytes (canonical mode: at most one line).
    Data(Vec<u8>),
    /// End of file: ^D at the start of a line.
    EndOfFile,
    /// Nothing yet: the reader waits (non-canonical mode with VMIN 0 gets
    /// an empty `Data` instead).
    Wait,
}

/// The state of one terminal's input: the line being edited and what is
/// ready to read.
#[derive(Debug)]
pub struct LineDiscipline {
    termios: Termios,
    /// Canonical mode: the line being typed.
    editing: Vec<u8>,
    /// Canonical mode: completed lines, each with its newline if it had one
    /// (an empty one is an end of file).
    lines: VecDeque<Vec<u8>>,
    /// Non-canonical mode: the bytes received.
    raw: VecDeque<u8>,
    /// The column the echo has reached on the current line, for erasing.
    echo_widths: Vec<u8>,
}

impl LineDiscipline {
    pub const fn new(termios: Termios) -> LineDiscipline {
        LineDiscipline {
            termios,
            editing: Vec::new(),
            lines: VecDeque::new(),
            raw: VecDeque::new(),
            echo_widths: Vec::new(),
        }
    }

    pub fn termios(&self) -> Termios {
        self.termios
    }

    /// TCSETS: new settings. Leaving canonical mode makes what was typed
    /// readable as it is; entering it makes unread bytes the start of a
    /// line, as Linux's `n_tty_set_termios` does.
    pub fn set_termios(&mut self, termios: Termios) {
        let was_canonical = self.termios.local(ICANON);
        self.termios = termios;
        match (was_canonical, termios.local(ICANON)) {
            (true, false) => {
                for line in self.lines.drain(..) {
                    self.raw.extend(line);
                }
                self.raw.extend(self.editing.drain(..));
                self.echo_widths.clear();
            }
            (false, true) => self.editing.extend(self.raw.drain(..)),
            _ => {}
        }
    }

    /// TCFLSH(TCIFLUSH), TCSETSF, and a signal character without NOFLSH:
    /// unread input is discarded.
    pub fn flush_input(&mut self) {
        self.editing.clear();
        self.lines.clear();
        self.raw.clear();
        self.echo_widths.clear();
    }

    /// FIONREAD: the bytes a read could take now.
    pub fn readable_bytes(&self) -> usize {
        if self.termios.local(ICANON) {
            self.lines.iter().map(Vec::len).sum()
        } else {
            self.raw.len()
        }
    }

    /// Whether a read would not wait (poll's POLLIN).
    pub fn is_readable(&self) -> bool {
        if self.termios.local(ICANON) {
            !self.lines.is_empty()
        } else {
            !self.raw.is_empty()
        }
    }

    /// Takes up to `max` bytes for a read (`max` > 0). Canonical mode gives
    /// at most one line, keeping the rest of a long one for the next read;
    /// non-canonical mode gives what is there once VMIN bytes are (VTIME's
    /// timer is the kernel's).
    pub fn read(&mut self, max: usize) -> Read {
        if self.termios.local(ICANON) {
            let Some(line) = self.lines.front_mut() else {
                return Read::Wait;
            };
            if line.is_empty() {
                self.lines.pop_front();
                return Read::EndOfFile;
            }
            let taken: Vec<u8> = line.drain(..line.len().min(max)).collect();
            if line.is_empty() {
                self.lines.pop_front();
            }
            return Read::Data(taken);
        }
        let minimum = usize::from(self.termios.cc[VMIN]).min(max);
        let timed = self.termios.cc[VTIME] != 0;
        if self.raw.len() < minimum || (timed && minimum == 0 && self.raw.is_empty()) {
            return Read::Wait;
        }
        Read::Data(self.take_available(max))
    }

    /// Non-canonical mode, once VTIME's timer ran out: whatever is there
    /// (perhaps nothing), up to `max` bytes.
    pub fn take_available(&mut self, max: usize) -> Vec<u8> {
        let count = self.raw.len().min(max);
        self.raw.drain(..count).collect()
    }

    /// Non-canonical mode's timer: VTIME in tenths of a second, 0 for none;
    /// with VMIN above 0 it runs from the last byte received, else from the
    /// read's start (the kernel keeps the clock).
    pub fn read_timeout_tenths(&self) -> Option<u8> {
        let tenths = self.termios.cc[VTIME];
        (!self.termios.local(ICANON) && tenths != 0).then_some(tenths)
    }

    /// How many bytes non-canonical mode holds (the VTIME timer restarts
    /// when it grows).
    pub fn received(&self) -> usize {
        self.raw.len()
    }

    /// Output translation (OPOST): ONLCR turns `\n` into `\r\n`, OCRNL `\r`
    /// into `\n`.
    pub fn output(&self, bytes: &[u8]) -> Vec<u8> {
        let post = self.termios.oflag & OPOST != 0;
        let mut out = Vec::with_capacity(bytes.len());
        for &byte in bytes {
            match byte {
                b'\n' if post && self.termios.oflag & ONLCR != 0 => out.extend_from_slice(b"\r\n"),
                b'\r' if post && self.termios.oflag & OCRNL != 0 => out.push(b'\n'),
                _ => out.push(byte),
            }
        }
        out
    }

    /// One byte from the terminal.
    pub fn receive(&mut self, byte: u8) -> Reaction {
        let mut reaction = Reaction::default();
        let Some(byte) = self.translate_input(byte) else {
            return reaction;
        };
        let termios = self.termios;
        if termios.input(IXON) && (termios.is(byte, VSTART) || termios.is(byte, VSTOP)) {
            return reaction;
        }
        if termios.local(ISIG) {
            let signal = [(VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)]
                .into_iter()
                .find(|&(index, _)| termios.is(byte, index));
            if let Some((_, signal)) = signal {
                if !termios.local(NOFLSH) {
                    self.flush_input();
                }
                if termios.local(ECHO) {
                    self.echo_char(byte, &mut reaction.echo);
                }
                reaction.signal = Some(signal);
                reaction.echo = self.output(&reaction.echo);
                return reaction;
            }
        }
        if termios.local(ICANON) {
            self.edit(byte, &mut reaction);
        } else {
            self.raw.push_back(byte);
            if termios.local(ECHO) {
                self.echo_char(byte, &mut reaction.echo);
            }
            reaction.readable = true;
        }
        reaction.echo = self.output(&reaction.echo);
        reaction
    }

    /// ISTRIP-free input translation: IGNCR drops `\r`, ICRNL turns it into
    /// `\n`, INLCR turns `\n` into `\r`.
    fn translate_input(&self, byte: u8) -> Option<u8> {
        let termios = self.termios;
        match byte {
            b'\r' if termios.input(IGNCR) => None,
            b'\r' if termios.input(ICRNL) => Some(b'\n'),
            b'\n' if termios.input(INLCR) => Some(b'\r'),
            _ => Some(byte),
        }
    }

    /// Canonical mode's editing of the current line.
    fn edit(&mut self, byte: u8, reaction: &mut Reaction) {
        let termios = self.termios;
        let echo = termios.local(ECHO);
        if termios.is(byte, VERASE) {
            self.erase(1, &mut reaction.echo);
        } else if termios.is(byte, VWERASE) && termios.local(IEXTEN) {
            let keep = self
                .editing
                .iter()
                .rposition(|b| !b.is_ascii_whitespace())
                .and_then(|last| {
                    self.editing[..last]
                        .iter()
                        .rposition(u8::is_ascii_whitespace)
                })
                .map_or(0, |space| space + 1);
            let count = self.editing.len() - keep;
            self.erase(count, &mut reaction.echo);
        } else if termios.is(byte, VKILL) {
            if echo && termios.local(ECHOKE) && termios.local(ECHOE) {
                self.erase(self.editing.len(), &mut reaction.echo);
            } else {
                if echo {
                    self.echo_char(byte, &mut reaction.echo);
                    if termios.local(ECHOK) {
                        reaction.echo.push(b'\n');
                    }
                }
                self.editing.clear();
                self.echo_widths.clear();
            }
        } else if termios.is(byte, VREPRINT) && termios.local(IEXTEN) {
            if echo {
                self.echo_char(byte, &mut reaction.echo);
                reaction.echo.push(b'\n');
                reaction.echo.extend_from_slice(&self.editing);
            }
        } else if termios.is(byte, VEOF) {
            self.complete_line();
            reaction.readable = true;
        } else if byte == b'\n' || termios.is(byte, VEOL) || termios.is(byte, VEOL2) {
            if echo || (byte == b'\n' && termios.local(ECHONL)) {
                self.echo_char(byte, &mut reaction.echo);
            }
            self.editing.push(byte);
            self.complete_line();
            reaction.readable = true;
        } else if self.editing.len() < MAX_LINE {
            if echo {
                let before = reaction.echo.len();
                self.echo_char(byte, &mut reaction.echo);
                self.echo_widths.push((reaction.echo.len() - before) as u8);
            }
            self.editing.push(byte);
        }
    }

    /// Removes the last `count` characters of the line, rubbing each out on
    /// the screen with ECHOE.
    fn erase(&mut self, count: usize, echo: &mut Vec<u8>) {
        let rub_out = self.termios.local(ECHO) && self.termios.local(ECHOE);
        for _ in 0..count.min(self.editing.len()) {
            self.editing.pop();
            let width = self.echo_widths.pop().unwrap_or(1);
            if rub_out {
                for _ in 0..width {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
        }
    }

    /// A line is complete (newline, EOL, or EOF, which adds nothing).
    fn complete_line(&mut self) {
        self.lines.push_back(core::mem::take(&mut self.editing));
        self.echo_widths.clear();
    }

    /// How a byte looks when echoed: with ECHOCTL, a control character
    /// other than tab and newline as `^X` (DEL as `^?`).
    fn echo_char(&self, byte: u8, echo: &mut Vec<u8>) {
        let control = byte < 0x20 && byte != b'\t' && byte != b'\n' || byte == 0x7f;
        if control && self.termios.local(ECHOCTL) {
            echo.push(b'^');
            echo.push(byte ^ 0x40);
        } else {
            echo.push(byte);
        }
    }
}

#[cfg(test)]
mod tests;

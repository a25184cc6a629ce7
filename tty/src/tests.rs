//! Each rule of the line discipline, after what Linux's n_tty does with the
//! serial console's default settings (`stty -a` on Linux 6.1's ttyS0).

use super::*;
use alloc::vec;

fn console() -> LineDiscipline {
    LineDiscipline::new(Termios::serial_console())
}

/// Feeds `bytes` and returns everything echoed and the signals raised.
fn type_in(tty: &mut LineDiscipline, bytes: &[u8]) -> (Vec<u8>, Vec<u32>) {
    let mut echo = Vec::new();
    let mut signals = Vec::new();
    for &byte in bytes {
        let reaction = tty.receive(byte);
        echo.extend(reaction.echo);
        signals.extend(reaction.signal);
    }
    (echo, signals)
}

#[test]
fn the_struct_round_trips_through_its_bytes_in_the_kernel_layout() {
    let termios = Termios::serial_console();
    let bytes = termios.to_bytes();
    assert_eq!(bytes.len(), 36);
    assert_eq!(&bytes[0..4], &(ICRNL | IXON).to_le_bytes());
    assert_eq!(bytes[17 + VINTR], 3);
    assert_eq!(bytes[17 + VMIN], 1);
    assert_eq!(Termios::from_bytes(&bytes), termios);
}

// n_tty canonical mode: a read waits for a whole line; ICRNL makes the
// terminal's carriage return the newline; the echo is output-translated.
#[test]
fn a_line_is_readable_once_return_is_typed() {
    let mut tty = console();
    let (echo, _) = type_in(&mut tty, b"ls");
    assert_eq!(echo, b"ls");
    assert!(!tty.is_readable());
    assert_eq!(tty.read(100), Read::Wait);
    let (echo, _) = type_in(&mut tty, b"\r");
    assert_eq!(echo, b"\r\n");
    assert_eq!(tty.readable_bytes(), 3);
    assert_eq!(tty.read(100), Read::Data(b"ls\n".to_vec()));
    assert_eq!(tty.read(100), Read::Wait);
}

// A read of fewer bytes than the line leaves the rest for the next read,
// which still stops at the line's end.
#[test]
fn a_short_read_takes_part_of_one_line() {
    let mut tty = console();
    type_in(&mut tty, b"abcdef\rgh\r");
    assert_eq!(tty.read(4), Read::Data(b"abcd".to_vec()));
    assert_eq!(tty.read(100), Read::Data(b"ef\n".to_vec()));
    assert_eq!(tty.read(100), Read::Data(b"gh\n".to_vec()));
}

// VERASE (DEL) removes the last character and, with ECHOE, rubs it out;
// a control character echoed as ^X takes two rub-outs.
#[test]
fn erase_removes_the_last_character_from_line_and_screen() {
    let mut tty = console();
    type_in(&mut tty, b"cat");
    let (echo, _) = type_in(&mut tty, b"\x7f");
    assert_eq!(echo, b"\x08 \x08");
    type_in(&mut tty, b"\x01");
    let (echo, _) = type_in(&mut tty, b"\x7f");
    assert_eq!(echo, b"\x08 \x08\x08 \x08");
    type_in(&mut tty, b"r\r");
    assert_eq!(tty.read(100), Read::Data(b"car\n".to_vec()));
    let (echo, _) = type_in(&mut tty, b"\x7f");
    assert!(echo.is_empty(), "nothing to erase at the start of a line");
}

// VKILL (^U) with ECHOKE erases the whole line on the screen; VWERASE (^W)
// the last word.
#[test]
fn kill_and_word_erase_remove_the_line_and_the_last_word() {
    let mut tty = console();
    type_in(&mut tty, b"echo hello world");
    let (echo, _) = type_in(&mut tty, b"\x17");
    assert_eq!(echo, b"\x08 \x08".repeat(5));
    let (echo, _) = type_in(&mut tty, b"\x15");
    assert_eq!(echo, b"\x08 \x08".repeat(11));
    type_in(&mut tty, b"id\r");
    assert_eq!(tty.read(100), Read::Data(b"id\n".to_vec()));
}

// VEOF (^D) at the start of a line is end of file (read returns 0); after
// some characters it ends the line without a newline.
#[test]
fn end_of_file_at_line_start_and_mid_line() {
    let mut tty = console();
    let (echo, _) = type_in(&mut tty, b"\x04");
    assert!(echo.is_empty());
    assert_eq!(tty.read(100), Read::EndOfFile);
    type_in(&mut tty, b"abc\x04");
    assert_eq!(tty.read(100), Read::Data(b"abc".to_vec()));
}

// ISIG: ^C is SIGINT, ^\ SIGQUIT, ^Z SIGTSTP for the foreground group, echoed
// as ^C with ECHOCTL; the typed line is flushed unless NOFLSH.
#[test]
fn signal_characters_raise_signals_and_flush_the_line() {
    let mut tty = console();
    type_in(&mut tty, b"sleep 100");
    let (echo, signals) = type_in(&mut tty, b"\x03");
    assert_eq!((echo, signals), (b"^C".to_vec(), vec![SIGINT]));
    type_in(&mut tty, b"\r");
    assert_eq!(tty.read(100), Read::Data(b"\n".to_vec()));
    assert_eq!(type_in(&mut tty, b"\x1c\x1a").1, vec![SIGQUIT, SIGTSTP]);

    let mut termios = Termios::serial_console();
    termios.lflag |= NOFLSH;
    tty.set_termios(termios);
    type_in(&mut tty, b"kept\x03\r");
    assert_eq!(tty.read(100), Read::Data(b"kept\n".to_vec()));
    termios.lflag &= !ISIG;
    tty.set_termios(termios);
    type_in(&mut tty, b"\x03\r");
    assert_eq!(tty.read(100), Read::Data(b"\x03\n".to_vec()));
}

// Raw mode (cfmakeraw: no ICANON, ECHO, ISIG, ICRNL, OPOST): every byte is
// readable at once and passes unchanged; VMIN says how many a read waits for.
#[test]
fn raw_mode_passes_bytes_through_and_honours_vmin() {
    let mut tty = console();
    let mut termios = Termios::serial_console();
    termios.lflag &= !(ICANON | ECHO | ISIG | IEXTEN);
    termios.iflag &= !(ICRNL | IXON);
    termios.oflag &= !OPOST;
    termios.cc[VMIN] = 3;
    tty.set_termios(termios);
    let (echo, signals) = type_in(&mut tty, b"\r\x03");
    assert!(echo.is_empty() && signals.is_empty());
    assert_eq!(tty.read(100), Read::Wait);
    type_in(&mut tty, b"q");
    assert_eq!(tty.read(100), Read::Data(b"\r\x03q".to_vec()));
    termios.cc[VMIN] = 0;
    tty.set_termios(termios);
    assert_eq!(tty.read(100), Read::Data(Vec::new()));
    termios.cc[VTIME] = 5;
    tty.set_termios(termios);
    assert_eq!(tty.read(100), Read::Wait, "VTIME: wait for a byte");
    assert_eq!(tty.read_timeout_tenths(), Some(5));
    assert_eq!(tty.take_available(100), Vec::<u8>::new());
    assert_eq!(tty.output(b"a\nb"), b"a\nb");
}

// n_tty_set_termios: leaving canonical mode makes the half-typed line
// readable; returning to it makes unread bytes the start of a line.
#[test]
fn switching_modes_keeps_what_was_typed() {
    let mut tty = console();
    type_in(&mut tty, b"ab");
    let mut raw = Termios::serial_console();
    raw.lflag &= !ICANON;
    tty.set_termios(raw);
    assert_eq!(tty.readable_bytes(), 2);
    tty.set_termios(Termios::serial_console());
    type_in(&mut tty, b"c\r");
    assert_eq!(tty.read(100), Read::Data(b"abc\n".to_vec()));
}

// ONLCR: the program's "\n" reaches the terminal as "\r\n".
#[test]
fn output_turns_newlines_into_carriage_return_newline() {
    let tty = console();
    assert_eq!(tty.output(b"one\ntwo\n"), b"one\r\ntwo\r\n");
}

// TCIFLUSH discards everything not yet read.
#[test]
fn flushing_input_discards_lines_and_the_line_being_typed() {
    let mut tty = console();
    type_in(&mut tty, b"first\rsecond");
    tty.flush_input();
    assert_eq!(tty.readable_bytes(), 0);
    type_in(&mut tty, b"\r");
    assert_eq!(tty.read(100), Read::Data(b"\n".to_vec()));
}

// Canonical lines hold at most MAX_LINE characters; more are dropped, and the
// newline still ends the line.
#[test]
fn a_line_longer_than_the_buffer_is_cut() {
    let mut tty = console();
    let mut termios = Termios::serial_console();
    termios.lflag &= !ECHO;
    tty.set_termios(termios);
    type_in(&mut tty, &[b'x'; MAX_LINE + 10]);
    type_in(&mut tty, b"\r");
    assert_eq!(tty.readable_bytes(), MAX_LINE + 1);
}

// IXON: ^S and ^Q are flow control, not input.
#[test]
fn flow_control_characters_are_not_input() {
    let mut tty = console();
    type_in(&mut tty, b"a\x13\x11b\r");
    assert_eq!(tty.read(100), Read::Data(b"ab\n".to_vec()));
}

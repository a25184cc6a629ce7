//! The COM1 16550 UART: the kernel's console.

use core::fmt;
use spin::Mutex;
use x86_64::instructions::port::Port;

const COM1: u16 = 0x3f8;
/// COM1's line on the PIC.
pub const COM1_IRQ: u8 = 4;
const LINE_STATUS_TRANSMIT_EMPTY: u8 = 1 << 5;
const LINE_STATUS_DATA_READY: u8 = 1 << 0;

pub struct SerialPort {
    base: u16,
}

impl SerialPort {
    fn port(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    fn configure(&mut self) {
        // SAFETY: COM1's registers; 115200 baud, 8N1, FIFOs on, no interrupts.
        unsafe {
            self.port(1).write(0x00);
            self.port(3).write(0x80);
            self.port(0).write(0x01);
            self.port(1).write(0x00);
            self.port(3).write(0x03);
            self.port(2).write(0xc7);
            self.port(4).write(0x03);
        }
    }

    fn line_status(&self) -> u8 {
        // SAFETY: reading the line status register has no side effects.
        unsafe { self.port(5).read() }
    }

    pub fn write_byte(&mut self, byte: u8) {
        while self.line_status() & LINE_STATUS_TRANSMIT_EMPTY == 0 {
            core::hint::spin_loop();
        }
        // SAFETY: the transmit register is empty.
        unsafe { self.port(0).write(byte) };
    }

    /// Whether a received byte is waiting.
    pub fn has_input(&mut self) -> bool {
        self.line_status() & LINE_STATUS_DATA_READY != 0
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.line_status() & LINE_STATUS_DATA_READY == 0 {
            return None;
        }
        // SAFETY: a byte is ready in the receive register.
        Some(unsafe { self.port(0).read() })
    }
}

impl fmt::Write for SerialPort {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

pub static COM1_PORT: Mutex<SerialPort> = Mutex::new(SerialPort { base: COM1 });

pub(crate) fn init() {
    COM1_PORT.lock().configure();
}

/// Writes to the console, with interrupts off so that a handler printing too
/// cannot deadlock on the lock.
pub fn write_fmt(args: fmt::Arguments) {
    crate::cpu::without_interrupts(|| {
        let _ = fmt::Write::write_fmt(&mut *COM1_PORT.lock(), args);
    });
}

/// Writes to the console even if the lock is held: for the panic and fault
/// reports, which may interrupt a holder that will never run again.
pub fn write_fmt_emergency(args: fmt::Arguments) {
    // SAFETY: called only on the way to halting the machine; a torn line is
    // better than a silent hang.
    unsafe { COM1_PORT.force_unlock() };
    write_fmt(args);
}

/// `print!` to the serial console.
#[macro_export]
macro_rules! serial_print {
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!($($arg)*)) };
}

/// `println!` to the serial console.
#[macro_export]
macro_rules! serial_println {
    () => { $crate::serial_print!("\n") };
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for the panic and fault reports: see [`write_fmt_emergency`].
#[macro_export]
macro_rules! emergency_print {
    ($($arg:tt)*) => { $crate::serial::write_fmt_emergency(format_args!($($arg)*)) };
}

/// Writes bytes to the console exactly as given: the terminal's output
/// translation (ONLCR) has been applied by its line discipline.
pub fn write_raw(bytes: &[u8]) {
    crate::cpu::without_interrupts(|| {
        let mut port = COM1_PORT.lock();
        for &byte in bytes {
            port.write_byte(byte);
        }
    });
}

/// Has COM1 raise its interrupt when a byte arrives (IER bit 0; OUT2 gates
/// the UART's interrupt line on a PC).
pub fn enable_receive_interrupt() {
    crate::cpu::without_interrupts(|| {
        let port = COM1_PORT.lock();
        // SAFETY: COM1's modem control and interrupt enable registers.
        unsafe {
            port.port(4).write(0x0b);
            port.port(1).write(0x01);
        }
    });
}

//! The CMOS real-time clock, read once at boot for the wall-clock time.

use x86_64::instructions::port::Port;

const INDEX: u16 = 0x70;
const DATA: u16 = 0x71;
const STATUS_A_UPDATING: u8 = 0x80;
const STATUS_B_BINARY: u8 = 0x04;
const STATUS_B_24_HOUR: u8 = 0x02;

fn read_register(register: u8) -> u8 {
    // SAFETY: CMOS index/data ports; bit 7 of the index keeps NMIs enabled as
    // they are (we leave it clear, as the BIOS does).
    unsafe {
        Port::new(INDEX).write(register);
        Port::new(DATA).read()
    }
}

/// The calendar fields in one consistent reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    second: u8,
    minute: u8,
    hour: u8,
    day: u8,
    month: u8,
    year: u8,
    century: u8,
}

fn read_fields() -> Reading {
    while read_register(0x0a) & STATUS_A_UPDATING != 0 {
        core::hint::spin_loop();
    }
    Reading {
        second: read_register(0x00),
        minute: read_register(0x02),
        hour: read_register(0x04),
        day: read_register(0x07),
        month: read_register(0x08),
        year: read_register(0x09),
        century: read_register(0x32),
    }
}

/// Seconds since the Unix epoch, from the RTC (UTC, as QEMU keeps it).
pub fn unix_time() -> u64 {
    // Read until two readings agree, so an update between fields cannot tear.
    let mut reading = read_fields();
    loop {
        let again = read_fields();
        if again == reading {
            break;
        }
        reading = again;
    }
    let status_b = read_register(0x0b);
    let decode = |value: u8| {
        if status_b & STATUS_B_BINARY != 0 {
            u64::from(value)
        } else {
            u64::from(value & 0x0f) + u64::from(value >> 4) * 10
        }
    };
    let pm = reading.hour & 0x80 != 0;
    let mut hour = decode(reading.hour & 0x7f);
    if status_b & STATUS_B_24_HOUR == 0 {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let century = match decode(reading.century) {
        0 => 20,
        century => century,
    };
    let year = century * 100 + decode(reading.year);
    let days = days_from_civil(year, decode(reading.month), decode(reading.day));
    days * 86_400 + hour * 3600 + decode(reading.minute) * 60 + decode(reading.second)
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

//! The legacy 8259 interrupt controllers, remapped to vectors 32..48.

use x86_64::instructions::port::Port;

pub const IRQ_BASE: u8 = 32;
const MASTER: u16 = 0x20;
const SLAVE: u16 = 0xa0;
const END_OF_INTERRUPT: u8 = 0x20;

fn write(port: u16, value: u8) {
    // SAFETY: the PIC command/data ports; writes only change interrupt routing.
    unsafe { Port::new(port).write(value) };
}

/// Remaps both PICs to `IRQ_BASE..IRQ_BASE + 16` and masks every line.
pub fn init() {
    for (base, offset, wiring) in [(MASTER, IRQ_BASE, 4), (SLAVE, IRQ_BASE + 8, 2)] {
        write(base, 0x11); // ICW1: init, expect ICW4
        write(base + 1, offset); // ICW2: vector offset
        write(base + 1, wiring); // ICW3: slave on IRQ2 / cascade identity
        write(base + 1, 0x01); // ICW4: 8086 mode
        write(base + 1, 0xff); // mask all
    }
}

/// Unmasks one IRQ line (and the cascade for lines on the slave).
pub fn unmask(irq: u8) {
    let (port, bit) = if irq < 8 {
        (MASTER + 1, irq)
    } else {
        (SLAVE + 1, irq - 8)
    };
    // SAFETY: reading the mask register has no side effects.
    let mask: u8 = unsafe { Port::new(port).read() };
    write(port, mask & !(1 << bit));
    if irq >= 8 {
        unmask(2);
    }
}

/// Acknowledges `irq` so that the controller delivers the next one.
pub fn end_of_interrupt(irq: u8) {
    if irq >= 8 {
        write(SLAVE, END_OF_INTERRUPT);
    }
    write(MASTER, END_OF_INTERRUPT);
}

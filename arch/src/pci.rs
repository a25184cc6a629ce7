//! PCI configuration space through the legacy I/O ports (configuration
//! mechanism #1): write an address to 0xCF8, then move a dword through 0xCFC.
//!
//! The two ports form one register pair, so every access holds a lock with
//! interrupts off: an interrupt handler reading configuration space between
//! another access's address and data would redirect it.

use core::fmt;
use spin::Mutex;
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;
const ENABLE: u32 = 1 << 31;

/// One function of one device on one bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PciAddress {
    pub bus: u8,
    /// 0..32.
    pub device: u8,
    /// 0..8.
    pub function: u8,
}

impl PciAddress {
    /// The value for CONFIG_ADDRESS selecting the dword at `offset`.
    fn config_address(self, offset: u8) -> u32 {
        assert!(
            self.device < 32 && self.function < 8,
            "bad PCI address {self}"
        );
        ENABLE
            | u32::from(self.bus) << 16
            | u32::from(self.device) << 11
            | u32::from(self.function) << 8
            | u32::from(offset & 0xfc)
    }
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Serialises the address/data pair; the value is unused.
static CONFIG_PORTS: Mutex<()> = Mutex::new(());

/// Reads the configuration dword at `offset` (rounded down to a multiple of 4).
/// An absent function reads as all ones.
pub fn read_config(address: PciAddress, offset: u8) -> u32 {
    crate::cpu::without_interrupts(|| {
        let _ports = CONFIG_PORTS.lock();
        // SAFETY: the PCI configuration ports; selecting a register and reading
        // it has no side effect on memory the kernel owns.
        unsafe {
            Port::new(CONFIG_ADDRESS).write(address.config_address(offset));
            Port::<u32>::new(CONFIG_DATA).read()
        }
    })
}

/// Writes the configuration dword at `offset` (rounded down to a multiple of 4).
pub fn write_config(address: PciAddress, offset: u8, value: u32) {
    crate::cpu::without_interrupts(|| {
        let _ports = CONFIG_PORTS.lock();
        // SAFETY: the PCI configuration ports. A configuration write can move a
        // BAR or enable bus mastering; the kernel's PCI code owns those
        // decisions, this function only performs the access.
        unsafe {
            Port::new(CONFIG_ADDRESS).write(address.config_address(offset));
            Port::new(CONFIG_DATA).write(value);
        }
    })
}

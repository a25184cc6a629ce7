//! The PCI bus: a scan of every function the firmware left configured, and
//! the configuration access that `virtio-drivers` reads capabilities through.
//!
//! SeaBIOS has already assigned bus numbers, BARs and interrupt lines by the
//! time the kernel runs; the kernel only reads them (and turns on memory
//! decoding and bus mastering for the devices it drives).

use alloc::vec::Vec;
use arch::pci::{PciAddress, read_config, write_config};
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};

const VENDOR_ABSENT: u16 = 0xffff;
const HEADER_MULTI_FUNCTION: u8 = 0x80;
const HEADER_LAYOUT_MASK: u8 = 0x7f;
const HEADER_LAYOUT_BRIDGE: u8 = 0x01;
const COMMAND_OFFSET: u8 = 0x04;
const COMMAND_MEMORY_SPACE: u32 = 1 << 1;
const COMMAND_BUS_MASTER: u32 = 1 << 2;
const COMMAND_INTX_DISABLE: u32 = 1 << 10;
/// Bridge header: primary, secondary and subordinate bus numbers.
const BRIDGE_BUS_NUMBERS_OFFSET: u8 = 0x18;
/// Standard header: interrupt line (byte 0) and pin (byte 1).
const INTERRUPT_OFFSET: u8 = 0x3c;

/// One function found by [`scan`].
#[derive(Clone, Debug)]
pub struct PciFunction {
    pub address: PciAddress,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    /// The legacy (8259) IRQ the firmware routed INTx to; `None` when the
    /// function uses no interrupt pin.
    pub interrupt_line: Option<u8>,
}

impl PciFunction {
    /// Lets the function answer memory BAR accesses and master DMA, with its
    /// INTx interrupt enabled.
    pub fn enable_memory_and_dma(&self) {
        let status_command = read_config(self.address, COMMAND_OFFSET);
        let command = (status_command & 0xffff | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER)
            & !COMMAND_INTX_DISABLE;
        // The status half is write-one-to-clear: write zeros there.
        write_config(self.address, COMMAND_OFFSET, command);
    }

    /// The identifier `virtio-drivers` uses for this function.
    pub fn device_function(&self) -> DeviceFunction {
        DeviceFunction {
            bus: self.address.bus,
            device: self.address.device,
            function: self.address.function,
        }
    }
}

/// Every function on bus 0 and on the buses behind its PCI-to-PCI bridges,
/// each logged at debug level.
pub fn scan() -> Vec<PciFunction> {
    let mut found = Vec::new();
    scan_bus(0, &mut found);
    found
}

fn scan_bus(bus: u8, found: &mut Vec<PciFunction>) {
    for device in 0..32 {
        let first = PciAddress {
            bus,
            device,
            function: 0,
        };
        if vendor_id(first) == VENDOR_ABSENT {
            continue;
        }
        let functions = if header_type(first) & HEADER_MULTI_FUNCTION != 0 {
            8
        } else {
            1
        };
        for function in 0..functions {
            let address = PciAddress {
                bus,
                device,
                function,
            };
            if vendor_id(address) != VENDOR_ABSENT {
                scan_function(address, found);
            }
        }
    }
}

fn scan_function(address: PciAddress, found: &mut Vec<PciFunction>) {
    let id = read_config(address, 0x00);
    let class = read_config(address, 0x08);
    let is_bridge = header_type(address) & HEADER_LAYOUT_MASK == HEADER_LAYOUT_BRIDGE;
    let interrupt = read_config(address, INTERRUPT_OFFSET);
    let (line, pin) = (interrupt as u8, (interrupt >> 8) as u8);
    let function = PciFunction {
        address,
        vendor_id: id as u16,
        device_id: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        interrupt_line: (!is_bridge && pin != 0 && line < 16).then_some(line),
    };
    log::debug!(
        "pci {address}: {:04x}:{:04x} class {:02x}.{:02x}{}{}",
        function.vendor_id,
        function.device_id,
        function.class,
        function.subclass,
        if is_bridge { " bridge" } else { "" },
        match function.interrupt_line {
            Some(irq) => alloc::format!(" irq {irq}"),
            None => alloc::string::String::new(),
        }
    );
    found.push(function);
    if is_bridge {
        let secondary_bus = (read_config(address, BRIDGE_BUS_NUMBERS_OFFSET) >> 8) as u8;
        // Bus 0 behind a bridge means the firmware left it unconfigured.
        if secondary_bus > address.bus {
            scan_bus(secondary_bus, found);
        }
    }
}

fn vendor_id(address: PciAddress) -> u16 {
    read_config(address, 0x00) as u16
}

fn header_type(address: PciAddress) -> u8 {
    (read_config(address, 0x0c) >> 16) as u8
}

/// Configuration space through `arch`'s port access, for `virtio-drivers`.
pub struct PortConfigAccess;

fn pci_address(device_function: DeviceFunction) -> PciAddress {
    PciAddress {
        bus: device_function.bus,
        device: device_function.device,
        function: device_function.function,
    }
}

impl ConfigurationAccess for PortConfigAccess {
    fn read_word(&self, device_function: DeviceFunction, register_offset: u8) -> u32 {
        read_config(pci_address(device_function), register_offset)
    }

    fn write_word(&mut self, device_function: DeviceFunction, register_offset: u8, data: u32) {
        write_config(pci_address(device_function), register_offset, data);
    }

    /// # Safety
    /// Nothing to uphold: every access goes through `arch`'s lock.
    #[allow(unsafe_code)]
    unsafe fn unsafe_clone(&self) -> Self {
        PortConfigAccess
    }
}

crate::kernel_test!(pci_scan_finds_the_host_bridge, {
    let functions = scan();
    let host_bridge = functions
        .iter()
        .find(|function| function.address.bus == 0 && function.address.device == 0)
        .expect("a function at 00:00.0");
    assert_eq!((host_bridge.class, host_bridge.subclass), (0x06, 0x00));
    assert_ne!(host_bridge.vendor_id, VENDOR_ABSENT);
});

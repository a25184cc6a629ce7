//! Trap entry: the IDT, one naked stub per vector, and the saved register
//! frame handed to the kernel's handler.
//!
//! Every stub pushes a uniform frame (a zero where the CPU pushes no error
//! code, then the vector number) and jumps to one common path that saves the
//! general registers and calls the handler installed with [`set_handler`].
//! The IDT is hand-built rather than `x86_64`'s typed table so that every one of
//! the 32 exception vectors, reserved ones included, gets an entry.

use crate::gdt;
use core::arch::naked_asm;
use core::fmt;
use core::sync::atomic::{AtomicPtr, Ordering};
use spin::Once;
use x86_64::VirtAddr;
use x86_64::instructions::tables::lidt;
use x86_64::structures::DescriptorTablePointer;

/// Vectors with a stub: the 32 exceptions and the 16 legacy IRQs.
pub const STUB_COUNT: usize = 48;

pub const PAGE_FAULT: u64 = 14;
pub const DOUBLE_FAULT: u64 = 8;

/// The registers saved on trap entry, in stack order.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// The RFLAGS bits user code may change (Linux's `FIX_EFLAGS`: the
/// arithmetic flags, TF, DF, OF, AC, ID and RF); IF is always set in ring 3
/// and IOPL always 0.
pub const USER_CHANGEABLE_FLAGS: u64 = 0x0025_4dd5;
/// RFLAGS.IF, and bit 1, which always reads as 1.
const USER_REQUIRED_FLAGS: u64 = 0x202;

impl TrapFrame {
    /// The registers a program starts with: `rip` and `rsp`, interrupts
    /// enabled, every general register zero.
    pub fn new_user(rip: u64, rsp: u64) -> TrapFrame {
        TrapFrame {
            r15: 0,
            r14: 0,
            r13: 0,
            r12: 0,
            r11: 0,
            r10: 0,
            r9: 0,
            r8: 0,
            rbp: 0,
            rdi: 0,
            rsi: 0,
            rdx: 0,
            rcx: 0,
            rbx: 0,
            rax: 0,
            vector: 0,
            error_code: 0,
            rip,
            cs: u64::from(gdt::USER_CODE.0),
            rflags: USER_REQUIRED_FLAGS,
            rsp,
            ss: u64::from(gdt::USER_DATA.0),
        }
    }

    /// Whether the trap interrupted ring 3.
    pub fn from_user(&self) -> bool {
        self.cs & 3 == 3
    }

    /// Sets RFLAGS from a value user space supplied: only the bits user
    /// code may change are taken, so ring 3 keeps IF set and IOPL 0.
    pub fn set_user_flags(&mut self, rflags: u64) {
        self.rflags = (self.rflags & !USER_CHANGEABLE_FLAGS)
            | (rflags & USER_CHANGEABLE_FLAGS)
            | USER_REQUIRED_FLAGS;
    }
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  RIP={:#018x} RSP={:#018x} RFLAGS={:#010x} CS={:#x} SS={:#x}",
            self.rip, self.rsp, self.rflags, self.cs, self.ss
        )?;
        let registers = [
            ("RAX", self.rax),
            ("RBX", self.rbx),
            ("RCX", self.rcx),
            ("RDX", self.rdx),
            ("RSI", self.rsi),
            ("RDI", self.rdi),
            ("RBP", self.rbp),
            ("R8 ", self.r8),
            ("R9 ", self.r9),
            ("R10", self.r10),
            ("R11", self.r11),
            ("R12", self.r12),
            ("R13", self.r13),
            ("R14", self.r14),
            ("R15", self.r15),
        ];
        for row in registers.chunks(4) {
            write!(f, " ")?;
            for (name, value) in row {
                write!(f, " {name}={value:#018x}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Name and mnemonic of an exception vector.
pub fn vector_name(vector: u64) -> (&'static str, &'static str) {
    match vector {
        0 => ("divide error", "#DE"),
        1 => ("debug", "#DB"),
        2 => ("non-maskable interrupt", "NMI"),
        3 => ("breakpoint", "#BP"),
        4 => ("overflow", "#OF"),
        5 => ("bound range exceeded", "#BR"),
        6 => ("invalid opcode", "#UD"),
        7 => ("device not available", "#NM"),
        8 => ("double fault", "#DF"),
        9 => ("coprocessor segment overrun", "#CSO"),
        10 => ("invalid TSS", "#TS"),
        11 => ("segment not present", "#NP"),
        12 => ("stack-segment fault", "#SS"),
        13 => ("general protection fault", "#GP"),
        14 => ("page fault", "#PF"),
        16 => ("x87 floating-point error", "#MF"),
        17 => ("alignment check", "#AC"),
        18 => ("machine check", "#MC"),
        19 => ("SIMD floating-point error", "#XM"),
        20 => ("virtualization exception", "#VE"),
        21 => ("control protection", "#CP"),
        28 => ("hypervisor injection", "#HV"),
        29 => ("VMM communication", "#VC"),
        30 => ("security exception", "#SX"),
        15 | 22..=27 | 31 => ("reserved exception", "#RES"),
        _ => ("interrupt", "IRQ"),
    }
}

/// The kernel's trap handler.
pub type Handler = fn(&mut TrapFrame);

static HANDLER: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Installs the function every trap is handed to.
pub fn set_handler(handler: Handler) {
    HANDLER.store(handler as *mut (), Ordering::Release);
}

extern "C" fn dispatch(frame: &mut TrapFrame) {
    let handler = HANDLER.load(Ordering::Acquire);
    if handler.is_null() {
        crate::serial::write_fmt_emergency(format_args!(
            "trap {} before a handler was installed\n{frame}",
            frame.vector
        ));
        crate::qemu::exit(crate::qemu::ExitCode::Failure);
    }
    // SAFETY: the pointer was stored from a `Handler` by `set_handler`.
    let handler: Handler = unsafe { core::mem::transmute(handler) };
    handler(frame);
}

/// Pushes the general registers in [`TrapFrame`] order (r15 ends lowest).
macro_rules! push_general_registers {
    () => {
        "push rax\npush rbx\npush rcx\npush rdx\npush rsi\npush rdi\npush rbp\npush r8\npush r9\npush r10\npush r11\npush r12\npush r13\npush r14\npush r15"
    };
}
pub(crate) use push_general_registers;

/// Pops what [`push_general_registers`] pushed.
macro_rules! pop_general_registers {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop r11\npop r10\npop r9\npop r8\npop rbp\npop rdi\npop rsi\npop rdx\npop rcx\npop rbx\npop rax"
    };
}
pub(crate) use pop_general_registers;

#[unsafe(naked)]
unsafe extern "C" fn trap_common() {
    naked_asm!(
        // From ring 3 (CS, above vector, error code and RIP, has RPL 3): swap
        // the user's GS base for the kernel's, and back on the way out.
        "test qword ptr [rsp + 24], 3",
        "jz 1f",
        "swapgs",
        "1:",
        push_general_registers!(),
        // 22 quadwords are now on the stack above a 16-byte boundary set by the
        // CPU, so rsp is aligned for the call.
        "mov rdi, rsp",
        "cld",
        "call {dispatch}",
        // The handler may have enabled interrupts; the way out must not be
        // interrupted between swapgs and iretq (iretq restores RFLAGS).
        "cli",
        pop_general_registers!(),
        "test qword ptr [rsp + 24], 3",
        "jz 2f",
        "swapgs",
        "2:",
        "add rsp, 16",
        "iretq",
        dispatch = sym dispatch,
    )
}

/// Vectors for which the CPU pushes an error code.
const fn pushes_error_code(vector: usize) -> bool {
    matches!(vector, 8 | 10..=14 | 17 | 21 | 29 | 30)
}

macro_rules! trap_stubs {
    ($($vector:literal)*) => {
        [$({
            #[unsafe(naked)]
            unsafe extern "C" fn stub() {
                naked_asm!(
                    ".if {cpu_pushed_error_code} == 0",
                    "push 0",
                    ".endif",
                    "push {vector}",
                    "jmp {common}",
                    cpu_pushed_error_code = const pushes_error_code($vector) as u8,
                    vector = const $vector,
                    common = sym trap_common,
                )
            }
            stub as unsafe extern "C" fn()
        },)*]
    };
}

static STUBS: [unsafe extern "C" fn(); STUB_COUNT] = trap_stubs!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
);

/// One 16-byte interrupt-gate descriptor.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct Gate([u32; 4]);

impl Gate {
    const ABSENT: Gate = Gate([0; 4]);

    fn interrupt(handler: u64, ist: u16) -> Gate {
        let selector = u32::from(gdt::KERNEL_CODE.0);
        let present_ring0_interrupt_gate = 0x8e00;
        Gate([
            (handler as u32 & 0xffff) | selector << 16,
            (handler as u32 & 0xffff_0000) | present_ring0_interrupt_gate | u32::from(ist),
            (handler >> 32) as u32,
            0,
        ])
    }
}

static IDT: Once<[Gate; 256]> = Once::new();

/// Builds and loads the IDT: every stub vector gets an interrupt gate; #DF,
/// NMI and #MC run on their own interrupt stacks.
pub fn init() {
    let idt = IDT.call_once(|| {
        let mut idt = [Gate::ABSENT; 256];
        for (vector, stub) in STUBS.iter().enumerate() {
            let ist = match vector as u64 {
                DOUBLE_FAULT => gdt::DOUBLE_FAULT_IST,
                2 => gdt::NMI_IST,
                18 => gdt::MACHINE_CHECK_IST,
                _ => 0,
            };
            idt[vector] = Gate::interrupt(*stub as usize as u64, ist);
        }
        idt
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of_val(idt) - 1) as u16,
        base: VirtAddr::from_ptr(idt.as_ptr()),
    };
    // SAFETY: the table is static and every present gate points at a stub.
    unsafe { lidt(&pointer) };
}

/// The faulting linear address of the last page fault.
pub fn page_fault_address() -> u64 {
    x86_64::registers::control::Cr2::read_raw()
}

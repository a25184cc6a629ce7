//! The runtime: the `_start` entry point, the arguments it finds on the
//! initial stack, the panic handler and the `mem*` functions that compiled
//! Rust code calls. Without a libc, these are ours to provide.
//!
//! The process starts at `_start` with the stack the kernel built:
//!
//! ```text
//! rsp -> argc
//!        argv[0] .. argv[argc - 1], NULL
//!        envp[0] .. , NULL
//!        auxv pairs ...
//! ```

use core::ffi::{CStr, c_char};

/// The command-line arguments and environment from the initial stack.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
}

impl Args {
    /// Reads argc, argv and envp from the initial stack.
    ///
    /// # Safety
    /// `stack` must point to a stack laid out as above, which stays unchanged
    /// for as long as the `Args` and the strings it gives out are used.
    pub unsafe fn from_stack(stack: *const usize) -> Args {
        // SAFETY: the caller guarantees the layout: argc, then argv with its NULL.
        unsafe {
            let argc = *stack;
            let argv = stack.add(1).cast::<*const c_char>();
            Args {
                argc,
                argv,
                envp: argv.add(argc + 1),
            }
        }
    }

    /// argc: the number of arguments, the program's name included.
    pub fn len(&self) -> usize {
        self.argc
    }

    /// Whether there are no arguments at all (not even the program's name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// argv[index], if there is one.
    pub fn get(&self, index: usize) -> Option<&CStr> {
        // SAFETY: `from_stack`'s caller guarantees argv[0..argc] are valid C strings.
        (index < self.argc).then(|| unsafe { CStr::from_ptr(*self.argv.add(index)) })
    }

    /// The environment strings, `NAME=value`.
    pub fn env(&self) -> impl Iterator<Item = &CStr> {
        // SAFETY: `from_stack`'s caller guarantees envp is a NULL-terminated list of C strings.
        (0..)
            .map(|index| unsafe { *self.envp.add(index) })
            .take_while(|entry| !entry.is_null())
            .map(|entry| unsafe { CStr::from_ptr(entry) })
    }
}

/// Runs `main` with the arguments on `stack` and exits with its status.
///
/// # Safety
/// `stack` must be the initial stack pointer the kernel gave `_start`.
pub unsafe fn start(stack: *const usize, main: fn(Args) -> i32) -> ! {
    // SAFETY: passed on from the caller.
    let args = unsafe { Args::from_stack(stack) };
    crate::sys::exit_group(main(args))
}

/// Defines the program's `_start`, which calls `main(args: Args) -> i32` and
/// exits with the status it returns.
///
/// ```ignore
/// userlib::entry!(main);
/// fn main(args: userlib::rt::Args) -> i32 { 0 }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        // Clear the frame pointer (the end of backtraces), pass the initial stack
        // pointer, and align the stack to 16 bytes for the call as the ABI wants.
        core::arch::global_asm!(
            ".globl _start",
            "_start:",
            "xor ebp, ebp",
            "mov rdi, rsp",
            "and rsp, -16",
            "call {start}",
            "ud2",
            start = sym __userlib_start,
        );

        extern "C" fn __userlib_start(stack: *const usize) -> ! {
            // SAFETY: `_start` passes the stack pointer the kernel started it with.
            unsafe { $crate::rt::start(stack, $main) }
        }
    };
}

/// Prints the panic to standard error and exits with status 127.
#[cfg(all(target_env = "musl", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;

    struct Stderr;
    impl Write for Stderr {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            crate::io::write_all(2, text.as_bytes()).map_err(|_| core::fmt::Error)
        }
    }
    let _ = writeln!(Stderr, "panic: {info}");
    crate::sys::exit_group(127)
}

/// Named by the unwind tables of the prebuilt `core`, which is compiled for
/// unwinding; with `panic=abort` nothing unwinds, so this is never called. A
/// debug build does not link without it.
#[cfg(all(target_env = "musl", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

/// The memory functions the compiler emits calls to. No libc provides them here.
/// Copies use `rep movsb`/`rep stosb` (and strlen `repne scasb`), so that the compiler cannot turn them
/// back into calls to themselves.
#[cfg(all(target_env = "musl", not(test)))]
mod mem {
    use core::arch::asm;

    /// # Safety
    /// As C's memcpy: valid, non-overlapping ranges of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        // SAFETY: the caller guarantees both ranges; the direction flag is clear (ABI).
        unsafe {
            asm!("rep movsb", inout("rdi") dest => _, inout("rsi") src => _,
                 inout("rcx") n => _, options(nostack, preserves_flags));
        }
        dest
    }

    /// # Safety
    /// As C's memmove: valid ranges of `n` bytes, which may overlap.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
        if (dest as usize).wrapping_sub(src as usize) >= n {
            // SAFETY: dest does not start inside src's range, so a forward copy is right.
            return unsafe { memcpy(dest, src, n) };
        }
        // SAFETY: copy backwards from the last byte; the direction flag is restored.
        unsafe {
            asm!("std", "rep movsb", "cld",
                 inout("rdi") dest.add(n - 1) => _, inout("rsi") src.add(n - 1) => _,
                 inout("rcx") n => _, options(nostack));
        }
        dest
    }

    /// # Safety
    /// As C's memset: a valid range of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memset(dest: *mut u8, byte: i32, n: usize) -> *mut u8 {
        // SAFETY: the caller guarantees the range; the direction flag is clear (ABI).
        unsafe {
            asm!("rep stosb", inout("rdi") dest => _, inout("rcx") n => _,
                 in("al") byte as u8, options(nostack, preserves_flags));
        }
        dest
    }

    /// # Safety
    /// As C's memcmp: valid ranges of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: the caller guarantees both ranges.
            let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    /// # Safety
    /// As C's strlen: a valid NUL-terminated string.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
        let remaining: usize;
        // SAFETY: the caller guarantees a NUL within the string; `repne scasb`
        // counts rcx down once per byte up to and including it.
        unsafe {
            asm!("repne scasb", inout("rdi") s => _, inout("rcx") usize::MAX => remaining,
                 in("al") 0u8, options(nostack, readonly));
        }
        !remaining - 1
    }

    /// # Safety
    /// As C's bcmp: valid ranges of `n` bytes.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        // SAFETY: passed on from the caller.
        unsafe { memcmp(a, b, n) }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    #[test]
    fn args_come_from_the_initial_stack_layout() {
        let (name, one, path) = (c"prog", c"one", c"PATH=/bin");
        let stack: [usize; 6] = [
            2,
            name.as_ptr() as usize,
            one.as_ptr() as usize,
            0,
            path.as_ptr() as usize,
            0,
        ];
        // SAFETY: `stack` has the kernel's layout and outlives `args`.
        let args = unsafe { Args::from_stack(stack.as_ptr()) };
        assert_eq!(args.len(), 2);
        assert_eq!(args.get(0), Some(c"prog"));
        assert_eq!(args.get(1), Some(c"one"));
        assert_eq!(args.get(2), None);
        assert!(args.env().eq([c"PATH=/bin"]));
    }
}

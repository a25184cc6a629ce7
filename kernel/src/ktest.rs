//! In-kernel tests, run inside QEMU when the command line says `test`.
//!
//! A test is a function declared with [`kernel_test!`](crate::kernel_test);
//! the macro places a descriptor in the `.kernel_tests` link section, and the
//! linker script brackets that section with symbols, so the registry needs no
//! list kept by hand. A failing test panics; the panic handler then reports the
//! test as failed and prints the summary line before exiting QEMU.
// The test registry is read from a linker section as a slice.
#![allow(unsafe_code)]

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// One registered test.
#[repr(C)]
pub struct KernelTest {
    pub name: &'static str,
    pub run: fn(),
}

/// Declares an in-kernel test: `kernel_test!(name, { body });`.
#[macro_export]
macro_rules! kernel_test {
    ($name:ident, $body:block) => {
        const _: () = {
            fn $name() $body
            #[used]
            // The linker gathers the tests from this section (see
            // `registry`); naming it is the only unsafe part.
            #[allow(unsafe_code)]
            #[unsafe(link_section = ".kernel_tests")]
            static TEST: $crate::ktest::KernelTest = $crate::ktest::KernelTest {
                name: concat!(module_path!(), "::", stringify!($name)),
                run: $name,
            };
        };
    };
}

unsafe extern "C" {
    static __kernel_tests_start: u8;
    static __kernel_tests_end: u8;
}

fn registry() -> &'static [KernelTest] {
    let start = (&raw const __kernel_tests_start).cast::<KernelTest>();
    let end = (&raw const __kernel_tests_end).cast::<KernelTest>();
    // SAFETY: the linker script places only `KernelTest` statics (via the macro)
    // between these two symbols, contiguously and aligned.
    unsafe { core::slice::from_raw_parts(start, end.offset_from(start) as usize) }
}

static PASSED: AtomicUsize = AtomicUsize::new(0);
static RUNNING: AtomicPtr<KernelTest> = AtomicPtr::new(core::ptr::null_mut());

/// Whether `filter` selects `name`: a comma-separated list of words, each
/// `NAME` (tests whose name contains it) or `-NAME` (none of those). A name
/// is selected when no inclusion word is given or one matches, and no
/// exclusion word matches.
fn selects(filter: &str, name: &str) -> bool {
    let words = || filter.split(',').filter(|word| !word.is_empty());
    let mut includes = words().filter(|word| !word.starts_with('-')).peekable();
    let included = includes.peek().is_none() || includes.any(|word| name.contains(word));
    let excluded = words()
        .filter_map(|word| word.strip_prefix('-'))
        .any(|word| name.contains(word));
    included && !excluded
}

/// Runs every test that `filter` selects (see [`selects`]) and exits QEMU.
pub fn run_all(filter: &str) -> ! {
    let selected = registry().iter().filter(|test| selects(filter, test.name));
    let count = selected.clone().count();
    crate::println!("running {count} kernel tests");
    if count == 0 {
        crate::println!("no kernel test matches {filter:?}");
        arch::qemu::exit(arch::qemu::ExitCode::Failure);
    }
    for test in selected {
        RUNNING.store(
            test as *const KernelTest as *mut KernelTest,
            Ordering::Release,
        );
        (test.run)();
        RUNNING.store(core::ptr::null_mut(), Ordering::Release);
        PASSED.fetch_add(1, Ordering::Relaxed);
        crate::println!("test {} ... ok", test.name);
    }
    crate::println!("{} passed, 0 failed", PASSED.load(Ordering::Relaxed));
    arch::qemu::exit(arch::qemu::ExitCode::Success)
}

/// Called on the way down from a panic or fault: if a test was running, it
/// failed.
pub fn report_failure_if_testing() {
    let running = RUNNING.load(Ordering::Acquire);
    if running.is_null() {
        return;
    }
    // SAFETY: only ever set to a test in the static registry.
    let test = unsafe { &*running };
    arch::serial::write_fmt_emergency(format_args!(
        "test {} ... FAILED\n{} passed, 1 failed\n",
        test.name,
        PASSED.load(Ordering::Relaxed)
    ));
}

//! The checks `smoke` runs, and its entry point.

use abi::Errno;
use abi::mman::{MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_SYNC, PROT_READ, PROT_WRITE};
use userlib::check::{Report, Why, expect};
use userlib::rt::Args;
use userlib::sys::{self, SysError, Utsname};
use userlib::{entry, println};

entry!(main);

const PAGE: usize = 4096;

fn main(args: Args) -> i32 {
    let name = args
        .get(0)
        .and_then(|name| name.to_str().ok())
        .unwrap_or("smoke");
    println!(
        "{name}: no_std Rust user program, {} argument(s)",
        args.len()
    );
    let mut report = Report::default();
    report.case("uname_says_linux", "uname(2)", uname_says_linux());
    report.case("getpid_is_positive", "getpid(2)", getpid_is_positive());
    report.case("write_to_stdout", "write(2)", write_to_stdout());
    report.case(
        "anonymous_mmap_write_read",
        "mmap(2) MAP_ANONYMOUS",
        anonymous_mmap_write_read(),
    );
    report.case(
        "msync_of_anonymous_mapping_returns_0",
        "Linux behaviour: msync on anonymous memory returns 0",
        msync_of_anonymous_mapping_returns_0(),
    );
    report.case(
        "msync_unknown_flag_bit_is_einval",
        "msync(2): \"EINVAL ... any bit other than MS_ASYNC | MS_INVALIDATE | MS_SYNC is set\"",
        msync_unknown_flag_bit_is_einval(),
    );
    report.summary()
}

fn uname_says_linux() -> Result<(), Why> {
    let name = sys::uname().map_err(|error| expect("uname", Ok(()), Err(error)).unwrap_err())?;
    expect("sysname", &b"Linux"[..], Utsname::text(&name.sysname))?;
    expect("machine", &b"x86_64"[..], Utsname::text(&name.machine))
}

fn getpid_is_positive() -> Result<(), Why> {
    expect("getpid() > 0", true, sys::getpid() > 0)
}

fn write_to_stdout() -> Result<(), Why> {
    let line = b"  (a line written with write(1, ...))\n";
    expect("write", Ok(line.len()), sys::write(1, line))
}

/// Maps `pages` read-write anonymous pages (`MAP_PRIVATE` or `MAP_SHARED`).
fn map_anonymous(pages: usize, sharing: u64) -> Result<&'static mut [u8], Why> {
    // SAFETY: a mapping without MAP_FIXED replaces no memory.
    let addr = unsafe {
        sys::mmap(
            0,
            pages * PAGE,
            PROT_READ | PROT_WRITE,
            sharing | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    let addr = addr.map_err(|error| expect("mmap", Ok(()), Err(error)).unwrap_err())?;
    // SAFETY: the fresh mapping is ours and never unmapped while the slice lives.
    Ok(unsafe { core::slice::from_raw_parts_mut(addr, pages * PAGE) })
}

fn anonymous_mmap_write_read() -> Result<(), Why> {
    let memory = map_anonymous(3, MAP_PRIVATE)?;
    expect("fresh memory is zero", true, memory.iter().all(|&b| b == 0))?;
    for (i, byte) in memory.iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    let wrong = memory
        .iter()
        .enumerate()
        .position(|(i, &b)| b != (i % 251) as u8);
    expect("first byte that reads back wrong", None, wrong)
}

fn msync_of_anonymous_mapping_returns_0() -> Result<(), Why> {
    let private = map_anonymous(2, MAP_PRIVATE)?;
    let shared = map_anonymous(2, MAP_SHARED)?;
    shared.fill(7);
    let len = 2 * PAGE;
    expect(
        "msync(private, MS_SYNC)",
        Ok(()),
        sys::msync(private.as_mut_ptr(), len, MS_SYNC),
    )?;
    expect(
        "msync(shared, MS_SYNC)",
        Ok(()),
        sys::msync(shared.as_mut_ptr(), len, MS_SYNC),
    )?;
    expect(
        "msync(shared, MS_ASYNC)",
        Ok(()),
        sys::msync(shared.as_mut_ptr(), len, MS_ASYNC),
    )
}

fn msync_unknown_flag_bit_is_einval() -> Result<(), Why> {
    let memory = map_anonymous(1, MAP_PRIVATE)?;
    let einval: Result<(), SysError> = Err(Errno::EINVAL.into());
    expect(
        "msync(flags=8)",
        einval,
        sys::msync(memory.as_mut_ptr(), PAGE, 8),
    )?;
    expect(
        "msync(MS_SYNC|8)",
        einval,
        sys::msync(memory.as_mut_ptr(), PAGE, MS_SYNC | 8),
    )
}

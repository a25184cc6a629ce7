//! `smoke`: a `no_std` Rust program on `userlib`, with no libc at all. It
//! checks a few system calls and prints `N passed, N failed`; the exit status
//! is 0 only if none failed.
//!
//! The program exists only for `--target x86_64-unknown-linux-musl` (built
//! without libc by `.cargo/config.toml`). On the host, where `cargo test
//! --workspace` and `cargo clippy --workspace` also compile this crate, it is
//! a stub that says how to build it.
#![cfg_attr(target_env = "musl", no_std, no_main)]

#[cfg(target_env = "musl")]
mod checks;

#[cfg(not(target_env = "musl"))]
fn main() {
    eprintln!(
        "smoke runs only as a static program: cargo build --target x86_64-unknown-linux-musl -p smoke"
    );
    std::process::exit(2);
}

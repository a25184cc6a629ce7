# The two commands a new user needs: `make run` and `make test`.
# Both install what is missing first (see scripts/deps.sh).

export PATH := $(PATH):/usr/sbin:/sbin

KERNEL_TARGET := x86_64-unknown-none
MEM ?= 1G
APPEND ?=
INIT ?=
ROOTFS ?=
ARGS ?=
DISK ?=
TIMEOUT ?= 60
LINUX_TIMEOUT ?= 120
RUNNER := cargo run --quiet -p qemu-tests --

.PHONY: all deps build run test gdb lint bench-mm clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cargo build --release -p kernel --target $(KERNEL_TARGET)

## Boot the kernel in QEMU (TCG; ACCEL=kvm to opt in to KVM) and show its console.
run: deps
	@$(RUNNER) run --mem $(MEM) --append "$(APPEND)" --timeout $(TIMEOUT) \
		--init "$(INIT)" --rootfs "$(ROOTFS)" --args "$(ARGS)" --disk "$(DISK)"

## Host tests of every crate, then the QEMU boots; ends with `total: N passed, N failed`.
test: deps
	@$(RUNNER) test

## Boot Debian's Linux 6.1 instead of our kernel, with make run's options and
## root image (docs/linux-comparison.md); exits with init's status.
linux-run: deps
	@$(RUNNER) linux-run --mem $(MEM) --append "$(APPEND)" --timeout $(LINUX_TIMEOUT) \
		--init "$(INIT)" --rootfs "$(ROOTFS)" --args "$(ARGS)" --disk "$(DISK)"

## The user-program cases booted on Linux; ends with `total: N passed, N failed`.
linux-test: deps
	@$(RUNNER) linux-test

## make test, then make linux-test.
test-all: test linux-test

## The msync benchmark on our kernel and on Linux, side by side (prints figures).
bench: deps
	@$(RUNNER) bench

## The coursework (docs/course/README.md): a branch with lab NN's work taken
## out, the graded tests with a score, and CI's check of every lab.
LAB ?=
lab: deps
	@$(RUNNER) lab "$(LAB)"

grade: deps
	@$(RUNNER) grade $(LAB)

labs-check: deps
	@$(RUNNER) labs-check

.PHONY: linux-run linux-test test-all bench lab grade labs-check

## Start QEMU halted, waiting for gdb on localhost:1234.
gdb: deps
	@$(RUNNER) gdb --mem $(MEM) --append "$(APPEND)" \
		--init "$(INIT)" --rootfs "$(ROOTFS)" --args "$(ARGS)" --disk "$(DISK)"

## rustfmt and clippy, for the host crates and for the kernel target.
lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --exclude kernel --exclude arch --all-targets -- -D warnings
	cargo clippy -p arch -p kernel --target $(KERNEL_TARGET) -- -D warnings

## Figures for mm's dirty scan, VMA lookup and page-cache bookkeeping (not a timed test).
bench-mm: deps
	cargo run --release -p mm --example bench_mm

clean:
	cargo clean
	rm -rf build

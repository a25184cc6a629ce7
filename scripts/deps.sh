#!/usr/bin/env bash
# Installs what building and testing the kernel needs, and nothing that is
# already there: the pinned Rust toolchain with its x86_64-unknown-none target
# (from rust-toolchain.toml), and QEMU, e2fsprogs, musl and binutils from apt;
# kmod and xz-utils for the Linux comparison (modinfo, the kernel's xz).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-none \
    || ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "deps: installing the Rust toolchain pinned in rust-toolchain.toml"
    rustup toolchain install
fi

# command -> Debian package that provides it
declare -A packages=(
    [qemu-system-x86_64]=qemu-system-x86
    [mke2fs]=e2fsprogs
    [debugfs]=e2fsprogs
    [e2fsck]=e2fsprogs
    [musl-gcc]=musl-tools
    [addr2line]=binutils
    [modinfo]=kmod
    [xz]=xz-utils
)
missing=()
for command in "${!packages[@]}"; do
    if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1; then
        missing+=("${packages[$command]}")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "deps: installing ${missing[*]} with apt-get"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

//! Process creation and reaping on Linux x86_64: `clone` flags, `wait4` /
//! `waitid` options and id types, and `arch_prctl` codes.

/// The low byte of clone's flags: the signal sent to the parent at exit.
pub const CSIGNAL: u64 = 0xff;
pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_FS: u64 = 0x0000_0200;
pub const CLONE_FILES: u64 = 0x0000_0400;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_PIDFD: u64 = 0x0000_1000;
pub const CLONE_PTRACE: u64 = 0x0000_2000;
pub const CLONE_VFORK: u64 = 0x0000_4000;
pub const CLONE_PARENT: u64 = 0x0000_8000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_NEWNS: u64 = 0x0002_0000;
pub const CLONE_SYSVSEM: u64 = 0x0004_0000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
pub const CLONE_DETACHED: u64 = 0x0040_0000;
pub const CLONE_UNTRACED: u64 = 0x0080_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;

/// `wait4` / `waitid` options.
pub const WNOHANG: u64 = 0x0000_0001;
pub const WUNTRACED: u64 = 0x0000_0002;
pub const WSTOPPED: u64 = WUNTRACED;
pub const WEXITED: u64 = 0x0000_0004;
pub const WCONTINUED: u64 = 0x0000_0008;
pub const WNOWAIT: u64 = 0x0100_0000;
pub const WNOTHREAD: u64 = 0x2000_0000;
pub const WALL: u64 = 0x4000_0000;
pub const WCLONE: u64 = 0x8000_0000;

/// `waitid` id types.
pub const P_ALL: u64 = 0;
pub const P_PID: u64 = 1;
pub const P_PGID: u64 = 2;
pub const P_PIDFD: u64 = 3;

/// `arch_prctl` codes.
pub const ARCH_SET_GS: u64 = 0x1001;
pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;

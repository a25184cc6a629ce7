//! Resource limits (getrlimit, setrlimit, prlimit64): a soft and a hard
//! limit per resource, inherited by fork and kept by exec.
//!
//! A process starts with what Linux 6.1 gives init (`INIT_RLIMITS`,
//! include/asm-generic/resource.h, and `fork_init` for the two it computes
//! from the memory size), so a program sees the limits a root process sees
//! on Linux. Two are enforced: RLIMIT_NOFILE bounds descriptor numbers
//! (EMFILE), and RLIMIT_STACK bounds the stack's growth and exec's room for
//! arguments. The others are only reported.

use abi::Errno;
use abi::resource::*;

/// One resource's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub soft: u64,
    pub hard: u64,
}

/// Every resource's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceLimits([Limit; RLIM_NLIMITS]);

/// Linux's `_STK_LIM`: the default stack limit, 8 MiB.
const STACK_LIMIT: u64 = 8 << 20;
/// Linux's `MLOCK_LIMIT` (since 5.16): 8 MiB.
const MEMLOCK_LIMIT: u64 = 8 << 20;
/// Linux's `INR_OPEN_CUR` and `INR_OPEN_MAX`.
const NOFILE_SOFT: u64 = 1024;
const NOFILE_HARD: u64 = 4096;
/// Linux's `MQ_BYTES_MAX`.
const MSGQUEUE_BYTES: u64 = 819_200;
/// The highest RLIMIT_NOFILE hard limit (Linux's default `fs.nr_open`).
const NR_OPEN: u64 = 1 << 20;
/// Linux's `fork_init` allows one thread per 8 kernel stacks (16 KiB
/// each) of memory, at least `MIN_THREADS` (20); RLIMIT_NPROC and
/// RLIMIT_SIGPENDING are half that.
const MEMORY_PER_THREAD: u64 = 16 * 1024 * 8;
const MIN_THREADS: u64 = 20;

impl ResourceLimits {
    /// The limits init starts with on Linux 6.1, for a machine with
    /// `memory_bytes` of usable memory.
    pub fn boot_defaults(memory_bytes: u64) -> ResourceLimits {
        let unlimited = Limit {
            soft: RLIM_INFINITY,
            hard: RLIM_INFINITY,
        };
        let both = |value: u64| Limit {
            soft: value,
            hard: value,
        };
        let processes = both((memory_bytes / MEMORY_PER_THREAD).max(MIN_THREADS) / 2);
        let mut limits = [unlimited; RLIM_NLIMITS];
        limits[RLIMIT_STACK] = Limit {
            soft: STACK_LIMIT,
            hard: RLIM_INFINITY,
        };
        limits[RLIMIT_CORE] = Limit {
            soft: 0,
            hard: RLIM_INFINITY,
        };
        limits[RLIMIT_NPROC] = processes;
        limits[RLIMIT_NOFILE] = Limit {
            soft: NOFILE_SOFT,
            hard: NOFILE_HARD,
        };
        limits[RLIMIT_MEMLOCK] = both(MEMLOCK_LIMIT);
        limits[RLIMIT_SIGPENDING] = processes;
        limits[RLIMIT_MSGQUEUE] = both(MSGQUEUE_BYTES);
        limits[RLIMIT_NICE] = both(0);
        limits[RLIMIT_RTPRIO] = both(0);
        ResourceLimits(limits)
    }

    /// The limits of `resource`: EINVAL for an unknown one.
    pub fn get(&self, resource: u64) -> Result<Limit, Errno> {
        usize::try_from(resource)
            .ok()
            .and_then(|resource| self.0.get(resource))
            .copied()
            .ok_or(Errno::EINVAL)
    }

    /// Sets the limits of `resource`, as Linux's `do_prlimit` checks them:
    /// EINVAL for an unknown resource or a soft limit above the hard one,
    /// EPERM for an RLIMIT_NOFILE hard limit above `fs.nr_open`. Raising a
    /// hard limit needs CAP_SYS_RESOURCE, which every process (root) has.
    pub fn set(&mut self, resource: u64, limit: Limit) -> Result<(), Errno> {
        self.get(resource)?;
        if limit.soft > limit.hard {
            return Err(Errno::EINVAL);
        }
        if resource == RLIMIT_NOFILE as u64 && limit.hard > NR_OPEN {
            return Err(Errno::EPERM);
        }
        self.0[resource as usize] = limit;
        Ok(())
    }

    /// How many descriptors the process may have: descriptors are below
    /// the RLIMIT_NOFILE soft limit.
    pub fn open_files(&self) -> usize {
        usize::try_from(self.0[RLIMIT_NOFILE].soft).unwrap_or(usize::MAX)
    }

    /// The RLIMIT_STACK soft limit.
    pub fn stack(&self) -> u64 {
        self.0[RLIMIT_STACK].soft
    }
}

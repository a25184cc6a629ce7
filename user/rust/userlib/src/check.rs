//! Test reporting in the format of the C programs' `check.h`: one line per
//! case, `PASS name -- source` or `FAIL name: expected X got Y -- source`,
//! and a final `N passed, N failed`.

use crate::println;
use core::fmt::{self, Debug, Write};

/// Room for a reason: small enough for `Result<(), Why>` to stay cheap to return.
const WHY_CAPACITY: usize = 112;

/// Why a case failed: "what: expected X got Y", kept in a fixed buffer (no allocator).
pub struct Why {
    text: [u8; WHY_CAPACITY],
    len: usize,
}

impl Write for Why {
    /// Appends what fits; a longer reason is cut off rather than lost.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.text.len() - self.len;
        let n = s.len().min(room);
        self.text[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

impl Why {
    /// The reason as text, cut at a character boundary.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.text[..self.len]) {
            Ok(text) => text,
            Err(error) => core::str::from_utf8(&self.text[..error.valid_up_to()]).unwrap_or(""),
        }
    }
}

/// Passes if `got == expected`; otherwise fails with "what: expected X got Y".
pub fn expect<T: PartialEq + Debug>(what: &str, expected: T, got: T) -> Result<(), Why> {
    if got == expected {
        return Ok(());
    }
    let mut why = Why {
        text: [0; WHY_CAPACITY],
        len: 0,
    };
    let _ = write!(why, "{what}: expected {expected:?} got {got:?}");
    Err(why)
}

/// Counts of passed and failed cases.
#[derive(Default)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
}

impl Report {
    /// Prints the PASS or FAIL line of one case and counts it.
    pub fn case(&mut self, name: &str, source: &str, outcome: Result<(), Why>) {
        match outcome {
            Ok(()) => {
                self.passed += 1;
                println!("PASS {name} -- {source}");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {} -- {source}", why.as_str());
            }
        }
    }

    /// Prints "N passed, N failed" and returns the exit status: 0 only if none failed.
    pub fn summary(&self) -> i32 {
        println!("{} passed, {} failed", self.passed, self.failed);
        i32::from(self.failed != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::{WHY_CAPACITY, expect};

    #[test]
    fn expect_says_what_was_expected_and_what_came() {
        assert!(expect("x", 1, 1).is_ok());
        let why = expect("msync", Ok::<(), i32>(()), Err(22)).unwrap_err();
        assert_eq!(why.as_str(), "msync: expected Ok(()) got Err(22)");
    }

    #[test]
    fn a_long_reason_is_cut_not_lost() {
        let long = "é".repeat(200);
        let why = expect("long", "", long.as_str()).unwrap_err();
        assert!(why.as_str().starts_with("long: expected \"\" got \"éé"));
        assert!(why.as_str().len() <= WHY_CAPACITY);
    }
}

//! Ctrl-C as a request, not a kill: the first SIGINT or SIGTERM only raises a flag, so work
//! that must not be cut in half (a helper script on the server that has to be deleted, a
//! journaled change) finishes its current step, cleans up, and then stops. A second one ends
//! the process at once with status 130, for a user who really means it.
//!
//! Usable from every layer: long-running code polls [`requested`] between steps.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Status of a process ended by a second Ctrl-C: 128 + SIGINT, as shells report it.
pub const EXIT_STATUS: i32 = 130;

/// Installs the SIGINT/SIGTERM handler; call once, early in `main`.
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(EXIT_STATUS);
        }
    })
}

/// Whether the user asked to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Raises the flag as the first Ctrl-C does, for code that stops a run for its own reasons
/// (and for tests).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Lowers the flag again. Only tests need this: a real run ends once interrupted.
#[doc(hidden)]
pub fn clear() {
    REQUESTED.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_raises_and_clear_lowers_the_flag() {
        assert!(!requested());
        request();
        assert!(requested());
        clear();
        assert!(!requested());
    }
}

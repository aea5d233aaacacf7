//! The one place exit statuses are decided, so scripts can rely on them.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done; or, for `diagnose`, no lockout found |
//! | 1 | error: nothing was decided (bad arguments, connection failed, …) |
//! | 2 | `diagnose` found a lockout (the report says which) |

use std::process::ExitCode;

/// Everything went as asked; nothing is in the admin's way.
pub const OK: u8 = 0;
/// An error stopped the command.
pub const ERROR: u8 = 1;
/// A lockout was found.
pub const LOCKOUT_FOUND: u8 = 2;

/// The exit code for a status.
pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}

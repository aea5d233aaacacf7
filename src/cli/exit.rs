//! The one place exit statuses are decided, so scripts can rely on them.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | done, or nothing to do; for `diagnose`, no lockout found |
//! | 1 | error (bad arguments, connection failed, a stale plan, …) |
//! | 2 | `diagnose` found a lockout; `unlock --dry-run` found changes to make |
//! | 3 | `unlock` applied a fix, the site still refused, and the fix was rolled back |

use std::process::ExitCode;

/// Everything went as asked; nothing is in the admin's way.
pub const OK: u8 = 0;
/// An error stopped the command.
pub const ERROR: u8 = 1;
/// A lockout was found.
pub const LOCKOUT_FOUND: u8 = 2;
/// A dry run found changes to make (Terraform's `-detailed-exitcode` 2).
pub const CHANGES_PLANNED: u8 = 2;
/// The fix did not let the admin in and was rolled back.
pub const VERIFY_FAILED: u8 = 3;

/// Ctrl-C stopped the run between two changes.
pub const INTERRUPTED: u8 = 130;

/// The exit code for a status.
pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}

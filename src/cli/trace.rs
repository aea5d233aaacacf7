//! `-v`: a trace on stderr that a support engineer can ask for, from `tracing` events the
//! layers below emit. The layers log operations, paths, statuses and timings, never values:
//! no password, token or file content ever reaches a trace.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The environment variable that chooses what to trace, in `RUST_LOG`'s syntax.
pub const LOG_ENV: &str = "WPRESCUE_LOG";

/// Starts tracing at the level `-v` asks for (`WPRESCUE_LOG` wins when set); nothing without.
pub fn init(verbose: u8) {
    let filter = match std::env::var(LOG_ENV) {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(match verbose {
            0 => return,
            1 => "wprescue=info",
            2 => "wprescue=debug",
            _ => "wprescue=trace",
        }),
    };
    // A second subscriber (in tests) is not an error worth reporting.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}

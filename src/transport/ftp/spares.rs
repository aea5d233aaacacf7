//! More logged-in control connections to the same site, for the walk of a prefetch
//! ([`super::super::fan_out`]).
//!
//! They log in in the background once the first connection has, so a run does not wait for
//! them: the walk takes each as it arrives. Servers that cap connections per address (often
//! at eight) or per user refuse some; a refused one is simply not there.

use std::sync::mpsc;

use super::FtpTransport;
use crate::transport::{ConnectOptions, Credentials, FtpTarget};

/// Connections opened beside the first.
pub(crate) const SPARE_CONNECTIONS: usize = 3;

/// The spare connections: those still logging in, and those idle between walks.
#[derive(Default)]
pub(super) struct Spares {
    arriving: Option<mpsc::Receiver<FtpTransport>>,
    idle: Vec<FtpTransport>,
}

impl Spares {
    /// Starts [`SPARE_CONNECTIONS`] logins like the first one (whose credentials worked),
    /// each in its own thread.
    pub(super) fn open(
        target: &FtpTarget,
        options: &ConnectOptions,
        credentials: &Credentials,
    ) -> Spares {
        let (sender, arriving) = mpsc::channel();
        let options = ConnectOptions {
            // A certificate accepted by fingerprint is pinned by the first connection; the
            // spares must not write the pin again, side by side.
            accept_tls_cert: None,
            progress: false,
            ..options.clone()
        };
        for _ in 0..SPARE_CONNECTIONS {
            let (target, options, sender) = (target.clone(), options.clone(), sender.clone());
            let mut credentials = credentials.clone();
            std::thread::spawn(move || {
                match FtpTransport::connect_with(&target, &options, &mut credentials, false) {
                    Ok(spare) => {
                        let _ = sender.send(spare);
                    }
                    Err(e) => tracing::debug!(error = %e, "no spare FTP connection"),
                }
            });
        }
        Spares {
            arriving: Some(arriving),
            idle: Vec::new(),
        }
    }

    /// A spare ready for work, if there is one now (never waits). One in another site
    /// folder than `root` is dropped: a server that puts the same login elsewhere (a cluster
    /// behind one name) is not serving the same site.
    pub(super) fn next(&mut self, root: &str) -> Option<FtpTransport> {
        if let Some(idle) = self.idle.pop() {
            return Some(idle);
        }
        let arriving = self.arriving.as_ref()?;
        std::iter::from_fn(|| arriving.try_recv().ok()).find(|spare| spare.root == root)
    }

    /// Spares back from a walk.
    pub(super) fn put_back(&mut self, spares: Vec<FtpTransport>) {
        self.idle.extend(spares);
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        // Those still logging in are left to end with the process.
        let ready = self
            .arriving
            .take()
            .into_iter()
            .flat_map(|a| a.try_iter().collect::<Vec<_>>());
        let all: Vec<FtpTransport> = self.idle.drain(..).chain(ready).collect();
        std::thread::scope(|scope| {
            for spare in all {
                scope.spawn(move || drop(spare));
            }
        });
    }
}

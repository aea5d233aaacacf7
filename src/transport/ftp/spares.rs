//! More logged-in control connections to the same site, for the walk of a prefetch
//! ([`crate::transport::fan_out`]) and for writes side by side.
//!
//! They dial, greet and (for FTPS) shake hands while the first connection logs in, and log
//! in only once it has: a wrong password is tried once, not four times. The walk takes each
//! as it arrives. Servers that cap connections per address (often at eight) or per user
//! refuse some; a refused one is simply not there.

use std::sync::mpsc;

use super::{FtpTransport, open_control, scheme_and_origin};
use crate::transport::{ConnectOptions, Credentials, FtpTarget, Op};

/// The spare connections: those still logging in, and those idle between walks.
#[derive(Default)]
pub(super) struct Spares {
    /// One per spare still waiting to log in; dropped unsent, it ends that spare.
    go: Vec<mpsc::Sender<Credentials>>,
    arriving: Option<mpsc::Receiver<FtpTransport>>,
    idle: Vec<FtpTransport>,
}

impl Spares {
    /// Starts the spares `options` allow (one fewer than
    /// [`ConnectOptions::ftp_connections`]), each in its own thread, dialled like the first
    /// connection; they wait for [`Spares::log_in`] before sending a user name.
    pub(super) fn dial(target: &FtpTarget, options: &ConnectOptions) -> Spares {
        let (sender, arriving) = mpsc::channel();
        let options = ConnectOptions {
            // A certificate accepted by fingerprint is pinned by the first connection; the
            // spares must not write the pin again, side by side.
            accept_tls_cert: None,
            progress: false,
            ..options.clone()
        };
        let mut go = Vec::new();
        for _ in 1..options.ftp_connections {
            let (target, options, sender) = (target.clone(), options.clone(), sender.clone());
            let (told, told_to) = mpsc::channel::<Credentials>();
            go.push(told);
            std::thread::spawn(move || {
                let (scheme, origin) = scheme_and_origin(&target);
                let Ok((ftp, watchdog)) = open_control(&target, &options, &origin) else {
                    return;
                };
                // No word: the first login failed, or the run is over.
                let Ok(mut credentials) = told_to.recv() else {
                    return;
                };
                let spare = FtpTransport::set_up(
                    ftp,
                    &target,
                    &options,
                    &mut credentials,
                    None,
                    scheme,
                    &origin,
                );
                match watchdog.settle(spare, Op::Connect, &origin) {
                    Ok(spare) => {
                        let _ = sender.send(spare);
                    }
                    Err(e) => tracing::debug!(error = %e, "no spare FTP connection"),
                }
            });
        }
        Spares {
            go,
            arriving: Some(arriving),
            idle: Vec::new(),
        }
    }

    /// The first connection logged in with `credentials`: the spares do too.
    pub(super) fn log_in(&mut self, credentials: &Credentials) {
        for go in self.go.drain(..) {
            let _ = go.send(credentials.clone());
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
        // Those still waiting for the word end now; those logging in end with the process.
        self.go.clear();
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

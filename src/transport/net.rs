//! Opening TCP connections with a deadline, and naming what went wrong, for SSH and FTP alike.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

use super::{Error, ErrorKind, Op, Result};

/// How many read timeouts the whole connection phase (TCP, TLS or SSH handshake, login, the
/// site folder) may take.
const CONNECT_TIMEOUTS: u32 = 3;

/// The deadline of the connection phase for a read timeout of `timeout`.
pub(crate) fn connect_deadline(timeout: Duration) -> Duration {
    timeout * CONNECT_TIMEOUTS
}

/// Connects to `host`:`port` for `origin` and starts the deadline of the connection phase
/// on the socket (see [`Watchdog`]).
pub(crate) fn dial(
    host: &str,
    port: u16,
    timeout: Duration,
    origin: &str,
) -> Result<(TcpStream, Watchdog)> {
    let tcp = connect(host, port, timeout).map_err(|(kind, e)| {
        let err = Error::new(kind, Op::Connect, origin);
        match e {
            Some(e) => err.with_source(e),
            None => err,
        }
    })?;
    let watchdog = Watchdog::arm(&tcp, connect_deadline(timeout));
    Ok((tcp, watchdog))
}

/// A deadline on a whole phase of a connection. A read timeout bounds each wait, but a server
/// that sends one byte a second never trips it; when the deadline passes, this shuts the
/// socket down, every blocked call on it fails, and [`Watchdog::settle`] says why.
pub(crate) struct Watchdog {
    state: Arc<(Mutex<Watch>, Condvar)>,
    limit: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    Armed,
    Settled,
    Fired,
}

impl Watchdog {
    /// Starts counting `limit` on `socket` (on a copy of its handle). A socket whose handle
    /// cannot be copied gets no deadline.
    pub(crate) fn arm(socket: &TcpStream, limit: Duration) -> Watchdog {
        let state = Arc::new((Mutex::new(Watch::Armed), Condvar::new()));
        if let Ok(socket) = socket.try_clone() {
            let watched = Arc::clone(&state);
            std::thread::spawn(move || {
                let (lock, wake) = &*watched;
                let Ok(guard) = lock.lock() else { return };
                let Ok((mut watch, _)) =
                    wake.wait_timeout_while(guard, limit, |w| *w == Watch::Armed)
                else {
                    return;
                };
                if *watch == Watch::Armed {
                    *watch = Watch::Fired;
                    let _ = socket.shutdown(Shutdown::Both);
                }
            });
        }
        Watchdog { state, limit }
    }

    /// Ends the watch: `result` as it is, unless the deadline fired, which is then the error
    /// (whatever the cut-off call reported).
    pub(crate) fn settle<T>(self, result: Result<T>, op: Op, origin: &str) -> Result<T> {
        match self.disarm() {
            true => Err(Error::new(
                ErrorKind::Timeout { after: self.limit },
                op,
                origin,
            )),
            false => result,
        }
    }

    /// Stops the watch; whether the deadline had fired.
    fn disarm(&self) -> bool {
        let (lock, wake) = &*self.state;
        let fired = match lock.lock() {
            Ok(mut watch) => {
                let fired = *watch == Watch::Fired;
                *watch = Watch::Settled;
                fired
            }
            Err(_) => false,
        };
        wake.notify_all();
        fired
    }
}

impl Drop for Watchdog {
    /// A phase left early (an error) needs no deadline any more.
    fn drop(&mut self) {
        self.disarm();
    }
}

/// Connects to `host`:`port`, trying each address it resolves to, within `timeout` each.
/// TCP keepalive is switched on, so a long pause in a run (a prompt, a slow step) does not
/// let a NAT or firewall silently drop the connection.
pub(crate) fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> std::result::Result<TcpStream, (ErrorKind, Option<io::Error>)> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            (
                ErrorKind::Unreachable {
                    reason: format!("cannot resolve {host}: {e}"),
                },
                None,
            )
        })?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                let keepalive = TcpKeepalive::new()
                    .with_time(Duration::from_secs(30))
                    .with_interval(Duration::from_secs(10));
                // Best effort: a connection without keepalive still works.
                let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(e) = last else {
        return Err((
            ErrorKind::Unreachable {
                reason: format!("{host} has no address"),
            },
            None,
        ));
    };
    let kind = match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectionRefused,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            ErrorKind::Timeout { after: timeout }
        }
        _ => ErrorKind::Unreachable {
            reason: e.to_string(),
        },
    };
    Err((kind, Some(e)))
}

/// The kind for an I/O error on an established connection.
pub(crate) fn io_kind(e: &io::Error, timeout: Duration) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            ErrorKind::Timeout { after: timeout }
        }
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof
        | io::ErrorKind::NotConnected => ErrorKind::Disconnected,
        _ => ErrorKind::Protocol {
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn refused() {
        // Bind, learn the port, close: nothing listens there any more.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (kind, _) = connect("127.0.0.1", port, Duration::from_secs(2)).unwrap_err();
        assert_eq!(kind, ErrorKind::ConnectionRefused);
    }
}

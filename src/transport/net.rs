//! Opening TCP connections with a deadline, and naming what went wrong, for SSH and FTP alike.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

use super::ErrorKind;

/// Connects to `host`:`port`, trying each address it resolves to, within `timeout` each.
/// TCP keepalive is switched on, so a long pause in a run (a prompt, a slow step) does not
/// let a NAT or firewall silently drop the connection.
pub(crate) fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, (ErrorKind, Option<io::Error>)> {
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

//! Through a jump host: a `direct-tcpip` channel of the jump host's SSH session carries the
//! target's SSH connection, as OpenSSH's `ProxyJump` does. libssh2 runs a session over a file
//! descriptor only, so the channel is pumped by a thread into one end of a Unix socket pair
//! and the target's session runs over the other end.

use std::io::{self, ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ssh2::{BlockDirections, Channel, Session};

/// Bytes held in each direction before the pump stops reading that side.
const BUFFER: usize = 256 << 10;

/// Starts the pump between `channel` (of `session`, whose socket is `socket`) and a new
/// socket pair; returns the end the target's session runs over. The pump ends, and with it
/// the jump host's session, when either side closes.
pub(super) fn tunnel(
    session: Session,
    channel: Channel,
    socket: TcpStream,
) -> io::Result<UnixStream> {
    let (ours, theirs) = UnixStream::pair()?;
    theirs.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("ssh-jump".into())
        .spawn(move || {
            if let Err(e) = pump(&session, channel, &socket, theirs) {
                tracing::debug!(error = %e, "the jump host's tunnel ended");
            }
        })?;
    Ok(ours)
}

/// Bytes waiting to go one way.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// The side they come from has closed.
    closed: bool,
}

impl Pending {
    /// Reads what `from` has, without waiting; whether anything happened.
    fn fill(&mut self, from: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
        if self.closed || self.bytes.len() >= BUFFER {
            return Ok(false);
        }
        match from.read(buf) {
            Ok(0) => {
                self.closed = true;
                Ok(true)
            }
            Ok(n) => {
                self.bytes.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == IoKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == IoKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes what it holds to `to`, without waiting; whether anything happened.
    fn drain(&mut self, to: &mut impl Write) -> io::Result<bool> {
        if self.bytes.is_empty() {
            return Ok(false);
        }
        match to.write(&self.bytes) {
            Ok(n) => {
                self.bytes.drain(..n);
                Ok(n > 0)
            }
            Err(e) if e.kind() == IoKind::WouldBlock => Ok(false),
            Err(e) if e.kind() == IoKind::Interrupted => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Everything read was passed on and the source has closed.
    fn done(&self) -> bool {
        self.closed && self.bytes.is_empty()
    }
}

/// A channel read as a stream: libssh2 also answers 0 bytes while the channel is open.
struct FromChannel<'a>(&'a mut Channel);

impl Read for FromChannel<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 if !self.0.eof() => Err(IoKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

/// Moves bytes both ways until one side closes; waits on both sockets when neither moves.
fn pump(
    session: &Session,
    mut channel: Channel,
    socket: &TcpStream,
    mut local: UnixStream,
) -> io::Result<()> {
    session.set_blocking(false);
    let mut up = Pending::default(); // from the target's session, to the channel
    let mut down = Pending::default(); // from the channel, to the target's session
    let mut buf = vec![0u8; 32 << 10];
    loop {
        let mut moved = up.fill(&mut local, &mut buf)?;
        moved |= up.drain(&mut channel)?;
        moved |= down.fill(&mut FromChannel(&mut channel), &mut buf)?;
        moved |= down.drain(&mut local)?;
        if up.done() {
            // The target's session is gone: tell the far end, and stop.
            let _ = channel.send_eof();
            return Ok(());
        }
        if down.done() {
            let _ = local.shutdown(std::net::Shutdown::Write);
            return Ok(());
        }
        if !moved {
            wait(session, socket, &local, &up, &down)?;
        }
    }
}

/// Waits until the target's side or the jump host's socket can move something, or a second
/// passes (then the caller looks again).
fn wait(
    session: &Session,
    socket: &TcpStream,
    local: &UnixStream,
    up: &Pending,
    down: &Pending,
) -> io::Result<()> {
    let mut local_events = PollFlags::empty();
    if !up.closed && up.bytes.len() < BUFFER {
        local_events |= PollFlags::POLLIN;
    }
    if !down.bytes.is_empty() {
        local_events |= PollFlags::POLLOUT;
    }
    // The server may send at any time (data, window updates); libssh2 says when it waits to
    // send.
    let mut remote_events = PollFlags::POLLIN;
    if matches!(
        session.block_directions(),
        BlockDirections::Outbound | BlockDirections::Both
    ) {
        remote_events |= PollFlags::POLLOUT;
    }
    let mut fds = [
        PollFd::new(local.as_fd(), local_events),
        PollFd::new(socket.as_fd(), remote_events),
    ];
    match poll(&mut fds, PollTimeout::from(1000u16)) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_bytes_move_in_order_and_end_after_the_source_closes() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut pending = Pending::default();
        let mut buf = [0u8; 4];
        assert!(!pending.fill(&mut b, &mut buf).unwrap(), "nothing yet");
        a.write_all(b"hello").unwrap();
        drop(a);
        while pending.fill(&mut b, &mut buf).unwrap() {}
        assert_eq!(pending.bytes, b"hello");
        assert!(
            pending.closed && !pending.done(),
            "closed, not yet passed on"
        );
        let mut out = Vec::new();
        assert!(pending.drain(&mut out).unwrap());
        assert_eq!(out, b"hello");
        assert!(pending.done());
    }
}

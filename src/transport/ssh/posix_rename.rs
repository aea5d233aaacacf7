//! `posix-rename@openssh.com`: the one SFTP request ssh2-rs lacks.
//!
//! SFTP version 3 (all OpenSSH speaks) has a RENAME that fails when the destination exists,
//! so an atomic replace needs OpenSSH's extension, which is rename(2) on the server. libssh2
//! implements it, but ssh2-rs does not expose it and this crate forbids `unsafe`, so this
//! module speaks just enough SFTP on a second subsystem channel of the same session: INIT,
//! VERSION (to see the extension is offered), EXTENDED, STATUS.

use std::io::{self, Read, Write};

use ssh2::{Channel, Session};

const FXP_INIT: u8 = 1;
const FXP_VERSION: u8 = 2;
const FXP_STATUS: u8 = 101;
const FXP_EXTENDED: u8 = 200;
const EXTENSION: &str = "posix-rename@openssh.com";
/// Replies are a few dozen bytes; anything huge is a broken stream.
const MAX_PACKET: usize = 256 * 1024;

/// Why a posix-rename did not happen.
#[derive(Debug)]
pub(super) enum RenameError {
    /// The SSH layer failed (channel, timeout, disconnect).
    Ssh(ssh2::Error),
    /// Reading or writing the channel failed.
    Io(io::Error),
    /// The server does not offer the extension.
    Unsupported,
    /// The server refused, with an SFTP status code and message.
    Status(u32, String),
}

impl From<ssh2::Error> for RenameError {
    fn from(e: ssh2::Error) -> Self {
        Self::Ssh(e)
    }
}

impl From<io::Error> for RenameError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// A second SFTP channel, used only for posix-rename.
pub(super) struct PosixRename {
    channel: Channel,
    next_id: u32,
}

impl PosixRename {
    /// Opens the channel and checks that the server offers the extension.
    pub(super) fn open(session: &Session) -> Result<Self, RenameError> {
        let mut channel = session.channel_session()?;
        channel.subsystem("sftp")?;
        send(&mut channel, FXP_INIT, &3u32.to_be_bytes())?;
        let (kind, body) = receive(&mut channel)?;
        if kind != FXP_VERSION {
            return Err(RenameError::Io(io::Error::other("no SFTP VERSION reply")));
        }
        // u32 version, then (name, data) string pairs, one per extension.
        let mut rest = body.get(4..).unwrap_or_default();
        let mut offered = false;
        while let (Some(name), Some(_data)) = (take_string(&mut rest), take_string(&mut rest)) {
            offered |= name == EXTENSION.as_bytes();
        }
        if !offered {
            return Err(RenameError::Unsupported);
        }
        Ok(Self {
            channel,
            next_id: 1,
        })
    }

    /// Renames `from` to `to`, replacing `to` atomically if it exists.
    pub(super) fn rename(&mut self, from: &str, to: &str) -> Result<(), RenameError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut body = id.to_be_bytes().to_vec();
        for s in [EXTENSION, from, to] {
            put_string(&mut body, s.as_bytes());
        }
        send(&mut self.channel, FXP_EXTENDED, &body)?;
        let (kind, reply) = receive(&mut self.channel)?;
        // STATUS: u32 id, u32 code, string message, string language.
        let mut rest = reply.get(8..).unwrap_or_default();
        let code = reply
            .get(4..8)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")));
        match (kind, code) {
            (FXP_STATUS, Some(0)) => Ok(()),
            (FXP_STATUS, Some(code)) => {
                let message = take_string(&mut rest).unwrap_or_default();
                Err(RenameError::Status(
                    code,
                    String::from_utf8_lossy(message).into_owned(),
                ))
            }
            _ => Err(RenameError::Io(io::Error::other(
                "unexpected SFTP reply to posix-rename",
            ))),
        }
    }
}

fn send(channel: &mut Channel, kind: u8, body: &[u8]) -> io::Result<()> {
    let mut packet = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    packet.push(kind);
    packet.extend_from_slice(body);
    channel.write_all(&packet)?;
    channel.flush()
}

fn receive(channel: &mut Channel) -> io::Result<(u8, Vec<u8>)> {
    let mut len = [0u8; 4];
    channel.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > MAX_PACKET {
        return Err(io::Error::other("bad SFTP packet length"));
    }
    let mut packet = vec![0u8; len];
    channel.read_exact(&mut packet)?;
    Ok((packet[0], packet.split_off(1)))
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

fn take_string<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(input.get(..4)?.try_into().ok()?) as usize;
    let s = input.get(4..4 + len)?;
    *input = &input[4 + len..];
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip() {
        let mut buf = Vec::new();
        put_string(&mut buf, b"posix-rename@openssh.com");
        put_string(&mut buf, "ü".as_bytes());
        let mut rest = &buf[..];
        assert_eq!(
            take_string(&mut rest),
            Some(&b"posix-rename@openssh.com"[..])
        );
        assert_eq!(take_string(&mut rest), Some("ü".as_bytes()));
        assert_eq!(take_string(&mut rest), None);
        let mut short = &[0u8, 0, 0, 9, b'x'][..];
        assert_eq!(take_string(&mut short), None, "length beyond the data");
    }
}

//! Commands over SSH (`ssh://` targets): one exec channel per command, stdin fed while the
//! output is read; or one kept open for a conversation, a line in and a line out.

use std::io::{self, ErrorKind as IoKind, Read, Write};
use std::os::fd::AsFd;
use std::os::fd::OwnedFd;
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ssh2::{BlockDirections, Session};

use super::super::{Conversation, Error, ErrorKind, Exec, ExecOutput, Op, Result, net};
use super::SshTransport;
use super::kinds::session_kind;

impl SshTransport {
    /// `command`'s failure to run, for the error.
    fn exec_error(&self, command: &str, e: ssh2::Error) -> Error {
        Error::new(
            session_kind(&e, self.timeout),
            Op::Exec,
            self.origin.as_str(),
        )
        .with_path(command)
        .with_source(e)
    }

    /// A channel running `command` in the site folder.
    fn start(&mut self, command: &str) -> Result<ssh2::Channel> {
        let mut channel = self
            .session
            .channel_session()
            .map_err(|e| self.exec_error(command, e))?;
        channel
            .exec(&format!("cd {} && {command}", shell_quote(&self.root)))
            .map_err(|e| self.exec_error(command, e))?;
        Ok(channel)
    }
}

/// Whether `output` is what OpenSSH answers any command with on an account limited to SFTP
/// (`ForceCommand internal-sftp`).
fn sftp_only_refusal(output: &[u8]) -> bool {
    output
        .trim_ascii_start()
        .starts_with(b"This service allows sftp connections only.")
}

/// The error of a command on an account that runs none.
fn no_commands(origin: &str, command: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported {
            what: "running commands: this account is SFTP-only (sshd's ForceCommand \
                   internal-sftp)"
                .into(),
        },
        Op::Exec,
        origin,
    )
    .with_path(command)
}

impl Exec for SshTransport {
    fn exec_with_input(&mut self, command: &str, input: &[u8]) -> Result<ExecOutput> {
        let mut channel = self.start(command)?;
        let fail = |e: ssh2::Error| self.exec_error(command, e);
        // Feed stdin and read stdout and stderr in turn without blocking: waiting on one
        // while another fills the channel window would stall both ends for good.
        self.session.set_blocking(false);
        let deadline = Instant::now() + COMMAND_TIMEOUTS * self.timeout;
        let drained = drain(&mut channel, &self.session, &self.socket, input, deadline);
        self.session.set_blocking(true);
        let (stdout, stderr) = drained.map_err(|e| {
            Error::new(
                net::io_kind(&e, self.timeout),
                Op::Exec,
                self.origin.as_str(),
            )
            .with_path(command)
            .with_source(e)
        })?;
        channel.wait_close().map_err(fail)?;
        let signal = channel.exit_signal().map_err(fail)?.exit_signal;
        let status = match signal {
            Some(_) => None,
            None => Some(channel.exit_status().map_err(fail)?),
        };
        if sftp_only_refusal(&stdout) || sftp_only_refusal(&stderr) {
            // Every later command would get the same answer: this session runs none.
            self.exec = false;
            return Err(no_commands(self.origin.as_str(), command));
        }
        Ok(ExecOutput {
            stdout,
            stderr,
            status,
        })
    }

    fn converse(
        &mut self,
        command: &str,
        preamble: &[u8],
    ) -> Result<Option<Box<dyn Conversation>>> {
        let mut conversation = SshConversation {
            channel: self.start(command)?,
            pending: Vec::new(),
            origin: self.origin.clone(),
            command: command.to_owned(),
            timeout: self.timeout,
        };
        conversation.channel.write_all(preamble).map_err(|e| {
            conversation
                .fail(net::io_kind(&e, self.timeout))
                .with_source(e)
        })?;
        Ok(Some(Box::new(conversation)))
    }
}

/// A command kept running over its own channel ([`Exec::converse`]).
struct SshConversation {
    channel: ssh2::Channel,
    /// Output read past the last answer.
    pending: Vec<u8>,
    origin: String,
    command: String,
    timeout: std::time::Duration,
}

impl SshConversation {
    fn fail(&self, kind: ErrorKind) -> Error {
        Error::new(kind, Op::Exec, self.origin.as_str()).with_path(self.command.as_str())
    }
}

impl Conversation for SshConversation {
    fn ask(&mut self, line: &[u8]) -> Result<Vec<u8>> {
        tracing::debug!(command = self.command.as_str(), "exec: one more request");
        let io =
            |this: &Self, e: io::Error| this.fail(net::io_kind(&e, this.timeout)).with_source(e);
        let sent = self
            .channel
            .write_all(line)
            .and_then(|()| self.channel.write_all(b"\n"))
            .and_then(|()| self.channel.flush());
        sent.map_err(|e| io(self, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = Instant::now() + COMMAND_TIMEOUTS * self.timeout;
        loop {
            past(deadline).map_err(|e| io(self, e))?;
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let rest = self.pending.split_off(end + 1);
                let mut answer = std::mem::replace(&mut self.pending, rest);
                answer.pop();
                if sftp_only_refusal(&answer) {
                    return Err(no_commands(&self.origin, &self.command));
                }
                return Ok(answer);
            }
            // Blocking: the session's timeout bounds the wait.
            let n = self.channel.read(&mut buf).map_err(|e| io(self, e))?;
            if n == 0 {
                let mut stderr = String::new();
                let _ = self.channel.stderr().read_to_string(&mut stderr);
                let message = format!(
                    "the command ended without an answer: {}",
                    stderr.chars().take(300).collect::<String>().trim()
                );
                return Err(self.fail(ErrorKind::Protocol { message }));
            }
            self.pending.extend_from_slice(&buf[..n]);
        }
    }
}

impl Drop for SshConversation {
    fn drop(&mut self) {
        // End of input ends the command; nothing more is wanted from it.
        let _ = self.channel.send_eof();
        let _ = self.channel.close();
    }
}

/// How many read timeouts a command (or one request to a kept one) may take in all: each
/// read has its timeout, but output that drips in a byte at a time never trips it.
const COMMAND_TIMEOUTS: u32 = 10;

/// An error once `deadline` has passed.
fn past(deadline: Instant) -> io::Result<()> {
    match Instant::now() > deadline {
        true => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the command did not finish in time",
        )),
        false => Ok(()),
    }
}

/// Feeds `input` to the command's stdin, then end-of-file, and collects everything on
/// stdout and stderr until the command closes both.
fn drain(
    channel: &mut ssh2::Channel,
    session: &Session,
    socket: &OwnedFd,
    mut input: &[u8],
    deadline: Instant,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    let mut stdin_open = true;
    loop {
        past(deadline)?;
        let mut progressed = false;
        if stdin_open {
            let sent = if input.is_empty() {
                channel.send_eof().map(|()| None).map_err(io::Error::from)
            } else {
                channel.write(input).map(Some)
            };
            match sent {
                Ok(Some(n)) => {
                    input = &input[n..];
                    progressed = true;
                }
                Ok(None) => {
                    stdin_open = false;
                    progressed = true;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                // The command exited without reading all of it: its output tells the rest.
                Err(_) => stdin_open = false,
            }
        }
        let mut open = 2;
        for (stream, out) in [(0, &mut stdout), (1, &mut stderr)] {
            match channel.stream(stream).read(&mut buf) {
                Ok(0) => open -= 1,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if open == 0 && channel.eof() {
            return Ok((stdout, stderr));
        }
        if !progressed {
            // Nothing to do until the server sends (or takes) more: wait on the socket
            // itself, so the answer is read the moment it arrives, not at the next tick.
            let _ = session.keepalive_send();
            wait_for_socket(session, socket)?;
        }
    }
}

/// Waits until the session's socket can go the way libssh2 is blocked on, or a second passes
/// (then the caller looks again, and sends a keepalive).
fn wait_for_socket(session: &Session, socket: &OwnedFd) -> io::Result<()> {
    let directions = session.block_directions();
    let mut events = PollFlags::empty();
    if matches!(directions, BlockDirections::Inbound | BlockDirections::Both) {
        events |= PollFlags::POLLIN;
    }
    if matches!(
        directions,
        BlockDirections::Outbound | BlockDirections::Both
    ) {
        events |= PollFlags::POLLOUT;
    }
    if events.is_empty() {
        // libssh2 is not blocked on the socket: look again after a breath.
        std::thread::sleep(std::time::Duration::from_millis(1));
        return Ok(());
    }
    let mut fds = [PollFd::new(socket.as_fd(), events)];
    match poll(&mut fds, PollTimeout::from(1000u16)) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// `'text'` for sh, with embedded single quotes closed, escaped and reopened.
pub(super) fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_sh() {
        assert_eq!(
            shell_quote("/home/o'brien/site"),
            r"'/home/o'\''brien/site'"
        );
    }
}

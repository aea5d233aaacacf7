//! What libssh2's and SFTP's error codes mean, as the transport's [`ErrorKind`]s.

use std::io::{self, ErrorKind as IoKind};
use std::time::Duration;

use ssh2::ErrorCode;

use super::super::{ErrorKind, net};

// SFTP v3 status codes (draft-ietf-secsh-filexfer-02) and later ones some servers send.
pub(super) const FX_NO_SUCH_FILE: i32 = 2;
pub(super) const FX_PERMISSION_DENIED: i32 = 3;
pub(super) const FX_FAILURE: i32 = 4;
pub(super) const FX_CONNECTION_LOST: i32 = 7;
pub(super) const FX_OP_UNSUPPORTED: i32 = 8;
pub(super) const FX_NO_SUCH_PATH: i32 = 10;
pub(super) const FX_FILE_ALREADY_EXISTS: i32 = 11;
pub(super) const FX_NO_SPACE_ON_FILESYSTEM: i32 = 14;
pub(super) const FX_QUOTA_EXCEEDED: i32 = 15;
pub(super) const FX_DIR_NOT_EMPTY: i32 = 18;
pub(super) const FX_NOT_A_DIRECTORY: i32 = 19;
pub(super) const FX_FILE_IS_A_DIRECTORY: i32 = 24;

// libssh2 session errors that mean the connection is gone or too slow.
pub(super) const ERROR_SOCKET_SEND: i32 = -7;
pub(super) const ERROR_TIMEOUT: i32 = -9;
pub(super) const ERROR_SOCKET_DISCONNECT: i32 = -13;
pub(super) const ERROR_SOCKET_TIMEOUT: i32 = -30;
pub(super) const ERROR_SOCKET_RECV: i32 = -43;

/// The kind for a libssh2 session-level error.
pub(super) fn session_kind(e: &ssh2::Error, timeout: Duration) -> ErrorKind {
    match e.code() {
        ErrorCode::Session(ERROR_TIMEOUT | ERROR_SOCKET_TIMEOUT) => {
            ErrorKind::Timeout { after: timeout }
        }
        ErrorCode::Session(ERROR_SOCKET_SEND | ERROR_SOCKET_RECV | ERROR_SOCKET_DISCONNECT) => {
            ErrorKind::Disconnected
        }
        ErrorCode::SFTP(code) => status_kind(code, generic(e)),
        ErrorCode::Session(_) => generic(e),
    }
}

/// The kind for an SFTP-level error; `failure` stands in for the generic FX_FAILURE.
pub(super) fn sftp_kind(e: &ssh2::Error, failure: ErrorKind, timeout: Duration) -> ErrorKind {
    match e.code() {
        ErrorCode::SFTP(FX_FAILURE) => failure,
        _ => session_kind(e, timeout),
    }
}

/// The kind for an SFTP status code; `other` for codes without a kind of their own.
pub(super) fn status_kind(code: i32, other: ErrorKind) -> ErrorKind {
    match code {
        FX_NO_SUCH_FILE | FX_NO_SUCH_PATH => ErrorKind::NotFound,
        FX_PERMISSION_DENIED => ErrorKind::PermissionDenied,
        FX_FILE_ALREADY_EXISTS => ErrorKind::AlreadyExists,
        FX_NO_SPACE_ON_FILESYSTEM | FX_QUOTA_EXCEEDED => ErrorKind::QuotaExceeded,
        FX_DIR_NOT_EMPTY => ErrorKind::NotEmpty,
        FX_NOT_A_DIRECTORY => ErrorKind::NotADirectory,
        FX_FILE_IS_A_DIRECTORY => ErrorKind::IsADirectory,
        FX_CONNECTION_LOST => ErrorKind::Disconnected,
        FX_OP_UNSUPPORTED => ErrorKind::Unsupported {
            what: "this operation (the server said so)".into(),
        },
        _ => other,
    }
}

/// ssh2-rs turns transfer errors into `io::Error`s that keep only libssh2's message; find the
/// SFTP status code again by that message.
pub(super) fn io_status(e: &io::Error) -> Option<i32> {
    let message = e.get_ref()?.to_string();
    (1..=31).find(|&code| ssh2::Error::from_errno(ErrorCode::SFTP(code)).message() == message)
}

/// The kind for an `io::Error` from an SFTP transfer; `failure` as in [`sftp_kind`].
pub(super) fn transfer_kind(e: &io::Error, failure: ErrorKind, timeout: Duration) -> ErrorKind {
    match io_status(e) {
        Some(FX_FAILURE) => failure,
        Some(code) => status_kind(code, net::io_kind(e, timeout)),
        None if e.kind() == IoKind::Other => ErrorKind::Disconnected,
        None => net::io_kind(e, timeout),
    }
}

/// Whatever the library said, as the message of a protocol error.
pub(super) fn generic(e: &ssh2::Error) -> ErrorKind {
    ErrorKind::Protocol {
        message: e.message().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_kinds() {
        let other = ErrorKind::Protocol {
            message: "x".into(),
        };
        assert_eq!(
            status_kind(FX_NO_SUCH_FILE, other.clone()),
            ErrorKind::NotFound
        );
        assert_eq!(
            status_kind(FX_PERMISSION_DENIED, other.clone()),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            status_kind(FX_QUOTA_EXCEEDED, other.clone()),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(status_kind(99, other.clone()), other);
        let e: io::Error = ssh2::Error::from_errno(ErrorCode::SFTP(FX_PERMISSION_DENIED)).into();
        assert_eq!(io_status(&e), Some(FX_PERMISSION_DENIED));
        assert_eq!(
            transfer_kind(
                &ssh2::Error::from_errno(ErrorCode::SFTP(FX_FAILURE)).into(),
                ErrorKind::QuotaExceeded,
                Duration::ZERO
            ),
            ErrorKind::QuotaExceeded
        );
    }
}

//! [`FtpTransport`]: FTP, explicit FTPS and implicit FTPS over one control connection
//! (suppaftp with rustls).

mod known_certs;
mod listing;
mod spares;
mod tls;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use suppaftp::types::{FileType as TransferType, Response};
use suppaftp::{FtpError, Mode, RustlsFtpStream, Status};

use self::spares::Spares;
use self::tls::Connector;
use super::fan_out::{fan_out, refuses_only_the_path};
use super::net::Watchdog;
use super::options::PASSWORD_ENV;
use super::progress::{CopyError, Progress};
use super::staging::{Staging, write_atomically};
use super::target::{FtpTarget, FtpTls, origin};
use super::{
    Capabilities, ConnectOptions, Credentials, Entry, Error, ErrorKind, Kind, Meta, Op, PinBroken,
    Prefetch, RemotePath, RenameMode, Result, Snapshot, Transport, Upload, WriteMode, net,
};

/// A site reached over FTP or FTPS.
///
/// Where it differs: FTP has no "create only if absent", so [`WriteMode::Create`] and
/// [`RenameMode::NoReplace`] look first and then rename (a race with another writer is
/// possible). `stat` lists the parent folder: with `STAT` over the control connection where
/// the server answers it (one round trip), else with `CWD` and `LIST` (a data connection).
/// Modification times come from listings: to the minute, or to the day for older files. Permission bits are reported
/// and kept (with `SITE CHMOD`) when the server says it is a UNIX system. It cannot run
/// commands.
///
/// Data connections are passive: `EPSV` if the server offers it, else `PASV`. Whatever address
/// a `PASV` reply names, data connections go to the control connection's address, as curl
/// does: servers behind NAT announce private addresses, and no server gets to point wprescue
/// at another host.
///
/// A [`Transport::prefetch`] goes over several control connections at once: up to
/// [`ConnectOptions::ftp_connections`] in all, the spares dialled beside the first and logged
/// in once its login has worked, and each takes the next listing or read as soon as it is free.
/// [`Transport::write_new_files`] and [`Transport::remove_each`] share their files among them
/// too. A server that refuses them costs nothing; everything else uses the first connection.
pub struct FtpTransport {
    ftp: RustlsFtpStream,
    origin: String,
    root: String,
    modes: bool,
    extended_passive: bool,
    /// Whether `STAT <folder>` lists folders (over the control connection, in one round
    /// trip); off for good once the server says it does not know the command, or lists an
    /// existing folder without its `.`.
    status_lists: bool,
    /// The folder the session stands in: the site folder, or the last one listed with `CWD`.
    cwd: String,
    progress: bool,
    timeout: Duration,
    spares: Spares,
}

impl std::fmt::Debug for FtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FtpTransport")
            .field("origin", &self.origin)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl FtpTransport {
    /// Connects (with TLS as the target says), logs in and checks that the site folder
    /// exists.
    pub fn connect(
        target: &FtpTarget,
        options: &ConnectOptions,
        credentials: &mut Credentials,
    ) -> Result<Self> {
        // The spares dial while this one does, and log in once it has.
        let mut spares = Spares::dial(target, options);
        let (scheme, origin) = scheme_and_origin(target);
        let (ftp, watchdog) = open_control(target, options, &origin)?;
        let connected = Self::set_up(
            ftp,
            target,
            options,
            credentials,
            Some(&mut spares),
            scheme,
            &origin,
        );
        let mut connected = watchdog.settle(connected, Op::Connect, &origin)?;
        connected.spares = spares;
        Ok(connected)
    }

    /// Login, transfer settings and the site folder, on a greeted control connection.
    fn set_up(
        mut ftp: RustlsFtpStream,
        target: &FtpTarget,
        options: &ConnectOptions,
        credentials: &mut Credentials,
        spares: Option<&mut Spares>,
        scheme: &str,
        origin: &str,
    ) -> Result<Self> {
        let timeout = options.timeout;
        let origin = log_in(&mut ftp, target, credentials, scheme, timeout, origin)?;
        // Only once the password has worked: spares trying a wrong one would count against
        // the account, where hosts lock an address out after a few failures.
        if let Some(spares) = spares {
            spares.log_in(credentials);
        }
        let fail = |e: FtpError| {
            Error::new(ftp_kind(&e, timeout), Op::Connect, origin.as_str()).with_source(e)
        };

        let features = ftp.feat().unwrap_or_default();
        if features.contains_key("UTF8") {
            // Some servers send names in a legacy code page until asked.
            let _ = ftp.custom_command("OPTS UTF8 ON", &[Status::CommandOk]);
        }
        let extended_passive = features.contains_key("EPSV");
        ftp.set_mode(if extended_passive {
            Mode::ExtendedPassive
        } else {
            Mode::Passive
        });
        ftp.transfer_type(TransferType::Binary).map_err(fail)?;
        let modes = ftp
            .custom_command("SYST", &[Status::Name])
            .is_ok_and(|r| reply(&r).1.contains("UNIX"));
        let login_dir = ftp.pwd().map_err(fail)?;
        let root = site_folder(&login_dir, &target.root);
        // The login folder exists and is where the session stands: no CWD to prove it.
        let checked = match root == login_dir {
            true => Ok(()),
            false => ftp.cwd(&root),
        };
        checked.map_err(|e| {
            let kind = match reply_code(&e) {
                Some(550) => ErrorKind::NotFound,
                _ => ftp_kind(&e, timeout),
            };
            Error::new(kind, Op::OpenSite, origin.as_str())
                .with_path(root.as_str())
                .with_source(e)
        })?;
        Ok(Self {
            ftp,
            origin,
            cwd: root.clone(),
            root,
            modes,
            extended_passive,
            status_lists: true,
            progress: options.progress,
            timeout,
            spares: Spares::default(),
        })
    }

    fn abs(&self, path: &RemotePath) -> String {
        path.under(&self.root)
    }

    fn fail(&self, kind: ErrorKind, op: Op, path: &RemotePath) -> Error {
        Error::new(kind, op, self.origin.as_str()).with_path(self.abs(path))
    }

    fn err(&self, e: FtpError, op: Op, path: &RemotePath) -> Error {
        self.fail(ftp_kind(&e, self.timeout), op, path)
            .with_source(e)
    }

    /// Runs a data command; if the server turns out not to understand `EPSV` after all,
    /// falls back to `PASV` for good and tries once more.
    fn data<R>(
        &mut self,
        mut command: impl FnMut(&mut RustlsFtpStream) -> suppaftp::FtpResult<R>,
    ) -> suppaftp::FtpResult<R> {
        match command(&mut self.ftp) {
            Err(FtpError::UnexpectedResponse(r))
                if self.extended_passive && matches!(reply(&r).0, 500..=504) =>
            {
                self.extended_passive = false;
                self.ftp.set_mode(Mode::Passive);
                command(&mut self.ftp)
            }
            other => other,
        }
    }

    /// The entries of the folder at absolute path `dir`.
    fn listing(&mut self, dir: &str) -> suppaftp::FtpResult<Vec<Entry>> {
        let mut unproven = false;
        if self.status_lists && listing::plain_for_a_command(dir) {
            // Pure-FTPd answers STAT by entering the folder and then going back to the one the
            // session stands in, and ends the session (`421 chdir: No such file or directory`)
            // if that one is gone: a folder listed earlier and removed or renamed since, by
            // this session or any other. The site folder stays.
            if self.cwd != self.root {
                self.ftp.cwd(&self.root)?;
                self.cwd.clone_from(&self.root);
            }
            // Not 211 among the codes expected: suppaftp would then stop reading at the first
            // line, as it does for FEAT, and leave the rest on the connection. A 211 reply
            // (ProFTPD) comes back whole as "unexpected".
            let codes = [Status::Directory, Status::File];
            match self.ftp.custom_command(format!("STAT {dir}"), &codes) {
                Ok(reply) | Err(FtpError::UnexpectedResponse(reply))
                    if matches!(
                        reply.status,
                        Status::System | Status::Directory | Status::File
                    ) =>
                {
                    match listing::parse_status(&reply.body) {
                        Some(entries) => return Ok(entries),
                        None => unproven = true,
                    }
                }
                Err(FtpError::UnexpectedResponse(r)) if matches!(reply(&r).0, 500..=504) => {
                    self.status_lists = false;
                }
                Ok(_) | Err(FtpError::UnexpectedResponse(_)) => {}
                Err(e) => return Err(e),
            }
        }
        // CWD, then LIST without a path: servers treat a LIST argument as a glob or as
        // options, which names with spaces, `*` or a leading `-` would trip.
        self.ftp.cwd(dir)?;
        dir.clone_into(&mut self.cwd);
        // The folder exists, yet its STAT listing had no `.` of its own: this server's STAT
        // never proves a folder (Pure-FTPd leaves dotfiles out), so it costs a round trip each
        // time for nothing.
        if unproven {
            self.status_lists = false;
        }
        let lines = self.data(bounded_list)?;
        Ok(listing::parse(&lines))
    }

    /// Whether something is at `path`, as cheaply as the server allows: `SIZE` is one round
    /// trip where a listing is four or five. Its 550 means no file there (a folder there
    /// would refuse the rename anyway); a server without `SIZE` gets the listing.
    fn file_may_exist(&mut self, path: &RemotePath) -> Result<bool> {
        match self.ftp.size(self.abs(path)) {
            Ok(_) => Ok(true),
            Err(e) if reply_code(&e) == Some(550) => Ok(false),
            Err(_) => Ok(self.stat(path)?.is_some()),
        }
    }

    /// Why the server refused something about `path` with a 550-like reply: it is missing,
    /// or it exists and we may not.
    fn refused(&mut self, path: &RemotePath) -> Result<ErrorKind> {
        Ok(match self.stat(path)? {
            None => ErrorKind::NotFound,
            Some(_) => ErrorKind::PermissionDenied,
        })
    }

    /// The kind for a refused upload into `target`'s folder.
    fn refused_upload(&mut self, e: &FtpError, target: &RemotePath) -> Result<ErrorKind> {
        Ok(match reply_code(e) {
            Some(550 | 553) => self.refused(&target.parent().unwrap_or_default())?,
            Some(451 | 452 | 552) => ErrorKind::QuotaExceeded,
            _ => ftp_kind(e, self.timeout),
        })
    }
}

/// The most a folder listing may take: some 400,000 entries, where a server that never ends
/// one would otherwise fill this machine's memory.
const LISTING_LIMIT: u64 = 32 << 20;

/// `LIST -a` in the current folder, read up to [`LISTING_LIMIT`] bytes.
fn bounded_list(ftp: &mut RustlsFtpStream) -> suppaftp::FtpResult<Vec<String>> {
    use std::io::Read;
    let (_, mut stream) =
        ftp.custom_data_command("LIST -a", &[Status::AboutToSend, Status::AlreadyOpen])?;
    let mut bytes = Vec::new();
    let read = (&mut stream)
        .take(LISTING_LIMIT + 1)
        .read_to_end(&mut bytes);
    if let Err(e) = read {
        return Err(FtpError::ConnectionError(e));
    }
    if bytes.len() as u64 > LISTING_LIMIT {
        // Dropping the stream closes the data connection; the control connection is then in
        // an unknown state, and the error ends the operation.
        return Err(FtpError::ConnectionError(std::io::Error::other(format!(
            "the folder listing is larger than {} MiB",
            LISTING_LIMIT >> 20
        ))));
    }
    stream.finish()?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .map(|line| line.trim_end_matches('\r').to_owned())
        .filter(|line| !line.is_empty())
        .collect())
}

/// The target's scheme (`ftp`, `ftps`, `ftps-implicit`) and its origin before login.
fn scheme_and_origin(target: &FtpTarget) -> (&'static str, String) {
    let scheme = match target.tls {
        FtpTls::None => "ftp",
        FtpTls::Explicit => "ftps",
        FtpTls::Implicit => "ftps-implicit",
    };
    (
        scheme,
        origin(scheme, target.user.as_deref(), &target.host, target.port),
    )
}

/// The control connection, with TLS if the target asks for it, not yet logged in, and the
/// deadline of the whole connection phase, running (settle it once logged in).
fn open_control(
    target: &FtpTarget,
    options: &ConnectOptions,
    origin: &str,
) -> Result<(RustlsFtpStream, Watchdog)> {
    let (tcp, watchdog) = net::dial(&target.host, target.port, options.timeout, origin)?;
    match greet(tcp, target, options, origin) {
        Ok(ftp) => Ok((ftp, watchdog)),
        Err(e) => watchdog.settle(Err(e), Op::Connect, origin),
    }
}

/// The server's greeting, and TLS if the target asks for it, on a connected socket.
fn greet(
    tcp: std::net::TcpStream,
    target: &FtpTarget,
    options: &ConnectOptions,
    origin: &str,
) -> Result<RustlsFtpStream> {
    let timeout = options.timeout;
    let fail = |kind, source: Option<Box<dyn std::error::Error + Send + Sync>>| {
        let err = Error::new(kind, Op::Connect, origin);
        match source {
            Some(source) => err.with_source(source),
            None => err,
        }
    };
    let pins = tls::Pins {
        host_port: format!("{}:{}", target.host, target.port),
        file: options.known_certs.clone(),
        accept: options.accept_tls_cert.clone(),
    };
    let (config, seen) = match target.tls {
        FtpTls::None => (None, None),
        FtpTls::Explicit | FtpTls::Implicit => {
            let (config, seen) = tls::client_config(&options.tls, &pins)
                .map_err(|message| fail(ErrorKind::Protocol { message }, None))?;
            (Some(config), Some(seen))
        }
    };
    let ftp_fail = |e: FtpError| {
        let mut kind = ftp_kind(&e, timeout);
        let seen = seen
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        if let ErrorKind::CertUntrusted {
            fingerprint,
            certificate,
            ..
        } = &mut kind
        {
            fingerprint.clone_from(&seen.fingerprint);
            certificate.clone_from(&seen.certificate);
        }
        if let (Some((pinned, file, line)), Some(presented)) = (seen.broken_pin, seen.fingerprint) {
            kind = ErrorKind::CertChanged(Box::new(PinBroken {
                host_port: pins.host_port.clone(),
                pinned,
                presented,
                file,
                line,
            }));
        }
        fail(kind, Some(e.into()))
    };
    let peer = tcp
        .peer_addr()
        .map_err(|e| fail(net::io_kind(&e, timeout), Some(e.into())))?;
    let mut ftp = match (&config, target.tls) {
        (Some(config), FtpTls::Implicit) => {
            // suppaftp opens the implicit-TLS socket itself, without a connect timeout; the
            // probe above has just shown the address answers, so this connect is quick.
            drop(tcp);
            let connector = Connector::new(config.clone(), timeout);
            let ftp = RustlsFtpStream::connect_secure_implicit(peer, connector, &target.host)
                .map_err(ftp_fail)?;
            protect_data(ftp).map_err(ftp_fail)?
        }
        _ => {
            tcp.set_read_timeout(Some(timeout))
                .and_then(|()| tcp.set_write_timeout(Some(timeout)))
                .map_err(|e| fail(net::io_kind(&e, timeout), Some(e.into())))?;
            if speaks_ssh(&tcp) {
                return Err(fail(
                    ErrorKind::Protocol {
                        message: "this port speaks SSH, not FTP".into(),
                    },
                    None,
                )
                .with_hint(format!(
                    "use sftp://{}{}:{}/ (or ssh:// to run commands too)",
                    target
                        .user
                        .as_deref()
                        .map(|u| format!("{u}@"))
                        .unwrap_or_default(),
                    target.host,
                    target.port
                )));
            }
            RustlsFtpStream::connect_with_stream(tcp).map_err(ftp_fail)?
        }
    };
    ftp = ftp.passive_stream_builder(move |announced| {
        open_data(data_address(announced, peer.ip()), timeout)
    });
    if let (Some(config), FtpTls::Explicit) = (config, target.tls) {
        ftp = ftp
            .into_secure(Connector::new(config, timeout), &target.host)
            .map_err(|e| match &e {
                FtpError::UnexpectedResponse(r) if matches!(reply(r).0, 500..=504 | 530 | 534) => {
                    let what = format!("explicit TLS (AUTH TLS was refused: {})", reply(r).1);
                    fail(ErrorKind::Unsupported { what }, None).with_hint(
                        "try ftps-implicit:// (port 990), or ftp:// if the host offers no TLS",
                    )
                }
                _ => ftp_fail(e),
            })?;
    }
    Ok(ftp)
}

/// Logs in with the user from the target or `~/.netrc`; returns the origin with that user.
fn log_in(
    ftp: &mut RustlsFtpStream,
    target: &FtpTarget,
    credentials: &mut Credentials,
    scheme: &str,
    timeout: Duration,
    origin_without_user: &str,
) -> Result<String> {
    let (user, password) = credentials.ftp_login(&target.host, target.user.as_deref());
    let Some(user) = user else {
        let hint = format!(
            "put the user into the target ({scheme}://USER@{}/...) or into ~/.netrc",
            target.host
        );
        let tried = Vec::new();
        return Err(Error::new(
            ErrorKind::AuthFailed { tried },
            Op::Authenticate,
            origin_without_user,
        )
        .with_hint(hint));
    };
    let origin = origin(scheme, Some(&user), &target.host, target.port);
    let fail = |kind| Error::new(kind, Op::Authenticate, origin.as_str());
    // FTP has no keys: the generic hint's --identity would send the user down a dead end.
    let password_hint = format!(
        "check the user name in the target; give the FTP password in {PASSWORD_ENV}, at the \
         prompt, or in ~/.netrc (machine {})",
        target.host
    );
    let Some(password) = password else {
        let tried = vec!["password (none given)".to_owned()];
        return Err(fail(ErrorKind::AuthFailed { tried }).with_hint(password_hint));
    };
    ftp.login(user.as_str(), password.expose())
        .map_err(|e| match &e {
            FtpError::UnexpectedResponse(r) if reply(r).0 == 530 && mentions_tls(&reply(r).1) => {
                let what = format!("plain FTP: {}", reply(r).1);
                fail(ErrorKind::Unsupported { what }).with_hint(
                    "use ftps:// (or ftps-implicit://): the server accepts logins over TLS only",
                )
            }
            FtpError::UnexpectedResponse(r) if reply(r).0 == 530 => {
                let tried = vec!["password".to_owned()];
                fail(ErrorKind::AuthFailed { tried })
                    .with_source(e)
                    .with_hint(password_hint.clone())
            }
            _ => fail(ftp_kind(&e, timeout)).with_source(e),
        })?;
    Ok(origin)
}

/// The site folder as an absolute path: the target's path if absolute, else below the
/// folder the server put us in after login.
fn site_folder(login_dir: &str, root: &str) -> String {
    let joined = if root.starts_with('/') {
        root.to_owned()
    } else if root.is_empty() {
        login_dir.to_owned()
    } else {
        format!("{}/{root}", login_dir.trim_end_matches('/'))
    };
    match joined.trim_end_matches('/') {
        "" => "/".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// `PBSZ 0` and `PROT P`: encrypt data connections too (explicit TLS does this in
/// `into_secure`; implicit TLS has to ask).
fn protect_data(mut ftp: RustlsFtpStream) -> suppaftp::FtpResult<RustlsFtpStream> {
    ftp.custom_command("PBSZ 0", &[Status::CommandOk])?;
    ftp.custom_command("PROT P", &[Status::CommandOk])?;
    Ok(ftp)
}

/// Where a passive data connection goes: the port the server announced, on the address the
/// control connection already reaches. The announced address is ignored: behind NAT it is a
/// private one, and a hostile server could name any host.
fn data_address(announced: SocketAddr, control_peer: IpAddr) -> SocketAddr {
    SocketAddr::new(control_peer, announced.port())
}

fn open_data(addr: SocketAddr, timeout: Duration) -> suppaftp::FtpResult<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(FtpError::ConnectionError)?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(FtpError::ConnectionError)?;
    Ok(stream)
}

/// Reply code and text. suppaftp knows only some codes by name; the rest arrive as
/// `Status::Unknown` with the code still at the start of the text.
fn reply(response: &Response) -> (u32, String) {
    let text = String::from_utf8_lossy(&response.body)
        .trim_end()
        .to_owned();
    let code = match response.status {
        Status::Unknown => text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0),
        status => status.code(),
    };
    (code, text)
}

fn reply_code(e: &FtpError) -> Option<u32> {
    match e {
        FtpError::UnexpectedResponse(r) => Some(reply(r).0),
        _ => None,
    }
}

/// Whether a rename was refused for its paths (one is missing, or may not be changed) rather
/// than lost on the way: 550 and 553, and also 451, which is not a reply RNTO has in RFC 959
/// but the one Pure-FTPd gives for every failed rename (`451 Rename/move failure: No such file
/// or directory`, or `...: Permission denied`).
fn rename_refused(e: &FtpError) -> bool {
    matches!(reply_code(e), Some(451 | 550 | 553))
}

fn mentions_tls(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ["encrypt", "tls", "ssl"].iter().any(|w| lower.contains(w))
}

/// Whether the server's first words are an SSH banner (`SSH-2.0-…`): an `ftp://` target
/// pointed at an SSH port, which suppaftp would report as a reply it cannot parse.
fn speaks_ssh(tcp: &std::net::TcpStream) -> bool {
    let mut first = [0u8; 4];
    matches!(tcp.peek(&mut first), Ok(4)) && &first == b"SSH-"
}

/// What is wrong with a certificate, in words.
fn certificate_reason(reason: &rustls::CertificateError) -> String {
    use rustls::CertificateError as E;
    match reason {
        E::UnknownIssuer => "signed by an authority this machine does not trust".into(),
        E::Expired | E::ExpiredContext { .. } => "it has expired".into(),
        E::NotValidYet | E::NotValidYetContext { .. } => "it is not valid yet".into(),
        E::NotValidForName | E::NotValidForNameContext { .. } => {
            "it was issued for another name than the one connected to".into()
        }
        E::ApplicationVerificationFailure => {
            "it is not the certificate accepted with --accept-tls-cert".into()
        }
        // webpki's words for a self-signed certificate presented as the server's own.
        other if format!("{other:?}").contains("CaUsedAsEndEntity") => "it is self-signed".into(),
        other => format!("{other:?}"),
    }
}

/// The kind for an FTP error; a bare 550 is taken for "not found" until the caller knows
/// better.
fn ftp_kind(e: &FtpError, timeout: Duration) -> ErrorKind {
    match e {
        FtpError::ConnectionError(io) => {
            let certificate = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .and_then(|tls| match tls {
                    rustls::Error::InvalidCertificate(reason) => Some(certificate_reason(reason)),
                    _ => None,
                });
            match certificate {
                Some(reason) => ErrorKind::CertUntrusted {
                    reason,
                    fingerprint: None,
                    certificate: None,
                },
                None => net::io_kind(io, timeout),
            }
        }
        FtpError::UnexpectedResponse(r) => {
            let (code, text) = reply(r);
            match code {
                421 => ErrorKind::Disconnected,
                452 | 552 => ErrorKind::QuotaExceeded,
                530 | 553 => ErrorKind::PermissionDenied,
                550 => ErrorKind::NotFound,
                502 | 504 => ErrorKind::Unsupported { what: text },
                _ => ErrorKind::Protocol { message: text },
            }
        }
        other => ErrorKind::Protocol {
            message: other.to_string(),
        },
    }
}

impl Transport for FtpTransport {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn root(&self) -> &str {
        &self.root
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exec: false,
            modes: self.modes,
        }
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let abs = self.abs(dir);
        match self.listing(&abs) {
            Ok(entries) => Ok(entries),
            Err(e) if reply_code(&e) == Some(550) => {
                let kind = match self.stat(dir)? {
                    None => ErrorKind::NotFound,
                    Some(Meta {
                        kind: Kind::Dir, ..
                    }) => ErrorKind::PermissionDenied,
                    Some(_) => ErrorKind::NotADirectory,
                };
                Err(self.fail(kind, Op::List, dir).with_source(e))
            }
            Err(e) => Err(self.err(e, Op::List, dir)),
        }
    }

    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            // The root was checked with CWD at connect.
            return Ok(Some(Meta {
                kind: Kind::Dir,
                size: 0,
                mtime: None,
                mode: None,
            }));
        };
        match self.listing(&self.abs(&parent)) {
            Ok(entries) => Ok(entries.into_iter().find(|e| e.name == name).map(|e| e.meta)),
            // The parent cannot be entered: nothing is there, unless it is a folder we may
            // not enter.
            Err(e) if reply_code(&e) == Some(550) => match self.stat(&parent)? {
                Some(Meta {
                    kind: Kind::Dir, ..
                }) => Err(self
                    .fail(ErrorKind::PermissionDenied, Op::Stat, path)
                    .with_source(e)),
                _ => Ok(None),
            },
            Err(e) => Err(self.err(e, Op::Stat, path)),
        }
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        let abs = self.abs(path);
        let size = match Progress::can_show(self.progress) {
            true => self.ftp.size(&abs).ok().map(|s| s as u64),
            false => None,
        };
        let mut stream = match self.data(|ftp| ftp.retr_as_stream(&abs)) {
            Ok(stream) => stream,
            Err(e) if reply_code(&e) == Some(550) => {
                let kind = match self.stat(path)? {
                    None => ErrorKind::NotFound,
                    Some(Meta {
                        kind: Kind::Dir, ..
                    }) => ErrorKind::IsADirectory,
                    Some(_) => ErrorKind::PermissionDenied,
                };
                return Err(self.fail(kind, Op::Read, path).with_source(e));
            }
            Err(e) => return Err(self.err(e, Op::Read, path)),
        };
        let mut progress = Progress::new(self.progress, format!("download {path}"), size);
        let copied = progress.copy(&mut stream, sink).map_err(|e| match e {
            CopyError::Source(e) => self
                .fail(net::io_kind(&e, self.timeout), Op::Read, path)
                .with_source(e),
            CopyError::Sink(e) => self.fail(ErrorKind::LocalIo, Op::Read, path).with_source(e),
        });
        let finished = stream.finish().map_err(|e| self.err(e, Op::Read, path));
        let n = copied?;
        finished?;
        Ok(n)
    }

    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> Result<()> {
        write_atomically(self, path, data, mode)
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        if mode == RenameMode::NoReplace && self.stat(to)?.is_some() {
            return Err(self.fail(ErrorKind::AlreadyExists, Op::Rename, to));
        }
        let (src, dst) = (self.abs(from), self.abs(to));
        match self.ftp.rename(&src, &dst) {
            Ok(()) => Ok(()),
            Err(e) if rename_refused(&e) => {
                let (kind, at) = match self.refused(from)? {
                    ErrorKind::NotFound => (ErrorKind::NotFound, from),
                    _ => match self.refused(&to.parent().unwrap_or_default())? {
                        ErrorKind::NotFound => (ErrorKind::NotFound, to),
                        kind => (kind, from),
                    },
                };
                Err(self.fail(kind, Op::Rename, at).with_source(e))
            }
            Err(e) => Err(self.err(e, Op::Rename, from)),
        }
    }

    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        let abs = self.abs(path);
        match self.ftp.mkdir(&abs) {
            Ok(()) => Ok(()),
            Err(e) if matches!(reply_code(&e), Some(550 | 553 | 521)) => {
                let kind = match self.stat(path)? {
                    Some(_) => ErrorKind::AlreadyExists,
                    None => self.refused(&path.parent().unwrap_or_default())?,
                };
                Err(self.fail(kind, Op::Mkdir, path).with_source(e))
            }
            Err(e) => Err(self.err(e, Op::Mkdir, path)),
        }
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let abs = self.abs(path);
        // Most removals are of files: try DELE, then RMD, and only list the parent to learn
        // why when both are refused.
        let result = match self.ftp.rm(&abs) {
            Err(e) if reply_code(&e) == Some(550) => match self.ftp.rmdir(&abs) {
                Err(e) if reply_code(&e) == Some(550) && self.stat(path)?.is_none() => {
                    return Err(self.fail(ErrorKind::NotFound, Op::Remove, path));
                }
                other => other,
            },
            other => other,
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if reply_code(&e) == Some(550) => {
                let full = self.list(path).is_ok_and(|entries| !entries.is_empty());
                let kind = if full {
                    ErrorKind::NotEmpty
                } else {
                    ErrorKind::PermissionDenied
                };
                Err(self.fail(kind, Op::Remove, path).with_source(e))
            }
            Err(e) => Err(self.err(e, Op::Remove, path)),
        }
    }

    fn write_new_files(&mut self, files: &[(RemotePath, &[u8])]) -> Result<()> {
        self.side_by_side(files, |t, (path, data)| {
            t.write(path, Upload::bytes(data), WriteMode::InPlace)
        })
        .into_iter()
        .collect()
    }

    fn remove_each(&mut self, paths: &[RemotePath]) -> Vec<Result<()>> {
        self.side_by_side(paths, |t, path| t.remove(path))
    }

    fn prefetch(&mut self, wanted: &Prefetch) -> Result<Option<Snapshot>> {
        // The spares are taken out for the walk: it borrows this connection as its first.
        let mut spares = std::mem::take(&mut self.spares);
        let root = self.root.clone();
        let (snapshot, walked, back) = fan_out(self, &mut || spares.next(&root), wanted);
        spares.put_back(back);
        self.spares = spares;
        tracing::debug!(
            connections = walked.connections,
            requests = walked.requests,
            longest = walked.longest,
            "prefetched"
        );
        Ok(Some(snapshot))
    }
}

impl FtpTransport {
    /// `op` on each of `items`, over this connection and the spares ready now, item `i` over
    /// connection `i` modulo their number; the results in the items' order.
    fn side_by_side<I: Sync>(
        &mut self,
        items: &[I],
        op: impl Fn(&mut FtpTransport, &I) -> Result<()> + Sync,
    ) -> Vec<Result<()>> {
        let mut spares = std::mem::take(&mut self.spares);
        let root = self.root.clone();
        let mut helpers: Vec<FtpTransport> = std::iter::from_fn(|| spares.next(&root))
            .take(items.len().saturating_sub(1))
            .collect();
        let every = helpers.len() + 1;
        let op = &op;
        let share = move |t: &mut FtpTransport, from: usize| -> Vec<Result<()>> {
            items
                .iter()
                .skip(from)
                .step_by(every)
                .map(|item| op(t, item))
                .collect()
        };
        let shares: Vec<Vec<Result<()>>> = std::thread::scope(|scope| {
            let theirs: Vec<_> = helpers
                .iter_mut()
                .enumerate()
                .map(|(i, helper)| scope.spawn(move || share(helper, i + 1)))
                .collect();
            let mine = share(self, 0);
            std::iter::once(mine)
                .chain(theirs.into_iter().map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }))
                .collect()
        });
        // A spare that failed other than by a refusal may be mid-reply: it is not used again.
        let fit = |results: &Vec<Result<()>>| {
            results.iter().all(|r| {
                r.as_ref()
                    .err()
                    .is_none_or(|e| refuses_only_the_path(e.kind()))
            })
        };
        let healthy: Vec<FtpTransport> = helpers
            .into_iter()
            .zip(&shares[1..])
            .filter_map(|(helper, results)| fit(results).then_some(helper))
            .collect();
        spares.put_back(healthy);
        self.spares = spares;
        // Back into the items' order: the k-th result of share j is item j + k·every.
        let mut shares: Vec<_> = shares.into_iter().map(Vec::into_iter).collect();
        (0..items.len())
            .filter_map(|i| shares[i % every].next())
            .collect()
    }
}

impl Staging for FtpTransport {
    fn upload_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mut data: Upload<'_>,
        mode: u32,
    ) -> Result<()> {
        let abs = self.abs(staging);
        let mut stream = match self.data(|ftp| ftp.put_with_stream(&abs)) {
            Ok(stream) => stream,
            Err(e) => {
                let kind = self.refused_upload(&e, target)?;
                return Err(self.fail(kind, Op::Write, target).with_source(e));
            }
        };
        let mut progress = Progress::new(self.progress, format!("upload {target}"), data.len);
        let copied = progress.copy(&mut data.reader, &mut stream);
        // Closing the data connection ends the upload; the reply says how it went (a full
        // disk shows up here, as 451, 452 or 552).
        let finished = stream.finish();
        match (copied, finished) {
            (Err(CopyError::Source(e)), _) => {
                return Err(self
                    .fail(ErrorKind::LocalIo, Op::Write, target)
                    .with_source(e));
            }
            (_, Err(e)) => {
                let kind = self.refused_upload(&e, target)?;
                return Err(self.fail(kind, Op::Write, target).with_source(e));
            }
            (Err(CopyError::Sink(e)), Ok(())) => {
                return Err(self
                    .fail(net::io_kind(&e, self.timeout), Op::Write, target)
                    .with_source(e));
            }
            (Ok(_), Ok(())) => {}
        }
        if self.modes
            && let Err(e) = self.ftp.site(format!("CHMOD {mode:o} {abs}"))
        {
            // Fine if the server's default already gave the file this mode; never let a
            // replaced file silently end up with other permissions.
            let got = self.stat(staging)?.and_then(|m| m.mode);
            if got != Some(mode) {
                return Err(self
                    .fail(
                        ErrorKind::Unsupported {
                            what: format!("setting mode {mode:o} (the server refuses SITE CHMOD)"),
                        },
                        Op::Write,
                        target,
                    )
                    .with_source(e));
            }
        }
        Ok(())
    }

    fn commit_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mode: WriteMode,
    ) -> Result<()> {
        if mode == WriteMode::Create && self.file_may_exist(target)? {
            return Err(self.fail(ErrorKind::AlreadyExists, Op::Write, target));
        }
        let (src, dst) = (self.abs(staging), self.abs(target));
        self.ftp.rename(&src, &dst).map_err(|e| {
            let kind = match rename_refused(&e) {
                true => ErrorKind::PermissionDenied,
                false => ftp_kind(&e, self.timeout),
            };
            self.fail(kind, Op::Write, target).with_source(e)
        })
    }

    fn discard_staged(&mut self, staging: &RemotePath) {
        let abs = self.abs(staging);
        let _ = self.ftp.rm(&abs);
    }
}

impl Drop for FtpTransport {
    fn drop(&mut self) {
        // Polite goodbye; the server would time the session out anyway. Each QUIT waits for
        // its reply, so the spares say theirs at the same time as this one.
        let spares = std::mem::take(&mut self.spares);
        std::thread::scope(|scope| {
            scope.spawn(|| drop(spares));
            let _ = self.ftp.quit();
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread;

    use super::super::{Secret, TransportExt};
    use super::*;

    #[test]
    fn data_goes_to_the_control_address_whatever_pasv_says() {
        let control: IpAddr = "203.0.113.7".parse().unwrap();
        for announced in [
            "10.1.2.3:40001",
            "192.168.0.5:40001",
            "0.0.0.0:40001",
            "203.0.113.9:40001",
        ] {
            let announced: SocketAddr = announced.parse().unwrap();
            assert_eq!(
                data_address(announced, control),
                SocketAddr::new(control, 40001)
            );
        }
    }

    #[test]
    fn site_folder_is_below_the_login_folder_unless_absolute() {
        assert_eq!(site_folder("/", "public_html"), "/public_html");
        assert_eq!(
            site_folder("/home/wp", "public_html/"),
            "/home/wp/public_html"
        );
        assert_eq!(site_folder("/home/wp", ""), "/home/wp");
        assert_eq!(site_folder("/home/wp", "/srv/site"), "/srv/site");
        assert_eq!(site_folder("/", ""), "/");
    }

    #[test]
    fn reply_codes_and_kinds() {
        let unknown = Response::new(
            Status::Unknown,
            b"522 SSL connection failed: session reuse required\r\n".to_vec(),
        );
        assert_eq!(reply(&unknown).0, 522);
        let t = Duration::from_secs(1);
        let kind = |code: u32, text: &str| {
            ftp_kind(
                &FtpError::UnexpectedResponse(Response::new(
                    Status::from(code),
                    format!("{code} {text}").into_bytes(),
                )),
                t,
            )
        };
        assert_eq!(
            kind(552, "Exceeded storage allocation"),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(
            kind(553, "Could not create file."),
            ErrorKind::PermissionDenied
        );
        assert_eq!(kind(421, "Timeout."), ErrorKind::Disconnected);
        assert!(mentions_tls(
            "530 Non-anonymous sessions must use encryption."
        ));
    }

    /// A scripted FTP server on loopback; connected to, with the commands it saw once the
    /// client quits. It offers EPSV but refuses it, and its PASV reply names 127.0.0.2, where
    /// nothing listens (the data listener is on 127.0.0.1 only): a listing can only arrive if
    /// the client falls back to PASV and dials the control connection's address instead.
    /// Nothing leaves loopback, even if the client were wrong. Each LIST sends `listing`.
    /// `STAT <folder>` is answered as Pure-FTPd does: no `.` entry (so the client lists with
    /// `CWD` and `LIST`), and `421` and the end of the session if the folder the session
    /// stands in was removed.
    fn scripted(listing: fn(&mut TcpStream)) -> (FtpTransport, thread::JoinHandle<Vec<String>>) {
        let control = TcpListener::bind("127.0.0.1:0").unwrap();
        let data = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = control.local_addr().unwrap().port();
        let data_port = data.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (socket, _) = control.accept().unwrap();
            let mut lines = BufReader::new(socket.try_clone().unwrap());
            let mut out = socket;
            let mut commands = Vec::new();
            let (mut cwd, mut removed) = ("/".to_owned(), Vec::new());
            out.write_all(b"220 scripted\r\n").unwrap();
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                let command = line.trim_end().to_owned();
                line.clear();
                let (verb, argument) = command.split_once(' ').unwrap_or((&command, ""));
                let verb = verb.to_ascii_uppercase();
                commands.push(verb.clone());
                let answer = match verb.as_str() {
                    "USER" => "331 password please".to_owned(),
                    "PASS" => "230 logged in".to_owned(),
                    "FEAT" => "211-Features:\r\n EPSV\r\n PASV\r\n211 End".to_owned(),
                    "SYST" => "215 UNIX Type: L8".to_owned(),
                    "PWD" => "257 \"/\" is the current directory".to_owned(),
                    "TYPE" | "OPTS" => "200 ok".to_owned(),
                    "CWD" => {
                        cwd = argument.to_owned();
                        "250 ok".to_owned()
                    }
                    "DELE" => "550 not a file".to_owned(),
                    "RMD" => {
                        removed.push(argument.to_owned());
                        "250 removed".to_owned()
                    }
                    "STAT" if removed.contains(&cwd) => {
                        let _ = out.write_all(b"421 chdir: No such file or directory\r\n");
                        break;
                    }
                    "STAT" => "213-STAT\r\n213 End.".to_owned(),
                    "RNFR" => "350 RNFR accepted - file exists, ready for destination".to_owned(),
                    "RNTO" => "451 Rename/move failure: No such file or directory".to_owned(),
                    "EPSV" => "502 EPSV not implemented here".to_owned(),
                    "PASV" => format!(
                        "227 Entering Passive Mode (127,0,0,2,{},{})",
                        data_port >> 8,
                        data_port & 0xff
                    ),
                    "LIST" => {
                        out.write_all(b"150 here it comes\r\n").unwrap();
                        let (mut conn, _) = data.accept().unwrap();
                        listing(&mut conn);
                        drop(conn);
                        "226 done".to_owned()
                    }
                    "QUIT" => {
                        let _ = out.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => "502 not scripted".to_owned(),
                };
                if out.write_all(format!("{answer}\r\n").as_bytes()).is_err() {
                    break;
                }
            }
            commands
        });
        (connect_to(port, Duration::from_secs(5)).unwrap(), server)
    }

    /// Plain FTP to a server on loopback `port`, as user `wp`.
    fn connect_to(port: u16, timeout: Duration) -> Result<FtpTransport> {
        let target = FtpTarget {
            host: "127.0.0.1".into(),
            port,
            user: Some("wp".into()),
            root: String::new(),
            tls: FtpTls::None,
        };
        let options = ConnectOptions {
            timeout,
            // These scripted servers take one connection.
            ftp_connections: 1,
            ..ConnectOptions::default()
        };
        let mut credentials = Credentials::none().with_password(Secret::new("pw"));
        FtpTransport::connect(&target, &options, &mut credentials)
    }

    #[test]
    fn a_server_that_drips_its_greeting_meets_the_connection_deadline() {
        let control = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = control.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut socket, _) = control.accept().unwrap();
            // A byte every 200 ms: no single read ever waits a whole second.
            for byte in b"220 hello".iter().cycle() {
                if socket.write_all(&[*byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(200));
            }
        });
        let err = connect_to(port, Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Timeout {
                after: Duration::from_secs(3)
            },
            "{err}"
        );
    }

    #[test]
    fn a_listing_that_never_ends_stops_at_its_limit() {
        let (mut t, server) = scripted(|conn| {
            let line = b"-rw-r--r--    1 0 0 5 Nov 27 21:08 again-and-again.txt\r\n";
            while conn.write_all(line).is_ok() {}
        });
        let err = t.list(&RemotePath::root()).unwrap_err();
        assert!(format!("{err:#}").contains("larger than 32 MiB"), "{err:#}");
        drop(t);
        server.join().unwrap();
    }

    #[test]
    fn epsv_refused_and_foreign_pasv_address_still_list() {
        let (mut t, server) = scripted(|conn| {
            conn.write_all(b"-rw-r--r--    1 0 0 5 Nov 27 21:08 hello.txt\r\n")
                .unwrap();
        });
        let entries = t.list(&RemotePath::root()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].name.as_str(), entries[0].meta.size),
            ("hello.txt", 5)
        );
        assert!(t.exists(&RemotePath::new("hello.txt").unwrap()).unwrap());
        drop(t);
        let commands = server.join().unwrap();
        let epsv = commands
            .iter()
            .position(|c| c == "EPSV")
            .expect("EPSV tried first");
        let pasv = commands
            .iter()
            .position(|c| c == "PASV")
            .expect("then PASV");
        assert!(epsv < pasv, "{commands:?}");
        assert_eq!(
            commands.iter().filter(|c| *c == "EPSV").count(),
            1,
            "EPSV given up for good"
        );
    }

    /// A folder listed (the session stood in it) and removed since: the next `STAT` goes
    /// from the site folder, or Pure-FTPd would end the session.
    #[test]
    fn a_listed_folder_removed_since_does_not_end_the_session() {
        let (mut t, server) = scripted(|conn| {
            conn.write_all(b"drwxr-xr-x    2 0 0 4096 Nov 27 21:08 .\r\n")
                .unwrap();
        });
        let folder = RemotePath::new("old").unwrap();
        assert!(t.list(&folder).unwrap().is_empty());
        t.remove(&folder).unwrap();
        t.list(&RemotePath::root()).unwrap();
        drop(t);
        let commands = server.join().unwrap();
        assert_eq!(commands.last().unwrap(), "QUIT", "{commands:?}");
    }

    /// A server whose STAT listings never show the folder's own `.` (Pure-FTPd) is listed with
    /// `CWD` + `LIST` from then on: its STAT proves nothing and costs a round trip.
    #[test]
    fn a_stat_that_proves_nothing_is_asked_once() {
        let (mut t, server) = scripted(|conn| {
            conn.write_all(b"-rw-r--r--    1 0 0 5 Nov 27 21:08 a.txt\r\n")
                .unwrap();
        });
        for _ in 0..2 {
            let names: Vec<String> = t
                .list(&RemotePath::new("site").unwrap())
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect();
            assert_eq!(names, ["a.txt"]);
        }
        drop(t);
        let commands = server.join().unwrap();
        assert_eq!(
            commands.iter().filter(|c| *c == "STAT").count(),
            1,
            "{commands:?}"
        );
    }

    /// Pure-FTPd refuses a rename into a missing folder with 451 (not with 550, and not
    /// because anything is full or busy): the folder is missing.
    #[test]
    fn a_rename_refused_with_451_names_what_is_missing() {
        let (mut t, server) = scripted(|conn| {
            conn.write_all(b"-rw-r--r--    1 0 0 5 Nov 27 21:08 a.txt\r\n")
                .unwrap();
        });
        let to = RemotePath::new("missing/a.txt").unwrap();
        let err = t
            .rename(&RemotePath::new("a.txt").unwrap(), &to, RenameMode::Replace)
            .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.path(), Some("/missing/a.txt"), "{err}");
        drop(t);
        server.join().unwrap();
    }
}

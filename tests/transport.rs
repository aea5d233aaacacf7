//! The transport layer against the sandbox's real servers: OpenSSH (sftp:// and ssh://),
//! vsftpd plain FTP, explicit FTPS and implicit FTPS (with `require_ssl_reuse`), and the FTP
//! servers of the big hosting panels, each with plain FTP and explicit FTPS on one port:
//! Pure-FTPd (cPanel; dotfiles hidden from listings) and ProFTPD (Plesk; TLS session reuse
//! required on data connections).
//!
//! Every protocol runs the same conformance functions as the memory and local transports'
//! unit tests, then its own error cases. Each test works in `transport-tests/<name>` below
//! the account's home folder (the FTP login folder is that home, chrooted), holds the sandbox
//! lock, and removes its folder at the end.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use wprescue::transport::{
    Cached, ConnectOptions, Credentials, DEFAULT_FTP_CONNECTIONS, FtpTls, Secret, SshConfig,
    StatBy, Target, TlsTrust, connect, fingerprint,
};
// The conformance checks (compiled here by path, see `integration.rs`) name these as
// `crate::transport::…`, as they do inside the library.
pub use wprescue::transport::{
    Capabilities, Entry, Error, ErrorKind, Kind, Op, Prefetch, RemotePath, RenameMode, Result,
    Transport, TransportExt, Upload, WriteMode, is_staging_name,
};

use crate::conformance;
use crate::harness::{Protocol, Sandbox};
use crate::test::Test;

/// The ways into the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// SFTP, logging in with the sandbox key.
    Sftp,
    /// SFTP and commands, logging in with the password.
    Ssh,
    Ftp,
    Ftps,
    FtpsImplicit,
    /// Pure-FTPd, plain FTP.
    PureFtpd,
    /// Pure-FTPd, explicit FTPS on the same port.
    PureFtpdTls,
    /// ProFTPD, plain FTP.
    ProFtpd,
    /// ProFTPD, explicit FTPS on the same port.
    ProFtpdTls,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Self::Sftp => "sftp",
            Self::Ssh => "ssh",
            Self::Ftp => "ftp",
            Self::Ftps => "ftps",
            Self::FtpsImplicit => "ftps-implicit",
            Self::PureFtpd => "pureftpd",
            Self::PureFtpdTls => "pureftpd-ftps",
            Self::ProFtpd => "proftpd",
            Self::ProFtpdTls => "proftpd-ftps",
        }
    }

    /// The target URL's scheme.
    fn scheme(self) -> &'static str {
        match self {
            Self::PureFtpd | Self::ProFtpd => "ftp",
            Self::PureFtpdTls | Self::ProFtpdTls => "ftps",
            other => other.name(),
        }
    }

    fn is_ssh(self) -> bool {
        matches!(self, Self::Sftp | Self::Ssh)
    }

    fn port(self, sb: &Sandbox) -> String {
        sb.env(match self {
            Self::Sftp | Self::Ssh => "SANDBOX_SSH_PORT",
            Self::Ftp => "SANDBOX_FTP_PORT",
            Self::Ftps => "SANDBOX_FTPS_PORT",
            Self::FtpsImplicit => "SANDBOX_FTPS_IMPLICIT_PORT",
            Self::PureFtpd | Self::PureFtpdTls => "SANDBOX_PUREFTPD_PORT",
            Self::ProFtpd | Self::ProFtpdTls => "SANDBOX_PROFTPD_PORT",
        })
    }

    fn host(self, sb: &Sandbox) -> String {
        sb.env(if self.is_ssh() {
            "SANDBOX_SSH_HOST"
        } else {
            "SANDBOX_FTP_HOST"
        })
    }

    /// The target URL for folder `root`, relative to the home (= FTP login) folder.
    fn url(self, sb: &Sandbox, root: &str) -> String {
        let path = if self.is_ssh() {
            format!("~/{root}")
        } else {
            root.to_owned()
        };
        format!(
            "{}://{}@{}:{}/{path}",
            self.scheme(),
            sb.env("SANDBOX_USER"),
            self.host(sb),
            self.port(sb)
        )
    }

    fn capabilities(self) -> Capabilities {
        Capabilities {
            exec: self == Self::Ssh,
            modes: true,
        }
    }
}

/// Options that trust exactly the sandbox: its known_hosts and its CA, nothing of the
/// machine's own, and never an agent.
fn options(sb: &Sandbox, proto: Proto) -> ConnectOptions {
    ConnectOptions {
        timeout: Duration::from_secs(20),
        identity_files: if proto == Proto::Sftp {
            vec![PathBuf::from(sb.env("SANDBOX_SSH_KEY"))]
        } else {
            Vec::new()
        },
        known_hosts: vec![PathBuf::from(sb.env("SANDBOX_SSH_KNOWN_HOSTS"))],
        accept_host_key: None,
        use_agent: false,
        tls: TlsTrust::CaFile(PathBuf::from(sb.env("SANDBOX_TLS_CA"))),
        accept_tls_cert: None,
        known_certs: None,
        progress: false,
        ftp_connections: DEFAULT_FTP_CONNECTIONS,
    }
}

/// sftp:// logs in by key alone; everything else gets the password.
fn credentials(sb: &Sandbox, proto: Proto) -> Credentials {
    match proto {
        Proto::Sftp => Credentials::none(),
        _ => Credentials::none().with_password(Secret::new(sb.env("SANDBOX_PASSWORD"))),
    }
}

fn target(sb: &Sandbox, proto: Proto, root: &str) -> Target {
    Target::parse(&proto.url(sb, root), &SshConfig::default()).unwrap()
}

fn open_at(sb: &Sandbox, proto: Proto, root: &str) -> Box<dyn Transport> {
    connect(
        &target(sb, proto, root),
        &options(sb, proto),
        &mut credentials(sb, proto),
    )
    .unwrap_or_else(|e| panic!("{}: {e}\nhint: {:?}", proto.name(), e.hint()))
}

fn path(p: &str) -> RemotePath {
    RemotePath::new(p).unwrap()
}

/// A fresh, empty `transport-tests/<name>` folder, as a path below the home folder.
fn scratch(t: &mut dyn Transport, name: &str) -> RemotePath {
    let dir = path(&format!("transport-tests/{name}"));
    if t.exists(&dir).unwrap() {
        t.remove_all(&dir).unwrap();
    }
    t.mkdir_all(&dir).unwrap();
    dir
}

fn conformance_suite(proto: Proto) {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, proto, "");
    let mut observer = open_at(&sb, proto, "");
    let dir = scratch(t.as_mut(), &format!("{}-conformance", proto.name()));
    conformance::run_all(t.as_mut(), observer.as_mut(), &proto.capabilities(), &dir);
    t.remove_all(&dir).unwrap();
}

/// The same promises hold through the cache every session puts in front of its transport.
fn conformance_suite_cached(proto: Proto) {
    let sb = Sandbox::lock();
    let stat_by = if proto.is_ssh() {
        StatBy::Path
    } else {
        StatBy::Listing
    };
    let mut t = Cached::new(open_at(&sb, proto, ""), stat_by);
    let mut observer = open_at(&sb, proto, "");
    let dir = scratch(&mut t, &format!("{}-conformance-cached", proto.name()));
    conformance::run_all(&mut t, observer.as_mut(), &proto.capabilities(), &dir);
    t.remove_all(&dir).unwrap();
}

fn keeps_mode(proto: Proto) {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, proto, "");
    let dir = scratch(t.as_mut(), &format!("{}-mode", proto.name()));
    let file = dir.join("wp-config.php").unwrap();
    t.write_bytes(&file, b"<?php // secrets", WriteMode::Create)
        .unwrap();
    // The interface has no chmod; the sandbox is on this machine.
    let local = Path::new(&sb.env("SANDBOX_HOME")).join(file.as_str());
    fs::set_permissions(&local, fs::Permissions::from_mode(0o640)).unwrap();
    conformance::write_replace_keeps_mode(t.as_mut(), &file, 0o640);
    t.remove_all(&dir).unwrap();
}

fn permission_denied(proto: Proto) {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, proto, "");
    let protected = Path::new(&sb.env("SANDBOX_PROTECTED_DIR"))
        .strip_prefix(sb.env("SANDBOX_HOME"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let dir = path(&protected);
    conformance::permission_denied(
        t.as_mut(),
        &dir,
        &dir.join("readonly.txt").unwrap(),
        &dir.join("secret.txt").unwrap(),
    );
}

fn round_trip_50mb(proto: Proto) {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, proto, "");
    let dir = scratch(t.as_mut(), &format!("{}-round-trip", proto.name()));
    let rt = conformance::round_trip_sha256(t.as_mut(), &dir, 50_000_000);
    eprintln!(
        "THROUGHPUT {}: 50 MB up {:.1} MB/s ({:.2} s), down {:.1} MB/s ({:.2} s), \
         round trip {:.1} MB/s",
        proto.name(),
        rt.upload_mb_s(),
        rt.upload.as_secs_f64(),
        rt.download_mb_s(),
        rt.download.as_secs_f64(),
        rt.round_trip_mb_s()
    );
    t.remove_all(&dir).unwrap();
}

fn missing_site_folder(proto: Proto) {
    let sb = Sandbox::lock();
    let e = connect(
        &target(&sb, proto, "transport-tests/no such site"),
        &options(&sb, proto),
        &mut credentials(&sb, proto),
    )
    .unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.op(), Op::OpenSite);
    assert!(
        e.path().unwrap().ends_with("transport-tests/no such site"),
        "{e}"
    );
    assert!(e.hint().is_some());
}

fn wrong_password(proto: Proto) {
    let sb = Sandbox::lock();
    let mut options = options(&sb, proto);
    options.identity_files.clear();
    // No key files at all, so only the password can be tried.
    let no_keys = tempfile::tempdir().unwrap();
    options.identity_files.push(no_keys.path().join("absent"));
    let mut wrong = Credentials::none().with_password(Secret::new("not-the-password"));
    let e = connect(&target(&sb, proto, ""), &options, &mut wrong).unwrap_err();
    let ErrorKind::AuthFailed { tried } = e.kind() else {
        panic!("{}: expected AuthFailed, got {e}", proto.name());
    };
    assert!(
        tried
            .iter()
            .any(|m| m == "password" || m == "keyboard-interactive"),
        "{tried:?}"
    );
    assert_eq!(e.op(), Op::Authenticate);
    assert!(
        e.to_string().contains(&sb.env("SANDBOX_USER")),
        "names the account: {e}"
    );
    assert!(
        !format!("{e:?}{e}").contains("not-the-password"),
        "no secret in errors"
    );
    let hint = e.hint().unwrap_or_default();
    if !proto.is_ssh() {
        // FTP has no keys: the hint must not send the user to --identity.
        assert!(
            hint.contains("~/.netrc") && !hint.contains("--identity"),
            "{hint}"
        );
    } else {
        assert!(hint.contains("--identity"), "{hint}");
    }
}

/// A 1 MiB tmpfs mounted over a folder of the site, so uploads hit "disk full" for real.
/// Unmounted on drop (also when the test panics), since `sandbox reset` cannot delete a
/// mount point.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(sb: &Sandbox, below_home: &str) -> Self {
        let home = PathBuf::from(sb.env("SANDBOX_HOME"));
        let owner = fs::metadata(&home).unwrap();
        let dir = home.join(below_home);
        // Left over from a run that was killed: unmount it first.
        let _ = Command::new("umount")
            .arg(&dir)
            .stderr(Stdio::null())
            .status();
        // As the account would make them: a folder root made here would refuse the account's
        // next test its subfolders (`transport-tests/`).
        let mut made = Vec::new();
        let mut missing = dir.as_path();
        while !missing.exists() {
            made.push(missing.to_owned());
            missing = missing.parent().unwrap();
        }
        fs::create_dir_all(&dir).unwrap();
        for folder in made {
            std::os::unix::fs::chown(&folder, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!(
                "size=1m,mode=0755,uid={},gid={}",
                owner.uid(),
                owner.gid()
            ))
            .arg("tmpfs")
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        Self { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = fs::remove_dir(&self.dir);
    }
}

fn disk_full(proto: Proto) {
    let sb = Sandbox::lock();
    let below_home = format!("transport-tests/{}-full", proto.name());
    let _disk = SmallDisk::mount(&sb, &below_home);
    let mut t = open_at(&sb, proto, "");
    let dir = path(&below_home);
    let file = dir.join("wp-config.php").unwrap();
    t.write_bytes(&file, b"<?php // original", WriteMode::Create)
        .unwrap();
    let big = vec![0x5a; 3 * 1024 * 1024];
    let e = t.write_bytes(&file, &big, WriteMode::Replace).unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::QuotaExceeded, "{}: {e}", proto.name());
    assert_eq!(e.op(), Op::Write);
    assert!(e.path().unwrap().ends_with("wp-config.php"), "{e}");
    assert!(
        e.hint().unwrap().contains("original file was left"),
        "{e:?}"
    );
    assert_eq!(t.read_to_vec(&file).unwrap(), b"<?php // original");
    let left: Vec<_> = t
        .list(&dir)
        .unwrap()
        .into_iter()
        .filter(|e| is_staging_name(&e.name))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

macro_rules! every_protocol {
    ($($module:ident => $proto:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[test]
            fn conformance() {
                conformance_suite($proto);
            }

            #[test]
            fn conformance_through_the_cache() {
                conformance_suite_cached($proto);
            }

            #[test]
            fn replace_keeps_mode() {
                keeps_mode($proto);
            }

            #[test]
            fn permission_denied() {
                super::permission_denied($proto);
            }

            #[test]
            fn round_trip_50_mb_sha256() {
                round_trip_50mb($proto);
            }

            #[test]
            fn missing_site_folder_is_not_found() {
                missing_site_folder($proto);
            }

            #[test]
            fn wrong_password_is_auth_failed() {
                wrong_password($proto);
            }

            #[test]
            fn disk_full_is_quota_exceeded() {
                disk_full($proto);
            }
        }
    )*};
}

every_protocol! {
    sftp => Proto::Sftp,
    ssh => Proto::Ssh,
    ftp => Proto::Ftp,
    ftps => Proto::Ftps,
    ftps_implicit => Proto::FtpsImplicit,
    pureftpd => Proto::PureFtpd,
    pureftpd_ftps => Proto::PureFtpdTls,
    proftpd => Proto::ProFtpd,
    proftpd_ftps => Proto::ProFtpdTls,
}

// --- SSH trust -------------------------------------------------------------------------------

/// An ed25519 key blob that is not the sandbox's.
fn other_ed25519_key() -> String {
    let mut blob = 11u32.to_be_bytes().to_vec();
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[7; 32]);
    STANDARD.encode(blob)
}

#[test]
fn unknown_host_key_is_refused_then_accepted_by_fingerprint() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let mut options = options(&sb, Proto::Sftp);
    options.known_hosts = vec![known_hosts.clone()];
    let target = target(&sb, Proto::Sftp, "");

    let e = connect(&target, &options, &mut Credentials::none()).unwrap_err();
    let ErrorKind::HostKeyUnknown {
        fingerprint,
        key_type,
        ..
    } = e.kind().clone()
    else {
        panic!("expected HostKeyUnknown, got {e}");
    };
    assert_eq!(e.op(), Op::VerifyHostKey);
    assert_eq!(key_type, "ssh-ed25519", "ssh's preferred key type");
    assert_eq!(fingerprint, sb.env("SANDBOX_SSH_HOST_KEY_SHA256"));
    let hint = e.hint().unwrap();
    assert!(
        hint.contains(&format!("--accept-host-key {fingerprint}")),
        "{hint}"
    );
    assert!(!known_hosts.exists(), "nothing recorded without the flag");

    options.accept_host_key = Some("SHA256:not-this-one".into());
    let e = connect(&target, &options, &mut Credentials::none()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::HostKeyUnknown { .. }), "{e}");
    assert!(
        e.hint().unwrap().contains("does not match"),
        "{:?}",
        e.hint()
    );

    options.accept_host_key = Some(fingerprint.clone());
    connect(&target, &options, &mut Credentials::none()).expect("accepted");
    let recorded = fs::read_to_string(&known_hosts).unwrap();
    let port = sb.env("SANDBOX_SSH_PORT");
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{port} ssh-ed25519 ")),
        "{recorded}"
    );

    options.accept_host_key = None;
    connect(&target, &options, &mut Credentials::none()).expect("known from now on");
}

#[test]
fn changed_host_key_is_refused_even_with_the_accept_flag() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let port = sb.env("SANDBOX_SSH_PORT");
    fs::write(
        &known_hosts,
        format!(
            "# another server once lived here\n[127.0.0.1]:{port} ssh-ed25519 {}\n",
            other_ed25519_key()
        ),
    )
    .unwrap();
    let mut options = options(&sb, Proto::Sftp);
    options.known_hosts = vec![known_hosts.clone()];
    options.accept_host_key = Some(sb.env("SANDBOX_SSH_HOST_KEY_SHA256"));
    let e = connect(
        &target(&sb, Proto::Sftp, ""),
        &options,
        &mut Credentials::none(),
    )
    .unwrap_err();
    let ErrorKind::HostKeyChanged {
        line,
        known_hosts: file,
        fingerprint,
        ..
    } = e.kind()
    else {
        panic!("expected HostKeyChanged, got {e}");
    };
    assert_eq!((*line, file), (2, &known_hosts));
    assert_eq!(*fingerprint, sb.env("SANDBOX_SSH_HOST_KEY_SHA256"));
    assert!(e.to_string().contains("HOST KEY HAS CHANGED"), "{e}");
    assert!(
        e.hint()
            .unwrap()
            .contains(&format!("ssh-keygen -R '[127.0.0.1]:{port}'")),
        "{:?}",
        e.hint()
    );
    assert!(
        !fs::read_to_string(&known_hosts)
            .unwrap()
            .contains(&sb.env("SANDBOX_SSH_HOST_KEY_SHA256"))
    );
}

#[test]
fn hashed_known_hosts_entries_are_honoured() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    fs::copy(sb.env("SANDBOX_SSH_KNOWN_HOSTS"), &known_hosts).unwrap();
    let status = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let hashed = fs::read_to_string(&known_hosts).unwrap();
    assert!(
        hashed.starts_with("|1|") && !hashed.contains("127.0.0.1"),
        "{hashed}"
    );
    let mut options = options(&sb, Proto::Sftp);
    options.known_hosts = vec![known_hosts];
    connect(
        &target(&sb, Proto::Sftp, ""),
        &options,
        &mut Credentials::none(),
    )
    .expect("trusted");
}

#[test]
fn ssh_config_alias_and_scp_style_target() {
    let sb = Sandbox::lock();
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join(".ssh")).unwrap();
    let config = format!(
        "Host sandbox\n  HostName {}\n  Port {}\n  User {}\n  IdentityFile {}\n  \
         UserKnownHostsFile {}\n",
        sb.env("SANDBOX_SSH_HOST"),
        sb.env("SANDBOX_SSH_PORT"),
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_SSH_KEY"),
        sb.env("SANDBOX_SSH_KNOWN_HOSTS"),
    );
    let config = SshConfig::parse(&config, home.path(), Some("nobody".into()));
    let options = ConnectOptions {
        use_agent: false,
        progress: false,
        ..ConnectOptions::default()
    };
    for spelling in ["sandbox:public_html", "sandbox:~/public_html"] {
        let target = Target::parse(spelling, &config).unwrap();
        let mut t = connect(&target, &options, &mut Credentials::none())
            .unwrap_or_else(|e| panic!("{spelling}: {e}"));
        assert_eq!(t.root(), sb.env("SANDBOX_DOCROOT"));
        assert_eq!(
            t.origin(),
            format!(
                "ssh://{}@127.0.0.1:{}",
                sb.env("SANDBOX_USER"),
                sb.env("SANDBOX_SSH_PORT")
            )
        );
        assert_eq!(
            t.stat(&path("wp-config.php")).unwrap().map(|m| m.kind),
            Some(Kind::File)
        );
        let out = t
            .as_exec()
            .expect("aliases may run commands")
            .exec("id -un")
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            sb.env("SANDBOX_USER")
        );
    }
}

#[test]
fn sftp_targets_cannot_run_commands() {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, Proto::Sftp, "");
    assert!(t.as_exec().is_none());
    assert!(!t.capabilities().exec);
}

/// What one prefetch over `ssh://` brings back is exactly what listing and reading one by one
/// give, so a cache filled from it answers as the server would; over `sftp://` (no shell)
/// there is nothing to prefetch.
#[test]
fn ssh_prefetch_agrees_with_listing_and_reading() {
    let sb = Sandbox::lock();
    let mut t = open_at(&sb, Proto::Ssh, "");
    let dir = scratch(t.as_mut(), "prefetch");
    let site = dir.join("site").unwrap();
    t.mkdir_all(&path("transport-tests/prefetch/site/wp-content/plugins"))
        .unwrap();
    for (name, text) in [
        ("wp-config.php", &b"<?php define('DB_NAME', 'x');"[..]),
        (".htaccess", b"# BEGIN WordPress\n"),
        ("two  spaces.txt", b"odd"),
    ] {
        t.write_bytes(&site.join(name).unwrap(), text, WriteMode::Create)
            .unwrap();
    }
    let wanted = Prefetch::new(
        &[
            "transport-tests/prefetch/*",
            "transport-tests/prefetch/*/wp-content",
        ],
        &[
            "transport-tests/prefetch/*/wp-config.php",
            "transport-tests/prefetch/*/.htaccess",
        ],
        1 << 20,
    );
    let snapshot = t
        .prefetch(&wanted)
        .unwrap()
        .expect("a shell with find and base64");
    let folders: Vec<&str> = snapshot.listings.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        folders,
        [site.as_str(), site.join("wp-content").unwrap().as_str()]
    );
    for (folder, entries) in &snapshot.listings {
        assert_eq!(entries, &t.list(folder).unwrap(), "{folder}");
    }
    assert_eq!(snapshot.files.len(), 2);
    for (file, contents) in &snapshot.files {
        assert_eq!(contents, &t.read_to_vec(file).unwrap(), "{file}");
    }
    assert_eq!(
        open_at(&sb, Proto::Sftp, "").prefetch(&wanted).unwrap(),
        None
    );
    t.remove_all(&dir).unwrap();
}

// --- FTP and FTPS ----------------------------------------------------------------------------

#[test]
fn ftps_untrusted_certificate_is_refused_unless_insecure() {
    let sb = Sandbox::lock();
    for proto in [Proto::Ftps, Proto::FtpsImplicit] {
        let mut options = options(&sb, proto);
        // The sandbox CA is in no system store.
        options.tls = TlsTrust::SystemRoots;
        let e = connect(
            &target(&sb, proto, ""),
            &options,
            &mut credentials(&sb, proto),
        )
        .unwrap_err();
        let ErrorKind::CertUntrusted { reason, .. } = e.kind() else {
            panic!("{}: expected CertUntrusted, got {e}", proto.name());
        };
        assert!(
            reason.contains("an authority this machine does not trust"),
            "{reason}"
        );
        assert!(e.hint().unwrap().contains("--tls-ca"), "{:?}", e.hint());
        options.tls = TlsTrust::Insecure;
        let mut t = connect(
            &target(&sb, proto, ""),
            &options,
            &mut credentials(&sb, proto),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", proto.name()));
        assert!(t.exists(&path("public_html/wp-config.php")).unwrap());
    }
}

/// An ordinary self-signed certificate, as hosts make them: refused with its fingerprint and
/// how to accept it; trusted as its own anchor with --tls-ca; accepted by fingerprint and
/// pinned, then checked without the flag; and a pin outranks a valid chain.
#[test]
fn a_self_signed_certificate_is_trusted_by_its_file_or_its_pinned_fingerprint() {
    let sb = Sandbox::lock();
    let url = format!(
        "ftps://{}@{}:{}/",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_SELF_SIGNED_PORT")
    );
    let self_signed = Target::parse(&url, &SshConfig::default()).unwrap();
    let pins = tempfile::tempdir().unwrap();
    let mut options = options(&sb, Proto::Ftps);
    options.known_certs = Some(pins.path().join("known_certificates"));
    let open = |options: &ConnectOptions| {
        connect(&self_signed, options, &mut credentials(&sb, Proto::Ftps)).map(|_| ())
    };

    // The sandbox CA does not vouch for it; the error gives its fingerprint.
    let e = open(&options).unwrap_err();
    let ErrorKind::CertUntrusted {
        reason,
        fingerprint: Some(fingerprint),
        certificate: Some(certificate),
    } = e.kind()
    else {
        panic!("expected an untrusted certificate with its fingerprint, got {e}");
    };
    assert_eq!(reason, "it is self-signed");
    assert!(
        certificate.starts_with("subject CN=127.0.0.1, issuer CN=127.0.0.1, valid ")
            && certificate.contains(", names 127.0.0.1; SHA-256 as hex "),
        "{certificate}"
    );
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let hint = e.hint().unwrap();
    assert!(
        hint.contains(&format!("--accept-tls-cert {fingerprint}")),
        "{hint}"
    );

    // The certificate file itself as the anchor.
    let mut own = options.clone();
    own.tls = TlsTrust::CaFile(PathBuf::from(sb.env("SANDBOX_TLS_SELF_SIGNED")));
    open(&own).unwrap_or_else(|e| panic!("--tls-ca with the certificate itself: {e}"));

    // Accepted by another fingerprint: refused, nothing pinned.
    let mut wrong = options.clone();
    wrong.accept_tls_cert = Some("SHA256:AAAA".into());
    assert!(open(&wrong).is_err());
    assert!(!pins.path().join("known_certificates").exists());

    // Accepted by its own: pinned, and later connections need no flag.
    let mut accept = options.clone();
    accept.accept_tls_cert = Some(fingerprint.clone());
    open(&accept).unwrap_or_else(|e| panic!("--accept-tls-cert: {e}"));
    let pinned = std::fs::read_to_string(pins.path().join("known_certificates")).unwrap();
    let host_port = format!(
        "{}:{}",
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_SELF_SIGNED_PORT")
    );
    assert_eq!(pinned, format!("{host_port} {fingerprint}\n"));
    open(&options).unwrap_or_else(|e| panic!("pinned: {e}"));

    // A pin outranks the chain: the CA-signed server, pinned to another certificate, is
    // refused although the sandbox CA vouches for it.
    let ca_signed = target(&sb, Proto::Ftps, "");
    let other = format!(
        "{}:{} {fingerprint}\n",
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_PORT")
    );
    std::fs::write(
        pins.path().join("known_certificates"),
        format!("{pinned}{other}"),
    )
    .unwrap();
    let e = connect(&ca_signed, &options, &mut credentials(&sb, Proto::Ftps)).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::CertChanged(pin) if pin.line == 2),
        "expected a changed certificate, got {e}"
    );
    assert!(
        e.hint().unwrap().contains("delete line 2"),
        "{:?}",
        e.hint()
    );
}

/// Certificates the sandbox CA signed but that are wrong for the connection: issued for the
/// hosting company's server name, or expired. Each is refused, in words, with its fingerprint.
#[test]
fn a_certificate_for_another_name_or_expired_is_refused_and_says_why() {
    let sb = Sandbox::lock();
    for (port, why, details) in [
        (
            "SANDBOX_FTPS_OTHER_NAME_PORT",
            "it was issued for another name than the one connected to",
            "names ftp.hosting.example",
        ),
        (
            "SANDBOX_FTPS_EXPIRED_PORT",
            "it has expired",
            "valid 2020-01-01 to 2021-01-01",
        ),
    ] {
        let url = format!(
            "ftps://{}@{}:{}/",
            sb.env("SANDBOX_USER"),
            sb.env("SANDBOX_FTP_HOST"),
            sb.env(port)
        );
        let target = Target::parse(&url, &SshConfig::default()).unwrap();
        let e = connect(
            &target,
            &options(&sb, Proto::Ftps),
            &mut credentials(&sb, Proto::Ftps),
        )
        .err()
        .unwrap_or_else(|| panic!("{port}: connected"));
        let ErrorKind::CertUntrusted {
            reason,
            fingerprint: Some(_),
            certificate: Some(certificate),
        } = e.kind()
        else {
            panic!("{port}: expected an untrusted certificate, got {e}");
        };
        assert_eq!(reason, why, "{port}");
        assert!(certificate.contains(details), "{port}: {certificate}");
    }
}

/// The same from the command line: the pin lands in the XDG config folder, and the next run
/// needs no flag.
#[test]
fn accept_tls_cert_pins_in_the_config_folder() {
    let sb = Sandbox::lock();
    sb.reset();
    let url = format!(
        "ftps://{}@{}:{}/",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_SELF_SIGNED_PORT")
    );
    let host_port = format!(
        "{}:{}",
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_SELF_SIGNED_PORT")
    );
    let config = tempfile::tempdir().unwrap();
    let config_dir = config.path().to_str().unwrap().to_owned();
    let diagnose = |extra: &[&str]| {
        Test::new(&sb)
            .over(Protocol::Ftp)
            .args(["diagnose", &url, "--url", &sb.env("SANDBOX_HTTP_URL")])
            .args(extra)
            .env("XDG_CONFIG_HOME", config_dir.clone())
            .run()
    };
    let refused = diagnose(&[]).status(1).stderr_has("it is self-signed");
    let fingerprint = refused
        .stderr
        .split("--accept-tls-cert ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no fingerprint offered: {refused}"))
        .to_owned();
    diagnose(&["--accept-tls-cert", &fingerprint]).status(0);
    let pins = std::fs::read_to_string(config.path().join("wprescue/known_certificates")).unwrap();
    assert_eq!(
        pins.lines().collect::<Vec<_>>(),
        [format!("{host_port} {fingerprint}")],
        "one pin, though the data connections check the certificate too"
    );
    diagnose(&[]).status(0);
}

#[test]
fn plain_ftp_to_a_tls_only_server_says_to_use_ftps() {
    let sb = Sandbox::lock();
    let url = format!(
        "ftp://{}@{}:{}/",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_PORT")
    );
    let target = Target::parse(&url, &SshConfig::default()).unwrap();
    let e = connect(
        &target,
        &options(&sb, Proto::Ftp),
        &mut credentials(&sb, Proto::Ftp),
    )
    .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Unsupported { .. }), "{e}");
    assert!(e.hint().unwrap().contains("ftps://"), "{:?}", e.hint());
}

/// vsftpd and ProFTPD refuse a data connection that does not resume the control connection's
/// TLS session; many data connections in a row show that every one of them does.
#[test]
fn ftps_data_connections_resume_the_tls_session() {
    let sb = Sandbox::lock();
    for proto in [Proto::Ftps, Proto::FtpsImplicit, Proto::ProFtpdTls] {
        let mut t = open_at(&sb, proto, "");
        let dir = scratch(t.as_mut(), &format!("{}-reuse", proto.name()));
        for i in 0..40 {
            let file = dir.join(&format!("f{i}.txt")).unwrap();
            t.write_bytes(&file, format!("{i}").as_bytes(), WriteMode::Create)
                .unwrap();
            assert_eq!(t.read_to_vec(&file).unwrap(), format!("{i}").as_bytes());
        }
        assert_eq!(t.list(&dir).unwrap().len(), 40);
        t.remove_all(&dir).unwrap();
    }
}

#[test]
fn ftp_site_path_is_below_the_login_folder() {
    let sb = Sandbox::lock();
    for proto in [Proto::Ftps, Proto::PureFtpdTls, Proto::ProFtpdTls] {
        let mut t = open_at(&sb, proto, "public_html");
        assert_eq!(
            t.root(),
            "/public_html",
            "{}: the account is chrooted to its home",
            proto.name()
        );
        assert_eq!(
            t.stat(&path("wp-config.php")).unwrap().map(|m| m.kind),
            Some(Kind::File)
        );
        assert!(
            t.list(&RemotePath::root())
                .unwrap()
                .iter()
                .any(|e| e.name == ".htaccess"),
            "{}: dotfiles listed",
            proto.name()
        );
    }
}

/// Pure-FTPd as cPanel runs it (without `--displaydotfiles`) leaves dotfiles out of a plain
/// `LIST`, as curl's listing shows; the transport still lists and finds `.htaccess`.
#[test]
fn pureftpd_hides_dotfiles_yet_htaccess_is_found() {
    let sb = Sandbox::lock();
    let url = format!(
        "ftp://{}:{}/public_html/",
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_PUREFTPD_PORT")
    );
    // The password goes through stdin, not the command line.
    let mut curl = Command::new("curl")
        .args(["-sS", "--config", "-", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let config = format!(
        "user = \"{}:{}\"\n",
        sb.env("SANDBOX_USER"),
        sb.env("SANDBOX_PASSWORD")
    );
    std::io::Write::write_all(&mut curl.stdin.take().unwrap(), config.as_bytes()).unwrap();
    let out = curl.wait_with_output().unwrap();
    assert!(out.status.success(), "curl: {}", out.status);
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(
        plain.contains("wp-config.php") && !plain.contains(".htaccess"),
        "a plain LIST hides dotfiles: {plain}"
    );

    let mut t = open_at(&sb, Proto::PureFtpd, "public_html");
    let htaccess = path(".htaccess");
    assert!(
        t.list(&RemotePath::root())
            .unwrap()
            .iter()
            .any(|e| e.name == ".htaccess"),
        "listed"
    );
    assert_eq!(t.stat(&htaccess).unwrap().map(|m| m.kind), Some(Kind::File));
    assert_eq!(
        t.read_to_vec(&htaccess).unwrap(),
        fs::read(sb.docroot().join(".htaccess")).unwrap()
    );
}

// --- Connection failures, every protocol -----------------------------------------------------

#[test]
fn refused_connection_and_silent_server() {
    let sb = Sandbox::lock();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    // Accepts connections, never says a word: the greeting (FTP) or banner (SSH) never comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    for proto in [Proto::Sftp, Proto::Ftp, Proto::Ftps, Proto::FtpsImplicit] {
        let mut options = options(&sb, proto);
        options.timeout = Duration::from_millis(800);
        let at = |port: u16| {
            let url = format!(
                "{}://{}@127.0.0.1:{port}/",
                proto.name(),
                sb.env("SANDBOX_USER")
            );
            Target::parse(&url, &SshConfig::default()).unwrap()
        };
        let e = connect(&at(closed), &options, &mut credentials(&sb, proto)).unwrap_err();
        assert_eq!(
            *e.kind(),
            ErrorKind::ConnectionRefused,
            "{}: {e}",
            proto.name()
        );
        assert!(e.hint().unwrap().contains("port"), "{:?}", e.hint());

        let start = Instant::now();
        let e = connect(&at(silent_port), &options, &mut credentials(&sb, proto)).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Timeout { .. }),
            "{}: {e}",
            proto.name()
        );
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
    }
}

#[test]
fn ftp_user_name_from_netrc() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join("netrc");
    fs::write(
        &netrc,
        format!(
            "machine {} login {} password {}\n",
            sb.env("SANDBOX_FTP_HOST"),
            sb.env("SANDBOX_USER"),
            sb.env("SANDBOX_PASSWORD")
        ),
    )
    .unwrap();
    let url = format!(
        "ftps://{}:{}/public_html",
        sb.env("SANDBOX_FTP_HOST"),
        sb.env("SANDBOX_FTPS_PORT")
    );
    let target = Target::parse(&url, &SshConfig::default()).unwrap();
    let Target::Ftp(ftp) = &target else {
        unreachable!()
    };
    assert_eq!((ftp.user.as_deref(), ftp.tls), (None, FtpTls::Explicit));
    let mut credentials = Credentials::none().with_netrc(&netrc);
    let t = connect(&target, &options(&sb, Proto::Ftps), &mut credentials).unwrap();
    assert!(
        t.origin().contains(&format!("{}@", sb.env("SANDBOX_USER"))),
        "{}",
        t.origin()
    );
}

#[test]
fn sandbox_host_key_fingerprint_matches_ours() {
    let sb = Sandbox::lock();
    let known = fs::read_to_string(sb.env("SANDBOX_SSH_KNOWN_HOSTS")).unwrap();
    let fingerprints: Vec<String> = known
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(|b64| fingerprint(&STANDARD.decode(b64).unwrap()))
        .collect();
    assert!(
        fingerprints.contains(&sb.env("SANDBOX_SSH_HOST_KEY_SHA256")),
        "{fingerprints:?}"
    );
}

// --- SSH logins ------------------------------------------------------------------------------

/// A copy of the sandbox key, encrypted with `passphrase`, in `dir`.
fn encrypted_key(sb: &Sandbox, dir: &Path, passphrase: &str) -> PathBuf {
    let key = dir.join("id_encrypted");
    fs::copy(sb.env("SANDBOX_SSH_KEY"), &key).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-p", "-P", "", "-N", passphrase, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    key
}

#[test]
fn encrypted_key_needs_its_passphrase() {
    let sb = Sandbox::lock();
    let dir = tempfile::tempdir().unwrap();
    let key = encrypted_key(&sb, dir.path(), "correct horse");
    let mut options = options(&sb, Proto::Sftp);
    options.identity_files = vec![key.clone()];
    let target = target(&sb, Proto::Sftp, "");

    let e = connect(&target, &options, &mut Credentials::none()).unwrap_err();
    let ErrorKind::AuthFailed { tried } = e.kind() else {
        panic!("expected AuthFailed, got {e}");
    };
    assert_eq!(
        *tried,
        [
            format!("key {} (encrypted, no passphrase given)", key.display()),
            "password (no password given)".to_owned()
        ]
    );

    let mut wrong = Credentials::none().with_key_passphrase(Secret::new("wrong"));
    let e = connect(&target, &options, &mut wrong).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AuthFailed { .. }), "{e}");

    let mut right = Credentials::none().with_key_passphrase(Secret::new("correct horse"));
    connect(&target, &options, &mut right).expect("the passphrase opens the key");
}

/// An ssh-agent started for this test (and stopped by its process id).
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    fn start_with(key: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "ssh-agent did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let added = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &socket)
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        Self {
            child,
            socket,
            _dir: dir,
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ssh_agent_login() {
    let sb = Sandbox::lock();
    let agent = Agent::start_with(&sb.env("SANDBOX_SSH_KEY"));
    let mut options = options(&sb, Proto::Sftp);
    // A key file that does not exist: only the agent can log in.
    let empty = tempfile::tempdir().unwrap();
    options.identity_files = vec![empty.path().join("absent")];
    options.use_agent = true;
    let mut credentials = Credentials::none().with_agent(&agent.socket);
    let mut t = connect(&target(&sb, Proto::Sftp, ""), &options, &mut credentials)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(t.exists(&path("public_html")).unwrap());

    options.use_agent = false;
    let e = connect(&target(&sb, Proto::Sftp, ""), &options, &mut credentials).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::AuthFailed { .. }), "{e}");
}

// --- A connection that dies mid-upload -------------------------------------------------------

/// A loopback TCP relay to `upstream` that cuts both directions once `limit` bytes went
/// upstream: a network dropping out in the middle of an upload.
fn relay_cutting_after(upstream: String, limit: usize) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (client, _) = listener.accept().unwrap();
        let server = TcpStream::connect(&upstream).unwrap();
        let sent = Arc::new(AtomicUsize::new(0));
        let pump = |mut from: TcpStream, mut to: TcpStream, count: Option<Arc<AtomicUsize>>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if let Some(count) = &count
                        && count.fetch_add(n, Ordering::SeqCst) + n > limit
                    {
                        break;
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            })
        };
        let up = pump(
            client.try_clone().unwrap(),
            server.try_clone().unwrap(),
            Some(sent),
        );
        let down = pump(server, client, None);
        let _ = up.join();
        let _ = down.join();
    });
    port
}

#[test]
fn connection_lost_mid_upload_leaves_the_original() {
    let sb = Sandbox::lock();
    let mut direct = open_at(&sb, Proto::Sftp, "");
    let dir = scratch(direct.as_mut(), "sftp-cut");
    let file = dir.join("wp-config.php").unwrap();
    direct
        .write_bytes(&file, b"<?php // original", WriteMode::Create)
        .unwrap();

    let upstream = format!(
        "{}:{}",
        sb.env("SANDBOX_SSH_HOST"),
        sb.env("SANDBOX_SSH_PORT")
    );
    let port = relay_cutting_after(upstream, 2 * 1024 * 1024);
    let url = format!("sftp://{}@127.0.0.1:{port}/~/", sb.env("SANDBOX_USER"));
    let known_hosts = tempfile::tempdir().unwrap();
    let mut options = options(&sb, Proto::Sftp);
    options.known_hosts = vec![known_hosts.path().join("known_hosts")];
    options.accept_host_key = Some(sb.env("SANDBOX_SSH_HOST_KEY_SHA256"));
    options.timeout = Duration::from_secs(5);
    let target = Target::parse(&url, &SshConfig::default()).unwrap();
    let mut cut = connect(&target, &options, &mut Credentials::none()).unwrap();
    let big = vec![0x42; 16 * 1024 * 1024];
    let e = cut
        .write_bytes(&file, &big, WriteMode::Replace)
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Disconnected | ErrorKind::Timeout { .. }
        ),
        "{e}"
    );
    assert_eq!(direct.read_to_vec(&file).unwrap(), b"<?php // original");
    // The staging file may stay behind (nobody was left to remove it), but only under a
    // staging name.
    for entry in direct.list(&dir).unwrap() {
        assert!(
            entry.name == "wp-config.php" || is_staging_name(&entry.name),
            "{}",
            entry.name
        );
    }
    direct.remove_all(&dir).unwrap();
}

//! `~/.ssh/known_hosts`: which host keys are trusted for which server.
//!
//! Read as OpenSSH writes it: plain and `[host]:port` patterns, wildcards and negation,
//! hashed entries (`|1|salt|hmac`), `@revoked` keys. A key is trusted only if an entry for
//! this host and port has exactly it; an entry with another key of the same type means the
//! key *changed*, and a revoked key is never trusted. `@cert-authority` lines are skipped
//! (wprescue does not check host certificates).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::ssh_config::pattern_list_matches;

/// The OpenSSH fingerprint of a public key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(key: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(key)))
}

/// The key type named inside a public key blob (`ssh-ed25519`, ...).
pub(crate) fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// How a host is written in known_hosts: `host`, or `[host]:port` off port 22.
pub(crate) fn host_pattern(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Hosts {
    Patterns(Vec<String>),
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
}

impl Hosts {
    fn matches(&self, name: &str) -> bool {
        match self {
            Self::Patterns(patterns) => pattern_list_matches(patterns, name),
            Self::Hashed { salt, hash } => {
                let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(salt).expect("any key size");
                mac.update(name.as_bytes());
                mac.verify_slice(hash).is_ok()
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    file: PathBuf,
    number: usize,
    revoked: bool,
    hosts: Hosts,
    key_type: String,
    key: Vec<u8>,
}

/// The verdict on a server's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An entry for this host has exactly this key.
    Trusted,
    /// No entry for this host has a key of this type.
    Unknown,
    /// An entry for this host has another key of this type, or this key is revoked.
    Changed {
        /// The file with the conflicting entry.
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
    },
}

/// The entries of one or more known_hosts files.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownHosts {
    lines: Vec<Line>,
}

impl KnownHosts {
    /// Reads `files`; missing ones count as empty.
    pub(crate) fn load(files: &[PathBuf]) -> io::Result<Self> {
        let mut known = Self::default();
        for file in files {
            match fs::read_to_string(file) {
                Ok(text) => known.add(file, &text),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(known)
    }

    /// Adds the entries in `text`, read from `file`. Malformed lines are skipped, as ssh does.
    pub(crate) fn add(&mut self, file: &Path, text: &str) {
        for (i, raw) in text.lines().enumerate() {
            let mut fields = raw.split_whitespace();
            let Some(mut first) = fields.next() else {
                continue;
            };
            if first.starts_with('#') {
                continue;
            }
            let mut revoked = false;
            if first.starts_with('@') {
                if first != "@revoked" {
                    continue;
                }
                revoked = true;
                let Some(next) = fields.next() else { continue };
                first = next;
            }
            let (Some(key_type), Some(key)) = (fields.next(), fields.next()) else {
                continue;
            };
            let (Ok(key), Some(hosts)) = (STANDARD.decode(key), parse_hosts(first)) else {
                continue;
            };
            self.lines.push(Line {
                file: file.to_owned(),
                number: i + 1,
                revoked,
                hosts,
                key_type: key_type.to_owned(),
                key,
            });
        }
    }

    /// Judges `key` (a public key blob) presented by `host` on `port`.
    pub(crate) fn check(&self, host: &str, port: u16, key: &[u8]) -> Verdict {
        let name = host_pattern(host, port);
        let key_type = key_type(key).unwrap_or_default();
        if let Some(line) = self.lines.iter().find(|l| l.revoked && l.key == key) {
            return changed(line);
        }
        let mut conflict = None;
        for line in self
            .lines
            .iter()
            .filter(|l| !l.revoked && l.hosts.matches(&name))
        {
            if line.key == key {
                return Verdict::Trusted;
            }
            if line.key_type == key_type && conflict.is_none() {
                conflict = Some(line);
            }
        }
        conflict.map_or(Verdict::Unknown, changed)
    }

    /// The key types known for `host` on `port`, in file order, so the SSH handshake can ask
    /// for a key we can check instead of one we have never seen.
    pub(crate) fn key_types(&self, host: &str, port: u16) -> Vec<&str> {
        let name = host_pattern(host, port);
        let mut types: Vec<&str> = Vec::new();
        for line in self
            .lines
            .iter()
            .filter(|l| !l.revoked && l.hosts.matches(&name))
        {
            if !types.contains(&line.key_type.as_str()) {
                types.push(&line.key_type);
            }
        }
        types
    }
}

fn changed(line: &Line) -> Verdict {
    Verdict::Changed {
        file: line.file.clone(),
        line: line.number,
    }
}

fn parse_hosts(field: &str) -> Option<Hosts> {
    match field.strip_prefix("|1|") {
        Some(hashed) => {
            let (salt, hash) = hashed.split_once('|')?;
            Some(Hosts::Hashed {
                salt: STANDARD.decode(salt).ok()?,
                hash: STANDARD.decode(hash).ok()?,
            })
        }
        None => Some(Hosts::Patterns(
            field.split(',').map(str::to_owned).collect(),
        )),
    }
}

/// Records `key` for `host`:`port` at the end of `file`, creating it (and `~/.ssh`) with
/// private permissions if needed.
pub(crate) fn append(file: &Path, host: &str, port: u16, key: &[u8]) -> io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut f = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)?;
    // A file whose last line lacks its newline would glue our entry onto it.
    let mut needs_newline = false;
    if f.seek(SeekFrom::End(0))? > 0 {
        f.seek(SeekFrom::End(-1))?;
        let mut last = [0u8];
        f.read_exact(&mut last)?;
        needs_newline = last[0] != b'\n';
    }
    let line = format!(
        "{}{} {} {}\n",
        if needs_newline { "\n" } else { "" },
        host_pattern(host, port),
        key_type(key).unwrap_or("unknown"),
        STANDARD.encode(key)
    );
    f.write_all(line.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntactically valid key blob of `kind` with `fill` as key material.
    fn blob(kind: &str, fill: u8) -> Vec<u8> {
        let mut b = (kind.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind.as_bytes());
        b.extend_from_slice(&32u32.to_be_bytes());
        b.extend_from_slice(&[fill; 32]);
        b
    }

    fn line(pattern: &str, key: &[u8]) -> String {
        format!(
            "{pattern} {} {}\n",
            key_type(key).unwrap(),
            STANDARD.encode(key)
        )
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(salt).unwrap();
        mac.update(name.as_bytes());
        let hash = mac.finalize().into_bytes();
        format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(hash))
    }

    fn known(text: &str) -> KnownHosts {
        let mut k = KnownHosts::default();
        k.add(Path::new("/kh"), text);
        k
    }

    #[test]
    fn port_aware_entries() {
        let ed = blob("ssh-ed25519", 1);
        let k = known(&line("[127.0.0.1]:2222", &ed));
        assert_eq!(k.check("127.0.0.1", 2222, &ed), Verdict::Trusted);
        assert_eq!(
            k.check("127.0.0.1", 22, &ed),
            Verdict::Unknown,
            "other port"
        );
        assert_eq!(k.check("127.0.0.1", 2223, &ed), Verdict::Unknown);
        let k = known(&line("example.com,203.0.113.7", &ed));
        assert_eq!(k.check("203.0.113.7", 22, &ed), Verdict::Trusted);
        assert_eq!(k.check("EXAMPLE.com", 22, &ed), Verdict::Trusted);
        assert_eq!(k.check("example.com", 2222, &ed), Verdict::Unknown);
    }

    #[test]
    fn hashed_entries() {
        let ed = blob("ssh-ed25519", 1);
        let text = line(&hashed("[127.0.0.1]:2222", b"0123456789abcdef0123"), &ed);
        let k = known(&text);
        assert_eq!(k.check("127.0.0.1", 2222, &ed), Verdict::Trusted);
        assert_eq!(k.check("127.0.0.2", 2222, &ed), Verdict::Unknown);
        assert_eq!(k.key_types("127.0.0.1", 2222), ["ssh-ed25519"]);
    }

    #[test]
    fn changed_key_of_the_same_type_is_reported_with_its_line() {
        let old = blob("ssh-ed25519", 1);
        let new = blob("ssh-ed25519", 2);
        let rsa = blob("ssh-rsa", 3);
        let text = format!(
            "# comment\n{}{}",
            line("[h]:2222", &rsa),
            line("[h]:2222", &old)
        );
        let k = known(&text);
        assert_eq!(
            k.check("h", 2222, &new),
            Verdict::Changed {
                file: "/kh".into(),
                line: 3
            }
        );
        assert_eq!(
            k.check("h", 2222, &blob("ecdsa-sha2-nistp256", 4)),
            Verdict::Unknown
        );
        assert_eq!(k.key_types("h", 2222), ["ssh-rsa", "ssh-ed25519"]);
    }

    #[test]
    fn wildcards_negation_and_revocation() {
        let ed = blob("ssh-ed25519", 1);
        let k = known(&line("*.example.com,!bad.example.com", &ed));
        assert_eq!(k.check("www.example.com", 22, &ed), Verdict::Trusted);
        assert_eq!(k.check("bad.example.com", 22, &ed), Verdict::Unknown);
        let text = format!(
            "@revoked * {} {}\n{}",
            "ssh-ed25519",
            STANDARD.encode(&ed),
            line("h", &ed)
        );
        assert!(matches!(
            known(&text).check("h", 22, &ed),
            Verdict::Changed { line: 1, .. }
        ));
        let ca = format!("@cert-authority * ssh-ed25519 {}\n", STANDARD.encode(&ed));
        assert_eq!(known(&ca).check("h", 22, &ed), Verdict::Unknown);
    }

    #[test]
    fn append_creates_the_file_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ssh/known_hosts");
        let ed = blob("ssh-ed25519", 9);
        append(&file, "127.0.0.1", 2222, &ed).unwrap();
        fs::write(&file, fs::read_to_string(&file).unwrap().trim_end()).unwrap();
        append(&file, "example.com", 22, &ed).unwrap();
        let k = KnownHosts::load(std::slice::from_ref(&file)).unwrap();
        assert_eq!(k.check("127.0.0.1", 2222, &ed), Verdict::Trusted);
        assert_eq!(k.check("example.com", 22, &ed), Verdict::Trusted);
        let text = fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("[127.0.0.1]:2222 ssh-ed25519 "), "{text}");
        assert_eq!(text.lines().count(), 2);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn fingerprint_is_openssh_style() {
        // SHA-256 of "abc" (the FIPS 180-2 test vector), unpadded base64, as ssh-keygen -l writes.
        let fp = fingerprint(b"abc");
        assert_eq!(fp, "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
    }
}

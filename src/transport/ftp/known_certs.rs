//! Pinned FTPS certificates, as `known_hosts` pins SSH host keys: one `HOST:PORT SHA256:…`
//! line per server, written when the user accepts a certificate by its fingerprint
//! (`--accept-tls-cert`), checked on every later connection, whatever the chain says.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

/// The fingerprint of a certificate as OpenSSH writes key fingerprints: `SHA256:` and the
/// unpadded base64 of the SHA-256 of its DER bytes.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// What a user compares with the host's word: subject, issuer, validity and names, as
/// `subject CN=…, issuer CN=…, valid 2026-11-29 to 2036-11-27, names 127.0.0.1`; `None` when
/// the certificate does not parse.
pub fn describe(cert: &CertificateDer<'_>) -> Option<String> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let validity = parsed.validity();
    let mut names = Vec::new();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => names.push(
                        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string(),
                    ),
                    16 => names.push(
                        std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string(),
                    ),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let names = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(" ")
    };
    // Control panels show the fingerprint as hex pairs: give that form too.
    let hex: Vec<String> = Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    Some(format!(
        "subject {}, issuer {}, valid {} to {}, names {names}; SHA-256 as hex {}",
        parsed.subject(),
        parsed.issuer(),
        validity.not_before.to_datetime().date(),
        validity.not_after.to_datetime().date(),
        hex.join(":")
    ))
}

/// The pin for `host_port` in `file` and its 1-based line; `None` when there is none (or no
/// file). Lines that are not `HOST:PORT SHA256:…` are skipped.
pub fn find(file: &Path, host_port: &str) -> Result<Option<(String, usize)>, String> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    Ok(text.lines().enumerate().find_map(|(i, line)| {
        let mut words = line.split_whitespace();
        let (host, pin) = (words.next()?, words.next()?);
        (host == host_port && pin.starts_with("SHA256:")).then(|| (pin.to_owned(), i + 1))
    }))
}

/// Appends the pin of `host_port` to `file` (made, with its folder, when missing; mode 0600),
/// unless that pin is there already: every data connection of an FTPS session that does not
/// resume the control connection's TLS session checks the certificate again.
pub fn add(file: &Path, host_port: &str, fingerprint: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    if find(file, host_port)?.is_some_and(|(pin, _)| pin == fingerprint) {
        return Ok(());
    }
    let fail =
        |e: std::io::Error| format!("cannot record the certificate in {}: {e}", file.display());
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
        .map_err(fail)?;
    writeln!(out, "{host_port} {fingerprint}").map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_found_again_by_host_and_port() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wprescue/known_certificates");
        assert_eq!(find(&file, "ftp.example:21").unwrap(), None, "no file yet");
        add(&file, "ftp.example:21", "SHA256:abc").unwrap();
        add(&file, "ftp.example:990", "SHA256:def").unwrap();
        add(&file, "ftp.example:21", "SHA256:abc").unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap().lines().count(),
            2,
            "a pin once"
        );
        assert_eq!(
            find(&file, "ftp.example:21").unwrap(),
            Some(("SHA256:abc".into(), 1))
        );
        assert_eq!(
            find(&file, "ftp.example:990").unwrap(),
            Some(("SHA256:def".into(), 2))
        );
        assert_eq!(find(&file, "other:21").unwrap(), None);
        let der = CertificateDer::from(vec![1u8, 2, 3]);
        assert_eq!(
            fingerprint(&der),
            "SHA256:A5BYxvLAy0ksUzsKTRTvd8wPeKvMztUofYShogEc+4E"
        );
    }
}

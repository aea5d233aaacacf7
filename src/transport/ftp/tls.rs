//! TLS for FTPS: which certificates are trusted, and a configuration whose data connections
//! resume the control connection's session.
//!
//! Why TLS 1.2 only: vsftpd (`require_ssl_reuse`, on by default), FileZilla Server and others
//! refuse a data connection that does not resume the control connection's TLS session. suppaftp
//! opens every data connection with the same rustls `ClientConfig`, whose session cache makes
//! that happen. With TLS 1.2 the cached session is reused as often as needed. With TLS 1.3
//! resumption goes through single-use tickets (rustls hands each ticket out at most once;
//! `ClientSessionStore` requires it), and the fresh ticket a server sends on a data connection
//! is never read on an upload, which only writes. After a couple of transfers the tickets run
//! out, the next data connection does a full handshake, and vsftpd answers
//! `522 SSL connection failed: session reuse required` and drops the session. rclone has the
//! same workaround (`--ftp-disable-tls13`).

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use suppaftp::{FtpResult, RustlsConnector, TlsConnector};

/// suppaftp's rustls stream type, which it does not export by name.
type RustlsStream = <RustlsConnector as TlsConnector>::Stream;

use super::super::options::{TLS_CA_FLAG, TlsTrust};
use super::known_certs;

/// What the certificate check of one FTPS connection saw, for the error that explains a
/// refusal: the fingerprint presented, and the pin it broke.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    /// `SHA256:…` of the certificate the server presented.
    pub fingerprint: Option<String>,
    /// Its subject, issuer, validity and names ([`known_certs::describe`]).
    pub certificate: Option<String>,
    /// The pinned fingerprint it did not match, and the file and line holding the pin.
    pub broken_pin: Option<(String, PathBuf, usize)>,
}

/// Where a connection's certificate is checked against pins: the server's `HOST:PORT`, the
/// pins file, and the fingerprint the user accepts now ([`ACCEPT_TLS_CERT_FLAG`]).
#[derive(Debug, Clone)]
pub(super) struct Pins {
    pub host_port: String,
    pub file: Option<PathBuf>,
    pub accept: Option<String>,
}

/// The client configuration for one FTPS connection: control and data connections share it,
/// and with it the session cache. A fresh one per connection keeps sessions from being
/// reused across targets or runs. What the check sees goes to the returned slot.
pub(super) fn client_config(
    trust: &TlsTrust,
    pins: &Pins,
) -> Result<(Arc<ClientConfig>, Arc<Mutex<Seen>>), String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let (chain, anchors): (
        Option<Arc<dyn ServerCertVerifier>>,
        Vec<CertificateDer<'static>>,
    ) = match trust {
        TlsTrust::Insecure => (None, Vec::new()),
        TlsTrust::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            let mut anchors = Vec::new();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
                // A self-signed server certificate is its own anchor: webpki refuses a CA
                // as the end entity, so it is also matched as it is.
                anchors.push(cert.clone());
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            (Some(webpki(roots, &provider)?), anchors)
        }
        TlsTrust::SystemRoots => {
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if roots.is_empty() {
                return Err(format!(
                    "this system has no CA certificates; install them (ca-certificates) or \
                         name the server's CA with {TLS_CA_FLAG} FILE"
                ));
            }
            (Some(webpki(roots, &provider)?), Vec::new())
        }
    };
    let pinned = match &pins.file {
        Some(file) => known_certs::find(file, &pins.host_port)?,
        None => None,
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Checked {
        chain,
        anchors,
        pinned,
        pins: pins.clone(),
        provider,
        seen: seen.clone(),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok((Arc::new(config), seen))
}

fn webpki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| e.to_string())?;
    Ok(verifier)
}

/// The certificate check: a pin, when the server has one, decides alone; then the
/// fingerprint the user accepts now (and pins); then the certificates given as anchors, as
/// they are; then the chain (none with [`INSECURE_TLS_FLAG`](super::super::options)).
#[derive(Debug)]
struct Checked {
    chain: Option<Arc<dyn ServerCertVerifier>>,
    anchors: Vec<CertificateDer<'static>>,
    pinned: Option<(String, usize)>,
    pins: Pins,
    provider: Arc<CryptoProvider>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = known_certs::fingerprint(end_entity);
        let refused = || {
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.fingerprint = Some(fingerprint.clone());
        seen.certificate = known_certs::describe(end_entity);
        if let Some((pin, line)) = &self.pinned {
            if *pin == fingerprint {
                return Ok(ServerCertVerified::assertion());
            }
            let file = self.pins.file.clone().unwrap_or_default();
            seen.broken_pin = Some((pin.clone(), file, *line));
            return Err(refused());
        }
        if let Some(accept) = &self.pins.accept {
            if *accept != fingerprint {
                return Err(refused());
            }
            if let Some(file) = &self.pins.file {
                known_certs::add(file, &self.pins.host_port, &fingerprint)
                    .map_err(rustls::Error::General)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        if self
            .anchors
            .iter()
            .any(|a| a.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.chain {
            Some(chain) => {
                chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// rustls behind suppaftp, with the network timeout set on every socket before its
/// handshake (suppaftp's implicit-TLS connect opens the control socket itself).
#[derive(Debug)]
pub(super) struct Connector {
    inner: RustlsConnector,
    timeout: Duration,
}

impl Connector {
    pub(super) fn new(config: Arc<ClientConfig>, timeout: Duration) -> Self {
        Self {
            inner: RustlsConnector::from(config),
            timeout,
        }
    }
}

impl TlsConnector for Connector {
    type Stream = RustlsStream;

    fn connect(&self, domain: &str, stream: TcpStream) -> FtpResult<RustlsStream> {
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(suppaftp::FtpError::ConnectionError)?;
        self.inner.connect(domain, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> Pins {
        Pins {
            host_port: "example.test:21".into(),
            file: None,
            accept: None,
        }
    }

    #[test]
    fn a_missing_ca_file_is_reported() {
        let e = client_config(&TlsTrust::CaFile("/no/such/ca.pem".into()), &pins()).unwrap_err();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
    }

    #[test]
    fn insecure_mode_builds() {
        assert!(client_config(&TlsTrust::Insecure, &pins()).is_ok());
    }
}

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
use std::sync::Arc;
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

/// The client configuration for one FTPS connection: control and data connections share it,
/// and with it the session cache. A fresh one per connection keeps sessions from being
/// reused across targets or runs.
pub(super) fn client_config(trust: &TlsTrust) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(|e| e.to_string())?;
    let config = match trust {
        TlsTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth(),
        TlsTrust::CaFile(path) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
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
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
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

/// `--insecure-tls`: any certificate is accepted; the handshake signatures are still checked,
/// so the connection is at least encrypted to whoever answered.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ca_file_is_reported() {
        let e = client_config(&TlsTrust::CaFile("/no/such/ca.pem".into())).unwrap_err();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
    }

    #[test]
    fn insecure_mode_builds() {
        assert!(client_config(&TlsTrust::Insecure).is_ok());
    }
}

//! HTTP requests made *as the caller*: from this machine, optionally from a chosen local
//! address, without following redirects, so the answer is exactly what the locked-out
//! browser sees.
//!
//! Security plugins decide by client address. An admin on a VPN or a multi-homed machine may
//! have allow-listed an address that is not the default route, so every request can be bound
//! to a local address (`--bind`, like `curl --interface` or `ssh -b`). ureq has no setting for
//! that; [`BoundTcpConnector`] opens the socket itself and hands it to ureq's TLS layer.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, RustlsConnector, Transport,
};

/// How requests are made.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Local address to send from; `None` lets the kernel choose, as a browser would.
    pub bind: Option<IpAddr>,
    /// Upper bound for a whole request, connect to last body byte.
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            bind: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What went wrong with a request. The status code of an answer is never an error: a 503
/// block page is the evidence we came for.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL cannot be requested at all.
    #[error("{url} is not a usable http(s) URL: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The server could not be reached or the exchange broke off.
    #[error("request to {url} failed: {source}")]
    Request {
        /// The URL requested.
        url: String,
        /// What ureq reported.
        #[source]
        source: Box<ureq::Error>,
    },
}

/// One answer from the site.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The URL that was requested.
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, decoded lossily as UTF-8 (block pages are HTML).
    pub body: String,
}

/// The first value of header `name` (case-insensitive) among `headers`.
pub fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Response {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// Whether the body contains `marker`.
    pub fn contains(&self, marker: &str) -> bool {
        self.body.contains(marker)
    }
}

/// A response from `url` with `status`, `headers` and `body`, for unit tests that judge
/// answers.
#[cfg(test)]
pub(crate) fn sample_response(
    url: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    Response {
        url: url.into(),
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

// Bodies hold whole pages; a status line and size read better in test failures and logs.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let excerpt: String = self.body.chars().take(300).collect();
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("body_start", &excerpt)
            .finish()
    }
}

/// Makes requests as the caller. Cookies set with [`HttpClient::set_cookie`] go with every
/// request; nothing else is remembered between requests.
pub struct HttpClient {
    agent: ureq::Agent,
    cookies: Vec<(String, String)>,
    /// Whether each request tells transports that the site may have changed: those that may
    /// run the site's own code do (see [`HttpClient::to_helper`]), unless
    /// [`HttpClient::telling_nobody`] says otherwise.
    tells_transports: bool,
}

impl HttpClient {
    /// A client with these options.
    pub fn new(options: &HttpOptions) -> Self {
        Self::build(options, true)
    }

    /// A client for requests to wprescue's own helper only, which loads neither WordPress
    /// nor its plugins and changes no file but its own: what transports remember of the
    /// site's files stays good across these requests, and one connection carries them all.
    pub fn to_helper(options: &HttpOptions) -> Self {
        Self::build(options, false)
    }

    /// This client, but its requests do not tell transports the site may have changed: for
    /// requests sent while a transport reads the site, whose caller tells them once, after
    /// all are answered (with [`crate::transport::site_may_have_changed`]), so that what was
    /// read in the meantime is not thrown away halfway through.
    pub fn telling_nobody(mut self) -> Self {
        self.tells_transports = false;
        self
    }

    fn build(options: &HttpOptions, runs_site_code: bool) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("wprescue/", env!("CARGO_PKG_VERSION")))
            .build();
        let connector = BoundTcpConnector {
            local: options.bind,
            connect_timeout: options.timeout,
            reuse: !runs_site_code,
        }
        .chain(RustlsConnector::default());
        Self {
            agent: ureq::Agent::with_parts(config, connector, DefaultResolver::default()),
            cookies: Vec::new(),
            tells_transports: runs_site_code,
        }
    }

    /// Sends `name=value` as a cookie with every later request.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        self.cookies.push((name.to_owned(), value.to_owned()));
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Response, HttpError> {
        let request = self.with_cookies(self.agent.get(url));
        self.answer(url, request.call())
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body.
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Response, HttpError> {
        let request = self.with_cookies(self.agent.post(url));
        self.answer(url, request.send_form(form.iter().copied()))
    }

    /// `POST url` with a JSON body and extra request headers.
    pub fn post_json(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, HttpError> {
        let mut request = self
            .with_cookies(self.agent.post(url))
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.answer(url, request.send(body))
    }

    fn answer(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Response, HttpError> {
        if self.tells_transports {
            // PHP ran on the server (or may have): what a transport remembers of its files
            // is stale.
            crate::transport::site_may_have_changed();
        }
        read_response(url, result)
    }

    fn with_cookies<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        if self.cookies.is_empty() {
            return request;
        }
        let header = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        request.header("Cookie", header)
    }
}

/// A URL as traced: without its query string, where tokens would go.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn read_response(
    url: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Response, HttpError> {
    let wrap = |source: ureq::Error| match source {
        ureq::Error::BadUri(reason) => HttpError::BadUrl {
            url: url.to_owned(),
            reason,
        },
        source => HttpError::Request {
            url: url.to_owned(),
            source: Box::new(source),
        },
    };
    let mut response = result.map_err(|e| {
        tracing::debug!(url = without_query(url), error = %e, "http request failed");
        wrap(e)
    })?;
    let status = response.status().as_u16();
    tracing::debug!(url = without_query(url), status, "http");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(8 * 1024 * 1024)
        .read_to_vec()
        .map_err(wrap)?;
    Ok(Response {
        url: url.to_owned(),
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Opens the TCP connection from the requested local address.
#[derive(Debug)]
struct BoundTcpConnector {
    local: Option<IpAddr>,
    connect_timeout: Duration,
    /// Whether a connection may carry more than one request.
    reuse: bool,
}

impl Connector for BoundTcpConnector {
    type Out = BoundTcpTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        _chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let mut last_error = None;
        // A local IPv4 address cannot reach an IPv6 peer and vice versa: skip those.
        let candidates = details
            .addrs
            .iter()
            .filter(|a| self.local.is_none_or(|l| l.is_ipv4() == a.is_ipv4()));
        for addr in candidates {
            match self.connect_one(*addr) {
                Ok(stream) => {
                    let buffers = LazyBuffers::new(
                        details.config.input_buffer_size(),
                        details.config.output_buffer_size(),
                    );
                    return Ok(Some(BoundTcpTransport {
                        stream,
                        buffers,
                        reuse: self.reuse,
                    }));
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(ureq::Error::Io(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!(
                    "no address of the server matches the family of the local address {}",
                    self.local.map(|l| l.to_string()).unwrap_or_default()
                ),
            )
        })))
    }
}

impl BoundTcpConnector {
    fn connect_one(&self, peer: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(peer), Type::STREAM, Some(Protocol::TCP))?;
        if let Some(local) = self.local {
            socket
                .bind(&SocketAddr::new(local, 0).into())
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "cannot send from {local} (is it an address of this machine?): {e}"
                        ),
                    )
                })?;
        }
        socket.connect_timeout(&peer.into(), self.connect_timeout)?;
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true)?;
        // The global timeout bounds the request; these keep a silent peer from hanging a read.
        stream.set_read_timeout(Some(self.connect_timeout))?;
        stream.set_write_timeout(Some(self.connect_timeout))?;
        Ok(stream)
    }
}

/// A plain TCP transport for ureq. Probes' connections are not reused: a fresh connection
/// per request is what a block decision keyed on the client address should see. The helper's
/// are, while the server keeps them open: each saves a round trip.
struct BoundTcpTransport {
    stream: TcpStream,
    buffers: LazyBuffers,
    reuse: bool,
}

impl fmt::Debug for BoundTcpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundTcpTransport")
            .field("local", &self.stream.local_addr().ok())
            .field("peer", &self.stream.peer_addr().ok())
            .finish()
    }
}

impl Transport for BoundTcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, _timeout: NextTimeout) -> Result<(), ureq::Error> {
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, _timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => break result?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        if !self.reuse || self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        // Open is: nothing to read yet. End of file is a close; bytes nobody asked for are a
        // connection not to trust with another request.
        let mut byte = [0u8; 1];
        let open = matches!(
            self.stream.peek(&mut byte),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        open && self.stream.set_nonblocking(false).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A one-shot server on loopback that answers `reply` and reports the client's address.
    fn serve_once(reply: &'static str) -> (String, thread::JoinHandle<SocketAddr>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/probe", listener.local_addr().unwrap());
        let handle = thread::spawn(move || {
            let (mut conn, peer) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(reply.as_bytes()).unwrap();
            peer
        });
        (url, handle)
    }

    #[test]
    fn binds_to_the_requested_local_address() {
        let (url, server) = serve_once("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        let client = HttpClient::new(&HttpOptions {
            bind: Some("127.0.0.3".parse().unwrap()),
            ..HttpOptions::default()
        });
        let response = client.get(&url).unwrap();
        assert_eq!(response.status, 204);
        assert_eq!(server.join().unwrap().ip().to_string(), "127.0.0.3");
    }

    #[test]
    fn error_statuses_and_redirects_are_answers_not_errors() {
        let (url, _server) = serve_once(
            "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nRetry-After: 60\r\nContent-Length: 5\r\nConnection: close\r\n\r\nmoved",
        );
        let response = HttpClient::new(&HttpOptions::default()).get(&url).unwrap();
        assert_eq!(response.status, 302);
        assert_eq!(response.header("location"), Some("/elsewhere"));
        assert_eq!(response.header("Retry-After"), Some("60"));
        assert_eq!(response.body, "moved");
    }

    #[test]
    fn post_json_sends_the_body_and_headers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/helper.php", listener.local_addr().unwrap());
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.ends_with(b"{\"v\":1}") {
                let n = conn.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let response = HttpClient::new(&HttpOptions::default())
            .post_json(&url, &[("X-Test", "yes")], br#"{"v":1}"#)
            .unwrap();
        assert_eq!((response.status, response.body.as_str()), (200, "ok"));
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post /helper.php "), "{request}");
        assert!(
            request.contains("content-type: application/json\r\n"),
            "{request}"
        );
        assert!(request.contains("x-test: yes\r\n"), "{request}");
    }

    #[test]
    fn an_address_this_machine_does_not_have_is_named_in_the_error() {
        let client = HttpClient::new(&HttpOptions {
            bind: Some("192.0.2.1".parse().unwrap()),
            ..HttpOptions::default()
        });
        let err = client.get("http://127.0.0.1:9/").unwrap_err().to_string();
        assert!(err.contains("cannot send from 192.0.2.1"), "{err}");
    }
}

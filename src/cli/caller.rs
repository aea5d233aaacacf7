//! Which address the site sees for this machine: the one allow-lists must hold. Asked of the
//! web server itself (through the helper, as the caller), because a plugin compares what
//! *it* reads, and a NAT, VPN or proxy on the way makes the local guess wrong.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::helper::{Helper, Seen};
use crate::transport::{Transport, TransportExt};

/// The caller's address and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIp {
    /// The address.
    pub ip: IpAddr,
    /// Where it came from, for the user.
    pub source: String,
    /// What the user should know: proxies, disagreeing sources.
    pub notes: Vec<String>,
    /// What the web server saw of the request, when it was asked.
    pub seen: Option<Seen>,
}

impl CallerIp {
    /// The address the user gave with `--ip`.
    pub fn from_flag(ip: IpAddr) -> CallerIp {
        CallerIp {
            ip,
            source: "--ip".into(),
            notes: Vec::new(),
            seen: None,
        }
    }

    /// The address a plugin sees when it reads the visitor's address from `header` (its
    /// IP setting), and whether the request carried that header at all.
    pub fn as_read_from(&self, header: &str) -> Option<IpAddr> {
        self.seen.as_ref()?.header(header).and_then(first_address)
    }
}

/// The proxy headers a plugin may be set to read instead of `REMOTE_ADDR`.
const PROXY_HEADERS: [&str; 7] = [
    "X-Forwarded-For",
    "X-Real-IP",
    "CF-Connecting-IP",
    "Client-IP",
    "X-Cluster-Client-IP",
    "Forwarded",
    "X-Forwarded",
];

/// The caller's address: `--ip` if given; else what the web server saw of a request from
/// here (`REMOTE_ADDR`); else, when the server cannot be asked, this machine's own address
/// towards the site, flagged as a guess. Over SSH, the address sshd sees is compared.
pub fn find(
    flag: Option<IpAddr>,
    helper: &Helper,
    t: &mut dyn Transport,
    url: &str,
    bind: Option<IpAddr>,
) -> CallerIp {
    let mut caller = match flag {
        Some(ip) => CallerIp::from_flag(ip),
        None => match helper.whoami(t) {
            Ok(seen) => from_web_server(&seen).unwrap_or_else(|why| guess(url, bind, why)),
            Err(e) => guess(url, bind, e.to_string()),
        },
    };
    if let Some(ssh) = ssh_client(t).filter(|ssh| *ssh != caller.ip) {
        caller.notes.push(format!(
            "sshd sees this machine as {ssh}: a different route than the web server's (a hint only)"
        ));
    }
    caller
}

fn from_web_server(seen: &Seen) -> Result<CallerIp, String> {
    let ip: IpAddr = seen
        .remote_addr
        .parse()
        .map_err(|_| format!("the web server gave {:?} as REMOTE_ADDR", seen.remote_addr))?;
    let mut notes = Vec::new();
    for name in PROXY_HEADERS {
        let Some(value) = seen.header(name) else {
            continue;
        };
        match first_address(value) {
            Some(forwarded) if forwarded != ip => notes.push(format!(
                "the request reached the site through a proxy: {name} says {forwarded}, REMOTE_ADDR is {ip}; a plugin set to read {name} sees {forwarded}: if so, run again with --ip {forwarded}"
            )),
            _ => {}
        }
    }
    Ok(CallerIp {
        ip,
        source: "the web server (REMOTE_ADDR)".into(),
        notes,
        seen: Some(seen.clone()),
    })
}

/// The first address in a proxy header (`X-Forwarded-For: a, b`, `Forwarded: for=a;…`).
fn first_address(value: &str) -> Option<IpAddr> {
    let first = value.split(',').next()?.trim();
    let first = first
        .split(';')
        .find_map(|part| part.trim().strip_prefix("for="))
        .unwrap_or(first)
        .trim_matches('"');
    let first = first.trim_start_matches('[');
    let first = first.split(']').next().unwrap_or(first);
    first
        .parse()
        .ok()
        .or_else(|| first.rsplit_once(':')?.0.parse().ok())
}

/// This machine's own address towards the site: right when nothing translates addresses on
/// the way.
fn guess(url: &str, bind: Option<IpAddr>, why: String) -> CallerIp {
    let ip = bind
        .or_else(|| local_address_towards(url))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    CallerIp {
        ip,
        source: "this machine's own address towards the site (a guess)".into(),
        notes: vec![format!(
            "the web server could not be asked which address it sees ({why}); behind NAT or a proxy it sees another one: give --ip if you know it"
        )],
        seen: None,
    }
}

fn local_address_towards(url: &str) -> Option<IpAddr> {
    let target = host_and_port(url)?;
    let addr: SocketAddr = target.to_socket_addrs().ok()?.next()?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    Some(stream.local_addr().ok()?.ip())
}

/// `host:port` of an http(s) URL.
fn host_and_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = match authority.rfind(']') {
        Some(bracket) => authority[bracket..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        return Some(authority.to_owned());
    }
    let port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    Some(format!("{authority}:{port}"))
}

/// The address sshd sees for this machine (`$SSH_CLIENT`), when the target runs commands.
fn ssh_client(t: &mut dyn Transport) -> Option<IpAddr> {
    if !t.capabilities().exec {
        return None;
    }
    let out = t.run("printf %s \"${SSH_CLIENT%% *}\"").ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(remote: &str, headers: &[(&str, &str)]) -> Seen {
        Seen {
            remote_addr: remote.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_proxy_header_that_disagrees_is_pointed_out() {
        let plain = from_web_server(&seen("203.0.113.9", &[])).unwrap();
        assert_eq!(plain.ip.to_string(), "203.0.113.9");
        assert!(plain.notes.is_empty());

        let proxied = from_web_server(&seen(
            "10.0.0.2",
            &[("X-Forwarded-For", "198.51.100.7, 10.0.0.1")],
        ))
        .unwrap();
        assert_eq!(proxied.ip.to_string(), "10.0.0.2");
        assert!(
            proxied.notes[0].contains("X-Forwarded-For says 198.51.100.7")
                && proxied.notes[0].contains("--ip 198.51.100.7"),
            "{:?}",
            proxied.notes
        );
        let same = from_web_server(&seen("2001:db8::5", &[("X-Real-IP", "2001:db8::5")])).unwrap();
        assert!(same.notes.is_empty(), "IPv6 compared as addresses");
        assert_eq!(
            proxied.as_read_from("x-forwarded-for").unwrap().to_string(),
            "198.51.100.7"
        );
        assert_eq!(proxied.as_read_from("CF-Connecting-IP"), None);
        assert!(from_web_server(&seen("not an address", &[])).is_err());
    }

    #[test]
    fn proxy_headers_in_their_shapes() {
        assert_eq!(
            first_address("198.51.100.7").unwrap().to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            first_address("for=\"[2001:db8::1]:4711\";proto=https")
                .unwrap()
                .to_string(),
            "2001:db8::1"
        );
        assert_eq!(
            first_address("for=192.0.2.60;by=203.0.113.43")
                .unwrap()
                .to_string(),
            "192.0.2.60"
        );
        assert_eq!(first_address("unknown"), None);
    }

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            host_and_port("https://example.com/x").unwrap(),
            "example.com:443"
        );
        assert_eq!(
            host_and_port("http://127.0.0.10:18080").unwrap(),
            "127.0.0.10:18080"
        );
        assert_eq!(host_and_port("http://[::1]/").unwrap(), "[::1]:80");
        assert_eq!(host_and_port("http://[::1]:8080/").unwrap(), "[::1]:8080");
        assert_eq!(host_and_port("example.com"), None);
    }
}

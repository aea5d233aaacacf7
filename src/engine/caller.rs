//! Which address the site sees for this machine: the one allow-lists must hold. Decided here,
//! from data, in one place: `--ip`, what the web server saw of a request from here (asked
//! through the helper, because a NAT, VPN or proxy on the way makes a local guess wrong), the
//! address sshd sees, and, per plugin, the visitor-address setting that makes it read a proxy
//! header instead of `REMOTE_ADDR`. Asking is the session's job; nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;

use crate::helper::Seen;

use super::allowlist::SettingAt;

/// The caller's address, where it came from, and what the user should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The address.
    pub ip: IpAddr,
    /// Where it came from.
    pub source: CallerSource,
    /// What the user should know: proxies, disagreeing sources.
    pub notes: Vec<String>,
    /// What the web server saw of the request, when it was asked.
    pub seen: Option<Seen>,
}

/// Where the caller's address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerSource {
    /// The user said so (`--ip`).
    Flag,
    /// The web server's `REMOTE_ADDR` for a request from here.
    WebServer,
    /// This machine's own address towards the site: the web server could not be asked.
    Guess,
}

impl fmt::Display for CallerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallerSource::Flag => "--ip",
            CallerSource::WebServer => "the web server (REMOTE_ADDR)",
            CallerSource::Guess => "this machine's own address towards the site (a guess)",
        })
    }
}

/// A plugin's visitor-address setting and what its values mean.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpSource {
    /// Where the setting is.
    pub at: SettingAt,
    /// Setting values that make the plugin read a request header instead of `REMOTE_ADDR`,
    /// and that header (`HTTP_X_FORWARDED_FOR: X-Forwarded-For`); any other value means
    /// `REMOTE_ADDR`.
    pub headers: BTreeMap<String, String>,
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

/// What is known about the caller's address, gathered by the session.
#[derive(Debug, Clone)]
pub struct Clues {
    /// `--ip`: overrides everything else.
    pub flag: Option<IpAddr>,
    /// What the web server saw of a request from here, or why it could not be asked.
    pub seen: Result<Seen, String>,
    /// This machine's own address towards the site, for when the web server says nothing.
    pub local: IpAddr,
    /// The address sshd sees for this machine, when the target runs commands.
    pub sshd: Option<IpAddr>,
}

/// The caller's address: `--ip` if given; else what the web server saw (`REMOTE_ADDR`); else
/// this machine's own address towards the site, flagged as a guess. A different address seen
/// by sshd, or a proxy header that disagrees, becomes a note.
pub fn decide(clues: Clues) -> Caller {
    let mut caller = match (clues.flag, clues.seen) {
        (Some(ip), _) => Caller::from_flag(ip),
        (None, Ok(seen)) => from_web_server(&seen).unwrap_or_else(|why| guess(clues.local, &why)),
        (None, Err(why)) => guess(clues.local, &why),
    };
    if let Some(ssh) = clues.sshd.filter(|ssh| *ssh != caller.ip) {
        caller.notes.push(format!(
            "sshd sees this machine as {ssh}: a different route than the web server's (a hint only)"
        ));
    }
    caller
}

impl Caller {
    /// The address the user gave with `--ip`.
    pub fn from_flag(ip: IpAddr) -> Caller {
        Caller {
            ip,
            source: CallerSource::Flag,
            notes: Vec::new(),
            seen: None,
        }
    }

    /// The address a plugin sees when it reads the visitor's address from `header` (its
    /// IP setting), and whether the request carried that header at all.
    pub fn as_read_from(&self, header: &str) -> Option<IpAddr> {
        self.seen.as_ref()?.header(header).and_then(first_address)
    }

    /// Whether a plugin's visitor-address setting can matter: only when the web server told
    /// what the request carried (not with `--ip`, not for a guess).
    pub fn has_headers(&self) -> bool {
        self.seen.is_some()
    }

    /// The address `plugin`'s allow-list must hold, given its visitor-address setting `source`
    /// whose current value is `setting` (or why it could not be read): the caller's, unless
    /// the plugin reads a proxy header that the request carried with another address.
    pub fn for_plugin(
        &self,
        plugin: &str,
        source: &IpSource,
        setting: Result<Option<String>, String>,
    ) -> PluginAddress {
        let keep = |note: Option<String>| PluginAddress { ip: self.ip, note };
        if !self.has_headers() {
            return keep(None);
        }
        let value = match setting {
            Ok(value) => value.unwrap_or_default(),
            Err(why) => {
                return keep(Some(format!(
                    "{plugin}: cannot read its visitor-address setting ({why}); using {}",
                    self.ip
                )));
            }
        };
        let Some(header) = source.headers.get(&value) else {
            return keep(None);
        };
        match self.as_read_from(header) {
            Some(ip) if ip != self.ip => PluginAddress {
                ip,
                note: Some(format!(
                    "{plugin} reads the visitor's address from {header} (setting {value:?}), which says {ip}: that is the address it gets, not {}",
                    self.ip
                )),
            },
            Some(ip) => PluginAddress { ip, note: None },
            None => keep(Some(format!(
                "{plugin} reads the visitor's address from {header} (setting {value:?}); requests from here carry none, so it falls back to {}",
                self.ip
            ))),
        }
    }
}

/// The address one plugin sees for the caller, and why it differs, when it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginAddress {
    /// The address.
    pub ip: IpAddr,
    /// What the user should know about it.
    pub note: Option<String>,
}

fn from_web_server(seen: &Seen) -> Result<Caller, String> {
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
    Ok(Caller {
        ip,
        source: CallerSource::WebServer,
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
fn guess(local: IpAddr, why: &str) -> Caller {
    Caller {
        ip: local,
        source: CallerSource::Guess,
        notes: vec![format!(
            "the web server could not be asked which address it sees ({why}); behind NAT or a proxy it sees another one: give --ip if you know it"
        )],
        seen: None,
    }
}

/// `host:port` of an http(s) URL.
pub fn host_and_port(url: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::allowlist::Cell;

    fn seen(remote: &str, headers: &[(&str, &str)]) -> Seen {
        Seen {
            remote_addr: remote.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn clues(flag: Option<&str>, seen: Result<Seen, String>, sshd: Option<&str>) -> Clues {
        Clues {
            flag: flag.map(|f| f.parse().unwrap()),
            seen,
            local: "192.0.2.1".parse().unwrap(),
            sshd: sshd.map(|s| s.parse().unwrap()),
        }
    }

    fn wordfence_source() -> IpSource {
        IpSource {
            at: SettingAt {
                cell: Cell::Option("howGetIPs".into()),
                keys: Vec::new(),
            },
            headers: [(
                "HTTP_X_FORWARDED_FOR".to_owned(),
                "X-Forwarded-For".to_owned(),
            )]
            .into(),
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
    fn the_flag_wins_then_the_web_server_then_a_guess() {
        let web = || Ok(seen("203.0.113.9", &[]));
        let flagged = decide(clues(Some("198.51.100.1"), web(), None));
        assert_eq!(
            (flagged.ip.to_string(), flagged.source),
            ("198.51.100.1".into(), CallerSource::Flag)
        );
        let asked = decide(clues(None, web(), Some("203.0.113.9")));
        assert_eq!(asked.source, CallerSource::WebServer);
        assert!(asked.notes.is_empty(), "sshd agrees: {:?}", asked.notes);
        let guessed = decide(clues(None, Err("blocked".into()), Some("198.51.100.2")));
        assert_eq!(
            (guessed.ip.to_string(), guessed.source),
            ("192.0.2.1".into(), CallerSource::Guess)
        );
        assert!(
            guessed.notes[0].contains("(blocked)"),
            "{:?}",
            guessed.notes
        );
        assert!(guessed.notes[1].contains("sshd sees this machine as 198.51.100.2"));
        let garbage = decide(clues(None, Ok(seen("nonsense", &[])), None));
        assert_eq!(garbage.source, CallerSource::Guess);
    }

    #[test]
    fn a_plugin_reading_a_proxy_header_gets_that_address() {
        let source = wordfence_source();
        let proxied = decide(clues(
            None,
            Ok(seen("10.0.0.2", &[("X-Forwarded-For", "198.51.100.7")])),
            None,
        ));
        let header = proxied.for_plugin(
            "wordfence",
            &source,
            Ok(Some("HTTP_X_FORWARDED_FOR".into())),
        );
        assert_eq!(header.ip.to_string(), "198.51.100.7");
        assert!(header.note.unwrap().contains("not 10.0.0.2"));
        let remote = proxied.for_plugin("wordfence", &source, Ok(Some("REMOTE_ADDR".into())));
        assert_eq!(
            (remote.ip.to_string(), remote.note),
            ("10.0.0.2".into(), None)
        );
        let unset = proxied.for_plugin("wordfence", &source, Ok(None));
        assert_eq!(unset.ip.to_string(), "10.0.0.2");
        let unreadable = proxied.for_plugin("wordfence", &source, Err("no table".into()));
        assert!(unreadable.note.unwrap().contains("cannot read"));

        let direct = decide(clues(None, Ok(seen("10.0.0.2", &[])), None));
        let none = direct.for_plugin(
            "wordfence",
            &source,
            Ok(Some("HTTP_X_FORWARDED_FOR".into())),
        );
        assert_eq!(none.ip.to_string(), "10.0.0.2");
        assert!(none.note.unwrap().contains("carry none"));

        let flagged = Caller::from_flag("198.51.100.1".parse().unwrap());
        let kept = flagged.for_plugin("wordfence", &source, Err("never read".into()));
        assert_eq!(
            (kept.ip.to_string(), kept.note),
            ("198.51.100.1".into(), None)
        );
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

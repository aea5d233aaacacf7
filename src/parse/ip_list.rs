//! Allow-list entries as the security plugins read them, and the binary forms Wordfence keys
//! its tables and transients by.
//!
//! Each plugin accepts its own syntaxes: a single IP, CIDR (`1.2.3.0/24`), Wordfence's bracket
//! ranges (`1.2.3.[1-100]`) and linear ranges (`1.2.3.4 - 1.2.3.9`), AIOS and Solid's `*`
//! wildcards (`1.2.3.*`) and LLAR's `a-b`. [`list_covers`] understands all of them, so wprescue
//! adds an address only when no entry already lets it in. An IPv4-mapped IPv6 address
//! (`::ffff:1.2.3.4`) counts as the IPv4 address it carries, as it does for Wordfence. (LLAR,
//! AIOS and Solid compare `inet_pton()` forms and keep the two apart; treating them as one here
//! errs towards "covered" only for an entry the caller would have written in the other form.)
//!
//! Entries that match none of the syntaxes cover nothing, as in the plugins.

use std::net::IpAddr;

/// True when some entry of an allow-list lets `ip` in.
pub fn list_covers<'a>(entries: impl IntoIterator<Item = &'a str>, ip: IpAddr) -> bool {
    entries.into_iter().any(|entry| entry_covers(entry, ip))
}

/// True when one allow-list entry lets `ip` in.
pub fn entry_covers(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim();
    let ip = unmapped(ip);
    if entry.is_empty() {
        false
    } else if entry.contains('/') {
        cidr_covers(entry, ip)
    } else if entry.contains('[') {
        brackets_cover(entry, ip)
    } else if entry.contains('*') {
        wildcard_covers(entry, ip)
    } else if let Some((low, high)) = entry.split_once('-') {
        match (parse_ip(low), parse_ip(high)) {
            (Some(low), Some(high)) => same_family_between(ip, low, high),
            _ => false,
        }
    } else {
        parse_ip(entry) == Some(ip)
    }
}

/// The 16-byte form Wordfence stores (`wfblocks7.IP`, the base64 in `config-synced.php`):
/// IPv4 as IPv4-mapped IPv6.
pub fn ip_to_binary16(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Lower-case hex of [`ip_to_binary16`], as in Wordfence's `wflginfl_<hex>` transients.
pub fn ip_to_hex16(ip: IpAddr) -> String {
    ip_to_binary16(ip)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok().map(unmapped)
}

fn same_family_between(ip: IpAddr, low: IpAddr, high: IpAddr) -> bool {
    match (ip, low, high) {
        (IpAddr::V4(ip), IpAddr::V4(low), IpAddr::V4(high)) => low <= ip && ip <= high,
        (IpAddr::V6(ip), IpAddr::V6(low), IpAddr::V6(high)) => low <= ip && ip <= high,
        _ => false,
    }
}

fn cidr_covers(entry: &str, ip: IpAddr) -> bool {
    let Some((net, bits)) = entry.split_once('/') else {
        return false;
    };
    let Ok(net) = net.trim().parse::<IpAddr>() else {
        return false;
    };
    let Ok(bits) = bits.trim().parse::<u32>() else {
        return false;
    };
    // An IPv4-mapped network such as ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
    let (net, bits) = match net {
        IpAddr::V6(v6) if bits >= 96 => match v6.to_ipv4_mapped() {
            Some(v4) => (IpAddr::V4(v4), bits - 96),
            None => (net, bits),
        },
        _ => (net, bits),
    };
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// Wordfence's bracket ranges: each part of the address is a number or `[low-high]`, decimal
/// for IPv4 octets, hex for IPv6 groups (`2001:db8::[0-ff]`).
fn brackets_cover(entry: &str, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let parts: Vec<&str> = entry.split('.').collect();
            parts.len() == 4
                && parts
                    .iter()
                    .zip(ip.octets())
                    .all(|(part, octet)| part_covers(part, u32::from(octet), 10))
        }
        IpAddr::V6(ip) => expand_ipv6_pattern(entry).is_some_and(|groups| {
            groups
                .iter()
                .zip(ip.segments())
                .all(|(part, segment)| part_covers(part, u32::from(segment), 16))
        }),
    }
}

fn part_covers(part: &str, value: u32, radix: u32) -> bool {
    let number = |text: &str| u32::from_str_radix(text.trim(), radix).ok();
    match part
        .trim()
        .strip_prefix('[')
        .and_then(|p| p.strip_suffix(']'))
    {
        Some(range) => match range.split_once('-') {
            Some((low, high)) => match (number(low), number(high)) {
                (Some(low), Some(high)) => low <= value && value <= high,
                _ => false,
            },
            None => false,
        },
        None => number(part) == Some(value),
    }
}

/// The eight groups of an IPv6 pattern, with `::` expanded into zero groups.
fn expand_ipv6_pattern(entry: &str) -> Option<Vec<&str>> {
    let groups: Vec<&str> = match entry.split_once("::") {
        Some((head, tail)) => {
            let head: Vec<&str> = head.split(':').filter(|g| !g.is_empty()).collect();
            let tail: Vec<&str> = tail.split(':').filter(|g| !g.is_empty()).collect();
            let missing = 8usize.checked_sub(head.len() + tail.len())?;
            head.into_iter()
                .chain(std::iter::repeat_n("0", missing))
                .chain(tail)
                .collect()
        }
        None => entry.split(':').collect(),
    };
    (groups.len() == 8).then_some(groups)
}

/// AIOS's wildcard: each `*` stands for one or more characters of `[0-9a-f:]` in the address
/// as text, so `1.2.3.*` covers one octet and never crosses a dot. Solid turns `*` octets into
/// a CIDR prefix, which covers the same addresses for the usual trailing wildcards.
fn wildcard_covers(entry: &str, ip: IpAddr) -> bool {
    let text = ip.to_string();
    glob_matches(&entry.to_ascii_lowercase(), &text)
}

fn glob_matches(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((literal, rest)) => {
            let Some(after) = text.strip_prefix(literal) else {
                return false;
            };
            let run = after
                .bytes()
                .take_while(|b| b.is_ascii_hexdigit() || *b == b':')
                .count();
            // The star takes at least one character; try every length it may take.
            (1..=run).any(|taken| glob_matches(rest, &after[taken..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn covers(entry: &str, address: &str) -> bool {
        entry_covers(entry, ip(address))
    }

    #[test]
    fn single_addresses() {
        assert!(covers("1.2.3.4", "1.2.3.4"));
        assert!(covers("  1.2.3.4\r", "1.2.3.4"));
        assert!(!covers("1.2.3.4", "1.2.3.5"));
        assert!(covers("2001:db8::1", "2001:0db8:0:0::1"));
        assert!(!covers("2001:db8::1", "2001:db8::2"));
        assert!(!covers("", "1.2.3.4"));
        assert!(!covers("not an ip", "1.2.3.4"));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        assert!(covers("1.2.3.4", "::ffff:1.2.3.4"));
        assert!(covers("::ffff:1.2.3.4", "1.2.3.4"));
        assert!(covers("1.2.3.0/24", "::ffff:1.2.3.200"));
        assert!(covers("::ffff:1.2.3.0/120", "1.2.3.200"));
        assert!(!covers("::ffff:1.2.3.0/120", "1.2.4.1"));
        assert!(covers("1.2.3.[1-9]", "::ffff:1.2.3.9"));
        assert!(covers("1.2.3.1-1.2.3.9", "::ffff:1.2.3.5"));
        assert!(
            !covers("::1.2.3.4", "1.2.3.4"),
            "IPv4-compatible is not mapped"
        );
    }

    #[test]
    fn cidr() {
        assert!(covers("1.2.3.0/24", "1.2.3.255"));
        assert!(!covers("1.2.3.0/24", "1.2.4.0"));
        assert!(covers("1.2.3.4/32", "1.2.3.4"));
        assert!(!covers("1.2.3.4/32", "1.2.3.5"));
        assert!(covers("0.0.0.0/0", "203.0.113.7"));
        assert!(covers("10.0.0.0/8", "10.255.1.2"));
        assert!(covers("2001:db8::/32", "2001:db8:ffff::1"));
        assert!(!covers("2001:db8::/32", "2001:db9::1"));
        assert!(covers("::/0", "2001:db8::1"));
        assert!(!covers("1.2.3.0/33", "1.2.3.4"));
        assert!(!covers("1.2.3.0/x", "1.2.3.4"));
        assert!(!covers("1.2.3.0/24", "2001:db8::1"));
        assert!(!covers("2001:db8::/32", "1.2.3.4"));
    }

    #[test]
    fn wordfence_bracket_ranges() {
        assert!(covers("1.2.3.[1-100]", "1.2.3.1"));
        assert!(covers("1.2.3.[1-100]", "1.2.3.100"));
        assert!(!covers("1.2.3.[1-100]", "1.2.3.101"));
        assert!(!covers("1.2.3.[1-100]", "1.2.4.50"));
        assert!(covers("1.[0-9].3.[1-2]", "1.7.3.2"));
        assert!(!covers("1.[0-9].3.[1-2]", "1.10.3.2"));
        assert!(!covers("1.2.[1-100]", "1.2.3.4"), "three parts");
        assert!(covers("2001:db8::[0-ff]", "2001:db8::a0"));
        assert!(!covers("2001:db8::[0-ff]", "2001:db8::100"));
        assert!(covers("2001:db8:[0-f]::1", "2001:db8:c::1"));
        assert!(!covers("2001:db8::[0-ff]", "1.2.3.4"));
    }

    #[test]
    fn linear_ranges() {
        assert!(covers("1.2.3.4 - 1.2.3.9", "1.2.3.4"));
        assert!(covers("1.2.3.4 - 1.2.3.9", "1.2.3.9"));
        assert!(!covers("1.2.3.4 - 1.2.3.9", "1.2.3.10"));
        assert!(
            covers("10.0.0.0-10.0.255.255", "10.0.77.1"),
            "LLAR writes no spaces"
        );
        assert!(covers("2001:db8::1-2001:db8::ff", "2001:db8::80"));
        assert!(!covers("1.2.3.4-2001:db8::1", "1.2.3.5"));
        assert!(!covers("1.2.3.4-", "1.2.3.4"));
    }

    #[test]
    fn wildcards() {
        assert!(covers("1.2.3.*", "1.2.3.4"));
        assert!(covers("1.2.3.*", "1.2.3.255"));
        assert!(!covers("1.2.3.*", "1.2.4.4"));
        assert!(covers("1.2.*.*", "1.2.77.4"));
        assert!(!covers("1.2.*", "1.2.3.4"), "a star never crosses a dot");
        assert!(covers("2001:DB8:*", "2001:db8::1"));
        assert!(!covers("2001:db8:*", "2001:db9::1"));
    }

    #[test]
    fn lists() {
        let wordfence = "203.0.113.9,10.0.0.0/8,1.2.3.[1-9]";
        assert!(list_covers(wordfence.split(','), ip("10.1.1.1")));
        assert!(list_covers(wordfence.split(','), ip("1.2.3.5")));
        assert!(!list_covers(wordfence.split(','), ip("1.2.3.50")));
        let aios = "195.47.89.*\n127.0.0.1\n";
        assert!(list_covers(aios.lines(), ip("127.0.0.1")));
        assert!(!list_covers([], ip("127.0.0.1")));
    }

    #[test]
    fn binary_forms() {
        assert_eq!(
            ip_to_binary16(ip("127.0.0.1")),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
        );
        assert_eq!(
            ip_to_binary16(ip("::ffff:127.0.0.1")),
            ip_to_binary16(ip("127.0.0.1"))
        );
        assert_eq!(
            ip_to_binary16(ip("2001:db8::1"))[..4],
            [0x20, 0x01, 0x0d, 0xb8]
        );
        // PHP: bin2hex(str_repeat("\0", 10) . "\xff\xff" . inet_pton('127.0.0.1'))
        assert_eq!(
            ip_to_hex16(ip("127.0.0.1")),
            "00000000000000000000ffff7f000001"
        );
        assert_eq!(
            ip_to_hex16(ip("2001:db8::1")),
            "20010db8000000000000000000000001"
        );
    }
}

//! WordPress password hashes, made here so the password itself never leaves this machine:
//! only its hash is sent to the site.
//!
//! - WordPress 6.8 and later: bcrypt of the HMAC-SHA384 of the password (key `wp-sha384`),
//!   base64-encoded, prefixed `$wp` (`wp_hash_password` in `wp-includes/pluggable.php`).
//! - Earlier, or when the version is unknown: phpass's portable hash (`$P$B…`, 2^13 rounds of
//!   MD5), which every WordPress accepts; 6.8 and later upgrade it to bcrypt at the next login.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha384;

/// phpass's alphabet for its base64 variant.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// phpass's round count as WordPress asks for it (`new PasswordHash(8, true)` adds 5): 2^13.
const PHPASS_LOG2_ROUNDS: usize = 13;

/// The bcrypt cost PHP's `password_hash` uses by default before PHP 8.4.
const BCRYPT_COST: u32 = 10;

/// The hash `password` gets on a site running WordPress `wp_version`, as WordPress itself
/// makes it (the password trimmed first, as `wp_hash_password` does).
pub fn hash_password(password: &str, wp_version: Option<&str>) -> String {
    let password = password.trim();
    if wp_version.is_some_and(bcrypt_era) {
        wp_bcrypt(password, random_salt())
    } else {
        phpass(password, &random_bytes::<6>())
    }
}

/// Whether WordPress `version` hashes with bcrypt (6.8 and later).
fn bcrypt_era(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (6, 8)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random numbers");
    bytes
}

fn random_salt() -> [u8; 16] {
    random_bytes()
}

/// `$wp` + bcrypt (`$2y$10$`) of base64(HMAC-SHA384(password, "wp-sha384")).
fn wp_bcrypt(password: &str, salt: [u8; 16]) -> String {
    let mut mac = <Hmac<Sha384> as KeyInit>::new_from_slice(b"wp-sha384").expect("any key length");
    mac.update(password.as_bytes());
    let pre = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let parts = bcrypt::hash_with_salt(pre, BCRYPT_COST, salt).expect("a valid cost");
    format!("$wp{}", parts.format_for_version(bcrypt::Version::TwoY))
}

/// phpass's portable hash with this 6-byte salt: `$P$B`, the salt (8 characters), and the
/// MD5 chain (22 characters).
fn phpass(password: &str, salt: &[u8; 6]) -> String {
    let salt = encode64(salt);
    let mut hash = Md5::digest([salt.as_bytes(), password.as_bytes()].concat());
    for _ in 0..1usize << PHPASS_LOG2_ROUNDS {
        hash = Md5::digest([hash.as_slice(), password.as_bytes()].concat());
    }
    format!(
        "$P${}{salt}{}",
        char::from(ITOA64[PHPASS_LOG2_ROUNDS]),
        encode64(&hash)
    )
}

/// phpass's `encode64`: little-endian groups of 3 bytes as 4 characters, the last group short.
fn encode64(input: &[u8]) -> String {
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let value = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, b)| v | u32::from(*b) << (8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ITOA64[(value >> (6 * i) & 0x3f) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by PHP 8.2 with WordPress 6.8's `class-phpass.php` and `wp_hash_password`, for the
    /// password `correct horse`.
    const PHPASS: &str = "$P$BawiuG96YV95FIBmC.SB/wfZ2MXRQT/";
    const WP_BCRYPT: &str = "$wp$2y$10$lZB8u/n7xTCCy12CZJZIc.vnK7AllWuupjvpoiXlhV9SWxw2zgeSG";

    fn decode64(text: &str) -> Vec<u8> {
        let mut bits = 0u32;
        let mut have = 0;
        let mut out = Vec::new();
        for c in text.bytes() {
            bits |= (ITOA64.iter().position(|x| *x == c).unwrap() as u32) << have;
            have += 6;
            if have >= 8 {
                out.push(bits as u8);
                bits >>= 8;
                have -= 8;
            }
        }
        out
    }

    #[test]
    fn phpass_matches_wordpress() {
        let salt: [u8; 6] = decode64("awiuG96Y").try_into().unwrap();
        assert_eq!(phpass("correct horse", &salt), PHPASS);
        assert_eq!(encode64(&salt), "awiuG96Y");
    }

    #[test]
    fn bcrypt_matches_wordpress() {
        let salt = &WP_BCRYPT["$wp$2y$10$".len()..][..22];
        let raw = bcrypt::BASE_64.decode(salt).unwrap();
        let made = wp_bcrypt("correct horse", raw.try_into().unwrap());
        assert_eq!(made, WP_BCRYPT);
    }

    #[test]
    fn the_version_chooses_the_scheme_and_the_password_is_trimmed() {
        let new = hash_password(" correct horse\n", Some("6.8.8"));
        assert!(new.starts_with("$wp$2y$10$") && new.len() == 63, "{new}");
        let salt = bcrypt::BASE_64.decode(&new[10..32]).unwrap();
        assert_eq!(wp_bcrypt("correct horse", salt.try_into().unwrap()), new);
        for old in [Some("6.7.2"), Some("5.9"), None] {
            let hash = hash_password("correct horse", old);
            assert!(
                hash.starts_with("$P$B") && hash.len() == 34,
                "{old:?}: {hash}"
            );
        }
        assert!(bcrypt_era("7.0-beta1") && bcrypt_era("6.10") && !bcrypt_era("6.7.9"));
        assert_ne!(
            hash_password("same", Some("6.8")),
            hash_password("same", Some("6.8")),
            "salted"
        );
    }
}

//! The files the firewalls read before WordPress loads, as typed readers and writers.
//!
//! These firewalls decide from their own copies, not from the database, so an unlock must edit
//! the files too. Their readers skip a fixed number of bytes before the data, so a writer must
//! reproduce each header byte for byte:
//!
//! - Wordfence `wp-content/wflogs/config*.php` ([`WordfenceWafConfig`]):
//!   `<?php exit('Access denied'); __halt_compiler(); ?>` and a newline, Wordfence's 4-line `*`
//!   banner, then a PHP-serialized array. The allow-list is its `whitelistedIPs` string, the
//!   blocks are JSON strings under `otherBlocks` and `lockouts`.
//! - AIOS `wp-content/uploads/aios/firewall-rules/settings.php` ([`AiosFirewallSettings`]): a
//!   `<?php __halt_compiler();` comment header, then a JSON object.
//! - AIOS `…/firewall-rules/allowlist.php` ([`AiosAllowlist`]): the same style of header, then
//!   one IP or range per line.
//!
//! Each type writes back exactly the bytes it read until something is changed, and then what
//! the plugin itself would have written.

mod json;

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::ip_list::{ip_to_binary16, list_covers};
use super::serialized::{self, Value};
use json::{Json, Member};

/// Why a firewall file could not be read or changed. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FirewallFileError {
    /// A Wordfence `wflogs/config*.php` that does not look like one.
    #[error("this is not a Wordfence WAF config file: {problem}")]
    Wordfence {
        /// What is wrong.
        problem: String,
    },
    /// An AIOS `firewall-rules/settings.php` that does not look like one.
    #[error("this is not an AIOS firewall settings file: {problem}")]
    AiosSettings {
        /// What is wrong.
        problem: String,
    },
    /// An AIOS `firewall-rules/allowlist.php` that does not look like one.
    #[error("this is not an AIOS firewall allow list: {problem}")]
    AiosAllowlist {
        /// What is wrong.
        problem: String,
    },
}

fn wordfence_error(problem: impl Into<String>) -> FirewallFileError {
    FirewallFileError::Wordfence {
        problem: problem.into(),
    }
}

fn settings_error(problem: impl Into<String>) -> FirewallFileError {
    FirewallFileError::AiosSettings {
        problem: problem.into(),
    }
}

/// The first line of every Wordfence `wflogs` file (`wfWAFStorageFile::LOG_FILE_HEADER`).
pub const WORDFENCE_HEADER: &str = "<?php exit('Access denied'); __halt_compiler(); ?>\n";

/// The banner after it in the `config*.php` files (`wfWAFStorageFile::LOG_INFO_HEADER`); the
/// reader strips exactly this many bytes when the text starts with `*`.
pub const WORDFENCE_BANNER: &str = "******************************************************************\n\
This file is used by the Wordfence Web Application Firewall. Read \n\
more at https://docs.wordfence.com/en/Web_Application_Firewall_FAQ\n\
******************************************************************\n";

/// A Wordfence WAF config file, such as `wflogs/config-synced.php`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordfenceWafConfig {
    /// Whether the banner follows the first line (Wordfence writes it; the reader accepts
    /// files without it).
    banner: bool,
    /// The serialized array. Keep it an array: Wordfence discards a file holding anything
    /// else and starts over with empty settings.
    pub data: Value,
}

impl WordfenceWafConfig {
    /// The allow-list key, a comma-separated string (a copy of `wfconfig.whitelisted`).
    pub const ALLOWLIST_KEY: &str = "whitelistedIPs";

    /// Reads a file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<WordfenceWafConfig, FirewallFileError> {
        let rest = bytes
            .strip_prefix(WORDFENCE_HEADER.as_bytes())
            .ok_or_else(|| {
                wordfence_error(format!(
                    "it does not start with the line {:?}",
                    WORDFENCE_HEADER.trim_end()
                ))
            })?;
        let (banner, payload) = match rest.strip_prefix(WORDFENCE_BANNER.as_bytes()) {
            Some(payload) => (true, payload),
            None if rest.starts_with(b"*") => {
                return Err(wordfence_error(
                    "the `*` banner after the first line is not Wordfence's 4-line banner",
                ));
            }
            None => (false, rest),
        };
        let header_len = bytes.len() - payload.len();
        let data = serialized::parse(payload).map_err(|mut e| {
            e.offset += header_len;
            wordfence_error(format!("after the header, {e}"))
        })?;
        if !matches!(data, Value::Array(_)) {
            return Err(wordfence_error(format!(
                "the serialized value is {}, not an array",
                data.kind()
            )));
        }
        Ok(WordfenceWafConfig { banner, data })
    }

    /// The file's bytes: the same as read when nothing was changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = WORDFENCE_HEADER.as_bytes().to_vec();
        if self.banner {
            out.extend_from_slice(WORDFENCE_BANNER.as_bytes());
        }
        out.extend_from_slice(&self.data.to_bytes());
        out
    }

    /// The allow-list entries (`whitelistedIPs`, split at commas).
    pub fn allowlist(&self) -> Result<Vec<&str>, FirewallFileError> {
        let list = match self.data.get(Self::ALLOWLIST_KEY) {
            None => "",
            Some(value) => value.as_str().ok_or_else(|| {
                wordfence_error(format!(
                    "{} is {}, not a string",
                    Self::ALLOWLIST_KEY,
                    value.kind()
                ))
            })?,
        };
        Ok(list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect())
    }

    /// Adds `ip` to the allow-list as Wordfence writes it (`a,b,c`), unless an entry already
    /// covers it. Returns whether the file changed.
    pub fn allow(&mut self, ip: IpAddr) -> Result<bool, FirewallFileError> {
        let entries = self.allowlist()?;
        if list_covers(entries.iter().copied(), ip) {
            return Ok(false);
        }
        let list = match self.data.get_str(Self::ALLOWLIST_KEY) {
            Some(list) if !list.trim().is_empty() => format!("{list},{ip}"),
            _ => ip.to_string(),
        };
        self.data
            .set_str(Self::ALLOWLIST_KEY, &list)
            .map_err(|e| wordfence_error(e.to_string()))?;
        Ok(true)
    }

    /// Takes `ip` back out of the allow-list, where it stands as an entry of its own (what
    /// [`WordfenceWafConfig::allow`] added): the inverse of `allow`. Returns whether the file
    /// changed.
    pub fn disallow(&mut self, ip: IpAddr) -> Result<bool, FirewallFileError> {
        let entries = self.allowlist()?;
        let entry = ip.to_string();
        if !entries.contains(&entry.as_str()) {
            return Ok(false);
        }
        let kept: Vec<&str> = entries.into_iter().filter(|e| *e != entry).collect();
        let list = kept.join(",");
        self.data
            .set_str(Self::ALLOWLIST_KEY, &list)
            .map_err(|e| wordfence_error(e.to_string()))?;
        Ok(true)
    }

    /// Removes `ip`'s blocks (`otherBlocks`) and login lockouts (`lockouts`) from the
    /// firewall's copy, the way the plugin's next sync would once the database rows are gone.
    /// Returns what was removed (to put back with [`WordfenceWafConfig::restore_blocks`]); the
    /// file is unchanged when nothing was.
    pub fn remove_blocks(&mut self, ip: IpAddr) -> Result<Vec<RemovedBlock>, FirewallFileError> {
        let binary = ip_to_binary16(ip);
        let mut removed = Vec::new();
        for (key, list_key) in BLOCK_LISTS {
            // Before the first block, Wordfence stores nothing there, or `N;`, or "".
            let text = match self.data.get(key) {
                None | Some(Value::Null | Value::Bool(false)) => continue,
                Some(value) => value
                    .as_str()
                    .ok_or_else(|| wordfence_error(format!("{key} is not JSON text")))?,
            };
            if text.trim().is_empty() {
                continue;
            }
            let mut blocks = Json::parse(text)
                .map_err(|e| wordfence_error(format!("{key} is not valid JSON: {e}")))?;
            let Some(list) = member_mut(&mut blocks, list_key) else {
                continue;
            };
            let Json::Array(entries) = list else {
                return Err(wordfence_error(format!("{key}.{list_key} is not a list")));
            };
            let before = entries.len();
            removed.extend(
                entries
                    .iter()
                    .filter(|entry| block_ip(entry).as_deref() == Some(&binary[..]))
                    .map(|entry| RemovedBlock {
                        list: key.to_owned(),
                        entry: entry.to_text(),
                    }),
            );
            entries.retain(|entry| block_ip(entry).as_deref() != Some(&binary[..]));
            if entries.len() < before {
                self.data
                    .set_str(key, &blocks.to_text())
                    .map_err(|e| wordfence_error(e.to_string()))?;
            }
        }
        Ok(removed)
    }

    /// Puts back block entries [`WordfenceWafConfig::remove_blocks`] took out, each unless an
    /// equal one is there: the inverse of `remove_blocks` on a file the plugin may have
    /// rewritten since. Returns how many were put back.
    pub fn restore_blocks(&mut self, removed: &[RemovedBlock]) -> Result<usize, FirewallFileError> {
        let mut restored = 0;
        for block in removed {
            let Some((key, list_key)) = BLOCK_LISTS.iter().find(|(key, _)| *key == block.list)
            else {
                return Err(wordfence_error(format!("no block list {:?}", block.list)));
            };
            let entry = Json::parse(&block.entry)
                .map_err(|e| wordfence_error(format!("a journalled block is not JSON: {e}")))?;
            let mut blocks = match self.data.get(key).and_then(Value::as_str) {
                Some(text) if !text.trim().is_empty() => Json::parse(text)
                    .map_err(|e| wordfence_error(format!("{key} is not valid JSON: {e}")))?,
                _ => Json::Object(Vec::new()),
            };
            let Json::Object(members) = &mut blocks else {
                return Err(wordfence_error(format!("{key} is not a JSON object")));
            };
            if !members.iter().any(|m| m.key == *list_key) {
                members.push(Member::new(list_key, Json::Array(Vec::new())));
            }
            let Some(Json::Array(entries)) = member_mut(&mut blocks, list_key) else {
                return Err(wordfence_error(format!("{key}.{list_key} is not a list")));
            };
            if entries.contains(&entry) {
                continue;
            }
            entries.push(entry);
            restored += 1;
            self.data
                .set_str(key, &blocks.to_text())
                .map_err(|e| wordfence_error(e.to_string()))?;
        }
        Ok(restored)
    }
}

/// Where Wordfence's firewall file keeps blocks: the setting and the list inside its JSON.
const BLOCK_LISTS: [(&str, &str); 2] = [("otherBlocks", "blocks"), ("lockouts", "lockouts")];

/// A block entry taken out of a Wordfence firewall file: which list, and the entry's JSON
/// text, to put back exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemovedBlock {
    /// `otherBlocks` or `lockouts`.
    pub list: String,
    /// The entry, as the file held it.
    pub entry: String,
}

/// The 16-byte address of a block entry (`{"IP":"<base64>",…}`).
fn block_ip(entry: &Json) -> Option<Vec<u8>> {
    let Json::Object(members) = entry else {
        return None;
    };
    let ip = members.iter().find(|m| m.key == "IP")?.value.as_str()?;
    STANDARD.decode(ip).ok()
}

fn member_mut<'a>(json: &'a mut Json, key: &str) -> Option<&'a mut Json> {
    match json {
        Json::Object(members) => members
            .iter_mut()
            .find(|m| m.key == key)
            .map(|m| &mut m.value),
        _ => None,
    }
}

/// The header AIOS puts before each firewall file: its reader skips exactly this many bytes
/// (`File_Prefix_Trait::get_file_content_prefix`), so only the description line differs.
fn aios_header(description: &str) -> String {
    format!(
        "<?php __halt_compiler();\n/**\n * This file was created by All In One Security (AIOS) plugin.\n * {description}\n */\n"
    )
}

const AIOS_SETTINGS_DESCRIPTION: &str =
    "The file is required for storing and retrieving your firewall's settings.";
const AIOS_ALLOWLIST_DESCRIPTION: &str =
    "The file is required for storing and retrieving your firewall's allow list.";

/// AIOS's `firewall-rules/settings.php`: the firewall's copy of the settings it enforces
/// before WordPress loads (`aiowps_blacklist_ips`, `aiowps_enable_blacklisting`, …).
///
/// The JSON keeps its member order and the source text of every value it does not change; a
/// changed file is written compactly with strings encoded as PHP's `json_encode()` does, which
/// is what AIOS itself writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiosFirewallSettings {
    /// The file as read, written back while nothing changed.
    original: Vec<u8>,
    /// The settings, in order. AIOS starts the file with `[]` (an empty PHP array), which
    /// reads as no settings.
    members: Vec<Member>,
    changed: bool,
}

impl AiosFirewallSettings {
    /// Reads a file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<AiosFirewallSettings, FirewallFileError> {
        let header = aios_header(AIOS_SETTINGS_DESCRIPTION);
        let body = bytes.strip_prefix(header.as_bytes()).ok_or_else(|| {
            settings_error(format!(
                "it does not start with AIOS's exact header {header:?}"
            ))
        })?;
        let body = std::str::from_utf8(body)
            .map_err(|e| settings_error(format!("the JSON after the header is not UTF-8: {e}")))?;
        // AIOS reads an empty body as no settings.
        let members = if body.is_empty() {
            Vec::new()
        } else {
            match Json::parse(body)
                .map_err(|e| settings_error(format!("the JSON after the header: {e}")))?
            {
                Json::Object(members) => members,
                Json::Array(items) if items.is_empty() => Vec::new(),
                _ => return Err(settings_error("the JSON after the header is not an object")),
            }
        };
        Ok(AiosFirewallSettings {
            original: bytes.to_vec(),
            members,
            changed: false,
        })
    }

    /// The setting `key`, as `serde_json` reads it.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        self.member(key).map(|m| m.value.to_value())
    }

    /// `$settings[$key] = $value` with a string: replaced in place, or added at the end.
    pub fn set_str(&mut self, key: &str, value: &str) {
        let value = Json::string(value);
        match self.members.iter_mut().find(|m| m.key == key) {
            Some(member) if member.value == value => return,
            Some(member) => member.value = value,
            None => self.members.push(Member::new(key, value)),
        }
        self.changed = true;
    }

    /// Removes the string `item` from the list under `key` (e.g. an IP from
    /// `aiowps_blacklist_ips`). Returns how many entries were removed.
    pub fn list_remove(&mut self, key: &str, item: &str) -> Result<usize, FirewallFileError> {
        let Some(member) = self.members.iter_mut().find(|m| m.key == key) else {
            return Ok(0);
        };
        let Json::Array(items) = &mut member.value else {
            return Err(settings_error(format!("{key} is not a list")));
        };
        let before = items.len();
        items.retain(|i| i.as_str().as_deref() != Some(item));
        let removed = before - items.len();
        self.changed |= removed > 0;
        Ok(removed)
    }

    /// The file's bytes: the same as read when nothing was changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        if !self.changed {
            return self.original.clone();
        }
        let mut out = aios_header(AIOS_SETTINGS_DESCRIPTION);
        // json_encode() of an empty PHP array is `[]`.
        if self.members.is_empty() {
            out.push_str("[]");
        } else {
            out.push_str(&Json::Object(self.members.clone()).to_text());
        }
        out.into_bytes()
    }

    fn member(&self, key: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.key == key)
    }
}

/// AIOS's `firewall-rules/allowlist.php`: addresses that bypass every firewall rule, one per
/// line (single IPs, CIDR ranges or `*` wildcards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiosAllowlist {
    /// Everything after the header, as read.
    body: String,
}

impl Default for AiosAllowlist {
    fn default() -> Self {
        AiosAllowlist::new()
    }
}

impl AiosAllowlist {
    /// An empty list, as AIOS writes it when nobody is allowed: the header alone.
    pub fn new() -> AiosAllowlist {
        AiosAllowlist {
            body: String::new(),
        }
    }

    /// Reads a file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<AiosAllowlist, FirewallFileError> {
        let error = |problem: String| FirewallFileError::AiosAllowlist { problem };
        let header = aios_header(AIOS_ALLOWLIST_DESCRIPTION);
        let body = bytes.strip_prefix(header.as_bytes()).ok_or_else(|| {
            error(format!(
                "it does not start with AIOS's exact header {header:?}"
            ))
        })?;
        let body = std::str::from_utf8(body)
            .map_err(|e| error(format!("the list after the header is not UTF-8: {e}")))?;
        Ok(AiosAllowlist {
            body: body.to_owned(),
        })
    }

    /// The entries, as AIOS reads them: the text trimmed, split at newlines.
    pub fn entries(&self) -> Vec<&str> {
        self.body
            .trim()
            .split('\n')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect()
    }

    /// Adds `ip` on a line of its own, unless an entry already covers it. Returns whether the
    /// list changed.
    pub fn allow(&mut self, ip: IpAddr) -> bool {
        if list_covers(self.entries(), ip) {
            return false;
        }
        let kept = self.body.trim_end().len();
        self.body.truncate(kept);
        if !self.body.is_empty() {
            self.body.push('\n');
        }
        self.body.push_str(&ip.to_string());
        true
    }

    /// Takes `ip` back off the list, where it stands on a line of its own (what
    /// [`AiosAllowlist::allow`] added): the inverse of `allow`. Returns whether the list
    /// changed.
    pub fn disallow(&mut self, ip: IpAddr) -> bool {
        let entry = ip.to_string();
        let lines: Vec<&str> = self.body.split('\n').collect();
        if !lines.iter().any(|l| l.trim() == entry) {
            return false;
        }
        let kept: Vec<&str> = lines.into_iter().filter(|l| l.trim() != entry).collect();
        self.body = kept.join("\n");
        true
    }

    /// The file's bytes: the same as read when nothing was changed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = aios_header(AIOS_ALLOWLIST_DESCRIPTION);
        out.push_str(&self.body);
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYNCED: &[u8] = include_bytes!("testdata/wflogs-config-synced.php");
    const AIOS_SETTINGS: &[u8] = include_bytes!("testdata/aios-settings.php");
    const AIOS_SETTINGS_BLACKLIST: &[u8] = include_bytes!("testdata/aios-settings-blacklist.php");
    const AIOS_ALLOWLIST: &[u8] = include_bytes!("testdata/aios-allowlist.php");

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn wordfence_files_round_trip_byte_identical() {
        for file in [
            SYNCED,
            include_bytes!("testdata/wflogs-config.php"),
            include_bytes!("testdata/wflogs-config-livewaf.php"),
            include_bytes!("testdata/wflogs-config-transient.php"),
        ] {
            assert_eq!(WordfenceWafConfig::parse(file).unwrap().to_bytes(), file);
        }
        // The reader also accepts a file without the banner.
        let bare = format!("{WORDFENCE_HEADER}a:0:{{}}");
        let config = WordfenceWafConfig::parse(bare.as_bytes()).unwrap();
        assert_eq!(config.to_bytes(), bare.as_bytes());
    }

    #[test]
    fn wordfence_header_constants_are_the_fixtures() {
        let fixture =
            include_str!("../../tests/sandbox/fixtures/plugins/wordfence/waf/wfWAFStorageFile.php");
        let php_literal = |text: &str| text.replace('\n', "\\n");
        assert!(fixture.contains(&format!(
            "const LOG_FILE_HEADER = \"{}\";",
            php_literal(WORDFENCE_HEADER)
        )));
        assert!(fixture.contains(&format!(
            "const LOG_INFO_HEADER = \"{}\";",
            php_literal(WORDFENCE_BANNER)
        )));
    }

    #[test]
    fn wordfence_allowlist_is_added_as_the_plugin_writes_it() {
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        assert_eq!(config.allowlist(), Ok(vec![]));
        assert_eq!(config.allow(ip("127.0.0.1")), Ok(true));
        assert_eq!(config.allow(ip("127.0.0.1")), Ok(false));
        assert_eq!(config.allow(ip("2001:db8::7")), Ok(true));
        assert_eq!(config.allowlist(), Ok(vec!["127.0.0.1", "2001:db8::7"]));
        let expected = text(SYNCED.to_vec()).replace(
            r#"s:14:"whitelistedIPs";s:0:"";"#,
            r#"s:14:"whitelistedIPs";s:21:"127.0.0.1,2001:db8::7";"#,
        );
        assert_eq!(text(config.to_bytes()), expected);
    }

    #[test]
    fn wordfence_blocks_may_be_absent_null_or_empty() {
        for stored in ["N;", "b:0;", "s:0:\"\";", ""] {
            let blocks = if stored.is_empty() {
                String::new()
            } else {
                format!("s:11:\"otherBlocks\";{stored}")
            };
            let count = if stored.is_empty() { 1 } else { 2 };
            let file = format!(
                "{WORDFENCE_HEADER}a:{count}:{{s:14:\"whitelistedIPs\";s:0:\"\";{blocks}}}"
            );
            let mut config = WordfenceWafConfig::parse(file.as_bytes()).unwrap();
            assert_eq!(
                config.remove_blocks(ip("127.0.0.1")).map(|r| r.len()),
                Ok(0),
                "{stored:?}"
            );
            assert_eq!(config.to_bytes(), file.as_bytes(), "{stored:?}: unchanged");
        }
        let odd = format!("{WORDFENCE_HEADER}a:1:{{s:11:\"otherBlocks\";i:5;}}");
        let mut config = WordfenceWafConfig::parse(odd.as_bytes()).unwrap();
        assert!(
            config.remove_blocks(ip("127.0.0.1")).is_err(),
            "a number is not blocks"
        );
    }

    #[test]
    fn wordfence_allowlist_keeps_covering_entries() {
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        config
            .data
            .set_str("whitelistedIPs", "10.0.0.0/8, 127.0.0.[1-9]")
            .unwrap();
        let before = config.to_bytes();
        assert_eq!(config.allow(ip("127.0.0.1")), Ok(false));
        assert_eq!(config.to_bytes(), before);
        assert_eq!(config.allow(ip("127.0.0.10")), Ok(true));
        assert_eq!(
            config.data.get_str("whitelistedIPs"),
            Some("10.0.0.0/8, 127.0.0.[1-9],127.0.0.10")
        );
        config.data.remove_key("whitelistedIPs").unwrap();
        assert_eq!(config.allow(ip("127.0.0.1")), Ok(true));
        assert_eq!(config.data.get_str("whitelistedIPs"), Some("127.0.0.1"));
        let mut odd = WordfenceWafConfig::parse(
            format!("{WORDFENCE_HEADER}a:1:{{s:14:\"whitelistedIPs\";i:0;}}").as_bytes(),
        )
        .unwrap();
        assert_eq!(
            odd.allow(ip("127.0.0.1")).unwrap_err().to_string(),
            "this is not a Wordfence WAF config file: whitelistedIPs is an integer, not a string"
        );
    }

    #[test]
    fn wordfence_blocks_are_removed_as_a_fresh_sync_writes_them() {
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        assert_eq!(
            config.remove_blocks(ip("127.0.0.2")).map(|r| r.len()),
            Ok(0)
        );
        assert_eq!(config.to_bytes(), SYNCED);
        assert_eq!(
            config
                .remove_blocks(ip("::ffff:127.0.0.1"))
                .map(|r| r.len()),
            Ok(1)
        );
        // What synchronizeConfigSettings() writes with no wfblocks7 rows (checked with PHP).
        let expected = text(SYNCED.to_vec()).replace(
            r#"s:131:"{"blockedTime":"300","blocks":[{"id":1,"IP":"AAAAAAAAAAAAAP\/\/fwAAAQ==","reason":"Manual block by administrator","expiration":0}]}";"#,
            r#"s:33:"{"blockedTime":"300","blocks":[]}";"#,
        );
        assert_eq!(text(config.to_bytes()), expected);
        assert_eq!(
            config.remove_blocks(ip("127.0.0.1")).map(|r| r.len()),
            Ok(0)
        );
    }

    #[test]
    fn wordfence_edits_have_inverses() {
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        let removed = config.remove_blocks(ip("127.0.0.1")).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(config.allow(ip("127.0.0.1")).unwrap());
        assert!(config.disallow(ip("127.0.0.1")).unwrap());
        assert!(
            !config.disallow(ip("127.0.0.1")).unwrap(),
            "nothing left to take"
        );
        assert_eq!(config.restore_blocks(&removed), Ok(1));
        assert_eq!(config.restore_blocks(&removed), Ok(0), "already back");
        assert_eq!(config.to_bytes(), SYNCED, "byte for byte");

        // Into a file that has no blocks at all any more.
        let bare = format!("{WORDFENCE_HEADER}a:1:{{s:11:\"otherBlocks\";N;}}");
        let mut config = WordfenceWafConfig::parse(bare.as_bytes()).unwrap();
        assert_eq!(config.restore_blocks(&removed), Ok(1));
        assert_eq!(config.remove_blocks(ip("127.0.0.1")), Ok(removed));

        let mut list = AiosAllowlist::parse(AIOS_ALLOWLIST).unwrap();
        assert!(list.allow(ip("203.0.113.77")));
        assert!(list.disallow(ip("203.0.113.77")));
        assert_eq!(list.to_bytes(), AIOS_ALLOWLIST);
    }

    #[test]
    fn wordfence_lockouts_are_removed_and_others_kept() {
        let lockouts = r#"{"lockedOutTime":14400,"lockouts":[{"id":3,"IP":"AAAAAAAAAAAAAP\/\/fwAAAQ==","reason":"x","expiration":1795823275},{"id":4,"IP":"IAENuAAAAAAAAAAAAAAAAQ==","reason":"y","expiration":0}]}"#;
        let mut config = WordfenceWafConfig::parse(SYNCED).unwrap();
        config.data.set_str("lockouts", lockouts).unwrap();
        assert_eq!(
            config.remove_blocks(ip("127.0.0.1")).map(|r| r.len()),
            Ok(2)
        );
        assert_eq!(
            config.data.get_str("lockouts"),
            Some(
                r#"{"lockedOutTime":14400,"lockouts":[{"id":4,"IP":"IAENuAAAAAAAAAAAAAAAAQ==","reason":"y","expiration":0}]}"#
            )
        );
        assert_eq!(
            config.remove_blocks(ip("2001:db8::1")).map(|r| r.len()),
            Ok(1)
        );
        config.data.set_str("lockouts", "{not json").unwrap();
        assert!(
            config
                .remove_blocks(ip("127.0.0.1"))
                .unwrap_err()
                .to_string()
                .starts_with(
                    "this is not a Wordfence WAF config file: lockouts is not valid JSON: "
                )
        );
    }

    #[test]
    fn wordfence_refuses_other_files() {
        let error = |bytes: &[u8]| WordfenceWafConfig::parse(bytes).unwrap_err().to_string();
        assert_eq!(
            error(AIOS_SETTINGS),
            "this is not a Wordfence WAF config file: it does not start with the line \"<?php exit('Access denied'); __halt_compiler(); ?>\""
        );
        assert_eq!(
            error(format!("{WORDFENCE_HEADER}*** changed banner\na:0:{{}}").as_bytes()),
            "this is not a Wordfence WAF config file: the `*` banner after the first line is not Wordfence's 4-line banner"
        );
        let mut truncated = SYNCED.to_vec();
        truncated.pop();
        assert_eq!(
            error(&truncated),
            format!(
                "this is not a Wordfence WAF config file: after the header, malformed PHP serialized data at byte {}: expected `}}` (the count said 12 entries), found the end of the data",
                SYNCED.len() - 1
            )
        );
        let mut trailing = SYNCED.to_vec();
        trailing.push(b'\n');
        assert!(error(&trailing).contains(&format!("at byte {}", SYNCED.len())));
        assert_eq!(
            error(format!("{WORDFENCE_HEADER}s:1:\"x\";").as_bytes()),
            "this is not a Wordfence WAF config file: the serialized value is a string, not an array"
        );
    }

    #[test]
    fn aios_files_round_trip_byte_identical() {
        for file in [AIOS_SETTINGS, AIOS_SETTINGS_BLACKLIST] {
            assert_eq!(AiosFirewallSettings::parse(file).unwrap().to_bytes(), file);
        }
        assert_eq!(
            AiosAllowlist::parse(AIOS_ALLOWLIST).unwrap().to_bytes(),
            AIOS_ALLOWLIST
        );
        assert_eq!(AiosAllowlist::new().to_bytes(), AIOS_ALLOWLIST);
    }

    #[test]
    fn aios_header_is_the_fixtures() {
        let fixture = include_str!(
            "../../tests/sandbox/fixtures/plugins/all-in-one-wp-security-and-firewall/classes/firewall/libs/wp-security-firewall-config.php"
        );
        assert!(fixture.contains(&format!(" * {AIOS_SETTINGS_DESCRIPTION}\\n")));
        assert!(fixture.contains(&format!(" * {AIOS_ALLOWLIST_DESCRIPTION}\\n")));
        assert!(AIOS_SETTINGS.starts_with(aios_header(AIOS_SETTINGS_DESCRIPTION).as_bytes()));
    }

    #[test]
    fn aios_blacklist_removal_matches_php() {
        let mut settings = AiosFirewallSettings::parse(AIOS_SETTINGS_BLACKLIST).unwrap();
        assert_eq!(
            settings.get("aiowps_blacklist_ips"),
            Some(serde_json::json!(["127.0.0.1"]))
        );
        assert_eq!(
            settings.list_remove("aiowps_blacklist_ips", "127.0.0.2"),
            Ok(0)
        );
        assert_eq!(settings.to_bytes(), AIOS_SETTINGS_BLACKLIST);
        assert_eq!(
            settings.list_remove("aiowps_blacklist_ips", "127.0.0.1"),
            Ok(1)
        );
        settings.set_str("aiowps_enable_blacklisting", "");
        // php: $c['aiowps_blacklist_ips'] = array(); $c['aiowps_enable_blacklisting'] = '';
        // echo json_encode($c); -- which is what the lockdown scenario's file holds.
        assert_eq!(settings.to_bytes(), AIOS_SETTINGS);
        assert_eq!(settings.list_remove("nope", "x"), Ok(0));
        assert_eq!(
            settings
                .list_remove("aios_ip_retrieve_method", "0")
                .unwrap_err()
                .to_string(),
            "this is not an AIOS firewall settings file: aios_ip_retrieve_method is not a list"
        );
    }

    #[test]
    fn aios_settings_keep_untouched_text_and_encode_like_php() {
        let header = aios_header(AIOS_SETTINGS_DESCRIPTION);
        let file = format!("{header}{{\"url\":\"http:\\/\\/x\",\"n\":1.50,\"o\":{{}}}}");
        let mut settings = AiosFirewallSettings::parse(file.as_bytes()).unwrap();
        assert_eq!(settings.get("url"), Some(serde_json::json!("http://x")));
        settings.set_str("n", "1.50");
        settings.set_str("slug", "é/x");
        // php: json_encode(['url' => 'http://x', 'n' => '1.50', 'o' => [], 'slug' => 'é/x']),
        // except that the untouched `{}` stays as found where PHP would write `[]`; PHP reads
        // both as an empty array.
        assert_eq!(
            text(settings.to_bytes()),
            format!(
                "{header}{{\"url\":\"http:\\/\\/x\",\"n\":\"1.50\",\"o\":{{}},\"slug\":\"\\u00e9\\/x\"}}"
            )
        );
        let mut unchanged = AiosFirewallSettings::parse(file.as_bytes()).unwrap();
        unchanged.set_str("url", "http://x");
        assert_eq!(unchanged.to_bytes(), file.as_bytes());
    }

    #[test]
    fn aios_settings_start_empty_as_aios_creates_them() {
        let header = aios_header(AIOS_SETTINGS_DESCRIPTION);
        for body in ["", "[]"] {
            let file = format!("{header}{body}");
            let mut settings = AiosFirewallSettings::parse(file.as_bytes()).unwrap();
            assert_eq!(settings.get("x"), None);
            assert_eq!(settings.to_bytes(), file.as_bytes());
            settings.set_str("aiowps_enable_blacklisting", "");
            assert_eq!(
                text(settings.to_bytes()),
                format!("{header}{{\"aiowps_enable_blacklisting\":\"\"}}")
            );
        }
    }

    #[test]
    fn aios_settings_refuse_other_files() {
        let header = aios_header(AIOS_SETTINGS_DESCRIPTION);
        let error = |bytes: &[u8]| AiosFirewallSettings::parse(bytes).unwrap_err().to_string();
        assert!(
            error(AIOS_ALLOWLIST)
                .starts_with("this is not an AIOS firewall settings file: it does not start with AIOS's exact header \"<?php __halt_compiler();\\n")
        );
        assert_eq!(
            error(format!("{header}{{\"a\":").as_bytes()),
            "this is not an AIOS firewall settings file: the JSON after the header: EOF while parsing a value at line 1 column 5"
        );
        assert_eq!(
            error(format!("{header}[\"a\"]").as_bytes()),
            "this is not an AIOS firewall settings file: the JSON after the header is not an object"
        );
        assert!(error(&[header.as_bytes(), b"\xff"].concat()).contains("not UTF-8"));
    }

    #[test]
    fn aios_allowlist_adds_lines_as_aios_writes_them() {
        let mut list = AiosAllowlist::parse(AIOS_ALLOWLIST).unwrap();
        assert_eq!(list.entries(), Vec::<&str>::new());
        assert!(list.allow(ip("127.0.0.1")));
        assert!(!list.allow(ip("127.0.0.1")));
        assert!(list.allow(ip("2001:db8::1")));
        assert_eq!(list.entries(), vec!["127.0.0.1", "2001:db8::1"]);
        // php: Allow_List::add_ips(array('127.0.0.1', '2001:db8::1'));
        let expected = [AIOS_ALLOWLIST, b"127.0.0.1\n2001:db8::1"].concat();
        assert_eq!(list.to_bytes(), expected);

        let header = aios_header(AIOS_ALLOWLIST_DESCRIPTION);
        let mut hand_edited =
            AiosAllowlist::parse(format!("{header}195.47.89.*\r\n10.0.0.0/8\n\n").as_bytes())
                .unwrap();
        assert_eq!(hand_edited.entries(), vec!["195.47.89.*", "10.0.0.0/8"]);
        assert!(!hand_edited.allow(ip("195.47.89.20")));
        assert!(hand_edited.allow(ip("127.0.0.1")));
        assert_eq!(
            text(hand_edited.to_bytes()),
            format!("{header}195.47.89.*\r\n10.0.0.0/8\n127.0.0.1")
        );
    }

    #[test]
    fn aios_allowlist_refuses_other_files() {
        assert!(
            AiosAllowlist::parse(AIOS_SETTINGS)
                .unwrap_err()
                .to_string()
                .starts_with("this is not an AIOS firewall allow list: it does not start with AIOS's exact header")
        );
    }
}

//! Where a plugin keeps a list of addresses or a setting, as a playbook names it. The YAML
//! shape is flat (`option:`, `setting:` or `file:`, with `keys:` and `list:`); it is checked
//! once, while the playbook is read, into types that can only hold a valid place.

use serde::Deserialize;

/// Where a list of addresses lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawPlace")]
pub enum Place {
    /// A list in a database cell or a plain file.
    List(ListAt),
    /// A firewall file whose shape the engine knows.
    Firewall {
        /// The file, relative to the WordPress root.
        file: String,
        /// Its shape.
        format: FileFormat,
    },
}

/// A list in a database cell or a file, and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListAt {
    /// Where the value holding the list is.
    pub store: Store,
    /// Keys into a PHP-serialized array leading to the list (`[global, lockout_white_list]`).
    pub keys: Vec<String>,
    /// How the list is written.
    pub list: ListFormat,
}

/// Where a value is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A database cell.
    Cell(Cell),
    /// A file, relative to the WordPress root.
    File(String),
}

/// A database cell holding a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A WordPress option (`options.option_name`).
    Option(String),
    /// A cell of a plugin's table.
    Setting(Setting),
}

/// Where one setting's value lives: a WordPress option or a cell of a plugin's table, and the
/// keys into it when it is a serialized array (AIOS's `aiowps_ip_retrieve_method`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawSettingAt")]
pub struct SettingAt {
    /// The cell.
    pub cell: Cell,
    /// Keys into a PHP-serialized array.
    pub keys: Vec<String>,
}

/// One cell of a plugin's settings table, e.g. Wordfence's `wfconfig` row `whitelisted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// The table, without the WordPress prefix; the first of these that exists.
    pub table: Vec<String>,
    /// The column naming the setting (`name`).
    pub key_column: String,
    /// The setting's name (`whitelisted`).
    pub key: String,
    /// The column holding its value (`val`).
    pub column: String,
}

/// How a list of addresses is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// A PHP array of address strings.
    PhpArray,
    /// A PHP array keyed by address (`limit_login_lockouts`: address → expiry).
    PhpMap,
    /// One string, entries separated by commas (Wordfence).
    Comma,
    /// One string, one entry per line (AIOS).
    Newline,
}

impl ListFormat {
    /// What separates entries in a list kept as one string.
    pub fn separator(self) -> &'static str {
        match self {
            ListFormat::Comma => ",",
            _ => "\n",
        }
    }

    /// Whether a list at `keys` (inside a serialized value when there are any) is a
    /// serialized PHP value rather than plain text.
    pub fn is_serialized(self, keys: &[String]) -> bool {
        !keys.is_empty() || matches!(self, ListFormat::PhpArray | ListFormat::PhpMap)
    }
}

/// A firewall file whose shape the engine knows (see [`crate::parse::firewall_files`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Wordfence's `wflogs/config-synced.php`: allow-list `whitelistedIPs`; blocks and
    /// lockouts under `otherBlocks` and `lockouts`.
    WordfenceWaf,
    /// AIOS's `firewall-rules/allowlist.php`: addresses that bypass the firewall.
    AiosAllowlist,
}

/// A place as written: exactly one of `option`, `setting` or `file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlace {
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    setting: Option<Setting>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    file_format: Option<FileFormat>,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    list: Option<ListFormat>,
}

impl TryFrom<RawPlace> for Place {
    type Error = String;

    fn try_from(raw: RawPlace) -> Result<Place, String> {
        let store = match (raw.option, raw.setting, raw.file) {
            (Some(option), None, None) => Store::Cell(Cell::Option(option)),
            (None, Some(setting), None) => Store::Cell(Cell::Setting(setting)),
            (None, None, Some(file)) => Store::File(file),
            _ => return Err("give exactly one of option, setting or file".into()),
        };
        match (store, raw.file_format, raw.list) {
            (Store::File(file), Some(format), None) if raw.keys.is_empty() => {
                Ok(Place::Firewall { file, format })
            }
            (Store::File(_), Some(_), None) => Err("a file_format file takes no keys".into()),
            (Store::File(_), Some(_), Some(_)) => Err("a file_format file takes no list".into()),
            (_, Some(_), _) => Err("file_format only goes with file".into()),
            (_, None, None) => Err(
                "say how the list is written: list: php_array, php_map, comma or newline".into(),
            ),
            (store, None, Some(list)) => Ok(Place::List(ListAt {
                store,
                keys: raw.keys,
                list,
            })),
        }
    }
}

/// A setting as written: exactly one of `option` or `setting`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettingAt {
    #[serde(default)]
    option: Option<String>,
    #[serde(default)]
    setting: Option<Setting>,
    #[serde(default)]
    keys: Vec<String>,
}

impl TryFrom<RawSettingAt> for SettingAt {
    type Error = String;

    fn try_from(raw: RawSettingAt) -> Result<SettingAt, String> {
        let cell = match (raw.option, raw.setting) {
            (Some(option), None) => Cell::Option(option),
            (None, Some(setting)) => Cell::Setting(setting),
            _ => return Err("give exactly one of option or setting".into()),
        };
        Ok(SettingAt {
            cell,
            keys: raw.keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(yaml: &str) -> Result<Place, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn a_place_is_checked_as_it_is_read() {
        assert_eq!(
            place("{option: itsec-storage, keys: [global, lockout_white_list], list: php_array}")
                .unwrap(),
            Place::List(ListAt {
                store: Store::Cell(Cell::Option("itsec-storage".into())),
                keys: vec!["global".into(), "lockout_white_list".into()],
                list: ListFormat::PhpArray,
            })
        );
        assert_eq!(
            place("{file: wflogs/config-synced.php, file_format: wordfence_waf}").unwrap(),
            Place::Firewall {
                file: "wflogs/config-synced.php".into(),
                format: FileFormat::WordfenceWaf,
            }
        );
        for (yaml, why) in [
            (
                "{option: x, file: y, list: comma}",
                "exactly one of option, setting or file",
            ),
            ("{list: comma}", "exactly one of option, setting or file"),
            ("{option: x}", "say how the list is written"),
            (
                "{option: x, file_format: wordfence_waf}",
                "only goes with file",
            ),
            (
                "{file: x, file_format: wordfence_waf, list: comma}",
                "takes no list",
            ),
            (
                "{file: x, file_format: wordfence_waf, keys: [a]}",
                "takes no keys",
            ),
        ] {
            let err = place(yaml).unwrap_err();
            assert!(err.contains(why), "{yaml}: {err}");
        }
        let setting = |yaml: &str| serde_saphyr::from_str::<SettingAt>(yaml);
        assert!(setting("{keys: [a]}").is_err());
        assert!(
            setting("{option: a, setting: {table: [t], key_column: k, key: x, column: v}}")
                .is_err()
        );
        assert_eq!(
            setting("{option: a, keys: [b]}").unwrap().cell,
            Cell::Option("a".into())
        );
    }
}

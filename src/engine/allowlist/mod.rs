//! `whitelist_ip` and `clear_lockouts`: the caller's address added to a plugin's allow-list,
//! or taken out of its lockouts, in the plugin's own storage — a WordPress option, a cell of a
//! plugin table, or a file its firewall reads before WordPress — in whatever shape the plugin
//! keeps it (a PHP-serialized array, a comma- or newline-separated string).
//!
//! Every edit is a read-modify-write planned against live values: the plan holds the exact
//! before and after bytes, the journal keeps the before, and applying is a compare-and-swap.

use std::collections::BTreeMap;

use serde::Deserialize;

use std::net::IpAddr;

use crate::parse::ip_list::{ip_to_binary16, list_covers};
use crate::parse::serialized::{self, Value};
use crate::transport::RemotePath;

mod firewall;
pub(super) mod place;

pub use place::{Cell, FileFormat, ListAt, ListFormat, Place, Setting, SettingAt, Store};

use firewall::edit_firewall_file;

use super::EngineError;
use super::access::Access;
use super::action::Action;
use super::change::Change;
use super::meaning::Meaning;
use super::vars::Vars;
use super::view::View;
use crate::helper::db::RowChange;
use crate::helper::db::{Row, cell, with_cell};

impl SettingAt {
    /// The setting's value as text, as PHP would print it (a number in decimal, `true` as
    /// `1`, `false` as nothing); `None` when the option, the row or the key is not there.
    pub fn read(&self, access: &mut Access<'_>) -> Result<Option<String>, EngineError> {
        self.read_in(&mut View::new(access))
    }

    /// Where its cell is, for [`read_cell`].
    fn cell_at(&self) -> CellAt<'_> {
        match &self.cell {
            Cell::Option(name) => CellAt::Option(name.clone()),
            Cell::Setting(setting) => CellAt::Setting(setting, setting.key.clone()),
        }
    }

    /// [`SettingAt::read`], as a plan sees the site.
    pub(in crate::engine) fn read_in(
        &self,
        view: &mut View<'_>,
    ) -> Result<Option<String>, EngineError> {
        let RowSource { row, column, .. } = read_cell(view, self.cell_at())?;
        let Some(bytes) = row.as_ref().and_then(|r| cell(r, &column)) else {
            return Ok(None);
        };
        if self.keys.is_empty() {
            return Ok(Some(String::from_utf8_lossy(bytes).into_owned()));
        }
        let value = serialized::parse(bytes).map_err(|e| EngineError::Step(e.to_string()))?;
        let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        Ok(match value.get_path(&keys) {
            Some(Value::Int(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(if *b { "1" } else { "" }.to_owned()),
            Some(other) => other.as_str().map(str::to_owned),
            None => None,
        })
    }
}

/// A `set_setting` step: one of a plugin's settings (a WordPress option, or a cell of its
/// table; `keys` into a serialized array) set to a value, the way its settings page would
/// (AIOS's "rename login page" switched off).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSetting {
    /// The setting.
    pub at: SettingAt,
    /// Its new value: `true`/`false` and numbers are written as PHP's `b:` and `i:` in a
    /// serialized array; text as a string.
    pub value: SettingValue,
}

/// A value a `set_setting` step writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text.
    Text(String),
}

impl SettingValue {
    fn php(&self) -> Value {
        match self {
            SettingValue::Bool(b) => Value::Bool(*b),
            SettingValue::Int(n) => Value::Int(*n),
            SettingValue::Text(text) => Value::Str(text.clone().into_bytes()),
        }
    }

    /// As the cell holds it when it is not in an array: PHP's string conversion.
    fn text(&self) -> String {
        match self {
            SettingValue::Bool(b) => if *b { "1" } else { "" }.to_owned(),
            SettingValue::Int(n) => n.to_string(),
            SettingValue::Text(text) => text.clone(),
        }
    }
}

impl SetSetting {
    /// The row change that sets it; none when it already has the value.
    pub(in crate::engine) fn plan(&self, view: &mut View<'_>) -> Result<Vec<Action>, EngineError> {
        let RowSource {
            table,
            key,
            column,
            row,
        } = read_cell(view, self.at.cell_at())?;
        let Some(row) = row else {
            return Err(EngineError::Step(format!(
                "the setting is not there ({} {}): the plugin has never saved it; change it on \
                 the plugin's settings page instead",
                key.0,
                String::from_utf8_lossy(&key.1)
            )));
        };
        let before = cell(&row, &column).unwrap_or_default();
        let after = match self.at.keys.split_last() {
            None => self.value.text().into_bytes(),
            Some((last, parents)) => {
                let mut doc =
                    serialized::parse(before).map_err(|e| EngineError::Step(e.to_string()))?;
                let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
                let parent = doc.get_path_mut(&parents).map_err(edit_error)?;
                if parent.get(last).is_none() {
                    return Err(EngineError::Step(format!(
                        "no entry {} in the setting",
                        self.at.keys.join(" → ")
                    )));
                }
                replace_entry(parent, last, self.value.php())?;
                doc.to_bytes()
            }
        };
        if after == before {
            return Ok(Vec::new());
        }
        let after_row = with_cell(&row, &column, after);
        Ok(vec![Action::Change(Change::Row {
            row: RowChange {
                table,
                key,
                before: Some(row),
                after: Some(after_row),
            },
            meaning: None,
        })])
    }
}

/// A `whitelist_ip` step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistIp {
    /// The allow-list.
    pub at: Place,
    /// String entries to set beside the list, in the same array (AIOS's
    /// `aiowps_lockdown_enable_whitelisting: "1"`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// A `clear_lockouts` step: exactly one of `at` and `rows`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawClearLockouts")]
pub enum ClearLockouts {
    /// A list or map of locked-out addresses to take the caller's out of.
    At(Place),
    /// Lockout rows to delete.
    Rows(Rows),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClearLockouts {
    #[serde(default)]
    at: Option<Place>,
    #[serde(default)]
    rows: Option<Rows>,
}

impl TryFrom<RawClearLockouts> for ClearLockouts {
    type Error = &'static str;

    fn try_from(raw: RawClearLockouts) -> Result<ClearLockouts, Self::Error> {
        match (raw.at, raw.rows) {
            (Some(at), None) => Ok(ClearLockouts::At(at)),
            (None, Some(rows)) => Ok(ClearLockouts::Rows(rows)),
            _ => Err("clear_lockouts takes exactly one of at or rows"),
        }
    }
}

/// The rows of a table whose column holds a value (by default, the caller's address).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rows {
    /// The table, without the WordPress prefix (`!name` for one its plugin made without it);
    /// every one of these that exists.
    pub table: Vec<String>,
    /// The column to match.
    pub column: String,
    /// The value to match; templates allowed. Default `{ip}`.
    #[serde(default = "caller_ip")]
    pub value: String,
    /// How the column stores an address.
    #[serde(default)]
    pub encoding: Encoding,
}

fn caller_ip() -> String {
    "{ip}".into()
}

/// How a column stores an address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// As text (`127.0.0.1`).
    #[default]
    Text,
    /// As 16 bytes, IPv4 mapped into IPv6 (Wordfence's `wfblocks7.IP`).
    Binary16,
}

/// Where the value was read from, to write it back.
enum Source {
    /// A row (present or to be inserted) of a table.
    Row(RowSource),
    /// A file.
    File {
        path: RemotePath,
        before: Option<Vec<u8>>,
    },
}

/// A cell of a table, and the row holding it (`None`: a row to insert).
struct RowSource {
    table: String,
    key: (String, Vec<u8>),
    column: String,
    row: Option<Row>,
}

/// Which cell holds a value, its names already expanded.
enum CellAt<'a> {
    /// A WordPress option, by name.
    Option(String),
    /// A plugin table's setting, and its key.
    Setting(&'a Setting, String),
}

/// A value in the plugin's shape, ready to edit.
enum Document {
    /// A separated list.
    Text(String),
    /// A serialized PHP value.
    Serialized(Value),
}

/// What to do with the caller's address.
#[derive(Clone, Copy)]
pub(super) enum ForAddress {
    /// Let it in.
    Allow(IpAddr),
    /// Take its blocks and lockouts away.
    Clear(IpAddr),
}

impl WhitelistIp {
    /// The change that adds the caller's address, if no entry covers it yet.
    pub fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Vec<Action>, EngineError> {
        let ip = vars.ip()?;
        let list_at = match &self.at {
            Place::Firewall { file, format } => {
                return edit_firewall_file(view, vars, file, *format, ForAddress::Allow(ip));
            }
            Place::List(list_at) => list_at,
        };
        let entry = ip.to_string();
        edit(view, vars, list_at, Some(&entry), |list, siblings| {
            let changed = match list {
                ListTarget::Array(value) => {
                    if list_covers(array_strings(value).iter().map(String::as_str), ip) {
                        false
                    } else {
                        value.list_push(&entry).map_err(edit_error)?;
                        true
                    }
                }
                ListTarget::Text(text, sep) => {
                    if list_covers(split(text, sep), ip) {
                        false
                    } else {
                        append(text, sep, &entry);
                        true
                    }
                }
            };
            if let (true, Some(siblings)) = (changed, siblings) {
                for (key, value) in &self.set {
                    siblings.set_str(key, value).map_err(edit_error)?;
                }
            }
            Ok(changed)
        })
    }
}

impl ClearLockouts {
    /// The changes that take the caller's address out of the lockouts.
    pub fn plan(&self, view: &mut View<'_>, vars: &Vars) -> Result<Vec<Action>, EngineError> {
        match self {
            ClearLockouts::At(Place::Firewall { file, format }) => {
                edit_firewall_file(view, vars, file, *format, ForAddress::Clear(vars.ip()?))
            }
            ClearLockouts::At(Place::List(list_at)) => {
                let ip = vars.ip()?.to_string();
                edit(view, vars, list_at, None, |list, _| match list {
                    ListTarget::Array(value) => Ok(match list_at.list {
                        ListFormat::PhpMap => value.remove_key(&ip).map_err(edit_error)?.is_some(),
                        _ => value.list_remove(&ip).map_err(edit_error)? > 0,
                    }),
                    ListTarget::Text(text, sep) => {
                        let kept: Vec<&str> = split(text, sep).filter(|e| e.trim() != ip).collect();
                        if kept.len() == split(text, sep).count() {
                            return Ok(false);
                        }
                        *text = kept.join(sep);
                        Ok(true)
                    }
                })
            }
            ClearLockouts::Rows(rows) => delete_rows(view, vars, rows),
        }
    }
}

fn delete_rows(view: &mut View<'_>, vars: &Vars, rows: &Rows) -> Result<Vec<Action>, EngineError> {
    let value = match rows.encoding {
        Encoding::Text => vars.expand(&rows.value)?.into_bytes(),
        Encoding::Binary16 => {
            let text = vars.expand(&rows.value)?;
            let ip = text.parse().map_err(|_| {
                EngineError::Step(format!("{text:?} is not an address to encode as 16 bytes"))
            })?;
            ip_to_binary16(ip).to_vec()
        }
    };
    let mut changes = Vec::new();
    for table in view.tables(&rows.table)? {
        for row in view.rows(&table, &rows.column, &value)? {
            changes.push(Action::Change(Change::Row {
                row: RowChange {
                    table: table.clone(),
                    key: (rows.column.clone(), value.clone()),
                    before: Some(row),
                    after: None,
                },
                meaning: None,
            }));
        }
    }
    Ok(changes)
}

/// The list inside a document, to edit.
enum ListTarget<'a> {
    /// A PHP array.
    Array(&'a mut Value),
    /// A string of entries and their separator.
    Text(&'a mut String, &'static str),
}

/// Reads the value at `place`, lets `change` edit its list (and the array around it, when
/// there is one), and returns the change that writes it back; none when `change` says
/// nothing changed.
///
/// `added` is the entry the edit adds, if it adds one: recorded as what the change means, so
/// that a rollback can take it back out of a value the plugin has saved again since.
fn edit(
    view: &mut View<'_>,
    vars: &Vars,
    place: &ListAt,
    added: Option<&str>,
    change: impl FnOnce(ListTarget<'_>, Option<&mut Value>) -> Result<bool, EngineError>,
) -> Result<Vec<Action>, EngineError> {
    let source = read(view, vars, &place.store)?;
    let before = match &source {
        Source::Row(RowSource { row, column, .. }) => row
            .as_ref()
            .and_then(|r| cell(r, column))
            .map(<[u8]>::to_vec),
        Source::File { before, .. } => before.clone(),
    };
    let list_format = place.list;
    let mut doc = decode(place, list_format, before.as_deref())?;
    let sep = list_format.separator();
    let changed = match &mut doc {
        Document::Text(text) => change(ListTarget::Text(text, sep), None)?,
        Document::Serialized(value) => {
            let keys: Vec<&str> = place.keys.iter().map(String::as_str).collect();
            let (parent_keys, last) = match keys.split_last() {
                Some((last, parent)) => (parent.to_vec(), Some(*last)),
                None => (Vec::new(), None),
            };
            let parent = value.get_path_mut(&parent_keys).map_err(edit_error)?;
            match last {
                None => change(ListTarget::Array(parent), None)?,
                Some(last) => {
                    // The list and its siblings live in the same array; edit a copy of the
                    // list, then put it back, so both can be changed.
                    let mut list = parent.get(last).cloned().ok_or_else(|| {
                        EngineError::Step(format!("no entry {last:?} at {:?}", parent_keys))
                    })?;
                    let changed = match (&mut list, list_format) {
                        (Value::Str(bytes), ListFormat::Comma | ListFormat::Newline) => {
                            let mut text = String::from_utf8_lossy(bytes).into_owned();
                            let changed = change(ListTarget::Text(&mut text, sep), Some(parent))?;
                            *bytes = text.into_bytes();
                            changed
                        }
                        (Value::Array(_), ListFormat::PhpArray | ListFormat::PhpMap) => {
                            change(ListTarget::Array(&mut list), Some(parent))?
                        }
                        (other, _) => {
                            return Err(EngineError::Step(format!(
                                "{} is {}, not a {list_format:?} list",
                                place.keys.join(" → "),
                                other.kind(),
                            )));
                        }
                    };
                    if changed {
                        replace_entry(parent, last, list)?;
                    }
                    changed
                }
            }
        }
    };
    if !changed {
        return Ok(Vec::new());
    }
    let after = encode(doc);
    let meaning = |column: Option<&str>| {
        added.map(|entry| Meaning::ListEntryAdded {
            column: column.map(str::to_owned),
            keys: place.keys.clone(),
            list: place.list,
            entry: entry.to_owned(),
        })
    };
    Ok(vec![match source {
        Source::File { path, before } => {
            Action::Change(Change::write(path, before, after).meaning(meaning(None)))
        }
        Source::Row(RowSource {
            table,
            key,
            column,
            row,
        }) => {
            let after_row = match &row {
                Some(row) => with_cell(row, &column, after),
                None => new_row(&table, &key, &column, after, vars.autoload_on()),
            };
            let meaning = meaning(Some(&column));
            Action::Change(Change::Row {
                row: RowChange {
                    table,
                    key,
                    before: row,
                    after: Some(after_row),
                },
                meaning,
            })
        }
    }])
}

/// `$parent[$key] = $value`.
fn replace_entry(parent: &mut Value, key: &str, value: Value) -> Result<(), EngineError> {
    match parent {
        Value::Array(entries) => {
            if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| k.matches(key)) {
                *slot = value;
            }
            Ok(())
        }
        other => Err(EngineError::Step(format!(
            "expected an array, found {}",
            other.kind()
        ))),
    }
}

/// A row for a setting that does not exist yet.
fn new_row(
    table: &str,
    key: &(String, Vec<u8>),
    column: &str,
    value: Vec<u8>,
    autoload: &str,
) -> Row {
    let mut row = vec![
        (key.0.clone(), Some(key.1.clone())),
        (column.to_owned(), Some(value)),
    ];
    if table == OPTIONS {
        row.push(("autoload".into(), Some(autoload.as_bytes().to_vec())));
    }
    row
}

const OPTIONS: &str = "options";

fn read(view: &mut View<'_>, vars: &Vars, store: &Store) -> Result<Source, EngineError> {
    let cell_at = match store {
        Store::File(file) => {
            let path = view.resolve(vars, file)?;
            let before = view.read(&path)?;
            return Ok(Source::File { path, before });
        }
        Store::Cell(Cell::Option(name)) => CellAt::Option(vars.expand(name)?),
        Store::Cell(Cell::Setting(setting)) => CellAt::Setting(setting, vars.expand(&setting.key)?),
    };
    Ok(Source::Row(read_cell(view, cell_at)?))
}

/// The row holding a cell, as it will be.
fn read_cell(view: &mut View<'_>, cell_at: CellAt<'_>) -> Result<RowSource, EngineError> {
    let (table, key_column, key, column) = match cell_at {
        CellAt::Option(name) => (
            OPTIONS.to_owned(),
            "option_name".to_owned(),
            name,
            "option_value".to_owned(),
        ),
        CellAt::Setting(setting, key) => {
            let table = view
                .tables(&setting.table)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    EngineError::Step(format!(
                        "none of the tables {:?} exists: is the plugin installed and set up?",
                        setting.table
                    ))
                })?;
            (
                table,
                setting.key_column.clone(),
                key,
                setting.column.clone(),
            )
        }
    };
    let key = (key_column, key.into_bytes());
    let mut rows = view.rows(&table, &key.0, &key.1)?;
    if rows.len() > 1 {
        return Err(EngineError::Step(format!(
            "{} rows of {table} have {}={}: wprescue edits one",
            rows.len(),
            key.0,
            String::from_utf8_lossy(&key.1)
        )));
    }
    Ok(RowSource {
        table,
        key,
        column,
        row: rows.pop(),
    })
}

fn decode(place: &ListAt, list: ListFormat, bytes: Option<&[u8]>) -> Result<Document, EngineError> {
    let bytes = bytes.unwrap_or_default();
    if !list.is_serialized(&place.keys) {
        return Ok(Document::Text(String::from_utf8_lossy(bytes).into_owned()));
    }
    if bytes.is_empty() && place.keys.is_empty() {
        // A list option that does not exist yet starts as an empty array.
        return Ok(Document::Serialized(Value::Array(Vec::new())));
    }
    serialized::parse(bytes)
        .map(Document::Serialized)
        .map_err(|e| EngineError::Step(e.to_string()))
}

fn encode(doc: Document) -> Vec<u8> {
    match doc {
        Document::Text(text) => text.into_bytes(),
        Document::Serialized(value) => value.to_bytes(),
    }
}

/// The string entries of a PHP array.
fn array_strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(entries) => entries
            .iter()
            .filter_map(|(_, v)| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn split<'t>(text: &'t str, sep: &str) -> impl Iterator<Item = &'t str> {
    text.split(sep).map(str::trim).filter(|e| !e.is_empty())
}

/// Adds `entry` at the end of a list, keeping a final line ending where there was one.
fn append(text: &mut String, sep: &str, entry: &str) {
    if text.trim().is_empty() {
        *text = entry.to_owned();
    } else if sep == "," {
        text.truncate(text.trim_end().len());
        text.push(',');
        text.push_str(entry);
    } else if text.ends_with('\n') {
        let ending = if text.ends_with("\r\n") { "\r\n" } else { "\n" };
        text.push_str(entry);
        text.push_str(ending);
    } else {
        text.push('\n');
        text.push_str(entry);
    }
}

fn edit_error(e: serialized::EditError) -> EngineError {
    EngineError::Step(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Journal, Step};
    use crate::engine::{apply, rollback};
    use crate::helper::db::memory::MemoryDatabase;
    use crate::transport::MemoryTransport;

    const IP: &str = "127.0.0.1";

    fn vars() -> Vars {
        Vars {
            ip: Some(IP.parse().unwrap()),
            ..Vars::for_tests()
        }
    }

    fn option(name: &str, value: &[u8]) -> Row {
        vec![
            ("option_id".into(), Some(b"7".to_vec())),
            ("option_name".into(), Some(name.as_bytes().to_vec())),
            ("option_value".into(), Some(value.to_vec())),
            ("autoload".into(), Some(b"yes".to_vec())),
        ]
    }

    fn db(tables: &[(&str, Vec<Row>)]) -> MemoryDatabase {
        let db = MemoryDatabase::default();
        for (name, rows) in tables {
            db.tables
                .borrow_mut()
                .insert((*name).to_owned(), rows.clone());
        }
        db
    }

    fn step(yaml: &str) -> Step {
        serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"))
    }

    /// Plans `yaml`, applies it, checks the value after, rolls back and checks the tables are
    /// as they were.
    fn round_trip(db: &MemoryDatabase, yaml: &str) -> Vec<Action> {
        let before = db.tables.borrow().clone();
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(db),
            web: None,
        };
        let changes = step(yaml)
            .plan(&mut View::new(&mut access), &vars())
            .unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        apply(&mut access, &mut journal, &changes).unwrap();
        let applied = db.tables.borrow().clone();
        assert_eq!(
            rollback(&mut access, &mut journal).unwrap().undone,
            changes.len()
        );
        // Row order means nothing to a database: compare the rows of each table as sets.
        let sorted = |tables: &BTreeMap<String, Vec<Row>>| {
            let mut tables = tables.clone();
            tables.values_mut().for_each(|rows| rows.sort());
            tables
        };
        assert_eq!(
            sorted(&db.tables.borrow()),
            sorted(&before),
            "rollback restores every row"
        );
        *db.tables.borrow_mut() = applied;
        changes
    }

    /// The WordPress option `name`'s value.
    fn option_value(db: &MemoryDatabase, name: &str) -> String {
        value_of(db, "options", "option_name", name, "option_value")
    }

    fn value_of(
        db: &MemoryDatabase,
        table: &str,
        name_column: &str,
        name: &str,
        column: &str,
    ) -> String {
        let tables = db.tables.borrow();
        let row = tables[table]
            .iter()
            .find(|r| cell(r, name_column) == Some(name.as_bytes()))
            .unwrap();
        String::from_utf8(cell(row, column).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn set_setting_writes_php_values_into_the_array_and_rolls_back() {
        let configs = br#"a:2:{s:31:"aiowps_enable_rename_login_page";s:1:"1";s:22:"aiowps_login_page_slug";s:11:"secret-door";}"#;
        let storage =
            br#"a:1:{s:12:"hide-backend";a:2:{s:7:"enabled";b:1;s:4:"slug";s:11:"secret-door";}}"#;
        // Two options: two ids.
        let mut storage_row = option("itsec-storage", storage);
        storage_row[0].1 = Some(b"8".to_vec());
        let db = db(&[(
            "options",
            vec![option("aio_wp_security_configs", configs), storage_row],
        )]);
        let yaml = "set_setting: {at: {option: aio_wp_security_configs, keys: [aiowps_enable_rename_login_page]}, value: ''}";
        assert_eq!(round_trip(&db, yaml).len(), 1);
        assert!(
            option_value(&db, "aio_wp_security_configs")
                .starts_with(r#"a:2:{s:31:"aiowps_enable_rename_login_page";s:0:"";"#)
        );
        assert!(
            round_trip(&db, yaml).is_empty(),
            "already off: nothing to do"
        );
        let yaml = "set_setting: {at: {option: itsec-storage, keys: [hide-backend, enabled]}, value: false}";
        assert_eq!(round_trip(&db, yaml).len(), 1);
        assert_eq!(
            option_value(&db, "itsec-storage"),
            r#"a:1:{s:12:"hide-backend";a:2:{s:7:"enabled";b:0;s:4:"slug";s:11:"secret-door";}}"#
        );
        let missing =
            "set_setting: {at: {option: itsec-storage, keys: [hide-backend, nope]}, value: false}";
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let err = step(missing)
            .plan(&mut View::new(&mut access), &vars())
            .unwrap_err();
        assert!(
            err.to_string().contains("no entry hide-backend → nope"),
            "{err}"
        );
    }

    #[test]
    fn llar_whitelist_is_created_then_left_alone_when_it_covers_the_address() {
        let db = db(&[("options", vec![])]);
        let yaml = "whitelist_ip: {at: {option: limit_login_whitelist, list: php_array}}";
        assert_eq!(round_trip(&db, yaml).len(), 1);
        assert_eq!(
            option_value(&db, "limit_login_whitelist"),
            r#"a:1:{i:0;s:9:"127.0.0.1";}"#
        );
        let db2 = super::tests::db(&[(
            "options",
            vec![option(
                "limit_login_whitelist",
                br#"a:1:{i:0;s:11:"127.0.0.0/8";}"#,
            )],
        )]);
        assert!(
            round_trip(&db2, yaml).is_empty(),
            "a CIDR entry already covers it"
        );
    }

    #[test]
    fn a_setting_the_plugin_saved_again_gets_the_address_taken_back_out() {
        let storage = br#"a:1:{s:6:"global";a:2:{s:18:"lockout_white_list";a:1:{i:0;s:7:"8.8.8.8";}s:5:"proxy";s:6:"manual";}}"#;
        let db = db(&[("options", vec![option("itsec-storage", storage)])]);
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let planned = step(
            "whitelist_ip: {at: {option: itsec-storage, keys: [global, lockout_white_list], list: php_array}}",
        )
        .plan(&mut View::new(&mut access), &vars())
        .unwrap();
        let state = tempfile::tempdir().unwrap();
        let mut journal = Journal::create(state.path(), "1-abcdef", "mem", "/", vec![]).unwrap();
        apply(&mut access, &mut journal, &planned).unwrap();

        // Solid's cron saves its storage again: our address still in, a new key beside it.
        let resaved = br#"a:2:{s:6:"global";a:2:{s:18:"lockout_white_list";a:2:{i:0;s:7:"8.8.8.8";i:1;s:9:"127.0.0.1";}s:5:"proxy";s:6:"manual";}s:4:"core";a:1:{s:17:"last_seen_lockout";i:5;}}"#;
        *db.tables.borrow_mut() =
            [("options".to_owned(), vec![option("itsec-storage", resaved)])].into();
        let undone = rollback(&mut access, &mut journal).unwrap();
        assert_eq!((undone.undone, undone.conflicts.len()), (1, 0));
        assert_eq!(
            option_value(&db, "itsec-storage"),
            r#"a:2:{s:6:"global";a:2:{s:18:"lockout_white_list";a:1:{i:0;s:7:"8.8.8.8";}s:5:"proxy";s:6:"manual";}s:4:"core";a:1:{s:17:"last_seen_lockout";i:5;}}"#,
            "the address is gone; the plugin's own save stays"
        );
    }

    #[test]
    fn solid_nested_list_and_aios_newline_list_with_its_switch() {
        let storage = br#"a:2:{s:6:"global";a:2:{s:18:"lockout_white_list";a:1:{i:0;s:7:"8.8.8.8";}s:5:"proxy";s:6:"manual";}s:12:"hide-backend";a:1:{s:7:"enabled";b:0;}}"#;
        let db = db(&[("options", vec![option("itsec-storage", storage)])]);
        round_trip(
            &db,
            "whitelist_ip: {at: {option: itsec-storage, keys: [global, lockout_white_list], list: php_array}}",
        );
        assert_eq!(
            option_value(&db, "itsec-storage"),
            r#"a:2:{s:6:"global";a:2:{s:18:"lockout_white_list";a:2:{i:0;s:7:"8.8.8.8";i:1;s:9:"127.0.0.1";}s:5:"proxy";s:6:"manual";}s:12:"hide-backend";a:1:{s:7:"enabled";b:0;}}"#
        );

        let configs = br#"a:2:{s:35:"aiowps_lockdown_enable_whitelisting";s:0:"";s:36:"aiowps_lockdown_allowed_ip_addresses";s:7:"8.8.8.8";}"#;
        let db = super::tests::db(&[("options", vec![option("aio_wp_security_configs", configs)])]);
        round_trip(
            &db,
            "whitelist_ip: {at: {option: aio_wp_security_configs, keys: [aiowps_lockdown_allowed_ip_addresses], list: newline}, set: {aiowps_lockdown_enable_whitelisting: '1'}}",
        );
        assert_eq!(
            option_value(&db, "aio_wp_security_configs"),
            "a:2:{s:35:\"aiowps_lockdown_enable_whitelisting\";s:1:\"1\";s:36:\"aiowps_lockdown_allowed_ip_addresses\";s:17:\"8.8.8.8\n127.0.0.1\";}"
        );
    }

    #[test]
    fn wordfence_setting_in_whichever_table_spelling_exists() {
        let row = vec![
            ("name".to_owned(), Some(b"whitelisted".to_vec())),
            ("val".to_owned(), Some(b"10.0.0.1".to_vec())),
            ("autoload".to_owned(), Some(b"yes".to_vec())),
        ];
        let db = db(&[("wfConfig", vec![row])]);
        round_trip(
            &db,
            "whitelist_ip: {at: {setting: {table: [wfconfig, wfConfig], key_column: name, key: whitelisted, column: val}, list: comma}}",
        );
        assert_eq!(
            value_of(&db, "wfConfig", "name", "whitelisted", "val"),
            "10.0.0.1,127.0.0.1"
        );
    }

    #[test]
    fn lockouts_leave_other_addresses_alone() {
        let lockouts = br#"a:2:{s:9:"127.0.0.1";i:1700000000;s:9:"127.0.0.3";i:1700000000;}"#;
        let db = db(&[("options", vec![option("limit_login_lockouts", lockouts)])]);
        round_trip(
            &db,
            "clear_lockouts: {at: {option: limit_login_lockouts, list: php_map}}",
        );
        assert_eq!(
            option_value(&db, "limit_login_lockouts"),
            r#"a:1:{s:9:"127.0.0.3";i:1700000000;}"#
        );

        let block = |ip: [u8; 4], id: &str| {
            let mut bytes = vec![0u8; 10];
            bytes.extend([0xff, 0xff]);
            bytes.extend(ip);
            vec![
                ("id".to_owned(), Some(id.as_bytes().to_vec())),
                ("IP".to_owned(), Some(bytes)),
                ("type".to_owned(), Some(b"1".to_vec())),
            ]
        };
        let db = super::tests::db(&[(
            "wfblocks7",
            vec![block([127, 0, 0, 1], "1"), block([127, 0, 0, 3], "2")],
        )]);
        let changes = round_trip(
            &db,
            "clear_lockouts: {rows: {table: [wfblocks7, wfBlocks7], column: IP, encoding: binary16}}",
        );
        assert_eq!(changes.len(), 1);
        assert!(
            changes[0]
                .describe()
                .contains("delete from table wfblocks7"),
            "{}",
            changes[0].describe()
        );
        assert_eq!(
            db.tables.borrow()["wfblocks7"],
            vec![block([127, 0, 0, 3], "2")]
        );
    }

    #[test]
    fn a_table_without_the_prefix_is_named_with_a_bang_and_only_the_callers_row_goes() {
        // WP Cerber's cerber_blocks has no WordPress prefix: the helper takes `!name` whole.
        let block = |ip: &str| {
            vec![
                ("ip".to_owned(), Some(ip.as_bytes().to_vec())),
                ("block_until".to_owned(), Some(b"1800000000".to_vec())),
                ("reason_id".to_owned(), Some(b"1".to_vec())),
            ]
        };
        let db = db(&[("!cerber_blocks", vec![block(IP), block("127.0.0.3")])]);
        let changes = round_trip(
            &db,
            r#"clear_lockouts: {rows: {table: ["!cerber_blocks"], column: ip}}"#,
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(
            db.tables.borrow()["!cerber_blocks"],
            vec![block("127.0.0.3")]
        );
        // Unquoted, YAML reads `!cerber_blocks` as a tag on an empty value: refused when the
        // playbook is read, never sent as a table name.
        let unquoted = serde_saphyr::from_str::<Step>(
            "clear_lockouts: {rows: {table: [!cerber_blocks], column: ip}}",
        );
        assert!(unquoted.is_err(), "{unquoted:?}");
    }

    #[test]
    fn settings_are_read_plain_or_inside_a_serialized_array() {
        let configs = br#"a:1:{s:25:"aiowps_ip_retrieve_method";s:1:"2";}"#;
        let db = db(&[(
            "options",
            vec![
                option("aio_wp_security_configs", configs),
                option("plain", b"x"),
            ],
        )]);
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let at = |yaml: &str| -> SettingAt { serde_saphyr::from_str(yaml).unwrap() };
        let nested = at("{option: aio_wp_security_configs, keys: [aiowps_ip_retrieve_method]}");
        assert_eq!(nested.read(&mut access).unwrap().as_deref(), Some("2"));
        assert_eq!(
            at("{option: plain}").read(&mut access).unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(at("{option: absent}").read(&mut access).unwrap(), None);
    }

    #[test]
    fn llar_cloud_mode_is_pointed_out() {
        let db = db(&[("options", vec![option("limit_login_active_app", b"custom")])]);
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let cloud = step("warn_if: {option: limit_login_active_app, equals: custom, say: cloud}");
        let changes = cloud.plan(&mut View::new(&mut access), &vars()).unwrap();
        assert_eq!(changes, [Action::Note("cloud".into())]);
        let local = step("warn_if: {option: limit_login_active_app, equals: local, say: x}");
        assert!(
            local
                .plan(&mut View::new(&mut access), &vars())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_places_and_values_are_named() {
        let db = db(&[(
            "options",
            vec![option("itsec-storage", b"a:1:{s:6:\"global\";i:5;")],
        )]);
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let mut view = View::new(&mut access);
        let err =
            serde_saphyr::from_str::<Step>("whitelist_ip: {at: {option: x, file: y, list: comma}}")
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("exactly one of option, setting or file"),
            "{err}"
        );
        let err = step("whitelist_ip: {at: {option: itsec-storage, keys: [global, lockout_white_list], list: php_array}}")
            .plan(&mut view, &vars())
            .unwrap_err();
        assert!(
            err.to_string().contains("malformed PHP serialized data"),
            "{err}"
        );
    }
}

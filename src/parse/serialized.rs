//! PHP `serialize()` values: parsed exactly, edited the way PHP code would edit them, written
//! back byte for byte.
//!
//! WordPress plugins keep their settings and lockouts `serialize()`d (`itsec-storage`,
//! `aio_wp_security_configs`, `limit_login_*`), and Wordfence's firewall reads a serialized
//! array from `wflogs/config-synced.php`. A wrong byte count makes `unserialize()` fail, and the
//! plugin then silently falls back to its defaults, so this codec is strict both ways:
//!
//! - [`parse`] accepts only what `serialize()` writes (integers and lengths without signs or
//!   leading zeros, keys `i:` or `s:`), refuses anything else with the byte offset and what was
//!   expected there, and keeps whatever PHP could not re-create from a number: a float's text
//!   (`d:0.1000000000000000055511151231257827;`), strings and class names as raw bytes.
//! - [`Value::to_bytes`] is the exact inverse of [`parse`]: an unchanged value is written back
//!   byte-identical.
//! - The editing helpers do what the equivalent PHP does (`$list[] = $ip`, `unset($map[$ip])`,
//!   `$config[$key] = $value`), so the result is what `serialize()` would write after that code.
//!
//! References (`r:N;`, `R:N;`) point at values by their position in the whole document, so
//! adding or removing an entry anywhere before their target silently re-points them. Parsing
//! and writing them is exact, but the helpers refuse to change a value that holds any.

/// How deep arrays and objects may nest. WordPress options nest a few levels (`itsec-storage`:
/// 3); the limit keeps a hostile value from exhausting the stack, which a debug build's
/// 2 MiB test thread does near 550 levels.
const MAX_DEPTH: usize = 128;

/// A value as `serialize()` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `N;`
    Null,
    /// `b:0;` or `b:1;`
    Bool(bool),
    /// `i:-5;`
    Int(i64),
    /// `d:0.1;`, kept as the text found (`INF`, `-INF`, `NAN`, `-0` and exponents included),
    /// since the float PHP would print back depends on its `serialize_precision`.
    Float(String),
    /// `s:LEN:"…";` where LEN counts bytes: any bytes, not necessarily UTF-8.
    Str(Vec<u8>),
    /// `a:N:{key;value…}`, in order.
    Array(Vec<(Key, Value)>),
    /// `O:LEN:"Class":N:{name;value…}`. Private and protected property names carry PHP's
    /// NUL-delimited prefixes (`\0Class\0name`, `\0*\0name`), kept as bytes.
    Object {
        /// The class name.
        class: Vec<u8>,
        /// The properties, in order.
        props: Vec<(Key, Value)>,
    },
    /// `C:LEN:"Class":LEN:{payload}`: a `Serializable` object whose payload only its class
    /// understands.
    Serializable {
        /// The class name.
        class: Vec<u8>,
        /// The payload between the braces.
        data: Vec<u8>,
    },
    /// `E:LEN:"Enum:Case";` (PHP 8.1 enums): the `Enum:Case` bytes.
    Enum(Vec<u8>),
    /// `r:N;`: the same object as the N-th value of the document (1-based, in writing order).
    ObjectRef(u64),
    /// `R:N;`: a PHP reference (`&`) to the N-th value of the document.
    Reference(u64),
}

/// An array key or property name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `i:N;`
    Int(i64),
    /// `s:LEN:"…";`
    Str(Vec<u8>),
}

impl Key {
    /// The key PHP uses for `$array[$name]`: a decimal integer string such as `"5"` becomes the
    /// integer 5, anything else stays a string.
    pub fn from_php(name: &str) -> Key {
        match php_integer_key(name) {
            Some(n) => Key::Int(n),
            None => Key::Str(name.as_bytes().to_vec()),
        }
    }

    /// Whether `$array[$name]` would find this key.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Key::Str(bytes) => bytes == name.as_bytes(),
            Key::Int(n) => php_integer_key(name) == Some(*n),
        }
    }

    /// The integer PHP files this key under, if any: `unserialize()` turns a string key such
    /// as `s:1:"5";` into the integer 5.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Key::Int(n) => Some(*n),
            Key::Str(bytes) => std::str::from_utf8(bytes).ok().and_then(php_integer_key),
        }
    }
}

/// PHP's numeric-string rule for array keys: `0`, or an optional `-` and digits without a
/// leading zero, within the 64-bit range (and not `-0`).
fn php_integer_key(name: &str) -> Option<i64> {
    let digits = name.strip_prefix('-').unwrap_or(name);
    let canonical = digits == "0" && digits.len() == name.len()
        || !digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
    if canonical { name.parse().ok() } else { None }
}

/// Where a serialized value is malformed, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed PHP serialized data at byte {offset}: expected {expected}, found {found}")]
pub struct SerializedError {
    /// 0-based byte offset into the input.
    pub offset: usize,
    /// What the parser needed there.
    pub expected: String,
    /// A short rendering of what it found (or "the end of the data").
    pub found: String,
}

/// Why an edit was refused; the value is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The edit needs an array and found something else.
    #[error("{at} is {found}, not an array")]
    NotAnArray {
        /// Which value, e.g. "the value at global → lockout_white_list".
        at: String,
        /// What it is ("a string", …).
        found: &'static str,
    },
    /// A key on the path does not exist.
    #[error("{at} has no entry {key:?}")]
    Missing {
        /// The array searched.
        at: String,
        /// The key not found.
        key: String,
    },
    /// The value holds `r:`/`R:` references, which an added or removed entry would re-point.
    #[error(
        "{at} holds PHP references (r:/R:), which would point at the wrong values after the edit; wprescue does not edit such values"
    )]
    HasReferences {
        /// The value refused.
        at: String,
    },
    /// `$list[] = …` would fail in PHP too: the largest integer key is already `PHP_INT_MAX`.
    #[error("{at} already uses the largest integer key, so nothing can be appended")]
    NoNextIndex {
        /// The array.
        at: String,
    },
}

const THE_VALUE: &str = "the value";

fn describe_path(path: &[&str]) -> String {
    if path.is_empty() {
        THE_VALUE.to_owned()
    } else {
        format!("the value at {}", path.join(" → "))
    }
}

impl Value {
    /// What kind of value this is, for messages ("a string", "an array", …).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object { .. } => "an object",
            Value::Serializable { .. } => "a Serializable object",
            Value::Enum(_) => "an enum case",
            Value::ObjectRef(_) => "an object reference",
            Value::Reference(_) => "a reference",
        }
    }

    /// The string, when this is a string of valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The entry `$array[$key]`, when this is an array holding it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Array(entries) => entries.iter().find(|(k, _)| k.matches(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The nested entry `$array[$a][$b]…` for `path = [a, b, …]`; each key is a string or a
    /// decimal integer, as PHP reads it.
    pub fn get_path(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(self, |value, key| value.get(key))
    }

    /// Like [`Value::get_path`], for editing. Refused when the whole value holds references
    /// (see the module docs), so an edit through the result cannot re-point one.
    pub fn get_path_mut(&mut self, path: &[&str]) -> Result<&mut Value, EditError> {
        if self.has_references() {
            return Err(EditError::HasReferences {
                at: THE_VALUE.to_owned(),
            });
        }
        let mut current = self;
        for (depth, key) in path.iter().enumerate() {
            let found = current.kind();
            let Value::Array(entries) = current else {
                return Err(EditError::NotAnArray {
                    at: describe_path(&path[..depth]),
                    found,
                });
            };
            current = match entries.iter_mut().find(|(k, _)| k.matches(key)) {
                Some((_, value)) => value,
                None => {
                    return Err(EditError::Missing {
                        at: describe_path(&path[..depth]),
                        key: (*key).to_owned(),
                    });
                }
            };
        }
        Ok(current)
    }

    /// `$array[$key]` as a string, when it is one (of valid UTF-8).
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Whether this is an array with the key `$key`, e.g. an IP in `limit_login_lockouts`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether this is an array with the string `item` among its values, e.g. an IP in
    /// Solid's `lockout_white_list`.
    pub fn list_contains(&self, item: &str) -> bool {
        match self {
            Value::Array(entries) => entries
                .iter()
                .any(|(_, v)| matches!(v, Value::Str(s) if s == item.as_bytes())),
            _ => false,
        }
    }

    /// `$array[$key] = $value` with a string: replaces the entry in place, or appends it.
    pub fn set_str(&mut self, key: &str, value: &str) -> Result<(), EditError> {
        let entries = self.entries_to_edit()?;
        let value = Value::Str(value.as_bytes().to_vec());
        match entries.iter_mut().find(|(k, _)| k.matches(key)) {
            Some((_, slot)) => *slot = value,
            None => entries.push((Key::from_php(key), value)),
        }
        Ok(())
    }

    /// `unset($array[$key])`: returns the removed value, `None` when there was no such key.
    pub fn remove_key(&mut self, key: &str) -> Result<Option<Value>, EditError> {
        let entries = self.entries_to_edit()?;
        Ok(entries
            .iter()
            .position(|(k, _)| k.matches(key))
            .map(|i| entries.remove(i).1))
    }

    /// `$array[] = $item`: appends the string under the next integer key, which it returns:
    /// the largest integer key plus one, or 0 when there is none. As in PHP, a string key that
    /// reads as an integer (`s:1:"5";`) counts as that integer.
    pub fn list_push(&mut self, item: &str) -> Result<i64, EditError> {
        let entries = self.entries_to_edit()?;
        let largest = entries.iter().filter_map(|(k, _)| k.as_integer()).max();
        let next = match largest {
            None => 0,
            Some(n) => n.checked_add(1).ok_or_else(|| EditError::NoNextIndex {
                at: THE_VALUE.to_owned(),
            })?,
        };
        entries.push((Key::Int(next), Value::Str(item.as_bytes().to_vec())));
        Ok(next)
    }

    /// `unset()` of every entry whose value is the string `item`; the other keys stay as they
    /// are, as in PHP. Returns how many were removed.
    pub fn list_remove(&mut self, item: &str) -> Result<usize, EditError> {
        let entries = self.entries_to_edit()?;
        let before = entries.len();
        entries.retain(|(_, v)| !matches!(v, Value::Str(s) if s == item.as_bytes()));
        Ok(before - entries.len())
    }

    /// Whether an `r:`/`R:` reference occurs anywhere in the value.
    pub fn has_references(&self) -> bool {
        match self {
            Value::ObjectRef(_) | Value::Reference(_) => true,
            Value::Array(entries) | Value::Object { props: entries, .. } => {
                entries.iter().any(|(_, v)| v.has_references())
            }
            _ => false,
        }
    }

    fn entries_to_edit(&mut self) -> Result<&mut Vec<(Key, Value)>, EditError> {
        if self.has_references() {
            return Err(EditError::HasReferences {
                at: THE_VALUE.to_owned(),
            });
        }
        match self {
            Value::Array(entries) => Ok(entries),
            other => Err(EditError::NotAnArray {
                at: THE_VALUE.to_owned(),
                found: other.kind(),
            }),
        }
    }

    /// The value as `serialize()` writes it; exactly the input for a parsed, unchanged value.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"N;"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
            Value::Int(n) => out.extend_from_slice(format!("i:{n};").as_bytes()),
            Value::Float(text) => out.extend_from_slice(format!("d:{text};").as_bytes()),
            Value::Str(bytes) => write_string(out, bytes),
            Value::Array(entries) => {
                out.extend_from_slice(format!("a:{}:", entries.len()).as_bytes());
                write_entries(out, entries);
            }
            Value::Object { class, props } => {
                write_class(out, b'O', class);
                out.extend_from_slice(format!(":{}:", props.len()).as_bytes());
                write_entries(out, props);
            }
            Value::Serializable { class, data } => {
                write_class(out, b'C', class);
                out.extend_from_slice(format!(":{}:{{", data.len()).as_bytes());
                out.extend_from_slice(data);
                out.push(b'}');
            }
            Value::Enum(name) => {
                write_class(out, b'E', name);
                out.push(b';');
            }
            Value::ObjectRef(n) => out.extend_from_slice(format!("r:{n};").as_bytes()),
            Value::Reference(n) => out.extend_from_slice(format!("R:{n};").as_bytes()),
        }
    }
}

fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("s:{}:\"", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\";");
}

/// `X:LEN:"name"`, shared by objects, `Serializable` objects and enums.
fn write_class(out: &mut Vec<u8>, tag: u8, name: &[u8]) {
    out.push(tag);
    out.extend_from_slice(format!(":{}:\"", name.len()).as_bytes());
    out.extend_from_slice(name);
    out.push(b'"');
}

fn write_entries(out: &mut Vec<u8>, entries: &[(Key, Value)]) {
    out.push(b'{');
    for (key, value) in entries {
        match key {
            Key::Int(n) => out.extend_from_slice(format!("i:{n};").as_bytes()),
            Key::Str(bytes) => write_string(out, bytes),
        }
        value.write(out);
    }
    out.push(b'}');
}

/// Parses one complete serialized value; anything after it is an error.
pub fn parse(bytes: &[u8]) -> Result<Value, SerializedError> {
    let mut parser = Parser {
        bytes,
        pos: 0,
        slots: 0,
        depth: 0,
    };
    let value = parser.value()?;
    if parser.pos != bytes.len() {
        return Err(parser.error("the end of the data after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Values read so far, each a possible reference target (every value but `R:` counts, in
    /// writing order, as PHP numbers them).
    slots: u64,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, expected: impl Into<String>) -> SerializedError {
        self.error_at(self.pos, expected)
    }

    fn error_at(&self, offset: usize, expected: impl Into<String>) -> SerializedError {
        let rest = &self.bytes[offset.min(self.bytes.len())..];
        let found = if rest.is_empty() {
            "the end of the data".to_owned()
        } else {
            let shown = &rest[..rest.len().min(16)];
            let more = if rest.len() > shown.len() { "…" } else { "" };
            format!("\"{}{more}\"", shown.escape_ascii())
        };
        SerializedError {
            offset,
            expected: expected.into(),
            found,
        }
    }

    fn literal(&mut self, text: &str) -> Result<(), SerializedError> {
        if self.bytes[self.pos..].starts_with(text.as_bytes()) {
            self.pos += text.len();
            Ok(())
        } else {
            Err(self.error(format!("`{text}`")))
        }
    }

    /// Digits as `serialize()` writes a length or count: no sign, no leading zero.
    fn unsigned(&mut self, what: &str) -> Result<u64, SerializedError> {
        let start = self.pos;
        let digits = self.bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.bytes[start..start + digits];
        let valid = !text.is_empty() && (text == b"0" || text[0] != b'0');
        let number = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok());
        match number {
            Some(n) if valid => {
                self.pos += digits;
                Ok(n)
            }
            _ => Err(self.error(format!("{what} (digits, no sign or leading zero)"))),
        }
    }

    fn length(&mut self, what: &str) -> Result<usize, SerializedError> {
        let start = self.pos;
        let n = self.unsigned(what)?;
        usize::try_from(n).map_err(|_| self.error_at(start, format!("{what} that fits in memory")))
    }

    fn integer(&mut self) -> Result<i64, SerializedError> {
        let start = self.pos;
        let negative = self.bytes.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let expected = "an integer as serialize() writes it (no plus sign or leading zero)";
        let magnitude = self
            .unsigned("an integer")
            .map_err(|_| self.error_at(start, expected))?;
        let value = if negative {
            (magnitude != 0)
                .then(|| 0i64.checked_sub_unsigned(magnitude))
                .flatten()
        } else {
            i64::try_from(magnitude).ok()
        };
        value.ok_or_else(|| self.error_at(start, format!("{expected}, within 64 bits")))
    }

    /// `LEN:"bytes"`: the bytes of a string, class name or enum case.
    fn counted_bytes(&mut self, what: &str) -> Result<Vec<u8>, SerializedError> {
        let len = self.length(&format!("the byte length of {what}"))?;
        self.literal(":\"")?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error(format!("{len} bytes of {what}")))?;
        if self.bytes.get(end) != Some(&b'"') {
            return Err(self.error_at(end, format!("`\"` closing {what} of {len} bytes")));
        }
        self.pos = end + 1;
        Ok(self.bytes[start..end].to_vec())
    }

    fn key(&mut self, index: usize, count: usize) -> Result<Key, SerializedError> {
        match self.bytes.get(self.pos) {
            Some(b'i') => {
                self.literal("i:")?;
                let n = self.integer()?;
                self.literal(";")?;
                Ok(Key::Int(n))
            }
            Some(b's') => {
                self.literal("s:")?;
                let bytes = self.counted_bytes("a key")?;
                self.literal(";")?;
                Ok(Key::Str(bytes))
            }
            _ => Err(self.error(format!(
                "the key (i: or s:) of entry {} of {count}",
                index + 1
            ))),
        }
    }

    /// `N:{key;value…}`: the count, then exactly that many entries.
    fn entries(&mut self) -> Result<Vec<(Key, Value)>, SerializedError> {
        let count = self.length("the number of entries")?;
        self.literal(":{")?;
        if self.depth == MAX_DEPTH {
            return Err(self.error(format!("at most {MAX_DEPTH} levels of nesting")));
        }
        self.depth += 1;
        // A count in the input says nothing trustworthy about memory; each entry takes at
        // least 4 bytes (`i:0;N;` is 6), so the rest of the input bounds it.
        let mut entries = Vec::with_capacity(count.min((self.bytes.len() - self.pos) / 4));
        for index in 0..count {
            let key = self.key(index, count)?;
            let value = self.value()?;
            entries.push((key, value));
        }
        self.depth -= 1;
        if self.bytes.get(self.pos) != Some(&b'}') {
            return Err(self.error(format!("`}}` (the count said {count} entries)")));
        }
        self.pos += 1;
        Ok(entries)
    }

    fn reference_target(&mut self, counted_self: bool) -> Result<u64, SerializedError> {
        let start = self.pos;
        let n = self.unsigned("a value number")?;
        // An `r:` is itself a numbered value, and may not point at itself.
        let earlier = if counted_self {
            self.slots - 1
        } else {
            self.slots
        };
        if n == 0 || n > earlier {
            return Err(self.error_at(
                start,
                format!("the number of one of the {earlier} values before it (1-based)"),
            ));
        }
        self.literal(";")?;
        Ok(n)
    }

    /// One value. Arrays and objects recurse through here, so the scalar cases live in their
    /// own functions to keep each level's stack frame small.
    fn value(&mut self) -> Result<Value, SerializedError> {
        let Some(&tag) = self.bytes.get(self.pos) else {
            return Err(self.error("a value"));
        };
        if tag != b'R' {
            self.slots += 1;
        }
        match tag {
            b'a' => {
                self.literal("a:")?;
                Ok(Value::Array(self.entries()?))
            }
            b'O' => {
                self.literal("O:")?;
                let class = self.counted_bytes("a class name")?;
                self.literal(":")?;
                let props = self.entries()?;
                Ok(Value::Object { class, props })
            }
            _ => self.leaf(tag),
        }
    }

    /// A value that holds no other value.
    #[inline(never)]
    fn leaf(&mut self, tag: u8) -> Result<Value, SerializedError> {
        match tag {
            b'N' => self.literal("N;").map(|()| Value::Null),
            b'b' => {
                self.literal("b:")?;
                let value = match self.bytes.get(self.pos) {
                    Some(b'0') => false,
                    Some(b'1') => true,
                    _ => return Err(self.error("0 or 1")),
                };
                self.pos += 1;
                self.literal(";")?;
                Ok(Value::Bool(value))
            }
            b'i' => {
                self.literal("i:")?;
                let n = self.integer()?;
                self.literal(";")?;
                Ok(Value::Int(n))
            }
            b'd' => self.float(),
            b's' => {
                self.literal("s:")?;
                let bytes = self.counted_bytes("a string")?;
                self.literal(";")?;
                Ok(Value::Str(bytes))
            }
            b'C' => self.serializable(),
            b'E' => {
                self.literal("E:")?;
                let name_start = self.pos;
                let name = self.counted_bytes("an enum case")?;
                if !name.contains(&b':') {
                    return Err(self.error_at(name_start, "an enum case written as `Enum:Case`"));
                }
                self.literal(";")?;
                Ok(Value::Enum(name))
            }
            b'r' => {
                self.literal("r:")?;
                Ok(Value::ObjectRef(self.reference_target(true)?))
            }
            b'R' => {
                self.literal("R:")?;
                Ok(Value::Reference(self.reference_target(false)?))
            }
            _ => Err(self.error("a value (N, b, i, d, s, a, O, C, E, r or R)")),
        }
    }

    fn float(&mut self) -> Result<Value, SerializedError> {
        self.literal("d:")?;
        let start = self.pos;
        let len = self.bytes[start..]
            .iter()
            .position(|b| *b == b';')
            .ok_or_else(|| self.error("a float ended by `;`"))?;
        let text = &self.bytes[start..start + len];
        if !is_php_float(text) {
            return Err(self.error("a float (digits, `.`, exponent, INF, -INF or NAN)"));
        }
        self.pos += len + 1;
        Ok(Value::Float(String::from_utf8_lossy(text).into_owned()))
    }

    /// `C:LEN:"Class":LEN:{payload}`.
    fn serializable(&mut self) -> Result<Value, SerializedError> {
        self.literal("C:")?;
        let class = self.counted_bytes("a class name")?;
        self.literal(":")?;
        let len = self.length("the byte length of the payload")?;
        self.literal(":{")?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error(format!("a payload of {len} bytes")))?;
        if self.bytes.get(end) != Some(&b'}') {
            return Err(self.error_at(end, format!("`}}` closing a payload of {len} bytes")));
        }
        self.pos = end + 1;
        Ok(Value::Serializable {
            class,
            data: self.bytes[start..end].to_vec(),
        })
    }
}

/// The float syntax `unserialize()` accepts: `[+-]digits`, with `.` and an exponent optional
/// (`1.`, `.5`, `1e5`, `-1.5E+25`), or `INF`, `-INF`, `NAN`.
fn is_php_float(text: &[u8]) -> bool {
    if matches!(text, b"INF" | b"-INF" | b"NAN") {
        return true;
    }
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut rest = text
        .strip_prefix(b"+")
        .or(text.strip_prefix(b"-"))
        .unwrap_or(text);
    let whole = digits(rest);
    rest = &rest[whole..];
    let mut fraction = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        fraction = digits(after_dot);
        rest = &after_dot[fraction..];
    }
    if whole + fraction == 0 {
        return false;
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or(rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or(exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let n = digits(exponent);
        return n > 0 && n == exponent.len();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITSEC_STORAGE: &[u8] = include_bytes!("testdata/itsec-storage.txt");
    const AIOS_CONFIGS: &[u8] = include_bytes!("testdata/aio_wp_security_configs.txt");

    /// Option values and wflogs payloads as the sandbox's plugins wrote them, plus what PHP 8.2's
    /// `serialize()` writes for each kind of value.
    fn samples() -> Vec<Vec<u8>> {
        let mut samples: Vec<Vec<u8>> = vec![ITSEC_STORAGE.to_vec(), AIOS_CONFIGS.to_vec()];
        for wflogs in [
            &include_bytes!("testdata/wflogs-config-synced.php")[..],
            include_bytes!("testdata/wflogs-config.php"),
            include_bytes!("testdata/wflogs-config-livewaf.php"),
            include_bytes!("testdata/wflogs-config-transient.php"),
        ] {
            let start = wflogs.iter().rposition(|b| *b == b'\n').unwrap() + 1;
            samples.push(wflogs[start..].to_vec());
        }
        for text in [
            // limit_login_* and itsec_* options after the sandbox's lockout scenarios.
            r#"a:1:{s:9:"127.0.0.1";i:1795823275;}"#,
            r#"a:1:{s:9:"127.0.0.1";a:1:{s:5:"admin";a:3:{s:7:"counter";i:4;s:4:"date";i:1795822075;s:7:"gateway";s:8:"wp_login";}}}"#,
            r#"a:1:{i:0;s:11:"REMOTE_ADDR";}"#,
            "a:0:{}",
            r#"a:8:{s:9:"ban-users";b:1;s:11:"brute-force";b:1;s:19:"network-brute-force";b:1;s:18:"security-check-pro";b:1;s:13:"system-tweaks";b:1;s:16:"wordpress-tweaks";b:1;s:10:"two-factor";b:0;s:12:"hide-backend";b:0;}"#,
            // php -r 'echo serialize(…);' for enums, object identity, floats, PHP references,
            // Serializable and (object) casts.
            r#"a:3:{i:0;E:3:"E:A";i:1;O:8:"stdClass":1:{s:1:"x";i:1;}i:2;r:3;}"#,
            "a:10:{i:0;d:0.1;i:1;d:1;i:2;d:-0;i:3;d:INF;i:4;d:-INF;i:5;d:NAN;i:6;d:1.0E+25;i:7;d:1.0E-7;i:8;d:0.30000000000000004;i:9;d:123456789.125;}",
            "d:0.1000000000000000055511151231257827;",
            r#"a:3:{i:0;i:1;i:1;i:2;i:2;R:2;}"#,
            r#"C:6:"OldSer":5:{ab;}c}"#,
            r#"E:3:"S:X";"#,
            r#"O:8:"stdClass":2:{s:1:"0";i:1;s:1:"1";i:2;}"#,
            r#"O:8:"stdClass":1:{i:0;N;}"#,
            r#"a:2:{s:6:"héllo";s:2:"ü";s:5:"a";}b";s:3:"x"#,
            "i:-9223372036854775808;",
            "i:9223372036854775807;",
            "N;",
            "b:0;",
            r#"s:0:"";"#,
        ] {
            samples.push(text.as_bytes().to_vec());
        }
        // The last text sample ends with a NUL inside a string, which a Rust literal cannot show.
        let with_nul = samples.len() - 6;
        samples[with_nul].extend_from_slice(b"\0y\";}");
        // serialize(new P) with a private, a protected and a public property.
        samples.push(
            b"O:1:\"P\":3:{s:4:\"\0P\0a\";i:1;s:4:\"\0*\0b\";s:1:\"x\";s:1:\"c\";N;}".to_vec(),
        );
        samples
    }

    fn string(text: &str) -> Value {
        Value::Str(text.as_bytes().to_vec())
    }

    #[test]
    fn every_sample_round_trips_byte_identical() {
        for sample in samples() {
            let value = parse(&sample).unwrap_or_else(|e| panic!("{e}: {}", sample.escape_ascii()));
            assert_eq!(value.to_bytes(), sample, "{value:?}");
        }
    }

    #[test]
    fn strings_count_bytes_and_may_hold_anything() {
        assert_eq!(parse(r#"s:6:"héllo";"#.as_bytes()), Ok(string("héllo")));
        assert!(parse(r#"s:5:"héllo";"#.as_bytes()).is_err());
        let tricky = parse(b"s:8:\"a\";}\0\"b;\";").unwrap();
        assert_eq!(tricky, Value::Str(b"a\";}\0\"b;".to_vec()));
        assert_eq!(tricky.to_bytes(), b"s:8:\"a\";}\0\"b;\";");
        // Not UTF-8: kept as bytes, not a &str.
        let latin1 = parse(b"s:2:\"\xe9t\";").unwrap();
        assert_eq!(latin1, Value::Str(b"\xe9t".to_vec()));
        assert_eq!(latin1.as_str(), None);
    }

    #[test]
    fn objects_keep_class_and_property_bytes() {
        let private = b"O:1:\"P\":2:{s:4:\"\0P\0a\";i:1;s:4:\"\0*\0b\";s:1:\"x\";}";
        let Value::Object { class, props } = parse(private).unwrap() else {
            panic!("not an object");
        };
        assert_eq!(class, b"P");
        assert_eq!(props[0], (Key::Str(b"\0P\0a".to_vec()), Value::Int(1)));
        assert_eq!(props[1].0, Key::Str(b"\0*\0b".to_vec()));
        let custom = parse(br#"C:6:"OldSer":5:{ab;}c}"#).unwrap();
        assert_eq!(
            custom,
            Value::Serializable {
                class: b"OldSer".to_vec(),
                data: b"ab;}c".to_vec()
            }
        );
        assert_eq!(parse(br#"E:3:"S:X";"#), Ok(Value::Enum(b"S:X".to_vec())));
    }

    #[test]
    fn floats_keep_their_text() {
        for text in [
            "0.1", "-0", "INF", "-INF", "NAN", "1.0E+25", "1.", ".5", "+1.5e-3", "7",
        ] {
            let input = format!("d:{text};");
            assert_eq!(parse(input.as_bytes()), Ok(Value::Float(text.to_owned())));
        }
    }

    #[test]
    fn references_are_numbers_checked_against_earlier_values() {
        let value = parse(br#"a:3:{i:0;E:3:"E:A";i:1;O:8:"stdClass":0:{}i:2;r:3;}"#).unwrap();
        assert_eq!(value.get("2"), Some(&Value::ObjectRef(3)));
        assert!(value.has_references());
        assert!(!parse(ITSEC_STORAGE).unwrap().has_references());
        // `R:` is not itself numbered: the value after it is number 3, not 4.
        // PHP: a:4:{…i:3;R:3;} makes $a[3] a reference to $a[2] (7); R:4 is refused.
        assert!(parse(br#"a:4:{i:0;i:1;i:1;R:2;i:2;i:7;i:3;R:3;}"#).is_ok());
        assert!(parse(br#"a:4:{i:0;i:1;i:1;R:2;i:2;i:7;i:3;R:4;}"#).is_err());
    }

    #[test]
    fn reads_nested_values_by_path() {
        let storage = parse(ITSEC_STORAGE).unwrap();
        assert_eq!(
            storage.get_path(&["global", "lockout_white_list"]),
            Some(&Value::Array(vec![]))
        );
        assert_eq!(
            storage
                .get_path(&["security-check-pro"])
                .unwrap()
                .get_str("ip_header"),
            Some("REMOTE_ADDR")
        );
        assert_eq!(
            storage.get_path(&["global", "lockout_period"]),
            Some(&Value::Int(15))
        );
        assert_eq!(storage.get_path(&[]), Some(&storage));
        assert_eq!(storage.get_path(&["global", "nope"]), None);
        assert_eq!(storage.get_path(&["global", "proxy", "deeper"]), None);
        let list = parse(br#"a:2:{i:0;s:1:"a";i:7;a:1:{s:1:"k";s:1:"v";}}"#).unwrap();
        assert_eq!(list.get_path(&["7", "k"]), Some(&string("v")));
        assert_eq!(list.get("07"), None, "\"07\" is a string key in PHP");
    }

    #[test]
    fn solid_allow_list_append_matches_php() {
        let mut storage = parse(ITSEC_STORAGE).unwrap();
        let list = storage
            .get_path_mut(&["global", "lockout_white_list"])
            .unwrap();
        assert!(!list.list_contains("203.0.113.7"));
        assert_eq!(list.list_push("203.0.113.7"), Ok(0));
        assert!(list.list_contains("203.0.113.7"));
        // php: $a['global']['lockout_white_list'][] = '203.0.113.7'; echo serialize($a);
        let expected = String::from_utf8(ITSEC_STORAGE.to_vec()).unwrap().replace(
            r#"s:18:"lockout_white_list";a:0:{}"#,
            r#"s:18:"lockout_white_list";a:1:{i:0;s:11:"203.0.113.7";}"#,
        );
        assert_eq!(String::from_utf8(storage.to_bytes()).unwrap(), expected);
    }

    #[test]
    fn llar_lockout_removal_and_allow_list_match_php() {
        let mut lockouts = parse(br#"a:1:{s:9:"127.0.0.1";i:1795823275;}"#).unwrap();
        assert!(lockouts.contains_key("127.0.0.1"));
        assert!(!lockouts.contains_key("127.0.0.2"));
        assert_eq!(
            lockouts.remove_key("127.0.0.1"),
            Ok(Some(Value::Int(1795823275)))
        );
        assert_eq!(lockouts.remove_key("127.0.0.1"), Ok(None));
        assert_eq!(lockouts.to_bytes(), b"a:0:{}");
        let mut whitelist = parse(b"a:0:{}").unwrap();
        whitelist.list_push("203.0.113.7").unwrap();
        assert_eq!(whitelist.to_bytes(), br#"a:1:{i:0;s:11:"203.0.113.7";}"#);
    }

    #[test]
    fn aios_settings_edit_matches_php() {
        let mut configs = parse(AIOS_CONFIGS).unwrap();
        assert_eq!(
            configs.get_str("aiowps_lockdown_enable_whitelisting"),
            Some("")
        );
        configs
            .set_str("aiowps_lockdown_enable_whitelisting", "1")
            .unwrap();
        configs
            .set_str("aiowps_lockdown_allowed_ip_addresses", "127.0.0.1")
            .unwrap();
        configs.set_str("new_key", "x").unwrap();
        configs.set_str("7", "seven").unwrap();
        // php: $c[...] = '1'; $c[...] = '127.0.0.1'; $c['new_key'] = 'x'; $c['7'] = 'seven';
        let expected = String::from_utf8(AIOS_CONFIGS.to_vec())
            .unwrap()
            .replacen("a:33:{", "a:35:{", 1)
            .replace(
                r#"s:35:"aiowps_lockdown_enable_whitelisting";s:0:"";s:36:"aiowps_lockdown_allowed_ip_addresses";s:0:"";"#,
                r#"s:35:"aiowps_lockdown_enable_whitelisting";s:1:"1";s:36:"aiowps_lockdown_allowed_ip_addresses";s:9:"127.0.0.1";"#,
            )
            .replace(
                r#"s:1:"1";}"#,
                r#"s:1:"1";s:7:"new_key";s:1:"x";i:7;s:5:"seven";}"#,
            );
        assert_eq!(String::from_utf8(configs.to_bytes()).unwrap(), expected);
    }

    #[test]
    fn list_push_uses_the_next_integer_key_like_php() {
        // Each expectation is PHP 8.2's: $a = unserialize(…); $a[] = …; echo serialize($a);
        let mut gaps = parse(br#"a:3:{i:0;s:1:"a";i:5;s:1:"b";s:1:"k";s:1:"a";}"#).unwrap();
        assert_eq!(gaps.list_push("c"), Ok(6));
        assert_eq!(
            gaps.to_bytes(),
            br#"a:4:{i:0;s:1:"a";i:5;s:1:"b";s:1:"k";s:1:"a";i:6;s:1:"c";}"#
        );
        let mut negative = parse(br#"a:1:{i:-5;s:1:"a";}"#).unwrap();
        assert_eq!(negative.list_push("b"), Ok(-4));
        let mut numeric_string = parse(br#"a:1:{s:1:"5";s:1:"a";}"#).unwrap();
        assert_eq!(numeric_string.list_push("b"), Ok(6));
        let mut strings_only = parse(br#"a:1:{s:1:"x";i:1;}"#).unwrap();
        assert_eq!(strings_only.list_push("b"), Ok(0));
        let mut full = parse(br#"a:1:{i:9223372036854775807;N;}"#).unwrap();
        assert!(matches!(
            full.list_push("b"),
            Err(EditError::NoNextIndex { .. })
        ));
        assert_eq!(full.to_bytes(), br#"a:1:{i:9223372036854775807;N;}"#);
    }

    #[test]
    fn list_remove_unsets_and_keeps_other_keys() {
        let mut list =
            parse(br#"a:4:{i:0;s:1:"a";i:5;s:1:"b";s:1:"k";s:1:"a";i:6;s:1:"c";}"#).unwrap();
        assert_eq!(list.list_remove("a"), Ok(2));
        // php: foreach ($g as $k => $v) if ($v === 'a') unset($g[$k]);
        assert_eq!(list.to_bytes(), br#"a:2:{i:5;s:1:"b";i:6;s:1:"c";}"#);
        assert_eq!(list.list_remove("zzz"), Ok(0));
    }

    #[test]
    fn edits_refuse_values_with_references() {
        let original = br#"a:3:{i:0;i:1;i:1;i:2;i:2;R:2;}"#;
        let mut value = parse(original).unwrap();
        for result in [
            value.list_push("x").map(|_| ()),
            value.list_remove("x").map(|_| ()),
            value.set_str("k", "x"),
            value.remove_key("0").map(|_| ()),
            value.get_path_mut(&[]).map(|_| ()),
        ] {
            assert!(
                matches!(result, Err(EditError::HasReferences { .. })),
                "{result:?}"
            );
        }
        assert_eq!(value.to_bytes(), original);
    }

    #[test]
    fn edits_say_what_is_in_the_way() {
        let mut storage = parse(ITSEC_STORAGE).unwrap();
        assert_eq!(
            storage
                .get_path_mut(&["global", "nope", "x"])
                .unwrap_err()
                .to_string(),
            "the value at global has no entry \"nope\""
        );
        assert_eq!(
            storage
                .get_path_mut(&["global", "proxy", "x"])
                .unwrap_err()
                .to_string(),
            "the value at global → proxy is a string, not an array"
        );
        let mut text = string("1.2.3.4");
        assert_eq!(
            text.list_push("x").unwrap_err().to_string(),
            "the value is a string, not an array"
        );
        assert!(text.set_str("k", "v").is_err());
        assert!(!text.list_contains("1.2.3.4"));
        assert!(!text.contains_key("k"));
    }

    /// (input, offset of the error, words the message must contain)
    const MALFORMED: &[(&[u8], usize, &str)] = &[
        (b"", 0, "expected a value, found the end of the data"),
        (b"x:1;", 0, "a value (N, b, i"),
        (b"i:5", 3, "`;`"),
        (b"i:5;N;", 4, "the end of the data after the value"),
        (b"i:5;\n", 4, "found \"\\n\""),
        (b"i:+5;", 2, "no plus sign"),
        (b"i:007;", 2, "leading zero"),
        (b"i:-0;", 2, "an integer"),
        (b"i:9223372036854775808;", 2, "within 64 bits"),
        (b"i:;", 2, "an integer"),
        (b"b:2;", 2, "0 or 1"),
        (b"N", 0, "`N;`"),
        (b"d:1.2.3;", 2, "a float"),
        (b"d:;", 2, "a float"),
        (b"d:1e;", 2, "a float"),
        (b"d:1.5", 2, "a float ended by `;`"),
        (b"s:3:abc;", 3, "`:\"`"),
        (b"s:5:\"abc\";", 10, "`\"` closing a string of 5 bytes"),
        (b"s:2:\"abc\";", 7, "`\"` closing a string of 2 bytes"),
        (b"s:01:\"a\";", 2, "byte length of a string"),
        (b"s:-1:\"\";", 2, "byte length of a string"),
        (b"s:99999999999999999999:\"\";", 2, "byte length"),
        (
            b"s:18446744073709551615:\"\";",
            24,
            "18446744073709551615 bytes of a string",
        ),
        (b"s:3:\"abc\"", 9, "`;`"),
        (b"a:2:{i:0;i:1;}", 13, "the key (i: or s:) of entry 2 of 2"),
        (b"a:1:{i:0;i:1;i:1;i:2;}", 13, "the count said 1 entries"),
        (b"a:1:{d:1.5;i:1;}", 5, "the key (i: or s:) of entry 1 of 1"),
        (b"a:1:{N;i:1;}", 5, "the key"),
        (b"a:1:{i:0;}", 9, "a value"),
        (b"a:-1:{}", 2, "the number of entries"),
        (b"a:1:{i:0;i:1;", 13, "`}`"),
        (b"a:0:{", 5, "`}`"),
        (b"a:0:[]", 3, "`:{`"),
        (b"O:8:\"stdClass\":1:{s:1:\"a\";}", 26, "a value"),
        (b"O:3:\"Foo\"", 9, "`:`"),
        (
            b"C:3:\"Foo\":2:{abc}",
            15,
            "`}` closing a payload of 2 bytes",
        ),
        (b"C:3:\"Foo\":9:{ab}", 13, "a payload of 9 bytes"),
        (b"E:3:\"Foo\";", 2, "`Enum:Case`"),
        (b"E:5:\"E:Foo\"", 11, "`;`"),
        (b"r:1;", 2, "one of the 0 values before it"),
        (b"a:1:{i:0;r:2;}", 11, "one of the 1 values before it"),
        (b"a:1:{i:0;R:5;}", 11, "one of the 1 values before it"),
        (b"R:0;", 2, "one of the 0 values"),
        (b"S:1:\"a\";", 0, "a value"),
    ];

    #[test]
    fn malformed_input_is_refused_with_its_offset() {
        for (input, offset, words) in MALFORMED {
            let error = parse(input).expect_err(&input.escape_ascii().to_string());
            assert_eq!(error.offset, *offset, "{error} ({})", input.escape_ascii());
            let message = error.to_string();
            assert!(
                message.contains(words),
                "{message} ({})",
                input.escape_ascii()
            );
            assert!(message.starts_with(&format!(
                "malformed PHP serialized data at byte {offset}: expected "
            )));
        }
    }

    #[test]
    fn nesting_is_limited() {
        let nested = |depth: usize| {
            let mut text = "a:1:{i:0;".repeat(depth);
            text.push_str("N;");
            text.push_str(&"}".repeat(depth));
            text
        };
        let deepest = nested(MAX_DEPTH);
        assert_eq!(
            parse(deepest.as_bytes()).unwrap().to_bytes(),
            deepest.as_bytes()
        );
        let error = parse(nested(MAX_DEPTH + 1).as_bytes()).unwrap_err();
        assert_eq!(error.offset, MAX_DEPTH * 9 + 5);
        assert!(
            error
                .to_string()
                .contains(&format!("at most {MAX_DEPTH} levels of nesting"))
        );
    }

    /// A small deterministic generator (xorshift64*), so the property tests need no crate.
    struct Generator {
        state: u64,
        /// Numbered values so far, to generate valid references.
        slots: u64,
    }

    impl Generator {
        fn next(&mut self) -> u64 {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn bytes(&mut self) -> Vec<u8> {
            const ALPHABET: &[u8] = b"a\";}{:0\0\\\n s";
            let len = self.below(8);
            let mut out = Vec::new();
            for _ in 0..len {
                match self.below(4) {
                    0 => out.extend_from_slice("é€😀".as_bytes()),
                    1 => out.push(self.next() as u8),
                    _ => out.push(ALPHABET[self.below(ALPHABET.len() as u64) as usize]),
                }
            }
            out
        }

        fn int(&mut self) -> i64 {
            match self.below(4) {
                0 => i64::MIN,
                1 => i64::MAX,
                _ => self.below(2001) as i64 - 1000,
            }
        }

        fn entries(&mut self, depth: usize) -> Vec<(Key, Value)> {
            (0..self.below(5))
                .map(|_| {
                    let key = if self.below(2) == 0 {
                        Key::Int(self.int())
                    } else {
                        Key::Str(self.bytes())
                    };
                    (key, self.value(depth + 1))
                })
                .collect()
        }

        fn value(&mut self, depth: usize) -> Value {
            const FLOATS: [&str; 8] = ["0.1", "-0", "INF", "-INF", "NAN", "1.0E+25", "3", ".5"];
            let kind = self.below(if depth > 3 { 9 } else { 11 });
            // `R:` takes no number of its own; everything else does, before its contents.
            if kind == 8 && self.slots > 0 {
                return Value::Reference(1 + self.below(self.slots));
            }
            self.slots += 1;
            match kind {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 1),
                2 => Value::Int(self.int()),
                3 => Value::Float(FLOATS[self.below(8) as usize].to_owned()),
                4 => Value::Str(self.bytes()),
                5 => Value::Enum([&b"Suit:"[..], &self.bytes()].concat()),
                6 => Value::Serializable {
                    class: self.bytes(),
                    data: self.bytes(),
                },
                7 if self.slots > 1 => Value::ObjectRef(1 + self.below(self.slots - 1)),
                9 => Value::Array(self.entries(depth)),
                10 => Value::Object {
                    class: self.bytes(),
                    props: self.entries(depth),
                },
                _ => Value::Null,
            }
        }

        fn document(&mut self) -> Value {
            self.slots = 0;
            self.value(0)
        }
    }

    #[test]
    fn generated_values_round_trip() {
        let mut generator = Generator {
            state: 0x9E37_79B9_7F4A_7C15,
            slots: 0,
        };
        for _ in 0..3000 {
            let value = generator.document();
            let bytes = value.to_bytes();
            assert_eq!(
                parse(&bytes).as_ref(),
                Ok(&value),
                "{}",
                bytes.escape_ascii()
            );
            // Every value ends with its own `;` or `}`, so no shorter prefix is complete.
            for end in 0..bytes.len() {
                assert!(
                    parse(&bytes[..end]).is_err(),
                    "{}",
                    bytes[..end].escape_ascii()
                );
            }
        }
    }

    #[test]
    fn whatever_parses_is_written_back_unchanged() {
        const INTERESTING: &[u8] = b"0123456789:;\"{}aisNbdOCErR-+.eE";
        let mut generator = Generator {
            state: 0x0123_4567_89AB_CDEF,
            slots: 0,
        };
        let mut accepted = 0;
        for _ in 0..3000 {
            let mut bytes = generator.document().to_bytes();
            for _ in 0..=generator.below(3) {
                let at = generator.below(bytes.len() as u64 + 1) as usize;
                let byte = INTERESTING[generator.below(INTERESTING.len() as u64) as usize];
                match generator.below(3) {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, byte),
                }
            }
            if let Ok(value) = parse(&bytes) {
                accepted += 1;
                assert_eq!(value.to_bytes(), bytes, "{}", bytes.escape_ascii());
            }
        }
        // The mutations must leave some inputs valid, or the loop proves nothing.
        assert!(accepted > 100, "only {accepted} mutated inputs parsed");
    }
}

//! JSON as PHP's `json_encode()` writes it, edited without disturbing what is not edited.
//!
//! `serde_json` parses and validates, but its values keep neither key order (without the
//! crate-wide `preserve_order` feature) nor the source text of numbers and strings, and it
//! writes `/` and non-ASCII characters differently from PHP. This tree keeps every member in
//! order and every scalar as its source text, so writing it back compactly gives exactly what
//! PHP wrote, and new strings are encoded the way PHP encodes them.

use serde::de::IgnoredAny;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Json {
    /// A number, `true`, `false`, `null` or a string, as its source text.
    Scalar(String),
    /// A list, in order.
    Array(Vec<Json>),
    /// An object's members, in order.
    Object(Vec<Member>),
}

/// One `"key":value` of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    /// The key's source text, quotes and escapes included.
    raw_key: String,
    /// The key, decoded.
    pub key: String,
    /// The value.
    pub value: Json,
}

impl Member {
    /// A new member, its key encoded as PHP would.
    pub fn new(key: &str, value: Json) -> Member {
        Member {
            raw_key: php_string(key),
            key: key.to_owned(),
            value,
        }
    }
}

impl Json {
    /// Parses a complete JSON text; the message says what is wrong and where (line, column).
    pub fn parse(text: &str) -> Result<Json, String> {
        serde_json::from_str::<IgnoredAny>(text).map_err(|e| e.to_string())?;
        let mut scanner = Scanner { text, pos: 0 };
        // The text is valid JSON, so the scanner finds what it expects.
        scanner
            .value()
            .ok_or_else(|| "JSON the reader could not follow".to_owned())
    }

    /// A string value, encoded as PHP's `json_encode()` would.
    pub fn string(value: &str) -> Json {
        Json::Scalar(php_string(value))
    }

    /// The decoded string, when this is a string.
    pub fn as_str(&self) -> Option<String> {
        match self {
            Json::Scalar(raw) if raw.starts_with('"') => serde_json::from_str(raw).ok(),
            _ => None,
        }
    }

    /// The value as `serde_json` sees it, for reading.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.to_text()).unwrap_or(serde_json::Value::Null)
    }

    /// The value written compactly, scalars as found: what `json_encode()` wrote.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Scalar(raw) => out.push_str(raw),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, member) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&member.raw_key);
                    out.push(':');
                    member.value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `json_encode($string)` with PHP's default flags: `/` escaped, control characters and
/// non-ASCII as `\uXXXX` (surrogate pairs beyond the BMP, lower-case hex), DEL as is.
fn php_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && !c.is_ascii_control() || c == '\u{7f}' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Walks text already validated as JSON, keeping source text.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn value(&mut self) -> Option<Json> {
        self.skip_whitespace();
        match self.peek()? {
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_none() {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b',').is_none() {
                            self.eat(b']')?;
                            break;
                        }
                    }
                }
                Some(Json::Array(items))
            }
            b'{' => {
                self.pos += 1;
                let mut members = Vec::new();
                if self.eat(b'}').is_none() {
                    loop {
                        self.skip_whitespace();
                        let raw_key = self.string()?;
                        let key = serde_json::from_str(&raw_key).ok()?;
                        self.eat(b':')?;
                        let value = self.value()?;
                        members.push(Member {
                            raw_key,
                            key,
                            value,
                        });
                        if self.eat(b',').is_none() {
                            self.eat(b'}')?;
                            break;
                        }
                    }
                }
                Some(Json::Object(members))
            }
            b'"' => self.string().map(Json::Scalar),
            _ => {
                let rest = &self.text[self.pos..];
                let len = rest
                    .find([',', ']', '}', ' ', '\t', '\n', '\r'])
                    .unwrap_or(rest.len());
                self.pos += len;
                Some(Json::Scalar(rest[..len].to_owned()))
            }
        }
    }

    /// A string literal's source text, quotes included.
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        if bytes.get(start) != Some(&b'"') {
            return None;
        }
        let mut at = start + 1;
        loop {
            match bytes.get(at)? {
                b'\\' => at += 2,
                b'"' => break,
                _ => at += 1,
            }
        }
        self.pos = at + 1;
        Some(self.text[start..self.pos].to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_is_written_back_as_found() {
        for text in [
            r#"{"a":1,"z":[],"m":{"k":"v\/w"},"b":false,"n":null,"f":1.0e+25,"u":"\u00e9"}"#,
            "[]",
            "{}",
            r#"["a","b"]"#,
            r#"{"blockedTime":"300","blocks":[{"id":1,"IP":"AAAAAAAAAAAAAP\/\/fwAAAQ==","reason":"Manual block by administrator","expiration":0}]}"#,
            "-0.5",
        ] {
            assert_eq!(Json::parse(text).unwrap().to_text(), text);
        }
    }

    #[test]
    fn whitespace_goes_and_order_stays() {
        let json = Json::parse(" { \"z\" : [ 1 , 2 ] ,\n\"a\":\t\"x\" } ").unwrap();
        assert_eq!(json.to_text(), r#"{"z":[1,2],"a":"x"}"#);
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        assert_eq!(members[0].key, "z");
        assert_eq!(members[1].value.as_str(), Some("x".to_owned()));
    }

    #[test]
    fn invalid_json_is_refused_with_its_position() {
        assert_eq!(
            Json::parse(r#"{"a":}"#).unwrap_err(),
            "expected value at line 1 column 6"
        );
        assert!(Json::parse("").is_err());
        assert!(Json::parse("[1] x").is_err());
    }

    #[test]
    fn strings_are_encoded_like_php() {
        // php -r 'echo json_encode("é/\u{1F600}\x01\"\\\n\t<>&\x7f");'
        assert_eq!(
            php_string("é/\u{1F600}\u{1}\"\\\n\t<>&\u{7f}"),
            "\"\\u00e9\\/\\ud83d\\ude00\\u0001\\\"\\\\\\n\\t<>&\u{7f}\""
        );
        assert_eq!(Json::string("1.2.3.4").as_str(), Some("1.2.3.4".to_owned()));
        assert_eq!(Json::Scalar("12".into()).as_str(), None);
    }
}

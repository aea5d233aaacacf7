//! The helper's request and answer, as JSON: values travel as base64 (binary columns such as
//! Wordfence's `IP` are not text), NULL as `null`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Answer, HelperError, Op, Row, Seen};
use crate::http::Response;

/// How every answer of the helper starts; anything else came from something in front of it.
const REPLY_START: &str = "{\"wprescue\":1,";

/// The helper's own refusals (see helper.php): fixed texts, without details.
const REFUSED: &str = "wprescue helper: refused";
const EXPIRED: &str = "wprescue helper: expired";

/// How much of a foreign answer is kept for the error message.
const EXCERPT_CHARS: usize = 300;

/// The request body for `ops`.
pub(super) fn encode_request(ops: &[Op]) -> Vec<u8> {
    let ops: Vec<Value> = ops.iter().map(op_json).collect();
    serde_json::to_vec(&json!({ "v": 1, "ops": ops })).expect("JSON of strings and lists")
}

fn op_json(op: &Op) -> Value {
    match op {
        Op::Tables { names } => json!({ "op": "tables", "names": names }),
        Op::Select {
            table,
            column,
            values,
        } => json!({
            "op": "select",
            "table": table,
            "column": column,
            "values": values.iter().map(|v| STANDARD.encode(v)).collect::<Vec<_>>(),
        }),
        Op::Update {
            table,
            before,
            after,
        } => json!({
            "op": "update",
            "table": table,
            "before": row_json(before),
            "after": row_json(after),
        }),
        Op::Delete { table, rows } => json!({
            "op": "delete",
            "table": table,
            "rows": rows.iter().map(row_json).collect::<Vec<_>>(),
        }),
        Op::Insert { table, rows } => json!({
            "op": "insert",
            "table": table,
            "rows": rows.iter().map(row_json).collect::<Vec<_>>(),
        }),
    }
}

fn row_json(row: &Row) -> Value {
    row.iter()
        .map(|(column, value)| json!([column, value.as_ref().map(|v| STANDARD.encode(v))]))
        .collect()
}

#[derive(Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    answers: Vec<WireAnswer>,
    seen: Option<WireSeen>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireAnswer {
    Tables {
        tables: Vec<String>,
    },
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    Done {
        done: usize,
    },
}

#[derive(Deserialize)]
struct WireSeen {
    remote_addr: String,
    headers: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct WireError {
    kind: String,
    op: Option<usize>,
    why: String,
    host: Option<String>,
    name: Option<String>,
    user: Option<String>,
    path: Option<String>,
}

/// The helper's answer in `output` (stdout of `php`, which a CGI build prefixes with headers
/// and a noisy PHP with warnings), or `None` if it holds none.
pub(super) fn find_reply(output: &[u8]) -> Option<&[u8]> {
    let start = output
        .windows(REPLY_START.len())
        .position(|w| w == REPLY_START.as_bytes())?;
    Some(&output[start..])
}

/// The helper's answer in an HTTP response; anything else was said by whatever ran first.
/// Whether `response` is the helper's JSON answer (not a refusal, nor someone else's page).
pub(super) fn is_reply(response: &Response) -> bool {
    response.status == 200 && response.body.trim_start().starts_with(REPLY_START)
}

/// Whether the helper was not there to answer (deleted meanwhile) or had expired: either way
/// it ran nothing.
pub(super) fn is_gone_or_expired(response: &Response) -> bool {
    match response.status {
        404 => true,
        410 => response.body.trim() == EXPIRED,
        _ => false,
    }
}

pub(super) fn http_reply(response: &Response) -> Result<&[u8], HelperError> {
    let body = response.body.trim_start();
    if is_reply(response) {
        return Ok(body.as_bytes());
    }
    match (response.status, body.trim_end()) {
        (403, REFUSED) => Err(HelperError::Protocol {
            why: "the helper refused the request as unsigned: something between here and PHP \
                  (a proxy, a firewall) changed the request or dropped its X-Wprescue-Seq and \
                  X-Wprescue-Mac headers"
                .into(),
        }),
        (410, EXPIRED) => Err(HelperError::Protocol {
            why: format!(
                "the helper had expired (it answers for {} s after its upload, by the \
                 server's clock) when the request reached it",
                super::script::TTL_SECS
            ),
        }),
        (status, body) => Err(HelperError::Blocked {
            status,
            body_excerpt: body.chars().take(EXCERPT_CHARS).collect(),
        }),
    }
}

/// The answers to `ops` in a reply.
pub(super) fn decode_answers(reply: &[u8], ops: &[Op]) -> Result<Vec<Answer>, HelperError> {
    let reply = parse(reply)?;
    if reply.answers.len() != ops.len() {
        return Err(protocol(format!(
            "{} answers to {} operations",
            reply.answers.len(),
            ops.len()
        )));
    }
    ops.iter()
        .zip(reply.answers)
        .map(|(op, answer)| match (op, answer) {
            (Op::Tables { .. }, WireAnswer::Tables { tables }) => Ok(Answer::Tables(tables)),
            (Op::Select { .. }, WireAnswer::Rows { columns, rows }) => rows
                .into_iter()
                .map(|values| decode_row(&columns, values))
                .collect::<Result<_, _>>()
                .map(Answer::Rows),
            (
                Op::Update { .. } | Op::Delete { .. } | Op::Insert { .. },
                WireAnswer::Done { done },
            ) => Ok(Answer::Done { rows: done }),
            _ => Err(protocol("an answer does not fit its operation".into())),
        })
        .collect()
}

/// What the web server saw, from a whoami reply.
pub(super) fn decode_seen(reply: &[u8]) -> Result<Seen, HelperError> {
    let seen = parse(reply)?
        .seen
        .ok_or_else(|| protocol("no `seen` in the answer".into()))?;
    Ok(Seen {
        remote_addr: seen.remote_addr,
        headers: seen.headers,
    })
}

fn parse(reply: &[u8]) -> Result<Reply, HelperError> {
    let mut stream = serde_json::Deserializer::from_slice(reply).into_iter::<Reply>();
    let reply = match stream.next() {
        Some(Ok(reply)) => reply,
        Some(Err(e)) => return Err(protocol(format!("unreadable answer: {e}"))),
        None => return Err(protocol("empty answer".into())),
    };
    if reply.ok {
        return Ok(reply);
    }
    match reply.error {
        Some(error) => Err(error.into()),
        None => Err(protocol("a failure without an error".into())),
    }
}

fn decode_row(columns: &[String], values: Vec<Option<String>>) -> Result<Row, HelperError> {
    if values.len() != columns.len() {
        return Err(protocol("a row does not match its columns".into()));
    }
    columns
        .iter()
        .zip(values)
        .map(|(column, value)| {
            let bytes = value
                .map(|v| STANDARD.decode(v))
                .transpose()
                .map_err(|e| protocol(format!("a value is not base64: {e}")))?;
            Ok((column.clone(), bytes))
        })
        .collect()
}

impl From<WireError> for HelperError {
    fn from(e: WireError) -> Self {
        match (e.kind.as_str(), e.op) {
            ("stale", Some(op)) => HelperError::Stale { op, why: e.why },
            ("refused", Some(op)) => HelperError::Refused { op, why: e.why },
            ("database", _) => HelperError::Database {
                host: e.host.unwrap_or_default(),
                name: e.name.unwrap_or_default(),
                user: e.user.unwrap_or_default(),
                why: e.why,
            },
            ("config", _) => HelperError::Config {
                path: e.path.unwrap_or_default(),
                why: e.why,
            },
            (kind, _) => protocol(format!("the helper failed ({kind}): {}", e.why)),
        }
    }
}

fn protocol(why: String) -> HelperError {
    HelperError::Protocol { why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, Option<&[u8]>)]) -> Row {
        pairs
            .iter()
            .map(|(c, v)| (c.to_string(), v.map(<[u8]>::to_vec)))
            .collect()
    }

    fn response(status: u16, body: &str) -> Response {
        Response {
            url: "http://example.com/wprescue-x.php".into(),
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    #[test]
    fn requests_carry_values_as_base64_and_null_as_null() {
        let ops = [
            Op::Tables {
                names: vec!["wfblocks7".into(), "wfBlocks7".into()],
            },
            Op::Select {
                table: "wfblocks7".into(),
                column: "IP".into(),
                values: vec![vec![0, 0xff, 0x7f]],
            },
            Op::Update {
                table: "options".into(),
                before: row(&[("option_value", Some(b"a")), ("autoload", None)]),
                after: row(&[("option_value", Some(b"b"))]),
            },
            Op::Delete {
                table: "t".into(),
                rows: vec![row(&[("id", Some(b"1"))])],
            },
            Op::Insert {
                table: "t".into(),
                rows: vec![row(&[("id", Some(b"1"))])],
            },
        ];
        let request: Value = serde_json::from_slice(&encode_request(&ops)).unwrap();
        assert_eq!(
            request,
            json!({"v": 1, "ops": [
                {"op": "tables", "names": ["wfblocks7", "wfBlocks7"]},
                {"op": "select", "table": "wfblocks7", "column": "IP", "values": ["AP9/"]},
                {"op": "update", "table": "options",
                 "before": [["option_value", "YQ=="], ["autoload", null]],
                 "after": [["option_value", "Yg=="]]},
                {"op": "delete", "table": "t", "rows": [[["id", "MQ=="]]]},
                {"op": "insert", "table": "t", "rows": [[["id", "MQ=="]]]},
            ]})
        );
    }

    #[test]
    fn answers_are_decoded_in_column_order() {
        let ops = [
            Op::Tables { names: vec![] },
            Op::Select {
                table: "t".into(),
                column: "id".into(),
                values: vec![],
            },
            Op::Delete {
                table: "t".into(),
                rows: vec![],
            },
        ];
        let reply = br#"{"wprescue":1,"ok":true,"answers":[{"tables":["options"]},
            {"columns":["id","IP","note"],"rows":[["MQ==","AP9/",null]]},{"done":2}]}"#;
        let answers = decode_answers(reply, &ops).unwrap();
        assert_eq!(
            answers,
            vec![
                Answer::Tables(vec!["options".into()]),
                Answer::Rows(vec![row(&[
                    ("id", Some(b"1")),
                    ("IP", Some(&[0, 0xff, 0x7f])),
                    ("note", None)
                ])]),
                Answer::Done { rows: 2 },
            ]
        );
        let wrong = br#"{"wprescue":1,"ok":true,"answers":[{"done":1}]}"#;
        assert!(matches!(
            decode_answers(wrong, &ops[..1]),
            Err(HelperError::Protocol { .. })
        ));
        assert!(matches!(
            decode_answers(wrong, &ops),
            Err(HelperError::Protocol { .. })
        ));
    }

    #[test]
    fn failures_become_typed_errors() {
        let decode = |error: &str| {
            let reply = format!(r#"{{"wprescue":1,"ok":false,"error":{error}}}"#);
            decode_answers(reply.as_bytes(), &[]).unwrap_err()
        };
        assert!(matches!(
            decode(r#"{"kind":"stale","op":2,"why":"gone"}"#),
            HelperError::Stale { op: 2, .. }
        ));
        assert!(matches!(
            decode(r#"{"kind":"refused","op":0,"why":"no table wp_x"}"#),
            HelperError::Refused { op: 0, .. }
        ));
        let e = decode(
            r#"{"kind":"database","op":null,"why":"Access denied","host":"db:3306","name":"wp","user":"u"}"#,
        );
        assert_eq!(
            e.to_string(),
            "cannot connect to database wp on db:3306 as u: Access denied"
        );
        assert!(matches!(
            decode(r#"{"kind":"config","op":null,"why":"x","path":"/s/wp-config.php"}"#),
            HelperError::Config { .. }
        ));
        assert!(matches!(
            decode(r#"{"kind":"internal","op":null,"why":"TypeError: x"}"#),
            HelperError::Protocol { .. }
        ));
    }

    #[test]
    fn the_reply_is_found_behind_headers_and_warnings() {
        let out = b"X-Powered-By: PHP/7.4\r\nContent-type: text/html\r\n\r\nWarning: x\n{\"wprescue\":1,\"ok\":true,\"answers\":[]}\n";
        let reply = find_reply(out).unwrap();
        assert!(decode_answers(reply, &[]).unwrap().is_empty());
        assert_eq!(find_reply(b"PHP Parse error: ..."), None);
    }

    #[test]
    fn seen_lists_the_proxy_headers_present() {
        let reply = br#"{"wprescue":1,"ok":true,"seen":{"remote_addr":"127.0.0.2","headers":[["X-Forwarded-For","203.0.113.9, 10.0.0.1"]]}}"#;
        assert_eq!(
            decode_seen(reply).unwrap(),
            Seen {
                remote_addr: "127.0.0.2".into(),
                headers: vec![("X-Forwarded-For".into(), "203.0.113.9, 10.0.0.1".into())],
            }
        );
    }

    #[test]
    fn foreign_answers_are_blocked_and_the_helpers_own_refusals_are_named() {
        let ok = response(200, "{\"wprescue\":1,\"ok\":true,\"answers\":[]}\n");
        assert!(http_reply(&ok).is_ok());
        let page = format!(
            "<html><title>Your access to this site has been limited</title>{}",
            "x".repeat(1000)
        );
        match http_reply(&response(503, &page)) {
            Err(HelperError::Blocked {
                status: 503,
                body_excerpt,
            }) => assert_eq!(body_excerpt.chars().count(), EXCERPT_CHARS),
            other => panic!("{other:?}"),
        }
        // A 200 that is not the helper's (a cache, a plugin page) is no answer either.
        assert!(matches!(
            http_reply(&response(200, "<html>")),
            Err(HelperError::Blocked { status: 200, .. })
        ));
        for (status, body, says) in [
            (403, "wprescue helper: refused\n", "X-Wprescue-Mac"),
            (410, "wprescue helper: expired\n", "300 s"),
        ] {
            match http_reply(&response(status, body)) {
                Err(HelperError::Protocol { why }) => assert!(why.contains(says), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn hostile_answers_do_not_panic() {
        let ops = [
            Op::Tables {
                names: vec!["options".into()],
            },
            Op::Select {
                table: "options".into(),
                column: "option_name".into(),
                values: vec![b"siteurl".to_vec()],
            },
        ];
        let samples: &[&[u8]] = &[
            br#"{"wprescue":1,"ok":true,"answers":[{"tables":["options"]},{"columns":["option_id","option_value"],"rows":[["MQ==",null]]}],"seen":{"remote_addr":"127.0.0.1","headers":[["X-Real-IP","10.0.0.1"]]}}"#,
            br#"{"wprescue":1,"ok":false,"error":{"kind":"stale","op":1,"why":"changed"}}"#,
        ];
        crate::mutate::survives("helper answers", samples, |bytes| {
            let _ = decode_answers(bytes, &ops);
            let _ = decode_seen(bytes);
            let _ = find_reply(bytes);
            let _ = http_reply(&response(200, &String::from_utf8_lossy(bytes)));
        });
    }
}

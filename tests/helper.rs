//! The database helper against the real sandbox, both ways: Exec (`php` over an `ssh://`
//! connection) and Http (uploaded over FTP, called from the free address). Row operations on
//! real tables, the one-transaction promise, refusals, the Http helper's own defences, and
//! that no helper file outlives a call, whatever happened.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use wprescue::helper::{Answer, Helper, HelperError, Mode, Op, Purpose, Row};
use wprescue::http::{HttpClient, HttpOptions};
use wprescue::interrupt;
use wprescue::transport::{
    Capabilities, Entry, Exec, Meta, RemotePath, RenameMode, Result as TResult, Transport, Upload,
    WriteMode,
};

use crate::harness::{Protocol, Sandbox, contents};
use wprescue::transport::Counting;

const WP_ROOT: &str = "public_html";

/// Wordfence's block row of the locked address as `mariadb -B` prints it, binary IP in hex.
const BLOCKS: &str = "SELECT id, type, HEX(IP), blockedTime, reason, lastAttempt, blockedHits, \
                      expiration, parameters FROM wp_wfblocks7 \
                      WHERE IP = UNHEX('00000000000000000000FFFF7F000001') ORDER BY id";
const WHITELISTED: &str = "SELECT val FROM wp_wfconfig WHERE name = 'whitelisted'";

/// `127.0.0.1` as Wordfence stores it: IPv4-mapped IPv6, 16 bytes.
const LOCKED_IP_BINARY: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1];

/// The transport each mode runs over: Exec over SSH, Http over plain FTP.
fn connect(sb: &Sandbox, mode: Mode) -> Box<dyn Transport> {
    match mode {
        Mode::Exec => sb.connect(Protocol::Ssh),
        Mode::Http => sb.connect(Protocol::Ftp),
    }
}

/// HTTP as the caller from `from`.
fn http_from(from: &str) -> HttpOptions {
    HttpOptions {
        bind: Some(from.parse().expect("an address")),
        timeout: Duration::from_secs(15),
    }
}

/// The sandbox site's helper, run `mode`'s way, requests from the free address.
fn helper(sb: &Sandbox, t: &mut dyn Transport, mode: Mode) -> Helper {
    helper_from(sb, t, mode, &sb.env("SANDBOX_FREE_IP"))
}

fn helper_from(sb: &Sandbox, t: &mut dyn Transport, mode: Mode, from: &str) -> Helper {
    let helper = Helper::new(
        t,
        path(WP_ROOT),
        path(&format!("{WP_ROOT}/wp-config.php")),
        &sb.env("SANDBOX_HTTP_URL"),
        http_from(from),
    );
    assert_eq!(
        helper.mode(),
        mode,
        "the transport's capabilities choose the mode"
    );
    helper.with_mode(mode)
}

fn path(p: &str) -> RemotePath {
    RemotePath::new(p).unwrap()
}

fn row(pairs: &[(&str, Option<&[u8]>)]) -> Row {
    pairs
        .iter()
        .map(|(c, v)| (c.to_string(), v.map(<[u8]>::to_vec)))
        .collect()
}

fn value<'a>(row: &'a Row, column: &str) -> Option<&'a [u8]> {
    row.iter()
        .find(|(c, _)| c == column)
        .unwrap_or_else(|| panic!("no column {column} in {row:?}"))
        .1
        .as_deref()
}

/// Helper files (and staging copies of them) in the docroot.
fn helper_files(sb: &Sandbox) -> Vec<String> {
    std::fs::read_dir(sb.docroot())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("wprescue-"))
        .collect()
}

fn local(sb: &Sandbox, p: &RemotePath) -> PathBuf {
    PathBuf::from(sb.env("SANDBOX_HOME")).join(p.as_str())
}

/// One option row, read through the helper.
fn option(helper: &Helper, t: &mut dyn Transport, name: &str) -> Row {
    let mut rows = helper
        .select(t, "options", "option_name", &[name.as_bytes()])
        .unwrap();
    assert_eq!(rows.len(), 1, "option {name}: {rows:?}");
    rows.remove(0)
}

fn block_row(helper: &Helper, t: &mut dyn Transport) -> Row {
    let mut rows = helper
        .select(t, "wfblocks7", "IP", &[&LOCKED_IP_BINARY])
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

fn with_value(row: &Row, column: &str, new: &[u8]) -> Row {
    row.iter()
        .map(|(c, v)| {
            let v = if c == column {
                Some(new.to_vec())
            } else {
                v.clone()
            };
            (c.clone(), v)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Both modes

fn select_and_compare_and_swap_options(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    let before = option(&helper, t.as_mut(), "blogname");
    assert_eq!(
        before.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["option_id", "option_name", "option_value", "autoload"]
    );
    let title = sb.sql("SELECT option_value FROM wp_options WHERE option_name = 'blogname'");
    assert_eq!(value(&before, "option_value"), Some(title.as_bytes()));

    let answers = helper
        .call(
            t.as_mut(),
            &[Op::Update {
                table: "options".into(),
                before: before.clone(),
                after: row(&[("option_value", Some("Rescued — ok".as_bytes()))]),
            }],
        )
        .unwrap();
    assert_eq!(answers, [Answer::Done { rows: 1 }]);
    assert_eq!(
        sb.sql("SELECT option_value FROM wp_options WHERE option_name = 'blogname'"),
        "Rescued — ok"
    );
    // The same compare-and-swap again: `before` no longer matches.
    let stale = helper
        .call(
            t.as_mut(),
            &[Op::Update {
                table: "options".into(),
                before: before.clone(),
                after: row(&[("option_value", Some(b"again"))]),
            }],
        )
        .unwrap_err();
    assert!(matches!(stale, HelperError::Stale { op: 0, .. }), "{stale}");
    // Writing identical values still counts as the one matched row.
    let now = option(&helper, t.as_mut(), "blogname");
    let same = helper
        .call(
            t.as_mut(),
            &[Op::Update {
                table: "options".into(),
                before: now.clone(),
                after: now,
            }],
        )
        .unwrap();
    assert_eq!(same, [Answer::Done { rows: 1 }]);
    assert!(helper_files(&sb).is_empty());
}

fn delete_then_insert_restores_rows_identically(mode: Mode) {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    assert_eq!(
        helper
            .existing_tables(
                t.as_mut(),
                &["wfblocks7", "wfBlocks7", "wfconfig", "wfnone"]
            )
            .unwrap(),
        ["wfblocks7", "wfconfig"]
    );
    let (blocks, options) = (sb.sql(BLOCKS), sb.sql(ALL_OPTIONS));
    let block = block_row(&helper, t.as_mut());
    assert_eq!(value(&block, "IP"), Some(&LOCKED_IP_BINARY[..]));
    assert_eq!(value(&block, "parameters"), None, "NULL comes back as None");
    let description = option(&helper, t.as_mut(), "blogdescription");

    let deleted = helper
        .call(
            t.as_mut(),
            &[
                Op::Delete {
                    table: "wfblocks7".into(),
                    rows: vec![block.clone()],
                },
                Op::Delete {
                    table: "options".into(),
                    rows: vec![description.clone()],
                },
            ],
        )
        .unwrap();
    assert_eq!(
        deleted,
        [Answer::Done { rows: 1 }, Answer::Done { rows: 1 }]
    );
    assert_eq!(sb.sql(BLOCKS), "");
    assert_ne!(sb.sql(ALL_OPTIONS), options);

    let inserted = helper
        .call(
            t.as_mut(),
            &[
                Op::Insert {
                    table: "wfblocks7".into(),
                    rows: vec![block],
                },
                Op::Insert {
                    table: "options".into(),
                    rows: vec![description],
                },
            ],
        )
        .unwrap();
    assert_eq!(
        inserted,
        [Answer::Done { rows: 1 }, Answer::Done { rows: 1 }]
    );
    assert_eq!(sb.sql(BLOCKS), blocks);
    assert_eq!(sb.sql(ALL_OPTIONS), options);
}

fn a_stale_op_rolls_back_the_whole_request(mode: Mode) {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    let (blocks, whitelisted) = (sb.sql(BLOCKS), sb.sql(WHITELISTED));
    let mut rows = helper
        .select(t.as_mut(), "wfconfig", "name", &[b"whitelisted"])
        .unwrap();
    let allow = rows.remove(0);
    let block = block_row(&helper, t.as_mut());
    let outdated = with_value(&block, "blockedTime", b"1");

    let err = helper
        .call(
            t.as_mut(),
            &[
                Op::Update {
                    table: "wfconfig".into(),
                    before: allow.clone(),
                    after: row(&[("val", Some(b"127.0.0.1"))]),
                },
                Op::Delete {
                    table: "wfblocks7".into(),
                    rows: vec![outdated],
                },
            ],
        )
        .unwrap_err();
    assert!(matches!(err, HelperError::Stale { op: 1, .. }), "{err}");
    assert_eq!(sb.sql(WHITELISTED), whitelisted, "op 0 was rolled back");
    assert_eq!(sb.sql(BLOCKS), blocks);

    // Putting back a row that is still there: a duplicate key is stale too, and the delete
    // before it in the same request is undone.
    let err = helper
        .call(
            t.as_mut(),
            &[
                Op::Delete {
                    table: "wfblocks7".into(),
                    rows: vec![block.clone()],
                },
                Op::Insert {
                    table: "wfblocks7".into(),
                    rows: vec![block.clone(), block],
                },
            ],
        )
        .unwrap_err();
    assert!(matches!(err, HelperError::Stale { op: 1, .. }), "{err}");
    assert_eq!(sb.sql(BLOCKS), blocks);
    assert!(helper_files(&sb).is_empty());
}

fn unknown_names_are_refused(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    let options = sb.sql(ALL_OPTIONS);
    let select = |table: &str, column: &str| Op::Select {
        table: table.into(),
        column: column.into(),
        values: vec![b"siteurl".to_vec()],
    };
    let refused = [
        (
            select("no_such_table", "option_name"),
            "no table wp_no_such_table",
        ),
        (
            select("options", "no_such_column"),
            "no column no_such_column",
        ),
        (
            select("options\n", "option_name"),
            "not a table or column name",
        ),
        (
            select("options`; DROP TABLE wp_users; --", "x"),
            "not a table or column name",
        ),
        (
            select("options", "option_name = option_name OR 1"),
            "not a table or column name",
        ),
        (
            Op::Tables {
                names: vec!["wp users".into()],
            },
            "not a table or column name",
        ),
        (
            Op::Insert {
                table: "options".into(),
                rows: vec![row(&[("option_name", Some(b"x"))])],
            },
            "every column",
        ),
    ];
    let blogname = option(&helper, t.as_mut(), "blogname");
    for (op, says) in refused {
        // A valid change first: the refusal must undo it.
        let ops = [
            Op::Update {
                table: "options".into(),
                before: blogname.clone(),
                after: row(&[("option_value", Some(b"changed"))]),
            },
            op,
        ];
        match helper.call(t.as_mut(), &ops) {
            Err(HelperError::Refused { op: 1, why }) => assert!(why.contains(says), "{why}"),
            other => panic!("{:?}: {other:?}", ops[1]),
        }
    }
    assert_eq!(sb.sql(ALL_OPTIONS), options);
    assert_eq!(sb.sql("SELECT COUNT(*) FROM wp_users"), "1");
}

fn database_errors_name_the_server_never_the_password(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let config = sb.docroot().join("wp-config.php");
    let original = std::fs::read_to_string(&config).unwrap();
    // The sandbox's `'127.0.0.1:PORT'`, quotes included.
    let host_at = original
        .find("'DB_HOST',")
        .expect("DB_HOST in wp-config.php")
        + 10;
    let quoted = &original[host_at..];
    let start = quoted.find('\'').unwrap();
    let end = start + 1 + quoted[start + 1..].find('\'').unwrap();
    let port = quoted[start..=end].to_owned();
    assert!(port.starts_with("'127.0.0.1:"), "{port}");
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);

    std::fs::write(&config, original.replace(&port, "'127.0.0.1:9'")).unwrap();
    let err = helper
        .existing_tables(t.as_mut(), &["options"])
        .unwrap_err();
    let password = sb.env("SANDBOX_DB_PASSWORD");
    let message = format!("{err} {err:?} {:?}", err.hint());
    assert!(
        !message.contains(&password),
        "the password leaked: {message}"
    );
    match err {
        HelperError::Database {
            host, name, user, ..
        } => assert_eq!(
            (host.as_str(), name.as_str(), user.as_str()),
            ("127.0.0.1:9", "wpsite", "wpsite")
        ),
        other => panic!("{other:?}"),
    }

    // DB_HOST naming a socket, as many hosts write it.
    let socket = format!("'localhost:{}'", sb.env("SANDBOX_DB_SOCKET"));
    std::fs::write(&config, original.replace(&port, &socket)).unwrap();
    assert_eq!(
        helper.existing_tables(t.as_mut(), &["options"]).unwrap(),
        ["options"]
    );

    std::fs::write(&config, original.replace("DB_USER", "DB_USERNAME")).unwrap();
    let err = helper
        .existing_tables(t.as_mut(), &["options"])
        .unwrap_err();
    assert!(
        matches!(&err, HelperError::Config { why, .. } if why.contains("DB_USER")),
        "{err:?}"
    );
    std::fs::write(&config, original).unwrap();
    assert!(helper_files(&sb).is_empty());
}

fn whoami_sees_the_callers_address(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = connect(&sb, mode);
    let free = sb.env("SANDBOX_FREE_IP");
    let seen = helper(&sb, t.as_mut(), mode).whoami(t.as_mut()).unwrap();
    assert_eq!(seen.remote_addr, free);
    assert!(seen.headers.is_empty(), "{seen:?}");
    assert!(helper_files(&sb).is_empty());
}

/// Raises the interrupt flag when the helper starts its work: on the upload (Http) or on
/// running `php` (Exec).
#[derive(Debug)]
struct InterruptOnWork<'a>(&'a mut dyn Transport);

impl Transport for InterruptOnWork<'_> {
    fn origin(&self) -> &str {
        self.0.origin()
    }
    fn root(&self) -> &str {
        self.0.root()
    }
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn list(&mut self, dir: &RemotePath) -> TResult<Vec<Entry>> {
        self.0.list(dir)
    }
    fn stat(&mut self, path: &RemotePath) -> TResult<Option<Meta>> {
        self.0.stat(path)
    }
    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> TResult<u64> {
        self.0.read(path, sink)
    }
    fn write(&mut self, path: &RemotePath, data: Upload<'_>, mode: WriteMode) -> TResult<()> {
        interrupt::request();
        self.0.write(path, data, mode)
    }
    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> TResult<()> {
        self.0.rename(from, to, mode)
    }
    fn mkdir(&mut self, path: &RemotePath) -> TResult<()> {
        self.0.mkdir(path)
    }
    fn remove(&mut self, path: &RemotePath) -> TResult<()> {
        self.0.remove(path)
    }
    fn as_exec(&mut self) -> Option<&mut dyn Exec> {
        interrupt::request();
        self.0.as_exec()
    }
}

/// Lowers the process-wide flag again, even when the test fails.
struct ClearInterrupt;

impl Drop for ClearInterrupt {
    fn drop(&mut self) {
        interrupt::clear();
    }
}

fn ctrl_c_finishes_the_request_then_stops(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    let blogname = option(&helper, t.as_mut(), "blogname");
    let before = sb.sql(ALL_OPTIONS);
    let _clear = ClearInterrupt;
    let update = Op::Update {
        table: "options".into(),
        before: blogname,
        after: row(&[("option_value", Some(b"interrupted"))]),
    };
    let err = helper
        .call(
            &mut InterruptOnWork(t.as_mut()),
            std::slice::from_ref(&update),
        )
        .unwrap_err();
    assert!(matches!(err, HelperError::Interrupted), "{err}");
    assert!(helper_files(&sb).is_empty());
    let blogname = sb.sql("SELECT option_value FROM wp_options WHERE option_name = 'blogname'");
    match mode {
        // `php` was already running: its request was finished, not cut in half.
        Mode::Exec => assert_eq!(blogname, "interrupted"),
        // Ctrl-C came during the upload: the request was never sent.
        Mode::Http => {
            assert_eq!(sb.sql(ALL_OPTIONS), before)
        }
    }
    // Once interrupted, a run makes no further calls.
    let err = helper.call(t.as_mut(), &[update]).unwrap_err();
    assert!(matches!(err, HelperError::Interrupted), "{err}");
}

/// Prints the wall time of one three-op call and asserts the file operations it costs.
fn cost_of_one_call(mode: Mode) {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = connect(&sb, mode);
    let helper = helper(&sb, t.as_mut(), mode);
    let blogname = option(&helper, t.as_mut(), "blogname");
    let ops = [
        Op::Tables {
            names: vec!["options".into(), "wfblocks7".into()],
        },
        Op::Select {
            table: "options".into(),
            column: "option_name".into(),
            values: vec![b"siteurl".to_vec(), b"home".to_vec()],
        },
        Op::Update {
            table: "options".into(),
            before: blogname.clone(),
            after: blogname,
        },
    ];
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        helper.call(t.as_mut(), &ops).unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    let mut counting = Counting::new(t.as_mut());
    let answers = helper.call(&mut counting, &ops).unwrap();
    assert_eq!(answers.len(), 3);
    let (reads, mutations, execs) = (counting.reads(), counting.mutations(), counting.execs());
    eprintln!(
        "helper {mode:?}: one call with 3 ops took {:?} (median of 5); \
         {reads} reads, {mutations} mutations, {execs} commands",
        times[2]
    );
    match mode {
        Mode::Exec => assert_eq!((reads, mutations, execs), (0, 0, 1)),
        // The folder and its three files, then the same four removed by name.
        Mode::Http => assert_eq!((reads, mutations, execs), (0, 8, 0)),
    }

    // A kept helper is uploaded once for any number of calls, and removed when done.
    let kept = helper.kept();
    let mut counting = Counting::new(t.as_mut());
    for _ in 0..3 {
        kept.call(&mut counting, &ops).unwrap();
    }
    let uploads = match mode {
        Mode::Exec => 0,
        Mode::Http => 4,
    };
    assert_eq!(counting.mutations(), uploads, "{mode:?}: three calls");
    assert_eq!(helper_files(&sb).len(), uploads.min(1));
    kept.finish(&mut counting).unwrap();
    assert_eq!(counting.mutations(), 2 * uploads, "{mode:?}: removed");
    assert!(helper_files(&sb).is_empty());
}

macro_rules! both_modes {
    ($($test:ident),* $(,)?) => {
        mod exec {
            use super::*;
            $(#[test] fn $test() { super::$test(Mode::Exec) })*
        }
        mod http {
            use super::*;
            $(#[test] fn $test() { super::$test(Mode::Http) })*
        }
    };
}

both_modes!(
    select_and_compare_and_swap_options,
    delete_then_insert_restores_rows_identically,
    a_stale_op_rolls_back_the_whole_request,
    unknown_names_are_refused,
    database_errors_name_the_server_never_the_password,
    whoami_sees_the_callers_address,
    ctrl_c_finishes_the_request_then_stops,
    cost_of_one_call,
);

// ---------------------------------------------------------------------------------------------
// Exec mode only

#[test]
fn exec_mode_writes_nothing_under_the_docroot() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let mut t = sb.connect(Protocol::Ssh);
    let helper = helper(&sb, t.as_mut(), Mode::Exec);
    let before = contents(&sb.docroot());
    let block = block_row(&helper, t.as_mut());
    helper
        .call(
            t.as_mut(),
            &[Op::Delete {
                table: "wfblocks7".into(),
                rows: vec![block],
            }],
        )
        .unwrap();
    assert_eq!(sb.sql(BLOCKS), "");
    assert!(
        contents(&sb.docroot()) == before,
        "Exec mode changed the docroot"
    );
}

// ---------------------------------------------------------------------------------------------
// Http mode only

#[test]
fn http_helper_is_gone_after_success_failure_and_a_block() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let mut t = sb.connect(Protocol::Ftp);
    let helper = helper(&sb, t.as_mut(), Mode::Http);
    let block = block_row(&helper, t.as_mut());
    assert!(helper_files(&sb).is_empty(), "after a success");

    let outdated = with_value(&block, "reason", b"someone else's");
    let err = helper
        .call(
            t.as_mut(),
            &[Op::Delete {
                table: "wfblocks7".into(),
                rows: vec![outdated],
            }],
        )
        .unwrap_err();
    assert!(matches!(err, HelperError::Stale { .. }), "{err}");
    assert!(helper_files(&sb).is_empty(), "after a failed op");

    // From the address Wordfence's firewall blocks, the helper still runs: its folder switches
    // the prepended firewall off for itself alone, and the rest of the site stays blocked.
    let locked = helper_from(&sb, t.as_mut(), Mode::Http, &sb.env("SANDBOX_LOCKED_IP"));
    let tables = locked.existing_tables(t.as_mut(), &["wfblocks7"]).unwrap();
    assert_eq!(tables, ["wfblocks7"]);
    assert_eq!(
        locked.whoami(t.as_mut()).unwrap().remote_addr,
        sb.env("SANDBOX_LOCKED_IP")
    );
    assert_eq!(
        sb.get_locked("/").status,
        503,
        "the firewall still blocks the site"
    );
    assert!(
        helper_files(&sb).is_empty(),
        "after the firewall was stepped around"
    );
    assert_eq!(sb.sql(BLOCKS).lines().count(), 1);

    // A server password covers the helper's folder too: Apache answers before PHP runs.
    sb.scenario("htaccess-basic-auth");
    let err = locked
        .existing_tables(t.as_mut(), &["wfblocks7"])
        .unwrap_err();
    match &err {
        HelperError::Blocked { status: 401, .. } => {}
        other => panic!("{other:?}"),
    }
    assert!(err.hint().unwrap().contains("ssh://"));
    assert!(helper_files(&sb).is_empty(), "after a blocked request");
}

/// Every option row, as `mariadb -B` prints them.
const ALL_OPTIONS: &str = "SELECT * FROM wp_options ORDER BY option_id";

/// A reset sandbox, reached over FTP with an Http-mode helper, and a request body that
/// would change the database if a helper ran it.
fn attack(sb: &Sandbox) -> (Box<dyn Transport>, Helper, Vec<u8>) {
    sb.reset();
    let mut t = sb.connect(Protocol::Ftp);
    let helper = helper(sb, t.as_mut(), Mode::Http);
    let body = harmful_request(&helper, t.as_mut());
    (t, helper, body)
}

/// A body that would change the database if the helper ran it.
fn harmful_request(helper: &Helper, t: &mut dyn Transport) -> Vec<u8> {
    let blogname = option(helper, t, "blogname");
    let before: Vec<_> = blogname
        .iter()
        .map(|(c, v)| {
            use base64::Engine;
            let v = v
                .as_ref()
                .map(|v| base64::engine::general_purpose::STANDARD.encode(v));
            serde_json::json!([c, v])
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"v": 1, "ops": [{
        "op": "update", "table": "options", "before": before,
        "after": [["option_value", "aGFja2Vk"]],
    }]}))
    .unwrap()
}

#[test]
fn http_helper_refuses_unsigned_requests_and_takes_itself_down() {
    let sb = Sandbox::lock();
    let (mut t, helper, body) = attack(&sb);
    let options = sb.sql(ALL_OPTIONS);
    let client = HttpClient::new(&http_from(&sb.env("SANDBOX_FREE_IP")));
    let wrong = "0".repeat(64);
    let attempts: [(&str, &[(&str, &str)]); 4] = [
        ("POST unsigned", &[]),
        (
            "POST with a wrong signature",
            &[("X-Wprescue-Seq", "1"), ("X-Wprescue-Mac", &wrong)],
        ),
        (
            "POST with a bad sequence number",
            &[("X-Wprescue-Seq", "-1"), ("X-Wprescue-Mac", &wrong)],
        ),
        ("GET", &[]),
    ];
    for (what, headers) in attempts {
        let uploaded = helper.upload(t.as_mut(), Purpose::Ops).unwrap();
        assert!(local(&sb, uploaded.path()).exists());
        let response = if what == "GET" {
            client.get(uploaded.url())
        } else {
            client.post_json(uploaded.url(), headers, &body)
        }
        .unwrap();
        assert_eq!(response.status, 403, "{what}: {response:?}");
        assert_eq!(response.body, "wprescue helper: refused\n", "{what}");
        assert_eq!(response.header("cache-control"), Some("no-store"));
        // A refused request takes the helper out of service for good.
        assert!(!local(&sb, uploaded.path()).exists(), "{what}");
        uploaded.remove(t.as_mut()).unwrap();
    }
    assert_eq!(sb.sql(ALL_OPTIONS), options);
}

#[test]
fn http_helper_refuses_once_expired_and_deletes_itself() {
    let sb = Sandbox::lock();
    let (mut t, helper, body) = attack(&sb);
    let options = sb.sql(ALL_OPTIONS);
    let uploaded = helper.upload(t.as_mut(), Purpose::Ops).unwrap();
    // Uploaded six minutes ago, as the server's clock sees it: past its 300 s.
    let file = std::fs::File::options()
        .write(true)
        .open(local(&sb, uploaded.path()))
        .unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(360))
        .unwrap();
    let response = uploaded.post(&body).unwrap();
    assert_eq!(response.status, 410, "{response:?}");
    assert_eq!(response.body, "wprescue helper: expired\n");
    assert!(!local(&sb, uploaded.path()).exists());
    assert_eq!(sb.sql(ALL_OPTIONS), options);
    uploaded.remove(t.as_mut()).unwrap();

    // Just uploaded, the same request, signed, is answered; the helper stays for the next
    // one until wprescue removes it.
    let uploaded = helper.upload(t.as_mut(), Purpose::Ops).unwrap();
    let response = uploaded.post(&body).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    let file = local(&sb, uploaded.path());
    assert!(file.exists());
    uploaded.remove(t.as_mut()).unwrap();
    assert!(!file.exists());
    assert_eq!(
        sb.sql("SELECT option_value FROM wp_options WHERE option_name = 'blogname'"),
        "hacked"
    );
}

#[test]
fn sweep_removes_what_a_killed_run_left() {
    let sb = Sandbox::lock();
    sb.reset();
    let mut t = sb.connect(Protocol::Ftp);
    let helper = helper(&sb, t.as_mut(), Mode::Http);
    // Killed between upload and request: nothing deleted these.
    let left = [
        helper.upload(t.as_mut(), Purpose::Ops).unwrap(),
        helper.upload(t.as_mut(), Purpose::Whoami).unwrap(),
    ];
    let docroot = sb.docroot();
    // A connection that died mid-upload leaves a staging copy, possibly empty.
    let staging = ".ht.wprescue-0123456789abcdef.wprescue-00112233445566778899aabbccddeeff.php";
    std::fs::write(docroot.join(staging), b"").unwrap();
    // Somebody else's file that merely looks like ours stays.
    let lookalike = "wprescue-ffeeddccbbaa99887766554433221100.php";
    std::fs::write(docroot.join(lookalike), b"<?php echo 'mine';").unwrap();
    assert_eq!(helper_files(&sb).len(), 4);

    let removed = Helper::sweep(t.as_mut(), &path(WP_ROOT)).unwrap();
    assert_eq!(removed, 3);
    assert_eq!(helper_files(&sb), [lookalike]);
    for uploaded in left {
        assert!(!local(&sb, uploaded.path()).exists());
    }
    assert_eq!(Helper::sweep(t.as_mut(), &path(WP_ROOT)).unwrap(), 0);
    std::fs::remove_file(docroot.join(lookalike)).unwrap();
}

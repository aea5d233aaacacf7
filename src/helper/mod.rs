//! Reading and changing a few database values on the server, for recoveries that keep a
//! security plugin running and tell it to trust the admin (an allow-list entry, a cleared
//! lockout) instead of switching it off.
//!
//! # Brief overview
//!
//! A small PHP script (`helper.php`, embedded in the binary) does a closed set of row
//! operations ([`Op`]) in one transaction: no SQL travels, nothing is evaluated. It reads the
//! database credentials from `wp-config.php` itself, on the server, so they never cross the
//! wire, and it does not load WordPress (that would run the very plugins that lock the admin
//! out). Tables are named without the WordPress prefix; the helper adds `$table_prefix`. A
//! name written `!name` is the table's whole name, for the few plugins that create theirs
//! without the prefix (WP Cerber's `cerber_blocks`); past the `!` it is held to the same plain
//! identifier as any other name.
//!
//! [`Helper`] reaches it one of two ways ([`Mode`]):
//! - **Exec** (SSH that can run commands): `php` runs the script from stdin, with the request
//!   embedded in its text; a [kept](Helper::kept) helper is one `php` process answering a
//!   request per line, its script in a private temporary file outside the web root. Nothing
//!   lands in argv.
//! - **Http** (FTP, or SFTP without a shell): the script is uploaded into a folder of its own,
//!   `wprescue-<32 hex>/` in the WordPress root (not under `wp-content`, where some plugins
//!   forbid `.php`), whose `.htaccess` and `.user.ini` switch off `auto_prepend_file` for that
//!   folder alone, so a firewall loaded before every PHP request (Wordfence, AIOS) does not
//!   block the helper that is there to let the caller in. Each request and each answer is
//!   signed with a 256-bit key written into the script (HMAC-SHA256 over a sequence number
//!   and the body; the key itself never travels over HTTP). The script refuses anything
//!   unsigned and runs for five minutes by the server's clock (its file's mtime); a refused
//!   request makes it delete itself. A plain helper is uploaded, called once and deleted in
//!   [`Helper::call`]; one made with [`Helper::kept`] stays for the calls of one phase of
//!   work (over FTP an upload costs some twenty round trips, a call two), until
//!   [`Helper::finish`]. [`Helper::sweep`] removes what a killed run left.
//!
//! [`Helper::whoami`] asks, always over HTTP, which address the web server sees for this
//! machine and which proxy headers came with it: a kept Http helper answers it with every
//! call; otherwise a one-shot helper is uploaded for it.

pub mod db;
mod script;
mod wire;

use crate::fault;
use crate::http::{HttpClient, HttpError, HttpOptions, Response};
use crate::interrupt;
use crate::transport::{self, ErrorKind, RemotePath, Transport, TransportExt};

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use script::{Direction, Key, Role};

/// One row: (column, value) in the table's column order; `None` is SQL NULL. Values are bytes:
/// some columns are binary (Wordfence's `wfblocks7.IP` is `binary(16)`).
pub type Row = Vec<(String, Option<Vec<u8>>)>;

/// The closed set of operations. All operations of one [`Helper::call`] run in one
/// transaction: if any fails, nothing is changed (on transactional tables: InnoDB, which
/// WordPress uses; a MyISAM table cannot take back a change made before the failure), and the
/// error names the operation's index and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Which of these tables exist (names without prefix, exact case: Wordfence has both
    /// `wfblocks7` and `wfBlocks7` spellings). Answers [`Answer::Tables`].
    Tables {
        /// Table names to look for.
        names: Vec<String>,
    },
    /// Rows whose `column` equals one of `values`, all columns, in the table's column order.
    /// Answers [`Answer::Rows`].
    Select {
        /// Table, without prefix.
        table: String,
        /// Column to match.
        column: String,
        /// Values it may have.
        values: Vec<Vec<u8>>,
    },
    /// Compare-and-swap of one row: the row equal to `before` on each of its columns
    /// (NULL-safe) gets the values of `after`. Exactly one row must match, else
    /// [`HelperError::Stale`]; writing identical values still counts as a match. Answers
    /// [`Answer::Done`].
    Update {
        /// Table, without prefix.
        table: String,
        /// The row as it was read (usually every column).
        before: Row,
        /// The columns to change, with their new values.
        after: Row,
    },
    /// Deletes each row (matched on each of its columns, one row per entry); each must exist,
    /// else [`HelperError::Stale`]. Answers [`Answer::Done`].
    Delete {
        /// Table, without prefix.
        table: String,
        /// The rows as they were read.
        rows: Vec<Row>,
    },
    /// Inserts these rows exactly: every column given, primary keys included, so a deleted
    /// row comes back identical. A duplicate key is [`HelperError::Stale`]. Answers
    /// [`Answer::Done`].
    Insert {
        /// Table, without prefix.
        table: String,
        /// Complete rows.
        rows: Vec<Row>,
    },
}

/// The answer to one [`Op`], in the same position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// To [`Op::Tables`]: the names that exist.
    Tables(Vec<String>),
    /// To [`Op::Select`]: the matching rows.
    Rows(Vec<Row>),
    /// To a change: how many rows it changed.
    Done {
        /// Rows updated, deleted or inserted.
        rows: usize,
    },
}

/// What the web server saw of a request from this machine ([`Helper::whoami`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `REMOTE_ADDR`: the address the connection came from.
    pub remote_addr: String,
    /// The proxy headers that came with it, as present: `X-Forwarded-For`, `X-Real-IP`,
    /// `CF-Connecting-IP`, `Client-IP`, `X-Cluster-Client-IP`, `Forwarded`, `X-Forwarded`.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::header_value(&self.headers, name)
    }
}

/// How the helper is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `php` over SSH, script on stdin: nothing is written to the server.
    Exec,
    /// Uploaded to the WordPress root, POSTed to once, deleted.
    Http,
}

/// What an uploaded helper is for ([`Helper::upload`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Row operations, as [`Helper::call`] sends them.
    Ops,
    /// Only what the web server saw of the caller; touches no database.
    Whoami,
}

/// Why the helper could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    /// Uploading, running or deleting the helper failed.
    #[error(transparent)]
    Transport(#[from] transport::Error),
    /// The request to the uploaded helper did not go through.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The data changed since it was read; nothing was changed.
    #[error("operation {op} found the database changed since it was read: {why}")]
    Stale {
        /// Index of the operation, from 0.
        op: usize,
        /// What did not match.
        why: String,
    },
    /// The helper refused an operation (unknown table or column, bad name, a value the
    /// database rejects); nothing was changed.
    #[error("the helper refused operation {op}: {why}")]
    Refused {
        /// Index of the operation, from 0.
        op: usize,
        /// Why.
        why: String,
    },
    /// The answer is not the helper's: something ran before it (a firewall's 503/403 page,
    /// a server rule, a missing file behind a wrong URL).
    #[error("the site answered {status} instead of the helper: {body_excerpt}")]
    Blocked {
        /// HTTP status of the answer.
        status: u16,
        /// Its first characters.
        body_excerpt: String,
    },
    /// Exec mode: the server has no `php` command.
    #[error("no `php` command on {origin}")]
    NoPhp {
        /// The target, for the message.
        origin: String,
    },
    /// wp-config.php could not be read or does not give the database settings plainly.
    #[error("the helper could not read the database settings: {why}")]
    Config {
        /// wp-config.php as the server spells it.
        path: String,
        /// Why.
        why: String,
    },
    /// The helper could not connect to the database. Never holds the password.
    #[error("cannot connect to database {name} on {host} as {user}: {why}")]
    Database {
        /// `DB_HOST`.
        host: String,
        /// `DB_NAME`.
        name: String,
        /// `DB_USER`.
        user: String,
        /// The database's words.
        why: String,
    },
    /// Ctrl-C: the current request was finished (it may have changed the database) and the
    /// helper file deleted, then the call stopped.
    #[error("interrupted")]
    Interrupted,
    /// The operating system gave no random bytes for the helper's name and key.
    #[error("no random numbers from the operating system: {0}")]
    NoRandom(getrandom::Error),
    /// The helper's answer made no sense, or it failed in an unexpected way.
    #[error("the helper's answer is unusable: {why}")]
    Protocol {
        /// What was wrong.
        why: String,
    },
}

impl HelperError {
    /// Whether the account runs no commands at all (SFTP only): the helper must go over HTTP.
    fn no_commands(&self) -> bool {
        matches!(self, HelperError::Transport(e)
            if e.op() == transport::Op::Exec && matches!(e.kind(), ErrorKind::Unsupported { .. }))
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            HelperError::Transport(e) => e.hint().map(str::to_owned),
            HelperError::Http(_) => Some(
                "check the site URL (--url) and that this machine reaches the site over HTTP"
                    .into(),
            ),
            HelperError::Stale { .. } => Some(
                "something (often the plugin itself) changed these values meanwhile: run the \
                 command again to read them afresh"
                    .into(),
            ),
            HelperError::Blocked { status: 404, .. } => Some(
                "the site URL does not serve the WordPress root: give the address of the \
                 folder holding wp-config.php or wp-load.php with --url"
                    .into(),
            ),
            HelperError::Blocked {
                status: 301 | 302 | 303 | 307 | 308,
                ..
            } => Some(
                "the site redirects (to https:// or another host name): give the address it \
                 redirects to with --url"
                    .into(),
            ),
            HelperError::Blocked { .. } => Some(
                "a firewall or server rule answers before PHP runs the helper: open the way \
                 first, or use an ssh:// target, where the helper runs without the web server"
                    .into(),
            ),
            HelperError::NoPhp { .. } => Some(
                "run the helper through the web server instead: --helper http (or an ftp:// \
                 or sftp:// target)"
                    .into(),
            ),
            HelperError::Config { path, .. } => Some(format!(
                "check that {path} defines DB_NAME, DB_USER, DB_PASSWORD and DB_HOST with \
                 plain quoted strings, and sets $table_prefix"
            )),
            HelperError::Database { .. } => Some(
                "the helper connects from the server with wp-config.php's settings, as \
                 WordPress does: check DB_HOST, DB_USER and DB_NAME there"
                    .into(),
            ),
            HelperError::Refused { .. }
            | HelperError::Interrupted
            | HelperError::NoRandom(_)
            | HelperError::Protocol { .. } => None,
        }
    }
}

/// How to reach the helper for one site.
#[derive(Debug)]
pub struct Helper {
    wp_root: RemotePath,
    /// wp-config.php relative to the transport root: where `php` runs in Exec mode.
    config_from_root: String,
    /// wp-config.php, relative to the transport root.
    wp_config: RemotePath,
    site_url: String,
    http: HttpOptions,
    /// Exec turns into Http when the account turns out to run no commands (SFTP only).
    mode: Cell<Mode>,
    origin: String,
    /// Whether an uploaded helper stays for the next call ([`Helper::kept`]).
    keep: bool,
    /// The helper uploaded and kept, if any.
    kept: RefCell<Option<Uploaded>>,
    /// Exec mode, kept: the `php` process answering every call, if one runs.
    serving: RefCell<Serving>,
}

/// Whether a kept Exec-mode helper runs as one process for all calls.
enum Serving {
    /// Not tried yet.
    NotYet,
    /// Running.
    Running(Box<dyn transport::Conversation>),
    /// The server cannot keep it running: one `php` per call.
    Unavailable,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Serving::NotYet => "NotYet",
            Serving::Running(_) => "Running",
            Serving::Unavailable => "Unavailable",
        })
    }
}

/// Starts a kept Exec-mode helper: reads the script's length and the script from stdin, puts
/// it in a private temporary file (never under the web root, removed when `php` exits) and
/// runs it, which leaves stdin for the requests. Nothing secret is in this command line.
const SERVE: &str = "php -r '$n = (int) fgets(STDIN); $s = \"\"; \
    while (strlen($s) < $n && !feof(STDIN)) { $s .= fread(STDIN, $n - strlen($s)); } \
    $f = tempnam(sys_get_temp_dir(), \"wprescue-\"); file_put_contents($f, $s); \
    register_shutdown_function(function () use ($f) { @unlink($f); }); include $f;'";

/// The command that writes an uploaded helper's files in Exec mode: a fresh folder (refused
/// if anything is there) and the files named on stdin, as JSON with base64 contents.
const WRITE_FILES: &str = "php -r '$r = json_decode(stream_get_contents(STDIN), true); \
    umask(022); \
    if (!is_array($r) || !@mkdir($r[\"dir\"], 0755)) { fwrite(STDERR, \"cannot make the folder\"); exit(3); } \
    foreach ($r[\"files\"] as $f) { \
        if (file_put_contents($r[\"dir\"] . \"/\" . $f[0], base64_decode($f[1])) === false) { \
            fwrite(STDERR, \"cannot write \" . $f[0]); exit(4); } } \
    echo \"wprescue-written\";'";

/// How long wprescue goes on using a kept helper: well within its lifetime on the server, so
/// a slow request or clocks that run apart do not meet an expired helper.
const KEEP_FOR: Duration = Duration::from_secs(script::TTL_SECS / 2);

impl Helper {
    /// The helper for the WordPress site at `wp_root` (relative to the transport root, e.g.
    /// `public_html`), whose settings are in `wp_config` (relative to the transport root too;
    /// it may sit one level above `wp_root`), served at `site_url` (which must serve
    /// `wp_root`). `http` says how requests are made *as the caller* (e.g. `--bind`). Exec
    /// mode when `t` can run commands, else Http.
    pub fn new(
        t: &mut dyn Transport,
        wp_root: RemotePath,
        wp_config: RemotePath,
        site_url: &str,
        http: HttpOptions,
    ) -> Helper {
        Helper {
            config_from_root: wp_config.as_str().to_owned(),
            wp_config,
            wp_root,
            site_url: site_url.trim_end_matches('/').to_owned(),
            http,
            mode: Cell::new(if t.capabilities().exec {
                Mode::Exec
            } else {
                Mode::Http
            }),
            origin: t.origin().to_owned(),
            keep: false,
            kept: RefCell::new(None),
            serving: RefCell::new(Serving::NotYet),
        }
    }

    /// The same helper, kept uploaded between calls (Http mode) until [`Helper::finish`], or
    /// for at most a few minutes. The owner must call `finish` before anything that may
    /// wait on a person, and on every way out.
    pub fn kept(self) -> Helper {
        Helper { keep: true, ..self }
    }

    /// Removes the kept helper, if one is uploaded, and ends a kept `php` process.
    pub fn finish(&self, t: &mut dyn Transport) -> Result<(), HelperError> {
        let mut serving = self.serving.borrow_mut();
        if let Serving::Running(_) = *serving {
            *serving = Serving::NotYet;
        }
        match self.kept.borrow_mut().take() {
            Some(uploaded) => uploaded.remove(t),
            None => Ok(()),
        }
    }

    /// The same helper, run the given way (`--helper http` forces Http even over SSH).
    pub fn with_mode(self, mode: Mode) -> Helper {
        self.mode.set(mode);
        self
    }

    /// How [`Helper::call`] runs the helper.
    pub fn mode(&self) -> Mode {
        self.mode.get()
    }

    /// Runs `ops` in one transaction and returns one answer per op. One request: one `php`
    /// process in Exec mode; one POST in Http mode, with an upload before it and a delete after
    /// it unless the helper is [kept](Helper::kept). After Ctrl-C
    /// ([`interrupt`]) the current request is finished and the file deleted, then
    /// [`HelperError::Interrupted`] is returned.
    pub fn call(&self, t: &mut dyn Transport, ops: &[Op]) -> Result<Vec<Answer>, HelperError> {
        if interrupt::requested() {
            return Err(HelperError::Interrupted);
        }
        let request = wire::encode_request(ops);
        tracing::debug!(mode = ?self.mode.get(), ops = ops.len(), "helper call");
        let answers = match self.mode.get() {
            Mode::Exec => match self.run_php(t, &request) {
                // An SFTP-only account: the same request over HTTP, and every one after it.
                Err(e) if e.no_commands() => {
                    tracing::info!("the account runs no commands: the helper goes over HTTP");
                    self.mode.set(Mode::Http);
                    return self.call(t, ops);
                }
                reply => reply.and_then(|reply| wire::decode_answers(&reply, ops)),
            },
            Mode::Http if self.keep => self
                .exchange_kept(t, &request)
                .and_then(|response| wire::decode_answers(wire::http_reply(&response)?, ops)),
            Mode::Http => self
                .exchange(t, Purpose::Ops, &request)
                .and_then(|response| wire::decode_answers(wire::http_reply(&response)?, ops)),
        };
        if interrupt::requested() {
            return Err(HelperError::Interrupted);
        }
        answers
    }

    /// Which of `names` exist as tables (without prefix, exact case).
    pub fn existing_tables(
        &self,
        t: &mut dyn Transport,
        names: &[&str],
    ) -> Result<Vec<String>, HelperError> {
        let op = Op::Tables {
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        match self.call_one(t, op)? {
            Answer::Tables(tables) => Ok(tables),
            _ => unreachable!("decode_answers pairs each op with an answer of its kind"),
        }
    }

    /// The rows of `table` whose `column` equals one of `values`.
    pub fn select(
        &self,
        t: &mut dyn Transport,
        table: &str,
        column: &str,
        values: &[&[u8]],
    ) -> Result<Vec<Row>, HelperError> {
        let op = Op::Select {
            table: table.to_owned(),
            column: column.to_owned(),
            values: values.iter().map(|v| v.to_vec()).collect(),
        };
        match self.call_one(t, op)? {
            Answer::Rows(rows) => Ok(rows),
            _ => unreachable!("decode_answers pairs each op with an answer of its kind"),
        }
    }

    fn call_one(&self, t: &mut dyn Transport, op: Op) -> Result<Answer, HelperError> {
        let mut answers = self.call(t, &[op])?;
        Ok(answers
            .pop()
            .expect("decode_answers gives one answer per op"))
    }

    /// Asks the web server, as the caller, which address it sees. Always over HTTP, in both
    /// modes: a kept Http helper answers it among its calls; otherwise a one-shot helper that
    /// touches no database is uploaded, POSTed to and deleted.
    pub fn whoami(&self, t: &mut dyn Transport) -> Result<Seen, HelperError> {
        self.whoami_beside(t, |_| ()).0
    }

    /// [`Helper::whoami`], and `beside` run on `t` meanwhile: while a one-shot helper's
    /// answer is on its way, `t` is free (a kept helper's request comes first, then `beside`).
    pub fn whoami_beside<R: Send>(
        &self,
        t: &mut dyn Transport,
        beside: impl FnOnce(&mut dyn Transport) -> R,
    ) -> (Result<Seen, HelperError>, R) {
        let (response, besides) = match (self.mode.get(), self.keep) {
            (Mode::Http, true) => {
                let response = self.exchange_kept(t, &wire::encode_request(&[]));
                (response, beside(t))
            }
            _ => self.exchange_beside(t, Purpose::Whoami, b"{}", beside),
        };
        let seen = response.and_then(|r| wire::decode_seen(wire::http_reply(&r)?));
        (seen, besides)
    }

    /// Removes helper files a killed run left in `wp_root`: names `wprescue-<32 hex>.php` (or
    /// the staging name of one) whose first bytes carry the helper's signature. Returns how
    /// many. One listing, plus one read and one delete per leftover.
    pub fn sweep(t: &mut dyn Transport, wp_root: &RemotePath) -> Result<usize, HelperError> {
        let mut removed = 0;
        for entry in t.list(wp_root)? {
            let path = join(wp_root, &entry.name);
            let left = match entry.meta.kind {
                transport::Kind::Dir if script::is_helper_folder_name(&entry.name) => {
                    remove_helper_folder(t, &path)?
                }
                transport::Kind::File if script::is_helper_name(&entry.name) => {
                    remove_helper_file(t, &path)?
                }
                _ => false,
            };
            removed += usize::from(left);
        }
        Ok(removed)
    }

    /// Uploads a helper for `purpose` to the WordPress root, ready for one POST. [`Helper::call`]
    /// and [`Helper::whoami`] do upload, POST and delete in one go; this step alone is for
    /// checking the helper's own defences.
    pub fn upload(&self, t: &mut dyn Transport, purpose: Purpose) -> Result<Uploaded, HelperError> {
        let key = Key::new().map_err(HelperError::NoRandom)?;
        let (folder_name, name) = script::folder_and_file_names().map_err(HelperError::NoRandom)?;
        let role = match purpose {
            Purpose::Ops => Role::Http { key: key.hex() },
            Purpose::Whoami => Role::Whoami { key: key.hex() },
        };
        let folder = join(&self.wp_root, &folder_name);
        let text = script::render(role, &script::relative(&folder, &self.wp_config));
        let files: Vec<(&str, &[u8])> = script::FOLDER_FILES
            .iter()
            .map(|(name, text)| (*name, text.as_bytes()))
            .chain([(name.as_str(), text.as_bytes())])
            .collect();
        let uploaded = Uploaded {
            url: format!("{}/{folder_name}/{name}", self.site_url),
            path: join(&folder, &name),
            folder,
            key,
            seq: std::cell::Cell::new(0),
            client: HttpClient::to_helper(&self.http),
            uploaded_at: Instant::now(),
            self_deleting: purpose == Purpose::Whoami,
        };
        if self.mode.get() == Mode::Exec && self.write_with_php(t, &uploaded.folder, &files)? {
            return Ok(uploaded);
        }
        t.mkdir(&uploaded.folder)?;
        // The folder is new, under a random name: the files are written in place, as
        // `write_with_php` does.
        let files: Vec<(RemotePath, &[u8])> = files
            .into_iter()
            .map(|(name, text)| (join(&uploaded.folder, name), text))
            .collect();
        if let Err(e) = t.write_new_files(&files) {
            // A write that failed on its last step may have landed all the same.
            let _ = remove_helper_folder(t, &uploaded.folder);
            return Err(e.into());
        }
        Ok(uploaded)
    }

    /// Exec mode: makes `folder` and writes `files` into it with one `php` command, where file
    /// by file over SFTP costs some twenty round trips. The folder is new, under a random
    /// name, so the files are written in place. `false` when the server has no `php` (then
    /// nothing was made).
    fn write_with_php(
        &self,
        t: &mut dyn Transport,
        folder: &RemotePath,
        files: &[(&str, &[u8])],
    ) -> Result<bool, HelperError> {
        use base64::Engine;
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let files: Vec<_> = files
            .iter()
            .map(|(name, text)| serde_json::json!([name, encode(text)]))
            .collect();
        let request = serde_json::json!({ "dir": folder.as_str(), "files": files });
        let Some(exec) = t.as_exec_leaving_files() else {
            return Ok(false);
        };
        // The key is in the files, so they travel on stdin, never in the command line.
        let out = exec.exec_with_input(WRITE_FILES, request.to_string().as_bytes())?;
        match out.status {
            Some(0) if out.stdout.starts_with(b"wprescue-written") => Ok(true),
            Some(127) => Ok(false),
            status => {
                let _ = remove_helper_folder(t, folder);
                Err(HelperError::Protocol {
                    why: format!(
                        "php could not write the helper into {folder} (exit status {status:?}): \
                         {}",
                        excerpt(&out.stderr)
                    ),
                })
            }
        }
    }

    /// Exec mode, kept: asks the `php` process kept running for this phase, starting it
    /// first. `None` when the server cannot keep one running (then one `php` per call);
    /// a process that fails its first request is not tried again.
    fn ask_serving(
        &self,
        t: &mut dyn Transport,
        request: &[u8],
    ) -> Result<Option<Vec<u8>>, HelperError> {
        use base64::Engine;
        let mut serving = self.serving.borrow_mut();
        let first = matches!(*serving, Serving::NotYet);
        if first {
            let script = script::render(Role::Serve, &self.config_from_root);
            let preamble = format!("{}\n{script}", script.len());
            let started = match t.as_exec_leaving_files() {
                Some(exec) => exec.converse(SERVE, preamble.as_bytes())?,
                None => None,
            };
            *serving = match started {
                Some(conversation) => Serving::Running(conversation),
                None => Serving::Unavailable,
            };
        }
        let Serving::Running(conversation) = &mut *serving else {
            return Ok(None);
        };
        let line = base64::engine::general_purpose::STANDARD.encode(request);
        match conversation.ask(line.as_bytes()) {
            Ok(answer) => Ok(Some(answer)),
            // No php, or one that cannot run this way: the request ran nowhere, and one
            // `php` per call says why, if it fails too.
            Err(e) if first => {
                tracing::debug!(error = %e, "the helper cannot be kept running");
                *serving = Serving::Unavailable;
                Ok(None)
            }
            Err(e) => {
                *serving = Serving::NotYet;
                Err(e.into())
            }
        }
    }

    /// Exec mode: `php` with the script, request embedded, on stdin; returns its answer.
    fn run_php(&self, t: &mut dyn Transport, request: &[u8]) -> Result<Vec<u8>, HelperError> {
        if self.keep
            && let Some(reply) = self.ask_serving(t, request)?
        {
            return wire::find_reply(&reply).map(<[u8]>::to_vec).ok_or_else(|| {
                HelperError::Protocol {
                    why: format!("php answered something else: {}", excerpt(&reply)),
                }
            });
        }
        let script = script::render(Role::Exec { request }, &self.config_from_root);
        let Some(exec) = t.as_exec_leaving_files() else {
            let what = "running commands (the helper's Exec mode)".to_owned();
            return Err(transport::Error::new(
                ErrorKind::Unsupported { what },
                transport::Op::Exec,
                self.origin.as_str(),
            )
            .into());
        };
        let out = exec.exec_with_input("php", script.as_bytes())?;
        // 127: the shell found no such command.
        if out.status == Some(127) {
            return Err(HelperError::NoPhp {
                origin: self.origin.clone(),
            });
        }
        let reply = wire::find_reply(&out.stdout).ok_or_else(|| HelperError::Protocol {
            why: format!(
                "php printed no answer (exit status {:?}): {}",
                out.status,
                excerpt(&out.stderr)
            ),
        })?;
        Ok(reply.to_vec())
    }

    /// Http mode: upload, POST, delete, whatever happens in between.
    fn exchange(
        &self,
        t: &mut dyn Transport,
        purpose: Purpose,
        body: &[u8],
    ) -> Result<Response, HelperError> {
        self.exchange_beside(t, purpose, body, |_| ()).0
    }

    /// [`Helper::exchange`], with `beside` run on `t` while the POST is answered.
    fn exchange_beside<R: Send>(
        &self,
        t: &mut dyn Transport,
        purpose: Purpose,
        body: &[u8],
        beside: impl FnOnce(&mut dyn Transport) -> R,
    ) -> (Result<Response, HelperError>, R) {
        let uploaded = match self.upload(t, purpose) {
            Ok(uploaded) => uploaded,
            Err(e) => return (Err(e), beside(t)),
        };
        fault::point("helper-uploaded");
        let (uploaded, response, besides) = std::thread::scope(|scope| {
            let asked = scope.spawn(move || {
                let response = if interrupt::requested() {
                    Err(HelperError::Interrupted)
                } else {
                    uploaded.post(body)
                };
                (uploaded, response)
            });
            let besides = beside(t);
            let (uploaded, response) = asked
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (uploaded, response, besides)
        });
        let removed = uploaded.remove(t);
        (response.and_then(|r| removed.map(|()| r)), besides)
    }

    /// Http mode, kept: POSTs to the kept helper, uploading one first when there is none or
    /// it is getting old. A helper that is gone or expired by the server's clock ran nothing,
    /// so the request goes once more to a fresh one.
    fn exchange_kept(&self, t: &mut dyn Transport, body: &[u8]) -> Result<Response, HelperError> {
        let mut kept = self.kept.borrow_mut();
        if let Some(old) = kept.take_if(|u| u.uploaded_at.elapsed() > KEEP_FOR) {
            old.remove(t)?;
        }
        for attempt in 0..2 {
            let uploaded = match kept.take() {
                Some(uploaded) => uploaded,
                None => {
                    let fresh = self.upload(t, Purpose::Ops)?;
                    fault::point("helper-uploaded");
                    fresh
                }
            };
            if interrupt::requested() {
                uploaded.remove(t)?;
                return Err(HelperError::Interrupted);
            }
            let response = uploaded.post(body);
            let ran_nothing = matches!(&response, Ok(r) if wire::is_gone_or_expired(r));
            if ran_nothing && attempt == 0 {
                uploaded.remove(t)?;
                continue;
            }
            *kept = Some(uploaded);
            return response;
        }
        unreachable!("the second attempt returns")
    }
}

/// A helper uploaded by [`Helper::upload`].
pub struct Uploaded {
    path: RemotePath,
    folder: RemotePath,
    url: String,
    key: Key,
    /// The sequence number of the last request signed.
    seq: std::cell::Cell<u64>,
    /// One client for every request, so they share a connection.
    client: HttpClient,
    uploaded_at: Instant,
    /// A one-shot helper, which deletes itself and its folder after answering.
    self_deleting: bool,
}

impl std::fmt::Debug for Uploaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploaded")
            .field("path", &self.path)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Uploaded {
    /// Where it is, relative to the transport root.
    pub fn path(&self) -> &RemotePath {
        &self.path
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` to it as the caller, signed. A helper's answer (a 200 that carries
    /// JSON) must carry the helper's signature for this request, else
    /// [`HelperError::Protocol`]: something on the way wrote it.
    pub fn post(&self, body: &[u8]) -> Result<Response, HelperError> {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let mac = self.key.sign(Direction::Request, seq, body);
        let headers = [("X-Wprescue-Seq", seq.to_string()), ("X-Wprescue-Mac", mac)];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let response = self.client.post_json(&self.url, &headers, body)?;
        if wire::is_reply(&response) {
            // Signed as the helper printed it; anything the server put around it is not part.
            let signed = response.body.trim().as_bytes();
            let expected = self.key.sign(Direction::Answer, seq, signed);
            if response.header("X-Wprescue-Mac") != Some(expected.as_str()) {
                return Err(HelperError::Protocol {
                    why: "the answer does not carry the helper's signature: something between \
                          here and the server wrote it; give --url https://… or use an ssh:// \
                          target, where nobody on the way can"
                        .into(),
                });
            }
        }
        Ok(response)
    }

    /// Deletes it and its folder; fine if it already deleted itself.
    pub fn remove(self, t: &mut dyn Transport) -> Result<(), HelperError> {
        if self.self_deleting {
            // Most likely gone already: one look at the folder says what is left.
            return remove_helper_folder(t, &self.folder).map(|_| ());
        }
        // The folder is this run's own, made fresh under a random name: its files go by
        // name, one request each, without being read first.
        let script = self.path.file_name().unwrap_or_default();
        let names = script::FOLDER_FILES.iter().map(|(name, _)| *name);
        let files: Vec<RemotePath> = names
            .chain([script])
            .map(|name| join(&self.folder, name))
            .collect();
        for removed in t.remove_each(&files) {
            match removed {
                Err(e) if *e.kind() == ErrorKind::NotFound => {}
                other => other?,
            }
        }
        match t.remove(&self.folder) {
            Err(e) if *e.kind() == ErrorKind::NotFound => Ok(()),
            // Something else landed in it: the careful way, which keeps what is not ours.
            Err(e) if *e.kind() == ErrorKind::NotEmpty => {
                remove_helper_folder(t, &self.folder).map(|_| ())
            }
            other => Ok(other?),
        }
    }
}

/// Removes a helper folder: the helper, its configuration files and staging copies of them
/// (anything else stays, and so does the folder then). Returns whether the folder was there.
fn remove_helper_folder(t: &mut dyn Transport, folder: &RemotePath) -> Result<bool, HelperError> {
    let entries = match t.list(folder) {
        Err(e) if *e.kind() == ErrorKind::NotFound => return Ok(false),
        other => other?,
    };
    let mut foreign = false;
    for entry in entries {
        let path = join(folder, &entry.name);
        foreign |= entry.meta.kind != transport::Kind::File || !remove_helper_file(t, &path)?;
    }
    if !foreign {
        match t.remove(folder) {
            Err(e) if *e.kind() == ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(true)
}

/// Removes `path` if it is one of the helper's files (by its first bytes); returns whether it
/// was.
fn remove_helper_file(t: &mut dyn Transport, path: &RemotePath) -> Result<bool, HelperError> {
    let contents = match t.read_to_vec(path) {
        // It deleted itself after answering a request since the listing.
        Err(e) if *e.kind() == ErrorKind::NotFound => return Ok(true),
        other => other?,
    };
    if !script::is_helper_text(&contents) {
        return Ok(false);
    }
    remove_if_present(t, path)?;
    Ok(true)
}

fn remove_if_present(t: &mut dyn Transport, path: &RemotePath) -> Result<(), HelperError> {
    match t.remove(path) {
        Err(e) if *e.kind() == ErrorKind::NotFound => Ok(()),
        other => Ok(other?),
    }
}

/// What a command printed, for an error message: its start, printable, trimmed.
fn excerpt(output: &[u8]) -> String {
    let text = crate::parse::text::printable(&String::from_utf8_lossy(output));
    text.chars().take(300).collect::<String>().trim().to_owned()
}

fn join(dir: &RemotePath, name: &str) -> RemotePath {
    dir.join(name)
        .expect("helper names are single plain path segments")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A server on loopback that answers one request with `body`, as a helper's JSON would
    /// look, and `mac` as its signature header (when given).
    fn answering(body: &'static str, mac: Option<String>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/wprescue-x/wprescue-x.php",
            listener.local_addr().unwrap()
        );
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = conn.read(&mut request);
            let mac = mac
                .map(|m| format!("X-Wprescue-Mac: {m}\r\n"))
                .unwrap_or_default();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{mac}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(reply.as_bytes()).unwrap();
        });
        url
    }

    fn uploaded(url: String, key: Key) -> Uploaded {
        Uploaded {
            path: RemotePath::new("wprescue-x/wprescue-x.php").unwrap(),
            folder: RemotePath::new("wprescue-x").unwrap(),
            url,
            key,
            seq: std::cell::Cell::new(0),
            client: HttpClient::to_helper(&HttpOptions::default()),
            uploaded_at: Instant::now(),
            self_deleting: false,
        }
    }

    const FORGED: &str =
        r#"{"wprescue":1,"ok":true,"answers":[],"seen":{"remote_addr":"6.6.6.6","headers":[]}}"#;

    #[test]
    fn an_answer_without_the_helpers_signature_is_refused() {
        let key = Key::new().unwrap();
        // Unsigned, as someone on the path would answer.
        let helper = uploaded(answering(FORGED, None), key.clone());
        assert!(matches!(
            helper.post(b"{}"),
            Err(HelperError::Protocol { .. })
        ));
        // Signed with another key, or for another request.
        let other = Key::new()
            .unwrap()
            .sign(Direction::Answer, 1, FORGED.as_bytes());
        let helper = uploaded(answering(FORGED, Some(other)), key.clone());
        assert!(matches!(
            helper.post(b"{}"),
            Err(HelperError::Protocol { .. })
        ));
        let stale = key.sign(Direction::Answer, 7, FORGED.as_bytes());
        let helper = uploaded(answering(FORGED, Some(stale)), key.clone());
        assert!(matches!(
            helper.post(b"{}"),
            Err(HelperError::Protocol { .. })
        ));
        // Signed for this request with this key: taken.
        let good = key.sign(Direction::Answer, 1, FORGED.as_bytes());
        let helper = uploaded(answering(FORGED, Some(good)), key);
        let seen = wire::decode_seen(wire::http_reply(&helper.post(b"{}").unwrap()).unwrap());
        assert_eq!(seen.unwrap().remote_addr, "6.6.6.6");
    }
}

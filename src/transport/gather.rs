//! Many folder listings and small files in one request, where the account has a shell.
//!
//! Discovery asks for a few dozen things (the home folder, each candidate site folder,
//! `wp-content`, the plugins, `.htaccess`, `wp-config.php` …); over SFTP each is one to four
//! round trips. One command that lists and reads them all costs the round trips of one
//! command. What it brings back is only remembered ([`super::Cached`]): a path it did not
//! cover is asked for the usual way, so a server whose tools differ costs time, never
//! correctness.
//!
//! The command is a POSIX shell script with GNU `find` (for `-printf`) and `base64`; where
//! either is missing it gives up before printing anything.

use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Entry, ErrorKind, Exec, Kind, Meta, RemotePath, Result};

/// What to fetch ([`super::Transport::prefetch`]). Patterns are paths relative to the site
/// folder, `/`-separated; a segment `*` stands for every folder at that place (not those
/// whose name starts with a dot), and `.` is the site folder itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefetch {
    /// Folders to list.
    pub folders: Vec<String>,
    /// Files to read, each if it holds at most `max_file_bytes`.
    pub files: Vec<String>,
    /// The largest file read.
    pub max_file_bytes: u64,
    /// Whether the paths without `*` are known to be there (a journal's), so that a transport
    /// that fetches path by path asks for each at once instead of through its folder's
    /// listing. One that is not there after all costs a request, nothing more.
    pub direct: bool,
}

/// What a prefetch brought back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Folders and their entries (as [`super::Transport::list`] gives them).
    pub listings: Vec<(RemotePath, Vec<Entry>)>,
    /// Files and their contents.
    pub files: Vec<(RemotePath, Vec<u8>)>,
}

impl Prefetch {
    /// `folders` and `files`, each file if it holds at most `max_file_bytes`.
    pub fn new(folders: &[&str], files: &[&str], max_file_bytes: u64) -> Prefetch {
        let owned = |patterns: &[&str]| patterns.iter().map(|p| (*p).to_owned()).collect();
        Prefetch {
            folders: owned(folders),
            files: owned(files),
            max_file_bytes,
            direct: false,
        }
    }

    /// The shell script that prints the snapshot: NUL-separated records, `D<folder>` followed
    /// by one record per entry (`<type> <octal mode> <size> <mtime> <name>`) and `E`, and
    /// `F<file>` followed by its contents in base64.
    pub(crate) fn script(&self) -> String {
        // Patterns go into the script unquoted (to glob), and some are names the site chose
        // (a rollback's): anything beyond plain names is left out, and each starts with `./`
        // so that none is taken for an option.
        let plain = |patterns: &[String]| -> Vec<String> {
            patterns
                .iter()
                .filter(|p| {
                    !p.is_empty()
                        && p.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-/*".contains(&b))
                })
                .map(|p| format!("./{p}"))
                .collect()
        };
        let (folders, files) = (plain(&self.folders), plain(&self.files));
        format!(
            "[ \"$(find . -maxdepth 0 -printf x 2>/dev/null)\" = x ] || exit 3\n\
             command -v base64 >/dev/null || exit 3\n\
             for p in {folders}; do\n\
             \x20 [ -d \"$p\" ] && [ ! -L \"$p\" ] || continue\n\
             \x20 printf 'D%s\\0' \"$p\"\n\
             \x20 find \"$p/\" -mindepth 1 -maxdepth 1 -printf '%y %m %s %T@ %f\\0' 2>/dev/null\n\
             \x20 printf 'E\\0'\n\
             done\n\
             for p in {files}; do\n\
             \x20 [ -f \"$p\" ] && [ ! -L \"$p\" ] || continue\n\
             \x20 printf 'F%s\\0' \"$p\"\n\
             \x20 head -c {over} \"$p\" | base64 | tr -d '\\n'\n\
             \x20 printf '\\0'\n\
             done\n",
            folders = folders.join(" "),
            files = files.join(" "),
            over = self.max_file_bytes + 1,
        )
    }

    /// The snapshot in the script's output; records that do not parse are left out.
    pub(crate) fn parse(&self, output: &[u8]) -> Snapshot {
        let mut snapshot = Snapshot::default();
        let mut records = output.split(|&b| b == 0);
        while let Some(record) = records.next() {
            let text = String::from_utf8_lossy(record);
            if let Some(folder) = text.strip_prefix('D') {
                let mut entries = Vec::new();
                for entry in records.by_ref() {
                    if entry == b"E" {
                        break;
                    }
                    entries.extend(parse_entry(&String::from_utf8_lossy(entry)));
                }
                if let Some(folder) = path(folder) {
                    entries.sort_by(|a, b| a.name.cmp(&b.name));
                    snapshot.listings.push((folder, entries));
                }
            } else if let Some(file) = text.strip_prefix('F') {
                let contents = records.next().and_then(|b| STANDARD.decode(b).ok());
                if let (Some(file), Some(contents)) = (path(file), contents)
                    && contents.len() as u64 <= self.max_file_bytes
                {
                    snapshot.files.push((file, contents));
                }
            }
        }
        snapshot
    }
}

/// Runs `wanted`'s script through `exec`'s shell: `None` when the shell lacks its tools.
pub(crate) fn by_shell(exec: &mut dyn Exec, wanted: &Prefetch) -> Result<Option<Snapshot>> {
    let out = match exec.exec_with_input("sh -s", wanted.script().as_bytes()) {
        // An account that runs no commands: files are read one by one instead.
        Err(e) if matches!(e.kind(), ErrorKind::Unsupported { .. }) => return Ok(None),
        other => other?,
    };
    Ok((out.status == Some(0)).then(|| wanted.parse(&out.stdout)))
}

/// A path the script printed (`./x`, `x/y`, `.`), checked.
fn path(printed: &str) -> Option<RemotePath> {
    if printed.starts_with('/') {
        return None;
    }
    let trimmed = printed.trim_start_matches("./").trim_end_matches('/');
    match trimmed {
        "." | "" => Some(RemotePath::root()),
        other => RemotePath::new(other).ok(),
    }
}

/// `<type> <octal mode> <size> <mtime> <name>`, as `find -printf '%y %m %s %T@ %f'` prints.
fn parse_entry(record: &str) -> Option<Entry> {
    let mut fields = record.splitn(5, ' ');
    let kind = match fields.next()? {
        "f" => Kind::File,
        "d" => Kind::Dir,
        "l" => Kind::Symlink,
        _ => Kind::Other,
    };
    let mode = u32::from_str_radix(fields.next()?, 8).ok()?;
    let size = fields.next()?.parse().ok()?;
    // Whole seconds, as SFTP reports them.
    let seconds: u64 = fields.next()?.split('.').next()?.parse().ok()?;
    let name = fields.next()?;
    RemotePath::root().join(name).ok()?;
    Some(Entry {
        name: name.to_owned(),
        meta: Meta {
            kind,
            size,
            mtime: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
            mode: Some(mode & 0o7777),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn wanted() -> Prefetch {
        Prefetch::new(
            &[".", "*", "*/wp-content", "logs", "bad folder"],
            &["*/wp-config.php", "*/.htaccess"],
            10,
        )
    }

    #[test]
    fn a_name_that_looks_like_an_option_is_read_as_a_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("-n1")).unwrap();
        std::fs::write(dir.path().join("-n1/-c1"), b"whole").unwrap();
        let wanted = Prefetch::new(&["-n1"], &["-n1/-c1"], 10);
        let output = Command::new("sh")
            .arg("-c")
            .arg(wanted.script())
            .current_dir(dir.path())
            .output()
            .unwrap();
        let snapshot = wanted.parse(&output.stdout);
        assert_eq!(snapshot.listings[0].0.as_str(), "-n1");
        assert_eq!(
            snapshot.files,
            [(RemotePath::new("-n1/-c1").unwrap(), b"whole".to_vec())]
        );
    }

    #[test]
    fn the_script_lists_and_reads_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("public_html");
        std::fs::create_dir_all(site.join("wp-content/plugins")).unwrap();
        std::fs::write(site.join("wp-config.php"), b"<?php // 1").unwrap();
        std::fs::write(site.join(".htaccess"), b"# far more than ten bytes").unwrap();
        std::fs::write(site.join("odd name.txt"), b"x").unwrap();
        let output = Command::new("sh")
            .arg("-c")
            .arg(wanted().script())
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let snapshot = wanted().parse(&output.stdout);
        let listed: Vec<&str> = snapshot.listings.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(listed, ["", "public_html", "public_html/wp-content"]);
        let names: Vec<&str> = snapshot.listings[1]
            .1
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            names,
            [".htaccess", "odd name.txt", "wp-config.php", "wp-content"]
        );
        let content = &snapshot.listings[1].1[3];
        assert_eq!(content.meta.kind, Kind::Dir);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(site.join("wp-content"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(content.meta.mode, Some(mode & 0o7777));
        // The .htaccess is over the limit: not read.
        assert_eq!(
            snapshot.files,
            [(
                RemotePath::new("public_html/wp-config.php").unwrap(),
                b"<?php // 1".to_vec()
            )]
        );
    }

    #[test]
    fn hostile_output_is_left_out() {
        let output = b"D../etc\0f 644 1 1 passwd\0E\0Dok\0f 644 1 1.5 ../x\0f 999 1 1 y\0\
                       d 755 4096 1732900000.25 sub\0E\0Fok/a\0!!!\0F/abs\0YQ==\0";
        let snapshot = wanted().parse(output);
        assert_eq!(snapshot.listings.len(), 1);
        let (folder, entries) = &snapshot.listings[0];
        assert_eq!(folder.as_str(), "ok");
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].name, "sub");
        assert_eq!(
            entries[0].meta.mtime,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_732_900_000))
        );
        assert!(snapshot.files.is_empty());
    }

    #[test]
    fn hostile_snapshots_do_not_panic() {
        let sample: &[u8] = b"D.\0d 755 4096 1732900000.5 public_html\0f 644 12 1.0 a b\0E\0\
Fpublic_html/wp-config.php\0PD9waHA=\0";
        crate::mutate::survives("prefetch output", &[sample], |bytes| {
            let _ = wanted().parse(bytes);
        });
    }
}

//! `LIST` output, turned into entries.
//!
//! Why `LIST` and not `MLSD`: vsftpd, common on shared hosting, has no `MLSD`, while every
//! server answers `LIST` in `ls -l` style (or, on Windows, DOS style). `LIST -a`, because
//! without `-a` servers hide dotfiles, and `.htaccess` and `.user.ini` are what wprescue is
//! usually after. Times in `ls -l` style are to the minute for recent files and to the day
//! for older ones.

use suppaftp::list::{File, FileType, ListParser, PosixPexQuery};

use super::super::{Entry, Kind, Meta};

/// The entries in `lines`, without `.`, `..`, `total` lines or anything unparsable.
pub(super) fn parse(lines: &[String]) -> Vec<Entry> {
    let mut entries: Vec<Entry> = lines.iter().filter_map(|l| parse_line(l)).collect();
    entries.retain(|e| e.name != "." && e.name != "..");
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// The entries of a folder from a `STAT <folder>` reply (a listing sent over the control
/// connection: one round trip where `CWD` + `LIST` take four or five), or `None` when the
/// reply does not prove the folder exists: servers list a missing folder, and a file, without
/// the folder's own `.` entry.
pub(super) fn parse_status(reply: &[u8]) -> Option<Vec<Entry>> {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<String> = text
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        // The first and last lines are the reply's own ("213-Status follows:", "213 End").
        .filter(|line| !is_reply_line(line))
        .map(|line| {
            // Some servers repeat the code on every line ("211-drwx..."); some indent.
            let line = match line.get(..4) {
                Some(head)
                    if head.ends_with('-') && head[..3].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    &line[4..]
                }
                _ => line,
            };
            line.strip_prefix(' ').unwrap_or(line).to_owned()
        })
        .collect();
    let folder_itself = lines
        .iter()
        .filter_map(|l| parse_line(l))
        .any(|e| e.name == "." && e.meta.kind == Kind::Dir);
    folder_itself.then(|| parse(&lines))
}

/// A line that opens or closes a reply: a code, then a space or `-`, then words, not a
/// listing entry.
fn is_reply_line(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.len() >= 4
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && (bytes[3] == b' ' || (bytes[3] == b'-' && parse_line(line[4..].trim_start()).is_none()))
}

/// Whether `path` can go as the argument of `STAT` (or `LIST`) unchanged: servers read those
/// arguments as globs and options, so anything but plain names goes by `CWD` instead.
pub(super) fn plain_for_a_command(path: &str) -> bool {
    !path.is_empty()
        && path.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'*' | b'?' | b'[' | b']' | b'{' | b'}' | b'~' | b'\\')
        })
        && path.split('/').all(|segment| !segment.starts_with('-'))
}

fn parse_line(line: &str) -> Option<Entry> {
    let (file, posix) = match ListParser::parse_posix(line) {
        Ok(file) => (file, true),
        Err(_) => (ListParser::parse_dos(line).ok()?, false),
    };
    let kind = match file.file_type() {
        FileType::File => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink(_) => Kind::Symlink,
    };
    Some(Entry {
        name: file.name().to_owned(),
        meta: Meta {
            kind,
            size: file.size() as u64,
            mtime: Some(file.modified()),
            // DOS listings carry no permissions.
            mode: posix.then(|| mode(&file)),
        },
    })
}

/// The `rwx` bits of a POSIX listing line as a number.
fn mode(file: &File) -> u32 {
    let mut mode = 0;
    for (i, who) in [
        PosixPexQuery::Owner,
        PosixPexQuery::Group,
        PosixPexQuery::Others,
    ]
    .into_iter()
    .enumerate()
    {
        let bits = u32::from(file.can_read(who)) << 2
            | u32::from(file.can_write(who)) << 1
            | u32::from(file.can_execute(who));
        mode |= bits << (3 * (2 - i));
    }
    mode
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn vsftpd_listing() {
        let entries = parse(&lines(
            "\
drwxr-xr-x    5 1001     1001         4096 Nov 27 21:18 .
drwx--x--x    7 1001     1001         4096 Nov 27 21:18 ..
-rw-r--r--    1 1001     1001          523 Nov 27 21:08 .htaccess
-rw-------    1 0        0              10 Nov 27 21:08 secret.txt
drwxr-xr-x    2 1001     1001         4096 Jan 02  2024 dir with space
-rw-r--r--    1 1001     1001            6 Nov 27 21:08 two  spaces.txt
-rw-r--r--    1 1001     1001            6 Nov 27 21:08 ünïcødé – 日本語.txt
lrwxrwxrwx    1 1001     1001            9 Nov 27 21:08 link.php -> index.php",
        ));
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                ".htaccess",
                "dir with space",
                "link.php",
                "secret.txt",
                "two  spaces.txt",
                "ünïcødé – 日本語.txt"
            ]
        );
        assert_eq!(entries[0].meta.mode, Some(0o644));
        assert_eq!(entries[0].meta.size, 523);
        assert_eq!(entries[1].meta.kind, Kind::Dir);
        assert_eq!(entries[1].meta.mode, Some(0o755));
        assert_eq!(entries[2].meta.kind, Kind::Symlink);
        assert_eq!(entries[3].meta.mode, Some(0o600));
    }

    #[test]
    fn dos_listing_and_noise() {
        let entries = parse(&lines(
            "\
total 12
04-08-14  03:09PM       <DIR>          wp-content
04-08-14  03:09PM                 8192 wp-config.php",
        ));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "wp-config.php");
        assert_eq!((entries[0].meta.size, entries[0].meta.mode), (8192, None));
        assert_eq!(entries[1].meta.kind, Kind::Dir);
    }

    #[test]
    fn status_replies_list_a_folder_only_when_it_is_there() {
        let vsftpd = "213-Status follows:\r
drwxr-xr-x    7 1001     1001         4096 Nov 29 18:29 .\r
drwxr-xr-x    5 1001     1001         4096 Nov 29 18:29 ..\r
drwxr-xr-x    4 1001     1001         4096 Nov 29 18:29 plugins\r
-rw-r--r--    1 1001     1001          325 Nov 29 18:29 .htaccess\r
213 End of status\r
";
        let names: Vec<String> = parse_status(vsftpd.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, [".htaccess", "plugins"]);
        // The code repeated on each line, and indented lines, as other servers send them.
        let prefixed = "211-Status of /x:\r
211- drwxr-xr-x    2 1 1 4096 Nov 29 18:29 .\r
211- -rw-r--r--    1 1 1    9 Nov 29 18:29 wp-config.php\r
211 End of status\r
";
        assert_eq!(parse_status(prefixed.as_bytes()).unwrap().len(), 1);
        // A missing folder and a file give no `.`: the caller lists the usual way.
        let missing = "213-Status follows:\r\n213 End of status\r\n";
        assert_eq!(parse_status(missing.as_bytes()), None);
        let file = "213-Status follows:\r
-rw-r--r--    1 1001     1001         3401 Nov 29 18:01 wp-config.php\r
213 End of status\r
";
        assert_eq!(parse_status(file.as_bytes()), None);
    }

    #[test]
    fn only_plain_paths_go_as_command_arguments() {
        assert!(plain_for_a_command("/public_html/wp-content/plugins"));
        for odd in [
            "",
            "/dir with space",
            "/a*",
            "/-rf",
            "/x/[ab]",
            "/~",
            "/ünï",
        ] {
            assert!(!plain_for_a_command(odd), "{odd}");
        }
    }

    #[test]
    fn hostile_listings_do_not_panic() {
        let samples: &[&[u8]] = &[
            b"drwxr-xr-x    5 1001     1001         4096 Nov 27 21:18 .\r\n\
-rw-r--r--    1 1001     1001          523 Nov 27 21:08 .htaccess\r\n\
lrwxrwxrwx    1 1001     1001            9 Jan 02  2024 link.php -> index.php\r\n",
            b"04-08-14  03:09PM       <DIR>          wp-content\r\n04-08-14  03:09PM 8192 x",
        ];
        crate::mutate::survives("ftp listing", samples, |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let _ = parse(&lines);
            let _ = parse_status(bytes);
        });
    }
}

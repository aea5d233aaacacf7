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
}

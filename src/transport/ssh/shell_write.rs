//! Writes on `ssh://` accounts, which have a shell: the staging copy, its mode and the rename
//! in one command, about three round trips, where SFTP takes seven to ten (stat, open, write,
//! setstat, fsync, close, rename, and a channel of its own for the first atomic replace).
//! Only the plain case goes this way: whatever else (a link or folder in the way, a refusal, a
//! full disk, a shell without these tools) leaves nothing behind and goes to SFTP, which names
//! exactly what is wrong.

use std::io::{Cursor, Read};

use super::super::staging::{NEW_FILE_MODE, staging_path};
use super::super::{ErrorKind, Exec, Op, RemotePath, Result, Upload, WriteMode};
use super::SshTransport;
use super::exec::shell_quote;

/// Larger uploads go over SFTP, with a progress bar.
const UP_TO: u64 = 1 << 20;

/// `$1` the file, `$2` its staging name, `$3` `replace` or `create`, `$4` the mode of a new
/// file; stdin the bytes. Exit 0: written; 3: something is there already (`create`); any
/// other: nothing done, nothing left. The data is on disk (`conv=fsync`) before it takes the
/// file's name.
const SCRIPT: &str = r#"f=$1 s=$2
if [ -L "$f" ] || [ -d "$f" ]; then exit 4; fi
if [ -e "$f" ]; then
  [ "$3" = replace ] || exit 3
  m=$(stat -c %a -- "$f") || exit 4
else
  m=$4
fi
umask 077
dd of="$s" conv=fsync status=none 2>/dev/null || { rm -f -- "$s"; exit 4; }
chmod "$m" -- "$s" || { rm -f -- "$s"; exit 4; }
if [ "$3" = replace ]; then
  mv -f -- "$s" "$f" || { rm -f -- "$s"; exit 4; }
else
  ln -- "$s" "$f" 2>/dev/null || { rm -f -- "$s"; [ -e "$f" ] && exit 3; exit 4; }
  rm -f -- "$s"
fi"#;

impl SshTransport {
    /// Writes `data` to `path` with one shell command where the account has a shell and the
    /// case is plain; `Some(data)` (the same bytes) when SFTP must do it instead.
    pub(super) fn write_by_shell<'a>(
        &mut self,
        path: &RemotePath,
        mut data: Upload<'a>,
        mode: WriteMode,
    ) -> Result<Option<Upload<'a>>> {
        let how = match mode {
            WriteMode::Replace => "replace",
            WriteMode::Create => "create",
            WriteMode::InPlace => return Ok(Some(data)),
        };
        let small = data.len.is_some_and(|len| len <= UP_TO);
        let Some(name) = path.file_name().filter(|_| self.exec && small) else {
            return Ok(Some(data));
        };
        let mut bytes = Vec::new();
        data.reader.read_to_end(&mut bytes).map_err(|e| {
            self.fail(ErrorKind::LocalIo, Op::Write, path)
                .with_source(e)
        })?;
        let command = format!(
            "sh -c {} sh {} {} {how} {NEW_FILE_MODE:o}",
            shell_quote(SCRIPT),
            shell_quote(path.as_str()),
            shell_quote(staging_path(path, name).as_str()),
        );
        let len = Some(bytes.len() as u64);
        match self.exec_with_input(&command, &bytes) {
            Ok(out) if out.status == Some(0) => Ok(None),
            Ok(out) if out.status == Some(3) => {
                Err(self.fail(ErrorKind::AlreadyExists, Op::Write, path))
            }
            // An account that turns out to run no commands, or a script that could not.
            Ok(_) => Ok(Some(Upload::new(Cursor::new(bytes), len))),
            Err(e) if matches!(e.kind(), ErrorKind::Unsupported { .. }) => {
                Ok(Some(Upload::new(Cursor::new(bytes), len)))
            }
            Err(e) => Err(self.fail(e.kind().clone(), Op::Write, path).with_source(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::path::Path;
    use std::process::{Command, Stdio};

    use super::SCRIPT;

    /// Runs the script in `dir` as the transport does; its exit status.
    fn run(dir: &Path, file: &str, how: &str, bytes: &[u8]) -> i32 {
        let mut child = Command::new("sh")
            .args(["-c", SCRIPT, "sh", file, ".stage", how, "644"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        child.wait().unwrap().code().unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn the_script_writes_plain_files_and_leaves_the_rest_to_sftp() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wp-config.php");
        assert_eq!(run(dir.path(), "wp-config.php", "create", b"one"), 0);
        assert_eq!(
            (fs::read(&file).unwrap(), mode(&file)),
            (b"one".to_vec(), 0o644)
        );
        assert_eq!(
            run(dir.path(), "wp-config.php", "create", b"two"),
            3,
            "exists"
        );
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(run(dir.path(), "wp-config.php", "replace", b"two"), 0);
        assert_eq!(
            (fs::read(&file).unwrap(), mode(&file)),
            (b"two".to_vec(), 0o600)
        );
        symlink("wp-config.php", dir.path().join("link")).unwrap();
        assert_eq!(run(dir.path(), "link", "replace", b"x"), 4, "a link");
        fs::create_dir(dir.path().join("folder")).unwrap();
        assert_eq!(run(dir.path(), "folder", "replace", b"x"), 4, "a folder");
        assert_eq!(
            run(dir.path(), "missing/file", "create", b"x"),
            4,
            "no folder"
        );
        assert_eq!(fs::read(&file).unwrap(), b"two");
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["folder", "link", "wp-config.php"],
            "no staging copy left"
        );
    }
}

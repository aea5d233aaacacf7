//! [`RemotePath`]: the only path type a transport ever receives.
//!
//! A `RemotePath` is relative to the site root the transport was opened on, and it is checked
//! once, here, before any backend sees it: no `..` (nothing can escape the site root), no `.`,
//! no empty segments, no NUL, no control characters (a CR or LF in an FTP command line would
//! start a second command) and no backslash (a Windows FTP server treats it as a separator,
//! which would smuggle a `..` past the first rule).

use std::fmt;

/// Why a string is not a [`RemotePath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} is not a usable path below the site root: {reason}")]
pub struct PathError {
    /// The string as given.
    pub path: String,
    /// Which rule it breaks.
    pub reason: &'static str,
}

/// A checked path below the site root, written with `/` separators and without a leading or
/// trailing `/`. The empty path is the site root itself.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RemotePath(String);

impl RemotePath {
    /// The site root.
    pub fn root() -> Self {
        Self::default()
    }

    /// Checks `path`. Leading and trailing `/` are ignored, so `"/wp-content/"` and
    /// `"wp-content"` are the same path.
    pub fn new(path: &str) -> Result<Self, PathError> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return Ok(Self::root());
        }
        for segment in trimmed.split('/') {
            check_segment(segment).map_err(|reason| PathError {
                path: path.to_owned(),
                reason,
            })?;
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// This path with one more segment; `name` must be a single file or folder name.
    pub fn join(&self, name: &str) -> Result<Self, PathError> {
        check_segment(name).map_err(|reason| PathError {
            path: name.to_owned(),
            reason,
        })?;
        Ok(if self.is_root() {
            Self(name.to_owned())
        } else {
            Self(format!("{}/{name}", self.0))
        })
    }

    /// The folder holding this path; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((parent, _)) => Self(parent.to_owned()),
            None => Self::root(),
        })
    }

    /// The last segment; `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        Some(self.0.rsplit_once('/').map_or(&self.0, |(_, name)| name))
    }

    /// Whether this is the site root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as `a/b/c` (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path below `base`, the way a backend spells it: `base/a/b`, or `base` itself for
    /// the root. `base` is not checked; it comes from the target the user gave.
    pub fn under(&self, base: &str) -> String {
        if self.is_root() {
            return base.to_owned();
        }
        match base.trim_end_matches('/') {
            "" if base.starts_with('/') => format!("/{}", self.0),
            "" => self.0.clone(),
            trimmed => format!("{trimmed}/{}", self.0),
        }
    }
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    match segment {
        "" => Err("empty segment (`//`)"),
        "." => Err("`.` segment"),
        ".." => Err("`..` would leave the site root"),
        _ if segment.contains('\0') => Err("NUL character"),
        _ if segment.chars().any(char::is_control) => Err("control character"),
        _ if segment.contains('\\') => Err("backslash (a separator on Windows servers)"),
        _ if segment.contains('/') => Err("a name cannot contain `/`"),
        _ => Ok(()),
    }
}

impl fmt::Display for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            f.write_str(".")
        } else {
            f.write_str(&self.0)
        }
    }
}

impl fmt::Debug for RemotePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RemotePath({:?})", self.0)
    }
}

impl TryFrom<&str> for RemotePath {
    type Error = PathError;

    fn try_from(path: &str) -> Result<Self, PathError> {
        Self::new(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RemotePath {
        RemotePath::new(s).unwrap()
    }

    #[test]
    fn accepts_ordinary_paths_and_trims_slashes() {
        assert_eq!(p("/wp-content/plugins/").as_str(), "wp-content/plugins");
        assert_eq!(p("a file.txt").as_str(), "a file.txt");
        assert_eq!(p("ünïcødé/日本.txt").as_str(), "ünïcødé/日本.txt");
        assert_eq!(p(".htaccess").as_str(), ".htaccess");
        assert!(p("/").is_root());
        assert!(p("").is_root());
    }

    #[test]
    fn rejects_escapes_and_dangerous_characters() {
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "a/./b",
            "a//b",
            "a\0b",
            "a\r\nDELE x",
            "a\\..\\b",
        ] {
            assert!(RemotePath::new(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            RemotePath::new("a/../b").unwrap_err().reason,
            "`..` would leave the site root"
        );
    }

    #[test]
    fn join_parent_and_file_name() {
        let root = RemotePath::root();
        let dir = root.join("wp-content").unwrap();
        let file = dir.join("index.php").unwrap();
        assert_eq!(file.as_str(), "wp-content/index.php");
        assert_eq!(file.file_name(), Some("index.php"));
        assert_eq!(file.parent(), Some(dir.clone()));
        assert_eq!(dir.parent(), Some(root.clone()));
        assert_eq!(root.parent(), None);
        assert_eq!(root.file_name(), None);
        assert!(dir.join("a/b").is_err());
        assert!(dir.join("..").is_err());
    }

    #[test]
    fn under_a_base() {
        assert_eq!(p("a/b").under("/home/u/site"), "/home/u/site/a/b");
        assert_eq!(p("a/b").under("/home/u/site/"), "/home/u/site/a/b");
        assert_eq!(p("a").under("/"), "/a");
        assert_eq!(p("a").under("site"), "site/a");
        assert_eq!(p("a").under(""), "a");
        assert_eq!(RemotePath::root().under("/srv/x"), "/srv/x");
        assert_eq!(RemotePath::root().to_string(), ".");
    }
}

//! Atomic writes, once for every backend: upload to a hidden staging name in the same folder,
//! then rename it over the real name.
//!
//! Backends supply three primitives ([`Staging`]); [`write_atomically`] owns the decisions
//! (what may be replaced, which mode the result gets, cleaning up after a failure), so the
//! backends cannot drift apart on them.

use super::{Error, ErrorKind, Kind, Meta, Op, RemotePath, Result, Transport, Upload, WriteMode};

/// Mode of a newly created file.
pub(crate) const NEW_FILE_MODE: u32 = 0o644;

/// The primitives an atomic write is made of. Errors name `target`, the path the caller
/// asked for, never the staging name.
pub(crate) trait Staging: Transport {
    /// Creates `staging` (which must not exist), fills it from `data` and gives it `mode`.
    fn upload_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        data: Upload<'_>,
        mode: u32,
    ) -> Result<()>;

    /// Renames `staging` to `target`: replacing it atomically for [`WriteMode::Replace`],
    /// refusing an existing `target` for [`WriteMode::Create`].
    fn commit_staged(
        &mut self,
        staging: &RemotePath,
        target: &RemotePath,
        mode: WriteMode,
    ) -> Result<()>;

    /// Best-effort removal of a staging file after a failure (the connection may be gone).
    fn discard_staged(&mut self, staging: &RemotePath);
}

/// [`Transport::write`] for every backend.
pub(crate) fn write_atomically<T: Staging + ?Sized>(
    t: &mut T,
    target: &RemotePath,
    data: Upload<'_>,
    mode: WriteMode,
) -> Result<()> {
    let refuse = |t: &T, kind| {
        Err(Error::new(kind, Op::Write, t.origin()).with_path(target.under(t.root())))
    };
    let Some(name) = target.file_name() else {
        return refuse(t, ErrorKind::IsADirectory);
    };
    if mode == WriteMode::InPlace {
        return t.upload_staged(target, target, data, NEW_FILE_MODE);
    }
    // A new file needs no look first: committing it refuses whatever is there by then.
    let existing = match mode {
        WriteMode::Create | WriteMode::InPlace => None,
        WriteMode::Replace => t.stat(target)?,
    };
    let file_mode = match existing {
        None => NEW_FILE_MODE,
        Some(Meta {
            kind: Kind::Dir, ..
        }) => return refuse(t, ErrorKind::IsADirectory),
        // Renaming over a link would replace the link, silently cutting the site off from
        // the file it points to.
        Some(Meta {
            kind: Kind::Symlink,
            ..
        }) => {
            return refuse(
                t,
                ErrorKind::Unsupported {
                    what: "replacing a symbolic link (write to the file it points to)".into(),
                },
            );
        }
        Some(_) if mode == WriteMode::Create => return refuse(t, ErrorKind::AlreadyExists),
        Some(meta) => meta.mode.unwrap_or(NEW_FILE_MODE),
    };
    let staging = staging_path(target, name);
    let result = t
        .upload_staged(&staging, target, data, file_mode)
        .and_then(|()| t.commit_staged(&staging, target, mode));
    if result.is_err() {
        t.discard_staged(&staging);
    }
    result
}

/// Where a write of `target` (whose file name is `name`) stages its data.
pub(crate) fn staging_path(target: &RemotePath, name: &str) -> RemotePath {
    target
        .parent()
        .unwrap_or_default()
        .join(&staging_name(name))
        .expect("a staging name is one valid segment")
}

/// The hidden name an atomic write stages its data under, next to `name`.
///
/// Why this shape: a staging copy of `wp-config.php` holds the database password and sits in
/// the web root while it uploads (and stays there if the connection dies). Apache's stock
/// configuration refuses every name starting with `.ht`, and ending in the original name keeps
/// `.php` last, so where that rule is missing the file is run, not shown. The random part
/// makes the name unguessable and keeps two writers apart.
fn staging_name(name: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process; hashing a counter gives a fresh,
    // unpredictable value per call without a random-number crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    // Keep the whole name within the usual 255-byte limit.
    let mut keep = name.len().min(200);
    while !name.is_char_boundary(name.len() - keep) {
        keep -= 1;
    }
    format!(
        "{STAGING_PREFIX}{:016x}.{}",
        hasher.finish(),
        &name[name.len() - keep..]
    )
}

const STAGING_PREFIX: &str = ".ht.wprescue-";

/// Whether `name` is a staging file of an atomic write (one left behind by a dropped
/// connection can be removed).
pub fn is_staging_name(name: &str) -> bool {
    name.starts_with(STAGING_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_names_are_hidden_unique_and_keep_the_extension() {
        let a = staging_name("wp-config.php");
        let b = staging_name("wp-config.php");
        assert_ne!(a, b);
        assert!(
            a.starts_with(".ht.wprescue-") && a.ends_with(".wp-config.php"),
            "{a}"
        );
        assert!(is_staging_name(&a));
        assert!(RemotePath::root().join(&a).is_ok());
        let long = "é".repeat(200);
        let staged = staging_name(&long);
        assert!(staged.len() <= 255, "{}", staged.len());
        assert!(staged.ends_with('é'));
    }
}

//! One run at a time per site: a lock file in the WordPress root, created with "fail if it
//! exists" so two runs cannot both get it. Its name starts with `.ht`, which Apache's stock
//! configuration never serves. A lock older than [`STALE_AFTER`] is taken to be left behind by
//! a run that died, and is taken over.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::transport::{ErrorKind, RemotePath, Transport, TransportExt, WriteMode};

use super::EngineError;

/// The lock file's name, in the WordPress root.
pub const LOCK_NAME: &str = ".ht.wprescue.lock";

/// Age after which a lock is considered abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);

/// A held lock; release it with [`SiteLock::release`].
#[derive(Debug)]
pub struct SiteLock {
    path: RemotePath,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SiteLock {
    /// Takes the lock for `run_id`, or says which run holds it.
    pub fn acquire(
        t: &mut dyn Transport,
        wp_root: &RemotePath,
        run_id: &str,
    ) -> Result<SiteLock, EngineError> {
        let path = Self::path(wp_root)?;
        let content = format!("{run_id} {}\n", now());
        match t.write_bytes(&path, content.as_bytes(), WriteMode::Create) {
            Ok(()) => return Ok(SiteLock { path }),
            Err(e) if *e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        let held = String::from_utf8_lossy(&t.read_to_vec(&path)?).into_owned();
        let mut words = held.split_whitespace();
        let holder = words.next().unwrap_or("an unknown run").to_owned();
        let since = words
            .next()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(0);
        let age = Duration::from_secs(now().saturating_sub(since));
        if age < STALE_AFTER {
            return Err(EngineError::Locked {
                path: path.as_str().to_owned(),
                holder,
                age,
            });
        }
        t.write_bytes(&path, content.as_bytes(), WriteMode::Replace)?;
        Ok(SiteLock { path })
    }

    /// The lock file's path, relative to the target.
    pub fn path(wp_root: &RemotePath) -> Result<RemotePath, EngineError> {
        Ok(wp_root.join(LOCK_NAME)?)
    }

    /// Gives the lock back.
    pub fn release(self, t: &mut dyn Transport) -> Result<(), EngineError> {
        Ok(t.remove(&self.path)?)
    }

    /// Removes the lock at `path` if `run_id` holds it: what a rollback does for a run that
    /// died holding it. Returns whether it was removed; another run's lock is left alone.
    pub fn clear_if_held_by(
        t: &mut dyn Transport,
        path: &RemotePath,
        run_id: &str,
    ) -> Result<bool, EngineError> {
        if !t.exists(path)? {
            return Ok(false);
        }
        let held = String::from_utf8_lossy(&t.read_to_vec(path)?).into_owned();
        if held.split_whitespace().next() != Some(run_id) {
            return Ok(false);
        }
        t.remove(path)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MemoryTransport;

    #[test]
    fn one_holder_at_a_time_and_stale_locks_are_taken_over() {
        let mut t = MemoryTransport::new();
        let root = RemotePath::root();
        let first = SiteLock::acquire(&mut t, &root, "run-a").unwrap();
        let err = SiteLock::acquire(&mut t, &root, "run-b").unwrap_err();
        assert!(err.to_string().contains("run-a"), "{err}");
        first.release(&mut t).unwrap();
        SiteLock::acquire(&mut t, &root, "run-b").unwrap();

        let path = root.join(LOCK_NAME).unwrap();
        let old = now() - STALE_AFTER.as_secs() - 1;
        t.write_bytes(
            &path,
            format!("run-dead {old}\n").as_bytes(),
            WriteMode::Replace,
        )
        .unwrap();
        SiteLock::acquire(&mut t, &root, "run-c").unwrap();
        assert!(!SiteLock::clear_if_held_by(&mut t, &path, "run-dead").unwrap());
        assert!(
            String::from_utf8(t.read_to_vec(&path).unwrap())
                .unwrap()
                .starts_with("run-c ")
        );
        assert!(SiteLock::clear_if_held_by(&mut t, &path, "run-c").unwrap());
        assert!(!t.exists(&path).unwrap());
    }
}

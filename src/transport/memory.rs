//! [`MemoryTransport`]: the whole contract, in memory, for fast tests of the layers above.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::{
    Capabilities, Entry, Error, ErrorKind, Kind, Meta, Op, RemotePath, RenameMode, Result,
    Transport, Upload, WriteMode,
};

const ORIGIN: &str = "memory://";
const NEW_FILE_MODE: u32 = 0o644;
const NEW_DIR_MODE: u32 = 0o755;

/// What the account may do with a protected path and everything below it (see
/// [`MemoryTransport::protect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Neither read nor change (a `0600` file owned by someone else).
    None,
    /// Read, but not change (a root-owned folder on shared hosting).
    ReadOnly,
    /// Anything.
    Full,
}

#[derive(Debug, Clone)]
enum Data {
    File(Vec<u8>),
    Dir,
}

#[derive(Debug, Clone)]
struct Node {
    data: Data,
    mode: u32,
    mtime: SystemTime,
}

impl Node {
    fn meta(&self) -> Meta {
        let (kind, size) = match &self.data {
            Data::File(bytes) => (Kind::File, bytes.len() as u64),
            Data::Dir => (Kind::Dir, 0),
        };
        Meta {
            kind,
            size,
            mtime: Some(self.mtime),
            mode: Some(self.mode),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    nodes: BTreeMap<RemotePath, Node>,
    protected: BTreeMap<RemotePath, Access>,
}

/// A site that lives in memory. Clones share the same files, like two connections to one
/// server, so a test can watch one "connection" while another writes.
///
/// Writes take the whole upload before touching anything, so they are trivially atomic;
/// permission failures are simulated with [`protect`](Self::protect). It cannot run
/// commands.
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    state: Arc<Mutex<State>>,
}

impl MemoryTransport {
    /// An empty site.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restricts what may be done with `path` and everything below it, as an owner or mode
    /// on a real server would.
    pub fn protect(&self, path: &RemotePath, access: Access) {
        self.lock().protected.insert(path.clone(), access);
    }

    /// Sets the permission bits of an existing path, as `chmod` on a server would.
    pub fn set_mode(&self, path: &RemotePath, mode: u32) {
        if let Some(node) = self.lock().nodes.get_mut(path) {
            node.mode = mode;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not wedge the others that share the site.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn err(kind: ErrorKind, op: Op, path: &RemotePath) -> Error {
    Error::new(kind, op, ORIGIN).with_path(format!("/{}", path.as_str()))
}

impl State {
    fn node(&self, path: &RemotePath) -> Option<Meta> {
        if path.is_root() {
            return Some(Meta {
                kind: Kind::Dir,
                size: 0,
                mtime: None,
                mode: Some(NEW_DIR_MODE),
            });
        }
        self.nodes.get(path).map(Node::meta)
    }

    /// The most restrictive protection on `path` or any folder above it.
    fn access(&self, path: &RemotePath) -> Access {
        let mut access = Access::Full;
        let mut at = Some(path.clone());
        while let Some(p) = at {
            if let Some(a) = self.protected.get(&p) {
                access = access.min(*a);
            }
            at = p.parent();
        }
        access
    }

    fn check_read(&self, op: Op, path: &RemotePath) -> Result<()> {
        if self.access(path) == Access::None {
            return Err(err(ErrorKind::PermissionDenied, op, path));
        }
        Ok(())
    }

    /// Changing `path` means changing its folder's entries, as on a POSIX file system.
    fn check_change(&self, op: Op, path: &RemotePath) -> Result<()> {
        let parent = path.parent().unwrap_or_default();
        if self.access(path) != Access::Full || self.access(&parent) != Access::Full {
            return Err(err(ErrorKind::PermissionDenied, op, path));
        }
        Ok(())
    }

    fn check_parent_dir(&self, op: Op, path: &RemotePath) -> Result<()> {
        let parent = path.parent().unwrap_or_default();
        match self.node(&parent) {
            Some(Meta {
                kind: Kind::Dir, ..
            }) => Ok(()),
            Some(_) => Err(err(ErrorKind::NotADirectory, op, &parent)),
            None => Err(err(ErrorKind::NotFound, op, &parent)),
        }
    }

    fn children<'a>(&'a self, dir: &'a RemotePath) -> impl Iterator<Item = &'a RemotePath> + 'a {
        self.nodes
            .keys()
            .filter(move |p| p.parent().as_ref() == Some(dir))
    }
}

impl Transport for MemoryTransport {
    fn origin(&self) -> &str {
        ORIGIN
    }

    fn root(&self) -> &str {
        "/"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            exec: false,
            modes: true,
        }
    }

    fn list(&mut self, dir: &RemotePath) -> Result<Vec<Entry>> {
        let state = self.lock();
        match state.node(dir) {
            None => return Err(err(ErrorKind::NotFound, Op::List, dir)),
            Some(Meta {
                kind: Kind::Dir, ..
            }) => {}
            Some(_) => return Err(err(ErrorKind::NotADirectory, Op::List, dir)),
        }
        state.check_read(Op::List, dir)?;
        // BTreeMap order is RemotePath order, which within one folder is name order.
        Ok(state
            .children(dir)
            .map(|path| Entry {
                name: path.file_name().unwrap_or_default().to_owned(),
                meta: state.nodes[path].meta(),
            })
            .collect())
    }

    fn stat(&mut self, path: &RemotePath) -> Result<Option<Meta>> {
        Ok(self.lock().node(path))
    }

    fn read(&mut self, path: &RemotePath, sink: &mut dyn Write) -> Result<u64> {
        let data = {
            let state = self.lock();
            state.check_read(Op::Read, path)?;
            match state.nodes.get(path).map(|n| &n.data) {
                Some(Data::File(bytes)) => bytes.clone(),
                Some(Data::Dir) => return Err(err(ErrorKind::IsADirectory, Op::Read, path)),
                None if path.is_root() => {
                    return Err(err(ErrorKind::IsADirectory, Op::Read, path));
                }
                None => return Err(err(ErrorKind::NotFound, Op::Read, path)),
            }
        };
        sink.write_all(&data)
            .map_err(|e| err(ErrorKind::LocalIo, Op::Read, path).with_source(e))?;
        Ok(data.len() as u64)
    }

    fn write(&mut self, path: &RemotePath, mut data: Upload<'_>, mode: WriteMode) -> Result<()> {
        // Take the whole upload first, without the lock: an observer may look meanwhile,
        // and a failing reader must leave everything untouched.
        let mut bytes = Vec::new();
        data.reader
            .read_to_end(&mut bytes)
            .map_err(|e| err(ErrorKind::LocalIo, Op::Write, path).with_source(e))?;
        let mut state = self.lock();
        state.check_parent_dir(Op::Write, path)?;
        let file_mode = match state.node(path) {
            Some(Meta {
                kind: Kind::Dir, ..
            }) => {
                return Err(err(ErrorKind::IsADirectory, Op::Write, path));
            }
            Some(_) if mode != WriteMode::Replace => {
                return Err(err(ErrorKind::AlreadyExists, Op::Write, path));
            }
            Some(meta) => meta.mode.unwrap_or(NEW_FILE_MODE),
            None => NEW_FILE_MODE,
        };
        state.check_change(Op::Write, path)?;
        state.nodes.insert(
            path.clone(),
            Node {
                data: Data::File(bytes),
                mode: file_mode,
                mtime: SystemTime::now(),
            },
        );
        Ok(())
    }

    fn rename(&mut self, from: &RemotePath, to: &RemotePath, mode: RenameMode) -> Result<()> {
        let mut state = self.lock();
        let Some(source) = state.nodes.get(from).map(Node::meta) else {
            return Err(err(ErrorKind::NotFound, Op::Rename, from));
        };
        state.check_parent_dir(Op::Rename, to)?;
        match (state.node(to), mode) {
            (None, _) => {}
            (Some(_), RenameMode::NoReplace) => {
                return Err(err(ErrorKind::AlreadyExists, Op::Rename, to));
            }
            (
                Some(Meta {
                    kind: Kind::Dir, ..
                }),
                RenameMode::Replace,
            ) => {
                return Err(err(ErrorKind::IsADirectory, Op::Rename, to));
            }
            (Some(_), RenameMode::Replace) => {}
        }
        if source.kind == Kind::Dir && to.as_str().starts_with(&format!("{}/", from.as_str())) {
            return Err(err(
                ErrorKind::Protocol {
                    message: "cannot move a folder into itself".into(),
                },
                Op::Rename,
                from,
            ));
        }
        state.check_change(Op::Rename, from)?;
        state.check_change(Op::Rename, to)?;
        // Move the node and, for a folder, everything below it.
        let prefix = format!("{}/", from.as_str());
        let moving: Vec<RemotePath> = state
            .nodes
            .keys()
            .filter(|p| *p == from || p.as_str().starts_with(&prefix))
            .cloned()
            .collect();
        for old in moving {
            let node = state.nodes.remove(&old).expect("listed above");
            let rest = &old.as_str()[from.as_str().len()..];
            let new = RemotePath::new(&format!("{}{rest}", to.as_str())).expect("valid parts");
            state.nodes.insert(new, node);
        }
        Ok(())
    }

    fn mkdir(&mut self, path: &RemotePath) -> Result<()> {
        let mut state = self.lock();
        if state.node(path).is_some() {
            return Err(err(ErrorKind::AlreadyExists, Op::Mkdir, path));
        }
        state.check_parent_dir(Op::Mkdir, path)?;
        state.check_change(Op::Mkdir, path)?;
        state.nodes.insert(
            path.clone(),
            Node {
                data: Data::Dir,
                mode: NEW_DIR_MODE,
                mtime: SystemTime::now(),
            },
        );
        Ok(())
    }

    fn remove(&mut self, path: &RemotePath) -> Result<()> {
        let mut state = self.lock();
        match state.node(path) {
            None => return Err(err(ErrorKind::NotFound, Op::Remove, path)),
            Some(Meta {
                kind: Kind::Dir, ..
            }) if state.children(path).next().is_some() => {
                return Err(err(ErrorKind::NotEmpty, Op::Remove, path));
            }
            Some(_) => {}
        }
        if path.is_root() {
            return Err(err(ErrorKind::PermissionDenied, Op::Remove, path));
        }
        state.check_change(Op::Remove, path)?;
        state.nodes.remove(path);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance;
    use super::*;

    const CAPS: Capabilities = Capabilities {
        exec: false,
        modes: true,
    };

    fn scratch(t: &mut MemoryTransport) -> RemotePath {
        let dir = RemotePath::new("scratch").unwrap();
        t.mkdir(&dir).unwrap();
        dir
    }

    #[test]
    fn conformance() {
        let mut t = MemoryTransport::new();
        let dir = scratch(&mut t);
        let mut observer = t.clone();
        conformance::run_all(&mut t, &mut observer, &CAPS, &dir);
    }

    #[test]
    fn replace_keeps_mode() {
        let mut t = MemoryTransport::new();
        let file = RemotePath::new("wp-config.php").unwrap();
        t.write(&file, Upload::bytes(b"<?php"), WriteMode::Create)
            .unwrap();
        t.set_mode(&file, 0o640);
        conformance::write_replace_keeps_mode(&mut t, &file, 0o640);
    }

    #[test]
    fn permission_denied() {
        let mut t = MemoryTransport::new();
        let dir = scratch(&mut t);
        let protected = dir.join("protected").unwrap();
        t.mkdir(&protected).unwrap();
        let readonly = protected.join("readonly.txt").unwrap();
        let secret = protected.join("secret.txt").unwrap();
        t.write(
            &readonly,
            Upload::bytes(b"owned by root\n"),
            WriteMode::Create,
        )
        .unwrap();
        t.write(&secret, Upload::bytes(b"root only\n"), WriteMode::Create)
            .unwrap();
        t.protect(&protected, Access::ReadOnly);
        t.protect(&secret, Access::None);
        conformance::permission_denied(&mut t, &protected, &readonly, &secret);
    }
}

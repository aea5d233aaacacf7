//! What a run reaches: the site's files, its database, and the site over HTTP.

use crate::helper::db::Database;
use crate::transport::Transport;

use super::EngineError;
use super::check::Web;

/// What a run reaches: the site's files, its database, and the site over HTTP.
pub struct Access<'a> {
    /// The files.
    pub files: &'a mut dyn Transport,
    /// The database; steps that need it fail without it.
    pub db: Option<&'a dyn Database>,
    /// The site over HTTP, as the caller; checks fail without it.
    pub web: Option<&'a Web>,
}

impl<'a> Access<'a> {
    /// Files only.
    pub fn files(files: &'a mut dyn Transport) -> Self {
        Access {
            files,
            db: None,
            web: None,
        }
    }

    /// The database, or the error saying a step needs it.
    pub fn db(&self) -> Result<&'a dyn Database, EngineError> {
        self.db.ok_or(EngineError::NoDatabase)
    }
}

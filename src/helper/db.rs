//! The site's database as the engine sees it: a few row operations, each a compare-and-swap,
//! behind a trait so the engine does not care how they reach the server (the PHP helper over
//! SSH or over HTTP). Tables are named without the WordPress table prefix (`!name`: a table
//! its plugin created without one, named in full).

use crate::transport::Transport;

use super::{Helper, HelperError, Op};

pub use super::Row;

/// Why a row operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row is no longer as it was read: nothing was changed.
    #[error("table {table}: {why}")]
    Stale {
        /// The table (or tables, for several changes made as one unit).
        table: String,
        /// What did not match.
        why: String,
    },
    /// The helper could not do the operation.
    #[error(transparent)]
    Helper(#[from] HelperError),
}

/// A change to one database row, found again by `key` (a column and its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    /// The table, without the WordPress prefix.
    pub table: String,
    /// The column and value that find the row (`option_name`, `limit_login_lockouts`).
    pub key: (String, Vec<u8>),
    /// The row as it is (the columns that identify it exactly).
    pub before: Option<Row>,
    /// The row as it will be.
    pub after: Option<Row>,
}

/// One [`Database::select`] of several asked at once ([`Database::select_many`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select {
    /// The table, without the WordPress prefix.
    pub table: String,
    /// The column compared.
    pub column: String,
    /// The value it must hold.
    pub value: Vec<u8>,
}

/// A few row operations on the site's database. Each takes the connection the helper may
/// need (to upload itself over FTP, or to run `php` over SSH).
pub trait Database {
    /// Which of `names` exist, exactly as spelled (Wordfence has both `wfblocks7` and
    /// `wfBlocks7`).
    fn existing_tables(
        &self,
        t: &mut dyn Transport,
        names: &[String],
    ) -> Result<Vec<String>, DbError>;

    /// The rows of `table` whose `column` holds one of `values`.
    fn select(
        &self,
        t: &mut dyn Transport,
        table: &str,
        column: &str,
        values: &[Vec<u8>],
    ) -> Result<Vec<Row>, DbError>;

    /// The answers to several selects, in order. By default one by one; the helper asks them
    /// all in one request (one round trip, where each is one otherwise).
    fn select_many(
        &self,
        t: &mut dyn Transport,
        selects: &[Select],
    ) -> Result<Vec<Vec<Row>>, DbError> {
        selects
            .iter()
            .map(|s| self.select(t, &s.table, &s.column, std::slice::from_ref(&s.value)))
            .collect()
    }

    /// Turns the one row equal to `before` (on every column given) into `after`;
    /// [`DbError::Stale`] when no row is equal to `before`.
    fn update(
        &self,
        t: &mut dyn Transport,
        table: &str,
        before: &Row,
        after: &Row,
    ) -> Result<(), DbError>;

    /// Deletes the one row equal to `row`; [`DbError::Stale`] when there is none.
    fn delete(&self, t: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError>;

    /// Inserts `row` as given (keys included).
    fn insert(&self, t: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError>;

    /// Makes several row changes as one unit: all or none, where the database can (the
    /// helper runs them in one request and one transaction). By default, one by one.
    fn apply_rows(&self, t: &mut dyn Transport, rows: &[&RowChange]) -> Result<(), DbError> {
        for row in rows {
            match (&row.before, &row.after) {
                (Some(before), Some(after)) => self.update(t, &row.table, before, after)?,
                (Some(before), None) => self.delete(t, &row.table, before)?,
                (None, Some(after)) => self.insert(t, &row.table, after)?,
                (None, None) => {}
            }
        }
        Ok(())
    }
}

/// The PHP helper is how wprescue reaches a site's database, over SSH or over FTP and HTTP.
impl Database for Helper {
    fn existing_tables(
        &self,
        t: &mut dyn Transport,
        names: &[String],
    ) -> Result<Vec<String>, DbError> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Helper::existing_tables(self, t, &names).map_err(|e| from_helper(e, &names.join(", ")))
    }

    fn select(
        &self,
        t: &mut dyn Transport,
        table: &str,
        column: &str,
        values: &[Vec<u8>],
    ) -> Result<Vec<Row>, DbError> {
        let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        Helper::select(self, t, table, column, &values).map_err(|e| from_helper(e, table))
    }

    fn select_many(
        &self,
        t: &mut dyn Transport,
        selects: &[Select],
    ) -> Result<Vec<Vec<Row>>, DbError> {
        let ops: Vec<Op> = selects
            .iter()
            .map(|s| Op::Select {
                table: s.table.clone(),
                column: s.column.clone(),
                values: vec![s.value.clone()],
            })
            .collect();
        let tables: Vec<&str> = selects.iter().map(|s| s.table.as_str()).collect();
        let answers = self
            .call(t, &ops)
            .map_err(|e| from_helper(e, &tables.join(", ")))?;
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                super::Answer::Rows(rows) => rows,
                _ => unreachable!("decode_answers pairs each op with an answer of its kind"),
            })
            .collect())
    }

    fn update(
        &self,
        t: &mut dyn Transport,
        table: &str,
        before: &Row,
        after: &Row,
    ) -> Result<(), DbError> {
        let (before, after) = (before.clone(), after.clone());
        let op = Op::Update {
            table: table.to_owned(),
            before,
            after,
        };
        one_change(self, t, table, op)
    }

    fn delete(&self, t: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError> {
        let op = Op::Delete {
            table: table.to_owned(),
            rows: vec![row.clone()],
        };
        one_change(self, t, table, op)
    }

    fn insert(&self, t: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError> {
        let op = Op::Insert {
            table: table.to_owned(),
            rows: vec![row.clone()],
        };
        one_change(self, t, table, op)
    }

    fn apply_rows(&self, t: &mut dyn Transport, rows: &[&RowChange]) -> Result<(), DbError> {
        let ops: Vec<Op> = rows
            .iter()
            .filter_map(|row| {
                let table = row.table.clone();
                Some(match (&row.before, &row.after) {
                    (Some(before), Some(after)) => Op::Update {
                        table,
                        before: before.clone(),
                        after: after.clone(),
                    },
                    (Some(before), None) => Op::Delete {
                        table,
                        rows: vec![before.clone()],
                    },
                    (None, Some(after)) => Op::Insert {
                        table,
                        rows: vec![after.clone()],
                    },
                    (None, None) => return None,
                })
            })
            .collect();
        let tables: Vec<&str> = rows.iter().map(|r| r.table.as_str()).collect();
        self.call(t, &ops)
            .map(drop)
            .map_err(|e| from_helper(e, &tables.join(", ")))
    }
}

/// Runs one changing op on `table`, in a request of its own.
fn one_change(helper: &Helper, t: &mut dyn Transport, table: &str, op: Op) -> Result<(), DbError> {
    helper
        .call(t, &[op])
        .map(drop)
        .map_err(|e| from_helper(e, table))
}

/// A row that is no longer as planned is a stale plan, like a file that changed.
fn from_helper(e: HelperError, table: &str) -> DbError {
    match e {
        HelperError::Stale { why, .. } => DbError::Stale {
            table: table.to_owned(),
            why,
        },
        other => DbError::Helper(other),
    }
}

/// The value of `column` in `row`.
pub fn cell<'r>(row: &'r Row, column: &str) -> Option<&'r [u8]> {
    row.iter()
        .find(|(name, _)| name == column)
        .and_then(|(_, value)| value.as_deref())
}

/// Whether `row` has every column of `pattern` with the same value: how a row is found
/// again by what was read of it.
pub fn row_matches(row: &Row, pattern: &Row) -> bool {
    pattern
        .iter()
        .all(|(column, value)| row.iter().any(|(c, v)| c == column && v == value))
}

/// `row` with `column` set to `value`.
pub fn with_cell(row: &Row, column: &str, value: Vec<u8>) -> Row {
    row.iter()
        .map(|(name, old)| {
            if name == column {
                (name.clone(), Some(value.clone()))
            } else {
                (name.clone(), old.clone())
            }
        })
        .collect()
}

/// A database in memory, for the engine's unit tests.
#[cfg(test)]
pub mod memory {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;

    /// Tables of rows; a row matches when every given column is equal.
    #[derive(Debug, Default)]
    pub struct MemoryDatabase {
        /// The tables.
        pub tables: RefCell<BTreeMap<String, Vec<Row>>>,
        /// Read requests answered, counted as the helper would send them.
        pub reads: std::cell::Cell<usize>,
    }

    /// A row of text cells, as `[("column", "value"), ...]`.
    pub fn row(cells: &[(&str, &str)]) -> Row {
        cells
            .iter()
            .map(|(c, v)| ((*c).to_owned(), Some(v.as_bytes().to_vec())))
            .collect()
    }

    fn stale(table: &str) -> DbError {
        DbError::Stale {
            table: table.to_owned(),
            why: "no such row".into(),
        }
    }

    impl Database for MemoryDatabase {
        fn existing_tables(
            &self,
            _: &mut dyn Transport,
            names: &[String],
        ) -> Result<Vec<String>, DbError> {
            self.reads.set(self.reads.get() + 1);
            let tables = self.tables.borrow();
            Ok(names
                .iter()
                .filter(|n| tables.contains_key(*n))
                .cloned()
                .collect())
        }

        fn select(
            &self,
            _: &mut dyn Transport,
            table: &str,
            column: &str,
            values: &[Vec<u8>],
        ) -> Result<Vec<Row>, DbError> {
            self.reads.set(self.reads.get() + 1);
            let tables = self.tables.borrow();
            Ok(tables
                .get(table)
                .into_iter()
                .flatten()
                .filter(|row| cell(row, column).is_some_and(|v| values.iter().any(|w| w == v)))
                .cloned()
                .collect())
        }

        fn select_many(
            &self,
            t: &mut dyn Transport,
            selects: &[Select],
        ) -> Result<Vec<Vec<Row>>, DbError> {
            // One request for all, as the helper sends them.
            let before = self.reads.get();
            let answers = selects
                .iter()
                .map(|s| self.select(t, &s.table, &s.column, std::slice::from_ref(&s.value)))
                .collect();
            self.reads.set(before + 1);
            answers
        }

        fn update(
            &self,
            _: &mut dyn Transport,
            table: &str,
            before: &Row,
            after: &Row,
        ) -> Result<(), DbError> {
            let mut tables = self.tables.borrow_mut();
            let rows = tables.entry(table.to_owned()).or_default();
            let row = rows
                .iter_mut()
                .find(|r| row_matches(r, before))
                .ok_or_else(|| stale(table))?;
            for (column, value) in after {
                match row.iter_mut().find(|(c, _)| c == column) {
                    Some(slot) => slot.1 = value.clone(),
                    None => row.push((column.clone(), value.clone())),
                }
            }
            Ok(())
        }

        fn delete(&self, _: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError> {
            let mut tables = self.tables.borrow_mut();
            let rows = tables.entry(table.to_owned()).or_default();
            let at = rows
                .iter()
                .position(|r| row_matches(r, row))
                .ok_or_else(|| stale(table))?;
            rows.remove(at);
            Ok(())
        }

        fn insert(&self, _: &mut dyn Transport, table: &str, row: &Row) -> Result<(), DbError> {
            self.tables
                .borrow_mut()
                .entry(table.to_owned())
                .or_default()
                .push(row.clone());
            Ok(())
        }
    }
}

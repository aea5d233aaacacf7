//! Planning: every step of every rung turned into the changes it would make against the live
//! site, reading only.

use super::EngineError;
use super::access::Access;
use super::action::Action;
use super::caller::IpSource;
use super::change::Change;
use super::meaning::Meaning;
use super::step::Step;
use super::vars::Vars;
use super::view::View;

/// One change and the playbook it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The playbook's name.
    pub playbook: String,
    /// The change.
    pub action: Action,
}

/// One playbook as a rung of the ladder, before this run's template values are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RungSpec {
    /// The playbook's name.
    pub playbook: String,
    /// Its steps.
    pub steps: Vec<Step>,
    /// `{plugin_folder}`: its plugin's folder, relative to the WordPress root, when installed.
    pub plugin_folder: Option<String>,
    /// How its plugin reads the visitor's address, when it can be set to trust a proxy.
    pub ip_source: Option<IpSource>,
}

impl RungSpec {
    /// Whether planning it needs the caller's address.
    pub fn needs_ip(&self) -> bool {
        self.steps.iter().any(Step::needs_ip)
    }
}

/// One playbook's steps, with the values its templates take on this site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    /// The playbook's name.
    pub playbook: String,
    /// Its steps.
    pub steps: Vec<Step>,
    /// Its template values.
    pub vars: Vars,
}

/// Plans every step of each rung in order, against the live site, reading only. Within a
/// rung, later steps see what earlier ones will have done; each rung starts from the site as
/// it is. Steps with nothing to do produce no change.
pub fn plan(access: &mut Access<'_>, rungs: &[Rung]) -> Result<Vec<Planned>, EngineError> {
    let mut view = View::new(access);
    read_ahead(&mut view, rungs);
    let mut planned = Vec::new();
    for rung in rungs {
        planned.extend(plan_rung(&mut view, rung)?);
    }
    Ok(planned)
}

/// Asks the database for what planning `rungs` will read, all at once ([`View::read_ahead`]).
fn read_ahead(view: &mut View<'_>, rungs: &[Rung]) {
    view.read_ahead(|view| {
        for rung in rungs {
            let base = view.checkpoint();
            for step in &rung.steps {
                // Errors are the real plan's to report; a dry run goes on to the next step,
                // to learn its reads too.
                let _ = step.plan(view, &rung.vars);
            }
            view.restore(base);
        }
    });
}

/// Plans `rung` against the site as it is: rungs are alternatives (a rung that does not help
/// is undone before the next is tried), so none is planned on top of another.
fn plan_rung(view: &mut View<'_>, rung: &Rung) -> Result<Vec<Planned>, EngineError> {
    let base = view.checkpoint();
    let planned = plan_steps(view, rung);
    view.restore(base);
    planned
}

/// Like [`plan`], but a rung that cannot be planned (its database is out of reach, a value is
/// not in the expected shape) is left out, with the reason: the escalation ladder climbs past
/// a rung it cannot use.
pub fn plan_ladder(access: &mut Access<'_>, rungs: &[Rung]) -> Result<Ladder, EngineError> {
    let mut view = View::new(access);
    read_ahead(&mut view, rungs);
    let (mut planned, mut skipped) = (Vec::new(), Vec::new());
    for rung in rungs {
        match plan_rung(&mut view, rung) {
            Ok(changes) => planned.extend(changes),
            // A failing connection, or Ctrl-C, is not a rung's problem: stop.
            Err(e @ EngineError::Transport(_)) => return Err(e),
            Err(e) if crate::interrupt::requested() => return Err(e),
            Err(e) => skipped.push((rung.playbook.clone(), e)),
        }
    }
    Ok(Ladder { planned, skipped })
}

/// What [`plan_ladder`] found.
#[derive(Debug)]
pub struct Ladder {
    /// The changes of the rungs that could be planned, in order.
    pub planned: Vec<Planned>,
    /// The rungs left out, and why.
    pub skipped: Vec<(String, EngineError)>,
}

/// A rung's steps in order: later steps see what earlier ones will have done. Edits of one
/// file made one after the other become one ([`fold`]).
fn plan_steps(view: &mut View<'_>, rung: &Rung) -> Result<Vec<Planned>, EngineError> {
    let mut planned: Vec<Planned> = Vec::new();
    for step in &rung.steps {
        for action in step.plan(view, &rung.vars)? {
            let action = match planned.last_mut() {
                Some(last) => match fold(&mut last.action, action) {
                    None => continue,
                    Some(action) => action,
                },
                None => action,
            };
            planned.push(Planned {
                playbook: rung.playbook.clone(),
                action,
            });
        }
    }
    Ok(planned)
}

/// Folds `next` into `last` when both edit the same file, `next` on top of `last`, and both
/// say what they mean or neither does: one write instead of two (each is 7–9 round trips),
/// shown as one edit and undone as one. Gives `next` back otherwise.
fn fold(last: &mut Action, next: Action) -> Option<Action> {
    let (
        Action::Change(Change::Write {
            path,
            after,
            meaning,
            ..
        }),
        Action::Change(Change::Write {
            path: next_path,
            before: Some(next_before),
            after: next_after,
            meaning: next_meaning,
        }),
    ) = (&mut *last, &next)
    else {
        return Some(next);
    };
    if path != next_path || after != next_before || meaning.is_some() != next_meaning.is_some() {
        return Some(next);
    }
    after.clone_from(next_after);
    if let (Some(first), Some(then)) = (meaning.take(), next_meaning.clone()) {
        *meaning = Some(Meaning::both(first, then));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::db::memory::{MemoryDatabase, row};
    use crate::transport::{MemoryTransport, RemotePath};

    fn rung(name: &str, steps: &str) -> Rung {
        Rung {
            playbook: name.into(),
            steps: serde_saphyr::from_str(steps).unwrap(),
            vars: Vars::for_tests(),
        }
    }

    #[test]
    fn planning_asks_the_database_in_two_requests() {
        let db = MemoryDatabase::default();
        db.tables.borrow_mut().extend([
            (
                "usermeta".to_owned(),
                vec![
                    row(&[("umeta_id", "1"), ("meta_key", "a")]),
                    row(&[("umeta_id", "2"), ("meta_key", "b")]),
                ],
            ),
            (
                "wfBlocks7".to_owned(),
                vec![row(&[("id", "9"), ("IP", "x")])],
            ),
        ]);
        let rungs = [
            rung(
                "first",
                "- delete_rows: {table: [usermeta], where: {meta_key: a}}\n\
                 - delete_rows: {table: [usermeta], where: {meta_key: b}}\n",
            ),
            rung(
                "second",
                "- delete_rows: {table: [wfblocks7, wfBlocks7], where: {IP: x}}\n",
            ),
        ];
        let mut t = MemoryTransport::new();
        let mut access = Access {
            files: &mut t,
            db: Some(&db),
            web: None,
        };
        let ladder = plan_ladder(&mut access, &rungs).unwrap();
        assert!(ladder.skipped.is_empty(), "{:?}", ladder.skipped);
        let deleted: Vec<&str> = ladder
            .planned
            .iter()
            .map(|p| match &p.action {
                Action::Change(Change::Row { row, .. }) => row.table.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(deleted, ["usermeta", "usermeta", "wfBlocks7"]);
        assert_eq!(db.reads.get(), 2, "the tables, then every row, at once");
    }

    #[test]
    fn edits_of_one_file_one_after_the_other_are_one_write() {
        let path = RemotePath::new("public_html/.htaccess").unwrap();
        let other = RemotePath::new("public_html/.user.ini").unwrap();
        let write = |path: &RemotePath, before: &str, after: &str| {
            Action::write(path.clone(), Some(before.into()), after.into())
        };
        let mut last = write(&path, "a", "ab");
        assert_eq!(fold(&mut last, write(&path, "ab", "abc")), None);
        assert_eq!(last, write(&path, "a", "abc"));
        // Not on top of it, another file, or only one of them saying what it means.
        let apart = write(&path, "x", "y");
        assert_eq!(fold(&mut last, apart.clone()), Some(apart));
        let elsewhere = write(&other, "abc", "d");
        assert_eq!(fold(&mut last, elsewhere.clone()), Some(elsewhere));
        let meant = match write(&path, "abc", "abcd") {
            Action::Change(change) => Action::Change(change.meaning(Some(Meaning::AiosAllowed {
                ip: "10.0.0.1".parse().unwrap(),
            }))),
            other => other,
        };
        assert_eq!(fold(&mut last, meant.clone()), Some(meant));
        assert_eq!(last, write(&path, "a", "abc"));
    }
}

//! The one error renderer: `error: what happened`, its causes, then `hint: what to do next`,
//! chosen by the kind of error (with "did you mean" when a name was mistyped).

use crate::engine::EngineError;
use crate::parse::suggest::closest;
use crate::parse::text::printable;
use crate::playbook::PlaybookError;
use crate::site::SiteError;

use super::color::Color;

/// Prints `error` on stderr.
pub fn render(error: &anyhow::Error, color: Color) {
    // Messages carry what servers said (FTP replies, block pages): never let them drive the
    // terminal.
    let message = error.to_string();
    eprintln!("{} {}", color.error("error:"), printable(&message));
    let mut said = message;
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        let cause = without_library_code(&cause);
        // A cause the message already quotes says nothing new.
        if said.contains(cause) {
            continue;
        }
        eprintln!("  {} {}", color.label("caused by:"), printable(cause));
        said = cause.to_owned();
    }
    if let Some(hint) = hint(error) {
        eprintln!("{} {}", color.label("hint:"), printable(&hint));
    }
}

/// `text` without libssh2's code in front (`[Session(-9)] Timed out…`): the message says it in
/// words, and the code means nothing to the user.
fn without_library_code(text: &str) -> &str {
    let Some(rest) = text.strip_prefix('[') else {
        return text;
    };
    match rest.split_once("] ") {
        Some((code, message))
            if ["Session(", "SFTP("].iter().any(|p| code.starts_with(p)) && code.ends_with(')') =>
        {
            message
        }
        _ => text,
    }
}

/// What to do next, from the first error in the chain that knows.
fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|e| {
        if let Some(e) = e.downcast_ref::<super::args::BadArgument>() {
            return Some(e.hint.clone());
        }
        if let Some(e) = e.downcast_ref::<PlaybookError>() {
            return Some(playbook_hint(e));
        }
        if let Some(e) = e.downcast_ref::<SiteError>() {
            return site_hint(e);
        }
        if let Some(e) = e.downcast_ref::<EngineError>() {
            return match e {
                EngineError::Site(e) => site_hint(e),
                e => e.hint(),
            };
        }
        if let Some(e) = e.downcast_ref::<crate::helper::HelperError>() {
            return e.hint();
        }
        e.downcast_ref::<crate::transport::Error>()
            .and_then(|e| e.hint().map(str::to_owned))
    })
}

fn playbook_hint(error: &PlaybookError) -> String {
    match error {
        PlaybookError::Unknown { name, known } => {
            match closest(name, known.iter().map(String::as_str)) {
                Some(near) => format!("did you mean {near}? (`wprescue playbooks` lists them)"),
                None => format!(
                    "`wprescue playbooks` lists them; to run your own, give its file, e.g. ./{name}.yaml"
                ),
            }
        }
        _ => "fix the playbook at the line shown, then run again".into(),
    }
}

fn site_hint(error: &SiteError) -> Option<String> {
    match error {
        SiteError::NoSuchSite { wanted, sites, .. } => {
            closest(wanted, sites.iter().map(String::as_str))
                .map(|near| format!("did you mean --site {near}?"))
                .or_else(|| error.hint())
        }
        _ => error.hint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_errors_say_what_to_do() {
        let errors = [
            EngineError::NoRuns {
                place: "ftp://u@h:21/".into(),
                state_dir: "/s".into(),
            },
            EngineError::BadRunId("../x".into()),
            EngineError::NotUndone {
                run_id: "1-abcdef".into(),
                left: 1,
            },
            EngineError::BadPlan {
                path: "p".into(),
                why: "not JSON".into(),
            },
            EngineError::Interrupted {
                changed: 1,
                run_id: Some("1-abcdef".into()),
            },
        ];
        for error in errors {
            let shown = error.to_string();
            assert!(hint(&error.into()).is_some(), "no hint for {shown}");
        }
    }

    #[test]
    fn library_codes_are_left_out_of_causes() {
        assert_eq!(
            without_library_code("[Session(-9)] Timed out waiting on socket"),
            "Timed out waiting on socket"
        );
        assert_eq!(
            without_library_code("[SFTP(2)] No such file"),
            "No such file"
        );
        assert_eq!(without_library_code("[not a code] x"), "[not a code] x");
        assert_eq!(without_library_code("plain"), "plain");
    }

    #[test]
    fn a_mistyped_playbook_gets_a_suggestion() {
        let known = vec!["wordfence".to_owned(), "solid-security".to_owned()];
        let error = PlaybookError::Unknown {
            name: "wordfnece".into(),
            known: known.clone(),
        };
        assert_eq!(
            hint(&error.into()).unwrap(),
            "did you mean wordfence? (`wprescue playbooks` lists them)"
        );
        let error = PlaybookError::Unknown {
            name: "mine".into(),
            known,
        };
        assert!(hint(&error.into()).unwrap().contains("./mine.yaml"));
    }

    #[test]
    fn a_mistyped_site_gets_a_suggestion() {
        let error = SiteError::NoSuchSite {
            origin: "sftp://h".into(),
            wanted: "public_htm".into(),
            sites: vec!["public_html".into(), "staging".into()],
        };
        assert_eq!(
            hint(&EngineError::Site(error).into()).unwrap(),
            "did you mean --site public_html?"
        );
    }
}

//! Test-only fault injection: lets the integration tests stop a real `wprescue` process at a
//! named point (after step k, with a helper script on the server…) to prove recovery from a
//! crash or an interruption.
//!
//! Only debug builds read `WPRESCUE_TEST_FAULT`; in a release build [`point`] does nothing.
//! The variable holds `NAME:ACTION`, where `ACTION` is `abort` (die at once, as a crash or a
//! `kill -9` would), `pause` (wait up to a minute, or until Ctrl-C, so the test can send a
//! signal) or `hold` (create the file `WPRESCUE_TEST_FAULT_RELEASE` names, plus `.held`, then
//! wait up to a minute, or until that file exists, so the test can cut the network and let
//! the run go on).

/// Marks a named point in the run; `name` is e.g. `applied:2` or `helper-uploaded`.
pub fn point(name: &str) {
    if cfg!(debug_assertions) {
        hit(name, std::env::var("WPRESCUE_TEST_FAULT").ok().as_deref());
    }
}

/// How long `pause` and `hold` wait at most.
const HOLD_FOR: std::time::Duration = std::time::Duration::from_secs(60);

fn hit(name: &str, spec: Option<&str>) {
    let Some((wanted, action)) = spec.and_then(|s| s.rsplit_once(':')) else {
        return;
    };
    if wanted != name {
        return;
    }
    eprintln!("wprescue: test fault at {name}: {action}");
    let released: fn() -> bool = match action {
        "abort" => std::process::abort(),
        "pause" => crate::interrupt::requested,
        "hold" => {
            if let Some(file) = std::env::var_os("WPRESCUE_TEST_FAULT_RELEASE") {
                let mut held = file;
                held.push(".held");
                let _ = std::fs::write(held, "");
            }
            || {
                std::env::var_os("WPRESCUE_TEST_FAULT_RELEASE")
                    .is_some_and(|file| std::path::Path::new(&file).exists())
            }
        }
        _ => return,
    };
    let until = std::time::Instant::now() + HOLD_FOR;
    while !released() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::hit;

    #[test]
    fn other_points_and_no_spec_do_nothing() {
        hit("applied:1", None);
        hit("applied:1", Some("applied:2:abort"));
        hit("applied:1", Some("garbage"));
        hit("applied:1", Some("applied:1:unknown-action"));
    }
}

//! Test-only fault injection: lets the integration tests stop a real `wprescue` process at a
//! named point (after step k, with a helper script on the server…) to prove recovery from a
//! crash or an interruption.
//!
//! Only debug builds read `WPRESCUE_TEST_FAULT`; in a release build [`point`] does nothing.
//! The variable holds `NAME:ACTION`, where `ACTION` is `abort` (die at once, as a crash or a
//! `kill -9` would) or `pause` (wait up to a minute, or until Ctrl-C, so the test can send a
//! signal).

/// Marks a named point in the run; `name` is e.g. `applied:2` or `helper-uploaded`.
pub fn point(name: &str) {
    if cfg!(debug_assertions) {
        hit(name, std::env::var("WPRESCUE_TEST_FAULT").ok().as_deref());
    }
}

fn hit(name: &str, spec: Option<&str>) {
    let Some((wanted, action)) = spec.and_then(|s| s.rsplit_once(':')) else {
        return;
    };
    if wanted != name {
        return;
    }
    eprintln!("wprescue: test fault at {name}: {action}");
    match action {
        "abort" => std::process::abort(),
        "pause" => {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while !crate::interrupt::requested() && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        _ => {}
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

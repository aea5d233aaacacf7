//! The README opens with two commands: the main job against the sandbox, and all tests. CI must
//! run the second one verbatim, or the README would promise something CI never checks.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The first two ```sh blocks of the README, one command each.
fn opening_commands() -> (String, String) {
    let readme = read("README.md");
    let mut blocks = readme.split("```sh\n").skip(1).map(|rest| {
        let block = rest.split("```").next().unwrap().trim();
        assert!(
            !block.contains('\n'),
            "README commands are one line each: {block}"
        );
        block.to_owned()
    });
    (blocks.next().unwrap(), blocks.next().unwrap())
}

#[test]
fn ci_runs_the_readme_test_command_verbatim() {
    let (_, test_command) = opening_commands();
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == test_command),
        ".ci/run does not run the README's test command `{test_command}`"
    );
}

#[test]
fn the_main_command_uses_a_scenario_that_exists() {
    let (main_command, _) = opening_commands();
    let scenario = main_command
        .split("scenario ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the main command sets up a scenario");
    let script = format!("tests/sandbox/scenarios/{scenario}.sh");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(&script)
            .is_file(),
        "README names scenario {scenario}, but {script} does not exist"
    );
}

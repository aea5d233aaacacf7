//! How many requests each job sends to the server. Users sit 20–300 ms from their host, so
//! every sequential request costs at least that (`benches/wan` measures the wall time).
//!
//! Counted from the program's own trace (`WPRESCUE_LOG=debug` prints one line per file
//! operation, command and HTTP request that reaches the server; what the transport answers
//! from memory is not traced), per protocol, on a real Wordfence block, against budgets. A
//! change that adds requests fails here: lower a budget when a change saves some, raise one
//! only on purpose, saying why in the commit.

use crate::harness::{Protocol, Sandbox};
use crate::test::{Outcome, Test};

/// Requests one job sent, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Requests {
    /// File operations: list, stat, read, write, rename, mkdir, remove, and a prefetch.
    files: usize,
    /// Commands run over SSH (the database helper's `php`, the caller's `SSH_CLIENT`), and
    /// requests to one kept running (the helper's, a line each).
    commands: usize,
    /// HTTP requests: probes, the uploaded helper, verification.
    http: usize,
}

impl Requests {
    /// Counts the requests in a debug trace.
    fn traced(stderr: &str) -> Requests {
        let count = |marker: &str| stderr.lines().filter(|l| l.contains(marker)).count();
        Requests {
            files: count(" DEBUG ok op=") + count(" DEBUG failed op="),
            commands: count(" DEBUG exec"),
            http: count(" DEBUG http url="),
        }
    }

    fn within(self, budget: Requests) -> bool {
        self.files <= budget.files && self.commands <= budget.commands && self.http <= budget.http
    }
}

/// The budgets, per job and protocol: (files, commands, HTTP).
fn budget(job: &str, protocol: Protocol) -> Requests {
    // Measured, plus two file requests for noise; verification polls until the site
    // answers, so an unlock's HTTP requests get some room too.
    let (files, commands, http) = match (job, protocol) {
        ("diagnose", Protocol::Ssh) => (4, 0, 3),
        // Over FTP the two prefetches (discovery, then the logs with discovery's layout once
        // more) are walks over four connections, and the helper's files are written and
        // removed side by side: more requests than one at a time, fewer one after another.
        ("diagnose", _) => (32, 0, 3),
        // Planning asks the database in two requests, whatever the number of reads.
        ("unlock --dry-run", Protocol::Ssh) => (4, 8, 4),
        ("unlock --dry-run", _) => (41, 0, 9),
        ("unlock", Protocol::Ssh) => (9, 9, 10),
        ("unlock", _) => (46, 0, 15),
        ("rollback", Protocol::Ssh) => (4, 4, 0),
        ("rollback", _) => (15, 0, 3),
        _ => unreachable!("no budget for {job}"),
    };
    Requests {
        files,
        commands,
        http,
    }
}

#[test]
fn each_job_stays_within_its_request_budget() {
    let sb = Sandbox::lock();
    let mut over = Vec::new();
    for protocol in [Protocol::Ssh, Protocol::Ftp] {
        sb.scenario("wordfence-block");
        let state = tempfile::tempdir().unwrap();
        let job = |args: &[&str]| -> Outcome {
            let test = Test::new(&sb)
                .note(&format!("{} over {protocol:?}", args.join(" ")))
                .over(protocol)
                .args(&args[..1])
                .target();
            // Rollback needs no site address: it undoes what the journal says.
            let test = match args[0] {
                "rollback" => test,
                _ => test.locked_out(),
            };
            test.args(&args[1..])
                .state(state.path())
                .env("WPRESCUE_LOG", "debug")
                .run()
        };
        let runs = [
            ("diagnose", job(&["diagnose"]).status(2)),
            ("unlock --dry-run", job(&["unlock", "--dry-run"]).status(2)),
            ("unlock", job(&["unlock", "--yes"]).status(0)),
            ("rollback", job(&["rollback", "--yes"]).status(0)),
        ];
        if protocol == Protocol::Ftp {
            // By the second prefetch (after the HTTP probes) the spare connections are in.
            let (_, diagnose) = &runs[0];
            let shared = diagnose.stderr.lines().any(|l| {
                l.contains(" DEBUG prefetched connections=") && !l.contains("connections=1 ")
            });
            assert!(shared, "no prefetch went over several FTP connections");
        }
        for (name, run) in runs {
            let (used, allowed) = (Requests::traced(&run.stderr), budget(name, protocol));
            eprintln!("REQUESTS {name} over {protocol:?}: {used:?} (budget {allowed:?})");
            if !used.within(allowed) {
                over.push(format!("{name} over {protocol:?}: {used:?} > {allowed:?}"));
            }
        }
    }
    sb.reset();
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
}

#[test]
fn ftp_connections_1_keeps_to_one_connection() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let run = Test::new(&sb)
        .note("diagnose over FTP with --ftp-connections 1")
        .over(Protocol::Ftp)
        .args(["diagnose"])
        .target()
        .locked_out()
        .args(["--ftp-connections", "1"])
        .env("WPRESCUE_LOG", "debug")
        .run()
        .status(2);
    let walks: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(" DEBUG prefetched "))
        .collect();
    assert_eq!(walks.len(), 2, "{}", run.stderr);
    assert!(
        walks.iter().all(|l| l.contains("connections=1 ")),
        "{walks:?}"
    );
    sb.reset();
}

#[test]
fn the_trace_counts_what_it_should() {
    let trace = "\
2026-11-29T18:17:38.461325Z DEBUG ok op=\"list\" path=\"\" ms=403
2026-11-29T18:17:38.461325Z DEBUG failed op=\"stat\" path=\"x\" ms=1 error=denied
2026-11-29T18:17:42.265184Z DEBUG http url=\"http://127.0.0.10:18080/\" status=503
2026-11-29T18:17:46.684000Z DEBUG exec
2026-11-29T18:17:46.888904Z DEBUG helper call mode=Exec ops=1
2026-11-29T18:17:38.461325Z  INFO connected origin=\"ssh://x\"";
    assert_eq!(
        Requests::traced(trace),
        Requests {
            files: 2,
            commands: 1,
            http: 1,
        }
    );
}

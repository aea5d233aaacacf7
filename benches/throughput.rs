//! Transfer throughput per protocol against the sandbox, as a ratio to the local transport on
//! the same machine (the baseline: same code path, no network, no protocol).
//!
//! `cargo bench --bench throughput` (sandbox up). Prints MB/s and the ratio; asserts nothing
//! about speed. Each size is sent up and read back once, SHA-256-checked.

#[path = "../tests/harness.rs"]
mod harness;
// The transport contract's round trip, compiled here by path (the library compiles its
// checks only for tests); they name `crate::transport`, which `transport` below provides.
#[allow(dead_code)]
#[path = "../src/transport/conformance.rs"]
mod conformance;
mod transport {
    pub use wprescue::transport::*;
}

use std::time::Duration;

use conformance::round_trip_sha256;
use harness::{Protocol, Sandbox};
use wprescue::transport::{ConnectOptions, LocalTransport, RemotePath, Transport, TransportExt};

const SIZE: usize = 50_000_000;

fn measure(name: &str, t: &mut dyn Transport, dir: &RemotePath, baseline: Option<f64>) -> f64 {
    t.mkdir_all(dir).expect("a scratch folder");
    let rt = round_trip_sha256(t, dir, SIZE);
    t.remove_all(dir).expect("scratch folder removed");
    let mb_s = rt.round_trip_mb_s();
    let ratio = baseline.map_or("baseline".to_owned(), |b| {
        format!("{:.3} x local", mb_s / b)
    });
    println!(
        "{name:<6} up {:>7.1} MB/s  down {:>7.1} MB/s  round trip {:>7.1} MB/s  {ratio}",
        rt.upload_mb_s(),
        rt.download_mb_s(),
        mb_s
    );
    mb_s
}

fn main() {
    let sb = Sandbox::lock();
    let scratch = RemotePath::new("bench-throughput").unwrap();
    let local_dir = tempfile::tempdir().unwrap();
    let options = ConnectOptions {
        timeout: Duration::from_secs(60),
        progress: false,
        ..ConnectOptions::default()
    };
    let mut local = LocalTransport::open(local_dir.path(), &options).unwrap();
    println!("{} MB round trips, loopback", SIZE / 1_000_000);
    let baseline = measure("local", &mut local, &scratch, None);
    for (name, protocol) in [("sftp", Protocol::Sftp), ("ftp", Protocol::Ftp)] {
        let mut t = sb.connect(protocol);
        measure(name, t.as_mut(), &scratch, Some(baseline));
    }
}

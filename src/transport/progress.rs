//! Moving bytes: the one copy loop every transport uses, with a progress bar for transfers
//! that take long enough to wonder about.

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Large enough for libssh2 to pipeline many SFTP packets per call, and for few syscalls.
const CHUNK: usize = 256 * 1024;

/// A transfer shows a bar only once it has run this long: quick ones stay silent.
const SHOW_AFTER: Duration = Duration::from_millis(800);

/// Which side of a copy failed: the two mean different things to the caller (our data
/// source broke vs. the server refused).
#[derive(Debug)]
pub(crate) enum CopyError {
    /// Reading from the source failed.
    Source(io::Error),
    /// Writing to the destination failed.
    Sink(io::Error),
}

/// The slowest average a transfer may keep up once [`GRACE`] has passed, in bytes a second.
const MIN_RATE: u64 = 1024;

/// How long a transfer may run before [`MIN_RATE`] applies.
const GRACE: Duration = Duration::from_secs(60);

/// One file transfer's progress display.
pub(crate) struct Progress {
    enabled: bool,
    label: String,
    total: Option<u64>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A display for moving `label` (e.g. `upload wp-content/big.zip`) of `total` bytes.
    /// Nothing is drawn unless `enabled`, stderr is a terminal and the transfer runs long.
    pub(crate) fn new(enabled: bool, label: String, total: Option<u64>) -> Self {
        Self {
            enabled: Self::can_show(enabled),
            label,
            total,
            bar: None,
        }
    }

    /// Whether a display made with `enabled` could ever be drawn: when not, a transfer's
    /// size need not be asked for (over FTP, a round trip).
    pub(crate) fn can_show(enabled: bool) -> bool {
        enabled && io::stderr().is_terminal()
    }

    /// Copies everything from `from` to `to`; returns the number of bytes. A transfer that
    /// averages less than [`MIN_RATE`] once [`GRACE`] has passed fails as timed out: each
    /// read has its own timeout, but a peer sending a byte now and then never trips it.
    pub(crate) fn copy(
        &mut self,
        from: &mut dyn Read,
        to: &mut dyn Write,
    ) -> Result<u64, CopyError> {
        self.copy_at_least(from, to, MIN_RATE, GRACE)
    }

    fn copy_at_least(
        &mut self,
        from: &mut dyn Read,
        to: &mut dyn Write,
        min_rate: u64,
        grace: Duration,
    ) -> Result<u64, CopyError> {
        let start = Instant::now();
        let mut buf = vec![0; CHUNK];
        let mut done = 0u64;
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(CopyError::Source(e)),
            };
            to.write_all(&buf[..n]).map_err(CopyError::Sink)?;
            done += n as u64;
            self.tick(start, done);
            let elapsed = start.elapsed();
            if elapsed > grace && (done as f64) < elapsed.as_secs_f64() * min_rate as f64 {
                return Err(CopyError::Source(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "the transfer averaged less than {min_rate} bytes a second after {} s",
                        grace.as_secs()
                    ),
                )));
            }
        }
        to.flush().map_err(CopyError::Sink)?;
        Ok(done)
    }

    fn tick(&mut self, start: Instant, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        } else if self.enabled && start.elapsed() >= SHOW_AFTER {
            let bar = match self.total {
                Some(total) => {
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                        .with_style(
                            ProgressStyle::with_template(
                                "{msg} {wide_bar} {binary_bytes}/{binary_total_bytes} \
                         {binary_bytes_per_sec} {eta}",
                            )
                            .expect("valid template"),
                        )
                }
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                    .with_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg} {binary_bytes} {binary_bytes_per_sec}",
                        )
                        .expect("valid template"),
                    ),
            };
            bar.set_message(self.label.clone());
            bar.set_position(done);
            self.bar = Some(bar);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_everything_and_tells_source_from_sink_errors() {
        let data = vec![7u8; CHUNK * 2 + 5];
        let mut out = Vec::new();
        let mut p = Progress::new(true, "test".into(), Some(data.len() as u64));
        assert_eq!(p.copy(&mut &data[..], &mut out).unwrap(), data.len() as u64);
        assert_eq!(out, data);

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("source broke"))
            }
        }
        assert!(matches!(
            p.copy(&mut Broken, &mut out),
            Err(CopyError::Source(_))
        ));
        let mut full = [0u8; 3];
        assert!(matches!(
            p.copy(&mut &data[..], &mut &mut full[..]),
            Err(CopyError::Sink(_))
        ));
    }

    #[test]
    fn a_peer_that_sends_a_byte_now_and_then_is_cut_off() {
        struct Drip;
        impl Read for Drip {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(20));
                buf[0] = b'x';
                Ok(1)
            }
        }
        let mut p = Progress::new(false, "drip".into(), None);
        let err = p
            .copy_at_least(&mut Drip, &mut Vec::new(), 1024, Duration::from_millis(100))
            .unwrap_err();
        match err {
            CopyError::Source(e) => assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}"),
            CopyError::Sink(e) => panic!("{e}"),
        }
    }
}

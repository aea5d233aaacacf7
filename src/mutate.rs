//! Mutation testing for every parser of what a server sends (test builds only): each is fed
//! thousands of mutated samples and none may panic, or take long (the inputs are small, so a
//! quadratic or worse path shows as a run of minutes, not as a number a test checks). The
//! mutations are the usual fuzzing ones (flipped, inserted, deleted and repeated bytes, huge
//! numbers, cut-offs), from a fixed seed so a failure repeats; the failing input is printed.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Mutations per sample.
const ROUNDS: usize = 1500;

/// A small, fast, seeded generator (xorshift64*): no crate for a test's dice.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes parsers care about.
const INTERESTING: &[u8] = b"\"':;{}[]()<>?\\/#*.,-+=0123456789aisdbNO\n\r\t\0\xff\xc3 ";

/// `sample`, changed a few times over.
fn mutate(dice: &mut Dice, sample: &[u8]) -> Vec<u8> {
    let mut bytes = sample.to_vec();
    for _ in 0..1 + dice.below(4) {
        let at = dice.below(bytes.len() + 1);
        match dice.below(7) {
            0 if at < bytes.len() => bytes[at] ^= 1 << dice.below(8),
            1 => bytes.insert(at, INTERESTING[dice.below(INTERESTING.len())]),
            2 if at < bytes.len() => {
                let end = (at + 1 + dice.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 if at < bytes.len() => {
                let end = (at + 1 + dice.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                let times = 1 + dice.below(8);
                for _ in 0..times {
                    bytes.splice(at..at, copy.iter().copied());
                }
            }
            4 => {
                bytes.splice(at..at, *b"99999999999999999999");
            }
            5 => bytes.truncate(at),
            _ => {
                bytes.splice(at..at, *b"-1");
            }
        }
    }
    bytes
}

/// Runs `parse` on `ROUNDS` mutations of each sample; a panic names the input. Prints how
/// many inputs ran and the slowest one's time (`cargo test mutations -- --nocapture`).
pub fn survives(name: &str, samples: &[&[u8]], parse: impl Fn(&[u8])) {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let (mut runs, mut slowest) = (0, std::time::Duration::ZERO);
    for sample in samples {
        parse(sample);
        for _ in 0..ROUNDS {
            let input = mutate(&mut dice, sample);
            let started = std::time::Instant::now();
            if catch_unwind(AssertUnwindSafe(|| parse(&input))).is_err() {
                panic!("{name} panicked on {:?}", String::from_utf8_lossy(&input));
            }
            slowest = slowest.max(started.elapsed());
            runs += 1;
        }
    }
    eprintln!("MUTATIONS {name}: {runs} inputs, slowest {slowest:?}");
}

//! Content digests: how journals, saved plans and rollbacks recognise bytes without keeping
//! them.

use sha2::{Digest, Sha256};

/// The SHA-256 of `data`, in hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

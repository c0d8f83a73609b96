//! FNV-1a, 64 bits: a hash that is the same across Rust versions, processes and machines
//! (unlike `DefaultHasher`), for values that are stored or compared later: the spec hash
//! recorded with migrations, asset ETags, cursor fingerprints. Not for secrets.

/// An FNV-1a hasher fed piece by piece.
#[derive(Debug, Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl StableHasher {
    /// Adds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub fn finish(self) -> u64 {
        self.0
    }

    /// The hash so far as 16 lowercase hex digits.
    pub fn finish_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The stable hash of a text.
pub fn stable_hash(text: &str) -> u64 {
    let mut hasher = StableHasher::default();
    hasher.write(text.as_bytes());
    hasher.finish()
}

/// The stable hash of a text as 16 hex digits.
pub fn stable_hash_hex(text: &str) -> String {
    format!("{:016x}", stable_hash(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv1a_vectors() {
        assert_eq!(stable_hash_hex(""), "cbf29ce484222325");
        assert_eq!(stable_hash_hex("a"), "af63dc4c8601ec8c");
        assert_eq!(stable_hash_hex("foobar"), "85944171f73967e8");
    }
}

//! Sensitive values at rest: the keys that encrypt them and the stored format.
//!
//! Every `sensitive` field is stored as `esv1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`:
//! XChaCha20-Poly1305 with a random 24-byte nonce per value (random nonces of that size never
//! collide in practice, so no counter has to be kept anywhere), under the key the id names.
//! The associated data is the table, the column and the row's id, so a value copied into
//! another column or row no longer decrypts.
//!
//! A [`Keyring`] holds one or more keys: the first encrypts, every one decrypts, which is how
//! keys are rotated (add the new key first, re-encrypt, drop the old one). Key material is
//! zeroized when dropped and never printed: `Debug` shows the key ids only.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

/// What every stored sensitive value starts with: the format's version.
pub const SEALED_PREFIX: &str = "esv1:";

/// Bytes in a key.
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 32;

/// Where a sealed value lives: bound into its ciphertext as associated data.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The entity's table.
    pub table: &'a str,
    /// The field's column.
    pub column: &'a str,
    /// The row's primary key.
    pub row: Uuid,
}

impl Place<'_> {
    /// The associated data: the format, then each part followed by a NUL (names are snake_case
    /// identifiers, so no part can run into the next).
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(SEALED_PREFIX.len() + self.table.len() + self.column.len() + 20);
        for part in [SEALED_PREFIX.as_bytes(), self.table.as_bytes(), self.column.as_bytes(), self.row.as_bytes()] {
            aad.extend_from_slice(part);
            aad.push(0);
        }
        aad
    }
}

/// Why a key or a list of keys was refused. Messages never quote key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key in the list.
    #[error("no key given")]
    Empty,
    /// Entry `n` (from 1) is not base64.
    #[error("entry {0} is not base64 (standard or URL-safe)")]
    NotBase64(usize),
    /// Entry `n` decodes to the wrong number of bytes.
    #[error("entry {entry} decodes to {len} bytes; a key is {KEY_LEN} bytes (e.g. `openssl rand -base64 32`)")]
    Length {
        /// Which entry, from 1.
        entry: usize,
        /// How many bytes it decoded to.
        len: usize,
    },
    /// Entry `n` has an id that is not 1 to 32 letters, digits, `_` or `-`.
    #[error("entry {0} has a key id that is not 1 to 32 letters, digits, `_` or `-`")]
    BadId(usize),
    /// Two entries have the same id.
    #[error("two keys have the id `{0}`")]
    DuplicateId(String),
}

/// Why a stored value could not be opened, or a value sealed. Messages never quote the stored
/// text or the plain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// No keyring: sensitive values are never stored or read in plain text.
    #[error(
        "no secret key is configured, and sensitive values are never stored in plain text: set ENTITY_SPEC_SECRET_KEY or ENTITY_SPEC_SECRET_KEY_FILE"
    )]
    NoKey,
    /// The stored value does not carry the `esv1:` prefix (written before encryption, or by hand).
    #[error("the stored value is not encrypted (no `{SEALED_PREFIX}` prefix)")]
    NotSealed,
    /// The stored value has the prefix but not the format.
    #[error("the stored value is not in the `{SEALED_PREFIX}` format")]
    Malformed,
    /// The value was sealed under a key that is not configured.
    #[error("the stored value is encrypted under key `{0}`, which is not configured")]
    UnknownKey(String),
    /// The key is known but the value does not authenticate.
    #[error("the stored value does not decrypt under key `{0}` (changed, or moved from another column or row)")]
    Rejected(String),
}

/// One key: its id and the cipher holding its material (zeroized on drop).
pub struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SecretKey {
    /// A key from its 32 bytes, with `id`, or the first 8 hex digits of the bytes' SHA-256 when
    /// `id` is `None` (the same key always gets the same id).
    pub fn new(id: Option<&str>, bytes: &[u8]) -> Result<SecretKey, KeyError> {
        if bytes.len() != KEY_LEN {
            return Err(KeyError::Length { entry: 1, len: bytes.len() });
        }
        let id = match id {
            Some(id) if valid_key_id(id) => id.to_owned(),
            Some(_) => return Err(KeyError::BadId(1)),
            None => derived_key_id(bytes),
        };
        let cipher =
            XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| KeyError::Length { entry: 1, len: bytes.len() })?;
        Ok(SecretKey { id, cipher })
    }

    /// A new random key and its base64 text (for a key file or `ENTITY_SPEC_SECRET_KEY`).
    pub fn generate() -> Result<(SecretKey, Zeroizing<String>), getrandom::Error> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut_slice())?;
        let key = SecretKey::new(None, bytes.as_slice()).expect("32 bytes make a key");
        Ok((key, Zeroizing::new(STANDARD.encode(bytes.as_slice()))))
    }

    /// The key's id, as stored values carry it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Key ids end up inside stored values and messages: short, and no `:`.
fn valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn derived_key_id(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The keys sensitive values are sealed and opened with: the first seals, all open.
pub struct Keyring {
    keys: Vec<SecretKey>,
}

impl Keyring {
    /// A keyring of `keys`, newest (the one that seals) first.
    pub fn new(keys: Vec<SecretKey>) -> Result<Keyring, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|earlier| earlier.id == key.id) {
                return Err(KeyError::DuplicateId(key.id.clone()));
            }
        }
        Ok(Keyring { keys })
    }

    /// Reads keys written as entries `[id:]base64`, separated by commas or newlines (blank
    /// entries and lines starting with `#` are skipped), newest first. Without an id, a key's
    /// id is derived from it (see [`SecretKey::new`]).
    pub fn parse(text: &str) -> Result<Keyring, KeyError> {
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.starts_with('#'))
            .enumerate()
            .map(|(i, entry)| parse_entry(i + 1, entry));
        Keyring::new(entries.collect::<Result<_, _>>()?)
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Every key id, newest first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.id.as_str())
    }

    /// Whether a key with this id is configured.
    pub fn has(&self, id: &str) -> bool {
        self.keys.iter().any(|key| key.id == id)
    }

    /// Encrypts `plain` for `place` under the newest key, with a fresh random nonce.
    pub fn seal(&self, plain: &str, place: &Place<'_>) -> Result<String, CipherError> {
        let key = &self.keys[0];
        let mut nonce = XNonce::default();
        // The OS's random source failing is not something to store plain text over.
        getrandom::fill(nonce.as_mut_slice()).map_err(|_| CipherError::Rejected(key.id.clone()))?;
        let aad = place.associated_data();
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: &aad })
            .map_err(|_| CipherError::Rejected(key.id.clone()))?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(nonce.as_slice());
        body.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(body)))
    }

    /// Decrypts a value [`Keyring::seal`] stored for `place`.
    pub fn open(&self, stored: &str, place: &Place<'_>) -> Result<String, CipherError> {
        let id = sealed_key_id(stored).ok_or(CipherError::NotSealed)?;
        let body = stored[SEALED_PREFIX.len() + id.len() + 1..].trim_end();
        let key = self.keys.iter().find(|key| key.id == id).ok_or_else(|| CipherError::UnknownKey(printable_id(id)))?;
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| CipherError::Malformed)?;
        if body.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError::Malformed);
        }
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CipherError::Malformed)?;
        let aad = place.associated_data();
        let plain = key
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad: &aad })
            .map_err(|_| CipherError::Rejected(key.id.clone()))?;
        String::from_utf8(plain).map_err(|_| CipherError::Rejected(key.id.clone()))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("key_ids", &self.ids().collect::<Vec<_>>()).finish()
    }
}

/// The key id of a sealed value (`esv1:<id>:…`), or `None` when it is not sealed.
pub fn sealed_key_id(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(SEALED_PREFIX)?;
    rest.split_once(':').map(|(id, _)| id)
}

/// A key id read from the database, safe to show: ids are short identifiers, anything else
/// is not quoted.
pub fn printable_id(id: &str) -> String {
    if valid_key_id(id) { id.to_owned() } else { "(malformed id)".to_owned() }
}

fn parse_entry(entry: usize, text: &str) -> Result<SecretKey, KeyError> {
    // Base64 has no `:`, so a `:` can only end an id.
    let (id, encoded) = match text.split_once(':') {
        Some((id, encoded)) => (Some(id.trim()), encoded.trim()),
        None => (None, text),
    };
    let bytes = [STANDARD, URL_SAFE]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .or_else(|| URL_SAFE_NO_PAD.decode(encoded).ok())
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).ok())
        .map(Zeroizing::new)
        .ok_or(KeyError::NotBase64(entry))?;
    SecretKey::new(id, &bytes).map_err(|error| match error {
        KeyError::Length { len, .. } => KeyError::Length { entry, len },
        KeyError::BadId(_) => KeyError::BadId(entry),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn place(column: &str) -> Place<'_> {
        Place { table: "raw_data_sources", column, row: Uuid::from_u128(7) }
    }

    #[test]
    fn a_sealed_value_opens_and_never_shows_the_plain_text() {
        let ring = Keyring::parse(KEY_A).unwrap();
        let sealed = ring.seal("postgres://admin:hunter2@db/prod", &place("dsn")).unwrap();
        assert!(sealed.starts_with(&format!("esv1:{}:", ring.current_id())), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(ring.open(&sealed, &place("dsn")).unwrap(), "postgres://admin:hunter2@db/prod");
        // A fresh nonce each time: the same value never seals to the same text.
        assert_ne!(sealed, ring.seal("postgres://admin:hunter2@db/prod", &place("dsn")).unwrap());
    }

    #[test]
    fn a_changed_value_is_rejected() {
        let ring = Keyring::parse(KEY_A).unwrap();
        let sealed = ring.seal("secret", &place("dsn")).unwrap();
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(ring.open(&tampered, &place("dsn")), Err(CipherError::Rejected(ring.current_id().to_owned())));
        assert_eq!(ring.open("esv1:nokey", &place("dsn")), Err(CipherError::NotSealed));
        let id = ring.current_id();
        assert_eq!(ring.open(&format!("esv1:{id}:!!"), &place("dsn")), Err(CipherError::Malformed));
        assert_eq!(ring.open("plain text", &place("dsn")), Err(CipherError::NotSealed));
    }

    #[test]
    fn a_value_moved_to_another_column_or_row_is_rejected() {
        let ring = Keyring::parse(KEY_A).unwrap();
        let sealed = ring.seal("secret", &place("dsn")).unwrap();
        assert!(matches!(ring.open(&sealed, &place("other")), Err(CipherError::Rejected(_))));
        let other_row = Place { row: Uuid::from_u128(8), ..place("dsn") };
        assert!(matches!(ring.open(&sealed, &other_row), Err(CipherError::Rejected(_))));
        let other_table = Place { table: "raw_data_source", ..place("dsn") };
        assert!(matches!(ring.open(&sealed, &other_table), Err(CipherError::Rejected(_))));
    }

    #[test]
    fn the_wrong_key_is_rejected_and_an_unknown_key_is_named() {
        let a = Keyring::parse(&format!("k1:{KEY_A}")).unwrap();
        let b_claiming_a = Keyring::parse(&format!("k1:{KEY_B}")).unwrap();
        let b = Keyring::parse(KEY_B).unwrap();
        let sealed = a.seal("secret", &place("dsn")).unwrap();
        assert_eq!(b_claiming_a.open(&sealed, &place("dsn")), Err(CipherError::Rejected("k1".into())));
        let error = b.open(&sealed, &place("dsn")).unwrap_err();
        assert_eq!(error, CipherError::UnknownKey("k1".into()));
        assert_eq!(error.to_string(), "the stored value is encrypted under key `k1`, which is not configured");
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = Keyring::parse(KEY_A).unwrap();
        let rotated = Keyring::parse(&format!("{KEY_B}, {KEY_A}")).unwrap();
        let by_old = old.seal("secret", &place("dsn")).unwrap();
        assert_eq!(rotated.open(&by_old, &place("dsn")).unwrap(), "secret");
        let by_new = rotated.seal("secret", &place("dsn")).unwrap();
        assert_eq!(sealed_key_id(&by_new), Some(rotated.current_id()));
        assert_ne!(rotated.current_id(), old.current_id());
        assert!(matches!(old.open(&by_new, &place("dsn")), Err(CipherError::UnknownKey(_))));
        let ids: Vec<_> = rotated.ids().collect();
        assert_eq!(ids, [rotated.current_id(), old.current_id()]);
    }

    #[test]
    fn key_lists_are_checked_without_quoting_keys() {
        let file = format!("# rotated 2026-11\nnew:{KEY_B}\n\nold:{KEY_A}\n");
        let ring = Keyring::parse(&file).unwrap();
        assert_eq!(ring.ids().collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(derived_key_id(&STANDARD.decode(KEY_A).unwrap()).len(), 8);
        assert_eq!(Keyring::parse(" , \n").unwrap_err(), KeyError::Empty);
        assert_eq!(Keyring::parse(&format!("{KEY_A},not base64!")).unwrap_err(), KeyError::NotBase64(2));
        assert_eq!(Keyring::parse("c2hvcnQ=").unwrap_err(), KeyError::Length { entry: 1, len: 5 });
        assert_eq!(Keyring::parse(&format!("bad id:{KEY_A}")).unwrap_err(), KeyError::BadId(1));
        assert_eq!(Keyring::parse(&format!("x:{KEY_A},x:{KEY_B}")).unwrap_err(), KeyError::DuplicateId("x".into()));
        let debug = format!("{ring:?}");
        assert_eq!(debug, "Keyring { key_ids: [\"new\", \"old\"] }");
        for error in [KeyError::NotBase64(2), KeyError::Length { entry: 1, len: 5 }] {
            assert!(!error.to_string().contains(KEY_A));
        }
    }

    #[test]
    fn generated_keys_parse_back() {
        let (key, text) = SecretKey::generate().unwrap();
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(ring.current_id(), key.id());
    }
}

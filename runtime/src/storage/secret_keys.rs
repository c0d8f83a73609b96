//! Where the keys of sensitive fields come from (see [`crate::model::cipher`] for what they do):
//!
//! - `ENTITY_SPEC_SECRET_KEY`: keys as `[id:]base64` entries (32 bytes each), separated by
//!   commas, newest first; the newest encrypts, all decrypt.
//! - `ENTITY_SPEC_SECRET_KEY_FILE`: a file of the same entries, one per line (`#` comments).
//! - Neither, on SQLite: the key file `<database file>.key` next to the database, created on
//!   first start (mode 0600), so the embedded default is encrypted out of the box. Back it up
//!   with the database: without it the sensitive values cannot be read.
//! - Neither, on PostgreSQL: no key; the migration refuses to start a spec with sensitive
//!   fields, naming the variables.
//!
//! A bad configuration (both variables, bad base64, a wrong length, an unreadable file) is an
//! error naming the variable, never quoting its value.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::cipher::{KeyError, Keyring, SecretKey};

/// Keys inline: `[id:]base64` entries separated by commas, newest first.
pub const SECRET_KEY_VAR: &str = "ENTITY_SPEC_SECRET_KEY";
/// A file of keys, one `[id:]base64` entry per line, newest first.
pub const SECRET_KEY_FILE_VAR: &str = "ENTITY_SPEC_SECRET_KEY_FILE";

/// Where the keys of a database came from (for the start-up line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `ENTITY_SPEC_SECRET_KEY`.
    Variable,
    /// `ENTITY_SPEC_SECRET_KEY_FILE`, or the key file next to a SQLite database.
    File(PathBuf),
    /// The key file next to a SQLite database, created now.
    CreatedFile(PathBuf),
    /// Given by the program ([`crate::storage::db::Db::with_keyring`]).
    Given,
    /// No key is configured.
    None,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Variable => write!(f, "from {SECRET_KEY_VAR}"),
            KeySource::File(path) => write!(f, "from the key file {}", path.display()),
            KeySource::CreatedFile(path) => {
                write!(f, "from the key file {}, created now: back it up with the database", path.display())
            }
            KeySource::Given => f.write_str("given by the program"),
            KeySource::None => write!(f, "none configured (set {SECRET_KEY_VAR} or {SECRET_KEY_FILE_VAR})"),
        }
    }
}

/// Why the keys could not be loaded. Messages name the variable or file, never a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    /// Both variables are set.
    #[error("set only one of {SECRET_KEY_VAR} and {SECRET_KEY_FILE_VAR}")]
    Both,
    /// The keys of a variable or file are malformed.
    #[error("{source_name}: {error}")]
    Invalid {
        /// The variable, or the variable and the file.
        source_name: String,
        /// What is wrong.
        error: KeyError,
    },
    /// The key file could not be read or created.
    #[error("{source_name}: cannot {action} {}: {error}", path.display())]
    File {
        /// The variable, or what the file is.
        source_name: String,
        /// `read` or `create`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// The keys of a database's sensitive fields and where they came from. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SecretKeys {
    keyring: Option<Arc<Keyring>>,
    source: KeySource,
}

impl SecretKeys {
    /// No keys.
    pub fn none() -> SecretKeys {
        SecretKeys { keyring: None, source: KeySource::None }
    }

    /// Keys given by the program.
    pub fn given(keyring: Keyring) -> SecretKeys {
        SecretKeys { keyring: Some(Arc::new(keyring)), source: KeySource::Given }
    }

    /// The keys the environment configures (see the module docs); `sqlite_file` is the
    /// database file of a SQLite database, whose key file is used when nothing is configured.
    pub fn configured(sqlite_file: Option<&Path>) -> Result<SecretKeys, KeyConfigError> {
        let inline = std::env::var(SECRET_KEY_VAR).ok().filter(|v| !v.trim().is_empty());
        let file = std::env::var_os(SECRET_KEY_FILE_VAR).filter(|v| !v.is_empty()).map(PathBuf::from);
        SecretKeys::resolve(inline.as_deref(), file.as_deref(), sqlite_file)
    }

    /// [`SecretKeys::configured`] with the variables' values given.
    pub fn resolve(
        inline: Option<&str>,
        file: Option<&Path>,
        sqlite_file: Option<&Path>,
    ) -> Result<SecretKeys, KeyConfigError> {
        let (keyring, source) = match (inline, file, sqlite_file) {
            (Some(_), Some(_), _) => return Err(KeyConfigError::Both),
            (Some(text), None, _) => (parse(text, SECRET_KEY_VAR.to_owned())?, KeySource::Variable),
            (None, Some(path), _) => (read_key_file(path, SECRET_KEY_FILE_VAR)?, KeySource::File(path.to_owned())),
            (None, None, Some(database)) => {
                let path = key_file_beside(database);
                match create_key_file(&path)? {
                    true => (read_key_file(&path, "the database's key file")?, KeySource::CreatedFile(path)),
                    false => (read_key_file(&path, "the database's key file")?, KeySource::File(path)),
                }
            }
            (None, None, None) => return Ok(SecretKeys::none()),
        };
        Ok(SecretKeys { keyring: Some(Arc::new(keyring)), source })
    }

    /// The keyring, if any key is configured.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.keyring.as_deref()
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }
}

/// `<database file>.key`.
pub fn key_file_beside(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn parse(text: &str, source_name: String) -> Result<Keyring, KeyConfigError> {
    Keyring::parse(text).map_err(|error| KeyConfigError::Invalid { source_name, error })
}

fn read_key_file(path: &Path, source_name: &str) -> Result<Keyring, KeyConfigError> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|error| KeyConfigError::File {
        source_name: source_name.to_owned(),
        action: "read",
        path: path.to_owned(),
        error,
    })?);
    warn_if_shared(path);
    parse(&text, format!("{source_name} {}", path.display()))
}

/// Creates the key file with a new key unless it exists; returns whether it created it. The
/// key is written to a private temporary file first and linked into place, so two services
/// starting together never see a half-written file and never overwrite each other's key.
fn create_key_file(path: &Path) -> Result<bool, KeyConfigError> {
    if path.exists() {
        return Ok(false);
    }
    let failed = |error| KeyConfigError::File {
        source_name: "the database's key file".to_owned(),
        action: "create",
        path: path.to_owned(),
        error,
    };
    let (key, text) = SecretKey::generate().map_err(|e| failed(std::io::Error::other(e)))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        writeln!(
            file,
            "# entity-spec secret key (id {}): it decrypts the sensitive fields of the database beside it. Back it up with the database; never share it."
            , key.id()
        )?;
        writeln!(file, "{}", text.as_str())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(failed(error)),
    }
}

/// A key file others can read is worth a line in the log, not a refusal (it may be a
/// read-only secret mount whose mode the operator does not control).
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the secret key file can be read by other users: chmod 600 it");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("entity-spec-keys-{name}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_sqlite_database_gets_a_private_key_file_once() {
        let dir = temp_dir("sqlite");
        let database = dir.join("app.db");
        let first = SecretKeys::resolve(None, None, Some(&database)).unwrap();
        let path = dir.join("app.db.key");
        assert_eq!(first.source(), &KeySource::CreatedFile(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let second = SecretKeys::resolve(None, None, Some(&database)).unwrap();
        assert_eq!(second.source(), &KeySource::File(path));
        assert_eq!(first.keyring().unwrap().current_id(), second.keyring().unwrap().current_id());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn configured_keys_win_and_postgres_has_none_by_default() {
        let keys = SecretKeys::resolve(Some(KEY_A), None, Some(Path::new("/nonexistent/app.db"))).unwrap();
        assert_eq!(keys.source(), &KeySource::Variable);
        assert!(SecretKeys::resolve(None, None, None).unwrap().keyring().is_none());
        let both = SecretKeys::resolve(Some(KEY_A), Some(Path::new("/k")), None).unwrap_err();
        assert!(matches!(both, KeyConfigError::Both));
    }

    #[test]
    fn bad_configurations_name_the_variable_never_the_value() {
        let error = SecretKeys::resolve(Some("hunter2hunter2"), None, None).unwrap_err().to_string();
        assert!(error.starts_with("ENTITY_SPEC_SECRET_KEY: "), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = SecretKeys::resolve(None, Some(Path::new("/nonexistent/keys")), None).unwrap_err().to_string();
        assert!(error.starts_with("ENTITY_SPEC_SECRET_KEY_FILE: cannot read /nonexistent/keys"), "{error}");
        let dir = temp_dir("bad");
        let file = dir.join("keys");
        std::fs::write(&file, "c2VjcmV0LXZhbHVl\n").unwrap();
        let error = SecretKeys::resolve(None, Some(&file), None).unwrap_err().to_string();
        assert!(error.contains("entry 1 decodes to 12 bytes"), "{error}");
        assert!(!error.contains("c2VjcmV0"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

//! File sources (and SQLite `database` sources, which are files too), confined to the folders
//! of `ENTITY_SPEC_FILE_ROOTS`. None by default: file sources are refused with a message
//! saying how to allow them.
//!
//! A path is checked twice: as written, before the file system is touched (so the errors
//! cannot tell what exists outside the roots), then as the file that was opened (symbolic
//! links resolved, and on Linux the opened handle's own path), against the roots' canonical
//! paths, component by component. Only regular files are read: devices (`/dev/zero`), FIFOs,
//! sockets and folders are refused from the opened handle's metadata, and the open itself is
//! non-blocking, so a FIFO cannot hold it. Reads are capped in size and stopped by a timeout
//! between chunks.

use std::path::{Component, Path, PathBuf};

use tokio::io::AsyncReadExt;

use super::error::EgressError;
use super::setting_error::EgressConfigError;

/// The folders file sources may read, separated like `PATH` (`:` on Unix).
pub const FILE_ROOTS_VAR: &str = "ENTITY_SPEC_FILE_ROOTS";
/// The largest file a file source reads, by default.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Where file sources may read, and what they may not read even there.
#[derive(Clone, Debug)]
pub struct FileRoots {
    /// Each root as configured (absolute) and canonical.
    roots: Vec<(PathBuf, PathBuf)>,
    /// Files refused even inside a root (the service's own database).
    own_files: Vec<PathBuf>,
    max_bytes: u64,
}

impl Default for FileRoots {
    fn default() -> FileRoots {
        FileRoots::none()
    }
}

impl FileRoots {
    /// No roots: every file source is refused.
    pub fn none() -> FileRoots {
        FileRoots { roots: Vec::new(), own_files: Vec::new(), max_bytes: DEFAULT_MAX_FILE_BYTES }
    }

    /// [`FILE_ROOTS_VAR`]; a root that does not exist or is not a folder is an error naming it.
    pub fn from_env() -> Result<FileRoots, EgressConfigError> {
        match std::env::var_os(FILE_ROOTS_VAR) {
            Some(list) => FileRoots::new(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty())),
            None => Ok(FileRoots::none()),
        }
    }

    /// These folders.
    pub fn new(roots: impl IntoIterator<Item = impl AsRef<Path>>) -> Result<FileRoots, EgressConfigError> {
        let mut confined = FileRoots::none();
        for root in roots {
            let root = root.as_ref();
            let shown = root.display().to_string();
            let absolute = std::path::absolute(root)
                .map(|p| lexical(&p))
                .map_err(|e| EgressConfigError::new(FILE_ROOTS_VAR, &shown, format!("is not usable: {e}")))?;
            let canonical = std::fs::canonicalize(root)
                .map_err(|e| EgressConfigError::new(FILE_ROOTS_VAR, &shown, format!("is not usable: {e}")))?;
            if !canonical.is_dir() {
                return Err(EgressConfigError::new(FILE_ROOTS_VAR, &shown, "is not a folder"));
            }
            confined.roots.push((absolute, canonical));
        }
        Ok(confined)
    }

    /// Refuses `path` even inside a root (the service's own SQLite database: a `database`
    /// source must not list its tables, nor a `file` source read it).
    pub fn with_own_file(mut self, path: impl AsRef<Path>) -> FileRoots {
        let path = path.as_ref();
        let absolute = std::path::absolute(path).map(|p| lexical(&p)).unwrap_or_else(|_| path.to_owned());
        self.own_files.push(std::fs::canonicalize(&absolute).unwrap_or(absolute));
        self
    }

    /// Files larger than `max_bytes` are refused (default [`DEFAULT_MAX_FILE_BYTES`]).
    pub fn with_max_bytes(mut self, max_bytes: u64) -> FileRoots {
        self.max_bytes = max_bytes;
        self
    }

    /// The roots, canonical.
    pub fn roots(&self) -> Vec<&Path> {
        self.roots.iter().map(|(_, canonical)| canonical.as_path()).collect()
    }

    /// The size cap.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn within(&self, path: &Path, canonical_only: bool) -> bool {
        self.roots
            .iter()
            .any(|(absolute, canonical)| path.starts_with(canonical) || (!canonical_only && path.starts_with(absolute)))
    }

    fn outside(&self, given: &str, why: &str) -> EgressError {
        let roots: Vec<String> = self.roots().iter().map(|root| root.display().to_string()).collect();
        EgressError::FileRefused(format!(
            "{given} {why} the file roots ({FILE_ROOTS_VAR}={}); only files under them can be sources",
            roots.join(":")
        ))
    }
}

/// The path with `.` dropped and `..` applied to the components before it, without asking the
/// file system (which would tell what exists).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// An opened file source: the handle, its canonical path, its metadata.
struct Opened {
    file: tokio::fs::File,
    size: u64,
    canonical: PathBuf,
}

impl FileRoots {
    /// The whole of the file at `given` (a path or a `file://` URL's path), if it lies under
    /// the roots, is a regular file and is not larger than the cap; read in chunks that
    /// `timeout` stops.
    pub async fn read(&self, given: &str, timeout: std::time::Duration) -> Result<Vec<u8>, EgressError> {
        let Opened { mut file, size, .. } = self.open_confined(given).await?;
        let limit = self.max_bytes;
        if size > limit {
            return Err(EgressError::FileTooLarge { path: given.into(), size, limit });
        }
        let read = async {
            let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            let mut chunk = vec![0u8; CHUNK];
            loop {
                let n =
                    file.read(&mut chunk).await.map_err(|source| EgressError::File { path: given.into(), source })?;
                if n == 0 {
                    return Ok(content);
                }
                // The file may grow while it is read: the cap holds for what is read.
                if (content.len() + n) as u64 > limit {
                    return Err(EgressError::FileTooLarge {
                        path: given.into(),
                        size: (content.len() + n) as u64,
                        limit,
                    });
                }
                content.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| EgressError::Timeout { step: format!("reading {given}"), after: timeout })?
    }

    /// The canonical path of the SQLite database file at `given`, if it lies under the roots,
    /// is a regular file and is not this service's own database. Open it read-only, by this
    /// path.
    pub async fn database_file(&self, given: &str) -> Result<PathBuf, EgressError> {
        Ok(self.open_confined(given).await?.canonical)
    }

    async fn open_confined(&self, given: &str) -> Result<Opened, EgressError> {
        let roots = self;
        if roots.roots.is_empty() {
            return Err(EgressError::FileRefused(format!(
                "file sources are turned off: set {FILE_ROOTS_VAR} to the folders they may read \
                 (e.g. {FILE_ROOTS_VAR}=/srv/data:/srv/exports)"
            )));
        }
        let path = Path::new(given);
        let absolute = std::path::absolute(path)
            .map(|p| lexical(&p))
            .map_err(|source| EgressError::File { path: path.into(), source })?;
        if !roots.within(&absolute, false) {
            return Err(roots.outside(given, "is outside"));
        }
        let canonical = tokio::fs::canonicalize(&absolute)
            .await
            .map_err(|source| EgressError::File { path: path.into(), source })?;
        if !roots.within(&canonical, true) {
            return Err(roots.outside(given, "leads (through a symbolic link) outside"));
        }
        let mut options = tokio::fs::OpenOptions::new();
        options.read(true);
        // Non-blocking, so that opening a FIFO returns at once; no symbolic link as the last
        // component, since `canonical` has none and one appearing now is a swap.
        #[cfg(unix)]
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
        let file = options.open(&canonical).await.map_err(|source| EgressError::File { path: path.into(), source })?;
        // What was opened, not what was checked: a folder swapped for a link between the
        // check and the open shows here.
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let opened = tokio::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).await;
            if opened.is_ok_and(|opened| !roots.within(&opened, true)) {
                return Err(roots.outside(given, "was swapped for a file outside"));
            }
        }
        let metadata = file.metadata().await.map_err(|source| EgressError::File { path: path.into(), source })?;
        if !metadata.is_file() {
            return Err(EgressError::FileRefused(format!("{given} is {}, not a regular file", kind(&metadata))));
        }
        if self.is_own_file(&metadata) {
            return Err(EgressError::FileRefused(format!("{given} is this service's own database")));
        }
        Ok(Opened { file, size: metadata.len(), canonical })
    }

    fn is_own_file(&self, opened: &std::fs::Metadata) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.own_files
                .iter()
                .filter_map(|own| std::fs::metadata(own).ok())
                .any(|own| own.dev() == opened.dev() && own.ino() == opened.ino())
        }
        #[cfg(not(unix))]
        {
            let _ = opened;
            false
        }
    }
}

fn kind(metadata: &std::fs::Metadata) -> &'static str {
    if metadata.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::config::Egress;
    use crate::egress::policy::EgressPolicy;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("entity-spec-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn egress(roots: &[&Path]) -> Egress {
        Egress::new(EgressPolicy::default(), FileRoots::new(roots).unwrap())
    }

    #[tokio::test]
    async fn without_roots_file_sources_are_refused_with_the_setting_to_change() {
        let error =
            Egress::new(EgressPolicy::default(), FileRoots::none()).read_file("/etc/hostname").await.unwrap_err();
        assert!(error.to_string().starts_with("file sources are turned off: set ENTITY_SPEC_FILE_ROOTS"), "{error}");
    }

    #[tokio::test]
    async fn paths_outside_the_roots_are_refused_without_telling_whether_they_exist() {
        let root = temp_dir("outside");
        std::fs::write(root.join("ok.csv"), "a\n1\n").unwrap();
        let egress = egress(&[&root]);
        assert_eq!(egress.read_file(root.join("ok.csv").to_str().unwrap()).await.unwrap(), b"a\n1\n");
        let exists = egress.read_file("/etc/passwd").await.unwrap_err().to_string();
        let missing = egress.read_file("/etc/no-such-file").await.unwrap_err().to_string();
        assert!(exists.starts_with("/etc/passwd is outside the file roots"), "{exists}");
        assert_eq!(exists.replace("/etc/passwd", "X"), missing.replace("/etc/no-such-file", "X"));
        let dotted = format!("{}/../../etc/passwd", root.display());
        assert!(egress.read_file(&dotted).await.unwrap_err().to_string().contains("is outside the file roots"));
    }

    #[tokio::test]
    async fn links_devices_fifos_folders_and_large_files_are_refused() {
        let root = temp_dir("kinds");
        std::os::unix::fs::symlink("/etc/passwd", root.join("link.csv")).unwrap();
        std::fs::create_dir(root.join("folder.csv")).unwrap();
        let fifo = root.join("pipe.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let big = std::fs::File::create(root.join("big.csv")).unwrap();
        big.set_len(2 * 1024 * 1024).unwrap();
        let egress = Egress::new(
            EgressPolicy::default(),
            FileRoots::new([&root, Path::new("/dev")]).unwrap().with_max_bytes(1024 * 1024),
        );
        let at = |name: &str| root.join(name).display().to_string();
        let link = egress.read_file(&at("link.csv")).await.unwrap_err().to_string();
        assert!(link.contains("leads (through a symbolic link) outside the file roots"), "{link}");
        assert!(
            egress
                .read_file(&at("folder.csv"))
                .await
                .unwrap_err()
                .to_string()
                .ends_with("is a folder, not a regular file")
        );
        assert!(
            egress.read_file(&at("pipe.csv")).await.unwrap_err().to_string().ends_with("is a FIFO, not a regular file")
        );
        assert!(
            egress.read_file("/dev/zero").await.unwrap_err().to_string().ends_with("is a device, not a regular file")
        );
        let big = egress.read_file(&at("big.csv")).await.unwrap_err().to_string();
        assert!(big.ends_with("is 2097152 bytes, more than the 1048576-byte limit for file sources"), "{big}");
    }

    #[tokio::test]
    async fn the_own_database_is_refused_inside_a_root() {
        let root = temp_dir("own");
        std::fs::write(root.join("service.db"), "not really").unwrap();
        std::fs::write(root.join("other.db"), "not really").unwrap();
        let egress = egress(&[&root]).with_own_file(root.join("service.db"));
        let own = egress.database_file(&format!("{}/./service.db", root.display())).await.unwrap_err().to_string();
        assert!(own.ends_with("is this service's own database"), "{own}");
        assert_eq!(
            egress.database_file(root.join("other.db").to_str().unwrap()).await.unwrap(),
            std::fs::canonicalize(root.join("other.db")).unwrap()
        );
    }

    #[test]
    fn a_missing_root_is_an_error_naming_it() {
        let error = FileRoots::new(["/no/such/root"]).unwrap_err().to_string();
        assert!(error.starts_with("ENTITY_SPEC_FILE_ROOTS: `/no/such/root` is not usable"), "{error}");
    }
}

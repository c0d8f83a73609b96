//! `entity-spec.toml`: the repository's own settings for the workflow commands, written by
//! `entity-spec init`. Optional; a missing file means the defaults. Unknown keys are refused,
//! so a misspelt opt-out cannot silently leave auto-merge on.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Deserialize;

/// The file's name, looked up in the crate's directory, then at the top of the repository.
pub const FILE_NAME: &str = "entity-spec.toml";

/// The settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// `[implement]`
    #[serde(default)]
    pub implement: ImplementConfig,
}

/// `[implement]`: what `entity-spec implement` does after it opens a pull request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplementConfig {
    /// Whether a low-risk pull request gets GitHub's auto-merge (squash). Default true.
    #[serde(default = "yes")]
    pub auto_merge: bool,
}

impl Default for ImplementConfig {
    fn default() -> ImplementConfig {
        ImplementConfig { auto_merge: true }
    }
}

fn yes() -> bool {
    true
}

impl RepoConfig {
    /// Reads the first `entity-spec.toml` of `dirs`, or the defaults when there is none.
    pub fn load(dirs: &[&Path]) -> Result<(RepoConfig, Option<String>)> {
        for dir in dirs {
            let path = dir.join(FILE_NAME);
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let label = path.display().to_string();
            let config = toml::from_str(&text).with_context(|| format!("{label} is not valid"))?;
            return Ok((config, Some(label)));
        }
        Ok((RepoConfig::default(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_merge_is_on_unless_the_file_turns_it_off() {
        let config: RepoConfig = toml::from_str("").unwrap();
        assert!(config.implement.auto_merge);
        let config: RepoConfig = toml::from_str("[implement]\nauto_merge = false\n").unwrap();
        assert!(!config.implement.auto_merge);
        let error = toml::from_str::<RepoConfig>("[implement]\nautomerge = false\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `automerge`"), "{error}");
    }
}

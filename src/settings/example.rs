//! `mediaconf init`: the commented example config file, which lists every key.

use std::io::Write;
use std::path::Path;

/// The example `mediaconf init` writes: `target` and two reports set, every other key
/// commented out with its default.
pub const EXAMPLE: &str = include_str!("example.toml");

/// Writes [`EXAMPLE`] to `path`; an existing file is replaced only with `force`.
pub fn write_example(path: &Path, force: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} already exists: refusing to overwrite it (pass --force to replace it)",
            path.display()
        ),
        _ => format!("cannot write {}: {e}", path.display()),
    })?;
    file.write_all(EXAMPLE.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{KEYS, parse_config};

    #[test]
    fn the_example_loads() {
        let config = parse_config(Path::new("mediaconf.toml"), EXAMPLE).unwrap();
        assert_eq!(config.target.as_deref(), Some("http://127.0.0.1:8008"));
    }

    /// Uncommenting every line gives a valid file (except that only one account key may be
    /// set), so every commented value is a valid one.
    #[test]
    fn every_key_is_in_the_example_with_a_valid_value() {
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" = "))
                    .unwrap_or(l)
            })
            .filter(|l| !l.starts_with("registration-"))
            .map(|l| format!("{l}\n"))
            .collect();
        let config = parse_config(Path::new("mediaconf.toml"), &uncommented).unwrap();
        assert!(config.secret.is_some());
        for key in KEYS {
            assert!(
                EXAMPLE.contains(&format!("\n# {key} = "))
                    || EXAMPLE.contains(&format!("\n{key} = ")),
                "{key} is not in the example"
            );
        }
    }

    #[test]
    fn an_existing_file_is_replaced_only_with_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mediaconf.toml");
        std::fs::write(&path, "mine").unwrap();
        let refused = write_example(&path, false).unwrap_err();
        assert!(refused.contains("pass --force"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");
        write_example(&path, true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), EXAMPLE);
    }
}

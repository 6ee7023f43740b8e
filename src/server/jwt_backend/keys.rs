//! The HS256 signing secret: read from the environment, or generated once from the operating
//! system's random generator and kept in the data directory with owner-only permissions.
//! `key_pair` keeps the EdDSA and RS256 private keys the same way.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use rand::RngCore;

/// File name of the generated secret inside the data directory.
pub const SECRET_FILE: &str = "jwt-hs256.key";

/// Minimum secret length in bytes: HS256 needs a key at least as long as its 256-bit output.
pub const MIN_SECRET_BYTES: usize = 32;

/// A JWT signing secret. Its `Debug` output never shows the bytes.
#[derive(Clone)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, KeyError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        Ok(Self(bytes))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningSecret([{} bytes redacted])", self.0.len())
    }
}

/// Where the secret in use came from, for the start-up log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    ExistingFile(PathBuf),
    GeneratedFile(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the JWT secret has {0} bytes, but at least {MIN_SECRET_BYTES} are required")]
    TooShort(usize),
    #[error("the JWT key file {path} is invalid: {reason}")]
    InvalidFile { path: PathBuf, reason: String },
    #[error("failed to read or write the JWT key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Returns the secret from `env_value` when set, else from the data directory's key file,
/// generating that file on first use.
pub fn load_or_generate(
    env_value: Option<String>,
    data_dir: &Path,
) -> Result<(SigningSecret, SecretSource), KeyError> {
    if let Some(value) = env_value {
        let secret = SigningSecret::from_bytes(value.into_bytes())?;
        return Ok((secret, SecretSource::Environment));
    }

    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            restrict_permissions(&path)?;
            let secret = decode_file(&path, &text)?;
            Ok((secret, SecretSource::ExistingFile(path)))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate_file(&path)?;
            Ok((secret, SecretSource::GeneratedFile(path)))
        }
        Err(source) => Err(KeyError::Io { path, source }),
    }
}

fn decode_file(path: &Path, text: &str) -> Result<SigningSecret, KeyError> {
    let bytes = hex::decode(text.trim()).map_err(|error| KeyError::InvalidFile {
        path: path.to_owned(),
        reason: format!("expected hex text ({error}); delete the file to generate a new key"),
    })?;
    SigningSecret::from_bytes(bytes).map_err(|error| KeyError::InvalidFile {
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

fn generate_file(path: &Path) -> Result<SigningSecret, KeyError> {
    let mut bytes = vec![0u8; MIN_SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    write_owner_only(path, format!("{}\n", hex::encode(&bytes)).as_bytes())?;
    SigningSecret::from_bytes(bytes)
}

/// Creates `path` with mode 0600 and writes `contents` to it. create_new with that mode means
/// the file never exists with wider permissions, and two servers starting at once cannot
/// overwrite each other's key.
pub(super) fn write_owner_only(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let io_error = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    // The key is written to a temporary file first and linked into place once it is complete
    // and synced, so a crash mid-write leaves no partial key file that the next start would
    // fail to read. The link fails if the key file exists, as `create_new` would.
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = write_new_file(&temporary, contents).and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    written.map_err(io_error)?;
    if let Some(directory) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::File::open(directory).and_then(|directory| directory.sync_all()).map_err(io_error)?;
    }
    Ok(())
}

/// Creates `path` with mode 0600, writes `contents` and syncs them to disk.
fn write_new_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Sets the mode of the key file at `path` to 0600 when others could read it.
pub(super) fn restrict_permissions(path: &Path) -> Result<(), KeyError> {
    let io_error = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io_error)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"),
            "JWT key file was readable by others; restricting it to the owner");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_error)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_file_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, source) = load_or_generate(None, dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);

        assert_eq!(source, SecretSource::GeneratedFile(path.clone()));
        assert_eq!(secret.expose().len(), MIN_SECRET_BYTES);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn key_file_is_reused_on_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = load_or_generate(None, dir.path()).unwrap();
        let (second, source) = load_or_generate(None, dir.path()).unwrap();

        assert_eq!(first.expose(), second.expose());
        assert_eq!(source, SecretSource::ExistingFile(dir.path().join(SECRET_FILE)));
    }

    #[test]
    fn short_environment_secret_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let error = load_or_generate(Some("too-short".into()), dir.path()).unwrap_err();
        assert!(matches!(error, KeyError::TooShort(9)));
    }

    #[test]
    fn secret_debug_output_is_redacted() {
        let secret = SigningSecret::from_bytes(vec![b'k'; 40]).unwrap();
        assert_eq!(format!("{secret:?}"), "SigningSecret([40 bytes redacted])");
    }

    #[test]
    fn wide_permissions_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        load_or_generate(None, dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        load_or_generate(None, dir.path()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! The stack's secrets on disk: passwords and tokens it generates or is given, each in a file
//! only its owner may read (mode 0600), in a directory only its owner may enter (0700).

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::Context as _;

/// A new random secret: 32 hexadecimal digits (128 bits), safe in URLs, JSON and configs.
pub fn generate() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Writes `contents` to `path`, readable and writable by the owner only. The file is created
/// with mode 0600 (never briefly readable by others) and an existing one is set to 0600 before
/// it is overwritten.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    if path.exists() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("chmod 600 {}", path.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("write {}", path.display()))?;
    file.write_all(contents.as_ref())
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Creates `dir` (and its parents) if needed and makes it 0700.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("mkdir {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("chmod 700 {}", dir.display()))
}

/// The permission bits of `path`, e.g. `0o600`.
pub fn mode(path: &Path) -> anyhow::Result<u32> {
    let meta = std::fs::metadata(path).with_context(|| format!("stat {}", path.display()))?;
    Ok(meta.permissions().mode() & 0o777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_0600_even_when_it_existed_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, "new").unwrap();
        assert_eq!(mode(&path).unwrap(), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let fresh = dir.path().join("fresh");
        write(&fresh, "x").unwrap();
        assert_eq!(mode(&fresh).unwrap(), 0o600);
    }

    #[test]
    fn generated_secrets_differ_and_need_no_escaping() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

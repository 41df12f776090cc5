//! What identifies a file whatever its name: device and inode. A checkpoint also keeps a hash
//! of the file's first bytes, so a new file that reuses an old inode is not mistaken for it.

use std::fs::{File, Metadata};
use std::hash::Hasher;
use std::os::unix::fs::{FileExt, MetadataExt};

/// Bytes of a file's head hashed into a checkpoint.
pub const HEAD_BYTES: usize = 64;

/// Device and inode of a file.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Fingerprint {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl Fingerprint {
    /// The fingerprint of a file's metadata.
    pub fn of(meta: &Metadata) -> Fingerprint {
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// The length and hash of the first `min(len, HEAD_BYTES)` bytes of `file`.
pub fn head(file: &File, len: u64) -> std::io::Result<(u64, u64)> {
    let n = len.min(HEAD_BYTES as u64) as usize;
    let mut buf = [0u8; HEAD_BYTES];
    let mut read = 0;
    while read < n {
        let got = file.read_at(&mut buf[read..n], read as u64)?;
        if got == 0 {
            break;
        }
        read += got;
    }
    let mut h = rustc_hash::FxHasher::default();
    h.write(&buf[..read]);
    Ok((read as u64, h.finish()))
}

/// The hash of the first `len` bytes, if the file has that many.
pub fn head_of_len(file: &File, len: u64) -> std::io::Result<Option<u64>> {
    let (got, hash) = head(file, len)?;
    Ok((got == len).then_some(hash))
}

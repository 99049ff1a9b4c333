//! Part sizes and ETags: how a file is cut into the parts of a multipart
//! upload, and the ETag S3 gives the object, computed locally so that an
//! unchanged file can be recognised without downloading anything.
//!
//! S3 limits (S3 user guide, "Amazon S3 multipart upload limits"): at most
//! 10,000 parts, each at least 5 MiB except the last, at most 5 GiB. The
//! ETag of an object put in one request without SSE-KMS or SSE-C is the
//! hex MD5 of its bytes; of a multipart upload, the hex MD5 of the
//! concatenated binary MD5s of its parts, then `-<part count>` (S3 API
//! reference, "Object", `ETag`; the rule every S3 sync tool relies on).

use std::io::Read as _;
use std::path::Path;

use md5::Digest as _;

/// One mebibyte, in bytes.
pub const MIB: u64 = 1024 * 1024;
/// Files of this many bytes or more go up as multipart uploads; smaller
/// ones in one `PutObject` (the AWS CLI's `multipart_threshold`, 8 MiB).
pub const MULTIPART_THRESHOLD: u64 = 8 * MIB;
/// The smallest part this crate uploads (the AWS CLI's `multipart_chunksize`).
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// S3's largest part count.
pub const MAX_PARTS: u64 = 10_000;

/// Whether a file of `size` bytes goes up as a multipart upload.
#[must_use]
pub fn is_multipart(size: u64) -> bool {
    size >= MULTIPART_THRESHOLD
}

/// The part size, in bytes, for a file of `size` bytes: [`MIN_PART_SIZE`],
/// or the next whole MiB that keeps the upload at or under [`MAX_PARTS`].
/// Deterministic, so that a multipart ETag computed locally matches the one
/// an earlier run made.
#[must_use]
pub fn part_size(size: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    needed.max(MIN_PART_SIZE)
}

/// The parts of a file of `size` bytes: `(part number from 1, offset,
/// length)`, all in bytes.
#[must_use]
pub fn parts(size: u64) -> Vec<(i32, u64, u64)> {
    let ps = part_size(size);
    let count = size.div_ceil(ps).max(1);
    (0..count)
        .map(|i| {
            let offset = i * ps;
            let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
            (number, offset, ps.min(size - offset))
        })
        .collect()
}

/// The ETag S3 gives `path` (of `size` bytes) when this crate uploads it
/// unencrypted or with SSE-S3: hex MD5, or the multipart form for files of
/// [`MULTIPART_THRESHOLD`] bytes or more. Also returns the plain MD5 of the
/// whole file, for objects whose ETag is not an MD5. Reads the file once;
/// blocking, so call it from `spawn_blocking`.
///
/// # Errors
/// The file cannot be read, or it is no longer `size` bytes long.
pub fn local_etag(path: &Path, size: u64) -> std::io::Result<LocalDigest> {
    let mut file = std::fs::File::open(path)?;
    let mut whole = md5::Md5::new();
    let mut part_digests = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    for (_, _, len) in parts(size) {
        let mut part = md5::Md5::new();
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                break;
            }
            part.update(&buf[..n]);
            whole.update(&buf[..n]);
            left -= n as u64;
            total += n as u64;
        }
        part_digests.push(part.finalize());
    }
    if total != size || file.read(&mut [0u8; 1])? != 0 {
        return Err(std::io::Error::other(format!(
            "{} changed size while it was read (expected {size} bytes)",
            path.display()
        )));
    }
    let md5: [u8; 16] = whole.finalize().into();
    let etag = if is_multipart(size) {
        let mut outer = md5::Md5::new();
        for d in &part_digests {
            outer.update(d);
        }
        format!("{}-{}", hex(&outer.finalize()), part_digests.len())
    } else {
        hex(&md5)
    };
    Ok(LocalDigest { etag, md5 })
}

/// What [`local_etag`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDigest {
    /// The ETag S3 would give the object, without quotes.
    pub etag: String,
    /// The MD5 of the whole file.
    pub md5: [u8; 16],
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_stay_under_ten_thousand_parts() {
        assert_eq!(part_size(1), MIN_PART_SIZE);
        assert_eq!(part_size(1024 * MIB), MIN_PART_SIZE);
        // 100 GiB needs 10.24 MiB parts: rounded up to 11 MiB.
        assert_eq!(part_size(100 * 1024 * MIB), 11 * MIB);
        for size in [80_000 * MIB, 80_000 * MIB + 1, 5 * 1024 * 1024 * MIB] {
            let p = parts(size);
            assert!(p.len() as u64 <= MAX_PARTS, "{size}: {} parts", p.len());
            assert_eq!(p.iter().map(|(_, _, l)| l).sum::<u64>(), size);
        }
        assert_eq!(
            parts(20 * MIB),
            vec![
                (1, 0, 8 * MIB),
                (2, 8 * MIB, 8 * MIB),
                (3, 16 * MIB, 4 * MIB)
            ]
        );
        assert_eq!(parts(0), vec![(1, 0, 0)]);
    }

    #[test]
    fn etags_of_single_and_multipart_files() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"abc").unwrap();
        let d = local_etag(&small, 3).unwrap();
        assert_eq!(d.etag, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(&d.md5), d.etag);

        let big = dir.path().join("big");
        let data: Vec<u8> = (0..(9 * MIB)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&big, &data).unwrap();
        let d = local_etag(&big, data.len() as u64).unwrap();
        let p1 = md5::Md5::digest(&data[..8 * MIB as usize]);
        let p2 = md5::Md5::digest(&data[8 * MIB as usize..]);
        let mut outer = md5::Md5::new();
        outer.update(p1);
        outer.update(p2);
        assert_eq!(d.etag, format!("{}-2", hex(&outer.finalize())));
        assert_eq!(d.md5, <[u8; 16]>::from(md5::Md5::digest(&data)));

        assert!(
            local_etag(&small, 4)
                .unwrap_err()
                .to_string()
                .contains("changed size")
        );
    }
}

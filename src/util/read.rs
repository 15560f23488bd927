//! Opening and reading files that a learner (or anyone) may have planted: only regular files,
//! and never more than a known number of bytes.
//!
//! A FIFO named like a data file blocks `open` forever, and a link to `/dev/zero` reads until
//! memory runs out. So: links are resolved, the thing they lead to must be a regular file before
//! it is opened (opening some devices has side effects), it is opened non-blocking and checked
//! again on the open handle (it may have been swapped in between), and reads stop at a limit the
//! caller derives from what it expects (a header, a record size, a sane maximum).
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use super::write::kind_of;

/// Opens `path` for reading if, after following links, it is a regular file. Returns the file
/// and its length. The error says what the path is when it is not a regular file.
pub fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let not_regular = |t: fs::FileType| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {}, not a regular file", kind_of(t)),
        )
    };
    let m = fs::metadata(path)?;
    if !m.is_file() {
        return Err(not_regular(m.file_type()));
    }
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, libc::O_NONBLOCK | libc::O_CLOEXEC);
    let f = opts.open(path)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Err(not_regular(m.file_type()));
    }
    Ok((f, m.len()))
}

/// Reads a whole regular file of at most `limit` bytes. `what` names the limit in the error
/// ("a network spec"), e.g. "it is 3 GiB, more than the 16 MiB a network spec may take".
pub fn read_regular(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let (f, len) = open_regular(path)?;
    let too_big = |n: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is {}, more than the {} {what} may take",
                bytes_text(n),
                bytes_text(limit)
            ),
        )
    };
    if len > limit {
        return Err(too_big(len));
    }
    let mut out = Vec::with_capacity(len as usize);
    // A file that grows while we read (or a /proc file that reports 0) stops at the limit.
    f.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(too_big(out.len() as u64));
    }
    Ok(out)
}

/// Reads a whole regular file as UTF-8 text of at most `limit` bytes.
pub fn read_regular_text(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    let bytes = read_regular(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// "512 bytes", "3.0 KiB", "15.2 GiB".
pub fn bytes_text(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_opened_and_reads_stop_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.bin");
        fs::write(&f, vec![7u8; 100]).unwrap();
        assert_eq!(read_regular(&f, 100, "x").unwrap().len(), 100);
        let e = read_regular(&f, 99, "a test file").unwrap_err().to_string();
        assert!(e.contains("100 bytes") && e.contains("a test file"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 1 << 20, "x").unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = read_regular(dir.path(), 1 << 20, "x").unwrap_err();
        assert!(e.to_string().contains("folder"), "{e}");
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read_regular(&link, 100, "x").unwrap().len(), 100);
        assert_eq!(bytes_text(512), "512 bytes");
        assert_eq!(bytes_text(16 << 20), "16 MiB");
        assert_eq!(bytes_text(3 << 29), "1.5 GiB");
    }
}

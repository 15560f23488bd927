//! The file-writing API of `write.rs` where there is no file system (wasm32 in a browser): every
//! write is refused with one sentence, so code that saves or exports compiles unchanged and
//! fails politely. The browser build hands bytes to the page instead (a download), not a path.
use std::ffi::OsStr;
use std::fs::FileType;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Suffix of every temporary file the native write path creates.
pub const TEMP_SUFFIX: &str = ".partial";

fn no_files(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{} cannot be written: this build runs without a file system",
            path.display()
        ),
    )
}

/// Refused: there is no file system.
pub fn write_atomic(path: &Path, _bytes: &[u8]) -> io::Result<()> {
    Err(no_files(path))
}

/// Refused: there is no file system (`fill` is not called).
pub fn write_atomic_with(
    path: &Path,
    _fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    Err(no_files(path))
}

/// Refused: there is no file system.
pub fn check_writable(path: &Path) -> io::Result<()> {
    Err(no_files(path))
}

/// "a folder", "a regular file", ... for messages.
pub fn kind_of(t: FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// Is `file` (a bare file name) named like a temporary file of the native write path?
pub fn is_temp_name(file: &OsStr) -> bool {
    let b = file.as_encoded_bytes();
    b.first() == Some(&b'.') && b.ends_with(TEMP_SUFFIX.as_bytes())
}

/// Nothing to clean up: there are neither files nor signals.
pub fn install_signal_cleanup() {}

/// No folder has files here.
pub fn temp_files_in(_dir: &Path) -> Vec<PathBuf> {
    Vec::new()
}

//! The file-writing API of `write.rs` where there is no file system (wasm32 in a browser): a
//! write becomes a download of the file under its own name (every export, Save runs, Save
//! experiment and export-torch's files work unchanged in a page), so code that saves or exports
//! compiles unchanged. Without a page to download from (a worker) a write is refused in a
//! sentence.
use std::ffi::OsStr;
use std::fs::FileType;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use wasm_bindgen::JsCast;

/// Suffix of every temporary file the native write path creates.
pub const TEMP_SUFFIX: &str = ".partial";

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::other(format!("{} cannot be written: {why}", path.display()))
}

/// Hands `bytes` to the browser as a download named like `path`'s last part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| refused(path, "it has no file name"))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| refused(path, "downloads start only from the page"))?;
    let fail = |_| refused(path, "the browser refused the download");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let a: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(fail)?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Fills the file in memory, then [`write_atomic`]s it (a download).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut bytes = Vec::new();
    fill(&mut bytes)?;
    write_atomic(path, &bytes)
}

/// Every path can be "written": it becomes a download.
pub fn check_writable(_path: &Path) -> io::Result<()> {
    Ok(())
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

/// Nothing to create: every write is a download.
pub fn create_dir_all(_dir: &Path) -> io::Result<()> {
    Ok(())
}

//! Telling the formats apart when the learner does not say, and finding the data inside the
//! folder they picked (archives unpack into `cifar-10-batches-bin/`, MNIST mirrors into `raw/`).

use std::fs;
use std::path::{Path, PathBuf};

use super::walk::is_image_path;
use super::{DataError, Format, cifar, idx, walk};

const ARCHIVES: [&str; 7] = [".tar", ".tar.gz", ".tgz", ".zip", ".7z", ".rar", ".tar.xz"];

/// Which format the data at `path` is in.
pub fn detect_format(path: &Path) -> Result<Format, DataError> {
    resolve(path, None).map(|(f, _)| f)
}

fn looks(format: Format, p: &Path) -> bool {
    match format {
        Format::Idx => idx::looks_like(p),
        Format::Cifar => cifar::looks_like(p),
        Format::ImageFolder => p.is_dir() && walk::looks_like(p),
    }
}

/// The format, and the path its loader should read: `path` itself or one folder inside it.
pub(crate) fn resolve(path: &Path, format: Option<Format>) -> Result<(Format, PathBuf), DataError> {
    let meta = fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(DataError::UnknownFormat {
            path: path.into(),
            reason: format!(
                "it is {}; choose a data file or a folder",
                crate::util::kind_of(meta.file_type())
            ),
        });
    }
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if meta.is_file() && ARCHIVES.iter().any(|a| lower.ends_with(a)) {
        return Err(DataError::UnknownFormat {
            path: path.into(),
            reason: "it is an archive; extract it first, then choose the folder it unpacks to"
                .into(),
        });
    }
    let order = match format {
        Some(f) => vec![f],
        None => vec![Format::Idx, Format::Cifar, Format::ImageFolder],
    };
    if meta.is_file() {
        if let Some(f) = format {
            return Ok((f, path.into()));
        }
        if idx_file(path) {
            return Ok((Format::Idx, path.into()));
        }
        if looks(Format::Cifar, path) {
            return Ok((Format::Cifar, path.into()));
        }
        let reason = if is_image_path(path) {
            "a single image is not a data set; choose the folder that holds one sub-folder per class"
        } else {
            "expected an IDX file (e.g. train-images-idx3-ubyte), a CIFAR .bin file, or a folder"
        };
        return Err(DataError::UnknownFormat {
            path: path.into(),
            reason: reason.into(),
        });
    }
    for &f in &order {
        if looks(f, path) {
            return Ok((f, path.into()));
        }
    }
    // One level down, for data sets that unpack into a sub-folder.
    let mut subs: Vec<PathBuf> = fs::read_dir(path)
        .map_err(|e| DataError::io(path, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    for &f in order.iter().filter(|f| **f != Format::ImageFolder) {
        if let Some(sub) = subs.iter().find(|s| looks(f, s)) {
            return Ok((f, sub.clone()));
        }
    }
    match format {
        // The loader explains in detail what is missing.
        Some(f) => Ok((f, path.into())),
        None => Err(DataError::UnknownFormat {
            path: path.into(),
            reason: "found no IDX files, no CIFAR .bin files and no class folders with images"
                .into(),
        }),
    }
}

/// An IDX file by name, or by its first bytes (00 00 08 ..) when the name says nothing.
fn idx_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("idx") && name.contains("ubyte") {
        return true;
    }
    let mut head = [0u8; 4];
    crate::util::open_regular(path)
        .and_then(|(mut f, _)| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok_and(|_| {
            head[0] == 0 && head[1] == 0 && head[2] == 0x08 && (1..=4).contains(&head[3])
        })
}

//! IDX, the format of MNIST and its many cousins (Fashion-MNIST, KMNIST, EMNIST).
//!
//! An IDX file is a tiny header (magic, data type, dimension sizes) and raw bytes. The header
//! is untrusted: its sizes are checked against the real length (or a cap, for `.gz`, whose
//! length is unknown until read) before anything is allocated, so a lying header cannot make
//! us reserve gigabytes.

use flate2::read::GzDecoder;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::dataset::{Dataset, Split};
use super::{DataError, Progress, Raw};

/// Largest data block we accept from one file (2 GiB, well above EMNIST's 700 MB).
const MAX_BYTES: u64 = 2 << 30;
/// Largest image side we accept.
pub const MAX_SIDE: usize = 8192;

/// A parsed IDX file: its dimension sizes and its unsigned-byte data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an IDX file's bytes, gzip-compressed or not (told apart by content, not by name).
/// `path` only names the file in error messages.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        read_idx(path, GzDecoder::new(bytes), None)
    } else {
        read_idx(path, bytes, Some(bytes.len() as u64))
    }
}

/// Reads one IDX file from disk.
pub fn read_idx_file(path: &Path) -> Result<IdxArray, DataError> {
    let meta = fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.len() > MAX_BYTES {
        return Err(DataError::idx(path, "it is larger than the 2 GiB limit"));
    }
    let bytes = fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse_idx(path, &bytes)
}

fn read_idx<R: Read>(path: &Path, mut r: R, len: Option<u64>) -> Result<IdxArray, DataError> {
    let gz = len.is_none();
    let early = |e: std::io::Error| {
        if gz {
            DataError::idx(
                path,
                format!("its compressed data is damaged or ends early (truncated .gz?): {e}"),
            )
        } else {
            DataError::idx(path, "the file ends inside the header")
        }
    };
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic).map_err(early)?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::idx(
            path,
            format!(
                "wrong magic number {:02x} {:02x} {:02x} {:02x}: IDX files start with 00 00",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if magic[2] != 0x08 {
        let kind = match magic[2] {
            0x09 => "signed bytes",
            0x0B => "16-bit integers",
            0x0C => "32-bit integers",
            0x0D => "32-bit floats",
            0x0E => "64-bit floats",
            _ => "an unknown type",
        };
        return Err(DataError::idx(
            path,
            format!(
                "it holds {kind} (type code 0x{:02x}); only unsigned bytes (0x08) are supported",
                magic[2]
            ),
        ));
    }
    let ndims = magic[3] as usize;
    if !(1..=4).contains(&ndims) {
        return Err(DataError::idx(
            path,
            format!("it claims {ndims} dimensions; expected 1 to 4"),
        ));
    }
    let mut dims = Vec::with_capacity(ndims);
    for _ in 0..ndims {
        let mut d = [0u8; 4];
        r.read_exact(&mut d).map_err(early)?;
        dims.push(u32::from_be_bytes(d) as usize);
    }
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .filter(|&n| n <= MAX_BYTES)
        .ok_or_else(|| {
            DataError::idx(
                path,
                format!("its header claims {dims:?} values, more than the 2 GiB limit"),
            )
        })?;
    let header = 4 + 4 * ndims as u64;
    if let Some(len) = len {
        let have = len.saturating_sub(header);
        if have != expected {
            let what = if have < expected {
                "the file is cut short"
            } else {
                "the file has extra bytes at the end"
            };
            return Err(DataError::idx(
                path,
                format!(
                    "its header promises {expected} bytes of data for dimensions {dims:?} but there are {have}: {what}"
                ),
            ));
        }
    }
    // Capacity from the checked size; reading one byte past it tells us about extra data.
    let mut data = Vec::with_capacity(expected.min(64 << 20) as usize);
    r.take(expected + 1).read_to_end(&mut data).map_err(early)?;
    if (data.len() as u64) < expected {
        return Err(DataError::idx(
            path,
            format!(
                "its header promises {expected} bytes of data for dimensions {dims:?} but the file ends after {} (truncated?)",
                data.len()
            ),
        ));
    }
    if data.len() as u64 > expected {
        return Err(DataError::idx(
            path,
            format!("the data is longer than the {expected} bytes its header promises"),
        ));
    }
    Ok(IdxArray { dims, data })
}

/// The files of one IDX data set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxFiles {
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test: Option<(PathBuf, PathBuf)>,
    pub classes_txt: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Images,
    Labels,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    Train,
    Test,
}

/// Reads an IDX-looking file name: what it holds, which split, and the set it belongs to
/// (the text before the split word, e.g. "emnist-letters-" or "").
fn classify(name: &str) -> Option<(Role, Part, String)> {
    let n = name.to_ascii_lowercase();
    if !(n.contains("idx") || n.contains("ubyte")) {
        return None;
    }
    let role = if n.contains("idx3") || n.contains("images") {
        Role::Images
    } else if n.contains("idx1") || n.contains("labels") {
        Role::Labels
    } else {
        return None;
    };
    let (part, at) = if let Some(at) = n.find("train") {
        (Part::Train, at)
    } else if let Some(at) = n.find("t10k").or_else(|| n.find("test")) {
        (Part::Test, at)
    } else {
        return None;
    };
    Some((role, part, n[..at].to_string()))
}

/// Does this directory (or file) look like an IDX data set?
pub fn looks_like(path: &Path) -> bool {
    match find(path) {
        Ok(_) => true,
        Err(_) => candidates(path)
            .iter()
            .any(|(_, (r, p, _))| *r == Role::Images && *p == Part::Train),
    }
}

fn candidates(path: &Path) -> Vec<(PathBuf, (Role, Part, String))> {
    let dir = if path.is_file() {
        path.parent().unwrap_or(Path::new("."))
    } else {
        path
    };
    let Ok(rd) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<_> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            classify(&name).map(|c| (e.path(), c))
        })
        .filter(|(p, _)| p.is_file())
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Finds the four files of an IDX set in a folder, or the set a given file belongs to.
pub fn find(path: &Path) -> Result<IdxFiles, DataError> {
    let all = candidates(path);
    let chosen_prefix = if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match classify(&name) {
            Some((_, _, prefix)) => Some(prefix),
            None => {
                return Err(DataError::UnknownFormat {
                    path: path.into(),
                    reason:
                        "its name does not look like an IDX file (e.g. train-images-idx3-ubyte)"
                            .into(),
                });
            }
        }
    } else {
        None
    };
    let mut prefixes: Vec<String> = all
        .iter()
        .filter(|(_, (r, p, _))| *r == Role::Images && *p == Part::Train)
        .map(|(_, (_, _, pre))| pre.clone())
        .collect();
    prefixes.sort();
    prefixes.dedup();
    let prefix = match (chosen_prefix, prefixes.len()) {
        (Some(p), _) => p,
        (None, 0) => {
            return Err(DataError::UnknownFormat {
                path: path.into(),
                reason: "no training images file (e.g. train-images-idx3-ubyte or .gz) was found"
                    .into(),
            });
        }
        (None, 1) => prefixes.remove(0),
        (None, _) => {
            let names: Vec<String> = prefixes
                .iter()
                .map(|p| format!("{}train-images", p))
                .collect();
            return Err(DataError::bad(
                path,
                format!(
                    "it holds several IDX data sets ({}); choose one by giving the path of its training images file",
                    names.join(", ")
                ),
            ));
        }
    };
    let pick = |role: Role, part: Part| {
        all.iter()
            .find(|(_, (r, p, pre))| *r == role && *p == part && *pre == prefix)
            .map(|(path, _)| path.clone())
    };
    let missing = |what: &str| {
        DataError::bad(
            path,
            format!("the IDX set has no {what} file (e.g. {prefix}{what}-idx…-ubyte)"),
        )
    };
    let train_images = pick(Role::Images, Part::Train).ok_or_else(|| missing("train-images"))?;
    let train_labels = pick(Role::Labels, Part::Train).ok_or_else(|| missing("train-labels"))?;
    let test = pick(Role::Images, Part::Test).zip(pick(Role::Labels, Part::Test));
    let dir = train_images.parent().unwrap_or(Path::new("."));
    let classes_txt = Some(dir.join("classes.txt")).filter(|p| p.is_file());
    Ok(IdxFiles {
        train_images,
        train_labels,
        test,
        classes_txt,
    })
}

/// Loads an IDX set into the shared raw form; conversion and splitting happen later.
pub(crate) fn load(path: &Path, progress: &Progress) -> Result<Raw, DataError> {
    let files = find(path)?;
    let mut warnings = vec![];
    let n_files = 2 + if files.test.is_some() { 2 } else { 0 };
    progress.total.store(n_files, Ordering::Relaxed);
    progress.done.store(0, Ordering::Relaxed);
    let step = || -> Result<(), DataError> {
        progress.done.fetch_add(1, Ordering::Relaxed);
        if progress.cancel.load(Ordering::Relaxed) {
            return Err(DataError::Cancelled);
        }
        Ok(())
    };
    let (train, h, w) = load_pair(&files.train_images, &files.train_labels, &step)?;
    let test = match &files.test {
        Some((ti, tl)) => {
            let (test, th, tw) = load_pair(ti, tl, &step)?;
            if (th, tw) != (h, w) {
                return Err(DataError::bad(
                    ti,
                    format!("its images are {tw}x{th} but the training images are {w}x{h}"),
                ));
            }
            Some(test)
        }
        None => {
            let dir = files.train_images.parent().unwrap_or(Path::new("."));
            if candidates(dir)
                .iter()
                .any(|(_, (_, p, _))| *p == Part::Test)
            {
                warnings.push(
                    "found only half of the IDX test files (images or labels); made a test split from the training set instead"
                        .to_string(),
                );
            }
            None
        }
    };
    let max_label = train
        .labels
        .iter()
        .chain(test.iter().flat_map(|t| t.labels.iter()))
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let classes = class_names(files.classes_txt.as_deref(), max_label + 1, &mut warnings);
    let name = dir_name(&files.train_images);
    Ok(Raw {
        name,
        classes,
        shape: (1, h, w),
        train,
        test,
        warnings,
    })
}

fn load_pair(
    images: &Path,
    labels: &Path,
    step: &dyn Fn() -> Result<(), DataError>,
) -> Result<(Split, usize, usize), DataError> {
    let img = read_idx_file(images)?;
    step()?;
    let lab = read_idx_file(labels)?;
    step()?;
    let (n, h, w) = match img.dims[..] {
        [n, h, w] => (n, h, w),
        [n, h, w, 1] => (n, h, w),
        _ => {
            return Err(DataError::idx(
                images,
                format!(
                    "it has dimensions {:?}; an images file needs 3 (count, height, width)",
                    img.dims
                ),
            ));
        }
    };
    if h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(DataError::idx(
            images,
            format!("its images are {w}x{h}; sides must be between 1 and {MAX_SIDE}"),
        ));
    }
    if lab.dims.len() != 1 {
        return Err(DataError::idx(
            labels,
            format!(
                "it has dimensions {:?}; a labels file has exactly one (the count)",
                lab.dims
            ),
        ));
    }
    if lab.dims[0] != n {
        return Err(DataError::bad(
            images,
            format!(
                "it has {n} images but {} has {} labels; the two files must match",
                labels.display(),
                lab.dims[0]
            ),
        ));
    }
    let labels = lab.data.iter().map(|&l| l as u16).collect();
    Ok((
        Split {
            images: img.data,
            labels,
        },
        h,
        w,
    ))
}

/// Class names from a `classes.txt` beside the data (one per line), else "0", "1", ...
pub(crate) fn class_names(
    file: Option<&Path>,
    needed: usize,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let numbers = || (0..needed).map(|i| i.to_string()).collect();
    let Some(file) = file else {
        return numbers();
    };
    let text = match fs::read(file) {
        Ok(b) if b.len() < 1 << 20 => String::from_utf8_lossy(&b).into_owned(),
        _ => {
            warnings.push(format!(
                "could not read class names from {}; using numbers",
                file.display()
            ));
            return numbers();
        }
    };
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() < needed {
        warnings.push(format!(
            "{} names {} classes but the labels go up to {}; using numbers",
            file.display(),
            names.len(),
            needed.saturating_sub(1)
        ));
        return numbers();
    }
    names
}

pub(crate) fn dir_name(file: &Path) -> String {
    file.parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "IDX data set".into())
}

/// Writes a data set as IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
/// `t10k-…`), plus `classes.txt` with the class names. IDX images are grey, so colour data
/// is converted to grey first. With `gzip`, each file gets a `.gz` suffix.
pub fn write_idx(dir: &Path, ds: &Dataset, gzip: bool) -> std::io::Result<()> {
    if ds.classes.len() > 256 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "IDX labels are single bytes, so at most 256 classes fit",
        ));
    }
    let grey;
    let ds = if ds.channels == 1 {
        ds
    } else {
        grey = ds.convert(ds.height, ds.width, 1);
        &grey
    };
    fs::create_dir_all(dir)?;
    let ext = if gzip { ".gz" } else { "" };
    for (prefix, split) in [("train", &ds.train), ("t10k", &ds.test)] {
        let dims = [split.len() as u32, ds.height as u32, ds.width as u32];
        let labels: Vec<u8> = split.labels.iter().map(|&l| l as u8).collect();
        write_one(
            &dir.join(format!("{prefix}-images-idx3-ubyte{ext}")),
            &dims,
            &split.images,
            gzip,
        )?;
        write_one(
            &dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")),
            &dims[..1],
            &labels,
            gzip,
        )?;
    }
    fs::write(dir.join("classes.txt"), ds.classes.join("\n") + "\n")
}

fn write_one(path: &Path, dims: &[u32], data: &[u8], gzip: bool) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    bytes.extend_from_slice(&[0, 0, 0x08, dims.len() as u8]);
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    let file = std::io::BufWriter::new(fs::File::create(path)?);
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        gz.write_all(&bytes)?;
        gz.finish()?.flush()
    } else {
        let mut file = file;
        file.write_all(&bytes)?;
        file.flush()
    }
}

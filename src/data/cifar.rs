//! CIFAR-10 and CIFAR-100 in their binary form: fixed-size records, no header.
//!
//! A record is the label byte(s) then 3x32x32 pixels as red, green and blue planes, which is
//! already our NCHW layout. CIFAR-10 files (`data_batch_N.bin`, `test_batch.bin`) have one
//! label byte; CIFAR-100 files (`train.bin`, `test.bin`) have two (coarse, fine) and we use
//! the fine one. With no header, the only integrity check is that the file is a whole number
//! of records, so a short last record is the error a learner will most often see.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::dataset::{Dataset, Split};
use super::idx::read_names;
use super::{DataError, Progress, Raw};

pub const SIDE: usize = 32;
pub const PIXELS: usize = 3 * SIDE * SIDE;
pub(crate) const MAX_FILE: u64 = 1 << 30;

/// Parses the records of one CIFAR binary file. `label_bytes` is 1 (CIFAR-10) or 2
/// (CIFAR-100, fine label second). `path` only names the file in error messages.
pub fn parse_cifar(
    path: &Path,
    bytes: &[u8],
    label_bytes: usize,
) -> Result<(Vec<u8>, Vec<u16>), DataError> {
    if !(1..=2).contains(&label_bytes) {
        return Err(DataError::cifar(
            path,
            format!("records have 1 or 2 label bytes, not {label_bytes}"),
        ));
    }
    let rec = label_bytes + PIXELS;
    if bytes.is_empty() {
        return Err(DataError::cifar(path, "the file is empty"));
    }
    if !bytes.len().is_multiple_of(rec) {
        return Err(DataError::cifar(
            path,
            format!(
                "it is {} bytes, which is not a whole number of {rec}-byte records: the last record is cut short after {} bytes (truncated download?)",
                bytes.len(),
                bytes.len() % rec
            ),
        ));
    }
    let n = bytes.len() / rec;
    let mut images = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for r in bytes.chunks_exact(rec) {
        labels.push(r[label_bytes - 1] as u16);
        images.extend_from_slice(&r[label_bytes..]);
    }
    Ok((images, labels))
}

/// The files of one CIFAR set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CifarFiles {
    pub train: Vec<PathBuf>,
    pub test: Option<PathBuf>,
    pub label_bytes: usize,
    pub names: Option<PathBuf>,
}

pub(crate) fn batch_number(name: &str) -> Option<u32> {
    name.strip_prefix("data_batch_")?
        .strip_suffix(".bin")?
        .parse()
        .ok()
}

/// Finds the files of a CIFAR set in a folder, or takes a single `.bin` file as the whole set.
pub fn find(path: &Path) -> Result<CifarFiles, DataError> {
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0) as usize;
        let label_bytes = if name == "train.bin" || name == "test.bin" {
            2
        } else if name.starts_with("data_batch") || name.starts_with("test_batch") {
            1
        } else if !len.is_multiple_of(PIXELS + 1) && len.is_multiple_of(PIXELS + 2) {
            2
        } else {
            1
        };
        return Ok(CifarFiles {
            train: vec![path.to_path_buf()],
            test: None,
            label_bytes,
            names: None,
        });
    }
    let rd = fs::read_dir(path).map_err(|e| DataError::io(path, e))?;
    let mut batches = vec![];
    let mut names = std::collections::BTreeSet::new();
    for e in rd.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if let Some(k) = batch_number(&n) {
            batches.push((k, e.path()));
        }
        names.insert(n);
    }
    batches.sort();
    let has = |n: &str| names.contains(n);
    let existing = |n: &str| Some(path.join(n)).filter(|_| has(n));
    if !batches.is_empty() {
        return Ok(CifarFiles {
            train: batches.into_iter().map(|(_, p)| p).collect(),
            test: existing("test_batch.bin"),
            label_bytes: 1,
            names: existing("batches.meta.txt"),
        });
    }
    if has("train.bin") {
        return Ok(CifarFiles {
            train: vec![path.join("train.bin")],
            test: existing("test.bin"),
            label_bytes: 2,
            names: existing("fine_label_names.txt"),
        });
    }
    Err(DataError::UnknownFormat {
        path: path.into(),
        reason: "no CIFAR training file (data_batch_1.bin or train.bin) was found".into(),
    })
}

pub fn looks_like(path: &Path) -> bool {
    if path.is_file() {
        return path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("bin"));
    }
    find(path).is_ok()
}

/// Reads one CIFAR file: a regular file (a FIFO or a link to a device is refused by name)
/// of whole records, streamed into `images` and `labels` with its size checked against what
/// is left of the data budget before anything is allocated.
fn read(
    path: &Path,
    label_bytes: usize,
    budget: &mut u64,
    progress: &Progress,
) -> Result<Split, DataError> {
    let (f, len) = crate::util::open_regular(path).map_err(|e| DataError::io(path, e))?;
    if len > MAX_FILE {
        return Err(DataError::cifar(path, "it is larger than the 1 GiB limit"));
    }
    let rec = (label_bytes + PIXELS) as u64;
    if len == 0 {
        return Err(DataError::cifar(path, "the file is empty"));
    }
    if !len.is_multiple_of(rec) {
        return Err(DataError::cifar(
            path,
            format!(
                "it is {len} bytes, which is not a whole number of {rec}-byte records: the last record is cut short after {} bytes (truncated download?)",
                len % rec
            ),
        ));
    }
    let n = (len / rec) as usize;
    let bytes = (n * PIXELS) as u64;
    if bytes > *budget {
        return Err(super::too_big(path, n, (3, SIDE, SIDE)));
    }
    *budget -= bytes;
    let mut split = Split {
        images: Vec::with_capacity(n * PIXELS),
        labels: Vec::with_capacity(n),
    };
    let mut r = std::io::BufReader::new(f);
    let mut buf = vec![0u8; 1000 * rec as usize];
    let mut left = n;
    while left > 0 {
        if progress.is_cancelled() {
            return Err(DataError::Cancelled);
        }
        let k = left.min(1000);
        let chunk = &mut buf[..k * rec as usize];
        r.read_exact(chunk).map_err(|e| {
            DataError::cifar(
                path,
                format!(
                    "it became shorter while it was read ({e}); is another program writing it?"
                ),
            )
        })?;
        let (images, labels) = parse_cifar(path, chunk, label_bytes)?;
        split.images.extend_from_slice(&images);
        split.labels.extend_from_slice(&labels);
        left -= k;
    }
    Ok(split)
}

pub(crate) fn load(path: &Path, progress: &Progress) -> Result<Raw, DataError> {
    let files = find(path)?;
    progress.total.store(
        files.train.len() + files.test.iter().count(),
        Ordering::Relaxed,
    );
    progress.done.store(0, Ordering::Relaxed);
    let mut budget = super::data_limit();
    let mut train = Split::default();
    let mut parts = vec![];
    for f in &files.train {
        if progress.cancel.load(Ordering::Relaxed) {
            return Err(DataError::Cancelled);
        }
        let s = read(f, files.label_bytes, &mut budget, progress)?;
        parts.push((f.clone(), train.len()..train.len() + s.len()));
        train.images.extend_from_slice(&s.images);
        train.labels.extend_from_slice(&s.labels);
        progress.done.fetch_add(1, Ordering::Relaxed);
    }
    let test = match &files.test {
        Some(f) => {
            if progress.cancel.load(Ordering::Relaxed) {
                return Err(DataError::Cancelled);
            }
            let s = read(f, files.label_bytes, &mut budget, progress)?;
            progress.done.fetch_add(1, Ordering::Relaxed);
            Some(s)
        }
        None => None,
    };
    let mut warnings = vec![];
    // The official sets have 10 or 100 classes; a names file may name others (ours, written
    // by `write_cifar`, names fewer). Labels outside the class set are refused with counts.
    let (standard, set) = if files.label_bytes == 1 {
        (10, "CIFAR-10")
    } else {
        (100, "CIFAR-100")
    };
    let max_label = train
        .labels
        .iter()
        .chain(test.iter().flat_map(|t| t.labels.iter()))
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let names = read_names(files.names.as_deref(), &mut warnings);
    let (classes, why) = match names {
        Some(n) if n.len() > max_label => {
            let why = format!(
                "{} names {} classes",
                files.names.as_deref().unwrap_or(path).display(),
                n.len()
            );
            (n, why)
        }
        Some(n) => {
            let file = files.names.as_deref().unwrap_or(path);
            warnings.push(format!(
                "{} names {} classes but the labels go up to {max_label}; using numbers",
                file.display(),
                n.len()
            ));
            (
                numbers(standard),
                format!("{set} labels go from 0 to {}", standard - 1),
            )
        }
        None => (
            numbers(standard),
            format!("{set} labels go from 0 to {}", standard - 1),
        ),
    };
    for (f, range) in &parts {
        super::check_label_range(f, &train.labels[range.clone()], classes.len(), &why)?;
    }
    if let (Some(f), Some(t)) = (&files.test, &test) {
        super::check_label_range(f, &t.labels, classes.len(), &why)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "CIFAR".into());
    Ok(Raw {
        name,
        classes,
        shape: (3, SIDE, SIDE),
        train,
        test,
        warnings,
    })
}

pub(crate) fn numbers(k: usize) -> Vec<String> {
    (0..k).map(|i| i.to_string()).collect()
}

/// Writes a data set as CIFAR binary files. Up to 10 classes: CIFAR-10 layout
/// (`data_batch_1.bin`, `test_batch.bin`, `batches.meta.txt`); up to 100: CIFAR-100 layout
/// (`train.bin`, `test.bin`, `fine_label_names.txt`, coarse label 0). CIFAR records are
/// 3x32x32, so other shapes are converted first.
pub fn write_cifar(dir: &Path, ds: &Dataset) -> std::io::Result<()> {
    if ds.classes.len() > 100 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "CIFAR binary files hold at most 100 classes",
        ));
    }
    let fitted;
    let ds = if (ds.channels, ds.height, ds.width) == (3, SIDE, SIDE) {
        ds
    } else {
        fitted = ds.convert(SIDE, SIDE, 3);
        &fitted
    };
    fs::create_dir_all(dir)?;
    let ten = ds.classes.len() <= 10;
    let (train_name, test_name, names_name) = if ten {
        ("data_batch_1.bin", "test_batch.bin", "batches.meta.txt")
    } else {
        ("train.bin", "test.bin", "fine_label_names.txt")
    };
    for (name, split) in [(train_name, &ds.train), (test_name, &ds.test)] {
        crate::util::write_atomic_with(&dir.join(name), |f| {
            for (i, &l) in split.labels.iter().enumerate() {
                if !ten {
                    f.write_all(&[0])?;
                }
                f.write_all(&[l as u8])?;
                let img = split
                    .images
                    .get(i * PIXELS..(i + 1) * PIXELS)
                    .ok_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            "the data set has fewer images than labels",
                        )
                    })?;
                f.write_all(img)?;
            }
            Ok(())
        })?;
    }
    crate::util::write_atomic(
        &dir.join(names_name),
        (ds.classes.join("\n") + "\n").as_bytes(),
    )
}

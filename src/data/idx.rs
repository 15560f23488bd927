//! IDX, the format of MNIST and its many cousins (Fashion-MNIST, KMNIST, EMNIST).
//!
//! An IDX file is a tiny header (magic, data type, dimension sizes) and raw bytes. The header
//! is untrusted: its sizes are checked against the real length (or a cap, for `.gz`, whose
//! length is unknown until read) before anything is allocated, so a lying header cannot make
//! us reserve gigabytes.

use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::convert::convert_one;
use super::dataset::{Dataset, Split};
use super::{DataError, LoadOptions, Progress, Raw, choose_size, data_limit, too_big};

/// Largest data block we accept from one file (2 GiB, well above EMNIST's 700 MB), and the
/// largest file we open.
pub(crate) const MAX_BYTES: u64 = 2 << 30;
/// Largest image side we accept.
pub const MAX_SIDE: usize = 8192;
/// Images read (and resized) at a time when streaming...
const CHUNK: usize = 256;
/// ...and at most this many bytes of them.
const CHUNK_BYTES: usize = 16 << 20;

/// A parsed IDX file: its dimension sizes and its unsigned-byte data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an IDX file's bytes, gzip-compressed or not (told apart by content, not by name).
/// Gzip files with several members (concatenated `.gz` files) are read whole.
/// `path` only names the file in error messages.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let mut r: Box<dyn Read> = if gz {
        Box::new(MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    let len = (!gz).then_some(bytes.len() as u64);
    let header = read_header(path, &mut r, len)?;
    let data = read_body(path, &mut r, header.expected, gz)?;
    Ok(IdxArray {
        dims: header.dims,
        data,
    })
}

/// An open IDX file whose header has been read and checked; the body is next.
struct IdxFile {
    header: Header,
    reader: Box<dyn Read>,
    gz: bool,
}

impl IdxFile {
    fn open(path: &Path) -> Result<IdxFile, DataError> {
        let (f, len) = crate::util::open_regular(path).map_err(|e| DataError::io(path, e))?;
        if len > MAX_BYTES {
            return Err(DataError::idx(path, "it is larger than the 2 GiB limit"));
        }
        let mut buf = BufReader::new(f);
        let gz = buf
            .fill_buf()
            .map_err(|e| DataError::io(path, e))?
            .starts_with(&[0x1f, 0x8b]);
        let mut reader: Box<dyn Read> = if gz {
            Box::new(MultiGzDecoder::new(buf))
        } else {
            Box::new(buf)
        };
        let header = read_header(path, &mut reader, (!gz).then_some(len))?;
        Ok(IdxFile { header, reader, gz })
    }
}

pub(crate) struct Header {
    pub(crate) dims: Vec<usize>,
    /// Bytes of data the dimensions promise (at most [`MAX_BYTES`]).
    pub(crate) expected: u64,
}

fn early(path: &Path, gz: bool) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| {
        if gz {
            DataError::idx(
                path,
                format!("its compressed data is damaged or ends early (truncated .gz?): {e}"),
            )
        } else {
            DataError::idx(path, "the file ends inside the header")
        }
    }
}

/// Reads and checks the header; for an uncompressed file (`len` known) also checks that the
/// file holds exactly the bytes the header promises, before anything is allocated.
pub(crate) fn read_header(
    path: &Path,
    r: &mut dyn Read,
    len: Option<u64>,
) -> Result<Header, DataError> {
    let early = early(path, len.is_none());
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic).map_err(&early)?;
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
        r.read_exact(&mut d).map_err(&early)?;
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
    Ok(Header { dims, expected })
}

fn cut_short(path: &Path, expected: u64, dims: &str, got: u64) -> DataError {
    DataError::idx(
        path,
        format!(
            "its header promises {expected} bytes of data for dimensions {dims} but the file ends after {got} (truncated?)"
        ),
    )
}

/// Reads exactly `expected` bytes of body; one byte more is an error (a lying header).
fn read_body(path: &Path, r: &mut dyn Read, expected: u64, gz: bool) -> Result<Vec<u8>, DataError> {
    // `expected` is checked against the 2 GiB cap (and by callers against the data limit);
    // for a .gz the header may still lie, so start small and let the reads prove the size.
    let mut data = Vec::with_capacity(if gz { expected.min(64 << 20) } else { expected } as usize);
    r.take(expected + 1)
        .read_to_end(&mut data)
        .map_err(early(path, gz))?;
    if (data.len() as u64) < expected {
        return Err(cut_short(
            path,
            expected,
            "in its header",
            data.len() as u64,
        ));
    }
    if data.len() as u64 > expected {
        return Err(DataError::idx(
            path,
            format!("the data is longer than the {expected} bytes its header promises"),
        ));
    }
    Ok(data)
}

/// Reads `n` images of `from` (h, w) and resizes each to `to` on the way, so a set of large
/// images never sits in memory at full size. Checks that nothing follows the last image.
fn read_resized(
    path: &Path,
    f: &mut IdxFile,
    n: usize,
    from: (usize, usize),
    to: (usize, usize),
    progress: &Progress,
) -> Result<Vec<u8>, DataError> {
    let (len_from, len_to) = (from.0 * from.1, to.0 * to.1);
    let mut out = Vec::with_capacity(n * len_to);
    // A chunk of at most CHUNK images and CHUNK_BYTES: 256 images of 8192x8192 would be 16 GiB.
    let per_chunk = (CHUNK_BYTES / len_from.max(1)).clamp(1, CHUNK);
    let mut buf = vec![0u8; per_chunk.min(n.max(1)) * len_from];
    let mut done = 0;
    while done < n {
        if progress.is_cancelled() {
            return Err(DataError::Cancelled);
        }
        let k = per_chunk.min(n - done);
        let chunk = &mut buf[..k * len_from];
        if let Err(e) = f.reader.read_exact(chunk) {
            if f.gz && e.kind() != std::io::ErrorKind::UnexpectedEof {
                return Err(early(path, true)(e));
            }
            return Err(cut_short(
                path,
                f.header.expected,
                &format!("{:?}", f.header.dims),
                (done * len_from) as u64,
            ));
        }
        let small: Vec<Vec<u8>> = chunk
            .par_chunks(len_from)
            .map(|img| convert_one(img, (1, from.0, from.1), (1, to.0, to.1)))
            .collect();
        for s in small {
            out.extend_from_slice(&s);
        }
        done += k;
    }
    let mut extra = [0u8; 1];
    if matches!(f.reader.read(&mut extra), Ok(1)) {
        return Err(DataError::idx(
            path,
            format!(
                "the data is longer than the {} bytes its header promises",
                f.header.expected
            ),
        ));
    }
    Ok(out)
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
pub(crate) enum Role {
    Images,
    Labels,
}
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Part {
    Train,
    Test,
}

/// Reads an IDX-looking file name: what it holds, which split, and the set it belongs to
/// (the text before the split word, e.g. "emnist-letters-" or "").
pub(crate) fn classify(name: &str) -> Option<(Role, Part, String)> {
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
        // Hidden files are never data (our own unfinished writes are `.<name>.….partial`).
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            classify(&name).map(|c| (e.path(), c))
        })
        // Anything but a folder: a FIFO or device with a data file's name is refused by name
        // when opened, instead of being passed over in silence.
        .filter(|(p, _)| !p.is_dir())
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
    let classes_txt =
        Some(dir.join("classes.txt")).filter(|p| fs::metadata(p).is_ok_and(|m| !m.is_dir()));
    Ok(IdxFiles {
        train_images,
        train_labels,
        test,
        classes_txt,
    })
}

/// Loads an IDX set into the shared raw form. Large images are resized while they are read
/// (see [`super::choose_size`]); other conversion and splitting happen later.
pub(crate) fn load(path: &Path, opts: &LoadOptions, progress: &Progress) -> Result<Raw, DataError> {
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
    let mut budget = data_limit();
    let train = load_pair(
        &files.train_images,
        &files.train_labels,
        opts.size,
        &mut budget,
        progress,
        &step,
    )?;
    if let Some(w) = &train.resized {
        warnings.push(w.clone());
    }
    let target = train.target;
    let test = match &files.test {
        Some((ti, tl)) => {
            let test = load_pair(ti, tl, Some(target), &mut budget, progress, &step)?;
            if test.native != train.native {
                let ((h, w), (th, tw)) = (train.native, test.native);
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
    let mut splits = vec![(&files.train_labels, &train.split)];
    if let (Some((_, tl)), Some(t)) = (&files.test, &test) {
        splits.push((tl, &t.split));
    }
    let classes = match read_names(files.classes_txt.as_deref(), &mut warnings) {
        Some(names) => {
            let names_file = files
                .classes_txt
                .as_deref()
                .unwrap_or(Path::new("classes.txt"));
            for (file, s) in &splits {
                super::check_label_range(
                    file,
                    &s.labels,
                    names.len(),
                    &format!(
                        "{} names only {} classes, so these labels belong to no class",
                        names_file.display(),
                        names.len()
                    ),
                )?;
            }
            names
        }
        None => number_classes(&splits, &mut warnings)?,
    };
    let name = dir_name(&files.train_images);
    let (h, w) = target;
    Ok(Raw {
        name,
        classes,
        shape: (1, h, w),
        train: train.split,
        test: test.map(|t| t.split),
        warnings,
    })
}

/// Classes "0", "1", ... up to the largest label when no file names them. Labels are the
/// only evidence of the class set, so gaps are reported with counts, and a set that is mostly
/// gaps (one stray 255 among labels 0-9) is refused rather than trained with 246 empty classes.
pub(crate) fn number_classes(
    splits: &[(&PathBuf, &Split)],
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, DataError> {
    let present: BTreeSet<u16> = splits
        .iter()
        .flat_map(|(_, s)| s.labels.iter().copied())
        .collect();
    let k = present.last().map_or(0, |&m| m as usize + 1);
    let missing: Vec<usize> = (0..k).filter(|&l| !present.contains(&(l as u16))).collect();
    if !missing.is_empty() {
        // The labels past the first gap are the suspects.
        let first_gap = missing[0] as u16;
        let (file, _) = splits[0];
        let all: Vec<u16> = splits
            .iter()
            .flat_map(|(_, s)| s.labels.iter().copied())
            .collect();
        let (_, beyond) = super::label_counts(&all, |l| l > first_gap);
        let listed: Vec<String> = missing.iter().take(8).map(|l| l.to_string()).collect();
        let more = if missing.len() > 8 {
            format!(" and {} more", missing.len() - 8)
        } else {
            String::new()
        };
        // One class present is refused later, in plainer words ("only one class").
        if missing.len() > present.len() && present.len() > 1 {
            return Err(DataError::bad(
                file,
                format!(
                    "its labels go up to {} but only {} of the values 0-{} occur (the first unused value is {first_gap}; above it: {beyond}), which would make {} classes with no images; fix the labels, or put a classes.txt naming the classes beside the files",
                    k - 1,
                    present.len(),
                    k - 1,
                    missing.len()
                ),
            ));
        }
        warnings.push(format!(
            "{}: the labels go up to {} but {} of those classes have no images ({}{more}); add a classes.txt beside the files to name the classes",
            file.display(),
            k - 1,
            missing.len(),
            listed.join(", ")
        ));
    }
    Ok((0..k).map(|i| i.to_string()).collect())
}

/// What one images + labels pair holds once read.
struct Pair {
    split: Split,
    /// (height, width) in the file.
    native: (usize, usize),
    /// (height, width) the images were read at.
    target: (usize, usize),
    /// Set when the images were resized without being asked.
    resized: Option<String>,
}

fn load_pair(
    images: &Path,
    labels: &Path,
    chosen: Option<(usize, usize)>,
    budget: &mut u64,
    progress: &Progress,
    step: &dyn Fn() -> Result<(), DataError>,
) -> Result<Pair, DataError> {
    let mut img = IdxFile::open(images)?;
    let (n, h, w) = match img.header.dims[..] {
        [n, h, w] => (n, h, w),
        [n, h, w, 1] => (n, h, w),
        _ => {
            return Err(DataError::idx(
                images,
                format!(
                    "it has dimensions {:?}; an images file needs 3 (count, height, width)",
                    img.header.dims
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
    let mut lab = IdxFile::open(labels)?;
    if lab.header.dims.len() != 1 {
        return Err(DataError::idx(
            labels,
            format!(
                "it has dimensions {:?}; a labels file has exactly one (the count)",
                lab.header.dims
            ),
        ));
    }
    if lab.header.dims[0] != n {
        return Err(DataError::bad(
            images,
            format!(
                "it has {n} images but {} has {} labels; the two files must match",
                labels.display(),
                lab.header.dims[0]
            ),
        ));
    }
    let (target, resized) = choose_size(&BTreeSet::from([(h, w)]), chosen);
    // Checked before a byte of the body is read: the header alone says what it would take.
    let bytes = (n as u64).saturating_mul((target.0 * target.1) as u64);
    if bytes > *budget {
        return Err(too_big(images, n, (1, target.0, target.1)));
    }
    *budget -= bytes;
    let data = if target == (h, w) {
        read_body(images, &mut img.reader, img.header.expected, img.gz)?
    } else {
        read_resized(images, &mut img, n, (h, w), target, progress)?
    };
    step()?;
    let label_bytes = read_body(labels, &mut lab.reader, lab.header.expected, lab.gz)?;
    step()?;
    Ok(Pair {
        split: Split {
            images: data,
            labels: label_bytes.iter().map(|&l| l as u16).collect(),
        },
        native: (h, w),
        target,
        resized,
    })
}

/// Most bytes a class-names file may have.
pub(crate) const MAX_NAMES_FILE: u64 = 1 << 20;

/// Class names from a names file beside the data (`classes.txt`, `batches.meta.txt`, one per
/// line), or `None` (with a warning when the file exists but cannot be used).
pub(crate) fn read_names(file: Option<&Path>, warnings: &mut Vec<String>) -> Option<Vec<String>> {
    let file = file?;
    let bytes = match crate::util::read_regular(file, MAX_NAMES_FILE, "a class-names file") {
        Ok(b) => b,
        Err(e) => {
            warnings.push(format!(
                "could not read class names from {} ({e}); using numbers",
                file.display()
            ));
            return None;
        }
    };
    names_from_bytes(file, &bytes, warnings)
}

/// [`read_names`] for a names file already read (`file` only names it in warnings).
pub(crate) fn names_from_bytes(
    file: &Path,
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> Option<Vec<String>> {
    let text = String::from_utf8_lossy(bytes);
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() < 2 {
        warnings.push(format!(
            "{} names {} class{}; using numbers",
            file.display(),
            names.len(),
            if names.len() == 1 { "" } else { "es" }
        ));
        return None;
    }
    Some(names)
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
    crate::util::write_atomic(
        &dir.join("classes.txt"),
        (ds.classes.join("\n") + "\n").as_bytes(),
    )
}

fn write_one(path: &Path, dims: &[u32], data: &[u8], gzip: bool) -> std::io::Result<()> {
    let mut header = Vec::with_capacity(4 + 4 * dims.len());
    header.extend_from_slice(&[0, 0, 0x08, dims.len() as u8]);
    for d in dims {
        header.extend_from_slice(&d.to_be_bytes());
    }
    crate::util::write_atomic_with(path, |w| {
        if gzip {
            let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            gz.write_all(&header)?;
            gz.write_all(data)?;
            gz.finish()?;
            Ok(())
        } else {
            w.write_all(&header)?;
            w.write_all(data)
        }
    })
}

//! Data sets: the built-in shapes, and the formats learners already have on disk.
//!
//! Every loader (image folder, IDX, CIFAR, built-in) produces the same raw form; one shared
//! finishing step then splits, caps, converts and measures it. That keeps the promises the app
//! makes (same size everywhere, stratified seeded split, statistics from the training split
//! only) in a single place instead of four.
//!
//! This module knows the `image` crate and nothing of the tensor library or the UI: it hands
//! out bytes and f32 batches. Loading runs on the caller's thread and fans decoding out to
//! rayon's workers; progress and cancellation go through a shared [`Progress`].

mod builtin;
mod cifar;
mod convert;
mod dataset;
mod detect;
mod error;
mod idx;
mod image_folder;
/// Loading from files' bytes (a browser's drop or file picker): zips, IDX and CIFAR files.
pub mod memory;
mod summary;
mod walk;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::rng::Rng64;

pub use builtin::{CLASSES as BUILTIN_CLASSES, builtin, builtin_sized};
pub use cifar::{CifarFiles, parse_cifar, write_cifar};
pub use convert::luma;
pub use dataset::{Augment, Dataset, Split, SplitKind, channel_stats};
pub use detect::detect_format;
pub use error::DataError;
pub use idx::{IdxArray, IdxFiles, parse_idx, write_idx};
pub use image_folder::{MAX_ALLOC, MAX_FILE_BYTES, MAX_SIDE, decode_file, write_image_folder};
pub use summary::{Summary, Thumbnail};
pub use walk::{ClassFiles, IMAGE_EXTENSIONS, Listing, walk};

/// Where the data comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Source {
    Builtin,
    Path(PathBuf),
}

impl FromStr for Source {
    type Err = std::convert::Infallible;

    /// "builtin" (any case) is the built-in set; anything else is a path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.eq_ignore_ascii_case("builtin") {
            Source::Builtin
        } else {
            Source::Path(PathBuf::from(s))
        })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin => f.write_str("builtin"),
            Source::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// `root/<class>/*.png` (and jpg, bmp, gif, webp, tiff), optionally under `train/` and `test/`.
    ImageFolder,
    /// MNIST-style `train-images-idx3-ubyte` files, plain or `.gz`.
    Idx,
    /// CIFAR-10 / CIFAR-100 binary batches.
    Cifar,
}

impl FromStr for Format {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "imagefolder" => Ok(Format::ImageFolder),
            "idx" => Ok(Format::Idx),
            "cifar" => Ok(Format::Cifar),
            _ => Err(DataError::UnknownFormatName(s.to_string())),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::ImageFolder => "imagefolder",
            Format::Idx => "idx",
            Format::Cifar => "cifar",
        })
    }
}

/// Channel count of the loaded images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ColorMode {
    /// The data set's own: grey if every image is grey, else RGB.
    #[default]
    Auto,
    Gray,
    Rgb,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadOptions {
    /// `None`: detect from the files.
    pub format: Option<Format>,
    /// (height, width); `None`: the data set's own size if all images share it, else 32x32.
    pub size: Option<(usize, usize)>,
    pub color: ColorMode,
    /// Share of each class held out for testing when the data has no test split of its own.
    #[serde(with = "crate::util::json_float")]
    pub test_fraction: f32,
    /// Seeds the held-out split and the built-in set.
    pub seed: u64,
    /// At most this many images per class in each split, for quick lessons.
    pub max_per_class: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: None,
            size: None,
            color: ColorMode::Auto,
            test_fraction: 0.2,
            seed: 0,
            max_per_class: None,
        }
    }
}

/// Largest side a learner may ask images to be resized to.
pub const MAX_TARGET_SIDE: usize = 1024;
/// Most memory a loaded data set may take (its u8 pixels), whatever the memory limit.
pub const MAX_DATASET_BYTES: u64 = 4 << 30;
/// Images whose sides are all at most this train at their own size when no size is chosen.
pub const DEFAULT_MAX_SIDE: usize = 64;
/// The size larger (or mixed) images are resized to when no size is chosen.
pub const DEFAULT_SIDE: usize = 32;
/// Class indices are 16-bit: at most this many classes.
pub const MAX_CLASSES: usize = u16::MAX as usize + 1;

/// Most bytes of pixels a data set may take in memory: half the memory limit (the other half
/// is for the net, its activations and the copies made while converting), and at most
/// [`MAX_DATASET_BYTES`].
pub fn data_limit() -> u64 {
    (crate::util::mem_limit().bytes / 2).min(MAX_DATASET_BYTES)
}

/// The refusal for a data set that would not fit, with what to change.
pub(crate) fn too_big(origin: &Path, images: usize, shape: convert::Shape) -> DataError {
    let (c, h, w) = shape;
    let bytes = (images as u64).saturating_mul((c * h * w) as u64);
    DataError::bad(
        origin,
        format!(
            "its {images} images at {w}x{h} with {c} channel{} would take {}, more than the {} a data set may use (half the memory limit of {}); choose a smaller size (--size, or \"resize to\" in the Data tab) or fewer images (--max-per-class)",
            if c == 1 { "" } else { "s" },
            crate::util::bytes_text(bytes),
            crate::util::bytes_text(data_limit()),
            crate::util::mem_limit().describe()
        ),
    )
}

/// The training size for images of the given native sizes: the chosen size, else the images'
/// own when they share one no larger than [`DEFAULT_MAX_SIDE`], else [`DEFAULT_SIDE`] square.
/// The second value is a warning to show when images were resized without being asked.
pub(crate) fn choose_size(
    sizes: &std::collections::BTreeSet<(usize, usize)>,
    chosen: Option<(usize, usize)>,
) -> ((usize, usize), Option<String>) {
    if let Some(s) = chosen {
        return (s, None);
    }
    let d = (DEFAULT_SIDE, DEFAULT_SIDE);
    match sizes.len() {
        0 => (d, None),
        1 => {
            let (h, w) = *sizes.first().unwrap_or(&d);
            if h <= DEFAULT_MAX_SIDE && w <= DEFAULT_MAX_SIDE {
                ((h, w), None)
            } else {
                (
                    d,
                    Some(format!(
                        "the images are {w}x{h}, so they were resized to {DEFAULT_SIDE}x{DEFAULT_SIDE} (training at full size would take far more memory and time); choose another size with --size or \"resize to\" in the Data tab"
                    )),
                )
            }
        }
        n => {
            let some: Vec<String> = sizes
                .iter()
                .take(4)
                .map(|(h, w)| format!("{w}x{h}"))
                .collect();
            (
                d,
                Some(format!(
                    "the images have {n} different sizes ({}{}), so all were resized to {DEFAULT_SIDE}x{DEFAULT_SIDE}",
                    some.join(", "),
                    if n > 4 { ", ..." } else { "" }
                )),
            )
        }
    }
}

/// "label 200: 2 images, label 37: 1 image" for the labels in `labels` that `pick` selects,
/// most frequent first, at most eight named.
pub(crate) fn label_counts(labels: &[u16], pick: impl Fn(u16) -> bool) -> (usize, String) {
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for &l in labels.iter().filter(|&&l| pick(l)) {
        *counts.entry(l).or_default() += 1;
    }
    let total = counts.values().sum();
    let mut v: Vec<(u16, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut text: Vec<String> = v
        .iter()
        .take(8)
        .map(|(l, n)| format!("label {l}: {n} image{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if v.len() > 8 {
        text.push(format!("and {} more labels", v.len() - 8));
    }
    (total, text.join(", "))
}

/// Refuses labels at or above `classes`, naming the file, the count and the values:
/// a stray label must never silently add classes.
pub(crate) fn check_label_range(
    file: &Path,
    labels: &[u16],
    classes: usize,
    why: &str,
) -> Result<(), DataError> {
    let (n, text) = label_counts(labels, |l| l as usize >= classes);
    if n == 0 {
        return Ok(());
    }
    Err(DataError::bad(
        file,
        format!(
            "{n} of its {} labels {} outside 0-{} ({text}); {why}",
            labels.len(),
            if n == 1 { "is" } else { "are" },
            classes.saturating_sub(1)
        ),
    ))
}

/// Shared between the loading worker and whoever watches it: the background task's own
/// progress (`crate::task::Progress`).
pub use crate::task::Progress;

/// What every loader hands to the finishing step: uniform images, maybe no test split yet.
pub(crate) struct Raw {
    pub name: String,
    pub classes: Vec<String>,
    pub shape: convert::Shape,
    pub train: Split,
    pub test: Option<Split>,
    pub warnings: Vec<String>,
}

/// Loads a data set, converted and split as `opts` asks.
pub fn load(
    source: &Source,
    opts: &LoadOptions,
    progress: &Progress,
) -> Result<Dataset, DataError> {
    check_options(opts)?;
    let (raw, origin) = match source {
        Source::Builtin => {
            // Sample i has label i % 10, so the first 10k samples hold exactly k per class.
            let (train, test) = match opts.max_per_class {
                Some(k) => (
                    k.saturating_mul(10).min(10_000),
                    k.saturating_mul(10).min(2_000),
                ),
                None => (10_000, 2_000),
            };
            let ds = builtin::generate(opts.seed, train, test, progress)?;
            let raw = Raw {
                name: ds.name,
                classes: ds.classes,
                shape: (ds.channels, ds.height, ds.width),
                train: ds.train,
                test: Some(ds.test),
                warnings: ds.warnings,
            };
            (raw, PathBuf::from("builtin"))
        }
        Source::Path(path) => {
            let (format, at) = detect::resolve(path, opts.format)?;
            let raw = match format {
                Format::ImageFolder => image_folder::load(&at, opts, progress)?,
                Format::Idx => idx::load(&at, opts, progress)?,
                Format::Cifar => cifar::load(&at, progress)?,
            };
            (raw, at)
        }
    };
    if progress.is_cancelled() {
        return Err(DataError::Cancelled);
    }
    finish(raw, opts, &origin)
}

fn check_options(opts: &LoadOptions) -> Result<(), DataError> {
    if !(0.0..=0.9).contains(&opts.test_fraction) {
        return Err(DataError::InvalidOption(format!(
            "the test fraction must be between 0 and 0.9, not {}",
            opts.test_fraction
        )));
    }
    if let Some((h, w)) = opts.size
        && (h == 0 || w == 0 || h > MAX_TARGET_SIDE || w > MAX_TARGET_SIDE)
    {
        return Err(DataError::InvalidOption(format!(
            "the image size must be between 1x1 and {MAX_TARGET_SIDE}x{MAX_TARGET_SIDE}, not {w}x{h}"
        )));
    }
    if opts.max_per_class == Some(0) {
        return Err(DataError::InvalidOption(
            "the cap on images per class must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Holds out `fraction` of one class's items for testing (at least one when the class has two
/// or more and the fraction is not 0); both parts keep their original order.
pub(crate) fn stratified_split<T>(
    items: Vec<T>,
    fraction: f32,
    rng: &mut Rng64,
) -> (Vec<T>, Vec<T>) {
    let n = items.len();
    let mut n_test = (n as f64 * fraction as f64).round() as usize;
    if fraction > 0.0 && n >= 2 {
        n_test = n_test.clamp(1, n - 1);
    }
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let mut is_test = vec![false; n];
    for &i in &order[..n_test.min(n)] {
        is_test[i] = true;
    }
    let mut train = Vec::with_capacity(n - n_test.min(n));
    let mut test = Vec::with_capacity(n_test);
    for (item, t) in items.into_iter().zip(is_test) {
        if t {
            test.push(item);
        } else {
            train.push(item);
        }
    }
    (train, test)
}

/// Picks samples of a split by index.
fn gather(s: &Split, idx: &[usize], len: usize) -> Split {
    let mut out = Split {
        images: Vec::with_capacity(idx.len() * len),
        labels: Vec::with_capacity(idx.len()),
    };
    for &i in idx {
        out.images
            .extend_from_slice(&s.images[i * len..(i + 1) * len]);
        out.labels.push(s.labels[i]);
    }
    out
}

/// Indices of the first `cap` samples of each class, in order.
fn capped(labels: &[u16], classes: usize, cap: usize) -> Vec<usize> {
    let mut seen = vec![0usize; classes];
    labels
        .iter()
        .enumerate()
        .filter(|&(_, &l)| {
            let c = &mut seen[l as usize];
            *c += 1;
            *c <= cap
        })
        .map(|(i, _)| i)
        .collect()
}

/// The shared last step: check labels, split, cap, convert, measure.
fn finish(raw: Raw, opts: &LoadOptions, origin: &Path) -> Result<Dataset, DataError> {
    let Raw {
        name,
        classes,
        shape,
        train,
        test,
        mut warnings,
    } = raw;
    let len = shape.0 * shape.1 * shape.2;
    for (what, s) in [("training", Some(&train)), ("test", test.as_ref())] {
        let Some(s) = s else { continue };
        if s.images.len() != s.labels.len() * len {
            return Err(DataError::bad(
                origin,
                format!("its {what} images and labels do not match in number"),
            ));
        }
        if let Some(&l) = s.labels.iter().find(|&&l| l as usize >= classes.len()) {
            return Err(DataError::bad(
                origin,
                format!(
                    "a {what} label is {l}, but there are only {} classes",
                    classes.len()
                ),
            ));
        }
    }
    let (mut train, mut test) = match test {
        Some(t) => (train, t),
        None => {
            let mut by_class: Vec<Vec<usize>> = vec![vec![]; classes.len()];
            for (i, &l) in train.labels.iter().enumerate() {
                by_class[l as usize].push(i);
            }
            let (mut tr, mut te) = (vec![], vec![]);
            for (k, idx) in by_class.into_iter().enumerate() {
                let mut rng = Rng64::derive(opts.seed, k as u64);
                let (a, b) = stratified_split(idx, opts.test_fraction, &mut rng);
                tr.extend(a);
                te.extend(b);
            }
            tr.sort_unstable();
            te.sort_unstable();
            (gather(&train, &tr, len), gather(&train, &te, len))
        }
    };
    if let Some(cap) = opts.max_per_class {
        for s in [&mut train, &mut test] {
            let keep = capped(&s.labels, classes.len(), cap);
            if keep.len() < s.len() {
                *s = gather(s, &keep, len);
            }
        }
    }
    let mut counts = vec![0usize; classes.len()];
    for &l in &train.labels {
        counts[l as usize] += 1;
    }
    let present: Vec<&String> = classes
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n > 0)
        .map(|(c, _)| c)
        .collect();
    match present.len() {
        0 => return Err(DataError::bad(origin, "it has no training images")),
        1 => {
            return Err(DataError::bad(
                origin,
                format!(
                    "only one class ({}) has training images; a classifier needs at least two",
                    present[0]
                ),
            ));
        }
        _ => {}
    }
    let (h, w) = opts.size.unwrap_or((shape.1, shape.2));
    let c = match opts.color {
        ColorMode::Auto => shape.0,
        ColorMode::Gray => 1,
        ColorMode::Rgb => 3,
    };
    let bytes = ((train.len() + test.len()) as u64).saturating_mul((c * h * w) as u64);
    if bytes > data_limit() {
        return Err(too_big(origin, train.len() + test.len(), (c, h, w)));
    }
    if (c, h, w) != shape {
        train.images = convert::convert_images(&train.images, shape, (c, h, w));
        test.images = convert::convert_images(&test.images, shape, (c, h, w));
    }
    if test.is_empty() {
        warnings.push("the test split is empty, so test accuracy cannot be measured".into());
    }
    let (mean, std) = channel_stats(&train.images, c, h * w);
    Ok(Dataset {
        name,
        classes,
        channels: c,
        height: h,
        width: w,
        train,
        test,
        mean,
        std,
        warnings,
    })
}

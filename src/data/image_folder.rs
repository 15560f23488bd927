//! Image folders: decoding many small files on worker threads, tolerating bad ones.
//!
//! A learner's own folder almost always holds a few broken or odd files. One bad file must not
//! cost them the whole data set, so each file either decodes or is skipped with its reason,
//! and the reasons come back as a warning. Decoding is bounded (image side and allocation
//! limits) because a tiny file can claim a 20000x20000 picture.

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::convert::{Shape, convert_one, dynamic_to_chw};
use super::dataset::{Dataset, Split};
use super::walk::{ClassFiles, walk};
use super::{
    ColorMode, DataError, LoadOptions, Progress, Raw, choose_size, data_limit, stratified_split,
    too_big,
};
use crate::rng::Rng64;

/// Largest image side we decode.
pub const MAX_SIDE: u32 = 8192;
/// Most memory one decode may use.
pub const MAX_ALLOC: u64 = 256 << 20;
/// How many skipped files a warning names before saying "and N more".
const NAMED: usize = 10;

/// What the header of an image says, read without decoding the pixels.
struct Probe {
    width: u32,
    height: u32,
    color: bool,
}

pub(crate) fn limits() -> Limits {
    // Sides are checked by `check_size` for a message that names them; this bounds memory.
    let mut l = Limits::default();
    l.max_alloc = Some(MAX_ALLOC);
    l
}

fn reader(path: &Path) -> Result<ImageReader<std::io::BufReader<fs::File>>, String> {
    let (file, _) = crate::util::open_regular(path).map_err(|e| format!("could not open: {e}"))?;
    // The content decides the format, not the name: a text file called x.png is "not an
    // image", which says more than "invalid PNG signature".
    let mut r = ImageReader::new(std::io::BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| format!("could not read: {e}"))?;
    if r.format().is_none() {
        let empty = fs::metadata(path).is_ok_and(|m| m.len() == 0);
        return Err(if empty {
            "not an image: the file is empty".into()
        } else {
            "not an image: its content is not a known image format".into()
        });
    }
    r.limits(limits());
    Ok(r)
}

pub(crate) fn describe(e: image::ImageError) -> String {
    let text = match e {
        image::ImageError::Limits(_) => {
            format!("too large to decode (over {} MiB)", MAX_ALLOC >> 20)
        }
        image::ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file ends early (truncated)".into()
        }
        e => e.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn check_size(w: u32, h: u32) -> Result<(), String> {
    if w == 0 || h == 0 {
        return Err(format!("its header says {w}x{h} pixels, which is empty"));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "its header says {w}x{h} pixels, larger than the {MAX_SIDE}x{MAX_SIDE} limit"
        ));
    }
    Ok(())
}

/// Decoders are third-party code fed untrusted bytes; a panic inside one becomes a skipped
/// file rather than a crashed app.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("the image decoder failed on this file".into()))
}

fn probe(path: &Path) -> Result<Probe, String> {
    guarded(|| {
        let d = reader(path)?.into_decoder().map_err(describe)?;
        let (width, height) = d.dimensions();
        check_size(width, height)?;
        Ok(Probe {
            width,
            height,
            color: d.color_type().has_color(),
        })
    })
}

fn decode(path: &Path, to: Shape) -> Result<Vec<u8>, String> {
    guarded(|| {
        let d = reader(path)?.into_decoder().map_err(describe)?;
        let (w, h) = d.dimensions();
        check_size(w, h)?;
        if d.total_bytes() > MAX_ALLOC {
            return Err(format!(
                "{w}x{h} pixels would need {} MiB to decode, over the {} MiB limit",
                d.total_bytes() >> 20,
                MAX_ALLOC >> 20
            ));
        }
        let img = DynamicImage::from_decoder(d).map_err(describe)?;
        let (chw, from) = dynamic_to_chw(&img);
        Ok(convert_one(&chw, from, to))
    })
}

/// One file to decode and where its pixels go.
struct Job {
    path: PathBuf,
    label: u16,
    test: bool,
}

/// Runs `f` over the jobs on worker threads, counting progress and stopping early on cancel.
fn run<T: Send>(
    jobs: &[Job],
    progress: &Progress,
    f: impl Fn(&Job) -> Result<T, String> + Sync,
) -> Result<Vec<Result<T, String>>, DataError> {
    let out: Vec<Result<T, String>> = jobs
        .par_iter()
        .map(|j| {
            if progress.cancel.load(Ordering::Relaxed) {
                return Err(String::new());
            }
            let r = f(j);
            progress.done.fetch_add(1, Ordering::Relaxed);
            r
        })
        .collect();
    if progress.cancel.load(Ordering::Relaxed) {
        return Err(DataError::Cancelled);
    }
    Ok(out)
}

pub(crate) fn load(root: &Path, opts: &LoadOptions, progress: &Progress) -> Result<Raw, DataError> {
    let listing = walk(root)?;
    let mut warnings = listing.warnings.clone();
    let mut skipped = listing.skipped.clone();
    let classes: Vec<String> = listing.train.iter().map(|c| c.name.clone()).collect();
    // Classes are matched by their folder name exactly as on disk, never by display text.
    let label_of: HashMap<&OsStr, usize> = listing
        .train
        .iter()
        .enumerate()
        .map(|(i, c)| (c.key.as_os_str(), i))
        .collect();

    // Split and cap on file names, before any decoding, so a quick lesson decodes only what it uses.
    let by_class = |cs: &[ClassFiles]| -> Vec<Vec<PathBuf>> {
        let mut v = vec![vec![]; classes.len()];
        for c in cs {
            if let Some(&k) = label_of.get(c.key.as_os_str()) {
                v[k].extend(c.files.iter().cloned());
            }
        }
        v
    };
    let (train, test) = match &listing.test {
        Some(test) => (by_class(&listing.train), by_class(test)),
        None => {
            let all = by_class(&listing.train);
            let mut train = vec![];
            let mut test = vec![];
            for (k, files) in all.into_iter().enumerate() {
                let mut rng = Rng64::derive(opts.seed, k as u64);
                let (tr, te) = stratified_split(files, opts.test_fraction, &mut rng);
                train.push(tr);
                test.push(te);
            }
            (train, test)
        }
    };
    let cap = opts.max_per_class.unwrap_or(usize::MAX);
    let mut jobs = vec![];
    for (is_test, split) in [(false, train), (true, test)] {
        for (label, files) in split.into_iter().enumerate() {
            for path in files.into_iter().take(cap) {
                jobs.push(Job {
                    path,
                    // walk() refuses more than MAX_CLASSES (65,536) classes, so this fits.
                    label: label as u16,
                    test: is_test,
                });
            }
        }
    }
    // Train jobs were pushed first, class by class, each in path order: a stable sample order.

    let need_probe = opts.size.is_none() || opts.color == ColorMode::Auto;
    progress.total.store(
        jobs.len() * if need_probe { 2 } else { 1 },
        Ordering::Relaxed,
    );
    progress.done.store(0, Ordering::Relaxed);
    let shape = if need_probe {
        let probes = run(&jobs, progress, |j| probe(&j.path))?;
        let mut keep = vec![];
        let mut sizes = std::collections::BTreeSet::new();
        let mut any_color = false;
        for (job, p) in jobs.into_iter().zip(probes) {
            match p {
                Ok(p) => {
                    sizes.insert((p.height as usize, p.width as usize));
                    any_color |= p.color;
                    keep.push(job);
                }
                Err(why) => skipped.push((job.path, why)),
            }
        }
        jobs = keep;
        // Files dropped by the probe count as done for the decode half of the bar.
        progress
            .done
            .fetch_add(sizes_skipped(progress, jobs.len()), Ordering::Relaxed);
        let channels = match opts.color {
            ColorMode::Gray => 1,
            ColorMode::Rgb => 3,
            ColorMode::Auto => {
                if any_color {
                    3
                } else {
                    1
                }
            }
        };
        let ((h, w), resized) = choose_size(&sizes, opts.size);
        warnings.extend(resized);
        (channels, h, w)
    } else {
        let (h, w) = opts.size.unwrap_or((32, 32));
        (if opts.color == ColorMode::Gray { 1 } else { 3 }, h, w)
    };

    // The whole set at its training size must fit before the first image is decoded.
    let (c, h, w) = shape;
    if (jobs.len() as u64).saturating_mul((c * h * w) as u64) > data_limit() {
        return Err(too_big(root, jobs.len(), shape));
    }
    let decoded = run(&jobs, progress, |j| decode(&j.path, shape))?;
    let mut train = Split::default();
    let mut test = Split::default();
    for (job, d) in jobs.into_iter().zip(decoded) {
        match d {
            Ok(px) => {
                let s = if job.test { &mut test } else { &mut train };
                s.images.extend_from_slice(&px);
                s.labels.push(job.label);
            }
            Err(why) => skipped.push((job.path, why)),
        }
    }
    if !skipped.is_empty() {
        warnings.insert(0, skipped_warning(root, &skipped));
    }
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| root.display().to_string());
    Ok(Raw {
        name,
        classes,
        shape,
        train,
        // An explicit split folder is the test set even if its files all failed.
        test: Some(test),
        warnings,
    })
}

fn sizes_skipped(progress: &Progress, kept: usize) -> usize {
    (progress.total.load(Ordering::Relaxed) / 2).saturating_sub(kept)
}

/// "skipped 3 unreadable files: cat/a.png (the file ends early), ..."
pub(crate) fn skipped_warning(root: &Path, skipped: &[(PathBuf, String)]) -> String {
    let n = skipped.len();
    let mut s = format!(
        "skipped {n} unreadable file{}: ",
        if n == 1 { "" } else { "s" }
    );
    let named: Vec<String> = skipped
        .iter()
        .take(NAMED)
        .map(|(p, why)| {
            let rel = p.strip_prefix(root).unwrap_or(p);
            format!("{} ({why})", rel.to_string_lossy())
        })
        .collect();
    s.push_str(&named.join(", "));
    if n > NAMED {
        s.push_str(&format!(", and {} more", n - NAMED));
    }
    s
}

/// Turns a class name into a safe folder name.
fn folder_name(name: &str, k: usize) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("class_{k}{s}")
    } else {
        s
    }
}

/// Writes a data set as PNG files: `dir/train/<class>/NNNNNN.png` and `dir/test/<class>/…`.
/// Grey data becomes grey PNGs, colour data RGB PNGs; the number is the sample's index.
pub fn write_image_folder(dir: &Path, ds: &Dataset) -> std::io::Result<()> {
    let (c, h, w) = (ds.channels, ds.height, ds.width);
    if c != 1 && c != 3 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "only grey (1 channel) or RGB (3 channel) images can be written as PNG",
        ));
    }
    let folders: Vec<String> = ds
        .classes
        .iter()
        .enumerate()
        .map(|(k, n)| folder_name(n, k))
        .collect();
    for (part, split) in [("train", &ds.train), ("test", &ds.test)] {
        for f in &folders {
            fs::create_dir_all(dir.join(part).join(f))?;
        }
        let n = ds.image_len();
        split
            .labels
            .par_iter()
            .enumerate()
            .try_for_each(|(i, &label)| -> std::io::Result<()> {
                let invalid =
                    |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, m.to_string());
                let img = split
                    .images
                    .get(i * n..(i + 1) * n)
                    .ok_or_else(|| invalid("the data set has fewer images than labels"))?;
                let folder = folders
                    .get(label as usize)
                    .ok_or_else(|| invalid("a label is not below the number of classes"))?;
                let path = dir.join(part).join(folder).join(format!("{i:06}.png"));
                let (buf, color) = if c == 1 {
                    (img.to_vec(), image::ExtendedColorType::L8)
                } else {
                    let plane = h * w;
                    let mut hwc = vec![0u8; n];
                    for p in 0..plane {
                        for ch in 0..3 {
                            hwc[p * 3 + ch] = img[ch * plane + p];
                        }
                    }
                    (hwc, image::ExtendedColorType::Rgb8)
                };
                let mut png = std::io::Cursor::new(Vec::new());
                image::write_buffer_with_format(
                    &mut png,
                    &buf,
                    w as u32,
                    h as u32,
                    color,
                    image::ImageFormat::Png,
                )
                .map_err(std::io::Error::other)?;
                crate::util::write_atomic(&path, png.get_ref())
            })?;
    }
    Ok(())
}

/// Most bytes one image file may have (the decode itself is bounded by [`MAX_ALLOC`]).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Decodes one image file the way the image-folder loader does (same limits, same grey and
/// resize), as CHW bytes of `shape` (channels, height, width). Anything but a regular file of at
/// most [`MAX_FILE_BYTES`] is refused before it is opened (a FIFO would block). The error is a
/// reason without the file name; the caller names the file.
pub fn decode_file(path: &Path, shape: Shape) -> Result<Vec<u8>, String> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "there is no such file".to_string(),
        _ => format!("could not read it: {e}"),
    })?;
    if meta.is_dir() {
        return Err("it is a folder, not an image file".into());
    }
    if !meta.is_file() {
        return Err("it is not a regular file (a pipe or a device?)".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "it is {} MiB, more than the {} MiB an image may have",
            meta.len() >> 20,
            MAX_FILE_BYTES >> 20
        ));
    }
    decode(path, shape)
}

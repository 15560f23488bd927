//! Loading a data set from files' bytes, with no file system: what a learner drops on the
//! browser page or picks with a file picker.
//!
//! The drop is a list of (name, bytes). A `.zip` among them is unpacked in memory into a folder
//! named after it; a name with `/` in it (a dropped folder's files) keeps its folders. The
//! result is a small in-memory tree that is read with the same rules as a folder on disk: the
//! image-folder layout of `walk.rs` (class folders, `train/` + `test/`, hidden files left out,
//! nesting depth, skipped files with their reasons), the IDX naming of `idx.rs` and the CIFAR
//! batches of `cifar.rs`, and the same shared finishing step, so the same files give the same
//! data set whether they come from a disk or a drop.
//!
//! Everything here is untrusted. Before a byte is unpacked, the sizes the archive claims are
//! checked against one budget for all unpacked bytes ([`unpacked_limit`]), a cap per entry and
//! a cap on the compression ratio (zip bombs); each entry is then read through `take(size + 1)`
//! so a header that lies about its size is caught instead of believed. Paths that climb out of
//! the archive (`../x`, `/etc/x`) refuse the archive. Every failure is one [`DataError`]
//! sentence that names the file.

use flate2::read::MultiGzDecoder;
use image::{DynamicImage, ImageDecoder, ImageReader};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::convert::{Shape, convert_one, dynamic_to_chw};
use super::dataset::{Dataset, Split};
use super::idx::{Part, Role};
use super::image_folder::{MAX_ALLOC, check_size, describe, guarded, limits, skipped_warning};
use super::walk::{MAX_DEPTH, TEST_NAMES, is_image_path};
use super::{
    ColorMode, DataError, Format, LoadOptions, Progress, Raw, choose_size, cifar, data_limit, idx,
    stratified_split, too_big,
};
use crate::rng::Rng64;

/// Most entries one archive may list (Tiny ImageNet has 110,000 files).
pub const MAX_ENTRIES: usize = 250_000;
/// Most bytes one file may have once unpacked: the largest IDX file (2 GiB) and its header.
pub const MAX_ENTRY_BYTES: u64 = (2 << 30) + 64;
/// An entry larger than this unpacked...
pub const RATIO_FREE_BYTES: u64 = 16 << 20;
/// ...may be at most this many times its packed size (a zip bomb is about 1000 times).
pub const MAX_RATIO: u64 = 200;

/// What the folder holding a drop of loose files is called in messages.
const DROP: &str = "the dropped files";
/// Archives that cannot be opened here, by name.
const OTHER_ARCHIVES: [&str; 6] = [".tar", ".tar.gz", ".tgz", ".7z", ".rar", ".tar.xz"];
/// Names of class-name files the loaders read.
const NAME_FILES: [&str; 3] = ["classes.txt", "batches.meta.txt", "fine_label_names.txt"];

/// Most bytes the dropped files may take once unpacked, all together: the data limit (half
/// the memory limit, at most 4 GiB; a browser's wasm32 has 4 GiB in all).
pub fn unpacked_limit() -> u64 {
    data_limit()
}

/// Loads a data set from files given as (name, bytes), converted and split as `opts` asks,
/// exactly as [`super::load`] would load the same files from a folder on disk.
///
/// Accepted: one or more `.zip` files of an image folder (`<class>/*.png`, or `train/<class>/…`
/// and `test/<class>/…`, inside any single wrapping folder), of IDX files or of CIFAR batches;
/// or the loose files themselves: MNIST-style IDX files (`train-images-idx3-ubyte`, `…-labels-
/// idx1-ubyte`, `t10k-…`, plain or `.gz`, with an optional `classes.txt`), CIFAR binary batches
/// (`data_batch_N.bin`, `test_batch.bin`, optional `batches.meta.txt`), or a folder's image files
/// named by their relative paths (`pets/cat/1.png`). The data set is named after the first
/// file (a zip's name without `.zip`).
pub fn load_files(
    files: Vec<(String, Vec<u8>)>,
    opts: &LoadOptions,
    progress: &Progress,
) -> Result<Dataset, DataError> {
    super::check_options(opts)?;
    let Some(first) = files.first() else {
        return Err(DataError::bad(
            Path::new(DROP),
            "no files were given; drop a .zip of class folders, IDX files or CIFAR .bin files",
        ));
    };
    let name = drop_name(&first.0);
    let single = (files.len() == 1).then(|| files[0].0.clone());
    let tree = Tree::unpack(files, progress)?;
    if progress.is_cancelled() {
        return Err(DataError::Cancelled);
    }
    let (raw, origin) = tree.load(single.as_deref(), opts, progress)?;
    if progress.is_cancelled() {
        return Err(DataError::Cancelled);
    }
    super::finish(Raw { name, ..raw }, opts, &origin)
}

/// "mnist" for "mnist.zip", "pets" for "pets/cat/1.png", the name itself otherwise.
fn drop_name(first: &str) -> String {
    let top = first
        .split(['/', '\\'])
        .find(|c| !c.is_empty() && *c != ".")
        .unwrap_or(first);
    let lower = top.to_ascii_lowercase();
    for ext in [".zip", ".tar.gz", ".tgz", ".tar"] {
        if lower.ends_with(ext) && lower.len() > ext.len() {
            return top[..top.len() - ext.len()].to_string();
        }
    }
    if top.is_empty() {
        "dropped data set".into()
    } else {
        top.to_string()
    }
}

fn is_zip(name: &str, bytes: &[u8]) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
        || bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
}

/// Is this a file some loader reads? Everything else in an archive is never unpacked.
fn is_data_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    is_image_path(Path::new(name))
        || idx::classify(name).is_some()
        || lower.ends_with(".bin")
        || NAME_FILES.contains(&name)
}

/// A dropped or archived name as folders and a file name; `None` when it climbs out of its
/// archive (`..`, or an absolute path). `.` and empty parts are dropped.
fn split_name(name: &str) -> Option<Vec<String>> {
    let absolute = name.starts_with(['/', '\\'])
        || name.as_bytes().get(1) == Some(&b':') && name.as_bytes()[0].is_ascii_alphabetic();
    if absolute {
        return None;
    }
    let mut parts = vec![];
    for c in name.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c.to_string()),
        }
    }
    Some(parts)
}

/// Hidden files and folders (`.DS_Store`, `._x.png`) and macOS's `__MACOSX` are never data.
fn is_hidden_part(part: &str) -> bool {
    part.starts_with('.') || part == "__MACOSX"
}

/// The folders and files of a folder, by name, sorted as a disk listing is.
#[derive(Default)]
struct Dir {
    dirs: BTreeSet<String>,
    files: BTreeSet<String>,
}

/// The drop as a folder tree in memory. Paths are relative to the drop; a zip is a folder
/// named after it ("mnist.zip/train-images-idx3-ubyte"), so each path names its file.
struct Tree {
    files: BTreeMap<PathBuf, Vec<u8>>,
    dirs: BTreeMap<PathBuf, Dir>,
}

impl Tree {
    /// Unpacks the zips and lays every file in its folder, within the unpacked budget.
    fn unpack(files: Vec<(String, Vec<u8>)>, progress: &Progress) -> Result<Tree, DataError> {
        let mut tree = Tree {
            files: BTreeMap::new(),
            dirs: BTreeMap::from([(PathBuf::new(), Dir::default())]),
        };
        let mut budget = unpacked_limit();
        progress.set(0, files.len());
        for (name, bytes) in files {
            if progress.is_cancelled() {
                return Err(DataError::Cancelled);
            }
            let parts = split_name(&name).ok_or_else(|| {
                DataError::bad(
                    Path::new(&name),
                    "its name points outside the dropped folder (a '..' or an absolute path)",
                )
            })?;
            if parts.is_empty() {
                return Err(DataError::bad(Path::new(&name), "it has no file name"));
            }
            if parts.iter().any(|p| is_hidden_part(p)) {
                progress.done.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let path: PathBuf = parts.iter().collect();
            let lower = name.to_ascii_lowercase();
            if is_zip(&name, &bytes) {
                tree.unzip(&path, &bytes, &mut budget, progress)?;
            } else if OTHER_ARCHIVES.iter().any(|a| lower.ends_with(a)) {
                return Err(DataError::UnknownFormat {
                    path,
                    reason: "it is an archive of a kind that cannot be opened here; drop a .zip, or the files themselves".into(),
                });
            } else {
                tree.add(path, bytes)?;
            }
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
        if tree.files.is_empty() {
            return Err(DataError::bad(
                Path::new(DROP),
                "none of them is an image, an IDX file or a CIFAR .bin file, and no .zip holds any",
            ));
        }
        Ok(tree)
    }

    fn add(&mut self, path: PathBuf, bytes: Vec<u8>) -> Result<(), DataError> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.dirs.contains_key(&path) || self.files.contains_key(&path) {
            return Err(DataError::bad(
                &path,
                "two dropped files (or archive entries) have this same name",
            ));
        }
        self.add_dir(&dir)?;
        self.dirs.entry(dir).or_default().files.insert(file_name);
        self.files.insert(path, bytes);
        Ok(())
    }

    /// Makes the folder `dir` and every folder above it, each listed in its parent.
    fn add_dir(&mut self, dir: &Path) -> Result<(), DataError> {
        let mut dir = dir.to_path_buf();
        self.dirs.entry(dir.clone()).or_default();
        while let Some(parent) = dir.parent().map(Path::to_path_buf) {
            if self.files.contains_key(&dir) {
                return Err(DataError::bad(
                    &dir,
                    "it is both a file and a folder in the dropped files",
                ));
            }
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !self
                .dirs
                .entry(parent.clone())
                .or_default()
                .dirs
                .insert(name)
            {
                break;
            }
            dir = parent;
        }
        Ok(())
    }

    /// Unpacks the data files of one zip into the folder `at` (named after the zip).
    fn unzip(
        &mut self,
        at: &Path,
        bytes: &[u8],
        budget: &mut u64,
        progress: &Progress,
    ) -> Result<(), DataError> {
        let damaged = |e: zip::result::ZipError| {
            DataError::bad(
                at,
                format!("it is not a readable zip archive ({e}); it may be damaged or cut short"),
            )
        };
        // The crate is hardened against lying directories, but it is third-party code fed
        // untrusted bytes: a panic is a damaged archive, not a crashed app.
        let opened = std::panic::catch_unwind(|| zip::ZipArchive::new(Cursor::new(bytes)))
            .unwrap_or_else(|_| Err(zip::result::ZipError::InvalidArchive("unreadable".into())));
        let mut archive = opened.map_err(damaged)?;
        if archive.len() > MAX_ENTRIES {
            return Err(DataError::bad(
                at,
                format!(
                    "it lists {} entries, more than the {MAX_ENTRIES} an archive may have here",
                    archive.len()
                ),
            ));
        }
        // First every claim, before a byte is unpacked: names, sizes, methods.
        let mut wanted = vec![];
        let mut total = 0u64;
        for i in 0..archive.len() {
            let e = archive.by_index_data(i).map_err(damaged)?;
            let name = e.name().map_err(damaged)?.into_owned();
            let Some(parts) = split_name(&name) else {
                return Err(DataError::bad(
                    at,
                    format!(
                        "its entry '{name}' points outside the archive (a '..' or an absolute path), so the archive was refused"
                    ),
                ));
            };
            if parts.iter().any(|p| is_hidden_part(p)) {
                continue;
            }
            let entry = at.join(parts.iter().collect::<PathBuf>());
            // Other files are never unpacked, but their folders exist, as on disk (a class
            // folder with only a readme is reported as having no images).
            if e.is_dir() {
                self.add_dir(&entry)?;
                continue;
            }
            if e.is_symlink() || parts.is_empty() || !is_data_name(&name_of(&entry)) {
                self.add_dir(entry.parent().unwrap_or(at))?;
                continue;
            }
            let refuse = |why: String| DataError::bad(&entry, why);
            if e.encrypted() {
                return Err(refuse(
                    "it is encrypted; unpack the archive and drop it again without a password"
                        .into(),
                ));
            }
            let method = e.compression();
            if method != zip::CompressionMethod::Stored
                && method != zip::CompressionMethod::Deflated
            {
                return Err(refuse(format!(
                    "it is compressed with {method}, which cannot be read here (only stored or Deflate, what every zip tool writes by default)"
                )));
            }
            let size = e.size();
            if size > MAX_ENTRY_BYTES {
                return Err(refuse(format!(
                    "the archive says it unpacks to {}, more than the {} one file may have",
                    crate::util::bytes_text(size),
                    crate::util::bytes_text(MAX_ENTRY_BYTES)
                )));
            }
            if size > RATIO_FREE_BYTES && size / MAX_RATIO > e.compressed_size() {
                return Err(refuse(format!(
                    "it unpacks from {} to {}, more than {MAX_RATIO} times its packed size (a zip bomb?)",
                    crate::util::bytes_text(e.compressed_size()),
                    crate::util::bytes_text(size)
                )));
            }
            total = total.saturating_add(size);
            wanted.push((i, entry, size));
        }
        if total > *budget {
            return Err(too_much(at, total, *budget));
        }
        *budget -= total;
        progress.set(0, wanted.len());
        for (i, entry, size) in wanted {
            if progress.is_cancelled() {
                return Err(DataError::Cancelled);
            }
            let e = archive.by_index(i).map_err(damaged)?;
            // The claimed size is what was budgeted; one byte more means the header lied.
            let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                e.take(size + 1).read_to_end(&mut data)
            }))
            .unwrap_or_else(|_| Err(std::io::Error::other("the decompressor failed")));
            if let Err(err) = read {
                return Err(DataError::bad(
                    &entry,
                    format!("it could not be unpacked ({err}); the archive is damaged"),
                ));
            }
            if data.len() as u64 != size {
                return Err(DataError::bad(
                    &entry,
                    format!(
                        "the archive says it unpacks to {size} bytes but it unpacks to {}{}; the archive is damaged or hostile",
                        if data.len() as u64 > size {
                            "more"
                        } else {
                            "fewer"
                        },
                        if data.len() as u64 > size {
                            String::new()
                        } else {
                            format!(" ({})", data.len())
                        }
                    ),
                ));
            }
            self.add(entry, data)?;
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn dir(&self, d: &Path) -> Option<&Dir> {
        self.dirs.get(d)
    }

    fn sub_dirs(&self, d: &Path) -> Vec<PathBuf> {
        self.dir(d)
            .map(|x| x.dirs.iter().map(|n| d.join(n)).collect())
            .unwrap_or_default()
    }

    fn files_in(&self, d: &Path) -> Vec<PathBuf> {
        self.dir(d)
            .map(|x| x.files.iter().map(|n| d.join(n)).collect())
            .unwrap_or_default()
    }

    fn bytes(&self, f: &Path) -> &[u8] {
        self.files.get(f).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Where the data starts: down through folders that only wrap one other folder (a zip of
    /// a folder, `pets.zip/pets/…`), but never into a `train` or `test` folder, and not into a
    /// folder that holds nothing but images (a lone class folder).
    fn root(&self) -> PathBuf {
        let mut at = PathBuf::new();
        loop {
            let subs = self.sub_dirs(&at);
            let [only] = &subs[..] else { break };
            if !self.files_in(&at).is_empty() {
                break;
            }
            let name = name_of(only);
            if name.eq_ignore_ascii_case("train")
                || TEST_NAMES.iter().any(|t| name.eq_ignore_ascii_case(t))
            {
                break;
            }
            let deeper = !self.sub_dirs(only).is_empty()
                || self.files_in(only).iter().any(|f| !is_image_path(f));
            if !deeper {
                break;
            }
            at = only.clone();
        }
        at
    }

    /// Finds the format and its folder (as `detect::resolve` does), and loads the raw data.
    fn load(
        &self,
        single: Option<&str>,
        opts: &LoadOptions,
        progress: &Progress,
    ) -> Result<(Raw, PathBuf), DataError> {
        // One loose file is read as `resolve` reads a file path.
        let lone = single
            .filter(|n| split_name(n).is_some_and(|p| p.len() == 1))
            .and_then(|_| self.files.keys().next().cloned())
            .filter(|_| self.files.len() == 1 && self.dirs.len() == 1);
        if let Some(file) = lone {
            let name = name_of(&file);
            let bytes = self.bytes(&file);
            let looks_idx = {
                let l = name.to_ascii_lowercase();
                (l.contains("idx") && l.contains("ubyte"))
                    || (bytes.len() >= 4
                        && bytes[..3] == [0, 0, 0x08]
                        && (1..=4).contains(&bytes[3]))
            };
            let format = match opts.format {
                Some(f) => f,
                None if looks_idx => Format::Idx,
                None if name.to_ascii_lowercase().ends_with(".bin") => Format::Cifar,
                None => {
                    let reason = if is_image_path(&file) {
                        "a single image is not a data set; drop a .zip of a folder that holds one sub-folder per class"
                    } else {
                        "expected an IDX file (e.g. train-images-idx3-ubyte), a CIFAR .bin file, or a .zip of a folder"
                    };
                    return Err(DataError::UnknownFormat {
                        path: file,
                        reason: reason.into(),
                    });
                }
            };
            let root = PathBuf::new();
            let raw = match format {
                Format::Idx => {
                    let prefix = idx::classify(&name).map(|(_, _, p)| p).ok_or_else(|| {
                        DataError::UnknownFormat {
                            path: file.clone(),
                            reason: "its name does not look like an IDX file (e.g. train-images-idx3-ubyte)".into(),
                        }
                    })?;
                    self.load_idx(&root, Some(prefix), opts, progress)?
                }
                Format::Cifar => self.load_cifar(&root, Some(&file), progress)?,
                Format::ImageFolder => self.load_image_folder(&root, opts, progress)?,
            };
            return Ok((raw, file));
        }
        let root = self.root();
        let order = match opts.format {
            Some(f) => vec![f],
            None => vec![Format::Idx, Format::Cifar, Format::ImageFolder],
        };
        let mut found = order
            .iter()
            .find(|&&f| self.looks(f, &root))
            .map(|&f| (f, root.clone()));
        if found.is_none() {
            // One level down, for data sets that unpack into a sub-folder.
            let subs = self.sub_dirs(&root);
            found = order
                .iter()
                .filter(|f| **f != Format::ImageFolder)
                .find_map(|&f| {
                    subs.iter()
                        .find(|s| self.looks(f, s))
                        .map(|s| (f, s.clone()))
                });
        }
        let (format, at) = match (found, opts.format) {
            (Some(x), _) => x,
            (None, Some(f)) => (f, root.clone()),
            (None, None) => {
                return Err(DataError::UnknownFormat {
                    path: shown(&root),
                    reason:
                        "found no IDX files, no CIFAR .bin files and no class folders with images"
                            .into(),
                });
            }
        };
        let raw = match format {
            Format::ImageFolder => self.load_image_folder(&at, opts, progress)?,
            Format::Idx => self.load_idx(&at, None, opts, progress)?,
            Format::Cifar => self.load_cifar(&at, None, progress)?,
        };
        Ok((raw, shown(&at)))
    }

    fn looks(&self, format: Format, d: &Path) -> bool {
        match format {
            Format::Idx => self
                .idx_candidates(d)
                .iter()
                .any(|(_, (r, p, _))| *r == Role::Images && *p == Part::Train),
            Format::Cifar => self.cifar_find(d).is_ok(),
            Format::ImageFolder => self.images_within(d, 0),
        }
    }

    /// An image one level down (`root/cat/1.png`) or two (`root/train/cat/1.png`).
    fn images_within(&self, d: &Path, depth: usize) -> bool {
        (depth > 0 && self.files_in(d).iter().any(|f| is_image_path(f)))
            || (depth < 2
                && self
                    .sub_dirs(d)
                    .iter()
                    .take(50)
                    .any(|s| self.images_within(s, depth + 1)))
    }
}

/// A path of the tree as messages show it.
fn shown(p: &Path) -> PathBuf {
    if p.as_os_str().is_empty() {
        PathBuf::from(DROP)
    } else {
        p.to_path_buf()
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| DROP.into())
}

fn too_much(at: &Path, total: u64, budget: u64) -> DataError {
    DataError::bad(
        at,
        format!(
            "its files would take {} unpacked, more than the {} left of the {} dropped files may take (half the memory limit of {})",
            crate::util::bytes_text(total),
            crate::util::bytes_text(budget),
            crate::util::bytes_text(unpacked_limit()),
            crate::util::mem_limit().describe()
        ),
    )
}

// ---- Image folders: `walk.rs` and `image_folder.rs` over the tree ----

struct ClassFiles {
    name: String,
    files: Vec<PathBuf>,
}

#[derive(Default)]
struct Listing {
    train: Vec<ClassFiles>,
    test: Option<Vec<ClassFiles>>,
    warnings: Vec<String>,
}

impl Tree {
    fn walk(&self, root: &Path) -> Result<Listing, DataError> {
        let dirs = self.sub_dirs(root);
        let find = |names: &[&str]| {
            dirs.iter()
                .find(|d| names.iter().any(|n| name_of(d).eq_ignore_ascii_case(n)))
                .cloned()
        };
        let mut listing = Listing::default();
        let split = find(&["train"]).zip(find(&TEST_NAMES));
        let train_only = match (&split, &dirs[..]) {
            (None, [only])
                if name_of(only).eq_ignore_ascii_case("train") && self.images_within(only, 0) =>
            {
                Some(only.clone())
            }
            _ => None,
        };
        match split {
            Some((train, test)) => {
                listing.train = self.classes_in(&train, &mut listing.warnings);
                let test_classes = self.classes_in(&test, &mut listing.warnings);
                let known: BTreeSet<&str> = listing.train.iter().map(|c| c.name.as_str()).collect();
                let (kept, extra): (Vec<_>, Vec<_>) = test_classes
                    .into_iter()
                    .partition(|c| known.contains(c.name.as_str()));
                for c in extra {
                    listing.warnings.push(format!(
                        "test class folder '{}' has no training images; its {} images were left out",
                        c.name,
                        c.files.len()
                    ));
                }
                listing.test = Some(kept);
            }
            None => {
                let parent = train_only.as_deref().unwrap_or(root);
                listing.train = self.classes_in(parent, &mut listing.warnings);
                if train_only.is_some() {
                    listing.warnings.push(format!(
                        "{} has a train folder but no test (or val) folder beside it, so a share of each class's training images is held out for testing",
                        name_of(root)
                    ));
                }
            }
        }
        let classes = listing.train.len();
        if classes > super::MAX_CLASSES {
            return Err(DataError::bad(
                &shown(root),
                format!(
                    "it has {classes} class folders; class numbers are 16-bit, so at most {} classes are supported",
                    super::MAX_CLASSES
                ),
            ));
        }
        if listing.train.is_empty() {
            let loose = self
                .files_in(root)
                .iter()
                .filter(|f| is_image_path(f))
                .count();
            let reason = if loose > 0 {
                format!(
                    "it holds {loose} images but no class folders: put each class's images in a sub-folder named after the class (e.g. {0}/cat/1.png, {0}/dog/2.png)",
                    name_of(root)
                )
            } else {
                "no class folder with images was found in it (expected e.g. cat/1.png, dog/2.png)"
                    .to_string()
            };
            return Err(DataError::bad(&shown(root), reason));
        }
        Ok(listing)
    }

    fn classes_in(&self, dir: &Path, warnings: &mut Vec<String>) -> Vec<ClassFiles> {
        let mut out = vec![];
        for class_dir in self.sub_dirs(dir) {
            let mut files = vec![];
            self.collect(&class_dir, 0, &mut files, warnings);
            if files.is_empty() {
                warnings.push(format!(
                    "class folder '{}' has no images, so it was left out",
                    class_dir.display()
                ));
                continue;
            }
            files.sort();
            out.push(ClassFiles {
                name: name_of(&class_dir),
                files,
            });
        }
        out
    }

    fn collect(
        &self,
        dir: &Path,
        depth: usize,
        files: &mut Vec<PathBuf>,
        warnings: &mut Vec<String>,
    ) {
        let Some(d) = self.dir(dir) else { return };
        // Folders and files of one folder, in name order as a disk listing sorts them.
        let mut entries: Vec<(PathBuf, bool)> = d
            .dirs
            .iter()
            .map(|n| (dir.join(n), true))
            .chain(d.files.iter().map(|n| (dir.join(n), false)))
            .collect();
        entries.sort();
        for (p, is_dir) in entries {
            if is_dir {
                if depth < MAX_DEPTH {
                    self.collect(&p, depth + 1, files, warnings);
                } else {
                    warnings.push(format!(
                        "skipped {}: folders nested more than {MAX_DEPTH} deep are not searched",
                        p.display()
                    ));
                }
            } else if is_image_path(&p) {
                files.push(p);
            }
        }
    }
}

/// What the header of an image says, read without decoding the pixels.
struct Probe {
    width: u32,
    height: u32,
    color: bool,
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, String> {
    let mut r = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("could not read: {e}"))?;
    if r.format().is_none() {
        return Err(if bytes.is_empty() {
            "not an image: the file is empty".into()
        } else {
            "not an image: its content is not a known image format".into()
        });
    }
    r.limits(limits());
    Ok(r)
}

fn probe(bytes: &[u8]) -> Result<Probe, String> {
    guarded(|| {
        let d = reader(bytes)?.into_decoder().map_err(describe)?;
        let (width, height) = d.dimensions();
        check_size(width, height)?;
        Ok(Probe {
            width,
            height,
            color: d.color_type().has_color(),
        })
    })
}

/// Decodes one image's bytes the way the image-folder loader decodes a file (same limits,
/// same grey and resize), as CHW bytes of `shape`. The error is a reason without the name.
pub fn decode_bytes(bytes: &[u8], shape: Shape) -> Result<Vec<u8>, String> {
    guarded(|| {
        let d = reader(bytes)?.into_decoder().map_err(describe)?;
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
        Ok(convert_one(&chw, from, shape))
    })
}

struct Job {
    path: PathBuf,
    label: u16,
    test: bool,
}

fn run<T: Send>(
    jobs: &[Job],
    progress: &Progress,
    f: impl Fn(&Job) -> Result<T, String> + Sync,
) -> Result<Vec<Result<T, String>>, DataError> {
    let out: Vec<Result<T, String>> = jobs
        .par_iter()
        .map(|j| {
            if progress.is_cancelled() {
                return Err(String::new());
            }
            let r = f(j);
            progress.done.fetch_add(1, Ordering::Relaxed);
            r
        })
        .collect();
    if progress.is_cancelled() {
        return Err(DataError::Cancelled);
    }
    Ok(out)
}

impl Tree {
    fn load_image_folder(
        &self,
        root: &Path,
        opts: &LoadOptions,
        progress: &Progress,
    ) -> Result<Raw, DataError> {
        let listing = self.walk(root)?;
        let mut warnings = listing.warnings;
        let mut skipped: Vec<(PathBuf, String)> = vec![];
        let classes: Vec<String> = listing.train.iter().map(|c| c.name.clone()).collect();
        let label_of: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        let by_class = |cs: &[ClassFiles]| -> Vec<Vec<PathBuf>> {
            let mut v = vec![vec![]; classes.len()];
            for c in cs {
                if let Some(&k) = label_of.get(c.name.as_str()) {
                    v[k].extend(c.files.iter().cloned());
                }
            }
            v
        };
        let (train, test) = match &listing.test {
            Some(test) => (by_class(&listing.train), by_class(test)),
            None => {
                let mut train = vec![];
                let mut test = vec![];
                for (k, files) in by_class(&listing.train).into_iter().enumerate() {
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
                        label: label as u16,
                        test: is_test,
                    });
                }
            }
        }
        let need_probe = opts.size.is_none() || opts.color == ColorMode::Auto;
        progress.set(0, jobs.len() * if need_probe { 2 } else { 1 });
        let shape = if need_probe {
            let probes = run(&jobs, progress, |j| probe(self.bytes(&j.path)))?;
            let mut keep = vec![];
            let mut sizes = BTreeSet::new();
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
            progress.done.fetch_add(skipped.len(), Ordering::Relaxed);
            jobs = keep;
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
        let (c, h, w) = shape;
        if (jobs.len() as u64).saturating_mul((c * h * w) as u64) > data_limit() {
            return Err(too_big(&shown(root), jobs.len(), shape));
        }
        let decoded = run(&jobs, progress, |j| {
            decode_bytes(self.bytes(&j.path), shape)
        })?;
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
        Ok(Raw {
            name: name_of(root),
            classes,
            shape,
            train,
            test: Some(test),
            warnings,
        })
    }
}

// ---- IDX: `idx.rs`'s naming and checks over the tree ----

struct IdxSet {
    train_images: PathBuf,
    train_labels: PathBuf,
    test: Option<(PathBuf, PathBuf)>,
    classes_txt: Option<PathBuf>,
}

struct Pair {
    split: Split,
    native: (usize, usize),
    target: (usize, usize),
    resized: Option<String>,
}

/// The header of an IDX file's bytes (plain or gzip), checked as a file's header is.
fn idx_header(path: &Path, bytes: &[u8]) -> Result<idx::Header, DataError> {
    if bytes.len() as u64 > idx::MAX_BYTES {
        return Err(DataError::idx(path, "it is larger than the 2 GiB limit"));
    }
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let mut r: Box<dyn Read + '_> = if gz {
        Box::new(MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    idx::read_header(path, &mut r, (!gz).then_some(bytes.len() as u64))
}

impl Tree {
    fn idx_candidates(&self, d: &Path) -> Vec<(PathBuf, (Role, Part, String))> {
        self.files_in(d)
            .into_iter()
            .filter_map(|p| idx::classify(&name_of(&p)).map(|c| (p, c)))
            .collect()
    }

    fn idx_find(&self, d: &Path, chosen: Option<String>) -> Result<IdxSet, DataError> {
        let all = self.idx_candidates(d);
        let mut prefixes: Vec<String> = all
            .iter()
            .filter(|(_, (r, p, _))| *r == Role::Images && *p == Part::Train)
            .map(|(_, (_, _, pre))| pre.clone())
            .collect();
        prefixes.sort();
        prefixes.dedup();
        let path = shown(d);
        let prefix = match (chosen, prefixes.len()) {
            (Some(p), _) => p,
            (None, 0) => {
                return Err(DataError::UnknownFormat {
                    path,
                    reason:
                        "no training images file (e.g. train-images-idx3-ubyte or .gz) was found"
                            .into(),
                });
            }
            (None, 1) => prefixes.remove(0),
            (None, _) => {
                let names: Vec<String> = prefixes
                    .iter()
                    .map(|p| format!("{p}train-images"))
                    .collect();
                return Err(DataError::bad(
                    &path,
                    format!(
                        "it holds several IDX data sets ({}); drop the files of only one of them",
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
                &path,
                format!("the IDX set has no {what} file (e.g. {prefix}{what}-idx…-ubyte)"),
            )
        };
        let train_images =
            pick(Role::Images, Part::Train).ok_or_else(|| missing("train-images"))?;
        let train_labels =
            pick(Role::Labels, Part::Train).ok_or_else(|| missing("train-labels"))?;
        let test = pick(Role::Images, Part::Test).zip(pick(Role::Labels, Part::Test));
        let names = d.join("classes.txt");
        let classes_txt = self.files.contains_key(&names).then_some(names);
        Ok(IdxSet {
            train_images,
            train_labels,
            test,
            classes_txt,
        })
    }

    fn load_idx(
        &self,
        d: &Path,
        chosen: Option<String>,
        opts: &LoadOptions,
        progress: &Progress,
    ) -> Result<Raw, DataError> {
        let files = self.idx_find(d, chosen)?;
        let mut warnings = vec![];
        progress.set(0, 2 + if files.test.is_some() { 2 } else { 0 });
        let step = || -> Result<(), DataError> {
            progress.done.fetch_add(1, Ordering::Relaxed);
            if progress.is_cancelled() {
                return Err(DataError::Cancelled);
            }
            Ok(())
        };
        let mut budget = data_limit();
        // gzip files unpack here: their data counts against what is left of the drop's budget.
        let mut unpacked = unpacked_limit()
            .saturating_sub(self.files.values().map(|b| b.len() as u64).sum::<u64>());
        let mut pair = |images: &Path, labels: &Path, chosen: Option<(usize, usize)>| {
            self.idx_pair(
                images,
                labels,
                chosen,
                &mut budget,
                &mut unpacked,
                progress,
                &step,
            )
        };
        let train = pair(&files.train_images, &files.train_labels, opts.size)?;
        warnings.extend(train.resized.clone());
        let target = train.target;
        let test = match &files.test {
            Some((ti, tl)) => {
                let test = pair(ti, tl, Some(target))?;
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
                if self
                    .idx_candidates(d)
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
        let names = files
            .classes_txt
            .as_deref()
            .and_then(|f| self.names(f, &mut warnings));
        let classes = match names {
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
            None => idx::number_classes(&splits, &mut warnings)?,
        };
        let (h, w) = target;
        Ok(Raw {
            name: idx::dir_name(&files.train_images),
            classes,
            shape: (1, h, w),
            train: train.split,
            test: test.map(|t| t.split),
            warnings,
        })
    }

    /// `idx::load_pair` over bytes: both headers are checked, and the size the set will take,
    /// before either body is read.
    #[allow(clippy::too_many_arguments)]
    fn idx_pair(
        &self,
        images: &Path,
        labels: &Path,
        chosen: Option<(usize, usize)>,
        budget: &mut u64,
        unpacked: &mut u64,
        progress: &Progress,
        step: &dyn Fn() -> Result<(), DataError>,
    ) -> Result<Pair, DataError> {
        let (ib, lb) = (self.bytes(images), self.bytes(labels));
        let img = idx_header(images, ib)?;
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
        if h == 0 || w == 0 || h > idx::MAX_SIDE || w > idx::MAX_SIDE {
            return Err(DataError::idx(
                images,
                format!(
                    "its images are {w}x{h}; sides must be between 1 and {}",
                    idx::MAX_SIDE
                ),
            ));
        }
        let lab = idx_header(labels, lb)?;
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
        let (target, resized) = choose_size(&BTreeSet::from([(h, w)]), chosen);
        let bytes = (n as u64).saturating_mul((target.0 * target.1) as u64);
        if bytes > *budget {
            return Err(too_big(images, n, (1, target.0, target.1)));
        }
        *budget -= bytes;
        // What parsing will hold at full size, checked before it is allocated.
        for (file, raw, header) in [(images, ib, &img), (labels, lb, &lab)] {
            if raw.starts_with(&[0x1f, 0x8b]) {
                if header.expected > *unpacked {
                    return Err(DataError::idx(
                        file,
                        format!(
                            "its header promises {} of data once unzipped, more than the {} left of the {} dropped files may take",
                            crate::util::bytes_text(header.expected),
                            crate::util::bytes_text(*unpacked),
                            crate::util::bytes_text(unpacked_limit())
                        ),
                    ));
                }
                *unpacked -= header.expected;
            }
        }
        let data = idx::parse_idx(images, ib)?.data;
        let data = if target == (h, w) {
            data
        } else {
            if progress.is_cancelled() {
                return Err(DataError::Cancelled);
            }
            let small: Vec<Vec<u8>> = data
                .par_chunks(h * w)
                .map(|img| convert_one(img, (1, h, w), (1, target.0, target.1)))
                .collect();
            small.concat()
        };
        step()?;
        let label_bytes = idx::parse_idx(labels, lb)?.data;
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

    /// Class names from a names file of the tree, as `idx::read_names` reads one from disk.
    fn names(&self, file: &Path, warnings: &mut Vec<String>) -> Option<Vec<String>> {
        let bytes = self.bytes(file);
        if bytes.len() as u64 > idx::MAX_NAMES_FILE {
            warnings.push(format!(
                "could not read class names from {} (it is {}, more than the {} a class-names file may take); using numbers",
                file.display(),
                crate::util::bytes_text(bytes.len() as u64),
                crate::util::bytes_text(idx::MAX_NAMES_FILE)
            ));
            return None;
        }
        idx::names_from_bytes(file, bytes, warnings)
    }
}

// ---- CIFAR: `cifar.rs`'s files and checks over the tree ----

struct CifarSet {
    train: Vec<PathBuf>,
    test: Option<PathBuf>,
    label_bytes: usize,
    names: Option<PathBuf>,
}

impl Tree {
    fn cifar_find(&self, d: &Path) -> Result<CifarSet, DataError> {
        let files = self.files_in(d);
        let mut batches: Vec<(u32, PathBuf)> = files
            .iter()
            .filter_map(|p| cifar::batch_number(&name_of(p)).map(|k| (k, p.clone())))
            .collect();
        batches.sort();
        let existing = |n: &str| Some(d.join(n)).filter(|p| self.files.contains_key(p));
        if !batches.is_empty() {
            return Ok(CifarSet {
                train: batches.into_iter().map(|(_, p)| p).collect(),
                test: existing("test_batch.bin"),
                label_bytes: 1,
                names: existing("batches.meta.txt"),
            });
        }
        if let Some(train) = existing("train.bin") {
            return Ok(CifarSet {
                train: vec![train],
                test: existing("test.bin"),
                label_bytes: 2,
                names: existing("fine_label_names.txt"),
            });
        }
        Err(DataError::UnknownFormat {
            path: shown(d),
            reason: "no CIFAR training file (data_batch_1.bin or train.bin) was found".into(),
        })
    }

    fn cifar_read(
        &self,
        path: &Path,
        label_bytes: usize,
        budget: &mut u64,
    ) -> Result<Split, DataError> {
        let bytes = self.bytes(path);
        let len = bytes.len() as u64;
        if len > cifar::MAX_FILE {
            return Err(DataError::cifar(path, "it is larger than the 1 GiB limit"));
        }
        let rec = (label_bytes + cifar::PIXELS) as u64;
        if len > 0 && len.is_multiple_of(rec) {
            let n = (len / rec) as usize;
            let need = (n * cifar::PIXELS) as u64;
            if need > *budget {
                return Err(too_big(path, n, (3, cifar::SIDE, cifar::SIDE)));
            }
            *budget -= need;
        }
        let (images, labels) = cifar::parse_cifar(path, bytes, label_bytes)?;
        Ok(Split { images, labels })
    }

    /// `cifar::load` over the tree; `lone` is a single dropped `.bin` file, the whole set.
    fn load_cifar(
        &self,
        d: &Path,
        lone: Option<&Path>,
        progress: &Progress,
    ) -> Result<Raw, DataError> {
        let files = match lone {
            Some(file) => {
                let name = name_of(file).to_ascii_lowercase();
                let len = self.bytes(file).len();
                let label_bytes = if name == "train.bin" || name == "test.bin" {
                    2
                } else if name.starts_with("data_batch") || name.starts_with("test_batch") {
                    1
                } else if !len.is_multiple_of(cifar::PIXELS + 1)
                    && len.is_multiple_of(cifar::PIXELS + 2)
                {
                    2
                } else {
                    1
                };
                CifarSet {
                    train: vec![file.to_path_buf()],
                    test: None,
                    label_bytes,
                    names: None,
                }
            }
            None => self.cifar_find(d)?,
        };
        let origin = lone.map(Path::to_path_buf).unwrap_or_else(|| shown(d));
        progress.set(0, files.train.len() + files.test.iter().count());
        let mut budget = data_limit();
        let mut train = Split::default();
        let mut parts = vec![];
        for f in &files.train {
            if progress.is_cancelled() {
                return Err(DataError::Cancelled);
            }
            let s = self.cifar_read(f, files.label_bytes, &mut budget)?;
            parts.push((f.clone(), train.len()..train.len() + s.len()));
            train.images.extend_from_slice(&s.images);
            train.labels.extend_from_slice(&s.labels);
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
        let test = match &files.test {
            Some(f) => {
                if progress.is_cancelled() {
                    return Err(DataError::Cancelled);
                }
                let s = self.cifar_read(f, files.label_bytes, &mut budget)?;
                progress.done.fetch_add(1, Ordering::Relaxed);
                Some(s)
            }
            None => None,
        };
        let mut warnings = vec![];
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
        let names = files
            .names
            .as_deref()
            .and_then(|f| self.names(f, &mut warnings));
        let names_file = files.names.as_deref().unwrap_or(&origin);
        let standard_why = format!("{set} labels go from 0 to {}", standard - 1);
        let (classes, why) = match names {
            Some(n) if n.len() > max_label => {
                let why = format!("{} names {} classes", names_file.display(), n.len());
                (n, why)
            }
            Some(n) => {
                warnings.push(format!(
                    "{} names {} classes but the labels go up to {max_label}; using numbers",
                    names_file.display(),
                    n.len()
                ));
                (cifar::numbers(standard), standard_why)
            }
            None => (cifar::numbers(standard), standard_why),
        };
        for (f, range) in &parts {
            super::check_label_range(f, &train.labels[range.clone()], classes.len(), &why)?;
        }
        if let (Some(f), Some(t)) = (&files.test, &test) {
            super::check_label_range(f, &t.labels, classes.len(), &why)?;
        }
        Ok(Raw {
            name: name_of(&origin),
            classes,
            shape: (3, cifar::SIDE, cifar::SIDE),
            train,
            test,
            warnings,
        })
    }
}

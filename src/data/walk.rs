//! Finding the images of an image folder: `root/<class>/…` or `root/{train,test}/<class>/…`.
//!
//! Learners' folders are messy, so the walker is defensive: it never follows a link back into
//! a folder it has already seen (loops), never opens anything but regular files (a FIFO named
//! `x.png` would block forever), copes with names that are not UTF-8, and reports what it
//! could not read instead of failing.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use super::DataError;

/// Extensions we try to decode; anything else in a class folder is ignored without comment.
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tiff", "tif"];
/// Nesting below a class folder that we still search (class/sub/sub/...).
pub(crate) const MAX_DEPTH: usize = 8;
pub(crate) const TEST_NAMES: [&str; 4] = ["test", "val", "valid", "validation"];

/// The images of one class, sorted by path so every run sees the same order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassFiles {
    /// The folder name as text: names that are not UTF-8 keep their odd bytes as `\xNN`, so two
    /// different folders never get the same class name.
    pub name: String,
    /// The folder name exactly as on disk (what a test folder is matched by).
    pub key: OsString,
    pub files: Vec<PathBuf>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// Classes of the training folder (or of the root when there is no split).
    pub train: Vec<ClassFiles>,
    /// Classes of the test folder, when the root has `train/` and `test/` (or `val/`).
    pub test: Option<Vec<ClassFiles>>,
    /// Image-named entries that could not be read, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    pub warnings: Vec<String>,
}

pub fn is_image_path(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.as_encoded_bytes().first() == Some(&b'.'))
}

/// Sub-folders of `dir` (following links to folders), sorted, hidden ones left out.
fn sub_dirs(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| !is_hidden(p) && fs::metadata(p).is_ok_and(|m| m.is_dir()))
        .collect();
    out.sort();
    Ok(out)
}

fn name_of(p: &Path) -> String {
    p.file_name().map(escaped).unwrap_or_default()
}

/// A file name as text: valid UTF-8 as is, any other byte as `\xNN` (where a lossy conversion
/// would turn `caf\xE9` and `caf\xE8` into the same `caf\u{FFFD}`).
pub fn escaped(name: &OsStr) -> String {
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// Does this folder look like an image folder: an image file one level down (`root/cat/1.png`)
/// or two (`root/train/cat/1.png`)? The scan is bounded so a huge tree answers quickly.
pub fn looks_like(root: &Path) -> bool {
    fn images_within(dir: &Path, depth: usize) -> bool {
        let Ok(rd) = fs::read_dir(dir) else {
            return false;
        };
        let mut dirs = 0;
        for e in rd.flatten().take(2_000) {
            let p = e.path();
            if is_hidden(&p) {
                continue;
            }
            if depth > 0 && is_image_path(&p) {
                return true;
            }
            if depth < 2 && dirs < 50 && fs::metadata(&p).is_ok_and(|m| m.is_dir()) {
                dirs += 1;
                if images_within(&p, depth + 1) {
                    return true;
                }
            }
        }
        false
    }
    images_within(root, 0)
}

/// Lists the classes and image files under `root`.
pub fn walk(root: &Path) -> Result<Listing, DataError> {
    let meta = fs::metadata(root).map_err(|e| DataError::io(root, e))?;
    if !meta.is_dir() {
        return Err(DataError::bad(
            root,
            "it is a file, not a folder of class folders",
        ));
    }
    let dirs = sub_dirs(root)?;
    let find = |names: &[&str]| {
        dirs.iter()
            .find(|d| names.iter().any(|n| name_of(d).eq_ignore_ascii_case(n)))
            .cloned()
    };
    let mut listing = Listing::default();
    let split = find(&["train"]).zip(find(&TEST_NAMES));
    // A root whose only folder is `train/` is a split layout that lacks its test half, not a
    // data set with one class called "train".
    let train_only = match (&split, &dirs[..]) {
        (None, [only]) if name_of(only).eq_ignore_ascii_case("train") && looks_like(only) => {
            Some(only.clone())
        }
        _ => None,
    };
    // Links back to the root, a split folder or a class folder are never followed: reserve
    // them all before walking any class.
    let mut seen = HashSet::new();
    let mut reserve = |d: &Path| {
        if let Ok(c) = fs::canonicalize(d) {
            seen.insert(c);
        }
    };
    reserve(root);
    let class_parents: Vec<PathBuf> = match (&split, &train_only) {
        (Some((train, test)), _) => vec![train.clone(), test.clone()],
        (None, Some(train)) => vec![train.clone()],
        (None, None) => vec![root.to_path_buf()],
    };
    for parent in &class_parents {
        reserve(parent);
        for d in sub_dirs(parent).unwrap_or_default() {
            reserve(&d);
        }
    }
    match split {
        Some((train, test)) => {
            listing.train = classes_in(&train, &mut seen, &mut listing)?;
            let test_classes = classes_in(&test, &mut seen, &mut listing)?;
            let known: HashSet<&OsStr> = listing.train.iter().map(|c| c.key.as_os_str()).collect();
            let (kept, extra): (Vec<_>, Vec<_>) = test_classes
                .into_iter()
                .partition(|c| known.contains(c.key.as_os_str()));
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
            listing.train = classes_in(parent, &mut seen, &mut listing)?;
            if train_only.is_some() {
                listing.warnings.push(format!(
                    "{} has a train folder but no test (or val) folder beside it, so a share of each class's training images is held out for testing",
                    name_of(root)
                ));
            }
        }
    }
    report_odd_names(&mut listing);
    let classes = listing.train.len();
    if classes > super::MAX_CLASSES {
        return Err(DataError::bad(
            root,
            format!(
                "it has {classes} class folders; class numbers are 16-bit, so at most {} classes are supported",
                super::MAX_CLASSES
            ),
        ));
    }
    if listing.train.is_empty() {
        let loose = fs::read_dir(root)
            .map(|rd| rd.flatten().filter(|e| is_image_path(&e.path())).count())
            .unwrap_or(0);
        let reason = if loose > 0 {
            format!(
                "it holds {loose} images but no class folders: put each class's images in a sub-folder named after the class (e.g. {0}/cat/1.png, {0}/dog/2.png)",
                name_of(root)
            )
        } else {
            "no class folder with images was found in it (expected e.g. cat/1.png, dog/2.png)"
                .to_string()
        };
        return Err(DataError::bad(root, reason));
    }
    Ok(listing)
}

/// Class folders whose names are not UTF-8 get `\xNN` escapes; say so, and make sure no two
/// classes share a name even then (a UTF-8 folder may literally be called `caf\xE9`).
fn report_odd_names(listing: &mut Listing) {
    let odd: Vec<String> = listing
        .train
        .iter()
        .filter(|c| c.key.to_str().is_none())
        .map(|c| c.name.clone())
        .collect();
    if !odd.is_empty() {
        listing.warnings.push(format!(
            "{} class folder name{} not valid UTF-8, so {} shown with \\xNN for the odd bytes: {}",
            odd.len(),
            if odd.len() == 1 { " is" } else { "s are" },
            if odd.len() == 1 { "it is" } else { "they are" },
            odd.join(", ")
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in &mut listing.train {
        let n = seen.entry(c.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            let renamed = format!("{} ({})", c.name, n);
            listing.warnings.push(format!(
                "two class folders are both shown as '{}'; the second is called '{renamed}'",
                c.name
            ));
            c.name = renamed;
        }
    }
}

fn classes_in(
    dir: &Path,
    seen: &mut HashSet<PathBuf>,
    listing: &mut Listing,
) -> Result<Vec<ClassFiles>, DataError> {
    let mut out = vec![];
    for class_dir in sub_dirs(dir)? {
        let name = name_of(&class_dir);
        let mut files = vec![];
        collect_entries(&class_dir, 0, seen, &mut files, listing);
        if files.is_empty() {
            listing.warnings.push(format!(
                "class folder '{}' has no images, so it was left out",
                class_dir.display()
            ));
            continue;
        }
        files.sort();
        let key = class_dir
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default();
        out.push(ClassFiles { name, key, files });
    }
    Ok(out)
}

fn collect(
    dir: &Path,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    listing: &mut Listing,
) {
    // A folder we already walked (reached again through a link) would loop or double-count.
    match fs::canonicalize(dir) {
        Ok(c) => {
            if !seen.insert(c) {
                listing.warnings.push(format!(
                    "skipped {}: it leads back to a folder already read (a link loop?)",
                    dir.display()
                ));
                return;
            }
        }
        Err(e) => {
            listing
                .skipped
                .push((dir.to_path_buf(), format!("could not open folder: {e}")));
            return;
        }
    }
    collect_entries(dir, depth, seen, files, listing);
}

fn collect_entries(
    dir: &Path,
    depth: usize,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    listing: &mut Listing,
) {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            listing
                .skipped
                .push((dir.to_path_buf(), format!("could not open folder: {e}")));
            return;
        }
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if is_hidden(&p) {
            continue;
        }
        match fs::metadata(&p) {
            Ok(m) if m.is_dir() => {
                if depth < MAX_DEPTH {
                    collect(&p, depth + 1, seen, files, listing);
                } else {
                    listing.warnings.push(format!(
                        "skipped {}: folders nested more than {MAX_DEPTH} deep are not searched",
                        p.display()
                    ));
                }
            }
            Ok(m) if m.is_file() && is_image_path(&p) => files.push(p),
            Ok(_) if is_image_path(&p) => {
                listing.skipped.push((p, "not a regular file".to_string()))
            }
            Ok(_) => {}
            Err(e) if is_image_path(&p) => {
                let why = if fs::symlink_metadata(&p).is_ok() {
                    format!("broken or looping link: {e}")
                } else {
                    e.to_string()
                };
                listing.skipped.push((p, why));
            }
            Err(_) => {}
        }
    }
}

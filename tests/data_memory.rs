//! Loading from files' bytes (a browser's drop): the same files give the same data set as from
//! disk, and hostile drops (zip bombs, lying headers, path traversal, corrupt bytes, huge
//! images) give one sentence that names the file, never a panic or a huge allocation.

use resnet_lab::data::memory::{MAX_ENTRIES, load_files};
use resnet_lab::data::*;
use resnet_lab::rng::Rng64;
use std::io::{Cursor, Write};
use std::path::Path;

type Files = Vec<(String, Vec<u8>)>;

fn load_disk(p: &Path, o: &LoadOptions) -> Dataset {
    load(&Source::Path(p.to_path_buf()), o, &Progress::default())
        .unwrap_or_else(|e| panic!("loading {} failed: {e}", p.display()))
}

fn load_mem(files: Files, o: &LoadOptions) -> Dataset {
    load_files(files, o, &Progress::default()).unwrap_or_else(|e| panic!("load_files failed: {e}"))
}

fn load_err(files: Files) -> String {
    match load_files(files, &LoadOptions::default(), &Progress::default()) {
        Ok(ds) => panic!(
            "expected an error, got a data set of {} images",
            ds.train.len()
        ),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "not one sentence: {s}");
            s
        }
    }
}

/// Same classes, shape, labels, pixels and statistics.
fn exact(a: &Dataset, b: &Dataset) {
    assert_eq!(a.classes, b.classes);
    assert_eq!(
        (a.channels, a.height, a.width),
        (b.channels, b.height, b.width)
    );
    assert_eq!(a.train.labels, b.train.labels);
    assert_eq!(a.test.labels, b.test.labels);
    assert!(a.train.images == b.train.images, "training pixels differ");
    assert!(a.test.images == b.test.images, "test pixels differ");
    assert_eq!(a.mean, b.mean);
    assert_eq!(a.std, b.std);
    assert_eq!(
        a.warnings.len(),
        b.warnings.len(),
        "{:?} vs {:?}",
        a.warnings,
        b.warnings
    );
}

/// Every file under `dir`, by its path relative to `dir` with `/`, with `prefix` before it.
fn files_under(dir: &Path, prefix: &str) -> Files {
    fn walk(d: &Path, rel: &str, out: &mut Files) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &r, out);
            } else {
                out.push((r, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = vec![];
    walk(dir, prefix, &mut out);
    out.sort();
    out
}

fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in entries {
        w.start_file(n.as_str(), o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn png(img: image::DynamicImage) -> Vec<u8> {
    let mut c = Cursor::new(Vec::new());
    img.write_to(&mut c, image::ImageFormat::Png).unwrap();
    c.into_inner()
}

fn noise_rgb(w: u32, h: u32, seed: u64) -> image::DynamicImage {
    let mut rng = Rng64::new(seed);
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |_, _| {
        image::Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ])
    }))
}

/// A PNG whose header claims `w`x`h` pixels and that holds no pixel data.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = vec![];
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// Random images with `k` classes (for the IDX and CIFAR writers).
fn synthetic(k: usize, n: usize, shape: (usize, usize, usize), seed: u64) -> Dataset {
    let (c, h, w) = shape;
    let mut rng = Rng64::new(seed);
    let mut split = |n: usize| Split {
        images: (0..n * c * h * w).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|i| (i % k) as u16).collect(),
    };
    let train = split(n);
    let test = split(n / 4);
    let (mean, std) = channel_stats(&train.images, c, h * w);
    Dataset {
        name: "synthetic".into(),
        classes: (0..k).map(|i| format!("class {i}")).collect(),
        channels: c,
        height: h,
        width: w,
        train,
        test,
        mean,
        std,
        warnings: vec![],
    }
}

/// `pets/{cat,dog,bird}/…`: RGB and grey PNGs, a JPEG, a nested folder, a hidden file, a text
/// file, a broken image, an empty class folder and an image claiming 100000x100000 pixels.
fn messy_folder(root: &Path) {
    let put = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    for i in 0..6 {
        put(&format!("cat/{i}.png"), &png(noise_rgb(8, 8, i)));
        put(&format!("dog/{i}.png"), &png(noise_rgb(8, 8, 100 + i)));
    }
    let grey = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(8, 8, |x, y| {
        image::Luma([(x * 30 + y) as u8])
    }));
    put("bird/grey.png", &png(grey));
    let mut jpg = Cursor::new(Vec::new());
    noise_rgb(8, 8, 7)
        .write_to(&mut jpg, image::ImageFormat::Jpeg)
        .unwrap();
    put("bird/photo.jpg", jpg.get_ref());
    put("bird/deep/er/nested.png", &png(noise_rgb(8, 8, 8)));
    put("bird/.hidden.png", b"not even an image");
    put("bird/notes.txt", b"ignored");
    put("cat/broken.png", b"\x89PNG\r\n\x1a\ncut");
    put("dog/huge.png", &png_claiming(100_000, 100_000));
    std::fs::create_dir_all(root.join("empty")).unwrap();
    put("empty/readme.txt", b"no images here");
}

#[test]
fn zipped_image_folder_loads_as_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pets");
    messy_folder(&root);
    for o in [
        LoadOptions::default(),
        LoadOptions {
            size: Some((6, 5)),
            color: ColorMode::Gray,
            seed: 7,
            test_fraction: 0.5,
            max_per_class: Some(2),
            ..LoadOptions::default()
        },
    ] {
        let disk = load_disk(&root, &o);
        let zip = zip_of(&files_under(&root, "pets"));
        let mem = load_mem(vec![("pets.zip".into(), zip)], &o);
        exact(&disk, &mem);
        assert_eq!(mem.name, "pets");
        assert_eq!(mem.classes, ["bird", "cat", "dog"]);
        if o.max_per_class.is_none() {
            // The skipped files are named the same way, relative to the folder.
            assert_eq!(disk.warnings[0], mem.warnings[0]);
            let w = &mem.warnings[0];
            assert!(
                w.contains("cat/broken.png") && w.contains("dog/huge.png"),
                "{w}"
            );
            assert!(w.contains("100000x100000"), "{w}");
            assert!(
                mem.warnings
                    .iter()
                    .any(|w| w.contains("'pets.zip/pets/empty' has no images"))
            );
        }
    }
}

#[test]
fn zip_without_a_wrapping_folder_and_dropped_folder_files_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pets");
    messy_folder(&root);
    let o = LoadOptions::default();
    let disk = load_disk(&root, &o);
    // The folder's contents zipped (no `pets/` inside).
    let flat = load_mem(vec![("x.zip".into(), zip_of(&files_under(&root, "")))], &o);
    exact(&disk, &flat);
    assert_eq!(flat.name, "x");
    // The folder itself dropped: its files by relative path.
    let loose = load_mem(files_under(&root, "pets"), &o);
    exact(&disk, &loose);
    assert_eq!(loose.name, "pets");
}

#[test]
fn train_and_test_folders_load_as_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic(3, 24, (3, 10, 12), 5);
    let root = dir.path().join("split");
    write_image_folder(&root, &ds).unwrap();
    for o in [
        LoadOptions::default(),
        LoadOptions {
            size: Some((16, 16)),
            max_per_class: Some(3),
            ..LoadOptions::default()
        },
    ] {
        let disk = load_disk(&root, &o);
        let mem = load_mem(
            vec![("split.zip".into(), zip_of(&files_under(&root, "split")))],
            &o,
        );
        exact(&disk, &mem);
        assert_eq!(mem.test.len(), disk.test.len());
        assert!(!mem.test.is_empty());
    }
    // Only `train/`: a share is held out, with the same warning as on disk.
    std::fs::remove_dir_all(root.join("test")).unwrap();
    let o = LoadOptions::default();
    let disk = load_disk(&root, &o);
    let mem = load_mem(
        vec![("split.zip".into(), zip_of(&files_under(&root, "")))],
        &o,
    );
    exact(&disk, &mem);
    assert!(
        mem.warnings
            .iter()
            .any(|w| w.contains("has a train folder but no test"))
    );
}

#[test]
fn idx_files_load_as_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic(4, 40, (1, 28, 28), 9);
    for gzip in [false, true] {
        let at = dir.path().join(format!("mnist-{gzip}"));
        write_idx(&at, &ds, gzip).unwrap();
        for o in [
            LoadOptions::default(),
            LoadOptions {
                size: Some((14, 14)),
                ..LoadOptions::default()
            },
        ] {
            let disk = load_disk(&at, &o);
            // Loose files, as a learner drops them.
            let files = files_under(&at, "");
            let mem = load_mem(files.clone(), &o);
            exact(&disk, &mem);
            assert_eq!(mem.classes, ds.classes);
            // The same files in a zip, inside a folder.
            let zip = zip_of(&files_under(&at, "mnist/raw"));
            let zipped = load_mem(vec![("mnist.zip".into(), zip)], &o);
            exact(&disk, &zipped);
            assert_eq!(zipped.name, "mnist");
        }
    }
    // Without the test files: a split is made from the training set, as on disk.
    let at = dir.path().join("mnist-false");
    let train_only: Files = files_under(&at, "")
        .into_iter()
        .filter(|(n, _)| !n.starts_with("t10k"))
        .collect();
    std::fs::remove_file(at.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::remove_file(at.join("t10k-labels-idx1-ubyte")).unwrap();
    exact(
        &load_disk(&at, &LoadOptions::default()),
        &load_mem(train_only, &LoadOptions::default()),
    );
}

#[test]
fn cifar_batches_load_as_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let ds = synthetic(10, 50, (3, 32, 32), 3);
    let at = dir.path().join("cifar-10-batches-bin");
    write_cifar(&at, &ds).unwrap();
    let o = LoadOptions::default();
    let disk = load_disk(&at, &o);
    let mem = load_mem(files_under(&at, ""), &o);
    exact(&disk, &mem);
    assert_eq!(mem.classes, ds.classes);
    let zip = zip_of(&files_under(&at, "cifar-10-batches-bin"));
    let zipped = load_mem(vec![("cifar.zip".into(), zip)], &o);
    exact(&disk, &zipped);
    // One batch file alone is the whole set, as a single file on disk is.
    let one = at.join("data_batch_1.bin");
    let lone = load_mem(
        vec![("data_batch_1.bin".into(), std::fs::read(&one).unwrap())],
        &o,
    );
    exact(&load_disk(&one, &o), &lone);
}

#[test]
fn zip_bomb_is_refused_before_it_is_unpacked() {
    // 200 MB of zeros: about 200 KB packed.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("bomb/cat/zeros.png", o).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        w.write_all(&zeros).unwrap();
    }
    w.start_file("bomb/dog/1.png", o).unwrap();
    w.write_all(&png(noise_rgb(4, 4, 1))).unwrap();
    let zip = w.finish().unwrap().into_inner();
    assert!(zip.len() < 2 << 20);
    let e = load_err(vec![("bomb.zip".into(), zip)]);
    assert!(
        e.contains("bomb.zip/bomb/cat/zeros.png") && e.contains("zip bomb"),
        "{e}"
    );
}

/// Offsets of the uncompressed-size fields of the first entry: local header, central header.
fn size_fields(zip: &[u8]) -> (usize, usize) {
    let find = |sig: &[u8]| zip.windows(4).position(|w| w == sig).unwrap();
    (find(b"PK\x03\x04") + 22, find(b"PK\x01\x02") + 24)
}

#[test]
fn lying_entry_sizes_are_caught() {
    let mut entries = vec![("d/cat/a.png".to_string(), vec![7u8; 100_000])];
    entries.push(("d/dog/b.png".into(), png(noise_rgb(4, 4, 2))));
    let zip = zip_of(&entries);
    let (local, central) = size_fields(&zip);
    // Claims far more than it holds: refused before anything is allocated.
    for claim in [0xFFFF_FFF0u32, 3_000_000_000] {
        let mut z = zip.clone();
        z[local..local + 4].copy_from_slice(&claim.to_le_bytes());
        z[central..central + 4].copy_from_slice(&claim.to_le_bytes());
        let e = load_err(vec![("d.zip".into(), z)]);
        assert!(e.contains("d.zip"), "{e}");
    }
    // Claims less than it unpacks to: the read stops one byte past the claim.
    let mut z = zip.clone();
    z[local..local + 4].copy_from_slice(&10u32.to_le_bytes());
    z[central..central + 4].copy_from_slice(&10u32.to_le_bytes());
    let e = load_err(vec![("d.zip".into(), z)]);
    assert!(e.contains("d.zip/d/cat/a.png"), "{e}");
}

#[test]
fn path_traversal_is_refused() {
    let zip = zip_of(&[
        ("ok/cat/1.png".into(), png(noise_rgb(4, 4, 1))),
        ("../evil/dog/1.png".into(), png(noise_rgb(4, 4, 2))),
    ]);
    let e = load_err(vec![("t.zip".into(), zip)]);
    assert!(
        e.contains("t.zip") && e.contains("../evil/dog/1.png"),
        "{e}"
    );
    assert!(e.contains("outside"), "{e}");
    let e = load_err(vec![("../x/train-images-idx3-ubyte".into(), vec![0; 16])]);
    assert!(
        e.contains("../x/train-images-idx3-ubyte") && e.contains("outside"),
        "{e}"
    );
    let e = load_err(vec![("/etc/passwd".into(), vec![0; 16])]);
    assert!(e.contains("/etc/passwd"), "{e}");
}

#[test]
fn corrupt_and_empty_drops_are_one_sentence_errors() {
    assert!(load_err(vec![]).contains("no files"));
    let mut rng = Rng64::new(1);
    let junk: Vec<u8> = (0..5000).map(|_| rng.below(256) as u8).collect();
    let e = load_err(vec![("junk.zip".into(), junk.clone())]);
    assert!(e.contains("junk.zip") && e.contains("zip"), "{e}");
    // A real zip cut short, and one with its entry data damaged.
    let zip = zip_of(&[
        ("p/cat/1.png".into(), png(noise_rgb(16, 16, 1))),
        ("p/dog/1.png".into(), png(noise_rgb(16, 16, 2))),
    ]);
    let e = load_err(vec![("cut.zip".into(), zip[..zip.len() / 2].to_vec())]);
    assert!(e.contains("cut.zip"), "{e}");
    let mut bad = zip.clone();
    for b in &mut bad[40..200] {
        *b ^= 0x5A;
    }
    let e = load_err(vec![("bad.zip".into(), bad)]);
    assert!(e.contains("bad.zip"), "{e}");
    // Zips with nothing to load, loose files that are no data set.
    let e = load_err(vec![(
        "docs.zip".into(),
        zip_of(&[("a/readme.md".into(), b"hi".to_vec())]),
    )]);
    assert!(e.contains("none of them"), "{e}");
    let e = load_err(vec![("cat.png".into(), png(noise_rgb(4, 4, 1)))]);
    assert!(e.contains("cat.png") && e.contains("single image"), "{e}");
    let e = load_err(vec![("notes.txt".into(), b"hello".to_vec())]);
    assert!(e.contains("notes.txt"), "{e}");
    let e = load_err(vec![("data.tar.gz".into(), vec![0x1f, 0x8b, 0, 0])]);
    assert!(e.contains("data.tar.gz") && e.contains(".zip"), "{e}");
    // Wrong formats with the right names.
    let e = load_err(vec![
        ("train-images-idx3-ubyte".into(), b"not idx at all".to_vec()),
        (
            "train-labels-idx1-ubyte".into(),
            vec![0, 0, 8, 1, 0, 0, 0, 1, 3],
        ),
    ]);
    assert!(
        e.contains("train-images-idx3-ubyte") && e.contains("IDX"),
        "{e}"
    );
    let e = load_err(vec![("data_batch_1.bin".into(), vec![1; 3000])]);
    assert!(e.contains("data_batch_1.bin") && e.contains("CIFAR"), "{e}");
    // Two files under one name.
    let e = load_err(vec![
        ("a/cat/1.png".into(), png(noise_rgb(4, 4, 1))),
        ("a/cat/1.png".into(), png(noise_rgb(4, 4, 2))),
    ]);
    assert!(e.contains("a/cat/1.png"), "{e}");
}

#[test]
fn huge_images_are_skipped_and_a_set_of_only_huge_images_is_refused() {
    let zip = zip_of(&[
        ("h/cat/1.png".into(), png_claiming(100_000, 100_000)),
        ("h/dog/1.png".into(), png_claiming(100_000, 100_000)),
    ]);
    let e = load_err(vec![("h.zip".into(), zip)]);
    assert!(
        e.contains("h.zip/h") && e.contains("no training images"),
        "{e}"
    );
}

#[test]
fn an_idx_gz_header_claiming_gigabytes_allocates_nothing_and_fails() {
    // 30 images of 8192x8192 (2 GiB) promised, 10 bytes delivered.
    let mut raw = vec![0, 0, 8, 3];
    for d in [30u32, 8192, 8192] {
        raw.extend_from_slice(&d.to_be_bytes());
    }
    raw.extend_from_slice(&[0; 10]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let images = gz.finish().unwrap();
    let labels = [vec![0, 0, 8, 1, 0, 0, 0, 30], vec![0; 30]].concat();
    let e = load_err(vec![
        ("train-images-idx3-ubyte.gz".into(), images),
        ("train-labels-idx1-ubyte".into(), labels),
    ]);
    assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
}

#[test]
fn an_archive_with_too_many_entries_is_refused() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..=MAX_ENTRIES {
        w.start_file(format!("{i}"), o).unwrap();
    }
    let zip = w.finish().unwrap().into_inner();
    let e = load_err(vec![("many.zip".into(), zip)]);
    assert!(e.contains("many.zip") && e.contains("entries"), "{e}");
}

//! A generated corpus of bad input: every case is refused or skipped with a reason, never a panic.

use resnet_lab::data::*;
use std::fs;
use std::path::{Path, PathBuf};

fn try_load(p: &Path) -> Result<Dataset, DataError> {
    load(
        &Source::Path(p.to_path_buf()),
        &LoadOptions::default(),
        &Progress::default(),
    )
}

fn err_of(p: &Path) -> String {
    match try_load(p) {
        Ok(ds) => panic!(
            "{} loaded ({} images) but should have failed",
            p.display(),
            ds.train.len()
        ),
        Err(e) => e.to_string(),
    }
}

fn png_bytes(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(w, h, |x, y| image::Luma([(x * 7 + y * 13) as u8 ^ seed]));
    let mut out = std::io::Cursor::new(vec![]);
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg_bytes(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8 * 9, y as u8 * 5, 77]));
    let mut out = std::io::Cursor::new(vec![]);
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A valid PNG whose header claims `w` x `h` pixels (CRC fixed up, so only the size is wrong).
fn huge_png(w: u32, h: u32) -> Vec<u8> {
    let mut b = png_bytes(4, 4, 0);
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&b[12..29]);
    b[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    b
}

/// A good two-class folder the bad files are dropped into.
fn good_folder(root: &Path) {
    for (k, class) in ["cats", "dogs"].iter().enumerate() {
        let d = root.join(class);
        fs::create_dir_all(&d).unwrap();
        for i in 0..6 {
            fs::write(
                d.join(format!("{i}.png")),
                png_bytes(8, 8, (k * 10 + i) as u8),
            )
            .unwrap();
        }
    }
}

#[test]
fn bad_files_in_a_folder_are_skipped_counted_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    good_folder(root);
    let cats = root.join("cats");
    let png = png_bytes(8, 8, 1);
    fs::write(cats.join("truncated.png"), &png[..png.len() / 2]).unwrap();
    let mut corrupt = png.clone();
    for b in corrupt[40..].iter_mut() {
        *b ^= 0x5A;
    }
    fs::write(cats.join("corrupt.png"), &corrupt).unwrap();
    let jpg = jpeg_bytes(16, 16);
    fs::write(cats.join("truncated.jpg"), &jpg[..60]).unwrap();
    fs::write(cats.join("text.png"), "this is not an image at all").unwrap();
    fs::write(cats.join("empty.jpeg"), "").unwrap();
    fs::write(cats.join("huge.png"), huge_png(20_000, 20_000)).unwrap();
    // BMP header claiming 20000x20000, 24-bit, with no pixel data.
    let mut bmp = vec![0u8; 54];
    bmp[..2].copy_from_slice(b"BM");
    bmp[10] = 54;
    bmp[14] = 40;
    bmp[18..22].copy_from_slice(&20_000u32.to_le_bytes());
    bmp[22..26].copy_from_slice(&20_000u32.to_le_bytes());
    bmp[26] = 1;
    bmp[28] = 24;
    fs::write(cats.join("huge.bmp"), &bmp).unwrap();
    fs::write(cats.join("readme.txt"), "ignored silently").unwrap();
    fs::write(cats.join(".hidden.png"), "hidden files are not read").unwrap();

    let t = std::time::Instant::now();
    let ds = try_load(root).unwrap();
    assert!(t.elapsed().as_secs() < 5, "bounded work for huge headers");
    assert_eq!(ds.train.len() + ds.test.len(), 12);
    let w = &ds.warnings[0];
    eprintln!("{w}");
    assert!(w.starts_with("skipped 7 unreadable files: "), "{w}");
    for name in [
        "truncated.png",
        "corrupt.png",
        "truncated.jpg",
        "text.png",
        "empty.jpeg",
        "huge.png",
        "huge.bmp",
    ] {
        assert!(
            w.contains(&format!("cats/{name} (")),
            "{name} missing from: {w}"
        );
    }
    assert!(!w.contains("readme.txt") && !w.contains("hidden"), "{w}");
    assert!(w.contains("20000x20000"), "{w}");
    assert!(w.contains("not an image"), "{w}");
}

#[test]
fn empty_class_folders_are_left_out_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    good_folder(tmp.path());
    fs::create_dir(tmp.path().join("empty")).unwrap();
    fs::create_dir(tmp.path().join("only_text")).unwrap();
    fs::write(tmp.path().join("only_text/a.txt"), "x").unwrap();
    let ds = try_load(tmp.path()).unwrap();
    assert_eq!(ds.classes, vec!["cats", "dogs"]);
    assert!(
        ds.warnings
            .iter()
            .any(|w| w.contains("empty") && w.contains("no images")),
        "{:?}",
        ds.warnings
    );
}

#[test]
fn unusable_folders_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    // A single class.
    let one = tmp.path().join("one");
    fs::create_dir_all(one.join("cats")).unwrap();
    fs::write(one.join("cats/a.png"), png_bytes(4, 4, 0)).unwrap();
    fs::write(one.join("cats/b.png"), png_bytes(4, 4, 1)).unwrap();
    let e = err_of(&one);
    assert!(
        e.contains("only one class (cats)") && e.contains("one"),
        "{e}"
    );
    // Two classes, but every file of one is broken.
    let broken = tmp.path().join("broken");
    fs::create_dir_all(broken.join("a")).unwrap();
    fs::create_dir_all(broken.join("b")).unwrap();
    fs::write(broken.join("a/1.png"), png_bytes(4, 4, 0)).unwrap();
    fs::write(broken.join("a/2.png"), png_bytes(4, 4, 2)).unwrap();
    fs::write(broken.join("b/1.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    assert!(err_of(&broken).contains("only one class (a)"));
    // Images but no class folders.
    let loose = tmp.path().join("loose");
    fs::create_dir_all(&loose).unwrap();
    fs::write(loose.join("a.png"), png_bytes(4, 4, 0)).unwrap();
    let e = err_of(&loose);
    assert!(
        e.contains("no class folders") || e.contains("could not tell"),
        "{e}"
    );
    let e = load(
        &Source::Path(loose.clone()),
        &LoadOptions {
            format: Some(Format::ImageFolder),
            ..Default::default()
        },
        &Progress::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("loose") && e.contains("no class folders"), "{e}");
    // Empty folder, missing path, single image, archive.
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    assert!(err_of(&empty).contains("could not tell"));
    let e = err_of(&tmp.path().join("nope"));
    assert!(e.starts_with("could not find") && e.contains("nope"), "{e}");
    assert!(err_of(&loose.join("a.png")).contains("a single image is not a data set"));
    let tar = tmp.path().join("cifar-10-binary.tar.gz");
    fs::write(&tar, [0x1f, 0x8b, 0, 0]).unwrap();
    assert!(err_of(&tar).contains("extract it first"));
}

fn idx(dims: &[u32], data_len: usize, ty: u8) -> Vec<u8> {
    let mut b = vec![0, 0, ty, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend(std::iter::repeat_n(7u8, data_len));
    b
}

/// (folder, images file, labels file, file the message must name, what it must say)
type IdxCase = (&'static str, Vec<u8>, Vec<u8>, &'static str, &'static str);

fn idx_set(dir: &Path, images: Vec<u8>, labels: Vec<u8>) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("train-images-idx3-ubyte"), images).unwrap();
    fs::write(dir.join("train-labels-idx1-ubyte"), labels).unwrap();
    dir.to_path_buf()
}

#[test]
fn bad_idx_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let ok_labels = || {
        let mut l = idx(&[10], 0, 8);
        l.extend((0..10u8).map(|i| i % 2));
        l
    };
    let ok_images = || idx(&[10, 4, 4], 160, 8);
    let cases: Vec<IdxCase> = vec![
        (
            "magic",
            {
                let mut b = ok_images();
                b[0] = 0x12;
                b
            },
            ok_labels(),
            "train-images",
            "wrong magic number",
        ),
        (
            "float",
            idx(&[10, 4, 4], 640, 0x0D),
            ok_labels(),
            "train-images",
            "32-bit floats",
        ),
        (
            "dims2",
            idx(&[10, 16], 160, 8),
            ok_labels(),
            "train-images",
            "needs 3",
        ),
        (
            "labeldims",
            ok_images(),
            idx(&[10, 1], 10, 8),
            "train-labels",
            "exactly one",
        ),
        (
            "mismatch",
            ok_images(),
            {
                let mut l = idx(&[9], 0, 8);
                l.extend([0u8, 1, 0, 1, 0, 1, 0, 1, 0]);
                l
            },
            "train-images",
            "10 images but",
        ),
        (
            "short",
            idx(&[10, 4, 4], 150, 8),
            ok_labels(),
            "train-images",
            "cut short",
        ),
        (
            "long",
            idx(&[10, 4, 4], 170, 8),
            ok_labels(),
            "train-images",
            "extra bytes",
        ),
        (
            "header",
            vec![0, 0, 8, 3, 0, 0],
            ok_labels(),
            "train-images",
            "ends inside the header",
        ),
        (
            "huge",
            idx(&[1, 20_000, 20_000], 16, 8),
            ok_labels(),
            "train-images",
            "cut short",
        ),
        (
            "zero",
            idx(&[0, 4, 4], 0, 8),
            idx(&[0], 0, 8),
            "",
            "no training images",
        ),
        (
            "side",
            idx(&[1, 10_000, 1], 10_000, 8),
            idx(&[1], 1, 8),
            "train-images",
            "between 1 and 8192",
        ),
        (
            "ndims",
            vec![0, 0, 8, 0],
            ok_labels(),
            "train-images",
            "0 dimensions",
        ),
        (
            "single",
            ok_images(),
            {
                let mut l = idx(&[10], 0, 8);
                l.extend([3u8; 10]);
                l
            },
            "",
            "only one class (3)",
        ),
    ];
    for (name, images, labels, file, what) in cases {
        let dir = idx_set(&tmp.path().join(name), images, labels);
        let e = load(
            &Source::Path(dir.clone()),
            &LoadOptions {
                format: Some(Format::Idx),
                ..Default::default()
            },
            &Progress::default(),
        )
        .err()
        .unwrap_or_else(|| panic!("{name} loaded"))
        .to_string();
        assert!(e.contains(what), "{name}: {e}");
        assert!(
            e.contains(file),
            "{name}: message does not name {file}: {e}"
        );
        assert!(
            e.contains(name),
            "{name}: message does not name the folder: {e}"
        );
    }
}

#[test]
fn truncated_and_corrupt_gz_is_refused() {
    let ds = builtin_sized(1, 100, 10);
    let tmp = tempfile::tempdir().unwrap();
    write_idx(tmp.path(), &ds, true).unwrap();
    let f = tmp.path().join("train-images-idx3-ubyte.gz");
    let bytes = fs::read(&f).unwrap();
    for (what, cut) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("tail", bytes[..bytes.len() - 4].to_vec()),
        ("header", bytes[..12].to_vec()),
    ] {
        fs::write(&f, &cut).unwrap();
        let e = err_of(tmp.path());
        assert!(
            e.contains("train-images-idx3-ubyte.gz") && e.contains("truncated .gz"),
            "{what}: {e}"
        );
    }
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xFF;
    bad[mid + 1] ^= 0xFF;
    fs::write(&f, &bad).unwrap();
    let e = err_of(tmp.path());
    assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
}

#[test]
fn bad_cifar_files_are_refused() {
    let ds = builtin_sized(1, 20, 10).convert(32, 32, 3);
    let tmp = tempfile::tempdir().unwrap();
    write_cifar(tmp.path(), &ds).unwrap();
    let f = tmp.path().join("data_batch_1.bin");
    let bytes = fs::read(&f).unwrap();
    fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    let e = err_of(tmp.path());
    assert!(
        e.contains("data_batch_1.bin") && e.contains("cut short"),
        "{e}"
    );
    fs::write(&f, b"").unwrap();
    assert!(err_of(tmp.path()).contains("empty"));
    fs::write(&f, &bytes).unwrap();
    let t = tmp.path().join("test_batch.bin");
    fs::write(&t, &bytes[..3000]).unwrap();
    assert!(err_of(tmp.path()).contains("test_batch.bin"));
    // A names file with too few names falls back to numbers, with a warning.
    fs::write(&t, &bytes).unwrap();
    fs::write(tmp.path().join("batches.meta.txt"), "one\ntwo\n").unwrap();
    let ds = try_load(tmp.path()).unwrap();
    assert_eq!(ds.classes.len(), 10);
    assert!(
        ds.warnings.iter().any(|w| w.contains("batches.meta.txt")),
        "{:?}",
        ds.warnings
    );
}

#[cfg(unix)]
#[test]
fn links_loops_permissions_and_odd_names() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{PermissionsExt, symlink};
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pets");
    good_folder(&root);
    // Loops: a link inside a class back to the root, and one to its own folder.
    symlink(&root, root.join("cats/back_to_root")).unwrap();
    symlink(root.join("dogs"), root.join("dogs/self")).unwrap();
    fs::create_dir(root.join("dogs/sub")).unwrap();
    symlink(root.join("dogs/sub"), root.join("dogs/sub/again")).unwrap();
    // A link that points nowhere, with an image name.
    symlink(root.join("missing.png"), root.join("cats/dangling.png")).unwrap();
    // A link that points at itself.
    symlink(root.join("cats/selfish.png"), root.join("cats/selfish.png")).unwrap();
    // Names that are not UTF-8: a class folder and a file.
    let odd_class = root.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::create_dir(&odd_class).unwrap();
    for i in 0..3u8 {
        let name = [b'\xff', b'0' + i, b'.', b'p', b'n', b'g'];
        fs::write(
            odd_class.join(std::ffi::OsStr::from_bytes(&name)),
            png_bytes(8, 8, 99 + i),
        )
        .unwrap();
    }
    // Unreadable file and folder (root can read them anyway, so only check what is possible).
    let locked = root.join("cats/locked.png");
    fs::write(&locked, png_bytes(8, 8, 50)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let locked_dir = root.join("locked_class");
    fs::create_dir(&locked_dir).unwrap();
    fs::write(locked_dir.join("x.png"), png_bytes(8, 8, 51)).unwrap();
    fs::set_permissions(&locked_dir, fs::Permissions::from_mode(0o000)).unwrap();
    let can_read = fs::read(&locked).is_ok();
    // A FIFO named like an image must not be opened (it would block).
    let fifo_made = std::process::Command::new("mkfifo")
        .arg(root.join("dogs/pipe.png"))
        .status()
        .is_ok_and(|s| s.success());

    let ds = try_load(&root).unwrap();
    fs::set_permissions(&locked_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let all = ds.warnings.join("\n");
    eprintln!("{all}");
    // Not UTF-8: the odd byte is kept as \xE9, so no two folders can share a name.
    assert!(
        ds.classes.contains(&"caf\\xE9".to_string()),
        "{:?}",
        ds.classes
    );
    let caf = ds.classes.iter().position(|c| c == "caf\\xE9").unwrap();
    let s = ds.summary();
    assert_eq!(s.train_counts[caf] + s.test_counts[caf], 3);
    let cats = ds.classes.iter().position(|c| c == "cats").unwrap();
    let dogs = ds.classes.iter().position(|c| c == "dogs").unwrap();
    assert_eq!(
        s.train_counts[dogs] + s.test_counts[dogs],
        6,
        "links must not double-count"
    );
    assert_eq!(
        s.train_counts[cats] + s.test_counts[cats],
        if can_read { 7 } else { 6 }
    );
    assert!(
        all.contains("dangling.png") && all.contains("selfish.png"),
        "{all}"
    );
    assert!(all.contains("link loop"), "{all}");
    if fifo_made {
        assert!(all.contains("pipe.png (not a regular file)"), "{all}");
    }
    if !can_read {
        assert!(all.contains("locked.png"), "{all}");
        assert!(all.contains("locked_class"), "{all}");
    }
}

#[test]
fn invalid_options_are_refused() {
    for o in [
        LoadOptions {
            test_fraction: 1.5,
            ..Default::default()
        },
        LoadOptions {
            test_fraction: f32::NAN,
            ..Default::default()
        },
        LoadOptions {
            size: Some((0, 28)),
            ..Default::default()
        },
        LoadOptions {
            size: Some((20_000, 20_000)),
            ..Default::default()
        },
        LoadOptions {
            max_per_class: Some(0),
            ..Default::default()
        },
    ] {
        let e = load(&Source::Builtin, &o, &Progress::default()).unwrap_err();
        assert!(matches!(e, DataError::InvalidOption(_)), "{e}");
    }
}

#[test]
fn cancelling_a_folder_load_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    good_folder(tmp.path());
    let p = Progress::default();
    p.cancel();
    assert!(matches!(
        load(
            &Source::Path(tmp.path().into()),
            &LoadOptions::default(),
            &p
        ),
        Err(DataError::Cancelled)
    ));
}

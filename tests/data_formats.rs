//! Every format, written by the tests themselves, loads back to the same tensors.

use resnet_lab::data::*;
use resnet_lab::rng::Rng64;
use std::path::Path;

fn opts() -> LoadOptions {
    LoadOptions::default()
}

fn load_path(p: &Path, o: &LoadOptions) -> Dataset {
    load(&Source::Path(p.to_path_buf()), o, &Progress::default())
        .unwrap_or_else(|e| panic!("loading {} failed: {e}", p.display()))
}

/// (class name, image bytes) of every sample, sorted: equal for two loads of the same data
/// whatever order the loader visits files in.
fn samples(ds: &Dataset, s: SplitKind) -> Vec<(String, Vec<u8>)> {
    let sp = ds.split(s);
    let n = ds.image_len();
    let mut v: Vec<_> = (0..sp.len())
        .map(|i| {
            (
                ds.classes[sp.labels[i] as usize].clone(),
                sp.images[i * n..(i + 1) * n].to_vec(),
            )
        })
        .collect();
    v.sort();
    v
}

fn same_tensors(a: &Dataset, b: &Dataset) {
    assert_eq!(
        (a.channels, a.height, a.width),
        (b.channels, b.height, b.width)
    );
    assert_eq!(samples(a, SplitKind::Train), samples(b, SplitKind::Train));
    assert_eq!(samples(a, SplitKind::Test), samples(b, SplitKind::Test));
    for c in 0..a.channels {
        assert!((a.mean[c] - b.mean[c]).abs() < 1e-6 && (a.std[c] - b.std[c]).abs() < 1e-6);
    }
}

fn exact(a: &Dataset, b: &Dataset) {
    assert_eq!(a.classes, b.classes);
    assert_eq!(
        (a.channels, a.height, a.width),
        (b.channels, b.height, b.width)
    );
    assert_eq!(a.train.labels, b.train.labels);
    assert_eq!(a.test.labels, b.test.labels);
    assert!(a.train.images == b.train.images && a.test.images == b.test.images);
    assert_eq!(a.mean, b.mean);
    assert_eq!(a.std, b.std);
}

/// Random colour images with `k` classes, for the layouts the shapes cannot exercise.
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
        classes: (0..k).map(|i| format!("class {i:03}")).collect(),
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

#[test]
fn idx_round_trip_plain_and_gz() {
    let ds = builtin_sized(11, 300, 60);
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        write_idx(dir.path(), &ds, gz).unwrap();
        assert_eq!(detect_format(dir.path()).unwrap(), Format::Idx);
        let back = load_path(dir.path(), &opts());
        exact(&ds, &back);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        let explicit = load_path(
            dir.path(),
            &LoadOptions {
                format: Some(Format::Idx),
                ..opts()
            },
        );
        exact(&ds, &explicit);
        // Pointing at one of the files finds its siblings.
        let name = if gz {
            "train-images-idx3-ubyte.gz"
        } else {
            "train-images-idx3-ubyte"
        };
        exact(&ds, &load_path(&dir.path().join(name), &opts()));
    }
}

#[test]
fn idx_without_test_files_gets_a_seeded_stratified_split() {
    let ds = builtin_sized(2, 500, 10);
    let dir = tempfile::tempdir().unwrap();
    write_idx(dir.path(), &ds, false).unwrap();
    std::fs::remove_file(dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    std::fs::remove_file(dir.path().join("classes.txt")).unwrap();
    let a = load_path(
        dir.path(),
        &LoadOptions {
            test_fraction: 0.2,
            seed: 1,
            ..opts()
        },
    );
    assert_eq!(
        a.classes,
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!((a.train.len(), a.test.len()), (400, 100));
    assert_eq!(a.summary().test_counts, vec![10; 10]);
    let b = load_path(
        dir.path(),
        &LoadOptions {
            test_fraction: 0.2,
            seed: 1,
            ..opts()
        },
    );
    exact(&a, &b);
    let c = load_path(
        dir.path(),
        &LoadOptions {
            test_fraction: 0.2,
            seed: 2,
            ..opts()
        },
    );
    assert_ne!(a.test.images, c.test.images);
    // Together the two splits are exactly the original training set.
    let all: Vec<_> = {
        let mut v = samples(&a, SplitKind::Train);
        v.extend(samples(&a, SplitKind::Test));
        v.sort();
        v
    };
    let mut orig = samples(&ds, SplitKind::Train);
    for s in &mut orig {
        let i = ds.classes.iter().position(|c| *c == s.0).unwrap();
        s.0 = i.to_string();
    }
    orig.sort();
    assert_eq!(all, orig);
}

#[test]
fn idx_in_a_sub_folder_and_emnist_style_names() {
    let ds = builtin_sized(4, 100, 20);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    write_idx(&raw, &ds, true).unwrap();
    assert_eq!(detect_format(dir.path()).unwrap(), Format::Idx);
    exact(&ds, &load_path(dir.path(), &opts()));

    // EMNIST names: emnist-<subset>-train-images-idx3-ubyte.gz; two subsets side by side.
    let em = tempfile::tempdir().unwrap();
    for subset in ["balanced", "letters"] {
        for f in std::fs::read_dir(&raw).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".gz") {
                std::fs::copy(f.path(), em.path().join(format!("emnist-{subset}-{name}"))).unwrap();
            }
        }
    }
    let err = load(
        &Source::Path(em.path().into()),
        &opts(),
        &Progress::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("several IDX data sets"), "{err}");
    let one = load_path(
        &em.path().join("emnist-letters-train-images-idx3-ubyte.gz"),
        &opts(),
    );
    assert_eq!(one.train.images, ds.train.images);
    assert_eq!(one.test.images, ds.test.images);
}

#[test]
fn cifar10_round_trip() {
    let ds = builtin_sized(12, 200, 50).convert(32, 32, 3);
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path(), &ds).unwrap();
    assert!(dir.path().join("data_batch_1.bin").is_file());
    assert_eq!(detect_format(dir.path()).unwrap(), Format::Cifar);
    exact(&ds, &load_path(dir.path(), &opts()));
    // A single file is a whole data set, split by seed.
    let one = load_path(&dir.path().join("data_batch_1.bin"), &opts());
    assert_eq!(one.train.len() + one.test.len(), 200);
    assert_eq!(
        one.classes,
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn cifar10_batches_in_an_unpacked_sub_folder_are_joined_in_order() {
    let ds = builtin_sized(12, 200, 50).convert(32, 32, 3);
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("cifar-10-batches-bin");
    write_cifar(&sub, &ds).unwrap();
    // Split the training file into two batches, numbered 2 and 10 to test numeric order.
    let bytes = std::fs::read(sub.join("data_batch_1.bin")).unwrap();
    let half = 100 * 3073;
    std::fs::remove_file(sub.join("data_batch_1.bin")).unwrap();
    std::fs::write(sub.join("data_batch_2.bin"), &bytes[..half]).unwrap();
    std::fs::write(sub.join("data_batch_10.bin"), &bytes[half..]).unwrap();
    assert_eq!(detect_format(dir.path()).unwrap(), Format::Cifar);
    exact(&ds, &load_path(dir.path(), &opts()));
}

#[test]
fn cifar100_round_trip_uses_two_label_bytes() {
    let ds = synthetic(30, 120, (3, 32, 32), 5);
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path(), &ds).unwrap();
    assert!(dir.path().join("train.bin").is_file());
    assert_eq!(
        std::fs::metadata(dir.path().join("train.bin"))
            .unwrap()
            .len(),
        120 * 3074
    );
    exact(
        &ds,
        &load_path(
            dir.path(),
            &LoadOptions {
                format: Some(Format::Cifar),
                ..opts()
            },
        ),
    );
    // Without the names file, the standard 100 numbered classes.
    std::fs::remove_file(dir.path().join("fine_label_names.txt")).unwrap();
    let numbered = load_path(dir.path(), &opts());
    assert_eq!(numbered.classes.len(), 100);
    assert_eq!(numbered.train.labels, ds.train.labels);
}

#[test]
fn image_folder_round_trip_grey_and_colour() {
    for ds in [builtin_sized(13, 100, 30), synthetic(4, 40, (3, 10, 14), 8)] {
        let dir = tempfile::tempdir().unwrap();
        write_image_folder(dir.path(), &ds).unwrap();
        assert_eq!(detect_format(dir.path()).unwrap(), Format::ImageFolder);
        let back = load_path(dir.path(), &opts());
        let mut sorted = ds.classes.clone();
        sorted.sort();
        assert_eq!(back.classes, sorted);
        same_tensors(&ds, &back);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }
}

#[test]
fn the_same_data_set_in_every_format_loads_to_the_same_tensors() {
    let ds = builtin_sized(14, 120, 40).convert(32, 32, 1);
    let grey = LoadOptions {
        color: ColorMode::Gray,
        ..opts()
    };
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    write_idx(a.path(), &ds, true).unwrap();
    write_cifar(b.path(), &ds).unwrap();
    write_image_folder(c.path(), &ds).unwrap();
    let from_idx = load_path(a.path(), &grey);
    let from_cifar = load_path(b.path(), &grey);
    let from_folder = load_path(c.path(), &grey);
    exact(&ds, &from_idx);
    exact(&ds, &from_cifar);
    same_tensors(&ds, &from_folder);
    // The CIFAR copy read as colour is the grey image in all three planes.
    let rgb = load_path(b.path(), &opts());
    assert_eq!(rgb.channels, 3);
    assert_eq!(rgb.train.images[..1024], rgb.train.images[2048..3072]);
    assert_eq!(rgb.train.images[..1024], ds.train.images[..1024]);
}

#[test]
fn flat_image_folder_is_split_by_seed_and_capped() {
    let ds = synthetic(5, 100, (1, 8, 8), 3);
    let tmp = tempfile::tempdir().unwrap();
    write_image_folder(tmp.path(), &ds).unwrap();
    // Use only train/ as a flat folder: root/<class>/*.png.
    let root = tmp.path().join("train");
    let o = LoadOptions {
        test_fraction: 0.25,
        seed: 9,
        ..opts()
    };
    let a = load_path(&root, &o);
    assert_eq!(a.summary().train_counts, vec![15; 5]);
    assert_eq!(a.summary().test_counts, vec![5; 5]);
    exact(&a, &load_path(&root, &o));
    let b = load_path(
        &root,
        &LoadOptions {
            seed: 10,
            ..o.clone()
        },
    );
    assert_ne!(samples(&a, SplitKind::Test), samples(&b, SplitKind::Test));
    let mut all = samples(&a, SplitKind::Train);
    all.extend(samples(&a, SplitKind::Test));
    all.sort();
    assert_eq!(all, samples(&ds, SplitKind::Train));

    let capped = load_path(
        &root,
        &LoadOptions {
            max_per_class: Some(4),
            ..o.clone()
        },
    );
    assert_eq!(capped.summary().train_counts, vec![4; 5]);
    assert_eq!(capped.summary().test_counts, vec![4; 5]);
    let p = Progress::default();
    load(&Source::Path(root.clone()), &o, &p).unwrap();
    assert_eq!(p.fraction(), 1.0);
}

#[test]
fn mixed_sizes_formats_and_colour_modes_are_converted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = Rng64::new(1);
    let mut px = |n: usize| (0..n).map(|_| rng.below(256) as u8).collect::<Vec<u8>>();
    for class in ["a", "b"] {
        let d = root.join(class);
        std::fs::create_dir_all(&d).unwrap();
        image::GrayImage::from_raw(20, 20, px(400))
            .unwrap()
            .save(d.join("grey.png"))
            .unwrap();
        image::RgbImage::from_raw(24, 18, px(24 * 18 * 3))
            .unwrap()
            .save(d.join("colour.jpg"))
            .unwrap();
        image::RgbaImage::from_raw(9, 9, px(324))
            .unwrap()
            .save(d.join("alpha.bmp"))
            .unwrap();
        image::RgbaImage::from_raw(16, 16, px(1024))
            .unwrap()
            .save(d.join("anim.gif"))
            .unwrap();
        image::RgbImage::from_raw(12, 12, px(432))
            .unwrap()
            .save(d.join("lossless.webp"))
            .unwrap();
        image::GrayImage::from_raw(30, 40, px(1200))
            .unwrap()
            .save(d.join("scan.tiff"))
            .unwrap();
        image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(8, 8, vec![1000; 64])
            .map(image::DynamicImage::ImageLuma16)
            .unwrap()
            .save(d.join("deep.png"))
            .unwrap();
        std::fs::write(d.join("notes.txt"), "not an image, ignored").unwrap();
    }
    let auto = load_path(root, &opts());
    assert_eq!((auto.channels, auto.height, auto.width), (3, 32, 32));
    assert_eq!(auto.train.len() + auto.test.len(), 14);
    assert!(
        auto.warnings.iter().any(|w| w.contains("different sizes")),
        "{:?}",
        auto.warnings
    );
    let small = load_path(
        root,
        &LoadOptions {
            size: Some((16, 12)),
            color: ColorMode::Gray,
            ..opts()
        },
    );
    assert_eq!((small.channels, small.height, small.width), (1, 16, 12));
    assert_eq!(small.train.images.len(), small.train.len() * 16 * 12);
}

#[test]
fn uniform_folder_keeps_its_own_size_and_grey() {
    let ds = synthetic(3, 30, (1, 10, 12), 2);
    let tmp = tempfile::tempdir().unwrap();
    write_image_folder(tmp.path(), &ds).unwrap();
    let back = load_path(tmp.path(), &opts());
    assert_eq!((back.channels, back.height, back.width), (1, 10, 12));
}

#[test]
fn names_parse_and_print() {
    for (s, f) in [
        ("imagefolder", Format::ImageFolder),
        ("IDX", Format::Idx),
        ("Cifar", Format::Cifar),
    ] {
        assert_eq!(s.parse::<Format>().unwrap(), f);
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    let err = "png".parse::<Format>().unwrap_err();
    assert!(err.to_string().contains("imagefolder, idx or cifar"));
    assert_eq!("builtin".parse::<Source>().unwrap(), Source::Builtin);
    assert_eq!(
        "data/mnist".parse::<Source>().unwrap(),
        Source::Path("data/mnist".into())
    );
    let o = LoadOptions {
        size: Some((28, 28)),
        format: Some(Format::Idx),
        ..opts()
    };
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<LoadOptions>(&json).unwrap(), o);
    assert_eq!(
        serde_json::from_str::<LoadOptions>("{}").unwrap(),
        LoadOptions::default()
    );
    assert_eq!(
        serde_json::from_str::<Augment>("{\"hflip\":true}").unwrap(),
        Augment {
            pad_crop: 0,
            hflip: true
        }
    );
}

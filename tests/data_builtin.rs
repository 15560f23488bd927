//! The built-in shapes: deterministic, fast, balanced, and hard for a linear model.

use resnet_lab::data::*;
use resnet_lab::rng::Rng64;
use std::time::Instant;

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = builtin_sized(42, 500, 100);
    let b = builtin_sized(42, 500, 100);
    assert_eq!(a.train.images, b.train.images);
    assert_eq!(a.test.images, b.test.images);
    assert_eq!(a.train.labels, b.train.labels);
    assert_eq!(a.mean, b.mean);
    let c = builtin_sized(43, 500, 100);
    assert_ne!(a.train.images, c.train.images);
    // A smaller set is a prefix of a bigger one with the same seed: sample i depends only on (seed, i).
    let big = builtin_sized(42, 1000, 100);
    assert_eq!(a.train.images[..], big.train.images[..a.train.images.len()]);
    // No test image repeats a training image.
    assert_ne!(a.test.images[..784], a.train.images[..784]);
}

#[test]
fn default_set_is_full_size_balanced_and_fast() {
    let t = Instant::now();
    let ds = builtin(7);
    let took = t.elapsed();
    eprintln!("built-in 10k+2k generated in {took:?}");
    assert!(took.as_secs_f32() < 3.0, "generation took {took:?}");
    assert_eq!((ds.channels, ds.height, ds.width), (1, 28, 28));
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(ds.train.len(), 10_000);
    assert_eq!(ds.test.len(), 2_000);
    assert_eq!(ds.train.images.len(), 10_000 * 784);
    let s = ds.summary();
    assert_eq!(s.train_counts, vec![1000; 10]);
    assert_eq!(s.test_counts, vec![200; 10]);
    assert!(ds.mean[0] > 0.02 && ds.mean[0] < 0.5, "{:?}", ds.mean);
    assert!(ds.std[0] > 0.05, "{:?}", ds.std);
    // Images are not blank: each has ink.
    for img in ds.train.images.chunks(784).take(200) {
        assert!(img.iter().filter(|&&v| v > 96).count() > 8);
    }
}

/// A real measurement: plain softmax regression trained by SGD must stay above 20% test error,
/// so the set rewards depth.
#[test]
fn linear_classifier_stays_above_20_percent_error() {
    let ds = builtin_sized(3, 5000, 1000);
    let (d, k) = (ds.image_len(), ds.classes.len());
    let mut w = vec![0f32; d * k];
    let mut b = vec![0f32; k];
    let mut rng = Rng64::new(1);
    let mut order: Vec<usize> = (0..ds.train.len()).collect();
    let (mut x, mut y) = (vec![], vec![]);
    let lr = 0.01;
    let mut logits = vec![0f32; k];
    for _epoch in 0..12 {
        rng.shuffle(&mut order);
        for &i in &order {
            ds.batch(SplitKind::Train, &[i], None, &mut rng, &mut x, &mut y);
            for c in 0..k {
                logits[c] = b[c]
                    + w[c * d..(c + 1) * d]
                        .iter()
                        .zip(&x)
                        .map(|(a, b)| a * b)
                        .sum::<f32>();
            }
            let m = logits.iter().cloned().fold(f32::MIN, f32::max);
            let z: f32 = logits.iter().map(|l| (l - m).exp()).sum();
            for c in 0..k {
                let g = (logits[c] - m).exp() / z - if c == y[0] { 1.0 } else { 0.0 };
                b[c] -= lr * g;
                for (wj, xj) in w[c * d..(c + 1) * d].iter_mut().zip(&x) {
                    *wj -= lr * g * xj;
                }
            }
        }
    }
    let mut err = |split: SplitKind| {
        let s = ds.split(split);
        let idx: Vec<usize> = (0..s.len()).collect();
        ds.batch(split, &idx, None, &mut rng, &mut x, &mut y);
        let wrong = (0..s.len())
            .filter(|&i| {
                let xi = &x[i * d..(i + 1) * d];
                let pred = (0..k)
                    .map(|c| {
                        b[c] + w[c * d..(c + 1) * d]
                            .iter()
                            .zip(xi)
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                    })
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(c, _)| c)
                    .unwrap();
                pred != y[i]
            })
            .count();
        wrong as f32 / s.len() as f32
    };
    let (train_err, test_err) = (err(SplitKind::Train), err(SplitKind::Test));
    eprintln!("softmax regression: train error {train_err:.3}, test error {test_err:.3}");
    assert!(
        test_err > 0.20,
        "a linear model reached {test_err} test error"
    );
    // ...but it is learning something, so the classes are not noise.
    assert!(
        test_err < 0.85,
        "a linear model learned nothing: {test_err}"
    );
}

#[test]
fn load_builtin_honours_size_colour_and_cap() {
    let p = Progress::default();
    let opts = LoadOptions {
        size: Some((32, 32)),
        color: ColorMode::Rgb,
        max_per_class: Some(20),
        seed: 5,
        ..Default::default()
    };
    let ds = load(&Source::Builtin, &opts, &p).unwrap();
    assert_eq!((ds.channels, ds.height, ds.width), (3, 32, 32));
    assert_eq!(ds.train.len(), 200);
    assert_eq!(ds.test.len(), 200);
    assert_eq!(ds.summary().train_counts, vec![20; 10]);
    assert_eq!(ds.mean.len(), 3);
    assert!((p.fraction() - 1.0).abs() < 1e-6);
    // Grey replicated into RGB: the planes are equal.
    let img = &ds.train.images[..3 * 1024];
    assert_eq!(img[..1024], img[1024..2048]);
    let plain = load(
        &Source::Builtin,
        &LoadOptions {
            max_per_class: Some(20),
            seed: 5,
            ..Default::default()
        },
        &p,
    )
    .unwrap();
    assert_eq!((plain.channels, plain.height, plain.width), (1, 28, 28));
    assert_eq!(plain.train.images, builtin_sized(5, 200, 200).train.images);
}

#[test]
fn cancelled_load_returns_cancelled() {
    let p = Progress::default();
    p.cancel();
    match load(&Source::Builtin, &LoadOptions::default(), &p) {
        Err(DataError::Cancelled) => {}
        other => panic!("expected Cancelled, got {:?}", other.map(|d| d.name)),
    }
}

#[test]
fn batch_normalises_and_augments_deterministically() {
    let ds = builtin_sized(9, 100, 20);
    let mut rng = Rng64::new(0);
    let (mut x, mut y) = (vec![1.0; 3], vec![99]);
    let idx: Vec<usize> = (0..100).collect();
    ds.batch(SplitKind::Train, &idx, None, &mut rng, &mut x, &mut y);
    assert_eq!(x.len(), 100 * 784);
    assert_eq!(
        y,
        ds.train
            .labels
            .iter()
            .map(|&l| l as usize)
            .collect::<Vec<_>>()
    );
    let mean = x.iter().sum::<f32>() / x.len() as f32;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / x.len() as f32;
    assert!(mean.abs() < 1e-3, "mean {mean}");
    assert!((var - 1.0).abs() < 1e-2, "var {var}");
    // Pixel check: (v/255 - mean)/std.
    let v = ds.train.images[5] as f32;
    assert!((x[5] - (v / 255.0 - ds.mean[0]) / ds.std[0]).abs() < 1e-5);

    let aug = Augment {
        pad_crop: 4,
        hflip: true,
    };
    let (mut a1, mut a2, mut l) = (vec![], vec![], vec![]);
    ds.batch(
        SplitKind::Train,
        &idx,
        Some(&aug),
        &mut Rng64::new(3),
        &mut a1,
        &mut l,
    );
    ds.batch(
        SplitKind::Train,
        &idx,
        Some(&aug),
        &mut Rng64::new(3),
        &mut a2,
        &mut l,
    );
    assert_eq!(a1, a2);
    assert_ne!(a1, x);
    // Flip only, no crop: each image is either itself or its mirror.
    let flip = Augment {
        pad_crop: 0,
        hflip: true,
    };
    ds.batch(
        SplitKind::Train,
        &idx,
        Some(&flip),
        &mut Rng64::new(4),
        &mut a1,
        &mut l,
    );
    let mut flipped = 0;
    for i in 0..100 {
        let (o, f) = (&x[i * 784..(i + 1) * 784], &a1[i * 784..(i + 1) * 784]);
        let mirror: Vec<f32> = (0..784).map(|p| o[(p / 28) * 28 + 27 - p % 28]).collect();
        if f == o {
        } else {
            assert_eq!(f, &mirror[..]);
            flipped += 1;
        }
    }
    assert!(flipped > 20 && flipped < 80, "{flipped}");
}

#[test]
fn summary_and_thumbnails() {
    let ds = builtin_sized(1, 50, 10);
    let s = ds.summary();
    assert_eq!(s.name, "built-in shapes");
    assert_eq!(s.classes.len(), 10);
    assert_eq!(
        (s.train_len, s.test_len, s.channels, s.height, s.width),
        (50, 10, 1, 28, 28)
    );
    let t = ds.thumbnail(SplitKind::Train, 3);
    assert_eq!((t.width, t.height, t.rgba.len()), (28, 28, 28 * 28 * 4));
    assert_eq!(t.label, ds.classes[3]);
    assert_eq!(t.rgba[0], ds.train.images[3 * 784]);
    assert_eq!(t.rgba[3], 255);
    let none = ds.thumbnail(SplitKind::Test, 10);
    assert_eq!((none.width, none.rgba.len()), (0, 0));
    let sheet = ds.sample_thumbnails(SplitKind::Train, 2);
    assert_eq!(sheet.len(), 20);
    assert_eq!(sheet[0].label, sheet[1].label);
}

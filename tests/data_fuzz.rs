//! Fuzzing the parsers and the folder walker with random and mutated input: Ok or Err, never a panic.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use resnet_lab::data::*;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

fn valid_idx_images() -> &'static Vec<u8> {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 4];
        b.extend((0..60).map(|i| i as u8));
        b
    })
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn png() -> &'static Vec<u8> {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let img = image::GrayImage::from_fn(6, 5, |x, y| image::Luma([(x * 40 + y) as u8]));
        let mut out = std::io::Cursor::new(vec![]);
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    })
}

/// Applies (position, xor) flips and an optional cut to a byte string.
fn mutate(mut b: Vec<u8>, flips: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if !b.is_empty() {
        for &(i, x) in flips {
            let n = b.len();
            b[i % n] ^= x;
        }
    }
    if let Some(c) = cut {
        b.truncate(c % (b.len() + 1));
    }
    b
}

fn check_idx(r: Result<IdxArray, DataError>) {
    if let Ok(a) = r {
        let n: usize = a.dims.iter().product();
        assert_eq!(a.data.len(), n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, rng_seed: RngSeed::Fixed(0x5eed_0001), ..ProptestConfig::default() })]

    #[test]
    fn idx_parser_survives_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let p = Path::new("fuzz-idx");
        check_idx(parse_idx(p, &bytes));
        // Random bytes behind a valid-looking header, and behind a gzip header.
        let mut h = vec![0, 0, 8, (bytes.first().copied().unwrap_or(3) % 5)];
        h.extend(&bytes);
        check_idx(parse_idx(p, &h));
        let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        g.extend(&bytes);
        check_idx(parse_idx(p, &g));
    }

    #[test]
    fn idx_parser_survives_mutations(flips in proptest::collection::vec((any::<usize>(), 1u8..), 0..6), cut in proptest::option::of(any::<usize>())) {
        let p = Path::new("fuzz-idx");
        check_idx(parse_idx(p, &mutate(valid_idx_images().clone(), &flips, cut)));
        check_idx(parse_idx(p, &mutate(gz(valid_idx_images()), &flips, cut)));
        // Mutating the data before compressing exercises lying headers inside valid gzip.
        check_idx(parse_idx(p, &gz(&mutate(valid_idx_images().clone(), &flips, cut))));
    }

    #[test]
    fn cifar_parser_survives_random_and_mutated_bytes(
        len in 0usize..(3 * 3074),
        fill in any::<u8>(),
        label_bytes in 0usize..4,
        flips in proptest::collection::vec((any::<usize>(), 1u8..), 0..6),
    ) {
        let bytes = mutate(vec![fill; len], &flips, None);
        if let Ok((images, labels)) = parse_cifar(Path::new("fuzz.bin"), &bytes, label_bytes) {
            prop_assert_eq!(images.len(), labels.len() * 3072);
            prop_assert_eq!(bytes.len(), labels.len() * (label_bytes + 3072));
        }
    }
}

/// Random folder trees need symlinks and non-UTF-8 names, which are Unix notions.
#[cfg(unix)]
mod trees {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 150, failure_persistence: None, rng_seed: RngSeed::Fixed(0x5eed_0002), ..ProptestConfig::default() })]

    #[test]
    fn walker_and_loader_survive_random_trees(
        entries in proptest::collection::vec((0usize..6, 0usize..6, 0usize..7, any::<u8>()), 0..14),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        // Class names include a non-UTF-8 one and a hidden one.
        let classes: [&[u8]; 6] = [b"a", b"b", b"c\xff", b".hid", b"train", b"test"];
        let files: [&str; 6] = ["x.png", "y.jpg", "z.gif", "w.bmp", "n.txt", "sub/deep.png"];
        for (c, f, kind, seed) in entries {
            use std::os::unix::ffi::OsStrExt;
            let dir = root.join(std::ffi::OsStr::from_bytes(classes[c]));
            let path = dir.join(format!("{seed}{}", files[f]));
            // An earlier entry may have made this path (or its parent) a directory, or a file where
            // this entry needs a folder: such an entry is skipped, the tree stays as it is.
            if std::fs::create_dir_all(path.parent().unwrap()).is_err() || path.is_dir() {
                continue;
            }
            let _ = std::fs::remove_file(&path);
            match kind {
                0 => std::fs::write(&path, png()).unwrap(),
                1 => std::fs::write(&path, mutate(png().clone(), &[(seed as usize * 7, seed | 1)], None)).unwrap(),
                2 => std::fs::write(&path, &png()[..(seed as usize) % png().len()]).unwrap(),
                3 => std::fs::write(&path, vec![seed; seed as usize]).unwrap(),
                4 => { let _ = std::os::unix::fs::symlink(root, &path); }
                5 => { let _ = std::os::unix::fs::symlink(&dir, dir.join(format!("loop{seed}"))); }
                _ => std::fs::create_dir_all(&path).unwrap(),
            }
        }
        let _ = walk(root);
        let _ = detect_format(root);
        if let Ok(ds) = load(&Source::Path(root.to_path_buf()), &LoadOptions::default(), &Progress::default()) {
            prop_assert!(ds.classes.len() >= 2);
            prop_assert_eq!(ds.train.images.len(), ds.train.len() * ds.image_len());
            prop_assert!(ds.train.labels.iter().all(|&l| (l as usize) < ds.classes.len()));
        }
    }
    }
}

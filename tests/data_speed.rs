//! Load times for the sizes the issue promises: a 60k-image IDX set and a 10k-file folder.
//! They print their timings (run with `--nocapture`) and fail only on a gross regression.

use resnet_lab::data::*;
use std::time::Instant;

#[test]
fn sixty_thousand_idx_images_load_in_seconds() {
    let ds = builtin_sized(1, 60_000, 10_000);
    let tmp = tempfile::tempdir().unwrap();
    for gz in [false, true] {
        let dir = tmp.path().join(if gz { "gz" } else { "plain" });
        write_idx(&dir, &ds, gz).unwrap();
        let t = Instant::now();
        let back = load(
            &Source::Path(dir),
            &LoadOptions::default(),
            &Progress::default(),
        )
        .unwrap();
        let took = t.elapsed();
        eprintln!(
            "IDX 60k+10k 28x28 ({}) loaded in {took:?}",
            if gz { "gz" } else { "plain" }
        );
        assert_eq!(back.train.len(), 60_000);
        assert_eq!(back.train.images, ds.train.images);
        assert!(took.as_secs() < 20, "{took:?}");
    }
}

#[test]
fn ten_thousand_file_folder_loads_in_seconds() {
    let ds = builtin_sized(2, 8_000, 2_000);
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    write_image_folder(tmp.path(), &ds).unwrap();
    eprintln!("wrote 10k PNGs in {:?}", t.elapsed());
    for (what, opts) in [
        ("own size, probed", LoadOptions::default()),
        (
            "32x32 RGB, no probe",
            LoadOptions {
                size: Some((32, 32)),
                color: ColorMode::Rgb,
                ..Default::default()
            },
        ),
    ] {
        let p = Progress::default();
        let t = Instant::now();
        let back = load(&Source::Path(tmp.path().into()), &opts, &p).unwrap();
        let took = t.elapsed();
        eprintln!("image folder of 10k PNGs ({what}) loaded in {took:?}");
        assert_eq!(back.train.len() + back.test.len(), 10_000);
        assert_eq!(p.fraction(), 1.0);
        assert!(took.as_secs() < 60, "{took:?}");
    }
}

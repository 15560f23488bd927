//! The real binary: train, sweep and bench, and the messages it gives for bad input.
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
}

#[test]
fn train_writes_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    let o = bin()
        .args([
            "train", "--data", "builtin", "--arch", "resnet", "--depth", "8", "--width", "4",
        ])
        .args([
            "--epochs",
            "1",
            "--batch",
            "16",
            "--max-steps",
            "4",
            "--threads",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["net"]["spec"]["name"], "resnet-8");
    assert_eq!(v["hyper"]["batch"], 16);
    assert_eq!(v["step_loss"].as_array().unwrap().len(), 4);
    assert_eq!(v["grad_norms_init"].as_array().unwrap().len(), 8);
    let e = &v["epochs"][0];
    for k in ["train_err", "test_err", "loss"] {
        assert!(e[k].as_f64().is_some(), "epoch lacks {k}: {e}");
    }
    assert!(v["wall_secs"].as_f64().unwrap() > 0.0);
    assert!(v["img_per_sec"].as_f64().unwrap() > 0.0);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("step 4/4"),
        "progress bar on stderr"
    );
}

#[test]
fn sweep_writes_one_json_per_run_and_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "sweep", "--depths", "8", "14", "--arch", "plain", "resnet", "--width", "4",
        ])
        .args([
            "--batch",
            "16",
            "--max-steps",
            "2",
            "--threads",
            "1",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "depth,arch,final_train_err,final_test_err,status");
    assert_eq!(lines.len(), 5);
    assert!(
        lines[1].starts_with("8,plain,") && lines[4].starts_with("14,resnet,"),
        "{csv}"
    );
    for name in ["plain-8", "resnet-8", "plain-14", "resnet-14"] {
        assert!(dir.path().join(format!("{name}.json")).exists(), "{name}");
    }
    let png = image::open(
        dir.path()
            .join("final-training-and-test-error-vs-depth.png"),
    )
    .unwrap();
    assert_eq!((png.width(), png.height()), (1600, 1000));

    // Every plot of the app, from the runs' JSON, without a window.
    let plots = dir.path().join("plots");
    let o = bin()
        .arg("export")
        .args(["plain-8", "resnet-8"].map(|n| dir.path().join(format!("{n}.json"))))
        .args(["--width", "800", "--height", "500", "--out"])
        .arg(&plots)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for want in [
        "gradient-flow.png",
        "gradient-flow.csv",
        "training-loss-smoothed.png",
        "gradient-heatmap-plain-8.png",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    let img = image::open(plots.join("gradient-flow.png")).unwrap();
    assert_eq!((img.width(), img.height()), (800, 500));
    let csv = std::fs::read_to_string(plots.join("gradient-flow.csv")).unwrap();
    assert!(csv.lines().count() > 8, "{csv}");
    let bad = bin()
        .args(["export", "/no/such/run.json"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/no/such/run.json"));
}

#[test]
fn bench_prints_throughput() {
    let o = bin()
        .args([
            "bench",
            "--depth",
            "8",
            "--batch",
            "8",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--threads",
            "1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("img/s=") && s.contains("GFLOP/s="), "{s}");
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code() {
    let cases: [(&[&str], &str); 5] = [
        (&["train", "--depth", "21"], "6n+2"),
        (
            &["train", "--data", "/definitely/not/here"],
            "/definitely/not/here",
        ),
        (&["train", "--lr=-3"], "learning rate"),
        (&["train", "--lr", "nan"], "learning rate"),
        (&["train", "--batch", "0"], "batch size"),
    ];
    for (args, want) in cases {
        let o = bin().args(args).output().unwrap();
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn train_save_writes_a_run_folder_that_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = bin()
        .args([
            "train",
            "--data",
            "builtin",
            "--max-per-class",
            "10",
            "--depth",
            "8",
        ])
        .args([
            "--width",
            "4",
            "--shortcut",
            "b",
            "--epochs",
            "1",
            "--batch",
            "10",
        ])
        .args(["--max-steps", "2", "--threads", "1", "--save"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let saved = resnet_lab::train::run_dir::open(&run).unwrap();
    assert_eq!(saved.history.steps_done(), 2);
    let data = saved
        .history
        .data
        .as_ref()
        .expect("the data set is recorded");
    assert_eq!(data.classes.len(), 10);
    assert_eq!((data.channels, data.height, data.width), (1, 28, 28));
    let mut m = saved.model.expect("weights were saved");
    assert_eq!(m.params()[0].name, "conv1.weight");
}

/// Trains a tiny net on 10 images per class of the built-in set and saves it to `dir/run`.
fn saved_run(dir: &std::path::Path) -> std::path::PathBuf {
    let run = dir.join("run");
    let o = bin()
        .args([
            "train",
            "--max-per-class",
            "10",
            "--depth",
            "8",
            "--width",
            "4",
        ])
        .args([
            "--epochs",
            "1",
            "--batch",
            "10",
            "--max-steps",
            "3",
            "--save",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    run
}

#[test]
fn eval_and_predict_a_saved_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = saved_run(dir.path());
    let csv = dir.path().join("confusion.csv");
    let preds = dir.path().join("predictions.csv");
    // No --data: the run's own test split (10 per class of the built-in set).
    let o = bin()
        .arg("eval")
        .arg(&run)
        .arg("--out")
        .arg(&csv)
        .arg("--predictions")
        .arg(&preds)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("resnet-8 on built-in shapes (test split, 100 images): error"),
        "{out}"
    );
    assert!(out.contains("per-class error:"), "{out}");
    let matrix = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = matrix.lines().collect();
    assert_eq!(rows.len(), 11, "{matrix}");
    assert_eq!(rows[0].split(',').count(), 11);
    let total: u64 = rows[1..]
        .iter()
        .flat_map(|r| r.split(',').skip(1))
        .map(|v| v.parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 100);
    // Each row holds the 10 test images of its class.
    for r in &rows[1..] {
        let n: u64 = r
            .split(',')
            .skip(1)
            .map(|v| v.parse::<u64>().unwrap())
            .sum();
        assert_eq!(n, 10, "{r}");
    }
    let preds = std::fs::read_to_string(&preds).unwrap();
    assert_eq!(preds.lines().count(), 101);

    // The built-in data as PNG files: `predict` on a test image gives what `eval` said of it.
    let ds = resnet_lab::data::builtin_sized(0, 100, 100);
    let pngs = dir.path().join("pngs");
    resnet_lab::data::write_image_folder(&pngs, &ds).unwrap();
    let class0 = &ds.classes[ds.test.labels[0] as usize];
    let img = pngs.join("test").join(class0).join("000000.png");
    let o = bin()
        .arg("predict")
        .arg(&run)
        .arg(&img)
        .args(["--top", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8_lossy(&o.stdout).trim().to_string();
    // "…/000000.png: square (41.2%), circle (20.3%)"
    let (_, guesses) = line.rsplit_once(": ").unwrap();
    let first = guesses.split(", ").next().unwrap();
    let (class, conf) = first.trim_end_matches("%)").split_once(" (").unwrap();
    assert_eq!(guesses.split(", ").count(), 2, "{line}");
    let row0 = preds.lines().nth(1).unwrap();
    let cols: Vec<&str> = row0.split(',').collect();
    assert_eq!(cols[0], "0");
    assert_eq!(cols[2], class, "{line} vs {row0}");
    let want: f32 = cols[3].parse().unwrap();
    let got: f32 = conf.parse().unwrap();
    assert!((got / 100.0 - want).abs() < 0.001, "{line} vs {row0}");
}

#[test]
fn predict_names_each_bad_file_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let run = saved_run(dir.path());
    let d = dir.path();
    let good = d.join("good.png");
    image::GrayImage::from_pixel(40, 30, image::Luma([200]))
        .save(&good)
        .unwrap();
    let text = d.join("notes.png");
    std::fs::write(&text, "not a picture").unwrap();
    let empty = d.join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    // A real PNG whose side is over the decoder's limit (a few KB on disk).
    let huge = d.join("huge.png");
    image::GrayImage::new(9000, 1).save(&huge).unwrap();
    let fifo = d.join("pipe.png");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut args = vec![
        good.clone(),
        d.join("missing.png"),
        text,
        empty,
        huge,
        d.to_path_buf(),
    ];
    if made.is_ok_and(|s| s.success()) {
        args.push(fifo.clone());
    }
    let o = bin().arg("predict").arg(&run).args(&args).output().unwrap();
    assert!(!o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.starts_with(&format!("{}: ", good.display())), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    for (name, why) in [
        ("missing.png", "no such file"),
        ("notes.png", "not an image"),
        ("empty.jpg", "empty"),
        ("huge.png", "9000x1"),
        ("pipe.png", "not a regular file"),
    ] {
        if name == "pipe.png" && args.len() < 7 {
            continue;
        }
        let line = err
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no error names {name}: {err}"));
        assert!(line.contains(why), "{line}");
    }
    assert!(err.contains("folder"), "{err}");
    assert!(
        err.contains(&format!("{} of {} images", args.len() - 1, args.len())),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // Absurd flags and an output that is a folder are refused before anything is classified.
    for (args, flag) in [
        (vec!["--top", "0"], "--top"),
        (vec!["--top", "5000"], "--top"),
    ] {
        let o = bin()
            .arg("predict")
            .arg(&run)
            .arg(&good)
            .args(args)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(flag) && err.contains("between 1 and 1000"),
            "{err}"
        );
    }
    let o = bin()
        .arg("eval")
        .arg(&run)
        .args(["--max-per-class", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("--max-per-class"),
        "{err}"
    );
    let o = bin()
        .arg("eval")
        .arg(&run)
        .arg("--predictions")
        .arg(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("cannot write --predictions"), "{err}");
    assert!(
        !err.contains("classifying"),
        "refused before the work: {err}"
    );

    // A folder that is not a run, and a run without weights, are refused in one sentence.
    let o = bin().args(["eval"]).arg(d.join("nope")).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a run folder"));
    std::fs::remove_file(run.join("weights.safetensors")).unwrap();
    let o = bin().arg("predict").arg(&run).arg(&good).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no trained weights"));
}

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
    let png = image::open(dir.path().join("final-training-error-vs-depth.png")).unwrap();
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

//! The loss landscape: filter-normalised directions, the centre point, twins, the line,
//! partial results and cancel, and the pictures.
use resnet_lab::data::{Dataset, SplitKind, builtin_sized};
use resnet_lab::landscape::{
    self, Axis, Direction, Event, Landscape, Settings, Status, Subject, Weights,
};
use resnet_lab::nn::ops::loss::cross_entropy;
use resnet_lab::nn::presets::{ShortcutOption, cifar};
use resnet_lab::nn::{Model, ModelOptions, Optimizer, OptimizerKind, Shape};
use resnet_lab::plot;
use resnet_lab::rng::Rng64;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn data() -> Dataset {
    builtin_sized(0, 300, 20).convert(12, 12, 1)
}

/// A few SGD steps in train mode, so weights and running statistics are no longer initial.
fn trained(residual: bool, option: ShortcutOption, ds: &Dataset) -> Model {
    let spec = cifar(8, residual, option, 4, 10).unwrap();
    let mut m = Model::new(&spec, Shape::new(1, 12, 12), 7, ModelOptions::default()).unwrap();
    m.set_probe(false);
    let mut opt = Optimizer::new(OptimizerKind::Sgd {
        momentum: 0.9,
        weight_decay: 1e-4,
    });
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut r = Rng64::new(1);
    for step in 0..15 {
        let idx: Vec<usize> = (0..32).map(|i| (step * 32 + i) % ds.train.len()).collect();
        ds.batch(SplitKind::Train, &idx, None, &mut r, &mut x, &mut y);
        let logits = m.forward(std::mem::take(&mut x), idx.len(), true);
        let (_, d, _) = cross_entropy(idx.len(), 10, &logits, &y);
        m.zero_grad();
        m.backward(d);
        opt.step(&mut m, 0.05);
    }
    m
}

fn small() -> Settings {
    Settings {
        grid: 3,
        range: 0.5,
        images: 60,
        batch: 25,
        line_points: 4,
        line_from: 0.0,
        line_to: 1.5,
        threads: 1,
        ..Settings::default()
    }
}

fn run_sync(settings: &Settings, subjects: &mut [Subject], ds: &Dataset) -> Landscape {
    let mut l = Landscape::new();
    let cancel = AtomicBool::new(false);
    landscape::run(settings, subjects, ds, &cancel, &mut |e| l.apply(&e));
    l
}

#[test]
fn directions_are_filter_normalised_and_leave_batch_norm_alone() {
    let ds = data();
    // Option B: projection shortcuts add 1x1 convs and their batch norms.
    let mut m = trained(true, ShortcutOption::B, &ds);
    let w = Weights::capture(&mut m).unwrap();
    assert!(
        w.tensors
            .iter()
            .any(|t| t.name.ends_with("proj.conv.weight"))
    );
    let d = Direction::random_filter_normalised(&w, 11, Axis::X);
    let (mut filters, mut still) = (0, 0);
    for (t, dt) in w.tensors.iter().zip(&d.tensors) {
        if !t.is_filtered() {
            assert!(dt.is_empty(), "{} ({:?}) must not move", t.name, t.kind);
            still += 1;
            continue;
        }
        let len = t.value.len() / t.rows;
        assert_eq!(dt.len(), t.value.len());
        for (df, wf) in dt.chunks(len).zip(t.filters()) {
            let (a, b) = (
                landscape::direction::norm(df),
                landscape::direction::norm(wf),
            );
            assert!(
                (a - b).abs() <= 1e-5 * b.max(1e-6),
                "{}: {a} vs {b}",
                t.name
            );
            filters += 1;
        }
    }
    // resnet-8 width 4: 7 convs + 2 projections with 4/8/16 filters, and a 10-unit classifier.
    assert_eq!(filters, 4 + (4 + 4) + (8 + 8 + 8) + (16 + 16 + 16) + 10);
    // Nine batch norms (stem, two per block, one per projection), each gamma and beta, and the bias.
    assert_eq!(
        still,
        2 * 9 + 1,
        "every BN gamma/beta and the bias stay still"
    );
    // Moving along it changes weights only; batch norm and the bias keep their values.
    let mut moved = trained(true, ShortcutOption::B, &ds);
    w.write_moved(&mut moved, &[(&d, 0.7)]);
    let after = Weights::capture(&mut moved).unwrap();
    for (a, b) in w.tensors.iter().zip(&after.tensors) {
        assert_eq!(a.value == b.value, !a.is_filtered(), "{}", a.name);
    }
    assert_eq!(w.stats, after.stats);
}

#[test]
fn twins_get_the_same_directions_for_the_same_seed() {
    let ds = data();
    let mut plain = trained(false, ShortcutOption::A, &ds);
    let mut res = trained(true, ShortcutOption::A, &ds);
    let (wp, wr) = (
        Weights::capture(&mut plain).unwrap(),
        Weights::capture(&mut res).unwrap(),
    );
    assert!(wp.same_layout(&wr), "the twins have the same tensors");
    assert_ne!(wp, wr, "but not the same trained values");
    for axis in [Axis::X, Axis::Y] {
        let dp = Direction::random_filter_normalised(&wp, 5, axis);
        let dr = Direction::random_filter_normalised(&wr, 5, axis);
        // Each filter points the same way; only its length (the filter's norm) differs.
        for ((t, a), b) in wp.tensors.iter().zip(&dp.tensors).zip(&dr.tensors) {
            if a.is_empty() {
                continue;
            }
            let len = t.value.len() / t.rows;
            for (fa, fb) in a.chunks(len).zip(b.chunks(len)) {
                let (na, nb) = (
                    landscape::direction::norm(fa),
                    landscape::direction::norm(fb),
                );
                for (x, y) in fa.iter().zip(fb) {
                    assert!((*x as f64 / na - *y as f64 / nb).abs() < 1e-5);
                }
            }
        }
        let other = Direction::random_filter_normalised(&wp, 6, axis);
        assert!(
            dp.cosine(&other).abs() < 0.2,
            "another seed, another direction"
        );
    }
    // With projection shortcuts the residual net has extra tensors; every tensor the two share
    // still gets the same numbers, because streams follow names, not positions.
    let mut proj = trained(true, ShortcutOption::B, &ds);
    let wb = Weights::capture(&mut proj).unwrap();
    assert!(wb.tensors.len() > wp.tensors.len());
    let (dp, db) = (
        Direction::random_filter_normalised(&wp, 5, Axis::X),
        Direction::random_filter_normalised(&wb, 5, Axis::X),
    );
    let unit = |v: &[f32]| {
        let n = landscape::direction::norm(v);
        v.iter().map(|x| *x as f64 / n).collect::<Vec<_>>()
    };
    let mut shared = 0;
    for (t, a) in wp.tensors.iter().zip(&dp.tensors) {
        let j = wb.tensors.iter().position(|u| u.name == t.name).unwrap();
        if a.is_empty() {
            continue;
        }
        let len = t.value.len() / t.rows;
        for (fa, fb) in a.chunks(len).zip(db.tensors[j].chunks(len)) {
            let (ua, ub) = (unit(fa), unit(fb));
            assert!(
                ua.iter().zip(&ub).all(|(x, y)| (x - y).abs() < 1e-5),
                "{}",
                t.name
            );
        }
        shared += 1;
    }
    assert_eq!(shared, 8, "7 convs and the classifier");
}

#[test]
fn the_centre_is_the_trained_net_and_the_line_ends_at_both_nets() {
    let ds = data();
    let s = small();
    let mut model = trained(true, ShortcutOption::A, &ds);
    let before = model.state();
    // The trained net's loss on the same images, in one forward pass of its own.
    let probe = landscape::Probe::new(&ds, s.images, s.seed, s.images).unwrap();
    let own = probe.evaluate(&mut model, &AtomicBool::new(false)).unwrap();
    let spec = model.spec().clone();
    let init =
        landscape::initial_weights(&spec, Shape::new(1, 12, 12), 7, Default::default()).unwrap();
    let mut fresh = Model::new(&spec, Shape::new(1, 12, 12), 7, Default::default()).unwrap();
    let initial = probe.evaluate(&mut fresh, &AtomicBool::new(false)).unwrap();

    let mut subjects = vec![Subject::new("resnet-8", model, Some(init))];
    let l = run_sync(&s, &mut subjects, &ds);
    assert!(
        matches!(l.status, Status::Finished { .. }),
        "{:?}",
        l.status
    );
    assert_eq!(l.done, l.total);
    assert_eq!(l.total, 4 + 9);
    let net = &l.nets[0];
    let centre = net.surface.centre().unwrap();
    assert!(
        (centre.loss - own.loss).abs() < 1e-5 * own.loss,
        "{centre:?} vs {own:?}"
    );
    assert_eq!(centre.error, own.error);
    let line = net.line.as_ref().unwrap();
    // The line ends past the trained net, so its statistics were moved last: the grid after it
    // must start from the trained statistics again.
    assert_eq!(line.alphas, vec![0.0, 0.5, 1.0, 1.5]);
    assert!((line.loss[2] - own.loss).abs() < 1e-5 * own.loss);
    assert!(
        (line.loss[0] - initial.loss).abs() < 1e-4 * initial.loss,
        "{} vs {}",
        line.loss[0],
        initial.loss
    );
    assert!(line.loss[0] > line.loss[2], "training lowered the loss");
    // Away from the centre the loss changes, and the model is handed back as it came.
    assert!(net.surface.at(0, 0).unwrap().loss != centre.loss);
    assert_eq!(subjects[0].model.state(), before);
    assert!(net.cosine.abs() < 0.2);
}

#[test]
fn partial_results_arrive_point_by_point_and_cancel_stops_the_job() {
    let ds = Arc::new(data());
    let settings = Settings {
        grid: 9,
        line_points: 0,
        ..small()
    };
    let model = trained(false, ShortcutOption::A, &ds);
    let mut m2 = trained(false, ShortcutOption::A, &ds);
    let before = m2.state();
    let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = wakes.clone();
    let job = landscape::spawn(
        settings,
        vec![Subject::new("plain-8", model, None)],
        ds.clone(),
        Arc::new(move || {
            w.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }),
    );
    let mut l = Landscape::new();
    let mut grid_events = 0;
    while let Some(e) = job.recv() {
        l.apply(&e);
        if let Event::Grid { ix, iy, .. } = e {
            // Row by row: the n-th point is (n % 9, n / 9).
            assert_eq!((ix, iy), (grid_events % 9, grid_events / 9));
            grid_events += 1;
            if grid_events == 5 {
                assert!(l.progress() > 0.0 && l.progress() < 1.0);
                assert_eq!(l.nets[0].surface.filled, 5);
                job.cancel();
            }
        }
    }
    assert_eq!(l.status, Status::Cancelled);
    assert!(!l.is_complete(), "a cancelled job proves nothing");
    assert!((5..81).contains(&grid_events), "{grid_events}");
    assert!(!l.nets[0].surface.is_complete());
    assert!(wakes.load(std::sync::atomic::Ordering::Relaxed) >= grid_events);
    let mut back = job
        .join()
        .expect("the job ends")
        .expect("the nets come back");
    assert_eq!(back[0].model.state(), before, "trained weights restored");

    // Bad input is an event, not a panic.
    let bad = Settings { grid: 1, ..small() };
    let mut l = Landscape::new();
    landscape::run(&bad, &mut back, &ds, &AtomicBool::new(false), &mut |e| {
        l.apply(&e)
    });
    assert!(
        matches!(&l.status, Status::Failed(r) if r.contains("grid")),
        "{:?}",
        l.status
    );
}

#[test]
fn a_pair_draws_on_shared_levels_and_exports() {
    let ds = data();
    let s = Settings { grid: 5, ..small() };
    let mut subjects = vec![
        Subject::new("plain-8", trained(false, ShortcutOption::A, &ds), None),
        Subject::new("resnet-8", trained(true, ShortcutOption::A, &ds), None),
    ];
    let l = run_sync(&s, &mut subjects, &ds);
    let levels = plot::landscape::shared_levels(&l);
    let plots = plot::landscape::contour_plots(&l, &levels);
    assert_eq!(plots.len(), 2);
    assert_eq!(plots[0].levels, plots[1].levels);
    let (lo, hi) = l
        .nets
        .iter()
        .flat_map(|n| n.surface.loss.iter())
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(
        levels
            .values
            .iter()
            .all(|&v| v >= lo as f64 && v <= hi as f64)
    );
    for size in [(900, 500), (400, 300)] {
        let png = plot::contours_to_png(&plot::landscape::title(&l), &plots, size).unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), size);
        let scenes = plot::landscape::surface_scenes(&l, &levels, Default::default());
        let png = plot::surfaces_to_png("surfaces", &scenes, &levels, size).unwrap();
        assert_eq!(image::load_from_memory(&png).unwrap().width(), size.0);
    }
    let csv = plot::landscape::surface_csv(&l);
    assert_eq!(csv.lines().count(), 1 + 2 * 25);
    let row = csv
        .lines()
        .find(|r| r.starts_with("resnet-8,0,0,"))
        .unwrap();
    let loss: f32 = row.split(',').nth(3).unwrap().parse().unwrap();
    assert_eq!(loss, l.nets[1].surface.centre().unwrap().loss);
    let figs = plot::landscape::figures_csv(&l);
    assert_eq!(figs.lines().count(), 3);
}

fn train_saved(arch: &str, dir: &std::path::Path) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
        .args(["train", "--data", "builtin", "--max-per-class", "12"])
        .args(["--arch", arch, "--depth", "8", "--width", "4"])
        .args(["--batch", "20", "--max-steps", "6", "--threads", "1"])
        .arg("--save")
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_cli_writes_the_same_grid_as_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, res, out) = (
        tmp.path().join("plain"),
        tmp.path().join("resnet"),
        tmp.path().join("out"),
    );
    train_saved("plain", &plain);
    train_saved("resnet", &res);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
        .arg("landscape")
        .args([&plain, &res])
        .args([
            "--grid", "5", "--range", "0.8", "--images", "50", "--batch", "20",
        ])
        .args(["--line-points", "3", "--seed", "4", "--threads", "1"])
        .args(["--width", "500", "--height", "300", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    for f in [
        "surface.csv",
        "line.csv",
        "figures.csv",
        "contours.png",
        "surface-3d.png",
        "slice.png",
        "line-loss.png",
        "line-error.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing; {stderr}");
    }
    let img = image::open(out.join("contours.png")).unwrap();
    assert_eq!((img.width(), img.height()), (500, 300));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("plain-8") && stdout.contains("non-convex"),
        "{stdout}"
    );

    // The same computation in-process, from the same run folders and data.
    let mut subjects = Vec::new();
    let mut data = None;
    for dir in [&plain, &res] {
        let run = resnet_lab::train::run_dir::open(dir).unwrap();
        let info = run.history.data.clone().unwrap();
        let h = &run.history.hyper;
        let init = landscape::initial_weights(&run.spec, info.input(), h.seed, h.model).unwrap();
        subjects.push(Subject::new(
            run.history.label.clone(),
            run.model.unwrap(),
            Some(init),
        ));
        let progress = resnet_lab::data::Progress::default();
        data = Some(resnet_lab::data::load(&info.source, &info.options, &progress).unwrap());
    }
    let s = Settings {
        grid: 5,
        range: 0.8,
        images: 50,
        batch: 20,
        line_points: 3,
        seed: 4,
        threads: 1,
        ..Settings::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let l = pool.install(|| run_sync(&s, &mut subjects, data.as_ref().unwrap()));
    let csv = std::fs::read_to_string(out.join("surface.csv")).unwrap();
    let mut rows = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let net = l.nets.iter().find(|n| n.label == f[0]).unwrap();
        let s = &net.surface;
        let x: f64 = f[1].parse().unwrap();
        let y: f64 = f[2].parse().unwrap();
        let ix = s.coords.iter().position(|c| *c == x).unwrap();
        let iy = s.coords.iter().position(|c| *c == y).unwrap();
        let p = s.at(ix, iy).unwrap();
        assert_eq!(f[3].parse::<f32>().unwrap(), p.loss, "{line}");
        assert_eq!(f[4].parse::<f32>().unwrap(), p.error, "{line}");
        rows += 1;
    }
    assert_eq!(rows, 2 * 25);
    assert_eq!(csv, plot::landscape::surface_csv(&l));
    assert_eq!(
        std::fs::read_to_string(out.join("line.csv")).unwrap(),
        plot::landscape::line_csv(&l)
    );

    // A grid over the memory limit is refused in one sentence, before anything is written.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
        .env("RESNET_LAB_MEM_LIMIT", "40M")
        .arg("landscape")
        .args([&plain, &res])
        .args(["--grid", "5", "--images", "50", "--out"])
        .arg(tmp.path().join("too-big"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("would need about") && err.contains("use fewer --images"),
        "{err}"
    );
    assert!(!tmp.path().join("too-big").exists());

    // A run folder without weights is refused in one sentence.
    std::fs::remove_file(plain.join("weights.safetensors")).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
        .arg("landscape")
        .arg(&plain)
        .arg("--out")
        .arg(tmp.path().join("none"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no trained weights"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

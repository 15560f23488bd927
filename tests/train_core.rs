//! The training loop, the worker thread and the recorded history.
use resnet_lab::data::{self, Dataset};
use resnet_lab::nn::presets;
use resnet_lab::train::worker::{self, Command};
use resnet_lab::train::{Event, Experiment, Hyper, NetEntry, RunHistory, RunStatus, trainer};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn small_data() -> Dataset {
    data::builtin_sized(3, 1500, 300).convert(16, 16, 1)
}

fn run_sync(net: &NetEntry, hyper: &Hyper, ds: &Dataset) -> RunHistory {
    let mut h = RunHistory::new(net, hyper);
    trainer::run(
        net,
        hyper,
        ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| h.apply(&e),
    );
    h
}

fn mean_tail(v: &[f32], n: usize) -> f32 {
    let t = &v[v.len() - n..];
    t.iter().sum::<f32>() / n as f32
}

#[test]
fn residual_net_trains_lower_than_its_plain_twin_at_depth_32() {
    let ds = small_data();
    let hyper = Hyper {
        epochs: 2,
        batch: 32,
        lr: 0.05,
        seed: 1,
        threads: 2,
        max_steps: Some(70),
        probe_every: 0,
        ..Hyper::default()
    };
    let res = presets::cifar(32, true, presets::ShortcutOption::A, 8, 10).unwrap();
    let plain = presets::plain_twin(&res);
    let hr = run_sync(&NetEntry::new(res), &hyper, &ds);
    let hp = run_sync(&NetEntry::new(plain), &hyper, &ds);
    assert_eq!(hr.status, RunStatus::Finished, "{:?}", hr.status);
    assert_eq!(hp.status, RunStatus::Finished, "{:?}", hp.status);
    assert_eq!(hr.steps_done(), 70);
    let (lr, lp) = (mean_tail(&hr.step_loss, 15), mean_tail(&hp.step_loss, 15));
    assert!(lr < lp, "residual {lr} should end below plain {lp}");
    // The budget ends mid-epoch: the partial epoch is still evaluated.
    assert_eq!(hr.epochs.len(), 2);
    assert!(hr.epochs[1].test_err.is_finite());
}

#[test]
fn gradient_norms_spread_wider_in_the_plain_net() {
    let ds = small_data();
    let hyper = Hyper {
        epochs: 1,
        batch: 32,
        max_steps: Some(1),
        threads: 2,
        ..Hyper::default()
    };
    let res = presets::cifar(44, true, presets::ShortcutOption::A, 8, 10).unwrap();
    let plain = presets::plain_twin(&res);
    let hr = run_sync(&NetEntry::new(res), &hyper, &ds);
    let hp = run_sync(&NetEntry::new(plain), &hyper, &ds);
    assert_eq!(hr.grad_norms_init.len(), 44);
    assert_eq!(hr.weight_names.len(), 44);
    assert_eq!(hr.weight_names[0], "conv1.weight");
    let (sr, sp) = (hr.grad_spread().unwrap(), hp.grad_spread().unwrap());
    assert!(sp > 3.0 * sr, "plain spread {sp} vs residual {sr}");
    assert!(!hr.activation_std.is_empty() && !hr.activation_names.is_empty());
}

#[test]
fn nan_loss_ends_the_run_as_diverged() {
    let mut ds = small_data();
    ds.mean = vec![f32::NAN];
    let h = run_sync(
        &NetEntry::new(presets::by_name("resnet-8", 4, 10).unwrap()),
        &Hyper {
            batch: 16,
            ..Hyper::default()
        },
        &ds,
    );
    assert_eq!(
        h.status,
        RunStatus::Diverged { step: 0 },
        "losses {:?}",
        &h.step_loss[..h.step_loss.len().min(5)]
    );
    assert!(h.status.describe().contains("diverged at step 0"));
    assert!(h.status.describe().contains("lower learning rate"));
}

#[test]
fn bad_hyper_parameters_and_wrong_class_count_fail_with_reasons() {
    let ds = small_data();
    let net = NetEntry::new(presets::by_name("resnet-8", 4, 10).unwrap());
    let h = run_sync(
        &net,
        &Hyper {
            lr: -1.0,
            batch: 0,
            ..Hyper::default()
        },
        &ds,
    );
    match &h.status {
        RunStatus::Failed(r) => assert!(
            r.contains("learning rate") && r.contains("batch size"),
            "{r}"
        ),
        other => panic!("{other:?}"),
    }
    let h = run_sync(
        &NetEntry::new(presets::by_name("resnet-8", 4, 3).unwrap()),
        &Hyper::default(),
        &ds,
    );
    match &h.status {
        RunStatus::Failed(r) => assert!(r.contains("3 outputs") && r.contains("10 classes"), "{r}"),
        other => panic!("{other:?}"),
    }
}

fn wait_for(h: &worker::RunHandle, hist: &mut RunHistory, what: impl Fn(&RunHistory) -> bool) {
    let t = Instant::now();
    while !what(hist) {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out; status {:?}",
            hist.status
        );
        for e in h.drain() {
            hist.apply(&e);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn worker_pauses_resumes_and_stops_within_a_step() {
    let ds = Arc::new(small_data());
    let net = NetEntry::new(presets::by_name("resnet-8", 4, 10).unwrap());
    let hyper = Hyper {
        epochs: 50,
        batch: 16,
        threads: 1,
        ..Hyper::default()
    };
    let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = wakes.clone();
    let handle = worker::spawn(
        net.clone(),
        hyper.clone(),
        ds,
        Arc::new(move || {
            w.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }),
    );
    let mut hist = RunHistory::new(&net, &hyper);
    wait_for(&handle, &mut hist, |h| h.steps_done() >= 3);
    handle.send(Command::Pause);
    // Let a step that was already running finish (generous, for a loaded CI machine).
    std::thread::sleep(Duration::from_millis(500));
    for e in handle.drain() {
        hist.apply(&e);
    }
    let paused_at = hist.steps_done();
    std::thread::sleep(Duration::from_millis(300));
    for e in handle.drain() {
        hist.apply(&e);
    }
    assert_eq!(hist.steps_done(), paused_at, "no steps while paused");
    handle.send(Command::Resume);
    wait_for(&handle, &mut hist, |h| h.steps_done() >= paused_at + 3);
    let t = Instant::now();
    handle.send(Command::Stop);
    wait_for(&handle, &mut hist, |h| h.status.is_done());
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(hist.status, RunStatus::Stopped);
    assert!(
        wakes.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the UI is woken on events"
    );
}

#[test]
fn a_panic_inside_the_worker_is_reported_as_failed() {
    let mut ds = small_data();
    for l in ds.train.labels.iter_mut() {
        *l = 99; // out of range: cross-entropy indexes past the logits
    }
    let net = NetEntry::new(presets::by_name("resnet-8", 4, 10).unwrap());
    let handle = worker::spawn(
        net.clone(),
        Hyper {
            batch: 16,
            ..Hyper::default()
        },
        Arc::new(ds),
        Arc::new(|| {}),
    );
    let mut hist = RunHistory::new(&net, &Hyper::default());
    wait_for(&handle, &mut hist, |h| h.status.is_done());
    match &hist.status {
        RunStatus::Failed(r) => assert!(r.contains("internal error"), "{r}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn experiment_and_history_round_trip_through_json() {
    let exp = Experiment::default();
    let back: Experiment = serde_json::from_str(&serde_json::to_string(&exp).unwrap()).unwrap();
    assert_eq!(back, exp);
    assert_eq!(exp.nets[0].label, "plain-20");
    let ds = small_data();
    let hyper = Hyper {
        batch: 32,
        max_steps: Some(3),
        threads: 1,
        ..Hyper::default()
    };
    let h = run_sync(&exp.nets[1], &hyper, &ds);
    let json = serde_json::to_string(&h).unwrap();
    let back: RunHistory = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h);
    // Old or partial files still open: every field has a default.
    let partial: RunHistory = serde_json::from_str("{\"label\": \"x\"}").unwrap();
    assert_eq!(partial.label, "x");
    let _ = Event::Failed {
        reason: String::new(),
    };
}

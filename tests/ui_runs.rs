//! Runs as objects in the app: Save runs / Open run, the restart that brings runs back, and a
//! sweep whose inputs are frozen when it starts.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data;
use resnet_lab::identity::NetChoice;
use resnet_lab::identity::{Arch, Origin, Preset};
use resnet_lab::train::{DataInfo, RunHistory, RunStatus};
use resnet_lab::ui::ResNetLabApp;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::step_until;

fn harness(app: ResNetLabApp) -> Harness<'static, ResNetLabApp> {
    common::harness(app, egui::vec2(1400.0, 900.0))
}

fn small_data() -> data::Dataset {
    data::builtin_sized(0, 200, 50)
}

fn quick(app: ResNetLabApp, steps: usize) -> ResNetLabApp {
    let mut app = app.with_dataset(small_data());
    let c = &mut app.train_mut().config;
    c.nets = vec![
        NetChoice::Preset(Preset::new(false, 8).with_width(4)),
        NetChoice::Preset(Preset::new(true, 8).with_width(4)),
    ];
    c.hyper.batch = 16;
    c.hyper.epochs = 1000;
    c.hyper.max_steps = Some(steps);
    app
}

/// Both runs ended and handed back their trained nets.
fn trained(a: &ResNetLabApp) -> bool {
    let runs = a.state.scheduler.runs();
    runs.len() == 2 && runs.iter().all(|r| !r.is_live() && r.model.is_some())
}

fn logits_of(app: &mut ResNetLabApp, i: usize) -> Vec<f32> {
    let ds = small_data();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    let mut rng = resnet_lab::rng::Rng64::new(0);
    ds.batch(
        data::SplitKind::Test,
        &[0, 1, 2],
        None,
        &mut rng,
        &mut x,
        &mut y,
    );
    let run = &app.state.scheduler.store.runs()[i];
    run.model
        .as_ref()
        .unwrap()
        .lock()
        .unwrap()
        .forward(x, 3, false)
}

fn same_curves(a: &[RunHistory], b: &[RunHistory]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.label, y.label);
        assert_eq!(x.status, y.status);
        assert_eq!(x.step_loss, y.step_loss, "{}", x.label);
        assert_eq!(x.grad_norms_init, y.grad_norms_init, "{}", x.label);
        assert_eq!(x.identity, y.identity);
    }
}

#[test]
fn save_runs_then_open_run_restores_plots_and_trained_nets() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("my runs");
    let mut app = quick(ResNetLabApp::new_for_test(), 4);
    app.state.files.path = folder.display().to_string();
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Start").click();
    step_until(&mut h, 120, "both runs to train", trained);
    h.get_by_label("Save runs").click();
    h.run_steps(1);
    step_until(&mut h, 60, "the save", |a| !a.state.files.is_busy());
    let msg = h.state().state.files.message.clone().unwrap_or_default();
    assert!(msg.starts_with("Saved 2 runs"), "{msg}");
    assert!(folder.join("plain-8").join("weights.safetensors").is_file());
    assert!(folder.join("resnet-8").join("history.json").is_file());
    let saved = h.state().state.scheduler.histories();
    let want = logits_of(h.state_mut(), 1);

    let mut fresh = ResNetLabApp::new_for_test().with_dataset(small_data());
    fresh.state.files.path = folder.display().to_string();
    let mut h2 = harness(fresh);
    h2.run_steps(2);
    h2.get_by_label("Open run").click();
    step_until(&mut h2, 60, "the runs to open", |a| {
        a.state.scheduler.runs().len() == 2
    });
    same_curves(&h2.state().state.scheduler.histories(), &saved);
    // The plots draw from the reopened histories: both curves, every step.
    let chart = resnet_lab::plot::charts::loss(&h2.state().state.scheduler.histories());
    assert_eq!(chart.series.len(), 2);
    assert!(chart.series.iter().all(|s| s.points.len() == 4));
    h2.get_by_label_contains("Opened 2 runs");
    assert!(
        h2.get_all_by_label("resnet-8").count() > 0,
        "the run is listed"
    );
    // The trained net came back too.
    assert_eq!(logits_of(h2.state_mut(), 1), want);

    // Opening the same folder again replaces those runs instead of doubling them; a folder
    // with no runs is refused in words and leaves the runs alone.
    h2.get_by_label("Open run").click();
    h2.run_steps(1);
    step_until(&mut h2, 60, "the second open", |a| !a.state.files.is_busy());
    assert_eq!(h2.state().state.scheduler.runs().len(), 2);
    h2.state_mut().state.files.path = dir.path().join("empty").display().to_string();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    h2.get_by_label("Open run").click();
    h2.run_steps(1);
    step_until(&mut h2, 60, "the refusal", |a| !a.state.files.is_busy());
    let msg = h2.state().state.files.message.clone().unwrap_or_default();
    assert!(msg.contains("holds no saved run"), "{msg}");
    assert_eq!(h2.state().state.scheduler.runs().len(), 2);
}

#[test]
fn a_restart_brings_back_the_runs_and_their_nets() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("app-data");
    let app = quick(
        ResNetLabApp::new_for_test_with(Default::default(), Some(data_dir.clone())),
        3,
    );
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Start").click();
    step_until(&mut h, 120, "both runs to train and be kept", |a| {
        trained(a) && a.state.scheduler.runs().iter().all(|r| r.dir.is_some())
    });
    let before = h.state().state.scheduler.histories();
    let want = logits_of(h.state_mut(), 0);
    let persisted = h.state().persisted();
    assert_eq!(persisted.runs.len(), 2);
    assert!(persisted.runs.iter().all(|p| p.starts_with(&data_dir)));
    // What eframe stores is JSON: go through it, as a restart does.
    let persisted = serde_json::from_str(&serde_json::to_string(&persisted).unwrap()).unwrap();
    // Folders of runs no longer on screen are tidied away; foreign folders are left alone.
    std::fs::create_dir_all(data_dir.join("17-3-plain-20")).unwrap();
    std::fs::create_dir_all(data_dir.join("notes")).unwrap();
    drop(h);

    let restarted = ResNetLabApp::new_for_test_with(persisted, Some(data_dir.clone()))
        .with_dataset(small_data());
    let mut h2 = harness(restarted);
    step_until(&mut h2, 60, "the runs to come back", |a| {
        a.state.scheduler.runs().len() == 2
    });
    same_curves(&h2.state().state.scheduler.histories(), &before);
    assert_eq!(logits_of(h2.state_mut(), 0), want);
    // The trained nets came back with the data they trained on: Inspect and Landscape can
    // look inside them at once.
    assert!(
        h2.state()
            .state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.model.is_some() && r.data.is_some()),
        "{:?}",
        h2.state().state.files.message
    );
    h2.get_by_label("Inspect").click();
    step_until(&mut h2, 120, "Inspect to evaluate the restored pair", |a| {
        a.inspect()
            .nets
            .iter()
            .all(|n| n.as_ref().is_some_and(|n| n.evaluation().is_some()))
    });
    assert!(
        h2.query_by_label_contains("Nothing to inspect yet")
            .is_none()
    );
    h2.get_by_label("Landscape").click();
    h2.run_steps(3);
    assert!(h2.state().landscape().plain.is_some() && h2.state().landscape().residual.is_some());
    assert!(h2.query_by_label_contains("has no trained net").is_none());
    h2.get_by_label("Train").click();
    h2.run_steps(2);
    assert!(
        h2.get_all_by_label("plain-8").count() > 0,
        "the run is listed"
    );
    let end = Instant::now() + Duration::from_secs(30);
    while data_dir.join("17-3-plain-20").exists() {
        assert!(Instant::now() < end, "old run folder not removed");
        h2.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(data_dir.join("notes").exists());

    // A run folder that vanished between sessions costs a sentence, not the others.
    let mut p = h2.state().persisted();
    std::fs::remove_dir_all(&p.runs[0]).unwrap();
    p.runs.push(dir.path().join("nowhere"));
    let mut h3 =
        harness(ResNetLabApp::new_for_test_with(p, Some(data_dir)).with_dataset(small_data()));
    step_until(&mut h3, 60, "the partial restore", |a| {
        a.state.files.message.is_some()
    });
    assert_eq!(h3.state().state.scheduler.runs().len(), 1);
    let msg = h3.state().state.files.message.clone().unwrap();
    assert!(msg.starts_with("Could not reopen 2 runs"), "{msg}");
}

#[test]
fn a_sweep_keeps_the_settings_and_data_it_started_with() {
    let mut app = quick(ResNetLabApp::new_for_test(), 3);
    app.train_mut().config.hyper.lr = 0.05;
    app.train_mut().config.sweep_depths = vec![8, 14];
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("Run sweep").click();
    h.run_steps(1);
    assert!(h.state().state.scheduler.queued() >= 2, "runs are queued");
    // While it runs, the learner changes the learning rate and loads another data set.
    {
        let a = h.state_mut();
        a.train_mut().config.hyper.lr = 0.2;
        let other = data::builtin_sized(5, 100, 20);
        a.state.data_info = Some(DataInfo::new(
            data::Source::Builtin,
            Default::default(),
            &other,
        ));
        a.state.dataset = Some(Arc::new(other));
    }
    for q in h.state().state.scheduler.queue() {
        assert_eq!(q.hyper.lr, 0.05);
        assert_eq!(q.data.train_len, 200);
    }
    step_until(&mut h, 180, "the sweep", |a| {
        a.state.scheduler.sweep_points.len() == 4 && !a.state.scheduler.is_running()
    });
    let runs = h.state().state.scheduler.histories();
    assert_eq!(runs.len(), 4);
    for r in &runs {
        assert_eq!(r.status, RunStatus::Finished, "{}", r.label);
        assert_eq!(
            r.hyper.lr, 0.05,
            "{} kept the sweep's learning rate",
            r.label
        );
        assert_eq!(
            r.data.as_ref().unwrap().train_len,
            200,
            "{} kept its data",
            r.label
        );
        let id = r.identity.as_ref().unwrap();
        assert_eq!(id.origin, Origin::Preset);
        assert!(matches!(id.depth, 8 | 14));
    }
    let mut got: Vec<(bool, usize)> = h
        .state()
        .state
        .scheduler
        .sweep_points
        .iter()
        .map(|p| (p.residual, p.depth))
        .collect();
    got.sort();
    assert_eq!(got, [(false, 8), (false, 14), (true, 8), (true, 14)]);
    let plain = runs.iter().find(|r| r.label == "plain-14").unwrap();
    assert_eq!(plain.identity.as_ref().unwrap().arch, Arch::Plain);
}

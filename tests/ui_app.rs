//! The app driven like a learner would, through egui_kittest: no display or GPU needed.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data;
use resnet_lab::identity::{NetChoice, Preset};
use resnet_lab::train::RunStatus;
use resnet_lab::ui::ResNetLabApp;

mod common;
use common::step_until;

fn harness(app: ResNetLabApp) -> Harness<'static, ResNetLabApp> {
    common::harness(app, egui::vec2(1400.0, 900.0))
}

fn small_app() -> ResNetLabApp {
    ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 200, 50))
}

#[test]
fn walk_the_lessons_with_next_and_keys() {
    let mut h = harness(small_app());
    h.run_steps(2);
    assert_eq!(h.state().lessons.progress.current, 0);
    // Lesson 1 has no check: opening it does not complete it (running its Try it to the end does).
    assert!(h.state().lessons.progress.done.is_empty());
    h.get_by_label_contains("0 done");
    for i in 1..9 {
        h.get_by_label("Next ▶").click();
        h.run_steps(2);
        assert_eq!(h.state().lessons.progress.current, i);
    }
    h.key_press(egui::Key::ArrowLeft);
    h.run_steps(2);
    assert_eq!(h.state().lessons.progress.current, 7);
    h.key_press(egui::Key::PageDown);
    h.run_steps(2);
    assert_eq!(h.state().lessons.progress.current, 8);
    h.get_by_label("◀ Previous").click();
    h.run_steps(2);
    assert_eq!(h.state().lessons.progress.current, 7);
}

#[test]
fn try_it_sets_up_and_starts_the_lesson_experiment() {
    use resnet_lab::lessons::plan::Sizing;
    let mut app = small_app();
    app.lessons.progress.current = 8; // resnet-110 vs resnet-110+scale0.2
    app.tabs.show("Data");
    app.sizing = Sizing::Steps(2);
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 60, "the Try it to start", |a| {
        !a.state.scheduler.runs().is_empty()
    });
    let labels: Vec<String> = h
        .state()
        .train()
        .config
        .nets
        .iter()
        .map(NetChoice::label)
        .collect();
    assert_eq!(labels, ["resnet-110", "resnet-110+scale0.2"]);
    assert_eq!(h.state().tabs.open, "Train");
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the runs to stop", |a| {
        !a.state.scheduler.is_running()
    });
    h.state_mut().lessons.progress.current = 6; // sweep 8 14 20 32
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 60, "the sweep to start", |a| {
        a.state.scheduler.sweeping && !a.state.try_run.as_ref().is_some_and(|t| t.is_preparing())
    });
    assert_eq!(h.state().train().config.sweep_depths, vec![8, 14, 20, 32]);
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the sweep to stop", |a| {
        !a.state.scheduler.is_running()
    });
    h.state_mut().lessons.progress.current = 3; // build identity
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    h.run_steps(2);
    assert_eq!(h.state().tabs.open, "Build");
}

fn quick_config(app: &mut ResNetLabApp, max_steps: usize) {
    let c = &mut app.train_mut().config;
    c.nets = vec![
        NetChoice::Preset(Preset::new(false, 8).with_width(4)),
        NetChoice::Preset(Preset::new(true, 8).with_width(4)),
    ];
    c.hyper.batch = 16;
    c.hyper.epochs = 1000;
    c.hyper.max_steps = Some(max_steps);
}

#[test]
fn a_short_run_fills_the_plots_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = small_app();
    quick_config(&mut app, 8);
    app.state.export_dir = dir.path().display().to_string();
    app.train_mut().experiment_path = dir.path().join("exp.json").display().to_string();
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Start").click();
    step_until(&mut h, 120, "both runs to finish", |a| {
        a.state.scheduler.runs().len() == 2
            && a.state
                .scheduler
                .runs()
                .iter()
                .all(|r| r.history.status.is_done())
    });
    for r in h.state().state.scheduler.runs() {
        assert_eq!(r.history.status, RunStatus::Finished, "{}", r.history.label);
        assert_eq!(r.history.step_loss.len(), 8);
        assert!(!r.history.grad_norms_init.is_empty());
        assert!(!r.history.activation_std.is_empty());
    }
    h.get_all_by_label("Export PNG").next().unwrap().click();
    h.run_steps(1);
    h.get_all_by_label("Export CSV").next().unwrap().click();
    h.run_steps(1);
    step_until(&mut h, 60, "the exports", |a| !a.train().exporter.is_busy());
    let png = dir.path().join("training-error-smoothed.png");
    let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert_eq!((img.width(), img.height()), (1600, 1000));
    let csv = std::fs::read_to_string(dir.path().join("training-error-smoothed.csv")).unwrap();
    assert!(csv.starts_with("series,step,training error %"));
    assert_eq!(csv.lines().count(), 1 + 16);
    assert!(csv.contains("plain-8,") && csv.contains("resnet-8,"));

    // Save, then reopen in a fresh app: the same histories come back.
    h.get_by_label("Save experiment").click();
    h.run_steps(1);
    step_until(&mut h, 30, "the save", |a| !a.train().exporter.is_busy());
    let saved = h.state().state.scheduler.histories();
    let mut fresh = small_app();
    fresh.train_mut().experiment_path = dir.path().join("exp.json").display().to_string();
    let mut h2 = harness(fresh);
    h2.run_steps(1);
    h2.get_by_label("Open experiment").click();
    step_until(&mut h2, 30, "the experiment to open", |a| {
        a.state.scheduler.runs().len() == 2
    });
    let reopened = h2.state().state.scheduler.histories();
    assert!(
        h2.state()
            .state
            .scheduler
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("Opened"))
    );
    // JSON keeps f32 curves exactly; only f64 timings may differ in the last digit.
    for (a, b) in reopened.iter().zip(&saved) {
        assert_eq!(a.label, b.label);
        assert_eq!(a.status, b.status);
        assert!(
            a.step_loss == b.step_loss && a.step_err == b.step_err,
            "{} curves differ",
            a.label
        );
        assert!(a.grad_norms_init == b.grad_norms_init && a.grad_flow == b.grad_flow);
    }

    // A damaged file is refused in words and leaves the plots alone.
    std::fs::write(dir.path().join("exp.json"), "{ not json").unwrap();
    h2.get_by_label("Open experiment").click();
    step_until(&mut h2, 30, "the refusal", |a| {
        a.state
            .scheduler
            .message
            .as_deref()
            .is_some_and(|m| m.contains("is not a saved experiment"))
    });
    assert_eq!(h2.state().state.scheduler.runs().len(), 2);
}

#[test]
fn stop_ends_a_long_run() {
    let mut app = small_app();
    quick_config(&mut app, 1_000_000);
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Start").click();
    step_until(&mut h, 60, "some steps", |a| {
        a.state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.steps_done() > 0)
    });
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the runs to stop", |a| {
        a.state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.status.is_done())
    });
    assert!(
        h.state()
            .state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.status == RunStatus::Stopped)
    );
}

#[test]
fn bad_hyper_parameters_are_refused_in_words() {
    // The form's fields clamp what a learner can type, so go around them: a hand-edited
    // saved experiment can still hold absurd values.
    let mut app = small_app();
    app.train_mut().config.hyper.lr = -1.0;
    app.train_mut().config.hyper.batch = 0;
    let data = app.state.dataset.clone().unwrap();
    let info = app.state.data_info.clone().unwrap();
    let wake: resnet_lab::task::Wake = std::sync::Arc::new(|| {});
    let data = resnet_lab::train::scheduler::DataRef {
        set: &data,
        info: &info,
    };
    let config = app.train().config.clone();
    app.state.scheduler.start(&config, data, &wake);
    let msg = app.state.scheduler.message.clone().unwrap_or_default();
    assert!(
        msg.contains("learning rate") && msg.contains("batch size"),
        "{msg}"
    );
    assert!(app.state.scheduler.runs().is_empty());
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label_contains("Cannot start");
}

#[test]
fn load_a_data_set_by_typed_path_and_show_errors() {
    let dir = tempfile::tempdir().unwrap();
    data::write_idx(dir.path(), &data::builtin_sized(1, 60, 20), false).unwrap();
    let mut app = small_app();
    app.tabs.show("Data");
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("Path").focus();
    h.run_steps(2);
    h.get_by_label("Path")
        .type_text(&dir.path().display().to_string());
    h.run_steps(2);
    assert_eq!(h.state().data().form.path, dir.path().display().to_string());
    h.get_by_label("Load").click();
    step_until(&mut h, 60, "the IDX set to load", |a| {
        a.data()
            .loaded
            .as_ref()
            .is_some_and(|l| matches!(l.source, data::Source::Path(_)))
            || a.data().message.is_some()
    });
    assert_eq!(h.state().data().message, None);
    let loaded = h.state().data().loaded.as_ref().unwrap();
    assert_eq!(loaded.summary.train_len, 60);
    assert_eq!(h.state().state.dataset.as_ref().unwrap().train.len(), 60);

    h.state_mut().data_mut().form.path = dir.path().join("missing").display().to_string();
    h.run_steps(1);
    h.get_by_label("Load").click();
    step_until(&mut h, 30, "the error", |a| a.data().message.is_some());
    let msg = h.state().data().message.clone().unwrap();
    assert!(msg.starts_with("Could not load the data set"), "{msg}");
}

#[test]
fn a_tiny_sweep_plots_error_against_depth() {
    let mut app = small_app();
    quick_config(&mut app, 3);
    app.train_mut().config.sweep_depths = vec![14, 8];
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("Run sweep").click();
    step_until(&mut h, 120, "the sweep", |a| {
        a.state.scheduler.sweep_points.len() == 4 && !a.state.scheduler.is_running()
    });
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
    let chart = resnet_lab::plot::charts::sweep(&h.state().state.scheduler.sweep_points);
    assert!(chart.series.iter().all(|s| s.points.len() == 2));
}

#[test]
fn a_diverged_run_is_explained_with_a_hint() {
    let mut app = small_app();
    app.state
        .scheduler
        .store
        .add_history(resnet_lab::train::RunHistory {
            label: "plain-56".into(),
            status: RunStatus::Diverged { step: 3 },
            ..Default::default()
        });
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label_contains("diverged at step 3");
    h.get_by_label_contains("lower learning rate");
}

#[test]
fn settings_survive_a_restart_and_bad_state_falls_back() {
    use resnet_lab::ui::app::Persisted;
    let mut app = small_app();
    app.lessons.progress.current = 4;
    app.dark = false;
    app.scale = 1.25;
    app.train_mut().config.nets.truncate(1);
    let json = serde_json::to_string(&app.persisted()).unwrap();
    let back: Persisted = serde_json::from_str(&json).unwrap();
    assert_eq!(back, app.persisted());
    // Older or hand-edited state: missing fields take their defaults.
    let partial: Persisted = serde_json::from_str(r#"{"dark": false, "unknown": 1}"#).unwrap();
    assert!(!partial.dark && partial.scale == 1.0 && partial.config.nets.len() == 2);
    assert!(serde_json::from_str::<Persisted>("{not json").is_err());
}

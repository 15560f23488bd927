//! The Inspect tab driven like a learner would (egui_kittest): train a plain net and its twin,
//! look at their predictions, click a confusion cell, walk through feature maps; open a saved run.
//!
//! `SHOTS_DIR=/some/dir cargo test --test ui_inspect -- --ignored inspect_screenshots` renders
//! every page with wgpu at 1024x700 and 1280x800 for a look by eye (and the README's picture).
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data::{self, LoadOptions, Source};
use resnet_lab::identity::{NetChoice, Preset};
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::train::eval::class_name;
use resnet_lab::train::{DataInfo, Hyper, NetEntry, RunHistory, run_dir, trainer};
use resnet_lab::ui::ResNetLabApp;
use resnet_lab::ui::inspect::{InspectPage, PLAIN, RESIDUAL};

mod common;
fn harness(app: ResNetLabApp, size: egui::Vec2) -> Harness<'static, ResNetLabApp> {
    common::harness(app, size)
}

/// Steps the UI until `done` holds, failing after `secs`; one more step than the shared helper.
fn step_until(
    h: &mut Harness<'_, ResNetLabApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&ResNetLabApp) -> bool,
) {
    common::step_until(h, secs, what, done);
    h.step();
}

/// plain-8 and resnet-8 (width 4) for `steps` steps on a small built-in set.
fn app_with_pair(
    train: usize,
    test: usize,
    steps: usize,
    width: usize,
    depth: usize,
) -> ResNetLabApp {
    let mut app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, train, test));
    let c = &mut app.train_mut().config;
    c.nets = vec![
        NetChoice::Preset(Preset::new(false, depth).with_width(width)),
        NetChoice::Preset(Preset::new(true, depth).with_width(width)),
    ];
    c.hyper.batch = 16;
    c.hyper.epochs = 1000;
    c.hyper.max_steps = Some(steps);
    app
}

fn evaluated(a: &ResNetLabApp) -> bool {
    a.inspect()
        .nets
        .iter()
        .all(|n| n.as_ref().is_some_and(|n| n.evaluation().is_some()))
}

fn maps_for(a: &ResNetLabApp, image: usize) -> bool {
    a.inspect().nets.iter().all(|n| {
        n.as_ref()
            .is_some_and(|n| n.maps.as_ref().is_some_and(|(i, _)| *i == image))
    })
}

#[test]
fn inspect_a_trained_pair() {
    let mut h = harness(app_with_pair(200, 50, 8, 4, 8), egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    h.get_by_label("Inspect").click();
    h.run_steps(2);
    assert_eq!(h.state().tabs.open, "Inspect");
    h.get_by_label_contains("Nothing to inspect yet");

    // Trained in the app, the pair shows up by itself: the residual net and its plain twin.
    h.get_by_label("▶ Start").click();
    step_until(
        &mut h,
        180,
        "both nets to train and be classified",
        evaluated,
    );
    let labels: Vec<String> = h
        .state()
        .inspect()
        .nets
        .iter()
        .map(|n| n.as_ref().unwrap().cand.label.clone())
        .collect();
    assert_eq!(labels, ["plain-8", "resnet-8"]);
    assert!(h.state().inspect().comparable());
    for n in h.state().inspect().nets.iter().flatten() {
        let e = n.evaluation().unwrap();
        assert_eq!(e.predictions.len(), 50);
        // The tab's error is the test error the training curves end with.
        let run = h
            .state()
            .state
            .scheduler
            .runs()
            .iter()
            .find(|r| r.history.label == n.cand.label)
            .unwrap();
        assert_eq!(e.error(), run.history.final_test_err(), "{}", n.cand.label);
    }

    // Predictions: each image with both verdicts.
    h.get_by_label("test image #0");
    let ds = h.state().inspect().data().unwrap().clone();
    let e = h.state().inspect().nets[PLAIN]
        .as_ref()
        .unwrap()
        .evaluation()
        .unwrap()
        .clone();
    let p0 = e.predictions[0];
    let verdict = format!(
        "plain-8: {} {:.0}%",
        class_name(&ds.classes, p0.predicted),
        p0.confidence * 100.0
    );
    assert!(h.query_all_by_label(&verdict).count() >= 1, "{verdict}");
    assert_eq!(h.query_all_by_label_contains("resnet-8: ").count(), 30);
    h.get_by_label("Next page ▶").click();
    h.run_steps(2);
    h.get_by_label("test image #30");
    assert!(h.query_by_label("test image #0").is_none());

    // Confusion: click a cell (a mistake if the net made one) and its images are listed.
    h.get_by_label("Confusion & errors").click();
    h.run_steps(2);
    let c = &e.confusion;
    let (t, p) = (0..10)
        .flat_map(|t| (0..10).map(move |p| (t, p)))
        .filter(|&(t, p)| c.get(t, p) > 0)
        .max_by_key(|&(t, p)| (t != p, c.get(t, p)))
        .unwrap();
    let n = c.get(t, p);
    let (tn, pn) = (class_name(&ds.classes, t), class_name(&ds.classes, p));
    h.get_by_label(&format!("plain-8: {tn} predicted as {pn} ({n})"))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().inspect().cell, Some((PLAIN, t, p)));
    h.get_by_label_contains(&format!("plain-8: {n} test image"));
    let first = e.predictions[e.cell(t, p)[0]].index;
    let cards = h.query_all_by_label_contains("test image #").count();
    assert_eq!(cards, n as usize, "one card per image of the cell");
    h.get_by_label_contains("Most confused pairs");
    h.get_by_label("Per-class test error");

    // Clicking an image shows its feature maps; the view then steps to the next image.
    h.get_by_label(&format!("test image #{first}")).click();
    h.run_steps(2);
    assert_eq!(h.state().inspect().page, InspectPage::FeatureMaps);
    assert_eq!(h.state().inspect().image, first);
    step_until(&mut h, 60, "the feature maps", |a| maps_for(a, first));
    let maps = h.state().inspect().nets[RESIDUAL]
        .as_ref()
        .unwrap()
        .maps
        .clone()
        .unwrap()
        .1;
    let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["stem", "stage1.block1", "stage2.block1", "stage3.block1"]
    );
    h.get_by_label("Signal std after each block");
    assert_eq!(h.query_all_by_label_contains("stage2.block1").count(), 1);
    h.get_by_label(&format!("test image #{first}: {tn}"));
    let next = if first + 1 < 50 { first + 1 } else { first - 1 };
    let button = if next > first {
        "Next image ▶"
    } else {
        "◀ Previous image"
    };
    h.get_by_label(button).click();
    h.run_steps(1);
    assert_eq!(h.state().inspect().image, next);
    step_until(&mut h, 60, "the next image's maps", |a| maps_for(a, next));
    let tn2 = class_name(&ds.classes, ds.test.labels[next] as usize);
    h.get_by_label(&format!("test image #{next}: {tn2}"));

    // First-layer filters of both nets.
    h.get_by_label("First-layer filters").click();
    h.run_steps(2);
    // Trained, and as the run's seed made them before training: both rows for both nets.
    assert_eq!(h.query_all_by_label("4 filters of 1x3x3").count(), 4);
    h.get_by_label("before training");
    for n in h.state().inspect().nets.iter().flatten() {
        let (trained, init) = (
            n.filters.as_ref().unwrap(),
            n.init_filters.as_ref().unwrap(),
        );
        assert_eq!((init.count, init.k), (trained.count, trained.k));
        assert_ne!(
            init.filter(0),
            trained.filter(0),
            "{} trained its stem",
            n.cand.label
        );
    }

    // Exports land in the export folder.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut().state.export_dir = dir.path().display().to_string();
    h.get_by_label("Export PNG").click();
    h.run_steps(1);
    step_until(&mut h, 60, "the export", |a| {
        !a.inspect().exporter.is_busy()
    });
    let png = dir.path().join("first-layer-filters.png");
    assert!(image::open(&png).is_ok(), "{}", png.display());
}

#[test]
fn a_saved_run_opens_with_its_model() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions {
        max_per_class: Some(5),
        ..LoadOptions::default()
    };
    let ds = data::load(&Source::Builtin, &opts, &Default::default()).unwrap();
    let spec = presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap();
    let net = NetEntry::new(spec);
    let hyper = Hyper {
        epochs: 1,
        batch: 10,
        threads: 1,
        ..Hyper::default()
    };
    let mut history = RunHistory::new(&net, &hyper);
    history.data = Some(DataInfo::new(Source::Builtin, opts, &ds));
    let mut model = trainer::run(
        &net,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| history.apply(&e),
    );
    let run = dir.path().join("run");
    run_dir::save(&run, &history, model.as_mut()).unwrap();

    let mut app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 20, 10));
    app.tabs.show("Inspect");
    let mut h = harness(app, egui::vec2(1024.0, 700.0));
    h.run_steps(2);
    h.state_mut().inspect_mut().open_path = dir.path().join("missing").display().to_string();
    h.get_by_label("Open run").click();
    step_until(&mut h, 30, "the failed open", |a| {
        a.inspect().message.is_some()
    });
    h.get_by_label_contains("not a run folder");
    h.state_mut().inspect_mut().open_path = run.display().to_string();
    h.get_by_label("Open run").click();
    step_until(&mut h, 60, "the run to open and be classified", |a| {
        a.inspect().nets[RESIDUAL]
            .as_ref()
            .is_some_and(|n| n.evaluation().is_some())
    });
    let n = h.state().inspect().nets[RESIDUAL].as_ref().unwrap();
    assert_eq!(n.cand.label, "resnet-8");
    let e = n.evaluation().unwrap();
    assert_eq!(e.predictions.len(), 50, "its own test split: 5 per class");
    assert_eq!(e.error(), history.final_test_err());
    assert!(h.state().inspect().nets[PLAIN].is_none());
    h.get_by_label("test image #0");
}

#[test]
#[ignore = "renders PNGs for a look by eye; needs SHOTS_DIR"]
fn inspect_screenshots() {
    let Ok(dir) = std::env::var("SHOTS_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    // SHOTS_STEPS / SHOTS_WIDTH / SHOTS_DEPTH train a better pair for the README.
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let app = app_with_pair(
        env("SHOTS_TRAIN", 2000),
        env("SHOTS_TEST", 500),
        env("SHOTS_STEPS", 150),
        env("SHOTS_WIDTH", 8),
        env("SHOTS_DEPTH", 20),
    );
    let mut h = harness(app, egui::vec2(1280.0, 800.0));
    h.run_steps(2);
    h.get_by_label("▶ Start").click();
    step_until(&mut h, 3000, "training", |a| {
        !a.state.scheduler.runs().is_empty() && !a.state.scheduler.is_running()
    });
    let mut app = std::mem::replace(h.state_mut(), ResNetLabApp::new_for_test());
    app.inspect_mut().forget_textures();
    app.tabs.show("Inspect");
    app.lesson_panel_open = std::env::var("SHOTS_LESSONS").is_ok();
    for (size, tag) in [
        (egui::vec2(1024.0, 700.0), "1024x700"),
        (egui::vec2(1280.0, 800.0), "1280x800"),
    ] {
        for (page, name) in [
            (InspectPage::Predictions, "predictions"),
            (InspectPage::Confusion, "confusion"),
            (InspectPage::FeatureMaps, "maps"),
            (InspectPage::Filters, "filters"),
        ] {
            app.inspect_mut().page = page;
            let mut h = Harness::builder()
                .with_size(size)
                .with_context_setup(resnet_lab::ui::app::setup_fonts)
                .wgpu()
                .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app);
            step_until(&mut h, 300, "the inspection", |a| {
                evaluated(a) && (page != InspectPage::FeatureMaps || maps_for(a, a.inspect().image))
            });
            if page == InspectPage::Confusion && h.state().inspect().cell.is_none() {
                let e = h.state().inspect().nets[RESIDUAL]
                    .as_ref()
                    .unwrap()
                    .evaluation()
                    .unwrap()
                    .clone();
                if let Some(p) = e.confusion.most_confused(1).first() {
                    h.state_mut().inspect_mut().cell = Some((RESIDUAL, p.truth, p.predicted));
                }
            }
            h.run_steps(4);
            let img = h.render().expect("render");
            img.save(dir.join(format!("inspect-{name}-{tag}.png")))
                .unwrap();
            app = std::mem::replace(h.state_mut(), ResNetLabApp::new_for_test());
            app.inspect_mut().forget_textures();
        }
    }
}

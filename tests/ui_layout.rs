//! The app at 1024x700, the smallest window we support: every tab's controls must be on screen
//! (or reachable by scrolling their own scroll area), never cut off at the window's edge.
//!
//! `SHOTS_DIR=/some/dir cargo test --test ui_layout -- --ignored screenshots` also renders the
//! main screens with wgpu at 1024x700 and 1280x800 for a look by eye (larger renders time out
//! on a software GPU; look at 4K and 200% in the real app under Xvfb).
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::builder::{ExerciseId, PaletteItem};
use resnet_lab::data;
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::train::history::SweepPoint;
use resnet_lab::train::{Hyper, NetEntry, RunHistory, trainer};
use resnet_lab::ui::ResNetLabApp;
use resnet_lab::ui::builder_view::BuilderView;
use resnet_lab::ui::train_view::PlotPage;

mod common;
const SMALL: egui::Vec2 = egui::vec2(1024.0, 700.0);

fn harness(app: ResNetLabApp, size: egui::Vec2) -> Harness<'static, ResNetLabApp> {
    common::harness(app, size)
}

fn small_app() -> ResNetLabApp {
    ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20))
}

/// A short real run of a small net, so plots have real curves and gradients.
fn history(depth: usize, residual: bool, steps: usize) -> RunHistory {
    let ds = data::builtin_sized(3, 200, 40);
    let spec = presets::cifar(depth, residual, ShortcutOption::A, 4, 10).unwrap();
    let mut entry = NetEntry::new(spec);
    entry.label = format!("{}-{depth}", if residual { "resnet" } else { "plain" });
    let hyper = Hyper {
        batch: 16,
        epochs: 100,
        max_steps: Some(steps),
        probe_every: 5,
        threads: 1,
        ..Hyper::default()
    };
    let mut h = RunHistory::new(&entry, &hyper);
    trainer::run(
        &entry,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| h.apply(&e),
    );
    h
}

/// Asserts the widget labelled `label` lies inside the window horizontally and vertically.
fn on_screen(h: &Harness<'_, ResNetLabApp>, label: &str, size: egui::Vec2) {
    let node = h
        .query_all_by_label(label)
        .next()
        .unwrap_or_else(|| panic!("no widget labelled {label:?}"));
    let r = node.rect();
    assert!(
        r.left() >= -0.5
            && r.right() <= size.x + 0.5
            && r.top() >= -0.5
            && r.bottom() <= size.y + 0.5,
        "{label:?} at {r:?} is cut off in a {}x{} window",
        size.x,
        size.y
    );
}

#[test]
#[ignore = "renders PNGs for a look by eye; needs SHOTS_DIR"]
fn screenshots() {
    let Ok(dir) = std::env::var("SHOTS_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut stopped = history(20, false, 38);
    stopped.status = resnet_lab::train::RunStatus::Stopped;
    stopped.total_steps = 260;
    let runs = vec![history(8, false, 40), stopped, history(20, true, 40)];
    let sweep = vec![
        SweepPoint {
            residual: false,
            depth: 8,
            train_err: 0.61,
            test_err: None,
        },
        SweepPoint {
            residual: true,
            depth: 8,
            train_err: 0.80,
            test_err: None,
        },
    ];
    let shots: Vec<(&str, &str, PlotPage, usize)> = vec![
        ("train-errors", "Train", PlotPage::Errors, 0),
        ("train-gradients", "Train", PlotPage::Gradients, 7),
        ("train-sweep", "Train", PlotPage::Sweep, 6),
        ("data", "Data", PlotPage::Errors, 1),
        ("build", "Build", PlotPage::Errors, 3),
        ("build-mismatch", "Build", PlotPage::Errors, 4),
    ];
    for (size, scale, tag) in [
        (SMALL, 1.0, "1024x700"),
        (egui::vec2(1280.0, 800.0), 1.0, "1280x800"),
    ] {
        if std::env::var("SHOTS_ONLY").is_ok_and(|t| t != tag) {
            continue;
        }
        for (name, tab, page, lesson) in &shots {
            let mut app = small_app();
            app.state.scheduler.restore(runs.clone(), sweep.clone());
            app.tabs.show(tab);
            app.train_mut().page = *page;
            app.lessons.progress.current = *lesson;
            app.scale = scale;
            match *name {
                "build" => near_miss(app.builder_mut()),
                "build-mismatch" => {
                    app.builder_mut().open_exercise(ExerciseId::Conv);
                    for item in [
                        PaletteItem::Conv3x3Stride2,
                        PaletteItem::BatchNorm,
                        PaletteItem::ReLU,
                        PaletteItem::Conv3x3,
                        PaletteItem::BatchNorm,
                    ] {
                        app.builder_mut().add(item);
                    }
                }
                _ => {}
            }
            let mut h = Harness::builder()
                .with_size(size)
                .with_context_setup(resnet_lab::ui::app::setup_fonts)
                .wgpu()
                .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app);
            h.run_steps(6);
            let img = h.render().expect("render");
            img.save(dir.join(format!("{name}-{tag}.png"))).unwrap();
        }
    }
}

/// The identity exercise with the learner's classic slip: the last ReLU before the +, nothing
/// after it; then Check.
fn near_miss(b: &mut BuilderView) {
    b.open_exercise(ExerciseId::Identity);
    for item in [
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
        PaletteItem::ReLU,
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
    ] {
        b.add(item);
    }
    // The palette now points after the +; the learner clicks the last layer and adds a ReLU.
    b.select(Some(4));
    b.add(PaletteItem::ReLU);
    b.grade = Some(resnet_lab::builder::Exercise::get(ExerciseId::Identity).grade(&b.state.draft));
}

/// Scrolls the widget into view (it may sit below the fold of its own scroll area) and then
/// checks it is on screen: reachable, not cut off at the window's edge.
fn reachable(h: &mut Harness<'_, ResNetLabApp>, label: &str, size: egui::Vec2) {
    h.query_all_by_label(label)
        .next()
        .unwrap_or_else(|| panic!("no widget labelled {label:?}"))
        .scroll_to_me();
    h.run_steps(3);
    on_screen(h, label, size);
}

#[test]
fn train_tab_fits_1024x700() {
    let mut app = small_app();
    app.state
        .scheduler
        .restore(vec![history(8, false, 10)], Vec::new());
    let mut h = harness(app, SMALL);
    h.run_steps(4);
    for label in [
        "Train",
        "Data",
        "Build",
        "Errors & loss",
        "Gradients & activations",
        "Depth sweep",
        "Export PNG",
        "Export CSV",
        "▶ Start",
        "📖 Lessons",
        "▶ Try it",
        "plain-8",
    ] {
        on_screen(&h, label, SMALL);
    }
    for label in [
        "Run sweep",
        "Save experiment",
        "Open experiment",
        "Export folder",
    ] {
        reachable(&mut h, label, SMALL);
    }
    // The other pages: heatmap exports and the sweep plot's.
    h.get_by_label("Gradients & activations").click();
    h.run_steps(4);
    on_screen(&h, "Export PNG", SMALL);
    for _ in 0..3 {
        h.get_all_by_label("Export CSV")
            .last()
            .unwrap()
            .scroll_to_me();
        h.run_steps(2);
    }
    let last = h.get_all_by_label("Export CSV").last().unwrap().rect();
    assert!(
        last.right() <= SMALL.x && last.bottom() <= SMALL.y,
        "{last:?}"
    );
    // The page tab, not the setup panel's heading of the same name.
    h.get_all_by_label("Depth sweep")
        .min_by(|a, b| a.rect().top().total_cmp(&b.rect().top()))
        .unwrap()
        .click();
    h.run_steps(4);
    assert_eq!(h.state().train().page, PlotPage::Sweep);
    on_screen(&h, "Export PNG", SMALL);
}

#[test]
fn data_and_network_pages_fit_1024x700() {
    let mut app = small_app();
    app.tabs.show("Data");
    let mut h = harness(app, SMALL);
    h.run_steps(4);
    for label in [
        "Browse...",
        "Load",
        "Use built-in shapes",
        "Path",
        "Test fraction",
    ] {
        on_screen(&h, label, SMALL);
    }
    h.get_by_label("Build").click();
    h.run_steps(2);
    h.get_by_label("Network").click();
    h.run_steps(4);
    for label in [
        "Save JSON",
        "Open JSON",
        "ResNet-110",
        "Plain twin (remove every shortcut)",
        "Train this network",
    ] {
        on_screen(&h, label, SMALL);
    }
}

#[test]
fn block_editor_side_panel_and_fixes_fit_1024x700() {
    let mut app = small_app();
    app.tabs.show("Build");
    near_miss(app.builder_mut());
    app.builder_mut().grade = None;
    let mut h = harness(app, SMALL);
    h.run_steps(4);
    h.get_by_label("Check").click();
    h.run_steps(3);
    // The named mistake and its fix are in view without scrolling, beside the block.
    h.get_by_label_contains("the shortcut joins after the ReLU");
    for label in [
        "Fix: Move the ReLU after the +",
        "Check",
        "Restart",
        "Save JSON",
        "Open JSON",
        "ReLU",
        "BatchNorm",
        "identity",
        "none",
        "layer 6: ReLU",
        "the addition (+)",
    ] {
        on_screen(&h, label, SMALL);
    }
    for label in [
        "ReLU after the addition",
        "Train this block",
        "Move this ReLU after the +",
    ] {
        reachable(&mut h, label, SMALL);
    }
    h.get_by_label("Fix: Move the ReLU after the +").click();
    h.run_steps(3);
    let b = h.state().builder();
    assert!(b.state.draft.relu_after && b.state.draft.body.len() == 5);
    assert!(
        b.grade.as_ref().is_some_and(|g| g.passed()),
        "regraded after the fix"
    );

    // A strided block: the shape problem's one-click fixes are in view too.
    h.state_mut().builder_mut().open_exercise(ExerciseId::Conv);
    for item in [
        PaletteItem::Conv3x3Stride2,
        PaletteItem::BatchNorm,
        PaletteItem::ReLU,
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
    ] {
        h.state_mut().builder_mut().add(item);
    }
    h.run_steps(4);
    for label in [
        "use a 1x1 stride-2 projection",
        "zero-pad the extra channels",
    ] {
        on_screen(&h, label, SMALL);
    }
}

#[test]
fn run_rows_tell_stopped_paused_and_finished_apart() {
    use resnet_lab::train::RunStatus;
    use resnet_lab::train::RunStore;
    let mut stopped = history(8, false, 5);
    stopped.status = RunStatus::Stopped;
    stopped.total_steps = 260;
    let mut app = small_app();
    app.state
        .scheduler
        .restore(vec![stopped, history(8, true, 5)], Vec::new());
    app.train_mut().exporter.notice = Some(Ok("old.csv".into()));
    let mut h = harness(app, SMALL);
    h.run_steps(3);
    h.get_by_label("⏹ stopped at 5/260: incomplete");
    h.get_by_label("✔ finished");
    h.get_by_label("5/260 steps");
    let runs = h.state().state.scheduler.runs();
    assert!(runs[0].fraction() < 0.05, "a stopped run's bar is not full");
    assert_eq!(runs[1].fraction(), 1.0);
    // The stopped run's curve is drawn hollow and labelled in the legend.
    assert_eq!(
        h.query_all_by_label("plain-8 (stopped at 5/260)").count(),
        3,
        "one legend entry in each of the three plots"
    );
    // No ETA while paused, however long the pause.
    let mut store = RunStore::default();
    let id = store.add_history(history(8, false, 3));
    let paused = store.get_mut(id).expect("just added");
    paused.started = Some(std::time::Instant::now());
    paused.history.total_steps = 100;
    paused.history.status = RunStatus::Running;
    assert!(paused.eta_secs().is_some());
    paused.history.status = RunStatus::Paused;
    assert_eq!(paused.eta_secs(), None);
    // A new run clears the last export's "Saved ..." line.
    h.get_by_label_contains("Saved old.csv");
    h.get_by_label("▶ Start").click();
    h.run_steps(2);
    assert!(h.query_by_label_contains("Saved old.csv").is_none());
    h.state_mut().state.scheduler.stop();
}

#[test]
#[ignore = "renders PNGs for a look by eye; needs SHOTS_DIR"]
fn diagram_gallery() {
    use resnet_lab::lessons::Diagram;
    let Ok(dir) = std::env::var("SHOTS_DIR") else {
        return;
    };
    let all = [
        "depth-vs-accuracy",
        "training-curves",
        "identity-stack",
        "residual-block",
        "block-types",
        "plain-vs-resnet",
        "error-vs-depth",
        "gradient-flow",
        "residual-scaling",
    ];
    for dark in [true, false] {
        for name in all {
            let d = Diagram::parse(name).unwrap();
            let mut h = Harness::builder()
                .with_size(egui::vec2(400.0, 210.0))
                .with_context_setup(resnet_lab::ui::app::setup_fonts)
                .with_theme(if dark {
                    egui::Theme::Dark
                } else {
                    egui::Theme::Light
                })
                .wgpu()
                .build_ui(move |ui| resnet_lab::ui::diagrams::show(ui, d, 190.0));
            h.run();
            let img = h.render().expect("render");
            let theme = if dark { "dark" } else { "light" };
            img.save(std::path::Path::new(&dir).join(format!("diagram-{name}-{theme}.png")))
                .unwrap();
        }
    }
}

#[test]
#[ignore = "renders PNGs for a look by eye; needs SHOTS_DIR"]
fn plot_gallery() {
    let Ok(dir) = std::env::var("SHOTS_DIR") else {
        return;
    };
    let mut stopped = history(20, false, 30);
    stopped.status = resnet_lab::train::RunStatus::Stopped;
    stopped.total_steps = 260;
    let runs = vec![history(8, false, 40), stopped, history(20, true, 40)];
    let grid = resnet_lab::plot::charts::grad_heatmap(&runs[1], 120);
    let mut chart = resnet_lab::plot::charts::train_error(&runs);
    // A reference curve behind the live ones, as the lessons draw them.
    let reference = resnet_lab::plot::charts::train_error(&[history(20, false, 60)]);
    let mut r = reference.series[0].clone().reference();
    r.name = "plain-20 reference".into();
    chart.series.push(r);
    let mut h = Harness::builder()
        .with_size(egui::vec2(560.0, 560.0))
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .wgpu()
        .build_ui(move |ui| {
            resnet_lab::ui::plots::chart(ui, &chart, 220.0);
            resnet_lab::ui::plots::heatmap(ui, &grid, 140.0);
        });
    h.run_steps(4);
    h.render()
        .expect("render")
        .save(std::path::Path::new(&dir).join("plots-in-app.png"))
        .unwrap();
}

//! The app at 1024x700, the smallest window we support: every tab's controls must be on screen
//! (or reachable by scrolling their own scroll area), never cut off at the window's edge.
//!
//! `SHOTS_DIR=/some/dir cargo test --test ui_layout -- --ignored screenshots` also renders the
//! main screens with wgpu at 1024x700, 1280x800 and 1920x1080 at 200% for a look by eye.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data;
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::plot::charts::SweepPoint;
use resnet_lab::train::{Hyper, NetEntry, RunHistory, trainer};
use resnet_lab::ui::ResNetLabApp;
use resnet_lab::ui::app::Tab;
use resnet_lab::ui::train_view::PlotPage;

const SMALL: egui::Vec2 = egui::vec2(1024.0, 700.0);

fn harness(app: ResNetLabApp, size: egui::Vec2) -> Harness<'static, ResNetLabApp> {
    Harness::builder()
        .with_size(size)
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app)
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
    let runs = vec![
        history(8, false, 40),
        history(20, false, 40),
        history(20, true, 40),
    ];
    let sweep = vec![
        SweepPoint {
            residual: false,
            depth: 8,
            train_err: 0.61,
        },
        SweepPoint {
            residual: true,
            depth: 8,
            train_err: 0.80,
        },
    ];
    let shots: Vec<(&str, Tab, PlotPage, usize)> = vec![
        ("train-errors", Tab::Train, PlotPage::Errors, 0),
        ("train-gradients", Tab::Train, PlotPage::Gradients, 7),
        ("train-sweep", Tab::Train, PlotPage::Sweep, 6),
        ("data", Tab::Data, PlotPage::Errors, 1),
        ("build", Tab::Build, PlotPage::Errors, 3),
    ];
    for (size, scale, tag) in [
        (SMALL, 1.0, "1024x700"),
        (egui::vec2(1280.0, 800.0), 1.0, "1280x800"),
        (egui::vec2(1920.0, 1080.0), 2.0, "1920x1080@200"),
    ] {
        for (name, tab, page, lesson) in &shots {
            let mut app = small_app();
            app.train.session.restore(runs.clone(), sweep.clone());
            app.tab = *tab;
            app.train.page = *page;
            app.lessons.progress.current = *lesson;
            app.scale = scale;
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

#[test]
fn train_tab_fits_1024x700() {
    let mut app = small_app();
    app.train
        .session
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
    ] {
        on_screen(&h, label, SMALL);
    }
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

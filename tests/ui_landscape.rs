//! The Landscape tab with egui_kittest: choose the pair, compute, watch partial results, cancel,
//! turn the 3-D view, export; it fits at 1024x700; and its CSV equals the CLI's for the same
//! run folders and settings.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data::{self, Dataset};
use resnet_lab::landscape::{Settings, Status};
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::train::{Hyper, NetEntry, RunHistory, trainer};
use resnet_lab::ui::ResNetLabApp;
use resnet_lab::ui::landscape::Page;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

/// The landscape the tab shows.
fn lres(a: &ResNetLabApp) -> Option<&resnet_lab::landscape::Landscape> {
    a.landscape().result(&a.state)
}
const SMALL: egui::Vec2 = egui::vec2(1024.0, 700.0);

fn harness(app: ResNetLabApp) -> Harness<'static, ResNetLabApp> {
    common::harness(app, SMALL)
}

fn small_data() -> Dataset {
    data::builtin_sized(0, 200, 20).convert(12, 12, 1)
}

/// A short real run, kept in the session with its trained net as the Train view keeps it.
fn trained_run(residual: bool, ds: &Arc<Dataset>) -> (RunHistory, resnet_lab::nn::Model) {
    let spec = presets::cifar(8, residual, ShortcutOption::A, 4, 10).unwrap();
    let mut entry = NetEntry::new(spec);
    entry.label = format!("{}-8", if residual { "resnet" } else { "plain" });
    let hyper = Hyper {
        batch: 16,
        epochs: 100,
        max_steps: Some(8),
        threads: 1,
        ..Hyper::default()
    };
    let mut history = RunHistory::new(&entry, &hyper);
    let model = trainer::run(
        &entry,
        &hyper,
        ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| history.apply(&e),
    )
    .expect("a trained model");
    (history, model)
}

fn app_with_pair() -> ResNetLabApp {
    let ds = Arc::new(small_data());
    let mut app = ResNetLabApp::new_for_test().with_dataset(small_data());
    for residual in [false, true] {
        let (history, model) = trained_run(residual, &ds);
        let store = &mut app.state.scheduler.store;
        let id = store.add_history(history);
        let run = store.get_mut(id).expect("just added");
        run.model = Some(Arc::new(Mutex::new(model)));
        run.data = Some(ds.clone());
    }
    app
}

fn tiny(grid: usize, images: usize) -> Settings {
    Settings {
        grid,
        range: 0.5,
        images,
        batch: 20,
        line_points: 3,
        threads: 1,
        ..Settings::default()
    }
}

/// Runs frames until `done` holds (the worker runs in real time), at most `secs`.
fn wait(h: &mut Harness<'_, ResNetLabApp>, secs: u64, done: impl Fn(&ResNetLabApp) -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !done(h.state()) {
        assert!(Instant::now() < until, "timed out");
        std::thread::sleep(Duration::from_millis(20));
        h.run_steps(1);
    }
    h.run_steps(2);
}

fn on_screen(h: &Harness<'_, ResNetLabApp>, label: &str) {
    let r = h.get_by_label(label).rect();
    assert!(
        r.left() >= -0.5
            && r.right() <= SMALL.x + 0.5
            && r.top() >= -0.5
            && r.bottom() <= SMALL.y + 0.5,
        "{label:?} at {r:?} is cut off at 1024x700"
    );
}

#[test]
fn the_tab_computes_the_pair_and_draws_every_page_at_1024x700() {
    let mut h = harness(app_with_pair());
    h.run_steps(2);
    h.get_by_label("Landscape").click();
    h.run_steps(2);
    assert_eq!(h.state().tabs.open, "Landscape");
    // Defaults: the paper's picture (25x25 over [-1, 1]); the pickers found the pair.
    assert_eq!(h.state().landscape().settings.grid, 25);
    assert_eq!(h.state().landscape().settings.range, 1.0);
    let plain = h.state().landscape().plain;
    let residual = h.state().landscape().residual;
    assert!(plain.is_some() && residual.is_some() && plain != residual);
    for label in [
        "Plain net",
        "Residual net",
        "Run folder",
        "Open",
        "Grid",
        "Range ±",
        "Images",
        "Seed",
        "▶ Compute",
        "Contours",
        "3-D surface",
        "Curves",
        "Save PNG",
        "Save CSV",
    ] {
        on_screen(&h, label);
    }
    h.state_mut().landscape_mut().settings = tiny(5, 40);
    h.get_by_label("▶ Compute").click();
    h.run_steps(1);
    assert!(h.state().landscape().is_running(&h.state().state));
    wait(&mut h, 120, |a| lres(a).is_some_and(|l| l.status.is_done()));
    let l = lres(h.state()).expect("a landscape");
    assert!(
        matches!(l.status, Status::Finished { .. }),
        "{:?}",
        l.status
    );
    assert!(l.is_complete());
    let labels: Vec<(&str, bool)> = l
        .nets
        .iter()
        .map(|n| (n.label.as_str(), n.residual))
        .collect();
    assert_eq!(labels, [("plain-8", false), ("resnet-8", true)]);
    assert_eq!(l.images, 40);
    h.get_by_label("Contour plots");
    on_screen(&h, "Contour plots");
    // Figures are shown once the grid is complete.
    assert_eq!(
        h.query_all_by_label_contains("not locally convex").count(),
        2
    );

    h.get_by_label("3-D surface").click();
    h.run_steps(2);
    assert_eq!(h.state().landscape().page, Page::Surface);
    let before = h.state().landscape().view3;
    let c = h.get_by_label("3-D surfaces").rect().center();
    h.hover_at(c);
    h.run_steps(1);
    h.drag_at(c);
    h.run_steps(1);
    for i in 1..=5 {
        h.hover_at(c + egui::vec2(12.0 * i as f32, -6.0 * i as f32));
        h.run_steps(1);
    }
    h.drop_at(c + egui::vec2(60.0, -30.0));
    h.run_steps(1);
    let after = h.state().landscape().view3;
    assert_ne!(before.azimuth, after.azimuth, "dragging turns the view");
    assert_ne!(before.elevation, after.elevation);

    h.get_by_label("Curves").click();
    h.run_steps(2);
    assert_eq!(h.state().landscape().page, Page::Curves);
    h.get_by_label("Loss from initial to trained weights");
    h.get_by_label("Loss along direction 1 through the trained weights");
}

#[test]
fn cancel_stops_the_job_and_keeps_what_was_computed() {
    let mut app = app_with_pair();
    app.tabs.show("Landscape");
    app.landscape_mut().settings = Settings {
        line_points: 0,
        ..tiny(41, 200)
    };
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Compute").click();
    wait(&mut h, 60, |a| lres(a).is_some_and(|l| l.done >= 3));
    h.get_by_label("■ Cancel").click();
    wait(&mut h, 60, |a| !a.landscape().is_running(&a.state));
    let l = lres(h.state()).expect("a landscape");
    assert_eq!(l.status, Status::Cancelled);
    assert!(l.done >= 3 && l.done < l.total, "{} of {}", l.done, l.total);
    assert!(!l.is_complete());
    // Partial results are drawn, and no figure is concluded from them.
    h.get_by_label("Contour plots");
    assert!(h.query_by_label_contains("not locally convex").is_none());
    assert!(h.query_by_label_contains("Cancelled at").is_some());
    // A picker the learner set to "(none)" stays so (one net alone is allowed).
    h.state_mut().landscape_mut().residual = None;
    h.run_steps(3);
    assert_eq!(h.state().landscape().residual, None);
    assert!(h.state().landscape().plain.is_some());
    // Surfaces of a net no longer picked are not shown.
    assert!(
        lres(h.state()).is_none(),
        "the picker changed: the old surfaces go"
    );
    assert!(h.query_by_label_contains("Cancelled at").is_none());
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
fn the_tabs_csv_equals_the_clis_for_the_same_runs_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n);
    train_saved("plain", &p("plain"));
    train_saved("resnet", &p("resnet"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_resnet-lab"))
        .arg("landscape")
        .args([p("plain"), p("resnet")])
        .args(["--grid", "5", "--range", "0.8", "--images", "50"])
        .args(["--line-points", "3", "--seed", "4", "--threads", "1"])
        .args(["--width", "400", "--height", "300", "--out"])
        .arg(p("cli"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut app = ResNetLabApp::new_for_test().with_dataset(small_data());
    app.tabs.show("Landscape");
    app.state.export_dir = p("app").display().to_string();
    let mut h = harness(app);
    h.run_steps(2);
    for run in ["plain", "resnet"] {
        h.state_mut().landscape_mut().folder_path.clear();
        let field = h.get_by_label("Run folder");
        field.focus();
        field.type_text(&p(run).display().to_string());
        h.run_steps(1);
        h.get_by_label("Open").click();
        h.run_steps(1);
        wait(&mut h, 60, |a| !a.landscape().is_opening());
    }
    assert_eq!(h.state().landscape().folders.len(), 2);
    let s = &mut h.state_mut().landscape_mut().settings;
    (s.grid, s.range, s.images, s.line_points, s.seed, s.threads) = (5, 0.8, 50, 3, 4, 1);
    h.get_by_label("▶ Compute").click();
    wait(&mut h, 120, |a| lres(a).is_some_and(|l| l.status.is_done()));
    assert!(
        lres(h.state()).is_some_and(|l| l.is_complete()),
        "{:?}",
        lres(h.state()).map(|l| l.status.clone())
    );
    h.get_by_label("Save CSV").click();
    h.run_steps(1);
    wait(&mut h, 30, |a| !a.landscape().exporter.is_busy());
    assert!(
        h.state()
            .landscape()
            .exporter
            .notice_text()
            .unwrap()
            .starts_with("Saved")
    );
    for (app_file, cli_file) in [
        ("landscape-surface.csv", "surface.csv"),
        ("landscape-line.csv", "line.csv"),
    ] {
        let a = std::fs::read_to_string(p("app").join(app_file)).unwrap();
        let c = std::fs::read_to_string(p("cli").join(cli_file)).unwrap();
        assert_eq!(a.lines().count(), c.lines().count());
        assert_eq!(a, c, "{app_file} differs from the CLI's {cli_file}");
    }
    assert_eq!(
        std::fs::read_to_string(p("app").join("landscape-surface.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 2 * 25
    );
    // A picture at the size asked for.
    h.state_mut().landscape_mut().png_size = [640, 360];
    h.get_by_label("Save PNG").click();
    h.run_steps(1);
    wait(&mut h, 30, |a| !a.landscape().exporter.is_busy());
    let img = image::open(p("app").join("landscape-contours.png")).unwrap();
    assert_eq!((img.width(), img.height()), (640, 360));
}

#[test]
#[ignore = "renders PNGs for a look by eye; needs SHOTS_DIR"]
fn screenshots() {
    let Ok(dir) = std::env::var("SHOTS_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    for (size, tag) in [(SMALL, "1024x700"), (egui::vec2(1280.0, 800.0), "1280x800")] {
        let mut app = app_with_pair();
        app.tabs.show("Landscape");
        app.landscape_mut().settings = tiny(13, 60);
        let mut h = Harness::builder()
            .with_size(size)
            .with_context_setup(resnet_lab::ui::app::setup_fonts)
            .wgpu()
            .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app);
        h.run_steps(2);
        h.get_by_label("▶ Compute").click();
        wait(&mut h, 300, |a| lres(a).is_some_and(|l| l.status.is_done()));
        for page in [Page::Contours, Page::Surface, Page::Curves] {
            h.state_mut().landscape_mut().page = page;
            h.run_steps(4);
            let img = h.render().expect("render");
            img.save(dir.join(format!("landscape-{page:?}-{tag}.png")))
                .unwrap();
        }
    }
}

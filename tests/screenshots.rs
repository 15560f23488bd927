//! The README's lesson screenshots: lessons 2, 7 and 8 run through their real Try it (clicked
//! in the app, at the reference budget) and rendered off-screen with wgpu. Ignored by default
//! because they train for minutes:
//!
//! ```sh
//! cargo test --release --test screenshots -- --ignored --test-threads 1
//! ```
//!
//! The PNGs go to `assets/` (or `$SCREENSHOT_DIR`).
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data;
use resnet_lab::lessons::plan::Sizing;
use resnet_lab::ui::ResNetLabApp;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn shoot(lesson: usize, file: &str, done: impl Fn(&ResNetLabApp) -> bool) {
    let mut app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20));
    app.lessons.progress.current = lesson;
    let steps = app.lessons.lessons[lesson]
        .quick
        .as_ref()
        .map(|q| q.max_steps)
        .unwrap_or(100);
    app.sizing = Sizing::Steps(steps);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .wgpu()
        .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app);
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    let end = Instant::now() + Duration::from_secs(1200);
    while !done(h.state()) {
        assert!(Instant::now() < end, "lesson {} took too long", lesson + 1);
        h.step();
        std::thread::sleep(Duration::from_millis(50));
    }
    h.run_steps(3);
    let img = h.render().expect("a wgpu adapter (Mesa is enough)");
    let dir = std::env::var_os("SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"));
    let path = dir.join(file);
    img.save(&path).unwrap();
    eprintln!("wrote {}", path.display());
}

/// Lesson 2 part-way: the live curves with the complete reference runs ahead of them.
#[test]
#[ignore]
fn lesson_2_degradation() {
    shoot(1, "lesson-2-degradation.png", |a| {
        a.state
            .scheduler
            .runs()
            .iter()
            .any(|r| r.history.steps_done() * 5 >= r.history.total_steps.max(1) * 3)
    });
}

/// Lesson 7 when the sweep has finished.
#[test]
#[ignore]
fn lesson_7_error_vs_depth() {
    shoot(6, "lesson-7-error-vs-depth.png", |a| {
        a.state.scheduler.sweeping
            && !a.state.scheduler.is_running()
            && a.state.scheduler.sweep_points.len() == 8
    });
}

/// Lesson 8 part-way, on the gradients page.
#[test]
#[ignore]
fn lesson_8_gradient_flow() {
    shoot(7, "lesson-8-gradient-flow.png", |a| {
        a.state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.steps_done() * 2 >= r.history.total_steps.max(1))
    });
}

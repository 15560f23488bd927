//! Helpers the app-level kittests share (each test binary uses a different subset).
#![allow(dead_code)]
use egui_kittest::Harness;
use resnet_lab::ui::app::ResNetLabApp;
use std::time::{Duration, Instant};

/// The whole app in a kittest harness of `size` points, with the app's fonts.
pub fn harness(app: ResNetLabApp, size: egui::Vec2) -> Harness<'static, ResNetLabApp> {
    Harness::builder()
        .with_size(size)
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app)
}

/// Steps the UI until `done` holds (then once more, so the last change is drawn), failing
/// after `secs`.
pub fn step_until(
    h: &mut Harness<'_, ResNetLabApp>,
    secs: u64,
    what: &str,
    done: impl Fn(&ResNetLabApp) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done(h.state()) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

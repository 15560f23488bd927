//! Pixel snapshots rendered off-screen with wgpu (Mesa's GL or Vulkan drivers are enough; no
//! display). Update with `UPDATE_SNAPSHOTS=1 cargo test --test ui_snapshot`.
//!
//! The main screen is snapshotted as a learner first sees it (it changes with every visible
//! feature, so update it deliberately and look at the new PNG), plus a self-contained diagram.
use egui_kittest::Harness;
use resnet_lab::data;
use resnet_lab::lessons::Diagram;
use resnet_lab::ui::ResNetLabApp;

#[test]
fn main_screen() {
    let app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .wgpu()
        .build_ui_state(|ui, app: &mut ResNetLabApp| app.ui(ui), app);
    h.run_steps(4);
    h.snapshot("main_screen");
}

#[test]
fn residual_block_diagram() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(440.0, 220.0))
        .with_context_setup(resnet_lab::ui::app::setup_fonts)
        .wgpu()
        .build_ui(|ui| resnet_lab::ui::diagrams::show(ui, Diagram::ResidualBlock, 200.0));
    h.run();
    h.snapshot("residual_block_diagram");
}

//! Pixel snapshots rendered off-screen with wgpu (Mesa's GL or Vulkan drivers are enough; no
//! display). Update with `UPDATE_SNAPSHOTS=1 cargo test --test ui_snapshot`.
//!
//! Only self-contained drawings are snapshotted: the whole window changes with every feature,
//! and the kittest tests in `ui_app.rs` cover its behaviour.
use egui_kittest::Harness;
use resnet_lab::lessons::Diagram;

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

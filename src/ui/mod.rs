//! The desktop app: egui views over the `train`, `data`, `lessons` and `plot` modules.
//!
//! The workspace tabs are [`view::View`]s in one registry; the app's state (runs, data sets, the
//! lesson's Try it) lives apart from them in [`state::AppState`], and views ask for what happens
//! outside themselves through its command queue. Training, loading and file writes all run as
//! background tasks (`crate::task`) that report back and wake the UI.
pub mod app;
pub mod builder_view;
pub mod data_view;
pub mod diagrams;
pub mod dialog;
pub mod export;
pub mod inspect;
pub mod landscape;
pub mod lesson_view;
pub mod markdown;
pub mod plots;
pub mod run_files;
pub mod state;
pub mod train_view;
pub mod view;

pub use app::ResNetLabApp;

/// The app's one wake: a task that has something to report asks egui for a repaint of `ctx`.
pub fn repaint_wake(ctx: &egui::Context) -> crate::task::Wake {
    let c = ctx.clone();
    std::sync::Arc::new(move || c.request_repaint())
}

/// A line that is always there, with or without a notice in it: a transient notice ("Saved
/// ...", a builder hint) must never push what is below it down under the pointer. Long text is
/// cut to the line, whole on hover.
pub fn notice_line(ui: &mut egui::Ui, text: Option<egui::RichText>) {
    let t = text.unwrap_or_else(|| egui::RichText::new(" "));
    let full = t.text().to_string();
    let r = ui.add(egui::Label::new(t).truncate());
    if full.trim().len() > 1 {
        r.on_hover_text(full);
    }
}

/// Opens the app window; `quit_after` closes it after that many seconds (smoke tests).
#[cfg(not(target_arch = "wasm32"))]
pub fn run_native(quit_after: Option<f64>) -> Result<(), String> {
    // RESNET_LAB_WINDOW=1024x700 opens the window at that size (screenshots of small screens).
    let size = std::env::var("RESNET_LAB_WINDOW")
        .ok()
        .and_then(|s| {
            let (w, h) = s.split_once('x')?;
            Some([w.trim().parse::<f32>().ok()?, h.trim().parse::<f32>().ok()?])
        })
        .filter(|[w, h]| (320.0..=8192.0).contains(w) && (240.0..=8192.0).contains(h))
        .unwrap_or([1280.0, 800.0]);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ResNet Lab")
            .with_inner_size(size)
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        "ResNet Lab",
        options,
        Box::new(move |cc| Ok(Box::new(ResNetLabApp::new(cc, quit_after)))),
    )
    .map_err(|e| format!("could not open the window: {e}"))
}
pub mod frame_stats;

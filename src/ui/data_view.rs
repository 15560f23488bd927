//! The Data view: choose a data set, load it on a worker, and see what it holds.
use super::state::AppState;
use super::view::View;
use crate::data::{
    self, ColorMode, DataError, Dataset, Format, LoadOptions, Progress, Source, SplitKind, Summary,
    Thumbnail,
};
use crate::task::{Slot, Task};
use crate::train::DataInfo;
use egui::{RichText, TextureHandle, TextureOptions, Ui};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The learner's choices in the form (persisted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataForm {
    pub path: String,
    pub format: Option<Format>,
    pub resize: bool,
    pub height: usize,
    pub width: usize,
    pub color: ColorMode,
    pub test_fraction: f32,
    pub cap: bool,
    pub max_per_class: usize,
}

impl Default for DataForm {
    fn default() -> Self {
        Self {
            path: String::new(),
            format: None,
            resize: false,
            height: 32,
            width: 32,
            color: ColorMode::Auto,
            test_fraction: 0.2,
            cap: false,
            max_per_class: 500,
        }
    }
}

impl DataForm {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            format: self.format,
            size: self.resize.then_some((self.height, self.width)),
            color: self.color,
            test_fraction: self.test_fraction,
            seed: 0,
            max_per_class: self.cap.then_some(self.max_per_class),
        }
    }
}

struct Loading {
    source: Source,
    options: LoadOptions,
    progress: Arc<Progress>,
    job: Task<Result<Dataset, DataError>>,
}

/// A loaded data set with what the view shows about it.
pub struct Loaded {
    pub source: Source,
    /// How it was loaded (size, colour, split, cap), recorded with every run trained on it.
    pub options: LoadOptions,
    pub dataset: Arc<Dataset>,
    pub summary: Summary,
    thumbs: Vec<Thumbnail>,
    textures: Vec<TextureHandle>,
}

#[derive(Default)]
pub struct DataView {
    pub form: DataForm,
    loading: Option<Loading>,
    browsing: Slot<Option<PathBuf>>,
    pub loaded: Option<Loaded>,
    pub message: Option<String>,
    /// The start-up load is done: later loads are the learner's choice.
    pub first_load_done: bool,
    /// The load under way reopens the last session's data set: if it fails, say so and load
    /// the built-in set instead.
    pub fall_back_to_builtin: bool,
    /// That fallback is due.
    reload_builtin: bool,
    /// A browser reading dropped files' bytes (asynchronously) before they can load.
    #[cfg(target_arch = "wasm32")]
    reading: Option<std::sync::mpsc::Receiver<crate::web::files::Dropped>>,
}

impl DataView {
    pub fn new(form: DataForm) -> Self {
        Self {
            form,
            ..Default::default()
        }
    }

    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Starts loading `source` on a worker thread.
    pub fn start_load(&mut self, source: Source, opts: LoadOptions, ctx: &egui::Context) {
        let s = source.clone();
        self.begin_loading("load data", source, opts, ctx, move |o, p| {
            data::load(&s, o, p)
        });
    }

    /// Cancels the load under way and starts `load` (given the options and the progress) as
    /// the one that fills the Data tab.
    fn begin_loading(
        &mut self,
        what: &str,
        source: Source,
        opts: LoadOptions,
        ctx: &egui::Context,
        load: impl FnOnce(&LoadOptions, &Progress) -> Result<Dataset, DataError> + Send + 'static,
    ) {
        if let Some(l) = &self.loading {
            l.progress.cancel();
        }
        let progress = Arc::new(Progress::default());
        let (p, o) = (progress.clone(), opts.clone());
        let job = Task::run(what, super::repaint_wake(ctx), move || Ok(load(&o, &p)));
        self.message = None;
        self.loading = Some(Loading {
            source,
            options: opts,
            progress,
            job,
        });
    }

    /// Starts loading a data set from files dropped on the window or the page. On the
    /// desktop a dropped folder or data file loads as if its path were typed, and a .zip
    /// through `data::memory`; in a browser every file's bytes are read first (`crate::web`).
    pub fn start_drop(&mut self, files: Vec<egui::DroppedFileHandle>, ctx: &egui::Context) {
        #[cfg(target_arch = "wasm32")]
        {
            self.message = Some("Reading the dropped files…".into());
            self.reading = Some(crate::web::files::read_dropped(
                files,
                super::repaint_wake(ctx),
            ));
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let Some(first) = files.first() else { return };
            let path = first.path().to_path_buf();
            let zip = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
            if !zip {
                self.form.path = path.display().to_string();
                let opts = self.form.options();
                return self.start_load(Source::Path(path), opts, ctx);
            }
            let named: Result<Vec<(String, Vec<u8>)>, String> = files
                .iter()
                .map(|f| {
                    let name = f
                        .path()
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                    Ok((name.unwrap_or_default(), f.bytes()?))
                })
                .collect();
            self.start_bytes(named, ctx);
        }
    }

    /// Loads a data set from files' names and bytes (a drop), or says why they could not be
    /// read.
    pub fn start_bytes(
        &mut self,
        files: Result<Vec<(String, Vec<u8>)>, String>,
        ctx: &egui::Context,
    ) {
        let named = match files {
            Ok(n) if !n.is_empty() => n,
            Ok(_) => {
                self.message = Some(
                    "The drop held no files: drop a .zip of the folder instead of the folder."
                        .into(),
                );
                return;
            }
            Err(e) => {
                self.message = Some(format!("Could not read the dropped files: {e}"));
                return;
            }
        };
        let opts = self.form.options();
        let source = Source::Path(PathBuf::from(&named[0].0));
        self.begin_loading("load the dropped files", source, opts, ctx, move |o, p| {
            data::memory::load_files(named, o, p)
        });
    }

    /// Uses a data set that is already in memory (tests, reopened experiments).
    pub fn set_dataset(&mut self, source: Source, ds: Arc<Dataset>) {
        self.set_loaded(source, LoadOptions::default(), ds);
    }

    fn set_loaded(&mut self, source: Source, options: LoadOptions, ds: Arc<Dataset>) {
        let thumbs = ds.sample_thumbnails(SplitKind::Train, 4);
        self.loaded = Some(Loaded {
            source,
            options,
            summary: ds.summary(),
            dataset: ds,
            thumbs,
            textures: Vec::new(),
        });
    }

    /// Collects finished loads and dialog answers. Returns a newly loaded data set.
    pub fn poll(&mut self) -> Option<Arc<Dataset>> {
        if let Some(answer) = self.browsing.poll() {
            match answer.ok().flatten() {
                Some(p) => self.form.path = p.display().to_string(),
                None => self.message = Some("No folder was chosen: the dialog was cancelled or could not open here. Type the path instead.".into()),
            }
        }
        let result = self.loading.as_mut().and_then(|l| l.job.poll())?;
        let loading = self.loading.take()?;
        let fall_back = std::mem::take(&mut self.fall_back_to_builtin);
        let failed = match result {
            Ok(Ok(ds)) => {
                let ds = Arc::new(ds);
                self.set_loaded(loading.source, loading.options, ds.clone());
                return Some(ds);
            }
            Ok(Err(DataError::Cancelled)) => {
                self.message = Some("Loading was cancelled.".into());
                return None;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) => e,
        };
        self.message = Some(if fall_back {
            self.reload_builtin = true;
            format!(
                "The data set of your last session, {}, could not be loaded again ({failed}); the built-in shapes are loaded instead.",
                loading.source
            )
        } else {
            format!("Could not load the data set: {failed}")
        });
        None
    }

    fn browse(&mut self, ctx: &egui::Context) {
        self.browsing
            .start("folder dialog", super::repaint_wake(ctx), || {
                Ok(super::dialog::pick_folder("Choose a data set folder"))
            });
    }

    fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        ui.heading("Data");
        ui.label("The data set both nets train on. The built-in shapes load at start; load your own below.");
        ui.label("Or drop files anywhere on the window: a .zip of an image folder (one folder per class), MNIST-style IDX files, or CIFAR .bin batches.");
        ui.add_space(4.0);
        egui::Grid::new("data-form").num_columns(2).spacing([12.0, 6.0]).show(ui, |ui| {
            let label = ui.label("Path");
            ui.horizontal(|ui| {
                ui.add(egui::TextEdit::singleline(&mut self.form.path).hint_text("folder or file of images").desired_width(320.0))
                    .labelled_by(label.id)
                    .on_hover_text("An image folder (one sub-folder per class), MNIST IDX files, or CIFAR binary batches");
                if ui.add_enabled(!self.browsing.is_busy(), egui::Button::new("Browse...")).clicked() {
                    self.browse(&ctx);
                }
            });
            ui.end_row();
            let l = ui.label("Format");
            egui::ComboBox::from_id_salt("format")
                .selected_text(self.form.format.map(|f| f.to_string()).unwrap_or_else(|| "auto".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.form.format, None, "auto");
                    for f in [Format::ImageFolder, Format::Idx, Format::Cifar] {
                        ui.selectable_value(&mut self.form.format, Some(f), f.to_string());
                    }
                })
                .response
                .labelled_by(l.id);
            ui.end_row();
            let l = ui.label("Size");
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.form.resize, "resize to").on_hover_text("Off: keep the data set's own size when it is at most 64x64 (else, or if sizes differ, 32x32)");
                ui.add_enabled(self.form.resize, egui::DragValue::new(&mut self.form.width).range(4..=256).suffix(" w")).labelled_by(l.id);
                ui.add_enabled(self.form.resize, egui::DragValue::new(&mut self.form.height).range(4..=256).suffix(" h")).labelled_by(l.id);
            });
            ui.end_row();
            ui.label("Colour");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.form.color, ColorMode::Auto, "auto");
                ui.selectable_value(&mut self.form.color, ColorMode::Gray, "grayscale");
                ui.selectable_value(&mut self.form.color, ColorMode::Rgb, "RGB");
            });
            ui.end_row();
            let l = ui.label("Test fraction");
            ui.add(egui::Slider::new(&mut self.form.test_fraction, 0.0..=0.9))
                .labelled_by(l.id)
                .on_hover_text("Share of each class held out for testing when the data has no test split");
            ui.end_row();
            let l = ui.label("Max per class");
            ui.horizontal(|ui| {
                ui.checkbox(&mut self.form.cap, "cap at");
                ui.add_enabled(self.form.cap, egui::DragValue::new(&mut self.form.max_per_class).range(1..=100_000)).labelled_by(l.id);
            });
            ui.end_row();
        });
        ui.horizontal(|ui| {
            let busy = self.loading.is_some();
            if ui.add_enabled(!busy, egui::Button::new("Load")).clicked() {
                let path = self.form.path.trim().to_string();
                if path.is_empty() {
                    self.message = Some("Type a path first (or use the built-in shapes).".into());
                } else {
                    self.start_load(Source::Path(PathBuf::from(path)), self.form.options(), &ctx);
                }
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Use built-in shapes"))
                .clicked()
            {
                let opts = LoadOptions {
                    max_per_class: self.form.options().max_per_class,
                    ..Default::default()
                };
                self.start_load(Source::Builtin, opts, &ctx);
            }
        });
        if let Some(l) = &self.loading {
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(l.progress.fraction())
                        .show_percentage()
                        .desired_width(300.0),
                );
                ui.label(format!("Loading {}", l.source));
                if ui.button("Cancel").clicked() {
                    l.progress.cancel();
                }
            });
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().warn_fg_color, m);
        }
        ui.separator();
        let Some(loaded) = &mut self.loaded else {
            ui.label("No data set loaded yet.");
            return;
        };
        summary_ui(ui, loaded);
    }
}

fn summary_ui(ui: &mut Ui, loaded: &mut Loaded) {
    let s = &loaded.summary;
    ui.label(RichText::new(format!("{} ({})", s.name, loaded.source)).strong());
    ui.label(format!(
        "{}x{} pixels, {} channel{}; {} training and {} test images; {} classes",
        s.width,
        s.height,
        s.channels,
        if s.channels == 1 { "" } else { "s" },
        s.train_len,
        s.test_len,
        s.classes.len()
    ));
    for w in &s.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {w}"));
    }
    ui.columns(2, |cols| {
        egui::ScrollArea::vertical()
            .id_salt("classes")
            .max_height(260.0)
            .show(&mut cols[0], |ui| {
                egui::Grid::new("class-counts")
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("class");
                        ui.strong("train");
                        ui.strong("test");
                        ui.end_row();
                        for (i, c) in s.classes.iter().enumerate() {
                            ui.label(c);
                            ui.label(s.train_counts.get(i).copied().unwrap_or(0).to_string());
                            ui.label(s.test_counts.get(i).copied().unwrap_or(0).to_string());
                            ui.end_row();
                        }
                    });
            });
        let ui = &mut cols[1];
        if loaded.textures.is_empty() && !loaded.thumbs.is_empty() {
            loaded.textures = loaded
                .thumbs
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let img =
                        egui::ColorImage::from_rgba_unmultiplied([t.width, t.height], &t.rgba);
                    ui.ctx()
                        .load_texture(format!("thumb-{i}"), img, TextureOptions::NEAREST)
                })
                .collect();
        }
        ui.label("Samples");
        egui::ScrollArea::vertical()
            .id_salt("thumbs")
            .max_height(260.0)
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    for (t, tex) in loaded.thumbs.iter().zip(&loaded.textures) {
                        ui.add(egui::Image::new((tex.id(), egui::vec2(48.0, 48.0))))
                            .on_hover_text(&t.label);
                    }
                });
            });
    });
}

impl View for DataView {
    fn id(&self) -> &'static str {
        "Data"
    }

    fn title(&self) -> &'static str {
        "Data"
    }

    fn hover(&self) -> &'static str {
        "The data set the nets train on: the built-in shapes, or your own images"
    }

    fn ui(&mut self, ui: &mut Ui, _state: &mut AppState) {
        self.frame(ui);
    }

    /// A data set that finished loading becomes the one runs train on; once the learner loads
    /// one, a lesson's data set gives way to it.
    fn poll(&mut self, state: &mut AppState, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if !dropped.is_empty() {
            self.start_drop(dropped, ctx);
        }
        #[cfg(target_arch = "wasm32")]
        if let Some(files) = self.reading.as_ref().and_then(|r| r.try_recv().ok()) {
            self.reading = None;
            self.start_bytes(files, ctx);
        }
        let loaded = DataView::poll(self);
        if std::mem::take(&mut self.reload_builtin) {
            let why = self.message.take();
            self.start_load(Source::Builtin, LoadOptions::default(), ctx);
            self.message = why;
        }
        let Some(ds) = loaded else {
            return;
        };
        let (source, options) = self
            .loaded
            .as_ref()
            .map(|l| (l.source.clone(), l.options.clone()))
            .unwrap_or((Source::Builtin, LoadOptions::default()));
        state.data_info = Some(DataInfo::new(source, options, &ds));
        state.dataset = Some(ds);
        if self.first_load_done {
            state.set_lesson_data(None);
        }
        self.first_load_done = true;
    }

    crate::view_any!();
}

//! The app shell: top bar, lesson panel, workspace tabs, persistence and routing between views.
use super::builder_view::{BuilderAction, BuilderSaved, BuilderView};
use super::data_view::{DataForm, DataView};
use super::inspect::{InspectPage, InspectView};
use super::lesson_view::{LessonAction, LessonProgress, LessonView};
use super::session::{NetChoice, TrainConfig};
use super::train_view::{PlotPage, TrainView};
use crate::builder::ExerciseId;
use crate::data::{Dataset, LoadOptions, Source};
use crate::lessons::{BuildExercise, TryAction};
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Train,
    Data,
    Build,
    Inspect,
}

/// Everything that survives a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub lessons: LessonProgress,
    pub config: TrainConfig,
    pub data_form: DataForm,
    pub tab: Tab,
    pub plot_page: PlotPage,
    pub dark: bool,
    pub scale: f32,
    pub lesson_panel_open: bool,
    pub export_dir: String,
    pub experiment_path: String,
    pub builder: BuilderSaved,
    pub inspect_page: InspectPage,
}

impl Default for Persisted {
    fn default() -> Self {
        Self {
            lessons: LessonProgress::default(),
            config: TrainConfig::default(),
            data_form: DataForm::default(),
            tab: Tab::Train,
            plot_page: PlotPage::Errors,
            dark: true,
            scale: 1.0,
            lesson_panel_open: true,
            export_dir: String::new(),
            experiment_path: "experiment.json".into(),
            builder: BuilderSaved::default(),
            inspect_page: InspectPage::default(),
        }
    }
}

/// Adds egui's bundled Hack face as a fallback for body text: lessons use arrows and maths
/// symbols (→ ≤ ∂ Σ) that the default Ubuntu face lacks.
pub fn setup_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(list) = fonts.families.get_mut(&egui::FontFamily::Proportional)
        && !list.iter().any(|f| f == "Hack")
    {
        list.insert(1.min(list.len()), "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

pub const SCALES: [f32; 5] = [0.8, 1.0, 1.25, 1.5, 2.0];

pub struct ResNetLabApp {
    pub lessons: LessonView,
    pub train: TrainView,
    pub data: DataView,
    pub builder: BuilderView,
    pub inspect: InspectView,
    pub tab: Tab,
    pub dark: bool,
    pub scale: f32,
    pub lesson_panel_open: bool,
    /// The data set the Train view uses.
    pub dataset: Option<Arc<Dataset>>,
    pending_builtin: bool,
    applied_style: Option<(bool, f32)>,
    quit_at: Option<Instant>,
    frames: super::frame_stats::FrameStats,
}

impl ResNetLabApp {
    fn from_persisted(p: Persisted) -> Self {
        let mut train = TrainView::new(p.config);
        train.page = p.plot_page;
        train.exporter.dir = p.export_dir;
        train.experiment_path = p.experiment_path;
        Self {
            lessons: LessonView::new(p.lessons),
            train,
            data: DataView::new(p.data_form),
            builder: BuilderView::from_saved(p.builder),
            inspect: InspectView::new(p.inspect_page),
            tab: p.tab,
            dark: p.dark,
            scale: if SCALES.contains(&p.scale) {
                p.scale
            } else {
                1.0
            },
            lesson_panel_open: p.lesson_panel_open,
            dataset: None,
            pending_builtin: false,
            applied_style: None,
            quit_at: None,
            frames: super::frame_stats::FrameStats::from_env(),
        }
    }

    /// The real app: restores the last session and loads the built-in data set in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, quit_after: Option<f64>) -> Self {
        let p: Persisted = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        setup_fonts(&cc.egui_ctx);
        let mut app = Self::from_persisted(p);
        app.pending_builtin = true;
        app.quit_at = quit_after
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Instant::now() + Duration::from_secs_f64(s));
        app
    }

    /// Default state, no storage, no background load: tests inject their own data set.
    pub fn new_for_test() -> Self {
        Self::from_persisted(Persisted::default())
    }

    /// Uses `ds` as the current data set at once (tests, small demos).
    pub fn with_dataset(mut self, ds: Dataset) -> Self {
        let ds = Arc::new(ds);
        self.data.set_dataset(Source::Builtin, ds.clone());
        self.dataset = Some(ds);
        self.pending_builtin = false;
        self
    }

    pub fn persisted(&self) -> Persisted {
        Persisted {
            lessons: self.lessons.progress.clone(),
            config: self.train.config.clone(),
            data_form: self.data.form.clone(),
            tab: self.tab,
            plot_page: self.train.page,
            dark: self.dark,
            scale: self.scale,
            lesson_panel_open: self.lesson_panel_open,
            export_dir: self.train.exporter.dir.clone(),
            experiment_path: self.train.experiment_path.clone(),
            builder: self.builder.saved(),
            inspect_page: self.inspect.page,
        }
    }

    fn apply_try(&mut self, action: TryAction) {
        let width = self
            .train
            .config
            .nets
            .first()
            .map(|n| n.width)
            .unwrap_or(16);
        match action {
            TryAction::Train(nets) => {
                self.train.config.nets = nets
                    .iter()
                    .map(|n| NetChoice {
                        residual: n.residual,
                        depth: n.depth,
                        zero_init: n.zero_init,
                        scale: n.scale,
                        width,
                        ..NetChoice::default()
                    })
                    .collect();
                self.train.page = PlotPage::Errors;
                self.train.session.message = Some("Set up by the lesson: press ▶ Start.".into());
                self.tab = Tab::Train;
            }
            TryAction::Sweep(depths) => {
                self.train.config.sweep_depths = depths;
                self.train.page = PlotPage::Sweep;
                self.train.session.message =
                    Some("Sweep set up by the lesson: press Run sweep.".into());
                self.tab = Tab::Train;
            }
            TryAction::Build(ex) => {
                self.builder.open_exercise(match ex {
                    BuildExercise::Identity => ExerciseId::Identity,
                    BuildExercise::Conv => ExerciseId::Conv,
                    BuildExercise::Bottleneck => ExerciseId::Bottleneck,
                });
                self.tab = Tab::Build;
            }
        }
    }

    fn on_builder(&mut self, action: BuilderAction) {
        match action {
            BuilderAction::Train(spec) => {
                let name = if spec.name.is_empty() {
                    "built net".to_string()
                } else {
                    spec.name.clone()
                };
                let plain = crate::nn::presets::plain_twin(&spec);
                // The built net and its plain twin, so the skip connections' effect shows at once.
                let mut nets = vec![NetChoice {
                    custom: Some(spec),
                    ..NetChoice::default()
                }];
                if plain.layers
                    != nets[0]
                        .custom
                        .as_ref()
                        .map(|s| s.layers.clone())
                        .unwrap_or_default()
                {
                    nets.insert(
                        0,
                        NetChoice {
                            custom: Some(plain),
                            ..NetChoice::default()
                        },
                    );
                }
                self.train.config.nets = nets;
                self.train.page = PlotPage::Errors;
                self.train.session.message = Some(format!(
                    "{name} (and its plain twin) came from the Build tab: press ▶ Start."
                ));
                self.tab = Tab::Train;
            }
            BuilderAction::ExercisePassed(id) => {
                let key = format!("exercise-{}", id.key());
                self.lessons.mark_check_done(&key);
            }
        }
    }

    fn apply_style(&mut self, ctx: &egui::Context) {
        if self.applied_style != Some((self.dark, self.scale)) {
            ctx.set_theme(if self.dark {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
            ctx.set_zoom_factor(self.scale);
            self.applied_style = Some((self.dark, self.scale));
        }
    }

    /// One frame of the whole app.
    pub fn ui(&mut self, ui: &mut Ui) {
        let training = self.train.session.is_running();
        let started = self.frames.start(training);
        self.frame(ui);
        self.frames.end(started, training);
    }

    fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.apply_style(&ctx);
        if self.pending_builtin {
            self.pending_builtin = false;
            let opts = LoadOptions {
                max_per_class: self.data.form.options().max_per_class,
                ..Default::default()
            };
            self.data.start_load(Source::Builtin, opts, &ctx);
        }
        if let Some(ds) = self.data.poll() {
            self.dataset = Some(ds);
        }
        self.train.poll(&ctx, self.dataset.as_ref());
        if let Some(source) = self.train.wants_source.take() {
            // A reopened experiment brings its data source back unless it is already loaded.
            let current = self.data.loaded.as_ref().map(|l| &l.source);
            if current != Some(&source) {
                if let Source::Path(p) = &source {
                    self.data.form.path = p.display().to_string();
                }
                self.data.start_load(source, self.data.form.options(), &ctx);
            }
        }
        self.lessons.keyboard(&ctx);
        if let Some(t) = self.quit_at {
            let now = Instant::now();
            if now >= t {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ctx.request_repaint_after(t - now);
            }
        }
        if self.train.session.is_running() {
            // ETAs tick even between worker events.
            ctx.request_repaint_after(Duration::from_millis(500));
        }

        egui::Panel::top("top-bar").show(ui, |ui| self.top_bar(ui));
        let runs = self.train.session.histories();
        let sweep = self.train.session.sweep_points.clone();
        let mut action = None;
        // The lesson panel takes about a third of the window, never so much that the workspace
        // beside it gets cramped on a small screen (1024 wide) after a resize.
        let width = ui.available_width();
        egui::Panel::left("lesson-panel")
            .resizable(true)
            .default_size((width * 0.32).clamp(260.0, 420.0))
            .min_size(240.0)
            .max_size((width * 0.45).max(260.0))
            .show_collapsible(ui, &mut self.lesson_panel_open, |ui| {
                action = self.lessons.ui(ui, &runs, &sweep);
            });
        if let Some(LessonAction::Try(t)) = action {
            self.apply_try(t);
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(&mut self.tab, Tab::Train, RichText::new("Train").size(16.0));
                ui.selectable_value(&mut self.tab, Tab::Data, RichText::new("Data").size(16.0));
                ui.selectable_value(&mut self.tab, Tab::Build, RichText::new("Build").size(16.0));
                ui.selectable_value(
                    &mut self.tab,
                    Tab::Inspect,
                    RichText::new("Inspect").size(16.0),
                )
                .on_hover_text(
                    "Look inside trained nets: predictions, confusion, feature maps, filters",
                );
            });
            ui.separator();
            match self.tab {
                Tab::Train => {
                    let source = self.data.loaded.as_ref().map(|l| l.source.clone());
                    self.train.ui(ui, self.dataset.as_ref(), source.as_ref());
                }
                Tab::Data => self.data.ui(ui),
                Tab::Build => {
                    if let Some(a) = self.builder.ui(ui) {
                        self.on_builder(a);
                    }
                }
                Tab::Inspect => self
                    .inspect
                    .ui(ui, &self.train.session, &self.train.exporter.dir),
            }
        });
    }

    fn top_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("ResNet Lab").strong().size(17.0));
            ui.separator();
            if ui
                .selectable_label(self.lesson_panel_open, "📖 Lessons")
                .on_hover_text("Show or hide the lesson panel")
                .clicked()
            {
                self.lesson_panel_open = !self.lesson_panel_open;
            }
            let n = self.lessons.lessons.len().max(1);
            let done = self.lessons.progress.done.len();
            ui.add(
                egui::ProgressBar::new(done as f32 / n as f32)
                    .desired_width(180.0)
                    .text(format!(
                        "lesson {} of {n} · {done} done",
                        self.lessons.progress.current + 1
                    )),
            );
            ui.separator();
            self.train.run_controls(ui, self.dataset.as_ref());
            if self.dataset.is_none() {
                ui.spinner();
                ui.weak("loading data");
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let scale_combo = egui::ComboBox::from_id_salt("ui-scale")
                    .selected_text(format!("{:.0}%", self.scale * 100.0))
                    .width(70.0)
                    .show_ui(ui, |ui| {
                        for s in SCALES {
                            ui.selectable_value(&mut self.scale, s, format!("{:.0}%", s * 100.0));
                        }
                    })
                    .response
                    .on_hover_text("UI scale");
                let l = ui.label("Scale");
                scale_combo.labelled_by(l.id);
                let theme = if self.dark { "☀ Light" } else { "🌙 Dark" };
                if ui
                    .button(theme)
                    .on_hover_text("Switch between light and dark theme")
                    .clicked()
                {
                    self.dark = !self.dark;
                }
            });
        });
    }
}

impl eframe::App for ResNetLabApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        ResNetLabApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted());
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(s) = self.frames.summary() {
            eprintln!("{s}");
            for h in self.train.session.histories() {
                eprintln!(
                    "  run {}: {} steps, {:.0} img/s, {}",
                    h.label,
                    h.steps_done(),
                    h.img_per_sec,
                    h.status.describe()
                );
            }
        }
        self.train.session.stop();
    }
}

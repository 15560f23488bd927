//! The app shell: top bar, lesson panel, workspace tabs, persistence and routing between views.
use super::builder_view::{BuilderAction, BuilderSaved, BuilderView};
use super::data_view::{DataForm, DataView};
use super::inspect::{InspectPage, InspectView};
use super::landscape::LandscapeView;
use super::lesson_view::{LessonAction, LessonProgress, LessonView, TryState};
use super::session::{DataRef, NetChoice, TrainConfig};
use super::train_view::{PlotPage, TrainView};
use super::try_it::{self, Snapshot, TryIt};
use crate::builder::ExerciseId;
use crate::data::{Dataset, LoadOptions, Source};
use crate::lessons::plan::{Prepared, Size};
use crate::lessons::{BuildExercise, Check, TryAction};
use crate::train::DataInfo;
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The data the Train view trains on: a lesson's Try it data while it is set, else the Data tab's.
/// (A macro, not a method: the result borrows two fields while `app.train` is borrowed mutably.)
macro_rules! train_ref {
    ($app:expr) => {
        match (&$app.lesson_data, &$app.lesson_info) {
            (Some(set), Some(info)) => Some(DataRef { set, info }),
            _ => $app
                .dataset
                .as_ref()
                .zip($app.data_info.as_ref())
                .map(|(set, info)| DataRef { set, info }),
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Tab {
    #[default]
    Train,
    Data,
    Build,
    Inspect,
    Landscape,
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
    /// The folder field of Save runs / Open run.
    pub run_path: String,
    /// The runs on screen when the app closed: their folders (the app's own copies under its
    /// data folder, or where they were saved to or opened from), reopened at the next start.
    pub runs: Vec<PathBuf>,
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
            run_path: String::new(),
            runs: Vec::new(),
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
    pub landscape: LandscapeView,
    pub tab: Tab,
    pub dark: bool,
    pub scale: f32,
    pub lesson_panel_open: bool,
    /// The data set of the Data tab, and what runs record about it.
    pub dataset: Option<Arc<Dataset>>,
    pub data_info: Option<DataInfo>,
    /// The data set a lesson's Try it trains on (the built-in shapes at the lesson's size);
    /// while set, the Train view uses it instead of the Data tab's.
    pub lesson_data: Option<Arc<Dataset>>,
    pub lesson_info: Option<DataInfo>,
    pub try_it: TryIt,
    pending_builtin: bool,
    /// The start-up load of the built-in set is done: later loads are the learner's choice.
    initial_load_done: bool,
    /// Run folders to reopen on the first frame (the last session's runs).
    pending_runs: Option<Vec<PathBuf>>,
    applied_style: Option<(bool, f32)>,
    quit_at: Option<Instant>,
    frames: super::frame_stats::FrameStats,
}

impl ResNetLabApp {
    fn from_persisted(p: Persisted, data_dir: Option<PathBuf>) -> Self {
        let mut train = TrainView::new(p.config);
        train.page = p.plot_page;
        train.exporter.dir = p.export_dir;
        train.experiment_path = p.experiment_path;
        train.files.path = p.run_path;
        train.files.data_dir = data_dir;
        Self {
            lessons: LessonView::new(p.lessons),
            train,
            data: DataView::new(p.data_form),
            builder: BuilderView::from_saved(p.builder),
            inspect: InspectView::new(p.inspect_page),
            landscape: LandscapeView::default(),
            tab: p.tab,
            dark: p.dark,
            scale: if SCALES.contains(&p.scale) {
                p.scale
            } else {
                1.0
            },
            lesson_panel_open: p.lesson_panel_open,
            dataset: None,
            data_info: None,
            lesson_data: None,
            lesson_info: None,
            try_it: TryIt::default(),
            pending_builtin: false,
            initial_load_done: false,
            pending_runs: Some(p.runs),
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
        let data_dir = eframe::storage_dir("ResNet Lab").map(|d| d.join("runs"));
        let mut app = Self::from_persisted(p, data_dir);
        app.pending_builtin = true;
        app.quit_at = quit_after
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Instant::now() + Duration::from_secs_f64(s));
        app
    }

    /// Default state, no storage, no background load: tests inject their own data set.
    pub fn new_for_test() -> Self {
        Self::from_persisted(Persisted::default(), None)
    }

    /// A restart in a test: the persisted state, and `data_dir` for the app's own copies of
    /// finished runs (`None` keeps none).
    pub fn new_for_test_with(p: Persisted, data_dir: Option<PathBuf>) -> Self {
        Self::from_persisted(p, data_dir)
    }

    /// Uses `ds` as the current data set at once (tests, small demos).
    pub fn with_dataset(mut self, ds: Dataset) -> Self {
        let ds = Arc::new(ds);
        self.data.set_dataset(Source::Builtin, ds.clone());
        self.data_info = Some(DataInfo::new(Source::Builtin, LoadOptions::default(), &ds));
        self.dataset = Some(ds);
        self.pending_builtin = false;
        self.initial_load_done = true;
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
            run_path: self.train.files.path.clone(),
            runs: self
                .train
                .session
                .runs()
                .iter()
                .filter(|r| !r.is_live())
                .filter_map(|r| r.dir.clone())
                .collect(),
            inspect_page: self.inspect.page,
        }
    }

    /// Sets (or clears) the data set a lesson's Try it trains on, with what its runs record.
    fn set_lesson_data(&mut self, data: Option<Arc<Dataset>>, load: LoadOptions) {
        self.lesson_info = data
            .as_ref()
            .map(|ds| DataInfo::new(Source::Builtin, load, ds));
        self.lesson_data = data;
    }

    fn apply_try(&mut self, idx: usize, action: TryAction, ctx: &egui::Context) {
        match action {
            TryAction::Train(_) | TryAction::Sweep(_) => {
                self.cancel_lesson_landscape();
                let Some(lesson) = self.lessons.lessons.get(idx).cloned() else {
                    return;
                };
                let size = if self.lessons.progress.full_size {
                    Size::Full
                } else {
                    Size::Quick
                };
                let wake = self.train.wake(ctx);
                let (train, data) = (&mut self.train, self.lesson_data.clone());
                let load = self
                    .lesson_info
                    .as_ref()
                    .map(|i| i.options.clone())
                    .unwrap_or_default();
                let snapshot = || {
                    let mut histories = train.session.histories();
                    for h in &mut histories {
                        // The Try it stops them; Undo shows them as they were left.
                        if !h.status.is_done() {
                            h.status = crate::train::RunStatus::Stopped;
                        }
                    }
                    Snapshot {
                        config: train.config.clone(),
                        histories,
                        sweep: train.session.sweep_points.clone(),
                        data,
                        load,
                    }
                };
                let seed = train.config.hyper.seed;
                let config = train.config.clone();
                self.try_it
                    .begin(&lesson, size, seed, &config, snapshot, wake);
                self.train.session.stop();
                self.train.session.message = Some(format!(
                    "Lesson {}: sizing the experiment for this machine…",
                    idx + 1
                ));
                self.train.page = match lesson.check {
                    Check::SweepTrend => PlotPage::Sweep,
                    Check::GradSpread | Check::ActivationGrowth => PlotPage::Gradients,
                    _ => PlotPage::Errors,
                };
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

    /// Starts a Try it the moment its worker has sized it.
    fn poll_try(&mut self, ctx: &egui::Context) {
        let Some((id, result)) = self.try_it.poll() else {
            return;
        };
        let Some((n, lesson)) = self
            .lessons
            .lessons
            .iter()
            .enumerate()
            .find(|(_, l)| l.id == id)
            .map(|(i, l)| (i, l.clone()))
        else {
            return;
        };
        match result {
            Ok(prepared) => self.start_prepared(n, &lesson, prepared, ctx),
            Err(e) => {
                self.train.session.message = Some(format!("Lesson {}: {e}", n + 1));
            }
        }
    }

    fn start_prepared(
        &mut self,
        n: usize,
        lesson: &crate::lessons::Lesson,
        prepared: Prepared,
        ctx: &egui::Context,
    ) {
        let config = try_it::config_for(&prepared.plan, &self.train.config);
        let wake = self.train.wake(ctx);
        self.train.config = config.clone();
        self.set_lesson_data(Some(prepared.data.clone()), prepared.plan.load.clone());
        if let Some(data) = train_ref!(self) {
            try_it::start(
                &mut self.train.session,
                &prepared.plan,
                &config,
                data,
                &wake,
            );
        }
        if self.train.session.store.is_empty() && !self.train.session.sweeping {
            return; // the session said why in its message
        }
        self.try_it.started(lesson, &prepared, &config);
        let faint = if self.try_it.reference(&config).is_some() {
            " Faint lines: complete runs of the same setup, to show where it is going."
        } else {
            ""
        };
        self.train.session.message =
            Some(format!("Lesson {}: {}.{faint}", n + 1, prepared.describe()));
    }

    /// A lesson whose Try it ends in a loss landscape: once both runs have finished their whole
    /// budget, compute the pair's surfaces on the Landscape tab's worker and show that tab.
    fn chain_landscape(&mut self, ctx: &egui::Context) {
        let Some(a) = &self.try_it.active else {
            return;
        };
        let Some(quick) = a.landscape.as_ref().filter(|_| a.landscape_pair.is_none()) else {
            return;
        };
        if a.config != self.train.config {
            return; // the learner set up other nets since
        }
        let Some((plain, residual)) = try_it::finished_pair(&self.train.session, a.plan.nets.len())
        else {
            return;
        };
        let settings = quick.settings(a.plan.hyper.seed);
        let what = format!(
            "Both nets finished: computing their loss surfaces ({0}x{0} grid over {1} training images) on the Landscape tab.",
            settings.grid, settings.images
        );
        if let Some(a) = &mut self.try_it.active {
            a.landscape_pair = Some((plain, residual));
        }
        self.landscape
            .compute_pair(plain, residual, settings, &self.train.session, ctx);
        self.train.session.message = Some(what);
        self.tab = Tab::Landscape;
    }

    /// Cancels the surfaces the current Try it started, if they are still being computed.
    fn cancel_lesson_landscape(&mut self) {
        if let Some((p, r)) = self.try_it.active.as_ref().and_then(|a| a.landscape_pair)
            && self.landscape.is_of_pair(p, r)
        {
            self.landscape.cancel();
        }
    }

    fn undo_try(&mut self) {
        self.cancel_lesson_landscape();
        let Some(s) = self.try_it.undo() else {
            return;
        };
        self.train.config = s.config;
        self.train.session.restore(s.histories, s.sweep);
        self.set_lesson_data(s.data, s.load);
        self.train.session.message = Some("Back to your own nets and runs.".into());
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
                            twin: true,
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
        if let Some(runs) = self.pending_runs.take() {
            let c = ctx.clone();
            let wake: crate::task::Wake = Arc::new(move || c.request_repaint());
            self.train.files.forget_others(runs.clone(), wake.clone());
            self.train.files.restore(runs, wake);
        }
        if let Some(ds) = self.data.poll() {
            let (source, options) = self
                .data
                .loaded
                .as_ref()
                .map(|l| (l.source.clone(), l.options.clone()))
                .unwrap_or((Source::Builtin, LoadOptions::default()));
            self.data_info = Some(DataInfo::new(source, options, &ds));
            self.dataset = Some(ds);
            if self.initial_load_done {
                // The learner loaded a data set: train on it from now on.
                self.set_lesson_data(None, LoadOptions::default());
            }
            self.initial_load_done = true;
        }
        self.poll_try(&ctx);
        self.train.poll(&ctx);
        self.landscape.poll();
        self.chain_landscape(&ctx);
        self.train.reference = self.try_it.reference(&self.train.config);
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
        } else if self.train.session.needs_polling() || self.train.files.autosaving() {
            // A worker that reported its end still has to hand back its model.
            ctx.request_repaint_after(Duration::from_millis(50));
        }

        egui::Panel::top("top-bar").show(ui, |ui| self.top_bar(ui));
        let runs = self.train.session.histories();
        // A lesson is done when its check passes on the learner's runs (the lesson on screen is
        // judged by its panel, the one whose Try it is training here), or, without a check,
        // when its Try it ran to the end.
        let surfaces = self.landscape.result_of_session(&self.train.session);
        if let Some(a) = &self.try_it.active {
            let id = a.lesson.clone();
            self.lessons.update_done(&id, &runs, surfaces);
        }
        if let Some(id) = self.try_it.finished_lesson(&runs).map(str::to_string)
            && self
                .lessons
                .lessons
                .iter()
                .any(|l| l.id == id && l.check == Check::None)
        {
            self.lessons.mark_done(&id);
        }
        let state = TryState {
            preparing: self.try_it.is_preparing(),
            can_undo: self.try_it.can_undo(),
        };
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
                action = self.lessons.ui(ui, &runs, surfaces, &state);
            });
        match action {
            Some(LessonAction::Try(i, t)) => self.apply_try(i, t, &ctx),
            Some(LessonAction::Undo) => self.undo_try(),
            None => {}
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
                ui.selectable_value(
                    &mut self.tab,
                    Tab::Landscape,
                    RichText::new("Landscape").size(16.0),
                )
                .on_hover_text("The loss surface around a trained plain net and its residual twin");
            });
            ui.separator();
            match self.tab {
                Tab::Train => {
                    let data = train_ref!(self);
                    self.train.ui(ui, data);
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
                Tab::Landscape => {
                    self.landscape
                        .ui(ui, &self.train.session, &self.train.exporter.dir)
                }
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
            let data = train_ref!(self);
            self.train.run_controls(ui, data);
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

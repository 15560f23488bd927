//! The app shell: top bar, lesson panel, workspace tabs, persistence and routing between views.
mod lesson;

use super::builder_view::{BuilderSaved, BuilderView};
use super::data_view::{DataForm, DataView};
use super::inspect::{InspectPage, InspectView};
use super::landscape::LandscapeView;
use super::lesson_view::{LessonAction, LessonProgress, LessonView, TryState};
use super::state::{AppState, Command};
use super::train_view::{PlotPage, TrainView};
use super::view::{Tabs, View};
use crate::builder::ExerciseId;
use crate::data::{Dataset, LoadOptions, Source};
use crate::lessons::check::{self, Outcome};
use crate::lessons::claims::{Claim, Verdict};
use crate::lessons::plan::{Size, Sizing};
use crate::lessons::try_run::{TryEvent, TryRun};
use crate::lessons::{BuildExercise, Check, LandscapeQuick, Lesson, TryAction};
use crate::train::scheduler::TrainConfig;
use crate::train::{DataInfo, RunHistory, RunStatus};
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use web_time::{Duration, Instant};

/// The workspace tabs, in the order the tab bar shows them: the one place a tab is listed.
/// A new tab is a file with a [`View`] and one line here.
fn registry(p: &Persisted) -> Vec<Box<dyn View>> {
    let mut train = TrainView::new(p.config.clone());
    train.page = p.plot_page;
    train.experiment_path = p.experiment_path.clone();
    vec![
        Box::new(train),
        Box::new(DataView::new(p.data_form.clone())),
        Box::new(BuilderView::from_saved(p.builder.clone())),
        Box::new(InspectView::new(p.inspect_page)),
        Box::new(LandscapeView::default()),
    ]
}

/// Everything that survives a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub lessons: LessonProgress,
    pub config: TrainConfig,
    pub data_form: DataForm,
    /// The open tab's key (`View::id`).
    pub tab: String,
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
    /// The data set the Data tab had loaded (reloaded at start; the built-in set if it fails).
    pub data_source: Option<(Source, LoadOptions)>,
}

impl Default for Persisted {
    fn default() -> Self {
        Self {
            lessons: LessonProgress::default(),
            config: TrainConfig::default(),
            data_form: DataForm::default(),
            tab: "Train".into(),
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
            data_source: None,
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

/// The learner's state before a Try it replaced it (Undo brings it back).
pub struct Snapshot {
    pub config: TrainConfig,
    pub histories: Vec<RunHistory>,
    pub sweep: Vec<crate::train::history::SweepPoint>,
    pub lesson_data: Option<(Arc<Dataset>, DataInfo)>,
}

pub struct ResNetLabApp {
    /// The runs, data sets and lesson Try it the views show.
    pub state: AppState,
    pub lessons: LessonView,
    /// The workspace tabs.
    pub tabs: Tabs,
    pub dark: bool,
    pub scale: f32,
    pub lesson_panel_open: bool,
    undo: Option<Snapshot>,
    /// How a Try it chooses its step budget; tests fix it.
    pub sizing: Sizing,
    /// Replaces a lesson's `landscape:` line (tests use a tiny grid).
    pub landscape_override: Option<LandscapeQuick>,
    /// The data set to load on the first frame (the last session's, else the built-in set).
    pending_data: Option<(Source, LoadOptions)>,
    /// Run folders to reopen on the first frame (the last session's runs).
    pending_runs: Option<Vec<PathBuf>>,
    applied_style: Option<(bool, f32)>,
    quit_at: Option<Instant>,
    frames: super::frame_stats::FrameStats,
}

impl ResNetLabApp {
    fn from_persisted(p: Persisted, data_dir: Option<PathBuf>) -> Self {
        let mut tabs = Tabs::new(registry(&p));
        tabs.show(&p.tab);
        let mut state = AppState::default();
        state.export_dir = p.export_dir.clone();
        state.files.path = p.run_path.clone();
        state.files.data_dir = data_dir;
        Self {
            state,
            lessons: LessonView::new(p.lessons),
            tabs,
            dark: p.dark,
            scale: if SCALES.contains(&p.scale) {
                p.scale
            } else {
                1.0
            },
            lesson_panel_open: p.lesson_panel_open,
            undo: None,
            // A page would time the probe on its own thread: the smallest budget instead.
            sizing: if cfg!(target_arch = "wasm32") {
                Sizing::Least
            } else {
                Sizing::Probe
            },
            landscape_override: None,
            pending_data: None,
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
        // A page has no folders: its runs are kept by `crate::web::store` instead.
        #[cfg(not(target_arch = "wasm32"))]
        let data_dir = eframe::storage_dir("ResNet Lab").map(|d| d.join("runs"));
        #[cfg(target_arch = "wasm32")]
        let data_dir = None;
        let data = p.data_source.clone();
        let mut app = Self::from_persisted(p, data_dir);
        app.pending_data = Some(data.unwrap_or_else(|| (Source::Builtin, LoadOptions::default())));
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
        let data = self.data_mut();
        data.set_dataset(Source::Builtin, ds.clone());
        data.first_load_done = true;
        self.state.data_info = Some(DataInfo::new(Source::Builtin, LoadOptions::default(), &ds));
        self.state.dataset = Some(ds);
        self.pending_data = None;
        self
    }

    pub fn train(&self) -> &TrainView {
        self.tabs.get().expect("the Train tab is registered")
    }
    pub fn train_mut(&mut self) -> &mut TrainView {
        self.tabs.get_mut().expect("the Train tab is registered")
    }
    pub fn data(&self) -> &DataView {
        self.tabs.get().expect("the Data tab is registered")
    }
    pub fn data_mut(&mut self) -> &mut DataView {
        self.tabs.get_mut().expect("the Data tab is registered")
    }
    pub fn builder(&self) -> &BuilderView {
        self.tabs.get().expect("the Build tab is registered")
    }
    pub fn builder_mut(&mut self) -> &mut BuilderView {
        self.tabs.get_mut().expect("the Build tab is registered")
    }
    pub fn inspect(&self) -> &InspectView {
        self.tabs.get().expect("the Inspect tab is registered")
    }
    pub fn inspect_mut(&mut self) -> &mut InspectView {
        self.tabs.get_mut().expect("the Inspect tab is registered")
    }
    pub fn landscape(&self) -> &LandscapeView {
        self.tabs.get().expect("the Landscape tab is registered")
    }
    pub fn landscape_mut(&mut self) -> &mut LandscapeView {
        self.tabs
            .get_mut()
            .expect("the Landscape tab is registered")
    }

    pub fn persisted(&self) -> Persisted {
        let train = self.train();
        Persisted {
            lessons: self.lessons.progress.clone(),
            config: train.config.clone(),
            data_form: self.data().form.clone(),
            tab: self.tabs.open.to_string(),
            plot_page: train.page,
            dark: self.dark,
            scale: self.scale,
            lesson_panel_open: self.lesson_panel_open,
            export_dir: self.state.export_dir.clone(),
            experiment_path: train.experiment_path.clone(),
            builder: self.builder().saved(),
            run_path: self.state.files.path.clone(),
            runs: self
                .state
                .scheduler
                .runs()
                .iter()
                .filter(|r| !r.is_live())
                .filter_map(|r| r.dir.clone())
                .collect(),
            inspect_page: self.inspect().page,
            data_source: self
                .data()
                .loaded
                .as_ref()
                .map(|l| (l.source.clone(), l.options.clone())),
        }
    }

    /// Carries out what the views asked for this frame.
    fn run_commands(&mut self, ctx: &egui::Context) {
        for c in self.state.take_commands() {
            match c {
                Command::ShowTab(id) => self.tabs.show(id),
                Command::SetUpNets { nets, message } => {
                    let train = self.train_mut();
                    train.config.nets = nets;
                    train.page = PlotPage::Errors;
                    self.state.scheduler.message = Some(message);
                    self.tabs.show("Train");
                }
                Command::ExercisePassed(id) => {
                    let key = format!("exercise-{}", id.key());
                    self.lessons.mark_check_done(&key);
                }
                Command::LoadSource(source) => {
                    // A reopened experiment brings its data source back unless it is loaded.
                    let data = self.data_mut();
                    let current = data.loaded.as_ref().map(|l| &l.source);
                    if current != Some(&source) {
                        if let Source::Path(p) = &source {
                            data.form.path = p.display().to_string();
                        }
                        let opts = data.form.options();
                        data.start_load(source, opts, ctx);
                    }
                }
                Command::CancelLessonSurfaces => {
                    if let Some(t) = &mut self.state.try_run {
                        t.cancel();
                    }
                }
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
            // No text below 12 px at 100%: egui's "small" style (captions, notes) is 9 px.
            ctx.all_styles_mut(|style| {
                style
                    .text_styles
                    .insert(egui::TextStyle::Small, egui::FontId::proportional(12.0));
            });
            self.applied_style = Some((self.dark, self.scale));
        }
    }

    /// One frame of the whole app.
    pub fn ui(&mut self, ui: &mut Ui) {
        let training = self.state.scheduler.is_running();
        let started = self.frames.start(training);
        self.frame(ui);
        self.frames.end(started, training);
    }

    fn frame(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.apply_style(&ctx);
        if let Some((source, opts)) = self.pending_data.take() {
            let data = self.data_mut();
            if source == Source::Builtin {
                let opts = LoadOptions {
                    max_per_class: data.form.options().max_per_class,
                    ..Default::default()
                };
                data.start_load(Source::Builtin, opts, &ctx);
            } else {
                // The last session's data set; the built-in set if it is gone.
                data.fall_back_to_builtin = true;
                data.start_load(source, opts, &ctx);
            }
        }
        if let Some(runs) = self.pending_runs.take() {
            let wake = self.state.wake(&ctx);
            self.state.files.forget_others(runs.clone(), wake.clone());
            self.state.files.restore(runs, wake);
        }
        let events = self.state.poll(&ctx);
        self.on_try_events(events);
        self.tabs.poll(&mut self.state, &ctx);
        self.run_commands(&ctx);
        self.lessons.keyboard(&ctx);
        if let Some(t) = self.quit_at {
            let now = Instant::now();
            if now >= t {
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            } else {
                ctx.request_repaint_after(t - now);
            }
        }
        let busy = self.state.try_run.as_ref().is_some_and(|t| {
            t.is_preparing() || t.surfaces.as_ref().is_some_and(|s| s.is_running())
        });
        if self.state.scheduler.is_running() {
            // ETAs tick even between worker events.
            ctx.request_repaint_after(Duration::from_millis(500));
        } else if self.state.scheduler.needs_polling() || self.state.files.autosaving() || busy {
            // A worker that reported its end still has to hand back its model.
            ctx.request_repaint_after(Duration::from_millis(50));
        }

        egui::Panel::top("top-bar").show(ui, |ui| self.top_bar(ui));
        // A lesson is done when its check passes on its own runs (the lesson whose Try it is
        // running is judged even while the learner reads another), or, without a check, when
        // its Try it ran to the end.
        if let Some(t) = &self.state.try_run {
            let id = t.lesson.id.clone();
            let passed =
                t.has_run_check() && t.evaluate(&self.state.scheduler).is_some_and(|o| o.passed);
            let ran = t.lesson.check == Check::None && t.ran_to_the_end(&self.state.scheduler);
            if passed || ran {
                self.lessons.mark_done(&id);
            }
        }
        let current = self.lessons.current().cloned();
        let outcome = current.as_ref().and_then(|l| self.outcome_of(l));
        let claims = current
            .as_ref()
            .map(|l| self.claims_of(l))
            .unwrap_or_default();
        if outcome.as_ref().is_some_and(|o| o.passed)
            && let Some(l) = self.lessons.current()
        {
            let id = l.id.clone();
            self.lessons.mark_done(&id);
        }
        let state = TryState {
            preparing: self
                .state
                .try_run
                .as_ref()
                .is_some_and(TryRun::is_preparing),
            can_undo: self.undo.is_some(),
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
                action = self.lessons.ui(ui, outcome.as_ref(), &claims, &state);
            });
        match action {
            Some(LessonAction::Try(i, t)) => self.apply_try(i, t, &ctx),
            Some(LessonAction::Undo) => self.undo_try(),
            None => {}
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.tabs.bar(ui);
            ui.separator();
            self.tabs.ui(ui, &mut self.state);
        });
        self.run_commands(&ctx);
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
            let state = &mut self.state;
            if let Some(train) = self.tabs.get_mut::<TrainView>() {
                train.run_controls(ui, state);
            }
            if self.state.dataset.is_none() {
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
            for h in self.state.scheduler.histories() {
                eprintln!(
                    "  run {}: {} steps, {:.0} img/s, {}",
                    h.label,
                    h.steps_done(),
                    h.img_per_sec,
                    h.status.describe()
                );
            }
        }
        self.state.scheduler.stop();
    }
}

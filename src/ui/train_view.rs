//! The Train view: pick nets and hyper-parameters, run them side by side, watch live plots.
use super::export::{Exporter, Kind};
use super::plots;
use super::state::{AppState, Command};
use super::view::View;
use crate::identity::{NetChoice, Preset};
use crate::lessons::reference::ChartKind;
use crate::nn::Schedule;
use crate::nn::presets::ShortcutOption;
use crate::plot::{Chart, Family, Series, charts, family_color};
use crate::task::Slot;
use crate::train::scheduler::{DEPTHS, DataRef, SavedExperiment, TrainConfig};
use crate::train::{OptimizerChoice, RunStatus};
use egui::{RichText, Ui};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long an informational message stays above the plots, and one that says something failed.
const MESSAGE_SECS: u64 = 15;
const MESSAGE_ERROR_SECS: u64 = 40;

/// Which plots the workspace shows under the controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum PlotPage {
    #[default]
    Errors,
    Gradients,
    Sweep,
}

pub struct TrainView {
    pub config: TrainConfig,
    pub exporter: Exporter,
    pub page: PlotPage,
    /// Where "Save experiment" writes and "Open experiment" reads.
    pub experiment_path: String,
    opening: Slot<SavedExperiment>,
    /// The scheduler's message on screen and since when, so it can expire.
    message_seen: Option<(String, Instant)>,
}

impl TrainView {
    pub fn new(config: TrainConfig) -> Self {
        Self {
            config,
            exporter: Exporter::default(),
            page: PlotPage::Errors,
            experiment_path: "experiment.json".into(),
            opening: Slot::default(),
            message_seen: None,
        }
    }

    /// ▶ Start: every chosen net side by side (the learner's own runs: a lesson's Try it is
    /// over once they start).
    pub fn start(&mut self, ctx: &egui::Context, state: &mut AppState) {
        self.start_with(ctx, state, false);
        self.page = PlotPage::Errors;
    }

    pub fn start_sweep(&mut self, ctx: &egui::Context, state: &mut AppState) {
        self.start_with(ctx, state, true);
        self.page = PlotPage::Sweep;
    }

    fn start_with(&mut self, ctx: &egui::Context, state: &mut AppState, sweep: bool) {
        let wake = state.wake(ctx);
        self.exporter.clear_notice();
        let Some(d) = state.train_data() else {
            state.scheduler.message =
                Some("The data set is still loading; start again in a moment.".into());
            return;
        };
        let (set, info) = (d.set.clone(), d.info.clone());
        let data = DataRef {
            set: &set,
            info: &info,
        };
        if sweep {
            state.scheduler.start_sweep(&self.config, data, &wake);
        } else {
            state.scheduler.start(&self.config, data, &wake);
        }
        state.try_run = None;
    }

    /// Start / Pause / Stop, for the top bar.
    pub fn run_controls(&mut self, ui: &mut Ui, state: &mut AppState) {
        let data = state.train_data().is_some();
        let running = state.scheduler.is_running();
        if ui
            .add_enabled(!running && data, egui::Button::new("▶ Start"))
            .on_hover_text("Train every chosen net side by side")
            .on_disabled_hover_text("Training, or the data set is still loading")
            .clicked()
        {
            self.start(ui.ctx(), state);
        }
        let pause_label = if state.scheduler.paused {
            "⏵ Resume"
        } else {
            "⏸ Pause"
        };
        if ui
            .add_enabled(running, egui::Button::new(pause_label))
            .clicked()
        {
            let p = !state.scheduler.paused;
            state.scheduler.pause(p);
        }
        if ui
            .add_enabled(running, egui::Button::new("⏹ Stop"))
            .clicked()
        {
            state.scheduler.stop();
        }
    }

    fn frame(&mut self, ui: &mut Ui, state: &mut AppState) {
        let ctx = ui.ctx().clone();
        // The setup column gives way to the plots on narrow windows.
        let width = ui.available_width();
        egui::Panel::left("train-setup")
            .resizable(true)
            .default_size((width * 0.36).clamp(230.0, 300.0))
            .min_size(220.0)
            .max_size((width * 0.5).max(230.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.setup_ui(ui, state);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.status_ui(ui, state);
            ui.horizontal_wrapped(|ui| {
                ui.selectable_value(&mut self.page, PlotPage::Errors, "Errors & loss");
                ui.selectable_value(
                    &mut self.page,
                    PlotPage::Gradients,
                    "Gradients & activations",
                );
                ui.selectable_value(&mut self.page, PlotPage::Sweep, "Depth sweep");
            });
            ui.separator();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    let asked = self.plots_ui(ui, state);
                    if let Some((chart, kind)) = asked {
                        let c = ctx.clone();
                        self.exporter
                            .export(chart, kind, move || c.request_repaint());
                    }
                });
        });
    }

    fn setup_ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        ui.heading("Nets");
        let mut remove = None;
        for (i, choice) in self.config.nets.iter_mut().enumerate() {
            ui.push_id(i, |ui| {
                let net = match choice {
                    NetChoice::Preset(p) => p,
                    NetChoice::Built { .. } => {
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(choice.label()).strong());
                            ui.weak("(from the Build tab)");
                            if ui.small_button("✖").on_hover_text("Remove this net").clicked() {
                                remove = Some(i);
                            }
                        });
                        return;
                    }
                };
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut net.residual, false, "plain");
                    ui.selectable_value(&mut net.residual, true, "resnet");
                    let l = ui.label("depth");
                    egui::ComboBox::from_id_salt("depth")
                        .selected_text(net.depth.to_string())
                        .width(50.0)
                        .show_ui(ui, |ui| {
                            for d in DEPTHS {
                                ui.selectable_value(&mut net.depth, d, d.to_string());
                            }
                        })
                        .response
                        .labelled_by(l.id)
                        .on_hover_text("Weighted layers: 6n+2, as in the paper's CIFAR nets");
                    if ui.small_button("✖").on_hover_text("Remove this net").clicked() {
                        remove = Some(i);
                    }
                });
                if net.residual {
                    ui.horizontal(|ui| {
                        ui.label("shortcut");
                        ui.selectable_value(&mut net.shortcut, ShortcutOption::A, "A")
                            .on_hover_text("Option A: zero-padded identity when the width changes (no parameters)");
                        ui.selectable_value(&mut net.shortcut, ShortcutOption::B, "B")
                            .on_hover_text("Option B: 1x1 projection when the width changes");
                        ui.checkbox(&mut net.zero_init, "zero-init")
                            .on_hover_text("Start each block's last batch-norm gamma at 0, so every block starts as the identity");
                    });
                    ui.horizontal(|ui| {
                        let l = ui.label("residual scale");
                        ui.add(egui::Slider::new(&mut net.scale, 0.1..=1.0).step_by(0.05))
                            .labelled_by(l.id)
                            .on_hover_text("Multiply each residual branch by this before the addition (0.1-0.3 steadies very deep nets)");
                    });
                }
                ui.horizontal(|ui| {
                    let l = ui.label("width");
                    ui.add(egui::DragValue::new(&mut net.width).range(2..=64))
                        .labelled_by(l.id)
                        .on_hover_text("Channels of the first stage; doubled in each later stage");
                    ui.weak(net.label());
                });
            });
            ui.separator();
        }
        if let Some(i) = remove {
            self.config.nets.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button("+ plain").clicked() {
                self.config
                    .nets
                    .push(NetChoice::Preset(Preset::new(false, 20)));
            }
            if ui.button("+ resnet").clicked() {
                self.config
                    .nets
                    .push(NetChoice::Preset(Preset::new(true, 20)));
            }
        });
        ui.add_space(8.0);
        ui.heading("Hyper-parameters");
        let h = &mut self.config.hyper;
        egui::Grid::new("hyper").num_columns(2).show(ui, |ui| {
            // Every field is labelled for screen readers (and for kittest queries).
            fn row(ui: &mut Ui, name: &str, tip: &str, w: impl egui::Widget) {
                let l = ui.label(name).on_hover_text(tip);
                ui.add(w).labelled_by(l.id).on_hover_text(tip);
                ui.end_row();
            }
            row(
                ui,
                "epochs",
                "Passes over the training set",
                egui::DragValue::new(&mut h.epochs).range(1..=1000),
            );
            row(
                ui,
                "batch",
                "Images per SGD step",
                egui::DragValue::new(&mut h.batch).range(1..=4096),
            );
            row(
                ui,
                "learning rate",
                "Step size; the paper uses 0.1. Too high and the loss diverges",
                egui::DragValue::new(&mut h.lr)
                    .range(0.0001..=10.0)
                    .speed(0.001)
                    .max_decimals(4),
            );
            row(
                ui,
                "momentum",
                "SGD momentum, 0.9 in the paper",
                egui::DragValue::new(&mut h.momentum)
                    .range(0.0..=0.999)
                    .speed(0.01),
            );
            row(
                ui,
                "weight decay",
                "L2 penalty on weights, 0.0001 in the paper",
                egui::DragValue::new(&mut h.weight_decay)
                    .range(0.0..=0.1)
                    .speed(0.0001)
                    .max_decimals(5),
            );
            row(
                ui,
                "seed",
                "Same seed: same initial weights and batch order for every net",
                egui::DragValue::new(&mut h.seed),
            );
            let tip = "Stop each run after this many steps, for quick experiments";
            let l = ui.label("max steps").on_hover_text(tip);
            ui.horizontal(|ui| {
                let mut capped = h.max_steps.is_some();
                ui.checkbox(&mut capped, "cap")
                    .labelled_by(l.id)
                    .on_hover_text(tip);
                let mut v = h.max_steps.unwrap_or(300);
                ui.add_enabled(capped, egui::DragValue::new(&mut v).range(1..=1_000_000))
                    .labelled_by(l.id);
                h.max_steps = capped.then_some(v);
            });
            ui.end_row();
            row(
                ui,
                "probe every",
                "Record gradient norms and activation statistics every this many steps (0 = never)",
                egui::DragValue::new(&mut h.probe_every).range(0..=1000),
            );
            row(
                ui,
                "warm-up steps",
                "Steps at a tenth of the learning rate first: the paper's trick for ResNet-110",
                egui::DragValue::new(&mut h.warmup_steps).range(0..=100_000),
            );
            let tip = "SGD with momentum as in the paper, or Adam (momentum is then beta1)";
            let l = ui.label("optimizer").on_hover_text(tip);
            ui.horizontal(|ui| {
                ui.selectable_value(&mut h.optimizer, OptimizerChoice::Sgd, "SGD")
                    .labelled_by(l.id);
                ui.selectable_value(&mut h.optimizer, OptimizerChoice::Adam, "Adam")
                    .labelled_by(l.id);
            });
            ui.end_row();
            let tip = "How the learning rate changes over the run";
            let l = ui.label("schedule").on_hover_text(tip);
            ui.horizontal(|ui| {
                let constant = matches!(h.schedule, Schedule::Constant);
                let step = matches!(h.schedule, Schedule::Step { .. });
                let cosine = matches!(h.schedule, Schedule::Cosine);
                if ui
                    .selectable_label(constant, "constant")
                    .labelled_by(l.id)
                    .clicked()
                {
                    h.schedule = Schedule::Constant;
                }
                if ui
                    .selectable_label(step, "steps")
                    .labelled_by(l.id)
                    .on_hover_text("x0.1 at 50% and 75% of the run, as in the paper")
                    .clicked()
                {
                    h.schedule = Schedule::Step {
                        at: vec![0.5, 0.75],
                        factor: 0.1,
                    };
                }
                if ui
                    .selectable_label(cosine, "cosine")
                    .labelled_by(l.id)
                    .clicked()
                {
                    h.schedule = Schedule::Cosine;
                }
            });
            ui.end_row();
        });
        if let Err(e) = self.config.hyper.validate() {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        match state.train_data().map(|d| d.set) {
            Some(d) => ui.label(format!(
                "Data: {} ({} classes, {}x{}x{})",
                d.name,
                d.classes.len(),
                d.channels,
                d.height,
                d.width
            )),
            None => ui.label("Data: loading..."),
        };
        ui.add_space(8.0);
        ui.heading("Depth sweep");
        ui.horizontal_wrapped(|ui| {
            for d in DEPTHS {
                let mut on = self.config.sweep_depths.contains(&d);
                if ui.toggle_value(&mut on, d.to_string()).changed() {
                    if on {
                        self.config.sweep_depths.push(d);
                    } else {
                        self.config.sweep_depths.retain(|x| *x != d);
                    }
                }
            }
        });
        let running = state.scheduler.is_running();
        let data = state.train_data().is_some();
        if ui
            .add_enabled(
                !running && data && !self.config.sweep_depths.is_empty(),
                egui::Button::new("Run sweep"),
            )
            .on_hover_text("Train a plain and a residual net at each chosen depth, two at a time")
            .clicked()
        {
            self.start_sweep(ui.ctx(), state);
        }
        ui.add_space(8.0);
        ui.heading("Files");
        ui.horizontal(|ui| {
            let l = ui.label("Export folder");
            ui.add(
                egui::TextEdit::singleline(&mut state.export_dir)
                    .hint_text("current folder")
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            let l = ui.label("Experiment file");
            ui.add(egui::TextEdit::singleline(&mut self.experiment_path).desired_width(150.0))
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            if ui.button("Save experiment").clicked() {
                self.save_experiment(ui.ctx(), state);
            }
            if ui
                .add_enabled(
                    !self.opening.is_busy(),
                    egui::Button::new("Open experiment"),
                )
                .clicked()
            {
                self.open_experiment(ui.ctx(), state);
            }
        });
        self.runs_files_ui(ui, state);
    }

    /// Save runs / Open run: whole runs (history and trained net) as folders.
    fn runs_files_ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        let wake = state.wake(ui.ctx());
        ui.horizontal(|ui| {
            let l = ui.label("Run folder");
            ui.add(
                egui::TextEdit::singleline(&mut state.files.path)
                    .hint_text("runs")
                    .desired_width(150.0),
            )
            .labelled_by(l.id)
            .on_hover_text("Save runs writes one folder per run here; Open run reads a run folder or every run folder inside it");
            if ui
                .add_enabled(!state.files.is_browsing(), egui::Button::new("Browse..."))
                .clicked()
            {
                state.files.browse(wake.clone());
            }
        });
        ui.horizontal(|ui| {
            let busy = state.files.is_busy();
            let can_save = !busy && !state.scheduler.is_running() && !state.scheduler.runs().is_empty();
            if ui
                .add_enabled(can_save, egui::Button::new("Save runs"))
                .on_hover_text("Each run's net, curves and trained weights, one folder per run (net.json, history.json, weights.safetensors)")
                .on_disabled_hover_text("Nothing to save yet, training, or a save is in progress")
                .clicked()
            {
                state.files.save_all(&mut state.scheduler.store, wake.clone());
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Open run"))
                .on_hover_text("Reopen saved runs: their plots and trained nets")
                .clicked()
            {
                state.files.open(wake.clone());
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(m) = &state.files.message {
            ui.label(RichText::new(m).italics());
        }
    }

    fn save_experiment(&mut self, ctx: &egui::Context, state: &AppState) {
        let data = state.train_data();
        let mut experiment = crate::train::Experiment {
            hyper: self.config.hyper.clone(),
            ..Default::default()
        };
        let classes = data.map(|d| d.info.classes.len()).unwrap_or(10);
        experiment.nets = self
            .config
            .nets
            .iter()
            .filter_map(|n| n.entry(classes).ok())
            .collect();
        if let Some(d) = data {
            experiment.data.source = d.info.source.clone();
            experiment.data.options = d.info.options.clone();
        }
        let saved = SavedExperiment {
            experiment,
            config: self.config.clone(),
            histories: state.scheduler.histories(),
            sweep: state.scheduler.sweep_points.clone(),
        };
        let path = PathBuf::from(self.experiment_path.trim());
        let c = ctx.clone();
        self.exporter.spawn(
            path,
            move || c.request_repaint(),
            move || {
                serde_json::to_vec_pretty(&saved)
                    .map_err(|e| format!("could not encode the experiment: {e}"))
            },
        );
    }

    fn open_experiment(&mut self, ctx: &egui::Context, state: &mut AppState) {
        let path = PathBuf::from(self.experiment_path.trim());
        let wake = state.wake(ctx);
        self.opening.start("open experiment", wake, move || {
            let bytes = crate::util::read_regular(&path, 1 << 30, "a saved experiment")
                .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
            serde_json::from_slice::<SavedExperiment>(&bytes)
                .map_err(|e| format!("{} is not a saved experiment: {e}", path.display()))
        });
    }

    /// Drops the session's message once it has been on screen long enough: a note such as
    /// "Opened experiment.json." must not sit above the plots for the rest of the session.
    /// Messages that say something cannot start stay longer.
    fn expire_message(&mut self, ctx: &egui::Context, state: &mut AppState) {
        let Some(m) = &state.scheduler.message else {
            self.message_seen = None;
            return;
        };
        let limit = if m.starts_with("Cannot") || m.starts_with("Could not") {
            MESSAGE_ERROR_SECS
        } else {
            MESSAGE_SECS
        };
        match &self.message_seen {
            Some((text, at)) if text == m => {
                let left = Duration::from_secs(limit).saturating_sub(at.elapsed());
                if left.is_zero() {
                    state.scheduler.message = None;
                    self.message_seen = None;
                } else {
                    ctx.request_repaint_after(left);
                }
            }
            _ => {
                self.message_seen = Some((m.clone(), Instant::now()));
                ctx.request_repaint_after(Duration::from_secs(limit));
            }
        }
    }

    fn status_ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        self.expire_message(ui.ctx(), state);
        if let Some(left) = self.exporter.notice_expires_in() {
            ui.ctx().request_repaint_after(left);
        }
        if let Some(m) = &state.scheduler.message {
            ui.colored_label(ui.visuals().warn_fg_color, m);
        }
        super::notice_line(
            ui,
            self.exporter
                .notice_text()
                .map(|n| RichText::new(n).italics()),
        );
        if state.scheduler.runs().is_empty() {
            ui.label(
                "Press ▶ Start to train the chosen nets side by side on the current data set.",
            );
        }
        for r in state.scheduler.runs() {
            run_row(ui, r);
        }
        if state.scheduler.queued() > 0 {
            ui.weak(format!("{} sweep runs queued", state.scheduler.queued()));
        }
    }

    /// Error against depth from the sweep's complete runs; a run that stopped, diverged or failed
    /// is no final error, so it shows as a hollow, labelled point apart from the lines.
    fn sweep_chart(state: &AppState) -> Chart {
        let mut c = charts::sweep(&state.scheduler.sweep_points);
        if !state.scheduler.sweeping {
            return c;
        }
        for r in state.scheduler.runs() {
            let (Some(identity), Some(note)) =
                (&r.history.identity, charts::incomplete_note(&r.history))
            else {
                continue;
            };
            let Some(err) = r.history.final_train_err() else {
                continue;
            };
            let family = if identity.is_residual() {
                Family::Residual
            } else {
                Family::Plain
            };
            c.series.push(
                Series::new(
                    r.history.label.clone(),
                    family_color(family, 0, 1),
                    vec![[identity.depth as f64, err as f64 * 100.0]],
                )
                .partial(note),
            );
        }
        c
    }

    /// The current page's plots; returns an export request.
    fn plots_ui(&mut self, ui: &mut Ui, state: &AppState) -> Option<(Chart, Kind)> {
        let runs: Vec<_> = state.scheduler.runs().iter().map(|r| &r.history).collect();
        let runs = runs.as_slice();
        let reference = state.reference();
        let behind = |chart: Chart, kind: ChartKind| match &reference {
            Some(r) => r.behind(chart, kind),
            None => chart,
        };
        let mut asked = None;
        let mut show = |ui: &mut Ui, chart: Chart, h: f32| {
            if let Some(k) = plots::chart(ui, &chart, h) {
                asked = Some((chart, k));
            }
            ui.add_space(8.0);
        };
        let h = 220.0;
        match self.page {
            PlotPage::Errors => {
                show(
                    ui,
                    behind(charts::train_error(runs), ChartKind::TrainError),
                    h,
                );
                show(
                    ui,
                    behind(charts::test_error(runs), ChartKind::TestError),
                    h,
                );
                show(ui, behind(charts::loss(runs), ChartKind::Loss), h);
            }
            PlotPage::Gradients => {
                show(ui, behind(charts::grad_flow(runs), ChartKind::GradFlow), h);
                show(
                    ui,
                    behind(charts::activation_std(runs), ChartKind::ActivationStd),
                    h,
                );
                // One colour scale for all of them: the same colour is the same norm.
                let mut grids: Vec<_> = runs.iter().map(|r| charts::grad_heatmap(r, 120)).collect();
                crate::plot::Grid::share_scale(&mut grids);
                for grid in grids {
                    if let Some(k) = plots::heatmap(ui, &grid, 120.0) {
                        let c = ui.ctx().clone();
                        self.exporter
                            .export_grid(grid, k, move || c.request_repaint());
                    }
                    ui.add_space(6.0);
                }
            }
            PlotPage::Sweep => {
                show(
                    ui,
                    behind(Self::sweep_chart(state), ChartKind::Sweep),
                    h + 60.0,
                );
            }
        }
        asked
    }
}

impl View for TrainView {
    fn id(&self) -> &'static str {
        "Train"
    }

    fn title(&self) -> &'static str {
        "Train"
    }

    fn hover(&self) -> &'static str {
        "Pick nets and hyper-parameters, train them side by side, watch the curves"
    }

    fn ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        self.frame(ui, state);
    }

    fn poll(&mut self, state: &mut AppState, _ctx: &egui::Context) {
        self.exporter.dir = state.export_dir.clone();
        self.exporter.poll();
        if let Some(r) = self.opening.poll() {
            match r {
                Ok(saved) => {
                    self.config = saved.config;
                    state.send(Command::LoadSource(saved.experiment.data.source));
                    state.scheduler.restore(saved.histories, saved.sweep);
                    state.try_run = None;
                    state.scheduler.message = Some(format!("Opened {}.", self.experiment_path));
                }
                Err(e) => state.scheduler.message = Some(e),
            }
        }
    }

    crate::view_any!();
}

/// What a run's status line says: a short word with a symbol, and the colour to say it in.
pub fn status_word(status: &RunStatus, done: usize, total: usize) -> (String, StatusTone) {
    match status {
        RunStatus::Waiting => ("waiting".into(), StatusTone::Quiet),
        RunStatus::Running => ("training".into(), StatusTone::Normal),
        RunStatus::Paused => ("⏸ paused".into(), StatusTone::Quiet),
        RunStatus::Finished => ("✔ finished".into(), StatusTone::Good),
        RunStatus::Stopped => (
            format!("⏹ stopped at {done}/{total}: incomplete"),
            StatusTone::Warn,
        ),
        // The step and the hint follow on the line below (RunStatus::describe).
        RunStatus::Diverged { .. } => ("⚠ diverged".into(), StatusTone::Bad),
        RunStatus::Failed(_) => ("⚠ failed".into(), StatusTone::Bad),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusTone {
    Normal,
    Quiet,
    Good,
    Warn,
    Bad,
}

/// One run's line: name, a bar that shows how much of its budget it did, its state in words,
/// the time left (only while training) and its error so far.
fn run_row(ui: &mut Ui, r: &crate::train::StoredRun) {
    let h = &r.history;
    let (done, total) = (h.steps_done(), h.total_steps);
    let (word, tone) = status_word(&h.status, done, total);
    let v = ui.visuals();
    let (text_c, bar_c) = match tone {
        StatusTone::Normal => (v.text_color(), v.selection.bg_fill),
        StatusTone::Quiet => (v.weak_text_color(), v.widgets.inactive.bg_fill),
        StatusTone::Good => (egui::Color32::from_rgb(80, 180, 100), v.selection.bg_fill),
        StatusTone::Warn => (v.warn_fg_color, v.widgets.inactive.bg_fill),
        StatusTone::Bad => (v.error_fg_color, v.error_fg_color.gamma_multiply(0.5)),
    };
    // Each piece moves to the next line whole rather than breaking mid-phrase.
    let piece = |ui: &mut Ui, t: RichText| {
        ui.add(egui::Label::new(t).wrap_mode(egui::TextWrapMode::Extend))
    };
    ui.horizontal_wrapped(|ui| {
        piece(ui, RichText::new(&h.label).strong());
        ui.add(
            egui::ProgressBar::new(r.fraction())
                .desired_width(130.0)
                .fill(bar_c)
                .text(format!("{done}/{total} steps")),
        );
        piece(ui, RichText::new(word).color(text_c));
        if let Some(eta) = r.eta_secs() {
            piece(
                ui,
                RichText::new(format!("about {:.0} s left", eta.ceil())).weak(),
            );
        }
        // The same figure the curve and the lesson checks use: the mean over the last steps.
        if let Some(e) = h.final_train_err() {
            let w = crate::train::history::window(h.steps_done());
            let what = if h.status == RunStatus::Finished {
                "final train err"
            } else {
                "train err"
            };
            piece(
                ui,
                RichText::new(format!("{what} {:.1}% (mean of last {w} steps)", e * 100.0))
                    .weak(),
            )
            .on_hover_text("Mean mini-batch training error over the last steps: what the training-error curve shows and the lesson checks compare");
        }
    });
    match &h.status {
        RunStatus::Diverged { .. } | RunStatus::Failed(_) => {
            ui.label(
                RichText::new(h.status.describe())
                    .small()
                    .color(ui.visuals().error_fg_color),
            );
        }
        _ => {}
    }
    // A run that ended but learned nothing says so, with what to try.
    if let Some(v) = h.verdict() {
        ui.label(RichText::new(v).small().color(ui.visuals().warn_fg_color));
    }
}

//! The Train view: pick nets and hyper-parameters, run them side by side, watch live plots.
mod setup;

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
use web_time::{Duration, Instant};

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
                        self.exporter.export(chart, kind, super::repaint_wake(&ctx));
                    }
                });
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
                        self.exporter
                            .export_grid(grid, k, super::repaint_wake(ui.ctx()));
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

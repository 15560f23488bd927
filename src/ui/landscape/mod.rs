//! The Landscape tab: the loss surface around a plain net and its residual twin (Li et al.
//! 2018), computed on a worker and drawn as it arrives. This file holds the state and the page
//! layout; `paint` draws the panels, `sources` finds and copies the nets.
mod pages;
pub mod paint;

use crate::landscape::sources::{self, Candidate, Computation, NetRef, OpenedRun};
use crate::landscape::{Landscape, Settings, Status};
use crate::plot::contour::ContourPlot;
use crate::plot::field::Levels;
use crate::plot::landscape as pictures;
use crate::plot::surface::{Scene, View3};
use crate::task::Task;
use crate::ui::export::Exporter;
use crate::ui::state::{AppState, Command};
use crate::ui::view::View;
use egui::{RichText, TextureHandle, Ui};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Page {
    #[default]
    Contours,
    Surface,
    Curves,
}

/// Pictures made from the landscape at `done` points (redrawn only when more points arrive).
struct Drawn {
    done: usize,
    status: Status,
    levels: Levels,
    contours: Vec<ContourPlot>,
    textures: Vec<TextureHandle>,
    scenes: Option<(View3, Vec<Scene>)>,
}

/// Whose surfaces the tab shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    /// What the learner computed here with ▶ Compute (if anything).
    Own,
    /// The surfaces the lesson's Try it computes after its runs.
    Lesson,
}

pub struct LandscapeView {
    pub settings: Settings,
    /// The nets chosen in the two pickers.
    pub plain: Option<NetRef>,
    pub residual: Option<NetRef>,
    /// Runs opened from their folders.
    pub folders: Vec<OpenedRun>,
    pub folder_path: String,
    opening: Option<(PathBuf, Task<OpenedRun>)>,
    /// What ▶ Compute started, for the nets it names.
    pub own: Option<Computation>,
    pub shown: Shown,
    pub page: Page,
    pub view3: View3,
    pub exporter: Exporter,
    /// Size of exported pictures, in pixels.
    pub png_size: [u32; 2],
    pub message: Option<String>,
    drawn: Option<Drawn>,
    /// The nets on offer last frame.
    seen: Option<Vec<Candidate>>,
}

impl Default for LandscapeView {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            plain: None,
            residual: None,
            folders: Vec::new(),
            folder_path: String::new(),
            opening: None,
            own: None,
            shown: Shown::Own,
            page: Page::Contours,
            view3: View3::default(),
            exporter: Exporter::default(),
            png_size: [1800, 900],
            message: None,
            drawn: None,
            seen: None,
        }
    }
}

/// The computation the tab shows: the learner's own, or the lesson Try it's.
fn shown<'a>(
    shown: Shown,
    own: Option<&'a Computation>,
    state: &'a AppState,
) -> Option<&'a Computation> {
    match shown {
        Shown::Own => own,
        Shown::Lesson => state.try_run.as_ref()?.surfaces.as_ref(),
    }
}

impl LandscapeView {
    /// Whether the surfaces shown are still being computed.
    pub fn is_running(&self, state: &AppState) -> bool {
        shown(self.shown, self.own.as_ref(), state).is_some_and(Computation::is_running)
    }

    pub fn is_opening(&self) -> bool {
        self.opening.is_some()
    }

    /// The landscape on screen, as far as it got.
    pub fn result<'a>(&'a self, state: &'a AppState) -> Option<&'a Landscape> {
        shown(self.shown, self.own.as_ref(), state).map(|c| &c.result)
    }

    /// Starts computing the chosen nets' landscapes.
    pub fn start(&mut self, state: &mut AppState, ctx: &egui::Context) {
        self.cancel_own();
        let ids: Vec<NetRef> = [self.plain, self.residual].into_iter().flatten().collect();
        let wake = state.wake(ctx);
        match Computation::start(
            &ids,
            &state.scheduler.store,
            &self.folders,
            self.settings.clone(),
            wake,
        ) {
            Ok(mut c) => {
                c.result.status = Status::Running;
                self.own = Some(c);
                self.shown = Shown::Own;
                self.drawn = None;
                self.message = None;
            }
            Err(e) => self.message = Some(format!("Cannot start: {e}.")),
        }
    }

    /// Shows the lesson Try it's surfaces (they just started): the pickers and settings show
    /// what they are of.
    pub fn show_lesson(&mut self, state: &AppState) {
        let Some(c) = state.try_run.as_ref().and_then(|t| t.surfaces.as_ref()) else {
            return;
        };
        self.cancel_own();
        if let [p, r] = c.of.as_slice() {
            self.plain = Some(*p);
            self.residual = Some(*r);
        }
        if let Some(s) = state.try_run.as_ref().and_then(|t| {
            Some(
                t.landscape
                    .as_ref()?
                    .settings(t.prepared.as_ref()?.plan.hyper.seed),
            )
        }) {
            self.settings = s;
        }
        self.shown = Shown::Lesson;
        self.page = Page::Contours;
        self.drawn = None;
        self.message = None;
    }

    fn cancel_own(&mut self) {
        if let Some(c) = &self.own {
            c.cancel();
        }
    }

    /// Opens the run folder typed in the path field in the background.
    pub fn open_folder(&mut self, ctx: &egui::Context) {
        let dir = PathBuf::from(self.folder_path.trim());
        if dir.as_os_str().is_empty() {
            self.message = Some("Type the path of a run folder (saved with its weights).".into());
            return;
        }
        let d = dir.clone();
        let task = Task::run("open the run", crate::ui::repaint_wake(ctx), move || {
            sources::open_folder(&d)
        });
        self.opening = Some((dir, task));
        self.message = None;
    }

    /// The tab: choices and settings on top, the pictures below.
    fn frame(&mut self, ui: &mut Ui, state: &mut AppState) {
        let cands = sources::candidates(&state.scheduler.store, &self.folders);
        self.keep_valid(&cands, state);
        // The learner's own computation is taken out for the frame, so the pictures can borrow
        // it while the view draws.
        let own = self.own.take();
        let (l, running, secs) = match shown(self.shown, own.as_ref(), state) {
            Some(c) => (
                Some(&c.result),
                c.is_running(),
                c.secs.unwrap_or_else(|| c.started.elapsed().as_secs_f64()),
            ),
            None => (None, false, 0.0),
        };
        let empty = Landscape::new();
        let l = l.unwrap_or(&empty);
        let mut cancel = false;
        let mut compute = false;
        self.controls(ui, &cands, (l, secs), running, &mut cancel, &mut compute);
        ui.separator();
        self.page_bar(ui, l);
        self.redraw_if_needed(ui, l);
        match self.page {
            Page::Contours => self.contours(ui, l),
            Page::Surface => self.surfaces(ui),
            Page::Curves => self.curves(ui, l),
        }
        self.own = own;
        if cancel {
            match self.shown {
                Shown::Own => self.cancel_own(),
                Shown::Lesson => state.send(Command::CancelLessonSurfaces),
            }
        }
        if compute {
            self.start(state, ui.ctx());
        }
        if running {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
        }
        if let Some(t) = self.exporter.notice_expires_in() {
            ui.ctx().request_repaint_after(t);
        }
    }

    /// Drops choices that no longer name the net they named; when the list of nets changes,
    /// fills an empty picker with the newest net of its family (a "(none)" the learner chose
    /// stays until then).
    fn keep_valid(&mut self, cands: &[Candidate], state: &AppState) {
        let changed = self.seen.as_deref() != Some(cands);
        if changed {
            self.seen = Some(cands.to_vec());
        }
        for (slot, residual) in [(&mut self.plain, false), (&mut self.residual, true)] {
            if slot.is_some_and(|id| !cands.iter().any(|c| c.id == id && c.residual == residual)) {
                *slot = None;
            }
            if slot.is_none() && changed {
                *slot = cands
                    .iter()
                    .rev()
                    .find(|c| c.residual == residual)
                    .map(|c| c.id);
            }
        }
        // Never surfaces of nets that are not the ones picked (the pickers changed, Undo took
        // the lesson's runs away): the pictures go, and a computation still running stops.
        let picked: Vec<NetRef> = [self.plain, self.residual].into_iter().flatten().collect();
        if let Some(c) = shown(self.shown, self.own.as_ref(), state)
            && c.of != picked
        {
            if self.shown == Shown::Own {
                self.cancel_own();
                self.own = None;
            }
            self.shown = Shown::Own;
            self.drawn = None;
        } else if self.shown == Shown::Lesson && shown(self.shown, None, state).is_none() {
            self.shown = Shown::Own;
            self.drawn = None;
        }
    }

    fn controls(
        &mut self,
        ui: &mut Ui,
        cands: &[Candidate],
        (l, secs): (&Landscape, f64),
        busy: bool,
        cancel: &mut bool,
        compute: &mut bool,
    ) {
        ui.horizontal_wrapped(|ui| {
            for (name, residual) in [("Plain net", false), ("Residual net", true)] {
                let l = ui.label(name);
                let slot = if residual {
                    &mut self.residual
                } else {
                    &mut self.plain
                };
                let text = slot
                    .and_then(|id| cands.iter().find(|c| c.id == id))
                    .map(|c| c.label.clone())
                    .unwrap_or_else(|| "(none)".into());
                ui.add_enabled_ui(!busy, |ui| {
                    egui::ComboBox::from_id_salt(("landscape-net", residual))
                        .selected_text(text)
                        .width(140.0)
                        .show_ui(ui, |ui| {
                            ui.selectable_value(slot, None, "(none)");
                            for c in cands.iter().filter(|c| c.residual == residual) {
                                ui.selectable_value(slot, Some(c.id), &c.label);
                            }
                        })
                        .response
                        .labelled_by(l.id);
                });
            }
            ui.separator();
            let l = ui.label("Run folder");
            ui.add(egui::TextEdit::singleline(&mut self.folder_path).desired_width(130.0))
                .labelled_by(l.id)
                .on_hover_text("A folder written by `resnet-lab train --save DIR`");
            if self.opening.is_some() {
                ui.spinner();
            } else if ui
                .button("Open")
                .on_hover_text("Read the run's trained net and the data it trained on")
                .clicked()
            {
                self.open_folder(ui.ctx());
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.add_enabled_ui(!busy, |ui| {
                let s = &mut self.settings;
                setting(ui, "Grid", egui::DragValue::new(&mut s.grid).range(3..=101))
                    .on_hover_text("Points per side (odd: the trained net is the middle point)");
                setting(
                    ui,
                    "Range ±",
                    egui::DragValue::new(&mut s.range)
                        .range(0.05..=10.0)
                        .speed(0.05),
                )
                .on_hover_text("The grid spans [-range, range] along both directions");
                setting(
                    ui,
                    "Images",
                    egui::DragValue::new(&mut s.images)
                        .range(10..=50_000)
                        .speed(10),
                )
                .on_hover_text(
                    "Training images every point is evaluated on (the same for both nets)",
                );
                setting(ui, "Seed", egui::DragValue::new(&mut s.seed))
                    .on_hover_text("Seeds the two random directions (the same for both nets)");
            });
            if busy {
                if ui.button("■ Cancel").clicked() {
                    *cancel = true;
                }
            } else if ui
                .add_enabled(!cands.is_empty(), egui::Button::new("▶ Compute"))
                .on_hover_text("Evaluate both nets on the grid around their trained weights")
                .on_disabled_hover_text(
                    "Train a plain net and its residual twin first, or open run folders",
                )
                .clicked()
            {
                *compute = true;
            }
            Self::status_line(ui, l, secs);
        });
        if cands.is_empty() && self.opening.is_none() {
            ui.weak("No trained nets yet: train a plain net and its residual twin in the Train tab, or open a saved run folder.");
        }
        if let Some(m) = &self.message {
            ui.label(RichText::new(m).color(ui.visuals().warn_fg_color));
        }
    }

    fn status_line(ui: &mut Ui, l: &Landscape, secs: f64) {
        match &l.status {
            Status::Waiting => {}
            Status::Running => {
                let text = if l.total == 0 {
                    "copying the nets…".to_string()
                } else {
                    let eta = if l.done > 0 {
                        format!(
                            ", about {:.0}s left",
                            secs / l.done as f64 * (l.total - l.done.min(l.total)) as f64
                        )
                    } else {
                        String::new()
                    };
                    format!("{}/{} points, {secs:.0}s{eta}", l.done, l.total)
                };
                ui.add(
                    egui::ProgressBar::new(l.progress())
                        .desired_width(220.0)
                        .text(text),
                );
            }
            Status::Finished { wall_secs } => {
                ui.label(format!(
                    "Done: {} points over {} images in {wall_secs:.1}s.",
                    l.done, l.images
                ));
            }
            Status::Cancelled => {
                ui.label(format!(
                    "Cancelled at {}/{} points: what was computed is shown.",
                    l.done, l.total
                ));
            }
            Status::Failed(e) => {
                ui.label(RichText::new(format!("Failed: {e}")).color(ui.visuals().error_fg_color));
            }
        }
    }

    fn page_bar(&mut self, ui: &mut Ui, l: &Landscape) {
        let has = l.nets.iter().any(|n| n.surface.filled > 0);
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut self.page, Page::Contours, "Contours");
            ui.selectable_value(&mut self.page, Page::Surface, "3-D surface");
            ui.selectable_value(&mut self.page, Page::Curves, "Curves");
            ui.separator();
            let size = ui.label("PNG size");
            ui.add(egui::DragValue::new(&mut self.png_size[0]).range(200..=8000).suffix(" px"))
                .labelled_by(size.id);
            ui.label("×");
            ui.add(egui::DragValue::new(&mut self.png_size[1]).range(150..=8000).suffix(" px"));
            let ctx = ui.ctx().clone();
            if ui
                .add_enabled(has, egui::Button::new("Save PNG"))
                .on_hover_text("Draw this page's pictures at the size given and save them as PNG")
                .clicked()
            {
                self.export_png(&ctx, l);
            }
            if ui
                .add_enabled(has, egui::Button::new("Save CSV"))
                .on_hover_text("Write every computed point (net, x, y, loss, error), as `resnet-lab landscape` does")
                .clicked()
            {
                self.export_csv(&ctx, l);
            }
            if let Some(t) = self.exporter.notice_text() {
                ui.weak(t);
            }
        });
    }

    /// Writes this page's pictures as PNG on a worker.
    pub fn export_png(&mut self, ctx: &egui::Context, l: &Landscape) {
        let l = l.clone();
        let size = (self.png_size[0], self.png_size[1]);
        let view = self.view3;
        let wake = crate::ui::repaint_wake(ctx);
        let (name, make): (&str, Drawing) = match self.page {
            Page::Contours => (
                "landscape-contours.png",
                Box::new(move || {
                    let levels = pictures::shared_levels(&l);
                    crate::plot::contours_to_png(
                        &pictures::title(&l),
                        &pictures::contour_plots(&l, &levels),
                        size,
                    )
                }),
            ),
            Page::Surface => (
                "landscape-surface-3d.png",
                Box::new(move || {
                    let levels = pictures::shared_levels(&l);
                    let scenes = pictures::surface_scenes(&l, &levels, view);
                    crate::plot::surfaces_to_png(&pictures::title(&l), &scenes, &levels, size)
                }),
            ),
            Page::Curves => (
                "landscape-line-loss.png",
                Box::new(move || crate::plot::to_png(&pictures::line_chart(&l, false), size)),
            ),
        };
        let path = self.exporter.folder().join(name);
        self.exporter.spawn(path, wake, make);
    }

    /// Writes the grid (and the line) as CSV on a worker: the same tables as the CLI's
    /// `surface.csv` and `line.csv`.
    pub fn export_csv(&mut self, ctx: &egui::Context, l: &Landscape) {
        let l = l.clone();
        let path = self.exporter.folder().join("landscape-surface.csv");
        let l2 = l.clone();
        self.exporter
            .spawn(path, crate::ui::repaint_wake(ctx), move || {
                Ok(pictures::surface_csv(&l2).into_bytes())
            });
        if l.nets.iter().any(|n| n.line.is_some()) {
            let path = self.exporter.folder().join("landscape-line.csv");
            self.exporter
                .spawn(path, crate::ui::repaint_wake(ctx), move || {
                    Ok(pictures::line_csv(&l).into_bytes())
                });
        }
    }

    fn redraw_if_needed(&mut self, ui: &Ui, l: &Landscape) {
        let stale = self
            .drawn
            .as_ref()
            .is_none_or(|d| d.done != l.done || d.status != l.status);
        if stale {
            let levels = pictures::shared_levels(l);
            let contours = pictures::contour_plots(l, &levels);
            let textures = contours
                .iter()
                .enumerate()
                .map(|(i, p)| paint::texture(ui, &format!("landscape-{i}"), p))
                .collect();
            self.drawn = Some(Drawn {
                done: l.done,
                status: l.status.clone(),
                levels,
                contours,
                textures,
                scenes: None,
            });
        }
        if let Some(d) = &mut self.drawn
            && self.page == Page::Surface
            && d.scenes.as_ref().is_none_or(|(v, _)| *v != self.view3)
        {
            d.scenes = Some((
                self.view3,
                pictures::surface_scenes(l, &d.levels, self.view3),
            ));
        }
    }
}

/// Draws a picture's bytes on an export worker.
type Drawing = Box<dyn FnOnce() -> Result<Vec<u8>, String> + Send>;

fn setting(ui: &mut Ui, name: &str, w: egui::DragValue<'_>) -> egui::Response {
    let l = ui.label(name);
    ui.add(w).labelled_by(l.id)
}

impl View for LandscapeView {
    fn id(&self) -> &'static str {
        "Landscape"
    }

    fn title(&self) -> &'static str {
        "Landscape"
    }

    fn hover(&self) -> &'static str {
        "The loss surface around a trained plain net and its residual twin"
    }

    fn ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        self.exporter.dir = state.export_dir.clone();
        self.frame(ui, state);
    }

    /// Collects opened folders and the learner's own computation, whatever the tab.
    fn poll(&mut self, _state: &mut AppState, _ctx: &egui::Context) {
        if let Some((dir, task)) = &mut self.opening
            && let Some(r) = task.poll()
        {
            match r {
                Ok(run) => {
                    let id = NetRef::Folder(self.folders.len());
                    if run.residual {
                        self.residual = Some(id);
                    } else {
                        self.plain = Some(id);
                    }
                    self.message = Some(format!("Opened {} from {}.", run.label, dir.display()));
                    self.folders.push(run);
                }
                Err(e) => self.message = Some(format!("Could not open the run: {e}")),
            }
            self.opening = None;
        }
        if let Some(c) = &mut self.own {
            c.poll();
        }
        self.exporter.poll();
    }

    crate::view_any!();
}

//! The Landscape tab: the loss surface around a plain net and its residual twin (Li et al.
//! 2018), computed on a worker and drawn as it arrives. This file holds the state and the page
//! layout; `paint` draws the panels, `sources` finds and copies the nets.
mod pages;
pub mod paint;
pub mod sources;

use crate::landscape::{Event, JobHandle, Landscape, Settings, Status};
use crate::plot::contour::ContourPlot;
use crate::plot::field::Levels;
use crate::plot::landscape as pictures;
use crate::plot::surface::{Scene, View3};
use crate::task::Task;
use crate::train::store::RunId;
use crate::ui::export::Exporter;
use crate::ui::session::Session;
use egui::{RichText, TextureHandle, Ui};
use sources::{Candidate, NetRef, OpenedRun};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

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

pub struct LandscapeView {
    pub settings: Settings,
    /// The nets chosen in the two pickers.
    pub plain: Option<NetRef>,
    pub residual: Option<NetRef>,
    /// Runs opened from their folders.
    pub folders: Vec<OpenedRun>,
    pub folder_path: String,
    opening: Option<(PathBuf, Task<OpenedRun>)>,
    job: Option<JobHandle>,
    /// The nets the landscape shown was computed from.
    computed_for: Vec<NetRef>,
    started: Option<Instant>,
    /// What has been computed so far (also read by lesson checks).
    pub result: Landscape,
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
            job: None,
            computed_for: Vec::new(),
            started: None,
            result: Landscape::new(),
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

impl LandscapeView {
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    pub fn is_opening(&self) -> bool {
        self.opening.is_some()
    }

    /// Drains the job's and the folder loader's news; call every frame, whatever the tab.
    pub fn poll(&mut self) {
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
        if let Some(job) = &self.job {
            // Read before draining: a job that had ended by now has sent all its events.
            let finished = job.is_finished();
            for e in job.drain() {
                self.result.apply(&e);
            }
            if finished && let Some(job) = self.job.take() {
                let ended = job.join();
                if !self.result.status.is_done() {
                    let reason = ended
                        .err()
                        .unwrap_or_else(|| "the worker stopped without saying why".into());
                    self.result.apply(&Event::Failed { reason });
                }
            }
        }
        self.exporter.poll();
    }

    /// Starts computing the chosen nets' landscapes.
    pub fn start(&mut self, session: &Session, ctx: &egui::Context) {
        self.cancel();
        let ids: Vec<NetRef> = [self.plain, self.residual].into_iter().flatten().collect();
        let ctx = ctx.clone();
        let wake: crate::task::Wake = Arc::new(move || ctx.request_repaint());
        match sources::spawn_job(&ids, session, &self.folders, self.settings.clone(), wake) {
            Ok(job) => {
                self.job = Some(job);
                self.computed_for = ids;
                self.result = Landscape::new();
                self.result.status = Status::Running;
                self.started = Some(Instant::now());
                self.drawn = None;
                self.message = None;
            }
            Err(e) => self.message = Some(format!("Cannot start: {e}.")),
        }
    }

    /// Computes the surfaces of the session's runs `plain` and `residual` with `settings` (a
    /// lesson's Try it, once its pair has finished): the pickers and settings show what runs.
    pub fn compute_pair(
        &mut self,
        plain: RunId,
        residual: RunId,
        settings: Settings,
        session: &Session,
        ctx: &egui::Context,
    ) {
        self.plain = Some(NetRef::Trained(plain));
        self.residual = Some(NetRef::Trained(residual));
        self.settings = settings;
        self.page = Page::Contours;
        self.start(session, ctx);
        if self.job.is_none() {
            // Refused (memory, a net gone): the lesson's check says why instead of waiting.
            let why = self.message.clone().unwrap_or_default();
            self.computed_for = vec![NetRef::Trained(plain), NetRef::Trained(residual)];
            self.result = Landscape::new();
            self.result.status = Status::Failed(why);
            self.drawn = None;
        }
    }

    /// Whether the landscape shown (computed, or being computed) is that of these two runs.
    pub fn is_of_pair(&self, plain: RunId, residual: RunId) -> bool {
        self.computed_for == [NetRef::Trained(plain), NetRef::Trained(residual)]
    }

    /// The landscape, when it was computed from runs the session still holds (what a lesson
    /// check may read; the check itself matches the nets to the runs it judges).
    pub fn result_of_session(&self, session: &Session) -> Option<&Landscape> {
        let held = !self.computed_for.is_empty()
            && self.computed_for.iter().all(|id| match id {
                NetRef::Trained(id) => session.store.get(*id).is_some(),
                NetRef::Folder(_) => false,
            });
        held.then_some(&self.result)
    }

    pub fn cancel(&mut self) {
        if let Some(job) = &self.job {
            job.cancel();
        }
    }

    /// Opens the run folder typed in the path field on a worker.
    pub fn open_folder(&mut self, ctx: &egui::Context) {
        let dir = PathBuf::from(self.folder_path.trim());
        if dir.as_os_str().is_empty() {
            self.message = Some("Type the path of a run folder (saved with its weights).".into());
            return;
        }
        let (d, ctx) = (dir.clone(), ctx.clone());
        let task = Task::run(
            "open the run",
            Arc::new(move || ctx.request_repaint()),
            move || sources::open_folder(&d),
        );
        self.opening = Some((dir, task));
        self.message = None;
    }

    /// The tab: choices and settings on top, the pictures below.
    pub fn ui(&mut self, ui: &mut Ui, session: &Session, export_dir: &str) {
        self.poll();
        self.exporter.dir = export_dir.to_string();
        let cands = sources::candidates(session, &self.folders);
        self.keep_valid(&cands);
        self.controls(ui, session, &cands);
        ui.separator();
        self.page_bar(ui);
        self.redraw_if_needed(ui);
        match self.page {
            Page::Contours => self.contours(ui),
            Page::Surface => self.surfaces(ui),
            Page::Curves => self.curves(ui),
        }
        if self.job.is_some() {
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
    fn keep_valid(&mut self, cands: &[Candidate]) {
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
    }

    fn controls(&mut self, ui: &mut Ui, session: &Session, cands: &[Candidate]) {
        let busy = self.job.is_some();
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
                    self.cancel();
                }
            } else if ui
                .add_enabled(!cands.is_empty(), egui::Button::new("▶ Compute"))
                .on_hover_text("Evaluate both nets on the grid around their trained weights")
                .on_disabled_hover_text(
                    "Train a plain net and its residual twin first, or open run folders",
                )
                .clicked()
            {
                self.start(session, ui.ctx());
            }
            self.status_line(ui);
        });
        if cands.is_empty() && self.opening.is_none() {
            ui.weak("No trained nets yet: train a plain net and its residual twin in the Train tab, or open a saved run folder.");
        }
        if let Some(m) = &self.message {
            ui.label(RichText::new(m).color(ui.visuals().warn_fg_color));
        }
    }

    fn status_line(&self, ui: &mut Ui) {
        let l = &self.result;
        match &l.status {
            Status::Waiting => {}
            Status::Running => {
                let secs = self
                    .started
                    .map(|t| t.elapsed().as_secs_f64())
                    .unwrap_or(0.0);
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

    fn page_bar(&mut self, ui: &mut Ui) {
        let has = self.result.nets.iter().any(|n| n.surface.filled > 0);
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut self.page, Page::Contours, "Contours");
            ui.selectable_value(&mut self.page, Page::Surface, "3-D surface");
            ui.selectable_value(&mut self.page, Page::Curves, "Curves");
            ui.separator();
            let l = ui.label("PNG size");
            ui.add(egui::DragValue::new(&mut self.png_size[0]).range(200..=8000).suffix(" px"))
                .labelled_by(l.id);
            ui.label("×");
            ui.add(egui::DragValue::new(&mut self.png_size[1]).range(150..=8000).suffix(" px"));
            let ctx = ui.ctx().clone();
            if ui
                .add_enabled(has, egui::Button::new("Save PNG"))
                .on_hover_text("Draw this page's pictures at the size given and save them as PNG")
                .clicked()
            {
                self.export_png(&ctx);
            }
            if ui
                .add_enabled(has, egui::Button::new("Save CSV"))
                .on_hover_text("Write every computed point (net, x, y, loss, error), as `resnet-lab landscape` does")
                .clicked()
            {
                self.export_csv(&ctx);
            }
            if let Some(t) = self.exporter.notice_text() {
                ui.weak(t);
            }
        });
    }

    /// Writes this page's pictures as PNG on a worker.
    pub fn export_png(&mut self, ctx: &egui::Context) {
        let l = self.result.clone();
        let size = (self.png_size[0], self.png_size[1]);
        let view = self.view3;
        let wake = waker(ctx);
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
    pub fn export_csv(&mut self, ctx: &egui::Context) {
        let l = self.result.clone();
        let path = self.exporter.folder().join("landscape-surface.csv");
        let l2 = l.clone();
        self.exporter.spawn(path, waker(ctx), move || {
            Ok(pictures::surface_csv(&l2).into_bytes())
        });
        if l.nets.iter().any(|n| n.line.is_some()) {
            let path = self.exporter.folder().join("landscape-line.csv");
            self.exporter.spawn(path, waker(ctx), move || {
                Ok(pictures::line_csv(&l).into_bytes())
            });
        }
    }

    fn redraw_if_needed(&mut self, ui: &Ui) {
        let l = &self.result;
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

fn waker(ctx: &egui::Context) -> impl Fn() + Send + 'static {
    let ctx = ctx.clone();
    move || ctx.request_repaint()
}

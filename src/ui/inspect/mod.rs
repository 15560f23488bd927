//! The Inspect tab: look inside trained nets, a plain net and its residual twin side by side.
//!
//! State and layout live here; `pages.rs` (predictions, confusion) and `maps.rs` (feature maps,
//! filters) lay their pages out; `paint.rs` paints matrices, mosaics and thumbnails. Evaluation,
//! feature maps and folder loading run as [`Job`]s on worker threads (the UI never waits for a
//! net), all computed by `train::eval`.
mod maps;
mod pages;
mod paint;

use crate::task::{Task, TaskCtx, Wake};

use super::export::Exporter;
use super::state::AppState;
use super::train_view::status_word;
use super::view::View;
use crate::data::{Dataset, SplitKind};
use crate::nn::presets::plain_twin;
use crate::nn::{Model, ModelOptions, NetSpec};
use crate::plot::Family;
use crate::plot::inspect::Mosaic;
use crate::rng::Rng64;
use crate::train::RunStore;
use crate::train::eval::{self, Evaluation, FeatureMap, Filters};
use crate::train::run_dir;
use crate::train::store::SharedModel;
use egui::{RichText, Ui};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// The pages of the tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum InspectPage {
    #[default]
    Predictions,
    Confusion,
    FeatureMaps,
    Filters,
}

/// Which test images the predictions page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Show {
    #[default]
    All,
    /// Classified wrongly by the plain net (or by the net in that slot).
    WrongPlain,
    WrongResidual,
    /// The two nets give different classes.
    Disagree,
}

/// The two columns of the tab: a plain net and a residual net.
pub const PLAIN: usize = 0;
pub const RESIDUAL: usize = 1;

/// A trained net the tab can look at, with the data set it trained on (its test split is what
/// the net is judged on, normalised as the net saw it).
#[derive(Clone)]
pub struct Candidate {
    pub label: String,
    pub family: Family,
    pub spec: NetSpec,
    pub model: SharedModel,
    pub data: Arc<Dataset>,
    /// Where it came from, for the picker: a status such as "finished", or the folder.
    pub origin: String,
    /// The seed and options it was initialised with, to show its filters before training.
    pub start: Option<(u64, ModelOptions)>,
}

impl Candidate {
    /// Identity of the trained net (its shared model), stable while anyone holds it.
    pub fn key(&self) -> usize {
        Arc::as_ptr(&self.model) as *const () as usize
    }
}

/// The trained runs of the Train view, newest last.
pub fn session_candidates(store: &RunStore) -> Vec<Candidate> {
    store
        .runs()
        .iter()
        .filter_map(|r| {
            let (model, data) = (r.model.clone()?, r.data.clone()?);
            let spec = r.history.net.as_ref()?.spec.clone();
            let h = &r.history;
            let (status, _) = status_word(&h.status, h.steps_done(), h.total_steps);
            Some(Candidate {
                label: h.label.clone(),
                family: Family::of_spec(&spec),
                spec,
                model,
                data,
                origin: status,
                start: Some((h.hyper.seed, h.hyper.model)),
            })
        })
        .collect()
}

/// What is known about one picked net.
pub struct NetView {
    pub cand: Candidate,
    eval_job: Option<Task<Looked>>,
    pub eval: Option<Result<Arc<Evaluation>, String>>,
    pub filters: Option<Arc<Filters>>,
    /// The same filters as they were before training.
    pub init_filters: Option<Arc<Filters>>,
    /// The feature maps of one test image, with its index.
    pub maps: Option<(usize, Arc<Vec<FeatureMap>>)>,
    maps_job: Option<(usize, Task<Vec<FeatureMap>>)>,
    pub maps_error: Option<String>,
}

impl NetView {
    fn new(cand: Candidate) -> Self {
        Self {
            cand,
            eval_job: None,
            eval: None,
            filters: None,
            init_filters: None,
            maps: None,
            maps_job: None,
            maps_error: None,
        }
    }

    /// The finished evaluation, if any.
    pub fn evaluation(&self) -> Option<&Arc<Evaluation>> {
        self.eval.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// Share of the evaluation done while it runs.
    pub fn eval_progress(&self) -> Option<f32> {
        self.eval_job.as_ref().map(Task::fraction)
    }

    pub fn maps_running(&self) -> bool {
        self.maps_job.is_some()
    }
}

pub struct InspectView {
    pub page: InspectPage,
    /// `[plain, residual]`.
    pub nets: [Option<NetView>; 2],
    /// Pick the newest pair by itself until the learner picks.
    pub auto: bool,
    /// The test image whose feature maps are shown (index in the test split).
    pub image: usize,
    /// The confusion cell whose images are listed: (slot, true class, predicted class).
    pub cell: Option<(usize, usize, usize)>,
    pub show: Show,
    /// Only images of this true class on the predictions page.
    pub class_filter: Option<usize>,
    /// Page of the predictions grid.
    pub grid_page: usize,
    /// Channels shown per feature map.
    pub channels: usize,
    pub exporter: Exporter,
    /// Runs opened from folders.
    pub opened: Vec<Candidate>,
    pub open_path: String,
    opening: Option<Task<Candidate>>,
    pub message: Option<String>,
    paint: paint::Textures,
    /// The feature-map and filter pictures last built, by a key naming their content.
    maps_cache: Option<(String, Arc<Mosaic>)>,
    filters_cache: Option<(String, Arc<Mosaic>)>,
    wake: Option<Wake>,
}

impl Default for InspectView {
    fn default() -> Self {
        Self {
            page: InspectPage::Predictions,
            nets: [None, None],
            auto: true,
            image: 0,
            cell: None,
            show: Show::All,
            class_filter: None,
            grid_page: 0,
            channels: 8,
            exporter: Exporter::default(),
            opened: Vec::new(),
            open_path: String::new(),
            opening: None,
            message: None,
            paint: paint::Textures::default(),
            maps_cache: None,
            filters_cache: None,
            wake: None,
        }
    }
}

/// The best pair among `cands`: the newest residual net and its plain twin (same layers without
/// shortcuts, on the same data), else the newest plain net.
pub fn auto_pair(cands: &[Candidate]) -> [Option<usize>; 2] {
    let res = cands.iter().rposition(|c| c.family == Family::Residual);
    let plains = || {
        cands
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, c)| c.family == Family::Plain)
    };
    let plain = res
        .and_then(|r| {
            let twin = plain_twin(&cands[r].spec).layers;
            plains()
                .find(|(_, c)| c.spec.layers == twin && Arc::ptr_eq(&c.data, &cands[r].data))
                .or_else(|| plains().find(|(_, c)| c.spec.layers == twin))
                .map(|(i, _)| i)
        })
        .or_else(|| plains().next().map(|(i, _)| i));
    [plain, res]
}

/// Whether two data sets hold the same test images (then image `i` is the same picture for both).
pub fn same_test_images(a: &Dataset, b: &Dataset) -> bool {
    (a.channels, a.height, a.width) == (b.channels, b.height, b.width)
        && a.test.labels == b.test.labels
        && a.test.images == b.test.images
}

impl InspectView {
    pub fn new(page: InspectPage) -> Self {
        Self {
            page,
            ..Default::default()
        }
    }

    /// Drops textures and the repaint hook of the window they were made for (before the view
    /// moves to another window, as tests and screenshots do).
    pub fn forget_textures(&mut self) {
        self.paint.clear();
        self.wake = None;
    }

    fn wake(&mut self, ctx: &egui::Context) -> Wake {
        self.wake
            .get_or_insert_with(|| crate::ui::repaint_wake(ctx))
            .clone()
    }

    /// The data set whose test images the tab shows: the plain net's, else the residual's.
    pub fn data(&self) -> Option<&Arc<Dataset>> {
        self.nets.iter().flatten().map(|n| &n.cand.data).next()
    }

    /// Both nets picked and judged on the same test images.
    pub fn comparable(&self) -> bool {
        match &self.nets {
            [Some(a), Some(b)] => {
                Arc::ptr_eq(&a.cand.data, &b.cand.data)
                    || same_test_images(&a.cand.data, &b.cand.data)
            }
            _ => false,
        }
    }

    /// The nets that show beside the images: both when comparable, else the first.
    pub fn shown(&self) -> Vec<(usize, &NetView)> {
        let all: Vec<(usize, &NetView)> = self
            .nets
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((i, n.as_ref()?)))
            .collect();
        if all.len() == 2 && !self.comparable() {
            all.into_iter().take(1).collect()
        } else {
            all
        }
    }

    /// Puts `cand` (or nothing) in `slot`, dropping what was computed for the old net.
    pub fn pick(&mut self, slot: usize, cand: Option<Candidate>) {
        let same = match (&self.nets[slot], &cand) {
            (Some(n), Some(c)) => n.cand.key() == c.key(),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.nets[slot] = cand.map(NetView::new);
            self.cell = None;
            self.grid_page = 0;
            self.paint.clear();
            if self.data().is_some_and(|d| self.image >= d.test.len()) {
                self.image = 0;
            }
        }
    }

    /// Keeps the picks in step with the runs there are, and picks a pair by itself while `auto`.
    fn sync(&mut self, cands: &[Candidate]) {
        for slot in [PLAIN, RESIDUAL] {
            let gone = self.nets[slot]
                .as_ref()
                .is_some_and(|n| !cands.iter().any(|c| c.key() == n.cand.key()));
            if gone {
                self.pick(slot, None);
                self.auto = true;
            }
        }
        if self.auto {
            let pair = auto_pair(cands);
            for slot in [PLAIN, RESIDUAL] {
                let want = pair[slot].map(|i| cands[i].clone());
                self.pick(slot, want);
            }
        }
    }

    /// Starts the work each picked net needs and collects what finished.
    fn pump(&mut self, wake: &Wake) {
        let image = self.image;
        let want_maps = self.page == InspectPage::FeatureMaps;
        let shown: Vec<usize> = self.shown().iter().map(|(i, _)| *i).collect();
        for (slot, net) in self.nets.iter_mut().enumerate() {
            let Some(net) = net else { continue };
            if let Some(job) = &mut net.eval_job
                && let Some(r) = job.poll()
            {
                net.eval_job = None;
                match r {
                    Ok(l) => {
                        net.eval = Some(Ok(Arc::new(l.eval)));
                        net.filters = l.filters.map(Arc::new);
                        net.init_filters = l.init_filters.map(Arc::new);
                    }
                    Err(e) => net.eval = Some(Err(e)),
                }
            }
            if net.eval.is_none() && net.eval_job.is_none() {
                net.eval_job = Some(start_eval(&net.cand, wake.clone()));
            }
            if let Some((i, job)) = &mut net.maps_job
                && let Some(r) = job.poll()
            {
                let i = *i;
                net.maps_job = None;
                match r {
                    Ok(m) => {
                        net.maps = Some((i, Arc::new(m)));
                        net.maps_error = None;
                    }
                    Err(e) => net.maps_error = Some(e),
                }
            }
            let shows_image = shown.contains(&slot);
            let have = net.maps.as_ref().map(|(i, _)| *i) == Some(image);
            let running = net.maps_job.as_ref().map(|(i, _)| *i) == Some(image);
            if want_maps && shows_image && !have && !running && net.maps_error.is_none() {
                // A job for an older image is dropped (and so cancelled).
                net.maps_job = Some((image, start_maps(&net.cand, image, wake.clone())));
            }
        }
        if let Some(job) = &mut self.opening
            && let Some(r) = job.poll()
        {
            self.opening = None;
            match r {
                Ok(c) => {
                    self.message = Some(format!("Opened {} from {}.", c.label, c.origin));
                    self.opened.push(c);
                    self.auto = true;
                }
                Err(e) => self.message = Some(format!("Could not open the run: {e}")),
            }
        }
    }

    /// Chooses the test image whose feature maps show.
    pub fn set_image(&mut self, i: usize) {
        if i != self.image {
            self.image = i;
            for n in self.nets.iter_mut().flatten() {
                n.maps_error = None;
            }
        }
    }

    /// One frame of the tab. `export_dir` is the folder exports go to (the Train view's).
    fn frame(&mut self, ui: &mut Ui, state: &AppState) {
        let wake = self.wake(ui.ctx());
        self.exporter.dir = state.export_dir.clone();
        self.exporter.poll();
        let mut cands = session_candidates(&state.scheduler.store);
        cands.extend(self.opened.iter().cloned());
        self.sync(&cands);
        self.pump(&wake);
        if let Some(left) = self.exporter.notice_expires_in() {
            ui.ctx().request_repaint_after(left);
        }
        self.header(ui, &cands);
        ui.separator();
        if self.nets.iter().all(Option::is_none) {
            ui.add_space(12.0);
            ui.label(
                "Nothing to inspect yet. Train a plain net and its residual twin in the Train tab \
                 (▶ Start); when they finish they appear here. Or open a saved run folder above.",
            );
            return;
        }
        ui.horizontal_wrapped(|ui| {
            for (page, name) in [
                (InspectPage::Predictions, "Predictions"),
                (InspectPage::Confusion, "Confusion & errors"),
                (InspectPage::FeatureMaps, "Feature maps"),
                (InspectPage::Filters, "First-layer filters"),
            ] {
                ui.selectable_value(&mut self.page, page, name);
            }
        });
        ui.separator();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.page {
                InspectPage::Predictions => pages::predictions(self, ui),
                InspectPage::Confusion => pages::confusion(self, ui),
                InspectPage::FeatureMaps => maps::feature_maps(self, ui),
                InspectPage::Filters => maps::filters(self, ui),
            });
    }

    /// Pickers, progress, the folder opener and notices.
    fn header(&mut self, ui: &mut Ui, cands: &[Candidate]) {
        let mut picked: Option<(usize, Option<Candidate>)> = None;
        ui.horizontal_wrapped(|ui| {
            for (slot, title) in [(PLAIN, "Plain net"), (RESIDUAL, "Residual net")] {
                let family = if slot == PLAIN {
                    Family::Plain
                } else {
                    Family::Residual
                };
                let current = self.nets[slot].as_ref().map(|n| n.cand.key());
                let text = self.nets[slot]
                    .as_ref()
                    .map(|n| n.cand.label.clone())
                    .unwrap_or_else(|| "none".into());
                let l = ui.label(title);
                egui::ComboBox::from_id_salt(("inspect-pick", slot))
                    .selected_text(text)
                    .width(150.0)
                    .show_ui(ui, |ui| {
                        if ui.selectable_label(current.is_none(), "none").clicked() {
                            picked = Some((slot, None));
                        }
                        for c in cands.iter().filter(|c| c.family == family) {
                            let on = current == Some(c.key());
                            if ui
                                .selectable_label(on, format!("{} ({})", c.label, c.origin))
                                .clicked()
                            {
                                picked = Some((slot, Some(c.clone())));
                            }
                        }
                    })
                    .response
                    .labelled_by(l.id);
                ui.add_space(8.0);
            }
        });
        if let Some((slot, c)) = picked {
            self.auto = false;
            self.pick(slot, c);
        }
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Run folder");
            ui.add(
                egui::TextEdit::singleline(&mut self.open_path)
                    .hint_text("a folder saved with train --save")
                    .desired_width(190.0),
            )
            .labelled_by(l.id);
            if ui
                .add_enabled(
                    self.opening.is_none() && !self.open_path.trim().is_empty(),
                    egui::Button::new("Open run"),
                )
                .on_hover_text(
                    "Open a saved run (net, weights and the data it trained on) to inspect it",
                )
                .clicked()
            {
                let wake = self.wake(ui.ctx());
                self.opening = Some(start_open(PathBuf::from(self.open_path.trim()), wake));
            }
            if let Some(j) = &self.opening {
                ui.add(
                    egui::ProgressBar::new(j.fraction())
                        .desired_width(100.0)
                        .text("opening"),
                );
            }
        });
        for n in self.nets.iter() {
            let Some(n) = n else { continue };
            if let Some(f) = n.eval_progress() {
                ui.horizontal(|ui| {
                    ui.label(format!("{}: classifying the test images", n.cand.label));
                    ui.add(
                        egui::ProgressBar::new(f)
                            .desired_width(160.0)
                            .show_percentage(),
                    );
                });
            }
            if let Some(Err(e)) = &n.eval {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!("{}: {e}", n.cand.label),
                );
            }
        }
        if matches!(&self.nets, [Some(_), Some(_)]) && !self.comparable() {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                "The two nets were trained on different data sets, so their test images differ: \
                 only the plain net's are shown beside the images.",
            );
        }
        if let Some(m) = &self.message {
            ui.colored_label(ui.visuals().warn_fg_color, m);
        }
        super::notice_line(
            ui,
            self.exporter
                .notice_text()
                .map(|n| RichText::new(n).italics()),
        );
    }

    /// One test image of the shown data, normalised as the nets saw it, for the given slot.
    pub fn image_of(&self, i: usize) -> Option<(Vec<u8>, usize)> {
        let d = self.data()?;
        let n = d.image_len();
        let px = d.test.images.get(i * n..(i + 1) * n)?.to_vec();
        Some((px, *d.test.labels.get(i)? as usize))
    }

    pub fn export(
        &mut self,
        path_name: String,
        make: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static,
        ctx: &egui::Context,
    ) {
        let path = self.exporter.folder().join(path_name);
        self.exporter
            .spawn(path, crate::ui::repaint_wake(ctx), make);
    }
}

fn lock(m: &Mutex<Model>) -> std::sync::MutexGuard<'_, Model> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the evaluation job finds out about a net.
struct Looked {
    eval: Evaluation,
    filters: Option<Filters>,
    init_filters: Option<Filters>,
}

/// Classifies the net's test split and reads its first-layer filters, trained and as the same
/// seed made them before training.
fn start_eval(c: &Candidate, wake: Wake) -> Task<Looked> {
    let (model, data, spec, start) = (c.model.clone(), c.data.clone(), c.spec.clone(), c.start);
    Task::spawn("inspect: evaluate", wake, move |ctx: &TaskCtx<()>| {
        let p = ctx.progress();
        let mut m = lock(&model);
        let mut on = |done: usize, total: usize| {
            p.set(done, total);
            !p.is_cancelled()
        };
        let e = eval::evaluate(&mut m, &data, SplitKind::Test, eval::BATCH, &mut on)?;
        let filters = eval::first_filters(&mut m);
        let input = m.input_shape();
        drop(m);
        let init_filters = start.and_then(|(seed, opts)| {
            let mut fresh = Model::new(&spec, input, seed, opts).ok()?;
            eval::first_filters(&mut fresh)
        });
        Ok(Looked {
            eval: e,
            filters,
            init_filters,
        })
    })
}

/// Traces test image `image` through the net.
fn start_maps(c: &Candidate, image: usize, wake: Wake) -> Task<Vec<FeatureMap>> {
    let (model, data) = (c.model.clone(), c.data.clone());
    Task::run("inspect: feature maps", wake, move || {
        if image >= data.test.len() {
            return Err(format!("the test split has no image #{image}"));
        }
        let (mut x, mut labels) = (Vec::new(), Vec::new());
        data.batch(
            SplitKind::Test,
            &[image],
            None,
            &mut Rng64::new(0),
            &mut x,
            &mut labels,
        );
        let mut m = lock(&model);
        if let Some(why) = eval::mismatch(&m, &data) {
            return Err(why);
        }
        Ok(eval::feature_maps(&mut m, &x))
    })
}

/// Opens a run folder and loads the data it trained on, normalised as it was then.
fn start_open(dir: PathBuf, wake: Wake) -> Task<Candidate> {
    Task::spawn("inspect: open run", wake, move |ctx: &TaskCtx<()>| {
        let p = ctx.progress();
        let mut run = run_dir::open(&dir)?;
        let model = run.model.take().ok_or_else(|| {
            format!(
                "{} holds no trained weights ({})",
                dir.display(),
                run_dir::WEIGHTS_FILE
            )
        })?;
        let info =
            run.history.data.clone().ok_or_else(|| {
                format!("{} does not record the data it trained on", dir.display())
            })?;
        let ds = eval::reload(&info, p)?;
        if let Some(why) = eval::mismatch(&model, &ds) {
            return Err(why);
        }
        let label = if run.history.label.is_empty() {
            run.spec.name.clone()
        } else {
            run.history.label.clone()
        };
        Ok(Candidate {
            label,
            family: Family::of_spec(&run.spec),
            spec: run.spec,
            model: Arc::new(Mutex::new(model)),
            data: Arc::new(ds),
            origin: dir.display().to_string(),
            start: Some((run.history.hyper.seed, run.history.hyper.model)),
        })
    })
}

impl View for InspectView {
    fn id(&self) -> &'static str {
        "Inspect"
    }

    fn title(&self) -> &'static str {
        "Inspect"
    }

    fn hover(&self) -> &'static str {
        "Look inside trained nets: predictions, confusion, feature maps, filters"
    }

    fn ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        self.frame(ui, state);
    }

    crate::view_any!();
}

//! Run data of the Train view: what to train, the live runs, and the depth sweep queue.
//!
//! Kept apart from widgets so saving, checks and exports read the same histories the plots do.
use crate::data::Dataset;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{LayerSpec, Model, NetSpec};
use crate::plot::charts::SweepPoint;
use crate::train::worker::{self, Wake};
use crate::train::{Command, Experiment, Hyper, NetEntry, RunHandle, RunHistory, RunStatus};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The depths of the paper's CIFAR family (6n+2) offered in the pickers.
pub const DEPTHS: [usize; 7] = [8, 14, 20, 32, 44, 56, 110];

/// One net as the learner picks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetChoice {
    /// A net built in the Build tab; when set, it is trained as it is and the preset fields
    /// below are ignored.
    pub custom: Option<NetSpec>,
    pub residual: bool,
    pub depth: usize,
    pub shortcut: ShortcutOption,
    pub zero_init: bool,
    #[serde(with = "crate::util::json_float")]
    pub scale: f32,
    pub width: usize,
}

impl Default for NetChoice {
    fn default() -> Self {
        Self {
            custom: None,
            residual: true,
            depth: 20,
            shortcut: ShortcutOption::A,
            zero_init: false,
            scale: 1.0,
            width: 16,
        }
    }
}

impl NetChoice {
    pub fn new(residual: bool, depth: usize) -> Self {
        Self {
            residual,
            depth,
            ..Default::default()
        }
    }

    /// The name its curves carry, in the lessons' `try:` notation.
    pub fn label(&self) -> String {
        if let Some(spec) = &self.custom {
            return if spec.name.is_empty() {
                "built net".into()
            } else {
                spec.name.clone()
            };
        }
        let mut s = format!(
            "{}-{}",
            if self.residual { "resnet" } else { "plain" },
            self.depth
        );
        if self.residual && self.zero_init {
            s.push_str("+zeroinit");
        }
        if self.residual && self.scale != 1.0 {
            s.push_str(&format!("+scale{}", self.scale));
        }
        if self.residual && self.shortcut == ShortcutOption::B {
            s.push_str(" (B)");
        }
        s
    }

    pub fn spec(&self, classes: usize) -> Result<NetSpec, String> {
        if let Some(spec) = &self.custom {
            return Ok(with_classes(spec, classes));
        }
        let spec = presets::cifar(
            self.depth,
            self.residual,
            self.shortcut,
            self.width.max(1),
            classes.max(1),
        )
        .ok_or_else(|| format!("depth {} is not of the form 6n+2", self.depth))?;
        Ok(if self.residual && self.scale != 1.0 {
            presets::with_residual_scale(&spec, self.scale)
        } else {
            spec
        })
    }

    pub fn entry(&self, classes: usize) -> Result<NetEntry, String> {
        let mut e = NetEntry::new(self.spec(classes)?);
        e.label = self.label();
        Ok(e)
    }

    /// The hyper-parameters of this net's run: zero-init is per net, one compute thread each so
    /// two nets share two cores.
    pub fn hyper(&self, base: &Hyper) -> Hyper {
        let mut h = base.clone();
        h.model.zero_init_residual = self.residual && self.zero_init;
        h.threads = 1;
        h
    }
}

/// The same net with its classifier resized to the data set's classes, so a net built for one
/// data set trains on another.
fn with_classes(spec: &NetSpec, classes: usize) -> NetSpec {
    let mut s = spec.clone();
    if let Some(LayerSpec::Linear { out }) = s.layers.last_mut() {
        *out = classes.max(1);
    }
    s
}

/// What the Train view is set up to run (persisted, saved with experiments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub nets: Vec<NetChoice>,
    pub hyper: Hyper,
    pub sweep_depths: Vec<usize>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        let hyper = Hyper {
            epochs: 2,
            batch: 64,
            max_steps: Some(300),
            ..Hyper::default()
        };
        Self {
            nets: vec![NetChoice::new(false, 20), NetChoice::new(true, 20)],
            hyper,
            sweep_depths: vec![8, 20, 32],
        }
    }
}

#[derive(Default)]
pub struct Run {
    pub handle: Option<RunHandle>,
    pub history: RunHistory,
    pub started: Option<Instant>,
    pub choice: Option<NetChoice>,
    /// The trained net, once its worker has handed it back (the Inspect tab looks inside it).
    pub model: Option<SharedModel>,
    /// The data set it trained on, as it was when the run started.
    pub data: Option<Arc<Dataset>>,
}

/// A trained net shared between the session and the workers that look inside it.
pub type SharedModel = Arc<Mutex<Model>>;

impl Run {
    /// Seconds left at the pace so far; only while the run is training (never paused or done).
    pub fn eta_secs(&self) -> Option<f64> {
        let started = self.started?;
        let done = self.history.steps_done();
        let total = self.history.total_steps;
        if done == 0 || total == 0 || self.history.status != RunStatus::Running {
            return None;
        }
        let per = started.elapsed().as_secs_f64() / done as f64;
        Some(per * total.saturating_sub(done) as f64)
    }

    /// How much of its budget the run has done: a stopped or diverged run shows where it ended,
    /// not a full bar.
    pub fn fraction(&self) -> f32 {
        let total = self.history.total_steps;
        if self.history.status == RunStatus::Finished {
            1.0
        } else if total == 0 {
            0.0
        } else {
            (self.history.steps_done() as f32 / total as f32).min(1.0)
        }
    }
}

/// The live and finished runs of the Train view, and a depth sweep's queue.
#[derive(Default)]
pub struct Session {
    pub runs: Vec<Run>,
    pub sweep_queue: VecDeque<NetChoice>,
    pub sweep_points: Vec<SweepPoint>,
    pub sweeping: bool,
    pub paused: bool,
    pub message: Option<String>,
    /// When the current pause began: resuming moves the runs' start times on by the pause, so
    /// their ETAs count training time only.
    pub paused_since: Option<Instant>,
}

/// At most this many runs train at once: one per core here.
pub const PARALLEL: usize = 2;

impl Session {
    pub fn is_running(&self) -> bool {
        self.runs
            .iter()
            .any(|r| r.handle.is_some() && !r.history.status.is_done())
            || !self.sweep_queue.is_empty()
    }

    pub fn histories(&self) -> Vec<RunHistory> {
        self.runs.iter().map(|r| r.history.clone()).collect()
    }

    fn check(config: &TrainConfig, nets: &[NetChoice]) -> Result<(), String> {
        config.hyper.validate()?;
        if nets.is_empty() {
            return Err("choose at least one net".into());
        }
        Ok(())
    }

    /// Whether these nets fit in memory training side by side (see `train::budget`).
    fn check_memory(nets: &[NetChoice], base: &Hyper, data: &Dataset) -> Option<String> {
        let runs: Vec<(String, NetSpec, Hyper)> = nets
            .iter()
            .filter_map(|c| {
                let e = c.entry(data.classes.len()).ok()?;
                Some((e.label, e.spec, c.hyper(base)))
            })
            .collect();
        crate::train::budget::check_together(&runs, data)
    }

    fn launch(choice: &NetChoice, base: &Hyper, data: &Arc<Dataset>, wake: &Wake) -> Run {
        let hyper = choice.hyper(base);
        match choice.entry(data.classes.len()) {
            Ok(entry) => {
                let history = RunHistory::new(&entry, &hyper);
                let handle = worker::spawn(entry, hyper, data.clone(), wake.clone());
                Run {
                    handle: Some(handle),
                    history,
                    started: Some(Instant::now()),
                    choice: Some(choice.clone()),
                    model: None,
                    data: Some(data.clone()),
                }
            }
            Err(e) => Run {
                handle: None,
                history: RunHistory {
                    label: choice.label(),
                    status: RunStatus::Failed(e),
                    ..Default::default()
                },
                started: None,
                choice: Some(choice.clone()),
                model: None,
                data: None,
            },
        }
    }

    /// Starts every chosen net side by side.
    pub fn start(&mut self, config: &TrainConfig, data: &Arc<Dataset>, wake: &Wake) {
        self.stop();
        if let Err(e) = Self::check(config, &config.nets) {
            self.message = Some(format!("Cannot start: {e}."));
            return;
        }
        if let Some(e) = Self::check_memory(&config.nets, &config.hyper, data) {
            self.message = Some(format!("Cannot start: {e}."));
            return;
        }
        self.runs = config
            .nets
            .iter()
            .map(|c| Self::launch(c, &config.hyper, data, wake))
            .collect();
        self.sweeping = false;
        self.paused = false;
        self.message = None;
    }

    /// Queues plain and residual nets at every sweep depth; they run `PARALLEL` at a time.
    pub fn start_sweep(&mut self, config: &TrainConfig, data: &Arc<Dataset>, wake: &Wake) {
        self.stop();
        let mut depths = config.sweep_depths.clone();
        depths.sort_unstable();
        depths.dedup();
        let width = config.nets.first().map(|n| n.width).unwrap_or(16);
        let mut queue: VecDeque<NetChoice> = depths
            .iter()
            .flat_map(|&d| {
                [false, true].map(|residual| NetChoice {
                    width,
                    ..NetChoice::new(residual, d)
                })
            })
            .collect();
        if let Err(e) = Self::check(config, queue.make_contiguous()) {
            self.message = Some(format!("Cannot start the sweep: {e}."));
            return;
        }
        // The deepest nets come last and train side by side: if they fit, all do.
        let deepest: Vec<NetChoice> = queue.iter().rev().take(PARALLEL).cloned().collect();
        if let Some(e) = Self::check_memory(&deepest, &config.hyper, data) {
            self.message = Some(format!("Cannot start the sweep: {e}."));
            return;
        }
        self.runs.clear();
        self.sweep_points.clear();
        self.sweep_queue = queue;
        self.sweeping = true;
        self.paused = false;
        self.message = None;
        self.pump(&config.hyper, data, wake);
    }

    pub fn pause(&mut self, pause: bool) {
        if pause && !self.paused {
            self.paused_since = Some(Instant::now());
        } else if !pause && let Some(since) = self.paused_since.take() {
            let pause_len = since.elapsed();
            for r in &mut self.runs {
                if let Some(t) = &mut r.started {
                    *t += pause_len;
                }
            }
        }
        self.paused = pause;
        for r in &self.runs {
            if let Some(h) = &r.handle {
                h.send(if pause {
                    Command::Pause
                } else {
                    Command::Resume
                });
            }
        }
        for r in &mut self.runs {
            if !r.history.status.is_done() && r.handle.is_some() {
                r.history.status = if pause {
                    RunStatus::Paused
                } else {
                    RunStatus::Running
                };
            }
        }
    }

    pub fn stop(&mut self) {
        self.sweep_queue.clear();
        for r in &self.runs {
            if let Some(h) = &r.handle {
                h.send(Command::Stop);
            }
        }
        self.paused = false;
        self.paused_since = None;
    }

    /// Drains worker events into histories; in a sweep, records finished runs and starts the next.
    pub fn poll(&mut self, base: &Hyper, data: Option<&Arc<Dataset>>, wake: &Wake) {
        for r in &mut self.runs {
            let Some(h) = &r.handle else { continue };
            let paused = r.history.status == RunStatus::Paused;
            // Read before draining: a worker that had ended by now has sent all its events.
            let finished = h.is_finished();
            for ev in h.drain() {
                r.history.apply(&ev);
            }
            if paused && r.history.status == RunStatus::Running {
                r.history.status = RunStatus::Paused;
            }
            if r.history.status.is_done() && finished {
                r.model = r
                    .handle
                    .take()
                    .and_then(|mut h| h.take_model())
                    .map(|m| Arc::new(Mutex::new(m)));
                if self.sweeping
                    && let (Some(c), Some(err)) = (&r.choice, r.history.final_train_err())
                {
                    self.sweep_points.push(SweepPoint {
                        residual: c.residual,
                        depth: c.depth,
                        train_err: err,
                    });
                }
            } else if finished && !r.history.status.is_done() {
                // The worker ended without its last event (it should not): do not wait forever.
                r.history.status =
                    RunStatus::Failed("the worker stopped without saying why".into());
                r.handle = None;
            }
        }
        if let Some(data) = data
            && !self.paused
        {
            self.pump(base, data, wake);
        }
    }

    fn pump(&mut self, base: &Hyper, data: &Arc<Dataset>, wake: &Wake) {
        while self.runs.iter().filter(|r| r.handle.is_some()).count() < PARALLEL {
            let Some(next) = self.sweep_queue.pop_front() else {
                break;
            };
            self.runs.push(Self::launch(&next, base, data, wake));
        }
    }

    /// Restores histories from a saved experiment; they show as finished runs.
    pub fn restore(&mut self, histories: Vec<RunHistory>, sweep: Vec<SweepPoint>) {
        self.stop();
        self.runs = histories
            .into_iter()
            .map(|history| Run {
                handle: None,
                history,
                started: None,
                choice: None,
                model: None,
                data: None,
            })
            .collect();
        self.sweep_points = sweep;
        self.sweeping = false;
    }
}

/// What "Save experiment" writes: the setup, where the data came from, and every curve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedExperiment {
    pub experiment: Experiment,
    pub config: TrainConfig,
    pub histories: Vec<RunHistory>,
    pub sweep: Vec<SweepPoint>,
}

//! Run data of the Train view: what to train, the live runs, and the depth sweep queue.
//!
//! Kept apart from widgets so saving, checks and exports read the same histories the plots do.
use crate::data::Dataset;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{LayerSpec, NetSpec};
use crate::plot::charts::SweepPoint;
use crate::task::Wake;
use crate::train::{
    DataInfo, Experiment, Hyper, NetEntry, NetIdentity, Origin, RunHistory, RunId, RunInputs,
    RunStore, StoredRun,
};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
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
    /// `custom` is the plain twin of a built net.
    pub twin: bool,
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
            twin: false,
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

    /// What this net is, typed.
    pub fn identity(&self, spec: &NetSpec) -> NetIdentity {
        match &self.custom {
            Some(_) => NetIdentity::of_spec(
                spec,
                if self.twin {
                    Origin::Twin
                } else {
                    Origin::Built
                },
                self.zero_init,
            ),
            None => NetIdentity::preset(
                self.residual,
                self.depth,
                self.shortcut,
                self.width.max(1),
                self.zero_init,
                self.scale,
            ),
        }
    }

    /// The frozen inputs of a run of this net on the data set `data` describes.
    pub fn inputs(&self, base: &Hyper, data: &DataInfo) -> Result<RunInputs, String> {
        let net = self.entry(data.classes.len())?;
        Ok(RunInputs {
            identity: self.identity(&net.spec),
            net,
            hyper: self.hyper(base),
            data: data.clone(),
        })
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

/// The data set runs will train on, with what a run freezes about it.
#[derive(Clone, Copy)]
pub struct DataRef<'a> {
    pub set: &'a Arc<Dataset>,
    pub info: &'a DataInfo,
}

/// The live and finished runs of the Train view, and a depth sweep's queue.
#[derive(Default)]
pub struct Session {
    pub store: RunStore,
    /// Runs a sweep has set up but not started yet: their inputs and data were frozen when the
    /// sweep started, so changing the widgets or loading other data cannot reach them.
    sweep_queue: VecDeque<RunInputs>,
    sweep_data: Option<Arc<Dataset>>,
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
    pub fn runs(&self) -> &[StoredRun] {
        self.store.runs()
    }

    pub fn is_running(&self) -> bool {
        self.store.is_training() || !self.sweep_queue.is_empty()
    }

    /// Whether a worker still has to be collected (a run that reported its end may not have
    /// handed back its model yet): the UI should keep polling.
    pub fn needs_polling(&self) -> bool {
        self.store.live() > 0 || !self.sweep_queue.is_empty()
    }

    /// Runs a sweep has queued.
    pub fn queued(&self) -> usize {
        self.sweep_queue.len()
    }

    /// The frozen inputs of every queued sweep run, in order.
    pub fn queue(&self) -> impl Iterator<Item = &RunInputs> {
        self.sweep_queue.iter()
    }

    pub fn histories(&self) -> Vec<RunHistory> {
        self.store.histories()
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

    fn check(config: &TrainConfig, nets: &[NetChoice]) -> Result<(), String> {
        config.hyper.validate()?;
        if nets.is_empty() {
            return Err("choose at least one net".into());
        }
        Ok(())
    }

    /// Starts every chosen net side by side.
    pub fn start(&mut self, config: &TrainConfig, data: DataRef, wake: &Wake) {
        if let Err(e) = Self::check(config, &config.nets) {
            self.message = Some(format!("Cannot start: {e}."));
            return;
        }
        if let Some(e) = Self::check_memory(&config.nets, &config.hyper, data.set) {
            self.message = Some(format!("Cannot start: {e}."));
            return;
        }
        self.stop();
        self.store.clear();
        self.sweep_points.clear();
        for c in &config.nets {
            match c.inputs(&config.hyper, data.info) {
                Ok(inputs) => {
                    self.store.start(inputs, data.set.clone(), wake.clone());
                }
                Err(e) => {
                    self.store.add_failed(c.label(), e);
                }
            }
        }
        self.sweeping = false;
        self.paused = false;
        self.message = None;
    }

    /// Queues plain and residual nets at every sweep depth; they run `PARALLEL` at a time, each
    /// with the hyper-parameters and data set of the moment the sweep started.
    pub fn start_sweep(&mut self, config: &TrainConfig, data: DataRef, wake: &Wake) {
        let mut depths = config.sweep_depths.clone();
        depths.sort_unstable();
        depths.dedup();
        let width = config.nets.first().map(|n| n.width).unwrap_or(16);
        let choices: Vec<NetChoice> = depths
            .iter()
            .flat_map(|&d| {
                [false, true].map(|residual| NetChoice {
                    width,
                    ..NetChoice::new(residual, d)
                })
            })
            .collect();
        self.start_queue(choices, config, data, wake);
    }

    /// Runs `choices` as a sweep, `PARALLEL` at a time, with `config`'s hyper-parameters frozen
    /// now (a lesson's Try it passes its own queue).
    pub fn start_queue(
        &mut self,
        choices: Vec<NetChoice>,
        config: &TrainConfig,
        data: DataRef,
        wake: &Wake,
    ) {
        if let Err(e) = Self::check(config, &choices) {
            self.message = Some(format!("Cannot start the sweep: {e}."));
            return;
        }
        let queue: Result<VecDeque<RunInputs>, String> = choices
            .iter()
            .map(|c| c.inputs(&config.hyper, data.info))
            .collect();
        let queue = match queue {
            Ok(q) => q,
            Err(e) => {
                self.message = Some(format!("Cannot start the sweep: {e}."));
                return;
            }
        };
        // The deepest nets come last and train side by side: if they fit, all do.
        let deepest: Vec<NetChoice> = choices.iter().rev().take(PARALLEL).cloned().collect();
        if let Some(e) = Self::check_memory(&deepest, &config.hyper, data.set) {
            self.message = Some(format!("Cannot start the sweep: {e}."));
            return;
        }
        self.stop();
        self.store.clear();
        self.sweep_points.clear();
        self.sweep_queue = queue;
        self.sweep_data = Some(data.set.clone());
        self.sweeping = true;
        self.paused = false;
        self.message = None;
        self.pump(wake);
    }

    pub fn pause(&mut self, pause: bool) {
        if pause && !self.paused {
            self.paused_since = Some(Instant::now());
        } else if !pause && let Some(since) = self.paused_since.take() {
            let pause_len = since.elapsed();
            for r in self.store.runs_mut() {
                if let Some(t) = &mut r.started {
                    *t += pause_len;
                }
            }
        }
        self.paused = pause;
        self.store.pause(pause);
    }

    /// Stops every run and drops what a sweep had queued.
    pub fn stop(&mut self) {
        self.sweep_queue.clear();
        self.sweep_data = None;
        self.store.stop_all();
        self.paused = false;
        self.paused_since = None;
    }

    /// Drains worker events into histories; in a sweep, records finished runs and starts the
    /// next. Returns the runs whose workers ended now (final history, model handed back).
    pub fn poll(&mut self, wake: &Wake) -> Vec<RunId> {
        let ended = self.store.poll();
        if self.sweeping {
            for id in &ended {
                let Some(r) = self.store.get(*id) else {
                    continue;
                };
                // Only a run that completed its budget has a final error: a stopped or
                // diverged one would put a partial number on the error-vs-depth line.
                if r.history.status == crate::train::RunStatus::Finished
                    && let (Some(identity), Some(err)) = (
                        &r.history.identity,
                        crate::lessons::check::final_err(&r.history),
                    )
                {
                    self.sweep_points.push(SweepPoint {
                        residual: identity.is_residual(),
                        depth: identity.depth,
                        train_err: err,
                    });
                }
            }
        }
        if !self.paused {
            self.pump(wake);
        }
        ended
    }

    fn pump(&mut self, wake: &Wake) {
        while self.store.live() < PARALLEL {
            let (Some(next), Some(data)) = (self.sweep_queue.pop_front(), &self.sweep_data) else {
                break;
            };
            self.store.start(next, data.clone(), wake.clone());
        }
        if self.sweep_queue.is_empty() {
            self.sweep_data = None;
        }
    }

    /// Restores histories from a saved experiment; they show as finished runs.
    pub fn restore(&mut self, histories: Vec<RunHistory>, sweep: Vec<SweepPoint>) {
        self.stop();
        self.store.clear();
        for h in histories {
            self.store.add_history(h);
        }
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

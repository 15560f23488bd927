//! The scheduler: what to train, the runs side by side, and a depth sweep's queue, frozen when
//! it starts. UI-free: the app's Train view, a lesson's Try it and the CLI drive it alike.
use super::history::SweepPoint;
use super::{
    DataInfo, Experiment, Hyper, NetEntry, RunHistory, RunId, RunInputs, RunStore, StoredRun,
};
use crate::data::Dataset;
use crate::identity::NetChoice;
use crate::nn::NetSpec;
use crate::task::Wake;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use web_time::Instant;

/// The depths of the paper's CIFAR family (6n+2) offered in the pickers.
pub const DEPTHS: [usize; 7] = [8, 14, 20, 32, 44, 56, 110];

/// The spec, hyper-parameters and frozen inputs of one chosen net.
impl NetChoice {
    pub fn entry(&self, classes: usize) -> Result<NetEntry, String> {
        let mut e = NetEntry::new(self.spec(classes)?);
        e.label = self.label();
        Ok(e)
    }

    /// The hyper-parameters of this net's run: zero-init is per net, one compute thread each so
    /// two nets share two cores.
    pub fn hyper(&self, base: &Hyper) -> Hyper {
        let mut h = base.clone();
        h.model.zero_init_residual = self.zero_init();
        h.threads = 1;
        h
    }

    /// The frozen inputs of a run of this net on the data set `data` describes.
    pub fn inputs(&self, base: &Hyper, data: &DataInfo) -> Result<RunInputs, String> {
        let net = self.entry(data.classes.len())?;
        Ok(RunInputs {
            identity: self.identity(&net.spec),
            lesson: None,
            net,
            hyper: self.hyper(base),
            data: data.clone(),
        })
    }
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
            nets: vec![NetChoice::preset(false, 20), NetChoice::preset(true, 20)],
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

/// The live and finished runs, and a depth sweep's queue.
#[derive(Default)]
pub struct Scheduler {
    pub store: RunStore,
    /// Runs set up but not started yet: their inputs and data were frozen when they were
    /// queued, so changing the widgets or loading other data cannot reach them.
    queue: VecDeque<RunInputs>,
    queue_data: Option<Arc<Dataset>>,
    /// How many of the queued runs train at once.
    parallel: usize,
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

impl Scheduler {
    pub fn runs(&self) -> &[StoredRun] {
        self.store.runs()
    }

    pub fn is_running(&self) -> bool {
        self.store.is_training() || !self.queue.is_empty()
    }

    /// Whether a worker still has to be collected (a run that reported its end may not have
    /// handed back its model yet): the UI should keep polling.
    pub fn needs_polling(&self) -> bool {
        self.store.live() > 0 || !self.queue.is_empty()
    }

    /// Runs a sweep has queued.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The frozen inputs of every queued sweep run, in order.
    pub fn queue(&self) -> impl Iterator<Item = &RunInputs> {
        self.queue.iter()
    }

    pub fn histories(&self) -> Vec<RunHistory> {
        self.store.histories()
    }

    /// Starts every chosen net side by side.
    pub fn start(&mut self, config: &TrainConfig, data: DataRef, wake: &Wake) {
        let parallel = config.nets.len().max(1);
        self.start_choices(&config.nets, config, data, parallel, false, wake);
    }

    /// Queues plain and residual nets at every sweep depth; they run `PARALLEL` at a time, each
    /// with the hyper-parameters and data set of the moment the sweep started.
    pub fn start_sweep(&mut self, config: &TrainConfig, data: DataRef, wake: &Wake) {
        let mut depths = config.sweep_depths.clone();
        depths.sort_unstable();
        depths.dedup();
        let width = config
            .nets
            .iter()
            .find_map(|n| match n {
                NetChoice::Preset(p) => Some(p.width),
                NetChoice::Built { .. } => None,
            })
            .unwrap_or(16);
        let choices: Vec<NetChoice> = depths
            .iter()
            .flat_map(|&d| {
                [false, true].map(|residual| {
                    NetChoice::Preset(crate::identity::Preset::new(residual, d).with_width(width))
                })
            })
            .collect();
        self.start_choices(&choices, config, data, PARALLEL, true, wake);
    }

    fn start_choices(
        &mut self,
        choices: &[NetChoice],
        config: &TrainConfig,
        data: DataRef,
        parallel: usize,
        sweep: bool,
        wake: &Wake,
    ) {
        let what = if sweep { "the sweep" } else { "" };
        let inputs = config.hyper.validate().and_then(|()| {
            choices
                .iter()
                .map(|c| c.inputs(&config.hyper, data.info))
                .collect::<Result<Vec<_>, String>>()
        });
        let started =
            inputs.and_then(|i| self.start_runs(i, data.set.clone(), parallel, sweep, wake));
        if let Err(e) = started {
            self.message = Some(if what.is_empty() {
                format!("Cannot start: {e}.")
            } else {
                format!("Cannot start {what}: {e}.")
            });
        }
    }

    /// Replaces the runs with `inputs`, trained `parallel` at a time in order (a sweep queues
    /// them, and records each finished run's point on the error-vs-depth chart). Refused, with
    /// the reason and nothing changed, when there is nothing to train or the widest group of
    /// runs side by side would not fit in memory (see `train::budget`).
    pub fn start_runs(
        &mut self,
        inputs: Vec<RunInputs>,
        data: Arc<Dataset>,
        parallel: usize,
        sweep: bool,
        wake: &Wake,
    ) -> Result<(), String> {
        if inputs.is_empty() {
            return Err("choose at least one net".into());
        }
        let parallel = parallel.clamp(1, inputs.len());
        // The deepest nets come last and train side by side: if they fit, all do.
        let widest: Vec<(String, NetSpec, Hyper)> = inputs
            .iter()
            .rev()
            .take(parallel)
            .map(|i| (i.net.label.clone(), i.net.spec.clone(), i.hyper.clone()))
            .collect();
        if let Some(e) = super::budget::check_together(&widest, &data) {
            return Err(e);
        }
        self.stop();
        self.store.clear();
        self.sweep_points.clear();
        self.queue = inputs.into();
        self.queue_data = Some(data);
        self.parallel = parallel;
        self.sweeping = sweep;
        self.paused = false;
        self.message = None;
        self.pump(wake);
        Ok(())
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
        self.queue.clear();
        self.queue_data = None;
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
                if r.history.status == super::RunStatus::Finished
                    && let Some(p) = r.history.sweep_point()
                {
                    self.sweep_points.push(p);
                }
            }
        }
        if !self.paused {
            self.pump(wake);
        }
        ended
    }

    fn pump(&mut self, wake: &Wake) {
        while self.store.live() < self.parallel.max(1) {
            let (Some(next), Some(data)) = (self.queue.pop_front(), &self.queue_data) else {
                break;
            };
            self.store.start(next, data.clone(), wake.clone());
        }
        if self.queue.is_empty() {
            self.queue_data = None;
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

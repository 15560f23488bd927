//! The run store: runs as objects. Each run's inputs (net, hyper-parameters, data) are frozen
//! into a [`RunInputs`] when it starts, it carries a typed [`NetIdentity`] instead of a label to
//! parse, and it keeps its history and, once trained, its model. The app's Train view and the
//! CLI both start runs from `RunInputs`.
use super::experiment::{DataInfo, Hyper, NetEntry};
use super::history::{RunHistory, RunStatus};
use super::run_dir::SavedRun;
use super::trainer::{self, Event};
use super::worker::{self, Command, RunHandle};
use crate::data::Dataset;
use crate::identity::{NetIdentity, TryTag};
use crate::nn::Model;
use crate::task::Wake;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use web_time::Instant;

/// Everything a run is started from, frozen: later changes to the widgets, the data set or the
/// sweep settings cannot reach a run that has been set up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    pub identity: NetIdentity,
    /// The lesson Try it that started the run, if one did.
    #[serde(default)]
    pub lesson: Option<TryTag>,
    pub net: NetEntry,
    pub hyper: Hyper,
    pub data: DataInfo,
}

impl RunInputs {
    /// The history a run of these inputs starts with (it records all of them).
    pub fn history(&self) -> RunHistory {
        let mut h = RunHistory::new(&self.net, &self.hyper);
        h.data = Some(self.data.clone());
        h.identity = Some(self.identity.clone());
        h.lesson = self.lesson.clone();
        h
    }
}

/// Trains on this thread (the CLI): the history and the trained model.
pub fn run_blocking(
    inputs: &RunInputs,
    data: &Dataset,
    on_event: &mut dyn FnMut(&RunHistory, &Event),
) -> (RunHistory, Option<Model>) {
    let mut history = inputs.history();
    let model = trainer::run(
        &inputs.net,
        &inputs.hyper,
        data,
        &mut |_| trainer::Control::Continue,
        &mut |e| {
            history.apply(&e);
            on_event(&history, &e);
        },
    );
    (history, model)
}

pub type RunId = u64;

/// A trained net shared between the store and the workers that look inside it (Inspect,
/// Landscape): they lock it only to copy what they need.
pub type SharedModel = Arc<Mutex<Model>>;

/// One run in the store.
pub struct StoredRun {
    pub id: RunId,
    pub history: RunHistory,
    /// The trained net, once its worker has handed it back (or a reopened run's).
    pub model: Option<SharedModel>,
    /// The data set it trained on, as it was when the run started (none for a reopened run).
    pub data: Option<Arc<Dataset>>,
    /// Where the run was last saved or opened from.
    pub dir: Option<PathBuf>,
    pub started: Option<Instant>,
    handle: Option<RunHandle>,
}

impl StoredRun {
    /// Whether its worker is still alive (training, paused, or handing back its last events).
    pub fn is_live(&self) -> bool {
        self.handle.is_some()
    }

    /// The frozen inputs, when the history holds all of them (runs saved before they were
    /// recorded lack some).
    pub fn inputs(&self) -> Option<RunInputs> {
        let h = &self.history;
        Some(RunInputs {
            identity: h.identity.clone()?,
            lesson: h.lesson.clone(),
            net: h.net.clone()?,
            hyper: h.hyper.clone(),
            data: h.data.clone()?,
        })
    }

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

#[derive(Default)]
pub struct RunStore {
    runs: Vec<StoredRun>,
    next_id: RunId,
}

impl RunStore {
    pub fn runs(&self) -> &[StoredRun] {
        &self.runs
    }

    pub fn runs_mut(&mut self) -> &mut [StoredRun] {
        &mut self.runs
    }

    pub fn get(&self, id: RunId) -> Option<&StoredRun> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub fn get_mut(&mut self, id: RunId) -> Option<&mut StoredRun> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn histories(&self) -> Vec<RunHistory> {
        self.runs.iter().map(|r| r.history.clone()).collect()
    }

    /// Whether a run is still training or paused.
    pub fn is_training(&self) -> bool {
        self.runs
            .iter()
            .any(|r| r.handle.is_some() && !r.history.status.is_done())
    }

    /// Live workers (including ones that have reported their end but not yet exited).
    pub fn live(&self) -> usize {
        self.runs.iter().filter(|r| r.handle.is_some()).count()
    }

    fn push(&mut self, history: RunHistory, handle: Option<RunHandle>) -> RunId {
        let id = self.next_id;
        self.next_id += 1;
        let started = handle.as_ref().map(|_| Instant::now());
        self.runs.push(StoredRun {
            id,
            history,
            model: None,
            data: None,
            dir: None,
            started,
            handle,
        });
        id
    }

    /// Starts training from frozen inputs on a worker. `data` must be the data set `inputs.data`
    /// describes (the caller froze both together).
    pub fn start(&mut self, inputs: RunInputs, data: Arc<Dataset>, wake: Wake) -> RunId {
        let history = inputs.history();
        let handle = worker::spawn(inputs.net, inputs.hyper, data.clone(), wake);
        let id = self.push(history, Some(handle));
        if let Some(run) = self.runs.last_mut() {
            run.data = Some(data);
        }
        id
    }

    /// Records a run that could not start, with the reason.
    pub fn add_failed(&mut self, label: String, reason: String) -> RunId {
        let history = RunHistory {
            label,
            status: RunStatus::Failed(reason),
            ..Default::default()
        };
        self.push(history, None)
    }

    /// Adds a finished run known only by its history (a reopened experiment).
    pub fn add_history(&mut self, history: RunHistory) -> RunId {
        self.push(history, None)
    }

    /// Adds a reopened run (finished, with its trained net when it was saved with one).
    pub fn add_saved(&mut self, saved: SavedRun) -> RunId {
        let id = self.push(saved.history, None);
        let run = self.runs.last_mut().expect("just pushed");
        run.model = saved.model.map(|m| Arc::new(Mutex::new(m)));
        run.dir = Some(saved.dir);
        id
    }

    /// Drains every worker's events into its history and collects trained models. Returns the
    /// runs whose workers ended in this call (their histories and models are final).
    pub fn poll(&mut self) -> Vec<RunId> {
        let mut ended = Vec::new();
        for r in &mut self.runs {
            let Some(h) = &mut r.handle else { continue };
            let paused = r.history.status == RunStatus::Paused;
            // Read before draining: a worker that had ended by now has sent all its events.
            let finished = h.is_finished();
            for ev in h.drain() {
                r.history.apply(&ev);
            }
            if paused && r.history.status == RunStatus::Running {
                r.history.status = RunStatus::Paused;
            }
            if finished {
                r.model = h.take_model().map(|m| Arc::new(Mutex::new(m)));
                if !r.history.status.is_done() {
                    r.history.status =
                        RunStatus::Failed("the worker stopped without saying why".into());
                }
                r.handle = None;
                ended.push(r.id);
            }
        }
        ended
    }

    pub fn pause(&mut self, pause: bool) {
        for r in &mut self.runs {
            if let Some(h) = &r.handle {
                h.send(if pause {
                    Command::Pause
                } else {
                    Command::Resume
                });
                if !r.history.status.is_done() {
                    r.history.status = if pause {
                        RunStatus::Paused
                    } else {
                        RunStatus::Running
                    };
                }
            }
        }
    }

    /// Forgets one run (stopping its worker, if any).
    pub fn remove(&mut self, id: RunId) {
        if let Some(r) = self.get(id)
            && let Some(h) = &r.handle
        {
            h.send(Command::Stop);
        }
        self.runs.retain(|r| r.id != id);
    }

    /// Asks every worker to stop; they end within a step and `poll` collects them.
    pub fn stop_all(&mut self) {
        for r in &self.runs {
            if let Some(h) = &r.handle {
                h.send(Command::Stop);
            }
        }
    }

    /// Stops every worker and forgets every run.
    pub fn clear(&mut self) {
        self.stop_all();
        self.runs.clear();
    }
}

//! The app side of a lesson's "Try it": size the experiment on a worker (data set at the
//! lesson's size, speed probe), start it the moment it is ready, and keep what Undo brings back.
//!
//! The `lessons --check` harness starts runs through [`start`] as well, so it times exactly what
//! the learner's click starts.
use super::session::{DataRef, NetChoice, Session, TrainConfig};
use crate::data::{Dataset, LoadOptions};
use crate::lessons::plan::{self, Plan, Prepared, Size, Sizing};
use crate::lessons::reference::{self, Reference};
use crate::lessons::{Check, LandscapeQuick, Lesson, TryNet};
use crate::plot::charts::SweepPoint;
use crate::task::Wake;
use crate::train::store::RunId;
use crate::train::{RunHistory, RunStatus};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Instant;

/// The Train view's net for one name of a `try:` line.
pub fn choice(net: &TryNet, width: usize) -> NetChoice {
    NetChoice {
        residual: net.residual,
        depth: net.depth,
        zero_init: net.residual && net.zero_init,
        scale: if net.residual { net.scale } else { 1.0 },
        width,
        ..NetChoice::default()
    }
}

/// What the Train view shows as set up by a plan: its nets (for a sweep, the deepest pair, so
/// ▶ Start afterwards trains the pair the sweep ends with) and hyper-parameters.
pub fn config_for(plan: &Plan, previous: &TrainConfig) -> TrainConfig {
    let nets = match &plan.sweep {
        Some(depths) => {
            let d = depths.last().copied().unwrap_or(20);
            [false, true]
                .map(|residual| {
                    choice(
                        &TryNet {
                            residual,
                            depth: d,
                            zero_init: false,
                            scale: 1.0,
                        },
                        plan.width,
                    )
                })
                .to_vec()
        }
        None => plan.nets.iter().map(|n| choice(n, plan.width)).collect(),
    };
    TrainConfig {
        nets,
        hyper: plan.hyper.clone(),
        sweep_depths: plan
            .sweep
            .clone()
            .unwrap_or_else(|| previous.sweep_depths.clone()),
    }
}

/// Starts a prepared plan's runs in `session`: side by side, or queued as a sweep.
pub fn start(session: &mut Session, plan: &Plan, config: &TrainConfig, data: DataRef, wake: &Wake) {
    match &plan.sweep {
        Some(_) => {
            let queue = plan.nets.iter().map(|n| choice(n, plan.width)).collect();
            session.start_queue(queue, config, data, wake);
        }
        None => session.start(config, data, wake),
    }
}

/// The learner's state before a Try it replaced it.
pub struct Snapshot {
    pub config: TrainConfig,
    pub histories: Vec<RunHistory>,
    pub sweep: Vec<SweepPoint>,
    pub data: Option<Arc<Dataset>>,
    /// How `data` was loaded (what its runs record).
    pub load: LoadOptions,
}

/// A Try it being sized on a worker.
struct Pending {
    lesson: String,
    rx: Receiver<Result<Prepared, String>>,
}

/// A Try it whose runs are in the session.
pub struct Active {
    pub lesson: String,
    pub check: Check,
    pub plan: Plan,
    /// The reference curves of the quick setup (not shown for the full size).
    pub reference: Option<Arc<Reference>>,
    pub config: TrainConfig,
    pub clicked: Instant,
    /// The surfaces to compute once the pair has finished (lessons with a `landscape:` line).
    pub landscape: Option<LandscapeQuick>,
    /// The pair whose surfaces were started, once they were.
    pub landscape_pair: Option<(RunId, RunId)>,
}

/// The plain and the residual run of a Try it that ran to the end: exactly `expected` runs, all
/// finished (not stopped) after an equal number of steps, their trained nets handed back. Only
/// then are their surfaces computed; a stopped or unequal pair gets none.
pub fn finished_pair(session: &Session, expected: usize) -> Option<(RunId, RunId)> {
    let runs = session.runs();
    let steps = runs.first()?.history.steps_done();
    let ready = runs.len() == expected
        && runs.iter().all(|r| {
            r.history.status == RunStatus::Finished
                && r.model.is_some()
                && r.history.steps_done() == steps
        });
    if !ready || steps == 0 {
        return None;
    }
    let find = |residual: bool| {
        runs.iter()
            .find(|r| {
                r.history
                    .net
                    .as_ref()
                    .is_some_and(|n| n.spec.has_shortcuts() == residual)
            })
            .map(|r| r.id)
    };
    Some((find(false)?, find(true)?))
}

pub struct TryIt {
    pending: Option<Pending>,
    pub active: Option<Active>,
    undo: Option<Snapshot>,
    /// How the step budget is chosen; tests fix it.
    pub sizing: Sizing,
    /// Replaces a lesson's `landscape:` line (tests use a tiny grid).
    pub landscape_override: Option<LandscapeQuick>,
    clicked: Option<Instant>,
}

impl Default for TryIt {
    fn default() -> Self {
        Self {
            pending: None,
            active: None,
            undo: None,
            sizing: Sizing::Probe,
            landscape_override: None,
            clicked: None,
        }
    }
}

impl TryIt {
    pub fn is_preparing(&self) -> bool {
        self.pending.is_some()
    }

    pub fn can_undo(&self) -> bool {
        self.undo.is_some()
    }

    /// Whether the session still holds what the last Try it set up (so a second Try it keeps
    /// the first one's snapshot of the learner's own nets).
    fn owns(&self, config: &TrainConfig) -> bool {
        self.pending.is_some() || self.active.as_ref().is_some_and(|a| a.config == *config)
    }

    /// Starts sizing `lesson`'s Try it on a worker; `snapshot` is taken unless the current
    /// state is itself a Try it's.
    pub fn begin(
        &mut self,
        lesson: &Lesson,
        size: Size,
        seed: u64,
        config: &TrainConfig,
        snapshot: impl FnOnce() -> Snapshot,
        wake: Wake,
    ) {
        if self.undo.is_none() || !self.owns(config) {
            self.undo = Some(snapshot());
        }
        let (tx, rx) = channel();
        let (l, sizing) = (lesson.clone(), self.sizing);
        std::thread::Builder::new()
            .name("lesson try-it".into())
            .spawn(move || {
                let r = std::panic::catch_unwind(|| plan::prepare(&l, size, seed, sizing))
                    .unwrap_or_else(|_| Err("internal error while sizing the experiment".into()));
                let _ = tx.send(r);
                wake();
            })
            .expect("the OS refused to start a thread");
        self.pending = Some(Pending {
            lesson: lesson.id.clone(),
            rx,
        });
        self.active = None;
        self.clicked = Some(Instant::now());
    }

    /// A prepared Try it, once its worker is done.
    pub fn poll(&mut self) -> Option<(String, Result<Prepared, String>)> {
        let p = self.pending.as_ref()?;
        let r = p.rx.try_recv().ok()?;
        let p = self.pending.take()?;
        Some((p.lesson, r))
    }

    /// Records that `prepared`'s runs started with `config`.
    pub fn started(&mut self, lesson: &Lesson, prepared: &Prepared, config: &TrainConfig) {
        let reference = match prepared.plan.size {
            // Only a reference of this very setup (a lesson whose `quick:` line changed shows
            // none until the references are regenerated).
            Size::Quick => reference::for_lesson(&lesson.id).filter(|r| {
                Some(r.steps) >= prepared.plan.steps()
                    && r.setup == prepared.plan.with_steps(r.steps).describe(&prepared.data)
            }),
            Size::Full => None,
        };
        self.active = Some(Active {
            lesson: lesson.id.clone(),
            check: lesson.check,
            plan: prepared.plan.clone(),
            reference,
            config: config.clone(),
            clicked: self.clicked.unwrap_or_else(Instant::now),
            landscape: lesson
                .landscape
                .as_ref()
                .map(|l| self.landscape_override.clone().unwrap_or_else(|| l.clone())),
            landscape_pair: None,
        });
    }

    /// Takes the snapshot back (Undo).
    pub fn undo(&mut self) -> Option<Snapshot> {
        self.pending = None;
        self.active = None;
        self.undo.take()
    }

    /// The reference to draw while the session holds this Try it's runs.
    pub fn reference(&self, config: &TrainConfig) -> Option<Arc<Reference>> {
        self.active
            .as_ref()
            .filter(|a| a.config == *config)
            .and_then(|a| a.reference.clone())
    }

    /// The lesson whose Try it just ran to the end in `runs` (every run completed its budget).
    pub fn finished_lesson(&self, runs: &[RunHistory]) -> Option<&str> {
        let a = self.active.as_ref()?;
        let expected = a.plan.nets.len();
        let done = runs
            .iter()
            .filter(|h| h.status == RunStatus::Finished)
            .count();
        (runs.len() == expected && done == expected).then_some(a.lesson.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lessons::plan::Size;

    /// The speed probe builds nets through the plan, the session through `NetChoice`: they
    /// must be the same nets with the same settings, or the probe would time something else.
    #[test]
    fn the_probe_and_the_session_build_the_same_nets() {
        for lesson in crate::lessons::all() {
            let Some(plan) = Plan::new(&lesson, Size::Quick, 3) else {
                continue;
            };
            for net in &plan.nets {
                let (entry, hyper) = plan.entry(net, 10).unwrap();
                let c = choice(net, plan.width);
                let e = c.entry(10).unwrap();
                assert_eq!(e.spec, entry.spec, "{}", net.label());
                assert_eq!(e.label, entry.label);
                assert_eq!(c.hyper(&plan.hyper), hyper, "{}", net.label());
            }
        }
    }
}

//! A lesson's "Try it" as one UI-free object: size the experiment in the background (data set
//! at the lesson's size, speed probe), start its runs in the scheduler the moment it is ready,
//! chain the loss landscape of its pair once both runs have finished, and judge the lesson's
//! check on exactly those runs.
//!
//! The app's click and the `lessons --check` harness drive the same object the same way
//! (`begin`, then `poll` as often as frames come), so the harness tests what a click does.
//! A Try it owns its runs: they carry its [`TryTag`] (lesson and click), and its check reads
//! only runs with that tag, never another lesson's.
use super::check::{self, Outcome};
use super::plan::{self, Prepared, Size, Sizing};
use super::reference::{self, Reference};
use super::{Check, LandscapeQuick, Lesson};
use crate::data::Source;
use crate::identity::{LessonId, TryTag};
use crate::landscape::Landscape;
use crate::landscape::sources::{Computation, NetRef};
use crate::task::{Task, Wake};
use crate::train::scheduler::Scheduler;
use crate::train::{DataInfo, RunHistory, RunId, RunStatus};
use std::sync::Arc;
use web_time::Instant;

/// What changed in a [`TryRun::poll`], for a UI to act on (switch tabs, say what started).
#[derive(Clone, Debug, PartialEq)]
pub enum TryEvent {
    /// The runs started (the plan and data are in [`TryRun::prepared`]).
    Started,
    /// Sizing or starting failed; the sentence says why.
    Failed(String),
    /// Both runs finished: their surfaces are being computed.
    SurfacesStarted,
    /// The surfaces ended (complete, cancelled or failed: see their status).
    SurfacesEnded,
}

pub struct TryRun {
    pub lesson: Lesson,
    pub tag: TryTag,
    pub size: Size,
    pub clicked: Instant,
    preparing: Option<Task<Prepared>>,
    /// The plan with its step budget, and the data set, once sized.
    pub prepared: Option<Prepared>,
    /// What the runs record about the data set.
    pub info: Option<DataInfo>,
    /// Seconds the sizing took.
    pub prepare_secs: Option<f64>,
    /// The reference curves of this very setup (none at full size, or when the lesson's
    /// `quick:` line changed since they were made).
    pub reference: Option<Arc<Reference>>,
    /// The surfaces to compute once the pair has finished (lessons with a `landscape:` line).
    pub landscape: Option<LandscapeQuick>,
    /// Their computation, once started.
    pub surfaces: Option<Computation>,
    /// Why it could not size or start, if so.
    pub failed: Option<String>,
}

impl TryRun {
    /// Starts sizing `lesson`'s Try it in the background (nothing trains until [`poll`]
    /// finds it sized). `landscape` replaces the lesson's `landscape:` line (tests use a tiny
    /// grid).
    ///
    /// [`poll`]: TryRun::poll
    pub fn begin(
        lesson: &Lesson,
        size: Size,
        seed: u64,
        sizing: Sizing,
        landscape: Option<LandscapeQuick>,
        wake: Wake,
    ) -> Self {
        let l = lesson.clone();
        let task = Task::run("lesson try-it", wake, move || {
            plan::prepare(&l, size, seed, sizing)
        });
        let attempt = web_time::SystemTime::now()
            .duration_since(web_time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            lesson: lesson.clone(),
            tag: TryTag {
                lesson: LessonId(lesson.id.clone()),
                attempt,
            },
            size,
            clicked: Instant::now(),
            preparing: Some(task),
            prepared: None,
            info: None,
            prepare_secs: None,
            reference: None,
            landscape: landscape.or_else(|| lesson.landscape.clone()),
            surfaces: None,
            failed: None,
        }
    }

    pub fn is_preparing(&self) -> bool {
        self.preparing.is_some()
    }

    /// Whether `h` is one of this Try it's runs.
    pub fn owns(&self, h: &RunHistory) -> bool {
        h.lesson.as_ref() == Some(&self.tag)
    }

    /// This Try it's runs in `scheduler`, with their ids.
    pub fn runs<'a>(&self, scheduler: &'a Scheduler) -> Vec<(RunId, &'a RunHistory)> {
        scheduler
            .runs()
            .iter()
            .filter(|r| self.owns(&r.history))
            .map(|r| (r.id, &r.history))
            .collect()
    }

    /// Nothing is running for it any more: sized, its runs ended (or it failed), its surfaces
    /// (if any) ended.
    pub fn is_done(&self, scheduler: &Scheduler) -> bool {
        if self.failed.is_some() {
            return true;
        }
        if self.preparing.is_some() || self.prepared.is_none() {
            return false;
        }
        let runs_live = scheduler
            .runs()
            .iter()
            .any(|r| self.owns(&r.history) && (r.is_live() || !r.history.status.is_done()))
            || scheduler
                .queue()
                .any(|i| i.lesson.as_ref() == Some(&self.tag));
        !runs_live && self.surfaces.as_ref().is_none_or(|s| !s.is_running())
    }

    /// Moves the Try it along: starts its runs once sized, its surfaces once its pair has
    /// finished, and drains the surfaces' job. Call it every frame (the harness: every 50 ms)
    /// after `scheduler.poll`.
    pub fn poll(&mut self, scheduler: &mut Scheduler, wake: &Wake) -> Vec<TryEvent> {
        let mut events = Vec::new();
        if let Some(task) = &mut self.preparing
            && let Some(r) = task.poll()
        {
            self.preparing = None;
            self.prepare_secs = Some(self.clicked.elapsed().as_secs_f64());
            match r.and_then(|p| self.start(p, scheduler, wake)) {
                Ok(()) => events.push(TryEvent::Started),
                Err(e) => {
                    self.failed = Some(e.clone());
                    events.push(TryEvent::Failed(e));
                }
            }
        }
        if self.surfaces.is_none()
            && let Some(quick) = &self.landscape
            && let Some((p, r)) = self.finished_pair(scheduler)
        {
            let seed = self.prepared.as_ref().map_or(0, |p| p.plan.hyper.seed);
            let ids = [NetRef::Trained(p), NetRef::Trained(r)];
            match Computation::start(
                &ids,
                &scheduler.store,
                &[],
                quick.settings(seed),
                wake.clone(),
            ) {
                Ok(c) => {
                    self.surfaces = Some(c);
                    events.push(TryEvent::SurfacesStarted);
                }
                Err(e) => {
                    self.failed = Some(e.clone());
                    events.push(TryEvent::Failed(e));
                }
            }
        }
        if let Some(s) = &mut self.surfaces
            && s.poll()
        {
            events.push(TryEvent::SurfacesEnded);
        }
        events
    }

    /// Starts the sized plan's runs, tagged as this Try it's.
    fn start(
        &mut self,
        prepared: Prepared,
        scheduler: &mut Scheduler,
        wake: &Wake,
    ) -> Result<(), String> {
        let plan = &prepared.plan;
        let info = DataInfo::new(Source::Builtin, plan.load.clone(), &prepared.data);
        let mut inputs = plan.inputs(&info)?;
        for i in &mut inputs {
            i.lesson = Some(self.tag.clone());
        }
        scheduler.start_runs(
            inputs,
            prepared.data.clone(),
            plan.parallel(),
            plan.sweep.is_some(),
            wake,
        )?;
        self.reference = match plan.size {
            // Only a reference of this very setup (a lesson whose `quick:` line changed shows
            // none until the references are regenerated).
            Size::Quick => reference::for_lesson(&self.lesson.id).filter(|r| {
                Some(r.steps) >= plan.steps()
                    && r.setup == plan.with_steps(r.steps).describe(&prepared.data)
            }),
            Size::Full => None,
        };
        self.info = Some(info);
        self.prepared = Some(prepared);
        Ok(())
    }

    /// The plain and the residual run of a Try it that ran to the end: all its runs finished
    /// (not stopped) after an equal number of steps, their trained nets handed back. Only then
    /// are their surfaces computed; a stopped or unequal pair gets none.
    pub fn finished_pair(&self, scheduler: &Scheduler) -> Option<(RunId, RunId)> {
        let expected = self.prepared.as_ref()?.plan.nets.len();
        let runs: Vec<_> = scheduler
            .runs()
            .iter()
            .filter(|r| self.owns(&r.history))
            .collect();
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
                        .identity
                        .as_ref()
                        .is_some_and(|i| i.is_residual() == residual)
                })
                .map(|r| r.id)
        };
        Some((find(false)?, find(true)?))
    }

    /// The surfaces computed for this Try it, as far as they got.
    pub fn landscape(&self) -> Option<&Landscape> {
        self.surfaces.as_ref().map(|s| &s.result)
    }

    /// Asks the surfaces' job to stop (Undo, a new Try it).
    pub fn cancel(&mut self) {
        if let Some(s) = &self.surfaces {
            s.cancel();
        }
        self.preparing = None;
    }

    /// The lesson's check on this Try it's own runs and surfaces (`None`: the lesson has no
    /// check on runs).
    pub fn evaluate(&self, scheduler: &Scheduler) -> Option<Outcome> {
        let runs: Vec<&RunHistory> = self.runs(scheduler).into_iter().map(|(_, h)| h).collect();
        check::evaluate_with(self.lesson.check, &runs, self.landscape())
    }

    /// Every claim of the lesson, judged on this Try it's own runs and surfaces.
    pub fn claims(
        &self,
        scheduler: &Scheduler,
    ) -> Vec<(super::claims::Claim, super::claims::Verdict)> {
        let runs: Vec<&RunHistory> = self.runs(scheduler).into_iter().map(|(_, h)| h).collect();
        self.lesson
            .claims
            .iter()
            .map(|c| (c.clone(), c.judge(&runs, self.landscape())))
            .collect()
    }

    /// Every run completed its budget (the done rule of a lesson without a check).
    pub fn ran_to_the_end(&self, scheduler: &Scheduler) -> bool {
        let Some(p) = &self.prepared else {
            return false;
        };
        let runs = self.runs(scheduler);
        runs.len() == p.plan.nets.len() && runs.iter().all(|(_, h)| h.status == RunStatus::Finished)
    }

    /// Whether this lesson is judged by a check on runs (not a builder exercise, not none).
    pub fn has_run_check(&self) -> bool {
        !matches!(self.lesson.check, Check::None | Check::Exercise(_))
    }
}

//! The lesson's Try it as the shell runs it: the click (sizing, then the runs), the snapshot
//! Undo brings back, the Try it's events, and the verdicts of the check and the claims on the
//! lesson's own runs.
use super::*;

impl ResNetLabApp {
    pub(super) fn apply_try(&mut self, idx: usize, action: TryAction, ctx: &egui::Context) {
        match action {
            TryAction::Train(_) | TryAction::Sweep(_) => {
                let Some(lesson) = self.lessons.lessons.get(idx).cloned() else {
                    return;
                };
                let size = if self.lessons.progress.full_size {
                    Size::Full
                } else {
                    Size::Quick
                };
                // A second Try it keeps the first one's snapshot of the learner's own nets.
                if self.undo.is_none() || self.state.try_run.is_none() {
                    self.undo = Some(self.snapshot());
                }
                if let Some(t) = &mut self.state.try_run {
                    t.cancel();
                }
                let wake = self.state.wake(ctx);
                let seed = self.train().config.hyper.seed;
                self.state.try_run = Some(TryRun::begin(
                    &lesson,
                    size,
                    seed,
                    self.sizing,
                    self.landscape_override.clone(),
                    wake,
                ));
                self.state.scheduler.stop();
                self.state.scheduler.message = Some(format!(
                    "Lesson {}: sizing the experiment for this machine…",
                    idx + 1
                ));
                self.train_mut().page = match lesson.check {
                    Check::SweepTrend => PlotPage::Sweep,
                    Check::GradSpread | Check::ActivationGrowth => PlotPage::Gradients,
                    _ => PlotPage::Errors,
                };
                self.tabs.show("Train");
            }
            TryAction::Build(ex) => {
                self.builder_mut().open_exercise(match ex {
                    BuildExercise::Identity => ExerciseId::Identity,
                    BuildExercise::Conv => ExerciseId::Conv,
                    BuildExercise::Bottleneck => ExerciseId::Bottleneck,
                });
                self.tabs.show("Build");
            }
        }
    }

    /// The learner's nets and runs as they are now (the Try it stops them; Undo shows them as
    /// they were left).
    pub(super) fn snapshot(&self) -> Snapshot {
        let mut histories = self.state.scheduler.histories();
        for h in &mut histories {
            if !h.status.is_done() {
                h.status = RunStatus::Stopped;
            }
        }
        Snapshot {
            config: self.train().config.clone(),
            histories,
            sweep: self.state.scheduler.sweep_points.clone(),
            lesson_data: self
                .state
                .lesson_data
                .clone()
                .zip(self.state.lesson_info.clone()),
        }
    }

    /// Acts on what the lesson's Try it reported this frame.
    pub(super) fn on_try_events(&mut self, events: Vec<TryEvent>) {
        for e in events {
            match e {
                TryEvent::Started => {
                    let Some(t) = &self.state.try_run else {
                        continue;
                    };
                    let Some(p) = &t.prepared else { continue };
                    let n = self
                        .lessons
                        .lessons
                        .iter()
                        .position(|l| l.id == t.lesson.id)
                        .map_or(0, |i| i + 1);
                    let config = p.plan.config(&self.train().config);
                    let describe = p.describe();
                    let data = (p.data.clone(), t.info.clone());
                    let faint = if t.reference.is_some() {
                        " Faint lines: complete runs of the same setup, each in its net's colour, to show where it is going."
                    } else {
                        ""
                    };
                    self.train_mut().config = config;
                    if let (set, Some(info)) = data {
                        self.state.set_lesson_data(Some((set, info)));
                    }
                    self.state.scheduler.message = Some(format!("Lesson {n}: {describe}.{faint}"));
                }
                TryEvent::Failed(why) => {
                    self.state.scheduler.message = Some(format!("The lesson's experiment: {why}"));
                }
                TryEvent::SurfacesStarted => {
                    if let Some(q) = self
                        .state
                        .try_run
                        .as_ref()
                        .and_then(|t| t.landscape.clone())
                    {
                        self.state.scheduler.message = Some(format!(
                            "Both nets finished: computing their loss surfaces ({0}x{0} grid over {1} training images) on the Landscape tab.",
                            q.grid, q.images
                        ));
                    }
                    let state = &self.state;
                    if let Some(l) = self.tabs.get_mut::<LandscapeView>() {
                        l.show_lesson(state);
                    }
                    self.tabs.show("Landscape");
                }
                TryEvent::SurfacesEnded => {}
            }
        }
    }

    pub(super) fn undo_try(&mut self) {
        if let Some(t) = &mut self.state.try_run {
            t.cancel();
        }
        let Some(s) = self.undo.take() else {
            return;
        };
        self.state.try_run = None;
        self.train_mut().config = s.config;
        self.state.scheduler.restore(s.histories, s.sweep);
        self.state.set_lesson_data(s.lesson_data);
        self.state.scheduler.message = Some("Back to your own nets and runs.".into());
    }

    /// The verdict the lesson panel shows for `lesson`, read from its own runs only: the Try
    /// it in flight when it is this lesson's, else the runs in the session that this lesson's
    /// Try it started (restored after a restart, say), with the surfaces the Landscape tab
    /// computed for exactly those runs. `None`: the lesson has no check on runs.
    pub(super) fn outcome_of(&self, lesson: &Lesson) -> Option<Outcome> {
        match lesson.check {
            Check::None => return None,
            Check::Exercise(_) => {
                return Some(if self.lessons.progress.done.contains(&lesson.id) {
                    Outcome {
                        passed: true,
                        message: "Your block passed every check of this exercise in the Build tab."
                            .into(),
                        figure: String::new(),
                    }
                } else {
                    Outcome {
                        passed: false,
                        message: "Build the block in the Build tab and press Check there: a passing block marks this lesson done.".into(),
                        figure: String::new(),
                    }
                });
            }
            _ => {}
        }
        if let Some(t) = &self.state.try_run
            && t.lesson.id == lesson.id
        {
            if t.is_preparing() {
                return Some(Outcome {
                    passed: false,
                    message: "Sizing the experiment for this machine…".into(),
                    figure: String::new(),
                });
            }
            if let Some(why) = &t.failed {
                return Some(Outcome {
                    passed: false,
                    message: format!("The experiment could not run: {why}"),
                    figure: String::new(),
                });
            }
            return t.evaluate(&self.state.scheduler);
        }
        let runs = check::own_runs(
            &lesson.id,
            self.state.scheduler.runs().iter().map(|r| &r.history),
        );
        if runs.is_empty() {
            return Some(Outcome {
                passed: false,
                message:
                    "Press ▶ Try it: the check reads only the runs this lesson's Try it starts."
                        .into(),
                figure: String::new(),
            });
        }
        let ids: Vec<_> = self
            .state
            .scheduler
            .runs()
            .iter()
            .filter(|r| runs.iter().any(|h| std::ptr::eq(*h, &r.history)))
            .map(|r| crate::landscape::sources::NetRef::Trained(r.id))
            .collect();
        let surfaces = self
            .landscape()
            .own
            .as_ref()
            .filter(|c| c.of.len() == ids.len() && c.of.iter().all(|id| ids.contains(id)))
            .map(|c| &c.result);
        check::evaluate_with(lesson.check, &runs, surfaces)
    }

    /// What `lesson`'s text predicts, judged on its own runs (as [`Self::outcome_of`] finds them).
    pub(super) fn claims_of(&self, lesson: &Lesson) -> Vec<(Claim, Verdict)> {
        if lesson.claims.is_empty() {
            return Vec::new();
        }
        if let Some(t) = &self.state.try_run
            && t.lesson.id == lesson.id
        {
            return t.claims(&self.state.scheduler);
        }
        let runs = check::own_runs(
            &lesson.id,
            self.state.scheduler.runs().iter().map(|r| &r.history),
        );
        lesson
            .claims
            .iter()
            .map(|c| (c.clone(), c.judge(&runs, None)))
            .collect()
    }
}

//! The lessons harness, UI-free and on every target: a lesson's Try it run exactly as the app
//! runs it after a click ([`TryRun`] and the app's [`Scheduler`]), judged by the app's own check
//! and claims as the runs go, and the table of many such runs.
//!
//! `resnet-lab lessons --check` drives it from a loop that sleeps between ticks; the browser
//! build (web/check.sh) drives it from the page's timer, its runs training in Web Workers.
use super::check::Outcome;
use super::claims::{Claim, Verdict};
use super::plan::{Size, Sizing};
use super::try_run::{TryEvent, TryRun};
use super::{Check, Lesson};
use crate::landscape::Landscape;
use crate::task::{Wake, no_wake};
use crate::train::RunHistory;
use crate::train::scheduler::Scheduler;

/// One Try it, run as the app runs it after a click, and what it showed.
#[derive(Clone, Debug)]
pub struct TryResult {
    pub lesson: String,
    pub seed: u64,
    /// Seconds from the click until the lesson's check first passed.
    pub effect_secs: Option<f64>,
    /// The verdict when it first passed.
    pub first_pass: Option<Outcome>,
    /// The verdict once every run ended.
    pub last: Option<Outcome>,
    /// Seconds from the click until every run ended.
    pub run_secs: f64,
    /// Seconds the sizing (data set and speed probe) took.
    pub prepare_secs: f64,
    pub steps: usize,
    pub estimate_secs: Option<f64>,
    pub setup: String,
    pub histories: Vec<RunHistory>,
    /// The surfaces computed after training (lessons with a `landscape:` line whose pair ran
    /// to the end).
    pub landscape: Option<Landscape>,
    /// Seconds the surfaces took (included in `run_secs`).
    pub landscape_secs: Option<f64>,
    /// Every claim of the lesson, judged on these runs once they ended.
    pub claims: Vec<(Claim, Verdict)>,
}

impl TryResult {
    /// The effect showed within `budget` seconds and still held when the runs ended; a lesson
    /// without a check only has to finish within the budget.
    pub fn showed(&self, check: Check, budget: f64) -> bool {
        if check == Check::None {
            return self.run_secs <= budget
                && self
                    .histories
                    .iter()
                    .all(|h| h.status == crate::train::RunStatus::Finished);
        }
        self.effect_secs.is_some_and(|t| t <= budget)
            && self.last.as_ref().is_some_and(|o| o.passed)
    }
}

/// A lesson's Try it in progress, advanced by [`Attempt::tick`] (as often as the app's frames
/// would: every 50 ms or so).
pub struct Attempt {
    lesson: Lesson,
    seed: u64,
    wake: Wake,
    scheduler: Scheduler,
    t: TryRun,
    effect: Option<(f64, Outcome)>,
}

impl Attempt {
    /// Clicks `lesson`'s quick Try it with `seed`.
    pub fn begin(lesson: &Lesson, seed: u64, sizing: Sizing) -> Self {
        let wake = no_wake();
        Self {
            t: TryRun::begin(lesson, Size::Quick, seed, sizing, None, wake.clone()),
            lesson: lesson.clone(),
            seed,
            wake,
            scheduler: Scheduler::default(),
            effect: None,
        }
    }

    /// Polls the runs and judges the check; the result once every run has ended.
    pub fn tick(&mut self) -> Option<Result<TryResult, String>> {
        let (t, scheduler, wake) = (&mut self.t, &mut self.scheduler, &self.wake);
        scheduler.poll(wake);
        for e in t.poll(scheduler, wake) {
            if let TryEvent::Failed(why) = e {
                return Some(Err(why));
            }
        }
        if self.effect.is_none()
            && let Some(o) = t.evaluate(scheduler).filter(|o| o.passed)
        {
            self.effect = Some((t.clicked.elapsed().as_secs_f64(), o));
        }
        // A finished run hands its trained net back just after its last event.
        if !t.is_done(scheduler) || scheduler.needs_polling() {
            return None;
        }
        Some(self.result())
    }

    fn result(&mut self) -> Result<TryResult, String> {
        let (t, scheduler) = (&self.t, &self.scheduler);
        let run_secs = t.clicked.elapsed().as_secs_f64();
        let last = t.evaluate(scheduler);
        let prepared = t.prepared.as_ref().ok_or("the Try it never started")?;
        let effect = self.effect.take();
        Ok(TryResult {
            lesson: self.lesson.id.clone(),
            seed: self.seed,
            effect_secs: effect.as_ref().map(|e| e.0),
            first_pass: effect.map(|e| e.1),
            last,
            run_secs,
            prepare_secs: t.prepare_secs.unwrap_or(0.0),
            steps: prepared.plan.steps().unwrap_or(0),
            estimate_secs: prepared.estimate_secs,
            setup: prepared.describe(),
            histories: t
                .runs(scheduler)
                .into_iter()
                .map(|(_, h)| h.clone())
                .collect(),
            landscape_secs: t.surfaces.as_ref().and_then(|s| s.secs),
            landscape: t.landscape().cloned(),
            claims: t.claims(scheduler),
        })
    }
}

/// The lessons whose Try it trains, with their 1-based numbers, filtered by `only` (ids or
/// numbers; empty keeps all).
pub fn picked(only: &[String]) -> Vec<(usize, Lesson)> {
    super::all()
        .into_iter()
        .enumerate()
        .filter(|(_, l)| l.quick.is_some())
        .filter(|(i, l)| {
            only.is_empty() || only.iter().any(|o| *o == l.id || *o == (i + 1).to_string())
        })
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn secs(v: Option<f64>) -> String {
    v.map(|t| format!("{t:.1}")).unwrap_or_else(|| "—".into())
}

/// One line of progress for a finished attempt (the harness prints it as it goes).
pub fn progress_line(r: &TryResult) -> String {
    let surfaces = r
        .landscape_secs
        .map(|t| format!(" (surfaces {t:.1} s)"))
        .unwrap_or_default();
    format!(
        "  {} steps (estimated {} s), effect at {} s, runs ended at {:.1} s{surfaces}: {}",
        r.steps,
        secs(r.estimate_secs),
        secs(r.effect_secs),
        r.run_secs,
        r.last
            .as_ref()
            .map(|o| o.message.as_str())
            .unwrap_or("no check")
    )
}

/// The `lessons --check` tables (lessons, then claims) for `results` (each lesson's number,
/// the lesson, its attempts), and one line per miss: a lesson that did not show its effect
/// within `budget` seconds in every seed, or a claim that did not hold in every seed.
pub fn report(results: &[(usize, Lesson, Vec<TryResult>)], budget: f64) -> (String, Vec<String>) {
    let mut rows = Vec::new();
    let mut claim_lines = Vec::new();
    let mut failed = Vec::new();
    for (n, lesson, runs) in results {
        let shown = runs
            .iter()
            .filter(|r| r.showed(lesson.check, budget))
            .count();
        let effect = if lesson.check == Check::None {
            "no check: ran to the end".to_string()
        } else {
            runs.iter()
                .map(|r| secs(r.effect_secs))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let figure = runs
            .first()
            .and_then(|r| r.first_pass.as_ref().or(r.last.as_ref()))
            .map(|o| o.figure.clone())
            .unwrap_or_else(|| "—".into());
        let steps = runs
            .iter()
            .map(|r| r.steps.to_string())
            .collect::<Vec<_>>()
            .join(" / ");
        let ran = runs
            .iter()
            .map(|r| format!("{:.0}", r.run_secs))
            .collect::<Vec<_>>()
            .join(" / ");
        rows.push(format!(
            "| {n}. {} | {effect} | {shown}/{} | {figure} | {steps} | {ran} |",
            lesson.title,
            runs.len()
        ));
        if shown < runs.len() {
            failed.push(format!(
                "lesson {n} ({}) showed its effect within {budget:.0} s in {shown} of {} seeds",
                lesson.id,
                runs.len()
            ));
        }
        for (i, c) in lesson.claims.iter().enumerate() {
            let verdicts: Vec<&Verdict> = runs
                .iter()
                .filter_map(|r| r.claims.get(i))
                .map(|v| &v.1)
                .collect();
            let held = verdicts.iter().filter(|v| v.holds == Some(true)).count();
            claim_lines.push(format!(
                "| {n} | {} \"{}\" | {held}/{} | {} |",
                c.text.replace('|', "\\|"),
                c.quote,
                runs.len(),
                runs.iter()
                    .zip(&verdicts)
                    .map(|(r, v)| format!("seed {}: {}", r.seed, v.figures))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            if held < runs.len() {
                failed.push(format!(
                    "lesson {n} ({}): the claim `{}` held in {held} of {} seeds",
                    lesson.id,
                    c.text,
                    runs.len()
                ));
            }
        }
    }
    let mut out = String::new();
    out += "| lesson | effect shown after (s, per seed) | seeds showing it | figure judged (first seed) | steps per net | runs ended after (s) |\n";
    out += "|---|---|---|---|---|---|\n";
    for r in rows {
        out += &r;
        out += "\n";
    }
    out += "\n| lesson | claim \"words it backs\" | seeds it held in | figures per seed |\n";
    out += "|---|---|---|---|\n";
    for l in claim_lines {
        out += &l;
        out += "\n";
    }
    (out, failed)
}

//! `resnet-lab lessons`: every lesson's Try it run headless exactly as the app runs it, timed
//! and judged by the app's own checks (`--check`), or run to the end to make the reference
//! curves the app draws behind live runs (`--references DIR`).
use crate::landscape::Landscape;
use crate::lessons::check::Outcome;
use crate::lessons::claims::{Claim, Verdict};
use crate::lessons::plan::{self, Size, Sizing};
use crate::lessons::reference::{self, RefRun, Reference};
use crate::lessons::try_run::{TryEvent, TryRun};
use crate::lessons::{self, Check, Lesson};
use crate::task::no_wake;
use crate::train::RunHistory;
use crate::train::scheduler::Scheduler;
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct LessonsArgs {
    /// Run every lesson's Try it at its default budget with each seed; print one row per lesson
    /// (a Markdown table) and fail when a lesson misses its effect or its budget.
    #[arg(long)]
    pub check: bool,
    /// Write reference curves (complete runs at each lesson's largest quick budget) to DIR.
    #[arg(long, value_name = "DIR")]
    pub references: Option<PathBuf>,
    /// Seeds to run (default: 0 1 2 with --check, 1 2 3 with --references).
    #[arg(long, num_args = 1..)]
    pub seeds: Vec<u64>,
    /// Only these lessons (ids or numbers, e.g. `2 degradation`).
    #[arg(long, num_args = 1..)]
    pub only: Vec<String>,
    /// A fixed step count per net instead of sizing by a speed probe.
    #[arg(long, value_parser = super::flags::steps, conflicts_with = "at")]
    pub steps: Option<usize>,
    /// Each lesson at the smallest or the largest step count of its `quick:` range instead of
    /// sizing by a speed probe (what a slow and a fast machine get).
    #[arg(long, value_enum)]
    pub at: Option<At>,
    /// Seconds from the click within which the effect must show.
    #[arg(long, default_value_t = 60.0, value_parser = budget)]
    pub budget: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum At {
    Min,
    Max,
}

/// How `lesson`'s step budget is chosen under these flags.
fn sizing(a: &LessonsArgs, lesson: &Lesson) -> Sizing {
    let q = lesson.quick.clone().unwrap_or_default();
    match (a.steps, a.at) {
        (Some(n), _) => Sizing::Steps(n),
        (None, Some(At::Min)) => Sizing::Steps(q.min_steps),
        (None, Some(At::Max)) => Sizing::Steps(q.max_steps),
        (None, None) => Sizing::Probe,
    }
}

/// `--budget`: seconds, more than 0 and at most a day.
fn budget(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err("the budget must be a number of seconds above 0 and at most 86400".into()),
    }
}

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

/// Prepares and runs `lesson`'s quick Try it with `seed` through the app's own [`TryRun`],
/// judging it with the app's check as the runs go (every 50 ms, as often as the app's frames
/// would).
pub fn run_try(lesson: &Lesson, seed: u64, sizing: Sizing) -> Result<TryResult, String> {
    let wake = no_wake();
    let mut scheduler = Scheduler::default();
    let mut t = TryRun::begin(lesson, Size::Quick, seed, sizing, None, wake.clone());
    let mut effect = None;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        scheduler.poll(&wake);
        for e in t.poll(&mut scheduler, &wake) {
            if let TryEvent::Failed(why) = e {
                return Err(why);
            }
        }
        if effect.is_none()
            && let Some(o) = t.evaluate(&scheduler).filter(|o| o.passed)
        {
            effect = Some((t.clicked.elapsed().as_secs_f64(), o));
        }
        // A finished run hands its trained net back just after its last event.
        if t.is_done(&scheduler) && !scheduler.needs_polling() {
            break;
        }
    }
    let run_secs = t.clicked.elapsed().as_secs_f64();
    let last = t.evaluate(&scheduler);
    let prepared = t.prepared.as_ref().ok_or("the Try it never started")?;
    Ok(TryResult {
        lesson: lesson.id.clone(),
        seed,
        effect_secs: effect.as_ref().map(|e| e.0),
        first_pass: effect.map(|e| e.1),
        last,
        run_secs,
        prepare_secs: t.prepare_secs.unwrap_or(0.0),
        steps: prepared.plan.steps().unwrap_or(0),
        estimate_secs: prepared.estimate_secs,
        setup: prepared.describe(),
        histories: t
            .runs(&scheduler)
            .into_iter()
            .map(|(_, h)| h.clone())
            .collect(),
        landscape_secs: t.surfaces.as_ref().and_then(|s| s.secs),
        landscape: t.landscape().cloned(),
        claims: t.claims(&scheduler),
    })
}

/// The lessons whose Try it trains, with their 1-based numbers, filtered by `only`.
fn picked(only: &[String]) -> Vec<(usize, Lesson)> {
    lessons::all()
        .into_iter()
        .enumerate()
        .filter(|(_, l)| l.quick.is_some())
        .filter(|(i, l)| {
            only.is_empty() || only.iter().any(|o| *o == l.id || *o == (i + 1).to_string())
        })
        .map(|(i, l)| (i + 1, l))
        .collect()
}

pub fn run(a: LessonsArgs) -> Result<(), String> {
    match (&a.references, a.check) {
        (Some(dir), false) => references(&a, dir),
        (None, true) => check_all(&a),
        _ => Err("give exactly one of --check and --references DIR".into()),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn secs(v: Option<f64>) -> String {
    v.map(|t| format!("{t:.1}")).unwrap_or_else(|| "—".into())
}

fn check_all(a: &LessonsArgs) -> Result<(), String> {
    let seeds = if a.seeds.is_empty() {
        vec![0, 1, 2]
    } else {
        a.seeds.clone()
    };
    let lessons = picked(&a.only);
    if lessons.is_empty() {
        return Err("no lesson with a training Try it matches --only".into());
    }
    eprintln!(
        "{} on {} core(s); budget {:.0} s per lesson; seeds {:?}",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        a.budget,
        seeds
    );
    let mut rows = Vec::new();
    let mut claim_lines = Vec::new();
    let mut failed = Vec::new();
    for (n, lesson) in &lessons {
        let mut runs = Vec::new();
        for &seed in &seeds {
            eprintln!("lesson {n} ({}), seed {seed}…", lesson.id);
            let r = run_try(lesson, seed, sizing(a, lesson))?;
            let surfaces = r
                .landscape_secs
                .map(|t| format!(" (surfaces {t:.1} s)"))
                .unwrap_or_default();
            eprintln!(
                "  {} steps (estimated {} s), effect at {} s, runs ended at {:.1} s{surfaces}: {}",
                r.steps,
                secs(r.estimate_secs),
                secs(r.effect_secs),
                r.run_secs,
                r.last
                    .as_ref()
                    .map(|o| o.message.as_str())
                    .unwrap_or("no check")
            );
            runs.push(r);
        }
        let shown = runs
            .iter()
            .filter(|r| r.showed(lesson.check, a.budget))
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
                "lesson {n} ({}) showed its effect within {:.0} s in {shown} of {} seeds",
                lesson.id,
                a.budget,
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
    println!(
        "| lesson | effect shown after (s, per seed) | seeds showing it | figure judged (first seed) | steps per net | runs ended after (s) |"
    );
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!();
    println!("| lesson | claim \"words it backs\" | seeds it held in | figures per seed |");
    println!("|---|---|---|---|");
    for l in claim_lines {
        println!("{l}");
    }
    println!();
    println!(
        "CPU: {}; kernels: {}",
        cpu_model(),
        crate::nn::ops::simd::active().name()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

fn references(a: &LessonsArgs, dir: &Path) -> Result<(), String> {
    let seeds = if a.seeds.is_empty() {
        vec![1, 2, 3]
    } else {
        a.seeds.clone()
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
    let ids: Vec<&str> = reference::lesson_ids().collect();
    for (n, lesson) in picked(&a.only) {
        if !ids.contains(&lesson.id.as_str()) {
            continue;
        }
        let quick = lesson.quick.clone().unwrap_or_default();
        let steps = a.steps.unwrap_or(quick.max_steps);
        let mut r = Reference {
            lesson: lesson.id.clone(),
            steps,
            ..Default::default()
        };
        for &seed in &seeds {
            eprintln!("lesson {n} ({}), seed {seed}, {steps} steps…", lesson.id);
            let t = run_try(&lesson, seed, Sizing::Steps(steps))?;
            eprintln!(
                "  first passed: {}; at the end: {}",
                t.first_pass
                    .as_ref()
                    .map(|o| o.figure.as_str())
                    .unwrap_or("never"),
                t.last
                    .as_ref()
                    .map(|o| o.message.as_str())
                    .unwrap_or("no check")
            );
            if let Some(bad) = t
                .histories
                .iter()
                .find(|h| h.status != crate::train::RunStatus::Finished)
            {
                return Err(format!(
                    "lesson {n}: {} did not complete ({}); a reference must be a complete run",
                    bad.label,
                    bad.status.describe()
                ));
            }
            let plan = plan::Plan::new(&lesson, Size::Quick, seed)
                .ok_or("the lesson has nothing to train")?
                .with_steps(steps);
            r.setup = plan.describe(&plan.load_data()?);
            r.runs.extend(t.histories.iter().map(|h| {
                let run = RefRun::from_history(h);
                if plan.sweep.is_some() {
                    // A sweep's reference is its error-vs-depth line: eight nets' curves behind
                    // eight live ones would only clutter, and the file stays small.
                    RefRun {
                        label: run.label,
                        seed: run.seed,
                        steps: run.steps,
                        final_err: run.final_err,
                        ..Default::default()
                    }
                } else {
                    run
                }
            }));
        }
        let path = dir.join(format!("{}.json", lesson.id));
        let json = serde_json::to_string(&r).map_err(|e| e.to_string())?;
        crate::util::write_atomic(&path, json.as_bytes())
            .map_err(|e| format!("could not write {}: {e}", path.display()))?;
        eprintln!("wrote {} ({} bytes)", path.display(), json.len());
    }
    Ok(())
}

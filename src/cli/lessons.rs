//! `resnet-lab lessons`: every lesson's Try it run headless exactly as the app runs it, timed
//! and judged by the app's own checks (`--check`), or run to the end to make the reference
//! curves the app draws behind live runs (`--references DIR`).
use crate::lessons::Lesson;
pub use crate::lessons::harness::TryResult;
use crate::lessons::harness::{self, Attempt, picked};
use crate::lessons::plan::{self, Size, Sizing};
use crate::lessons::reference::{self, RefRun, Reference};
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

/// Prepares and runs `lesson`'s quick Try it with `seed` through the app's own `TryRun`,
/// judging it with the app's check as the runs go (every 50 ms, as often as the app's frames
/// would).
pub fn run_try(lesson: &Lesson, seed: u64, sizing: Sizing) -> Result<TryResult, String> {
    let mut attempt = Attempt::begin(lesson, seed, sizing);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        if let Some(r) = attempt.tick() {
            return r;
        }
    }
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
    let mut results = Vec::new();
    for (n, lesson) in lessons {
        let mut runs = Vec::new();
        for &seed in &seeds {
            eprintln!("lesson {n} ({}), seed {seed}…", lesson.id);
            let r = run_try(&lesson, seed, sizing(a, &lesson))?;
            eprintln!("{}", harness::progress_line(&r));
            runs.push(r);
        }
        results.push((n, lesson, runs));
    }
    let (table, failed) = harness::report(&results, a.budget);
    println!("{table}");
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

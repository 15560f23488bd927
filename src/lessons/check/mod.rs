//! Lesson checks, evaluated on the learner's own runs and explained in a sentence.
//!
//! The rules that keep a check from drawing a wrong conclusion:
//! - two nets are compared at an **equal step** (the fewer steps of the two), never a stopped
//!   run's last value against another run's end;
//! - a training error is the **mean over a trailing window** of steps, never one mini-batch;
//! - a comparison needs at least [`MIN_STEPS`] steps on both sides and a gap of at least
//!   [`MARGIN`], so a lucky batch or seed cannot pass it;
//! - the depth sweep uses only runs that **completed their budget**, all with the same budget;
//! - runs that diverged or failed are left out, and the message says what evidence is missing.
//!
//! The `lessons --check` harness judges with [`evaluate`] as well, on the same histories.
use super::Check;
use crate::identity::Preset;
use crate::landscape::{Landscape, Status, bowl_check};
use crate::nn::LayerSpec;
use crate::train::{RunHistory, RunStatus};
use std::borrow::Borrow;

mod each;
use each::*;
pub(crate) use each::{activation_growth_of, spread_and_tilt};

/// Fewest steps both nets need before their training errors are compared.
pub const MIN_STEPS: usize = 40;
/// Smallest gap in training error (a fraction) that counts as an effect.
pub const MARGIN: f32 = 0.10;
/// The plain net's gradient-norm spread must be this many times the residual twin's.
pub const SPREAD_RATIO: f32 = 10.0;
/// The unscaled residual net's activation growth must be this many times the scaled one's.
pub const GROWTH_RATIO: f32 = 2.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub passed: bool,
    pub message: String,
    /// The numbers the verdict rests on, in a few words (the harness prints them).
    pub figure: String,
}

impl Outcome {
    fn pass(message: String, figure: String) -> Self {
        Self {
            passed: true,
            message,
            figure,
        }
    }
    fn missing(message: impl Into<String>) -> Self {
        Self {
            passed: false,
            message: message.into(),
            figure: String::new(),
        }
    }
    fn not_yet(message: String, figure: String) -> Self {
        Self {
            passed: false,
            message,
            figure,
        }
    }
}

fn pct(v: f32) -> String {
    format!("{:.0}%", v * 100.0)
}

pub use crate::train::history::window;

/// The lesson net a run trained: one of the paper's presets, read from its typed identity
/// (a built net, or a history saved before runs recorded one, is no lesson net).
fn net_of(h: &RunHistory) -> Option<Preset> {
    h.identity.as_ref()?.preset()
}

/// Channels of the first conv: nets of different widths are not compared.
fn width(h: &RunHistory) -> Option<usize> {
    h.net.as_ref()?.spec.layers.iter().find_map(|l| match l {
        LayerSpec::Conv { out, .. } => Some(*out),
        _ => None,
    })
}

/// Same optimiser settings, batch and width: a step means the same thing for both runs.
fn comparable(a: &RunHistory, b: &RunHistory) -> bool {
    let (x, y) = (&a.hyper, &b.hyper);
    x.batch == y.batch
        && x.lr == y.lr
        && x.optimizer == y.optimizer
        && x.momentum == y.momentum
        && x.weight_decay == y.weight_decay
        && x.schedule == y.schedule
        && x.warmup_steps == y.warmup_steps
        && width(a) == width(b)
}

/// A run a check may read: its net is known and it neither failed nor diverged.
#[derive(Clone, Copy)]
struct Run<'a> {
    net: &'a Preset,
    h: &'a RunHistory,
}

fn usable<'a>(runs: &[&'a RunHistory]) -> (Vec<(Preset, &'a RunHistory)>, Vec<String>) {
    let mut ok = Vec::new();
    let mut left_out = Vec::new();
    for &h in runs {
        let Some(net) = net_of(h) else { continue };
        match &h.status {
            RunStatus::Diverged { step } => {
                left_out.push(format!("{} diverged at step {step}", h.label))
            }
            RunStatus::Failed(_) => left_out.push(format!("{} failed", h.label)),
            RunStatus::Waiting => {}
            _ => ok.push((net, h)),
        }
    }
    (ok, left_out)
}

fn runs_of<'a>(v: &'a [(Preset, &'a RunHistory)]) -> Vec<Run<'a>> {
    v.iter().map(|(net, h)| Run { net, h }).collect()
}

fn finished(h: &RunHistory) -> bool {
    h.status == RunStatus::Finished
}

/// Two runs at an equal step: the step and both windowed errors, or why not yet.
enum AtStep {
    Ready { step: usize, a: f32, b: f32 },
    TooEarly(String),
}

fn at_equal_step(a: &RunHistory, b: &RunHistory) -> AtStep {
    let s = a.steps_done().min(b.steps_done());
    if s < MIN_STEPS {
        let short = if a.steps_done() <= b.steps_done() {
            a
        } else {
            b
        };
        let why = match short.status {
            RunStatus::Stopped | RunStatus::Finished => format!(
                "{} {} after {} steps, too few to judge: the check compares nets at an equal step of at least {MIN_STEPS}. Run it again and let it finish.",
                short.label,
                if short.status == RunStatus::Stopped {
                    "was stopped"
                } else {
                    "ended"
                },
                short.steps_done()
            ),
            _ => format!(
                "Waiting for evidence: the check compares nets at an equal step once both have trained {MIN_STEPS} steps ({} is at {}).",
                short.label,
                short.steps_done()
            ),
        };
        return AtStep::TooEarly(why);
    }
    match (a.train_err_at(s), b.train_err_at(s)) {
        (Some(x), Some(y)) => AtStep::Ready {
            step: s,
            a: x,
            b: y,
        },
        _ => AtStep::TooEarly("Waiting for the first steps.".into()),
    }
}

/// "at step 120" or "at the end (step 300)" when both ran their whole budget.
/// "at the end (step 300)" when both ran their whole budget, "at step 120 (plain-56 was
/// stopped there)" when one was stopped, else "at step 120".
fn when(step: usize, a: &RunHistory, b: &RunHistory) -> String {
    if finished(a) && finished(b) && a.steps_done() == b.steps_done() {
        return format!("at the end (step {step})");
    }
    let stopped: Vec<&str> = [a, b]
        .iter()
        .filter(|h| h.status == RunStatus::Stopped && h.steps_done() == step)
        .map(|h| h.label.as_str())
        .collect();
    match stopped.as_slice() {
        [] => format!("at step {step}"),
        [one] => format!("at step {step} ({one} was stopped there, short of its budget)"),
        _ => format!("at step {step} (both were stopped there, short of their budget)"),
    }
}

fn with_left_out(msg: String, left_out: &[String]) -> String {
    if left_out.is_empty() {
        msg
    } else {
        format!("{msg} (Left out: {}.)", left_out.join("; "))
    }
}

/// The runs among `histories` that lesson `lesson`'s Try it started, all from its latest click:
/// the only runs its check may read.
pub fn own_runs<'a>(
    lesson: &str,
    histories: impl Iterator<Item = &'a RunHistory>,
) -> Vec<&'a RunHistory> {
    let mine: Vec<&RunHistory> = histories
        .filter(|h| h.lesson.as_ref().is_some_and(|t| t.lesson.0 == lesson))
        .collect();
    let latest = mine
        .iter()
        .filter_map(|h| h.lesson.as_ref())
        .map(|t| t.attempt)
        .max();
    mine.into_iter()
        .filter(|h| h.lesson.as_ref().map(|t| t.attempt) == latest)
        .collect()
}

/// The check's verdict on `runs`, or `None` when the lesson has nothing to check on runs.
/// (The `bowl` check also needs the surfaces: see [`evaluate_with`].)
pub fn evaluate(check: Check, runs: &[impl Borrow<RunHistory>]) -> Option<Outcome> {
    evaluate_with(check, runs, None)
}

/// The check's verdict on `runs` and, for the `bowl` check, the loss landscape computed around
/// them (`None`: not computed).
pub fn evaluate_with(
    check: Check,
    runs: &[impl Borrow<RunHistory>],
    landscape: Option<&Landscape>,
) -> Option<Outcome> {
    let runs: Vec<&RunHistory> = runs.iter().map(|h| h.borrow()).collect();
    let (ok, left_out) = usable(&runs);
    let runs = runs_of(&ok);
    let o = match check {
        Check::None => return None,
        Check::Exercise(_) => Outcome::missing(
            "Build the block in the Build tab and press Check there: a passing block marks this lesson done.",
        ),
        Check::Degradation => degradation(&runs),
        Check::ResnetWins => resnet_wins(&runs),
        Check::IdentityInit => identity_init(&runs),
        Check::GradSpread => grad_spread(&runs),
        Check::ActivationGrowth => activation_growth(&runs),
        Check::SweepTrend => sweep_trend(&runs),
        Check::Bowl => bowl(&runs, landscape),
    };
    Some(if o.passed {
        o
    } else {
        Outcome {
            message: with_left_out(o.message, &left_out),
            ..o
        }
    })
}

/// A pair that shows the effect: both runs, the equal step, and their errors there.
type Shown<'a> = (Run<'a>, Run<'a>, usize, f32, f32);
/// The pair closest to showing it, and where it stands.
type Closest<'a> = (Run<'a>, Run<'a>, AtStep);

/// Comparable pairs (a, b) judged at an equal step by `gap(err_a, err_b) >= MARGIN`: the pair
/// with the widest gap, else the most advanced pair's state (None: no pair).
fn judge_pairs<'a>(
    pairs: Vec<(Run<'a>, Run<'a>)>,
    gap: impl Fn(f32, f32) -> f32,
) -> Result<Shown<'a>, Option<Closest<'a>>> {
    let mut best: Option<Shown> = None;
    let mut fallback: Option<Closest> = None;
    for (a, b) in pairs {
        match at_equal_step(a.h, b.h) {
            AtStep::Ready { step, a: ea, b: eb } => {
                if gap(ea, eb) >= MARGIN {
                    if best
                        .as_ref()
                        .is_none_or(|(_, _, _, x, y)| gap(ea, eb) > gap(*x, *y))
                    {
                        best = Some((a, b, step, ea, eb));
                    }
                } else {
                    let better = match &fallback {
                        Some((_, _, AtStep::Ready { step: s, .. })) => step > *s,
                        _ => true,
                    };
                    if better {
                        fallback = Some((a, b, AtStep::Ready { step, a: ea, b: eb }));
                    }
                }
            }
            t @ AtStep::TooEarly(_) => {
                if fallback.is_none() {
                    fallback = Some((a, b, t));
                }
            }
        }
    }
    best.ok_or(fallback)
}

fn still_training(a: &RunHistory, b: &RunHistory) -> bool {
    !(a.status.is_done() && b.status.is_done())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_grows_with_the_step_within_bounds() {
        assert_eq!(window(10), 10);
        assert_eq!(window(40), 20);
        assert_eq!(window(150), 30);
        assert_eq!(window(1000), 50);
    }

    #[test]
    fn spread_and_tilt_read_the_input_side_first() {
        let (s, t) = spread_and_tilt(&[100.0, 100.0, 10.0, 1.0, 1.0, 1.0]).unwrap();
        assert_eq!(s, 100.0);
        assert!((t - 2.0).abs() < 1e-6);
    }
}

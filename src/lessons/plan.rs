//! What a lesson's Try it runs, sized for this machine by a short speed probe.
//!
//! A lesson's `quick:` line says how small its experiment may be (image size, width, data subset,
//! step range, target seconds). At click time [`prepare`] loads the built-in shapes at that size,
//! trains every net of the experiment for a few steps exactly as the real run will (one thread
//! each, side by side), and picks the step count that makes the whole run last about the target.
//! The app and the `lessons --check` harness both go through here, so what the harness times is
//! what the learner gets. Nothing here knows egui.
use super::{Lesson, Quick, TryAction};
use crate::data::{self, Dataset, LoadOptions, Progress, Source};
use crate::identity::{NetChoice, Preset};
use crate::task;
use crate::train::scheduler::TrainConfig;
use crate::train::{Control, DataInfo, Event, Hyper, NetEntry, RunInputs, trainer};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use web_time::Instant;

/// Quick (sized for a minute) or the paper's settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Size {
    #[default]
    Quick,
    /// The paper's CIFAR settings on the full built-in set: 28x28 images, width 16, batch 128,
    /// three epochs. Takes minutes.
    Full,
}

/// How many runs of a sweep train at once: one per core, as the app's training session does.
pub const PARALLEL: usize = 2;

/// Steps the speed probe times (after one untimed step that builds caches).
const PROBE_STEPS: usize = 4;

/// A forward pass costs about this share of a training step (forward + backward + update); the
/// test pass at the end of every epoch is forward only.
const EVAL_SHARE: f64 = 0.4;

/// Everything one Try it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub lesson: String,
    pub size: Size,
    /// The nets in the order they start, at the plan's width.
    pub nets: Vec<Preset>,
    /// The depths, when the Try it is a depth sweep (then `nets` is its queue).
    pub sweep: Option<Vec<usize>>,
    pub load: LoadOptions,
    /// Test images kept per class (None: all).
    pub test_per_class: Option<usize>,
    pub width: usize,
    /// Shared by every net; `max_steps` is the budget the probe chose.
    pub hyper: Hyper,
}

impl Plan {
    /// The plan of `lesson`'s Try it at its largest quick budget (or the paper's settings);
    /// `None` when the Try it does not train.
    pub fn new(lesson: &Lesson, size: Size, seed: u64) -> Option<Plan> {
        let (nets, sweep) = match &lesson.try_action {
            TryAction::Train(nets) => (nets.clone(), None),
            TryAction::Sweep(depths) => {
                let mut d = depths.clone();
                d.sort_unstable();
                d.dedup();
                let queue = d
                    .iter()
                    .flat_map(|&depth| [false, true].map(|residual| Preset::new(residual, depth)))
                    .collect();
                (queue, Some(d))
            }
            TryAction::Build(_) => return None,
        };
        let quick = lesson.quick.clone().unwrap_or_default();
        let width = match size {
            Size::Quick => quick.width,
            Size::Full => 16,
        };
        let nets = nets.into_iter().map(|n| n.with_width(width)).collect();
        Some(match size {
            Size::Quick => Plan {
                lesson: lesson.id.clone(),
                size,
                nets,
                sweep,
                load: LoadOptions {
                    size: Some((quick.image, quick.image)),
                    max_per_class: Some(quick.per_class),
                    ..LoadOptions::default()
                },
                test_per_class: Some(quick.test_per_class),
                width: quick.width,
                hyper: quick_hyper(&quick, seed),
            },
            Size::Full => Plan {
                lesson: lesson.id.clone(),
                size,
                nets,
                sweep,
                load: LoadOptions::default(),
                test_per_class: None,
                width: 16,
                hyper: Hyper {
                    epochs: 3,
                    batch: 128,
                    max_steps: None,
                    seed,
                    threads: 1,
                    probe_every: quick.probe_every,
                    ..Hyper::default()
                },
            },
        })
    }

    /// How many nets train at the same time.
    pub fn parallel(&self) -> usize {
        if self.sweep.is_some() {
            PARALLEL
        } else {
            self.nets.len().max(1)
        }
    }

    /// The same plan with a step budget of `steps`.
    pub fn with_steps(&self, steps: usize) -> Plan {
        let mut p = self.clone();
        p.hyper.max_steps = Some(steps.max(1));
        p
    }

    /// Just enough epochs over `train_len` training images for the step budget (what the Train
    /// tab then shows; the step budget still ends the run).
    fn fit_epochs(mut self, train_len: usize) -> Plan {
        if let Some(steps) = self.hyper.max_steps {
            let per_epoch = (train_len / self.hyper.batch.clamp(1, train_len.max(1))).max(1);
            self.hyper.epochs = steps.div_ceil(per_epoch).max(1);
        }
        self
    }

    pub fn steps(&self) -> Option<usize> {
        self.hyper.max_steps
    }

    /// The built-in shapes at the plan's size (generated, so this takes well under a second at
    /// the quick sizes).
    pub fn load_data(&self) -> Result<Dataset, String> {
        let mut ds = data::load(&Source::Builtin, &self.load, &Progress::default())
            .map_err(|e| format!("could not make the lesson's data set: {e}"))?;
        if let Some(k) = self.test_per_class {
            let len = ds.image_len();
            ds.test = ds.test.first_per_class(ds.classes.len(), k, len);
        }
        if self.size == Size::Quick {
            ds.name = format!(
                "{} at {}x{}, {} per class",
                ds.name,
                ds.height,
                ds.width,
                self.load.max_per_class.unwrap_or(0)
            );
        }
        Ok(ds)
    }

    /// The nets as the scheduler trains them (for a sweep, its queue).
    pub fn choices(&self) -> Vec<NetChoice> {
        self.nets.iter().cloned().map(NetChoice::Preset).collect()
    }

    /// What the Train tab shows as set up by this plan: its nets (for a sweep, the deepest
    /// pair, so ▶ Start afterwards trains the pair the sweep ends with), its hyper-parameters,
    /// and its sweep depths (or the learner's, for a plan that is no sweep).
    pub fn config(&self, previous: &TrainConfig) -> TrainConfig {
        let nets = match &self.sweep {
            Some(depths) => {
                let d = depths.last().copied().unwrap_or(20);
                [false, true]
                    .map(|r| NetChoice::Preset(Preset::new(r, d).with_width(self.width)))
                    .to_vec()
            }
            None => self.choices(),
        };
        TrainConfig {
            nets,
            hyper: self.hyper.clone(),
            sweep_depths: self
                .sweep
                .clone()
                .unwrap_or_else(|| previous.sweep_depths.clone()),
        }
    }

    /// The frozen inputs of every net of the plan on `data`, in order.
    pub fn inputs(&self, data: &DataInfo) -> Result<Vec<RunInputs>, String> {
        self.choices()
            .iter()
            .map(|c| c.inputs(&self.hyper, data))
            .collect()
    }

    /// A sentence for the learner: what runs, on what, for how long.
    pub fn describe(&self, data: &Dataset) -> String {
        let what = match &self.sweep {
            Some(d) => format!(
                "a sweep of plain and residual nets at depths {}",
                d.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => self
                .nets
                .iter()
                .map(Preset::label)
                .collect::<Vec<_>>()
                .join(" and "),
        };
        let budget = match self.hyper.max_steps {
            Some(s) => format!("{s} steps each"),
            None => format!("{} epochs each", self.hyper.epochs),
        };
        let warmup = match self.hyper.warmup_steps {
            0 => String::new(),
            n => format!(" after {n} warm-up steps"),
        };
        format!(
            "{what}, width {}, batch {}, learning rate {}{warmup}, on {}x{} shapes ({} training images), {budget}",
            self.width,
            self.hyper.batch,
            self.hyper.lr,
            data.height,
            data.width,
            data.train.len()
        )
    }
}

fn quick_hyper(q: &Quick, seed: u64) -> Hyper {
    Hyper {
        // The step budget ends the run; the epoch count only has to be large enough.
        epochs: 1000,
        batch: q.batch,
        max_steps: Some(q.max_steps),
        seed,
        threads: 1,
        probe_every: q.probe_every,
        warmup_steps: q.warmup,
        ..Hyper::default()
    }
}

/// Seconds per training step of each net of the plan, measured side by side as they will run.
#[derive(Clone, Debug, PartialEq)]
pub struct Speed {
    pub secs_per_step: Vec<f64>,
    /// How long the probe itself took.
    pub probe_secs: f64,
}

/// Trains every net of `plan` for a few steps, `plan.parallel()` at a time, one thread each.
pub fn probe(plan: &Plan, data: &Arc<Dataset>) -> Result<Speed, String> {
    let started = Instant::now();
    let classes = data.classes.len();
    let mut secs = Vec::with_capacity(plan.nets.len());
    for group in plan.choices().chunks(plan.parallel()) {
        let jobs = group
            .iter()
            .map(|net| {
                // Built exactly as the scheduler builds the run.
                let (entry, hyper, data) =
                    (net.entry(classes), net.hyper(&plan.hyper), data.clone());
                Box::new(move || -> Result<f64, String> { time_steps(&entry?, &hyper, &data) })
                    as Box<dyn FnOnce() -> Result<f64, String> + Send>
            })
            .collect();
        for t in task::together("speed probe", jobs) {
            secs.push(t?);
        }
    }
    Ok(Speed {
        secs_per_step: secs,
        probe_secs: started.elapsed().as_secs_f64(),
    })
}

/// Mean seconds per step over [`PROBE_STEPS`] steps after a first, untimed one.
fn time_steps(entry: &NetEntry, hyper: &Hyper, data: &Dataset) -> Result<f64, String> {
    let mut h = hyper.clone();
    h.max_steps = Some(PROBE_STEPS + 1);
    let mut stamps: Vec<Instant> = Vec::new();
    let mut failed = None;
    task::in_pool(hyper.threads.max(1), || {
        // `poll` runs before every step; stopping there skips the end-of-run test pass.
        let mut poll = |_: &mut Hyper| {
            stamps.push(Instant::now());
            if stamps.len() > PROBE_STEPS + 1 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let mut emit = |e: Event| {
            if let Event::Failed { reason } = e {
                failed = Some(reason);
            }
        };
        trainer::run(entry, &h, data, &mut poll, &mut emit);
    })
    .map_err(|e| format!("could not start the speed probe: {e}"))?;
    if let Some(r) = failed {
        return Err(r);
    }
    if stamps.len() < 3 {
        return Err("the speed probe trained too few steps to time".into());
    }
    let timed = &stamps[1..];
    Ok((timed[timed.len() - 1] - timed[0]).as_secs_f64() / (timed.len() - 1) as f64)
}

/// Predicted seconds for the plan's runs at `steps` steps each: every net's steps plus its
/// per-epoch test passes, the queue scheduled `parallel()` at a time.
pub fn estimate(plan: &Plan, speed: &Speed, data: &Dataset, steps: usize) -> f64 {
    let train = data.train.len().max(1);
    let batch = plan.hyper.batch.min(train).max(1);
    let per_epoch = (train / batch).max(1);
    let epochs = steps.div_ceil(per_epoch) as f64;
    let eval_steps = data.test.len() as f64 / batch as f64 * EVAL_SHARE;
    let durations: Vec<f64> = speed
        .secs_per_step
        .iter()
        .map(|s| s * (steps as f64 + epochs * eval_steps))
        .collect();
    makespan(&durations, plan.parallel())
}

/// When the last of `jobs` ends, started in order with at most `slots` at a time.
fn makespan(jobs: &[f64], slots: usize) -> f64 {
    let mut free = vec![0.0f64; slots.max(1)];
    for &j in jobs {
        let (i, _) = free
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .unwrap_or((0, &0.0));
        free[i] += j;
    }
    free.into_iter().fold(0.0, f64::max)
}

/// The largest step count in the lesson's range that fits its target seconds (the smallest
/// when even that does not fit).
pub fn fit_steps(plan: &Plan, quick: &Quick, speed: &Speed, data: &Dataset) -> usize {
    let budget = (quick.seconds - speed.probe_secs).max(1.0);
    let (mut lo, mut hi) = (quick.min_steps, quick.max_steps);
    if estimate(plan, speed, data, lo) > budget {
        return lo;
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if estimate(plan, speed, data, mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// How the step budget is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sizing {
    /// Time a few steps on this machine and fit the lesson's target seconds.
    Probe,
    /// A fixed step count (tests, reference runs).
    Steps(usize),
    /// The smallest step count of the lesson's range: what a slow machine gets, with no probe
    /// (a browser, where the probe would run on the page's own thread).
    Least,
}

/// A Try it ready to start: its plan with the step budget chosen, and its data set.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub plan: Plan,
    pub data: Arc<Dataset>,
    /// Predicted run time, when the probe ran.
    pub estimate_secs: Option<f64>,
    /// The lesson's target (its `quick:` seconds), when the probe sized the run.
    pub target_secs: Option<f64>,
    pub speed: Option<Speed>,
}

impl Prepared {
    /// A sentence for the learner.
    pub fn describe(&self) -> String {
        let mut s = self.plan.describe(&self.data);
        match (self.estimate_secs, self.plan.size) {
            // The smallest budget that shows the effect does not fit the lesson's minute here:
            // say so rather than cut the run short.
            (Some(t), _) if self.target_secs.is_some_and(|target| t > target * 1.2) => {
                s += &format!(
                    " (about {:.0} s on this machine: the smallest budget that shows the effect takes longer here than the lesson's {:.0} s)",
                    t.ceil(),
                    self.target_secs.unwrap_or(0.0)
                )
            }
            (Some(t), _) => s += &format!(" (about {:.0} s on this machine)", t.ceil()),
            (None, Size::Full) => s += " (the paper's settings: this takes minutes)",
            _ => {}
        }
        s
    }
}

/// Builds the data set and the plan of `lesson`'s Try it; runs on a worker thread in the app.
pub fn prepare(lesson: &Lesson, size: Size, seed: u64, sizing: Sizing) -> Result<Prepared, String> {
    let plan = Plan::new(lesson, size, seed)
        .ok_or_else(|| format!("lesson {} has nothing to train", lesson.id))?;
    let data = Arc::new(plan.load_data()?);
    let quick = lesson.quick.clone().unwrap_or_default();
    let (plan, estimate_secs, speed) = match (size, sizing) {
        (_, Sizing::Steps(n)) => (plan.with_steps(n), None, None),
        (Size::Quick, Sizing::Least) => (plan.with_steps(quick.min_steps), None, None),
        (Size::Full, Sizing::Least) => (plan, None, None),
        (Size::Full, Sizing::Probe) => (plan, None, None),
        (Size::Quick, Sizing::Probe) => {
            let speed = probe(&plan, &data)?;
            let steps = fit_steps(&plan, &quick, &speed, &data);
            let t = estimate(&plan, &speed, &data, steps) + speed.probe_secs;
            (plan.with_steps(steps), Some(t), Some(speed))
        }
    };
    let target_secs = estimate_secs.map(|_| quick.seconds);
    let plan = plan.fit_epochs(data.train.len());
    Ok(Prepared {
        plan,
        data,
        estimate_secs,
        target_secs,
        speed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;

    #[test]
    fn makespan_schedules_in_order() {
        assert_eq!(makespan(&[1.0, 1.0, 2.0, 2.0], 2), 3.0);
        assert_eq!(makespan(&[3.0, 1.0, 1.0, 1.0], 2), 3.0);
        assert_eq!(makespan(&[1.0, 2.0], 3), 2.0);
    }

    #[test]
    fn per_class_trim_keeps_the_first_of_each() {
        let s = Split {
            images: (0..12).collect(),
            labels: vec![0, 1, 0, 1, 0, 1],
        };
        let t = s.first_per_class(2, 2, 2);
        assert_eq!(t.labels, [0, 1, 0, 1]);
        assert_eq!(t.images, [0, 1, 2, 3, 4, 5, 6, 7]);
    }
}

//! One landscape computation: settings, the nets it looks at, the events it reports, and the
//! background task that runs it for the app (the CLI calls [`run`] directly).
use super::LandscapeError;
use super::direction::{Axis, Direction};
use super::probe::{Point, Probe};
use super::weights::Weights;
use crate::data::Dataset;
use crate::nn::{Model, ModelOptions, NetSpec, Shape};
use crate::task::{Task, TaskCtx, Wake, catch};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use web_time::Instant;

/// What to compute. The defaults are the paper's picture at a lesson's budget.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Points per axis of the 2-D grid (odd, so the trained weights are a grid point).
    pub grid: usize,
    /// The grid spans [-range, range] along both directions.
    pub range: f32,
    /// Training images every point is evaluated on.
    pub images: usize,
    /// Images per forward pass.
    pub batch: usize,
    /// Seeds the two directions and the choice of images. Twins given the same seed get the
    /// same random numbers, so their pictures compare.
    pub seed: u64,
    /// Points on the initial-to-trained line (0 = no line).
    pub line_points: usize,
    /// The line runs over alpha in [line_from, line_to]; 0 is the initial net, 1 the trained one.
    /// Beyond [0, 1] a running variance can extrapolate below zero (it is clamped there), and the
    /// loss then explodes for a reason that has nothing to do with the weights: keep to [0, 1]
    /// unless that is what you want to show.
    pub line_from: f32,
    pub line_to: f32,
    /// Compute threads (0 = one per core).
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            grid: 25,
            range: 1.0,
            images: 1000,
            batch: 250,
            seed: 0,
            line_points: 41,
            line_from: 0.0,
            line_to: 1.0,
            threads: 0,
        }
    }
}

pub const MAX_GRID: usize = 201;
pub const MAX_LINE_POINTS: usize = 2001;

impl Settings {
    /// Refuses settings that cannot make a picture, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.grid < 3 || self.grid > MAX_GRID {
            problems.push(format!(
                "grid must be between 3 and {MAX_GRID} points per side (got {})",
                self.grid
            ));
        }
        if !self.range.is_finite() || self.range <= 0.0 || self.range > 100.0 {
            problems.push(format!(
                "range must be above 0 and at most 100 (got {})",
                self.range
            ));
        }
        if self.images == 0 || self.images > 1_000_000 {
            problems.push(format!(
                "images must be between 1 and 1000000 (got {})",
                self.images
            ));
        }
        if self.batch == 0 || self.batch > 4096 {
            problems.push(format!(
                "batch must be between 1 and 4096 (got {})",
                self.batch
            ));
        }
        if self.line_points == 1 || self.line_points > MAX_LINE_POINTS {
            problems.push(format!(
                "line points must be 0 (no line) or between 2 and {MAX_LINE_POINTS} (got {})",
                self.line_points
            ));
        }
        let ends_ok = self.line_from.is_finite()
            && self.line_to.is_finite()
            && self.line_from < self.line_to
            && self.line_from.abs() <= 100.0
            && self.line_to.abs() <= 100.0;
        if self.line_points > 0 && !ends_ok {
            problems.push(format!(
                "the line needs finite ends with from < to, within +-100 (got {} to {})",
                self.line_from, self.line_to
            ));
        }
        if self.threads > 256 {
            problems.push(format!(
                "threads must be at most 256 (got {})",
                self.threads
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The grid's coordinates along each direction. The middle one of an odd grid is exactly 0.
    pub fn coords(&self) -> Vec<f64> {
        let n = self.grid.max(2);
        let r = self.range as f64;
        (0..n)
            .map(|i| (2 * i) as f64 - (n - 1) as f64)
            .map(|k| k * r / (n - 1) as f64)
            .collect()
    }

    /// The line's alphas (0 = initial weights, 1 = trained).
    pub fn alphas(&self) -> Vec<f64> {
        let n = self.line_points;
        let (a, b) = (self.line_from as f64, self.line_to as f64);
        (0..n)
            .map(|i| a + (b - a) * i as f64 / (n.max(2) - 1) as f64)
            .collect()
    }
}

/// Bytes a job over nets `specs` on `input` images holds at its peak, estimated before anything
/// is allocated and on the high side, like the training budget (`train::budget`): per net its
/// working copy (a model holds weights and gradients), the trained weights, two directions and
/// the initial-to-trained one (7 x its parameters), one batch's forward pass (three of its
/// largest layer outputs, with the budget's slack) and the convolutions' workspace; the probe
/// images once, as f32; and the process itself.
pub fn memory_estimate(
    settings: &Settings,
    specs: &[&NetSpec],
    input: Shape,
    train_images: usize,
) -> Result<u64, LandscapeError> {
    use crate::train::budget::{self, DataShape};
    const F32: u64 = 4;
    let batch = settings.batch.min(settings.images).max(1);
    let hyper = crate::train::Hyper {
        batch,
        threads: settings.threads,
        ..crate::train::Hyper::default()
    };
    let shape = DataShape {
        input,
        n_train: batch,
        n_test: batch,
        bytes: 0,
    };
    let mut total = 0u64;
    let mut process = 0u64;
    for spec in specs {
        let info = spec
            .infer(input)
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        let est = budget::estimate(spec, &hyper, shape)
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        let max_out = info
            .layers
            .iter()
            .map(|l| l.output.len() as u64)
            .fold(input.len() as u64, u64::max);
        let forward = (3 * max_out * batch as u64 * F32) * 5 / 4;
        total = total
            .saturating_add(7 * info.params as u64 * F32)
            .saturating_add(forward)
            .saturating_add(est.workspace);
        process = process.max(est.process);
    }
    let probe = (settings.images.min(train_images) as u64)
        .saturating_mul(input.len() as u64)
        .saturating_mul(F32);
    Ok(total.saturating_add(probe).saturating_add(process))
}

/// One trained net to look at.
pub struct Subject {
    pub label: String,
    pub model: Model,
    /// Its weights before training, for the initial-to-trained line (`None`: no line).
    pub initial: Option<Weights>,
}

impl Subject {
    pub fn new(label: impl Into<String>, model: Model, initial: Option<Weights>) -> Self {
        Self {
            label: label.into(),
            model,
            initial,
        }
    }
}

/// The weights a net started from: models are initialised from their seed alone, so building
/// the net again with the run's seed and options gives them back exactly.
pub fn initial_weights(
    spec: &NetSpec,
    input: Shape,
    seed: u64,
    opts: ModelOptions,
) -> Result<Weights, LandscapeError> {
    let mut m =
        Model::new(spec, input, seed, opts).map_err(|e| LandscapeError::Model(e.to_string()))?;
    Weights::capture(&mut m)
}

/// What a computation reports, in order: `Started`, then points as they are computed (each
/// net's line first, then the grid row by row, the nets taking turns at every point), then
/// exactly one of `Finished`, `Cancelled` or `Failed`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Started {
        labels: Vec<String>,
        /// Which nets have shortcuts (colours and checks tell the families apart by this).
        residual: Vec<bool>,
        /// Grid coordinates along x and along y (the same values).
        coords: Vec<f64>,
        /// Line alphas, for the nets that have a line.
        alphas: Vec<f64>,
        has_line: Vec<bool>,
        images: usize,
        /// Cosine between each net's x and y directions (near 0: nearly orthogonal).
        cosines: Vec<f64>,
        /// Evaluations the whole job will make.
        total: usize,
    },
    Line {
        net: usize,
        index: usize,
        point: Point,
    },
    Grid {
        net: usize,
        ix: usize,
        iy: usize,
        point: Point,
    },
    Finished {
        wall_secs: f64,
        evaluations: usize,
    },
    Cancelled {
        evaluations: usize,
    },
    Failed {
        reason: String,
    },
}

/// Computes every net's line and surface on the calling thread (inside whatever rayon pool it
/// runs in), reporting each point to `emit`. Returns early with `Cancelled` once `cancel` is set.
pub fn run(
    settings: &Settings,
    subjects: &mut [Subject],
    data: &Dataset,
    cancel: &AtomicBool,
    emit: &mut dyn FnMut(Event),
) {
    if let Err(e) = compute(settings, subjects, data, cancel, emit) {
        emit(Event::Failed {
            reason: e.to_string(),
        });
    }
}

struct Prepared {
    trained: Weights,
    dx: Direction,
    dy: Direction,
    /// trained - initial, for the line.
    line: Option<Direction>,
}

fn prepare(s: &mut Subject, data: &Dataset, seed: u64) -> Result<Prepared, LandscapeError> {
    let m = &mut s.model;
    let want = Shape::new(data.channels, data.height, data.width);
    if m.input_shape() != want || m.classes() != data.classes.len() {
        return Err(LandscapeError::Setup(format!(
            "{} takes {}x{}x{} images into {} classes, but the data set has {}x{}x{} images in {} classes",
            s.label,
            m.input_shape().c,
            m.input_shape().h,
            m.input_shape().w,
            m.classes(),
            want.c,
            want.h,
            want.w,
            data.classes.len()
        )));
    }
    let trained = Weights::capture(m)?;
    let line = match &s.initial {
        Some(init) if init.same_layout(&trained) => Some(Direction::between(init, &trained)),
        Some(_) => {
            return Err(LandscapeError::Setup(format!(
                "the initial weights given for {} belong to another network",
                s.label
            )));
        }
        None => None,
    };
    Ok(Prepared {
        dx: Direction::random_filter_normalised(&trained, seed, Axis::X),
        dy: Direction::random_filter_normalised(&trained, seed, Axis::Y),
        trained,
        line,
    })
}

fn compute(
    settings: &Settings,
    subjects: &mut [Subject],
    data: &Dataset,
    cancel: &AtomicBool,
    emit: &mut dyn FnMut(Event),
) -> Result<(), LandscapeError> {
    settings.validate().map_err(LandscapeError::Setup)?;
    if subjects.is_empty() {
        return Err(LandscapeError::Setup("no network to look at".into()));
    }
    let started = Instant::now();
    let probe = Probe::new(data, settings.images, settings.seed, settings.batch)?;
    let mut prep = Vec::with_capacity(subjects.len());
    for s in subjects.iter_mut() {
        prep.push(prepare(s, data, settings.seed)?);
    }
    let coords = settings.coords();
    let alphas = settings.alphas();
    let has_line: Vec<bool> = prep
        .iter()
        .map(|p| p.line.is_some() && !alphas.is_empty())
        .collect();
    let lines = has_line.iter().filter(|h| **h).count();
    let total = lines * alphas.len() + subjects.len() * coords.len() * coords.len();
    emit(Event::Started {
        labels: subjects.iter().map(|s| s.label.clone()).collect(),
        residual: subjects
            .iter()
            .map(|s| s.model.spec().has_shortcuts())
            .collect(),
        coords: coords.clone(),
        alphas: alphas.clone(),
        has_line: has_line.clone(),
        images: probe.len(),
        cosines: prep.iter().map(|p| p.dx.cosine(&p.dy)).collect(),
        total,
    });
    let mut done = 0usize;
    let cancelled = |done| Event::Cancelled { evaluations: done };
    let finite = |mut p: Point| {
        if !p.loss.is_finite() {
            p.loss = f32::INFINITY;
        }
        p
    };
    for (net, (s, p)) in subjects.iter_mut().zip(&prep).enumerate() {
        let Some(line) = p.line.as_ref().filter(|_| has_line[net]) else {
            continue;
        };
        for (index, &a) in alphas.iter().enumerate() {
            // From the trained end, so alpha = 1 is the trained net bit for bit.
            p.trained
                .write_moved(&mut s.model, &[(line, (a - 1.0) as f32)]);
            let Some(point) = probe.evaluate(&mut s.model, cancel) else {
                p.trained.restore(&mut s.model);
                emit(cancelled(done));
                return Ok(());
            };
            done += 1;
            emit(Event::Line {
                net,
                index,
                point: finite(point),
            });
        }
        // The line moved the running statistics; the grid keeps the trained ones.
        p.trained.restore(&mut s.model);
    }
    for (iy, &b) in coords.iter().enumerate() {
        for (ix, &a) in coords.iter().enumerate() {
            for (net, (s, p)) in subjects.iter_mut().zip(&prep).enumerate() {
                p.trained
                    .write_moved(&mut s.model, &[(&p.dx, a as f32), (&p.dy, b as f32)]);
                let Some(point) = probe.evaluate(&mut s.model, cancel) else {
                    restore_all(subjects, &prep);
                    emit(cancelled(done));
                    return Ok(());
                };
                done += 1;
                emit(Event::Grid {
                    net,
                    ix,
                    iy,
                    point: finite(point),
                });
            }
        }
    }
    restore_all(subjects, &prep);
    emit(Event::Finished {
        wall_secs: started.elapsed().as_secs_f64(),
        evaluations: done,
    });
    Ok(())
}

/// Leaves every model as it came: its trained weights and statistics.
fn restore_all(subjects: &mut [Subject], prep: &[Prepared]) {
    for (s, p) in subjects.iter_mut().zip(prep) {
        p.trained.restore(&mut s.model);
    }
}

/// A computation running as a background [`Task`] with its own pool of compute threads.
pub struct JobHandle {
    task: Task<Option<Vec<Subject>>, Event>,
}

impl JobHandle {
    /// Asks the job to stop; it reports `Cancelled` within one batch of images.
    pub fn cancel(&self) {
        self.task.cancel();
    }

    /// Events that arrived since the last call, without blocking.
    pub fn drain(&self) -> Vec<Event> {
        self.task.drain()
    }

    /// Blocks until the next event, or `None` once the job has ended and every event was read.
    pub fn recv(&self) -> Option<Event> {
        self.task.recv()
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the job and hands the nets back, trained weights restored (`Ok(None)` when
    /// there are none to hand back); a panic or a worker that never started is the error
    /// sentence (a failure the job itself noticed was reported as `Failed`).
    pub fn join(self) -> Result<Option<Vec<Subject>>, String> {
        self.task.wait()
    }
}

/// Starts the computation in the background; events arrive through the handle.
pub fn spawn(
    settings: Settings,
    subjects: Vec<Subject>,
    data: Arc<Dataset>,
    wake: Wake,
) -> JobHandle {
    spawn_prepared(settings, move || Ok((subjects, data)), wake)
}

/// Like [`spawn`], but the nets and data come from `prepare`, run on the worker first (copying
/// a trained net, rebuilding its initial weights or loading a data set must not hold up a UI);
/// its error is reported as `Failed`.
pub fn spawn_prepared(
    settings: Settings,
    prepare: impl FnOnce() -> Result<(Vec<Subject>, Arc<Dataset>), String> + Send + 'static,
    wake: Wake,
) -> JobHandle {
    let task = Task::spawn("landscape", wake, move |ctx: &TaskCtx<Event>| {
        let report = |e: Event| ctx.emit(e);
        let (mut subjects, data) = match catch("preparing the nets", prepare) {
            Ok(p) => p,
            Err(reason) => {
                report(Event::Failed { reason });
                return Ok(None);
            }
        };
        let flag = ctx.cancel_flag();
        let mut started = true;
        match catch("the landscape worker", || {
            let r = crate::task::in_pool(settings.threads, || {
                run(&settings, &mut subjects, &data, flag, &mut |e| report(e))
            });
            if let Err(reason) = r {
                report(Event::Failed { reason });
                started = false;
            }
            Ok(())
        }) {
            Ok(()) if !started => Ok(Some(subjects)),
            Ok(()) => Ok(Some(subjects)),
            Err(reason) => {
                report(Event::Failed { reason });
                // Their weights may be half-moved: not worth handing back.
                Ok(None)
            }
        }
    });
    JobHandle { task }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::presets::{self, ShortcutOption};

    #[test]
    fn the_memory_estimate_counts_every_copy_and_the_probe() {
        let spec = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
        let input = Shape::new(3, 32, 32);
        let params = spec.infer(input).unwrap().params as u64;
        let s = Settings {
            images: 1000,
            ..Settings::default()
        };
        let one = memory_estimate(&s, &[&spec], input, 50_000).unwrap();
        let two = memory_estimate(&s, &[&spec, &spec], input, 50_000).unwrap();
        let probe = 1000 * 3 * 32 * 32 * 4;
        assert!(one > 7 * params * 4 + probe, "{one}");
        // The second net adds its own copies, not a second probe or process.
        assert!(
            two - one >= 7 * params * 4 && two - one < one - probe,
            "{one} {two}"
        );
        // More images cost their f32 pixels, but no more than the training split holds.
        let more = Settings {
            images: 11_000,
            ..s.clone()
        };
        let m = memory_estimate(&more, &[&spec], input, 50_000).unwrap();
        assert_eq!(m - one, 10_000 * 3 * 32 * 32 * 4);
        assert_eq!(
            memory_estimate(&more, &[&spec], input, 1000).unwrap(),
            one,
            "capped at the split"
        );
    }
}

//! How much memory a run will need, estimated from its spec before anything is allocated, and
//! the refusal (with what to change) when that is more than the limit.
//!
//! Running out of memory aborts with no message, after minutes of building a net that could
//! never train. The estimate is deliberately simple and on the high side: it should bound the
//! process's peak resident memory (tests/hostile.rs checks that against a real run), and it is
//! easy to adjust when the engine changes. What it counts, in f32 (4 bytes) unless said:
//!
//! - **parameters**: value + gradient, plus one spare copy (snapshots, saving): 3 x P.
//! - **optimizer state**: SGD keeps one velocity per parameter, Adam two moments.
//! - **activations kept for backward**: the output of every conv, batch norm, projection, pool
//!   and linear layer the shape inference lists, for the whole batch. ReLUs and blocks are not
//!   counted: in this engine a ReLU works in place on a buffer it takes over (or is fused into
//!   the batch norm or the addition before it) and a block's output is its body's last buffer.
//!   If the engine starts copying there, count them here.
//! - **gradients in flight**: during backward, dL/dy, dL/dx and a block's copy for its shortcut:
//!   3 x the largest layer output for the batch.
//! - **evaluation**: the test split runs in chunks of [`eval_chunk`] images in inference mode:
//!   3 x the largest layer output for a chunk (input, output, a shortcut).
//! - **convolution workspace**: each thread unrolls images into a column matrix for the GEMM
//!   (and its gradient), over at least 512 output positions (small planes are grouped side by
//!   side), plus one weight-gradient partial per thread: the largest conv's.
//! - **batch buffers**: the normalised f32 input batch and evaluation chunk.
//! - **data set**: the u8 pixels of both splits, as loaded.
//! - **process**: code, libraries, thread stacks and allocator slack ([`BASE`], [`PER_THREAD`]).
//!
//! The dynamic parts (activations, gradients, workspace) get a [`SLACK`] factor on top.
use crate::data::Dataset;
use crate::nn::{NetSpec, Shape};
use crate::util::{MemLimit, bytes_text};

use super::experiment::{Hyper, OptimizerChoice};

/// Images per evaluation batch at 32x32 and below; larger images go in fewer (see [`eval_chunk`]).
pub const EVAL_CHUNK: usize = 256;

/// Images per evaluation batch for images of `pixels` (height x width): 256 up to 32x32, fewer
/// for larger images so evaluating never takes more memory than 256 CIFAR-sized images.
pub fn eval_chunk(pixels: usize) -> usize {
    (EVAL_CHUNK * 1024 / pixels.max(1)).clamp(1, EVAL_CHUNK)
}
/// Resident memory of the process before training: code, libraries, allocator arenas.
const BASE: u64 = 48 << 20;
/// Stack and allocator arena of each compute thread.
const PER_THREAD: u64 = 8 << 20;
/// Head-room on the parts that scale with batch and image size, for allocator slack and for
/// the engine keeping a little more than counted.
const SLACK: f64 = 1.25;
const F32: u64 = 4;

/// A run's memory, by what it is for (bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimate {
    pub params: u64,
    pub optimizer: u64,
    pub activations: u64,
    pub backward: u64,
    pub eval: u64,
    pub workspace: u64,
    pub batches: u64,
    pub dataset: u64,
    pub process: u64,
    /// The part that grows with the batch size, per image (bytes), for "a batch of N fits".
    pub per_image: u64,
}

impl Estimate {
    pub fn total(&self) -> u64 {
        self.params
            + self.optimizer
            + self.activations
            + self.backward
            + self.eval
            + self.workspace
            + self.batches
            + self.dataset
            + self.process
    }

    /// "activations 3.1 GiB, data set 600 MiB, ..." largest parts first.
    pub fn breakdown(&self) -> String {
        let mut parts = [
            (
                "activations kept for backward",
                self.activations + self.backward,
            ),
            (
                "parameters and optimizer state",
                self.params + self.optimizer,
            ),
            ("the data set", self.dataset),
            ("convolution workspace", self.workspace),
            ("input batches and evaluation", self.eval + self.batches),
        ];
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        parts
            .iter()
            .filter(|p| p.1 > 0)
            .take(3)
            .map(|(what, n)| format!("{what} {}", bytes_text(*n)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Threads a run will compute on (0 in `Hyper` means one per core).
pub fn threads_of(hyper: &Hyper) -> usize {
    if hyper.threads > 0 {
        hyper.threads
    } else {
        std::thread::available_parallelism().map_or(4, |n| n.get())
    }
}

fn scaled(v: u64) -> u64 {
    (v as f64 * SLACK) as u64
}

/// What the estimate needs to know about the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataShape {
    /// One image.
    pub input: Shape,
    pub n_train: usize,
    pub n_test: usize,
    /// Pixels of both splits in memory.
    pub bytes: u64,
}

impl DataShape {
    pub fn of(data: &Dataset) -> Self {
        DataShape {
            input: Shape::new(data.channels, data.height, data.width),
            n_train: data.train.len(),
            n_test: data.test.len(),
            bytes: (data.train.images.len() + data.test.images.len()) as u64,
        }
    }
}

/// The estimate for training `spec` with `hyper` on `data`. Fails only if the spec itself is
/// invalid for these images.
pub fn estimate(
    spec: &NetSpec,
    hyper: &Hyper,
    data: DataShape,
) -> Result<Estimate, crate::nn::SpecError> {
    let DataShape {
        input,
        n_train,
        n_test,
        bytes: dataset_bytes,
    } = data;
    let info = spec.infer(input)?;
    let threads = threads_of(hyper) as u64;
    let batch = hyper.batch.min(n_train.max(1)) as u64;
    let eval_n = eval_chunk(input.h * input.w).min(n_test) as u64;
    let p = info.params as u64;
    let mut sum_out = 0u64;
    let mut max_out = input.len() as u64;
    let mut conv_ws = 0u64;
    for l in &info.layers {
        let out = l.output.len() as u64;
        max_out = max_out.max(out);
        if l.kind != "ReLU" && !l.kind.starts_with("Block") {
            sum_out = sum_out.saturating_add(out);
        }
        if let Some((k, cout)) = conv_of(&l.kind, l) {
            let plane = (l.output.h * l.output.w).max(512) as u64;
            let rows = (k * k * l.input.c) as u64;
            let cols = (2 * rows + cout as u64).saturating_mul(plane);
            let weights = rows * cout as u64;
            conv_ws = conv_ws.max(threads.saturating_mul(cols + weights) * F32);
        }
    }
    let per_image = scaled(
        sum_out
            .saturating_add(3 * max_out)
            .saturating_add(input.len() as u64)
            .saturating_mul(F32),
    );
    let optimizer = match hyper.optimizer {
        OptimizerChoice::Sgd => p * F32,
        OptimizerChoice::Adam => 2 * p * F32,
    };
    Ok(Estimate {
        params: 3 * p * F32,
        optimizer,
        activations: scaled(sum_out.saturating_mul(batch).saturating_mul(F32)),
        backward: scaled((3 * max_out).saturating_mul(batch).saturating_mul(F32)),
        eval: scaled((3 * max_out).saturating_mul(eval_n).saturating_mul(F32)),
        workspace: scaled(conv_ws),
        batches: (batch + eval_n).saturating_mul(input.len() as u64) * F32,
        dataset: dataset_bytes,
        process: BASE + threads * PER_THREAD,
        per_image,
    })
}

/// (kernel side, output channels) when a shape-inference row is a convolution (or a 1x1
/// projection), else `None`.
fn conv_of(kind: &str, l: &crate::nn::LayerInfo) -> Option<(usize, usize)> {
    if kind.starts_with("Projection") {
        return Some((1, l.output.c));
    }
    let rest = kind.strip_prefix("Conv ")?;
    let k: usize = rest.split('x').next()?.parse().ok()?;
    Some((k, l.output.c))
}

/// Why a run does not fit, with what to change.
#[derive(Clone, Debug, PartialEq)]
pub struct OverBudget {
    pub label: String,
    pub estimate: Estimate,
    pub limit: MemLimit,
    /// The largest batch that would fit, if any does.
    pub max_batch: Option<usize>,
    pub batch: usize,
    pub input: Shape,
}

impl OverBudget {
    /// One sentence; `cli` names the command-line flags, else the app's controls.
    pub fn message(&self, cli: bool) -> String {
        let name = if self.label.is_empty() {
            "this net".to_string()
        } else {
            self.label.clone()
        };
        let mut fixes = vec![];
        if let Some(b) = self.max_batch {
            fixes.push(if cli {
                format!("a smaller batch (--batch {b} fits)")
            } else {
                format!("a smaller batch ({b} fits)")
            });
        }
        if self.input.h * self.input.w > 32 * 32 {
            fixes.push(if cli {
                "smaller images (--size 32)".to_string()
            } else {
                "smaller images (\"resize to\" in the Data tab)".to_string()
            });
        }
        fixes.push("a narrower or shallower net".into());
        if self.estimate.dataset > self.limit.bytes / 4 {
            fixes.push(if cli {
                "fewer images (--max-per-class)".to_string()
            } else {
                "fewer images (\"at most per class\" in the Data tab)".to_string()
            });
        }
        let last = fixes.pop().unwrap_or_default();
        let fixes = if fixes.is_empty() {
            last
        } else {
            format!("{}, or {last}", fixes.join(", "))
        };
        format!(
            "{name} would need about {} of memory to train at batch {} on {} images ({}), more than the limit of {}; use {fixes}",
            bytes_text(self.estimate.total()),
            self.batch,
            self.input,
            self.estimate.breakdown(),
            self.limit.describe()
        )
    }
}

/// The estimate when it is within `limit`, else why not. A spec that does not fit the data
/// (bad shapes) is not this function's business: it passes, and `Model::new` says what is wrong.
pub fn check_parts(
    label: &str,
    spec: &NetSpec,
    hyper: &Hyper,
    data: DataShape,
    limit: &MemLimit,
) -> Result<Option<Estimate>, Box<OverBudget>> {
    let Ok(est) = estimate(spec, hyper, data) else {
        return Ok(None);
    };
    if est.total() <= limit.bytes {
        return Ok(Some(est));
    }
    let batch = hyper.batch.min(data.n_train.max(1));
    let fixed = est.total() - est.per_image.saturating_mul(batch as u64);
    let max_batch = limit
        .bytes
        .checked_sub(fixed)
        .map(|room| (room / est.per_image.max(1)) as usize)
        .filter(|&b| b >= 1 && b < batch);
    Err(Box::new(OverBudget {
        label: label.to_string(),
        estimate: est,
        limit: limit.clone(),
        max_batch,
        batch,
        input: data.input,
    }))
}

/// [`check_parts`] for a loaded data set and the limit in force.
pub fn check(
    label: &str,
    spec: &NetSpec,
    hyper: &Hyper,
    data: &Dataset,
) -> Result<Option<Estimate>, Box<OverBudget>> {
    check_parts(
        label,
        spec,
        hyper,
        DataShape::of(data),
        &crate::util::mem_limit(),
    )
}

/// Several runs training at once on one data set (the app trains nets side by side): the data
/// set and the process are counted once, everything else summed. `None` when they fit.
pub fn check_together(runs: &[(String, NetSpec, Hyper)], data: &Dataset) -> Option<String> {
    let shape = DataShape::of(data);
    let limit = crate::util::mem_limit();
    let mut total = 0u64;
    let mut shared = 0u64;
    for (label, spec, hyper) in runs {
        if let Err(over) = check_parts(label, spec, hyper, shape, &limit) {
            return Some(over.message(false));
        }
        if let Ok(e) = estimate(spec, hyper, shape) {
            shared = shared.max(e.dataset + e.process);
            total += e.total() - e.dataset - e.process;
        }
    }
    let total = total + shared;
    (runs.len() > 1 && total > limit.bytes).then(|| {
        format!(
            "these {} nets training side by side would need about {} of memory, more than the limit of {}; train fewer nets at once, use a smaller batch or smaller images",
            runs.len(),
            bytes_text(total),
            limit.describe()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::presets::{self, ShortcutOption};

    fn limit(bytes: u64) -> MemLimit {
        MemLimit {
            bytes,
            source: "test".into(),
        }
    }

    #[test]
    fn estimate_grows_with_batch_image_and_depth() {
        let h = Hyper {
            threads: 2,
            ..Hyper::default()
        };
        let s20 = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
        let s56 = presets::cifar(56, true, ShortcutOption::A, 16, 10).unwrap();
        let small = Shape::new(3, 32, 32);
        let e = |s: &NetSpec, i: Shape, b: usize| {
            let d = DataShape {
                input: i,
                n_train: 10_000,
                n_test: 2_000,
                bytes: 0,
            };
            estimate(
                s,
                &Hyper {
                    batch: b,
                    ..h.clone()
                },
                d,
            )
            .unwrap()
            .total()
        };
        assert!(e(&s20, small, 128) < e(&s20, small, 256));
        assert!(e(&s20, small, 128) < e(&s56, small, 128));
        assert!(e(&s20, small, 128) < e(&s20, Shape::new(3, 64, 64), 128));
        // ResNet-20 at batch 128 on CIFAR: activations of ~0.3 GB, far below 4 GB.
        let t = e(&s20, small, 128);
        assert!(t > 200 << 20 && t < 2 << 30, "{}", bytes_text(t));
    }

    #[test]
    fn over_budget_says_what_fits() {
        let h = Hyper {
            threads: 2,
            batch: 128,
            ..Hyper::default()
        };
        let s = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
        let d = |input| DataShape {
            input,
            n_train: 1000,
            n_test: 100,
            bytes: 0,
        };
        let big = d(Shape::new(3, 224, 224));
        let err = check_parts("resnet-20", &s, &h, big, &limit(1 << 30)).unwrap_err();
        let b = err.max_batch.expect("some batch fits in 1 GiB");
        assert!(b < 128);
        let m = err.message(true);
        assert!(m.starts_with("resnet-20 would need about"), "{m}");
        assert!(
            m.contains(&format!("--batch {b}")) && m.contains("--size 32"),
            "{m}"
        );
        // The batch it names does fit.
        let fits = Hyper {
            batch: b,
            ..h.clone()
        };
        assert!(check_parts("r", &s, &fits, big, &limit(1 << 30)).is_ok());
        // Nothing fits in a tiny limit: no batch is suggested.
        let none = check_parts("", &s, &h, big, &limit(100 << 20)).unwrap_err();
        assert_eq!(none.max_batch, None);
        assert!(none.message(false).starts_with("this net would need"));
        assert!(check_parts("r", &s, &h, d(Shape::new(3, 32, 32)), &limit(8 << 30)).is_ok());
    }
}

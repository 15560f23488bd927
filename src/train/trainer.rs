//! The training loop shared by the CLI and the app's worker threads.
use super::experiment::{Hyper, NetEntry};
use crate::data::{Dataset, SplitKind};
use crate::nn::ops::loss::cross_entropy;
use crate::nn::{Model, Optimizer, Shape};
use crate::rng::Rng64;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What the loop reports, in order: `Started`, then steps, probes and epochs, then exactly one of
/// `Finished`, `Diverged` or `Failed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Started {
        params: usize,
        flops_per_image: u64,
        steps_per_epoch: usize,
        total_steps: usize,
        /// Names of the weight tensors, input side first (the gradient-flow plot's x axis).
        weight_names: Vec<String>,
    },
    Step {
        step: usize,
        /// Fractional epoch at the end of this step.
        epoch: f32,
        loss: f32,
        /// Fraction of this mini-batch classified wrongly (train mode).
        error: f32,
        lr: f32,
    },
    /// Gradient L2 norm of each weight tensor at `step` (step 0 is the first batch, before any update).
    GradFlow {
        step: usize,
        norms: Vec<f32>,
    },
    /// Output mean and standard deviation of each probed layer at `step`.
    Activations {
        step: usize,
        names: Vec<String>,
        means: Vec<f32>,
        stds: Vec<f32>,
    },
    Epoch {
        epoch: usize,
        /// Running mini-batch error over the epoch, in train mode.
        train_err: f32,
        loss: f32,
        test_err: f32,
        test_loss: f32,
    },
    Finished {
        steps: usize,
        wall_secs: f64,
        img_per_sec: f64,
        stopped: bool,
    },
    Diverged {
        step: usize,
        loss: f32,
    },
    Failed {
        reason: String,
    },
}

/// What the loop asks its driver between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// Trains one net on `data`; every observation goes to `emit`. `poll` is called before each step
/// and may block (the worker uses that to pause).
///
/// Hands back the model as training left it (finished, stopped or diverged), or `None` when the
/// run failed before a model was built.
pub fn run(
    net: &NetEntry,
    hyper: &Hyper,
    data: &Dataset,
    poll: &mut dyn FnMut(&mut Hyper) -> Control,
    emit: &mut dyn FnMut(Event),
) -> Option<Model> {
    let mut hyper = hyper.clone();
    if let Err(e) = hyper.validate() {
        emit(Event::Failed { reason: e });
        return None;
    }
    // Before anything is allocated: a run that cannot fit says so instead of aborting.
    if let Err(over) = super::budget::check(&net.label, &net.spec, &hyper, data) {
        emit(Event::Failed {
            reason: over.message(false),
        });
        return None;
    }
    let input = Shape::new(data.channels, data.height, data.width);
    let mut model = match Model::new(&net.spec, input, hyper.seed, hyper.model) {
        Ok(m) => m,
        Err(e) => {
            emit(Event::Failed {
                reason: e.to_string(),
            });
            return None;
        }
    };
    if model.classes() != data.classes.len() {
        emit(Event::Failed {
            reason: format!(
                "the net ends in {} outputs but the data set has {} classes; set the last Linear layer to {}",
                model.classes(),
                data.classes.len(),
                data.classes.len()
            ),
        });
        return None;
    }
    let n_train = data.train.len();
    if n_train == 0 {
        emit(Event::Failed {
            reason: "the data set has no training images".into(),
        });
        return None;
    }
    let batch = hyper.batch.min(n_train);
    let steps_per_epoch = n_train / batch;
    let total = (steps_per_epoch * hyper.epochs).min(hyper.max_steps.unwrap_or(usize::MAX));
    let flops = net.spec.infer(input).map(|i| i.flops).unwrap_or(0);
    let weight_names = model.grad_norms().into_iter().map(|(n, _)| n).collect();
    emit(Event::Started {
        params: model.param_count(),
        flops_per_image: flops,
        steps_per_epoch,
        total_steps: total,
        weight_names,
    });

    let mut opt = Optimizer::new(hyper.optimizer_kind());
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut aug_rng = Rng64::derive(hyper.seed, 7);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut step = 0;
    let mut stopped = false;
    'epochs: for epoch in 0..hyper.epochs {
        Rng64::derive(hyper.seed, 1000 + epoch as u64).shuffle(&mut order);
        let (mut wrong, mut seen, mut loss_sum) = (0usize, 0usize, 0.0f64);
        for b in 0..steps_per_epoch {
            if step >= total {
                break;
            }
            if poll(&mut hyper) == Control::Stop {
                stopped = true;
                break 'epochs;
            }
            let idx = &order[b * batch..(b + 1) * batch];
            let aug = (hyper.augment.pad_crop > 0 || hyper.augment.hflip).then_some(&hyper.augment);
            data.batch(
                SplitKind::Train,
                idx,
                aug,
                &mut aug_rng,
                &mut x,
                &mut labels,
            );
            let probe = hyper.probe_every > 0 && step % hyper.probe_every == 0;
            model.set_probe(probe);
            let logits = model.forward(std::mem::take(&mut x), batch, true);
            let (loss, dlogits, bad) = cross_entropy(batch, model.classes(), &logits, &labels);
            if !loss.is_finite() {
                emit(Event::Diverged { step, loss });
                return Some(model);
            }
            model.zero_grad();
            model.backward(dlogits);
            if probe {
                let norms = model.grad_norms().into_iter().map(|(_, v)| v).collect();
                emit(Event::GradFlow { step, norms });
                let taps = model.taps();
                emit(Event::Activations {
                    step,
                    names: taps.iter().map(|t| t.name.clone()).collect(),
                    means: taps.iter().map(|t| t.mean).collect(),
                    stds: taps.iter().map(|t| t.std).collect(),
                });
            }
            let lr = hyper.schedule.lr(hyper.lr, step, total, hyper.warmup_steps);
            opt.step(&mut model, lr);
            step += 1;
            wrong += bad;
            seen += batch;
            loss_sum += loss as f64 * batch as f64;
            emit(Event::Step {
                step,
                epoch: epoch as f32 + (b + 1) as f32 / steps_per_epoch as f32,
                loss,
                error: bad as f32 / batch as f32,
                lr,
            });
        }
        if seen == 0 {
            break;
        }
        let (test_err, test_loss) = evaluate(&mut model, data, SplitKind::Test);
        emit(Event::Epoch {
            epoch: epoch + 1,
            train_err: wrong as f32 / seen.max(1) as f32,
            loss: (loss_sum / seen.max(1) as f64) as f32,
            test_err,
            test_loss,
        });
    }
    let wall = started.elapsed().as_secs_f64();
    emit(Event::Finished {
        steps: step,
        wall_secs: wall,
        img_per_sec: (step * batch) as f64 / wall.max(1e-9),
        stopped,
    });
    Some(model)
}

/// Error and mean loss over a whole split in eval mode (running batch-norm statistics).
pub fn evaluate(model: &mut Model, data: &Dataset, split: SplitKind) -> (f32, f32) {
    let len = data.split(split).len();
    if len == 0 {
        return (f32::NAN, f32::NAN);
    }
    let mut rng = Rng64::new(0);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    let (mut wrong, mut loss) = (0usize, 0.0f64);
    let idx: Vec<usize> = (0..len).collect();
    for chunk in idx.chunks(super::budget::eval_chunk(data.height * data.width)) {
        data.batch(split, chunk, None, &mut rng, &mut x, &mut labels);
        let logits = model.forward(std::mem::take(&mut x), chunk.len(), false);
        let (l, _, bad) = cross_entropy(chunk.len(), model.classes(), &logits, &labels);
        wrong += bad;
        loss += l as f64 * chunk.len() as f64;
    }
    (wrong as f32 / len as f32, (loss / len as f64) as f32)
}

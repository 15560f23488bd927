//! The training loop shared by the CLI and the app's worker threads.
use super::experiment::{Hyper, NetEntry};
use crate::data::{Dataset, SplitKind};
use crate::nn::ops::loss::cross_entropy;
use crate::nn::{Model, Optimizer, Shape};
use crate::rng::Rng64;
use serde::{Deserialize, Serialize};
use web_time::Instant;

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

/// A net and its optimiser: the one training step that the training loop, `bench` and
/// `dev-step` share (forward in train mode, cross-entropy, backward, the update), in two halves
/// for callers that look at the gradients before the update.
pub struct Trainer {
    pub model: Model,
    pub opt: Optimizer,
}

/// What one step's forward and backward pass found.
pub struct Pass {
    pub logits: Vec<f32>,
    pub loss: f32,
    /// Images of the batch classified wrongly.
    pub wrong: usize,
}

impl Trainer {
    pub fn new(model: Model, opt: Optimizer) -> Self {
        Self { model, opt }
    }

    /// Forward and backward on one batch: the loss, and the gradients left in the model.
    /// `Err(loss)` (and no backward pass) when the loss is not finite.
    pub fn backward(&mut self, x: Vec<f32>, labels: &[usize]) -> Result<Pass, f32> {
        self.backward_with(x, labels, &mut |_| {})
    }

    /// [`Trainer::backward`], with `inspect` shown the model between the forward and the
    /// backward pass (`dev-step` reads the ReLU outputs there).
    pub fn backward_with(
        &mut self,
        x: Vec<f32>,
        labels: &[usize],
        inspect: &mut dyn FnMut(&Model),
    ) -> Result<Pass, f32> {
        let batch = labels.len();
        let logits = self.model.forward(x, batch, true);
        inspect(&self.model);
        let (loss, dlogits, wrong) = cross_entropy(batch, self.model.classes(), &logits, labels);
        if !loss.is_finite() {
            return Err(loss);
        }
        self.model.zero_grad();
        self.model.backward(dlogits);
        Ok(Pass {
            logits,
            loss,
            wrong,
        })
    }

    /// The update with the gradients of the last [`Trainer::backward`].
    pub fn update(&mut self, lr: f32) {
        self.opt.step(&mut self.model, lr);
    }

    /// One training step: backward, then the update (none when the loss was not finite).
    pub fn step(&mut self, x: Vec<f32>, labels: &[usize], lr: f32) -> Result<Pass, f32> {
        let pass = self.backward(x, labels)?;
        self.update(lr);
        Ok(pass)
    }
}

/// A training run in progress: the trainer, the data order, where it is in its budget. It
/// advances one batch per [`Run::advance`], so a driver can train in slices (a UI frame, a
/// browser worker's turn) or to the end ([`run`]).
pub struct Run<'a> {
    hyper: Hyper,
    data: &'a Dataset,
    trainer: Trainer,
    batch: usize,
    steps_per_epoch: usize,
    total: usize,
    order: Vec<usize>,
    aug_rng: Rng64,
    x: Vec<f32>,
    labels: Vec<usize>,
    started: Instant,
    step: usize,
    epoch: usize,
    /// Batch within the epoch.
    b: usize,
    wrong: usize,
    seen: usize,
    loss_sum: f64,
    ended: bool,
}

/// What [`Run::advance`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// A step (or an epoch's end) happened; call again.
    Continue,
    /// The run ended (finished, stopped or diverged; its last event is out): take the model
    /// with [`Run::into_model`].
    Ended,
}

impl<'a> Run<'a> {
    /// Builds the net and checks that it can train on `data` (validation, memory budget,
    /// classes); every refusal goes to `emit` as `Failed`, and `None` comes back.
    pub fn start(
        net: &NetEntry,
        hyper: &Hyper,
        data: &'a Dataset,
        emit: &mut dyn FnMut(Event),
    ) -> Option<Run<'a>> {
        let hyper = hyper.clone();
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
        let opt = Optimizer::new(hyper.optimizer_kind());
        let aug_rng = Rng64::derive(hyper.seed, 7);
        Some(Run {
            data,
            trainer: Trainer::new(model, opt),
            batch,
            steps_per_epoch,
            total,
            order: (0..n_train).collect(),
            aug_rng,
            x: Vec::new(),
            labels: Vec::new(),
            started: Instant::now(),
            step: 0,
            epoch: 0,
            b: 0,
            wrong: 0,
            seen: 0,
            loss_sum: 0.0,
            ended: false,
            hyper,
        })
    }

    /// Steps done so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// The net as training left it.
    pub fn into_model(self) -> Model {
        self.trainer.model
    }

    fn finish(&mut self, stopped: bool, emit: &mut dyn FnMut(Event)) -> Advance {
        let wall = self.started.elapsed().as_secs_f64();
        emit(Event::Finished {
            steps: self.step,
            wall_secs: wall,
            img_per_sec: (self.step * self.batch) as f64 / wall.max(1e-9),
            stopped,
        });
        self.ended = true;
        Advance::Ended
    }

    /// One batch, or the test pass that ends an epoch, or the end. `poll` is called before each
    /// step and may block (the worker uses that to pause) or stop the run.
    pub fn advance(
        &mut self,
        poll: &mut dyn FnMut(&mut Hyper) -> Control,
        emit: &mut dyn FnMut(Event),
    ) -> Advance {
        if self.ended {
            return Advance::Ended;
        }
        if self.epoch >= self.hyper.epochs {
            return self.finish(false, emit);
        }
        if self.b == 0 {
            Rng64::derive(self.hyper.seed, 1000 + self.epoch as u64).shuffle(&mut self.order);
        }
        if self.b < self.steps_per_epoch && self.step < self.total {
            if poll(&mut self.hyper) == Control::Stop {
                return self.finish(true, emit);
            }
            let (b, batch) = (self.b, self.batch);
            let idx = &self.order[b * batch..(b + 1) * batch];
            let aug = (self.hyper.augment.pad_crop > 0 || self.hyper.augment.hflip)
                .then_some(&self.hyper.augment);
            self.data.batch(
                SplitKind::Train,
                idx,
                aug,
                &mut self.aug_rng,
                &mut self.x,
                &mut self.labels,
            );
            let probe =
                self.hyper.probe_every > 0 && self.step.is_multiple_of(self.hyper.probe_every);
            let t = &mut self.trainer;
            t.model.set_probe(probe);
            let pass = match t.backward(std::mem::take(&mut self.x), &self.labels) {
                Ok(p) => p,
                Err(loss) => {
                    // The loss is not finite: the run ends here, the model as it was.
                    emit(Event::Diverged {
                        step: self.step,
                        loss,
                    });
                    self.ended = true;
                    return Advance::Ended;
                }
            };
            if probe {
                let norms = t.model.grad_norms().into_iter().map(|(_, v)| v).collect();
                emit(Event::GradFlow {
                    step: self.step,
                    norms,
                });
                let taps = t.model.taps();
                emit(Event::Activations {
                    step: self.step,
                    names: taps.iter().map(|t| t.name.clone()).collect(),
                    means: taps.iter().map(|t| t.mean).collect(),
                    stds: taps.iter().map(|t| t.std).collect(),
                });
            }
            let lr = self.hyper.schedule.lr(
                self.hyper.lr,
                self.step,
                self.total,
                self.hyper.warmup_steps,
            );
            t.update(lr);
            self.step += 1;
            self.wrong += pass.wrong;
            self.seen += batch;
            self.loss_sum += pass.loss as f64 * batch as f64;
            self.b += 1;
            emit(Event::Step {
                step: self.step,
                epoch: self.epoch as f32 + self.b as f32 / self.steps_per_epoch as f32,
                loss: pass.loss,
                error: pass.wrong as f32 / batch as f32,
                lr,
            });
            return Advance::Continue;
        }
        // The epoch is over (its batches, or the step budget).
        if self.seen == 0 {
            return self.finish(false, emit);
        }
        let (test_err, test_loss) = evaluate(&mut self.trainer.model, self.data, SplitKind::Test);
        emit(Event::Epoch {
            epoch: self.epoch + 1,
            train_err: self.wrong as f32 / self.seen.max(1) as f32,
            loss: (self.loss_sum / self.seen.max(1) as f64) as f32,
            test_err,
            test_loss,
        });
        self.epoch += 1;
        self.b = 0;
        self.wrong = 0;
        self.seen = 0;
        self.loss_sum = 0.0;
        Advance::Continue
    }
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
    let mut r = Run::start(net, hyper, data, emit)?;
    while r.advance(poll, emit) == Advance::Continue {}
    Some(r.into_model())
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

//! Optimisers and learning-rate schedules.
use super::model::Model;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// SGD with (PyTorch-style) momentum and L2 weight decay, as in the ResNet paper.
    Sgd { momentum: f32, weight_decay: f32 },
    Adam {
        beta1: f32,
        beta2: f32,
        weight_decay: f32,
    },
}

impl Default for OptimizerKind {
    fn default() -> Self {
        OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 1e-4,
        }
    }
}

/// How the learning rate changes over a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Schedule {
    #[default]
    Constant,
    /// Multiply by `factor` at each fraction of the run in `at` (the paper: x0.1 at 50% and 75%).
    Step {
        #[serde(with = "crate::util::json_float")]
        at: Vec<f32>,
        #[serde(with = "crate::util::json_float")]
        factor: f32,
    },
    /// Cosine decay to zero.
    Cosine,
}

impl Schedule {
    /// Learning rate at `step` of `total`, after `warmup` steps at a tenth of `base`
    /// (the paper's ResNet-110 warm-up).
    pub fn lr(&self, base: f32, step: usize, total: usize, warmup: usize) -> f32 {
        if step < warmup {
            return base * 0.1;
        }
        let frac = if total == 0 {
            0.0
        } else {
            step as f32 / total as f32
        };
        match self {
            Schedule::Constant => base,
            Schedule::Step { at, factor } => {
                base * factor.powi(at.iter().filter(|&&a| frac >= a).count() as i32)
            }
            Schedule::Cosine => base * 0.5 * (1.0 + (std::f32::consts::PI * frac.min(1.0)).cos()),
        }
    }
}

pub struct Optimizer {
    kind: OptimizerKind,
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    t: u32,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind) -> Self {
        Self {
            kind,
            first: Vec::new(),
            second: Vec::new(),
            t: 0,
        }
    }

    /// SGD's momentum buffers (Adam's first moments), one per parameter in
    /// [`Model::visit_params`] order; empty before the first step.
    pub fn momentum(&self) -> &[Vec<f32>] {
        &self.first
    }

    /// One update of every parameter from its accumulated gradient.
    pub fn step(&mut self, model: &mut Model, lr: f32) {
        self.t += 1;
        let mut i = 0;
        let (first, second, t) = (&mut self.first, &mut self.second, self.t);
        let kind = self.kind;
        model.visit_params(&mut |p| {
            if first.len() <= i {
                first.push(vec![0.0; p.value.len()]);
                second.push(match kind {
                    OptimizerKind::Adam { .. } => vec![0.0; p.value.len()],
                    OptimizerKind::Sgd { .. } => Vec::new(),
                });
            }
            match kind {
                OptimizerKind::Sgd {
                    momentum,
                    weight_decay,
                } => {
                    for ((w, g), v) in p.value.iter_mut().zip(&p.grad).zip(first[i].iter_mut()) {
                        let d = g + weight_decay * *w;
                        *v = momentum * *v + d;
                        *w -= lr * *v;
                    }
                }
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    weight_decay,
                } => {
                    let c1 = 1.0 - beta1.powi(t as i32);
                    let c2 = 1.0 - beta2.powi(t as i32);
                    for (((w, g), m), v) in p
                        .value
                        .iter_mut()
                        .zip(&p.grad)
                        .zip(first[i].iter_mut())
                        .zip(second[i].iter_mut())
                    {
                        let d = g + weight_decay * *w;
                        *m = beta1 * *m + (1.0 - beta1) * d;
                        *v = beta2 * *v + (1.0 - beta2) * d * d;
                        *w -= lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8);
                    }
                }
            }
            i += 1;
        });
    }
}

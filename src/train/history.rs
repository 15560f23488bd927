//! Everything a plot, an export or a lesson check reads about one run.
use super::experiment::{DataInfo, Hyper, NetEntry};
use super::trainer::Event;
use crate::identity::{NetIdentity, TryTag};
use serde::{Deserialize, Serialize};

/// Steps after which an error no better than guessing means the run learned nothing.
pub const VERDICT_MIN_STEPS: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum RunStatus {
    #[default]
    Waiting,
    Running,
    Paused,
    Finished,
    Stopped,
    Diverged {
        step: usize,
    },
    Failed(String),
}

impl RunStatus {
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            RunStatus::Finished
                | RunStatus::Stopped
                | RunStatus::Diverged { .. }
                | RunStatus::Failed(_)
        )
    }

    /// The status in words, with a hint where the learner can do something about it.
    pub fn describe(&self) -> String {
        match self {
            RunStatus::Waiting => "waiting".into(),
            RunStatus::Running => "training".into(),
            RunStatus::Paused => "paused".into(),
            RunStatus::Finished => "finished".into(),
            RunStatus::Stopped => "stopped".into(),
            RunStatus::Diverged { step } => format!(
                "diverged at step {step}: the loss became infinite or NaN. Try a lower learning rate (e.g. a tenth of it) or a warm-up."
            ),
            RunStatus::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

/// Steps of the trailing window that ends at step `s`: a fifth of the run so far, 20 to 50.
pub fn window(s: usize) -> usize {
    (s / 5).clamp(20, 50).min(s)
}

/// One point of a depth sweep: which family, how deep, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub residual: bool,
    pub depth: usize,
    /// Final training error (a fraction), by [`RunHistory::final_train_err`].
    #[serde(with = "crate::util::json_float")]
    pub train_err: f32,
    /// The last test pass's error, when one ran.
    #[serde(default, with = "crate::util::json_float")]
    pub test_err: Option<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    #[serde(with = "crate::util::json_float")]
    pub train_err: f32,
    #[serde(with = "crate::util::json_float")]
    pub loss: f32,
    #[serde(with = "crate::util::json_float")]
    pub test_err: f32,
    #[serde(with = "crate::util::json_float")]
    pub test_loss: f32,
}

/// Gradient norms or activation statistics at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSample {
    pub step: usize,
    #[serde(with = "crate::util::json_float")]
    pub values: Vec<f32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunHistory {
    pub label: String,
    pub net: Option<NetEntry>,
    pub hyper: Hyper,
    /// The data set it trained on (absent in histories saved before runs recorded it).
    pub data: Option<DataInfo>,
    /// What the net is, typed (absent in histories saved before runs recorded it).
    pub identity: Option<NetIdentity>,
    /// The lesson Try it that started it (absent for the learner's own runs).
    pub lesson: Option<TryTag>,
    pub status: RunStatus,
    pub params: usize,
    pub flops_per_image: u64,
    pub steps_per_epoch: usize,
    pub total_steps: usize,
    /// Per step (index = step - 1).
    #[serde(with = "crate::util::json_float")]
    pub step_loss: Vec<f32>,
    #[serde(with = "crate::util::json_float")]
    pub step_err: Vec<f32>,
    #[serde(with = "crate::util::json_float")]
    pub step_lr: Vec<f32>,
    pub epochs: Vec<EpochPoint>,
    /// Weight tensors, input side first.
    pub weight_names: Vec<String>,
    /// Gradient norm of each weight tensor on the first batch, before any update.
    #[serde(with = "crate::util::json_float")]
    pub grad_norms_init: Vec<f32>,
    pub grad_flow: Vec<LayerSample>,
    pub activation_names: Vec<String>,
    pub activation_std: Vec<LayerSample>,
    #[serde(with = "crate::util::json_float")]
    pub wall_secs: f64,
    #[serde(with = "crate::util::json_float")]
    pub img_per_sec: f64,
}

impl RunHistory {
    pub fn new(net: &NetEntry, hyper: &Hyper) -> Self {
        Self {
            label: net.label.clone(),
            net: Some(net.clone()),
            hyper: hyper.clone(),
            ..Default::default()
        }
    }

    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::Started {
                params,
                flops_per_image,
                steps_per_epoch,
                total_steps,
                weight_names,
            } => {
                self.status = RunStatus::Running;
                self.params = *params;
                self.flops_per_image = *flops_per_image;
                self.steps_per_epoch = *steps_per_epoch;
                self.total_steps = *total_steps;
                self.weight_names = weight_names.clone();
            }
            Event::Step {
                loss, error, lr, ..
            } => {
                self.step_loss.push(*loss);
                self.step_err.push(*error);
                self.step_lr.push(*lr);
            }
            Event::GradFlow { step, norms } => {
                if *step == 0 {
                    self.grad_norms_init = norms.clone();
                }
                self.grad_flow.push(LayerSample {
                    step: *step,
                    values: norms.clone(),
                });
            }
            Event::Activations {
                step, names, stds, ..
            } => {
                if self.activation_names.is_empty() {
                    self.activation_names = names.clone();
                }
                self.activation_std.push(LayerSample {
                    step: *step,
                    values: stds.clone(),
                });
            }
            Event::Epoch {
                epoch,
                train_err,
                loss,
                test_err,
                test_loss,
            } => self.epochs.push(EpochPoint {
                epoch: *epoch,
                train_err: *train_err,
                loss: *loss,
                test_err: *test_err,
                test_loss: *test_loss,
            }),
            Event::Finished {
                wall_secs,
                img_per_sec,
                stopped,
                ..
            } => {
                self.wall_secs = *wall_secs;
                self.img_per_sec = *img_per_sec;
                self.status = if *stopped {
                    RunStatus::Stopped
                } else {
                    RunStatus::Finished
                };
            }
            Event::Diverged { step, .. } => self.status = RunStatus::Diverged { step: *step },
            Event::Failed { reason } => self.status = RunStatus::Failed(reason.clone()),
        }
    }

    pub fn steps_done(&self) -> usize {
        self.step_loss.len()
    }

    /// Training error at step `s` (1-based): the mean mini-batch error over the trailing
    /// [`window`] of steps that ends there, never one batch. What the status row, the sweep,
    /// the lesson checks and the CLI's summary all call a run's training error.
    pub fn train_err_at(&self, s: usize) -> Option<f32> {
        let s = s.min(self.step_err.len());
        let w = window(s);
        if w == 0 {
            return None;
        }
        let tail = &self.step_err[s - w..s];
        Some(tail.iter().sum::<f32>() / w as f32)
    }

    /// Training error at the last step, by the rule of [`RunHistory::train_err_at`].
    pub fn final_train_err(&self) -> Option<f32> {
        self.train_err_at(self.steps_done())
    }

    /// The run's point on an error-vs-depth chart (its net's family and depth, its final
    /// training error and last test error).
    pub fn sweep_point(&self) -> Option<SweepPoint> {
        let id = self.identity.as_ref()?;
        Some(SweepPoint {
            residual: id.is_residual(),
            depth: id.depth,
            train_err: self.final_train_err()?,
            test_err: self.final_test_err(),
        })
    }

    pub fn final_test_err(&self) -> Option<f32> {
        self.epochs.last().map(|e| e.test_err)
    }

    /// Final training loss: the last epoch's mean, or the last 20 steps' mean.
    pub fn final_loss(&self) -> Option<f32> {
        if let Some(e) = self.epochs.last() {
            return Some(e.loss);
        }
        let tail = &self.step_loss[self.step_loss.len().saturating_sub(20)..];
        (!tail.is_empty()).then(|| tail.iter().sum::<f32>() / tail.len() as f32)
    }

    /// For a run that ended but learned nothing (final loss far above the chance level ln K,
    /// or after enough steps an error no better than guessing), what happened and what to try.
    /// `None` for a run that learned, or that has not ended.
    pub fn verdict(&self) -> Option<String> {
        if !matches!(self.status, RunStatus::Finished | RunStatus::Stopped) {
            return None;
        }
        let k = self.net.as_ref().and_then(|n| n.spec.classes())?;
        if k < 2 {
            return None;
        }
        let chance_loss = (k as f32).ln();
        let chance_err = 1.0 - 1.0 / k as f32;
        let loss = self.final_loss()?;
        let err = self.final_train_err()?;
        let loss_bad = loss.is_finite() && loss > 2.0 * chance_loss;
        let err_bad = self.steps_done() >= VERDICT_MIN_STEPS && err >= chance_err;
        let lower = self.hyper.lr / 10.0;
        let pct = |v: f32| format!("{:.0}%", v * 100.0);
        match (loss_bad, err_bad) {
            (false, false) => None,
            (true, _) => Some(format!(
                "it ended with a training loss of {loss:.2}, far above the chance level of {chance_loss:.2} for {k} classes, and an error of {} (guessing gives {}): the net learned nothing. Try a lower learning rate (e.g. {lower}).",
                pct(err),
                pct(chance_err)
            )),
            (false, true) => Some(format!(
                "after {} steps its training error is {}, no better than guessing among {k} classes ({}): the net learned nothing. Try a lower learning rate (e.g. {lower}) or a warm-up.",
                self.steps_done(),
                pct(err),
                pct(chance_err)
            )),
        }
    }

    /// Ratio between the largest and smallest first-batch gradient norm across layers.
    pub fn grad_spread(&self) -> Option<f32> {
        let v: Vec<f32> = self
            .grad_norms_init
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
        if v.len() < 2 {
            return None;
        }
        let max = v.iter().copied().fold(f32::MIN, f32::max);
        let min = v.iter().copied().fold(f32::MAX, f32::min);
        Some(max / min)
    }
}

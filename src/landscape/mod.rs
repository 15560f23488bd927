//! The loss landscape around a trained net (Li, Xu, Taylor, Studer, Goldstein 2018), and the
//! line from its initial to its trained weights (Goodfellow, Vinyals, Saxe 2015). No egui.
//!
//! - [`weights`]: a copy of a model's parameters that knows its filters; writes
//!   `trained + a*d1 + b*d2` back into the model in place.
//! - [`direction`]: filter-normalised random directions (seeded by tensor name, so a plain net
//!   and its residual twin get the same numbers) and the initial-to-trained direction.
//! - [`probe`]: the fixed training images every point is evaluated on, in eval mode.
//! - [`job`]: settings, the computation with events point by point, cancel, and the worker.
//! - [`result`]: [`Landscape`], filled in from the events; what views and exports read.
//! - [`figures`]: how bowl-like a surface is (non-convex share, curvature ratio, minima, roughness).
//! - [`sources`]: the nets on offer (runs in the run store, opened run folders) and starting a
//!   job on them.
//! - [`check`]: the lesson's check on a finished pair (is the residual surface clearly more convex?).
//!
//! A view drives it like a training run: build [`Subject`]s from trained models (and their
//! initial weights), [`spawn`] a job with [`Settings`], drain its events each frame into a
//! [`Landscape`] and draw that (`plot::landscape` turns it into contour panels, 3-D scenes, 1-D
//! charts and CSV, all on shared levels); `JobHandle::cancel` stops it within one batch, and
//! `JobHandle::join` hands the models back with their trained weights.
pub mod check;
pub mod direction;
pub mod figures;
pub mod job;
pub mod probe;
pub mod result;
pub mod sources;
pub mod weights;

pub use check::{Verdict, bowl_check};
pub use direction::{Axis, Direction};
pub use figures::{Figures, figures};
pub use job::{Event, JobHandle, Settings, Subject, initial_weights, run, spawn, spawn_prepared};
pub use probe::{Point, Probe};
pub use result::{Landscape, Line, NetLandscape, Status, Surface};
pub use weights::{BnStats, WeightTensor, Weights};

/// Why a landscape could not be computed, in words for the learner.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LandscapeError {
    #[error("{0}")]
    Setup(String),
    #[error("the network cannot be read: {0}")]
    Model(String),
}

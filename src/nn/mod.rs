//! The compute core: network specs, differentiable ops, models, optimisers and probes.
//!
//! Knows nothing of files, threads or the UI. Every op has a hand-written backward pass checked
//! against finite differences (tests/nn_gradcheck.rs).
pub mod model;
pub mod ops;
pub mod optim;
pub mod presets;
pub mod spec;
pub mod tensor;

pub use model::{LayerOutput, Model, ModelOptions, Param, ParamKind, Tap};
pub use optim::{Optimizer, OptimizerKind, Schedule};
pub use spec::{BlockSpec, LayerInfo, LayerSpec, NetInfo, NetSpec, Shape, Shortcut, SpecError};
pub use tensor::{Tensor, TensorData};

//! Experiments: what to train, the training loop, the worker thread and the recorded history.
//!
//! Knows `nn` and `data`; knows nothing of egui. The CLI calls [`trainer::run`] directly; the app
//! calls [`worker::spawn`], which runs the same function on its own thread.
pub mod budget;
pub mod eval;
pub mod experiment;
pub mod history;
pub mod run_dir;
pub mod safetensors;
pub mod scheduler;
pub mod store;
pub mod torch_export;
pub mod trainer;
pub mod wire;
pub mod worker;

pub use experiment::{DataConfig, DataInfo, Experiment, Hyper, NetEntry, OptimizerChoice};
pub use history::{EpochPoint, RunHistory, RunStatus};
pub use run_dir::SavedRun;
pub use store::{RunId, RunInputs, RunStore, StoredRun};
pub use trainer::{Control, Event};
pub use worker::{Command, RunHandle};

//! The block builder's logic: a residual block being edited, its shapes, the fixes for a
//! mismatch, undo/redo, and the graded exercises. Knows `nn`; knows nothing of egui, so every
//! edit can be tested (and fuzzed) without a window.
pub mod draft;
pub mod exercise;
pub mod history;
pub mod layout;

pub use draft::{BlockDraft, BlockReport, Edit, EditError, Fix, PaletteItem};
pub use exercise::{Exercise, ExerciseId, Grade, GradeFix, Mistake, MistakeKind};
pub use history::Undo;

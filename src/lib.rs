//! ResNet Lab: build residual networks, train them, and watch why skip connections work.
//!
//! The compute (`nn`), data (`data`) and experiment (`train`) modules know nothing of the UI.
/// The block builder's logic: drafts, edits, fixes, exercises (no egui).
pub mod builder;
// The CLI and the desktop app need files, threads, signals and a window: not on wasm32 (yet).
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod data;
/// What a net is, as types: identities, presets, choices, families (knows `nn` only).
pub mod identity;
/// The loss landscape around trained nets: directions, evaluation, figures (no egui).
pub mod landscape;
/// Lessons parsed from the embedded `lessons/*.md`, and their checks.
pub mod lessons;
pub mod nn;
/// Chart descriptions and their PNG / CSV exports (no egui).
pub mod plot;
pub mod rng;
/// The one kind of background work (training, probes, landscapes, loads, files).
pub mod task;
pub mod train;
/// The egui app: a desktop window natively, a canvas in a browser (wasm32).
pub mod ui;
pub mod util;
/// The browser build's edges: the page's entry point, training in Web Workers, downloads.
#[cfg(target_arch = "wasm32")]
pub mod web;

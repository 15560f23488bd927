//! ResNet Lab: build residual networks, train them, and watch why skip connections work.
//!
//! The compute (`nn`), data (`data`) and experiment (`train`) modules know nothing of the UI.
pub mod builder;
pub mod cli;
pub mod data;
pub mod nn;
pub mod rng;
pub mod train;
pub mod util;

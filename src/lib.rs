//! ResNet Lab: build residual networks, train them, and watch why skip connections work.
//!
//! The compute (`nn`), data (`data`) and experiment (`train`) modules know nothing of the UI.
// pub mod data; (lands with the data module)
pub mod nn;
pub mod rng;

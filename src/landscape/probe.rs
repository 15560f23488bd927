//! The fixed set of training images every grid point is evaluated on.
use super::LandscapeError;
use crate::data::{Dataset, SplitKind};
use crate::nn::Model;
use crate::nn::ops::loss::cross_entropy;
use crate::rng::Rng64;
use std::sync::atomic::{AtomicBool, Ordering};

/// Loss and error of one set of weights on the probe images.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Mean cross-entropy.
    pub loss: f32,
    /// Fraction classified wrongly, in [0, 1].
    pub error: f32,
}

/// Training images, normalised once and kept as f32, evaluated in batches of `batch`.
pub struct Probe {
    x: Vec<f32>,
    labels: Vec<usize>,
    image_len: usize,
    batch: usize,
    /// Which training images (indices into the training split), for the record.
    pub indices: Vec<usize>,
}

/// Largest probe: 50,000 images of 3x32x32 are 600 MB of f32, about the most a laptop spares.
pub const MAX_PROBE_FLOATS: usize = 160_000_000;

impl Probe {
    /// `n` training images drawn without replacement by `seed` (all of them if the split has
    /// fewer), without augmentation, normalised as in training.
    pub fn new(data: &Dataset, n: usize, seed: u64, batch: usize) -> Result<Self, LandscapeError> {
        let len = data.train.len();
        if len == 0 {
            return Err(LandscapeError::Setup(
                "the data set has no training images to evaluate the landscape on".into(),
            ));
        }
        if n == 0 || batch == 0 {
            return Err(LandscapeError::Setup(
                "the landscape needs at least one image and a batch of at least one".into(),
            ));
        }
        let n = n.min(len);
        if n.saturating_mul(data.image_len()) > MAX_PROBE_FLOATS {
            return Err(LandscapeError::Setup(format!(
                "{n} images of {} values would take more than {} MB; use fewer images",
                data.image_len(),
                MAX_PROBE_FLOATS * 4 / 1_000_000
            )));
        }
        let mut order: Vec<usize> = (0..len).collect();
        Rng64::derive(seed, 0x1a2d_5ca9e).shuffle(&mut order);
        let mut indices = order[..n].to_vec();
        // In training order: reads the u8 images front to back, and the choice is a set anyway.
        indices.sort_unstable();
        let (mut x, mut labels) = (Vec::new(), Vec::new());
        let mut unused = Rng64::new(0);
        data.batch(
            SplitKind::Train,
            &indices,
            None,
            &mut unused,
            &mut x,
            &mut labels,
        );
        Ok(Self {
            x,
            labels,
            image_len: data.image_len(),
            batch: batch.min(n),
            indices,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Loss and error of `model` as it stands, in eval mode (batch norm with its running
    /// statistics, as the reference code's `net.eval()`). `None` if `cancel` was raised
    /// between two batches.
    pub fn evaluate(&self, model: &mut Model, cancel: &AtomicBool) -> Option<Point> {
        let (mut loss, mut wrong) = (0.0f64, 0usize);
        for (xs, ys) in self
            .x
            .chunks(self.batch * self.image_len)
            .zip(self.labels.chunks(self.batch))
        {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            // The model takes its input by value; one copy per batch costs far less than the
            // first convolution reading it.
            let n = ys.len();
            let logits = model.forward(xs.to_vec(), n, false);
            let (l, _, bad) = cross_entropy(n, model.classes(), &logits, ys);
            loss += l as f64 * n as f64;
            wrong += bad;
        }
        let n = self.len() as f64;
        Some(Point {
            loss: (loss / n) as f32,
            error: (wrong as f64 / n) as f32,
        })
    }
}

//! The in-memory data set and how the trainer draws normalised, augmented batches from it.
//!
//! Images stay as u8 (a quarter of the memory of f32) and become f32 only one batch at a time,
//! which is also the natural place to apply augmentation: every epoch sees a fresh variant.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::convert;
use crate::rng::Rng64;

/// A loaded data set: every image at one size and channel count, split into train and test.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// "built-in shapes", the folder or file name, ...
    pub name: String,
    pub classes: Vec<String>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub train: Split,
    pub test: Split,
    /// Per channel, over the training split, with pixel values scaled to [0, 1].
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Things the learner should know, e.g. "skipped 3 unreadable files: a.png (truncated PNG), ...".
    pub warnings: Vec<String>,
}

/// One split: `images` holds N*C*H*W bytes in NCHW order (one plane per channel).
#[derive(Clone, Debug, Default)]
pub struct Split {
    pub images: Vec<u8>,
    /// One per image, each below `classes.len()`.
    pub labels: Vec<u16>,
}

impl Split {
    /// The first `k` samples of each of `classes` classes, in order (`len` values per image).
    pub fn first_per_class(&self, classes: usize, k: usize, len: usize) -> Split {
        let mut seen = vec![0usize; classes.max(1)];
        let mut out = Split::default();
        for (i, &l) in self.labels.iter().enumerate() {
            let c = &mut seen[(l as usize).min(classes.saturating_sub(1))];
            *c += 1;
            if *c <= k {
                out.images
                    .extend_from_slice(&self.images[i * len..(i + 1) * len]);
                out.labels.push(l);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitKind {
    Train,
    Test,
}

/// Training-time augmentation, applied per sample in [`Dataset::batch`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Augment {
    /// Pad by this many zero pixels on each side, then crop back to size at a random offset; 0 = off.
    pub pad_crop: usize,
    /// Mirror left-right with probability 1/2.
    pub hflip: bool,
}

impl Dataset {
    /// Bytes (and batch floats) per image: C*H*W.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    pub fn split(&self, s: SplitKind) -> &Split {
        match s {
            SplitKind::Train => &self.train,
            SplitKind::Test => &self.test,
        }
    }

    /// Normalised ((x/255 - mean[c]) / std[c]) f32 NCHW for the given sample indices of a split.
    ///
    /// `out` is cleared and resized to `idx.len() * image_len()`, `labels` cleared and filled.
    /// Augmentation (if `Some`) draws from `rng`, so a seeded run sees the same crops and flips.
    ///
    /// # Panics
    /// If an index is not below the split's length: that is a bug in the caller, not bad data.
    pub fn batch(
        &self,
        split: SplitKind,
        idx: &[usize],
        aug: Option<&Augment>,
        rng: &mut Rng64,
        out: &mut Vec<f32>,
        labels: &mut Vec<usize>,
    ) {
        let s = self.split(split);
        let n = self.image_len();
        let (h, w) = (self.height, self.width);
        let plane = h * w;
        // x/255 - mean, then / std, folded into one multiply-add per pixel.
        let (scale, bias): (Vec<f32>, Vec<f32>) = (0..self.channels)
            .map(|c| {
                let m = self.mean.get(c).copied().unwrap_or(0.0);
                let sd = self.std.get(c).copied().filter(|v| *v > 0.0).unwrap_or(1.0);
                (1.0 / (255.0 * sd), -m / sd)
            })
            .unzip();
        out.clear();
        out.resize(idx.len() * n, 0.0);
        labels.clear();
        for (k, &i) in idx.iter().enumerate() {
            assert!(
                i < s.len(),
                "sample index {i} is out of range for a split of {}",
                s.len()
            );
            labels.push(s.labels[i] as usize);
            let src = &s.images[i * n..(i + 1) * n];
            let dst = &mut out[k * n..(k + 1) * n];
            let (dy, dx, flip) = match aug {
                Some(a) => {
                    let p = a.pad_crop as isize;
                    let (dy, dx) = if p > 0 {
                        (
                            rng.below(2 * a.pad_crop + 1) as isize - p,
                            rng.below(2 * a.pad_crop + 1) as isize - p,
                        )
                    } else {
                        (0, 0)
                    };
                    let flip = a.hflip && rng.below(2) == 1;
                    (dy, dx, flip)
                }
                None => (0, 0, false),
            };
            for c in 0..self.channels {
                let (sc, b) = (scale[c], bias[c]);
                let sp = &src[c * plane..(c + 1) * plane];
                let dp = &mut dst[c * plane..(c + 1) * plane];
                if dy == 0 && dx == 0 && !flip {
                    for (d, &v) in dp.iter_mut().zip(sp) {
                        *d = v as f32 * sc + b;
                    }
                    continue;
                }
                for y in 0..h {
                    let sy = y as isize + dy;
                    for x in 0..w {
                        let xx = if flip { w - 1 - x } else { x };
                        let sx = xx as isize + dx;
                        // Outside the source is the zero padding, i.e. a black pixel.
                        let v = if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w {
                            sp[sy as usize * w + sx as usize]
                        } else {
                            0
                        };
                        dp[y * w + x] = v as f32 * sc + b;
                    }
                }
            }
        }
    }

    /// The same data set at another size and channel count (1 or 3), with statistics recomputed.
    ///
    /// Used to fit one data set into a format that demands a shape (CIFAR is 3x32x32), and by
    /// loaders when the learner asks for a size.
    pub fn convert(&self, height: usize, width: usize, channels: usize) -> Dataset {
        let from = (self.channels, self.height, self.width);
        let to = (channels, height, width);
        let train = Split {
            images: convert::convert_images(&self.train.images, from, to),
            labels: self.train.labels.clone(),
        };
        let test = Split {
            images: convert::convert_images(&self.test.images, from, to),
            labels: self.test.labels.clone(),
        };
        let (mean, std) = channel_stats(&train.images, channels, height * width);
        Dataset {
            name: self.name.clone(),
            classes: self.classes.clone(),
            channels,
            height,
            width,
            train,
            test,
            mean,
            std,
            warnings: self.warnings.clone(),
        }
    }
}

/// Mean and standard deviation per channel of NCHW u8 images, in [0, 1] units.
///
/// Integer sums make the result exact and independent of thread count. A constant channel
/// would give std 0 and divide by zero later, so it gets 1 instead.
pub fn channel_stats(images: &[u8], channels: usize, plane: usize) -> (Vec<f32>, Vec<f32>) {
    if channels == 0 || plane == 0 || images.len() < channels * plane {
        return (vec![0.0; channels], vec![1.0; channels]);
    }
    let (sum, sq) = images
        .par_chunks(channels * plane)
        .map(|img| {
            let mut s = vec![0u64; channels];
            let mut q = vec![0u64; channels];
            for (c, p) in img.chunks(plane).enumerate().take(channels) {
                for &v in p {
                    s[c] += v as u64;
                    q[c] += (v as u64) * (v as u64);
                }
            }
            (s, q)
        })
        .reduce(
            || (vec![0u64; channels], vec![0u64; channels]),
            |(mut a, mut b), (c, d)| {
                for k in 0..channels {
                    a[k] += c[k];
                    b[k] += d[k];
                }
                (a, b)
            },
        );
    let n = (images.len() / (channels * plane) * plane) as f64;
    let mut mean = Vec::with_capacity(channels);
    let mut std = Vec::with_capacity(channels);
    for c in 0..channels {
        let m = sum[c] as f64 / n / 255.0;
        let var = (sq[c] as f64 / n / (255.0 * 255.0) - m * m).max(0.0);
        let sd = var.sqrt();
        mean.push(m as f32);
        std.push(if sd > 1e-6 { sd as f32 } else { 1.0 });
    }
    (mean, std)
}

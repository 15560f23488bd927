//! Directions in weight space: filter-normalised random ones (Li et al. 2018) and the straight
//! line from the initial to the trained weights (Goodfellow et al. 2015).
pub use super::weights::Direction;
use super::weights::{BnStats, Weights};
use crate::rng::Rng64;

/// Which of the two random directions: the plot's x axis or its y axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    X,
    Y,
}

/// FNV-1a: a stable hash, so a tensor's random stream depends on its name and nothing else.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The Gaussian stream a tensor's direction entries are drawn from. Keyed by the tensor's name,
/// so a plain net and its residual twin (same layer names) draw the same numbers even when
/// one of them has extra tensors (projection shortcuts).
fn stream(seed: u64, axis: Axis, name: &str) -> Rng64 {
    let label = name_hash(name)
        ^ if axis == Axis::Y {
            0x5bd1_e995_u64 << 32
        } else {
            0
        };
    Rng64::derive(seed, label)
}

impl Direction {
    /// A random Gaussian direction with filter normalisation: each filter of each conv or linear
    /// weight is rescaled to the norm of the same filter of `w` (a zero filter gets a zero
    /// direction). Biases and batch-norm parameters get no direction, and running statistics
    /// stay at their trained values, as in Li et al.'s `--dir_type weights --xignore biasbn
    /// --xnorm filter`.
    pub fn random_filter_normalised(w: &Weights, seed: u64, axis: Axis) -> Self {
        let tensors = w
            .tensors
            .iter()
            .map(|t| {
                if !t.is_filtered() {
                    return Vec::new();
                }
                let mut r = stream(seed, axis, &t.name);
                let mut d: Vec<f32> = (0..t.value.len()).map(|_| r.normal()).collect();
                let len = t.value.len() / t.rows;
                for (df, wf) in d.chunks_mut(len).zip(t.filters()) {
                    let (dn, wn) = (norm(df), norm(wf));
                    // The reference adds 1e-10 to the direction's norm; a Gaussian filter of
                    // nine or more entries is never that small, so this only guards zero.
                    let s = (wn / (dn + 1e-10)) as f32;
                    df.iter_mut().for_each(|v| *v *= s);
                }
                d
            })
            .collect();
        Self {
            tensors,
            stats: None,
        }
    }

    /// `to - from` for every parameter and running statistic, so that `from + 1 * d = to`.
    /// Following the reference code's `--dir_type states` for interpolations: leaving the
    /// running statistics behind would evaluate the initial weights with trained statistics.
    pub fn between(from: &Weights, to: &Weights) -> Self {
        debug_assert!(from.same_layout(to));
        let diff = |a: &[f32], b: &[f32]| b.iter().zip(a).map(|(y, x)| y - x).collect();
        Self {
            tensors: from
                .tensors
                .iter()
                .zip(&to.tensors)
                .map(|(a, b)| diff(&a.value, &b.value))
                .collect(),
            stats: Some(
                from.stats
                    .iter()
                    .zip(&to.stats)
                    .map(|(a, b)| BnStats {
                        key: a.key.clone(),
                        mean: diff(&a.mean, &b.mean),
                        var: diff(&a.var, &b.var),
                    })
                    .collect(),
            ),
        }
    }

    /// Cosine of the angle between two directions over the entries both move.
    pub fn cosine(&self, other: &Direction) -> f64 {
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for (a, b) in self.tensors.iter().zip(&other.tensors) {
            for (x, y) in a.iter().zip(b) {
                let (x, y) = (*x as f64, *y as f64);
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
        }
        if aa == 0.0 || bb == 0.0 {
            return 0.0;
        }
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Euclidean norm, accumulated in f64.
pub fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::weights::WeightTensor as Tensor;
    use crate::nn::ParamKind;

    fn weights() -> Weights {
        Weights {
            tensors: vec![
                Tensor {
                    name: "conv.weight".into(),
                    kind: ParamKind::ConvWeight,
                    rows: 3,
                    value: (0..3 * 18).map(|i| (i as f32 * 0.37).sin()).collect(),
                },
                Tensor {
                    name: "bn.gamma".into(),
                    kind: ParamKind::BnGamma,
                    rows: 1,
                    value: vec![1.0; 3],
                },
                Tensor {
                    name: "fc.weight".into(),
                    kind: ParamKind::LinearWeight,
                    rows: 2,
                    value: vec![0.0, 0.0, 0.0, 0.5, -0.5, 2.0],
                },
            ],
            stats: vec![],
        }
    }

    #[test]
    fn filters_take_the_weight_norms_and_vectors_stay_still() {
        let w = weights();
        let d = Direction::random_filter_normalised(&w, 3, Axis::X);
        for (t, dt) in w.tensors.iter().zip(&d.tensors) {
            if !t.is_filtered() {
                assert!(dt.is_empty(), "{} moved", t.name);
                continue;
            }
            let len = t.value.len() / t.rows;
            for (df, wf) in dt.chunks(len).zip(t.filters()) {
                assert!((norm(df) - norm(wf)).abs() < 1e-5 * (1.0 + norm(wf)));
            }
        }
        // The linear layer's first unit has zero weights, so its direction is zero too.
        assert!(d.tensors[2][..3].iter().all(|v| *v == 0.0));
        let y = Direction::random_filter_normalised(&w, 3, Axis::Y);
        assert_ne!(d, y, "the two axes draw different directions");
        assert!(d.cosine(&y).abs() < 0.6);
        assert_eq!(d, Direction::random_filter_normalised(&w, 3, Axis::X));
    }
}

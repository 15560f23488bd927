//! A copy of a model's weights that knows which entries form a filter, and a way to write
//! `base + a*d1 + b*d2` back into the model without allocating.
use super::LandscapeError;
use crate::nn::{Model, ParamKind, TensorData};
use std::collections::HashMap;

/// A step in weight space, one entry per tensor of the [`Weights`] it was made for. An empty
/// entry means "this tensor does not move"; `stats` is `None` when running statistics stay put.
#[derive(Clone, Debug, PartialEq)]
pub struct Direction {
    pub tensors: Vec<Vec<f32>>,
    pub stats: Option<Vec<BnStats>>,
}

/// One parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTensor {
    pub name: String,
    pub kind: ParamKind,
    /// Filters (output channels, or output units of a linear layer); each filter is a contiguous
    /// run of `value.len() / rows` entries. 1 for vectors (biases, batch-norm parameters).
    pub rows: usize,
    pub value: Vec<f32>,
}

impl WeightTensor {
    /// Whether the landscape directions move this tensor: conv and linear weights do; biases and
    /// batch-norm parameters do not (Li et al.'s `ignore='biasbn'`).
    pub fn is_filtered(&self) -> bool {
        self.kind.is_weight()
    }

    /// The entries of each filter, in order.
    pub fn filters(&self) -> std::slice::Chunks<'_, f32> {
        self.value.chunks(self.value.len() / self.rows.max(1))
    }
}

/// Running mean and variance of one batch norm.
#[derive(Clone, Debug, PartialEq)]
pub struct BnStats {
    /// The batch norm's module path (`<key>.running_mean`).
    pub key: String,
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Every parameter of a model (forward order) and every batch norm's running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub tensors: Vec<WeightTensor>,
    pub stats: Vec<BnStats>,
}

impl Weights {
    /// Copies the model's weights and running statistics. A tensor's filters are its first
    /// dimension (output channels of a conv `[out, in, k, k]`, units of a linear `[out, in]`),
    /// as in the reference code's filter normalisation.
    pub fn capture(model: &mut Model) -> Result<Self, LandscapeError> {
        let all = model.params();
        let shapes: HashMap<&str, &[usize]> = all
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice()))
            .collect();
        let mut tensors = Vec::new();
        let mut problem = None;
        model.visit_params(&mut |p| {
            let rows = match shapes.get(p.name.as_str()) {
                Some(shape) if shape.len() >= 2 => shape[0],
                Some(_) => 1,
                None => {
                    problem.get_or_insert_with(|| format!("{} has no shape", p.name));
                    1
                }
            };
            if rows == 0 || !p.value.len().is_multiple_of(rows) {
                problem.get_or_insert_with(|| {
                    format!(
                        "{} has {} entries, which do not split into {rows} filters",
                        p.name,
                        p.value.len()
                    )
                });
            }
            tensors.push(WeightTensor {
                name: p.name.clone(),
                kind: p.kind,
                rows: rows.max(1),
                value: p.value.clone(),
            })
        });
        if let Some(p) = problem {
            return Err(LandscapeError::Model(p));
        }
        let mut stats = Vec::new();
        for t in &all {
            let (Some(key), Some(v)) = (t.name.strip_suffix(".running_mean"), t.as_f32()) else {
                continue;
            };
            let var = all
                .iter()
                .find(|u| u.name == format!("{key}.running_var"))
                .and_then(|u| u.as_f32())
                .ok_or_else(|| LandscapeError::Model(format!("{key} has no running variance")))?;
            stats.push(BnStats {
                key: key.to_string(),
                mean: v.to_vec(),
                var: var.to_vec(),
            });
        }
        Ok(Self { tensors, stats })
    }

    /// Whether `other` has tensors of the same names and sizes (a direction drawn for one fits the other).
    pub fn same_layout(&self, other: &Weights) -> bool {
        self.tensors.len() == other.tensors.len()
            && self.stats.len() == other.stats.len()
            && self.tensors.iter().zip(&other.tensors).all(|(a, b)| {
                a.name == b.name && a.value.len() == b.value.len() && a.rows == b.rows
            })
            && self
                .stats
                .iter()
                .zip(&other.stats)
                .all(|(a, b)| a.mean.len() == b.mean.len())
    }

    pub fn param_count(&self) -> usize {
        self.tensors.iter().map(|t| t.value.len()).sum()
    }

    /// Writes these weights and statistics back into `model` (which must be the model they
    /// came from).
    pub fn restore(&self, model: &mut Model) {
        self.write_moved(model, &[]);
        self.write_stats(model, &[]);
    }

    /// Writes `self + sum(step * direction)` into `model`'s parameters in place. Running
    /// statistics are written only when a direction carries them (see [`Weights::restore`]).
    pub fn write_moved(&self, model: &mut Model, moves: &[(&Direction, f32)]) {
        let mut i = 0;
        model.visit_params(&mut |p| {
            let base = &self.tensors[i].value;
            p.value.copy_from_slice(base);
            for (d, step) in moves {
                let dv = &d.tensors[i];
                if *step != 0.0 && !dv.is_empty() {
                    for (v, dd) in p.value.iter_mut().zip(dv) {
                        *v += step * dd;
                    }
                }
            }
            i += 1;
        });
        if moves.iter().any(|(d, _)| d.stats.is_some()) {
            self.write_stats(model, moves);
        }
    }

    /// Running statistics moved along the directions that carry them; a variance is kept
    /// non-negative (an extrapolated line can overshoot zero).
    fn write_stats(&self, model: &mut Model, moves: &[(&Direction, f32)]) {
        let mut all = model.params();
        let by_key: HashMap<&str, usize> = self
            .stats
            .iter()
            .enumerate()
            .map(|(j, s)| (s.key.as_str(), j))
            .collect();
        for t in &mut all {
            let TensorData::F32(v) = &mut t.data else {
                continue;
            };
            let (key, is_var) = match (
                t.name.strip_suffix(".running_mean"),
                t.name.strip_suffix(".running_var"),
            ) {
                (Some(k), _) => (k, false),
                (_, Some(k)) => (k, true),
                _ => continue,
            };
            let Some(&j) = by_key.get(key) else { continue };
            let pick = |s: &BnStats| {
                if is_var {
                    s.var.clone()
                } else {
                    s.mean.clone()
                }
            };
            *v = pick(&self.stats[j]);
            for (d, step) in moves {
                if let Some(ds) = &d.stats {
                    for (x, dx) in v.iter_mut().zip(pick(&ds[j])) {
                        *x += step * dx;
                    }
                }
            }
            if is_var {
                v.iter_mut().for_each(|x| *x = x.max(0.0));
            }
        }
        // Same names and shapes as the model's own tensors: this cannot fail.
        model
            .load(&all)
            .expect("the model takes back its own tensors");
    }
}

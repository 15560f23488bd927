//! A copy of a model's weights that knows which entries form a filter, and a way to write
//! `base + a*d1 + b*d2` back into the model without allocating.
use super::LandscapeError;
use super::direction::Direction;
use crate::nn::{Model, ParamKind};

/// One parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub kind: ParamKind,
    /// Filters (output channels, or output units of a linear layer); each filter is a contiguous
    /// run of `value.len() / rows` entries. 1 for vectors (biases, batch-norm parameters).
    pub rows: usize,
    pub value: Vec<f32>,
}

impl Tensor {
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
    pub mean: Vec<f32>,
    pub var: Vec<f32>,
}

/// Every parameter of a model (forward order) and every batch norm's running statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    pub tensors: Vec<Tensor>,
    pub stats: Vec<BnStats>,
}

impl Weights {
    /// Copies the model's weights. Filter counts come from the spec's shape inference: the
    /// layer `L` owns `L.weight`, and its output channels are the filters.
    pub fn capture(model: &mut Model) -> Result<Self, LandscapeError> {
        let info = model
            .spec()
            .infer(model.input_shape())
            .map_err(|e| LandscapeError::Model(e.to_string()))?;
        let mut tensors = Vec::new();
        model.visit_params(&mut |p| {
            tensors.push(Tensor {
                name: p.name.clone(),
                kind: p.kind,
                rows: 1,
                value: p.value.clone(),
            })
        });
        // Parameters and layer infos both run in forward order, so a moving cursor pairs each
        // weight with its own layer even when a learner gave two layers the same name.
        let mut cursor = info.layers.iter();
        for t in tensors.iter_mut().filter(|t| t.is_filtered()) {
            let layer = cursor
                .by_ref()
                .find(|l| format!("{}.weight", l.name) == t.name)
                .ok_or_else(|| {
                    LandscapeError::Model(format!("no layer owns the parameter {}", t.name))
                })?;
            t.rows = layer.output.c;
            if t.rows == 0 || !t.value.len().is_multiple_of(t.rows) {
                return Err(LandscapeError::Model(format!(
                    "{} has {} entries, which do not split into {} filters",
                    t.name,
                    t.value.len(),
                    t.rows
                )));
            }
        }
        let mut stats = Vec::new();
        model.visit_running_stats(&mut |m, v| {
            stats.push(BnStats {
                mean: m.to_vec(),
                var: v.to_vec(),
            })
        });
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

    /// Writes these weights back into `model` (which must be the model they came from).
    pub fn restore(&self, model: &mut Model) {
        self.write_moved(model, &[]);
    }

    /// Writes `self + sum(step * direction)` into `model`'s parameters in place. Running
    /// statistics move only along directions that carry them; a variance is kept non-negative
    /// (an extrapolated interpolation can overshoot zero).
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
        let mut j = 0;
        model.visit_running_stats(&mut |m, v| {
            let s = &self.stats[j];
            m.copy_from_slice(&s.mean);
            v.copy_from_slice(&s.var);
            for (d, step) in moves {
                if let Some(ds) = d.stats.as_ref().map(|st| &st[j]) {
                    for (x, dx) in m.iter_mut().zip(&ds.mean) {
                        *x += step * dx;
                    }
                    for (x, dx) in v.iter_mut().zip(&ds.var) {
                        *x = (*x + step * dx).max(0.0);
                    }
                }
            }
            j += 1;
        });
    }
}

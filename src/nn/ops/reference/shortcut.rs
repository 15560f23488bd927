//! The paper's option-A shortcut: keep every `stride`-th pixel and append zero channels, so a
//! block that halves the resolution and doubles the width still needs no parameters.
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PadGeom {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub stride: usize,
}

impl PadGeom {
    pub fn ho(&self) -> usize {
        (self.h - 1) / self.stride + 1
    }
    pub fn wo(&self) -> usize {
        (self.w - 1) / self.stride + 1
    }
}

pub fn forward(g: &PadGeom, n: usize, x: &[f32], y: &mut [f32]) {
    let (ho, wo, s) = (g.ho(), g.wo(), g.stride);
    let (il, ol) = (g.cin * g.h * g.w, g.cout * ho * wo);
    y[..n * ol]
        .par_chunks_mut(ol)
        .zip(x[..n * il].par_chunks(il))
        .for_each(|(yi, xi)| {
            yi[g.cin * ho * wo..].fill(0.0);
            for c in 0..g.cin {
                for oh in 0..ho {
                    for ow in 0..wo {
                        yi[(c * ho + oh) * wo + ow] = xi[(c * g.h + oh * s) * g.w + ow * s];
                    }
                }
            }
        });
}

/// Adds dL/dx into `dx` (the block's other branch has already written its part there).
pub fn backward_add(g: &PadGeom, n: usize, dy: &[f32], dx: &mut [f32]) {
    let (ho, wo, s) = (g.ho(), g.wo(), g.stride);
    let (il, ol) = (g.cin * g.h * g.w, g.cout * ho * wo);
    dx[..n * il]
        .par_chunks_mut(il)
        .zip(dy[..n * ol].par_chunks(ol))
        .for_each(|(xi, yi)| {
            for c in 0..g.cin {
                for oh in 0..ho {
                    for ow in 0..wo {
                        xi[(c * g.h + oh * s) * g.w + ow * s] += yi[(c * ho + oh) * wo + ow];
                    }
                }
            }
        });
}

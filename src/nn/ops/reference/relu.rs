//! A standalone ReLU, for nets where no batch norm or residual addition precedes it to fuse with.
use rayon::prelude::*;

const GRAIN: usize = 1 << 14;

pub fn forward(x: &mut [f32]) {
    x.par_chunks_mut(GRAIN).for_each(|c| {
        for v in c {
            if *v < 0.0 {
                *v = 0.0; // NaN passes through, so divergence reaches the loss
            }
        }
    });
}

/// `dy` becomes dL/dx, given the forward output `y`.
pub fn backward(y: &[f32], dy: &mut [f32]) {
    dy.par_chunks_mut(GRAIN)
        .zip(y.par_chunks(GRAIN))
        .for_each(|(d, o)| {
            for (d, &o) in d.iter_mut().zip(o) {
                if o <= 0.0 {
                    *d = 0.0;
                }
            }
        });
}

/// The residual join: `out = scale * branch + shortcut`, then ReLU when `relu`; in place in `branch`.
pub fn add_forward(branch: &mut [f32], shortcut: &[f32], scale: f32, relu: bool) {
    branch
        .par_chunks_mut(GRAIN)
        .zip(shortcut.par_chunks(GRAIN))
        .for_each(|(b, s)| {
            for (b, &s) in b.iter_mut().zip(s) {
                let o = scale * *b + s;
                *b = if relu && o < 0.0 { 0.0 } else { o };
            }
        });
}

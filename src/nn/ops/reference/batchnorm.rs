//! Batch normalisation over (N, H, W) per channel, optionally fused with the ReLU that follows.
//!
//! Fusing matters: these element-wise passes over large activations cost as much as the
//! convolutions on small images. The fused ReLU needs no mask of its own: its backward pass
//! recomputes the sign of `gamma * x_hat + beta` from the saved `x_hat`.
use super::chunk_len;
use rayon::prelude::*;

const LANES: usize = 16;

/// Sums with independent lane accumulators over fixed-size chunks: a single running f32 sum is a
/// serial dependency chain, and indexing through a closure kept the loops scalar and branchy
/// (the ReLU mask is a coin flip per element). Fixed-size chunks vectorise into masked selects.
#[inline(always)]
pub(crate) fn lane_sums(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f32, f32) {
    let (mut s1, mut s2) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        let x: &[f32; LANES] = x.try_into().expect("exact chunk");
        let y: &[f32; LANES] = y.try_into().expect("exact chunk");
        for l in 0..LANES {
            let (p, q) = f(x[l], y[l]);
            s1[l] += p;
            s2[l] += q;
        }
    }
    let (mut t1, mut t2): (f32, f32) = (s1.iter().sum(), s2.iter().sum());
    for (&x, &y) in ar.iter().zip(br) {
        let (p, q) = f(x, y);
        t1 += p;
        t2 += q;
    }
    (t1, t2)
}

/// Per-channel statistics of one train-mode forward pass.
#[derive(Clone, Debug, Default)]
pub struct BnBatch {
    pub mean: Vec<f32>,
    /// Biased variance (divided by N*H*W), the one used to normalise.
    pub var: Vec<f32>,
    pub inv_std: Vec<f32>,
    /// Mean and standard deviation of the layer's output, for the activation probe.
    pub out_mean: f32,
    pub out_std: f32,
}

fn per_channel_sums(
    n: usize,
    c: usize,
    hw: usize,
    f: impl Fn(usize, usize, usize) -> (f64, f64) + Sync,
) -> (Vec<f64>, Vec<f64>) {
    // f(image, channel, offset of the plane) -> two sums; partials per chunk, added in order.
    let cl = chunk_len(n);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = (0..n.div_ceil(cl))
        .into_par_iter()
        .map(|ci| {
            let mut a = vec![0.0; c];
            let mut b = vec![0.0; c];
            for i in ci * cl..((ci + 1) * cl).min(n) {
                for ch in 0..c {
                    let (sa, sb) = f(i, ch, (i * c + ch) * hw);
                    a[ch] += sa;
                    b[ch] += sb;
                }
            }
            (a, b)
        })
        .collect();
    let mut a = vec![0.0; c];
    let mut b = vec![0.0; c];
    for (pa, pb) in parts {
        for ch in 0..c {
            a[ch] += pa[ch];
            b[ch] += pb[ch];
        }
    }
    (a, b)
}

#[allow(clippy::too_many_arguments)]
/// Train mode: normalise with the batch's own statistics. `x` is replaced by `x_hat`, which the
/// backward pass needs; `y` receives `gamma * x_hat + beta` (then ReLU when `relu`). The output's
/// mean and std are measured only when `moments` is set (the activation probe).
pub fn forward_train(
    n: usize,
    c: usize,
    hw: usize,
    x: &mut [f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    relu: bool,
    y: &mut [f32],
    moments: bool,
) -> BnBatch {
    let m = (n * hw) as f64;
    let (sum, _) = per_channel_sums(n, c, hw, |_, _, o| {
        let p = &x[o..o + hw];
        (lane_sums(p, p, |v, _| (v, 0.0)).0 as f64, 0.0)
    });
    let mean: Vec<f32> = sum.iter().map(|s| (s / m) as f32).collect();
    let (sq, _) = per_channel_sums(n, c, hw, |_, ch, o| {
        let (mu, p) = (mean[ch], &x[o..o + hw]);
        (
            lane_sums(p, p, |v, _| ((v - mu) * (v - mu), 0.0)).0 as f64,
            0.0,
        )
    });
    let var: Vec<f32> = sq.iter().map(|s| (s / m) as f32).collect();
    let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let plane = c * hw;
    let cl = chunk_len(n);
    let moments: Vec<(f64, f64)> = x[..n * plane]
        .par_chunks_mut(cl * plane)
        .zip(y[..n * plane].par_chunks_mut(cl * plane))
        .map(|(xc, yc)| {
            let (mut s, mut s2) = (0.0f64, 0.0f64);
            for (j, (xs, ys)) in xc.chunks_mut(hw).zip(yc.chunks_mut(hw)).enumerate() {
                let ch = j % c;
                let (mu, is, g, b) = (mean[ch], inv_std[ch], gamma[ch], beta[ch]);
                for (xv, yv) in xs.iter_mut().zip(ys.iter_mut()) {
                    let h = (*xv - mu) * is;
                    *xv = h;
                    let o = g * h + b;
                    // `o < 0` rather than `max`: a NaN must survive to the loss, where divergence is detected.
                    *yv = if relu && o < 0.0 { 0.0 } else { o };
                }
                if moments {
                    let (a, b) = lane_sums(ys, ys, |v, _| (v, v * v));
                    s += a as f64;
                    s2 += b as f64;
                }
            }
            (s, s2)
        })
        .collect();
    let (s, s2) = moments
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let total = (n * plane) as f64;
    let out_mean = s / total;
    BnBatch {
        mean,
        var,
        inv_std,
        out_mean: out_mean as f32,
        out_std: (s2 / total - out_mean * out_mean).max(0.0).sqrt() as f32,
    }
}

#[allow(clippy::too_many_arguments)]
/// Eval mode: normalise with the running statistics gathered during training.
pub fn forward_eval(
    n: usize,
    c: usize,
    hw: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
    relu: bool,
    y: &mut [f32],
) {
    let scale: Vec<f32> = (0..c)
        .map(|ch| gamma[ch] / (running_var[ch] + eps).sqrt())
        .collect();
    let shift: Vec<f32> = (0..c)
        .map(|ch| beta[ch] - running_mean[ch] * scale[ch])
        .collect();
    let plane = c * hw;
    y[..n * plane]
        .par_chunks_mut(plane)
        .zip(x[..n * plane].par_chunks(plane))
        .for_each(|(yi, xi)| {
            for ch in 0..c {
                let (a, b) = (scale[ch], shift[ch]);
                for (yv, xv) in yi[ch * hw..(ch + 1) * hw]
                    .iter_mut()
                    .zip(&xi[ch * hw..(ch + 1) * hw])
                {
                    let o = a * xv + b;
                    *yv = if relu && o < 0.0 { 0.0 } else { o };
                }
            }
        });
}

#[allow(clippy::too_many_arguments)]
/// Backward of [`forward_train`]: `dy` holds dL/dy on entry and dL/dx on return; dL/dgamma and
/// dL/dbeta are added into `dgamma` and `dbeta`.
pub fn backward(
    n: usize,
    c: usize,
    hw: usize,
    x_hat: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
    dy: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let (sdy, sdyx) = per_channel_sums(n, c, hw, |_, ch, o| {
        let (g, b) = (gamma[ch], beta[ch]);
        let (a, c) = lane_sums(&dy[o..o + hw], &x_hat[o..o + hw], |d, h| {
            let v = if !relu || g * h + b > 0.0 { d } else { 0.0 };
            (v, v * h)
        });
        (a as f64, c as f64)
    });
    let m = (n * hw) as f32;
    let k1: Vec<f32> = (0..c).map(|ch| gamma[ch] * inv_std[ch] / m).collect();
    let mdy: Vec<f32> = sdy.iter().map(|&v| v as f32).collect();
    let mdyx: Vec<f32> = sdyx.iter().map(|&v| v as f32).collect();
    let plane = c * hw;
    dy[..n * plane]
        .par_chunks_mut(plane)
        .zip(x_hat[..n * plane].par_chunks(plane))
        .for_each(|(di, hi)| {
            for ch in 0..c {
                let (k, a, b) = (k1[ch], mdy[ch], mdyx[ch]);
                let (ga, be) = (gamma[ch], beta[ch]);
                for (d, &h) in di[ch * hw..(ch + 1) * hw]
                    .iter_mut()
                    .zip(&hi[ch * hw..(ch + 1) * hw])
                {
                    let g = if !relu || ga * h + be > 0.0 { *d } else { 0.0 };
                    *d = k * (m * g - a - h * b);
                }
            }
        });
    for ch in 0..c {
        dgamma[ch] += mdyx[ch];
        dbeta[ch] += mdy[ch];
    }
}

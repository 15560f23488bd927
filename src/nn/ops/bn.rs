//! Batch normalisation over (N, H, W) per channel on NHWC tensors, optionally fused with the
//! ReLU that follows.
//!
//! The forward pass writes nothing: the statistics come from the convolution that produced the
//! tensor (or from [`stats`]), and the normalisation is handed on as a [`PreOp`]
//! (`y = a * x + b`, then ReLU) that the next kernel applies while reading. The backward pass
//! recomputes `x_hat` and the ReLU mask from the same raw tensor, with the same `a * x + b`
//! formula, so the mask agrees with the forward pass bit for bit.
use super::chunk_len;
use super::simd::{Isa, Kernel, Simd, dispatch};
use super::tensor::{Chains, ChanStats, Pre, PreOp, StatAcc, Tensor};
use rayon::prelude::*;

/// Pixels per f32 partial sum before folding into f64.
const BLOCK: usize = 256;

/// Per-channel statistics of `pre(x)` over the batch (when no convolution gathered them).
pub fn stats(isa: Isa, x: &Tensor, pre: Option<&PreOp>) -> ChanStats {
    let il = x.image_len();
    let cl = chunk_len(x.n);
    let mut all = ChanStats::empty(x.c);
    if x.n == 0 {
        return all;
    }
    let parts: Vec<ChanStats> = x.data[..x.n * il]
        .par_chunks(cl * il)
        .map(|xc| {
            dispatch(
                isa,
                StatsK {
                    x: xc,
                    cs: x.cs,
                    c: x.c,
                    pre,
                },
            )
        })
        .collect();
    for p in &parts {
        all.merge(p);
    }
    all
}

struct StatsK<'a> {
    x: &'a [f32],
    cs: usize,
    c: usize,
    pre: Option<&'a PreOp>,
}

impl Kernel for StatsK<'_> {
    type Output = ChanStats;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> ChanStats {
        let cs = self.cs;
        let px = self.x.len() / cs;
        let mut acc = StatAcc::new(cs);
        let pre = Pre::new(self.pre);
        let mut first = self.x[..cs].to_vec();
        if let Some(op) = self.pre {
            for (ch, v) in first.iter_mut().enumerate() {
                *v = op.apply(ch, *v);
            }
        }
        acc.first_pixel(&first);
        let mut p0 = 0;
        while p0 < px {
            let np = BLOCK.min(px - p0);
            let mut off = 0;
            while off < cs {
                let nl = S::LANES.min(cs - off);
                let pv = pre.at(s, off, nl);
                // SAFETY: pixels p0..p0+np exist; `off + nl <= cs`.
                unsafe {
                    let shift = s.load_part(acc.shift().as_ptr().add(off), nl);
                    let mut sums = Chains::new(s);
                    for p in p0..p0 + np {
                        let v = pv.apply(s, s.load_part(self.x.as_ptr().add(p * cs + off), nl));
                        sums.push(s, p, s.sub(v, shift));
                    }
                    acc.add_chains(s, off, nl, &sums);
                }
                off += nl;
            }
            acc.add_count(np);
            acc.flush();
            p0 += np;
        }
        acc.finish(self.c)
    }
}

/// What the backward pass needs from a train-mode forward pass.
#[derive(Clone, Debug)]
pub struct BnSaved {
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
    /// The map handed to the next op: `a = gamma * inv_std`, `b = beta - mean * a`.
    pub op: PreOp,
}

/// Train mode: normalises with the batch statistics `st` (biased variance).
pub fn train_op(
    st: &ChanStats,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    relu: bool,
    cs: usize,
) -> BnSaved {
    let c = gamma.len();
    let var = st.var();
    let mean: Vec<f32> = st.mean.iter().map(|&m| m as f32).collect();
    let inv_std: Vec<f32> = var.iter().map(|&v| 1.0 / (v as f32 + eps).sqrt()).collect();
    let a: Vec<f32> = (0..c).map(|ch| gamma[ch] * inv_std[ch]).collect();
    let b: Vec<f32> = (0..c).map(|ch| beta[ch] - mean[ch] * a[ch]).collect();
    BnSaved {
        op: PreOp::new(&a, &b, cs, relu),
        mean,
        inv_std,
    }
}

/// Eval mode: the running statistics folded into one affine map.
pub fn eval_op(
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
    relu: bool,
    cs: usize,
) -> PreOp {
    let c = gamma.len();
    let a: Vec<f32> = (0..c)
        .map(|ch| gamma[ch] / (running_var[ch] + eps).sqrt())
        .collect();
    let b: Vec<f32> = (0..c)
        .map(|ch| beta[ch] - running_mean[ch] * a[ch])
        .collect();
    PreOp::new(&a, &b, cs, relu)
}

/// Backward of the train-mode batch norm (and its ReLU): `dy` holds dL/dy on entry and dL/dx
/// on return; dL/dgamma and dL/dbeta are added into `dgamma` and `dbeta`. `x` is the raw input.
pub fn backward(
    isa: Isa,
    x: &Tensor,
    saved: &BnSaved,
    gamma: &[f32],
    dy: &mut Tensor,
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    assert!(x.same_shape(dy), "batch norm: gradient shape");
    let (c, cs) = (x.c, x.cs);
    let il = x.image_len();
    let cl = chunk_len(x.n);
    if x.n == 0 {
        return;
    }
    let mut mean = vec![0.0; cs];
    mean[..c].copy_from_slice(&saved.mean);
    let mut inv_std = vec![0.0; cs];
    inv_std[..c].copy_from_slice(&saved.inv_std);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = dy.data[..x.n * il]
        .par_chunks(cl * il)
        .zip(x.data[..x.n * il].par_chunks(cl * il))
        .map(|(dc, xc)| {
            dispatch(
                isa,
                SumsK {
                    dy: dc,
                    x: xc,
                    cs,
                    op: &saved.op,
                    mean: &mean,
                    inv_std: &inv_std,
                },
            )
        })
        .collect();
    let (mut sdy, mut sdyx) = (vec![0.0f64; cs], vec![0.0f64; cs]);
    for (a, b) in &parts {
        for ch in 0..cs {
            sdy[ch] += a[ch];
            sdyx[ch] += b[ch];
        }
    }
    let m = x.pixels() as f32;
    let mut k1 = vec![0.0; cs];
    let mut s1 = vec![0.0; cs];
    let mut s2 = vec![0.0; cs];
    for ch in 0..c {
        k1[ch] = gamma[ch] * inv_std[ch] / m;
        s1[ch] = sdy[ch] as f32;
        s2[ch] = sdyx[ch] as f32;
    }
    dy.data[..x.n * il]
        .par_chunks_mut(cl * il)
        .zip(x.data[..x.n * il].par_chunks(cl * il))
        .for_each(|(dc, xc)| {
            dispatch(
                isa,
                ApplyK {
                    dy: dc,
                    x: xc,
                    cs,
                    op: &saved.op,
                    mean: &mean,
                    inv_std: &inv_std,
                    k1: &k1,
                    s1: &s1,
                    s2: &s2,
                    m,
                },
            )
        });
    for ch in 0..c {
        dgamma[ch] += s2[ch];
        dbeta[ch] += s1[ch];
    }
}

/// Per-channel `Σ g` and `Σ g * x_hat`, with `g` the incoming gradient masked by the ReLU.
struct SumsK<'a> {
    dy: &'a [f32],
    x: &'a [f32],
    cs: usize,
    op: &'a PreOp,
    mean: &'a [f32],
    inv_std: &'a [f32],
}

impl Kernel for SumsK<'_> {
    type Output = (Vec<f64>, Vec<f64>);
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> (Vec<f64>, Vec<f64>) {
        let cs = self.cs;
        let px = self.x.len() / cs;
        let (mut t1, mut t2) = (vec![0.0f64; cs], vec![0.0f64; cs]);
        let pre = Pre::new(Some(self.op));
        let relu = self.op.relu;
        let mut p0 = 0;
        while p0 < px {
            let np = BLOCK.min(px - p0);
            let mut off = 0;
            while off < cs {
                let nl = S::LANES.min(cs - off);
                let pv = pre.at(s, off, nl);
                // SAFETY: pixels p0..p0+np exist in both slices; `off + nl <= cs`.
                unsafe {
                    let mu = s.load_part(self.mean.as_ptr().add(off), nl);
                    let is = s.load_part(self.inv_std.as_ptr().add(off), nl);
                    // Two pairs of sums (even and odd pixels), so consecutive pixels' adds and
                    // FMAs do not wait on each other's latency.
                    let (mut a, mut b) = ([s.zero(); 2], [s.zero(); 2]);
                    for p in p0..p0 + np {
                        let o = p * cs + off;
                        let xv = s.load_part(self.x.as_ptr().add(o), nl);
                        let mut g = s.load_part(self.dy.as_ptr().add(o), nl);
                        if relu {
                            g = s.keep_if_pos(pv.affine(s, xv), g);
                        }
                        let xh = s.mul(s.sub(xv, mu), is);
                        let k = p & 1;
                        a[k] = s.add(a[k], g);
                        b[k] = s.fma(g, xh, b[k]);
                    }
                    let (a, b) = (s.add(a[0], a[1]), s.add(b[0], b[1]));
                    let (aa, ba) = (s.to_array(a), s.to_array(b));
                    for l in 0..nl {
                        t1[off + l] += aa[l] as f64;
                        t2[off + l] += ba[l] as f64;
                    }
                }
                off += nl;
            }
            p0 += np;
        }
        (t1, t2)
    }
}

/// `dx = k1 * (m * g - Σg - x_hat * Σ(g x_hat))`, in place over `dy`.
struct ApplyK<'a> {
    dy: &'a mut [f32],
    x: &'a [f32],
    cs: usize,
    op: &'a PreOp,
    mean: &'a [f32],
    inv_std: &'a [f32],
    k1: &'a [f32],
    s1: &'a [f32],
    s2: &'a [f32],
    m: f32,
}

impl Kernel for ApplyK<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let cs = self.cs;
        let px = self.x.len() / cs;
        let pre = Pre::new(Some(self.op));
        let relu = self.op.relu;
        let mv = s.splat(self.m);
        let mut p0 = 0;
        while p0 < px {
            let np = BLOCK.min(px - p0);
            let mut off = 0;
            while off < cs {
                let nl = S::LANES.min(cs - off);
                let pv = pre.at(s, off, nl);
                // SAFETY: pixels p0..p0+np exist in both slices; `off + nl <= cs`.
                unsafe {
                    let ld = |v: &[f32]| s.load_part(v.as_ptr().add(off), nl);
                    let (mu, is, k1, s1, s2) = (
                        ld(self.mean),
                        ld(self.inv_std),
                        ld(self.k1),
                        ld(self.s1),
                        ld(self.s2),
                    );
                    for p in p0..p0 + np {
                        let o = p * cs + off;
                        let xv = s.load_part(self.x.as_ptr().add(o), nl);
                        let q = self.dy.as_mut_ptr().add(o);
                        let mut g = s.load_part(q, nl);
                        if relu {
                            g = s.keep_if_pos(pv.affine(s, xv), g);
                        }
                        let xh = s.mul(s.sub(xv, mu), is);
                        // k1 * (m g - s1 - xh s2)
                        let t = s.sub(s.sub(s.mul(mv, g), s1), s.mul(xh, s2));
                        s.store_part(q, s.mul(k1, t), nl);
                    }
                }
                off += nl;
            }
            p0 += np;
        }
    }
}

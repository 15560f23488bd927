//! Element-wise passes on NHWC tensors, vectorised over channels: the residual join (with the
//! paper's option-A shortcut read in place), ReLU masks, gradient sums, global average pooling
//! and the activation probe's moments.
use super::chunk_len;
use super::simd::{Isa, Kernel, Simd, dispatch};
use super::tensor::{ChanStats, Pre, PreOp, Tensor};
use rayon::prelude::*;

/// What a residual block adds to its branch.
#[derive(Clone, Copy)]
pub enum Shortcut<'a> {
    None,
    /// The block's input, same shape as the branch.
    Same(&'a Tensor, Option<&'a PreOp>),
    /// Option A: every `stride`-th pixel of the input, its channels followed by zeros.
    PadA(&'a Tensor, Option<&'a PreOp>, usize),
}

/// `out = scale * bpre(branch) + shortcut`, then ReLU when `relu`.
pub fn join(
    isa: Isa,
    branch: &Tensor,
    bpre: Option<&PreOp>,
    scale: f32,
    sc: Shortcut,
    relu: bool,
) -> Tensor {
    let mut out = Tensor::uninit(branch.n, branch.h, branch.w, branch.c, branch.cs);
    if branch.n == 0 {
        return out;
    }
    let (il, cl) = (branch.image_len(), chunk_len(branch.n));
    let (sx, spre, stride) = match sc {
        Shortcut::None => (None, None, 1),
        Shortcut::Same(x, p) => {
            assert!(x.same_shape(branch), "residual join: shortcut shape");
            (Some(x), p, 1)
        }
        Shortcut::PadA(x, p, s) => {
            assert!(
                x.n == branch.n
                    && (x.h - 1) / s + 1 == branch.h
                    && (x.w - 1) / s + 1 == branch.w
                    && x.cs <= branch.cs,
                "residual join: option-A shortcut shape"
            );
            (Some(x), p, s)
        }
    };
    let sl = sx.map_or(0, |x| x.image_len());
    out.data
        .par_chunks_mut(cl * il)
        .zip(branch.data.par_chunks(cl * il))
        .enumerate()
        .for_each(|(ci, (oc, bc))| {
            let shortcut = sx.map(|x| {
                let start = ci * cl * sl;
                let end = ((ci + 1) * cl * sl).min(x.data.len());
                (&x.data[start..end], x.h, x.w, x.cs)
            });
            dispatch(
                isa,
                JoinK {
                    out: oc,
                    branch: bc,
                    bpre,
                    scale,
                    shortcut,
                    spre,
                    stride,
                    h: branch.h,
                    w: branch.w,
                    cs: branch.cs,
                    relu,
                },
            )
        });
    out
}

struct JoinK<'a> {
    out: &'a mut [f32],
    branch: &'a [f32],
    bpre: Option<&'a PreOp>,
    scale: f32,
    /// (data, h, w, cs) of the shortcut's images for this chunk.
    shortcut: Option<(&'a [f32], usize, usize, usize)>,
    spre: Option<&'a PreOp>,
    stride: usize,
    h: usize,
    w: usize,
    cs: usize,
    relu: bool,
}

impl Kernel for JoinK<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (h, w, cs) = (self.h, self.w, self.cs);
        let px = self.out.len() / cs;
        let (bpre, spre) = (Pre::new(self.bpre), Pre::new(self.spre));
        let scale = s.splat(self.scale);
        let mut off = 0;
        while off < cs {
            let nl = S::LANES.min(cs - off);
            let bp = bpre.at(s, off, nl);
            // Lanes of the shortcut that exist (option A adds zero channels past its own).
            let snl = match self.shortcut {
                Some((_, _, _, scs)) if off < scs => nl.min(scs - off),
                _ => 0,
            };
            let sp = if snl > 0 {
                spre.at(s, off, snl)
            } else {
                Pre::new(None).at(s, 0, 0)
            };
            for p in 0..px {
                let o = p * cs + off;
                // SAFETY: `o + nl` stays in pixel p of the chunk; the shortcut pixel read is
                // (img, y * stride, x * stride) of the same chunk, `off + snl <= scs`.
                unsafe {
                    let b = bp.apply(s, s.load_part(self.branch.as_ptr().add(o), nl));
                    let mut v = s.mul(scale, b);
                    if let Some((sd, sh, sw, scs)) = self.shortcut
                        && snl > 0
                    {
                        let (img, r) = (p / (h * w), p % (h * w));
                        let (y, x) = (r / w * self.stride, r % w * self.stride);
                        let q = ((img * sh + y) * sw + x) * scs + off;
                        v = s.add(v, sp.apply(s, s.load_part(sd.as_ptr().add(q), snl)));
                    }
                    if self.relu {
                        v = s.relu(v);
                    }
                    s.store_part(self.out.as_mut_ptr().add(o), v, nl);
                }
            }
            off += nl;
        }
    }
}

/// `d = out > 0 ? d : 0`: the backward of a ReLU whose output was `out`.
pub fn relu_mask(isa: Isa, out: &Tensor, d: &mut Tensor) {
    assert!(out.same_shape(d), "relu mask: shape");
    binary(isa, &mut d.data, &out.data, Op::Mask);
}

/// `dst += src`.
pub fn add_assign(isa: Isa, dst: &mut Tensor, src: &Tensor) {
    assert!(dst.same_shape(src), "gradient sum: shape");
    binary(isa, &mut dst.data, &src.data, Op::Add);
}

/// `d * k` as a new tensor.
pub fn scaled(isa: Isa, d: &Tensor, k: f32) -> Tensor {
    let mut o = d.clone();
    if k != 1.0 {
        binary(isa, &mut o.data, &d.data, Op::Scale(k));
    }
    o
}

#[derive(Clone, Copy)]
enum Op {
    Mask,
    Add,
    Scale(f32),
}

const GRAIN: usize = 1 << 14;

fn binary(isa: Isa, dst: &mut [f32], src: &[f32], op: Op) {
    dst.par_chunks_mut(GRAIN)
        .zip(src.par_chunks(GRAIN))
        .for_each(|(d, x)| dispatch(isa, BinK { d, x, op }));
}

struct BinK<'a> {
    d: &'a mut [f32],
    x: &'a [f32],
    op: Op,
}

impl Kernel for BinK<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let len = self.d.len().min(self.x.len());
        let mut o = 0;
        while o < len {
            let nl = S::LANES.min(len - o);
            // SAFETY: `o + nl <= len` for both slices.
            unsafe {
                let q = self.d.as_mut_ptr().add(o);
                let d = s.load_part(q, nl);
                let x = s.load_part(self.x.as_ptr().add(o), nl);
                let v = match self.op {
                    Op::Mask => s.keep_if_pos(x, d),
                    Op::Add => s.add(d, x),
                    Op::Scale(k) => s.mul(s.splat(k), x),
                };
                s.store_part(q, v, nl);
            }
            o += nl;
        }
    }
}

/// Option A's backward: adds `dy` (the block output's gradient) onto the strided pixels and
/// first channels of `dx` (the block input's gradient).
pub fn pad_a_backward_add(isa: Isa, dy: &Tensor, dx: &mut Tensor, stride: usize) {
    assert!(
        dy.n == dx.n && (dx.h - 1) / stride + 1 == dy.h && (dx.w - 1) / stride + 1 == dy.w,
        "option-A backward: shapes"
    );
    if dy.n == 0 {
        return;
    }
    let cl = chunk_len(dy.n);
    let (ol, il) = (dy.image_len(), dx.image_len());
    let (h, w, cs, ih, iw, ics) = (dy.h, dy.w, dy.cs, dx.h, dx.w, dx.cs);
    dx.data
        .par_chunks_mut(cl * il)
        .zip(dy.data.par_chunks(cl * ol))
        .for_each(|(xc, yc)| {
            dispatch(
                isa,
                PadBackK {
                    dx: xc,
                    dy: yc,
                    h,
                    w,
                    cs,
                    ih,
                    iw,
                    ics,
                    stride,
                },
            )
        });
}

struct PadBackK<'a> {
    dx: &'a mut [f32],
    dy: &'a [f32],
    h: usize,
    w: usize,
    cs: usize,
    ih: usize,
    iw: usize,
    ics: usize,
    stride: usize,
}

impl Kernel for PadBackK<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let px = self.dy.len() / self.cs;
        let plane = self.h * self.w;
        for p in 0..px {
            let (img, r) = (p / plane, p % plane);
            let (y, x) = (r / self.w * self.stride, r % self.w * self.stride);
            let dst = ((img * self.ih + y) * self.iw + x) * self.ics;
            let mut off = 0;
            while off < self.ics {
                let nl = S::LANES.min(self.ics - off);
                // SAFETY: pixel (img, y, x) of dx exists, `off + nl <= ics <= cs`.
                unsafe {
                    let q = self.dx.as_mut_ptr().add(dst + off);
                    let v = s.add(
                        s.load_part(q, nl),
                        s.load_part(self.dy.as_ptr().add(p * self.cs + off), nl),
                    );
                    s.store_part(q, v, nl);
                }
                off += nl;
            }
        }
    }
}

/// Global average pooling of `pre(x)`: `[n][c]`.
pub fn pool_forward(isa: Isa, x: &Tensor, pre: Option<&PreOp>) -> Vec<f32> {
    let mut y = vec![0.0; x.n * x.c];
    if x.n == 0 {
        return y;
    }
    let il = x.image_len();
    y.par_chunks_mut(x.c)
        .zip(x.data.par_chunks(il))
        .for_each(|(yi, xi)| {
            let sums = dispatch(
                isa,
                PoolK {
                    x: xi,
                    cs: x.cs,
                    pre,
                },
            );
            let hw = (x.h * x.w) as f32;
            for (o, v) in yi.iter_mut().zip(&sums) {
                *o = v / hw;
            }
        });
    y
}

struct PoolK<'a> {
    x: &'a [f32],
    cs: usize,
    pre: Option<&'a PreOp>,
}

impl Kernel for PoolK<'_> {
    type Output = Vec<f32>;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Vec<f32> {
        let cs = self.cs;
        let px = self.x.len() / cs;
        let pre = Pre::new(self.pre);
        let mut out = vec![0.0; cs];
        let mut off = 0;
        while off < cs {
            let nl = S::LANES.min(cs - off);
            let pv = pre.at(s, off, nl);
            // SAFETY: `p * cs + off + nl <= len`; `out` holds cs values.
            unsafe {
                let mut acc = s.zero();
                for p in 0..px {
                    acc = s.add(
                        acc,
                        pv.apply(s, s.load_part(self.x.as_ptr().add(p * cs + off), nl)),
                    );
                }
                s.store_part(out.as_mut_ptr().add(off), acc, nl);
            }
            off += nl;
        }
        out
    }
}

/// Backward of [`pool_forward`]: every pixel of channel `c` gets `dy[i][c] / (h * w)`.
pub fn pool_backward(dy: &[f32], n: usize, h: usize, w: usize, c: usize) -> Tensor {
    let mut dx = Tensor::uninit(n, h, w, c, super::tensor::pad_channels(c));
    let (hw, cs) = (h * w, dx.cs);
    dx.data
        .par_chunks_mut(hw * cs)
        .zip(dy.par_chunks(c))
        .for_each(|(xi, di)| {
            let mut px = vec![0.0; cs];
            for (p, &d) in px.iter_mut().zip(di) {
                *p = d / hw as f32;
            }
            for row in xi.chunks_mut(cs) {
                row.copy_from_slice(&px);
            }
        });
    dx
}

/// Mean and standard deviation of every real value of `pre(x)` (the activation probe).
pub fn moments(isa: Isa, x: &Tensor, pre: Option<&PreOp>) -> (f32, f32) {
    let st = super::bn::stats(isa, x, pre);
    let mut all = ChanStats::empty(1);
    for ch in 0..x.c {
        all.merge(&ChanStats {
            count: st.count,
            mean: vec![st.mean[ch]],
            m2: vec![st.m2[ch]],
        });
    }
    let sd = (all.m2[0] / all.count.max(1.0)).max(0.0).sqrt();
    (all.mean[0] as f32, sd as f32)
}

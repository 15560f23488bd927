//! 2-D convolution (no bias: every conv in these nets is followed by batch norm) on NHWC tensors.
//!
//! Three algorithms, chosen per shape ([`Algo::choose`]):
//! - [`Algo::Winograd4`], Winograd F(4x4, 3x3), for 3x3 stride-1 pad-1 convolutions with at
//!   least 8 input channels, the bulk of every ResNet here ([`super::winograd`]).
//! - [`Algo::Winograd`], F(2x2, 3x3), for the same convolutions on images so small that
//!   F(4x4)'s 4x4 tiles would waste more than they save (2x2, 5x5, 6x6); it rounds less.
//! - [`Algo::Im2col`] for everything else (the stem with 1-3 input channels, stride-2 and 1x1
//!   convolutions, any kernel size a learner builds): for a block of output pixels, the patches
//!   are gathered into an L2-sized buffer (one contiguous copy per tap, as NHWC keeps a pixel's
//!   channels together) and multiplied by the packed weights with [`super::gemm`], writing
//!   NHWC output rows directly. Backward-weights reads the same patches transposed;
//!   backward-data multiplies by the transposed weights and scatters the patches back.
//!
//! The batch is split into one contiguous chunk per thread; weight gradients and batch-norm
//! statistics are reduced over chunks in order, so a thread count gives the same bits.
pub use super::reference::conv::ConvGeom;

use super::chunk_len;
use super::gemm::Gemm;
use super::simd::{Isa, Kernel, Simd, dispatch};
use super::tensor::{Buf, Chains, ChanStats, Pre, PreOp, StatAcc, Tensor, pad_channels};
use super::winograd::{self, F2, F4, Tile, WinoGeom};
use rayon::prelude::*;
use std::marker::PhantomData;

/// How a convolution is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algo {
    /// Winograd F(2x2, 3x3).
    Winograd,
    /// Winograd F(4x4, 3x3).
    Winograd4,
    Im2col,
}

impl Algo {
    /// The faster algorithm for this shape and input channel stride.
    pub fn choose(g: &ConvGeom) -> Algo {
        if !(Self::winograd_fits(g) && g.cin >= 8) {
            return Algo::Im2col;
        }
        // Products per channel pair and image: F(4x4) unless its 4x4 tiles waste so much of a
        // small image that F(2x2) multiplies less (2x2, 5x5, 6x6 images; ties go to the
        // smaller rounding error).
        let f2 = g.h.div_ceil(2) * g.w.div_ceil(2) * 16;
        let f4 = g.h.div_ceil(4) * g.w.div_ceil(4) * 36;
        if f4 < f2 {
            Algo::Winograd4
        } else {
            Algo::Winograd
        }
    }

    /// Whether Winograd (either tile size) computes this shape.
    pub fn winograd_fits(g: &ConvGeom) -> bool {
        g.k == 3 && g.stride == 1 && g.pad == 1
    }
}

fn wino(g: &ConvGeom, csi: usize) -> WinoGeom {
    WinoGeom {
        h: g.h,
        w: g.w,
        cin: g.cin,
        csi,
        cout: g.cout,
        cso: pad_channels(g.cout),
    }
}

fn check_input(g: &ConvGeom, x: &Tensor) {
    assert_eq!(
        (x.h, x.w, x.c),
        (g.h, g.w, g.cin),
        "conv: input tensor does not match the geometry"
    );
    assert_eq!(x.data.len(), x.n * x.image_len(), "conv: input data size");
}

/// `conv(pre(x), w)` with the algorithm [`Algo::choose`] picks; the output's per-channel
/// statistics come with it when `stats` is set (for the batch norm that follows).
pub fn forward(
    isa: Isa,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    stats: bool,
) -> (Tensor, Option<ChanStats>) {
    forward_algo(isa, Algo::choose(g), g, x, pre, w, stats)
}

/// [`forward`] with a given algorithm (tests run both on the shapes both can do).
pub fn forward_algo(
    isa: Isa,
    algo: Algo,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    stats: bool,
) -> (Tensor, Option<ChanStats>) {
    check_input(g, x);
    assert_eq!(w.len(), g.weight_len(), "conv: weight size");
    let n = x.n;
    // Both algorithms write every element, padding lanes included.
    let mut y = Tensor::uninit(n, g.ho(), g.wo(), g.cout, pad_channels(g.cout));
    let (il, ol, cl) = (x.image_len(), y.image_len(), chunk_len(n));
    if n == 0 {
        return (y, stats.then(|| ChanStats::empty(g.cout)));
    }
    let parts: Vec<Option<ChanStats>> = match algo {
        Algo::Winograd => wino_forward::<F2>(isa, g, x, pre, w, stats, &mut y),
        Algo::Winograd4 => wino_forward::<F4>(isa, g, x, pre, w, stats, &mut y),
        Algo::Im2col => {
            let wp = pack(g, x.cs, w);
            y.data
                .par_chunks_mut(cl * ol)
                .zip(x.data.par_chunks(cl * il))
                .map(|(yc, xc)| {
                    dispatch(
                        isa,
                        ColFwdK {
                            g: *g,
                            csi: x.cs,
                            x: xc,
                            pre,
                            wp: &wp,
                            y: yc,
                            stats,
                        },
                    )
                })
                .collect()
        }
    };
    let st = stats.then(|| {
        let mut all = ChanStats::empty(g.cout);
        for p in parts.iter().flatten() {
            all.merge(p);
        }
        all
    });
    (y, st)
}

/// Gradients of [`forward`]: adds `dL/dw` into `dw` (PyTorch layout) and returns `dL/d pre(x)`
/// when `need_dx` (the gradient with respect to the convolution's actual input).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    isa: Isa,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    dy: &Tensor,
    need_dx: bool,
    dw: &mut [f32],
) -> Option<Tensor> {
    backward_algo(isa, Algo::choose(g), g, x, pre, w, dy, need_dx, dw)
}

/// [`backward`] with a given algorithm.
#[allow(clippy::too_many_arguments)]
pub fn backward_algo(
    isa: Isa,
    algo: Algo,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    dy: &Tensor,
    need_dx: bool,
    dw: &mut [f32],
) -> Option<Tensor> {
    check_input(g, x);
    assert_eq!(w.len(), g.weight_len(), "conv: weight size");
    assert_eq!(dw.len(), g.weight_len(), "conv: weight-gradient size");
    assert_eq!(
        (dy.n, dy.h, dy.w, dy.c, dy.cs),
        (x.n, g.ho(), g.wo(), g.cout, pad_channels(g.cout)),
        "conv: output gradient does not match the geometry"
    );
    let n = x.n;
    // Winograd writes every element of dL/dx; im2col scatters patches onto zeros.
    let mut dx = need_dx.then(|| match algo {
        Algo::Winograd | Algo::Winograd4 => Tensor::uninit(n, g.h, g.w, g.cin, x.cs),
        Algo::Im2col => Tensor::zeros_cs(n, g.h, g.w, g.cin, x.cs),
    });
    if n == 0 {
        return dx;
    }
    let (il, ol, cl) = (x.image_len(), dy.image_len(), chunk_len(n));
    let chunks = n.div_ceil(cl);
    let dx_chunks: Vec<Option<&mut [f32]>> = match dx.as_mut() {
        Some(d) => d.data.chunks_mut(cl * il).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    match algo {
        Algo::Winograd => wino_backward::<F2>(isa, g, x, pre, w, dy, dx_chunks, dw),
        Algo::Winograd4 => wino_backward::<F4>(isa, g, x, pre, w, dy, dx_chunks, dw),
        Algo::Im2col => {
            let wp = pack(g, x.cs, w);
            let wt = need_dx.then(|| transpose_packed(g, x.cs, &wp));
            let mut parts: Vec<Buf> = dx_chunks
                .into_par_iter()
                .zip(x.data.par_chunks(cl * il))
                .zip(dy.data.par_chunks(cl * ol))
                .map(|((dxc, xc), dyc)| {
                    dispatch(
                        isa,
                        ColBwdK {
                            g: *g,
                            csi: x.cs,
                            x: xc,
                            pre,
                            dy: dyc,
                            wt: wt.as_deref(),
                            dx: dxc,
                        },
                    )
                })
                .collect();
            let dwp = sum_in_order(&mut parts);
            unpack_add(g, x.cs, dwp, dw);
        }
    }
    dx
}

/// Adds the per-chunk partial sums into the first, in chunk order (same bits for a thread count).
fn sum_in_order(parts: &mut [Buf]) -> &[f32] {
    let (first, rest) = parts.split_first_mut().expect("at least one chunk");
    for p in rest.iter() {
        for (a, b) in first.iter_mut().zip(p.iter()) {
            *a += b;
        }
    }
    first
}

/// Multiply-adds times two for one image.
pub fn flops(g: &ConvGeom) -> u64 {
    super::reference::conv::flops(g)
}

// ---------------------------------------------------------------------------------------------
// Winograd entry points.

/// The transformed weights for the forward pass, or (`bwd`) for backward-data.
fn wino_weights<T: Tile>(isa: Isa, g: WinoGeom, w: &[f32], bwd: bool) -> Buf {
    dispatch(
        isa,
        WeightsK::<T> {
            g,
            w,
            bwd,
            tile: PhantomData,
        },
    )
}

/// The Winograd forward pass with tile variant `T`: one chunk of images per thread, each
/// chunk's output statistics returned.
#[allow(clippy::too_many_arguments)]
fn wino_forward<T: Tile>(
    isa: Isa,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    stats: bool,
    y: &mut Tensor,
) -> Vec<Option<ChanStats>> {
    assert!(Algo::winograd_fits(g), "winograd: not a 3x3/1/1 conv");
    let (il, ol, cl) = (x.image_len(), y.image_len(), chunk_len(x.n));
    let wg = wino(g, x.cs);
    let u = wino_weights::<T>(isa, wg, w, false);
    y.data
        .par_chunks_mut(cl * ol)
        .zip(x.data.par_chunks(cl * il))
        .map(|(yc, xc)| {
            dispatch(
                isa,
                WinoFwdK::<T> {
                    g: wg,
                    x: xc,
                    pre,
                    u: &u,
                    y: yc,
                    stats,
                    tile: PhantomData,
                },
            )
        })
        .collect()
}

/// The Winograd backward pass with tile variant `T`: `dL/dx` into the chunks of `dx_chunks`
/// (when present), `dL/dw` added into `dw`.
#[allow(clippy::too_many_arguments)]
fn wino_backward<T: Tile>(
    isa: Isa,
    g: &ConvGeom,
    x: &Tensor,
    pre: Option<&PreOp>,
    w: &[f32],
    dy: &Tensor,
    dx_chunks: Vec<Option<&mut [f32]>>,
    dw: &mut [f32],
) {
    assert!(Algo::winograd_fits(g), "winograd: not a 3x3/1/1 conv");
    let (il, ol, cl) = (x.image_len(), dy.image_len(), chunk_len(x.n));
    let wg = wino(g, x.cs);
    let ub = dx_chunks
        .iter()
        .any(Option::is_some)
        .then(|| wino_weights::<T>(isa, wg, w, true));
    let mut parts: Vec<Buf> = dx_chunks
        .into_par_iter()
        .zip(x.data.par_chunks(cl * il))
        .zip(dy.data.par_chunks(cl * ol))
        .map(|((dxc, xc), dyc)| {
            dispatch(
                isa,
                WinoBwdK::<T> {
                    g: wg,
                    x: xc,
                    pre,
                    dy: dyc,
                    ub: ub.as_deref(),
                    dx: dxc,
                    tile: PhantomData,
                },
            )
        })
        .collect();
    let du = sum_in_order(&mut parts);
    dispatch(
        isa,
        DuK::<T> {
            g: wg,
            du,
            dw,
            tile: PhantomData,
        },
    );
}

struct WeightsK<'a, T> {
    g: WinoGeom,
    w: &'a [f32],
    bwd: bool,
    tile: PhantomData<T>,
}

impl<T: Tile> Kernel for WeightsK<'_, T> {
    type Output = Buf;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Buf {
        if self.bwd {
            winograd::weights_bwd_data::<S, T>(s, &self.g, self.w)
        } else {
            winograd::weights_fwd::<S, T>(s, &self.g, self.w)
        }
    }
}

struct WinoFwdK<'a, T> {
    g: WinoGeom,
    x: &'a [f32],
    pre: Option<&'a PreOp>,
    u: &'a [f32],
    y: &'a mut [f32],
    stats: bool,
    tile: PhantomData<T>,
}

impl<T: Tile> Kernel for WinoFwdK<'_, T> {
    type Output = Option<ChanStats>;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Option<ChanStats> {
        let mut acc = self.stats.then(|| StatAcc::new(self.g.cso));
        winograd::forward_chunk::<S, T>(s, &self.g, self.x, self.pre, self.u, self.y, acc.as_mut());
        acc.map(|a| a.finish(self.g.cout))
    }
}

struct WinoBwdK<'a, T> {
    g: WinoGeom,
    x: &'a [f32],
    pre: Option<&'a PreOp>,
    dy: &'a [f32],
    ub: Option<&'a [f32]>,
    dx: Option<&'a mut [f32]>,
    tile: PhantomData<T>,
}

impl<T: Tile> Kernel for WinoBwdK<'_, T> {
    type Output = Buf;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Buf {
        let g = &self.g;
        if let (Some(ub), Some(dx)) = (self.ub, self.dx) {
            // dL/dx is the forward convolution of dL/dy with the rotated, transposed filters.
            let gb = WinoGeom {
                h: g.h,
                w: g.w,
                cin: g.cout,
                csi: g.cso,
                cout: g.cin,
                cso: g.csi,
            };
            winograd::forward_chunk::<S, T>(s, &gb, self.dy, None, ub, dx, None);
        }
        let mut du = Buf::zeroed(T::A * T::A * g.cin * g.cso);
        winograd::grad_weights_chunk::<S, T>(s, g, self.x, self.pre, self.dy, &mut du);
        du
    }
}

struct DuK<'a, T> {
    g: WinoGeom,
    du: &'a [f32],
    dw: &'a mut [f32],
    tile: PhantomData<T>,
}

impl<T: Tile> Kernel for DuK<'_, T> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        winograd::grad_from_du::<S, T>(s, &self.g, self.du, self.dw);
    }
}

// ---------------------------------------------------------------------------------------------
// im2col + GEMM.

/// Floats of patch buffer per block (L2-sized).
const COL_FLOATS: usize = 48 * 1024;

/// Weights as `[(kh * k + kw) * csi + ci][cso]`, zero for padded channels.
fn pack(g: &ConvGeom, csi: usize, w: &[f32]) -> Vec<f32> {
    let (k, cso) = (g.k, pad_channels(g.cout));
    let mut wp = vec![0.0; k * k * csi * cso];
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for t in 0..k * k {
                wp[(t * csi + ci) * cso + co] = w[(co * g.cin + ci) * k * k + t];
            }
        }
    }
    wp
}

/// The packed weights transposed to `[cout][k * k * csi]` (backward-data's right operand).
fn transpose_packed(g: &ConvGeom, csi: usize, wp: &[f32]) -> Vec<f32> {
    let (kk, cso) = (g.k * g.k * csi, pad_channels(g.cout));
    let mut wt = vec![0.0; g.cout * kk];
    for r in 0..kk {
        for co in 0..g.cout {
            wt[co * kk + r] = wp[r * cso + co];
        }
    }
    wt
}

fn unpack_add(g: &ConvGeom, csi: usize, dwp: &[f32], dw: &mut [f32]) {
    let (k, cso) = (g.k, pad_channels(g.cout));
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for t in 0..k * k {
                dw[(co * g.cin + ci) * k * k + t] += dwp[(t * csi + ci) * cso + co];
            }
        }
    }
}

/// Output pixels per im2col block: a multiple of 8 that keeps the patches near `COL_FLOATS`.
fn block_pixels(kk: usize, pixels: usize) -> usize {
    ((COL_FLOATS / kk.max(1)) / 8 * 8)
        .clamp(8, 512)
        .min(pixels.div_ceil(8) * 8)
}

/// A 1x1 stride-1 unpadded conv with nothing to apply reads its input rows as the patches.
fn reads_in_place(g: &ConvGeom, pre: bool) -> bool {
    g.k == 1 && g.stride == 1 && g.pad == 0 && !pre
}

/// Gathers the patches of output pixels `p0..p0 + np` of a chunk into `cols[p][kk]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn im2col<S: Simd>(
    s: S,
    g: &ConvGeom,
    csi: usize,
    x: &[f32],
    pre: Pre,
    p0: usize,
    np: usize,
    cols: &mut [f32],
) {
    let (ho, wo, k) = (g.ho(), g.wo(), g.k);
    let kk = k * k * csi;
    let plane = ho * wo;
    for pl in 0..np {
        let p = p0 + pl;
        let (img, r) = (p / plane, p % plane);
        let (oh, ow) = (r / wo, r % wo);
        let row = &mut cols[pl * kk..(pl + 1) * kk];
        for kh in 0..k {
            let ih = (oh * g.stride + kh) as isize - g.pad as isize;
            for kw in 0..k {
                let iw = (ow * g.stride + kw) as isize - g.pad as isize;
                let dst = &mut row[(kh * k + kw) * csi..(kh * k + kw + 1) * csi];
                if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize {
                    dst.fill(0.0);
                    continue;
                }
                let src = ((img * g.h + ih as usize) * g.w + iw as usize) * csi;
                let mut off = 0;
                while off < csi {
                    let nl = S::LANES.min(csi - off);
                    let pv = pre.at(s, off, nl);
                    // SAFETY: `src + off + nl` stays inside the pixel, `dst` holds csi floats.
                    unsafe {
                        let v = s.load_part(x.as_ptr().add(src + off), nl);
                        s.store_part(dst.as_mut_ptr().add(off), pv.apply(s, v), nl);
                    }
                    off += nl;
                }
            }
        }
    }
}

/// Adds rows `p0..p0 + np` of `y` (`[pixel][cs]`) into the statistics.
#[inline(always)]
fn stats_rows<S: Simd>(s: S, y: &[f32], cs: usize, p0: usize, np: usize, st: &mut StatAcc) {
    st.first_pixel(&y[p0 * cs..(p0 + 1) * cs]);
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        // SAFETY: rows p0..p0+np exist; `off + nl <= cs`.
        unsafe {
            let shift = s.load_part(st.shift().as_ptr().add(off), nl);
            let mut sums = Chains::new(s);
            for p in p0..p0 + np {
                let v = s.load_part(y.as_ptr().add(p * cs + off), nl);
                sums.push(s, p, s.sub(v, shift));
            }
            st.add_chains(s, off, nl, &sums);
        }
        off += nl;
    }
    st.add_count(np);
    st.flush();
}

struct ColFwdK<'a> {
    g: ConvGeom,
    csi: usize,
    x: &'a [f32],
    pre: Option<&'a PreOp>,
    wp: &'a [f32],
    y: &'a mut [f32],
    stats: bool,
}

impl Kernel for ColFwdK<'_> {
    type Output = Option<ChanStats>;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Option<ChanStats> {
        let (g, csi) = (&self.g, self.csi);
        let cso = pad_channels(g.cout);
        let kk = g.k * g.k * csi;
        let pixels = self.y.len() / cso;
        let mut acc = self.stats.then(|| StatAcc::new(cso));
        let direct = reads_in_place(g, self.pre.is_some());
        let pb = block_pixels(kk, pixels);
        let mut cols = Buf::uninit(if direct { 0 } else { pb * kk });
        let pre = Pre::new(self.pre);
        let mut p0 = 0;
        while p0 < pixels {
            let np = pb.min(pixels - p0);
            let a = if direct {
                self.x[p0 * csi..].as_ptr()
            } else {
                im2col(s, g, csi, self.x, pre, p0, np, &mut cols);
                cols.as_ptr()
            };
            let gm = Gemm {
                m: np,
                n: cso,
                k: kk,
                a,
                ars: kk,
                acs: 1,
                b: self.wp.as_ptr(),
                brs: cso,
                c: self.y[p0 * cso..].as_mut_ptr(),
                crs: cso,
                accumulate: false,
            };
            // SAFETY: np rows of kk patch values; wp is kk x cso; y rows p0..p0+np exist.
            unsafe { super::gemm::on(s, &gm) };
            if let Some(st) = acc.as_mut() {
                stats_rows(s, self.y, cso, p0, np, st);
            }
            p0 += np;
        }
        acc.map(|a| a.finish(g.cout))
    }
}

struct ColBwdK<'a> {
    g: ConvGeom,
    csi: usize,
    x: &'a [f32],
    pre: Option<&'a PreOp>,
    dy: &'a [f32],
    wt: Option<&'a [f32]>,
    dx: Option<&'a mut [f32]>,
}

impl Kernel for ColBwdK<'_> {
    type Output = Buf;
    #[inline(always)]
    fn run<S: Simd>(self, s: S) -> Buf {
        let (g, csi) = (&self.g, self.csi);
        let cso = pad_channels(g.cout);
        let (k, kk) = (g.k, g.k * g.k * csi);
        let pixels = self.dy.len() / cso;
        let mut dwp = Buf::zeroed(kk * cso);
        let direct = reads_in_place(g, self.pre.is_some());
        let pb = block_pixels(kk, pixels);
        let mut cols = Buf::uninit(if direct { 0 } else { pb * kk });
        let mut dcols = Buf::uninit(match (&self.dx, direct) {
            (Some(_), false) => pb * kk,
            _ => 0,
        });
        let pre = Pre::new(self.pre);
        let mut dx = self.dx;
        let plane = g.ho() * g.wo();
        let mut p0 = 0;
        while p0 < pixels {
            let np = pb.min(pixels - p0);
            let a = if direct {
                self.x[p0 * csi..].as_ptr()
            } else {
                im2col(s, g, csi, self.x, pre, p0, np, &mut cols);
                cols.as_ptr()
            };
            let gw = Gemm {
                m: kk,
                n: cso,
                k: np,
                a,
                ars: 1,
                acs: kk,
                b: self.dy[p0 * cso..].as_ptr(),
                brs: cso,
                c: dwp.as_mut_ptr(),
                crs: cso,
                accumulate: true,
            };
            // SAFETY: A(r, p) = patch p, value r (np x kk buffer); dy rows exist; dwp is kk x cso.
            unsafe { super::gemm::on(s, &gw) };
            if let (Some(dx), Some(wt)) = (dx.as_deref_mut(), self.wt) {
                let c = if direct {
                    dx[p0 * csi..].as_mut_ptr()
                } else {
                    dcols.as_mut_ptr()
                };
                let gd = Gemm {
                    m: np,
                    n: kk,
                    k: g.cout,
                    a: self.dy[p0 * cso..].as_ptr(),
                    ars: cso,
                    acs: 1,
                    b: wt.as_ptr(),
                    brs: kk,
                    c,
                    crs: kk,
                    accumulate: false,
                };
                // SAFETY: dy rows hold cout values; wt is cout x kk; C has np rows of kk.
                unsafe { super::gemm::on(s, &gd) };
                if !direct {
                    // Scatter each patch back onto the input pixels it came from.
                    for pl in 0..np {
                        let p = p0 + pl;
                        let (img, r) = (p / plane, p % plane);
                        let (oh, ow) = (r / g.wo(), r % g.wo());
                        for kh in 0..k {
                            let ih = (oh * g.stride + kh) as isize - g.pad as isize;
                            if ih < 0 || ih >= g.h as isize {
                                continue;
                            }
                            for kw in 0..k {
                                let iw = (ow * g.stride + kw) as isize - g.pad as isize;
                                if iw < 0 || iw >= g.w as isize {
                                    continue;
                                }
                                let dst = ((img * g.h + ih as usize) * g.w + iw as usize) * csi;
                                let src = pl * kk + (kh * k + kw) * csi;
                                let mut off = 0;
                                while off < csi {
                                    let nl = S::LANES.min(csi - off);
                                    // SAFETY: both ranges stay within one pixel / one tap.
                                    unsafe {
                                        let q = dx.as_mut_ptr().add(dst + off);
                                        let v = s.add(
                                            s.load_part(q, nl),
                                            s.load_part(dcols.as_ptr().add(src + off), nl),
                                        );
                                        s.store_part(q, v, nl);
                                    }
                                    off += nl;
                                }
                            }
                        }
                    }
                }
            }
            p0 += np;
        }
        dwp
    }
}

//! 2-D convolution (no bias: every conv in these nets is followed by batch norm) as im2col + GEMM.
//!
//! Work is split over the batch in one contiguous chunk per thread; each chunk unrolls one image
//! at a time so the scratch buffer stays cache-sized.
use super::{Mat, batch_chunks, chunk_len, matmul};
use rayon::prelude::*;

/// Everything needed to run one convolution on one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub cin: usize,
    pub h: usize,
    pub w: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    pub fn ho(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn wo(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }
    pub fn in_len(&self) -> usize {
        self.cin * self.h * self.w
    }
    pub fn out_len(&self) -> usize {
        self.cout * self.ho() * self.wo()
    }
    pub fn weight_len(&self) -> usize {
        self.cout * self.cin * self.k * self.k
    }
    fn col_rows(&self) -> usize {
        self.cin * self.k * self.k
    }
    /// A 1x1, stride-1, unpadded conv reads the image itself as its column matrix.
    fn pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.pad == 0
    }
    /// Output columns `ow` whose input column `ow*stride + kj - pad` lies inside the image.
    fn valid_cols(&self, kj: usize) -> (usize, usize) {
        let (s, p, wo) = (self.stride, self.pad, self.wo());
        let lo = if kj >= p { 0 } else { (p - kj).div_ceil(s) };
        // largest ow with ow*s + kj - p <= w - 1
        let hi = if self.w + p < kj + 1 {
            0
        } else {
            ((self.w - 1 + p - kj) / s + 1).min(wo)
        };
        (lo.min(hi), hi)
    }
}

/// Unrolls one image into columns `off..off + plane` of a column matrix whose rows are `ld` long
/// (several images can share one matrix, side by side).
fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32], ld: usize, off: usize) {
    let (ho, wo, k, s, p) = (g.ho(), g.wo(), g.k, g.stride, g.pad);
    let plane = ho * wo;
    for c in 0..g.cin {
        let xc = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ki in 0..k {
            for kj in 0..k {
                let row = (c * k + ki) * k + kj;
                let dst = &mut cols[row * ld + off..row * ld + off + plane];
                let (lo, hi) = g.valid_cols(kj);
                for oh in 0..ho {
                    let d = &mut dst[oh * wo..(oh + 1) * wo];
                    let ih = (oh * s + ki) as isize - p as isize;
                    if ih < 0 || ih >= g.h as isize {
                        d.fill(0.0);
                        continue;
                    }
                    let src = &xc[ih as usize * g.w..(ih as usize + 1) * g.w];
                    d[..lo].fill(0.0);
                    d[hi..].fill(0.0);
                    if hi <= lo {
                        continue;
                    }
                    if s == 1 {
                        // An inline loop: rows are ~30 floats, too short for a memcpy call to pay.
                        let start = lo + kj - p;
                        for (dv, sv) in d[lo..hi].iter_mut().zip(&src[start..start + (hi - lo)]) {
                            *dv = *sv;
                        }
                    } else {
                        for (ow, v) in d[lo..hi].iter_mut().enumerate() {
                            *v = src[(ow + lo) * s + kj - p];
                        }
                    }
                }
            }
        }
    }
}

fn col2im_add(g: &ConvGeom, cols: &[f32], dx: &mut [f32], ld: usize, off: usize) {
    let (ho, wo, k, s, p) = (g.ho(), g.wo(), g.k, g.stride, g.pad);
    let plane = ho * wo;
    for c in 0..g.cin {
        let dxc = &mut dx[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ki in 0..k {
            for kj in 0..k {
                let row = (c * k + ki) * k + kj;
                let src = &cols[row * ld + off..row * ld + off + plane];
                let (lo, hi) = g.valid_cols(kj);
                for oh in 0..ho {
                    let ih = (oh * s + ki) as isize - p as isize;
                    if ih < 0 || ih >= g.h as isize {
                        continue;
                    }
                    let d = &mut dxc[ih as usize * g.w..(ih as usize + 1) * g.w];
                    let srow = &src[oh * wo..(oh + 1) * wo];
                    if hi <= lo {
                        continue;
                    }
                    if s == 1 {
                        let start = lo + kj - p;
                        for (dv, sv) in d[start..start + (hi - lo)].iter_mut().zip(&srow[lo..hi]) {
                            *dv += sv;
                        }
                    } else {
                        for ow in lo..hi {
                            d[ow * s + kj - p] += srow[ow];
                        }
                    }
                }
            }
        }
    }
}

/// Images per GEMM: small late-stage planes (7x7, 14x14) are unrolled side by side so each
/// matrix product is wide enough to keep the kernel busy; large planes go one image at a time.
fn group_len(g: &ConvGeom) -> usize {
    if g.pointwise() {
        1
    } else {
        (512 / (g.ho() * g.wo()).max(1)).clamp(1, 16)
    }
}

/// Moves planes between the batch layout `[image][channel][plane]` and the side-by-side layout
/// `[channel][image][plane]` that a grouped column matrix produces: `to_wide` picks the direction,
/// `wide` is always the side-by-side buffer.
fn relayout(a: &[f32], b: &mut [f32], channels: usize, nb: usize, plane: usize, to_wide: bool) {
    let ld = nb * plane;
    for j in 0..nb {
        for c in 0..channels {
            let batch = (j * channels + c) * plane;
            let side = c * ld + j * plane;
            let (src, dst) = if to_wide {
                (batch, side)
            } else {
                (side, batch)
            };
            b[dst..dst + plane].copy_from_slice(&a[src..src + plane]);
        }
    }
}

/// `y = conv(x, w)` for a batch of `n` images; `w` is `[cout, cin, k, k]`.
pub fn forward(g: &ConvGeom, n: usize, x: &[f32], w: &[f32], y: &mut [f32]) {
    let (il, ol, cl) = (g.in_len(), g.out_len(), chunk_len(n));
    let (rows, plane, group) = (g.col_rows(), g.ho() * g.wo(), group_len(g));
    y[..n * ol]
        .par_chunks_mut(cl * ol)
        .zip(x[..n * il].par_chunks(cl * il))
        .for_each(|(yc, xc)| {
            if g.pointwise() {
                for (yi, xi) in yc.chunks_mut(ol).zip(xc.chunks(il)) {
                    matmul(
                        g.cout,
                        plane,
                        rows,
                        Mat::rows(w, rows),
                        Mat::rows(xi, plane),
                        yi,
                        false,
                    );
                }
                return;
            }
            let mut cols = vec![0.0; rows * plane * group];
            let mut wide = vec![0.0; if group > 1 { g.cout * plane * group } else { 0 }];
            for (yg, xg) in yc.chunks_mut(group * ol).zip(xc.chunks(group * il)) {
                let nb = xg.len() / il;
                let ld = nb * plane;
                for (j, xi) in xg.chunks(il).enumerate() {
                    im2col(g, xi, &mut cols, ld, j * plane);
                }
                // One image writes straight into its output; a group goes through `wide`.
                let out: &mut [f32] = if nb == 1 { &mut *yg } else { &mut wide };
                matmul(
                    g.cout,
                    ld,
                    rows,
                    Mat::rows(w, rows),
                    Mat::rows(&cols, ld),
                    out,
                    false,
                );
                if nb > 1 {
                    relayout(&wide, yg, g.cout, nb, plane, false);
                }
            }
        });
}

/// Gradients of a convolution: adds `dL/dw` into `dw` and, when `dx` is given, writes `dL/dx`.
pub fn backward(
    g: &ConvGeom,
    n: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
) {
    let (il, ol, cl) = (g.in_len(), g.out_len(), chunk_len(n));
    let (rows, plane, group) = (g.col_rows(), g.ho() * g.wo(), group_len(g));
    let chunks = n.div_ceil(cl);
    let dx_chunks: Vec<Option<&mut [f32]>> = match dx {
        Some(d) => d[..n * il].chunks_mut(cl * il).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    debug_assert!(chunks <= batch_chunks(n));
    let partials: Vec<Vec<f32>> = dx_chunks
        .into_par_iter()
        .zip(x[..n * il].par_chunks(cl * il))
        .zip(dy[..n * ol].par_chunks(cl * ol))
        .map(|((mut dxc, xc), dyc)| {
            let mut dwp = vec![0.0; w.len()];
            if g.pointwise() {
                for (i, (xi, dyi)) in xc.chunks(il).zip(dyc.chunks(ol)).enumerate() {
                    matmul(
                        g.cout,
                        rows,
                        plane,
                        Mat::rows(dyi, plane),
                        Mat::t(xi, plane),
                        &mut dwp,
                        true,
                    );
                    if let Some(dxc) = dxc.as_deref_mut() {
                        let dxi = &mut dxc[i * il..(i + 1) * il];
                        matmul(
                            rows,
                            plane,
                            g.cout,
                            Mat::t(w, rows),
                            Mat::rows(dyi, plane),
                            dxi,
                            false,
                        );
                    }
                }
                return dwp;
            }
            let mut cols = vec![0.0; rows * plane * group];
            let mut dcols = vec![0.0; rows * plane * group];
            let mut wide = vec![0.0; if group > 1 { g.cout * plane * group } else { 0 }];
            for (gi, (xg, dyg)) in xc
                .chunks(group * il)
                .zip(dyc.chunks(group * ol))
                .enumerate()
            {
                let nb = xg.len() / il;
                let ld = nb * plane;
                for (j, xi) in xg.chunks(il).enumerate() {
                    im2col(g, xi, &mut cols, ld, j * plane);
                }
                // dL/dy as [cout][image][plane], the layout the column matrix uses.
                let dyw: &[f32] = if nb == 1 {
                    dyg
                } else {
                    relayout(dyg, &mut wide, g.cout, nb, plane, true);
                    &wide
                };
                matmul(
                    g.cout,
                    rows,
                    ld,
                    Mat::rows(dyw, ld),
                    Mat::t(&cols, ld),
                    &mut dwp,
                    true,
                );
                if let Some(dxc) = dxc.as_deref_mut() {
                    matmul(
                        rows,
                        ld,
                        g.cout,
                        Mat::t(w, rows),
                        Mat::rows(dyw, ld),
                        &mut dcols,
                        false,
                    );
                    let dxg = &mut dxc[gi * group * il..gi * group * il + nb * il];
                    for (j, dxi) in dxg.chunks_mut(il).enumerate() {
                        dxi.fill(0.0);
                        col2im_add(g, &dcols, dxi, ld, j * plane);
                    }
                }
            }
            dwp
        })
        .collect();
    for p in partials {
        for (d, v) in dw.iter_mut().zip(&p) {
            *d += v;
        }
    }
}

/// Multiply-adds times two for one image.
pub fn flops(g: &ConvGeom) -> u64 {
    2 * (g.out_len() * g.col_rows()) as u64
}

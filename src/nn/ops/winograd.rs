//! Winograd F(2x2, 3x3) and F(4x4, 3x3) for 3x3, stride-1, pad-1 convolutions on NHWC tensors.
//!
//! Each `m x m` block of outputs ("tile") is computed from the `(m + 2) x (m + 2)` input patch
//! around it with `(m + 2)²` multiplies per channel pair instead of `9 m²` (F(2x2): 16 for 36,
//! F(4x4): 36 for 144): with `U = G g Gᵀ` (weights), `V = Bᵀ d B` (input patch) and
//! `M[ξ] = Σ_ci V[ξ][ci] U[ξ][ci][co]`, the outputs are `Y = Aᵀ M A`. The per-position products
//! are plain matrix products (tiles x in-channels times in-channels x out-channels), run by
//! [`super::gemm`]; the transforms are vectorised over channels. The two variants ([`F2`],
//! [`F4`]) differ only in their 1-D transforms ([`Tile`]); F(4x4) does 44% fewer multiply-adds
//! and moves fewer transformed values, for a slightly larger rounding error (its transforms
//! carry factors up to 8 and fractions like 1/6).
//!
//! - Backward-data is the same forward kernel with the weights flipped and in/out swapped
//!   ([`weights_bwd_data`]): a 3x3 pad-1 convolution's input gradient is a 3x3 pad-1
//!   convolution of the output gradient.
//! - Backward-weights transforms the output gradient with `dM = A dY Aᵀ`, accumulates
//!   `dU[ξ] += Vᵀ dM` over tiles, and finishes with `dW = Gᵀ dU G` ([`grad_from_du`]).
//!
//! Tiles are processed in blocks sized to stay in L2; the forward pass also gathers the output's
//! per-channel statistics for the batch norm that follows, and applies the previous layer's
//! lazy batch-norm + ReLU ([`PreOp`]) while reading its input.
//!
//! No closures in the vector code (see [`super::simd`]).
use super::gemm::Gemm;
use super::simd::Simd;
use super::tensor::{Buf, Chains, Pre, PreOp, PreV, StatAcc};

/// Bytes of V and M buffers per tile block (kept well inside a 1-2 MB L2).
const BLOCK_BYTES: usize = 192 * 1024;

/// One Winograd variant F(m x m, 3x3): its sizes and 1-D transforms, applied to the columns
/// and then the rows of a tile. Arrays are sized for the largest variant; entries past `A`
/// (or `M`) are unused.
pub(crate) trait Tile: Copy + Send + Sync + 'static {
    /// Outputs per tile side.
    const M: usize;
    /// Inputs per tile side (`M + 2`); `A * A` Winograd positions.
    const A: usize;
    /// `Bᵀ d`: `A` input values to `A` transformed ones.
    fn bt<S: Simd>(s: S, d: &[S::V; 6]) -> [S::V; 6];
    /// `Aᵀ m`: `A` products to `M` outputs.
    fn at<S: Simd>(s: S, m: &[S::V; 6]) -> [S::V; 4];
    /// `A d`: `M` output gradients to `A` product gradients.
    fn a<S: Simd>(s: S, d: &[S::V; 4]) -> [S::V; 6];
    /// `G g`: 3 filter taps to `A` transformed ones.
    fn g<S: Simd>(s: S, g: &[S::V; 3]) -> [S::V; 6];
    /// `Gᵀ u`: `A` transformed filter gradients to 3 taps.
    fn gt<S: Simd>(s: S, u: &[S::V; 6]) -> [S::V; 3];
}

/// F(2x2, 3x3).
#[derive(Clone, Copy, Debug)]
pub(crate) struct F2;

impl Tile for F2 {
    const M: usize = 2;
    const A: usize = 4;
    #[inline(always)]
    fn bt<S: Simd>(s: S, d: &[S::V; 6]) -> [S::V; 6] {
        let z = s.zero();
        [
            s.sub(d[0], d[2]),
            s.add(d[1], d[2]),
            s.sub(d[2], d[1]),
            s.sub(d[1], d[3]),
            z,
            z,
        ]
    }
    #[inline(always)]
    fn at<S: Simd>(s: S, m: &[S::V; 6]) -> [S::V; 4] {
        let z = s.zero();
        [
            s.add(s.add(m[0], m[1]), m[2]),
            s.sub(s.sub(m[1], m[2]), m[3]),
            z,
            z,
        ]
    }
    #[inline(always)]
    fn a<S: Simd>(s: S, d: &[S::V; 4]) -> [S::V; 6] {
        let z = s.zero();
        [
            d[0],
            s.add(d[0], d[1]),
            s.sub(d[0], d[1]),
            s.sub(z, d[1]),
            z,
            z,
        ]
    }
    #[inline(always)]
    fn g<S: Simd>(s: S, g: &[S::V; 3]) -> [S::V; 6] {
        let (half, z) = (s.splat(0.5), s.zero());
        [
            g[0],
            s.mul(half, s.add(s.add(g[0], g[1]), g[2])),
            s.mul(half, s.add(s.sub(g[0], g[1]), g[2])),
            g[2],
            z,
            z,
        ]
    }
    #[inline(always)]
    fn gt<S: Simd>(s: S, u: &[S::V; 6]) -> [S::V; 3] {
        let half = s.splat(0.5);
        let p = s.mul(half, s.add(u[1], u[2]));
        [
            s.add(u[0], p),
            s.mul(half, s.sub(u[1], u[2])),
            s.add(p, u[3]),
        ]
    }
}

/// F(4x4, 3x3) with the interpolation points 0, ±1, ±2 (Lavin and Gray, 2016).
#[derive(Clone, Copy, Debug)]
pub(crate) struct F4;

impl Tile for F4 {
    const M: usize = 4;
    const A: usize = 6;
    /// Rows of Bᵀ: [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0], [0 -2 -1 2 1 0],
    /// [0 2 -1 -2 1 0], [0 4 0 -5 0 1].
    #[inline(always)]
    fn bt<S: Simd>(s: S, d: &[S::V; 6]) -> [S::V; 6] {
        let (c4, c5, c2) = (s.splat(4.0), s.splat(-5.0), s.splat(2.0));
        let b13 = s.sub(d[1], d[3]);
        let b42 = s.sub(d[4], d[2]);
        [
            s.fma(c4, d[0], s.fma(c5, d[2], d[4])),
            s.sub(s.add(d[3], d[4]), s.mul(c4, s.add(d[1], d[2]))),
            s.fma(c4, s.sub(d[1], d[2]), s.sub(d[4], d[3])),
            s.sub(b42, s.mul(c2, b13)),
            s.fma(c2, b13, b42),
            s.fma(c4, d[1], s.fma(c5, d[3], d[5])),
        ]
    }
    /// Rows of Aᵀ: [1 1 1 1 1 0], [0 1 -1 2 -2 0], [0 1 1 4 4 0], [0 1 -1 8 -8 1].
    #[inline(always)]
    fn at<S: Simd>(s: S, m: &[S::V; 6]) -> [S::V; 4] {
        let p = s.add(m[1], m[2]);
        let q = s.sub(m[1], m[2]);
        let r = s.add(m[3], m[4]);
        let t = s.sub(m[3], m[4]);
        [
            s.add(s.add(m[0], p), r),
            s.fma(s.splat(2.0), t, q),
            s.fma(s.splat(4.0), r, p),
            s.add(s.fma(s.splat(8.0), t, q), m[5]),
        ]
    }
    /// A = (Aᵀ)ᵀ: rows [1 0 0 0], [1 1 1 1], [1 -1 1 -1], [1 2 4 8], [1 -2 4 -8], [0 0 0 1].
    #[inline(always)]
    fn a<S: Simd>(s: S, d: &[S::V; 4]) -> [S::V; 6] {
        let c2 = s.splat(2.0);
        let e = s.add(d[0], d[2]);
        let o = s.add(d[1], d[3]);
        let e4 = s.fma(s.splat(4.0), d[2], d[0]);
        let o4 = s.fma(s.splat(4.0), d[3], d[1]);
        [
            d[0],
            s.add(e, o),
            s.sub(e, o),
            s.fma(c2, o4, e4),
            s.sub(e4, s.mul(c2, o4)),
            d[3],
        ]
    }
    /// Rows of G: [1/4 0 0], [-1/6 -1/6 -1/6], [-1/6 1/6 -1/6], [1/24 1/12 1/6],
    /// [1/24 -1/12 1/6], [0 0 1].
    #[inline(always)]
    fn g<S: Simd>(s: S, g: &[S::V; 3]) -> [S::V; 6] {
        let sixth = s.splat(-1.0 / 6.0);
        let g02 = s.add(g[0], g[2]);
        let e = s.fma(s.splat(1.0 / 24.0), g[0], s.mul(s.splat(1.0 / 6.0), g[2]));
        let o = s.mul(s.splat(1.0 / 12.0), g[1]);
        [
            s.mul(s.splat(0.25), g[0]),
            s.mul(sixth, s.add(g02, g[1])),
            s.mul(sixth, s.sub(g02, g[1])),
            s.add(e, o),
            s.sub(e, o),
            g[2],
        ]
    }
    /// Gᵀ: rows [1/4 -1/6 -1/6 1/24 1/24 0], [0 -1/6 1/6 1/12 -1/12 0],
    /// [0 -1/6 -1/6 1/6 1/6 1].
    #[inline(always)]
    fn gt<S: Simd>(s: S, u: &[S::V; 6]) -> [S::V; 3] {
        let sixth = s.splat(1.0 / 6.0);
        let p = s.add(u[1], u[2]);
        let q = s.sub(u[2], u[1]);
        let r = s.add(u[3], u[4]);
        let t = s.sub(u[3], u[4]);
        [
            s.fma(
                s.splat(0.25),
                u[0],
                s.fma(s.splat(-1.0 / 6.0), p, s.mul(s.splat(1.0 / 24.0), r)),
            ),
            s.fma(sixth, q, s.mul(s.splat(1.0 / 12.0), t)),
            s.fma(sixth, s.sub(r, p), u[5]),
        ]
    }
}

/// Tiles per block for the given channel strides: a multiple of 8 (the row block), and at
/// least 24 even where that leaves L2: the products' register blocks are 6 or 8 tiles tall, and
/// F(4x4) with 64 channels would otherwise get blocks of 8 tiles, a third of them in a partial
/// row block (resnet-56 trained 10% slower that way).
fn block_tiles<T: Tile>(csi: usize, cso: usize, tiles: usize) -> usize {
    let tb = BLOCK_BYTES / (4 * T::A * T::A * (csi + cso));
    (tb / 8 * 8).clamp(24, 512).min(tiles.div_ceil(8) * 8)
}

/// A 3x3 pad-1 stride-1 convolution's shape, with the channel strides of its tensors.
#[derive(Clone, Copy, Debug)]
pub struct WinoGeom {
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub csi: usize,
    pub cout: usize,
    pub cso: usize,
}

impl WinoGeom {
    fn th<T: Tile>(&self) -> usize {
        self.h.div_ceil(T::M)
    }
    fn tw<T: Tile>(&self) -> usize {
        self.w.div_ceil(T::M)
    }
}

/// Transforms 3x3 filters to the `A²` Winograd positions, vectorised over the output columns:
/// `g` is `[rows][9][cols]`, the result `[A²][rows][cols]`.
#[inline(always)]
fn filter_transform<S: Simd, T: Tile>(s: S, g: &[f32], rows: usize, cols: usize, u: &mut [f32]) {
    let a = T::A;
    for r in 0..rows {
        let mut off = 0;
        while off < cols {
            let nl = S::LANES.min(cols - off);
            // SAFETY: `g` is rows*9*cols long, `u` A²*rows*cols; `off + nl <= cols`.
            unsafe {
                let mut k = [[s.zero(); 3]; 3];
                for (i, row) in k.iter_mut().enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = s.load_part(g.as_ptr().add((r * 9 + i * 3 + j) * cols + off), nl);
                    }
                }
                // G g, column by column: `t[j][i]` is row i of column j.
                let mut t = [[s.zero(); 6]; 3];
                for (j, col) in t.iter_mut().enumerate() {
                    *col = T::g(s, &[k[0][j], k[1][j], k[2][j]]);
                }
                // The index picks the same row out of every column (no one array to iterate).
                #[allow(clippy::needless_range_loop)]
                for i in 0..a {
                    let out = T::g(s, &[t[0][i], t[1][i], t[2][i]]);
                    for (j, v) in out.into_iter().take(a).enumerate() {
                        s.store_part(
                            u.as_mut_ptr().add(((i * a + j) * rows + r) * cols + off),
                            v,
                            nl,
                        );
                    }
                }
            }
            off += nl;
        }
    }
}

/// `U[ξ][ci][co]` (co padded to `cso`) for the forward pass, from PyTorch's `[cout][cin][3][3]`.
#[inline(always)]
pub(crate) fn weights_fwd<S: Simd, T: Tile>(s: S, g: &WinoGeom, w: &[f32]) -> Buf {
    let mut t = Buf::zeroed(g.cin * 9 * g.cso);
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for tap in 0..9 {
                t[(ci * 9 + tap) * g.cso + co] = w[(co * g.cin + ci) * 9 + tap];
            }
        }
    }
    let mut u = Buf::uninit(T::A * T::A * g.cin * g.cso);
    filter_transform::<S, T>(s, &t, g.cin, g.cso, &mut u);
    u
}

/// `U'[ξ][co][ci]` (ci padded to `csi`) for backward-data: the filters rotated by 180 degrees
/// with in and out swapped.
#[inline(always)]
pub(crate) fn weights_bwd_data<S: Simd, T: Tile>(s: S, g: &WinoGeom, w: &[f32]) -> Buf {
    let mut t = Buf::zeroed(g.cout * 9 * g.csi);
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for tap in 0..9 {
                t[(co * 9 + tap) * g.csi + ci] = w[(co * g.cin + ci) * 9 + 8 - tap];
            }
        }
    }
    let mut u = Buf::uninit(T::A * T::A * g.cout * g.csi);
    filter_transform::<S, T>(s, &t, g.cout, g.csi, &mut u);
    u
}

/// Adds `Gᵀ dU G` into `dw` (PyTorch layout); `du` is `[A²][cin][cso]`.
#[inline(always)]
pub(crate) fn grad_from_du<S: Simd, T: Tile>(s: S, g: &WinoGeom, du: &[f32], dw: &mut [f32]) {
    let (cin, cso, a) = (g.cin, g.cso, T::A);
    let mut t9 = Buf::uninit(cin * 9 * cso);
    for ci in 0..cin {
        let mut off = 0;
        while off < cso {
            let nl = S::LANES.min(cso - off);
            // SAFETY: `du` is A²*cin*cso long, `t9` cin*9*cso; `off + nl <= cso`.
            unsafe {
                let mut u = [[s.zero(); 6]; 6];
                for (r, row) in u.iter_mut().enumerate().take(a) {
                    for (c, v) in row.iter_mut().enumerate().take(a) {
                        *v = s.load_part(du.as_ptr().add(((r * a + c) * cin + ci) * cso + off), nl);
                    }
                }
                // Gᵀ dU, column by column: `t[c][i]` is row i of column c.
                let mut t = [[s.zero(); 3]; 6];
                for (c, col) in t.iter_mut().enumerate().take(a) {
                    *col = T::gt(s, &[u[0][c], u[1][c], u[2][c], u[3][c], u[4][c], u[5][c]]);
                }
                // The index picks the same row out of every column (no one array to iterate).
                #[allow(clippy::needless_range_loop)]
                for i in 0..3 {
                    let out = T::gt(s, &[t[0][i], t[1][i], t[2][i], t[3][i], t[4][i], t[5][i]]);
                    for (j, v) in out.into_iter().enumerate() {
                        s.store_part(t9.as_mut_ptr().add((ci * 9 + i * 3 + j) * cso + off), v, nl);
                    }
                }
            }
            off += nl;
        }
    }
    for co in 0..g.cout {
        for ci in 0..cin {
            for tap in 0..9 {
                dw[(co * cin + ci) * 9 + tap] += t9[(ci * 9 + tap) * cso + co];
            }
        }
    }
}

/// Tiles `t, t + 1, ...` of a chunk as (image, tile row, tile column), walked without a
/// division per tile.
struct TileWalk {
    th: usize,
    tw: usize,
    img: usize,
    ti: usize,
    tj: usize,
}

impl TileWalk {
    #[inline(always)]
    fn new<T: Tile>(g: &WinoGeom, t: usize) -> Self {
        let (th, tw) = (g.th::<T>(), g.tw::<T>());
        let r = t % (th * tw);
        Self {
            th,
            tw,
            img: t / (th * tw),
            ti: r / tw,
            tj: r % tw,
        }
    }

    #[inline(always)]
    fn next(&mut self) -> (usize, usize, usize) {
        let at = (self.img, self.ti, self.tj);
        self.tj += 1;
        if self.tj == self.tw {
            self.tj = 0;
            self.ti += 1;
            if self.ti == self.th {
                self.ti = 0;
                self.img += 1;
            }
        }
        at
    }
}

/// Where [`column`] reads: the patch's image and channel offset, its top row, whether all its
/// rows lie inside the image, and the lanes in use.
struct ColumnAt {
    base: usize,
    r0: isize,
    rows_inside: bool,
    nl: usize,
}

/// `Bᵀ d` of input column `xx` of a patch (zero outside the image), with `pre` applied.
///
/// A function, not a closure inside [`input_transform`]: a closure is compiled as its own
/// function without the caller's `#[target_feature]`s, so every SIMD intrinsic in it became an
/// out-of-line call (a quarter of the training time went there).
///
/// # Safety
/// `at.base` is the start of an image of `x` (`h * w * csi` values) plus a channel offset
/// `off` with `off + at.nl <= csi`.
#[inline(always)]
unsafe fn column<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    p: &PreV<S>,
    at: &ColumnAt,
    xx: isize,
) -> [S::V; 6] {
    let (h, w, cs) = (g.h, g.w, g.csi);
    let mut d = [s.zero(); 6];
    if xx >= 0 && xx < w as isize {
        for (r, v) in d.iter_mut().enumerate().take(T::A) {
            let y = at.r0 + r as isize;
            if at.rows_inside || (y >= 0 && y < h as isize) {
                // SAFETY: (y, xx) is inside the image; the caller vouches for base and lanes.
                unsafe {
                    let q = x
                        .as_ptr()
                        .add(at.base + (y as usize * w + xx as usize) * cs);
                    *v = p.apply(s, s.load_part(q, at.nl));
                }
            }
        }
    }
    T::bt(s, &d)
}

/// `V = Bᵀ d B` for tiles `t0..t0 + nt` of `x` (with `pre` applied, zero outside the image),
/// into `vbuf[ξ][tile][csi]`.
///
/// Neighbouring tiles of one tile row share two of their input columns (the patches overlap by
/// two pixels), and `Bᵀ d` works column by column, so each column is loaded, passed through
/// `pre` and transformed once and kept for the next tile: fewer loads and less `pre` work than
/// transforming every patch from scratch, with the same operations on every value (the result
/// is bit for bit the same).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_transform<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    pre: Pre,
    t0: usize,
    nt: usize,
    vbuf: &mut [f32],
    tb: usize,
) {
    let (h, w, cs) = (g.h, g.w, g.csi);
    let (m, a) = (T::M as isize, T::A);
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        let p = pre.at(s, off, nl);
        // `Bᵀ d` of the columns of the current patch: `cols[c][r]`.
        let mut cols = [[s.zero(); 6]; 6];
        let mut walk = TileWalk::new::<T>(g, t0);
        for tl in 0..nt {
            let (img, ti, tj) = walk.next();
            let (r0, c0) = (m * ti as isize - 1, m * tj as isize - 1);
            let at = ColumnAt {
                base: img * h * w * cs + off,
                r0,
                rows_inside: ti > 0 && r0 as usize + a <= h,
                nl,
            };
            // The previous tile of this block is this one's left neighbour unless a row starts:
            // its last two columns are this one's first two.
            let first = if tl > 0 && tj > 0 {
                cols[0] = cols[a - 2];
                cols[1] = cols[a - 1];
                2
            } else {
                0
            };
            for (c, col) in cols.iter_mut().enumerate().take(a).skip(first) {
                // SAFETY: `at` names image `img`'s pixels of `x`; `off + nl <= cs`.
                *col = unsafe { column::<S, T>(s, g, x, &p, &at, c0 + c as isize) };
            }
            // (Bᵀ d) B, row by row.
            // SAFETY: tile `tl < nt <= tb` of position ξ is at `(ξ * tb + tl) * cs + off`.
            unsafe {
                let dst = vbuf.as_mut_ptr().add(tl * cs + off);
                let stride = tb * cs;
                // The index picks the same row out of every column (no one array to iterate).
                #[allow(clippy::needless_range_loop)]
                for r in 0..a {
                    // Row `r` out of every column.
                    let row = [
                        cols[0][r], cols[1][r], cols[2][r], cols[3][r], cols[4][r], cols[5][r],
                    ];
                    for (c, vv) in T::bt(s, &row).into_iter().take(a).enumerate() {
                        s.store_part(dst.add((r * a + c) * stride), vv, nl);
                    }
                }
            }
        }
        off += nl;
    }
}

/// `dM = A dY Aᵀ` for tiles `t0..t0 + nt` of the output gradient, into `mbuf[ξ][tile][cso]`.
#[inline(always)]
fn grad_transform<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    dy: &[f32],
    t0: usize,
    nt: usize,
    mbuf: &mut [f32],
    tb: usize,
) {
    let (h, w, cs) = (g.h, g.w, g.cso);
    let (m, a) = (T::M, T::A);
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        let mut walk = TileWalk::new::<T>(g, t0);
        for tl in 0..nt {
            let (img, ti, tj) = walk.next();
            let (y0, x0) = (m * ti, m * tj);
            let mut d = [[s.zero(); 4]; 4];
            // SAFETY: loads only in-bounds pixels; `off + nl <= cs`.
            unsafe {
                for (r, row) in d.iter_mut().enumerate().take(m) {
                    if y0 + r >= h {
                        continue;
                    }
                    for (c, v) in row.iter_mut().enumerate().take(m) {
                        if x0 + c < w {
                            let q = dy
                                .as_ptr()
                                .add(((img * h + y0 + r) * w + x0 + c) * cs + off);
                            *v = s.load_part(q, nl);
                        }
                    }
                }
                // A dY, column by column (`t[c][r]`), then (A dY) Aᵀ row by row.
                let mut t = [[s.zero(); 6]; 4];
                for (c, col) in t.iter_mut().enumerate().take(m) {
                    *col = T::a(s, &[d[0][c], d[1][c], d[2][c], d[3][c]]);
                }
                let dst = mbuf.as_mut_ptr().add(tl * cs + off);
                let stride = tb * cs;
                // The index picks the same row out of every column (no one array to iterate).
                #[allow(clippy::needless_range_loop)]
                for r in 0..a {
                    let v = T::a(s, &[t[0][r], t[1][r], t[2][r], t[3][r]]);
                    for (c, vv) in v.into_iter().take(a).enumerate() {
                        s.store_part(dst.add((r * a + c) * stride), vv, nl);
                    }
                }
            }
        }
        off += nl;
    }
}

/// `Y = Aᵀ M A` for tiles `t0..t0 + nt` from `mbuf[ξ][tile][cso]` into `y`, with the block's
/// channel sums added into `stats`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn output_transform<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    mbuf: &[f32],
    tb: usize,
    t0: usize,
    nt: usize,
    y: &mut [f32],
    mut stats: Option<&mut StatAcc>,
) {
    let (h, w, cs) = (g.h, g.w, g.cso);
    let (mt, a) = (T::M, T::A);
    let stride = tb * cs;
    if let Some(st) = stats.as_deref_mut() {
        // The chunk's first output pixel (tile 0, top-left) is the statistics' shift; Aᵀ's
        // first row is ones except the last entry.
        let mut first = vec![0.0; cs];
        for (ch, f) in first.iter_mut().enumerate() {
            for r in 0..a - 1 {
                for c in 0..a - 1 {
                    *f += mbuf[(r * a + c) * stride + ch];
                }
            }
        }
        st.first_pixel(&first);
    }
    let mut pixels = 0;
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        // SAFETY (block): `mbuf` holds nt tiles of A² positions; outputs are written only at
        // in-bounds pixels; `off + nl <= cs`.
        unsafe {
            let shift = match stats.as_deref() {
                Some(st) => s.load_part(st.shift().as_ptr().add(off), nl),
                None => s.zero(),
            };
            // Four chains of sums, by output column within the tile (by position for F(2x2)).
            let mut sums = Chains::new(s);
            let want_stats = stats.is_some();
            let mut walk = TileWalk::new::<T>(g, t0);
            for tl in 0..nt {
                let (img, ti, tj) = walk.next();
                let src = mbuf.as_ptr().add(tl * cs + off);
                // Aᵀ M, column by column: `r[c][dr]`.
                let mut r = [[s.zero(); 4]; 6];
                for (c, col) in r.iter_mut().enumerate().take(a) {
                    let mut m = [s.zero(); 6];
                    for (xi, v) in m.iter_mut().enumerate().take(a) {
                        *v = s.load_part(src.add((xi * a + c) * stride), nl);
                    }
                    *col = T::at(s, &m);
                }
                let (y0, x0) = (mt * ti, mt * tj);
                // The index picks the same row out of every column (no one array to iterate).
                #[allow(clippy::needless_range_loop)]
                for dr in 0..mt {
                    if y0 + dr >= h {
                        continue;
                    }
                    let row = [r[0][dr], r[1][dr], r[2][dr], r[3][dr], r[4][dr], r[5][dr]];
                    for (dc, v) in T::at(s, &row).into_iter().take(mt).enumerate() {
                        if x0 + dc >= w {
                            continue;
                        }
                        let q = y
                            .as_mut_ptr()
                            .add(((img * h + y0 + dr) * w + x0 + dc) * cs + off);
                        s.store_part(q, v, nl);
                        if want_stats {
                            sums.push(s, dr * mt + dc, s.sub(v, shift));
                        }
                        if off == 0 {
                            pixels += 1;
                        }
                    }
                }
            }
            if let Some(st) = stats.as_deref_mut() {
                st.add_chains(s, off, nl, &sums);
            }
        }
        off += nl;
    }
    if let Some(st) = stats {
        st.add_count(pixels);
        st.flush();
    }
}

/// Forward convolution of one chunk of images: `x` is `[imgs][h][w][csi]`, `u` from
/// [`weights_fwd`] (or [`weights_bwd_data`] with the geometry's roles swapped), `y` is
/// `[imgs][h][w][cso]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_chunk<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    pre: Option<&PreOp>,
    u: &[f32],
    y: &mut [f32],
    mut stats: Option<&mut StatAcc>,
) {
    let p = T::A * T::A;
    let imgs = x.len() / (g.h * g.w * g.csi);
    assert_eq!(y.len(), imgs * g.h * g.w * g.cso, "winograd: output size");
    assert_eq!(u.len(), p * g.cin * g.cso, "winograd: weight size");
    let tiles = imgs * g.th::<T>() * g.tw::<T>();
    if tiles == 0 {
        return;
    }
    let tb = block_tiles::<T>(g.csi, g.cso, tiles);
    let mut vbuf = Buf::uninit(p * tb * g.csi);
    let mut mbuf = Buf::uninit(p * tb * g.cso);
    let pre = Pre::new(pre);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = tb.min(tiles - t0);
        input_transform::<S, T>(s, g, x, pre, t0, nt, &mut vbuf, tb);
        for xi in 0..p {
            let gm = Gemm {
                m: nt,
                n: g.cso,
                k: g.cin,
                a: vbuf[xi * tb * g.csi..].as_ptr(),
                ars: g.csi,
                acs: 1,
                b: u[xi * g.cin * g.cso..].as_ptr(),
                brs: g.cso,
                c: mbuf[xi * tb * g.cso..].as_mut_ptr(),
                crs: g.cso,
                accumulate: false,
            };
            // SAFETY: rows < nt <= tb tiles of csi (>= cin) values; U is cin x cso; M is tb x cso.
            unsafe { super::gemm::on(s, &gm) };
        }
        output_transform::<S, T>(s, g, &mbuf, tb, t0, nt, y, stats.as_deref_mut());
        t0 += nt;
    }
}

/// Backward-weights of one chunk: adds `Σ_tiles Vᵀ dM` into `du` (`[A²][cin][cso]`).
#[inline(always)]
pub(crate) fn grad_weights_chunk<S: Simd, T: Tile>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    pre: Option<&PreOp>,
    dy: &[f32],
    du: &mut [f32],
) {
    let p = T::A * T::A;
    let imgs = x.len() / (g.h * g.w * g.csi);
    assert_eq!(
        dy.len(),
        imgs * g.h * g.w * g.cso,
        "winograd: gradient size"
    );
    assert_eq!(du.len(), p * g.cin * g.cso, "winograd: dU size");
    let tiles = imgs * g.th::<T>() * g.tw::<T>();
    if tiles == 0 {
        return;
    }
    let tb = block_tiles::<T>(g.csi, g.cso, tiles);
    let mut vbuf = Buf::uninit(p * tb * g.csi);
    let mut mbuf = Buf::uninit(p * tb * g.cso);
    let pre = Pre::new(pre);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = tb.min(tiles - t0);
        input_transform::<S, T>(s, g, x, pre, t0, nt, &mut vbuf, tb);
        grad_transform::<S, T>(s, g, dy, t0, nt, &mut mbuf, tb);
        for xi in 0..p {
            let gm = Gemm {
                m: g.cin,
                n: g.cso,
                k: nt,
                a: vbuf[xi * tb * g.csi..].as_ptr(),
                ars: 1,
                acs: g.csi,
                b: mbuf[xi * tb * g.cso..].as_ptr(),
                brs: g.cso,
                c: du[xi * g.cin * g.cso..].as_mut_ptr(),
                crs: g.cso,
                accumulate: true,
            };
            // SAFETY: A(ci, t) = V[t][ci] for ci < cin <= csi, t < nt; B is nt x cso; C cin x cso.
            unsafe { super::gemm::on(s, &gm) };
        }
        t0 += nt;
    }
}

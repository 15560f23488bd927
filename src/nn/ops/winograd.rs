//! Winograd F(2x2, 3x3) for 3x3, stride-1, pad-1 convolutions on NHWC tensors.
//!
//! Each 2x2 block of outputs ("tile") is computed from the 4x4 input patch around it with 16
//! multiplies per channel pair instead of 36: with `U = G g Gᵀ` (weights), `V = Bᵀ d B` (input
//! patch) and `M[ξ] = Σ_ci V[ξ][ci] U[ξ][ci][co]`, the outputs are `Y = Aᵀ M A`. The 16
//! per-position products are plain matrix products (tiles x in-channels times in-channels x
//! out-channels), run by [`super::gemm`]; the transforms are vectorised over channels.
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
use super::gemm::Gemm;
use super::simd::Simd;
use super::tensor::{Buf, Chains, Pre, PreOp, PreV, StatAcc};

/// Bytes of V and M buffers per tile block (kept well inside a 1-2 MB L2).
const BLOCK_BYTES: usize = 192 * 1024;

/// Tiles per block for the given channel strides: a multiple of 8 (the row block).
fn block_tiles(csi: usize, cso: usize, tiles: usize) -> usize {
    let tb = BLOCK_BYTES / (64 * (csi + cso));
    (tb / 8 * 8).clamp(8, 512).min(tiles.div_ceil(8) * 8)
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
    fn th(&self) -> usize {
        self.h.div_ceil(2)
    }
    fn tw(&self) -> usize {
        self.w.div_ceil(2)
    }
}

/// Transforms 3x3 filters to the 16 Winograd positions, vectorised over the output columns:
/// `g` is `[rows][9][cols]`, the result `[16][rows][cols]`.
#[inline(always)]
fn filter_transform<S: Simd>(s: S, g: &[f32], rows: usize, cols: usize, u: &mut [f32]) {
    let half = s.splat(0.5);
    for r in 0..rows {
        let mut off = 0;
        while off < cols {
            let nl = S::LANES.min(cols - off);
            // SAFETY: `g` is rows*9*cols long, `u` 16*rows*cols; `off + nl <= cols`.
            unsafe {
                // No closure here: closures lose the kernel's target features (see `column`).
                let mut k = [[s.zero(); 3]; 3];
                for (a, row) in k.iter_mut().enumerate() {
                    for (b, v) in row.iter_mut().enumerate() {
                        *v = s.load_part(g.as_ptr().add((r * 9 + a * 3 + b) * cols + off), nl);
                    }
                }
                // G g: rows of the 4x3 intermediate.
                let mut t = [[s.zero(); 3]; 4];
                for b in 0..3 {
                    let (g0, g1, g2) = (k[0][b], k[1][b], k[2][b]);
                    t[0][b] = g0;
                    t[1][b] = s.mul(half, s.add(s.add(g0, g1), g2));
                    t[2][b] = s.mul(half, s.add(s.sub(g0, g1), g2));
                    t[3][b] = g2;
                }
                for (i, row) in t.iter().enumerate() {
                    let (t0, t1, t2) = (row[0], row[1], row[2]);
                    let out = [
                        t0,
                        s.mul(half, s.add(s.add(t0, t1), t2)),
                        s.mul(half, s.add(s.sub(t0, t1), t2)),
                        t2,
                    ];
                    for (j, v) in out.into_iter().enumerate() {
                        s.store_part(
                            u.as_mut_ptr().add(((i * 4 + j) * rows + r) * cols + off),
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
pub(crate) fn weights_fwd<S: Simd>(s: S, g: &WinoGeom, w: &[f32]) -> Buf {
    let mut t = Buf::zeroed(g.cin * 9 * g.cso);
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for tap in 0..9 {
                t[(ci * 9 + tap) * g.cso + co] = w[(co * g.cin + ci) * 9 + tap];
            }
        }
    }
    let mut u = Buf::uninit(16 * g.cin * g.cso);
    filter_transform(s, &t, g.cin, g.cso, &mut u);
    u
}

/// `U'[ξ][co][ci]` (ci padded to `csi`) for backward-data: the filters rotated by 180 degrees
/// with in and out swapped.
#[inline(always)]
pub(crate) fn weights_bwd_data<S: Simd>(s: S, g: &WinoGeom, w: &[f32]) -> Buf {
    let mut t = Buf::zeroed(g.cout * 9 * g.csi);
    for co in 0..g.cout {
        for ci in 0..g.cin {
            for tap in 0..9 {
                t[(co * 9 + tap) * g.csi + ci] = w[(co * g.cin + ci) * 9 + 8 - tap];
            }
        }
    }
    let mut u = Buf::uninit(16 * g.cout * g.csi);
    filter_transform(s, &t, g.cout, g.csi, &mut u);
    u
}

/// Adds `Gᵀ dU G` into `dw` (PyTorch layout); `du` is `[16][cin][cso]`.
#[inline(always)]
pub(crate) fn grad_from_du<S: Simd>(s: S, g: &WinoGeom, du: &[f32], dw: &mut [f32]) {
    let (cin, cso) = (g.cin, g.cso);
    let mut t9 = Buf::uninit(cin * 9 * cso);
    let half = s.splat(0.5);
    for ci in 0..cin {
        let mut off = 0;
        while off < cso {
            let nl = S::LANES.min(cso - off);
            // SAFETY: `du` is 16*cin*cso long, `t9` cin*9*cso; `off + nl <= cso`.
            unsafe {
                let mut u = [[s.zero(); 4]; 4];
                for (r, row) in u.iter_mut().enumerate() {
                    for (c, v) in row.iter_mut().enumerate() {
                        *v = s.load_part(du.as_ptr().add(((r * 4 + c) * cin + ci) * cso + off), nl);
                    }
                }
                // Gᵀ dU: 3x4.
                let mut t = [[s.zero(); 4]; 3];
                for c in 0..4 {
                    let (u0, u1, u2, u3) = (u[0][c], u[1][c], u[2][c], u[3][c]);
                    let p = s.mul(half, s.add(u1, u2));
                    t[0][c] = s.add(u0, p);
                    t[1][c] = s.mul(half, s.sub(u1, u2));
                    t[2][c] = s.add(p, u3);
                }
                for (a, row) in t.iter().enumerate() {
                    let p = s.mul(half, s.add(row[1], row[2]));
                    let out = [
                        s.add(row[0], p),
                        s.mul(half, s.sub(row[1], row[2])),
                        s.add(p, row[3]),
                    ];
                    for (b, v) in out.into_iter().enumerate() {
                        s.store_part(t9.as_mut_ptr().add((ci * 9 + a * 3 + b) * cso + off), v, nl);
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
    fn new(g: &WinoGeom, t: usize) -> Self {
        let (th, tw) = (g.th(), g.tw());
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

/// Where [`column`] reads: the patch's image and channel offset, its top row, whether all four
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
unsafe fn column<S: Simd>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    p: &PreV<S>,
    at: &ColumnAt,
    xx: isize,
) -> [S::V; 4] {
    let (h, w, cs) = (g.h, g.w, g.csi);
    let mut d = [s.zero(); 4];
    if xx >= 0 && xx < w as isize {
        for (r, v) in d.iter_mut().enumerate() {
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
    [
        s.sub(d[0], d[2]),
        s.add(d[1], d[2]),
        s.sub(d[2], d[1]),
        s.sub(d[1], d[3]),
    ]
}

/// `V = Bᵀ d B` for tiles `t0..t0 + nt` of `x` (with `pre` applied, zero outside the image),
/// into `vbuf[ξ][tile][csi]`.
///
/// Neighbouring tiles of one tile row share two of their four input columns (the 4x4 patches
/// overlap by two pixels), and `Bᵀ d` works column by column, so each column is loaded, passed
/// through `pre` and transformed once and kept for the next tile: half the loads and half the
/// `pre` work of transforming every patch from scratch, with the same operations on every value
/// (the result is bit for bit the same).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn input_transform<S: Simd>(
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
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        let p = pre.at(s, off, nl);
        // `Bᵀ d` of the four columns of the current patch: `cols[c][r]`.
        let mut cols = [[s.zero(); 4]; 4];
        let mut walk = TileWalk::new(g, t0);
        for tl in 0..nt {
            let (img, ti, tj) = walk.next();
            let (r0, c0) = (2 * ti as isize - 1, 2 * tj as isize - 1);
            let at = ColumnAt {
                base: img * h * w * cs + off,
                r0,
                rows_inside: ti > 0 && 2 * ti + 3 <= h,
                nl,
            };
            // The previous tile of this block is this one's left neighbour unless a row starts.
            let first = if tl > 0 && tj > 0 {
                cols[0] = cols[2];
                cols[1] = cols[3];
                2
            } else {
                0
            };
            for (c, col) in cols.iter_mut().enumerate().skip(first) {
                // SAFETY: `at` names image `img`'s pixels of `x`; `off + nl <= cs`.
                *col = unsafe { column(s, g, x, &p, &at, c0 + c as isize) };
            }
            // (Bᵀ d) B, row by row.
            // SAFETY: tile `tl < nt <= tb` of position ξ is at `(ξ * tb + tl) * cs + off`.
            unsafe {
                let dst = vbuf.as_mut_ptr().add(tl * cs + off);
                let stride = tb * cs;
                // `r` picks the same row out of all four columns, not one column.
                #[allow(clippy::needless_range_loop)]
                for r in 0..4 {
                    let v = [
                        s.sub(cols[0][r], cols[2][r]),
                        s.add(cols[1][r], cols[2][r]),
                        s.sub(cols[2][r], cols[1][r]),
                        s.sub(cols[1][r], cols[3][r]),
                    ];
                    for (c, vv) in v.into_iter().enumerate() {
                        s.store_part(dst.add((r * 4 + c) * stride), vv, nl);
                    }
                }
            }
        }
        off += nl;
    }
}

/// `dM = A dY Aᵀ` for tiles `t0..t0 + nt` of the output gradient, into `mbuf[ξ][tile][cso]`.
#[inline(always)]
fn grad_transform<S: Simd>(
    s: S,
    g: &WinoGeom,
    dy: &[f32],
    t0: usize,
    nt: usize,
    mbuf: &mut [f32],
    tb: usize,
) {
    let (h, w, cs) = (g.h, g.w, g.cso);
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        let mut walk = TileWalk::new(g, t0);
        for tl in 0..nt {
            let (img, ti, tj) = walk.next();
            let (y0, x0) = (2 * ti, 2 * tj);
            let mut d = [[s.zero(); 2]; 2];
            // SAFETY: loads only in-bounds pixels; `off + nl <= cs`.
            unsafe {
                for (r, row) in d.iter_mut().enumerate() {
                    if y0 + r >= h {
                        continue;
                    }
                    for (c, v) in row.iter_mut().enumerate() {
                        if x0 + c < w {
                            let q = dy
                                .as_ptr()
                                .add(((img * h + y0 + r) * w + x0 + c) * cs + off);
                            *v = s.load_part(q, nl);
                        }
                    }
                }
                // A dY (rows), then (A dY) Aᵀ (columns); A = [[1,0],[1,1],[1,-1],[0,-1]].
                let zero = s.zero();
                let mut t = [[zero; 2]; 4];
                for c in 0..2 {
                    t[0][c] = d[0][c];
                    t[1][c] = s.add(d[0][c], d[1][c]);
                    t[2][c] = s.sub(d[0][c], d[1][c]);
                    t[3][c] = s.sub(zero, d[1][c]);
                }
                let dst = mbuf.as_mut_ptr().add(tl * cs + off);
                let stride = tb * cs;
                for (r, row) in t.iter().enumerate() {
                    let v = [
                        row[0],
                        s.add(row[0], row[1]),
                        s.sub(row[0], row[1]),
                        s.sub(zero, row[1]),
                    ];
                    for (c, vv) in v.into_iter().enumerate() {
                        s.store_part(dst.add((r * 4 + c) * stride), vv, nl);
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
fn output_transform<S: Simd>(
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
    let stride = tb * cs;
    if let Some(st) = stats.as_deref_mut() {
        // The chunk's first output pixel (tile 0, top-left) is the statistics' shift.
        let mut first = vec![0.0; cs];
        for (ch, f) in first.iter_mut().enumerate() {
            for r in 0..3 {
                for c in 0..3 {
                    *f += mbuf[(r * 4 + c) * stride + ch];
                }
            }
        }
        st.first_pixel(&first);
    }
    let mut pixels = 0;
    let mut off = 0;
    while off < cs {
        let nl = S::LANES.min(cs - off);
        // SAFETY (block): `mbuf` holds nt tiles of 16 positions; outputs are written only at
        // in-bounds pixels; `off + nl <= cs`.
        unsafe {
            let shift = match stats.as_deref() {
                Some(st) => s.load_part(st.shift().as_ptr().add(off), nl),
                None => s.zero(),
            };
            // One chain of sums per output position of the 2x2 tile.
            let mut sums = Chains::new(s);
            let want_stats = stats.is_some();
            let mut walk = TileWalk::new(g, t0);
            for tl in 0..nt {
                let (img, ti, tj) = walk.next();
                let src = mbuf.as_ptr().add(tl * cs + off);
                let mut m = [s.zero(); 16];
                for (xi, v) in m.iter_mut().enumerate() {
                    *v = s.load_part(src.add(xi * stride), nl);
                }
                let mut r = [[s.zero(); 4]; 2];
                for c in 0..4 {
                    r[0][c] = s.add(s.add(m[c], m[4 + c]), m[8 + c]);
                    r[1][c] = s.sub(s.sub(m[4 + c], m[8 + c]), m[12 + c]);
                }
                let (y0, x0) = (2 * ti, 2 * tj);
                for (dr, row) in r.iter().enumerate() {
                    if y0 + dr >= h {
                        continue;
                    }
                    let out = [
                        s.add(s.add(row[0], row[1]), row[2]),
                        s.sub(s.sub(row[1], row[2]), row[3]),
                    ];
                    for (dc, v) in out.into_iter().enumerate() {
                        if x0 + dc >= w {
                            continue;
                        }
                        let q = y
                            .as_mut_ptr()
                            .add(((img * h + y0 + dr) * w + x0 + dc) * cs + off);
                        s.store_part(q, v, nl);
                        if want_stats {
                            sums.push(s, dr * 2 + dc, s.sub(v, shift));
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
pub(crate) fn forward_chunk<S: Simd>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    pre: Option<&PreOp>,
    u: &[f32],
    y: &mut [f32],
    mut stats: Option<&mut StatAcc>,
) {
    let imgs = x.len() / (g.h * g.w * g.csi);
    assert_eq!(y.len(), imgs * g.h * g.w * g.cso, "winograd: output size");
    assert_eq!(u.len(), 16 * g.cin * g.cso, "winograd: weight size");
    let tiles = imgs * g.th() * g.tw();
    if tiles == 0 {
        return;
    }
    let tb = block_tiles(g.csi, g.cso, tiles);
    let mut vbuf = Buf::uninit(16 * tb * g.csi);
    let mut mbuf = Buf::uninit(16 * tb * g.cso);
    let pre = Pre::new(pre);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = tb.min(tiles - t0);
        input_transform(s, g, x, pre, t0, nt, &mut vbuf, tb);
        for xi in 0..16 {
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
            unsafe { s.gemm(&gm) };
        }
        output_transform(s, g, &mbuf, tb, t0, nt, y, stats.as_deref_mut());
        t0 += nt;
    }
}

/// Backward-weights of one chunk: adds `Σ_tiles Vᵀ dM` into `du` (`[16][cin][cso]`).
#[inline(always)]
pub(crate) fn grad_weights_chunk<S: Simd>(
    s: S,
    g: &WinoGeom,
    x: &[f32],
    pre: Option<&PreOp>,
    dy: &[f32],
    du: &mut [f32],
) {
    let imgs = x.len() / (g.h * g.w * g.csi);
    assert_eq!(
        dy.len(),
        imgs * g.h * g.w * g.cso,
        "winograd: gradient size"
    );
    assert_eq!(du.len(), 16 * g.cin * g.cso, "winograd: dU size");
    let tiles = imgs * g.th() * g.tw();
    if tiles == 0 {
        return;
    }
    let tb = block_tiles(g.csi, g.cso, tiles);
    let mut vbuf = Buf::uninit(16 * tb * g.csi);
    let mut mbuf = Buf::uninit(16 * tb * g.cso);
    let pre = Pre::new(pre);
    let mut t0 = 0;
    while t0 < tiles {
        let nt = tb.min(tiles - t0);
        input_transform(s, g, x, pre, t0, nt, &mut vbuf, tb);
        grad_transform(s, g, dy, t0, nt, &mut mbuf, tb);
        for xi in 0..16 {
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
            unsafe { s.gemm(&gm) };
        }
        t0 += nt;
    }
}

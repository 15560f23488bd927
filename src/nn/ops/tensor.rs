//! The activation layout every fast op shares, and the lazy per-channel map that lets batch
//! norm and ReLU ride along with whichever kernel reads a tensor next.
use super::simd::{Isa, Kernel, Simd, dispatch};
use rayon::prelude::*;
use std::sync::Mutex;

/// Recycles large buffers (activations, gradients, kernel scratch) between layers and steps.
///
/// A fresh multi-megabyte allocation costs a page fault per 4 KB and the kernel's zeroing every
/// time, because glibc hands freed large blocks back to the kernel: measured, 30% of a training
/// step. Buffers of at least `MIN` floats go back to this pool instead and are handed out again
/// for a request of similar size. The pool holds at most `CAP` floats and is emptied by [`trim`]
/// (called when a model is dropped).
mod pool {
    use super::Mutex;

    const MIN: usize = 4096;
    const CAP: usize = 256 << 20;

    struct Pool {
        bufs: Vec<Vec<f32>>,
        floats: usize,
    }

    static POOL: Mutex<Pool> = Mutex::new(Pool {
        bufs: Vec::new(),
        floats: 0,
    });

    fn lock() -> std::sync::MutexGuard<'static, Pool> {
        POOL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A buffer of exactly `len` initialised floats with unspecified contents.
    pub(super) fn take(len: usize) -> Vec<f32> {
        if len >= MIN {
            let mut p = lock();
            // Smallest buffer that is long enough but not wastefully long.
            let best = p
                .bufs
                .iter()
                .enumerate()
                .filter(|(_, b)| b.len() >= len && b.len() <= len + len / 2)
                .min_by_key(|(_, b)| b.len())
                .map(|(i, _)| i);
            if let Some(i) = best {
                let mut v = p.bufs.swap_remove(i);
                p.floats -= v.len();
                drop(p);
                v.truncate(len);
                return v;
            }
        }
        vec![0.0; len]
    }

    pub(super) fn give(v: Vec<f32>) {
        if v.len() < MIN {
            return;
        }
        let mut p = lock();
        if p.floats + v.len() <= CAP {
            p.floats += v.len();
            p.bufs.push(v);
        }
    }

    pub(super) fn trim() {
        let mut p = lock();
        p.bufs = Vec::new();
        p.floats = 0;
    }
}

/// Frees every pooled buffer (see the `pool` module); models call it when dropped.
pub fn trim_pool() {
    pool::trim();
}

/// A pooled scratch buffer for kernels; goes back to the pool when dropped.
pub(crate) struct Buf(Vec<f32>);

impl Buf {
    /// `len` floats with unspecified contents (the caller writes before reading).
    pub(crate) fn uninit(len: usize) -> Self {
        Buf(pool::take(len))
    }

    pub(crate) fn zeroed(len: usize) -> Self {
        let mut b = Self::uninit(len);
        b.0.fill(0.0);
        b
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.0));
    }
}

impl std::ops::Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

/// Channels rounded up to the 8-float granule every layout uses.
pub fn pad_channels(c: usize) -> usize {
    c.div_ceil(8).max(1) * 8
}

/// A batch of `n` images, NHWC: pixel `(i, y, x)` holds its `c` channels at
/// `((i * h + y) * w + x) * cs`, followed by `cs - c` zeros.
///
/// Inside the model `cs` is [`pad_channels`]`(c)`: every channel vector is whole, and padding
/// lanes stay zero through every op (padded weights, gammas and betas are zero). Only the net's
/// own input may come unpadded (`cs == c`), for its first convolution.
#[derive(Debug, PartialEq)]
pub struct Tensor {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub cs: usize,
    pub data: Vec<f32>,
}

impl Clone for Tensor {
    fn clone(&self) -> Self {
        let mut t = Self::uninit(self.n, self.h, self.w, self.c, self.cs);
        t.data.copy_from_slice(&self.data);
        t
    }
}

impl Drop for Tensor {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.data));
    }
}

impl Tensor {
    /// A tensor whose every element the caller is about to write (contents unspecified).
    pub fn uninit(n: usize, h: usize, w: usize, c: usize, cs: usize) -> Self {
        assert!(cs >= c, "channel stride below channel count");
        Self {
            n,
            h,
            w,
            c,
            cs,
            data: pool::take(n * h * w * cs),
        }
    }

    /// Zeros with padded channels.
    pub fn zeros(n: usize, h: usize, w: usize, c: usize) -> Self {
        Self::zeros_cs(n, h, w, c, pad_channels(c))
    }

    pub fn zeros_cs(n: usize, h: usize, w: usize, c: usize, cs: usize) -> Self {
        let mut t = Self::uninit(n, h, w, c, cs);
        t.data.fill(0.0);
        t
    }

    /// Pixels in the batch.
    pub fn pixels(&self) -> usize {
        self.n * self.h * self.w
    }

    /// Floats per image.
    pub fn image_len(&self) -> usize {
        self.h * self.w * self.cs
    }

    pub fn same_shape(&self, o: &Tensor) -> bool {
        (self.n, self.h, self.w, self.c, self.cs) == (o.n, o.h, o.w, o.c, o.cs)
    }

    /// From `n` planar images `[n][c][h][w]`, with channel stride `cs`.
    pub fn from_nchw(x: &[f32], n: usize, c: usize, h: usize, w: usize, cs: usize) -> Self {
        assert_eq!(x.len(), n * c * h * w, "NCHW batch has the wrong size");
        let mut t = Self::zeros_cs(n, h, w, c, cs);
        if c == 1 && cs == 1 {
            t.data.copy_from_slice(x);
            return t;
        }
        let hw = h * w;
        for i in 0..n {
            for ch in 0..c {
                let plane = &x[(i * c + ch) * hw..(i * c + ch + 1) * hw];
                for (p, &v) in plane.iter().enumerate() {
                    t.data[(i * hw + p) * cs + ch] = v;
                }
            }
        }
        t
    }

    /// Planar `[n][c][h][w]` copy, padding dropped.
    pub fn to_nchw(&self) -> Vec<f32> {
        let hw = self.h * self.w;
        let mut out = vec![0.0; self.n * self.c * hw];
        for i in 0..self.n {
            for p in 0..hw {
                let px = &self.data[(i * hw + p) * self.cs..][..self.c];
                for (ch, &v) in px.iter().enumerate() {
                    out[(i * self.c + ch) * hw + p] = v;
                }
            }
        }
        out
    }
}

/// A per-channel `y = a * x + b`, then ReLU when `relu`, not yet applied: batch norm (and the
/// ReLU fused into it) hands this to the next op instead of writing a new tensor. Vectors are
/// `cs` long with zeros past the real channels, so padding stays zero.
#[derive(Clone, Debug, PartialEq)]
pub struct PreOp {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub relu: bool,
}

impl PreOp {
    /// `a`, `b` for `c` real channels, zero-padded to `cs`.
    pub fn new(a: &[f32], b: &[f32], cs: usize, relu: bool) -> Self {
        let pad = |v: &[f32]| {
            let mut o = vec![0.0; cs];
            o[..v.len()].copy_from_slice(v);
            o
        };
        Self {
            a: pad(a),
            b: pad(b),
            relu,
        }
    }

    /// Just a ReLU.
    pub fn relu(c: usize, cs: usize) -> Self {
        Self::new(&vec![1.0; c], &vec![0.0; c], cs, true)
    }

    /// The value at one element (tests and scalar fallbacks; kernels use [`Pre`]).
    pub fn apply(&self, ch: usize, x: f32) -> f32 {
        let o = self.a[ch].mul_add(x, self.b[ch]);
        if self.relu && o < 0.0 { 0.0 } else { o }
    }
}

/// How a kernel applies an optional [`PreOp`] to one channel vector: `Pre::at` once per vector
/// offset, then `apply` per pixel.
#[derive(Clone, Copy)]
pub(crate) struct Pre<'a> {
    op: Option<&'a PreOp>,
}

impl<'a> Pre<'a> {
    pub(crate) fn new(op: Option<&'a PreOp>) -> Self {
        Self { op }
    }

    /// `(a, b, relu)` for the channel vector at `off` with `n` lanes; identity when absent.
    #[inline(always)]
    pub(crate) fn at<S: Simd>(&self, s: S, off: usize, n: usize) -> PreV<S> {
        match self.op {
            // SAFETY: `a` and `b` are `cs` long and `off + n <= cs`.
            Some(p) => unsafe {
                PreV {
                    a: s.load_part(p.a.as_ptr().add(off), n),
                    b: s.load_part(p.b.as_ptr().add(off), n),
                    on: true,
                    relu: p.relu,
                }
            },
            None => PreV {
                a: s.zero(),
                b: s.zero(),
                on: false,
                relu: false,
            },
        }
    }
}

/// One channel vector's share of a [`PreOp`].
#[derive(Clone, Copy)]
pub(crate) struct PreV<S: Simd> {
    a: S::V,
    b: S::V,
    on: bool,
    relu: bool,
}

impl<S: Simd> PreV<S> {
    #[inline(always)]
    pub(crate) fn apply(&self, s: S, v: S::V) -> S::V {
        if !self.on {
            return v;
        }
        let o = s.fma(self.a, v, self.b);
        if self.relu { s.relu(o) } else { o }
    }

    /// The pre-ReLU value, whose sign is the ReLU's backward mask (same formula as `apply`, so
    /// forward and backward agree bit for bit).
    #[inline(always)]
    pub(crate) fn affine(&self, s: S, v: S::V) -> S::V {
        if self.on { s.fma(self.a, v, self.b) } else { v }
    }
}

/// Per-channel mean and sum of squared deviations over `count` values, merged in a fixed order
/// (Chan et al.), so a given chunking gives the same bits.
#[derive(Clone, Debug, PartialEq)]
pub struct ChanStats {
    pub count: f64,
    pub mean: Vec<f64>,
    pub m2: Vec<f64>,
}

impl ChanStats {
    pub fn empty(c: usize) -> Self {
        Self {
            count: 0.0,
            mean: vec![0.0; c],
            m2: vec![0.0; c],
        }
    }

    pub fn merge(&mut self, o: &ChanStats) {
        if o.count == 0.0 {
            return;
        }
        if self.count == 0.0 {
            *self = o.clone();
            return;
        }
        let n = self.count + o.count;
        for ch in 0..self.mean.len() {
            let d = o.mean[ch] - self.mean[ch];
            self.mean[ch] += d * o.count / n;
            self.m2[ch] += o.m2[ch] + d * d * self.count * o.count / n;
        }
        self.count = n;
    }

    /// Biased variance (divided by the count), the one batch norm normalises with.
    pub fn var(&self) -> Vec<f64> {
        self.m2
            .iter()
            .map(|m| (m / self.count.max(1.0)).max(0.0))
            .collect()
    }
}

/// Accumulates channel statistics inside a kernel: values are shifted by the chunk's first
/// pixel (so `E[x^2] - E[x]^2` does not cancel), summed in f32 lanes over a block of a few
/// hundred pixels, then folded into f64.
pub(crate) struct StatAcc {
    cs: usize,
    shift: Vec<f32>,
    have_shift: bool,
    s1: Vec<f64>,
    s2: Vec<f64>,
    count: f64,
    pub(crate) b1: Vec<f32>,
    pub(crate) b2: Vec<f32>,
    bcount: usize,
}

impl StatAcc {
    pub(crate) fn new(cs: usize) -> Self {
        Self {
            cs,
            shift: vec![0.0; cs],
            have_shift: false,
            s1: vec![0.0; cs],
            s2: vec![0.0; cs],
            count: 0.0,
            b1: vec![0.0; cs],
            b2: vec![0.0; cs],
            bcount: 0,
        }
    }

    /// Sets the shift from the first pixel seen (a row of `cs` values), once.
    pub(crate) fn first_pixel(&mut self, px: &[f32]) {
        if !self.have_shift {
            self.shift.copy_from_slice(&px[..self.cs]);
            self.have_shift = true;
        }
    }

    pub(crate) fn shift(&self) -> &[f32] {
        &self.shift
    }

    /// Records that `pixels` more values per channel went into `b1`/`b2`.
    pub(crate) fn add_count(&mut self, pixels: usize) {
        self.bcount += pixels;
    }

    /// Folds the block sums into f64.
    pub(crate) fn flush(&mut self) {
        if self.bcount == 0 {
            return;
        }
        for ch in 0..self.cs {
            self.s1[ch] += self.b1[ch] as f64;
            self.s2[ch] += self.b2[ch] as f64;
        }
        self.b1.fill(0.0);
        self.b2.fill(0.0);
        self.count += self.bcount as f64;
        self.bcount = 0;
    }

    /// Adds the chains' totals into lanes `off..off + nl` of the block sums `b1`/`b2`.
    ///
    /// # Safety
    /// `off + nl <= cs`.
    #[inline(always)]
    pub(crate) unsafe fn add_chains<S: Simd>(
        &mut self,
        s: S,
        off: usize,
        nl: usize,
        c: &Chains<S>,
    ) {
        // No closure for the fold: closures lose the kernel's target features (see `simd`).
        for (b, a) in [(self.b1.as_mut_ptr(), &c.s1), (self.b2.as_mut_ptr(), &c.s2)] {
            let total = s.add(s.add(a[0], a[1]), s.add(a[2], a[3]));
            // SAFETY: the caller keeps `off + nl <= cs`, the length of `b1` and `b2`.
            unsafe {
                let q = b.add(off);
                s.store_part(q, s.add(s.load_part(q, nl), total), nl);
            }
        }
    }

    /// The chunk's statistics for its first `c` channels.
    pub(crate) fn finish(mut self, c: usize) -> ChanStats {
        self.flush();
        let n = self.count.max(1.0);
        let mut st = ChanStats::empty(c);
        st.count = self.count;
        for ch in 0..c {
            let m1 = self.s1[ch] / n;
            st.mean[ch] = self.shift[ch] as f64 + m1;
            st.m2[ch] = (self.s2[ch] - self.s1[ch] * m1).max(0.0);
        }
        st
    }
}

/// Block sums of `d` and `d²` for one vector of channels, in four independent chains (picked by
/// pixel index, or by position in a Winograd tile), so the adds and FMAs of consecutive pixels do
/// not wait on each other's latency; [`StatAcc::add_chains`] folds them into the block sums.
pub(crate) struct Chains<S: Simd> {
    s1: [S::V; 4],
    s2: [S::V; 4],
}

impl<S: Simd> Chains<S> {
    #[inline(always)]
    pub(crate) fn new(s: S) -> Self {
        Self {
            s1: [s.zero(); 4],
            s2: [s.zero(); 4],
        }
    }

    /// Adds `d` and `d²` to chain `k % 4`.
    #[inline(always)]
    pub(crate) fn push(&mut self, s: S, k: usize, d: S::V) {
        let k = k & 3;
        self.s1[k] = s.add(self.s1[k], d);
        self.s2[k] = s.fma(d, d, self.s2[k]);
    }
}

/// Applies `pre` to every element of `x`: a plain tensor for ops that cannot fuse the map.
pub fn materialize(isa: Isa, x: &Tensor, pre: Option<&PreOp>) -> Tensor {
    let Some(op) = pre else {
        return x.clone();
    };
    let mut y = Tensor::uninit(x.n, x.h, x.w, x.c, x.cs);
    let grain = (1 << 14) / x.cs.max(1) * x.cs.max(1);
    let grain = grain.max(x.cs);
    y.data
        .par_chunks_mut(grain)
        .zip(x.data.par_chunks(grain))
        .for_each(|(yc, xc)| {
            dispatch(
                isa,
                MapK {
                    x: xc,
                    y: yc,
                    cs: x.cs,
                    pre: op,
                },
            )
        });
    y
}

struct MapK<'a> {
    x: &'a [f32],
    y: &'a mut [f32],
    cs: usize,
    pre: &'a PreOp,
}

impl Kernel for MapK<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let pre = Pre::new(Some(self.pre));
        let px = self.x.len() / self.cs;
        // A plain loop, no closure: a closure would be compiled without the caller's target
        // features (tests/simd_codegen.rs).
        let mut off = 0;
        while off < self.cs {
            let n = S::LANES.min(self.cs - off);
            let p = pre.at(s, off, n);
            for i in 0..px {
                let o = i * self.cs + off;
                // SAFETY: `o + n <= len` for both slices (same length, whole pixels).
                unsafe {
                    let v = s.load_part(self.x.as_ptr().add(o), n);
                    s.store_part(self.y.as_mut_ptr().add(o), p.apply(s, v), n);
                }
            }
            off += n;
        }
    }
}

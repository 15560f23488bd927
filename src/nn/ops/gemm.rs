//! The one matrix-product kernel every convolution and the linear layer use.
//!
//! Register-blocked: an `MR x (NV * LANES)` block of C stays in registers while the `k` loop
//! broadcasts one A value per row and loads `NV` vectors of B. B and C are row-major with
//! contiguous columns (the channel dimension of an NHWC tensor, or a packed weight matrix); A
//! has arbitrary row and column strides, so im2col rows, Winograd tiles and their transposes
//! are all read in place, without packing. The last vector of a row may be partial (masked).
//!
//! Compiled once per SIMD path (`avx512`, `avx2`, `simd128`, `portable` below, reached through
//! [`Simd::gemm`]) so the register-block shapes suit each register file.
use super::simd::{Isa, Simd};

/// `C (m x n) = [C +] A (m x k) * B (k x n)`.
///
/// A(i, p) lives at `a + i * ars + p * acs`, B(p, j) at `b + p * brs + j`, C(i, j) at
/// `c + i * crs + j`.
///
/// # Safety
/// Every element those formulas name for `i < m`, `p < k`, `j < n` must be valid (C writable
/// and not overlapping A or B).
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub ars: usize,
    pub acs: usize,
    pub b: *const f32,
    pub brs: usize,
    pub c: *mut f32,
    pub crs: usize,
    pub accumulate: bool,
}

/// One `MR x NV` register block of C at rows `i0..i0 + rows`, columns from `j0`; `last` lanes
/// of the last vector are valid (`PART` when fewer than `LANES`).
#[inline(always)]
unsafe fn micro<S: Simd, const MR: usize, const NV: usize, const PART: bool>(
    s: S,
    g: &Gemm,
    i0: usize,
    j0: usize,
    rows: usize,
    last: usize,
) {
    let l = S::LANES;
    // SAFETY: the caller keeps `i0 + rows <= m` and `j0 + (NV - 1) * LANES + last <= n`; rows
    // past `rows` re-read the last valid row of A and are never stored.
    unsafe {
        let mut acc = [[s.zero(); NV]; MR];
        let c0 = g.c.add(i0 * g.crs + j0);
        if g.accumulate {
            for (i, row) in acc.iter_mut().enumerate() {
                if i < rows {
                    for (v, r) in row.iter_mut().enumerate() {
                        let p = c0.add(i * g.crs + v * l);
                        *r = if PART && v + 1 == NV {
                            s.load_n(p, last)
                        } else {
                            s.load(p)
                        };
                    }
                }
            }
        }
        let mut ap = [g.a; MR];
        for (i, p) in ap.iter_mut().enumerate() {
            *p = g.a.add((i0 + i.min(rows - 1)) * g.ars);
        }
        let mut bp = g.b.add(j0);
        for _ in 0..g.k {
            let mut bv = [s.zero(); NV];
            for (v, b) in bv.iter_mut().enumerate() {
                *b = if PART && v + 1 == NV {
                    s.load_n(bp.add(v * l), last)
                } else {
                    s.load(bp.add(v * l))
                };
            }
            for i in 0..MR {
                let a = s.bcast(ap[i]);
                for v in 0..NV {
                    acc[i][v] = s.fma(a, bv[v], acc[i][v]);
                }
                ap[i] = ap[i].add(g.acs);
            }
            bp = bp.add(g.brs);
        }
        for (i, row) in acc.iter().enumerate() {
            if i < rows {
                for (v, r) in row.iter().enumerate() {
                    let p = c0.add(i * g.crs + v * l);
                    if PART && v + 1 == NV {
                        s.store_n(p, *r, last);
                    } else {
                        s.store(p, *r);
                    }
                }
            }
        }
    }
}

/// Every row block of one column block.
#[inline(always)]
unsafe fn blocks<S: Simd, const MR: usize, const NV: usize, const PART: bool>(
    s: S,
    g: &Gemm,
    j0: usize,
    last: usize,
) {
    let mut i0 = 0;
    while i0 < g.m {
        let rows = MR.min(g.m - i0);
        // SAFETY: forwarded from `Gemm`'s contract; `rows` and `last` stay in bounds.
        unsafe { micro::<S, MR, NV, PART>(s, g, i0, j0, rows, last) };
        i0 += MR;
    }
}

/// Handles the degenerate shapes; returns true when nothing is left to do.
#[inline(always)]
unsafe fn trivial(g: &Gemm) -> bool {
    if g.m == 0 || g.n == 0 {
        return true;
    }
    if g.k == 0 {
        if !g.accumulate {
            for i in 0..g.m {
                // SAFETY: row i of C has n writable elements.
                unsafe { std::slice::from_raw_parts_mut(g.c.add(i * g.crs), g.n).fill(0.0) };
            }
        }
        return true;
    }
    false
}

/// Walks the columns in blocks of up to `max_nv` vectors and runs the register-block shape the
/// table gives for each width: `$nv => $mr`.
macro_rules! drive {
    ($s:expr, $g:expr, $max_nv:literal; $($nv:literal => $mr:literal),+) => {{
        let (s, g) = ($s, $g);
        let l = S_LANES;
        let mut j = 0;
        while j < g.n {
            let nv = (g.n - j).div_ceil(l).min($max_nv);
            let cols = (nv * l).min(g.n - j);
            let last = cols - (nv - 1) * l;
            // SAFETY: forwarded from `Gemm`'s contract.
            unsafe {
                match (nv, last < l) {
                    $(
                        ($nv, false) => blocks::<_, $mr, $nv, false>(s, g, j, last),
                        ($nv, true) => blocks::<_, $mr, $nv, true>(s, g, j, last),
                    )+
                    _ => unreachable!("column block of {nv} vectors"),
                }
            }
            j += cols;
        }
    }};
}

/// # Safety
/// AVX-512F/AVX2/FMA must be available, and `g` must satisfy [`Gemm`]'s contract.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn avx512(g: &Gemm) {
    const S_LANES: usize = 16;
    // SAFETY: this function's features are the token's.
    let s = unsafe { super::simd::Avx512::assume() };
    if unsafe { trivial(g) } {
        return;
    }
    // 32 zmm registers: up to 24 accumulators; at most 8 rows keeps the A row pointers in
    // general-purpose registers.
    drive!(s, g, 4; 4 => 6, 3 => 8, 2 => 8, 1 => 8);
}

/// # Safety
/// AVX2/FMA must be available, and `g` must satisfy [`Gemm`]'s contract.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn avx2(g: &Gemm) {
    const S_LANES: usize = 8;
    // SAFETY: this function's features are the token's.
    let s = unsafe { super::simd::Avx2::assume() };
    if unsafe { trivial(g) } {
        return;
    }
    // 16 ymm registers: 12 accumulators + 2 B vectors + 1 broadcast.
    drive!(s, g, 2; 2 => 6, 1 => 8);
}

/// # Safety
/// `g` must satisfy [`Gemm`]'s contract.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) unsafe fn simd128(g: &Gemm) {
    const S_LANES: usize = 4;
    let s = super::simd::Simd128::new();
    if unsafe { trivial(g) } {
        return;
    }
    // The engine maps v128 values to the host's vector registers: 16 on x86-64, one of them
    // its scratch, and the unfused multiply-add needs one for the product. 8 accumulators, up
    // to 4 B vectors and a broadcast fit; 12 accumulators spill (measured in Node on x86-64:
    // 4x2 and 2x4 blocks run at the portable path's speed, 2x6 and 3x4 at 70-80% of it).
    drive!(s, g, 4; 4 => 2, 3 => 3, 2 => 4, 1 => 8);
}

/// # Safety
/// `g` must satisfy [`Gemm`]'s contract.
pub(crate) unsafe fn portable(g: &Gemm) {
    const S_LANES: usize = 8;
    let s = super::simd::Portable::new();
    if unsafe { trivial(g) } {
        return;
    }
    drive!(s, g, 1; 1 => 4);
}

/// The product on `S`'s path, from inside a kernel: that path's own register-blocked
/// function. `S::ISA` is a constant, so this compiles to one direct call.
/// # Safety
/// `S`'s instruction set is available (a kernel's token proves it), and `g` satisfies
/// [`Gemm`]'s contract.
#[inline(always)]
pub(crate) unsafe fn on<S: Simd>(_s: S, g: &Gemm) {
    match S::ISA {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512(g) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2(g) },
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128 => unsafe { simd128(g) },
        _ => unsafe { portable(g) },
    }
}

/// Runs one product on `isa` (for callers outside a kernel, and tests).
pub fn run(isa: super::simd::Isa, g: &Gemm) {
    struct K<'a>(&'a Gemm);
    impl super::simd::Kernel for K<'_> {
        type Output = ();
        #[inline(always)]
        fn run<S: Simd>(self, s: S) {
            // SAFETY: `run`'s caller upholds the contract (see `checked`).
            unsafe { on(s, self.0) }
        }
    }
    super::simd::dispatch(isa, K(g));
}

/// A slice-checked product: `c (m x crs rows) [+]= a * b` with the strides of [`Gemm`];
/// panics if any element would fall outside the slices.
#[allow(clippy::too_many_arguments)]
pub fn checked(
    isa: super::simd::Isa,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    (ars, acs): (usize, usize),
    b: &[f32],
    brs: usize,
    c: &mut [f32],
    crs: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        crs >= n && c.len() >= (m - 1) * crs + n,
        "gemm: C too small"
    );
    if k > 0 {
        assert!(a.len() > (m - 1) * ars + (k - 1) * acs, "gemm: A too small");
        assert!(b.len() >= (k - 1) * brs + n, "gemm: B too small");
    }
    let g = Gemm {
        m,
        n,
        k,
        a: a.as_ptr(),
        ars,
        acs,
        b: b.as_ptr(),
        brs,
        c: c.as_mut_ptr(),
        crs,
        accumulate,
    };
    run(isa, &g);
}

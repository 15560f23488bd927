//! WebAssembly SIMD128: 4 f32 lanes in a `v128`.
//!
//! wasm has no run-time feature detection inside a module (an engine without SIMD refuses the
//! whole module), so this path exists only in builds compiled with
//! `-C target-feature=+simd128`; a build without it runs [`super::Portable`]. Without relaxed
//! SIMD there is no fused multiply-add: [`Simd::fma`] is a multiply and an add (two roundings,
//! as on the portable path on x86-64). With `+relaxed-simd` it is `f32x4.relaxed_madd`, which
//! the engine may fuse or not (one rounding or two, both within the kernel tests' bounds);
//! a module built with it does not load in an engine without relaxed SIMD, so a page must
//! detect that and load the plain simd128 build instead.
//!
//! LLVM does not turn the generic kernels' arrays of accumulators into `v128` code for wasm by
//! itself: every method here is one `core::arch::wasm32` intrinsic (or a few, for the partial
//! loads and stores).
use super::Simd;
use core::arch::wasm32::*;

/// Token for SIMD128 (always available in a build compiled with it).
#[derive(Clone, Copy, Debug)]
pub struct Simd128(());

impl Simd128 {
    pub(crate) fn new() -> Self {
        Simd128(())
    }
}

// The module is compiled only with `target_feature = "simd128"` (see `mod.rs`), so every
// intrinsic below is available; the unsafe ones are the loads and stores through raw pointers.
impl Simd for Simd128 {
    const LANES: usize = 4;
    const ISA: super::Isa = super::Isa::Simd128;
    type V = v128;

    #[inline(always)]
    fn zero(self) -> v128 {
        f32x4_splat(0.0)
    }
    #[inline(always)]
    fn splat(self, x: f32) -> v128 {
        f32x4_splat(x)
    }
    #[inline(always)]
    fn add(self, a: v128, b: v128) -> v128 {
        f32x4_add(a, b)
    }
    #[inline(always)]
    fn sub(self, a: v128, b: v128) -> v128 {
        f32x4_sub(a, b)
    }
    #[inline(always)]
    fn mul(self, a: v128, b: v128) -> v128 {
        f32x4_mul(a, b)
    }
    #[inline(always)]
    fn fma(self, a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }
    #[inline(always)]
    fn relu(self, v: v128) -> v128 {
        // pmax(a, b) is exactly `a < b ? b : a`: `v < 0 ? 0 : v`, a NaN passes through (and it
        // is one `maxps` on x86, where `f32x4_max` needs extra NaN handling).
        f32x4_pmax(v, f32x4_splat(0.0))
    }
    #[inline(always)]
    fn keep_if_pos(self, test: v128, v: v128) -> v128 {
        v128_and(f32x4_gt(test, f32x4_splat(0.0)), v)
    }
    #[inline(always)]
    fn to_array(self, v: v128) -> [f32; 16] {
        let mut out = [0.0; 16];
        out[0] = f32x4_extract_lane::<0>(v);
        out[1] = f32x4_extract_lane::<1>(v);
        out[2] = f32x4_extract_lane::<2>(v);
        out[3] = f32x4_extract_lane::<3>(v);
        out
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> v128 {
        // wasm loads need no alignment.
        unsafe { v128_load(p as *const v128) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: v128) {
        unsafe { v128_store(p as *mut v128, v) }
    }
    #[inline(always)]
    unsafe fn load_n(self, p: *const f32, n: usize) -> v128 {
        // Never reads past `n` values: the tail of a tensor may end a page.
        unsafe {
            match n {
                1 => v128_load32_zero(p as *const u32),
                2 => v128_load64_zero(p as *const u64),
                3 => f32x4_replace_lane::<2>(v128_load64_zero(p as *const u64), *p.add(2)),
                _ => v128_load(p as *const v128),
            }
        }
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, v: v128, n: usize) {
        unsafe {
            match n {
                1 => v128_store32_lane::<0>(v, p as *mut u32),
                2 => v128_store64_lane::<0>(v, p as *mut u64),
                3 => {
                    v128_store64_lane::<0>(v, p as *mut u64);
                    v128_store32_lane::<2>(v, p.add(2) as *mut u32);
                }
                _ => v128_store(p as *mut v128, v),
            }
        }
    }
    #[inline(always)]
    unsafe fn bcast(self, p: *const f32) -> v128 {
        unsafe { v128_load32_splat(p as *const u32) }
    }
}

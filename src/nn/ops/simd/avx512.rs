//! AVX-512F: 16 f32 lanes; partial vectors use masked loads and stores.
use super::{Kernel, Simd};
use std::arch::x86_64::*;

/// Token for AVX-512F (+ AVX2/FMA); constructed only by [`run`].
#[derive(Clone, Copy, Debug)]
pub struct Avx512(());

impl Avx512 {
    /// # Safety
    /// Only inside a function compiled with this path's target features, on a CPU that has them.
    #[inline(always)]
    pub(crate) unsafe fn assume() -> Self {
        Avx512(())
    }
}

/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn run<K: Kernel>(k: K) -> K::Output {
    k.run(Avx512(()))
}

#[inline(always)]
fn mask(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

// SAFETY (whole impl): an `Avx512` value exists only inside `run`, which the dispatcher calls
// after checking the CPU features, so every intrinsic here is available.
impl Simd for Avx512 {
    const LANES: usize = 16;
    const ISA: super::Isa = super::Isa::Avx512;
    type V = __m512;

    #[inline(always)]
    fn zero(self) -> __m512 {
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn relu(self, v: __m512) -> __m512 {
        // vmaxps returns its second operand when either is NaN: max(0, NaN) = NaN.
        unsafe { _mm512_max_ps(_mm512_setzero_ps(), v) }
    }
    #[inline(always)]
    fn keep_if_pos(self, test: __m512, v: __m512) -> __m512 {
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(test, _mm512_setzero_ps());
            _mm512_maskz_mov_ps(m, v)
        }
    }
    #[inline(always)]
    fn to_array(self, v: __m512) -> [f32; 16] {
        let mut out = [0.0; 16];
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), v) };
        out
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m512 {
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m512) {
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_n(self, p: *const f32, n: usize) -> __m512 {
        unsafe { _mm512_maskz_loadu_ps(mask(n), p) }
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, v: __m512, n: usize) {
        unsafe { _mm512_mask_storeu_ps(p, mask(n), v) }
    }
    #[inline(always)]
    unsafe fn bcast(self, p: *const f32) -> __m512 {
        unsafe { _mm512_set1_ps(*p) }
    }
}

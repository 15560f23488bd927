//! AVX2 + FMA: 8 f32 lanes; partial vectors use `vmaskmovps`.
use super::{Kernel, Simd};
use std::arch::x86_64::*;

/// Token for AVX2 + FMA; constructed only by [`run`].
#[derive(Clone, Copy, Debug)]
pub struct Avx2(());

impl Avx2 {
    /// # Safety
    /// Only inside a function compiled with this path's target features, on a CPU that has them.
    #[inline(always)]
    pub(crate) unsafe fn assume() -> Self {
        Avx2(())
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn run<K: Kernel>(k: K) -> K::Output {
    k.run(Avx2(()))
}

#[inline(always)]
unsafe fn mask(n: usize) -> __m256i {
    unsafe {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

// SAFETY (whole impl): an `Avx2` value exists only inside `run`, which the dispatcher calls
// after checking the CPU features, so every intrinsic here is available.
impl Simd for Avx2 {
    const LANES: usize = 8;
    const ISA: super::Isa = super::Isa::Avx2;
    type V = __m256;

    #[inline(always)]
    fn zero(self) -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn relu(self, v: __m256) -> __m256 {
        // vmaxps returns its second operand when either is NaN: max(0, NaN) = NaN.
        unsafe { _mm256_max_ps(_mm256_setzero_ps(), v) }
    }
    #[inline(always)]
    fn keep_if_pos(self, test: __m256, v: __m256) -> __m256 {
        unsafe { _mm256_and_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(test, _mm256_setzero_ps()), v) }
    }
    #[inline(always)]
    fn to_array(self, v: __m256) -> [f32; 16] {
        let mut out = [0.0; 16];
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
        out
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> __m256 {
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: __m256) {
        unsafe { _mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    unsafe fn load_n(self, p: *const f32, n: usize) -> __m256 {
        unsafe { _mm256_maskload_ps(p, mask(n)) }
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, v: __m256, n: usize) {
        unsafe { _mm256_maskstore_ps(p, mask(n), v) }
    }
    #[inline(always)]
    unsafe fn bcast(self, p: *const f32) -> __m256 {
        unsafe { _mm256_broadcast_ss(&*p) }
    }
}

//! Plain Rust on 8-lane arrays: the compiler vectorises it for whatever the target has (SSE2 on
//! any x86-64, NEON on aarch64). Used where neither AVX2 nor AVX-512 is available, and forced
//! in tests and CI so that this path stays correct.
use super::Simd;

/// Token for the portable path (always available).
#[derive(Clone, Copy, Debug)]
pub struct Portable(());

impl Portable {
    pub(crate) fn new() -> Self {
        Portable(())
    }
}

type V8 = [f32; 8];

#[inline(always)]
fn map2(a: V8, b: V8, f: impl Fn(f32, f32) -> f32) -> V8 {
    let mut o = [0.0; 8];
    for i in 0..8 {
        o[i] = f(a[i], b[i]);
    }
    o
}

impl Simd for Portable {
    const LANES: usize = 8;
    const ISA: super::Isa = super::Isa::Portable;
    type V = V8;

    #[inline(always)]
    fn zero(self) -> V8 {
        [0.0; 8]
    }
    #[inline(always)]
    fn splat(self, x: f32) -> V8 {
        [x; 8]
    }
    #[inline(always)]
    fn add(self, a: V8, b: V8) -> V8 {
        map2(a, b, |x, y| x + y)
    }
    #[inline(always)]
    fn sub(self, a: V8, b: V8) -> V8 {
        map2(a, b, |x, y| x - y)
    }
    #[inline(always)]
    fn mul(self, a: V8, b: V8) -> V8 {
        map2(a, b, |x, y| x * y)
    }
    #[inline(always)]
    fn fma(self, a: V8, b: V8, c: V8) -> V8 {
        let mut o = [0.0; 8];
        for i in 0..8 {
            // aarch64 always has a fused multiply-add; baseline x86-64 does not (a libm call).
            #[cfg(target_arch = "aarch64")]
            {
                o[i] = a[i].mul_add(b[i], c[i]);
            }
            #[cfg(not(target_arch = "aarch64"))]
            {
                o[i] = a[i] * b[i] + c[i];
            }
        }
        o
    }
    #[inline(always)]
    fn relu(self, v: V8) -> V8 {
        v.map(|x| if x < 0.0 { 0.0 } else { x })
    }
    #[inline(always)]
    fn keep_if_pos(self, test: V8, v: V8) -> V8 {
        map2(test, v, |t, x| if t > 0.0 { x } else { 0.0 })
    }
    #[inline(always)]
    fn to_array(self, v: V8) -> [f32; 16] {
        let mut out = [0.0; 16];
        out[..8].copy_from_slice(&v);
        out
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> V8 {
        unsafe { std::ptr::read_unaligned(p as *const V8) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: V8) {
        unsafe { std::ptr::write_unaligned(p as *mut V8, v) }
    }
    #[inline(always)]
    unsafe fn load_n(self, p: *const f32, n: usize) -> V8 {
        let mut o = [0.0; 8];
        for (i, v) in o.iter_mut().enumerate().take(n) {
            *v = unsafe { *p.add(i) };
        }
        o
    }
    #[inline(always)]
    unsafe fn store_n(self, p: *mut f32, v: V8, n: usize) {
        for (i, x) in v.iter().enumerate().take(n) {
            unsafe { *p.add(i) = *x };
        }
    }
    #[inline(always)]
    unsafe fn bcast(self, p: *const f32) -> V8 {
        [unsafe { *p }; 8]
    }
}

//! Runtime SIMD dispatch: one kernel source, four instruction sets.
//!
//! Kernels are written once as `impl Kernel` whose `run::<S: Simd>` is `#[inline(always)]`;
//! [`dispatch`] calls it through a `#[target_feature]` function per path, so the whole kernel is
//! compiled with AVX-512 or AVX2+FMA enabled without a global `target-cpu`, and the binary runs
//! on any x86-64 (and compiles for aarch64, where only [`Portable`] exists).
//!
//! On wasm32 there is no run-time detection (an engine refuses a module with instructions it
//! lacks), so the wasm SIMD128 path ([`Simd128`], 4 lanes) is chosen at compile time: it exists
//! in builds made with `-C target-feature=+simd128`, and [`Portable`] is the path otherwise.
//! `target_arch = "wasm32"` appears only here and at the GEMM entry point.
//!
//! No closures inside a kernel's vector code: a closure is compiled as a function of its own
//! without the `#[target_feature]`s of the function it sits in, so the intrinsics in it become
//! out-of-line calls (one such closure in the Winograd input transform cost a quarter of the
//! training time). Write an `#[inline(always)]` function instead.
//!
//! The path is chosen once ([`active`]): the best the CPU has, or the one named by the
//! environment variable `RESNET_LAB_SIMD=avx512|avx2|simd128|portable` (a path the CPU lacks falls back
//! with one printed line). Ops take the path as an argument, so tests can run every path the
//! machine supports in one process ([`available`]).
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;
#[cfg(target_arch = "x86_64")]
pub use avx512::Avx512;
pub use portable::Portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use wasm::Simd128;

/// An instruction-set path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F: 16 lanes, 32 registers, masked tails.
    Avx512,
    /// AVX2 + FMA: 8 lanes, 16 registers.
    Avx2,
    /// WebAssembly SIMD128: 4 lanes, no fused multiply-add (wasm32 builds with `+simd128`).
    Simd128,
    /// Plain Rust on 8-lane arrays: compiles everywhere (SSE2 on x86-64, NEON on aarch64).
    Portable,
}

impl Isa {
    /// Every path, best first.
    pub const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2, Isa::Simd128, Isa::Portable];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Simd128 => "simd128",
            Isa::Portable => "portable",
        }
    }

    pub fn parse(s: &str) -> Option<Isa> {
        Isa::ALL
            .into_iter()
            .find(|i| i.name().eq_ignore_ascii_case(s.trim()))
    }

    /// f32 lanes per vector register.
    pub fn lanes(self) -> usize {
        match self {
            Isa::Avx512 => 16,
            Isa::Avx2 | Isa::Portable => 8,
            Isa::Simd128 => 4,
        }
    }

    /// Whether this CPU (or, on wasm32, this build) can run the path.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The next path down, for falling back.
    fn fallback(self) -> Isa {
        let i = Isa::ALL.iter().position(|&i| i == self).unwrap_or(0);
        Isa::ALL.get(i + 1).copied().unwrap_or(Isa::Portable)
    }
}

/// "avx512, avx2, simd128, portable", for messages.
pub fn names() -> String {
    Isa::ALL.map(Isa::name).join(", ")
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The best path this CPU supports.
pub fn detect() -> Isa {
    Isa::ALL
        .into_iter()
        .find(|i| i.supported())
        .unwrap_or(Isa::Portable)
}

/// Every path this CPU supports, best first.
pub fn available() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|i| i.supported()).collect()
}

/// Resolves a requested path: the request if the CPU has it, else the best path below it, with
/// the note to print when the request could not be honoured.
pub fn resolve(request: Option<&str>) -> (Isa, Option<String>) {
    let Some(req) = request.map(str::trim).filter(|r| !r.is_empty()) else {
        return (detect(), None);
    };
    let Some(wanted) = Isa::parse(req) else {
        let best = detect();
        return (
            best,
            Some(format!(
                "RESNET_LAB_SIMD={req} is not one of {}; using {best}",
                names()
            )),
        );
    };
    let mut isa = wanted;
    while !isa.supported() {
        isa = isa.fallback();
    }
    let note = (isa != wanted)
        .then(|| format!("RESNET_LAB_SIMD={wanted}: this CPU lacks {wanted}, using {isa} instead"));
    (isa, note)
}

static ACTIVE: OnceLock<Isa> = OnceLock::new();

/// The path every model uses: chosen on first use from `RESNET_LAB_SIMD` or the CPU.
pub fn active() -> Isa {
    *ACTIVE.get_or_init(|| {
        let env = std::env::var("RESNET_LAB_SIMD").ok();
        let (isa, note) = resolve(env.as_deref());
        if let Some(n) = note {
            eprintln!("{n}");
        }
        isa
    })
}

/// Picks the path before anything has used [`active`] (the bench's `--simd`). Returns the path
/// in force, and a note when it differs from the request.
pub fn force(request: &str) -> (Isa, Option<String>) {
    let (isa, note) = resolve(Some(request));
    let got = *ACTIVE.get_or_init(|| isa);
    if got != isa {
        return (
            got,
            Some(format!(
                "the SIMD path was already chosen ({got}); --simd {request} ignored"
            )),
        );
    }
    (got, note)
}

/// One vector instruction set. A value of an implementing type is a token: it exists only when
/// the CPU has the instructions (see [`dispatch`]), which is what makes the safe methods sound.
///
/// Every method is `#[inline(always)]`, so a kernel generic over `S` compiles to straight vector
/// code inside the `#[target_feature]` function that [`dispatch`] calls.
pub trait Simd: Copy + Send + Sync + 'static {
    const LANES: usize;
    const ISA: Isa;
    type V: Copy;

    fn zero(self) -> Self::V;
    fn splat(self, x: f32) -> Self::V;
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c` (one rounding where the hardware fuses).
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `v < 0 ? 0 : v`; a NaN passes through, so divergence reaches the loss.
    fn relu(self, v: Self::V) -> Self::V;
    /// `test > 0 ? v : 0` (a NaN test gives 0, as the scalar `>` would).
    fn keep_if_pos(self, test: Self::V, v: Self::V) -> Self::V;
    /// Lane values, for reductions at the end of a pass.
    fn to_array(self, v: Self::V) -> [f32; 16];

    /// # Safety
    /// `p` is valid for `LANES` reads.
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// # Safety
    /// `p` is valid for `LANES` writes.
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// Loads the first `n` lanes (`1 <= n <= LANES`); the rest are zero.
    /// # Safety
    /// `p` is valid for `n` reads.
    unsafe fn load_n(self, p: *const f32, n: usize) -> Self::V;
    /// Stores the first `n` lanes.
    /// # Safety
    /// `p` is valid for `n` writes.
    unsafe fn store_n(self, p: *mut f32, v: Self::V, n: usize);
    /// `splat(*p)`, a broadcast straight from memory.
    /// # Safety
    /// `p` is valid for one read.
    unsafe fn bcast(self, p: *const f32) -> Self::V;

    /// Loads `n` lanes, full or partial.
    /// # Safety
    /// `p` is valid for `n` reads.
    #[inline(always)]
    unsafe fn load_part(self, p: *const f32, n: usize) -> Self::V {
        unsafe {
            if n == Self::LANES {
                self.load(p)
            } else {
                self.load_n(p, n)
            }
        }
    }
    /// Stores `n` lanes, full or partial.
    /// # Safety
    /// `p` is valid for `n` writes.
    #[inline(always)]
    unsafe fn store_part(self, p: *mut f32, v: Self::V, n: usize) {
        unsafe {
            if n == Self::LANES {
                self.store(p, v)
            } else {
                self.store_n(p, v, n)
            }
        }
    }
}

/// A computation to run on one SIMD path; `run` must be `#[inline(always)]`.
pub trait Kernel {
    type Output;
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// Runs `k` on `isa`. Panics if the CPU lacks `isa` (callers get paths from [`active`] or
/// [`available`]).
pub fn dispatch<K: Kernel>(isa: Isa, k: K) -> K::Output {
    assert!(
        isa.supported(),
        "SIMD path {isa} is not supported by this CPU"
    );
    match isa {
        // SAFETY: checked just above that the CPU has the features these functions enable.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::run(k) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::run(k) },
        // The whole build has the feature: nothing to enable per function.
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Isa::Simd128 => k.run(Simd128::new()),
        _ => k.run(Portable::new()),
    }
}

/// Measured throughput of independent fused multiply-adds on one core with `isa`, in GFLOP/s:
/// the ceiling the bench reports its fraction of (clock and FMA units included, whatever the
/// CPU; about 50 ms).
pub fn fma_peak(isa: Isa) -> f64 {
    struct K(u64);
    impl Kernel for K {
        type Output = f32;
        #[inline(always)]
        fn run<S: Simd>(self, s: S) -> f32 {
            // Ten independent chains cover an FMA latency of 4-5 cycles on two pipes.
            let mut acc = [s.zero(); 10];
            let a = s.splat(std::hint::black_box(0.999));
            let b = s.splat(std::hint::black_box(1e-3));
            for _ in 0..self.0 {
                for x in acc.iter_mut() {
                    *x = s.fma(*x, a, b);
                }
            }
            acc.iter().map(|&v| s.to_array(v)[0]).sum()
        }
    }
    let iters = 200_000u64;
    let flops = (iters * 10 * isa.lanes() as u64 * 2) as f64;
    let mut best = f64::MAX;
    for _ in 0..6 {
        let t = web_time::Instant::now();
        std::hint::black_box(dispatch(isa, K(std::hint::black_box(iters))));
        best = best.min(t.elapsed().as_secs_f64());
    }
    flops / best / 1e9
}

/// The paths a test should cover: the one `RESNET_LAB_SIMD` forces (CI runs the kernel tests
/// once per path), or else every path this CPU has.
pub fn paths_under_test() -> Vec<Isa> {
    match std::env::var("RESNET_LAB_SIMD") {
        Ok(v) if !v.trim().is_empty() => vec![active()],
        _ => available(),
    }
}

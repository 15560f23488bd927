//! The kernel tests of tests/nn_kernels.rs and the finite-difference checks of
//! tests/nn_gradcheck.rs, compiled for wasm32 and run in Node on every path the build has
//! (SIMD128 and portable), plus what only a wasm build can check: the path it runs, rayon on a
//! single thread, the memory limit. Built with `+simd128` (the README's command):
//!
//! ```text
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   RUSTFLAGS="-C target-feature=+simd128" \
//!   cargo test --target wasm32-unknown-unknown --test wasm_kernels
//! ```
//!
//! `--release -- --include-ignored` adds the benchmark (ResNet-20 training steps and a GEMM,
//! one thread, on both paths), which prints images per second.
#![cfg(target_arch = "wasm32")]

// The native test files themselves, with `#[test]` standing for `#[wasm_bindgen_test]`.
#[path = "nn_gradcheck.rs"]
mod nn_gradcheck;
#[path = "nn_kernels.rs"]
mod nn_kernels;

use rayon::prelude::*;
use resnet_lab::nn::ops::loss::cross_entropy;
use resnet_lab::nn::ops::simd::{self, Isa};
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::nn::{Model, ModelOptions, Optimizer, OptimizerKind, Shape};
use resnet_lab::rng::Rng64;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen_test]
fn this_build_runs_the_simd128_path() {
    assert_eq!(
        simd::active(),
        Isa::Simd128,
        "these tests are meant for a +simd128 build: RUSTFLAGS=\"-C target-feature=+simd128\""
    );
    assert_eq!(simd::available(), [Isa::Simd128, Isa::Portable]);
    let model = Model::new(
        &presets::cifar(8, true, ShortcutOption::A, 4, 3).unwrap(),
        Shape::new(1, 8, 8),
        0,
        ModelOptions::default(),
    )
    .unwrap();
    assert_eq!(model.simd(), Isa::Simd128);
}

#[wasm_bindgen_test]
fn rayon_falls_back_to_the_calling_thread() {
    // wasm32 without atomics has no threads: rayon's global pool is the current thread, and
    // every parallel loop in the kernels runs on it.
    assert_eq!(rayon::current_num_threads(), 1);
    let sum: u64 = (0..10_000u64).into_par_iter().map(|x| x * x).sum();
    assert_eq!(sum, (0..10_000u64).map(|x| x * x).sum::<u64>());
    let mut v = vec![1.0f32; 4096];
    v.par_chunks_mut(100).enumerate().for_each(|(i, c)| {
        for x in c {
            *x *= i as f32;
        }
    });
    assert_eq!(v[4095], 40.0);
    // A pool of its own cannot be built here (the app's worker and the landscape job make one).
    assert!(
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .is_err()
    );
}

#[wasm_bindgen_test]
fn the_memory_limit_is_the_wasm32_address_space() {
    let l = resnet_lab::util::mem_limit();
    assert!(l.bytes > 1 << 30 && l.bytes < 4 << 30, "{}", l.describe());
    assert!(l.describe().contains("wasm32"), "{}", l.describe());
}

/// Milliseconds from JavaScript's clock (`std::time::Instant` panics on wasm32).
fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The native `resnet-lab bench --arch resnet --depth 20 --batch 64 --threads 1` (28x28, one
/// channel, SGD, 3 warm-up steps) on `isa`; images per second.
fn resnet20_img_s(isa: Isa, steps: usize) -> f64 {
    let (batch, warmup) = (64, 3);
    let spec = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
    let input = Shape::new(1, 28, 28);
    let mut model = Model::new(&spec, input, 0, ModelOptions::default()).unwrap();
    model.set_simd(isa);
    let mut opt = Optimizer::new(OptimizerKind::Sgd {
        momentum: 0.9,
        weight_decay: 1e-4,
    });
    let mut r = Rng64::new(0);
    let x: Vec<f32> = (0..batch * input.len()).map(|_| r.normal()).collect();
    let y: Vec<usize> = (0..batch).map(|_| r.below(10)).collect();
    let mut ms = 0.0;
    for step in 0..warmup + steps {
        let t = now_ms();
        let logits = model.forward(x.clone(), batch, true);
        let (_, d, _) = cross_entropy(batch, 10, &logits, &y);
        model.zero_grad();
        model.backward(d);
        opt.step(&mut model, 0.05);
        if step >= warmup {
            ms += now_ms() - t;
        }
    }
    (steps * batch) as f64 / (ms / 1e3)
}

/// GFLOP/s of `c = a * b` at `(m, n, k)` on `isa`: the best of 7 timings of about 0.1 s (the
/// machine is shared).
fn gemm_gflops(isa: Isa, (m, n, k): (usize, usize, usize)) -> f64 {
    let mut r = Rng64::new(1);
    let a: Vec<f32> = (0..m * k).map(|_| r.normal()).collect();
    let b: Vec<f32> = (0..k * n).map(|_| r.normal()).collect();
    let mut c = vec![0.0; m * n];
    let flops = 2 * m * n * k;
    let reps = (1e9 / flops as f64).ceil() as usize;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = now_ms();
        for _ in 0..reps {
            resnet_lab::nn::ops::gemm::checked(isa, (m, n, k), &a, (k, 1), &b, n, &mut c, n, false);
        }
        best = best.min((now_ms() - t) / 1e3);
    }
    (flops * reps) as f64 / best / 1e9
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run with --release -- --include-ignored"]
fn bench_gemm() {
    // The products ResNet-20 at batch 64 on 28x28 runs: per Winograd F(4x4) position, tiles x
    // in-channels x out-channels for each stage; and a stride-2 conv's im2col product.
    let shapes = [
        (3136, 16, 16),
        (784, 32, 32),
        (256, 64, 64),
        (12544, 32, 144),
    ];
    for isa in simd::available() {
        let gf: Vec<String> = shapes
            .iter()
            .map(|&(m, n, k)| format!("{m}x{n}x{k} {:.2}", gemm_gflops(isa, (m, n, k))))
            .collect();
        console_log!("wasm bench: simd={isa} gemm GFLOP/s: {}", gf.join(", "));
    }
}

#[wasm_bindgen_test]
#[ignore = "a benchmark: run with --release -- --include-ignored"]
fn bench_resnet20_training_step() {
    for isa in simd::available() {
        let img_s = resnet20_img_s(isa, if isa == Isa::Portable { 3 } else { 10 });
        console_log!(
            "wasm bench: resnet-20 batch=64 size=28 threads=1 simd={isa} img/s={img_s:.1}"
        );
    }
}

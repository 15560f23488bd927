//! The browser benchmark's training step (web/bench.sh): the same measurement as
//! `resnet-lab bench` (a CIFAR-style net, random 1-channel images, the training loop's own step),
//! run inside a Web Worker of the page.
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{Model, ModelOptions, Optimizer, OptimizerKind, Shape};
use crate::rng::Rng64;
use crate::train::trainer::Trainer;
use wasm_bindgen::prelude::*;
use web_time::Instant;

/// Training images per second of a `depth`-layer net (ResNet when `residual`, else plain) on
/// batches of `batch` 1x`size`x`size` images: `steps` timed steps after `warmup` untimed ones.
#[wasm_bindgen]
pub fn bench_train(
    residual: bool,
    depth: usize,
    batch: usize,
    size: usize,
    warmup: usize,
    steps: usize,
) -> Result<f64, JsValue> {
    if batch == 0 || batch > 1024 || !(8..=128).contains(&size) || steps == 0 {
        return Err("bench_train needs 1 <= batch <= 1024, 8 <= size <= 128, steps >= 1".into());
    }
    let spec = presets::cifar(depth, residual, ShortcutOption::A, 16, 10)
        .ok_or_else(|| JsValue::from_str(&format!("depth {depth} is not 6n+2")))?;
    let input = Shape::new(1, size, size);
    let model = Model::new(&spec, input, 0, ModelOptions::default())
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let opt = Optimizer::new(OptimizerKind::Sgd {
        momentum: 0.9,
        weight_decay: 1e-4,
    });
    let mut t = Trainer::new(model, opt);
    let mut r = Rng64::new(0);
    let x: Vec<f32> = (0..batch * input.len()).map(|_| r.normal()).collect();
    let y: Vec<usize> = (0..batch).map(|_| r.below(10)).collect();
    let mut elapsed = 0.0;
    for step in 0..warmup + steps {
        let time = Instant::now();
        let _ = t.backward(x.clone(), &y);
        t.update(0.05);
        if step >= warmup {
            elapsed += time.elapsed().as_secs_f64();
        }
    }
    Ok((steps * batch) as f64 / elapsed)
}

/// Which kernel path this build runs ("simd128" or "portable").
#[wasm_bindgen]
pub fn simd_path() -> String {
    crate::nn::ops::simd::active().to_string()
}

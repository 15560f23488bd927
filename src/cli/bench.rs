//! Training throughput on random data, the same network and step as
//! ../shared/bench/torch_resnet_bench.py, so the two can be compared side by side.
use super::Arch;
use crate::nn::ops::loss::cross_entropy;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{Model, ModelOptions, Optimizer, OptimizerKind, Shape};
use crate::rng::Rng64;
use clap::Args;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[arg(long, value_enum, default_value = "resnet")]
    pub arch: Arch,
    #[arg(long, default_value_t = 20, value_parser = super::flags::depth)]
    pub depth: usize,
    #[arg(long, default_value_t = 64, value_parser = super::flags::batch)]
    pub batch: usize,
    #[arg(long, default_value_t = 28)]
    pub size: usize,
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    #[arg(long, default_value_t = 2, value_parser = super::flags::threads)]
    pub threads: usize,
    /// Also record the gradient and activation probes every step (to measure their cost).
    #[arg(long)]
    pub probe: bool,
}

pub fn run(a: BenchArgs) -> Result<(), String> {
    if a.batch == 0 || a.batch > 4096 || a.size < 8 || a.size > 512 || a.steps == 0 {
        return Err(
            "bench needs 1 <= batch <= 4096, 8 <= size <= 512 and at least one step".into(),
        );
    }
    let spec = presets::cifar(a.depth, a.arch == Arch::Resnet, ShortcutOption::A, 16, 10)
        .ok_or_else(|| format!("depth {} is not 6n+2", a.depth))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .map_err(|e| e.to_string())?;
    let input = Shape::new(1, a.size, a.size);
    // Refuse before building a net that cannot fit (e.g. --depth 1202 --size 512).
    let hyper = crate::train::Hyper {
        batch: a.batch,
        threads: a.threads,
        ..Default::default()
    };
    let shape = crate::train::budget::DataShape {
        input,
        n_train: a.batch,
        n_test: 0,
        bytes: 0,
    };
    crate::train::budget::check_parts(&spec.name, &spec, &hyper, shape, &crate::util::mem_limit())
        .map_err(|over| over.message(true))?;
    let flops_fwd = spec.infer(input).map_err(|e| e.to_string())?.flops as f64;
    let (elapsed, params) = pool.install(|| {
        let mut model =
            Model::new(&spec, input, 0, ModelOptions::default()).expect("preset is valid");
        model.set_probe(a.probe);
        let mut opt = Optimizer::new(OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 1e-4,
        });
        let mut r = Rng64::new(0);
        let x: Vec<f32> = (0..a.batch * input.len()).map(|_| r.normal()).collect();
        let y: Vec<usize> = (0..a.batch).map(|_| r.below(10)).collect();
        let mut elapsed = 0.0;
        for step in 0..a.warmup + a.steps {
            let t = Instant::now();
            let logits = model.forward(x.clone(), a.batch, true);
            let (_, d, _) = cross_entropy(a.batch, 10, &logits, &y);
            model.zero_grad();
            model.backward(d);
            if a.probe {
                std::hint::black_box(model.grad_norms());
            }
            opt.step(&mut model, 0.05);
            if step >= a.warmup {
                elapsed += t.elapsed().as_secs_f64();
            }
        }
        (elapsed, model.param_count())
    });
    let img_s = (a.steps * a.batch) as f64 / elapsed;
    // forward + backward is about three forward passes of arithmetic
    let gflops = img_s * 3.0 * flops_fwd / 1e9;
    let kind = if a.arch == Arch::Resnet {
        "resnet"
    } else {
        "plain"
    };
    println!(
        "resnet-lab {kind}-{} batch={} size={} threads={} img/s={img_s:.1} GFLOP/s={gflops:.1} step_ms={:.1} params={params} peak_rss_mb={}",
        a.depth,
        a.batch,
        a.size,
        a.threads,
        elapsed / a.steps as f64 * 1e3,
        peak_rss_mb()
            .map(|m| format!("{m:.0}"))
            .unwrap_or_else(|| "?".into())
    );
    Ok(())
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

//! Training (or eval-mode inference) throughput on random data, the same network and step as
//! ../shared/bench/torch_resnet_bench.py, so the two can be compared side by side.
//!
//! Prints images per second, GFLOP/s counted as a direct convolution would need them (forward +
//! backward = 3x the forward multiply-adds; Winograd does fewer, so this can exceed what the
//! hardware executes), and that rate as a fraction of this CPU's measured FMA peak on the
//! threads used.
use super::Arch;
use crate::nn::ops::simd;
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{Model, ModelOptions, Optimizer, OptimizerKind, Shape};
use crate::rng::Rng64;
use crate::train::trainer::Trainer;
use clap::{Args, ValueEnum};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// forward + backward + SGD update, batch-norm batch statistics
    Train,
    /// forward only, batch norm with running statistics (what a loss landscape evaluates)
    Eval,
}

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
    #[arg(long, value_enum, default_value = "train")]
    pub mode: Mode,
    /// SIMD path: avx512, avx2 or portable (default: the best this CPU has, or
    /// $RESNET_LAB_SIMD).
    #[arg(long)]
    pub simd: Option<String>,
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
    if a.threads == 0 || a.threads > 256 {
        return Err("bench needs 1 <= --threads <= 256".into());
    }
    if let Some(req) = &a.simd {
        if simd::Isa::parse(req).is_none() {
            return Err(format!(
                "--simd {req}: expected one of avx512, avx2, portable"
            ));
        }
        let (_, note) = simd::force(req);
        if let Some(n) = note {
            eprintln!("{n}");
        }
    }
    let isa = simd::active();
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
    let train = a.mode == Mode::Train;
    let (elapsed, params) = pool.install(|| {
        let mut model =
            Model::new(&spec, input, 0, ModelOptions::default()).expect("preset is valid");
        model.set_probe(a.probe);
        let opt = Optimizer::new(OptimizerKind::Sgd {
            momentum: 0.9,
            weight_decay: 1e-4,
        });
        // The training loop's own step (forward, loss, backward, update).
        let mut t = Trainer::new(model, opt);
        let mut r = Rng64::new(0);
        let x: Vec<f32> = (0..a.batch * input.len()).map(|_| r.normal()).collect();
        let y: Vec<usize> = (0..a.batch).map(|_| r.below(10)).collect();
        let mut elapsed = 0.0;
        for step in 0..a.warmup + a.steps {
            let time = Instant::now();
            if train {
                if t.backward(x.clone(), &y).is_ok() && a.probe {
                    std::hint::black_box(t.model.grad_norms());
                }
                t.update(0.05);
            } else {
                std::hint::black_box(t.model.forward(x.clone(), a.batch, false));
            }
            if step >= a.warmup {
                elapsed += time.elapsed().as_secs_f64();
            }
        }
        (elapsed, t.model.param_count())
    });
    let img_s = (a.steps * a.batch) as f64 / elapsed;
    // forward + backward is about three forward passes of arithmetic
    let gflops = img_s * if train { 3.0 } else { 1.0 } * flops_fwd / 1e9;
    let peak = simd::fma_peak(isa) * a.threads as f64;
    let kind = if a.arch == Arch::Resnet {
        "resnet"
    } else {
        "plain"
    };
    let mode = if train { "" } else { " mode=eval" };
    println!(
        "resnet-lab {kind}-{} batch={} size={} threads={}{mode} simd={isa} img/s={img_s:.1} GFLOP/s={gflops:.1} peak={:.0}% step_ms={:.1} params={params} peak_rss_mb={}",
        a.depth,
        a.batch,
        a.size,
        a.threads,
        100.0 * gflops / peak,
        elapsed / a.steps as f64 * 1e3,
        peak_rss_mb()
            .map(|m| format!("{m:.0}"))
            .unwrap_or_else(|| "?".into())
    );
    println!(
        "  cpu: {} ({} MHz nominal); measured FMA peak {:.1} GFLOP/s per core with {isa}, {:.1} on {} thread(s); GFLOP/s counts a direct convolution's multiply-adds",
        cpu_model().unwrap_or_else(|| "unknown".into()),
        cpu_mhz().map_or("?".into(), |m| format!("{m:.0}")),
        peak / a.threads as f64,
        peak,
        a.threads
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

fn cpuinfo(key: &str) -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn cpu_model() -> Option<String> {
    cpuinfo("model name")
}

fn cpu_mhz() -> Option<f64> {
    cpuinfo("cpu MHz")?.parse().ok()
}

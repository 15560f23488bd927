//! `export-torch`, `import-torch`, and the hidden `dev-step` that lets tests/torch/compare.py
//! drive this engine on the same weights and batches as PyTorch.
use super::{Arch, ShortcutArg};
use crate::data::{LoadOptions, Source};
use crate::nn::presets::{self, ShortcutOption};
use crate::nn::{
    Model, ModelOptions, NetSpec, Optimizer, OptimizerKind, Shape, Tensor, TensorData,
};
use crate::train::safetensors::{decode, encode};
use crate::train::trainer::Trainer;
use crate::train::{DataInfo, Hyper, NetEntry, RunHistory, run_dir, torch_export};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExportTorchArgs {
    /// A run folder (from `train --save` or the app's Save run).
    pub run: PathBuf,
    /// Folder for model.py, weights.safetensors and train.py.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ImportTorchArgs {
    /// The run folder whose net the weights belong to.
    pub run: PathBuf,
    /// A PyTorch state dict saved as safetensors (e.g. train.py's output).
    pub weights: PathBuf,
    /// Save the run with the imported weights here (default: replace the run's own weights).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn export(a: ExportTorchArgs) -> Result<(), String> {
    for p in torch_export::export(&a.run, &a.out)? {
        eprintln!("wrote {}", p.display());
    }
    eprintln!(
        "continue training: cd {} && torchrun --nproc_per_node=2 train.py --data DATA_DIR",
        a.out.display()
    );
    Ok(())
}

pub fn import(a: ImportTorchArgs) -> Result<(), String> {
    let out = a.out.clone().unwrap_or_else(|| a.run.clone());
    let mut m = torch_export::import(&a.run, &a.weights, &out)?;
    eprintln!(
        "read {} tensors from {} into {}; saved the run to {}",
        m.params().len(),
        a.weights.display(),
        m.spec().name,
        out.display()
    );
    Ok(())
}

/// Forward, backward and SGD steps on given batches, for the PyTorch comparison.
#[derive(Args, Debug)]
pub struct DevStepArgs {
    /// A NetSpec JSON; without it, the preset from --arch, --depth, --shortcut, --width.
    #[arg(long, conflicts_with = "run")]
    pub spec: Option<PathBuf>,
    /// Start from a saved run's trained net (`train --save`) instead of fresh weights.
    #[arg(long)]
    pub run: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "resnet")]
    pub arch: Arch,
    #[arg(long, default_value_t = 20)]
    pub depth: usize,
    #[arg(long, value_enum, default_value = "a")]
    pub shortcut: ShortcutArg,
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// safetensors with `x` [S, N, C, H, W] (F32) and `y` [S, N] (I64): step k uses batch k mod S.
    #[arg(long)]
    pub batch: PathBuf,
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    #[arg(long, default_value_t = 0.1)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    #[arg(long, default_value_t = 1e-4)]
    pub wd: f32,
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Also record every layer's eval-mode output on the first batch at the initial weights
    /// (`trace.<layer key>`).
    #[arg(long)]
    pub trace: bool,
    /// Also record every ReLU's output in each step's train-mode forward pass
    /// (`relu<k>.<ReLU key>`, [N, C, H, W]; positive where its input was, the ReLU's discrete
    /// choice), so PyTorch can replay each step layer by layer.
    #[arg(long)]
    pub relu_outputs: bool,
    /// Run folder to write: the net and its initial weights, plus oracle.safetensors with the
    /// results (logits, loss, grad.*, step_loss, state<k>.* and momentum<k>.* after step k,
    /// after.*, eval_logits_init, eval_logits; relu<k>.* with --relu-outputs).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn dev_step(a: DevStepArgs) -> Result<(), String> {
    let bytes = run_dir::read_limited(&a.batch, run_dir::MAX_WEIGHTS_BYTES)?;
    let contents = decode(&bytes, &a.batch.display().to_string())?;
    let get = |n: &str| {
        contents
            .tensors
            .iter()
            .find(|t| t.name == n)
            .ok_or_else(|| format!("{} has no tensor `{n}`", a.batch.display()))
    };
    let (x, y) = (get("x")?, get("y")?);
    let (TensorData::F32(xs), TensorData::I64(ys)) = (&x.data, &y.data) else {
        return Err("x must be F32 and y I64".into());
    };
    let [s, n, c, h, w] = x.shape[..] else {
        return Err("x must be [steps, batch, C, H, W]".into());
    };
    if y.shape != [s, n] || s == 0 || n == 0 {
        return Err("y must be [steps, batch] to match x".into());
    }
    let input = Shape::new(c, h, w);
    let saved = match &a.run {
        Some(dir) => {
            let saved = run_dir::open(dir)?;
            if saved.model.is_none() {
                return Err(format!("{} has no trained weights", dir.display()));
            }
            Some(saved)
        }
        None => None,
    };
    let spec = match (&a.spec, &saved) {
        (_, Some(saved)) => saved.spec.clone(),
        (Some(p), None) => {
            let text = crate::util::read_regular_text(p, 16 << 20, "a network spec")
                .map_err(|e| format!("could not read {}: {e}", p.display()))?;
            NetSpec::from_json(&text)
                .map_err(|e| format!("{} is not a network spec: {e}", p.display()))?
        }
        (None, None) => {
            let option = match a.shortcut {
                ShortcutArg::A => ShortcutOption::A,
                ShortcutArg::B => ShortcutOption::B,
            };
            presets::cifar(a.depth, a.arch == Arch::Resnet, option, a.width, a.classes)
                .ok_or_else(|| format!("depth {} is not 6n+2", a.depth))?
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads)
        .build()
        .map_err(|e| e.to_string())?;
    pool.install(|| {
        let mut m = match saved {
            Some(saved) => {
                let m = saved.model.expect("checked above");
                if m.input_shape() != input {
                    return Err(format!(
                        "{} takes {} images but the batch holds {input}",
                        saved.dir.display(),
                        m.input_shape()
                    ));
                }
                m
            }
            None => Model::new(&spec, input, a.seed, ModelOptions::default())
                .map_err(|e| e.to_string())?,
        };
        let classes = m.classes();
        if let Some(bad) = ys.iter().find(|&&l| l < 0 || l as usize >= classes) {
            return Err(format!(
                "label {bad} is outside the net's {classes} classes"
            ));
        }
        let hyper = Hyper {
            batch: n,
            lr: a.lr,
            momentum: a.momentum,
            weight_decay: a.wd,
            seed: a.seed,
            ..Hyper::default()
        };
        let mut history = RunHistory::new(&NetEntry::new(spec.clone()), &hyper);
        history.data = Some(DataInfo {
            source: Source::Builtin,
            options: LoadOptions::default(),
            name: "dev-step batches".into(),
            classes: (0..classes).map(|i| i.to_string()).collect(),
            channels: c,
            height: h,
            width: w,
            mean: vec![0.0; c],
            std: vec![1.0; c],
            train_len: s * n,
            test_len: 0,
        });
        run_dir::save(&a.out, &history, Some(&mut m))?;
        let per = n * input.len();
        let batch = |k: usize| {
            let k = k % s;
            let labels: Vec<usize> = ys[k * n..(k + 1) * n].iter().map(|&l| l as usize).collect();
            (xs[k * per..(k + 1) * per].to_vec(), labels)
        };
        let mut out = Vec::new();
        let (x0, _) = batch(0);
        if a.trace {
            for t in m.trace(&x0, n) {
                let sh = t.shape;
                out.push(Tensor::f32(
                    format!("trace.{}", t.key),
                    vec![n, sh.c, sh.h, sh.w],
                    t.values,
                ));
            }
        }
        out.push(Tensor::f32(
            "eval_logits_init",
            vec![n, classes],
            m.forward(x0.clone(), n, false),
        ));
        let opt = Optimizer::new(OptimizerKind::Sgd {
            momentum: a.momentum,
            weight_decay: a.wd,
        });
        let mut t = Trainer::new(m, opt);
        let mut losses = Vec::new();
        for k in 0..a.steps {
            let (xb, yb) = batch(k);
            let mut relus = Vec::new();
            let pass = t
                .backward_with(xb, &yb, &mut |m| {
                    if a.relu_outputs {
                        relus = m.relu_outputs();
                    }
                })
                .map_err(|loss| format!("the loss at step {k} is not finite ({loss})"))?;
            for r in relus {
                let sh = r.shape;
                out.push(Tensor::f32(
                    format!("relu{k}.{}", r.key),
                    vec![n, sh.c, sh.h, sh.w],
                    r.values,
                ));
            }
            if k == 0 {
                out.push(Tensor::f32("logits", vec![n, classes], pass.logits));
                out.push(Tensor::f32("loss", vec![], vec![pass.loss]));
                for g in t.model.grads() {
                    out.push(Tensor {
                        name: format!("grad.{}", g.name),
                        ..g
                    });
                }
            }
            losses.push(pass.loss);
            t.update(a.lr);
            // The state after each step, so each step can be checked from the same start.
            for p in t.model.params() {
                out.push(Tensor {
                    name: format!("state{k}.{}", p.name),
                    ..p
                });
            }
            for (g, v) in t.model.grads().into_iter().zip(t.opt.momentum()) {
                out.push(Tensor {
                    name: format!("momentum{k}.{}", g.name),
                    data: TensorData::F32(v.clone()),
                    ..g
                });
            }
        }
        let mut m = t.model;
        out.push(Tensor::f32("step_loss", vec![losses.len()], losses));
        for p in m.params() {
            out.push(Tensor {
                name: format!("after.{}", p.name),
                ..p
            });
        }
        out.push(Tensor::f32(
            "eval_logits",
            vec![n, classes],
            m.forward(x0, n, false),
        ));
        let path = a.out.join("oracle.safetensors");
        crate::util::write_atomic(&path, &encode(&out, &BTreeMap::new()))
            .map_err(|e| format!("could not write {}: {e}", path.display()))
    })
}

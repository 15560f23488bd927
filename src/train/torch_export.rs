//! Carry a run to PyTorch and back: `model.py` (a readable `torch.nn.Module` built from the
//! NetSpec), the weights, and a `train.py` that continues training with `torchrun`; and the way
//! back, a PyTorch state dict read into a run folder.
//!
//! The generated module names every layer as ResNet Lab does (`LayerInfo::key`), so its
//! `state_dict()` keys are exactly the tensor names in `weights.safetensors`.
use super::experiment::{DataInfo, Hyper, OptimizerChoice};
use super::run_dir::{self, SavedRun};
use crate::nn::spec::{LayerInfo, LayerSpec, NetSpec, Shape, Shortcut, matching_stride};
use crate::nn::{Model, Tensor};
use crate::util::write_atomic;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The helper classes every model.py starts with.
const LAYERS_PY: &str = include_str!("torch/layers.py");
/// The training script; it reads everything run-specific from model.py.
pub const TRAIN_PY: &str = include_str!("torch/train.py");

struct Gen<'a> {
    infos: std::slice::Iter<'a, LayerInfo>,
    out: String,
}

/// A Python string literal.
fn py_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

/// A Python float literal that reads back as the same f32.
fn py_f32(v: f32) -> String {
    if !v.is_finite() {
        return format!("float({})", py_str(&v.to_string()));
    }
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Text safe inside a Python docstring.
fn doc_text(s: &str) -> String {
    s.replace('\\', "/")
        .replace('"', "'")
        .replace(['\n', '\r'], " ")
}

fn relative<'k>(parent: &str, key: &'k str) -> &'k str {
    if parent.is_empty() {
        key
    } else {
        key.strip_prefix(parent)
            .and_then(|k| k.strip_prefix('.'))
            .unwrap_or(key)
    }
}

impl Gen<'_> {
    fn next(&mut self) -> LayerInfo {
        self.infos
            .next()
            .expect("inference and export walk the spec in the same order")
            .clone()
    }

    /// One `("name", Module(...)),` line per layer, blocks spelled out over several lines.
    fn layers(&mut self, layers: &[LayerSpec], parent: &str, indent: usize) {
        let pad = " ".repeat(indent);
        for layer in layers {
            let info = self.next();
            let name = py_str(relative(parent, &info.key));
            let module = match layer {
                LayerSpec::Conv {
                    out,
                    k,
                    stride,
                    pad: p,
                } => format!(
                    "nn.Conv2d({}, {out}, kernel_size={k}, stride={stride}, padding={p}, bias=False)",
                    info.input.c
                ),
                LayerSpec::BatchNorm => {
                    format!("nn.BatchNorm2d({})", info.input.c)
                }
                LayerSpec::ReLU => "nn.ReLU()".into(),
                LayerSpec::GlobalAvgPool => "GlobalAvgPool()".into(),
                LayerSpec::Linear { out } => format!("Linear({}, {out})", info.input.len()),
                LayerSpec::Block(b) => {
                    let _ = writeln!(self.out, "{pad}({name}, Block(");
                    let _ = writeln!(self.out, "{pad}    [");
                    self.layers(&b.body, &info.key, indent + 8);
                    let _ = writeln!(self.out, "{pad}    ],");
                    let stride = || {
                        matching_stride(info.input, info.output).expect("the spec was validated")
                    };
                    let shortcut = match b.shortcut {
                        Shortcut::Identity => "\"identity\"".to_string(),
                        Shortcut::None => "\"none\"".to_string(),
                        Shortcut::ZeroPadA => format!(
                            "ZeroPad(stride={}, extra={})",
                            stride(),
                            info.output.c - info.input.c
                        ),
                        Shortcut::Projection => {
                            let p = self.next();
                            format!(
                                "({}, Projection({}, {}, stride={}))",
                                py_str(relative(&info.key, &p.key)),
                                info.input.c,
                                info.output.c,
                                stride()
                            )
                        }
                    };
                    let _ = writeln!(self.out, "{pad}    shortcut={shortcut},");
                    if b.residual_scale != 1.0 {
                        let _ = writeln!(self.out, "{pad}    scale={},", py_f32(b.residual_scale));
                    }
                    let _ = writeln!(self.out, "{pad})),");
                    continue;
                }
            };
            let _ = writeln!(self.out, "{pad}({name}, {module}),");
        }
    }
}

fn py_list<T>(v: &[T], f: impl Fn(&T) -> String) -> String {
    format!("[{}]", v.iter().map(f).collect::<Vec<_>>().join(", "))
}

/// The source of `model.py` for `spec` on inputs of shape `input`. `data` (class names and
/// normalisation) and `hyper` become constants that `train.py` reads.
pub fn model_py(
    spec: &NetSpec,
    input: Shape,
    data: Option<&DataInfo>,
    hyper: &Hyper,
) -> Result<String, String> {
    let info = spec.validate(input).map_err(|e| e.to_string())?;
    let classes = info.output.len();
    let title = if spec.name.is_empty() {
        "A network".to_string()
    } else {
        doc_text(&spec.name)
    };
    let mut s = format!(
        "\"\"\"{title}, generated by ResNet Lab (`resnet-lab export-torch`) from net.json.\n\n\
         A plain torch.nn.Module: every layer is an attribute under its ResNet Lab name, so\n\
         state_dict() keys equal the tensor names in weights.safetensors:\n\n\
         \x20   from safetensors.torch import load_file\n\
         \x20   from model import Net, normalise\n\
         \x20   net = Net()\n\
         \x20   net.load_state_dict(load_file(\"weights.safetensors\"))\n\
         \x20   net.eval()\n\
         \x20   logits = net(normalise(images))  # images: uint8 [N, {}, {}, {}]\n\
         \"\"\"\n",
        input.c, input.h, input.w
    );
    s += LAYERS_PY;
    let (class_names, mean, std) = match data {
        Some(d) if d.classes.len() == classes && d.mean.len() == input.c => {
            (d.classes.clone(), d.mean.clone(), d.std.clone())
        }
        _ => (
            (0..classes).map(|i| i.to_string()).collect(),
            vec![0.0; input.c],
            vec![1.0; input.c],
        ),
    };
    let _ = write!(
        s,
        "\n\n# What the net was trained on, and how (train.py reads these).\n\
         INPUT_SHAPE = ({}, {}, {})  # channels, height, width\n\
         CLASSES = {}\n\
         # Pixels were normalised per channel as (x / 255 - MEAN) / STD.\n\
         MEAN = {}\n\
         STD = {}\n\
         HYPER = {{\"epochs\": {}, \"batch\": {}, \"lr\": {}, \"momentum\": {}, \"weight_decay\": {}, \
         \"optimizer\": {}, \"seed\": {}, \"pad_crop\": {}, \"hflip\": {}}}\n\n\n\
         def normalise(images):\n\
         \x20   \"\"\"uint8 images [N, C, H, W] -> what the net expects.\"\"\"\n\
         \x20   mean = torch.tensor(MEAN).view(1, -1, 1, 1)\n\
         \x20   std = torch.tensor(STD).view(1, -1, 1, 1)\n\
         \x20   return (images.float() / 255.0 - mean) / std\n\n\n",
        input.c,
        input.h,
        input.w,
        py_list(&class_names, |c| py_str(c)),
        py_list(&mean, |v| py_f32(*v)),
        py_list(&std, |v| py_f32(*v)),
        hyper.epochs,
        hyper.batch,
        py_f32(hyper.lr),
        py_f32(hyper.momentum),
        py_f32(hyper.weight_decay),
        py_str(match hyper.optimizer {
            OptimizerChoice::Sgd => "sgd",
            OptimizerChoice::Adam => "adam",
        }),
        hyper.seed,
        hyper.augment.pad_crop,
        if hyper.augment.hflip { "True" } else { "False" },
    );
    let _ = writeln!(
        s,
        "class Net(Sequence):\n\
         \x20   \"\"\"{title}: {} weighted layers, {} parameters; input [N, {}, {}, {}], output [N, {classes}] logits.\"\"\"\n\n\
         \x20   def __init__(self):\n\
         \x20       super().__init__([",
        info.depth, info.params, input.c, input.h, input.w
    );
    let mut g = Gen {
        infos: info.layers.iter(),
        out: String::new(),
    };
    g.layers(&spec.layers, "", 12);
    s += &g.out;
    s += "        ])\n\n    def forward(self, x):\n        return super().forward(x).flatten(1)\n";
    Ok(s)
}

/// Writes `model.py`, `weights.safetensors` and `train.py` for the run in `run` to `out`.
pub fn export(run: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let SavedRun {
        spec,
        history,
        model,
        ..
    } = run_dir::open(run)?;
    let mut model = model.ok_or_else(|| {
        format!(
            "{} has no trained weights ({}): train it with --save, or save it from the app",
            run.display(),
            run_dir::WEIGHTS_FILE
        )
    })?;
    let py = model_py(
        &spec,
        model.input_shape(),
        history.data.as_ref(),
        &history.hyper,
    )?;
    crate::util::create_dir_all(out)
        .map_err(|e| format!("could not create the folder {}: {e}", out.display()))?;
    let files = [
        ("model.py", py.into_bytes()),
        (run_dir::WEIGHTS_FILE, run_dir::weights_bytes(&mut model)),
        ("train.py", TRAIN_PY.as_bytes().to_vec()),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let p = out.join(name);
        write_atomic(&p, &bytes).map_err(|e| format!("could not write {}: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

/// Tensors from a PyTorch state dict, with the `module.` prefix that DistributedDataParallel
/// and DataParallel add removed.
pub fn strip_wrapper_prefix(mut tensors: Vec<Tensor>) -> Vec<Tensor> {
    if !tensors.is_empty() && tensors.iter().all(|t| t.name.starts_with("module.")) {
        for t in &mut tensors {
            t.name.drain(..7);
        }
    }
    tensors
}

/// Reads the safetensors state dict `weights` into the net of the run in `run` and saves the
/// run, with those weights, to `out` (which may be `run` itself). Returns the model.
pub fn import(run: &Path, weights: &Path, out: &Path) -> Result<Model, String> {
    let saved = run_dir::open(run)?;
    let input = saved
        .model
        .as_ref()
        .map(|m| m.input_shape())
        .or_else(|| saved.history.data.as_ref().map(|d| d.input()))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!(
                "{} does not say what size of image the net takes",
                run.display()
            )
        })?;
    let contents = run_dir::read_weights(weights)?;
    let tensors = strip_wrapper_prefix(contents.tensors);
    let mut model = run_dir::model_with_weights(&saved.spec, input, &tensors)
        .map_err(|e| format!("{}: {e}", weights.display()))?;
    run_dir::save(out, &saved.history, Some(&mut model))?;
    Ok(model)
}

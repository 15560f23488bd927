//! What the learner built: a network as data (serde JSON), with shape inference and costs.
//!
//! A `NetSpec` is a list of layers; a `Block` wraps a body and a shortcut. The ReLU that follows a
//! residual addition is an ordinary `ReLU` layer after the block, so the plain twin of a net is the
//! same list with every shortcut set to `None`.
use serde::{Deserialize, Serialize};
use std::fmt;

/// Channels x height x width of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    pub fn new(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w }
    }
    pub fn len(&self) -> usize {
        self.c * self.h * self.w
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.c, self.h, self.w)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LayerSpec {
    /// Convolution without bias (batch norm follows in every net we build).
    Conv {
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    },
    BatchNorm,
    ReLU,
    Block(BlockSpec),
    GlobalAvgPool,
    /// Fully connected; flattens its input.
    Linear {
        out: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Shortcut {
    /// Add the input unchanged: the shapes must match.
    #[default]
    Identity,
    /// Paper option A: subsample and append zero channels; no parameters.
    ZeroPadA,
    /// Paper option B: 1x1 strided conv + batch norm.
    Projection,
    /// No addition at all: the block is just its body (the plain twin).
    None,
}

impl fmt::Display for Shortcut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shortcut::Identity => "identity",
            Shortcut::ZeroPadA => "zero-pad (option A)",
            Shortcut::Projection => "1x1 projection (option B)",
            Shortcut::None => "none",
        })
    }
}

fn one() -> f32 {
    1.0
}

fn is_one(v: &f32) -> bool {
    *v == 1.0
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub body: Vec<LayerSpec>,
    #[serde(default)]
    pub shortcut: Shortcut,
    /// The body's output is multiplied by this before the addition (Inception-v4's trick).
    #[serde(
        default = "one",
        skip_serializing_if = "is_one",
        with = "crate::util::json_float"
    )]
    pub residual_scale: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    #[serde(default)]
    pub name: String,
    pub layers: Vec<LayerSpec>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error(
        "{block}: the {shortcut} shortcut cannot add the block's input ({input}) to its body's output ({output}). {fix}"
    )]
    ShortcutMismatch {
        block: String,
        shortcut: Shortcut,
        input: Shape,
        output: Shape,
        fix: String,
    },
    #[error("{layer}: {problem}")]
    BadLayer { layer: String, problem: String },
    #[error("the network has no layers")]
    Empty,
    #[error("the network must end with a Linear layer that gives the class scores")]
    NoHead,
}

/// Shapes and costs of one layer, in forward order.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    /// Human-readable name, e.g. `stage2.block1.conv1`.
    pub name: String,
    /// The layer's module path in the generated PyTorch module, unique within the net: the name
    /// with each dot-separated part made a Python identifier (`identity block` becomes
    /// `identity_block`), and `_2`, `_3`, ... added where two layers would share one. Parameter
    /// names are this plus `.weight`, `.bias`, ... (PyTorch's `state_dict` keys).
    pub key: String,
    /// Nesting depth: 0 for top-level layers, 1 inside a block, ...
    pub depth: usize,
    pub kind: String,
    pub input: Shape,
    pub output: Shape,
    pub params: usize,
    /// Floating-point operations (a multiply-add counts 2) for one sample's forward pass.
    pub flops: u64,
}

impl LayerSpec {
    pub fn label(&self) -> String {
        match self {
            LayerSpec::Conv {
                out,
                k,
                stride,
                pad,
            } => {
                if *stride == 1 {
                    format!("Conv {k}x{k}, {out} (pad {pad})")
                } else {
                    format!("Conv {k}x{k}/{stride}, {out} (pad {pad})")
                }
            }
            LayerSpec::BatchNorm => "BatchNorm".into(),
            LayerSpec::ReLU => "ReLU".into(),
            LayerSpec::Block(b) => format!("Block ({} shortcut)", b.shortcut),
            LayerSpec::GlobalAvgPool => "GlobalAvgPool".into(),
            LayerSpec::Linear { out } => format!("Linear {out}"),
        }
    }
}

/// Stride that maps `from` onto `to` the way a strided conv or option-A subsampling would.
pub fn matching_stride(from: Shape, to: Shape) -> Option<usize> {
    if to.h == 0 || to.w == 0 {
        return None;
    }
    (1..=from.h.max(1)).find(|&s| (from.h - 1) / s + 1 == to.h && (from.w - 1) / s + 1 == to.w)
}

/// Whether a shortcut can join `input` to `output`, and if not, what would fix it.
pub fn check_shortcut(
    block: &str,
    sc: Shortcut,
    input: Shape,
    output: Shape,
) -> Result<(), SpecError> {
    let stride = matching_stride(input, output);
    let ok = match sc {
        Shortcut::None => true,
        Shortcut::Identity => input == output,
        Shortcut::ZeroPadA => stride.is_some() && output.c >= input.c,
        Shortcut::Projection => stride.is_some(),
    };
    if ok {
        return Ok(());
    }
    let fix = match stride {
        Some(s) if output.c >= input.c => format!(
            "Use a 1x1 projection shortcut (stride {s}), or zero-pad the extra channels (option A)."
        ),
        Some(s) => format!(
            "The body has fewer channels than its input; use a 1x1 projection shortcut (stride {s})."
        ),
        None => format!(
            "No stride maps {}x{} onto {}x{}: change the body's strides or padding so the sizes line up.",
            input.h, input.w, output.h, output.w
        ),
    };
    Err(SpecError::ShortcutMismatch {
        block: block.to_string(),
        shortcut: sc,
        input,
        output,
        fix,
    })
}

/// Python keywords and `torch.nn.Module` attributes: a module path part must not shadow them.
const PY_RESERVED: [&str; 93] = [
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "case",
    "match",
    "type",
    "T_destination",
    "add_module",
    "apply",
    "bfloat16",
    "buffers",
    "call_super_init",
    "children",
    "compile",
    "cpu",
    "cuda",
    "double",
    "dump_patches",
    "eval",
    "extra_repr",
    "float",
    "forward",
    "get_buffer",
    "get_extra_state",
    "get_parameter",
    "get_submodule",
    "half",
    "ipu",
    "load_state_dict",
    "modules",
    "mtia",
    "named_buffers",
    "named_children",
    "named_modules",
    "named_parameters",
    "parameters",
    "register_backward_hook",
    "register_buffer",
    "register_forward_hook",
    "register_forward_pre_hook",
    "register_full_backward_hook",
    "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook",
    "register_load_state_dict_pre_hook",
    "register_module",
    "register_parameter",
    "register_state_dict_post_hook",
    "register_state_dict_pre_hook",
    "requires_grad_",
    "set_extra_state",
    "set_submodule",
    "share_memory",
    "state_dict",
    "to",
    "to_empty",
    "train",
    "training",
    "xpu",
    "zero_grad",
    "weight",
    "bias",
];

/// One part of a module path as a Python identifier that shadows nothing: letters, digits and
/// `_`, starting with a letter (`2nd block` becomes `n2nd_block`, `class` becomes `class_`).
pub fn py_ident(part: &str) -> String {
    let mut s: String = part
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert(0, 'n');
    }
    if PY_RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

struct Walker {
    out: Vec<LayerInfo>,
    blocks: usize,
    convs: usize,
    /// Module paths handed out so far, and every prefix of them (containers).
    keys: std::collections::HashSet<String>,
}

impl Walker {
    /// A unique module path for `local` (a display name part, maybe dotted) under `key_prefix`.
    fn key(&mut self, key_prefix: &str, local: &str) -> String {
        let local: Vec<String> = local.split('.').map(py_ident).collect();
        let base = join(key_prefix, &local.join("."));
        let mut key = base.clone();
        let mut k = 2;
        while self.keys.contains(&key) {
            key = format!("{base}_{k}");
            k += 1;
        }
        let mut at = 0;
        while let Some(dot) = key[at..].find('.') {
            self.keys.insert(key[..at + dot].to_string());
            at += dot + 1;
        }
        self.keys.insert(key.clone());
        key
    }

    fn walk(
        &mut self,
        layers: &[LayerSpec],
        prefix: &str,
        key_prefix: &str,
        depth: usize,
        mut s: Shape,
    ) -> Result<Shape, SpecError> {
        let mut local_conv = 0;
        let mut local_bn = 0;
        for (i, layer) in layers.iter().enumerate() {
            let (name, out, params, flops) = match layer {
                LayerSpec::Conv {
                    out,
                    k,
                    stride,
                    pad,
                } => {
                    local_conv += 1;
                    self.convs += 1;
                    let local = if prefix.is_empty() {
                        format!("conv{}", self.convs)
                    } else {
                        format!("conv{local_conv}")
                    };
                    let name = join(prefix, &local);
                    let bad = |p: String| SpecError::BadLayer {
                        layer: name.clone(),
                        problem: p,
                    };
                    if *out == 0 || *k == 0 || *stride == 0 {
                        return Err(bad(
                            "channels, kernel size and stride must be at least 1".into()
                        ));
                    }
                    if *out > 4096 || *k > 15 || *stride > 8 || *pad > 8 {
                        return Err(bad(format!(
                            "{out} channels, kernel {k}, stride {stride}, padding {pad} is outside what this app can train (at most 4096 channels, kernel 15, stride 8, padding 8)"
                        )));
                    }
                    if s.h + 2 * pad < *k || s.w + 2 * pad < *k {
                        return Err(bad(format!(
                            "a {k}x{k} kernel does not fit a {}x{} input with padding {pad}",
                            s.h, s.w
                        )));
                    }
                    let o = Shape::new(
                        *out,
                        (s.h + 2 * pad - k) / stride + 1,
                        (s.w + 2 * pad - k) / stride + 1,
                    );
                    let params = out * s.c * k * k;
                    (name, o, params, 2 * (o.len() * s.c * k * k) as u64)
                }
                LayerSpec::BatchNorm => {
                    local_bn += 1;
                    let local = format!("bn{local_bn}");
                    (join(prefix, &local), s, 2 * s.c, 4 * s.len() as u64)
                }
                LayerSpec::ReLU => (
                    join(prefix, &format!("relu{}", i + 1)),
                    s,
                    0,
                    s.len() as u64,
                ),
                LayerSpec::GlobalAvgPool => (
                    join(prefix, "pool"),
                    Shape::new(s.c, 1, 1),
                    0,
                    s.len() as u64,
                ),
                LayerSpec::Linear { out } => {
                    if *out == 0 || *out > 100_000 {
                        return Err(SpecError::BadLayer {
                            layer: join(prefix, "fc"),
                            problem: format!(
                                "{out} outputs; a classifier needs between 1 and 100000"
                            ),
                        });
                    }
                    (
                        join(prefix, "fc"),
                        Shape::new(*out, 1, 1),
                        s.len() * out + out,
                        2 * (s.len() * out) as u64,
                    )
                }
                LayerSpec::Block(b) => {
                    self.blocks += 1;
                    let name = if b.name.is_empty() {
                        join(prefix, &format!("block{}", self.blocks))
                    } else {
                        join(prefix, &b.name)
                    };
                    if b.body.is_empty() {
                        return Err(SpecError::BadLayer {
                            layer: name,
                            problem: "a block needs at least one layer in its body".into(),
                        });
                    }
                    if !b.residual_scale.is_finite()
                        || b.residual_scale < 0.0
                        || b.residual_scale > 10.0
                    {
                        return Err(SpecError::BadLayer {
                            layer: name,
                            problem: format!(
                                "residual scale {} must be between 0 and 10",
                                b.residual_scale
                            ),
                        });
                    }
                    let key = self.key(key_prefix, local_part(prefix, &name));
                    let at = self.out.len();
                    self.out.push(LayerInfo {
                        name: name.clone(),
                        key: key.clone(),
                        depth,
                        kind: layer.label(),
                        input: s,
                        output: s,
                        params: 0,
                        flops: 0,
                    });
                    let body_out = self.walk(&b.body, &name, &key, depth + 1, s)?;
                    check_shortcut(&name, b.shortcut, s, body_out)?;
                    let mut sc_flops = body_out.len() as u64;
                    if b.shortcut == Shortcut::Projection {
                        let sc_params = s.c * body_out.c + 2 * body_out.c;
                        sc_flops += 2 * (body_out.len() * s.c) as u64 + 4 * body_out.len() as u64;
                        let key = self.key(&key, "proj");
                        self.out.push(LayerInfo {
                            name: format!("{name}.proj"),
                            key,
                            depth: depth + 1,
                            kind: "Projection 1x1 + BN".into(),
                            input: s,
                            output: body_out,
                            params: sc_params,
                            flops: sc_flops,
                        });
                    }
                    let inner: (usize, u64) = self.out[at + 1..]
                        .iter()
                        .filter(|l| l.depth == depth + 1)
                        .fold((0, 0), |(p, f), l| (p + l.params, f + l.flops));
                    let info = &mut self.out[at];
                    info.output = body_out;
                    info.params = inner.0;
                    info.flops = inner.1
                        + if b.shortcut == Shortcut::None {
                            0
                        } else {
                            body_out.len() as u64
                        };
                    s = body_out;
                    continue;
                }
            };
            if out.is_empty() {
                return Err(SpecError::BadLayer {
                    layer: name,
                    problem: "its output would be empty".into(),
                });
            }
            let key = self.key(key_prefix, local_part(prefix, &name));
            self.out.push(LayerInfo {
                name,
                key,
                depth,
                kind: layer.label(),
                input: s,
                output: out,
                params,
                flops,
            });
            s = out;
        }
        Ok(s)
    }
}

/// `name` without the `prefix.` that [`join`] put in front of it.
fn local_part<'a>(prefix: &str, name: &'a str) -> &'a str {
    if prefix.is_empty() {
        name
    } else {
        name.get(prefix.len() + 1..).unwrap_or(name)
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Totals for a whole network.
#[derive(Clone, Debug, PartialEq)]
pub struct NetInfo {
    pub layers: Vec<LayerInfo>,
    pub output: Shape,
    pub params: usize,
    pub flops: u64,
    /// Weighted layers (convs and linear layers, projections excluded), as the paper counts depth.
    pub depth: usize,
}

impl NetSpec {
    /// Shapes, parameters and FLOPs of every layer for one input shape, or the first problem found.
    pub fn infer(&self, input: Shape) -> Result<NetInfo, SpecError> {
        if self.layers.is_empty() {
            return Err(SpecError::Empty);
        }
        if input.is_empty() {
            return Err(SpecError::BadLayer {
                layer: "input".into(),
                problem: "the input shape is empty".into(),
            });
        }
        let mut w = Walker {
            out: Vec::new(),
            blocks: 0,
            convs: 0,
            keys: Default::default(),
        };
        let output = w.walk(&self.layers, "", "", 0, input)?;
        let top = w.out.iter().filter(|l| l.depth == 0);
        let (params, flops) = top.fold((0, 0), |(p, f), l| (p + l.params, f + l.flops));
        let depth = count_weighted(&self.layers);
        Ok(NetInfo {
            layers: w.out,
            output,
            params,
            flops,
            depth,
        })
    }

    /// Weighted layers (convs and linear layers, projections excluded), as the paper counts
    /// depth; the same number as [`NetInfo::depth`], without an input shape.
    pub fn depth(&self) -> usize {
        count_weighted(&self.layers)
    }

    /// Whether any block adds a shortcut (a residual net) rather than none (a plain net).
    pub fn has_shortcuts(&self) -> bool {
        fn any(layers: &[LayerSpec]) -> bool {
            layers.iter().any(|l| match l {
                LayerSpec::Block(b) => b.shortcut != Shortcut::None || any(&b.body),
                _ => false,
            })
        }
        any(&self.layers)
    }

    /// Checks the net is a classifier: valid shapes and a Linear head.
    pub fn validate(&self, input: Shape) -> Result<NetInfo, SpecError> {
        let info = self.infer(input)?;
        match self.layers.last() {
            Some(LayerSpec::Linear { .. }) => Ok(info),
            _ => Err(SpecError::NoHead),
        }
    }

    /// Number of classes the head produces, if it ends in a Linear layer.
    pub fn classes(&self) -> Option<usize> {
        match self.layers.last() {
            Some(LayerSpec::Linear { out }) => Some(*out),
            _ => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a NetSpec always serialises")
    }

    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }
}

fn count_weighted(layers: &[LayerSpec]) -> usize {
    layers
        .iter()
        .map(|l| match l {
            LayerSpec::Conv { .. } | LayerSpec::Linear { .. } => 1,
            LayerSpec::Block(b) => count_weighted(&b.body),
            _ => 0,
        })
        .sum()
}

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

struct Walker {
    out: Vec<LayerInfo>,
    blocks: usize,
    convs: usize,
}

impl Walker {
    fn walk(
        &mut self,
        layers: &[LayerSpec],
        prefix: &str,
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
                    let name = if prefix.is_empty() {
                        format!("conv{}", self.convs)
                    } else {
                        format!("{prefix}.conv{local_conv}")
                    };
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
                    let name = join(prefix, &format!("bn{local_bn}"));
                    (name, s, 2 * s.c, 4 * s.len() as u64)
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
                    let at = self.out.len();
                    self.out.push(LayerInfo {
                        name: name.clone(),
                        depth,
                        kind: layer.label(),
                        input: s,
                        output: s,
                        params: 0,
                        flops: 0,
                    });
                    let body_out = self.walk(&b.body, &name, depth + 1, s)?;
                    check_shortcut(&name, b.shortcut, s, body_out)?;
                    let mut sc_flops = body_out.len() as u64;
                    if b.shortcut == Shortcut::Projection {
                        let sc_params = s.c * body_out.c + 2 * body_out.c;
                        sc_flops += 2 * (body_out.len() * s.c) as u64 + 4 * body_out.len() as u64;
                        self.out.push(LayerInfo {
                            name: format!("{name}.proj"),
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
            self.out.push(LayerInfo {
                name,
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
        };
        let output = w.walk(&self.layers, "", 0, input)?;
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

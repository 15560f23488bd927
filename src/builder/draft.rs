//! A residual block as the learner edits it: a main lane of layers, a shortcut, the addition and
//! the activation after it.
use crate::nn::spec::{check_shortcut, matching_stride};
use crate::nn::{BlockSpec, LayerSpec, NetSpec, Shape, Shortcut, SpecError};
use serde::{Deserialize, Serialize};

/// The block being built. Its body holds only Conv, BatchNorm and ReLU layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlockDraft {
    pub input: Shape,
    pub body: Vec<LayerSpec>,
    pub shortcut: Shortcut,
    pub residual_scale: f32,
    /// The ReLU after the addition: g in a[l+2] = g(z[l+2] + a[l]).
    pub relu_after: bool,
}

impl Default for BlockDraft {
    fn default() -> Self {
        Self {
            input: Shape::new(16, 28, 28),
            body: Vec::new(),
            shortcut: Shortcut::Identity,
            residual_scale: 1.0,
            relu_after: true,
        }
    }
}

/// What the palette offers for the main lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaletteItem {
    Conv3x3,
    Conv3x3Stride2,
    Conv1x1,
    Conv1x1Stride2,
    BatchNorm,
    ReLU,
}

impl PaletteItem {
    pub const ALL: [PaletteItem; 6] = [
        PaletteItem::Conv3x3,
        PaletteItem::Conv3x3Stride2,
        PaletteItem::Conv1x1,
        PaletteItem::Conv1x1Stride2,
        PaletteItem::BatchNorm,
        PaletteItem::ReLU,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PaletteItem::Conv3x3 => "Conv 3x3",
            PaletteItem::Conv3x3Stride2 => "Conv 3x3 / 2",
            PaletteItem::Conv1x1 => "Conv 1x1",
            PaletteItem::Conv1x1Stride2 => "Conv 1x1 / 2",
            PaletteItem::BatchNorm => "BatchNorm",
            PaletteItem::ReLU => "ReLU",
        }
    }

    /// The layer this item inserts; convolutions start with `channels` filters.
    pub fn layer(self, channels: usize) -> LayerSpec {
        let conv = |k: usize, stride: usize| LayerSpec::Conv {
            out: channels.max(1),
            k,
            stride,
            pad: k / 2,
        };
        match self {
            PaletteItem::Conv3x3 => conv(3, 1),
            PaletteItem::Conv3x3Stride2 => conv(3, 2),
            PaletteItem::Conv1x1 => conv(1, 1),
            PaletteItem::Conv1x1Stride2 => conv(1, 2),
            PaletteItem::BatchNorm => LayerSpec::BatchNorm,
            PaletteItem::ReLU => LayerSpec::ReLU,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Edit {
    Insert { at: usize, layer: LayerSpec },
    Remove { at: usize },
    Move { from: usize, to: usize },
    Replace { at: usize, layer: LayerSpec },
    SetShortcut(Shortcut),
    SetScale(f32),
    SetReluAfter(bool),
    SetInput(Shape),
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("there is no layer {at} (the main path has {len})")]
    OutOfRange { at: usize, len: usize },
    #[error("{0}")]
    NotAllowed(String),
}

/// One-click repairs for a block whose shortcut cannot be added to its body.
#[derive(Clone, Debug, PartialEq)]
pub enum Fix {
    UseProjection {
        stride: usize,
    },
    UseZeroPad,
    /// Give the last convolution as many filters as the input has channels.
    MatchChannels {
        at: usize,
        out: usize,
    },
}

impl Fix {
    pub fn label(&self) -> String {
        match self {
            Fix::UseProjection { stride } => format!("use a 1x1 stride-{stride} projection"),
            Fix::UseZeroPad => "zero-pad the extra channels".into(),
            Fix::MatchChannels { at, out } => {
                format!("give layer {} {out} filters so the identity fits", at + 1)
            }
        }
    }

    pub fn edit(&self, draft: &BlockDraft) -> Edit {
        match self {
            Fix::UseProjection { .. } => Edit::SetShortcut(Shortcut::Projection),
            Fix::UseZeroPad => Edit::SetShortcut(Shortcut::ZeroPadA),
            Fix::MatchChannels { at, out } => {
                let mut layer = draft.body[*at].clone();
                if let LayerSpec::Conv { out: o, .. } = &mut layer {
                    *o = *out;
                }
                Edit::Replace { at: *at, layer }
            }
        }
    }
}

/// Everything the editor shows about the block: a shape on every edge, costs, the problem if any.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockReport {
    /// The input, then the output of each main-lane layer that could be computed.
    pub edges: Vec<Shape>,
    /// Output of the shortcut lane, when it can be computed.
    pub shortcut_out: Option<Shape>,
    pub params: usize,
    pub flops: u64,
    pub error: Option<SpecError>,
    pub fixes: Vec<Fix>,
}

impl BlockReport {
    pub fn output(&self) -> Option<Shape> {
        if self.error.is_some() {
            None
        } else {
            self.edges.last().copied()
        }
    }
}

fn check_layer(layer: &LayerSpec) -> Result<(), EditError> {
    match layer {
        LayerSpec::Conv {
            out,
            k,
            stride,
            pad,
        } => {
            if !(1..=4096).contains(out)
                || !(1..=15).contains(k)
                || !(1..=8).contains(stride)
                || *pad > 8
            {
                return Err(EditError::NotAllowed(format!(
                    "a conv needs 1-4096 filters, kernel 1-15, stride 1-8 and padding 0-8 (got {out}, {k}, {stride}, {pad})"
                )));
            }
            Ok(())
        }
        LayerSpec::BatchNorm | LayerSpec::ReLU => Ok(()),
        other => Err(EditError::NotAllowed(format!(
            "{} cannot go inside a block's main path",
            other.label()
        ))),
    }
}

impl BlockDraft {
    pub const NAME: &'static str = "your block";

    /// The block as part of a network: the body, the shortcut and the scale.
    pub fn to_spec(&self) -> BlockSpec {
        BlockSpec {
            name: Self::NAME.into(),
            body: self.body.clone(),
            shortcut: self.shortcut,
            residual_scale: self.residual_scale,
        }
    }

    /// Opens a block from a spec; refuses bodies the builder cannot show (nested blocks, pools...).
    pub fn from_spec(spec: &BlockSpec, input: Shape, relu_after: bool) -> Result<Self, EditError> {
        for l in &spec.body {
            check_layer(l)?;
        }
        Ok(Self {
            input,
            body: spec.body.clone(),
            shortcut: spec.shortcut,
            residual_scale: spec.residual_scale,
            relu_after,
        })
    }

    /// A small trainable net around the block: stem conv to the block's width, the block, pooling
    /// and a classifier, for data of shape `data` with `classes` classes.
    pub fn to_net(&self, classes: usize) -> NetSpec {
        let mut layers = vec![
            LayerSpec::Conv {
                out: self.input.c,
                k: 3,
                stride: 1,
                pad: 1,
            },
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            LayerSpec::Block(self.to_spec()),
        ];
        if self.relu_after {
            layers.push(LayerSpec::ReLU);
        }
        layers.push(LayerSpec::GlobalAvgPool);
        layers.push(LayerSpec::Linear { out: classes });
        NetSpec {
            name: "built block".into(),
            layers,
        }
    }

    /// Channels at the point where a layer would be inserted at `at`.
    pub fn channels_at(&self, at: usize) -> usize {
        let r = self.report();
        r.edges
            .get(at.min(r.edges.len().saturating_sub(1)))
            .map_or(self.input.c, |s| s.c)
    }

    /// Applies one edit, or explains why it cannot be applied; the draft is unchanged on error.
    pub fn apply(&mut self, e: &Edit) -> Result<(), EditError> {
        let len = self.body.len();
        let in_range = |at: usize, limit: usize| {
            if at < limit {
                Ok(())
            } else {
                Err(EditError::OutOfRange { at, len })
            }
        };
        match e {
            Edit::Insert { at, layer } => {
                in_range(*at, len + 1)?;
                check_layer(layer)?;
                if len >= 32 {
                    return Err(EditError::NotAllowed(
                        "a block's main path holds at most 32 layers".into(),
                    ));
                }
                self.body.insert(*at, layer.clone());
            }
            Edit::Remove { at } => {
                in_range(*at, len)?;
                self.body.remove(*at);
            }
            Edit::Move { from, to } => {
                in_range(*from, len)?;
                in_range(*to, len)?;
                let l = self.body.remove(*from);
                self.body.insert(*to, l);
            }
            Edit::Replace { at, layer } => {
                in_range(*at, len)?;
                check_layer(layer)?;
                self.body[*at] = layer.clone();
            }
            Edit::SetShortcut(s) => self.shortcut = *s,
            Edit::SetScale(v) => {
                if !v.is_finite() || !(0.0..=10.0).contains(v) {
                    return Err(EditError::NotAllowed(format!(
                        "the residual scale must be between 0 and 10 (got {v})"
                    )));
                }
                self.residual_scale = *v;
            }
            Edit::SetReluAfter(b) => self.relu_after = *b,
            Edit::SetInput(s) => {
                if !(1..=4096).contains(&s.c)
                    || !(1..=1024).contains(&s.h)
                    || !(1..=1024).contains(&s.w)
                {
                    return Err(EditError::NotAllowed(format!(
                        "the input must have 1-4096 channels and sides of 1-1024 pixels (got {s})"
                    )));
                }
                self.input = *s;
            }
        }
        Ok(())
    }

    /// Shapes on every edge, costs, and the first problem with the fixes that would solve it.
    pub fn report(&self) -> BlockReport {
        let mut edges = vec![self.input];
        if self.body.is_empty() {
            return BlockReport {
                edges,
                shortcut_out: None,
                params: 0,
                flops: 0,
                error: Some(SpecError::BadLayer {
                    layer: Self::NAME.into(),
                    problem: "its main path is empty; add layers from the palette".into(),
                }),
                fixes: Vec::new(),
            };
        }
        let body_net = NetSpec {
            name: String::new(),
            layers: self.body.clone(),
        };
        // Walk prefix by prefix so the shapes up to a broken layer still show.
        for i in 0..self.body.len() {
            let prefix = NetSpec {
                name: String::new(),
                layers: body_net.layers[..=i].to_vec(),
            };
            match prefix.infer(self.input) {
                Ok(info) => edges.push(info.output),
                Err(e) => {
                    return BlockReport {
                        edges,
                        shortcut_out: None,
                        params: 0,
                        flops: 0,
                        error: Some(rename(e, i)),
                        fixes: Vec::new(),
                    };
                }
            }
        }
        let body_out = *edges.last().expect("edges start with the input");
        let shortcut_out = match self.shortcut {
            Shortcut::None => None,
            Shortcut::Identity => Some(self.input),
            Shortcut::ZeroPadA | Shortcut::Projection => {
                matching_stride(self.input, body_out).map(|s| {
                    Shape::new(
                        body_out.c,
                        (self.input.h - 1) / s + 1,
                        (self.input.w - 1) / s + 1,
                    )
                })
            }
        };
        if let Err(e) = check_shortcut(Self::NAME, self.shortcut, self.input, body_out) {
            let mut fixes = Vec::new();
            if let Some(stride) = matching_stride(self.input, body_out) {
                fixes.push(Fix::UseProjection { stride });
                if body_out.c >= self.input.c && self.shortcut != Shortcut::ZeroPadA {
                    fixes.push(Fix::UseZeroPad);
                }
                if stride == 1
                    && let Some(at) = self
                        .body
                        .iter()
                        .rposition(|l| matches!(l, LayerSpec::Conv { .. }))
                {
                    fixes.push(Fix::MatchChannels {
                        at,
                        out: self.input.c,
                    });
                }
            }
            return BlockReport {
                edges,
                shortcut_out,
                params: 0,
                flops: 0,
                error: Some(e),
                fixes,
            };
        }
        let net = NetSpec {
            name: String::new(),
            layers: vec![LayerSpec::Block(self.to_spec())],
        };
        let (params, flops) = match net.infer(self.input) {
            Ok(info) => (info.params, info.flops),
            Err(_) => (0, 0),
        };
        BlockReport {
            edges,
            shortcut_out,
            params,
            flops,
            error: None,
            fixes: Vec::new(),
        }
    }
}

/// Names a failing layer by its position in the main lane, as the editor numbers it.
fn rename(e: SpecError, i: usize) -> SpecError {
    match e {
        SpecError::BadLayer { problem, .. } => SpecError::BadLayer {
            layer: format!("layer {}", i + 1),
            problem,
        },
        other => other,
    }
}

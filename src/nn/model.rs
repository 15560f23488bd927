//! A trainable network built from a [`NetSpec`]: parameters, caches, forward and backward.
//!
//! Layers are nodes that run forward on a shared activation ([`Act`]: an NHWC [`Tensor`] behind
//! an `Arc`, so a block's input can feed its body and its shortcut without a copy) and backward
//! on an owned gradient tensor. Each node keeps exactly what its backward pass needs until that
//! pass consumes it.
//!
//! Batch norm writes no tensor of its own: it hands the next node a lazy per-channel map
//! ([`PreOp`], with the fused ReLU) that the next convolution, residual join or pooling applies
//! while reading, and its backward pass recomputes `x_hat` from the convolution output it
//! shares with that node. So a conv + BN + ReLU layer stores one tensor, and the statistics
//! come from the convolution's own output pass. [`Act::to_nchw`] is the one place an internal
//! activation becomes a plain NCHW array.
use super::ops::conv::{self, ConvGeom};
use super::ops::eltwise::{self, Shortcut as JoinShortcut};
use super::ops::simd::{self, Isa};
use super::ops::tensor::{self, ChanStats, PreOp, Tensor, materialize, pad_channels};
use super::ops::{bn, linear};
use super::spec::{LayerInfo, LayerSpec, NetSpec, Shape, Shortcut, SpecError};
use crate::rng::Rng64;
use std::sync::Arc;

mod relus;
mod state;
pub use state::LayerOutput;

const BN_EPS: f32 = 1e-5;
const BN_MOMENTUM: f32 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    ConvWeight,
    LinearWeight,
    LinearBias,
    BnGamma,
    BnBeta,
}

impl ParamKind {
    /// The weight tensors whose gradient norms the gradient-flow plot shows.
    pub fn is_weight(self) -> bool {
        matches!(self, ParamKind::ConvWeight | ParamKind::LinearWeight)
    }
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub value: Vec<f32>,
    pub grad: Vec<f32>,
}

impl Param {
    fn new(name: String, kind: ParamKind, value: Vec<f32>) -> Self {
        let grad = vec![0.0; value.len()];
        Self {
            name,
            kind,
            value,
            grad,
        }
    }
}

/// Mean and standard deviation of one layer's output on the last training batch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tap {
    pub name: String,
    pub mean: f32,
    pub std: f32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    /// Start every residual branch at zero by zeroing the gamma of its last batch norm, so the
    /// whole net begins as its shallow, shortcut-only self.
    pub zero_init_residual: bool,
}

/// An activation between nodes: a raw tensor, the per-channel map still to be applied to it
/// (a batch norm's normalisation and fused ReLU), and the channel statistics its producer
/// gathered for a batch norm that follows.
#[derive(Clone)]
pub(crate) struct Act {
    t: Arc<Tensor>,
    pre: Option<Arc<PreOp>>,
    stats: Option<Arc<ChanStats>>,
}

impl Act {
    fn plain(t: Tensor) -> Self {
        Self {
            t: Arc::new(t),
            pre: None,
            stats: None,
        }
    }

    fn pre(&self) -> Option<&PreOp> {
        self.pre.as_deref()
    }

    /// The values as a tensor with nothing left to apply.
    fn materialize(self, isa: Isa) -> Arc<Tensor> {
        match &self.pre {
            None => self.t,
            Some(p) => Arc::new(materialize(isa, &self.t, Some(p))),
        }
    }

    /// The activation as a planar `[n][c][h][w]` array (the layout PyTorch and the plots use).
    pub(crate) fn to_nchw(&self, isa: Isa) -> Vec<f32> {
        match &self.pre {
            None => self.t.to_nchw(),
            Some(p) => materialize(isa, &self.t, Some(p)).to_nchw(),
        }
    }
}

struct Ctx<'a> {
    n: usize,
    train: bool,
    isa: Isa,
    taps: Option<&'a mut Vec<Tap>>,
}

struct ConvNode {
    geom: ConvGeom,
    w: Param,
    /// A batch norm follows: gather its statistics in the output pass.
    stats: bool,
    input: Option<Act>,
}

impl ConvNode {
    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        let want = self.stats && cx.train;
        let (y, st) = conv::forward(cx.isa, &self.geom, &x.t, x.pre(), &self.w.value, want);
        if cx.train {
            self.input = Some(x);
        }
        Act {
            t: Arc::new(y),
            pre: None,
            stats: st.map(Arc::new),
        }
    }

    fn backward(&mut self, dy: Tensor, isa: Isa, need_dx: bool) -> Option<Tensor> {
        let x = self.input.take().expect("conv backward without forward");
        conv::backward(
            isa,
            &self.geom,
            &x.t,
            x.pre(),
            &self.w.value,
            &dy,
            need_dx,
            &mut self.w.grad,
        )
    }
}

struct BnNode {
    /// The layer's name, for the activation probe.
    name: String,
    /// Its module path: parameter and buffer names start with it.
    key: String,
    relu: bool,
    gamma: Param,
    beta: Param,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    /// Train-mode forward passes so far (PyTorch's `num_batches_tracked`).
    batches_tracked: i64,
    saved: Option<(Arc<Tensor>, bn::BnSaved)>,
}

impl BnNode {
    fn new(name: String, key: String, c: usize) -> Self {
        Self {
            gamma: Param::new(format!("{key}.weight"), ParamKind::BnGamma, vec![1.0; c]),
            beta: Param::new(format!("{key}.bias"), ParamKind::BnBeta, vec![0.0; c]),
            name,
            key,
            relu: false,
            running_mean: vec![0.0; c],
            running_var: vec![1.0; c],
            batches_tracked: 0,
            saved: None,
        }
    }

    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        // A map still pending on the input (batch norm after batch norm) is applied first.
        let (t, stats) = match x.pre {
            Some(_) => (x.materialize(cx.isa), None),
            None => (x.t, x.stats),
        };
        let cs = t.cs;
        if !cx.train {
            let op = bn::eval_op(
                &self.gamma.value,
                &self.beta.value,
                &self.running_mean,
                &self.running_var,
                BN_EPS,
                self.relu,
                cs,
            );
            return Act {
                t,
                pre: Some(Arc::new(op)),
                stats: None,
            };
        }
        let st = match stats {
            Some(s) => s,
            None => Arc::new(bn::stats(cx.isa, &t, None)),
        };
        let saved = bn::train_op(
            &st,
            &self.gamma.value,
            &self.beta.value,
            BN_EPS,
            self.relu,
            cs,
        );
        self.batches_tracked += 1;
        let m = st.count as f32;
        let unbias = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
        let var = st.var();
        let running = self.running_mean.iter_mut().zip(&mut self.running_var);
        for ((rm, rv), (&mu, &v)) in running.zip(saved.mean.iter().zip(&var)) {
            *rm = (1.0 - BN_MOMENTUM) * *rm + BN_MOMENTUM * mu;
            *rv = (1.0 - BN_MOMENTUM) * *rv + BN_MOMENTUM * v as f32 * unbias;
        }
        let op = Arc::new(saved.op.clone());
        if let Some(taps) = cx.taps.as_deref_mut() {
            let (mean, std) = eltwise::moments(cx.isa, &t, Some(&op));
            taps.push(Tap {
                name: self.name.clone(),
                mean,
                std,
            });
        }
        self.saved = Some((t.clone(), saved));
        Act {
            t,
            pre: Some(op),
            stats: None,
        }
    }

    fn backward(&mut self, mut dy: Tensor, isa: Isa) -> Tensor {
        let (x, saved) = self
            .saved
            .take()
            .expect("batch norm backward without forward");
        bn::backward(
            isa,
            &x,
            &saved,
            &self.gamma.value,
            &mut dy,
            &mut self.gamma.grad,
            &mut self.beta.grad,
        );
        dy
    }
}

enum ShortcutNode {
    Identity,
    /// Option A: keep every `stride`-th pixel, append zero channels.
    Pad(usize),
    Projection(Box<(ConvNode, BnNode)>),
    None,
}

struct BlockNode {
    name: String,
    body: Vec<Node>,
    shortcut: ShortcutNode,
    scale: f32,
    /// Set when the ReLU after the block is fused into the addition.
    relu: bool,
    out: Option<Arc<Tensor>>,
}

impl BlockNode {
    /// `scale * branch + shortcut(x)`, then ReLU when `relu`; also returns the projection
    /// shortcut's output when there is one.
    fn join(&mut self, x: &Act, branch: &Act, cx: &mut Ctx, relu: bool) -> (Tensor, Option<Act>) {
        let proj = match &mut self.shortcut {
            ShortcutNode::Projection(p) => {
                // The projection's BN is not a "layer response" the probe plots.
                let mut quiet = Ctx {
                    n: cx.n,
                    train: cx.train,
                    isa: cx.isa,
                    taps: None,
                };
                let h = p.0.forward(x.clone(), &mut quiet);
                Some(p.1.forward(h, &mut quiet))
            }
            _ => None,
        };
        let sc = match (&self.shortcut, &proj) {
            (ShortcutNode::Identity, _) => JoinShortcut::Same(&x.t, x.pre()),
            (ShortcutNode::Pad(s), _) => JoinShortcut::PadA(&x.t, x.pre(), *s),
            (ShortcutNode::Projection(_), Some(p)) => JoinShortcut::Same(&p.t, p.pre()),
            _ => JoinShortcut::None,
        };
        let out = eltwise::join(cx.isa, &branch.t, branch.pre(), self.scale, sc, relu);
        (out, proj)
    }
}

struct LinearNode {
    inp: usize,
    out: usize,
    /// The shape the layer flattens (in NCHW order, as PyTorch does).
    in_shape: Shape,
    w: Param,
    b: Param,
    input: Option<Vec<f32>>,
}

enum Node {
    Conv(ConvNode),
    Bn(BnNode),
    /// A standalone ReLU keeps its output for the mask.
    Relu(Option<Arc<Tensor>>),
    Block(BlockNode),
    Pool {
        shape: Shape,
    },
    Linear(LinearNode),
    /// A ReLU whose work was fused into the layer before it.
    Fused,
}

fn forward_seq(nodes: &mut [Node], mut x: Act, cx: &mut Ctx) -> Act {
    for node in nodes {
        x = node.forward(x, cx);
    }
    x
}

fn backward_seq(
    nodes: &mut [Node],
    mut dy: Tensor,
    n: usize,
    isa: Isa,
    need_dx: bool,
) -> Option<Tensor> {
    for (i, node) in nodes.iter_mut().enumerate().rev() {
        match node.backward(dy, n, isa, need_dx || i > 0) {
            Some(d) => dy = d,
            None => return None,
        }
    }
    Some(dy)
}

impl Node {
    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        match self {
            Node::Conv(c) => c.forward(x, cx),
            Node::Bn(b) => b.forward(x, cx),
            Node::Relu(saved) => {
                let relu = PreOp::relu(x.t.c, x.t.cs);
                let t = x.materialize(cx.isa);
                let y = Arc::new(materialize(cx.isa, &t, Some(&relu)));
                if cx.train {
                    *saved = Some(y.clone());
                }
                Act {
                    t: y,
                    pre: None,
                    stats: None,
                }
            }
            Node::Fused => x,
            Node::Pool { shape } => {
                let y = eltwise::pool_forward(cx.isa, &x.t, x.pre());
                Act::plain(Tensor::from_nchw(
                    &y,
                    cx.n,
                    shape.c,
                    1,
                    1,
                    pad_channels(shape.c),
                ))
            }
            Node::Linear(l) => {
                let flat = x.to_nchw(cx.isa);
                let mut y = vec![0.0; cx.n * l.out];
                linear::forward(
                    cx.isa, cx.n, l.inp, l.out, &flat, &l.w.value, &l.b.value, &mut y,
                );
                if cx.train {
                    l.input = Some(flat);
                }
                Act::plain(Tensor::from_nchw(
                    &y,
                    cx.n,
                    l.out,
                    1,
                    1,
                    pad_channels(l.out),
                ))
            }
            Node::Block(b) => {
                let branch = forward_seq(&mut b.body, x.clone(), cx);
                let relu = b.relu;
                let out = Arc::new(b.join(&x, &branch, cx, relu).0);
                if let Some(t) = cx.taps.as_deref_mut() {
                    let (m, s) = eltwise::moments(cx.isa, &out, None);
                    t.push(Tap {
                        name: format!("{}.out", b.name),
                        mean: m,
                        std: s,
                    });
                }
                if cx.train && b.relu {
                    b.out = Some(out.clone());
                }
                Act {
                    t: out,
                    pre: None,
                    stats: None,
                }
            }
        }
    }

    /// dL/d(this node's input) from dL/d(its output); `None` when not needed.
    fn backward(&mut self, mut dy: Tensor, n: usize, isa: Isa, need_dx: bool) -> Option<Tensor> {
        match self {
            Node::Conv(c) => c.backward(dy, isa, need_dx),
            Node::Bn(b) => Some(b.backward(dy, isa)),
            Node::Relu(saved) => {
                let y = saved.take().expect("relu backward without forward");
                eltwise::relu_mask(isa, &y, &mut dy);
                Some(dy)
            }
            Node::Fused => Some(dy),
            Node::Pool { shape } => {
                let d = dy.to_nchw();
                Some(eltwise::pool_backward(&d, n, shape.h, shape.w, shape.c))
            }
            Node::Linear(l) => {
                let x = l.input.take().expect("linear backward without forward");
                let d = dy.to_nchw();
                let mut dx = if need_dx {
                    vec![0.0; n * l.inp]
                } else {
                    Vec::new()
                };
                linear::backward(
                    isa,
                    n,
                    l.inp,
                    l.out,
                    &x,
                    &l.w.value,
                    &d,
                    need_dx.then_some(dx.as_mut_slice()),
                    &mut l.w.grad,
                    &mut l.b.grad,
                );
                need_dx.then(|| {
                    let s = l.in_shape;
                    Tensor::from_nchw(&dx, n, s.c, s.h, s.w, pad_channels(s.c))
                })
            }
            Node::Block(b) => {
                if let Some(out) = b.out.take() {
                    eltwise::relu_mask(isa, &out, &mut dy);
                }
                let branch_dy = match b.shortcut {
                    ShortcutNode::None => std::mem::replace(&mut dy, Tensor::zeros(0, 0, 0, 0)),
                    _ => eltwise::scaled(isa, &dy, b.scale),
                };
                let mut dx = backward_seq(&mut b.body, branch_dy, n, isa, true)
                    .expect("a block's body always passes a gradient back");
                match &mut b.shortcut {
                    ShortcutNode::Identity => eltwise::add_assign(isa, &mut dx, &dy),
                    ShortcutNode::Pad(s) => eltwise::pad_a_backward_add(isa, &dy, &mut dx, *s),
                    ShortcutNode::Projection(p) => {
                        let d = p.1.backward(dy, isa);
                        let d = p.0.backward(d, isa, true).expect("asked for dx");
                        eltwise::add_assign(isa, &mut dx, &d);
                    }
                    ShortcutNode::None => {}
                }
                Some(dx)
            }
        }
    }

    fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        match self {
            Node::Conv(c) => f(&mut c.w),
            Node::Bn(b) => {
                f(&mut b.gamma);
                f(&mut b.beta);
            }
            Node::Linear(l) => {
                f(&mut l.w);
                f(&mut l.b);
            }
            Node::Block(b) => {
                for node in &mut b.body {
                    node.visit(f);
                }
                if let ShortcutNode::Projection(p) = &mut b.shortcut {
                    f(&mut p.0.w);
                    f(&mut p.1.gamma);
                    f(&mut p.1.beta);
                }
            }
            Node::Relu(_) | Node::Fused | Node::Pool { .. } => {}
        }
    }

    fn visit_bn(&mut self, f: &mut dyn FnMut(&mut BnNode)) {
        match self {
            Node::Bn(b) => f(b),
            Node::Block(b) => {
                for node in &mut b.body {
                    node.visit_bn(f);
                }
                if let ShortcutNode::Projection(p) = &mut b.shortcut {
                    f(&mut p.1);
                }
            }
            _ => {}
        }
    }
}

struct Builder<'a> {
    infos: std::slice::Iter<'a, LayerInfo>,
    rng_stream: u64,
    seed: u64,
    opts: ModelOptions,
}

impl Builder<'_> {
    fn next_info(&mut self) -> &LayerInfo {
        self.infos
            .next()
            .expect("inference and build walk the spec in the same order")
    }

    fn he(&mut self, len: usize, fan_in: usize) -> Vec<f32> {
        self.rng_stream += 1;
        let mut r = Rng64::derive(self.seed, self.rng_stream);
        let std = (2.0 / fan_in.max(1) as f32).sqrt();
        (0..len).map(|_| r.normal() * std).collect()
    }

    fn uniform(&mut self, len: usize, bound: f32) -> Vec<f32> {
        self.rng_stream += 1;
        let mut r = Rng64::derive(self.seed, self.rng_stream);
        (0..len).map(|_| r.range_f32(-bound, bound)).collect()
    }

    fn conv(
        &mut self,
        key: String,
        input: Shape,
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> ConvNode {
        let geom = ConvGeom {
            cin: input.c,
            h: input.h,
            w: input.w,
            cout: out,
            k,
            stride,
            pad,
        };
        let w = self.he(geom.weight_len(), input.c * k * k);
        ConvNode {
            geom,
            w: Param::new(format!("{key}.weight"), ParamKind::ConvWeight, w),
            stats: false,
            input: None,
        }
    }

    fn seq(&mut self, layers: &[LayerSpec]) -> Vec<Node> {
        let mut nodes: Vec<Node> = Vec::with_capacity(layers.len());
        for layer in layers {
            let info = self.next_info().clone();
            let node = match layer {
                LayerSpec::Conv {
                    out,
                    k,
                    stride,
                    pad,
                } => Node::Conv(self.conv(info.key, info.input, *out, *k, *stride, *pad)),
                LayerSpec::BatchNorm => {
                    if let Some(Node::Conv(c)) = nodes.last_mut() {
                        c.stats = true;
                    }
                    Node::Bn(BnNode::new(info.name, info.key, info.input.c))
                }
                LayerSpec::ReLU => match nodes.last_mut() {
                    Some(Node::Bn(b)) if !b.relu => {
                        b.relu = true;
                        Node::Fused
                    }
                    Some(Node::Block(b)) if !b.relu => {
                        b.relu = true;
                        Node::Fused
                    }
                    _ => Node::Relu(None),
                },
                LayerSpec::GlobalAvgPool => Node::Pool { shape: info.input },
                LayerSpec::Linear { out } => {
                    let inp = info.input.len();
                    // As the reference CIFAR ResNet code (akamaster/pytorch_resnet_cifar10)
                    // does: He-normal weights like every conv, PyTorch's default bias.
                    let w = self.he(inp * out, inp);
                    let b = self.uniform(*out, 1.0 / (inp as f32).sqrt());
                    Node::Linear(LinearNode {
                        inp,
                        out: *out,
                        in_shape: info.input,
                        w: Param::new(format!("{}.weight", info.key), ParamKind::LinearWeight, w),
                        b: Param::new(format!("{}.bias", info.key), ParamKind::LinearBias, b),
                        input: None,
                    })
                }
                LayerSpec::Block(spec) => {
                    let mut body = self.seq(&spec.body);
                    let (input, output) = (info.input, info.output);
                    let shortcut = match spec.shortcut {
                        Shortcut::Identity => ShortcutNode::Identity,
                        Shortcut::None => ShortcutNode::None,
                        Shortcut::ZeroPadA => ShortcutNode::Pad(
                            super::spec::matching_stride(input, output)
                                .expect("checked by inference"),
                        ),
                        Shortcut::Projection => {
                            let pinfo = self.next_info().clone();
                            let stride = super::spec::matching_stride(input, output)
                                .expect("checked by inference");
                            let mut c = self.conv(
                                format!("{}.conv", pinfo.key),
                                input,
                                output.c,
                                1,
                                stride,
                                0,
                            );
                            c.stats = true;
                            let bn = BnNode::new(
                                format!("{}.bn", pinfo.name),
                                format!("{}.bn", pinfo.key),
                                output.c,
                            );
                            ShortcutNode::Projection(Box::new((c, bn)))
                        }
                    };
                    let last_bn = body.iter_mut().rev().find(|n| matches!(n, Node::Bn(_)));
                    if self.opts.zero_init_residual
                        && !matches!(shortcut, ShortcutNode::None)
                        && let Some(Node::Bn(bn)) = last_bn
                    {
                        bn.gamma.value.fill(0.0);
                    }
                    Node::Block(BlockNode {
                        name: info.name,
                        body,
                        shortcut,
                        scale: spec.residual_scale,
                        relu: false,
                        out: None,
                    })
                }
            };
            nodes.push(node);
        }
        nodes
    }
}

/// A network ready to train.
pub struct Model {
    spec: NetSpec,
    input: Shape,
    classes: usize,
    output: Shape,
    nodes: Vec<Node>,
    probe: bool,
    taps: Vec<Tap>,
    last_batch: usize,
    isa: Isa,
}

impl Model {
    /// Builds the net for inputs of shape `input` with weights drawn from `seed`: every conv and
    /// Linear weight He-normal (std sqrt(2 / fan_in)), Linear biases uniform in
    /// +-1/sqrt(fan_in), batch norm gamma 1 and beta 0, as the reference CIFAR ResNet code does.
    pub fn new(
        spec: &NetSpec,
        input: Shape,
        seed: u64,
        opts: ModelOptions,
    ) -> Result<Self, SpecError> {
        let info = spec.validate(input)?;
        let classes = info.output.len();
        let mut b = Builder {
            infos: info.layers.iter(),
            rng_stream: 0,
            seed,
            opts,
        };
        let nodes = b.seq(&spec.layers);
        Ok(Self {
            spec: spec.clone(),
            input,
            classes,
            output: info.output,
            nodes,
            probe: true,
            taps: Vec::new(),
            last_batch: 0,
            isa: simd::active(),
        })
    }

    pub fn spec(&self) -> &NetSpec {
        &self.spec
    }
    pub fn input_shape(&self) -> Shape {
        self.input
    }
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The SIMD path this model's kernels run on (see [`simd::active`]).
    pub fn simd(&self) -> Isa {
        self.isa
    }

    /// Runs this model's kernels on `isa` (tests compare paths; panics later if the CPU lacks it).
    pub fn set_simd(&mut self, isa: Isa) {
        self.isa = isa;
    }

    /// Turns the activation probe on or off (it costs one extra pass over each block's output).
    pub fn set_probe(&mut self, on: bool) {
        self.probe = on;
    }

    /// Logits `[n, classes]` for a batch `x` of `n` images (NCHW). In train mode batch norm uses
    /// the batch statistics and the caches for [`Model::backward`] are kept.
    pub fn forward(&mut self, x: Vec<f32>, n: usize, train: bool) -> Vec<f32> {
        assert_eq!(
            x.len(),
            n * self.input.len(),
            "input batch has the wrong size"
        );
        self.taps.clear();
        let probe = self.probe && train;
        let s = self.input;
        // The first convolution reads the images unpadded (1-3 channels); anything else wants
        // whole channel vectors.
        let cs = match self.nodes.first() {
            Some(Node::Conv(_)) => s.c,
            _ => pad_channels(s.c),
        };
        let x = Act::plain(Tensor::from_nchw(&x, n, s.c, s.h, s.w, cs));
        let mut cx = Ctx {
            n,
            train,
            isa: self.isa,
            taps: probe.then_some(&mut self.taps),
        };
        self.last_batch = n;
        let y = forward_seq(&mut self.nodes, x, &mut cx);
        y.to_nchw(self.isa)
    }

    /// Back-propagates dL/dlogits from the last train-mode forward pass, adding into each grad.
    pub fn backward(&mut self, dlogits: Vec<f32>) {
        let n = self.last_batch;
        let o = self.output;
        let d = Tensor::from_nchw(&dlogits, n, o.c, o.h, o.w, pad_channels(o.c));
        backward_seq(&mut self.nodes, d, n, self.isa, false);
    }

    pub fn zero_grad(&mut self) {
        self.visit_params(&mut |p| p.grad.fill(0.0));
    }

    /// Every parameter in forward order (input side first).
    pub fn visit_params(&mut self, f: &mut dyn FnMut(&mut Param)) {
        for node in &mut self.nodes {
            node.visit(f);
        }
    }

    pub fn param_count(&mut self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |p| n += p.value.len());
        n
    }

    /// L2 norm of each weight tensor's gradient, input side first.
    pub fn grad_norms(&mut self) -> Vec<(String, f32)> {
        let mut out = Vec::new();
        self.visit_params(&mut |p| {
            if p.kind.is_weight() {
                let s: f64 = p.grad.iter().map(|&g| (g as f64) * (g as f64)).sum();
                out.push((p.name.clone(), s.sqrt() as f32));
            }
        });
        out
    }

    /// Activation statistics from the last train-mode forward pass (empty when the probe is off).
    pub fn taps(&self) -> &[Tap] {
        &self.taps
    }

    /// Flat copy of every parameter and running statistic, for saving and comparing weights.
    pub fn state(&mut self) -> Vec<f32> {
        let mut v = Vec::new();
        self.visit_params(&mut |p| v.extend_from_slice(&p.value));
        for node in &mut self.nodes {
            node.visit_bn(&mut |b| {
                v.extend_from_slice(&b.running_mean);
                v.extend_from_slice(&b.running_var);
            });
        }
        v
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // Buffers this model's steps recycled are of no use to the next one.
        tensor::trim_pool();
    }
}

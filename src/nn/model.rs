//! A trainable network built from a [`NetSpec`]: parameters, caches, forward and backward.
//!
//! Layers are nodes that run forward on a shared activation (`Arc<Vec<f32>>`, so a block's input
//! can feed its body and its shortcut without a copy) and backward on an owned gradient buffer.
//! Each node keeps exactly what its backward pass needs until that pass consumes it.
use super::ops::{batchnorm, conv, linear, pool, relu, shortcut};
use super::spec::{LayerInfo, LayerSpec, NetSpec, Shape, Shortcut, SpecError};
use crate::rng::Rng64;
use std::sync::Arc;

mod state;
pub use state::LayerOutput;

type Act = Arc<Vec<f32>>;

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

struct Ctx<'a> {
    n: usize,
    train: bool,
    taps: Option<&'a mut Vec<Tap>>,
}

struct ConvNode {
    geom: conv::ConvGeom,
    w: Param,
    input: Option<Act>,
}

impl ConvNode {
    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        let mut y = vec![0.0; cx.n * self.geom.out_len()];
        conv::forward(&self.geom, cx.n, &x, &self.w.value, &mut y);
        if cx.train {
            self.input = Some(x);
        }
        Arc::new(y)
    }

    fn backward(&mut self, dy: Vec<f32>, n: usize, need_dx: bool) -> Vec<f32> {
        let x = self.input.take().expect("conv backward without forward");
        let mut dx = if need_dx {
            vec![0.0; n * self.geom.in_len()]
        } else {
            Vec::new()
        };
        conv::backward(
            &self.geom,
            n,
            &x,
            &self.w.value,
            &dy,
            need_dx.then_some(dx.as_mut_slice()),
            &mut self.w.grad,
        );
        dx
    }
}

struct BnNode {
    /// The layer's name, for the activation probe.
    name: String,
    /// Its module path: parameter and buffer names start with it.
    key: String,
    c: usize,
    hw: usize,
    relu: bool,
    gamma: Param,
    beta: Param,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    /// Train-mode forward passes so far (PyTorch's `num_batches_tracked`).
    batches_tracked: i64,
    x_hat: Vec<f32>,
    inv_std: Vec<f32>,
}

impl BnNode {
    fn new(name: String, key: String, c: usize, hw: usize) -> Self {
        Self {
            gamma: Param::new(format!("{key}.weight"), ParamKind::BnGamma, vec![1.0; c]),
            beta: Param::new(format!("{key}.bias"), ParamKind::BnBeta, vec![0.0; c]),
            name,
            key,
            c,
            hw,
            relu: false,
            running_mean: vec![0.0; c],
            running_var: vec![1.0; c],
            batches_tracked: 0,
            x_hat: Vec::new(),
            inv_std: Vec::new(),
        }
    }

    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        let len = cx.n * self.c * self.hw;
        let mut y = vec![0.0; len];
        if !cx.train {
            batchnorm::forward_eval(
                cx.n,
                self.c,
                self.hw,
                &x,
                &self.gamma.value,
                &self.beta.value,
                &self.running_mean,
                &self.running_var,
                BN_EPS,
                self.relu,
                &mut y,
            );
            return Arc::new(y);
        }
        let mut xh = Arc::unwrap_or_clone(x);
        let st = batchnorm::forward_train(
            cx.n,
            self.c,
            self.hw,
            &mut xh,
            &self.gamma.value,
            &self.beta.value,
            BN_EPS,
            self.relu,
            &mut y,
            cx.taps.is_some(),
        );
        self.batches_tracked += 1;
        let m = (cx.n * self.hw) as f32;
        let unbias = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
        for ch in 0..self.c {
            self.running_mean[ch] =
                (1.0 - BN_MOMENTUM) * self.running_mean[ch] + BN_MOMENTUM * st.mean[ch];
            self.running_var[ch] =
                (1.0 - BN_MOMENTUM) * self.running_var[ch] + BN_MOMENTUM * st.var[ch] * unbias;
        }
        if let Some(t) = cx.taps.as_deref_mut() {
            t.push(Tap {
                name: self.name.clone(),
                mean: st.out_mean,
                std: st.out_std,
            });
        }
        self.x_hat = xh;
        self.inv_std = st.inv_std;
        Arc::new(y)
    }

    fn backward(&mut self, mut dy: Vec<f32>, n: usize) -> Vec<f32> {
        batchnorm::backward(
            n,
            self.c,
            self.hw,
            &self.x_hat,
            &self.inv_std,
            &self.gamma.value,
            &self.beta.value,
            self.relu,
            &mut dy,
            &mut self.gamma.grad,
            &mut self.beta.grad,
        );
        self.x_hat = Vec::new();
        dy
    }
}

enum ShortcutNode {
    Identity,
    Pad(shortcut::PadGeom),
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
    out: Option<Act>,
}

struct LinearNode {
    inp: usize,
    out: usize,
    w: Param,
    b: Param,
    input: Option<Act>,
}

enum Node {
    Conv(ConvNode),
    Bn(BnNode),
    Relu(Option<Act>),
    Block(BlockNode),
    Pool {
        c: usize,
        hw: usize,
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

fn backward_seq(nodes: &mut [Node], mut dy: Vec<f32>, n: usize, need_dx: bool) -> Vec<f32> {
    for (i, node) in nodes.iter_mut().enumerate().rev() {
        dy = node.backward(dy, n, need_dx || i > 0);
    }
    dy
}

impl Node {
    fn forward(&mut self, x: Act, cx: &mut Ctx) -> Act {
        match self {
            Node::Conv(c) => c.forward(x, cx),
            Node::Bn(b) => b.forward(x, cx),
            Node::Relu(saved) => {
                let mut y = Arc::unwrap_or_clone(x);
                relu::forward(&mut y);
                let y = Arc::new(y);
                if cx.train {
                    *saved = Some(y.clone());
                }
                y
            }
            Node::Fused => x,
            Node::Pool { c, hw } => {
                let mut y = vec![0.0; cx.n * *c];
                pool::forward(cx.n, *c, *hw, &x, &mut y);
                Arc::new(y)
            }
            Node::Linear(l) => {
                let mut y = vec![0.0; cx.n * l.out];
                linear::forward(cx.n, l.inp, l.out, &x, &l.w.value, &l.b.value, &mut y);
                if cx.train {
                    l.input = Some(x);
                }
                Arc::new(y)
            }
            Node::Block(b) => {
                let branch = forward_seq(&mut b.body, x.clone(), cx);
                let mut out = Arc::unwrap_or_clone(branch);
                let sc: Option<Act> = match &mut b.shortcut {
                    ShortcutNode::Identity => Some(x),
                    ShortcutNode::Pad(g) => {
                        let mut s = vec![0.0; out.len()];
                        shortcut::forward(g, cx.n, &x, &mut s);
                        Some(Arc::new(s))
                    }
                    ShortcutNode::Projection(p) => {
                        // The projection's BN is not a "layer response" the probe plots.
                        let mut quiet = Ctx {
                            n: cx.n,
                            train: cx.train,
                            taps: None,
                        };
                        let h = p.0.forward(x, &mut quiet);
                        Some(p.1.forward(h, &mut quiet))
                    }
                    ShortcutNode::None => None,
                };
                match sc {
                    Some(s) => relu::add_forward(&mut out, &s, b.scale, b.relu),
                    None if b.relu => relu::forward(&mut out),
                    None => {}
                }
                let out = Arc::new(out);
                if let Some(t) = cx.taps.as_deref_mut() {
                    let (m, s) = moments(&out);
                    t.push(Tap {
                        name: format!("{}.out", b.name),
                        mean: m,
                        std: s,
                    });
                }
                if cx.train && b.relu {
                    b.out = Some(out.clone());
                }
                out
            }
        }
    }

    fn backward(&mut self, mut dy: Vec<f32>, n: usize, need_dx: bool) -> Vec<f32> {
        match self {
            Node::Conv(c) => c.backward(dy, n, need_dx),
            Node::Bn(b) => b.backward(dy, n),
            Node::Relu(saved) => {
                let y = saved.take().expect("relu backward without forward");
                relu::backward(&y, &mut dy);
                dy
            }
            Node::Fused => dy,
            Node::Pool { c, hw } => {
                let mut dx = vec![0.0; n * *c * *hw];
                pool::backward(n, *c, *hw, &dy, &mut dx);
                dx
            }
            Node::Linear(l) => {
                let x = l.input.take().expect("linear backward without forward");
                let mut dx = if need_dx {
                    vec![0.0; n * l.inp]
                } else {
                    Vec::new()
                };
                linear::backward(
                    n,
                    l.inp,
                    l.out,
                    &x,
                    &l.w.value,
                    &dy,
                    need_dx.then_some(dx.as_mut_slice()),
                    &mut l.w.grad,
                    &mut l.b.grad,
                );
                dx
            }
            Node::Block(b) => {
                if let Some(out) = b.out.take() {
                    relu::backward(&out, &mut dy);
                }
                let branch_dy = match b.shortcut {
                    ShortcutNode::None => std::mem::take(&mut dy),
                    _ if b.scale == 1.0 => dy.clone(),
                    _ => dy.iter().map(|v| v * b.scale).collect(),
                };
                let mut dx = backward_seq(&mut b.body, branch_dy, n, true);
                match &mut b.shortcut {
                    ShortcutNode::Identity => {
                        for (a, d) in dx.iter_mut().zip(&dy) {
                            *a += d;
                        }
                    }
                    ShortcutNode::Pad(g) => shortcut::backward_add(g, n, &dy, &mut dx),
                    ShortcutNode::Projection(p) => {
                        let d = p.1.backward(dy, n);
                        let d = p.0.backward(d, n, true);
                        for (a, v) in dx.iter_mut().zip(&d) {
                            *a += v;
                        }
                    }
                    ShortcutNode::None => {}
                }
                dx
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

fn moments(v: &[f32]) -> (f32, f32) {
    // Lane sums per 4096-value piece keep this vectorised; f64 across pieces keeps it accurate.
    let (mut s, mut s2) = (0.0f64, 0.0f64);
    for piece in v.chunks(4096) {
        let (a, b) = batchnorm::lane_sums(piece, piece, |x, _| (x, x * x));
        s += a as f64;
        s2 += b as f64;
    }
    let n = v.len().max(1) as f64;
    let m = s / n;
    (m as f32, (s2 / n - m * m).max(0.0).sqrt() as f32)
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
        let geom = conv::ConvGeom {
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
                LayerSpec::BatchNorm => Node::Bn(BnNode::new(
                    info.name,
                    info.key,
                    info.input.c,
                    info.input.h * info.input.w,
                )),
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
                LayerSpec::GlobalAvgPool => Node::Pool {
                    c: info.input.c,
                    hw: info.input.h * info.input.w,
                },
                LayerSpec::Linear { out } => {
                    let inp = info.input.len();
                    // As the reference CIFAR ResNet code (akamaster/pytorch_resnet_cifar10)
                    // does: He-normal weights like every conv, PyTorch's default bias.
                    let w = self.he(inp * out, inp);
                    let b = self.uniform(*out, 1.0 / (inp as f32).sqrt());
                    Node::Linear(LinearNode {
                        inp,
                        out: *out,
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
                        Shortcut::ZeroPadA => ShortcutNode::Pad(shortcut::PadGeom {
                            cin: input.c,
                            h: input.h,
                            w: input.w,
                            cout: output.c,
                            stride: super::spec::matching_stride(input, output)
                                .expect("checked by inference"),
                        }),
                        Shortcut::Projection => {
                            let pinfo = self.next_info().clone();
                            let stride = super::spec::matching_stride(input, output)
                                .expect("checked by inference");
                            let c = self.conv(
                                format!("{}.conv", pinfo.key),
                                input,
                                output.c,
                                1,
                                stride,
                                0,
                            );
                            let bn = BnNode::new(
                                format!("{}.bn", pinfo.name),
                                format!("{}.bn", pinfo.key),
                                output.c,
                                output.h * output.w,
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
    nodes: Vec<Node>,
    probe: bool,
    taps: Vec<Tap>,
    last_batch: usize,
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
            nodes,
            probe: true,
            taps: Vec::new(),
            last_batch: 0,
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
        let mut cx = Ctx {
            n,
            train,
            taps: probe.then_some(&mut self.taps),
        };
        self.last_batch = n;
        let y = forward_seq(&mut self.nodes, Arc::new(x), &mut cx);
        Arc::unwrap_or_clone(y)
    }

    /// Back-propagates dL/dlogits from the last train-mode forward pass, adding into each grad.
    pub fn backward(&mut self, dlogits: Vec<f32>) {
        backward_seq(&mut self.nodes, dlogits, self.last_batch, false);
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

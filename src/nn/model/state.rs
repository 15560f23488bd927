//! A model's named tensors (parameters and batch-norm buffers) in and out, and a trace of every
//! layer's output.
//!
//! Tensor names are the `state_dict` keys of the PyTorch module `export-torch` generates from
//! the same spec, in the same order: each layer's module path (`LayerInfo::key`) plus `.weight`,
//! `.bias`, `.running_mean`, `.running_var` or `.num_batches_tracked`.
use super::{Act, BnNode, Ctx, Model, Node, ShortcutNode};
use crate::nn::ops::tensor::{PreOp, Tensor as Activation, materialize, pad_channels};
use crate::nn::spec::{LayerInfo, LayerSpec, Shape};
use crate::nn::tensor::{Tensor, TensorData, shape_text};
use std::collections::HashMap;

/// Where one named tensor lives inside the model.
enum Slot<'a> {
    F32(&'a mut Vec<f32>),
    I64(&'a mut i64),
}

/// Calls `f(name, shape, slot)` for every tensor of `nodes`, in `state_dict` order.
fn visit_slots(nodes: &mut [Node], f: &mut dyn FnMut(String, Vec<usize>, Slot)) {
    for node in nodes {
        match node {
            Node::Conv(c) => {
                let g = c.geom;
                f(
                    c.w.name.clone(),
                    vec![g.cout, g.cin, g.k, g.k],
                    Slot::F32(&mut c.w.value),
                );
            }
            Node::Bn(b) => bn_slots(b, f),
            Node::Linear(l) => {
                f(
                    l.w.name.clone(),
                    vec![l.out, l.inp],
                    Slot::F32(&mut l.w.value),
                );
                f(l.b.name.clone(), vec![l.out], Slot::F32(&mut l.b.value));
            }
            Node::Block(b) => {
                visit_slots(&mut b.body, f);
                if let ShortcutNode::Projection(p) = &mut b.shortcut {
                    let g = p.0.geom;
                    f(
                        p.0.w.name.clone(),
                        vec![g.cout, g.cin, 1, 1],
                        Slot::F32(&mut p.0.w.value),
                    );
                    bn_slots(&mut p.1, f);
                }
            }
            Node::Relu(_) | Node::Fused | Node::Pool { .. } => {}
        }
    }
}

fn bn_slots(b: &mut BnNode, f: &mut dyn FnMut(String, Vec<usize>, Slot)) {
    let c = b.gamma.value.len();
    f(b.gamma.name.clone(), vec![c], Slot::F32(&mut b.gamma.value));
    f(b.beta.name.clone(), vec![c], Slot::F32(&mut b.beta.value));
    f(
        format!("{}.running_mean", b.key),
        vec![c],
        Slot::F32(&mut b.running_mean),
    );
    f(
        format!("{}.running_var", b.key),
        vec![c],
        Slot::F32(&mut b.running_var),
    );
    f(
        format!("{}.num_batches_tracked", b.key),
        vec![],
        Slot::I64(&mut b.batches_tracked),
    );
}

/// One layer's output from [`Model::trace`].
#[derive(Clone, Debug, PartialEq)]
pub struct LayerOutput {
    /// The spec's layer name (`LayerInfo::name`), e.g. `stage2.block1.conv1`.
    pub name: String,
    /// Its module path in the generated PyTorch module (`LayerInfo::key`).
    pub key: String,
    /// Per image; `values` holds `n * shape.len()` floats, NCHW.
    pub shape: Shape,
    pub values: Vec<f32>,
}

impl Model {
    /// Every parameter and batch-norm buffer, named and shaped as in the generated PyTorch
    /// module's `state_dict` (running statistics and `num_batches_tracked` included).
    pub fn params(&mut self) -> Vec<Tensor> {
        let mut out = Vec::new();
        visit_slots(&mut self.nodes, &mut |name, shape, slot| {
            out.push(match slot {
                Slot::F32(v) => Tensor::f32(name, shape, v.clone()),
                Slot::I64(v) => Tensor::i64(name, shape, vec![*v]),
            })
        });
        out
    }

    /// The gradient of every parameter from the last backward pass, named like [`Model::params`]
    /// (no buffers: they have no gradient).
    pub fn grads(&mut self) -> Vec<Tensor> {
        let mut shapes = HashMap::new();
        visit_slots(&mut self.nodes, &mut |name, shape, _| {
            shapes.insert(name, shape);
        });
        let mut out = Vec::new();
        self.visit_params(&mut |p| {
            let shape = shapes.get(&p.name).cloned().unwrap_or(vec![p.grad.len()]);
            out.push(Tensor::f32(p.name.clone(), shape, p.grad.clone()));
        });
        out
    }

    /// Replaces every parameter and buffer with the tensor of the same name. Every tensor the
    /// net has must be there with its shape and type, and nothing else: otherwise nothing
    /// changes and the error says which tensor is wrong, in one sentence.
    pub fn load(&mut self, tensors: &[Tensor]) -> Result<(), String> {
        let mut by_name: HashMap<&str, &Tensor> = HashMap::with_capacity(tensors.len());
        for t in tensors {
            if by_name.insert(t.name.as_str(), t).is_some() {
                return Err(format!("the weights hold two tensors named `{}`", t.name));
            }
        }
        let mut problem: Option<String> = None;
        let mut missing = 0usize;
        let mut wanted = 0usize;
        visit_slots(&mut self.nodes, &mut |name, shape, slot| {
            wanted += 1;
            let Some(t) = by_name.get(name.as_str()) else {
                missing += 1;
                if problem.is_none() {
                    problem = Some(format!(
                        "the weights have no tensor `{name}`, which this net needs"
                    ));
                }
                return;
            };
            let want_dtype = match slot {
                Slot::F32(_) => "F32",
                Slot::I64(_) => "I64",
            };
            let p = if t.data.dtype() != want_dtype {
                Some(format!(
                    "`{name}` holds {} values but this net needs {want_dtype}",
                    t.data.dtype()
                ))
            } else if t.shape != shape {
                Some(format!(
                    "`{name}` has shape {} in the weights but this net needs {}",
                    t.shape_text(),
                    shape_text(&shape)
                ))
            } else {
                None
            };
            if problem.is_none() {
                problem = p;
            }
        });
        if let Some(p) = problem {
            return Err(if missing > 1 {
                format!("{p} ({missing} of its {wanted} tensors are missing)")
            } else {
                p
            });
        }
        if tensors.len() > wanted {
            let mut known = std::collections::HashSet::new();
            visit_slots(&mut self.nodes, &mut |name, _, _| {
                known.insert(name);
            });
            let extra: Vec<&str> = tensors
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| !known.contains(*n))
                .collect();
            return Err(format!(
                "the weights hold `{}`, which this net does not have{}",
                extra.first().copied().unwrap_or("?"),
                if extra.len() > 1 {
                    format!(" ({} such tensors)", extra.len())
                } else {
                    String::new()
                }
            ));
        }
        visit_slots(&mut self.nodes, &mut |name, _, slot| {
            let t = by_name[name.as_str()];
            match (slot, &t.data) {
                (Slot::F32(v), TensorData::F32(src)) => v.copy_from_slice(src),
                (Slot::I64(v), TensorData::I64(src)) => *v = src[0],
                _ => unreachable!("types were checked above"),
            }
        });
        Ok(())
    }

    /// Every layer's output for the batch `x` of `n` images in eval mode (running batch-norm
    /// statistics), in forward order, named as the spec names its layers. A block's entry is
    /// its output after the addition; a ReLU fused into the layer before it still gets its own
    /// entry, and that layer's entry is its output before the ReLU. The last entry is the logits.
    ///
    /// Each entry holds all `n` images, so a 56-layer net on 28x28 images keeps about 8 MB per
    /// image: trace a few images at a time.
    pub fn trace(&mut self, x: &[f32], n: usize) -> Vec<LayerOutput> {
        assert_eq!(
            x.len(),
            n * self.input.len(),
            "input batch has the wrong size"
        );
        let info = self
            .spec
            .infer(self.input)
            .expect("the spec was validated when the model was built");
        let mut infos = info.layers.iter();
        let mut out = Vec::new();
        // The real eval-mode forward pass (the same kernels as `forward`), recording as it goes.
        let s = self.input;
        let cs = match self.nodes.first() {
            Some(Node::Conv(_)) => s.c,
            _ => pad_channels(s.c),
        };
        let x = Act::plain(Activation::from_nchw(x, n, s.c, s.h, s.w, cs));
        let mut cx = Ctx {
            n,
            train: false,
            isa: self.isa,
            taps: None,
        };
        trace_seq(
            &self.spec.layers,
            &mut self.nodes,
            x,
            &mut cx,
            &mut infos,
            &mut out,
        );
        out
    }
}

fn record(out: &mut Vec<LayerOutput>, info: &LayerInfo, values: Vec<f32>) {
    out.push(LayerOutput {
        name: info.name.clone(),
        key: info.key.clone(),
        shape: info.output,
        values,
    });
}

fn trace_seq<'a>(
    layers: &[LayerSpec],
    nodes: &mut [Node],
    mut x: Act,
    cx: &mut Ctx,
    infos: &mut std::slice::Iter<'a, LayerInfo>,
    out: &mut Vec<LayerOutput>,
) -> Act {
    let isa = cx.isa;
    for (layer, node) in layers.iter().zip(nodes.iter_mut()) {
        let info = infos
            .next()
            .expect("inference and the model walk the spec in the same order");
        x = match node {
            Node::Block(b) => {
                let LayerSpec::Block(spec) = layer else {
                    unreachable!("a block node comes from a block layer")
                };
                let branch = trace_seq(&spec.body, &mut b.body, x.clone(), cx, infos, out);
                // The block's entry is the sum before its fused ReLU (which gets its own entry).
                let (sum, proj) = b.join(&x, &branch, cx, false);
                if let Some(p) = proj {
                    let pinfo = infos.next().expect("a projection has its own entry");
                    record(out, pinfo, p.to_nchw(isa));
                }
                // The block's entry came before its body's in `infos`; its output comes after.
                record(out, info, sum.to_nchw());
                let y = if b.relu {
                    materialize(isa, &sum, Some(&PreOp::relu(sum.c, sum.cs)))
                } else {
                    sum
                };
                Act::plain(y)
            }
            Node::Bn(b) if b.relu => {
                // The entry is the normalised value; the fused ReLU's own entry follows.
                let y = b.forward(x, cx);
                let mut op = y.pre().expect("batch norm hands on its map").clone();
                op.relu = false;
                record(out, info, materialize(isa, &y.t, Some(&op)).to_nchw());
                y
            }
            _ => {
                let y = node.forward(x, cx);
                record(out, info, y.to_nchw(isa));
                y
            }
        };
    }
    x
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("net", &self.spec.name)
            .field("input", &self.input)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

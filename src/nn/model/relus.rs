//! What every ReLU of the last train-mode forward pass passed on: its values, and so its
//! discrete choice (where its input was > 0, where its backward pass lets the gradient through).
//! `dev-step --relu-outputs` writes them so tests/torch/compare.py can replay a step in PyTorch
//! float64 layer by layer. Reading them changes nothing.
use super::{LayerOutput, Model, Node, ShortcutNode};
use crate::nn::ops::simd::Isa;
use crate::nn::ops::tensor::{Tensor, materialize};
use crate::nn::spec::{LayerInfo, LayerSpec};

impl Model {
    /// Every ReLU's output from the last train-mode [`Model::forward`], in forward order and
    /// NCHW, bit for bit what the next layer read, named as the spec names the ReLU layer. It is
    /// positive exactly where the ReLU's input was positive as this model's kernels computed it
    /// (the test its backward pass makes). A ReLU fused into a batch norm has the normalised value as
    /// input, one fused into a block the block's sum. Call it between that forward pass and
    /// [`Model::backward`], which consumes what the outputs are read from.
    pub fn relu_outputs(&self) -> Vec<LayerOutput> {
        let info = self
            .spec
            .infer(self.input)
            .expect("the spec was validated when the model was built");
        let mut out = Vec::new();
        relus_seq(
            &self.spec.layers,
            &self.nodes,
            &mut info.layers.iter(),
            self.isa,
            &mut out,
        );
        out
    }
}

const NO_FORWARD: &str =
    "relu_outputs needs a train-mode forward pass not yet consumed by backward";

fn relus_seq(
    layers: &[LayerSpec],
    nodes: &[Node],
    infos: &mut std::slice::Iter<LayerInfo>,
    isa: Isa,
    out: &mut Vec<LayerOutput>,
) {
    for (i, (layer, node)) in layers.iter().zip(nodes).enumerate() {
        let info = infos
            .next()
            .expect("inference and the model walk the spec in the same order");
        match node {
            Node::Block(b) => {
                let LayerSpec::Block(spec) = layer else {
                    unreachable!("a block node comes from a block layer")
                };
                relus_seq(&spec.body, &b.body, infos, isa, out);
                if let ShortcutNode::Projection(_) = b.shortcut {
                    infos.next().expect("a projection has its own entry");
                }
            }
            Node::Relu(y) => record(out, info, y.as_deref().expect(NO_FORWARD)),
            Node::Fused => match &nodes[i - 1] {
                Node::Bn(bn) => {
                    // The batch norm's map and its ReLU, by the kernel (and so with the rounding)
                    // that applies them for the next layer and recomputes them for the backward.
                    let (x, saved) = bn.saved.as_ref().expect(NO_FORWARD);
                    record(out, info, &materialize(isa, x, Some(&saved.op)));
                }
                Node::Block(b) => record(out, info, b.out.as_deref().expect(NO_FORWARD)),
                _ => unreachable!("a ReLU is fused only into a batch norm or a block"),
            },
            _ => {}
        }
    }
}

fn record(out: &mut Vec<LayerOutput>, info: &LayerInfo, t: &Tensor) {
    out.push(LayerOutput {
        name: info.name.clone(),
        key: info.key.clone(),
        shape: info.output,
        values: t.to_nchw(),
    });
}

//! Ready-made networks: the ResNet paper's CIFAR family, plain twins, and the course's blocks.
use super::spec::{BlockSpec, LayerSpec, NetSpec, Shortcut};

/// How a residual net crosses a change of width: the paper's options A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum ShortcutOption {
    #[default]
    A,
    B,
}

fn conv(out: usize, k: usize, stride: usize) -> LayerSpec {
    LayerSpec::Conv {
        out,
        k,
        stride,
        pad: k / 2,
    }
}

/// The paper's basic block body: 3x3 conv, BN, ReLU, 3x3 conv, BN.
fn basic_body(ch: usize, stride: usize) -> Vec<LayerSpec> {
    vec![
        conv(ch, 3, stride),
        LayerSpec::BatchNorm,
        LayerSpec::ReLU,
        conv(ch, 3, 1),
        LayerSpec::BatchNorm,
    ]
}

/// Whether `depth` is a member of the 6n+2 family.
pub fn valid_cifar_depth(depth: usize) -> bool {
    depth >= 8 && (depth - 2).is_multiple_of(6)
}

/// The CIFAR network of He et al. 2015 (section 4.2): 6n+2 weighted layers, three stages of
/// widths `width`, 2x and 4x, global average pooling and a linear classifier.
/// Returns `None` when `depth` is not 6n+2 with n >= 1.
pub fn cifar(
    depth: usize,
    residual: bool,
    option: ShortcutOption,
    width: usize,
    classes: usize,
) -> Option<NetSpec> {
    if !valid_cifar_depth(depth) || width == 0 || classes == 0 {
        return None;
    }
    let n = (depth - 2) / 6;
    let mut layers = vec![conv(width, 3, 1), LayerSpec::BatchNorm, LayerSpec::ReLU];
    for stage in 0..3 {
        let ch = width << stage;
        for i in 0..n {
            let down = stage > 0 && i == 0;
            let shortcut = match (residual, down, option) {
                (false, _, _) => Shortcut::None,
                (true, false, _) => Shortcut::Identity,
                (true, true, ShortcutOption::A) => Shortcut::ZeroPadA,
                (true, true, ShortcutOption::B) => Shortcut::Projection,
            };
            layers.push(LayerSpec::Block(BlockSpec {
                name: format!("stage{}.block{}", stage + 1, i + 1),
                body: basic_body(ch, if down { 2 } else { 1 }),
                shortcut,
                residual_scale: 1.0,
            }));
            layers.push(LayerSpec::ReLU);
        }
    }
    layers.push(LayerSpec::GlobalAvgPool);
    layers.push(LayerSpec::Linear { out: classes });
    let kind = if residual { "resnet" } else { "plain" };
    Some(NetSpec {
        name: format!("{kind}-{depth}"),
        layers,
    })
}

/// The same layers with every shortcut removed: what a residual net would be without skips.
pub fn plain_twin(spec: &NetSpec) -> NetSpec {
    fn strip(layers: &[LayerSpec]) -> Vec<LayerSpec> {
        layers
            .iter()
            .map(|l| match l {
                LayerSpec::Block(b) => LayerSpec::Block(BlockSpec {
                    body: strip(&b.body),
                    shortcut: Shortcut::None,
                    ..b.clone()
                }),
                other => other.clone(),
            })
            .collect()
    }
    let name = match spec.name.strip_prefix("resnet-") {
        Some(rest) => format!("plain-{rest}"),
        None => format!("{} (plain twin)", spec.name),
    };
    NetSpec {
        name,
        layers: strip(&spec.layers),
    }
}

/// Sets the residual scale of every block (0.1-0.3 stabilises very deep nets).
pub fn with_residual_scale(spec: &NetSpec, scale: f32) -> NetSpec {
    let mut s = spec.clone();
    for l in &mut s.layers {
        if let LayerSpec::Block(b) = l {
            b.residual_scale = scale;
        }
    }
    s
}

/// Identity block: same shape in and out, so the input is added unchanged.
pub fn identity_block(ch: usize) -> BlockSpec {
    BlockSpec {
        name: "identity block".into(),
        body: basic_body(ch, 1),
        shortcut: Shortcut::Identity,
        residual_scale: 1.0,
    }
}

/// Convolutional block: the body changes width and/or resolution, so the shortcut projects.
pub fn conv_block(out: usize, stride: usize) -> BlockSpec {
    BlockSpec {
        name: "convolutional block".into(),
        body: basic_body(out, stride),
        shortcut: Shortcut::Projection,
        residual_scale: 1.0,
    }
}

/// Bottleneck body as in ResNet-50: 1x1 reduce, 3x3, 1x1 restore.
fn bottleneck_body(mid: usize, out: usize, stride: usize) -> Vec<LayerSpec> {
    vec![
        conv(mid, 1, 1),
        LayerSpec::BatchNorm,
        LayerSpec::ReLU,
        conv(mid, 3, stride),
        LayerSpec::BatchNorm,
        LayerSpec::ReLU,
        conv(out, 1, 1),
        LayerSpec::BatchNorm,
    ]
}

/// Bottleneck identity block, e.g. 256 -> 64 -> 64 -> 256.
pub fn bottleneck_identity(ch: usize, mid: usize) -> BlockSpec {
    BlockSpec {
        name: "bottleneck identity block".into(),
        body: bottleneck_body(mid, ch, 1),
        shortcut: Shortcut::Identity,
        residual_scale: 1.0,
    }
}

/// Bottleneck convolutional block with a projection shortcut.
pub fn bottleneck_conv(mid: usize, out: usize, stride: usize) -> BlockSpec {
    BlockSpec {
        name: "bottleneck convolutional block".into(),
        body: bottleneck_body(mid, out, stride),
        shortcut: Shortcut::Projection,
        residual_scale: 1.0,
    }
}

/// A small net around one block, so a block built in the editor can be trained on its own:
/// stem conv to the block's input width, the block, ReLU, pooling, classifier.
pub fn net_around_block(block: BlockSpec, in_ch: usize, classes: usize) -> NetSpec {
    NetSpec {
        name: block.name.clone(),
        layers: vec![
            conv(in_ch, 3, 1),
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            LayerSpec::Block(block),
            LayerSpec::ReLU,
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: classes },
        ],
    }
}

/// Parses names such as `resnet-20`, `plain-56`, `resnet-32b` (option B) into a CIFAR preset.
pub fn by_name(name: &str, width: usize, classes: usize) -> Option<NetSpec> {
    let (kind, rest) = name.trim().split_once('-')?;
    let (digits, option) = match rest.strip_suffix(['b', 'B']) {
        Some(d) => (d, ShortcutOption::B),
        None => (
            rest.strip_suffix(['a', 'A']).unwrap_or(rest),
            ShortcutOption::A,
        ),
    };
    let depth: usize = digits.parse().ok()?;
    let residual = match kind.to_ascii_lowercase().as_str() {
        "resnet" | "res" => true,
        "plain" => false,
        _ => return None,
    };
    cifar(depth, residual, option, width, classes)
}

/// The named depths of the paper's CIFAR experiments.
pub const PAPER_DEPTHS: [usize; 5] = [20, 32, 44, 56, 110];

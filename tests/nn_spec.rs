//! Shape inference, costs, presets and model construction against hand-computed values.
use resnet_lab::nn::ops::loss;
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::nn::{
    BlockSpec, LayerSpec, Model, ModelOptions, NetSpec, Optimizer, Shape, Shortcut, SpecError,
};
use resnet_lab::rng::Rng64;

fn find<'a>(info: &'a resnet_lab::nn::NetInfo, name: &str) -> &'a resnet_lab::nn::LayerInfo {
    info.layers
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no layer {name}"))
}

#[test]
fn resnet20_shapes_on_28x28() {
    let spec = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
    let info = spec.validate(Shape::new(1, 28, 28)).unwrap();
    let table = [
        ("conv1", (1, 28, 28), (16, 28, 28)),
        ("stage1.block1", (16, 28, 28), (16, 28, 28)),
        ("stage2.block1", (16, 28, 28), (32, 14, 14)),
        ("stage2.block1.conv1", (16, 28, 28), (32, 14, 14)),
        ("stage2.block1.conv2", (32, 14, 14), (32, 14, 14)),
        ("stage3.block1", (32, 14, 14), (64, 7, 7)),
        ("stage3.block3", (64, 7, 7), (64, 7, 7)),
        ("pool", (64, 7, 7), (64, 1, 1)),
        ("fc", (64, 1, 1), (10, 1, 1)),
    ];
    for (name, i, o) in table {
        let l = find(&info, name);
        assert_eq!(l.input, Shape::new(i.0, i.1, i.2), "{name} input");
        assert_eq!(l.output, Shape::new(o.0, o.1, o.2), "{name} output");
    }
    assert_eq!(info.depth, 20);
    // stage2.block1.conv1: 32 filters of 16x3x3 over a 14x14 output = 2*32*14*14*144 FLOPs
    assert_eq!(
        find(&info, "stage2.block1.conv1").flops,
        2 * 32 * 14 * 14 * 144
    );
    assert_eq!(find(&info, "stage2.block1.conv1").params, 32 * 16 * 9);
}

#[test]
fn odd_sizes_strides_and_padding() {
    let spec = NetSpec {
        name: "t".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 4,
                k: 3,
                stride: 2,
                pad: 0,
            },
            LayerSpec::Conv {
                out: 2,
                k: 1,
                stride: 1,
                pad: 0,
            },
            LayerSpec::Conv {
                out: 5,
                k: 2,
                stride: 1,
                pad: 1,
            },
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: 3 },
        ],
    };
    let info = spec.validate(Shape::new(3, 5, 7)).unwrap();
    let outs: Vec<Shape> = info.layers.iter().map(|l| l.output).collect();
    assert_eq!(
        outs,
        vec![
            Shape::new(4, 2, 3),
            Shape::new(2, 2, 3),
            Shape::new(5, 3, 4),
            Shape::new(5, 1, 1),
            Shape::new(3, 1, 1)
        ]
    );
    assert_eq!(info.params, 4 * 3 * 9 + 2 * 4 + 5 * 2 * 4 + 5 * 3 + 3);
}

#[test]
fn identity_shortcut_mismatch_names_block_shapes_and_fix() {
    let mut spec = presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap();
    if let LayerSpec::Block(b) = &mut spec.layers[9] {
        assert_eq!(b.name, "stage2.block1");
        b.shortcut = Shortcut::Identity;
    } else {
        panic!("layer 9 is the first block of stage 2");
    }
    let err = spec.validate(Shape::new(1, 28, 28)).unwrap_err();
    match &err {
        SpecError::ShortcutMismatch {
            block,
            input,
            output,
            ..
        } => {
            assert_eq!(block, "stage2.block1");
            assert_eq!(*input, Shape::new(16, 28, 28));
            assert_eq!(*output, Shape::new(32, 14, 14));
        }
        other => panic!("wrong error {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("16x28x28") && msg.contains("32x14x14"),
        "{msg}"
    );
    assert!(
        msg.contains("1x1 projection shortcut (stride 2)") && msg.contains("zero-pad"),
        "{msg}"
    );

    // fewer channels: zero padding cannot help
    let shrink = NetSpec {
        name: "s".into(),
        layers: vec![
            LayerSpec::Block(BlockSpec {
                name: "squeeze".into(),
                body: vec![LayerSpec::Conv {
                    out: 2,
                    k: 1,
                    stride: 1,
                    pad: 0,
                }],
                shortcut: Shortcut::ZeroPadA,
                residual_scale: 1.0,
            }),
            LayerSpec::Linear { out: 2 },
        ],
    };
    let msg = shrink
        .validate(Shape::new(4, 3, 3))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("squeeze") && msg.contains("fewer channels"),
        "{msg}"
    );
}

#[test]
fn bad_layers_are_errors_not_panics() {
    let cases = [
        LayerSpec::Conv {
            out: 0,
            k: 3,
            stride: 1,
            pad: 1,
        },
        LayerSpec::Conv {
            out: 4,
            k: 9,
            stride: 1,
            pad: 0,
        },
        LayerSpec::Conv {
            out: 4,
            k: 3,
            stride: 0,
            pad: 1,
        },
        LayerSpec::Linear { out: 0 },
    ];
    for c in cases {
        let spec = NetSpec {
            name: "bad".into(),
            layers: vec![c.clone(), LayerSpec::Linear { out: 2 }],
        };
        assert!(spec.validate(Shape::new(1, 4, 4)).is_err(), "{c:?}");
    }
    let headless = NetSpec {
        name: "h".into(),
        layers: vec![LayerSpec::ReLU],
    };
    assert_eq!(
        headless.validate(Shape::new(1, 4, 4)).unwrap_err(),
        SpecError::NoHead
    );
    assert!(Model::new(&headless, Shape::new(1, 4, 4), 0, ModelOptions::default()).is_err());
}

#[test]
fn paper_parameter_counts() {
    let input = Shape::new(3, 32, 32);
    let p = |d, res, opt| {
        presets::cifar(d, res, opt, 16, 10)
            .unwrap()
            .validate(input)
            .unwrap()
            .params
    };
    // Hand count for ResNet-20 (option A): convs 432 + 6*2304 + 4608 + 5*9216 + 18432 + 5*36864,
    // BN 2*(16 + 6*16 + 6*32 + 6*64), fc 64*10 + 10.
    let hand =
        432 + 6 * 2304 + 4608 + 5 * 9216 + 18432 + 5 * 36864 + 2 * (16 + 96 + 192 + 384) + 650;
    assert_eq!(p(20, true, ShortcutOption::A), hand);
    assert_eq!((p(20, true, ShortcutOption::A) as f64 / 1e4).round(), 27.0); // 0.27M
    assert_eq!((p(56, true, ShortcutOption::A) as f64 / 1e4).round(), 85.0); // 0.85M
    assert_eq!((p(110, true, ShortcutOption::A) as f64 / 1e5).round(), 17.0); // 1.7M
    // Option A's twins have identical parameters; option B adds two projections.
    assert_eq!(
        p(32, true, ShortcutOption::A),
        p(32, false, ShortcutOption::A)
    );
    assert_eq!(
        p(20, true, ShortcutOption::B),
        hand + (16 * 32 + 64) + (32 * 64 + 128)
    );
    let mut m = Model::new(
        &presets::cifar(20, true, ShortcutOption::A, 16, 10).unwrap(),
        input,
        0,
        Default::default(),
    )
    .unwrap();
    assert_eq!(m.param_count(), hand);
}

#[test]
fn presets_twins_blocks_and_names() {
    assert!(presets::cifar(21, true, ShortcutOption::A, 16, 10).is_none());
    let res = presets::by_name("resnet-32", 16, 10).unwrap();
    let plain = presets::plain_twin(&res);
    assert_eq!(plain.name, "plain-32");
    assert_eq!(plain, presets::by_name("plain-32", 16, 10).unwrap());
    assert!(
        presets::by_name("resnet-32b", 16, 10)
            .unwrap()
            .to_json()
            .contains("Projection")
    );
    assert!(presets::by_name("dense-32", 16, 10).is_none());

    let s = Shape::new(256, 7, 7);
    let net = presets::net_around_block(presets::bottleneck_identity(256, 64), 256, 10);
    let info = net.validate(s).unwrap();
    let mids: Vec<Shape> = info
        .layers
        .iter()
        .filter(|l| l.name.contains("block") && l.name.contains("conv"))
        .map(|l| l.output)
        .collect();
    assert_eq!(
        mids,
        vec![
            Shape::new(64, 7, 7),
            Shape::new(64, 7, 7),
            Shape::new(256, 7, 7)
        ]
    );
    let conv = presets::net_around_block(presets::conv_block(32, 2), 16, 10);
    let info = conv.validate(Shape::new(1, 28, 28)).unwrap();
    let proj = info
        .layers
        .iter()
        .find(|l| l.name.ends_with(".proj"))
        .unwrap();
    assert_eq!(
        (proj.input, proj.output),
        (Shape::new(16, 28, 28), Shape::new(32, 14, 14))
    );
    assert!(
        presets::net_around_block(presets::bottleneck_conv(64, 256, 2), 128, 10)
            .validate(Shape::new(1, 8, 8))
            .is_ok()
    );
}

#[test]
fn json_round_trips() {
    for d in presets::PAPER_DEPTHS {
        let spec = presets::cifar(d, true, ShortcutOption::B, 16, 10).unwrap();
        assert_eq!(NetSpec::from_json(&spec.to_json()).unwrap(), spec);
    }
    let scaled = presets::with_residual_scale(&presets::by_name("resnet-20", 8, 4).unwrap(), 0.2);
    let back = NetSpec::from_json(&scaled.to_json()).unwrap();
    assert_eq!(back, scaled);
    assert!(NetSpec::from_json("{\"layers\": [{\"type\": \"Warp\"}]}").is_err());
}

fn loss_curve(threads: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let spec = presets::by_name("resnet-8", 4, 3).unwrap();
        let input = Shape::new(1, 10, 10);
        let mut m = Model::new(&spec, input, seed, ModelOptions::default()).unwrap();
        let start = m.state();
        let mut r = Rng64::new(5);
        let x: Vec<f32> = (0..16 * 100).map(|_| r.normal()).collect();
        let y: Vec<usize> = (0..16).map(|i| i % 3).collect();
        let mut opt = Optimizer::new(Default::default());
        let mut curve = Vec::new();
        for _ in 0..5 {
            let logits = m.forward(x.clone(), 16, true);
            let (l, d, _) = loss::cross_entropy(16, 3, &logits, &y);
            curve.push(l);
            m.zero_grad();
            m.backward(d);
            opt.step(&mut m, 0.1);
        }
        (start, curve)
    })
}

#[test]
fn same_spec_and_seed_give_same_weights_and_curve() {
    let (w1, c1) = loss_curve(1, 9);
    let (w2, c2) = loss_curve(1, 9);
    assert_eq!(w1, w2);
    assert_eq!(
        c1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        c2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    let (w3, _) = loss_curve(1, 10);
    assert_ne!(w1, w3);
    // Two threads split the batch differently but compute the same function.
    let (_, c4) = loss_curve(2, 9);
    for (a, b) in c1.iter().zip(&c4) {
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
    // ... and the same two-thread run twice gives the same bits.
    let (_, c5) = loss_curve(2, 9);
    assert_eq!(
        c4.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        c5.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn zero_init_residual_makes_each_block_start_as_identity() {
    let spec = presets::by_name("resnet-14", 4, 3).unwrap();
    let input = Shape::new(1, 8, 8);
    let mut m = Model::new(
        &spec,
        input,
        1,
        ModelOptions {
            zero_init_residual: true,
        },
    )
    .unwrap();
    let mut zeroed = 0;
    m.visit_params(&mut |p| {
        if p.name.contains("block") && p.name.ends_with("bn2.weight") {
            assert!(p.value.iter().all(|&g| g == 0.0), "{}", p.name);
            zeroed += 1;
        }
    });
    assert_eq!(zeroed, 6);
    // Gradients still reach every layer through the shortcuts.
    let mut r = Rng64::new(2);
    let x: Vec<f32> = (0..8 * 64).map(|_| r.normal()).collect();
    let logits = m.forward(x, 8, true);
    let (_, d, _) = loss::cross_entropy(8, 3, &logits, &[0, 1, 2, 0, 1, 2, 0, 1]);
    m.backward(d);
    let norms = m.grad_norms();
    assert_eq!(norms.len(), 14);
    assert!(
        norms[0].1 > 0.0,
        "stem conv gets gradient through the shortcuts"
    );
    let taps = m.taps();
    assert!(taps.iter().any(|t| t.name == "stage1.block1.out"));
}

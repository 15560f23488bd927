//! Trained nets that last: named tensors, the safetensors format, run folders, traces.
use resnet_lab::data::{self, Source};
use resnet_lab::nn::ops::loss;
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::nn::{
    BlockSpec, LayerSpec, Model, ModelOptions, NetSpec, Optimizer, Shape, Shortcut, Tensor,
    TensorData,
};
use resnet_lab::rng::Rng64;
use resnet_lab::train::safetensors::{decode, encode};
use resnet_lab::train::{DataInfo, Hyper, NetEntry, RunHistory, run_dir, trainer};
use std::collections::BTreeMap;

fn batch(n: usize, input: Shape, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut r = Rng64::new(seed);
    let x = (0..n * input.len()).map(|_| r.normal()).collect();
    (x, (0..n).map(|i| i % 3).collect())
}

/// A small option-B net (so projection shortcuts and their batch norms are in it), trained a few
/// steps so the running statistics and `num_batches_tracked` are not at their initial values.
fn trained(seed: u64) -> Model {
    let spec = presets::cifar(14, true, ShortcutOption::B, 4, 3).unwrap();
    let input = Shape::new(2, 8, 8);
    let mut m = Model::new(&spec, input, seed, ModelOptions::default()).unwrap();
    let mut opt = Optimizer::new(Default::default());
    for s in 0..3 {
        let (x, y) = batch(6, input, 10 + s);
        let logits = m.forward(x, 6, true);
        let (_, d, _) = loss::cross_entropy(6, 3, &logits, &y);
        m.zero_grad();
        m.backward(d);
        opt.step(&mut m, 0.1);
    }
    m
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn params_are_named_and_shaped_like_the_torch_state_dict() {
    let mut m = trained(1);
    let p = m.params();
    let find = |n: &str| {
        p.iter()
            .find(|t| t.name == n)
            .unwrap_or_else(|| panic!("no {n}"))
    };
    assert_eq!(p[0].name, "conv1.weight");
    assert_eq!(find("conv1.weight").shape, vec![4, 2, 3, 3]);
    let names: Vec<&str> = p.iter().take(6).map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv1.weight",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.num_batches_tracked"
        ]
    );
    assert_eq!(
        find("bn1.num_batches_tracked").data,
        TensorData::I64(vec![3])
    );
    assert!(find("bn1.num_batches_tracked").shape.is_empty());
    assert_eq!(find("stage2.block1.conv1.weight").shape, vec![8, 4, 3, 3]);
    assert_eq!(
        find("stage2.block1.proj.conv.weight").shape,
        vec![8, 4, 1, 1]
    );
    assert_eq!(find("stage2.block1.proj.bn.running_var").shape, vec![8]);
    assert_eq!(find("fc.weight").shape, vec![3, 16]);
    assert_eq!(find("fc.bias").shape, vec![3]);
    // Running statistics moved during training.
    assert!(
        find("bn1.running_mean")
            .as_f32()
            .unwrap()
            .iter()
            .any(|v| *v != 0.0)
    );
    // Every parameter appears once, and the gradients carry the same names.
    let mut seen = std::collections::HashSet::new();
    assert!(p.iter().all(|t| seen.insert(t.name.clone())));
    let grads = m.grads();
    assert!(grads.iter().all(|g| seen.contains(&g.name)));
    assert_eq!(
        grads.len(),
        p.iter()
            .filter(|t| !t.name.contains("running") && !t.name.contains("num_batches"))
            .count()
    );
}

#[test]
fn safetensors_round_trip_is_bit_for_bit() {
    let mut m = trained(2);
    let mut tensors = m.params();
    // Values a sloppy writer would change: NaN payloads, -0, subnormals, extremes.
    tensors.push(Tensor::f32(
        "odd",
        vec![2, 3],
        vec![
            f32::from_bits(0x7fc0_1234),
            -0.0,
            f32::from_bits(1),
            f32::MAX,
            f32::NEG_INFINITY,
            1e-38,
        ],
    ));
    tensors.push(Tensor::i64("count", vec![2], vec![i64::MIN, i64::MAX]));
    tensors.push(Tensor::f32("empty", vec![0, 4], vec![]));
    let mut meta = BTreeMap::new();
    meta.insert("input".to_string(), "2x8x8".to_string());
    let bytes = encode(&tensors, &meta);
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(header_len % 8, 0, "header padded so the data is aligned");
    let back = decode(&bytes, "test").unwrap();
    assert_eq!(back.metadata, meta);
    assert_eq!(back.tensors.len(), tensors.len());
    for (a, b) in tensors.iter().zip(&back.tensors) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.shape, b.shape);
        match (&a.data, &b.data) {
            (TensorData::F32(x), TensorData::F32(y)) => assert_eq!(bits(x), bits(y), "{}", a.name),
            (TensorData::I64(x), TensorData::I64(y)) => assert_eq!(x, y),
            _ => panic!("{} changed type", a.name),
        }
    }
}

#[test]
fn hostile_safetensors_bytes_are_refused_without_panicking() {
    let good = encode(
        &[
            Tensor::f32("a", vec![2, 2], vec![1.0, 2.0, 3.0, 4.0]),
            Tensor::i64("b", vec![], vec![7]),
        ],
        &BTreeMap::new(),
    );
    assert!(decode(&good, "x").is_ok());
    // Every truncation fails cleanly.
    for len in 0..good.len() {
        assert!(decode(&good[..len], "x").is_err(), "truncated to {len}");
    }
    // Flipping any byte either still decodes or fails with a message; never panics.
    for i in 0..good.len() {
        for v in [0u8, 0xff, b'9', b'"'] {
            let mut b = good.clone();
            b[i] = v;
            let _ = decode(&b, "x");
        }
    }
    let header = |h: &str| {
        let mut b = (h.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&[0u8; 16]);
        b
    };
    let cases = [
        (
            header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,20]}}"),
            "claims bytes",
        ),
        (
            header(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999,99999999999],\"data_offsets\":[0,16]}}",
            ),
            "overflows",
        ),
        (
            header("{\"a\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}"),
            "C64",
        ),
        (
            header(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            ),
            "overlaps",
        ),
        (header("[1, 2]"), "JSON object"),
        (header("{\"__metadata__\":{\"a\":1}}"), "__metadata__"),
    ];
    for (bytes, want) in cases {
        let e = decode(&bytes, "w.safetensors").unwrap_err();
        assert!(e.contains(want), "{e}");
        assert!(e.starts_with("w.safetensors"), "{e}");
    }
    let mut huge = (u64::MAX).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert!(decode(&huge, "x").unwrap_err().contains("header claims"));
}

#[test]
fn load_checks_names_shapes_and_types_and_changes_nothing_on_error() {
    let mut a = trained(3);
    let mut b = Model::new(a.spec(), a.input_shape(), 99, ModelOptions::default()).unwrap();
    let good = a.params();
    let before = b.params();
    let mut missing = good.clone();
    missing.retain(|t| t.name != "stage1.block1.bn2.running_var");
    let e = b.load(&missing).unwrap_err();
    assert_eq!(
        e,
        "the weights have no tensor `stage1.block1.bn2.running_var`, which this net needs"
    );
    let mut wrong_shape = good.clone();
    wrong_shape[0] = Tensor::f32("conv1.weight", vec![4, 2, 9], vec![0.0; 72]);
    let e = b.load(&wrong_shape).unwrap_err();
    assert_eq!(
        e,
        "`conv1.weight` has shape [4, 2, 9] in the weights but this net needs [4, 2, 3, 3]"
    );
    let mut wrong_type = good.clone();
    let i = wrong_type
        .iter()
        .position(|t| t.name == "bn1.num_batches_tracked")
        .unwrap();
    wrong_type[i] = Tensor::f32("bn1.num_batches_tracked", vec![], vec![3.0]);
    assert!(b.load(&wrong_type).unwrap_err().contains("needs I64"));
    let mut extra = good.clone();
    extra.push(Tensor::f32("head.weight", vec![1], vec![0.0]));
    assert_eq!(
        b.load(&extra).unwrap_err(),
        "the weights hold `head.weight`, which this net does not have"
    );
    let mut twice = good.clone();
    twice.push(good[0].clone());
    assert!(
        b.load(&twice)
            .unwrap_err()
            .contains("two tensors named `conv1.weight`")
    );
    assert_eq!(b.params(), before, "a failed load changes nothing");
    b.load(&good).unwrap();
    assert_eq!(b.params(), a.params());
}

fn small_run() -> (RunHistory, Option<Model>, data::Dataset) {
    let ds = data::builtin_sized(4, 300, 60).convert(12, 12, 1);
    let spec = presets::cifar(8, true, ShortcutOption::B, 4, 10).unwrap();
    let net = NetEntry::new(spec);
    let hyper = Hyper {
        epochs: 1,
        batch: 20,
        max_steps: Some(5),
        threads: 1,
        ..Hyper::default()
    };
    let mut h = RunHistory::new(&net, &hyper);
    h.data = Some(DataInfo::new(Source::Builtin, Default::default(), &ds));
    let model = trainer::run(
        &net,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| h.apply(&e),
    );
    (h, model, ds)
}

#[test]
fn a_saved_run_reopens_with_its_history_and_identical_logits() {
    let (history, model, ds) = small_run();
    let mut model = model.expect("the trainer hands back the model");
    assert_eq!(history.steps_done(), 5);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    run_dir::save(&run, &history, Some(&mut model)).unwrap();
    for f in [
        run_dir::NET_FILE,
        run_dir::HISTORY_FILE,
        run_dir::WEIGHTS_FILE,
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let mut saved = run_dir::open(&run).unwrap();
    assert_eq!(saved.history, history);
    assert_eq!(&saved.spec, model.spec());
    let mut back = saved.model.take().expect("weights were saved");
    assert_eq!(back.params(), model.params());
    let n = 7;
    let x: Vec<f32> = {
        let mut r = Rng64::new(0);
        let (mut x, mut l) = (Vec::new(), Vec::new());
        ds.batch(
            data::SplitKind::Test,
            &(0..n).collect::<Vec<_>>(),
            None,
            &mut r,
            &mut x,
            &mut l,
        );
        x
    };
    for train in [false, true] {
        let a = model.forward(x.clone(), n, train);
        let b = back.forward(x.clone(), n, train);
        assert_eq!(bits(&a), bits(&b), "train mode {train}");
    }
    // Saving again without a model removes the stale weights.
    run_dir::save(&run, &history, None).unwrap();
    assert!(!run.join(run_dir::WEIGHTS_FILE).exists());
    assert!(run_dir::open(&run).unwrap().model.is_none());
}

#[test]
fn opening_a_broken_run_folder_says_what_is_wrong() {
    let (history, model, _) = small_run();
    let mut model = model.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    assert!(
        run_dir::open(&run)
            .unwrap_err()
            .contains("is not a run folder")
    );
    run_dir::save(&run, &history, Some(&mut model)).unwrap();
    std::fs::write(run.join(run_dir::WEIGHTS_FILE), b"not weights").unwrap();
    let e = run_dir::open(&run).unwrap_err();
    assert!(
        e.contains("weights.safetensors is not a safetensors file"),
        "{e}"
    );
    // Weights of another net.
    let mut other = Model::new(
        &presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap(),
        Shape::new(1, 12, 12),
        0,
        ModelOptions::default(),
    )
    .unwrap();
    std::fs::write(
        run.join(run_dir::WEIGHTS_FILE),
        run_dir::weights_bytes(&mut other),
    )
    .unwrap();
    let e = run_dir::open(&run).unwrap_err();
    assert!(e.contains("proj.conv.weight"), "{e}");
    std::fs::write(run.join(run_dir::NET_FILE), b"{").unwrap();
    assert!(
        run_dir::open(&run)
            .unwrap_err()
            .contains("is not a network spec")
    );
}

#[test]
fn trace_names_every_layer_and_ends_in_the_logits() {
    let mut m = trained(5);
    let info = m.spec().infer(m.input_shape()).unwrap();
    let (x, _) = batch(3, m.input_shape(), 77);
    let trace = m.trace(&x, 3);
    let mut want: Vec<&str> = info.layers.iter().map(|l| l.name.as_str()).collect();
    let mut got: Vec<&str> = trace.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(got.len(), want.len());
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
    for t in &trace {
        assert_eq!(t.values.len(), 3 * t.shape.len(), "{}", t.name);
    }
    // Forward order: a block's body comes before the block's own output.
    let pos = |n: &str| trace.iter().position(|t| t.name == n).unwrap();
    assert!(pos("stage1.block1.conv1") < pos("stage1.block1"));
    assert!(pos("stage2.block1.proj") < pos("stage2.block1"));
    let logits = m.forward(x.clone(), 3, false);
    assert_eq!(trace.last().unwrap().name, "fc");
    assert_eq!(bits(&trace.last().unwrap().values), bits(&logits));
    // A ReLU fused into the batch norm before it still shows both sides.
    let bn = &trace[pos("bn1")].values;
    let relu = &trace[pos("bn1") + 1].values;
    assert!(bn.iter().any(|v| *v < 0.0));
    assert!(relu.iter().all(|v| *v >= 0.0));
    assert!(bn.iter().zip(relu).all(|(a, b)| *b == a.max(0.0)));
}

/// `relu_outputs` names each ReLU as the spec does, in forward order, lays it out NCHW and
/// holds what the ReLU passed on, positive exactly where the backward pass lets the gradient
/// through: a standalone ReLU's, one fused into a batch norm, one fused into a block's sum.
/// Reading them changes no gradient.
#[test]
fn relu_outputs_are_what_each_relu_passed_on() {
    let conv = |out| LayerSpec::Conv {
        out,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let spec = NetSpec {
        name: "relus".into(),
        layers: vec![
            conv(5),
            LayerSpec::ReLU,
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            LayerSpec::Block(BlockSpec {
                name: "block".into(),
                body: vec![conv(5), LayerSpec::BatchNorm],
                shortcut: Shortcut::Identity,
                residual_scale: 1.0,
            }),
            LayerSpec::ReLU,
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: 3 },
        ],
    };
    // Not square, so a mix-up of height, width or layout shows.
    let input = Shape::new(2, 6, 7);
    // The block's body starts at zero, so its sum is its input.
    let opts = ModelOptions {
        zero_init_residual: true,
    };
    let n = 4;
    let (x, y) = batch(n, input, 5);
    let mut m = Model::new(&spec, input, 3, opts).unwrap();
    let stem = m.trace(&x, n)[0].values.clone();
    let logits = m.forward(x.clone(), n, true);
    let relus = m.relu_outputs();
    let info = spec.validate(input).unwrap();
    let want: Vec<(&str, &str)> = info
        .layers
        .iter()
        .filter(|l| l.kind == "ReLU")
        .map(|l| (l.name.as_str(), l.key.as_str()))
        .collect();
    let got: Vec<(&str, &str)> = relus
        .iter()
        .map(|t| (t.name.as_str(), t.key.as_str()))
        .collect();
    assert_eq!(got, want);
    for t in &relus {
        assert_eq!(t.shape, Shape::new(5, 6, 7), "{}", t.name);
        assert_eq!(t.values.len(), n * t.shape.len(), "{}", t.name);
    }
    let (relu1, bn_relu, block_relu) = (&relus[0].values, &relus[1].values, &relus[2].values);
    let stem_relu: Vec<f32> = stem.iter().map(|v| v.max(0.0)).collect();
    assert_eq!(
        bits(relu1),
        bits(&stem_relu),
        "the standalone ReLU after the stem"
    );
    assert!(stem.iter().any(|&v| v < 0.0) && stem.iter().any(|&v| v > 0.0));
    // Batch norm at gamma 1, beta 0: the ReLU output's standardised value, positive where it
    // exceeds its channel's batch mean.
    let hw = 6 * 7;
    for ch in 0..5 {
        let vals: Vec<f64> = (0..n)
            .flat_map(|i| stem_relu[(i * 5 + ch) * hw..][..hw].iter())
            .map(|&v| f64::from(v))
            .collect();
        let mean = vals.iter().sum::<f64>() / vals.len() as f64;
        let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
        for i in 0..n {
            for p in 0..hw {
                let at = (i * 5 + ch) * hw + p;
                let z = (f64::from(stem_relu[at]) - mean) / (var + 1e-5).sqrt();
                let got = f64::from(bn_relu[at]);
                assert!((got - z.max(0.0)).abs() < 1e-5, "channel {ch}, entry {at}");
                if z.abs() > 1e-5 {
                    assert_eq!(got > 0.0, z > 0.0, "channel {ch}, entry {at}");
                }
            }
        }
    }
    assert_eq!(
        bits(block_relu),
        bits(bn_relu),
        "the block adds a zero branch to its input"
    );
    // Reading them changed nothing: the same gradients as a model that never read them.
    let (_, d, _) = loss::cross_entropy(n, 3, &logits, &y);
    m.zero_grad();
    m.backward(d.clone());
    let mut plain = Model::new(&spec, input, 3, opts).unwrap();
    assert_eq!(bits(&plain.forward(x, n, true)), bits(&logits));
    plain.zero_grad();
    plain.backward(d);
    assert_eq!(m.grads(), plain.grads());
}

#[test]
fn module_keys_are_unique_python_identifiers() {
    let block = |name: &str| {
        LayerSpec::Block(BlockSpec {
            name: name.into(),
            body: vec![
                LayerSpec::Conv {
                    out: 2,
                    k: 3,
                    stride: 1,
                    pad: 1,
                },
                LayerSpec::BatchNorm,
            ],
            shortcut: Shortcut::Identity,
            residual_scale: 1.0,
        })
    };
    let spec = NetSpec {
        name: "odd names".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 2,
                k: 3,
                stride: 1,
                pad: 1,
            },
            block("my block"),
            block("my block"),
            block("class"),
            block("2nd"),
            block("conv1"),
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: 4 },
            LayerSpec::Linear { out: 3 },
        ],
    };
    let info = spec.validate(Shape::new(1, 4, 4)).unwrap();
    let keys: Vec<&str> = info.layers.iter().map(|l| l.key.as_str()).collect();
    for k in [
        "my_block",
        "my_block_2",
        "my_block_2.conv1",
        "class_",
        "n2nd",
        "conv1_2",
        "fc",
        "fc_2",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    let mut set = std::collections::HashSet::new();
    assert!(keys.iter().all(|k| set.insert(*k)), "{keys:?}");
    let mut m = Model::new(&spec, Shape::new(1, 4, 4), 0, ModelOptions::default()).unwrap();
    let p = m.params();
    assert!(p.iter().any(|t| t.name == "my_block_2.bn1.running_mean"));
    assert!(p.iter().any(|t| t.name == "fc_2.weight"));
}

#[test]
fn the_worker_hands_back_the_trained_model() {
    let ds = std::sync::Arc::new(data::builtin_sized(4, 200, 40).convert(12, 12, 1));
    let spec = presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap();
    let hyper = Hyper {
        epochs: 1,
        batch: 20,
        max_steps: Some(3),
        threads: 1,
        ..Hyper::default()
    };
    let mut h = resnet_lab::train::worker::spawn(
        NetEntry::new(spec),
        hyper,
        ds,
        std::sync::Arc::new(|| {}),
    );
    while h.recv().is_some() {}
    let t0 = std::time::Instant::now();
    let mut model = loop {
        if let Some(m) = h.take_model() {
            break m;
        }
        assert!(t0.elapsed().as_secs() < 30, "the worker never ended");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let p = model.params();
    let tracked = p
        .iter()
        .find(|t| t.name == "bn1.num_batches_tracked")
        .unwrap();
    assert_eq!(tracked.data, TensorData::I64(vec![3]));
    assert!(h.take_model().is_none(), "handed back once");
}

#[test]
fn identities_are_typed_for_presets_built_nets_and_twins() {
    use resnet_lab::identity::{Arch, NetIdentity, Origin, Preset};
    let res = presets::cifar(20, true, ShortcutOption::B, 16, 10).unwrap();
    let id = NetIdentity::of_spec(&res, Origin::Built, false);
    assert_eq!(
        (id.arch, id.depth, id.shortcut, id.width),
        (Arch::Residual, 20, Some(ShortcutOption::B), 16)
    );
    let twin = NetIdentity::of_spec(&presets::plain_twin(&res), Origin::Twin, true);
    assert_eq!(
        (twin.arch, twin.shortcut, twin.zero_init),
        (Arch::Plain, None, false)
    );
    let scaled = presets::with_residual_scale(
        &presets::cifar(32, true, ShortcutOption::A, 8, 10).unwrap(),
        0.25,
    );
    let id = NetIdentity::of_spec(&scaled, Origin::Built, true);
    assert_eq!(
        (id.depth, id.shortcut, id.residual_scale, id.zero_init),
        (32, Some(ShortcutOption::A), 0.25, true)
    );
    let p = Preset {
        residual: true,
        depth: 56,
        shortcut: ShortcutOption::B,
        zero_init: true,
        scale: 0.2,
        width: 16,
    };
    assert_eq!(p.identity().label(), "resnet-56+zeroinit+scale0.2 (B)");
    let plain = Preset {
        residual: false,
        ..p
    };
    assert_eq!(plain.identity().label(), "plain-20".replace("20", "56"));
}

#[test]
fn the_run_store_records_the_inputs_a_run_started_with() {
    use resnet_lab::identity::Preset;
    use resnet_lab::train::{RunInputs, RunStore};
    let ds = std::sync::Arc::new(data::builtin_sized(4, 200, 40).convert(12, 12, 1));
    let info = DataInfo::new(Source::Builtin, Default::default(), &ds);
    let inputs = RunInputs {
        identity: Preset::new(true, 8).with_width(4).identity(),
        lesson: None,
        net: NetEntry::new(presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap()),
        hyper: Hyper {
            epochs: 1,
            batch: 20,
            max_steps: Some(2),
            threads: 1,
            lr: 0.03,
            ..Hyper::default()
        },
        data: info,
    };
    let mut store = RunStore::default();
    let id = store.start(inputs.clone(), ds, std::sync::Arc::new(|| {}));
    assert_eq!(store.get(id).unwrap().inputs(), Some(inputs.clone()));
    let t0 = std::time::Instant::now();
    while store.get(id).unwrap().is_live() {
        store.poll();
        assert!(t0.elapsed().as_secs() < 60, "the run never ended");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let run = store.get(id).unwrap();
    assert_eq!(run.history.steps_done(), 2);
    assert!(run.model.is_some(), "the trained net is kept");
    assert_eq!(
        run.inputs(),
        Some(inputs),
        "finished runs keep their frozen inputs"
    );
    assert_eq!(run.history.step_lr, vec![0.03, 0.03]);
}

//! The Inspect tab's arithmetic (train::eval): confusion matrices, predictions, feature maps and
//! filters on nets whose weights are set by hand, so every number can be checked on paper.
use resnet_lab::data::{self, Dataset, Split, SplitKind};
use resnet_lab::nn::presets::{self, ShortcutOption};
use resnet_lab::nn::{BlockSpec, LayerSpec, Model, ModelOptions, NetSpec, Shape, Shortcut, Tensor};
use resnet_lab::train::eval::{self, Confusion};
use resnet_lab::train::{Hyper, NetEntry, RunHistory, trainer};

fn names(n: usize) -> Vec<String> {
    ["cat", "dog", "owl"][..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn confusion_matrix_by_hand() {
    // (true, predicted): cat 3 right 1 as dog; dog 2 as cat 1 right; owl 2 right; one pair out of range.
    let pairs = [
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 0),
        (1, 1),
        (2, 2),
        (2, 2),
        (5, 0),
    ];
    let c = Confusion::from_pairs(3, pairs);
    assert_eq!(c.counts, vec![3, 1, 0, 2, 1, 0, 0, 0, 2]);
    assert_eq!((c.total(), c.wrong()), (9, 3));
    assert!((c.error().unwrap() - 3.0 / 9.0).abs() < 1e-7);
    assert_eq!(
        c.per_class_error(),
        vec![Some(0.25), Some(2.0 / 3.0), Some(0.0)]
    );
    let top = c.most_confused(5);
    assert_eq!(top.len(), 2, "empty cells are not listed: {top:?}");
    assert_eq!((top[0].truth, top[0].predicted, top[0].count), (1, 0, 2));
    assert!((top[0].rate - 2.0 / 3.0).abs() < 1e-7);
    assert_eq!((top[1].truth, top[1].predicted, top[1].count), (0, 1, 1));
    assert_eq!(c.most_confused(1).len(), 1);
    assert_eq!(
        c.to_csv(&names(3)),
        "true \\ predicted,cat,dog,owl\ncat,3,1,0\ndog,2,1,0\nowl,0,0,2\n"
    );
    // A class with no images has no error to report, not 0%.
    let c = Confusion::from_pairs(3, [(0, 0), (1, 0)]);
    assert_eq!(c.per_class_error(), vec![Some(0.0), Some(1.0), None]);
    assert_eq!(
        c.per_class_csv(&names(2)),
        "class,images,wrong,error %\ncat,1,0,0.00\ndog,1,1,100.00\nclass 2,0,0,\n"
    );
    // Ties in count: lower true class first, then lower predicted class.
    let c = Confusion::from_pairs(3, [(2, 0), (1, 2), (1, 0)]);
    let order: Vec<(usize, usize)> = c
        .most_confused(3)
        .iter()
        .map(|p| (p.truth, p.predicted))
        .collect();
    assert_eq!(order, [(1, 0), (1, 2), (2, 0)]);
}

/// A data set of 1x1 images with two channels; normalisation makes a pixel value v into v/255.
fn two_channel(images: &[[u8; 2]], labels: &[u16]) -> Dataset {
    Dataset {
        name: "pairs".into(),
        classes: vec!["a".into(), "b".into()],
        channels: 2,
        height: 1,
        width: 1,
        train: Split::default(),
        test: Split {
            // NCHW: one plane per channel, each 1x1.
            images: images.iter().flat_map(|p| p.iter().copied()).collect(),
            labels: labels.to_vec(),
        },
        mean: vec![0.0, 0.0],
        std: vec![1.0, 1.0],
        warnings: vec![],
    }
}

/// Replaces a model's tensors, in `params()` order, by these values.
fn set_weights(m: &mut Model, values: &[&[f32]]) {
    let params = m.params();
    assert_eq!(params.len(), values.len(), "{params:?}");
    let tensors: Vec<Tensor> = params
        .into_iter()
        .zip(values)
        .map(|(t, v)| Tensor::f32(t.name, t.shape, v.to_vec()))
        .collect();
    m.load(&tensors).unwrap();
}

#[test]
fn predictions_of_a_net_with_set_weights() {
    // logits = 255 * diag(1, 2) * x + (0, 1) with x = pixel / 255: (v0, 2 v1 + 1).
    let spec = NetSpec {
        name: "linear".into(),
        layers: vec![LayerSpec::Linear { out: 2 }],
    };
    let mut m = Model::new(&spec, Shape::new(2, 1, 1), 0, ModelOptions::default()).unwrap();
    set_weights(&mut m, &[&[255.0, 0.0, 0.0, 510.0], &[0.0, 1.0]]);
    let ds = two_channel(&[[3, 0], [0, 1], [1, 0], [2, 0]], &[0, 1, 1, 0]);
    let mut seen = vec![];
    let e = eval::evaluate(&mut m, &ds, SplitKind::Test, 3, &mut |d, t| {
        seen.push((d, t));
        true
    })
    .unwrap();
    assert_eq!(seen, [(0, 4), (3, 4), (4, 4)], "progress per batch of 3");
    let sig = |z: f32| 1.0 / (1.0 + (-z).exp());
    // Logits: (3, 1) -> a; (0, 3) -> b; (1, 1) -> a tie, the first class wins; (2, 1) -> a.
    let want = [(0, sig(2.0)), (1, sig(3.0)), (0, 0.5), (0, sig(1.0))];
    for (p, (class, conf)) in e.predictions.iter().zip(want) {
        assert_eq!(p.predicted, class, "{p:?}");
        assert!((p.confidence - conf).abs() < 1e-5, "{p:?} vs {conf}");
    }
    let p = &e.predictions[2];
    assert_eq!((p.index, p.label, p.correct()), (2, 1, false));
    assert!((p.p_label - 0.5).abs() < 1e-6);
    assert_eq!(e.confusion.counts, vec![2, 0, 1, 1]);
    assert_eq!(e.error(), Some(0.25));
    assert_eq!(e.cell(1, 0), vec![2]);
    assert_eq!(e.cell(0, 0), vec![0, 3]);
    // Mean cross-entropy: -ln of each true-class probability.
    let want_loss = -(sig(2.0).ln() + sig(3.0).ln() + 0.5f32.ln() + sig(1.0).ln()) / 4.0;
    assert!(
        (e.loss - want_loss).abs() < 1e-5,
        "{} vs {want_loss}",
        e.loss
    );
    assert_eq!(e.non_finite, 0);
    let csv = e.predictions_csv(&ds.classes);
    assert_eq!(csv.lines().nth(3), Some("2,b,a,0.5000,false"));
    // Cancelling stops with a sentence.
    let r = eval::evaluate(&mut m, &ds, SplitKind::Test, 3, &mut |d, _| d == 0);
    assert!(r.unwrap_err().contains("cancelled"));
    // A data set of another shape or class count is refused, not mis-read.
    let mut wrong = ds.clone();
    wrong.classes.push("c".into());
    let why = eval::evaluate(&mut m, &wrong, SplitKind::Test, 3, &mut |_, _| true).unwrap_err();
    assert!(
        why.contains("2 outputs") && why.contains("3 classes"),
        "{why}"
    );
}

#[test]
fn softmax_and_normalise() {
    let p = eval::softmax(&[1000.0, 1000.0, f32::NEG_INFINITY]);
    assert_eq!(p, vec![0.5, 0.5, 0.0], "stable for large logits");
    // (x/255 - mean) / std per channel, as Dataset::batch does.
    let x = eval::normalise(
        vec![0, 255, 51, 102],
        Shape::new(2, 1, 2),
        &[0.5, 0.2],
        &[0.5, 0.4],
    );
    let want = [-1.0, 1.0, 0.0, 0.5];
    for (a, b) in x.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{x:?}");
    }
}

/// Input 1x2x2; stem: 1x1 conv (weight 2) + ReLU; one block whose body is a 1x1 conv (weight
/// 0.5), then ReLU; pool; linear.
fn block_net(shortcut: Shortcut) -> NetSpec {
    NetSpec {
        name: "tiny".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 1,
                k: 1,
                stride: 1,
                pad: 0,
            },
            LayerSpec::ReLU,
            LayerSpec::Block(BlockSpec {
                name: "b".into(),
                body: vec![LayerSpec::Conv {
                    out: 1,
                    k: 1,
                    stride: 1,
                    pad: 0,
                }],
                shortcut,
                residual_scale: 1.0,
            }),
            LayerSpec::ReLU,
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: 2 },
        ],
    }
}

#[test]
fn feature_maps_after_each_block_by_hand() {
    let x = [1.0, -1.0, 2.0, 3.0];
    let mut maps = vec![];
    for shortcut in [Shortcut::Identity, Shortcut::None] {
        let mut m = Model::new(
            &block_net(shortcut),
            Shape::new(1, 2, 2),
            0,
            ModelOptions::default(),
        )
        .unwrap();
        set_weights(&mut m, &[&[2.0], &[0.5], &[1.0, -1.0], &[0.0, 0.0]]);
        let f = eval::first_filters(&mut m).unwrap();
        assert_eq!(
            (f.name.as_str(), f.count, f.channels, f.k),
            ("conv1.weight", 1, 1, 1)
        );
        assert_eq!(f.filter(0), &[2.0]);
        maps.push(eval::feature_maps(&mut m, &x));
    }
    let (res, plain) = (&maps[0], &maps[1]);
    let names: Vec<&str> = res.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["stem", "b"]);
    assert_eq!(
        plain.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        names,
        "twins line up by block name"
    );
    // stem = relu(2x) = [2, 0, 4, 6]: mean 3, std sqrt(5).
    assert_eq!(res[0].values, vec![2.0, 0.0, 4.0, 6.0]);
    assert_eq!(res[0].shape, Shape::new(1, 2, 2));
    assert!((res[0].mean - 3.0).abs() < 1e-6);
    assert!((res[0].std - 5f32.sqrt()).abs() < 1e-6);
    // Residual: relu(stem + 0.5 stem) = 1.5 stem; plain: relu(0.5 stem).
    assert_eq!(res[1].values, vec![3.0, 0.0, 6.0, 9.0]);
    assert!((res[1].std - 1.5 * 5f32.sqrt()).abs() < 1e-5);
    assert_eq!(plain[1].values, vec![1.0, 0.0, 2.0, 3.0]);
    assert!((plain[1].std - 0.5 * 5f32.sqrt()).abs() < 1e-6);
    assert_eq!(res[1].channel(0), &[3.0, 0.0, 6.0, 9.0]);
    assert!(res[1].channel(1).is_empty());
}

#[test]
fn feature_maps_of_a_preset_pair_line_up() {
    let res = presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap();
    let plain = presets::plain_twin(&res);
    let input = Shape::new(1, 8, 8);
    let x: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
    let get = |spec: &NetSpec| {
        let mut m = Model::new(spec, input, 3, ModelOptions::default()).unwrap();
        eval::feature_maps(&mut m, &x)
    };
    let (r, p) = (get(&res), get(&plain));
    let names: Vec<&str> = r.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["stem", "stage1.block1", "stage2.block1", "stage3.block1"]
    );
    assert_eq!(r.len(), p.len());
    let shapes: Vec<Shape> = r.iter().map(|m| m.shape).collect();
    assert_eq!(
        shapes,
        [
            Shape::new(4, 8, 8),
            Shape::new(4, 8, 8),
            Shape::new(8, 4, 4),
            Shape::new(16, 2, 2)
        ]
    );
    // Every block's map is taken after its ReLU.
    assert!(r.iter().all(|m| m.values.iter().all(|v| *v >= 0.0)));
    assert!(r.iter().all(|m| m.std.is_finite() && m.std > 0.0));
}

#[test]
fn evaluation_agrees_with_the_trainers_test_error() {
    let ds = data::builtin_sized(0, 100, 60);
    let spec = presets::cifar(8, true, ShortcutOption::A, 4, 10).unwrap();
    let net = NetEntry::new(spec);
    let hyper = Hyper {
        epochs: 1,
        batch: 20,
        threads: 1,
        ..Hyper::default()
    };
    let mut history = RunHistory::new(&net, &hyper);
    let mut model = trainer::run(
        &net,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| history.apply(&e),
    )
    .unwrap();
    let e = eval::evaluate(
        &mut model,
        &ds,
        SplitKind::Test,
        eval::BATCH,
        &mut |_, _| true,
    )
    .unwrap();
    assert_eq!(e.predictions.len(), 60);
    assert_eq!(e.confusion.total(), 60);
    let last = history.epochs.last().unwrap();
    assert_eq!(e.error(), Some(last.test_err));
    assert!((e.loss - last.test_loss).abs() < 1e-4 * last.test_loss.abs().max(1.0));
    for p in &e.predictions {
        assert!((0.1..=1.0).contains(&p.confidence), "{p:?}");
    }
}

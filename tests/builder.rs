//! The block builder's logic: edits, shapes on every edge, fixes, undo/redo and exercises.
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use resnet_lab::builder::{
    BlockDraft, Edit, Exercise, ExerciseId, Fix, MistakeKind, PaletteItem, Undo,
};
use resnet_lab::data;
use resnet_lab::nn::{LayerSpec, Shape, Shortcut, SpecError};
use resnet_lab::train::{Hyper, NetEntry, RunHistory, RunStatus, trainer};

fn add(d: &mut BlockDraft, item: PaletteItem, channels: usize) {
    let at = d.body.len();
    d.apply(&Edit::Insert {
        at,
        layer: item.layer(channels),
    })
    .unwrap();
}

fn basic(d: &mut BlockDraft, ch: usize, first: PaletteItem) {
    add(d, first, ch);
    add(d, PaletteItem::BatchNorm, ch);
    add(d, PaletteItem::ReLU, ch);
    add(d, PaletteItem::Conv3x3, ch);
    add(d, PaletteItem::BatchNorm, ch);
}

#[test]
fn identity_block_from_the_palette_passes_its_exercise() {
    let ex = Exercise::get(ExerciseId::Identity);
    let mut d = ex.start();
    assert!(!ex.grade(&d).passed());
    basic(&mut d, 16, PaletteItem::Conv3x3);
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    let r = d.report();
    assert_eq!(r.error, None);
    assert_eq!(r.edges, vec![Shape::new(16, 28, 28); 6]);
    assert_eq!(r.shortcut_out, Some(Shape::new(16, 28, 28)));
    assert_eq!(r.params, 2 * 16 * 16 * 9 + 2 * 2 * 16);
    assert!(ex.grade(&d).passed(), "{:?}", ex.grade(&d).problems);
}

#[test]
fn conv_block_mismatch_is_explained_and_fixed_in_one_click() {
    let ex = Exercise::get(ExerciseId::Conv);
    let mut d = ex.start();
    basic(&mut d, 32, PaletteItem::Conv3x3Stride2);
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    let r = d.report();
    assert_eq!(r.edges[1], Shape::new(32, 14, 14));
    match &r.error {
        Some(SpecError::ShortcutMismatch { input, output, .. }) => {
            assert_eq!(
                (*input, *output),
                (Shape::new(16, 28, 28), Shape::new(32, 14, 14))
            );
        }
        other => panic!("{other:?}"),
    }
    let labels: Vec<String> = r.fixes.iter().map(|f| f.label()).collect();
    assert_eq!(
        labels,
        vec![
            "use a 1x1 stride-2 projection",
            "zero-pad the extra channels"
        ]
    );
    let grade = ex.grade(&d);
    assert!(
        grade.problems.iter().any(|p| p.contains("1x1 projection")),
        "{:?}",
        grade.problems
    );
    let fix = r.fixes[0].edit(&d);
    d.apply(&fix).unwrap();
    let r = d.report();
    assert_eq!(r.error, None);
    assert_eq!(r.shortcut_out, Some(Shape::new(32, 14, 14)));
    assert!(ex.grade(&d).passed(), "{:?}", ex.grade(&d).problems);
    // Zero padding also joins the shapes, but it is option A, not the convolutional block.
    d.apply(&Fix::UseZeroPad.edit(&d)).unwrap();
    assert_eq!(d.report().error, None);
    assert!(!ex.grade(&d).passed());
}

#[test]
fn matching_channels_is_offered_when_only_the_width_differs() {
    let mut d = BlockDraft::default();
    basic(&mut d, 24, PaletteItem::Conv3x3);
    let r = d.report();
    assert!(
        r.fixes.contains(&Fix::MatchChannels { at: 3, out: 16 }),
        "{:?}",
        r.fixes
    );
    d.apply(&Fix::MatchChannels { at: 3, out: 16 }.edit(&d))
        .unwrap();
    assert_eq!(d.report().error, None);
}

#[test]
fn bottleneck_exercise_reports_exactly_what_is_wrong() {
    let ex = Exercise::get(ExerciseId::Bottleneck);
    let mut d = ex.start();
    for (item, ch) in [
        (PaletteItem::Conv1x1, 64),
        (PaletteItem::BatchNorm, 64),
        (PaletteItem::ReLU, 64),
        (PaletteItem::Conv3x3, 64),
        (PaletteItem::ReLU, 64), // swapped with the BatchNorm below
        (PaletteItem::BatchNorm, 64),
        (PaletteItem::Conv1x1, 128), // too few filters
        (PaletteItem::BatchNorm, 128),
    ] {
        add(&mut d, item, ch);
    }
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    let g = ex.grade(&d);
    // The swap is named once, with its fix, instead of "layer 5 should be ..., layer 6 ...".
    assert_eq!(
        g.kinds(),
        vec![resnet_lab::builder::MistakeKind::ReluBeforeBn { at: 4 }],
        "{:?}",
        g.problems
    );
    assert!(g.problems[0].starts_with("Layers 5 and 6 are swapped"));
    assert!(!g.problems.iter().any(|p| p.contains("Layer 5 should be")));
    assert!(
        g.problems
            .iter()
            .any(|p| p.contains("Layer 7: it should have 256 filters (it has 128)")),
        "{:?}",
        g.problems
    );
    assert!(
        g.problems.iter().any(|p| p.contains("does not compute")),
        "identity cannot add 256 to 128 channels"
    );
    for e in &g.mistakes[0].fix.as_ref().unwrap().edits {
        d.apply(e).unwrap();
    }
    let fixed = LayerSpec::Conv {
        out: 256,
        k: 1,
        stride: 1,
        pad: 0,
    };
    d.apply(&Edit::Replace {
        at: 6,
        layer: fixed,
    })
    .unwrap();
    assert!(ex.grade(&d).passed(), "{:?}", ex.grade(&d).problems);
    assert_eq!(
        ExerciseId::from_key("bottleneck"),
        Some(ExerciseId::Bottleneck)
    );
}

#[test]
fn undo_and_redo_walk_the_edits() {
    let mut d = BlockDraft::default();
    let mut u = Undo::default();
    for item in [PaletteItem::Conv3x3, PaletteItem::BatchNorm] {
        u.record(&d);
        add(&mut d, item, 16);
    }
    assert_eq!(d.body.len(), 2);
    assert!(u.undo(&mut d));
    assert_eq!(d.body.len(), 1);
    assert!(u.undo(&mut d));
    assert!(d.body.is_empty());
    assert!(!u.undo(&mut d));
    assert!(u.redo(&mut d));
    assert_eq!(d.body.len(), 1);
    u.record(&d);
    add(&mut d, PaletteItem::ReLU, 16);
    assert!(!u.can_redo(), "a new edit clears the redo stack");
}

#[test]
fn bad_edits_are_refused_and_leave_the_draft_alone() {
    let mut d = BlockDraft::default();
    let before = d.clone();
    assert!(d.apply(&Edit::Remove { at: 0 }).is_err());
    assert!(
        d.apply(&Edit::Insert {
            at: 5,
            layer: LayerSpec::ReLU
        })
        .is_err()
    );
    assert!(
        d.apply(&Edit::Insert {
            at: 0,
            layer: LayerSpec::GlobalAvgPool
        })
        .is_err()
    );
    assert!(
        d.apply(&Edit::Insert {
            at: 0,
            layer: LayerSpec::Conv {
                out: 0,
                k: 3,
                stride: 1,
                pad: 1
            }
        })
        .is_err()
    );
    assert!(d.apply(&Edit::SetScale(f32::NAN)).is_err());
    assert!(d.apply(&Edit::SetInput(Shape::new(0, 4, 4))).is_err());
    assert_eq!(d, before);
    // A kernel larger than the image is a reported error with the layer's position.
    d.apply(&Edit::SetInput(Shape::new(4, 3, 3))).unwrap();
    d.apply(&Edit::Insert {
        at: 0,
        layer: LayerSpec::Conv {
            out: 4,
            k: 7,
            stride: 1,
            pad: 0,
        },
    })
    .unwrap();
    let r = d.report();
    assert!(r.error.unwrap().to_string().starts_with("layer 1:"));
    assert_eq!(r.edges.len(), 1);
}

#[test]
fn a_built_block_trains_for_a_few_steps() {
    let ex = Exercise::get(ExerciseId::Conv);
    let mut d = ex.start();
    d.apply(&Edit::SetInput(Shape::new(8, 28, 28))).unwrap();
    basic(&mut d, 16, PaletteItem::Conv3x3Stride2);
    d.apply(&Edit::SetShortcut(Shortcut::Projection)).unwrap();
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    let ds = data::builtin_sized(1, 200, 50);
    let net = NetEntry::new(d.to_net(ds.classes.len()));
    let hyper = Hyper {
        batch: 16,
        max_steps: Some(4),
        threads: 1,
        ..Hyper::default()
    };
    let mut h = RunHistory::new(&net, &hyper);
    trainer::run(
        &net,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| h.apply(&e),
    );
    assert_eq!(h.status, RunStatus::Finished, "{:?}", h.status);
    assert_eq!(h.steps_done(), 4);
}

fn layer_strategy() -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        (0usize..40, 0usize..8, 0usize..4, 0usize..4).prop_map(|(out, k, stride, pad)| {
            LayerSpec::Conv {
                out,
                k,
                stride,
                pad,
            }
        }),
        Just(LayerSpec::BatchNorm),
        Just(LayerSpec::ReLU),
        Just(LayerSpec::GlobalAvgPool),
    ]
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..8, layer_strategy()).prop_map(|(at, layer)| Edit::Insert { at, layer }),
        (0usize..8).prop_map(|at| Edit::Remove { at }),
        (0usize..8, 0usize..8).prop_map(|(from, to)| Edit::Move { from, to }),
        (0usize..8, layer_strategy()).prop_map(|(at, layer)| Edit::Replace { at, layer }),
        prop_oneof![
            Just(Shortcut::Identity),
            Just(Shortcut::ZeroPadA),
            Just(Shortcut::Projection),
            Just(Shortcut::None)
        ]
        .prop_map(Edit::SetShortcut),
        (-1.0f32..12.0).prop_map(Edit::SetScale),
        any::<bool>().prop_map(Edit::SetReluAfter),
        (0usize..20, 0usize..12, 0usize..12)
            .prop_map(|(c, h, w)| Edit::SetInput(Shape::new(c, h, w))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, rng_seed: RngSeed::Fixed(0x5eed_0003), ..ProptestConfig::default() })]
    #[test]
    fn any_edit_sequence_leaves_a_valid_block_or_a_reported_error(edits in prop::collection::vec(edit_strategy(), 0..25)) {
        let mut d = BlockDraft { input: Shape::new(4, 8, 8), ..BlockDraft::default() };
        for e in &edits {
            let before = d.clone();
            if d.apply(e).is_err() {
                prop_assert_eq!(&d, &before);
            }
            let r = d.report();
            // The report agrees with the network the block would train in.
            let net_ok = d.to_net(3).validate(d.input).is_ok();
            prop_assert_eq!(r.error.is_none(), net_ok, "report {:?}", r.error);
            if r.error.is_none() {
                prop_assert_eq!(r.edges.len(), d.body.len() + 1);
            } else {
                prop_assert!(!r.error.as_ref().unwrap().to_string().is_empty());
            }
            for f in &r.fixes {
                let mut fixed = d.clone();
                prop_assert!(fixed.apply(&f.edit(&d)).is_ok());
            }
        }
    }
}

/// The exercise's finished block with `change` applied: a learner's near miss.
fn near_miss(id: ExerciseId, change: impl FnOnce(&mut BlockDraft)) -> (Exercise, BlockDraft) {
    let ex = Exercise::get(id);
    let mut d = ex.start();
    let first = if id == ExerciseId::Conv {
        PaletteItem::Conv3x3Stride2
    } else {
        PaletteItem::Conv3x3
    };
    let ch = if id == ExerciseId::Conv { 32 } else { 16 };
    basic(&mut d, ch, first);
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    if id == ExerciseId::Conv {
        d.apply(&Edit::SetShortcut(Shortcut::Projection)).unwrap();
    }
    assert!(ex.grade(&d).passed(), "{:?}", ex.grade(&d).problems);
    change(&mut d);
    (ex, d)
}

/// Grades `d`, checks it names exactly `kind` in one sentence containing `words`, then applies
/// the offered fix and checks the block passes.
fn named_and_fixed(ex: &Exercise, mut d: BlockDraft, kind: MistakeKind, words: &str) {
    let g = ex.grade(&d);
    assert_eq!(g.kinds(), vec![kind], "{:?}", g.problems);
    assert_eq!(
        g.problems.len(),
        1,
        "one sentence, not a cascade: {:?}",
        g.problems
    );
    assert!(g.problems[0].contains(words), "{:?}", g.problems[0]);
    for e in &g.mistakes[0].fix.as_ref().expect("a fix").edits {
        d.apply(e).unwrap();
    }
    assert!(
        ex.grade(&d).passed(),
        "after the fix: {:?}",
        ex.grade(&d).problems
    );
}

#[test]
fn the_grader_names_common_mistakes_and_fixes_them() {
    use resnet_lab::builder::MistakeKind as K;
    // The palette's ReLU landed before the + and the ReLU after the addition is off: ReLU(z) + a.
    let (ex, d) = near_miss(ExerciseId::Identity, |d| {
        d.apply(&Edit::SetReluAfter(false)).unwrap();
        let at = d.body.len();
        d.apply(&Edit::Insert {
            at,
            layer: LayerSpec::ReLU,
        })
        .unwrap();
    });
    named_and_fixed(
        &ex,
        d,
        K::ShortcutAfterRelu { at: 5 },
        "shortcut joins after the ReLU",
    );
    // A ReLU before the + as well as after it.
    let (ex, d) = near_miss(ExerciseId::Identity, |d| {
        let at = d.body.len();
        d.apply(&Edit::Insert {
            at,
            layer: LayerSpec::ReLU,
        })
        .unwrap();
    });
    named_and_fixed(&ex, d, K::ReluBeforeAdd { at: 5 }, "just before the +");
    // The stride on the second conv of the convolutional block.
    let (ex, d) = near_miss(ExerciseId::Conv, |d| {
        let conv = |stride| LayerSpec::Conv {
            out: 32,
            k: 3,
            stride,
            pad: 1,
        };
        d.apply(&Edit::Replace {
            at: 0,
            layer: conv(1),
        })
        .unwrap();
        d.apply(&Edit::Replace {
            at: 3,
            layer: conv(2),
        })
        .unwrap();
    });
    named_and_fixed(
        &ex,
        d,
        K::StrideOnWrongConv { have: 3, want: 0 },
        "stride 2 is on layer 4",
    );
    // A stride in an identity block.
    let (ex, d) = near_miss(ExerciseId::Identity, |d| {
        d.apply(&Edit::Replace {
            at: 3,
            layer: LayerSpec::Conv {
                out: 16,
                k: 3,
                stride: 2,
                pad: 1,
            },
        })
        .unwrap();
    });
    named_and_fixed(&ex, d, K::ExtraStride { at: 3 }, "keeps its input's size");
    // The middle ReLU forgotten.
    let (ex, d) = near_miss(ExerciseId::Identity, |d| {
        d.apply(&Edit::Remove { at: 2 }).unwrap();
    });
    named_and_fixed(&ex, d, K::MissingRelu { at: 2 }, "no ReLU between");
    // No g after the addition.
    let (ex, d) = near_miss(ExerciseId::Identity, |d| {
        d.apply(&Edit::SetReluAfter(false)).unwrap();
    });
    named_and_fixed(&ex, d, K::NoReluAfterAdd, "after the addition");
}

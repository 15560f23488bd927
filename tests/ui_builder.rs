//! The block builder driven like a learner would: palette clicks, fixes, exercises, files.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::builder::{ExerciseId, PaletteItem};
use resnet_lab::data;
use resnet_lab::nn::{LayerSpec, NetSpec, Shape, Shortcut, SpecError};
use resnet_lab::train::{Hyper, NetEntry, RunHistory, RunStatus, trainer};
use resnet_lab::ui::builder_view::{BuilderAction, BuilderPage, BuilderView};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    view: BuilderView,
    actions: Vec<BuilderAction>,
}

fn harness(view: BuilderView) -> Harness<'static, State> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 1000.0))
        .build_ui_state(
            |ui, s: &mut State| {
                if let Some(a) = s.view.frame(ui) {
                    s.actions.push(a);
                }
            },
            State {
                view,
                actions: Vec::new(),
            },
        )
}

fn click(h: &mut Harness<'_, State>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

/// Steps the UI until `done` holds, failing after `secs`.
fn step_until(h: &mut Harness<'_, State>, secs: u64, what: &str, done: impl Fn(&State) -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done(h.state()) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn basic_body(h: &mut Harness<'_, State>, first: PaletteItem) {
    for item in [
        first,
        PaletteItem::BatchNorm,
        PaletteItem::ReLU,
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
    ] {
        click(h, item.label());
    }
}

#[test]
fn build_an_identity_block_from_the_palette() {
    let mut h = harness(BuilderView::default());
    h.run_steps(2);
    // An empty block explains itself instead of drawing shapes.
    h.get_by_label_contains("main path is empty");
    basic_body(&mut h, PaletteItem::Conv3x3);
    let d = &h.state().view.state.draft;
    assert_eq!(d.body.len(), 5);
    assert_eq!(d.shortcut, Shortcut::Identity);
    assert_eq!(d.report().error, None);
    // A shape on every edge: input, five layers, the shortcut, the output after g.
    let shapes = h.query_all_by_label("16x28x28").count();
    assert!(shapes >= 7, "only {shapes} shape labels");
    h.get_by_label("✔ The shapes fit.");
    h.get_by_label_contains("Parameters");

    // Select a layer by clicking its box, delete it, and undo / redo.
    h.get_by_label("layer 3: ReLU").click();
    h.run_steps(2);
    assert_eq!(h.state().view.state.selected, Some(2));
    click(&mut h, "Delete");
    assert_eq!(h.state().view.state.draft.body.len(), 4);
    click(&mut h, "Undo");
    assert_eq!(h.state().view.state.draft.body.len(), 5);
    click(&mut h, "Redo");
    assert_eq!(h.state().view.state.draft.body.len(), 4);
    h.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::Z]);
    h.run_steps(2);
    assert_eq!(h.state().view.state.draft.body.len(), 5);
    h.key_combination_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        &[egui::Key::Z],
    );
    h.run_steps(2);
    assert_eq!(h.state().view.state.draft.body.len(), 4);

    // Clicking the selected box again deselects it, so the palette appends at the end.
    assert_eq!(h.state().view.state.selected, Some(1));
    h.get_by_label("layer 2: BatchNorm").click();
    h.run_steps(2);
    assert_eq!(h.state().view.state.selected, None);
    // Move up puts the selected layer one place earlier.
    h.get_by_label("layer 2: BatchNorm").click();
    h.run_steps(2);
    click(&mut h, "Move up");
    assert_eq!(h.state().view.state.draft.body[0], LayerSpec::BatchNorm);
    assert_eq!(h.state().view.state.selected, Some(0));
}

#[test]
fn a_strided_block_shows_the_mismatch_and_the_fix_removes_it() {
    let mut h = harness(BuilderView::default());
    h.run_steps(2);
    basic_body(&mut h, PaletteItem::Conv3x3Stride2);
    let report = h.state().view.state.draft.report();
    assert!(
        matches!(report.error, Some(SpecError::ShortcutMismatch { .. })),
        "{:?}",
        report.error
    );
    h.get_by_label_contains("cannot add the block's input (16x28x28)");
    h.get_all_by_label("16x14x14")
        .next()
        .expect("the body's shape");
    h.get_by_label("zero-pad the extra channels");
    // Edit the selected layer inline: 32 filters in both convolutions.
    for layer in [
        "layer 1: Conv 3x3/2, 16 (pad 1)",
        "layer 4: Conv 3x3, 16 (pad 1)",
    ] {
        h.get_by_label(layer).click();
        h.run_steps(2);
        h.get_by_label("Filters").set_value_accesskit(32.0);
        h.run_steps(2);
    }
    let d = &h.state().view.state.draft;
    assert_eq!(d.report().edges.last(), Some(&Shape::new(32, 14, 14)));
    h.get_all_by_label("32x14x14")
        .next()
        .expect("the new shape");
    assert!(h.query_by_label("Train this block").is_some());
    click(&mut h, "use a 1x1 stride-2 projection");
    let d = &h.state().view.state.draft;
    assert_eq!(d.shortcut, Shortcut::Projection);
    assert_eq!(d.report().error, None);
    assert!(h.query_by_label_contains("cannot add").is_none());
    h.get_by_label("✔ The shapes fit.");

    click(&mut h, "Train this block");
    let Some(BuilderAction::Train(spec)) = h.state().actions.last().cloned() else {
        panic!("no Train action: {:?}", h.state().actions);
    };
    spec.validate(Shape::new(1, 28, 28))
        .expect("a trainable net");
    let ds = data::builtin_sized(1, 200, 50);
    let net = NetEntry::new(spec);
    let hyper = Hyper {
        batch: 16,
        max_steps: Some(3),
        threads: 1,
        ..Hyper::default()
    };
    let mut run = RunHistory::new(&net, &hyper);
    trainer::run(
        &net,
        &hyper,
        &ds,
        &mut |_| trainer::Control::Continue,
        &mut |e| run.apply(&e),
    );
    assert_eq!(run.status, RunStatus::Finished, "{:?}", run.status);
    assert_eq!(run.steps_done(), 3);
}

#[test]
fn pass_the_identity_exercise_with_check() {
    let mut view = BuilderView::default();
    view.open_exercise(ExerciseId::Identity);
    let mut h = harness(view);
    h.run_steps(2);
    h.get_by_label_contains("Build an identity block");
    // Checking an empty block lists what is missing, in words.
    click(&mut h, "Check");
    h.get_by_label_contains("Not yet");
    h.get_by_label_contains("Add the ReLU after the addition");
    assert!(h.state().actions.is_empty());
    basic_body(&mut h, PaletteItem::Conv3x3);
    click(&mut h, "ReLU after the addition");
    assert!(h.state().view.state.draft.relu_after);
    click(&mut h, "Check");
    h.get_by_label_contains("Passed");
    assert_eq!(
        h.state().actions,
        vec![BuilderAction::ExercisePassed(ExerciseId::Identity)]
    );
    // Announced once: a second check passes quietly.
    click(&mut h, "Check");
    assert_eq!(h.state().actions.len(), 1);
}

#[test]
fn network_page_presets_plain_twin_and_train() {
    let mut view = BuilderView::default();
    view.state.page = BuilderPage::Network;
    let mut h = harness(view);
    h.run_steps(2);
    click(&mut h, "ResNet-110");
    assert_eq!(h.state().view.state.net.name, "resnet-110");
    h.get_by_label_contains("depth 110");
    h.get_by_label_contains("stage2: 18 blocks");
    click(&mut h, "Plain twin (remove every shortcut)");
    assert_eq!(h.state().view.shown_net().name, "plain-110");
    click(&mut h, "Train this network");
    let Some(BuilderAction::Train(spec)) = h.state().actions.last().cloned() else {
        panic!("no Train action");
    };
    assert_eq!(spec.name, "plain-110");
    spec.validate(Shape::new(1, 28, 28)).expect("valid");
    // Option B swaps the zero-padding shortcuts of the shown preset for projections.
    click(&mut h, "B: projection");
    let projections = h
        .state()
        .view
        .state
        .net
        .layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::Block(b) if b.shortcut == Shortcut::Projection))
        .count();
    assert_eq!(projections, 2);
    click(&mut h, "Bottleneck stage");
    h.get_by_label_contains("stage1: 3 blocks");
    click(&mut h, "Block editor");
    assert_eq!(h.state().view.state.page, BuilderPage::Block);
}

fn open(h: &mut Harness<'_, State>, path: &std::path::Path) {
    h.state_mut().view.state.path = path.display().to_string();
    h.run_steps(1);
    click(h, "Open JSON");
    step_until(h, 30, "the file", |s| !s.view.is_busy());
}

#[test]
fn open_and_save_json_with_errors_in_words() {
    let dir = tempfile::tempdir().unwrap();
    // A strided body behind an identity shortcut: the shapes cannot be added.
    let mut bad = BuilderView::default().state.draft;
    bad.body = vec![PaletteItem::Conv3x3Stride2.layer(16), LayerSpec::BatchNorm];
    let bad_net: NetSpec = bad.to_net(10);
    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, bad_net.to_json()).unwrap();
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();

    let mut view = BuilderView::default();
    view.state.page = BuilderPage::Network;
    let mut h = harness(view);
    h.run_steps(2);
    open(&mut h, &bad_path);
    h.get_all_by_label_contains("shortcut cannot add")
        .next()
        .expect("the error text");
    assert!(h.query_by_label("Train this network").is_some());

    open(&mut h, &garbage);
    h.get_by_label_contains("is not a network JSON");
    open(&mut h, &dir.path().join("missing.json"));
    h.get_by_label_contains("Could not open");

    // The block page opens the block itself and offers the fixes.
    click(&mut h, "Block editor");
    open(&mut h, &bad_path);
    assert_eq!(h.state().view.state.draft.body.len(), 2);
    h.get_by_label("use a 1x1 stride-2 projection");

    // Save what the block page shows and read it back.
    click(&mut h, "use a 1x1 stride-2 projection");
    let out = dir.path().join("saved.json");
    h.state_mut().view.state.path = out.display().to_string();
    h.run_steps(1);
    click(&mut h, "Save JSON");
    step_until(&mut h, 30, "the save", |s| !s.view.is_busy());
    h.get_by_label_contains("Saved");
    let back = NetSpec::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    back.validate(Shape::new(1, 28, 28)).expect("valid");
    // A folder that does not exist is an error message, not a panic.
    h.state_mut().view.state.path = dir.path().join("no/such/dir/x.json").display().to_string();
    h.run_steps(1);
    click(&mut h, "Save JSON");
    step_until(&mut h, 30, "the failed save", |s| !s.view.is_busy());
    h.get_by_label_contains("Could not save");
}

#[test]
fn view_state_round_trips_through_serde() {
    let mut view = BuilderView::default();
    view.open_exercise(ExerciseId::Bottleneck);
    view.add(PaletteItem::Conv1x1);
    let json = serde_json::to_string(&view).unwrap();
    let back: BuilderView = serde_json::from_str(&json).unwrap();
    assert_eq!(back.state.draft, view.state.draft);
    assert_eq!(back.state.exercise, Some(ExerciseId::Bottleneck));
    let saved = view.saved();
    let restored = BuilderView::from_saved(saved.clone());
    assert_eq!(restored.saved(), saved);
    let saved_json = serde_json::to_string(&saved).unwrap();
    let saved_back: resnet_lab::ui::builder_view::BuilderSaved =
        serde_json::from_str(&saved_json).unwrap();
    assert_eq!(saved_back, saved);
    // Old or partial state fills in defaults.
    let partial: BuilderView = serde_json::from_str("{\"classes\": 7}").unwrap();
    assert_eq!(partial.state.classes, 7);
    assert_eq!(partial.state.net_input, Shape::new(1, 28, 28));
}

#[test]
fn drag_a_layer_to_reorder_it() {
    let mut h = harness(BuilderView::default());
    h.run_steps(2);
    basic_body(&mut h, PaletteItem::Conv3x3);
    // Drag the ReLU (layer 3) above the first convolution.
    let from = h.get_by_label("layer 3: ReLU").rect().center();
    let to = h.get_by_label_contains("layer 1: Conv").rect().center() - egui::vec2(0.0, 10.0);
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    for i in 1..=10 {
        h.hover_at(from + (to - from) * (i as f32 / 10.0));
        h.run_steps(1);
    }
    h.drop_at(to);
    h.run_steps(3);
    let body = &h.state().view.state.draft.body;
    assert_eq!(body[0], LayerSpec::ReLU, "{body:?}");
    assert_eq!(body.len(), 5);
    assert_eq!(h.state().view.state.selected, Some(0));
    // One undo step puts it back.
    click(&mut h, "Undo");
    assert_eq!(h.state().view.state.draft.body[2], LayerSpec::ReLU);
}

#[test]
fn odd_states_render_without_panicking() {
    let mut h = harness(BuilderView::default());
    h.run_steps(2);
    // A kernel that does not fit: the failing layer is named and later shapes show "?".
    {
        let v = &mut h.state_mut().view;
        v.state.draft.input = Shape::new(3, 2, 2);
        v.state.draft.body = vec![
            LayerSpec::Conv {
                out: 8,
                k: 5,
                stride: 1,
                pad: 0,
            },
            LayerSpec::ReLU,
        ];
        v.state.selected = Some(7); // stale selection from an old session
    }
    h.run_steps(2);
    h.get_by_label_contains("layer 1: a 5x5 kernel does not fit");
    assert!(h.query_all_by_label("?").count() >= 2);
    // Delete key removes the selected layer; an out-of-range selection is ignored.
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    assert_eq!(h.state().view.state.draft.body.len(), 2);
    h.get_by_label("layer 2: ReLU").click();
    h.run_steps(2);
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    assert_eq!(h.state().view.state.draft.body.len(), 1);
    // A refused edit is a message, not a panic.
    h.state_mut()
        .view
        .edit(&resnet_lab::builder::Edit::Remove { at: 9 }, None);
    h.run_steps(2);
    h.get_by_label_contains("there is no layer 9");
    for id in ExerciseId::ALL {
        h.state_mut().view.open_exercise(id);
        h.run_steps(2);
        click(&mut h, "Check");
        h.get_by_label_contains("Not yet");
    }
    // Networks that do not compute show the reason on the Network page.
    click(&mut h, "Network");
    for net in [
        NetSpec {
            name: "empty".into(),
            layers: vec![],
        },
        NetSpec {
            name: "no head".into(),
            layers: vec![LayerSpec::ReLU],
        },
        NetSpec {
            name: "zero classes".into(),
            layers: vec![LayerSpec::Linear { out: 0 }],
        },
    ] {
        h.state_mut().view.state.net = net;
        h.run_steps(2);
        assert!(h.query_by_label_contains("Train this network").is_some());
    }
    h.get_by_label_contains("0 outputs");
    click(&mut h, "Plain twin (remove every shortcut)");
    click(&mut h, "My block");
    click(&mut h, "ResNet-20");
    h.get_by_label_contains("depth 20");
}

#[test]
fn a_palette_relu_goes_after_the_plus_when_the_main_path_is_complete() {
    // In an exercise, once the main path has its layers, the next ReLU becomes g.
    let mut view = BuilderView::default();
    view.open_exercise(ExerciseId::Identity);
    let mut h = harness(view);
    h.run_steps(2);
    basic_body(&mut h, PaletteItem::Conv3x3);
    h.get_by_label_contains("Next layer goes after the +");
    click(&mut h, "ReLU");
    let d = &h.state().view.state.draft;
    assert!(d.relu_after, "the ReLU became g");
    assert_eq!(d.body.len(), 5, "and not a sixth layer before the +");
    click(&mut h, "Check");
    h.get_by_label_contains("Passed");

    // In a free build the learner aims it: click the + node, then ReLU.
    let mut h = harness(BuilderView::default());
    h.run_steps(2);
    basic_body(&mut h, PaletteItem::Conv3x3);
    h.state_mut()
        .view
        .edit(&resnet_lab::builder::Edit::SetReluAfter(false), None);
    h.run_steps(2);
    click(&mut h, "the addition (+)");
    assert!(h.state().view.state.after_add);
    // Only g goes there: the other palette items wait for a layer to be selected.
    h.get_by_label("Conv 3x3").click();
    h.run_steps(2);
    assert_eq!(h.state().view.state.draft.body.len(), 5);
    click(&mut h, "ReLU");
    assert!(h.state().view.state.draft.relu_after);
    assert_eq!(h.state().view.state.draft.body.len(), 5);
    // Clicking a layer aims the palette back into the main path.
    h.get_by_label("layer 2: BatchNorm").click();
    h.run_steps(2);
    assert!(!h.state().view.state.after_add);
    click(&mut h, "ReLU");
    assert_eq!(h.state().view.state.draft.body[2], LayerSpec::ReLU);
}

//! The Build tab inside the whole app: lessons open exercises, passing one completes the lesson,
//! and a built block goes to the Train view and trains beside its plain twin.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::builder::{ExerciseId, PaletteItem};
use resnet_lab::data;
use resnet_lab::train::RunStatus;
use resnet_lab::ui::ResNetLabApp;
use std::time::{Duration, Instant};

mod common;
fn harness(app: ResNetLabApp) -> Harness<'static, ResNetLabApp> {
    common::harness(app, egui::vec2(1600.0, 1000.0))
}

fn click(h: &mut Harness<'_, ResNetLabApp>, label: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
}

/// Conv 3x3, BatchNorm, ReLU, Conv 3x3, BatchNorm from the palette.
fn add_basic_body(h: &mut Harness<'_, ResNetLabApp>) {
    for item in [
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
        PaletteItem::ReLU,
        PaletteItem::Conv3x3,
        PaletteItem::BatchNorm,
    ] {
        click(h, item.label());
    }
}

fn lesson_with_check(app: &ResNetLabApp, check: &str) -> (usize, String) {
    let want = resnet_lab::lessons::Check::parse(check).unwrap();
    let (i, l) = app
        .lessons
        .lessons
        .iter()
        .enumerate()
        .find(|(_, l)| l.check == want)
        .unwrap();
    (i, l.id.clone())
}

#[test]
fn a_lesson_opens_the_exercise_and_passing_it_completes_the_lesson() {
    let app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20));
    let (index, id) = lesson_with_check(&app, "exercise-identity");
    let mut h = harness(app);
    h.state_mut().lessons.progress.current = index;
    h.run_steps(2);
    click(&mut h, "▶ Try it");
    assert_eq!(h.state().tabs.open, "Build");
    assert_eq!(
        h.state().builder().state.exercise,
        Some(ExerciseId::Identity)
    );
    add_basic_body(&mut h);
    click(&mut h, "ReLU after the addition");
    assert!(!h.state().lessons.progress.done.contains(&id));
    click(&mut h, "Check");
    assert!(
        h.state().lessons.progress.done.contains(&id),
        "passing the exercise completes lesson {id}"
    );
    // The lesson panel says so too, instead of asking for the block it has.
    h.get_by_label_contains("Your block passed every check of this exercise");
    assert!(
        h.query_by_label_contains("Build the block in the Build tab")
            .is_none()
    );
}

#[test]
fn the_convolutional_block_lesson_shows_its_pass_in_the_panel() {
    use resnet_lab::builder::{Edit, Exercise};
    let app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20));
    let (index, id) = lesson_with_check(&app, "exercise-conv");
    let mut h = harness(app);
    h.state_mut().lessons.progress.current = index;
    h.run_steps(2);
    h.get_by_label_contains("Build the block in the Build tab and press Check there");
    click(&mut h, "▶ Try it");
    // The learner's block: a stride-2 branch to 32 channels, joined by a 1x1 projection.
    let mut d = Exercise::get(ExerciseId::Conv).start();
    for (item, ch) in [
        (PaletteItem::Conv3x3Stride2, 32),
        (PaletteItem::BatchNorm, 32),
        (PaletteItem::ReLU, 32),
        (PaletteItem::Conv3x3, 32),
        (PaletteItem::BatchNorm, 32),
    ] {
        let at = d.body.len();
        d.apply(&Edit::Insert {
            at,
            layer: item.layer(ch),
        })
        .unwrap();
    }
    d.apply(&Edit::SetReluAfter(true)).unwrap();
    let fix = d.report().fixes[0].edit(&d);
    d.apply(&fix).unwrap();
    h.state_mut().builder_mut().state.draft = d;
    h.run_steps(2);
    click(&mut h, "Check");
    assert!(h.state().lessons.progress.done.contains(&id));
    h.get_by_label_contains("Your block passed every check of this exercise");
}

#[test]
fn a_built_block_trains_beside_its_plain_twin() {
    let app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 200, 50));
    let mut h = harness(app);
    h.state_mut().tabs.show("Build");
    h.run_steps(2);
    add_basic_body(&mut h);
    click(&mut h, "Train this block");
    assert_eq!(h.state().tabs.open, "Train");
    let nets = &h.state().train().config.nets;
    assert_eq!(nets.len(), 2, "the block and its plain twin");
    assert!(
        nets.iter()
            .all(|n| matches!(n, resnet_lab::identity::NetChoice::Built { .. }))
    );
    {
        let hyper = &mut h.state_mut().train_mut().config.hyper;
        hyper.batch = 16;
        hyper.max_steps = Some(3);
    }
    h.run_steps(2);
    click(&mut h, "▶ Start");
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let runs = h.state().state.scheduler.runs();
        if runs.len() == 2 && runs.iter().all(|r| r.history.status.is_done()) {
            break;
        }
        assert!(Instant::now() < end, "timed out");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    for r in h.state().state.scheduler.runs() {
        assert_eq!(r.history.status, RunStatus::Finished, "{}", r.history.label);
        assert_eq!(r.history.steps_done(), 3);
    }
}

//! Lessons driven like a learner would, through egui_kittest: Try it starts the experiment at
//! once and Undo brings the learner's nets back; a stopped run never passes a check; a lesson is
//! done only when its check passes (or, without a check, when its Try it ran to the end).
//!
//! The step budget is fixed (`Sizing::Steps`) so nothing here depends on the machine's speed.
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use resnet_lab::data;
use resnet_lab::identity::{NetChoice, Preset};
use resnet_lab::landscape::Landscape;
use resnet_lab::landscape::Status;
use resnet_lab::lessons::LandscapeQuick;
use resnet_lab::lessons::plan::Sizing;
use resnet_lab::train::{RunHistory, RunStatus};
use resnet_lab::ui::ResNetLabApp;

mod common;
use common::step_until;

fn harness(app: ResNetLabApp) -> Harness<'static, ResNetLabApp> {
    common::harness(app, egui::vec2(1400.0, 900.0))
}

fn app_at(lesson: usize, steps: usize) -> ResNetLabApp {
    let mut app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 200, 50));
    app.lessons.progress.current = lesson;
    app.sizing = Sizing::Steps(steps);
    app
}

/// The landscape the Landscape tab shows, if any.
fn shown(a: &ResNetLabApp) -> Option<&Landscape> {
    a.landscape().result(&a.state)
}

fn labels(app: &ResNetLabApp) -> Vec<String> {
    app.train()
        .config
        .nets
        .iter()
        .map(NetChoice::label)
        .collect()
}

#[test]
fn try_it_starts_at_once_and_undo_brings_back_the_learners_nets() {
    let mut app = app_at(1, 400); // lesson 2: plain-20 and plain-56
    // The learner's own nets, and a finished run of theirs.
    app.train_mut().config.nets = vec![NetChoice::Preset(Preset::new(true, 14).with_width(4))];
    app.train_mut().config.hyper.lr = 0.05;
    let mine = RunHistory {
        label: "resnet-14".into(),
        status: RunStatus::Finished,
        step_err: vec![0.5; 30],
        step_loss: vec![1.0; 30],
        ..Default::default()
    };
    app.state.scheduler.restore(vec![mine.clone()], vec![]);
    let mut h = harness(app);
    h.run_steps(2);
    assert!(h.query_by_label("↶ Undo Try it").is_some());
    h.get_by_label("↶ Undo Try it"); // shown, disabled until a Try it replaced something
    h.get_by_label("▶ Try it").click();
    // No ▶ Start: the lesson's nets train as soon as the data set is made.
    step_until(&mut h, 60, "the lesson's runs to train", |a| {
        a.state.scheduler.runs().len() == 2
            && a.state
                .scheduler
                .runs()
                .iter()
                .all(|r| r.history.steps_done() > 0)
    });
    assert_eq!(labels(h.state()), ["plain-20", "plain-56"]);
    assert_eq!(h.state().tabs.open, "Train");
    assert_eq!(h.state().train().config.hyper.max_steps, Some(400));
    assert!(h.state().state.lesson_data.is_some());

    h.get_by_label("↶ Undo Try it").click();
    h.run_steps(2);
    let a = h.state();
    assert_eq!(labels(a), ["resnet-14"]);
    assert_eq!(
        a.train().config.nets[0],
        NetChoice::Preset(Preset::new(true, 14).with_width(4))
    );
    assert_eq!(a.train().config.hyper.lr, 0.05);
    assert_eq!(a.state.scheduler.histories(), vec![mine]);
    assert!(!a.state.scheduler.is_running());
    assert!(a.state.lesson_data.is_none());
    assert!(a.state.try_run.is_none());
}

#[test]
fn a_stopped_run_is_not_evidence_of_degradation() {
    let app = app_at(1, 400); // lesson 2
    let mut h = harness(app);
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 60, "a few steps of both nets", |a| {
        a.state.scheduler.runs().len() == 2
            && a.state
                .scheduler
                .runs()
                .iter()
                .all(|r| r.history.steps_done() >= 3)
    });
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the runs to stop", |a| {
        !a.state.scheduler.is_running()
            && a.state
                .scheduler
                .runs()
                .iter()
                .all(|r| r.history.status == RunStatus::Stopped)
    });
    h.run_steps(2);
    h.get_by_label_contains("was stopped after");
    h.get_by_label_contains("too few to judge");
    assert!(h.query_by_label_contains("That is degradation").is_none());
    assert!(
        !h.state()
            .lessons
            .progress
            .done
            .contains(&"degradation".to_string())
    );
}

#[test]
fn a_lesson_is_done_only_when_its_check_passes() {
    // Lesson 1 has no check: opening it is not enough, running its Try it to the end is.
    let app = app_at(0, 4);
    let mut h = harness(app);
    h.run_steps(2);
    assert!(h.state().lessons.progress.done.is_empty());
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 60, "lesson 1's runs to finish", |a| {
        a.lessons.progress.done.contains(&"why-deeper".to_string())
    });
    assert!(
        h.state()
            .state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.status == RunStatus::Finished)
    );

    // Lesson 8 checks the first batch's gradient norms: done once that evidence is in.
    h.state_mut().lessons.progress.current = 7;
    h.run_steps(2);
    assert!(
        !h.state()
            .lessons
            .progress
            .done
            .contains(&"gradient-flow".to_string())
    );
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 90, "lesson 8's check to pass", |a| {
        a.lessons
            .progress
            .done
            .contains(&"gradient-flow".to_string())
    });
    h.run_steps(2);
    h.get_by_label_contains("the shortcuts keep the gradient even");
    // Lesson 2's check has not passed on these runs, so it is not done.
    assert_eq!(
        h.state().lessons.progress.done,
        ["why-deeper", "gradient-flow"]
    );
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the runs to stop", |a| {
        !a.state.scheduler.is_running()
    });
}

/// Lesson 10 with a tiny grid: the Try it trains the pair, then computes both surfaces on the
/// Landscape tab by itself, and the lesson's check judges them.
fn lesson_10(steps: usize, grid: usize, images: usize) -> ResNetLabApp {
    let mut app = app_at(9, steps);
    app.landscape_override = Some(LandscapeQuick {
        grid,
        range: 1.0,
        images,
        line: 0,
    });
    app
}

#[test]
fn lesson_10_try_it_computes_both_surfaces_and_judges_them() {
    let mut h = harness(lesson_10(3, 3, 20));
    h.run_steps(2);
    // Before any run: the check says what is missing, in words.
    h.get_by_label_contains("the check reads only the runs this lesson's Try it starts");
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 120, "both surfaces", |a| {
        shown(a).is_some_and(|l| matches!(l.status, Status::Finished { .. }))
    });
    let a = h.state();
    assert_eq!(a.tabs.open, "Landscape");
    let l = shown(a).unwrap();
    assert!(l.is_complete());
    let nets: Vec<(&str, bool)> = l
        .nets
        .iter()
        .map(|n| (n.label.as_str(), n.residual))
        .collect();
    assert_eq!(nets, [("plain-56", false), ("resnet-56", true)]);
    assert_eq!(a.landscape().settings.grid, 3);
    assert!(
        a.state
            .scheduler
            .runs()
            .iter()
            .all(|r| r.history.status == RunStatus::Finished && r.history.steps_done() == 3)
    );
    // The verdict on the learner's own surfaces (pass or not: 3 steps prove nothing either way),
    // in the terms of the picture (trained loss against chance, the rise around it), instead of
    // a "waiting" line.
    h.get_by_label_contains("resnet-56's trained point has loss");
    h.get_by_label_contains("in its flattest direction the loss climbs by");
    assert!(
        h.query_by_label_contains("Waiting for the surfaces")
            .is_none()
    );
    // The tab shows both pictures, and says it is done.
    h.get_by_label_contains("Done: 18 points over 20 images");
}

#[test]
fn stopped_runs_get_no_surfaces_and_undo_cancels_them() {
    // Stopped while training: no surfaces, and the check says why.
    let mut h = harness(lesson_10(400, 3, 20));
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 60, "a few steps of both nets", |a| {
        a.state.scheduler.runs().len() == 2
            && a.state
                .scheduler
                .runs()
                .iter()
                .all(|r| r.history.steps_done() >= 2)
    });
    h.get_by_label("⏹ Stop").click();
    step_until(&mut h, 60, "the runs to stop", |a| {
        !a.state.scheduler.is_running() && !a.state.scheduler.needs_polling()
    });
    h.run_steps(3);
    assert!(shown(h.state()).is_none());
    assert!(!h.state().landscape().is_running(&h.state().state));
    assert_eq!(h.state().tabs.open, "Train");
    h.get_by_label_contains("was stopped after");

    // A grid far too big to finish: Undo while it computes cancels it.
    let mut h = harness(lesson_10(2, 101, 1000));
    h.run_steps(2);
    h.get_by_label("▶ Try it").click();
    step_until(&mut h, 120, "the surfaces to start", |a| {
        shown(a).is_some_and(|l| l.done > 0)
    });
    assert!(h.state().landscape().is_running(&h.state().state));
    h.get_by_label_contains("The landscape is still being computed");
    h.get_by_label("↶ Undo Try it").click();
    step_until(&mut h, 60, "the job to stop", |a| {
        !a.landscape().is_running(&a.state)
    });
    // Undo took the lesson's runs away: the tab shows no surfaces of nets no longer there.
    h.run_steps(2);
    assert!(shown(h.state()).is_none());
}

/// A finished run of `preset` that `lesson`'s Try it started, with error `err` throughout.
fn tagged(preset: &str, lesson: &str, err: f32) -> RunHistory {
    let p = Preset::parse(preset).unwrap().with_width(8);
    let spec = p.spec(10).unwrap();
    let mut entry = resnet_lab::train::NetEntry::new(spec);
    entry.label = p.label();
    let mut h = RunHistory::new(&entry, &Default::default());
    h.identity = Some(p.identity());
    h.lesson = Some(resnet_lab::identity::TryTag {
        lesson: resnet_lab::identity::LessonId(lesson.into()),
        attempt: 7,
    });
    h.status = RunStatus::Finished;
    h.total_steps = 300;
    h.step_err = vec![err; 300];
    h.step_loss = vec![1.0; 300];
    h
}

#[test]
fn a_check_never_judges_another_lessons_runs() {
    let mut app = app_at(1, 4); // lesson 2: plain-20 vs plain-56
    // Lesson 1's plain-8 and plain-20, and lesson 3's zero-init resnet-56 beside its plain-56:
    // pairs lesson 2 and lesson 6 would pass on, were they theirs.
    let others = vec![
        tagged("plain-8", "why-deeper", 0.05),
        tagged("plain-20", "why-deeper", 0.40),
        tagged("plain-56", "identity-argument", 0.80),
        tagged("resnet-56+zeroinit", "identity-argument", 0.05),
    ];
    app.state.scheduler.restore(others, vec![]);
    let mut h = harness(app);
    h.run_steps(3);
    h.get_by_label_contains("the check reads only the runs this lesson's Try it starts");
    assert!(h.query_by_label_contains("That is degradation").is_none());
    assert!(h.query_by_label_contains("10-point gap").is_none());
    // Lesson 6 (plain-56 vs resnet-56) does not take lesson 3's zero-init pair for its own.
    h.get_by_label("Next ▶").click();
    h.get_by_label("Next ▶").click();
    h.get_by_label("Next ▶").click();
    h.get_by_label("Next ▶").click();
    h.run_steps(3);
    assert_eq!(h.state().lessons.progress.current, 5);
    h.get_by_label_contains("the check reads only the runs this lesson's Try it starts");
    assert!(
        h.query_by_label_contains("the shortcuts made it easier to optimise")
            .is_none()
    );
    let done = &h.state().lessons.progress.done;
    assert!(
        !done.contains(&"degradation".to_string())
            && !done.contains(&"plain-vs-residual".to_string()),
        "{done:?}"
    );
    // The same runs, tagged as lesson 6's own, are its evidence.
    let mine = vec![
        tagged("plain-56", "plain-vs-residual", 0.80),
        tagged("resnet-56", "plain-vs-residual", 0.05),
    ];
    h.state_mut().state.scheduler.restore(mine, vec![]);
    h.run_steps(3);
    h.get_by_label_contains("the shortcuts made it easier to optimise");
    assert!(
        h.state()
            .lessons
            .progress
            .done
            .contains(&"plain-vs-residual".to_string())
    );
}

#[test]
fn next_opens_a_lesson_at_its_top() {
    let mut h = harness(app_at(2, 4));
    h.run_steps(2);
    // Read lesson 3 down to its end (the wheel over its text), then go on.
    let over_text = h.get_by_label("▶ Try it").rect().center();
    h.event(egui::Event::PointerMoved(over_text));
    for _ in 0..40 {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: egui::vec2(0.0, -200.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        h.step();
    }
    h.run_steps(3);
    let scrolled = h.get_by_label("▶ Try it").rect();
    assert!(
        scrolled.max.y < 0.0 || scrolled.min.y > 900.0,
        "the wheel scrolled: {scrolled:?}"
    );
    h.get_by_label("Next ▶").click();
    h.run_steps(3);
    // The new lesson's Try it is on screen without scrolling.
    let try_it = h.get_by_label("▶ Try it").rect();
    assert!(try_it.max.y < 900.0 && try_it.min.y > 0.0, "{try_it:?}");
}

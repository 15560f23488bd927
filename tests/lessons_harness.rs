//! The `lessons --check` harness at a small, fixed budget: the same code path as the app's
//! Try it (plan, data set, session, scheduling) judged by the same check. Fixed seeds and fixed
//! step counts make every verdict deterministic, and the checks' margins (10 points, 10x, 2x)
//! sit well below the effects measured here, so neither luck nor a change of summation order
//! can flip them. No timing is asserted: speed lives in `resnet-lab lessons --check`.
use resnet_lab::cli::lessons::run_try;
use resnet_lab::lessons::plan::Sizing;
use resnet_lab::lessons::{self, Lesson};
use resnet_lab::train::RunStatus;

fn lesson(id: &str) -> Lesson {
    lessons::all()
        .into_iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("no lesson {id}"))
}

#[test]
fn degradation_shows_at_a_small_budget() {
    let l = lesson("degradation");
    let r = run_try(&l, 0, Sizing::Steps(100)).unwrap();
    assert!(
        r.histories
            .iter()
            .all(|h| h.status == RunStatus::Finished && h.steps_done() == 100)
    );
    let last = r.last.as_ref().unwrap();
    assert!(last.passed, "{}", last.message);
    assert!(r.effect_secs.is_some());
    assert!(r.showed(l.check, f64::INFINITY));
    // The verdict names both nets and the step it compared them at.
    assert!(
        last.figure.starts_with("plain-56") && last.figure.contains("plain-20"),
        "{}",
        last.figure
    );
}

#[test]
fn gradient_and_activation_spreads_show_on_the_first_batch() {
    for id in ["gradient-flow", "very-deep"] {
        let l = lesson(id);
        let r = run_try(&l, 0, Sizing::Steps(2)).unwrap();
        let last = r.last.as_ref().unwrap();
        assert!(last.passed, "{id}: {}", last.message);
        assert!(r.showed(l.check, f64::INFINITY), "{id}");
    }
}

#[test]
fn a_lesson_without_a_check_counts_when_its_runs_finish() {
    let l = lesson("why-deeper");
    let r = run_try(&l, 0, Sizing::Steps(3)).unwrap();
    assert!(r.last.is_none());
    assert!(r.showed(l.check, f64::INFINITY));
    assert!(!r.showed(l.check, 0.0), "a budget of 0 s cannot be met");
}

#[test]
fn the_shape_of_the_loss_computes_both_surfaces_after_its_runs() {
    // The harness computes the surfaces with the app's landscape job once the pair finished,
    // and judges them with the bowl check; 20 steps prove nothing either way, so only the
    // evidence is checked here (the effect itself: `resnet-lab lessons --check --only 10`).
    let l = lesson("shape-of-the-loss");
    let r = run_try(&l, 0, Sizing::Steps(20)).unwrap();
    assert!(
        r.histories
            .iter()
            .all(|h| h.status == RunStatus::Finished && h.steps_done() == 20)
    );
    let surfaces = r
        .landscape
        .as_ref()
        .expect("surfaces after a finished pair");
    assert!(surfaces.is_complete());
    let q = l.landscape.clone().unwrap();
    assert_eq!(surfaces.nets.len(), 2);
    assert!(surfaces.nets.iter().all(|n| n.surface.side() == q.grid));
    assert!(r.landscape_secs.is_some_and(|t| t <= r.run_secs));
    // A verdict on the surfaces (pass or not yet), never "missing".
    let last = r.last.as_ref().unwrap();
    assert!(!last.figure.is_empty(), "{}", last.message);
    assert!(
        last.figure.contains("not locally convex"),
        "{}",
        last.figure
    );
    assert_eq!(r.showed(l.check, f64::INFINITY), last.passed);
}

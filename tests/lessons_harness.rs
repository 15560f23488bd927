//! The `lessons --check` harness in CI: every lesson's Try it through the same code path as the
//! app's click (`TryRun`: plan, data set, scheduler, landscape chain), at the smallest step
//! count of its `quick:` line (what the slowest machine gets), for 3 seeds, judged by the same
//! check and every claim of its text. Fixed seeds and step counts make every verdict
//! deterministic per rounding family, and the checks' margins sit well below the effects measured
//! at that budget, so a kernel change that flips a lesson fails here. No timing is asserted:
//! speed lives in `resnet-lab lessons --check`.
use resnet_lab::cli::lessons::run_try;
use resnet_lab::lessons::plan::Sizing;
use resnet_lab::lessons::{self, Check, Lesson};
use resnet_lab::train::RunStatus;

fn lesson(id: &str) -> Lesson {
    lessons::all()
        .into_iter()
        .find(|l| l.id == id)
        .unwrap_or_else(|| panic!("no lesson {id}"))
}

#[test]
fn every_lesson_shows_its_effect_and_its_claims_at_its_smallest_budget() {
    let mut misses = Vec::new();
    let mut judged = 0;
    for l in lessons::all().into_iter().filter(|l| l.quick.is_some()) {
        let steps = l.quick.as_ref().unwrap().min_steps;
        for seed in 0..3 {
            let r = run_try(&l, seed, Sizing::Steps(steps))
                .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", l.id));
            assert!(
                r.histories
                    .iter()
                    .all(|h| h.status == RunStatus::Finished && h.steps_done() == steps),
                "{} seed {seed}: every run ends its {steps} steps",
                l.id
            );
            if l.check != Check::None {
                let last = r.last.as_ref().expect("a verdict once the runs ended");
                if !last.passed {
                    misses.push(format!("{} seed {seed}: {}", l.id, last.message));
                }
                judged += 1;
            }
            assert_eq!(r.claims.len(), l.claims.len(), "{}", l.id);
            for (c, v) in &r.claims {
                if v.holds != Some(true) {
                    misses.push(format!("{} seed {seed}: {}: {}", l.id, c.text, v.figures));
                }
                judged += 1;
            }
        }
    }
    assert!(judged >= 3 * 8, "checks and claims were judged ({judged})");
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

#[test]
fn a_lesson_without_a_check_counts_when_its_runs_finish() {
    let l = lesson("why-deeper");
    let r = run_try(&l, 0, Sizing::Steps(3)).unwrap();
    assert!(r.last.is_none());
    assert!(r.showed(l.check, f64::INFINITY));
    assert!(!r.showed(l.check, 0.0), "a budget of 0 s cannot be met");
}

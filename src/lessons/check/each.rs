//! Each lesson's check, in its own words: what it compares on the usable runs and the sentence
//! it says. The evidence rules they all follow (equal steps, trailing windows, finished runs,
//! margins) are in the parent module.
use super::*;

pub(super) fn degradation(runs: &[Run]) -> Outcome {
    let plain: Vec<&Run> = runs.iter().filter(|r| !r.net.residual).collect();
    let mut pairs = Vec::new();
    for deep in &plain {
        for shallow in &plain {
            if deep.net.depth > shallow.net.depth && comparable(deep.h, shallow.h) {
                pairs.push((**deep, **shallow));
            }
        }
    }
    if pairs.is_empty() {
        return Outcome::missing(
            "Still missing: two plain nets of different depths trained with the same settings (the Try it button sets them up).",
        );
    }
    match judge_pairs(pairs, |deep, shallow| deep - shallow) {
        Ok((deep, shallow, step, ed, es)) => Outcome::pass(
            format!(
                "{} your {} has {} training error (mean of the last {} steps), {} points above {}'s {}: the deeper plain net fits its training data worse. That is degradation.",
                capital(&when(step, deep.h, shallow.h)),
                deep.h.label,
                pct(ed),
                window(step),
                ((ed - es) * 100.0).round(),
                shallow.h.label,
                pct(es)
            ),
            format!(
                "{} {} vs {} {} @ step {step}",
                deep.h.label,
                pct(ed),
                shallow.h.label,
                pct(es)
            ),
        ),
        Err(Some((deep, shallow, AtStep::Ready { step, a, b }))) => Outcome::not_yet(
            format!(
                "{} {} is at {} and {} at {}: not the {}-point gap this check looks for{}",
                capital(&when(step, deep.h, shallow.h)),
                deep.h.label,
                pct(a),
                shallow.h.label,
                pct(b),
                (MARGIN * 100.0).round(),
                if still_training(deep.h, shallow.h) {
                    " yet; keep watching.".to_string()
                } else {
                    ". Try more steps or a deeper net.".to_string()
                }
            ),
            format!(
                "{} {} vs {} {} @ step {step}",
                deep.h.label,
                pct(a),
                shallow.h.label,
                pct(b)
            ),
        ),
        Err(Some((_, _, AtStep::TooEarly(why)))) => Outcome::missing(why),
        Err(None) => Outcome::missing("Still missing: two comparable plain nets."),
    }
}

/// The learner's own surfaces, judged by `landscape::check::bowl_check`, but only around a
/// plain/residual pair that both trained their whole budget (an equal number of steps) and only
/// on a finished, complete grid of exactly that pair: a stopped run, a partial or cancelled grid
/// or a grid of other nets is never evidence.
pub(super) fn bowl(runs: &[Run], landscape: Option<&Landscape>) -> Outcome {
    let pairs = twins(runs);
    let Some((p, r)) = pairs.iter().copied().max_by_key(|(p, r)| {
        (
            finished(p.h) && finished(r.h),
            p.h.steps_done().min(r.h.steps_done()),
        )
    }) else {
        return Outcome::missing(
            "Still missing: a plain net and its residual twin trained with the same settings (the Try it button trains them and then draws their surfaces).",
        );
    };
    for h in [p.h, r.h] {
        match h.status {
            RunStatus::Finished => {}
            RunStatus::Stopped => {
                return Outcome::missing(format!(
                    "{} was stopped after {} steps: the surfaces are judged only around nets that trained their whole budget. Run the Try it again and let it finish.",
                    h.label,
                    h.steps_done()
                ));
            }
            RunStatus::Running | RunStatus::Paused | RunStatus::Waiting => {
                return Outcome::missing(format!(
                    "Waiting for evidence: the surfaces are computed once both nets have finished training ({} is at step {}).",
                    h.label,
                    h.steps_done()
                ));
            }
            _ => {
                return Outcome::missing(format!(
                    "{} {}: the surfaces are judged only around nets that trained their whole budget. Run the Try it again.",
                    h.label,
                    h.status.describe()
                ));
            }
        }
    }
    if p.h.steps_done() != r.h.steps_done() {
        return Outcome::missing(format!(
            "{} trained {} steps and {} {}: the surfaces compare only nets trained for an equal number of steps.",
            p.h.label,
            p.h.steps_done(),
            r.h.label,
            r.h.steps_done()
        ));
    }
    let Some(l) = landscape else {
        // Nothing is computing them (a restart, or a Try it whose surfaces were refused): say
        // so, never "waiting".
        return Outcome::missing(format!(
            "The surfaces of {} and {} have not been computed in this session: press ▶ Compute on the Landscape tab with this pair chosen, or run the Try it again.",
            p.h.label, r.h.label
        ));
    };
    let classes =
        p.h.net
            .as_ref()
            .and_then(|n| n.spec.classes())
            .unwrap_or(10);
    if !matches!(l.status, Status::Finished { .. }) {
        // Still copying the nets or computing, cancelled or failed: the surfaces' own words.
        return Outcome::missing(bowl_check(l, classes).text);
    }
    let of_pair = l.nets.len() == 2
        && [p.h, r.h]
            .iter()
            .all(|h| l.nets.iter().any(|n| n.label == h.label));
    if !of_pair {
        return Outcome::missing(format!(
            "The surfaces on the Landscape tab are not those of {} and {}: compute the landscape of this pair.",
            p.h.label, r.h.label
        ));
    }
    let v = bowl_check(l, classes);
    let figure = || {
        let basin = |residual: bool| {
            l.nets
                .iter()
                .find(|n| n.residual == residual)
                .and_then(|n| Some((n.label.clone(), n.surface.basin(classes)?)))
        };
        match (basin(false), basin(true)) {
            (Some((pl, pb)), Some((rl, rb))) => format!(
                "trained loss {pl} {:.2} vs {rl} {:.2} (chance {:.2}); rise {:.2} vs {:.2}; below chance {} vs {} ({}x{} grid)",
                pb.trained_loss,
                rb.trained_loss,
                rb.chance,
                pb.min_rise,
                rb.min_rise,
                pct(pb.below_chance as f32),
                pct(rb.below_chance as f32),
                l.nets[0].surface.side(),
                l.nets[0].surface.side()
            ),
            _ => String::new(),
        }
    };
    match v.passed {
        None => Outcome::missing(v.text),
        Some(true) => Outcome::pass(v.text, figure()),
        Some(false) => Outcome::not_yet(v.text, figure()),
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// (plain, residual) pairs of the same depth and settings.
fn twins<'a>(runs: &[Run<'a>]) -> Vec<(Run<'a>, Run<'a>)> {
    let mut out = Vec::new();
    for r in runs.iter().filter(|r| r.net.residual) {
        for p in runs
            .iter()
            .filter(|p| !p.net.residual && p.net.depth == r.net.depth)
        {
            if comparable(p.h, r.h) {
                out.push((*p, *r));
            }
        }
    }
    out
}

pub(super) fn resnet_wins(runs: &[Run]) -> Outcome {
    let pairs = twins(runs);
    if pairs.is_empty() {
        return Outcome::missing(
            "Still missing: a plain net and a residual net of the same depth, trained with the same settings.",
        );
    }
    match judge_pairs(pairs, |plain, res| plain - res) {
        Ok((p, r, step, ep, er)) => Outcome::pass(
            format!(
                "{} your {} has {} training error (mean of the last {} steps), {} points below {}'s {}: the shortcuts made it easier to optimise.",
                capital(&when(step, p.h, r.h)),
                r.h.label,
                pct(er),
                window(step),
                ((ep - er) * 100.0).round(),
                p.h.label,
                pct(ep)
            ),
            format!(
                "{} {} vs {} {} @ step {step}",
                r.h.label,
                pct(er),
                p.h.label,
                pct(ep)
            ),
        ),
        Err(Some((p, r, AtStep::Ready { step, a, b }))) => Outcome::not_yet(
            format!(
                "{} {} is at {} and {} at {}: not the {}-point gap this check looks for{}",
                capital(&when(step, p.h, r.h)),
                r.h.label,
                pct(b),
                p.h.label,
                pct(a),
                (MARGIN * 100.0).round(),
                if still_training(p.h, r.h) {
                    " yet; keep watching."
                } else {
                    ". Train longer and compare again."
                }
            ),
            format!(
                "{} {} vs {} {} @ step {step}",
                r.h.label,
                pct(b),
                p.h.label,
                pct(a)
            ),
        ),
        Err(Some((_, _, AtStep::TooEarly(why)))) => Outcome::missing(why),
        Err(None) => Outcome::missing("Still missing: a comparable plain and residual pair."),
    }
}

/// Mean loss of the first few steps: the nets see the same batches (same seed), and a few
/// batches keep one noisy batch from deciding.
fn start_loss(h: &RunHistory) -> Option<f32> {
    const N: usize = 5;
    (h.step_loss.len() >= N).then(|| h.step_loss[..N].iter().sum::<f32>() / N as f32)
}

pub(super) fn identity_init(runs: &[Run]) -> Outcome {
    let zero = runs
        .iter()
        .filter(|r| r.net.residual && r.net.zero_init)
        .max_by_key(|r| r.net.depth);
    let plain = |pick_deep: bool| {
        let it = runs.iter().filter(|r| !r.net.residual);
        if pick_deep {
            it.max_by_key(|r| r.net.depth)
        } else {
            it.min_by_key(|r| r.net.depth)
        }
    };
    let (Some(z), Some(s), Some(d)) = (zero, plain(false), plain(true)) else {
        return Outcome::missing(
            "Still missing: a zero-initialised deep resnet, a shallow plain net and a deep plain net (the Try it button sets them up).",
        );
    };
    if s.net.depth >= z.net.depth || d.net.depth <= s.net.depth {
        return Outcome::missing(
            "Still missing: the shallow plain net must be shallower than the zero-initialised resnet, and the deep plain net deeper than the shallow one.",
        );
    }
    let (Some(lz), Some(ls)) = (start_loss(z.h), start_loss(s.h)) else {
        return Outcome::missing("Waiting for the first five steps of both runs.");
    };
    let close = (lz - ls).abs() <= 0.15 * ls.abs().max(1e-6);
    let start = format!(
        "Your {} started with a loss of {:.2} over its first five steps, {} {}'s {:.2}",
        z.h.label,
        lz,
        if close { "close to" } else { "not close to" },
        s.h.label,
        ls
    );
    if !close {
        return Outcome::not_yet(
            start + ". Check that zero-init is on.",
            format!("start loss {lz:.2} vs {ls:.2}"),
        );
    }
    if !comparable(z.h, d.h) {
        return Outcome::missing(
            start
                + "; to see it keep training, compare it with a deep plain net of the same settings.",
        );
    }
    match at_equal_step(d.h, z.h) {
        AtStep::Ready { step, a: ed, b: ez } if ed - ez >= MARGIN => Outcome::pass(
            format!(
                "{start}, and {} its training error is {}, {} points below {}'s {}: the deep net started as a shallow one and kept learning.",
                when(step, d.h, z.h),
                pct(ez),
                ((ed - ez) * 100.0).round(),
                d.h.label,
                pct(ed)
            ),
            format!(
                "start loss {lz:.2} vs {ls:.2}; {} {} vs {} {} @ step {step}",
                z.h.label,
                pct(ez),
                d.h.label,
                pct(ed)
            ),
        ),
        AtStep::Ready { step, a: ed, b: ez } => Outcome::not_yet(
            format!(
                "{start}; {} it is at {} training error against {}'s {}, not yet {} points apart.",
                when(step, d.h, z.h),
                pct(ez),
                d.h.label,
                pct(ed),
                (MARGIN * 100.0).round()
            ),
            format!(
                "{} {} vs {} {} @ step {step}",
                z.h.label,
                pct(ez),
                d.h.label,
                pct(ed)
            ),
        ),
        AtStep::TooEarly(why) => Outcome::missing(format!("{start}. {why}")),
    }
}

/// Max / min of the positive values, and how many decades the input-side third sits above the
/// output-side third (mean log10).
pub(crate) fn spread_and_tilt(v: &[f32]) -> Option<(f32, f32)> {
    let v: Vec<f32> = v
        .iter()
        .copied()
        .filter(|x| *x > 0.0 && x.is_finite())
        .collect();
    if v.len() < 3 {
        return None;
    }
    let max = v.iter().copied().fold(f32::MIN, f32::max);
    let min = v.iter().copied().fold(f32::MAX, f32::min);
    let k = v.len() / 3;
    let mean_log = |s: &[f32]| s.iter().map(|x| x.log10()).sum::<f32>() / s.len() as f32;
    Some((max / min, mean_log(&v[..k]) - mean_log(&v[v.len() - k..])))
}

pub(super) fn grad_spread(runs: &[Run]) -> Outcome {
    let pairs = twins(runs);
    let have_twins = !pairs.is_empty();
    for (p, r) in pairs {
        let (Some((sp, tilt)), Some((sr, _))) = (
            spread_and_tilt(&p.h.grad_norms_init),
            spread_and_tilt(&r.h.grad_norms_init),
        ) else {
            continue;
        };
        let msg = format!(
            "On the first batch, {}'s gradient norms span a factor of {:.0} across layers, {}'s a factor of {:.0}",
            p.h.label, sp, r.h.label, sr
        );
        let figure = format!(
            "spread {:.0}x vs {:.0}x, plain input side +{:.1} decades",
            sp, sr, tilt
        );
        if sp >= SPREAD_RATIO * sr && tilt >= 1.0 {
            return Outcome::pass(
                format!(
                    "{msg}, and the plain net's are about {:.0}x larger at the input than at the output: the shortcuts keep the gradient even.",
                    10f32.powf(tilt)
                ),
                figure,
            );
        }
        return Outcome::not_yet(
            msg + ": not a much wider spread, largest at the input; try deeper nets.",
            figure,
        );
    }
    Outcome::missing(if have_twins {
        "Still missing: first-batch gradient norms (probe every > 0)."
    } else {
        "Still missing: a plain net and its residual twin with gradient probes on (probe every > 0)."
    })
}

/// Standard deviation of the signal leaving the last block over that leaving the first, at
/// the first probe (before any update).
pub(crate) fn activation_growth_of(h: &RunHistory) -> Option<f32> {
    let first = h.activation_std.first().filter(|s| s.step == 0)?;
    let outs: Vec<f32> = h
        .activation_names
        .iter()
        .zip(&first.values)
        .filter(|(n, _)| n.ends_with(".out"))
        .map(|(_, v)| *v)
        .collect();
    let (a, b) = (*outs.first()?, *outs.last()?);
    (outs.len() >= 2 && a > 0.0 && b.is_finite()).then_some(b / a)
}

pub(super) fn activation_growth(runs: &[Run]) -> Outcome {
    for u in runs.iter().filter(|r| r.net.residual && r.net.scale == 1.0) {
        for s in runs
            .iter()
            .filter(|s| s.net.residual && s.net.scale < 1.0 && s.net.depth == u.net.depth)
        {
            let (Some(gu), Some(gs)) = (activation_growth_of(u.h), activation_growth_of(s.h))
            else {
                continue;
            };
            let msg = format!(
                "At the start, the signal leaving {}'s last block has {:.1}x the spread it had after the first block; in {} it is {:.1}x",
                u.h.label, gu, s.h.label, gs
            );
            let figure = format!("growth {gu:.1}x vs {gs:.1}x");
            return if gu >= GROWTH_RATIO * gs {
                Outcome::pass(
                    msg + ": every unscaled addition piles more variance onto the trunk, the scaled branches add little.",
                    figure,
                )
            } else {
                Outcome::not_yet(msg + ": not a clear difference.", figure)
            };
        }
    }
    Outcome::missing(
        "Still missing: a residual net and its branch-scaled twin of the same depth with activation probes (the Try it button sets them up).",
    )
}

pub(super) fn sweep_trend(runs: &[Run]) -> Outcome {
    // Only runs that completed their budget, and all with the same budget.
    let complete: Vec<&Run> = runs.iter().filter(|r| finished(r.h)).collect();
    let partial: Vec<String> = runs
        .iter()
        .filter(|r| !finished(r.h) && r.h.status.is_done())
        .map(|r| {
            format!(
                "{} stopped after {} of {} steps",
                r.h.label,
                r.h.steps_done(),
                r.h.total_steps
            )
        })
        .collect();
    let budget = complete.iter().map(|r| r.h.steps_done()).max().unwrap_or(0);
    let same: Vec<&Run> = complete
        .iter()
        .copied()
        .filter(|r| r.h.steps_done() == budget && complete.iter().all(|o| comparable(o.h, r.h)))
        .collect();
    let line = |residual: bool| -> Vec<(usize, f32)> {
        let mut v: Vec<(usize, f32)> = same
            .iter()
            .filter(|r| r.net.residual == residual && !r.net.zero_init && r.net.scale == 1.0)
            .filter_map(|r| Some((r.net.depth, r.h.final_train_err()?)))
            .collect();
        v.sort_by_key(|p| p.0);
        v.dedup_by_key(|p| p.0);
        v
    };
    let (plain, res) = (line(false), line(true));
    let partial_note = if partial.is_empty() {
        String::new()
    } else {
        format!(
            " Stopped runs are not final errors and are left out: {}.",
            partial.join(", ")
        )
    };
    if plain.len() < 2 || res.len() < 2 {
        return Outcome::missing(format!(
            "Still missing: plain and residual nets that ran their whole budget at two or more depths each (a finished sweep).{partial_note}"
        ));
    }
    let (p0, p1) = (plain[0], plain[plain.len() - 1]);
    let (r0, r1) = (res[0], res[res.len() - 1]);
    let plain_rise = p1.1 - p0.1;
    let res_rise = r1.1 - r0.1;
    let msg = format!(
        "After {budget} steps, plain nets went from {} at depth {} to {} at depth {}; residual nets from {} at depth {} to {} at depth {}",
        pct(p0.1),
        p0.0,
        pct(p1.1),
        p1.0,
        pct(r0.1),
        r0.0,
        pct(r1.1),
        r1.0
    );
    let figure = format!(
        "plain {}→{}, resnet {}→{} (depth {}→{})",
        pct(p0.1),
        pct(p1.1),
        pct(r0.1),
        pct(r1.1),
        p0.0,
        p1.0
    );
    if plain_rise >= MARGIN && res_rise <= plain_rise / 2.0 && p1.1 - r1.1 >= MARGIN {
        Outcome::pass(
            format!("{msg}: depth hurts plain nets far more than residual ones.{partial_note}"),
            figure,
        )
    } else {
        Outcome::not_yet(
            format!(
                "{msg}: the plain line does not yet rise clearly above the residual one (this check wants a rise of {} points or more).{partial_note}",
                (MARGIN * 100.0).round()
            ),
            figure,
        )
    }
}

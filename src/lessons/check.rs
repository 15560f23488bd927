//! Lesson checks, evaluated on the learner's own finished runs and explained in a sentence.
use super::{Check, TryNet};
use crate::plot::charts::SweepPoint;
use crate::train::{RunHistory, RunStatus};

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub passed: bool,
    pub message: String,
}

impl Outcome {
    fn pass(message: String) -> Self {
        Self {
            passed: true,
            message,
        }
    }
    fn missing(message: impl Into<String>) -> Self {
        Self {
            passed: false,
            message: message.into(),
        }
    }
}

fn pct(v: f32) -> String {
    format!("{:.0}%", v * 100.0)
}

/// A finished run: the net its label names, its history, and its final training error.
type Done<'a> = (TryNet, &'a RunHistory, f32);

/// Finished runs whose label names a net, with their final training error.
fn finished(runs: &[RunHistory]) -> Vec<Done<'_>> {
    runs.iter()
        .filter(|h| matches!(h.status, RunStatus::Finished | RunStatus::Stopped))
        .filter_map(|h| {
            let net = TryNet::parse(&h.label).ok()?;
            Some((net, h, h.final_train_err()?))
        })
        .collect()
}

pub fn evaluate(check: Check, runs: &[RunHistory], sweep: &[SweepPoint]) -> Option<Outcome> {
    let done = finished(runs);
    Some(match check {
        Check::None => return None,
        Check::Exercise(_) => Outcome::missing(
            "Build the block in the Build tab and press Check there: a passing block marks this lesson done.",
        ),
        Check::Degradation => degradation(&done),
        Check::ResnetWins => resnet_wins(&done),
        Check::IdentityInit => identity_init(&done),
        Check::GradSpread => grad_spread(&done),
        Check::SweepTrend => sweep_trend(sweep),
    })
}

fn degradation(done: &[Done]) -> Outcome {
    let plain: Vec<_> = done.iter().filter(|(n, _, _)| !n.residual).collect();
    if plain.len() < 2 {
        return Outcome::missing(
            "Still missing: train two plain nets of different depths to the end (the Try it button sets them up).",
        );
    }
    let mut best: Option<(&Done, &Done)> = None;
    for a in &plain {
        for b in &plain {
            if b.0.depth > a.0.depth && b.2 > a.2 && best.is_none_or(|(x, y)| b.2 - a.2 > y.2 - x.2)
            {
                best = Some((a, b));
            }
        }
    }
    match best {
        Some((shallow, deep)) => Outcome::pass(format!(
            "Your {} ended with {} training error, higher than {}'s {}: that is degradation.",
            deep.1.label,
            pct(deep.2),
            shallow.1.label,
            pct(shallow.2)
        )),
        None => Outcome::missing(
            "Your deeper plain nets did not end with higher training error than the shallower ones yet; try more steps or a deeper net.",
        ),
    }
}

fn twins<'a>(done: &'a [Done<'a>]) -> Vec<(&'a Done<'a>, &'a Done<'a>)> {
    let mut out = Vec::new();
    for r in done.iter().filter(|(n, _, _)| n.residual) {
        for p in done
            .iter()
            .filter(|(n, _, _)| !n.residual && n.depth == r.0.depth)
        {
            out.push((p, r));
        }
    }
    out
}

fn resnet_wins(done: &[Done]) -> Outcome {
    let pairs = twins(done);
    if pairs.is_empty() {
        return Outcome::missing(
            "Still missing: a finished plain net and a finished residual net of the same depth.",
        );
    }
    match pairs.iter().find(|(p, r)| r.2 < p.2) {
        Some((p, r)) => Outcome::pass(format!(
            "Your {} ended with {} training error, lower than {}'s {}: the shortcuts made it easier to optimise.",
            r.1.label,
            pct(r.2),
            p.1.label,
            pct(p.2)
        )),
        None => {
            let (p, r) = pairs[0];
            Outcome::missing(format!(
                "Not yet: {} ended at {} and {} at {}. Train longer and compare again.",
                r.1.label,
                pct(r.2),
                p.1.label,
                pct(p.2)
            ))
        }
    }
}

fn identity_init(done: &[Done]) -> Outcome {
    let first = |h: &RunHistory| h.step_loss.first().copied();
    let zero = done.iter().find(|(n, _, _)| n.residual && n.zero_init);
    let shallow = done
        .iter()
        .filter(|(n, _, _)| !n.residual)
        .min_by_key(|(n, _, _)| n.depth);
    let (Some(z), Some(s)) = (zero, shallow) else {
        return Outcome::missing(
            "Still missing: a finished zero-initialised resnet and a finished shallow plain net.",
        );
    };
    let (Some(lz), Some(ls)) = (first(z.1), first(s.1)) else {
        return Outcome::missing("Still missing: the first-step losses of both runs.");
    };
    let close = (lz - ls).abs() <= 0.15 * ls.abs().max(1e-6);
    let msg = format!(
        "Your {} started with loss {:.2}, {} {}'s {:.2}",
        z.1.label,
        lz,
        if close { "close to" } else { "not close to" },
        s.1.label,
        ls
    );
    if close {
        Outcome::pass(msg + ": with zeroed branches the deep net starts as the shallow one.")
    } else {
        Outcome::missing(msg + ". Check that zero-init is on.")
    }
}

fn grad_spread(done: &[Done]) -> Outcome {
    let pairs = twins(done);
    for (p, r) in &pairs {
        if let (Some(sp), Some(sr)) = (p.1.grad_spread(), r.1.grad_spread()) {
            let msg = format!(
                "On the first batch, {}'s gradient norms spread over a factor of {:.0} across layers, {}'s over {:.0}",
                p.1.label, sp, r.1.label, sr
            );
            return if sp > 2.0 * sr {
                Outcome::pass(msg + ": the shortcuts keep the gradient even.")
            } else {
                Outcome::missing(msg + ": not a much wider spread yet; try deeper nets.")
            };
        }
    }
    Outcome::missing(
        "Still missing: a finished plain net and its residual twin with gradient probes on.",
    )
}

fn sweep_trend(points: &[SweepPoint]) -> Outcome {
    let ends = |residual: bool| {
        let mut v: Vec<&SweepPoint> = points.iter().filter(|p| p.residual == residual).collect();
        v.sort_by_key(|p| p.depth);
        (v.len() >= 2).then(|| (*v.first().unwrap_or(&v[0]), *v.last().unwrap_or(&v[0])))
    };
    let (Some((p0, p1)), Some((r0, r1))) = (ends(false), ends(true)) else {
        return Outcome::missing("Still missing: a finished sweep with at least two depths.");
    };
    let plain_rises = p1.train_err > p0.train_err;
    let res_flat = r1.train_err <= r0.train_err + 0.02;
    let msg = format!(
        "Plain nets went from {} at depth {} to {} at depth {}; residual nets from {} to {}",
        pct(p0.train_err),
        p0.depth,
        pct(p1.train_err),
        p1.depth,
        pct(r0.train_err),
        pct(r1.train_err)
    );
    if plain_rises && res_flat {
        Outcome::pass(msg + ": depth hurts plain nets but not residual ones.")
    } else {
        Outcome::missing(msg + ": the trend is not there yet; try more steps.")
    }
}

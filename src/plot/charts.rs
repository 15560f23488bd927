//! The app's charts, built from run histories. Each function is one plot of the Train view.
use super::{Chart, Family, Grid, Series, family_color};
use crate::train::history::SweepPoint;
use crate::train::{RunHistory, RunStatus};
use std::borrow::Borrow;

/// Exponential moving average, so per-step mini-batch noise does not hide the trend.
pub fn smooth(values: &[f32], alpha: f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    let mut acc: Option<f64> = None;
    for &v in values {
        let v = v as f64;
        let next = match acc {
            Some(a) if v.is_finite() => a + alpha * (v - a),
            _ => v,
        };
        acc = Some(next);
        out.push(next);
    }
    out
}

/// A run's family and depth, from its typed identity (or its net, for runs saved before runs
/// recorded one).
fn family_depth(h: &RunHistory) -> (Family, usize) {
    match (&h.identity, &h.net) {
        (Some(id), _) => (id.family(), id.depth),
        (None, Some(n)) => (Family::of_spec(&n.spec), n.spec.depth()),
        (None, None) => (Family::Plain, 0),
    }
}

/// Each run's colour: a hue of its own within its family's warm (plain) or cool (residual)
/// set, handed out shallow to deep, so plain-8 / plain-20 / plain-56 read as plain nets and
/// still apart, and two nets of one family never share a colour.
pub fn run_colors<R: Borrow<RunHistory>>(runs: &[R]) -> Vec<[u8; 3]> {
    let keys: Vec<(Family, usize)> = runs.iter().map(|h| family_depth(h.borrow())).collect();
    keys.iter()
        .enumerate()
        .map(|(i, &(family, depth))| {
            let members: Vec<(usize, usize)> = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| k.0 == family)
                .map(|(j, k)| (k.1, j))
                .collect();
            let shade = members.iter().filter(|m| **m < (depth, i)).count();
            family_color(family, shade, members.len())
        })
        .collect()
}

/// What a run that ended early says beside its curves, or `None` for a complete or live run.
pub fn incomplete_note(h: &RunHistory) -> Option<String> {
    match &h.status {
        RunStatus::Stopped => Some(format!("stopped at {}/{}", h.steps_done(), h.total_steps)),
        RunStatus::Diverged { step } => Some(format!("diverged at step {step}")),
        RunStatus::Failed(_) => Some("failed".into()),
        _ => None,
    }
}

/// A run's series: live style, or partial (hollow markers, labelled) when it ended early.
fn series(h: &RunHistory, rgb: [u8; 3], points: Vec<[f64; 2]>) -> Series {
    let s = Series::new(h.label.clone(), rgb, points);
    match incomplete_note(h) {
        Some(note) => s.partial(note),
        None => s,
    }
}

fn log10(v: f32) -> f64 {
    (v.max(1e-12) as f64).log10()
}

/// Training error per step in percent, smoothed.
pub fn train_error<R: Borrow<RunHistory>>(runs: &[R]) -> Chart {
    let mut c = Chart::new("Training error (smoothed)", "step", "training error %");
    for (h, i) in runs.iter().map(Borrow::borrow).zip(run_colors(runs)) {
        let pts = smooth(&h.step_err, 0.05)
            .into_iter()
            .enumerate()
            .map(|(s, e)| [(s + 1) as f64, e * 100.0])
            .collect();
        c.series.push(series(h, i, pts));
    }
    c
}

/// Test error per epoch in percent.
pub fn test_error<R: Borrow<RunHistory>>(runs: &[R]) -> Chart {
    let mut c = Chart::new("Test error per epoch", "epoch", "test error %");
    for (h, i) in runs.iter().map(Borrow::borrow).zip(run_colors(runs)) {
        let pts = h
            .epochs
            .iter()
            .filter(|e| e.test_err.is_finite())
            .map(|e| [e.epoch as f64, e.test_err as f64 * 100.0])
            .collect();
        c.series.push(series(h, i, pts));
    }
    c
}

/// Training loss per step, smoothed.
pub fn loss<R: Borrow<RunHistory>>(runs: &[R]) -> Chart {
    let mut c = Chart::new("Training loss (smoothed)", "step", "cross-entropy loss");
    for (h, i) in runs.iter().map(Borrow::borrow).zip(run_colors(runs)) {
        let pts = smooth(&h.step_loss, 0.05)
            .into_iter()
            .enumerate()
            .map(|(s, l)| [(s + 1) as f64, l])
            .collect();
        c.series.push(series(h, i, pts));
    }
    c
}

/// Per-layer weight-gradient norm (log10), first batch dashed and latest probe solid.
pub fn grad_flow<R: Borrow<RunHistory>>(runs: &[R]) -> Chart {
    let mut c = Chart::new(
        "Gradient flow",
        "layer (input side first)",
        "gradient L2 norm",
    );
    c.log10_y = true;
    for (h, i) in runs.iter().map(Borrow::borrow).zip(run_colors(runs)) {
        let to_pts = |v: &[f32]| -> Vec<[f64; 2]> {
            v.iter()
                .enumerate()
                .filter(|(_, n)| **n > 0.0)
                .map(|(l, n)| [l as f64, log10(*n)])
                .collect()
        };
        if !h.grad_norms_init.is_empty() {
            let mut s = series(h, i, to_pts(&h.grad_norms_init));
            s.name = format!("{} first batch", h.label);
            s.dashed = true;
            // The first batch is complete whether or not the run went on.
            s.style = super::Style::Live;
            c.series.push(s);
        }
        if let Some(last) = h.grad_flow.last().filter(|l| l.step > 0) {
            let mut s = series(h, i, to_pts(&last.values));
            s.name = format!("{} step {}", h.label, last.step);
            c.series.push(s);
        }
    }
    c
}

/// Standard deviation of the signal leaving each block: at the first probe (before any update,
/// dashed) and at the latest one (solid). Batch-norm outputs are left out: in train mode their
/// spread is set by gamma (about 1), so they say little; what grows or stays put with depth is
/// the sum the blocks pass on. Nets without blocks show every probe.
pub fn activation_std<R: Borrow<RunHistory>>(runs: &[R]) -> Chart {
    let mut c = Chart::new(
        "Activation std after each block",
        "block (input side first)",
        "activation std",
    );
    for (h, i) in runs.iter().map(Borrow::borrow).zip(run_colors(runs)) {
        let blocks: Vec<usize> = (0..h.activation_names.len())
            .filter(|&k| h.activation_names[k].ends_with(".out"))
            .collect();
        let to_pts = |values: &[f32]| -> Vec<[f64; 2]> {
            let keep: Vec<f32> = if blocks.is_empty() {
                values.to_vec()
            } else {
                blocks
                    .iter()
                    .filter_map(|&k| values.get(k).copied())
                    .collect()
            };
            keep.iter()
                .enumerate()
                .map(|(l, v)| [l as f64, *v as f64])
                .collect()
        };
        if let Some(first) = h.activation_std.first().filter(|f| f.step == 0) {
            let mut s = series(h, i, to_pts(&first.values));
            s.name = format!("{} first batch", h.label);
            s.dashed = true;
            // The first batch is complete whether or not the run went on.
            s.style = super::Style::Live;
            c.series.push(s);
        }
        if let Some(last) = h.activation_std.last().filter(|l| l.step > 0) {
            let mut s = series(h, i, to_pts(&last.values));
            s.name = format!("{} step {}", h.label, last.step);
            c.series.push(s);
        }
    }
    c
}

/// Gradient norms (log10) of every probe: rows are probes, columns are layers.
pub fn grad_heatmap(h: &RunHistory, max_rows: usize) -> Grid {
    let stride = h.grad_flow.len().div_ceil(max_rows.max(1)).max(1);
    let picked: Vec<_> = h.grad_flow.iter().step_by(stride).collect();
    Grid {
        name: h.label.clone(),
        rows: picked
            .iter()
            .map(|s| s.values.iter().map(|v| log10(*v)).collect())
            .collect(),
        row_keys: picked.iter().map(|s| s.step as f64).collect(),
        scale: None,
    }
}

/// Final training error (solid) and the last test error (dashed) against depth, one line per
/// family.
pub fn sweep(points: &[SweepPoint]) -> Chart {
    let mut c = Chart::new(
        "Final training and test error vs depth",
        "depth (layers)",
        "final error %",
    );
    for test in [false, true] {
        for (family, name) in [(Family::Plain, "plain"), (Family::Residual, "resnet")] {
            let mut pts: Vec<[f64; 2]> = points
                .iter()
                .filter(|p| p.residual == (family == Family::Residual))
                .filter_map(|p| {
                    let e = if test { p.test_err? } else { p.train_err };
                    e.is_finite().then_some([p.depth as f64, e as f64 * 100.0])
                })
                .collect();
            pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
            if test && pts.is_empty() {
                continue;
            }
            let s = Series::new(
                if test {
                    format!("{name} (test)")
                } else {
                    format!("{name} (training)")
                },
                family_color(family, 0, 1),
                pts,
            );
            c.series.push(if test { s.dashed() } else { s });
        }
    }
    c
}

/// Every chart of a comparison that has data, for "export all".
pub fn all<R: Borrow<RunHistory>>(runs: &[R]) -> Vec<Chart> {
    vec![
        train_error(runs),
        test_error(runs),
        loss(runs),
        grad_flow(runs),
        activation_std(runs),
    ]
}

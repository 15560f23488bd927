//! The app's charts, built from run histories. Each function is one plot of the Train view.
use super::{Chart, Family, Grid, Series, family_color};
use crate::train::{RunHistory, RunStatus};

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

/// A run's family (from its net, or its label for runs saved without one) and depth.
fn family_depth(h: &RunHistory) -> (Family, usize) {
    match &h.net {
        Some(n) => (Family::of_spec(&n.spec), n.spec.depth()),
        None => (
            Family::of_label(&h.label),
            h.label
                .split(|c: char| !c.is_ascii_digit())
                .find(|p| !p.is_empty())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
        ),
    }
}

/// Each run's colour: the hue of its family, and a lightness step per net of that family
/// ordered shallow (light) to deep (dark), so plain-8 / plain-20 / plain-56 read as one family
/// and still apart, and a family's colour does not depend on what else is plotted.
pub fn run_colors(runs: &[RunHistory]) -> Vec<[u8; 3]> {
    let keys: Vec<(Family, usize)> = runs.iter().map(family_depth).collect();
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
pub fn train_error(runs: &[RunHistory]) -> Chart {
    let mut c = Chart::new("Training error (smoothed)", "step", "training error %");
    for (h, i) in runs.iter().zip(run_colors(runs)) {
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
pub fn test_error(runs: &[RunHistory]) -> Chart {
    let mut c = Chart::new("Test error per epoch", "epoch", "test error %");
    for (h, i) in runs.iter().zip(run_colors(runs)) {
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
pub fn loss(runs: &[RunHistory]) -> Chart {
    let mut c = Chart::new("Training loss (smoothed)", "step", "cross-entropy loss");
    for (h, i) in runs.iter().zip(run_colors(runs)) {
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
pub fn grad_flow(runs: &[RunHistory]) -> Chart {
    let mut c = Chart::new(
        "Gradient flow",
        "layer (input side first)",
        "gradient L2 norm",
    );
    c.log10_y = true;
    for (h, i) in runs.iter().zip(run_colors(runs)) {
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

/// Standard deviation of the signal leaving each block, at the latest probe. Batch-norm outputs are
/// left out: in train mode their spread is set by gamma (about 1), so they say little; what grows
/// or stays put with depth is the sum the blocks pass on. Nets without blocks show every probe.
pub fn activation_std(runs: &[RunHistory]) -> Chart {
    let mut c = Chart::new(
        "Activation std after each block",
        "block (input side first)",
        "activation std",
    );
    for (h, i) in runs.iter().zip(run_colors(runs)) {
        let blocks: Vec<usize> = (0..h.activation_names.len())
            .filter(|&k| h.activation_names[k].ends_with(".out"))
            .collect();
        let pts = h
            .activation_std
            .last()
            .map(|s| {
                let keep: Vec<f32> = if blocks.is_empty() {
                    s.values.clone()
                } else {
                    blocks
                        .iter()
                        .filter_map(|&k| s.values.get(k).copied())
                        .collect()
                };
                keep.iter()
                    .enumerate()
                    .map(|(l, v)| [l as f64, *v as f64])
                    .collect()
            })
            .unwrap_or_default();
        c.series.push(series(h, i, pts));
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
    }
}

/// One point of a depth sweep: which family, how deep, and how it ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SweepPoint {
    pub residual: bool,
    pub depth: usize,
    #[serde(with = "crate::util::json_float")]
    pub train_err: f32,
}

/// Final training error against depth, one line per family.
pub fn sweep(points: &[SweepPoint]) -> Chart {
    let mut c = Chart::new(
        "Final training error vs depth",
        "depth (layers)",
        "final training error %",
    );
    for (residual, name) in [(false, "plain"), (true, "resnet")] {
        let mut pts: Vec<[f64; 2]> = points
            .iter()
            .filter(|p| p.residual == residual)
            .map(|p| [p.depth as f64, p.train_err as f64 * 100.0])
            .collect();
        pts.sort_by(|a, b| a[0].total_cmp(&b[0]));
        let family = if residual {
            Family::Residual
        } else {
            Family::Plain
        };
        c.series
            .push(Series::new(name, family_color(family, 0, 1), pts));
    }
    c
}

/// Every chart of a comparison that has data, for "export all".
pub fn all(runs: &[RunHistory]) -> Vec<Chart> {
    vec![
        train_error(runs),
        test_error(runs),
        loss(runs),
        grad_flow(runs),
        activation_std(runs),
    ]
}

//! Reference curves: complete runs of each lesson's quick Try it, drawn faintly behind the
//! learner's live curves so an early bump does not mislead and the learner sees where the run
//! is going.
//!
//! They are made by this project's own CLI (`resnet-lab lessons --references assets/reference`),
//! stored as small JSON files (curves downsampled, values rounded) and embedded in the binary:
//! the app never downloads anything.
use crate::identity::NetIdentity;
use crate::plot::charts;
use crate::plot::{Chart, Series, family_color, lighter};
use crate::train::RunHistory;
use crate::train::history::SweepPoint;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One complete reference run, reduced to what the charts draw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefRun {
    pub label: String,
    /// What the net is (files written before runs recorded it lack it; such runs are not drawn).
    pub identity: Option<NetIdentity>,
    pub seed: u64,
    pub steps: usize,
    /// (step, training error %) of the smoothed curve the live chart also draws, downsampled.
    pub train_err: Vec<[f32; 2]>,
    /// (step, loss), smoothed and downsampled.
    pub loss: Vec<[f32; 2]>,
    /// (epoch, test error %).
    pub test_err: Vec<[f32; 2]>,
    /// Gradient norm per weight tensor at the last probe.
    pub grad_last: Vec<f32>,
    /// Activation std after each block at the last probe.
    pub act_last: Vec<f32>,
    /// Training error at the end by the checks' rule (mean of the trailing window), a fraction.
    pub final_err: f32,
}

/// The reference runs of one lesson.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reference {
    pub lesson: String,
    /// The plan they ran (the same sentence the app shows).
    pub setup: String,
    pub steps: usize,
    pub runs: Vec<RefRun>,
}

/// How many points a reference curve keeps (a faint curve needs few; the files stay small).
const POINTS: usize = 40;

/// The embedded files, one per lesson whose Try it trains.
const FILES: [(&str, &str); 8] = [
    (
        "why-deeper",
        include_str!("../../assets/reference/why-deeper.json"),
    ),
    (
        "degradation",
        include_str!("../../assets/reference/degradation.json"),
    ),
    (
        "identity-argument",
        include_str!("../../assets/reference/identity-argument.json"),
    ),
    (
        "plain-vs-residual",
        include_str!("../../assets/reference/plain-vs-residual.json"),
    ),
    (
        "error-vs-depth",
        include_str!("../../assets/reference/error-vs-depth.json"),
    ),
    (
        "gradient-flow",
        include_str!("../../assets/reference/gradient-flow.json"),
    ),
    (
        "very-deep",
        include_str!("../../assets/reference/very-deep.json"),
    ),
    // Lesson 10 trains lesson 6's pair with the same quick setup: the same complete runs
    // (deterministic), written under its own id by `lessons --references`.
    (
        "shape-of-the-loss",
        include_str!("../../assets/reference/shape-of-the-loss.json"),
    ),
];

/// Lesson ids that have a reference file.
pub fn lesson_ids() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(id, _)| *id)
}

/// The embedded reference of lesson `id`, if it has one with runs in it.
pub fn for_lesson(id: &str) -> Option<Arc<Reference>> {
    let (_, text) = FILES.iter().find(|(i, _)| *i == id)?;
    let r: Reference = serde_json::from_str(text).ok()?;
    (!r.runs.is_empty()).then(|| Arc::new(r))
}

fn round(v: f64, step: f64) -> f32 {
    ((v / step).round() * step) as f32
}

/// Keeps about `POINTS` evenly spaced points, always the last one.
fn downsample(points: Vec<[f64; 2]>, step: f64) -> Vec<[f32; 2]> {
    let stride = points.len().div_ceil(POINTS).max(1);
    let last = points.len().saturating_sub(1);
    points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % stride == 0 || *i == last)
        .map(|(_, p)| [p[0] as f32, round(p[1], step)])
        .collect()
}

impl RefRun {
    /// The reference form of a complete run.
    pub fn from_history(h: &RunHistory) -> RefRun {
        let curve = |c: Chart, step: f64| {
            downsample(
                c.series
                    .into_iter()
                    .next()
                    .map(|s| s.points)
                    .unwrap_or_default(),
                step,
            )
        };
        let one = std::slice::from_ref(h);
        let act = charts::activation_std(one);
        RefRun {
            label: h.label.clone(),
            identity: h.identity.clone(),
            seed: h.hyper.seed,
            steps: h.steps_done(),
            train_err: curve(charts::train_error(one), 0.1),
            loss: curve(charts::loss(one), 0.01),
            test_err: curve(charts::test_error(one), 0.1),
            grad_last: h
                .grad_flow
                .last()
                .map(|s| s.values.iter().map(|v| sig3(*v)).collect())
                .unwrap_or_default(),
            act_last: act
                .series
                .last()
                .map(|s| s.points.iter().map(|p| sig3(p[1] as f32)).collect())
                .unwrap_or_default(),
            final_err: h
                .final_train_err()
                .map(|e| round(e as f64, 1e-3))
                .unwrap_or(f32::NAN),
        }
    }
}

/// Three significant digits: enough for a faint curve, and the file stays small.
fn sig3(v: f32) -> f32 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let e = v.abs().log10().floor() as i32 - 2;
    let f = 10f64.powi(e);
    ((v as f64 / f).round() * f) as f32
}

/// The charts reference curves can sit behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    TrainError,
    TestError,
    Loss,
    GradFlow,
    ActivationStd,
    Sweep,
}

/// A reference series: the chart's own faint style (thin, behind the live curves, one shared
/// legend entry).
fn series(name: String, rgb: [u8; 3], points: Vec<[f64; 2]>) -> Series {
    Series::new(name, rgb, points).reference()
}

fn to_f64(v: &[[f32; 2]]) -> Vec<[f64; 2]> {
    v.iter().map(|p| [p[0] as f64, p[1] as f64]).collect()
}

/// A reference run's colour: the hue of the live net of the same identity in `chart` (its
/// series is named by the identity's label, maybe with a suffix such as " first batch"),
/// lighter; else its family's first hue, lighter.
fn colour_in(chart: &Chart, id: &NetIdentity) -> [u8; 3] {
    let label = id.label();
    let live = chart.series.iter().find(|s| {
        !s.is_reference()
            && (s.name == label
                || s.name
                    .strip_prefix(label.as_str())
                    .is_some_and(|rest| rest.starts_with(' ')))
    });
    lighter(live.map_or_else(|| family_color(id.family(), 0, 1), |s| s.rgb))
}

impl Reference {
    /// Faint series for `kind`, to be drawn behind `live`'s series in their colours.
    pub fn series(&self, kind: ChartKind, live: &Chart) -> Vec<Series> {
        let name = |l: &str| format!("{l} (complete runs)");
        match kind {
            ChartKind::Sweep => {
                let mut out = Vec::new();
                let mut seeds: Vec<u64> = self.runs.iter().map(|r| r.seed).collect();
                seeds.sort_unstable();
                seeds.dedup();
                for seed in seeds {
                    let pts: Vec<SweepPoint> = self
                        .runs
                        .iter()
                        .filter(|r| r.seed == seed && r.final_err.is_finite())
                        .filter_map(|r| {
                            let id = r.identity.as_ref()?;
                            Some(SweepPoint {
                                residual: id.is_residual(),
                                depth: id.depth,
                                train_err: r.final_err,
                                test_err: None,
                            })
                        })
                        .collect();
                    for s in charts::sweep(&pts).series {
                        let n = name(&s.name);
                        out.push(series(n, lighter(s.rgb), s.points));
                    }
                }
                out
            }
            _ => self
                .runs
                .iter()
                .filter_map(|r| {
                    let id = r.identity.as_ref()?;
                    let pts: Vec<[f64; 2]> = match kind {
                        ChartKind::TrainError => to_f64(&r.train_err),
                        ChartKind::Loss => to_f64(&r.loss),
                        ChartKind::TestError => to_f64(&r.test_err),
                        ChartKind::GradFlow => r
                            .grad_last
                            .iter()
                            .enumerate()
                            .filter(|(_, v)| **v > 0.0)
                            .map(|(i, v)| [i as f64, (*v as f64).log10()])
                            .collect(),
                        ChartKind::ActivationStd => r
                            .act_last
                            .iter()
                            .enumerate()
                            .map(|(i, v)| [i as f64, *v as f64])
                            .collect(),
                        ChartKind::Sweep => Vec::new(),
                    };
                    (!pts.is_empty()).then(|| series(name(&id.label()), colour_in(live, id), pts))
                })
                .collect(),
        }
    }

    /// `chart` with this reference's faint series put behind its live ones.
    pub fn behind(&self, mut chart: Chart, kind: ChartKind) -> Chart {
        let mut s = self.series(kind, &chart);
        s.append(&mut chart.series);
        chart.series = s;
        chart
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(123.456), 123.0);
        assert!((sig3(0.0012345) - 0.00123).abs() < 1e-9);
        assert_eq!(sig3(0.0), 0.0);
    }

    #[test]
    fn downsampling_keeps_the_last_point() {
        let pts: Vec<[f64; 2]> = (0..301).map(|i| [i as f64, i as f64]).collect();
        let d = downsample(pts, 0.01);
        assert!(d.len() <= POINTS + 1);
        assert_eq!(d.last().unwrap()[0], 300.0);
    }
}

//! The lesson check on the learner's own surfaces: is the residual net's loss surface clearly
//! more bowl-like than its plain twin's? Concludes only from a finished, complete landscape of
//! one plain and one residual net; otherwise it says what is missing.
use super::figures::Figures;
use super::result::{Landscape, NetLandscape, Status};

/// The residual surface must be not locally convex at this many percentage points fewer grid
/// points than the plain one...
pub const MIN_GAP: f64 = 0.10;
/// ...and at most this share of the plain net's non-convex points.
pub const MAX_SHARE_OF_PLAIN: f64 = 0.6;

/// What the check concluded: `passed` is `None` when the evidence is not there yet.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub passed: Option<bool>,
    pub text: String,
}

impl Verdict {
    fn open(text: impl Into<String>) -> Self {
        Self {
            passed: None,
            text: text.into(),
        }
    }
}

fn pick(l: &Landscape, residual: bool) -> Option<(&NetLandscape, Figures)> {
    let n = l.nets.iter().find(|n| n.residual == residual)?;
    Some((n, n.figures()?))
}

/// Compares the plain and the residual surface of `l` (see [`MIN_GAP`], [`MAX_SHARE_OF_PLAIN`]).
pub fn bowl_check(l: &Landscape) -> Verdict {
    match &l.status {
        Status::Waiting => {
            return Verdict::open(
                "No landscape yet: compute the pair's surfaces in the Landscape tab.",
            );
        }
        Status::Running if l.total == 0 => {
            return Verdict::open("The landscape is starting: copying the nets.");
        }
        Status::Running => {
            return Verdict::open(format!(
                "The landscape is still being computed ({}/{} points).",
                l.done, l.total
            ));
        }
        Status::Cancelled => {
            return Verdict::open(
                "The landscape was cancelled: a check needs every point, compute it again.",
            );
        }
        Status::Failed(e) => return Verdict::open(format!("The landscape failed: {e}")),
        Status::Finished { .. } => {}
    }
    if !l.is_complete() {
        return Verdict::open("The landscape is not complete: compute it again.");
    }
    let (Some((p, pf)), Some((r, rf))) = (pick(l, false), pick(l, true)) else {
        return Verdict::open(
            "The check compares a plain net with a residual net: compute the landscape of both.",
        );
    };
    let pct = |v: f64| v * 100.0;
    let passed = rf.nonconvex_share <= pf.nonconvex_share - MIN_GAP
        && rf.nonconvex_share <= pf.nonconvex_share * MAX_SHARE_OF_PLAIN;
    let text = if passed {
        format!(
            "{}'s surface is not locally convex at {:.0}% of its grid points, {}'s at {:.0}%: the shortcuts give a smoother bowl (curvature ratio {:.2} vs {:.2}).",
            p.label,
            pct(pf.nonconvex_share),
            r.label,
            pct(rf.nonconvex_share),
            pf.curvature_ratio,
            rf.curvature_ratio
        )
    } else {
        format!(
            "{} is not locally convex at {:.0}% of its grid points and {} at {:.0}%: not the clear gap (10 points, and at most {:.0}% of the plain net's share) this check asks for. Train both nets to the end, or look at a larger range.",
            p.label,
            pct(pf.nonconvex_share),
            r.label,
            pct(rf.nonconvex_share),
            MAX_SHARE_OF_PLAIN * 100.0
        )
    };
    Verdict {
        passed: Some(passed),
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landscape::job::Event;
    use crate::landscape::probe::Point;

    /// A finished landscape of a plain net with surface `plain` and a residual one with `res`.
    fn landscape(
        plain: impl Fn(f64, f64) -> f64,
        res: impl Fn(f64, f64) -> f64,
        finish: bool,
    ) -> Landscape {
        let n = 11;
        let coords: Vec<f64> = (0..n).map(|i| -1.0 + 0.2 * i as f64).collect();
        let mut l = Landscape::new();
        l.apply(&Event::Started {
            labels: vec!["plain-20".into(), "resnet-20".into()],
            residual: vec![false, true],
            coords: coords.clone(),
            alphas: vec![],
            has_line: vec![false, false],
            images: 100,
            cosines: vec![0.0, 0.0],
            total: 2 * n * n,
        });
        for (iy, &y) in coords.iter().enumerate() {
            for (ix, &x) in coords.iter().enumerate() {
                for (net, f) in [&plain as &dyn Fn(f64, f64) -> f64, &res]
                    .into_iter()
                    .enumerate()
                {
                    l.apply(&Event::Grid {
                        net,
                        ix,
                        iy,
                        point: Point {
                            loss: f(x, y) as f32,
                            error: 0.1,
                        },
                    });
                }
            }
        }
        if finish {
            l.apply(&Event::Finished {
                wall_secs: 1.0,
                evaluations: 2 * n * n,
            });
        }
        l
    }

    fn bowl(x: f64, y: f64) -> f64 {
        1.0 + x * x + y * y
    }

    fn rough(x: f64, y: f64) -> f64 {
        2.0 + (7.0 * x).sin() * (6.0 * y).cos() + 0.3 * x * x
    }

    #[test]
    fn a_bowl_beside_a_rough_surface_passes_and_names_both() {
        let v = bowl_check(&landscape(rough, bowl, true));
        assert_eq!(v.passed, Some(true), "{}", v.text);
        assert!(v.text.contains("plain-20") && v.text.contains("resnet-20"));
        assert!(v.text.contains("at 0%"), "{}", v.text);
    }

    #[test]
    fn two_similar_surfaces_or_the_wrong_order_fail() {
        let v = bowl_check(&landscape(bowl, bowl, true));
        assert_eq!(v.passed, Some(false), "{}", v.text);
        let v = bowl_check(&landscape(bowl, rough, true));
        assert_eq!(v.passed, Some(false), "{}", v.text);
    }

    #[test]
    fn no_verdict_from_a_running_or_partial_landscape_or_a_lone_net() {
        let l = landscape(rough, bowl, false);
        assert_eq!(bowl_check(&l).passed, None);
        let mut c = l.clone();
        c.apply(&Event::Cancelled { evaluations: 10 });
        assert_eq!(bowl_check(&c).passed, None);
        let mut lone = landscape(rough, bowl, true);
        lone.nets.retain(|n| n.residual);
        assert_eq!(bowl_check(&lone).passed, None);
        assert_eq!(bowl_check(&Landscape::new()).passed, None);
    }
}

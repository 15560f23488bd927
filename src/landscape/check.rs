//! The lesson check on the learner's own surfaces, in the terms the contour picture shows:
//! the residual net's trained point sits low, far below chance, at the bottom of a bowl the
//! loss climbs out of in every direction; the plain net's does not (it sits higher, on a
//! plateau near chance, or in a basin with a flat side). Concludes only from a finished,
//! complete landscape of one plain and one residual net; otherwise it says what is missing.
use super::figures::Basin;
use super::result::{Landscape, NetLandscape, Status};

/// The residual net's trained loss must be at most this share of chance (ln of the classes).
pub const LOW: f64 = 0.5;
/// ...and the loss must climb at least this far from it to the grid's edge in every direction.
pub const MIN_RISE: f64 = 0.5;
/// The plain net's trained point must sit this share of chance above the residual net's, or
/// its flattest direction rise at most half as far.
pub const GAP: f64 = 0.25;

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

fn pick(l: &Landscape, residual: bool, classes: usize) -> Option<(&NetLandscape, Basin)> {
    let n = l.nets.iter().find(|n| n.residual == residual)?;
    Some((n, n.surface.basin(classes)?))
}

/// Judges the plain and the residual surface of `l` for a data set of `classes` classes (see
/// [`LOW`], [`MIN_RISE`], [`GAP`]).
pub fn bowl_check(l: &Landscape, classes: usize) -> Verdict {
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
    let (Some((p, pb)), Some((r, rb))) = (pick(l, false, classes), pick(l, true, classes)) else {
        return Verdict::open(
            "The check compares a plain net with a residual net: compute the landscape of both.",
        );
    };
    let chance = rb.chance;
    let residual_bowl = rb.trained_loss <= LOW * chance && rb.min_rise >= MIN_RISE;
    let plain_apart =
        pb.trained_loss >= rb.trained_loss + GAP * chance || pb.min_rise <= 0.5 * rb.min_rise;
    let residual_words = format!(
        "{}'s trained point has loss {:.2}, {} chance ({chance:.2}), and the loss climbs by at least {:.2} to the grid's edge in every direction",
        r.label,
        rb.trained_loss,
        if rb.trained_loss <= LOW * chance {
            "far below"
        } else {
            "not far below"
        },
        rb.min_rise
    );
    let where_plain = if pb.trained_loss >= 1.25 * chance {
        ", above chance: no low point found"
    } else if pb.trained_loss >= 0.8 * chance {
        ", about chance: a plateau"
    } else {
        ""
    };
    let plain_words = if pb.min_rise < 0.0 {
        format!(
            "{}'s trained point has loss {:.2}{where_plain}, and in one direction the loss falls by {:.2} towards the grid's edge: not even a minimum",
            p.label, pb.trained_loss, -pb.min_rise
        )
    } else {
        format!(
            "{}'s trained point has loss {:.2}{where_plain}, and in its flattest direction the loss climbs by {:.2}",
            p.label, pb.trained_loss, pb.min_rise
        )
    };
    let passed = residual_bowl && plain_apart;
    let text = if passed {
        format!(
            "{residual_words}: a bowl. {plain_words}: the shortcuts made a basin SGD could find."
        )
    } else {
        format!(
            "{residual_words}; {plain_words}: not the clear difference this check looks for (the residual net below half of chance in a bowl at least {MIN_RISE} deep, the plain net clearly higher or flatter)."
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

    /// A deep bowl with its bottom far below chance (ln 10 = 2.30).
    fn bowl(x: f64, y: f64) -> f64 {
        0.2 + x * x + y * y
    }

    /// A plateau at chance, tilted a little.
    fn plateau(x: f64, _y: f64) -> f64 {
        2.3 + 0.05 * x
    }

    fn rough(x: f64, y: f64) -> f64 {
        2.0 + (7.0 * x).sin() * (6.0 * y).cos() + 0.3 * x * x
    }

    #[test]
    fn a_bowl_beside_a_plateau_or_a_rough_surface_passes_and_names_both() {
        for plain in [plateau as fn(f64, f64) -> f64, rough] {
            let v = bowl_check(&landscape(plain, bowl, true), 10);
            assert_eq!(v.passed, Some(true), "{}", v.text);
            assert!(v.text.contains("plain-20") && v.text.contains("resnet-20"));
        }
        let v = bowl_check(&landscape(plateau, bowl, true), 10);
        assert!(
            v.text.contains("loss 0.20, far below chance (2.30)"),
            "{}",
            v.text
        );
        assert!(v.text.contains("at least 1.00"), "{}", v.text);
        assert!(v.text.contains("about chance: a plateau"), "{}", v.text);
    }

    #[test]
    fn a_plain_point_above_chance_on_a_slope_is_named_as_such() {
        // Loss 11 at the trained point, falling towards one edge: no "about chance", no "climbs".
        let slope = |x: f64, _y: f64| 11.0 - 7.0 * x;
        let v = bowl_check(&landscape(slope, bowl, true), 10);
        assert_eq!(v.passed, Some(true), "{}", v.text);
        assert!(v.text.contains("loss 11.00, above chance"), "{}", v.text);
        assert!(v.text.contains("falls by 7.00"), "{}", v.text);
        assert!(!v.text.contains("climbs by -"), "{}", v.text);
    }

    #[test]
    fn two_bowls_the_wrong_order_or_a_shallow_bowl_fail() {
        let v = bowl_check(&landscape(bowl, bowl, true), 10);
        assert_eq!(v.passed, Some(false), "{}", v.text);
        let v = bowl_check(&landscape(bowl, plateau, true), 10);
        assert_eq!(v.passed, Some(false), "{}", v.text);
        let shallow = |x: f64, y: f64| 0.2 + 0.1 * (x * x + y * y);
        let v = bowl_check(&landscape(plateau, shallow, true), 10);
        assert_eq!(v.passed, Some(false), "{}", v.text);
    }

    #[test]
    fn no_verdict_from_a_running_or_partial_landscape_or_a_lone_net() {
        let l = landscape(rough, bowl, false);
        assert_eq!(bowl_check(&l, 10).passed, None);
        let mut c = l.clone();
        c.apply(&Event::Cancelled { evaluations: 10 });
        assert_eq!(bowl_check(&c, 10).passed, None);
        let mut lone = landscape(rough, bowl, true);
        lone.nets.retain(|n| n.residual);
        assert_eq!(bowl_check(&lone, 10).passed, None);
        assert_eq!(bowl_check(&Landscape::new(), 10).passed, None);
    }
}

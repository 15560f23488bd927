//! Axis ranges, tick positions and tick labels, shared by the app (egui_plot) and the PNG export
//! (plotters), so both show the same numbers.
//!
//! Ticks sit on "nice" steps (1, 2 or 5 times a power of ten), integer axes never tick between
//! integers, log axes tick at whole decades, and every label of one axis is distinct (the number of
//! decimals follows the step, and `-0` is written `0`).

/// One tick: where it sits and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
}

/// How an axis maps and labels its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Plain numbers.
    Linear,
    /// Whole numbers only (steps, epochs, layers, depths): no tick between two integers.
    Integer,
    /// Values are already log10 of the quantity; ticks at decades, labelled with the quantity.
    Log10,
}

/// The smallest step of the 1-2-5 sequence that is at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= raw * (1.0 - 1e-9) {
            return m * p;
        }
    }
    10.0 * p
}

/// Decimals needed so that multiples of `step` print distinctly.
fn decimals_for(step: f64) -> usize {
    if !step.is_finite() || step <= 0.0 || step >= 1.0 {
        return 0;
    }
    // 0.5 -> 1, 0.25 -> 2, 0.2 -> 1, 0.05 -> 2.
    let mut d = 0;
    let mut s = step;
    while d < 12 && (s - s.round()).abs() > 1e-9 * s.abs().max(1.0) {
        s *= 10.0;
        d += 1;
    }
    d
}

/// A tick value as text, with as many decimals as `step` needs; never "-0".
pub fn format_value(v: f64, step: f64) -> String {
    let d = decimals_for(step);
    let tiny = if step.is_finite() && step > 0.0 {
        step * 1e-6
    } else {
        1e-12
    };
    let v = if v.abs() < tiny { 0.0 } else { v };
    let s = format!("{v:.d$}");
    // Rounding can still produce "-0.00" for values a hair below zero.
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// The quantity 10^e as a label: "0.01", "0.5", "1", "20", "1000", then "1e4", "2e-5".
pub fn format_power(e: f64) -> String {
    let v = 10f64.powf(e);
    if !v.is_finite() || v == 0.0 {
        return format!("1e{e:.0}");
    }
    let k = v.log10().floor();
    let m = (v / 10f64.powf(k)).round();
    if (-3.0..=3.0).contains(&k) {
        let d = if k < 0.0 { (-k) as usize } else { 0 };
        format!("{:.d$}", m * 10f64.powf(k))
    } else {
        format!("{m:.0}e{k:.0}")
    }
}

/// Ticks for `lo..hi` at most `max_count` of them (at least 2 where the range allows).
pub fn ticks(scale: Scale, lo: f64, hi: f64, max_count: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let max_count = max_count.max(2);
    match scale {
        Scale::Linear => linear(lo, hi, max_count, 0.0),
        Scale::Integer => linear(lo, hi, max_count, 1.0),
        Scale::Log10 => log10(lo, hi, max_count),
    }
}

fn linear(lo: f64, hi: f64, max_count: usize, min_step: f64) -> Vec<Tick> {
    // Start finer than needed and widen: rounding one estimate up to a nice step can skip
    // past the step that fits (42 units, 3 ticks: 21 rounds to 50 and leaves one tick; 20 fits).
    let mut step = nice_step((hi - lo) / (max_count as f64 * 1.5));
    if step < min_step {
        step = min_step;
    }
    // Never more than max_count: widen the step until they fit.
    // A hair of tolerance so 0.3 / 0.1 = 2.9999... still ticks at 0.3.
    let span_of = |step: f64| {
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        (first, last)
    };
    loop {
        let (f, l) = span_of(step);
        if l < f || (l - f + 1) as usize <= max_count {
            break;
        }
        step = nice_step(step * 1.01);
    }
    let (first, last) = span_of(step);
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            Tick {
                value: v,
                label: format_value(v, step),
            }
        })
        .collect()
}

fn log10(lo: f64, hi: f64, max_count: usize) -> Vec<Tick> {
    let (a, b) = (lo.ceil() as i64, hi.floor() as i64);
    let decades = (b - a + 1).max(0) as usize;
    if decades >= 2 {
        // Every decade, or every 2nd / 5th / 10th... when there are too many.
        let mut every = 1i64;
        while decades.div_ceil(every as usize) > max_count {
            every = nice_step(every as f64 * 1.01) as i64;
        }
        let first = a.div_euclid(every) * every;
        return (0..)
            .map(|i| first + i * every)
            .take_while(|e| *e <= b)
            .filter(|e| *e >= a)
            .map(|e| Tick {
                value: e as f64,
                label: format_power(e as f64),
            })
            .collect();
    }
    // Less than two decades in view (zoomed in): 1-2-5 (then 1..9) within the decades.
    let coarse: &[f64] = &[1.0, 2.0, 5.0];
    let fine: &[f64] = &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    for mantissas in [coarse, fine] {
        let mut out = Vec::new();
        for k in (lo.floor() as i64)..=(hi.ceil() as i64) {
            for m in mantissas {
                let v = k as f64 + m.log10();
                if v >= lo - 1e-12 && v <= hi + 1e-12 {
                    out.push(Tick {
                        value: v,
                        label: format_power(v),
                    });
                }
            }
        }
        if out.len() >= 2 && out.len() <= max_count {
            return out;
        }
        if out.len() > max_count {
            out.truncate(max_count);
            return out;
        }
    }
    // Deeper zoom than a mantissa step: fall back to the quantity's own linear ticks.
    let (qa, qb) = (10f64.powf(lo), 10f64.powf(hi));
    let step = nice_step((qb - qa) / (max_count as f64 - 1.0).max(1.0));
    let first = (qa / step).ceil() as i64;
    let last = (qb / step).floor() as i64;
    (first..=last)
        .filter(|i| *i > 0)
        .map(|i| {
            let q = i as f64 * step;
            Tick {
                value: q.log10(),
                label: format_value(q, step),
            }
        })
        .collect()
}

/// The range an axis shows for data spanning `lo..=hi`: padded so lines do not touch the frame,
/// never a sliver (one point, or two at the same value, get a readable span), log axes widened to
/// whole decades so at least two decade ticks show, and percentages kept within 0-100.
pub fn range(scale: Scale, lo: f64, hi: f64, percent: bool) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return match scale {
            Scale::Log10 => (-1.0, 1.0),
            _ if percent => (0.0, 100.0),
            _ => (0.0, 1.0),
        };
    }
    let (mut a, mut b) = (lo, hi);
    match scale {
        Scale::Log10 => {
            let pad = ((b - a) * 0.05).max(0.05);
            a -= pad;
            b += pad;
            // At least two decade ticks: widen to whole decades where fewer fit inside.
            if b.floor() - a.ceil() < 1.0 {
                a = a.floor();
                b = b.ceil();
                if b - a < 1.0 {
                    b = a + 1.0;
                }
                if b.floor() - a.ceil() < 1.0 {
                    b += 1.0;
                }
            }
        }
        Scale::Integer => {
            if b - a < 1.0 {
                // One x value: a span of at least 2 around it.
                let pad = (a.abs() * 0.25).max(1.0);
                a -= pad;
                b += pad;
            } else {
                let pad = (b - a) * 0.04;
                a -= pad;
                b += pad;
            }
        }
        Scale::Linear => {
            let span = b - a;
            let min_span = if percent {
                10.0
            } else {
                (a.abs().max(b.abs()) * 0.1).max(1e-3)
            };
            if span < min_span {
                let mid = (a + b) / 2.0;
                a = mid - min_span / 2.0;
                b = mid + min_span / 2.0;
            } else {
                let pad = span * 0.06;
                a -= pad;
                b += pad;
            }
            if percent {
                // Shift rather than clip so the span stays; then clamp to the scale's ends.
                if a < 0.0 {
                    b -= a;
                    a = 0.0;
                }
                if b > 100.0 {
                    a = (a - (b - 100.0)).max(0.0);
                    b = 100.0;
                }
            }
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &[Tick]) -> Vec<&str> {
        t.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(0.012), 0.02);
    }

    #[test]
    fn labels_are_distinct_and_never_negative_zero() {
        for (lo, hi) in [
            (7.9, 8.1),
            (-0.3, 0.3),
            (-1e-9, 1.0),
            (0.0, 100.0),
            (12.0, 12.5),
            (-2.5, -2.4),
        ] {
            for n in [2, 3, 5, 8, 12] {
                let t = ticks(Scale::Linear, lo, hi, n);
                let l = labels(&t);
                let mut d = l.clone();
                d.dedup();
                assert_eq!(l, d, "{lo}..{hi} n={n}: {l:?}");
                assert!(t.len() <= n, "{lo}..{hi}: {l:?}");
                assert!(
                    !l.iter()
                        .any(|s| s.starts_with("-0") && s.parse::<f64>() == Ok(0.0))
                );
            }
        }
        assert_eq!(format_value(-0.0, 0.1), "0.0");
        assert_eq!(format_value(-1e-17, 0.5), "0.0");
        assert_eq!(
            labels(&ticks(Scale::Linear, -0.3, 0.3, 7)),
            ["-0.3", "-0.2", "-0.1", "0.0", "0.1", "0.2", "0.3"]
        );
    }

    #[test]
    fn the_finest_step_that_fits_is_used() {
        let t = ticks(Scale::Integer, -0.56, 41.56, 3);
        assert_eq!(labels(&t), ["0", "20", "40"]);
        let t = ticks(Scale::Linear, 66.2, 91.3, 6);
        assert_eq!(labels(&t), ["70", "75", "80", "85", "90"]);
    }

    #[test]
    fn integer_axes_tick_whole_numbers() {
        let t = ticks(Scale::Integer, 7.0, 9.0, 10);
        assert_eq!(labels(&t), ["7", "8", "9"]);
        let t = ticks(Scale::Integer, 0.0, 300.0, 6);
        assert_eq!(labels(&t), ["0", "100", "200", "300"]);
    }

    #[test]
    fn log_axes_tick_decades() {
        let t = ticks(Scale::Log10, -1.0, 3.0, 8);
        assert_eq!(labels(&t), ["0.1", "1", "10", "100", "1000"]);
        let t = ticks(Scale::Log10, -9.0, 6.0, 6);
        assert!(t.len() <= 6 && t.len() >= 2, "{:?}", labels(&t));
        assert!(t.iter().all(|t| t.value.fract() == 0.0));
        // Zoomed in below one decade: still two or more ticks.
        let t = ticks(Scale::Log10, 0.1, 0.8, 6);
        assert!(t.len() >= 2, "{:?}", labels(&t));
        assert_eq!(format_power(4.0), "1e4");
        assert_eq!(format_power(-5.0 + 2f64.log10()), "2e-5");
        assert_eq!(format_power(-2.0), "0.01");
    }

    #[test]
    fn ranges_never_collapse() {
        // Two sweep points at one depth: not a 7.9-8.1 sliver.
        let (a, b) = range(Scale::Integer, 8.0, 8.0, false);
        assert!(b - a >= 2.0 && a <= 7.0 && b >= 9.0, "{a}..{b}");
        let (a, b) = range(Scale::Linear, 61.0, 61.0, true);
        assert!(b - a >= 10.0 && a >= 0.0 && b <= 100.0);
        let (a, b) = range(Scale::Linear, 99.0, 99.5, true);
        assert!(b == 100.0 && a < 99.0);
        let (a, b) = range(Scale::Log10, 0.1, 0.2, false);
        assert_eq!((a, b), (0.0, 1.0));
        // Data on decades stays within its decades (a little padding, no extra decade).
        let (a, b) = range(Scale::Log10, -1.0, 2.0, false);
        assert!(a > -1.5 && a < -1.0 && b > 2.0 && b < 2.5, "{a}..{b}");
        assert!(ticks(Scale::Log10, a, b, 6).len() >= 2);
    }
}

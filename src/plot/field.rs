//! A scalar field on a grid and the contour levels that colour it: shared by the contour plot
//! and the 3-D surface, so both panels of a pair (and both kinds of picture) use one scale.
use super::ramp;

/// Values on a grid: `z[iy * xs.len() + ix]` is at `(xs[ix], ys[iy])`; NaN marks a value not
/// known yet, +inf one too large to show.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub z: Vec<f64>,
}

impl Field {
    pub fn at(&self, ix: usize, iy: usize) -> f64 {
        self.z[iy * self.xs.len() + ix]
    }

    /// The value at a grid point, at most `cap` (NaN stays NaN: `f64::min` would drop it).
    pub fn capped(&self, ix: usize, iy: usize, cap: f64) -> f64 {
        let v = self.at(ix, iy);
        if v > cap { cap } else { v }
    }

    /// Lowest and highest finite value.
    pub fn range(&self) -> Option<(f64, f64)> {
        let (lo, hi) = self
            .z
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        (lo <= hi).then_some((lo, hi))
    }

    /// (x_min, x_max, y_min, y_max) of the grid.
    pub fn extent(&self) -> (f64, f64, f64, f64) {
        let first = |v: &[f64]| v.first().copied().unwrap_or(0.0);
        let last = |v: &[f64]| v.last().copied().unwrap_or(1.0);
        (
            first(&self.xs),
            last(&self.xs),
            first(&self.ys),
            last(&self.ys),
        )
    }

    /// The value at `(x, y)`, interpolated bilinearly; NaN outside the grid or next to an
    /// unknown value. Values above `cap` count as `cap`, so an infinite corner colours its
    /// neighbourhood as "above every level" instead of poisoning it.
    pub fn sample(&self, x: f64, y: f64, cap: f64) -> f64 {
        let (Some((ix, tx)), Some((iy, ty))) = (locate(&self.xs, x), locate(&self.ys, y)) else {
            return f64::NAN;
        };
        let v = |dx: usize, dy: usize| {
            let ix = (ix + dx).min(self.xs.len() - 1);
            let iy = (iy + dy).min(self.ys.len() - 1);
            self.capped(ix, iy, cap)
        };
        let bottom = v(0, 0) * (1.0 - tx) + v(1, 0) * tx;
        let top = v(0, 1) * (1.0 - tx) + v(1, 1) * tx;
        bottom * (1.0 - ty) + top * ty
    }
}

/// The cell of an ascending axis that holds `v`, and the fraction across it.
fn locate(axis: &[f64], v: f64) -> Option<(usize, f64)> {
    let (first, last) = (*axis.first()?, *axis.last()?);
    if !(v >= first && v <= last) || axis.len() < 2 {
        return None;
    }
    let i = axis.partition_point(|&a| a <= v).clamp(1, axis.len() - 1) - 1;
    let span = axis[i + 1] - axis[i];
    let t = if span > 0.0 {
        (v - axis[i]) / span
    } else {
        0.0
    };
    Some((i, t.clamp(0.0, 1.0)))
}

/// Contour levels, ascending. Band `k` holds the values between level `k - 1` and level `k`
/// (band 0 is below the first level, band `len` at or above the last).
#[derive(Clone, Debug, PartialEq)]
pub struct Levels {
    pub values: Vec<f64>,
    /// Spaced evenly in log10 (a wide range of positive values) or evenly.
    pub log: bool,
}

impl Levels {
    /// About `target` readable levels between `lo` and `hi`: 1-2-5 steps in log10 when the
    /// values are positive and span more than a factor of 20 (a loss surface's floor and walls
    /// then both get contours), otherwise evenly spaced round numbers.
    pub fn nice(lo: f64, hi: f64, target: usize) -> Self {
        let target = target.clamp(2, 40);
        if !(lo.is_finite() && hi.is_finite()) {
            return Self {
                values: vec![0.0, 1.0],
                log: false,
            };
        }
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        if lo > 0.0 && hi / lo > 20.0 {
            const SETS: [&[f64]; 5] = [
                &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0],
                &[1.0, 2.0, 5.0],
                &[1.0, 3.0],
                &[1.0],
                &[1.0],
            ];
            for (k, set) in SETS.iter().enumerate() {
                // The last set takes every second decade.
                let every = if k == SETS.len() - 1 { 2 } else { 1 };
                let values = log_levels(lo, hi, set, every);
                if values.len() <= target + target / 2 || k == SETS.len() - 1 {
                    return Self { values, log: true };
                }
            }
        }
        let raw = (hi - lo) / target as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let values = (first..=last).map(|k| k as f64 * step).collect();
        Self { values, log: false }
    }

    /// Levels that suit every field at once, so a pair is coloured on one scale.
    pub fn shared(fields: &[&Field], target: usize) -> Self {
        let range = fields
            .iter()
            .filter_map(|f| f.range())
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        match range {
            Some((lo, hi)) => Self::nice(lo, hi, target),
            None => Self::nice(0.0, 1.0, target),
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Which band `v` falls into (see [`Levels`]).
    pub fn band(&self, v: f64) -> usize {
        if v.is_nan() {
            return 0;
        }
        self.values.partition_point(|&l| l <= v)
    }

    /// The colour of band `k`: low bands dark, high bands bright.
    pub fn color(&self, band: usize) -> [u8; 3] {
        ramp(band as f32 / self.len().max(1) as f32)
    }

    /// The colour a value is drawn in.
    pub fn color_of(&self, v: f64) -> [u8; 3] {
        self.color(self.band(v))
    }

    /// A short label for level `i` ("0.05", "2", "1.5e3").
    pub fn label(&self, i: usize) -> String {
        self.values.get(i).map(|&v| short(v)).unwrap_or_default()
    }

    /// A value above every level: what infinite points are drawn as.
    pub fn cap(&self) -> f64 {
        match (self.values.first(), self.values.last()) {
            (Some(&a), Some(&b)) if b > a => b + (b - a),
            (_, Some(&b)) => b.abs() * 2.0 + 1.0,
            _ => 1.0,
        }
    }
}

fn log_levels(lo: f64, hi: f64, set: &[f64], every: i32) -> Vec<f64> {
    let mut out = Vec::new();
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for d in d0..=d1 {
        if every > 1 && d.rem_euclid(every) != 0 {
            continue;
        }
        for m in set {
            // Built from the decimal string so 0.1 * 3 prints as 0.3, not 0.30000000000000004.
            let v: f64 = format!("{m}e{d}").parse().unwrap_or(f64::NAN);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
    }
    out
}

/// A number in at most 3 significant digits, without trailing zeros.
pub fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.1e}").replace(".0e", "e");
    }
    let digits = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The field's colours as an RGBA image of `w` x `h` pixels covering its extent, top row
/// first (largest y at the top). Pixels next to unknown values are transparent. The app can
/// upload this as a texture; the PNG export draws the same pixels.
pub fn raster(field: &Field, levels: &Levels, w: usize, h: usize) -> Vec<[u8; 4]> {
    let (x0, x1, y0, y1) = field.extent();
    let cap = levels.cap();
    let mut out = Vec::with_capacity(w * h);
    for py in 0..h {
        let y = y1 - (py as f64 + 0.5) / h as f64 * (y1 - y0);
        for px in 0..w {
            let x = x0 + (px as f64 + 0.5) / w as f64 * (x1 - x0);
            let v = field.sample(x, y, cap);
            out.push(if v.is_nan() {
                [0, 0, 0, 0]
            } else {
                let [r, g, b] = levels.color_of(v);
                [r, g, b, 255]
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_round_and_log_for_wide_positive_ranges() {
        let l = Levels::nice(0.04, 30.0, 10);
        assert!(l.log);
        assert_eq!(
            l.values,
            vec![0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
        );
        let l = Levels::nice(0.3, 2.4, 10);
        assert!(!l.log);
        assert_eq!(l.values, vec![0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25]);
        assert_eq!(l.band(0.1), 0);
        assert_eq!(l.band(0.4), 0);
        assert_eq!(l.band(0.5), 1);
        assert_eq!(l.band(100.0), l.len());
        assert_eq!(short(0.05), "0.05");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(1.25), "1.25");
        assert_eq!(short(150000.0), "1.5e5");
    }

    #[test]
    fn sampling_interpolates_and_respects_gaps() {
        let f = Field {
            xs: vec![0.0, 1.0],
            ys: vec![0.0, 1.0],
            z: vec![0.0, 1.0, 2.0, f64::INFINITY],
        };
        assert_eq!(f.sample(0.5, 0.0, 10.0), 0.5);
        assert_eq!(f.sample(0.0, 0.5, 10.0), 1.0);
        assert_eq!(f.sample(1.0, 1.0, 10.0), 10.0);
        assert!(f.sample(2.0, 0.5, 10.0).is_nan());
        let g = Field {
            z: vec![0.0, f64::NAN, 2.0, 3.0],
            ..f
        };
        assert!(g.sample(0.5, 0.5, 10.0).is_nan());
    }
}

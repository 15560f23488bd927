//! A 3-D view of a field as shaded quads, projected for a given azimuth and elevation, sorted
//! back to front: a painter (plotters for PNG, egui's painter in the app) draws them in order.
use super::field::{Field, Levels};

/// Where the viewer stands, in degrees. Azimuth turns the surface about its vertical axis;
/// elevation 0 looks from the side, 90 from straight above.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View3 {
    pub azimuth: f64,
    pub elevation: f64,
}

impl Default for View3 {
    fn default() -> Self {
        Self {
            azimuth: -50.0,
            // High enough to look into a narrow well past the surface's front rim.
            elevation: 50.0,
        }
    }
}

impl View3 {
    /// The view after a mouse drag of (dx, dy) degrees, elevation kept within [0, 90].
    pub fn dragged(self, dx: f64, dy: f64) -> Self {
        Self {
            azimuth: (self.azimuth + dx).rem_euclid(360.0),
            elevation: (self.elevation + dy).clamp(0.0, 90.0),
        }
    }
}

/// How heights are drawn: values in [lo, hi] fill the box's height (log10 when `log`), values
/// outside are clamped. Shared by the two panels of a pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZScale {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl ZScale {
    /// Heights for these levels: their first to last value, on their scale.
    pub fn from_levels(levels: &Levels, range: Option<(f64, f64)>) -> Self {
        let (mut lo, mut hi) = range.unwrap_or((0.0, 1.0));
        if let (Some(&a), Some(&b)) = (levels.values.first(), levels.values.last()) {
            lo = lo.min(a);
            hi = hi.max(b).min(levels.cap());
        }
        let log = levels.log && lo > 0.0;
        Self { lo, hi, log }
    }

    /// Height in [0, 1].
    pub fn unit(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.max(1e-300).log10() } else { x };
        let (a, b) = (f(self.lo), f(self.hi));
        if b.is_nan() || a.is_nan() || b <= a {
            return 0.5;
        }
        ((f(v.clamp(self.lo, self.hi)) - a) / (b - a)).clamp(0.0, 1.0)
    }
}

/// One grid cell as drawn: corners in screen units ([-1, 1] both ways, y up), fill colour
/// already shaded, and its distance from the viewer (larger = farther).
#[derive(Clone, Debug, PartialEq)]
pub struct Quad {
    pub corners: [[f64; 2]; 4],
    pub rgb: [u8; 3],
    pub depth: f64,
}

/// A projected line with its label at the far end (the box's axes).
#[derive(Clone, Debug, PartialEq)]
pub struct AxisLine {
    pub from: [f64; 2],
    pub to: [f64; 2],
    pub label: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub title: String,
    /// Back to front.
    pub quads: Vec<Quad>,
    pub axes: Vec<AxisLine>,
    /// Height labels on the vertical axis: screen position and text.
    pub ticks: Vec<([f64; 2], String)>,
}

/// The box the surface sits in: x, y in [-1, 1], height in [-H, H].
const H: f64 = 0.7;

struct Projector {
    ca: f64,
    sa: f64,
    ce: f64,
    se: f64,
    scale: f64,
}

impl Projector {
    fn new(view: View3) -> Self {
        let (a, e) = (view.azimuth.to_radians(), view.elevation.to_radians());
        let mut p = Self {
            ca: a.cos(),
            sa: a.sin(),
            ce: e.cos(),
            se: e.sin(),
            scale: 1.0,
        };
        // Fit the box's corners whatever the view, so turning it does not change its size.
        let mut r: f64 = 1e-9;
        for x in [-1.0, 1.0] {
            for y in [-1.0, 1.0] {
                for z in [-H, H] {
                    let (s, _) = p.project(x, y, z);
                    r = r.max(s[0].abs()).max(s[1].abs());
                }
            }
        }
        p.scale = 0.95 / r;
        p
    }

    /// Screen position and depth of a point of the box.
    fn project(&self, x: f64, y: f64, z: f64) -> ([f64; 2], f64) {
        let x1 = x * self.ca - y * self.sa;
        let y1 = x * self.sa + y * self.ca;
        let u = x1;
        let v = z * self.ce + y1 * self.se;
        let depth = y1 * self.ce - z * self.se;
        ([u * self.scale, v * self.scale], depth)
    }
}

/// The field as a lit surface in its box. Cells touching an unknown value are left out.
pub fn scene(title: &str, field: &Field, levels: &Levels, zs: ZScale, view: View3) -> Scene {
    let (nx, ny) = (field.xs.len(), field.ys.len());
    let p = Projector::new(view);
    let (x0, x1, y0, y1) = field.extent();
    let ux = |x: f64| {
        if x1 > x0 {
            2.0 * (x - x0) / (x1 - x0) - 1.0
        } else {
            0.0
        }
    };
    let uy = |y: f64| {
        if y1 > y0 {
            2.0 * (y - y0) / (y1 - y0) - 1.0
        } else {
            0.0
        }
    };
    let cap = levels.cap();
    let mut quads = Vec::new();
    // Light from the upper left of the viewer, fixed to the screen.
    let light = normalise([-0.4, 0.5, 0.77]);
    for iy in 0..ny.saturating_sub(1) {
        for ix in 0..nx.saturating_sub(1) {
            let cs = [(ix, iy), (ix + 1, iy), (ix + 1, iy + 1), (ix, iy + 1)];
            let vals = cs.map(|(i, j)| field.capped(i, j, cap));
            if vals.iter().any(|v| v.is_nan()) {
                continue;
            }
            let pts3 = [0, 1, 2, 3].map(|k| {
                let (i, j) = cs[k];
                [
                    ux(field.xs[i]),
                    uy(field.ys[j]),
                    (2.0 * zs.unit(vals[k]) - 1.0) * H,
                ]
            });
            let mut corners = [[0.0; 2]; 4];
            let mut depth = 0.0;
            for k in 0..4 {
                let (s, d) = p.project(pts3[k][0], pts3[k][1], pts3[k][2]);
                corners[k] = s;
                depth += d / 4.0;
            }
            // Normal in view space from the two diagonals, for a Lambert shade.
            let view = |q: [f64; 3]| {
                let x1 = q[0] * p.ca - q[1] * p.sa;
                let y1 = q[0] * p.sa + q[1] * p.ca;
                [x1, q[2] * p.ce + y1 * p.se, -(y1 * p.ce - q[2] * p.se)]
            };
            let (a, b, c, d) = (view(pts3[0]), view(pts3[1]), view(pts3[2]), view(pts3[3]));
            let n = normalise(cross(sub(c, a), sub(d, b)));
            let shade = 0.55 + 0.45 * dot(n, light).abs();
            let mean = vals.iter().sum::<f64>() / 4.0;
            let rgb = levels
                .color_of(mean)
                .map(|ch| (ch as f64 * shade).round().clamp(0.0, 255.0) as u8);
            quads.push(Quad {
                corners,
                rgb,
                depth,
            });
        }
    }
    // Side walls from the surface's edge down to the floor make it a solid block, so a deep
    // well is hidden behind the front walls instead of showing through the open sheet.
    let wall = |i0: (usize, usize), i1: (usize, usize), quads: &mut Vec<Quad>| {
        let (a, b) = (field.capped(i0.0, i0.1, cap), field.capped(i1.0, i1.1, cap));
        if a.is_nan() || b.is_nan() {
            return;
        }
        let top = |(i, j): (usize, usize), v: f64| {
            [
                ux(field.xs[i]),
                uy(field.ys[j]),
                (2.0 * zs.unit(v) - 1.0) * H,
            ]
        };
        let (ta, tb) = (top(i0, a), top(i1, b));
        let pts3 = [[ta[0], ta[1], -H], [tb[0], tb[1], -H], tb, ta];
        let mut corners = [[0.0; 2]; 4];
        let mut depth = 0.0;
        for k in 0..4 {
            let (s, d) = p.project(pts3[k][0], pts3[k][1], pts3[k][2]);
            corners[k] = s;
            depth += d / 4.0;
        }
        quads.push(Quad {
            corners,
            rgb: [222, 222, 228],
            depth,
        });
    };
    for ix in 0..nx.saturating_sub(1) {
        wall((ix, 0), (ix + 1, 0), &mut quads);
        wall((ix, ny - 1), (ix + 1, ny - 1), &mut quads);
    }
    for iy in 0..ny.saturating_sub(1) {
        wall((0, iy), (0, iy + 1), &mut quads);
        wall((nx - 1, iy), (nx - 1, iy + 1), &mut quads);
    }
    quads.sort_by(|a, b| b.depth.total_cmp(&a.depth));
    // Axes along the floor's two edges nearest the viewer, and a height axis at the corner
    // farthest left on screen, with the levels written along it.
    let corners = [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]];
    let near = (0..4)
        .min_by(|&a, &b| {
            let d = |k: usize| p.project(corners[k][0], corners[k][1], -H).1;
            d(a).total_cmp(&d(b))
        })
        .unwrap_or(0);
    let c = corners[near];
    let left = (0..4)
        .min_by(|&a, &b| {
            let u = |k: usize| p.project(corners[k][0], corners[k][1], -H).0[0];
            u(a).total_cmp(&u(b))
        })
        .unwrap_or(0);
    let l = corners[left];
    let axis = |a: [f64; 3], b: [f64; 3], label: &str| AxisLine {
        from: p.project(a[0], a[1], a[2]).0,
        to: p.project(b[0], b[1], b[2]).0,
        label: label.into(),
    };
    let axes = vec![
        axis([c[0], c[1], -H], [-c[0], c[1], -H], "direction 1"),
        axis([c[0], c[1], -H], [c[0], -c[1], -H], "direction 2"),
        axis([l[0], l[1], -H], [l[0], l[1], H], "loss"),
    ];
    let ticks = levels
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v >= zs.lo && **v <= zs.hi)
        .map(|(i, v)| {
            let z = (2.0 * zs.unit(*v) - 1.0) * H;
            (p.project(l[0], l[1], z).0, levels.label(i))
        })
        .collect();
    Scene {
        title: title.into(),
        quads,
        axes,
        ticks,
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn normalise(a: [f64; 3]) -> [f64; 3] {
    let n = dot(a, a).sqrt().max(1e-300);
    [a[0] / n, a[1] / n, a[2] / n]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bowl() -> Field {
        let xs: Vec<f64> = (0..9).map(|i| -1.0 + i as f64 / 4.0).collect();
        let z = xs
            .iter()
            .flat_map(|&y| xs.iter().map(move |&x| x * x + y * y))
            .collect();
        Field {
            xs: xs.clone(),
            ys: xs,
            z,
        }
    }

    #[test]
    fn the_scene_fits_the_screen_and_is_sorted_back_to_front() {
        let f = bowl();
        let levels = Levels::nice(0.0, 2.0, 8);
        let zs = ZScale::from_levels(&levels, f.range());
        for view in [View3::default(), View3::default().dragged(123.0, 50.0)] {
            let s = scene("bowl", &f, &levels, zs, view);
            assert_eq!(s.quads.len(), 64 + 4 * 8, "cells and side walls");
            assert!(s.quads.windows(2).all(|w| w[0].depth >= w[1].depth));
            for q in &s.quads {
                assert!(q.corners.iter().flatten().all(|v| v.abs() <= 1.0));
            }
        }
        // From straight above, the bowl's centre is the screen's centre and heights vanish.
        let top = View3 {
            azimuth: 0.0,
            elevation: 90.0,
        };
        let p = Projector::new(top);
        let (c, _) = p.project(0.0, 0.0, H);
        assert!(c[0].abs() < 1e-9 && c[1].abs() < 1e-9);
        assert_eq!(View3::default().dragged(0.0, 100.0).elevation, 90.0);
    }
}

//! Contour plots: lines at given levels (marching squares), where their labels go, and the
//! description both the PNG export and the app draw from.
use super::field::{Field, Levels};
use std::collections::HashMap;

/// One connected contour line at level `level` (an index into [`Levels::values`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ContourLine {
    pub level: usize,
    pub points: Vec<[f64; 2]>,
}

impl ContourLine {
    pub fn length(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]))
            .sum()
    }

    /// The point halfway along the line.
    pub fn midpoint(&self) -> [f64; 2] {
        let half = self.length() / 2.0;
        let mut run = 0.0;
        for w in self.points.windows(2) {
            let seg = (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
            if run + seg >= half && seg > 0.0 {
                let t = (half - run) / seg;
                return [
                    w[0][0] + t * (w[1][0] - w[0][0]),
                    w[0][1] + t * (w[1][1] - w[0][1]),
                ];
            }
            run += seg;
        }
        self.points.first().copied().unwrap_or([0.0, 0.0])
    }
}

/// A level's value written on its line.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelLabel {
    pub level: usize,
    pub at: [f64; 2],
    pub text: String,
}

/// A grid edge a contour crosses: horizontal edges (ix, iy)-(ix+1, iy) are even, vertical
/// edges (ix, iy)-(ix, iy+1) odd. Two cells that share an edge share its crossing point.
type EdgeId = usize;

/// Contour lines of `field` at every level, joined into polylines. Cells touching an unknown
/// value are skipped; values above `levels.cap()` count as the cap.
pub fn contour_lines(field: &Field, levels: &Levels) -> Vec<ContourLine> {
    let (nx, ny) = (field.xs.len(), field.ys.len());
    if nx < 2 || ny < 2 || field.z.len() != nx * ny {
        return Vec::new();
    }
    let cap = levels.cap();
    let v = |ix: usize, iy: usize| field.capped(ix, iy, cap);
    let h_edge = |ix: usize, iy: usize| 2 * (iy * nx + ix);
    let v_edge = |ix: usize, iy: usize| 2 * (iy * nx + ix) + 1;
    let mut out = Vec::new();
    for (li, &level) in levels.values.iter().enumerate() {
        let mut points: HashMap<EdgeId, [f64; 2]> = HashMap::new();
        let mut segments: Vec<(EdgeId, EdgeId)> = Vec::new();
        for iy in 0..ny - 1 {
            for ix in 0..nx - 1 {
                let c = [v(ix, iy), v(ix + 1, iy), v(ix + 1, iy + 1), v(ix, iy + 1)];
                if c.iter().any(|x| x.is_nan()) {
                    continue;
                }
                let case = c
                    .iter()
                    .enumerate()
                    .fold(0, |k, (i, &x)| k | (((x > level) as usize) << i));
                if case == 0 || case == 15 {
                    continue;
                }
                // Edges: 0 bottom (c0-c1), 1 right (c1-c2), 2 top (c3-c2), 3 left (c0-c3).
                let ids = [
                    h_edge(ix, iy),
                    v_edge(ix + 1, iy),
                    h_edge(ix, iy + 1),
                    v_edge(ix, iy),
                ];
                let (x0, x1) = (field.xs[ix], field.xs[ix + 1]);
                let (y0, y1) = (field.ys[iy], field.ys[iy + 1]);
                let cross = |a: f64, b: f64| {
                    let t = (level - a) / (b - a);
                    if t.is_finite() {
                        t.clamp(0.0, 1.0)
                    } else {
                        0.5
                    }
                };
                let at = |e: usize| match e {
                    0 => [x0 + cross(c[0], c[1]) * (x1 - x0), y0],
                    1 => [x1, y0 + cross(c[1], c[2]) * (y1 - y0)],
                    2 => [x0 + cross(c[3], c[2]) * (x1 - x0), y1],
                    _ => [x0, y0 + cross(c[0], c[3]) * (y1 - y0)],
                };
                let centre_high = c.iter().sum::<f64>() / 4.0 > level;
                let pairs: &[(usize, usize)] = match case {
                    1 | 14 => &[(3, 0)],
                    2 | 13 => &[(0, 1)],
                    3 | 12 => &[(3, 1)],
                    4 | 11 => &[(1, 2)],
                    6 | 9 => &[(0, 2)],
                    7 | 8 => &[(2, 3)],
                    // Saddles: the cell's mean decides which corners connect.
                    5 if centre_high => &[(0, 1), (2, 3)],
                    5 => &[(3, 0), (1, 2)],
                    10 if centre_high => &[(3, 0), (1, 2)],
                    _ => &[(0, 1), (2, 3)],
                };
                for &(a, b) in pairs {
                    points.entry(ids[a]).or_insert_with(|| at(a));
                    points.entry(ids[b]).or_insert_with(|| at(b));
                    segments.push((ids[a], ids[b]));
                }
            }
        }
        for chain in join(&segments) {
            out.push(ContourLine {
                level: li,
                points: chain.iter().map(|e| points[e]).collect(),
            });
        }
    }
    out
}

/// Joins segments that share an end into chains (each edge point joins at most two segments).
fn join(segments: &[(EdgeId, EdgeId)]) -> Vec<Vec<EdgeId>> {
    let mut by_end: HashMap<EdgeId, Vec<usize>> = HashMap::new();
    for (i, &(a, b)) in segments.iter().enumerate() {
        by_end.entry(a).or_default().push(i);
        by_end.entry(b).or_default().push(i);
    }
    let mut used = vec![false; segments.len()];
    let mut chains = Vec::new();
    // Open chains first start from an end that only one segment touches, then closed loops.
    let mut starts: Vec<usize> = (0..segments.len()).collect();
    starts.sort_by_key(|&i| {
        let (a, b) = segments[i];
        (by_end[&a].len().min(by_end[&b].len()) > 1) as u8
    });
    for s in starts {
        if used[s] {
            continue;
        }
        used[s] = true;
        let (a, b) = segments[s];
        // Walk from the free end (if any) so the chain comes out whole.
        let (first, mut tip) = if by_end[&b].len() == 1 {
            (b, a)
        } else {
            (a, b)
        };
        let mut chain = vec![first, tip];
        while let Some(&next) = by_end[&tip].iter().find(|&&i| !used[i]) {
            used[next] = true;
            let (p, q) = segments[next];
            tip = if p == tip { q } else { p };
            chain.push(tip);
        }
        chains.push(chain);
    }
    chains
}

/// One label on each line at least `min_len` long, at its midpoint, skipping spots closer
/// than `min_gap` to a label already placed (lengths in data units).
pub fn place_labels(
    lines: &[ContourLine],
    levels: &Levels,
    min_len: f64,
    min_gap: f64,
) -> Vec<LevelLabel> {
    let mut order: Vec<&ContourLine> = lines.iter().filter(|l| l.length() >= min_len).collect();
    order.sort_by(|a, b| b.length().total_cmp(&a.length()));
    let mut out: Vec<LevelLabel> = Vec::new();
    for l in order {
        let at = l.midpoint();
        if out
            .iter()
            .any(|o| (o.at[0] - at[0]).hypot(o.at[1] - at[1]) < min_gap)
        {
            continue;
        }
        out.push(LevelLabel {
            level: l.level,
            at,
            text: levels.label(l.level),
        });
    }
    out
}

/// Everything one contour panel shows, free of any toolkit.
#[derive(Clone, Debug, PartialEq)]
pub struct ContourPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub field: Field,
    pub levels: Levels,
    pub lines: Vec<ContourLine>,
    pub labels: Vec<LevelLabel>,
    /// Points to mark (e.g. the trained weights at the origin), with their names.
    pub marks: Vec<([f64; 2], String)>,
}

impl ContourPlot {
    /// Lines and labels of `field` at `levels` (labels on lines longer than a fifth of the
    /// plot's width, at least a sixth of its width apart).
    pub fn new(title: &str, field: Field, levels: Levels) -> Self {
        let lines = contour_lines(&field, &levels);
        let (x0, x1, _, _) = field.extent();
        let w = (x1 - x0).abs().max(1e-12);
        let labels = place_labels(&lines, &levels, w / 5.0, w / 6.0);
        Self {
            title: title.into(),
            x_label: "direction 1".into(),
            y_label: "direction 2".into(),
            field,
            levels,
            lines,
            labels,
            marks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bowl(n: usize) -> Field {
        let xs: Vec<f64> = (0..n)
            .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
            .collect();
        let mut z = Vec::new();
        for &y in &xs {
            for &x in &xs {
                z.push(x * x + y * y);
            }
        }
        Field {
            xs: xs.clone(),
            ys: xs,
            z,
        }
    }

    #[test]
    fn a_bowl_gives_closed_circles_of_the_right_radius() {
        let f = bowl(41);
        let levels = Levels {
            values: vec![0.25, 0.64],
            log: false,
        };
        let lines = contour_lines(&f, &levels);
        assert_eq!(lines.len(), 2, "one closed line per level");
        for l in &lines {
            let r = levels.values[l.level].sqrt();
            assert_eq!(l.points.first(), l.points.last(), "closed");
            for p in &l.points {
                assert!((p[0].hypot(p[1]) - r).abs() < 0.01, "{p:?} off radius {r}");
            }
            assert!((l.length() - std::f64::consts::TAU * r).abs() < 0.02 * r);
        }
        let labels = place_labels(&lines, &levels, 0.1, 0.1);
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].text, "0.64");
    }

    #[test]
    fn lines_stop_at_unknown_cells_and_the_edge() {
        let mut f = bowl(21);
        // Unknown: the right half of the grid.
        for iy in 0..21 {
            for ix in 11..21 {
                f.z[iy * 21 + ix] = f64::NAN;
            }
        }
        let levels = Levels {
            values: vec![0.25],
            log: false,
        };
        let lines = contour_lines(&f, &levels);
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_ne!(l.points.first(), l.points.last(), "an open arc");
        assert!(l.points.iter().all(|p| p[0] <= 0.0 + 1e-9));
        // A level above the cap of a plane: no line at all.
        let plane = Field {
            z: vec![1.0; 21 * 21],
            ..f
        };
        assert!(contour_lines(&plane, &levels).is_empty());
    }
}

//! Numbers that say how bowl-like a surface is, for a lesson's check.
//!
//! Li et al. map non-convexity with the ratio |lambda_min / lambda_max| of the full Hessian's
//! extreme eigenvalues. Here the same ratio is taken of the 2x2 Hessian of the plotted surface
//! (central differences on the grid): it sees only the two plotted directions, which is also
//! what the learner sees, and costs nothing beyond the grid itself.

/// Below this curvature ratio a point counts as locally convex: the most negative curvature is
/// under a tenth of the largest positive one, well within what the grid's spacing blurs.
pub const CONVEX_TOLERANCE: f64 = 0.1;

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// Share of interior grid points where the surface is not locally convex.
    pub nonconvex_share: f64,
    /// Mean over interior points of the curvature ratio: 0 where both curvatures are positive,
    /// -lambda_min / lambda_max where one is negative, 1 where the surface bends down both ways.
    pub curvature_ratio: f64,
    /// Interior points lower than all eight neighbours: a bowl has one.
    pub local_minima: usize,
    /// RMS distance from the best-fitting quadratic, over the surface's standard deviation:
    /// 0 for a perfect bowl (or any quadratic), near 1 for a surface no quadratic describes.
    pub roughness: f64,
    /// Interior points the first three figures are taken over (those whose 3x3 neighbourhood is
    /// computed and finite).
    pub points: usize,
}

/// Eigenvalues (smaller first) of the symmetric matrix [[a, b], [b, c]].
fn eig2(a: f64, b: f64, c: f64) -> (f64, f64) {
    let m = 0.5 * (a + c);
    let r = (0.25 * (a - c) * (a - c) + b * b).sqrt();
    (m - r, m + r)
}

/// The curvature ratio of one point from its Hessian's eigenvalues (see [`Figures`]).
pub fn curvature_ratio(l_min: f64, l_max: f64, flat: f64) -> f64 {
    if l_max.abs().max(l_min.abs()) <= flat || l_min >= 0.0 {
        0.0
    } else if l_max <= 0.0 {
        1.0
    } else {
        (-l_min / l_max).min(1.0)
    }
}

/// Figures of a square grid `z[iy * n + ix]` over equally spaced `coords` (NaN or infinite
/// values are left out). `None` when no interior point has a complete neighbourhood.
pub fn figures(coords: &[f64], z: &[f64]) -> Option<Figures> {
    let n = coords.len();
    if n < 3 || z.len() != n * n {
        return None;
    }
    let h = (coords[n - 1] - coords[0]) / (n - 1) as f64;
    if h.is_nan() || h <= 0.0 {
        return None;
    }
    let at = |ix: usize, iy: usize| z[iy * n + ix];
    let finite: Vec<f64> = z.iter().copied().filter(|v| v.is_finite()).collect();
    let top = finite.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    // Curvatures below this are rounding noise of f32 losses, not shape.
    let flat = 1e-6 * top.max(1e-30) / (h * h);
    let (mut nonconvex, mut ratio_sum, mut minima, mut points) = (0usize, 0.0f64, 0usize, 0usize);
    for iy in 1..n - 1 {
        for ix in 1..n - 1 {
            let mut nb = [0.0f64; 9];
            for (k, v) in nb.iter_mut().enumerate() {
                *v = at(ix + k % 3 - 1, iy + k / 3 - 1);
            }
            if !nb.iter().all(|v| v.is_finite()) {
                continue;
            }
            points += 1;
            let c = nb[4];
            let fxx = (nb[5] - 2.0 * c + nb[3]) / (h * h);
            let fyy = (nb[7] - 2.0 * c + nb[1]) / (h * h);
            let fxy = (nb[8] - nb[6] - nb[2] + nb[0]) / (4.0 * h * h);
            let (l1, l2) = eig2(fxx, fxy, fyy);
            let r = curvature_ratio(l1, l2, flat);
            ratio_sum += r;
            if r > CONVEX_TOLERANCE {
                nonconvex += 1;
            }
            if nb.iter().enumerate().all(|(k, v)| k == 4 || *v > c) {
                minima += 1;
            }
        }
    }
    if points == 0 {
        return None;
    }
    Some(Figures {
        nonconvex_share: nonconvex as f64 / points as f64,
        curvature_ratio: ratio_sum / points as f64,
        local_minima: minima,
        roughness: quadratic_misfit(coords, z).unwrap_or(f64::NAN),
        points,
    })
}

/// RMS residual of the least-squares quadratic in (x, y), over the standard deviation of `z`.
fn quadratic_misfit(coords: &[f64], z: &[f64]) -> Option<f64> {
    let n = coords.len();
    let (lo, hi) = (coords[0], coords[n - 1]);
    // Coordinates mapped to [-1, 1] keep the normal equations well conditioned.
    let u = |c: f64| 2.0 * (c - lo) / (hi - lo) - 1.0;
    let mut ata = [[0.0f64; 6]; 6];
    let mut atb = [0.0f64; 6];
    let mut vals = Vec::new();
    for iy in 0..n {
        for ix in 0..n {
            let v = z[iy * n + ix];
            if !v.is_finite() {
                continue;
            }
            let (x, y) = (u(coords[ix]), u(coords[iy]));
            let f = [1.0, x, y, x * x, x * y, y * y];
            for r in 0..6 {
                for c in 0..6 {
                    ata[r][c] += f[r] * f[c];
                }
                atb[r] += f[r] * v;
            }
            vals.push((f, v));
        }
    }
    if vals.len() < 12 {
        return None;
    }
    let coef = solve6(ata, atb)?;
    let mean = vals.iter().map(|(_, v)| v).sum::<f64>() / vals.len() as f64;
    let (mut res, mut var) = (0.0f64, 0.0f64);
    for (f, v) in &vals {
        let fit: f64 = f.iter().zip(&coef).map(|(a, b)| a * b).sum();
        res += (v - fit) * (v - fit);
        var += (v - mean) * (v - mean);
    }
    if var <= 1e-300 {
        return Some(0.0);
    }
    Some((res / var).sqrt())
}

/// Gaussian elimination with partial pivoting; `None` if the system is singular.
fn solve6(mut a: [[f64; 6]; 6], mut b: [f64; 6]) -> Option<[f64; 6]> {
    for col in 0..6 {
        let piv = (col..6).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for r in col + 1..6 {
            let f = a[r][col] / pivot_row[col];
            for (x, p) in a[r].iter_mut().zip(&pivot_row).skip(col) {
                *x -= f * p;
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = [0.0f64; 6];
    for r in (0..6).rev() {
        let s: f64 = (r + 1..6).map(|c| a[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

/// The basin around the trained point, in the terms the contour picture shows: how low the
/// trained point sits against chance, how far the loss climbs from it to the grid's edge in the
/// flattest of eight directions, and how much of the grid lies below chance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Basin {
    /// Loss at the trained point (the grid's middle).
    pub trained_loss: f64,
    /// ln(classes): the loss of a net that guesses uniformly.
    pub chance: f64,
    /// The smallest of the eight rises (edge or corner point minus the trained loss) along the
    /// axes and diagonals: a bowl rises in every direction, a plateau not in some.
    pub min_rise: f64,
    /// Share of the grid's points whose loss is below chance.
    pub below_chance: f64,
}

impl Basin {
    /// From a square grid of losses (row by row, `n` per side, the trained point in the
    /// middle); `None` for an incomplete grid or one without a middle point.
    pub fn of(grid: &[f32], n: usize, complete: bool, classes: usize) -> Option<Basin> {
        if !complete || n < 3 || n.is_multiple_of(2) || classes < 2 || grid.len() != n * n {
            return None;
        }
        let loss = |ix: usize, iy: usize| -> f64 {
            let v = grid[iy * n + ix] as f64;
            if v.is_nan() { f64::INFINITY } else { v }
        };
        let (c, e) = (n / 2, n - 1);
        let trained = loss(c, c);
        let ends = [
            (0, c),
            (e, c),
            (c, 0),
            (c, e),
            (0, 0),
            (e, e),
            (0, e),
            (e, 0),
        ];
        let min_rise = ends
            .iter()
            .map(|&(x, y)| loss(x, y) - trained)
            .fold(f64::INFINITY, f64::min);
        let chance = (classes as f64).ln();
        let below =
            grid.iter().filter(|v| (**v as f64) < chance).count() as f64 / grid.len() as f64;
        trained.is_finite().then_some(Basin {
            trained_loss: trained,
            chance,
            min_rise,
            below_chance: below,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, f: impl Fn(f64, f64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let coords: Vec<f64> = (0..n)
            .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
            .collect();
        let mut z = Vec::new();
        for &y in &coords {
            for &x in &coords {
                z.push(f(x, y));
            }
        }
        (coords, z)
    }

    #[test]
    fn a_bowl_is_convex_smooth_and_has_one_minimum() {
        let (c, z) = grid(25, |x, y| 0.3 + 2.0 * x * x + 0.5 * y * y + 0.4 * x * y);
        let f = figures(&c, &z).unwrap();
        assert_eq!(f.nonconvex_share, 0.0);
        assert_eq!(f.curvature_ratio, 0.0);
        assert_eq!(f.local_minima, 1);
        assert!(f.roughness < 1e-9, "{}", f.roughness);
        assert_eq!(f.points, 23 * 23);
    }

    #[test]
    fn a_sine_landscape_is_not() {
        let (c, z) = grid(25, |x, y| (4.0 * x).sin() * (4.0 * y).cos() + 2.0);
        let f = figures(&c, &z).unwrap();
        assert!(f.nonconvex_share > 0.5, "{f:?}");
        assert!(f.curvature_ratio > 0.4, "{f:?}");
        assert!(f.local_minima >= 2, "{f:?}");
        assert!(f.roughness > 0.8, "{f:?}");
    }

    #[test]
    fn a_saddle_is_nonconvex_everywhere_a_plane_nowhere() {
        let (c, z) = grid(9, |x, y| x * x - y * y);
        let f = figures(&c, &z).unwrap();
        assert_eq!(f.nonconvex_share, 1.0);
        assert!((f.curvature_ratio - 1.0).abs() < 1e-9);
        assert_eq!(f.local_minima, 0);
        let (c, z) = grid(9, |x, y| 1.0 + 0.5 * x - 0.25 * y);
        let f = figures(&c, &z).unwrap();
        assert_eq!(f.nonconvex_share, 0.0);
        assert_eq!(f.local_minima, 0);
    }

    #[test]
    fn missing_points_are_left_out() {
        let (c, mut z) = grid(7, |x, y| x * x + y * y);
        z[3 * 7 + 3] = f64::NAN;
        z[0] = f64::INFINITY;
        let f = figures(&c, &z).unwrap();
        // The centre's NaN spoils the 9 interior points around it, the corner's inf one more.
        assert_eq!(f.points, 25 - 9 - 1);
        assert_eq!(f.nonconvex_share, 0.0);
        assert!(figures(&c, &[f64::NAN; 49]).is_none());
    }
}

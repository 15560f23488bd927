//! Chart descriptions, and their PNG and CSV forms.
//!
//! A [`Chart`] is what a plot shows, free of any toolkit: the app draws it with egui_plot and the
//! exporters draw the same description with plotters, so colours, names and axes always agree.
//! Nothing here knows egui.
pub mod charts;
/// Contour lines, labels and the contour panel description (loss landscapes).
pub mod contour;
mod csv;
/// Scalar fields on a grid and their contour levels.
pub mod field;
mod field_png;
/// Loss-landscape pictures and tables from `landscape::Landscape`.
pub mod landscape;
mod png;
/// 3-D surfaces projected for a view.
pub mod surface;

pub use csv::{grid_to_csv, to_csv};
pub use field_png::{contours_to_png, surfaces_to_png};
pub use png::{DEFAULT_SIZE, grid_to_png, to_png};

/// One named line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub rgb: [u8; 3],
    pub points: Vec<[f64; 2]>,
    /// Drawn dashed (for example the first-batch curves beside the latest ones).
    pub dashed: bool,
}

/// A layer x step grid of values (the gradient-norm heatmap).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub name: String,
    /// `rows[r][c]`: row = sample (step), column = layer.
    pub rows: Vec<Vec<f64>>,
    pub row_keys: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Values are already log10; axis labels say so.
    pub log10_y: bool,
    pub series: Vec<Series>,
}

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log10_y: false,
            series: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    /// Bounds over every finite point: (x_min, x_max, y_min, y_max), padded so a flat line shows.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let mut b = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in self.series.iter().flat_map(|s| &s.points) {
            if p[0].is_finite() && p[1].is_finite() {
                b.0 = b.0.min(p[0]);
                b.1 = b.1.max(p[0]);
                b.2 = b.2.min(p[1]);
                b.3 = b.3.max(p[1]);
            }
        }
        if b.0 > b.1 {
            return (0.0, 1.0, 0.0, 1.0);
        }
        if b.1 - b.0 < 1e-9 {
            b.0 -= 0.5;
            b.1 += 0.5;
        }
        let pad = ((b.3 - b.2) * 0.05).max(1e-3);
        (b.0, b.1, b.2 - pad, b.3 + pad)
    }

    /// A file-name friendly form of the title.
    pub fn slug(&self) -> String {
        let s: String = self
            .title
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            "chart".into()
        } else {
            parts.join("-")
        }
    }
}

/// The colour of the `i`-th net: plain nets warm, residual nets cool, so pairs read at a glance.
pub fn net_color(label: &str, i: usize) -> [u8; 3] {
    const WARM: [[u8; 3]; 4] = [
        [214, 39, 40],
        [255, 127, 14],
        [140, 86, 75],
        [227, 119, 194],
    ];
    const COOL: [[u8; 3]; 4] = [
        [31, 119, 180],
        [44, 160, 44],
        [23, 190, 207],
        [148, 103, 189],
    ];
    if label.starts_with("plain") {
        WARM[i % WARM.len()]
    } else {
        COOL[i % COOL.len()]
    }
}

/// Colour scale of heatmaps: dark purple (small) through blue and green to yellow (large),
/// readable on light and dark backgrounds alike.
pub fn ramp(t: f32) -> [u8; 3] {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let stops: [(f32, [u8; 3]); 4] = [
        (0.0, [48, 18, 59]),
        (0.35, [40, 110, 190]),
        (0.65, [60, 190, 110]),
        (1.0, [250, 230, 50]),
    ];
    for w in stops.windows(2) {
        let ((a, ca), (b, cb)) = (w[0], w[1]);
        if t <= b {
            let f = (t - a) / (b - a);
            let mix = |i: usize| (ca[i] as f32 + (cb[i] as f32 - ca[i] as f32) * f).round() as u8;
            return [mix(0), mix(1), mix(2)];
        }
    }
    [250, 230, 50]
}

impl Grid {
    /// Lowest and highest finite value.
    pub fn range(&self) -> Option<(f64, f64)> {
        let vals = self
            .rows
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite());
        let (lo, hi) = vals.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        (lo <= hi).then_some((lo, hi))
    }

    pub fn slug(&self) -> String {
        Chart::new(&format!("gradient heatmap {}", self.name), "", "").slug()
    }
}

//! Chart descriptions, and their PNG and CSV forms.
//!
//! A [`Chart`] is what a plot shows, free of any toolkit: the app draws it with egui_plot and the
//! exporters draw the same description with plotters, so colours, names and axes always agree.
//! Nothing here knows egui.
pub mod axis;
pub mod charts;
/// Contour lines, labels and the contour panel description (loss landscapes).
pub mod contour;
mod csv;
/// Scalar fields on a grid and their contour levels.
pub mod field;
mod field_png;
pub mod inspect;
/// Loss-landscape pictures and tables from `landscape::Landscape`.
pub mod landscape;
mod png;
/// 3-D surfaces projected for a view.
pub mod surface;

pub use csv::{grid_to_csv, to_csv};
pub use field_png::{contours_to_png, surfaces_to_png};
pub use png::{DEFAULT_SIZE, colorbar_ticks, grid_col_ticks, grid_row_ticks, grid_to_png, to_png};

/// How a series is drawn. Live runs are the default; the other two serve lessons that show
/// evidence honestly.
///
/// - [`Style::Reference`]: a complete run of the same setup (for example a stored reference
///   curve), drawn faint and thin *behind* the live series, without hover values; the legend shows
///   one shared "reference" entry instead of one per curve. Build with [`Series::reference`].
/// - [`Style::Partial`]: a run that stopped before its budget (or a sweep point from such a run).
///   Its markers are hollow (every point when there are few, else the last one), its `note`
///   (for example "stopped at 38/260") is written beside its last point, and its legend entry
///   reads "name (note)" with a hollow marker. Build with [`Series::partial`].
///
/// Both the app (`ui::plots`) and the PNG export (`plot::png`) follow these rules, and
/// [`Chart::legend`] lists what either legend shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Style {
    #[default]
    Live,
    Reference,
    Partial {
        note: String,
    },
}

/// One named line of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub rgb: [u8; 3],
    pub points: Vec<[f64; 2]>,
    /// Drawn dashed (for example the first-batch curves beside the latest ones).
    pub dashed: bool,
    pub style: Style,
}

/// Series with fewer points than this get a marker on every point (per-epoch curves, sweeps),
/// so a single point still shows.
pub const MARKER_LIMIT: usize = 30;

/// The marker a series or legend entry shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    None,
    Filled,
    Hollow,
}

impl Series {
    /// A live, solid series.
    pub fn new(name: impl Into<String>, rgb: [u8; 3], points: Vec<[f64; 2]>) -> Self {
        Self {
            name: name.into(),
            rgb,
            points,
            dashed: false,
            style: Style::Live,
        }
    }

    /// The same series drawn dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// The same series as a faint reference curve (see [`Style::Reference`]).
    pub fn reference(mut self) -> Self {
        self.style = Style::Reference;
        self
    }

    /// The same series marked as an incomplete run (see [`Style::Partial`]), e.g.
    /// `.partial(format!("stopped at {done}/{total}"))`.
    pub fn partial(mut self, note: impl Into<String>) -> Self {
        self.style = Style::Partial { note: note.into() };
        self
    }

    pub fn is_reference(&self) -> bool {
        self.style == Style::Reference
    }

    /// The note of a partial series.
    pub fn note(&self) -> Option<&str> {
        match &self.style {
            Style::Partial { note } => Some(note),
            _ => None,
        }
    }

    /// Which marker each point `i` gets.
    pub fn marker_at(&self, i: usize) -> Marker {
        let few = self.points.len() < MARKER_LIMIT;
        match self.style {
            Style::Reference => Marker::None,
            Style::Live if few => Marker::Filled,
            Style::Live => Marker::None,
            Style::Partial { .. } if few || i + 1 == self.points.len() => Marker::Hollow,
            Style::Partial { .. } => Marker::None,
        }
    }

    /// The marker its legend entry shows.
    pub fn legend_marker(&self) -> Marker {
        match self.style {
            Style::Reference => Marker::None,
            Style::Partial { .. } => Marker::Hollow,
            Style::Live if self.points.len() < MARKER_LIMIT && !self.points.is_empty() => {
                Marker::Filled
            }
            Style::Live => Marker::None,
        }
    }
}

/// A colour made faint for reference curves: `alpha` of the colour over the background.
pub fn faint(rgb: [u8; 3], background: [u8; 3], alpha: f32) -> [u8; 3] {
    let mix = |i: usize| {
        (background[i] as f32 + (rgb[i] as f32 - background[i] as f32) * alpha).round() as u8
    };
    [mix(0), mix(1), mix(2)]
}

/// Opacity of reference curves.
pub const REFERENCE_ALPHA: f32 = 0.35;

/// One entry of a chart's legend, as both the app and the PNG draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub rgb: [u8; 3],
    pub dashed: bool,
    pub marker: Marker,
    /// Drawn faint (the shared entry of reference curves).
    pub faint: bool,
}

/// A layer x step grid of values (the gradient-norm heatmap).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub name: String,
    /// `rows[r][c]`: row = sample (step), column = layer.
    pub rows: Vec<Vec<f64>>,
    pub row_keys: Vec<f64>,
    /// The colour scale's range when grids are shown side by side and must share one (see
    /// [`Grid::share_scale`]); `None`: the grid's own range.
    pub scale: Option<(f64, f64)>,
}

/// The ranges and ticks a chart is drawn with.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    pub x: (f64, f64),
    pub y: (f64, f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Values are already log10; the axis ticks at decades and labels the quantity itself.
    pub log10_y: bool,
    /// The x axis counts whole things (steps, epochs, layers, depths): integer ticks only.
    pub integer_x: bool,
    pub series: Vec<Series>,
}

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            log10_y: false,
            integer_x: true,
            series: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    /// Whether the y axis is a percentage (kept within 0-100).
    pub fn percent_y(&self) -> bool {
        self.y_label.contains('%')
    }

    pub fn x_scale(&self) -> axis::Scale {
        if self.integer_x {
            axis::Scale::Integer
        } else {
            axis::Scale::Linear
        }
    }

    pub fn y_scale(&self) -> axis::Scale {
        if self.log10_y {
            axis::Scale::Log10
        } else {
            axis::Scale::Linear
        }
    }

    /// Extent of the finite points, (x_min, x_max, y_min, y_max), or `None` without data: x over
    /// every series, y over the live ones when there are any.
    pub fn extent(&self) -> Option<(f64, f64, f64, f64)> {
        let bounds = |reference: Option<bool>| {
            let mut b = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            let series = self
                .series
                .iter()
                .filter(|s| reference.is_none_or(|r| s.is_reference() == r));
            for p in series.flat_map(|s| &s.points) {
                if p[0].is_finite() && p[1].is_finite() {
                    b.0 = b.0.min(p[0]);
                    b.1 = b.1.max(p[0]);
                    b.2 = b.2.min(p[1]);
                    b.3 = b.3.max(p[1]);
                }
            }
            (b.0 <= b.1).then_some(b)
        };
        // The learner's own curves set the height: a reference run that went far higher (an
        // activation that blew up in one seed) would squash them flat. References still set
        // the width, so a live run shows how far it has to go.
        let all = bounds(None)?;
        Some(match bounds(Some(false)) {
            Some(live) => (all.0, all.1, live.2, live.3),
            None => all,
        })
    }

    /// The ranges both the app and the export show: the data padded (see [`axis::range`]); an
    /// empty chart shows the range its data will use (0-100 for percentages).
    /// Where each partial series' note goes, by series index: beside its last point, moved
    /// apart vertically (by a tenth of the y range, at least) from the other notes near it in x,
    /// so "stopped at 261/300" and "stopped at 263/300" never print over each other. Both the app
    /// and the PNG place notes here.
    pub fn note_positions(&self, view: &View) -> Vec<(usize, [f64; 2])> {
        let (dx, dy) = (
            (view.x.1 - view.x.0).abs() * 0.25,
            (view.y.1 - view.y.0).abs() * 0.1,
        );
        let mut notes: Vec<(usize, [f64; 2])> = self
            .series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, *s.points.last()?)).filter(|_| s.note().is_some()))
            .collect();
        // Highest first; each later note goes below any earlier one it would touch.
        notes.sort_by(|a, b| b.1[1].total_cmp(&a.1[1]));
        let mut placed: Vec<(usize, [f64; 2])> = Vec::new();
        for (i, mut at) in notes {
            while placed
                .iter()
                .any(|(_, p)| (p[0] - at[0]).abs() < dx && (p[1] - at[1]).abs() < dy)
            {
                at[1] -= dy;
            }
            placed.push((i, at));
        }
        placed.sort_by_key(|p| p.0);
        placed
    }

    /// The note position of series `s` (one of this chart's), from [`Chart::note_positions`].
    pub fn note_of(&self, notes: &[(usize, [f64; 2])], s: &Series) -> Option<[f64; 2]> {
        notes
            .iter()
            .find(|(i, _)| std::ptr::eq(&self.series[*i], s))
            .map(|n| n.1)
    }

    pub fn view(&self) -> View {
        let percent = self.percent_y();
        match self.extent() {
            Some((x0, x1, y0, y1)) => View {
                x: axis::range(self.x_scale(), x0, x1, false),
                y: axis::range(self.y_scale(), y0, y1, percent),
            },
            None => View {
                x: (0.0, 1.0),
                y: match self.y_scale() {
                    axis::Scale::Log10 => (-1.0, 1.0),
                    _ if percent => (0.0, 100.0),
                    _ => (0.0, 1.0),
                },
            },
        }
    }

    /// Bounds (x_min, x_max, y_min, y_max) of [`Chart::view`].
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let v = self.view();
        (v.x.0, v.x.1, v.y.0, v.y.1)
    }

    /// What the legend lists, in drawing order: every live and partial series with data (line
    /// style and marker as drawn), then one shared entry for reference curves if there are any.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let mut out: Vec<LegendEntry> = self
            .series
            .iter()
            .filter(|s| !s.is_reference() && !s.points.is_empty())
            .map(|s| LegendEntry {
                label: match s.note() {
                    Some(n) => format!("{} ({n})", s.name),
                    None => s.name.clone(),
                },
                rgb: s.rgb,
                dashed: s.dashed,
                marker: s.legend_marker(),
                faint: false,
            })
            .collect();
        if let Some(r) = self
            .series
            .iter()
            .find(|s| s.is_reference() && !s.points.is_empty())
        {
            out.push(LegendEntry {
                label: "reference: complete runs".into(),
                rgb: r.rgb,
                dashed: false,
                marker: Marker::None,
                faint: true,
            });
        }
        out
    }

    /// Series in drawing order: reference curves first (behind), then the rest as given.
    pub fn draw_order(&self) -> impl Iterator<Item = &Series> {
        self.series
            .iter()
            .filter(|s| s.is_reference())
            .chain(self.series.iter().filter(|s| !s.is_reference()))
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

pub use crate::identity::Family;

/// The hues of each family, in the order nets of that family get them (shallow first): warm
/// for plain nets (red, orange, magenta, amber), cool for residual nets (blue, green, violet,
/// cyan). Every net on a chart gets its own hue; the family still shows at a glance.
fn hues(family: Family) -> [f32; 4] {
    match family {
        Family::Plain => [4.0, 30.0, 322.0, 48.0],
        Family::Residual => [212.0, 140.0, 266.0, 186.0],
    }
}

fn hsl(h: f32, s: f32, l: f32) -> [u8; 3] {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = (h.rem_euclid(360.0)) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [to(r), to(g), to(b)]
}

/// The colour of net `shade` of the `shades` nets of one family on a chart, ordered shallow to
/// deep: a hue of its own (see [`hues`]). Five or more nets of a family reuse the hues, darker.
pub fn family_color(family: Family, shade: usize, shades: usize) -> [u8; 3] {
    let _ = shades;
    let h = hues(family);
    let round = shade / h.len();
    let l = (0.52 - 0.12 * round as f32).max(0.28);
    let s = match family {
        Family::Plain => 0.80,
        Family::Residual => 0.72,
    };
    hsl(h[shade % h.len()], s, l)
}

/// A reference curve's colour: its net's hue, lighter (and drawn faint and thin behind it).
pub fn lighter(rgb: [u8; 3]) -> [u8; 3] {
    rgb.map(|c| (c as f32 + (255.0 - c as f32) * 0.45).round() as u8)
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
    /// The colour scale's range: the shared one when set, else the lowest and highest finite
    /// value.
    pub fn range(&self) -> Option<(f64, f64)> {
        self.scale.or_else(|| self.own_range())
    }

    /// Lowest and highest finite value.
    pub fn own_range(&self) -> Option<(f64, f64)> {
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

    /// Gives grids shown side by side one colour scale (the union of their ranges), so the same
    /// colour means the same value in each.
    pub fn share_scale(grids: &mut [Grid]) {
        let all = grids.iter().filter_map(Grid::own_range).fold(
            None,
            |acc: Option<(f64, f64)>, (lo, hi)| match acc {
                Some((a, b)) => Some((a.min(lo), b.max(hi))),
                None => Some((lo, hi)),
            },
        );
        for g in grids {
            g.scale = all;
        }
    }
}

/// The pieces of a polyline inside `lo..=hi` in y, each cut where it crosses the edge (the
/// crossing point interpolated), so a curve that leaves the view ends at its edge instead of
/// stretching the view (the app draws reference curves this way; the PNG clips by itself).
pub fn clip_y(points: &[[f64; 2]], lo: f64, hi: f64) -> Vec<Vec<[f64; 2]>> {
    let inside = |p: &[f64; 2]| p[1] >= lo && p[1] <= hi;
    let cross = |a: [f64; 2], b: [f64; 2]| -> [f64; 2] {
        let edge = if a[1] > hi || b[1] > hi { hi } else { lo };
        let t = ((edge - a[1]) / (b[1] - a[1])).clamp(0.0, 1.0);
        [a[0] + t * (b[0] - a[0]), edge]
    };
    let mut out: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut cur: Vec<[f64; 2]> = Vec::new();
    for (i, &p) in points.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| points[j]);
        match (inside(&p), prev) {
            (true, Some(q)) if !inside(&q) && q[1].is_finite() => cur.push(cross(q, p)),
            _ => {}
        }
        if inside(&p) {
            cur.push(p);
        } else {
            if let Some(q) = prev.filter(|q| inside(q))
                && p[1].is_finite()
            {
                cur.push(cross(q, p));
            }
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod clip_tests {
    use super::clip_y;

    #[test]
    fn a_curve_leaving_the_view_is_cut_at_its_edge() {
        let pts = [[0.0, 1.0], [1.0, 3.0], [2.0, 1.0], [3.0, 2.0]];
        let parts = clip_y(&pts, 0.0, 2.0);
        assert_eq!(
            parts,
            vec![
                vec![[0.0, 1.0], [0.5, 2.0]],
                vec![[1.5, 2.0], [2.0, 1.0], [3.0, 2.0]]
            ]
        );
        assert_eq!(clip_y(&pts, 0.0, 5.0), vec![pts.to_vec()]);
        assert!(clip_y(&pts, 10.0, 20.0).is_empty());
    }
}

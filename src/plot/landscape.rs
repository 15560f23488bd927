//! The loss-landscape pictures and tables, built from a [`Landscape`]: contour and 3-D panels
//! on shared levels, the 1-D curves, and CSV.
use super::contour::ContourPlot;
use super::field::{Field, Levels};
use super::surface::{Scene, View3, ZScale, scene};
use super::{Chart, Family, Series, family_color};
use crate::landscape::{Figures, Landscape, NetLandscape, Surface, figures};
use crate::util::csv_field;

/// About this many contour levels.
pub const LEVELS: usize = 12;

/// A surface's loss as a field over its two directions.
pub fn loss_field(s: &Surface) -> Field {
    Field {
        xs: s.coords.clone(),
        ys: s.coords.clone(),
        z: s.loss_f64(),
    }
}

/// One set of levels for every net's loss surface.
pub fn shared_levels(l: &Landscape) -> Levels {
    let fields: Vec<Field> = l.nets.iter().map(|n| loss_field(&n.surface)).collect();
    Levels::shared(&fields.iter().collect::<Vec<_>>(), LEVELS)
}

fn panel_title(n: &NetLandscape) -> String {
    match n.surface.centre() {
        Some(c) => format!("{} (trained: loss {:.3})", n.label, c.loss),
        None => n.label.clone(),
    }
}

/// A contour panel per net, all on `levels`, the trained weights marked at the origin.
pub fn contour_plots(l: &Landscape, levels: &Levels) -> Vec<ContourPlot> {
    l.nets
        .iter()
        .map(|n| {
            let mut p = ContourPlot::new(&panel_title(n), loss_field(&n.surface), levels.clone());
            p.marks.push(([0.0, 0.0], "trained".into()));
            p
        })
        .collect()
}

/// A 3-D panel per net, all on `levels` and one height scale.
pub fn surface_scenes(l: &Landscape, levels: &Levels, view: View3) -> Vec<Scene> {
    let fields: Vec<Field> = l.nets.iter().map(|n| loss_field(&n.surface)).collect();
    let range = fields
        .iter()
        .filter_map(|f| f.range())
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
    let zs = ZScale::from_levels(levels, range);
    l.nets
        .iter()
        .zip(&fields)
        .map(|(n, f)| scene(&panel_title(n), f, levels, zs, view))
        .collect()
}

/// The title over a pair of panels: what was computed, so a picture explains itself.
pub fn title(l: &Landscape) -> String {
    format!(
        "Loss landscape around the trained weights ({} training images, filter-normalised random directions)",
        l.images
    )
}

/// Each net's colour: the family's hue (plain red, residual blue), shaded by its place among
/// the nets of its family.
fn colors(l: &Landscape) -> Vec<[u8; 3]> {
    let family = |n: &NetLandscape| {
        if n.residual {
            Family::Residual
        } else {
            Family::Plain
        }
    };
    l.nets
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let same = |m: &&NetLandscape| family(m) == family(n);
            let shade = l.nets[..i].iter().filter(same).count();
            family_color(family(n), shade, l.nets.iter().filter(same).count())
        })
        .collect()
}

/// Loss on a log10 axis when the values span more than a factor of 100 (an exploding end would
/// flatten everything else).
fn maybe_log(c: &mut Chart) {
    let (lo, hi) = c
        .series
        .iter()
        .flat_map(|s| &s.points)
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p[1]), b.max(p[1])));
    if lo > 0.0 && hi / lo > 100.0 {
        c.log10_y = true;
        for p in c.series.iter_mut().flat_map(|s| s.points.iter_mut()) {
            p[1] = p[1].log10();
        }
    }
}

/// Loss (or error) from the initial (0) to the trained (1) weights, one line per net.
pub fn line_chart(l: &Landscape, error: bool) -> Chart {
    let (title, y) = if error {
        ("Error from initial to trained weights", "training error %")
    } else {
        ("Loss from initial to trained weights", "cross-entropy loss")
    };
    let mut c = Chart::new(title, "alpha (0 = initial weights, 1 = trained)", y);
    // alpha is a fraction, not a count: integer ticks would leave only 0 and 1.
    c.integer_x = false;
    for (n, rgb) in l.nets.iter().zip(colors(l)) {
        let Some(line) = &n.line else { continue };
        let vals = if error { &line.error } else { &line.loss };
        let points = line
            .alphas
            .iter()
            .zip(vals)
            .filter(|(_, v)| v.is_finite())
            .map(|(a, v)| [*a, if error { *v as f64 * 100.0 } else { *v as f64 }])
            .collect();
        c.series.push(Series::new(n.label.clone(), rgb, points));
    }
    if !error {
        maybe_log(&mut c);
    }
    c
}

/// Loss along the first random direction through the trained weights (the grid's middle row).
pub fn slice_chart(l: &Landscape) -> Chart {
    let mut c = Chart::new(
        "Loss along direction 1 through the trained weights",
        "step along direction 1",
        "cross-entropy loss",
    );
    // Steps of a fraction of the filters' size: integer ticks would leave only 0.
    c.integer_x = false;
    for (n, rgb) in l.nets.iter().zip(colors(l)) {
        let s = &n.surface;
        let mid = s.side() / 2;
        let points = (0..s.side())
            .filter_map(|ix| s.at(ix, mid).map(|p| (ix, p)))
            .filter(|(_, p)| p.loss.is_finite())
            .map(|(ix, p)| [s.coords[ix], p.loss as f64])
            .collect();
        c.series.push(Series::new(n.label.clone(), rgb, points));
    }
    maybe_log(&mut c);
    c
}

/// Every computed grid point: `net,x,y,loss,error` (error as a fraction).
pub fn surface_csv(l: &Landscape) -> String {
    let mut out = String::from("net,x,y,loss,error\n");
    for n in &l.nets {
        let s = &n.surface;
        for iy in 0..s.side() {
            for ix in 0..s.side() {
                if let Some(p) = s.at(ix, iy) {
                    out.push_str(&format!(
                        "{},{},{},{},{}\n",
                        csv_field(&n.label),
                        s.coords[ix],
                        s.coords[iy],
                        p.loss,
                        p.error
                    ));
                }
            }
        }
    }
    out
}

/// Every computed line point: `net,alpha,loss,error`.
pub fn line_csv(l: &Landscape) -> String {
    let mut out = String::from("net,alpha,loss,error\n");
    for n in &l.nets {
        let Some(line) = &n.line else { continue };
        for ((a, loss), err) in line.alphas.iter().zip(&line.loss).zip(&line.error) {
            if !loss.is_nan() {
                out.push_str(&format!("{},{a},{loss},{err}\n", csv_field(&n.label)));
            }
        }
    }
    out
}

/// Each net's figures (see [`Figures`]) and its trained point, one row per net.
pub fn figures_csv(l: &Landscape) -> String {
    let mut out = String::from(
        "net,centre_loss,centre_error,nonconvex_share,curvature_ratio,local_minima,roughness,points,direction_cosine\n",
    );
    for n in &l.nets {
        let f: Option<Figures> = figures(&n.surface.coords, &n.surface.loss_f64());
        let c = n.surface.centre();
        let opt = |v: Option<String>| v.unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&n.label),
            opt(c.map(|p| p.loss.to_string())),
            opt(c.map(|p| p.error.to_string())),
            opt(f.map(|f| f.nonconvex_share.to_string())),
            opt(f.map(|f| f.curvature_ratio.to_string())),
            opt(f.map(|f| f.local_minima.to_string())),
            opt(f.map(|f| f.roughness.to_string())),
            opt(f.map(|f| f.points.to_string())),
            n.cosine
        ));
    }
    out
}

//! Contour plots and 3-D surfaces as PNG: panels side by side with one colour bar, so a plain
//! net and its residual twin are read on the same levels.
use super::axis;
use super::contour::ContourPlot;
use super::field::{Levels, raster};
use super::png::{DrawResult, render};
use super::surface::Scene;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Contour panels side by side under one title, with a colour bar for `plots[0].levels`
/// (give every panel the same levels).
pub fn contours_to_png(
    title: &str,
    plots: &[ContourPlot],
    size: (u32, u32),
) -> Result<Vec<u8>, String> {
    if plots.is_empty() {
        return Err("there is no surface to draw yet".into());
    }
    render(size, "contour plot", |buf, wh| {
        let (root, panels, bar, px) = layout(buf, wh, title, plots.len())?;
        for (plot, area) in plots.iter().zip(&panels) {
            draw_contour(plot, area, &*px)?;
        }
        color_bar(&plots[0].levels, &bar, &*px, "loss")?;
        root.present()?;
        Ok(())
    })
}

/// 3-D surface panels side by side, with a colour bar for `levels`.
pub fn surfaces_to_png(
    title: &str,
    scenes: &[Scene],
    levels: &Levels,
    size: (u32, u32),
) -> Result<Vec<u8>, String> {
    if scenes.is_empty() {
        return Err("there is no surface to draw yet".into());
    }
    render(size, "surface plot", |buf, wh| {
        let (root, panels, bar, px) = layout(buf, wh, title, scenes.len())?;
        for (scene, area) in scenes.iter().zip(&panels) {
            draw_scene(scene, area, &*px)?;
        }
        color_bar(levels, &bar, &*px, "loss")?;
        root.present()?;
        Ok(())
    })
}

/// Pixel size for a size given at 1000 px image height.
type Px = dyn Fn(f64) -> u32;

/// The whole image: title on top, `n` panels, a colour bar strip on the right.
#[allow(clippy::type_complexity)]
fn layout<'a>(
    buf: &'a mut [u8],
    (w, h): (u32, u32),
    title: &str,
    n: usize,
) -> Result<(Area<'a>, Vec<Area<'a>>, Area<'a>, Box<Px>), Box<dyn std::error::Error>> {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let scale = (h as f64).min(w as f64 * 0.6) / 1000.0;
    let px: Box<Px> = Box::new(move |v: f64| (v * scale).round().max(1.0) as u32);
    let body = root
        .margin(px(14.0), 0, 0, 0)
        .titled(title, ("sans-serif", px(40.0).max(10)))?;
    let bar_w = px(190.0).min(w / 4);
    let (panels, bar) = body.split_horizontally(w.saturating_sub(bar_w));
    let panels = panels.split_evenly((1, n.max(1)));
    Ok((root, panels, bar, px))
}

fn draw_contour(plot: &ContourPlot, area: &Area, px: &Px) -> DrawResult {
    let (x0, x1, y0, y1) = plot.field.extent();
    // Tick labels in the app's style ("-1", "-0.5", "0"), from the same 1-2-5 steps.
    let (sx, sy) = (
        axis::nice_step((x1 - x0) / 4.0),
        axis::nice_step((y1 - y0) / 4.0),
    );
    let mut ctx = ChartBuilder::on(area)
        .caption(&plot.title, ("sans-serif", px(36.0).max(9)))
        .margin(px(20.0))
        .x_label_area_size(px(80.0))
        .y_label_area_size(px(95.0))
        .build_cartesian_2d(x0..x1, y0..y1)?;
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|v| axis::format_value(*v, sx))
        .y_label_formatter(&|v| axis::format_value(*v, sy))
        .label_style(("sans-serif", px(24.0).max(8)))
        .axis_desc_style(("sans-serif", px(28.0).max(8)))
        .draw()?;
    // The filled bands, one pixel at a time from the same raster the app shows.
    let (xr, yr) = ctx.plotting_area().get_pixel_range();
    let (pw, ph) = ((xr.end - xr.start) as usize, (yr.end - yr.start) as usize);
    let img = raster(&plot.field, &plot.levels, pw, ph);
    let screen = ctx.plotting_area().use_screen_coord();
    for (i, c) in img.iter().enumerate() {
        let color = if c[3] == 0 {
            RGBColor(236, 236, 236)
        } else {
            RGBColor(c[0], c[1], c[2])
        };
        let (x, y) = ((i % pw) as i32 + xr.start, (i / pw) as i32 + yr.start);
        screen.draw_pixel((x, y), &color)?;
    }
    let line = RGBColor(20, 20, 20).mix(0.75).stroke_width(px(2.5));
    for l in &plot.lines {
        ctx.draw_series(std::iter::once(PathElement::new(
            l.points.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
            line,
        )))?;
    }
    let font = ("sans-serif", px(22.0).max(8)).into_font();
    let mut taken: Vec<[i32; 4]> = Vec::new();
    for lab in &plot.labels {
        let (cx, cy) = ctx.backend_coord(&(lab.at[0], lab.at[1]));
        let tw = (lab.text.len() as f64 * px(22.0) as f64 * 0.55) as i32 + px(8.0) as i32;
        let th = px(26.0) as i32;
        taken.push([cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2]);
        screen.draw(&Rectangle::new(
            [(cx - tw / 2, cy - th / 2), (cx + tw / 2, cy + th / 2)],
            WHITE.mix(0.85).filled(),
        ))?;
        screen.draw(&Text::new(
            lab.text.clone(),
            (cx, cy),
            font.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
    }
    for (at, name) in &plot.marks {
        let (cx, cy) = ctx.backend_coord(&(at[0], at[1]));
        let r = px(12.0) as i32;
        let pen = WHITE.stroke_width(px(5.0));
        let ink = BLACK.stroke_width(px(2.5));
        for style in [pen, ink] {
            screen.draw(&PathElement::new(vec![(cx - r, cy), (cx + r, cy)], style))?;
            screen.draw(&PathElement::new(vec![(cx, cy - r), (cx, cy + r)], style))?;
        }
        let tw = (name.len() as f64 * px(22.0) as f64 * 0.55) as i32 + px(6.0) as i32;
        let th = px(26.0) as i32;
        // Beside the cross, in the first corner that covers no level label (upper right, upper
        // left, lower right, lower left), else the one covering the least of them. (tx, ty) is
        // the text's left end on its baseline.
        let gap = px(4.0) as i32;
        let corners = [
            (cx + r + gap, cy - r),
            (cx - r - gap - tw, cy - r),
            (cx + r + gap, cy + r + th),
            (cx - r - gap - tw, cy + r + th),
        ];
        let covered = |&(x, y): &(i32, i32)| -> i64 {
            let b = [x - px(3.0) as i32, y - th, x + tw, y];
            taken
                .iter()
                .map(|t| {
                    let w = (b[2].min(t[2]) - b[0].max(t[0])).max(0) as i64;
                    let h = (b[3].min(t[3]) - b[1].max(t[1])).max(0) as i64;
                    w * h
                })
                .sum()
        };
        let (tx, ty) = corners
            .iter()
            .copied()
            .min_by_key(covered)
            .unwrap_or(corners[0]);
        screen.draw(&Rectangle::new(
            [(tx - px(3.0) as i32, ty - px(26.0) as i32), (tx + tw, ty)],
            WHITE.mix(0.85).filled(),
        ))?;
        screen.draw(&Text::new(
            name.clone(),
            (tx, ty),
            font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Bottom)),
        ))?;
    }
    Ok(())
}

fn draw_scene(scene: &Scene, area: &Area, px: &Px) -> DrawResult {
    let inner = area.titled(&scene.title, ("sans-serif", px(36.0).max(9)))?;
    let (w, h) = inner.dim_in_pixel();
    let side = (w.min(h) as f64 * 0.9) / 2.0;
    let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
    let to_px = |p: [f64; 2]| ((cx + p[0] * side) as i32, (cy - p[1] * side) as i32);
    let stroke = px(1.0).max(1);
    for q in &scene.quads {
        let pts: Vec<(i32, i32)> = q.corners.iter().map(|c| to_px(*c)).collect();
        let c = RGBColor(q.rgb[0], q.rgb[1], q.rgb[2]);
        inner.draw(&Polygon::new(pts.clone(), c.filled()))?;
        let mut ring = pts;
        ring.push(ring[0]);
        let edge = RGBColor(q.rgb[0] / 2, q.rgb[1] / 2, q.rgb[2] / 2).mix(0.5);
        inner.draw(&PathElement::new(ring, edge.stroke_width(stroke)))?;
    }
    let font = ("sans-serif", px(24.0).max(8)).into_font();
    // Height labels, thinned so none overlaps the one below it.
    let mut last_y = i32::MAX;
    for (at, text) in &scene.ticks {
        let (x, y) = to_px(*at);
        if last_y - y < px(28.0) as i32 {
            continue;
        }
        last_y = y;
        inner.draw(&PathElement::new(
            vec![(x - px(8.0) as i32, y), (x, y)],
            BLACK.stroke_width(1),
        ))?;
        inner.draw(&Text::new(
            text.clone(),
            (x - px(12.0) as i32, y),
            font.color(&BLACK).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    for a in &scene.axes {
        let (f, t) = (to_px(a.from), to_px(a.to));
        inner.draw(&PathElement::new(
            vec![f, t],
            RGBColor(60, 60, 60).stroke_width(px(2.0)),
        ))?;
        // The height axis is labelled at its top, the floor's axes below their middle.
        let upright = (t.0 - f.0).abs() * 3 < (t.1 - f.1).abs();
        let (at, v) = if upright {
            ((t.0, t.1 - px(6.0) as i32), VPos::Bottom)
        } else {
            (
                ((f.0 + t.0) / 2, (f.1 + t.1) / 2 + px(10.0) as i32),
                VPos::Top,
            )
        };
        inner.draw(&Text::new(
            a.label.clone(),
            at,
            font.color(&BLACK).pos(Pos::new(HPos::Center, v)),
        ))?;
    }
    Ok(())
}

/// Bands of equal height, bottom band at the bottom, each level written at its boundary.
fn color_bar(levels: &Levels, area: &Area, px: &Px, name: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let font = ("sans-serif", px(24.0).max(8)).into_font();
    let top = px(130.0) as i32;
    let bottom = h as i32 - px(110.0) as i32;
    let (x0, x1) = (px(20.0) as i32, px(20.0) as i32 + px(40.0).max(6) as i32);
    if bottom <= top || w < 20 {
        return Ok(());
    }
    area.draw(&Text::new(
        if levels.log {
            format!("{name} (log)")
        } else {
            name.to_string()
        },
        (x0, top - px(40.0) as i32),
        font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Bottom)),
    ))?;
    let bands = levels.len() + 1;
    let bh = (bottom - top) as f64 / bands as f64;
    for b in 0..bands {
        let yb = bottom as f64 - b as f64 * bh;
        let [r, g, bl] = levels.color(b);
        area.draw(&Rectangle::new(
            [(x0, (yb - bh).round() as i32), (x1, yb.round() as i32)],
            RGBColor(r, g, bl).filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        BLACK.stroke_width(1),
    ))?;
    // Every level gets a tick; labels thin out when bands are shorter than a line of text.
    let every = (px(28.0) as f64 / bh).ceil().max(1.0) as usize;
    for i in 0..levels.len() {
        let y = (bottom as f64 - (i + 1) as f64 * bh).round() as i32;
        area.draw(&PathElement::new(
            vec![(x1, y), (x1 + px(8.0) as i32, y)],
            BLACK.stroke_width(1),
        ))?;
        if i % every != 0 {
            continue;
        }
        area.draw(&Text::new(
            levels.label(i),
            (x1 + px(12.0) as i32, y),
            font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

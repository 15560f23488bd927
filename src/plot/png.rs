//! Charts as PNG, drawn off-screen with plotters and encoded with `image`.
//!
//! The font is egui's bundled Ubuntu face, registered with plotters' ab_glyph backend, so no
//! system font or fontconfig is needed. Ranges, ticks and legend entries come from the same
//! functions the app uses (`Chart::view`, `axis::ticks`, `Chart::legend`), so an export shows what
//! the app shows.
use super::axis::{self, Scale, Tick};
use super::{Chart, Grid, LegendEntry, Marker, REFERENCE_ALPHA, faint, ramp};
use plotters::coord::Shift;
use plotters::prelude::*;

pub const DEFAULT_SIZE: (u32, u32) = (1600, 1000);

const WHITE_RGB: [u8; 3] = [255, 255, 255];

/// On wasm32 plotters draws text with the browser's canvas fonts instead (nothing to register).
#[cfg(not(target_arch = "wasm32"))]
fn ensure_fonts() {
    use plotters::style::{FontStyle, register_font};
    use std::sync::Once;
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a known-good TTF bundled with egui; a failure leaves text undrawn, not a crash.
            let _ = register_font(
                family,
                FontStyle::Normal,
                epaint_default_fonts::UBUNTU_LIGHT,
            );
        }
    });
}

/// Draws `chart` at `size` (width, height) and returns PNG bytes.
pub fn to_png(chart: &Chart, size: (u32, u32)) -> Result<Vec<u8>, String> {
    render(size, "chart", |buf, wh| draw(chart, buf, wh))
}

pub(super) type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws into an RGB buffer of `size` (clamped to sane limits) and encodes it as PNG.
pub(super) fn render(
    size: (u32, u32),
    what: &str,
    draw: impl FnOnce(&mut [u8], (u32, u32)) -> DrawResult,
) -> Result<Vec<u8>, String> {
    let (w, h) = (size.0.clamp(200, 8000), size.1.clamp(150, 8000));
    #[cfg(not(target_arch = "wasm32"))]
    ensure_fonts();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    draw(&mut buf, (w, h)).map_err(|e| format!("could not draw the {what}: {e}"))?;
    let img = image::RgbImage::from_raw(w, h, buf).ok_or("the image buffer has the wrong size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("could not encode the PNG: {e}"))?;
    Ok(out.into_inner())
}

/// A linear f64 axis whose ticks are exactly `keys` (plotters would pick its own otherwise).
struct Ticked {
    lo: f64,
    hi: f64,
    keys: Vec<f64>,
}

fn ticked(r: std::ops::Range<f64>, keys: Vec<f64>) -> Ticked {
    Ticked {
        lo: r.start,
        hi: r.end,
        keys,
    }
}

impl Ranged for Ticked {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 {
            return limit.0;
        }
        let t = (value - self.lo) / span;
        limit.0 + (t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.keys.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// The label of the tick nearest `v` (plotters asks for labels by value).
fn label_of(ticks: &[Tick], v: f64) -> String {
    ticks
        .iter()
        .min_by(|a, b| (a.value - v).abs().total_cmp(&(b.value - v).abs()))
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

/// How many ticks fit along `px` pixels at one label per `per` pixels.
fn tick_budget(px: u32, per: f64) -> usize {
    ((px as f64 / per).floor() as usize).clamp(3, 12)
}

/// Lays the legend out in rows across `width`; returns each entry's (x, row) and the row count.
fn legend_rows(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    entries: &[LegendEntry],
    font: &TextStyle<'_>,
    swatch: i32,
    gap: i32,
    width: i32,
) -> (Vec<(i32, i32)>, i32) {
    let mut at = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (0, 0);
    for e in entries {
        let tw = area
            .estimate_text_size(&e.label, font)
            .map_or(e.label.len() as i32 * 10, |s| s.0 as i32);
        let w = swatch + gap / 2 + tw + gap;
        if x > 0 && x + w > width {
            x = 0;
            row += 1;
        }
        at.push((x, row));
        x += w;
    }
    (at, if entries.is_empty() { 0 } else { row + 1 })
}

/// One legend swatch: a short line (solid, dashed or faint) with the entry's marker on it.
fn swatch(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    e: &LegendEntry,
    (x, y): (i32, i32),
    len: i32,
    stroke: u32,
) -> DrawResult {
    let color = if e.faint {
        rgb(faint(e.rgb, WHITE_RGB, REFERENCE_ALPHA))
    } else {
        rgb(e.rgb)
    };
    let style = color.stroke_width(stroke);
    if e.dashed {
        let dash = (len / 5).max(2);
        let mut sx = x;
        while sx < x + len {
            let ex = (sx + dash).min(x + len);
            area.draw(&PathElement::new(vec![(sx, y), (ex, y)], style))?;
            sx += dash * 2;
        }
    } else {
        area.draw(&PathElement::new(vec![(x, y), (x + len, y)], style))?;
    }
    marker(
        area,
        e.marker,
        (x + len / 2, y),
        stroke as i32 + 2,
        color,
        stroke,
    )
}

fn marker(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    m: Marker,
    at: (i32, i32),
    r: i32,
    color: RGBColor,
    stroke: u32,
) -> DrawResult {
    match m {
        Marker::None => {}
        Marker::Filled => area.draw(&Circle::new(at, r, color.filled()))?,
        Marker::Hollow => {
            area.draw(&Circle::new(at, r, WHITE.filled()))?;
            area.draw(&Circle::new(at, r, color.stroke_width(stroke)))?;
        }
    }
    Ok(())
}

fn draw(chart: &Chart, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let scale = h as f64 / 1000.0;
    let px = |v: f64| (v * scale).round().max(8.0) as u32;
    let margin = px(30.0);
    let area = root.margin(margin, margin, margin, margin);
    let area = area.titled(&chart.title, ("sans-serif", px(44.0)))?;

    // The legend: a band of rows above the plot, so it never hides data.
    let entries = chart.legend();
    let font = ("sans-serif", px(28.0)).into_font().color(&BLACK);
    let (sw, gap) = (px(64.0) as i32, px(28.0) as i32);
    let stroke = px(4.0);
    let (pos, rows) = legend_rows(
        &area,
        &entries,
        &font,
        sw,
        gap,
        w as i32 - 2 * margin as i32,
    );
    let row_h = px(44.0) as i32;
    let band = (rows * row_h) as u32 + if rows > 0 { px(12.0) } else { 0 };
    let (legend, plot_area) = area.split_vertically(band);
    let left = px(120.0) as i32 + px(16.0) as i32;
    for (e, (x, row)) in entries.iter().zip(&pos) {
        let y = row * row_h + row_h / 2;
        swatch(&legend, e, (left + x, y), sw, stroke)?;
        legend.draw(&Text::new(
            e.label.clone(),
            (left + x + sw + gap / 2, y - px(14.0) as i32),
            font.clone(),
        ))?;
    }

    let view = chart.view();
    let (x_px, y_px) = plot_area.dim_in_pixel();
    let xt = axis::ticks(
        chart.x_scale(),
        view.x.0,
        view.x.1,
        tick_budget(x_px, 150.0 * scale),
    );
    let yt = axis::ticks(
        chart.y_scale(),
        view.y.0,
        view.y.1,
        tick_budget(y_px, 90.0 * scale),
    );
    let y_desc = if chart.log10_y {
        format!("{} (log scale)", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let mut ctx = ChartBuilder::on(&plot_area)
        .x_label_area_size(px(90.0))
        .y_label_area_size(px(120.0))
        .margin_right(px(20.0))
        .build_cartesian_2d(
            ticked(view.x.0..view.x.1, xt.iter().map(|t| t.value).collect()),
            ticked(view.y.0..view.y.1, yt.iter().map(|t| t.value).collect()),
        )?;
    let (xf, yf) = (xt.clone(), yt.clone());
    let x_fmt = move |v: &f64| label_of(&xf, *v);
    let y_fmt = move |v: &f64| label_of(&yf, *v);
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(y_desc.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", px(26.0)))
        .axis_desc_style(("sans-serif", px(32.0)))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    let (x0, x1) = view.x;
    let notes = chart.note_positions(&view);
    for s in chart.draw_order() {
        let reference = s.is_reference();
        let color = if reference {
            rgb(faint(s.rgb, WHITE_RGB, REFERENCE_ALPHA))
        } else {
            rgb(s.rgb)
        };
        let width = if reference {
            (stroke / 2).max(1)
        } else {
            stroke
        };
        let style = color.stroke_width(width);
        let pts: Vec<(usize, (f64, f64))> = s
            .points
            .iter()
            .enumerate()
            .filter(|(_, p)| p[0].is_finite() && p[1].is_finite())
            .map(|(i, p)| (i, (p[0], p[1])))
            .collect();
        let line: Vec<(f64, f64)> = pts.iter().map(|(_, p)| *p).collect();
        if s.dashed {
            ctx.draw_series(DashedLineSeries::new(line, px(14.0), px(8.0), style))?;
        } else if line.len() > 1 {
            ctx.draw_series(LineSeries::new(line, style))?;
        }
        for (i, p) in &pts {
            let m = s.marker_at(*i);
            let r = (stroke * 3 / 2) as i32;
            match m {
                Marker::None => {}
                Marker::Filled => {
                    ctx.draw_series(std::iter::once(Circle::new(*p, r, color.filled())))?;
                }
                Marker::Hollow => {
                    ctx.draw_series(std::iter::once(Circle::new(*p, r, WHITE.filled())))?;
                    ctx.draw_series(std::iter::once(Circle::new(
                        *p,
                        r,
                        color.stroke_width(stroke),
                    )))?;
                }
            }
        }
        if let (Some(note), Some(at)) = (s.note(), chart.note_of(&notes, s)) {
            let last = &(at[0], at[1]);
            // The note beside the last point, on the side with room.
            let right_half = last.0 > (x0 + x1) / 2.0;
            let off = px(14.0) as i32;
            let anchor = if right_half {
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Right,
                    plotters::style::text_anchor::VPos::Bottom,
                )
            } else {
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Bottom,
                )
            };
            let style = ("sans-serif", px(26.0))
                .into_font()
                .color(&color)
                .pos(anchor);
            let dx = if right_half { -off } else { off };
            ctx.draw_series(std::iter::once(
                EmptyElement::at(*last) + Text::new(note.to_string(), (dx, -off), style),
            ))?;
        }
    }
    root.present()?;
    Ok(())
}

/// Draws a heatmap (layers across, steps down) with a title, axis ticks and a colour bar.
pub fn grid_to_png(grid: &Grid, size: (u32, u32)) -> Result<Vec<u8>, String> {
    render(size, "heatmap", |buf, wh| draw_grid(grid, buf, wh))
}

/// Row ticks of a heatmap: about `max` rows evenly picked, each labelled with its step; rows
/// whose step repeats an earlier label are skipped.
pub fn grid_row_ticks(grid: &Grid, max: usize) -> Vec<(usize, String)> {
    let rows = grid.rows.len();
    if rows == 0 {
        return Vec::new();
    }
    let every = rows.div_ceil(max.max(1)).max(1);
    let mut out: Vec<(usize, String)> = Vec::new();
    for r in (0..rows).step_by(every) {
        let key = grid.row_keys.get(r).copied().unwrap_or(r as f64);
        let label = axis::format_value(key, 1.0);
        if out.last().is_none_or(|(_, l)| *l != label) {
            out.push((r, label));
        }
    }
    out
}

/// Column ticks of a heatmap: layer indices on nice integer steps.
pub fn grid_col_ticks(cols: usize, max: usize) -> Vec<(usize, String)> {
    if cols == 0 {
        return Vec::new();
    }
    axis::ticks(Scale::Integer, 0.0, (cols - 1) as f64, max)
        .into_iter()
        .map(|t| (t.value as usize, t.label))
        .collect()
}

/// Ticks of a heatmap's colour bar over log10 values `lo..hi`, labelled with the norm itself.
pub fn colorbar_ticks(lo: f64, hi: f64, max: usize) -> Vec<Tick> {
    if hi - lo < 1e-9 {
        return vec![Tick {
            value: lo,
            label: axis::format_power(lo),
        }];
    }
    axis::ticks(Scale::Log10, lo, hi, max)
}

fn draw_grid(grid: &Grid, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let scale = h as f64 / 1000.0;
    let px = |v: f64| (v * scale).round().max(8.0) as u32;
    let margin = px(30.0);
    let area = root.margin(margin, margin, margin, margin);
    let title = format!("Gradient norm by layer and step: {}", grid.name);
    let area = area.titled(&title, ("sans-serif", px(40.0)))?;
    let bar_w = px(230.0).min(w / 3);
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0 - bar_w);
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let rows = grid.rows.len().max(1);
    let (mx, my) = main.dim_in_pixel();
    let ct = grid_col_ticks(cols, tick_budget(mx, 120.0 * scale));
    let rt = grid_row_ticks(grid, tick_budget(my, 70.0 * scale));
    let x_keys: Vec<f64> = ct.iter().map(|(c, _)| *c as f64 + 0.5).collect();
    let y_keys: Vec<f64> = rt.iter().map(|(r, _)| *r as f64 + 0.5).collect();
    let mut ctx = ChartBuilder::on(&main)
        .x_label_area_size(px(90.0))
        .y_label_area_size(px(120.0))
        .margin_right(px(20.0))
        .build_cartesian_2d(
            ticked(0.0..cols as f64, x_keys),
            ticked(rows as f64..0.0, y_keys),
        )?;
    let x_fmt = move |v: &f64| {
        ct.iter()
            .find(|(c, _)| (*c as f64 + 0.5 - v).abs() < 1e-6)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let y_fmt = move |v: &f64| {
        rt.iter()
            .find(|(r, _)| (*r as f64 + 0.5 - v).abs() < 1e-6)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc("layer (input side first)")
        .y_desc("step")
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", px(26.0)))
        .axis_desc_style(("sans-serif", px(32.0)))
        .draw()?;
    let (lo, hi) = grid.range().unwrap_or((0.0, 1.0));
    let span = (hi - lo).max(1e-6);
    ctx.draw_series(grid.rows.iter().enumerate().flat_map(|(r, row)| {
        row.iter().enumerate().map(move |(c, v)| {
            let t = if v.is_finite() {
                ((v - lo) / span) as f32
            } else {
                0.0
            };
            let [cr, cg, cb] = ramp(t);
            Rectangle::new(
                [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                RGBColor(cr, cg, cb).filled(),
            )
        })
    }))?;

    // The colour bar: the ramp from the smallest to the largest norm, decade ticks.
    let (_, by) = bar.dim_in_pixel();
    let bt = colorbar_ticks(lo, lo + span, tick_budget(by, 70.0 * scale));
    let (bf, blo) = (bt.clone(), lo);
    let b_fmt = move |v: &f64| {
        bf.iter()
            .find(|t| (t.value - v).abs() < 1e-6)
            .map(|t| t.label.clone())
            .unwrap_or_else(|| axis::format_power(blo))
    };
    let mut cb = ChartBuilder::on(&bar)
        .x_label_area_size(px(90.0))
        .y_label_area_size(px(110.0))
        .margin_left(px(20.0))
        .margin_right(px(30.0))
        .build_cartesian_2d(
            ticked(0.0..1.0, Vec::new()),
            ticked(lo..lo + span, bt.iter().map(|t| t.value).collect()),
        )?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc("gradient norm (log scale)")
        .y_label_formatter(&b_fmt)
        .label_style(("sans-serif", px(26.0)))
        .axis_desc_style(("sans-serif", px(28.0)))
        .draw()?;
    let slices = 100;
    cb.draw_series((0..slices).map(|i| {
        let a = lo + span * i as f64 / slices as f64;
        let b = lo + span * (i + 1) as f64 / slices as f64;
        let [cr, cg, cbb] = ramp((i as f32 + 0.5) / slices as f32);
        Rectangle::new([(0.0, a), (1.0, b)], RGBColor(cr, cg, cbb).filled())
    }))?;
    root.present()?;
    Ok(())
}

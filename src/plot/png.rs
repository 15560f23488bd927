//! Charts as PNG, drawn off-screen with plotters and encoded with `image`.
//!
//! The font is egui's bundled Ubuntu face, registered with plotters' ab_glyph backend, so no
//! system font or fontconfig is needed.
use super::{Chart, Grid, ramp};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::Once;

pub const DEFAULT_SIZE: (u32, u32) = (1600, 1000);

fn ensure_fonts() {
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
    ensure_fonts();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    draw(&mut buf, (w, h)).map_err(|e| format!("could not draw the {what}: {e}"))?;
    let img = image::RgbImage::from_raw(w, h, buf).ok_or("the image buffer has the wrong size")?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("could not encode the PNG: {e}"))?;
    Ok(out.into_inner())
}

fn draw(chart: &Chart, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let scale = h as f64 / 1000.0;
    let px = |v: f64| (v * scale).round().max(8.0) as u32;
    let (x0, x1, y0, y1) = chart.bounds();
    let y_desc = if chart.log10_y {
        format!("log10 {}", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", px(44.0)))
        .margin(px(30.0))
        .x_label_area_size(px(90.0))
        .y_label_area_size(px(120.0))
        .build_cartesian_2d(x0..x1, y0..y1)?;
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(y_desc.as_str())
        .label_style(("sans-serif", px(26.0)))
        .axis_desc_style(("sans-serif", px(32.0)))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let stroke = px(4.0);
    for s in &chart.series {
        let color = RGBColor(s.rgb[0], s.rgb[1], s.rgb[2]);
        let style = color.stroke_width(stroke);
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p[0].is_finite() && p[1].is_finite())
            .map(|p| (p[0], p[1]))
            .collect();
        let anno = if s.dashed {
            ctx.draw_series(DashedLineSeries::new(pts, px(14.0), px(8.0), style))?
        } else if pts.len() == 1 {
            ctx.draw_series(
                pts.iter()
                    .map(|p| Circle::new(*p, stroke * 2, color.filled())),
            )?
        } else {
            ctx.draw_series(LineSeries::new(pts, style))?
        };
        let swatch = px(36.0) as i32;
        anno.label(s.name.as_str()).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + swatch, y)], color.stroke_width(stroke))
        });
    }
    if !chart.series.is_empty() {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", px(28.0)))
            .legend_area_size(px(56.0))
            .margin(px(16.0))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Draws a heatmap (layers across, steps down) with a title and axis labels.
pub fn grid_to_png(grid: &Grid, size: (u32, u32)) -> Result<Vec<u8>, String> {
    render(size, "heatmap", |buf, wh| draw_grid(grid, buf, wh))
}

fn draw_grid(grid: &Grid, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let scale = h as f64 / 1000.0;
    let px = |v: f64| (v * scale).round().max(8.0) as u32;
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let rows = grid.rows.len().max(1);
    let title = format!("Gradient norm (log10) by layer and step: {}", grid.name);
    let mut ctx = ChartBuilder::on(&root)
        .caption(&title, ("sans-serif", px(40.0)))
        .margin(px(30.0))
        .x_label_area_size(px(90.0))
        .y_label_area_size(px(120.0))
        .build_cartesian_2d(0.0..cols as f64, rows as f64..0.0)?;
    let keys = grid.row_keys.clone();
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc("layer (input side first)")
        .y_desc("step")
        .y_label_formatter(&|v| {
            let i = (*v as usize).min(keys.len().saturating_sub(1));
            keys.get(i).map(|k| format!("{k}")).unwrap_or_default()
        })
        .label_style(("sans-serif", px(26.0)))
        .axis_desc_style(("sans-serif", px(32.0)))
        .draw()?;
    let (lo, hi) = grid.range().unwrap_or((0.0, 1.0));
    let span = (hi - lo).max(1e-6);
    ctx.draw_series(grid.rows.iter().enumerate().flat_map(|(r, row)| {
        row.iter().enumerate().map(move |(c, v)| {
            let t = ((v - lo) / span) as f32;
            let [cr, cg, cb] = ramp(t);
            Rectangle::new(
                [(c as f64, r as f64), (c as f64 + 1.0, r as f64 + 1.0)],
                RGBColor(cr, cg, cb).filled(),
            )
        })
    }))?;
    root.present()?;
    Ok(())
}

//! Pictures of what a trained net does, for the Inspect tab and its exports: confusion matrices,
//! feature maps, first-layer filters and contact sheets of predictions.
//!
//! As with charts, these are descriptions free of any toolkit ([`Matrix`], [`Mosaic`], [`Tile`]);
//! the app paints them with egui and [`matrix_to_png`] / [`mosaic_to_png`] draw the same ones
//! with plotters, so colours and numbers agree. Pixels of a tile are computed here once.
use super::png::{DrawResult, render};
use super::{Chart, Family, Series, family_color, ramp};
use crate::train::eval::{Confusion, FeatureMap, Filters, class_label};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A small picture: `width * height` RGB pixels, row by row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Tile {
    /// RGBA8 (opaque) for toolkits that want four channels.
    pub fn rgba(&self) -> Vec<u8> {
        self.rgb
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect()
    }
}

/// A raw data-set image (CHW bytes, 1 or 3 channels) as a tile; grey goes to all three colours.
pub fn image_tile(chw: &[u8], channels: usize, height: usize, width: usize) -> Tile {
    let plane = height * width;
    let mut rgb = vec![0u8; plane * 3];
    if channels > 0 && chw.len() >= channels * plane {
        for p in 0..plane {
            for c in 0..3 {
                rgb[p * 3 + c] = chw[c.min(channels - 1) * plane + p];
            }
        }
    }
    Tile { width, height, rgb }
}

/// The range a feature map is shown over: from its smallest value (0 after a ReLU) to its 99th
/// percentile, so one bright pixel does not turn the rest black.
pub fn map_range(values: &[f32]) -> (f32, f32) {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f32::total_cmp);
    let lo = v[0].min(0.0);
    let hi = v[((v.len() - 1) as f64 * 0.99).round() as usize];
    if hi - lo > 1e-12 {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    }
}

/// One plane of values as a tile on the heatmap colour scale, `lo` dark to `hi` bright.
pub fn value_tile(plane: &[f32], height: usize, width: usize, lo: f32, hi: f32) -> Tile {
    let span = (hi - lo).max(1e-12);
    let rgb = (0..height * width)
        .flat_map(|i| ramp((plane.get(i).copied().unwrap_or(lo) - lo) / span))
        .collect();
    Tile { width, height, rgb }
}

/// The first `max` channels of a feature map, all on the map's own range ([`map_range`]).
pub fn map_tiles(map: &FeatureMap, max: usize) -> Vec<Tile> {
    let (lo, hi) = map_range(&map.values);
    (0..map.shape.c.min(max))
        .map(|c| value_tile(map.channel(c), map.shape.h, map.shape.w, lo, hi))
        .collect()
}

/// Each first-layer filter as a tile, scaled by its own largest weight: zero is mid grey.
/// Three input channels show as colour (what the filter responds to), others as grey (their mean).
pub fn filter_tiles(f: &Filters) -> Vec<Tile> {
    let k = f.k;
    (0..f.count)
        .map(|i| {
            let w = f.filter(i);
            let m = w.iter().fold(0.0f32, |a, v| a.max(v.abs())).max(1e-12);
            let to = |v: f32| ((0.5 + 0.5 * v / m) * 255.0).round().clamp(0.0, 255.0) as u8;
            let mut rgb = Vec::with_capacity(k * k * 3);
            for p in 0..k * k {
                if f.channels == 3 {
                    rgb.extend((0..3).map(|c| to(w[c * k * k + p])));
                } else {
                    let mean = (0..f.channels).map(|c| w[c * k * k + p]).sum::<f32>()
                        / f.channels.max(1) as f32;
                    let g = to(mean);
                    rgb.extend([g, g, g]);
                }
            }
            Tile {
                width: k,
                height: k,
                rgb,
            }
        })
        .collect()
}

/// How a caption line reads: plain, right (green) or wrong (red).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Right,
    Wrong,
}

impl Tone {
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Tone::Normal => [40, 40, 40],
            Tone::Right => [30, 140, 60],
            Tone::Wrong => [200, 50, 40],
        }
    }
}

/// Tiles side by side under a few caption lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub caption: Vec<(String, Tone)>,
    pub tiles: Vec<Tile>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MosaicRow {
    pub title: String,
    /// One per column of the mosaic.
    pub cells: Vec<Cell>,
}

/// Rows of cells of tiles: feature maps (a row per block, a column per net), filters, or a
/// contact sheet of predictions (no columns, a cell per image).
#[derive(Clone, Debug, PartialEq)]
pub struct Mosaic {
    pub title: String,
    /// A line under the title (what the colours mean).
    pub note: String,
    /// Column headings; empty for a plain grid.
    pub columns: Vec<String>,
    pub rows: Vec<MosaicRow>,
    /// At most this many tiles on one line of a cell.
    pub wrap: usize,
}

impl Mosaic {
    pub fn slug(&self) -> String {
        Chart::new(&self.title, "", "").slug()
    }
}

/// The signal's standard deviation after each block, one series per net: the number beside
/// each row of feature maps, as a chart (exports PNG and CSV like every other chart).
pub fn std_chart(nets: &[(String, Family, Vec<FeatureMap>)]) -> Chart {
    let mut c = Chart::new(
        "Signal std after each block",
        "block (0 = stem, input side first)",
        "standard deviation",
    );
    for (label, family, maps) in nets {
        let pts = maps
            .iter()
            .enumerate()
            .map(|(i, m)| [i as f64, m.std as f64])
            .collect();
        c.series
            .push(Series::new(label.clone(), family_color(*family, 0, 1), pts));
    }
    c
}

/// A confusion matrix as a picture: rows are true classes, columns predicted ones, with each
/// class's error beside its row.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub title: String,
    pub classes: Vec<String>,
    pub confusion: Confusion,
}

impl Matrix {
    pub fn slug(&self) -> String {
        Chart::new(&self.title, "", "").slug()
    }
}

/// A cell's colour, mixed from `background`: right answers (the diagonal) in blue, wrong ones
/// in red, stronger the larger the share of the true class's images in the cell. Wrong shares
/// are lifted (square root) so a few mistakes still show.
pub fn cell_color(share: f32, diagonal: bool, background: [u8; 3]) -> [u8; 3] {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (target, t) = if diagonal {
        ([40u8, 110, 190], share)
    } else {
        ([205u8, 55, 45], share.sqrt())
    };
    let mix = |i: usize| {
        (background[i] as f32 + (target[i] as f32 - background[i] as f32) * t).round() as u8
    };
    [mix(0), mix(1), mix(2)]
}

/// Whether text on `rgb` should be white (dark cells) rather than black.
pub fn light_text_on(rgb: [u8; 3]) -> bool {
    let l = 0.2126 * rgb[0] as f32 + 0.7152 * rgb[1] as f32 + 0.0722 * rgb[2] as f32;
    l < 140.0
}

/// Share of the true class's images in cell (`truth`, `predicted`).
pub fn cell_share(c: &Confusion, truth: usize, predicted: usize) -> f32 {
    c.get(truth, predicted) as f32 / c.row_total(truth).max(1) as f32
}

const WHITE_RGB: [u8; 3] = [255, 255, 255];

fn color(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

fn text_at<'a>(px: u32, c: [u8; 3], h: HPos, v: VPos) -> TextStyle<'a> {
    ("sans-serif", px)
        .into_font()
        .color(&color(c))
        .pos(Pos::new(h, v))
}

/// Draws a confusion matrix at `size`; returns PNG bytes.
pub fn matrix_to_png(m: &Matrix, size: (u32, u32)) -> Result<Vec<u8>, String> {
    render(size, "confusion matrix", |buf, wh| draw_matrix(m, buf, wh))
}

fn draw_matrix(m: &Matrix, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    let k = m.confusion.classes.max(1) as i32;
    let (w, h) = (w as i32, h as i32);
    let s = h as f64 / 1000.0;
    let px = |v: f64| (v * s).round().max(8.0) as i32;
    let dark = [30, 30, 30];
    root.draw(&Text::new(
        m.title.clone(),
        (w / 2, px(45.0)),
        text_at(px(40.0) as u32, dark, HPos::Center, VPos::Center),
    ))?;
    let label_font = px(26.0) as u32;
    // Row labels "3 triangle" on the left, the error column on the right.
    let row_w = m
        .classes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            root.estimate_text_size(
                &format!("{i} {n}"),
                &TextStyle::from(("sans-serif", label_font).into_font()),
            )
            .map_or(200, |t| t.0 as i32)
        })
        .max()
        .unwrap_or(100)
        + px(30.0);
    let err_w = px(150.0);
    let top = px(170.0);
    let bottom = px(40.0);
    let cell = ((w - row_w - err_w - px(60.0)) / k)
        .min((h - top - bottom) / k)
        .max(4);
    let x0 = row_w + px(20.0);
    let y0 = top;
    root.draw(&Text::new(
        "predicted class →".to_string(),
        (x0 + cell * k / 2, px(95.0)),
        text_at(px(30.0) as u32, dark, HPos::Center, VPos::Center),
    ))?;
    root.draw(&Text::new(
        "true class ↓".to_string(),
        (x0 - px(20.0), y0 - px(30.0)),
        text_at(px(28.0) as u32, dark, HPos::Right, VPos::Center),
    ))?;
    root.draw(&Text::new(
        "error".to_string(),
        (x0 + cell * k + px(20.0), y0 - px(30.0)),
        text_at(px(28.0) as u32, dark, HPos::Left, VPos::Center),
    ))?;
    let count_font = ((cell as f64 * 0.42).round() as u32).clamp(8, px(34.0) as u32);
    let errors = m.confusion.per_class_error();
    for (t, err) in errors.iter().enumerate().take(k as usize) {
        let y = y0 + t as i32 * cell;
        root.draw(&Text::new(
            class_label(&m.classes, t),
            (x0 - px(12.0), y + cell / 2),
            text_at(label_font, dark, HPos::Right, VPos::Center),
        ))?;
        for p in 0..k as usize {
            let x = x0 + p as i32 * cell;
            let bg = cell_color(cell_share(&m.confusion, t, p), t == p, WHITE_RGB);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                color(bg).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(220, 220, 220),
            ))?;
            let n = m.confusion.get(t, p);
            if n > 0 {
                let fg = if light_text_on(bg) { WHITE_RGB } else { dark };
                root.draw(&Text::new(
                    n.to_string(),
                    (x + cell / 2, y + cell / 2),
                    text_at(count_font, fg, HPos::Center, VPos::Center),
                ))?;
            }
        }
        let e = err
            .map(|e| format!("{:.1}%", e * 100.0))
            .unwrap_or_else(|| "n/a".into());
        root.draw(&Text::new(
            e,
            (x0 + cell * k + px(20.0), y + cell / 2),
            text_at(label_font, dark, HPos::Left, VPos::Center),
        ))?;
    }
    for p in 0..k {
        root.draw(&Text::new(
            p.to_string(),
            (x0 + p * cell + cell / 2, y0 - px(30.0)),
            text_at(label_font, dark, HPos::Center, VPos::Center),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Where each piece of a mosaic goes, in pixels of an image `width` wide.
struct MosaicLayout {
    height: u32,
    /// Per row: its top, its tile side scale (pixels per tile pixel) and height.
    rows: Vec<(i32, i32, i32)>,
    title_h: i32,
    row_title_w: i32,
    cell_w: i32,
    caption_h: i32,
    line_h: i32,
    gap: i32,
    margin: i32,
}

fn layout_mosaic(m: &Mosaic, width: u32) -> MosaicLayout {
    let w = width as i32;
    let margin = 30;
    let title_h = if m.note.is_empty() { 70 } else { 110 };
    let header_h = if m.columns.is_empty() { 0 } else { 50 };
    let row_title_w = if m.rows.iter().all(|r| r.title.is_empty()) {
        0
    } else {
        240
    };
    let cols = m
        .rows
        .iter()
        .map(|r| r.cells.len())
        .max()
        .unwrap_or(1)
        .max(m.columns.len())
        .max(1) as i32;
    let gap = 6;
    let cell_w = (w - 2 * margin - row_title_w) / cols;
    let line_h = 30;
    let caption_h = m
        .rows
        .iter()
        .flat_map(|r| &r.cells)
        .map(|c| c.caption.len())
        .max()
        .unwrap_or(0) as i32
        * line_h;
    let wrap = m.wrap.max(1) as i32;
    let mut y = margin + title_h + header_h;
    let mut rows = Vec::new();
    for r in &m.rows {
        let tile = r
            .cells
            .iter()
            .flat_map(|c| &c.tiles)
            .map(|t| t.width.max(t.height) as i32)
            .max()
            .unwrap_or(1)
            .max(1);
        // Whole pixels per image pixel, so small maps stay crisp; at most 10.
        let scale = ((cell_w - 20 - (wrap - 1) * gap) / wrap / tile).clamp(1, 10);
        let lines = r
            .cells
            .iter()
            .map(|c| (c.tiles.len() as i32 + wrap - 1) / wrap)
            .max()
            .unwrap_or(0)
            .max(1);
        let h = caption_h + lines * (tile * scale + gap) + 24;
        rows.push((y, scale, h));
        y += h;
    }
    MosaicLayout {
        height: (y + margin) as u32,
        rows,
        title_h,
        row_title_w,
        cell_w,
        caption_h,
        line_h,
        gap,
        margin,
    }
}

/// Draws a mosaic `width` pixels wide (its height follows from its rows); returns PNG bytes.
pub fn mosaic_to_png(m: &Mosaic, width: u32) -> Result<Vec<u8>, String> {
    let l = layout_mosaic(m, width);
    render((width, l.height), "picture", |buf, wh| {
        draw_mosaic(m, &l, buf, wh)
    })
}

fn draw_mosaic(m: &Mosaic, l: &MosaicLayout, buf: &mut [u8], (w, h): (u32, u32)) -> DrawResult {
    let dark = [30, 30, 30];
    let x_of = |col: usize| l.margin + l.row_title_w + col as i32 * l.cell_w;
    {
        let root = BitMapBackend::with_buffer(buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            m.title.clone(),
            (w as i32 / 2, l.margin + 20),
            text_at(36, dark, HPos::Center, VPos::Center),
        ))?;
        if !m.note.is_empty() {
            root.draw(&Text::new(
                m.note.clone(),
                (w as i32 / 2, l.margin + 65),
                text_at(24, [90, 90, 90], HPos::Center, VPos::Center),
            ))?;
        }
        for (c, name) in m.columns.iter().enumerate() {
            root.draw(&Text::new(
                name.clone(),
                (x_of(c) + 10, l.margin + l.title_h + 20),
                text_at(30, dark, HPos::Left, VPos::Center),
            ))?;
        }
        for (r, (y, _, rh)) in m.rows.iter().zip(&l.rows) {
            if !r.title.is_empty() {
                root.draw(&Text::new(
                    r.title.clone(),
                    (l.margin, y + rh / 2),
                    text_at(24, dark, HPos::Left, VPos::Center),
                ))?;
            }
            for (c, cell) in r.cells.iter().enumerate() {
                for (i, (text, tone)) in cell.caption.iter().enumerate() {
                    root.draw(&Text::new(
                        text.clone(),
                        (x_of(c) + 10, y + 8 + i as i32 * l.line_h + l.line_h / 2),
                        text_at(22, tone.rgb(), HPos::Left, VPos::Center),
                    ))?;
                }
            }
            root.draw(&PathElement::new(
                vec![(l.margin, y + rh - 4), (w as i32 - l.margin, y + rh - 4)],
                RGBColor(225, 225, 225),
            ))?;
        }
        root.present()?;
    }
    // Tiles are copied in pixel by pixel (nearest neighbour), after the text.
    let wrap = m.wrap.max(1);
    for (r, &(y, scale, _)) in m.rows.iter().zip(&l.rows) {
        for (c, cell) in r.cells.iter().enumerate() {
            for (i, t) in cell.tiles.iter().enumerate() {
                let tile = r
                    .cells
                    .iter()
                    .flat_map(|c| &c.tiles)
                    .map(|t| t.width.max(t.height) as i32)
                    .max()
                    .unwrap_or(1);
                let tx = x_of(c) + 10 + (i % wrap) as i32 * (tile * scale + l.gap);
                let ty = y + 8 + l.caption_h + (i / wrap) as i32 * (tile * scale + l.gap);
                blit(buf, (w, h), t, (tx, ty), scale);
            }
        }
    }
    Ok(())
}

fn blit(buf: &mut [u8], (w, h): (u32, u32), t: &Tile, (x0, y0): (i32, i32), scale: i32) {
    for ty in 0..t.height {
        for tx in 0..t.width {
            let p = (ty * t.width + tx) * 3;
            let Some(px) = t.rgb.get(p..p + 3) else {
                return;
            };
            for dy in 0..scale {
                for dx in 0..scale {
                    let x = x0 + tx as i32 * scale + dx;
                    let y = y0 + ty as i32 * scale + dy;
                    if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                        let o = (y as usize * w as usize + x as usize) * 3;
                        buf[o..o + 3].copy_from_slice(px);
                    }
                }
            }
        }
    }
}

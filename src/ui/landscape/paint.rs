//! Painting the landscape with egui's painter: contour panels (the colour raster as a texture,
//! the contour lines, level labels, axes), the shared colour bar, and the 3-D scene. The
//! geometry comes from `plot` (the same the PNG export draws); this file only maps it to pixels.
use crate::plot::axis;
use crate::plot::contour::ContourPlot;
use crate::plot::field::{Levels, raster};
use crate::plot::surface::Scene;
use egui::{
    Align2, Color32, FontId, Pos2, Rect, Shape, Stroke, TextureHandle, Ui, Vec2, pos2, vec2,
};

fn rgb(c: [u8; 3]) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// Pixels per grid cell of the colour texture (bilinear between grid points, like the PNG).
const TEXELS: usize = 8;

/// The colour raster of `plot` as a texture (call when the values change, not every frame).
pub fn texture(ui: &Ui, name: &str, plot: &ContourPlot) -> TextureHandle {
    let side = (plot.field.xs.len().max(2) * TEXELS).clamp(32, 400);
    let px = raster(&plot.field, &plot.levels, side, side);
    let pixels: Vec<Color32> = px
        .iter()
        .map(|c| {
            if c[3] == 0 {
                Color32::from_gray(128)
            } else {
                Color32::from_rgb(c[0], c[1], c[2])
            }
        })
        .collect();
    let img = egui::ColorImage {
        size: [side, side],
        pixels,
        source_size: vec2(side as f32, side as f32),
    };
    ui.ctx()
        .load_texture(name, img, egui::TextureOptions::LINEAR)
}

/// `r` moved the least distance that puts it inside `area` (a level label on a line that meets
/// the edge would otherwise cover the axis' tick labels).
fn inside(r: Rect, area: Rect) -> Rect {
    let dx = (area.left() - r.left()).max(0.0) + (area.right() - r.right()).min(0.0);
    let dy = (area.top() - r.top()).max(0.0) + (area.bottom() - r.bottom()).min(0.0);
    r.translate(vec2(dx, dy))
}

/// Where a mark's name goes beside its cross at `c`: the first corner (upper right, upper left,
/// lower right, lower left) inside the plot whose label does not cover a level label, else the
/// one that covers the least of them.
fn mark_label_rect(c: Pos2, size: Vec2, area: Rect, taken: &[Rect]) -> Rect {
    let corners = [
        Rect::from_min_size(c + vec2(8.0, -8.0 - size.y), size),
        Rect::from_min_size(c + vec2(-8.0 - size.x, -8.0 - size.y), size),
        Rect::from_min_size(c + vec2(8.0, 8.0), size),
        Rect::from_min_size(c + vec2(-8.0 - size.x, 8.0), size),
    ];
    let covered = |r: &Rect| -> f32 {
        let outside = if area.contains_rect(*r) { 0.0 } else { 1e6 };
        outside
            + taken
                .iter()
                .map(|t| t.intersect(*r))
                .filter(|i| i.is_positive())
                .map(|i| i.area())
                .sum::<f32>()
    };
    corners
        .into_iter()
        .min_by(|a, b| covered(a).total_cmp(&covered(b)))
        .unwrap_or(corners[0])
}

/// One contour panel in `rect`: title, axes with ticks, the bands, lines, labels and marks.
pub fn contour_panel(ui: &Ui, rect: Rect, plot: &ContourPlot, tex: Option<&TextureHandle>) {
    let painter = ui.painter_at(rect);
    let text = ui.visuals().text_color();
    let small = FontId::proportional(12.0);
    painter.text(
        rect.center_top() + vec2(0.0, 2.0),
        Align2::CENTER_TOP,
        &plot.title,
        FontId::proportional(13.0),
        text,
    );
    // A square plot area, room for tick labels on the left and below.
    let avail = Rect::from_min_max(rect.min + vec2(44.0, 22.0), rect.max - vec2(8.0, 34.0));
    let side = avail.width().min(avail.height()).max(10.0);
    let area = Rect::from_center_size(avail.center(), vec2(side, side));
    let (x0, x1, y0, y1) = plot.field.extent();
    let to_screen = |p: [f64; 2]| {
        pos2(
            area.left() + ((p[0] - x0) / (x1 - x0)) as f32 * area.width(),
            area.bottom() - ((p[1] - y0) / (y1 - y0)) as f32 * area.height(),
        )
    };
    match tex {
        Some(t) => {
            painter.image(
                t.id(),
                area,
                Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        None => {
            painter.rect_filled(area, 0.0, Color32::from_gray(128));
        }
    }
    let ink = Stroke::new(1.2, Color32::from_black_alpha(190));
    for l in &plot.lines {
        let pts: Vec<Pos2> = l.points.iter().map(|p| to_screen(*p)).collect();
        painter.add(Shape::line(pts, ink));
    }
    let mut taken = Vec::new();
    for lab in &plot.labels {
        let at = to_screen(lab.at);
        let galley = painter.layout_no_wrap(lab.text.clone(), small.clone(), Color32::BLACK);
        let r = inside(
            Rect::from_center_size(at, galley.size() + vec2(4.0, 0.0)),
            area,
        );
        painter.rect_filled(r, 2.0, Color32::from_white_alpha(215));
        painter.galley(r.min + vec2(2.0, 0.0), galley, Color32::BLACK);
        taken.push(r);
    }
    for (at, name) in &plot.marks {
        let c = to_screen(*at);
        for (w, col) in [(4.0, Color32::WHITE), (1.8, Color32::BLACK)] {
            let s = Stroke::new(w, col);
            painter.line_segment([c - vec2(6.0, 0.0), c + vec2(6.0, 0.0)], s);
            painter.line_segment([c - vec2(0.0, 6.0), c + vec2(0.0, 6.0)], s);
        }
        let galley = painter.layout_no_wrap(name.clone(), small.clone(), Color32::BLACK);
        let size = galley.size() + vec2(4.0, 0.0);
        let r = mark_label_rect(c, size, area, &taken);
        painter.rect_filled(r, 2.0, Color32::from_white_alpha(215));
        painter.galley(r.min + vec2(2.0, 0.0), galley, Color32::BLACK);
    }
    painter.rect_stroke(
        area,
        0.0,
        Stroke::new(1.0, text.gamma_multiply(0.6)),
        egui::StrokeKind::Outside,
    );
    // Ticks on the same 1-2-5 steps as the PNG.
    let (sx, sy) = (
        axis::nice_step((x1 - x0) / 4.0),
        axis::nice_step((y1 - y0) / 4.0),
    );
    let tick = Stroke::new(1.0, text);
    for v in steps(x0, x1, sx) {
        let p = to_screen([v, y0]);
        painter.line_segment([p, p + vec2(0.0, 4.0)], tick);
        painter.text(
            p + vec2(0.0, 5.0),
            Align2::CENTER_TOP,
            axis::format_value(v, sx),
            small.clone(),
            text,
        );
    }
    for v in steps(y0, y1, sy) {
        let p = to_screen([x0, v]);
        painter.line_segment([p, p - vec2(4.0, 0.0)], tick);
        painter.text(
            p - vec2(6.0, 0.0),
            Align2::RIGHT_CENTER,
            axis::format_value(v, sy),
            small.clone(),
            text,
        );
    }
    painter.text(
        pos2(area.center().x, area.bottom() + 19.0),
        Align2::CENTER_TOP,
        &plot.x_label,
        small.clone(),
        text,
    );
    painter.text(
        pos2(rect.left() + 2.0, area.top() - 4.0),
        Align2::LEFT_BOTTOM,
        &plot.y_label,
        small,
        text,
    );
}

/// Multiples of `step` within [lo, hi].
fn steps(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if step.is_nan() || step <= 0.0 || !lo.is_finite() || !hi.is_finite() {
        return Vec::new();
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last.min(first + 50))
        .map(|k| k as f64 * step)
        .collect()
}

/// The colour bar for `levels` in `rect`: one swatch per band, the level values between them.
pub fn color_bar(ui: &Ui, rect: Rect, levels: &Levels) {
    let painter = ui.painter_at(rect);
    let text = ui.visuals().text_color();
    let bands = levels.len() + 1;
    let bar = Rect::from_min_max(
        rect.min + vec2(4.0, 22.0),
        pos2(rect.left() + 22.0, rect.bottom() - 34.0),
    );
    painter.text(
        rect.left_top() + vec2(2.0, 4.0),
        Align2::LEFT_TOP,
        if levels.log { "loss (log)" } else { "loss" },
        FontId::proportional(12.0),
        text,
    );
    let h = bar.height() / bands as f32;
    for b in 0..bands {
        let top = bar.bottom() - (b + 1) as f32 * h;
        let r = Rect::from_min_size(pos2(bar.left(), top), vec2(bar.width(), h));
        painter.rect_filled(r, 0.0, rgb(levels.color(b)));
    }
    // Labels at the boundaries between bands, thinned so they never overlap.
    let mut last = f32::INFINITY;
    for i in 0..levels.len() {
        let y = bar.bottom() - (i + 1) as f32 * h;
        if last - y < 13.0 {
            continue;
        }
        last = y;
        painter.line_segment(
            [pos2(bar.right(), y), pos2(bar.right() + 4.0, y)],
            Stroke::new(1.0, text),
        );
        painter.text(
            pos2(bar.right() + 6.0, y),
            Align2::LEFT_CENTER,
            levels.label(i),
            FontId::proportional(12.0),
            text,
        );
    }
    painter.rect_stroke(
        bar,
        0.0,
        Stroke::new(1.0, text.gamma_multiply(0.6)),
        egui::StrokeKind::Outside,
    );
}

/// A 3-D scene in `rect` (its quads are already sorted back to front).
pub fn scene_panel(ui: &Ui, rect: Rect, scene: &Scene) {
    let painter = ui.painter_at(rect);
    let text = ui.visuals().text_color();
    painter.text(
        rect.center_top() + vec2(0.0, 2.0),
        Align2::CENTER_TOP,
        &scene.title,
        FontId::proportional(13.0),
        text,
    );
    let inner = Rect::from_min_max(rect.min + vec2(34.0, 20.0), rect.max - vec2(4.0, 4.0));
    let side = inner.width().min(inner.height()) * 0.5 * 0.95;
    let c = inner.center();
    let to_px = |p: [f64; 2]| pos2(c.x + p[0] as f32 * side, c.y - p[1] as f32 * side);
    let mut shapes = Vec::with_capacity(scene.quads.len());
    for q in &scene.quads {
        let pts: Vec<Pos2> = q.corners.iter().map(|p| to_px(*p)).collect();
        let fill = rgb(q.rgb);
        let edge = Color32::from_rgba_unmultiplied(q.rgb[0] / 2, q.rgb[1] / 2, q.rgb[2] / 2, 140);
        shapes.push(Shape::convex_polygon(pts, fill, Stroke::new(0.6, edge)));
    }
    painter.extend(shapes);
    let axis_stroke = Stroke::new(1.5, text.gamma_multiply(0.8));
    for a in &scene.axes {
        let (f, t) = (to_px(a.from), to_px(a.to));
        painter.line_segment([f, t], axis_stroke);
        let upright = (t.x - f.x).abs() * 3.0 < (t.y - f.y).abs();
        let (at, align) = if upright {
            (t - vec2(0.0, 4.0), Align2::CENTER_BOTTOM)
        } else {
            (f + (t - f) * 0.5 + vec2(0.0, 6.0), Align2::CENTER_TOP)
        };
        painter.text(at, align, &a.label, FontId::proportional(12.0), text);
    }
    let mut last = f32::INFINITY;
    for (at, label) in &scene.ticks {
        let p = to_px(*at);
        if last - p.y < 13.0 {
            continue;
        }
        last = p.y;
        painter.line_segment([p - vec2(5.0, 0.0), p], Stroke::new(1.0, text));
        painter.text(
            p - vec2(7.0, 0.0),
            Align2::RIGHT_CENTER,
            label,
            FontId::proportional(12.0),
            text,
        );
    }
}

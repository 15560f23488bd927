//! Draws [`Chart`]s with egui_plot and grids with egui's painter; every plot offers its exports.
//!
//! Ranges, ticks and the legend come from `plot` (`Chart::view`, `axis::ticks`, `Chart::legend`),
//! the functions the PNG export uses too, so the app and its exports agree. The legend is drawn
//! here rather than by egui_plot, whose legend shows a dot for every series and so cannot tell a
//! dashed first-batch curve from a solid one, or a stopped run from a finished one.
use super::export::Kind;
use crate::plot::axis::{self, Scale, Tick};
use crate::plot::{Chart, Grid, LegendEntry, Marker, REFERENCE_ALPHA, Series};
use egui::{Color32, RichText, Sense, Stroke, Ui, pos2, vec2};
use egui_plot::{GridInput, GridMark, Line, LineStyle, Plot, PlotPoint, PlotPoints, Points, Text};
use std::cell::RefCell;
use std::rc::Rc;

fn color(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

fn faint(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgba_unmultiplied(rgb[0], rgb[1], rgb[2], (REFERENCE_ALPHA * 255.0) as u8)
}

/// The smallest grid spacing egui_plot is told about; the spacers below know the pixel size of a
/// plot unit from it.
const MIN_GRID_PX: f32 = 8.0;

/// A grid spacer that puts lines (and labels) on `axis::ticks`, about one per `per_px` points,
/// and records the ticks' labels for the axis formatter of the same frame (the closures are
/// built anew every frame, so the record never goes stale).
fn spacer(
    scale: Scale,
    per_px: f64,
    labels: Rc<RefCell<Vec<Tick>>>,
) -> impl Fn(GridInput) -> Vec<GridMark> {
    move |input: GridInput| {
        let (lo, hi) = input.bounds;
        let unit = input.base_step_size / MIN_GRID_PX as f64; // plot units per point
        let px = if unit > 0.0 { (hi - lo) / unit } else { 0.0 };
        let n = ((px / per_px).floor() as usize).clamp(3, 14);
        let ticks = axis::ticks(scale, lo, hi, n);
        let step = ticks
            .windows(2)
            .map(|w| w[1].value - w[0].value)
            .fold(f64::MAX, f64::min);
        let step = if step == f64::MAX { hi - lo } else { step };
        let marks = ticks
            .iter()
            .map(|t| GridMark {
                value: t.value,
                step_size: step,
            })
            .collect();
        // egui_plot asks twice a frame (axis labels, then grid lines), possibly with different
        // transforms: keep every answer so the formatter finds each mark's label.
        labels.borrow_mut().extend(ticks);
        marks
    }
}

fn formatter(
    labels: Rc<RefCell<Vec<Tick>>>,
) -> impl Fn(GridMark, &std::ops::RangeInclusive<f64>) -> String {
    move |mark: GridMark, _| {
        labels
            .borrow()
            .iter()
            .find(|t| (t.value - mark.value).abs() <= mark.step_size.abs() * 1e-6 + 1e-12)
            .map(|t| t.label.clone())
            .unwrap_or_default()
    }
}

/// Paints a legend swatch into `rect`: a short line as the series is drawn (solid, dashed or
/// faint) with its marker.
fn paint_swatch(ui: &Ui, rect: egui::Rect, e: &LegendEntry) {
    let p = ui.painter();
    let c = if e.faint { faint(e.rgb) } else { color(e.rgb) };
    let y = rect.center().y;
    let stroke = Stroke::new(if e.faint { 1.5 } else { 2.0 }, c);
    if e.dashed {
        let mut x = rect.left();
        while x < rect.right() {
            p.line_segment([pos2(x, y), pos2((x + 5.0).min(rect.right()), y)], stroke);
            x += 9.0;
        }
    } else {
        p.line_segment([pos2(rect.left(), y), pos2(rect.right(), y)], stroke);
    }
    match e.marker {
        Marker::None => {}
        Marker::Filled => {
            p.circle_filled(rect.center(), 3.5, c);
        }
        Marker::Hollow => {
            p.circle_filled(rect.center(), 3.5, ui.visuals().extreme_bg_color);
            p.circle_stroke(rect.center(), 3.5, Stroke::new(1.5, c));
        }
    }
}

/// The legend as a wrapped row above the plot: it never hides data and never runs off the side.
/// Each entry (swatch and label) is one widget, so it wraps as a unit; its label is the entry's
/// text for screen readers and tests.
pub fn legend(ui: &mut Ui, chart: &Chart) {
    let entries = chart.legend();
    if entries.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 12.0;
        for e in &entries {
            let text_color = if e.faint {
                ui.visuals().weak_text_color()
            } else {
                ui.visuals().text_color()
            };
            let galley = ui.painter().layout_no_wrap(
                e.label.clone(),
                egui::FontId::proportional(12.0),
                text_color,
            );
            let sw = 28.0;
            let size = vec2(sw + 5.0 + galley.size().x, galley.size().y.max(14.0));
            let (rect, resp) = ui.allocate_exact_size(size, Sense::hover());
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Label, true, e.label.clone())
            });
            let sw_rect = egui::Rect::from_min_size(rect.min, vec2(sw, rect.height()));
            paint_swatch(ui, sw_rect, e);
            ui.painter().galley(
                pos2(
                    rect.left() + sw + 5.0,
                    rect.center().y - galley.size().y / 2.0,
                ),
                galley,
                text_color,
            );
        }
    });
}

/// Title and export buttons; on a narrow column the buttons go under the title.
pub fn header(ui: &mut Ui, title: &str, has_data: bool, png_tip: &str) -> Option<Kind> {
    let mut asked = None;
    // `png_first`: left-to-right order; the wide header lays out right to left.
    let mut buttons = |ui: &mut Ui, png_first: bool| {
        for kind in if png_first {
            [Kind::Png, Kind::Csv]
        } else {
            [Kind::Csv, Kind::Png]
        } {
            let (label, tip) = match kind {
                Kind::Png => ("Export PNG", png_tip),
                Kind::Csv => ("Export CSV", "Write this plot's data as CSV"),
            };
            if ui
                .add_enabled(has_data, egui::Button::new(label).small())
                .on_hover_text(tip)
                .clicked()
            {
                asked = Some(kind);
            }
        }
    };
    let title_w = ui.fonts_mut(|f| {
        f.layout_no_wrap(
            title.to_string(),
            egui::TextStyle::Body.resolve(ui.style()),
            Color32::WHITE,
        )
        .size()
        .x
    });
    if ui.available_width() >= title_w + 190.0 {
        ui.horizontal(|ui| {
            ui.label(RichText::new(title).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                buttons(ui, false)
            });
        });
    } else {
        ui.label(RichText::new(title).strong());
        ui.horizontal(|ui| buttons(ui, true));
    }
    asked
}

fn add_series<'a>(
    p: &mut egui_plot::PlotUi<'a>,
    s: &Series,
    mid_x: f64,
    y_range: (f64, f64),
    note_at: Option<[f64; 2]>,
) {
    if s.points.is_empty() {
        return;
    }
    let reference = s.is_reference();
    let c = if reference {
        faint(s.rgb)
    } else {
        color(s.rgb)
    };
    if reference {
        // Cut at the view's edges: the learner's own curves set the height (Chart::view).
        for part in crate::plot::clip_y(&s.points, y_range.0, y_range.1) {
            let mut line = Line::new(s.name.clone(), PlotPoints::new(part))
                .color(c)
                .width(1.5)
                .allow_hover(false);
            if s.dashed {
                line = line.style(LineStyle::dashed_loose());
            }
            p.line(line);
        }
    } else {
        let mut line = Line::new(s.name.clone(), PlotPoints::new(s.points.clone()))
            .color(c)
            .width(2.0);
        if s.dashed {
            line = line.style(LineStyle::dashed_loose());
        }
        p.line(line);
    }
    let (mut filled, mut hollow) = (Vec::new(), Vec::new());
    for (i, pt) in s.points.iter().enumerate() {
        if reference && !(y_range.0..=y_range.1).contains(&pt[1]) {
            continue;
        }
        match s.marker_at(i) {
            Marker::Filled => filled.push(*pt),
            Marker::Hollow => hollow.push(*pt),
            Marker::None => {}
        }
    }
    if !filled.is_empty() {
        p.points(
            Points::new(s.name.clone(), PlotPoints::new(filled))
                .color(c)
                .radius(3.5)
                .filled(true),
        );
    }
    if !hollow.is_empty() {
        p.points(
            Points::new(s.name.clone(), PlotPoints::new(hollow))
                .color(c)
                .radius(4.0)
                .filled(false),
        );
    }
    if let (Some(note), Some(last)) = (s.note(), note_at) {
        let anchor = if last[0] > mid_x {
            egui::Align2::RIGHT_BOTTOM
        } else {
            egui::Align2::LEFT_BOTTOM
        };
        p.text(
            Text::new(
                format!("{} note", s.name),
                PlotPoint::new(last[0], last[1]),
                RichText::new(format!(" {note} ")).small().color(c),
            )
            .anchor(anchor),
        );
    }
}

/// The chart with its legend, hover values, and export buttons. Returns the export asked for.
pub fn chart(ui: &mut Ui, chart: &Chart, height: f32) -> Option<Kind> {
    let asked = header(
        ui,
        &chart.title,
        !chart.is_empty(),
        "Draw this plot at 1600x1000 and save it as PNG",
    );
    legend(ui, chart);
    let y_label = if chart.log10_y {
        format!("{} (log scale)", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let view = chart.view();
    let (xl, yl) = (
        Rc::new(RefCell::new(Vec::new())),
        Rc::new(RefCell::new(Vec::new())),
    );
    let plot = Plot::new(chart.title.clone())
        .height(height)
        .x_axis_label(chart.x_label.clone())
        .y_axis_label(y_label)
        .allow_scroll(false)
        .include_x(view.x.0)
        .include_x(view.x.1)
        .include_y(view.y.0)
        .include_y(view.y.1)
        .set_margin_fraction(vec2(0.0, 0.0))
        .grid_spacing(egui::Rangef::new(MIN_GRID_PX, 300.0))
        .x_grid_spacer(spacer(chart.x_scale(), 80.0, xl.clone()))
        .y_grid_spacer(spacer(chart.y_scale(), 32.0, yl.clone()))
        .x_axis_formatter(formatter(xl))
        .y_axis_formatter(formatter(yl));
    let mid_x = (view.x.0 + view.x.1) / 2.0;
    let notes = chart.note_positions(&view);
    plot.show(ui, |p| {
        for s in chart.draw_order() {
            add_series(p, s, mid_x, view.y, chart.note_of(&notes, s));
        }
    });
    if chart.is_empty() {
        ui.weak("No data yet: it appears as runs progress (test error at the end of each epoch).");
    }
    asked
}

/// A layer x step heatmap of log10 gradient norms, painted cell by cell, with axis ticks, a
/// colour bar, and its exports.
pub fn heatmap(ui: &mut Ui, grid: &Grid, height: f32) -> Option<Kind> {
    let asked = header(
        ui,
        &format!("{}: gradient norm by layer and step", grid.name),
        !grid.rows.is_empty(),
        "Draw this heatmap at 1600x1000 and save it as PNG",
    );
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    let weak = ui.visuals().weak_text_color();
    let text = ui.visuals().text_color();
    let font = egui::FontId::proportional(12.0);
    // Room for the step labels on the left, layer labels below, and the colour bar on the right.
    let (left, bottom, bar_w) = (44.0, 30.0, 64.0);
    let (outer, resp) =
        ui.allocate_exact_size(vec2(ui.available_width(), height + bottom), Sense::hover());
    let rect = egui::Rect::from_min_max(
        pos2(outer.left() + left, outer.top()),
        pos2(outer.right() - bar_w, outer.bottom() - bottom),
    );
    let painter = ui.painter_at(outer);
    painter.rect_stroke(rect, 2.0, Stroke::new(1.0, weak), egui::StrokeKind::Outside);
    if grid.rows.is_empty() || cols == 0 {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "no gradient probes yet",
            font,
            weak,
        );
        return asked;
    }
    let (lo, hi) = grid.range().unwrap_or((0.0, 1.0));
    let span = (hi - lo).max(1e-6);
    let (cw, ch) = (
        rect.width() / cols as f32,
        rect.height() / grid.rows.len() as f32,
    );
    for (r, row) in grid.rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let t = if v.is_finite() {
                ((v - lo) / span) as f32
            } else {
                0.0
            };
            let cell = egui::Rect::from_min_size(
                pos2(rect.left() + c as f32 * cw, rect.top() + r as f32 * ch),
                vec2(cw.ceil(), ch.ceil()),
            );
            painter.rect_filled(cell, 0.0, color(crate::plot::ramp(t)));
        }
    }
    // Axis ticks: layers across (bottom), steps down (left).
    let col_ticks = crate::plot::grid_col_ticks(cols, ((rect.width() / 40.0) as usize).max(2));
    for (c, label) in &col_ticks {
        let x = rect.left() + (*c as f32 + 0.5) * cw;
        painter.line_segment(
            [pos2(x, rect.bottom()), pos2(x, rect.bottom() + 3.0)],
            Stroke::new(1.0, weak),
        );
        painter.text(
            pos2(x, rect.bottom() + 4.0),
            egui::Align2::CENTER_TOP,
            label,
            font.clone(),
            text,
        );
    }
    painter.text(
        pos2(rect.center().x, outer.bottom()),
        egui::Align2::CENTER_BOTTOM,
        "layer (input side first)",
        font.clone(),
        weak,
    );
    let row_ticks = crate::plot::grid_row_ticks(grid, ((rect.height() / 22.0) as usize).max(2));
    for (r, label) in &row_ticks {
        let y = rect.top() + (*r as f32 + 0.5) * ch;
        painter.text(
            pos2(rect.left() - 4.0, y),
            egui::Align2::RIGHT_CENTER,
            label,
            font.clone(),
            text,
        );
    }
    // The steps' axis name sits under their labels, level with the layers' axis name.
    painter.text(
        pos2(outer.left(), outer.bottom()),
        egui::Align2::LEFT_BOTTOM,
        "step ↓",
        font.clone(),
        weak,
    );
    // The colour bar with decade ticks of the norm itself.
    let bar = egui::Rect::from_min_max(
        pos2(rect.right() + 10.0, rect.top()),
        pos2(rect.right() + 22.0, rect.bottom()),
    );
    let slices = 48;
    for i in 0..slices {
        let t0 = i as f32 / slices as f32;
        let t1 = (i + 1) as f32 / slices as f32;
        let r = egui::Rect::from_min_max(
            pos2(bar.left(), bar.bottom() - t1 * bar.height()),
            pos2(bar.right(), bar.bottom() - t0 * bar.height() + 0.5),
        );
        painter.rect_filled(r, 0.0, color(crate::plot::ramp((t0 + t1) / 2.0)));
    }
    painter.rect_stroke(bar, 0.0, Stroke::new(1.0, weak), egui::StrokeKind::Outside);
    let bar_ticks =
        crate::plot::colorbar_ticks(lo, lo + span, ((bar.height() / 18.0) as usize).max(2));
    for t in &bar_ticks {
        let y = bar.bottom() - ((t.value - lo) / span) as f32 * bar.height();
        painter.line_segment(
            [pos2(bar.right(), y), pos2(bar.right() + 3.0, y)],
            Stroke::new(1.0, weak),
        );
        painter.text(
            pos2(bar.right() + 5.0, y),
            egui::Align2::LEFT_CENTER,
            &t.label,
            font.clone(),
            text,
        );
    }
    painter.text(
        pos2(bar.center().x, outer.bottom()),
        egui::Align2::CENTER_BOTTOM,
        "norm",
        font.clone(),
        weak,
    );
    if let Some(pos) = resp.hover_pos()
        && rect.contains(pos)
    {
        let c = (((pos.x - rect.left()) / cw) as usize).min(cols - 1);
        let r = (((pos.y - rect.top()) / ch) as usize).min(grid.rows.len() - 1);
        if let Some(v) = grid.rows[r].get(c) {
            let step = grid.row_keys.get(r).copied().unwrap_or(0.0);
            resp.on_hover_text(format!(
                "layer {c}, step {step}: norm {:.3e}",
                10f64.powf(*v)
            ));
        }
    }
    asked
}

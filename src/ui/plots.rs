//! Draws [`Chart`]s with egui_plot and grids with egui's painter; every plot offers its exports.
use super::export::Kind;
use crate::plot::{Chart, Grid};
use egui::{Color32, RichText, Sense, Stroke, Ui, pos2, vec2};
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, Points};

fn color(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

/// The chart with a legend and hover values, and its export buttons. Returns the export asked for.
pub fn chart(ui: &mut Ui, chart: &Chart, height: f32) -> Option<Kind> {
    let mut asked = None;
    ui.horizontal(|ui| {
        ui.label(RichText::new(&chart.title).strong());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let has_data = !chart.is_empty();
            if ui
                .add_enabled(has_data, egui::Button::new("Export CSV"))
                .on_hover_text("Write this plot's data as CSV")
                .clicked()
            {
                asked = Some(Kind::Csv);
            }
            if ui
                .add_enabled(has_data, egui::Button::new("Export PNG"))
                .on_hover_text("Draw this plot at 1600x1000 and save it as PNG")
                .clicked()
            {
                asked = Some(Kind::Png);
            }
        });
    });
    let log = chart.log10_y;
    let y_label = if log {
        format!("{} (log10)", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let mut plot = Plot::new(chart.title.clone())
        .height(height)
        .legend(Legend::default())
        .x_axis_label(chart.x_label.clone())
        .y_axis_label(y_label)
        .allow_scroll(false);
    if log {
        plot = plot.y_axis_formatter(|m, _| format!("1e{:.0}", m.value));
    } else {
        // Powers of 5 (…, 5, 25, 125) leave room for a label on every line of a short plot;
        // powers of 10 would label only 0 on a 0-90 % axis.
        plot = plot.y_grid_spacer(egui_plot::log_grid_spacer(5));
    }
    if chart.is_empty() {
        // An empty plot would centre on 0 and show negative errors; show the range data will use.
        let top = if chart.y_label.contains('%') {
            100.0
        } else {
            1.0
        };
        plot = plot
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(top);
    }
    plot.show(ui, |p| {
        for s in &chart.series {
            if s.points.is_empty() {
                continue;
            }
            let mut line = Line::new(s.name.clone(), PlotPoints::new(s.points.clone()))
                .color(color(s.rgb))
                .width(2.0);
            if s.dashed {
                line = line.style(LineStyle::dashed_loose());
            }
            p.line(line);
            // Per-epoch curves have few points; markers keep a single point visible.
            if s.points.len() < 30 {
                p.points(
                    Points::new(s.name.clone(), PlotPoints::new(s.points.clone()))
                        .color(color(s.rgb))
                        .radius(3.5)
                        .filled(true),
                );
            }
        }
    });
    if chart.is_empty() {
        ui.weak("No data yet: it appears as runs progress (test error at the end of each epoch).");
    }
    asked
}

/// A layer x step heatmap of log10 gradient norms, painted cell by cell, with its exports.
pub fn heatmap(ui: &mut Ui, grid: &Grid, height: f32) -> Option<Kind> {
    let mut asked = None;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{}: gradient norm by layer (across) and step (down)",
                grid.name
            ))
            .strong(),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let has_data = !grid.rows.is_empty();
            if ui
                .add_enabled(has_data, egui::Button::new("Export CSV"))
                .clicked()
            {
                asked = Some(Kind::Csv);
            }
            if ui
                .add_enabled(has_data, egui::Button::new("Export PNG"))
                .clicked()
            {
                asked = Some(Kind::Png);
            }
        });
    });
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    let (rect, resp) = ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    if grid.rows.is_empty() || cols == 0 {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "no gradient probes yet",
            egui::FontId::proportional(12.0),
            ui.visuals().weak_text_color(),
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
    if let Some(pos) = resp.hover_pos() {
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

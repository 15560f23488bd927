//! The block canvas: paints what `builder::layout` placed and turns clicks and drags on it into
//! edits. No geometry is decided here.
use super::{BuilderView, ERR, SKIP};
use crate::builder::BlockReport;
use crate::builder::layout::{self, BoxText, Bx, CanvasLayout, Pt};
use crate::nn::{LayerSpec, Shortcut, SpecError};
use egui::{
    Align2, Color32, FontId, Painter, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, Ui, pos2,
    vec2,
};

pub(super) fn layer_color(l: &LayerSpec) -> Color32 {
    match l {
        LayerSpec::Conv { .. } => Color32::from_rgb(70, 130, 220),
        LayerSpec::BatchNorm => Color32::from_rgb(150, 110, 210),
        LayerSpec::ReLU => Color32::from_rgb(225, 140, 50),
        LayerSpec::Block(_) => Color32::from_rgb(60, 170, 120),
        _ => Color32::GRAY,
    }
}

const TICK: Color32 = Color32::from_rgb(240, 200, 40);

/// An arrow with a fixed-size head: egui's scales its head with the length.
fn arrow(p: &Painter, from: Pos2, to: Pos2, stroke: Stroke) {
    let v = to - from;
    let len = v.length();
    if len < 1.0 {
        return;
    }
    let dir = v / len;
    let normal = vec2(-dir.y, dir.x);
    let head = 7.0_f32.min(len);
    let base = to - dir * head;
    p.line_segment([from, to], stroke);
    p.line_segment([to, base + normal * head * 0.5], stroke);
    p.line_segment([to, base - normal * head * 0.5], stroke);
}

/// The text inside a main-lane box, in full or short for a narrow canvas.
pub(super) fn box_text(l: &LayerSpec, style: BoxText) -> String {
    match (l, style) {
        (
            LayerSpec::Conv {
                out,
                k,
                stride,
                pad,
            },
            BoxText::Full,
        ) => {
            let s = if *stride == 1 {
                String::new()
            } else {
                format!(" / {stride}")
            };
            format!("Conv {k}x{k}{s}, {out} filters, pad {pad}")
        }
        (
            LayerSpec::Conv {
                out,
                k,
                stride,
                pad,
            },
            BoxText::Short,
        ) => {
            let s = if *stride == 1 {
                String::new()
            } else {
                format!("/{stride}")
            };
            // The padding only when it is not the size-keeping one.
            let p = if *pad == k / 2 {
                String::new()
            } else {
                format!(" p{pad}")
            };
            format!("Conv {k}x{k}{s}, {out}{p}")
        }
        (other, _) => other.label(),
    }
}

impl BuilderView {
    /// Paints the block for a column `width` wide and about `height` tall, and makes each
    /// main-lane box clickable and draggable, the + node and the slot for g clickable.
    pub(super) fn canvas(&mut self, ui: &mut Ui, report: &BlockReport, width: f32, height: f32) {
        let l = layout::layout(&self.state.draft, report, width, height);
        let (rect, _) = ui.allocate_exact_size(vec2(l.width, l.height), Sense::hover());
        let o = rect.min;
        let at = |p: Pt| pos2(o.x + p.x, o.y + p.y);
        let r =
            |b: &Bx| Rect::from_min_max(at(Pt { x: b.x0, y: b.y0 }), at(Pt { x: b.x1, y: b.y1 }));
        self.paint(ui, &l, report, rect, &at, &r);
        self.interact(ui, &l, &at, &r);
    }

    fn paint(
        &self,
        ui: &mut Ui,
        l: &CanvasLayout,
        report: &BlockReport,
        rect: Rect,
        at: &dyn Fn(Pt) -> Pos2,
        r: &dyn Fn(&Bx) -> Rect,
    ) {
        let d = &self.state.draft;
        let n = d.body.len();
        let p = ui.painter_at(rect);
        let fg = ui.visuals().strong_text_color();
        let weak = ui.visuals().weak_text_color();
        let mismatch = matches!(report.error, Some(SpecError::ShortcutMismatch { .. }));
        let failed_layer = match &report.error {
            Some(SpecError::BadLayer { .. }) if n > 0 && report.edges.len() <= n => {
                Some(report.edges.len() - 1)
            }
            _ => None,
        };
        let pill = |b: &Bx, text: &str| {
            let rr = r(b);
            p.rect_filled(rr, 12.0, ui.visuals().faint_bg_color);
            p.rect_stroke(rr, 12.0, Stroke::new(1.0, weak), StrokeKind::Inside);
            p.text(
                rr.center(),
                Align2::CENTER_CENTER,
                text,
                FontId::proportional(13.0),
                fg,
            );
        };
        pill(&l.input, "input");
        pill(&l.output, "output");
        for (a, b) in &l.arrows {
            arrow(&p, at(*a), at(*b), Stroke::new(1.5, fg));
        }
        for (i, layer) in d.body.iter().enumerate() {
            let b = r(&l.boxes[i]);
            let c = layer_color(layer);
            let selected = self.state.selected == Some(i) && !self.state.after_add;
            let dragged = self.drag.is_some_and(|(from, _)| from == i);
            let fill = if dragged {
                c.gamma_multiply(0.1)
            } else {
                c.gamma_multiply(if selected { 0.55 } else { 0.25 })
            };
            p.rect_filled(b, 5.0, fill);
            let stroke = if failed_layer == Some(i) {
                Stroke::new(2.5, ERR)
            } else if selected {
                Stroke::new(2.5, fg)
            } else {
                Stroke::new(1.5, c)
            };
            p.rect_stroke(b, 5.0, stroke, StrokeKind::Inside);
            p.text(
                b.center(),
                Align2::CENTER_CENTER,
                box_text(layer, l.box_text),
                FontId::proportional(13.0),
                fg,
            );
            p.text(
                at(l.numbers[i]),
                Align2::RIGHT_CENTER,
                format!("{}", i + 1),
                FontId::monospace(12.0),
                weak,
            );
        }
        if let Some(b) = &l.scale {
            let rr = r(b);
            let c = Color32::from_rgb(200, 170, 40);
            p.rect_filled(rr, 5.0, c.gamma_multiply(0.25));
            p.rect_stroke(rr, 5.0, Stroke::new(1.5, c), StrokeKind::Inside);
            p.text(
                rr.center(),
                Align2::CENTER_CENTER,
                format!("× {}", d.residual_scale),
                FontId::proportional(13.0),
                fg,
            );
        }
        // The addition node, or the lane running straight through in a plain block.
        match l.plus {
            Some((c, rad)) => {
                let aimed = self.state.after_add;
                let (fill, stroke) = if mismatch {
                    (ERR.gamma_multiply(0.4), Stroke::new(2.5, ERR))
                } else if aimed {
                    (TICK.gamma_multiply(0.25), Stroke::new(2.0, TICK))
                } else {
                    (ui.visuals().faint_bg_color, Stroke::new(1.5, fg))
                };
                p.circle_filled(at(c), rad, fill);
                p.circle_stroke(at(c), rad, stroke);
                p.text(
                    at(c),
                    Align2::CENTER_CENTER,
                    "+",
                    FontId::proportional(18.0),
                    if mismatch { ERR } else { fg },
                );
            }
            None => {
                p.line_segment(
                    [
                        at(Pt {
                            x: l.main_x,
                            y: l.add_y - 15.0,
                        }),
                        at(Pt {
                            x: l.main_x,
                            y: l.add_y + 13.0,
                        }),
                    ],
                    Stroke::new(1.5, fg),
                );
                p.text(
                    at(l.plain_note),
                    Align2::CENTER_CENTER,
                    "no shortcut (plain)",
                    FontId::proportional(12.0),
                    weak,
                );
            }
        }
        // The shortcut lane: out of the input, down the right, into the addition.
        if let Some(s) = &l.shortcut {
            let lane_c = if mismatch { ERR } else { SKIP };
            let lane = Stroke::new(2.0, lane_c);
            p.circle_filled(at(s.path[0]), 3.0, lane_c);
            let pts: Vec<Pos2> = s.path.iter().map(|q| at(*q)).collect();
            p.add(egui::Shape::line(pts, lane));
            match (&s.boxed, d.shortcut) {
                (Some(b), sc) => {
                    let rr = r(b);
                    p.rect_filled(rr, 5.0, ui.visuals().panel_fill);
                    p.rect_filled(rr, 5.0, lane_c.gamma_multiply(0.25));
                    p.rect_stroke(rr, 5.0, lane, StrokeKind::Inside);
                    let text = match (sc, l.box_text) {
                        (Shortcut::Projection, BoxText::Full) => "Conv 1x1 + BN (projection)",
                        (Shortcut::Projection, BoxText::Short) => "1x1 conv + BN",
                        (_, BoxText::Full) => "subsample + zero-pad",
                        (_, BoxText::Short) => "zero-pad",
                    };
                    p.text(
                        rr.center(),
                        Align2::CENTER_CENTER,
                        text,
                        FontId::proportional(12.0),
                        fg,
                    );
                }
                (None, _) => {
                    p.text(
                        at(s.caption),
                        Align2::RIGHT_CENTER,
                        "identity",
                        FontId::proportional(12.0),
                        lane_c,
                    );
                }
            }
            arrow(&p, at(s.arrow.0), at(s.arrow.1), lane);
        }
        // g after the addition, or a dashed slot offering it.
        let g = r(&l.relu);
        if l.relu_present {
            let c = layer_color(&LayerSpec::ReLU);
            p.rect_filled(g, 5.0, c.gamma_multiply(0.25));
            p.rect_stroke(g, 5.0, Stroke::new(1.5, c), StrokeKind::Inside);
            p.text(
                g.center(),
                Align2::CENTER_CENTER,
                "g = ReLU",
                FontId::proportional(13.0),
                fg,
            );
        } else {
            let c = if self.state.after_add { TICK } else { weak };
            let dash = egui::Shape::dashed_line(
                &[
                    g.left_top(),
                    g.right_top(),
                    g.right_bottom(),
                    g.left_bottom(),
                    g.left_top(),
                ],
                Stroke::new(1.0, c),
                4.0,
                3.0,
            );
            p.extend(dash);
            p.text(
                g.center(),
                Align2::CENTER_CENTER,
                "+ g = ReLU here",
                FontId::proportional(12.0),
                c,
            );
        }
        // Shapes are real labels, so screen readers and tests can find them.
        for s in &l.shapes {
            let color = if s.bad { ERR } else { weak };
            let text = RichText::new(&s.text).monospace().color(color);
            let align = if s.right_aligned {
                egui::Align::RIGHT
            } else {
                egui::Align::Center
            };
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(r(&s.rect)));
            child.with_layout(egui::Layout::top_down(align), |ui| {
                ui.add(egui::Label::new(text).selectable(false))
            });
        }
        // A tick across the lane where the palette will put the next item.
        if n > 0 || self.state.after_add {
            let y = l.tick_y(self.cursor());
            let x = l.main_x;
            p.line_segment(
                [at(Pt { x: x - 9.0, y }), at(Pt { x: x + 9.0, y })],
                Stroke::new(3.0, TICK),
            );
        }
        if n == 0 {
            p.text(
                at(Pt {
                    x: l.main_x + l.main_w / 2.0 + 12.0,
                    y: l.input.center().y,
                }),
                Align2::LEFT_CENTER,
                "add layers from the palette",
                FontId::proportional(12.0),
                weak,
            );
        }
    }

    /// Clicks select (a layer, or the place after the +), drags reorder.
    fn interact(
        &mut self,
        ui: &mut Ui,
        l: &CanvasLayout,
        at: &dyn Fn(Pt) -> Pos2,
        r: &dyn Fn(&Bx) -> Rect,
    ) {
        let d = self.state.draft.clone();
        let report = d.report();
        let n = d.body.len();
        let id = ui.make_persistent_id("builder-layer-box");
        let pointer = ui.ctx().pointer_interact_pos();
        let to_pt = |p: Pos2| {
            let o = at(Pt { x: 0.0, y: 0.0 });
            Pt {
                x: p.x - o.x,
                y: p.y - o.y,
            }
        };
        let mut drop: Option<(usize, usize)> = None;
        for i in 0..n {
            let resp = ui.interact(r(&l.boxes[i]), id.with(i), Sense::click_and_drag());
            let label = format!("layer {}: {}", i + 1, d.body[i].label());
            let enabled = ui.is_enabled();
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, &label));
            let shapes = match (report.edges.get(i), report.edges.get(i + 1)) {
                (Some(a), Some(b)) => format!("{a} -> {b}"),
                (Some(a), None) => format!("{a} -> does not compute"),
                _ => "after a layer that does not compute".into(),
            };
            let resp = resp.on_hover_text(format!(
                "{}\n{shapes}\nclick to select, drag to move",
                d.body[i].label()
            ));
            if resp.clicked() {
                let again = self.state.selected == Some(i) && !self.state.after_add;
                self.select(if again { None } else { Some(i) });
            }
            if resp.dragged()
                && let Some(pos) = pointer
            {
                self.drag = Some((i, l.drop_slot(i, to_pt(pos).y)));
            }
            if resp.drag_stopped()
                && let Some(fromto) = self.drag.take()
            {
                drop = Some(fromto);
            }
            if resp.hovered() {
                ui.ctx().set_cursor_icon(egui::CursorIcon::Grab);
            }
        }
        // The + node aims the palette after the addition; the slot for g adds it.
        if let Some((c, rad)) = l.plus {
            let node = Rect::from_center_size(at(c), vec2(rad * 2.0, rad * 2.0));
            let resp = ui.interact(node, id.with("plus"), Sense::click());
            let enabled = ui.is_enabled();
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Button, enabled, "the addition (+)")
            });
            if resp
                .on_hover_text("Click to add after the addition: the next palette ReLU becomes g")
                .clicked()
            {
                self.aim_after_add();
            }
        }
        if !l.relu_present {
            let resp = ui.interact(r(&l.relu), id.with("g-slot"), Sense::click());
            let enabled = ui.is_enabled();
            resp.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Button, enabled, "+ g = ReLU here")
            });
            if resp
                .on_hover_text("Add the ReLU after the addition: a[l+2] = g(z[l+2] + a[l])")
                .clicked()
            {
                self.edit(&crate::builder::Edit::SetReluAfter(true), None);
            }
        }
        if let (Some((from, to)), Some(pos)) = (self.drag, pointer)
            && let Some(layer) = d.body.get(from)
        {
            // The dragged box follows the pointer; a line marks where it will land.
            let b = Rect::from_center_size(
                pos2(
                    at(Pt {
                        x: l.main_x,
                        y: 0.0,
                    })
                    .x,
                    pos.y,
                ),
                vec2(l.main_w, l.box_h),
            );
            let c = layer_color(layer);
            let fg = ui.visuals().strong_text_color();
            let top = ui
                .ctx()
                .layer_painter(egui::LayerId::new(egui::Order::Tooltip, id.with("drag")));
            top.rect_filled(b, 5.0, c.gamma_multiply(0.6));
            top.text(
                b.center(),
                Align2::CENTER_CENTER,
                box_text(layer, l.box_text),
                FontId::proportional(13.0),
                fg,
            );
            // Below box `to` when moving down, above it when moving up.
            let slot_y = if to >= from {
                l.slot_y.get(to + 1)
            } else {
                l.slot_y.get(to)
            };
            if let Some(&y) = slot_y {
                let half = l.main_w / 2.0;
                ui.painter().line_segment(
                    [
                        at(Pt {
                            x: l.main_x - half,
                            y,
                        }),
                        at(Pt {
                            x: l.main_x + half,
                            y,
                        }),
                    ],
                    Stroke::new(3.0, TICK),
                );
            }
        }
        if let Some((from, to)) = drop
            && from != to
        {
            self.edit(&crate::builder::Edit::Move { from, to }, None);
            self.select(Some(to));
        }
    }
}

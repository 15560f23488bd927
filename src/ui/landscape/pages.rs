//! The three pages of the Landscape tab (contours, 3-D surfaces, curves) and the figures line:
//! where each panel goes; `paint` draws them.
use super::{LandscapeView, paint};
use crate::landscape::Landscape;
use crate::plot::landscape as pictures;
use crate::ui::plots;
use egui::{Rect, Sense, Ui, vec2};

impl LandscapeView {
    /// The area below the controls, split into one panel per net and a colour bar strip.
    pub(super) fn panels(ui: &mut Ui, n: usize, sense: Sense) -> (Vec<Rect>, Rect, egui::Response) {
        let w = ui.available_width();
        let h = (ui.available_height() - 48.0).clamp(160.0, w * 0.55);
        let (rect, resp) = ui.allocate_exact_size(vec2(w, h), sense);
        let bar_w = 70.0;
        let pw = (w - bar_w) / n.max(1) as f32;
        let rects = (0..n)
            .map(|i| Rect::from_min_size(rect.min + vec2(i as f32 * pw, 0.0), vec2(pw, h)))
            .collect();
        let bar = Rect::from_min_max(rect.right_top() - vec2(bar_w, 0.0), rect.max);
        (rects, bar, resp)
    }

    pub(super) fn contours(&mut self, ui: &mut Ui, l: &Landscape) {
        let Some(d) = &self.drawn else { return };
        if d.contours.is_empty() {
            ui.weak("Choose a plain net and its residual twin, then press ▶ Compute: each net's loss is evaluated on a grid around its trained weights, along two random filter-normalised directions.");
            return;
        }
        let (rects, bar, resp) = Self::panels(ui, d.contours.len(), Sense::hover());
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "Contour plots"));
        for ((p, t), r) in d.contours.iter().zip(&d.textures).zip(rects) {
            paint::contour_panel(ui, r, p, Some(t));
        }
        paint::color_bar(ui, bar, &d.levels);
        Self::figures_line(ui, l);
    }

    pub(super) fn surfaces(&mut self, ui: &mut Ui) {
        let Some(d) = &self.drawn else { return };
        let Some((_, scenes)) = &d.scenes else { return };
        if scenes.is_empty() {
            ui.weak("Nothing computed yet.");
            return;
        }
        let (rects, bar, resp) = Self::panels(ui, scenes.len(), Sense::drag());
        for (s, r) in scenes.iter().zip(rects) {
            paint::scene_panel(ui, r, s);
        }
        paint::color_bar(ui, bar, &d.levels);
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "3-D surfaces"));
        let resp = resp.on_hover_text("Drag to turn the surfaces");
        if resp.dragged() {
            let dlt = resp.drag_delta();
            self.view3 = self.view3.dragged(-dlt.x as f64 * 0.5, dlt.y as f64 * 0.3);
        }
        ui.weak(format!(
            "Azimuth {:.0}°, elevation {:.0}°: drag the pictures to turn them. Both share one height scale.",
            self.view3.azimuth, self.view3.elevation
        ));
    }

    pub(super) fn curves(&mut self, ui: &mut Ui, l: &Landscape) {
        let ctx = ui.ctx().clone();
        // Two rows of charts, each under its title, buttons and legend (about 70 px).
        let h = ((ui.available_height() - 150.0) / 2.0).clamp(100.0, 400.0);
        let mut asked = Vec::new();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.columns(2, |cols| {
                let c = pictures::line_chart(l, false);
                if let Some(k) = plots::chart(&mut cols[0], &c, h) {
                    asked.push((c, k));
                }
                let c = pictures::line_chart(l, true);
                if let Some(k) = plots::chart(&mut cols[1], &c, h) {
                    asked.push((c, k));
                }
            });
            let c = pictures::slice_chart(l);
            if let Some(k) = plots::chart(ui, &c, h) {
                asked.push((c, k));
            }
        });
        for (c, k) in asked {
            self.exporter.export(c, k, crate::ui::repaint_wake(&ctx));
        }
    }

    /// Each net's figures, once its grid is complete (never from a partial grid).
    fn figures_line(ui: &mut Ui, l: &Landscape) {
        if !l.is_complete() {
            if !l.nets.is_empty() {
                ui.weak("Figures (share of non-convex points, curvature ratio) appear when every point is computed.");
            }
            return;
        }
        ui.horizontal_wrapped(|ui| {
            for n in &l.nets {
                if let (Some(f), Some(c)) = (n.figures(), n.surface.centre()) {
                    ui.label(format!(
                        "{}: trained loss {:.3}; not locally convex at {:.0}% of points; curvature ratio {:.2}.",
                        n.label,
                        c.loss,
                        f.nonconvex_share * 100.0,
                        f.curvature_ratio
                    ));
                }
            }
        })
        .response
        .on_hover_text("Curvature ratio: where the surface bends down along some direction, how strongly compared with how it bends up (-min/max curvature of the plotted surface, averaged over the grid; Li et al. take the same ratio of Hessian eigenvalues). 0 everywhere is a bowl.");
    }
}

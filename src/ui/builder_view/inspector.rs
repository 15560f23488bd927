//! The side panel of the block editor: check results with their fixes, shape problems with
//! theirs, then the block's settings, the selected layer, costs and the way out to training.
//! What needs acting on comes first, so a fix is never below the fold.
use super::{BuilderAction, BuilderView, OK, human};
use crate::builder::{BlockReport, Edit};
use crate::nn::{LayerSpec, Shortcut};
use egui::{RichText, Ui};

impl BuilderView {
    pub(super) fn inspector(
        &mut self,
        ui: &mut Ui,
        report: &BlockReport,
        action: &mut Option<BuilderAction>,
    ) {
        self.grade_panel(ui, action);
        self.shape_panel(ui, report);
        ui.heading("Block");
        let mut input = self.state.draft.input;
        ui.horizontal(|ui| {
            ui.label("Input");
            let l = ui.label("C");
            ui.add(egui::DragValue::new(&mut input.c).range(1..=4096))
                .labelled_by(l.id);
            let l = ui.label("H");
            ui.add(egui::DragValue::new(&mut input.h).range(1..=1024))
                .labelled_by(l.id);
            let l = ui.label("W");
            ui.add(egui::DragValue::new(&mut input.w).range(1..=1024))
                .labelled_by(l.id);
        });
        if input != self.state.draft.input {
            self.edit(&Edit::SetInput(input), Some("input".into()));
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Shortcut:");
            let mut sc = self.state.draft.shortcut;
            for s in [
                Shortcut::Identity,
                Shortcut::Projection,
                Shortcut::ZeroPadA,
                Shortcut::None,
            ] {
                ui.radio_value(&mut sc, s, s.to_string());
            }
            if sc != self.state.draft.shortcut {
                self.edit(&Edit::SetShortcut(sc), None);
            }
        });
        ui.horizontal(|ui| {
            let l = ui.label("Residual scale");
            let mut v = self.state.draft.residual_scale;
            ui.add(egui::DragValue::new(&mut v).range(0.0..=10.0).speed(0.01))
                .labelled_by(l.id)
                .on_hover_text("The body's output is multiplied by this before the addition");
            if v != self.state.draft.residual_scale {
                self.edit(&Edit::SetScale(v), Some("scale".into()));
            }
        });
        let mut relu = self.state.draft.relu_after;
        if ui
            .checkbox(&mut relu, "ReLU after the addition")
            .on_hover_text("g in a[l+2] = g(z[l+2] + a[l])")
            .changed()
        {
            self.edit(&Edit::SetReluAfter(relu), None);
        }
        ui.separator();
        self.selected_layer(ui);
        ui.separator();
        egui::Grid::new("block-stats")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("Output");
                ui.label(
                    report
                        .output()
                        .map_or("does not compute".into(), |s| s.to_string()),
                );
                ui.end_row();
                ui.label("Parameters");
                ui.label(format!(
                    "{} ({})",
                    report.params,
                    human(report.params as f64)
                ));
                ui.end_row();
                ui.label("FLOPs per image");
                ui.label(human(report.flops as f64));
                ui.end_row();
            });
        ui.add_space(6.0);
        if ui
            .add_enabled(
                report.error.is_none(),
                egui::Button::new("Train this block"),
            )
            .on_hover_text(format!(
                "Train a small net around this block ({} classes) in the Train tab",
                self.state.classes
            ))
            .on_disabled_hover_text("Fix the block first")
            .clicked()
        {
            *action = Some(BuilderAction::Train(
                self.state.draft.to_net(self.state.classes),
            ));
        }
    }

    /// The last Check: passed, or each problem in a sentence with its one-click fix under it.
    fn grade_panel(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        let Some(g) = self.grade.clone() else {
            return;
        };
        if g.passed() {
            ui.label(
                RichText::new(
                    "✔ Passed: every shape, the shortcut and the order of layers are right.",
                )
                .color(OK)
                .strong(),
            );
            ui.separator();
            return;
        }
        ui.label(
            RichText::new(format!("Not yet: {} problem(s).", g.problems.len()))
                .color(ui.visuals().error_fg_color)
                .strong(),
        );
        let mut chosen = None;
        for (i, p) in g.problems.iter().enumerate() {
            ui.label(format!("• {p}"));
            if let Some(fix) = g.mistakes.get(i).and_then(|m| m.fix.as_ref())
                && ui
                    .button(format!("Fix: {}", fix.label))
                    .on_hover_text("Apply this correction (Undo takes it back) and check again")
                    .clicked()
            {
                chosen = Some(fix.edits.clone());
            }
        }
        if let Some(edits) = chosen {
            self.edit_many(&edits);
            self.regrade(action);
        }
        ui.separator();
    }

    /// A block whose shapes do not fit: the reason, and the fixes that would make them fit.
    fn shape_panel(&mut self, ui: &mut Ui, report: &BlockReport) {
        let Some(e) = &report.error else {
            ui.label(RichText::new("✔ The shapes fit.").color(OK));
            return;
        };
        ui.label(
            RichText::new(e.to_string())
                .color(ui.visuals().error_fg_color)
                .strong(),
        );
        let mut chosen = None;
        if !report.fixes.is_empty() {
            ui.label("One-click fixes:");
            ui.horizontal_wrapped(|ui| {
                for f in &report.fixes {
                    if ui.button(f.label()).clicked() {
                        chosen = Some(f.edit(&self.state.draft));
                    }
                }
            });
        }
        if let Some(e) = chosen {
            self.edit(&e, None);
        }
        ui.separator();
    }

    fn selected_layer(&mut self, ui: &mut Ui) {
        let n = self.state.draft.body.len();
        let Some(i) = self.state.selected.filter(|&i| i < n) else {
            ui.weak("Click a layer to select it; drag it to reorder.");
            return;
        };
        ui.label(
            RichText::new(format!(
                "Layer {}: {}",
                i + 1,
                self.state.draft.body[i].label()
            ))
            .strong(),
        );
        if let LayerSpec::Conv {
            out,
            k,
            stride,
            pad,
        } = self.state.draft.body[i].clone()
        {
            let (mut o, mut kk, mut s, mut pd) = (out, k, stride, pad);
            egui::Grid::new("conv-params")
                .num_columns(2)
                .show(ui, |ui| {
                    let l = ui.label("Filters");
                    ui.add(egui::DragValue::new(&mut o).range(1..=4096))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Kernel");
                    ui.add(egui::DragValue::new(&mut kk).range(1..=15))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Stride");
                    ui.add(egui::DragValue::new(&mut s).range(1..=8))
                        .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Padding");
                    ui.add(egui::DragValue::new(&mut pd).range(0..=8))
                        .labelled_by(l.id);
                    ui.end_row();
                });
            // "Same" padding follows the kernel unless the learner chose another padding.
            if kk != k && pd == k / 2 {
                pd = (kk / 2).min(8);
            }
            if (o, kk, s, pd) != (out, k, stride, pad) {
                let layer = LayerSpec::Conv {
                    out: o,
                    k: kk,
                    stride: s,
                    pad: pd,
                };
                self.edit(&Edit::Replace { at: i, layer }, Some(format!("layer{i}")));
            }
        }
        ui.horizontal(|ui| {
            if ui
                .add_enabled(i > 0, egui::Button::new("Move up"))
                .clicked()
            {
                self.edit(&Edit::Move { from: i, to: i - 1 }, None);
                self.state.selected = Some(i - 1);
            }
            if ui
                .add_enabled(i + 1 < n, egui::Button::new("Move down"))
                .clicked()
            {
                self.edit(&Edit::Move { from: i, to: i + 1 }, None);
                self.state.selected = Some(i + 1);
            }
            if ui.button("Delete").on_hover_text("Delete key").clicked() {
                self.delete(i);
            }
        });
        // A ReLU at the end of the main path sits before the +: offer to make it g instead.
        if i + 1 == n
            && self.state.draft.body[i] == LayerSpec::ReLU
            && !self.state.draft.relu_after
            && self.state.draft.shortcut != Shortcut::None
            && ui
                .button("Move this ReLU after the +")
                .on_hover_text("Make it g: a[l+2] = g(z[l+2] + a[l])")
                .clicked()
        {
            self.edit_many(&[Edit::Remove { at: i }, Edit::SetReluAfter(true)]);
            self.select(self.state.draft.body.len().checked_sub(1));
        }
    }
}

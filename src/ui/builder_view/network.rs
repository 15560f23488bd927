//! The Network page: presets, the plain twin, shapes and costs of every layer, and a strip
//! that shows the whole net at a glance.
use super::{BuilderAction, BuilderView, SKIP, human};
use crate::nn::presets::{self, PAPER_DEPTHS, ShortcutOption};
use crate::nn::{BlockSpec, LayerInfo, LayerSpec, NetSpec};
use egui::{
    Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, StrokeKind, Ui, pos2, vec2,
};

/// The net of the bottleneck preset: one stage of ResNet-50 style blocks, small enough to train.
pub fn bottleneck_stage(classes: usize) -> NetSpec {
    let named = |mut b: BlockSpec, name: &str| {
        b.name = name.into();
        LayerSpec::Block(b)
    };
    NetSpec {
        name: "bottleneck stage".into(),
        layers: vec![
            LayerSpec::Conv {
                out: 16,
                k: 3,
                stride: 1,
                pad: 1,
            },
            LayerSpec::BatchNorm,
            LayerSpec::ReLU,
            named(presets::bottleneck_conv(16, 64, 2), "stage1.block1"),
            LayerSpec::ReLU,
            named(presets::bottleneck_identity(64, 16), "stage1.block2"),
            LayerSpec::ReLU,
            named(presets::bottleneck_identity(64, 16), "stage1.block3"),
            LayerSpec::ReLU,
            LayerSpec::GlobalAvgPool,
            LayerSpec::Linear { out: classes },
        ],
    }
}

/// Layers of a net grouped for the overview: the stem, one group per stage prefix, the head.
fn group_layers(layers: &[LayerInfo]) -> Vec<(String, Vec<&LayerInfo>)> {
    let mut groups: Vec<(String, Vec<&LayerInfo>)> = Vec::new();
    for l in layers {
        let key = if l.name.contains('.') {
            l.name.split('.').next().unwrap_or_default().to_string()
        } else if matches!(l.kind.as_str(), "GlobalAvgPool") || l.kind.starts_with("Linear") {
            "head".to_string()
        } else if l.kind.starts_with("Block") {
            l.name.clone()
        } else if let Some((name, _)) = groups.last() {
            // A ReLU after a block belongs with that block's stage.
            name.clone()
        } else {
            "stem".to_string()
        };
        match groups.last_mut() {
            Some((name, v)) if *name == key => v.push(l),
            _ => groups.push((key, vec![l])),
        }
    }
    groups
}

impl BuilderView {
    pub(super) fn network_page(&mut self, ui: &mut Ui, action: &mut Option<BuilderAction>) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Presets:");
            for depth in PAPER_DEPTHS {
                if ui
                    .button(format!("ResNet-{depth}"))
                    .on_hover_text("The paper's CIFAR net: 6n+2 layers in three stages")
                    .clicked()
                    && let Some(net) = presets::cifar(
                        depth,
                        true,
                        self.state.option,
                        self.state.width,
                        self.state.classes,
                    )
                {
                    self.state.net = net;
                    self.state.preset_depth = Some(depth);
                }
            }
            if ui
                .button("Bottleneck stage")
                .on_hover_text("One stage of ResNet-50 style 1x1-3x3-1x1 blocks")
                .clicked()
            {
                self.state.net = bottleneck_stage(self.state.classes);
                self.state.preset_depth = None;
            }
            if ui
                .button("My block")
                .on_hover_text("The block from the block editor in a small net")
                .clicked()
            {
                self.state.net = self.state.draft.to_net(self.state.classes);
                self.state.preset_depth = None;
            }
        });
        let (option, width) = (self.state.option, self.state.width);
        ui.horizontal_wrapped(|ui| {
            ui.label("Shortcuts across a width change:");
            ui.radio_value(&mut self.state.option, ShortcutOption::A, "A: zero-pad");
            ui.radio_value(&mut self.state.option, ShortcutOption::B, "B: projection");
            let l = ui.label("Base width");
            ui.add(egui::DragValue::new(&mut self.state.width).range(2..=64))
                .labelled_by(l.id)
                .on_hover_text("Filters in the first stage of the ResNet presets");
            ui.separator();
            ui.checkbox(&mut self.state.plain, "Plain twin (remove every shortcut)");
        });
        if (option, width) != (self.state.option, self.state.width)
            && let Some(depth) = self.state.preset_depth
            && let Some(net) = presets::cifar(
                depth,
                true,
                self.state.option,
                self.state.width,
                self.state.classes,
            )
        {
            self.state.net = net;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Input");
            let l = ui.label("Channels");
            ui.add(egui::DragValue::new(&mut self.state.net_input.c).range(1..=64))
                .labelled_by(l.id);
            let l = ui.label("Height");
            ui.add(egui::DragValue::new(&mut self.state.net_input.h).range(1..=512))
                .labelled_by(l.id);
            let l = ui.label("Width");
            ui.add(egui::DragValue::new(&mut self.state.net_input.w).range(1..=512))
                .labelled_by(l.id);
            let l = ui.label("Classes");
            let before = self.state.classes;
            ui.add(egui::DragValue::new(&mut self.state.classes).range(2..=1000))
                .labelled_by(l.id);
            if self.state.classes != before
                && let Some(LayerSpec::Linear { out }) = self.state.net.layers.last_mut()
            {
                *out = self.state.classes;
            }
        });
        ui.separator();
        let net = self.shown_net();
        let info = net.validate(self.state.net_input);
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&net.name).strong().size(16.0));
            if let Ok(i) = &info {
                ui.separator();
                ui.label(format!("depth {}", i.depth));
                ui.separator();
                ui.label(format!("{} parameters", human(i.params as f64)));
                ui.separator();
                ui.label(format!("{}FLOPs per image", human(i.flops as f64)));
                ui.separator();
                ui.label(format!("output {}", i.output));
            }
            ui.separator();
            if ui
                .add_enabled(info.is_ok(), egui::Button::new("Train this network"))
                .on_disabled_hover_text("The network does not compute yet")
                .clicked()
            {
                *action = Some(BuilderAction::Train(net.clone()));
            }
        });
        let info = match info {
            Ok(i) => i,
            Err(e) => {
                ui.label(
                    RichText::new(e.to_string())
                        .color(ui.visuals().error_fg_color)
                        .strong(),
                );
                return;
            }
        };
        self.strip(ui, &info.layers);
        ui.separator();
        let groups = group_layers(&info.layers);
        // Small nets open fully; deep ones start folded so 300+ rows never swamp the page.
        let open = info.layers.len() <= 40;
        egui::ScrollArea::vertical()
            .id_salt("net-layers")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (gi, (name, layers)) in groups.iter().enumerate() {
                    let blocks = layers
                        .iter()
                        .filter(|l| l.kind.starts_with("Block"))
                        .count();
                    let params: usize = layers
                        .iter()
                        .filter(|l| l.depth == 0)
                        .map(|l| l.params)
                        .sum();
                    let out = layers
                        .last()
                        .map_or(String::new(), |l| l.output.to_string());
                    let head = if blocks > 0 {
                        format!(
                            "{name}: {blocks} blocks, {} params, out {out}",
                            human(params as f64)
                        )
                    } else {
                        format!(
                            "{name}: {} layers, {} params, out {out}",
                            layers.len(),
                            human(params as f64)
                        )
                    };
                    egui::CollapsingHeader::new(head)
                        .id_salt(("net-group", gi, name))
                        .default_open(open)
                        .show(ui, |ui| {
                            egui::Grid::new(("net-grid", gi))
                                .striped(true)
                                .num_columns(6)
                                .show(ui, |ui| {
                                    for h in ["layer", "kind", "in", "out", "params", "FLOPs"] {
                                        ui.label(RichText::new(h).strong());
                                    }
                                    ui.end_row();
                                    for l in layers {
                                        let indent = "  ".repeat(l.depth);
                                        ui.monospace(format!("{indent}{}", l.name));
                                        ui.label(&l.kind);
                                        ui.monospace(l.input.to_string());
                                        ui.monospace(l.output.to_string());
                                        ui.label(l.params.to_string());
                                        ui.label(human(l.flops as f64));
                                        ui.end_row();
                                    }
                                });
                        });
                }
            });
    }

    /// One small mark per top-level layer, blocks taller with their skip drawn above: the whole
    /// net at a glance, even at 110 layers.
    fn strip(&mut self, ui: &mut Ui, layers: &[LayerInfo]) {
        ui.horizontal_wrapped(|ui| {
            let l = ui.label("Zoom");
            ui.add(
                egui::Slider::new(&mut self.state.strip_zoom, 0.3..=3.0)
                    .logarithmic(true)
                    .show_value(false),
            )
            .labelled_by(l.id);
            ui.weak("green: blocks with a skip; grey: no skip; yellow: the skip changes shape. Hover for shapes.");
        });
        let top: Vec<&LayerInfo> = layers.iter().filter(|l| l.depth == 0).collect();
        let z = self.state.strip_zoom.clamp(0.3, 3.0);
        let w = |l: &LayerInfo| {
            if l.kind.starts_with("Block") {
                14.0
            } else {
                5.0
            }
        } * z;
        let total: f32 = top.iter().map(|l| w(l) + 2.0 * z).sum::<f32>() + 20.0;
        let fg = ui.visuals().strong_text_color();
        let weak = ui.visuals().weak_text_color();
        egui::ScrollArea::horizontal()
            .id_salt("net-strip")
            .show(ui, |ui| {
                let (rect, resp) = ui.allocate_exact_size(vec2(total, 66.0), Sense::hover());
                let p = ui.painter_at(rect);
                let mut x = rect.left() + 10.0;
                let base = rect.bottom() - 8.0;
                let mut hovered = None;
                let mut stage = String::new();
                for l in &top {
                    let bw = w(l);
                    let block = l.kind.starts_with("Block");
                    let plain = l.kind.contains("none shortcut");
                    let h = if block { 26.0 } else { 14.0 };
                    let r = Rect::from_min_size(pos2(x, base - h), vec2(bw, h));
                    let c = if block && plain {
                        Color32::GRAY
                    } else if block {
                        SKIP
                    } else if l.kind.starts_with("Conv") {
                        Color32::from_rgb(70, 130, 220)
                    } else if l.kind == "ReLU" {
                        Color32::from_rgb(225, 140, 50)
                    } else if l.kind == "BatchNorm" {
                        Color32::from_rgb(150, 110, 210)
                    } else {
                        Color32::GRAY
                    };
                    p.rect_filled(r, 2.0, c.gamma_multiply(0.75));
                    if block {
                        let name = l.name.split('.').next().unwrap_or_default();
                        if name != stage && l.name.contains('.') {
                            stage = name.to_string();
                            p.text(
                                pos2(r.left(), rect.top() + 2.0),
                                Align2::LEFT_TOP,
                                name,
                                FontId::proportional(12.0),
                                weak,
                            );
                        }
                    }
                    if block && !plain {
                        let reshape = l.input != l.output;
                        let a = pos2(r.left(), r.top() - 2.0);
                        let b = pos2(r.right(), r.top() - 2.0);
                        let pts: Vec<Pos2> = (0..=8)
                            .map(|i| {
                                let t = i as f32 / 8.0;
                                let lift = (t * std::f32::consts::PI).sin() * 10.0;
                                pos2(a.x + (b.x - a.x) * t, a.y - lift)
                            })
                            .collect();
                        let sc = if reshape {
                            Color32::from_rgb(230, 190, 40)
                        } else {
                            SKIP
                        };
                        p.add(egui::Shape::line(pts, Stroke::new(1.4, sc)));
                    }
                    if let Some(pos) = resp.hover_pos()
                        && pos.x >= r.left() - z
                        && pos.x < r.right() + z
                    {
                        p.rect_stroke(r, 2.0, Stroke::new(1.5, fg), StrokeKind::Outside);
                        hovered = Some(*l);
                    }
                    x += bw + 2.0 * z;
                }
                if let Some(l) = hovered {
                    resp.on_hover_text(format!(
                        "{} ({})\n{} -> {}\n{} params",
                        l.name, l.kind, l.input, l.output, l.params
                    ));
                }
            });
    }
}

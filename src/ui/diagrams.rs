//! The lessons' figures, drawn with egui's painter so they follow the theme and need no files.
use crate::lessons::Diagram;
use crate::plot::{Family, family_color};
use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Sense, Shape, Stroke, Ui, pos2, vec2};

struct Pen<'a> {
    p: &'a Painter,
    r: Rect,
    fg: Color32,
    weak: Color32,
    /// The plots' hues: the (shallowest) plain net red, a deeper plain net beside it orange,
    /// the residual net blue.
    plain: Color32,
    plain_deep: Color32,
    res: Color32,
}

impl Pen<'_> {
    /// Maps unit coordinates (0..1, y down) into the diagram's rect.
    fn at(&self, x: f32, y: f32) -> Pos2 {
        pos2(
            self.r.left() + x * self.r.width(),
            self.r.top() + y * self.r.height(),
        )
    }
    fn text(&self, x: f32, y: f32, s: &str, size: f32, c: Color32) {
        self.p.text(
            self.at(x, y),
            Align2::CENTER_CENTER,
            s,
            FontId::proportional(size),
            c,
        );
    }
    fn boxed(&self, x: f32, y: f32, w: f32, h: f32, s: &str, c: Color32) {
        let rect =
            Rect::from_center_size(self.at(x, y), vec2(w * self.r.width(), h * self.r.height()));
        self.p.rect_filled(rect, 4.0, c.gamma_multiply(0.25));
        self.p
            .rect_stroke(rect, 4.0, Stroke::new(1.5, c), egui::StrokeKind::Inside);
        self.p.text(
            rect.center(),
            Align2::CENTER_CENTER,
            s,
            FontId::proportional(12.0),
            self.fg,
        );
    }
    fn arrow(&self, a: Pos2, b: Pos2, c: Color32) {
        self.p.arrow(a, b - a, Stroke::new(1.5, c));
    }
    fn line(&self, pts: Vec<Pos2>, c: Color32, w: f32) {
        self.p.add(Shape::line(pts, Stroke::new(w, c)));
    }
    fn curve(&self, f: impl Fn(f32) -> f32, x0: f32, x1: f32, c: Color32) {
        let pts = (0..=40)
            .map(|i| {
                let x = x0 + (x1 - x0) * i as f32 / 40.0;
                self.at(x, f(x))
            })
            .collect();
        self.line(pts, c, 2.5);
    }
    fn dashed_curve(&self, f: impl Fn(f32) -> f32, x0: f32, x1: f32, c: Color32) {
        let pts: Vec<Pos2> = (0..=40)
            .map(|i| {
                let x = x0 + (x1 - x0) * i as f32 / 40.0;
                self.at(x, f(x))
            })
            .collect();
        self.p
            .extend(Shape::dashed_line(&pts, Stroke::new(2.0, c), 7.0, 5.0));
    }
    fn plus_r(&self, x: f32, y: f32, r: f32) {
        let c = self.at(x, y);
        self.p.circle_stroke(c, r, Stroke::new(1.5, self.fg));
        self.p.text(
            c,
            Align2::CENTER_CENTER,
            "+",
            FontId::proportional(r * 1.6),
            self.fg,
        );
    }
    /// A shortcut into a + node of radius `r` (points): out at (x, y0), down at `x_out`, and in
    /// from the side with the arrow's head on the node's rim.
    fn skip_r(&self, x: f32, y0: f32, y1: f32, x_out: f32, r: f32, c: Color32) {
        let rim = x + r / self.r.width();
        self.p.circle_filled(self.at(x, y0), 2.5, c);
        self.line(
            vec![
                self.at(x, y0),
                self.at(x_out, y0),
                self.at(x_out, y1),
                self.at(rim + 0.04, y1),
            ],
            c,
            1.8,
        );
        self.arrow(self.at(rim + 0.045, y1), self.at(rim, y1), c);
    }
    fn plus(&self, x: f32, y: f32) {
        let c = self.at(x, y);
        self.p.circle_stroke(c, 9.0, Stroke::new(1.5, self.fg));
        self.p.text(
            c,
            Align2::CENTER_CENTER,
            "+",
            FontId::proportional(15.0),
            self.fg,
        );
    }
    /// A shortcut: leaves the main path at (x, y0), runs down the right at `x_out`, and enters
    /// the + node at (x, y1) from the side.
    fn skip(&self, x: f32, y0: f32, y1: f32, x_out: f32, c: Color32) {
        let node_r = 9.0 / self.r.width();
        self.line(
            vec![
                self.at(x, y0),
                self.at(x_out, y0),
                self.at(x_out, y1),
                self.at(x + node_r + 0.01, y1),
            ],
            c,
            1.8,
        );
        self.arrow(self.at(x + node_r + 0.04, y1), self.at(x + node_r, y1), c);
    }
    fn axes(&self, xl: &str, yl: &str) {
        self.line(
            vec![self.at(0.1, 0.08), self.at(0.1, 0.85), self.at(0.95, 0.85)],
            self.fg,
            1.2,
        );
        self.text(0.52, 0.94, xl, 12.0, self.fg);
        self.p.text(
            self.at(0.02, 0.45),
            Align2::LEFT_CENTER,
            yl,
            FontId::proportional(12.0),
            self.fg,
        );
    }
}

/// Draws `d` across the available width at `height` points tall.
pub fn show(ui: &mut Ui, d: Diagram, height: f32) {
    let (rect, _) = ui.allocate_exact_size(
        vec2(ui.available_width().min(520.0), height),
        Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    let dark = ui.visuals().dark_mode;
    let c = |rgb: [u8; 3]| Color32::from_rgb(rgb[0], rgb[1], rgb[2]);
    // The plots' colours for the first and second net of a family.
    let _ = dark;
    let (shallow, deep, res) = (
        family_color(Family::Plain, 0, 2),
        family_color(Family::Plain, 1, 2),
        family_color(Family::Residual, 0, 1),
    );
    let pen = Pen {
        p: &painter,
        r: rect.shrink(6.0),
        fg: ui.visuals().strong_text_color(),
        weak: ui.visuals().weak_text_color(),
        plain: c(shallow),
        plain_deep: c(deep),
        res: c(res),
    };
    painter.rect_stroke(
        rect,
        6.0,
        Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    match d {
        Diagram::DepthVsAccuracy => depth_vs_accuracy(&pen),
        Diagram::TrainingCurves => training_curves(&pen),
        Diagram::IdentityStack => identity_stack(&pen),
        Diagram::ResidualBlock => residual_block(&pen),
        Diagram::BlockTypes => block_types(&pen),
        Diagram::PlainVsResnet => plain_vs_resnet(&pen),
        Diagram::ErrorVsDepth => error_vs_depth(&pen),
        Diagram::GradientFlow => gradient_flow(&pen),
        Diagram::ResidualScaling => residual_scaling(&pen),
        Diagram::LossSurface => loss_surface(&pen),
    }
}

/// Two contour sketches side by side: the plain net's trained point (the cross) on a broad
/// plateau with a narrow valley beside it, the residual net's at the bottom of nested rings.
fn loss_surface(p: &Pen) {
    let ring = |cx: f32, cy: f32, rx: f32, ry: f32, wobble: f32, c: Color32| {
        let pts: Vec<Pos2> = (0..=48)
            .map(|i| {
                let t = i as f32 / 48.0 * std::f32::consts::TAU;
                let w = 1.0 + wobble * (3.0 * t).sin();
                p.at(cx + rx * w * t.cos(), cy + ry * w * t.sin())
            })
            .collect();
        p.line(pts, c, 1.5);
    };
    let cross = |x: f32, y: f32| {
        let a = p.at(x, y);
        let d = 5.0;
        p.line(vec![a - vec2(d, d), a + vec2(d, d)], p.fg, 2.0);
        p.line(vec![a - vec2(d, -d), a + vec2(d, -d)], p.fg, 2.0);
    };
    // Plain: a wide flat region (few, far apart, broken lines) and a narrow, steep valley.
    p.text(0.25, 0.07, "plain-56", 13.0, p.plain);
    for (k, r) in [0.1f32, 0.17, 0.24].iter().enumerate() {
        ring(
            0.36,
            0.55,
            r * 0.35,
            r * 0.9,
            0.25 + 0.1 * k as f32,
            p.plain,
        );
    }
    p.line(
        vec![p.at(0.05, 0.3), p.at(0.2, 0.36), p.at(0.18, 0.8)],
        p.plain.gamma_multiply(0.6),
        1.5,
    );
    cross(0.16, 0.52);
    p.text(0.22, 0.92, "trained point on a plateau", 11.0, p.weak);
    // Residual: nested closed rings around the trained point.
    p.text(0.75, 0.07, "resnet-56", 13.0, p.res);
    for r in [0.06f32, 0.12, 0.18, 0.24, 0.3] {
        ring(0.75, 0.52, r * 0.62, r * 1.25, 0.0, p.res);
    }
    cross(0.75, 0.52);
    p.text(0.75, 0.92, "trained point in a bowl", 11.0, p.weak);
}

fn depth_vs_accuracy(p: &Pen) {
    // Screen y grows downwards: a rising accuracy moves up the picture. Both curves start
    // together; the hoped-for one climbs and levels off, the real one peaks and falls away.
    p.axes("depth", "acc.");
    let hoped = |x: f32| 0.78 - 0.58 * (1.0 - (-(x - 0.12) * 3.2).exp());
    p.dashed_curve(hoped, 0.12, 0.92, p.weak);
    p.curve(
        |x| {
            let peak = 0.45;
            if x <= peak {
                hoped(x)
            } else {
                hoped(peak) + 1.6 * (x - peak) * (x - peak)
            }
        },
        0.12,
        0.92,
        p.plain,
    );
    p.text(0.78, 0.16, "ideal", 12.0, p.weak);
    p.text(0.6, 0.68, "real (plain nets)", 12.0, p.plain);
}

fn training_curves(p: &Pen) {
    // Screen y grows downwards, so a falling error curve moves down the picture. Same family,
    // so the same hue: the shallow net lighter, the deep one darker.
    p.axes("training step", "train err");
    p.curve(
        |x| 0.78 - 0.63 * (-(x - 0.1) * 6.0).exp(),
        0.1,
        0.95,
        p.plain,
    );
    p.curve(
        |x| 0.5 - 0.35 * (-(x - 0.1) * 4.0).exp(),
        0.1,
        0.95,
        p.plain_deep,
    );
    p.text(0.8, 0.7, "shallow plain", 12.0, p.plain);
    p.text(0.8, 0.42, "deep plain", 12.0, p.plain_deep);
}

fn identity_stack(p: &Pen) {
    for (i, y) in [0.14, 0.3, 0.46].iter().enumerate() {
        p.boxed(0.22, *y, 0.26, 0.11, &format!("layer {}", i + 1), p.plain);
        p.boxed(0.72, *y, 0.26, 0.11, &format!("layer {}", i + 1), p.plain);
    }
    for y in [0.62, 0.78] {
        p.boxed(0.72, y, 0.26, 0.11, "identity", p.res);
    }
    p.text(0.22, 0.6, "shallow net", 13.0, p.fg);
    p.text(0.47, 0.46, "=", 22.0, p.fg);
    p.text(0.72, 0.93, "deeper net, same function", 12.0, p.fg);
}

fn residual_block(p: &Pen) {
    p.text(0.35, 0.05, "a[l]", 13.0, p.fg);
    p.arrow(p.at(0.35, 0.09), p.at(0.35, 0.2), p.fg);
    p.boxed(0.35, 0.27, 0.36, 0.12, "conv + BN + ReLU", p.fg);
    p.arrow(p.at(0.35, 0.33), p.at(0.35, 0.43), p.fg);
    p.boxed(0.35, 0.5, 0.36, 0.12, "conv + BN", p.fg);
    p.arrow(p.at(0.35, 0.56), p.at(0.35, 0.66), p.fg);
    p.plus(0.35, 0.7);
    p.skip(0.35, 0.13, 0.7, 0.68, p.res);
    p.text(0.8, 0.4, "shortcut (identity)", 12.0, p.res);
    p.arrow(p.at(0.35, 0.74), p.at(0.35, 0.8), p.fg);
    p.boxed(0.35, 0.86, 0.18, 0.1, "g (ReLU)", p.fg);
    p.text(0.35, 0.97, "a[l+2] = g(z[l+2] + a[l])", 12.0, p.fg);
}

fn block_types(p: &Pen) {
    for (x, title, col) in [(0.22, "identity block", p.res), (0.68, "conv block", p.res)] {
        p.text(x, 0.05, title, 13.0, p.fg);
        p.arrow(p.at(x, 0.09), p.at(x, 0.19), p.fg);
        p.boxed(x, 0.25, 0.26, 0.11, "conv 3x3", p.fg);
        p.arrow(p.at(x, 0.31), p.at(x, 0.39), p.fg);
        p.boxed(x, 0.45, 0.26, 0.11, "conv 3x3", p.fg);
        p.arrow(p.at(x, 0.51), p.at(x, 0.61), p.fg);
        p.plus(x, 0.65);
        p.skip(x, 0.13, 0.65, x + 0.2, col);
        if x > 0.5 {
            p.boxed(x + 0.2, 0.39, 0.1, 0.1, "1x1", col);
        }
    }
    p.text(0.22, 0.82, "shortcut: identity", 12.0, p.res);
    p.text(0.22, 0.92, "same shape in and out", 11.0, p.fg);
    p.text(0.68, 0.82, "shortcut: 1x1 conv (projection)", 12.0, p.res);
    p.text(0.68, 0.92, "changes width or stride", 11.0, p.fg);
}

fn plain_vs_resnet(p: &Pen) {
    // Four convs per column; in the residual column each pair is a block whose shortcut enters a
    // + node below its second conv. The plain column keeps the same spacing, so layers line up.
    let blocks = 2;
    let rows: Vec<(bool, usize)> = (0..blocks)
        .flat_map(|b| [(false, 2 * b), (false, 2 * b + 1), (true, b)])
        .collect();
    let (top, bottom) = (0.2, 0.95);
    let step = (bottom - top) / (rows.len() - 1) as f32;
    let y_of = |i: usize| top + i as f32 * step;
    let (box_h, node_r) = (0.09, 8.0);
    for (x, title, residual) in [(0.25, "plain", false), (0.66, "residual", true)] {
        p.text(x, 0.05, title, 13.0, if residual { p.res } else { p.plain });
        for (i, (plus, _)) in rows.iter().enumerate() {
            let y = y_of(i);
            if *plus {
                if residual {
                    p.plus_r(x, y, node_r);
                }
            } else {
                p.boxed(x, y, 0.22, box_h, "conv", p.fg);
            }
            if i + 1 < rows.len() {
                // From the bottom of this item to the top of the next one.
                let gap = |plus: bool| {
                    if plus && residual {
                        node_r / p.r.height()
                    } else if plus {
                        0.0
                    } else {
                        box_h / 2.0
                    }
                };
                let a = y + gap(*plus);
                let b = y_of(i + 1) - gap(rows[i + 1].0);
                if rows[i + 1].0 && !residual {
                    // No + in a plain net: the line runs straight on to the next conv.
                    p.line(vec![p.at(x, a), p.at(x, b)], p.fg, 1.5);
                } else if b > a {
                    p.arrow(p.at(x, a), p.at(x, b), p.fg);
                }
            }
        }
        if residual {
            for b in 0..blocks {
                let first = 3 * b;
                // Leaves the main line just above the block's first conv, enters its + node.
                let y0 = y_of(first) - box_h / 2.0 - step * 0.3;
                let y1 = y_of(first + 2);
                let x_out = x + 0.17 + 0.02 * (b % 2) as f32;
                p.skip_r(x, y0, y1, x_out, node_r, p.res);
            }
            p.text(x + 0.27, y_of(2), "skips", 12.0, p.res);
        }
    }
}

fn error_vs_depth(p: &Pen) {
    p.axes("depth: 8 14 20 32", "train err");
    let plain: Vec<Pos2> = [(0.2, 0.7), (0.4, 0.6), (0.6, 0.45), (0.85, 0.2)]
        .iter()
        .map(|(x, y)| p.at(*x, *y))
        .collect();
    let res: Vec<Pos2> = [(0.2, 0.68), (0.4, 0.72), (0.6, 0.75), (0.85, 0.77)]
        .iter()
        .map(|(x, y)| p.at(*x, *y))
        .collect();
    for (pts, c) in [(plain, p.plain), (res, p.res)] {
        for q in &pts {
            p.p.circle_filled(*q, 4.0, c);
        }
        p.line(pts, c, 2.5);
    }
    p.text(0.78, 0.12, "plain", 12.0, p.plain);
    p.text(0.78, 0.67, "residual", 12.0, p.res);
}

fn gradient_flow(p: &Pen) {
    // A log scale from 0.01 to 1000, as on the gradient-flow plot. On the first batch a plain
    // BN net's gradients are largest at the input (about 2e2) and fall layer by layer to about
    // 0.1 at the output; a residual net's stay level near 1.
    p.axes("layer (input → output)", "");
    p.p.text(
        p.at(0.02, 0.02),
        Align2::LEFT_TOP,
        "|grad| (log scale)",
        FontId::proportional(12.0),
        p.fg,
    );
    let (lo, hi) = (-2.0_f32, 3.0_f32);
    let (y_bot, y_top) = (0.85_f32, 0.1_f32);
    let y_of = |log: f32| y_bot - (log - lo) / (hi - lo) * (y_bot - y_top);
    for (v, label) in [(-1.0, "0.1"), (0.0, "1"), (1.0, "10"), (2.0, "100")] {
        let y = y_of(v);
        p.line(vec![p.at(0.1, y), p.at(0.115, y)], p.fg, 1.0);
        p.p.text(
            p.at(0.095, y),
            Align2::RIGHT_CENTER,
            label,
            FontId::proportional(12.0),
            p.weak,
        );
    }
    let n = 10;
    for i in 0..n {
        let t = i as f32 / (n - 1) as f32;
        let x = 0.17 + i as f32 * 0.075;
        let plain_log = 200f32.log10() + t * (0.1f32.log10() - 200f32.log10());
        let res_log = 0.05 * (i as f32 * 1.3).sin();
        let base = p.at(x, y_bot);
        for (log, c, dx) in [(plain_log, p.plain, -6.0), (res_log, p.res, 0.0)] {
            p.p.rect_filled(
                Rect::from_min_max(
                    pos2(base.x + dx, p.at(0.0, y_of(log)).y),
                    pos2(base.x + dx + 6.0, base.y),
                ),
                0.0,
                c,
            );
        }
    }
    p.text(0.62, 0.12, "plain: largest at the input", 12.0, p.plain);
    p.text(0.7, 0.45, "residual: level", 12.0, p.res);
}

fn residual_scaling(p: &Pen) {
    p.text(0.35, 0.05, "x", 13.0, p.fg);
    p.arrow(p.at(0.35, 0.09), p.at(0.35, 0.2), p.fg);
    p.boxed(0.35, 0.29, 0.36, 0.14, "residual branch F(x)", p.fg);
    p.arrow(p.at(0.35, 0.36), p.at(0.35, 0.47), p.fg);
    p.boxed(0.35, 0.54, 0.14, 0.1, "× λ", p.res);
    p.arrow(p.at(0.35, 0.59), p.at(0.35, 0.68), p.fg);
    p.plus(0.35, 0.72);
    p.skip(0.35, 0.13, 0.72, 0.68, p.res);
    p.text(0.8, 0.42, "identity", 12.0, p.res);
    p.text(0.35, 0.92, "y = x + λ·F(x),  λ ≈ 0.1–0.3", 12.0, p.fg);
}

//! Where everything of the block canvas goes: a pure function of the draft, its report and the
//! room available, so it is tested without a window and the painter, the hit-testing and the
//! drag logic all read the same rectangles.
//!
//! Coordinates are points with the origin at the canvas's top-left corner; the UI offsets them.
use super::draft::{BlockDraft, BlockReport};
use crate::nn::{Shortcut, SpecError};

/// A point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pt {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned rectangle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bx {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

fn pt(x: f32, y: f32) -> Pt {
    Pt { x, y }
}

impl Bx {
    pub fn centered(c: Pt, w: f32, h: f32) -> Bx {
        Bx {
            x0: c.x - w / 2.0,
            y0: c.y - h / 2.0,
            x1: c.x + w / 2.0,
            y1: c.y + h / 2.0,
        }
    }
    pub fn center(&self) -> Pt {
        pt((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }
    pub fn contains(&self, p: Pt) -> bool {
        p.x >= self.x0 && p.x <= self.x1 && p.y >= self.y0 && p.y <= self.y1
    }
    /// Whether the two overlap by more than a hair.
    pub fn overlaps(&self, o: &Bx) -> bool {
        self.x0 < o.x1 - 0.5 && o.x0 < self.x1 - 0.5 && self.y0 < o.y1 - 0.5 && o.y0 < self.y1 - 0.5
    }
}

/// How the text on a main-lane box is written: in full, or short on a narrow canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoxText {
    Full,
    Short,
}

/// Where a palette item would go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Into the main path at this index.
    Body(usize),
    /// After the addition: only g = ReLU goes there.
    AfterAdd,
}

/// A shape written beside an edge.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeLabel {
    pub rect: Bx,
    pub text: String,
    /// Drawn as an error (the shapes that cannot be added).
    pub bad: bool,
    /// Right-aligned (beside the main lane) or centred (above the shortcut's arrow).
    pub right_aligned: bool,
}

/// The shortcut lane.
#[derive(Clone, Debug, PartialEq)]
pub struct ShortcutPath {
    /// Out of the main lane, across, and down to the level of the + node.
    pub path: Vec<Pt>,
    /// The projection or zero-pad box on the lane, if any.
    pub boxed: Option<Bx>,
    /// The arrow into the + node; its head ends on the node's rim.
    pub arrow: (Pt, Pt),
    /// Where the lane's caption ("identity") goes, right-centre anchored: just left of the
    /// lane, between it and the main lane.
    pub caption: Pt,
}

/// Every position of the block canvas.
#[derive(Clone, Debug, PartialEq)]
pub struct CanvasLayout {
    pub width: f32,
    pub height: f32,
    pub main_x: f32,
    pub main_w: f32,
    pub box_h: f32,
    pub box_text: BoxText,
    pub input: Bx,
    pub output: Bx,
    /// One box per main-lane layer.
    pub boxes: Vec<Bx>,
    /// Layer numbers, right-centre anchored left of each box.
    pub numbers: Vec<Pt>,
    /// The residual-scale box, when the scale is not 1.
    pub scale: Option<Bx>,
    /// Centre and radius of the + node; `None` for a plain block (the lane runs straight on).
    pub plus: Option<(Pt, f32)>,
    /// Where the main lane passes the addition's level in a plain block.
    pub add_y: f32,
    /// The g = ReLU box after the addition, or the slot offering one.
    pub relu: Bx,
    pub relu_present: bool,
    /// Main-lane arrows, in order.
    pub arrows: Vec<(Pt, Pt)>,
    pub shortcut: Option<ShortcutPath>,
    /// Where "no shortcut (plain)" is written for a plain block.
    pub plain_note: Pt,
    pub shapes: Vec<ShapeLabel>,
    /// The y of the insertion tick for each body slot 0..=len (a palette item inserted at `i`
    /// lands there), and the tick after the addition.
    pub slot_y: Vec<f32>,
    pub after_add_y: f32,
}

impl CanvasLayout {
    /// The y of the tick that marks `cursor`.
    pub fn tick_y(&self, cursor: Cursor) -> f32 {
        match cursor {
            Cursor::Body(i) => self.slot_y[i.min(self.slot_y.len() - 1)],
            Cursor::AfterAdd => self.after_add_y,
        }
    }

    /// The body slot a dragged box would land in, for a pointer at `y` while dragging `from`
    /// (slots count positions in the list without the dragged layer).
    pub fn drop_slot(&self, from: usize, y: f32) -> usize {
        let n = self.boxes.len();
        let to = self
            .boxes
            .iter()
            .position(|b| y < b.center().y)
            .unwrap_or(n);
        let to = if to > from { to - 1 } else { to };
        to.min(n.saturating_sub(1))
    }

    /// The layer box under `p`, if any.
    pub fn box_at(&self, p: Pt) -> Option<usize> {
        self.boxes.iter().position(|b| b.contains(p))
    }
}

/// The narrowest canvas the layout is designed for; narrower columns scroll sideways.
pub const MIN_WIDTH: f32 = 340.0;
/// The widest the canvas grows; beyond it the lanes would drift apart.
pub const MAX_WIDTH: f32 = 640.0;

/// Lays the canvas out for `draft` in `width` points, with the vertical gaps shrunk (down to a
/// floor) so the block fits in `height` points where it can.
pub fn layout(draft: &BlockDraft, report: &BlockReport, width: f32, height: f32) -> CanvasLayout {
    let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
    let n = draft.body.len();
    let scaled = draft.residual_scale != 1.0;
    let has_sum = draft.shortcut != Shortcut::None;

    // Lanes: shapes on the left, the main lane, the shortcut lane on the right.
    let label_w = (width * 0.24).clamp(78.0, 150.0);
    let main_w = (width * 0.36).clamp(140.0, 210.0);
    let main_x = label_w + 14.0 + main_w / 2.0;
    let short_w = (width - (main_x + main_w / 2.0) - 28.0).clamp(96.0, 170.0);
    let short_x = (main_x + main_w / 2.0 + 22.0 + short_w / 2.0).min(width - short_w / 2.0 - 4.0);
    let box_text = if main_w >= 200.0 {
        BoxText::Full
    } else {
        BoxText::Short
    };

    // Vertical rhythm: boxes and gaps shrink together on short screens, within limits.
    let rows = n as f32 + 3.0 + if scaled { 1.0 } else { 0.0 };
    let fixed = 10.0 + 24.0 + 24.0 + 26.0 + 20.0;
    let per_row = ((height - fixed) / rows).clamp(40.0, 60.0);
    let box_h = (per_row * 0.5).clamp(22.0, 30.0);
    let gap = (per_row - box_h).clamp(18.0, 30.0);

    let mismatch = matches!(report.error, Some(SpecError::ShortcutMismatch { .. }));
    let failed_layer = match &report.error {
        Some(SpecError::BadLayer { .. }) if n > 0 && report.edges.len() <= n => {
            Some(report.edges.len() - 1)
        }
        _ => None,
    };
    let shape_of = |i: usize| {
        report
            .edges
            .get(i)
            .map_or("?".to_string(), |s| s.to_string())
    };
    let left_label = |y: f32| Bx {
        x0: main_x - main_w / 2.0 - label_w - 8.0,
        y0: y,
        x1: main_x - main_w / 2.0 - 8.0,
        y1: y + gap,
    };

    let mut shapes = Vec::new();
    let mut arrows = Vec::new();
    let mut boxes = Vec::with_capacity(n);
    let mut numbers = Vec::with_capacity(n);
    let mut slot_y = Vec::with_capacity(n + 1);

    let mut y = 10.0;
    let input = Bx::centered(pt(main_x, y + 12.0), 90.0, 24.0);
    y = input.y1;
    let split_y = y + gap * 0.4;
    for i in 0..n {
        shapes.push(ShapeLabel {
            rect: left_label(y),
            text: shape_of(i),
            bad: false,
            right_aligned: true,
        });
        arrows.push((pt(main_x, y), pt(main_x, y + gap - 1.0)));
        // A layer inserted at i goes on this arrow, below the shortcut's split.
        slot_y.push(if i == 0 {
            y + gap * 0.72
        } else {
            y + gap * 0.5
        });
        y += gap;
        let b = Bx::centered(pt(main_x, y + box_h / 2.0), main_w, box_h);
        numbers.push(pt(b.x0 - 6.0, b.center().y));
        boxes.push(b);
        y = b.y1;
    }
    // The edge into the addition: the body's output.
    let body_out = if failed_layer.is_some() || n == 0 {
        "?".to_string()
    } else {
        shape_of(n)
    };
    shapes.push(ShapeLabel {
        rect: left_label(y),
        text: body_out,
        bad: mismatch,
        right_aligned: true,
    });
    slot_y.push(if n == 0 {
        y + gap * 0.72
    } else {
        y + gap * 0.5
    });
    arrows.push((pt(main_x, y), pt(main_x, y + gap - 1.0)));
    y += gap;
    let scale = scaled.then(|| {
        let b = Bx::centered(pt(main_x, y + box_h / 2.0), 110.0, box_h);
        arrows.push((pt(main_x, b.y1), pt(main_x, b.y1 + gap - 1.0)));
        y = b.y1 + gap;
        b
    });
    let r = 13.0;
    let plus_c = pt(main_x, y + r);
    let plus = has_sum.then_some((plus_c, r));
    let add_y = plus_c.y;
    let mid = (split_y + plus_c.y) / 2.0;
    let shortcut = has_sum.then(|| {
        let boxed = matches!(draft.shortcut, Shortcut::Projection | Shortcut::ZeroPadA)
            .then(|| Bx::centered(pt(short_x, mid), short_w, box_h));
        let rim = main_x + r + 1.0;
        ShortcutPath {
            path: vec![
                pt(main_x, split_y),
                pt(short_x, split_y),
                pt(short_x, plus_c.y),
            ],
            boxed,
            arrow: (pt(short_x, plus_c.y), pt(rim, plus_c.y)),
            caption: pt(short_x - 6.0, mid),
        }
    });
    if has_sum {
        // The shortcut's shape sits above its arrow into the addition.
        shapes.push(ShapeLabel {
            rect: Bx {
                x0: main_x + r + 6.0,
                y0: plus_c.y - 24.0,
                x1: short_x - 4.0,
                y1: plus_c.y - 2.0,
            },
            text: report
                .shortcut_out
                .map_or("?".to_string(), |s| s.to_string()),
            bad: mismatch,
            right_aligned: false,
        });
    }
    y = plus_c.y + r;
    // The tick after the addition sits on the arrow that leaves it.
    let after_add_y = y + gap * 0.5;
    let relu = if draft.relu_after {
        arrows.push((pt(main_x, y), pt(main_x, y + gap - 1.0)));
        y += gap;
        let b = Bx::centered(pt(main_x, y + box_h / 2.0), 110.0, box_h);
        y = b.y1;
        b
    } else {
        // The slot offering g sits beside the lane, which runs straight on to the output.
        let x0 = main_x + main_w / 2.0 + 10.0;
        let x1 = (x0 + 130.0).min(width - 4.0);
        Bx {
            x0,
            y0: after_add_y - box_h * 0.42,
            x1,
            y1: after_add_y + box_h * 0.42,
        }
    };
    shapes.push(ShapeLabel {
        rect: left_label(y),
        text: report.output().map_or("?".to_string(), |s| s.to_string()),
        bad: false,
        right_aligned: true,
    });
    arrows.push((pt(main_x, y), pt(main_x, y + gap - 1.0)));
    y += gap;
    let output = Bx::centered(pt(main_x, y + 12.0), 90.0, 24.0);
    CanvasLayout {
        width,
        height: output.y1 + 12.0,
        main_x,
        main_w,
        box_h,
        box_text,
        input,
        output,
        boxes,
        numbers,
        scale,
        plus,
        add_y,
        relu,
        relu_present: draft.relu_after,
        arrows,
        shortcut,
        plain_note: pt(short_x, mid),
        shapes,
        slot_y,
        after_add_y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{Edit, PaletteItem};
    use crate::nn::Shape;

    fn block(n_extra: usize, shortcut: Shortcut, scale: f32, relu: bool) -> BlockDraft {
        let mut d = BlockDraft {
            input: Shape::new(16, 28, 28),
            shortcut,
            residual_scale: scale,
            relu_after: relu,
            ..BlockDraft::default()
        };
        let items = [
            PaletteItem::Conv3x3,
            PaletteItem::BatchNorm,
            PaletteItem::ReLU,
            PaletteItem::Conv3x3,
            PaletteItem::BatchNorm,
        ];
        for (i, item) in items.iter().cycle().take(5 + n_extra).enumerate() {
            d.apply(&Edit::Insert {
                at: i,
                layer: item.layer(16),
            })
            .unwrap();
        }
        d
    }

    #[test]
    fn nothing_overlaps_and_everything_fits_the_width() {
        for width in [300.0, 340.0, 420.0, 600.0, 900.0] {
            for (extra, sc, scale, relu) in [
                (0, Shortcut::Identity, 1.0, true),
                (0, Shortcut::Projection, 0.2, false),
                (3, Shortcut::ZeroPadA, 1.0, true),
                (0, Shortcut::None, 1.0, false),
            ] {
                let d = block(extra, sc, scale, relu);
                let r = d.report();
                let l = layout(&d, &r, width, 500.0);
                let w = width.clamp(MIN_WIDTH, MAX_WIDTH);
                assert_eq!(l.width, w);
                let mut all: Vec<Bx> = vec![l.input, l.output];
                all.extend(&l.boxes);
                all.extend(l.scale);
                all.push(l.relu);
                if let Some(s) = &l.shortcut {
                    all.extend(s.boxed);
                }
                for (i, a) in all.iter().enumerate() {
                    assert!(
                        a.x0 >= 0.0 && a.x1 <= w && a.y0 >= 0.0 && a.y1 <= l.height,
                        "{width}: {a:?} outside"
                    );
                    for b in &all[i + 1..] {
                        assert!(!a.overlaps(b), "{width}: {a:?} overlaps {b:?}");
                    }
                }
                for s in &l.shapes {
                    assert!(
                        s.rect.x0 >= 0.0 && s.rect.x1 <= w,
                        "{width}: label {s:?} outside"
                    );
                    for b in &l.boxes {
                        assert!(!s.rect.overlaps(b), "{width}: label {s:?} over a box");
                    }
                }
                // Boxes go down the page in order, and each slot sits between its neighbours.
                for (i, pair) in l.boxes.windows(2).enumerate() {
                    assert!(pair[0].y1 < pair[1].y0);
                    assert!(l.slot_y[i + 1] > pair[0].y1 && l.slot_y[i + 1] < pair[1].y0);
                }
                assert!(l.slot_y[0] > l.input.y1 && l.slot_y[0] < l.boxes[0].y0);
                if let Some((c, rad)) = l.plus {
                    assert!(l.slot_y[l.boxes.len()] < c.y - rad);
                    assert!(l.after_add_y > c.y + rad);
                    let s = l.shortcut.as_ref().unwrap();
                    // The arrow into + ends on the node's rim, not inside it or short of it.
                    let d = s.arrow.1.x - c.x;
                    assert!(d > rad - 0.01 && d < rad + 3.0, "{d}");
                }
            }
        }
    }

    #[test]
    fn narrow_canvases_shorten_box_text_and_short_screens_tighten_gaps() {
        let d = block(0, Shortcut::Identity, 1.0, true);
        let r = d.report();
        assert_eq!(layout(&d, &r, 600.0, 800.0).box_text, BoxText::Full);
        assert_eq!(layout(&d, &r, 360.0, 800.0).box_text, BoxText::Short);
        let tall = layout(&d, &r, 600.0, 2000.0);
        let short = layout(&d, &r, 600.0, 380.0);
        assert!(
            short.height < tall.height,
            "{} vs {}",
            short.height,
            tall.height
        );
        assert!(short.height <= 440.0, "{}", short.height);
    }

    #[test]
    fn drag_slots_and_hit_testing() {
        let d = block(0, Shortcut::Identity, 1.0, true);
        let l = layout(&d, &d.report(), 600.0, 600.0);
        let c2 = l.boxes[2].center();
        assert_eq!(l.box_at(c2), Some(2));
        assert_eq!(l.box_at(Pt { x: 1.0, y: 1.0 }), None);
        // Dragging layer 2 above layer 0's centre lands it first; below the last, last.
        assert_eq!(l.drop_slot(2, l.boxes[0].center().y - 1.0), 0);
        assert_eq!(l.drop_slot(2, l.boxes[4].y1 + 40.0), 4);
        assert_eq!(l.drop_slot(0, l.boxes[2].center().y + 1.0), 2);
        assert!(l.tick_y(Cursor::AfterAdd) > l.tick_y(Cursor::Body(5)));
    }
}

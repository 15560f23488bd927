//! Lays out parsed lesson Markdown with egui widgets.
use crate::lessons::markdown::{Block, Span};
use egui::text::LayoutJob;
use egui::{Align, FontSelection, RichText, Ui};

fn job(ui: &Ui, spans: &[Span], size: Option<f32>, strong: bool) -> LayoutJob {
    let mut job = LayoutJob::default();
    for s in spans {
        let mut t = RichText::new(&s.text);
        if let Some(sz) = size {
            t = t.size(sz);
        }
        if s.bold || strong {
            t = t.strong();
        }
        if s.italic {
            t = t.italics();
        }
        if s.code {
            t = t.code();
        }
        t.append_to(&mut job, ui.style(), FontSelection::Default, Align::Center);
    }
    job
}

pub fn show(ui: &mut Ui, blocks: &[Block]) {
    for b in blocks {
        match b {
            Block::Heading(level, spans) => {
                ui.add_space(6.0);
                let size = match level {
                    1 => 22.0,
                    2 => 18.0,
                    _ => 15.0,
                };
                ui.label(job(ui, spans, Some(size), true));
            }
            Block::Paragraph(spans) => {
                ui.label(job(ui, spans, None, false));
            }
            Block::Bullets(items) => {
                for item in items {
                    ui.horizontal_wrapped(|ui| {
                        ui.label("•");
                        ui.label(job(ui, item, None, false));
                    });
                }
            }
            Block::Numbered(items) => {
                for (i, item) in items.iter().enumerate() {
                    ui.horizontal_wrapped(|ui| {
                        ui.label(format!("{}.", i + 1));
                        ui.label(job(ui, item, None, false));
                    });
                }
            }
            Block::Formula(text) => formula(ui, text),
            Block::Code(text) => {
                ui.label(RichText::new(text).monospace());
            }
            Block::Table(rows) => {
                egui::Grid::new(ui.next_auto_id())
                    .striped(true)
                    .show(ui, |ui| {
                        for (r, row) in rows.iter().enumerate() {
                            for cell in row {
                                ui.label(job(ui, cell, None, r == 0));
                            }
                            ui.end_row();
                        }
                    });
            }
        }
        ui.add_space(4.0);
    }
}

/// Largest and smallest size a formula is shown at before it wraps.
const FORMULA_SIZE: f32 = 16.0;
const FORMULA_MIN_SIZE: f32 = 13.0;

/// A formula in its own box: on one line when it fits (shrinking the font a little if that is
/// enough), else broken before its operators with the continuation under the right-hand side,
/// never in the middle of a symbol.
fn formula(ui: &mut Ui, text: &str) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        let avail = ui.available_width().max(80.0);
        let char_w = |size: f32| {
            ui.fonts_mut(|f| f.glyph_width(&egui::FontId::monospace(size), 'x'))
                .max(1.0)
        };
        let chars = text.chars().count().max(1) as f32;
        let fit = (FORMULA_SIZE * avail / (chars * char_w(FORMULA_SIZE))).min(FORMULA_SIZE);
        if fit >= FORMULA_MIN_SIZE {
            ui.vertical_centered(|ui| {
                ui.add(
                    egui::Label::new(RichText::new(text).monospace().size(fit.floor()))
                        .wrap_mode(egui::TextWrapMode::Extend),
                );
            });
        } else {
            let size = FORMULA_MIN_SIZE + 1.0;
            let max = ((avail / char_w(size)).floor() as usize).max(12);
            let lines = wrap_formula(text, max);
            ui.add(
                egui::Label::new(RichText::new(lines.join("\n")).monospace().size(size))
                    .wrap_mode(egui::TextWrapMode::Extend),
            );
        }
    });
}

fn is_operator(token: &str) -> bool {
    matches!(
        token,
        "=" | "+" | "−" | "-" | "·" | "≤" | "≥" | "≈" | "×" | "∗"
    )
}

/// Breaks a one-line formula into lines of at most `max` characters (where the pieces allow):
/// breaks go before an operator or after a comma, continuation lines line up under the first
/// "=" (or indent two spaces), and a piece too long for any line breaks at its own spaces.
pub fn wrap_formula(text: &str, max: usize) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    if len(text) <= max {
        return vec![text.to_string()];
    }
    // Pieces start where a break may go.
    let words: Vec<&str> = text.split(' ').collect();
    let mut pieces: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, w) in words.iter().enumerate() {
        let after_comma = i > 0 && words[i - 1].ends_with(',') && !w.is_empty();
        if i > 0 && !cur.trim().is_empty() && (is_operator(w) || after_comma) {
            pieces.push(std::mem::take(&mut cur));
        }
        if i > 0 {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    pieces.push(cur);
    let indent = text
        .find(" = ")
        .map(|b| len(&text[..b]) + 1)
        .filter(|n| *n <= max / 2)
        .unwrap_or(2);
    let pad = " ".repeat(indent);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces {
        let fits = len(&line) + len(&piece) <= max;
        if line.is_empty() || fits {
            line.push_str(&piece);
            continue;
        }
        lines.push(line.trim_end().to_string());
        line = format!("{pad}{}", piece.trim_start());
    }
    lines.push(line.trim_end().to_string());
    // A line still too long breaks at its own spaces.
    let mut out = Vec::new();
    for l in lines {
        if len(&l) <= max {
            out.push(l);
            continue;
        }
        let lead = l.len() - l.trim_start().len();
        let mut cur = String::new();
        for w in l.trim_start().split(' ') {
            if !cur.is_empty() && len(&cur) + 1 + len(w) > max {
                out.push(cur);
                cur = pad.clone();
            } else if !cur.is_empty() && !cur.ends_with(' ') {
                cur.push(' ');
            } else if cur.is_empty() {
                cur = " ".repeat(lead);
            }
            cur.push_str(w);
        }
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap_formula;

    #[test]
    fn formulas_break_before_operators_under_the_right_hand_side() {
        let f = "∂L/∂x_l = ∂L/∂x_L · J_(L−1) · … · J_(l+1) · J_l";
        assert_eq!(wrap_formula(f, 80), [f]);
        let lines = wrap_formula(f, 30);
        assert_eq!(
            lines,
            ["∂L/∂x_l = ∂L/∂x_L · J_(L−1)", "        · … · J_(l+1) · J_l"]
        );
        let f = "best training error (deep) ≤ best training error (shallow)";
        let lines = wrap_formula(f, 32);
        assert_eq!(lines[0], "best training error (deep)");
        assert!(lines[1].trim_start().starts_with("≤ best"), "{lines:?}");
        // Never longer than asked where a space allows, and no symbol split.
        let f = "x[l+1] = x[l] + F(x[l]),   F = conv( ReLU( BN( conv( ReLU( BN( x[l] ) ) ) ) ) )";
        for max in [24, 30, 40] {
            let lines = wrap_formula(f, max);
            for l in &lines {
                assert!(l.chars().count() <= max, "{max}: {lines:?}");
            }
            let joined: String = lines.concat().split_whitespace().collect();
            let want: String = f.split_whitespace().collect();
            assert_eq!(joined, want);
        }
    }
}

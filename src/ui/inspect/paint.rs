//! Painting for the Inspect tab: thumbnails, mosaics of tiles and clickable confusion matrices.
//! What is painted (tiles, colours, shares) comes from `plot::inspect`, as the PNG exports do.
use crate::data::Dataset;
use crate::plot::inspect::{
    Matrix, Mosaic, Tile, Tone, cell_color, cell_share, image_tile, light_text_on,
};
use crate::train::eval::{class_label, class_name};
use egui::{Color32, Rect, Sense, Stroke, TextureHandle, TextureOptions, Ui, pos2, vec2};
use std::collections::HashMap;

/// Textures made from tiles, by a key that names their content.
#[derive(Default)]
pub struct Textures {
    map: HashMap<String, TextureHandle>,
}

/// More textures than this and the cache starts afresh (old pages, old images).
const MAX_TEXTURES: usize = 3000;

impl Textures {
    pub fn clear(&mut self) {
        self.map.clear();
    }

    fn get(&mut self, ui: &Ui, key: String, tile: impl FnOnce() -> Tile) -> TextureHandle {
        if self.map.len() > MAX_TEXTURES {
            self.map.clear();
        }
        self.map
            .entry(key)
            .or_insert_with_key(|k| {
                let t = tile();
                let img = egui::ColorImage::from_rgba_unmultiplied([t.width, t.height], &t.rgba());
                ui.ctx()
                    .load_texture(k.clone(), img, TextureOptions::NEAREST)
            })
            .clone()
    }
}

pub fn color(rgb: [u8; 3]) -> Color32 {
    Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

/// A caption tone in the current theme.
pub fn tone_color(ui: &Ui, tone: Tone) -> Color32 {
    match tone {
        Tone::Normal => ui.visuals().text_color(),
        Tone::Right => Color32::from_rgb(70, 170, 90),
        Tone::Wrong => ui.visuals().error_fg_color,
    }
}

/// Test image `i` of `data`, `px` points wide, clickable.
pub fn thumb(ui: &mut Ui, tex: &mut Textures, data: &Dataset, i: usize, px: f32) -> egui::Response {
    let key = format!("thumb/{:p}/{i}", data as *const Dataset);
    let handle = tex.get(ui, key, || {
        let n = data.image_len();
        let img = data.test.images.get(i * n..(i + 1) * n).unwrap_or(&[]);
        image_tile(img, data.channels, data.height, data.width)
    });
    let aspect = data.height.max(1) as f32 / data.width.max(1) as f32;
    ui.add(egui::Image::new((handle.id(), vec2(px, px * aspect))).sense(Sense::click()))
}

/// Points between the tiles of a cell.
pub const TILE_GAP: f32 = 5.0;

/// Paints a mosaic: a heading per column, then each row's title and its cells' captions and
/// tiles (every tile `tile_px` points on its longer side, nearest-neighbour).
pub fn mosaic(ui: &mut Ui, tex: &mut Textures, key: &str, m: &Mosaic, tile_px: f32) {
    let wrap = m.wrap.max(1);
    let has_titles = m.rows.iter().any(|r| !r.title.is_empty());
    egui::Grid::new(key)
        .striped(true)
        .spacing(vec2(12.0, 6.0))
        .show(ui, |ui| {
            if !m.columns.is_empty() {
                if has_titles {
                    ui.label("");
                }
                for c in &m.columns {
                    ui.strong(c);
                }
                ui.end_row();
            }
            for (r, row) in m.rows.iter().enumerate() {
                if has_titles {
                    ui.label(&row.title);
                }
                for (c, cell) in row.cells.iter().enumerate() {
                    ui.vertical(|ui| {
                        for (text, tone) in &cell.caption {
                            ui.colored_label(tone_color(ui, *tone), text);
                        }
                        for (l, line) in cell.tiles.chunks(wrap).enumerate() {
                            ui.horizontal(|ui| {
                                ui.spacing_mut().item_spacing.x = TILE_GAP;
                                for (j, t) in line.iter().enumerate() {
                                    let i = l * wrap + j;
                                    let h = tex.get(ui, format!("{key}/{r}/{c}/{i}"), || t.clone());
                                    let s = tile_px / t.width.max(t.height).max(1) as f32;
                                    ui.add(egui::Image::new((
                                        h.id(),
                                        vec2(t.width as f32 * s, t.height as f32 * s),
                                    )));
                                }
                            });
                        }
                    });
                }
                ui.end_row();
            }
        });
}

/// Class names and numbers around a matrix.
fn label_font() -> egui::FontId {
    egui::FontId::proportional(12.0)
}

/// Side of a matrix cell that fits `width` points, or `None` when the matrix would be cramped.
pub fn matrix_cell(ui: &Ui, m: &Matrix, width: f32) -> Option<f32> {
    let (label_w, err_w) = matrix_margins(ui, m);
    let k = m.confusion.classes.max(1) as f32;
    let cell = ((width - label_w - err_w) / k).floor().min(40.0);
    (cell >= 20.0).then_some(cell)
}

fn matrix_margins(ui: &Ui, m: &Matrix) -> (f32, f32) {
    let font = label_font();
    let label_w = m
        .classes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            ui.fonts_mut(|f| {
                f.layout_no_wrap(format!("{i} {n}"), font.clone(), Color32::WHITE)
                    .size()
                    .x
            })
        })
        .fold(40.0f32, f32::max)
        + 10.0;
    (label_w, 52.0)
}

/// Paints a confusion matrix with its per-class error column. Every cell is a button named
/// "`net`: `true` predicted as `predicted` (`count`)"; returns the one clicked.
pub fn matrix(
    ui: &mut Ui,
    net: &str,
    m: &Matrix,
    selected: Option<(usize, usize)>,
    cell: f32,
) -> Option<(usize, usize)> {
    let k = m.confusion.classes;
    let (label_w, err_w) = matrix_margins(ui, m);
    let header = 18.0;
    let size = vec2(label_w + k as f32 * cell + err_w, header + k as f32 * cell);
    let (outer, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(outer);
    let v = ui.visuals().clone();
    let small = label_font();
    let count_font = egui::FontId::proportional((cell * 0.42).clamp(9.0, 15.0));
    let bg = v.panel_fill;
    let bg = [bg.r(), bg.g(), bg.b()];
    let x0 = outer.left() + label_w;
    let y0 = outer.top() + header;
    for p in 0..k {
        painter.text(
            pos2(x0 + (p as f32 + 0.5) * cell, outer.top() + header / 2.0),
            egui::Align2::CENTER_CENTER,
            p.to_string(),
            small.clone(),
            v.weak_text_color(),
        );
    }
    painter.text(
        pos2(x0 + k as f32 * cell + 6.0, outer.top() + header / 2.0),
        egui::Align2::LEFT_CENTER,
        "error",
        small.clone(),
        v.weak_text_color(),
    );
    let errors = m.confusion.per_class_error();
    let id = ui.make_persistent_id(("confusion", net));
    let mut clicked = None;
    for (t, err) in errors.iter().enumerate().take(k) {
        let y = y0 + t as f32 * cell;
        painter.text(
            pos2(x0 - 6.0, y + cell / 2.0),
            egui::Align2::RIGHT_CENTER,
            class_label(&m.classes, t),
            small.clone(),
            v.text_color(),
        );
        for p in 0..k {
            let rect = Rect::from_min_size(pos2(x0 + p as f32 * cell, y), vec2(cell, cell));
            let share = cell_share(&m.confusion, t, p);
            let fill = cell_color(share, t == p, bg);
            painter.rect_filled(rect, 0.0, color(fill));
            painter.rect_stroke(
                rect,
                0.0,
                Stroke::new(0.5, v.widgets.noninteractive.bg_stroke.color),
                egui::StrokeKind::Inside,
            );
            let n = m.confusion.get(t, p);
            if n > 0 {
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    n.to_string(),
                    count_font.clone(),
                    if light_text_on(fill) {
                        Color32::WHITE
                    } else {
                        Color32::BLACK
                    },
                );
            }
            let (tn, pn) = (class_name(&m.classes, t), class_name(&m.classes, p));
            let resp = ui.interact(rect, id.with((t, p)), Sense::click());
            let label = format!("{net}: {tn} predicted as {pn} ({n})");
            resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            if selected == Some((t, p)) || resp.hovered() {
                painter.rect_stroke(
                    rect,
                    0.0,
                    Stroke::new(2.0, v.selection.stroke.color),
                    egui::StrokeKind::Inside,
                );
            }
            let resp = resp.on_hover_text(format!(
                "{n} of the {} test images of {tn} were classified as {pn} ({:.0}%). Click to see them.",
                m.confusion.row_total(t),
                share * 100.0
            ));
            if resp.clicked() {
                clicked = Some((t, p));
            }
        }
        let e = err
            .map(|e| format!("{:.0}%", e * 100.0))
            .unwrap_or_else(|| "n/a".into());
        painter.text(
            pos2(x0 + k as f32 * cell + 6.0, y + cell / 2.0),
            egui::Align2::LEFT_CENTER,
            e,
            small.clone(),
            v.text_color(),
        );
    }
    clicked
}

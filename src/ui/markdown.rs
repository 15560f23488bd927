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
            Block::Formula(text) => {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.vertical_centered(|ui| {
                        ui.label(RichText::new(text).monospace().size(16.0));
                    });
                });
            }
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

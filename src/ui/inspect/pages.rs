//! The Predictions and Confusion pages: every test image with both nets' verdicts, and where
//! each net goes wrong (confusion matrix, per-class error, most confused pairs).
use super::paint::{self, tone_color};
use super::{InspectPage, InspectView, PLAIN, RESIDUAL, Show};
use crate::data::Dataset;
use crate::plot::inspect::{
    Cell, Matrix, Mosaic, MosaicRow, Tone, image_tile, matrix_to_png, mosaic_to_png,
};
use crate::plot::{Chart, Family, Series, family_color};
use crate::train::eval::{self, Evaluation, class_name};
use crate::ui::export::Kind;
use crate::ui::plots;
use egui::{RichText, Ui, vec2};
use std::sync::Arc;

/// A net as the pages show it.
pub(super) struct Shown {
    pub slot: usize,
    pub label: String,
    pub family: Family,
    pub eval: Option<Arc<Evaluation>>,
}

pub(super) fn shown(v: &InspectView) -> Vec<Shown> {
    v.shown()
        .into_iter()
        .map(|(slot, n)| Shown {
            slot,
            label: n.cand.label.clone(),
            family: n.cand.family,
            eval: n.evaluation().cloned(),
        })
        .collect()
}

/// Images per page of the predictions grid.
pub const PER_PAGE: usize = 30;

/// "plain-20: 23.4% test error (117 of 500 wrong), mean loss 0.712", one line per net.
fn summary(ui: &mut Ui, nets: &[Shown]) {
    for n in nets {
        let Some(e) = &n.eval else {
            ui.weak(format!("{}: classifying the test images...", n.label));
            continue;
        };
        let c = &e.confusion;
        let err = e
            .error()
            .map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "n/a".into());
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(&n.label)
                    .strong()
                    .color(paint::color(family_color(n.family, 0, 1))),
            );
            ui.label(format!(
                "{err} test error ({} of {} wrong), mean loss {:.3}",
                c.wrong(),
                c.total(),
                e.loss
            ));
        });
        if e.non_finite > 0 {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!(
                    "{}: its outputs were not finite for {} images (the run diverged); those predictions mean nothing.",
                    n.label, e.non_finite
                ),
            );
        }
    }
}

/// Test images the current filters let through, in order.
fn filtered(nets: &[Shown], data: &Dataset, show: Show, class: Option<usize>) -> Vec<usize> {
    let eval_of = |slot: usize| {
        nets.iter()
            .find(|n| n.slot == slot)
            .and_then(|n| n.eval.as_ref())
    };
    let wrong = |slot: usize, i: usize| {
        eval_of(slot)
            .and_then(|e| e.predictions.get(i))
            .is_some_and(|p| !p.correct())
    };
    (0..data.test.len())
        .filter(|&i| class.is_none_or(|c| data.test.labels[i] as usize == c))
        .filter(|&i| match show {
            Show::All => true,
            Show::WrongPlain => wrong(PLAIN, i),
            Show::WrongResidual => wrong(RESIDUAL, i),
            Show::Disagree => match (eval_of(PLAIN), eval_of(RESIDUAL)) {
                (Some(a), Some(b)) => match (a.predictions.get(i), b.predictions.get(i)) {
                    (Some(p), Some(q)) => p.predicted != q.predicted,
                    _ => false,
                },
                _ => false,
            },
        })
        .collect()
}

/// One caption line per net: "plain-20: circle 93%", green when right, red when wrong.
fn verdicts(nets: &[Shown], data: &Dataset, i: usize) -> Vec<(String, Tone)> {
    nets.iter()
        .filter_map(|n| {
            let p = n.eval.as_ref()?.predictions.get(i)?;
            Some((
                format!(
                    "{}: {} {:.0}%",
                    n.label,
                    class_name(&data.classes, p.predicted),
                    p.confidence * 100.0
                ),
                if p.correct() {
                    Tone::Right
                } else {
                    Tone::Wrong
                },
            ))
        })
        .collect()
}

/// A test image with its true class and the nets' verdicts; returns whether it was clicked.
fn card(
    v: &mut InspectView,
    ui: &mut Ui,
    data: &Dataset,
    nets: &[Shown],
    i: usize,
    w: f32,
) -> bool {
    ui.allocate_ui_with_layout(
        vec2(w, 0.0),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_width(w);
            let r = paint::thumb(ui, &mut v.paint, data, i, 56.0);
            let label = format!("test image #{i}");
            r.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            let clicked = r
                .on_hover_text("Click to see this image's feature maps")
                .clicked();
            let truth = class_name(&data.classes, data.test.labels[i] as usize);
            ui.add(
                egui::Label::new(RichText::new(format!("#{i} {truth}")).small().weak()).truncate(),
            );
            for (text, tone) in verdicts(nets, data, i) {
                ui.add(
                    egui::Label::new(RichText::new(text).small().color(tone_color(ui, tone)))
                        .truncate(),
                );
            }
            clicked
        },
    )
    .inner
}

/// Lays `images` out as cards, as many to a line as fit; returns the one clicked.
fn cards(
    v: &mut InspectView,
    ui: &mut Ui,
    data: &Dataset,
    nets: &[Shown],
    images: &[usize],
) -> Option<usize> {
    let w = 124.0;
    let per_line = ((ui.available_width() + 8.0) / (w + 8.0)).floor().max(1.0) as usize;
    let mut clicked = None;
    for line in images.chunks(per_line) {
        ui.horizontal_top(|ui| {
            ui.spacing_mut().item_spacing.x = 8.0;
            for &i in line {
                if card(v, ui, data, nets, i, w) {
                    clicked = Some(i);
                }
            }
        });
        ui.add_space(6.0);
    }
    clicked
}

/// Shows image `i`'s feature maps.
fn open_maps(v: &mut InspectView, i: usize) {
    v.set_image(i);
    v.page = InspectPage::FeatureMaps;
}

pub fn predictions(v: &mut InspectView, ui: &mut Ui) {
    let Some(data) = v.data().cloned() else {
        return;
    };
    let nets = shown(v);
    summary(ui, &nets);
    if data.test.is_empty() {
        ui.label("The data set has no test images to classify.");
        return;
    }
    let before = (v.show, v.class_filter);
    ui.horizontal_wrapped(|ui| {
        ui.label("Show");
        ui.selectable_value(&mut v.show, Show::All, "all");
        for n in &nets {
            let s = if n.slot == PLAIN {
                Show::WrongPlain
            } else {
                Show::WrongResidual
            };
            ui.selectable_value(&mut v.show, s, format!("wrong by {}", n.label));
        }
        if nets.len() == 2 {
            ui.selectable_value(&mut v.show, Show::Disagree, "the nets disagree");
        }
        let l = ui.label("class");
        egui::ComboBox::from_id_salt("inspect-class")
            .selected_text(
                v.class_filter
                    .map(|c| class_name(&data.classes, c))
                    .unwrap_or_else(|| "any".into()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut v.class_filter, None, "any");
                for (k, c) in data.classes.iter().enumerate() {
                    ui.selectable_value(&mut v.class_filter, Some(k), c);
                }
            })
            .response
            .labelled_by(l.id);
    });
    if before != (v.show, v.class_filter) {
        v.grid_page = 0;
    }
    let images = filtered(&nets, &data, v.show, v.class_filter);
    let pages = images.len().div_ceil(PER_PAGE).max(1);
    v.grid_page = v.grid_page.min(pages - 1);
    let from = v.grid_page * PER_PAGE;
    let page: Vec<usize> = images.iter().skip(from).take(PER_PAGE).copied().collect();
    let title = "Test images: true class, then each net's class and confidence";
    match plots::header(
        ui,
        title,
        nets.iter().any(|n| n.eval.is_some()),
        "Draw this page of images with the nets' verdicts as PNG",
    ) {
        Some(Kind::Csv) => {
            let names = data.classes.clone();
            let evals: Vec<(String, Arc<Evaluation>)> = nets
                .iter()
                .filter_map(|n| Some((n.label.clone(), n.eval.clone()?)))
                .collect();
            v.export(
                "predictions.csv".into(),
                move || {
                    let refs: Vec<(String, &Evaluation)> =
                        evals.iter().map(|(l, e)| (l.clone(), e.as_ref())).collect();
                    Ok(eval::side_by_side_csv(&names, &refs).into_bytes())
                },
                ui.ctx(),
            );
        }
        Some(Kind::Png) => {
            let sheet = contact_sheet(&data, &nets, &page);
            v.export(
                format!("{}.png", sheet.slug()),
                move || mosaic_to_png(&sheet, 1600),
                ui.ctx(),
            );
        }
        None => {}
    }
    ui.horizontal(|ui| {
        if ui
            .add_enabled(v.grid_page > 0, egui::Button::new("◀ Previous page"))
            .clicked()
        {
            v.grid_page -= 1;
        }
        ui.label(if images.is_empty() {
            "no images match".to_string()
        } else {
            format!(
                "images {}-{} of {}",
                from + 1,
                from + page.len(),
                images.len()
            )
        });
        if ui
            .add_enabled(v.grid_page + 1 < pages, egui::Button::new("Next page ▶"))
            .clicked()
        {
            v.grid_page += 1;
        }
    });
    if let Some(i) = cards(v, ui, &data, &nets, &page) {
        open_maps(v, i);
    }
}

/// The images of a predictions page as a picture with their captions.
fn contact_sheet(data: &Dataset, nets: &[Shown], images: &[usize]) -> Mosaic {
    let n = data.image_len();
    let cells: Vec<Cell> = images
        .iter()
        .map(|&i| {
            let mut caption = vec![(
                format!(
                    "#{i} {}",
                    class_name(&data.classes, data.test.labels[i] as usize)
                ),
                Tone::Normal,
            )];
            caption.extend(verdicts(nets, data, i));
            let px = data.test.images.get(i * n..(i + 1) * n).unwrap_or(&[]);
            Cell {
                caption,
                tiles: vec![image_tile(px, data.channels, data.height, data.width)],
            }
        })
        .collect();
    Mosaic {
        title: format!(
            "Test images of {}: {}",
            data.name,
            nets.iter()
                .map(|n| n.label.as_str())
                .collect::<Vec<_>>()
                .join(" vs ")
        ),
        note: "true class, then each net's class and confidence: green right, red wrong".into(),
        columns: Vec::new(),
        rows: cells
            .chunks(5)
            .map(|c| MosaicRow {
                title: String::new(),
                cells: c.to_vec(),
            })
            .collect(),
        wrap: 1,
    }
}

fn matrix_of(n: &Shown, e: &Evaluation, data: &Dataset) -> Matrix {
    Matrix {
        title: format!(
            "Confusion matrix of {}: {} test error",
            n.label,
            e.error()
                .map(|v| format!("{:.1}%", v * 100.0))
                .unwrap_or_else(|| "n/a".into())
        ),
        classes: data.classes.clone(),
        confusion: e.confusion.clone(),
    }
}

/// One net's matrix with its export buttons; a click selects a cell.
fn matrix_block(v: &mut InspectView, ui: &mut Ui, n: &Shown, m: &Matrix, cell: f32) {
    match plots::header(ui, &m.title, true, "Draw this confusion matrix as PNG") {
        Some(Kind::Png) => {
            let m2 = m.clone();
            v.export(
                format!("{}.png", m.slug()),
                move || matrix_to_png(&m2, (1500, 1100)),
                ui.ctx(),
            );
        }
        Some(Kind::Csv) => {
            let csv = m.confusion.to_csv(&m.classes);
            v.export(
                format!("{}.csv", m.slug()),
                move || Ok(csv.into_bytes()),
                ui.ctx(),
            );
        }
        None => {}
    }
    let selected = match v.cell {
        Some((s, t, p)) if s == n.slot => Some((t, p)),
        _ => None,
    };
    egui::ScrollArea::horizontal()
        .id_salt(("matrix-scroll", n.slot))
        .show(ui, |ui| {
            if let Some((t, p)) = paint::matrix(ui, &n.label, m, selected, cell) {
                v.cell = Some((n.slot, t, p));
            }
        });
}

pub fn confusion(v: &mut InspectView, ui: &mut Ui) {
    let Some(data) = v.data().cloned() else {
        return;
    };
    let nets = shown(v);
    summary(ui, &nets);
    let ready: Vec<(&Shown, Arc<Evaluation>)> = nets
        .iter()
        .filter_map(|n| Some((n, n.eval.clone()?)))
        .collect();
    if ready.is_empty() {
        return;
    }
    ui.weak(
        "Rows: the true class. Columns: the class the net chose. Blue: right, red: wrong; \
         the stronger, the larger the share of the class. Click a cell to see its images.",
    );
    let matrices: Vec<Matrix> = ready.iter().map(|(n, e)| matrix_of(n, e, &data)).collect();
    let half = (ui.available_width() - 16.0) / 2.0;
    let side = matrices.len() == 2
        && matrices
            .iter()
            .all(|m| paint::matrix_cell(ui, m, half).is_some());
    if side {
        let cell = matrices
            .iter()
            .filter_map(|m| paint::matrix_cell(ui, m, half))
            .fold(f32::MAX, f32::min);
        ui.columns(2, |cols| {
            for (k, ((n, _), m)) in ready.iter().zip(&matrices).enumerate() {
                matrix_block(v, &mut cols[k], n, m, cell);
            }
        });
    } else {
        for ((n, _), m) in ready.iter().zip(&matrices) {
            let cell = paint::matrix_cell(ui, m, ui.available_width()).unwrap_or(20.0);
            matrix_block(v, ui, n, m, cell);
            ui.add_space(8.0);
        }
    }
    ui.add_space(6.0);
    cell_images(v, ui, &data, &nets);
    ui.add_space(8.0);
    ui.heading("Most confused pairs");
    ui.columns(ready.len(), |cols| {
        for (k, (n, e)) in ready.iter().enumerate() {
            let ui = &mut cols[k];
            ui.strong(&n.label);
            let pairs = e.confusion.most_confused(5);
            if pairs.is_empty() {
                ui.weak("no mistakes");
            }
            for p in pairs {
                let text = format!(
                    "{} → {}: {} ({:.0}% of {})",
                    class_name(&data.classes, p.truth),
                    class_name(&data.classes, p.predicted),
                    p.count,
                    p.rate * 100.0,
                    class_name(&data.classes, p.truth)
                );
                if ui.link(text).on_hover_text("Show these images").clicked() {
                    v.cell = Some((n.slot, p.truth, p.predicted));
                }
            }
        }
    });
    ui.add_space(8.0);
    per_class(v, ui, &data, &ready);
}

/// The images of the selected confusion cell.
fn cell_images(v: &mut InspectView, ui: &mut Ui, data: &Dataset, nets: &[Shown]) {
    let Some((slot, t, p)) = v.cell else {
        ui.weak("Click a cell of a matrix to see its images here.");
        return;
    };
    let Some(n) = nets.iter().find(|n| n.slot == slot) else {
        return;
    };
    let Some(e) = &n.eval else { return };
    let images: Vec<usize> = e
        .cell(t, p)
        .into_iter()
        .map(|k| e.predictions[k].index)
        .collect();
    let (tn, pn) = (class_name(&data.classes, t), class_name(&data.classes, p));
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!(
            "{}: {} test image{} of {tn} classified as {pn}",
            n.label,
            images.len(),
            if images.len() == 1 { "" } else { "s" }
        ));
        if images.len() > 60 {
            ui.weak("(the first 60)");
        }
        if ui.small_button("✖").on_hover_text("Close").clicked() {
            v.cell = None;
        }
    });
    let first: Vec<usize> = images.into_iter().take(60).collect();
    if let Some(i) = cards(v, ui, data, nets, &first) {
        open_maps(v, i);
    }
}

/// Per-class error of each net: a table, and a chart that exports PNG and CSV.
fn per_class(
    v: &mut InspectView,
    ui: &mut Ui,
    data: &Dataset,
    ready: &[(&Shown, Arc<Evaluation>)],
) {
    let mut chart = Chart::new(
        "Per-class test error",
        "class (number, as in the matrix)",
        "test error %",
    );
    for (n, e) in ready {
        let pts = e
            .confusion
            .per_class_error()
            .iter()
            .enumerate()
            .filter_map(|(k, err)| Some([k as f64, (*err)? as f64 * 100.0]))
            .collect();
        chart.series.push(Series::new(
            n.label.clone(),
            family_color(n.family, 0, 1),
            pts,
        ));
    }
    if let Some(kind) = plots::chart(ui, &chart, 200.0) {
        match kind {
            Kind::Png => {
                let c = chart.clone();
                v.export(
                    format!("{}.png", chart.slug()),
                    move || crate::plot::to_png(&c, crate::plot::DEFAULT_SIZE),
                    ui.ctx(),
                );
            }
            Kind::Csv => {
                let names = data.classes.clone();
                let cs: Vec<(String, crate::train::eval::Confusion)> = ready
                    .iter()
                    .map(|(n, e)| (n.label.clone(), e.confusion.clone()))
                    .collect();
                v.export(
                    format!("{}.csv", chart.slug()),
                    move || {
                        let refs: Vec<(String, &crate::train::eval::Confusion)> =
                            cs.iter().map(|(l, c)| (l.clone(), c)).collect();
                        Ok(eval::per_class_side_by_side_csv(&names, &refs).into_bytes())
                    },
                    ui.ctx(),
                );
            }
        }
    }
    egui::Grid::new("per-class-error")
        .striped(true)
        .num_columns(1 + ready.len())
        .show(ui, |ui| {
            ui.strong("class");
            for (n, _) in ready {
                ui.strong(&n.label);
            }
            ui.end_row();
            for (k, c) in data.classes.iter().enumerate() {
                ui.label(format!("{k} {c}"));
                for (_, e) in ready {
                    let err = e.confusion.per_class_error()[k];
                    ui.label(
                        err.map(|v| format!("{:.1}%", v * 100.0))
                            .unwrap_or_else(|| "no images".into()),
                    );
                }
                ui.end_row();
            }
        });
}

//! The Feature maps and First-layer filters pages: what one test image becomes after each block
//! of both nets, with the signal's size there, and what the first convolution looks for.
use super::InspectView;
use super::pages::{Shown, shown};
use super::paint::{self, tone_color};
use crate::data::Dataset;
use crate::plot::inspect::{
    Cell, Mosaic, MosaicRow, Tone, filter_tiles, map_tiles, mosaic_to_png, std_chart,
};
use crate::train::eval::{FeatureMap, Filters, class_name};
use crate::ui::export::Kind;
use crate::ui::plots;
use crate::util::csv_field;
use egui::{RichText, Ui};
use std::sync::Arc;

/// Feature maps as a mosaic: a row per block (named as in the spec, so a plain net and its twin
/// line up), a column per net, the first `channels` channels of each map.
pub fn maps_mosaic(
    nets: &[(String, Arc<Vec<FeatureMap>>)],
    image: usize,
    truth: &str,
    channels: usize,
    wrap: usize,
) -> Mosaic {
    let names: Vec<String> = nets
        .first()
        .map(|(_, m)| m.iter().map(|f| f.name.clone()).collect())
        .unwrap_or_default();
    let rows = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut title = name.clone();
            let cells = nets
                .iter()
                .map(|(_, maps)| {
                    match maps
                        .iter()
                        .find(|f| &f.name == name)
                        .or_else(|| maps.get(i))
                    {
                        Some(f) => {
                            if title == *name {
                                title = format!("{name}\n{}", f.shape);
                            }
                            Cell {
                                caption: vec![(
                                    format!("std {:.3}   mean {:.3}", f.std, f.mean),
                                    Tone::Normal,
                                )],
                                tiles: map_tiles(f, channels),
                            }
                        }
                        None => Cell {
                            caption: vec![("no such block".into(), Tone::Normal)],
                            tiles: Vec::new(),
                        },
                    }
                })
                .collect();
            MosaicRow { title, cells }
        })
        .collect();
    Mosaic {
        title: format!("Feature maps of test image #{image} ({truth}) after each block"),
        note: format!(
            "first {channels} channels; each map on its own scale (dark: 0, bright: its 99th percentile); the std says how big the signal is"
        ),
        columns: nets.iter().map(|(l, _)| l.clone()).collect(),
        rows,
        wrap,
    }
}

/// Per block and net: the map's shape, mean and std, as CSV.
fn maps_csv(nets: &[(String, Arc<Vec<FeatureMap>>)]) -> String {
    let mut out = String::from("net,block,index,channels,height,width,mean,std\n");
    for (label, maps) in nets {
        for (i, f) in maps.iter().enumerate() {
            out.push_str(&format!(
                "{},{},{i},{},{},{},{},{}\n",
                csv_field(label),
                csv_field(&f.name),
                f.shape.c,
                f.shape.h,
                f.shape.w,
                f.mean,
                f.std
            ));
        }
    }
    out
}

/// Tiles per line and their size for cells of `cell_w` points.
fn tile_fit(cell_w: f32, channels: usize) -> (usize, f32) {
    let wrap = if cell_w >= 8.0 * 42.0 { 8 } else { 4 }.min(channels.max(1));
    let px = ((cell_w - (wrap as f32 - 1.0) * paint::TILE_GAP) / wrap as f32).clamp(18.0, 72.0);
    (wrap, px)
}

/// Previous / next image, its number, and how many channels to show.
fn chooser(v: &mut InspectView, ui: &mut Ui, data: &Dataset) {
    let n = data.test.len();
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(v.image > 0, egui::Button::new("◀ Previous image"))
            .clicked()
        {
            v.set_image(v.image - 1);
        }
        let mut i = v.image;
        let l = ui.label("test image #");
        ui.add(egui::DragValue::new(&mut i).range(0..=n.saturating_sub(1)))
            .labelled_by(l.id);
        if i != v.image {
            v.set_image(i);
        }
        ui.label(format!("of {n}"));
        if ui
            .add_enabled(v.image + 1 < n, egui::Button::new("Next image ▶"))
            .clicked()
        {
            v.set_image(v.image + 1);
        }
        ui.add_space(12.0);
        let l = ui.label("channels");
        ui.add(egui::DragValue::new(&mut v.channels).range(1..=64))
            .labelled_by(l.id)
            .on_hover_text("How many channels of each map to show");
    });
}

pub fn feature_maps(v: &mut InspectView, ui: &mut Ui) {
    let Some(data) = v.data().cloned() else {
        return;
    };
    if data.test.is_empty() {
        ui.label("The data set has no test images.");
        return;
    }
    let image = v.image.min(data.test.len() - 1);
    chooser(v, ui, &data);
    let nets = shown(v);
    let truth = class_name(&data.classes, data.test.labels[image] as usize);
    ui.horizontal(|ui| {
        paint::thumb(ui, &mut v.paint, &data, image, 96.0);
        ui.vertical(|ui| {
            ui.strong(format!("test image #{image}: {truth}"));
            for n in &nets {
                if let Some(p) = n.eval.as_ref().and_then(|e| e.predictions.get(image)) {
                    let tone = if p.correct() {
                        Tone::Right
                    } else {
                        Tone::Wrong
                    };
                    ui.colored_label(
                        tone_color(ui, tone),
                        format!(
                            "{} says {} ({:.1}% sure)",
                            n.label,
                            class_name(&data.classes, p.predicted),
                            p.confidence * 100.0
                        ),
                    );
                }
            }
        });
    });
    let mut ready: Vec<(String, Arc<Vec<FeatureMap>>)> = Vec::new();
    let mut families = Vec::new();
    let mut keys = Vec::new();
    for s in &nets {
        let Some(n) = v.nets[s.slot].as_ref() else {
            continue;
        };
        if let Some(e) = &n.maps_error {
            ui.colored_label(ui.visuals().error_fg_color, format!("{}: {e}", s.label));
        }
        match &n.maps {
            Some((i, m)) if *i == image => {
                ready.push((s.label.clone(), m.clone()));
                families.push(s.family);
                keys.push(n.cand.key());
            }
            _ => {}
        }
    }
    if ready.len() < nets.len() && v.nets.iter().flatten().any(|n| n.maps_running()) {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.weak("tracing the image through the nets...");
        });
    }
    if ready.is_empty() {
        return;
    }
    let std_nets: Vec<(String, crate::plot::Family, Vec<FeatureMap>)> = ready
        .iter()
        .zip(&families)
        .map(|((l, m), f)| (l.clone(), *f, m.as_ref().clone()))
        .collect();
    let chart = std_chart(&std_nets);
    if let Some(kind) = plots::chart(ui, &chart, 170.0) {
        let c = chart.clone();
        v.export(
            format!(
                "{}.{}",
                chart.slug(),
                if kind == Kind::Png { "png" } else { "csv" }
            ),
            move || match kind {
                Kind::Png => crate::plot::to_png(&c, crate::plot::DEFAULT_SIZE),
                Kind::Csv => Ok(crate::plot::to_csv(&c).into_bytes()),
            },
            ui.ctx(),
        );
    }
    ui.add_space(6.0);
    let cell_w = (ui.available_width() - 130.0) / ready.len() as f32 - 12.0;
    let (wrap, tile_px) = tile_fit(cell_w, v.channels);
    let key = format!("maps/{image}/{}/{wrap}/{keys:?}", v.channels);
    let mosaic = match &v.maps_cache {
        Some((k, m)) if *k == key => m.clone(),
        _ => {
            let m = Arc::new(maps_mosaic(&ready, image, &truth, v.channels, wrap));
            v.maps_cache = Some((key.clone(), m.clone()));
            m
        }
    };
    let title = "Feature maps after each block";
    if let Some(kind) = plots::header(ui, title, true, "Draw every block's maps as PNG") {
        match kind {
            Kind::Png => {
                let m = maps_mosaic(&ready, image, &truth, v.channels, 8);
                v.export(
                    format!("{}.png", m.slug()),
                    move || mosaic_to_png(&m, 1600),
                    ui.ctx(),
                );
            }
            Kind::Csv => {
                let csv = maps_csv(&ready);
                v.export(
                    format!("feature-maps-image-{image}.csv"),
                    move || Ok(csv.into_bytes()),
                    ui.ctx(),
                );
            }
        }
    }
    ui.weak(&mosaic.note);
    paint::mosaic(ui, &mut v.paint, &key, &mosaic, tile_px);
}

/// A net's first-layer filters, trained and (when known) as they started.
pub struct NetFilters {
    pub label: String,
    pub trained: Arc<Filters>,
    pub init: Option<Arc<Filters>>,
}

/// First-layer filters as a mosaic: a column per net, a row for the trained filters and one
/// for the same filters before training.
pub fn filters_mosaic(nets: &[NetFilters], wrap: usize) -> Mosaic {
    let cell = |f: Option<&Arc<Filters>>| match f {
        Some(f) => Cell {
            caption: vec![(
                format!("{} filters of {}x{}x{}", f.count, f.channels, f.k, f.k),
                Tone::Normal,
            )],
            tiles: filter_tiles(f),
        },
        None => Cell {
            caption: vec![("not known".into(), Tone::Normal)],
            tiles: Vec::new(),
        },
    };
    let mut rows = vec![MosaicRow {
        title: "trained".into(),
        cells: nets.iter().map(|n| cell(Some(&n.trained))).collect(),
    }];
    if nets.iter().any(|n| n.init.is_some()) {
        rows.push(MosaicRow {
            title: "before training".into(),
            cells: nets.iter().map(|n| cell(n.init.as_ref())).collect(),
        });
    }
    Mosaic {
        title: "First-layer filters".into(),
        note: "each filter on its own scale: mid grey is 0, light a positive weight, dark a negative one (colour: what each input channel adds)".into(),
        columns: nets.iter().map(|n| n.label.clone()).collect(),
        rows,
        wrap,
    }
}

fn filters_csv(nets: &[NetFilters]) -> String {
    let mut out = String::from("net,when,filter,channel,y,x,weight\n");
    let all = nets.iter().flat_map(|n| {
        std::iter::once((&n.label, "trained", &n.trained))
            .chain(n.init.iter().map(move |f| (&n.label, "before training", f)))
    });
    for (label, when, f) in all {
        for i in 0..f.count {
            let w = f.filter(i);
            for c in 0..f.channels {
                for y in 0..f.k {
                    for x in 0..f.k {
                        let v = w[c * f.k * f.k + y * f.k + x];
                        out.push_str(&format!(
                            "{},{when},{i},{c},{y},{x},{v}\n",
                            csv_field(label)
                        ));
                    }
                }
            }
        }
    }
    out
}

pub fn filters(v: &mut InspectView, ui: &mut Ui) {
    let nets: Vec<Shown> = shown(v);
    let ready: Vec<NetFilters> = nets
        .iter()
        .filter_map(|s| {
            let n = v.nets[s.slot].as_ref()?;
            Some(NetFilters {
                label: s.label.clone(),
                trained: n.filters.clone()?,
                init: n.init_filters.clone(),
            })
        })
        .collect();
    if ready.is_empty() {
        ui.weak(if nets.iter().all(|n| n.eval.is_some()) {
            "These nets have no convolution to show."
        } else {
            "Reading the nets' weights..."
        });
        return;
    }
    ui.label(
        "Each filter of the first convolution is a small pattern the net matches against the \
         raw pixels at every position; its output is one channel of the stem's feature maps. \
         Below them: the same filters as the run's seed made them, before training.",
    );
    if let Some(kind) = plots::header(ui, "First-layer filters", true, "Draw the filters as PNG") {
        match kind {
            Kind::Png => {
                let m = filters_mosaic(&ready, 8);
                v.export(
                    format!("{}.png", m.slug()),
                    move || mosaic_to_png(&m, 1600),
                    ui.ctx(),
                );
            }
            Kind::Csv => {
                let csv = filters_csv(&ready);
                v.export(
                    "first-layer-filters.csv".into(),
                    move || Ok(csv.into_bytes()),
                    ui.ctx(),
                );
            }
        }
    }
    let cell_w = (ui.available_width() - 130.0) / ready.len() as f32 - 12.0;
    let wrap = if cell_w >= 8.0 * 36.0 { 8 } else { 4 };
    let tile_px =
        ((cell_w - (wrap as f32 - 1.0) * paint::TILE_GAP) / wrap as f32).clamp(18.0, 48.0);
    let keys: Vec<usize> = nets
        .iter()
        .filter_map(|s| Some(v.nets[s.slot].as_ref()?.cand.key()))
        .collect();
    let key = format!("filters/{wrap}/{keys:?}");
    let mosaic = match &v.filters_cache {
        Some((k, m)) if *k == key => m.clone(),
        _ => {
            let m = Arc::new(filters_mosaic(&ready, wrap));
            v.filters_cache = Some((key.clone(), m.clone()));
            m
        }
    };
    ui.label(RichText::new(&mosaic.note).weak());
    paint::mosaic(ui, &mut v.paint, &key, &mosaic, tile_px);
}

//! Charts as CSV: one row per point, long format, so any spreadsheet can pivot it.
use super::{Chart, Grid};
use crate::util::csv_field;

pub fn to_csv(chart: &Chart) -> String {
    let y = if chart.log10_y {
        format!("log10({})", chart.y_label)
    } else {
        chart.y_label.clone()
    };
    let mut out = format!("series,{},{}\n", csv_field(&chart.x_label), csv_field(&y));
    for s in &chart.series {
        for p in &s.points {
            out.push_str(&format!("{},{},{}\n", csv_field(&s.name), p[0], p[1]));
        }
    }
    out
}

/// A heatmap as CSV: one row per cell, `step,layer,log10 gradient norm`.
pub fn grid_to_csv(grid: &Grid) -> String {
    let mut out = String::from("step,layer,log10 gradient norm\n");
    for (r, row) in grid.rows.iter().enumerate() {
        let step = grid.row_keys.get(r).copied().unwrap_or(r as f64);
        for (layer, v) in row.iter().enumerate() {
            out.push_str(&format!("{step},{layer},{v}\n"));
        }
    }
    out
}

//! Charts as CSV: one row per point, long format, so any spreadsheet can pivot it.
use super::Chart;
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

//! Charts export to decodable PNGs of the asked size and to CSV with one row per point.
use resnet_lab::plot::{self, Chart, Series, charts};
use resnet_lab::train::RunHistory;

fn sample() -> Chart {
    let mut c = Chart::new("Training error, test", "step", "error %");
    c.series.push(Series {
        name: "plain-20".into(),
        rgb: [214, 39, 40],
        points: (0..50).map(|i| [i as f64, 80.0 - i as f64]).collect(),
        dashed: false,
    });
    c.series.push(Series {
        name: "resnet, \"20\"".into(),
        rgb: [31, 119, 180],
        points: (0..50).map(|i| [i as f64, 70.0 - i as f64]).collect(),
        dashed: true,
    });
    c
}

#[test]
fn png_decodes_at_the_asked_size_with_series_colours() {
    let png = plot::to_png(&sample(), (800, 500)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (800, 500));
    let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
    assert!(has([214, 39, 40]), "plain colour missing");
    assert!(has([31, 119, 180]), "resnet colour missing");
    assert!(has([255, 255, 255]), "light background missing");
    let default = plot::to_png(&sample(), plot::DEFAULT_SIZE).unwrap();
    // Set PLOT_PREVIEW_DIR to look at the result by eye.
    if let Ok(dir) = std::env::var("PLOT_PREVIEW_DIR") {
        std::fs::write(std::path::Path::new(&dir).join("chart.png"), &default).unwrap();
    }
    let img = image::load_from_memory(&default).unwrap();
    assert_eq!((img.width(), img.height()), (1600, 1000));
}

#[test]
fn empty_and_odd_charts_still_draw() {
    let mut c = Chart::new("", "", "");
    assert!(plot::to_png(&c, (10, 10)).is_ok());
    c.series.push(Series {
        name: "nan".into(),
        rgb: [0, 0, 0],
        points: vec![[f64::NAN, 1.0], [1.0, f64::INFINITY], [2.0, 2.0]],
        dashed: false,
    });
    assert!(plot::to_png(&c, (400, 300)).is_ok());
    assert_eq!(c.slug(), "chart");
}

#[test]
fn csv_has_header_and_one_row_per_point() {
    let csv = plot::to_csv(&sample());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "series,step,error %");
    assert_eq!(lines.len(), 101);
    assert!(
        lines[51].starts_with("\"resnet, \"\"20\"\"\",0,70"),
        "{}",
        lines[51]
    );
    assert_eq!(sample().slug(), "training-error-test");
}

#[test]
fn charts_from_histories() {
    let h = RunHistory {
        label: "plain-8".into(),
        step_err: vec![0.9, 0.8, 0.7],
        step_loss: vec![2.3, 2.0, 1.8],
        grad_norms_init: vec![0.1, 1.0, 10.0],
        ..Default::default()
    };
    let c = charts::train_error(std::slice::from_ref(&h));
    assert_eq!(c.series[0].points.len(), 3);
    let p = c.series[0].points[0];
    assert!(p[0] == 1.0 && (p[1] - 90.0).abs() < 1e-4, "{p:?}");
    let g = charts::grad_flow(&[h]);
    assert!(g.log10_y);
    let ys: Vec<f64> = g.series[0].points.iter().map(|p| p[1]).collect();
    assert!(
        ys.iter()
            .zip([-1.0, 0.0, 1.0])
            .all(|(a, b)| (a - b).abs() < 1e-4),
        "{ys:?}"
    );
}

#[test]
fn heatmap_exports() {
    let g = resnet_lab::plot::Grid {
        name: "plain-8".into(),
        rows: vec![vec![-2.0, -1.0, 0.0], vec![-1.5, f64::NAN, 0.5]],
        row_keys: vec![0.0, 5.0],
    };
    let png = plot::grid_to_png(&g, (600, 400)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (600, 400));
    assert!(
        img.pixels().any(|p| p.0 == plot::ramp(1.0)),
        "top of the colour scale missing"
    );
    let csv = plot::grid_to_csv(&g);
    assert_eq!(csv.lines().count(), 7);
    assert!(csv.contains("5,2,0.5"));
    assert_eq!(g.slug(), "gradient-heatmap-plain-8");
}

#[test]
fn activation_chart_follows_the_signal_leaving_each_block() {
    let mut h = RunHistory {
        label: "resnet-8".into(),
        activation_names: vec![
            "bn1".into(),
            "b1.bn1".into(),
            "b1.out".into(),
            "b2.bn1".into(),
            "b2.out".into(),
        ],
        ..RunHistory::default()
    };
    h.activation_std
        .push(resnet_lab::train::history::LayerSample {
            step: 0,
            values: vec![0.6, 1.0, 1.3, 1.0, 1.7],
        });
    let c = charts::activation_std(&[h]);
    assert_eq!(
        c.series[0].points,
        vec![[0.0, 1.2999999523162842], [1.0, 1.7000000476837158]]
    );
}

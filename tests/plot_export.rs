//! Charts export to decodable PNGs of the asked size and to CSV with one row per point.
use resnet_lab::plot::{self, Chart, Series, charts};
use resnet_lab::train::RunHistory;

fn sample() -> Chart {
    let mut c = Chart::new("Training error, test", "step", "error %");
    c.series.push(Series::new(
        "plain-20",
        [214, 39, 40],
        (0..50).map(|i| [i as f64, 80.0 - i as f64]).collect(),
    ));
    c.series.push(
        Series::new(
            "resnet, \"20\"",
            [31, 119, 180],
            (0..50).map(|i| [i as f64, 70.0 - i as f64]).collect(),
        )
        .dashed(),
    );
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
    c.series.push(Series::new(
        "nan",
        [0, 0, 0],
        vec![[f64::NAN, 1.0], [1.0, f64::INFINITY], [2.0, 2.0]],
    ));
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
fn heatmaps_side_by_side_share_one_colour_scale() {
    let grid = |name: &str, lo: f64, hi: f64| resnet_lab::plot::Grid {
        name: name.into(),
        rows: vec![vec![lo, hi]],
        row_keys: vec![0.0],
        scale: None,
    };
    // A residual net's norms span 1e-10..1, a plain net's 1e-3..1e4 (log10): alone, each would
    // fill the whole colour ramp; together, the same colour is the same norm.
    let mut grids = vec![grid("resnet-56", -10.0, 0.0), grid("plain-56", -3.0, 4.0)];
    assert_eq!(grids[0].range(), Some((-10.0, 0.0)));
    resnet_lab::plot::Grid::share_scale(&mut grids);
    assert!(grids.iter().all(|g| g.range() == Some((-10.0, 4.0))));
    let a = plot::grid_to_png(&grids[0], (400, 200)).unwrap();
    let b = plot::grid_to_png(&grid("resnet-56", -10.0, 0.0), (400, 200)).unwrap();
    assert_ne!(a, b, "the shared scale changes the picture");
}

#[test]
fn heatmap_exports() {
    let g = resnet_lab::plot::Grid {
        name: "plain-8".into(),
        rows: vec![vec![-2.0, -1.0, 0.0], vec![-1.5, f64::NAN, 0.5]],
        row_keys: vec![0.0, 5.0],
        scale: None,
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

/// Writes `png` under PLOT_PREVIEW_DIR (when set) to look at by eye.
fn preview(name: &str, png: &[u8]) {
    if let Ok(dir) = std::env::var("PLOT_PREVIEW_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

fn run(label: &str, depth: usize, residual: bool) -> RunHistory {
    let spec = resnet_lab::nn::presets::cifar(
        depth,
        residual,
        resnet_lab::nn::presets::ShortcutOption::A,
        4,
        10,
    )
    .unwrap();
    let mut entry = resnet_lab::train::NetEntry::new(spec);
    entry.label = label.into();
    RunHistory::new(&entry, &resnet_lab::train::Hyper::default())
}

fn hue_and_lightness(c: [u8; 3]) -> (f32, f32) {
    let [r, g, b] = c.map(|v| v as f32 / 255.0);
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let l = (max + min) / 2.0;
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    (h, l)
}

#[test]
fn every_net_gets_its_own_hue_warm_for_plain_cool_for_residual() {
    // Out of depth order on purpose: hues are handed out shallow to deep, not by position.
    let runs = [
        run("plain-56", 56, false),
        run("resnet-20", 20, true),
        run("plain-8", 8, false),
        run("plain-20", 20, false),
        run("resnet-110", 110, true),
    ];
    let colors = charts::run_colors(&runs);
    let hl: Vec<(f32, f32)> = colors.iter().map(|c| hue_and_lightness(*c)).collect();
    let warm = |h: f32| !(60.0..300.0).contains(&h);
    let cool = |h: f32| (120.0..290.0).contains(&h);
    for (i, r) in runs.iter().enumerate() {
        let h = hl[i].0;
        if r.label.starts_with("plain") {
            assert!(warm(h), "{}: hue {h} is not warm: {hl:?}", r.label);
        } else {
            assert!(cool(h), "{}: hue {h} is not cool: {hl:?}", r.label);
        }
    }
    for i in 0..hl.len() {
        for j in 0..i {
            let d = (hl[i].0 - hl[j].0).abs();
            let d = d.min(360.0 - d);
            assert!(
                d > 15.0,
                "{} and {} share a hue: {hl:?}",
                runs[i].label,
                runs[j].label
            );
        }
    }
    // The shallowest plain net gets the family's first hue (red), as a lone net would.
    assert_eq!(
        colors[2],
        resnet_lab::plot::family_color(resnet_lab::plot::Family::Plain, 0, 1)
    );
    // The colours go into the charts unchanged.
    let c = charts::train_error(&runs);
    assert_eq!(c.series[2].rgb, colors[2]);
}

#[test]
fn notes_of_runs_stopped_side_by_side_do_not_overlap() {
    let stopped = |name: &str, end: f64, y: f64| {
        plot::Series::new(name, [200, 40, 40], vec![[0.0, 90.0], [end, y]])
            .partial(format!("stopped at {end}/300"))
    };
    let mut c = plot::Chart::new("t", "step", "err");
    c.series = vec![stopped("a", 261.0, 50.0), stopped("b", 263.0, 51.0)];
    let view = c.view();
    let notes = c.note_positions(&view);
    assert_eq!(notes.len(), 2);
    let gap = (notes[0].1[1] - notes[1].1[1]).abs();
    assert!(gap >= 0.1 * (view.y.1 - view.y.0) - 1e-9, "{notes:?}");
    // Far apart, each stays at its own last point.
    c.series[1] = stopped("b", 100.0, 10.0);
    let notes = c.note_positions(&c.view());
    assert_eq!(notes, vec![(0, [261.0, 50.0]), (1, [100.0, 10.0])]);
}

#[test]
fn legends_show_line_styles_and_incomplete_runs() {
    let mut h = run("plain-20", 20, false);
    h.grad_norms_init = vec![100.0, 10.0, 1.0, 0.1];
    h.grad_flow.push(resnet_lab::train::history::LayerSample {
        step: 0,
        values: h.grad_norms_init.clone(),
    });
    h.grad_flow.push(resnet_lab::train::history::LayerSample {
        step: 50,
        values: vec![3.0, 2.0, 1.0, 0.5],
    });
    let g = charts::grad_flow(std::slice::from_ref(&h));
    let legend = g.legend();
    assert_eq!(legend.len(), 2);
    assert!(legend[0].label.contains("first batch") && legend[0].dashed);
    assert!(legend[1].label.contains("step 50") && !legend[1].dashed);
    assert_eq!(legend[0].rgb, legend[1].rgb);
    // Decade ticks on the log axis: 0.1 ... 100, at least two of them.
    let v = g.view();
    let ticks = plot::axis::ticks(plot::axis::Scale::Log10, v.y.0, v.y.1, 8);
    let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["0.1", "1", "10", "100"]);
    preview(
        "grad-flow.png",
        &plot::to_png(&g, plot::DEFAULT_SIZE).unwrap(),
    );

    // A reference curve and a stopped run.
    let mut c = Chart::new("Training error (smoothed)", "step", "training error %");
    let full: Vec<[f64; 2]> = (1..=260)
        .map(|s| [s as f64, 90.0 * (-(s as f64) / 80.0).exp() + 5.0])
        .collect();
    c.series.push(
        Series::new("plain-56", [200, 40, 30], full[..38].to_vec()).partial("stopped at 38/260"),
    );
    c.series
        .push(Series::new("plain-56 reference", [200, 40, 30], full.clone()).reference());
    c.series.push(
        Series::new(
            "resnet-56 reference",
            [30, 110, 200],
            full.iter().map(|p| [p[0], p[1] * 0.6]).collect(),
        )
        .reference(),
    );
    let legend = c.legend();
    let labels: Vec<&str> = legend.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(
        labels,
        ["plain-56 (stopped at 38/260)", "reference: complete runs"]
    );
    assert_eq!(legend[0].marker, plot::Marker::Hollow);
    assert!(legend[1].faint && !legend[0].faint);
    // References are drawn first, behind the live curves.
    let order: Vec<&str> = c.draw_order().map(|s| s.name.as_str()).collect();
    assert_eq!(
        order,
        ["plain-56 reference", "resnet-56 reference", "plain-56"]
    );
    let png = plot::to_png(&c, (800, 500)).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    let faint = plot::faint([30, 110, 200], [255, 255, 255], plot::REFERENCE_ALPHA);
    assert!(
        img.pixels().any(|p| p.0 == faint),
        "the faint reference colour is missing"
    );
    assert!(
        !img.pixels().any(|p| p.0 == [30, 110, 200]),
        "a reference curve drawn at full strength"
    );
    preview(
        "partial-reference.png",
        &plot::to_png(&c, plot::DEFAULT_SIZE).unwrap(),
    );
}

#[test]
fn sparse_sweeps_get_readable_ranges_and_distinct_ticks() {
    use resnet_lab::train::history::SweepPoint;
    for points in [
        vec![
            SweepPoint {
                residual: false,
                depth: 8,
                train_err: 0.61,
                test_err: None,
            },
            SweepPoint {
                residual: true,
                depth: 8,
                train_err: 0.80,
                test_err: None,
            },
        ],
        vec![SweepPoint {
            residual: false,
            depth: 20,
            train_err: 0.5,
            test_err: None,
        }],
        vec![
            SweepPoint {
                residual: false,
                depth: 8,
                train_err: 0.2,
                test_err: None,
            },
            SweepPoint {
                residual: false,
                depth: 20,
                train_err: 0.2,
                test_err: None,
            },
        ],
    ] {
        let c = charts::sweep(&points);
        let v = c.view();
        assert!(v.x.1 - v.x.0 >= 2.0, "x range {:?}", v.x);
        assert!(
            v.y.1 - v.y.0 >= 10.0 && v.y.0 >= 0.0 && v.y.1 <= 100.0,
            "y range {:?}",
            v.y
        );
        for (scale, (lo, hi)) in [(c.x_scale(), v.x), (c.y_scale(), v.y)] {
            for n in [3, 6, 10] {
                let t = plot::axis::ticks(scale, lo, hi, n);
                let labels: Vec<&str> = t.iter().map(|t| t.label.as_str()).collect();
                let mut unique = labels.clone();
                unique.dedup();
                assert!(t.len() >= 2, "{labels:?}");
                assert_eq!(unique, labels);
                assert!(
                    !labels.iter().any(|l| *l == "-0" || l.starts_with("-0.0")),
                    "{labels:?}"
                );
            }
        }
        let png = plot::to_png(&c, (900, 600)).unwrap();
        preview(&format!("sweep-{}.png", points.len()), &png);
    }
}

#[test]
fn heatmaps_have_axis_ticks_and_a_colour_bar() {
    let g = resnet_lab::plot::Grid {
        name: "plain-20".into(),
        rows: (0..30)
            .map(|r| {
                (0..20)
                    .map(|c| 2.0 - c as f64 * 0.15 + r as f64 * 0.01)
                    .collect()
            })
            .collect(),
        row_keys: (0..30).map(|r| (r * 10) as f64).collect(),
        scale: None,
    };
    let rows = plot::grid_row_ticks(&g, 6);
    assert!(rows.len() >= 2 && rows.len() <= 6, "{rows:?}");
    assert_eq!(rows[0], (0, "0".to_string()));
    let cols = plot::grid_col_ticks(20, 5);
    assert!(
        cols.iter().all(|(c, _)| *c < 20) && cols.len() >= 2,
        "{cols:?}"
    );
    let (lo, hi) = g.range().unwrap();
    let bar = plot::colorbar_ticks(lo, hi, 6);
    assert!(bar.len() >= 2, "{bar:?}");
    assert!(
        bar.iter()
            .all(|t| t.value >= lo - 1e-9 && t.value <= hi + 1e-9)
    );
    let png = plot::grid_to_png(&g, plot::DEFAULT_SIZE).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgb8();
    // The bar holds both ends of the ramp even though no cell is exactly the extreme.
    for t in [0.005, 0.995] {
        let want = plot::ramp(t);
        assert!(
            img.pixels()
                .any(|p| p.0.iter().zip(want).all(|(a, b)| a.abs_diff(b) <= 6)),
            "colour bar end {t} missing"
        );
    }
    preview("heatmap.png", &png);
}

#[test]
fn the_learners_curves_set_the_height_references_only_the_width() {
    let mut c = Chart::new("Activation std after each block", "block", "activation std");
    c.integer_x = false;
    c.series.push(
        Series::new(
            "reference",
            [200, 120, 120],
            vec![[0.0, 15.0], [5.0, 45.0], [9.0, 2.0]],
        )
        .reference(),
    );
    c.series.push(Series::new(
        "resnet-110",
        [60, 120, 230],
        vec![[0.0, 1.0], [4.0, 5.0]],
    ));
    let v = c.view();
    assert!(
        v.y.1 < 10.0,
        "live curves up to 5 set the height: {:?}",
        v.y
    );
    assert!(
        v.x.1 >= 9.0,
        "the reference still sets the width: {:?}",
        v.x
    );
    // Without live curves, the references set both.
    c.series.pop();
    assert!(c.view().y.1 >= 45.0);
}

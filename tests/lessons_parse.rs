//! Every embedded lesson parses, names known diagrams/tries/checks, and renders to blocks.
use resnet_lab::identity::Preset;
use resnet_lab::landscape::{Event, Landscape, Point, Status};
use resnet_lab::lessons::{self, Check, TryAction, check, markdown};
use resnet_lab::train::{EpochPoint, RunHistory, RunStatus};

#[test]
fn every_lesson_parses_with_known_values() {
    let all = lessons::parse_all();
    assert_eq!(all.len(), 10);
    let mut ids = Vec::new();
    for l in &all {
        let l = l.as_ref().unwrap_or_else(|e| panic!("{e}"));
        assert!(!l.title.is_empty());
        assert!(!ids.contains(&l.id), "duplicate id {}", l.id);
        ids.push(l.id.clone());
        let blocks = markdown::parse(&l.body);
        assert!(blocks.len() > 5, "{} renders to too few blocks", l.file);
        assert!(
            blocks.iter().any(|b| matches!(b, markdown::Block::Heading(2, s) if s.iter().any(|s| s.text.contains("Try it")))),
            "{} has no Try it section",
            l.file
        );
    }
}

#[test]
fn try_lines_parse_into_actions() {
    match TryAction::parse("train plain-8 resnet-56+zeroinit resnet-110+scale0.2").unwrap() {
        TryAction::Train(nets) => {
            assert_eq!(nets.len(), 3);
            assert!(!nets[0].residual && nets[0].depth == 8);
            assert!(nets[1].zero_init);
            assert_eq!(nets[2].scale, 0.2);
            assert_eq!(nets[2].label(), "resnet-110+scale0.2");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        TryAction::parse("sweep 8 20 32").unwrap(),
        TryAction::Sweep(vec![8, 20, 32])
    );
    assert!(TryAction::parse("train plain-9").is_err());
    assert!(TryAction::parse("train resnet-20+scale5").is_err());
    assert!(TryAction::parse("dance").is_err());
    assert!(lessons::parse("x.md", "no front matter").is_err());
    assert!(
        lessons::parse(
            "x.md",
            "---\nid: a\ntitle: b\ndiagram: nope\ntry: sweep 8\ncheck: none\n---\nbody"
        )
        .is_err()
    );
}

/// A run whose mini-batch error is `err` at every one of `steps` steps.
/// A run of the preset `label` names (the test reads its own labels; the app never does).
fn run(label: &str, err: f32, steps: usize, status: RunStatus) -> RunHistory {
    RunHistory {
        label: label.into(),
        identity: Preset::parse(label).ok().map(|p| p.identity()),
        status,
        total_steps: 300,
        step_loss: vec![2.3; steps],
        step_err: vec![err; steps],
        epochs: vec![EpochPoint {
            epoch: 1,
            train_err: err,
            loss: 1.0,
            test_err: err,
            test_loss: 1.0,
        }],
        ..Default::default()
    }
}

fn finished(label: &str, err: f32) -> RunHistory {
    run(label, err, 300, RunStatus::Finished)
}

#[test]
fn checks_explain_in_a_sentence() {
    let runs = vec![finished("plain-8", 0.09), finished("plain-32", 0.23)];
    let o = check::evaluate(Check::Degradation, &runs).unwrap();
    assert!(o.passed, "{}", o.message);
    assert!(
        o.message.contains(
            "At the end (step 300) your plain-32 has 23% training error (mean of the last 50 steps), 14 points above plain-8's 9%"
        ),
        "{}",
        o.message
    );
    assert_eq!(o.figure, "plain-32 23% vs plain-8 9% @ step 300");
    let o = check::evaluate(Check::ResnetWins, &runs).unwrap();
    assert!(!o.passed && o.message.contains("missing"), "{}", o.message);
    let runs = vec![finished("plain-32", 0.3), finished("resnet-32", 0.1)];
    assert!(check::evaluate(Check::ResnetWins, &runs).unwrap().passed);
    assert!(check::evaluate(Check::None, &runs).is_none());
}

#[test]
fn a_stopped_run_is_compared_at_an_equal_step_or_not_at_all() {
    // The bug this guards against: plain-56 stopped after 10 steps at 82% was compared with
    // plain-8's 96 steps at 8% and announced as degradation.
    let runs = vec![
        run("plain-8", 0.08, 96, RunStatus::Stopped),
        run("plain-56", 0.82, 10, RunStatus::Stopped),
    ];
    let o = check::evaluate(Check::Degradation, &runs).unwrap();
    assert!(!o.passed, "{}", o.message);
    assert!(
        o.message
            .contains("plain-56 was stopped after 10 steps, too few to judge"),
        "{}",
        o.message
    );
    // Still training, and enough steps on both sides: judged at the shorter run's step.
    let mut deep = run("plain-56", 0.9, 60, RunStatus::Running);
    let mut shallow = run("plain-8", 0.9, 200, RunStatus::Running);
    // plain-8 improves only after step 60: at the equal step both are at 90%.
    for e in &mut shallow.step_err[60..] {
        *e = 0.1;
    }
    let o = check::evaluate(Check::Degradation, &[shallow.clone(), deep.clone()]).unwrap();
    assert!(!o.passed, "{}", o.message);
    assert!(o.message.contains("At step 60"), "{}", o.message);
    deep.step_err.resize(200, 0.9);
    deep.step_loss.resize(200, 2.3);
    let o = check::evaluate(Check::Degradation, &[shallow.clone(), deep.clone()]).unwrap();
    assert!(o.passed, "{}", o.message);
    assert!(o.figure.ends_with("@ step 200"), "{}", o.figure);
    // Runs stopped at step 125: the sentence says they were stopped there.
    for h in [&mut shallow, &mut deep] {
        h.step_err.truncate(125);
        h.step_loss.truncate(125);
        h.status = RunStatus::Stopped;
    }
    let o = check::evaluate(Check::Degradation, &[shallow, deep]).unwrap();
    assert!(
        o.message
            .contains("At step 125 (both were stopped there, short of their budget)"),
        "{}",
        o.message
    );
}

#[test]
fn one_noisy_batch_or_a_small_gap_does_not_pass() {
    let mut deep = finished("plain-56", 0.30);
    let shallow = finished("plain-20", 0.25);
    // The last batch alone would say 100% vs 25%.
    *deep.step_err.last_mut().unwrap() = 1.0;
    let o = check::evaluate(Check::Degradation, &[deep, shallow]).unwrap();
    assert!(!o.passed, "{}", o.message);
    assert!(o.message.contains("not the 10-point gap"), "{}", o.message);
}

#[test]
fn runs_of_different_settings_are_not_compared() {
    let mut deep = finished("plain-56", 0.8);
    deep.hyper.batch = 32;
    let shallow = finished("plain-20", 0.1);
    let o = check::evaluate(Check::Degradation, &[deep, shallow]).unwrap();
    assert!(
        !o.passed && o.message.contains("same settings"),
        "{}",
        o.message
    );
}

#[test]
fn the_sweep_check_uses_only_complete_runs() {
    let mut runs = vec![
        finished("plain-8", 0.10),
        finished("resnet-8", 0.10),
        finished("plain-20", 0.30),
        finished("resnet-20", 0.12),
    ];
    let o = check::evaluate(Check::SweepTrend, &runs).unwrap();
    assert!(o.passed, "{}", o.message);
    // A deeper run stopped early would make the plain line look even worse: it is left out
    // and named, and the verdict rests on the complete runs alone.
    runs.push(run("plain-56", 0.9, 40, RunStatus::Stopped));
    let o = check::evaluate(Check::SweepTrend, &runs).unwrap();
    assert!(o.passed, "{}", o.message);
    assert!(o.message.contains("at depth 20"), "{}", o.message);
    assert!(
        o.message.contains("plain-56 stopped after 40 of 300 steps"),
        "{}",
        o.message
    );
    // Only stopped runs: no conclusion at all.
    let stopped: Vec<RunHistory> = ["plain-8", "resnet-8", "plain-20", "resnet-20"]
        .iter()
        .map(|l| run(l, 0.5, 40, RunStatus::Stopped))
        .collect();
    let o = check::evaluate(Check::SweepTrend, &stopped).unwrap();
    assert!(
        !o.passed && o.message.starts_with("Still missing"),
        "{}",
        o.message
    );
}

#[test]
fn quick_lines_parse_strictly() {
    use resnet_lab::lessons::Quick;
    let q = Quick::parse("image 14, width 8, per-class 100, steps 50-300, seconds 45").unwrap();
    assert_eq!((q.image, q.width, q.per_class), (14, 8, 100));
    assert_eq!((q.min_steps, q.max_steps, q.seconds), (50, 300, 45.0));
    assert!(Quick::parse("steps 300-50").is_err());
    assert!(Quick::parse("colour blue").is_err());
    assert!(Quick::parse("image 0").is_err());
    assert!(Quick::parse("seconds -1").is_err());
    // A lesson that trains must say how small it may be; a build exercise must not.
    let front = |t: &str, q: &str| {
        format!(
            "---\nid: a\ntitle: b\ndiagram: residual-block\ntry: {t}\n{q}check: none\n---\nbody"
        )
    };
    assert!(lessons::parse("x.md", &front("train plain-8", "")).is_err());
    assert!(lessons::parse("x.md", &front("train plain-8", "quick: image 16\n")).is_ok());
    assert!(lessons::parse("x.md", &front("build identity", "quick: image 16\n")).is_err());
}

#[test]
fn every_training_lesson_has_a_current_reference() {
    use resnet_lab::lessons::plan::{Plan, Size};
    use resnet_lab::lessons::reference;
    for l in lessons::all().into_iter().filter(|l| l.quick.is_some()) {
        let r = reference::for_lesson(&l.id)
            .unwrap_or_else(|| panic!("{} has no reference curves", l.id));
        let q = l.quick.clone().unwrap();
        assert_eq!(r.steps, q.max_steps, "{}", l.id);
        let plan = Plan::new(&l, Size::Quick, 1).unwrap().with_steps(r.steps);
        let data = plan.load_data().unwrap();
        assert_eq!(
            r.setup,
            plan.describe(&data),
            "{}: the reference curves were made for another setup; regenerate them (README)",
            l.id
        );
        let nets: usize = plan.nets.len();
        assert_eq!(r.runs.len(), 3 * nets, "{}: three seeds per net", l.id);
        assert!(r.runs.iter().all(|run| run.steps == r.steps), "{}", l.id);
    }
}

/// A landscape of plain-56 (a rough surface) and resnet-56 (a bowl) on an 11x11 grid, computed
/// up to `points` evaluations and then ended by `end` (None: still running).
fn surfaces(points: usize, end: Option<Event>) -> Landscape {
    let n = 11;
    let coords: Vec<f64> = (0..n).map(|i| -1.0 + 0.2 * i as f64).collect();
    let mut l = Landscape::new();
    l.apply(&Event::Started {
        labels: vec!["plain-56".into(), "resnet-56".into()],
        residual: vec![false, true],
        coords: coords.clone(),
        alphas: vec![],
        has_line: vec![false, false],
        images: 200,
        cosines: vec![0.0, 0.0],
        total: 2 * n * n,
    });
    let mut done = 0;
    'grid: for (iy, &y) in coords.iter().enumerate() {
        for (ix, &x) in coords.iter().enumerate() {
            for net in 0..2 {
                if done == points {
                    break 'grid;
                }
                let loss = if net == 0 {
                    2.0 + (7.0 * x).sin() * (6.0 * y).cos() + 0.3 * x * x
                } else {
                    1.0 + x * x + y * y
                };
                l.apply(&Event::Grid {
                    net,
                    ix,
                    iy,
                    point: Point {
                        loss: loss as f32,
                        error: 0.1,
                    },
                });
                done += 1;
            }
        }
    }
    if let Some(e) = end {
        l.apply(&e);
    }
    l
}

fn finished_surfaces() -> Landscape {
    surfaces(
        242,
        Some(Event::Finished {
            wall_secs: 1.0,
            evaluations: 242,
        }),
    )
}

#[test]
fn the_bowl_check_judges_only_complete_surfaces_of_a_finished_pair() {
    let pair = vec![finished("plain-56", 0.6), finished("resnet-56", 0.1)];
    let ok = finished_surfaces();
    let o = check::evaluate_with(Check::Bowl, &pair, Some(&ok)).unwrap();
    assert!(o.passed, "{}", o.message);
    assert!(
        o.figure.contains("plain-56")
            && o.figure.contains("resnet-56")
            && o.figure.contains("11x11"),
        "{}",
        o.figure
    );
    // No surfaces, and nothing computing them (a restart, say): missing, in words, and never
    // "waiting" for a job that is not there.
    for o in [
        check::evaluate_with(Check::Bowl, &pair, None).unwrap(),
        check::evaluate(Check::Bowl, &pair).unwrap(),
    ] {
        assert!(!o.passed && o.figure.is_empty(), "{}", o.message);
        assert!(
            o.message.contains("have not been computed in this session")
                && !o.message.contains("Waiting"),
            "{}",
            o.message
        );
    }
    // A partial grid, still running or cancelled, never passes, though its half is the bowl.
    for partial in [
        surfaces(121, None),
        surfaces(121, Some(Event::Cancelled { evaluations: 121 })),
    ] {
        let o = check::evaluate_with(Check::Bowl, &pair, Some(&partial)).unwrap();
        assert!(!o.passed && o.figure.is_empty(), "{}", o.message);
    }
    // A job still copying the nets, or refused before it began, says so in its own words.
    let mut starting = Landscape::new();
    starting.status = Status::Running;
    let o = check::evaluate_with(Check::Bowl, &pair, Some(&starting)).unwrap();
    assert!(
        !o.passed && o.message.contains("copying the nets"),
        "{}",
        o.message
    );
    starting.apply(&Event::Failed {
        reason: "too big".into(),
    });
    let o = check::evaluate_with(Check::Bowl, &pair, Some(&starting)).unwrap();
    assert!(
        !o.passed && o.message.contains("failed: too big"),
        "{}",
        o.message
    );
    // A stopped run is no evidence, even with complete surfaces beside it.
    let stopped = vec![
        run("plain-56", 0.6, 120, RunStatus::Stopped),
        finished("resnet-56", 0.1),
    ];
    let o = check::evaluate_with(Check::Bowl, &stopped, Some(&ok)).unwrap();
    assert!(!o.passed, "{}", o.message);
    assert!(
        o.message.contains("plain-56 was stopped after 120 steps"),
        "{}",
        o.message
    );
    // Runs of unequal length are not compared.
    let unequal = vec![
        run("plain-56", 0.6, 200, RunStatus::Finished),
        finished("resnet-56", 0.1),
    ];
    let o = check::evaluate_with(Check::Bowl, &unequal, Some(&ok)).unwrap();
    assert!(
        !o.passed && o.message.contains("equal number of steps"),
        "{}",
        o.message
    );
    // Surfaces of other nets are not this pair's.
    let other = vec![finished("plain-20", 0.6), finished("resnet-20", 0.1)];
    let o = check::evaluate_with(Check::Bowl, &other, Some(&ok)).unwrap();
    assert!(
        !o.passed && o.message.contains("not those of"),
        "{}",
        o.message
    );
    // The wrong way round (the residual surface the rough one) does not pass either.
    let mut swapped = ok.clone();
    for n in &mut swapped.nets {
        n.residual = !n.residual;
        n.label = if n.residual { "resnet-56" } else { "plain-56" }.into();
    }
    let o = check::evaluate_with(Check::Bowl, &pair, Some(&swapped)).unwrap();
    assert!(!o.passed && !o.figure.is_empty(), "{}", o.message);
}

#[test]
fn landscape_lines_parse_strictly() {
    let front = |l: &str, c: &str| {
        format!(
            "---\nid: a\ntitle: b\ndiagram: residual-block\ntry: train plain-20 resnet-20\nquick: image 16\n{l}check: {c}\n---\nbody"
        )
    };
    let l = lessons::parse(
        "x.md",
        &front("landscape: grid 11, images 50, line 0\n", "bowl"),
    )
    .unwrap();
    let q = l.landscape.unwrap();
    assert_eq!((q.grid, q.images, q.line, q.range), (11, 50, 0, 1.0));
    assert_eq!(q.settings(7).seed, 7);
    assert!(
        lessons::parse("x.md", &front("", "bowl")).is_err(),
        "bowl needs surfaces"
    );
    assert!(lessons::parse("x.md", &front("landscape: grid 10\n", "bowl")).is_err());
    assert!(lessons::parse("x.md", &front("landscape: grid 11, range -1\n", "bowl")).is_err());
    assert!(lessons::parse("x.md", &front("landscape: colour red\n", "none")).is_err());
    let one_net = "---\nid: a\ntitle: b\ndiagram: residual-block\ntry: train plain-20\nquick: image 16\nlandscape: grid 11\ncheck: none\n---\nbody";
    assert!(
        lessons::parse("x.md", one_net).is_err(),
        "a landscape needs a pair"
    );
    let ten = lessons::all()
        .into_iter()
        .find(|l| l.id == "shape-of-the-loss")
        .unwrap();
    assert_eq!(ten.check, Check::Bowl);
    assert!(ten.landscape.is_some());
}

#[test]
fn checks_read_the_typed_identity_not_the_label() {
    use resnet_lab::identity::{NetIdentity, Origin};
    use resnet_lab::nn::presets::ShortcutOption;
    let with = |label: &str, err: f32, id: NetIdentity| RunHistory {
        identity: Some(id),
        ..finished(label, err)
    };
    let preset = |residual, depth| {
        Preset {
            shortcut: ShortcutOption::A,
            ..Preset::new(residual, depth)
        }
        .identity()
    };
    // Labels that would parse as other nets: the identity decides.
    let runs = vec![
        with("mine", 0.09, preset(false, 8)),
        with("resnet-20", 0.23, preset(false, 32)),
    ];
    let o = check::evaluate(Check::Degradation, &runs).unwrap();
    assert!(o.passed, "{}", o.message);
    // A built net named like a preset is not a lesson net.
    let mut built = preset(false, 32);
    built.origin = Origin::Built;
    let runs = vec![
        with("plain-8", 0.09, preset(false, 8)),
        with("plain-32", 0.23, built),
    ];
    let o = check::evaluate(Check::Degradation, &runs).unwrap();
    assert!(!o.passed && o.message.contains("missing"), "{}", o.message);
}

//! Every embedded lesson parses, names known diagrams/tries/checks, and renders to blocks.
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

fn finished(label: &str, err: f32) -> RunHistory {
    RunHistory {
        label: label.into(),
        status: RunStatus::Finished,
        step_loss: vec![2.3],
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

#[test]
fn checks_explain_in_a_sentence() {
    let runs = vec![finished("plain-8", 0.09), finished("plain-32", 0.23)];
    let o = check::evaluate(Check::Degradation, &runs, &[]).unwrap();
    assert!(o.passed, "{}", o.message);
    assert!(
        o.message
            .contains("plain-32 ended with 23% training error, higher than plain-8's 9%"),
        "{}",
        o.message
    );
    let o = check::evaluate(Check::ResnetWins, &runs, &[]).unwrap();
    assert!(!o.passed && o.message.contains("missing"), "{}", o.message);
    let runs = vec![finished("plain-32", 0.3), finished("resnet-32", 0.1)];
    assert!(
        check::evaluate(Check::ResnetWins, &runs, &[])
            .unwrap()
            .passed
    );
    assert!(check::evaluate(Check::None, &runs, &[]).is_none());
}

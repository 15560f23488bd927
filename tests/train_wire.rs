//! A run as bytes (`train::wire`, what a browser's training worker is handed and hands back):
//! job, data set, events and weights come back equal, a run trained from the decoded job and
//! data set gives the same events bit for bit, and damaged bytes are one sentence each.
use resnet_lab::data;
use resnet_lab::identity::Preset;
use resnet_lab::train::wire::{self, TrainJob};
use resnet_lab::train::{Event, Hyper, NetEntry, trainer};

fn job() -> (TrainJob, data::Dataset) {
    let ds = data::builtin_sized(5, 64, 16).convert(12, 12, 1);
    let net = NetEntry::new(Preset::new(true, 8).spec(ds.classes.len()).unwrap());
    let hyper = Hyper {
        epochs: 1,
        batch: 16,
        seed: 3,
        threads: 1,
        probe_every: 2,
        ..Hyper::default()
    };
    (TrainJob { net, hyper }, ds)
}

fn train(job: &TrainJob, ds: &data::Dataset) -> (Vec<Event>, resnet_lab::nn::Model) {
    let mut events = Vec::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let model = pool.install(|| {
        trainer::run(
            &job.net,
            &job.hyper,
            ds,
            &mut |_| trainer::Control::Continue,
            &mut |e| events.push(e),
        )
    });
    (events, model.expect("the run trains"))
}

#[test]
fn a_run_survives_the_trip_as_bytes() {
    let (job, ds) = job();
    let job2 = TrainJob::decode(&job.encode()).unwrap();
    assert_eq!(job2, job);
    let ds2 = wire::decode_dataset(&wire::encode_dataset(&ds)).unwrap();
    assert_eq!(ds2.train.images, ds.train.images);
    assert_eq!(ds2.test.labels, ds.test.labels);
    assert_eq!((ds2.channels, ds2.height, ds2.width), (1, 12, 12));
    assert_eq!(ds2.classes, ds.classes);
    assert_eq!(ds2.mean, ds.mean);

    let (events, mut model) = train(&job, &ds);
    let (events2, _) = train(&job2, &ds2);
    // Wall time differs; every other number must be the same bits.
    let strip = |v: &[Event]| -> Vec<Event> {
        v.iter()
            .filter(|e| !matches!(e, Event::Finished { .. }))
            .cloned()
            .collect()
    };
    assert_eq!(strip(&events2), strip(&events));
    for e in &events {
        assert_eq!(&wire::decode_event(&wire::encode_event(e)).unwrap(), e);
    }
    // NaN and infinity survive (JSON would lose them).
    let d = Event::Diverged {
        step: 4,
        loss: f32::NAN,
    };
    match wire::decode_event(&wire::encode_event(&d)).unwrap() {
        Event::Diverged { step: 4, loss } => assert!(loss.is_nan()),
        other => panic!("came back as {other:?}"),
    }

    let bytes = wire::encode_model(&mut model);
    let mut back = wire::decode_model(&bytes, &job, &ds).unwrap();
    let (a, b) = (model.params(), back.params());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "tensor {} changed on the way", x.name);
    }
}

#[test]
fn damaged_bytes_are_one_sentence() {
    let (job, ds) = job();
    let bytes = wire::encode_dataset(&ds);
    for cut in [0, 5, 8, 30, bytes.len() / 2, bytes.len() - 1] {
        let e = wire::decode_dataset(&bytes[..cut]).unwrap_err();
        assert!(e.starts_with("the data set's bytes are damaged"), "{e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(wire::decode_dataset(&longer).is_err());
    // A header claiming a huge split is refused before anything that size is allocated.
    let mut huge = bytes.clone();
    let hl = u64::from_le_bytes(huge[..8].try_into().unwrap()) as usize;
    let h = String::from_utf8(huge[8..8 + hl].to_vec()).unwrap();
    let h = h.replacen("\"train\":64", "\"train\":9000000000000", 1);
    huge.splice(8..8 + hl, h.bytes());
    huge[..8].copy_from_slice(&(h.len() as u64).to_le_bytes());
    assert!(wire::decode_dataset(&huge).is_err());
    assert!(TrainJob::decode(b"{not json").is_err());
    assert!(wire::decode_event(&[1, 2]).is_err());
    let err = wire::decode_model(b"junk", &job, &ds).unwrap_err();
    assert!(err.contains("the trained weights"), "{err}");
}

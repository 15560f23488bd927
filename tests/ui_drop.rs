//! Files dropped on the window load as the data set: a .zip of an image folder (what a browser
//! user drops; the page hands its bytes to the same `DataView::start_bytes`), and a damaged
//! drop says what went wrong in a sentence and keeps the data set that was loaded.
use egui_kittest::kittest::Queryable;
use image::{GrayImage, Luma};
use resnet_lab::data;
use resnet_lab::ui::ResNetLabApp;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;
use common::step_until;

#[derive(Debug)]
struct Dropped {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.path
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        Ok(self.bytes.clone())
    }
}

/// A zip of `digits/<class>/<i>.png`: two classes of 12x12 images, bright left or right half.
fn zipped_folder() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (c, class) in ["left", "right"].iter().enumerate() {
        for i in 0..10u8 {
            let img = GrayImage::from_fn(12, 12, |x, _| {
                let bright = (x < 6) == (c == 0);
                Luma([if bright { 200 + i } else { 10 + i }])
            });
            let mut png = Vec::new();
            img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
                .unwrap();
            w.start_file(format!("digits/{class}/{i}.png"), o).unwrap();
            w.write_all(&png).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

fn drop_file(h: &mut egui_kittest::Harness<'_, ResNetLabApp>, name: &str, bytes: Vec<u8>) {
    let f: egui::DroppedFileHandle = Arc::new(Dropped {
        path: PathBuf::from(format!("/home/learner/{name}")),
        bytes,
    });
    h.input_mut().dropped_files.push(f);
}

#[test]
fn a_dropped_zip_of_an_image_folder_becomes_the_data_set() {
    let app = ResNetLabApp::new_for_test().with_dataset(data::builtin_sized(0, 100, 20));
    let mut h = common::harness(app, egui::vec2(1280.0, 800.0));
    h.get_by_label("Data").click();
    h.run();
    h.get_by_label_contains("Or drop files anywhere on the window");
    drop_file(&mut h, "digits.zip", zipped_folder());
    step_until(&mut h, 60, "the dropped zip to load", |a| {
        a.state
            .dataset
            .as_ref()
            .is_some_and(|d| d.classes == ["left", "right"])
    });
    let ds = h.state().state.dataset.clone().unwrap();
    assert_eq!(ds.train.len() + ds.test.len(), 20);
    assert_eq!(ds.channels, 1);

    // A damaged zip: one sentence, and the data set stays.
    drop_file(
        &mut h,
        "broken.zip",
        b"PK\x03\x04 this is not a zip".to_vec(),
    );
    step_until(&mut h, 30, "the damaged drop's message", |a| {
        a.data().message.is_some() && !a.data().is_loading()
    });
    let msg = h.state().data().message.clone().unwrap();
    assert!(msg.contains("broken.zip"), "{msg}");
    assert_eq!(
        h.state().state.dataset.as_ref().unwrap().classes,
        ["left", "right"]
    );
}

//! What the app shows about a data set before training: counts, shape and sample pictures.

use serde::{Deserialize, Serialize};

use super::dataset::{Dataset, SplitKind};

/// Everything the app's data panel shows, without the pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub name: String,
    pub classes: Vec<String>,
    /// Images per class in each split, indexed like `classes`.
    pub train_counts: Vec<usize>,
    pub test_counts: Vec<usize>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub train_len: usize,
    pub test_len: usize,
    pub warnings: Vec<String>,
}

/// One image ready to paint: RGBA8 rows, plus the name of its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thumbnail {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
    pub label: String,
}

impl Dataset {
    pub fn summary(&self) -> Summary {
        let counts = |s: SplitKind| {
            let mut c = vec![0usize; self.classes.len()];
            for &l in &self.split(s).labels {
                if let Some(n) = c.get_mut(l as usize) {
                    *n += 1;
                }
            }
            c
        };
        Summary {
            name: self.name.clone(),
            classes: self.classes.clone(),
            train_counts: counts(SplitKind::Train),
            test_counts: counts(SplitKind::Test),
            channels: self.channels,
            height: self.height,
            width: self.width,
            train_len: self.train.len(),
            test_len: self.test.len(),
            warnings: self.warnings.clone(),
        }
    }

    /// The raw image `i` of a split as RGBA8 (grey repeated into R, G and B), with its class
    /// name. An index past the end gives an empty thumbnail (0x0, no label) rather than a panic,
    /// since the app may ask while a new data set replaces the old one.
    pub fn thumbnail(&self, split: SplitKind, i: usize) -> Thumbnail {
        let s = self.split(split);
        let n = self.image_len();
        let (Some(img), Some(&label), true) = (
            s.images.get(i * n..(i + 1) * n),
            s.labels.get(i),
            self.channels > 0,
        ) else {
            return Thumbnail {
                width: 0,
                height: 0,
                rgba: vec![],
                label: String::new(),
            };
        };
        let plane = self.height * self.width;
        let mut rgba = Vec::with_capacity(plane * 4);
        for p in 0..plane {
            for c in 0..3 {
                rgba.push(img[c.min(self.channels - 1) * plane + p]);
            }
            rgba.push(255);
        }
        Thumbnail {
            width: self.width,
            height: self.height,
            rgba,
            label: self
                .classes
                .get(label as usize)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The first `per_class` images of each class in a split, class by class: a contact sheet.
    pub fn sample_thumbnails(&self, split: SplitKind, per_class: usize) -> Vec<Thumbnail> {
        let s = self.split(split);
        let mut picked: Vec<Vec<usize>> = vec![vec![]; self.classes.len()];
        for (i, &l) in s.labels.iter().enumerate() {
            if let Some(v) = picked.get_mut(l as usize).filter(|v| v.len() < per_class) {
                v.push(i);
            }
        }
        picked
            .into_iter()
            .flatten()
            .map(|i| self.thumbnail(split, i))
            .collect()
    }
}

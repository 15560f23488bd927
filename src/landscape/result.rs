//! What a computation has produced so far: every view, export and check reads this.
use super::figures::{Basin, Figures, figures};
use super::job::Event;
use super::probe::Point;

/// Loss and error on the 2-D grid. `loss[iy * n + ix]` is at `(coords[ix], coords[iy])`;
/// NaN marks a point not computed yet, +inf a point whose loss was not finite.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Surface {
    pub coords: Vec<f64>,
    pub loss: Vec<f32>,
    pub error: Vec<f32>,
    pub filled: usize,
}

impl Surface {
    /// The basin figures of a complete grid (see [`Basin`]).
    pub fn basin(&self, classes: usize) -> Option<Basin> {
        Basin::of(&self.loss, self.side(), self.is_complete(), classes)
    }

    pub fn new(coords: Vec<f64>) -> Self {
        let n = coords.len() * coords.len();
        Self {
            coords,
            loss: vec![f32::NAN; n],
            error: vec![f32::NAN; n],
            filled: 0,
        }
    }

    /// Points per side.
    pub fn side(&self) -> usize {
        self.coords.len()
    }

    pub fn is_complete(&self) -> bool {
        self.filled == self.loss.len() && !self.loss.is_empty()
    }

    pub fn at(&self, ix: usize, iy: usize) -> Option<Point> {
        let i = iy * self.side() + ix;
        let loss = *self.loss.get(i)?;
        (!loss.is_nan()).then(|| Point {
            loss,
            error: self.error[i],
        })
    }

    /// The trained net's own point (the middle of an odd grid).
    pub fn centre(&self) -> Option<Point> {
        let n = self.side();
        (n % 2 == 1).then(|| self.at(n / 2, n / 2)).flatten()
    }

    fn set(&mut self, ix: usize, iy: usize, p: Point) {
        let i = iy * self.side() + ix;
        if let Some(v) = self.loss.get_mut(i) {
            if v.is_nan() {
                self.filled += 1;
            }
            *v = p.loss;
            self.error[i] = p.error;
        }
    }

    /// Loss values as f64, row by row (NaN where not computed).
    pub fn loss_f64(&self) -> Vec<f64> {
        self.loss.iter().map(|&v| v as f64).collect()
    }
}

/// Loss and error along the line from the initial (alpha 0) to the trained (alpha 1) weights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub alphas: Vec<f64>,
    pub loss: Vec<f32>,
    pub error: Vec<f32>,
}

impl Line {
    fn new(alphas: Vec<f64>) -> Self {
        let n = alphas.len();
        Self {
            alphas,
            loss: vec![f32::NAN; n],
            error: vec![f32::NAN; n],
        }
    }
}

/// One net's pictures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetLandscape {
    pub label: String,
    /// Whether the net has shortcuts.
    pub residual: bool,
    pub surface: Surface,
    pub line: Option<Line>,
    /// Cosine between its two random directions.
    pub cosine: f64,
}

impl NetLandscape {
    /// How bowl-like its loss surface is, over the points computed so far.
    pub fn figures(&self) -> Option<Figures> {
        figures(&self.surface.coords, &self.surface.loss_f64())
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Status {
    #[default]
    Waiting,
    Running,
    Finished {
        wall_secs: f64,
    },
    Cancelled,
    Failed(String),
}

impl Status {
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            Status::Finished { .. } | Status::Cancelled | Status::Failed(_)
        )
    }
}

/// Every net's surface and line, filled in as events arrive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Landscape {
    pub nets: Vec<NetLandscape>,
    pub images: usize,
    pub status: Status,
    pub done: usize,
    pub total: usize,
}

impl Landscape {
    pub fn new() -> Self {
        Self::default()
    }

    /// Finished with every surface and line filled: the only state a check may conclude from.
    pub fn is_complete(&self) -> bool {
        matches!(self.status, Status::Finished { .. })
            && !self.nets.is_empty()
            && self.nets.iter().all(|n| {
                n.surface.is_complete()
                    && n.line
                        .as_ref()
                        .is_none_or(|l| l.loss.iter().all(|v| !v.is_nan()))
            })
    }

    /// Share of the evaluations done, in [0, 1].
    pub fn progress(&self) -> f32 {
        if self.total == 0 {
            return 0.0;
        }
        (self.done as f32 / self.total as f32).min(1.0)
    }

    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::Started {
                labels,
                residual,
                coords,
                alphas,
                has_line,
                images,
                cosines,
                total,
            } => {
                self.nets = labels
                    .iter()
                    .enumerate()
                    .map(|(i, label)| NetLandscape {
                        label: label.clone(),
                        residual: residual.get(i).copied().unwrap_or(false),
                        surface: Surface::new(coords.clone()),
                        line: has_line
                            .get(i)
                            .copied()
                            .unwrap_or(false)
                            .then(|| Line::new(alphas.clone())),
                        cosine: cosines.get(i).copied().unwrap_or(0.0),
                    })
                    .collect();
                self.images = *images;
                self.total = *total;
                self.done = 0;
                self.status = Status::Running;
            }
            Event::Line { net, index, point } => {
                if let Some(l) = self.nets.get_mut(*net).and_then(|n| n.line.as_mut())
                    && *index < l.loss.len()
                {
                    l.loss[*index] = point.loss;
                    l.error[*index] = point.error;
                    self.done += 1;
                }
            }
            Event::Grid { net, ix, iy, point } => {
                if let Some(n) = self.nets.get_mut(*net) {
                    n.surface.set(*ix, *iy, *point);
                    self.done += 1;
                }
            }
            Event::Finished { wall_secs, .. } => {
                self.status = Status::Finished {
                    wall_secs: *wall_secs,
                }
            }
            Event::Cancelled { .. } => self.status = Status::Cancelled,
            Event::Failed { reason } => self.status = Status::Failed(reason.clone()),
        }
    }
}

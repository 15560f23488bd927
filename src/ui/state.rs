//! The app's state apart from the views that show it (rerun's viewer keeps the same split):
//! the runs (the scheduler), the data sets, the lesson's Try it, the run files, and a queue of
//! commands through which views ask for what happens outside themselves.
use super::run_files::RunFiles;
use crate::builder::ExerciseId;
use crate::data::{Dataset, Source};
use crate::identity::NetChoice;
use crate::lessons::reference::Reference;
use crate::lessons::try_run::TryRun;
use crate::task::Wake;
use crate::train::DataInfo;
use crate::train::scheduler::{DataRef, Scheduler};
use std::sync::Arc;

/// What a view asks the app to do outside itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Open the tab with this key.
    ShowTab(&'static str),
    /// Set these nets up in the Train tab (the Build tab's "Train this net"), saying `message`.
    SetUpNets {
        nets: Vec<NetChoice>,
        message: String,
    },
    /// A builder exercise passed: the lessons it belongs to are done.
    ExercisePassed(ExerciseId),
    /// Load this data source unless it is loaded already (a reopened experiment's).
    LoadSource(Source),
    /// Stop computing the lesson's surfaces (the Landscape tab's Cancel).
    CancelLessonSurfaces,
}

#[derive(Default)]
pub struct AppState {
    /// The runs: live and finished, and a sweep's queue.
    pub scheduler: Scheduler,
    /// The Data tab's data set, and what runs record about it.
    pub dataset: Option<Arc<Dataset>>,
    pub data_info: Option<DataInfo>,
    /// The data set a lesson's Try it trains on (the built-in shapes at the lesson's size);
    /// while set, the Train tab uses it instead of the Data tab's.
    pub lesson_data: Option<Arc<Dataset>>,
    pub lesson_info: Option<DataInfo>,
    /// The lesson Try it that set up the runs, while it does.
    pub try_run: Option<TryRun>,
    /// Save runs / Open run, the app's own copies of finished runs, and their restore.
    pub files: RunFiles,
    /// The folder exports go to (the Train tab's field; every tab writes there).
    pub export_dir: String,
    commands: Vec<Command>,
    wake: Option<Wake>,
}

impl AppState {
    /// The data set runs train on: a lesson's Try it data while it is set, else the Data tab's.
    pub fn train_data(&self) -> Option<DataRef<'_>> {
        match (&self.lesson_data, &self.lesson_info) {
            (Some(set), Some(info)) => Some(DataRef { set, info }),
            _ => self
                .dataset
                .as_ref()
                .zip(self.data_info.as_ref())
                .map(|(set, info)| DataRef { set, info }),
        }
    }

    /// Queues a command for the app.
    pub fn send(&mut self, c: Command) {
        self.commands.push(c);
    }

    pub fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }

    /// The one wake of the app: a repaint.
    pub fn wake(&mut self, ctx: &egui::Context) -> Wake {
        self.wake
            .get_or_insert_with(|| super::repaint_wake(ctx))
            .clone()
    }

    /// Drains the runs' events, keeps a copy of every run that ended, and moves the lesson's
    /// Try it along. Returns what the Try it reported.
    pub fn poll(&mut self, ctx: &egui::Context) -> Vec<crate::lessons::try_run::TryEvent> {
        let wake = self.wake(ctx);
        for id in self.scheduler.poll(&wake) {
            self.files
                .autosave(&mut self.scheduler.store, id, wake.clone());
        }
        self.files.poll(&mut self.scheduler.store);
        match &mut self.try_run {
            Some(t) => t.poll(&mut self.scheduler, &wake),
            None => Vec::new(),
        }
    }

    /// The reference curves to draw, while the runs shown are the lesson's Try it's.
    pub fn reference(&self) -> Option<&Arc<Reference>> {
        let t = self.try_run.as_ref()?;
        let own = self.scheduler.runs().iter().any(|r| t.owns(&r.history));
        own.then_some(t.reference.as_ref()).flatten()
    }

    /// Sets (or clears) the data set a lesson's Try it trains on.
    pub fn set_lesson_data(&mut self, data: Option<(Arc<Dataset>, DataInfo)>) {
        match data {
            Some((set, info)) => {
                self.lesson_data = Some(set);
                self.lesson_info = Some(info);
            }
            None => {
                self.lesson_data = None;
                self.lesson_info = None;
            }
        }
    }
}

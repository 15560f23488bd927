//! The workspace tabs: each a [`View`] behind one trait, listed once in `registry()` (`ui/app/mod.rs`) (the
//! model is egui_demo_lib's `Demo` / `View` and its `DemoGroup`). A new tab is one file with a
//! struct that implements `View`, plus one line in `registry()` and its `mod` line.
//!
//! A view draws from the [`AppState`] it borrows (the runs, the data set, the lesson's Try it);
//! it never writes into another view: what it wants done elsewhere goes on the state's
//! command queue ([`AppState::send`]), which the app shell carries out after the frame.
use super::state::AppState;
use egui::{RichText, Ui};
use std::any::Any;

pub trait View: Any {
    /// A stable key (persisted as the tab the learner was on).
    fn id(&self) -> &'static str;
    /// The tab's name on screen.
    fn title(&self) -> &'static str;
    /// What the tab is for, on hover.
    fn hover(&self) -> &'static str {
        ""
    }
    /// One frame of the tab, when it is the one shown.
    fn ui(&mut self, ui: &mut Ui, state: &mut AppState);
    /// Every frame, whichever tab is shown: collect background results.
    fn poll(&mut self, _state: &mut AppState, _ctx: &egui::Context) {}
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The registry of tabs, in the order the tab bar shows them, and which one is open.
pub struct Tabs {
    views: Vec<Box<dyn View>>,
    pub open: &'static str,
}

impl Tabs {
    pub fn new(views: Vec<Box<dyn View>>) -> Self {
        let open = views.first().map_or("", |v| v.id());
        Self { views, open }
    }

    /// Adds a tab at the end (the built-in ones are listed in `ResNetLabApp`'s registry).
    pub fn register(&mut self, view: Box<dyn View>) {
        self.views.push(view);
    }

    /// Opens the tab with key `id`, if there is one.
    pub fn show(&mut self, id: &str) {
        if let Some(v) = self.views.iter().find(|v| v.id() == id) {
            self.open = v.id();
        }
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.views.iter().map(|v| v.id()).collect()
    }

    /// The view of type `T`.
    pub fn get<T: View>(&self) -> Option<&T> {
        self.views.iter().find_map(|v| v.as_any().downcast_ref())
    }

    pub fn get_mut<T: View>(&mut self) -> Option<&mut T> {
        self.views
            .iter_mut()
            .find_map(|v| v.as_any_mut().downcast_mut())
    }

    pub fn poll(&mut self, state: &mut AppState, ctx: &egui::Context) {
        for v in &mut self.views {
            v.poll(state, ctx);
        }
    }

    /// The tab bar.
    pub fn bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            for v in &self.views {
                let r =
                    ui.selectable_label(self.open == v.id(), RichText::new(v.title()).size(16.0));
                let r = if v.hover().is_empty() {
                    r
                } else {
                    r.on_hover_text(v.hover())
                };
                if r.clicked() {
                    self.open = v.id();
                }
            }
        });
    }

    /// The open tab.
    pub fn ui(&mut self, ui: &mut Ui, state: &mut AppState) {
        let open = self.open;
        if let Some(v) = self.views.iter_mut().find(|v| v.id() == open) {
            v.ui(ui, state);
        }
    }
}

/// `as_any` / `as_any_mut` for a view type.
#[macro_export]
macro_rules! view_any {
    () => {
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
            self
        }
    };
}

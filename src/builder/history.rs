//! Undo/redo by snapshots: drafts are small, and a snapshot can never disagree with the edits
//! that produced it.

#[derive(Clone, Debug, Default)]
pub struct Undo<T: Clone> {
    past: Vec<T>,
    future: Vec<T>,
}

const LIMIT: usize = 200;

impl<T: Clone> Undo<T> {
    /// Call with the state as it was before a change.
    pub fn record(&mut self, before: &T) {
        self.past.push(before.clone());
        if self.past.len() > LIMIT {
            self.past.remove(0);
        }
        self.future.clear();
    }

    pub fn undo(&mut self, current: &mut T) -> bool {
        match self.past.pop() {
            Some(prev) => {
                self.future.push(std::mem::replace(current, prev));
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self, current: &mut T) -> bool {
        match self.future.pop() {
            Some(next) => {
                self.past.push(std::mem::replace(current, next));
                true
            }
            None => false,
        }
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }
    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }
}

//! Every way loading can fail, as a value.
//!
//! Learners read these messages in the app, so each one is a plain sentence that names the file
//! (or option) and says what is wrong, and where it helps, what to do instead.

use std::path::{Path, PathBuf};

/// Why a data set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("could not find {}", .path.display())]
    NotFound { path: PathBuf },

    #[error("could not read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("could not tell what kind of data set {} is: {reason}", .path.display())]
    UnknownFormat { path: PathBuf, reason: String },

    #[error("unknown data set format \"{0}\": use imagefolder, idx or cifar")]
    UnknownFormatName(String),

    #[error("{} is not a valid IDX file: {reason}", .path.display())]
    Idx { path: PathBuf, reason: String },

    #[error("{} is not a valid CIFAR binary file: {reason}", .path.display())]
    Cifar { path: PathBuf, reason: String },

    #[error("{} cannot be used as a data set: {reason}", .path.display())]
    BadDataset { path: PathBuf, reason: String },

    #[error("invalid loading option: {0}")]
    InvalidOption(String),

    #[error("loading was cancelled")]
    Cancelled,
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return DataError::NotFound {
                path: path.to_path_buf(),
            };
        }
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn idx(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Idx {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn cifar(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Cifar {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bad(path: &Path, reason: impl Into<String>) -> Self {
        DataError::BadDataset {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

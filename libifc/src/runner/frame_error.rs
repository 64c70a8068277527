//! Why a sampled frame was not inferred, typed by the stage that failed, so that a service can
//! tell a server that is down (retry later) from a model that does not fit (fix the pipeline).

use crate::infer::InferError;
use crate::postprocess::PostprocessError;
use crate::preprocess::PreprocessError;

/// The stage of [`super::Runner`]'s chain that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Preprocess,
    Infer,
    Postprocess,
}

/// What failed in one stage. Messages start with the stage (`preprocess: …`, `infer: …`,
/// `postprocess: …`), as the CLI has always printed them.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StageError {
    #[error("preprocess: {0}")]
    Preprocess(#[source] PreprocessError),
    #[error("infer: {0}")]
    Infer(#[source] InferError),
    /// The model ran but did not return the output the plan is bound to.
    #[error("infer: the model returned no output {output:?}")]
    MissingOutput { output: String },
    #[error("postprocess: {0}")]
    Postprocess(#[source] PostprocessError),
}

impl StageError {
    pub fn stage(&self) -> Stage {
        match self {
            Self::Preprocess(_) => Stage::Preprocess,
            Self::Infer(_) | Self::MissingOutput { .. } => Stage::Infer,
            Self::Postprocess(_) => Stage::Postprocess,
        }
    }

    /// A server that is down or a model still loading: the same frame could succeed later,
    /// so a service retries rather than failing the inspection.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Infer(InferError::Unavailable { .. } | InferError::ModelNotReady { .. }))
    }
}

/// A sampled frame that was not inferred: which frame, and what failed.
/// Displays as `frame 3: infer: triton:8001: unavailable: …`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("frame {frame_index}: {error}")]
pub struct FrameError {
    /// Position among decoded frames, display order, from 0.
    pub frame_index: u64,
    #[source]
    pub error: StageError,
}

//! The pipeline `ifc run --input CLIP --model MODEL` stands for, built as a document so that
//! the shorthand and `--pipeline` run the same code:
//!
//! every frame → letterbox to the model's input size (grey 114) → the model → YOLO output
//! (layout recognised from the shape, `score_threshold` 0.25) → one `detected` rule per NG
//! class (score ≥ 0.5) → `results.jsonl`, `results.sqlite` and NG snapshots under the output
//! directory.

use crate::pipeline::{
    DecodeNode, InferNode, Node, NodeKind, PipelineDocument, PostprocessKind, PostprocessNode, PreprocessNode,
    ResizeMode, SinkNode, SnapshotSink, SnapshotWhen, SourceKind, SourceNode,
};
use crate::verdict::{DetectedRule, Rule, RuleSet};

/// The score at or above which a detection of an NG class makes the frame NG.
pub const DEFAULT_NG_MIN_SCORE: f64 = 0.5;

/// Which backend the shorthand's infer node uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShorthandBackend {
    Embedded {
        model: String,
    },
    /// `shared_memory`: tensors through a system shared-memory region (server on this host).
    Triton {
        url: String,
        model_name: String,
        shared_memory: bool,
    },
}

/// The shorthand's arguments (paths as the caller wants them written in the document).
#[derive(Debug, Clone, PartialEq)]
pub struct ShorthandOptions {
    pub input: String,
    pub backend: ShorthandBackend,
    pub labels: Option<String>,
    /// Class names whose detection makes a frame NG.
    pub ng_classes: Vec<String>,
    /// Directory for `results.jsonl`, `results.sqlite` and `snapshots/` (no trailing `/`).
    pub out_dir: String,
    /// The colour matrix of streams that do not name theirs (`None`: BT.601, see
    /// [`crate::preprocess::ColourMatrix::for_frame`]).
    pub colour_matrix: Option<crate::pipeline::ColourMatrix>,
}

/// `rtsp://` and `rtsps://` inputs are cameras; anything else is a file.
fn source_kind(input: &str) -> SourceKind {
    let lower = input.get(..8).unwrap_or(input).to_ascii_lowercase();
    if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
        SourceKind::Rtsp
    } else {
        SourceKind::File
    }
}

/// The document the shorthand stands for.
pub fn shorthand_document(o: &ShorthandOptions) -> PipelineDocument {
    let infer = match &o.backend {
        ShorthandBackend::Embedded { model } => {
            InferNode::Embedded { model: model.clone(), timeout_ms: None, threads: None }
        }
        ShorthandBackend::Triton { url, model_name, shared_memory } => InferNode::Triton {
            url: url.clone(),
            model_name: model_name.clone(),
            model_version: None,
            timeout_ms: None,
            connect_timeout_ms: None,
            shared_memory: shared_memory.then_some(crate::pipeline::SharedMemory::System),
        },
    };
    let rules = o
        .ng_classes
        .iter()
        .map(|class| {
            Rule::Detected(DetectedRule {
                id: format!("ng-{class}"),
                message: format!("{class} detected"),
                class: Some(class.clone()),
                min_score: Some(DEFAULT_NG_MIN_SCORE),
                region: None,
                min_overlap: None,
            })
        })
        .collect();
    let out = |name: &str| format!("{}/{name}", o.out_dir);
    let mut doc = PipelineDocument::new(vec![
        Node::new(
            "input",
            &[],
            NodeKind::Source(SourceNode { kind: source_kind(&o.input), uri: o.input.clone(), fps: None }),
        ),
        Node::new("decode", &["input"], NodeKind::Decode(DecodeNode::default())),
        Node::new(
            "letterbox",
            &["decode"],
            NodeKind::Preprocess(PreprocessNode {
                resize: Some(ResizeMode::Letterbox),
                colour_matrix: o.colour_matrix,
                ..PreprocessNode::default()
            }),
        ),
        Node::new("model", &["letterbox"], NodeKind::Infer(infer)),
        Node::new(
            "detections",
            &["model"],
            NodeKind::Postprocess(PostprocessNode {
                kind: PostprocessKind::Auto,
                output: None,
                labels: o.labels.clone(),
                score_threshold: None,
                iou_threshold: None,
                max_detections: None,
                top_k: None,
                softmax: None,
            }),
        ),
        Node::new("verdict", &["detections"], NodeKind::Rule(RuleSet { rules, window: None })),
        Node::new(
            "results",
            &["verdict"],
            NodeKind::Sink(SinkNode {
                jsonl: Some(out("results.jsonl")),
                sqlite: Some(out("results.sqlite")),
                snapshots: Some(SnapshotSink {
                    dir: out("snapshots"),
                    when: Some(SnapshotWhen::Ng),
                    max_per_minute: None,
                }),
            }),
        ),
    ]);
    doc.name = Some("ifc-run-shorthand".to_owned());
    doc
}

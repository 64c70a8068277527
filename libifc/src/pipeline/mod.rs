//! The pipeline document: one versioned description of an inspection pipeline that
//! `ifc run --pipeline`, the REST API and the web canvas all read and write.
//!
//! ```yaml
//! version: 1
//! nodes:
//!   - id: cam
//!     source: {kind: rtsp, uri: "rtsp://cam3/stream1"}
//!   - id: decode
//!     inputs: [cam]
//!     decode: {}
//!   - id: pre
//!     inputs: [decode]
//!     preprocess: {width: 640, height: 640, resize: letterbox}
//!   # … infer, postprocess, rule, sink
//! ```
//!
//! A node is an `id`, its `inputs` (the ids of the nodes it reads; see [`graph`] for the
//! edge types and why edges live on nodes), and exactly one kind key holding that kind's
//! settings ([`nodes`]). Unknown fields are errors everywhere.
//!
//! Reading ([`PipelineDocument::from_yaml_str`], [`PipelineDocument::from_json_str`]) checks
//! the document against the published JSON Schema ([`json_schema`]) and reports every
//! problem with its place (`nodes[3] (id "yolo").postprocess.iou_threshold: must be in (0, 1],
//! got 1.5`); [`PipelineDocument::validate`] adds what a schema cannot say (wiring, edge
//! types, cross-field rules). Nothing here panics on any document, and nothing here reads the
//! files a document names.

#![forbid(unsafe_code)]

mod error;
pub mod graph;
pub mod nodes;
mod schema;
mod schema_check;

pub use error::{DocumentError, NodeRef, ValidationError};
pub use graph::PortType;
pub use nodes::{
    ColourMatrix, ColourOrder, DecodeBackend, DecodeNode, InferNode, Interpolation, PixelRect, PostprocessKind,
    PostprocessNode, PreprocessNode, ResizeMode, SampleNode, SharedMemory, SinkNode, SnapshotSink, SnapshotWhen, SourceKind,
    SourceNode, TensorDtype, TensorLayout,
};
pub use schema::json_schema;

use crate::verdict::RuleSet;
use schema_check::{render_path, SchemaIssue, Segment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The document format version this build reads and writes.
pub const VERSION: u32 = 1;

/// A whole pipeline document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDocument {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub nodes: Vec<Node>,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NodeRepr", into = "NodeRepr")]
pub struct Node {
    pub id: String,
    /// Ids of the nodes this one reads from.
    pub inputs: Vec<String>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Source(SourceNode),
    Decode(DecodeNode),
    Sample(SampleNode),
    Preprocess(PreprocessNode),
    Infer(InferNode),
    Postprocess(PostprocessNode),
    Rule(RuleSet),
    Sink(SinkNode),
}

/// A node as written: the kind is whichever one kind key is present.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeRepr {
    id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<SourceNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decode: Option<DecodeNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sample: Option<SampleNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    preprocess: Option<PreprocessNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    infer: Option<InferNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    postprocess: Option<PostprocessNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<RuleSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sink: Option<SinkNode>,
}

impl TryFrom<NodeRepr> for Node {
    type Error = String;

    fn try_from(r: NodeRepr) -> Result<Self, String> {
        let kinds = [
            r.source.map(NodeKind::Source),
            r.decode.map(NodeKind::Decode),
            r.sample.map(NodeKind::Sample),
            r.preprocess.map(NodeKind::Preprocess),
            r.infer.map(NodeKind::Infer),
            r.postprocess.map(NodeKind::Postprocess),
            r.rule.map(NodeKind::Rule),
            r.sink.map(NodeKind::Sink),
        ];
        let mut present = kinds.into_iter().flatten();
        match (present.next(), present.next()) {
            (Some(kind), None) => Ok(Node { id: r.id, inputs: r.inputs, kind }),
            (None, _) => Err(format!(
                "node {:?} has no kind (source, decode, sample, preprocess, infer, postprocess, rule or sink)",
                r.id
            )),
            (Some(a), Some(b)) => Err(format!("node {:?} has two kinds, {} and {}", r.id, a.key(), b.key())),
        }
    }
}

impl From<Node> for NodeRepr {
    fn from(n: Node) -> Self {
        let mut r = NodeRepr {
            id: n.id,
            inputs: n.inputs,
            source: None,
            decode: None,
            sample: None,
            preprocess: None,
            infer: None,
            postprocess: None,
            rule: None,
            sink: None,
        };
        match n.kind {
            NodeKind::Source(k) => r.source = Some(k),
            NodeKind::Decode(k) => r.decode = Some(k),
            NodeKind::Sample(k) => r.sample = Some(k),
            NodeKind::Preprocess(k) => r.preprocess = Some(k),
            NodeKind::Infer(k) => r.infer = Some(k),
            NodeKind::Postprocess(k) => r.postprocess = Some(k),
            NodeKind::Rule(k) => r.rule = Some(k),
            NodeKind::Sink(k) => r.sink = Some(k),
        }
        r
    }
}

impl Node {
    pub fn new(id: impl Into<String>, inputs: &[&str], kind: NodeKind) -> Self {
        Self { id: id.into(), inputs: inputs.iter().map(|s| (*s).to_owned()).collect(), kind }
    }
}

/// The schema, built once.
fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(json_schema)
}

/// Turns schema issues into errors that name the node (by index and, when usable, id).
fn issues_to_errors(issues: Vec<SchemaIssue>, doc: &Value) -> Vec<ValidationError> {
    issues
        .into_iter()
        .map(|issue| match issue.path.as_slice() {
            [Segment::Key(nodes), Segment::Index(i), rest @ ..] if nodes == "nodes" => {
                let id = doc.get("nodes").and_then(|n| n.get(*i)).and_then(|n| n.get("id")).and_then(Value::as_str);
                ValidationError::node(*i, id, render_path(rest), issue.message)
            }
            path => ValidationError::document(render_path(path), issue.message),
        })
        .collect()
}

impl PipelineDocument {
    pub fn new(nodes: Vec<Node>) -> Self {
        Self { version: VERSION, name: None, description: None, nodes }
    }

    /// Reads a YAML document, checking its structure (types, enums, ranges, required and
    /// unknown fields) against the schema; every problem is reported. Call [`Self::validate`]
    /// for wiring and cross-field checks.
    pub fn from_yaml_str(text: &str) -> Result<Self, DocumentError> {
        let value: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| DocumentError::Syntax { format: "YAML", message: e.to_string() })?;
        Self::from_value(value)
    }

    /// [`Self::from_yaml_str`] for JSON.
    pub fn from_json_str(text: &str) -> Result<Self, DocumentError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DocumentError::Syntax { format: "JSON", message: e.to_string() })?;
        Self::from_value(value)
    }

    /// Reads a document already parsed into a JSON value (the REST API's request body).
    pub fn from_value(value: Value) -> Result<Self, DocumentError> {
        let issues = schema_check::check(schema(), &value);
        if !issues.is_empty() {
            return Err(DocumentError::Invalid(issues_to_errors(issues, &value)));
        }
        // The schema accepted it, so this only fails if the schema and the types disagree
        // (a bug, pinned by tests); report it rather than panic.
        serde_json::from_value(value)
            .map_err(|e| DocumentError::Invalid(vec![ValidationError::document("", e.to_string())]))
    }

    pub fn to_yaml_string(&self) -> Result<String, DocumentError> {
        serde_yaml_ng::to_string(self).map_err(|e| DocumentError::Serialize(e.to_string()))
    }

    pub fn to_json_string(&self) -> Result<String, DocumentError> {
        serde_json::to_string_pretty(self).map_err(|e| DocumentError::Serialize(e.to_string()))
    }

    /// Every problem with the document: the schema's checks (for documents built in code),
    /// then ids and wiring, then what each kind's fields mean together.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut errors = issues_to_errors(schema_check::check(schema(), &value), &value);
        let mut semantic = graph::check_graph(&self.nodes);
        for (i, node) in self.nodes.iter().enumerate() {
            semantic.extend(check_node(i, node, &self.nodes));
        }
        // A field the schema already faulted need not be faulted twice.
        semantic.retain(|e| !errors.iter().any(|s| s.location() == e.location()));
        errors.extend(semantic);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What a kind's fields mean together, beyond the schema.
fn check_node(i: usize, node: &Node, all: &[Node]) -> Vec<ValidationError> {
    let key = node.kind.key();
    let err = |field: &str, msg: String| ValidationError::node(i, Some(&node.id), format!("{key}.{field}"), msg);
    let mut out = Vec::new();
    match &node.kind {
        NodeKind::Source(s) => match s.kind {
            // The RTSP client's own parser decides, so validation and the client agree (rtsps://
            // is refused by both: no TLS). Its errors never echo the URI's credentials.
            SourceKind::Rtsp => {
                if let Err(e) = crate::rtsp::RtspUrl::parse(&s.uri) {
                    out.push(err("uri", format!("the RTSP client cannot open it: {e}")))
                }
            }
            SourceKind::Whip if s.uri.contains(['/', '?', '#']) || s.uri.chars().any(char::is_whitespace) => {
                out.push(err(
                    "uri",
                    "a whip source names the stream devices publish to, without `/`, `?`, `#` or spaces".to_owned(),
                ))
            }
            _ => {}
        },
        NodeKind::Preprocess(p) => {
            if p.width.is_some() != p.height.is_some() {
                out.push(err(
                    if p.width.is_some() { "height" } else { "width" },
                    "set width and height together".to_owned(),
                ));
            }
            if let Some(roi) = &p.roi {
                if roi.x.checked_add(roi.width).is_none() || roi.y.checked_add(roi.height).is_none() {
                    out.push(err("roi", "reaches past 2^32 pixels".to_owned()));
                }
            }
        }
        NodeKind::Postprocess(p) => {
            let detection_only =
                [("iou_threshold", p.iou_threshold.is_some()), ("max_detections", p.max_detections.is_some())];
            let classification_only = [("top_k", p.top_k.is_some()), ("softmax", p.softmax.is_some())];
            let (misplaced, applies_to) = if p.kind.is_detection() {
                (classification_only, "classification")
            } else {
                (detection_only, "detection kinds (yolov5, yolov8, auto)")
            };
            for (field, _) in misplaced.iter().filter(|(_, set)| *set) {
                out.push(err(field, format!("applies to {applies_to} only")));
            }
        }
        NodeKind::Rule(rules) => {
            out.extend(rules.issues().into_iter().map(|issue| err(&issue.path, issue.message)));
        }
        NodeKind::Sink(s) => {
            if s.jsonl.is_none() && s.sqlite.is_none() && s.snapshots.is_none() {
                out.push(ValidationError::node(
                    i,
                    Some(&node.id),
                    key,
                    "needs at least one of jsonl, sqlite, snapshots".to_owned(),
                ));
            }
            // Unresolved inputs are reported by the graph check; judge only a fully wired sink.
            let input_types: Option<Vec<Option<PortType>>> =
                node.inputs.iter().map(|input| all.iter().find(|n| &n.id == input).map(|n| n.kind.emits())).collect();
            let reads_verdicts = input_types.as_ref().is_none_or(|types| types.contains(&Some(PortType::Verdicts)));
            if s.snapshots.is_some() && !reads_verdicts {
                out.push(err(
                    "snapshots",
                    "needs an input of type verdicts (snapshots are chosen by verdict)".to_owned(),
                ));
            }
        }
        NodeKind::Decode(_) | NodeKind::Sample(_) | NodeKind::Infer(_) => {}
    }
    out
}

#[cfg(test)]
mod tests;

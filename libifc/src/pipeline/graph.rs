//! The node graph: what each node kind reads and writes, and the checks on `inputs` (every
//! reference resolves, types match, counts fit the kind, no cycles).
//!
//! Edges are given per node as `inputs: [id, …]` (not as a separate edge list): a node's
//! settings and its wiring then travel together when the canvas copies or deletes it, and a
//! dangling edge cannot exist apart from a node.

use super::{Node, NodeKind, ValidationError};
use std::collections::HashMap;
use std::fmt;

/// What flows along an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortType {
    /// Access units as received (H.264/H.265).
    EncodedVideo,
    /// Decoded pictures.
    Frames,
    /// A model's input tensor, preprocessed.
    Tensors,
    /// A model's raw output tensors (kept apart from input tensors so that a preprocess node
    /// cannot feed a postprocess node).
    Outputs,
    Detections,
    Verdicts,
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortType::EncodedVideo => "encoded_video",
            PortType::Frames => "frames",
            PortType::Tensors => "tensors",
            PortType::Outputs => "outputs",
            PortType::Detections => "detections",
            PortType::Verdicts => "verdicts",
        })
    }
}

impl NodeKind {
    /// The kind's key in a document (`source`, `postprocess`, …).
    pub fn key(&self) -> &'static str {
        match self {
            NodeKind::Source(_) => "source",
            NodeKind::Decode(_) => "decode",
            NodeKind::Sample(_) => "sample",
            NodeKind::Preprocess(_) => "preprocess",
            NodeKind::Infer(_) => "infer",
            NodeKind::Postprocess(_) => "postprocess",
            NodeKind::Rule(_) => "rule",
            NodeKind::Sink(_) => "sink",
        }
    }

    /// The types this kind accepts on its inputs (empty: takes no inputs).
    pub fn accepts(&self) -> &'static [PortType] {
        match self {
            NodeKind::Source(_) => &[],
            NodeKind::Decode(_) => &[PortType::EncodedVideo],
            NodeKind::Sample(_) | NodeKind::Preprocess(_) => &[PortType::Frames],
            NodeKind::Infer(_) => &[PortType::Tensors],
            NodeKind::Postprocess(_) => &[PortType::Outputs],
            NodeKind::Rule(_) => &[PortType::Detections],
            NodeKind::Sink(_) => &[PortType::Verdicts, PortType::Detections],
        }
    }

    /// What this kind emits (`None`: a sink).
    pub fn emits(&self) -> Option<PortType> {
        match self {
            NodeKind::Source(_) => Some(PortType::EncodedVideo),
            NodeKind::Decode(_) | NodeKind::Sample(_) => Some(PortType::Frames),
            NodeKind::Preprocess(_) => Some(PortType::Tensors),
            NodeKind::Infer(_) => Some(PortType::Outputs),
            NodeKind::Postprocess(_) => Some(PortType::Detections),
            NodeKind::Rule(_) => Some(PortType::Verdicts),
            NodeKind::Sink(_) => None,
        }
    }
}

fn list(types: &[PortType]) -> String {
    types.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
}

/// Every problem with ids and wiring.
pub(super) fn check_graph(nodes: &[Node]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let err = |field: &str, msg: String| ValidationError::node(i, Some(&node.id), field, msg);
        let id_ok = !node.id.is_empty()
            && node.id.len() <= 64
            && node.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !id_ok {
            errors.push(err("id", "must be 1 to 64 letters, digits, `_` or `-`".to_owned()));
        }
        if let Some(&first) = first_index.get(node.id.as_str()) {
            errors.push(err("id", format!("duplicates the id of nodes[{first}]")));
        } else {
            first_index.insert(&node.id, i);
        }
    }

    for (i, node) in nodes.iter().enumerate() {
        let err = |field: String, msg: String| ValidationError::node(i, Some(&node.id), field, msg);
        let accepts = node.kind.accepts();
        let key = node.kind.key();
        match (accepts.is_empty(), node.inputs.len(), &node.kind) {
            (true, n, _) if n > 0 => {
                errors.push(err("inputs".into(), format!("a {key} node takes no inputs, got {n}")))
            }
            (false, 0, _) => {
                errors.push(err("inputs".into(), format!("a {key} node needs an input of type {}", list(accepts))))
            }
            (false, n, kind) if n > 1 && !matches!(kind, NodeKind::Sink(_)) => {
                errors.push(err("inputs".into(), format!("a {key} node takes one input, got {n}")))
            }
            _ => {}
        }
        for (k, input) in node.inputs.iter().enumerate() {
            let field = format!("inputs[{k}]");
            if node.inputs[..k].contains(input) {
                errors.push(err(field, format!("{input:?} is listed twice")));
                continue;
            }
            let Some(&from) = first_index.get(input.as_str()) else {
                errors.push(err(field, format!("no node has the id {input:?}")));
                continue;
            };
            if from == i {
                errors.push(err(field, "a node cannot read its own output".to_owned()));
                continue;
            }
            let source = &nodes[from];
            match source.kind.emits() {
                None => errors.push(err(field, format!("node {input:?} is a sink and has no output"))),
                Some(t) if !accepts.is_empty() && !accepts.contains(&t) => errors.push(err(
                    field,
                    format!(
                        "node {input:?} ({}) outputs {t}, but a {key} node takes {}",
                        source.kind.key(),
                        list(accepts)
                    ),
                )),
                _ => {}
            }
        }
    }

    errors.extend(check_cycles(nodes, &first_index));
    if !nodes.iter().any(|n| matches!(n.kind, NodeKind::Source(_))) {
        errors.push(ValidationError::document("nodes", "needs at least one source node"));
    }
    if !nodes.iter().any(|n| matches!(n.kind, NodeKind::Sink(_))) {
        errors.push(ValidationError::document("nodes", "needs at least one sink node (results must go somewhere)"));
    }
    errors
}

/// Reports one error per cycle, at the node where the walk closed it. Iterative DFS (no
/// recursion depth to exhaust on a long chain).
fn check_cycles(nodes: &[Node], index: &HashMap<&str, usize>) -> Vec<ValidationError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    // A node that takes no inputs has had its inputs reported already; they are no edges.
    let inputs_of = |i: usize| -> Vec<usize> {
        if nodes[i].kind.accepts().is_empty() {
            return Vec::new();
        }
        nodes[i].inputs.iter().filter_map(|id| index.get(id.as_str()).copied()).filter(|&j| j != i).collect()
    };
    let mut mark = vec![Mark::New; nodes.len()];
    let mut errors = Vec::new();
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack = vec![(start, inputs_of(start), 0usize)];
        mark[start] = Mark::OnPath;
        while let Some((node, next, pos)) = stack.last_mut() {
            if let Some(&j) = next.get(*pos) {
                *pos += 1;
                match mark[j] {
                    Mark::New => {
                        mark[j] = Mark::OnPath;
                        let inputs = inputs_of(j);
                        stack.push((j, inputs, 0));
                    }
                    Mark::OnPath => {
                        let n = &nodes[*node];
                        errors.push(ValidationError::node(
                            *node,
                            Some(&n.id),
                            "inputs",
                            format!("forms a cycle through node {:?}", nodes[j].id),
                        ));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[*node] = Mark::Done;
                stack.pop();
            }
        }
    }
    errors
}

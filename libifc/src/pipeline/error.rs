//! Errors of pipeline documents. Each names where: the node (index and id) and the field
//! path inside it, e.g. `nodes[3] (id "yolo").postprocess.iou_threshold: must be in (0, 1], got 1.5`.

use std::fmt;

/// A node by position and id (the id when the document has a usable one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    pub index: usize,
    pub id: Option<String>,
}

/// One problem in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The node at fault, when the problem is inside `nodes`.
    pub node: Option<NodeRef>,
    /// The field path, relative to the node when there is one, else to the document root
    /// (e.g. `postprocess.iou_threshold`, `inputs[0]`, `version`). Empty for the node or
    /// document itself.
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub(crate) fn document(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { node: None, field: field.into(), message: message.into() }
    }

    pub(crate) fn node(index: usize, id: Option<&str>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { node: Some(NodeRef { index, id: id.map(str::to_owned) }), field: field.into(), message: message.into() }
    }

    /// The location alone, as it prints before the colon.
    pub fn location(&self) -> String {
        let mut s = match &self.node {
            Some(NodeRef { index, id: Some(id) }) if !id.is_empty() => format!("nodes[{index}] (id {id:?})"),
            Some(NodeRef { index, .. }) => format!("nodes[{index}]"),
            None => String::new(),
        };
        if !self.field.is_empty() {
            if !s.is_empty() && !self.field.starts_with('[') {
                s.push('.');
            }
            s.push_str(&self.field);
        }
        if s.is_empty() {
            s.push_str("document");
        }
        s
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not well-formed YAML/JSON; the message carries the line and column.
    #[error("{format} syntax: {message}")]
    Syntax { format: &'static str, message: String },
    /// Well-formed, but not a pipeline document: every problem found.
    #[error("{}", list(.0))]
    Invalid(Vec<ValidationError>),
    /// Could not be written out (a float that YAML/JSON cannot hold).
    #[error("serialising the document: {0}")]
    Serialize(String),
}

impl DocumentError {
    /// The individual problems (one for a syntax error).
    pub fn errors(&self) -> Vec<ValidationError> {
        match self {
            DocumentError::Invalid(errors) => errors.clone(),
            other => vec![ValidationError::document("", other.to_string())],
        }
    }
}

fn list(errors: &[ValidationError]) -> String {
    let mut s =
        format!("{} problem{} in the pipeline document:", errors.len(), if errors.len() == 1 { "" } else { "s" });
    for e in errors {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_as_paths() {
        let e = ValidationError::node(3, Some("yolo"), "postprocess.iou_threshold", "must be in (0, 1], got 1.5");
        assert_eq!(e.to_string(), "nodes[3] (id \"yolo\").postprocess.iou_threshold: must be in (0, 1], got 1.5");
        assert_eq!(ValidationError::node(1, None, "", "x").to_string(), "nodes[1]: x");
        assert_eq!(ValidationError::node(1, Some(""), "id", "x").to_string(), "nodes[1].id: x");
        assert_eq!(
            ValidationError::node(1, Some("a"), "inputs[0]", "x").to_string(),
            "nodes[1] (id \"a\").inputs[0]: x"
        );
        assert_eq!(ValidationError::document("version", "must be 1, got 2").to_string(), "version: must be 1, got 2");
        assert_eq!(ValidationError::document("", "expected an object").to_string(), "document: expected an object");
        // Ids are quoted with escapes, so a hostile id cannot forge another line.
        assert_eq!(ValidationError::node(0, Some("a\"\nb"), "", "x").to_string(), "nodes[0] (id \"a\\\"\\nb\"): x");
    }

    #[test]
    fn invalid_lists_every_problem() {
        let err = DocumentError::Invalid(vec![
            ValidationError::document("version", "a"),
            ValidationError::document("nodes", "b"),
        ]);
        assert_eq!(err.to_string(), "2 problems in the pipeline document:\n  version: a\n  nodes: b");
    }
}

//! Class names. Users bring them in whichever form their training tool wrote:
//!
//! - plain text, one name per line (`coco.names`);
//! - a YAML or JSON list (`["person", "bicycle"]`);
//! - a mapping from class id to name, bare or under `names:` as Ultralytics writes it in
//!   `data.yaml` and in the ONNX metadata (`{0: 'person', 1: 'bicycle'}` is valid YAML).
//!
//! Sans-IO: the caller reads the file and passes its text.

use super::PostprocessError;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

/// Class names indexed by class id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Labels {
    names: Vec<String>,
}

impl Labels {
    pub fn new(names: Vec<String>) -> Self {
        Self { names }
    }

    pub fn name(&self, class_id: usize) -> Option<&str> {
        self.names.get(class_id).map(String::as_str)
    }

    /// The id of the first class with this name.
    pub fn id_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

fn labels_error(at: impl Into<String>, message: impl Into<String>) -> PostprocessError {
    PostprocessError::Labels { at: at.into(), message: message.into() }
}

/// Parses a labels file's text (see the module docs for the forms).
pub fn parse_labels(text: &str) -> Result<Labels, PostprocessError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(labels_error("", "no class names"));
    }
    match serde_yaml_ng::from_str::<Value>(text) {
        Ok(Value::Sequence(items)) => names_from_list(&items, ""),
        Ok(Value::Mapping(map)) => {
            if let Some(names) = map.get("names") {
                names_from_value(names, ".names")
            } else if map.keys().all(|k| k.as_u64().is_some()) {
                names_from_id_map(&map, "")
            } else {
                Err(labels_error("", "a mapping needs a `names:` key (or class ids as keys)"))
            }
        }
        // A single scalar, or text that is not YAML at all: one name per line.
        _ => names_from_lines(text),
    }
}

fn names_from_value(value: &Value, at: &str) -> Result<Labels, PostprocessError> {
    match value {
        Value::Sequence(items) => names_from_list(items, at),
        Value::Mapping(map) => names_from_id_map(map, at),
        _ => Err(labels_error(at, "expected a list of names or a mapping from class id to name")),
    }
}

fn scalar_name(value: &Value, at: &str) -> Result<String, PostprocessError> {
    match value {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::String(_) => Err(labels_error(at, "empty class name")),
        _ => Err(labels_error(at, "a class name must be a string")),
    }
}

fn names_from_list(items: &[Value], at: &str) -> Result<Labels, PostprocessError> {
    if items.is_empty() {
        return Err(labels_error(at, "no class names"));
    }
    let names =
        items.iter().enumerate().map(|(i, v)| scalar_name(v, &format!("{at}[{i}]"))).collect::<Result<_, _>>()?;
    Ok(Labels::new(names))
}

/// `{0: a, 1: b}`: ids must be exactly 0..n-1, so a class id always indexes its name.
fn names_from_id_map(map: &serde_yaml_ng::Mapping, at: &str) -> Result<Labels, PostprocessError> {
    let mut by_id = BTreeMap::new();
    for (key, value) in map {
        let id = key
            .as_u64()
            .ok_or_else(|| labels_error(at, format!("key {key:?} is not a class id (a non-negative integer)")))?;
        by_id.insert(id, scalar_name(value, &format!("{at}.{id}"))?);
    }
    if by_id.is_empty() {
        return Err(labels_error(at, "no class names"));
    }
    for (expected, &id) in by_id.keys().enumerate() {
        if id != expected as u64 {
            return Err(labels_error(at, format!("class ids must run 0..{}, but {expected} is missing", by_id.len())));
        }
    }
    Ok(Labels::new(by_id.into_values().collect()))
}

fn names_from_lines(text: &str) -> Result<Labels, PostprocessError> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let used = lines.iter().rposition(|l| !l.is_empty()).map_or(0, |last| last + 1);
    let names = lines[..used]
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if line.is_empty() {
                Err(labels_error(
                    format!(" line {}", i + 1),
                    "empty class name (an empty line would shift every id after it)",
                ))
            } else {
                Ok((*line).to_owned())
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Labels::new(names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse_labels(text).unwrap().names().to_vec()
    }

    #[test]
    fn plain_lines_with_crlf_and_trailing_blank_lines() {
        assert_eq!(names("person\r\ntraffic light\r\ncar\n\n"), ["person", "traffic light", "car"]);
        assert_eq!(names("scratch"), ["scratch"]);
    }

    #[test]
    fn empty_line_in_the_middle_is_an_error_naming_the_line() {
        let err = parse_labels("a\n\nb\n").unwrap_err();
        assert!(err.to_string().starts_with("labels line 2: empty class name"), "{err}");
    }

    #[test]
    fn yaml_and_json_lists() {
        assert_eq!(names("- part\n- scratch\n"), ["part", "scratch"]);
        assert_eq!(names("[\"part\", \"scratch\"]"), ["part", "scratch"]);
    }

    #[test]
    fn ultralytics_data_yaml_names_mapping() {
        let data_yaml = "path: ../datasets/defects\ntrain: images/train\nval: images/val\nnames:\n  0: part\n  1: scratch\n  2: dent\n";
        assert_eq!(names(data_yaml), ["part", "scratch", "dent"]);
        // Older data.yaml: a list under names, with nc beside it.
        assert_eq!(names("nc: 2\nnames: ['part', 'scratch']\n"), ["part", "scratch"]);
    }

    #[test]
    fn onnx_metadata_python_dict_literal() {
        // Ultralytics' ONNX export stores metadata "names" as a Python dict repr.
        assert_eq!(names("{0: 'person', 1: 'bicycle', 2: 'car'}"), ["person", "bicycle", "car"]);
        // Out of order keys are put in id order.
        assert_eq!(names("{1: b, 0: a}"), ["a", "b"]);
    }

    #[test]
    fn id_map_with_gaps_or_bad_keys_is_rejected() {
        let err = parse_labels("names:\n  0: a\n  2: c\n").unwrap_err();
        assert_eq!(err.to_string(), "labels.names: class ids must run 0..2, but 1 is missing");
        // A huge id must not allocate: the gap check runs on the sorted keys.
        assert!(parse_labels("{0: a, 18446744073709551615: b}").is_err());
        let err = parse_labels("names: {a: 1}").unwrap_err();
        assert!(err.to_string().contains("not a class id"), "{err}");
        let err = parse_labels("names: [a, [b]]").unwrap_err();
        assert_eq!(err.to_string(), "labels.names[1]: a class name must be a string");
    }

    #[test]
    fn mapping_without_names_and_empty_inputs_are_errors() {
        assert!(parse_labels("nc: 3\n").is_err());
        assert!(parse_labels("").is_err());
        assert!(parse_labels("  \n\n").is_err());
        assert!(parse_labels("[]").is_err());
    }

    #[test]
    fn truncated_and_bit_flipped_labels_never_panic() {
        let text = "path: ../d\nnames:\n  0: part\n  1: scratch\n  2: dent\n";
        for cut in 0..=text.len() {
            let _ = parse_labels(&text[..cut]);
            for bit in 0..8 {
                let mut bytes = text.as_bytes().to_vec();
                if let Some(b) = bytes.get_mut(cut) {
                    *b ^= 1 << bit;
                }
                if let Ok(labels) = parse_labels(&String::from_utf8_lossy(&bytes)) {
                    assert!(labels.names().iter().all(|n| !n.is_empty()));
                }
            }
        }
    }

    #[test]
    fn lookup_by_id_and_name() {
        let labels = Labels::new(vec!["part".into(), "scratch".into()]);
        assert_eq!(labels.name(1), Some("scratch"));
        assert_eq!(labels.name(2), None);
        assert_eq!(labels.id_of("part"), Some(0));
        assert_eq!(labels.len(), 2);
    }
}

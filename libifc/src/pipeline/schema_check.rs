//! A small JSON Schema checker for the subset of draft 2020-12 that the pipeline schema uses,
//! so that documents are checked against the *published* schema (one source of truth for
//! types, enums, ranges and unknown fields) and every problem is reported with its path, not
//! just the first one serde meets.
//!
//! `oneOf` gets two special readings that give messages a person can act on:
//! - branches that each fix one property with `const` (a tag such as `kind`) are chosen by that
//!   property, and only the chosen branch's problems are reported;
//! - branches that are only `required: [key]` mean "exactly one of these keys" (the node kinds).
//!
//! Any other `oneOf` is checked generically. `integer` is strict: `2.0` is not an integer here
//! (JSON Schema would accept it, serde's `u32` would not), so a document this checker accepts
//! always deserialises.

use serde_json::{Map, Value};

/// The keywords this checker understands; the schema test asserts the schema uses no other.
#[cfg(test)]
pub(crate) const SUPPORTED_KEYWORDS: &[&str] = &[
    // Assertions and applicators.
    "$ref",
    "type",
    "const",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "items",
    "properties",
    "required",
    "additionalProperties",
    "oneOf",
    // Annotations (no effect on validity).
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "default",
    "examples",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// One schema violation: where (segments from the document root) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaIssue {
    pub path: Vec<Segment>,
    pub message: String,
}

/// Renders segments as `a.b[2].c`.
pub(crate) fn render_path(path: &[Segment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Checks `value` against `root` (a schema with its `$defs`), returning every issue, ordered
/// by path (indices numerically) so the order does not depend on how maps iterate.
pub(crate) fn check(root: &Value, value: &Value) -> Vec<SchemaIssue> {
    check_with_coverage(root, value).0
}

/// What a check visited: `(definition, property)` for each property present in the value,
/// and `(definition, property, value)` for each `enum`/`const` value matched. The tests use it
/// to prove that documents built from the Rust types exercise every part of the schema.
#[derive(Debug, Default)]
pub(crate) struct Coverage<'a> {
    pub properties: std::collections::BTreeSet<(&'a str, &'a str)>,
    pub values: std::collections::BTreeSet<(&'a str, &'a str, String)>,
}

pub(crate) fn check_with_coverage<'a>(root: &'a Value, value: &Value) -> (Vec<SchemaIssue>, Coverage<'a>) {
    let mut checker =
        Checker { root, path: Vec::new(), issues: Vec::new(), def: "", property: "", coverage: Coverage::default() };
    checker.walk(root, value);
    let mut issues = checker.issues;
    issues.sort_by(|a, b| a.path.cmp(&b.path));
    (issues, checker.coverage)
}

struct Checker<'a> {
    root: &'a Value,
    path: Vec<Segment>,
    issues: Vec<SchemaIssue>,
    /// The `$defs` entry being checked ("" for the root) and the property within it.
    def: &'a str,
    property: &'a str,
    coverage: Coverage<'a>,
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("{n}"),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
    }
}

fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => false,
    }
}

fn type_name(ty: &str) -> &str {
    match ty {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "boolean" => "true or false",
        "number" => "a number",
        "integer" => "an integer",
        other => other,
    }
}

fn quoted_list(values: &[Value]) -> String {
    values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

impl<'a> Checker<'a> {
    fn issue(&mut self, message: String) {
        self.issues.push(SchemaIssue { path: self.path.clone(), message });
    }

    fn at<R>(&mut self, seg: Segment, f: impl FnOnce(&mut Self) -> R) -> R {
        self.path.push(seg);
        let r = f(self);
        self.path.pop();
        r
    }

    fn resolve(&self, schema: &'a Value) -> (&'a Value, Option<&'a str>) {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
            Some(name) => match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(def) => (def, Some(name)),
                None => (&Value::Bool(true), None),
            },
            None => (schema, None),
        }
    }

    fn walk(&mut self, schema: &'a Value, value: &Value) {
        let (schema, def) = self.resolve(schema);
        let outer = (self.def, self.property);
        if let Some(def) = def {
            self.def = def;
            self.property = "";
        }
        self.walk_resolved(schema, value);
        (self.def, self.property) = outer;
    }

    fn walk_resolved(&mut self, schema: &'a Value, value: &Value) {
        let Some(s) = schema.as_object() else { return };

        if let Some(ty) = s.get("type") {
            let types: Vec<&str> = match ty {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| has_type(value, t)) {
                let expected = types.iter().map(|t| type_name(t)).collect::<Vec<_>>().join(" or ");
                self.issue(format!("expected {expected}, got {}", kind_of(value)));
                return;
            }
        }
        if let Some(c) = s.get("const") {
            if c != value {
                self.issue(format!("must be {c}, got {}", kind_of(value)));
            } else {
                self.coverage.values.insert((self.def, self.property, value.to_string()));
            }
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            if !options.contains(value) {
                self.issue(format!("must be one of {}, got {}", quoted_list(options), kind_of(value)));
            } else {
                self.coverage.values.insert((self.def, self.property, value.to_string()));
            }
        }
        if let Some(x) = value.as_f64() {
            self.check_range(s, x, value);
        }
        if let Some(text) = value.as_str() {
            let n = text.chars().count() as u64;
            if s.get("minLength").and_then(Value::as_u64).is_some_and(|m| n < m) {
                self.issue(if n == 0 {
                    "must not be empty".to_owned()
                } else {
                    format!("is too short ({n} characters)")
                });
            }
            if let Some(m) = s.get("maxLength").and_then(Value::as_u64).filter(|&m| n > m) {
                self.issue(format!("must be at most {m} characters, got {n}"));
            }
        }
        if let Some(items) = value.as_array() {
            self.check_array(s, items);
        }
        if let Some(object) = value.as_object() {
            self.check_object(s, object);
        }
        if let Some(Value::Array(branches)) = s.get("oneOf") {
            self.check_one_of(branches, value);
        }
    }

    fn check_range(&mut self, s: &Map<String, Value>, x: f64, value: &Value) {
        let bound = |k: &str| s.get(k).filter(|b| b.is_number());
        let (min, xmin, max, xmax) =
            (bound("minimum"), bound("exclusiveMinimum"), bound("maximum"), bound("exclusiveMaximum"));
        let f = |b: Option<&Value>| b.and_then(Value::as_f64);
        let below = f(min).is_some_and(|m| x < m) || f(xmin).is_some_and(|m| x <= m);
        let above = f(max).is_some_and(|m| x > m) || f(xmax).is_some_and(|m| x >= m);
        if !(below || above) {
            return;
        }
        let lower = min.map(|m| format!("[{m}")).or_else(|| xmin.map(|m| format!("({m}")));
        let upper = max.map(|m| format!("{m}]")).or_else(|| xmax.map(|m| format!("{m})")));
        let got = kind_of(value);
        let message = match (lower, upper) {
            (Some(l), Some(u)) => format!("must be in {l}, {u}, got {got}"),
            (Some(_), None) => match (min, xmin) {
                (Some(m), _) => format!("must be at least {m}, got {got}"),
                (None, Some(m)) => format!("must be greater than {m}, got {got}"),
                (None, None) => format!("is out of range, got {got}"),
            },
            (None, _) => match (max, xmax) {
                (Some(m), _) => format!("must be at most {m}, got {got}"),
                (None, Some(m)) => format!("must be less than {m}, got {got}"),
                (None, None) => format!("is out of range, got {got}"),
            },
        };
        self.issue(message);
    }

    fn check_array(&mut self, s: &'a Map<String, Value>, items: &[Value]) {
        let n = items.len() as u64;
        let min = s.get("minItems").and_then(Value::as_u64);
        let max = s.get("maxItems").and_then(Value::as_u64);
        match (min, max) {
            (Some(lo), Some(hi)) if lo == hi && n != lo => self.issue(format!("needs exactly {lo} items, got {n}")),
            (Some(lo), _) if n < lo => {
                self.issue(format!("needs at least {lo} item{}, got {n}", if lo == 1 { "" } else { "s" }))
            }
            (_, Some(hi)) if n > hi => self.issue(format!("takes at most {hi} items, got {n}")),
            _ => {}
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.at(Segment::Index(i), |c| c.walk(item_schema, item));
            }
        }
    }

    fn check_object(&mut self, s: &'a Map<String, Value>, object: &Map<String, Value>) {
        let properties = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = s.get("required") {
            for key in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    self.at(Segment::Key(key.to_owned()), |c| c.issue("is required".to_owned()));
                }
            }
        }
        if s.get("additionalProperties") == Some(&Value::Bool(false)) {
            let mut known: Vec<&str> = properties.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
            known.sort_unstable();
            for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
                self.at(Segment::Key(key.clone()), |c| {
                    c.issue(format!("unknown field, expected one of {}", known.join(", ")))
                });
            }
        }
        if let Some(properties) = properties {
            for (key, sub) in properties {
                if let Some(v) = object.get(key) {
                    self.coverage.properties.insert((self.def, key.as_str()));
                    let outer = self.property;
                    self.property = key.as_str();
                    self.at(Segment::Key(key.clone()), |c| c.walk(sub, v));
                    self.property = outer;
                }
            }
        }
    }

    fn check_one_of(&mut self, branches: &'a [Value], value: &Value) {
        let resolved: Vec<(&'a Value, Option<&'a str>)> = branches.iter().map(|b| self.resolve(b)).collect();
        let branches: Vec<&'a Value> = resolved.iter().map(|(b, _)| *b).collect();
        if let (Some(tag), Some(object)) = (discriminator(&branches), value.as_object()) {
            let consts: Vec<&Value> =
                branches.iter().filter_map(|b| b.pointer(&format!("/properties/{tag}/const"))).collect();
            let owned: Vec<Value> = consts.iter().map(|v| (*v).clone()).collect();
            match object.get(tag) {
                None => self.at(Segment::Key(tag.to_owned()), |c| {
                    c.issue(format!("is required, one of {}", quoted_list(&owned)))
                }),
                Some(v) => match resolved.iter().zip(&consts).find(|(_, c)| **c == v) {
                    Some(((branch, name), _)) => {
                        let outer = (self.def, self.property);
                        if let Some(name) = name {
                            (self.def, self.property) = (name, "");
                        }
                        self.walk_resolved(branch, value);
                        (self.def, self.property) = outer;
                    }
                    None => self.at(Segment::Key(tag.to_owned()), |c| {
                        c.issue(format!("must be one of {}, got {}", quoted_list(&owned), kind_of(v)))
                    }),
                },
            }
            return;
        }
        if let (Some(keys), Some(object)) = (exactly_one_key(&branches), value.as_object()) {
            let present: Vec<&str> = keys.iter().copied().filter(|k| object.contains_key(*k)).collect();
            let listed = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            match present.len() {
                1 => {}
                0 => self.issue(format!("needs exactly one of {listed}, found none")),
                _ => self.issue(format!("needs exactly one of {listed}, found {}", present.join(" and "))),
            }
            return;
        }
        let matching = branches
            .iter()
            .filter(|b| {
                let mut sub = Checker {
                    root: self.root,
                    path: Vec::new(),
                    issues: Vec::new(),
                    def: self.def,
                    property: self.property,
                    coverage: Coverage::default(),
                };
                sub.walk(b, value);
                sub.issues.is_empty()
            })
            .count();
        if matching != 1 {
            self.issue(format!("must match exactly one of {} alternatives, matched {matching}", branches.len()));
        }
    }
}

/// A property that every branch fixes with `const`.
fn discriminator<'a>(branches: &[&'a Value]) -> Option<&'a str> {
    let first = branches.first()?.get("properties")?.as_object()?;
    first
        .iter()
        .filter(|(_, sub)| sub.get("const").is_some())
        .map(|(k, _)| k.as_str())
        .find(|k| branches.iter().all(|b| b.pointer(&format!("/properties/{k}/const")).is_some()))
}

/// Branches of the form `{"required": [key]}` only.
fn exactly_one_key<'a>(branches: &[&'a Value]) -> Option<Vec<&'a str>> {
    branches
        .iter()
        .map(|b| match b.as_object() {
            Some(o) if o.len() == 1 => match o.get("required") {
                Some(Value::Array(keys)) if keys.len() == 1 => keys[0].as_str(),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: &Value, value: &Value) -> Vec<String> {
        check(schema, value).into_iter().map(|i| format!("{}: {}", render_path(&i.path), i.message)).collect()
    }

    #[test]
    fn types_ranges_enums_and_unknown_fields() {
        let schema = json!({
            "type": "object",
            "required": ["a", "kind"],
            "additionalProperties": false,
            "properties": {
                "a": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "n": {"type": "integer", "minimum": 1, "maximum": 4294967295u64},
                "kind": {"enum": ["x", "y"]},
                "list": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "number"}},
                "s": {"type": "string", "minLength": 1}
            }
        });
        assert!(messages(&schema, &json!({"a": 1, "kind": "x"})).is_empty());
        assert_eq!(
            messages(&schema, &json!({"a": 1.5, "n": 2.0, "kind": "z", "list": [1, "2"], "s": "", "extra": true})),
            vec![
                "a: must be in (0, 1], got 1.5",
                "extra: unknown field, expected one of a, kind, list, n, s",
                "kind: must be one of \"x\", \"y\", got \"z\"",
                "list: needs exactly 3 items, got 2",
                "list[1]: expected a number, got \"2\"",
                "n: expected an integer, got 2.0",
                "s: must not be empty",
            ]
        );
        assert_eq!(messages(&schema, &json!({})), vec!["a: is required", "kind: is required"]);
        assert_eq!(messages(&schema, &json!([1])), vec![": expected a mapping, got a list"]);
        assert_eq!(
            messages(&schema, &json!({"a": 0.5, "kind": "x", "n": 0})),
            vec!["n: must be in [1, 4294967295], got 0"]
        );
    }

    #[test]
    fn tagged_one_of_reports_only_the_chosen_branch() {
        let schema = json!({
            "$defs": {
                "every_n": {"type": "object", "required": ["mode", "n"], "additionalProperties": false,
                            "properties": {"mode": {"const": "every_n"}, "n": {"type": "integer", "minimum": 1}}},
                "fps": {"type": "object", "required": ["mode", "fps"], "additionalProperties": false,
                        "properties": {"mode": {"const": "fps"}, "fps": {"type": "number", "exclusiveMinimum": 0}}}
            },
            "type": "object",
            "oneOf": [{"$ref": "#/$defs/every_n"}, {"$ref": "#/$defs/fps"}]
        });
        assert!(messages(&schema, &json!({"mode": "fps", "fps": 5})).is_empty());
        assert_eq!(messages(&schema, &json!({"mode": "every_n", "n": 0})), vec!["n: must be at least 1, got 0"]);
        assert_eq!(
            messages(&schema, &json!({"mode": "sometimes"})),
            vec!["mode: must be one of \"every_n\", \"fps\", got \"sometimes\""]
        );
        assert_eq!(messages(&schema, &json!({"n": 2})), vec!["mode: is required, one of \"every_n\", \"fps\""]);
        assert_eq!(
            messages(&schema, &json!({"mode": "fps", "fps": 0, "n": 1})),
            vec!["fps: must be greater than 0, got 0", "n: unknown field, expected one of fps, mode"]
        );
    }

    #[test]
    fn required_key_one_of_means_exactly_one_kind() {
        let schema = json!({
            "type": "object",
            "properties": {"id": {"type": "string"}, "source": {"type": "object"}, "sink": {"type": "object"}},
            "oneOf": [{"required": ["source"]}, {"required": ["sink"]}]
        });
        assert!(messages(&schema, &json!({"id": "a", "sink": {}})).is_empty());
        assert_eq!(messages(&schema, &json!({"id": "a"})), vec![": needs exactly one of `source`, `sink`, found none"]);
        assert_eq!(
            messages(&schema, &json!({"source": {}, "sink": {}})),
            vec![": needs exactly one of `source`, `sink`, found source and sink"]
        );
    }

    #[test]
    fn generic_one_of_and_consts() {
        let schema = json!({"oneOf": [{"type": "integer"}, {"type": "string"}], "$defs": {}});
        assert!(messages(&schema, &json!(3)).is_empty());
        assert_eq!(messages(&schema, &json!(true)), vec![": must match exactly one of 2 alternatives, matched 0"]);
        assert_eq!(messages(&json!({"const": 1}), &json!(2)), vec![": must be 1, got 2"]);
    }
}

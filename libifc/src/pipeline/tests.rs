//! Pipeline document tests: the examples, the schema against the Rust types and against an
//! independent validator, every invalid-field case, and mutated documents.

use super::*;
use crate::postprocess::numpy_reference::{python_has, Rng};
use crate::postprocess::BoxXyxy;
use crate::verdict::{CountRule, DetectedRule, Region, Rule, WindowConfig};
use serde_json::json;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every example in examples/, parsed by its extension.
fn examples() -> Vec<(String, PipelineDocument)> {
    let mut names: Vec<String> = std::fs::read_dir(format!("{ROOT}/examples"))
        .expect("examples/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = read(&format!("examples/{name}"));
            let doc = if name.ends_with(".json") {
                PipelineDocument::from_json_str(&text)
            } else {
                PipelineDocument::from_yaml_str(&text)
            };
            let doc = doc.unwrap_or_else(|e| panic!("examples/{name}: {e}"));
            (name, doc)
        })
        .collect()
}

fn conveyor_value() -> Value {
    serde_yaml_ng::from_str(&read("examples/conveyor-embedded.yaml")).expect("YAML")
}

/// All errors a document value gets, reading then validating.
fn errors_of(value: Value) -> Vec<String> {
    match PipelineDocument::from_value(value) {
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
        Ok(doc) => doc.validate().err().unwrap_or_default().iter().map(ToString::to_string).collect(),
    }
}

/// Sets (or adds) the field at `pointer`.
fn edit(mut value: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    match value.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}")) {
        Value::Object(m) => {
            m.insert(key.to_owned(), new);
        }
        Value::Array(a) => a[key.parse::<usize>().expect("index")] = new,
        _ => panic!("{parent} is not a container"),
    }
    value
}

fn remove(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    value.pointer_mut(parent).and_then(Value::as_object_mut).expect("parent object").remove(key).expect("key present");
    value
}

#[test]
fn examples_validate_and_round_trip_yaml_json() {
    let examples = examples();
    let names: Vec<&str> = examples.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"conveyor-embedded.yaml") && names.contains(&"line3-triton.json"), "{names:?}");
    for (name, doc) in &examples {
        doc.validate().unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let yaml = doc.to_yaml_string().unwrap();
        assert_eq!(&PipelineDocument::from_yaml_str(&yaml).unwrap(), doc, "{name} via YAML:\n{yaml}");
        let json = doc.to_json_string().unwrap();
        assert_eq!(&PipelineDocument::from_json_str(&json).unwrap(), doc, "{name} via JSON:\n{json}");
        // YAML → JSON → YAML is the same text: nothing is lost or reordered on the way.
        let via_json = PipelineDocument::from_json_str(&json).unwrap().to_yaml_string().unwrap();
        assert_eq!(via_json, yaml, "{name}");
    }
}

#[test]
fn conveyor_example_says_what_the_brief_says() {
    let doc = PipelineDocument::from_yaml_str(&read("examples/conveyor-embedded.yaml")).unwrap();
    let kinds: Vec<&str> = doc.nodes.iter().map(|n| n.kind.key()).collect();
    assert_eq!(kinds, ["source", "decode", "sample", "preprocess", "infer", "postprocess", "rule", "sink"]);
    let by_kind = |k: &str| &doc.nodes.iter().find(|n| n.kind.key() == k).expect(k).kind;
    assert!(matches!(by_kind("source"), NodeKind::Source(SourceNode { kind: SourceKind::File, .. })));
    assert_eq!(by_kind("sample"), &NodeKind::Sample(SampleNode::EveryN { n: 2 }));
    let NodeKind::Preprocess(pre) = by_kind("preprocess") else { unreachable!() };
    assert_eq!((pre.width, pre.height, pre.resize), (Some(640), Some(640), Some(ResizeMode::Letterbox)));
    let NodeKind::Infer(InferNode::Embedded { model, .. }) = by_kind("infer") else { panic!("embedded infer") };
    assert_eq!(model, "models/defect-yolov8.onnx");
    let NodeKind::Postprocess(post) = by_kind("postprocess") else { unreachable!() };
    assert_eq!(post.kind, PostprocessKind::Yolov8);
    let NodeKind::Rule(rules) = by_kind("rule") else { unreachable!() };
    // The rules behave as described: a 0.6 scratch is NG; exactly one part is OK, two are NG.
    let det = |class: &str, score: f32| crate::postprocess::Detection {
        class_id: 0,
        class_name: class.into(),
        score,
        bbox: BoxXyxy { x1: 0.0, y1: 0.0, x2: 10.0, y2: 10.0 },
    };
    use crate::verdict::Status;
    assert_eq!(rules.evaluate(&[det("part", 0.9)]).status, Status::Ok);
    assert_eq!(rules.evaluate(&[det("part", 0.9), det("scratch", 0.6)]).fired[0].rule_id, "scratch");
    assert_eq!(rules.evaluate(&[det("part", 0.9), det("part", 0.8)]).fired[0].rule_id, "one-part");
    let NodeKind::Sink(sink) = by_kind("sink") else { unreachable!() };
    assert!(sink.jsonl.is_some() && sink.sqlite.is_some());
    assert_eq!(sink.snapshots.as_ref().and_then(|s| s.when), Some(SnapshotWhen::Ng));

    let line3 = PipelineDocument::from_json_str(&read("examples/line3-triton.json")).unwrap();
    assert!(line3.nodes.iter().any(|n| matches!(n.kind, NodeKind::Source(SourceNode { kind: SourceKind::Rtsp, .. }))));
    assert!(line3
        .nodes
        .iter()
        .any(|n| matches!(n.kind, NodeKind::Infer(InferNode::Triton { shared_memory: Some(SharedMemory::System), .. }))));
}

#[test]
fn committed_schema_file_is_json_schema() {
    let path = format!("{ROOT}/schema/pipeline.schema.json");
    if std::env::var_os("IFC_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&json_schema()).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let committed: Value = serde_json::from_str(&read("schema/pipeline.schema.json")).expect("schema file is JSON");
    assert!(
        committed == json_schema(),
        "schema/pipeline.schema.json is stale: run `IFC_BLESS=1 cargo test -p libifc committed_schema` and commit it"
    );
}

/// Every keyword in the schema is one the checker implements (so none is silently ignored),
/// and every `$ref` resolves.
#[test]
fn schema_uses_only_keywords_the_checker_knows() {
    let schema = json_schema();
    fn walk(s: &Value, root: &Value, at: &str) {
        let Some(o) = s.as_object() else { return };
        for (k, v) in o {
            assert!(schema_check::SUPPORTED_KEYWORDS.contains(&k.as_str()), "{at}: unsupported keyword {k}");
            match k.as_str() {
                "properties" | "$defs" => {
                    for (name, sub) in v.as_object().expect("map") {
                        walk(sub, root, &format!("{at}/{k}/{name}"));
                    }
                }
                "items" | "additionalProperties" => walk(v, root, &format!("{at}/{k}")),
                "oneOf" => v.as_array().expect("list").iter().for_each(|b| walk(b, root, &format!("{at}/oneOf"))),
                "$ref" => {
                    let target = v.as_str().and_then(|r| r.strip_prefix("#")).expect("local ref");
                    assert!(root.pointer(target).is_some(), "{at}: dangling $ref {v}");
                    let siblings: Vec<&String> =
                        o.keys().filter(|k| !["$ref", "description", "title"].contains(&k.as_str())).collect();
                    assert!(siblings.is_empty(), "{at}: $ref with assertions beside it: {siblings:?}");
                }
                _ => {}
            }
        }
    }
    walk(&schema, &schema, "#");
}

/// Documents that set every field and use every variant, built with exhaustive struct
/// literals: a field added to a Rust type fails to compile here until it is added, and then
/// the schema check below fails until the schema has it.
fn maximal_documents() -> Vec<PipelineDocument> {
    let rect = BoxXyxy { x1: 10.0, y1: 20.0, x2: 300.0, y2: 400.0 };
    let polygon = Region::Polygon(vec![[0.0, 0.0], [100.0, 0.0], [50.0, 80.0]]);
    let detected = |id: &str, region: Option<Region>| {
        Rule::Detected(DetectedRule {
            id: id.into(),
            message: "Scratch".into(),
            class: Some("scratch".into()),
            min_score: Some(0.5),
            min_overlap: region.as_ref().map(|_| 0.25),
            region,
        })
    };
    let count = |equals: Option<u32>, min: Option<u32>, max: Option<u32>| {
        Rule::Count(CountRule {
            id: "count".into(),
            message: "Count".into(),
            class: Some("part".into()),
            min_score: Some(0.4),
            region: Some(polygon.clone()),
            min_overlap: Some(0.5),
            equals,
            min,
            max,
        })
    };
    let preprocess = |resize, interpolation, colour_order, layout, dtype, colour_matrix| PreprocessNode {
        width: Some(640),
        height: Some(480),
        resize: Some(resize),
        interpolation: Some(interpolation),
        pad_value: Some(114),
        roi: Some(PixelRect { x: 8, y: 4, width: 600, height: 400 }),
        colour_matrix: Some(colour_matrix),
        full_range: Some(true),
        scale: Some(1.0 / 255.0),
        mean: Some([0.485, 0.456, 0.406]),
        std: Some([0.229, 0.224, 0.225]),
        colour_order: Some(colour_order),
        layout: Some(layout),
        dtype: Some(dtype),
    };
    let postprocess = |kind| PostprocessNode {
        kind,
        output: Some("output0".into()),
        labels: Some("labels.txt".into()),
        score_threshold: Some(0.3),
        iou_threshold: if kind.is_detection() { Some(0.6) } else { None },
        max_detections: if kind.is_detection() { Some(100) } else { None },
        top_k: if kind.is_detection() { None } else { Some(3) },
        softmax: if kind.is_detection() { None } else { Some(false) },
    };
    let sink = |when| SinkNode {
        jsonl: Some("out.jsonl".into()),
        sqlite: Some("out.sqlite".into()),
        snapshots: Some(SnapshotSink { dir: "snaps".into(), when: Some(when), max_per_minute: Some(10) }),
    };
    let chain = |source: SourceNode, backend, sample, pre, infer, post, rules: Vec<Rule>, when| {
        let mut doc = PipelineDocument::new(vec![
            Node::new("src", &[], NodeKind::Source(source)),
            Node::new("dec", &["src"], NodeKind::Decode(DecodeNode { backend: Some(backend) })),
            Node::new("smp", &["dec"], NodeKind::Sample(sample)),
            Node::new("pre", &["smp"], NodeKind::Preprocess(pre)),
            Node::new("inf", &["pre"], NodeKind::Infer(infer)),
            Node::new("post", &["inf"], NodeKind::Postprocess(post)),
            Node::new(
                "rules",
                &["post"],
                NodeKind::Rule(RuleSet { rules, window: Some(WindowConfig { duration_ms: 1000, ng_frames: 2 }) }),
            ),
            Node::new("out", &["rules", "post"], NodeKind::Sink(sink(when))),
        ]);
        doc.name = Some("maximal".into());
        doc.description = Some("every field".into());
        doc
    };
    vec![
        chain(
            SourceNode { kind: SourceKind::File, uri: "a.mp4".into(), fps: Some(25.0) },
            DecodeBackend::Auto,
            SampleNode::EveryN { n: 2 },
            preprocess(
                ResizeMode::Letterbox,
                Interpolation::Bilinear,
                ColourOrder::Rgb,
                TensorLayout::Nchw,
                TensorDtype::F32,
                ColourMatrix::Bt601,
            ),
            InferNode::Embedded { model: "m.onnx".into(), timeout_ms: Some(500), threads: Some(4) },
            postprocess(PostprocessKind::Yolov8),
            vec![detected("rect", Some(Region::Rect(rect))), count(Some(1), None, None)],
            SnapshotWhen::Ng,
        ),
        chain(
            SourceNode { kind: SourceKind::Rtsp, uri: "rtsp://cam/1".into(), fps: None },
            DecodeBackend::Software,
            SampleNode::Fps { fps: 2.5 },
            preprocess(
                ResizeMode::Stretch,
                Interpolation::Area,
                ColourOrder::Bgr,
                TensorLayout::Nhwc,
                TensorDtype::F16,
                ColourMatrix::Bt709,
            ),
            InferNode::Triton {
                url: "localhost:8001".into(),
                model_name: "m".into(),
                model_version: Some(3),
                timeout_ms: Some(100),
                connect_timeout_ms: Some(1000),
                shared_memory: Some(SharedMemory::Cuda),
            },
            postprocess(PostprocessKind::Yolov5),
            vec![count(None, Some(1), Some(3))],
            SnapshotWhen::Ok,
        ),
        chain(
            SourceNode { kind: SourceKind::Whip, uri: "line7".into(), fps: Some(30.0) },
            DecodeBackend::Hardware,
            SampleNode::Keyframes,
            preprocess(
                ResizeMode::Letterbox,
                Interpolation::Area,
                ColourOrder::Rgb,
                TensorLayout::Nchw,
                TensorDtype::U8,
                ColourMatrix::Bt2020,
            ),
            InferNode::Embedded { model: "c.onnx".into(), timeout_ms: None, threads: None },
            postprocess(PostprocessKind::Classification),
            vec![detected("anywhere", None)],
            SnapshotWhen::All,
        ),
        chain(
            SourceNode { kind: SourceKind::File, uri: "b.h264".into(), fps: None },
            DecodeBackend::Auto,
            SampleNode::OnChange { threshold: 0.05 },
            preprocess(
                ResizeMode::Letterbox,
                Interpolation::Bilinear,
                ColourOrder::Rgb,
                TensorLayout::Nchw,
                TensorDtype::F32,
                ColourMatrix::Bt601,
            ),
            InferNode::Embedded { model: "d.onnx".into(), timeout_ms: None, threads: None },
            postprocess(PostprocessKind::Auto),
            vec![detected("any", None)],
            SnapshotWhen::Ng,
        ),
    ]
}

/// (definition, property) pairs, and (definition, property, value) triples.
type Properties = BTreeSet<(String, String)>;
type Values = BTreeSet<(String, String, String)>;

/// Every property and every enum/const value in the schema, by definition.
fn schema_expectations(schema: &Value) -> (Properties, Values) {
    let mut properties = BTreeSet::new();
    let mut values = BTreeSet::new();
    let defs = schema["$defs"].as_object().expect("$defs").iter().map(|(k, v)| (k.as_str(), v));
    for (def, s) in std::iter::once(("", schema)).chain(defs) {
        for (prop, sub) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            properties.insert((def.to_owned(), prop.clone()));
            for v in sub.get("enum").and_then(Value::as_array).into_iter().flatten().chain(sub.get("const")) {
                values.insert((def.to_owned(), prop.clone(), v.to_string()));
            }
        }
    }
    (properties, values)
}

#[test]
fn schema_and_rust_types_agree() {
    let schema = json_schema();
    let mut seen_properties = BTreeSet::new();
    let mut seen_values = BTreeSet::new();
    for doc in maximal_documents() {
        let value = serde_json::to_value(&doc).unwrap();
        let (issues, coverage) = schema_check::check_with_coverage(&schema, &value);
        assert!(issues.is_empty(), "a document built from the Rust types fails the schema: {issues:?}");
        doc.validate().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(PipelineDocument::from_value(value).unwrap(), doc);
        seen_properties.extend(coverage.properties.into_iter().map(|(d, p)| (d.to_owned(), p.to_owned())));
        seen_values.extend(coverage.values.into_iter().map(|(d, p, v)| (d.to_owned(), p.to_owned(), v)));
    }
    let (properties, values) = schema_expectations(&schema);
    let missing: Vec<_> = properties.difference(&seen_properties).collect();
    assert!(missing.is_empty(), "schema properties no Rust type produces: {missing:?}");
    let missing: Vec<_> = values.difference(&seen_values).collect();
    assert!(missing.is_empty(), "schema enum values no Rust variant produces: {missing:?}");
}

/// Runs the `jsonschema` package over documents; `None` when it is not installed.
fn python_validity(documents: &[Value]) -> Option<Vec<(bool, Vec<String>)>> {
    if !python_has("jsonschema") {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests-data/check_pipeline_schema.py");
    let mut child =
        Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3");
    let request = json!({"schema": format!("{ROOT}/schema/pipeline.schema.json"), "documents": documents});
    child.stdin.take().expect("stdin").write_all(request.to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("ran");
    assert!(out.status.success(), "check_pipeline_schema.py failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    Some(
        results
            .iter()
            .map(|r| (r["valid"] == json!(true), serde_json::from_value(r["errors"].clone()).unwrap_or_default()))
            .collect(),
    )
}

#[test]
fn independent_validator_agrees_with_the_checker() {
    let mut documents: Vec<Value> = examples().iter().map(|(_, d)| serde_json::to_value(d).unwrap()).collect();
    documents.push(serde_yaml_ng::from_str(&read("examples/conveyor-embedded.yaml")).unwrap());
    documents.push(serde_json::from_str(&read("examples/line3-triton.json")).unwrap());
    let valid_count = documents.len();
    documents.extend(maximal_documents().iter().map(|d| serde_json::to_value(d).unwrap()));
    let mut rng = Rng(0x5c4e_3a01);
    let base = conveyor_value();
    let donors = [base.clone(), serde_json::from_str(&read("examples/line3-triton.json")).unwrap()];
    for _ in 0..400 {
        let mut v = donors[rng.below(2) as usize].clone();
        for _ in 0..=rng.below(3) {
            let donor = &donors[rng.below(2) as usize];
            mutate(&mut v, &mut rng, donor);
        }
        documents.push(v);
    }
    let Some(python) = python_validity(&documents) else { return };
    let mut invalid = 0;
    for (k, (doc, (py_valid, py_errors))) in documents.iter().zip(&python).enumerate() {
        let ours = schema_check::check(schema(), doc);
        if k < valid_count {
            assert!(*py_valid, "example {k} fails jsonschema: {py_errors:?}");
        }
        assert_eq!(ours.is_empty(), *py_valid, "document {k} — jsonschema: {py_errors:?}; ours: {ours:?}\n{doc}");
        invalid += usize::from(!py_valid);
    }
    assert!(invalid > 100, "the mutations must produce invalid documents ({invalid})");
}

#[test]
fn invalid_fields_name_node_and_field() {
    let v = conveyor_value;
    let cases: Vec<(Value, &str)> = vec![
        (edit(v(), "/nodes/5/postprocess/iou_threshold", json!(1.5)), "nodes[5] (id \"yolo\").postprocess.iou_threshold: must be in (0, 1], got 1.5"),
        (edit(v(), "/nodes/5/postprocess/score_threshold", json!(-0.1)), "nodes[5] (id \"yolo\").postprocess.score_threshold: must be in [0, 1], got -0.1"),
        (edit(v(), "/nodes/5/postprocess/kind", json!("yolov9")), "nodes[5] (id \"yolo\").postprocess.kind: must be one of \"classification\", \"yolov5\", \"yolov8\", \"auto\", got \"yolov9\""),
        (edit(v(), "/nodes/5/postprocess/max_detections", json!("many")), "nodes[5] (id \"yolo\").postprocess.max_detections: expected an integer, got \"many\""),
        (edit(v(), "/nodes/3/preprocess/dtype", json!("f64")), "nodes[3] (id \"letterbox\").preprocess.dtype: must be one of \"f32\", \"f16\", \"u8\", got \"f64\""),
        (edit(v(), "/nodes/3/preprocess/width", json!(0)), "nodes[3] (id \"letterbox\").preprocess.width: must be in [1, 16384], got 0"),
        (edit(v(), "/nodes/3/preprocess/pad_value", json!(300)), "nodes[3] (id \"letterbox\").preprocess.pad_value: must be in [0, 255], got 300"),
        (edit(v(), "/nodes/3/preprocess/mean", json!([0.5, 0.5])), "nodes[3] (id \"letterbox\").preprocess.mean: needs exactly 3 items, got 2"),
        (edit(v(), "/nodes/2/sample/n", json!(0)), "nodes[2] (id \"every-2nd\").sample.n: must be in [1, 4294967295], got 0"),
        (edit(v(), "/nodes/2/sample/mode", json!("often")), "nodes[2] (id \"every-2nd\").sample.mode: must be one of \"every_n\", \"fps\", \"keyframes\", \"on_change\", got \"often\""),
        (remove(v(), "/nodes/4/infer/model"), "nodes[4] (id \"model\").infer.model: is required"),
        (edit(v(), "/nodes/4/infer/timeout_ms", json!(0)), "nodes[4] (id \"model\").infer.timeout_ms: must be at least 1, got 0"),
        (edit(v(), "/nodes/0/source/kind", json!("usb")), "nodes[0] (id \"camera\").source.kind: must be one of \"file\", \"rtsp\", \"whip\", got \"usb\""),
        (edit(v(), "/nodes/0/source/fps", json!(0)), "nodes[0] (id \"camera\").source.fps: must be in (0, 1000], got 0"),
        (edit(v(), "/nodes/6/rule/rules/0/min_score", json!(2)), "nodes[6] (id \"verdict\").rule.rules[0].min_score: must be in [0, 1], got 2"),
        (edit(v(), "/nodes/6/rule/rules/1/equals", json!(-1)), "nodes[6] (id \"verdict\").rule.rules[1].equals: must be in [0, 4294967295], got -1"),
        (edit(v(), "/nodes/6/rule/rules/1/kind", json!("maybe")), "nodes[6] (id \"verdict\").rule.rules[1].kind: must be one of \"detected\", \"count\", got \"maybe\""),
        (edit(v(), "/nodes/6/rule/window/ng_frames", json!(0)), "nodes[6] (id \"verdict\").rule.window.ng_frames: must be in [1, 4294967295], got 0"),
        (edit(v(), "/nodes/7/sink/snapshots/when", json!("sometimes")), "nodes[7] (id \"results\").sink.snapshots.when: must be one of \"ng\", \"ok\", \"all\", got \"sometimes\""),
        (edit(v(), "/nodes/7/inputs", json!("verdict")), "nodes[7] (id \"results\").inputs: expected a list, got \"verdict\""),
        (edit(v(), "/nodes/1/id", json!("")), "nodes[1].id: must not be empty"),
        (edit(v(), "/version", json!(2)), "version: must be 1, got 2"),
        (edit(v(), "/nodes", json!([])), "nodes: needs at least 1 item, got 0"),
        (json!([]), "document: expected a mapping, got a list"),
    ];
    for (value, expected) in cases {
        let errors = errors_of(value);
        assert_eq!(errors, vec![expected.to_owned()]);
    }
}

#[test]
fn unknown_fields_are_rejected_wherever_they_are() {
    let places = [
        ("", "bogus"),
        ("/nodes/0", "nodes[0] (id \"camera\").bogus"),
        ("/nodes/0/source", "nodes[0] (id \"camera\").source.bogus"),
        ("/nodes/1/decode", "nodes[1] (id \"decode\").decode.bogus"),
        ("/nodes/2/sample", "nodes[2] (id \"every-2nd\").sample.bogus"),
        ("/nodes/3/preprocess", "nodes[3] (id \"letterbox\").preprocess.bogus"),
        ("/nodes/4/infer", "nodes[4] (id \"model\").infer.bogus"),
        ("/nodes/5/postprocess", "nodes[5] (id \"yolo\").postprocess.bogus"),
        ("/nodes/6/rule", "nodes[6] (id \"verdict\").rule.bogus"),
        ("/nodes/6/rule/rules/0", "nodes[6] (id \"verdict\").rule.rules[0].bogus"),
        ("/nodes/6/rule/window", "nodes[6] (id \"verdict\").rule.window.bogus"),
        ("/nodes/7/sink", "nodes[7] (id \"results\").sink.bogus"),
        ("/nodes/7/sink/snapshots", "nodes[7] (id \"results\").sink.snapshots.bogus"),
    ];
    for (pointer, location) in places {
        let mut v = conveyor_value();
        v.pointer_mut(pointer).and_then(Value::as_object_mut).expect(pointer).insert("bogus".into(), json!(1));
        let errors = errors_of(v);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with(&format!("{location}: unknown field, expected one of ")), "{}", errors[0]);
    }
    // Nested boxes and regions too.
    let mut v = conveyor_value();
    v["nodes"][3]["preprocess"]["roi"] = json!({"x": 0, "y": 0, "width": 10, "height": 10, "z": 1});
    v["nodes"][6]["rule"]["rules"][0]["region"] = json!({"rect": {"x1": 0, "y1": 0, "x2": 10, "y2": 10}, "circle": 5});
    assert_eq!(
        errors_of(v),
        [
            "nodes[3] (id \"letterbox\").preprocess.roi.z: unknown field, expected one of height, width, x, y",
            "nodes[6] (id \"verdict\").rule.rules[0].region.circle: unknown field, expected one of polygon, rect",
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = conveyor_value();
    v["nodes"][5]["postprocess"]["iou_threshold"] = json!(1.5);
    v["nodes"][3]["preprocess"]["dtype"] = json!("f64");
    v["nodes"][0]["source"]["extra"] = json!(true);
    v["version"] = json!(7);
    let errors = errors_of(v);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let err = PipelineDocument::from_yaml_str("version: 1\nnodes:\n  - id: a\n  - id: b\n    source: {kind: file}\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 problems in the pipeline document:\n  nodes[0] (id \"a\"): needs exactly one of `source`, `decode`, `sample`, `preprocess`, `infer`, `postprocess`, `rule`, `sink`, found none\n  nodes[1] (id \"b\").source.uri: is required"
    );
}

#[test]
fn wiring_and_cross_field_errors() {
    let v = conveyor_value;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (edit(v(), "/nodes/7/inputs", json!(["letterbox"])), vec![
            "nodes[7] (id \"results\").inputs[0]: node \"letterbox\" (preprocess) outputs tensors, but a sink node takes verdicts or detections",
            "nodes[7] (id \"results\").sink.snapshots: needs an input of type verdicts (snapshots are chosen by verdict)",
        ]),
        (edit(v(), "/nodes/5/inputs", json!(["letterbox"])), vec![
            "nodes[5] (id \"yolo\").inputs[0]: node \"letterbox\" (preprocess) outputs tensors, but a postprocess node takes outputs",
        ]),
        (edit(v(), "/nodes/4/inputs", json!(["nowhere"])), vec!["nodes[4] (id \"model\").inputs[0]: no node has the id \"nowhere\""]),
        (edit(v(), "/nodes/4/inputs", json!([])), vec!["nodes[4] (id \"model\").inputs: a infer node needs an input of type tensors"]),
        (edit(v(), "/nodes/4/inputs", json!(["letterbox", "letterbox"])), vec![
            "nodes[4] (id \"model\").inputs: a infer node takes one input, got 2",
            "nodes[4] (id \"model\").inputs[1]: \"letterbox\" is listed twice",
        ]),
        (edit(v(), "/nodes/0/inputs", json!(["decode"])), vec!["nodes[0] (id \"camera\").inputs: a source node takes no inputs, got 1"]),
        (edit(v(), "/nodes/2/inputs", json!(["every-2nd"])), vec!["nodes[2] (id \"every-2nd\").inputs[0]: a node cannot read its own output"]),
        (edit(v(), "/nodes/6/id", json!("yolo")), vec![
            "nodes[6] (id \"yolo\").id: duplicates the id of nodes[5]",
            "nodes[7] (id \"results\").inputs[0]: no node has the id \"verdict\"",
        ]),
        (edit(v(), "/nodes/1/id", json!("de code")), vec![
            "nodes[1] (id \"de code\").id: must be 1 to 64 letters, digits, `_` or `-`",
            "nodes[2] (id \"every-2nd\").inputs[0]: no node has the id \"decode\"",
        ]),
        (remove(v(), "/nodes/3/preprocess/height"), vec!["nodes[3] (id \"letterbox\").preprocess.height: set width and height together"]),
        (edit(v(), "/nodes/5/postprocess/top_k", json!(3)), vec!["nodes[5] (id \"yolo\").postprocess.top_k: applies to classification only"]),
        (edit(v(), "/nodes/5/postprocess/kind", json!("classification")), vec![
            "nodes[5] (id \"yolo\").postprocess.iou_threshold: applies to detection kinds (yolov5, yolov8, auto) only",
            "nodes[5] (id \"yolo\").postprocess.max_detections: applies to detection kinds (yolov5, yolov8, auto) only",
        ]),
        (edit(v(), "/nodes/6/rule/rules/1/id", json!("scratch")), vec!["nodes[6] (id \"verdict\").rule.rules[1].id: \"scratch\" is already the id of rules[0]"]),
        (edit(v(), "/nodes/6/rule/rules/1/min", json!(1)), vec!["nodes[6] (id \"verdict\").rule.rules[1].equals: cannot be combined with `min`/`max`"]),
        (edit(v(), "/nodes/0/source", json!({"kind": "rtsp", "uri": "http://user:secret@cam/1"})), vec![
            "nodes[0] (id \"camera\").source.uri: the RTSP client cannot open it: url: invalid: scheme http:// is not rtsp://",
        ]),
        // rtsps:// passed validation, then the client refused it: both refuse it now.
        (edit(v(), "/nodes/0/source", json!({"kind": "rtsp", "uri": "rtsps://user:secret@cam/1"})), vec![
            "nodes[0] (id \"camera\").source.uri: the RTSP client cannot open it: url: unsupported: rtsps:// (RTSP over TLS): this build has no TLS",
        ]),
        (edit(v(), "/nodes/7/sink", json!({})), vec!["nodes[7] (id \"results\").sink: needs at least one of jsonl, sqlite, snapshots"]),
    ];
    for (value, expected) in cases {
        assert_eq!(errors_of(value), expected);
    }

    // Two sample nodes feeding each other: a cycle (and the decode output goes nowhere).
    let mut v = conveyor_value();
    v["nodes"][2]["inputs"] = json!(["again"]);
    v["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "again", "inputs": ["every-2nd"], "sample": {"mode": "keyframes"}}));
    let errors = errors_of(v);
    assert_eq!(errors, ["nodes[8] (id \"again\").inputs: forms a cycle through node \"every-2nd\""]);

    // No source, no sink.
    let only_decode = json!({"version": 1, "nodes": [{"id": "d", "decode": {}, "inputs": []}]});
    assert_eq!(
        errors_of(only_decode),
        [
            "nodes[0] (id \"d\").inputs: a decode node needs an input of type encoded_video",
            "nodes: needs at least one source node",
            "nodes: needs at least one sink node (results must go somewhere)",
        ]
    );
}

#[test]
fn validate_checks_documents_built_in_code() {
    let mut doc = PipelineDocument::from_yaml_str(&read("examples/conveyor-embedded.yaml")).unwrap();
    let NodeKind::Postprocess(p) = &mut doc.nodes[5].kind else { unreachable!() };
    p.iou_threshold = Some(1.5);
    doc.version = 2;
    let errors: Vec<String> = doc.validate().unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["nodes[5] (id \"yolo\").postprocess.iou_threshold: must be in (0, 1], got 1.5", "version: must be 1, got 2"]
    );
}

#[test]
fn syntax_errors_say_where() {
    let err = PipelineDocument::from_yaml_str("version: 1\nnodes: [\n").unwrap_err();
    assert!(matches!(&err, DocumentError::Syntax { format: "YAML", message } if message.contains("line")), "{err}");
    let err = PipelineDocument::from_json_str("{\"version\": 1,").unwrap_err();
    assert!(matches!(&err, DocumentError::Syntax { format: "JSON", message } if message.contains("line 1")), "{err}");
    assert!(PipelineDocument::from_yaml_str("").is_err());
    assert!(PipelineDocument::from_json_str("").is_err());
}

// ---- mutation (fuzz-style) ----

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 1),
        2 => json!(rng.below(5) as i64 - 2),
        3 => json!(i64::MIN + rng.below(3) as i64),
        4 => json!(u64::MAX - rng.below(3)),
        // Never a whole number as a float: `2.0` is an integer to JSON Schema, not to us.
        5 => json!((rng.below(2000) as f64 - 1000.0) / 8.0 + 1.0 / 16.0),
        6 => json!(""),
        7 => json!(["x"]),
        8 => json!({}),
        _ => json!(["yolo", "auto", "rtsp", "scratch", "\u{0}", "ünïcödé", "nodes", "1"][rng.below(8) as usize]),
    }
}

/// Picks a random place in `v` and changes it: replace, delete, add an unknown key, graft a
/// subtree from `donor`, duplicate or drop a list item.
fn mutate(v: &mut Value, rng: &mut Rng, donor: &Value) {
    let graft = {
        let mut d = donor;
        while rng.below(3) != 0 {
            let next = match d {
                Value::Object(m) if !m.is_empty() => m.values().nth(rng.below(m.len() as u64) as usize),
                Value::Array(a) if !a.is_empty() => a.get(rng.below(a.len() as u64) as usize),
                _ => None,
            };
            match next {
                Some(n) => d = n,
                None => break,
            }
        }
        d.clone()
    };
    // A random place, as a JSON pointer found by walking down from the root.
    let mut pointer = String::new();
    let mut at: &Value = v;
    while rng.below(5) != 0 {
        let next = match at {
            Value::Object(m) if !m.is_empty() => m
                .iter()
                .nth(rng.below(m.len() as u64) as usize)
                .map(|(k, n)| (k.replace('~', "~0").replace('/', "~1"), n)),
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len() as u64) as usize;
                a.get(i).map(|n| (i.to_string(), n))
            }
            _ => None,
        };
        let Some((segment, n)) = next else { break };
        pointer.push('/');
        pointer.push_str(&segment);
        at = n;
    }
    let Some(cur) = v.pointer_mut(&pointer) else { return };
    match (rng.below(6), cur) {
        (0, Value::Object(m)) if !m.is_empty() => {
            let key = m.keys().nth(rng.below(m.len() as u64) as usize).cloned().unwrap_or_default();
            m.remove(&key);
        }
        (1, Value::Object(m)) => {
            m.insert(
                ["bogus", "id", "inputs", "source", "kind", "rules"][rng.below(6) as usize].into(),
                random_scalar(rng),
            );
        }
        (2, Value::Array(a)) if !a.is_empty() => {
            let i = rng.below(a.len() as u64) as usize;
            if rng.below(2) == 0 {
                a.remove(i);
            } else {
                let item = a[i].clone();
                a.push(item);
            }
        }
        (3, place) => *place = graft,
        (_, place) => *place = random_scalar(rng),
    }
}

#[test]
fn mutated_documents_never_panic_and_checker_agrees_with_serde() {
    let mut rng = Rng(0xdead_beef);
    let bases = [conveyor_value(), serde_json::from_str::<Value>(&read("examples/line3-triton.json")).unwrap()];
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..2000 {
        let mut v = bases[round % 2].clone();
        for _ in 0..=rng.below(4) {
            let donor = &bases[rng.below(2) as usize];
            mutate(&mut v, &mut rng, donor);
        }
        // What the schema check accepts, the Rust types must read (the converse need not hold:
        // serde reads `null` as an absent optional field, the schema wants the key left out).
        let issues = schema_check::check(schema(), &v);
        if issues.is_empty() {
            let typed = serde_json::from_value::<PipelineDocument>(v.clone());
            assert!(typed.is_ok(), "the schema accepts what serde refuses: {:?}\n{v}", typed.err());
        }

        // Through text, both formats.
        let json_text = v.to_string();
        let yaml_text = serde_yaml_ng::to_string(&v).unwrap();
        for result in [PipelineDocument::from_json_str(&json_text), PipelineDocument::from_yaml_str(&yaml_text)] {
            match result {
                Ok(doc) => {
                    accepted += 1;
                    let _ = doc.validate();
                    assert_eq!(PipelineDocument::from_yaml_str(&doc.to_yaml_string().unwrap()).unwrap(), doc);
                }
                Err(e) => {
                    rejected += 1;
                    assert!(!e.errors().is_empty());
                    for err in e.errors() {
                        assert!(!err.message.is_empty());
                    }
                }
            }
        }

        // Raw text damage: truncation and byte flips must give errors, not panics.
        let mut bytes = yaml_text.into_bytes();
        let cut = rng.below(bytes.len() as u64 + 1) as usize;
        bytes.truncate(cut);
        if let Some(b) = bytes.get_mut(rng.below(cut as u64 + 1) as usize) {
            *b ^= 1 << rng.below(8);
        }
        let _ = PipelineDocument::from_yaml_str(&String::from_utf8_lossy(&bytes));
        let _ = PipelineDocument::from_json_str(&String::from_utf8_lossy(
            &json_text.as_bytes()[..cut.min(json_text.len())],
        ));
    }
    assert!(
        accepted > 100 && rejected > 1000,
        "mutations should both keep and break documents ({accepted} / {rejected})"
    );
}

#[test]
fn hostile_texts_are_refused_without_exhausting_the_stack_or_memory() {
    // Deep nesting: both parsers stop at their recursion limit.
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(PipelineDocument::from_json_str(&deep_json), Err(DocumentError::Syntax { .. })));
    let deep_yaml = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(PipelineDocument::from_yaml_str(&deep_yaml), Err(DocumentError::Syntax { .. })));
    // "Billion laughs": aliases that would expand to 10^9 nodes.
    let mut laughs =
        String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(["b", "c", "d", "e", "f", "g", "h", "i"]) {
        laughs.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    assert!(PipelineDocument::from_yaml_str(&laughs).is_err());
    // Not UTF-8-clean control characters and tags.
    assert!(PipelineDocument::from_yaml_str("version: !!binary AAAA\nnodes: []").is_err());
    assert!(PipelineDocument::from_yaml_str("--- 1\n--- 2\n").is_err());
}

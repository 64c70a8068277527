//! The published JSON Schema of pipeline documents (draft 2020-12), written by hand to read
//! well in editors and the web canvas (titles, descriptions, defaults). It is the single
//! source of types, enums, ranges and allowed fields: documents are checked against it
//! ([`super::schema_check`]), and tests pin it to the Rust types and to
//! `schema/pipeline.schema.json`.

use serde_json::{json, Map, Value};

const U32_MAX: u64 = u32::MAX as u64;

fn string(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn enumeration(values: &[&str], description: &str) -> Value {
    json!({"enum": values, "description": description})
}

fn tag(value: &str) -> Value {
    json!({"const": value})
}

fn positive_ms(description: &str) -> Value {
    json!({"type": "integer", "minimum": 1, "description": description})
}

/// The JSON Schema of a pipeline document.
pub fn json_schema() -> Value {
    let mut schema = root();
    let defs: Map<String, Value> = definitions().into_iter().map(|(name, def)| (name.to_owned(), def)).collect();
    if let Value::Object(root) = &mut schema {
        root.insert("$defs".to_owned(), Value::Object(defs));
    }
    schema
}

fn root() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/ifc/schema/pipeline.schema.json",
        "title": "ifc pipeline document",
        "description": "An inspection pipeline: nodes joined by typed edges (each node names its `inputs`). Edge types: source → encoded_video → decode → frames → (sample → frames) → preprocess → tensors → infer → outputs → postprocess → detections → rule → verdicts → sink (a sink also takes detections).",
        "type": "object",
        "required": ["version", "nodes"],
        "additionalProperties": false,
        "properties": {
            "version": {"const": 1, "description": "Document format version."},
            "name": {"type": "string", "description": "A name for people."},
            "description": {"type": "string"},
            "nodes": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/node"}}
        }
    })
}

/// Each definition is its own `json!` (one large literal exceeds the macro's recursion limit).
fn definitions() -> Vec<(&'static str, Value)> {
    vec![
        (
            "node",
            json!({
                "type": "object",
                "description": "One node: an `id`, its `inputs`, and exactly one kind key holding the kind's settings.",
                "required": ["id"],
                "additionalProperties": false,
                "properties": {
                    "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "Unique; letters, digits, `_` and `-`."},
                    "inputs": {"type": "array", "items": {"type": "string", "minLength": 1}, "description": "Ids of the nodes this one reads from. None for a source; one for a transform; one or more for a sink."},
                    "source": {"$ref": "#/$defs/source"},
                    "decode": {"$ref": "#/$defs/decode"},
                    "sample": {"$ref": "#/$defs/sample"},
                    "preprocess": {"$ref": "#/$defs/preprocess"},
                    "infer": {"$ref": "#/$defs/infer"},
                    "postprocess": {"$ref": "#/$defs/postprocess"},
                    "rule": {"$ref": "#/$defs/rule"},
                    "sink": {"$ref": "#/$defs/sink"}
                },
                "oneOf": [
                    {"required": ["source"]}, {"required": ["decode"]}, {"required": ["sample"]}, {"required": ["preprocess"]},
                    {"required": ["infer"]}, {"required": ["postprocess"]}, {"required": ["rule"]}, {"required": ["sink"]}
                ]
            }),
        ),
        (
            "source",
            json!({
                "type": "object",
                "description": "Encoded video in. Output: encoded_video.",
                "required": ["kind", "uri"],
                "additionalProperties": false,
                "properties": {
                    "kind": enumeration(&["file", "rtsp", "whip"], "Where the video comes from."),
                    "uri": string("File path (file), rtsp:// URL (rtsp; rtsps:// is refused: no TLS), or the stream name devices publish to (whip)."),
                    "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "Frame rate to assume instead of the stream's own."}
                }
            }),
        ),
        (
            "decode",
            json!({
                "type": "object",
                "description": "encoded_video → frames, once per stream.",
                "additionalProperties": false,
                "properties": {
                    "backend": {"enum": ["auto", "software", "hardware"], "default": "auto"}
                }
            }),
        ),
        (
            "sample",
            json!({
                "type": "object",
                "description": "frames → frames: which frames go on to inference.",
                "oneOf": [
                    {"$ref": "#/$defs/sample_every_n"}, {"$ref": "#/$defs/sample_fps"},
                    {"$ref": "#/$defs/sample_keyframes"}, {"$ref": "#/$defs/sample_on_change"}
                ]
            }),
        ),
        (
            "sample_every_n",
            json!({
                "type": "object", "required": ["mode", "n"], "additionalProperties": false,
                "properties": {"mode": tag("every_n"), "n": {"type": "integer", "minimum": 1, "maximum": U32_MAX, "description": "Every n-th frame, from the first."}}
            }),
        ),
        (
            "sample_fps",
            json!({
                "type": "object", "required": ["mode", "fps"], "additionalProperties": false,
                "properties": {"mode": tag("fps"), "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000, "description": "At most this many frames per second of media time."}}
            }),
        ),
        (
            "sample_keyframes",
            json!({
                "type": "object", "required": ["mode"], "additionalProperties": false,
                "properties": {"mode": tag("keyframes")}
            }),
        ),
        (
            "sample_on_change",
            json!({
                "type": "object", "required": ["mode", "threshold"], "additionalProperties": false,
                "properties": {"mode": tag("on_change"), "threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "Mean absolute luma difference from the last sampled frame, as a fraction of full scale."}}
            }),
        ),
        (
            "preprocess",
            json!({
                "type": "object",
                "description": "frames → tensors. Every field is optional; absent ones come from the model's metadata.",
                "additionalProperties": false,
                "properties": {
                    "width": {"type": "integer", "minimum": 1, "maximum": 16384, "description": "Model input width in pixels (set with height)."},
                    "height": {"type": "integer", "minimum": 1, "maximum": 16384},
                    "resize": {"enum": ["letterbox", "stretch"], "default": "letterbox"},
                    "interpolation": {"enum": ["bilinear", "area"], "default": "bilinear"},
                    "pad_value": {"type": "integer", "minimum": 0, "maximum": 255, "default": 114, "description": "Grey level of the letterbox padding."},
                    "roi": {"$ref": "#/$defs/pixel_rect", "description": "Only this part of the frame, in source pixels."},
                    "colour_matrix": {"enum": ["bt601", "bt709", "bt2020"], "description": "YUV → RGB matrix; absent: the stream's VUI."},
                    "full_range": {"type": "boolean", "description": "Full-range YUV; absent: the stream's VUI."},
                    "scale": {"type": "number", "exclusiveMinimum": 0, "description": "Pixel values are multiplied by this first (1/255 for most models)."},
                    "mean": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "number"}, "description": "Subtracted per channel after scaling."},
                    "std": {"type": "array", "minItems": 3, "maxItems": 3, "items": {"type": "number", "exclusiveMinimum": 0}, "description": "Divided per channel after the mean."},
                    "colour_order": {"enum": ["rgb", "bgr"], "default": "rgb"},
                    "layout": {"enum": ["nchw", "nhwc"]},
                    "dtype": {"enum": ["f32", "f16", "u8"]}
                }
            }),
        ),
        (
            "pixel_rect",
            json!({
                "type": "object",
                "description": "A rectangle of whole source pixels.",
                "required": ["x", "y", "width", "height"],
                "additionalProperties": false,
                "properties": {
                    "x": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "y": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "width": {"type": "integer", "minimum": 1, "maximum": U32_MAX},
                    "height": {"type": "integer", "minimum": 1, "maximum": U32_MAX}
                }
            }),
        ),
        (
            "pixel_rect",
            json!({
                "type": "object",
                "description": "A rectangle of whole source pixels.",
                "required": ["x", "y", "width", "height"],
                "additionalProperties": false,
                "properties": {
                    "x": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "y": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "width": {"type": "integer", "minimum": 1, "maximum": U32_MAX},
                    "height": {"type": "integer", "minimum": 1, "maximum": U32_MAX}
                }
            }),
        ),
        (
            "box",
            json!({
                "type": "object",
                "description": "An axis-aligned box by its corners, in source pixels.",
                "required": ["x1", "y1", "x2", "y2"],
                "additionalProperties": false,
                "properties": {"x1": {"type": "number"}, "y1": {"type": "number"}, "x2": {"type": "number"}, "y2": {"type": "number"}}
            }),
        ),
        (
            "infer",
            json!({
                "type": "object",
                "description": "tensors → outputs: run the model.",
                "oneOf": [{"$ref": "#/$defs/infer_embedded"}, {"$ref": "#/$defs/infer_triton"}]
            }),
        ),
        (
            "infer_embedded",
            json!({
                "type": "object", "required": ["backend", "model"], "additionalProperties": false,
                "properties": {
                    "backend": tag("embedded"),
                    "model": string("Path of the ONNX model file."),
                    "timeout_ms": positive_ms("Per-inference time limit."),
                    "threads": {"type": "integer", "minimum": 1, "maximum": 1024, "description": "Intra-op threads."}
                }
            }),
        ),
        (
            "infer_triton",
            json!({
                "type": "object", "required": ["backend", "url", "model_name"], "additionalProperties": false,
                "properties": {
                    "backend": tag("triton"),
                    "url": string("Triton gRPC endpoint, host:port."),
                    "model_name": string("Model name in Triton's repository."),
                    "model_version": {"type": "integer", "minimum": 1, "maximum": U32_MAX, "description": "Absent: the server's version policy."},
                    "timeout_ms": positive_ms("Per-request time limit."),
                    "connect_timeout_ms": positive_ms("Connection time limit."),
                    "shared_memory": {"oneOf": [{"type": "boolean"}, {"enum": ["system", "cuda"]}], "default": false, "description": "Pass tensors through shared memory (Triton on the same machine): true or \"system\" a POSIX region, \"cuda\" a device buffer opened by CUDA IPC handle (the GPU path), false in the request."}
                }
            }),
        ),
        (
            "postprocess",
            json!({
                "type": "object",
                "description": "outputs → detections.",
                "required": ["kind"],
                "additionalProperties": false,
                "properties": {
                    "kind": enumeration(&["classification", "yolov5", "yolov8", "auto"], "classification: [1, classes], one whole-frame detection per top class; yolov5: [N, boxes, 5 + classes]; yolov8 (and YOLO11): [N, 4 + classes, boxes]; auto: the YOLO layout recognised from the shape."),
                    "output": string("Which model output to read (default: the first)."),
                    "labels": string("Labels file: one name per line, a YAML/JSON list, or Ultralytics `names:`."),
                    "score_threshold": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.25},
                    "iou_threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.7, "description": "Detection kinds: NMS suppresses boxes of one class overlapping more than this."},
                    "max_detections": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 300, "description": "Detection kinds."},
                    "top_k": {"type": "integer", "minimum": 1, "maximum": U32_MAX, "default": 5, "description": "Classification."},
                    "softmax": {"type": "boolean", "default": true, "description": "Classification: apply softmax to the output."}
                }
            }),
        ),
        (
            "rule",
            json!({
                "type": "object",
                "description": "detections → verdicts: NG when any rule fires, OK otherwise.",
                "required": ["rules"],
                "additionalProperties": false,
                "properties": {
                    "rules": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/rule_item"}},
                    "window": {"$ref": "#/$defs/window"}
                }
            }),
        ),
        (
            "rule_item",
            json!({
                "type": "object",
                "oneOf": [{"$ref": "#/$defs/rule_detected"}, {"$ref": "#/$defs/rule_count"}]
            }),
        ),
        (
            "rule_detected",
            json!({
                "type": "object",
                "description": "NG when a selected detection exists.",
                "required": ["kind", "id", "message"],
                "additionalProperties": false,
                "properties": {
                    "kind": tag("detected"),
                    "id": string("Unique within the rule node."),
                    "message": string("What operators read when the rule fires."),
                    "class": string("Class name to select (absent: every class)."),
                    "min_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "region": {"$ref": "#/$defs/region"},
                    "min_overlap": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "In the region = this fraction of the box's area inside it (absent: the box's centre inside it)."}
                }
            }),
        ),
        (
            "rule_count",
            json!({
                "type": "object",
                "description": "NG when the number of selected detections is not `equals`, or outside [min, max].",
                "required": ["kind", "id", "message"],
                "additionalProperties": false,
                "properties": {
                    "kind": tag("count"),
                    "id": string("Unique within the rule node."),
                    "message": string("What operators read when the rule fires."),
                    "class": string("Class name to select (absent: every class)."),
                    "min_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "region": {"$ref": "#/$defs/region"},
                    "min_overlap": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                    "equals": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "min": {"type": "integer", "minimum": 0, "maximum": U32_MAX},
                    "max": {"type": "integer", "minimum": 0, "maximum": U32_MAX}
                }
            }),
        ),
        (
            "region",
            json!({
                "type": "object",
                "description": "A rectangle or a polygon, in source pixels.",
                "additionalProperties": false,
                "properties": {
                    "rect": {"$ref": "#/$defs/box"},
                    "polygon": {"type": "array", "minItems": 3, "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}, "description": "Vertices [x, y] in order; edges must not cross."}
                },
                "oneOf": [{"required": ["rect"]}, {"required": ["polygon"]}]
            }),
        ),
        (
            "window",
            json!({
                "type": "object",
                "description": "Aggregation of frame verdicts over the last duration_ms of media time.",
                "required": ["duration_ms", "ng_frames"],
                "additionalProperties": false,
                "properties": {
                    "duration_ms": positive_ms("Window length."),
                    "ng_frames": {"type": "integer", "minimum": 1, "maximum": U32_MAX, "description": "The window is NG when at least this many of its frames are."}
                }
            }),
        ),
        (
            "sink",
            json!({
                "type": "object",
                "description": "Results out (takes verdicts or detections). At least one of jsonl, sqlite, snapshots.",
                "additionalProperties": false,
                "properties": {
                    "jsonl": string("File that gets one JSON object per frame."),
                    "sqlite": string("SQLite database file."),
                    "snapshots": {"$ref": "#/$defs/snapshots"}
                }
            }),
        ),
        (
            "snapshots",
            json!({
                "type": "object",
                "required": ["dir"],
                "additionalProperties": false,
                "properties": {
                    "dir": string("Directory for the JPEG snapshots."),
                    "when": {"enum": ["ng", "ok", "all"], "default": "ng"},
                    "max_per_minute": {"type": "integer", "minimum": 1, "maximum": U32_MAX}
                }
            }),
        ),
    ]
}

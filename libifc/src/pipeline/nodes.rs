//! The configuration of each node kind. Every field that has a sensible default is optional;
//! preprocessing fields left out are taken from the model's metadata at run time.
//!
//! Serde shapes (YAML shown; JSON is the same tree) are pinned by the published JSON Schema
//! (`schema/pipeline.schema.json`, see [`super::json_schema`]).

use crate::postprocess::{BoxXyxy, ClassificationParams, DetectionParams, NmsParams, YoloLayout};
use serde::{Deserialize, Serialize};

/// Where encoded video comes from. `{kind: rtsp, uri: "rtsp://cam3/stream1"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceNode {
    pub kind: SourceKind,
    /// A file path (`file`), an `rtsp://`/`rtsps://` URL (`rtsp`), or the stream name devices
    /// publish to over WHIP (`whip`).
    pub uri: String,
    /// Frame rate to assume instead of the stream's own (raw Annex B files carry none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    File,
    Rtsp,
    Whip,
}

/// Decoding encoded video into frames, once per stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodeNode {
    /// `auto` (default): NVDEC when a GPU is found, else libavcodec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<DecodeBackend>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeBackend {
    Auto,
    Software,
    Hardware,
}

/// Which frames go on to inference. `{mode: every_n, n: 2}`, `{mode: fps, fps: 5}`,
/// `{mode: keyframes}`, `{mode: on_change, threshold: 0.05}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum SampleNode {
    /// Every n-th decoded frame, starting with the first.
    EveryN { n: u32 },
    /// At most this many frames per second of media time.
    Fps { fps: f64 },
    /// Random-access pictures only.
    Keyframes,
    /// A frame whose mean absolute luma difference from the last sampled frame, as a fraction
    /// of full scale, is at least `threshold` (in (0, 1]).
    OnChange { threshold: f64 },
}

/// Frames into the model's input tensor. Every field is optional: absent ones come from the
/// model's metadata (input shape, layout, dtype) or the usual YOLO conventions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessNode {
    /// Model input size in pixels; set both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<ResizeMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpolation: Option<Interpolation>,
    /// Grey level of the letterbox padding (Ultralytics uses 114).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_value: Option<u8>,
    /// Only this part of the frame, in source pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roi: Option<BoxXyxy>,
    /// `(pixel · scale − mean) / std`, per channel in `colour_order`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<[f64; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<[f64; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour_order: Option<ColourOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<TensorLayout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<TensorDtype>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// Keep the aspect ratio, pad to the input size.
    Letterbox,
    /// Scale each axis to fit.
    Stretch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    Bilinear,
    /// Pixel-area averaging: better when shrinking a lot.
    Area,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourOrder {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorLayout {
    Nchw,
    Nhwc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TensorDtype {
    F32,
    F16,
    U8,
}

/// Running the model. `{backend: embedded, model: models/x.onnx}` or
/// `{backend: triton, url: "triton:8001", model_name: defect, shared_memory: true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum InferNode {
    /// The embedded ONNX runtime, in process.
    Embedded {
        /// Path of the ONNX model file.
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// Intra-op threads (default: the runtime's choice).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threads: Option<u32>,
    },
    /// A Triton Inference Server over gRPC.
    Triton {
        /// gRPC endpoint, `host:port`.
        url: String,
        model_name: String,
        /// Absent: the server's version policy (usually the latest).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_version: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect_timeout_ms: Option<u64>,
        /// Pass tensors through shared memory (system memory, or CUDA memory on the GPU
        /// path) instead of the gRPC message; Triton must run on the same machine.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shared_memory: Option<bool>,
    },
}

/// Model outputs into detections (or class scores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostprocessNode {
    pub kind: PostprocessKind,
    /// Which model output to read (default: the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Labels file path (plain lines, YAML/JSON list, or Ultralytics `names:`); absent: the
    /// model's metadata, else class ids as names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Detections and classes below this score are dropped, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_threshold: Option<f64>,
    /// Detection kinds: NMS IoU threshold, in (0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iou_threshold: Option<f64>,
    /// Detection kinds: at most this many detections per frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_detections: Option<u32>,
    /// Classification: how many classes to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Classification: apply softmax to the output (off for models that end in one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub softmax: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostprocessKind {
    Classification,
    Yolov5,
    Yolov8,
    /// A YOLO layout recognised from the output's shape.
    Auto,
}

impl PostprocessKind {
    pub fn is_detection(self) -> bool {
        self != Self::Classification
    }
}

impl PostprocessNode {
    /// The library parameters this node asks for (defaults where fields are absent).
    pub fn detection_params(&self) -> DetectionParams {
        let defaults = DetectionParams::default();
        let layout = match self.kind {
            PostprocessKind::Yolov5 => Some(YoloLayout::V5),
            PostprocessKind::Yolov8 => Some(YoloLayout::V8),
            PostprocessKind::Auto | PostprocessKind::Classification => None,
        };
        DetectionParams {
            layout,
            score_threshold: self.score_threshold.map_or(defaults.score_threshold, |t| t as f32),
            nms: NmsParams::new(
                self.iou_threshold.unwrap_or(defaults.nms.iou_threshold),
                self.max_detections.map_or(defaults.nms.max_detections, |m| m as usize),
            ),
            ..defaults
        }
    }

    pub fn classification_params(&self) -> ClassificationParams {
        let defaults = ClassificationParams::default();
        ClassificationParams {
            top_k: self.top_k.map_or(defaults.top_k, |k| k as usize),
            softmax: self.softmax.unwrap_or(defaults.softmax),
            score_threshold: self.score_threshold.map(|t| t as f32),
        }
    }
}

/// Where results go. At least one of the three.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkNode {
    /// One JSON object per frame appended to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jsonl: Option<String>,
    /// An SQLite database file (created when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<SnapshotSink>,
}

/// JPEG snapshots of frames, with their overlays, for the verdicts chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSink {
    pub dir: String,
    /// Which frame verdicts to snapshot (default `ng`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<SnapshotWhen>,
    /// A cap so a line stuck at NG does not fill the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotWhen {
    Ng,
    Ok,
    All,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postprocess_node_maps_to_library_params() {
        let node: PostprocessNode =
            serde_json::from_str(r#"{"kind": "yolov8", "score_threshold": 0.4, "iou_threshold": 0.5, "max_detections": 50}"#).unwrap();
        let p = node.detection_params();
        assert_eq!((p.layout, p.score_threshold, p.nms.iou_threshold, p.nms.max_detections), (Some(YoloLayout::V8), 0.4, 0.5, 50));
        let auto: PostprocessNode = serde_json::from_str(r#"{"kind": "auto"}"#).unwrap();
        assert_eq!(auto.detection_params(), DetectionParams::default());
        let cls: PostprocessNode = serde_json::from_str(r#"{"kind": "classification", "top_k": 3, "softmax": false}"#).unwrap();
        let c = cls.classification_params();
        assert_eq!((c.top_k, c.softmax), (3, false));
    }

    #[test]
    fn tagged_shapes() {
        let s: SampleNode = serde_json::from_str(r#"{"mode": "every_n", "n": 2}"#).unwrap();
        assert_eq!(s, SampleNode::EveryN { n: 2 });
        let k: SampleNode = serde_json::from_str(r#"{"mode": "keyframes"}"#).unwrap();
        assert_eq!(k, SampleNode::Keyframes);
        assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"mode":"keyframes"}"#);
        let i: InferNode = serde_json::from_str(r#"{"backend": "triton", "url": "t:8001", "model_name": "m", "shared_memory": true}"#).unwrap();
        assert!(matches!(i, InferNode::Triton { shared_memory: Some(true), .. }));
        let err = serde_json::from_str::<InferNode>(r#"{"backend": "embedded", "model": "m.onnx", "url": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `url`"), "{err}");
    }
}

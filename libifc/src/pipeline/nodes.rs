//! The configuration of each node kind. Every field that has a sensible default is optional;
//! preprocessing fields left out are taken from the model's metadata at run time.
//!
//! Serde shapes (YAML shown; JSON is the same tree) are pinned by the published JSON Schema
//! (`schema/pipeline.schema.json`, see [`super::json_schema`]).

use crate::postprocess::{ClassificationParams, DetectionParams, NmsParams, YoloLayout};
use crate::preprocess::{self as pre, PreprocessSpec};
use serde::{Deserialize, Serialize};

/// Where encoded video comes from. `{kind: rtsp, uri: "rtsp://cam3/stream1"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceNode {
    pub kind: SourceKind,
    /// A file path (`file`), an `rtsp://` URL (`rtsp`; `rtsps://` is refused: no TLS), or the stream name devices
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
    pub roi: Option<PixelRect>,
    /// YUV → RGB matrix; absent: the stream's VUI, else BT.601 below 720 lines, BT.709 above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour_matrix: Option<ColourMatrix>,
    /// Full-range (0–255) YUV; absent: the stream's VUI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_range: Option<bool>,
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

/// A rectangle of whole source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourMatrix {
    Bt601,
    Bt709,
    Bt2020,
}

impl From<ColourMatrix> for pre::ColourMatrix {
    fn from(m: ColourMatrix) -> Self {
        match m {
            ColourMatrix::Bt601 => pre::ColourMatrix::Bt601,
            ColourMatrix::Bt709 => pre::ColourMatrix::Bt709,
            ColourMatrix::Bt2020 => pre::ColourMatrix::Bt2020,
        }
    }
}

impl std::str::FromStr for ColourMatrix {
    type Err = String;

    /// The document's names (`bt601`, `bt709`, `bt2020`), for command lines.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "bt601" => Ok(Self::Bt601),
            "bt709" => Ok(Self::Bt709),
            "bt2020" => Ok(Self::Bt2020),
            _ => Err(format!("unknown colour matrix {s:?}: expected bt601, bt709 or bt2020")),
        }
    }
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

impl PreprocessNode {
    /// The preprocessing this node asks for: its fields over `model_defaults` (what the
    /// model's metadata says, or [`PreprocessSpec::default`]).
    pub fn spec(&self, model_defaults: PreprocessSpec) -> PreprocessSpec {
        let mut spec = model_defaults;
        if let (Some(w), Some(h)) = (self.width, self.height) {
            spec = spec.with_output_size(w, h);
        }
        if let Some(i) = self.interpolation {
            spec = spec.with_resize(match i {
                Interpolation::Bilinear => pre::Resize::Bilinear,
                Interpolation::Area => pre::Resize::Area,
            });
        }
        let pad = self.pad_value.map(|v| [v; 3]);
        spec.fit = match (self.resize, spec.fit) {
            (Some(ResizeMode::Stretch), _) => pre::Fit::Stretch,
            (Some(ResizeMode::Letterbox), pre::Fit::Stretch) => pre::Fit::Letterbox { pad: pad.unwrap_or([114; 3]) },
            (_, pre::Fit::Letterbox { pad: old }) => pre::Fit::Letterbox { pad: pad.unwrap_or(old) },
            (None, pre::Fit::Stretch) => pre::Fit::Stretch,
        };
        if let Some(r) = self.roi {
            spec = spec.with_roi(Some(pre::Rect::new(r.x, r.y, r.width, r.height)));
        }
        if let Some(m) = self.colour_matrix {
            spec = spec.with_matrix(Some(m.into()));
        }
        if self.full_range.is_some() {
            spec = spec.with_full_range(self.full_range);
        }
        // The document holds f64 (JSON numbers); the kernels take f32.
        let (scale, mean, std) = (spec.scale, spec.mean, spec.std);
        spec = spec.with_normalisation(
            self.scale.map_or(scale, |s| s as f32),
            self.mean.map_or(mean, |m| m.map(|v| v as f32)),
            self.std.map_or(std, |s| s.map(|v| v as f32)),
        );
        if let Some(o) = self.colour_order {
            spec = spec.with_order(match o {
                ColourOrder::Rgb => pre::ChannelOrder::Rgb,
                ColourOrder::Bgr => pre::ChannelOrder::Bgr,
            });
        }
        if let Some(l) = self.layout {
            spec = spec.with_layout(match l {
                TensorLayout::Nchw => pre::Layout::Nchw,
                TensorLayout::Nhwc => pre::Layout::Nhwc,
            });
        }
        if let Some(d) = self.dtype {
            spec = spec.with_dtype(match d {
                TensorDtype::F32 => pre::DType::F32,
                TensorDtype::F16 => pre::DType::F16,
                TensorDtype::U8 => pre::DType::U8,
            });
        }
        spec
    }
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
        /// Pass tensors through shared memory instead of the gRPC message; Triton must run on
        /// the same machine. `true`/`system`: a POSIX region; `cuda`: a device buffer Triton
        /// opens by CUDA IPC handle (the GPU path); `false`: in the message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shared_memory: Option<SharedMemory>,
    },
}

/// How tensors reach a Triton server on the same machine. In documents: `false` (or absent),
/// `true` or `system`, `cuda`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharedMemory {
    /// Tensors travel in the gRPC messages.
    #[default]
    Off,
    /// A POSIX shared-memory region registered with Triton.
    System,
    /// A device buffer registered with Triton as CUDA shared memory (its IPC handle); the GPU
    /// path's kernel writes the model input there.
    Cuda,
}

impl SharedMemory {
    /// `true` → System, `false` → Off (documents before `cuda` existed).
    pub fn from_flag(on: bool) -> Self {
        if on {
            Self::System
        } else {
            Self::Off
        }
    }

    pub fn is_on(self) -> bool {
        self != Self::Off
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::System => "system",
            Self::Cuda => "cuda",
        }
    }
}

impl std::str::FromStr for SharedMemory {
    type Err = String;

    /// The CLI's `--shared-memory` values: `system`, `cuda`, `off` (and `true`/`false`).
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "system" | "true" => Ok(Self::System),
            "cuda" => Ok(Self::Cuda),
            "off" | "false" | "none" => Ok(Self::Off),
            other => Err(format!("{other:?}: expected system, cuda or off")),
        }
    }
}

impl Serialize for SharedMemory {
    /// `false`, `true` (system, as documents always wrote it) or `"cuda"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Off => serializer.serialize_bool(false),
            Self::System => serializer.serialize_bool(true),
            Self::Cuda => serializer.serialize_str("cuda"),
        }
    }
}

impl<'de> Deserialize<'de> for SharedMemory {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SharedMemory;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false, \"system\" or \"cuda\"")
            }
            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<SharedMemory, E> {
                Ok(SharedMemory::from_flag(on))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SharedMemory, E> {
                match text {
                    "system" => Ok(SharedMemory::System),
                    "cuda" => Ok(SharedMemory::Cuda),
                    other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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
    /// `[1, classes]`: the top classes, each as a whole-frame detection
    /// ([`crate::postprocess::as_detections`]) so the same rules apply.
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

    fn triton_shm(value: &str) -> Result<Option<SharedMemory>, serde_json::Error> {
        let text = format!(r#"{{"backend": "triton", "url": "t:8001", "model_name": "m", "shared_memory": {value}}}"#);
        serde_json::from_str::<InferNode>(&text).map(|node| match node {
            InferNode::Triton { shared_memory, .. } => shared_memory,
            InferNode::Embedded { .. } => None,
        })
    }

    #[test]
    fn shared_memory_takes_the_old_booleans_and_the_new_names() {
        assert_eq!(triton_shm("true").unwrap(), Some(SharedMemory::System), "old documents stay valid");
        assert_eq!(triton_shm("false").unwrap(), Some(SharedMemory::Off));
        assert_eq!(triton_shm(r#""system""#).unwrap(), Some(SharedMemory::System));
        assert_eq!(triton_shm(r#""cuda""#).unwrap(), Some(SharedMemory::Cuda));
        let err = triton_shm(r#""gpu""#).unwrap_err().to_string();
        assert!(err.contains("gpu") && err.contains("cuda"), "{err}");
        assert!(triton_shm("1").is_err());
        let yaml: InferNode = serde_yaml_ng::from_str("{backend: triton, url: t, model_name: m, shared_memory: cuda}").unwrap();
        assert!(matches!(yaml, InferNode::Triton { shared_memory: Some(SharedMemory::Cuda), .. }));
    }

    #[test]
    fn shared_memory_round_trips_writing_system_as_true() {
        for (mode, json) in [(SharedMemory::Off, "false"), (SharedMemory::System, "true"), (SharedMemory::Cuda, r#""cuda""#)] {
            assert_eq!(serde_json::to_string(&mode).unwrap(), json);
            assert_eq!(serde_json::from_str::<SharedMemory>(json).unwrap(), mode);
        }
        assert_eq!("cuda".parse::<SharedMemory>(), Ok(SharedMemory::Cuda));
        assert_eq!("system".parse::<SharedMemory>(), Ok(SharedMemory::System));
        assert_eq!("off".parse::<SharedMemory>(), Ok(SharedMemory::Off));
        assert!("gpu".parse::<SharedMemory>().is_err());
    }

    #[test]
    fn postprocess_node_maps_to_library_params() {
        let node: PostprocessNode = serde_json::from_str(
            r#"{"kind": "yolov8", "score_threshold": 0.4, "iou_threshold": 0.5, "max_detections": 50}"#,
        )
        .unwrap();
        let p = node.detection_params();
        assert_eq!(
            (p.layout, p.score_threshold, p.nms.iou_threshold, p.nms.max_detections),
            (Some(YoloLayout::V8), 0.4, 0.5, 50)
        );
        let auto: PostprocessNode = serde_json::from_str(r#"{"kind": "auto"}"#).unwrap();
        assert_eq!(auto.detection_params(), DetectionParams::default());
        let cls: PostprocessNode =
            serde_json::from_str(r#"{"kind": "classification", "top_k": 3, "softmax": false}"#).unwrap();
        let c = cls.classification_params();
        assert_eq!((c.top_k, c.softmax), (3, false));
    }

    #[test]
    fn preprocess_node_overrides_model_defaults_field_by_field() {
        let node: PreprocessNode = serde_json::from_str(
            r#"{"width": 416, "height": 320, "resize": "letterbox", "pad_value": 0, "roi": {"x": 8, "y": 4, "width": 100, "height": 50},
                "colour_matrix": "bt709", "full_range": true, "mean": [0.5, 0.5, 0.5], "colour_order": "bgr", "layout": "nhwc", "dtype": "u8"}"#,
        )
        .unwrap();
        let spec = node.spec(PreprocessSpec::default());
        assert_eq!((spec.out_width, spec.out_height), (416, 320));
        assert_eq!(spec.fit, pre::Fit::Letterbox { pad: [0; 3] });
        assert_eq!(spec.roi, Some(pre::Rect::new(8, 4, 100, 50)));
        assert_eq!((spec.matrix, spec.full_range), (Some(pre::ColourMatrix::Bt709), Some(true)));
        assert_eq!(
            (spec.scale, spec.mean, spec.std),
            (1.0 / 255.0, [0.5; 3], [1.0; 3]),
            "scale and std keep the defaults"
        );
        assert_eq!((spec.order, spec.layout, spec.dtype), (pre::ChannelOrder::Bgr, pre::Layout::Nhwc, pre::DType::U8));
        // An empty node changes nothing; width alone is ignored (validation reports it).
        assert_eq!(PreprocessNode::default().spec(PreprocessSpec::default()), PreprocessSpec::default());
        let stretch =
            PreprocessNode { resize: Some(ResizeMode::Stretch), width: Some(10), ..PreprocessNode::default() };
        let spec = stretch.spec(PreprocessSpec::default());
        assert_eq!((spec.fit, spec.out_width), (pre::Fit::Stretch, 640));
    }

    #[test]
    fn tagged_shapes() {
        let s: SampleNode = serde_json::from_str(r#"{"mode": "every_n", "n": 2}"#).unwrap();
        assert_eq!(s, SampleNode::EveryN { n: 2 });
        let k: SampleNode = serde_json::from_str(r#"{"mode": "keyframes"}"#).unwrap();
        assert_eq!(k, SampleNode::Keyframes);
        assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"mode":"keyframes"}"#);
        let i: InferNode =
            serde_json::from_str(r#"{"backend": "triton", "url": "t:8001", "model_name": "m", "shared_memory": true}"#)
                .unwrap();
        assert!(matches!(i, InferNode::Triton { shared_memory: Some(SharedMemory::System), .. }));
        let err =
            serde_json::from_str::<InferNode>(r#"{"backend": "embedded", "model": "m.onnx", "url": "x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `url`"), "{err}");
    }
}

//! From a validated pipeline document to what the runner needs: the one chain
//! source → decode → (sample) → preprocess → infer → postprocess → (rule) → sinks, and, once
//! the model is open, the preprocessing its input takes ([`RunPlan::bind_model`]).
//!
//! Preprocessing settings default from the model's input (size, layout, element type); a
//! document that sets one differently from what the model takes is refused with an error
//! naming the node and field, rather than feeding the model a tensor it will misread.

use crate::decode::{BackendPreference, SamplingRule};
use crate::infer::{ElementType, ModelMetadata, TensorInfo};
use crate::pipeline::{
    DecodeBackend, InferNode, NodeKind, PipelineDocument, PostprocessNode, PreprocessNode, SampleNode, SinkNode,
    SourceNode, TensorDtype, TensorLayout, ValidationError,
};
use crate::preprocess::{DType, Layout, PreprocessSpec};
use crate::verdict::RuleSet;

/// A node's settings and where it sits in the document (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed<T> {
    pub index: usize,
    pub id: String,
    pub node: T,
}

impl<T> Placed<T> {
    fn error(&self, field: &str, message: impl Into<String>) -> ValidationError {
        ValidationError::node(self.index, Some(&self.id), field, message)
    }
}

/// The chain `ifc run` executes, read from a document.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPlan {
    pub source: Placed<SourceNode>,
    pub decode_backend: BackendPreference,
    pub sampling: SamplingRule,
    pub preprocess: Placed<PreprocessNode>,
    pub infer: Placed<InferNode>,
    pub postprocess: Placed<PostprocessNode>,
    /// No rule node: every inferred frame is OK.
    pub rules: Option<Placed<RuleSet>>,
    pub sinks: Vec<Placed<SinkNode>>,
}

/// What the model takes, resolved against the document.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBinding {
    pub input_index: usize,
    pub spec: PreprocessSpec,
    /// The output postprocessing reads.
    pub output_name: String,
}

fn placed<T: Clone>(index: usize, id: &str, node: &T) -> Placed<T> {
    Placed { index, id: id.to_owned(), node: node.clone() }
}

impl RunPlan {
    /// Validates `doc` and picks out its chain. Every problem is reported, each naming its node
    /// and field.
    pub fn from_document(doc: &PipelineDocument) -> Result<Self, Vec<ValidationError>> {
        doc.validate()?;
        let mut errors = Vec::new();
        let (mut source, mut decode, mut sample, mut preprocess) = (None, None, None, None);
        let (mut infer, mut postprocess, mut rules, mut sinks) = (None, None, None, Vec::new());
        for (i, node) in doc.nodes.iter().enumerate() {
            let once = |slot_taken: bool, errors: &mut Vec<ValidationError>| {
                if slot_taken {
                    errors.push(ValidationError::node(
                        i,
                        Some(&node.id),
                        node.kind.key(),
                        format!("ifc run executes one chain: a second {} node is not supported", node.kind.key()),
                    ));
                }
            };
            match &node.kind {
                NodeKind::Source(s) => {
                    once(source.is_some(), &mut errors);
                    source.get_or_insert(placed(i, &node.id, s));
                }
                NodeKind::Decode(d) => {
                    once(decode.is_some(), &mut errors);
                    decode.get_or_insert(placed(i, &node.id, d));
                }
                NodeKind::Sample(s) => {
                    once(sample.is_some(), &mut errors);
                    sample.get_or_insert(placed(i, &node.id, s));
                }
                NodeKind::Preprocess(p) => {
                    once(preprocess.is_some(), &mut errors);
                    preprocess.get_or_insert(placed(i, &node.id, p));
                }
                NodeKind::Infer(n) => {
                    once(infer.is_some(), &mut errors);
                    infer.get_or_insert(placed(i, &node.id, n));
                }
                NodeKind::Postprocess(p) => {
                    once(postprocess.is_some(), &mut errors);
                    postprocess.get_or_insert(placed(i, &node.id, p));
                }
                NodeKind::Rule(r) => {
                    once(rules.is_some(), &mut errors);
                    rules.get_or_insert(placed(i, &node.id, r));
                }
                NodeKind::Sink(s) => sinks.push(placed(i, &node.id, s)),
            }
        }
        let missing = |kind: &str| ValidationError::document("nodes", format!("ifc run needs a {kind} node"));
        for (present, kind) in [
            (source.is_some(), "source"),
            (decode.is_some(), "decode"),
            (preprocess.is_some(), "preprocess"),
            (infer.is_some(), "infer"),
            (postprocess.is_some(), "postprocess"),
            (!sinks.is_empty(), "sink"),
        ] {
            if !present {
                errors.push(missing(kind));
            }
        }
        // A sample node off the path to preprocessing would silently sample nothing.
        if let (Some(s), Some(p)) = (&sample, &preprocess) {
            if doc.nodes.get(p.index).is_some_and(|n| !n.inputs.contains(&s.id)) {
                errors.push(s.error("", format!("is not an input of the preprocess node {:?}", p.id)));
            }
        }
        let sampling = match sample.as_ref().map(|s| &s.node) {
            None => SamplingRule::Every(1),
            Some(SampleNode::EveryN { n }) => SamplingRule::Every(*n),
            Some(SampleNode::Fps { fps }) => SamplingRule::TargetFps(*fps),
            Some(SampleNode::Keyframes) => SamplingRule::KeyframesOnly,
            // The document's threshold is a fraction of full scale; the sampler's is 0–255.
            Some(SampleNode::OnChange { threshold }) => SamplingRule::OnChange { threshold: threshold * 255.0 },
        };
        if let Some(s) = &sample {
            if let Err(e) = crate::decode::Sampler::new(sampling) {
                errors.push(s.error("sample", e.reason));
            }
        }
        let decode_backend = match decode.as_ref().and_then(|d| d.node.backend) {
            None | Some(DecodeBackend::Auto) => BackendPreference::Auto,
            Some(DecodeBackend::Software) => BackendPreference::PreferSoftware,
            Some(DecodeBackend::Hardware) => BackendPreference::PreferHardware,
        };
        match (source, preprocess, infer, postprocess) {
            (Some(source), Some(preprocess), Some(infer), Some(postprocess)) if errors.is_empty() => {
                Ok(Self { source, decode_backend, sampling, preprocess, infer, postprocess, rules, sinks })
            }
            _ => Err(errors),
        }
    }

    /// Resolves preprocessing against the model's input and checks the two agree; names the
    /// postprocess output. Errors name the node and field at fault.
    pub fn bind_model(&self, model: &ModelMetadata) -> Result<ModelBinding, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let input = match model.inputs.as_slice() {
            [input] => Some(input),
            inputs => {
                errors.push(self.infer.error(
                    "",
                    format!(
                        "model {:?} has {} inputs; ifc run feeds exactly one image input",
                        model.name,
                        inputs.len()
                    ),
                ));
                None
            }
        };
        let spec = input.and_then(|input| match image_input(input) {
            Ok(shape) => Some(self.spec_for(input, &shape, &mut errors)),
            Err(message) => {
                errors.push(self.infer.error("", format!("model {:?}: input {:?} {message}", model.name, input.name)));
                None
            }
        });
        let output_name = match (&self.postprocess.node.output, model.outputs.first()) {
            (Some(name), _) if model.outputs.iter().any(|o| &o.name == name) => Some(name.clone()),
            (Some(name), _) => {
                let names: Vec<&str> = model.outputs.iter().map(|o| o.name.as_str()).collect();
                errors.push(self.postprocess.error(
                    "postprocess.output",
                    format!("model {:?} has no output {name:?} (it has {names:?})", model.name),
                ));
                None
            }
            (None, Some(first)) => Some(first.name.clone()),
            (None, None) => {
                errors.push(self.infer.error("", format!("model {:?} has no outputs", model.name)));
                None
            }
        };
        match (spec, output_name) {
            (Some(spec), Some(output_name)) if errors.is_empty() => {
                Ok(ModelBinding { input_index: 0, spec, output_name })
            }
            _ => Err(errors),
        }
    }

    fn spec_for(&self, input: &TensorInfo, shape: &ImageInput, errors: &mut Vec<ValidationError>) -> PreprocessSpec {
        let node = &self.preprocess.node;
        let defaults = PreprocessSpec::default();
        let (w, h) = (shape.width.unwrap_or(defaults.out_width), shape.height.unwrap_or(defaults.out_height));
        let model_defaults = defaults.with_output_size(w, h).with_layout(shape.layout).with_dtype(shape.dtype);
        let spec = node.spec(model_defaults);
        let name = &input.name;
        let dims = format!("{:?}", input.shape);
        let mut mismatch = |field: &str, message: String| errors.push(self.preprocess.error(field, message));
        if let Some(d) = node.dtype {
            let asked = match d {
                TensorDtype::F32 => DType::F32,
                TensorDtype::F16 => DType::F16,
                TensorDtype::U8 => DType::U8,
            };
            if asked != shape.dtype {
                mismatch("preprocess.dtype", format!("{asked:?} but model input {name:?} takes {}", input.dtype));
            }
        }
        if let Some(l) = node.layout {
            let asked = match l {
                TensorLayout::Nchw => Layout::Nchw,
                TensorLayout::Nhwc => Layout::Nhwc,
            };
            if asked != shape.layout {
                mismatch(
                    "preprocess.layout",
                    format!("{asked:?} but model input {name:?} is {:?} {dims}", shape.layout),
                );
            }
        }
        if let (Some(asked), Some(model)) = (node.width, shape.width) {
            if asked != model {
                mismatch("preprocess.width", format!("{asked} but model input {name:?} {dims} is {model} wide"));
            }
        }
        if let (Some(asked), Some(model)) = (node.height, shape.height) {
            if asked != model {
                mismatch("preprocess.height", format!("{asked} but model input {name:?} {dims} is {model} high"));
            }
        }
        spec
    }
}

/// An image input as the model declares it; `None` sizes are dynamic.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ImageInput {
    layout: Layout,
    dtype: DType,
    width: Option<u32>,
    height: Option<u32>,
}

/// Reads `[N, 3, H, W]` (NCHW) or `[N, H, W, 3]` (NHWC) of f32, f16 or u8.
fn image_input(input: &TensorInfo) -> Result<ImageInput, String> {
    let dtype = match input.dtype {
        ElementType::F32 => DType::F32,
        ElementType::F16 => DType::F16,
        ElementType::U8 => DType::U8,
        other => return Err(format!("has element type {other}; preprocessing writes f32, f16 or u8")),
    };
    let dim = |d: i64| u32::try_from(d).ok().filter(|&d| d > 0);
    let (layout, h, w) = match input.shape.as_slice() {
        [_, 3, h, w] => (Layout::Nchw, *h, *w),
        [_, h, w, 3] => (Layout::Nhwc, *h, *w),
        _ => return Err(format!("has shape {:?}; expected an image [N, 3, H, W] or [N, H, W, 3]", input.shape)),
    };
    Ok(ImageInput { layout, dtype, width: dim(w), height: dim(h) })
}

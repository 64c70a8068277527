//! The embedded ONNX runtime: [`EmbeddedOnnx`] runs a model in-process on the CPU with
//! tract (pure Rust; nothing to install, nothing downloaded).
//!
//! # What is copied per run
//!
//! - **Inputs: nothing.** Each input is a tract [`Tensor`] that this backend owns, one per
//!   batch size; [`InferBackend::input_buffer`] lends its bytes, preprocessing writes there,
//!   and [`InferBackend::run`] hands tract a reference-counted handle to the same tensor
//!   (`TValue::Const(Arc<Tensor>)`). tract drops its handles when the run ends, so the next
//!   `input_buffer` finds the tensor unshared again; were a handle ever kept, `Arc::make_mut`
//!   would copy the tensor once rather than write under tract's feet.
//! - **Outputs: one copy each**, into [`Output::data`] (converted to f32 on the way when the
//!   model's output is of another type): the trait returns owned `Vec<f32>`s, and outputs
//!   are small next to inputs (the demo detector's is 77 KB against its 4.9 MB input).
//!
//! # Plans
//!
//! tract optimises a model for concrete shapes, so each batch size gets its own optimised
//! plan and input tensors, built on first use and kept (at most `max_batch` of them).

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use tract_onnx::prelude::{
    DatumType, Framework, InferenceFact, InferenceModel, InferenceModelExt, IntoRunnable, TValue, Tensor, TypedFact,
    TypedRunnableModel,
};

use super::{ElementType, InferBackend, InferError, ModelMetadata, Output, TensorInfo};

#[cfg(test)]
mod clip_tests;
#[cfg(test)]
mod tests;

/// The largest input tensor (for a batch of `max_batch`) a model may ask for: 1 GiB, far above
/// any camera model (a batch of 16 at 1280×1280 f32 is 315 MB).
pub const MAX_INPUT_BYTES: usize = 1 << 30;

/// An ONNX model on the embedded runtime.
pub struct EmbeddedOnnx {
    /// The parsed graph, kept to optimise it for each new batch size.
    model: InferenceModel,
    metadata: ModelMetadata,
    /// Each input's shape without its batch dimension, and the batch dimension when the model
    /// fixes it (`None`: symbolic, any batch up to `max_batch`).
    input_dims: Vec<(Option<usize>, Vec<usize>)>,
    max_batch: usize,
    plans: HashMap<usize, BatchPlan>,
}

/// A model optimised for one batch size, with its input tensors.
struct BatchPlan {
    runnable: Arc<TypedRunnableModel>,
    inputs: Vec<Arc<Tensor>>,
}

impl EmbeddedOnnx {
    /// Reads and parses an ONNX file. `max_batch` bounds the batches [`InferBackend::run`]
    /// takes; a model whose batch dimension is fixed takes exactly that batch.
    pub fn load(path: &Path, max_batch: usize) -> Result<Self, InferError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| InferError::Load { model: file.clone(), reason: e.to_string() })?;
        let name = path.file_stem().map_or_else(|| file.clone(), |s| s.to_string_lossy().into_owned());
        Self::parse(&bytes, name, &file, max_batch)
    }

    /// Parses an ONNX model held in memory; `name` names it in metadata and errors.
    pub fn from_bytes(name: &str, bytes: &[u8], max_batch: usize) -> Result<Self, InferError> {
        Self::parse(bytes, name.to_owned(), name, max_batch)
    }

    fn parse(bytes: &[u8], name: String, file: &str, max_batch: usize) -> Result<Self, InferError> {
        let load_error = |reason: String| InferError::Load { model: file.to_owned(), reason };
        if max_batch == 0 {
            return Err(load_error("max_batch must be at least 1".into()));
        }
        // tract returns errors for the malformed files we know of; a panic deep in a graph
        // analysis must still not take the caller down with it.
        let parsed = catch_unwind(AssertUnwindSafe(|| -> tract_onnx::prelude::TractResult<_> {
            let model = tract_onnx::onnx().model_for_read(&mut Cursor::new(bytes))?;
            let typed = model.clone().into_typed()?;
            Ok((model, typed))
        }));
        let (model, typed) = match parsed {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(e)) => return Err(load_error(format!("{e:#}"))),
            Err(_) => return Err(load_error("the ONNX parser panicked on this file".into())),
        };

        let mut inputs = Vec::new();
        for outlet in typed.input_outlets().map_err(|e| load_error(format!("{e:#}")))? {
            let tensor_name = typed.node(outlet.node).name.clone();
            let fact = typed.outlet_fact(*outlet).map_err(|e| load_error(format!("{e:#}")))?;
            let info = tensor_info(tensor_name.clone(), fact).map_err(|reason| InferError::Input {
                model: name.clone(),
                input: tensor_name,
                reason,
            })?;
            inputs.push(info);
        }
        let mut outputs = Vec::new();
        for outlet in typed.output_outlets().map_err(|e| load_error(format!("{e:#}")))? {
            let tensor_name = typed.outlet_label(*outlet).unwrap_or(&typed.node(outlet.node).name).to_owned();
            let fact = typed.outlet_fact(*outlet).map_err(|e| load_error(format!("{e:#}")))?;
            outputs.push(
                tensor_info(tensor_name.clone(), fact)
                    .map_err(|r| load_error(format!("output {tensor_name:?}: {r}")))?,
            );
        }

        let input_dims = inputs
            .iter()
            .map(|info| {
                batch_and_image_dims(info).map_err(|reason| InferError::Input {
                    model: name.clone(),
                    input: info.name.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A fixed batch dimension is the only batch the model takes.
        let max_batch = input_dims.iter().filter_map(|(fixed, _)| *fixed).min().unwrap_or(max_batch);
        for ((_, image_dims), info) in input_dims.iter().zip(&inputs) {
            // The shapes come from the file: refuse before allocating what a bad one asks for.
            let batch_bytes = info.dtype.size_bytes().saturating_mul(max_batch);
            let bytes = image_dims.iter().try_fold(batch_bytes, |n, &d| n.checked_mul(d));
            if bytes.is_none_or(|n| n > MAX_INPUT_BYTES) {
                return Err(InferError::Input {
                    model: name,
                    input: info.name.clone(),
                    reason: format!(
                        "{:?} × a batch of {max_batch} is over the {MAX_INPUT_BYTES}-byte limit",
                        info.shape
                    ),
                });
            }
        }
        Ok(Self {
            model,
            metadata: ModelMetadata { name, inputs, outputs },
            input_dims,
            max_batch,
            plans: HashMap::new(),
        })
    }

    fn check_batch(&self, batch: usize) -> Result<(), InferError> {
        let model = || self.metadata.name.clone();
        if batch > self.max_batch {
            return Err(InferError::BatchTooLarge { model: model(), batch, max: self.max_batch });
        }
        for ((fixed, _), info) in self.input_dims.iter().zip(&self.metadata.inputs) {
            if batch == 0 || fixed.is_some_and(|d| d != batch) {
                let takes = fixed.map_or_else(|| format!("1 to {}", self.max_batch), |d| d.to_string());
                return Err(InferError::Input {
                    model: model(),
                    input: info.name.clone(),
                    reason: format!("a batch of {batch}, but the model takes a batch of {takes}"),
                });
            }
        }
        Ok(())
    }

    /// The plan for `batch`, optimised on first use.
    fn plan(&mut self, batch: usize) -> Result<&mut BatchPlan, InferError> {
        self.check_batch(batch)?;
        if !self.plans.contains_key(&batch) {
            let plan = self.build_plan(batch)?;
            self.plans.insert(batch, plan);
        }
        let model = &self.metadata.name;
        self.plans
            .get_mut(&batch)
            .ok_or_else(|| InferError::Run { model: model.clone(), reason: "the plan cache lost a plan".into() })
    }

    fn build_plan(&self, batch: usize) -> Result<BatchPlan, InferError> {
        let mut model = self.model.clone();
        let mut inputs = Vec::with_capacity(self.input_dims.len());
        for (index, ((_, image_dims), info)) in self.input_dims.iter().zip(&self.metadata.inputs).enumerate() {
            let shape: Vec<usize> = std::iter::once(batch).chain(image_dims.iter().copied()).collect();
            let datum = datum_type(info.dtype);
            model
                .set_input_fact(index, InferenceFact::dt_shape(datum, &*shape))
                .map_err(|e| self.run_error(format!("{e:#}")))?;
            let tensor = Tensor::zero_dt(datum, &shape).map_err(|e| InferError::Input {
                model: self.metadata.name.clone(),
                input: info.name.clone(),
                reason: format!("cannot allocate {shape:?}: {e:#}"),
            })?;
            inputs.push(Arc::new(tensor));
        }
        let optimised = catch_unwind(AssertUnwindSafe(|| model.into_optimized()?.into_runnable()));
        let runnable = match optimised {
            Ok(Ok(runnable)) => runnable,
            Ok(Err(e)) => return Err(self.run_error(format!("optimising for a batch of {batch}: {e:#}"))),
            Err(_) => return Err(self.run_error(format!("optimising for a batch of {batch} panicked"))),
        };
        Ok(BatchPlan { runnable, inputs })
    }

    fn run_error(&self, reason: String) -> InferError {
        InferError::Run { model: self.metadata.name.clone(), reason }
    }
}

impl InferBackend for EmbeddedOnnx {
    fn metadata(&self) -> &ModelMetadata {
        &self.metadata
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn input_buffer(&mut self, index: usize, batch: usize) -> Result<&mut [u8], InferError> {
        let model = self.metadata.name.clone();
        let count = self.metadata.inputs.len();
        let plan = self.plan(batch)?;
        let tensor = plan.inputs.get_mut(index).ok_or_else(|| InferError::Input {
            model,
            input: index.to_string(),
            reason: format!("no such input (the model has {count})"),
        })?;
        // Unshared after every run (see the module docs), so this copies nothing.
        Ok(Arc::make_mut(tensor).as_bytes_mut())
    }

    fn run(&mut self, batch: usize) -> Result<Vec<Output>, InferError> {
        let plan = self.plan(batch)?;
        let inputs = plan.inputs.iter().map(|t| TValue::from_const(Arc::clone(t))).collect();
        let runnable = Arc::clone(&plan.runnable);
        let results = match catch_unwind(AssertUnwindSafe(|| runnable.run(inputs))) {
            Ok(Ok(results)) => results,
            Ok(Err(e)) => return Err(self.run_error(format!("{e:#}"))),
            Err(_) => return Err(self.run_error("the runtime panicked".into())),
        };
        results
            .iter()
            .zip(&self.metadata.outputs)
            .map(|(value, info)| {
                let as_f32 = value
                    .cast_to::<f32>()
                    .and_then(|t| Ok(t.to_plain_array_view::<f32>()?.iter().copied().collect::<Vec<f32>>()))
                    .map_err(|e| self.run_error(format!("output {:?}: {e:#}", info.name)))?;
                Ok(Output { name: info.name.clone(), shape: value.shape().to_vec(), data: as_f32 })
            })
            .collect()
    }

    fn backend_name(&self) -> &'static str {
        "embedded-onnx"
    }
}

/// Name, element type and shape (-1 for a symbolic dimension) of a typed tensor.
fn tensor_info(name: String, fact: &TypedFact) -> Result<TensorInfo, String> {
    let dtype = element_type(fact.datum_type).ok_or_else(|| {
        format!("element type {:?} is not supported (f32, f16, u8, i8, i32, i64, bool are)", fact.datum_type)
    })?;
    let shape = fact.shape.iter().map(|d| d.to_i64().unwrap_or(-1)).collect();
    Ok(TensorInfo { name, dtype, shape })
}

/// Splits an input's shape into its batch dimension (`None` when symbolic) and the rest,
/// which must be fixed: the buffer preprocessing writes has one size per batch.
fn batch_and_image_dims(info: &TensorInfo) -> Result<(Option<usize>, Vec<usize>), String> {
    let (&batch, image) = info.shape.split_first().ok_or("a scalar input has no batch dimension")?;
    let image = image
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            usize::try_from(d).map_err(|_| {
                format!("dimension {} of {:?} is symbolic; only the batch dimension (0) may be", i + 1, info.shape)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let fixed = usize::try_from(batch).ok();
    if fixed == Some(0) {
        return Err("a fixed batch of 0".into());
    }
    Ok((fixed, image))
}

fn element_type(datum: DatumType) -> Option<ElementType> {
    Some(match datum {
        DatumType::F32 => ElementType::F32,
        DatumType::F16 => ElementType::F16,
        DatumType::U8 => ElementType::U8,
        DatumType::I8 => ElementType::I8,
        DatumType::I32 => ElementType::I32,
        DatumType::I64 => ElementType::I64,
        DatumType::Bool => ElementType::Bool,
        _ => return None,
    })
}

fn datum_type(element: ElementType) -> DatumType {
    match element {
        ElementType::F32 => DatumType::F32,
        ElementType::F16 => DatumType::F16,
        ElementType::U8 => DatumType::U8,
        ElementType::I8 => DatumType::I8,
        ElementType::I32 => DatumType::I32,
        ElementType::I64 => DatumType::I64,
        ElementType::Bool => DatumType::Bool,
    }
}

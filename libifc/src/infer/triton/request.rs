//! Building ModelInferRequest messages and decoding ModelInferResponse outputs.

use std::collections::HashMap;

use bytes::Bytes;

use super::datatype::{decode_to_f32, element_type_from_triton, triton_datatype};
use super::proto::infer_parameter::ParameterChoice;
use super::proto::model_infer_request::{InferInputTensor, InferRequestedOutputTensor};
use super::proto::{InferParameter, ModelInferResponse};
use crate::infer::{ElementType, InferError, Output, TensorInfo};

/// Where a tensor lies in a registered shared-memory region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShmPlacement {
    pub region: String,
    pub offset: usize,
    pub byte_size: usize,
}

impl ShmPlacement {
    /// Triton's shared-memory parameters (system shared memory extension).
    pub(crate) fn parameters(&self) -> HashMap<String, InferParameter> {
        let int = |v: usize| InferParameter {
            parameter_choice: Some(ParameterChoice::Int64Param(i64::try_from(v).unwrap_or(i64::MAX))),
        };
        HashMap::from([
            (
                "shared_memory_region".to_owned(),
                InferParameter { parameter_choice: Some(ParameterChoice::StringParam(self.region.clone())) },
            ),
            ("shared_memory_offset".to_owned(), int(self.offset)),
            ("shared_memory_byte_size".to_owned(), int(self.byte_size)),
        ])
    }
}

/// One model tensor as the backend lays it out: its per-image shape and size.
#[derive(Debug, Clone)]
pub(crate) struct TensorLayout {
    pub name: String,
    pub dtype: ElementType,
    /// Shape of one batch item (without the batch dimension when the model batches).
    pub item_shape: Vec<i64>,
    /// Bytes of one batch item; `None` when a dimension is dynamic.
    pub item_bytes: Option<usize>,
}

impl TensorLayout {
    /// From metadata: `batched` drops the leading (batch) dimension.
    pub fn new(info: &TensorInfo, batched: bool) -> Self {
        let item_shape: Vec<i64> =
            if batched { info.shape.iter().skip(1).copied().collect() } else { info.shape.clone() };
        let item_bytes = item_shape
            .iter()
            .try_fold(info.dtype.size_bytes(), |acc, &d| usize::try_from(d).ok().and_then(|d| acc.checked_mul(d)));
        Self { name: info.name.clone(), dtype: info.dtype, item_shape, item_bytes }
    }

    pub fn request_shape(&self, batch: usize, batched: bool) -> Vec<i64> {
        let mut shape = Vec::with_capacity(self.item_shape.len() + 1);
        if batched {
            shape.push(i64::try_from(batch).unwrap_or(i64::MAX));
        }
        shape.extend_from_slice(&self.item_shape);
        shape
    }
}

pub(crate) fn input_tensor(
    layout: &TensorLayout,
    batch: usize,
    batched: bool,
    shm: Option<&ShmPlacement>,
) -> InferInputTensor {
    InferInputTensor {
        name: layout.name.clone(),
        datatype: triton_datatype(layout.dtype).to_owned(),
        shape: layout.request_shape(batch, batched),
        parameters: shm.map(ShmPlacement::parameters).unwrap_or_default(),
        contents: None,
    }
}

pub(crate) fn requested_output(name: &str, shm: Option<&ShmPlacement>) -> InferRequestedOutputTensor {
    InferRequestedOutputTensor {
        name: name.to_owned(),
        parameters: shm.map(ShmPlacement::parameters).unwrap_or_default(),
    }
}

/// The outputs of `response`: from `raw_output_contents`, or, for an output placed in shared
/// memory, from `shm_bytes(name, byte_len)`.
pub(crate) fn decode_outputs<'a>(
    model: &str,
    response: &ModelInferResponse,
    shm_bytes: impl Fn(&str, usize) -> Option<&'a [u8]>,
) -> Result<Vec<Output>, InferError> {
    let bad = |output: &str, reason: String| InferError::Run {
        model: model.to_owned(),
        reason: format!("output {output:?}: {reason}"),
    };
    let mut outputs = Vec::with_capacity(response.outputs.len());
    for (index, tensor) in response.outputs.iter().enumerate() {
        let dtype = element_type_from_triton(&tensor.datatype)
            .ok_or_else(|| bad(&tensor.name, format!("datatype {} is not supported", tensor.datatype)))?;
        let shape = tensor
            .shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<Vec<usize>, _>>()
            .map_err(|_| bad(&tensor.name, format!("negative dimension in shape {:?}", tensor.shape)))?;
        let byte_len = shape
            .iter()
            .try_fold(dtype.size_bytes(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(&tensor.name, format!("shape {shape:?} overflows")))?;
        let raw: &[u8] = match response.raw_output_contents.get(index) {
            Some(raw) if !raw.is_empty() || byte_len == 0 => raw,
            _ => shm_bytes(&tensor.name, byte_len)
                .ok_or_else(|| bad(&tensor.name, format!(
                    "no raw contents ({} in the response) and no shared-memory room for {byte_len} bytes; parameters {:?}",
                    response.raw_output_contents.len(),
                    tensor.parameters
                )))?,
        };
        if raw.len() != byte_len {
            return Err(bad(&tensor.name, format!("{} bytes for shape {shape:?} ({byte_len} expected)", raw.len())));
        }
        let data = decode_to_f32(dtype, raw).ok_or_else(|| bad(&tensor.name, "partial element".to_owned()))?;
        outputs.push(Output { name: tensor.name.clone(), shape, data });
    }
    Ok(outputs)
}

/// Raw input bytes for `raw_input_contents` (the copy the non-shm path pays).
pub(crate) fn raw_contents(buffer: &[u8]) -> Bytes {
    Bytes::copy_from_slice(buffer)
}

#[cfg(test)]
mod tests {
    use super::super::proto::model_infer_response::InferOutputTensor;
    use super::*;

    fn response(shape: Vec<i64>, raw: Vec<Bytes>) -> ModelInferResponse {
        ModelInferResponse {
            outputs: vec![InferOutputTensor {
                name: "scores".into(),
                datatype: "FP32".into(),
                shape,
                ..Default::default()
            }],
            raw_output_contents: raw,
            ..Default::default()
        }
    }

    #[test]
    fn outputs_decode_from_raw_or_shared_memory() {
        let raw: Bytes = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>().into();
        let decoded = decode_outputs("m", &response(vec![1, 2], vec![raw.clone()]), |_, _| None).expect("raw");
        assert_eq!(decoded[0].data, vec![1.0, 2.0]);
        assert_eq!(decoded[0].shape, vec![1, 2]);
        let region = raw.to_vec();
        let from_shm = decode_outputs("m", &response(vec![2], vec![]), |_, len| region.get(..len)).expect("shm");
        assert_eq!(from_shm[0].data, vec![1.0, 2.0]);
    }

    #[test]
    fn hostile_output_shapes_are_errors_not_panics() {
        let raw = Bytes::from_static(&[0; 8]);
        for shape in [vec![-1, 2], vec![i64::MAX, i64::MAX], vec![3]] {
            let result = decode_outputs("m", &response(shape.clone(), vec![raw.clone()]), |_, _| None);
            assert!(matches!(result, Err(InferError::Run { .. })), "shape {shape:?}");
        }
        // Truncated raw contents.
        let short = decode_outputs("m", &response(vec![2], vec![Bytes::from_static(&[0; 7])]), |_, _| None);
        assert!(short.is_err());
    }

    #[test]
    fn shm_parameters_carry_region_offset_and_size() {
        let placement = ShmPlacement { region: "ifc-x".into(), offset: 64, byte_size: 12 };
        let tensor = input_tensor(
            &TensorLayout { name: "images".into(), dtype: ElementType::F32, item_shape: vec![3], item_bytes: Some(12) },
            1,
            true,
            Some(&placement),
        );
        assert_eq!(tensor.shape, vec![1, 3]);
        assert_eq!(tensor.parameters["shared_memory_offset"].parameter_choice, Some(ParameterChoice::Int64Param(64)));
        assert_eq!(
            tensor.parameters["shared_memory_region"].parameter_choice,
            Some(ParameterChoice::StringParam("ifc-x".into()))
        );
    }
}

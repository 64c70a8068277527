//! [`SharedMemory::Cuda`](super::SharedMemory::Cuda) mode of [`TritonBackend`]: the model's one
//! input lives in the slots of a [`CudaShmRegion`] registered with the server by IPC handle.
//!
//! The GPU path writes a slot on the device ([`TritonBackend::acquire_slot`] →
//! `gpu::FrameStage::offer` into [`TritonBackend::cuda_region`]'s buffer at
//! [`TritonBackend::slot_batch_index`] → wait → [`TritonBackend::run_slot`]): no tensor byte
//! crosses the host. The host API ([`InferBackend::input_buffer`] then `run`) still works for
//! CPU preprocessing: the batch is staged in host memory and copied to a slot once (one counted
//! host→device copy per request).

use super::super::proto::ModelInferResponse;
use super::super::request::{decode_outputs, TensorLayout};
use super::super::{CudaShmRegion, ReadySlot, Slot, SlotInput};
use super::{TensorIo, TritonBackend};
use crate::gpu::Device;
use crate::infer::{InferError, Output};

pub(super) struct CudaIo {
    pub region: CudaShmRegion,
    /// The host API's batch, copied to a slot by `run`.
    pub staging: Vec<u8>,
    layout: TensorLayout,
}

impl CudaIo {
    pub fn create(
        device: &Device,
        model: &str,
        inputs: &[TensorLayout],
        max_batch: usize,
        slots: usize,
    ) -> Result<Self, InferError> {
        let load = |reason: String| InferError::Load { model: model.to_owned(), reason };
        let [layout] = inputs else {
            return Err(load(format!("CUDA shared memory takes a model with one input, this one has {}", inputs.len())));
        };
        let slot_bytes = slot_bytes(layout, max_batch).ok_or_else(|| load("input size overflows".to_owned()))?;
        let region = CudaShmRegion::create(device, slot_bytes, slots.max(1))
            .map_err(|e| load(format!("creating the CUDA shared-memory region: {e}")))?;
        Ok(Self { region, staging: Vec::new(), layout: layout.clone() })
    }
}

/// Bytes of one slot: `max_batch` items of the input.
pub(super) fn slot_bytes(layout: &TensorLayout, max_batch: usize) -> Option<usize> {
    layout.item_bytes?.checked_mul(max_batch.max(1)).filter(|&n| n > 0)
}

/// Image `image` of slot `slot` as a batch index of the whole region buffer (what
/// `GpuPreprocessor::run` and `FrameStage::offer` take), slots holding `max_batch` images.
pub fn slot_batch_index(slot: usize, max_batch: usize, image: usize) -> Option<usize> {
    (image < max_batch).then_some(())?;
    slot.checked_mul(max_batch)?.checked_add(image)
}

impl TritonBackend {
    fn cuda(&self) -> Result<&CudaIo, InferError> {
        match &self.io {
            TensorIo::Cuda(io) => Ok(io),
            _ => Err(InferError::Run {
                model: self.options.model_name.clone(),
                reason: "not in CUDA shared-memory mode (shared_memory: cuda)".to_owned(),
            }),
        }
    }

    /// The registered region (its buffer is where the GPU path writes), in CUDA mode.
    pub fn cuda_region(&self) -> Option<&CudaShmRegion> {
        self.cuda().ok().map(|io| &io.region)
    }

    /// A slot to fill; an error while every slot waits for its response.
    pub fn acquire_slot(&self) -> Result<Slot, InferError> {
        let io = self.cuda()?;
        io.region.acquire().ok_or_else(|| InferError::Run {
            model: self.options.model_name.clone(),
            reason: "every CUDA shared-memory slot is in flight".to_owned(),
        })
    }

    /// Batch index of image `image` of `slot` in the region's buffer.
    pub fn slot_batch_index(&self, slot: &Slot, image: usize) -> Result<usize, InferError> {
        slot_batch_index(slot.index(), self.max_batch, image).ok_or_else(|| InferError::BatchTooLarge {
            model: self.options.model_name.clone(),
            batch: image + 1,
            max: self.max_batch,
        })
    }

    /// Infers the `batch` images of a slot whose kernels have finished. The request carries
    /// only the region, offset and size; the slot returns to the ring when the response (or
    /// the error) has arrived.
    pub fn run_slot(&mut self, slot: ReadySlot, batch: usize) -> Result<Vec<Output>, InferError> {
        self.check_batch(batch)?;
        let io = self.cuda()?;
        let shape = io.layout.request_shape(batch, self.batched);
        let input = SlotInput { name: &io.layout.name, dtype: io.layout.dtype, shape: &shape };
        let (request, in_flight) = io.region.infer_request(&self.options.model_name, &input, slot)?;
        self.request_bytes_sent += u64::try_from(prost::Message::encoded_len(&request)).unwrap_or(u64::MAX);
        let response: Result<ModelInferResponse, InferError> = self.runtime.block_on(self.client.infer(request));
        in_flight.response_arrived();
        decode_outputs(&self.options.model_name, &response?, |_, _| None)
    }

    /// The host API in CUDA mode: the staged batch goes to a free slot in one counted copy.
    pub(super) fn run_staged(&mut self, batch: usize) -> Result<Vec<Output>, InferError> {
        let model = self.options.model_name.clone();
        let len = match self.inputs.first() {
            Some(layout) => self.batch_bytes(layout, batch),
            None => return Err(InferError::Run { model, reason: "the model has no input".into() }),
        };
        let slot = self.acquire_slot()?;
        let io = match &mut self.io {
            TensorIo::Cuda(io) => io,
            _ => return Err(InferError::Run { model, reason: "not in CUDA mode".into() }),
        };
        let bytes = io.staging.get(..len).ok_or_else(|| InferError::Input {
            model: model.clone(),
            input: io.layout.name.clone(),
            reason: "input_buffer not filled for this batch".to_owned(),
        })?;
        let offset = io.region.slot_offset(slot.index());
        let copied = io.region.copy_from_host(offset, bytes);
        let ready = slot
            .ready_after(|| copied)
            .map_err(|(_, e)| InferError::Run { model, reason: format!("staging the batch on the device: {e}") })?;
        self.run_slot(ready, batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{ElementType, TensorInfo};

    #[test]
    fn slots_hold_max_batch_images_and_index_the_whole_buffer() {
        let info = TensorInfo { name: "images".into(), dtype: ElementType::F16, shape: vec![-1, 3, 640, 640] };
        let layout = TensorLayout::new(&info, true);
        assert_eq!(slot_bytes(&layout, 4), Some(4 * 3 * 640 * 640 * 2));
        assert_eq!(slot_batch_index(0, 4, 0), Some(0));
        assert_eq!(slot_batch_index(2, 4, 3), Some(11));
        assert_eq!(slot_batch_index(1, 4, 4), None, "image past the slot's batch");
        let dynamic = TensorLayout::new(&TensorInfo { shape: vec![-1, 3, -1, -1], ..info }, true);
        assert_eq!(slot_bytes(&dynamic, 4), None, "dynamic shapes cannot be placed");
    }
}

//! [`CudaShmRegion`]: a device buffer registered once with Triton as CUDA shared memory (its
//! IPC handle), split into slots of one batch each; preprocessing writes a slot on the GPU and
//! the request names the region, the slot's offset and the byte size, carrying no tensor
//! bytes. Requests are built only from a [`ReadySlot`] (the kernel has finished), and a slot
//! returns to the ring only when its response has arrived ([`super::slots`]).

use bytes::Bytes;

use super::proto::{self, model_infer_request::InferInputTensor};
use super::request::ShmPlacement;
use super::slots::{InFlightSlot, ReadySlot, Slot, SlotRing};
use super::{triton_datatype, TritonClient};
use crate::gpu::{Device, DeviceBuffer, GpuError, IpcMemHandle};
use crate::infer::{ElementType, InferError};

/// The device side of one region: the buffer (plain `cuMemAlloc`, exportable by IPC) and its
/// handle.
#[derive(Debug)]
pub struct CudaShmRegion {
    name: String,
    buffer: DeviceBuffer,
    handle: IpcMemHandle,
    slot_bytes: usize,
    ring: SlotRing,
}

/// One input of a request placed in a slot.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotInput<'a> {
    pub name: &'a str,
    pub dtype: ElementType,
    /// Full request shape (batch dimension included when the model batches).
    pub shape: &'a [i64],
}

impl CudaShmRegion {
    /// `slots` slots of `slot_bytes` each on `device`, with an unguessable region name.
    pub fn create(device: &Device, slot_bytes: usize, slots: usize) -> Result<Self, GpuError> {
        let len = slot_bytes
            .checked_mul(slots)
            .filter(|&n| n > 0)
            .ok_or_else(|| GpuError::Buffer { what: format!("{slots} slots of {slot_bytes} B: empty or too large") })?;
        let buffer = DeviceBuffer::alloc(device, len)?;
        let handle = buffer.ipc_handle()?;
        let name =
            format!("ifc-cuda-{}", super::shm::random_hex_128().map_err(|e| GpuError::Buffer { what: e.to_string() })?);
        Ok(Self { name, buffer, handle, slot_bytes, ring: SlotRing::new(slots) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn buffer(&self) -> &DeviceBuffer {
        &self.buffer
    }

    pub fn slot_bytes(&self) -> usize {
        self.slot_bytes
    }

    /// Byte offset of a slot in the buffer (where preprocessing writes its batch). With
    /// `slot_bytes = max_batch × image bytes`, image `b` of slot `s` is batch index
    /// `s × max_batch + b` of the whole buffer for `GpuPreprocessor::run`.
    pub fn slot_offset(&self, index: usize) -> usize {
        index * self.slot_bytes
    }

    /// Copies host bytes into the buffer at `offset` (the host API's staged batch; one counted
    /// host→device copy). The GPU path never calls this.
    pub fn copy_from_host(&mut self, offset: usize, src: &[u8]) -> Result<(), GpuError> {
        self.buffer.copy_from_host(offset, src)
    }

    /// A free slot, or `None` while every slot waits for its response.
    pub fn acquire(&self) -> Option<Slot> {
        self.ring.acquire()
    }

    /// The registration message: raw IPC handle bytes, device and the whole buffer's size.
    pub fn register_message(&self) -> proto::CudaSharedMemoryRegisterRequest {
        register_message(&self.name, &self.handle, self.buffer.device_ordinal(), self.buffer.len_bytes())
    }

    /// Registers the region with the server (once; requests then refer to it by name).
    pub async fn register(&self, client: &TritonClient) -> Result<(), InferError> {
        let m = self.register_message();
        client.register_cuda_shm(&m.name, m.raw_handle, m.device_id, m.byte_size).await
    }

    /// The request for `input` in `slot`: no tensor bytes, only region, offset and size.
    pub fn infer_request(
        &self,
        model_name: &str,
        input: &SlotInput<'_>,
        slot: ReadySlot,
    ) -> Result<(proto::ModelInferRequest, InFlightSlot), InferError> {
        slot_request(&self.name, self.slot_bytes, model_name, input, slot)
    }
}

pub(crate) fn register_message(
    name: &str,
    handle: &IpcMemHandle,
    device: usize,
    byte_size: usize,
) -> proto::CudaSharedMemoryRegisterRequest {
    proto::CudaSharedMemoryRegisterRequest {
        name: name.to_owned(),
        raw_handle: Bytes::copy_from_slice(&handle.0),
        device_id: i64::try_from(device).unwrap_or(i64::MAX),
        byte_size: byte_size as u64,
    }
}

/// Builds the request for a ready slot of `region` (slots of `slot_bytes`).
pub(crate) fn slot_request(
    region: &str,
    slot_bytes: usize,
    model_name: &str,
    input: &SlotInput<'_>,
    slot: ReadySlot,
) -> Result<(proto::ModelInferRequest, InFlightSlot), InferError> {
    let bad = |reason: String| InferError::Run { model: model_name.to_owned(), reason };
    let byte_size = input
        .shape
        .iter()
        .try_fold(input.dtype.size_bytes(), |acc, &d| usize::try_from(d).ok().and_then(|d| acc.checked_mul(d)))
        .ok_or_else(|| bad(format!("input {:?}: shape {:?} is negative or overflows", input.name, input.shape)))?;
    if byte_size > slot_bytes {
        return Err(bad(format!("input {:?}: {byte_size} B do not fit a {slot_bytes} B slot", input.name)));
    }
    let place = ShmPlacement { region: region.to_owned(), offset: slot.index() * slot_bytes, byte_size };
    let tensor = InferInputTensor {
        name: input.name.to_owned(),
        datatype: triton_datatype(input.dtype).to_owned(),
        shape: input.shape.to_vec(),
        parameters: place.parameters(),
        contents: None,
    };
    let request = proto::ModelInferRequest {
        model_name: model_name.to_owned(),
        inputs: vec![tensor],
        // No bytes travel: the server reads the slot through the registered IPC handle.
        raw_input_contents: Vec::new(),
        ..Default::default()
    };
    Ok((request, slot.send()))
}

#[cfg(test)]
mod tests {
    use super::super::proto::infer_parameter::ParameterChoice;
    use super::*;

    fn int(request: &proto::ModelInferRequest, key: &str) -> Option<i64> {
        match request.inputs[0].parameters.get(key)?.parameter_choice {
            Some(ParameterChoice::Int64Param(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn request_names_the_region_slot_offset_and_size_and_carries_no_bytes() {
        let ring = SlotRing::new(3);
        let _first = ring.acquire();
        let slot = ring.acquire().expect("free").ready_after(|| Ok::<(), ()>(())).expect("ready");
        let shape = [2, 3, 640, 640];
        let input = SlotInput { name: "images", dtype: ElementType::F16, shape: &shape };
        let slot_bytes = 4 * 3 * 640 * 640 * 2;
        let (request, in_flight) = slot_request("ifc-cuda-x", slot_bytes, "yolo", &input, slot).expect("fits");
        assert_eq!(in_flight.index(), 1);
        assert!(request.raw_input_contents.is_empty());
        assert!(request.inputs[0].contents.is_none());
        assert_eq!(request.inputs[0].datatype, "FP16");
        assert_eq!(request.inputs[0].shape, shape);
        let region = &request.inputs[0].parameters["shared_memory_region"].parameter_choice;
        assert_eq!(region, &Some(ParameterChoice::StringParam("ifc-cuda-x".to_owned())));
        assert_eq!(int(&request, "shared_memory_offset"), Some(slot_bytes as i64));
        assert_eq!(int(&request, "shared_memory_byte_size"), Some(2 * 3 * 640 * 640 * 2));
        assert_eq!(ring.taken(), 2, "the slot stays taken until the response arrives");
        in_flight.response_arrived();
        assert_eq!(ring.taken(), 1);
    }

    #[test]
    fn an_input_larger_than_a_slot_is_an_error_and_frees_nothing_it_does_not_own() {
        let ring = SlotRing::new(1);
        let slot = ring.acquire().expect("free").ready_after(|| Ok::<(), ()>(())).expect("ready");
        let shape = [1, 3, 64, 64];
        let input = SlotInput { name: "x", dtype: ElementType::F32, shape: &shape };
        let err = slot_request("r", 100, "m", &input, slot).expect_err("too large");
        assert!(err.to_string().contains("do not fit a 100 B slot"), "{err}");
        // The slot was consumed by the failed call and so went back to the ring.
        assert_eq!(ring.taken(), 0);
    }

    #[test]
    fn registration_carries_the_raw_handle_device_and_size() {
        let mut raw = [0u8; 64];
        raw.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let m = register_message("ifc-cuda-y", &IpcMemHandle(raw), 5, 1 << 20);
        assert_eq!((m.name.as_str(), m.device_id, m.byte_size), ("ifc-cuda-y", 5, 1 << 20));
        assert_eq!(&m.raw_handle[..], &raw[..]);
    }
}

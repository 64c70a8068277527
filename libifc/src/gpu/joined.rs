//! The joined GPU path: a decoded [`Frame`] → the sampler → the preprocessing kernel → one
//! image of a batch in a device buffer (a slot of a [`CudaShmRegion`] that Triton reads by IPC
//! handle, or a device tensor handed over by DLPack).
//!
//! The sampler decides before anything touches the pixels: a frame it drops is dropped here
//! as it came, so an NVDEC surface is unmapped without a read or a copy. A kept NVDEC frame is
//! read in place by the kernel (no host copy); a kept host frame (CPU decode on a machine with
//! a GPU) is uploaded once. [`StageCounts`] records each route and the host↔device copies the
//! stage made, for a run's summary ("host copies per frame: 0").
//!
//! [`CudaShmRegion`]: crate::infer::triton::CudaShmRegion

use serde::Serialize;

use crate::decode::{Frame, Sampler};
use crate::preprocess::{Geometry, PreprocessSpec};

use super::buffer::DeviceBuffer;
use super::device::Device;
use super::error::GpuError;
use super::frame::UploadedFrame;
use super::preprocess::{GpuPreprocessor, PreprocessDone};

/// What happens to one offered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The sampler dropped it: released untouched (an NVDEC surface is unmapped unread).
    Dropped,
    /// An NVDEC surface read in place by the kernel: no copy.
    InPlace,
    /// A host frame copied to the device once, then preprocessed there.
    Upload,
}

/// Decides a frame's route. Pure: the sampler sees only the frame's metadata (and, for
/// `OnChange`, a luma thumbnail of host frames; device frames have none and are kept).
pub fn route(sampler: &mut Sampler, frame: &Frame) -> Route {
    if !sampler.accept_frame(frame) {
        Route::Dropped
    } else if frame.is_on_device() {
        Route::InPlace
    } else {
        Route::Upload
    }
}

/// Per-stage counters; serialisable into a run's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StageCounts {
    pub frames_offered: u64,
    /// Dropped by the sampler before any read or copy.
    pub frames_dropped_untouched: u64,
    /// NVDEC surfaces preprocessed where they lie.
    pub frames_in_place: u64,
    /// Host frames uploaded once.
    pub frames_uploaded: u64,
    /// Host→device copies this stage made for frames (one per upload). The taps tables,
    /// uploaded once per frame shape, are not frame copies and not counted here.
    pub host_to_device_copies: u64,
    /// Device→host copies this stage made (none: the output stays on the device).
    pub device_to_host_copies: u64,
}

impl StageCounts {
    pub fn record(&mut self, route: Route) {
        self.frames_offered += 1;
        match route {
            Route::Dropped => self.frames_dropped_untouched += 1,
            Route::InPlace => self.frames_in_place += 1,
            Route::Upload => {
                self.frames_uploaded += 1;
                self.host_to_device_copies += 1;
            }
        }
    }

    /// Host↔device copies per preprocessed frame (0 on the NVDEC path).
    pub fn host_copies_per_frame(&self) -> f64 {
        let kept = self.frames_in_place + self.frames_uploaded;
        if kept == 0 {
            return 0.0;
        }
        (self.host_to_device_copies + self.device_to_host_copies) as f64 / kept as f64
    }
}

/// A frame whose kernel is queued: holds the frame (its surface stays mapped, or its upload
/// alive) until the kernel has finished. [`Pending::wait`] before the output is read; dropping
/// it unwaited waits too, so memory the kernel reads is never released under it.
#[derive(Debug)]
#[must_use = "the output is ready only after wait()"]
pub struct Pending {
    done: Option<PreprocessDone>,
    geometry: Geometry,
    _frame: Frame,
    _upload: Option<UploadedFrame>,
}

impl Pending {
    /// Where the frame landed in the model input (to map boxes back to source pixels).
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Blocks until the kernel has finished, then releases the frame (unmapping its surface).
    pub fn wait(mut self) -> Result<Geometry, GpuError> {
        if let Some(done) = self.done.take() {
            done.wait()?;
        }
        Ok(self.geometry)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            if let Err(e) = done.wait() {
                tracing::warn!(target: "ifc::gpu", error = %e, "waiting for a preprocessing kernel before releasing its frame");
            }
        }
    }
}

/// The joined path on one device for one preprocessing spec.
#[derive(Debug)]
pub struct FrameStage {
    device: Device,
    preprocessor: GpuPreprocessor,
    counts: StageCounts,
}

impl FrameStage {
    /// Compiles (once per device) and loads the kernel.
    pub fn new(device: &Device, spec: PreprocessSpec) -> Result<Self, GpuError> {
        Ok(Self { device: device.clone(), preprocessor: GpuPreprocessor::new(device, spec)?, counts: StageCounts::default() })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn spec(&self) -> &PreprocessSpec {
        self.preprocessor.spec()
    }

    pub fn counts(&self) -> StageCounts {
        self.counts
    }

    /// Offers a decoded frame: the sampler decides first; `Ok(None)` means dropped untouched.
    /// A kept frame is preprocessed into image `batch_index` of `out` (for a CUDA shared-memory
    /// slot `s` of `max_batch` images: `s × max_batch + b`), asynchronously on the device's
    /// stream, ordered after the NVDEC mapping.
    pub fn offer(
        &mut self,
        frame: Frame,
        sampler: &mut Sampler,
        out: &DeviceBuffer,
        batch_index: usize,
    ) -> Result<Option<Pending>, GpuError> {
        let route = route(sampler, &frame);
        let (geometry, upload) = match route {
            Route::Dropped => {
                self.counts.record(route);
                drop(frame);
                return Ok(None);
            }
            Route::InPlace => {
                let Some(decoded) = frame.device() else {
                    return Err(GpuError::Buffer { what: "a device frame without its surface".into() });
                };
                self.device.wait_for_stream(decoded.stream())?;
                let Some(view) = frame.gpu_view() else {
                    return Err(GpuError::Buffer { what: "a device frame without its surface".into() });
                };
                (self.preprocessor.run(&view, out, batch_index)?, None)
            }
            Route::Upload => {
                let view = frame.view()?;
                let uploaded = UploadedFrame::upload(&self.device, &view)?;
                let geometry = self.preprocessor.run(&uploaded.view(), out, batch_index)?;
                (geometry, Some(uploaded))
            }
        };
        self.counts.record(route);
        let done = self.preprocessor.done()?;
        Ok(Some(Pending { done: Some(done), geometry, _frame: frame, _upload: upload }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{FramePixelFormat, SamplingRule};

    fn host_frame(index: u64) -> Frame {
        let (w, h) = (4u32, 4u32);
        let mut frame = Frame::from_planes(
            w,
            h,
            FramePixelFormat::Yuv420p,
            vec![(vec![16; 16], 4), (vec![128; 4], 2), (vec![128; 4], 2)],
        )
        .expect("valid planes");
        frame.pts_90k = Some(i64::try_from(index).unwrap_or(0) * 3600);
        frame.display_index = index;
        frame
    }

    #[test]
    fn the_sampler_decides_before_any_copy_and_the_counts_say_so() {
        let mut sampler = Sampler::new(SamplingRule::Every(3)).expect("valid rule");
        let mut counts = StageCounts::default();
        let routes: Vec<Route> = (0..7).map(|i| route(&mut sampler, &host_frame(i))).collect();
        routes.iter().for_each(|&r| counts.record(r));
        assert_eq!(
            routes,
            [Route::Upload, Route::Dropped, Route::Dropped, Route::Upload, Route::Dropped, Route::Dropped, Route::Upload]
        );
        assert_eq!(counts.frames_offered, 7);
        assert_eq!(counts.frames_dropped_untouched, 4, "dropped frames are never uploaded");
        assert_eq!((counts.frames_uploaded, counts.host_to_device_copies), (3, 3));
        assert_eq!(counts.host_copies_per_frame(), 1.0, "CPU decode: one upload per kept frame");
    }

    #[test]
    fn the_nvdec_route_counts_no_host_copy() {
        let mut counts = StageCounts::default();
        for route in [Route::InPlace, Route::Dropped, Route::InPlace] {
            counts.record(route);
        }
        assert_eq!(counts.host_copies_per_frame(), 0.0);
        assert_eq!((counts.frames_in_place, counts.frames_dropped_untouched), (2, 1));
        let json = serde_json::to_value(counts).expect("serialises");
        assert_eq!(json["host_to_device_copies"], 0);
        assert_eq!(StageCounts::default().host_copies_per_frame(), 0.0, "no frame, no division by zero");
    }
}

//! A live RTSP stream behind ``ifc.VideoDecoder``: frames in arrival order, for iteration
//! only (a camera cannot seek). Reading the network and decoding happen in `__next__`
//! without the GIL; TCP flow control holds the camera back while Python is busy. Waits run
//! in steps of [`SIGNAL_CHECK_INTERVAL`], between which Python's signal handlers run (Ctrl-C
//! is `KeyboardInterrupt`, not a hang until the camera's timeout).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ifc::codec::DecoderConfig;
use ifc::decode::{open_decoder, BackendPreference, Decoder, DecoderOptions, Frame};
use ifc::live::LiveVideo;
use ifc::remux::LiveItem;
use ifc::rtsp::{Polled, RtspError, RtspOptions, UrlError};
use pyo3::prelude::*;

use crate::errors::{error, Kind};
use crate::frame::{FrameTiming, PyFrame};

/// A playing session and its decoder.
pub struct LiveState {
    video: LiveVideo,
    decoder: Box<dyn Decoder>,
    ended: bool,
    flushed: bool,
    frames: usize,
}

/// Shared by a live decoder and its iterators; `None` once closed.
pub type SharedLive = Arc<Mutex<Option<LiveState>>>;

/// Which exception an RTSP failure becomes: a URL this build cannot read is unsupported,
/// everything else (refused, unauthorized, not found, timed out) is about the source.
pub fn rtsp_failure(e: RtspError) -> (Kind, String) {
    let kind = match &e {
        RtspError::Url(UrlError::Unsupported { .. }) | RtspError::Unsupported { .. } => Kind::Unsupported,
        _ => Kind::Source,
    };
    (kind, e.to_string())
}

/// The longest a wait for the camera runs before Python's signal handlers get to run.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Runs Python's signal handlers (takes the GIL for the moment): `Err` when one raised,
/// e.g. `KeyboardInterrupt` after Ctrl-C.
fn check_signals() -> PyResult<()> {
    Python::attach(|py| py.check_signals())
}

fn rtsp_error(e: RtspError) -> PyErr {
    let (kind, message) = rtsp_failure(e);
    error(kind, message)
}

/// Plays `url` until its first decodable picture's configuration (call without the GIL).
/// `timeout`: for connecting, each read, each request's response, and the first picture.
pub fn open_live(
    url: &str,
    timeout: Duration,
    threads: usize,
    backend: BackendPreference,
) -> PyResult<(LiveState, DecoderConfig, Option<f64>)> {
    let rtsp = RtspOptions::default()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .response_timeout(timeout)
        .picture_timeout(timeout);
    let mut video = LiveVideo::open(url, rtsp).map_err(rtsp_error)?;
    let framerate = video.media().framerate;
    let config = loop {
        match video.poll_item(Instant::now() + SIGNAL_CHECK_INTERVAL).map_err(rtsp_error)? {
            Polled::Ready(LiveItem::Config(config)) => break config,
            // A packet always follows its configuration.
            Polled::Ready(LiveItem::Packet(_)) => continue,
            Polled::Pending => check_signals()?,
            Polled::Ended => {
                let message = format!("the stream ended before a decodable picture ({:?})", video.stats().source);
                return Err(error(Kind::Source, message));
            }
        }
    };
    let options = DecoderOptions::from_config(config.clone()).with_threads(threads).with_backend(backend);
    let decoder = open_decoder(options).map_err(|e| error(Kind::Decode, e.to_string()))?;
    Ok((LiveState { video, decoder, ended: false, flushed: false, frames: 0 }, config, framerate))
}

impl LiveState {
    /// The next picture in display order, `None` when the server ended the stream (call
    /// without the GIL). A decoder error (damage in or around a packet) is raised as
    /// `ifc.DecodeError`; the stream stays usable and the next call goes on after it.
    pub fn next_frame(&mut self) -> PyResult<Option<(Frame, usize)>> {
        loop {
            if let Some(frame) = self.decoder.pull().map_err(|e| error(Kind::Decode, e.to_string()))? {
                self.frames += 1;
                return Ok(Some((frame, self.frames - 1)));
            }
            if self.ended {
                if self.flushed {
                    return Ok(None);
                }
                self.flushed = true;
                self.decoder.flush().map_err(|e| error(Kind::Decode, e.to_string()))?;
                continue;
            }
            match self.video.poll_item(Instant::now() + SIGNAL_CHECK_INTERVAL).map_err(rtsp_error)? {
                // Later configurations travel in-band in their packets too.
                Polled::Ready(LiveItem::Config(_)) => {}
                Polled::Ready(LiveItem::Packet(packet)) => {
                    self.decoder.push(packet).map_err(|e| error(Kind::Decode, e.to_string()))?;
                }
                Polled::Pending => check_signals()?,
                Polled::Ended => self.ended = true,
            }
        }
    }
}

/// Frames of a live stream as they arrive (Python: the iterator of a live ``VideoDecoder``).
#[pyclass(module = "ifc._ifc", name = "LiveFrameIterator", frozen)]
pub struct LiveFrameIterator {
    pub live: SharedLive,
    /// Seconds per frame from the stream's rate, NaN when unknown.
    pub frame_seconds: f64,
}

#[pymethods]
impl LiveFrameIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyFrame>> {
        let next = py.detach(|| -> PyResult<Option<(Frame, usize)>> {
            let mut guard = self.live.lock().map_err(|_| error(Kind::Source, "the stream failed in another thread"))?;
            let state = guard.as_mut().ok_or_else(|| error(Kind::Source, "the live stream was closed"))?;
            state.next_frame()
        })?;
        Ok(next.map(|(frame, index)| {
            let timing = live_timing(&frame, index, self.frame_seconds);
            PyFrame::new(frame, timing)
        }))
    }
}

/// A live frame's place: arrival order, camera time from the first picture.
pub fn live_timing(frame: &Frame, index: usize, frame_seconds: f64) -> FrameTiming {
    let pts_seconds = frame.pts_90k.map_or(f64::NAN, |p| p as f64 / 90_000.0);
    FrameTiming { index, pts_seconds, duration_seconds: frame_seconds }
}

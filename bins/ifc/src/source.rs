//! Runs an input through libifc's sources, with a progress bar, handing each item on.

use anyhow::{Context, Result};
use bytes::Bytes;
use ifc::codec::FrameRate;
use ifc::remux::{mp4_source, RawSource, RawSourceStats, SourceItem};

use crate::input::InputKind;
use crate::progress;

/// What the caller learns besides the items.
pub struct SourceRun {
    /// Ticks per second of the samples' timestamps.
    pub timescale: u32,
    /// For raw input: what was skipped.
    pub raw_stats: Option<RawSourceStats>,
}

/// Feeds every configuration and sample of the input to `on_item(item, timescale)`.
pub fn run_source(
    kind: InputKind,
    data: Bytes,
    fps: Option<FrameRate>,
    quiet: bool,
    mut on_item: impl FnMut(SourceItem, u32) -> Result<()>,
) -> Result<SourceRun> {
    match kind {
        InputKind::Mp4 => {
            let source = mp4_source(data).context("reading MP4")?;
            let bar = progress::bar(source.samples.len() as u64, "frames", quiet);
            on_item(SourceItem::Config(source.config), source.timescale)?;
            for sample in source.samples {
                on_item(SourceItem::Sample(sample), source.timescale)?;
                bar.inc(1);
            }
            bar.finish_and_clear();
            Ok(SourceRun { timescale: source.timescale, raw_stats: None })
        }
        InputKind::Raw(codec) => {
            const CHUNK_BYTES: usize = 4 << 20;
            let bar = progress::bar(data.len() as u64, "bytes", quiet);
            let mut raw = RawSource::new(codec, fps);
            let mut forward = |raw: &mut RawSource| -> Result<()> {
                while let Some(item) = raw.pull() {
                    let item = item.context("reading the raw stream")?;
                    let timescale = raw.timing().map_or(90_000, |t| t.timescale);
                    on_item(item, timescale)?;
                }
                Ok(())
            };
            let mut offset = 0;
            while offset < data.len() {
                let end = (offset + CHUNK_BYTES).min(data.len());
                raw.push(data.slice(offset..end));
                forward(&mut raw)?;
                bar.set_position(end as u64);
                offset = end;
            }
            raw.flush();
            forward(&mut raw)?;
            bar.finish_and_clear();
            let timescale = raw.timing().map_or(90_000, |t| t.timescale);
            Ok(SourceRun { timescale, raw_stats: Some(raw.stats().clone()) })
        }
    }
}

/// Why a raw stream gave nothing to work on, in words.
pub fn nothing_decodable(path: &std::path::Path, run: &SourceRun) -> anyhow::Error {
    match &run.raw_stats {
        Some(s) if s.access_units == 0 => anyhow::anyhow!(
            "{}: no decodable video: no access units found (no start codes, or only {} malformed NAL units)",
            path.display(),
            s.nal_errors
        ),
        Some(s) => anyhow::anyhow!(
            "{}: no decodable video: {} access units, none decodable: no sps/pps before a random-access point \
             ({} before the first random-access point, {} without usable parameter sets, {} malformed NAL units)",
            path.display(),
            s.access_units,
            s.dropped_before_random_access,
            s.dropped_undecodable,
            s.nal_errors
        ),
        None => anyhow::anyhow!("{}: no decodable video found", path.display()),
    }
}

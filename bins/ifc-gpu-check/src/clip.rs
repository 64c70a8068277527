//! Reads a clip (MP4, or raw Annex B .h264/.h265) into the decoder's configuration and its
//! packets in decode order, with ifc's own demuxers (no FFmpeg on the GPU machine).

use std::path::Path;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use ifc::codec::{Codec, DecoderConfig};
use ifc::decode::EncodedPacket;
use ifc::remux::{mp4_source, RawSource, SourceItem};

pub struct Clip {
    pub config: DecoderConfig,
    pub packets: Vec<EncodedPacket>,
}

fn to_90k(t: i64, timescale: u32) -> i64 {
    (i128::from(t) * 90_000 / i128::from(timescale.max(1))) as i64
}

pub fn read(path: &Path) -> Result<Clip> {
    let data = Bytes::from(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    let raw_codec = match ext {
        "h264" | "264" => Some(Codec::H264),
        "h265" | "265" | "hevc" => Some(Codec::H265),
        _ => None,
    };
    let Some(codec) = raw_codec else {
        let source = mp4_source(data).with_context(|| format!("demuxing {}", path.display()))?;
        let packets = source
            .samples
            .iter()
            .map(|s| EncodedPacket::new(s.data.clone(), Some(to_90k(s.pts(), source.timescale)), s.is_sync))
            .collect();
        return Ok(Clip { config: source.config, packets });
    };
    let mut raw = RawSource::new(codec, None);
    raw.push(data);
    raw.flush();
    let (mut config, mut packets) = (None, Vec::new());
    while let Some(item) = raw.pull() {
        match item.with_context(|| format!("reading {}", path.display()))? {
            SourceItem::Config(c) => {
                config.get_or_insert(c);
            }
            SourceItem::Sample(s) => {
                let timescale = raw.timing().map_or(90_000, |t| t.timescale);
                packets.push(EncodedPacket::new(s.data.clone(), Some(to_90k(s.pts(), timescale)), s.is_sync));
            }
        }
    }
    let Some(config) = config else { bail!("{}: no decodable video", path.display()) };
    Ok(Clip { config, packets })
}

//! A recording read sample by sample for a live-like run: raw Annex B streams in 4 MiB chunks
//! through [`RawSource`]; MP4 with everything but the `mdat` payloads read up front (the sample
//! table), each sample's bytes read from the file when its turn comes. Nothing holds the whole
//! recording or a list of its packets.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::InspectError;
use crate::codec::{DecoderConfig, FrameRate};
use crate::mp4::Sample;
use crate::remux::{input_kind, mp4_source, nothing_decodable_reason, InputKind, RawSource, SourceItem, VideoInputError};

const RAW_CHUNK_BYTES: usize = 4 << 20;

/// See the module docs. Yields the first configuration, then samples in decode order.
pub(super) struct FileReader {
    path: PathBuf,
    kind: Kind,
}

// One per stream, alive for the whole run: the size of the larger variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Mp4 { file: File, base: Bytes, config: Option<DecoderConfig>, samples: std::vec::IntoIter<Sample>, timescale: u32 },
    Raw { file: File, raw: RawSource, eof: bool, saw_config: bool },
}

impl FileReader {
    pub(super) fn open(path: &Path, fps: Option<FrameRate>) -> Result<Self, InspectError> {
        let io = |source| InspectError::Io { path: path.display().to_string(), source };
        let mut file = File::open(path).map_err(io)?;
        let mut head = [0u8; 8];
        let n = read_full(&mut file, &mut head).map_err(io)?;
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let input = |source| InspectError::Input { path: path.display().to_string(), source };
        let kind = match input_kind(Some(ext), &head[..n]).map_err(input)? {
            InputKind::Mp4 => {
                let base = read_without_media(&file).map_err(io)?;
                let source = mp4_source(base.clone()).map_err(|e| input(VideoInputError::Mp4(e)))?;
                Kind::Mp4 {
                    file,
                    base,
                    config: Some(source.config),
                    samples: source.samples.into_iter(),
                    timescale: source.timescale,
                }
            }
            InputKind::Raw(codec) => {
                use std::io::Seek;
                file.rewind().map_err(io)?;
                Kind::Raw { file, raw: RawSource::new(codec, fps), eof: false, saw_config: false }
            }
        };
        Ok(Self { path: path.to_owned(), kind })
    }

    /// Ticks per second of the samples' times (raw streams know theirs after the first
    /// configuration).
    pub(super) fn timescale(&self) -> u32 {
        match &self.kind {
            Kind::Mp4 { timescale, .. } => *timescale,
            Kind::Raw { raw, .. } => raw.timing().map_or(90_000, |t| t.timescale),
        }
    }

    /// The next item; `None` at the end. A raw stream with nothing decodable is an error.
    pub(super) fn next_item(&mut self) -> Result<Option<SourceItem>, InspectError> {
        let path = &self.path;
        let io = |source| InspectError::Io { path: path.display().to_string(), source };
        let input = |source| InspectError::Input { path: path.display().to_string(), source };
        match &mut self.kind {
            Kind::Mp4 { file, base, config, samples, .. } => {
                if let Some(c) = config.take() {
                    return Ok(Some(SourceItem::Config(c)));
                }
                let Some(mut sample) = samples.next() else { return Ok(None) };
                sample.data = read_payload(file, base, &sample.data).map_err(io)?;
                Ok(Some(SourceItem::Sample(sample)))
            }
            Kind::Raw { file, raw, eof, saw_config } => loop {
                if let Some(item) = raw.pull() {
                    let item = item.map_err(|e| input(VideoInputError::Raw(e)))?;
                    *saw_config |= matches!(item, SourceItem::Config(_));
                    return Ok(Some(item));
                }
                if *eof {
                    if !*saw_config {
                        let reason = nothing_decodable_reason(raw.stats());
                        return Err(input(VideoInputError::NothingDecodable(reason)));
                    }
                    return Ok(None);
                }
                let mut chunk = vec![0; RAW_CHUNK_BYTES];
                let n = read_full(file, &mut chunk).map_err(io)?;
                if n == 0 {
                    *eof = true;
                    raw.flush();
                } else {
                    chunk.truncate(n);
                    raw.push(Bytes::from(chunk));
                }
            },
        }
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The file's bytes at their offsets, except `mdat` payloads, which stay zero: a zeroed
/// allocation of that size is untouched pages the kernel does not back until written, so the
/// media costs no memory. Box sizes are only followed, not trusted: a box that runs past the
/// end stops the walk and the rest is read whole, for the demuxer to judge.
fn read_without_media(file: &File) -> std::io::Result<Bytes> {
    let len = usize::try_from(file.metadata()?.len()).map_err(|_| std::io::ErrorKind::FileTooLarge)?;
    let mut buf = vec![0u8; len];
    let mut pos = 0usize;
    while pos + 8 <= len {
        let header_len = 16.min(len - pos);
        file.read_exact_at(&mut buf[pos..pos + header_len], pos as u64)?;
        let size32 = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
        let (size, header) = match size32 {
            0 => ((len - pos) as u64, 8),
            1 if header_len == 16 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[pos + 8..pos + 16]);
                (u64::from_be_bytes(b), 16)
            }
            s => (u64::from(s), 8),
        };
        if size < header || size > (len - pos) as u64 {
            break;
        }
        let end = pos + size as usize;
        if &buf[pos + 4..pos + 8] != b"mdat" {
            file.read_exact_at(&mut buf[pos..end], pos as u64)?;
        }
        pos = end;
    }
    if pos < len {
        file.read_exact_at(&mut buf[pos..], pos as u64)?;
    }
    Ok(Bytes::from(buf))
}

/// A sample's bytes from the file: `zeros` is the demuxer's slice of [`read_without_media`]'s
/// buffer, whose position in that buffer is its offset in the file.
fn read_payload(file: &File, base: &Bytes, zeros: &Bytes) -> std::io::Result<Bytes> {
    let start = (zeros.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    if start > base.len() || zeros.len() > base.len() - start {
        // Not a slice of the base (cannot happen with this demuxer): its bytes are all we have.
        return Ok(zeros.clone());
    }
    let mut data = vec![0u8; zeros.len()];
    file.read_exact_at(&mut data, start as u64)?;
    Ok(Bytes::from(data))
}

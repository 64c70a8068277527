//! Opening an input file: MP4 or raw Annex B, and the `--fps` argument.

use std::path::Path;

use anyhow::{Context, Result};
use bytes::Bytes;
use ifc::codec::FrameRate;

pub use ifc::remux::InputKind;

/// Reads the whole file; MP4 sample data and raw NAL units are then sliced from it, not copied.
pub fn read_input(path: &Path) -> Result<(InputKind, Bytes)> {
    let data = read_whole(path).with_context(|| format!("cannot read {}", path.display()))?;
    let kind = input_kind(path, &data)?;
    Ok((kind, data))
}

/// What kind of input a file is, from its name and first bytes.
pub fn sniff_input(path: &Path) -> Result<InputKind> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .with_context(|| format!("cannot read {}", path.display()))?;
    input_kind(path, &head[..n])
}

/// Reads a file into anonymous memory that the kernel maps in one go (MAP_POPULATE) rather
/// than one page fault per 4 KiB page as a growing Vec would take: for a 60 MB recording that
/// is most of the remux's CPU time. (A file-backed mapping would save the copy too, but a
/// file truncated by its writer while mapped kills the process with SIGBUS.)
fn read_whole(path: &Path) -> std::io::Result<Bytes> {
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(|_| std::io::ErrorKind::FileTooLarge)?;
    if len == 0 {
        return Ok(Bytes::new());
    }
    let mut buf = memmap2::MmapOptions::new().len(len).populate().map_anon()?;
    std::io::Read::read_exact(&mut file, &mut buf[..])?;
    Ok(Bytes::from_owner(buf.make_read_only()?))
}

/// An MP4 read for remuxing: everything but the `mdat` payloads is in `data`; where those
/// payloads are, `data` holds untouched (zero) anonymous pages that cost no memory. The sample
/// bytes stay in the page cache and go file-to-file with `copy_file_range` when segments are
/// written, so the media never passes through this process.
pub struct SparseMp4 {
    pub data: Bytes,
    pub file: std::fs::File,
}

impl SparseMp4 {
    /// Where a slice of `data` starts in the file, if it is one.
    pub fn file_offset(&self, slice: &[u8]) -> Option<u64> {
        let base = self.data.as_ptr() as usize;
        let start = slice.as_ptr() as usize;
        (start >= base && start + slice.len() <= base + self.data.len()).then(|| (start - base) as u64)
    }
}

/// Reads an MP4 for remuxing without its media payloads (see [`SparseMp4`]). Box sizes are
/// only followed, not trusted: a box that runs past the end stops the walk and the rest of
/// the file is read whole, for the demuxer to judge.
pub fn read_mp4_sparse(path: &Path) -> Result<SparseMp4> {
    use std::os::unix::fs::FileExt;
    let context = || format!("cannot read {}", path.display());
    let file = std::fs::File::open(path).with_context(context)?;
    let len = file.metadata().with_context(context)?.len();
    let len_usize = usize::try_from(len).with_context(context)?;
    if len_usize == 0 {
        return Ok(SparseMp4 { data: Bytes::new(), file });
    }
    let mut buf = memmap2::MmapOptions::new().len(len_usize).map_anon().with_context(context)?;
    let mut pos = 0u64;
    while pos + 8 <= len {
        let at = pos as usize;
        let header_len = 16.min(len_usize - at);
        file.read_exact_at(&mut buf[at..at + header_len], pos).with_context(context)?;
        let size32 = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let (size, header) = match size32 {
            0 => (len - pos, 8),
            1 if header_len == 16 => (u64::from_be_bytes(buf[at + 8..at + 16].try_into().unwrap_or([0; 8])), 16),
            s => (u64::from(s), 8),
        };
        if size < header || size > len - pos {
            break;
        }
        if &buf[at + 4..at + 8] != b"mdat" {
            let end = (pos + size) as usize;
            file.read_exact_at(&mut buf[at..end], pos).with_context(context)?;
        }
        pos += size;
    }
    if pos < len {
        file.read_exact_at(&mut buf[pos as usize..], pos).with_context(context)?;
    }
    let data = Bytes::from_owner(buf.make_read_only().with_context(context)?);
    Ok(SparseMp4 { data, file })
}

fn input_kind(path: &Path, data: &[u8]) -> Result<InputKind> {
    // A file's name decides (a raw stream is named .h264/.h265); bytes are only sniffed for MP4.
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
    ifc::remux::input_kind(Some(ext), data).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parses `25`, `29.97` or `30000/1001`. The NTSC rates given as decimals (23.976, 29.97,
/// 59.94) become their exact x/1001 fractions.
pub fn parse_fps(s: &str) -> Result<FrameRate, String> {
    let bad = || format!("invalid frame rate {s:?}: give e.g. 25, 29.97 or 30000/1001");
    if let Some((num, den)) = s.split_once('/') {
        let num: u32 = num.trim().parse().map_err(|_| bad())?;
        let den: u32 = den.trim().parse().map_err(|_| bad())?;
        return FrameRate::new(num, den).ok_or_else(bad);
    }
    let fps: f64 = s.trim().parse().map_err(|_| bad())?;
    if !(fps.is_finite() && fps > 0.0 && fps <= 1000.0) {
        return Err(bad());
    }
    let ntsc = (fps * 1001.0 / 1000.0).round();
    if (ntsc * 1000.0 / 1001.0 - fps).abs() < 0.005 && fps.fract() != 0.0 {
        return FrameRate::new(ntsc as u32 * 1000, 1001).ok_or_else(bad);
    }
    let millis = (fps * 1000.0).round() as u32;
    FrameRate::new(millis, 1000).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_parse_exactly() {
        assert_eq!(parse_fps("25"), Ok(FrameRate { num: 25, den: 1 }));
        assert_eq!(parse_fps("29.97"), Ok(FrameRate { num: 30000, den: 1001 }));
        assert_eq!(parse_fps("23.976"), Ok(FrameRate { num: 24000, den: 1001 }));
        assert_eq!(parse_fps("30000/1001"), Ok(FrameRate { num: 30000, den: 1001 }));
        assert_eq!(parse_fps("12.5"), Ok(FrameRate { num: 25, den: 2 }));
        assert!(parse_fps("0").is_err());
        assert!(parse_fps("abc").is_err());
        assert!(parse_fps("1/0").is_err());
    }
}

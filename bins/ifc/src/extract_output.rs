//! Where `ifc extract` puts each sampled frame: images, `.npy` tensors, raw planes, or nowhere.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use ifc::preprocess::{DType, Layout};

/// Output format of `ifc extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// JPEG images (quality 90), RGB.
    Jpg,
    /// PNG images, RGB.
    Png,
    /// The preprocessed model input as a NumPy array, shape (1, 3, H, W) or (1, H, W, 3).
    Npy,
    /// The decoded planes exactly as decoded (native pixel format, no padding, display order),
    /// concatenated in frames.raw, one line per frame in frames.csv.
    Raw,
    /// Everything runs, nothing is written (for benchmarks).
    None,
}

/// Writes one file per frame (`frame_000000.jpg`, …) or, for raw, one concatenated file.
pub struct FrameWriter {
    dir: PathBuf,
    format: OutputFormat,
    raw: Option<(BufWriter<File>, BufWriter<File>, u64)>,
}

impl FrameWriter {
    pub fn new(dir: &Path, format: OutputFormat) -> Result<Self> {
        if format != OutputFormat::None {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let raw = if format == OutputFormat::Raw {
            let data = create(&dir.join("frames.raw"))?;
            let mut index = create(&dir.join("frames.csv"))?;
            writeln!(index, "frame,pts_90k,width,height,pix_fmt,offset_bytes,size_bytes")?;
            Some((data, index, 0))
        } else {
            None
        };
        Ok(Self { dir: dir.to_owned(), format, raw })
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// A packed RGB image of `width` × `height`.
    pub fn image(&self, frame_number: u64, rgb: &[u8], width: u32, height: u32) -> Result<()> {
        let path = self
            .dir
            .join(format!("frame_{frame_number:06}.{}", if self.format == OutputFormat::Png { "png" } else { "jpg" }));
        let result = match self.format {
            OutputFormat::Png => write_png(&path, rgb, width, height),
            _ => write_jpeg(&path, rgb, width, height),
        };
        result.with_context(|| format!("cannot write {}", path.display()))
    }

    /// A preprocessed tensor.
    pub fn npy(
        &self,
        frame_number: u64,
        tensor: &[u8],
        dtype: DType,
        layout: Layout,
        width: u32,
        height: u32,
    ) -> Result<()> {
        let path = self.dir.join(format!("frame_{frame_number:06}.npy"));
        let descr = match dtype {
            DType::F32 => "<f4",
            DType::F16 => "<f2",
            _ => "|u1",
        };
        let shape = match layout {
            Layout::Nchw => format!("(1, 3, {height}, {width})"),
            _ => format!("(1, {height}, {width}, 3)"),
        };
        let mut w = create(&path)?;
        w.write_all(&npy_header(descr, &shape))?;
        w.write_all(tensor)?;
        w.flush().with_context(|| format!("cannot write {}", path.display()))
    }

    /// Decoded planes, row by row without padding.
    pub fn raw<'a>(
        &mut self,
        frame_number: u64,
        pts_90k: Option<i64>,
        (width, height, pix_fmt): (u32, u32, &str),
        rows: impl Iterator<Item = &'a [u8]>,
    ) -> Result<()> {
        let Some((data, index, offset)) = self.raw.as_mut() else { return Ok(()) };
        let start = *offset;
        for row in rows {
            data.write_all(row)?;
            *offset += row.len() as u64;
        }
        let pts = pts_90k.map(|p| p.to_string()).unwrap_or_default();
        writeln!(index, "{frame_number},{pts},{width},{height},{pix_fmt},{start},{}", *offset - start)?;
        Ok(())
    }

    pub fn finish(&mut self) -> Result<()> {
        if let Some((data, index, _)) = self.raw.as_mut() {
            data.flush().context("cannot write frames.raw")?;
            index.flush().context("cannot write frames.csv")?;
        }
        Ok(())
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// NPY format 1.0: magic, version, header length, a Python dict literal padded with spaces to
/// a multiple of 64 bytes and ended by a newline.
fn npy_header(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(10 + header_len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padding, b' ');
    out.push(b'\n');
    out
}

fn write_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<()> {
    let mut encoder = png::Encoder::new(create(path)?, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(())
}

fn write_jpeg(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<()> {
    let jpeg = ifc::runner::encode_jpeg(rgb, width, height, 90)?;
    let mut file = create(path)?;
    file.write_all(&jpeg)?;
    file.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_to_64_bytes_and_ends_in_a_newline() {
        let h = npy_header("<f4", "(1, 3, 640, 640)");
        assert_eq!(h.len() % 64, 0);
        assert_eq!(h.last(), Some(&b'\n'));
        assert_eq!(usize::from(u16::from_le_bytes([h[8], h[9]])), h.len() - 10);
    }
}

//! `ifc probe`: what a video file holds, as a table or JSON.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ifc::codec::{Codec, ColourDescription, FrameRate, VideoParams};
use ifc::preprocess::ColourMatrix;
use ifc::probe::{StreamAnalyzer, StreamReport};
use ifc::remux::SourceItem;

use crate::input::{parse_fps, read_input, InputKind};
use crate::source::run_source;

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// MP4 file or raw Annex B stream (.h264 .264 .h265 .265 .hevc).
    pub file: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Frame rate of a raw stream without VUI timing (25, 29.97, 30000/1001).
    #[arg(long, value_parser = parse_fps)]
    pub fps: Option<FrameRate>,
}

pub fn run(args: &ProbeArgs) -> Result<()> {
    let (kind, data) = read_input(&args.file)?;
    let size_bytes = data.len();
    let fps = match (kind, args.fps) {
        (InputKind::Raw(codec), None) => Some(raw_fps_or_placeholder(codec, &data)),
        (_, fps) => fps,
    };
    let mut analyzer: Option<(StreamAnalyzer, VideoParams)> = None;
    let run = run_source(kind, data, fps, true, |item, _| {
        match (item, analyzer.as_mut()) {
            (SourceItem::Config(c), None) => analyzer = Some((StreamAnalyzer::new(&c), c.params)),
            (SourceItem::Config(c), Some((a, _))) => a.push_config(&c),
            (SourceItem::Sample(s), Some((a, _))) => a.push_sample(&s),
            (SourceItem::Sample(_), None) => {}
        }
        Ok(())
    })
    .with_context(|| format!("probing {}", args.file.display()))?;
    let Some((analyzer, params)) = analyzer else {
        return Err(crate::source::nothing_decodable(&args.file, &run));
    };
    let container = if kind == InputKind::Mp4 { "mp4" } else { "annexb" };
    let vui_rate = params.frame_rate;
    let mut report = analyzer.finish(container, params, run.timescale);
    if kind != InputKind::Mp4 && args.fps.is_none() {
        // Without --fps the raw stream's rate is whatever its VUI says (maybe nothing).
        report.frame_rate = vui_rate;
    }
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["size_bytes"] = size_bytes.into();
        // How ifc turns the pictures into RGB, and whether the stream said so or ifc assumed it.
        let colour = &report.params.colour;
        value["rgb_matrix"] = ColourMatrix::for_frame(colour).name().into();
        value["rgb_matrix_assumed"] = (!ColourMatrix::is_specified(colour)).into();
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_table(&report, size_bytes);
    }
    Ok(())
}

/// Raw streams without VUI timing are still probed; timing-derived fields then say so.
fn raw_fps_or_placeholder(codec: Codec, data: &[u8]) -> FrameRate {
    let from_vui = ifc::codec::nal::AnnexBNals::new(data)
        .filter(|(_, nal)| codec.classify(nal) == Some(ifc::codec::NalKind::Sps))
        .find_map(|(_, nal)| ifc::codec::parse_sps_params(codec, nal).ok())
        .and_then(|p| p.frame_rate);
    from_vui.unwrap_or(FrameRate { num: 25, den: 1 })
}

fn print_table(r: &StreamReport, size_bytes: usize) {
    let p = &r.params;
    let row = |k: &str, v: String| println!("{k:<16} {v}");
    row("container", r.container.to_owned());
    row("codec", format!("{} ({})", r.codec_name, p.codec_string));
    row("profile / level", format!("{} / {}", p.profile, level_text(p)));
    let crop = if (p.width, p.height) != (p.coded_width, p.coded_height) {
        format!(" (coded {}x{})", p.coded_width, p.coded_height)
    } else {
        String::new()
    };
    row("size", format!("{}x{}{crop}", p.width, p.height));
    row("pixel format", format!("{} ({}-bit, {:?})", r.pix_fmt, p.bit_depth_luma, p.chroma_format).to_lowercase());
    row("colour", colour_text(&p.colour));
    row(
        "frame rate",
        r.frame_rate.map_or("unknown (raw stream without timing; use --fps)".into(), |f| {
            format!("{:.3} fps ({}/{})", f.as_f64(), f.num, f.den)
        }),
    );
    row("frames", r.frame_count.to_string());
    if let Some(d) = r.duration_s.filter(|_| r.frame_rate.is_some()) {
        row("duration", format!("{d:.3} s"));
    }
    if let Some(b) = r.bit_rate_bps.filter(|_| r.frame_rate.is_some()) {
        row("bit rate", format!("{:.0} kbit/s", b as f64 / 1000.0));
    }
    row("file size", format!("{size_bytes} bytes"));
    let g = &r.gop;
    let kinds = [("IDR", g.idr), ("CRA", g.cra), ("BLA", g.bla)]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    row("keyframes", format!("{} ({kinds})", g.keyframes));
    row(
        "GOP",
        format!(
            "{} frames (min {}, max {}), {}, {}",
            fmt_mean(g.gop_mean),
            g.gop_min,
            g.gop_max,
            if g.closed { "closed" } else { "open" },
            if g.reordered {
                format!("B-frames (reorder depth {})", g.max_reorder_depth)
            } else {
                "no B-frames".into()
            }
        ),
    );
    if r.parameter_changes > 0 {
        row("param changes", format!("{} (new SPS/PPS mid-stream)", r.parameter_changes));
    }
}

fn fmt_mean(m: f64) -> String {
    if m.fract() == 0.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

fn level_text(p: &VideoParams) -> String {
    match p.codec {
        Codec::H264 => format!("{:.1}", f64::from(p.level_idc) / 10.0),
        Codec::H265 => format!("{:.1}{}", f64::from(p.level_idc) / 30.0, if p.high_tier { " High tier" } else { "" }),
    }
}

fn colour_text(c: &ColourDescription) -> String {
    let range = if c.full_range { "full range" } else { "limited range" };
    let described = match (c.matrix_name(), c.primaries_name(), c.transfer_name()) {
        (None, None, None) => format!("unspecified, {range}"),
        (m, p, t) => format!(
            "matrix {}, primaries {}, transfer {}, {range}",
            m.unwrap_or("unspecified"),
            p.unwrap_or("unspecified"),
            t.unwrap_or("unspecified")
        ),
    };
    if ColourMatrix::is_specified(c) {
        described
    } else {
        // The assumption decides the colours a model sees: say it, and how to change it.
        format!("{described}; RGB as BT.601 (assumed, like libswscale and OpenCV; --colour-matrix to override)")
    }
}

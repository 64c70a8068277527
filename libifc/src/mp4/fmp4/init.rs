//! The CMAF header / init segment (ISO/IEC 23000-19): `ftyp` + `moov` for one video track,
//! with empty sample tables (the samples live in fragments) and `mvex` announcing them.

use crate::codec::DecoderConfig;
use crate::mp4::box_writer::BoxWriter;

/// The one track's `track_ID`; `moof`s refer to it.
pub(super) const TRACK_ID: u32 = 1;

/// 14496-12 6.2.2 / 8.2.2: the identity transform, in 16.16 and (last column) 2.30 fixed point.
const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// ISO 639-2/T "und", packed as three 5-bit letters minus 0x60 (8.4.2.3).
const LANGUAGE_UND: u16 = ((b'u' as u16 - 0x60) << 10) | ((b'n' as u16 - 0x60) << 5) | (b'd' as u16 - 0x60);

/// 12.1.3.2: 72 dpi in 16.16 fixed point.
const RESOLUTION_72_DPI: u32 = 0x0048_0000;

/// `dts_shift_ticks`: added to every decode time in the fragments; a non-zero shift gets an edit
/// list that takes it back off the presentation times.
pub(super) fn write_init_segment(config: &DecoderConfig, timescale: u32, dts_shift_ticks: u64) -> Vec<u8> {
    let mut w = BoxWriter::new();
    // 4.3: major brand iso6 (fragments with tfdt v1, trun v1); cmfc declares a CMAF track.
    w.plain_box(*b"ftyp", |w| {
        w.bytes(b"iso6");
        w.u32(0); // minor_version
        for brand in [b"iso6", b"cmfc", b"mp41"] {
            w.bytes(brand);
        }
    });
    w.plain_box(*b"moov", |w| {
        write_mvhd(w, timescale);
        w.plain_box(*b"trak", |w| {
            write_tkhd(w, config);
            if dts_shift_ticks != 0 {
                write_edts(w, dts_shift_ticks);
            }
            w.plain_box(*b"mdia", |w| {
                write_mdhd(w, timescale);
                write_hdlr(w);
                w.plain_box(*b"minf", |w| write_minf(w, config));
            });
        });
        // 8.8.1: mvex says the movie continues in fragments; 8.8.3 trex gives their defaults,
        // all overridden per sample in trun.
        w.plain_box(*b"mvex", |w| {
            w.full_box(*b"trex", 0, 0, |w| {
                w.u32(TRACK_ID);
                w.u32(1); // default_sample_description_index
                w.u32(0); // default_sample_duration
                w.u32(0); // default_sample_size
                w.u32(0); // default_sample_flags
            });
        });
    });
    w.into_bytes()
}

/// 8.2.2 Movie header, version 0. Duration 0: the length is in the fragments.
fn write_mvhd(w: &mut BoxWriter, timescale: u32) {
    w.full_box(*b"mvhd", 0, 0, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(timescale);
        w.u32(0); // duration
        w.u32(0x0001_0000); // rate 1.0
        w.u16(0x0100); // volume 1.0
        w.zeros(2 + 8); // reserved
        UNITY_MATRIX.iter().for_each(|&m| w.u32(m));
        w.zeros(24); // pre_defined
        w.u32(TRACK_ID + 1); // next_track_ID
    });
}

/// 8.3.2 Track header, version 0; flags track_enabled | track_in_movie.
fn write_tkhd(w: &mut BoxWriter, config: &DecoderConfig) {
    let (width_fixed, height_fixed) = display_size_16_16(config);
    w.full_box(*b"tkhd", 0, 0x000003, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(TRACK_ID);
        w.u32(0); // reserved
        w.u32(0); // duration
        w.zeros(8); // reserved
        w.u16(0); // layer
        w.u16(0); // alternate_group
        w.u16(0); // volume: 0 for a video track
        w.u16(0); // reserved
        UNITY_MATRIX.iter().for_each(|&m| w.u32(m));
        w.u32(width_fixed);
        w.u32(height_fixed);
    });
}

/// 8.3.2.3: tkhd width and height are the presentation size, so the sample aspect ratio
/// stretches the width (as players and ffmpeg's muxer do). 16.16 fixed point.
fn display_size_16_16(config: &DecoderConfig) -> (u32, u32) {
    let params = &config.params;
    let (sar_w, sar_h) = sample_aspect_ratio(config);
    let width = (u64::from(params.width) << 16).saturating_mul(u64::from(sar_w)) / u64::from(sar_h);
    let height = u64::from(params.height) << 16;
    (clamp_u32(width), clamp_u32(height))
}

/// The SAR, with an unspecified or malformed one (a zero term) read as square pixels.
fn sample_aspect_ratio(config: &DecoderConfig) -> (u32, u32) {
    match config.params.sample_aspect_ratio {
        (w, h) if w != 0 && h != 0 => (w, h),
        _ => (1, 1),
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// 8.6.5-8.6.6 Edit list: one edit that starts the presentation at media time
/// `dts_shift_ticks`. segment_duration 0: the length of a fragmented track is not known
/// (8.6.6.3; CMAF allows an edit list of this one form). Version 1 only when the
/// shift does not fit version 0's signed 32-bit media_time.
fn write_edts(w: &mut BoxWriter, dts_shift_ticks: u64) {
    w.plain_box(*b"edts", |w| match i32::try_from(dts_shift_ticks) {
        Ok(media_time) => w.full_box(*b"elst", 0, 0, |w| {
            w.u32(1); // entry_count
            w.u32(0); // segment_duration
            w.i32(media_time);
            w.u32(0x0001_0000); // media_rate_integer 1, media_rate_fraction 0
        }),
        Err(_) => w.full_box(*b"elst", 1, 0, |w| {
            w.u32(1);
            w.u64(0);
            w.u64(dts_shift_ticks.min(i64::MAX as u64));
            w.u32(0x0001_0000);
        }),
    });
}

/// 8.4.2 Media header, version 0: the track timescale, kept as the source's.
fn write_mdhd(w: &mut BoxWriter, timescale: u32) {
    w.full_box(*b"mdhd", 0, 0, |w| {
        w.u32(0); // creation_time
        w.u32(0); // modification_time
        w.u32(timescale);
        w.u32(0); // duration
        w.u16(LANGUAGE_UND);
        w.u16(0); // pre_defined
    });
}

/// 8.4.3 Handler reference: a video track.
fn write_hdlr(w: &mut BoxWriter) {
    w.full_box(*b"hdlr", 0, 0, |w| {
        w.u32(0); // pre_defined
        w.bytes(b"vide");
        w.zeros(12); // reserved
        w.bytes(b"VideoHandler\0");
    });
}

fn write_minf(w: &mut BoxWriter, config: &DecoderConfig) {
    // 12.1.2 Video media header: flags 1, graphicsmode copy, opcolor 0.
    w.full_box(*b"vmhd", 0, 1, |w| w.zeros(2 + 6));
    // 8.7.1-8.7.2: one data reference, flag 1 = "media data in the same file".
    w.plain_box(*b"dinf", |w| {
        w.full_box(*b"dref", 0, 0, |w| {
            w.u32(1); // entry_count
            w.full_box(*b"url ", 0, 1, |_| {});
        });
    });
    w.plain_box(*b"stbl", |w| {
        w.full_box(*b"stsd", 0, 0, |w| {
            w.u32(1); // entry_count
            write_visual_sample_entry(w, config);
        });
        // 8.6.1.2, 8.7.4, 8.7.3.2, 8.7.5: no samples outside fragments.
        w.full_box(*b"stts", 0, 0, |w| w.u32(0));
        w.full_box(*b"stsc", 0, 0, |w| w.u32(0));
        w.full_box(*b"stsz", 0, 0, |w| {
            w.u32(0); // sample_size
            w.u32(0); // sample_count
        });
        w.full_box(*b"stco", 0, 0, |w| w.u32(0));
    });
}

/// 12.1.3 VisualSampleEntry (`avc1`/`hvc1`, ISO/IEC 14496-15 5.4.2 / 8.4.1) holding the
/// decoder configuration record verbatim, then `colr` and `pasp`.
fn write_visual_sample_entry(w: &mut BoxWriter, config: &DecoderConfig) {
    let params = &config.params;
    w.plain_box(config.sample_entry_fourcc(), |w| {
        w.zeros(6); // SampleEntry reserved
        w.u16(1); // data_reference_index
        w.u16(0); // pre_defined
        w.u16(0); // reserved
        w.zeros(12); // pre_defined
        w.u16(u16::try_from(params.width).unwrap_or(u16::MAX));
        w.u16(u16::try_from(params.height).unwrap_or(u16::MAX));
        w.u32(RESOLUTION_72_DPI);
        w.u32(RESOLUTION_72_DPI);
        w.u32(0); // reserved
        w.u16(1); // frame_count
        w.zeros(32); // compressorname: empty Pascal string
        w.u16(0x0018); // depth: colour, no alpha
        w.i16(-1); // pre_defined
        w.plain_box(config.record_fourcc(), |w| w.bytes(&config.record));
        // 12.1.5 colr, type nclx: H.273 code points and the range flag in the top bit.
        let colour = params.colour;
        w.plain_box(*b"colr", |w| {
            w.bytes(b"nclx");
            w.u16(u16::from(colour.primaries));
            w.u16(u16::from(colour.transfer));
            w.u16(u16::from(colour.matrix));
            w.u8(if colour.full_range { 0x80 } else { 0 });
        });
        // 12.1.4 pasp: hSpacing / vSpacing is the sample aspect ratio.
        let (sar_w, sar_h) = sample_aspect_ratio(config);
        w.plain_box(*b"pasp", |w| {
            w.u32(sar_w);
            w.u32(sar_h);
        });
    });
}

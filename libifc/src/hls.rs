//! HLS media playlist writer (RFC 8216, and its revision draft-pantos-hls-rfc8216bis) for fMP4
//! segments: the playlist is plain data, [`MediaPlaylist::render`] turns it into text. Sans-IO:
//! program date-times are given as Unix milliseconds and formatted here, with no clock.
#![forbid(unsafe_code)]

use std::fmt::Write;

/// A media playlist (RFC 8216bis 4.4.3).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediaPlaylist {
    /// The configured target duration in seconds. The rendered `EXT-X-TARGETDURATION` is this or
    /// the largest segment duration rounded to the nearest integer, whichever is larger
    /// (4.4.3.1: every rounded EXTINF duration must be at most the target duration).
    pub target_duration_s: u32,
    /// `EXT-X-MEDIA-SEQUENCE`: the media sequence number of the first segment listed.
    pub media_sequence: u64,
    /// `EXT-X-DISCONTINUITY-SEQUENCE` (4.4.3.3), written when not 0: the discontinuities that
    /// a sliding window has removed from the front.
    pub discontinuity_sequence: u64,
    /// `EXT-X-INDEPENDENT-SEGMENTS` (4.4.2.1): every segment starts with a key frame.
    pub independent_segments: bool,
    pub entries: Vec<PlaylistEntry>,
    /// No segment will be added: writes `EXT-X-PLAYLIST-TYPE:VOD` and `EXT-X-ENDLIST`.
    pub ended: bool,
}

/// One line group of a playlist, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaylistEntry {
    /// `EXT-X-MAP` (4.4.4.5): the init segment for the segments that follow, until the next one
    /// (e.g. after a resolution change).
    Map { uri: String },
    Segment {
        uri: String,
        /// `EXTINF` duration in seconds; a negative or non-finite one is written as 0.
        duration_s: f64,
        /// `EXT-X-PROGRAM-DATE-TIME` (4.4.4.6) of the segment's first sample, Unix milliseconds.
        program_date_time_ms: Option<i64>,
        /// `EXT-X-DISCONTINUITY` (4.4.4.3) before this segment: timestamps or encoding change.
        discontinuity: bool,
    },
}

impl MediaPlaylist {
    /// The largest EXTINF duration rounded to the nearest integer, or the configured target if
    /// larger: the `EXT-X-TARGETDURATION` written.
    pub fn rendered_target_duration_s(&self) -> u64 {
        let longest = self
            .entries
            .iter()
            .filter_map(|e| match e {
                PlaylistEntry::Segment { duration_s, .. } => Some(sanitized_duration_s(*duration_s).round() as u64),
                PlaylistEntry::Map { .. } => None,
            })
            .max()
            .unwrap_or(0);
        longest.max(u64::from(self.target_duration_s))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // `write!` into a String cannot fail; the results are ignored for that reason.
        out.push_str("#EXTM3U\n");
        // Version 7 covers EXT-X-MAP without EXT-X-I-FRAMES-ONLY, which needs 6 (section 7).
        out.push_str("#EXT-X-VERSION:7\n");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.rendered_target_duration_s());
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        if self.discontinuity_sequence != 0 {
            let _ = writeln!(out, "#EXT-X-DISCONTINUITY-SEQUENCE:{}", self.discontinuity_sequence);
        }
        if self.ended {
            out.push_str("#EXT-X-PLAYLIST-TYPE:VOD\n");
        }
        if self.independent_segments {
            out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        }
        for entry in &self.entries {
            match entry {
                PlaylistEntry::Map { uri } => {
                    let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", escape_uri(uri));
                }
                PlaylistEntry::Segment { uri, duration_s, program_date_time_ms, discontinuity } => {
                    if *discontinuity {
                        out.push_str("#EXT-X-DISCONTINUITY\n");
                    }
                    if let Some(ms) = program_date_time_ms {
                        let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_utc_from_unix_ms(*ms));
                    }
                    // 4.4.4.1: decimal-floating-point seconds; 5 decimals keep 90 kHz ticks
                    // to within 0.5 ms.
                    let _ = writeln!(out, "#EXTINF:{:.5},", sanitized_duration_s(*duration_s));
                    let _ = writeln!(out, "{}", escape_uri(uri));
                }
            }
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

fn sanitized_duration_s(duration_s: f64) -> f64 {
    if duration_s.is_finite() && duration_s > 0.0 {
        duration_s
    } else {
        0.0
    }
}

/// Percent-encodes the characters that would break a playlist line or quoted string (4.2: a
/// quoted-string holds no `"`, CR or LF; a URI line ends at a line break). None of them may
/// appear in a URI (RFC 3986), so valid URIs pass unchanged.
fn escape_uri(uri: &str) -> String {
    let mut out = String::with_capacity(uri.len());
    for c in uri.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` (RFC 3339, the date-time form 4.4.4.6 asks for) from Unix
/// milliseconds, proleptic Gregorian calendar.
pub fn iso8601_utc_from_unix_ms(unix_ms: i64) -> String {
    const MS_PER_DAY: i64 = 86_400_000;
    let days = unix_ms.div_euclid(MS_PER_DAY);
    let ms_of_day = unix_ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, ms) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    let year = if year < 0 { format!("-{:04}", year.unsigned_abs()) } else { format!("{year:04}") };
    format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
}

/// Year, month (1-12) and day (1-31) of a count of days since 1970-01-01, by H. Hinnant's
/// `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms"): shift the epoch to
/// 0000-03-01 so the leap day ends each 400-year era's years, then count eras, years and
/// 153-day five-month runs. No overflow for any `i64` day count derived from milliseconds.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(uri: &str, duration_s: f64) -> PlaylistEntry {
        PlaylistEntry::Segment { uri: uri.into(), duration_s, program_date_time_ms: None, discontinuity: false }
    }

    #[test]
    fn renders_a_vod_playlist_with_map_pdt_and_discontinuity() {
        let playlist = MediaPlaylist {
            target_duration_s: 1,
            media_sequence: 3,
            discontinuity_sequence: 0,
            independent_segments: true,
            entries: vec![
                PlaylistEntry::Map { uri: "init-0.mp4".into() },
                PlaylistEntry::Segment {
                    uri: "seg-3.m4s".into(),
                    duration_s: 1.2,
                    program_date_time_ms: Some(1_709_210_096_789),
                    discontinuity: false,
                },
                PlaylistEntry::Map { uri: "init-1.mp4".into() },
                PlaylistEntry::Segment {
                    uri: "seg-4.m4s".into(),
                    duration_s: 0.04,
                    program_date_time_ms: None,
                    discontinuity: true,
                },
            ],
            ended: true,
        };
        let expected = "#EXTM3U\n\
            #EXT-X-VERSION:7\n\
            #EXT-X-TARGETDURATION:1\n\
            #EXT-X-MEDIA-SEQUENCE:3\n\
            #EXT-X-PLAYLIST-TYPE:VOD\n\
            #EXT-X-INDEPENDENT-SEGMENTS\n\
            #EXT-X-MAP:URI=\"init-0.mp4\"\n\
            #EXT-X-PROGRAM-DATE-TIME:2024-02-29T12:34:56.789Z\n\
            #EXTINF:1.20000,\n\
            seg-3.m4s\n\
            #EXT-X-MAP:URI=\"init-1.mp4\"\n\
            #EXT-X-DISCONTINUITY\n\
            #EXTINF:0.04000,\n\
            seg-4.m4s\n\
            #EXT-X-ENDLIST\n";
        assert_eq!(playlist.render(), expected);
    }

    #[test]
    fn live_playlist_has_no_type_and_no_endlist() {
        let playlist = MediaPlaylist {
            target_duration_s: 2,
            media_sequence: 10,
            discontinuity_sequence: 4,
            entries: vec![segment("a.m4s", 2.0)],
            ..MediaPlaylist::default()
        };
        let text = playlist.render();
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:4\n"), "{text}");
        for absent in ["PLAYLIST-TYPE", "ENDLIST", "INDEPENDENT-SEGMENTS"] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
    }

    #[test]
    fn target_duration_is_the_longest_segment_rounded_to_nearest() {
        let with = |durations: &[f64]| MediaPlaylist {
            target_duration_s: 1,
            entries: durations.iter().map(|&d| segment("s.m4s", d)).collect(),
            ..MediaPlaylist::default()
        };
        // 1.49 rounds down: a 1 s target still holds it.
        assert_eq!(with(&[1.0, 1.49]).rendered_target_duration_s(), 1);
        assert_eq!(with(&[1.5, 0.2]).rendered_target_duration_s(), 2);
        assert_eq!(with(&[2.64, 3.2]).rendered_target_duration_s(), 3);
        // The configured target is a floor: a live playlist's target must not shrink.
        assert_eq!(with(&[0.4]).rendered_target_duration_s(), 1);
        assert!(with(&[1.5]).render().contains("#EXT-X-TARGETDURATION:2\n"));
    }

    #[test]
    fn bad_durations_are_written_as_zero() {
        let playlist = MediaPlaylist {
            entries: vec![segment("a", f64::NAN), segment("b", -1.0), segment("c", f64::INFINITY)],
            ..MediaPlaylist::default()
        };
        let text = playlist.render();
        assert_eq!(text.matches("#EXTINF:0.00000,\n").count(), 3, "{text}");
        assert!(text.contains("#EXT-X-TARGETDURATION:0\n"));
    }

    #[test]
    fn uris_cannot_break_lines_or_quotes() {
        let playlist = MediaPlaylist {
            entries: vec![PlaylistEntry::Map { uri: "in\"it.mp4".into() }, segment("a\n#EXT-X-ENDLIST\r\nb.m4s", 1.0)],
            ..MediaPlaylist::default()
        };
        let text = playlist.render();
        assert!(text.contains("#EXT-X-MAP:URI=\"in%22it.mp4\"\n"), "{text}");
        assert!(text.contains("\na%0A#EXT-X-ENDLIST%0D%0Ab.m4s\n"), "{text}");
        assert!(!text.contains("\n#EXT-X-ENDLIST"));
    }

    // Expected strings from GNU date: `date -u -d @SECONDS +%FT%T`.
    #[test]
    fn program_date_time_formats_leap_days_and_century_rules() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"), // leap year
            (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
            (1_709_251_200_000, "2024-03-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"), // divisible by 400: leap
            (4_107_456_000_000, "2100-02-28T00:00:00.000Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"), // divisible by 100 only: no leap day
            (-2_203_977_600_000, "1900-02-28T00:00:00.000Z"),
            (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"), // 1900: no leap day
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(iso8601_utc_from_unix_ms(ms), text, "{ms} ms");
        }
    }

    #[test]
    fn program_date_time_never_overflows() {
        for ms in [i64::MIN, i64::MIN + 1, i64::MAX] {
            let text = iso8601_utc_from_unix_ms(ms);
            assert!(text.ends_with('Z'), "{text}");
        }
        assert!(iso8601_utc_from_unix_ms(-62_167_219_200_001).starts_with("-0001-12-31T23:59:59.999"));
    }
}

//! The sample table of a progressive track (ISO/IEC 14496-12 8.5–8.7): sizes (`stsz`, `stz2`),
//! decode deltas (`stts`), composition offsets (`ctts`), the sample-to-chunk map (`stsc`),
//! chunk offsets (`stco`, `co64`) and sync samples (`stss`), turned into [`Sample`]s.
//!
//! The tables stay as the box bytes they were read from (their lengths checked against their
//! boxes first); only the resulting samples are allocated, after the file's sample budget
//! allowed their count.

use bytes::Bytes;

use super::SampleBudget;
use crate::error::{ParseError, Result};
use crate::mp4::box_reader::{checked_slice, child_path, BoxHeader, Reader};
use crate::mp4::Sample;

/// A table of fixed-size big-endian entries, borrowed from its box.
#[derive(Debug, Clone, Copy)]
struct Table<'a> {
    raw: &'a [u8],
    entry_len: usize,
    /// Absolute file offset of the first entry, for errors that point at an entry.
    start: usize,
    path: &'a str,
}

impl<'a> Table<'a> {
    /// Reads a 32-bit entry count and the entries that follow it.
    fn read(r: &mut Reader<'a>, entry_len: usize) -> Result<Self> {
        let count = r.entry_count(entry_len)?;
        let start = r.offset();
        let raw = r.bytes(count * entry_len)?;
        Ok(Self { raw, entry_len, start, path: r.path() })
    }

    fn len(&self) -> usize {
        self.raw.len() / self.entry_len
    }

    fn field<const N: usize>(&self, index: usize, field_offset: usize) -> Option<[u8; N]> {
        let at = index.checked_mul(self.entry_len)?.checked_add(field_offset)?;
        self.raw.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u32_at(&self, index: usize, field_offset: usize) -> Option<u32> {
        self.field(index, field_offset).map(u32::from_be_bytes)
    }

    fn u64_at(&self, index: usize, field_offset: usize) -> Option<u64> {
        self.field(index, field_offset).map(u64::from_be_bytes)
    }

    fn error_at(&self, index: usize, msg: impl Into<String>) -> ParseError {
        let offset = (self.start as u64).saturating_add((index as u64).saturating_mul(self.entry_len as u64));
        ParseError::invalid(self.path, msg).at_offset(offset)
    }
}

/// `stsz` (8.7.3.2) or `stz2` (8.7.3.3).
#[derive(Debug)]
enum SampleSizes<'a> {
    Constant {
        size: u32,
        count: u32,
    },
    Table(Table<'a>),
    /// `stz2` with 4-, 8- or 16-bit fields; 4-bit fields pack two samples per byte, high
    /// nibble first.
    Compact {
        raw: &'a [u8],
        field_bits: u8,
        count: u32,
    },
}

impl SampleSizes<'_> {
    /// The bytes of its own each sample is known to occupy (see `SampleBudget`): its table
    /// entry, or with one size for all, its data.
    fn bytes_each(&self) -> u64 {
        match self {
            Self::Constant { size, .. } => u64::from(*size),
            Self::Table(table) => table.entry_len as u64,
            Self::Compact { .. } => 1,
        }
    }

    fn count(&self) -> u64 {
        match self {
            Self::Constant { count, .. } | Self::Compact { count, .. } => u64::from(*count),
            Self::Table(table) => table.len() as u64,
        }
    }

    fn size_of(&self, index: usize) -> Option<u32> {
        match self {
            Self::Constant { size, .. } => Some(*size),
            Self::Table(table) => table.u32_at(index, 0),
            Self::Compact { raw, field_bits: 4, .. } => {
                let byte = raw.get(index / 2)?;
                Some(u32::from(if index % 2 == 0 { byte >> 4 } else { byte & 0x0f }))
            }
            Self::Compact { raw, field_bits: 8, .. } => raw.get(index).map(|&b| u32::from(b)),
            Self::Compact { raw, .. } => {
                let at = index.checked_mul(2)?;
                let pair = raw.get(at..at.checked_add(2)?)?;
                Some(u32::from(u16::from_be_bytes(pair.try_into().ok()?)))
            }
        }
    }
}

fn read_stsz<'a>(r: &mut Reader<'a>) -> Result<SampleSizes<'a>> {
    r.version_and_flags()?;
    let size = r.u32()?;
    if size != 0 {
        // All samples share one size: the count is backed by no table; the budget bounds it.
        return Ok(SampleSizes::Constant { size, count: r.u32()? });
    }
    Table::read(r, 4).map(SampleSizes::Table)
}

fn read_stz2<'a>(r: &mut Reader<'a>) -> Result<SampleSizes<'a>> {
    r.version_and_flags()?;
    r.skip(3)?; // reserved
    let field_at = r.clone();
    let field_bits = r.u8()?;
    if !matches!(field_bits, 4 | 8 | 16) {
        return Err(field_at.invalid(format!("field_size {field_bits}, not 4, 8 or 16")));
    }
    let count = r.u32()?;
    let table_len = (u64::from(count) * u64::from(field_bits)).div_ceil(8);
    if table_len > r.remaining() as u64 {
        return Err(r.too_large(format!("{count} entries of {field_bits} bits, {} bytes left", r.remaining())));
    }
    let raw = r.bytes(table_len as usize)?;
    Ok(SampleSizes::Compact { raw, field_bits, count })
}

/// Walks a run-length table of (sample_count, value) pairs (`stts`, `ctts`) sample by sample.
#[derive(Debug)]
struct Runs<'a> {
    table: Table<'a>,
    next_entry: usize,
    left_in_run: u32,
    value: u32,
}

impl<'a> Runs<'a> {
    fn new(table: Table<'a>) -> Self {
        Self { table, next_entry: 0, left_in_run: 0, value: 0 }
    }

    /// The value for the next sample; `None` when the table covers no more samples.
    fn next_value(&mut self) -> Option<u32> {
        while self.left_in_run == 0 {
            self.left_in_run = self.table.u32_at(self.next_entry, 0)?;
            self.value = self.table.u32_at(self.next_entry, 4)?;
            self.next_entry += 1;
        }
        self.left_in_run -= 1;
        Some(self.value)
    }
}

/// `stss` (8.6.2): sample numbers (1-based, increasing) of the sync samples. Without `stss`
/// every sample is a sync sample.
#[derive(Debug)]
struct SyncSamples<'a> {
    table: Option<Table<'a>>,
    next_entry: usize,
}

impl SyncSamples<'_> {
    fn is_sync(&mut self, sample_number: u64) -> Result<bool> {
        let Some(table) = &self.table else { return Ok(true) };
        match table.u32_at(self.next_entry, 0).map(u64::from) {
            Some(listed) if listed < sample_number => {
                Err(table.error_at(self.next_entry, format!("sample number {listed} is out of order")))
            }
            Some(listed) if listed == sample_number => {
                self.next_entry += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn check_all_used(&self, sample_count: usize) -> Result<()> {
        match &self.table {
            Some(table) if self.next_entry < table.len() => {
                Err(table.error_at(self.next_entry, format!("names a sample past the track's {sample_count} samples")))
            }
            _ => Ok(()),
        }
    }
}

/// Reads the sample tables in `stbl` and builds the track's samples in decode order.
pub(super) fn read_samples(
    file: &Bytes,
    stbl: &BoxHeader,
    path: &str,
    sample_description_count: u32,
    budget: &mut SampleBudget,
) -> Result<Vec<Sample>> {
    let data: &[u8] = file;
    let types = [b"stsz", b"stz2", b"stts", b"ctts", b"stsc", b"stco", b"co64", b"stss"];
    let found = Reader::payload(data, stbl, path).find_children(types)?;
    let paths = types.map(|t| child_path(path, std::str::from_utf8(t).unwrap_or("?")));
    let [stsz, stz2, stts, ctts, stsc, stco, co64, stss] = found;
    let [stsz_path, stz2_path, stts_path, ctts_path, stsc_path, stco_path, co64_path, stss_path] = &paths;
    let missing = |name: &str| ParseError::missing(path, format!("{name} box")).at_offset(stbl.start as u64);

    let (sizes, sizes_reader) = match (stsz, stz2) {
        (Some(b), _) => {
            let mut r = Reader::payload(data, &b, stsz_path);
            (read_stsz(&mut r)?, r)
        }
        (None, Some(b)) => {
            let mut r = Reader::payload(data, &b, stz2_path);
            (read_stz2(&mut r)?, r)
        }
        (None, None) => return Err(missing("stsz or stz2")),
    };
    let table = |b, p, entry_len| read_table(data, b, p, entry_len);
    let stts = table(stts, stts_path, 8)?;
    let ctts = table(ctts, ctts_path, 8)?;
    let stsc = table(stsc, stsc_path, 12)?;
    let chunk_offsets = match stco {
        Some(_) => table(stco, stco_path, 4)?,
        None => table(co64, co64_path, 8)?,
    };
    let stss = table(stss, stss_path, 4)?;
    if sizes.count() == 0 {
        // An empty track (the `moov` of a fragmented file) need not have the other tables.
        return Ok(Vec::new());
    }
    let sample_count = budget.take(sizes.count(), sizes.bytes_each(), &sizes_reader)?;
    let stts = stts.ok_or_else(|| missing("stts"))?;
    let stsc = stsc.ok_or_else(|| missing("stsc"))?;
    let chunk_offsets = chunk_offsets.ok_or_else(|| missing("stco or co64"))?;

    let mut timing = Timing {
        durations: Runs::new(stts),
        composition_offsets: ctts.map(Runs::new),
        sync: SyncSamples { table: stss, next_entry: 0 },
        next_dts: 0,
    };
    let layout = ChunkLayout { sizes, sizes_path: sizes_reader.path(), stsc, chunk_offsets, sample_description_count };
    let samples = layout.place_samples(file, sample_count, &mut timing)?;
    timing.sync.check_all_used(sample_count)?;
    Ok(samples)
}

/// A full box holding a counted table: stts, ctts, stsc, stco, co64 and stss all have this
/// layout. (ctts's version says whether its offsets are signed; see [`Timing::next`].)
fn read_table<'a>(
    data: &'a [u8],
    found: Option<BoxHeader>,
    path: &'a str,
    entry_len: usize,
) -> Result<Option<Table<'a>>> {
    let Some(header) = found else { return Ok(None) };
    let mut r = Reader::payload(data, &header, path);
    r.version_and_flags()?;
    Table::read(&mut r, entry_len).map(Some)
}

/// Per-sample timing and sync flags, read in step with the samples.
#[derive(Debug)]
struct Timing<'a> {
    durations: Runs<'a>,
    composition_offsets: Option<Runs<'a>>,
    sync: SyncSamples<'a>,
    next_dts: i64,
}

impl Timing<'_> {
    /// Timing of sample `index` (0-based), in decode order.
    fn next(&mut self, index: usize, sample_count: usize) -> Result<(i64, u32, i32, bool)> {
        let short = |t: &Table<'_>| {
            ParseError::invalid(t.path, format!("covers {index} samples, the track has {sample_count}"))
                .at_offset(t.start as u64)
        };
        let duration = self.durations.next_value().ok_or_else(|| short(&self.durations.table))?;
        let cts_offset = match &mut self.composition_offsets {
            // Version 1 offsets are signed (8.6.1.3). Version 0 says unsigned, but writers put
            // negative offsets in version 0 boxes; like ffmpeg, read the bits as signed, since
            // an offset beyond 2^31 ticks means nothing else.
            Some(runs) => runs.next_value().ok_or_else(|| short(&runs.table))? as i32,
            None => 0,
        };
        let is_sync = self.sync.is_sync(index as u64 + 1)?;
        let dts = self.next_dts;
        let end = dts.checked_add(i64::from(cts_offset)).and_then(|pts| pts.checked_add(i64::from(duration)));
        if end.is_none() {
            // Only a composition offset can push the end past what stts's sum already fits.
            let table = self.composition_offsets.as_ref().map_or(&self.durations.table, |runs| &runs.table);
            let msg =
                format!("sample {} ends past the largest time (dts {dts} + {cts_offset} + {duration})", index + 1);
            return Err(ParseError::invalid(table.path, msg).at_offset(table.start as u64));
        }
        self.next_dts = dts.checked_add(i64::from(duration)).ok_or_else(|| {
            ParseError::invalid(self.durations.table.path, "decode times overflow")
                .at_offset(self.durations.table.start as u64)
        })?;
        Ok((dts, duration, cts_offset, is_sync))
    }
}

/// Where the samples lie: sizes, the sample-to-chunk map and the chunk offsets.
#[derive(Debug)]
struct ChunkLayout<'a> {
    sizes: SampleSizes<'a>,
    sizes_path: &'a str,
    stsc: Table<'a>,
    chunk_offsets: Table<'a>,
    /// Entries in `stsd`: stsc's sample_description_index must lie in `1..=` this.
    sample_description_count: u32,
}

impl ChunkLayout<'_> {
    /// Walks `stsc` (8.7.4) over the chunks of `stco`/`co64` (8.7.5): each entry applies from
    /// its first_chunk up to the next entry's, the last one until every sample is placed.
    fn place_samples(&self, file: &Bytes, sample_count: usize, timing: &mut Timing<'_>) -> Result<Vec<Sample>> {
        let stsc = &self.stsc;
        let mut samples = Vec::with_capacity(sample_count);
        let mut previous_first_chunk = 0;
        for entry in 0..stsc.len() {
            let (Some(first_chunk), Some(samples_per_chunk), Some(description_index)) =
                (stsc.u32_at(entry, 0), stsc.u32_at(entry, 4), stsc.u32_at(entry, 8))
            else {
                return Err(stsc.error_at(entry, "entry cut short"));
            };
            if entry == 0 && first_chunk != 1 {
                return Err(stsc.error_at(entry, format!("first entry starts at chunk {first_chunk}, not 1")));
            }
            if first_chunk <= previous_first_chunk {
                let msg = format!("first_chunk {first_chunk} does not follow {previous_first_chunk}");
                return Err(stsc.error_at(entry, msg));
            }
            if description_index == 0 || description_index > self.sample_description_count {
                let msg =
                    format!("sample_description_index {description_index}, stsd has {}", self.sample_description_count);
                return Err(stsc.error_at(entry, msg));
            }
            previous_first_chunk = first_chunk;
            let next_first_chunk = stsc.u32_at(entry + 1, 0);
            let mut chunk = first_chunk;
            while samples.len() < sample_count && next_first_chunk.is_none_or(|next| chunk < next) {
                self.place_chunk(file, chunk, samples_per_chunk, sample_count, &mut samples, timing)?;
                let Some(next) = chunk.checked_add(1) else { break };
                chunk = next;
            }
        }
        if samples.len() < sample_count {
            let msg = format!("places {} of {sample_count} samples in chunks", samples.len());
            return Err(ParseError::invalid(stsc.path, msg).at_offset(stsc.start as u64));
        }
        Ok(samples)
    }

    /// Appends the samples of chunk number `chunk` (1-based), which lie back to back from its
    /// offset.
    fn place_chunk(
        &self,
        file: &Bytes,
        chunk: u32,
        samples_per_chunk: u32,
        sample_count: usize,
        samples: &mut Vec<Sample>,
        timing: &mut Timing<'_>,
    ) -> Result<()> {
        let offsets = &self.chunk_offsets;
        let chunk_index = chunk.saturating_sub(1) as usize;
        let offset = match offsets.entry_len {
            8 => offsets.u64_at(chunk_index, 0),
            _ => offsets.u32_at(chunk_index, 0).map(u64::from),
        };
        let Some(mut pos) = offset else {
            let msg = format!("stsc needs chunk {chunk}, the table has {} chunks", offsets.len());
            return Err(ParseError::invalid(offsets.path, msg).at_offset(offsets.start as u64));
        };
        for _ in 0..samples_per_chunk {
            let index = samples.len();
            if index == sample_count {
                break;
            }
            let size = self.sizes.size_of(index).ok_or_else(|| ParseError::truncated(self.sizes_path))?;
            let end = pos.checked_add(u64::from(size)).filter(|&end| end <= file.len() as u64);
            let data = end.and_then(|end| checked_slice(file, pos as usize, end as usize)).ok_or_else(|| {
                let msg = format!(
                    "sample {} ({size} bytes at {pos}) ends past the end of the file ({} bytes)",
                    index + 1,
                    file.len()
                );
                offsets.error_at(chunk_index, msg)
            })?;
            let (dts, duration, cts_offset, is_sync) = timing.next(index, sample_count)?;
            samples.push(Sample { data, dts, cts_offset, duration, is_sync });
            pos += u64::from(size);
        }
        Ok(())
    }
}

//! Immutable blocks on disk: one directory per block under the tenant's
//! directory, holding `meta.json`, `index` and `chunks`.
//!
//! Encoding (stronger than the head's Gorilla chunks, because blocks are
//! written once and read rarely):
//! - timestamps: first value, first delta, then delta-of-deltas as zigzag varints
//!   (a regular scrape interval gives long runs of zeros);
//! - values: when they are decimals (as scraped text almost always is), the
//!   integer mantissas at one common decimal exponent as zigzag varint deltas,
//!   with non-finite values (NaN, ±Inf, stale markers) kept as exceptions;
//!   otherwise the XOR of consecutive bit patterns;
//! - each series is cut into chunks at 4-hour windows (of the epoch), written window by
//!   window, so a query for a short time range decodes only the chunks, and reads only the
//!   pages, of its windows; the index holds every chunk's page, place and first and last time;
//! - chunks are packed into pages of about 1 MiB and each page is compressed with zstd.
//!
//! Every file starts with a magic and a format version. Format 3 is written (format 2 plus
//! each chunk's sample count in the index, so a query's size is known before it reads);
//! formats 1 (one chunk per series) and 2 are still read, and compaction rewrites them.
//!
//! An open block keeps its index as symbol numbers (each distinct string once), not as
//! owned label strings per series; labels are built only for the series a query returns.

use crate::cache::Caches;
use crate::enc::{Decoder, put_str, put_uvarint, put_varint};
use crate::labels::{Labels, Matcher};
use crate::{Budget, SelectError, SeriesData, expected_samples};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const INDEX_MAGIC: &[u8; 8] = b"VTIDX\x00\x00\x01";
const CHUNKS_MAGIC: &[u8; 8] = b"VTCHK\x00\x00\x01";
pub const FORMAT_VERSION: u32 = 3;
/// Blocks cut series into chunks at multiples of this (in milliseconds since the epoch).
const CHUNK_WINDOW_MS: i64 = 4 * 3600 * 1000;

fn window_of(t: i64) -> i64 {
    t.div_euclid(CHUNK_WINDOW_MS)
}
const PAGE_BYTES: usize = 1 << 20;
/// How hard a block's pages are compressed. Measured on node-exporter-like data (2,000 series
/// × 1,440 samples, release build): zstd 3 takes 0.06 s per million samples for 0.81
/// bytes/sample, zstd 19 1.0 s for 0.67. Blocks that are merged again later are written fast;
/// only those that stay (the largest window of a tenant) are written strong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Fast,
    Strong,
}

impl Compression {
    fn zstd_level(self) -> i32 {
        match self {
            Compression::Fast => 3,
            Compression::Strong => 19,
        }
    }
}

const VALUES_DECIMAL: u8 = 0;
const VALUES_XOR: u8 = 1;

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The smallest decimal exponent that represents `v` exactly, if any.
fn decimal_exponent(v: f64) -> Option<u8> {
    if !v.is_finite() || (v == 0.0 && v.is_sign_negative()) {
        return None;
    }
    let mut scale = 1.0f64;
    for e in 0..=15u8 {
        let m = (v * scale).round();
        if m.abs() <= 9_007_199_254_740_992.0 && m / scale == v {
            return Some(e);
        }
        scale *= 10.0;
    }
    None
}

/// Appends the encoding of one series' samples (sorted by time) to `out`.
pub(crate) fn encode_samples(samples: &[(i64, f64)], out: &mut Vec<u8>) {
    put_uvarint(out, samples.len() as u64);
    let mut prev_t = 0i64;
    let mut prev_delta = 0i64;
    for (i, (t, _)) in samples.iter().enumerate() {
        match i {
            0 => put_varint(out, *t),
            1 => {
                prev_delta = t.wrapping_sub(prev_t);
                put_varint(out, prev_delta);
            }
            _ => {
                let delta = t.wrapping_sub(prev_t);
                put_varint(out, delta.wrapping_sub(prev_delta));
                prev_delta = delta;
            }
        }
        prev_t = *t;
    }
    let exponents: Vec<Option<u8>> = samples.iter().map(|(_, v)| decimal_exponent(*v)).collect();
    let exceptions = exponents.iter().filter(|e| e.is_none()).count();
    let exponent = exponents.iter().flatten().copied().max().unwrap_or(0);
    let scale = 10f64.powi(exponent as i32);
    let exact = samples.iter().zip(&exponents).all(|((_, v), e)| {
        e.is_none() || {
            let m = (v * scale).round();
            m.abs() <= 9_007_199_254_740_992.0 && m / scale == *v
        }
    });
    if exact && exceptions * 4 <= samples.len() {
        out.push(VALUES_DECIMAL);
        out.push(exponent);
        let mut prev = 0i64;
        let mut special = Vec::new();
        for (i, ((_, v), e)) in samples.iter().zip(&exponents).enumerate() {
            let m = if e.is_some() { (v * scale).round() as i64 } else { prev };
            if e.is_none() {
                special.push((i, v.to_bits()));
            }
            put_varint(out, m.wrapping_sub(prev));
            prev = m;
        }
        put_uvarint(out, special.len() as u64);
        for (i, bits) in special {
            put_uvarint(out, i as u64);
            out.extend_from_slice(&bits.to_le_bytes());
        }
    } else {
        out.push(VALUES_XOR);
        let mut prev = 0u64;
        for (_, v) in samples {
            out.extend_from_slice(&(v.to_bits() ^ prev).to_le_bytes());
            prev = v.to_bits();
        }
    }
}

/// Decodes what [`encode_samples`] wrote, appending the samples in `[mint, maxt]` to `out`;
/// `None` on corrupt data.
pub(crate) fn decode_samples(d: &mut Decoder<'_>, mint: i64, maxt: i64, out: &mut Vec<(i64, f64)>) -> Option<()> {
    let count = d.len()?;
    let base = out.len();
    // Timestamps first (strictly increasing, or the data is corrupt): they tell which values to keep.
    let mut from = count;
    let mut t = 0i64;
    let mut delta = 0i64;
    for i in 0..count {
        let previous = t;
        match i {
            0 => t = d.varint()?,
            1 => {
                delta = d.varint()?;
                t = t.wrapping_add(delta);
            }
            _ => {
                delta = delta.wrapping_add(d.varint()?);
                t = t.wrapping_add(delta);
            }
        }
        if i > 0 && t <= previous {
            return None;
        }
        if (mint..=maxt).contains(&t) {
            from = from.min(i);
            out.push((t, 0.0));
        }
    }
    let to = from + (out.len() - base);
    let kept = |i: usize| (from..to).contains(&i).then(|| base + i - from);
    match d.u8()? {
        VALUES_DECIMAL => {
            let exponent = d.u8()?;
            if exponent > 15 {
                return None;
            }
            let scale = 10f64.powi(exponent as i32);
            let mut m = 0i64;
            for i in 0..count {
                m = m.wrapping_add(d.varint()?);
                if let Some(at) = kept(i) {
                    out[at].1 = m as f64 / scale;
                }
            }
            let specials = d.len()?;
            for _ in 0..specials {
                let i = usize::try_from(d.uvarint()?).ok()?;
                let bits = d.u64_le()?;
                if i >= count {
                    return None;
                }
                if let Some(at) = kept(i) {
                    out[at].1 = f64::from_bits(bits);
                }
            }
        }
        VALUES_XOR => {
            let mut prev = 0u64;
            for i in 0..count {
                prev ^= d.u64_le()?;
                if let Some(at) = kept(i) {
                    out[at].1 = f64::from_bits(prev);
                }
            }
        }
        _ => return None,
    }
    Some(())
}

/// What `meta.json` says about a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub version: u32,
    pub min_t: i64,
    /// Exclusive end of the time range the block covers.
    pub max_t: i64,
    pub series: u64,
    pub samples: u64,
    pub level: u32,
    /// Blocks (directory names) this one replaces: a merge or a rewrite writes
    /// the new block first; if it is cut short before the old ones are gone,
    /// opening the store removes them.
    pub replaces: Vec<String>,
}

impl Meta {
    fn to_json(&self) -> String {
        let replaces: Vec<String> = self.replaces.iter().map(|r| format!("\"{r}\"")).collect();
        format!(
            "{{\"version\":{},\"min_t\":{},\"max_t\":{},\"series\":{},\"samples\":{},\"level\":{},\"replaces\":[{}]}}\n",
            self.version,
            self.min_t,
            self.max_t,
            self.series,
            self.samples,
            self.level,
            replaces.join(",")
        )
    }

    fn from_json(text: &str) -> Option<Meta> {
        let field = |name: &str| -> Option<i64> {
            let start = text.find(&format!("\"{name}\":"))? + name.len() + 3;
            let rest = &text[start..];
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            rest[..end].trim().parse().ok()
        };
        Some(Meta {
            version: u32::try_from(field("version")?).ok()?,
            min_t: field("min_t")?,
            max_t: field("max_t")?,
            series: u64::try_from(field("series")?).ok()?,
            samples: u64::try_from(field("samples")?).ok()?,
            level: u32::try_from(field("level")?).ok()?,
            replaces: match text.find("\"replaces\":[") {
                Some(start) => {
                    let rest = &text[start + 12..];
                    rest[..rest.find(']')?]
                        .split(',')
                        .map(|name| name.trim().trim_matches('"').to_string())
                        .filter(|name| !name.is_empty())
                        .collect()
                }
                None => Vec::new(),
            },
        })
    }
}

/// A series of an open block: its labels as symbol numbers, sorted by name.
struct SeriesEntry {
    labels: Box<[(u32, u32)]>,
    /// In time order, which is also their order in the chunks file.
    chunks: Box<[ChunkRef]>,
}

/// Where one chunk of a series lies, the time of its first and last sample, and how many
/// samples it holds (0: unknown, a block of format 1 or 2).
struct ChunkRef {
    page: u32,
    offset: u32,
    len: u32,
    count: u32,
    min_t: i64,
    max_t: i64,
}

impl ChunkRef {
    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.min_t <= maxt && self.max_t >= mint
    }
}

/// Writes a block from series sorted by labels, each with samples sorted by
/// time inside `[min_t, max_t)`. Written to a temporary directory and renamed,
/// so a block either exists completely or not at all.
pub fn write(
    dir: &Path,
    meta_level: u32,
    min_t: i64,
    max_t: i64,
    replaces: &[String],
    series: &[SeriesData],
    compression: Compression,
) -> io::Result<Meta> {
    let (labels, series) = labelled(series);
    let mut writer = BlockWriter::create(dir, labels, compression)?;
    add_all(&mut writer, &series)?;
    writer.finish(meta_level, min_t, max_t, replaces)
}

/// The series with samples, and their labels: what [`add_all`] writes.
pub fn labelled(series: &[SeriesData]) -> (Vec<Labels>, Vec<&SeriesData>) {
    let series: Vec<&SeriesData> = series.iter().filter(|s| !s.samples.is_empty()).collect();
    (series.iter().map(|s| s.labels.clone()).collect(), series)
}

/// Adds series held in memory (those the writer was created with, in order) window by window.
pub fn add_all(writer: &mut BlockWriter, series: &[&SeriesData]) -> io::Result<()> {
    let mut rest: Vec<&[(i64, f64)]> = series.iter().map(|s| &s.samples[..]).collect();
    while let Some(window) = rest.iter().filter_map(|r| r.first()).map(|(t, _)| window_of(*t)).min() {
        for (i, samples) in rest.iter_mut().enumerate() {
            let n = samples.partition_point(|(t, _)| window_of(*t) <= window);
            let (chunk, later) = samples.split_at(n);
            *samples = later;
            writer.add(i, chunk)?;
        }
    }
    Ok(())
}

/// The start of the chunk window after the one holding `t`.
pub(crate) fn next_window_start(t: i64) -> i64 {
    (window_of(t) + 1).saturating_mul(CHUNK_WINDOW_MS)
}

/// Writes a block piece by piece, so neither a merge nor a head compaction holds all of a
/// tenant's samples at once: the series (sorted by labels) are known up front; their samples
/// come window by window (the 4-hour chunk windows, in time order), and within a window in
/// series order. A query for a short time range then decompresses only its windows' pages.
pub struct BlockWriter {
    dir: PathBuf,
    tmp: PathBuf,
    labels: Vec<Labels>,
    chunk_refs: Vec<Vec<ChunkRef>>,
    chunks: io::BufWriter<File>,
    file_offset: u64,
    pages: Vec<(u64, u32)>,
    page: Vec<u8>,
    samples_written: u64,
    zstd: i32,
}

impl BlockWriter {
    pub fn create(dir: &Path, labels: Vec<Labels>, compression: Compression) -> io::Result<BlockWriter> {
        let tmp = dir.with_extension("tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        let mut chunks = io::BufWriter::new(File::create(tmp.join("chunks"))?);
        chunks.write_all(CHUNKS_MAGIC)?;
        Ok(BlockWriter {
            dir: dir.to_owned(),
            tmp,
            chunk_refs: labels.iter().map(|_| Vec::new()).collect(),
            labels,
            chunks,
            file_offset: CHUNKS_MAGIC.len() as u64,
            pages: Vec::new(),
            page: Vec::with_capacity(PAGE_BYTES + 4096),
            samples_written: 0,
            zstd: compression.zstd_level(),
        })
    }

    /// Adds samples (sorted, within one chunk window) of series `i` of the labels given.
    pub fn add(&mut self, i: usize, samples: &[(i64, f64)]) -> io::Result<()> {
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return Ok(());
        };
        let refs = self
            .chunk_refs
            .get_mut(i)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no such series in the block"))?;
        let start = self.page.len();
        encode_samples(samples, &mut self.page);
        self.samples_written += samples.len() as u64;
        refs.push(ChunkRef {
            page: self.pages.len() as u32,
            offset: start as u32,
            len: (self.page.len() - start) as u32,
            count: samples.len() as u32,
            min_t: first.0,
            max_t: last.0,
        });
        if self.page.len() >= PAGE_BYTES {
            self.flush_page()?;
        }
        Ok(())
    }

    /// Whether no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples_written == 0
    }

    /// Removes what was written: the block is not made.
    pub fn abandon(self) -> io::Result<()> {
        drop(self.chunks);
        fs::remove_dir_all(&self.tmp)
    }

    fn flush_page(&mut self) -> io::Result<()> {
        let compressed = zstd::bulk::compress(&self.page, self.zstd)?;
        self.chunks.write_all(&compressed)?;
        self.pages.push((self.file_offset, compressed.len() as u32));
        self.file_offset += compressed.len() as u64;
        self.page.clear();
        Ok(())
    }

    /// Writes the index and the meta and puts the block in place. Series that got no
    /// samples are left out.
    pub fn finish(mut self, meta_level: u32, min_t: i64, max_t: i64, replaces: &[String]) -> io::Result<Meta> {
        if !self.page.is_empty() {
            self.flush_page()?;
        }
        let file = self.chunks.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let entries: Vec<(&Labels, &Vec<ChunkRef>)> = self
            .labels
            .iter()
            .zip(self.chunk_refs.iter())
            .filter(|(_, chunks)| !chunks.is_empty())
            .collect();

        // Index: symbols, pages, series.
        let mut symbols: Vec<&str> = entries
            .iter()
            .flat_map(|(labels, _)| labels.iter().flat_map(|(n, v)| [n, v]))
            .collect();
        symbols.sort_unstable();
        symbols.dedup();
        let symbol_id: HashMap<&str, u64> = symbols.iter().enumerate().map(|(i, s)| (*s, i as u64)).collect();
        let mut raw = Vec::new();
        put_uvarint(&mut raw, symbols.len() as u64);
        for s in &symbols {
            put_str(&mut raw, s);
        }
        put_uvarint(&mut raw, self.pages.len() as u64);
        for (offset, len) in &self.pages {
            put_uvarint(&mut raw, *offset);
            put_uvarint(&mut raw, *len as u64);
        }
        put_uvarint(&mut raw, entries.len() as u64);
        for (labels, chunks) in &entries {
            put_uvarint(&mut raw, labels.len() as u64);
            for (n, v) in labels.iter() {
                put_uvarint(&mut raw, symbol_id[n]);
                put_uvarint(&mut raw, symbol_id[v]);
            }
            put_uvarint(&mut raw, chunks.len() as u64);
            for c in chunks.iter() {
                put_uvarint(&mut raw, c.page as u64);
                put_uvarint(&mut raw, c.offset as u64);
                put_uvarint(&mut raw, c.len as u64);
                put_uvarint(&mut raw, c.count as u64);
                put_varint(&mut raw, c.min_t);
                put_varint(&mut raw, c.max_t.wrapping_sub(c.min_t));
            }
        }
        // The inverted index: for every label pair, the series that have it (ascending, delta-coded).
        let mut postings: std::collections::BTreeMap<(u64, u64), Vec<u32>> = std::collections::BTreeMap::new();
        for (i, (labels, _)) in entries.iter().enumerate() {
            for (n, v) in labels.iter() {
                postings.entry((symbol_id[n], symbol_id[v])).or_default().push(i as u32);
            }
        }
        put_uvarint(&mut raw, postings.len() as u64);
        for ((n, v), list) in &postings {
            put_uvarint(&mut raw, *n);
            put_uvarint(&mut raw, *v);
            put_uvarint(&mut raw, list.len() as u64);
            let mut previous = 0u32;
            for s in list {
                put_uvarint(&mut raw, (s - previous) as u64);
                previous = *s;
            }
        }
        let mut index = INDEX_MAGIC.to_vec();
        index.extend_from_slice(&zstd::bulk::compress(&raw, self.zstd)?);
        write_synced(&self.tmp.join("index"), &index)?;
        let meta = Meta {
            version: FORMAT_VERSION,
            min_t,
            max_t,
            series: entries.len() as u64,
            samples: self.samples_written,
            level: meta_level,
            replaces: replaces.to_vec(),
        };
        write_synced(&self.tmp.join("meta.json"), meta.to_json().as_bytes())?;
        crate::wal::sync_dir(&self.tmp)?;
        if self.dir.exists() {
            fs::remove_dir_all(&self.dir)?;
        }
        fs::rename(&self.tmp, &self.dir)?;
        if let Some(parent) = self.dir.parent() {
            crate::wal::sync_dir(parent)?;
        }
        Ok(meta)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// An open block: its index in memory, its chunks read on demand.
pub struct Block {
    pub dir: PathBuf,
    pub meta: Meta,
    /// Every distinct label name and value, sorted (a string's number is its place).
    symbols: Vec<Box<str>>,
    series: Vec<SeriesEntry>,
    /// (name, value) → series, ascending.
    postings: HashMap<(u32, u32), Vec<u32>>,
    /// name → its values, sorted.
    values: HashMap<u32, Vec<u32>>,
    pages: Vec<(u64, u32)>,
    /// Bytes of the block's files (blocks never change).
    disk_bytes: u64,
    /// The store's page and file caches, and this block's key in them.
    caches: Arc<Caches>,
    id: u64,
}

impl Block {
    pub fn open(dir: &Path, caches: Arc<Caches>) -> io::Result<Block> {
        let meta_text = fs::read_to_string(dir.join("meta.json"))?;
        let meta = Meta::from_json(&meta_text).ok_or_else(|| invalid("meta.json is not valid"))?;
        if !(1..=FORMAT_VERSION).contains(&meta.version) {
            return Err(invalid(&format!(
                "block format version {} is not supported",
                meta.version
            )));
        }
        let index = fs::read(dir.join("index"))?;
        if index.len() < INDEX_MAGIC.len() || &index[..INDEX_MAGIC.len()] != INDEX_MAGIC {
            return Err(invalid("index has no valid header"));
        }
        let raw = zstd::stream::decode_all(&index[INDEX_MAGIC.len()..])?;
        let mut d = Decoder::new(&raw);
        let bad = || invalid("index is corrupt");
        let n = d.len().ok_or_else(bad)?;
        let mut symbols: Vec<Box<str>> = Vec::with_capacity(n);
        for _ in 0..n {
            let symbol = d.str().ok_or_else(bad)?;
            if symbols.last().is_some_and(|last| &**last >= symbol) {
                return Err(bad());
            }
            symbols.push(symbol.into());
        }
        let n = d.len().ok_or_else(bad)?;
        let mut pages = Vec::with_capacity(n);
        for _ in 0..n {
            let offset = d.uvarint().ok_or_else(bad)?;
            let len = u32::try_from(d.uvarint().ok_or_else(bad)?).map_err(|_| bad())?;
            pages.push((offset, len));
        }
        let symbol = |d: &mut Decoder<'_>| {
            d.uvarint()
                .and_then(|v| u32::try_from(v).ok())
                .filter(|id| (*id as usize) < symbols.len())
                .ok_or_else(bad)
        };
        let n = d.len().ok_or_else(bad)?;
        let mut series = Vec::with_capacity(n);
        for _ in 0..n {
            let labels_len = d.len().ok_or_else(bad)?;
            let mut pairs = Vec::with_capacity(labels_len);
            for _ in 0..labels_len {
                pairs.push((symbol(&mut d)?, symbol(&mut d)?));
            }
            // The writer sorts labels by name, and symbol numbers follow the strings' order.
            if pairs.windows(2).any(|w| w[0].0 >= w[1].0) {
                return Err(bad());
            }
            let num = |d: &mut Decoder<'_>| d.uvarint().and_then(|v| u32::try_from(v).ok()).ok_or_else(bad);
            // Version 1 kept each series as one chunk, without a count.
            let count = if meta.version == 1 { 1 } else { d.len().ok_or_else(bad)? };
            let mut chunks = Vec::with_capacity(count);
            for _ in 0..count {
                let page = num(&mut d)?;
                let offset = num(&mut d)?;
                let len = num(&mut d)?;
                let count = if meta.version >= 3 { num(&mut d)? } else { 0 };
                let min_t = d.varint().ok_or_else(bad)?;
                let max_t = min_t.wrapping_add(d.varint().ok_or_else(bad)?);
                chunks.push(ChunkRef {
                    page,
                    offset,
                    len,
                    count,
                    min_t,
                    max_t,
                });
            }
            series.push(SeriesEntry {
                labels: pairs.into(),
                chunks: chunks.into(),
            });
        }
        let n = d.len().ok_or_else(bad)?;
        let mut postings: HashMap<(u32, u32), Vec<u32>> = HashMap::with_capacity(n);
        let mut values: HashMap<u32, Vec<u32>> = HashMap::new();
        for _ in 0..n {
            let name = symbol(&mut d)?;
            let value = symbol(&mut d)?;
            let count = d.len().ok_or_else(bad)?;
            let mut list = Vec::with_capacity(count);
            let mut s = 0u32;
            for _ in 0..count {
                s = s
                    .checked_add(u32::try_from(d.uvarint().ok_or_else(bad)?).map_err(|_| bad())?)
                    .ok_or_else(bad)?;
                if s as usize >= series.len() {
                    return Err(bad());
                }
                list.push(s);
            }
            postings.insert((name, value), list);
            values.entry(name).or_default().push(value);
        }
        for list in values.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        let id = caches.block_id();
        let chunks = caches.file(id, &dir.join("chunks"))?;
        let mut magic = [0u8; 8];
        chunks.read_exact_at(&mut magic, 0)?;
        if &magic != CHUNKS_MAGIC {
            return Err(invalid("chunks file has no valid header"));
        }
        let disk_bytes = ["meta.json", "index", "chunks"]
            .iter()
            .filter_map(|f| fs::metadata(dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        Ok(Block {
            dir: dir.to_owned(),
            meta,
            symbols,
            series,
            postings,
            values,
            pages,
            disk_bytes,
            caches,
            id,
        })
    }

    fn page(&self, page: u32) -> io::Result<Arc<Vec<u8>>> {
        let (offset, len) = *self
            .pages
            .get(page as usize)
            .ok_or_else(|| invalid("page out of range"))?;
        self.caches.page(self.id, page, || {
            let mut compressed = vec![0u8; len as usize];
            self.caches
                .file(self.id, &self.dir.join("chunks"))?
                .read_exact_at(&mut compressed, offset)?;
            zstd::stream::decode_all(&compressed[..])
        })
    }

    fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols.binary_search_by(|x| (**x).cmp(s)).ok().map(|i| i as u32)
    }

    fn labels_of(&self, entry: &SeriesEntry) -> Labels {
        Labels::new(
            entry
                .labels
                .iter()
                .map(|(n, v)| {
                    (
                        self.symbols[*n as usize].to_string(),
                        self.symbols[*v as usize].to_string(),
                    )
                })
                .collect(),
        )
    }

    /// The series matching every matcher with a chunk in `[mint, maxt]`, through the postings.
    fn matching(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> impl Iterator<Item = &SeriesEntry> {
        let found = if self.meta.max_t <= mint || self.meta.min_t > maxt {
            Vec::new()
        } else {
            crate::postings::select(self, matchers)
        };
        found
            .into_iter()
            .map(|i| &self.series[i as usize])
            .filter(move |e| e.chunks.iter().any(|c| c.overlaps(mint, maxt)))
    }

    /// The labels of the matching series with a chunk in `[mint, maxt]`, read from the index
    /// alone (for the series, labels and label values of the API).
    pub fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.matching(matchers, mint, maxt).map(|e| self.labels_of(e)).collect()
    }

    /// How many series and (about) how many samples a select would load, from the index alone.
    /// Chunks of older formats, without counts, count as none: their samples are counted as they
    /// are decoded.
    pub fn expected(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> (usize, usize) {
        self.matching(matchers, mint, maxt)
            .fold((0, 0), |(series, samples), e| {
                let in_range: usize = e
                    .chunks
                    .iter()
                    .map(|c| expected_samples(c.count, c.min_t, c.max_t, mint, maxt))
                    .sum();
                (series + 1, samples + in_range)
            })
    }

    /// The label pairs of the block's series, from the postings.
    pub fn label_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.postings
            .keys()
            .map(|(n, v)| (&*self.symbols[*n as usize], &*self.symbols[*v as usize]))
    }

    /// Matching series with their samples in `[mint, maxt]`, within the budget.
    pub fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        budget: &Budget<'_>,
    ) -> Result<Vec<SeriesData>, SelectError> {
        self.read(self.matching(matchers, mint, maxt), mint, maxt, budget)
    }

    /// The series whose labels lie in `[first, last]` (the block's series are sorted by
    /// labels), with their samples in `[mint, maxt]`: a merge reads a block a slice at a time.
    pub fn select_between(&self, first: &Labels, last: &Labels, mint: i64, maxt: i64) -> io::Result<Vec<SeriesData>> {
        let from = self.series.partition_point(|e| self.labels_of(e) < *first);
        let to = self.series.partition_point(|e| self.labels_of(e) <= *last);
        let entries = self.series[from..to.max(from)]
            .iter()
            .filter(|e| e.chunks.iter().any(|c| c.overlaps(mint, maxt)));
        self.read(entries, mint, maxt, &Budget::unlimited())
            .map_err(io::Error::from)
    }

    fn read<'a>(
        &'a self,
        entries: impl Iterator<Item = &'a SeriesEntry>,
        mint: i64,
        maxt: i64,
        budget: &Budget<'_>,
    ) -> Result<Vec<SeriesData>, SelectError> {
        let mut out = Vec::new();
        let mut wanted: Vec<(usize, &ChunkRef)> = Vec::new();
        for entry in entries {
            wanted.extend(
                entry
                    .chunks
                    .iter()
                    .filter(|c| c.overlaps(mint, maxt))
                    .map(|c| (out.len(), c)),
            );
            out.push(SeriesData {
                labels: self.labels_of(entry),
                samples: Vec::new(),
            });
        }
        // In file order, which keeps each series' chunks in time order and reads every page once.
        wanted.sort_by_key(|(_, c)| (c.page, c.offset));
        let mut page: Option<(u32, Arc<Vec<u8>>)> = None;
        for (i, chunk) in wanted {
            if page.as_ref().is_none_or(|(number, _)| *number != chunk.page) {
                budget.check()?;
                page = Some((chunk.page, self.page(chunk.page)?));
            }
            let Some((_, page)) = &page else { unreachable!() };
            let start = chunk.offset as usize;
            let bytes = page
                .get(start..start + chunk.len as usize)
                .ok_or_else(|| invalid("series out of page"))?;
            let before = out[i].samples.len();
            decode_samples(&mut Decoder::new(bytes), mint, maxt, &mut out[i].samples)
                .ok_or_else(|| invalid("series data is corrupt"))?;
            budget.charge(out[i].samples.len() - before)?;
        }
        out.retain(|s| !s.samples.is_empty());
        Ok(out)
    }

    /// Every series with every sample (for compaction and deletion).
    pub fn all(&self) -> io::Result<Vec<SeriesData>> {
        self.select(&[], i64::MIN, i64::MAX, &Budget::unlimited())
            .map_err(io::Error::from)
    }

    /// Bytes of the block's files.
    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        self.caches.forget(self.id);
    }
}

impl crate::postings::Postings for Block {
    fn pair(&self, name: &str, value: &str) -> Option<&[u32]> {
        let key = (self.symbol_id(name)?, self.symbol_id(value)?);
        self.postings.get(&key).map(Vec::as_slice)
    }

    fn values_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<&[u32]> {
        let Some(n) = self.symbol_id(name) else {
            return Vec::new();
        };
        self.values
            .get(&n)
            .into_iter()
            .flatten()
            .filter(|v| keep(&self.symbols[**v as usize]))
            .filter_map(|v| self.postings.get(&(n, *v)).map(Vec::as_slice))
            .collect()
    }

    fn every(&self) -> Vec<u32> {
        (0..self.series.len() as u32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::MatchOp;

    fn test_caches() -> Arc<Caches> {
        Caches::new(4 << 20, 8)
    }
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        encode_samples(samples, &mut out);
        let mut decoded = Vec::new();
        decode_samples(&mut Decoder::new(&out), i64::MIN, i64::MAX, &mut decoded).unwrap();
        decoded
    }

    fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|(t, v)| (*t, v.to_bits())).collect()
    }

    proptest! {
        #[test]
        fn any_series_round_trips_bit_for_bit(samples in proptest::collection::btree_map(any::<i64>(), prop_oneof![
            any::<f64>(),
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0),
            Just(f64::from_bits(crate::STALE_NAN)),
            (0i64..100_000).prop_map(|v| v as f64 / 100.0),
        ], 0..200), mint: i64, span: u64) {
            let samples: Vec<(i64, f64)> = samples.into_iter().collect();
            prop_assert_eq!(bits(&round_trip(&samples)), bits(&samples));
            // Decoding a time range gives exactly the samples in it.
            let maxt = mint.saturating_add_unsigned(span >> 1);
            let mut out = Vec::new();
            encode_samples(&samples, &mut out);
            let mut part = vec![(1, 2.0)];
            decode_samples(&mut Decoder::new(&out), mint, maxt, &mut part).unwrap();
            let expected: Vec<(i64, f64)> = [(1, 2.0)].into_iter()
                .chain(samples.iter().copied().filter(|(t, _)| (mint..=maxt).contains(t)))
                .collect();
            prop_assert_eq!(bits(&part), bits(&expected));
        }

        #[test]
        fn corrupt_series_data_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_samples(&mut Decoder::new(&bytes), i64::MIN, i64::MAX, &mut Vec::new());
            let _ = decode_samples(&mut Decoder::new(&bytes), 0, 1000, &mut Vec::new());
        }
    }

    #[test]
    fn decimals_and_regular_timestamps_are_small() {
        let samples: Vec<(i64, f64)> = (0..1000)
            .map(|i| (1_700_000_000_000 + i * 15_000, 0.25 * (i / 7) as f64))
            .collect();
        let mut out = Vec::new();
        encode_samples(&samples, &mut out);
        // One byte per timestamp (zero delta-of-delta) and one per value delta.
        assert!(out.len() < 2100, "{}", out.len());
        assert_eq!(decimal_exponent(0.1), Some(1));
        assert_eq!(decimal_exponent(1234.5678), Some(4));
        assert_eq!(decimal_exponent(f64::NAN), None);
        assert_eq!(decimal_exponent(0.1 + 0.2), None);
    }

    #[test]
    fn a_written_block_reads_back_and_selects() {
        let dir = tempfile::tempdir().unwrap();
        let series: Vec<SeriesData> = (0..50)
            .map(|i| SeriesData {
                labels: Labels::from_pairs(&[("__name__", "http_requests_total"), ("route", &format!("/r{i}"))]),
                samples: (0..100).map(|t| (t * 1000, (t * i) as f64)).collect(),
            })
            .collect();
        let path = dir.path().join("b1");
        let meta = write(
            &path,
            1,
            0,
            100_000,
            &["old-1".to_string()],
            &series,
            Compression::Strong,
        )
        .unwrap();
        assert_eq!((meta.series, meta.samples), (50, 5000));
        let block = Block::open(&path, test_caches()).unwrap();
        assert_eq!(block.meta.replaces, ["old-1"]);
        let got = block
            .select(&[Matcher::equal("route", "/r7")], 10_000, 20_000, &Budget::unlimited())
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples.len(), 11);
        assert_eq!(got[0].samples[0], (10_000, 70.0));
        let re = [Matcher::new(MatchOp::Regex, "route", "/r1.").unwrap()];
        assert_eq!(block.select(&re, 0, 100_000, &Budget::unlimited()).unwrap().len(), 10);
        assert!(
            block
                .select(&re, 200_000, 300_000, &Budget::unlimited())
                .unwrap()
                .is_empty()
        );
        assert_eq!(block.all().unwrap().len(), 50);
        assert!(block.disk_bytes() > 0);
    }

    #[test]
    fn series_are_cut_into_windows_and_a_short_range_reads_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        // Three days at one sample a minute, and one series with a single sample.
        let day = 86_400_000;
        let mut series: Vec<SeriesData> = (0..20)
            .map(|i| SeriesData {
                labels: Labels::from_pairs(&[("__name__", "m"), ("i", &format!("{i:02}"))]),
                samples: (0..3 * 1440).map(|k| (k * 60_000, (k + i) as f64)).collect(),
            })
            .collect();
        series.push(SeriesData {
            labels: Labels::from_pairs(&[("__name__", "m"), ("i", "zz")]),
            samples: vec![(day + 5, -1.5)],
        });
        let path = dir.path().join("b");
        write(&path, 1, 0, 3 * day, &[], &series, Compression::Fast).unwrap();
        let block = Block::open(&path, test_caches()).unwrap();
        assert_eq!(block.series[0].chunks.len(), 18, "4 h windows over 3 days");
        assert!(block.pages.len() == 1 || block.series[0].chunks[0].page < block.series[0].chunks[17].page);
        assert_eq!(block.all().unwrap(), series);
        for (mint, maxt) in [
            (0, 0),
            (day - 1, day + 3_600_000),
            (5 * 3_600_000 + 1, 2 * day),
            (3 * day - 1, 4 * day),
        ] {
            let got = block.select(&[], mint, maxt, &Budget::unlimited()).unwrap();
            let expected: Vec<SeriesData> = series
                .iter()
                .map(|s| SeriesData {
                    labels: s.labels.clone(),
                    samples: s
                        .samples
                        .iter()
                        .copied()
                        .filter(|(t, _)| (mint..=maxt).contains(t))
                        .collect(),
                })
                .filter(|s| !s.samples.is_empty())
                .collect();
            assert_eq!(got, expected, "[{mint}, {maxt}]");
        }
    }

    #[test]
    fn a_block_of_format_version_1_still_reads() {
        // Written by the format-1 code: three series `up{job="j0|j1|j2"}`, one sample a minute
        // for 20 minutes, valued t*i/4 with a staleness marker at minute 7.
        let block = Block::open(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/block-v1")),
            test_caches(),
        )
        .unwrap();
        assert_eq!(block.meta.version, 1);
        let got = block
            .select(&[Matcher::equal("job", "j2")], 300_000, 540_000, &Budget::unlimited())
            .unwrap();
        assert_eq!(got.len(), 1);
        let values: Vec<u64> = got[0].samples.iter().map(|(_, v)| v.to_bits()).collect();
        let expected: Vec<u64> = [2.5, 3.0, f64::from_bits(crate::STALE_NAN), 4.0, 4.5]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(values, expected);
        assert_eq!(block.all().unwrap().len(), 3);
    }

    #[test]
    fn a_block_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        write(&path, 1, 0, 10, &[], &[], Compression::Fast).unwrap();
        let meta = fs::read_to_string(path.join("meta.json"))
            .unwrap()
            .replace(&format!("\"version\":{FORMAT_VERSION}"), "\"version\":9");
        fs::write(path.join("meta.json"), meta).unwrap();
        let err = Block::open(&path, test_caches()).err().unwrap();
        assert!(err.to_string().contains("version 9"), "{err}");
    }
}

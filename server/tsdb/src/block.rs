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
//! - series are packed into pages of about 1 MiB and each page is compressed with zstd.
//!
//! Every file starts with a magic and a format version.

use crate::SeriesData;
use crate::enc::{Decoder, put_str, put_uvarint, put_varint};
use crate::labels::{Labels, MatchOp, Matcher};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const INDEX_MAGIC: &[u8; 8] = b"VTIDX\x00\x00\x01";
const CHUNKS_MAGIC: &[u8; 8] = b"VTCHK\x00\x00\x01";
pub const FORMAT_VERSION: u32 = 1;
const PAGE_BYTES: usize = 1 << 20;
const ZSTD_LEVEL: i32 = 19;

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

/// Decodes what [`encode_samples`] wrote; `None` on corrupt data.
pub(crate) fn decode_samples(d: &mut Decoder<'_>) -> Option<Vec<(i64, f64)>> {
    let count = d.len()?;
    let mut times = Vec::with_capacity(count);
    let mut t = 0i64;
    let mut delta = 0i64;
    for i in 0..count {
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
        times.push(t);
    }
    let mut values = Vec::with_capacity(count);
    match d.u8()? {
        VALUES_DECIMAL => {
            let exponent = d.u8()?;
            if exponent > 15 {
                return None;
            }
            let scale = 10f64.powi(exponent as i32);
            let mut m = 0i64;
            for _ in 0..count {
                m = m.wrapping_add(d.varint()?);
                values.push(m as f64 / scale);
            }
            let specials = d.len()?;
            for _ in 0..specials {
                let i = usize::try_from(d.uvarint()?).ok()?;
                let bits = d.u64_le()?;
                *values.get_mut(i)? = f64::from_bits(bits);
            }
        }
        VALUES_XOR => {
            let mut prev = 0u64;
            for _ in 0..count {
                prev ^= d.u64_le()?;
                values.push(f64::from_bits(prev));
            }
        }
        _ => return None,
    }
    Some(times.into_iter().zip(values).collect())
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

struct SeriesEntry {
    labels: Labels,
    page: u32,
    offset: u32,
    len: u32,
    min_t: i64,
    max_t: i64,
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
) -> io::Result<Meta> {
    let tmp = dir.with_extension("tmp");
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let mut chunks = File::create(tmp.join("chunks"))?;
    chunks.write_all(CHUNKS_MAGIC)?;
    let mut file_offset = CHUNKS_MAGIC.len() as u64;
    let mut pages: Vec<(u64, u32)> = Vec::new();
    let mut page = Vec::with_capacity(PAGE_BYTES + 4096);
    let mut entries = Vec::with_capacity(series.len());
    let mut samples = 0u64;
    let mut flush = |page: &mut Vec<u8>, pages: &mut Vec<(u64, u32)>| -> io::Result<()> {
        let compressed = zstd::bulk::compress(page, ZSTD_LEVEL)?;
        chunks.write_all(&compressed)?;
        pages.push((file_offset, compressed.len() as u32));
        file_offset += compressed.len() as u64;
        page.clear();
        Ok(())
    };
    for s in series.iter().filter(|s| !s.samples.is_empty()) {
        let start = page.len();
        encode_samples(&s.samples, &mut page);
        samples += s.samples.len() as u64;
        entries.push(SeriesEntry {
            labels: s.labels.clone(),
            page: pages.len() as u32,
            offset: start as u32,
            len: (page.len() - start) as u32,
            min_t: s.samples.first().map_or(0, |x| x.0),
            max_t: s.samples.last().map_or(0, |x| x.0),
        });
        if page.len() >= PAGE_BYTES {
            flush(&mut page, &mut pages)?;
        }
    }
    if !page.is_empty() {
        flush(&mut page, &mut pages)?;
    }
    chunks.sync_all()?;
    drop(chunks);

    // Index: symbols, pages, series.
    let mut symbols: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.labels.iter().flat_map(|(n, v)| [n, v]))
        .collect();
    symbols.sort_unstable();
    symbols.dedup();
    let symbol_id: HashMap<&str, u64> = symbols.iter().enumerate().map(|(i, s)| (*s, i as u64)).collect();
    let mut raw = Vec::new();
    put_uvarint(&mut raw, symbols.len() as u64);
    for s in &symbols {
        put_str(&mut raw, s);
    }
    put_uvarint(&mut raw, pages.len() as u64);
    for (offset, len) in &pages {
        put_uvarint(&mut raw, *offset);
        put_uvarint(&mut raw, *len as u64);
    }
    put_uvarint(&mut raw, entries.len() as u64);
    for e in &entries {
        put_uvarint(&mut raw, e.labels.len() as u64);
        for (n, v) in e.labels.iter() {
            put_uvarint(&mut raw, symbol_id[n]);
            put_uvarint(&mut raw, symbol_id[v]);
        }
        put_uvarint(&mut raw, e.page as u64);
        put_uvarint(&mut raw, e.offset as u64);
        put_uvarint(&mut raw, e.len as u64);
        put_varint(&mut raw, e.min_t);
        put_varint(&mut raw, e.max_t.wrapping_sub(e.min_t));
    }
    // The inverted index: for every label pair, the series that have it (ascending, delta-coded).
    let mut postings: std::collections::BTreeMap<(u64, u64), Vec<u32>> = std::collections::BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        for (n, v) in e.labels.iter() {
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
    index.extend_from_slice(&zstd::bulk::compress(&raw, ZSTD_LEVEL)?);
    write_synced(&tmp.join("index"), &index)?;
    let meta = Meta {
        version: FORMAT_VERSION,
        min_t,
        max_t,
        series: entries.len() as u64,
        samples,
        level: meta_level,
        replaces: replaces.to_vec(),
    };
    write_synced(&tmp.join("meta.json"), meta.to_json().as_bytes())?;
    crate::wal::sync_dir(&tmp)?;
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::rename(&tmp, dir)?;
    if let Some(parent) = dir.parent() {
        crate::wal::sync_dir(parent)?;
    }
    Ok(meta)
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
    series: Vec<SeriesEntry>,
    postings: HashMap<(String, String), Vec<u32>>,
    pages: Vec<(u64, u32)>,
    chunks: File,
    /// The last page decompressed (queries read series in page order).
    cache: Mutex<Option<(u32, Arc<Vec<u8>>)>>,
}

impl Block {
    pub fn open(dir: &Path) -> io::Result<Block> {
        let meta_text = fs::read_to_string(dir.join("meta.json"))?;
        let meta = Meta::from_json(&meta_text).ok_or_else(|| invalid("meta.json is not valid"))?;
        if meta.version != FORMAT_VERSION {
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
        let mut symbols = Vec::with_capacity(n);
        for _ in 0..n {
            symbols.push(d.str().ok_or_else(bad)?.to_string());
        }
        let n = d.len().ok_or_else(bad)?;
        let mut pages = Vec::with_capacity(n);
        for _ in 0..n {
            let offset = d.uvarint().ok_or_else(bad)?;
            let len = u32::try_from(d.uvarint().ok_or_else(bad)?).map_err(|_| bad())?;
            pages.push((offset, len));
        }
        let n = d.len().ok_or_else(bad)?;
        let mut series = Vec::with_capacity(n);
        let symbol = |id: u64| symbols.get(id as usize).cloned().ok_or_else(bad);
        for _ in 0..n {
            let labels_len = d.len().ok_or_else(bad)?;
            let mut pairs = Vec::with_capacity(labels_len);
            for _ in 0..labels_len {
                let name = symbol(d.uvarint().ok_or_else(bad)?)?;
                let value = symbol(d.uvarint().ok_or_else(bad)?)?;
                pairs.push((name, value));
            }
            let labels = Labels::new(pairs);
            let num = |d: &mut Decoder<'_>| d.uvarint().and_then(|v| u32::try_from(v).ok()).ok_or_else(bad);
            let page = num(&mut d)?;
            let offset = num(&mut d)?;
            let len = num(&mut d)?;
            let min_t = d.varint().ok_or_else(bad)?;
            let max_t = min_t.wrapping_add(d.varint().ok_or_else(bad)?);
            series.push(SeriesEntry {
                labels,
                page,
                offset,
                len,
                min_t,
                max_t,
            });
        }
        let n = d.len().ok_or_else(bad)?;
        let mut postings: HashMap<(String, String), Vec<u32>> = HashMap::with_capacity(n);
        for _ in 0..n {
            let name = symbol(d.uvarint().ok_or_else(bad)?)?;
            let value = symbol(d.uvarint().ok_or_else(bad)?)?;
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
        }
        let chunks = File::open(dir.join("chunks"))?;
        let mut magic = [0u8; 8];
        chunks.read_exact_at(&mut magic, 0)?;
        if &magic != CHUNKS_MAGIC {
            return Err(invalid("chunks file has no valid header"));
        }
        Ok(Block {
            dir: dir.to_owned(),
            meta,
            series,
            postings,
            pages,
            chunks,
            cache: Mutex::new(None),
        })
    }

    fn page(&self, page: u32) -> io::Result<Arc<Vec<u8>>> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, bytes)) = cache.as_ref()
            && *cached == page
        {
            return Ok(bytes.clone());
        }
        let (offset, len) = *self
            .pages
            .get(page as usize)
            .ok_or_else(|| invalid("page out of range"))?;
        let mut compressed = vec![0u8; len as usize];
        self.chunks.read_exact_at(&mut compressed, offset)?;
        let bytes = Arc::new(zstd::stream::decode_all(&compressed[..])?);
        *cache = Some((page, bytes.clone()));
        Ok(bytes)
    }

    fn samples(&self, entry: &SeriesEntry) -> io::Result<Vec<(i64, f64)>> {
        let page = self.page(entry.page)?;
        let start = entry.offset as usize;
        let bytes = page
            .get(start..start + entry.len as usize)
            .ok_or_else(|| invalid("series out of page"))?;
        decode_samples(&mut Decoder::new(bytes)).ok_or_else(|| invalid("series data is corrupt"))
    }

    /// Matching series with their samples in `[mint, maxt]`.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> io::Result<Vec<SeriesData>> {
        if self.meta.max_t <= mint || self.meta.min_t > maxt {
            return Ok(Vec::new());
        }
        let mut lists: Vec<&Vec<u32>> = Vec::new();
        for m in matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal && !m.value.is_empty())
        {
            match self.postings.get(&(m.name.clone(), m.value.clone())) {
                Some(list) => lists.push(list),
                None => return Ok(Vec::new()),
            }
        }
        lists.sort_by_key(|l| l.len());
        let candidates: Vec<u32> = match lists.split_first() {
            None => (0..self.series.len() as u32).collect(),
            Some((first, rest)) => first
                .iter()
                .copied()
                .filter(|s| rest.iter().all(|l| l.binary_search(s).is_ok()))
                .collect(),
        };
        let mut out = Vec::new();
        for i in candidates {
            let entry = &self.series[i as usize];
            if entry.max_t < mint || entry.min_t > maxt || !matchers.iter().all(|m| m.matches_labels(&entry.labels)) {
                continue;
            }
            let samples: Vec<(i64, f64)> = self
                .samples(entry)?
                .into_iter()
                .filter(|(t, _)| (mint..=maxt).contains(t))
                .collect();
            if !samples.is_empty() {
                out.push(SeriesData {
                    labels: entry.labels.clone(),
                    samples,
                });
            }
        }
        Ok(out)
    }

    /// Every series with every sample (for compaction and deletion).
    pub fn all(&self) -> io::Result<Vec<SeriesData>> {
        self.series
            .iter()
            .map(|e| {
                Ok(SeriesData {
                    labels: e.labels.clone(),
                    samples: self.samples(e)?,
                })
            })
            .collect()
    }

    /// Bytes of the block's files.
    pub fn disk_bytes(&self) -> u64 {
        ["meta.json", "index", "chunks"]
            .iter()
            .filter_map(|f| fs::metadata(self.dir.join(f)).ok())
            .map(|m| m.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, f64)]) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        encode_samples(samples, &mut out);
        decode_samples(&mut Decoder::new(&out)).unwrap()
    }

    fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
        samples.iter().map(|(t, v)| (*t, v.to_bits())).collect()
    }

    proptest! {
        #[test]
        fn any_series_round_trips_bit_for_bit(samples in proptest::collection::vec((any::<i64>(), prop_oneof![
            any::<f64>(),
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0),
            Just(f64::from_bits(crate::STALE_NAN)),
            (0i64..100_000).prop_map(|v| v as f64 / 100.0),
        ]), 0..200)) {
            prop_assert_eq!(bits(&round_trip(&samples)), bits(&samples));
        }

        #[test]
        fn corrupt_series_data_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_samples(&mut Decoder::new(&bytes));
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
        let meta = write(&path, 1, 0, 100_000, &["old-1".to_string()], &series).unwrap();
        assert_eq!((meta.series, meta.samples), (50, 5000));
        let block = Block::open(&path).unwrap();
        assert_eq!(block.meta.replaces, ["old-1"]);
        let got = block.select(&[Matcher::equal("route", "/r7")], 10_000, 20_000).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples.len(), 11);
        assert_eq!(got[0].samples[0], (10_000, 70.0));
        let re = [Matcher::new(MatchOp::Regex, "route", "/r1.").unwrap()];
        assert_eq!(block.select(&re, 0, 100_000).unwrap().len(), 10);
        assert!(block.select(&re, 200_000, 300_000).unwrap().is_empty());
        assert_eq!(block.all().unwrap().len(), 50);
        assert!(block.disk_bytes() > 0);
    }

    #[test]
    fn a_block_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        write(&path, 1, 0, 10, &[], &[]).unwrap();
        let meta = fs::read_to_string(path.join("meta.json"))
            .unwrap()
            .replace("\"version\":1", "\"version\":9");
        fs::write(path.join("meta.json"), meta).unwrap();
        let err = Block::open(&path).err().unwrap();
        assert!(err.to_string().contains("version 9"), "{err}");
    }
}

//! The head: recent samples of every active series, in memory, in Gorilla
//! chunks, with an inverted index (postings) per tenant and label pair.

use crate::head_chunks::{HeadChunks, Place};
use crate::labels::{Labels, Matcher};
use crate::slots::Slots;
use crate::xor::{XorChunk, XorIter};
use crate::{AppendError, Budget, SelectError, SeriesData, Tenant, expected_samples};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Index of a series in the head; stable for the life of the process and
/// never given to another series, even after this one is forgotten.
pub type SeriesRef = u32;

/// Samples per head chunk before it is sealed (as Prometheus).
const CHUNK_SAMPLES: usize = 120;

/// Every label name and value of the head's series, once, counted by use: a string no
/// series uses any more is freed and its number given to the next new string, so series
/// that come and go (pods, deployments) do not grow the head.
#[derive(Default)]
struct Symbols {
    ids: HashMap<Arc<str>, u32>,
    /// By number: the string and how many label pairs of live series use it.
    strings: Vec<Option<(Arc<str>, u32)>>,
    free: Vec<u32>,
}

impl Symbols {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            if let Some(Some((_, uses))) = self.strings.get_mut(*id as usize) {
                *uses += 1;
            }
            return *id;
        }
        let s: Arc<str> = s.into();
        let id = match self.free.pop() {
            Some(id) => {
                self.strings[id as usize] = Some((s.clone(), 1));
                id
            }
            None => {
                self.strings.push(Some((s.clone(), 1)));
                (self.strings.len() - 1) as u32
            }
        };
        self.ids.insert(s, id);
        id
    }

    /// One use of the symbol fewer; the last frees it.
    fn release(&mut self, id: u32) {
        let Some(entry) = self.strings.get_mut(id as usize) else {
            return;
        };
        let Some((s, uses)) = entry else { return };
        *uses -= 1;
        if *uses == 0 {
            self.ids.remove(&**s);
            *entry = None;
            self.free.push(id);
        }
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn resolve(&self, id: u32) -> &str {
        match self.strings.get(id as usize) {
            Some(Some((s, _))) => s,
            _ => "",
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A series' tenant and its labels as symbol pairs, sorted by name.
type SeriesMeta = (Tenant, Box<[(u32, u32)]>);

#[derive(Default)]
struct Index {
    symbols: Symbols,
    /// [`series_key`] → series; a second list holds collisions.
    by_hash: HashMap<u64, SeriesRef>,
    collisions: HashMap<u64, Vec<SeriesRef>>,
    /// (tenant, name, value) → series, ascending.
    postings: HashMap<(Tenant, u32, u32), Vec<SeriesRef>>,
    /// tenant → label name → the values it has (sorted symbols): regex and negative
    /// matchers and label listings read one tenant's values, never the others'.
    values: HashMap<Tenant, HashMap<u32, Vec<u32>>>,
    /// tenant → every series of it, ascending.
    all: HashMap<Tenant, Vec<SeriesRef>>,
    /// The tenant and the labels (as symbol pairs) of each series, by reference.
    meta: Slots<SeriesMeta>,
    tenants: Vec<Tenant>,
}

impl Index {
    fn pairs(&self, series: SeriesRef) -> &[(u32, u32)] {
        self.meta.get(series).map_or(&[][..], |(_, pairs)| pairs)
    }

    fn labels_of(&self, series: SeriesRef) -> Labels {
        let pairs = self.pairs(series);
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| {
                    (
                        self.symbols.resolve(*n).to_string(),
                        self.symbols.resolve(*v).to_string(),
                    )
                })
                .collect(),
        )
    }

    fn same_series(&self, series: SeriesRef, tenant: Tenant, labels: &Labels) -> bool {
        let Some((owner, pairs)) = self.meta.get(series) else {
            return false;
        };
        *owner == tenant
            && pairs.len() == labels.len()
            && pairs
                .iter()
                .zip(labels.iter())
                .all(|((n, v), (ln, lv))| self.symbols.resolve(*n) == ln && self.symbols.resolve(*v) == lv)
    }

    fn find(&self, tenant: Tenant, hash: u64, labels: &Labels) -> Option<SeriesRef> {
        let key = series_key(tenant, hash);
        let first = *self.by_hash.get(&key)?;
        if self.same_series(first, tenant, labels) {
            return Some(first);
        }
        self.collisions
            .get(&key)?
            .iter()
            .copied()
            .find(|s| self.same_series(*s, tenant, labels))
    }

    /// Series of `tenant` matching every matcher, through the postings.
    fn candidates(&self, tenant: Tenant, matchers: &[Matcher]) -> Vec<SeriesRef> {
        crate::postings::select(&TenantPostings { index: self, tenant }, matchers)
    }
}

/// One tenant's part of the head's index.
struct TenantPostings<'a> {
    index: &'a Index,
    tenant: Tenant,
}

impl crate::postings::Postings for TenantPostings<'_> {
    fn pair(&self, name: &str, value: &str) -> Option<&[u32]> {
        let index = self.index;
        let (n, v) = (index.symbols.get(name)?, index.symbols.get(value)?);
        index.postings.get(&(self.tenant, n, v)).map(Vec::as_slice)
    }

    fn values_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<&[u32]> {
        let index = self.index;
        let Some(n) = index.symbols.get(name) else {
            return Vec::new();
        };
        let Some(values) = index.values.get(&self.tenant).and_then(|names| names.get(&n)) else {
            return Vec::new();
        };
        values
            .iter()
            .filter(|v| keep(index.symbols.resolve(**v)))
            .filter_map(|v| index.postings.get(&(self.tenant, n, *v)).map(Vec::as_slice))
            .collect()
    }

    fn every(&self) -> Vec<u32> {
        self.index.all.get(&self.tenant).cloned().unwrap_or_default()
    }
}

/// A full chunk of a series: 24 bytes, kept for each of a series' last hours.
struct Sealed {
    min_t: i64,
    place: Place,
    /// `max_t - min_t`: a chunk is cut before it would span more (see [`MemSeries::append`]).
    span: u32,
    count: u16,
    len: u16,
}

impl Sealed {
    fn max_t(&self) -> i64 {
        self.min_t + self.span as i64
    }

    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.max_t() >= mint && self.min_t <= maxt
    }
}

/// One head chunk as the write-ahead log checkpoint carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChunkData {
    pub min_t: i64,
    pub max_t: i64,
    pub count: u32,
    pub bytes: Box<[u8]>,
}

#[derive(Default)]
struct MemSeries {
    sealed: Vec<Sealed>,
    open: XorChunk,
    last_value: u64,
    /// Bytes of the sealed chunks' encodings held in memory (not in the chunk files).
    sealed_bytes: u32,
}

impl MemSeries {
    fn last_t(&self) -> Option<i64> {
        self.open.last_t().or_else(|| self.sealed.last().map(Sealed::max_t))
    }

    fn append(&mut self, t: i64, v: f64, files: &HeadChunks) -> Result<bool, AppendError> {
        if let Some(last) = self.last_t() {
            if t < last {
                return Err(AppendError::OutOfOrder);
            }
            if t == last {
                return if v.to_bits() == self.last_value {
                    Ok(false)
                } else {
                    Err(AppendError::DuplicateTimestamp)
                };
            }
        }
        let too_long = self.open.first_t().is_some_and(|first| t - first > u32::MAX as i64);
        if self.open.len() >= CHUNK_SAMPLES || too_long {
            let full = std::mem::take(&mut self.open);
            if let (Some(min_t), Some(max_t)) = (full.first_t(), full.last_t()) {
                self.seal(files, full.bytes(), full.len(), min_t, max_t);
            }
        }
        self.open.append(t, v);
        self.last_value = v.to_bits();
        Ok(true)
    }

    /// Keeps a full chunk (of at most `u16::MAX` samples and bytes, spanning at most
    /// `u32::MAX` ms, as every chunk [`MemSeries::append`] cuts).
    fn seal(&mut self, files: &HeadChunks, bytes: &[u8], count: usize, min_t: i64, max_t: i64) {
        let place = files.put(bytes, max_t);
        if place.in_memory() {
            self.sealed_bytes += bytes.len() as u32;
        }
        // One at a time: a series keeps a handful, and doubling would waste a third.
        self.sealed.reserve_exact(1);
        self.sealed.push(Sealed {
            min_t,
            place,
            span: (max_t - min_t) as u32,
            count: count as u16,
            len: bytes.len() as u16,
        });
    }

    fn sealed_bytes(&self, files: &HeadChunks, sealed: &Sealed) -> std::io::Result<Vec<u8>> {
        files.get(sealed.place, sealed.len as usize)
    }

    fn samples(&self, mint: i64, maxt: i64, files: &HeadChunks, out: &mut Vec<(i64, f64)>) -> std::io::Result<()> {
        for sealed in self.sealed.iter().filter(|s| s.overlaps(mint, maxt)) {
            let bytes = self.sealed_bytes(files, sealed)?;
            out.extend(XorIter::new(&bytes, sealed.count as usize).filter(|(t, _)| (mint..=maxt).contains(t)));
        }
        if self.open.first_t().is_some_and(|first| first <= maxt) && self.open.last_t().is_some_and(|l| l >= mint) {
            out.extend(self.open.iter().filter(|(t, _)| (mint..=maxt).contains(t)));
        }
        Ok(())
    }

    /// About how many samples lie in `[mint, maxt]`, from the chunks' counts.
    fn expected(&self, mint: i64, maxt: i64) -> usize {
        let sealed: usize = self
            .sealed
            .iter()
            .map(|s| expected_samples(s.count as u32, s.min_t, s.max_t(), mint, maxt))
            .sum();
        let open = match (self.open.first_t(), self.open.last_t()) {
            (Some(first), Some(last)) => expected_samples(self.open.len() as u32, first, last, mint, maxt),
            _ => 0,
        };
        sealed + open
    }

    /// Whether a chunk of the series reaches into `[mint, maxt]`.
    fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.sealed.iter().any(|s| s.overlaps(mint, maxt))
            || (self.open.first_t().is_some_and(|first| first <= maxt) && self.open.last_t().is_some_and(|l| l >= mint))
    }

    fn bytes(&self) -> usize {
        self.sealed_bytes as usize + self.sealed.len() * std::mem::size_of::<Sealed>() + self.open.byte_len()
    }

    fn len(&self) -> usize {
        self.sealed.iter().map(|c| c.count as usize).sum::<usize>() + self.open.len()
    }

    fn min_t(&self) -> Option<i64> {
        self.sealed.first().map(|s| s.min_t).or(self.open.first_t())
    }

    fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.open.is_empty()
    }

    fn chunks(&self, files: &HeadChunks) -> std::io::Result<Vec<ChunkData>> {
        let mut out = Vec::with_capacity(self.sealed.len() + 1);
        for s in &self.sealed {
            out.push(ChunkData {
                min_t: s.min_t,
                max_t: s.max_t(),
                count: s.count as u32,
                bytes: self.sealed_bytes(files, s)?.into(),
            });
        }
        if let (Some(min_t), Some(max_t)) = (self.open.first_t(), self.open.last_t()) {
            out.push(ChunkData {
                min_t,
                max_t,
                count: self.open.len() as u32,
                bytes: self.open.bytes().into(),
            });
        }
        Ok(out)
    }

    /// Puts a chunk back: a whole chunk after the last sample is kept as it is;
    /// anything else (the last, open chunk; an overlap) is appended sample by sample.
    fn restore(&mut self, chunk: ChunkData, files: &HeadChunks) {
        let after_last = self.last_t().is_none_or(|last| chunk.min_t > last);
        let fits = chunk.count <= u16::MAX as u32
            && chunk.bytes.len() <= u16::MAX as usize
            && (0..=u32::MAX as i64).contains(&(chunk.max_t - chunk.min_t));
        if after_last && fits && self.open.is_empty() && chunk.count as usize >= CHUNK_SAMPLES {
            let last_value = XorIter::new(&chunk.bytes, chunk.count as usize)
                .last()
                .map(|(_, v)| v.to_bits());
            self.seal(files, &chunk.bytes, chunk.count as usize, chunk.min_t, chunk.max_t);
            self.last_value = last_value.unwrap_or(self.last_value);
            return;
        }
        for (t, v) in XorIter::new(&chunk.bytes, chunk.count as usize) {
            let _ = self.append(t, v, files);
        }
    }

    /// Drops whole chunks that end before `t`; returns whether samples remain.
    fn truncate_before(&mut self, t: i64, files: &HeadChunks) -> bool {
        let before = self.sealed.len();
        self.sealed.retain(|s| {
            let keep = s.max_t() >= t;
            if !keep {
                files.release(s.place);
            }
            keep
        });
        if self.sealed.len() < before {
            self.sealed.shrink_to_fit();
        }
        self.sealed_bytes = self
            .sealed
            .iter()
            .filter(|s| s.place.in_memory())
            .map(|s| s.len as u32)
            .sum();
        if self.open.last_t().is_some_and(|last| last < t) {
            self.open = XorChunk::default();
        }
        !self.sealed.is_empty() || !self.open.is_empty()
    }
}

/// What the head holds, for `tsdb stats` and `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadStats {
    pub series: usize,
    /// Distinct label names and values in use.
    pub symbols: usize,
    pub samples: usize,
    pub chunk_bytes: usize,
    pub min_t: Option<i64>,
    pub max_t: Option<i64>,
}

/// The key of a series in [`Index::by_hash`]: its labels' hash with its tenant mixed in
/// (8 bytes a series instead of 16; a collision is told apart by the labels and the tenant).
fn series_key(tenant: Tenant, hash: u64) -> u64 {
    hash ^ (tenant as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn insert_into_index(index: &mut Index, id: SeriesRef, tenant: Tenant, hash: u64, labels: &Labels) {
    let pairs: Box<[(u32, u32)]> = labels
        .iter()
        .map(|(n, v)| (index.symbols.intern(n), index.symbols.intern(v)))
        .collect();
    for (n, v) in pairs.iter() {
        let list = index.postings.entry((tenant, *n, *v)).or_default();
        if list.is_empty() {
            let values = index.values.entry(tenant).or_default().entry(*n).or_default();
            if let Err(at) = values.binary_search(v) {
                values.insert(at, *v);
            }
        }
        let at = list.partition_point(|s| *s < id);
        list.insert(at, id);
    }
    index.meta.set(id, (tenant, pairs));
    if !index.all.contains_key(&tenant) {
        index.tenants.push(tenant);
    }
    let list = index.all.entry(tenant).or_default();
    let at = list.partition_point(|s| *s < id);
    list.insert(at, id);
    let key = series_key(tenant, hash);
    match index.by_hash.entry(key) {
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(id);
        }
        std::collections::hash_map::Entry::Occupied(_) => index.collisions.entry(key).or_default().push(id),
    }
}

/// A series' place in the head; `None` once the series is forgotten (its
/// reference is never reused, and appending to it fails).
type SeriesTable = Slots<Box<Mutex<MemSeries>>>;

fn slot(all: &SeriesTable, series: SeriesRef) -> Option<&Mutex<MemSeries>> {
    all.get(series).map(|s| &**s)
}

#[derive(Default)]
pub struct Head {
    index: RwLock<Index>,
    series: RwLock<SeriesTable>,
    /// Samples before this time live in blocks; the head neither accepts nor returns them.
    min_valid_t: AtomicI64,
    /// Counts the times series were forgotten: a reference held since an
    /// earlier count may be gone (see [`Head::is_live`]).
    epoch: AtomicU64,
    /// Where full chunks are kept.
    files: HeadChunks,
    /// Running totals for [`Head::stats`], so reading them scans nothing.
    samples: AtomicUsize,
    chunk_bytes: AtomicUsize,
    /// The earliest and latest sample time (`i64::MAX` / `i64::MIN` when empty).
    min_t: AtomicI64,
    max_t: AtomicI64,
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Head {
    /// A head that keeps every chunk in memory.
    pub fn new() -> Head {
        Head {
            min_valid_t: AtomicI64::new(i64::MIN),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            ..Head::default()
        }
    }

    /// A head that keeps its full chunks in files in `dir` (emptied first).
    pub fn with_chunk_files(dir: std::path::PathBuf) -> std::io::Result<Head> {
        Ok(Head {
            files: HeadChunks::open(dir)?,
            ..Head::new()
        })
    }

    pub fn min_valid_t(&self) -> i64 {
        self.min_valid_t.load(Ordering::Relaxed)
    }

    /// Changes whenever series are forgotten; while it stays the same, every
    /// reference seen alive is still alive.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Whether the series is in the head (not forgotten by truncation or deletion).
    pub fn is_live(&self, series: SeriesRef) -> bool {
        slot(&read(&self.series), series).is_some()
    }

    /// The series for these labels, created if new; `true` when created.
    pub fn get_or_create(&self, tenant: Tenant, labels: &Labels) -> (SeriesRef, bool) {
        self.get_or_create_within(tenant, labels, usize::MAX)
            .unwrap_or_else(|| unreachable!("no tenant has usize::MAX series"))
    }

    /// As [`Head::get_or_create`], but `None` instead of creating the tenant's
    /// `max_series`-th series: exact however many appenders create series at once.
    pub fn get_or_create_within(
        &self,
        tenant: Tenant,
        labels: &Labels,
        max_series: usize,
    ) -> Option<(SeriesRef, bool)> {
        let hash = labels.hash64();
        if let Some(found) = read(&self.index).find(tenant, hash, labels) {
            return Some((found, false));
        }
        let mut index = write(&self.index);
        if let Some(found) = index.find(tenant, hash, labels) {
            return Some((found, false));
        }
        if index.all.get(&tenant).map_or(0, Vec::len) >= max_series {
            return None;
        }
        let mut series = write(&self.series);
        let id = series.len() as SeriesRef;
        series.set(id, Box::default());
        drop(series);
        insert_into_index(&mut index, id, tenant, hash, labels);
        Some((id, true))
    }

    /// The series for these labels, if the head has it.
    pub fn find(&self, tenant: Tenant, labels: &Labels) -> Option<SeriesRef> {
        read(&self.index).find(tenant, labels.hash64(), labels)
    }

    /// Re-creates a series under the reference the write-ahead log knows it by.
    pub fn restore_series(&self, series_ref: SeriesRef, tenant: Tenant, labels: &Labels) {
        let hash = labels.hash64();
        let mut index = write(&self.index);
        if index.find(tenant, hash, labels).is_some() {
            return;
        }
        write(&self.series).set(series_ref, Box::default());
        insert_into_index(&mut index, series_ref, tenant, hash, labels);
    }

    /// Appends one sample. `Ok(false)` for an exact duplicate (ignored).
    pub fn append(&self, series: SeriesRef, t: i64, v: f64) -> Result<bool, AppendError> {
        let mut result = Ok(false);
        self.append_all(&[(series, t, v)], |outcome| result = outcome);
        result
    }

    /// Appends a batch of samples, calling `outcome` with each one's result; takes the
    /// series table's lock once and adds to the running totals once.
    pub fn append_all(&self, samples: &[(SeriesRef, i64, f64)], mut outcome: impl FnMut(Result<bool, AppendError>)) {
        let min_valid = self.min_valid_t();
        let all = read(&self.series);
        let (mut appended, mut bytes, mut min_t, mut max_t) = (0isize, 0isize, i64::MAX, i64::MIN);
        for (series, t, v) in samples {
            if *t < min_valid {
                outcome(Err(AppendError::OutOfBounds));
                continue;
            }
            let Some(s) = slot(&all, *series) else {
                outcome(Err(AppendError::UnknownSeries));
                continue;
            };
            let mut m = lock(s);
            let before = m.bytes();
            let result = m.append(*t, *v, &self.files);
            if let Ok(true) = result {
                appended += 1;
                bytes += m.bytes() as isize - before as isize;
                min_t = min_t.min(*t);
                max_t = max_t.max(*t);
            }
            drop(m);
            outcome(result);
        }
        drop(all);
        if appended > 0 {
            self.counted(appended, bytes, min_t, max_t);
        }
    }

    /// Adds to the running totals.
    fn counted(&self, samples: isize, bytes: isize, min_t: i64, max_t: i64) {
        if samples >= 0 {
            self.samples.fetch_add(samples as usize, Ordering::Relaxed);
        } else {
            self.samples.fetch_sub(samples.unsigned_abs(), Ordering::Relaxed);
        }
        if bytes >= 0 {
            self.chunk_bytes.fetch_add(bytes as usize, Ordering::Relaxed);
        } else {
            self.chunk_bytes.fetch_sub(bytes.unsigned_abs(), Ordering::Relaxed);
        }
        self.min_t.fetch_min(min_t, Ordering::Relaxed);
        self.max_t.fetch_max(max_t, Ordering::Relaxed);
    }

    /// Puts a chunk from the write-ahead log's checkpoint back into a series.
    pub fn restore_chunk(&self, series: SeriesRef, chunk: ChunkData) {
        if let Some(s) = slot(&read(&self.series), series) {
            let mut m = lock(s);
            let (samples, bytes) = (m.len(), m.bytes());
            let (min_t, max_t) = (chunk.min_t, chunk.max_t);
            m.restore(chunk, &self.files);
            self.counted(
                m.len() as isize - samples as isize,
                m.bytes() as isize - bytes as isize,
                min_t,
                max_t,
            );
        }
    }

    /// The series' chunks, for the write-ahead log's checkpoint.
    pub fn chunks_of(&self, series: SeriesRef) -> std::io::Result<Vec<ChunkData>> {
        slot(&read(&self.series), series).map_or_else(|| Ok(Vec::new()), |s| lock(s).chunks(&self.files))
    }

    /// The labels of a series the head has.
    pub fn labels_of(&self, series: SeriesRef) -> Option<Labels> {
        let index = read(&self.index);
        index.meta.get(series).is_some().then(|| index.labels_of(series))
    }

    /// Every series in the head with its tenant, by tenant and reference.
    pub fn live_series(&self) -> Vec<(Tenant, SeriesRef)> {
        let index = read(&self.index);
        let mut tenants = index.tenants.clone();
        tenants.sort_unstable();
        tenants
            .iter()
            .flat_map(|t| index.all.get(t).into_iter().flatten().map(move |s| (*t, *s)))
            .collect()
    }

    pub fn last_timestamp(&self, series: SeriesRef) -> Option<i64> {
        slot(&read(&self.series), series).and_then(|s| lock(s).last_t())
    }

    /// `tenant`'s series matching every matcher, with their labels.
    fn matching(&self, tenant: Tenant, matchers: &[Matcher]) -> Vec<(SeriesRef, Labels)> {
        let index = read(&self.index);
        index
            .candidates(tenant, matchers)
            .into_iter()
            .map(|s| (s, index.labels_of(s)))
            .collect()
    }

    /// How many of `tenant`'s series match and about how many of their samples lie in
    /// `[mint, maxt]` (from the chunks' counts; nothing is decoded).
    pub fn expected(&self, tenant: Tenant, matchers: &[Matcher], mint: i64, maxt: i64) -> (usize, usize) {
        let mint = mint.max(self.min_valid_t());
        let found = read(&self.index).candidates(tenant, matchers);
        let all = read(&self.series);
        let samples = found
            .iter()
            .filter_map(|s| slot(&all, *s))
            .map(|m| lock(m).expected(mint, maxt))
            .sum();
        (found.len(), samples)
    }

    /// Series of `tenant` matching every matcher, with their samples in `[mint, maxt]`.
    pub fn select(
        &self,
        tenant: Tenant,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        budget: &Budget<'_>,
    ) -> Result<Vec<SeriesData>, SelectError> {
        let mint = mint.max(self.min_valid_t());
        let found = self.matching(tenant, matchers);
        let all = read(&self.series);
        let mut out = Vec::new();
        for (s, labels) in found {
            let Some(m) = slot(&all, s) else { continue };
            let mut samples = Vec::new();
            lock(m).samples(mint, maxt, &self.files, &mut samples)?;
            budget.charge(samples.len())?;
            if !samples.is_empty() {
                out.push(SeriesData { labels, samples });
            }
        }
        Ok(out)
    }

    /// The labels of `tenant`'s series matching every matcher with a chunk in `[mint, maxt]`,
    /// without decoding samples.
    pub fn series(&self, tenant: Tenant, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let mint = mint.max(self.min_valid_t());
        let found = self.matching(tenant, matchers);
        let all = read(&self.series);
        found
            .into_iter()
            .filter(|(s, _)| slot(&all, *s).is_some_and(|m| lock(m).overlaps(mint, maxt)))
            .map(|(_, labels)| labels)
            .collect()
    }

    /// The label pairs of `tenant`'s series, from the postings.
    pub fn label_pairs(&self, tenant: Tenant) -> Vec<(String, String)> {
        let index = read(&self.index);
        let Some(names) = index.values.get(&tenant) else {
            return Vec::new();
        };
        names
            .iter()
            .flat_map(|(n, values)| values.iter().map(move |v| (*n, *v)))
            .map(|(n, v)| {
                (
                    index.symbols.resolve(n).to_string(),
                    index.symbols.resolve(v).to_string(),
                )
            })
            .collect()
    }

    /// Every series with labels (also those without samples), for the WAL checkpoint and for blocks.
    pub fn series_of(&self, tenant: Tenant) -> Vec<(SeriesRef, Labels)> {
        let index = read(&self.index);
        index
            .all
            .get(&tenant)
            .map(|list| list.iter().map(|s| (*s, index.labels_of(*s))).collect())
            .unwrap_or_default()
    }

    pub fn tenants(&self) -> Vec<Tenant> {
        read(&self.index).tenants.clone()
    }

    pub fn samples_of(&self, series: SeriesRef, mint: i64, maxt: i64) -> std::io::Result<Vec<(i64, f64)>> {
        let mut out = Vec::new();
        if let Some(s) = slot(&read(&self.series), series) {
            lock(s).samples(mint.max(self.min_valid_t()), maxt, &self.files, &mut out)?;
        }
        Ok(out)
    }

    /// Forgets everything before `t` (now in blocks) and series left without samples.
    pub fn truncate_before(&self, t: i64) {
        let empty = self.drop_chunks_before(t);
        self.forget_empty(&empty);
    }

    /// The first half of a truncation, which appends may run beside: drops the
    /// chunks before `t` and returns the series left without samples (sorted).
    pub fn drop_chunks_before(&self, t: i64) -> Vec<SeriesRef> {
        self.min_valid_t.fetch_max(t, Ordering::Relaxed);
        let all = read(&self.series);
        let (mut samples, mut bytes, mut min_t) = (0isize, 0isize, i64::MAX);
        let mut empty = Vec::new();
        for (i, s) in all.iter() {
            let mut m = lock(s);
            let (before_samples, before_bytes) = (m.len(), m.bytes());
            let left = m.truncate_before(t, &self.files);
            samples += m.len() as isize - before_samples as isize;
            bytes += m.bytes() as isize - before_bytes as isize;
            match m.min_t() {
                Some(first) => min_t = min_t.min(first),
                None if !left => empty.push(i),
                None => {}
            }
        }
        self.counted(samples, bytes, i64::MAX, i64::MIN);
        // The pass saw every series: its minimum replaces the running one.
        self.min_t.store(min_t, Ordering::Relaxed);
        drop(all);
        self.files.drop_before(t);
        empty
    }

    /// The second half: forgets those of `candidates` (sorted) still without
    /// samples. The store runs it while no commit appends.
    pub fn forget_empty(&self, candidates: &[SeriesRef]) {
        let empty: Vec<SeriesRef> = {
            let all = read(&self.series);
            candidates
                .iter()
                .copied()
                .filter(|s| slot(&all, *s).is_some_and(|m| lock(m).is_empty()))
                .collect()
        };
        self.forget(&empty);
    }

    /// Removes series (sorted refs) from the index and frees their samples;
    /// their references are never given out again. Touches only the postings
    /// of the series' own labels.
    pub fn forget(&self, gone: &[SeriesRef]) {
        if gone.is_empty() {
            return;
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut guard = write(&self.index);
        let index = &mut *guard;
        let mut by_key: HashMap<(Tenant, u32, u32), Vec<SeriesRef>> = HashMap::new();
        let mut by_tenant: HashMap<Tenant, Vec<SeriesRef>> = HashMap::new();
        let mut released: Vec<(u32, u32)> = Vec::new();
        for s in gone {
            let hash = index.labels_of(*s).hash64();
            let Some((tenant, pairs)) = index.meta.take(*s) else {
                continue;
            };
            let key = series_key(tenant, hash);
            if index.by_hash.get(&key) == Some(s) {
                index.by_hash.remove(&key);
                if let Some(list) = index.collisions.get_mut(&key) {
                    if let Some(next) = list.pop() {
                        index.by_hash.insert(key, next);
                    }
                    if list.is_empty() {
                        index.collisions.remove(&key);
                    }
                }
            } else if let Some(list) = index.collisions.get_mut(&key) {
                list.retain(|c| c != s);
                if list.is_empty() {
                    index.collisions.remove(&key);
                }
            }
            for (n, v) in pairs.iter() {
                by_key.entry((tenant, *n, *v)).or_default().push(*s);
            }
            by_tenant.entry(tenant).or_default().push(*s);
            released.extend(pairs.iter().copied());
        }
        for ((tenant, n, v), refs) in by_key {
            let emptied = index.postings.get_mut(&(tenant, n, v)).is_some_and(|list| {
                list.retain(|s| refs.binary_search(s).is_err());
                list.is_empty()
            });
            if emptied {
                index.postings.remove(&(tenant, n, v));
                if let Some(names) = index.values.get_mut(&tenant) {
                    if let Some(values) = names.get_mut(&n) {
                        values.retain(|x| *x != v);
                        if values.is_empty() {
                            names.remove(&n);
                        }
                    }
                    if names.is_empty() {
                        index.values.remove(&tenant);
                    }
                }
            }
        }
        for (tenant, refs) in by_tenant {
            let emptied = index.all.get_mut(&tenant).is_some_and(|list| {
                list.retain(|s| refs.binary_search(s).is_err());
                list.is_empty()
            });
            if emptied {
                index.all.remove(&tenant);
                index.tenants.retain(|t| *t != tenant);
            }
        }
        // Last: a freed number may be given to a new string at once.
        for (n, v) in released {
            index.symbols.release(n);
            index.symbols.release(v);
        }
        drop(guard);
        let mut all = write(&self.series);
        let (mut samples, mut bytes) = (0isize, 0isize);
        for s in gone {
            if let Some(m) = all.take(*s) {
                let m = lock(&m);
                samples -= m.len() as isize;
                bytes -= m.bytes() as isize;
                for sealed in &m.sealed {
                    self.files.release(sealed.place);
                }
            }
        }
        self.counted(samples, bytes, i64::MAX, i64::MIN);
    }

    /// Removes the matching series of a tenant (privacy deletion); returns their references.
    pub fn delete(&self, tenant: Tenant, matchers: &[Matcher]) -> Vec<SeriesRef> {
        let mut gone: Vec<SeriesRef> = {
            let index = read(&self.index);
            index
                .candidates(tenant, matchers)
                .into_iter()
                .filter(|s| matchers.iter().all(|m| m.matches_labels(&index.labels_of(*s))))
                .collect()
        };
        gone.sort_unstable();
        self.forget(&gone);
        gone
    }

    /// The head's totals, from running counters (nothing is scanned).
    pub fn stats(&self) -> HeadStats {
        let (series, symbols) = {
            let index = read(&self.index);
            (index.all.values().map(Vec::len).sum(), index.symbols.len())
        };
        let samples = self.samples.load(Ordering::Relaxed);
        let (min_t, max_t) = (self.min_t.load(Ordering::Relaxed), self.max_t.load(Ordering::Relaxed));
        HeadStats {
            series,
            symbols,
            samples,
            chunk_bytes: self.chunk_bytes.load(Ordering::Relaxed),
            // A chunk that straddles the truncation point still holds samples before it,
            // which no query reads any more: the head starts where it was truncated.
            min_t: (samples > 0 && min_t != i64::MAX).then(|| min_t.max(self.min_valid_t())),
            max_t: (samples > 0 && max_t != i64::MIN).then_some(max_t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::MatchOp;

    fn select_all(head: &Head, tenant: Tenant, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesData> {
        head.select(tenant, matchers, mint, maxt, &Budget::unlimited()).unwrap()
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs)
    }

    #[test]
    fn appends_select_and_tenants_are_separate() {
        let head = Head::new();
        let a = l(&[("__name__", "up"), ("job", "node")]);
        let (s1, created) = head.get_or_create(1, &a);
        assert!(created);
        assert_eq!(head.get_or_create(1, &a), (s1, false));
        let (s2, created) = head.get_or_create(2, &a);
        assert!(created && s2 != s1, "the tenant is part of the series key");
        for i in 0..300 {
            head.append(s1, i * 1000, i as f64).unwrap();
        }
        head.append(s2, 5, 99.0).unwrap();
        let m = [Matcher::equal("__name__", "up")];
        let one = select_all(&head, 1, &m, 0, 10_000);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].samples.len(), 11);
        assert_eq!(one[0].samples[10], (10_000, 10.0));
        let two = select_all(&head, 2, &m, i64::MIN, i64::MAX);
        assert_eq!(two[0].samples, vec![(5, 99.0)]);
        assert!(select_all(&head, 3, &m, i64::MIN, i64::MAX).is_empty());
        assert_eq!(head.stats().samples, 301);
    }

    #[test]
    fn out_of_order_and_duplicates_follow_prometheus() {
        let head = Head::new();
        let (s, _) = head.get_or_create(1, &l(&[("__name__", "x")]));
        head.append(s, 10, 1.0).unwrap();
        assert_eq!(head.append(s, 10, 1.0), Ok(false));
        assert_eq!(head.append(s, 10, 2.0), Err(AppendError::DuplicateTimestamp));
        assert_eq!(head.append(s, 9, 1.0), Err(AppendError::OutOfOrder));
        head.truncate_before(100);
        assert_eq!(head.append(s, 50, 1.0), Err(AppendError::OutOfBounds));
    }

    #[test]
    fn matchers_without_equality_scan_the_tenant_and_deletion_removes_series() {
        let head = Head::new();
        for job in ["api", "web", "db"] {
            let (s, _) = head.get_or_create(7, &l(&[("__name__", "up"), ("job", job)]));
            head.append(s, 1, 1.0).unwrap();
        }
        let re = [Matcher::new(MatchOp::Regex, "job", "a.*|w.*").unwrap()];
        assert_eq!(select_all(&head, 7, &re, 0, 10).len(), 2);
        assert_eq!(head.delete(7, &re).len(), 2);
        let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
        let left = select_all(&head, 7, &all, 0, 10);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].labels.get("job"), Some("db"));
        assert_eq!(head.stats().series, 1);
    }

    #[test]
    fn truncation_drops_old_chunks_and_empty_series() {
        let head = Head::new();
        let (old, _) = head.get_or_create(1, &l(&[("__name__", "old")]));
        let (new, _) = head.get_or_create(1, &l(&[("__name__", "new")]));
        for i in 0..500 {
            head.append(old, i, 1.0).unwrap();
            head.append(new, i * 10, 1.0).unwrap();
        }
        head.truncate_before(1000);
        assert_eq!(head.stats().series, 1);
        assert!(
            head.samples_of(new, 0, i64::MAX)
                .unwrap()
                .iter()
                .all(|(t, _)| *t >= 1000)
        );
        let (again, created) = head.get_or_create(1, &l(&[("__name__", "old")]));
        assert!(created && again != old);
    }

    /// A head with series over two tenants; every fourth series has no `env`.
    fn mixed_head() -> Head {
        let head = Head::new();
        for i in 0..400u32 {
            let tenant = 1 + i % 2;
            let name = ["up", "http_requests_total", "node_cpu_seconds_total", "x"][(i % 4) as usize];
            let job = format!("job{}", i % 7);
            let env = ["live", "stage", "dev"][(i % 3) as usize];
            let instance = i.to_string();
            let mut pairs = vec![
                ("__name__", name),
                ("job", job.as_str()),
                ("instance", instance.as_str()),
            ];
            if i % 4 != 3 {
                pairs.push(("env", env));
            }
            if tenant == 2 {
                pairs.push(("only_two", "yes"));
            }
            let (s, _) = head.get_or_create(tenant, &l(&pairs));
            head.append(s, i as i64, 1.0).unwrap();
        }
        head
    }

    #[test]
    fn every_matcher_selects_through_the_postings_what_a_scan_selects() {
        let head = mixed_head();
        let m = |op, name: &str, value: &str| Matcher::new(op, name, value).unwrap();
        let cases: Vec<Vec<Matcher>> = vec![
            vec![m(MatchOp::Regex, "__name__", "node_.*|http_.*")],
            vec![m(MatchOp::Regex, "__name__", ".+"), m(MatchOp::NotEqual, "env", "live")],
            vec![m(MatchOp::NotRegex, "env", "live|stage")],
            vec![m(MatchOp::Equal, "env", "")],
            vec![m(MatchOp::Regex, "env", "|dev")],
            vec![m(MatchOp::Equal, "job", "job3"), m(MatchOp::NotRegex, "__name__", "up")],
            vec![m(MatchOp::Regex, "job", "job[12]"), m(MatchOp::Regex, "env", "st.*")],
            vec![m(MatchOp::Equal, "nothing", "here")],
            vec![m(MatchOp::NotEqual, "nothing", "")],
        ];
        for tenant in [1, 2, 3] {
            let every = head.series_of(tenant);
            for matchers in &cases {
                let mut scanned: Vec<Labels> = every
                    .iter()
                    .filter(|(_, labels)| matchers.iter().all(|m| m.matches_labels(labels)))
                    .map(|(_, labels)| labels.clone())
                    .collect();
                let mut selected: Vec<Labels> = select_all(&head, tenant, matchers, i64::MIN, i64::MAX)
                    .into_iter()
                    .map(|s| s.labels)
                    .collect();
                scanned.sort();
                selected.sort();
                assert_eq!(selected, scanned, "tenant {tenant}, {matchers:?}");
            }
        }
        let pairs = head.label_pairs(1);
        assert!(pairs.iter().all(|(n, _)| n != "only_two"), "another tenant's label");
        assert!(
            !pairs.contains(&("instance".to_string(), "1".to_string())),
            "another tenant's value"
        );
        assert!(pairs.contains(&("instance".to_string(), "0".to_string())));
    }

    #[test]
    fn a_chunk_is_cut_before_it_spans_more_than_its_span_can_hold() {
        let head = Head::new();
        let (s, _) = head.get_or_create(1, &l(&[("__name__", "rare")]));
        let day = 86_400_000i64;
        let times = [0, day, 60 * day, 61 * day, 200 * day];
        for (i, t) in times.iter().enumerate() {
            assert_eq!(head.append(s, *t, i as f64), Ok(true));
        }
        let got = head.samples_of(s, 0, i64::MAX).unwrap();
        assert_eq!(
            got,
            times
                .iter()
                .enumerate()
                .map(|(i, t)| (*t, i as f64))
                .collect::<Vec<_>>()
        );
        let chunks = head.chunks_of(s).unwrap();
        assert_eq!(chunks.len(), 3, "cut at 60 and at 200 days");
        assert!(chunks.iter().all(|c| c.max_t - c.min_t <= u32::MAX as i64));
        // A query between two chunks finds the one it overlaps only.
        assert_eq!(head.samples_of(s, 59 * day, 60 * day).unwrap(), vec![(60 * day, 2.0)]);
    }

    #[test]
    fn running_totals_match_a_recount_after_truncation_and_deletion() {
        let head = mixed_head();
        let recount = |head: &Head| {
            let all = read(&head.series);
            let samples: usize = all.iter().map(|(_, s)| lock(s).len()).sum();
            let bytes: usize = all.iter().map(|(_, s)| lock(s).bytes()).sum();
            (samples, bytes)
        };
        let stats = head.stats();
        assert_eq!((stats.samples, stats.chunk_bytes), recount(&head));
        assert_eq!((stats.series, stats.min_t, stats.max_t), (400, Some(0), Some(399)));
        head.truncate_before(200);
        let stats = head.stats();
        assert_eq!((stats.samples, stats.chunk_bytes), recount(&head));
        assert_eq!((stats.series, stats.min_t), (200, Some(200)));
        head.delete(1, &[Matcher::equal("__name__", "up")]);
        let stats = head.stats();
        assert_eq!((stats.samples, stats.chunk_bytes), recount(&head));
        assert_eq!(stats.series, 150);
        // What was forgotten is gone from the postings and the label listing too.
        assert!(select_all(&head, 1, &[Matcher::equal("__name__", "up")], 0, i64::MAX).is_empty());
        assert!(head.label_pairs(1).iter().all(|(_, v)| v != "up"));
        let (again, created) = head.get_or_create(1, &l(&[("__name__", "up"), ("job", "job0")]));
        assert!(created && head.is_live(again));
    }

    #[test]
    fn series_replaced_hour_after_hour_leave_no_symbols_behind() {
        let head = Head::new();
        let hour = 3_600_000;
        let mut symbols = Vec::new();
        for h in 0..24i64 {
            // 100 series a pod name each, 10 of them replaced every hour (10 % churn).
            for i in 0..100 {
                let generation = if i < 10 { h } else { 0 };
                let pod = format!("pod-{i}-{generation}");
                let (s, _) = head.get_or_create(1, &l(&[("__name__", "up"), ("pod", &pod)]));
                head.append(s, h * hour + i, 1.0).unwrap();
            }
            head.truncate_before(h * hour);
            symbols.push(head.stats().symbols);
        }
        assert_eq!(head.stats().series, 100);
        assert!(symbols[2..].iter().all(|n| *n == symbols[1]), "flat: {symbols:?}");
        assert_eq!(symbols[1], 2 + 1 + 100, "__name__, pod, up and the pods in use");
    }

    #[test]
    fn series_replaced_wholesale_free_their_places() {
        let head = Head::new();
        let hour = 3_600_000;
        for generation in 0..6i64 {
            for i in 0..2048 {
                let name = format!("g{generation}_{i}");
                let (s, _) = head.get_or_create(1, &l(&[("__name__", &name)]));
                head.append(s, generation * hour, 1.0).unwrap();
            }
            head.truncate_before(generation * hour);
        }
        assert_eq!(head.stats().series, 2048);
        assert!(
            read(&head.series).pages_in_use() <= 3,
            "only the last generation's pages"
        );
        assert!(read(&head.index).meta.pages_in_use() <= 3);
    }

    #[test]
    fn restored_series_keep_their_references_and_new_ones_come_after() {
        let head = Head::new();
        head.restore_series(5, 1, &l(&[("__name__", "five")]));
        head.restore_series(2, 1, &l(&[("__name__", "two")]));
        assert_eq!(head.get_or_create(1, &l(&[("__name__", "five")])), (5, false));
        assert_eq!(head.get_or_create(1, &l(&[("__name__", "new")])), (6, true));
        head.append(2, 1, 1.0).unwrap();
        let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
        assert_eq!(select_all(&head, 1, &all, 0, 10)[0].labels.get("__name__"), Some("two"));
        assert_eq!(head.series_of(1).iter().map(|s| s.0).collect::<Vec<_>>(), [2, 5, 6]);
    }
}

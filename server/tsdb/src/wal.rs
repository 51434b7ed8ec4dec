//! The write-ahead log. Every committed batch of new series and samples is
//! written as checksummed records before it reaches the head, so a crash
//! loses at most what was not yet written. On start the log is replayed; a
//! torn or corrupt tail is cut off with a warning.
//!
//! Layout: `wal/NNNNNNNN` segment files, and after a compaction one
//! `wal/checkpoint.NNNNNNNN` holding what the head still needs from the
//! segments before NNNNNNNN. Record: `u32 LE length, u32 LE CRC32 of the
//! payload, payload`; payload starts with the record type. Each segment
//! starts with the 8-byte magic + format version.
//!
//! No record is larger than the log's record cap: lists that would be are
//! split into several records (a checkpoint of a million series is thousands
//! of records, each read back alone), as Prometheus bounds its WAL pages.

use crate::enc::{Decoder, put_str, put_uvarint, put_varint};
use crate::head::{ChunkData, SeriesRef};
use crate::{Labels, Tenant};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 8] = b"VTWAL\x00\x00\x01";
const SEGMENT_BYTES: u64 = 64 << 20;
/// The default record cap: a longer length field is read as corruption.
pub const MAX_RECORD: u32 = 256 << 20;
/// Data written to the log is in the OS page cache at once (it survives a
/// killed process); it is also forced to disk at least this often.
const SYNC_EVERY: Duration = Duration::from_secs(1);

const SERIES: u8 = 1;
const SAMPLES: u8 = 2;
const DELETE: u8 = 3;
const CHUNKS: u8 = 4;

/// New series of one commit, encoded as they are created: the label sets
/// are not kept (a first scrape can create a hundred thousand of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesBatch {
    entries: Vec<u8>,
    /// Where each entry starts in `entries` (so a large batch can be split).
    starts: Vec<usize>,
    refs: Vec<SeriesRef>,
}

impl SeriesBatch {
    pub fn push(&mut self, series: SeriesRef, tenant: Tenant, labels: &Labels) {
        self.starts.push(self.entries.len());
        self.refs.push(series);
        put_series_entry(&mut self.entries, series, tenant, labels);
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Keeps the entries whose series `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(SeriesRef) -> bool) {
        let mut kept = SeriesBatch::default();
        for i in 0..self.len() {
            if keep(self.refs[i]) {
                kept.starts.push(kept.entries.len());
                kept.refs.push(self.refs[i]);
                kept.entries.extend_from_slice(self.entry(i));
            }
        }
        *self = kept;
    }

    fn entry(&self, i: usize) -> &[u8] {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.entries.len());
        &self.entries[self.starts[i]..end]
    }

    fn split(&self) -> (SeriesBatch, SeriesBatch) {
        let mut halves = (SeriesBatch::default(), SeriesBatch::default());
        let mid = self.len() / 2;
        for i in 0..self.len() {
            let half = if i < mid { &mut halves.0 } else { &mut halves.1 };
            half.starts.push(half.entries.len());
            half.refs.push(self.refs[i]);
            half.entries.extend_from_slice(self.entry(i));
        }
        halves
    }
}

fn put_series_entry(out: &mut Vec<u8>, series: SeriesRef, tenant: Tenant, labels: &Labels) {
    put_uvarint(out, series as u64);
    put_uvarint(out, tenant as u64);
    put_uvarint(out, labels.len() as u64);
    for (n, v) in labels.iter() {
        put_str(out, n);
        put_str(out, v);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Series(Vec<(SeriesRef, Tenant, Labels)>),
    /// Written by an appender; read back as [`Record::Series`].
    NewSeries(SeriesBatch),
    Samples(Vec<(SeriesRef, i64, f64)>),
    /// Series removed (privacy deletion); replay must not bring them back.
    Delete(Vec<SeriesRef>),
    /// Head chunks of series, as encoded in memory (checkpoints: about a tenth of
    /// the size of the same samples one by one).
    Chunks(Vec<(SeriesRef, ChunkData)>),
}

impl Record {
    /// Entries in the record's list.
    fn len(&self) -> usize {
        match self {
            Record::Series(list) => list.len(),
            Record::NewSeries(batch) => batch.len(),
            Record::Samples(list) => list.len(),
            Record::Delete(list) => list.len(),
            Record::Chunks(list) => list.len(),
        }
    }

    /// The record as two records of half the entries each.
    fn split(&self) -> (Record, Record) {
        fn halves<T: Clone>(list: &[T]) -> (Vec<T>, Vec<T>) {
            let (a, b) = list.split_at(list.len() / 2);
            (a.to_vec(), b.to_vec())
        }
        match self {
            Record::Series(list) => {
                let (a, b) = halves(list);
                (Record::Series(a), Record::Series(b))
            }
            Record::NewSeries(batch) => {
                let (a, b) = batch.split();
                (Record::NewSeries(a), Record::NewSeries(b))
            }
            Record::Samples(list) => {
                let (a, b) = halves(list);
                (Record::Samples(a), Record::Samples(b))
            }
            Record::Delete(list) => {
                let (a, b) = halves(list);
                (Record::Delete(a), Record::Delete(b))
            }
            Record::Chunks(list) => {
                let (a, b) = halves(list);
                (Record::Chunks(a), Record::Chunks(b))
            }
        }
    }

    /// Frames the record into `out`, split into as many records as the cap needs.
    fn frame_into(&self, max_record: u32, payload: &mut Vec<u8>, out: &mut Vec<u8>) -> io::Result<()> {
        payload.clear();
        self.encode(payload);
        if payload.len() <= max_record as usize {
            frame(payload, out);
            return Ok(());
        }
        if self.len() < 2 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "one write-ahead log entry of {} bytes is larger than the record cap of {max_record} bytes",
                    payload.len()
                ),
            ));
        }
        let (a, b) = self.split();
        a.frame_into(max_record, payload, out)?;
        b.frame_into(max_record, payload, out)
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Series(list) => {
                out.push(SERIES);
                put_uvarint(out, list.len() as u64);
                for (series, tenant, labels) in list {
                    put_series_entry(out, *series, *tenant, labels);
                }
            }
            Record::NewSeries(batch) => {
                out.push(SERIES);
                put_uvarint(out, batch.len() as u64);
                out.extend_from_slice(&batch.entries);
            }
            Record::Samples(list) => {
                out.push(SAMPLES);
                put_uvarint(out, list.len() as u64);
                let base = list.first().map_or(0, |s| s.1);
                put_varint(out, base);
                for (series, t, v) in list {
                    put_uvarint(out, *series as u64);
                    put_varint(out, t.wrapping_sub(base));
                    out.extend_from_slice(&v.to_bits().to_le_bytes());
                }
            }
            Record::Delete(list) => {
                out.push(DELETE);
                put_uvarint(out, list.len() as u64);
                for series in list {
                    put_uvarint(out, *series as u64);
                }
            }
            Record::Chunks(list) => {
                out.push(CHUNKS);
                put_uvarint(out, list.len() as u64);
                for (series, chunk) in list {
                    put_uvarint(out, *series as u64);
                    put_varint(out, chunk.min_t);
                    put_uvarint(out, chunk.max_t.wrapping_sub(chunk.min_t) as u64);
                    put_uvarint(out, chunk.count as u64);
                    put_uvarint(out, chunk.bytes.len() as u64);
                    out.extend_from_slice(&chunk.bytes);
                }
            }
        }
    }

    pub fn decode(payload: &[u8]) -> Option<Record> {
        let mut d = Decoder::new(payload);
        let kind = d.u8()?;
        let count = d.len()?;
        let record = match kind {
            SERIES => {
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    let series = u32::try_from(d.uvarint()?).ok()?;
                    let tenant = u32::try_from(d.uvarint()?).ok()?;
                    let n = d.len()?;
                    let mut pairs = Vec::with_capacity(n);
                    for _ in 0..n {
                        pairs.push((d.str()?.to_string(), d.str()?.to_string()));
                    }
                    list.push((series, tenant, Labels::new(pairs)));
                }
                Record::Series(list)
            }
            SAMPLES => {
                let base = d.varint()?;
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    let series = u32::try_from(d.uvarint()?).ok()?;
                    let t = base.wrapping_add(d.varint()?);
                    list.push((series, t, f64::from_bits(d.u64_le()?)));
                }
                Record::Samples(list)
            }
            DELETE => {
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    list.push(u32::try_from(d.uvarint()?).ok()?);
                }
                Record::Delete(list)
            }
            CHUNKS => {
                let mut list = Vec::with_capacity(count);
                for _ in 0..count {
                    let series = u32::try_from(d.uvarint()?).ok()?;
                    let min_t = d.varint()?;
                    let max_t = min_t.wrapping_add(d.uvarint()? as i64);
                    let count = u32::try_from(d.uvarint()?).ok()?;
                    let n = d.len()?;
                    let bytes = d.bytes(n)?.into();
                    list.push((
                        series,
                        ChunkData {
                            min_t,
                            max_t,
                            count,
                            bytes,
                        },
                    ));
                }
                Record::Chunks(list)
            }
            _ => return None,
        };
        d.is_empty().then_some(record)
    }
}

/// Records framed for [`Wal::write_framed`], each within `max_record` bytes (longer lists split).
pub fn frame_records(records: &[Record], max_record: u32) -> io::Result<Vec<u8>> {
    let mut framed = Vec::new();
    let mut payload = Vec::new();
    for record in records {
        record.frame_into(max_record, &mut payload, &mut framed)?;
    }
    Ok(framed)
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn segment_name(index: u32) -> String {
    format!("{index:08}")
}

fn checkpoint_name(index: u32) -> String {
    format!("checkpoint.{index:08}")
}

/// What replay found, for the log and `tsdb stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    pub records: usize,
    pub segments: usize,
    /// Bytes cut off a torn or corrupt tail.
    pub truncated_bytes: u64,
}

pub struct Wal {
    dir: PathBuf,
    max_record: u32,
    file: File,
    index: u32,
    /// Bytes of the current segment known to be complete records.
    written: u64,
    last_sync: Instant,
}

fn list(dir: &Path) -> io::Result<(Vec<u32>, Option<u32>)> {
    let mut segments = Vec::new();
    let mut checkpoint = None;
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name.strip_prefix("checkpoint.").and_then(|n| n.parse::<u32>().ok()) {
            checkpoint = checkpoint.max(Some(n));
        } else if let Ok(n) = name.parse::<u32>() {
            segments.push(n);
        }
    }
    segments.sort_unstable();
    Ok((segments, checkpoint))
}

/// Reads the records of one file; returns the length of the valid prefix. Records are
/// checked and decoded on a second thread while `each` applies the ones before (a restart
/// replays hundreds of millions of samples).
fn read_file(path: &Path, max_record: u32, each: &mut dyn FnMut(Record)) -> io::Result<(u64, u64, usize)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Ok((0, bytes.len() as u64, 0));
    }
    let bytes = &bytes[..];
    let (pos, records) = std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Record>(64);
        let decoder = scope.spawn(move || {
            let mut pos = MAGIC.len();
            let mut records = 0;
            while pos + 8 <= bytes.len() {
                let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap_or_default());
                let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap_or_default());
                let end = pos + 8 + len as usize;
                if len > max_record || end > bytes.len() {
                    break;
                }
                let payload = &bytes[pos + 8..end];
                if crc32fast::hash(payload) != crc {
                    break;
                }
                let Some(record) = Record::decode(payload) else { break };
                if send.send(record).is_err() {
                    break;
                }
                records += 1;
                pos = end;
            }
            (pos, records)
        });
        for record in receive {
            each(record);
        }
        // Decoding never panics; if it did, nothing after the header counts as valid.
        decoder.join().unwrap_or((MAGIC.len(), 0))
    });
    Ok((pos as u64, bytes.len() as u64, records))
}

impl Wal {
    /// Replays the log into `each` (checkpoint first, then segments in order)
    /// and opens a new segment for writing. No record it writes is larger
    /// than `max_record` bytes, nor is one it reads.
    pub fn open(dir: &Path, max_record: u32, each: &mut dyn FnMut(Record)) -> io::Result<(Wal, ReplayReport)> {
        fs::create_dir_all(dir)?;
        remove_unfinished_checkpoints(dir)?;
        let (segments, checkpoint) = list(dir)?;
        let mut report = ReplayReport::default();
        if let Some(n) = checkpoint {
            let (valid, total, records) = read_file(&dir.join(checkpoint_name(n)), max_record, each)?;
            if valid < total {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("WAL checkpoint {n} is corrupt"),
                ));
            }
            report.records += records;
        }
        let live: Vec<u32> = segments
            .iter()
            .copied()
            .filter(|s| checkpoint.is_none_or(|c| *s >= c))
            .collect();
        let mut cut = false;
        for segment in &live {
            let path = dir.join(segment_name(*segment));
            if cut {
                // Everything after a corrupt record is unreliable.
                report.truncated_bytes += fs::metadata(&path)?.len();
                fs::remove_file(&path)?;
                continue;
            }
            let (valid, total, records) = read_file(&path, max_record, each)?;
            report.records += records;
            report.segments += 1;
            if valid < total {
                tracing::warn!(segment = %path.display(), valid, total, "write-ahead log has a torn or corrupt tail; cutting it off");
                report.truncated_bytes += total - valid;
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(valid.max(MAGIC.len() as u64))?;
                cut = true;
            }
        }
        let index = live.last().map_or(checkpoint.unwrap_or(1), |last| last + 1);
        let wal = Wal::create_segment(dir, max_record, index)?;
        Ok((wal, report))
    }

    fn create_segment(dir: &Path, max_record: u32, index: u32) -> io::Result<Wal> {
        let path = dir.join(segment_name(index));
        let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
        file.write_all(MAGIC)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(Wal {
            dir: dir.to_owned(),
            max_record,
            file,
            index,
            written: MAGIC.len() as u64,
            last_sync: Instant::now(),
        })
    }

    /// Appends records as one write. On failure (disk full) the segment is
    /// cut back to its last complete record, so the log stays readable.
    pub fn log(&mut self, records: &[Record]) -> io::Result<()> {
        let framed = frame_records(records, self.max_record)?;
        self.write_framed(&framed)
    }

    /// Appends what [`frame_records`] made (encoded beforehand, outside the log's lock).
    pub fn write_framed(&mut self, framed: &[u8]) -> io::Result<()> {
        if self.written + framed.len() as u64 > SEGMENT_BYTES && self.written > MAGIC.len() as u64 {
            self.next_segment()?;
        }
        if let Err(e) = self.file.write_all(framed) {
            let _ = self.file.set_len(self.written);
            let _ = self.file.seek(SeekFrom::Start(self.written));
            return Err(e);
        }
        self.written += framed.len() as u64;
        if self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.last_sync = Instant::now();
        Ok(())
    }

    fn next_segment(&mut self) -> io::Result<()> {
        self.sync()?;
        *self = Wal::create_segment(&self.dir, self.max_record, self.index + 1)?;
        Ok(())
    }

    /// Starts replacing every segment so far with a checkpoint: new writes go
    /// to a fresh segment at once, and the checkpoint (what the head still
    /// needs) is written through the returned writer without holding the log.
    /// Whatever is appended meanwhile is in the new segment, so nothing can
    /// fall between the two (a sample in both is an exact duplicate, ignored at replay).
    pub fn start_checkpoint(&mut self) -> io::Result<CheckpointWriter> {
        self.next_segment()?;
        let name = checkpoint_name(self.index);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let mut file = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        file.write_all(MAGIC)?;
        Ok(CheckpointWriter {
            dir: self.dir.clone(),
            index: self.index,
            max_record: self.max_record,
            tmp,
            file,
            payload: Vec::new(),
            framed: Vec::new(),
        })
    }

    /// Size of every file of the log.
    pub fn disk_bytes(&self) -> u64 {
        fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
            .unwrap_or(0)
    }
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A checkpoint cut short by a crash is never read; its file is removed.
fn remove_unfinished_checkpoints(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes a checkpoint record by record (each within the record cap, streamed to
/// disk); [`CheckpointWriter::finish`] makes it the log's start.
pub struct CheckpointWriter {
    dir: PathBuf,
    index: u32,
    max_record: u32,
    tmp: PathBuf,
    file: BufWriter<File>,
    payload: Vec<u8>,
    framed: Vec<u8>,
}

impl CheckpointWriter {
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        self.framed.clear();
        record.frame_into(self.max_record, &mut self.payload, &mut self.framed)?;
        self.file.write_all(&self.framed)
    }

    /// Syncs the checkpoint, puts it in place and removes the segments and the
    /// checkpoint it replaces.
    pub fn finish(self) -> io::Result<()> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let name = checkpoint_name(self.index);
        fs::rename(&self.tmp, self.dir.join(&name))?;
        sync_dir(&self.dir)?;
        let (segments, _) = list(&self.dir)?;
        for segment in segments.into_iter().filter(|s| *s < self.index) {
            fs::remove_file(self.dir.join(segment_name(segment)))?;
        }
        for entry in fs::read_dir(&self.dir)? {
            let file_name = entry?.file_name();
            let file_name = file_name.to_string_lossy();
            if file_name.starts_with("checkpoint.") && *file_name != *name {
                fs::remove_file(self.dir.join(&*file_name))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(id: u32, name: &str) -> Record {
        Record::Series(vec![(id, 3, Labels::from_pairs(&[("__name__", name)]))])
    }

    fn replay(dir: &Path) -> (Vec<Record>, ReplayReport) {
        let mut records = Vec::new();
        let (_, report) = Wal::open(dir, MAX_RECORD, &mut |r| records.push(r)).unwrap();
        (records, report)
    }

    #[test]
    fn records_round_trip_through_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let written = [
            series(0, "up"),
            Record::Samples(vec![
                (0, 1000, 1.0),
                (0, 2000, f64::from_bits(crate::STALE_NAN)),
                (0, -5, f64::NAN),
            ]),
            Record::Delete(vec![0]),
        ];
        {
            let (mut wal, report) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            assert_eq!(report, ReplayReport::default());
            wal.log(&written[..2]).unwrap();
            wal.log(&written[2..]).unwrap();
        }
        let (records, report) = replay(dir.path());
        assert_eq!(report.truncated_bytes, 0);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0], written[0]);
        let Record::Samples(samples) = &records[1] else {
            panic!()
        };
        assert_eq!(samples[1].2.to_bits(), crate::STALE_NAN);
        assert_eq!(samples[2].1, -5);
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_later_writes_survive() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            wal.log(&[series(0, "a")]).unwrap();
            wal.log(&[series(1, "b")]).unwrap();
        }
        let segment = dir.path().join(segment_name(1));
        let len = fs::metadata(&segment).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (records, report) = replay(dir.path());
        assert_eq!(records, vec![series(0, "a")]);
        assert!(report.truncated_bytes > 0);
        // The second open wrote a new segment; add to it and replay again.
        {
            let (mut wal, _) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            wal.log(&[series(2, "c")]).unwrap();
        }
        let (records, report) = replay(dir.path());
        assert_eq!(records, vec![series(0, "a"), series(2, "c")]);
        assert_eq!(report.truncated_bytes, 0);
    }

    #[test]
    fn a_flipped_bit_stops_replay_at_that_record() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            wal.log(&[series(0, "a")]).unwrap();
            wal.log(&[series(1, "b")]).unwrap();
        }
        let segment = dir.path().join(segment_name(1));
        let mut bytes = fs::read(&segment).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x10;
        fs::write(&segment, bytes).unwrap();
        let (records, _) = replay(dir.path());
        assert_eq!(records, vec![series(0, "a")]);
    }

    #[test]
    fn a_checkpoint_replaces_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            wal.log(&[series(0, "old")]).unwrap();
            let mut checkpoint = wal.start_checkpoint().unwrap();
            checkpoint.write(&series(5, "kept")).unwrap();
            checkpoint.finish().unwrap();
            wal.log(&[series(6, "new")]).unwrap();
        }
        let (records, _) = replay(dir.path());
        assert_eq!(records, vec![series(5, "kept"), series(6, "new")]);
        assert!(!dir.path().join(segment_name(1)).exists());
    }

    #[test]
    fn lists_larger_than_the_record_cap_are_split_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cap = 256;
        let samples: Vec<(SeriesRef, i64, f64)> = (0..1000).map(|i| (i, i as i64 * 15_000, i as f64)).collect();
        let mut batch = SeriesBatch::default();
        for i in 0..100 {
            batch.push(
                i,
                1,
                &Labels::from_pairs(&[("__name__", "a_rather_long_metric_name"), ("i", &i.to_string())]),
            );
        }
        {
            let (mut wal, _) = Wal::open(dir.path(), cap, &mut |_| {}).unwrap();
            wal.log(&[Record::NewSeries(batch), Record::Samples(samples.clone())])
                .unwrap();
            let mut checkpoint = wal.start_checkpoint().unwrap();
            checkpoint.write(&Record::Samples(samples.clone())).unwrap();
            checkpoint.finish().unwrap();
            let too_long = "x".repeat(cap as usize);
            let err = wal.log(&[series(7, &too_long)]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        let mut read = Vec::new();
        let (_, report) = Wal::open(dir.path(), cap, &mut |r| read.push(r)).unwrap();
        assert!(report.records > 10, "split into many records: {}", report.records);
        let back: Vec<(SeriesRef, i64, f64)> = read
            .into_iter()
            .flat_map(|r| match r {
                Record::Samples(list) => list,
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(back, samples, "the checkpoint's samples, every one in order");
    }

    #[test]
    fn an_unfinished_checkpoint_is_ignored_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut wal, _) = Wal::open(dir.path(), MAX_RECORD, &mut |_| {}).unwrap();
            wal.log(&[series(0, "a")]).unwrap();
            let mut checkpoint = wal.start_checkpoint().unwrap();
            checkpoint.write(&series(9, "never finished")).unwrap();
            // Dropped without finish: as if the process died while writing it.
        }
        let (records, _) = replay(dir.path());
        assert_eq!(records, vec![series(0, "a")]);
        assert!(
            fs::read_dir(dir.path())
                .unwrap()
                .all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        );
    }

    #[test]
    fn garbage_payloads_never_panic() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = Record::decode(&bytes);
        }
    }
}

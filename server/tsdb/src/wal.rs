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

use crate::enc::{Decoder, put_str, put_uvarint, put_varint};
use crate::head::SeriesRef;
use crate::{Labels, Tenant};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 8] = b"VTWAL\x00\x00\x01";
const SEGMENT_BYTES: u64 = 64 << 20;
const MAX_RECORD: u32 = 256 << 20;
/// Data written to the log is in the OS page cache at once (it survives a
/// killed process); it is also forced to disk at least this often.
const SYNC_EVERY: Duration = Duration::from_secs(1);

const SERIES: u8 = 1;
const SAMPLES: u8 = 2;
const DELETE: u8 = 3;

/// New series of one commit, encoded as they are created: the label sets
/// are not kept (a first scrape can create a hundred thousand of them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesBatch {
    count: usize,
    entries: Vec<u8>,
}

impl SeriesBatch {
    pub fn push(&mut self, series: SeriesRef, tenant: Tenant, labels: &Labels) {
        put_series_entry(&mut self.entries, series, tenant, labels);
        self.count += 1;
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
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
}

impl Record {
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
                put_uvarint(out, batch.count as u64);
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
            _ => return None,
        };
        d.is_empty().then_some(record)
    }
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
    file: File,
    index: u32,
    /// Bytes of the current segment known to be complete records.
    written: u64,
    last_sync: Instant,
    buf: Vec<u8>,
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

/// Reads the records of one file; returns the length of the valid prefix.
fn read_file(path: &Path, each: &mut dyn FnMut(Record)) -> io::Result<(u64, u64, usize)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Ok((0, bytes.len() as u64, 0));
    }
    let mut pos = MAGIC.len();
    let mut records = 0;
    while pos + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap_or_default());
        let end = pos + 8 + len as usize;
        if len > MAX_RECORD || end > bytes.len() {
            break;
        }
        let payload = &bytes[pos + 8..end];
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(record) = Record::decode(payload) else { break };
        each(record);
        records += 1;
        pos = end;
    }
    Ok((pos as u64, bytes.len() as u64, records))
}

impl Wal {
    /// Replays the log into `each` (checkpoint first, then segments in order)
    /// and opens a new segment for writing.
    pub fn open(dir: &Path, each: &mut dyn FnMut(Record)) -> io::Result<(Wal, ReplayReport)> {
        fs::create_dir_all(dir)?;
        let (segments, checkpoint) = list(dir)?;
        let mut report = ReplayReport::default();
        if let Some(n) = checkpoint {
            let (valid, total, records) = read_file(&dir.join(checkpoint_name(n)), each)?;
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
            let (valid, total, records) = read_file(&path, each)?;
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
        let wal = Wal::create_segment(dir, index)?;
        Ok((wal, report))
    }

    fn create_segment(dir: &Path, index: u32) -> io::Result<Wal> {
        let path = dir.join(segment_name(index));
        let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
        file.write_all(MAGIC)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(Wal {
            dir: dir.to_owned(),
            file,
            index,
            written: MAGIC.len() as u64,
            last_sync: Instant::now(),
            buf: Vec::new(),
        })
    }

    /// Appends records as one write. On failure (disk full) the segment is
    /// cut back to its last complete record, so the log stays readable.
    pub fn log(&mut self, records: &[Record]) -> io::Result<()> {
        self.buf.clear();
        let mut payload = Vec::new();
        for record in records {
            payload.clear();
            record.encode(&mut payload);
            frame(&payload, &mut self.buf);
        }
        if self.written + self.buf.len() as u64 > SEGMENT_BYTES && self.written > MAGIC.len() as u64 {
            self.sync()?;
            *self = Wal::create_segment(&self.dir, self.index + 1)?;
            return self.log(records);
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            let _ = self.file.set_len(self.written);
            let _ = self.file.seek(SeekFrom::Start(self.written));
            return Err(e);
        }
        self.written += self.buf.len() as u64;
        // A first scrape of many new series makes a large batch; do not keep its buffer.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
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

    /// Replaces every segment so far with a checkpoint holding what the head
    /// still needs. New writes go to a fresh segment first; `records` is called
    /// after that, so nothing appended meanwhile can fall between the two (a
    /// sample in both is an exact duplicate, ignored at replay).
    pub fn checkpoint(&mut self, records: impl FnOnce() -> Vec<Record>) -> io::Result<()> {
        self.sync()?;
        *self = Wal::create_segment(&self.dir, self.index + 1)?;
        let records = records();
        let name = checkpoint_name(self.index);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let mut out = MAGIC.to_vec();
        let mut payload = Vec::new();
        for record in &records {
            payload.clear();
            record.encode(&mut payload);
            frame(&payload, &mut out);
        }
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&out)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, self.dir.join(&name))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn series(id: u32, name: &str) -> Record {
        Record::Series(vec![(id, 3, Labels::from_pairs(&[("__name__", name)]))])
    }

    fn replay(dir: &Path) -> (Vec<Record>, ReplayReport) {
        let mut records = Vec::new();
        let (_, report) = Wal::open(dir, &mut |r| records.push(r)).unwrap();
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
            let (mut wal, report) = Wal::open(dir.path(), &mut |_| {}).unwrap();
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
            let (mut wal, _) = Wal::open(dir.path(), &mut |_| {}).unwrap();
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
            let (mut wal, _) = Wal::open(dir.path(), &mut |_| {}).unwrap();
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
            let (mut wal, _) = Wal::open(dir.path(), &mut |_| {}).unwrap();
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
            let (mut wal, _) = Wal::open(dir.path(), &mut |_| {}).unwrap();
            wal.log(&[series(0, "old")]).unwrap();
            wal.checkpoint(|| vec![series(5, "kept")]).unwrap();
            wal.log(&[series(6, "new")]).unwrap();
        }
        let (records, _) = replay(dir.path());
        assert_eq!(records, vec![series(5, "kept"), series(6, "new")]);
        assert!(!dir.path().join(segment_name(1)).exists());
    }

    #[test]
    fn garbage_payloads_never_panic() {
        for len in 0..64 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let _ = Record::decode(&bytes);
        }
    }
}

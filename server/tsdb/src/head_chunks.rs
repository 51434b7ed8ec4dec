//! Where the head keeps its full chunks: in files under `<dir>/chunks_head/`, read back with
//! `pread` when a query or a compaction needs them, so a million series' last hours are not
//! in the process' memory (as Prometheus memory-maps its full head chunks). The files hold
//! nothing the write-ahead log does not: they are removed at open and refilled by the replay.
//! A chunk that cannot be written (a full disk) stays in memory.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Bytes per chunk file before the next one is started.
const SEGMENT_BYTES: u64 = 128 << 20;

/// Where a full chunk's bytes are: a file and the offset in it, or (a chunk that could
/// not be written, or a head without files) a number in the in-memory list. Eight bytes,
/// because every series keeps one per full chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Place(u64);

/// The segment number that marks a chunk kept in memory.
const IN_MEMORY: u32 = u32::MAX;

impl Place {
    fn file(segment: u32, offset: u32) -> Place {
        Place((segment as u64) << 32 | offset as u64)
    }

    fn segment(self) -> u32 {
        (self.0 >> 32) as u32
    }

    fn offset(self) -> u32 {
        self.0 as u32
    }

    pub(crate) fn in_memory(self) -> bool {
        self.segment() == IN_MEMORY
    }
}

struct Segment {
    file: Arc<File>,
    /// The latest sample time of any chunk in it: once the head is truncated past it, the
    /// file holds nothing in use.
    max_t: i64,
}

#[derive(Default)]
struct Writing {
    index: u32,
    written: u64,
}

/// The head's chunk files; without a directory (a head in a test) every chunk stays in memory.
#[derive(Default)]
struct InMemory {
    chunks: HashMap<u32, Box<[u8]>>,
    next: u32,
}

#[derive(Default)]
pub(crate) struct HeadChunks {
    dir: Option<PathBuf>,
    segments: RwLock<HashMap<u32, Segment>>,
    writing: Mutex<Option<Writing>>,
    in_memory: Mutex<InMemory>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl HeadChunks {
    /// Chunk files in `dir`, which is emptied first.
    pub(crate) fn open(dir: PathBuf) -> io::Result<HeadChunks> {
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(HeadChunks {
            dir: Some(dir),
            ..HeadChunks::default()
        })
    }

    /// Keeps a full chunk whose last sample is at `max_t`.
    pub(crate) fn put(&self, bytes: &[u8], max_t: i64) -> Place {
        match self.write(bytes, max_t) {
            Ok(Some(place)) => place,
            Ok(None) => self.keep(bytes),
            Err(e) => {
                tracing::warn!(error = %e, "writing a head chunk to its file; it stays in memory");
                self.keep(bytes)
            }
        }
    }

    fn keep(&self, bytes: &[u8]) -> Place {
        let mut memory = lock(&self.in_memory);
        while memory.chunks.contains_key(&memory.next) {
            memory.next = memory.next.wrapping_add(1);
        }
        let number = memory.next;
        memory.chunks.insert(number, bytes.into());
        memory.next = number.wrapping_add(1);
        Place::file(IN_MEMORY, number)
    }

    /// Frees a chunk's memory once the head no longer holds it (its file goes with
    /// [`HeadChunks::drop_before`]).
    pub(crate) fn release(&self, place: Place) {
        if place.in_memory() {
            lock(&self.in_memory).chunks.remove(&place.offset());
        }
    }

    fn write(&self, bytes: &[u8], max_t: i64) -> io::Result<Option<Place>> {
        let Some(dir) = &self.dir else { return Ok(None) };
        let mut writing = lock(&self.writing);
        let full = writing
            .as_ref()
            .is_none_or(|w| w.written + bytes.len() as u64 > SEGMENT_BYTES);
        if full {
            let index = writing.as_ref().map_or(0, |w| w.index + 1);
            let file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(dir.join(format!("{index:08}")))?;
            self.segments.write().unwrap_or_else(|p| p.into_inner()).insert(
                index,
                Segment {
                    file: Arc::new(file),
                    max_t,
                },
            );
            *writing = Some(Writing { index, written: 0 });
        }
        let Some(w) = writing.as_mut() else { return Ok(None) };
        if w.index == IN_MEMORY {
            return Ok(None);
        }
        let mut segments = self.segments.write().unwrap_or_else(|p| p.into_inner());
        let Some(segment) = segments.get_mut(&w.index) else {
            return Ok(None);
        };
        segment.file.write_all_at(bytes, w.written)?;
        segment.max_t = segment.max_t.max(max_t);
        let place = Place::file(w.index, w.written as u32);
        w.written += bytes.len() as u64;
        Ok(Some(place))
    }

    /// The `len` bytes of a chunk.
    pub(crate) fn get(&self, place: Place, len: usize) -> io::Result<Vec<u8>> {
        let gone = || io::Error::new(io::ErrorKind::NotFound, "a head chunk is gone");
        if place.in_memory() {
            return lock(&self.in_memory)
                .chunks
                .get(&place.offset())
                .map(|bytes| bytes.to_vec())
                .ok_or_else(gone);
        }
        let file = self
            .segments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&place.segment())
            .map(|s| s.file.clone())
            .ok_or_else(gone)?;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, place.offset() as u64)?;
        Ok(bytes)
    }

    /// Removes the files whose chunks all end before `t` (the head was truncated there).
    pub(crate) fn drop_before(&self, t: i64) {
        let Some(dir) = &self.dir else { return };
        let current = lock(&self.writing).as_ref().map(|w| w.index);
        let mut segments = self.segments.write().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<u32> = segments
            .iter()
            .filter(|(index, s)| s.max_t < t && Some(**index) != current)
            .map(|(index, _)| *index)
            .collect();
        for index in gone {
            segments.remove(&index);
            if let Err(e) = fs::remove_file(dir.join(format!("{index:08}"))) {
                tracing::warn!(error = %e, "removing a head chunk file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_through_files_and_old_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = HeadChunks::open(dir.path().join("chunks_head")).unwrap();
        let a = chunks.put(b"first chunk", 10);
        let b = chunks.put(b"second", 20);
        assert!(!a.in_memory());
        assert_eq!(chunks.get(a, 11).unwrap(), b"first chunk");
        assert_eq!(chunks.get(b, 6).unwrap(), b"second");
        // The file being written stays even when all its chunks are old.
        chunks.drop_before(100);
        assert_eq!(chunks.get(b, 6).unwrap(), b"second");
        // Opening again starts empty.
        drop(chunks);
        let again = HeadChunks::open(dir.path().join("chunks_head")).unwrap();
        assert!(again.get(a, 11).is_err());
    }

    #[test]
    fn chunks_without_files_stay_in_memory_until_released() {
        let memory_only = HeadChunks::default();
        let x = memory_only.put(b"x", 1);
        let y = memory_only.put(b"yy", 2);
        assert!(x.in_memory() && x != y);
        assert_eq!(memory_only.get(y, 2).unwrap(), b"yy");
        memory_only.release(x);
        assert!(memory_only.get(x, 1).is_err());
        assert_eq!(memory_only.get(y, 2).unwrap(), b"yy");
    }
}

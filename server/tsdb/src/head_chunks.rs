//! Where the head keeps its full chunks: in files under `<dir>/chunks_head/`, read back with
//! `pread` when a query or a compaction needs them, so a million series' last hours are not
//! in the process' memory (as Prometheus memory-maps its full head chunks). The files hold
//! nothing the write-ahead log does not: they are removed at open and refilled by the replay.
//! A chunk that cannot be written (a full disk) stays in memory.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Bytes per chunk file before the next one is started.
const SEGMENT_BYTES: u64 = 128 << 20;

/// Where a full chunk's bytes are.
pub(crate) enum Place {
    Memory(Box<[u8]>),
    File { segment: u32, offset: u32, len: u32 },
}

impl Place {
    /// Bytes of memory it holds.
    pub(crate) fn memory(&self) -> usize {
        match self {
            Place::Memory(bytes) => bytes.len(),
            Place::File { .. } => 0,
        }
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
pub(crate) struct HeadChunks {
    dir: Option<PathBuf>,
    segments: RwLock<HashMap<u32, Segment>>,
    writing: Mutex<Option<Writing>>,
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
            Ok(None) => Place::Memory(bytes.into()),
            Err(e) => {
                tracing::warn!(error = %e, "writing a head chunk to its file; it stays in memory");
                Place::Memory(bytes.into())
            }
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
        let mut segments = self.segments.write().unwrap_or_else(|p| p.into_inner());
        let Some(segment) = segments.get_mut(&w.index) else {
            return Ok(None);
        };
        segment.file.write_all_at(bytes, w.written)?;
        segment.max_t = segment.max_t.max(max_t);
        let place = Place::File {
            segment: w.index,
            offset: w.written as u32,
            len: bytes.len() as u32,
        };
        w.written += bytes.len() as u64;
        Ok(Some(place))
    }

    /// The bytes of a chunk.
    pub(crate) fn get<'a>(&self, place: &'a Place) -> io::Result<Cow<'a, [u8]>> {
        match place {
            Place::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            Place::File { segment, offset, len } => {
                let file = self
                    .segments
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(segment)
                    .map(|s| s.file.clone())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "a head chunk file is gone"))?;
                let mut bytes = vec![0u8; *len as usize];
                file.read_exact_at(&mut bytes, *offset as u64)?;
                Ok(Cow::Owned(bytes))
            }
        }
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
        assert!(matches!(a, Place::File { .. }) && a.memory() == 0);
        assert_eq!(&*chunks.get(&a).unwrap(), b"first chunk");
        assert_eq!(&*chunks.get(&b).unwrap(), b"second");
        // The file being written stays even when all its chunks are old.
        chunks.drop_before(100);
        assert_eq!(&*chunks.get(&b).unwrap(), b"second");
        let memory_only = HeadChunks::default();
        assert_eq!(memory_only.put(b"x", 1).memory(), 1);
        // Opening again starts empty.
        drop(chunks);
        let again = HeadChunks::open(dir.path().join("chunks_head")).unwrap();
        assert!(again.get(&a).is_err());
    }
}

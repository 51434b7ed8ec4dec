//! What the blocks share: a cache of decompressed pages (bounded in bytes; looked up and
//! filled under a short lock, decompressed outside it, so queries never wait for each other)
//! and a cache of open chunk files (at most `max_open_files` at once, the least recently used
//! closed first), so thousands of blocks do not each hold a file descriptor.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hash;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A least-recently-used map with a cost per entry.
struct Lru<K, V> {
    entries: HashMap<K, (V, usize, u64)>,
    cost: usize,
    capacity: usize,
    tick: u64,
}

impl<K: Hash + Eq + Copy, V: Clone> Lru<K, V> {
    fn new(capacity: usize) -> Self {
        Lru {
            entries: HashMap::new(),
            cost: 0,
            capacity,
            tick: 0,
        }
    }

    fn get(&mut self, key: &K) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(key).map(|(value, _, used)| {
            *used = tick;
            value.clone()
        })
    }

    fn insert(&mut self, key: K, value: V, cost: usize) {
        self.tick += 1;
        if let Some((_, old, _)) = self.entries.insert(key, (value, cost, self.tick)) {
            self.cost -= old;
        }
        self.cost += cost;
        while self.cost > self.capacity && self.entries.len() > 1 {
            let Some(oldest) = self
                .entries
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some((_, cost, _)) = self.entries.remove(&oldest) {
                self.cost -= cost;
            }
        }
    }

    fn remove_where(&mut self, gone: impl Fn(&K) -> bool) {
        let cost = &mut self.cost;
        self.entries.retain(|k, (_, c, _)| {
            let keep = !gone(k);
            if !keep {
                *cost -= *c;
            }
            keep
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Decompressed pages by (block, page number).
type PageLru = Lru<(u64, u32), Arc<Vec<u8>>>;

/// The caches of one store, shared by its blocks.
pub struct Caches {
    pages: Mutex<PageLru>,
    files: Mutex<Lru<u64, Arc<File>>>,
    next_block: AtomicU64,
}

impl Caches {
    pub fn new(page_cache_bytes: usize, max_open_files: usize) -> Arc<Caches> {
        Arc::new(Caches {
            pages: Mutex::new(Lru::new(page_cache_bytes)),
            files: Mutex::new(Lru::new(max_open_files.max(1))),
            next_block: AtomicU64::new(0),
        })
    }

    /// A number for a newly opened block, its key in the caches.
    pub fn block_id(&self) -> u64 {
        self.next_block.fetch_add(1, Ordering::Relaxed)
    }

    /// The decompressed page, from the cache or made by `load` (outside the lock).
    pub fn page(&self, block: u64, page: u32, load: impl FnOnce() -> io::Result<Vec<u8>>) -> io::Result<Arc<Vec<u8>>> {
        if let Some(found) = lock(&self.pages).get(&(block, page)) {
            return Ok(found);
        }
        let loaded = Arc::new(load()?);
        lock(&self.pages).insert((block, page), loaded.clone(), loaded.len());
        Ok(loaded)
    }

    /// The block's chunk file, opened again if the cache closed it.
    pub fn file(&self, block: u64, path: &Path) -> io::Result<Arc<File>> {
        if let Some(found) = lock(&self.files).get(&block) {
            return Ok(found);
        }
        let file = Arc::new(File::open(path)?);
        lock(&self.files).insert(block, file.clone(), 1);
        Ok(file)
    }

    /// Forgets a block that is gone.
    pub fn forget(&self, block: u64) {
        lock(&self.pages).remove_where(|(b, _)| *b == block);
        lock(&self.files).remove_where(|b| *b == block);
    }

    /// Open chunk files (for `tsdb stats` and the tests).
    pub fn open_files(&self) -> usize {
        lock(&self.files).entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entries_go_first_within_the_capacity() {
        let mut lru: Lru<u32, u32> = Lru::new(3);
        lru.insert(1, 10, 1);
        lru.insert(2, 20, 1);
        lru.insert(3, 30, 1);
        assert_eq!(lru.get(&1), Some(10));
        lru.insert(4, 40, 1);
        assert_eq!(lru.get(&2), None, "2 was used least recently");
        assert_eq!((lru.get(&1), lru.get(&3), lru.get(&4)), (Some(10), Some(30), Some(40)));
        lru.insert(5, 50, 3);
        assert_eq!(lru.entries.len(), 1, "a costly entry pushes the others out");
        lru.remove_where(|k| *k == 5);
        assert_eq!((lru.entries.len(), lru.cost), (0, 0));
    }
}

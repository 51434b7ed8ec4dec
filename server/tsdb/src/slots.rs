//! A table by series reference whose pages are freed once every entry in them is gone.
//! References are handed out in order and never reused, so the series of long ago (pods,
//! deployments replaced hour after hour) leave whole pages empty, and those cost nothing.

const PAGE: usize = 1024;

pub(crate) struct Slots<T> {
    pages: Vec<Option<Box<[Option<T>]>>>,
    /// Entries in use per page.
    live: Vec<u32>,
    /// One more than the highest reference ever set.
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            pages: Vec::new(),
            live: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Slots<T> {
    /// The next reference to hand out.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, i: u32) -> Option<&T> {
        let (page, at) = (i as usize / PAGE, i as usize % PAGE);
        self.pages.get(page)?.as_ref()?.get(at)?.as_ref()
    }

    pub(crate) fn set(&mut self, i: u32, value: T) {
        let (page, at) = (i as usize / PAGE, i as usize % PAGE);
        while self.pages.len() <= page {
            self.pages.push(None);
            self.live.push(0);
        }
        let slots = self.pages[page].get_or_insert_with(|| (0..PAGE).map(|_| None).collect());
        if slots[at].replace(value).is_none() {
            self.live[page] += 1;
        }
        self.len = self.len.max(i as usize + 1);
    }

    /// Removes an entry; its page is freed when it was the last one (unless new references
    /// are still handed out from it).
    pub(crate) fn take(&mut self, i: u32) -> Option<T> {
        let (page, at) = (i as usize / PAGE, i as usize % PAGE);
        let taken = self.pages.get_mut(page)?.as_mut()?.get_mut(at)?.take()?;
        self.live[page] -= 1;
        let current = self.len.saturating_sub(1) / PAGE;
        if self.live[page] == 0 && page < current {
            self.pages[page] = None;
        }
        Some(taken)
    }

    /// Every entry in use, by reference.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.pages.iter().enumerate().flat_map(|(page, slots)| {
            slots.iter().flat_map(move |slots| {
                slots
                    .iter()
                    .enumerate()
                    .filter_map(move |(at, slot)| Some(((page * PAGE + at) as u32, slot.as_ref()?)))
            })
        })
    }

    /// Pages allocated (for the tests).
    #[cfg(test)]
    pub(crate) fn pages_in_use(&self) -> usize {
        self.pages.iter().filter(|p| p.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_entries_all_gone_are_freed_and_the_rest_stay() {
        let mut slots: Slots<u64> = Slots::default();
        for i in 0..(3 * PAGE as u32) {
            slots.set(i, i as u64 * 2);
        }
        assert_eq!((slots.len(), slots.pages_in_use()), (3 * PAGE, 3));
        for i in 0..PAGE as u32 {
            assert_eq!(slots.take(i), Some(i as u64 * 2));
        }
        assert_eq!(slots.pages_in_use(), 2, "the first page is freed");
        assert_eq!(slots.get(5), None);
        assert_eq!(slots.get(PAGE as u32 + 5), Some(&(2 * (PAGE as u64 + 5))));
        // The page new references come from stays, even empty.
        for i in (2 * PAGE as u32)..(3 * PAGE as u32) {
            slots.take(i);
        }
        assert_eq!(slots.pages_in_use(), 2);
        assert_eq!(slots.iter().count(), PAGE);
        assert_eq!(slots.iter().next(), Some((PAGE as u32, &(2 * PAGE as u64))));
        slots.set(3 * PAGE as u32, 1);
        assert_eq!(slots.len(), 3 * PAGE + 1);
    }
}

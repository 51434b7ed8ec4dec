//! Bit-level writer and reader for the Gorilla chunk encoding.

#[derive(Default, Clone, Debug)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0..=7; 0 means a new byte is needed).
    free: u8,
}

impl BitWriter {
    /// Grows in small steps: a head chunk of 120 samples takes about 150
    /// bytes, and doubling would leave up to half of that unused in every series.
    fn push_byte(&mut self) {
        if self.bytes.len() == self.bytes.capacity() {
            self.bytes.reserve_exact(32);
        }
        self.bytes.push(0);
        self.free = 8;
    }

    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.push_byte();
        }
        self.free -= 1;
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 1 << self.free;
        }
    }

    /// Writes the low `count` bits of `value`, most significant first.
    pub fn write_bits(&mut self, value: u64, count: u8) {
        let mut count = count;
        while count > 0 {
            if self.free == 0 {
                self.push_byte();
            }
            let take = count.min(self.free);
            let shift = count - take;
            let chunk = ((value >> shift) & ((1u64 << take) - 1)) as u8;
            self.free -= take;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << self.free;
            }
            count -= take;
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits from the start.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> BitReader<'a> {
        BitReader { bytes, pos: 0 }
    }

    pub fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Some(bit)
    }

    pub fn read_bits(&mut self, count: u8) -> Option<u64> {
        if count > 64 || self.pos + count as usize > self.bytes.len() * 8 {
            return None;
        }
        let mut value = 0u64;
        let mut left = count;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let offset = (self.pos % 8) as u8;
            let available = 8 - offset;
            let take = left.min(available);
            let chunk = (byte >> (available - take)) & (((1u16 << take) - 1) as u8);
            value = (value << take) | chunk as u64;
            self.pos += take as usize;
            left -= take;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(items in proptest::collection::vec((any::<u64>(), 0u8..=64), 0..200)) {
            let mut w = BitWriter::default();
            for (value, count) in &items {
                w.write_bits(*value, *count);
            }
            let mut r = BitReader::new(w.bytes());
            for (value, count) in &items {
                let mask = if *count == 64 { u64::MAX } else { (1u64 << count) - 1 };
                prop_assert_eq!(r.read_bits(*count), Some(value & mask));
            }
        }
    }

    #[test]
    fn reading_past_the_end_is_none() {
        let mut w = BitWriter::default();
        w.write_bit(true);
        let mut r = BitReader::new(w.bytes());
        assert_eq!(r.read_bit(), Some(true));
        assert_eq!(r.read_bits(8), None);
    }
}

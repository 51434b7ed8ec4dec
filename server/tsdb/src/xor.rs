//! The head's chunk encoding: Gorilla (Facebook, VLDB 2015) as in Prometheus —
//! delta-of-delta timestamps and XOR-compressed float values, bit-packed.
//! Samples are `(i64 milliseconds, f64)`; every bit pattern of the value
//! (NaN payloads such as Prometheus' stale marker) survives the round trip.

use crate::bits::{BitReader, BitWriter};

/// A growing chunk. Prometheus cuts head chunks at 120 samples.
#[derive(Clone, Debug, Default)]
pub struct XorChunk {
    bits: BitWriter,
    count: u32,
    first_t: i64,
    last_t: i64,
    last_delta: i64,
    last_value: u64,
    leading: u8,
    trailing: u8,
}

/// The buckets for a delta-of-delta: (prefix bits, prefix length, payload bits).
const DOD_BUCKETS: [(u64, u8, u8); 3] = [(0b10, 2, 14), (0b110, 3, 17), (0b1110, 4, 20)];

fn fits(value: i64, bits: u8) -> bool {
    let limit = 1i64 << (bits - 1);
    (-limit + 1..=limit).contains(&value)
}

impl XorChunk {
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn first_t(&self) -> Option<i64> {
        (self.count > 0).then_some(self.first_t)
    }

    pub fn last_t(&self) -> Option<i64> {
        (self.count > 0).then_some(self.last_t)
    }

    /// Encoded size in bytes (what the chunk costs in memory).
    pub fn byte_len(&self) -> usize {
        self.bits.bytes().len()
    }

    pub fn bytes(&self) -> &[u8] {
        self.bits.bytes()
    }

    pub fn append(&mut self, t: i64, v: f64) {
        let value = v.to_bits();
        match self.count {
            0 => {
                self.bits.write_bits(t as u64, 64);
                self.bits.write_bits(value, 64);
                self.first_t = t;
                self.leading = 0xff;
            }
            _ => {
                let delta = t.wrapping_sub(self.last_t);
                let dod = delta.wrapping_sub(self.last_delta);
                self.write_dod(dod);
                self.write_value(value);
                self.last_delta = delta;
            }
        }
        self.last_t = t;
        self.last_value = value;
        self.count += 1;
    }

    fn write_dod(&mut self, dod: i64) {
        if dod == 0 {
            self.bits.write_bit(false);
            return;
        }
        for (prefix, prefix_len, payload) in DOD_BUCKETS {
            if fits(dod, payload) {
                self.bits.write_bits(prefix, prefix_len);
                self.bits.write_bits(dod as u64, payload);
                return;
            }
        }
        self.bits.write_bits(0b1111, 4);
        self.bits.write_bits(dod as u64, 64);
    }

    fn write_value(&mut self, value: u64) {
        let xor = value ^ self.last_value;
        if xor == 0 {
            self.bits.write_bit(false);
            return;
        }
        self.bits.write_bit(true);
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            // Fits in the previous window of meaningful bits.
            self.bits.write_bit(false);
            let significant = 64 - self.leading - self.trailing;
            self.bits.write_bits(xor >> self.trailing, significant);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            self.bits.write_bit(true);
            self.bits.write_bits(leading as u64, 5);
            let significant = 64 - leading - trailing;
            // 64 significant bits are stored as 0 (6 bits cannot hold 64).
            self.bits.write_bits((significant % 64) as u64, 6);
            self.bits.write_bits(xor >> trailing, significant);
        }
    }

    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(self.bits.bytes(), self.count as usize)
    }
}

/// Decodes `count` samples from chunk bytes; stops early (never panics) on truncated or corrupt data.
pub struct XorIter<'a> {
    bits: BitReader<'a>,
    left: usize,
    read: usize,
    t: i64,
    delta: i64,
    value: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> XorIter<'a> {
    pub fn new(bytes: &'a [u8], count: usize) -> XorIter<'a> {
        XorIter {
            bits: BitReader::new(bytes),
            left: count,
            read: 0,
            t: 0,
            delta: 0,
            value: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_dod(&mut self) -> Option<i64> {
        if !self.bits.read_bit()? {
            return Some(0);
        }
        let mut prefix_len = 1;
        while prefix_len < 4 && self.bits.read_bit()? {
            prefix_len += 1;
        }
        let payload = match prefix_len {
            1 => 14,
            2 => 17,
            3 => 20,
            _ => 64,
        };
        let raw = self.bits.read_bits(payload)?;
        Some(if payload == 64 {
            raw as i64
        } else {
            // Sign-extend the payload.
            let shift = 64 - payload as u32;
            ((raw << shift) as i64) >> shift
        })
    }

    fn read_value(&mut self) -> Option<u64> {
        if !self.bits.read_bit()? {
            return Some(self.value);
        }
        if self.bits.read_bit()? {
            self.leading = self.bits.read_bits(5)? as u8;
            let mut significant = self.bits.read_bits(6)? as u8;
            if significant == 0 {
                significant = 64;
            }
            self.trailing = 64u8.checked_sub(self.leading)?.checked_sub(significant)?;
        }
        let significant = 64u8.checked_sub(self.leading)?.checked_sub(self.trailing)?;
        let bits = self.bits.read_bits(significant)?;
        Some(self.value ^ bits.checked_shl(self.trailing as u32).unwrap_or(0))
    }

    fn decode(&mut self) -> Option<(i64, f64)> {
        if self.read == 0 {
            self.t = self.bits.read_bits(64)? as i64;
            self.value = self.bits.read_bits(64)?;
        } else {
            let dod = self.read_dod()?;
            self.delta = self.delta.wrapping_add(dod);
            self.t = self.t.wrapping_add(self.delta);
            self.value = self.read_value()?;
        }
        self.read += 1;
        Some((self.t, f64::from_bits(self.value)))
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let sample = self.decode();
        if sample.is_none() {
            self.left = 0;
        }
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::STALE_NAN;
    use proptest::prelude::*;

    fn value_strategy() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::from_bits(STALE_NAN)),
            (0u32..1000).prop_map(f64::from),
            (-1e6f64..1e6).prop_map(|v| (v * 100.0).round() / 100.0),
        ]
    }

    proptest! {
        #[test]
        fn any_samples_round_trip_bit_for_bit(samples in proptest::collection::vec((any::<i64>(), value_strategy()), 0..300)) {
            let mut chunk = XorChunk::default();
            for (t, v) in &samples {
                chunk.append(*t, *v);
            }
            let decoded: Vec<(i64, u64)> = chunk.iter().map(|(t, v)| (t, v.to_bits())).collect();
            let expected: Vec<(i64, u64)> = samples.iter().map(|(t, v)| (*t, v.to_bits())).collect();
            prop_assert_eq!(decoded, expected);
        }

        #[test]
        fn corrupt_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), count in 0usize..500) {
            let _ = XorIter::new(&bytes, count).count();
        }
    }

    #[test]
    fn regular_scrapes_cost_little() {
        let mut chunk = XorChunk::default();
        for i in 0..120 {
            chunk.append(1_700_000_000_000 + i * 15_000, 42.0);
        }
        // 16 bytes for the first sample, 21 bits for the second, then 2 bits per sample.
        assert_eq!(chunk.byte_len(), (128 + 21 + 118 * 2usize).div_ceil(8));
        assert_eq!(chunk.iter().count(), 120);
        assert_eq!(chunk.first_t(), Some(1_700_000_000_000));
        assert_eq!(chunk.last_t(), Some(1_700_000_000_000 + 119 * 15_000));
    }
}

//! Continuing a CRC over a run of zero bytes without reading them: the
//! register times x^(8n) modulo the polynomial, in O(log n) steps.
//!
//! Shared by the host (`sent_checks.rs`) and the guest
//! (`guest/src/input/checked.rs`, which includes this file by path), so that
//! both halves of a check count zeros alike.

/// A reflected CRC polynomial of up to 64 bits, with the powers of x that
/// [`Polynomial::shift`] multiplies by.
pub(super) struct Polynomial {
    /// The polynomial, bit-reflected, without its x^width term.
    reflected: u64,
    width: u32,
    /// x^(2^k) modulo the polynomial, for k from 0 to 66 (enough for 2^64 bytes).
    powers: [u64; 67],
}

/// CRC-32 (ISO-HDLC), as gzip and xz use it.
pub(super) const CRC32: Polynomial = Polynomial::new(0xedb8_8320, 32);
/// CRC-64 (ECMA-182, reflected), as xz uses it.
pub(super) const CRC64: Polynomial = Polynomial::new(0xc96c_5795_d787_0f42, 64);

impl Polynomial {
    const fn new(reflected: u64, width: u32) -> Polynomial {
        let mut p = Polynomial { reflected, width, powers: [0; 67] };
        p.powers[0] = 1 << (width - 2); // x
        let mut k = 1;
        while k < p.powers.len() {
            p.powers[k] = p.multiply(p.powers[k - 1], p.powers[k - 1]);
            k += 1;
        }
        p
    }

    /// `a` times `b` modulo the polynomial, both reflected.
    const fn multiply(&self, a: u64, mut b: u64) -> u64 {
        let mut product = 0;
        let mut bit = 0;
        while bit < self.width {
            if a & (1 << (self.width - 1 - bit)) != 0 {
                product ^= b;
            }
            b = if b & 1 != 0 { (b >> 1) ^ self.reflected } else { b >> 1 };
            bit += 1;
        }
        product
    }

    /// `register` (reflected, no inversions) continued over `count` zero
    /// bytes: times x^(8 count).
    pub(super) fn shift(&self, mut register: u64, count: u64) -> u64 {
        let (mut count, mut k) = (count, 3);
        while count != 0 {
            if count & 1 != 0 {
                register = self.multiply(self.powers[k], register);
            }
            count >>= 1;
            k += 1;
        }
        register
    }
}

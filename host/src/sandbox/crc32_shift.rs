//! Continuing a CRC-32 over a run of zero bytes without reading them: the
//! register times x^(8n) modulo the polynomial, in O(log n) steps.
//!
//! Shared by the host (`gzip_check.rs`) and the guest
//! (`guest/src/input/gzip.rs`, which includes this file by path), so that
//! both halves of a gzip member's CRC-32 check count zeros alike.

/// The CRC-32 polynomial (ISO-HDLC, as gzip uses it), bit-reflected; the
/// x^32 term is implied.
const POLYNOMIAL: u32 = 0xedb8_8320;

/// `a` times `b` modulo the polynomial, both reflected.
const fn multiply(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 0;
    while bit < 32 {
        if a & (1 << (31 - bit)) != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLYNOMIAL } else { b >> 1 };
        bit += 1;
    }
    product
}

/// x^(2^k) modulo the polynomial, for k from 0 to 66 (enough for 2^64 bytes).
const POWERS: [u32; 67] = {
    let mut powers = [0u32; 67];
    powers[0] = 1 << 30; // x
    let mut k = 1;
    while k < powers.len() {
        powers[k] = multiply(powers[k - 1], powers[k - 1]);
        k += 1;
    }
    powers
};

/// `register` continued over `count` zero bytes: times x^(8 count).
pub(super) fn shift(mut register: u32, count: u64) -> u32 {
    let (mut count, mut k) = (count, 3);
    while count != 0 {
        if count & 1 != 0 {
            register = multiply(POWERS[k], register);
        }
        count >>= 1;
        k += 1;
    }
    register
}

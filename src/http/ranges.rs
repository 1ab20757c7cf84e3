//! `Range: bytes=...` parsing (RFC 9110 §14.1-14.2), pure and table-tested.
//!
//! The outcome is one of three: ignore the header and send the whole file (absent, malformed,
//! another unit, or too many pieces), a set of satisfiable ranges (sorted, overlapping and
//! adjacent ones coalesced, an end past EOF clamped), or unsatisfiable (416). Capping the
//! number of ranges after coalescing keeps a thousand one-byte ranges from turning a small file
//! into a huge multipart response.

use std::ops::RangeInclusive;

/// Most ranges served as `multipart/byteranges`; more gets the whole file (RFC 9110 §14.2
/// allows ignoring a Range header).
pub const MAX_RANGES: usize = 16;
/// Most range specs parsed from one header before giving up and sending the whole file.
const MAX_SPECS: usize = 256;

/// What to do with a Range header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// Send the whole representation (200).
    Ignore,
    /// Send these byte ranges (206), sorted and disjoint; one range is a plain 206.
    Satisfiable(Vec<RangeInclusive<u64>>),
    /// None of the ranges overlap the representation (416).
    Unsatisfiable,
}

/// Parses a Range header value for a representation of `len` bytes.
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    let header = header.trim();
    let Some((unit, specs)) = header.split_once('=') else {
        return RangeRequest::Ignore;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Ignore;
    }
    let mut ranges: Vec<RangeInclusive<u64>> = Vec::new();
    let mut count = 0;
    for spec in specs.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_SPECS {
            return RangeRequest::Ignore;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return RangeRequest::Ignore;
        };
        let (first, last) = (first.trim(), last.trim());
        let range = if first.is_empty() {
            // Suffix: the last N bytes.
            let Some(n) = parse_u64(last) else {
                return RangeRequest::Ignore;
            };
            (n > 0 && len > 0).then(|| len.saturating_sub(n)..=len - 1)
        } else {
            let Some(start) = parse_u64(first) else {
                return RangeRequest::Ignore;
            };
            let end = if last.is_empty() {
                u64::MAX
            } else {
                match parse_u64(last) {
                    Some(end) if end >= start => end,
                    _ => return RangeRequest::Ignore,
                }
            };
            (start < len).then(|| start..=end.min(len - 1))
        };
        if let Some(range) = range {
            ranges.push(range);
        }
    }
    if count == 0 {
        return RangeRequest::Ignore;
    }
    if ranges.is_empty() {
        return RangeRequest::Unsatisfiable;
    }
    let ranges = coalesce(ranges);
    if ranges.len() > MAX_RANGES {
        return RangeRequest::Ignore;
    }
    RangeRequest::Satisfiable(ranges)
}

/// Sorts and merges overlapping or adjacent ranges.
fn coalesce(mut ranges: Vec<RangeInclusive<u64>>) -> Vec<RangeInclusive<u64>> {
    ranges.sort_by_key(|r| *r.start());
    let mut out: Vec<RangeInclusive<u64>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if *r.start() <= last.end().saturating_add(1) => {
                if r.end() > last.end() {
                    *last = *last.start()..=*r.end();
                }
            }
            _ => out.push(r),
        }
    }
    out
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn rfc_9110_examples_and_handed_cases() {
        let len = 10_000;
        let cases: &[(&str, RangeRequest)] = &[
            ("bytes=0-499", Satisfiable(vec![0..=499])),
            ("bytes=500-999", Satisfiable(vec![500..=999])),
            ("bytes=-500", Satisfiable(vec![9500..=9999])),
            ("bytes=9500-", Satisfiable(vec![9500..=9999])),
            ("bytes=0-0,-1", Satisfiable(vec![0..=0, 9999..=9999])),
            (
                "bytes= 0-999, 4500-5499, -1000",
                Satisfiable(vec![0..=999, 4500..=5499, 9000..=9999]),
            ),
            ("bytes=500-600,601-999", Satisfiable(vec![500..=999])),
            ("bytes=500-700,601-999", Satisfiable(vec![500..=999])),
            ("BYTES=0-0", Satisfiable(vec![0..=0])),
            ("bytes=0-3145727", Satisfiable(vec![0..=9999])),
            ("bytes=-20000", Satisfiable(vec![0..=9999])),
            ("bytes=10000-", Unsatisfiable),
            ("bytes=10000-10001,20000-", Unsatisfiable),
            ("bytes=-0", Unsatisfiable),
            ("items=0-5", Ignore),
            ("bytes=5-1", Ignore),
            ("bytes=a-b", Ignore),
            ("bytes=1", Ignore),
            ("bytes=", Ignore),
            ("bytes=--1", Ignore),
            ("bytes=+1-2", Ignore),
            ("0-5", Ignore),
        ];
        for (header, want) in cases {
            assert_eq!(&parse_range(header, len), want, "{header}");
        }
    }

    #[test]
    fn handed_a05_536_byte_file() {
        assert_eq!(
            parse_range("bytes=0-3145727", 536),
            Satisfiable(vec![0..=535])
        );
        assert_eq!(parse_range("bytes=0-0", 536), Satisfiable(vec![0..=0]));
        assert_eq!(parse_range("bytes=-100", 536), Satisfiable(vec![436..=535]));
        assert_eq!(parse_range("bytes=600-", 536), Unsatisfiable);
        assert_eq!(
            parse_range("bytes=0-0,2-2", 536),
            Satisfiable(vec![0..=0, 2..=2])
        );
    }

    #[test]
    fn many_tiny_ranges_are_not_amplified() {
        let header = format!(
            "bytes={}",
            (0..200)
                .map(|i| format!("{0}-{0}", i * 2))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(parse_range(&header, 536), Ignore);
        let adjacent = format!(
            "bytes={}",
            (0..200)
                .map(|i| format!("{i}-{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(parse_range(&adjacent, 536), Satisfiable(vec![0..=199]));
    }

    #[test]
    fn empty_file_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
        assert_eq!(parse_range("bytes=-5", 0), Unsatisfiable);
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        let samples = [
            "bytes=18446744073709551615-",
            "bytes=-18446744073709551615",
            "bytes=99999999999999999999-",
            "bytes=0-18446744073709551615",
            "bytes=,,,",
            "bytes=\u{0}-1",
            "bytes=１-2",
        ];
        for s in samples {
            for len in [0, 1, 536, u64::MAX] {
                let _ = parse_range(s, len);
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn header() -> impl Strategy<Value = String> {
        let spec = prop_oneof![
            (0u64..2000, 0u64..2000).prop_map(|(a, b)| format!("{a}-{b}")),
            (0u64..2000).prop_map(|a| format!("{a}-")),
            (0u64..2000).prop_map(|n| format!("-{n}")),
            any::<u64>().prop_map(|n| format!("{n}-")),
            any::<u64>().prop_map(|n| format!("-{n}")),
            "[ 0-9,=-]{0,12}",
            any::<String>(),
        ];
        (
            prop_oneof![Just("bytes="), Just("BYTES="), Just("items="), Just("")],
            proptest::collection::vec(spec, 0..40),
        )
            .prop_map(|(unit, specs)| format!("{unit}{}", specs.join(",")))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn ranges_stay_inside_the_file_sorted_disjoint_and_capped(h in header(), len in prop_oneof![Just(0u64), Just(1u64), 0u64..5000, Just(u64::MAX)]) {
            if let RangeRequest::Satisfiable(ranges) = parse_range(&h, len) {
                prop_assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
                for r in &ranges {
                    prop_assert!(r.start() <= r.end() && *r.end() < len);
                }
                for w in ranges.windows(2) {
                    prop_assert!(w[0].end() + 1 < *w[1].start(), "not coalesced: {ranges:?}");
                }
            }
        }
    }
}

//! Who fires the named events: for each event, the top K client addresses over a sliding
//! window (`nginx_event_top_sources{event,source}`), in memory bounded whatever the number of
//! distinct addresses.
//!
//! The window is a ring of [`BUCKETS`] sub-windows of `window / BUCKETS` each; a sub-window
//! older than the window is emptied when its slot is reused. Each sub-window counts its
//! sources with the space-saving algorithm (Metwally et al.) over a fixed `capacity`: a source
//! not monitored replaces the one with the smallest count and inherits that count plus one.
//! The reported count of a source is the sum of its counts in the sub-windows of the window.
//!
//! Error bound: in one sub-window holding `n` events, a count is at most `n / capacity` above
//! the true one (the inherited part), and a source missing from that sub-window's sketch had at
//! most `n / capacity` events there; so over the window each reported count is within
//! `N / capacity` of the true count, `N` being the events in the window, and every source with
//! more than `N / capacity` events in a sub-window is monitored there. While a sub-window sees
//! at most `capacity` distinct sources, its counts are exact. The window itself is precise to
//! one sub-window: an event is counted for between `window - window / BUCKETS` and `window`.
//!
//! Addresses: IPv4 as is (also when written as an IPv4-mapped IPv6 address), IPv6 grouped by
//! their /64 (one host usually holds a whole /64), anything else under `other`. With
//! [`SourceField::trusted`] proxies, the field is read as an `X-Forwarded-For` list and the
//! source is its rightmost hop that is not a trusted proxy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

use crate::hash::Prehashed;

/// Sub-windows of the sliding window.
pub const BUCKETS: u64 = 10;

/// One source: an IPv4 address, an IPv6 /64, or `other` (not an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// An IPv4 address.
    V4(u32),
    /// The first 64 bits of an IPv6 address.
    V6(u64),
    /// A field that holds no address.
    Other,
}

impl Source {
    /// The source of one address.
    pub fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.into()),
                None => Source::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }

    /// The label value: `192.0.2.7`, `2001:db8:1:2::/64` or `other`.
    pub fn label(self) -> String {
        match self {
            Source::V4(a) => Ipv4Addr::from(a).to_string(),
            Source::V6(p) => format!("{}/64", Ipv6Addr::from(u128::from(p) << 64)),
            Source::Other => "other".into(),
        }
    }

    fn key(self) -> u64 {
        // Distinct keys for distinct sources, spread for the prehashed map.
        let raw = match self {
            Source::V4(a) => u64::from(a) ^ 0x4000_0000_0000_0000,
            Source::V6(p) => p,
            Source::Other => 0x0bad_0000_0000_0001,
        };
        raw.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (raw >> 29)
    }
}

/// Parses one address as nginx logs it: `192.0.2.7`, `2001:db8::1`, also with a port
/// (`192.0.2.7:5678`, `[2001:db8::1]:5678`) or in brackets.
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(text).ok()?.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    text.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// Where the client address of a line comes from.
#[derive(Clone, Debug)]
pub struct SourceField {
    /// The nginx variable, without `$`: `remote_addr` (default), `http_x_forwarded_for`, ...
    pub variable: String,
    /// Proxies whose hops of an `X-Forwarded-For` list are skipped, from the right.
    pub trusted: Vec<IpNet>,
}

impl Default for SourceField {
    fn default() -> Self {
        SourceField {
            variable: "remote_addr".into(),
            trusted: Vec::new(),
        }
    }
}

impl SourceField {
    /// The source of a field's value. A comma-separated list (`X-Forwarded-For`) yields its
    /// rightmost hop that is not a trusted proxy (its leftmost when all are trusted); a value
    /// that is no address is [`Source::Other`].
    pub fn source(&self, value: &[u8]) -> Source {
        let hops = value
            .rsplit(|b| *b == b',')
            .map(|h| h.trim_ascii())
            .filter(|h| !h.is_empty());
        let mut last = None;
        for hop in hops {
            let Some(ip) = parse_ip(hop) else {
                return Source::Other;
            };
            if !self.trusted.iter().any(|net| net.contains(&ip)) {
                return Source::of(ip);
            }
            last = Some(ip);
        }
        last.map_or(Source::Other, Source::of)
    }
}

/// One monitored source of a sketch.
#[derive(Clone, Copy, Debug)]
struct Counter {
    source: Source,
    count: u64,
}

/// A space-saving sketch of one sub-window.
#[derive(Clone, Debug, Default)]
struct Sketch {
    /// The sub-window this sketch counts (`now / bucket length`).
    id: u64,
    counters: Vec<Counter>,
    index: HashMap<u64, u32, Prehashed>,
}

impl Sketch {
    fn clear(&mut self, id: u64) {
        self.id = id;
        self.counters.clear();
        self.index.clear();
    }

    fn observe(&mut self, source: Source, capacity: usize) {
        let key = source.key();
        if let Some(&slot) = self.index.get(&key) {
            self.counters[slot as usize].count += 1;
            return;
        }
        if self.counters.len() < capacity {
            self.index.insert(key, self.counters.len() as u32);
            self.counters.push(Counter { source, count: 1 });
            return;
        }
        let (slot, _) = self
            .counters
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.count)
            .expect("capacity >= 1");
        let c = &mut self.counters[slot];
        self.index.remove(&c.source.key());
        self.index.insert(key, slot as u32);
        c.source = source;
        c.count += 1;
    }
}

/// The sliding window of one event.
#[derive(Clone, Debug, Default)]
struct Window {
    ring: Vec<Sketch>,
}

/// Limits of the top sources.
#[derive(Clone, Debug)]
pub struct SourceSettings {
    /// Sources reported per event (0: none are tracked).
    pub top_k: usize,
    /// The sliding window.
    pub window: Duration,
    /// Sources each sub-window's sketch monitors.
    pub capacity: usize,
}

impl SourceSettings {
    /// `top_k` sources over `window`, with a sketch capacity of `max(64, 10 × top_k)`.
    pub fn new(top_k: usize, window: Duration) -> SourceSettings {
        SourceSettings {
            top_k,
            window,
            capacity: (top_k * 10).max(64),
        }
    }
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings::new(10, Duration::from_secs(600))
    }
}

/// The top sources of every event.
#[derive(Clone, Debug)]
pub struct SourceTops {
    settings: SourceSettings,
    /// Length of a sub-window, in milliseconds.
    bucket_ms: u64,
    /// By event index; empty until the event is first seen.
    windows: Vec<Window>,
}

impl SourceTops {
    /// Tops for `events` event names.
    pub fn new(settings: SourceSettings, events: usize) -> SourceTops {
        let window_ms = u64::try_from(settings.window.as_millis()).unwrap_or(u64::MAX);
        SourceTops {
            bucket_ms: (window_ms / BUCKETS).max(1),
            settings,
            windows: vec![Window::default(); events],
        }
    }

    /// Whether sources are tracked at all.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.settings.top_k > 0
    }

    /// Counts `source` for every event in the bit mask `events`, at `now_ms`.
    pub fn observe(&mut self, events: u64, source: Source, now_ms: u64) {
        let id = now_ms / self.bucket_ms;
        let slot = (id % BUCKETS) as usize;
        let capacity = self.settings.capacity;
        let mut events = events;
        while events != 0 {
            let event = events.trailing_zeros() as usize;
            events &= events - 1;
            let Some(window) = self.windows.get_mut(event) else {
                continue;
            };
            if window.ring.is_empty() {
                window.ring = vec![Sketch::default(); BUCKETS as usize];
            }
            let sketch = &mut window.ring[slot];
            if sketch.id != id || sketch.counters.is_empty() {
                sketch.clear(id);
            }
            sketch.observe(source, capacity);
        }
    }

    /// The top K sources of `event` over the window ending at `now_ms`, highest count first
    /// (ties by source, for a stable output).
    pub fn top(&self, event: usize, now_ms: u64) -> Vec<(Source, u64)> {
        let Some(window) = self.windows.get(event) else {
            return Vec::new();
        };
        let current = now_ms / self.bucket_ms;
        let mut counts: HashMap<Source, u64> = HashMap::new();
        for sketch in &window.ring {
            if sketch.id + BUCKETS <= current || sketch.id > current {
                continue;
            }
            for c in &sketch.counters {
                *counts.entry(c.source).or_default() += c.count;
            }
        }
        let mut top: Vec<(Source, u64)> = counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top.truncate(self.settings.top_k);
        top
    }

    /// Sources monitored over all events and sub-windows (at most events × [`BUCKETS`] ×
    /// capacity).
    pub fn monitored(&self) -> usize {
        self.windows
            .iter()
            .flat_map(|w| &w.ring)
            .map(|s| s.counters.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(s: &str) -> Source {
        SourceField::default().source(s.as_bytes())
    }

    fn labels(top: &[(Source, u64)]) -> Vec<(String, u64)> {
        top.iter().map(|(s, c)| (s.label(), *c)).collect()
    }

    #[test]
    fn few_sources_are_counted_exactly() {
        let mut t = SourceTops::new(SourceSettings::default(), 2);
        for _ in 0..6 {
            t.observe(0b01, src("127.0.0.2"), 1_000);
        }
        for _ in 0..2 {
            t.observe(0b11, src("127.0.0.3"), 2_000);
        }
        assert_eq!(
            labels(&t.top(0, 3_000)),
            vec![("127.0.0.2".into(), 6), ("127.0.0.3".into(), 2)]
        );
        assert_eq!(labels(&t.top(1, 3_000)), vec![("127.0.0.3".into(), 2)]);
    }

    #[test]
    fn ipv6_is_grouped_by_64_and_mapped_ipv4_is_ipv4() {
        let mut t = SourceTops::new(SourceSettings::default(), 1);
        for a in ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::9", "2001:db8:1:3::1"] {
            t.observe(1, src(a), 0);
        }
        t.observe(1, src("::ffff:192.0.2.7"), 0);
        t.observe(1, src("not an address"), 0);
        assert_eq!(
            labels(&t.top(0, 0)),
            vec![
                ("2001:db8:1:2::/64".into(), 2),
                ("192.0.2.7".into(), 1),
                ("2001:db8:1:3::/64".into(), 1),
                ("other".into(), 1),
            ]
        );
    }

    #[test]
    fn events_leave_the_window_one_sub_window_at_a_time() {
        let settings = SourceSettings::new(10, Duration::from_secs(600));
        let mut t = SourceTops::new(settings, 1);
        // Sub-windows of 60 s.
        t.observe(1, src("192.0.2.1"), 0);
        t.observe(1, src("192.0.2.1"), 59_000);
        t.observe(1, src("192.0.2.2"), 60_000);
        t.observe(1, src("192.0.2.2"), 300_000);
        assert_eq!(
            labels(&t.top(0, 599_999)),
            vec![("192.0.2.1".into(), 2), ("192.0.2.2".into(), 2)]
        );
        // The first sub-window [0, 60 s) has left.
        assert_eq!(labels(&t.top(0, 600_000)), vec![("192.0.2.2".into(), 2)]);
        assert_eq!(labels(&t.top(0, 660_000)), vec![("192.0.2.2".into(), 1)]);
        // A slot reused ten sub-windows later starts empty.
        t.observe(1, src("192.0.2.3"), 960_000);
        assert_eq!(labels(&t.top(0, 960_000)), vec![("192.0.2.3".into(), 1)]);
        assert!(t.top(0, 2_000_000).is_empty());
    }

    #[test]
    fn a_million_distinct_addresses_stay_in_bounded_memory_and_the_heavy_hitters_show() {
        let settings = SourceSettings::new(3, Duration::from_secs(600));
        let capacity = settings.capacity;
        let mut t = SourceTops::new(settings, 1);
        let total = 1_000_000u32;
        for i in 0..total {
            let now = u64::from(i) / 2; // 500 s of events
            // Every address once, and two attackers among them.
            t.observe(1, Source::V4(0x0a00_0000 + i), now);
            if i % 10 == 0 {
                t.observe(1, src("198.51.100.7"), now);
            }
            if i % 20 == 0 {
                t.observe(1, src("2001:db8::7"), now);
            }
        }
        assert!(t.monitored() <= BUCKETS as usize * capacity);
        let top = t.top(0, 500_000);
        assert_eq!(top.len(), 3);
        assert_eq!(top[0].0.label(), "198.51.100.7");
        assert_eq!(top[1].0.label(), "2001:db8::/64");
        // Within N / capacity of the truth, N being the events in the window.
        let n = u64::from(total) + u64::from(total / 10) + u64::from(total / 20);
        let bound = n / capacity as u64;
        assert!(top[0].1.abs_diff(100_000) <= bound, "{top:?} {bound}");
        assert!(top[1].1.abs_diff(50_000) <= bound, "{top:?} {bound}");
    }

    #[test]
    fn forwarded_for_yields_the_rightmost_untrusted_hop() {
        let field = SourceField {
            variable: "http_x_forwarded_for".into(),
            trusted: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        };
        let s = |v: &str| field.source(v.as_bytes()).label();
        assert_eq!(s("203.0.113.9, 198.51.100.1, 10.0.0.2"), "198.51.100.1");
        assert_eq!(s("203.0.113.9,10.1.1.1, ::1"), "203.0.113.9");
        assert_eq!(s("10.0.0.3, 10.0.0.2"), "10.0.0.3");
        assert_eq!(s("[2001:db8::5]:443"), "2001:db8::/64");
        assert_eq!(s("198.51.100.1:5678"), "198.51.100.1");
        assert_eq!(s("-"), "other");
        assert_eq!(s(""), "other");
        // Without trusted proxies: the hop the nearest proxy saw.
        assert_eq!(src("203.0.113.9, 198.51.100.1").label(), "198.51.100.1");
    }
}

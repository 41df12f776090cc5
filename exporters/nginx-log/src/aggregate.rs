//! The hot path: log lines in, counts out. Plain integers in flat vectors, keyed by interned
//! ids, so a line costs a parse, a normalisation, two hash lookups and a few additions. The
//! caller holds one lock per block of lines; scrapes read the same state (see `collector`).

use std::collections::HashMap;

use crate::events::Events;
use crate::hash::{Prehashed, key_hash};
use crate::lineformat::LineFormat;
use crate::normalize::Normalizer;
use crate::record::{
    Record, method_index, parse_seconds, parse_status, parse_u64, parse_upstream_seconds,
};
use crate::topn::TopN;

/// Why a line was not counted (`nginx_log_parse_errors_total{reason}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line does not match the log format.
    Format = 0,
    /// `$status` is not three digits.
    Status = 1,
    /// The line is longer than the limit.
    TooLong = 2,
    /// A JSON line that is not a JSON object.
    Json = 3,
}

/// Label values of [`ParseError`], by discriminant.
pub const PARSE_ERROR_REASONS: [&str; 4] = ["format", "status", "too_long", "json"];

/// Limits and buckets.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Distinct endpoints kept; more are counted as `other`.
    pub max_endpoints: usize,
    /// Distinct `(labels, method, status, endpoint)` series kept; more fold their endpoint.
    pub max_series: usize,
    /// Buckets of `nginx_http_request_duration_seconds`.
    pub duration_buckets: Vec<f64>,
    /// Buckets of `nginx_http_upstream_duration_seconds`.
    pub upstream_buckets: Vec<f64>,
    /// Label statuses by class (`2xx`) instead of code.
    pub status_class: bool,
    /// Size of the top list.
    pub top_n: usize,
    /// Keys the top list monitors (space-saving capacity).
    pub top_capacity: usize,
    /// Longest line counted; longer ones are `too_long` errors.
    pub max_line_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        let buckets = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        Settings {
            max_endpoints: 1000,
            max_series: 10_000,
            duration_buckets: buckets.clone(),
            upstream_buckets: buckets,
            status_class: false,
            top_n: 20,
            top_capacity: 200,
            max_line_bytes: 64 * 1024,
        }
    }
}

/// One `(labels, method, status, endpoint)` series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Index of the static label set.
    pub labels: u16,
    /// Method index.
    pub method: u8,
    /// Status code (or class × 100).
    pub status: u16,
    /// Endpoint id.
    pub endpoint: u32,
    /// Requests.
    pub requests: u64,
    /// Sum of `$body_bytes_sent`.
    pub response_bytes: u64,
    /// Sum of `$request_length`.
    pub request_bytes: u64,
}

/// Histograms by `(labels, endpoint)`, bucket counts not cumulative.
#[derive(Clone, Debug)]
pub struct Histograms {
    /// Upper bounds, ascending, without `+Inf`.
    pub bounds: Vec<f64>,
    /// `slots × (bounds + 1)` counts.
    pub counts: Vec<u64>,
    /// Sum per slot.
    pub sums: Vec<f64>,
}

impl Histograms {
    fn new(mut bounds: Vec<f64>) -> Histograms {
        bounds.retain(|b| b.is_finite());
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        Histograms {
            bounds,
            counts: Vec::new(),
            sums: Vec::new(),
        }
    }

    fn grow(&mut self) {
        self.counts
            .extend(std::iter::repeat_n(0, self.bounds.len() + 1));
        self.sums.push(0.0);
    }

    #[inline]
    fn observe(&mut self, slot: usize, v: f64) {
        // The bounds are sorted: the first bound `>= v` is the number of bounds below `v`,
        // counted without branches.
        let bucket = self.bounds.iter().filter(|b| **b < v).count();
        self.counts[slot * (self.bounds.len() + 1) + bucket] += 1;
        self.sums[slot] += v;
    }

    /// Cumulative `(bound, count)` pairs of one slot, `+Inf` last, and the total count.
    pub fn cumulative(&self, slot: usize) -> (Vec<(f64, u64)>, u64) {
        let width = self.bounds.len() + 1;
        let mut acc = 0;
        let buckets = self.counts[slot * width..(slot + 1) * width]
            .iter()
            .enumerate()
            .map(|(i, c)| {
                acc += c;
                (self.bounds.get(i).copied().unwrap_or(f64::INFINITY), acc)
            })
            .collect();
        (buckets, acc)
    }
}

/// Everything counted from the lines.
#[derive(Debug)]
pub struct Aggregator {
    /// Limits and buckets.
    pub settings: Settings,
    normalizer: Normalizer,
    /// Event rules.
    pub events: Events,
    endpoint_index: HashMap<u64, u32, Prehashed>,
    /// Endpoint names by id; id 0 is `other`.
    pub endpoints: Vec<String>,
    endpoint_masks: Vec<u64>,
    series_index: HashMap<u64, u32, Prehashed>,
    fast_series: HashMap<u64, u32, Prehashed>,
    folded_by_method: [u64; 10],
    /// Request series.
    pub series: Vec<Series>,
    hist_index: HashMap<u64, u32, Prehashed>,
    /// `(labels, endpoint)` of each histogram slot.
    pub hist_keys: Vec<(u16, u32)>,
    /// Request durations.
    pub durations: Histograms,
    /// Upstream durations.
    pub upstreams: Histograms,
    /// Count per static label set and event name: `event_counts[labels * names + event]`,
    /// events in the order of `events.names()`.
    pub event_counts: Vec<u64>,
    /// Requests counted under `other` by the endpoint or series cap.
    pub folded: u64,
    /// The most requested of the endpoints folded into `other` (space-saving).
    pub top: TopN,
    /// Complete lines seen.
    pub lines: u64,
    /// Bytes of those lines, newlines included.
    pub bytes: u64,
    /// Lines not counted, by [`ParseError`].
    pub parse_errors: [u64; 4],
    scratch: Vec<u8>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(settings: Settings, normalizer: Normalizer, events: Events) -> Aggregator {
        let event_counts = vec![0; events.names().len()];
        let top = TopN::new(settings.top_n, settings.top_capacity);
        let durations = Histograms::new(settings.duration_buckets.clone());
        let upstreams = Histograms::new(settings.upstream_buckets.clone());
        let mut agg = Aggregator {
            settings,
            normalizer,
            endpoint_index: HashMap::default(),
            endpoints: Vec::new(),
            endpoint_masks: Vec::new(),
            series_index: HashMap::default(),
            fast_series: HashMap::default(),
            folded_by_method: [0; 10],
            series: Vec::new(),
            hist_index: HashMap::default(),
            hist_keys: Vec::new(),
            durations,
            upstreams,
            event_counts,
            folded: 0,
            top,
            lines: 0,
            bytes: 0,
            parse_errors: [0; 4],
            scratch: Vec::with_capacity(256),
            events,
        };
        let other = b"other";
        agg.endpoint_index.insert(key_hash(other), 0);
        agg.endpoints.push("other".into());
        agg.endpoint_masks.push(agg.events.mask(other));
        agg
    }

    /// Counts a block of complete lines (each ending with `\n`, the last one may lack it).
    pub fn process_block(&mut self, format: &LineFormat, labels: u16, block: &[u8]) {
        self.bytes += block.len() as u64;
        let mut start = 0;
        // The AVX2 searcher called directly: `memchr_iter` re-dispatches on every line.
        #[cfg(target_arch = "x86_64")]
        if let Some(newline) = memchr::arch::x86_64::avx2::memchr::One::new(b'\n') {
            for nl in newline.iter(block) {
                self.process_line(format, labels, &block[start..nl]);
                start = nl + 1;
            }
            if start < block.len() {
                self.process_line(format, labels, &block[start..]);
            }
            return;
        }
        for nl in memchr::memchr_iter(b'\n', block) {
            self.process_line(format, labels, &block[start..nl]);
            start = nl + 1;
        }
        if start < block.len() {
            self.process_line(format, labels, &block[start..]);
        }
    }

    /// Counts one line (without its newline).
    #[inline]
    pub fn process_line(&mut self, format: &LineFormat, labels: u16, line: &[u8]) {
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.settings.max_line_bytes {
            self.parse_errors[ParseError::TooLong as usize] += 1;
            return;
        }
        match format.with_record(line, |record| self.count(labels, record)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) | Err(e) => self.parse_errors[e as usize] += 1,
        }
    }

    #[inline]
    fn count(&mut self, labels: u16, record: &Record<'_>) -> Result<(), ParseError> {
        let mut status = parse_status(record.status).ok_or(ParseError::Status)?;
        let (method, uri) = record.method_and_uri();
        let method = method_index(method);
        let mut scratch = std::mem::take(&mut self.scratch);
        self.normalizer.normalize(uri, &mut scratch);
        let hash = key_hash(&scratch);
        // Steady state: one probe from (endpoint text, labels, method, status) to its series.
        let raw_status = status;
        let fast_key = hash
            ^ ((u64::from(labels) << 32) | (u64::from(method) << 16) | u64::from(raw_status))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let series = match self.fast_series.get(&fast_key) {
            Some(&i) => {
                self.scratch = scratch;
                i as usize
            }
            None => {
                let (endpoint, _) = self.endpoint(&scratch, hash);
                self.scratch = scratch;
                if self.settings.status_class {
                    status = status / 100 * 100;
                }
                let series = self.series_slot(labels, method, status, endpoint);
                // Only unfolded pairs are remembered, so this map is no bigger than the series.
                if endpoint != 0 && self.series[series].endpoint == endpoint {
                    self.fast_series.insert(fast_key, series as u32);
                } else if self.series[series].endpoint == 0 && self.scratch != b"other" {
                    // Folded by a cap: the top list still sees it, by space-saving.
                    self.top.observe(method, &self.scratch, hash);
                    self.folded_by_method[method as usize] += 1;
                }
                series
            }
        };
        let endpoint = self.series[series].endpoint;
        let mask = if endpoint == 0 {
            self.endpoint_masks[0] | self.events.mask(&self.scratch)
        } else {
            self.endpoint_masks[endpoint as usize]
        };
        let names = self.events.names().len();
        let base = usize::from(labels) * names;
        if base + names > self.event_counts.len() {
            self.event_counts.resize(base + names, 0);
        }
        self.events.fire(
            mask,
            method,
            raw_status,
            &mut self.event_counts[base..base + names],
        );
        let s = &mut self.series[series];
        s.requests += 1;
        s.response_bytes += parse_u64(record.body_bytes);
        s.request_bytes += parse_u64(record.request_length);
        let endpoint = s.endpoint;

        let request_time = parse_seconds(record.request_time);
        let upstream_time = parse_upstream_seconds(record.upstream_time);
        if request_time.is_some() || upstream_time.is_some() {
            let slot = self.hist_slot(labels, endpoint);
            if let Some(t) = request_time {
                self.durations.observe(slot, t);
            }
            if let Some(t) = upstream_time {
                self.upstreams.observe(slot, t);
            }
        }
        Ok(())
    }

    /// The id and event mask of an endpoint, interning it while under the cap.
    #[inline]
    fn endpoint(&mut self, name: &[u8], hash: u64) -> (u32, u64) {
        if let Some(&id) = self.endpoint_index.get(&hash) {
            return (id, self.endpoint_masks[id as usize]);
        }
        if self.endpoints.len() > self.settings.max_endpoints {
            self.folded += 1;
            return (0, self.endpoint_masks[0] | self.events.mask(name));
        }
        let id = self.endpoints.len() as u32;
        self.endpoint_index.insert(hash, id);
        self.endpoints
            .push(String::from_utf8_lossy(name).into_owned());
        self.endpoint_masks.push(self.events.mask(name));
        (id, self.endpoint_masks[id as usize])
    }

    #[inline]
    fn series_slot(&mut self, labels: u16, method: u8, status: u16, endpoint: u32) -> usize {
        let key = |endpoint: u32| {
            (u64::from(endpoint) << 32)
                | (u64::from(labels) << 16)
                | (u64::from(method) << 12)
                | u64::from(status)
        };
        if let Some(&i) = self.series_index.get(&key(endpoint)) {
            return i as usize;
        }
        let mut endpoint = endpoint;
        if self.series.len() >= self.settings.max_series && endpoint != 0 {
            self.folded += 1;
            endpoint = 0;
            if let Some(&i) = self.series_index.get(&key(0)) {
                return i as usize;
            }
        }
        let i = self.series.len();
        self.series_index.insert(key(endpoint), i as u32);
        self.series.push(Series {
            labels,
            method,
            status,
            endpoint,
            requests: 0,
            response_bytes: 0,
            request_bytes: 0,
        });
        i
    }

    #[inline]
    fn hist_slot(&mut self, labels: u16, endpoint: u32) -> usize {
        let key = (u64::from(endpoint) << 32) | u64::from(labels);
        if let Some(&i) = self.hist_index.get(&key) {
            return i as usize;
        }
        let i = self.hist_keys.len();
        self.hist_index.insert(key, i as u32);
        self.hist_keys.push((labels, endpoint));
        self.durations.grow();
        self.upstreams.grow();
        i
    }

    /// Makes room for the event counts of `sets` static label sets, so every event of every
    /// set is exported from 0.
    pub fn reserve_label_sets(&mut self, sets: usize) {
        let len = sets.max(1) * self.events.names().len();
        if len > self.event_counts.len() {
            self.event_counts.resize(len, 0);
        }
    }

    /// Counts a line dropped before parsing because it was too long.
    pub fn count_too_long(&mut self, bytes: u64) {
        self.lines += 1;
        self.bytes += bytes;
        self.parse_errors[ParseError::TooLong as usize] += 1;
    }

    /// The top `(method, endpoint, requests)` list: exact counts for the endpoints kept, and
    /// space-saving estimates (upper bounds) for those folded into `other` by the caps, which
    /// then no longer count in `other` here.
    pub fn top_requests(&self) -> Vec<(u8, &str, u64)> {
        let mut counts: HashMap<(u8, &str), u64> = HashMap::new();
        for s in &self.series {
            *counts
                .entry((s.method, self.endpoints[s.endpoint as usize].as_str()))
                .or_default() += s.requests;
        }
        for (method, folded) in self.folded_by_method.iter().enumerate() {
            if let Some(c) = counts.get_mut(&(method as u8, "other")) {
                *c = c.saturating_sub(*folded);
            }
        }
        for e in self.top.top() {
            *counts.entry((e.method, e.endpoint.as_str())).or_default() += e.count;
        }
        let mut all: Vec<(u8, &str, u64)> = counts
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|((m, e), c)| (m, e, c))
            .collect();
        all.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)).then(a.0.cmp(&b.0)));
        all.truncate(self.settings.top_n);
        all
    }

    /// Total requests counted.
    pub fn requests(&self) -> u64 {
        self.series.iter().map(|s| s.requests).sum()
    }
}

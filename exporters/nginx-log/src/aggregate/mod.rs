//! The hot path: log lines in, counts out. Plain integers in flat vectors, keyed by interned
//! ids. A repeated request path costs a parse, a hash of the path, a look-up in a fixed-size
//! path cache and one probe from (endpoint, method, status) to its series, which also carries
//! the events it fires; a new path is normalised and interned first. The caller holds one lock
//! per block of lines; scrapes read the same state (see `collector`).

mod fast_map;
mod histograms;
mod path_cache;

use std::collections::HashMap;

use crate::events::Events;
use crate::hash::{Prehashed, key_hash};
use crate::lineformat::LineFormat;
use crate::normalize::{Normalizer, path_and_hash};
use crate::record::{
    ParseError, Record, method_index, parse_seconds, parse_status, parse_u64,
    parse_upstream_seconds,
};
use crate::sources::{Source, SourceField, SourceSettings, SourceTops};
use crate::topn::TopN;

use fast_map::{Fast, FastMap, fast_key};
pub use histograms::Histograms;
use path_cache::{NUMBERED_SLOTS, PATH_SLOTS, PathCache, split_hash};

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
    /// The top sources of each event: how many, over which window.
    pub sources: SourceSettings,
    /// Where a line's client address comes from.
    pub source_field: SourceField,
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
            sources: SourceSettings::default(),
            source_field: SourceField::default(),
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

/// A series without a histogram slot yet.
const NO_SLOT: u32 = u32::MAX;

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
    /// Recently seen request paths to their (kept) endpoint id.
    paths: PathCache,
    /// Paths whose last segment is a number (`/api/users/123`, `/images/7.png`), with the
    /// number cut out, to their (kept) endpoint id: the template does not depend on the number
    /// ([`Normalizer::number_at_end`]), so a fresh id costs no normalisation.
    numbered: PathCache,
    /// The (kept) endpoint id of each prefix rule, once seen (0 before): the template of a
    /// path under a prefix rule is the rule's endpoint ([`Normalizer::prefix_rule`]).
    prefix_endpoints: Vec<u32>,
    /// Tests turn the shortcuts off to compare with the long way.
    #[cfg(test)]
    no_shortcuts: bool,
    /// `(endpoint, labels, method, raw status)` to its series and the events it fires, for
    /// the series whose endpoint is kept (not folded), so a repeated request costs one probe.
    fast_series: FastMap,
    /// Histogram slot of each series (`NO_SLOT` until it has an observation).
    series_hist: Vec<u32>,
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
    /// The top client addresses of each event over a sliding window.
    pub sources: SourceTops,
    /// The clock of that window.
    started: std::time::Instant,
    scratch: Vec<u8>,
}

impl Aggregator {
    /// An empty aggregator.
    pub fn new(settings: Settings, normalizer: Normalizer, events: Events) -> Aggregator {
        let event_counts = vec![0; events.names().len()];
        let top = TopN::new(settings.top_n, settings.top_capacity);
        let sources = SourceTops::new(settings.sources.clone(), events.names().len());
        let durations = Histograms::new(settings.duration_buckets.clone());
        let upstreams = Histograms::new(settings.upstream_buckets.clone());
        let mut agg = Aggregator {
            settings,
            normalizer,
            endpoint_index: HashMap::default(),
            endpoints: Vec::new(),
            endpoint_masks: Vec::new(),
            series_index: HashMap::default(),
            paths: PathCache::new(PATH_SLOTS),
            numbered: PathCache::new(NUMBERED_SLOTS),
            prefix_endpoints: Vec::new(),
            #[cfg(test)]
            no_shortcuts: false,
            fast_series: FastMap::new(),
            series_hist: Vec::new(),
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
            sources,
            started: std::time::Instant::now(),
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
        let raw_status = parse_status(record.status).ok_or(ParseError::Status)?;
        let (method, uri) = record.method_and_uri();
        let method = method_index(method);
        let (path, path_hash) = path_and_hash(uri);
        // Steady state: the path was seen lately and this (endpoint, method, status) series
        // is kept: no normalisation, no event rules, two probes.
        let fast = match self.paths.get(path, path_hash) {
            Some(endpoint) => self
                .fast_series
                .get(fast_key(endpoint, labels, method, raw_status)),
            None => None,
        };
        let Fast { series, events } = match fast {
            Some(fast) => fast,
            None => self.resolve(labels, method, raw_status, path, path_hash),
        };
        let series = series as usize;
        // Few requests fire an event. The counts of this label set are there: `resolve` made
        // room when it first saw the set, and the fast way only knows series it resolved.
        if events != 0 {
            let base = usize::from(labels) * self.events.names().len();
            let mut fired = events;
            while fired != 0 {
                self.event_counts[base + fired.trailing_zeros() as usize] += 1;
                fired &= fired - 1;
            }
            if self.sources.enabled() {
                self.count_source(events, record.source);
            }
        }
        let s = &mut self.series[series];
        s.requests += 1;
        s.response_bytes += parse_u64(record.body_bytes);
        s.request_bytes += parse_u64(record.request_length);
        let endpoint = s.endpoint;

        let request_time = parse_seconds(record.request_time);
        let upstream_time = parse_upstream_seconds(record.upstream_time);
        if request_time.is_some() || upstream_time.is_some() {
            let slot = match self.series_hist[series] {
                NO_SLOT => {
                    let slot = self.hist_slot(labels, endpoint);
                    self.series_hist[series] = slot as u32;
                    slot
                }
                slot => slot as usize,
            };
            if let Some(t) = request_time {
                self.durations.observe(slot, t);
            }
            if let Some(t) = upstream_time {
                self.upstreams.observe(slot, t);
            }
        }
        Ok(())
    }

    /// Counts the client address of a line that fired `events` (off the hot path: few lines
    /// fire an event).
    #[inline(never)]
    fn count_source(&mut self, events: u64, field: &[u8]) {
        // A format without the field (a custom one without `$remote_addr`) reports no sources.
        if field.is_empty() {
            return;
        }
        let source = self.settings.source_field.source(field);
        let now = self.now_ms();
        self.sources.observe(events, source, now);
    }

    /// Milliseconds since the aggregator was made: the clock of the sources' window.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The top sources of event `event` (an index into `events.names()`) over the window
    /// ending now.
    pub fn top_sources(&self, event: usize) -> Vec<(Source, u64)> {
        self.sources.top(event, self.now_ms())
    }

    /// The series of a request and the events it fires, the long way: normalise the path,
    /// intern the endpoint, find or make the series (folding by the caps); remembers the path
    /// and the series for the steady state when the endpoint is kept.
    #[inline(never)]
    fn resolve(
        &mut self,
        labels: u16,
        method: u8,
        raw_status: u16,
        path: &[u8],
        path_hash: u64,
    ) -> Fast {
        // Every label set counted gets its event counts (exported from 0).
        let names = self.events.names().len();
        let end = (usize::from(labels) + 1) * names;
        if end > self.event_counts.len() {
            self.event_counts.resize(end, 0);
        }
        // A path under a prefix rule (`/static/app.123.js`) is the rule's endpoint, and a
        // fresh number at the end of a known path has its endpoint: without normalising. The
        // rest (a new series, a fold) takes the long way.
        let rule = self.normalizer.prefix_rule(path);
        #[cfg(test)]
        let rule = rule.filter(|_| !self.no_shortcuts);
        if let Some(r) = rule
            && let Some(&endpoint) = self.prefix_endpoints.get(r)
            && endpoint != 0
            && let Some(fast) = self
                .fast_series
                .get(fast_key(endpoint, labels, method, raw_status))
        {
            return fast;
        }
        let numbered = if rule.is_some() {
            None
        } else {
            self.normalizer.number_at_end(path).map(|(from, to)| {
                let (head, tail) = (&path[..from], &path[to..]);
                (head, tail, split_hash(head, tail))
            })
        };
        if let Some((head, tail, hash)) = numbered
            && let Some(endpoint) = self.numbered.get_split(head, tail, hash)
            && let Some(fast) = self
                .fast_series
                .get(fast_key(endpoint, labels, method, raw_status))
        {
            return fast;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        self.normalizer.normalize_path(path, &mut scratch);
        let hash = key_hash(&scratch);
        let (endpoint, _) = self.endpoint(&scratch, hash);
        if endpoint != 0 {
            if let Some(r) = rule {
                if r >= self.prefix_endpoints.len() {
                    self.prefix_endpoints.resize(r + 1, 0);
                }
                self.prefix_endpoints[r] = endpoint;
            }
            self.paths.insert(path, path_hash, endpoint);
            if let Some((head, tail, split)) = numbered {
                self.numbered.insert_split(head, tail, split, endpoint);
            }
            if let Some(fast) = self
                .fast_series
                .get(fast_key(endpoint, labels, method, raw_status))
            {
                self.scratch = scratch;
                return fast;
            }
        }
        let status = if self.settings.status_class {
            raw_status / 100 * 100
        } else {
            raw_status
        };
        let series = self.series_slot(labels, method, status, endpoint);
        let kept = self.series[series].endpoint;
        let mask = if kept == 0 {
            self.endpoint_masks[0] | self.events.mask(&scratch)
        } else {
            self.endpoint_masks[kept as usize]
        };
        let fast = Fast {
            series: series as u32,
            events: self.events.fired(mask, method, raw_status),
        };
        // Only unfolded pairs are remembered, so this map is no bigger than the series.
        if endpoint != 0 && kept == endpoint {
            self.fast_series
                .insert(fast_key(endpoint, labels, method, raw_status), fast);
        } else if kept == 0 && scratch != b"other" {
            // Folded by a cap: the top list still sees it, by space-saving.
            self.top.observe(method, &scratch, hash);
            self.folded_by_method[method as usize] += 1;
        }
        self.scratch = scratch;
        fast
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
        self.series_hist.push(NO_SLOT);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::preset_events;
    use crate::normalize::preset_rules;
    use proptest::prelude::*;

    fn aggregator(settings: Settings, path_slots: usize) -> Aggregator {
        let mut agg = Aggregator::new(
            settings,
            Normalizer::new(preset_rules("forum").unwrap()),
            Events::new(preset_events("forum").unwrap()).unwrap(),
        );
        agg.paths = PathCache::new(path_slots);
        agg.numbered = PathCache::new(path_slots);
        agg.no_shortcuts = path_slots == 0;
        agg
    }

    fn line(method: &str, uri: &str, status: &str, i: usize) -> String {
        format!(
            r#"10.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "{method} {uri} HTTP/1.1" {status} {i} "-" "t" {} 0.{:03} "0.00{}" forum.example"#,
            i % 700,
            i % 1000,
            i % 10
        )
    }

    /// Everything an aggregator exports, as text.
    fn snapshot(agg: &Aggregator) -> String {
        let hist = |h: &Histograms| {
            (0..agg.hist_keys.len())
                .map(|slot| (h.cumulative(slot), h.sums[slot]))
                .collect::<Vec<_>>()
        };
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{} {} {} {:?}",
            agg.endpoints,
            agg.series,
            agg.event_counts,
            agg.hist_keys,
            hist(&agg.durations),
            hist(&agg.upstreams),
            agg.top_requests(),
            agg.folded,
            agg.lines,
            agg.bytes,
            agg.parse_errors
        )
    }

    const METHODS_USED: [&str; 4] = ["GET", "POST", "PUT", "BREW"];
    const STATUSES: [&str; 8] = ["200", "201", "303", "401", "500", "502", "000", "20x"];
    const PATHS: [&str; 15] = [
        "/",
        "/login",
        "/api/threads/{}/posts/",
        "/static/app.{}.js",
        "/c/{}/new",
        "/search?q={}",
        "*",
        "/p{}x",
        "/e{}",
        "/0b0e4bc4-7f0c-4a6b-9d2c-1f1e2d3c4b5a/{}",
        "/long/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/{}",
        "/api/threads/",
        "/api/threads/{}",
        "/images/{}.png",
        "/static/{}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The path cache and the per-series memo are only shortcuts: with and without the
        /// cache, under tight caps or none, every count is the same.
        #[test]
        fn the_path_cache_changes_no_count(
            requests in proptest::collection::vec((0..4usize, 0..15usize, 0..8usize, 0..40usize), 1..300),
            max_endpoints in 1..12usize,
            max_series in 1..40usize,
            status_class in any::<bool>(),
            slots in 0..3usize,
        ) {
            let settings = Settings {
                max_endpoints,
                max_series,
                status_class,
                top_n: 3,
                top_capacity: 4,
                ..Settings::default()
            };
            let format = LineFormat::compile("forum").unwrap();
            let mut cached = aggregator(settings.clone(), [1, 4, PATH_SLOTS][slots]);
            let mut plain = aggregator(settings, 0);
            for (i, (m, p, s, id)) in requests.into_iter().enumerate() {
                let uri = PATHS[p].replace("{}", &id.to_string());
                let text = line(METHODS_USED[m], &uri, STATUSES[s], i);
                cached.process_line(&format, (i % 2) as u16, text.as_bytes());
                plain.process_line(&format, (i % 2) as u16, text.as_bytes());
            }
            prop_assert_eq!(snapshot(&cached), snapshot(&plain));
        }
    }

    #[test]
    fn event_lines_count_their_source_and_a_format_without_one_counts_none() {
        let forum = LineFormat::compile("forum").unwrap();
        let mut agg = aggregator(Settings::default(), PATH_SLOTS);
        for i in 0..3 {
            let text = line("POST", "/admin/login", "401", i);
            agg.process_line(&forum, 0, text.as_bytes());
        }
        agg.process_line(&forum, 0, line("GET", "/", "200", 9).as_bytes());
        let admin = agg
            .events
            .names()
            .iter()
            .position(|n| n == "failed_admin_login")
            .unwrap();
        let top: Vec<(String, u64)> = agg
            .top_sources(admin)
            .iter()
            .map(|(s, c)| (s.label(), *c))
            .collect();
        assert_eq!(top, [("10.0.0.1".to_string(), 3)]);
        // Only the event lines reached the sketch.
        assert_eq!(agg.sources.monitored(), 1);

        let bare = LineFormat::compile("$status \"$request\"").unwrap();
        let mut agg = aggregator(Settings::default(), PATH_SLOTS);
        agg.process_line(&bare, 0, b"401 \"POST /admin/login HTTP/1.1\"");
        assert_eq!(agg.event_counts[admin], 1);
        assert_eq!(agg.sources.monitored(), 0);
    }

    #[test]
    fn a_flood_of_distinct_paths_keeps_the_cache_bounded_and_counts_exactly() {
        let settings = Settings {
            max_endpoints: 100,
            ..Settings::default()
        };
        let format = LineFormat::compile("forum").unwrap();
        let mut agg = aggregator(settings, PATH_SLOTS);
        let flood = 200_000;
        for i in 0..flood {
            let text = line("GET", &format!("/f{i}x/y"), "200", i);
            agg.process_line(&format, 0, text.as_bytes());
            let text = line("POST", "/login", "401", i);
            agg.process_line(&format, 0, text.as_bytes());
        }
        assert_eq!(agg.paths.slots.len(), PATH_SLOTS);
        assert_eq!(agg.paths.slots.capacity(), PATH_SLOTS);
        assert_eq!(agg.requests(), 2 * flood as u64);
        // "/login" and 99 flood endpoints are kept; every later flood line is folded.
        assert_eq!(agg.endpoints.len(), 101);
        assert_eq!(agg.folded, flood as u64 - 99);
        let login = agg
            .series
            .iter()
            .find(|s| agg.endpoints[s.endpoint as usize] == "/login")
            .unwrap();
        assert_eq!((login.requests, login.status), (flood as u64, 401));
        let failed = agg
            .events
            .names()
            .iter()
            .position(|n| n == "failed_login")
            .unwrap();
        assert_eq!(agg.event_counts[failed], flood as u64);
        // Each kept flood endpoint: one request, one histogram observation.
        let slot = agg
            .hist_keys
            .iter()
            .position(|(_, e)| agg.endpoints[*e as usize] == "/f5x/y")
            .unwrap();
        assert_eq!(agg.durations.cumulative(slot).1, 1);
        let other = agg.hist_keys.iter().position(|(_, e)| *e == 0).unwrap();
        assert_eq!(agg.durations.cumulative(other).1, flood as u64 - 99);
    }
}

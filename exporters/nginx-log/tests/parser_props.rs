//! Property tests of the parser, the normaliser and the aggregator on hostile input: garbage,
//! invalid UTF-8, huge lines, `-` fields, status `000`, several upstream times.

use nginx_log_exporter::aggregate::{Aggregator, Settings};
use nginx_log_exporter::events::{Events, preset_events};
use nginx_log_exporter::lineformat::LineFormat;
use nginx_log_exporter::lines::{Chunk, LineReader};
use nginx_log_exporter::normalize::{MAX_ENDPOINT_LEN, Normalizer, preset_rules};
use nginx_log_exporter::record::PARSE_ERROR_REASONS;
use proptest::prelude::*;

fn aggregator() -> Aggregator {
    Aggregator::new(
        Settings::default(),
        Normalizer::new(preset_rules("forum").unwrap()),
        Events::new(preset_events("forum").unwrap()).unwrap(),
    )
}

fn errors(agg: &Aggregator) -> u64 {
    agg.parse_errors.iter().sum()
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![Just("-".to_string()), "[a-zA-Z0-9./:_-]{1,20}"]
}

prop_compose! {
    fn combined_line()(
        ip in "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}",
        user in field(),
        method in prop_oneof![Just("GET"), Just("POST"), Just("PROPFIND"), Just("")],
        path in "(/[a-z0-9]{0,8}){1,5}(\\?[a-z=&0-9]{0,10})?",
        status in prop_oneof![Just("000".to_string()), "[1-5][0-9][0-9]"],
        bytes in prop_oneof![Just("-".to_string()), "[0-9]{1,9}"],
        referer in field(),
        agent in "[ -!#-~]{0,60}",
    ) -> (String, u64) {
        let request = if method.is_empty() { "-".to_string() } else { format!("{method} {path} HTTP/1.1") };
        let n = bytes.parse::<u64>().unwrap_or(0);
        (format!("{ip} - {user} [01/Jan/2024:00:00:00 +0000] \"{request}\" {status} {bytes} \"{referer}\" \"{agent}\""), n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics_and_every_line_is_accounted_for(data in proptest::collection::vec(any::<u8>(), 0..4000)) {
        for format in ["combined", "forum", "json"] {
            let format = LineFormat::compile(format).unwrap();
            let mut agg = aggregator();
            agg.process_block(&format, 0, &data);
            prop_assert_eq!(agg.requests() + errors(&agg), agg.lines);
            prop_assert_eq!(agg.bytes, data.len() as u64);
        }
    }

    #[test]
    fn valid_combined_lines_are_all_counted_with_their_bytes(lines in proptest::collection::vec(combined_line(), 1..50)) {
        let format = LineFormat::compile("combined").unwrap();
        let mut agg = aggregator();
        let mut block = String::new();
        for (line, _) in &lines {
            block.push_str(line);
            block.push('\n');
        }
        agg.process_block(&format, 0, block.as_bytes());
        prop_assert_eq!(errors(&agg), 0, "{}", block);
        prop_assert_eq!(agg.requests(), lines.len() as u64);
        let bytes: u64 = agg.series.iter().map(|s| s.response_bytes).sum();
        prop_assert_eq!(bytes, lines.iter().map(|(_, n)| n).sum::<u64>());
    }

    #[test]
    fn endpoints_are_bounded_label_safe_and_stable(uri in proptest::collection::vec(any::<u8>(), 0..400)) {
        let n = Normalizer::new(preset_rules("misago").unwrap());
        let mut once = Vec::new();
        n.normalize(&uri, &mut once);
        prop_assert!(!once.is_empty() && once.len() <= MAX_ENDPOINT_LEN);
        prop_assert!(once.iter().all(|b| (0x21..0x7f).contains(b) && *b != b'"' && *b != b'\\'), "{:?}", once);
        let mut twice = Vec::new();
        n.normalize(&once, &mut twice);
        prop_assert_eq!(once, twice);
    }
}

#[test]
fn a_10_mb_line_without_newline_is_dropped_not_buffered() {
    let mut reader = LineReader::new(64 * 1024);
    let chunk = vec![b'x'; 1 << 20];
    let mut seen = Vec::new();
    for _ in 0..10 {
        reader.feed(&chunk, |c| seen.push(format!("{c:?}").len()));
        assert!(reader.pending() >= 1 << 20);
    }
    assert!(seen.is_empty());
    let mut too_long = 0;
    let mut lines = Vec::new();
    reader.feed(b"\nok\n", |c| match c {
        Chunk::TooLong(n) => too_long = n,
        Chunk::Lines(l) => lines.extend_from_slice(l),
    });
    assert_eq!(too_long, 10 * (1 << 20) + 1);
    assert_eq!(lines, b"ok\n");
}

#[test]
fn forum_lines_with_dashes_000_and_several_upstreams() {
    let format = LineFormat::compile("forum").unwrap();
    let mut agg = aggregator();
    let block = concat!(
        "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /t/1/ HTTP/1.1\" 200 10 \"-\" \"ua\" 100 0.030 \"0.005 : 0.019\" forum.example\n",
        "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET /static/app.css HTTP/1.1\" 200 - \"-\" \"ua\" - 0.000 \"-\" forum.example\n",
        "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"-\" 000 0 \"-\" \"-\" 0 0.000 \"-\" -\n",
        "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"POST /login HTTP/1.1\" 401 0 \"-\" \"ua\" 50 0.004 \"0.003, 0.001\" forum.example\n",
        "\u{ff}\u{fe} garbage\n",
        "1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 2OO 0 \"-\" \"ua\" 0 0.0 \"-\" x\n",
    );
    agg.process_block(&format, 0, block.as_bytes());
    assert_eq!(agg.requests(), 4);
    assert_eq!(agg.parse_errors, [1, 1, 0, 0], "{:?}", PARSE_ERROR_REASONS);
    let upstream_sum: f64 = agg.upstreams.sums.iter().sum();
    assert!((upstream_sum - 0.028).abs() < 1e-9, "{upstream_sum}");
    let ep = |name: &str| agg.endpoints.iter().position(|e| e == name).unwrap() as u32;
    let status_000 = agg.series.iter().find(|s| s.status == 0).unwrap();
    assert_eq!(status_000.endpoint, ep("other"));
    assert!(
        agg.series
            .iter()
            .any(|s| s.endpoint == ep("/static/*") && s.response_bytes == 0)
    );
    let failed_login = agg
        .events
        .names()
        .iter()
        .position(|n| n == "failed_login")
        .unwrap();
    assert_eq!(agg.event_counts[failed_login], 1);
}

#[test]
fn a_flood_of_distinct_paths_stays_within_the_caps() {
    let format = LineFormat::compile("combined").unwrap();
    let mut agg = aggregator();
    let mut block = String::new();
    for i in 0..200_000u32 {
        block.push_str(&format!(
            "1.2.3.4 - - [x] \"GET /p{i:x}q/a HTTP/1.1\" 200 1 \"-\" \"ua\"\n"
        ));
    }
    for _ in 0..3000 {
        block.push_str("1.2.3.4 - - [x] \"GET /hot/path HTTP/1.1\" 200 1 \"-\" \"ua\"\n");
    }
    agg.process_block(&format, 0, block.as_bytes());
    // A heavy hitter among the folded endpoints still tops the list (space-saving guarantee:
    // anything above total / capacity is monitored; its estimate is an upper bound).
    let top = agg.top_requests();
    assert_eq!((top[0].0, top[0].1), (0, "/hot/path"), "{top:?}");
    assert!(top[0].2 >= 3000, "{top:?}");
    assert!(
        top.iter().all(|(_, e, _)| *e != "other"),
        "folded requests are not in other here: {top:?}"
    );
    assert_eq!(top.len(), Settings::default().top_n);
    assert_eq!(agg.requests(), 203_000);
    assert_eq!(agg.endpoints.len(), Settings::default().max_endpoints + 1);
    assert_eq!(
        agg.folded,
        203_000 - Settings::default().max_endpoints as u64
    );
    assert!(agg.series.len() <= Settings::default().max_series + 1);
}

#[test]
fn status_classes_label_series_while_events_see_the_exact_status() {
    let format = LineFormat::compile("combined").unwrap();
    let settings = Settings {
        status_class: true,
        ..Settings::default()
    };
    let mut agg = Aggregator::new(
        settings,
        Normalizer::default(),
        Events::new(preset_events("forum").unwrap()).unwrap(),
    );
    let line = "1.2.3.4 - - [x] \"POST /login HTTP/1.1\" 401 0 \"-\" \"ua\"\n";
    let other = "1.2.3.4 - - [x] \"POST /login HTTP/1.1\" 403 0 \"-\" \"ua\"\n";
    agg.process_block(&format, 0, format!("{line}{line}{other}{line}").as_bytes());
    assert_eq!(agg.series.len(), 1);
    assert_eq!((agg.series[0].status, agg.series[0].requests), (400, 4));
    let failed_login = agg
        .events
        .names()
        .iter()
        .position(|n| n == "failed_login")
        .unwrap();
    assert_eq!(agg.event_counts[failed_login], 3);
}

//! The process metrics every Prometheus client library exports, with the same names and help,
//! so dashboards made for Go exporters (CPU, memory, file descriptors, uptime) work unchanged:
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds` and
//! `process_start_time_seconds`.
//!
//! `prometheus-client` has no process collector, so [`ProcessCollector`] reads `/proc/self` on
//! each scrape, as the Go client does. Those reads are served from kernel memory in
//! microseconds, so they happen inside `encode`. Off Linux, or when `/proc` is not mounted, the
//! families that cannot be read are left out rather than reported as zero.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// Clock ticks per second in `/proc/<pid>/stat`. Linux reports them in `USER_HZ`, which is 100
/// on every architecture it runs on; Prometheus' Go `procfs` relies on the same constant.
const USER_HZ: f64 = 100.0;

/// One reading of the process' resources; a field is `None` when its source was unreadable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_memory_bytes: Option<f64>,
    /// Virtual memory size, in bytes.
    pub virtual_memory_bytes: Option<f64>,
    /// Open file descriptors.
    pub open_fds: Option<f64>,
    /// The soft limit on open file descriptors (2^64 - 1 when unlimited, as Go's `procfs`).
    pub max_fds: Option<f64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

impl ProcessStats {
    /// Reads the stats of this process.
    pub fn read_self() -> ProcessStats {
        ProcessStats::read(Path::new("/proc"), "self")
    }

    /// Reads the stats of process `pid` (or `self`) from the proc file system at `proc`.
    pub fn read(proc: &Path, pid: &str) -> ProcessStats {
        let dir = proc.join(pid);
        let stat = std::fs::read_to_string(dir.join("stat")).ok();
        let stat = stat.as_deref().and_then(StatFields::parse);
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let limits = std::fs::read_to_string(dir.join("limits")).unwrap_or_default();
        ProcessStats {
            cpu_seconds: stat.map(|s| (s.utime + s.stime) as f64 / USER_HZ),
            resident_memory_bytes: status_kib(&status, "VmRSS:").map(|k| k * 1024.0),
            virtual_memory_bytes: stat.map(|s| s.vsize as f64),
            open_fds: count_entries(&dir.join("fd")),
            max_fds: max_open_files(&limits),
            start_time_seconds: stat
                .zip(boot_time(proc))
                .map(|(s, boot)| boot + s.starttime as f64 / USER_HZ),
        }
    }
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Clone, Copy, Debug)]
struct StatFields {
    utime: u64,
    stime: u64,
    starttime: u64,
    vsize: u64,
}

impl StatFields {
    fn parse(text: &str) -> Option<StatFields> {
        // The command name (field 2) is in parentheses and may hold spaces and parentheses of
        // its own: the fields that follow start after the last `)`.
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `fields[0]` is field 3 (state), so field n of proc(5) is `fields[n - 3]`.
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(StatFields {
            utime: field(14)?,
            stime: field(15)?,
            starttime: field(22)?,
            vsize: field(23)?,
        })
    }
}

/// A `Key:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_kib(status: &str, key: &str) -> Option<f64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// The soft limit of the `Max open files` line of `/proc/<pid>/limits`.
fn max_open_files(limits: &str) -> Option<f64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    match line["Max open files".len()..].split_whitespace().next()? {
        "unlimited" => Some(u64::MAX as f64),
        soft => soft.parse().ok(),
    }
}

fn count_entries(dir: &Path) -> Option<f64> {
    Some(std::fs::read_dir(dir).ok()?.count() as f64)
}

/// The `btime` line of `/proc/stat`: when the machine booted, in seconds since the epoch. It
/// does not change while the machine runs, so it is read once per proc file system.
fn boot_time(proc: &Path) -> Option<f64> {
    static SELF_BOOT: OnceLock<Option<f64>> = OnceLock::new();
    let read = |proc: &Path| {
        let stat = std::fs::read_to_string(proc.join("stat")).ok()?;
        let line = stat.lines().find(|l| l.starts_with("btime "))?;
        line["btime ".len()..].trim().parse::<f64>().ok()
    };
    if proc == Path::new("/proc") {
        *SELF_BOOT.get_or_init(|| read(proc))
    } else {
        read(proc)
    }
}

/// A `prometheus-client` collector of the process metrics of this process.
#[derive(Clone, Debug)]
pub struct ProcessCollector {
    proc: PathBuf,
    pid: String,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        ProcessCollector {
            proc: PathBuf::from("/proc"),
            pid: "self".into(),
        }
    }
}

impl ProcessCollector {
    /// A collector of `pid` under the proc file system at `proc` (tests point it at a copy).
    pub fn new(proc: impl Into<PathBuf>, pid: impl Into<String>) -> Self {
        ProcessCollector {
            proc: proc.into(),
            pid: pid.into(),
        }
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = ProcessStats::read(&self.proc, &self.pid);
        if let Some(v) = stats.cpu_seconds {
            let counter = ConstCounter::new(v);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                counter.metric_type(),
            )?)?;
        }
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                stats.resident_memory_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stats.virtual_memory_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                stats.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                stats.max_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                stats.start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let gauge = ConstGauge::new(v);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

/// Registers the process metrics of this process in `registry`.
pub fn register(registry: &mut Registry) {
    registry.register_collector(Box::new(ProcessCollector::default()));
}

/// Adds the process metrics of this process to OpenMetrics text made elsewhere (before its
/// `# EOF`), for servers whose metrics are not one long-lived registry.
pub fn append_to(openmetrics: &mut String) {
    let mut registry = Registry::default();
    register(&mut registry);
    let mut families = String::with_capacity(1024);
    // Encoding into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut families, &registry);
    let families = families.strip_suffix("# EOF\n").unwrap_or(&families);
    // The usual case, `# EOF` last, costs no move of the text before it (it may be megabytes).
    if openmetrics.ends_with("# EOF\n") {
        openmetrics.truncate(openmetrics.len() - "# EOF\n".len());
        openmetrics.push_str(families);
        openmetrics.push_str("# EOF\n");
        return;
    }
    match openmetrics.rfind("# EOF") {
        Some(eof) => openmetrics.insert_str(eof, families),
        None => openmetrics.push_str(families),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A proc file system with one process, written from real-looking files.
    fn fake_proc(stat: &str, status: &str, limits: &str, fds: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let pid = dir.path().join("42");
        std::fs::create_dir_all(pid.join("fd")).unwrap();
        for fd in 0..fds {
            std::fs::write(pid.join("fd").join(fd.to_string()), "").unwrap();
        }
        std::fs::write(pid.join("stat"), stat).unwrap();
        std::fs::write(pid.join("status"), status).unwrap();
        std::fs::write(pid.join("limits"), limits).unwrap();
        std::fs::write(
            dir.path().join("stat"),
            "cpu  1 2 3 4\nintr 0\nbtime 1700000000\nprocesses 9\n",
        )
        .unwrap();
        dir
    }

    // utime 250 and stime 150 ticks, starttime 12345 ticks, vsize 1 GiB, rss 2000 pages.
    const STAT: &str = "42 (my (odd) prog) S 1 42 42 0 -1 4194560 500 0 0 0 250 150 0 0 20 0 9 0 12345 1073741824 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    const STATUS: &str = "Name:\tprog\nVmPeak:\t 1048580 kB\nVmSize:\t 1048576 kB\nVmRSS:\t    8000 kB\nThreads:\t9\n";
    const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 524288               files     \n";

    #[test]
    fn process_families_go_before_eof_wherever_it_is() {
        let mut last = "# HELP x X.\n# TYPE x gauge\nx 1\n# EOF\n".to_string();
        append_to(&mut last);
        assert!(last.starts_with("# HELP x X.\n# TYPE x gauge\nx 1\n# HELP process_"));
        assert!(last.ends_with("\n# EOF\n") && last.matches("# EOF").count() == 1);
        let mut inside = "x 1\n# EOF\ntrailing\n".to_string();
        append_to(&mut inside);
        assert!(
            inside.starts_with("x 1\n# HELP process_") && inside.ends_with("# EOF\ntrailing\n")
        );
        let mut none = "x 1\n".to_string();
        append_to(&mut none);
        assert!(none.starts_with("x 1\n# HELP process_") && !none.contains("# EOF"));
    }

    #[test]
    fn every_field_is_read_from_its_file_with_the_right_unit() {
        let proc = fake_proc(STAT, STATUS, LIMITS, 3);
        let stats = ProcessStats::read(proc.path(), "42");
        assert_eq!(
            stats,
            ProcessStats {
                cpu_seconds: Some(4.0),
                resident_memory_bytes: Some(8000.0 * 1024.0),
                virtual_memory_bytes: Some(1073741824.0),
                open_fds: Some(3.0),
                max_fds: Some(1024.0),
                start_time_seconds: Some(1700000000.0 + 123.45),
            }
        );
    }

    #[test]
    fn an_unlimited_fd_limit_is_infinite_and_a_missing_file_leaves_its_family_out() {
        let limits = "Max open files            unlimited            unlimited            files\n";
        let proc = fake_proc("garbage", "", limits, 1);
        let stats = ProcessStats::read(proc.path(), "42");
        assert_eq!(stats.max_fds, Some(u64::MAX as f64));
        assert_eq!(stats.open_fds, Some(1.0));
        assert_eq!(stats.cpu_seconds, None);
        assert_eq!(stats.start_time_seconds, None);
        assert_eq!(stats.resident_memory_bytes, None);

        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new(proc.path(), "42")));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.starts_with(
                "# HELP process_open_fds Number of open file descriptors.\n\
                 # TYPE process_open_fds gauge\n\
                 process_open_fds 1.0\n\
                 # HELP process_max_fds Maximum number of open file descriptors.\n\
                 # TYPE process_max_fds gauge\n\
                 process_max_fds "
            ) && text.ends_with("\n# EOF\n"),
            "{text}"
        );
        let max: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_max_fds "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(max, u64::MAX as f64, "{text}");
        assert_eq!(text.lines().count(), 7, "{text}");
    }

    #[test]
    fn the_exposition_names_and_types_match_the_go_client() {
        let proc = fake_proc(STAT, STATUS, LIMITS, 2);
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new(proc.path(), "42")));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        let text = crate::exposition::to_text_004(&text);
        for line in [
            "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 4.0\n",
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 8192000.0\n",
            "process_virtual_memory_bytes 1073741824.0\n",
            "process_open_fds 2.0\n",
            "process_max_fds 1024.0\n",
            "process_start_time_seconds 1700000123.45\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn this_process_reads_plausible_values() {
        let stats = ProcessStats::read_self();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let rss = stats
            .resident_memory_bytes
            .expect("rss (is /proc mounted?)");
        assert!(rss > 1024.0 * 1024.0, "rss {rss}");
        assert!(stats.virtual_memory_bytes.unwrap() >= rss);
        assert!(stats.open_fds.unwrap() > 0.0);
        assert!(stats.max_fds.unwrap() >= stats.open_fds.unwrap());
        assert!(stats.cpu_seconds.unwrap() >= 0.0);
        let start = stats.start_time_seconds.unwrap();
        // The test binary started moments ago; one tick of rounding and a slow machine allowed.
        assert!(
            start <= now + 1.0 && start > now - 600.0,
            "start {start}, now {now}"
        );
    }

    #[test]
    fn appending_goes_before_eof() {
        let mut text = "# TYPE a gauge\na 1\n# EOF\n".to_string();
        append_to(&mut text);
        assert!(
            text.starts_with("# TYPE a gauge\na 1\n# HELP process_"),
            "{text}"
        );
        assert!(
            text.ends_with("# EOF\n") && text.matches("# EOF").count() == 1,
            "{text}"
        );
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
    }
}

//! The `<prefix>_build_info{version,revision,rustc} 1` gauge every binary exposes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The git revision the workspace was built from (`unknown` outside a checkout, unless the
/// `GIT_REVISION` environment variable was set at build time).
pub const REVISION: &str = env!("SERVICE_KIT_GIT_REVISION");
/// The version of rustc that built the workspace.
pub const RUSTC_VERSION: &str = env!("SERVICE_KIT_RUSTC_VERSION");

/// The labels of the build info gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildInfo {
    /// The crate version of the binary.
    pub version: String,
    /// The git revision the binary was built from (`unknown` outside a checkout).
    pub revision: String,
    /// The version of rustc that built it.
    pub rustc: String,
}

impl BuildInfo {
    /// The build info of a binary whose crate version is `version`.
    pub fn new(version: &str) -> Self {
        BuildInfo {
            version: version.to_string(),
            revision: REVISION.to_string(),
            rustc: RUSTC_VERSION.to_string(),
        }
    }
}

/// Registers `<prefix>_build_info` (a gauge set to 1) in `registry`.
pub fn register_build_info(registry: &mut Registry, prefix: &str, version: &str) {
    let family = Family::<BuildInfo, Gauge>::default();
    family.get_or_create(&BuildInfo::new(version)).set(1);
    registry.register(
        format!("{prefix}_build_info"),
        format!("A metric with a constant '1' value labeled by version, revision and rustc from which {prefix} was built"),
        family,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn build_info_is_a_gauge_of_one_with_three_labels() {
        let mut registry = Registry::default();
        register_build_info(&mut registry, "demo_exporter", "1.2.3");
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("# TYPE demo_exporter_build_info gauge"),
            "{text}"
        );
        let line = text
            .lines()
            .find(|l| l.starts_with("demo_exporter_build_info{"))
            .expect("sample line");
        assert!(line.contains("version=\"1.2.3\""), "{line}");
        assert!(line.contains("revision=\""), "{line}");
        assert!(line.contains("rustc=\""), "{line}");
        assert!(line.ends_with(" 1"), "{line}");
    }
}

//! The attachment metrics:
//!
//! - `forum_attachment_uploads_total{result}`: uploads by result (`stored`, `too_large`,
//!   `type_refused`, `invalid`, `storage_error`), counted by the processes that take uploads;
//! - `forum_attachment_uploaded_bytes_total`: bytes of the files uploads stored (an image in
//!   its re-encoded form; thumbnails left out);
//! - `forum_attachment_storage_errors_total{operation}`: failed or timed-out storage calls
//!   (`put`, `get`, `delete`), in every process that uses the store;
//! - `forum_attachment_bytes`: a gauge, the bytes of every attachment the database knows
//!   (linked or not, thumbnails left out), refreshed by the worker at each sweep;
//! - `forum_attachment_orphans_removed_total`: attachments the worker removed, never linked
//!   to a post in time.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::storage::Operation;

/// The result of an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadResult {
    /// Stored.
    Stored,
    /// Over the size limit.
    TooLarge,
    /// A type that is unknown or not allowed.
    TypeRefused,
    /// No file, or an image that does not decode.
    Invalid,
    /// The store failed.
    StorageError,
}

impl UploadResult {
    /// Every result.
    pub const ALL: [UploadResult; 5] = [
        UploadResult::Stored,
        UploadResult::TooLarge,
        UploadResult::TypeRefused,
        UploadResult::Invalid,
        UploadResult::StorageError,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadResult::Stored => "stored",
            UploadResult::TooLarge => "too_large",
            UploadResult::TypeRefused => "type_refused",
            UploadResult::Invalid => "invalid",
            UploadResult::StorageError => "storage_error",
        }
    }
}

/// Labels of `forum_attachment_uploads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UploadLabels {
    /// An [`UploadResult`] value.
    pub result: &'static str,
}

/// Labels of `forum_attachment_storage_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// An [`Operation`] value.
    pub operation: &'static str,
}

/// The attachment metrics of one process.
#[derive(Debug, Default)]
pub struct AttachmentMetrics {
    uploads: Family<UploadLabels, Counter>,
    uploaded_bytes: Counter,
    storage_errors: Family<OperationLabels, Counter>,
    stored_bytes: Gauge<i64, AtomicI64>,
    orphans_removed: Counter,
}

impl AttachmentMetrics {
    /// Registers the metrics in `registry`, every label value at 0.
    pub fn register(registry: &mut Registry) -> AttachmentMetrics {
        let m = AttachmentMetrics::default();
        registry.register(
            "forum_attachment_uploads",
            "Attachment uploads by result",
            m.uploads.clone(),
        );
        registry.register(
            "forum_attachment_uploaded_bytes",
            "Bytes written to the attachment store by uploads",
            m.uploaded_bytes.clone(),
        );
        registry.register(
            "forum_attachment_storage_errors",
            "Attachment storage calls that failed or timed out, by operation",
            m.storage_errors.clone(),
        );
        registry.register(
            "forum_attachment_bytes",
            "Bytes of the attachments the database knows (refreshed by the worker)",
            m.stored_bytes.clone(),
        );
        registry.register(
            "forum_attachment_orphans_removed",
            "Attachments removed by the worker because no post linked them in time",
            m.orphans_removed.clone(),
        );
        for r in UploadResult::ALL {
            m.uploads
                .get_or_create(&UploadLabels { result: r.as_str() })
                .inc_by(0);
        }
        for op in Operation::ALL {
            m.storage_errors
                .get_or_create(&OperationLabels {
                    operation: op.as_str(),
                })
                .inc_by(0);
        }
        m
    }

    /// Counts an upload.
    pub fn upload(&self, result: UploadResult, bytes: u64) {
        self.uploads
            .get_or_create(&UploadLabels {
                result: result.as_str(),
            })
            .inc();
        if bytes > 0 {
            self.uploaded_bytes.inc_by(bytes);
        }
    }

    /// Counts a failed storage call.
    pub fn storage_error(&self, operation: Operation) {
        self.storage_errors
            .get_or_create(&OperationLabels {
                operation: operation.as_str(),
            })
            .inc();
    }

    /// Sets the stored bytes.
    pub fn set_stored_bytes(&self, bytes: i64) {
        self.stored_bytes.set(bytes);
    }

    /// Counts removed orphans.
    pub fn orphans_removed(&self, n: u64) {
        self.orphans_removed.inc_by(n);
    }
}

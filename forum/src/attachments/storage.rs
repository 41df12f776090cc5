//! Where attachment bytes live: a local directory (`file:///var/lib/forum/attachments`) or an
//! S3-compatible bucket (`s3://bucket/prefix`, with an endpoint, a region and keys), through
//! the `object_store` crate, so several web replicas share one store. Every call has a
//! timeout. The keys never appear in `Debug` output, errors or logs: errors name the
//! operation and the object, and say what failed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload};

/// How to reach the store (from the command line; see `cli::StorageArgs`).
#[derive(Clone, Default)]
pub struct StorageSettings {
    /// `file:///dir` or `s3://bucket[/prefix]`.
    pub url: String,
    /// The S3 endpoint (`http://127.0.0.1:9000`); unset: AWS.
    pub endpoint: Option<String>,
    /// The S3 region.
    pub region: Option<String>,
    /// The S3 access key id.
    pub access_key_id: Option<String>,
    /// The S3 secret access key.
    pub secret_access_key: Option<String>,
    /// The longest a storage call may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageSettings")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A storage operation, for errors and the `operation` label of
/// `forum_attachment_storage_errors_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Writing an object.
    Put,
    /// Reading an object.
    Get,
    /// Removing an object.
    Delete,
}

impl Operation {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Put => "put",
            Operation::Get => "get",
            Operation::Delete => "delete",
        }
    }

    /// Every operation.
    pub const ALL: [Operation; 3] = [Operation::Put, Operation::Get, Operation::Delete];
}

/// What went wrong with the store. Messages name no credential.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The settings are unusable.
    #[error("attachment storage settings: {0}")]
    Settings(String),
    /// The object does not exist.
    #[error("attachment object {0} not found")]
    NotFound(String),
    /// The call took longer than the timeout.
    #[error("attachment storage {} of {key} timed out after {seconds} s", .operation.as_str())]
    Timeout {
        /// The operation.
        operation: Operation,
        /// The object.
        key: String,
        /// The timeout.
        seconds: u64,
    },
    /// The store answered with an error.
    #[error("attachment storage {} of {key} failed: {message}", .operation.as_str())]
    Failed {
        /// The operation.
        operation: Operation,
        /// The object.
        key: String,
        /// What the store said (object_store's errors carry no credentials).
        message: String,
    },
}

impl StorageError {
    /// The operation that failed, if a call failed.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            StorageError::Timeout { operation, .. } | StorageError::Failed { operation, .. } => {
                Some(*operation)
            }
            StorageError::Settings(_) | StorageError::NotFound(_) => None,
        }
    }
}

/// The attachment store.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    description: String,
    timeout: Duration,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.description)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Storage {
    /// The store of `settings`; a local directory is created if missing.
    pub fn open(settings: &StorageSettings) -> Result<Storage, StorageError> {
        let timeout = if settings.timeout.is_zero() {
            Duration::from_secs(30)
        } else {
            settings.timeout
        };
        let url = url::Url::parse(&settings.url)
            .map_err(|e| StorageError::Settings(format!("--storage-url is not a URL: {e}")))?;
        match url.scheme() {
            "file" => {
                let dir = url.to_file_path().map_err(|()| {
                    StorageError::Settings("--storage-url file:// needs an absolute path".into())
                })?;
                std::fs::create_dir_all(&dir).map_err(|e| {
                    StorageError::Settings(format!("cannot create {}: {e}", dir.display()))
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| StorageError::Settings(e.to_string()))?;
                Ok(Storage {
                    store: Arc::new(store),
                    description: format!("directory {}", dir.display()),
                    timeout,
                })
            }
            "s3" => {
                let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
                    StorageError::Settings("--storage-url s3:// needs a bucket".into())
                })?;
                let prefix = url.path().trim_matches('/').to_string();
                let options = ClientOptions::new()
                    .with_timeout(timeout)
                    .with_connect_timeout(timeout.min(Duration::from_secs(10)))
                    .with_allow_http(
                        settings
                            .endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    );
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
                    .with_client_options(options)
                    // A few quick retries inside the call's own timeout.
                    .with_retry(object_store::RetryConfig {
                        max_retries: 2,
                        retry_timeout: timeout,
                        backoff: object_store::BackoffConfig::default(),
                    });
                if let Some(endpoint) = &settings.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(id) = &settings.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &settings.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let s3 = builder.build().map_err(|e| {
                    StorageError::Settings(format!("cannot configure the S3 client: {e}"))
                })?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix.as_str()))
                };
                Ok(Storage {
                    store,
                    description: format!("s3 bucket {bucket}"),
                    timeout,
                })
            }
            other => Err(StorageError::Settings(format!(
                "--storage-url scheme {other}: is not supported (file:// or s3://)"
            ))),
        }
    }

    /// What the store is, for the log (no credentials).
    pub fn describe(&self) -> &str {
        &self.description
    }

    async fn timed<T>(
        &self,
        operation: Operation,
        key: &str,
        call: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, StorageError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(object_store::Error::NotFound { .. })) => {
                Err(StorageError::NotFound(key.to_string()))
            }
            Ok(Err(e)) => Err(StorageError::Failed {
                operation,
                key: key.to_string(),
                message: e.to_string().chars().take(300).collect(),
            }),
            Err(_) => Err(StorageError::Timeout {
                operation,
                key: key.to_string(),
                seconds: self.timeout.as_secs(),
            }),
        }
    }

    /// Writes `bytes` at `key`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let path = ObjectPath::from(key);
        let payload = PutPayload::from(bytes);
        self.timed(Operation::Put, key, self.store.put(&path, payload))
            .await
            .map(|_| ())
    }

    /// Reads the object at `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let path = ObjectPath::from(key);
        self.timed(Operation::Get, key, async {
            self.store.get(&path).await?.bytes().await
        })
        .await
    }

    /// Removes the object at `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = ObjectPath::from(key);
        match self
            .timed(Operation::Delete, key, self.store.delete(&path))
            .await
        {
            Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether an object exists at `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        let path = ObjectPath::from(key);
        match self
            .timed(Operation::Get, key, self.store.head(&path))
            .await
        {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_keys() {
        let settings = StorageSettings {
            url: "s3://bucket".into(),
            access_key_id: Some("AKIDSECRETID".into()),
            secret_access_key: Some("verysecretkey".into()),
            ..StorageSettings::default()
        };
        let text = format!("{settings:?}");
        assert!(
            !text.contains("AKIDSECRETID") && !text.contains("verysecretkey"),
            "{text}"
        );
        let storage = Storage::open(&settings).unwrap();
        let text = format!("{storage:?}");
        assert!(!text.contains("verysecretkey"), "{text}");
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let settings = StorageSettings {
            url: "ftp://example/x".into(),
            ..StorageSettings::default()
        };
        assert!(matches!(
            Storage::open(&settings),
            Err(StorageError::Settings(_))
        ));
    }

    #[tokio::test]
    async fn a_directory_store_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path().join("store")).unwrap();
        let storage = Storage::open(&StorageSettings {
            url: url.to_string(),
            ..StorageSettings::default()
        })
        .unwrap();
        storage.put("a/b.bin", b"hello".to_vec()).await.unwrap();
        assert_eq!(&storage.get("a/b.bin").await.unwrap()[..], b"hello");
        assert!(storage.exists("a/b.bin").await.unwrap());
        storage.delete("a/b.bin").await.unwrap();
        assert!(!storage.exists("a/b.bin").await.unwrap());
        assert!(matches!(
            storage.get("a/b.bin").await,
            Err(StorageError::NotFound(_))
        ));
        storage.delete("a/b.bin").await.unwrap();
    }
}

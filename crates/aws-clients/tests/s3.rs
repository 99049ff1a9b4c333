//! The shared S3 pieces against moto: per-object settings as `HeadObject`
//! reports them, and the request/response log without credentials.

use aws_clients::s3::{self, CustomerKey, Encryption, ObjectSettings, S3Options};
use aws_clients::wire::WireLog;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectCannedAcl, StorageClass};
use azp_task::Logger;
use azp_task::log::SharedBuffer;
use azp_testkit::Moto;

async fn config() -> aws_types::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(Moto::shared().endpoint())
        .region(aws_types::region::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        ))
        .http_client(
            aws_clients::http::sdk_http_client(
                None,
                None,
                &Logger::new(Box::new(SharedBuffer::default()), false),
            )
            .unwrap(),
        )
        .load()
        .await
}

/// A path-style client without a wire log.
async fn path_style_client() -> aws_sdk_s3::Client {
    s3::client(
        &config().await,
        &S3Options {
            force_path_style: true,
            wire_log: None,
        },
    )
}

async fn bucket(client: &aws_sdk_s3::Client) -> String {
    let name = format!("clients-{:08x}", fastrand::u32(..));
    client
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn every_object_setting_reaches_s3() {
    let client = path_style_client().await;
    let bucket = bucket(&client).await;
    let settings = ObjectSettings {
        content_type: Some("text/html; charset=utf-8".into()),
        content_encoding: Some("gzip".into()),
        cache_control: Some("max-age=60".into()),
        acl: Some(ObjectCannedAcl::PublicRead),
        storage_class: Some(StorageClass::StandardIa),
        encryption: Encryption::S3Managed,
    };
    let stored = s3::put_object(
        &client,
        &bucket,
        "site/index.html",
        ByteStream::from_static(b"<html></html>"),
        &settings,
    )
    .await
    .unwrap();
    // A single-part, non-KMS object's ETag is the MD5 of its content.
    let md5: String = s3::md5_digest(b"<html></html>")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored.etag, md5);
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("site/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(head.content_encoding(), Some("gzip"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(head.storage_class(), Some(&StorageClass::StandardIa));
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
}

#[tokio::test]
async fn kms_and_customer_keys() {
    let client = path_style_client().await;
    let bucket = bucket(&client).await;
    let kms = ObjectSettings {
        encryption: Encryption::Kms {
            key_id: Some("alias/deploy".into()),
        },
        ..ObjectSettings::default()
    };
    s3::put_object(&client, &bucket, "kms", ByteStream::from_static(b"k"), &kms)
        .await
        .unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("kms")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some("alias/deploy"));

    let key = CustomerKey::from_bytes(&[42; 32]).unwrap();
    let ssec = ObjectSettings {
        encryption: Encryption::Customer(key.clone()),
        ..ObjectSettings::default()
    };
    s3::put_object(
        &client,
        &bucket,
        "ssec",
        ByteStream::from_static(b"c"),
        &ssec,
    )
    .await
    .unwrap();
    // moto stores the object but does not report SSE-C back from
    // HeadObject (AWS does); the headers that went out are checked by
    // the wire log test below.
    client
        .head_object()
        .bucket(&bucket)
        .key("ssec")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(key.key_base64().expose())
        .sse_customer_key_md5(key.md5_base64())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_wire_log_shows_requests_and_responses_without_credentials() {
    let buf = SharedBuffer::default();
    let log = Logger::new(Box::new(buf.clone()), false);
    let wire = WireLog::new(&log, true, true);
    let client = s3::client(
        &config().await,
        &S3Options {
            force_path_style: true,
            wire_log: wire,
        },
    );
    let bucket = bucket(&client).await;
    let key = CustomerKey::from_bytes(&[9; 32]).unwrap();
    let settings = ObjectSettings {
        encryption: Encryption::Customer(key.clone()),
        ..ObjectSettings::default()
    };
    s3::put_object(
        &client,
        &bucket,
        "logged",
        ByteStream::from_static(b"x"),
        &settings,
    )
    .await
    .unwrap();
    let out = buf.contents();
    assert!(
        out.contains(&format!(
            "S3 PutObject request: PUT {}/{bucket}/logged",
            Moto::shared().endpoint()
        )),
        "{out}"
    );
    assert!(out.contains("S3 PutObject response: HTTP 200"), "{out}");
    assert!(
        out.contains("x-amz-server-side-encryption-customer-algorithm: AES256"),
        "{out}"
    );
    assert!(
        !out.to_ascii_lowercase().contains("authorization:"),
        "{out}"
    );
    assert!(!out.contains(key.key_base64().expose()), "{out}");
    assert!(WireLog::new(&log, false, false).is_none());
}

#[tokio::test]
async fn files_go_up_whole_or_in_parts_and_their_etags_are_known_beforehand() {
    use aws_clients::s3::etag::{MIB, local_etag};
    use aws_clients::s3::upload::{FileUpload, OpenUploads, upload_file};
    let client = path_style_client().await;
    let bucket = bucket(&client).await;
    let dir = tempfile::tempdir().unwrap();
    let limiter = tokio::sync::Semaphore::new(4);
    let open = std::sync::Arc::new(OpenUploads::default());
    let settings = ObjectSettings {
        content_type: Some("application/zip".into()),
        cache_control: Some("no-cache".into()),
        ..ObjectSettings::default()
    };
    for (name, size) in [
        ("empty", 0),
        ("small", 3 * 1024),
        ("medium", 2 * MIB + 5),
        ("large", 20 * MIB + 1),
    ] {
        let path = dir.path().join(name);
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let sent = std::sync::atomic::AtomicU64::new(0);
        let stored = upload_file(
            &client,
            FileUpload {
                bucket: &bucket,
                key: name,
                path: &path,
                size,
                settings: &settings,
                metadata: &[("md5chksum".to_owned(), "abc".to_owned())],
            },
            &limiter,
            3,
            &open,
            &|n| {
                sent.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            },
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(sent.into_inner(), size, "{name}: progress");
        assert_eq!(
            stored.etag,
            local_etag(&path, size).unwrap().etag,
            "{name}: ETag"
        );
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(name)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_length(), Some(size as i64), "{name}");
        assert_eq!(head.content_type(), Some("application/zip"), "{name}");
        assert_eq!(head.cache_control(), Some("no-cache"), "{name}");
        assert_eq!(
            head.metadata()
                .and_then(|m| m.get("md5chksum"))
                .map(String::as_str),
            Some("abc")
        );
        let got = client
            .get_object()
            .bucket(&bucket)
            .key(name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            data.as_slice(),
            "{name}"
        );
    }
    assert!(open.list().is_empty());
    let pending = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(pending.uploads().is_empty());
    let listed = s3::list_objects(&client, &bucket, "").await.unwrap();
    assert_eq!(listed.len(), 4);
}

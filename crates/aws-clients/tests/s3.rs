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
                &Logger::new(Box::new(SharedBuffer::default()), false),
            )
            .unwrap(),
        )
        .load()
        .await
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
    let client = s3::client(
        &config().await,
        &S3Options {
            force_path_style: true,
            wire_log: None,
        },
    );
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
    let client = s3::client(
        &config().await,
        &S3Options {
            force_path_style: true,
            wire_log: None,
        },
    );
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

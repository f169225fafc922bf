use super::*;

const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn full_ecr_reference_with_tag() {
    let r = ImageRef::parse(&format!("{ECR}/team/web:v1.2")).unwrap();
    assert_eq!(r.registry.as_deref(), Some(ECR));
    assert_eq!(r.repository, "team/web");
    assert_eq!(r.tag.as_deref(), Some("v1.2"));
    assert_eq!(r.digest, None);
    assert_eq!(
        r.ecr_registry(),
        Some(EcrRegistry {
            account: "123456789012".into(),
            region: "eu-west-1".into()
        })
    );
    assert_eq!(r.to_string(), format!("{ECR}/team/web:v1.2"));
}

#[test]
fn digest_reference() {
    let r = ImageRef::parse(&format!("{ECR}/web@{DIGEST}")).unwrap();
    assert_eq!(r.digest.as_deref(), Some(DIGEST));
    assert_eq!(r.tag, None);
    let both = ImageRef::parse(&format!("{ECR}/web:v1@{DIGEST}")).unwrap();
    assert_eq!(both.tag.as_deref(), Some("v1"));
    assert_eq!(both.pinned(DIGEST), format!("{ECR}/web@{DIGEST}"));
}

#[test]
fn shorthand_means_own_registry() {
    let r = ImageRef::parse("web:abc123").unwrap();
    assert!(r.is_shorthand());
    assert_eq!(r.ecr_registry(), None);
    assert!(resolve::needs_aws(&r));
}

#[test]
fn other_registries_pass_through() {
    for image in [
        "public.ecr.aws/nginx/nginx:1.27",
        "ghcr.io/org/app:1",
        "localhost:5000/app:dev",
        "docker.io/library/nginx:1",
    ] {
        let r = ImageRef::parse(image).unwrap();
        assert!(!r.is_shorthand(), "{image}");
        assert!(!resolve::needs_aws(&r), "{image}");
        assert_eq!(r.to_string(), image);
    }
    let r = ImageRef::parse("localhost:5000/app:dev").unwrap();
    assert_eq!(r.registry.as_deref(), Some("localhost:5000"));
    assert_eq!(r.tag.as_deref(), Some("dev"));
}

#[test]
fn china_and_fips_registries() {
    let cn = EcrRegistry::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").unwrap();
    assert_eq!(cn.region, "cn-north-1");
    assert_eq!(
        cn.host(),
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    );
    assert!(EcrRegistry::parse("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").is_some());
    assert!(EcrRegistry::parse("12345.dkr.ecr.us-east-1.amazonaws.com").is_none());
    assert!(EcrRegistry::parse("123456789012.dkr.ecr.us-east-1.example.com").is_none());
}

#[test]
fn malformed_references_are_refused() {
    let cases = [
        ("", "empty"),
        ("web: v1", "whitespace"),
        ("Web:v1", "upper-case repository"),
        ("web:-v1", "tag starting with -"),
        ("web@sha256:abc", "short digest"),
        ("web@md5:0123", "wrong algorithm"),
        ("web//x:v1", "empty component"),
        (&format!("{ECR}/web"), "no tag"),
        ("web", "no tag"),
    ];
    for (image, why) in cases {
        assert!(
            ImageRef::parse(image).is_err(),
            "{image:?} should fail ({why})"
        );
    }
    assert_eq!(
        ImageRef::parse("web").unwrap_err(),
        ImageError::NoTagOrDigest("web".into())
    );
    // Task definitions may hold untagged references.
    assert!(ImageRef::parse_any("web").is_ok());
}

#[test]
fn same_repository_ignores_tag_and_digest_and_docker_hub_prefixes() {
    let a = ImageRef::parse(&format!("{ECR}/web:v1")).unwrap();
    let b = ImageRef::parse_any(&format!("{ECR}/web@{DIGEST}")).unwrap();
    let c = ImageRef::parse_any(&format!("{ECR}/worker:v1")).unwrap();
    assert!(a.same_repository(&b));
    assert!(!a.same_repository(&c));
    let hub = ImageRef::parse_any("nginx:1").unwrap();
    let hub_full = ImageRef::parse_any("docker.io/library/nginx:2").unwrap();
    assert!(hub.same_repository(&hub_full));
}

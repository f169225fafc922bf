//! Property tests: the parsers and the renderer take anything a user or a
//! saved file can hand them without panicking, and keep their promises
//! (word splitting round-trips, normalisation is idempotent, a rendered
//! definition carries the image into the containers it names).

use fargate_deploy::image::ImageRef;
use fargate_deploy::inputs::SetPatch;
use fargate_deploy::inputs::parse::{parse_command, parse_pairs, parse_set};
use fargate_deploy::taskdef::{ImageToRender, Patches, equivalent, normalize, render, template};
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON biased towards the shapes of a task definition, so generated values
/// reach deep into rendering instead of failing the first shape check.
fn arb_json() -> impl Strategy<Value = Value> {
    // Mostly the names a task definition uses, sometimes any other.
    let names: Vec<&str> =
        "family containerDefinitions name image environment secrets value valueFrom \
        cpu memory essential taskDefinition taskDefinitionArn revision tags portMappings"
            .split_whitespace()
            .collect();
    let key = prop_oneof![
        16 => prop::sample::select(names).prop_map(String::from),
        1 => "[a-zA-Z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!("web")),
        Just(json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1")),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A definition that passes the shape checks, with arbitrary extra fields.
fn arb_definition() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(("[a-z]{1,6}", prop::bool::ANY, arb_json()), 1..4),
        arb_json(),
    )
        .prop_map(|(containers, extra)| {
            let defs: Vec<Value> = containers
                .into_iter()
                .enumerate()
                .map(|(i, (name, ecr, extra))| {
                    let image = if ecr {
                        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1".to_string()
                    } else {
                        format!("docker.io/library/{name}:1")
                    };
                    let mut c = json!({"name": format!("{name}{i}"), "image": image, "essential": true});
                    c["extra"] = extra;
                    c
                })
                .collect();
            json!({"family": "web", "containerDefinitions": defs, "cpu": 256, "memory": "512", "x": extra})
        })
}

fn arb_set() -> impl Strategy<Value = Vec<SetPatch>> {
    let path = prop_oneof![
        Just("$.cpu".to_string()),
        Just("$.memory".to_string()),
        Just("$.containerDefinitions[0].essential".to_string()),
        Just("$.containerDefinitions[*].image".to_string()),
        Just("$.nothing".to_string()),
        Just("$..name".to_string()),
        Just("$.containerDefinitions[?(@.name == 'web0')].cpu".to_string()),
    ];
    prop::collection::vec(
        (path, arb_json()).prop_map(|(path, value)| SetPatch { path, value }),
        0..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn image_references_of_any_text_never_panic(s in ".{0,80}") {
        if let Ok(r) = ImageRef::parse_any(&s) {
            let _ = (r.name(), r.ecr_registry(), r.is_shorthand());
            let _ = r.pinned(&format!("sha256:{}", "a".repeat(64)));
        }
        let _ = ImageRef::parse(&s);
    }

    #[test]
    fn image_references_keep_their_parts(
        host in prop_oneof![
            Just(String::new()),
            Just("123456789012.dkr.ecr.eu-west-1.amazonaws.com/".to_string()),
            Just("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/".to_string()),
            Just("ghcr.io/".to_string()),
            Just("localhost:5000/".to_string()),
        ],
        repo in "[a-z0-9]{1,4}([._-][a-z0-9]{1,3})?(/[a-z0-9]{1,4}([._-][a-z0-9]{1,3})?){0,2}",
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        digest in proptest::option::of("[0-9a-f]{64}"),
    ) {
        prop_assume!(tag.is_some() || digest.is_some());
        let mut s = format!("{host}{repo}");
        if let Some(t) = &tag { s += &format!(":{t}"); }
        if let Some(d) = &digest { s += &format!("@sha256:{d}"); }
        let r = ImageRef::parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        prop_assert_eq!(r.tag.as_deref(), tag.as_deref(), "{}", s);
        prop_assert_eq!(r.digest.clone(), digest.map(|d| format!("sha256:{d}")), "{}", s);
        prop_assert!(r.repository.ends_with(repo.rsplit('/').next().unwrap()), "{} → {:?}", s, r);
    }

    #[test]
    fn commands_of_any_text_never_panic(s in ".{0,120}") {
        let _ = parse_command(&s);
    }

    #[test]
    fn shell_words_round_trip(words in prop::collection::vec("[^\u{0}]{1,12}", 1..6)) {
        prop_assume!(!words.iter().any(|w| w.starts_with('[')));
        let line = shell_words::join(&words);
        prop_assume!(!line.starts_with('['));
        prop_assert_eq!(parse_command(&line).unwrap(), words);
    }

    #[test]
    fn json_array_commands_are_taken_as_is(words in prop::collection::vec(".{0,12}", 1..6)) {
        let text = serde_json::to_string(&words).unwrap();
        prop_assert_eq!(parse_command(&text).unwrap(), words);
    }

    #[test]
    fn set_and_pairs_inputs_of_any_text_never_panic(s in "(.{0,40}\n){0,4}") {
        let _ = parse_set(Some(&s));
        let _ = parse_pairs("environment-variables", Some(&s));
        let _ = parse_pairs("secrets", Some(&s));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn any_json_document_is_refused_or_rendered_never_a_panic(doc in arb_json(), set in arb_set()) {
        render_anything(doc, &set);
    }

    #[test]
    fn any_definition_renders_the_image_into_the_named_container(
        doc in arb_definition(),
        set in arb_set(),
        env in prop::collection::vec(("[A-Z_]{1,6}", ".{0,8}"), 0..3),
    ) {
        // Every generated definition is a valid one: refusing it is a failure.
        let td = template::from_document(doc.clone(), "generated")
            .map_err(|e| TestCaseError::fail(format!("{e}: {doc}")))?;
        let first = td["containerDefinitions"][0]["name"].as_str().unwrap().to_string();
        let image = ImageRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2").unwrap();
        let uri = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:{}", "b".repeat(64));
        let names = vec![first.clone()];
        // With `set` (which may rename or re-image anything): no panic.
        let images = [ImageToRender { reference: &image, uri: &uri, containers: &names }];
        let patches = Patches { container_input: "container-name", environment: &env, secrets: &[], set: &set };
        let _ = render(&td, &images, &patches);
        // Without: the named container gets the image and the environment.
        let patches = Patches { container_input: "container-name", environment: &env, secrets: &[], set: &[] };
        let r = render(&td, &images, &patches)
            .map_err(|e| TestCaseError::fail(format!("{e}: {td}")))?;
        let c = r.definition["containerDefinitions"].as_array().unwrap()
            .iter().find(|c| c["name"] == first.as_str()).unwrap();
        prop_assert_eq!(c["image"].as_str(), Some(uri.as_str()));
        for (k, _) in &env {
            prop_assert!(c["environment"].as_array().unwrap().iter().any(|e| e["name"] == k.as_str()));
        }
    }

    #[test]
    fn normalisation_is_idempotent_and_total(doc in arb_json()) {
        let once = normalize(&doc);
        prop_assert_eq!(normalize(&once), once.clone());
        prop_assert!(equivalent(&doc, &doc));
    }
}

fn render_anything(doc: Value, set: &[SetPatch]) {
    let image = ImageRef::parse("web:v2").unwrap();
    let images = [ImageToRender {
        reference: &image,
        uri: "web@sha256:0",
        containers: &[],
    }];
    let patches = Patches {
        container_input: "container-name",
        environment: &[("A".into(), "1".into())],
        secrets: &[("S".into(), "arn:aws:ssm:eu-west-1:1:parameter/s".into())],
        set,
    };
    // A saved answer or a bare definition, as a file would give it …
    if let Ok(td) = template::from_document(doc.clone(), "generated") {
        let _ = render(&td, &images, &patches);
    }
    // … and straight into the renderer, as if every check had passed.
    if doc.is_object() {
        let _ = render(&doc, &images, &patches);
    }
}

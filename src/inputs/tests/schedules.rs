//! `scheduled-tasks` and `scheduled-tasks-exclude`.

use super::*;

#[test]
fn scheduled_tasks_are_auto_names_or_both_and_exclusions_narrow_auto() {
    let d = parse_with(&[
        ("mode", "deploy"),
        ("scheduled-tasks", "auto\nrule/ops/nightly, schedule/hourly"),
        ("scheduled-tasks-exclude", "schedule/batch/pinned"),
    ])
    .unwrap();
    let selection = deploy(&d).schedules.clone().expect("asked");
    assert!(selection.auto);
    assert_eq!(
        selection
            .named
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["rule/ops/nightly", "schedule/default/hourly"]
    );
    assert_eq!(selection.exclude[0].to_string(), "schedule/batch/pinned");
    assert!(
        deploy(&parse_with(&[("mode", "deploy")]).unwrap())
            .schedules
            .is_none()
    );
    type Case<'a> = (&'a [(&'static str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("scheduled-tasks", "nightly")],
            "scheduled-tasks",
            "rule/NAME",
        ),
        (
            &[("scheduled-tasks-exclude", "rule/x")],
            "scheduled-tasks-exclude",
            "narrows `scheduled-tasks: auto`",
        ),
        (
            &[
                ("scheduled-tasks", "auto, rule/x"),
                ("scheduled-tasks-exclude", "rule/x"),
            ],
            "scheduled-tasks",
            "both in",
        ),
        (
            &[("scheduled-tasks", "auto"), ("wait-until", "none")],
            "scheduled-tasks",
            "`wait-until: none`",
        ),
    ];
    for (extra, input, says) in cases {
        let mut pairs = vec![("mode", "deploy")];
        pairs.extend_from_slice(extra);
        let f = input_error(&pairs);
        assert_eq!(f.title, *input, "{f}");
        assert!(f.headline.contains(says), "{f}");
    }
    let migrate = input_error(&[("mode", "migrate"), ("scheduled-tasks", "auto")]);
    assert!(migrate.headline.contains("scheduled-tasks"), "{migrate}");
}

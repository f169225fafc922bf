//! The one helper for reading names out of ARNs.

/// The last `/`-separated segment of an ARN: `family:revision` of a task
/// definition, the id of a task or service deployment, a service's name.
/// A plain name is returned as it is.
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::last_segment;

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(
            last_segment("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"),
            "web:7"
        );
        assert_eq!(
            last_segment("arn:aws:ecs:eu-west-1:123456789012:task/prod/0a1b"),
            "0a1b"
        );
        assert_eq!(last_segment("web:7"), "web:7");
    }
}

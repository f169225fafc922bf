//! The one helper for reading names out of ARNs.

/// The last `/`-separated segment of an ARN: `family:revision` of a task
/// definition, the id of a task or service deployment, a service's name.
/// A plain name is returned as it is.
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The account an ARN belongs to (its fifth `:`-separated field), if it
/// is an ARN and names one.
pub fn account(arn: &str) -> Option<&str> {
    let mut fields = arn.strip_prefix("arn:")?.split(':');
    let account = fields.nth(3)?;
    (!account.is_empty()).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::{account, last_segment};

    #[test]
    fn the_account_comes_out_of_an_arn() {
        assert_eq!(
            account("arn:aws:iam::123456789012:role/path/web-task"),
            Some("123456789012")
        );
        assert_eq!(
            account("arn:aws:ecs:eu-west-1:210987654321:service/prod/web"),
            Some("210987654321")
        );
        assert_eq!(account("arn:aws:s3:::bucket"), None);
        assert_eq!(account("web-task"), None);
    }

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

//! A registration's result: the revision a target deploys, and whether it
//! was reused (the decision is `plan::Revision`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub arn: String,
    /// True when the latest revision already had this content.
    pub reused: bool,
}

impl Registration {
    /// `family:revision`.
    pub fn short(&self) -> &str {
        crate::arn::last_segment(&self.arn)
    }
}
